//! rust_mountcall: does what IG's trace_mount wasm program does with the eBPF layer's enum
//! formatter. In `gadgetInit` it looks up the text fields `flags` and `op` (which exist by
//! then under IG) and subscribes at priority 0: under IG that subscription runs *before* the
//! formatter fills them, so `call` reads them empty. A second subscription at priority 0 made
//! in `gadgetPreStart` runs after the formatter and sees the text (`call_late`).
//! Host contract: see ../../README.md, section "rust_mountcall".

use igapi::{errorf, Data, DataSource, Field, FieldKind};

struct Fields {
    flags: Field,
    op: Field,
    out: Field,
}

fn render(f: &Fields, d: Data) {
    let flags = f.flags.string(d, 256).unwrap_or_default();
    let op = f.op.string(d, 64).unwrap_or_default();
    let _ = f.out.set_string(d, &format!("{op}(\"{flags}\")"));
}

fn fields(ds: DataSource, out: &str) -> igapi::Result<Fields> {
    Ok(Fields { flags: ds.get_field("flags")?, op: ds.get_field("op")?, out: ds.get_field(out)? })
}

fn init() -> igapi::Result<()> {
    let ds = DataSource::get("mount")?;
    ds.add_field("call", FieldKind::String)?;
    ds.add_field("call_late", FieldKind::String)?;
    let f = fields(ds, "call")?;
    ds.subscribe(0, move |_ds, d| render(&f, d))?;
    Ok(())
}

fn pre_start() -> igapi::Result<()> {
    let ds = DataSource::get("mount")?;
    let f = fields(ds, "call_late")?;
    ds.subscribe(0, move |_ds, d| render(&f, d))?;
    Ok(())
}

#[no_mangle]
#[allow(non_snake_case)]
pub extern "C" fn gadgetInit() -> i32 {
    match init() {
        Ok(()) => 0,
        Err(e) => {
            errorf!("rust_mountcall: gadgetInit: {e}");
            1
        }
    }
}

#[no_mangle]
#[allow(non_snake_case)]
pub extern "C" fn gadgetPreStart() -> i32 {
    match pre_start() {
        Ok(()) => 0,
        Err(e) => {
            errorf!("rust_mountcall: gadgetPreStart: {e}");
            1
        }
    }
}
