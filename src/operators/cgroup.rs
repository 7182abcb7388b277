//! IG's `cgroup` operator (`pkg/operators/cgroup/cgroup.go`): the `cgroups` array data source
//! of top_cpu_throttle (cgroup v2 CFS throttling per cgroup with a CPU limit).
//!
//! Enabled by `operator.cgroup.emitstats: true`; timing from `operator.cgroup.{interval
//! (default 5s), first-interval, count}`. Each collection maps every `/proc/<pid>` to its
//! cgroup-v2 path (`0::` line of `/proc/<pid>/cgroup`; the root `/` is ignored), keeps the first
//! pid per path, and reads `cpu.max` (skipped when the quota is `max`), `cpu.stat` and
//! `cpu.pressure` under the cgroup2 mount (`/sys/fs/cgroup` or `/sys/fs/cgroup/unified`).
//! Rows are deltas against the previous collection; new paths and paths with no new periods
//! and no new throttling are not emitted. On a cgroup-v1-only host every array is empty.

use std::collections::HashMap;
use std::time::Duration;

use crate::datasource::{kind, Record, Schema};
use crate::operators::collector::{
    add_ig_field, cfg_get, field, go_duration_string, mntns_of, proc_pids, put_f64, put_scalar,
    put_str, schedule_from_config, viper_bool, Collector, Schedule,
};

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

/// Cumulative values of `cpu.stat`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuStat {
    pub nr_periods: u64,
    pub nr_throttled: u64,
    pub throttled_usec: u64,
}

/// `cpu.max`: quota (-1 for `max`) and period, in µs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuMax {
    pub quota: i64,
    pub period: u64,
}

/// `some` line of `cpu.pressure`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Psi {
    pub some_avg10: f64,
    pub some_avg60: f64,
    pub available: bool,
}

/// One discovered cgroup.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CgroupInfo {
    /// Path relative to the cgroup2 mount (`/system.slice/foo.service`).
    pub path: String,
    pub stat: CpuStat,
    pub max: CpuMax,
    pub psi: Psi,
    pub mount_ns_id: u64,
}

/// The cgroup collector.
pub struct CgroupCollector {
    interval: Duration,
    prev: HashMap<String, CpuStat>,
    idx: Vec<usize>,
}

/// `Some` when `operator.cgroup.emitstats` is true.
pub fn from_config(cfg: &serde_yaml::Value) -> Result<Option<(CgroupCollector, Schedule)>, String> {
    if !viper_bool(cfg_get(cfg, "operator.cgroup.emitstats")) {
        return Ok(None);
    }
    let schedule = schedule_from_config(cfg, "cgroup", DEFAULT_INTERVAL);
    Ok(Some((CgroupCollector::new(schedule.interval), schedule)))
}

const FIELDS: [&str; 11] = [
    "cgroupPath",
    "nrPeriods",
    "nrThrottled",
    "throttledTime_raw",
    "throttleRatio",
    "cpuQuota_raw",
    "cpuPeriod_raw",
    "cpuLimitCores",
    "psiSomeAvg10",
    "psiSomeAvg60",
    "mountnsid",
];

impl CgroupCollector {
    pub fn new(interval: Duration) -> CgroupCollector {
        CgroupCollector {
            interval,
            prev: HashMap::new(),
            idx: Vec::new(),
        }
    }

    /// Turns one discovery into rows and updates the previous values (IG `collectAndEmit`).
    pub fn deltas(&mut self, infos: &[CgroupInfo], emit: bool) -> Vec<Row> {
        let mut new_prev = HashMap::with_capacity(infos.len());
        let mut rows = Vec::new();
        for info in infos {
            new_prev.insert(info.path.clone(), info.stat);
            if !emit {
                continue;
            }
            let Some(prev) = self.prev.get(&info.path) else {
                continue;
            };
            let d = |cur: u64, old: u64| cur.saturating_sub(old);
            let periods = d(info.stat.nr_periods, prev.nr_periods);
            let throttled = d(info.stat.nr_throttled, prev.nr_throttled);
            let throttled_usec = d(info.stat.throttled_usec, prev.throttled_usec);
            if periods == 0 && throttled == 0 {
                continue;
            }
            let ratio = if periods > 0 {
                throttled as f64 / periods as f64 * 100.0
            } else {
                0.0
            };
            let limit = if info.max.quota > 0 && info.max.period > 0 {
                info.max.quota as f64 / info.max.period as f64
            } else {
                0.0
            };
            rows.push(Row {
                path: info.path.clone(),
                nr_periods: periods,
                nr_throttled: throttled,
                throttled_time_ns: throttled_usec.wrapping_mul(1000),
                throttle_ratio: ratio,
                cpu_quota_ns: (info.max.quota as u64).wrapping_mul(1000),
                cpu_period_ns: info.max.period.wrapping_mul(1000),
                cpu_limit_cores: limit,
                psi: info
                    .psi
                    .available
                    .then_some((info.psi.some_avg10, info.psi.some_avg60)),
                mount_ns_id: info.mount_ns_id,
            });
        }
        self.prev = new_prev;
        rows
    }
}

/// One emitted row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub path: String,
    pub nr_periods: u64,
    pub nr_throttled: u64,
    pub throttled_time_ns: u64,
    pub throttle_ratio: f64,
    pub cpu_quota_ns: u64,
    pub cpu_period_ns: u64,
    pub cpu_limit_cores: f64,
    /// `None`: no cpu.pressure (the fields stay 0).
    pub psi: Option<(f64, f64)>,
    pub mount_ns_id: u64,
}

impl Collector for CgroupCollector {
    fn ds_name(&self) -> &str {
        "cgroups"
    }

    fn build_schema(&self, s: &mut Schema) {
        s.annotations.insert(
            "fetch-interval".into(),
            go_duration_string(self.interval.as_nanos() as i64),
        );
        let right = ("columns.alignment", "right");
        let desc = |d| ("description", d);
        add_ig_field(
            s,
            "cgroupPath",
            kind::STRING,
            &[
                desc("The cgroup v2 path."),
                ("columns.maxwidth", "60"),
                ("columns.ellipsis", "start"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "nrPeriods",
            kind::UINT64,
            &[
                desc("Number of CFS enforcement intervals elapsed in this reporting period."),
                right,
                ("columns.maxwidth", "10"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "nrThrottled",
            kind::UINT64,
            &[
                desc("Number of times the cgroup was throttled in this reporting period."),
                right,
                ("columns.maxwidth", "12"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "throttledTime_raw",
            kind::UINT64,
            &[
                desc("Total time spent throttled in this reporting period."),
                right,
                ("columns.maxwidth", "14"),
            ],
            &["type:gadget_duration"],
        );
        add_ig_field(
            s,
            "throttleRatio",
            kind::FLOAT64,
            &[
                desc("Percentage of periods where the cgroup was throttled (0-100) in this reporting period."),
                right,
                ("columns.precision", "2"),
                ("columns.maxwidth", "8"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "cpuQuota_raw",
            kind::UINT64,
            &[
                desc("CPU quota per CFS period."),
                right,
                ("columns.maxwidth", "10"),
            ],
            &["type:gadget_duration"],
        );
        add_ig_field(
            s,
            "cpuPeriod_raw",
            kind::UINT64,
            &[
                desc("CFS period length."),
                right,
                ("columns.maxwidth", "10"),
                ("columns.hidden", "true"),
            ],
            &["type:gadget_duration"],
        );
        add_ig_field(
            s,
            "cpuLimitCores",
            kind::FLOAT64,
            &[
                desc("Effective CPU core limit (quota / period)."),
                right,
                ("columns.precision", "2"),
                ("columns.maxwidth", "8"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "psiSomeAvg10",
            kind::FLOAT64,
            &[
                desc("PSI 'some' CPU pressure average over 10 seconds."),
                right,
                ("columns.precision", "2"),
                ("columns.maxwidth", "8"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "psiSomeAvg60",
            kind::FLOAT64,
            &[
                desc("PSI 'some' CPU pressure average over 60 seconds."),
                right,
                ("columns.precision", "2"),
                ("columns.maxwidth", "8"),
            ],
            &[],
        );
        add_ig_field(
            s,
            "mountnsid",
            kind::UINT64,
            &[("template", "mntns_id")],
            &["type:gadget_mntns_id"],
        );
    }

    fn start(&mut self, schema: &Schema) -> Result<(), String> {
        self.idx = FIELDS
            .iter()
            .map(|n| field(schema, n).unwrap_or(0))
            .collect();
        let infos = discover_cgroups();
        self.deltas(&infos, false);
        Ok(())
    }

    fn collect(&mut self, schema: &Schema) -> Result<Vec<Record>, String> {
        let infos = discover_cgroups();
        let rows = self.deltas(&infos, true);
        let i = &self.idx;
        Ok(rows
            .iter()
            .map(|row| {
                let mut r = schema.new_record();
                put_str(schema, &mut r, i[0], &row.path);
                put_scalar(schema, &mut r, i[1], row.nr_periods);
                put_scalar(schema, &mut r, i[2], row.nr_throttled);
                put_scalar(schema, &mut r, i[3], row.throttled_time_ns);
                put_f64(schema, &mut r, i[4], row.throttle_ratio);
                put_scalar(schema, &mut r, i[5], row.cpu_quota_ns);
                put_scalar(schema, &mut r, i[6], row.cpu_period_ns);
                put_f64(schema, &mut r, i[7], row.cpu_limit_cores);
                if let Some((a10, a60)) = row.psi {
                    put_f64(schema, &mut r, i[8], a10);
                    put_f64(schema, &mut r, i[9], a60);
                }
                put_scalar(schema, &mut r, i[10], row.mount_ns_id);
                r
            })
            .collect())
    }

    fn stop(&mut self) {}
}

/// The host's cgroup2 mount point (`/sys/fs/cgroup`, then `/sys/fs/cgroup/unified`).
pub fn cgroup2_mountpoint() -> Option<&'static str> {
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .into_iter()
        .find(|p| {
            let c = std::ffi::CString::new(*p).unwrap();
            // SAFETY: statfs fills a plain struct.
            unsafe {
                let mut st: libc::statfs = std::mem::zeroed();
                libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type as i64 == CGROUP2_SUPER_MAGIC
            }
        })
}

/// The (v1 `name=systemd`, v2) paths of a `/proc/<pid>/cgroup` content (IG
/// `GetCgroupPaths`): `/` becomes empty; both empty is an error.
pub fn parse_proc_cgroup(s: &str) -> Result<(String, String), String> {
    let mut v1 = String::new();
    let mut v2 = String::new();
    // IG reads with ReadString('\n') and drops a last line without a newline.
    let mut rest = s;
    while let Some(n) = rest.find('\n') {
        let line = &rest[..n];
        rest = &rest[n + 1..];
        if let Some(p) = line.strip_prefix("1:name=systemd:") {
            v1 = p.to_string();
        } else if let Some(p) = line.strip_prefix("0::") {
            v2 = p.to_string();
        }
    }
    if v1 == "/" {
        v1.clear();
    }
    if v2 == "/" {
        v2.clear();
    }
    if v1.is_empty() && v2.is_empty() {
        return Err("cgroup path not found in /proc/PID/cgroup".into());
    }
    Ok((v1, v2))
}

/// Every cgroup with a CPU limit (IG `discoverCgroups`), in first-seen /proc order.
pub fn discover_cgroups() -> Vec<CgroupInfo> {
    let Ok(pids) = proc_pids() else {
        return Vec::new();
    };
    let mut order: Vec<(String, i32)> = Vec::new();
    let mut seen: std::collections::HashSet<String> = Default::default();
    for pid in pids {
        let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/cgroup")) else {
            continue;
        };
        let Ok((_, v2)) = parse_proc_cgroup(&s) else {
            continue;
        };
        if v2.is_empty() {
            continue;
        }
        if seen.insert(v2.clone()) {
            order.push((v2, pid));
        }
    }
    let Some(mnt) = cgroup2_mountpoint() else {
        return Vec::new();
    };
    let mut infos = Vec::new();
    for (path, pid) in order {
        let full = std::path::Path::new(mnt).join(path.trim_start_matches('/'));
        if std::fs::metadata(&full).is_err() {
            continue;
        }
        let Ok(max) = std::fs::read_to_string(full.join("cpu.max"))
            .map_err(|e| e.to_string())
            .and_then(|s| parse_cpu_max(&s))
        else {
            continue;
        };
        if max.quota == -1 {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(full.join("cpu.stat")) else {
            continue;
        };
        let stat = parse_cpu_stat(&stat);
        let psi = std::fs::read_to_string(full.join("cpu.pressure"))
            .map(|s| parse_cpu_pressure(&s))
            .unwrap_or_default();
        infos.push(CgroupInfo {
            path,
            stat,
            max,
            psi,
            mount_ns_id: mntns_of(pid),
        });
    }
    infos
}

/// `cpu.stat`: `nr_periods`, `nr_throttled`, `throttled_usec` (lines of exactly two fields).
pub fn parse_cpu_stat(s: &str) -> CpuStat {
    let mut st = CpuStat::default();
    for line in s.split('\n') {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 2 {
            continue;
        }
        let Ok(v) = f[1].parse::<u64>() else { continue };
        match f[0] {
            "nr_periods" => st.nr_periods = v,
            "nr_throttled" => st.nr_throttled = v,
            "throttled_usec" => st.throttled_usec = v,
            _ => {}
        }
    }
    st
}

/// `cpu.max`: `<quota> <period>` or `max <period>` (quota -1).
pub fn parse_cpu_max(s: &str) -> Result<CpuMax, String> {
    let f: Vec<&str> = s.split_whitespace().collect();
    if f.len() != 2 {
        return Err(format!("unexpected cpu.max format: {s:?}"));
    }
    let quota = if f[0] == "max" {
        -1
    } else {
        f[0].parse::<i64>()
            .map_err(|e| format!("parsing quota: {e}"))?
    };
    let period = f[1]
        .parse::<u64>()
        .map_err(|e| format!("parsing period: {e}"))?;
    Ok(CpuMax { quota, period })
}

/// `cpu.pressure`: `avg10` and `avg60` of the `some ` line.
pub fn parse_cpu_pressure(s: &str) -> Psi {
    let mut psi = Psi::default();
    for line in s.split('\n') {
        if line.starts_with("some ") {
            psi.available = true;
            for f in line.split_whitespace() {
                let Some((k, v)) = f.split_once('=') else {
                    continue;
                };
                let Ok(v) = v.parse::<f64>() else { continue };
                match k {
                    "avg10" => psi.some_avg10 = v,
                    "avg60" => psi.some_avg60 = v,
                    _ => {}
                }
            }
        }
    }
    psi
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasource::TYPE_ARRAY;

    #[test]
    fn parsers() {
        let st = parse_cpu_stat(
            "usage_usec 123456\nuser_usec 100000\nsystem_usec 23456\nnr_periods 1000\nnr_throttled 50\nthrottled_usec 500000\nnr_bursts 0\n",
        );
        assert_eq!(
            st,
            CpuStat {
                nr_periods: 1000,
                nr_throttled: 50,
                throttled_usec: 500000
            }
        );
        assert_eq!(
            parse_cpu_stat("nr_periods x\nnr_throttled 1 2\n"),
            CpuStat::default()
        );
        assert_eq!(
            parse_cpu_max("50000 100000\n"),
            Ok(CpuMax {
                quota: 50000,
                period: 100000
            })
        );
        assert_eq!(
            parse_cpu_max("max 100000\n"),
            Ok(CpuMax {
                quota: -1,
                period: 100000
            })
        );
        assert!(parse_cpu_max("max\n").is_err());
        assert!(parse_cpu_max("x 1\n").is_err());
        let p = parse_cpu_pressure("some avg10=0.50 avg60=1.20 avg300=0.80 total=12345\nfull avg10=9.00 avg60=9.00 avg300=0.00 total=0\n");
        assert_eq!(
            p,
            Psi {
                some_avg10: 0.5,
                some_avg60: 1.2,
                available: true
            }
        );
        assert!(!parse_cpu_pressure("").available);
        assert_eq!(
            parse_proc_cgroup("0::/a/b\n"),
            Ok((String::new(), "/a/b".into()))
        );
        assert!(parse_proc_cgroup("0::/\n").is_err());
        assert!(
            parse_proc_cgroup("0::/a").is_err(),
            "no trailing newline: IG drops the line"
        );
        assert_eq!(
            parse_proc_cgroup("2:cpu:/x\n1:name=systemd:/user.slice\n0::/\n"),
            Ok(("/user.slice".into(), String::new()))
        );
    }

    #[test]
    fn delta_rules() {
        let mut c = CgroupCollector::new(Duration::from_secs(5));
        let info = |p: &str, per, thr, us| CgroupInfo {
            path: p.into(),
            stat: CpuStat {
                nr_periods: per,
                nr_throttled: thr,
                throttled_usec: us,
            },
            max: CpuMax {
                quota: 50000,
                period: 100000,
            },
            psi: Psi::default(),
            mount_ns_id: 7,
        };
        assert!(c.deltas(&[info("/a", 10, 1, 100)], false).is_empty());
        // /b is new: recorded only. /a advanced.
        let rows = c.deltas(&[info("/a", 20, 6, 600), info("/b", 5, 5, 5)], true);
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(
            (r.nr_periods, r.nr_throttled, r.throttled_time_ns),
            (10, 5, 500_000)
        );
        assert_eq!(r.throttle_ratio, 50.0);
        assert_eq!(
            (r.cpu_quota_ns, r.cpu_period_ns, r.cpu_limit_cores),
            (50_000_000, 100_000_000, 0.5)
        );
        assert_eq!(r.psi, None);
        // No activity → skipped; counters going backwards → 0.
        let rows = c.deltas(&[info("/a", 20, 6, 600), info("/b", 4, 6, 1)], true);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (
                rows[0].nr_periods,
                rows[0].nr_throttled,
                rows[0].throttled_time_ns
            ),
            (0, 1, 0)
        );
        assert_eq!(rows[0].throttle_ratio, 0.0);
    }

    #[test]
    fn schema_and_live_collection() {
        let cfg: serde_yaml::Value = serde_yaml::from_str(
            "operator: {cgroup: {emitstats: true, interval: 5s, first-interval: 500ms}}",
        )
        .unwrap();
        let (mut c, sched) = from_config(&cfg).unwrap().unwrap();
        assert_eq!(sched.interval, Duration::from_secs(5));
        let mut s = Schema::new(c.ds_name(), TYPE_ARRAY);
        c.build_schema(&mut s);
        let names: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, FIELDS);
        assert!(s.fields[6].hidden && s.fields[10].hidden && !s.fields[0].hidden);
        c.start(&s).unwrap();
        let recs = c.collect(&s).unwrap();
        if cgroup2_mountpoint().is_none() {
            assert!(recs.is_empty());
        }
    }
}
