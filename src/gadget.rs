//! A gadget: one owner of a wasmtime `Store` (behind a mutex), its lifecycle, the embedder's
//! data sources and subscriptions, and the event queue drained by `poll`.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use wasmtime::{Instance, Module, Store, StoreLimitsBuilder, UpdateDeadline, Val};
use wasmtime_wasi::WasiCtxBuilder;

use crate::datasource::{self as dsrc, kind, FieldLoc, PacketData, Schema, SchemaRef, TYPE_ARRAY, TYPE_SINGLE};
use crate::error::{err, Error, ErrorCode, Result};
use crate::events::{Event, EventQueue, LogLevel, StatsSnapshot};
use crate::host::{self, HostState, Interrupted, ModuleClosed, Phase, SubKind, Subscriber};
use crate::params::{ParamDecl, Params};
use crate::runtime::Runtime;

/// How long `stop` keeps delivering the eBPF records already queued (through the wasm
/// program) before dropping the rest as lost: stop stays bounded under an event flood.
pub const STOP_DRAIN_GRACE: Duration = Duration::from_secs(1);

/// The parts of a gadget as read from disk or memory.
#[derive(Clone, Default)]
pub struct GadgetSource {
    pub name: String,
    pub wasm: Option<Vec<u8>>,
    pub ebpf: Option<Vec<u8>>,
    /// gadget.yaml content (`Null` when absent).
    pub metadata: serde_yaml::Value,
    /// Remarks made while reading the source (skipped layers, legacy format), logged at open.
    pub notes: Vec<String>,
}

impl GadgetSource {
    /// A gadget made of a wasm program only.
    pub fn from_wasm(name: &str, wasm: Vec<u8>) -> GadgetSource {
        GadgetSource { name: name.to_string(), wasm: Some(wasm), ..Default::default() }
    }

    /// Reads a gadget from a `.wasm` file, a directory holding `program.wasm` and optionally
    /// `program.bpf.o` and `gadget.yaml`, or an OCI image (layout directory or tar archive;
    /// `reference` selects an image inside it).
    pub fn from_path(path: &Path, reference: Option<&str>) -> Result<GadgetSource> {
        let meta = std::fs::metadata(path)
            .map_err(|e| Error::new(ErrorCode::NotFound, format!("{}: {e}", path.display())))?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("gadget").to_string();
        if meta.is_dir() && !path.join("index.json").exists() {
            let read_opt = |name: &str| -> Result<Option<Vec<u8>>> {
                let p = path.join(name);
                match std::fs::read(&p) {
                    Ok(b) => Ok(Some(b)),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(Error::new(ErrorCode::Io, format!("{}: {e}", p.display()))),
                }
            };
            let wasm = read_opt("program.wasm")?;
            let ebpf = read_opt("program.bpf.o")?;
            let metadata = match read_opt("gadget.yaml")? {
                Some(y) => parse_metadata(&y)?,
                None => serde_yaml::Value::Null,
            };
            if wasm.is_none() && ebpf.is_none() && metadata.is_null() {
                return err(
                    ErrorCode::NotFound,
                    format!("{}: directory holds neither program.wasm nor program.bpf.o nor gadget.yaml", path.display()),
                );
            }
            let name = metadata.get("name").and_then(|n| n.as_str()).map(str::to_string).unwrap_or(stem);
            return Ok(GadgetSource { name, wasm, ebpf, metadata, notes: Vec::new() });
        }
        if meta.is_file() {
            // A bare wasm program (its magic), else an image archive: read once, by its reader.
            let io = |e: std::io::Error| Error::new(ErrorCode::Io, format!("{}: {e}", path.display()));
            let mut magic = [0u8; 4];
            let mut f = std::fs::File::open(path).map_err(io)?;
            let n = std::io::Read::read(&mut f, &mut magic).map_err(io)?;
            if n == 4 && &magic == b"\0asm" {
                return Ok(GadgetSource::from_wasm(&stem, std::fs::read(path).map_err(io)?));
            }
        }
        Self::from_image(path, reference)
    }

    /// Reads an OCI image (layout directory or tar) and picks its wasm and eBPF layers.
    pub fn from_image(path: &Path, reference: Option<&str>) -> Result<GadgetSource> {
        let img = crate::image::load_image(path, reference)
            .map_err(|e| Error::new(ErrorCode::Image, format!("{}: {e:#}", path.display())))?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("gadget").to_string();
        Self::from_gadget_image(img, &stem)
    }

    /// Loads image `reference` (normalised like IG: `trace_open` →
    /// `ghcr.io/inspektor-gadget/gadget/trace_open:latest`) from the local image `store`
    /// (default: [`crate::image::default_store_root`]), pulling it from its registry first
    /// according to `pull` (`ig run`'s `--pull`, default `missing`), then verifying its
    /// signature unless `opts.verify` says not to (`ig run --verify-image`, on by default with
    /// IG's public key; `ErrorCode::Signature` when missing or wrong).
    pub fn from_reference(
        reference: &str,
        store: Option<&Path>,
        pull: crate::image::PullPolicy,
        opts: &crate::image::RegistryOptions,
    ) -> Result<GadgetSource> {
        let st = match store {
            Some(p) => crate::image::ImageStore::open(p),
            None => crate::image::ImageStore::open_default(),
        }
        .map_err(|e| Error::new(ErrorCode::Io, format!("{e:#}")))?;
        let img = crate::image::load_from_store(&st, reference, pull, opts).map_err(image_error)?;
        let fallback = reference.rsplit('/').next().unwrap_or(reference).to_string();
        Self::from_gadget_image(img, &fallback)
    }

    /// `path` if it exists on disk (see [`GadgetSource::from_path`]), else an image reference
    /// (see [`GadgetSource::from_reference`], default store). Text that looks like a path
    /// (starts with `/` or `.`, or ends in `.tar`/`.wasm`) is never taken as a reference.
    pub fn from_path_or_reference(
        s: &str,
        reference: Option<&str>,
        pull: crate::image::PullPolicy,
        opts: &crate::image::RegistryOptions,
    ) -> Result<GadgetSource> {
        let p = Path::new(s);
        let looks_like_path = s.starts_with('/') || s.starts_with('.') || s.ends_with(".tar") || s.ends_with(".wasm");
        if p.exists() || looks_like_path {
            return Self::from_path(p, reference);
        }
        Self::from_reference(s, None, pull, opts)
    }

    fn from_gadget_image(img: crate::image::GadgetImage, fallback_name: &str) -> Result<GadgetSource> {
        let metadata = match &img.metadata_yaml {
            Some(y) => parse_metadata(y)?,
            None => serde_yaml::Value::Null,
        };
        let name = metadata
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_string)
            .or_else(|| img.reference.clone())
            .unwrap_or_else(|| fallback_name.to_string());
        Ok(GadgetSource { name, wasm: img.wasm, ebpf: img.ebpf, metadata, notes: img.notes })
    }
}

/// The [`Error`] for a failure of the image store or a registry: `Signature` for a missing or
/// wrong signature, `NotFound` for an unknown image, else `Image`.
pub fn image_error(e: anyhow::Error) -> Error {
    let msg = format!("{e:#}");
    let code = if crate::image::sign::is_signature_error(&e) {
        ErrorCode::Signature
    } else if msg.contains("not found in registry") || msg.contains("not in the local store") {
        ErrorCode::NotFound
    } else {
        ErrorCode::Image
    };
    Error::new(code, msg)
}

/// Parses gadget.yaml text. IG reads it through viper, whose keys are case-insensitive: the
/// sections gadgetrt looks up (`datasources`, `params`, `operator`, `programs` and, under a
/// data source, `annotations`, `fields`, `tags`) are renamed to their lower-case spelling
/// (older images say `dataSources`).
pub fn parse_metadata(y: &[u8]) -> Result<serde_yaml::Value> {
    let mut v: serde_yaml::Value =
        serde_yaml::from_slice(y).map_err(|e| Error::new(ErrorCode::Image, format!("invalid gadget.yaml: {e}")))?;
    lower_keys(&mut v, &["datasources", "params", "operator", "programs"]);
    if let Some(dss) = v.get_mut("datasources").and_then(|d| d.as_mapping_mut()) {
        for (_, ds) in dss.iter_mut() {
            lower_keys(ds, &["annotations", "fields", "tags"]);
        }
    }
    Ok(v)
}

/// Renames the keys of mapping `v` that equal one of `names` ignoring case to that name.
fn lower_keys(v: &mut serde_yaml::Value, names: &[&str]) {
    let Some(m) = v.as_mapping_mut() else { return };
    let renames: Vec<(serde_yaml::Value, &str)> = m
        .keys()
        .filter_map(|k| {
            let s = k.as_str()?;
            names.iter().find(|n| s.eq_ignore_ascii_case(n) && s != **n).map(|n| (k.clone(), *n))
        })
        .collect();
    for (old, new) in renames {
        if let Some(val) = m.remove(&old) {
            m.insert(serde_yaml::Value::String(new.to_string()), val);
        }
    }
}

/// Lifecycle states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Created,
    Initialized,
    Started,
    Stopped,
    Failed,
}

/// An embedder callback: returns a negative value to stop dispatching.
pub type EventCallback = Box<dyn FnMut(&Event) -> i32 + Send>;

struct Core {
    store: Store<HostState>,
    /// Shared with the open gadgets of the same program (`Runtime::module_for`).
    module: Option<Arc<Module>>,
    instance: Option<Instance>,
    state: State,
    params: Params,
    ebpf: Option<crate::ebpf::EbpfGadget>,
}

/// A loaded gadget. All methods are thread-safe; embedder callbacks only run inside
/// [`GadgetInner::poll`] / [`GadgetInner::consume`] on the caller's thread. Dropping the last
/// handle stops a running gadget.
pub struct Gadget(Arc<GadgetInner>);

impl std::ops::Deref for Gadget {
    type Target = GadgetInner;
    fn deref(&self) -> &GadgetInner {
        &self.0
    }
}

/// The shared state behind a [`Gadget`] handle.
pub struct GadgetInner {
    /// Process-unique id (packets carry it).
    id: u64,
    name: Arc<str>,
    rt: Runtime,
    core: Mutex<Core>,
    queue: Arc<EventQueue>,
    abort: Arc<AtomicBool>,
    subs: Mutex<HashMap<u64, Arc<Mutex<EventCallback>>>>,
    next_sub: AtomicU64,
    polling: AtomicBool,
    /// Whether the module came from the compiled-module cache (for a shared module: when it
    /// was first loaded).
    pub from_cache: bool,
    /// Whether the compiled module is shared with an open gadget of the same program in this
    /// runtime (neither compiled nor read from the cache for this gadget).
    pub module_shared: bool,
    weak: std::sync::Weak<GadgetInner>,
    /// The eBPF reader thread, stopped without holding the core lock.
    readers: Mutex<Option<crate::ebpf::Readers>>,
    /// Timers of the operators that emit on their own (collectors, histogram printing).
    ticker: Mutex<Option<crate::operators::ticker::Ticker>>,
    /// Perf reader stoppers (D7: a blocked read never outlives Stop).
    perf_stoppers: Arc<Mutex<Vec<Option<crate::ebpf::perf::PerfStopper>>>>,
    /// While started: container discovery kept running, the mount-namespace filter
    /// updater of a container selection,
    /// the `containers` data source's subscription and emitter thread,
    /// and the subscription attaching socket filters and tc classifiers per container.
    #[allow(clippy::type_complexity)]
    containers: Mutex<(
        Option<crate::containers::WatchGuard>,
        Option<crate::containers::FilterUpdater>,
        Option<(crate::containers::Subscription, std::thread::JoinHandle<()>)>,
        Option<crate::containers::Subscription>,
    )>,
}

impl Gadget {
    /// Opens a gadget: compiles its wasm program and analyses its eBPF object, without running
    /// guest code. Data sources and subscriptions can be added before [`Gadget::init`].
    pub fn open(rt: &Runtime, src: GadgetSource) -> Result<Gadget> {
        if src.ebpf.is_some() {
            // Parsed while the wasm side is prepared; the eBPF load at start finds it.
            crate::ebpf::kernel_btf::prefetch();
        }
        let name: Arc<str> = Arc::from(src.name.as_str());
        let opts = rt.options();
        let queue = Arc::new(EventQueue::new(opts.queue_capacity)?.with_max_bytes(opts.limits.queue_bytes));
        let abort = Arc::new(AtomicBool::new(false));
        let logger = rt.logger().clone();
        let wasi = WasiCtxBuilder::new()
            .stdout(host::wasi_log::LogStream::new(logger.clone(), name.clone(), "stdout"))
            .stderr(host::wasi_log::LogStream::new(logger.clone(), name.clone(), "stderr"))
            .build_p1();
        let budget = opts.limits.clone();
        let limits = StoreLimitsBuilder::new()
            .memory_size(opts.memory_pages as usize * 65536)
            .memories(1)
            .tables(budget.tables as usize)
            .table_elements(budget.table_elements as usize)
            .instances(1)
            .build();
        let state = HostState::new(
            wasi,
            limits,
            name.clone(),
            logger,
            queue.clone(),
            abort.clone(),
            opts.call_timeout,
            src.metadata.clone(),
            budget,
        );
        let (module, from_cache, module_shared) = match &src.wasm {
            Some(w) => {
                let (m, c, shared) = rt.module_for(w)?;
                (Some(m), c, shared)
            }
            None => (None, false, false),
        };
        // The store belongs to the engine that compiled the module (Cranelift, or Winch for a
        // first start while the optimised module is compiled in the background).
        let engine = module.as_ref().map(|m| m.engine().clone()).unwrap_or_else(|| rt.inner.engine.clone());
        let mut store = Store::new(&engine, state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_callback(|mut ctx| {
            let st = ctx.data_mut();
            if st.abort.load(Ordering::Relaxed) {
                return Err(Interrupted("guest call interrupted: the gadget is stopping".into()).into());
            }
            if let Some(l) = st.lifecycle.filter(|l| l.passed()) {
                return Err(Interrupted(l.message()).into());
            }
            if st.deadline_passed() {
                return Err(Interrupted("guest call exceeded its deadline".into()).into());
            }
            Ok(UpdateDeadline::Continue(1))
        });
        store.set_epoch_deadline(1);

        for n in &src.notes {
            rt.logger().log(LogLevel::Info, &name, n);
        }
        let mut params = Params::from_metadata(&src.metadata);
        let ebpf = match &src.ebpf {
            Some(obj) => {
                let e = crate::ebpf::EbpfGadget::open(obj, &src.metadata)?;
                params.add_ebpf(e.params());
                Some(e)
            }
            None => None,
        };
        // Operator-only gadgets (top_process, bpfstats, top_cpu_throttle): data sources of
        // the process, cgroup and eBPF-statistics collectors.
        let collectors = crate::operators::collector::collectors_from_config(&src.metadata, &Default::default())
            .map_err(|e| Error::new(ErrorCode::Image, format!("configuring operators: {e}")))?;
        if module.is_none() && ebpf.is_none() && collectors.is_empty() {
            return err(ErrorCode::Image, "gadget has neither a wasm program nor an eBPF object nor an operator that emits data");
        }
        if module.is_none() {
            // Without a wasm program nothing could read an undeclared param.
            params.refuse_undeclared();
        }
        store.data_mut().params = params.wasm_values();
        store.data_mut().container_view = rt.container_view();
        let mut core = Core { store, module, instance: None, state: State::Created, params, ebpf };
        for c in &collectors {
            let mut schema = Schema::new(c.collector.ds_name(), TYPE_ARRAY);
            c.collector.build_schema(&mut schema);
            core.store.data_mut().add_datasource(schema, "operator");
        }
        if let Some(e) = &core.ebpf {
            e.register_datasources(core.store.data_mut())?;
        }
        if crate::containers::publisher::enabled(&src.metadata) {
            // Before gadgetInit: traceloop's wasm program subscribes to it there.
            core.store.data_mut().add_datasource(crate::containers::publisher::schema(), "operator");
            core.store.data_mut().operators.containers_ds = true;
        }
        core.store.data_mut().phase = Phase::Init;
        let perf_stoppers = core.store.data().maps.stoppers.clone();
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Ok(Gadget(Arc::new_cyclic(|weak| GadgetInner {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            weak: weak.clone(),
            readers: Mutex::new(None),
            ticker: Mutex::new(None),
            containers: Mutex::new((None, None, None, None)),
            perf_stoppers,
            name,
            rt: rt.clone(),
            core: Mutex::new(core),
            queue,
            abort,
            subs: Mutex::new(HashMap::new()),
            next_sub: AtomicU64::new(1),
            polling: AtomicBool::new(false),
            from_cache,
            module_shared,
        })))
    }

    /// Opens and initializes (runs `gadgetInit`).
    pub fn load(rt: &Runtime, src: GadgetSource) -> Result<Gadget> {
        let g = Gadget::open(rt, src)?;
        g.init()?;
        Ok(g)
    }
}

impl GadgetInner {
    /// Bytes of raw eBPF records allowed in flight between the ring reader and the operators:
    /// a third of the queue's byte budget (at least 1 MiB).
    pub(crate) fn raw_records_budget(&self) -> usize {
        (self.queue.max_bytes() / 3).clamp(1 << 20, usize::MAX as u64) as usize
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn log(&self, level: LogLevel, msg: &str) {
        self.rt.logger().log(level, &self.name, msg);
    }

    pub fn state(&self) -> State {
        self.lock().state
    }

    pub(crate) fn queue_stats(&self) -> &crate::events::Stats {
        &self.queue.stats
    }

    pub(crate) fn log_warn(&self, msg: &str) {
        self.log(LogLevel::Warn, msg);
    }

    /// Instantiates the wasm program, checks the API version and runs `gadgetInit`.
    pub fn init(&self) -> Result<()> {
        let mut core = self.lock();
        if core.state != State::Created {
            return err(ErrorCode::BadState, format!("init: gadget is {:?}, not Created", core.state));
        }
        let r = self.init_locked(&mut core);
        core.state = if r.is_ok() { State::Initialized } else { State::Failed };
        r
    }

    /// Runs the wasm program's `gadgetInit`, then instantiates the data operators (which see
    /// the fields the guest added, like IG's).
    fn init_locked(&self, core: &mut Core) -> Result<()> {
        self.init_wasm(core)?;
        let maps = core.ebpf.as_ref().map(|e| e.shared_maps()).unwrap_or_default();
        crate::operators::instantiate(core.store.data_mut(), maps)
            .map_err(|e| Error::new(ErrorCode::Image, format!("instantiating operators: {e}")))
    }

    fn init_wasm(&self, core: &mut Core) -> Result<()> {
        let Some(module) = core.module.clone() else { return Ok(()) };
        let wasm_err = |e: wasmtime::Error| Error::new(ErrorCode::WasmLoad, format!("instantiating the wasm program: {e:#}"));
        let instance = self.rt.linker_for(module.engine()).instantiate(&mut core.store, &module).map_err(wasm_err)?;
        let memory = instance.get_memory(&mut core.store, "memory").ok_or_else(|| {
            Error::new(ErrorCode::Abi, "the wasm program does not export its linear memory as \"memory\"")
        })?;
        core.store.data_mut().memory = Some(memory);
        core.instance = Some(instance);
        if let Some(f) = instance.get_func(&mut core.store, "_initialize") {
            let r = host::guest_call(&mut core.store.as_context_mut(), None, |ctx| f.call(ctx, &[], &mut []));
            if let Err(e) = r {
                if !is_exit_zero(&e) {
                    return Err(guest_error("_initialize", e, self.rt.options().call_timeout));
                }
            }
        }
        // gadgetAPIVersion: required, exactly one integer result equal to 1.
        let Some(f) = instance.get_func(&mut core.store, "gadgetAPIVersion") else {
            return err(ErrorCode::Abi, "wasm module doesn't export gadgetAPIVersion");
        };
        let ty = f.ty(&core.store);
        if ty.results().len() != 1 {
            return err(ErrorCode::Abi, format!("gadgetAPIVersion returns {} values, expected 1", ty.results().len()));
        }
        let mut out = [Val::I64(0)];
        host::guest_call(&mut core.store.as_context_mut(), None, |ctx| f.call(ctx, &[], &mut out))
            .map_err(|e| guest_error("gadgetAPIVersion", e, self.rt.options().call_timeout))?;
        let v = match out[0] {
            Val::I32(v) => v as i64,
            Val::I64(v) => v,
            _ => return err(ErrorCode::Abi, "gadgetAPIVersion must return an integer"),
        };
        if v != 1 {
            return err(ErrorCode::Abi, format!("unsupported gadget API version: {v}, expected: 1"));
        }
        if let Some(cb) = instance.get_export(&mut core.store, "dataSourceCallback") {
            let f = cb
                .into_func()
                .ok_or_else(|| Error::new(ErrorCode::Abi, "dataSourceCallback is not a function"))?;
            let typed = f.typed::<(i64, i32, i32), ()>(&core.store).map_err(|e| {
                Error::new(ErrorCode::Abi, format!("dataSourceCallback has the wrong signature (want (i64, i32, i32) -> ()): {e}"))
            })?;
            core.store.data_mut().callback = Some(Arc::new(typed));
        }
        self.call_lifecycle(core, "gadgetInit", None)
    }

    /// Calls a lifecycle export if present; a nonzero result or a trap is an error naming it.
    fn call_lifecycle(&self, core: &mut Core, name: &str, timeout: Option<Duration>) -> Result<()> {
        let Some(instance) = core.instance else { return Ok(()) };
        let Some(f) = instance.get_func(&mut core.store, name) else { return Ok(()) };
        if let Some(reason) = &core.store.data().closed {
            return err(ErrorCode::Guest, format!("{name}: module closed: {reason}"));
        }
        if let Some(l) = core.store.data().lifecycle.filter(|l| l.passed()) {
            return err(ErrorCode::Timeout, format!("{name} not called: {}", l.message()));
        }
        let ty = f.ty(&core.store);
        if ty.results().len() == 0 {
            return err(ErrorCode::Abi, format!("{name} must return an integer"));
        }
        if ty.params().len() != 0 {
            return err(ErrorCode::Abi, format!("{name} must take no parameters"));
        }
        let mut out: Vec<Val> = ty.results().map(|t| t.default_value().unwrap_or(Val::I32(0))).collect();
        let timeout_val = timeout.unwrap_or(self.rt.options().call_timeout);
        let r = host::guest_call(&mut core.store.as_context_mut(), Some(timeout_val), |ctx| f.call(ctx, &[], &mut out));
        host::drain_pending(&mut core.store);
        r.map_err(|e| guest_error(name, e, timeout_val))?;
        let v = match out[0] {
            Val::I32(v) => v as i64,
            Val::I64(v) => v,
            _ => return err(ErrorCode::Abi, format!("{name} must return an integer")),
        };
        if v != 0 {
            return err(ErrorCode::Guest, format!("{name} failed: returned {v}"));
        }
        Ok(())
    }

    /// Runs `gadgetPreStart`, loads and attaches the eBPF side, then `gadgetStart`, all
    /// within `RuntimeOptions::start_deadline`.
    pub fn start(&self) -> Result<()> {
        let mut core = self.lock();
        let lc = host::Lifecycle::new("start", self.rt.options().start_deadline);
        if core.state == State::Created {
            core.store.data_mut().lifecycle = Some(lc);
            let r = self.init_locked(&mut core).and_then(|()| Self::check_lifecycle(&core, "init"));
            core.store.data_mut().lifecycle = None;
            core.state = if r.is_ok() { State::Initialized } else { State::Failed };
            r?;
        }
        if core.state != State::Initialized {
            return err(ErrorCode::BadState, format!("start: gadget is {:?}, not Initialized", core.state));
        }
        let missing = core.params.missing_mandatory();
        if !missing.is_empty() {
            return err(ErrorCode::Param, format!("missing mandatory params: {}", missing.join(", ")));
        }
        self.queue.reopen();
        core.store.data_mut().lifecycle = Some(lc);
        let r = self.start_locked(&mut core).and_then(|()| Self::check_lifecycle(&core, "gadgetStart"));
        core.store.data_mut().lifecycle = None;
        match r {
            Ok(()) => core.state = State::Started,
            Err(_) => {
                core.state = State::Failed;
                drop(core);
                self.stop_readers();
                let mut core = self.lock();
                self.teardown(&mut core);
                drop(core);
                self.release_discovery();
            }
        }
        r
    }

    /// Fails with `Timeout` when the overall start/stop deadline passed (`after`: the step
    /// that ended past it).
    fn check_lifecycle(core: &Core, after: &str) -> Result<()> {
        match core.store.data().lifecycle.filter(|l| l.passed()) {
            Some(l) => err(ErrorCode::Timeout, format!("{} (after {after})", l.message())),
            None => Ok(()),
        }
    }

    /// A handle that interrupts this gadget's guest code from any thread without waiting
    /// for the gadget (see [`Interrupter::interrupt`]).
    pub fn interrupter(&self) -> Interrupter {
        Interrupter { abort: self.abort.clone(), stoppers: self.perf_stoppers.clone() }
    }

    /// Stops the eBPF reader thread and releases blocked perf reads; never holds the core
    /// lock (the reader thread takes it to emit).
    fn stop_readers(&self) {
        if let Some(mut t) = self.ticker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            t.stop();
        }
        let readers = self.readers.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(mut r) = readers {
            // Events already drained still go through the wasm program for up to
            // STOP_DRAIN_GRACE (or the call deadline if shorter); what is still queued then is
            // counted as lost and a guest stuck in a callback is interrupted.
            r.stop_within(Some(&self.abort), self.rt.options().call_timeout.min(STOP_DRAIN_GRACE));
        }
        for s in self.perf_stoppers.lock().unwrap_or_else(|e| e.into_inner()).iter().flatten() {
            s.stop();
        }
        // The filter updater first (it unsubscribes); discovery stays until the guest's
        // gadgetStop/gadgetPostStop ran (release_discovery): what a guest emits while stopping
        // (traceloop drains its buffers there) is still enriched with live containers.
        let (updater, publisher, net) = {
            let mut c = self.containers.lock().unwrap_or_else(|e| e.into_inner());
            (c.1.take(), c.2.take(), c.3.take())
        };
        // No more per-container attach or detach (the attachments go with the programs).
        drop(net);
        if let Some((sub, thread)) = publisher {
            // Unsubscribing drops the sender: the thread ends after the changes it holds.
            drop(sub);
            let _ = thread.join();
        }
        drop(updater);
    }

    /// Ends this gadget's hold on container discovery (the last gadget stops the watchers
    /// and its containers then only enrich for [`crate::containers::REMOVED_GRACE`]).
    fn release_discovery(&self) {
        let guard = self.containers.lock().unwrap_or_else(|e| e.into_inner()).0.take();
        drop(guard);
    }

    fn start_locked(&self, core: &mut Core) -> Result<()> {
        let t0 = Instant::now();
        core.store.data_mut().phase = Phase::PreStart;
        core.store.data_mut().subscribe_operators(crate::operators::Stage::EbpfPreStart);
        self.call_lifecycle(core, "gadgetPreStart", None)?;
        Self::check_lifecycle(core, "gadgetPreStart")?;
        let op_params = core.params.operator_values().clone();
        crate::operators::configure(core.store.data_mut(), &op_params).map_err(|e| Error::new(ErrorCode::Param, e))?;
        core.store.data_mut().subscribe_operators(crate::operators::Stage::PreStart);
        let t_pre = t0.elapsed();
        let updater = self.start_containers(core, &op_params)?;
        let t_ctr = t0.elapsed();
        if let Some(e) = core.ebpf.as_mut() {
            let config = core.store.data().config.clone();
            // A container selection filters in the kernel only when the object has IG's
            // filter; the embedder's own ids are required to (the loader says so).
            let mntns: Option<HashSet<u64>> = if updater.is_none() || e.has_mntns_filter() {
                let st = core.store.data();
                st.active_mntns_filter.as_ref().map(|s| s.read().unwrap_or_else(|e| e.into_inner()).clone())
            } else {
                core.store.data().mntns_filter.clone()
            };
            let room = { let st = core.store.data(); st.maps.room(&st.budget) };
            let started = e.start(&core.params, &config, mntns.as_ref(), updater.is_some(), room, self.rt.options().min_ring_bytes, self.weak.clone());
            for (level, msg) in e.take_load_log() {
                self.log(level, &msg);
            }
            let readers = started?;
            if let Some(l) = core.store.data().lifecycle.filter(|l| l.passed()) {
                return err(ErrorCode::Timeout, format!("{} (after loading the eBPF object)", l.message()));
            }
            *self.readers.lock().unwrap_or_else(|e| e.into_inner()) = Some(readers);
            e.publish_maps(core.store.data_mut());
            if let (Some(u), true) = (&updater, mntns.is_some()) {
                if let Some(m) = e.loaded_map("gadget_mntns_filter_map") {
                    u.attach_map(m)
                        .map_err(|err| Error::new(ErrorCode::Ebpf, format!("updating gadget_mntns_filter_map: {err}")))?;
                }
            }
        }
        if updater.is_some() {
            self.start_net_attacher(core, &op_params);
        }
        if let Some(u) = updater {
            self.containers.lock().unwrap_or_else(|e| e.into_inner()).1 = Some(u);
        }
        self.start_timers(core)?;
        let t_ebpf = t0.elapsed();
        core.store.data_mut().phase = Phase::Started;
        self.call_lifecycle(core, "gadgetStart", None)?;
        let r = self.start_containers_ds(core, &op_params);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        self.log(
            LogLevel::Debug,
            &format!(
                "start took {:.1} ms: gadgetPreStart and operators {:.1}, container discovery {:.1}, eBPF {:.1}, gadgetStart {:.1}",
                ms(t0.elapsed()),
                ms(t_pre),
                ms(t_ctr - t_pre),
                ms(t_ebpf - t_ctr),
                ms(t0.elapsed() - t_ebpf)
            ),
        );
        r
    }

    /// IG's AttachContainer/DetachContainer for socket filters and tc classifiers: with a
    /// container selection, every selected container (now and as they come and go) gets
    /// the gadget's network programs in its network namespace (see
    /// [`crate::ebpf::loader::LoadedGadget::attach_container`]); failures are warnings.
    fn start_net_attacher(&self, core: &mut Core, op: &BTreeMap<String, String>) {
        use crate::containers::{Change, Collection, Selector};
        let Some(loaded) = core.ebpf.as_ref().and_then(|e| e.loaded()) else { return };
        if !loaded.lock().unwrap_or_else(|e| e.into_inner()).has_per_container_programs() {
            return;
        }
        let selector = Selector::from_params(op);
        let view = core.store.data().container_view;
        let weak = self.weak.clone();
        let apply = move |ch: &Change| {
            let mut l = loaded.lock().unwrap_or_else(|e| e.into_inner());
            match ch {
                Change::Added(c) => {
                    if c.pid == 0 || !view.sees(c) || !selector.matches(c) {
                        return;
                    }
                    let ns = std::path::PathBuf::from(format!("{}/proc/{}/ns/net", crate::containers::host_root(), c.pid));
                    let w = l.attach_container(&c.id, &ns, c.netns, c.host_network);
                    drop(l);
                    if let Some(g) = weak.upgrade() {
                        for w in w {
                            g.log_warn(&w);
                        }
                    }
                }
                Change::Removed(c) => l.detach_container(&c.id),
            }
        };
        let apply = Arc::new(apply);
        let a2 = apply.clone();
        let (sub, now) = Collection::global().subscribe(move |ch| a2(ch));
        for c in now {
            apply(&Change::Added(c));
        }
        self.containers.lock().unwrap_or_else(|e| e.into_inner()).3 = Some(sub);
    }

    /// LocalManager's Start: the `containers` data source gets one `CREATED` event per
    /// running matching container (and the host's fake container with `host`), then
    /// `CREATED`/`DELETED` as containers start and stop. Changes are emitted from a thread
    /// of their own (subscribers run under the collection lock, emitting needs the gadget's).
    fn start_containers_ds(&self, core: &mut Core, op: &BTreeMap<String, String>) -> Result<()> {
        use crate::containers::{publisher, Change, Collection, Selector};
        if !core.store.data().operators.containers_ds {
            return Ok(());
        }
        let schema = self.schema_locked(core, publisher::DS)?;
        let selector = Selector::from_params(op);
        let (tx, rx) = std::sync::mpsc::channel::<Change>();
        let sel = selector.clone();
        let tx = Mutex::new(tx);
        let view = core.store.data().container_view;
        let (sub, now) = Collection::global().subscribe(move |ch| {
            let c = match ch {
                Change::Added(c) | Change::Removed(c) => c,
            };
            if view.sees(c) && sel.matches(c) {
                let _ = tx.lock().unwrap_or_else(|e| e.into_inner()).send(ch.clone());
            }
        });
        let mut initial: Vec<Arc<crate::containers::Container>> =
            now.into_iter().filter(|c| view.sees(c) && selector.matches(c)).collect();
        if matches!(op.get("host").map(String::as_str), Some("1" | "t" | "T" | "true" | "TRUE" | "True")) {
            initial.push(Arc::new(publisher::host_container()));
        }
        for c in initial {
            let data = publisher::packet(&schema, publisher::CREATED, &c);
            self.emit_locked(core, HostPacket { schema: schema.clone(), data, owner: self.id })?;
        }
        let weak = self.weak.clone();
        let thread = std::thread::Builder::new()
            .name("gadgetrt-containers".into())
            .spawn(move || {
                for ch in rx {
                    let Some(g) = weak.upgrade() else { return };
                    let Ok(schema) = g.schema(publisher::DS) else { return };
                    let (ty, c) = match &ch {
                        Change::Added(c) => (publisher::CREATED, c),
                        Change::Removed(c) => (publisher::DELETED, c),
                    };
                    let data = publisher::packet(&schema, ty, c);
                    let _ = g.emit(HostPacket { schema, data, owner: g.id });
                }
            })
            .map_err(|e| Error::new(ErrorCode::Io, format!("starting the containers publisher: {e}")))?;
        self.containers.lock().unwrap_or_else(|e| e.into_inner()).2 = Some((sub, thread));
        Ok(())
    }

    fn schema_locked(&self, core: &Core, ds: &str) -> Result<SchemaRef> {
        let st = core.store.data();
        let i = st.find_datasource(ds).ok_or_else(|| not_found_ds(ds))?;
        Ok(st.dss[i].schema.clone())
    }

    /// LocalManager's PreStart: starts container discovery when a data source carries the
    /// container fields or containers are selected, and sets the mount-namespace filter.
    ///
    /// `host` and the selectors (`../shared/spec/attach-enrich-containers.md` §7.4): with
    /// `host=true` there is no mntns filtering at all (as in IG); with `host=false`, or a
    /// selector and `host` unset, only the matching containers' events are kept (an empty
    /// selector: every container, no host process), filtered in the kernel through
    /// `gadget_mntns_filter_map` and kept up to date as containers start and stop. With
    /// neither `host` nor a selector, nothing is filtered: gadgetrt's default, where `ig`
    /// would keep container events only (and fail without a container runtime).
    /// Mount-namespace ids the embedder set with `set_mntns_filter` are always kept.
    fn start_containers(&self, core: &mut Core, op: &BTreeMap<String, String>) -> Result<Option<crate::containers::FilterUpdater>> {
        use crate::containers::{Collection, FilterUpdater, Selector};
        let st = core.store.data_mut();
        let base = st.mntns_filter.clone();
        st.active_mntns_filter = base.clone().map(|b| Arc::new(std::sync::RwLock::new(b)));
        let host = match op.get("host").map(String::as_str) {
            None | Some("") => None,
            Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Some(true),
            Some("0" | "f" | "F" | "false" | "FALSE" | "False") => Some(false),
            Some(v) => return err(ErrorCode::Param, format!("param \"host\": {v:?} is not a valid bool")),
        };
        let selector = Selector::from_params(op);
        let select = match host {
            Some(h) => !h,
            None => !selector.is_empty(),
        };
        let filterable = core.ebpf.as_ref().is_some_and(|e| e.has_mntns_filter());
        let ops = &core.store.data().operators;
        if !select && !ops.containers && !ops.containers_ds {
            return Ok(None);
        }
        let view = core.store.data().container_view;
        if view.discovery {
            let guard = Collection::global().watch(Duration::from_secs(3));
            self.containers.lock().unwrap_or_else(|e| e.into_inner()).0 = Some(guard);
        }
        if !select {
            return Ok(None);
        }
        if !filterable {
            self.log(LogLevel::Warn, "the gadget has no mount-namespace filter (gadget_filter_by_mntns, gadget_mntns_filter_map): selecting containers does not filter its eBPF events");
        }
        let (updater, set) = FilterUpdater::start(Collection::global(), view, selector, base.unwrap_or_default());
        core.store.data_mut().active_mntns_filter = Some(set);
        Ok(Some(updater))
    }

    /// Starts the operators that emit on their own: collectors (baseline now, then on their
    /// schedule) and histogram printers.
    fn start_timers(&self, core: &mut Core) -> Result<()> {
        use crate::operators::ticker::{Schedule, Tick, Ticker};
        let mut cfg = core.store.data().config.clone();
        crate::operators::collector::apply_custom_params(&mut cfg, &core.params.custom_values())
            .map_err(|e| Error::new(ErrorCode::Param, e))?;
        let op_params = core.params.operator_values().clone();
        let specs = crate::operators::collector::collectors_from_config(&cfg, &op_params)
            .map_err(|e| Error::new(ErrorCode::Param, e))?;
        let mut timers: Vec<(Schedule, Tick)> = Vec::new();
        for spec in specs {
            let ds = spec.collector.ds_name().to_string();
            let Some(i) = core.store.data().ds_by_name.get(&ds).copied() else { continue };
            let schema = core.store.data().dss[i].schema.clone();
            let mut c = StopOnDrop(spec.collector);
            c.0.start(&schema).map_err(|e| Error::new(ErrorCode::Io, format!("starting the {ds} collector: {e}")))?;
            let weak = self.weak.clone();
            let sch = Schedule { first: spec.schedule.first_interval, interval: spec.schedule.interval, count: spec.schedule.count };
            timers.push((
                sch,
                Box::new(move || {
                    let Some(g) = weak.upgrade() else { return false };
                    match c.0.collect(&schema) {
                        Ok(recs) => g.emit_array_records(&ds, recs),
                        Err(e) => g.log_warn(&format!("{ds}: {e}")),
                    }
                    true
                }),
            ));
        }
        let printers = std::mem::take(&mut core.store.data_mut().operators.printers);
        if !printers.is_empty() {
            let iv = op_params
                .get("otel-metrics-print-interval")
                .map(|v| crate::ebpf::parse_duration(v).ok_or_else(|| Error::new(ErrorCode::Param, format!("otel-metrics-print-interval: invalid duration {v:?}"))))
                .transpose()?
                .unwrap_or(Duration::from_millis(1000))
                .max(Duration::from_millis(25));
            for p in printers {
                let weak = self.weak.clone();
                timers.push((
                    Schedule { first: None, interval: iv, count: 0 },
                    Box::new(move || {
                        let Some(g) = weak.upgrade() else { return false };
                        let text = p.render();
                        if !text.is_empty() {
                            g.emit_text(&p.rendered_ds, &text);
                        }
                        true
                    }),
                ));
            }
        }
        let t = Ticker::start(timers).map_err(|e| Error::new(ErrorCode::Io, format!("starting operator timers: {e}")))?;
        *self.ticker.lock().unwrap_or_else(|e| e.into_inner()) = Some(t);
        Ok(())
    }


    /// Runs `gadgetStop` (with the stop deadline), closes every host object the guest still
    /// holds (D8), then runs `gadgetPostStop`. A guest stuck in a callback is interrupted.
    pub fn stop(&self) -> Result<()> {
        self.stop_readers();
        self.abort.store(true, Ordering::SeqCst);
        let mut core = self.lock();
        self.abort.store(false, Ordering::SeqCst);
        if core.state != State::Started {
            return err(ErrorCode::BadState, format!("stop: gadget is {:?}, not Started", core.state));
        }
        if let Some(e) = core.ebpf.as_mut() {
            e.stop();
        }
        core.store.data_mut().phase = Phase::Stopping;
        core.store.data_mut().lifecycle = Some(host::Lifecycle::new("stop", self.rt.options().stop_deadline));
        let r1 = self.call_lifecycle(&mut core, "gadgetStop", Some(self.rt.options().stop_timeout));
        self.teardown(&mut core);
        let r2 = self.call_lifecycle(&mut core, "gadgetPostStop", None);
        let r3 = Self::check_lifecycle(&core, "gadgetPostStop");
        core.store.data_mut().lifecycle = None;
        core.state = State::Stopped;
        self.queue.close();
        drop(core);
        self.release_discovery();
        r1.and(r2).and(r3)
    }

    fn teardown(&self, core: &mut Core) {
        let st = core.store.data_mut();
        st.maps.close_all();
        st.clear_objects();
        st.phase = Phase::Stopped;
        if let Some(e) = core.ebpf.as_mut() {
            e.close();
        }
    }

    // ----- params, config, filter -----

    pub fn params(&self) -> Vec<ParamDecl> {
        self.lock().params.decls().to_vec()
    }

    pub fn set_param(&self, key: &str, value: &str) -> Result<()> {
        let mut core = self.lock();
        if core.state == State::Started {
            return err(ErrorCode::BadState, "params cannot change while the gadget runs");
        }
        if crate::params::operator_key(key).as_deref() == Some("annotate") {
            // IG's `--annotate` merges into the gadget's configuration before the data
            // sources exist (oci handler): it applies like gadget.yaml's `datasources` section.
            if core.state != State::Created {
                return err(ErrorCode::BadState, "annotations apply to data sources as they are created: set them before init");
            }
            let anns = crate::config::parse_annotations(value).map_err(|e| Error::new(ErrorCode::Param, e))?;
            let st = core.store.data_mut();
            for a in &anns {
                crate::config::merge_annotation(&mut st.config, a);
            }
            // Data sources registered at open (the eBPF ones) take them now.
            st.reapply_ds_config();
        }
        core.params.set(key, value)?;
        core.store.data_mut().params = core.params.wasm_values();
        Ok(())
    }

    pub fn get_param(&self, key: &str) -> Result<String> {
        self.lock().params.get(key)
    }

    /// The gadget configuration value at a dotted path (scalars as text, maps as JSON).
    pub fn config(&self, path: &str) -> Option<String> {
        let core = self.lock();
        crate::config::get_path(&core.store.data().config, path).map(crate::config::render)
    }

    /// Sets the mount-namespace IDs to keep (`None` disables filtering). Takes effect at start.
    pub fn set_mntns_filter(&self, ids: Option<&[u64]>) {
        let mut core = self.lock();
        core.store.data_mut().mntns_filter = ids.map(|v| v.iter().copied().collect::<HashSet<u64>>());
    }

    /// The mount-namespace ids in the running gadget's eBPF `gadget_mntns_filter_map` when
    /// kernel-side filtering is on (`None`: not started, no such map, or no filtering).
    /// Container selection keeps it up to date as containers start and stop.
    pub fn kernel_mntns_filter(&self) -> Option<Vec<u64>> {
        let core = self.lock();
        core.store.data().active_mntns_filter.as_ref()?;
        let m = core.ebpf.as_ref()?.loaded_map("gadget_mntns_filter_map")?;
        let mut ids = Vec::new();
        let mut key = [0u8; 8];
        let mut prev: Option<[u8; 8]> = None;
        while m.next_key(prev.as_ref().map(|k| &k[..]), &mut key).ok()? {
            ids.push(u64::from_ne_bytes(key));
            prev = Some(key);
        }
        ids.sort_unstable();
        Some(ids)
    }

    // ----- embedder data sources -----

    /// Creates a data source owned by the embedder.
    pub fn add_datasource(&self, name: &str, ds_type: u32) -> Result<()> {
        if ds_type != TYPE_SINGLE && ds_type != TYPE_ARRAY {
            return err(ErrorCode::InvalidArgument, format!("invalid data source type {ds_type}"));
        }
        let mut core = self.lock();
        let st = core.store.data_mut();
        if st.find_datasource(name).is_some() {
            return err(ErrorCode::InvalidArgument, format!("data source {name:?} already exists"));
        }
        st.datasource_room().map_err(|e| Error::new(ErrorCode::InvalidArgument, e))?;
        st.add_datasource(Schema::new(name, ds_type), "host");
        Ok(())
    }

    /// Adds a field to a data source; returns its index.
    pub fn add_field(&self, ds: &str, name: &str, k: u32) -> Result<usize> {
        let mut core = self.lock();
        let st = core.store.data_mut();
        let i = st.find_datasource(ds).ok_or_else(|| not_found_ds(ds))?;
        let mut schema = (*st.dss[i].schema).clone();
        let fi = schema.add_field(name, k).map_err(|e| Error::new(ErrorCode::InvalidArgument, e.to_string()))?;
        st.apply_field_config(&mut schema, fi);
        st.dss[i].schema = Arc::new(schema);
        Ok(fi)
    }

    /// Adds a tag to a field.
    pub fn add_field_tag(&self, ds: &str, field: &str, tag: &str) -> Result<()> {
        self.with_field(ds, field, |f| f.tags.push(tag.to_string()))
    }

    /// Sets an annotation on a field.
    pub fn set_field_annotation(&self, ds: &str, field: &str, key: &str, value: &str) -> Result<()> {
        self.with_field(ds, field, |f| {
            f.annotations.insert(key.to_string(), value.to_string());
        })
    }

    fn with_field(&self, ds: &str, field: &str, f: impl FnOnce(&mut dsrc::FieldDef)) -> Result<()> {
        let mut core = self.lock();
        let st = core.store.data_mut();
        let i = st.find_datasource(ds).ok_or_else(|| not_found_ds(ds))?;
        let schema = Arc::make_mut(&mut st.dss[i].schema);
        let fi = schema
            .field_index(field)
            .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("field {field:?} not found in {ds:?}")))?;
        f(&mut schema.fields[fi]);
        Ok(())
    }

    /// The current schema of a data source.
    pub fn schema(&self, ds: &str) -> Result<SchemaRef> {
        let core = self.lock();
        let st = core.store.data();
        let i = st.find_datasource(ds).ok_or_else(|| not_found_ds(ds))?;
        Ok(st.dss[i].schema.clone())
    }

    /// The current schema of a data source, referenced or not (the eBPF side still feeds an
    /// unreferenced data source whose packets operators consume, e.g. printed histograms).
    pub(crate) fn schema_any(&self, ds: &str) -> Result<SchemaRef> {
        let core = self.lock();
        let st = core.store.data();
        let i = st.ds_by_name.get(ds).copied().ok_or_else(|| not_found_ds(ds))?;
        Ok(st.dss[i].schema.clone())
    }

    /// Schemas of every referenced data source, in creation order.
    pub fn datasources(&self) -> Vec<SchemaRef> {
        let core = self.lock();
        let st = core.store.data();
        let mut v: Vec<(usize, SchemaRef)> =
            st.ds_by_name.values().filter(|&&i| st.dss[i].referenced).map(|&i| (i, st.dss[i].schema.clone())).collect();
        v.sort_by_key(|(i, _)| *i);
        v.into_iter().map(|(_, s)| s).collect()
    }

    /// A packet for an embedder data source, to fill and [`Gadget::emit`].
    pub fn new_packet(&self, ds: &str) -> Result<HostPacket> {
        let schema = self.schema(ds)?;
        let data = if schema.is_array() {
            PacketData::Array(Vec::new())
        } else {
            PacketData::Single(schema.new_record())
        };
        Ok(HostPacket { schema, data, owner: self.id })
    }

    /// Emits a packet through the data source's subscribers (wasm and embedder) in priority
    /// order. Works before and after start.
    pub fn emit(&self, p: HostPacket) -> Result<()> {
        let mut core = self.lock();
        self.emit_locked(&mut core, p)
    }

    fn emit_locked(&self, core: &mut Core, p: HostPacket) -> Result<()> {
        if p.owner != self.id {
            return err(ErrorCode::InvalidArgument, format!(
                "the packet was created by another gadget; it can only be emitted by the gadget that created it ({:?})",
                self.name
            ));
        }
        let st = core.store.data_mut();
        let ds = st.find_datasource(&p.schema.name).ok_or_else(|| not_found_ds(&p.schema.name))?;
        let is_array = matches!(p.data, PacketData::Array(_));
        if st.dss[ds].schema.ds_type != p.schema.ds_type || st.dss[ds].schema.is_array() != is_array {
            return err(ErrorCode::InvalidArgument, format!(
                "the packet does not match data source {:?} (its type changed since the packet was created)",
                p.schema.name
            ));
        }
        let pid = st.insert_packet(host::PacketSlot { ds, data: p.data, in_flight: false });
        if !host::emit(&mut core.store, ds, pid) {
            return err(ErrorCode::Timeout, format!(
                "emitting into {:?}: the emission cascade (callbacks emitting packets) exceeded its limit of {} packets or the {:?} call deadline and was cut short; pending packets were dropped",
                p.schema.name,
                self.rt.options().limits.cascade_packets,
                self.rt.options().call_timeout
            ));
        }
        Ok(())
    }

    /// Emits raw records (eBPF side): each record is copied into the data source's static
    /// payload, zero-padded or truncated to the struct size.
    pub(crate) fn emit_records(&self, ds: &str, records: &mut dyn Iterator<Item = &[u8]>) -> usize {
        let mut core = self.lock();
        let st = core.store.data_mut();
        let Some(dsi) = st.find_datasource(ds).or_else(|| st.ds_by_name.get(ds).copied()) else { return 0 };
        let schema = st.dss[dsi].schema.clone();
        st.stage_events();
        let mut n = 0;
        // Recycled records are taken from the pool in groups (one lock each).
        let mut spare: Vec<dsrc::Record> = Vec::new();
        for raw in records {
            if spare.is_empty() {
                schema.take_pooled(64, &mut spare);
            }
            let mut rec = schema.init_record(spare.pop(), raw);
            crate::ebpf::fill_record_rest(&schema, &mut rec, raw);
            let pid = core.store.data_mut().insert_packet(host::PacketSlot {
                ds: dsi,
                data: PacketData::Single(rec),
                in_flight: false,
            });
            host::emit(&mut core.store, dsi, pid);
            n += 1;
        }
        core.store.data_mut().flush_staged();
        if !spare.is_empty() {
            schema.pool.put_many(spare);
        }
        n
    }

    /// Emits an array packet built from raw records (iterators, map iterators).
    /// Emits a single packet whose first field is the text `text` (histogram printing).
    pub(crate) fn emit_text(&self, ds: &str, text: &str) {
        let mut core = self.lock();
        let st = core.store.data_mut();
        let Some(dsi) = st.ds_by_name.get(ds).copied() else { return };
        let schema = st.dss[dsi].schema.clone();
        let mut rec = schema.new_record();
        if let Some(f) = schema.fields.first() {
            let _ = dsrc::set_bytes(&mut rec, f.loc, text.as_bytes());
        }
        let pid = st.insert_packet(host::PacketSlot { ds: dsi, data: PacketData::Single(rec), in_flight: false });
        host::emit(&mut core.store, dsi, pid);
    }

    pub(crate) fn emit_array_records(&self, ds: &str, records: Vec<dsrc::Record>) {
        let mut core = self.lock();
        let st = core.store.data_mut();
        let Some(dsi) = st.ds_by_name.get(ds).copied() else { return };
        let pid = st.insert_packet(host::PacketSlot { ds: dsi, data: PacketData::Array(records), in_flight: false });
        host::emit(&mut core.store, dsi, pid);
    }

    // ----- embedder subscriptions and events -----

    /// Subscribes the embedder to a data source at `priority`: the callback sees each packet
    /// after every lower-priority subscriber (wasm ones included) has run. Returns the
    /// subscription id.
    pub fn subscribe(&self, ds: &str, priority: i32, cb: EventCallback) -> Result<u64> {
        let id = self.next_sub.fetch_add(1, Ordering::Relaxed);
        {
            let mut core = self.lock();
            let st = core.store.data_mut();
            let i = st.find_datasource(ds).ok_or_else(|| not_found_ds(ds))?;
            st.dss[i].subscribe(Subscriber { priority, kind: SubKind::Embedder { id } });
        }
        self.subs.lock().unwrap_or_else(|e| e.into_inner()).insert(id, Arc::new(Mutex::new(cb)));
        Ok(id)
    }

    /// Removes an embedder subscription; events already queued for it are discarded.
    pub fn unsubscribe(&self, id: u64) -> Result<()> {
        let removed = self.subs.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
        if removed.is_none() {
            return err(ErrorCode::NotFound, format!("subscription {id} not found"));
        }
        let mut core = self.lock();
        for ds in core.store.data_mut().dss.iter_mut() {
            Arc::make_mut(&mut ds.subscribers).retain(|s| !matches!(s.kind, SubKind::Embedder { id: x } if x == id));
        }
        Ok(())
    }

    /// Waits up to `timeout` (`None`: forever) for events, then dispatches every queued event
    /// to its callback on this thread. Returns the number dispatched, or the first negative
    /// callback result (remaining events stay queued).
    pub fn poll(&self, timeout: Option<Duration>) -> Result<i64> {
        if self.polling.swap(true, Ordering::Acquire) {
            return err(ErrorCode::Busy, "another thread is polling this gadget");
        }
        let r = self.dispatch(timeout);
        self.polling.store(false, Ordering::Release);
        r
    }

    /// Dispatches queued events without waiting.
    pub fn consume(&self) -> Result<i64> {
        self.poll(Some(Duration::ZERO))
    }

    fn dispatch(&self, timeout: Option<Duration>) -> Result<i64> {
        let mut batch = VecDeque::new();
        self.queue.take(usize::MAX, timeout, &mut batch);
        let mut n: i64 = 0;
        let mut cache: Option<(u64, Arc<Mutex<EventCallback>>)> = None;
        let mut recycler = dsrc::Recycler::default();
        while let Some(q) = batch.pop_front() {
            let cb = match &cache {
                Some((id, cb)) if *id == q.sub => cb.clone(),
                _ => {
                    let Some(cb) = self.subs.lock().unwrap_or_else(|e| e.into_inner()).get(&q.sub).cloned() else {
                        recycler.add(&q.event.schema, q.event.data);
                        continue;
                    };
                    cache = Some((q.sub, cb.clone()));
                    cb
                }
            };
            let rc = {
                let mut f = cb.lock().unwrap_or_else(|e| e.into_inner());
                (*f)(&q.event)
            };
            recycler.add(&q.event.schema, q.event.data);
            self.queue.stats.delivered.fetch_add(1, Ordering::Relaxed);
            n += 1;
            if rc < 0 {
                self.queue.requeue_front(batch);
                return Ok(rc as i64);
            }
        }
        Ok(n)
    }

    /// The eventfd that is readable while events are queued.
    pub fn event_fd(&self) -> i32 {
        self.queue.fd()
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.queue.snapshot()
    }

    /// Benchmark support: calls an exported `(i64) -> ()` function with `n` and returns how
    /// long the call took.
    #[doc(hidden)]
    pub fn bench_call_export(&self, name: &str, n: i64) -> Result<Duration> {
        let mut core = self.lock();
        let inst = core.instance.ok_or_else(|| Error::new(ErrorCode::BadState, "not initialized"))?;
        let f = inst
            .get_typed_func::<i64, ()>(&mut core.store, name)
            .map_err(|e| Error::new(ErrorCode::NotFound, format!("{name}: {e}")))?;
        let t = std::time::Instant::now();
        host::guest_call(&mut core.store.as_context_mut(), Some(Duration::from_secs(600)), |ctx| f.call(ctx, n))
            .map_err(|e| guest_error(name, e, Duration::from_secs(600)))?;
        Ok(t.elapsed())
    }

    /// Per-data-source lost-sample counts reported by the eBPF side.
    pub fn lost_by_datasource(&self) -> Vec<(String, u64)> {
        let core = self.lock();
        core.ebpf.as_ref().map(|e| e.lost_by_datasource()).unwrap_or_default()
    }

    /// A JSON description of the gadget: data sources with fields, tags and annotations, and
    /// the declared params.
    pub fn describe(&self) -> serde_json::Value {
        let dss: Vec<serde_json::Value> = self.datasources().iter().map(|s| schema_json(s)).collect();
        let params: Vec<serde_json::Value> = self.params().iter().map(|p| p.to_json()).collect();
        let programs = self.lock().ebpf.as_ref().map(|e| e.programs_json()).unwrap_or_else(|| serde_json::json!([]));
        serde_json::json!({ "name": &*self.name, "datasources": dss, "params": params, "programs": programs })
    }
}

impl Drop for Gadget {
    fn drop(&mut self) {
        if self.state() == State::Started {
            if let Err(e) = self.stop() {
                self.log(LogLevel::Warn, &format!("stopping on free: {e}"));
            }
        }
    }
}

fn not_found_ds(ds: &str) -> Error {
    Error::new(ErrorCode::NotFound, format!("data source {ds:?} not found"))
}

/// JSON description of one data source.
pub fn schema_json(s: &Schema) -> serde_json::Value {
    let fields: Vec<serde_json::Value> = s
        .fields
        .iter()
        .map(|f| {
            serde_json::json!({
                "name": f.name, "kind": kind::name(f.kind), "kind_id": f.kind,
                "tags": f.tags, "annotations": f.annotations, "hidden": f.hidden,
            })
        })
        .collect();
    serde_json::json!({
        "name": s.name, "type": if s.is_array() { "array" } else { "single" },
        "tags": s.tags, "annotations": s.annotations, "fields": fields,
    })
}

fn is_exit_zero(e: &wasmtime::Error) -> bool {
    e.downcast_ref::<wasmtime_wasi::I32Exit>().map(|x| x.0 == 0).unwrap_or(false)
}

/// Turns a failed guest call into an error naming the export and carrying the trap message.
fn guest_error(export: &str, e: wasmtime::Error, timeout: Duration) -> Error {
    if let Some(i) = e.downcast_ref::<Interrupted>() {
        if i.0.contains("overall deadline") {
            return Error::new(ErrorCode::Timeout, format!("{export} interrupted: {}", i.0));
        }
        if i.0.contains("deadline") {
            return Error::new(ErrorCode::Timeout, format!("{export} exceeded its deadline of {timeout:?}"));
        }
        return Error::new(ErrorCode::Guest, format!("{export}: {i}"));
    }
    if let Some(c) = e.downcast_ref::<ModuleClosed>() {
        return Error::new(ErrorCode::Guest, format!("{export} failed: {c}"));
    }
    if let Some(x) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return Error::new(ErrorCode::Guest, format!("{export} failed: guest exited with code {}", x.0));
    }
    Error::new(ErrorCode::Guest, format!("{export} trapped: {e:#}"))
}

/// Interrupts a gadget from any thread (signal watchers, watchdogs).
#[derive(Clone)]
pub struct Interrupter {
    abort: Arc<AtomicBool>,
    stoppers: Arc<Mutex<Vec<Option<crate::ebpf::perf::PerfStopper>>>>,
}

impl Interrupter {
    /// Makes the guest call running now (or the next one, if none runs) fail at its next
    /// epoch tick, cuts an emission cascade in progress, and releases blocked perf reads
    /// (those readers stay closed). `start`/`init` then return an error; `stop` clears the
    /// request when it takes over, so call this again to cut a long `gadgetStop` short.
    pub fn interrupt(&self) {
        self.abort.store(true, Ordering::SeqCst);
        for s in self.stoppers.lock().unwrap_or_else(|e| e.into_inner()).iter().flatten() {
            s.stop();
        }
    }
}

/// A collector that is stopped (kernel statistics toggled back) when its timer ends.
struct StopOnDrop(Box<dyn crate::operators::collector::Collector>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// A packet built by the embedder for one of its data sources.
pub struct HostPacket {
    schema: SchemaRef,
    data: PacketData,
    /// The id of the gadget that created it (packets are bound to their gadget).
    owner: u64,
}

impl HostPacket {
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Appends an element to an array packet; returns its index.
    pub fn append(&mut self) -> Result<usize> {
        match &mut self.data {
            PacketData::Array(v) => {
                v.push(self.schema.new_record());
                Ok(v.len() - 1)
            }
            PacketData::Single(_) => err(ErrorCode::BadState, "append on a single packet"),
        }
    }

    /// The record `elem` and the location/kind of field `field` (no allocation).
    fn rec(&mut self, elem: usize, field: usize) -> Result<(&mut dsrc::Record, FieldRef)> {
        let f = self
            .schema
            .fields
            .get(field)
            .ok_or_else(|| Error::new(ErrorCode::NotFound, format!("field index {field} out of range")))?;
        let fr = FieldRef { loc: f.loc, kind: f.kind };
        let rec = match &mut self.data {
            PacketData::Single(r) if elem == 0 => r,
            PacketData::Array(v) => v
                .get_mut(elem)
                .ok_or_else(|| Error::new(ErrorCode::InvalidArgument, format!("element {elem} out of range")))?,
            _ => return err(ErrorCode::InvalidArgument, "single packets only have element 0"),
        };
        Ok((rec, fr))
    }

    fn field_name(&self, i: usize) -> &str {
        &self.schema.fields[i].name
    }

    /// Sets a numeric or bool field from an unsigned value (truncated to the field's width;
    /// floats are converted).
    pub fn set_u64(&mut self, elem: usize, field: usize, v: u64) -> Result<()> {
        let (rec, f) = self.rec(elem, field)?;
        let raw = match f.kind {
            kind::FLOAT32 => (v as f32).to_bits() as u64,
            kind::FLOAT64 => (v as f64).to_bits(),
            _ => v,
        };
        let r = set_numeric(rec, &f, raw);
        r.map_err(|e| self.named(e, field))
    }

    pub fn set_i64(&mut self, elem: usize, field: usize, v: i64) -> Result<()> {
        let (rec, f) = self.rec(elem, field)?;
        let raw = match f.kind {
            kind::FLOAT32 => (v as f32).to_bits() as u64,
            kind::FLOAT64 => (v as f64).to_bits(),
            _ => v as u64,
        };
        let r = set_numeric(rec, &f, raw);
        r.map_err(|e| self.named(e, field))
    }

    pub fn set_f64(&mut self, elem: usize, field: usize, v: f64) -> Result<()> {
        let (rec, f) = self.rec(elem, field)?;
        let raw = match f.kind {
            kind::FLOAT32 => (v as f32).to_bits() as u64,
            kind::FLOAT64 => v.to_bits(),
            k if kind::is_signed(k) => v as i64 as u64,
            _ => v as u64,
        };
        let r = set_numeric(rec, &f, raw);
        r.map_err(|e| self.named(e, field))
    }

    /// Sets a string, cstring or bytes field.
    pub fn set_bytes(&mut self, elem: usize, field: usize, v: &[u8]) -> Result<()> {
        let (rec, f) = self.rec(elem, field)?;
        let r = if kind::width(f.kind).is_some() {
            err(ErrorCode::WrongKind, format!("field is {}, not a string or bytes field", kind::name(f.kind)))
        } else {
            dsrc::set_bytes(rec, f.loc, v).map_err(|e| Error::new(ErrorCode::InvalidArgument, e.to_string()))
        };
        r.map_err(|e| self.named(e, field))
    }

    /// Prefixes an error with the field's name.
    fn named(&self, e: Error, field: usize) -> Error {
        Error::new(e.code, format!("field {:?}: {}", self.field_name(field), e.message))
    }
}

/// Location and kind of a field, copied out of the schema.
struct FieldRef {
    loc: FieldLoc,
    kind: u32,
}

fn set_numeric(rec: &mut dsrc::Record, f: &FieldRef, raw: u64) -> Result<()> {
    if kind::width(f.kind).is_none() {
        return err(ErrorCode::WrongKind, format!("field is {}, not numeric", kind::name(f.kind)));
    }
    dsrc::set_scalar(rec, f.loc, f.kind, raw).map_err(|e| Error::new(ErrorCode::InvalidArgument, e.to_string()))
}

use wasmtime::AsContextMut;

#[cfg(test)]
mod metadata_tests {
    #[test]
    fn section_keys_are_case_insensitive_like_viper() {
        let v = super::parse_metadata(b"name: x\ndataSources:\n  ds:\n    Annotations:\n      metrics.print: \"true\"\nParams:\n  ebpf: {}\n").unwrap();
        assert_eq!(v["datasources"]["ds"]["annotations"]["metrics.print"].as_str(), Some("true"));
        assert!(v.get("dataSources").is_none() && v.get("params").is_some());
    }
}
