//! `cargo bench`: prints throughput and latency figures (no pass/fail thresholds here; the
//! targets are recorded in the issue notes).
//!
//! 1. pipeline: embedder emits into a host data source → a Go-built wasm Data subscription
//!    reads one field and sets another → the embedder polls (events/s, one emitting thread);
//! 1b. operators: trace_open-like events with every formatter → IG JSON → pipe;
//! 2. one host import call (`fieldGetScalar`) from a WAT loop (ns/call);
//! 3. cold (compile) and warm (cached module) load of a Go-built gadget from an OCI tar;
//! 4. eBPF: a tracepoint through the ring buffer and the wasm program to poll, events/s and
//!    lost samples, unthrottled and at ~100,000 events/s (root only).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use gadgetrt::datasource::{kind, TYPE_SINGLE};
use gadgetrt::{Gadget, GadgetSource, LogLevel, Runtime, RuntimeOptions};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn build(script: &str, out: &Path) {
    let st = std::process::Command::new("bash").arg(repo().join(script)).arg(out).status().unwrap();
    assert!(st.success(), "{script}");
}

fn rt(cache: Option<PathBuf>, disable_cache: bool) -> Runtime {
    Runtime::new(RuntimeOptions {
        log_level: LogLevel::Warn,
        queue_capacity: 1 << 20,
        cache_dir: cache,
        disable_cache,
        ..Default::default()
    })
    .unwrap()
}

fn pipeline(bench_wasm: &Path) {
    let rt = rt(None, false);
    let g = Gadget::open(&rt, GadgetSource::from_path(bench_wasm, None).unwrap()).unwrap();
    g.add_datasource("bench", TYPE_SINGLE).unwrap();
    let fin = g.add_field("bench", "in", kind::UINT64).unwrap();
    let fout = g.add_field("bench", "out", kind::UINT64).unwrap();
    g.init().unwrap();
    let got = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let (g2, b2) = (got.clone(), bad.clone());
    g.subscribe(
        "bench",
        100,
        Box::new(move |e| {
            let r = e.record(0).unwrap();
            let i = gadgetrt::datasource::get_scalar(r, e.schema.fields[fin].loc, kind::UINT64).unwrap();
            let o = gadgetrt::datasource::get_scalar(r, e.schema.fields[fout].loc, kind::UINT64).unwrap();
            if o != i + 1 {
                b2.fetch_add(1, Ordering::Relaxed);
            }
            g2.fetch_add(1, Ordering::Relaxed);
            0
        }),
    )
    .unwrap();
    g.start().unwrap();
    let n: u64 = 1_000_000;

    // One thread (one core): emit in batches of 1000, then dispatch them with consume.
    let t = Instant::now();
    for batch in 0..n / 1000 {
        for v in batch * 1000..(batch + 1) * 1000 {
            let mut p = g.new_packet("bench").unwrap();
            p.set_u64(0, fin, v).unwrap();
            g.emit(p).unwrap();
        }
        g.consume().unwrap();
    }
    let total = t.elapsed();
    println!(
        "pipeline, one thread (emit 1000 -> Go wasm Data subscription reads+sets a field -> consume): {n} events in {:.3}s = {:.0} events/s; delivered {}, wrong values {}",
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        got.load(Ordering::Relaxed),
        bad.load(Ordering::Relaxed)
    );
    got.store(0, Ordering::Relaxed);
    let before = g.stats().delivered;

    // Two threads: one emits, another polls.
    let g = Arc::new(g);
    let done = Arc::new(AtomicBool::new(false));
    let poller = {
        let (g, done) = (g.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                g.poll(Some(Duration::from_millis(10))).unwrap();
            }
            g.consume().unwrap();
        })
    };
    let t = Instant::now();
    for v in 0..n {
        let mut p = g.new_packet("bench").unwrap();
        p.set_u64(0, fin, v).unwrap();
        g.emit(p).unwrap();
    }
    let emit_time = t.elapsed();
    while got.load(Ordering::Relaxed) + g.stats().dropped_queue_full < n && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let total = t.elapsed();
    done.store(true, Ordering::Relaxed);
    poller.join().unwrap();
    let s = g.stats();
    println!(
        "pipeline, two threads (emit -> Go wasm Data subscription reads+sets a field -> poll on another thread): {n} events in {:.3}s = {:.0} events/s \
         (emit side {:.0} events/s); delivered {}, wrong values {}, dropped {}",
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        n as f64 / emit_time.as_secs_f64(),
        s.delivered - before,
        bad.load(Ordering::Relaxed),
        s.dropped_queue_full
    );
    g.stop().unwrap();
}

/// Operators on every event: an embedder data source shaped like trace_open's event (every
/// formatter type, uid/gid names) → formatters + names → IG JSON written to a pipe that
/// another thread drains. Reports events/s and CPU time per event (whole process).
fn operators_json() {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    let rt = rt(None, true);
    let wasm = wat::parse_str(r#"(module (memory (export "memory") 1) (func (export "gadgetAPIVersion") (result i64) i64.const 1))"#).unwrap();
    let g = Gadget::open(&rt, GadgetSource::from_wasm("ops", wasm)).unwrap();
    g.add_datasource("open", TYPE_SINGLE).unwrap();
    let fields: [(&str, u32, &str); 12] = [
        ("timestamp_raw", kind::UINT64, "type:gadget_timestamp"),
        ("comm", kind::STRING, "type:gadget_comm"),
        ("pid", kind::UINT32, "type:gadget_pid"),
        ("uid", kind::UINT32, "type:gadget_uid"),
        ("gid", kind::UINT32, "type:gadget_gid"),
        ("error_raw", kind::UINT32, "type:gadget_errno"),
        ("flags_raw", kind::UINT32, "type:gadget_file_flags"),
        ("mode_raw", kind::UINT32, "type:gadget_file_mode"),
        ("syscall_raw", kind::UINT64, "type:gadget_syscall"),
        ("size_raw", kind::UINT64, "type:gadget_bytes"),
        ("dur_raw", kind::UINT64, "type:gadget_duration"),
        ("fname", kind::STRING, "x"),
    ];
    let idx: Vec<usize> = fields.iter().map(|(n, k, _)| g.add_field("open", n, *k).unwrap()).collect();
    for (n, _, t) in &fields {
        g.add_field_tag("open", n, t).unwrap();
    }
    g.init().unwrap();
    let mut fds = [0i32; 2];
    // SAFETY: pipe(2) into a local array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: fresh fds from pipe(2), each owned once.
    let (rd, wr) = unsafe { (std::fs::File::from_raw_fd(fds[0]), std::fs::File::from_raw_fd(fds[1])) };
    let drain = std::thread::spawn(move || {
        use std::io::Read;
        let mut rd = rd;
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        while let Ok(n) = rd.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        total
    });
    let out = Arc::new(std::sync::Mutex::new(std::io::BufWriter::with_capacity(1 << 16, wr)));
    let o2 = out.clone();
    let mut buf = Vec::with_capacity(1024);
    g.subscribe(
        "open",
        10_000,
        Box::new(move |e| {
            buf.clear();
            e.write_json(&mut buf);
            buf.push(b'\n');
            let _ = o2.lock().unwrap().write_all(&buf);
            0
        }),
    )
    .unwrap();
    g.start().unwrap();
    let n: u64 = 500_000;
    let cpu0 = cpu_time();
    let t = Instant::now();
    for batch in 0..n / 1000 {
        for v in batch * 1000..(batch + 1) * 1000 {
            let mut p = g.new_packet("open").unwrap();
            p.set_u64(0, idx[0], 1_000_000_000 + v).unwrap();
            p.set_bytes(0, idx[1], b"cat").unwrap();
            p.set_u64(0, idx[2], 4242).unwrap();
            p.set_u64(0, idx[3], v % 3).unwrap();
            p.set_u64(0, idx[4], 65534).unwrap();
            p.set_u64(0, idx[5], if v % 2 == 0 { 0 } else { 2 }).unwrap();
            p.set_u64(0, idx[6], 0o2000000).unwrap();
            p.set_u64(0, idx[7], 0o644).unwrap();
            p.set_u64(0, idx[8], 257).unwrap();
            p.set_u64(0, idx[9], 1_500_000 + v).unwrap();
            p.set_u64(0, idx[10], 1_234_567).unwrap();
            p.set_bytes(0, idx[11], b"/etc/hostname").unwrap();
            g.emit(p).unwrap();
        }
        g.consume().unwrap();
    }
    out.lock().unwrap().flush().unwrap();
    let wall = t.elapsed();
    let cpu = cpu_time() - cpu0;
    g.stop().unwrap();
    drop(g);
    drop(out);
    let bytes = drain.join().unwrap();
    println!(
        "operators: {n} trace_open-like events (timestamp, errno, flags, mode, syscall, bytes, duration, uid/gid names) -> IG JSON -> pipe: \
         {:.0} events/s, {:.2} us CPU/event (process), {} bytes",
        n as f64 / wall.as_secs_f64(),
        cpu.as_secs_f64() * 1e6 / n as f64,
        bytes
    );
}

/// CPU time (user + system) of the whole process.
fn cpu_time() -> Duration {
    // SAFETY: getrusage into a zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn import_cost() {
    let rt = rt(None, true);
    let iters: i64 = 20_000_000;
    let wat = format!(
        r#"(module
          (import "ig" "getDataSource" (func $get (param i64) (result i32)))
          (import "ig" "dataSourceGetField" (func $field (param i32 i64) (result i32)))
          (import "ig" "dataSourceNewPacketSingle" (func $pkt (param i32) (result i32)))
          (import "ig" "fieldGetScalar" (func $gs (param i32 i32 i32 i32) (result i64)))
          (memory (export "memory") 1)
          (data (i32.const 16) "bench")
          (data (i32.const 32) "in")
          (func (export "gadgetAPIVersion") (result i64) i64.const 1)
          (func (export "empty") (param $n i64) (local $i i64)
            (loop $l (local.set $i (i64.add (local.get $i) (i64.const 1))) (br_if $l (i64.lt_u (local.get $i) (local.get $n)))))
          (func (export "calls") (param $n i64) (local $i i64) (local $ds i32) (local $f i32) (local $p i32)
            (local.set $ds (call $get (i64.const {ds})))
            (local.set $f (call $field (local.get $ds) (i64.const {fi})))
            (local.set $p (call $pkt (local.get $ds)))
            (loop $l
              (drop (call $gs (local.get $f) (local.get $p) (i32.const 9) (i32.const 0)))
              (local.set $i (i64.add (local.get $i) (i64.const 1)))
              (br_if $l (i64.lt_u (local.get $i) (local.get $n))))))"#,
        ds = (5i64 << 32) | 16,
        fi = (2i64 << 32) | 32
    );
    let g = Gadget::open(&rt, GadgetSource::from_wasm("importcost", wat::parse_str(&wat).unwrap())).unwrap();
    g.add_datasource("bench", TYPE_SINGLE).unwrap();
    g.add_field("bench", "in", kind::UINT64).unwrap();
    g.init().unwrap();
    let t_empty = g.bench_call_export("empty", iters).unwrap();
    let t_calls = g.bench_call_export("calls", iters).unwrap();
    let per = (t_calls.as_secs_f64() - t_empty.as_secs_f64()) / iters as f64 * 1e9;
    println!(
        "host import fieldGetScalar: {per:.1} ns/call ({iters} calls in {:.3}s, empty loop {:.3}s)",
        t_calls.as_secs_f64(),
        t_empty.as_secs_f64()
    );
}

fn load_times(bench_wasm: &Path) {
    let dir = std::env::temp_dir().join(format!("gadgetrt-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tar = dir.join("bench.tar");
    let input = gadgetrt::image::PackInput {
        ebpf: None,
        ebpf_arm64: None,
        wasm: Some(std::fs::read(bench_wasm).unwrap()),
        gadget_yaml: Some(b"name: bench\n".to_vec()),
        reference: "bench:latest".into(),
        created: None,
    };
    gadgetrt::image::pack_tar(&input, &tar).unwrap();
    let cache = dir.join("cache");
    let load = |rt: &Runtime| {
        let t = Instant::now();
        let g = Gadget::open(rt, GadgetSource::from_path(&tar, None).unwrap()).unwrap();
        g.add_datasource("bench", TYPE_SINGLE).unwrap();
        g.add_field("bench", "in", kind::UINT64).unwrap();
        g.add_field("bench", "out", kind::UINT64).unwrap();
        g.init().unwrap();
        (t.elapsed(), g.from_cache)
    };
    let (cold, c0) = load(&rt(Some(cache.clone()), false));
    let mut warm = Vec::new();
    for _ in 0..10 {
        let r = rt(Some(cache.clone()), false);
        let (w, c) = load(&r);
        assert!(c, "warm load must come from the cache");
        warm.push(w);
    }
    warm.sort();
    println!(
        "load of a Go-built gadget from an OCI tar (image read + module + instantiate + gadgetInit): cold {:.1} ms (cache hit: {c0}), warm median {:.2} ms, best {:.2} ms",
        cold.as_secs_f64() * 1e3,
        warm[warm.len() / 2].as_secs_f64() * 1e3,
        warm[0].as_secs_f64() * 1e3
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn ebpf_throughput(rates: &[Option<u64>]) {
    // SAFETY: plain getuid.
    if unsafe { libc::getuid() } != 0 {
        println!("ebpf throughput: skipped (needs root)");
        return;
    }
    let out = repo().join("examples/gadgets/out");
    let st = std::process::Command::new("bash").arg(repo().join("examples/gadgets/trace_open/build.sh")).arg(&out).status().unwrap();
    assert!(st.success());
    for &rate in rates {
        let rt = rt(None, false);
        let g = Gadget::open(&rt, GadgetSource::from_path(&out.join("trace_open.tar"), None).unwrap()).unwrap();
        g.set_param("pid", &std::process::id().to_string()).unwrap();
        g.init().unwrap();
        let got = Arc::new(AtomicU64::new(0));
        // When the last event arrived (ns after t0): the delivered rate counts until then.
        let last_ns = Arc::new(AtomicU64::new(0));
        let t0 = Instant::now();
        let (g2, l2) = (got.clone(), last_ns.clone());
        g.subscribe("open", 1000, Box::new(move |_| {
            g2.fetch_add(1, Ordering::Relaxed);
            l2.store(t0.elapsed().as_nanos() as u64, Ordering::Relaxed);
            0
        }))
        .unwrap();
        g.start().unwrap();
        let g = Arc::new(g);
        let done = Arc::new(AtomicBool::new(false));
        let poller = {
            let (g, done) = (g.clone(), done.clone());
            std::thread::spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    g.poll(Some(Duration::from_millis(10))).unwrap();
                }
            })
        };
        let dur = Duration::from_secs(3);
        let path = c"/dev/null";
        let t = Instant::now();
        let start_ns = t.duration_since(t0).as_nanos() as u64;
        let mut n: u64 = 0;
        while t.elapsed() < dur {
            if let Some(r) = rate {
                let due = (t.elapsed().as_secs_f64() * r as f64) as u64;
                if n >= due {
                    std::hint::spin_loop();
                    continue;
                }
            }
            // SAFETY: openat/close on a static path.
            unsafe {
                let fd = libc::openat(libc::AT_FDCWD, path.as_ptr(), libc::O_RDONLY);
                if fd >= 0 {
                    libc::close(fd);
                }
            }
            n += 1;
        }
        let gen = t.elapsed();
        std::thread::sleep(Duration::from_millis(1500));
        done.store(true, Ordering::Relaxed);
        poller.join().unwrap();
        g.stop().unwrap();
        g.consume().unwrap();
        let s = g.stats();
        let busy = Duration::from_nanos(last_ns.load(Ordering::Relaxed).saturating_sub(start_ns)).max(gen);
        println!(
            "eBPF tracepoint -> ring buffer -> Go wasm -> poll, {}: generated {n} opens ({:.0}/s), delivered {} ({:.0} events/s, \
             first open to last delivery), lost in kernel {}, dropped in queue {}",
            match rate { Some(r) => format!("throttled to {r}/s"), None => "unthrottled".into() },
            n as f64 / gen.as_secs_f64(),
            got.load(Ordering::Relaxed),
            got.load(Ordering::Relaxed) as f64 / busy.as_secs_f64(),
            s.lost_samples,
            s.dropped_queue_full
        );
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let out = repo().join("tests/gadgets/out/go");
    build("tests/gadgets/go/build.sh", &out);
    let bench = out.join("bench.wasm");
    // `cargo bench -- pipeline ebpf` runs only the named parts (import, operators, pipeline, load, ebpf,
    // ebpf100k = only the throttled eBPF run).
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let want = |name: &str| only.is_empty() || only.iter().any(|o| o == name);
    if want("import") {
        import_cost();
    }
    if want("operators") {
        operators_json();
    }
    if want("pipeline") {
        pipeline(&bench);
    }
    if want("load") {
        load_times(&bench);
    }
    if want("ebpf") {
        ebpf_throughput(&[None, Some(100_000)]);
    } else if want("ebpf100k") {
        ebpf_throughput(&[Some(100_000), Some(100_000)]);
    }
}
