//! rust_dataarray: same contract as the Go `dataarray` gadget (IG's TestWasmDataArray
//! guest). Host contract: see ../../README.md, section "rust_dataarray".

use igapi::{errorf, DataArray, DataSource, Field};

const BASE: u32 = 424143;

fn fail(msg: String) -> ! {
    let msg = format!("rust_dataarray: {msg}");
    igapi::log::error(&msg);
    panic!("{msg}");
}

fn setup() -> igapi::Result<()> {
    let ds = DataSource::get("myds")?;
    let foo_field = ds.get_field("foo")?;
    ds.subscribe_array(0, move |_ds, arr| {
        on_array(foo_field, arr);
        Ok(())
    })?;
    Ok(())
}

#[allow(clippy::disallowed_names)] // `foo` is the field's name in the contract
fn on_array(foo: Field, arr: DataArray) {
    let n = arr.len();
    if n != 10 {
        fail(format!("bad length: got {n}, expected 10"));
    }
    // Multiply the first 10 elements by their index (composite handles).
    for i in 0..10u32 {
        let d = arr.get(i as usize).unwrap_or_else(|e| fail(format!("Get({i}): {e}")));
        let v = foo.get_u32(d).unwrap_or_else(|e| fail(format!("getting foo at index {i}: {e}")));
        if let Err(e) = foo.set_u32(d, v.wrapping_mul(i)) {
            fail(format!("setting foo at index {i}: {e}"));
        }
    }
    // Append 5 more elements.
    for i in 10..15u32 {
        let d = arr.new_elem().unwrap_or_else(|e| fail(format!("New() for element {i}: {e}")));
        if let Err(e) = foo.set_u32(d, BASE.wrapping_mul(i)) {
            fail(format!("setting foo on new element {i}: {e}"));
        }
        if let Err(e) = arr.append(d) {
            fail(format!("appending element {i}: {e}"));
        }
    }
    let n = arr.len();
    if n != 15 {
        fail(format!("bad length after append: got {n}, expected 15"));
    }
}

#[no_mangle]
#[allow(non_snake_case)]
pub extern "C" fn gadgetInit() -> i32 {
    match setup() {
        Ok(()) => 0,
        Err(e) => {
            errorf!("rust_dataarray: gadgetInit: {e}");
            1
        }
    }
}
