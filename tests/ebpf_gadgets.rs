//! eBPF gadgets run for real: objects from tests/bpf (built by tests/bpf/build.sh), alone or
//! with a Go wasm program (tests/gadgets/go, contracts in its README.md).
//!
//! These tests need root (they load and attach eBPF programs). They do not skip: without root
//! every test fails with a message saying so.

mod common;
#[path = "common/ebpf.rs"]
mod ebpf_common;

use std::time::Duration;

use common::*;
use ebpf_common::*;
use gadgetrt::datasource::{kind, FieldLoc, Value};
use gadgetrt::{ErrorCode, Event, Gadget, LogLevel, RuntimeOptions, State};

const WAIT: Duration = Duration::from_secs(5);

/// The `fname` of an `open` event.
fn fname(e: &Event) -> String {
    match value(e, 0, "fname") {
        Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
        v => panic!("fname is {v:?}"),
    }
}

/// The first collected `open` event for `path`.
fn event_for(c: &Collected, path: &str) -> Option<Event> {
    c.0.lock().unwrap().iter().find(|e| fname(e) == path).cloned()
}

fn count_for(c: &Collected, prefix: &str) -> usize {
    c.0.lock().unwrap().iter().filter(|e| fname(e).starts_with(prefix)).count()
}

/// Opens `path` until an event for it was collected (the first open may race the attach of a
/// concurrently starting gadget; one open is enough here since start attaches synchronously).
fn open_and_wait(g: &Gadget, c: &Collected, path: &std::path::Path) -> Event {
    touch(path);
    let p = path.to_str().unwrap();
    assert!(poll_for(g, WAIT, || event_for(c, p).is_some()), "no open event for {p} within {WAIT:?}");
    event_for(c, p).unwrap()
}

fn thread_comm() -> String {
    std::fs::read_to_string("/proc/thread-self/comm").unwrap().trim_end().to_string()
}

fn mntns_id() -> u64 {
    let l = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    let s = l.to_str().unwrap();
    s.trim_start_matches("mnt:[").trim_end_matches(']').parse().unwrap()
}

fn realtime_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}


fn str_value(e: &Event, name: &str) -> String {
    match value(e, 0, name) {
        Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
        v => panic!("{name} is {v:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// 1. tracer + wasm enrichment
// ---------------------------------------------------------------------------------------------

#[test]
fn tracer_open_event_fields_values_and_wasm_enrichment() {
    require_root();
    let (rt, logs) = runtime();
    let dir = gadget_dir("trace_open_enrich", "trace_open", Some("trace_open_enrich"), None);
    let g = open_dir(&rt, &dir);
    g.init().unwrap_or_else(|e| panic!("init: {e}\n{}", logs.dump()));
    // Filter on our pid: fewer events to look through.
    g.set_param("pid", &std::process::id().to_string()).unwrap();
    let c = collect(&g, "open", 50000);
    g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));

    let path = unique_path("enrich");
    let _tmp = TempFile(path.clone());
    let before = realtime_ns();
    let e = open_and_wait(&g, &c, &path);
    let comm = thread_comm();
    g.stop().unwrap();

    // Schema: names, kinds, offsets (struct event in tests/bpf/trace_open.bpf.c), tags.
    let s = &e.schema;
    let expect: &[(&str, u32, usize, usize, &str)] = &[
        ("timestamp_raw", kind::UINT64, 0, 8, "type:gadget_timestamp"),
        ("proc", kind::BYTES, 8, 32, "type:proc"),
        ("proc.comm", kind::CSTRING, 8, 16, "type:gadget_comm"),
        ("proc.pid", kind::UINT32, 24, 4, "type:gadget_pid"),
        ("proc.tid", kind::UINT32, 28, 4, "type:gadget_tid"),
        ("proc.mntns_id", kind::UINT64, 32, 8, "type:gadget_mntns_id"),
        ("u8v", kind::UINT8, 40, 1, "type:__u8"),
        ("s8v", kind::INT8, 41, 1, "type:__s8"),
        ("u16v", kind::UINT16, 42, 2, "type:__u16"),
        ("s16v", kind::INT16, 44, 2, "type:__s16"),
        ("u32v", kind::UINT32, 48, 4, "type:__u32"),
        ("s32v", kind::INT32, 52, 4, "type:__s32"),
        ("u64v", kind::UINT64, 56, 8, "type:__u64"),
        ("s64v", kind::INT64, 64, 8, "type:__s64"),
        ("flag", kind::BOOL, 72, 1, "type:bool"),
        ("kind", kind::UINT32, 76, 4, "type:open_kind"),
        ("fname", kind::CSTRING, 80, 256, "type:char"),
        ("ports", kind::ARRAY_OF | kind::UINT16, 336, 6, "type:__u16"),
        ("deltas", kind::ARRAY_OF | kind::INT32, 344, 8, "type:__s32"),
    ];
    let ebpf_fields: Vec<&str> =
        s.fields.iter().filter(|f| f.tags.iter().any(|t| t == "src:ebpf")).map(|f| f.name.as_str()).collect();
    assert_eq!(ebpf_fields, expect.iter().map(|x| x.0).collect::<Vec<_>>(), "eBPF fields (in order; __pad skipped)");
    for (name, k, off, size, type_tag) in expect {
        let f = &s.fields[s.field_index(name).unwrap()];
        assert_eq!(f.kind, *k, "{name}: kind");
        match f.loc {
            FieldLoc::Static { payload: 0, offset, size: sz } => assert_eq!((offset, sz), (*off, *size), "{name}: offset/size"),
            l => panic!("{name}: not a static field of the struct payload: {l:?}"),
        }
        let leaf = name.rsplit('.').next().unwrap();
        for t in [*type_tag, &format!("name:{leaf}"), "src:ebpf"] {
            assert!(f.tags.iter().any(|x| x == t), "{name}: tag {t} missing from {:?}", f.tags);
        }
        let want_parent = if name.starts_with("proc.") { s.field_index("proc") } else { None };
        assert_eq!(f.parent, want_parent, "{name}: parent");
    }
    assert!(!s.fields.iter().any(|f| f.name.contains("pad")), "__pad must be skipped");
    let f = &s.fields[s.field_index("fname_len").unwrap()];
    assert_eq!(f.kind, kind::UINT32);
    assert!(!f.tags.iter().any(|t| t == "src:ebpf"));
    assert_eq!(s.fields[s.field_index("comm_upper").unwrap()].kind, kind::STRING);

    // Values as the BPF program sets them (params at their defaults).
    let pid = std::process::id();
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() } as u64;
    assert_eq!(value(&e, 0, "proc.pid"), Value::Uint(pid as u64));
    assert_eq!(value(&e, 0, "proc.tid"), Value::Uint(tid));
    assert_eq!(str_value(&e, "proc.comm"), comm);
    assert_eq!(value(&e, 0, "proc.mntns_id"), Value::Uint(mntns_id()));
    match value(&e, 0, "timestamp_raw") {
        // The timestamp formatter turns boot time into wall-clock nanoseconds, like IG's.
        Value::Uint(t) => assert!(t + 5_000_000 >= before && t <= realtime_ns() + 5_000_000, "timestamp_raw {t} not in [{before}, now]"),
        v => panic!("timestamp_raw is {v:?}"),
    }
    let text = str_value(&e, "timestamp");
    assert!(text.len() == "2026-11-29T15:17:52.790000000Z".len() || text.len() == "2026-11-29T15:17:52.790000000+00:00".len(), "timestamp text {text:?}");
    assert_eq!(value(&e, 0, "u8v"), Value::Uint(0xfe));
    assert_eq!(value(&e, 0, "s8v"), Value::Int(-2));
    assert_eq!(value(&e, 0, "u16v"), Value::Uint(0xfffe));
    assert_eq!(value(&e, 0, "s16v"), Value::Int(-3));
    assert_eq!(value(&e, 0, "u32v"), Value::Uint(0xffff_fffe));
    assert_eq!(value(&e, 0, "s32v"), Value::Int(-4));
    assert_eq!(value(&e, 0, "u64v"), Value::Uint(0xffff_ffff_ffff_fffe));
    assert_eq!(value(&e, 0, "s64v"), Value::Int(-5));
    assert_eq!(value(&e, 0, "flag"), Value::Bool(true));
    assert_eq!(value(&e, 0, "kind"), Value::Uint(1));
    assert_eq!(value(&e, 0, "ports"), Value::Array(kind::UINT16, &[80, 0, 0xbb, 1, 0xff, 0xff]));
    match value(&e, 0, "deltas") {
        Value::Array(k, b) => assert_eq!(
            gadgetrt::datasource::array_values(k, b).collect::<Vec<_>>(),
            vec![Value::Int(-7), Value::Int(9)]
        ),
        v => panic!("deltas is {v:?}"),
    }
    let p = path.to_str().unwrap();
    assert_eq!(fname(&e), p);

    // Added by the wasm program.
    assert_eq!(value(&e, 0, "fname_len"), Value::Uint(p.len() as u64), "{}", logs.dump());
    assert_eq!(str_value(&e, "comm_upper"), comm.to_uppercase());

    // JSON nests proc.
    let j: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
    assert!(j["proc"].is_object(), "proc not nested: {j}");
    assert_eq!(j["proc"]["pid"], pid);
    assert_eq!(j["proc"]["tid"], tid);
    assert_eq!(j["proc"]["comm"], comm.as_str());
    assert!(j.get("proc.pid").is_none() && j.get("__pad").is_none(), "{j}");
    assert_eq!(j["fname"], p);
    assert_eq!(j["fname_len"], p.len());
    assert_eq!(j["comm_upper"], comm.to_uppercase().as_str());
    assert_eq!(j["s8v"], -2);
    assert_eq!(j["u64v"], 0xffff_ffff_ffff_fffeu64);
    assert_eq!(j["flag"], true);
    assert_eq!(j["ports"], serde_json::json!([80, 443, 65535]), "{j}");
    assert_eq!(j["deltas"], serde_json::json!([-7, 9]), "{j}");

    assert_eq!(g.stats().guest_traps, 0, "{}", logs.dump());
    assert!(!logs.at(LogLevel::Error, ""), "error logs:\n{}", logs.dump());
}

// ---------------------------------------------------------------------------------------------
// 2. params
// ---------------------------------------------------------------------------------------------

#[test]
fn pid_param_filters_in_kernel_and_other_params_reach_the_program() {
    require_root();
    let (rt, logs) = runtime();
    let me = std::process::id().to_string();

    // Invalid values are refused when set. (With a gadget.yaml: a gadget without metadata
    // accepts undeclared keys, for its wasm program.)
    let g = open_dir(&rt, &gadget_dir("params_invalid", "trace_open", None, Some("name: trace_open\n")));
    let d = g.params().into_iter().find(|p| p.key == "pid").expect("param pid declared");
    assert_eq!(d.type_hint, "uint32");
    assert_eq!(d.default_value, "0");
    for bad in ["not-a-number", "-1", "4294967296", ""] {
        let e = g.set_param("pid", bad).unwrap_err();
        assert_eq!(e.code, ErrorCode::Param, "pid={bad:?}: {e}");
    }
    assert_eq!(g.set_param("targ_flag", "maybe").unwrap_err().code, ErrorCode::Param);
    assert_eq!(g.set_param("some_value", "1.5").unwrap_err().code, ErrorCode::Param);
    assert_eq!(g.set_param("no_such_param", "1").unwrap_err().code, ErrorCode::Param);
    drop(g);

    // pid = 1: our opens are filtered out in the kernel. A second, unfiltered gadget running
    // at the same time is the control: once it saw the open, the filtered one had its chance.
    let filtered = open_dir(&rt, &gadget_dir("params_pid1", "trace_open", None, None));
    filtered.set_param("pid", "1").unwrap();
    let cf = collect(&filtered, "open", 0);
    filtered.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
    let control = open_dir(&rt, &gadget_dir("params_control", "trace_open", None, None));
    control.set_param("pid", &me).unwrap();
    let cc = collect(&control, "open", 0);
    control.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
    let path = unique_path("pid1");
    let _tmp = TempFile(path.clone());
    open_and_wait(&control, &cc, &path);
    let p = path.to_str().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    poll_for(&filtered, Duration::from_millis(300), || false);
    assert!(event_for(&cf, p).is_none(), "pid=1 let through an event of pid {me}");
    assert!(
        cf.0.lock().unwrap().iter().all(|e| value(e, 0, "proc.pid") == Value::Uint(1)),
        "pid=1 let through events of other pids"
    );
    filtered.stop().unwrap();
    control.stop().unwrap();

    // pid = ours, and the other params changed: the event arrives with the new values.
    let g = open_dir(&rt, &gadget_dir("params_own", "trace_open", None, None));
    g.set_param("pid", &me).unwrap();
    g.set_param("some_value", "-7").unwrap();
    g.set_param("targ_flag", "false").unwrap();
    assert_eq!(g.get_param("pid").unwrap(), me);
    let c = collect(&g, "open", 0);
    g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
    assert_eq!(g.set_param("pid", "1").unwrap_err().code, ErrorCode::BadState);
    let path = unique_path("own");
    let _tmp2 = TempFile(path.clone());
    let e = open_and_wait(&g, &c, &path);
    assert_eq!(value(&e, 0, "proc.pid"), Value::Uint(std::process::id() as u64));
    assert_eq!(value(&e, 0, "s64v"), Value::Int(-7));
    assert_eq!(value(&e, 0, "flag"), Value::Bool(false));
    assert!(
        c.0.lock().unwrap().iter().all(|e| value(e, 0, "proc.pid") == Value::Uint(std::process::id() as u64)),
        "pid filter let through other pids"
    );
    g.stop().unwrap();
}

// ---------------------------------------------------------------------------------------------
// 3. maps from wasm
// ---------------------------------------------------------------------------------------------

fn run_map_gadget(wasm: &str, passed_log: Option<&str>) {
    let (rt, logs) = runtime();
    let g = open_dir(&rt, &gadget_dir(wasm, "maps", Some(wasm), None));
    g.init().unwrap_or_else(|e| panic!("{wasm}: init: {e}\n{}", logs.dump()));
    g.start().unwrap_or_else(|e| panic!("{wasm}: start: {e}\n{}", logs.dump()));
    assert_eq!(g.state(), State::Started);
    g.stop().unwrap_or_else(|e| panic!("{wasm}: stop: {e}\n{}", logs.dump()));
    assert!(!logs.contains("check failed"), "{wasm}:\n{}", logs.dump());
    assert!(!logs.at(LogLevel::Error, ""), "{wasm}: error logs:\n{}", logs.dump());
    if let Some(m) = passed_log {
        assert!(logs.contains(m), "{wasm}: guest did not finish its checks:\n{}", logs.dump());
    }
    assert_eq!(g.stats().guest_traps, 0, "{wasm}:\n{}", logs.dump());
}

#[test]
fn maps_guest_put_lookup_update_delete_and_new_map() {
    require_root();
    run_map_gadget("maps", Some("maps: all checks passed"));
}

#[test]
fn mapofmap_guest_inner_maps_as_handles() {
    require_root();
    run_map_gadget("mapofmap", Some("mapofmap: all checks passed"));
}

#[test]
fn badguest_maps_bad_pointers_on_real_maps() {
    require_root();
    run_map_gadget("badguest_maps", None);

    // Negative control: an object without test_map makes gadgetStart trap.
    let (rt, logs) = runtime();
    let g = open_dir(&rt, &gadget_dir("badguest_maps_no_map", "trace_open", Some("badguest_maps"), None));
    let e = g.start().unwrap_err();
    assert_eq!(e.code, ErrorCode::Guest, "{e}\n{}", logs.dump());
    assert!(logs.contains("badguest_maps: check failed: getMap: test_map"), "{}", logs.dump());
    assert_eq!(g.state(), State::Failed);
}

// ---------------------------------------------------------------------------------------------
// 4. perf reader from wasm
// ---------------------------------------------------------------------------------------------

#[test]
fn perf_guest_reads_overwritable_perf_buffer() {
    require_root();
    // The guest's log lines reach this sink, which does write(2): that fires the program
    // between the guest's NewPerfReader and its Pause. The writer thread adds more writes.
    let (rt, logs) = runtime_writing_logs();
    let g = open_dir(&rt, &gadget_dir("perf", "perf", Some("perf"), None));
    g.init().unwrap_or_else(|e| panic!("init: {e}\n{}", logs.dump()));
    let _w = Writer::start();
    g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
    g.stop().unwrap();
    assert!(!logs.contains("check failed"), "{}", logs.dump());
    assert!(logs.contains("perf: all checks passed"), "{}", logs.dump());
    assert_eq!(g.stats().guest_traps, 0, "{}", logs.dump());
}

// ---------------------------------------------------------------------------------------------
// 5. iterator
// ---------------------------------------------------------------------------------------------

#[test]
fn iter_task_delivers_one_array_with_our_process() {
    require_root();
    let (rt, logs) = runtime();
    let g = open_dir(&rt, &gadget_dir("iter_task", "iter_task", None, None));
    g.init().unwrap();
    let ds = g.schema("tasks").expect("data source tasks");
    assert!(ds.is_array());
    let c = collect(&g, "tasks", 0);
    g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
    poll_until(&g, &c, 1, WAIT);
    // fetch-count defaults to 1: no second packet.
    poll_for(&g, Duration::from_millis(300), || false);
    g.stop().unwrap();
    assert_eq!(c.len(), 1, "{}", logs.dump());
    let e = c.get(0);
    assert!(e.is_array());
    assert!(e.len() > 1, "only {} tasks", e.len());
    let pid = std::process::id() as u64;
    let mine = (0..e.len()).find(|&i| value(&e, i, "pid") == Value::Uint(pid) && value(&e, i, "tgid") == Value::Uint(pid));
    let i = mine.unwrap_or_else(|| panic!("no task with pid {pid} among {} tasks", e.len()));
    let comm = std::fs::read_to_string("/proc/self/comm").unwrap();
    assert_eq!(str_value_at(&e, i, "comm"), comm.trim_end());
    let j: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
    assert_eq!(j.as_array().unwrap().len(), e.len());
}

fn str_value_at(e: &Event, i: usize, name: &str) -> String {
    match value(e, i, name) {
        Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
        v => panic!("{name} is {v:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// 6. PROG_ARRAY with __array(values, int())
// ---------------------------------------------------------------------------------------------

#[test]
fn prog_array_object_loads_starts_and_runs() {
    require_root();
    let (rt, logs) = runtime();
    let g = open_dir(&rt, &gadget_dir("prog_array", "prog_array", None, None));
    let c = collect(&g, "pa", 0);
    g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
    let pid = std::process::id() as u64;
    let seen = poll_for(&g, WAIT, || {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
        c.0.lock().unwrap().iter().any(|e| value(e, 0, "pid") == Value::Uint(pid))
    });
    g.stop().unwrap();
    assert!(seen, "no pa event for pid {pid}\n{}", logs.dump());
}

// ---------------------------------------------------------------------------------------------
// 7. attach failure
// ---------------------------------------------------------------------------------------------

/// Whether this kernel can attach kprobes (a kprobe PMU or tracefs kprobe_events).
fn kernel_has_kprobes() -> bool {
    std::path::Path::new("/sys/bus/event_source/devices/kprobe/type").exists()
        || std::path::Path::new("/sys/kernel/tracing/kprobe_events").exists()
        || std::path::Path::new("/sys/kernel/debug/tracing/kprobe_events").exists()
}

#[test]
fn kprobe_attach_failure_is_a_clear_ebpf_error() {
    require_root();
    let (rt, logs) = runtime();
    let g = open_dir(&rt, &gadget_dir("kprobe", "kprobe", None, None));
    if kernel_has_kprobes() {
        // Not the kernel these tests target (CONFIG_KPROBES unset): the same object must then
        // attach. Asserted rather than skipped.
        g.start().unwrap_or_else(|e| panic!("kprobes are available but start failed: {e}\n{}", logs.dump()));
        g.stop().unwrap();
        return;
    }
    let e = g.start().unwrap_err();
    let m = e.message.clone();
    assert_eq!(e.code, ErrorCode::Ebpf, "{m}");
    assert!(m.contains("ig_kprobe_openat2"), "message does not name the program: {m}");
    assert!(m.contains("kprobe/do_sys_openat2"), "message does not name the section: {m}");
    // The kernel's answer (here: no kprobe PMU, ENOENT).
    let lower = m.to_lowercase();
    assert!(
        ["os error", "no such file", "not supported", "operation not permitted", "invalid argument"]
            .iter()
            .any(|k| lower.contains(k)),
        "message does not carry the kernel's answer: {m}"
    );
    assert_eq!(g.state(), State::Failed);
    assert_eq!(g.start().unwrap_err().code, ErrorCode::BadState);
}

// ---------------------------------------------------------------------------------------------
// 8. lost samples and queue overflow
// ---------------------------------------------------------------------------------------------

#[test]
fn lost_samples_are_reported_per_datasource() {
    require_root();
    let (rt, logs) = runtime();
    let g = open_dir(&rt, &gadget_dir("lost", "trace_open", None, None));
    g.set_param("pid", &std::process::id().to_string()).unwrap();
    let c = collect(&g, "open", 0);
    g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
    let path = unique_path("lost");
    let _tmp = TempFile(path.clone());
    open_and_wait(&g, &c, &path);
    // The lost-sample counters are read about once a second.
    std::thread::sleep(Duration::from_millis(1200));
    g.consume().unwrap();
    g.stop().unwrap();
    let lost = g.lost_by_datasource();
    let open = lost.iter().find(|(n, _)| n == "open");
    assert!(open.is_some(), "lost_by_datasource has no entry for open: {lost:?}");
    let total: u64 = lost.iter().map(|(_, v)| v).sum();
    assert_eq!(g.stats().lost_samples, total);
}

#[test]
fn queue_overflow_under_ebpf_load_is_counted() {
    require_root();
    let (rt, logs) = runtime_with(LogLevel::Debug, |o: &mut RuntimeOptions| o.queue_capacity = 2);
    let g = open_dir(&rt, &gadget_dir("overflow", "trace_open", None, None));
    g.set_param("pid", &std::process::id().to_string()).unwrap();
    let c = collect(&g, "open", 0);
    g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
    let base = unique_path("overflow");
    let paths: Vec<_> = (0..50).map(|i| TempFile(std::path::PathBuf::from(format!("{}-{i}", base.display())))).collect();
    for p in &paths {
        touch(&p.0);
    }
    let deadline = std::time::Instant::now() + WAIT;
    while g.stats().dropped_queue_full < 48 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let s = g.stats();
    assert!(s.dropped_queue_full >= 48, "{s:?}");
    assert_eq!(s.queued, 2, "{s:?}");
    assert_eq!(s.delivered, 0);
    let n = g.consume().unwrap();
    assert_eq!(n, 2);
    assert_eq!(c.len(), 2);
    let s = g.stats();
    assert_eq!(s.delivered, 2, "{s:?}");
    assert_eq!(s.queued, 0, "{s:?}");
    g.stop().unwrap();
}

// ---------------------------------------------------------------------------------------------
// 9. stop with events in flight
// ---------------------------------------------------------------------------------------------

#[test]
fn stop_with_events_in_flight_then_consume() {
    require_root();
    let (rt, logs) = runtime();
    let dir = gadget_dir("inflight", "trace_open", Some("trace_open_enrich"), None);
    let g = open_dir(&rt, &dir);
    g.set_param("pid", &std::process::id().to_string()).unwrap();
    let c = collect(&g, "open", 50000);
    g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
    let prefix = unique_path("inflight").to_str().unwrap().to_string();
    // A thread keeps opening (missing files: the tracepoint fires on entry) through stop, so
    // the reader is busy with records when stop begins.
    let stop_bg = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let bg = {
        let (stop_bg, prefix) = (stop_bg.clone(), prefix.clone());
        std::thread::spawn(move || {
            let mut n = 0usize;
            while !stop_bg.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = std::fs::File::open(format!("{prefix}-bg-{n}"));
                n += 1;
            }
            n
        })
    };
    const N: usize = 300;
    for i in 0..N {
        let _ = std::fs::File::open(format!("{prefix}-fg-{i}"));
    }
    // No poll: stop while records sit in the ring buffer, the reader and the queue.
    g.stop().unwrap_or_else(|e| panic!("stop: {e}\n{}", logs.dump()));
    stop_bg.store(true, std::sync::atomic::Ordering::Relaxed);
    let bg_opens = bg.join().unwrap();
    assert_eq!(g.state(), State::Stopped);

    let queued = g.stats().queued;
    let n = g.consume().unwrap();
    assert_eq!(n as u64, queued);
    let s = g.stats();
    assert_eq!(s.delivered, n as u64, "{s:?}");
    assert_eq!(s.queued, 0, "{s:?}");
    assert_eq!(c.len() as u64, s.delivered);
    assert_eq!(s.dropped_queue_full, 0, "{s:?}");
    // Every foreground open happened before stop: the final drain delivered all of them,
    // unless the kernel reported losses.
    if s.lost_samples == 0 {
        assert_eq!(count_for(&c, &format!("{prefix}-fg-")), N, "{s:?}");
    }
    let bg_seen = count_for(&c, &format!("{prefix}-bg-"));
    assert!(bg_seen <= bg_opens, "{bg_seen} events for {bg_opens} opens");
    // No duplicates, and every event went through the wasm subscriber (also those drained
    // while stopping).
    let mut names: Vec<String> = c.0.lock().unwrap().iter().map(fname).filter(|f| f.starts_with(&prefix)).collect();
    let total = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), total, "duplicate events");
    let unenriched = c.0.lock().unwrap().iter().filter(|e| value(e, 0, "fname_len") != Value::Uint(fname(e).len() as u64)).count();
    assert_eq!(
        (unenriched, s.guest_traps),
        (0, 0),
        "{unenriched} of {} events missed the wasm subscriber; stats {s:?}; first logs:\n{}",
        c.len(),
        logs.dump().lines().take(4).collect::<Vec<_>>().join("\n")
    );
    // Nothing more arrives; poll after stop returns at once.
    let t = std::time::Instant::now();
    assert_eq!(g.poll(Some(Duration::from_secs(2))).unwrap(), 0);
    assert!(t.elapsed() < Duration::from_secs(1), "poll after stop waited {:?}", t.elapsed());
    assert_eq!(g.stop().unwrap_err().code, ErrorCode::BadState);
    drop(g);
}

/// IG's trace_mount pattern: the eBPF layer's enum formatter creates `flags`/`op` before
/// the wasm program's gadgetInit (so the lookups there succeed), but fills them in a
/// subscription made at PreStart: a priority-0 subscriber from gadgetInit reads them empty
/// (what `ig run trace_mount` prints: `"call":"mount(…, , …)"`), one from gadgetPreStart
/// reads the text.
#[test]
fn enum_text_fields_exist_in_gadget_init_and_are_filled_at_ig_priority() {
    require_root();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ebpf-gadgets").join("mountcall");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(bpf_obj("enum_flags"), dir.join("program.bpf.o")).unwrap();
    std::fs::copy(common::rust_gadget("rust_mountcall"), dir.join("program.wasm")).unwrap();
    let (rt, logs) = common::runtime();
    let g = common::open(&rt, &dir);
    g.init().unwrap_or_else(|e| panic!("init: {e}\n{}", logs.dump()));
    let s = g.schema("mount").unwrap();
    let flags = &s.fields[s.field_index("flags").unwrap()];
    assert_eq!(flags.kind, kind::STRING);
    assert!(!flags.hidden, "formatter output is visible");
    assert!(s.fields[s.field_index("flags_raw").unwrap()].hidden, "enum input is hidden");
    // Field order: struct fields, then enum outputs (eBPF layer), then the guest's fields.
    let names: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["timestamp_raw", "pid", "flags_raw", "op_raw", "flags", "op", "call", "call_late", "timestamp"]);
    g.set_param("pid", &std::process::id().to_string()).unwrap();
    g.set_param("targ_flags", "3").unwrap();
    g.set_param("targ_op", "1").unwrap();
    let c = common::collect(&g, "mount", 10_000);
    g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
    let _ = std::fs::File::open("/etc/hostname");
    common::poll_until(&g, &c, 1, Duration::from_secs(10));
    g.stop().unwrap();
    let e = c.get(0);
    let text = |n: &str| match common::value(&e, 0, n) {
        Value::Str(b) => String::from_utf8_lossy(b).into_owned(),
        v => panic!("{n}: {v:?}"),
    };
    assert_eq!(text("flags"), "MS_RDONLY|MS_NOSUID");
    assert_eq!(text("op"), "UMOUNT");
    assert_eq!(text("call"), "(\"\")", "the gadgetInit subscriber runs before the enum formatter");
    assert_eq!(text("call_late"), "UMOUNT(\"MS_RDONLY|MS_NOSUID\")");
    let json = e.to_json();
    assert!(json.contains(r#""call":"(\"\")","call_late":"UMOUNT(\"MS_RDONLY|MS_NOSUID\")","flags":"MS_RDONLY|MS_NOSUID","flags_raw":3,"op":"UMOUNT","op_raw":1,"pid":"#), "{json}");
}

// ---------------------------------------------------------------------------------------------
// 8. programs the gadget runs without: warnings in the log and in describe
// ---------------------------------------------------------------------------------------------

/// A uprobe on a library that does not exist and one on a symbol libc lacks are warnings
/// naming the target; the gadget starts and delivers the events of the third (libc getppid).
/// `describe` lists every program with its state.
#[test]
fn unresolved_uprobe_targets_warn_and_the_gadget_runs() {
    require_root();
    let (rt, logs) = runtime();
    let g = open_dir(&rt, &gadget_dir("uprobe_targets", "uprobe_targets", None, None));
    g.init().unwrap();
    // Before start: what gadgetrt will do with each program.
    let d = g.describe();
    let progs = d["programs"].as_array().unwrap();
    assert_eq!(progs.len(), 3, "{d}");
    assert!(progs.iter().all(|p| p["kind"] == "UProbe" && p["attach"].is_string()), "{d}");
    let c = collect(&g, "up", 0);
    g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
    let pid = std::process::id() as u64;
    let seen = poll_for(&g, WAIT, || {
        // SAFETY: getppid has no preconditions.
        unsafe { libc::getppid() };
        c.0.lock().unwrap().iter().any(|e| value(e, 0, "pid") == Value::Uint(pid))
    });
    let d = g.describe();
    g.stop().unwrap();
    assert!(seen, "no event from the uprobe that attached\n{}", logs.dump());
    assert!(
        logs.at(LogLevel::Warn, "could not resolve uprobe target 'libgadgetrt_no_such_library'"),
        "{}",
        logs.dump()
    );
    assert!(logs.at(LogLevel::Warn, "ig_up_nosym"), "{}", logs.dump());
    let by_name = |n: &str| d["programs"].as_array().unwrap().iter().find(|p| p["name"] == n).cloned().unwrap();
    assert_eq!(by_name("ig_up_nolib")["state"], "not-attached", "{d}");
    assert!(by_name("ig_up_nolib")["warning"].as_str().unwrap().contains("libgadgetrt_no_such_library"), "{d}");
    assert_eq!(by_name("ig_up_nosym")["state"], "not-attached", "{d}");
    assert_eq!(by_name("ig_up_getppid")["state"], "attached", "{d}");
}

/// profile_cpu's program kind: `perf_event/<name>` with IG's sampling config in gadget.yaml.
#[test]
fn perf_event_gadget_attaches_with_yaml_sampling_config() {
    require_root();
    let (rt, logs) = runtime();
    let yaml = "name: perf_sample\nprograms:\n  sampler:\n    perf:\n      type: software\n      config: count_sw_cpu_clock\n      sampleType: sample_raw\n    sampler:\n      frequency: 49\n";
    let g = open_dir(&rt, &gadget_dir("perf_sample", "perf_sample", None, Some(yaml)));
    g.init().unwrap();
    g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
    let d = g.describe();
    g.stop().unwrap();
    let p = &d["programs"][0];
    assert_eq!(p["state"], "attached", "{d}");
    assert!(p["target"].as_str().unwrap().contains("49 Hz"), "{d}");
}

// ---------------------------------------------------------------------------------------------
// bounded stop under an event flood
// ---------------------------------------------------------------------------------------------

/// A child making millions of system calls a second (`dd bs=1`: a read and a write per byte);
/// killed and reaped on drop.
pub struct Flooder(std::process::Child);

impl Flooder {
    pub fn start() -> Flooder {
        let c = std::process::Command::new("dd")
            .args(["if=/dev/zero", "of=/dev/null", "bs=1"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawning dd");
        Flooder(c)
    }
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Flooder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// tests/bpf/flood.bpf.o emits one record per system call of the flooding child, the Go
/// trace_open_enrich program runs on every record and nobody polls: the ring buffer
/// overflows (kernel losses), the embedder queue fills (drops) and records pile up between
/// the reader and the wasm program. `stop` must still return within its documented bound
/// (STOP_DRAIN_GRACE for the queued records, then detaching; asserted generously) and
/// count what it did not deliver.
#[test]
fn stop_is_bounded_under_an_event_flood() {
    require_root();
    let (rt, logs) = runtime();
    let dir = gadget_dir("flood", "flood", Some("trace_open_enrich"), None);
    let flood = Flooder::start();
    let mut took = Vec::new();
    for _ in 0..5 {
        let g = open_dir(&rt, &dir);
        g.set_param("pid", &flood.pid().to_string()).unwrap();
        g.subscribe("open", 10_000, Box::new(|_| 0)).unwrap();
        g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
        // Until the embedder queue overflowed: the flood reached every stage.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while g.stats().dropped_queue_full == 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let before = g.stats();
        assert!(before.dropped_queue_full > 0, "no flood seen: {before:?}\n{}", logs.dump());
        let t = std::time::Instant::now();
        g.stop().unwrap_or_else(|e| panic!("stop: {e}\n{}", logs.dump()));
        took.push(t.elapsed());
        assert_eq!(g.state(), State::Stopped);
        let s = g.stats();
        assert!(s.queued > 0, "{s:?}");
        assert!(s.lost_samples > 0, "the flood overflowed the ring buffer, yet no loss counted: {s:?}");
        let lost: u64 = g.lost_by_datasource().iter().map(|(_, n)| n).sum();
        assert_eq!(lost, s.lost_samples);
        // The queue is bounded: what is left is delivered promptly.
        assert!(s.queued <= 65536, "{s:?}");
        assert_eq!(g.consume().unwrap() as u64, s.queued);
    }
    took.sort();
    eprintln!("stop under flood: min {:?} median {:?} max {:?}", took[0], took[took.len() / 2], took[took.len() - 1]);
    let bound = gadgetrt::gadget::STOP_DRAIN_GRACE + Duration::from_secs(3);
    assert!(took[took.len() - 1] < bound, "stop took {:?} (bound {bound:?})", took);
}

/// Tracer rings declared smaller than `min_ring_bytes` (default 4 MiB) are created with it;
/// the map budget sees the size the kernel gets (the flood object declares IG's 256 KiB).
#[test]
fn small_tracer_rings_are_raised_to_min_ring_bytes() {
    require_root();
    let dir = gadget_dir("ring_min", "flood", None, None);
    let start_with = |f: &dyn Fn(&mut RuntimeOptions)| {
        let (rt, logs) = runtime_with(LogLevel::Debug, |o: &mut RuntimeOptions| {
            o.limits.map_bytes = 3 << 20;
            f(o)
        });
        let g = open_dir(&rt, &dir);
        let r = g.start();
        if r.is_ok() {
            g.stop().unwrap();
        }
        (r, logs)
    };
    // Default: the 256 KiB ring becomes 4 MiB, over a 3 MiB budget, and says so.
    let (r, _) = start_with(&|_| {});
    let e = r.expect_err("a 4 MiB ring over a 3 MiB budget");
    assert!(e.to_string().contains("largest: map \"events\", 4194304 bytes"), "{e}");
    // The page size keeps the declared 256 KiB, which fits.
    let (r, logs) = start_with(&|o| o.min_ring_bytes = 4096);
    r.unwrap_or_else(|e| panic!("the declared 256 KiB ring fits: {e}\n{}", logs.dump()));
    // Other values are rounded up to a power of two: 600 KiB to 1 MiB fits, 2.5 MiB to 4 MiB not.
    let (r, logs) = start_with(&|o| o.min_ring_bytes = 600 << 10);
    r.unwrap_or_else(|e| panic!("a 1 MiB ring fits: {e}\n{}", logs.dump()));
    let (r, _) = start_with(&|o| o.min_ring_bytes = 5 << 19);
    let e = r.expect_err("2.5 MiB rounds up to 4 MiB");
    assert!(e.to_string().contains("4194304 bytes"), "{e}");
}
