//! The ebpf operator's `emitstats` mode (`pkg/operators/ebpf/stats.go`, `pkg/bpfstats`,
//! `pkg/utils/processmap`): the `bpfstats` array data source (one row per loaded eBPF program,
//! or per gadget of this process with `--gadgets-only`).
//!
//! Enabled by `operator.ebpf.emitstats: true`. Params (ebpf operator instance params):
//! `statistics-interval` (Go duration, default `1000ms`) and `gadgets-only` (default false).
//! No baseline and no first interval: a Go ticker of the interval, unlimited.
//!
//! At start, kernel run-time stats are enabled with `BPF_ENABLE_STATS(BPF_STATS_RUN_TIME)`
//! (the fd is kept), falling back to writing `1` to `$HOST_ROOT/proc/sys/kernel/bpf_stats_enabled`;
//! the toggle is reference-counted process-wide and undone when the last user stops.
//!
//! Each tick: map memory (`memlock:` of `/proc/self/fdinfo/<map fd>`) for every map id, the
//! owner processes of every program, then every program (`BPF_PROG_GET_NEXT_ID` …): runtime and
//! run count as deltas against the previous tick (first tick: totals), `cpuTimeStr` the Go
//! `Duration.String()` of the cumulative runtime.

use std::collections::{BTreeMap, HashMap};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::Mutex;
use std::time::Duration;

use crate::datasource::{kind, Record, Schema};
use crate::operators::collector::{
    add_ig_field, cfg_get, field, go_num_cpu, param, parse_go_duration, put_f64, put_scalar,
    put_str, viper_bool, Collector, Schedule,
};

pub use crate::operators::collector::go_duration_string;

pub const DEFAULT_STATISTICS_INTERVAL: &str = "1000ms";

// -------------------------------------------------------------------------------------------
// bpf(2)
// -------------------------------------------------------------------------------------------

const BPF_PROG_LOAD: i32 = 5;
const BPF_PROG_GET_NEXT_ID: i32 = 11;
const BPF_MAP_GET_NEXT_ID: i32 = 12;
const BPF_PROG_GET_FD_BY_ID: i32 = 13;
const BPF_MAP_GET_FD_BY_ID: i32 = 14;
const BPF_OBJ_GET_INFO_BY_FD: i32 = 15;
const BPF_ENABLE_STATS: i32 = 32;
const BPF_STATS_RUN_TIME: u32 = 0;

fn sys_bpf<T>(cmd: i32, attr: &mut T) -> std::io::Result<i64> {
    // SAFETY: attr is a #[repr(C)] bpf_attr prefix of the given size, valid for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>(),
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r as i64)
    }
}

#[repr(C)]
#[derive(Default)]
struct IdAttr {
    id: u32,
    next_id: u32,
    open_flags: u32,
}

#[repr(C)]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `struct bpf_prog_info` (up to `attach_btf_id`, 232 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
struct ProgInfoRaw {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; 16],
    ifindex: u32,
    gpl_compatible: u32,
    netns_dev: u64,
    netns_ino: u64,
    nr_jited_ksyms: u32,
    nr_jited_func_lens: u32,
    jited_ksyms: u64,
    jited_func_lens: u64,
    btf_id: u32,
    func_info_rec_size: u32,
    func_info: u64,
    nr_func_info: u32,
    nr_line_info: u32,
    line_info: u64,
    jited_line_info: u64,
    nr_jited_line_info: u32,
    line_info_rec_size: u32,
    jited_line_info_rec_size: u32,
    nr_prog_tags: u32,
    prog_tags: u64,
    run_time_ns: u64,
    run_cnt: u64,
    recursion_misses: u64,
    verified_insns: u32,
    attach_btf_obj_id: u32,
    attach_btf_id: u32,
    _pad: u32,
}

const _: () = assert!(std::mem::size_of::<ProgInfoRaw>() == 232);

impl ProgInfoRaw {
    fn zeroed() -> Self {
        // SAFETY: plain integers.
        unsafe { std::mem::zeroed() }
    }
}

/// Next program (`map == false`) or map id after `start`; `Ok(None)` at the end (ENOENT).
fn get_next_id(map: bool, start: u32) -> std::io::Result<Option<u32>> {
    let mut a = IdAttr {
        id: start,
        ..Default::default()
    };
    match sys_bpf(
        if map {
            BPF_MAP_GET_NEXT_ID
        } else {
            BPF_PROG_GET_NEXT_ID
        },
        &mut a,
    ) {
        Ok(_) => Ok(Some(a.next_id)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

fn fd_by_id(map: bool, id: u32) -> std::io::Result<OwnedFd> {
    let mut a = IdAttr {
        id,
        ..Default::default()
    };
    let fd = sys_bpf(
        if map {
            BPF_MAP_GET_FD_BY_ID
        } else {
            BPF_PROG_GET_FD_BY_ID
        },
        &mut a,
    )?;
    // SAFETY: the kernel returned a new fd we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn prog_info(fd: &OwnedFd, info: &mut ProgInfoRaw) -> std::io::Result<()> {
    let mut a = InfoAttr {
        bpf_fd: fd.as_raw_fd() as u32,
        info_len: std::mem::size_of::<ProgInfoRaw>() as u32,
        info: info as *mut ProgInfoRaw as u64,
    };
    sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &mut a).map(|_| ())
}

/// What IG reads of a loaded program.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProgInfo {
    pub id: u32,
    pub prog_type: u32,
    pub name: String,
    pub run_time_ns: u64,
    pub run_cnt: u64,
    pub map_ids: Vec<u32>,
}

/// `BPF_OBJ_GET_INFO_BY_FD` of a program fd, with its map ids.
fn read_prog_info(fd: &OwnedFd) -> std::io::Result<ProgInfo> {
    let mut info = ProgInfoRaw::zeroed();
    prog_info(fd, &mut info)?;
    let mut map_ids = Vec::new();
    if info.nr_map_ids > 0 {
        map_ids = vec![0u32; info.nr_map_ids as usize];
        let mut info2 = ProgInfoRaw::zeroed();
        info2.nr_map_ids = info.nr_map_ids;
        info2.map_ids = map_ids.as_mut_ptr() as u64;
        prog_info(fd, &mut info2)?;
        map_ids.truncate(info2.nr_map_ids.min(info.nr_map_ids) as usize);
    }
    let name_len = info.name.iter().position(|&c| c == 0).unwrap_or(16);
    Ok(ProgInfo {
        id: info.id,
        prog_type: info.prog_type,
        name: String::from_utf8_lossy(&info.name[..name_len]).into_owned(),
        run_time_ns: info.run_time_ns,
        run_cnt: info.run_cnt,
        map_ids,
    })
}

/// Info of the program with id `id` (`None` when it cannot be opened or read).
pub fn prog_info_by_id(id: u32) -> Option<ProgInfo> {
    let fd = fd_by_id(false, id).ok()?;
    read_prog_info(&fd).ok()
}

/// Loads a trivial program (`mov r0, 0; exit`) of `prog_type` named `name` (tests, probes).
pub fn load_trivial_prog(prog_type: u32, name: &str) -> std::io::Result<OwnedFd> {
    #[repr(C)]
    struct LoadAttr {
        prog_type: u32,
        insn_cnt: u32,
        insns: u64,
        license: u64,
        log_level: u32,
        log_size: u32,
        log_buf: u64,
        kern_version: u32,
        prog_flags: u32,
        prog_name: [u8; 16],
    }
    // BPF_MOV64_IMM(R0, 0) = 0xb7 (ALU64|MOV|K), BPF_EXIT = 0x95.
    let insns: [u64; 2] = [0xb7, 0x95];
    let license = b"GPL\0";
    let mut prog_name = [0u8; 16];
    let n = name.len().min(15);
    prog_name[..n].copy_from_slice(&name.as_bytes()[..n]);
    let mut a = LoadAttr {
        prog_type,
        insn_cnt: 2,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 0,
        log_size: 0,
        log_buf: 0,
        kern_version: 0,
        prog_flags: 0,
        prog_name,
    };
    let fd = sys_bpf(BPF_PROG_LOAD, &mut a)?;
    // SAFETY: new fd owned by us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

// -------------------------------------------------------------------------------------------
// Kernel stats toggle (process-wide, reference-counted)
// -------------------------------------------------------------------------------------------

/// How run-time stats were enabled (IG `bpfstats.BPFStatsMethod`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsMethod {
    None,
    BpfFunc,
    Sysctl,
}

struct StatsState {
    refcnt: usize,
    fd: Option<OwnedFd>,
    method: StatsMethod,
}

static STATS: Mutex<StatsState> = Mutex::new(StatsState {
    refcnt: 0,
    fd: None,
    method: StatsMethod::None,
});

fn sysctl_path() -> String {
    format!(
        "{}/proc/sys/kernel/bpf_stats_enabled",
        std::env::var("HOST_ROOT").unwrap_or_default()
    )
}

/// IG `EnableBPFStats`.
pub fn enable_bpf_stats() -> Result<(), String> {
    let mut st = STATS.lock().unwrap_or_else(|e| e.into_inner());
    if st.refcnt != 0 {
        st.refcnt += 1;
        return Ok(());
    }
    let mut a: u32 = BPF_STATS_RUN_TIME;
    match sys_bpf(BPF_ENABLE_STATS, &mut a) {
        Ok(fd) => {
            // SAFETY: new fd owned by us.
            st.fd = Some(unsafe { OwnedFd::from_raw_fd(fd as i32) });
            st.method = StatsMethod::BpfFunc;
        }
        Err(_) => {
            std::fs::write(sysctl_path(), b"1")
                .map_err(|e| format!("enabling stat collection: {e}"))?;
            st.method = StatsMethod::Sysctl;
        }
    }
    st.refcnt += 1;
    Ok(())
}

/// IG `DisableBPFStats`.
pub fn disable_bpf_stats() -> Result<(), String> {
    let mut st = STATS.lock().unwrap_or_else(|e| e.into_inner());
    if st.refcnt == 0 {
        return Err("bpf stat collection already disabled".into());
    }
    st.refcnt -= 1;
    if st.refcnt != 0 {
        return Ok(());
    }
    let method = std::mem::replace(&mut st.method, StatsMethod::None);
    match method {
        StatsMethod::BpfFunc => st.fd = None,
        StatsMethod::Sysctl => std::fs::write(sysctl_path(), b"0")
            .map_err(|e| format!("disabling stat collection using sysctl: {e}"))?,
        StatsMethod::None => {}
    }
    Ok(())
}

/// The method currently in use.
pub fn stats_method() -> StatsMethod {
    STATS.lock().unwrap_or_else(|e| e.into_inner()).method
}

// -------------------------------------------------------------------------------------------
// Gadgets of this process (for gadget* fields and --gadgets-only)
// -------------------------------------------------------------------------------------------

/// The eBPF objects of one gadget running in this process (IG `gadgetObjects`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GadgetObjects {
    pub id: String,
    pub name: String,
    pub image: String,
    pub program_ids: Vec<u32>,
    pub map_ids: Vec<u32>,
}

static GADGETS: Mutex<BTreeMap<u64, GadgetObjects>> = Mutex::new(BTreeMap::new());

/// Registers (or replaces) the objects of gadget instance `key` (call after its programs are
/// loaded; IG does it in the ebpf operator's Start).
pub fn set_gadget_programs(key: u64, objs: GadgetObjects) {
    GADGETS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, objs);
}

/// Forgets gadget instance `key` (IG: ebpf operator Stop).
pub fn remove_gadget_programs(key: u64) {
    GADGETS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&key);
}

fn gadgets_snapshot() -> Vec<GadgetObjects> {
    GADGETS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .values()
        .cloned()
        .collect()
}

// -------------------------------------------------------------------------------------------
// Map memory and program owners
// -------------------------------------------------------------------------------------------

/// `memlock:` of every map (IG `GetMapsMemUsage`). A map whose fdinfo has no memlock line
/// fails the whole call, like IG.
pub fn maps_mem_usage() -> Result<HashMap<u32, u64>, String> {
    let mut sizes = HashMap::new();
    let mut cur = 0u32;
    loop {
        let next = match get_next_id(true, cur) {
            Ok(Some(n)) => n,
            Ok(None) => break,
            Err(e) => return Err(format!("getting next map ID: {e}")),
        };
        if next <= cur {
            break;
        }
        cur = next;
        let Ok(fd) = fd_by_id(true, cur) else {
            continue;
        };
        let fdinfo = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd()))
            .map_err(|e| format!("getting memory usage of map ID ({cur}): reading fdinfo: {e}"))?;
        let v = parse_memlock(&fdinfo)
            .map_err(|e| format!("getting memory usage of map ID ({cur}): {e}"))?;
        sizes.insert(cur, v);
    }
    Ok(sizes)
}

/// The `memlock:\t<n>` line of an fdinfo.
pub fn parse_memlock(fdinfo: &str) -> Result<u64, String> {
    for l in fdinfo.lines() {
        if l.starts_with("memlock:\t") {
            let parts: Vec<&str> = l.split('\t').collect();
            if parts.len() == 2 {
                return parts[1]
                    .parse::<u64>()
                    .map_err(|e| format!("reading memlock: {e}"));
            }
        }
    }
    Err("finding memlock in fdinfo".into())
}

/// How owners of programs are found. IG uses a `task_file` BPF iterator when it can load it
/// (needs `bpf_prog_fops` in /proc/kallsyms and kernel BTF), else scans /proc; [`OwnerScan::detect`]
/// picks the semantics IG would have on this host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OwnerScan {
    /// What IG's `task_file` BPF iterator reports: every fd that is a program
    /// (`anon_inode:bpf-prog`), per process in pid order and fd order, not deduplicated;
    /// comm of the thread-group leader. (Real IG then also lists its own iterator program,
    /// `ig_top_ebpf_it`, type Tracing: not reproduced.)
    TaskFileIter,
    /// IG's /proc fallback: every fdinfo with a `prog_id:` line (links too), deduplicated per
    /// (pid, comm); comm from /proc/<pid>/comm with spaces trimmed.
    ProcFs,
}

impl Default for OwnerScan {
    fn default() -> Self {
        OwnerScan::detect()
    }
}

impl OwnerScan {
    /// `TaskFileIter` when IG's iterator would load (kernel BTF present and `bpf_prog_fops`
    /// listed in /proc/kallsyms), else `ProcFs`.
    pub fn detect() -> OwnerScan {
        let btf = std::path::Path::new("/sys/kernel/btf/vmlinux").exists();
        let fops = std::fs::read_to_string("/proc/kallsyms")
            .map(|s| {
                s.lines()
                    .any(|l| l.split_whitespace().nth(2) == Some("bpf_prog_fops"))
            })
            .unwrap_or(false);
        if btf && fops {
            OwnerScan::TaskFileIter
        } else {
            OwnerScan::ProcFs
        }
    }
}

/// One owner process of a program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    pub comm: String,
}

/// The `prog_id:` value of an fdinfo.
pub fn parse_prog_id(fdinfo: &str) -> Option<u32> {
    for l in fdinfo.lines() {
        if let Some(rest) = l.strip_prefix("prog_id:") {
            let v: u64 = rest.trim().parse().ok()?;
            return (v <= i32::MAX as u64).then_some(v as u32);
        }
    }
    None
}

/// Program id → owner processes.
pub fn program_owners(mode: OwnerScan) -> HashMap<u32, Vec<Owner>> {
    let mut out: HashMap<u32, Vec<Owner>> = HashMap::new();
    let Ok(pids) = crate::operators::collector::proc_pids() else {
        return out;
    };
    for pid in pids {
        let dir = match mode {
            OwnerScan::TaskFileIter => format!("/proc/{pid}/fd"),
            OwnerScan::ProcFs => format!("/proc/{pid}/fdinfo"),
        };
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut fds: Vec<u32> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
            .collect();
        fds.sort_unstable();
        let mut comm: Option<String> = None;
        for fd in fds {
            if mode == OwnerScan::TaskFileIter {
                match std::fs::read_link(format!("/proc/{pid}/fd/{fd}")) {
                    Ok(t) if t.as_os_str() == "anon_inode:bpf-prog" => {}
                    _ => continue,
                }
            }
            let Ok(info) = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")) else {
                continue;
            };
            let Some(id) = parse_prog_id(&info) else {
                continue;
            };
            let c = comm
                .get_or_insert_with(|| {
                    let raw = std::fs::read(format!("/proc/{pid}/comm")).unwrap_or_default();
                    let s = String::from_utf8_lossy(&raw).into_owned();
                    match mode {
                        OwnerScan::TaskFileIter => s.strip_suffix('\n').unwrap_or(&s).to_string(),
                        OwnerScan::ProcFs => s.trim().to_string(),
                    }
                })
                .clone();
            let o = Owner {
                pid: pid as u32,
                comm: c,
            };
            let v = out.entry(id).or_default();
            if mode == OwnerScan::ProcFs && v.contains(&o) {
                continue;
            }
            v.push(o);
        }
    }
    out
}

// -------------------------------------------------------------------------------------------
// Program type names
// -------------------------------------------------------------------------------------------

/// cilium/ebpf v0.22 `ProgramType.String()` names, by kernel `bpf_prog_type` value.
pub const PROG_TYPE_NAMES: [&str; 33] = [
    "UnspecifiedProgram",
    "SocketFilter",
    "Kprobe",
    "SchedCLS",
    "SchedACT",
    "TracePoint",
    "XDP",
    "PerfEvent",
    "CGroupSKB",
    "CGroupSock",
    "LWTIn",
    "LWTOut",
    "LWTXmit",
    "SockOps",
    "SkSKB",
    "CGroupDevice",
    "SkMsg",
    "RawTracepoint",
    "CGroupSockAddr",
    "LWTSeg6Local",
    "LircMode2",
    "SkReuseport",
    "FlowDissector",
    "CGroupSysctl",
    "RawTracepointWritable",
    "CGroupSockopt",
    "Tracing",
    "StructOps",
    "Extension",
    "LSM",
    "SkLookup",
    "Syscall",
    "Netfilter",
];

/// cilium/ebpf `ProgramType(t).String()`.
pub fn prog_type_name(t: u32) -> String {
    match t {
        t if (t as usize) < PROG_TYPE_NAMES.len() => PROG_TYPE_NAMES[t as usize].to_string(),
        268435457 => "WindowsXDP".into(),
        268435458 => "WindowsBind".into(),
        268435459 => "WindowsCGroupSockAddr".into(),
        268435460 => "WindowsSockOps".into(),
        268436454 => "WindowsXDPTest".into(),
        268436455 => "WindowsSample".into(),
        t => format!("ProgramType({t})"),
    }
}

// -------------------------------------------------------------------------------------------
// The collector
// -------------------------------------------------------------------------------------------

/// One row (IG `stat`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stat {
    pub gadget_id: String,
    pub gadget_name: String,
    pub gadget_image: String,
    pub program_id: u32,
    pub program_name: String,
    pub program_type: String,
    pub runtime: u64,
    pub runcount: u64,
    pub map_memory: u64,
    pub map_count: u64,
    pub total_runtime: u64,
    pub cpu_usage: f64,
    pub cpu_usage_relative: f64,
    pub comms: String,
    pub pids: String,
}

/// The bpfstats collector.
pub struct BpfStatsCollector {
    interval_ns: i64,
    /// The `statistics-interval` text (the `fetch-interval` annotation).
    interval_text: String,
    gadgets_only: bool,
    /// `NODE_NAME` at construction (adds the `nodeName` field).
    node_name: Option<String>,
    owner_scan: OwnerScan,
    old: HashMap<u32, (u64, u64)>,
    started: bool,
    idx: HashMap<&'static str, usize>,
}

/// `Some` when `operator.ebpf.emitstats` is true. `params`: `statistics-interval`,
/// `gadgets-only` (see [`param`]). The interval must parse as a Go duration (IG fails
/// instantiation otherwise) and be positive (IG's ticker would panic).
pub fn from_config(
    cfg: &serde_yaml::Value,
    params: &BTreeMap<String, String>,
) -> Result<Option<(BpfStatsCollector, Schedule)>, String> {
    if !viper_bool(cfg_get(cfg, "operator.ebpf.emitstats")) {
        return Ok(None);
    }
    let text = param(params, "ebpf", "statistics-interval").unwrap_or(DEFAULT_STATISTICS_INTERVAL);
    let gadgets_only = param(params, "ebpf", "gadgets-only") == Some("true");
    let c = BpfStatsCollector::new(text, gadgets_only)?;
    let schedule = Schedule {
        interval: Duration::from_nanos(c.interval_ns as u64),
        first_interval: None,
        count: 0,
    };
    Ok(Some((c, schedule)))
}

const FIELD_NAMES: [&str; 16] = [
    "nodeName",
    "gadgetID",
    "gadgetName",
    "gadgetImage",
    "progID",
    "progName",
    "progType",
    "cpuUsage",
    "cpuUsageRelative",
    "cpuTimeStr",
    "runtime_raw",
    "runcount",
    "mapMemory_raw",
    "mapCount",
    "comms",
    "pids",
];

impl BpfStatsCollector {
    pub fn new(interval: &str, gadgets_only: bool) -> Result<BpfStatsCollector, String> {
        let ns = parse_go_duration(interval).map_err(|e| format!("parsing duration: {e}"))?;
        if ns <= 0 {
            return Err(format!("non-positive statistics interval {interval:?}"));
        }
        Ok(BpfStatsCollector {
            interval_ns: ns,
            interval_text: interval.to_string(),
            gadgets_only,
            node_name: std::env::var("NODE_NAME").ok(),
            owner_scan: OwnerScan::default(),
            old: HashMap::new(),
            started: false,
            idx: HashMap::new(),
        })
    }

    /// Chooses how program owners are found (default: [`OwnerScan::detect`]).
    pub fn set_owner_scan(&mut self, mode: OwnerScan) {
        self.owner_scan = mode;
    }

    /// One tick's rows (IG `getStats`).
    pub fn get_stats(&mut self) -> Result<Vec<Stat>, String> {
        let num_cpus = go_num_cpu();
        let map_sizes = maps_mem_usage().map_err(|e| format!("getting map memory usage: {e}"))?;
        let owners = program_owners(self.owner_scan);
        let old = std::mem::take(&mut self.old);
        let gadgets = gadgets_snapshot();
        let mut stats = Vec::new();
        let finish = |s: &mut Stat, interval_ns: i64| {
            s.cpu_usage = s.runtime as f64 / interval_ns as f64 * 100.0;
            if num_cpus > 0 {
                s.cpu_usage_relative = s.cpu_usage / num_cpus as f64;
            }
            enrich(s, &owners);
        };

        if self.gadgets_only {
            let mut cache: HashMap<u32, (u64, u64)> = HashMap::new();
            for g in &gadgets {
                let mut s = Stat {
                    gadget_id: g.id.clone(),
                    gadget_name: g.name.clone(),
                    gadget_image: g.image.clone(),
                    ..Default::default()
                };
                for &id in &g.program_ids {
                    let cur = match cache.get(&id) {
                        Some(c) => *c,
                        None => {
                            let fd = fd_by_id(false, id)
                                .map_err(|e| format!("getting program stats: {e}"))?;
                            let pi = read_prog_info(&fd)
                                .map_err(|e| format!("getting program stats: {e}"))?;
                            cache.insert(id, (pi.run_time_ns, pi.run_cnt));
                            (pi.run_time_ns, pi.run_cnt)
                        }
                    };
                    s.total_runtime = s.total_runtime.wrapping_add(cur.0);
                    self.old.insert(id, cur);
                    let o = old.get(&id).copied().unwrap_or_default();
                    s.runtime = s.runtime.wrapping_add(cur.0.wrapping_sub(o.0));
                    s.runcount = s.runcount.wrapping_add(cur.1.wrapping_sub(o.1));
                }
                for m in &g.map_ids {
                    s.map_memory = s
                        .map_memory
                        .wrapping_add(map_sizes.get(m).copied().unwrap_or(0));
                    s.map_count += 1;
                }
                finish(&mut s, self.interval_ns);
                stats.push(s);
            }
            return Ok(stats);
        }

        let prog_to_gadget: HashMap<u32, &GadgetObjects> = gadgets
            .iter()
            .flat_map(|g| g.program_ids.iter().map(move |&id| (id, g)))
            .collect();
        let mut cur = 0u32;
        loop {
            let next = match get_next_id(false, cur) {
                Ok(Some(n)) => n,
                Ok(None) => break,
                Err(e) => return Err(format!("getting next program ID: {e}")),
            };
            if next <= cur {
                break;
            }
            cur = next;
            let Ok(fd) = fd_by_id(false, cur) else {
                continue;
            };
            let Ok(pi) = read_prog_info(&fd) else {
                continue;
            };
            drop(fd);
            let mut s = Stat {
                program_id: pi.id,
                program_name: pi.name.clone(),
                program_type: prog_type_name(pi.prog_type),
                runtime: pi.run_time_ns,
                runcount: pi.run_cnt,
                total_runtime: pi.run_time_ns,
                ..Default::default()
            };
            self.old.insert(cur, (s.runtime, s.runcount));
            let o = old.get(&cur).copied().unwrap_or_default();
            s.runtime = s.runtime.wrapping_sub(o.0);
            s.runcount = s.runcount.wrapping_sub(o.1);
            for m in &pi.map_ids {
                s.map_memory = s
                    .map_memory
                    .wrapping_add(map_sizes.get(m).copied().unwrap_or(0));
                s.map_count += 1;
            }
            if let Some(g) = prog_to_gadget.get(&pi.id) {
                s.gadget_id = g.id.clone();
                s.gadget_name = g.name.clone();
                s.gadget_image = g.image.clone();
            }
            finish(&mut s, self.interval_ns);
            stats.push(s);
        }
        Ok(stats)
    }
}

fn enrich(s: &mut Stat, owners: &HashMap<u32, Vec<Owner>>) {
    let Some(procs) = owners.get(&s.program_id) else {
        return;
    };
    s.comms = procs
        .iter()
        .map(|p| p.comm.as_str())
        .collect::<Vec<_>>()
        .join(",");
    s.pids = procs
        .iter()
        .map(|p| p.pid.to_string())
        .collect::<Vec<_>>()
        .join(",");
}

impl Collector for BpfStatsCollector {
    fn ds_name(&self) -> &str {
        "bpfstats"
    }

    fn build_schema(&self, s: &mut Schema) {
        s.annotations
            .insert("fetch-interval".into(), self.interval_text.clone());
        s.annotations
            .insert("cli.clear-screen-before".into(), "true".into());
        let right = ("columns.alignment", "right");
        let desc = |d| ("description", d);
        if self.node_name.is_some() {
            add_ig_field(
                s,
                "nodeName",
                kind::STRING,
                &[("template", "node"), ("metrics.type", "key")],
                &[],
            );
        }
        add_ig_field(
            s,
            "gadgetID",
            kind::STRING,
            &[
                ("columns.width", "8"),
                desc("Unique ID assigned to each Gadget instance"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "gadgetName",
            kind::STRING,
            &[
                ("columns.width", "16"),
                desc("Name of the Gadget instance"),
                ("metrics.type", "key"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "gadgetImage",
            kind::STRING,
            &[
                ("columns.width", "16"),
                desc("Name of the Gadget image (like trace_open, trace_exec, etc.)"),
                ("metrics.type", "key"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "progID",
            kind::UINT32,
            &[
                right,
                desc("eBPF program ID assigned by the Linux kernel"),
                ("columns.width", "5"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "progName",
            kind::STRING,
            &[
                ("columns.fixed", "16"),
                desc("Name of the eBPF program"),
                ("metrics.type", "key"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "progType",
            kind::STRING,
            &[("columns.width", "16"), desc("Type of the eBPF program")],
            &[],
        );
        add_ig_field(
            s,
            "cpuUsage",
            kind::FLOAT64,
            &[
                ("columns.alias", "%CPU"),
                ("columns.precision", "2"),
                right,
                desc("CPU usage percentage of the eBPF program"),
                ("columns.width", "8"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "cpuUsageRelative",
            kind::FLOAT64,
            &[
                ("columns.alias", "%RELCPU"),
                ("columns.precision", "2"),
                right,
                desc("CPU usage relative to the number of available CPUs"),
                ("columns.width", "8"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "cpuTimeStr",
            kind::STRING,
            &[
                ("columns.alias", "TIME+"),
                right,
                desc("Total CPU time formatted as duration"),
                ("columns.width", "12"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "runtime_raw",
            kind::UINT64,
            &[
                ("columns.width", "12"),
                right,
                desc("Time that the eBPF program or Gadget has run in nanoseconds"),
                ("metrics.type", "counter"),
            ],
            &["type:gadget_duration"],
        );
        add_ig_field(
            s,
            "runcount",
            kind::UINT64,
            &[
                ("columns.width", "12"),
                right,
                desc("Number of times the eBPF program or Gadget has run"),
                ("metrics.type", "counter"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "mapMemory_raw",
            kind::UINT64,
            &[
                ("columns.width", "12"),
                right,
                desc("Memory used by maps in bytes"),
                ("metrics.type", "gauge"),
            ],
            &["type:gadget_bytes"],
        );
        add_ig_field(
            s,
            "mapCount",
            kind::UINT64,
            &[
                ("columns.width", "5"),
                right,
                desc("Number of maps used by the eBPF program or Gadget"),
                ("metrics.type", "gauge"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "comms",
            kind::STRING,
            &[
                ("columns.width", "16"),
                desc("List of processes using the eBPF program"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "pids",
            kind::STRING,
            &[
                ("columns.width", "16"),
                desc("List of PIDs using the eBPF program"),
            ],
            &[],
        );
    }

    fn start(&mut self, schema: &Schema) -> Result<(), String> {
        self.idx = FIELD_NAMES
            .iter()
            .filter_map(|n| Some((*n, field(schema, n)?)))
            .collect();
        enable_bpf_stats().map_err(|e| format!("enabling bpf stats: {e}"))?;
        self.started = true;
        Ok(())
    }

    fn collect(&mut self, schema: &Schema) -> Result<Vec<Record>, String> {
        let stats = self
            .get_stats()
            .map_err(|e| format!("Failed to get stats: {e}"))?;
        let i = &self.idx;
        let ix = |n: &str| i.get(n).copied();
        let mut out = Vec::with_capacity(stats.len());
        for st in &stats {
            let mut r = schema.new_record();
            if let (Some(x), Some(nn)) = (ix("nodeName"), &self.node_name) {
                put_str(schema, &mut r, x, nn);
            }
            let s = |r: &mut Record, n: &str, v: &str| {
                if let Some(x) = ix(n) {
                    put_str(schema, r, x, v)
                }
            };
            let u = |r: &mut Record, n: &str, v: u64| {
                if let Some(x) = ix(n) {
                    put_scalar(schema, r, x, v)
                }
            };
            let f = |r: &mut Record, n: &str, v: f64| {
                if let Some(x) = ix(n) {
                    put_f64(schema, r, x, v)
                }
            };
            s(&mut r, "gadgetID", &st.gadget_id);
            s(&mut r, "gadgetName", &st.gadget_name);
            s(&mut r, "gadgetImage", &st.gadget_image);
            if !self.gadgets_only {
                u(&mut r, "progID", st.program_id as u64);
                s(&mut r, "progName", &st.program_name);
                s(&mut r, "progType", &st.program_type);
            }
            u(&mut r, "runtime_raw", st.runtime);
            f(&mut r, "cpuUsage", st.cpu_usage);
            f(&mut r, "cpuUsageRelative", st.cpu_usage_relative);
            s(
                &mut r,
                "cpuTimeStr",
                &go_duration_string(st.total_runtime as i64),
            );
            u(&mut r, "runcount", st.runcount);
            u(&mut r, "mapMemory_raw", st.map_memory);
            u(&mut r, "mapCount", st.map_count);
            s(&mut r, "comms", &st.comms);
            s(&mut r, "pids", &st.pids);
            out.push(r);
        }
        Ok(out)
    }

    fn stop(&mut self) {
        if std::mem::take(&mut self.started) {
            let _ = disable_bpf_stats();
        }
    }
}

impl Drop for BpfStatsCollector {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasource::{read_value, Value, TYPE_ARRAY};

    #[test]
    fn names_and_parsers() {
        assert_eq!(prog_type_name(1), "SocketFilter");
        assert_eq!(prog_type_name(5), "TracePoint");
        assert_eq!(prog_type_name(26), "Tracing");
        assert_eq!(prog_type_name(32), "Netfilter");
        assert_eq!(prog_type_name(33), "ProgramType(33)");
        assert_eq!(
            parse_memlock("pos:\t0\nflags:\t02000002\nmemlock:\t16071352\nmap_id:\t5\n"),
            Ok(16071352)
        );
        assert!(parse_memlock("pos:\t0\n").is_err());
        assert_eq!(
            parse_prog_id(
                "pos:\t0\nlink_type:\tperf\nprog_tag:\tf1795a781ee952cc\nprog_id:\t188\n"
            ),
            Some(188)
        );
        assert_eq!(parse_prog_id("pos:\t0\n"), None);
        assert_eq!(go_duration_string(2_622_617), "2.622617ms");
        assert!(BpfStatsCollector::new("bogus", false).is_err());
        assert!(BpfStatsCollector::new("0", false).is_err());
    }

    #[test]
    fn schema_matches_ig() {
        let c = BpfStatsCollector::new("1000ms", false).unwrap();
        let mut s = Schema::new("bpfstats", TYPE_ARRAY);
        c.build_schema(&mut s);
        let names: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
        let want = if c.node_name.is_some() {
            &FIELD_NAMES[..]
        } else {
            &FIELD_NAMES[1..]
        };
        assert_eq!(names, want);
        assert_eq!(
            s.annotations.get("fetch-interval").map(|s| s.as_str()),
            Some("1000ms")
        );
        assert_eq!(
            s.annotations
                .get("cli.clear-screen-before")
                .map(|s| s.as_str()),
            Some("true")
        );
    }

    fn get<'a>(s: &Schema, r: &'a Record, name: &str) -> Value<'a> {
        read_value(r, &s.fields[field(s, name).unwrap()])
    }

    #[test]
    fn lists_a_loaded_program() {
        let cfg: serde_yaml::Value =
            serde_yaml::from_str("operator: {ebpf: {emitstats: true}}").unwrap();
        let (mut c, sched) = from_config(&cfg, &BTreeMap::new()).unwrap().unwrap();
        assert_eq!(
            sched,
            Schedule {
                interval: Duration::from_secs(1),
                first_interval: None,
                count: 0
            }
        );
        let mut s = Schema::new(c.ds_name(), TYPE_ARRAY);
        c.build_schema(&mut s);
        c.start(&s).unwrap();
        assert_ne!(stats_method(), StatsMethod::None);
        let prog = load_trivial_prog(1, "gadgetrt_tst").expect("BPF_PROG_LOAD (root needed)");
        let recs = c.collect(&s).unwrap();
        let me = std::process::id().to_string();
        let row = recs
            .iter()
            .find(|r| {
                get(&s, r, "progName") == Value::Str(b"gadgetrt_tst")
                    && get(&s, r, "pids") == Value::Str(me.as_bytes())
            })
            .expect("our program is listed");
        assert_eq!(get(&s, row, "progType"), Value::Str(b"SocketFilter"));
        let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
        assert_eq!(
            get(&s, row, "comms"),
            Value::Str(comm.trim_end_matches('\n').as_bytes())
        );
        assert_eq!(get(&s, row, "cpuTimeStr"), Value::Str(b"0s"));
        for mode in [OwnerScan::TaskFileIter, OwnerScan::ProcFs] {
            let owners = program_owners(mode);
            let Value::Uint(id) = get(&s, row, "progID") else {
                panic!()
            };
            assert!(
                owners[&(id as u32)]
                    .iter()
                    .any(|o| o.pid == std::process::id()),
                "{mode:?}"
            );
        }
        assert_eq!(get(&s, row, "mapCount"), Value::Uint(0));
        assert_eq!(get(&s, row, "gadgetID"), Value::Str(b""));
        let Value::Uint(id) = get(&s, row, "progID") else {
            panic!()
        };
        assert!(id > 0);
        // Second tick: deltas.
        let recs = c.collect(&s).unwrap();
        let row = recs
            .iter()
            .find(|r| get(&s, r, "progID") == Value::Uint(id))
            .unwrap();
        assert_eq!(get(&s, row, "runtime_raw"), Value::Uint(0));
        assert_eq!(get(&s, row, "runcount"), Value::Uint(0));
        // A registered gadget fills the gadget* fields; gadgets-only gives one row per gadget.
        set_gadget_programs(
            1,
            GadgetObjects {
                id: "abc".into(),
                name: "g".into(),
                image: "img".into(),
                program_ids: vec![id as u32],
                map_ids: vec![],
            },
        );
        let recs = c.collect(&s).unwrap();
        let row = recs
            .iter()
            .find(|r| get(&s, r, "progID") == Value::Uint(id))
            .unwrap();
        assert_eq!(get(&s, row, "gadgetImage"), Value::Str(b"img"));
        let mut g = BpfStatsCollector::new("1s", true).unwrap();
        let mut gs = Schema::new("bpfstats", TYPE_ARRAY);
        g.build_schema(&mut gs);
        g.start(&gs).unwrap();
        let recs = g.collect(&gs).unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(get(&gs, &recs[0], "gadgetID"), Value::Str(b"abc"));
        assert_eq!(get(&gs, &recs[0], "progID"), Value::Uint(0));
        remove_gadget_programs(1);
        g.stop();
        drop(prog);
        c.stop();
        c.stop();
    }
}
