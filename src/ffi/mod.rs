//! The C API. This module (and its children) is the only place with `extern "C"` functions
//! and raw pointers; everything here is a thin layer over the Rust core.
//!
//! Conventions (see `include/gadgetrt.h` for the per-function documentation):
//! - fallible functions return `grt_error *` (NULL = success) and write out-params only on
//!   success;
//! - every entry point runs inside a panic boundary and checks its pointer arguments;
//! - `const grt_runtime *` and `const grt_gadget *` are reference-counted and thread-safe
//!   (`grt_*_ref` takes a reference, `grt_*_free` releases one; a reference must not be freed
//!   while a call using it runs);
//!   `grt_packet *` is owned by one thread at a time; `const grt_event *` is borrowed for the
//!   duration of a callback.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

pub mod error;
pub mod event;
pub mod gadget;
pub mod image;
pub mod packet;
pub mod runtime;

use std::os::raw::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, ErrorCode, Result};
pub use error::grt_error;

/// Runs `f` inside the panic boundary and turns its result into a `grt_error *`.
pub(crate) fn ffi_try(f: impl FnOnce() -> Result<()>) -> *mut grt_error {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => std::ptr::null_mut(),
        Ok(Err(e)) => error::into_raw(e),
        Err(p) => error::into_raw(Error::new(ErrorCode::Panic, format!("panic in gadgetrt: {}", panic_message(&p)))),
    }
}

/// Runs `f` inside the panic boundary, returning `default` on panic.
pub(crate) fn ffi_value<T>(default: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(default)
}

pub(crate) fn panic_message(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Checks a size-prefixed struct `o` (its first member `size` = the caller's `sizeof`): `size`
/// must be set, and bytes beyond the struct this library knows must be zero (a newer header's
/// fields this library would ignore). `field` names the size member in the error (`options`,
/// `info`), `init` the initialiser macro, `what` the struct.
pub(crate) fn check_size_prefix<T>(o: &T, size: usize, field: &str, init: &str, what: &str) -> Result<()> {
    let known = std::mem::size_of::<T>();
    if size < std::mem::size_of::<usize>() {
        return Err(Error::new(ErrorCode::InvalidArgument, format!("{field}.size is not set (use {init})")));
    }
    if size > known {
        // SAFETY: the caller declares `size` readable bytes starting at `o`.
        let tail = unsafe { std::slice::from_raw_parts((o as *const T as *const u8).add(known), size - known) };
        if tail.iter().any(|&b| b != 0) {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("{what} is newer than this library (non-zero unknown fields)"),
            ));
        }
    }
    Ok(())
}

pub(crate) fn null_err(what: &str) -> Error {
    Error::new(ErrorCode::NullParameter, format!("{what} is NULL"))
}

/// Borrows a `(ptr, len)` UTF-8 string. NULL is allowed only with length 0.
pub(crate) unsafe fn str_arg<'a>(ptr: *const c_char, len: usize, what: &str) -> Result<&'a str> {
    if ptr.is_null() {
        if len == 0 {
            return Ok("");
        }
        return Err(null_err(what));
    }
    // SAFETY: the caller guarantees `ptr` points to `len` readable bytes.
    let b = unsafe { std::slice::from_raw_parts(ptr as *const u8, len) };
    std::str::from_utf8(b).map_err(|_| Error::new(ErrorCode::InvalidUtf8, format!("{what} is not valid UTF-8")))
}

/// Borrows `(ptr, len)` bytes. NULL is allowed only with length 0.
pub(crate) unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize, what: &str) -> Result<&'a [u8]> {
    if ptr.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(null_err(what));
    }
    // SAFETY: the caller guarantees `ptr` points to `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Copies `data` into a caller buffer. Writes the needed size to `out_len` (if not NULL)
/// either way; fails with `GRT_ERR_INSUFFICIENT_SIZE` if `cap` is too small. `buf` may be NULL
/// when `cap` is 0 (size query).
pub(crate) unsafe fn write_out(data: &[u8], buf: *mut u8, cap: usize, out_len: *mut usize) -> Result<()> {
    if !out_len.is_null() {
        // SAFETY: checked non-NULL; the caller provides a writable size_t.
        unsafe { *out_len = data.len() };
    }
    if data.len() > cap {
        return Err(Error::new(
            ErrorCode::InsufficientSize,
            format!("buffer of {cap} bytes is too small, {} needed", data.len()),
        ));
    }
    if data.is_empty() {
        return Ok(());
    }
    if buf.is_null() {
        return Err(null_err("buf"));
    }
    // SAFETY: `buf` has room for `cap >= data.len()` bytes.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len()) };
    Ok(())
}

/// The library version, e.g. "0.1.0". Static string; never NULL.
#[no_mangle]
pub extern "C" fn grt_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// The C ABI version. Wrappers check it when they load the library; it changes whenever the
/// C API changes incompatibly.
#[no_mangle]
pub extern "C" fn grt_abi_version() -> u32 {
    GRT_ABI_VERSION
}

/// The gadget wasm API version implemented (module `ig`), always 1.
#[no_mangle]
pub extern "C" fn grt_gadget_api_version() -> u32 {
    crate::GADGET_API_VERSION
}

/// The C ABI version implemented by this library.
pub const GRT_ABI_VERSION: u32 = 1;
/// Library version the header was generated for (checked against Cargo.toml by a test).
pub const GRT_VERSION_MAJOR: u32 = 0;
pub const GRT_VERSION_MINOR: u32 = 1;
pub const GRT_VERSION_PATCH: u32 = 0;
/// `GRT_VERSION_MAJOR * 10000 + GRT_VERSION_MINOR * 100 + GRT_VERSION_PATCH`.
pub const GRT_VERSION_NUMBER: u32 = GRT_VERSION_MAJOR * 10000 + GRT_VERSION_MINOR * 100 + GRT_VERSION_PATCH;

#[cfg(test)]
mod tests {
    #[test]
    fn header_version_matches_cargo() {
        let v = format!("{}.{}.{}", super::GRT_VERSION_MAJOR, super::GRT_VERSION_MINOR, super::GRT_VERSION_PATCH);
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
    }
}

/// Feature names `grt_has_feature` answers 1 for.
const FEATURES: &[&str] = &["wasm", "ebpf", "oci", "module-cache", "registry", "signature"];

/// Whether a named feature is compiled in (1) or not (0); -1 if `name` is NULL or not UTF-8.
/// Known names: "wasm", "ebpf", "oci", "module-cache", "registry" (pull/push, image store), "signature" (cosign verification).
#[no_mangle]
pub unsafe extern "C" fn grt_has_feature(name: *const c_char, name_len: usize) -> i32 {
    ffi_value(-1, || match unsafe { str_arg(name, name_len, "name") } {
        Ok(n) if !name.is_null() => FEATURES.contains(&n) as i32,
        _ => -1,
    })
}
