//! IG's `process` operator (`pkg/operators/process/process.go`,
//! `pkg/process-helpers/processhelpers.go`): the `processes` array data source of top_process.
//!
//! Enabled by `operator.process.emitstats: true`; timing from `operator.process.{interval
//! (default 60s), first-interval, count}`; `operator.process.fields` selects (and orders) the
//! optional fields. Every `/proc/<pid>` is read each collection; CPU usage is the delta of
//! utime+stime against the previous collection (the baseline taken at start is not emitted).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::datasource::{kind, Record, Schema};
use crate::operators::collector::{
    add_ig_field, cfg_get, field, go_duration_string, mntns_of, proc_pids, put_f64, put_scalar,
    put_str, schedule_from_config, viper_bool, viper_string_slice, Collector, Schedule,
};

/// IG assumes 100 clock ticks per second.
pub const CLOCK_TICKS_PER_SECOND: u64 = 100;
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// All optional fields, in IG's default order (used when `operator.process.fields` is empty).
pub const DEFAULT_FIELDS: &[&str] = &[
    "pid",
    "ppid",
    "comm",
    "priority",
    "nice",
    "cpuUsage",
    "cpuUsageRelative",
    "memoryRSS",
    "memoryVirtual",
    "memoryShared",
    "memoryRelative",
    "threadCount",
    "state",
    "uid",
    "startTime",
    "cpuTime",
];

/// The process collector.
pub struct ProcessCollector {
    /// `operator.process.fields` (or [`DEFAULT_FIELDS`]).
    fields: Vec<String>,
    interval: Duration,
    idx: Idx,
    /// pid → utime+stime of the previous collection.
    last_cpu_times: HashMap<i32, u64>,
    last_sample: Instant,
    boot_time_secs: i64,
}

/// Field indexes (after `build_schema`/`start`).
#[derive(Default, Clone, Debug)]
struct Idx {
    pid: usize,
    ppid: Option<usize>,
    comm: Option<usize>,
    priority: Option<usize>,
    nice: Option<usize>,
    cpu: Option<usize>,
    cpu_rel: Option<usize>,
    rss: Option<usize>,
    vsize: Option<usize>,
    shared: Option<usize>,
    mem_rel: Option<usize>,
    threads: Option<usize>,
    state: Option<usize>,
    uid: Option<usize>,
    start_time: Option<usize>,
    start_time_str: Option<usize>,
    cpu_time: Option<usize>,
    cpu_time_str: Option<usize>,
    mntns: usize,
}

/// `Some` when `operator.process.emitstats` is true. Errors like IG's instantiation: a field
/// named twice in `operator.process.fields` ("field already exists").
pub fn from_config(
    cfg: &serde_yaml::Value,
) -> Result<Option<(ProcessCollector, Schedule)>, String> {
    if !viper_bool(cfg_get(cfg, "operator.process.emitstats")) {
        return Ok(None);
    }
    let schedule = schedule_from_config(cfg, "process", DEFAULT_INTERVAL);
    let fields = viper_string_slice(cfg_get(cfg, "operator.process.fields"));
    let c = ProcessCollector::new(fields, schedule.interval)?;
    Ok(Some((c, schedule)))
}

impl ProcessCollector {
    /// `fields` empty: all fields. Names are IG's (`memoryRSS`, not `memoryRSS_raw`).
    pub fn new(fields: Vec<String>, interval: Duration) -> Result<ProcessCollector, String> {
        let fields = if fields.is_empty() {
            DEFAULT_FIELDS.iter().map(|s| s.to_string()).collect()
        } else {
            fields
        };
        // IG adds `pid` first, then each listed field; a second AddField of a name fails.
        let mut seen: Vec<&str> = vec!["pid"];
        for f in &fields {
            let created: &[&str] = match f.as_str() {
                "ppid" => &["ppid"],
                "comm" => &["comm"],
                "nice" => &["nice"],
                "priority" => &["priority"],
                "cpuTime" => &["cpuTime", "cpuTimeStr"],
                "cpuUsage" => &["cpuUsage"],
                "cpuUsageRelative" => &["cpuUsageRelative"],
                "memoryRSS" => &["memoryRSS_raw"],
                "memoryVirtual" => &["memoryVirtual_raw"],
                "memoryRelative" => &["memoryRelative"],
                "memoryShared" => &["memoryShared_raw"],
                "threadCount" => &["threadCount"],
                "state" => &["state"],
                "uid" => &["uid"],
                "startTime" | "startTimeStr" => &["startTime", "startTimeStr"],
                // "pid" (always added first) and unknown names are ignored by IG's switch.
                _ => &[],
            };
            for c in created {
                if seen.contains(c) {
                    return Err(format!("adding {} field: field {:?} already exists", f, c));
                }
                seen.push(c);
            }
        }
        Ok(ProcessCollector {
            fields,
            interval,
            idx: Idx::default(),
            last_cpu_times: HashMap::new(),
            last_sample: Instant::now(),
            boot_time_secs: 0,
        })
    }

    fn resolve(&mut self, schema: &Schema) {
        let g = |n: &str| field(schema, n);
        self.idx = Idx {
            pid: g("pid").unwrap_or(0),
            ppid: g("ppid"),
            comm: g("comm"),
            priority: g("priority"),
            nice: g("nice"),
            cpu: g("cpuUsage"),
            cpu_rel: g("cpuUsageRelative"),
            rss: g("memoryRSS_raw"),
            vsize: g("memoryVirtual_raw"),
            shared: g("memoryShared_raw"),
            mem_rel: g("memoryRelative"),
            threads: g("threadCount"),
            state: g("state"),
            uid: g("uid"),
            start_time: g("startTime"),
            start_time_str: g("startTimeStr"),
            cpu_time: g("cpuTime"),
            cpu_time_str: g("cpuTimeStr"),
            mntns: g("mountnsid").unwrap_or(0),
        };
    }

    fn options(&self) -> Options {
        let i = &self.idx;
        Options {
            cpu_usage: i.cpu.is_some(),
            cpu_usage_relative: i.cpu_rel.is_some(),
            comm: i.comm.is_some(),
            ppid: i.ppid.is_some(),
            state: i.state.is_some(),
            uid: i.uid.is_some(),
            vm_size: i.vsize.is_some(),
            vm_rss: i.rss.is_some(),
            memory_relative: i.mem_rel.is_some(),
            thread_count: i.threads.is_some(),
            start_time: i.start_time.is_some(),
        }
    }

    /// One pass over /proc (IG `collectProcessInfo`).
    fn gather(&mut self) -> Result<Vec<ProcessInfo>, String> {
        let mut time_delta = 0.0;
        let now = Instant::now();
        if self.idx.cpu.is_some() {
            time_delta = now.duration_since(self.last_sample).as_secs_f64();
            // IG updates lastSampleTime in a defer: also when this collection fails.
            self.last_sample = now;
        }
        let num_cpu = online_cpus().map_err(|e| format!("getting number of CPUs: {e}"))?;
        let total_memory = total_memory().map_err(|e| format!("getting total memory: {e}"))?;
        let pids = proc_pids().map_err(|e| format!("reading /proc directory: {e}"))?;
        let opts = self.options();
        let env = Env {
            total_memory,
            num_cpu,
            boot_time_secs: self.boot_time_secs,
        };
        let mut procs = Vec::with_capacity(pids.len());
        for pid in pids {
            let last = self.last_cpu_times.get(&pid).copied();
            if let Ok(mut pi) = get_process_info(pid, time_delta, &opts, &env, last) {
                pi.mount_ns_id = mntns_of(pid);
                procs.push(pi);
            }
        }
        self.last_cpu_times = procs.iter().map(|p| (p.pid, p.cpu_time)).collect();
        Ok(procs)
    }
}

impl Collector for ProcessCollector {
    fn ds_name(&self) -> &str {
        "processes"
    }

    fn build_schema(&self, s: &mut Schema) {
        s.annotations.insert(
            "fetch-interval".into(),
            go_duration_string(self.interval.as_nanos() as i64),
        );
        let right = ("columns.alignment", "right");
        add_ig_field(s, "pid", kind::INT32, &[("template", "pid")], &[]);
        for f in &self.fields {
            match f.as_str() {
                "ppid" => {
                    add_ig_field(s, "ppid", kind::INT32, &[("template", "ppid")], &[]);
                }
                "comm" => {
                    add_ig_field(s, "comm", kind::STRING, &[("template", "comm")], &[]);
                }
                "nice" => {
                    add_ig_field(
                        s,
                        "nice",
                        kind::INT8,
                        &[right, ("description", "The nice value of the process.")],
                        &[],
                    );
                }
                "priority" => {
                    add_ig_field(
                        s,
                        "priority",
                        kind::INT8,
                        &[right, ("description", "The priority of the process.")],
                        &[],
                    );
                }
                "cpuTime" => {
                    add_ig_field(
                        s,
                        "cpuTime",
                        kind::INT64,
                        &[
                            ("columns.hidden", "true"),
                            ("description", "Total CPU time"),
                        ],
                        &[],
                    );
                    add_ig_field(
                        s,
                        "cpuTimeStr",
                        kind::STRING,
                        &[
                            ("description", "Total CPU time, formatted as duration"),
                            right,
                            ("columns.maxwidth", "12"),
                        ],
                        &[],
                    );
                }
                "cpuUsage" => {
                    add_ig_field(
                        s,
                        "cpuUsage",
                        kind::FLOAT64,
                        &[
                            ("columns.precision", "1"),
                            right,
                            (
                                "description",
                                "The CPU usage of the process as a percentage.",
                            ),
                            ("columns.maxwidth", "8"),
                        ],
                        &[],
                    );
                }
                "cpuUsageRelative" => {
                    add_ig_field(
                        s,
                        "cpuUsageRelative",
                        kind::FLOAT64,
                        &[
                            ("columns.precision", "1"),
                            right,
                            ("description", "The CPU usage percentage relative to the number of CPUs available."),
                            ("columns.maxwidth", "8"),
                        ],
                        &[],
                    );
                }
                "memoryRSS" => {
                    add_ig_field(
                        s,
                        "memoryRSS_raw",
                        kind::UINT64,
                        &[right, ("description", "The Resident Set Size (RSS) of the process in bytes. This represents the portion of memory occupied by a process that is held in main memory (RAM).")],
                        &["type:gadget_bytes"],
                    );
                }
                "memoryVirtual" => {
                    add_ig_field(
                        s,
                        "memoryVirtual_raw",
                        kind::UINT64,
                        &[right, ("description", "The Virtual Memory Size of the process in bytes. This represents the total amount of virtual memory used by the process.")],
                        &["type:gadget_bytes"],
                    );
                }
                "memoryRelative" => {
                    add_ig_field(
                        s,
                        "memoryRelative",
                        kind::FLOAT64,
                        &[
                            right,
                            ("columns.precision", "1"),
                            (
                                "description",
                                "Percentage of RSS memory used relative to available memory.",
                            ),
                            ("columns.maxwidth", "8"),
                        ],
                        &[],
                    );
                }
                "memoryShared" => {
                    add_ig_field(
                        s,
                        "memoryShared_raw",
                        kind::UINT64,
                        &[
                            right,
                            (
                                "description",
                                "The Shared Memory Size of the process in bytes.",
                            ),
                        ],
                        &["type:gadget_bytes"],
                    );
                }
                "threadCount" => {
                    add_ig_field(
                        s,
                        "threadCount",
                        kind::INT32,
                        &[
                            right,
                            ("description", "The number of threads used by the process."),
                            ("columns.maxwidth", "11"),
                        ],
                        &[],
                    );
                }
                "state" => {
                    add_ig_field(
                        s,
                        "state",
                        kind::STRING,
                        &[
                            ("description", "The state of the process (e.g., \"R\" for running, \"S\" for sleeping, \"Z\" for zombie, etc.)."),
                            ("value.one-of", "R,S,D,Z,T,t,W,X,x,K,W,P,I"),
                            ("columns.maxwidth", "5"),
                        ],
                        &[],
                    );
                }
                "uid" => {
                    add_ig_field(s, "uid", kind::UINT32, &[("template", "uid")], &[]);
                }
                "startTime" | "startTimeStr" => {
                    add_ig_field(
                        s,
                        "startTime",
                        kind::UINT64,
                        &[
                            ("description", "The time when the process started, represented as clock ticks since system boot."),
                            ("columns.hidden", "true"),
                        ],
                        &[],
                    );
                    add_ig_field(
                        s,
                        "startTimeStr",
                        kind::STRING,
                        &[
                            ("description", "The time when the process started, represented as a formatted date-time string in RFC3339 format (e.g., \"2023-06-15T14:30:45Z\")."),
                            ("columns.ellipsis", "start"),
                            ("columns.maxwidth", "25"),
                        ],
                        &[],
                    );
                }
                _ => {}
            }
        }
        add_ig_field(
            s,
            "mountnsid",
            kind::UINT64,
            &[("template", "mntns_id")],
            &["type:gadget_mntns_id"],
        );
    }

    fn start(&mut self, schema: &Schema) -> Result<(), String> {
        self.resolve(schema);
        // IG: boot time from `btime`, or "now" when /proc/stat has none (warning).
        self.boot_time_secs = boot_time().unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
        // Baseline (not emitted); an error is only logged by IG.
        let _ = self.gather();
        Ok(())
    }

    fn collect(&mut self, schema: &Schema) -> Result<Vec<Record>, String> {
        let procs = self.gather()?;
        let i = self.idx.clone();
        let mut out = Vec::with_capacity(procs.len());
        for p in &procs {
            let mut r = schema.new_record();
            put_scalar(schema, &mut r, i.pid, p.pid as i64 as u64);
            if let Some(x) = i.ppid {
                put_scalar(schema, &mut r, x, p.ppid as u64);
            }
            if let Some(x) = i.comm {
                put_str(schema, &mut r, x, &p.comm);
            }
            if let Some(x) = i.priority {
                put_scalar(schema, &mut r, x, p.priority as i8 as i64 as u64);
            }
            if let Some(x) = i.nice {
                put_scalar(schema, &mut r, x, p.nice as i8 as i64 as u64);
            }
            if let Some(x) = i.cpu {
                put_f64(schema, &mut r, x, p.cpu_usage);
            }
            if let Some(x) = i.cpu_rel {
                put_f64(schema, &mut r, x, p.cpu_usage_relative);
            }
            if let Some(x) = i.rss {
                put_scalar(schema, &mut r, x, p.memory_rss);
            }
            if let Some(x) = i.vsize {
                put_scalar(schema, &mut r, x, p.memory_virtual);
            }
            if let Some(x) = i.shared {
                put_scalar(schema, &mut r, x, p.memory_shared);
            }
            if let Some(x) = i.mem_rel {
                put_f64(schema, &mut r, x, p.memory_relative);
            }
            if let Some(x) = i.threads {
                put_scalar(schema, &mut r, x, p.thread_count as i32 as i64 as u64);
            }
            if let Some(x) = i.state {
                put_str(schema, &mut r, x, &p.state);
            }
            if let Some(x) = i.uid {
                put_scalar(schema, &mut r, x, p.uid as u64);
            }
            if let (Some(x), Some(y)) = (i.start_time, i.start_time_str) {
                put_scalar(schema, &mut r, x, p.start_time);
                let mut t = String::new();
                let secs = p.start_time_ns.div_euclid(1_000_000_000);
                crate::operators::values::format_rfc3339_seconds(secs, &mut t);
                put_str(schema, &mut r, y, &t);
            }
            if let (Some(x), Some(y)) = (i.cpu_time, i.cpu_time_str) {
                put_scalar(schema, &mut r, x, p.cpu_time);
                put_str(schema, &mut r, y, &cpu_time_str(p.cpu_time));
            }
            put_scalar(schema, &mut r, i.mntns, p.mount_ns_id);
            out.push(r);
        }
        Ok(out)
    }

    fn stop(&mut self) {}
}

/// Which values to read (IG `processhelpers.Options`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub cpu_usage: bool,
    pub cpu_usage_relative: bool,
    pub comm: bool,
    pub ppid: bool,
    pub state: bool,
    pub uid: bool,
    pub vm_size: bool,
    pub vm_rss: bool,
    pub memory_relative: bool,
    pub thread_count: bool,
    pub start_time: bool,
}

impl Options {
    fn need_status(&self) -> bool {
        self.ppid
            || self.comm
            || self.state
            || self.uid
            || self.vm_rss
            || self.vm_size
            || self.memory_relative
            || self.thread_count
    }
    fn need_stat(&self) -> bool {
        self.cpu_usage || self.cpu_usage_relative || self.start_time
    }
}

/// System values of one collection.
#[derive(Clone, Copy, Debug)]
pub struct Env {
    pub total_memory: u64,
    pub num_cpu: usize,
    pub boot_time_secs: i64,
}

/// IG `processhelpers.ProcessInfo`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessInfo {
    pub pid: i32,
    pub ppid: i64,
    pub comm: String,
    pub cpu_usage: f64,
    pub cpu_usage_relative: f64,
    /// utime+stime ticks (only read when cpuUsage or cpuUsageRelative is enabled).
    pub cpu_time: u64,
    pub priority: i64,
    pub nice: i64,
    pub memory_rss: u64,
    pub memory_virtual: u64,
    pub memory_shared: u64,
    pub memory_relative: f64,
    pub thread_count: i64,
    pub state: String,
    pub uid: u32,
    /// Ticks since boot.
    pub start_time: u64,
    /// Start time as Unix ns (boot time + ticks/100 s).
    pub start_time_ns: i64,
    pub mount_ns_id: u64,
}

/// IG `GetProcessInfo` for one pid. `last_cpu` is the previous collection's utime+stime.
pub fn get_process_info(
    pid: i32,
    time_delta: f64,
    o: &Options,
    env: &Env,
    last_cpu: Option<u64>,
) -> Result<ProcessInfo, String> {
    let mut pi = ProcessInfo {
        pid,
        ..Default::default()
    };
    if o.need_status() {
        let data = std::fs::read(format!("/proc/{pid}/status"))
            .map_err(|e| format!("opening status file for pid {pid}: {e}"))?;
        parse_status(&data, o, &mut pi);
    }
    if o.memory_relative && env.total_memory > 0 {
        pi.memory_relative = 100.0 * pi.memory_rss as f64 / env.total_memory as f64;
    }
    if o.need_stat() {
        let data = std::fs::read(format!("/proc/{pid}/stat"))
            .map_err(|e| format!("open stat {pid}: {e}"))?;
        let st = parse_stat(&data).ok_or_else(|| format!("invalid stat {pid}"))?;
        pi.priority = st.priority;
        pi.nice = st.nice;
        if o.cpu_usage || o.cpu_usage_relative {
            pi.cpu_time = st.utime.wrapping_add(st.stime);
            if let Some(prev) = last_cpu {
                if time_delta > 0.0 {
                    // Go: float64(uint64 difference): wraps when the counter went backwards.
                    let d = pi.cpu_time.wrapping_sub(prev) as f64;
                    pi.cpu_usage = 100.0 * d / CLOCK_TICKS_PER_SECOND as f64 / time_delta;
                    if o.cpu_usage_relative {
                        pi.cpu_usage_relative = pi.cpu_usage / env.num_cpu as f64;
                    }
                }
            }
        }
        if o.start_time {
            pi.start_time = st.starttime;
            let sec = st.starttime as f64 / CLOCK_TICKS_PER_SECOND as f64;
            pi.start_time_ns = env
                .boot_time_secs
                .wrapping_mul(1_000_000_000)
                .wrapping_add((sec * 1e9) as i64);
        }
    }
    Ok(pi)
}

/// Parses `/proc/<pid>/status` like IG (first match of each prefix; stops once comm, ppid,
/// state, uid, VmSize, VmRSS and Threads are all done, so RssFile/RssShmem after that point
/// are not read).
pub fn parse_status(data: &[u8], o: &Options, pi: &mut ProcessInfo) {
    let mut b_comm = o.comm;
    let mut b_ppid = o.ppid;
    let mut b_state = o.state;
    let mut b_uid = o.uid;
    let mut b_vmsize = o.vm_size;
    let mut b_vmrss = o.vm_rss || o.memory_relative;
    let mut b_threads = o.thread_count;
    let mut b_shmem = o.vm_size;
    let mut b_file = o.vm_size;
    for line in data.split(|&c| c == b'\n') {
        if b_comm && line.starts_with(b"Name:\t") {
            b_comm = false;
            pi.comm = unescape_comm(&line[6..]);
        } else if b_ppid && line.starts_with(b"PPid:\t") {
            b_ppid = false;
            pi.ppid = parse_trim_decimal(&line[6..]) as i64;
        } else if b_state && line.starts_with(b"State:\t") {
            b_state = false;
            if line.len() > 7 {
                pi.state = String::from_utf8_lossy(&line[7..8]).into_owned();
            }
        } else if b_uid && line.starts_with(b"Uid:\t") {
            b_uid = false;
            pi.uid = parse_trim_decimal(&line[5..]) as u32;
        } else if b_vmsize && line.starts_with(b"VmSize:\t") {
            b_vmsize = false;
            pi.memory_virtual = parse_trim_decimal(&line[8..]).wrapping_mul(1024);
        } else if b_vmrss && line.starts_with(b"VmRSS:\t") {
            b_vmrss = false;
            pi.memory_rss = parse_trim_decimal(&line[7..]).wrapping_mul(1024);
        } else if b_shmem && line.starts_with(b"RssShmem:\t") {
            b_shmem = false;
            pi.memory_shared = pi
                .memory_shared
                .wrapping_add(parse_trim_decimal(&line[10..]).wrapping_mul(1024));
        } else if b_file && line.starts_with(b"RssFile:\t") {
            b_file = false;
            pi.memory_shared = pi
                .memory_shared
                .wrapping_add(parse_trim_decimal(&line[9..]).wrapping_mul(1024));
        } else if b_threads && line.starts_with(b"Threads:\t") {
            b_threads = false;
            pi.thread_count = parse_trim_decimal(&line[9..]) as i64;
        }
        if !b_comm && !b_ppid && !b_state && !b_uid && !b_vmsize && !b_vmrss && !b_threads {
            break;
        }
    }
}

/// The `/proc/<pid>/stat` fields IG reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    pub utime: u64,
    pub stime: u64,
    pub priority: i64,
    pub nice: i64,
    pub starttime: u64,
}

/// Parses `/proc/<pid>/stat` after the last `)` (fields 3..=22, space-separated).
pub fn parse_stat(data: &[u8]) -> Option<Stat> {
    let o = data.iter().position(|&c| c == b'(')?;
    let c = data.iter().rposition(|&c| c == b')')?;
    if c <= o {
        return None;
    }
    let mut st = Stat::default();
    for (n, f) in data[c + 1..]
        .split(|&c| c == b' ')
        .filter(|f| !f.is_empty())
        .enumerate()
    {
        let idx = n + 3;
        match idx {
            14 => st.utime = parse_decimal(f),
            15 => st.stime = parse_decimal(f),
            18 => st.priority = parse_signed(f),
            19 => st.nice = parse_signed(f),
            22 => {
                st.starttime = parse_decimal(f);
                break;
            }
            _ => {}
        }
    }
    Some(st)
}

fn parse_signed(b: &[u8]) -> i64 {
    let mut v: i64 = 0;
    let mut mult = 1;
    for &c in b {
        if c == b'-' {
            mult = -1;
            continue;
        }
        if !c.is_ascii_digit() {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add((c - b'0') as i64);
    }
    v.wrapping_mul(mult)
}

fn parse_decimal(b: &[u8]) -> u64 {
    let mut v: u64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add((c - b'0') as u64);
    }
    v
}

fn parse_trim_decimal(b: &[u8]) -> u64 {
    let mut v: u64 = 0;
    let mut started = false;
    for &c in b {
        if !c.is_ascii_digit() {
            if c == b' ' && !started {
                continue;
            }
            break;
        }
        started = true;
        v = v.wrapping_mul(10).wrapping_add((c - b'0') as u64);
    }
    v
}

/// Undoes the kernel's `Name:` escaping (`\f \n \r \t \v \" \\ \a \e`); other `\x` pairs stay.
pub fn unescape_comm(cmd: &[u8]) -> String {
    if !cmd.contains(&b'\\') {
        return String::from_utf8_lossy(cmd).into_owned();
    }
    let mut b = Vec::with_capacity(cmd.len());
    let mut i = 0;
    while i < cmd.len() {
        if cmd[i] == b'\\' && i + 1 < cmd.len() {
            match cmd[i + 1] {
                b'f' => b.push(0x0c),
                b'n' => b.push(b'\n'),
                b'r' => b.push(b'\r'),
                b't' => b.push(b'\t'),
                b'v' => b.push(0x0b),
                b'"' => b.push(b'"'),
                b'\\' => b.push(b'\\'),
                b'a' => b.push(0x07),
                b'e' => b.push(27),
                _ => b.extend_from_slice(&cmd[i..i + 2]),
            }
            i += 2;
        } else {
            b.push(cmd[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// `<minutes>:<SS>.<mmm>` of `ticks` × 10 ms (IG's TIME+ column).
pub fn cpu_time_str(ticks: u64) -> String {
    let d = (ticks as i64).wrapping_mul(10_000_000); // Go: Duration(ticks) * Millisecond * 10
    let minutes = (d / 60_000_000_000) as f64 + (d % 60_000_000_000) as f64 / 60e9;
    let seconds = (d / 1_000_000_000) as f64 + (d % 1_000_000_000) as f64 / 1e9;
    let mins = minutes as i64;
    let secs = (seconds as i64) % 60;
    let ms = (d / 1_000_000) % 1000;
    format!("{}:{}.{}", mins, pad2(secs), pad3(ms))
}

fn pad2(n: i64) -> String {
    if n < 10 {
        format!("0{n}")
    } else {
        n.to_string()
    }
}

fn pad3(n: i64) -> String {
    if n < 10 {
        format!("00{n}")
    } else if n < 100 {
        format!("0{n}")
    } else {
        n.to_string()
    }
}


/// `btime` of /proc/stat (Unix seconds).
pub fn boot_time() -> Option<i64> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    s.lines()
        .filter(|l| l.starts_with("btime "))
        .find_map(|l| l.split_whitespace().nth(1)?.parse().ok())
}

/// `MemTotal` of /proc/meminfo in bytes.
pub fn total_memory() -> Result<u64, String> {
    let s =
        std::fs::read_to_string("/proc/meminfo").map_err(|e| format!("opening meminfo: {e}"))?;
    parse_meminfo_total(&s)
}

pub fn parse_meminfo_total(s: &str) -> Result<u64, String> {
    for l in s.lines() {
        if let Some(rest) = l.strip_prefix("MemTotal:") {
            let kb = rest
                .trim()
                .strip_suffix(" kB")
                .ok_or_else(|| format!("unexpected contents of total memory field: {rest:?}"))?;
            let v: u64 = kb
                .parse()
                .map_err(|e| format!("parsing total memory field: {e}"))?;
            return Ok(v * 1024);
        }
    }
    Err("getting total memory from meminfo".into())
}

/// Online CPUs (`numcpus.GetOnline`: the list in /sys/devices/system/cpu/online).
pub fn online_cpus() -> Result<usize, String> {
    let s = std::fs::read_to_string("/sys/devices/system/cpu/online").map_err(|e| e.to_string())?;
    parse_cpu_list(s.trim())
}

/// Counts the CPUs of a kernel cpu list (`0-3,5,7-8`).
pub fn parse_cpu_list(s: &str) -> Result<usize, String> {
    let mut n = 0;
    for part in s.split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let a: usize = a.trim().parse().map_err(|e| format!("{e}"))?;
                let b: usize = b.trim().parse().map_err(|e| format!("{e}"))?;
                if b < a {
                    return Err(format!("invalid cpu range {part:?}"));
                }
                n += b - a + 1;
            }
            None => {
                part.trim().parse::<usize>().map_err(|e| format!("{e}"))?;
                n += 1;
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasource::{read_value, Schema, Value, TYPE_ARRAY};

    #[test]
    fn comm_unescape() {
        assert_eq!(unescape_comm(b"bash"), "bash");
        assert_eq!(unescape_comm(b"a\\nb\\tc\\\\d\\\"e"), "a\nb\tc\\d\"e");
        assert_eq!(unescape_comm(br"x\ey\az\f\r\v"), "x\x1by\x07z\x0c\r\x0b");
        assert_eq!(unescape_comm(br"keep\q"), r"keep\q");
        assert_eq!(unescape_comm(br"trail\"), r"trail\");
    }

    #[test]
    fn cpu_time_strings() {
        assert_eq!(cpu_time_str(0), "0:00.000");
        assert_eq!(cpu_time_str(357), "0:03.570");
        assert_eq!(cpu_time_str(6000), "1:00.000");
        assert_eq!(cpu_time_str(6123), "1:01.230");
        assert_eq!(cpu_time_str(1), "0:00.010");
        assert_eq!(cpu_time_str(123_456_789), "20576:07.890");
    }

    #[test]
    fn status_and_stat_parsing() {
        let status = b"Name:\tmy\\nproc\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\nPPid:\t1\nUid:\t1000\t1000\t1000\t1000\nVmSize:\t   39000 kB\nVmRSS:\t   12648 kB\nRssAnon:\t 100 kB\nRssFile:\t    5000 kB\nRssShmem:\t     768 kB\nThreads:\t11\n";
        let all = Options {
            cpu_usage: true,
            cpu_usage_relative: true,
            comm: true,
            ppid: true,
            state: true,
            uid: true,
            vm_size: true,
            vm_rss: true,
            memory_relative: true,
            thread_count: true,
            start_time: true,
        };
        let mut pi = ProcessInfo::default();
        parse_status(status, &all, &mut pi);
        assert_eq!(pi.comm, "my\nproc");
        assert_eq!(pi.state, "S");
        assert_eq!(pi.ppid, 1);
        assert_eq!(pi.uid, 1000);
        assert_eq!(pi.memory_virtual, 39000 * 1024);
        assert_eq!(pi.memory_rss, 12648 * 1024);
        assert_eq!(pi.memory_shared, (5000 + 768) * 1024);
        assert_eq!(pi.thread_count, 11);
        // Without threadCount, IG stops after VmRSS and misses RssFile/RssShmem.
        let mut o = all;
        o.thread_count = false;
        let mut pi = ProcessInfo::default();
        parse_status(status, &o, &mut pi);
        assert_eq!(pi.memory_shared, 0);

        let stat = b"42 (we ird) (x) S 1 42 42 0 -1 4194560 100 0 0 0 250 107 0 0 20 0 11 0 6 39911424 3162 18446744073709551615\n";
        let st = parse_stat(stat).unwrap();
        assert_eq!(
            st,
            Stat {
                utime: 250,
                stime: 107,
                priority: 20,
                nice: 0,
                starttime: 6
            }
        );
        let stat = b"7 (rt) S 2 0 0 0 -1 0 0 0 0 0 1 2 0 0 -51 -20 1 0 99 0 0\n";
        let st = parse_stat(stat).unwrap();
        assert_eq!((st.priority, st.nice, st.starttime), (-51, -20, 99));
        assert!(parse_stat(b"garbage").is_none());
    }

    #[test]
    fn meminfo_and_cpulist() {
        assert_eq!(
            parse_meminfo_total("MemTotal:       16303428 kB\nMemFree: 1 kB\n"),
            Ok(16303428 * 1024)
        );
        assert!(parse_meminfo_total("MemFree: 1 kB\n").is_err());
        assert_eq!(parse_cpu_list("0-3,5,7-8"), Ok(7));
        assert_eq!(parse_cpu_list("0"), Ok(1));
    }

    #[test]
    fn schema_matches_ig() {
        let c = ProcessCollector::new(vec![], Duration::from_secs(3)).unwrap();
        let mut s = Schema::new("processes", TYPE_ARRAY);
        c.build_schema(&mut s);
        let names: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "pid",
                "ppid",
                "comm",
                "priority",
                "nice",
                "cpuUsage",
                "cpuUsageRelative",
                "memoryRSS_raw",
                "memoryVirtual_raw",
                "memoryShared_raw",
                "memoryRelative",
                "threadCount",
                "state",
                "uid",
                "startTime",
                "startTimeStr",
                "cpuTime",
                "cpuTimeStr",
                "mountnsid"
            ]
        );
        assert_eq!(
            s.annotations.get("fetch-interval").map(|s| s.as_str()),
            Some("3s")
        );
        let f = &s.fields[field(&s, "ppid").unwrap()];
        assert!(f.hidden);
        assert_eq!(
            f.annotations.get("columns.minwidth").map(|s| s.as_str()),
            Some("7")
        );
        assert!(!f.annotations.contains_key("columns.width"));
        assert!(s.fields[field(&s, "mountnsid").unwrap()].hidden);
        assert!(s.fields[field(&s, "cpuTime").unwrap()].hidden);
        assert!(s.fields[field(&s, "startTime").unwrap()].hidden);
        assert_eq!(
            s.fields[field(&s, "memoryRSS_raw").unwrap()].tags,
            ["type:gadget_bytes"]
        );
        // Duplicates fail like IG's AddField.
        assert!(
            ProcessCollector::new(vec!["comm".into(), "comm".into()], Duration::from_secs(1))
                .is_err()
        );
        assert!(ProcessCollector::new(
            vec!["startTime".into(), "startTimeStr".into()],
            Duration::from_secs(1)
        )
        .is_err());
        // Custom order: pid, then the list order, then mountnsid.
        let c = ProcessCollector::new(vec!["state".into(), "comm".into()], Duration::from_secs(1))
            .unwrap();
        let mut s = Schema::new("processes", TYPE_ARRAY);
        c.build_schema(&mut s);
        let names: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["pid", "state", "comm", "mountnsid"]);
    }

    fn get<'a>(s: &Schema, r: &'a Record, name: &str) -> Value<'a> {
        read_value(r, &s.fields[field(s, name).unwrap()])
    }

    #[test]
    fn collects_this_machine() {
        let cfg: serde_yaml::Value = serde_yaml::from_str(
            "operator: {process: {emitstats: true, interval: 3s, first-interval: 250ms}}",
        )
        .unwrap();
        let (mut c, sched) = from_config(&cfg).unwrap().unwrap();
        assert_eq!(sched.first_interval, Some(Duration::from_millis(250)));
        let mut s = Schema::new(c.ds_name(), TYPE_ARRAY);
        c.build_schema(&mut s);
        c.start(&s).unwrap();
        // Burn some CPU so our own usage is non-zero.
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(300) {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        std::hint::black_box(x);
        let recs = c.collect(&s).unwrap();
        assert!(recs.len() > 1);
        let me = std::process::id() as i64;
        let mine = recs
            .iter()
            .find(|r| get(&s, r, "pid") == Value::Int(me))
            .expect("own pid");
        let my_comm = std::fs::read_to_string("/proc/self/comm").unwrap();
        assert_eq!(
            get(&s, mine, "comm"),
            Value::Str(my_comm.trim_end_matches('\n').as_bytes())
        );
        let Value::Int(thr) = get(&s, mine, "threadCount") else {
            panic!()
        };
        assert!(thr >= 1);
        let Value::Float(cpu) = get(&s, mine, "cpuUsage") else {
            panic!()
        };
        assert!(cpu > 10.0 && cpu < 100.0 * 1024.0, "cpu {cpu}");
        let Value::Uint(rss) = get(&s, mine, "memoryRSS_raw") else {
            panic!()
        };
        assert!(rss > 0);
        let Value::Uint(mnt) = get(&s, mine, "mountnsid") else {
            panic!()
        };
        assert!(mnt > 0);
        let Value::Str(st) = get(&s, mine, "state") else {
            panic!()
        };
        assert_eq!(st.len(), 1);
        let Value::Str(ts) = get(&s, mine, "startTimeStr") else {
            panic!()
        };
        let ts = std::str::from_utf8(ts).unwrap();
        assert!(ts.len() >= 20 && ts.as_bytes()[10] == b'T', "{ts}");
        let Value::Str(ct) = get(&s, mine, "cpuTimeStr") else {
            panic!()
        };
        assert!(std::str::from_utf8(ct).unwrap().contains(':'));
        assert_eq!(
            get(&s, mine, "uid"),
            Value::Uint(unsafe { libc::getuid() } as u64)
        );
        // pid 1 exists (kernel or init).
        assert!(recs.iter().any(|r| get(&s, r, "pid") == Value::Int(1)));
    }
}
