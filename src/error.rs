//! Errors with stable numeric codes (the C API's `grt_error_code`).

use std::fmt;

/// Stable error codes. Values are never reused; new codes get new numbers.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// A required pointer argument was NULL.
    NullParameter = 1,
    /// An argument had an invalid value.
    InvalidArgument = 2,
    /// Text input was not valid UTF-8.
    InvalidUtf8 = 3,
    /// The caller's buffer is too small; the needed size was written to `out_len`.
    InsufficientSize = 4,
    /// A named object (data source, field, param, image) does not exist.
    NotFound = 5,
    /// The field's kind does not support the requested typed access.
    WrongKind = 6,
    /// The call is not valid in the gadget's current lifecycle state.
    BadState = 7,
    /// Another thread is already polling this gadget.
    Busy = 8,
    /// A panic was caught at the C boundary; the object involved is poisoned.
    Panic = 9,
    /// A consumed object was used again.
    AlreadyUsed = 10,
    /// An operating-system error (file, eventfd, ...).
    Io = 11,
    /// The wasm program could not be compiled or instantiated.
    WasmLoad = 12,
    /// A guest export failed: nonzero result or trap.
    Guest = 13,
    /// The guest does not speak the supported gadget API (version, missing export).
    Abi = 14,
    /// The gadget image is malformed.
    Image = 15,
    /// The eBPF object could not be loaded or attached.
    Ebpf = 16,
    /// A parameter is unknown, missing or has an invalid value.
    Param = 17,
    /// A guest call exceeded its deadline.
    Timeout = 18,
    /// The operation is not supported here.
    Unsupported = 19,
    /// An internal invariant failed.
    Internal = 20,
    /// An image's signature is missing or does not verify with the given public keys.
    Signature = 21,
}

impl ErrorCode {
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::NullParameter => "null parameter",
            ErrorCode::InvalidArgument => "invalid argument",
            ErrorCode::InvalidUtf8 => "invalid UTF-8",
            ErrorCode::InsufficientSize => "insufficient size",
            ErrorCode::NotFound => "not found",
            ErrorCode::WrongKind => "wrong kind",
            ErrorCode::BadState => "bad state",
            ErrorCode::Busy => "busy",
            ErrorCode::Panic => "panic",
            ErrorCode::AlreadyUsed => "already used",
            ErrorCode::Io => "I/O error",
            ErrorCode::WasmLoad => "wasm load error",
            ErrorCode::Guest => "guest error",
            ErrorCode::Abi => "ABI error",
            ErrorCode::Image => "image error",
            ErrorCode::Ebpf => "eBPF error",
            ErrorCode::Param => "parameter error",
            ErrorCode::Timeout => "timeout",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::Internal => "internal error",
            ErrorCode::Signature => "signature error",
        }
    }
}

/// An error with a stable code and a human-readable message.
#[derive(Clone, Debug)]
pub struct Error {
    pub code: ErrorCode,
    pub message: String,
}

impl Error {
    /// Control characters other than newline and tab (terminal escapes, carriage returns,
    /// C1 controls), which can come from archives, objects or guests, are escaped as
    /// `\u{..}` so a message never drives the terminal it is printed on.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error { code, message: escape_controls(message.into()) }
    }
}

/// Escapes control characters except `\n` and `\t` as `\u{..}`.
pub fn escape_controls(s: String) -> String {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::new(ErrorCode::Io, e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand constructor: `err(ErrorCode::NotFound, format!(...))`.
pub fn err<T>(code: ErrorCode, message: impl Into<String>) -> Result<T> {
    Err(Error::new(code, message))
}
