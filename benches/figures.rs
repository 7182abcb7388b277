//! `cargo bench --bench figures [-- SECTION...] [--runs N]`: prints every figure of the
//! performance goals (issue 12), each as min / median / max over N runs (default 3). Root only
//! (eBPF). Every measurement runs in a fresh child process (this binary re-executed), so
//! process-wide state (parsed BTF, caches, allocator) never carries over between runs.
//!
//! Sections (default all):
//! - `json`: a real eBPF tracepoint gadget with every operator active (IG's trace_open image:
//!   formatters of timestamp/errno/flags/mode, uid/gid names, containers enrichment, a filter
//!   on `proc.comm`) → IG JSON written to /dev/null exactly as `gadgetrt-run -o json` does
//!   (subscription at priority 10,000, `poll` loop). A child generator does `openat` of a
//!   missing file at 200,000/s and at its full rate. Reports the process's CPU time (user +
//!   system from getrusage) per delivered event and the delivered share (delivered ÷ opens).
//! - `wasm`: the same through a Go-built wasm program (examples/gadgets/trace_open: eBPF + Go
//!   wasm enrichment) at 100,000/s and 200,000/s.
//! - `start`: start → first event of the Go-wasm gadget, cold (empty module cache) and warm.
//! - `rss`: idle RSS with 1, 2 and 3 running gadgets (Go-wasm trace_open) in one runtime
//!   (`GADGETRT_BENCH_SMAPS=DIR`: each child also copies /proc/self/smaps there after each
//!   gadget).
//! - `overload`: peak RSS (VmHWM) while events arrive at full rate and nobody polls for 4 s,
//!   with the default byte budget; dropped events are counted.
//!
//! The IG image defaults to /tmp/igimages/trace_open.tar (`GADGETRT_BENCH_JSON_IMAGE`); when
//! absent the example's eBPF program is packed without its wasm instead.
//! Timings on a shared machine are noisy: compare medians run to run.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gadgetrt::output::OutputMode;
use gadgetrt::{Gadget, GadgetSource, LogLevel, Runtime, RuntimeOptions};

/// Counts heap allocations (of the whole process: library, wasmtime, this bench), to report
/// allocations per event.
struct Counting;
static ALLOCS: AtomicU64 = AtomicU64::new(0);
// SAFETY: forwards to the system allocator.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { std::alloc::System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: std::alloc::Layout, n: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { std::alloc::System.realloc(p, l, n) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

const MISSING: &std::ffi::CStr = c"/nonexistent-gadgetrt-bench";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn cpu_time() -> Duration {
    // SAFETY: getrusage into a zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// `VmRSS` / `VmHWM` of this process, in KiB.
fn status_kib(key: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.trim_start_matches(':').trim().trim_end_matches("kB").trim().parse().ok()))
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------
// Children

/// `--gen SECS RATE`: waits for a byte on stdin, then opens a missing file in a loop at RATE
/// per second (0: as fast as it can) for SECS; prints the number of opens.
fn child_gen(secs: f64, rate: u64) {
    let mut b = [0u8; 1];
    let _ = std::io::stdin().read(&mut b);
    let n = gen_loop(Duration::from_secs_f64(secs), rate);
    println!("opens={n}");
}

fn gen_loop(dur: Duration, rate: u64) -> u64 {
    let t = Instant::now();
    let mut n: u64 = 0;
    loop {
        if n % 100 == 0 {
            let el = t.elapsed();
            if el >= dur {
                return n;
            }
            if rate > 0 {
                let want = Duration::from_secs_f64(n as f64 / rate as f64);
                if want > el {
                    std::thread::sleep(want - el);
                }
            }
        }
        // SAFETY: openat on a static path; a descriptor, if any, is closed.
        unsafe {
            let fd = libc::openat(libc::AT_FDCWD, MISSING.as_ptr(), libc::O_RDONLY);
            if fd >= 0 {
                libc::close(fd);
            }
        }
        n += 1;
    }
}

fn runtime(cache: Option<PathBuf>) -> Runtime {
    let mut opts = RuntimeOptions { log_level: LogLevel::Warn, cache_dir: cache, ..Default::default() };
    // `GADGETRT_BENCH_MIN_RING=4096`: the gadget's own ring sizes (IG's 256 KiB for trace_open).
    if let Some(v) = std::env::var("GADGETRT_BENCH_MIN_RING").ok().and_then(|v| v.parse().ok()) {
        opts.min_ring_bytes = v;
    }
    // `GADGETRT_BENCH_QUEUE_BYTES=N`: another event byte budget (overload figures).
    if let Some(v) = std::env::var("GADGETRT_BENCH_QUEUE_BYTES").ok().and_then(|v| v.parse().ok()) {
        opts.limits.queue_bytes = v;
    }
    Runtime::new(opts).unwrap()
}

/// Subscribes like `gadgetrt-run -o json`: every data source, priority 10,000, JSON lines
/// into a buffered writer. Returns the printed-events counter.
fn subscribe_json(g: &Gadget, out: Box<dyn Write + Send>, first: Option<Arc<Mutex<Option<Instant>>>>) -> Arc<AtomicU64> {
    let printed = Arc::new(AtomicU64::new(0));
    let out = Arc::new(Mutex::new(std::io::BufWriter::with_capacity(1 << 16, out)));
    for schema in g.datasources() {
        let (out, printed, first) = (out.clone(), printed.clone(), first.clone());
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        g.subscribe(
            &schema.name,
            10_000,
            Box::new(move |ev| {
                buf.clear();
                let _ = ev.write_format(&OutputMode::Json, None, &mut buf);
                let _ = out.lock().unwrap().write_all(&buf);
                if printed.fetch_add(1, Ordering::Relaxed) == 0 {
                    if let Some(f) = &first {
                        f.lock().unwrap().get_or_insert_with(Instant::now);
                    }
                }
                0
            }),
        )
        .unwrap();
    }
    printed
}

/// `--thru IMAGE RATE SECS [filter]`: one gadget, JSON to /dev/null, a generator child at RATE.
fn child_thru(image: &Path, rate: u64, secs: f64, filter: bool) {
    let rt = runtime(None);
    let mut gen = Command::new(std::env::current_exe().unwrap())
        .args(["--gen", &secs.to_string(), &rate.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let g = Gadget::open(&rt, GadgetSource::from_path(image, None).unwrap()).unwrap();
    g.set_param("pid", &gen.id().to_string()).unwrap();
    if filter {
        let comm = std::fs::read_to_string(format!("/proc/{}/comm", gen.id())).unwrap();
        g.set_param("operator.filter.filter", &format!("proc.comm=={}", comm.trim())).unwrap();
    }
    g.init().unwrap();
    let printed = subscribe_json(&g, Box::new(std::fs::File::create("/dev/null").unwrap()), None);
    g.start().unwrap();
    let cpu0 = cpu_time();
    let allocs0 = ALLOCS.load(Ordering::Relaxed);
    gen.stdin.take().unwrap().write_all(b"x").unwrap();
    let t = Instant::now();
    let mut tail: Option<Instant> = None;
    loop {
        g.poll(Some(Duration::from_millis(50))).unwrap();
        if tail.is_none() && gen.try_wait().unwrap().is_some() {
            tail = Some(Instant::now());
        }
        // Half a second after the generator ended, everything in flight has arrived.
        if tail.is_some_and(|t| t.elapsed() > Duration::from_millis(500)) {
            break;
        }
    }
    g.consume().unwrap();
    let cpu = cpu_time() - cpu0;
    let allocs = ALLOCS.load(Ordering::Relaxed) - allocs0;
    let wall = t.elapsed();
    let mut s = String::new();
    gen.stdout.take().unwrap().read_to_string(&mut s).unwrap();
    let opens: u64 = s.trim().strip_prefix("opens=").unwrap().parse().unwrap();
    let st = g.stats();
    g.stop().unwrap();
    let n = printed.load(Ordering::Relaxed);
    println!(
        "opens={opens} rate={:.0} printed={n} delivered_pct={:.2} cpu_us_per_event={:.3} allocs_per_event={:.3} lost={} dropped={} wall_s={:.2}",
        opens as f64 / secs,
        n as f64 * 100.0 / opens.max(1) as f64,
        cpu.as_secs_f64() * 1e6 / n.max(1) as f64,
        allocs as f64 / n.max(1) as f64,
        st.lost_samples,
        st.dropped_queue_full,
        wall.as_secs_f64()
    );
    // The warm-up run must leave the optimised module in the cache for the runs after it
    // (a first start runs baseline code while Cranelift compiles in the background).
    rt.wait_background_compiles();
}

/// `--start IMAGE CACHE`: time from process start (here: before the runtime exists) to the
/// first event printed; events come from a thread of this process opening at 1,000/s.
fn child_start(t0: Instant, image: &Path, cache: &Path) {
    let rt = runtime(Some(cache.to_path_buf()));
    let runtime_made = t0.elapsed();
    let src = GadgetSource::from_path(image, None).unwrap();
    let image_read = t0.elapsed();
    let g = Gadget::open(&rt, src).unwrap();
    let opened = t0.elapsed();
    let from_cache = g.from_cache;
    g.set_param("pid", &std::process::id().to_string()).unwrap();
    g.init().unwrap();
    let first = Arc::new(Mutex::new(None));
    subscribe_json(&g, Box::new(std::io::sink()), Some(first.clone()));
    let loaded = t0.elapsed();
    g.start().unwrap();
    let started = t0.elapsed();
    std::thread::spawn(|| gen_loop(Duration::from_secs(30), 1000));
    while first.lock().unwrap().is_none() && t0.elapsed() < Duration::from_secs(30) {
        g.poll(Some(Duration::from_millis(1))).unwrap();
    }
    let first_ms = first.lock().unwrap().map(|f| (f - t0).as_secs_f64() * 1e3).unwrap_or(f64::NAN);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "first_event_ms={first_ms:.1} runtime_ms={:.1} image_read_ms={:.1} opened_ms={:.1} initialized_ms={:.1} started_ms={:.1} from_cache={}",
        ms(runtime_made),
        ms(image_read),
        ms(opened),
        ms(loaded),
        ms(started),
        from_cache as u8
    );
    let _ = g.stop();
    rt.wait_background_compiles();
}

/// `--rss IMAGE N`: N running, idle gadgets in one runtime; VmRSS after each.
fn child_rss(image: &Path, n: usize) {
    let rt = runtime(None);
    let mut gs = Vec::new();
    let mut out = String::new();
    for i in 1..=n {
        let g = Gadget::open(&rt, GadgetSource::from_path(image, None).unwrap()).unwrap();
        g.set_param("pid", "1").unwrap(); // idle: pid 1 seldom opens files
        g.init().unwrap();
        subscribe_json(&g, Box::new(std::io::sink()), None);
        g.start().unwrap();
        gs.push(g);
        for g in &gs {
            g.poll(Some(Duration::from_millis(300))).unwrap();
        }
        out.push_str(&format!("rss{i}_mib={:.1} ", status_kib("VmRSS") as f64 / 1024.0));
        out.push_str(&format!("from_cache{i}={} shared{i}={} ", gs[i - 1].from_cache as u8, gs[i - 1].module_shared as u8));
        // Evidence for the figure: the process's mappings after each gadget.
        if let Some(dir) = std::env::var_os("GADGETRT_BENCH_SMAPS") {
            let _ = std::fs::copy("/proc/self/smaps", Path::new(&dir).join(format!("smaps{i}")));
        }
    }
    println!("{out}");
}

/// `--overload IMAGE`: full-rate generator for 4 s while nobody polls; then drain.
fn child_overload(image: &Path) {
    let rt = runtime(None);
    let mut gen = Command::new(std::env::current_exe().unwrap())
        .args(["--gen", "4", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let g = Gadget::open(&rt, GadgetSource::from_path(image, None).unwrap()).unwrap();
    g.set_param("pid", &gen.id().to_string()).unwrap();
    g.init().unwrap();
    let printed = subscribe_json(&g, Box::new(std::fs::File::create("/dev/null").unwrap()), None);
    g.start().unwrap();
    let before = status_kib("VmRSS");
    gen.stdin.take().unwrap().write_all(b"x").unwrap();
    gen.wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let hwm = status_kib("VmHWM");
    g.consume().unwrap();
    let mut s = String::new();
    gen.stdout.take().unwrap().read_to_string(&mut s).unwrap();
    let st = g.stats();
    g.stop().unwrap();
    println!(
        "rss_before_mib={:.1} peak_rss_mib={:.1} queue_budget_mib={} {} printed={} dropped={} lost={}",
        before as f64 / 1024.0,
        hwm as f64 / 1024.0,
        rt.options().limits.queue_bytes >> 20,
        s.trim(),
        printed.load(Ordering::Relaxed),
        st.dropped_queue_full,
        st.lost_samples
    );
}

// ---------------------------------------------------------------------------------------
// Parent

fn run_child(args: &[String]) -> BTreeMap<String, f64> {
    let out = Command::new(std::env::current_exe().unwrap()).args(args).stderr(Stdio::inherit()).output().unwrap();
    assert!(out.status.success(), "child {args:?} failed");
    let mut m = BTreeMap::new();
    for line in out.stdout.lines() {
        for kv in line.unwrap().split_whitespace() {
            if let Some((k, v)) = kv.split_once('=') {
                if let Ok(v) = v.parse::<f64>() {
                    m.insert(k.to_string(), v);
                }
            }
        }
    }
    m
}

/// Runs a child `runs` times and prints the chosen keys as min / median / max.
fn figure(title: &str, runs: usize, args: &[String], keys: &[&str]) {
    let mut all: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for _ in 0..runs {
        let m = run_child(args);
        for k in keys {
            all.entry(k).or_default().push(*m.get(*k).unwrap_or(&f64::NAN));
        }
    }
    println!("{title}");
    for k in keys {
        let mut v = all.remove(k).unwrap();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        println!("    {k:<20} min {:>10.2}  median {:>10.2}  max {:>10.2}", v[0], v[v.len() / 2], v[v.len() - 1]);
    }
}

fn images() -> (PathBuf, PathBuf) {
    let out = repo().join("examples/gadgets/out");
    let st = Command::new("bash").arg(repo().join("examples/gadgets/trace_open/build.sh")).arg(&out).status().unwrap();
    assert!(st.success(), "examples/gadgets/trace_open/build.sh");
    let wasm = out.join("trace_open.tar");
    let ig = std::env::var_os("GADGETRT_BENCH_JSON_IMAGE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/igimages/trace_open.tar"));
    let json = if ig.exists() {
        ig
    } else {
        let tar = out.join("trace_open_ebpf.tar");
        let input = gadgetrt::image::PackInput {
            ebpf: Some(std::fs::read(out.join("program.bpf.o")).unwrap()),
            ebpf_arm64: None,
            wasm: None,
            gadget_yaml: Some(std::fs::read(repo().join("examples/gadgets/trace_open/gadget.yaml")).unwrap()),
            reference: "trace_open_ebpf:latest".into(),
            created: None,
        };
        gadgetrt::image::pack_tar(&input, &tar).unwrap();
        tar
    };
    (json, wasm)
}

fn main() {
    let t0 = Instant::now();
    let args: Vec<String> = std::env::args().collect();
    let a = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    match a(1) {
        "--list" => return,
        "--gen" => return child_gen(a(2).parse().unwrap(), a(3).parse().unwrap()),
        "--thru" => return child_thru(Path::new(a(2)), a(3).parse().unwrap(), a(4).parse().unwrap(), a(5) == "filter"),
        "--start" => return child_start(t0, Path::new(a(2)), Path::new(a(3))),
        "--rss" => return child_rss(Path::new(a(2)), a(3).parse().unwrap()),
        "--overload" => return child_overload(Path::new(a(2))),
        _ => {}
    }
    // SAFETY: plain getuid.
    if unsafe { libc::getuid() } != 0 {
        println!("figures: skipped (eBPF needs root)");
        return;
    }
    let mut runs = 3;
    let mut only = Vec::new();
    let mut it = args.iter().skip(1);
    while let Some(x) = it.next() {
        match x.as_str() {
            "--runs" => runs = it.next().and_then(|v| v.parse().ok()).unwrap_or(3),
            "--bench" => {}
            s if !s.starts_with('-') => only.push(s.to_string()),
            _ => {}
        }
    }
    let want = |s: &str| only.is_empty() || only.iter().any(|o| o == s);
    let (json, wasm) = images();
    let p = |x: &Path| x.display().to_string();
    println!("figures over {runs} runs (min / median / max); json image {}, wasm image {}", json.display(), wasm.display());
    // Warm the default module cache for the wasm image so throughput runs use optimised code.
    run_child(&["--thru".into(), p(&wasm), "1000".into(), "0.2".into()]);
    let thru_keys = ["cpu_us_per_event", "allocs_per_event", "delivered_pct", "rate", "lost", "dropped"];
    if want("json") {
        for (rate, secs) in [(200_000u64, 3.0f64), (0, 3.0)] {
            let label = if rate == 0 { "full rate".to_string() } else { format!("{rate}/s") };
            figure(
                &format!("eBPF -> JSON, every operator (formatters, uid/gid names, containers, filter), {label}:"),
                runs,
                &["--thru".into(), p(&json), rate.to_string(), secs.to_string(), "filter".into()],
                &thru_keys,
            );
        }
    }
    if want("wasm") {
        for rate in [100_000u64, 200_000] {
            figure(
                &format!("eBPF -> Go wasm -> JSON, {rate}/s:"),
                runs,
                &["--thru".into(), p(&wasm), rate.to_string(), "3".into()],
                &thru_keys,
            );
        }
    }
    if want("start") {
        let dir = std::env::temp_dir().join(format!("gadgetrt-figures-{}", std::process::id()));
        let mut cold = BTreeMap::<&str, Vec<f64>>::new();
        let mut warm = BTreeMap::<&str, Vec<f64>>::new();
        for i in 0..runs {
            let cache = dir.join(format!("cache{i}"));
            std::fs::create_dir_all(&cache).unwrap();
            for (dst, tag) in [(&mut cold, "cold"), (&mut warm, "warm")] {
                let m = run_child(&["--start".into(), p(&wasm), p(&cache)]);
                assert_eq!(m["from_cache"] == 1.0, tag == "warm", "{tag} start: from_cache={}", m["from_cache"]);
                for k in ["first_event_ms", "runtime_ms", "image_read_ms", "opened_ms", "initialized_ms", "started_ms"] {
                    dst.entry(k).or_default().push(m[k]);
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        for (title, m) in [("start -> first event, Go wasm, cold (empty module cache):", cold), ("start -> first event, Go wasm, warm:", warm)] {
            println!("{title}");
            for (k, mut v) in m {
                v.sort_by(|a, b| a.partial_cmp(b).unwrap());
                println!("    {k:<20} min {:>10.2}  median {:>10.2}  max {:>10.2}", v[0], v[v.len() / 2], v[v.len() - 1]);
            }
        }
    }
    if want("rss") {
        figure("idle RSS (MiB), Go-wasm trace_open, 1/2/3 gadgets in one runtime:", runs, &["--rss".into(), p(&wasm), "3".into()], &["rss1_mib", "rss2_mib", "rss3_mib"]);
        figure("idle RSS (MiB), IG trace_open (no wasm), 1/2 gadgets:", runs, &["--rss".into(), p(&json), "2".into()], &["rss1_mib", "rss2_mib"]);
    }
    if want("overload") {
        for (name, img) in [("IG trace_open (no wasm)", &json), ("Go-wasm trace_open", &wasm)] {
            figure(
                &format!("overload, {name}: full rate for 4 s, nobody polls (default byte budget):"),
                runs,
                &["--overload".into(), p(img)],
                &["peak_rss_mib", "rss_before_mib", "queue_budget_mib", "opens", "printed", "dropped", "lost"],
            );
        }
    }
}
