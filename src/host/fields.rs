//! Field imports (ABI section 1.4): `fieldGetScalar` with the errPtr rule, `fieldGetBuffer`,
//! `fieldSet`, `fieldAddTag`.

use std::sync::Arc;

use wasmtime::{Caller, Linker};

use super::handles::Obj;
use super::{parts, read_buf, read_str, write_buf, HostState, ModuleClosed};
use crate::datasource::{self as dsrc, kind, FieldLoc};

pub fn register(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap("ig", "fieldGetScalar", field_get_scalar)?;
    l.func_wrap("ig", "fieldGetBuffer", field_get_buffer)?;
    l.func_wrap("ig", "fieldSet", field_set)?;
    l.func_wrap("ig", "fieldAddTag", field_add_tag)?;
    Ok(())
}

/// Resolves a field handle to (data source, field location).
fn field_of(st: &HostState, func: &str, h: u32) -> Option<(usize, FieldLoc)> {
    match st.handles.get(h) {
        Some(Obj::Field(ds, fi)) => st.dss[*ds].schema.fields.get(*fi).map(|f| (*ds, f.loc)),
        Some(_) => {
            st.warn(format!("{func}: bad handle type for {h}"));
            None
        }
        None => {
            st.warn(format!("{func}: handle {h} not found"));
            None
        }
    }
}

fn scalar(st: &HostState, field: u32, data: u32, k: u32) -> Result<u64, String> {
    let (_, loc) = field_of(st, "fieldGetScalar", field).ok_or("bad field handle")?;
    let (_, rec) = st.resolve_data(data).ok_or_else(|| format!("data handle {data} not found"))?;
    dsrc::get_scalar(rec, loc, k).map_err(|e| e.to_string())
}

fn field_get_scalar(mut c: Caller<'_, HostState>, field: i32, data: i32, k: i32, err_ptr: i32) -> wasmtime::Result<i64> {
    let (mem, st) = parts(&mut c);
    match scalar(st, field as u32, data as u32, k as u32) {
        Ok(v) => Ok(v as i64),
        Err(e) => {
            st.warn(format!("fieldGetScalar: {e}"));
            if err_ptr != 0 {
                let addr = err_ptr as u32 as usize;
                match mem.get_mut(addr..addr + 4) {
                    Some(d) => d.copy_from_slice(&1u32.to_le_bytes()),
                    None => {
                        let msg = format!("fieldGetScalar: errPtr {addr:#x} is out of bounds; closing the module");
                        st.log(crate::events::LogLevel::Error, &msg);
                        return Err(ModuleClosed(msg).into());
                    }
                }
            }
            // The result is unspecified on error; the reference host leaves the first argument.
            Ok(field as i64)
        }
    }
}

fn field_get_buffer(mut c: Caller<'_, HostState>, field: i32, data: i32, k: i32, dst: i64) -> i32 {
    let (mem, st) = parts(&mut c);
    let k = k as u32;
    if k != kind::STRING && k != kind::BYTES {
        st.warn(format!("fieldGetBuffer: unsupported kind {k} (use fieldGetScalar)"));
        return -1;
    }
    let Some((_, loc)) = field_of(st, "fieldGetBuffer", field as u32) else { return -1 };
    let Some((_, rec)) = st.resolve_data(data as u32) else {
        st.warn(format!("fieldGetBuffer: data handle {} not found", data as u32));
        return -1;
    };
    let Some(bytes) = dsrc::field_bytes(rec, loc) else { return -1 };
    if write_buf(mem, dst as u64, bytes) {
        bytes.len() as i32
    } else {
        st.warn("fieldGetBuffer: not enough memory in the destination buffer");
        -1
    }
}

fn field_set(mut c: Caller<'_, HostState>, field: i32, data: i32, k: i32, value: i64) -> i32 {
    let (mem, st) = parts(&mut c);
    let k = k as u32;
    let Some((_, loc)) = field_of(st, "fieldSet", field as u32) else { return 1 };
    let res = match k {
        kind::BOOL..=kind::FLOAT64 => match st.resolve_data_mut(data as u32) {
            Some((_, rec)) => dsrc::set_scalar(rec, loc, k, value as u64).map_err(|e| e.to_string()),
            None => Err(format!("data handle {} not found", data as u32)),
        },
        kind::STRING | kind::BYTES => match read_buf(mem, value as u64) {
            None => Err("invalid value pointer".to_string()),
            Some(bytes) if bytes.len() as u64 > st.budget.field_value_bytes as u64 => Err(format!(
                "value of {} bytes refused: above the limit of {} bytes",
                bytes.len(),
                st.budget.field_value_bytes
            )),
            Some(bytes) => match st.resolve_data_mut(data as u32) {
                Some((_, rec)) => dsrc::set_bytes(rec, loc, bytes).map_err(|e| e.to_string()),
                None => Err(format!("data handle {} not found", data as u32)),
            },
        },
        other => Err(format!("unsupported kind {other}")),
    };
    match res {
        Ok(()) => 0,
        Err(e) => {
            st.warn(format!("fieldSet: {e}"));
            1
        }
    }
}

fn field_add_tag(mut c: Caller<'_, HostState>, field: i32, tag: i64) -> i32 {
    let (mem, st) = parts(&mut c);
    let Some((ds, fi)) = (match st.handles.get(field as u32) {
        Some(Obj::Field(ds, fi)) => Some((*ds, *fi)),
        _ => None,
    }) else {
        st.warn(format!("fieldAddTag: bad field handle {}", field as u32));
        return 1;
    };
    let Some(tag) = read_str(mem, tag as u64) else {
        st.warn("fieldAddTag: invalid tag pointer");
        return 1;
    };
    if !st.charge_host("fieldAddTag", tag.len() as u64 + 32) {
        return 1;
    }
    let schema = Arc::make_mut(&mut st.dss[ds].schema);
    schema.fields[fi].tags.push(tag);
    0
}
