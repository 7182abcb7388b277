//! What crosses threads: events for the embedder (a bounded queue with an eventfd), gadget
//! statistics, and the gadget logger.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::datasource::{PacketData, SchemaRef};

/// Log levels of the guest ABI: 0 error, 1 warn, 2 info, 3 debug, 4 trace.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
    Trace = 4,
}

impl LogLevel {
    pub fn from_u32(v: u32) -> LogLevel {
        match v {
            0 => LogLevel::Error,
            1 => LogLevel::Warn,
            2 => LogLevel::Info,
            3 => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }
    pub fn parse(s: &str) -> Option<LogLevel> {
        Some(match s.to_ascii_lowercase().as_str() {
            "error" => LogLevel::Error,
            "warn" | "warning" => LogLevel::Warn,
            "info" => LogLevel::Info,
            "debug" => LogLevel::Debug,
            "trace" => LogLevel::Trace,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

/// A log sink: `(level, gadget name, message)`.
pub type LogFn = dyn Fn(LogLevel, &str, &str) + Send + Sync;

/// The logger of one runtime. Messages above `level` are dropped before formatting.
pub struct Logger {
    level: AtomicU32,
    sink: Option<Arc<LogFn>>,
}

impl Logger {
    pub fn new(level: LogLevel, sink: Option<Arc<LogFn>>) -> Logger {
        Logger { level: AtomicU32::new(level as u32), sink }
    }
    pub fn level(&self) -> LogLevel {
        LogLevel::from_u32(self.level.load(Ordering::Relaxed))
    }
    pub fn set_level(&self, l: LogLevel) {
        self.level.store(l as u32, Ordering::Relaxed)
    }
    pub fn enabled(&self, l: LogLevel) -> bool {
        self.sink.is_some() && (l as u32) <= self.level.load(Ordering::Relaxed)
    }
    pub fn log(&self, l: LogLevel, gadget: &str, msg: &str) {
        if self.enabled(l) {
            if let Some(s) = &self.sink {
                s(l, gadget, msg)
            }
        }
    }
}

/// One event as the embedder sees it: a snapshot of a packet after every subscriber with a
/// lower priority (wasm ones included) has run.
#[derive(Clone, Debug)]
pub struct Event {
    pub schema: SchemaRef,
    pub data: PacketData,
}

impl Event {
    /// IG's compact JSON (`ig run -o json`): one object, or one array for array packets.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(256);
        self.write_json(&mut out);
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Appends IG's compact JSON to `out` (no newline); the render plan is built once per
    /// schema.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let plan = self.schema.cache.get_or_init("", || crate::output::json::JsonPlan::new(&self.schema));
        plan.write_packet(&self.schema, &self.data, out);
    }

    /// Appends the event in an output mode as `ig run` prints it (`json`, `jsonpretty` and
    /// `yaml` with their trailing newline; `columns`: one row per record, each ending in a
    /// newline, with `fields` selecting columns like `--fields`). YAML elements that IG cannot
    /// serialize (control characters) are left out and reported as an error after the others
    /// were appended.
    pub fn write_format(&self, mode: &crate::output::OutputMode, fields: Option<&str>, out: &mut Vec<u8>) -> crate::Result<()> {
        use crate::output::OutputMode;
        match mode {
            OutputMode::Json => {
                self.write_json(out);
                out.push(b'\n');
            }
            OutputMode::JsonPretty => {
                let plan = self.schema.cache.get_or_init("", || crate::output::json::JsonPlan::new(&self.schema));
                plan.write_packet_pretty(&self.schema, &self.data, out);
                out.push(b'\n');
            }
            OutputMode::Yaml => {
                let plan = self.schema.cache.get_or_init("", || crate::output::json::JsonPlan::new(&self.schema));
                let mut w = crate::output::yaml::YamlWriter::new();
                if w.write_packet(&plan, &self.schema, &self.data, out) > 0 {
                    // Like IG, the elements go-yaml cannot take are left out (the others are
                    // in `out`) and the caller hears why.
                    let why = w.last_error.unwrap_or("serializing yaml");
                    return Err(crate::Error::new(crate::ErrorCode::InvalidArgument, why));
                }
            }
            OutputMode::Columns => {
                let plan = self.columns_plan(fields)?;
                let mut s = String::new();
                plan.rows(&self.schema, &self.data, &mut s);
                out.extend_from_slice(s.as_bytes());
            }
            OutputMode::None => {}
            OutputMode::Other(_) => crate::output::write_other(&self.schema, &self.data, out),
        }
        Ok(())
    }

    /// The columns header line (no newline) for `fields`.
    pub fn columns_header(&self, fields: Option<&str>) -> crate::Result<String> {
        let mut s = String::new();
        self.columns_plan(fields)?.header(&mut s);
        Ok(s)
    }

    /// The columns plan for `fields`, built once per schema and selection.
    fn columns_plan(&self, fields: Option<&str>) -> crate::Result<ColumnsRef> {
        let key = fields.unwrap_or("\0default");
        let plan = self.schema.cache.get_or_init(key, || {
            crate::output::columns::ColumnsPlan::new(&self.schema, fields).map_err(|e| e.to_string())
        });
        match &*plan {
            Ok(_) => Ok(ColumnsRef(plan)),
            Err(e) => Err(crate::Error::new(crate::ErrorCode::InvalidArgument, format!("fields: {e}"))),
        }
    }

    /// Number of records (1 for single packets).
    pub fn len(&self) -> usize {
        match &self.data {
            PacketData::Single(_) => 1,
            PacketData::Array(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn is_array(&self) -> bool {
        matches!(self.data, PacketData::Array(_))
    }
    pub fn record(&self, i: usize) -> Option<&crate::datasource::Record> {
        match &self.data {
            PacketData::Single(r) => (i == 0).then_some(r),
            PacketData::Array(v) => v.get(i),
        }
    }
}

/// A cached columns plan known to be valid.
struct ColumnsRef(std::sync::Arc<Result<crate::output::columns::ColumnsPlan, String>>);

impl std::ops::Deref for ColumnsRef {
    type Target = crate::output::columns::ColumnsPlan;
    fn deref(&self) -> &Self::Target {
        match &*self.0 {
            Ok(p) => p,
            Err(_) => unreachable!("ColumnsRef is only made from a valid plan"),
        }
    }
}

/// Per-gadget counters, readable from any thread.
#[derive(Default, Debug)]
pub struct Stats {
    /// Events handed to embedder callbacks.
    pub delivered: AtomicU64,
    /// Events dropped because the embedder queue was full.
    pub dropped_queue_full: AtomicU64,
    /// Traps inside guest callbacks (D4), and failed guest calls.
    pub guest_traps: AtomicU64,
    /// Nested emits refused because the pending queue was full (D3).
    pub dropped_nested: AtomicU64,
    /// Samples the kernel side reported lost (ring `_lost_samples`, perf lost records).
    pub lost_samples: AtomicU64,
}

/// A snapshot of [`Stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub delivered: u64,
    pub dropped_queue_full: u64,
    pub guest_traps: u64,
    pub dropped_nested: u64,
    pub lost_samples: u64,
    pub queued: u64,
}

/// Heap bytes an event holds (what queueing it costs): the allocated capacity of every
/// payload and record vector plus allocator overhead (16 bytes per allocation) and the
/// queue entry, so the byte budget bounds resident memory, not just payload lengths.
fn event_bytes(ev: &Event) -> u64 {
    const ALLOC: u64 = 16;
    let rec = |r: &crate::datasource::Record| {
        r.iter().map(|s| s.capacity().max(1) as u64 + ALLOC).sum::<u64>() + (r.capacity() * 24) as u64 + ALLOC
    };
    let entry = std::mem::size_of::<Queued>() as u64;
    match &ev.data {
        PacketData::Single(r) => rec(r) + entry,
        PacketData::Array(v) => v.iter().map(rec).sum::<u64>() + (v.capacity() * 24) as u64 + ALLOC + entry,
    }
}

/// A queued item: the embedder subscription it is for, and the event.
pub struct Queued {
    pub sub: u64,
    pub event: Event,
}

/// Bounded multi-producer queue drained by `poll`/`consume`. Producers never block: when the
/// queue is full the event is dropped and counted. The eventfd is readable while the queue is
/// non-empty.
pub struct EventQueue {
    inner: Mutex<Inner>,
    cond: Condvar,
    capacity: usize,
    /// Most bytes of queued event payloads (`u64::MAX`: unlimited).
    max_bytes: u64,
    efd: OwnedFd,
    /// Whether the embedder asked for the eventfd: until then pushes skip its syscalls.
    fd_armed: AtomicBool,
    signalled: AtomicBool,
    closed: AtomicBool,
    pub stats: Stats,
}

struct Inner {
    items: VecDeque<Queued>,
    /// Bytes of the queued events' payloads.
    bytes: u64,
    /// Threads blocked in `take`: pushes only wake the condition variable when one waits.
    waiters: usize,
}

impl EventQueue {
    pub fn new(capacity: usize) -> std::io::Result<EventQueue> {
        // SAFETY: plain syscall; the result is checked and owned below.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(EventQueue {
            inner: Mutex::new(Inner { items: VecDeque::with_capacity(capacity.min(4096)), bytes: 0, waiters: 0 }),
            cond: Condvar::new(),
            capacity: capacity.max(1),
            max_bytes: u64::MAX,
            // SAFETY: fd is a fresh descriptor we own.
            efd: unsafe { OwnedFd::from_raw_fd(fd) },
            fd_armed: AtomicBool::new(false),
            signalled: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            stats: Stats::default(),
        })
    }

    /// Limits the bytes of queued event payloads; events beyond are dropped and counted as
    /// `dropped_queue_full`.
    pub fn with_max_bytes(mut self, max: u64) -> EventQueue {
        self.max_bytes = max;
        self
    }

    /// Most bytes of queued event payloads (`u64::MAX`: unlimited).
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The eventfd. The first call arms it: from then on it is readable while the queue is
    /// non-empty (before, `push` and `take` skip its syscalls).
    pub fn fd(&self) -> RawFd {
        if !self.fd_armed.swap(true, Ordering::AcqRel) && !self.is_empty() {
            self.signal_fd();
        }
        self.efd.as_raw_fd()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues an event; returns false (and counts a drop) if the queue is full.
    pub fn push(&self, sub: u64, event: Event) -> bool {
        let n = event_bytes(&event);
        let mut q = self.lock();
        if q.items.len() >= self.capacity || q.bytes.saturating_add(n) > self.max_bytes {
            drop(q);
            self.stats.dropped_queue_full.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        q.bytes += n;
        q.items.push_back(Queued { sub, event });
        let was_empty = q.items.len() == 1;
        let waiters = q.waiters;
        drop(q);
        if was_empty {
            self.signal_nonempty(waiters);
        }
        true
    }

    /// Queues events in order under one lock (and at most one wake-up); events beyond the
    /// capacity are dropped and counted. Leaves `items` empty.
    pub fn push_many(&self, items: &mut Vec<Queued>) {
        if items.is_empty() {
            return;
        }
        let mut q = self.lock();
        let mut room = self.capacity.saturating_sub(q.items.len()).min(items.len());
        if self.max_bytes != u64::MAX {
            let mut b = q.bytes;
            for (i, it) in items.iter().take(room).enumerate() {
                let n = event_bytes(&it.event);
                if b.saturating_add(n) > self.max_bytes {
                    room = i;
                    break;
                }
                b += n;
            }
            q.bytes = b;
        }
        let was_empty = q.items.is_empty();
        let dropped = items.len().saturating_sub(room);
        // Draining drops what does not fit.
        q.items.extend(items.drain(..).take(room));
        let waiters = q.waiters;
        drop(q);
        if dropped > 0 {
            self.stats.dropped_queue_full.fetch_add(dropped as u64, Ordering::Relaxed);
        }
        if was_empty && room > 0 {
            self.signal_nonempty(waiters);
        }
    }

    /// After a push made the queue non-empty: signals the eventfd and wakes `take` if a
    /// thread waits there (`waiters`, read under the lock).
    fn signal_nonempty(&self, waiters: usize) {
        self.signal_fd();
        if waiters > 0 {
            self.cond.notify_all();
        }
    }

    fn signal_fd(&self) {
        if self.fd_armed.load(Ordering::Acquire) && !self.signalled.swap(true, Ordering::AcqRel) {
            let one: u64 = 1;
            // SAFETY: writing 8 bytes from a valid u64 to our eventfd.
            unsafe { libc::write(self.efd.as_raw_fd(), &one as *const u64 as *const libc::c_void, 8) };
        }
    }

    fn signal(&self) {
        self.signal_fd();
        self.cond.notify_all();
    }

    fn clear_signal(&self) {
        if !self.signalled.load(Ordering::Acquire) {
            return;
        }
        let mut v: u64 = 0;
        // SAFETY: reading 8 bytes into a valid u64 from our non-blocking eventfd.
        unsafe { libc::read(self.efd.as_raw_fd(), &mut v as *mut u64 as *mut libc::c_void, 8) };
        self.signalled.store(false, Ordering::Release);
    }

    /// Puts events that were taken but not dispatched back at the front of the queue (in
    /// order), regardless of capacity, and re-signals the eventfd.
    pub fn requeue_front(&self, items: VecDeque<Queued>) {
        if items.is_empty() {
            return;
        }
        let mut q = self.lock();
        for it in items.into_iter().rev() {
            if self.max_bytes != u64::MAX {
                q.bytes += event_bytes(&it.event);
            }
            q.items.push_front(it);
        }
        drop(q);
        self.signal();
    }

    /// Wakes waiters (used when the gadget stops, so poll does not sleep for its full timeout).
    pub fn wake(&self) {
        // Taking the lock orders this with a waiter that is between its checks and its wait.
        drop(self.lock());
        self.cond.notify_all();
    }

    /// Marks the queue closed: waits return at once.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        drop(self.lock());
        self.cond.notify_all();
    }

    pub fn reopen(&self) {
        self.closed.store(false, Ordering::Release);
    }

    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes up to `max` queued events, waiting up to `timeout` for the first one
    /// (`None` = wait forever, zero = don't wait).
    pub fn take(&self, max: usize, timeout: Option<Duration>, out: &mut VecDeque<Queued>) {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut q = self.lock();
        loop {
            if !q.items.is_empty() || self.closed.load(Ordering::Acquire) {
                break;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break;
            }
            q.waiters += 1;
            q = match deadline {
                None => self.cond.wait(q).unwrap_or_else(|e| e.into_inner()),
                Some(d) => self.cond.wait_timeout(q, d - now).unwrap_or_else(|e| e.into_inner()).0,
            };
            q.waiters -= 1;
        }
        let n = q.items.len().min(max);
        if self.max_bytes != u64::MAX {
            let taken: u64 = q.items.iter().take(n).map(|it| event_bytes(&it.event)).sum();
            q.bytes = q.bytes.saturating_sub(taken);
        }
        out.extend(q.items.drain(..n));
        if q.items.is_empty() {
            self.clear_signal();
        }
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            delivered: self.stats.delivered.load(Ordering::Relaxed),
            dropped_queue_full: self.stats.dropped_queue_full.load(Ordering::Relaxed),
            guest_traps: self.stats.guest_traps.load(Ordering::Relaxed),
            dropped_nested: self.stats.dropped_nested.load(Ordering::Relaxed),
            lost_samples: self.stats.lost_samples.load(Ordering::Relaxed),
            queued: self.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasource::{Schema, TYPE_SINGLE};

    #[test]
    fn full_queue_drops_and_counts() {
        let q = EventQueue::new(2).unwrap();
        let ev = Event { schema: Arc::new(Schema::new("x", TYPE_SINGLE)), data: PacketData::Single(vec![]) };
        assert!(q.push(1, ev.clone()));
        assert!(q.push(1, ev.clone()));
        assert!(!q.push(1, ev));
        assert_eq!(q.snapshot().dropped_queue_full, 1);
        let mut out = VecDeque::new();
        q.take(10, Some(Duration::ZERO), &mut out);
        assert_eq!(out.len(), 2);
        let t = Instant::now();
        q.take(10, Some(Duration::from_millis(30)), &mut out);
        assert!(t.elapsed() >= Duration::from_millis(30));
        assert_eq!(out.len(), 2);
    }

    fn readable(fd: RawFd) -> bool {
        let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd, no wait.
        unsafe { libc::poll(&mut p, 1, 0) == 1 }
    }

    #[test]
    fn eventfd_is_armed_on_first_request_and_tracks_the_queue() {
        let q = EventQueue::new(8).unwrap();
        let ev = Event { schema: Arc::new(Schema::new("x", TYPE_SINGLE)), data: PacketData::Single(vec![]) };
        q.push(1, ev.clone());
        // Requested while an event is already queued: readable at once.
        let fd = q.fd();
        assert!(readable(fd));
        let mut out = VecDeque::new();
        q.take(10, Some(Duration::ZERO), &mut out);
        assert!(!readable(fd));
        q.push(1, ev);
        assert!(readable(fd));
    }

    #[test]
    fn waiting_take_is_woken_by_a_push() {
        let q = Arc::new(EventQueue::new(8).unwrap());
        let q2 = q.clone();
        let t = std::thread::spawn(move || {
            let mut out = VecDeque::new();
            let start = Instant::now();
            q2.take(10, Some(Duration::from_secs(20)), &mut out);
            (out.len(), start.elapsed())
        });
        std::thread::sleep(Duration::from_millis(50));
        let ev = Event { schema: Arc::new(Schema::new("x", TYPE_SINGLE)), data: PacketData::Single(vec![]) };
        q.push(1, ev);
        let (n, waited) = t.join().unwrap();
        assert_eq!(n, 1);
        assert!(waited < Duration::from_secs(10), "take slept through the push: {waited:?}");
    }

    #[test]
    fn push_many_keeps_order_and_counts_what_does_not_fit() {
        let q = EventQueue::new(3).unwrap();
        let ev = Event { schema: Arc::new(Schema::new("x", TYPE_SINGLE)), data: PacketData::Single(vec![]) };
        q.push(1, ev.clone());
        let mut items: Vec<Queued> = (2..6).map(|sub| Queued { sub, event: ev.clone() }).collect();
        q.push_many(&mut items);
        assert!(items.is_empty());
        let mut out = VecDeque::new();
        q.take(10, Some(Duration::ZERO), &mut out);
        assert_eq!(out.iter().map(|x| x.sub).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(q.snapshot().dropped_queue_full, 2);
    }
}
