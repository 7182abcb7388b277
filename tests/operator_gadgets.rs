//! Operator-only gadgets (no eBPF, no wasm: IG's `process`, `cgroup` and eBPF-statistics
//! operators produce the data) and the array operators (filter, sort, limiter) on them, with
//! this machine's real /proc and bpf(2). bpfstats needs root.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use gadgetrt::datasource::Value;
use gadgetrt::{Gadget, GadgetSource};

fn gadget_dir(label: &str, yaml: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("operator-gadgets").join(label);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("gadget.yaml"), yaml).unwrap();
    dir
}

const TOP_PROCESS: &str = r#"
name: top process (test)
operator:
  process:
    emitstats: true
    interval: 200ms
    first-interval: 50ms
datasources:
  processes:
    annotations:
      cli.clear-screen-before: "true"
    fields:
      memoryRSS:
        annotations:
          columns.alias: 'RES'
          columns.maxWidth: 12
      comm:
        annotations:
          columns.alias: 'COMMAND'
params:
  custom:
    interval:
      description: "interval to re-read statistics"
      defaultValue: 200ms
      patch:
        operator:
          process:
            interval: >-
              {{call .getParamValue "custom.interval"}}
    count:
      description: "number of reports"
      defaultValue: 0
      patch:
        operator:
          process:
            count: >-
              {{call .getParamValue "custom.count"}}
"#;

fn str_of(v: Value<'_>) -> String {
    match v {
        Value::Str(b) => String::from_utf8_lossy(b).into_owned(),
        v => panic!("not a string: {v:?}"),
    }
}

#[test]
fn top_process_lists_this_process_with_formatted_memory() {
    let dir = gadget_dir("top_process", TOP_PROCESS);
    let (rt, logs) = common::runtime();
    let g = Gadget::open(&rt, GadgetSource::from_path(&dir, None).unwrap()).unwrap();
    g.init().unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    let s = g.schema("processes").unwrap();
    assert!(s.is_array());
    // IG's field list (creation order), then the bytes formatter's outputs.
    let names: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
    for want in ["pid", "ppid", "comm", "cpuUsage", "memoryRSS_raw", "threadCount", "state", "mountnsid", "memoryRSS", "memoryVirtual", "memoryShared"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let rss = &s.fields[s.field_index("memoryRSS").unwrap()];
    assert_eq!(rss.annotations.get("columns.alias").map(String::as_str), Some("RES"));
    assert_eq!(rss.annotations.get("columns.maxwidth").map(String::as_str), Some("12"), "keys are case-insensitive");
    assert!(s.fields[s.field_index("memoryRSS_raw").unwrap()].hidden);
    g.set_param("count", "1").unwrap();
    let c = common::collect(&g, "processes", 10_000);
    g.start().unwrap();
    // first-interval emission + one counted emission, then nothing more.
    common::poll_until(&g, &c, 2, Duration::from_secs(5));
    std::thread::sleep(Duration::from_millis(600));
    g.consume().unwrap();
    g.stop().unwrap();
    assert_eq!(c.len(), 2, "count=1 stops after the first-interval emission and one tick");
    let e = c.get(1);
    let me = std::process::id() as i64;
    let i = (0..e.len()).find(|&i| common::value(&e, i, "pid") == Value::Int(me)).expect("own pid listed");
    assert_eq!(str_of(common::value(&e, i, "comm")), std::fs::read_to_string("/proc/self/comm").unwrap().trim());
    let Value::Uint(raw) = common::value(&e, i, "memoryRSS_raw") else { panic!() };
    assert!(raw > 1_000_000, "RSS {raw}");
    let text = str_of(common::value(&e, i, "memoryRSS"));
    assert!(text.ends_with(" MB") || text.ends_with(" kB") || text.ends_with(" GB"), "{text}");
    let json = e.to_json();
    assert!(json.starts_with("[{\"comm\":"), "{}", &json[..80.min(json.len())]);
}

#[test]
fn array_filter_sort_and_limit_apply_to_top_process() {
    let dir = gadget_dir("top_process_ops", TOP_PROCESS);
    let (rt, logs) = common::runtime();
    let g = Gadget::open(&rt, GadgetSource::from_path(&dir, None).unwrap()).unwrap();
    g.init().unwrap();
    g.set_param("filter", "threadCount>=1").unwrap();
    g.set_param("sort", "-pid").unwrap();
    g.set_param("max-entries", "3").unwrap();
    let c = common::collect(&g, "processes", 10_000);
    g.start().unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    common::poll_until(&g, &c, 1, Duration::from_secs(5));
    g.stop().unwrap();
    let e = c.get(0);
    assert_eq!(e.len(), 3);
    let pids: Vec<Value> = (0..3).map(|i| common::value(&e, i, "pid")).collect();
    let as_i = |v: &Value| match v {
        Value::Int(x) => *x,
        v => panic!("{v:?}"),
    };
    assert!(as_i(&pids[0]) > as_i(&pids[1]) && as_i(&pids[1]) > as_i(&pids[2]), "{pids:?}");
    // The highest pids on the machine.
    let max = std::fs::read_dir("/proc").unwrap().filter_map(|d| d.ok()?.file_name().to_str()?.parse::<i64>().ok()).max().unwrap();
    assert!(as_i(&pids[0]) <= max);
}

#[test]
fn bad_operator_params_fail_at_start_with_igs_message() {
    let dir = gadget_dir("top_process_bad", TOP_PROCESS);
    let (rt, _logs) = common::runtime();
    let g = Gadget::open(&rt, GadgetSource::from_path(&dir, None).unwrap()).unwrap();
    g.init().unwrap();
    g.set_param("filter", "nosuch==1").unwrap();
    let e = g.start().unwrap_err();
    assert_eq!(e.code, gadgetrt::ErrorCode::Param);
    assert!(e.message.contains("instantiating operator \"filter\""), "{e}");
    assert!(e.message.contains("nosuch"), "{e}");
    let g = Gadget::open(&rt, GadgetSource::from_path(&dir, None).unwrap()).unwrap();
    g.init().unwrap();
    g.set_param("sort", "nosuch").unwrap();
    let e = g.start().unwrap_err();
    assert!(e.message.contains("field nosuch not found"), "{e}");
}

#[test]
fn bpfstats_lists_programs_with_run_time() {
    common::ensure_tracefs();
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "bpfstats needs root");
    // A program of our own, so the list cannot be empty: a socket filter (type 1).
    let _prog = gadgetrt::operators::bpfstats::load_trivial_prog(1, "grt_stats_probe").expect("BPF_PROG_LOAD");
    let dir = gadget_dir("bpfstats", "name: bpfstats (test)\noperator:\n  ebpf:\n    emitstats: true\n");
    let (rt, logs) = common::runtime();
    let g = Gadget::open(&rt, GadgetSource::from_path(&dir, None).unwrap()).unwrap();
    g.init().unwrap();
    g.set_param("statistics-interval", "100ms").unwrap();
    let s = g.schema("bpfstats").unwrap();
    assert!(s.field_index("runtime").is_some() && s.field_index("mapMemory").is_some(), "formatter outputs");
    let c = common::collect(&g, "bpfstats", 10_000);
    g.start().unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    common::poll_until(&g, &c, 2, Duration::from_secs(5));
    g.stop().unwrap();
    assert!(c.len() >= 2, "{}", logs.dump());
    let e = c.get(c.len() - 1);
    let mine = (0..e.len()).find(|&i| str_of(common::value(&e, i, "progName")) == "grt_stats_probe");
    let mine = mine.unwrap_or_else(|| panic!("own program not listed: {}", e.to_json()));
    assert_eq!(str_of(common::value(&e, mine, "progType")), "SocketFilter");
    let me = std::process::id().to_string();
    assert!(str_of(common::value(&e, mine, "pids")).split(',').any(|p| p == me), "owner pid");
    for i in 0..e.len() {
        let Value::Str(t) = common::value(&e, i, "progType") else { panic!() };
        assert!(!t.is_empty());
        let d = str_of(common::value(&e, i, "runtime"));
        assert!(d.ends_with("ns") || d.ends_with("µs") || d.ends_with("ms") || d.ends_with('s'), "{d}");
    }
}

#[path = "common/ebpf.rs"]
mod ebpf_common;

/// IG's otel-metrics printing (profile_blockio's path): the map-iterator data source is
/// replaced by `hist-rendered`, whose `text` is the cumulative histogram as IG renders it.
#[test]
fn histograms_are_rendered_like_ig() {
    ebpf_common::require_root();
    let dir = gadget_dir(
        "histogram",
        "name: histogram (test)\ndatasources:\n  hist:\n    annotations:\n      metrics.print: \"true\"\n      fetch-interval: 100ms\n    fields:\n      latency:\n        annotations:\n          metrics.unit: µs\n",
    );
    std::fs::copy(ebpf_common::bpf_obj("histogram"), dir.join("program.bpf.o")).unwrap();
    let (rt, logs) = common::runtime();
    let g = Gadget::open(&rt, GadgetSource::from_path(&dir, None).unwrap()).unwrap();
    g.init().unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    let names: Vec<String> = g.datasources().iter().map(|s| s.name.clone()).collect();
    assert_eq!(names, ["hist-rendered"], "the printed data source is unreferenced");
    let s = g.schema("hist-rendered").unwrap();
    assert_eq!(s.annotations.get("cli.default-output-mode").map(String::as_str), Some("histogram"));
    // SAFETY: gettid has no preconditions. Only this thread's opens count.
    g.set_param("tid", &unsafe { libc::gettid() }.to_string()).unwrap();
    g.set_param("targ_slot", "5").unwrap();
    g.set_param("otel-metrics-print-interval", "150ms").unwrap();
    let c = common::collect(&g, "hist-rendered", 10_000);
    g.start().unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    for _ in 0..4 {
        let _ = std::fs::File::open("/etc/hostname");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    while std::time::Instant::now() < deadline {
        g.poll(Some(Duration::from_millis(50))).unwrap();
        if c.len() > 0 {
            text = str_of(common::value(&c.get(c.len() - 1), 0, "text"));
            if text.contains(": 4 ") {
                break;
            }
        }
    }
    g.stop().unwrap();
    let mut want = String::from("latency\n        µs               : count    distribution\n");
    let mut lo = 0u64;
    for i in 0..27u32 {
        let hi = 1u64 << i;
        let n = if i == 5 { 4 } else { 0 };
        let stars = if n > 0 { "*".repeat(40) } else { String::new() };
        want.push_str(&format!("{lo:>10} -> {hi:<10} : {n:<8} |{stars:<40}|\n"));
        lo = hi;
    }
    want.push('\n');
    assert_eq!(text, want, "{}", logs.dump());
}
