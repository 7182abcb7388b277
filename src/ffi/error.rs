//! `grt_error`: an owned error object with a stable code and a message.

use std::ffi::CString;
use std::os::raw::c_char;

use super::ffi_value;
use crate::error::Error;

/// An error returned by a fallible function. Owned by the caller; free with `grt_error_free`.
pub struct grt_error {
    code: u32,
    message: CString,
}

pub(crate) fn into_raw(e: Error) -> *mut grt_error {
    let message = CString::new(e.message.replace('\0', " ")).unwrap_or_default();
    Box::into_raw(Box::new(grt_error { code: e.code as u32, message }))
}

/// The stable error code (`GRT_ERR_*`) of `err`; 0 if `err` is NULL.
#[no_mangle]
pub unsafe extern "C" fn grt_error_code(err: *const grt_error) -> u32 {
    ffi_value(0, || {
        // SAFETY: non-NULL pointers come from `into_raw` and are live until grt_error_free.
        unsafe { err.as_ref() }.map(|e| e.code).unwrap_or(0)
    })
}

/// The UTF-8, NUL-terminated message of `err`, borrowed: valid until `grt_error_free(err)`.
/// Returns "" if `err` is NULL.
#[no_mangle]
pub unsafe extern "C" fn grt_error_message(err: *const grt_error) -> *const c_char {
    ffi_value(c"".as_ptr(), || {
        // SAFETY: as above.
        unsafe { err.as_ref() }.map(|e| e.message.as_ptr()).unwrap_or(c"".as_ptr())
    })
}

/// The name of an error code without its `GRT_ERR_` prefix, e.g. `"NOT_FOUND"` for
/// `GRT_ERR_NOT_FOUND`; `"OK"` for 0 (what `grt_error_code(NULL)` returns) and `"UNKNOWN"` for
/// any other value. Never NULL: a static, NUL-terminated ASCII string (do not free).
/// Thread-safe.
#[no_mangle]
pub extern "C" fn grt_error_code_name(code: u32) -> *const c_char {
    ffi_value(c"UNKNOWN".as_ptr(), || code_name(code).as_ptr())
}

/// The static name of `code` (see `grt_error_code_name`).
pub(crate) fn code_name(code: u32) -> &'static std::ffi::CStr {
    match code {
        0 => c"OK",
        GRT_ERR_NULL_PARAMETER => c"NULL_PARAMETER",
        GRT_ERR_INVALID_ARGUMENT => c"INVALID_ARGUMENT",
        GRT_ERR_INVALID_UTF8 => c"INVALID_UTF8",
        GRT_ERR_INSUFFICIENT_SIZE => c"INSUFFICIENT_SIZE",
        GRT_ERR_NOT_FOUND => c"NOT_FOUND",
        GRT_ERR_WRONG_KIND => c"WRONG_KIND",
        GRT_ERR_BAD_STATE => c"BAD_STATE",
        GRT_ERR_BUSY => c"BUSY",
        GRT_ERR_PANIC => c"PANIC",
        GRT_ERR_ALREADY_USED => c"ALREADY_USED",
        GRT_ERR_IO => c"IO",
        GRT_ERR_WASM_LOAD => c"WASM_LOAD",
        GRT_ERR_GUEST => c"GUEST",
        GRT_ERR_ABI => c"ABI",
        GRT_ERR_IMAGE => c"IMAGE",
        GRT_ERR_EBPF => c"EBPF",
        GRT_ERR_PARAM => c"PARAM",
        GRT_ERR_TIMEOUT => c"TIMEOUT",
        GRT_ERR_UNSUPPORTED => c"UNSUPPORTED",
        GRT_ERR_INTERNAL => c"INTERNAL",
        GRT_ERR_SIGNATURE => c"SIGNATURE",
        _ => c"UNKNOWN",
    }
}

/// Frees an error. NULL is a no-op; freeing twice is undefined behaviour.
#[no_mangle]
pub unsafe extern "C" fn grt_error_free(err: *mut grt_error) {
    ffi_value((), || {
        if !err.is_null() {
            // SAFETY: `err` came from `into_raw` and is freed once.
            drop(unsafe { Box::from_raw(err) });
        }
    })
}

// Stable error codes (`grt_error_code`). Values are never reused.
/// A required pointer argument was NULL.
pub const GRT_ERR_NULL_PARAMETER: u32 = 1;
/// An argument had an invalid value.
pub const GRT_ERR_INVALID_ARGUMENT: u32 = 2;
/// Text input was not valid UTF-8.
pub const GRT_ERR_INVALID_UTF8: u32 = 3;
/// The caller's buffer is too small; the needed size was written to `out_len`.
pub const GRT_ERR_INSUFFICIENT_SIZE: u32 = 4;
/// A named object (data source, field, param, image, subscription) does not exist.
pub const GRT_ERR_NOT_FOUND: u32 = 5;
/// The field's kind does not support the requested typed access.
pub const GRT_ERR_WRONG_KIND: u32 = 6;
/// The call is not valid in the gadget's current lifecycle state.
pub const GRT_ERR_BAD_STATE: u32 = 7;
/// Another thread is already polling this gadget.
pub const GRT_ERR_BUSY: u32 = 8;
/// A panic was caught at the C boundary.
pub const GRT_ERR_PANIC: u32 = 9;
/// A consumed object was used again.
pub const GRT_ERR_ALREADY_USED: u32 = 10;
/// An operating-system error.
pub const GRT_ERR_IO: u32 = 11;
/// The wasm program could not be compiled or instantiated.
pub const GRT_ERR_WASM_LOAD: u32 = 12;
/// A guest export failed (nonzero result or trap); the message names the export.
pub const GRT_ERR_GUEST: u32 = 13;
/// The guest does not speak the supported gadget API (version, missing export, signature).
pub const GRT_ERR_ABI: u32 = 14;
/// The gadget image is malformed.
pub const GRT_ERR_IMAGE: u32 = 15;
/// The eBPF object could not be loaded or attached.
pub const GRT_ERR_EBPF: u32 = 16;
/// A parameter is unknown, missing or invalid.
pub const GRT_ERR_PARAM: u32 = 17;
/// A guest call exceeded its deadline.
pub const GRT_ERR_TIMEOUT: u32 = 18;
/// Not supported here.
pub const GRT_ERR_UNSUPPORTED: u32 = 19;
/// An internal invariant failed.
pub const GRT_ERR_INTERNAL: u32 = 20;
/// An image's signature is missing ("no signature found for ...") or does not verify with
/// the given public keys ("signature verification failed for ...").
pub const GRT_ERR_SIGNATURE: u32 = 21;

#[cfg(test)]
mod tests {
    use crate::error::ErrorCode as C;

    #[test]
    fn c_codes_match_core_codes() {
        let pairs = [
            (super::GRT_ERR_NULL_PARAMETER, C::NullParameter), (super::GRT_ERR_INVALID_ARGUMENT, C::InvalidArgument),
            (super::GRT_ERR_INVALID_UTF8, C::InvalidUtf8), (super::GRT_ERR_INSUFFICIENT_SIZE, C::InsufficientSize),
            (super::GRT_ERR_NOT_FOUND, C::NotFound), (super::GRT_ERR_WRONG_KIND, C::WrongKind),
            (super::GRT_ERR_BAD_STATE, C::BadState), (super::GRT_ERR_BUSY, C::Busy), (super::GRT_ERR_PANIC, C::Panic),
            (super::GRT_ERR_ALREADY_USED, C::AlreadyUsed), (super::GRT_ERR_IO, C::Io), (super::GRT_ERR_WASM_LOAD, C::WasmLoad),
            (super::GRT_ERR_GUEST, C::Guest), (super::GRT_ERR_ABI, C::Abi), (super::GRT_ERR_IMAGE, C::Image),
            (super::GRT_ERR_EBPF, C::Ebpf), (super::GRT_ERR_PARAM, C::Param), (super::GRT_ERR_TIMEOUT, C::Timeout),
            (super::GRT_ERR_UNSUPPORTED, C::Unsupported), (super::GRT_ERR_INTERNAL, C::Internal),
            (super::GRT_ERR_SIGNATURE, C::Signature),
        ];
        for (c, r) in pairs {
            assert_eq!(c, r as u32, "{r:?}");
        }
    }
}

#[cfg(test)]
mod code_name_tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn every_code_has_a_name() {
        // Every ErrorCode value (1..=20 today) is named; the next value is not (a new code
        // must be added to code_name and to the wrappers' tables).
        for c in 1..=ErrorCode::Signature as u32 {
            assert_ne!(code_name(c).to_bytes(), b"UNKNOWN", "code {c}");
        }
        assert_eq!(code_name(ErrorCode::Signature as u32 + 1).to_bytes(), b"UNKNOWN");
        assert_eq!(code_name(0).to_bytes(), b"OK");
        assert_eq!(code_name(u32::MAX).to_bytes(), b"UNKNOWN");
        assert_eq!(code_name(ErrorCode::NotFound as u32).to_bytes(), b"NOT_FOUND");
    }
}
