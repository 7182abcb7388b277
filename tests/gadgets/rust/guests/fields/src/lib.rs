//! rust_fields: same contract as the Go `fields` gadget (IG's TestWasmFields guest plus an
//! echo of a host value). Host contract: see ../../README.md, section "rust_fields".

// 3.14159 / 3.14159265359 are the test values, not attempts at PI.
#![allow(clippy::approx_constant)]

use igapi::{errorf, Data, DataSource, Field, FieldKind};

const SPECS: [(&str, FieldKind, &str); 13] = [
    ("field_bool", FieldKind::Bool, "tag_bool"),
    ("field_int8", FieldKind::Int8, "tag_int8"),
    ("field_int16", FieldKind::Int16, "tag_int16"),
    ("field_int32", FieldKind::Int32, "tag_int32"),
    ("field_int64", FieldKind::Int64, "tag_int64"),
    ("field_uint8", FieldKind::Uint8, "tag_uint8"),
    ("field_uint16", FieldKind::Uint16, "tag_uint16"),
    ("field_uint32", FieldKind::Uint32, "tag_uint32"),
    ("field_uint64", FieldKind::Uint64, "tag_uint64"),
    ("field_float32", FieldKind::Float32, "tag_float32"),
    ("field_float64", FieldKind::Float64, "tag_float64"),
    ("field_string", FieldKind::String, "tag_string"),
    ("field_bytes", FieldKind::Bytes, "tag_bytes"),
];

const VAL_STRING: &str = "Hello, World!";
const VAL_HOST: &str = "LOCALHOST";
/// A `static`, so the memory stays valid: a host may keep a view of guest memory for
/// Bytes fields (the reference host does).
static VAL_BYTES: [u8; 5] = [0x01, 0x02, 0x03, 0x04, 0x05];

struct Fields {
    f: Vec<Field>,
    host_field: Field,
    host_in: Field,
    echo: Field,
}

fn fail(msg: String) -> ! {
    let msg = format!("rust_fields: {msg}");
    igapi::log::error(&msg);
    panic!("{msg}");
}

fn must<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => fail(format!("{what}: {e}")),
    }
}

fn check<T: PartialEq + std::fmt::Debug, E: std::fmt::Display>(r: Result<T, E>, want: T, what: &str) {
    match r {
        Ok(v) if v == want => {}
        Ok(v) => fail(format!("readback {what}: got {v:?}, expected {want:?}")),
        Err(e) => fail(format!("readback {what}: {e}")),
    }
}

fn setup() -> igapi::Result<()> {
    let ds = DataSource::get("myds")?;
    let mut f = Vec::with_capacity(SPECS.len());
    for (name, kind, tag) in SPECS {
        let field = ds.add_field(name, kind)?;
        field.add_tag(tag)?;
        f.push(field);
    }
    let echo = ds.add_field("field_echo", FieldKind::Uint32)?;
    echo.add_tag("tag_echo")?;
    let host_field = ds.get_field("host_field")?;
    let host_in = ds.get_field("host_in")?;
    let fs = Fields { f, host_field, host_in, echo };
    ds.subscribe(0, move |_ds, data| on_data(&fs, data))?;
    Ok(())
}

fn on_data(fs: &Fields, d: Data) {
    let f = &fs.f;
    must(f[0].set_bool(d, true), "set field_bool");
    must(f[1].set_i8(d, -123), "set field_int8");
    must(f[2].set_i16(d, -25647), "set field_int16");
    must(f[3].set_i32(d, -535245564), "set field_int32");
    must(f[4].set_i64(d, -1234567890), "set field_int64");
    must(f[5].set_u8(d, 56), "set field_uint8");
    must(f[6].set_u16(d, 12345), "set field_uint16");
    must(f[7].set_u32(d, 1234567890), "set field_uint32");
    must(f[8].set_u64(d, 1234567890123456), "set field_uint64");
    must(f[9].set_f32(d, 3.14159), "set field_float32");
    must(f[10].set_f64(d, 3.14159265359), "set field_float64");
    must(f[11].set_string(d, VAL_STRING), "set field_string");
    must(f[12].set_bytes(d, &VAL_BYTES), "set field_bytes");
    must(fs.host_field.set_string(d, VAL_HOST), "set host_field");

    let host_in = must(fs.host_in.get_u32(d), "get host_in");
    let echo = host_in.wrapping_mul(3);
    must(fs.echo.set_u32(d, echo), "set field_echo");

    check(f[0].get_bool(d), true, "field_bool");
    check(f[1].get_i8(d), -123, "field_int8");
    check(f[2].get_i16(d), -25647, "field_int16");
    check(f[3].get_i32(d), -535245564, "field_int32");
    check(f[4].get_i64(d), -1234567890, "field_int64");
    check(f[5].get_u8(d), 56, "field_uint8");
    check(f[6].get_u16(d), 12345, "field_uint16");
    check(f[7].get_u32(d), 1234567890, "field_uint32");
    check(f[8].get_u64(d), 1234567890123456, "field_uint64");
    check(f[9].get_f32(d).map(f32::to_bits), 3.14159f32.to_bits(), "field_float32");
    check(f[10].get_f64(d).map(f64::to_bits), 3.14159265359f64.to_bits(), "field_float64");
    check(f[11].string(d, 64), VAL_STRING.to_string(), "field_string");
    let mut buf = [0u8; 16];
    let n = must(f[12].bytes(d, &mut buf), "get field_bytes");
    if n != VAL_BYTES.len() || buf[..n] != VAL_BYTES {
        fail(format!("readback field_bytes: got {n} bytes {:02x?}", &buf[..n.min(16)]));
    }
    check(fs.host_field.string(d, 64), VAL_HOST.to_string(), "host_field");
    check(fs.echo.get_u32(d), echo, "field_echo");
}

#[no_mangle]
#[allow(non_snake_case)]
pub extern "C" fn gadgetInit() -> i32 {
    match setup() {
        Ok(()) => 0,
        Err(e) => {
            errorf!("rust_fields: gadgetInit: {e}");
            1
        }
    }
}
