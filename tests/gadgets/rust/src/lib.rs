//! `igapi`: small guest bindings for the Inspektor Gadget wasm ABI (import module `ig`,
//! API version 1), written for gadgetrt's tests from `shared/spec/wasm-abi.md`.
//! This is not the upstream `wasmapi/rust` crate.
//!
//! - [`sys`] has the raw imports: all 41 functions with the exact spec signatures.
//! - The rest is thin safe wrappers: handles ([`DataSource`], [`Field`], [`Data`],
//!   [`DataArray`], [`Packet`], [`Map`], [`PerfReader`]), logging, params, config,
//!   syscalls, kallsyms and the mntns filter.
//! - The crate exports `gadgetAPIVersion` (returns 1) and `dataSourceCallback`, which
//!   dispatches to the closures registered by `DataSource::subscribe*`.
//!
//! Only wasm32 is supported: other targets have no `ig` module to link against.

#![allow(clippy::new_ret_no_self)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// The raw `ig` imports. The Rust types map 1:1 to wasm types (u32/i32 → i32, u64 → i64).
/// The table in section 0 of the spec (and `check_wasm.py`) lists the signatures.
#[allow(non_snake_case)]
pub mod sys {
    #[link(wasm_import_module = "ig")]
    unsafe extern "C" {
        // log
        pub fn gadgetLog(level: u32, msg: u64);
        pub fn gadgetShouldLog(level: u32) -> u32;
        // data sources
        pub fn newDataSource(name: u64, typ: u32) -> u32;
        pub fn getDataSource(name: u64) -> u32;
        pub fn dataSourceSubscribe(ds: u32, sub_type: u32, prio: i32, cb_id: u64) -> u32;
        pub fn dataSourceGetField(ds: u32, name: u64) -> u32;
        pub fn dataSourceAddField(ds: u32, name: u64, kind: u32) -> u32;
        pub fn dataSourceNewPacketSingle(ds: u32) -> u32;
        pub fn dataSourceNewPacketArray(ds: u32) -> u32;
        pub fn dataSourceEmitAndRelease(ds: u32, packet: u32) -> u32;
        pub fn dataSourceRelease(ds: u32, packet: u32) -> u32;
        pub fn dataSourceUnreference(ds: u32) -> u32;
        pub fn dataSourceIsReferenced(ds: u32) -> u32;
        // data arrays
        pub fn dataArrayNew(array: u32) -> u32;
        pub fn dataArrayAppend(array: u32, data: u32) -> u32;
        pub fn dataArrayRelease(array: u32, data: u32) -> u32;
        pub fn dataArrayLen(array: u32) -> u32;
        pub fn dataArrayGet(array: u32, index: i32) -> u32;
        // fields
        pub fn fieldGetScalar(field: u32, data: u32, kind: u32, err_ptr: u32) -> u64;
        pub fn fieldGetBuffer(field: u32, data: u32, kind: u32, dst: u64) -> i32;
        pub fn fieldSet(field: u32, data: u32, kind: u32, value: u64) -> u32;
        pub fn fieldAddTag(field: u32, tag: u64) -> u32;
        // params, config
        pub fn getParamValue(key: u64, dst: u64) -> u32;
        pub fn setConfig(key: u64, value: u64, kind: u32) -> u32;
        // maps
        pub fn newMap(name: u64, typ: u32, key_size: u32, value_size: u32, max_entries: u32) -> u32;
        pub fn getMap(name: u64) -> u32;
        pub fn mapLookup(map: u32, key: u64, value: u64) -> u32;
        pub fn mapUpdate(map: u32, key: u64, value: u64, flags: u64) -> u32;
        pub fn mapDelete(map: u32, key: u64) -> u32;
        pub fn mapRelease(map: u32) -> u32;
        // handles
        pub fn releaseHandle(handle: u32) -> u32;
        // syscalls
        pub fn getSyscallName(id: u32, dst: u64) -> u32;
        pub fn getSyscallID(name: u64) -> i32;
        pub fn getSyscallDeclaration(name: u64, dst: u64) -> u32;
        // perf
        pub fn newPerfReader(map: u32, size: u32, overwritable: u32) -> u32;
        pub fn perfReaderPause(reader: u32) -> u32;
        pub fn perfReaderResume(reader: u32) -> u32;
        pub fn perfReaderRead(reader: u32, dst: u64) -> u32;
        pub fn perfReaderClose(reader: u32) -> u32;
        // kallsyms, filter
        pub fn kallsymsSymbolExists(symbol: u64) -> u32;
        pub fn shouldDiscardMntnsID(mntns_id: u64) -> u32;
    }
}

// ---------------------------------------------------------------------------------------
// Exports required by the host
// ---------------------------------------------------------------------------------------

/// The ABI version this library speaks.
pub const API_VERSION: u64 = 1;

#[no_mangle]
#[allow(non_snake_case)]
pub extern "C" fn gadgetAPIVersion() -> u64 {
    API_VERSION
}

#[cfg(target_arch = "wasm32")]
unsafe extern "C" {
    /// Synthesized by wasm-ld: runs the static constructors (wasi-libc's and any others).
    fn __wasm_call_ctors();
}

/// Makes the module a WASI *reactor*. On stable Rust a wasm32-wasip1 `cdylib` is linked
/// command-style: no `_initialize` export, and wasm-ld wraps every export in
/// `__wasm_call_ctors`/`__wasm_call_dtors` (constructors would run again on every call).
/// Calling `__wasm_call_ctors` explicitly makes wasm-ld drop those wrappers; the host
/// calls this once, as the start function, during instantiation.
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub extern "C" fn _initialize() {
    unsafe { __wasm_call_ctors() }
}

/// Called by the host for every delivered event of every subscription.
/// `data` is a Data, DataArray or Packet handle depending on the subscription type.
/// Unknown ids are ignored. The registry is not borrowed while the user callback runs,
/// so a callback may subscribe or emit.
#[no_mangle]
#[allow(non_snake_case)]
pub extern "C" fn dataSourceCallback(cb_id: u64, ds: u32, data: u32) {
    let Some(cb) = CALLBACKS.with(|m| m.borrow().get(&cb_id).cloned()) else {
        return;
    };
    let ds = DataSource(ds);
    let res = match &*cb {
        Callback::Data(f) => {
            f(ds, Data(data));
            Ok(())
        }
        Callback::Array(f) => f(ds, DataArray(data)),
        Callback::Packet(f) => f(ds, Packet(data)),
    };
    if let Err(e) = res {
        log::warn(&format!("igapi: callback {cb_id} failed: {e}"));
    }
}

// ---------------------------------------------------------------------------------------
// Errors, buffers, constants
// ---------------------------------------------------------------------------------------

/// An error from a host call (the host's error value) or from a guest-side check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl Error {
    pub fn new(msg: impl Into<String>) -> Self {
        Error(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// bufPtr for an input buffer: `(len << 32) | addr`; an empty buffer is 0.
#[inline]
pub fn buf_ptr(b: &[u8]) -> u64 {
    if b.is_empty() {
        0
    } else {
        ((b.len() as u64) << 32) | (b.as_ptr() as usize as u32 as u64)
    }
}

/// bufPtr for an output buffer the host writes into.
#[inline]
pub fn buf_ptr_mut(b: &mut [u8]) -> u64 {
    if b.is_empty() {
        0
    } else {
        ((b.len() as u64) << 32) | (b.as_mut_ptr() as usize as u32 as u64)
    }
}

/// bufPtr for a string; "" is 0.
#[inline]
pub fn str_ptr(s: &str) -> u64 {
    buf_ptr(s.as_bytes())
}

/// Cuts a host-written output buffer at its first NUL.
fn trim_nul(mut v: Vec<u8>) -> String {
    if let Some(p) = v.iter().position(|&b| b == 0) {
        v.truncate(p);
    }
    String::from_utf8_lossy(&v).into_owned()
}

/// Field kinds (`api.Kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Invalid = 0,
    Bool = 1,
    Int8 = 2,
    Int16 = 3,
    Int32 = 4,
    Int64 = 5,
    Uint8 = 6,
    Uint16 = 7,
    Uint32 = 8,
    Uint64 = 9,
    Float32 = 10,
    Float64 = 11,
    String = 12,
    CString = 13,
    Bytes = 14,
}

/// Data source types.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSourceType {
    Undefined = 0,
    Single = 1,
    Array = 2,
}

/// Subscription types (1/2/3; 0 is invalid).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionType {
    Invalid = 0,
    Data = 1,
    Array = 2,
    Packet = 3,
}

// ---------------------------------------------------------------------------------------
// Logging
// ---------------------------------------------------------------------------------------

pub mod log {
    use super::{str_ptr, sys};

    #[repr(u32)]
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum LogLevel {
        Error = 0,
        Warn = 1,
        Info = 2,
        Debug = 3,
        Trace = 4,
    }

    /// `gadgetLog` without a level check.
    pub fn log(level: LogLevel, msg: &str) {
        log_raw(level as u32, msg)
    }

    /// `gadgetLog` with any level value (the host logs unknown levels at warn).
    pub fn log_raw(level: u32, msg: &str) {
        unsafe { sys::gadgetLog(level, str_ptr(msg)) }
    }

    /// `gadgetShouldLog(level) == 1`.
    pub fn should_log(level: LogLevel) -> bool {
        unsafe { sys::gadgetShouldLog(level as u32) == 1 }
    }

    fn checked(level: LogLevel, msg: &str) {
        if should_log(level) {
            log(level, msg)
        }
    }

    pub fn error(msg: &str) {
        checked(LogLevel::Error, msg)
    }
    pub fn warn(msg: &str) {
        checked(LogLevel::Warn, msg)
    }
    pub fn info(msg: &str) {
        checked(LogLevel::Info, msg)
    }
    pub fn debug(msg: &str) {
        checked(LogLevel::Debug, msg)
    }
    pub fn trace(msg: &str) {
        checked(LogLevel::Trace, msg)
    }
}

/// Formatting log macros; each checks `gadgetShouldLog` before formatting.
#[macro_export]
macro_rules! logf {
    ($lvl:expr, $($arg:tt)*) => {{
        let lvl = $lvl;
        if $crate::log::should_log(lvl) {
            $crate::log::log(lvl, &::std::format!($($arg)*));
        }
    }};
}
#[macro_export]
macro_rules! errorf { ($($arg:tt)*) => { $crate::logf!($crate::log::LogLevel::Error, $($arg)*) }; }
#[macro_export]
macro_rules! warnf { ($($arg:tt)*) => { $crate::logf!($crate::log::LogLevel::Warn, $($arg)*) }; }
#[macro_export]
macro_rules! infof { ($($arg:tt)*) => { $crate::logf!($crate::log::LogLevel::Info, $($arg)*) }; }
#[macro_export]
macro_rules! debugf { ($($arg:tt)*) => { $crate::logf!($crate::log::LogLevel::Debug, $($arg)*) }; }
#[macro_export]
macro_rules! tracef { ($($arg:tt)*) => { $crate::logf!($crate::log::LogLevel::Trace, $($arg)*) }; }

// ---------------------------------------------------------------------------------------
// Handles
// ---------------------------------------------------------------------------------------

macro_rules! handle {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub u32);
        impl $name {
            /// The raw handle value.
            pub fn raw(self) -> u32 {
                self.0
            }
        }
        impl From<$name> for u32 {
            fn from(h: $name) -> u32 {
                h.0
            }
        }
    };
}

handle!(
    /// A data source handle.
    DataSource
);
handle!(
    /// A field (accessor) handle.
    Field
);
handle!(
    /// A data handle: a single packet, an array element, or a composite
    /// data-array element handle from [`DataArray::get`].
    Data
);
handle!(
    /// A data-array handle (an array packet or an Array-subscription argument).
    DataArray
);
handle!(
    /// A packet handle (single or array).
    Packet
);

impl Packet {
    /// A single packet seen as data (same handle).
    pub fn as_data(self) -> Data {
        Data(self.0)
    }
    /// An array packet seen as a data array (same handle).
    pub fn as_array(self) -> DataArray {
        DataArray(self.0)
    }
}

/// Deletes any table handle (`releaseHandle`).
pub fn release_handle<H: Into<u32>>(h: H) -> Result<()> {
    let h = h.into();
    match unsafe { sys::releaseHandle(h) } {
        0 => Ok(()),
        r => Err(Error(format!("releaseHandle({h}) = {r}"))),
    }
}

enum Callback {
    Data(Box<dyn Fn(DataSource, Data)>),
    Array(Box<dyn Fn(DataSource, DataArray) -> Result<()>>),
    Packet(Box<dyn Fn(DataSource, Packet) -> Result<()>>),
}

thread_local! {
    static CALLBACKS: RefCell<BTreeMap<u64, Rc<Callback>>> = const { RefCell::new(BTreeMap::new()) };
    static NEXT_CB_ID: Cell<u64> = const { Cell::new(1) };
}

impl DataSource {
    /// `newDataSource`.
    pub fn new(name: &str, typ: DataSourceType) -> Result<DataSource> {
        match unsafe { sys::newDataSource(str_ptr(name), typ as u32) } {
            0 => Err(Error(format!("newDataSource({name:?}) failed"))),
            h => Ok(DataSource(h)),
        }
    }

    /// `getDataSource` (a new handle on every call).
    pub fn get(name: &str) -> Result<DataSource> {
        match unsafe { sys::getDataSource(str_ptr(name)) } {
            0 => Err(Error(format!("getDataSource({name:?}) failed"))),
            h => Ok(DataSource(h)),
        }
    }

    fn subscribe_raw(self, typ: SubscriptionType, prio: i32, cb: Callback) -> Result<u64> {
        let id = NEXT_CB_ID.with(|c| {
            let id = c.get();
            c.set(id + 1);
            id
        });
        CALLBACKS.with(|m| m.borrow_mut().insert(id, Rc::new(cb)));
        match unsafe { sys::dataSourceSubscribe(self.0, typ as u32, prio, id) } {
            0 => Ok(id),
            r => {
                CALLBACKS.with(|m| m.borrow_mut().remove(&id));
                Err(Error(format!("dataSourceSubscribe(ds {}, type {}, prio {prio}) = {r}", self.0, typ as u32)))
            }
        }
    }

    /// Data subscription (type 1): once per single packet or per array element.
    /// Returns the callback id.
    pub fn subscribe(self, prio: i32, f: impl Fn(DataSource, Data) + 'static) -> Result<u64> {
        self.subscribe_raw(SubscriptionType::Data, prio, Callback::Data(Box::new(f)))
    }

    /// Array subscription (type 2): once per array packet.
    pub fn subscribe_array(
        self,
        prio: i32,
        f: impl Fn(DataSource, DataArray) -> Result<()> + 'static,
    ) -> Result<u64> {
        self.subscribe_raw(SubscriptionType::Array, prio, Callback::Array(Box::new(f)))
    }

    /// Packet subscription (type 3): once per packet.
    pub fn subscribe_packet(
        self,
        prio: i32,
        f: impl Fn(DataSource, Packet) -> Result<()> + 'static,
    ) -> Result<u64> {
        self.subscribe_raw(SubscriptionType::Packet, prio, Callback::Packet(Box::new(f)))
    }

    /// `dataSourceGetField`.
    pub fn get_field(self, name: &str) -> Result<Field> {
        match unsafe { sys::dataSourceGetField(self.0, str_ptr(name)) } {
            0 => Err(Error(format!("dataSourceGetField({name:?}) failed"))),
            h => Ok(Field(h)),
        }
    }

    /// `dataSourceAddField`.
    pub fn add_field(self, name: &str, kind: FieldKind) -> Result<Field> {
        match unsafe { sys::dataSourceAddField(self.0, str_ptr(name), kind as u32) } {
            0 => Err(Error(format!("dataSourceAddField({name:?}, {kind:?}) failed"))),
            h => Ok(Field(h)),
        }
    }

    /// `dataSourceNewPacketSingle`.
    pub fn new_packet_single(self) -> Result<Packet> {
        match unsafe { sys::dataSourceNewPacketSingle(self.0) } {
            0 => Err(Error("dataSourceNewPacketSingle failed".into())),
            h => Ok(Packet(h)),
        }
    }

    /// `dataSourceNewPacketArray`.
    pub fn new_packet_array(self) -> Result<Packet> {
        match unsafe { sys::dataSourceNewPacketArray(self.0) } {
            0 => Err(Error("dataSourceNewPacketArray failed".into())),
            h => Ok(Packet(h)),
        }
    }

    /// `dataSourceEmitAndRelease` (the packet handle is gone afterwards either way).
    pub fn emit_and_release(self, p: Packet) -> Result<()> {
        match unsafe { sys::dataSourceEmitAndRelease(self.0, p.0) } {
            0 => Ok(()),
            r => Err(Error(format!("dataSourceEmitAndRelease = {r}"))),
        }
    }

    /// `dataSourceRelease`.
    pub fn release(self, p: Packet) -> Result<()> {
        match unsafe { sys::dataSourceRelease(self.0, p.0) } {
            0 => Ok(()),
            r => Err(Error(format!("dataSourceRelease = {r}"))),
        }
    }

    /// `dataSourceUnreference`.
    pub fn unreference(self) -> Result<()> {
        match unsafe { sys::dataSourceUnreference(self.0) } {
            0 => Ok(()),
            r => Err(Error(format!("dataSourceUnreference = {r}"))),
        }
    }

    /// `dataSourceIsReferenced == 1` (a bad handle, result 2, reads as false).
    pub fn is_referenced(self) -> bool {
        unsafe { sys::dataSourceIsReferenced(self.0) == 1 }
    }
}

impl DataArray {
    /// `dataArrayNew`: a new element, to be passed to `append` or `release`.
    pub fn new_elem(self) -> Result<Data> {
        match unsafe { sys::dataArrayNew(self.0) } {
            0 => Err(Error("dataArrayNew failed".into())),
            h => Ok(Data(h)),
        }
    }

    /// `dataArrayAppend` (consumes the element handle on success).
    pub fn append(self, d: Data) -> Result<()> {
        match unsafe { sys::dataArrayAppend(self.0, d.0) } {
            0 => Ok(()),
            r => Err(Error(format!("dataArrayAppend = {r}"))),
        }
    }

    /// `dataArrayRelease`.
    pub fn release(self, d: Data) -> Result<()> {
        match unsafe { sys::dataArrayRelease(self.0, d.0) } {
            0 => Ok(()),
            r => Err(Error(format!("dataArrayRelease = {r}"))),
        }
    }

    /// `dataArrayLen` (0 on error).
    pub fn len(self) -> usize {
        unsafe { sys::dataArrayLen(self.0) as usize }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// `dataArrayGet`: a composite element handle, valid only while the array is.
    pub fn get(self, index: usize) -> Result<Data> {
        let Ok(i) = i32::try_from(index) else {
            return Err(Error(format!("dataArrayGet: index {index} out of range")));
        };
        match unsafe { sys::dataArrayGet(self.0, i) } {
            0 => Err(Error(format!("dataArrayGet({index}) failed"))),
            h => Ok(Data(h)),
        }
    }
}

macro_rules! scalar_accessors {
    ($($get:ident, $set:ident, $t:ty, $kind:ident, $from:expr, $to:expr;)*) => {
        $(
            #[doc = concat!("`fieldGetScalar` with kind ", stringify!($kind), ".")]
            pub fn $get(self, d: Data) -> Result<$t> {
                let raw = self.get_scalar(d, FieldKind::$kind)?;
                #[allow(clippy::redundant_closure_call)]
                Ok(($from)(raw))
            }
            #[doc = concat!("`fieldSet` with kind ", stringify!($kind), ".")]
            pub fn $set(self, d: Data, v: $t) -> Result<()> {
                #[allow(clippy::redundant_closure_call)]
                self.set_raw(d, FieldKind::$kind, ($to)(v))
            }
        )*
    };
}

impl Field {
    /// Raw `fieldGetScalar`: zeroes the error word, calls, and checks it.
    pub fn get_scalar(self, d: Data, kind: FieldKind) -> Result<u64> {
        let mut err: u32 = 0;
        let v = unsafe {
            sys::fieldGetScalar(self.0, d.0, kind as u32, &mut err as *mut u32 as usize as u32)
        };
        // Read through a volatile load: the host wrote it behind the compiler's back.
        let err = unsafe { core::ptr::read_volatile(&err) };
        if err != 0 {
            return Err(Error(format!("fieldGetScalar(field {}, data {}, {kind:?}) failed", self.0, d.0)));
        }
        Ok(v)
    }

    /// Raw `fieldSet`.
    pub fn set_raw(self, d: Data, kind: FieldKind, value: u64) -> Result<()> {
        match unsafe { sys::fieldSet(self.0, d.0, kind as u32, value) } {
            0 => Ok(()),
            r => Err(Error(format!("fieldSet(field {}, data {}, {kind:?}) = {r}", self.0, d.0))),
        }
    }

    scalar_accessors! {
        get_bool, set_bool, bool, Bool, |r: u64| r == 1, |v: bool| v as u64;
        get_i8, set_i8, i8, Int8, |r: u64| r as i8, |v: i8| v as i64 as u64;
        get_i16, set_i16, i16, Int16, |r: u64| r as i16, |v: i16| v as i64 as u64;
        get_i32, set_i32, i32, Int32, |r: u64| r as i32, |v: i32| v as i64 as u64;
        get_i64, set_i64, i64, Int64, |r: u64| r as i64, |v: i64| v as u64;
        get_u8, set_u8, u8, Uint8, |r: u64| r as u8, |v: u8| v as u64;
        get_u16, set_u16, u16, Uint16, |r: u64| r as u16, |v: u16| v as u64;
        get_u32, set_u32, u32, Uint32, |r: u64| r as u32, |v: u32| v as u64;
        get_u64, set_u64, u64, Uint64, |r: u64| r, |v: u64| v;
        get_f32, set_f32, f32, Float32, |r: u64| f32::from_bits(r as u32), |v: f32| v.to_bits() as u64;
        get_f64, set_f64, f64, Float64, |r: u64| f64::from_bits(r), |v: f64| v.to_bits();
    }

    /// `fieldSet` with kind String (copied by the host; "" is bufPtr 0).
    pub fn set_string(self, d: Data, v: &str) -> Result<()> {
        self.set_raw(d, FieldKind::String, str_ptr(v))
    }

    /// `fieldSet` with kind Bytes. The reference host keeps a *view* of guest memory,
    /// so `v` should outlive the packet (e.g. a `static`).
    pub fn set_bytes(self, d: Data, v: &[u8]) -> Result<()> {
        self.set_raw(d, FieldKind::Bytes, buf_ptr(v))
    }

    /// `fieldGetBuffer` with kind Bytes into `dst`; returns the byte count.
    pub fn bytes(self, d: Data, dst: &mut [u8]) -> Result<usize> {
        match unsafe { sys::fieldGetBuffer(self.0, d.0, FieldKind::Bytes as u32, buf_ptr_mut(dst)) } {
            n if n >= 0 => Ok(n as usize),
            r => Err(Error(format!("fieldGetBuffer(field {}, data {}) = {r}", self.0, d.0))),
        }
    }

    /// `fieldGetBuffer` (kind Bytes) into a zeroed `max_size` buffer, cut at the byte
    /// count and at the first NUL.
    pub fn string(self, d: Data, max_size: usize) -> Result<String> {
        let mut buf = vec![0u8; max_size];
        let n = self.bytes(d, &mut buf)?;
        buf.truncate(n);
        Ok(trim_nul(buf))
    }

    /// `fieldAddTag`.
    pub fn add_tag(self, tag: &str) -> Result<()> {
        match unsafe { sys::fieldAddTag(self.0, str_ptr(tag)) } {
            0 => Ok(()),
            r => Err(Error(format!("fieldAddTag({tag:?}) = {r}"))),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Params, config
// ---------------------------------------------------------------------------------------

/// `getParamValue` into a zeroed buffer of `max_size` bytes, cut at the first NUL.
pub fn get_param_value(key: &str, max_size: usize) -> Result<String> {
    let mut buf = vec![0u8; max_size];
    match unsafe { sys::getParamValue(str_ptr(key), buf_ptr_mut(&mut buf)) } {
        0 => Ok(trim_nul(buf)),
        r => Err(Error(format!("getParamValue({key:?}) = {r}"))),
    }
}

/// `setConfig(key, value, String)`.
pub fn set_config(key: &str, value: &str) -> Result<()> {
    match unsafe { sys::setConfig(str_ptr(key), str_ptr(value), FieldKind::String as u32) } {
        0 => Ok(()),
        r => Err(Error(format!("setConfig({key:?}) = {r}"))),
    }
}

// ---------------------------------------------------------------------------------------
// Syscalls, kallsyms, filter
// ---------------------------------------------------------------------------------------

pub const MAX_SYSCALL_LENGTH: usize = 64;
pub const SYSCALL_DECLARATION_SIZE: usize = 252;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallParam {
    pub name: String,
    pub is_pointer: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallDeclaration {
    pub name: String,
    pub params: Vec<SyscallParam>,
}

/// `getSyscallName` (64-byte buffer).
pub fn get_syscall_name(id: u16) -> Result<String> {
    let mut buf = vec![0u8; MAX_SYSCALL_LENGTH];
    match unsafe { sys::getSyscallName(id as u32, buf_ptr_mut(&mut buf)) } {
        0 => Ok(trim_nul(buf)),
        r => Err(Error(format!("getSyscallName({id}) = {r}"))),
    }
}

/// `getSyscallID` (-1 = unknown).
pub fn get_syscall_id(name: &str) -> Result<i32> {
    match unsafe { sys::getSyscallID(str_ptr(name)) } {
        -1 => Err(Error(format!("getSyscallID({name:?}) failed"))),
        id => Ok(id),
    }
}

/// `getSyscallDeclaration`, decoding the 252-byte record.
pub fn get_syscall_declaration(name: &str) -> Result<SyscallDeclaration> {
    let mut rec = vec![0u8; SYSCALL_DECLARATION_SIZE];
    let r = unsafe { sys::getSyscallDeclaration(str_ptr(name), buf_ptr_mut(&mut rec)) };
    if r != 0 {
        return Err(Error(format!("getSyscallDeclaration({name:?}) = {r}")));
    }
    let cstr = |b: &[u8]| trim_nul(b.to_vec());
    let n = (rec[32] as usize).min(6);
    let params = (0..n)
        .map(|i| {
            let off = 36 + 36 * i;
            let flags = u32::from_le_bytes(rec[off + 32..off + 36].try_into().unwrap());
            SyscallParam { name: cstr(&rec[off..off + 32]), is_pointer: flags & 1 != 0 }
        })
        .collect();
    Ok(SyscallDeclaration { name: cstr(&rec[..32]), params })
}

/// `kallsymsSymbolExists == 1`.
pub fn kallsyms_symbol_exists(symbol: &str) -> bool {
    unsafe { sys::kallsymsSymbolExists(str_ptr(symbol)) == 1 }
}

/// `shouldDiscardMntnsID == 1`.
pub fn should_discard_mntns_id(mntns_id: u64) -> bool {
    unsafe { sys::shouldDiscardMntnsID(mntns_id) == 1 }
}

// ---------------------------------------------------------------------------------------
// Maps, perf readers
// ---------------------------------------------------------------------------------------

handle!(
    /// An eBPF map handle (from `getMap`, `newMap` or a map-of-maps lookup).
    Map
);

impl Map {
    /// `getMap` (release with [`release_handle`]).
    pub fn get(name: &str) -> Result<Map> {
        match unsafe { sys::getMap(str_ptr(name)) } {
            0 => Err(Error(format!("getMap({name:?}) failed"))),
            h => Ok(Map(h)),
        }
    }

    /// `newMap` (release with [`Map::close`]).
    pub fn create(name: &str, typ: u32, key_size: u32, value_size: u32, max_entries: u32) -> Result<Map> {
        match unsafe { sys::newMap(str_ptr(name), typ, key_size, value_size, max_entries) } {
            0 => Err(Error(format!("newMap({name:?}) failed"))),
            h => Ok(Map(h)),
        }
    }

    /// `mapLookup` (a missing key on an ordinary map succeeds and writes nothing).
    pub fn lookup(self, key: &[u8], value: &mut [u8]) -> Result<()> {
        match unsafe { sys::mapLookup(self.0, buf_ptr(key), buf_ptr_mut(value)) } {
            0 => Ok(()),
            r => Err(Error(format!("mapLookup = {r}"))),
        }
    }

    /// `mapUpdate` (flags: 0 any, 1 noexist, 2 exist, 4 lock).
    pub fn update(self, key: &[u8], value: &[u8], flags: u64) -> Result<()> {
        match unsafe { sys::mapUpdate(self.0, buf_ptr(key), buf_ptr(value), flags) } {
            0 => Ok(()),
            r => Err(Error(format!("mapUpdate = {r}"))),
        }
    }

    /// `mapDelete`.
    pub fn delete(self, key: &[u8]) -> Result<()> {
        match unsafe { sys::mapDelete(self.0, buf_ptr(key)) } {
            0 => Ok(()),
            r => Err(Error(format!("mapDelete = {r}"))),
        }
    }

    /// `mapRelease` (only for `newMap` maps).
    pub fn close(self) -> Result<()> {
        match unsafe { sys::mapRelease(self.0) } {
            0 => Ok(()),
            r => Err(Error(format!("mapRelease = {r}"))),
        }
    }
}

handle!(
    /// A perf reader handle.
    PerfReader
);

impl PerfReader {
    /// `newPerfReader` (0 = error; note the reference host returns 1 for a bad map).
    pub fn new(map: Map, size: u32, overwritable: bool) -> Result<PerfReader> {
        match unsafe { sys::newPerfReader(map.0, size, overwritable as u32) } {
            0 => Err(Error("newPerfReader failed".into())),
            h => Ok(PerfReader(h)),
        }
    }

    pub fn pause(self) -> Result<()> {
        match unsafe { sys::perfReaderPause(self.0) } {
            0 => Ok(()),
            r => Err(Error(format!("perfReaderPause = {r}"))),
        }
    }

    pub fn resume(self) -> Result<()> {
        match unsafe { sys::perfReaderResume(self.0) } {
            0 => Ok(()),
            r => Err(Error(format!("perfReaderResume = {r}"))),
        }
    }

    /// `perfReaderRead`: raw result (0 ok, 1 error, 2 deadline exceeded).
    pub fn read(self, dst: &mut [u8]) -> u32 {
        unsafe { sys::perfReaderRead(self.0, buf_ptr_mut(dst)) }
    }

    pub fn close(self) -> Result<()> {
        match unsafe { sys::perfReaderClose(self.0) } {
            0 => Ok(()),
            r => Err(Error(format!("perfReaderClose = {r}"))),
        }
    }
}
