//! `grt_packet`: packets the embedder builds for its own data sources.

use std::os::raw::c_char;

use super::gadget::{gadget_ref, grt_gadget};
use super::{bytes_arg, ffi_try, ffi_value, grt_error, null_err, str_arg};
use crate::error::Result;
use crate::gadget::HostPacket;

/// A packet being built. Owned by the caller and used by one thread at a time; consumed by
/// `grt_gadget_emit` or freed with `grt_packet_free`.
pub struct grt_packet {
    _private: [u8; 0],
}

fn pkt<'a>(p: *mut grt_packet) -> Result<&'a mut HostPacket> {
    // SAFETY: non-NULL pointers come from grt_gadget_new_packet (Box::into_raw).
    unsafe { (p as *mut HostPacket).as_mut() }.ok_or_else(|| null_err("packet"))
}

/// Creates an empty packet for data source `ds` (a single packet has one zeroed record; an
/// array packet has none: use `grt_packet_append`). Free with `grt_packet_free` unless
/// emitted.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_new_packet(g: *const grt_gadget, ds: *const c_char, ds_len: usize, out: *mut *mut grt_packet) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        if ds.is_null() {
            return Err(null_err("datasource"));
        }
        let ds = unsafe { str_arg(ds, ds_len, "datasource")? };
        if out.is_null() {
            return Err(null_err("out"));
        }
        let p = g.new_packet(ds)?;
        unsafe { *out = Box::into_raw(Box::new(p)) as *mut grt_packet };
        Ok(())
    })
}

/// Emits the packet through its data source's subscribers in priority order (wasm ones run
/// synchronously on this thread; embedder ones queue the event). Always consumes `p`, also
/// on error. Thread-safe with respect to `g`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_emit(g: *const grt_gadget, p: *mut grt_packet) -> *mut grt_error {
    // Take ownership first so the packet is consumed whatever happens.
    let owned = if p.is_null() { None } else { Some(unsafe { Box::from_raw(p as *mut HostPacket) }) };
    ffi_try(move || {
        let g = gadget_ref(g)?;
        let p = owned.ok_or_else(|| null_err("packet"))?;
        g.emit(*p)
    })
}

/// Frees a packet that was not emitted. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn grt_packet_free(p: *mut grt_packet) {
    ffi_value((), || {
        if !p.is_null() {
            drop(unsafe { Box::from_raw(p as *mut HostPacket) });
        }
    })
}

/// Appends a zeroed element to an array packet; `out_index` (may be NULL) receives its index.
#[no_mangle]
pub unsafe extern "C" fn grt_packet_append(p: *mut grt_packet, out_index: *mut usize) -> *mut grt_error {
    ffi_try(|| {
        let i = pkt(p)?.append()?;
        if !out_index.is_null() {
            unsafe { *out_index = i };
        }
        Ok(())
    })
}

/// Sets numeric/bool field `field` of record `elem` (0 for single packets) from an unsigned
/// value, truncated to the field's width (floats converted).
#[no_mangle]
pub unsafe extern "C" fn grt_packet_set_u64(p: *mut grt_packet, elem: usize, field: usize, value: u64) -> *mut grt_error {
    ffi_try(|| pkt(p)?.set_u64(elem, field, value))
}

/// Sets a numeric/bool field from a signed value, truncated to the field's width.
#[no_mangle]
pub unsafe extern "C" fn grt_packet_set_i64(p: *mut grt_packet, elem: usize, field: usize, value: i64) -> *mut grt_error {
    ffi_try(|| pkt(p)?.set_i64(elem, field, value))
}

/// Sets a numeric field from a double (integers truncated toward zero).
#[no_mangle]
pub unsafe extern "C" fn grt_packet_set_f64(p: *mut grt_packet, elem: usize, field: usize, value: f64) -> *mut grt_error {
    ffi_try(|| pkt(p)?.set_f64(elem, field, value))
}

/// Sets a string, cstring or bytes field (copied; NULL allowed with length 0).
#[no_mangle]
pub unsafe extern "C" fn grt_packet_set_bytes(p: *mut grt_packet, elem: usize, field: usize, value: *const u8, len: usize) -> *mut grt_error {
    ffi_try(|| {
        let v = unsafe { bytes_arg(value, len, "value")? };
        pkt(p)?.set_bytes(elem, field, v)
    })
}

/// Sets a string field from UTF-8 text (validated; copied).
#[no_mangle]
pub unsafe extern "C" fn grt_packet_set_string(p: *mut grt_packet, elem: usize, field: usize, value: *const c_char, len: usize) -> *mut grt_error {
    ffi_try(|| {
        let v = unsafe { str_arg(value, len, "value")? };
        pkt(p)?.set_bytes(elem, field, v.as_bytes())
    })
}
