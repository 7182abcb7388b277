//! Loading and attaching a gadget's eBPF object with aya 0.14.
//!
//! [`load`] sanitises the ELF for aya-obj (see
//! [`super::object::sanitize`]), applies `.rodata` overrides (params,
//! `gadget_filter_by_mntns`), map sizes (`<map>_max_entries` and explicit
//! overrides), then loads every program and attaches it according to its
//! ELF section (or an `attach_to` override). [`LoadedGadget`] keeps the aya
//! [`Ebpf`] alive and exposes maps, record sources for tracers, lost-sample
//! counters and iterators.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::Path;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context, Result};
use aya::maps::perf::{PerfEvent, PerfEventArray, PerfEventArrayBuffer};
use aya::maps::{Map, MapData};
use aya::programs::{
    BtfTracePoint, FEntry, FExit, Iter, KProbe, Lsm, Program, RawTracePoint, TracePoint, UProbe,
};
use aya::{Btf, Ebpf};

use super::attach;
use super::tc as attach_tc;
use super::socket_enricher;
use super::object::{self, GadgetObject, ProgramInfo, ProgramKind, TracerMapType};

/// `attach_to` value IG uses to disable a program.
pub const PROGRAM_DISABLED: &str = "gadget_program_disabled";

/// Options for [`load`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Global variable name -> exact bytes (must match the variable's size).
    pub params: HashMap<String, Vec<u8>>,
    /// Map name -> max_entries (wins over `<map>_max_entries` globals).
    pub max_entries: HashMap<String, u32>,
    /// Program name -> attach target overriding the section suffix
    /// (`gadget_program_disabled` disables the program).
    pub attach_to: HashMap<String, String>,
    /// Programs not to load/attach.
    pub disabled: HashSet<String>,
    /// Sets `gadget_filter_by_mntns = true`.
    pub filter_by_mntns: bool,
    /// Mount namespace ids put into `gadget_mntns_filter_map`.
    pub mntns_ids: Vec<u64>,
    /// The gadget config (gadget.yaml + `setConfig`): `perf_event` programs
    /// read their sampling settings from `programs.<section suffix>.*`.
    pub config: serde_yaml::Value,
    /// Network programs per container: socket filters get no raw socket in this process's
    /// network namespace at load; they (and tc classifiers without `tc_iface`) are attached
    /// per container with [`LoadedGadget::attach_container`].
    pub per_container: bool,
    /// tc classifiers: the interface to attach them to (IG's `iface` param), in this
    /// process's network namespace, with the section's direction; containers are then ignored.
    pub tc_iface: Option<String>,
    /// What is left of the gadget's map budget (bytes, kernel objects): loading is refused
    /// before any map is created when the object's maps ([`estimate_maps`]) need more.
    pub map_budget: Option<(u64, u32)>,
    /// Tracer ring buffers declared smaller are created with this size (bytes, a power of
    /// two of pages; 0: as declared).
    pub min_ring_bytes: u32,
    /// Packet filters: `gadget_pf_*` function -> tcpdump filter expression (`pf` params).
    pub packet_filters: BTreeMap<String, String>,
}

/// What the maps of an object cost once loaded (see [`estimate_maps`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapEstimate {
    /// Kernel bytes: (key + value) × max_entries per map (× CPUs for per-CPU maps, ring
    /// buffers by size, global data sections by size, inner-map templates included) plus the
    /// perf buffers gadgetrt opens on perf-event-array tracers.
    pub bytes: u64,
    /// Maps created (inner-map templates included).
    pub count: u32,
    /// The costliest map: (name, bytes).
    pub largest: Option<(String, u64)>,
    /// The sizes [`load`] sets: maps whose `max_entries` differs from the ELF's declaration
    /// (`<map>_max_entries` globals, `opts.max_entries`, rings raised to `opts.min_ring_bytes`).
    pub max_entries: Vec<(String, u32)>,
}

/// Estimates what loading `elf` (sanitised) creates in the kernel, with the `max_entries`
/// overrides [`load`] applies (`<map>_max_entries` globals, then `opts.max_entries`).
pub fn estimate_maps(elf: &[u8], obj: &GadgetObject, opts: &LoadOptions) -> Result<MapEstimate> {
    let parsed = aya_obj::Object::parse(elf).map_err(|e| anyhow!("parsing the eBPF object's maps: {e}"))?;
    // SAFETY: plain sysconf query.
    let page = (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).max(4096) as u64;
    let mut est = MapEstimate::default();
    let add = |est: &mut MapEstimate, name: &str, bytes: u64| {
        est.bytes = est.bytes.saturating_add(bytes);
        est.count = est.count.saturating_add(1);
        if est.largest.as_ref().is_none_or(|(_, b)| bytes > *b) {
            est.largest = Some((name.to_string(), bytes));
        }
    };
    for (name, m) in &parsed.maps {
        let mut max = m.max_entries();
        let mut set = false;
        if let Some(me) = obj.max_entries.iter().find(|me| me.map == *name) {
            (max, set) = (me.value, true);
        }
        if let Some(n) = opts.max_entries.get(name) {
            (max, set) = (*n, true);
        }
        let tracer_ring = obj.tracers.iter().any(|t| t.map_name == *name && t.map_type == TracerMapType::RingBuf);
        if tracer_ring && max < opts.min_ring_bytes {
            (max, set) = (opts.min_ring_bytes, true);
        }
        if set {
            est.max_entries.push((name.clone(), max));
        }
        let ty = m.map_type();
        let mut bytes = super::maps::map_cost(ty, m.key_size(), m.value_size(), max);
        if ty == 27 || ty == 31 {
            // Ring buffers are rounded up to whole pages.
            bytes = bytes.div_ceil(page).saturating_mul(page);
        }
        add(&mut est, name, bytes.max(m.data().len() as u64));
        if let Some(inner) = m.inner() {
            let b = super::maps::map_cost(inner.map_type(), inner.key_size(), inner.value_size(), inner.max_entries());
            add(&mut est, &format!("{name}.inner"), b);
        }
    }
    for t in &obj.tracers {
        if t.map_type == TracerMapType::PerfEventArray {
            let b = super::maps::perf_cost((PERF_PAGES_PER_CPU as u64 * page) as u32);
            est.bytes = est.bytes.saturating_add(b);
        }
    }
    Ok(est)
}

/// A socket filter or tc classifier: its PROG_ARRAY (shared by its dispatchers) and where
/// it is attached, each attachment with the containers using it (IG's networktracer and
/// tchandler: one raw socket per network namespace, one filter per host interface).
#[derive(Debug)]
struct NetProg {
    name: String,
    /// `None`: socket filter.
    tc: Option<attach_tc::Direction>,
    array: attach::ProgArray,
    sockets: HashMap<u64, (HashSet<String>, attach::SocketAttachment)>,
    filters: HashMap<String, (HashSet<String>, attach_tc::TcAttachment)>,
    /// Attached once at load (host netns socket, `tc_iface` filter), kept until unload.
    fixed_sockets: Vec<attach::SocketAttachment>,
    fixed_filters: Vec<attach_tc::TcAttachment>,
}

/// State of one program after [`load`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgramState {
    /// Loaded and attached to `target`.
    Attached { target: String },
    /// Loaded; attached on demand (iterators) or by the caller (sockets, tc, ...).
    Loaded,
    /// Disabled by options.
    Disabled,
    /// Loaded but not attached (the gadget runs without it); `reason` is
    /// also in [`LoadedGadget::warnings`].
    NotAttached { reason: String },
}

impl ProgramState {
    /// `attached`, `loaded`, `disabled` or `not-attached`.
    pub fn label(&self) -> &'static str {
        match self {
            ProgramState::Attached { .. } => "attached",
            ProgramState::Loaded => "loaded",
            ProgramState::Disabled => "disabled",
            ProgramState::NotAttached { .. } => "not-attached",
        }
    }
}

/// Attachments gadgetrt manages itself (aya has no link for them).
#[derive(Debug, Default)]
struct OwnAttachments {
    perf: Vec<attach::PerfEvents>,
    net: Vec<NetProg>,
    per_container: bool,
    tc_iface: bool,
}

/// A loaded gadget: owns the aya [`Ebpf`] (programs, links, maps).
pub struct LoadedGadget {
    // Kept alive with the gadget (dropped first: perf events and sockets go
    // before the programs).
    _own: OwnAttachments,
    ebpf: Ebpf,
    obj: GadgetObject,
    states: Vec<(String, ProgramState)>,
    notes: Vec<String>,
    warnings: Vec<String>,
    /// The socket enricher, held while this gadget runs (`gadget_sockets` users).
    _sockets: Option<std::sync::Arc<socket_enricher::SocketEnricher>>,
    estimate: MapEstimate,
}

impl std::fmt::Debug for LoadedGadget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedGadget")
            .field("programs", &self.states)
            .field("notes", &self.notes)
            .field("warnings", &self.warnings)
            .finish()
    }
}

fn is_disabled(opts: &LoadOptions, name: &str) -> bool {
    opts.disabled.contains(name) || opts.attach_to.get(name).is_some_and(|t| t == PROGRAM_DISABLED)
}

/// Loads `elf` (analysed as `obj`) and attaches its programs.
pub fn load(elf: &[u8], obj: &GadgetObject, opts: &LoadOptions) -> Result<LoadedGadget> {
    let t0 = std::time::Instant::now();
    // Gadgets declaring `gadget_sockets` share the socket enricher's map; its value layout
    // is the CO-RE target of their `gadget_socket_value` accesses (IG: the enricher's BTF
    // as an extra relocation target, its map as a replacement).
    let sockets = match obj.map(socket_enricher::MAP_NAME) {
        None => None,
        Some(m) => {
            if m.map_type != 1 || m.key_size != socket_enricher::KEY_SIZE {
                bail!(
                    "map {}: must be a BPF_MAP_TYPE_HASH with {}-byte keys (struct gadget_socket_key) \
                     to be replaced by the socket enricher's map (type {}, key size {})",
                    m.name,
                    socket_enricher::KEY_SIZE,
                    m.map_type,
                    m.key_size
                );
            }
            Some(socket_enricher::acquire().context("starting the socket enricher")?)
        }
    };
    let mut san = match &sockets {
        None => object::sanitize(elf),
        Some(_) => object::sanitize_kernel_extra(elf, &[socket_enricher::EXTRA_STRUCT]),
    }
    .context("preparing the eBPF object for aya")?;
    let mut notes = san.notes.clone();
    if !opts.packet_filters.is_empty() {
        let mut code = BTreeMap::new();
        for (func, expr) in &opts.packet_filters {
            let key = super::packet_filter::param_key(func).unwrap_or_default();
            let c = super::packet_filter::filter_code(expr).with_context(|| format!("param {key}"))?;
            notes.push(format!("packet filter {expr:?} ({key}): {} eBPF instructions inserted into {func}", c.len()));
            code.insert(func.clone(), c);
        }
        san.elf = super::packet_filter::inject(&san.elf, &code)?;
    }

    // A dropped program may only be skipped if it is disabled.
    for p in &obj.programs {
        if let Some((section, reason)) = san.dropped.get(&p.name) {
            if !is_disabled(opts, &p.name) {
                bail!(
                    "program {} (section {section:?}) cannot be loaded: {reason}; \
                     disable it (attach_to = {PROGRAM_DISABLED}) to run the gadget without it",
                    p.name
                );
            }
        }
    }

    // Validate params against the analysed variables.
    for (var, bytes) in &opts.params {
        if let Some(p) = obj.param(var) {
            if p.size as usize != bytes.len() {
                bail!("param {var} ({}): value has {} bytes, the variable has {}", p.key, bytes.len(), p.size);
            }
        }
    }
    if opts.filter_by_mntns && !obj.has_filter_by_mntns {
        bail!("mount-namespace filtering requested but the object has no gadget_filter_by_mntns variable");
    }

    let estimate = estimate_maps(&san.elf, obj, opts)?;
    if let Some((bytes, count)) = opts.map_budget {
        let largest = estimate
            .largest
            .as_ref()
            .map(|(n, b)| format!(" (largest: map {n:?}, {b} bytes)"))
            .unwrap_or_default();
        if estimate.bytes > bytes {
            bail!(
                "map budget exceeded: the eBPF object's maps need {} bytes{largest}, {bytes} bytes of the gadget's \
                 map budget are left; no map was created (raise map_bytes, or lower the map's max_entries)",
                estimate.bytes
            );
        }
        if estimate.count > count {
            bail!(
                "map budget exceeded: the eBPF object creates {} maps, {count} of the gadget's map count are left; \
                 no map was created (raise map_count)",
                estimate.count
            );
        }
    }

    let t_san = t0.elapsed();
    // aya's loader parses the kernel BTF when created (its CO-RE target); a loader prepared
    // while the gadget was opened is taken when there is one. Programs that attach by BTF
    // id (tp_btf, fentry, lsm, iterators) get aya's shared parse, made only for them.
    let mut loader = super::kernel_btf::loader();
    let btf: std::cell::OnceCell<Option<std::sync::Arc<Btf>>> = std::cell::OnceCell::new();
    let t_btf = t0.elapsed();
    for (var, bytes) in &opts.params {
        loader.override_global(var.as_str(), bytes.as_slice(), true);
    }
    static TRUE: [u8; 1] = [1];
    static FALSE: [u8; 1] = [0];
    if obj.has_filter_by_mntns {
        let v: &'static [u8] = if opts.filter_by_mntns { &TRUE } else { &FALSE };
        loader.override_global("gadget_filter_by_mntns", v, false);
    }
    for (m, n) in &estimate.max_entries {
        loader.map_max_entries(m.as_str(), *n);
    }
    if sockets.is_some() {
        // A placeholder: replaced by the enricher's map right after creation.
        loader.map_max_entries(socket_enricher::MAP_NAME, 1);
    }
    let mut ebpf = loader
        .load(&san.elf)
        .map_err(|e| anyhow!("loading eBPF object (maps, relocations): {}", error_chain(&e)))?;
    let t_maps = t0.elapsed();

    if let Some(se) = &sockets {
        let m = ebpf
            .map(socket_enricher::MAP_NAME)
            .ok_or_else(|| anyhow!("map {} not created by aya", socket_enricher::MAP_NAME))?;
        let placeholder = map_data(m).fd().as_fd().as_raw_fd();
        // The programs' map references hold this fd number (relocated, not loaded yet):
        // point it at the enricher's map.
        // SAFETY: dup2 onto an fd owned by aya's MapData, which keeps owning (and closes) it.
        if unsafe { libc::dup2(se.map_fd().as_raw_fd(), placeholder) } < 0 {
            bail!("replacing {} by the socket enricher's map: {}", socket_enricher::MAP_NAME, std::io::Error::last_os_error());
        }
        notes.push(format!(
            "map {} replaced by the socket enricher's (value {} bytes, {} entries; kept current by {})",
            socket_enricher::MAP_NAME,
            socket_enricher::VALUE_SIZE,
            socket_enricher::MAX_SOCKETS,
            se.mode().label()
        ));
    }

    // Mount-namespace filter map.
    if !opts.mntns_ids.is_empty() {
        let m = ebpf
            .map_mut("gadget_mntns_filter_map")
            .ok_or_else(|| anyhow!("mntns ids given but the object has no gadget_mntns_filter_map"))?;
        let mut hm: aya::maps::HashMap<&mut MapData, u64, u32> = aya::maps::HashMap::try_from(m)
            .map_err(|e| anyhow!("gadget_mntns_filter_map: {}", error_chain(&e)))?;
        for id in &opts.mntns_ids {
            hm.insert(id, 1u32, 0)
                .map_err(|e| anyhow!("gadget_mntns_filter_map: inserting {id}: {}", error_chain(&e)))?;
        }
    }

    let mut states = Vec::new();
    let mut own = OwnAttachments { per_container: opts.per_container, tc_iface: opts.tc_iface.is_some(), ..Default::default() };
    let mut warnings = Vec::new();
    for p in &obj.programs {
        if is_disabled(opts, &p.name) {
            states.push((p.name.clone(), ProgramState::Disabled));
            continue;
        }
        let target = opts.attach_to.get(&p.name).cloned().unwrap_or_else(|| p.attach_target.clone());
        let iter_map = match obj.iter_map_target(&p.name) {
            Some(m) => Some(iter_map_fd(&ebpf, &p.name, m)?),
            None => None,
        };
        let mut cx = AttachCx {
            notes: &mut notes,
            warnings: &mut warnings,
            own: &mut own,
            config: &opts.config,
            tc_iface: opts.tc_iface.as_deref(),
        };
        let st = load_and_attach(&mut ebpf, &btf, p, &target, iter_map, &mut cx)?;
        states.push((p.name.clone(), st));
    }

    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    notes.push(format!(
        "load took {:.1} ms: preparing the object {:.1}, aya's loader and kernel BTF {:.1}, maps and relocations {:.1}, programs (verifier, attach) {:.1}",
        ms(t0.elapsed()),
        ms(t_san),
        ms(t_btf - t_san),
        ms(t_maps - t_btf),
        ms(t0.elapsed() - t_maps)
    ));
    let warnings = group_warnings(warnings);
    Ok(LoadedGadget { _own: own, ebpf, obj: obj.clone(), states, notes, warnings, _sockets: sockets, estimate })
}

/// The running kernel's BTF (`/sys/kernel/btf/vmlinux`), parsed by aya; cached while a load
/// holds it (see [`super::kernel_btf`]).
pub fn kernel_btf() -> Option<std::sync::Arc<Btf>> {
    super::kernel_btf::aya()
}

/// `e` and its sources, each source once (`a: b: c`).
pub(super) fn source_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let cs = c.to_string();
        if !s.contains(&cs) {
            s.push_str(": ");
            s.push_str(&cs);
        }
        cur = c.source();
    }
    s
}

/// [`source_chain`], keeping the tail of very long texts (verifier logs can be huge).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = source_chain(e);
    const MAX: usize = 6000;
    if s.len() > MAX {
        let cut = s.len() - MAX;
        let cut = (cut..s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(s.len());
        s = format!("[...]{}", &s[cut..]);
    }
    s
}

fn kprobe_hint() -> &'static str {
    if std::path::Path::new("/sys/bus/event_source/devices/kprobe/type").exists() {
        ""
    } else {
        " (this kernel has no kprobe support: no kprobe PMU in /sys/bus/event_source/devices and no kprobe_events in tracefs; CONFIG_KPROBES is probably not set)"
    }
}

/// A dup of the fd of `map`, the target of `iter/bpf_map_elem` program `prog`.
fn iter_map_fd(ebpf: &Ebpf, prog: &str, map: &str) -> Result<OwnedFd> {
    let m = ebpf
        .map(map)
        .ok_or_else(|| anyhow!("program {prog}: target map {map} of the map-element iterator is not available"))?;
    map_data(m).fd().as_fd().try_clone_to_owned().with_context(|| format!("program {prog}: duplicating map fd"))
}

/// One warning line per distinct reason, naming every program it concerns
/// (trace_ssl has a dozen programs on a library that may be missing).
fn group_warnings(w: Vec<(String, String)>) -> Vec<String> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (prog, reason) in w {
        match groups.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, progs)) => progs.push(prog),
            None => groups.push((reason, vec![prog])),
        }
    }
    groups
        .into_iter()
        .map(|(reason, progs)| {
            let (what, verb) = if progs.len() == 1 { ("program", "is") } else { ("programs", "are") };
            format!("{what} {} {verb} loaded but not attached: {reason}", progs.join(", "))
        })
        .collect()
}

/// Where [`load_and_attach`] records what it did.
struct AttachCx<'a> {
    notes: &'a mut Vec<String>,
    /// (program with its section, reason)
    warnings: &'a mut Vec<(String, String)>,
    own: &'a mut OwnAttachments,
    config: &'a serde_yaml::Value,
    tc_iface: Option<&'a str>,
}

impl AttachCx<'_> {
    /// A program the gadget runs without: a warning naming it, and its state.
    fn not_attached(&mut self, name: &str, section: &str, reason: String) -> ProgramState {
        self.warnings.push((format!("{name} (section {section:?})"), reason.clone()));
        ProgramState::NotAttached { reason }
    }
}

fn load_and_attach(
    ebpf: &mut Ebpf,
    btf: &std::cell::OnceCell<Option<std::sync::Arc<Btf>>>,
    p: &ProgramInfo,
    target: &str,
    iter_map: Option<OwnedFd>,
    cx: &mut AttachCx<'_>,
) -> Result<ProgramState> {
    let name = p.name.as_str();
    let section = p.section.as_str();
    let prog = ebpf
        .program_mut(name)
        .ok_or_else(|| anyhow!("program {name} (section {section:?}) not found by aya after loading the object"))?;
    let need_btf = || {
        btf.get_or_init(kernel_btf)
            .as_deref()
            .ok_or_else(|| anyhow!("program {name} (section {section:?}): needs kernel BTF (/sys/kernel/btf/vmlinux)"))
    };
    let kind = p.kind;
    let lerr = |e: &dyn std::error::Error| {
        let msg = error_chain(e);
        let hint = if matches!(kind, ProgramKind::FEntry | ProgramKind::FExit | ProgramKind::Lsm)
            && msg.contains("Operation not permitted")
        {
            " (this kernel refuses to load BTF-attached fentry/fexit/lsm programs: EPERM with an empty verifier log)"
        } else {
            ""
        };
        anyhow!("program {name} (section {section:?}): load failed: {msg}{hint}")
    };
    let aerr = |what: &str, e: &dyn std::error::Error, hint: &str| {
        anyhow!("program {name} (section {section:?}): attaching {what} failed: {}{hint}", error_chain(e))
    };
    macro_rules! typed {
        ($t:ty) => {{
            let r: Result<&mut $t, _> = prog.try_into();
            r.map_err(|e| anyhow!("program {name} (section {section:?}): unexpected aya program type: {}", error_chain(&e)))?
        }};
    }
    let attached = |t: &str| Ok(ProgramState::Attached { target: t.to_string() });
    match p.kind {
        ProgramKind::TracePoint => {
            let (cat, tp) = target.split_once('/').ok_or_else(|| {
                anyhow!("program {name} (section {section:?}): tracepoint target {target:?} is not <category>/<name>")
            })?;
            let pr = typed!(TracePoint);
            pr.load().map_err(|e| lerr(&e))?;
            pr.attach(cat, tp).map_err(|e| aerr(&format!("tracepoint {target}"), &e, ""))?;
            attached(target)
        }
        ProgramKind::RawTracePoint => {
            let pr = typed!(RawTracePoint);
            pr.load().map_err(|e| lerr(&e))?;
            pr.attach(target).map_err(|e| aerr(&format!("raw tracepoint {target}"), &e, ""))?;
            attached(target)
        }
        ProgramKind::TpBtf => {
            let b = need_btf()?;
            let pr = typed!(BtfTracePoint);
            pr.load(target, b).map_err(|e| lerr(&e))?;
            pr.attach().map_err(|e| aerr(&format!("tp_btf {target}"), &e, ""))?;
            attached(target)
        }
        ProgramKind::KProbe | ProgramKind::KRetProbe => {
            let (func, off) = match target.split_once('+') {
                Some((f, o)) => (f, parse_u64(o).with_context(|| format!("program {name}: kprobe offset {o:?}"))?),
                None => (target, 0),
            };
            let pr = typed!(KProbe);
            pr.load().map_err(|e| lerr(&e))?;
            let what = if p.kind == ProgramKind::KProbe { "kprobe" } else { "kretprobe" };
            pr.attach(func, off).map_err(|e| aerr(&format!("{what} {target}"), &e, kprobe_hint()))?;
            attached(target)
        }
        ProgramKind::FEntry => {
            let b = need_btf()?;
            let pr = typed!(FEntry);
            pr.load(target, b).map_err(|e| lerr(&e))?;
            pr.attach().map_err(|e| aerr(&format!("fentry {target}"), &e, ""))?;
            attached(target)
        }
        ProgramKind::FExit => {
            let b = need_btf()?;
            let pr = typed!(FExit);
            pr.load(target, b).map_err(|e| lerr(&e))?;
            pr.attach().map_err(|e| aerr(&format!("fexit {target}"), &e, ""))?;
            attached(target)
        }
        ProgramKind::UProbe | ProgramKind::URetProbe => {
            // IG: `<file>:<symbol>` split at the first ':'; <file> is an
            // absolute path or a library name looked up in ld.so.cache. A
            // malformed target is fatal; a target that does not resolve or
            // attach is a warning and the gadget runs with the rest.
            let (file, sym) = target.split_once(':').ok_or_else(|| {
                anyhow!("program {name} (section {section:?}): uprobe target {target:?} is not <file>:<symbol>")
            })?;
            if sym.is_empty() || file.is_empty() || (!file.starts_with('/') && file.contains('/')) {
                bail!(
                    "program {name} (section {section:?}): uprobe target {target:?}: <file> must be an absolute path \
                     or a library name (libc, libssl, ...) and <symbol> must not be empty"
                );
            }
            let pr = typed!(UProbe);
            pr.load().map_err(|e| lerr(&e))?;
            let what = if p.kind == ProgramKind::UProbe { "uprobe" } else { "uretprobe" };
            let paths = match attach::resolve_library(file) {
                Ok(p) if p.is_empty() => {
                    let r = format!("could not resolve uprobe target '{file}' (no {file}.so* in /etc/ld.so.cache)");
                    return Ok(cx.not_attached(name, section, r));
                }
                Ok(p) => p,
                Err(e) => {
                    let r = format!("could not resolve uprobe target '{file}': {e:#}");
                    return Ok(cx.not_attached(name, section, r));
                }
            };
            let mut ok = Vec::new();
            let mut errs = Vec::new();
            for path in &paths {
                let res = if let Some(off) = sym.strip_prefix("0x").and_then(|h| u64::from_str_radix(h, 16).ok()) {
                    pr.attach(off, path, aya::programs::uprobe::UProbeScope::AllProcesses)
                } else {
                    pr.attach(sym, path, aya::programs::uprobe::UProbeScope::AllProcesses)
                };
                match res {
                    Ok(_) => ok.push(format!("{}:{sym}", path.display())),
                    Err(e) => errs.push(format!("{}: {}", path.display(), error_chain(&e))),
                }
            }
            if ok.is_empty() {
                let r = format!("uprobe target {target}: {}", errs.join("; "));
                return Ok(cx.not_attached(name, section, r));
            }
            for e in errs {
                // IG: per-file failures (e.g. a multilib copy) are only debug logs.
                cx.notes.push(format!("program {name}: {what} {target} not attached to {e}"));
            }
            attached(&ok.join(","))
        }
        ProgramKind::Iter => {
            let b = need_btf()?;
            let pr = typed!(Iter);
            pr.load(target, b).map_err(|e| lerr(&e))?;
            // Check that it attaches now (links are created per run).
            match iter_map {
                Some(map) => {
                    // iter/bpf_map_elem: the map's fd goes into iter_info (as libbpf/cilium do).
                    let fd = pr.fd().map_err(|e| lerr(&e))?.as_fd();
                    raw::link_create_iter(fd, Some(map.as_fd())).map_err(|e| {
                        anyhow!("program {name} (section {section:?}): attaching map-element iterator failed: {e}")
                    })?;
                }
                None if target == "bpf_map_elem" => bail!(
                    "program {name} (section {section:?}): a bpf_map_elem iterator needs its map \
                     (GADGET_ITER_TARGET_MAP({name}, <map>))"
                ),
                None => {
                    let id = pr.attach().map_err(|e| aerr(&format!("iterator {target}"), &e, ""))?;
                    pr.detach(id).map_err(|e| aerr(&format!("iterator {target} (detach)"), &e, ""))?;
                }
            }
            Ok(ProgramState::Loaded)
        }
        ProgramKind::Lsm => {
            let b = need_btf()?;
            let pr = typed!(Lsm);
            pr.load(target, b).map_err(|e| lerr(&e))?;
            pr.attach().map_err(|e| aerr(&format!("lsm {target}"), &e, ""))?;
            attached(target)
        }
        ProgramKind::PerfEvent => {
            // IG keys the sampling config by the section suffix (`perf_event/<name>`).
            let key = section.split_once('/').map(|(_, n)| n).unwrap_or("");
            let sampling = attach::PerfSampling::from_config(cx.config, key)
                .with_context(|| format!("program {name} (section {section:?})"))?;
            let pr = typed!(aya::programs::PerfEvent);
            pr.load().map_err(|e| lerr(&e))?;
            let fd = pr.fd().map_err(|e| lerr(&e))?.as_fd();
            let ev = attach::open_perf_events(fd, &sampling)
                .map_err(|e| anyhow!("program {name} (section {section:?}): attaching perf event failed: {e:#}"))?;
            let t = format!("software cpu-clock at {} Hz on {} CPUs", sampling.frequency, ev.cpus());
            cx.own.perf.push(ev);
            attached(&t)
        }
        ProgramKind::SocketFilter | ProgramKind::SchedClassifier => {
            let dir = match p.kind {
                ProgramKind::SchedClassifier => Some(attach_tc::Direction::from_section(section)?),
                _ => None,
            };
            load_generic(prog).map_err(|e| lerr(&*e))?;
            let fd = prog.fd().map_err(|e| lerr(&e))?.as_fd();
            let what = if dir.is_some() { "tc classifier" } else { "socket filter" };
            let array = attach::ProgArray::new(fd, if dir.is_some() { "gadget_tail_call" } else { "tail_call" })
                .map_err(|e| anyhow!("program {name} (section {section:?}): attaching {what} failed: {e:#}"))?;
            let mut np = NetProg {
                name: name.to_string(),
                tc: dir,
                array,
                sockets: HashMap::new(),
                filters: HashMap::new(),
                fixed_sockets: Vec::new(),
                fixed_filters: Vec::new(),
            };
            let state = match (dir, cx.tc_iface) {
                (None, _) if !cx.own.per_container => {
                    let a = attach::SocketAttachment::attach_in(&np.array, None).map_err(|e| {
                        anyhow!("program {name} (section {section:?}): attaching socket filter failed: {e:#}")
                    })?;
                    let t = format!("raw socket in netns {}", a.netns);
                    np.fixed_sockets.push(a);
                    attached(&t)
                }
                (None, _) => attached("raw socket in each selected container's network namespace"),
                (Some(d), Some(iface)) => {
                    // IG: a bad --iface is fatal; its own direction, the host's netns id.
                    let netns = attach::netns_inode("thread-self")
                        .or_else(|_| attach::netns_inode("self"))
                        .context("reading the netns inode")?;
                    let a = attach_tc::TcAttachment::attach(&np.array, None, iface, d, netns, name)
                        .map_err(|e| anyhow!("program {name} (section {section:?}): {e:#}"))?;
                    let t = format!("tc {} filter on {iface} ({})", d.as_str(), a.mechanism());
                    np.fixed_filters.push(a);
                    attached(&t)
                }
                (Some(d), None) if cx.own.per_container => attached(&format!(
                    "tc {} filter on the host-side veth of each selected container",
                    d.inverted().as_str()
                )),
                (Some(_), None) => Ok(cx.not_attached(
                    name,
                    section,
                    "no interface: set the iface param, or select containers to attach to their veth interfaces".into(),
                )),
            };
            cx.own.net.push(np);
            state
        }
        ProgramKind::SockOps
        | ProgramKind::SkSkb
        | ProgramKind::SkMsg
        | ProgramKind::Xdp => {
            load_generic(prog).map_err(|e| lerr(&*e))?;
            let what = match p.kind {
                ProgramKind::SockOps => "sockops programs",
                ProgramKind::SkSkb | ProgramKind::SkMsg => "sk_skb/sk_msg programs",
                _ => "XDP programs",
            };
            Ok(cx.not_attached(name, section, format!("gadgetrt does not attach {what} yet")))
        }
        ProgramKind::Usdt | ProgramKind::Other => bail!(
            "program {name} (section {section:?}): this section kind is not supported; disable the program to run the gadget without it"
        ),
    }
}

fn load_generic(prog: &mut Program) -> std::result::Result<(), Box<dyn std::error::Error>> {
    match prog {
        Program::SocketFilter(p) => p.load()?,
        Program::SchedClassifier(p) => p.load()?,
        Program::PerfEvent(p) => p.load()?,
        Program::SockOps(p) => p.load()?,
        Program::SkSkb(p) => p.load()?,
        Program::SkMsg(p) => p.load()?,
        Program::Xdp(p) => p.load()?,
        other => return Err(format!("unexpected program type {:?}", other.prog_type()).into()),
    }
    Ok(())
}

fn parse_u64(s: &str) -> Result<u64> {
    let s = s.trim();
    Ok(if let Some(h) = s.strip_prefix("0x") { u64::from_str_radix(h, 16)? } else { s.parse()? })
}

fn map_data(m: &Map) -> &MapData {
    match m {
        Map::Array(d)
        | Map::ArrayOfMaps(d)
        | Map::BloomFilter(d)
        | Map::CgroupArray(d)
        | Map::CgroupStorage(d)
        | Map::CgrpStorage(d)
        | Map::CpuMap(d)
        | Map::DevMap(d)
        | Map::DevMapHash(d)
        | Map::HashMap(d)
        | Map::HashOfMaps(d)
        | Map::InodeStorage(d)
        | Map::LpmTrie(d)
        | Map::LruHashMap(d)
        | Map::PerCpuArray(d)
        | Map::PerCpuCgroupStorage(d)
        | Map::PerCpuHashMap(d)
        | Map::PerCpuLruHashMap(d)
        | Map::PerfEventArray(d)
        | Map::ProgramArray(d)
        | Map::Queue(d)
        | Map::ReusePortSockArray(d)
        | Map::RingBuf(d)
        | Map::SockHash(d)
        | Map::SockMap(d)
        | Map::SkStorage(d)
        | Map::Stack(d)
        | Map::StackTraceMap(d)
        | Map::Unsupported(d)
        | Map::XskMap(d) => d,
    }
}

/// Number of perf pages per CPU for perf-event-array tracers (IG: 64).
pub const PERF_PAGES_PER_CPU: usize = 64;

enum SourceInner {
    Ring(super::ring::RingReader),
    Perf {
        bufs: Vec<PerfEventArrayBuffer<MapData>>,
        _array: PerfEventArray<MapData>,
        epoll: OwnedFd,
    },
}

/// Record source of one tracer: a ring buffer, or a perf event array read on
/// every online CPU (behind one epoll fd).
pub struct TracerSource {
    /// Index into [`GadgetObject::tracers`].
    pub tracer: usize,
    pub tracer_name: String,
    pub map_name: String,
    inner: SourceInner,
    lost: u64,
}

impl std::fmt::Debug for TracerSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TracerSource")
            .field("tracer", &self.tracer)
            .field("tracer_name", &self.tracer_name)
            .field("map_name", &self.map_name)
            .field("perf", &matches!(self.inner, SourceInner::Perf { .. }))
            .finish()
    }
}

impl TracerSource {
    /// A pollable fd (readable when records are pending).
    pub fn fd(&self) -> BorrowedFd<'_> {
        match &self.inner {
            SourceInner::Ring(r) => r.as_fd(),
            SourceInner::Perf { epoll, .. } => epoll.as_fd(),
        }
    }

    /// Bytes one buffer of this source holds: the ring's size, or one CPU's perf buffer.
    pub fn capacity(&self) -> usize {
        match &self.inner {
            SourceInner::Ring(r) => r.capacity(),
            // SAFETY: plain sysconf.
            SourceInner::Perf { .. } => PERF_PAGES_PER_CPU * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize,
        }
    }

    pub fn is_perf(&self) -> bool {
        matches!(self.inner, SourceInner::Perf { .. })
    }

    /// Hands pending records to `f` without blocking, at most about `max` of them (a ring
    /// buffer stops at `max`; a perf buffer stops between CPUs once `max` is reached), so
    /// that a producer faster than the reader cannot keep it here forever; returns how many.
    /// Perf samples include the kernel's alignment padding after the payload.
    pub fn drain(&mut self, max: usize, f: &mut dyn FnMut(&[u8])) -> usize {
        let mut n = 0usize;
        match &mut self.inner {
            SourceInner::Ring(r) => {
                while n < max && r.next(f) {
                    n += 1;
                }
            }
            SourceInner::Perf { bufs, epoll, .. } => {
                // Consume pending epoll readiness (level-triggered anyway).
                let mut evs = [libc::epoll_event { events: 0, u64: 0 }; 16];
                unsafe { libc::epoll_wait(epoll.as_raw_fd(), evs.as_mut_ptr(), evs.len() as i32, 0) };
                let lost = &mut self.lost;
                let mut tmp = Vec::new();
                for b in bufs.iter_mut() {
                    if n >= max {
                        break;
                    }
                    b.for_each(|ev| match ev {
                        PerfEvent::Sample { head, tail } => {
                            if tail.is_empty() {
                                f(head);
                            } else {
                                tmp.clear();
                                tmp.extend_from_slice(head);
                                tmp.extend_from_slice(tail);
                                f(&tmp);
                            }
                            n += 1;
                        }
                        PerfEvent::Lost { count } => *lost += count,
                    });
                }
            }
        }
        n
    }

    /// Records the kernel reported as lost since the last call (perf only;
    /// ring buffers use `<map>_lost_samples`, see
    /// [`LoadedGadget::read_lost_samples`]).
    pub fn take_lost(&mut self) -> u64 {
        std::mem::take(&mut self.lost)
    }
}

impl LoadedGadget {
    /// Whether the object has socket filters or tc classifiers attached per container.
    pub fn has_per_container_programs(&self) -> bool {
        self._own.per_container && self._own.net.iter().any(|p| p.tc.is_none() || !self._own.tc_iface)
    }

    /// Attaches the socket filters and tc classifiers to container `id` (IG's
    /// `AttachContainer`): one raw socket per network namespace (shared by the containers in
    /// it), and the classifiers on the host-side peers of its veth interfaces with the
    /// direction inverted (not for host-network containers, nor with `tc_iface`). `netns_path`
    /// is its `/proc/<pid>/ns/net`. Failures are returned as warnings (IG: "start tracing
    /// container …"), the container is then skipped for that program.
    pub fn attach_container(&mut self, id: &str, netns_path: &Path, netns: u64, host_network: bool) -> Vec<String> {
        let mut warnings = Vec::new();
        if !self._own.per_container {
            return warnings;
        }
        let tc_iface = self._own.tc_iface;
        let mut peers: Option<Result<Vec<(String, i32)>>> = None;
        for np in &mut self._own.net {
            match np.tc {
                None => {
                    if let Some((users, _)) = np.sockets.get_mut(&netns) {
                        users.insert(id.to_string());
                        continue;
                    }
                    match attach::SocketAttachment::attach_in(&np.array, Some(netns_path)) {
                        Ok(a) => {
                            np.sockets.insert(netns, (HashSet::from([id.to_string()]), a));
                        }
                        Err(e) => warnings.push(format!("program {}: start tracing container {id}: {e:#}", np.name)),
                    }
                }
                Some(dir) => {
                    if tc_iface || host_network {
                        continue;
                    }
                    let peers = peers.get_or_insert_with(|| attach_tc::veth_peers(netns_path));
                    let list = match peers {
                        Ok(l) => l,
                        Err(e) => {
                            warnings.push(format!("program {}: start tracing container {id}: {e:#}", np.name));
                            continue;
                        }
                    };
                    for (ifname, _) in list.iter() {
                        if let Some((users, _)) = np.filters.get_mut(ifname) {
                            users.insert(id.to_string());
                            continue;
                        }
                        match attach_tc::TcAttachment::attach(&np.array, None, ifname, dir.inverted(), netns, &np.name) {
                            Ok(a) => {
                                np.filters.insert(ifname.clone(), (HashSet::from([id.to_string()]), a));
                            }
                            Err(e) => warnings.push(format!("program {}: start tracing container {id}: {e:#}", np.name)),
                        }
                    }
                }
            }
        }
        warnings
    }

    /// Detaches container `id` (IG's `DetachContainer`): attachments no other container uses
    /// are closed (the raw socket; the tc filter is deleted).
    pub fn detach_container(&mut self, id: &str) {
        for np in &mut self._own.net {
            np.sockets.retain(|_, (users, _)| {
                users.remove(id);
                !users.is_empty()
            });
            np.filters.retain(|_, (users, _)| {
                users.remove(id);
                !users.is_empty()
            });
        }
    }

    /// Detaches every program (links, perf events, raw sockets, tc hooks) and unloads it,
    /// keeping the maps: the first step of stop, so that an event flood ends at its source
    /// before the buffers are drained. Idempotent.
    pub fn detach_programs(&mut self) {
        self._own.perf.clear();
        self._own.net.clear();
        // In parallel: each uprobe/kprobe detach waits for an RCU grace period in the kernel
        // (seconds in all for a gadget with many uprobes on a loaded machine); concurrent
        // detaches share them.
        std::thread::scope(|sc| {
            for (_, p) in self.ebpf.programs_mut() {
                sc.spawn(move || unload_program(p));
            }
        });
    }

}

fn unload_program(p: &mut Program) {
    {
        {
            let _ = match p {
                Program::KProbe(p) => p.unload(),
                Program::UProbe(p) => p.unload(),
                Program::TracePoint(p) => p.unload(),
                Program::RawTracePoint(p) => p.unload(),
                Program::BtfTracePoint(p) => p.unload(),
                Program::FEntry(p) => p.unload(),
                Program::FExit(p) => p.unload(),
                Program::Lsm(p) => p.unload(),
                Program::PerfEvent(p) => p.unload(),
                Program::SocketFilter(p) => p.unload(),
                Program::SchedClassifier(p) => p.unload(),
                Program::Iter(p) => p.unload(),
                _ => Ok(()),
            };
        }
    }
}

impl LoadedGadget {
    /// Where the network programs are attached now: (program, description) per attachment.
    pub fn net_attachments(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for np in &self._own.net {
            for a in np.fixed_sockets.iter().chain(np.sockets.values().map(|(_, a)| a)) {
                out.push((np.name.clone(), format!("socket netns {}", a.netns)));
            }
            for a in np.fixed_filters.iter().chain(np.filters.values().map(|(_, a)| a)) {
                out.push((np.name.clone(), format!("tc {} {} netns {}", a.direction.as_str(), a.ifname, a.netns)));
            }
        }
        out.sort();
        out
    }

    /// The analysis this gadget was loaded with.
    pub fn object(&self) -> &GadgetObject {
        &self.obj
    }

    /// What this object's maps and tracer buffers were estimated to cost.
    pub fn map_estimate(&self) -> &MapEstimate {
        &self.estimate
    }

    /// Notes from sanitising and loading (renamed/dropped sections, programs
    /// loaded without attaching).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Problems the gadget runs with (programs not attached, unresolved
    /// uprobe targets): meant for the log at warning level.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Per-program state.
    pub fn program_states(&self) -> &[(String, ProgramState)] {
        &self.states
    }

    /// Direct access to aya's [`Ebpf`].
    pub fn ebpf(&self) -> &Ebpf {
        &self.ebpf
    }

    pub fn ebpf_mut(&mut self) -> &mut Ebpf {
        &mut self.ebpf
    }

    /// Fd of a map still owned by the gadget (maps taken by
    /// [`Self::tracer_sources`] are gone).
    pub fn map_fd(&self, name: &str) -> Option<BorrowedFd<'_>> {
        self.ebpf.map(name).map(|m| map_data(m).fd().as_fd())
    }

    /// (name, kernel map type) of the maps still owned by the gadget.
    pub fn maps(&self) -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = self
            .ebpf
            .maps()
            .map(|(n, m)| {
                let t = map_data(m).info().ok().and_then(|i| i.map_type().ok()).map(|t| t as isize as u32).unwrap_or(0);
                (n.to_string(), t)
            })
            .collect();
        v.sort();
        v
    }

    /// Fd of a loaded program.
    pub fn program_fd(&self, name: &str) -> Option<BorrowedFd<'_>> {
        self.ebpf.program(name).and_then(|p| p.fd().ok()).map(|fd| fd.as_fd())
    }

    /// Takes the tracers' maps out of the gadget and opens readers on them.
    /// Call once.
    pub fn tracer_sources(&mut self) -> Result<Vec<TracerSource>> {
        let mut out = Vec::new();
        for (i, t) in self.obj.tracers.iter().enumerate() {
            let map = self
                .ebpf
                .take_map(&t.map_name)
                .ok_or_else(|| anyhow!("tracer {}: map {} not available (already taken?)", t.name, t.map_name))?;
            let inner = match t.map_type {
                TracerMapType::RingBuf => SourceInner::Ring(match map {
                    Map::RingBuf(d) => super::ring::RingReader::new(d)
                        .map_err(|e| anyhow!("tracer {}: ring buffer {}: {e:#}", t.name, t.map_name))?,
                    _ => bail!("tracer {}: map {} is not a ring buffer", t.name, t.map_name),
                }),
                TracerMapType::PerfEventArray => {
                    let mut array = PerfEventArray::try_from(map).map_err(|e| {
                        anyhow!("tracer {}: perf event array {}: {}", t.name, t.map_name, error_chain(&e))
                    })?;
                    let cpus = aya::util::online_cpus()
                        .map_err(|(p, e)| anyhow!("reading {p}: {e}"))?;
                    let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
                    if epfd < 0 {
                        bail!("epoll_create1: {}", std::io::Error::last_os_error());
                    }
                    let epoll = unsafe { OwnedFd::from_raw_fd(epfd) };
                    let mut bufs = Vec::new();
                    for cpu in cpus {
                        let b = array.open(cpu, Some(PERF_PAGES_PER_CPU)).map_err(|e| {
                            anyhow!("tracer {}: opening perf buffer on cpu {cpu}: {}", t.name, error_chain(&e))
                        })?;
                        let mut ev = libc::epoll_event { events: libc::EPOLLIN as u32, u64: cpu as u64 };
                        if unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, b.as_raw_fd(), &mut ev) } < 0 {
                            bail!("epoll_ctl: {}", std::io::Error::last_os_error());
                        }
                        bufs.push(b);
                    }
                    SourceInner::Perf { bufs, _array: array, epoll }
                }
            };
            out.push(TracerSource {
                tracer: i,
                tracer_name: t.name.clone(),
                map_name: t.map_name.clone(),
                inner,
                lost: 0,
            });
        }
        Ok(out)
    }

    /// Sums and zeroes the per-CPU `<map>_lost_samples` counter (0 if the
    /// object has no such map).
    pub fn read_lost_samples(&self, map: &str) -> u64 {
        let name = format!("{map}_lost_samples");
        let Some(fd) = self.map_fd(&name) else { return 0 };
        let Ok(m) = fd.try_clone_to_owned().and_then(super::maps::RawMap::from_fd) else { return 0 };
        let key = 0u32.to_ne_bytes();
        let mut vals = vec![0u8; m.value_size_for_lookup()];
        if !matches!(m.lookup(&key, &mut vals), Ok(true)) {
            return 0;
        }
        let sum: u64 = vals.chunks_exact(8).map(|c| u64::from_ne_bytes(c.try_into().unwrap())).sum();
        if sum != 0 {
            let _ = m.update(&key, &vec![0u8; vals.len()], 0);
        }
        sum
    }

    /// Runs an iterator (`GADGET_ITER` name): attaches each of its programs,
    /// reads the iterator fd to the end and concatenates the output.
    pub fn run_iter(&mut self, iter_name: &str) -> Result<Vec<u8>> {
        let it = self
            .obj
            .iterator(iter_name)
            .ok_or_else(|| anyhow!("iterator {iter_name} not found in the object"))?
            .clone();
        let mut out = Vec::new();
        for prog in &it.programs {
            if self.states.iter().any(|(n, s)| n == prog && *s == ProgramState::Disabled) {
                continue;
            }
            out.extend(self.run_iter_program(prog).with_context(|| format!("iterator {iter_name}"))?);
        }
        Ok(out)
    }

    /// Runs one loaded `iter/` program and returns everything it wrote.
    pub fn run_iter_program(&mut self, prog: &str) -> Result<Vec<u8>> {
        if let Some(map) = self.obj.iter_map_target(prog).map(str::to_string) {
            let mfd = iter_map_fd(&self.ebpf, prog, &map)?;
            let p = self.ebpf.program(prog).ok_or_else(|| anyhow!("program {prog} not found"))?;
            let pfd = p.fd().map_err(|e| anyhow!("program {prog}: {}", error_chain(&e)))?.as_fd();
            let link = raw::link_create_iter(pfd, Some(mfd.as_fd()))
                .map_err(|e| anyhow!("program {prog}: attaching map-element iterator on {map}: {e}"))?;
            let mut f = std::fs::File::from(
                raw::iter_create(link.as_fd()).map_err(|e| anyhow!("program {prog}: creating iterator fd: {e}"))?,
            );
            let mut buf = Vec::new();
            f.read_to_end(&mut buf).with_context(|| format!("program {prog}: reading iterator output"))?;
            return Ok(buf);
        }
        let p = self
            .ebpf
            .program_mut(prog)
            .ok_or_else(|| anyhow!("program {prog} not found"))?;
        let it: &mut Iter = p.try_into().map_err(|e| anyhow!("program {prog} is not an iterator: {}", error_chain(&e)))?;
        let id = it.attach().map_err(|e| anyhow!("program {prog}: attaching iterator: {}", error_chain(&e)))?;
        let link = it.take_link(id).map_err(|e| anyhow!("program {prog}: {}", error_chain(&e)))?;
        let mut f = link
            .into_file()
            .map_err(|e| anyhow!("program {prog}: creating iterator fd: {}", error_chain(&e)))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).with_context(|| format!("program {prog}: reading iterator output"))?;
        Ok(buf)
    }

}

/// Raw `bpf(2)` helpers for the attach-type probe (map operations live in `super::maps`).
pub mod raw {
    use std::io;
    use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

    pub const BPF_PROG_LOAD: i64 = 5;
    pub const BPF_RAW_TRACEPOINT_OPEN: i64 = 17;
    pub const BPF_LINK_CREATE: i64 = 28;

    pub(crate) fn sys_bpf(cmd: i64, attr: &mut [u8]) -> io::Result<i64> {
        // SAFETY: bpf(2) with a buffer of the given size.
        let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.as_mut_ptr(), attr.len() as u32) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r)
        }
    }

    pub(crate) fn put32(a: &mut [u8], off: usize, v: u32) {
        a[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    }
    pub(crate) fn put64(a: &mut [u8], off: usize, v: u64) {
        a[off..off + 8].copy_from_slice(&v.to_ne_bytes());
    }

    /// Loads `r0 = 0; exit` as the given program type.
    pub(super) fn load_trivial(prog_type: u32, expected_attach_type: u32, attach_btf_id: u32) -> io::Result<OwnedFd> {
        let insns: [u8; 16] = [0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0];
        let license = b"GPL\0";
        let mut a = [0u8; 128];
        put32(&mut a, 0, prog_type);
        put32(&mut a, 4, 2);
        put64(&mut a, 8, insns.as_ptr() as u64);
        put64(&mut a, 16, license.as_ptr() as u64);
        put32(&mut a, 68, expected_attach_type);
        put32(&mut a, 108, attach_btf_id);
        let fd = sys_bpf(BPF_PROG_LOAD, &mut a)?;
        Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }

    /// `BPF_RAW_TRACEPOINT_OPEN` (name = None for BTF-based tracing programs).
    pub(super) fn raw_tp_open(prog: BorrowedFd<'_>, name: Option<&std::ffi::CStr>) -> io::Result<OwnedFd> {
        let mut a = [0u8; 16];
        put64(&mut a, 0, name.map(|n| n.as_ptr() as u64).unwrap_or(0));
        put32(&mut a, 8, prog.as_raw_fd() as u32);
        let fd = sys_bpf(BPF_RAW_TRACEPOINT_OPEN, &mut a)?;
        Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }

    pub const BPF_ITER_CREATE: i64 = 33;
    const BPF_TRACE_ITER: u32 = 28;

    /// `BPF_LINK_CREATE` for an iterator; `map` fills `iter_info.map.map_fd`
    /// (`iter/bpf_map_elem`).
    pub(crate) fn link_create_iter(prog: BorrowedFd<'_>, map: Option<BorrowedFd<'_>>) -> io::Result<OwnedFd> {
        let mut info = [0u8; 16]; // union bpf_iter_link_info
        let mut a = [0u8; 48];
        put32(&mut a, 0, prog.as_raw_fd() as u32);
        put32(&mut a, 8, BPF_TRACE_ITER);
        if let Some(m) = map {
            put32(&mut info, 0, m.as_raw_fd() as u32);
            put64(&mut a, 16, info.as_mut_ptr() as u64);
            put32(&mut a, 24, info.len() as u32);
        }
        let fd = sys_bpf(BPF_LINK_CREATE, &mut a)?;
        Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }

    /// `BPF_ITER_CREATE`: a readable fd running the iterator link.
    pub(crate) fn iter_create(link: BorrowedFd<'_>) -> io::Result<OwnedFd> {
        let mut a = [0u8; 8];
        put32(&mut a, 0, link.as_raw_fd() as u32);
        let fd = sys_bpf(BPF_ITER_CREATE, &mut a)?;
        Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }

    /// `BPF_LINK_CREATE` with no target (iterators).
    pub(super) fn link_create(prog: BorrowedFd<'_>, attach_type: u32) -> io::Result<OwnedFd> {
        let mut a = [0u8; 32];
        put32(&mut a, 0, prog.as_raw_fd() as u32);
        put32(&mut a, 8, attach_type);
        let fd = sys_bpf(BPF_LINK_CREATE, &mut a)?;
        Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
    }
}

/// Which attach types work on this kernel. Cheap: tracepoint/kprobe/uprobe
/// are detected from tracefs and `/sys/bus/event_source`; raw_tracepoint,
/// tp_btf, fentry, fexit, iter, lsm and socket_filter by loading and
/// attaching a two-instruction program. Cached for the process.
pub fn probe_attach_types() -> Vec<(&'static str, bool)> {
    static CACHE: OnceLock<Vec<(&'static str, bool)>> = OnceLock::new();
    CACHE.get_or_init(probe_attach_types_uncached).clone()
}

fn probe_attach_types_uncached() -> Vec<(&'static str, bool)> {
    use aya_obj::btf::BtfKind;
    use aya_obj::generated::{bpf_attach_type as at, bpf_prog_type as pt};
    let exists = |p: &str| std::path::Path::new(p).exists();
    let tracefs = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
        .into_iter()
        .find(|p| exists(&format!("{p}/events")));
    let tracepoint = tracefs.is_some();
    let kprobe = exists("/sys/bus/event_source/devices/kprobe/type")
        || tracefs.is_some_and(|t| exists(&format!("{t}/kprobe_events")));
    let uprobe = exists("/sys/bus/event_source/devices/uprobe/type")
        || tracefs.is_some_and(|t| exists(&format!("{t}/uprobe_events")));

    let btf = kernel_btf();
    let func_id = |names: &[&str], kind: BtfKind| -> Option<u32> {
        let b = btf.as_deref()?;
        names.iter().find_map(|n| b.id_by_type_name_kind(n, kind).ok())
    };

    let raw_tp = raw::load_trivial(pt::BPF_PROG_TYPE_RAW_TRACEPOINT as u32, 0, 0)
        .and_then(|p| raw::raw_tp_open(p.as_fd(), Some(c"sys_enter")))
        .is_ok();
    let tracing = |attach: u32, id: Option<u32>| -> bool {
        let Some(id) = id else { return false };
        raw::load_trivial(pt::BPF_PROG_TYPE_TRACING as u32, attach, id)
            .and_then(|p| raw::raw_tp_open(p.as_fd(), None))
            .is_ok()
    };
    let tp_btf = tracing(
        at::BPF_TRACE_RAW_TP as u32,
        func_id(&["btf_trace_sched_process_exec", "btf_trace_sys_enter"], BtfKind::Typedef),
    );
    let fentry_fns = ["do_sys_openat2", "vfs_read", "security_file_open"];
    let fentry = tracing(at::BPF_TRACE_FENTRY as u32, func_id(&fentry_fns, BtfKind::Func));
    let fexit = tracing(at::BPF_TRACE_FEXIT as u32, func_id(&fentry_fns, BtfKind::Func));
    let iter = func_id(&["bpf_iter_task"], BtfKind::Func)
        .map(|id| {
            raw::load_trivial(pt::BPF_PROG_TYPE_TRACING as u32, at::BPF_TRACE_ITER as u32, id)
                .and_then(|p| raw::link_create(p.as_fd(), at::BPF_TRACE_ITER as u32))
                .is_ok()
        })
        .unwrap_or(false);
    let lsm = func_id(&["bpf_lsm_file_open"], BtfKind::Func)
        .map(|id| {
            raw::load_trivial(pt::BPF_PROG_TYPE_LSM as u32, at::BPF_LSM_MAC as u32, id)
                .and_then(|p| raw::raw_tp_open(p.as_fd(), None))
                .is_ok()
        })
        .unwrap_or(false);
    let socket = raw::load_trivial(pt::BPF_PROG_TYPE_SOCKET_FILTER as u32, 0, 0).is_ok();
    vec![
        ("tracepoint", tracepoint),
        ("raw_tracepoint", raw_tp),
        ("tp_btf", tp_btf),
        ("kprobe", kprobe),
        ("kretprobe", kprobe),
        ("uprobe", uprobe),
        ("uretprobe", uprobe),
        ("fentry", fentry),
        ("fexit", fexit),
        ("iter", iter),
        ("lsm", lsm),
        ("socket_filter", socket),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_are_grouped_by_reason() {
        let r = "could not resolve uprobe target 'libnss' (no libnss.so* in /etc/ld.so.cache)".to_string();
        let w = group_warnings(vec![
            ("a (section \"uprobe/libnss:PR_Read\")".into(), r.clone()),
            ("b (section \"uprobe/libc:x\")".into(), "other".into()),
            ("c (section \"uretprobe/libnss:PR_Read\")".into(), r.clone()),
        ]);
        assert_eq!(
            w,
            [
                format!("programs a (section \"uprobe/libnss:PR_Read\"), c (section \"uretprobe/libnss:PR_Read\") are loaded but not attached: {r}"),
                "program b (section \"uprobe/libc:x\") is loaded but not attached: other".to_string(),
            ]
        );
    }
}
