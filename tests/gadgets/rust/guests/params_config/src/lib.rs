//! rust_params_config: reads the wasm param `param-key` and writes a config key.
//! Host contract: see ../../README.md, section "rust_params_config".

use igapi::errorf;

fn start() -> Result<(), String> {
    let v = igapi::get_param_value("param-key", 32).map_err(|e| e.to_string())?;
    if v != "param-value" {
        return Err(format!("param-key = {v:?}, expected \"param-value\""));
    }
    if igapi::get_param_value("non-existing-param", 32).is_ok() {
        return Err("getParamValue(non-existing-param) should fail".into());
    }
    igapi::set_config("rust.answer", "42").map_err(|e| e.to_string())?;
    Ok(())
}

#[no_mangle]
#[allow(non_snake_case)]
pub extern "C" fn gadgetStart() -> i32 {
    match start() {
        Ok(()) => {
            igapi::infof!("rust_params_config: ok");
            0
        }
        Err(e) => {
            errorf!("rust_params_config: gadgetStart: {e}");
            1
        }
    }
}
