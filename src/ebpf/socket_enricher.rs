//! The socket enricher: the process-wide `gadget_sockets` map that Inspektor Gadget's
//! networking gadgets (trace_dns, trace_sni, tcpdump, trace_tcpdrop, trace_tcpretrans,
//! advise_networkpolicy) look up to attribute a packet or a `struct sock` to the process that
//! owns the socket (IG: `pkg/operators/socketenricher`, `pkg/socketenricher`,
//! `include/gadget/sockets-map.h`).
//!
//! * **Map**: HASH `gadget_sockets`, key `struct gadget_socket_key` (12 bytes: netns inode,
//!   family, protocol, zero pad, local port in host order, zero pad), value
//!   `struct gadget_socket_value` in IG's default runtime layout ([`VALUE_LAYOUT`], 1112 bytes:
//!   `cwd` and `exepath` of 512 bytes), 16384 entries. One map per process, shared by every
//!   running gadget that declares `gadget_sockets` (the gadget's own map is replaced by it) and
//!   reference-counted like IG's singleton: started by the first such gadget, stopped with
//!   the last ([`acquire`]).
//! * **Relocation target**: gadgets access the value with CO-RE (`preserve_access_index`);
//!   [`EXTRA_STRUCT`] is the runtime layout the loader resolves those relocations against
//!   (see [`super::object::sanitize_with_extra`]).
//! * **Filling** (BPF programs of our own, `src/ebpf/bpf/socket_enricher.bpf.c`, compiled by
//!   build.rs): at start an `iter/task_file` scan records every socket of every task (IG's
//!   initial scan, with `bpf_sock_from_file` instead of a kallsyms address). Then:
//!   - kernels with kprobes ([`Mode::Kprobes`]): IG's hooks — `inet_bind`/`inet6_bind`
//!     (entry + return), `tcp_connect` (entry + return), `udp_sendmsg`/`udpv6_sendmsg`,
//!     `inet_release`/`inet6_release`; released sockets are swept 5 s later by an
//!     `iter/bpf_map_elem` run every 2 s (IG's cleanup iterator);
//!   - kernels without kprobes ([`Mode::Tracepoints`]): `tp_btf/inet_sock_set_state` (TCP
//!     listen, TCP close), `tp_btf/net_dev_queue` (UDP senders and TCP connects: the first
//!     packet leaves in the sending task's context, before packet sockets see it), and
//!     `syscalls:sys_{enter,exit}_bind` (bound sockets); every 2 s the scan runs again and
//!     the sweep marks entries whose socket it did not see (closed UDP sockets, which no
//!     tracepoint reports) as released, then deletes them 5 s later, as IG does.

use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use aya::maps::{Array, MapData};
use aya::programs::{BtfTracePoint, Iter, KProbe, TracePoint};
use aya::{Ebpf, EbpfLoader};

use super::loader::{self, raw};
use super::object::ExtraStruct;

/// Name of the map gadgets declare.
pub const MAP_NAME: &str = "gadget_sockets";
/// `sizeof(struct gadget_socket_key)`.
pub const KEY_SIZE: u32 = 12;
/// IG's `GADGET_MAX_SOCKETS`.
pub const MAX_SOCKETS: u32 = 16384;
/// Size of the runtime value (IG's default `socket-enricher-fields`: cwd=512,exepath=512).
pub const VALUE_SIZE: u32 = 1112;
/// The runtime value layout: (member, byte offset, byte size), as IG's `generateBTFSpec`
/// builds it: the members before `optional_fields_start`, then `cwd` and `exepath`.
pub const VALUE_LAYOUT: &[(&str, u32, u32)] = &[
    ("mntns", 0, 8),
    ("pid_tgid", 8, 8),
    ("uid_gid", 16, 8),
    ("task", 24, 16),
    ("ptask", 40, 16),
    ("sock", 56, 8),
    ("deletion_timestamp", 64, 8),
    ("ppid", 72, 4),
    ("ptid", 76, 4),
    ("ipv6only", 80, 1),
    ("cwd", 88, 512),
    ("exepath", 600, 512),
];
/// The runtime struct as an extra CO-RE relocation target.
pub const EXTRA_STRUCT: ExtraStruct = ExtraStruct { name: "gadget_socket_value", size: VALUE_SIZE, members: VALUE_LAYOUT };

/// How often the map is swept (IG: 2 s), and on kernels without kprobes rescanned.
const PERIOD: Duration = Duration::from_secs(2);

static OBJECT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/socket_enricher.bpf.o"));

/// How the map is kept current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// IG's kprobes (kernels with a kprobe PMU or `kprobe_events`).
    Kprobes,
    /// Tracepoints and a periodic socket scan (kernels without kprobes).
    Tracepoints,
}

impl Mode {
    /// Kprobes when this kernel has them, else tracepoints.
    pub fn detect() -> Mode {
        let kprobes = std::path::Path::new("/sys/bus/event_source/devices/kprobe/type").exists()
            || std::path::Path::new("/sys/kernel/tracing/kprobe_events").exists()
            || std::path::Path::new("/sys/kernel/debug/tracing/kprobe_events").exists();
        if kprobes {
            Mode::Kprobes
        } else {
            Mode::Tracepoints
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Mode::Kprobes => "kprobes",
            Mode::Tracepoints => "tracepoints + periodic socket scan",
        }
    }
}

/// Counters of the maintenance thread.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Scans run (the initial one included).
    pub scans: u64,
    /// Sweeps run.
    pub sweeps: u64,
    /// Scans or sweeps that failed (the last error is in `last_error`).
    pub errors: u64,
    /// Sockets not recorded because the map was full (16384 entries): their packets are not
    /// enriched.
    pub dropped: u64,
    pub last_error: Option<String>,
}

struct Shared {
    ebpf: Mutex<Ebpf>,
    /// The map, for the sweep iterator (a dup of aya's fd).
    map: OwnedFd,
    gen: Mutex<u64>,
    stats: Mutex<Stats>,
    stop: (Mutex<bool>, Condvar),
}

/// The running enricher; dropping the last reference stops it (links detached, map
/// released once no gadget program holds it).
pub struct SocketEnricher {
    shared: Arc<Shared>,
    mode: Mode,
    attached: Vec<String>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for SocketEnricher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketEnricher").field("mode", &self.mode).field("attached", &self.attached).finish()
    }
}

static INSTANCE: Mutex<Option<Weak<SocketEnricher>>> = Mutex::new(None);

/// The process-wide enricher, started on first use (kprobes when the kernel has them).
pub fn acquire() -> Result<Arc<SocketEnricher>> {
    acquire_with(Mode::detect())
}

/// [`acquire`] with an explicit mode for a new instance (a running one is returned as is).
pub fn acquire_with(mode: Mode) -> Result<Arc<SocketEnricher>> {
    let mut g = INSTANCE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = g.as_ref().and_then(Weak::upgrade) {
        return Ok(e);
    }
    let e = Arc::new(SocketEnricher::start(mode)?);
    *g = Some(Arc::downgrade(&e));
    Ok(e)
}

/// The running enricher, if any gadget holds it.
pub fn running() -> Option<Arc<SocketEnricher>> {
    INSTANCE.lock().unwrap_or_else(|e| e.into_inner()).as_ref().and_then(Weak::upgrade)
}


impl SocketEnricher {
    fn start(mode: Mode) -> Result<SocketEnricher> {
        if OBJECT.is_empty() {
            bail!(
                "the socket enricher was not compiled into this gadgetrt (clang-19 was missing at build time); \
                 gadgets using {MAP_NAME} cannot run"
            );
        }
        let _hold = super::kernel_btf::hold();
        let btf_arc = loader::kernel_btf()
            .ok_or_else(|| anyhow!("the socket enricher needs kernel BTF (/sys/kernel/btf/vmlinux)"))?;
        let btf: &aya::Btf = &btf_arc;
        static TRUE: [u8; 1] = [1];
        static FALSE: [u8; 1] = [0];
        let mark: &'static [u8] = if mode == Mode::Tracepoints { &TRUE } else { &FALSE };
        let mut ebpf = EbpfLoader::new()
            .btf(Some(btf))
            .override_global("mark_unseen", mark, true)
            .load(OBJECT)
            .map_err(|e| anyhow!("socket enricher: loading its eBPF object: {}", loader::source_chain(&e)))?;

        let mut attached = Vec::new();
        let ctx = |what: String| move |e: aya::programs::ProgramError| anyhow!("socket enricher: {what}: {}", loader::source_chain(&e));
        match mode {
            Mode::Kprobes => {
                for (prog, func) in [
                    ("ig_sk_bind4_e", "inet_bind"),
                    ("ig_sk_bind4_x", "inet_bind"),
                    ("ig_sk_bind6_e", "inet6_bind"),
                    ("ig_sk_bind6_x", "inet6_bind"),
                    ("ig_sk_conn_e", "tcp_connect"),
                    ("ig_sk_conn_x", "tcp_connect"),
                    ("ig_sk_udp4", "udp_sendmsg"),
                    ("ig_sk_udp6", "udpv6_sendmsg"),
                    ("ig_sk_rel4", "inet_release"),
                    ("ig_sk_rel6", "inet6_release"),
                ] {
                    let p: &mut KProbe = ebpf
                        .program_mut(prog)
                        .ok_or_else(|| anyhow!("socket enricher: program {prog} missing"))?
                        .try_into()
                        .map_err(|e| anyhow!("socket enricher: {prog}: {}", loader::source_chain(&e)))?;
                    p.load().map_err(ctx(format!("loading {prog}")))?;
                    p.attach(func, 0).map_err(ctx(format!("attaching {prog} to {func}")))?;
                    attached.push(format!("kprobe {func} ({prog})"));
                }
            }
            Mode::Tracepoints => {
                for (prog, tp) in [("ig_sk_state", "inet_sock_set_state"), ("ig_sk_xmit", "net_dev_queue")] {
                    let p: &mut BtfTracePoint = ebpf
                        .program_mut(prog)
                        .ok_or_else(|| anyhow!("socket enricher: program {prog} missing"))?
                        .try_into()
                        .map_err(|e| anyhow!("socket enricher: {prog}: {}", loader::source_chain(&e)))?;
                    p.load(tp, btf).map_err(ctx(format!("loading {prog}")))?;
                    p.attach().map_err(ctx(format!("attaching {prog} to tp_btf {tp}")))?;
                    attached.push(format!("tp_btf {tp}"));
                }
                super::ensure_tracefs();
                for (prog, tp) in [("ig_sk_bind_e", "sys_enter_bind"), ("ig_sk_bind_x", "sys_exit_bind")] {
                    let p: &mut TracePoint = ebpf
                        .program_mut(prog)
                        .ok_or_else(|| anyhow!("socket enricher: program {prog} missing"))?
                        .try_into()
                        .map_err(|e| anyhow!("socket enricher: {prog}: {}", loader::source_chain(&e)))?;
                    p.load().map_err(ctx(format!("loading {prog}")))?;
                    p.attach("syscalls", tp).map_err(ctx(format!("attaching {prog} to syscalls/{tp}")))?;
                    attached.push(format!("tracepoint syscalls/{tp}"));
                }
            }
        }
        for (prog, target) in [("ig_sk_scan", "task_file"), ("ig_sk_sweep", "bpf_map_elem")] {
            let p: &mut Iter = ebpf
                .program_mut(prog)
                .ok_or_else(|| anyhow!("socket enricher: program {prog} missing"))?
                .try_into()
                .map_err(|e| anyhow!("socket enricher: {prog}: {}", loader::source_chain(&e)))?;
            p.load(target, btf).map_err(ctx(format!("loading {prog}")))?;
        }
        let map = {
            let m = ebpf.map(MAP_NAME).ok_or_else(|| anyhow!("socket enricher: map {MAP_NAME} missing"))?;
            let data: &MapData = match m {
                aya::maps::Map::HashMap(d) => d,
                _ => bail!("socket enricher: {MAP_NAME} is not a hash map"),
            };
            data.fd().as_fd().try_clone_to_owned().context("socket enricher: duplicating the map fd")?
        };
        let shared = Arc::new(Shared {
            ebpf: Mutex::new(ebpf),
            map,
            gen: Mutex::new(0),
            stats: Mutex::new(Stats::default()),
            stop: (Mutex::new(false), Condvar::new()),
        });
        // Initial scan (IG runs its iterator once at start); a failure is fatal here.
        shared.scan().context("socket enricher: initial socket scan")?;
        let s2 = shared.clone();
        let thread = std::thread::Builder::new()
            .name("grt-sockenr".into())
            .spawn(move || s2.maintain(mode))
            .context("socket enricher: spawning its thread")?;
        Ok(SocketEnricher { shared, mode, attached, thread: Some(thread) })
    }

    /// The shared map (dup it to keep it).
    pub fn map_fd(&self) -> BorrowedFd<'_> {
        self.shared.map.as_fd()
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// What the enricher attached (`kprobe inet_bind (…)`, `tp_btf net_dev_queue`, …).
    pub fn attachments(&self) -> &[String] {
        &self.attached
    }

    pub fn stats(&self) -> Stats {
        let mut st = self.shared.stats.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let ebpf = self.shared.ebpf.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = ebpf.map("ig_sk_drops") {
            if let Ok(a) = Array::<&MapData, u64>::try_from(m) {
                st.dropped = a.get(&0, 0).unwrap_or(0);
            }
        }
        st
    }

    /// Runs a scan (and, on kernels without kprobes, the mark-and-sweep) now, in the calling
    /// thread: entries are current when it returns.
    pub fn refresh(&self) -> Result<()> {
        self.shared.scan()?;
        self.shared.sweep()
    }
}

impl Shared {
    /// Next generation, then the `iter/task_file` scan.
    fn scan(&self) -> Result<()> {
        let mut gen = self.gen.lock().unwrap_or_else(|e| e.into_inner());
        *gen += 1;
        let mut ebpf = self.ebpf.lock().unwrap_or_else(|e| e.into_inner());
        {
            let m = ebpf.map_mut("ig_sk_gen").ok_or_else(|| anyhow!("map ig_sk_gen missing"))?;
            let mut a: Array<&mut MapData, u64> =
                Array::try_from(m).map_err(|e| anyhow!("ig_sk_gen: {}", loader::source_chain(&e)))?;
            a.set(0, *gen, 0).map_err(|e| anyhow!("ig_sk_gen: {}", loader::source_chain(&e)))?;
        }
        let p: &mut Iter = ebpf
            .program_mut("ig_sk_scan")
            .ok_or_else(|| anyhow!("program ig_sk_scan missing"))?
            .try_into()
            .map_err(|e| anyhow!("ig_sk_scan: {}", loader::source_chain(&e)))?;
        let id = p.attach().map_err(|e| anyhow!("ig_sk_scan: attaching: {}", loader::source_chain(&e)))?;
        let link = p.take_link(id).map_err(|e| anyhow!("ig_sk_scan: {}", loader::source_chain(&e)))?;
        let mut f = link.into_file().map_err(|e| anyhow!("ig_sk_scan: creating the iterator: {}", loader::source_chain(&e)))?;
        drop(ebpf);
        let mut sink = Vec::new();
        f.read_to_end(&mut sink).context("ig_sk_scan: reading the iterator")?;
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).scans += 1;
        Ok(())
    }

    /// The `iter/bpf_map_elem` sweep over the map.
    fn sweep(&self) -> Result<()> {
        let _gen = self.gen.lock().unwrap_or_else(|e| e.into_inner());
        let ebpf = self.ebpf.lock().unwrap_or_else(|e| e.into_inner());
        let p = ebpf.program("ig_sk_sweep").ok_or_else(|| anyhow!("program ig_sk_sweep missing"))?;
        let pfd = p.fd().map_err(|e| anyhow!("ig_sk_sweep: {}", loader::source_chain(&e)))?.as_fd().try_clone_to_owned()?;
        drop(ebpf);
        let link = raw::link_create_iter(pfd.as_fd(), Some(self.map.as_fd()))
            .map_err(|e| anyhow!("ig_sk_sweep: attaching: {e}"))?;
        let mut f = std::fs::File::from(raw::iter_create(link.as_fd()).map_err(|e| anyhow!("ig_sk_sweep: {e}"))?);
        let mut sink = Vec::new();
        f.read_to_end(&mut sink).context("ig_sk_sweep: reading the iterator")?;
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).sweeps += 1;
        Ok(())
    }

    fn maintain(&self, mode: Mode) {
        loop {
            {
                let (m, cv) = &self.stop;
                let stopped = m.lock().unwrap_or_else(|e| e.into_inner());
                let (stopped, _) = cv.wait_timeout_while(stopped, PERIOD, |s| !*s).unwrap_or_else(|e| e.into_inner());
                if *stopped {
                    return;
                }
            }
            let r = match mode {
                Mode::Kprobes => self.sweep(),
                Mode::Tracepoints => self.scan().and_then(|_| self.sweep()),
            };
            if let Err(e) = r {
                let mut st = self.stats.lock().unwrap_or_else(|e| e.into_inner());
                st.errors += 1;
                st.last_error = Some(format!("{e:#}"));
            }
        }
    }
}

impl Drop for SocketEnricher {
    fn drop(&mut self) {
        {
            let (m, cv) = &self.shared.stop;
            *m.lock().unwrap_or_else(|e| e.into_inner()) = true;
            cv.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One entry of the map, decoded (for tests and diagnostics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketEntry {
    pub netns: u32,
    pub family: u16,
    pub proto: u8,
    pub port: u16,
    pub mntns: u64,
    pub pid: u32,
    pub tid: u32,
    pub uid: u32,
    pub gid: u32,
    pub comm: String,
    pub pcomm: String,
    pub ppid: u32,
    pub ptid: u32,
    pub sock: u64,
    pub deletion_timestamp: u64,
    pub ipv6only: bool,
    pub cwd: String,
    pub exepath: String,
}

fn cstr(b: &[u8]) -> String {
    String::from_utf8_lossy(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]).into_owned()
}

/// Decodes a (key, value) pair of the map.
pub fn decode(key: &[u8], v: &[u8]) -> Option<SocketEntry> {
    if key.len() != KEY_SIZE as usize || v.len() != VALUE_SIZE as usize {
        return None;
    }
    let u64at = |o: usize| u64::from_ne_bytes(v[o..o + 8].try_into().unwrap());
    let u32at = |o: usize| u32::from_ne_bytes(v[o..o + 4].try_into().unwrap());
    let pid_tgid = u64at(8);
    let uid_gid = u64at(16);
    Some(SocketEntry {
        netns: u32::from_ne_bytes(key[0..4].try_into().unwrap()),
        family: u16::from_ne_bytes(key[4..6].try_into().unwrap()),
        proto: key[6],
        port: u16::from_ne_bytes(key[8..10].try_into().unwrap()),
        mntns: u64at(0),
        pid: (pid_tgid >> 32) as u32,
        tid: pid_tgid as u32,
        uid: uid_gid as u32,
        gid: (uid_gid >> 32) as u32,
        comm: cstr(&v[24..40]),
        pcomm: cstr(&v[40..56]),
        sock: u64at(56),
        deletion_timestamp: u64at(64),
        ppid: u32at(72),
        ptid: u32at(76),
        ipv6only: v[80] != 0,
        cwd: cstr(&v[88..600]),
        exepath: cstr(&v[600..1112]),
    })
}

/// Every entry of the enricher's map (a snapshot).
pub fn entries(map: BorrowedFd<'_>) -> Result<Vec<SocketEntry>> {
    let m = super::maps::RawMap::from_fd(map.try_clone_to_owned()?).context("gadget_sockets")?;
    let mut out = Vec::new();
    let mut key: Option<Vec<u8>> = None;
    let mut next = vec![0u8; KEY_SIZE as usize];
    let mut value = vec![0u8; VALUE_SIZE as usize];
    for _ in 0..=MAX_SOCKETS {
        if !m.next_key(key.as_deref(), &mut next).map_err(|e| anyhow!("gadget_sockets: next key: {e}"))? {
            break;
        }
        if m.lookup(&next, &mut value).unwrap_or(false) {
            if let Some(e) = decode(&next, &value) {
                out.push(e);
            }
        }
        key = Some(next.clone());
    }
    Ok(out)
}
