//! `grt_gadget`: loading, lifecycle, params, config, data sources, subscriptions, polling.

use std::os::raw::{c_char, c_void};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::event::grt_event;
use super::runtime::{grt_userdata_free_fn, runtime_ref};
use super::{bytes_arg, ffi_try, ffi_value, grt_error, null_err, str_arg, write_out};
use crate::error::{Error, ErrorCode, Result};
use crate::events::Event;
use crate::gadget::{Gadget, GadgetSource, State};

/// A gadget. Reference-counted and thread-safe: a `const grt_gadget *` may be used from any
/// thread concurrently (calls are serialised internally), except that only one thread may
/// poll/consume at a time (`GRT_ERR_BUSY`).
pub struct grt_gadget {
    _private: [u8; 0],
}

/// Gadget states (`grt_gadget_state`).
pub const GRT_STATE_CREATED: u32 = 0;
pub const GRT_STATE_INITIALIZED: u32 = 1;
pub const GRT_STATE_STARTED: u32 = 2;
pub const GRT_STATE_STOPPED: u32 = 3;
pub const GRT_STATE_FAILED: u32 = 4;

/// Data-source types.
pub const GRT_DS_SINGLE: u32 = 1;
pub const GRT_DS_ARRAY: u32 = 2;

/// Event callback: called only inside `grt_gadget_poll`/`grt_gadget_consume`, on the
/// polling thread. `event` is borrowed for the call only. Return 0 (or positive) to continue;
/// a negative value stops dispatching and is returned by poll. Must not unwind.
pub type grt_event_fn = Option<unsafe extern "C" fn(userdata: *mut c_void, event: *const grt_event) -> i32>;

/// Gadget statistics (`grt_gadget_get_stats`). Set `size` to `sizeof(grt_gadget_stats)` before
/// the call; only fields within `size` are written.
#[repr(C)]
#[derive(Default)]
pub struct grt_gadget_stats {
    pub size: usize,
    /// Events handed to embedder callbacks.
    pub delivered: u64,
    /// Events dropped because the event queue was full.
    pub dropped_queue_full: u64,
    /// Failed guest calls: traps in `dataSourceCallback` and similar (the event went on).
    pub guest_traps: u64,
    /// Packets a guest emitted from inside guest code that could not be queued.
    pub dropped_nested: u64,
    /// Samples lost on the kernel side (ring/perf buffers), all data sources together.
    pub lost_samples: u64,
    /// Events waiting in the queue right now.
    pub queued: u64,
}

pub(crate) fn gadget_ref<'a>(g: *const grt_gadget) -> Result<&'a Gadget> {
    // SAFETY: non-NULL pointers come from Arc::into_raw in the open functions and stay valid
    // until grt_gadget_free.
    unsafe { (g as *const Gadget).as_ref() }.ok_or_else(|| null_err("gadget"))
}

pub(crate) unsafe fn publish(out: *mut *const grt_gadget, g: Gadget) {
    // SAFETY: caller checked `out`.
    unsafe { *out = Arc::into_raw(Arc::new(g)) as *const grt_gadget };
}

unsafe fn open_path(
    rt: *const super::runtime::grt_runtime,
    path: *const c_char,
    path_len: usize,
    reference: *const c_char,
    reference_len: usize,
    out: *mut *const grt_gadget,
    init: bool,
) -> *mut grt_error {
    ffi_try(|| {
        let rt = runtime_ref(rt)?;
        if out.is_null() {
            return Err(null_err("out"));
        }
        let p = unsafe { str_arg(path, path_len, "path")? };
        if path.is_null() {
            return Err(null_err("path"));
        }
        let r = unsafe { str_arg(reference, reference_len, "reference")? };
        let src = GadgetSource::from_path(Path::new(p), (!r.is_empty()).then_some(r))?;
        let g = if init { Gadget::load(rt, src)? } else { Gadget::open(rt, src)? };
        unsafe { publish(out, g) };
        Ok(())
    })
}

/// Opens a gadget from a path without running guest code: a `.wasm` file; a directory with
/// `program.wasm` and optionally `program.bpf.o` and `gadget.yaml`; or an OCI image layout
/// (directory or tar). `reference` (may be NULL/0) selects an image inside an OCI archive
/// (`trace_open`, `trace_open:latest`, `ghcr.io/inspektor-gadget/gadget/trace_open:latest`).
/// Add data sources and subscriptions, then call `grt_gadget_init` (or `grt_gadget_start`).
/// `out` receives a new reference; free with `grt_gadget_free`. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_open_path(
    rt: *const super::runtime::grt_runtime,
    path: *const c_char,
    path_len: usize,
    reference: *const c_char,
    reference_len: usize,
    out: *mut *const grt_gadget,
) -> *mut grt_error {
    unsafe { open_path(rt, path, path_len, reference, reference_len, out, false) }
}

/// `grt_gadget_open_path` followed by `grt_gadget_init` (instantiation and `gadgetInit`).
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_load_path(
    rt: *const super::runtime::grt_runtime,
    path: *const c_char,
    path_len: usize,
    reference: *const c_char,
    reference_len: usize,
    out: *mut *const grt_gadget,
) -> *mut grt_error {
    unsafe { open_path(rt, path, path_len, reference, reference_len, out, true) }
}

unsafe fn open_bytes(
    rt: *const super::runtime::grt_runtime,
    name: *const c_char,
    name_len: usize,
    wasm: *const u8,
    wasm_len: usize,
    out: *mut *const grt_gadget,
    init: bool,
) -> *mut grt_error {
    ffi_try(|| {
        let rt = runtime_ref(rt)?;
        if out.is_null() {
            return Err(null_err("out"));
        }
        let n = unsafe { str_arg(name, name_len, "name")? };
        if wasm.is_null() {
            return Err(null_err("wasm"));
        }
        let w = unsafe { bytes_arg(wasm, wasm_len, "wasm")? };
        let src = GadgetSource::from_wasm(if n.is_empty() { "gadget" } else { n }, w.to_vec());
        let g = if init { Gadget::load(rt, src)? } else { Gadget::open(rt, src)? };
        unsafe { publish(out, g) };
        Ok(())
    })
}

/// Opens a gadget from wasm bytes (copied) without running guest code. `name` (may be
/// NULL/0) names it in logs. See `grt_gadget_open_path`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_open_bytes(
    rt: *const super::runtime::grt_runtime,
    name: *const c_char,
    name_len: usize,
    wasm: *const u8,
    wasm_len: usize,
    out: *mut *const grt_gadget,
) -> *mut grt_error {
    unsafe { open_bytes(rt, name, name_len, wasm, wasm_len, out, false) }
}

/// `grt_gadget_open_bytes` followed by `grt_gadget_init`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_load_bytes(
    rt: *const super::runtime::grt_runtime,
    name: *const c_char,
    name_len: usize,
    wasm: *const u8,
    wasm_len: usize,
    out: *mut *const grt_gadget,
) -> *mut grt_error {
    unsafe { open_bytes(rt, name, name_len, wasm, wasm_len, out, true) }
}

/// Instantiates the wasm program, checks `gadgetAPIVersion` and runs `gadgetInit`.
/// `GRT_ERR_BAD_STATE` unless the gadget was just opened. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_init(g: *const grt_gadget) -> *mut grt_error {
    ffi_try(|| gadget_ref(g)?.init())
}

/// Starts the gadget: `gadgetPreStart`, eBPF load and attach, `gadgetStart` (initialising first
/// if needed). Fails naming every missing mandatory param. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_start(g: *const grt_gadget) -> *mut grt_error {
    ffi_try(|| gadget_ref(g)?.start())
}

/// Stops the gadget: interrupts a guest callback still running, detaches eBPF, runs
/// `gadgetStop` (bounded by the stop deadline), closes every host object the guest holds, runs
/// `gadgetPostStop`. Events already queued stay pollable. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_stop(g: *const grt_gadget) -> *mut grt_error {
    ffi_try(|| gadget_ref(g)?.stop())
}

/// Takes another reference to the gadget and returns it (the same pointer; NULL for NULL).
/// Release each reference with `grt_gadget_free`. A thread that uses the gadget while another
/// thread may free it (a poller, an interrupting watchdog) takes its own reference first:
/// the gadget lives until the last reference is freed, so a free on one thread never frees it
/// under a call running on another. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_ref(g: *const grt_gadget) -> *const grt_gadget {
    ffi_value(std::ptr::null(), || {
        if !g.is_null() {
            // SAFETY: from Arc::into_raw and still referenced by the caller.
            unsafe { Arc::increment_strong_count(g as *const Gadget) };
        }
        g
    })
}

/// Releases the caller's reference; the last reference stops a running gadget and frees it
/// (subscription userdata finalizers run then). NULL is a no-op; freeing a reference twice is
/// undefined. A reference must not be freed while another call using that same reference
/// runs (on any thread): give each such thread its own reference (`grt_gadget_ref`). The
/// last reference must not be freed from inside one of the gadget's own callbacks.
/// Thread-safe for distinct references.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_free(g: *const grt_gadget) {
    ffi_value((), || {
        if !g.is_null() {
            // SAFETY: from Arc::into_raw, released once.
            drop(unsafe { Arc::from_raw(g as *const Gadget) });
        }
    })
}

/// The lifecycle state (`GRT_STATE_*`); `GRT_STATE_FAILED` if `g` is NULL.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_state(g: *const grt_gadget) -> u32 {
    ffi_value(GRT_STATE_FAILED, || match gadget_ref(g) {
        Ok(g) => match g.state() {
            State::Created => GRT_STATE_CREATED,
            State::Initialized => GRT_STATE_INITIALIZED,
            State::Started => GRT_STATE_STARTED,
            State::Stopped => GRT_STATE_STOPPED,
            State::Failed => GRT_STATE_FAILED,
        },
        Err(_) => GRT_STATE_FAILED,
    })
}

/// Sets a declared param (wasm or eBPF side) before start. The value is validated against the
/// declared type hint; an undeclared key is `GRT_ERR_PARAM`. Keys may also carry IG's
/// `operator.oci.wasm.` / `operator.oci.ebpf.` prefixes. Strings are UTF-8 ptr+len.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_set_param(
    g: *const grt_gadget,
    key: *const c_char,
    key_len: usize,
    value: *const c_char,
    value_len: usize,
) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let k = unsafe { str_arg(key, key_len, "key")? };
        let v = unsafe { str_arg(value, value_len, "value")? };
        g.set_param(k, v)
    })
}

/// Copies a param's current value (set value or default) into `buf` (capacity `cap`, no NUL
/// added); `out_len` receives the length (also on `GRT_ERR_INSUFFICIENT_SIZE`).
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_get_param(
    g: *const grt_gadget,
    key: *const c_char,
    key_len: usize,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let k = unsafe { str_arg(key, key_len, "key")? };
        let v = g.get_param(k)?;
        unsafe { write_out(v.as_bytes(), buf as *mut u8, cap, out_len) }
    })
}

/// Copies the gadget configuration value at a dotted path (`foo.bar.zas`) into `buf`:
/// scalars as text, maps and lists as JSON. `GRT_ERR_NOT_FOUND` if absent. The wasm program
/// writes this tree with `setConfig`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_get_config(
    g: *const grt_gadget,
    path: *const c_char,
    path_len: usize,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let p = unsafe { str_arg(path, path_len, "path")? };
        let v = g.config(p).ok_or_else(|| Error::new(ErrorCode::NotFound, format!("config key {p:?} not set")))?;
        unsafe { write_out(v.as_bytes(), buf as *mut u8, cap, out_len) }
    })
}

/// Sets the mount-namespace IDs whose events are kept (`enable` nonzero), or disables
/// filtering (`enable` 0; `ids` ignored). Fills the eBPF filter map and answers the wasm
/// `shouldDiscardMntnsID`; takes effect at start. `ids` may be NULL when `n` is 0.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_set_mntns_filter(g: *const grt_gadget, ids: *const u64, n: usize, enable: u32) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        if enable == 0 {
            g.set_mntns_filter(None);
            return Ok(());
        }
        let v: &[u64] = if n == 0 {
            &[]
        } else if ids.is_null() {
            return Err(null_err("ids"));
        } else {
            // SAFETY: caller provides n readable u64.
            unsafe { std::slice::from_raw_parts(ids, n) }
        };
        g.set_mntns_filter(Some(v));
        Ok(())
    })
}

/// Copies a JSON description of the gadget into `buf`: `{"name", "datasources": [{"name",
/// "type", "tags", "annotations", "fields": [{"name", "kind", "kind_id", "tags",
/// "annotations", "hidden"}]}], "params": [{"key", "side", "description", "defaultValue",
/// "typeHint", "title", "alias", "isMandatory", ...}], "programs": [{"name", "section", "kind",
/// then before the first start "attach" (how it will be attached) or after it "state"
/// (`attached`, `loaded`, `disabled`, `not-attached`) and "target"; "warning" when the
/// program is (or will be) left unattached}]}`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_describe_json(g: *const grt_gadget, buf: *mut c_char, cap: usize, out_len: *mut usize) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let s = g.describe().to_string();
        unsafe { write_out(s.as_bytes(), buf as *mut u8, cap, out_len) }
    })
}

/// Writes the number of (referenced) data sources to `out`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_datasource_count(g: *const grt_gadget, out: *mut usize) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        if out.is_null() {
            return Err(null_err("out"));
        }
        unsafe { *out = g.datasources().len() };
        Ok(())
    })
}

/// Copies the name of data source `index` (0-based, creation order) into `buf`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_datasource_name(
    g: *const grt_gadget,
    index: usize,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let dss = g.datasources();
        let s = dss.get(index).ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no data source at index {index}")))?;
        unsafe { write_out(s.name.as_bytes(), buf as *mut u8, cap, out_len) }
    })
}

/// Field metadata (`grt_gadget_field_info`). Set `size` before the call.
#[repr(C)]
pub struct grt_field_info {
    pub size: usize,
    /// `GRT_KIND_*`.
    pub kind: u32,
    /// Nonzero if the field is hidden by default (`columns.hidden`).
    pub hidden: u32,
    /// Index of the parent field, or `SIZE_MAX` for root fields.
    pub parent: usize,
}

unsafe fn ds_arg<'a>(ds: *const c_char, ds_len: usize) -> Result<&'a str> {
    if ds.is_null() {
        return Err(null_err("datasource"));
    }
    unsafe { str_arg(ds, ds_len, "datasource") }
}

/// Writes the number of fields of data source `ds` to `out`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_field_count(g: *const grt_gadget, ds: *const c_char, ds_len: usize, out: *mut usize) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let ds = unsafe { ds_arg(ds, ds_len)? };
        if out.is_null() {
            return Err(null_err("out"));
        }
        let n = g.schema(ds)?.fields.len();
        unsafe { *out = n };
        Ok(())
    })
}

/// Looks a field up by full name (`parent.child`; exact, then case-insensitive) and writes
/// its index to `out`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_field_index(
    g: *const grt_gadget,
    ds: *const c_char,
    ds_len: usize,
    name: *const c_char,
    name_len: usize,
    out: *mut usize,
) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let ds = unsafe { ds_arg(ds, ds_len)? };
        let n = unsafe { str_arg(name, name_len, "name")? };
        if out.is_null() {
            return Err(null_err("out"));
        }
        let i = g
            .schema(ds)?
            .field_index(n)
            .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("field {n:?} not found in {ds:?}")))?;
        unsafe { *out = i };
        Ok(())
    })
}

/// Copies the full name of field `index` of `ds` into `buf`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_field_name(
    g: *const grt_gadget,
    ds: *const c_char,
    ds_len: usize,
    index: usize,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let ds = unsafe { ds_arg(ds, ds_len)? };
        let s = g.schema(ds)?;
        let f = s.fields.get(index).ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no field at index {index}")))?;
        unsafe { write_out(f.name.as_bytes(), buf as *mut u8, cap, out_len) }
    })
}

/// Writes kind, hidden flag and parent of field `index` of `ds` into `out` (fields within
/// `out->size`).
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_field_info(
    g: *const grt_gadget,
    ds: *const c_char,
    ds_len: usize,
    index: usize,
    out: *mut grt_field_info,
) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let ds = unsafe { ds_arg(ds, ds_len)? };
        let o = unsafe { out.as_mut() }.ok_or_else(|| null_err("out"))?;
        let s = g.schema(ds)?;
        let f = s.fields.get(index).ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no field at index {index}")))?;
        let v = grt_field_info { size: o.size, kind: f.kind, hidden: f.hidden as u32, parent: f.parent.unwrap_or(usize::MAX) };
        let n = o.size.min(std::mem::size_of::<grt_field_info>());
        // SAFETY: copy at most the caller-declared size.
        unsafe { std::ptr::copy_nonoverlapping(&v as *const _ as *const u8, out as *mut u8, n) };
        Ok(())
    })
}

/// Copies the tags of field `index` of `ds`, separated by '\n', into `buf`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_field_tags(
    g: *const grt_gadget,
    ds: *const c_char,
    ds_len: usize,
    index: usize,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let ds = unsafe { ds_arg(ds, ds_len)? };
        let s = g.schema(ds)?;
        let f = s.fields.get(index).ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no field at index {index}")))?;
        unsafe { write_out(f.tags.join("\n").as_bytes(), buf as *mut u8, cap, out_len) }
    })
}

/// Copies the value of annotation `key` of field `index` of `ds` into `buf`;
/// `GRT_ERR_NOT_FOUND` if the field has no such annotation.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_field_annotation(
    g: *const grt_gadget,
    ds: *const c_char,
    ds_len: usize,
    index: usize,
    key: *const c_char,
    key_len: usize,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let ds = unsafe { ds_arg(ds, ds_len)? };
        let k = unsafe { str_arg(key, key_len, "key")? };
        let s = g.schema(ds)?;
        let f = s.fields.get(index).ok_or_else(|| Error::new(ErrorCode::NotFound, format!("no field at index {index}")))?;
        let v = f.annotations.get(k).ok_or_else(|| Error::new(ErrorCode::NotFound, format!("annotation {k:?} not set")))?;
        unsafe { write_out(v.as_bytes(), buf as *mut u8, cap, out_len) }
    })
}

/// Creates a data source owned by the embedder (`GRT_DS_SINGLE` or `GRT_DS_ARRAY`), e.g. to
/// feed container events into the gadget. Allowed in any state; create the ones a guest
/// looks up in `gadgetInit` before `grt_gadget_init`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_add_datasource(g: *const grt_gadget, name: *const c_char, name_len: usize, ds_type: u32) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let n = unsafe { ds_arg(name, name_len)? };
        g.add_datasource(n, ds_type)
    })
}

/// Adds a field of kind `GRT_KIND_*` to data source `ds`; `out_index` (may be NULL) receives
/// its index for `grt_packet_set_*`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_add_field(
    g: *const grt_gadget,
    ds: *const c_char,
    ds_len: usize,
    name: *const c_char,
    name_len: usize,
    kind: u32,
    out_index: *mut usize,
) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let ds = unsafe { ds_arg(ds, ds_len)? };
        let n = unsafe { str_arg(name, name_len, "name")? };
        if name.is_null() {
            return Err(null_err("name"));
        }
        let i = g.add_field(ds, n, kind)?;
        if !out_index.is_null() {
            unsafe { *out_index = i };
        }
        Ok(())
    })
}

/// Adds a tag to field `name` of `ds`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_add_field_tag(
    g: *const grt_gadget,
    ds: *const c_char,
    ds_len: usize,
    name: *const c_char,
    name_len: usize,
    tag: *const c_char,
    tag_len: usize,
) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let ds = unsafe { ds_arg(ds, ds_len)? };
        let n = unsafe { str_arg(name, name_len, "name")? };
        let t = unsafe { str_arg(tag, tag_len, "tag")? };
        g.add_field_tag(ds, n, t)
    })
}

struct Userdata {
    ptr: *mut c_void,
    free: grt_userdata_free_fn,
}
// SAFETY: callbacks only run on the polling thread; the finalizer may run on the thread that
// drops the gadget, as documented.
unsafe impl Send for Userdata {}

impl Drop for Userdata {
    fn drop(&mut self) {
        if let Some(f) = self.free {
            // SAFETY: embedder-provided finalizer, called exactly once.
            unsafe { f(self.ptr) };
        }
    }
}

/// Subscribes the embedder to data source `ds` at `priority` (signed; lower runs first). The
/// callback sees each packet after every subscriber with a lower priority (wasm ones
/// included) has run, and only from inside `grt_gadget_poll`/`grt_gadget_consume` on the
/// polling thread. `userdata` is owned by the gadget from here on (also on error):
/// `userdata_free` (may be NULL) runs once when the subscription is removed or the gadget
/// freed. `out_id` (may be NULL) receives the subscription id.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_subscribe(
    g: *const grt_gadget,
    ds: *const c_char,
    ds_len: usize,
    priority: i32,
    callback: grt_event_fn,
    userdata: *mut c_void,
    userdata_free: grt_userdata_free_fn,
    out_id: *mut u64,
) -> *mut grt_error {
    let ud = Userdata { ptr: userdata, free: userdata_free };
    ffi_try(move || {
        let g = gadget_ref(g)?;
        let ds = unsafe { ds_arg(ds, ds_len)? };
        let cb = callback.ok_or_else(|| null_err("callback"))?;
        let id = g.subscribe(
            ds,
            priority,
            Box::new(move |ev: &Event| {
                let ud = &ud;
                // SAFETY: embedder callback; the event is borrowed for the call.
                unsafe { cb(ud.ptr, ev as *const Event as *const grt_event) }
            }),
        )?;
        if !out_id.is_null() {
            unsafe { *out_id = id };
        }
        Ok(())
    })
}

/// Removes an embedder subscription (its userdata finalizer runs). Queued events for it are
/// discarded. Must not be called from inside that subscription's own callback.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_unsubscribe(g: *const grt_gadget, id: u64) -> *mut grt_error {
    ffi_try(|| gadget_ref(g)?.unsubscribe(id))
}

fn poll_result(r: Result<i64>) -> i64 {
    match r {
        Ok(n) => n,
        Err(e) => -(e.code as i64),
    }
}

/// Waits up to `timeout_ms` (negative: forever; 0: no wait) for events, then dispatches every
/// queued event to its callback on this thread. Returns the number dispatched (>= 0), the
/// first negative callback result (remaining events stay queued; use values <= -1000 in
/// callbacks to tell them apart from errors), or `-GRT_ERR_*`
/// (`-GRT_ERR_BUSY` if another thread is polling, `-GRT_ERR_NULL_PARAMETER`). Returns early
/// once the gadget stopped and the queue is empty.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_poll(g: *const grt_gadget, timeout_ms: i32) -> i64 {
    ffi_value(-(ErrorCode::Panic as i64), || {
        let g = match gadget_ref(g) {
            Ok(g) => g,
            Err(e) => return -(e.code as i64),
        };
        let t = (timeout_ms >= 0).then(|| Duration::from_millis(timeout_ms as u64));
        poll_result(g.poll(t))
    })
}

/// Dispatches queued events without waiting; same results as `grt_gadget_poll`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_consume(g: *const grt_gadget) -> i64 {
    unsafe { grt_gadget_poll(g, 0) }
}

/// An eventfd that is readable while events are queued, for the embedder's epoll loop (then
/// call `grt_gadget_consume`). Owned by the gadget: do not close it. -1 if `g` is NULL.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_event_fd(g: *const grt_gadget) -> i32 {
    ffi_value(-1, || gadget_ref(g).map(|g| g.event_fd()).unwrap_or(-1))
}

/// Writes the gadget's statistics into `out` (fields within `out->size`). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_get_stats(g: *const grt_gadget, out: *mut grt_gadget_stats) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let o = unsafe { out.as_mut() }.ok_or_else(|| null_err("out"))?;
        if o.size < std::mem::size_of::<usize>() {
            return Err(Error::new(ErrorCode::InvalidArgument, "out->size is not set"));
        }
        let s = g.stats();
        let v = grt_gadget_stats {
            size: o.size,
            delivered: s.delivered,
            dropped_queue_full: s.dropped_queue_full,
            guest_traps: s.guest_traps,
            dropped_nested: s.dropped_nested,
            lost_samples: s.lost_samples,
            queued: s.queued,
        };
        let n = o.size.min(std::mem::size_of::<grt_gadget_stats>());
        // SAFETY: copy at most the caller-declared size.
        unsafe { std::ptr::copy_nonoverlapping(&v as *const _ as *const u8, out as *mut u8, n) };
        Ok(())
    })
}

/// Writes the number of samples the kernel side lost for data source `ds` to `out`.
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_datasource_lost(g: *const grt_gadget, ds: *const c_char, ds_len: usize, out: *mut u64) -> *mut grt_error {
    ffi_try(|| {
        let g = gadget_ref(g)?;
        let ds = unsafe { ds_arg(ds, ds_len)? };
        if out.is_null() {
            return Err(null_err("out"));
        }
        g.schema(ds)?;
        let n = g.lost_by_datasource().into_iter().find(|(n, _)| n == ds).map(|(_, v)| v).unwrap_or(0);
        unsafe { *out = n };
        Ok(())
    })
}
