//! A runtime: one wasmtime `Engine` (with an epoch ticker for guest deadlines), the `ig` +
//! WASI linker shared by all its gadgets, and runtime-wide options.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::{Config, Engine, Linker, Module};

use crate::error::{Error, ErrorCode, Result};
use crate::events::{LogFn, LogLevel, Logger};
use crate::host::{self, HostState};

/// How often the engine's epoch advances; the granularity of guest deadlines.
const EPOCH_TICK: Duration = Duration::from_millis(2);

/// Runtime-wide options.
#[derive(Clone)]
pub struct RuntimeOptions {
    /// Linear-memory cap per gadget, in 64 KiB pages (default 256 = 16 MiB).
    pub memory_pages: u32,
    /// Directory of the compiled-module cache; `None` or empty uses the default location.
    /// It must be absolute, owned by the current user and not group/world-writable
    /// (`Runtime::new` fails otherwise); entries are authenticated (keyed BLAKE3 MAC, key kept mode 0600
    /// in the directory) before native code is loaded.
    pub cache_dir: Option<PathBuf>,
    /// Disables the compiled-module cache.
    pub disable_cache: bool,
    /// Most verbose level passed to the log sink.
    pub log_level: LogLevel,
    /// Where gadget and runtime logs go (`None`: discarded).
    pub log: Option<Arc<LogFn>>,
    /// Capacity of each gadget's embedder event queue.
    pub queue_capacity: usize,
    /// Deadline of each guest call (init, start, callbacks).
    pub call_timeout: Duration,
    /// Deadline of `gadgetStop` (the reference host uses 42 s).
    pub stop_timeout: Duration,
    /// Overall deadline of [`crate::Gadget::start`] (default 30 s): init when still due,
    /// `gadgetPreStart`, loading and attaching the eBPF object, `gadgetStart` and the
    /// emissions they cause. Guest code running when it passes is interrupted, no further
    /// guest call is made, and start fails with `ErrorCode::Timeout`. (The kernel's work of
    /// loading the eBPF object cannot be interrupted; the deadline is checked after it.)
    pub start_deadline: Duration,
    /// Overall deadline of [`crate::Gadget::stop`] (default 45 s): `gadgetStop` (itself
    /// bounded by `stop_timeout`), closing what the guest holds, and `gadgetPostStop`.
    /// Guest code running when it passes is interrupted; `gadgetPostStop` is not called
    /// once it passed; everything is closed whatever the guest does, and stop returns
    /// `ErrorCode::Timeout`.
    pub stop_deadline: Duration,
    /// The per-gadget resource budget.
    pub limits: Limits,
    /// Whether this runtime's gadgets see the containers found by built-in discovery
    /// (Docker's Engine API; see `crate::containers`). Default true. When false, gadgets
    /// see only the containers supplied with [`Runtime::add_container`], and discovery is
    /// not started for them. (`GADGETRT_CONTAINER_RUNTIMES=none` turns discovery off for
    /// the whole process.)
    pub container_discovery: bool,
    /// Smallest size of an eBPF tracer's ring buffer, in bytes (default 4 MiB): a gadget's
    /// ring declared smaller (IG's gadgets mostly declare 256 KiB) is created with this size,
    /// rounded up to a power of two of pages, so that a burst or a late wake-up of the reader
    /// is absorbed instead of counted as lost samples; larger rings keep their size. It counts
    /// in [`Limits::map_bytes`]. The page size keeps every gadget's own sizes.
    pub min_ring_bytes: u64,
}

/// The resource budget of one gadget. Exceeding a guest-driven figure makes the import fail
/// (the guest sees its error value and a warning is logged); exceeding a load-time figure makes
/// open/init fail. The defaults keep one hostile gadget well inside a 2-core / 24 GiB host:
/// at most about 16 MiB guest memory + 8 MiB table + 256 MiB kernel map memory + 64 MiB of
/// host bytes held for the guest + 64 MiB of events (48 MiB queued + 16 MiB raw eBPF records).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes of BPF maps and perf buffers of the gadget's eBPF object and of those the
    /// guest creates (`newMap` and the object's maps: (key + value) × max_entries, × possible
    /// CPUs for per-CPU maps, max_entries for ring buffers, the section size for
    /// `.bss`/`.data`/`.rodata`; `newPerfReader` and perf-event-array tracers: (buffer pages +
    /// 1) × page × possible CPUs). An object over what is left fails to load before any map is
    /// created. Default 256 MiB.
    pub map_bytes: u64,
    /// Most kernel objects held at once: the object's maps (inner-map templates included),
    /// maps from `newMap`, inner maps opened by `mapLookup`, perf readers. Default 64.
    pub map_count: u32,
    /// Most tables of a module (default 4). Memories are always limited to one
    /// (multi-memory is disabled).
    pub tables: u32,
    /// Most elements of one table (default 1,000,000: 8 MiB of references).
    pub table_elements: u32,
    /// Largest wasm program accepted, in bytes (default 64 MiB).
    pub module_bytes: u64,
    /// Most functions (imported + defined) of a wasm program (default 200,000).
    pub module_functions: u32,
    /// Deadline of compiling a wasm program (default 60 s). On timeout `open` fails; the
    /// compilation cannot be cancelled and finishes on its worker thread in the background,
    /// and while it runs further compilations of this runtime are refused (so at most one
    /// abandoned compilation exists per runtime).
    pub compile_timeout: Duration,
    /// Total bytes the host keeps on the guest's behalf: data-source and field names, field
    /// tags, config keys and values, packets emitted from guest code and waiting for
    /// delivery. Default 64 MiB.
    pub host_bytes: u64,
    /// Largest string/bytes value `fieldSet` accepts (default 1 MiB).
    pub field_value_bytes: u32,
    /// Most data sources a gadget may ever create (guest, embedder and eBPF side together;
    /// unreferenced ones still count). Default 256.
    pub datasources: u32,
    /// Most packets delivered in one emission cascade (a callback emitting, whose emit runs
    /// callbacks that emit, ...). Its deadline is the guest-call deadline. Default 65,536.
    pub cascade_packets: u32,
    /// Most bytes of events waiting in the embedder queue (default 48 MiB); events beyond
    /// are dropped and counted like a full queue. Raw eBPF records read from the kernel and
    /// waiting for the operators are held to a third of it besides (16 MiB by default, so
    /// 64 MiB in all); records beyond are counted as lost samples.
    pub queue_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            map_bytes: 256 << 20,
            map_count: 64,
            tables: 4,
            table_elements: 1_000_000,
            module_bytes: 64 << 20,
            module_functions: 200_000,
            compile_timeout: Duration::from_secs(60),
            host_bytes: 64 << 20,
            field_value_bytes: 1 << 20,
            datasources: 256,
            cascade_packets: 65536,
            queue_bytes: 48 << 20,
        }
    }
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            memory_pages: 256,
            cache_dir: None,
            disable_cache: false,
            log_level: LogLevel::Info,
            log: None,
            queue_capacity: 65536,
            call_timeout: Duration::from_secs(10),
            stop_timeout: Duration::from_secs(42),
            start_deadline: Duration::from_secs(30),
            stop_deadline: Duration::from_secs(45),
            limits: Limits::default(),
            container_discovery: true,
            min_ring_bytes: 4 << 20,
        }
    }
}

pub(crate) struct RuntimeInner {
    pub engine: Engine,
    pub linker: Linker<HostState>,
    /// Winch (baseline compiler) engine and its linker: on a module-cache miss the program is
    /// compiled by Winch first (a Go module in a fraction of a second) so the gadget starts at
    /// once, while Cranelift compiles the optimised module in the background into the cache,
    /// where the next start finds it. `None` without a cache or where Winch is unavailable.
    pub baseline: Option<(Engine, Linker<HostState>)>,
    /// The engine of background compilations: the optimising configuration on one thread
    /// (same compatibility hash, so its modules load into `engine`), run at a lower CPU
    /// priority so the starting gadget keeps the CPU.
    background_engine: Option<Engine>,
    /// Background Cranelift compilations (see `baseline`), with their module's key.
    background: Mutex<Vec<(String, std::thread::JoinHandle<()>)>>,
    /// The compiled modules of the open gadgets, by program (`cache_key`): a gadget of a
    /// program already open shares its module (compiled code and memory image) instead of
    /// compiling or deserialising its own copy. Weak: a module is freed with its last gadget.
    modules: Mutex<HashMap<String, SharedModule>>,
    pub opts: RuntimeOptions,
    pub logger: Arc<Logger>,
    pub cache: Option<crate::image::cache::ModuleCache>,
    ticker_stop: Arc<AtomicBool>,
    /// Compilations that exceeded their deadline and still run on their worker thread.
    abandoned: Arc<std::sync::atomic::AtomicUsize>,
    /// Process-unique id: the key of the containers this runtime's embedder supplied.
    id: u64,
}

impl Drop for RuntimeInner {
    fn drop(&mut self) {
        self.ticker_stop.store(true, Ordering::Relaxed);
        crate::containers::Collection::global().remove_source(crate::containers::Source::Embedder(self.id));
    }
}

/// A gadget runtime. Cheap to clone; thread-safe.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

impl Runtime {
    pub fn new(opts: RuntimeOptions) -> Result<Runtime> {
        if opts.memory_pages == 0 || opts.memory_pages > 65536 {
            return Err(Error::new(ErrorCode::InvalidArgument, "memory_pages must be between 1 and 65536"));
        }
        crate::ebpf::kernel_btf::fix_trim_threshold();
        let mut cfg = base_config();
        cfg.cranelift_opt_level(wasmtime::OptLevel::Speed);
        let engine = Engine::new(&cfg).map_err(|e| Error::new(ErrorCode::Internal, format!("wasmtime engine: {e:#}")))?;
        let mut linker = Linker::new(&engine);
        host::add_to_linker(&mut linker)
            .map_err(|e| Error::new(ErrorCode::Internal, format!("registering host imports: {e:#}")))?;
        let ticker_stop = Arc::new(AtomicBool::new(false));
        let baseline = if opts.disable_cache || std::env::var_os("GADGETRT_NO_BASELINE").is_some() {
            None
        } else {
            baseline_engine()
        };
        {
            let engine = engine.clone();
            let engine2 = baseline.as_ref().map(|b| b.0.clone());
            let stop = ticker_stop.clone();
            std::thread::Builder::new()
                .name("gadgetrt-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(EPOCH_TICK);
                        engine.increment_epoch();
                        if let Some(e) = &engine2 {
                            e.increment_epoch();
                        }
                    }
                })
                .map_err(|e| Error::new(ErrorCode::Io, format!("starting the epoch thread: {e}")))?;
        }
        let logger = Arc::new(Logger::new(opts.log_level, opts.log.clone()));
        let cache = if opts.disable_cache {
            None
        } else {
            use crate::image::cache::ModuleCache;
            match opts.cache_dir.as_ref().filter(|d| !d.as_os_str().is_empty()) {
                // An explicit directory must be usable: refusing it is an error.
                Some(d) => Some(ModuleCache::open(d.clone()).map_err(|e| {
                    Error::new(ErrorCode::InvalidArgument, format!("compiled-module cache: {e}"))
                })?),
                // The default one is best effort: without it, modules are compiled each time.
                None => match ModuleCache::open(ModuleCache::default_dir()) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        logger.log(LogLevel::Warn, "", &format!("compiled-module cache disabled: {e}"));
                        None
                    }
                },
            }
        };
        let abandoned = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Ok(Runtime { inner: Arc::new(RuntimeInner {
            engine,
            linker,
            background_engine: if cache.is_some() && baseline.is_some() { background_engine() } else { None },
            baseline: if cache.is_some() { baseline } else { None },
            background: Mutex::new(Vec::new()),
            modules: Mutex::new(HashMap::new()),
            opts,
            logger,
            cache,
            ticker_stop,
            abandoned,
            id,
        }) })
    }

    pub fn options(&self) -> &RuntimeOptions {
        &self.inner.opts
    }

    pub fn logger(&self) -> &Arc<Logger> {
        &self.inner.logger
    }

    /// Which containers this runtime's gadgets see.
    pub fn container_view(&self) -> crate::containers::View {
        crate::containers::View { runtime: self.inner.id, discovery: self.inner.opts.container_discovery }
    }

    /// Adds (or replaces, by id) a container the embedder knows, for this runtime's gadgets:
    /// events from its mount namespace (else its network namespace) carry its `runtime.*` and
    /// `k8s.*` fields, the container selectors (`containername`, `k8s-*`, ...) match it, and
    /// the `containers` data source reports it (`CREATED`, and `DELETED` on
    /// [`Runtime::remove_container`]), in running gadgets too. With a pid, zero `mntns`,
    /// `netns` and `started_at` are read from `/proc/<pid>`; `source` and `host_network` are
    /// set by the library. The container stays until removed or the runtime is freed.
    pub fn add_container(&self, mut c: crate::containers::Container) -> Result<()> {
        c.complete_embedder().map_err(|e| {
            let code = match e.kind() {
                std::io::ErrorKind::InvalidInput => ErrorCode::InvalidArgument,
                std::io::ErrorKind::NotFound => ErrorCode::NotFound,
                _ => ErrorCode::Io,
            };
            Error::new(code, format!("adding container {:?}: {e}", c.id))
        })?;
        crate::containers::Collection::global().add(crate::containers::Source::Embedder(self.inner.id), c);
        Ok(())
    }

    /// Removes a container added with [`Runtime::add_container`]; `NotFound` if there is none
    /// with this id. Events already in flight are still enriched for 2 s (as IG).
    pub fn remove_container(&self, id: &str) -> Result<()> {
        if crate::containers::Collection::global().remove(crate::containers::Source::Embedder(self.inner.id), id) {
            Ok(())
        } else {
            Err(Error::new(ErrorCode::NotFound, format!("no container {id:?} was added to this runtime")))
        }
    }

    /// Compiles a wasm program, through the compiled-module cache when enabled.
    /// Returns the module and whether it came from the cache.
    pub fn compile(&self, wasm: &[u8]) -> Result<(Module, bool)> {
        check_module(wasm, &self.inner.opts.limits)?;
        let key = cache_key(&self.inner.engine, wasm);
        let (m, from_cache, _) = self.compile_keyed(wasm, &key)?;
        Ok((m, from_cache))
    }

    /// The module of a gadget: the one of an open gadget of the same program when there is
    /// one (shared), else [`Runtime::compile`]'s. A baseline (Winch) module is shared only
    /// while its optimised compile still runs; afterwards the next gadget loads the
    /// optimised module from the cache. Returns the module, whether it came from the cache
    /// (for a shared module: whether it did when first loaded) and whether it was shared.
    pub(crate) fn module_for(&self, wasm: &[u8]) -> Result<(Arc<Module>, bool, bool)> {
        check_module(wasm, &self.inner.opts.limits)?;
        let key = cache_key(&self.inner.engine, wasm);
        let mut modules = self.inner.modules.lock().unwrap_or_else(|e| e.into_inner());
        modules.retain(|_, s| s.module.strong_count() > 0);
        if let Some(s) = modules.get(&key) {
            if let Some(m) = s.module.upgrade() {
                if !s.baseline || self.background_pending(&key) {
                    self.inner.logger.log(LogLevel::Debug, "", &format!("sharing the compiled module {key} of an open gadget"));
                    return Ok((m, s.from_cache, true));
                }
            }
        }
        // Compiled without the lock (other programs' gadgets open meanwhile); of two gadgets
        // of one program compiled at once, the first to finish provides the shared module.
        drop(modules);
        let (m, from_cache, baseline) = self.compile_keyed(wasm, &key)?;
        let m = Arc::new(m);
        let mut modules = self.inner.modules.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = modules.get(&key).filter(|s| !s.baseline || baseline) {
            if let Some(shared) = s.module.upgrade() {
                return Ok((shared, s.from_cache, true));
            }
        }
        modules.insert(key, SharedModule { module: Arc::downgrade(&m), from_cache, baseline });
        Ok((m, from_cache, false))
    }

    /// Live compiled modules shared between this runtime's gadgets (one per program).
    pub fn shared_modules(&self) -> usize {
        self.inner.modules.lock().unwrap_or_else(|e| e.into_inner()).values().filter(|s| s.module.strong_count() > 0).count()
    }

    fn background_pending(&self, key: &str) -> bool {
        self.inner.background.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|(k, h)| k == key && !h.is_finished())
    }

    /// (module, from the cache, compiled by the baseline compiler).
    fn compile_keyed(&self, wasm: &[u8], key: &str) -> Result<(Module, bool, bool)> {
        let engine = &self.inner.engine;
        let key = self.inner.cache.as_ref().map(|_| key.to_string());
        if let (Some(cache), Some(key)) = (&self.inner.cache, &key) {
            if let Some(bytes) = cache.get(key) {
                // SAFETY: the entry was written by `Module::serialize` of an engine with the same
                // compatibility hash (part of the key), and its checksum was verified by `get`.
                match unsafe { Module::deserialize(engine, &*bytes) } {
                    Ok(m) => return Ok((m, true, false)),
                    Err(e) => self.inner.logger.log(
                        LogLevel::Warn,
                        "",
                        &format!("compiled-module cache entry {key} rejected ({e}); recompiling"),
                    ),
                }
            }
        }
        if let (Some((bengine, _)), Some(key)) = (&self.inner.baseline, &key) {
            match self.compile_bounded(bengine, wasm) {
                Ok(quick) => {
                    self.compile_in_background(wasm, key.clone());
                    return Ok((quick, false, true));
                }
                Err(e) => self.inner.logger.log(
                    LogLevel::Debug,
                    "",
                    &format!("baseline compiler refused the program ({}); compiling it optimised", e.message),
                ),
            }
        }
        let module = self.compile_bounded(&self.inner.engine, wasm)?;
        if let (Some(cache), Some(key)) = (&self.inner.cache, &key) {
            if let Err(e) = store_in_cache(cache, key, &module) {
                self.inner.logger.log(LogLevel::Debug, "", &e);
            }
        }
        Ok((module, false, false))
    }

    /// The linker of the engine that compiled `module` (Cranelift or the Winch baseline).
    pub(crate) fn linker_for(&self, engine: &Engine) -> &Linker<HostState> {
        match &self.inner.baseline {
            Some((e, l)) if Engine::same(e, engine) => l,
            _ => &self.inner.linker,
        }
    }

    /// Compiles `wasm` with Cranelift on a background thread into the cache (after a baseline
    /// compile). Failures are logged at debug level: the next start compiles again.
    fn compile_in_background(&self, wasm: &[u8], key: String) {
        let engine = self.inner.background_engine.clone().unwrap_or_else(|| self.inner.engine.clone());
        // The compile may outlive the runtime and its gadgets: it must not keep the embedder's
        // log callback (and its finalizer) alive, so it logs only while the runtime lives.
        let (logger, bytes) = (Arc::downgrade(&self.inner.logger), wasm.to_vec());
        let Some(cache) = self.inner.cache.clone() else { return };
        let key2 = key.clone();
        let h = std::thread::Builder::new().name("gadgetrt-optcompile".into()).spawn(move || {
            // SAFETY: plain syscalls on the calling thread (best effort).
            unsafe {
                let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
                libc::setpriority(libc::PRIO_PROCESS, tid, 10);
            }
            let log = |msg: String| {
                if let Some(l) = logger.upgrade() {
                    l.log(LogLevel::Debug, "", &msg)
                }
            };
            match Module::new(&engine, &bytes) {
                Ok(m) => {
                    if let Err(e) = store_in_cache(&cache, &key2, &m) {
                        log(e)
                    }
                }
                Err(e) => log(format!("background compile failed: {e:#}")),
            }
        });
        match h {
            Ok(h) => {
                let mut bg = self.inner.background.lock().unwrap_or_else(|e| e.into_inner());
                bg.retain(|(_, h)| !h.is_finished());
                bg.push((key, h));
            }
            Err(e) => self.inner.logger.log(LogLevel::Debug, "", &format!("background compile not started: {e}")),
        }
    }

    /// Whether an optimised compile started in the background is still running.
    pub fn background_compiles_pending(&self) -> bool {
        self.inner.background.lock().unwrap_or_else(|e| e.into_inner()).iter().any(|(_, h)| !h.is_finished())
    }

    /// Waits until the optimised background compilations started by this runtime have
    /// written their modules into the cache (benchmarks and tests; gadgets never wait).
    pub fn wait_background_compiles(&self) {
        let hs: Vec<_> = std::mem::take(&mut *self.inner.background.lock().unwrap_or_else(|e| e.into_inner()));
        for (_, h) in hs {
            let _ = h.join();
        }
    }
}

/// An entry of `RuntimeInner::modules`.
struct SharedModule {
    module: std::sync::Weak<Module>,
    from_cache: bool,
    baseline: bool,
}

/// Serialises `module` into the cache; the error is a message for the debug log.
fn store_in_cache(cache: &crate::image::cache::ModuleCache, key: &str, module: &Module) -> std::result::Result<(), String> {
    let bytes = module.serialize().map_err(|e| format!("module not serializable: {e}"))?;
    cache.put(key, &bytes).map_err(|e| format!("compiled-module cache not written: {e}"))
}

/// The configuration shared by the optimising and the baseline engines.
fn base_config() -> Config {
    let mut cfg = Config::new();
    cfg.epoch_interruption(true);
    // One linear memory per gadget: the memory cap then holds in total.
    cfg.wasm_multi_memory(false);
    cfg
}

/// The optimising configuration without parallel compilation (see `background_engine`).
fn background_engine() -> Option<Engine> {
    let mut cfg = base_config();
    cfg.cranelift_opt_level(wasmtime::OptLevel::Speed);
    cfg.parallel_compilation(false);
    Engine::new(&cfg).ok()
}

/// The Winch engine and a linker with the host imports, where Winch is available.
fn baseline_engine() -> Option<(Engine, Linker<HostState>)> {
    if !cfg!(target_arch = "x86_64") {
        return None;
    }
    let mut cfg = base_config();
    cfg.strategy(wasmtime::Strategy::Winch);
    let engine = Engine::new(&cfg).ok()?;
    let mut linker = Linker::new(&engine);
    host::add_to_linker(&mut linker).ok()?;
    Some((engine, linker))
}

impl Runtime {
    /// Compiles on a worker thread under `limits.compile_timeout`. A compilation past its
    /// deadline cannot be cancelled: it is abandoned (it finishes in the background and its
    /// result is dropped) and, while it runs, further compilations are refused.
    fn compile_bounded(&self, engine: &Engine, wasm: &[u8]) -> Result<Module> {
        let timeout = self.inner.opts.limits.compile_timeout;
        if self.inner.abandoned.load(Ordering::SeqCst) > 0 {
            return Err(Error::new(
                ErrorCode::Busy,
                "a wasm compilation that exceeded its deadline is still running; try again when it ends",
            ));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let engine = engine.clone();
        let bytes = wasm.to_vec();
        // 0 running, 1 finished, 2 abandoned by the waiter.
        let state = Arc::new(std::sync::atomic::AtomicU8::new(0));
        let (state2, abandoned) = (state.clone(), self.inner.abandoned.clone());
        std::thread::Builder::new()
            .name("gadgetrt-compile".into())
            .spawn(move || {
                let r = Module::new(&engine, &bytes);
                let _ = tx.send(r);
                if state2.swap(1, Ordering::SeqCst) == 2 {
                    abandoned.fetch_sub(1, Ordering::SeqCst);
                }
            })
            .map_err(|e| Error::new(ErrorCode::Io, format!("starting the compile thread: {e}")))?;
        let r = match rx.recv_timeout(timeout) {
            Ok(r) => r,
            Err(_) => {
                self.inner.abandoned.fetch_add(1, Ordering::SeqCst);
                if state.compare_exchange(0, 2, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                    return Err(Error::new(
                        ErrorCode::Timeout,
                        format!(
                            "compiling the wasm program exceeded its deadline of {timeout:?} \
                             (the compilation is abandoned and ends in the background)"
                        ),
                    ));
                }
                // It finished right at the deadline.
                self.inner.abandoned.fetch_sub(1, Ordering::SeqCst);
                rx.recv().map_err(|_| Error::new(ErrorCode::Internal, "compile thread vanished"))?
            }
        };
        r.map_err(|e| Error::new(ErrorCode::WasmLoad, format!("compiling the wasm program: {e:#}")))
    }
}

/// Checks a wasm program against the size and function-count limits before compiling it,
/// reading only the section headers and the import, function and table section counts.
fn check_module(wasm: &[u8], limits: &Limits) -> Result<()> {
    let bad = |m: String| Error::new(ErrorCode::WasmLoad, m);
    if wasm.len() as u64 > limits.module_bytes {
        return Err(bad(format!(
            "the wasm program is {} bytes, above the limit of {} bytes",
            wasm.len(),
            limits.module_bytes
        )));
    }
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        return Ok(()); // wasmtime reports the format error
    }
    let mut pos = 8;
    let (mut funcs, mut tables) = (0u64, 0u64);
    while pos < wasm.len() {
        let id = wasm[pos];
        pos += 1;
        let Some((size, n)) = leb_u32(&wasm[pos..]) else { return Ok(()) };
        pos += n;
        let end = pos.saturating_add(size as usize).min(wasm.len());
        let body = &wasm[pos..end];
        match id {
            // Import section: count imported functions and tables.
            2 => {
                let (f, t) = count_imports(body).unwrap_or((0, 0));
                funcs += f;
                tables += t;
            }
            3 => funcs += leb_u32(body).map(|(c, _)| c as u64).unwrap_or(0),
            4 => tables += leb_u32(body).map(|(c, _)| c as u64).unwrap_or(0),
            _ => {}
        }
        pos = end;
    }
    if funcs > limits.module_functions as u64 {
        return Err(bad(format!(
            "the wasm program has {funcs} functions, above the limit of {}",
            limits.module_functions
        )));
    }
    if tables > limits.tables as u64 {
        return Err(bad(format!("the wasm program has {tables} tables, above the limit of {}", limits.tables)));
    }
    Ok(())
}

fn leb_u32(b: &[u8]) -> Option<(u32, usize)> {
    let mut v: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(5) {
        v |= ((byte & 0x7f) as u64) << (7 * i);
        if byte & 0x80 == 0 {
            return u32::try_from(v).ok().map(|v| (v, i + 1));
        }
    }
    None
}

/// (imported functions, imported tables) of an import section body.
fn count_imports(b: &[u8]) -> Option<(u64, u64)> {
    let (n, mut p) = leb_u32(b)?;
    let (mut f, mut t) = (0, 0);
    for _ in 0..n {
        for _ in 0..2 {
            let (len, k) = leb_u32(b.get(p..)?)?;
            p += k + len as usize;
        }
        let kind = *b.get(p)?;
        p += 1;
        match kind {
            0 => {
                f += 1;
                p += leb_u32(b.get(p..)?)?.1;
            }
            1 => {
                t += 1;
                p += 1; // reftype
                p += skip_limits(b.get(p..)?)?;
            }
            2 => p += skip_limits(b.get(p..)?)?,
            3 => p += 2,
            4 => p += 1 + leb_u32(b.get(p + 1..)?)?.1,
            _ => return None,
        }
    }
    Some((f, t))
}

fn skip_limits(b: &[u8]) -> Option<usize> {
    let flags = *b.first()?;
    let mut p = 1;
    // Memory64 limits are LEB u64; skip any LEB.
    let skip_leb = |b: &[u8]| b.iter().position(|x| x & 0x80 == 0).map(|i| i + 1);
    p += skip_leb(b.get(p..)?)?;
    if flags & 1 != 0 {
        p += skip_leb(b.get(p..)?)?;
    }
    Some(p)
}

/// sha256(program) + the engine's compatibility hash (wasmtime version, settings, target).
fn cache_key(engine: &Engine, wasm: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut h);
    // BLAKE3: the key is hashed on every start (a 2-6 MB Go module), 3x faster than SHA-256.
    let mut s = blake3::Hasher::new();
    s.update(wasm);
    s.update(&h.finish().to_le_bytes());
    s.update(env!("CARGO_PKG_VERSION").as_bytes());
    hex::encode(s.finalize().as_bytes())
}
