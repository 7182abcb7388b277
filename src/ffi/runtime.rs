//! `grt_runtime`: runtime options and creation.

use std::os::raw::{c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

use super::{ffi_try, ffi_value, null_err, str_arg, grt_error};
use crate::error::{Error, ErrorCode};
use crate::events::LogLevel;
use crate::runtime::{Runtime, RuntimeOptions};

/// A runtime (wasm engine, host imports, options). Reference-counted and thread-safe: a
/// `const grt_runtime *` may be used from any thread concurrently.
pub struct grt_runtime {
    _private: [u8; 0],
}

/// Log levels (`grt_runtime_options.log_level`, `grt_log_params.level`). 0 in the options
/// means the default (`GRT_LOG_INFO`).
pub const GRT_LOG_DEFAULT: u32 = 0;
pub const GRT_LOG_ERROR: u32 = 1;
pub const GRT_LOG_WARN: u32 = 2;
pub const GRT_LOG_INFO: u32 = 3;
pub const GRT_LOG_DEBUG: u32 = 4;
pub const GRT_LOG_TRACE: u32 = 5;

/// One log message, borrowed for the duration of the log callback.
#[repr(C)]
pub struct grt_log_params {
    /// `sizeof(grt_log_params)` as known to the library.
    pub size: usize,
    /// `GRT_LOG_*`.
    pub level: u32,
    /// Name of the gadget that logged (may be empty), UTF-8, not NUL-terminated.
    pub gadget: *const c_char,
    pub gadget_len: usize,
    /// The message, UTF-8, not NUL-terminated.
    pub message: *const c_char,
    pub message_len: usize,
}

/// Log callback. Called on the thread that made the gadgetrt call producing the message
/// (for eBPF reader messages: the reader thread), so `userdata` must be thread-safe.
/// Must not unwind (C++ exceptions, Go panics must be caught inside).
pub type grt_log_fn = Option<unsafe extern "C" fn(userdata: *mut c_void, params: *const grt_log_params)>;

/// Finalizer for a userdata pointer; called exactly once when the library drops it.
pub type grt_userdata_free_fn = Option<unsafe extern "C" fn(userdata: *mut c_void)>;

/// Runtime options. Initialise with `GRT_RUNTIME_OPTIONS_INIT` (which sets `size`); zero
/// values mean "default". Older, smaller structs are accepted; a larger struct whose unknown
/// tail is not all zero is rejected.
#[repr(C)]
pub struct grt_runtime_options {
    /// `sizeof(grt_runtime_options)`.
    pub size: usize,
    /// Linear-memory cap per gadget in 64 KiB pages (default 256 = 16 MiB).
    pub memory_pages: u32,
    /// Most verbose `GRT_LOG_*` level passed to `log_fn` (default `GRT_LOG_INFO`; the
    /// default applies when `log_fn` is NULL too).
    pub log_level: u32,
    /// Capacity of each gadget's event queue (default 65536 events).
    pub queue_capacity: u32,
    /// Deadline of guest calls (init, start, callbacks) in ms (default 10000).
    pub call_timeout_ms: u32,
    /// Deadline of `gadgetStop` in ms (default 42000).
    pub stop_timeout_ms: u32,
    /// Nonzero disables the on-disk compiled-module cache.
    pub disable_cache: u32,
    /// Directory of the compiled-module cache (UTF-8, `cache_dir_len` bytes); NULL or empty =
    /// default (`$GADGETRT_CACHE_DIR`, else a system or user cache directory). It must be an
    /// absolute path; the directory must belong to the current user and not be writable by
    /// group or others (else `grt_runtime_new` fails), and its entries are authenticated
    /// with a key kept (mode 0600) in the directory before native code is loaded.
    pub cache_dir: *const c_char,
    pub cache_dir_len: usize,
    /// Log sink (NULL: logs are discarded).
    pub log_fn: grt_log_fn,
    pub log_userdata: *mut c_void,
    /// Called once with `log_userdata` when the runtime is freed (may be NULL).
    pub log_userdata_free: grt_userdata_free_fn,
    /// Per-gadget resource budget (0 = default for each field). Total bytes of BPF maps
    /// and perf buffers of the gadget's eBPF object and of those the guest creates with
    /// `newMap`/`newPerfReader` (default 256 MiB); beyond it the import fails, and an object
    /// over what is left fails to load (`GRT_ERR_EBPF`) before any map is created. Released
    /// maps and readers return their bytes.
    pub map_bytes: u64,
    /// Bytes the host keeps for the guest: names, tags, config, packets pending delivery
    /// (default 64 MiB).
    pub host_bytes: u64,
    /// Bytes of events waiting in a gadget's event queue (default 48 MiB; raw eBPF records
    /// awaiting the operators are held to a third of it besides: 64 MiB in all); events beyond
    /// are dropped and counted as `dropped_queue_full`.
    pub queue_bytes: u64,
    /// Largest wasm program in bytes (default 64 MiB).
    pub module_bytes: u64,
    /// Most maps (the eBPF object's and the guest's), inner-map fds and perf readers held at
    /// once (default 64).
    pub map_count: u32,
    /// Most tables of a wasm program (default 4; memories are limited to one).
    pub tables: u32,
    /// Most elements of one table (default 1000000).
    pub table_elements: u32,
    /// Most functions (imported + defined) of a wasm program (default 200000).
    pub module_functions: u32,
    /// Deadline of compiling a wasm program in ms (default 60000). On timeout
    /// `grt_gadget_open_*` fails with `GRT_ERR_TIMEOUT`; the compilation cannot be cancelled,
    /// ends on a background thread, and until then further compilations of this runtime fail
    /// with `GRT_ERR_BUSY`.
    pub compile_timeout_ms: u32,
    /// Largest string/bytes value the guest's `fieldSet` accepts (default 1 MiB).
    pub field_value_bytes: u32,
    /// Most data sources a gadget may ever create (default 256).
    pub datasources: u32,
    /// Most packets delivered by one emission cascade (callbacks emitting into data sources
    /// whose callbacks emit, ...; default 65536); the cascade also ends at the call deadline.
    pub cascade_packets: u32,
    /// Nonzero: this runtime's gadgets do not use built-in container discovery (Docker);
    /// they see only the containers added with `grt_runtime_add_container`.
    /// (`GADGETRT_CONTAINER_RUNTIMES=none` turns discovery off for the whole process.)
    pub disable_container_discovery: u32,
    /// Overall deadline of `grt_gadget_start` in ms (default 30000): init when still due,
    /// `gadgetPreStart`, loading and attaching the eBPF object, `gadgetStart` and the
    /// emissions they cause. Guest code running when it passes is interrupted, no further
    /// guest call is made, and start fails with `GRT_ERR_TIMEOUT`. The kernel's loading of
    /// the eBPF object cannot be interrupted; the deadline is checked after it.
    pub start_deadline_ms: u32,
    /// Overall deadline of `grt_gadget_stop` in ms (default 45000): `gadgetStop` (itself
    /// bounded by `stop_timeout_ms`), closing what the guest holds, `gadgetPostStop`. Guest
    /// code running when it passes is interrupted and `gadgetPostStop` is not called; every
    /// host object is closed whatever the guest does, and stop fails with `GRT_ERR_TIMEOUT`.
    pub stop_deadline_ms: u32,
    /// Smallest size of an eBPF tracer's ring buffer in bytes (0: default 4 MiB): rings a
    /// gadget declares smaller (IG's gadgets mostly declare 256 KiB) are created with this
    /// size, rounded up to a power of two of pages, so bursts and late reader wake-ups are not
    /// lost samples; it counts in `map_bytes`. The page size (4096) keeps the gadgets' sizes.
    pub min_ring_bytes: u64,
}

/// A container the embedder supplies (`grt_runtime_add_container`). Initialise with
/// `GRT_CONTAINER_INFO_INIT` (which sets `size`); zero/empty fields are left empty, except
/// `mntns`, `netns` and `started_at_ns`, which are read from `/proc/<pid>` when `pid` is
/// given. Strings are UTF-8 (pointer, length); NULL only with length 0. Older, smaller
/// structs are accepted; a larger struct whose unknown tail is not all zero is rejected.
#[repr(C)]
pub struct grt_container_info {
    /// `sizeof(grt_container_info)`.
    pub size: usize,
    /// Container id (required, unique per runtime): `runtime.containerId`.
    pub id: *const c_char,
    pub id_len: usize,
    /// `runtime.containerName`; matched by the `containername` selector.
    pub name: *const c_char,
    pub name_len: usize,
    /// `runtime.runtimeName` (e.g. `containerd`).
    pub runtime: *const c_char,
    pub runtime_len: usize,
    /// `runtime.containerImageName`.
    pub image: *const c_char,
    pub image_len: usize,
    /// Image id (`sha256:…`), matched by `runtime-containerimage-id` (not an output field).
    pub image_id: *const c_char,
    pub image_id_len: usize,
    /// `runtime.containerImageDigest`, matched by `runtime-containerimage-digest`.
    pub image_digest: *const c_char,
    pub image_digest_len: usize,
    /// The container's init pid in the host pid namespace (`runtime.containerPid`).
    pub pid: u32,
    /// Inode of the container's mount namespace (0: from `/proc/<pid>/ns/mnt`).
    pub mntns: u64,
    /// Inode of the container's network namespace (0: from `/proc/<pid>/ns/net`).
    pub netns: u64,
    /// `runtime.containerStartedAt` in ns since the epoch (0: mtime of `/proc/<pid>`, as IG).
    pub started_at_ns: i64,
    /// `k8s.node`.
    pub k8s_node: *const c_char,
    pub k8s_node_len: usize,
    /// `k8s.namespace`, matched by `k8s-namespace`.
    pub k8s_namespace: *const c_char,
    pub k8s_namespace_len: usize,
    /// `k8s.podName`, matched by `k8s-podname`.
    pub k8s_pod: *const c_char,
    pub k8s_pod_len: usize,
    /// `k8s.containerName`, matched by `k8s-containername`.
    pub k8s_container: *const c_char,
    pub k8s_container_len: usize,
    /// Pod labels as `k=v,k=v` (`k8s.podLabels`, matched by `k8s-selector`).
    pub k8s_pod_labels: *const c_char,
    pub k8s_pod_labels_len: usize,
    /// `k8s.owner.kind` and `k8s.owner.name`.
    pub k8s_owner_kind: *const c_char,
    pub k8s_owner_kind_len: usize,
    pub k8s_owner_name: *const c_char,
    pub k8s_owner_name_len: usize,
}

struct LogSink {
    f: unsafe extern "C" fn(*mut c_void, *const grt_log_params),
    userdata: *mut c_void,
    free: grt_userdata_free_fn,
}
// SAFETY: the C API documents that log userdata must be usable from any thread.
unsafe impl Send for LogSink {}
unsafe impl Sync for LogSink {}

impl Drop for LogSink {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: finalizer provided by the embedder, called exactly once.
            unsafe { free(self.userdata) };
        }
    }
}

pub(crate) fn runtime_ref<'a>(rt: *const grt_runtime) -> crate::Result<&'a Runtime> {
    // SAFETY: non-NULL pointers come from grt_runtime_new (Arc::into_raw) and stay valid
    // until grt_runtime_free.
    unsafe { (rt as *const Runtime).as_ref() }.ok_or_else(|| null_err("runtime"))
}

/// Takes ownership of the log userdata first, so its finalizer runs on every path.
fn take_sink(o: &grt_runtime_options) -> Option<Arc<LogSink>> {
    let has = std::mem::offset_of!(grt_runtime_options, log_userdata_free) + std::mem::size_of::<grt_userdata_free_fn>() <= o.size;
    if !has {
        return None;
    }
    match o.log_fn {
        Some(f) => Some(Arc::new(LogSink { f, userdata: o.log_userdata, free: o.log_userdata_free })),
        None => {
            if let Some(free) = o.log_userdata_free {
                // SAFETY: embedder finalizer; no callback will ever use the userdata.
                unsafe { free(o.log_userdata) };
            }
            None
        }
    }
}

fn options(o: &grt_runtime_options, sink: Option<Arc<LogSink>>) -> crate::Result<RuntimeOptions> {
    let mut r = RuntimeOptions::default();
    super::check_size_prefix(o, o.size, "options", "GRT_RUNTIME_OPTIONS_INIT", "options struct")?;
    macro_rules! has {
        ($f:ident) => {
            std::mem::offset_of!(grt_runtime_options, $f) + std::mem::size_of_val(&o.$f) <= o.size
        };
    }
    if has!(memory_pages) && o.memory_pages != 0 {
        r.memory_pages = o.memory_pages;
    }
    if has!(log_level) && o.log_level != 0 {
        if o.log_level > GRT_LOG_TRACE {
            return Err(Error::new(ErrorCode::InvalidArgument, format!("invalid log level {}", o.log_level)));
        }
        r.log_level = LogLevel::from_u32(o.log_level - 1);
    }
    if has!(queue_capacity) && o.queue_capacity != 0 {
        r.queue_capacity = o.queue_capacity as usize;
    }
    if has!(call_timeout_ms) && o.call_timeout_ms != 0 {
        r.call_timeout = Duration::from_millis(o.call_timeout_ms as u64);
    }
    if has!(stop_timeout_ms) && o.stop_timeout_ms != 0 {
        r.stop_timeout = Duration::from_millis(o.stop_timeout_ms as u64);
    }
    if has!(start_deadline_ms) && o.start_deadline_ms != 0 {
        r.start_deadline = Duration::from_millis(o.start_deadline_ms as u64);
    }
    if has!(stop_deadline_ms) && o.stop_deadline_ms != 0 {
        r.stop_deadline = Duration::from_millis(o.stop_deadline_ms as u64);
    }
    {
        let l = &mut r.limits;
        macro_rules! lim {
            ($f:ident, $dst:expr) => {
                if has!($f) && o.$f != 0 {
                    $dst = o.$f.into();
                }
            };
        }
        lim!(map_bytes, l.map_bytes);
        lim!(host_bytes, l.host_bytes);
        lim!(queue_bytes, l.queue_bytes);
        lim!(module_bytes, l.module_bytes);
        lim!(map_count, l.map_count);
        lim!(tables, l.tables);
        lim!(table_elements, l.table_elements);
        lim!(module_functions, l.module_functions);
        lim!(field_value_bytes, l.field_value_bytes);
        lim!(datasources, l.datasources);
        lim!(cascade_packets, l.cascade_packets);
        if has!(compile_timeout_ms) && o.compile_timeout_ms != 0 {
            l.compile_timeout = Duration::from_millis(o.compile_timeout_ms as u64);
        }
    }
    if has!(disable_cache) {
        r.disable_cache = o.disable_cache != 0;
    }
    if has!(min_ring_bytes) && o.min_ring_bytes != 0 {
        r.min_ring_bytes = o.min_ring_bytes;
    }
    if has!(disable_container_discovery) {
        r.container_discovery = o.disable_container_discovery == 0;
    }
    if has!(cache_dir_len) && !o.cache_dir.is_null() && o.cache_dir_len != 0 {
        // SAFETY: ptr+len provided by the caller.
        let d = unsafe { str_arg(o.cache_dir, o.cache_dir_len, "cache_dir")? };
        r.cache_dir = Some(d.into());
    }
    {
        if let Some(sink) = sink {
            r.log = Some(Arc::new(move |level: LogLevel, gadget: &str, msg: &str| {
                let p = grt_log_params {
                    size: std::mem::size_of::<grt_log_params>(),
                    level: level as u32 + 1,
                    gadget: gadget.as_ptr() as *const c_char,
                    gadget_len: gadget.len(),
                    message: msg.as_ptr() as *const c_char,
                    message_len: msg.len(),
                };
                // SAFETY: callback and userdata provided by the embedder; params live for the call.
                unsafe { (sink.f)(sink.userdata, &p) };
            }));
        }
    }
    Ok(r)
}

/// Creates a runtime.
///
/// - `opts`: borrowed; NULL means all defaults. The log userdata is owned by the runtime from
///   here on (its finalizer runs when the last reference is dropped), also on error.
/// - `out`: receives the new runtime on success; free it with `grt_runtime_free`.
///
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn grt_runtime_new(opts: *const grt_runtime_options, out: *mut *const grt_runtime) -> *mut grt_error {
    ffi_try(|| {
        if out.is_null() {
            return Err(null_err("out"));
        }
        // SAFETY: opts is NULL or points to a caller-initialised struct of `size` bytes.
        let o = match unsafe { opts.as_ref() } {
            Some(o) => {
                let sink = take_sink(o);
                options(o, sink)?
            }
            None => RuntimeOptions::default(),
        };
        let rt = Runtime::new(o)?;
        // SAFETY: out checked non-NULL.
        unsafe { *out = Arc::into_raw(Arc::new(rt)) as *const grt_runtime };
        Ok(())
    })
}

/// Takes another reference to the runtime and returns it (the same pointer; NULL for NULL).
/// Release each reference with `grt_runtime_free`; the runtime lives until the last one is
/// freed (its gadgets hold references too). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn grt_runtime_ref(rt: *const grt_runtime) -> *const grt_runtime {
    ffi_value(std::ptr::null(), || {
        if !rt.is_null() {
            // SAFETY: from Arc::into_raw in grt_runtime_new and still referenced by the caller.
            unsafe { Arc::increment_strong_count(rt as *const Runtime) };
        }
        rt
    })
}

/// Releases the caller's reference to a runtime. Gadgets keep their runtime alive, so it is
/// fine to free the runtime before its gadgets. NULL is a no-op; freeing a reference twice is
/// undefined; a reference must not be freed while another call using that same reference
/// runs (take one per thread with `grt_runtime_ref`). Thread-safe for distinct references.
#[no_mangle]
pub unsafe extern "C" fn grt_runtime_free(rt: *const grt_runtime) {
    ffi_value((), || {
        if !rt.is_null() {
            // SAFETY: from Arc::into_raw in grt_runtime_new, released once.
            drop(unsafe { Arc::from_raw(rt as *const Runtime) });
        }
    })
}

/// Parses `k=v,k=v` pod labels (IG's `k8s.podLabels` format); empty parts are skipped.
fn parse_labels(s: &str) -> crate::Result<std::collections::BTreeMap<String, String>> {
    let mut m = std::collections::BTreeMap::new();
    for kv in s.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, format!("k8s_pod_labels: {kv:?} is not k=v")))?;
        m.insert(k.to_string(), v.to_string());
    }
    Ok(m)
}

fn container_info(o: &grt_container_info) -> crate::Result<crate::containers::Container> {
    super::check_size_prefix(o, o.size, "info", "GRT_CONTAINER_INFO_INIT", "container info")?;
    macro_rules! has {
        ($f:ident) => {
            std::mem::offset_of!(grt_container_info, $f) + std::mem::size_of_val(&o.$f) <= o.size
        };
    }
    macro_rules! text {
        ($p:ident, $l:ident) => {
            if has!($l) {
                // SAFETY: ptr+len provided by the caller.
                unsafe { str_arg(o.$p, o.$l, stringify!($p))? }.to_string()
            } else {
                String::new()
            }
        };
    }
    let mut c = crate::containers::Container {
        id: text!(id, id_len),
        name: text!(name, name_len),
        runtime: text!(runtime, runtime_len),
        image_name: text!(image, image_len),
        image_id: text!(image_id, image_id_len),
        image_digest: text!(image_digest, image_digest_len),
        k8s_node: text!(k8s_node, k8s_node_len),
        k8s_namespace: text!(k8s_namespace, k8s_namespace_len),
        k8s_pod: text!(k8s_pod, k8s_pod_len),
        k8s_container: text!(k8s_container, k8s_container_len),
        k8s_owner_kind: text!(k8s_owner_kind, k8s_owner_kind_len),
        k8s_owner_name: text!(k8s_owner_name, k8s_owner_name_len),
        ..Default::default()
    };
    c.pod_labels = parse_labels(&text!(k8s_pod_labels, k8s_pod_labels_len))?;
    if has!(pid) {
        c.pid = o.pid;
    }
    if has!(mntns) {
        c.mntns = o.mntns;
    }
    if has!(netns) {
        c.netns = o.netns;
    }
    if has!(started_at_ns) {
        c.started_at = o.started_at_ns;
    }
    Ok(c)
}

/// Adds (or replaces, by id) a container the embedder knows, for the gadgets of this
/// runtime: events from its mount namespace (else its network namespace) carry its
/// `runtime.*` and `k8s.*` fields (the `k8s.*` ones stay hidden in text output, as in IG
/// outside Kubernetes, but are filled), the container selectors (`containername`, `k8s-*`,
/// ...) match it, and the `containers` data source reports it — in gadgets already running
/// too. It stays until `grt_runtime_remove_container` or until the runtime is freed.
///
/// - `info`: borrowed for the call. `id` is required; with `pid` nonzero, zero
///   `mntns`/`netns`/`started_at_ns` are read from `/proc/<pid>` (`GRT_ERR_NOT_FOUND` if the
///   process is gone); without a pid, `mntns` or `netns` must be given.
///
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn grt_runtime_add_container(rt: *const grt_runtime, info: *const grt_container_info) -> *mut grt_error {
    ffi_try(|| {
        let rt = runtime_ref(rt)?;
        // SAFETY: info is NULL or points to a caller-initialised struct of `size` bytes.
        let info = unsafe { info.as_ref() }.ok_or_else(|| null_err("info"))?;
        rt.add_container(container_info(info)?)
    })
}

/// Removes a container added with `grt_runtime_add_container` (`GRT_ERR_NOT_FOUND` if this
/// runtime has none with this id). Running gadgets with a `containers` data source get a
/// `DELETED` event; events already in flight are still enriched for 2 s (as IG).
///
/// - `id`: UTF-8, `id_len` bytes, borrowed for the call.
///
/// Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn grt_runtime_remove_container(rt: *const grt_runtime, id: *const c_char, id_len: usize) -> *mut grt_error {
    ffi_try(|| {
        let rt = runtime_ref(rt)?;
        // SAFETY: ptr+len provided by the caller.
        let id = unsafe { str_arg(id, id_len, "id")? };
        rt.remove_container(id)
    })
}

/// Sets a process-wide container discovery option, by `ig run`'s flag name (used by discovery
/// started afterwards: the first gadget that needs containers starts it):
///
/// - `runtimes`: comma list of `docker`, `containerd`, `cri-o`, `podman`, or `none`
///   (default: all; `cri-o` is accepted but not discovered);
/// - `docker-socketpath`, `containerd-socketpath`, `podman-socketpath`: socket paths (under
///   `$HOST_ROOT`, as ig); containerd's task state is read next to its socket;
/// - `containerd-namespace`: only this containerd namespace (default: all but Docker's `moby`).
///
/// An empty value restores the default. `GRT_ERR_PARAM` for an unknown key or runtime.
/// `key`, `value`: UTF-8, borrowed for the call. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn grt_set_container_discovery_option(
    key: *const c_char,
    key_len: usize,
    value: *const c_char,
    value_len: usize,
) -> *mut grt_error {
    ffi_try(|| {
        // SAFETY: ptr+len pairs provided by the caller.
        let key = unsafe { str_arg(key, key_len, "key")? };
        // SAFETY: as above.
        let value = unsafe { str_arg(value, value_len, "value")? };
        crate::containers::set_discovery_option(key, value).map_err(|e| Error::new(ErrorCode::Param, e))
    })
}
