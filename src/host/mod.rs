//! The wasm host: per-gadget state kept in the wasmtime `Store`, the emission engine that runs
//! a data source's subscribers in priority order, and registration of the 41 `ig` imports.

pub mod datasource;
pub mod fields;
pub mod handles;
pub mod kallsyms;
pub mod maps;
pub mod misc;
pub mod syscalls;
pub mod wasi_log;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::{AsContextMut, Caller, Linker, Memory, StoreLimits, TypedFunc};
use wasmtime_wasi::p1::WasiP1Ctx;

use crate::datasource::{fit_record, PacketData, Record, Schema, SchemaRef, TYPE_ARRAY};
use crate::events::{Event, EventQueue, LogLevel, Logger, Queued};
use handles::{Handles, Obj};

/// Subscription types of the ABI.
pub const SUB_DATA: u32 = 1;
pub const SUB_ARRAY: u32 = 2;
pub const SUB_PACKET: u32 = 3;

/// Most packets a guest may emit from inside guest code before they are delivered (D3).
const MAX_PENDING: usize = 65536;

/// The guest's `dataSourceCallback(cbID, ds, data)` export.
pub type GuestCallback = TypedFunc<(i64, i32, i32), ()>;

/// Who receives a data source's packets.
#[derive(Clone, Debug)]
pub enum SubKind {
    /// The guest's `dataSourceCallback`, with the cbID and the DS handle it subscribed with.
    Wasm { cb_id: u64, sub_type: u32, ds_handle: u32 },
    /// An embedder subscription: packets are snapshotted into the event queue.
    Embedder { id: u64 },
    /// A built-in operator (`HostState::operators.ops[op]`).
    Operator { op: usize },
}

#[derive(Clone, Debug)]
pub struct Subscriber {
    pub priority: i32,
    pub kind: SubKind,
}

/// One registered data source.
pub struct DsEntry {
    pub schema: SchemaRef,
    pub subscribers: Arc<Vec<Subscriber>>,
    pub referenced: bool,
    /// Created by the embedder (host), the guest, or the eBPF side.
    pub origin: &'static str,
}

impl DsEntry {
    pub fn new(schema: Schema, origin: &'static str) -> DsEntry {
        DsEntry { schema: Arc::new(schema), subscribers: Arc::new(Vec::new()), referenced: true, origin }
    }

    /// Inserts keeping ascending priority, stable for ties, except that embedder
    /// subscriptions come after every wasm or operator subscription of the same priority
    /// (an embedder, like IG's `cli`, wants the finished packet).
    pub fn subscribe(&mut self, s: Subscriber) {
        let subs = Arc::make_mut(&mut self.subscribers);
        let embedder = matches!(s.kind, SubKind::Embedder { .. });
        let pos = subs
            .iter()
            .position(|x| {
                x.priority > s.priority
                    || (!embedder && x.priority == s.priority && matches!(x.kind, SubKind::Embedder { .. }))
            })
            .unwrap_or(subs.len());
        subs.insert(pos, s);
    }
}

/// A packet owned by the host while the guest or an emission holds it.
pub struct PacketSlot {
    pub ds: usize,
    pub data: PacketData,
    /// Being delivered right now: guest releases only drop their handle.
    pub in_flight: bool,
}

/// Lifecycle phase as the imports see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Init,
    PreStart,
    Started,
    Stopping,
    Stopped,
}

/// Everything one gadget instance owns, stored in its wasmtime `Store`.
pub struct HostState {
    pub wasi: WasiP1Ctx,
    pub limits: StoreLimits,
    pub gadget: Arc<str>,
    pub logger: Arc<Logger>,
    pub memory: Option<Memory>,
    /// `dataSourceCallback` (shared so a call does not clone its type information).
    pub callback: Option<Arc<GuestCallback>>,
    pub handles: Handles,
    pub dss: Vec<DsEntry>,
    pub ds_by_name: HashMap<String, usize>,
    packets: Vec<Option<PacketSlot>>,
    free_packets: Vec<u64>,
    pub params: BTreeMap<String, String>,
    pub config: serde_yaml::Value,
    pub mntns_filter: Option<HashSet<u64>>,
    /// Captured from `mntns_filter` when the gadget starts (like the reference host), plus
    /// the mount namespaces of selected containers (kept up to date while the gadget runs).
    pub active_mntns_filter: Option<crate::containers::MntnsSet>,
    /// Which containers this gadget's runtime sees (enrichment, selection, `containers`).
    pub container_view: crate::containers::View,
    pub queue: Arc<EventQueue>,
    /// While a batch is emitted, events for the embedder gather here and reach the queue
    /// together (one lock, one wake-up) at [`HostState::flush_staged`].
    staged: Option<Vec<Queued>>,
    /// The emptied `staged` vector, kept for the next batch.
    staged_spare: Vec<Queued>,
    pub guest_depth: u32,
    pending: VecDeque<(usize, u64)>,
    /// Deadline of the running guest call: `(timeout, expiry)`. The expiry is fixed at the
    /// call's first epoch tick (so a call pays for no clock read; deadlines are late by at
    /// most one tick).
    pub deadline: (Duration, Option<Instant>),
    pub call_timeout: Duration,
    pub abort: Arc<AtomicBool>,
    pub closed: Option<String>,
    pub phase: Phase,
    pub maps: maps::MapTable,
    /// The built-in operators and their pending subscriptions.
    pub operators: crate::operators::Operators,
    /// The gadget's resource budget.
    pub budget: crate::runtime::Limits,
    /// Host bytes held for the guest (names, tags, config), charged against
    /// `budget.host_bytes` together with `pending_bytes`.
    pub host_bytes: u64,
    /// Bytes of packets emitted from guest code and not yet delivered.
    pending_bytes: u64,
    /// The emission cascade in progress: (deadline, packets delivered, cut short).
    cascade: Option<(Instant, u32, bool)>,
    /// The overall deadline of the lifecycle call in progress (start or stop): no guest
    /// call, cascade or blocking read outlives it.
    pub lifecycle: Option<Lifecycle>,
}

/// An overall deadline of `start` or `stop`.
#[derive(Clone, Copy, Debug)]
pub struct Lifecycle {
    pub what: &'static str,
    pub timeout: Duration,
    pub expiry: Instant,
}

impl Lifecycle {
    pub fn new(what: &'static str, timeout: Duration) -> Lifecycle {
        Lifecycle { what, timeout, expiry: Instant::now() + timeout }
    }

    pub fn passed(&self) -> bool {
        Instant::now() >= self.expiry
    }

    /// The message of an interruption or refusal at this deadline.
    pub fn message(&self) -> String {
        format!("{} exceeded its overall deadline of {:?}", self.what, self.timeout)
    }
}

impl HostState {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        wasi: WasiP1Ctx,
        limits: StoreLimits,
        gadget: Arc<str>,
        logger: Arc<Logger>,
        queue: Arc<EventQueue>,
        abort: Arc<AtomicBool>,
        call_timeout: Duration,
        config: serde_yaml::Value,
        budget: crate::runtime::Limits,
    ) -> HostState {
        HostState {
            wasi,
            limits,
            gadget,
            logger,
            memory: None,
            callback: None,
            handles: Handles::default(),
            dss: Vec::new(),
            ds_by_name: HashMap::new(),
            packets: Vec::new(),
            free_packets: Vec::new(),
            params: BTreeMap::new(),
            config,
            mntns_filter: None,
            active_mntns_filter: None,
            container_view: crate::containers::View::ALL,
            queue,
            staged: None,
            staged_spare: Vec::new(),
            guest_depth: 0,
            pending: VecDeque::new(),
            deadline: (call_timeout, None),
            call_timeout,
            abort,
            closed: None,
            phase: Phase::Init,
            maps: maps::MapTable::default(),
            operators: crate::operators::Operators::default(),
            budget,
            host_bytes: 0,
            pending_bytes: 0,
            cascade: None,
            lifecycle: None,
        }
    }

    /// Starts gathering embedder events of a batch emission.
    pub fn stage_events(&mut self) {
        if self.staged.is_none() {
            self.staged = Some(std::mem::take(&mut self.staged_spare));
        }
    }

    /// Queues the events gathered since [`HostState::stage_events`] and stops gathering.
    pub fn flush_staged(&mut self) {
        if let Some(mut v) = self.staged.take() {
            self.queue.push_many(&mut v);
            v.clear();
            if v.capacity() <= 1 << 16 {
                self.staged_spare = v;
            }
        }
    }

    fn push_event(&mut self, sub: u64, event: Event) {
        match &mut self.staged {
            Some(v) => v.push(Queued { sub, event }),
            None => {
                self.queue.push(sub, event);
            }
        }
    }

    /// Called at each epoch tick while guest code runs: whether the call's deadline passed.
    pub fn deadline_passed(&mut self) -> bool {
        let now = Instant::now();
        match self.deadline.1 {
            Some(d) => now >= d,
            None => {
                self.deadline.1 = Some(now + self.deadline.0);
                false
            }
        }
    }

    pub fn log(&self, level: LogLevel, msg: &str) {
        self.logger.log(level, &self.gadget, msg);
    }

    /// Charges `n` bytes held on the guest's behalf against `budget.host_bytes`; false (and
    /// a warning naming `func`) when they do not fit.
    pub fn charge_host(&mut self, func: &str, n: u64) -> bool {
        let used = self.host_bytes.saturating_add(self.pending_bytes);
        if used.saturating_add(n) > self.budget.host_bytes {
            self.warn(format!(
                "{func}: refused: {n} bytes requested, {used} of the gadget's {} host bytes in use",
                self.budget.host_bytes
            ));
            return false;
        }
        self.host_bytes += n;
        true
    }

    /// Whether one more data source fits `budget.datasources`.
    pub fn datasource_room(&self) -> Result<(), String> {
        if self.dss.len() >= self.budget.datasources as usize {
            return Err(format!("the gadget already created {} data sources (limit {})", self.dss.len(), self.budget.datasources));
        }
        Ok(())
    }

    /// The instant the running guest call must end by (its deadline, or now + the call
    /// timeout when no guest call runs).
    pub fn call_expiry(&self) -> Instant {
        let call = self.deadline.1.unwrap_or_else(|| Instant::now() + self.deadline.0);
        match self.lifecycle {
            Some(l) => call.min(l.expiry),
            None => call,
        }
    }

    pub fn warn(&self, msg: impl AsRef<str>) {
        self.log(LogLevel::Warn, msg.as_ref());
    }

    // ----- data sources -----

    /// Registers a data source (replacing an existing one of the same name in the registry,
    /// like the reference host) and applies gadget.yaml `datasources.<name>` configuration.
    pub fn add_datasource(&mut self, mut schema: Schema, origin: &'static str) -> usize {
        self.apply_ds_config(&mut schema);
        let idx = self.dss.len();
        self.ds_by_name.insert(schema.name.clone(), idx);
        self.dss.push(DsEntry::new(schema, origin));
        idx
    }

    /// Looks a referenced data source up by exact name.
    pub fn find_datasource(&self, name: &str) -> Option<usize> {
        self.ds_by_name.get(name).copied().filter(|&i| self.dss[i].referenced)
    }

    /// Applies the `datasources` configuration again to every registered data source (after
    /// annotations were added to it, e.g. IG's `--annotate`). Values only add or replace.
    pub fn reapply_ds_config(&mut self) {
        for i in 0..self.dss.len() {
            if self.ds_config(&self.dss[i].schema.name).is_none() {
                continue;
            }
            let mut schema = (*self.dss[i].schema).clone();
            self.apply_ds_config(&mut schema);
            // Tags were applied at registration already: keep each once.
            fn dedup(v: &mut Vec<String>) {
                let mut seen = std::collections::HashSet::new();
                v.retain(|t| seen.insert(t.clone()));
            }
            dedup(&mut schema.tags);
            for f in &mut schema.fields {
                dedup(&mut f.tags);
            }
            self.dss[i].schema = Arc::new(schema);
        }
    }

    fn ds_config(&self, ds: &str) -> Option<&serde_yaml::Value> {
        self.config.get("datasources")?.get(ds)
    }

    fn apply_ds_config(&self, schema: &mut Schema) {
        let Some(cfg) = self.ds_config(&schema.name).cloned() else { return };
        if let Some(a) = cfg.get("annotations").and_then(|v| v.as_mapping()) {
            for (k, v) in a {
                if let (Some(k), Some(v)) = (k.as_str(), yaml_scalar(v)) {
                    schema.annotations.insert(k.to_ascii_lowercase(), v);
                }
            }
        }
        if let Some(t) = cfg.get("tags").and_then(|v| v.as_sequence()) {
            schema.tags.extend(t.iter().filter_map(yaml_scalar));
        }
        for i in 0..schema.fields.len() {
            let name = schema.fields[i].name.clone();
            self.apply_field_config_to(schema, i, &name, &cfg);
        }
    }

    /// Applies `datasources.<ds>.fields.<name>` annotations/tags (with templates) to a field.
    pub fn apply_field_config(&self, schema: &mut Schema, idx: usize) {
        let Some(cfg) = self.ds_config(&schema.name).cloned() else { return };
        let name = schema.fields[idx].name.clone();
        self.apply_field_config_to(schema, idx, &name, &cfg);
    }

    fn apply_field_config_to(&self, schema: &mut Schema, idx: usize, name: &str, cfg: &serde_yaml::Value) {
        let Some(f) = cfg.get("fields").and_then(|f| f.get(name)) else { return };
        let mut ann = BTreeMap::new();
        if let Some(a) = f.get("annotations").and_then(|v| v.as_mapping()) {
            for (k, v) in a {
                if let (Some(k), Some(v)) = (k.as_str(), yaml_scalar(v)) {
                    // Keys are case-insensitive (IG reads them through viper).
                    let k = k.to_ascii_lowercase();
                    if k == "template" {
                        crate::image::metadata::apply_annotations_template(&v, &mut ann);
                    }
                    ann.insert(k, v);
                }
            }
        }
        let tags: Vec<String> = f
            .get("tags")
            .and_then(|v| v.as_sequence())
            .map(|s| s.iter().filter_map(yaml_scalar).collect())
            .unwrap_or_default();
        schema.apply_field_config(idx, &ann, &tags);
    }

    // ----- packets -----

    pub fn new_packet(&mut self, ds: usize) -> u64 {
        let data = if self.dss[ds].schema.ds_type == TYPE_ARRAY {
            PacketData::Array(Vec::new())
        } else {
            PacketData::Single(self.dss[ds].schema.new_record())
        };
        self.insert_packet(PacketSlot { ds, data, in_flight: false })
    }

    pub fn insert_packet(&mut self, slot: PacketSlot) -> u64 {
        if let Some(id) = self.free_packets.pop() {
            self.packets[id as usize] = Some(slot);
            id
        } else {
            self.packets.push(Some(slot));
            (self.packets.len() - 1) as u64
        }
    }

    pub fn packet(&self, id: u64) -> Option<&PacketSlot> {
        self.packets.get(id as usize).and_then(|p| p.as_ref())
    }

    pub fn packet_mut(&mut self, id: u64) -> Option<&mut PacketSlot> {
        self.packets.get_mut(id as usize).and_then(|p| p.as_mut())
    }

    /// Runs operator `op` on packet `pid`; `false` means the operator dropped it.
    fn run_operator(&mut self, op: usize, pid: u64) -> bool {
        let Some(slot) = self.packets.get_mut(pid as usize).and_then(|p| p.as_mut()) else { return false };
        // Borrowed, not cloned: the schema's reference count is shared with the threads that
        // drop finished events.
        let schema = &self.dss[slot.ds].schema;
        match &mut slot.data {
            PacketData::Single(r) => fit_record(&schema, r),
            PacketData::Array(v) => v.iter_mut().for_each(|r| fit_record(&schema, r)),
        }
        let Some(o) = self.operators.ops.get_mut(op) else { return true };
        let cx = crate::operators::OpCtx { logger: &self.logger, gadget: &self.gadget };
        o.run(&cx, schema, &mut slot.data)
    }

    /// Adds the operator subscriptions planned for `stage`.
    pub fn subscribe_operators(&mut self, stage: crate::operators::Stage) {
        for p in self.operators.take_stage(stage) {
            if let Some(&i) = self.ds_by_name.get(&p.ds) {
                self.dss[i].subscribe(Subscriber { priority: p.priority, kind: SubKind::Operator { op: p.op } });
            }
        }
    }

    pub fn take_packet(&mut self, id: u64) -> Option<PacketSlot> {
        let p = self.packets.get_mut(id as usize)?.take()?;
        self.free_packets.push(id);
        Some(p)
    }

    /// Frees a packet unless it is being delivered.
    pub fn release_packet(&mut self, id: u64) {
        if self.packet(id).map(|p| !p.in_flight).unwrap_or(false) {
            self.take_packet(id);
        }
    }

    /// Drops every packet and handle (at Stop, D8).
    pub fn clear_objects(&mut self) {
        self.handles.clear();
        self.packets.clear();
        self.free_packets.clear();
        self.pending.clear();
        self.pending_bytes = 0;
    }

    /// The record a Data-role handle (or composite element handle) refers to, with its
    /// data source.
    pub fn resolve_data(&self, h: u32) -> Option<(usize, &Record)> {
        let (pid, idx) = self.data_target(h)?;
        let slot = self.packet(pid)?;
        let rec = match (&slot.data, idx) {
            (PacketData::Single(r), None) => r,
            (PacketData::Array(v), Some(i)) => v.get(i)?,
            _ => return None,
        };
        Some((slot.ds, rec))
    }

    pub fn resolve_data_mut(&mut self, h: u32) -> Option<(usize, &mut Record)> {
        let (pid, idx) = self.data_target(h)?;
        let slot = self.packets.get_mut(pid as usize)?.as_mut()?;
        let ds = slot.ds;
        let rec = match (&mut slot.data, idx) {
            (PacketData::Single(r), None) => r,
            (PacketData::Array(v), Some(i)) => v.get_mut(i)?,
            _ => return None,
        };
        Some((ds, rec))
    }

    fn data_target(&self, h: u32) -> Option<(u64, Option<usize>)> {
        if let Some((arr, idx)) = handles::decompose(h) {
            return match self.handles.get(arr)? {
                Obj::Array(pid) => Some((*pid, Some(idx as usize))),
                _ => None,
            };
        }
        match self.handles.get(h)? {
            Obj::Single(pid) | Obj::NewElement(pid) => Some((*pid, None)),
            Obj::Element(pid, i) => Some((*pid, Some(*i))),
            _ => None,
        }
    }
}

/// A YAML scalar as text (strings, numbers, bools).
pub fn yaml_scalar(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Error raised by the epoch callback when a guest call must end.
#[derive(Debug)]
pub struct Interrupted(pub String);

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for Interrupted {}

/// Error raised when a host import closes the module (bad errPtr): every later call fails.
#[derive(Debug)]
pub struct ModuleClosed(pub String);

impl std::fmt::Display for ModuleClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "module closed: {}", self.0)
    }
}
impl std::error::Error for ModuleClosed {}

// ----- emission -----

/// Bytes of a packet's payloads (what holding it costs the host).
fn packet_bytes(p: &PacketData) -> u64 {
    let rec = |r: &Record| r.iter().map(|s| s.len() as u64 + 24).sum::<u64>();
    match p {
        PacketData::Single(r) => rec(r),
        PacketData::Array(v) => v.iter().map(rec).sum(),
    }
}

/// Emits packet `pid` into data source `ds`. Emits made while guest code runs are queued and
/// delivered when the outermost guest call returns (D3: no re-entrant delivery, no deadlock).
/// Returns false if the packet could not be queued, or if the emission cascade it started
/// (callbacks emitting, whose emits run callbacks that emit, ...) was cut short because it
/// exceeded `Limits::cascade_packets` packets or the guest-call deadline.
pub fn emit(mut ctx: impl AsContextMut<Data = HostState>, ds: usize, pid: u64) -> bool {
    let mut ctx = ctx.as_context_mut();
    let st = ctx.data_mut();
    if st.guest_depth > 0 {
        let refuse = if matches!(st.cascade, Some((_, _, true))) {
            Some("the emission cascade was cut short".to_string())
        } else if st.pending.len() >= MAX_PENDING {
            Some(format!("{MAX_PENDING} nested packets already pending"))
        } else {
            let n = st.packet(pid).map(|p| packet_bytes(&p.data)).unwrap_or(0);
            let used = st.host_bytes + st.pending_bytes;
            if used + n > st.budget.host_bytes {
                Some(format!("{n} bytes would exceed the gadget's {} host bytes ({used} in use)", st.budget.host_bytes))
            } else {
                st.pending_bytes += n;
                None
            }
        };
        if let Some(why) = refuse {
            st.queue.stats.dropped_nested.fetch_add(1, Ordering::Relaxed);
            st.warn(format!("emit from inside guest code refused: {why}"));
            st.take_packet(pid);
            return false;
        }
        st.pending.push_back((ds, pid));
        return true;
    }
    let (own, now) = begin_cascade(st);
    count_cascade(&mut ctx, false, now);
    deliver(&mut ctx, ds, pid);
    drain_inner(&mut ctx);
    end_cascade(ctx.data_mut(), own)
}

/// Starts an emission cascade unless one runs; returns whether this call owns it, and then
/// the time it started (for the first delivery's deadline check).
fn begin_cascade(st: &mut HostState) -> (bool, Option<Instant>) {
    if st.cascade.is_some() {
        return (false, None);
    }
    let now = Instant::now();
    let mut deadline = now + st.call_timeout;
    if let Some(l) = st.lifecycle {
        deadline = deadline.min(l.expiry);
    }
    st.cascade = Some((deadline, 0, false));
    (true, Some(now))
}

/// Ends the cascade if `own`; returns false if it was cut short.
fn end_cascade(st: &mut HostState, own: bool) -> bool {
    let cut = matches!(st.cascade, Some((_, _, true)));
    if own {
        st.cascade = None;
    }
    !cut
}

/// Counts one delivery of the cascade; when the cascade is over its packet count or its
/// deadline, cuts it: the packets still pending are dropped and counted. `now`: the current
/// time when the caller just read it.
fn count_cascade(ctx: &mut wasmtime::StoreContextMut<'_, HostState>, holding: bool, now: Option<Instant>) -> bool {
    let st = ctx.data_mut();
    let max = st.budget.cascade_packets;
    let Some((deadline, n, cut)) = st.cascade else { return true };
    if cut {
        return false;
    }
    let n = n + 1;
    if n <= max && now.unwrap_or_else(Instant::now) < deadline && !st.abort.load(Ordering::Relaxed) {
        st.cascade = Some((deadline, n, false));
        return true;
    }
    st.cascade = Some((deadline, n, true));
    let delivered = n - 1;
    // The packet about to be delivered (if the caller holds one) is dropped too.
    let dropped = st.pending.len() + holding as usize;
    st.warn(format!(
        "emission cascade cut short after {delivered} packets (limit {max} packets or the {:?} call deadline): \
         {dropped} pending packets dropped; later emits from guest code fail until it ends",
        st.call_timeout
    ));
    st.queue.stats.dropped_nested.fetch_add(dropped as u64, Ordering::Relaxed);
    while let Some((_, pid)) = st.pending.pop_front() {
        st.take_packet(pid);
    }
    st.pending_bytes = 0;
    false
}

/// Delivers packets that guest code emitted, once no guest code is running. Returns false
/// if the emission cascade was cut short (see [`emit`]).
pub fn drain_pending(mut ctx: impl AsContextMut<Data = HostState>) -> bool {
    let mut ctx = ctx.as_context_mut();
    if ctx.data().guest_depth > 0 || ctx.data().pending.is_empty() {
        return true;
    }
    let (own, _) = begin_cascade(ctx.data_mut());
    drain_inner(&mut ctx);
    end_cascade(ctx.data_mut(), own)
}

fn drain_inner(ctx: &mut wasmtime::StoreContextMut<'_, HostState>) {
    while ctx.data().guest_depth == 0 {
        let Some((ds, pid)) = ctx.data_mut().pending.pop_front() else { break };
        let st = ctx.data_mut();
        let n = st.packet(pid).map(|p| packet_bytes(&p.data)).unwrap_or(0);
        st.pending_bytes = st.pending_bytes.saturating_sub(n);
        if !count_cascade(ctx, true, None) {
            ctx.data_mut().take_packet(pid);
            break;
        }
        deliver(ctx, ds, pid);
    }
}

fn deliver(ctx: &mut wasmtime::StoreContextMut<'_, HostState>, ds: usize, pid: u64) {
    let subs = ctx.data().dss[ds].subscribers.clone();
    if let Some(p) = ctx.data_mut().packet_mut(pid) {
        p.in_flight = true;
    } else {
        return;
    }
    let last = subs.len().saturating_sub(1);
    for (i, s) in subs.iter().enumerate() {
        match &s.kind {
            SubKind::Embedder { id } => {
                let st = ctx.data_mut();
                let schema = st.dss[ds].schema.clone();
                let data = if i == last {
                    match st.take_packet(pid) {
                        Some(p) => p.data,
                        None => return,
                    }
                } else {
                    match st.packet(pid) {
                        Some(p) => p.data.clone(),
                        None => return,
                    }
                };
                let data = normalize(&st.dss[ds].schema, data);
                st.push_event(*id, Event { schema, data });
                if i == last {
                    return;
                }
            }
            SubKind::Operator { op } => {
                if !ctx.data_mut().run_operator(*op, pid) {
                    let st = ctx.data_mut();
                    if let Some(p) = st.take_packet(pid) {
                        st.dss[ds].schema.pool.put_many(p.data.into_records());
                    }
                    return;
                }
            }
            SubKind::Wasm { cb_id, sub_type, ds_handle } => {
                let is_array = matches!(ctx.data().packet(pid).map(|p| &p.data), Some(PacketData::Array(_)));
                match (*sub_type, is_array) {
                    (SUB_DATA, false) | (SUB_PACKET, false) => {
                        call_with_temp(ctx, *cb_id, *ds_handle, Obj::Single(pid))
                    }
                    (SUB_ARRAY, true) | (SUB_PACKET, true) => {
                        call_with_temp(ctx, *cb_id, *ds_handle, Obj::Array(pid))
                    }
                    (SUB_DATA, true) => {
                        let mut i = 0;
                        loop {
                            let len = match ctx.data().packet(pid).map(|p| &p.data) {
                                Some(PacketData::Array(v)) => v.len(),
                                _ => 0,
                            };
                            if i >= len {
                                break;
                            }
                            call_with_temp(ctx, *cb_id, *ds_handle, Obj::Element(pid, i));
                            i += 1;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    let st = ctx.data_mut();
    if let Some(p) = st.take_packet(pid) {
        st.dss[ds].schema.pool.put_many(p.data.into_records());
    }
}

/// Makes every record of an outgoing packet as long as the current schema.
fn normalize(schema: &Schema, mut data: PacketData) -> PacketData {
    match &mut data {
        PacketData::Single(r) => fit_record(schema, r),
        PacketData::Array(v) => v.iter_mut().for_each(|r| fit_record(schema, r)),
    }
    data
}

fn call_with_temp(ctx: &mut wasmtime::StoreContextMut<'_, HostState>, cb_id: u64, ds_handle: u32, obj: Obj) {
    let h = ctx.data_mut().handles.add(obj);
    if h == 0 {
        let st = ctx.data();
        st.queue.stats.guest_traps.fetch_add(1, Ordering::Relaxed);
        st.warn("too many open handles: event not delivered to the guest callback");
        return;
    }
    if let Err(e) = call_guest_callback(ctx, cb_id, ds_handle, h) {
        let st = ctx.data();
        st.queue.stats.guest_traps.fetch_add(1, Ordering::Relaxed);
        st.warn(format!("dataSourceCallback failed (event continues down the chain): {e:#}"));
    }
    ctx.data_mut().handles.remove(h);
}

fn call_guest_callback(
    ctx: &mut wasmtime::StoreContextMut<'_, HostState>,
    cb_id: u64,
    ds_handle: u32,
    data: u32,
) -> wasmtime::Result<()> {
    let Some(f) = ctx.data().callback.clone() else { return Ok(()) };
    if let Some(reason) = &ctx.data().closed {
        wasmtime::bail!("module closed: {reason}");
    }
    // Inside an emission cascade the callback must also end by the cascade's deadline.
    let timeout = ctx.data().cascade.map(|(d, _, _)| {
        d.saturating_duration_since(Instant::now()).min(ctx.data().call_timeout).max(Duration::from_millis(1))
    });
    guest_call(ctx, timeout, |ctx| f.call(ctx, (cb_id as i64, ds_handle as i32, data as i32)))
}

/// Runs guest code under a deadline: sets up the depth counter and the epoch deadline.
pub fn guest_call<R>(
    ctx: &mut wasmtime::StoreContextMut<'_, HostState>,
    timeout: Option<Duration>,
    f: impl FnOnce(&mut wasmtime::StoreContextMut<'_, HostState>) -> wasmtime::Result<R>,
) -> wasmtime::Result<R> {
    let st = ctx.data_mut();
    let saved = st.deadline;
    st.deadline = (timeout.unwrap_or(st.call_timeout), None);
    st.guest_depth += 1;
    let r = f(ctx);
    let st = ctx.data_mut();
    st.guest_depth -= 1;
    st.deadline = saved;
    if st.guest_depth > 0 && saved.1.is_none() {
        // The outer call keeps counting from now on (its first tick may have been ours).
        st.deadline.1 = Some(Instant::now() + saved.0);
    }
    if let Err(e) = &r {
        if let Some(c) = e.downcast_ref::<ModuleClosed>() {
            st.closed = Some(c.0.clone());
        }
    }
    r
}

// ----- guest memory helpers -----

/// Reads a bufPtr (`len << 32 | addr`) from guest memory. 0 is the empty buffer.
pub fn read_buf(mem: &[u8], bp: u64) -> Option<&[u8]> {
    if bp == 0 {
        return Some(&[]);
    }
    let addr = (bp & 0xffff_ffff) as usize;
    let len = (bp >> 32) as usize;
    mem.get(addr..addr.checked_add(len)?)
}

/// Reads a bufPtr string (lossless UTF-8 or lossy replacement).
pub fn read_str(mem: &[u8], bp: u64) -> Option<String> {
    read_buf(mem, bp).map(|b| String::from_utf8_lossy(b).into_owned())
}

/// Writes `data` into the bufPtr `dst` if it fits (`len(data) <= len(dst)`).
pub fn write_buf(mem: &mut [u8], dst: u64, data: &[u8]) -> bool {
    let addr = (dst & 0xffff_ffff) as usize;
    let len = (dst >> 32) as usize;
    if data.len() > len {
        return false;
    }
    match addr.checked_add(data.len()).and_then(|end| mem.get_mut(addr..end)) {
        Some(d) => {
            d.copy_from_slice(data);
            true
        }
        None => false,
    }
}

/// Guest memory and host state together.
pub fn parts<'a>(caller: &'a mut Caller<'_, HostState>) -> (&'a mut [u8], &'a mut HostState) {
    match caller.data().memory {
        Some(m) => m.data_and_store_mut(caller),
        None => (&mut [], caller.data_mut()),
    }
}

/// Registers WASI preview1 and the 41 `ig` imports.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p1::add_to_linker_sync(linker, |s: &mut HostState| &mut s.wasi)?;
    misc::register(linker)?;
    datasource::register(linker)?;
    fields::register(linker)?;
    maps::register(linker)?;
    Ok(())
}

/// Names of all 41 imports of module `ig`.
pub const IMPORTS: [&str; 41] = [
    "gadgetLog",
    "gadgetShouldLog",
    "newDataSource",
    "getDataSource",
    "dataSourceSubscribe",
    "dataSourceGetField",
    "dataSourceAddField",
    "dataSourceNewPacketSingle",
    "dataSourceNewPacketArray",
    "dataSourceEmitAndRelease",
    "dataSourceRelease",
    "dataSourceUnreference",
    "dataSourceIsReferenced",
    "dataArrayNew",
    "dataArrayAppend",
    "dataArrayRelease",
    "dataArrayLen",
    "dataArrayGet",
    "fieldGetScalar",
    "fieldGetBuffer",
    "fieldSet",
    "fieldAddTag",
    "getParamValue",
    "setConfig",
    "newMap",
    "getMap",
    "mapLookup",
    "mapUpdate",
    "mapDelete",
    "mapRelease",
    "releaseHandle",
    "getSyscallName",
    "getSyscallID",
    "getSyscallDeclaration",
    "newPerfReader",
    "perfReaderPause",
    "perfReaderResume",
    "perfReaderRead",
    "perfReaderClose",
    "kallsymsSymbolExists",
    "shouldDiscardMntnsID",
];
