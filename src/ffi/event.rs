//! `grt_event`: read access to an event inside a callback.

use std::os::raw::c_char;

use super::{ffi_try, ffi_value, grt_error, null_err, str_arg, write_out};
use crate::datasource::{self as dsrc, kind, FieldDef, Record};
use crate::error::{Error, ErrorCode, Result};
use crate::events::Event;

/// An event, borrowed for the duration of an event callback. All pointers obtained from it
/// are valid only until the callback returns. Not thread-safe: use it on the polling thread.
pub struct grt_event {
    _private: [u8; 0],
}

/// Field kinds (numbered like the gadget ABI).
pub const GRT_KIND_INVALID: u32 = 0;
pub const GRT_KIND_BOOL: u32 = 1;
pub const GRT_KIND_INT8: u32 = 2;
pub const GRT_KIND_INT16: u32 = 3;
pub const GRT_KIND_INT32: u32 = 4;
pub const GRT_KIND_INT64: u32 = 5;
pub const GRT_KIND_UINT8: u32 = 6;
pub const GRT_KIND_UINT16: u32 = 7;
pub const GRT_KIND_UINT32: u32 = 8;
pub const GRT_KIND_UINT64: u32 = 9;
pub const GRT_KIND_FLOAT32: u32 = 10;
pub const GRT_KIND_FLOAT64: u32 = 11;
pub const GRT_KIND_STRING: u32 = 12;
pub const GRT_KIND_CSTRING: u32 = 13;
pub const GRT_KIND_BYTES: u32 = 14;
/// Flag of array kinds: `GRT_KIND_ARRAY_OF | GRT_KIND_UINT32` is a fixed-size array of
/// `uint32_t` from an eBPF struct (IG's `ArrayOf`). Read it with `grt_event_get_bytes`
/// (native-endian elements back to back); JSON renders it as an array of numbers.
pub const GRT_KIND_ARRAY_OF: u32 = 0x1000_0000;

fn ev<'a>(e: *const grt_event) -> Result<&'a Event> {
    // SAFETY: events are only handed out inside callbacks, as `&Event` cast to this type.
    unsafe { (e as *const Event).as_ref() }.ok_or_else(|| null_err("event"))
}

fn field_at<'a>(e: &'a Event, elem: usize, index: usize) -> Result<(&'a Record, &'a FieldDef)> {
    let f = e
        .schema
        .fields
        .get(index)
        .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no field at index {index}")))?;
    let r = e
        .record(elem)
        .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, format!("element {elem} out of range (length {})", e.len())))?;
    Ok((r, f))
}

unsafe fn field_by_name(e: &Event, name: *const c_char, len: usize) -> Result<usize> {
    if name.is_null() {
        return Err(null_err("name"));
    }
    let n = unsafe { str_arg(name, len, "name")? };
    e.schema.field_index(n).ok_or_else(|| Error::new(ErrorCode::NotFound, format!("field {n:?} not found")))
}

/// Borrows the data-source name of the event (UTF-8, not NUL-terminated).
#[no_mangle]
pub unsafe extern "C" fn grt_event_datasource(e: *const grt_event, name: *mut *const c_char, len: *mut usize) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        if name.is_null() || len.is_null() {
            return Err(null_err("name/len"));
        }
        unsafe {
            *name = e.schema.name.as_ptr() as *const c_char;
            *len = e.schema.name.len();
        }
        Ok(())
    })
}

/// Number of records: 1 for single packets, the element count for array packets; 0 if NULL.
#[no_mangle]
pub unsafe extern "C" fn grt_event_len(e: *const grt_event) -> usize {
    ffi_value(0, || ev(e).map(|e| e.len()).unwrap_or(0))
}

/// 1 if the event is an array packet, 0 if single or NULL.
#[no_mangle]
pub unsafe extern "C" fn grt_event_is_array(e: *const grt_event) -> i32 {
    ffi_value(0, || ev(e).map(|e| e.is_array() as i32).unwrap_or(0))
}

/// Number of fields of the event's data source; 0 if NULL.
#[no_mangle]
pub unsafe extern "C" fn grt_event_field_count(e: *const grt_event) -> usize {
    ffi_value(0, || ev(e).map(|e| e.schema.fields.len()).unwrap_or(0))
}

/// Looks a field up by full name (exact, then case-insensitive); writes its index.
#[no_mangle]
pub unsafe extern "C" fn grt_event_field_index(e: *const grt_event, name: *const c_char, len: usize, out: *mut usize) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        let i = unsafe { field_by_name(e, name, len)? };
        if out.is_null() {
            return Err(null_err("out"));
        }
        unsafe { *out = i };
        Ok(())
    })
}

/// Borrows the full name of field `index`.
#[no_mangle]
pub unsafe extern "C" fn grt_event_field_name(e: *const grt_event, index: usize, name: *mut *const c_char, len: *mut usize) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        let f = e.schema.fields.get(index).ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no field at index {index}")))?;
        if name.is_null() || len.is_null() {
            return Err(null_err("name/len"));
        }
        unsafe {
            *name = f.name.as_ptr() as *const c_char;
            *len = f.name.len();
        }
        Ok(())
    })
}

/// The kind (`GRT_KIND_*`) of field `index`; `GRT_KIND_INVALID` if out of range or NULL.
#[no_mangle]
pub unsafe extern "C" fn grt_event_field_kind(e: *const grt_event, index: usize) -> u32 {
    ffi_value(GRT_KIND_INVALID, || {
        ev(e).ok().and_then(|e| e.schema.fields.get(index)).map(|f| f.kind).unwrap_or(GRT_KIND_INVALID)
    })
}

fn wrong(f: &FieldDef, want: &str) -> Error {
    Error::new(ErrorCode::WrongKind, format!("field {:?} is {}, not {want}", f.name, kind::name(f.kind)))
}

fn get_u64(e: &Event, elem: usize, index: usize) -> Result<u64> {
    let (r, f) = field_at(e, elem, index)?;
    match dsrc::read_value(r, f) {
        dsrc::Value::Uint(v) => Ok(v),
        dsrc::Value::Bool(b) => Ok(b as u64),
        dsrc::Value::Int(v) if v >= 0 => Ok(v as u64),
        dsrc::Value::Int(v) => Err(Error::new(ErrorCode::WrongKind, format!("field {:?} holds negative {v}", f.name))),
        _ => Err(wrong(f, "an integer")),
    }
}

fn get_i64(e: &Event, elem: usize, index: usize) -> Result<i64> {
    let (r, f) = field_at(e, elem, index)?;
    match dsrc::read_value(r, f) {
        dsrc::Value::Int(v) => Ok(v),
        dsrc::Value::Bool(b) => Ok(b as i64),
        dsrc::Value::Uint(v) => i64::try_from(v).map_err(|_| Error::new(ErrorCode::WrongKind, format!("field {:?} value {v} exceeds int64", f.name))),
        _ => Err(wrong(f, "an integer")),
    }
}

fn get_f64(e: &Event, elem: usize, index: usize) -> Result<f64> {
    let (r, f) = field_at(e, elem, index)?;
    match dsrc::read_value(r, f) {
        dsrc::Value::Float(v) => Ok(v),
        dsrc::Value::Int(v) => Ok(v as f64),
        dsrc::Value::Uint(v) => Ok(v as f64),
        _ => Err(wrong(f, "numeric")),
    }
}

fn get_bool(e: &Event, elem: usize, index: usize) -> Result<bool> {
    let (r, f) = field_at(e, elem, index)?;
    match dsrc::read_value(r, f) {
        dsrc::Value::Bool(b) => Ok(b),
        _ => Err(wrong(f, "bool")),
    }
}

/// String view: string and bytes fields as stored, cstring fields cut at the first NUL.
fn get_bytes(e: &Event, elem: usize, index: usize) -> Result<&[u8]> {
    let (r, f) = field_at(e, elem, index)?;
    match dsrc::read_value(r, f) {
        dsrc::Value::Str(s) | dsrc::Value::Bytes(s) | dsrc::Value::Array(_, s) if kind::width(f.kind).is_none() => Ok(s),
        _ => Err(wrong(f, "a string, bytes or array field")),
    }
}

// Typed getters, written out (not generated by a macro) so cbindgen sees them.

/// Unsigned view of an integer or bool field (negative values are `GRT_ERR_WRONG_KIND`).
/// Reads field `index` of record `elem` (0 for single packets) into `out`.
#[no_mangle]
pub unsafe extern "C" fn grt_event_get_u64(e: *const grt_event, elem: usize, index: usize, out: *mut u64) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        if out.is_null() {
            return Err(null_err("out"));
        }
        let v = get_u64(e, elem, index)?;
        unsafe { *out = v };
        Ok(())
    })
}

/// Unsigned view of an integer or bool field (negative values are `GRT_ERR_WRONG_KIND`).
/// Reads the field named `name` (UTF-8, `name_len` bytes) of record `elem` into `out`.
#[no_mangle]
pub unsafe extern "C" fn grt_event_get_u64_by_name(e: *const grt_event, elem: usize, name: *const c_char, name_len: usize, out: *mut u64) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        let i = unsafe { field_by_name(e, name, name_len)? };
        if out.is_null() {
            return Err(null_err("out"));
        }
        let v = get_u64(e, elem, i)?;
        unsafe { *out = v };
        Ok(())
    })
}

/// Signed view of an integer or bool field.
/// Reads field `index` of record `elem` (0 for single packets) into `out`.
#[no_mangle]
pub unsafe extern "C" fn grt_event_get_i64(e: *const grt_event, elem: usize, index: usize, out: *mut i64) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        if out.is_null() {
            return Err(null_err("out"));
        }
        let v = get_i64(e, elem, index)?;
        unsafe { *out = v };
        Ok(())
    })
}

/// Signed view of an integer or bool field.
/// Reads the field named `name` (UTF-8, `name_len` bytes) of record `elem` into `out`.
#[no_mangle]
pub unsafe extern "C" fn grt_event_get_i64_by_name(e: *const grt_event, elem: usize, name: *const c_char, name_len: usize, out: *mut i64) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        let i = unsafe { field_by_name(e, name, name_len)? };
        if out.is_null() {
            return Err(null_err("out"));
        }
        let v = get_i64(e, elem, i)?;
        unsafe { *out = v };
        Ok(())
    })
}

/// Floating-point view of a float or integer field.
/// Reads field `index` of record `elem` (0 for single packets) into `out`.
#[no_mangle]
pub unsafe extern "C" fn grt_event_get_f64(e: *const grt_event, elem: usize, index: usize, out: *mut f64) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        if out.is_null() {
            return Err(null_err("out"));
        }
        let v = get_f64(e, elem, index)?;
        unsafe { *out = v };
        Ok(())
    })
}

/// Floating-point view of a float or integer field.
/// Reads the field named `name` (UTF-8, `name_len` bytes) of record `elem` into `out`.
#[no_mangle]
pub unsafe extern "C" fn grt_event_get_f64_by_name(e: *const grt_event, elem: usize, name: *const c_char, name_len: usize, out: *mut f64) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        let i = unsafe { field_by_name(e, name, name_len)? };
        if out.is_null() {
            return Err(null_err("out"));
        }
        let v = get_f64(e, elem, i)?;
        unsafe { *out = v };
        Ok(())
    })
}

/// Bool field as 0/1.
/// Reads field `index` of record `elem` (0 for single packets) into `out`.
#[no_mangle]
pub unsafe extern "C" fn grt_event_get_bool(e: *const grt_event, elem: usize, index: usize, out: *mut u8) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        if out.is_null() {
            return Err(null_err("out"));
        }
        let v = get_bool(e, elem, index)?;
        unsafe { *out = v as u8 };
        Ok(())
    })
}

/// Bool field as 0/1.
/// Reads the field named `name` (UTF-8, `name_len` bytes) of record `elem` into `out`.
#[no_mangle]
pub unsafe extern "C" fn grt_event_get_bool_by_name(e: *const grt_event, elem: usize, name: *const c_char, name_len: usize, out: *mut u8) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        let i = unsafe { field_by_name(e, name, name_len)? };
        if out.is_null() {
            return Err(null_err("out"));
        }
        let v = get_bool(e, elem, i)?;
        unsafe { *out = v as u8 };
        Ok(())
    })
}


/// Borrows the bytes of a string, cstring (cut at the first NUL) or bytes field of record
/// `elem`; valid until the callback returns.
#[no_mangle]
pub unsafe extern "C" fn grt_event_get_bytes(e: *const grt_event, elem: usize, index: usize, ptr: *mut *const u8, len: *mut usize) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        if ptr.is_null() || len.is_null() {
            return Err(null_err("ptr/len"));
        }
        let b = get_bytes(e, elem, index)?;
        unsafe {
            *ptr = b.as_ptr();
            *len = b.len();
        }
        Ok(())
    })
}

/// `grt_event_get_bytes` by field name.
#[no_mangle]
pub unsafe extern "C" fn grt_event_get_bytes_by_name(
    e: *const grt_event,
    elem: usize,
    name: *const c_char,
    name_len: usize,
    ptr: *mut *const u8,
    len: *mut usize,
) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        let i = unsafe { field_by_name(e, name, name_len)? };
        if ptr.is_null() || len.is_null() {
            return Err(null_err("ptr/len"));
        }
        let b = get_bytes(e, elem, i)?;
        unsafe {
            *ptr = b.as_ptr();
            *len = b.len();
        }
        Ok(())
    })
}

/// Renders the event as `ig run -o json` prints it into `buf` (capacity `cap`, no NUL and
/// no newline added): one object with nested objects for sub-fields (`proc.comm` →
/// `{"proc":{"comm":…}}`) and keys sorted, array packets as one JSON array, bytes as
/// lowercase hex, hidden fields included, unreferenced ones left out. `out_len` receives the
/// length (also on `GRT_ERR_INSUFFICIENT_SIZE`, so a call with `cap` 0 queries the size).
/// Allocation-free in steady state. Thread-safe; `e` is borrowed.
/// NULL `e`: `GRT_ERR_NULL_PARAMETER`; `buf` may be NULL when `cap` is 0; `out_len` may be NULL.
#[no_mangle]
pub unsafe extern "C" fn grt_event_to_json(e: *const grt_event, buf: *mut c_char, cap: usize, out_len: *mut usize) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        with_scratch(|out| {
            e.write_json(out);
            unsafe { write_out(out, buf as *mut u8, cap, out_len) }
        })
    })
}

/// `grt_event_format` mode: compact JSON followed by a newline (`-o json`).
pub const GRT_OUTPUT_JSON: u32 = 1;
/// `grt_event_format` mode: indented JSON followed by a newline (`-o jsonpretty`).
pub const GRT_OUTPUT_JSONPRETTY: u32 = 2;
/// `grt_event_format` mode: one `---` YAML document per record (`-o yaml`).
pub const GRT_OUTPUT_YAML: u32 = 3;
/// `grt_event_format` mode: one text row per record, each ending in a newline (`-o columns`;
/// the header comes from `grt_event_columns_header`).
pub const GRT_OUTPUT_COLUMNS: u32 = 4;

/// Subscription priority of `ig run`'s output (its `cli` operator): a callback subscribed
/// at this priority sees packets after the formatters, name resolution, stacks, filter (9000),
/// sort (9500) and limiter (9600).
pub const GRT_PRIORITY_OUTPUT: i32 = 10000;

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's reusable output buffer, emptied.
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    SCRATCH.with(|s| match s.try_borrow_mut() {
        Ok(mut b) => {
            b.clear();
            f(&mut b)
        }
        Err(_) => f(&mut Vec::new()),
    })
}

/// The `fields` argument: an empty selection (NULL or not) means the default columns.
unsafe fn fields_arg<'a>(fields: *const c_char, fields_len: usize) -> crate::Result<Option<&'a str>> {
    if fields_len == 0 {
        return Ok(None);
    }
    unsafe { str_arg(fields, fields_len, "fields") }.map(Some)
}

/// Renders the event the way `ig run -o <mode>` prints it into `buf` (capacity `cap`, no
/// NUL added), `mode` being one of `GRT_OUTPUT_*`. `fields` (UTF-8, ptr+len; length 0 = the
/// default columns) selects columns like `ig run --fields` (`f1,f2`, `+f`,
/// `-f`) and only matters for `GRT_OUTPUT_COLUMNS`. `out_len` receives the length (also on
/// `GRT_ERR_INSUFFICIENT_SIZE`). Errors: `GRT_ERR_INVALID_ARGUMENT` for an unknown mode or
/// field, and for YAML records IG cannot serialize (control characters; IG leaves them out
/// with a warning; nothing is written then). Thread-safe; `e` and `fields` are borrowed.
/// NULL `e`: `GRT_ERR_NULL_PARAMETER`; `buf` may be NULL when `cap` is 0; `out_len` may be NULL. `fields` may
/// be NULL when `fields_len` is 0.
#[no_mangle]
pub unsafe extern "C" fn grt_event_format(
    e: *const grt_event,
    mode: u32,
    fields: *const c_char,
    fields_len: usize,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        let fields = unsafe { fields_arg(fields, fields_len)? };
        let mode = match mode {
            GRT_OUTPUT_JSON => crate::output::OutputMode::Json,
            GRT_OUTPUT_JSONPRETTY => crate::output::OutputMode::JsonPretty,
            GRT_OUTPUT_YAML => crate::output::OutputMode::Yaml,
            GRT_OUTPUT_COLUMNS => crate::output::OutputMode::Columns,
            m => return Err(Error::new(ErrorCode::InvalidArgument, format!("unknown output mode {m}"))),
        };
        with_scratch(|out| {
            e.write_format(&mode, fields, out)?;
            unsafe { write_out(out, buf as *mut u8, cap, out_len) }
        })
    })
}

/// Writes the columns header line (no newline, no NUL) for the event's data source and
/// `fields` (as in `grt_event_format`) into `buf`. `out_len` receives the length (also on
/// `GRT_ERR_INSUFFICIENT_SIZE`). Thread-safe; arguments are borrowed.
/// NULL `e`: `GRT_ERR_NULL_PARAMETER`; `buf` may be NULL when `cap` is 0; `out_len` may be NULL. `fields` may
/// be NULL when `fields_len` is 0.
#[no_mangle]
pub unsafe extern "C" fn grt_event_columns_header(
    e: *const grt_event,
    fields: *const c_char,
    fields_len: usize,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> *mut grt_error {
    ffi_try(|| {
        let e = ev(e)?;
        let fields = unsafe { fields_arg(fields, fields_len)? };
        let h = e.columns_header(fields)?;
        unsafe { write_out(h.as_bytes(), buf as *mut u8, cap, out_len) }
    })
}
