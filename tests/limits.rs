//! Issue 13: a hostile gadget cannot exhaust the host. Each test builds its hostile module,
//! object or archive itself and shows the error, the bound or the prompt exit.

mod common;

use std::time::{Duration, Instant};

use common::*;
use gadgetrt::datasource::{kind, TYPE_ARRAY, TYPE_SINGLE};
use gadgetrt::{ErrorCode, Gadget, GadgetSource, Limits, LogLevel, Runtime, RuntimeOptions};

fn wasm(wat: &str) -> GadgetSource {
    GadgetSource::from_wasm("wat", wat::parse_str(wat).expect("valid wat"))
}

/// `(len << 32) | addr` as an i64 constant for WAT.
fn bp(addr: u32, len: u32) -> i64 {
    ((len as i64) << 32) | addr as i64
}

const VERSION_1: &str = r#"(func (export "gadgetAPIVersion") (result i64) i64.const 1)"#;

fn is_root() -> bool {
    // SAFETY: plain getter.
    unsafe { libc::geteuid() == 0 }
}

fn limited(f: impl FnOnce(&mut Limits)) -> (Runtime, Logs) {
    runtime_with(LogLevel::Debug, |o| {
        o.disable_cache = true;
        f(&mut o.limits)
    })
}

// ----- 1. BPF map and perf buffer budget -----

/// The guest returns 0, or the number of the first step that went wrong.
#[test]
fn map_budget_refuses_new_map_and_release_returns_it() {
    if !is_root() {
        eprintln!("skipped: needs root (BPF maps)");
        return;
    }
    let (rt, logs) = limited(|l| {
        l.map_bytes = 1 << 20;
        l.map_count = 4;
    });
    let wat = format!(
        r#"(module
          (import "ig" "newMap" (func $new (param i64 i32 i32 i32 i32) (result i32)))
          (import "ig" "mapRelease" (func $rel (param i32) (result i32)))
          (import "ig" "releaseHandle" (func $relh (param i32) (result i32)))
          (import "ig" "newPerfReader" (func $perf (param i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "m")
          {VERSION_1}
          (func $half (result i32) (call $new (i64.const {m}) (i32.const 1) (i32.const 4) (i32.const 4) (i32.const 65536)))
          (func $small (result i32) (call $new (i64.const {m}) (i32.const 1) (i32.const 4) (i32.const 4) (i32.const 1)))
          (func (export "gadgetInit") (result i32) (local $a i32) (local $b i32) (local $c i32) (local $i i32) (local $p i32)
            ;; 8 GiB of hash map: refused before the kernel sees it
            (if (call $new (i64.const {m}) (i32.const 1) (i32.const 4) (i32.const 4) (i32.const 0x40000000))
              (then (return (i32.const 1))))
            ;; two 512 KiB maps fill the 1 MiB budget; a third is refused
            (local.set $a (call $half))
            (if (i32.eqz (local.get $a)) (then (return (i32.const 2))))
            (local.set $b (call $half))
            (if (i32.eqz (local.get $b)) (then (return (i32.const 3))))
            (if (call $half) (then (return (i32.const 4))))
            ;; mapRelease and releaseHandle both give the budget back
            (if (call $rel (local.get $a)) (then (return (i32.const 5))))
            (local.set $a (call $half))
            (if (i32.eqz (local.get $a)) (then (return (i32.const 6))))
            (if (call $relh (local.get $b)) (then (return (i32.const 7))))
            (local.set $b (call $half))
            (if (i32.eqz (local.get $b)) (then (return (i32.const 8))))
            (drop (call $rel (local.get $a)))
            (drop (call $rel (local.get $b)))
            ;; 1000 create/release rounds never run out (fds and slots are returned)
            (loop $l
              (local.set $c (call $small))
              (if (i32.eqz (local.get $c)) (then (return (i32.const 9))))
              (if (call $relh (local.get $c)) (then (return (i32.const 10))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 1000))))
            ;; at most 4 kernel objects at once
            (local.set $i (i32.const 0))
            (loop $fill
              (if (i32.eqz (call $small)) (then (return (i32.ne (local.get $i) (i32.const 4)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $fill (i32.lt_u (local.get $i) (i32.const 100))))
            (i32.const 11))
          (func (export "gadgetStart") (result i32) (local $m i32) (local $r i32)
            ;; a perf buffer of 1 GiB per CPU is refused; a small one fits, and releasing
            ;; the reader returns its budget
            (local.set $m (call $new (i64.const {m}) (i32.const 4) (i32.const 4) (i32.const 4) (i32.const 0)))
            (if (i32.eqz (local.get $m)) (then (return (i32.const 21))))
            (if (call $perf (local.get $m) (i32.const 0x40000000) (i32.const 0)) (then (return (i32.const 22))))
            (local.set $r (call $perf (local.get $m) (i32.const 4096) (i32.const 0)))
            (if (i32.eqz (local.get $r)) (then (return (i32.const 23))))
            (if (call $relh (local.get $r)) (then (return (i32.const 24))))
            (local.set $r (call $perf (local.get $m) (i32.const 4096) (i32.const 0)))
            (if (i32.eqz (local.get $r)) (then (return (i32.const 25))))
            (i32.const 0)))"#,
        m = bp(16, 1)
    );
    let g = Gadget::load(&rt, wasm(&wat)).unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    assert!(logs.contains("newMap \"m\": refused"), "{}", logs.dump());
    assert!(logs.contains("map budget in use"), "{}", logs.dump());
    assert!(logs.contains("maps/perf readers (limit 4)"), "{}", logs.dump());
    // gadgetStart: the 4 small maps of gadgetInit are still held, so release happens at stop;
    // start needs its own room.
    drop(g);
    let (rt, logs) = limited(|l| {
        l.map_bytes = 1 << 20;
        l.map_count = 3;
    });
    let wat2 = wat.replace(r#"(export "gadgetInit")"#, r#"(export "unusedInit")"#);
    let g = Gadget::load(&rt, wasm(&wat2)).unwrap();
    g.start().unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    assert!(logs.contains("newPerfReader: refused"), "{}", logs.dump());
    g.stop().unwrap();
}

// ----- 2. one memory, limited tables -----

#[test]
fn multi_memory_and_table_growth_are_refused() {
    let (rt, _) = limited(|l| {
        l.tables = 2;
        l.table_elements = 1000;
    });
    // Two memories: multi-memory is disabled, so the module does not validate.
    let e = Gadget::open(&rt, wasm(&format!(r#"(module (memory (export "memory") 1) (memory 1) {VERSION_1})"#)))
        .err()
        .expect("two memories must be refused");
    assert_eq!(e.code, ErrorCode::WasmLoad, "{e}");
    assert!(e.message.contains("memor"), "{e}");
    // Three tables: above the limit before compiling.
    let e = Gadget::open(&rt, wasm(&format!(r#"(module (memory (export "memory") 1) (table 1 funcref) (table 1 funcref) (table 1 funcref) {VERSION_1})"#)))
        .err()
        .unwrap();
    assert!(e.message.contains("3 tables, above the limit of 2"), "{e}");
    // A table declared above the element limit cannot be instantiated.
    let e = Gadget::load(&rt, wasm(&format!(r#"(module (memory (export "memory") 1) (table 300000000 funcref) {VERSION_1})"#)))
        .err()
        .unwrap();
    assert_eq!(e.code, ErrorCode::WasmLoad, "{e}");
    // table.grow past the limit fails inside the guest (-1) instead of allocating.
    let src = wasm(&format!(
        r#"(module (memory (export "memory") 1) (table $t 10 funcref) {VERSION_1}
            (func (export "gadgetInit") (result i32)
              (if (i32.ne (table.grow $t (ref.null func) (i32.const 300000000)) (i32.const -1)) (then (return (i32.const 1))))
              (if (i32.eq (table.grow $t (ref.null func) (i32.const 900)) (i32.const -1)) (then (return (i32.const 2))))
              (i32.ne (table.grow $t (ref.null func) (i32.const 100)) (i32.const -1))))"#
    ));
    Gadget::load(&rt, src).unwrap();
}

// ----- 3. compile bombs -----

/// A module with one function made of `depth` nested empty loops (slow to compile).
fn nested_loops(depth: usize) -> Vec<u8> {
    let mut body = vec![0u8]; // no locals
    for _ in 0..depth {
        body.extend_from_slice(&[0x03, 0x40]);
    }
    body.extend(std::iter::repeat(0x0b).take(depth + 1));
    let mut code = leb(1);
    code.extend(leb(body.len() as u32));
    code.extend(body);
    let mut m = b"\0asm\x01\0\0\0".to_vec();
    section(&mut m, 1, &[1, 0x60, 0, 0]); // type: () -> ()
    section(&mut m, 3, &[1, 0]); // one function of type 0
    section(&mut m, 10, &code);
    m
}

fn leb(mut v: u32) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

fn section(m: &mut Vec<u8>, id: u8, body: &[u8]) {
    m.push(id);
    m.extend(leb(body.len() as u32));
    m.extend_from_slice(body);
}

#[test]
fn module_size_and_function_count_are_checked_before_compiling() {
    let (rt, _) = limited(|l| {
        l.module_bytes = 4096;
        l.module_functions = 10;
    });
    let big = nested_loops(5000);
    let e = Gadget::open(&rt, GadgetSource::from_wasm("big", big)).err().unwrap();
    assert_eq!(e.code, ErrorCode::WasmLoad);
    assert!(e.message.contains("above the limit of 4096 bytes"), "{e}");
    let funcs: String = (0..11).map(|i| format!("(func $f{i})")).collect();
    let e = Gadget::open(&rt, wasm(&format!("(module {funcs})"))).err().unwrap();
    assert!(e.message.contains("11 functions, above the limit of 10"), "{e}");
    // Imported functions count too.
    let imports: String = (0..6).map(|i| format!(r#"(import "ig" "x{i}" (func))"#)).collect();
    let defined: String = (0..5).map(|i| format!("(func $g{i})")).collect();
    let e = Gadget::open(&rt, wasm(&format!("(module {imports} {defined})"))).err().unwrap();
    assert!(e.message.contains("11 functions"), "{e}");
}

#[test]
fn compile_bomb_hits_the_compile_deadline() {
    let (rt, _) = limited(|l| l.compile_timeout = Duration::from_millis(200));
    let bomb = nested_loops(30_000);
    let t = Instant::now();
    let e = Gadget::open(&rt, GadgetSource::from_wasm("bomb", bomb.clone())).err().expect("bomb must time out");
    assert!(t.elapsed() < Duration::from_secs(3), "open took {:?}", t.elapsed());
    assert_eq!(e.code, ErrorCode::Timeout, "{e}");
    assert!(e.message.contains("abandoned"), "{e}");
    // While the abandoned compilation runs, further compilations are refused at once.
    let t = Instant::now();
    let e = Gadget::open(&rt, GadgetSource::from_wasm("bomb2", bomb)).err().unwrap();
    assert_eq!(e.code, ErrorCode::Busy, "{e}");
    assert!(t.elapsed() < Duration::from_secs(1));
    // Once it ends, compiling works again.
    let ok = wat::parse_str(format!(r#"(module (memory (export "memory") 1) {VERSION_1})"#)).unwrap();
    let t = Instant::now();
    loop {
        match Gadget::open(&rt, GadgetSource::from_wasm("ok", ok.clone())) {
            Ok(_) => break,
            Err(e) if e.code == ErrorCode::Busy && t.elapsed() < Duration::from_secs(600) => {
                std::thread::sleep(Duration::from_millis(200))
            }
            Err(e) => panic!("{e}"),
        }
    }
}

// ----- 4. host allocations -----

#[test]
fn host_allocations_for_the_guest_are_bounded() {
    let (rt, logs) = limited(|l| {
        l.host_bytes = 1 << 20;
        l.field_value_bytes = 64 << 10;
        l.datasources = 8;
    });
    // 600 KB strings at address 0 of a 1 MiB memory.
    let wat = format!(
        r#"(module
          (import "ig" "newDataSource" (func $newds (param i64 i32) (result i32)))
          (import "ig" "dataSourceAddField" (func $add (param i32 i64 i32) (result i32)))
          (import "ig" "fieldAddTag" (func $tag (param i32 i64) (result i32)))
          (import "ig" "setConfig" (func $cfg (param i64 i64 i32) (result i32)))
          (import "ig" "dataSourceNewPacketSingle" (func $pkt (param i32) (result i32)))
          (import "ig" "fieldSet" (func $set (param i32 i32 i32 i64) (result i32)))
          (import "ig" "releaseHandle" (func $rel (param i32) (result i32)))
          (import "ig" "dataSourceUnreference" (func $unref (param i32) (result i32)))
          (memory (export "memory") 16)
          (data (i32.const 16) "ds")
          (data (i32.const 32) "f")
          {VERSION_1}
          (func (export "gadgetInit") (result i32) (local $ds i32) (local $f i32) (local $p i32) (local $i i32) (local $d i32)
            (local.set $ds (call $newds (i64.const {ds}) (i32.const 1)))
            (local.set $f (call $add (local.get $ds) (i64.const {f}) (i32.const 12)))
            ;; one 600 KB tag fits the 1 MiB budget, a second one does not
            (if (call $tag (local.get $f) (i64.const {big})) (then (return (i32.const 1))))
            (if (i32.eqz (call $tag (local.get $f) (i64.const {big}))) (then (return (i32.const 2))))
            ;; neither does a 600 KB config value
            (if (i32.eqz (call $cfg (i64.const {f}) (i64.const {big}) (i32.const 12))) (then (return (i32.const 3))))
            ;; field values above 64 KiB are refused, smaller ones accepted
            (local.set $p (call $pkt (local.get $ds)))
            (if (i32.eqz (call $set (local.get $f) (local.get $p) (i32.const 12) (i64.const {big}))) (then (return (i32.const 4))))
            (if (call $set (local.get $f) (local.get $p) (i32.const 12) (i64.const {small})) (then (return (i32.const 5))))
            ;; data sources: created and released, the list does not grow past 8
            (loop $l
              (local.set $d (call $newds (i64.const {ds}) (i32.const 1)))
              (if (i32.eqz (local.get $d)) (then (return (i32.ne (local.get $i) (i32.const 7)))))
              (drop (call $unref (local.get $d)))
              (drop (call $rel (local.get $d)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 1000000))))
            (i32.const 6)))"#,
        ds = bp(16, 2),
        f = bp(32, 1),
        big = bp(0, 600_000),
        small = bp(0, 1000),
    );
    let g = Gadget::load(&rt, wasm(&wat)).unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    assert!(logs.contains("fieldAddTag: refused"), "{}", logs.dump());
    assert!(logs.contains("setConfig: refused"), "{}", logs.dump());
    assert!(logs.contains("above the limit of 65536 bytes"), "{}", logs.dump());
    assert!(logs.contains("already created 8 data sources (limit 8)"), "{}", logs.dump());
    // The embedder is held to the same data-source count.
    let e = g.add_datasource("more", TYPE_SINGLE).unwrap_err();
    assert!(e.message.contains("limit 8"), "{e}");
}

#[test]
fn queued_event_bytes_are_bounded() {
    let (rt, _) = runtime_with(LogLevel::Debug, |o| {
        o.disable_cache = true;
        o.limits.queue_bytes = 1 << 20;
    });
    let g = Gadget::load(&rt, wasm(&format!(r#"(module (memory (export "memory") 1) {VERSION_1})"#))).unwrap();
    g.add_datasource("in", TYPE_SINGLE).unwrap();
    let f = g.add_field("in", "s", kind::STRING).unwrap();
    let c = collect(&g, "in", 0);
    g.start().unwrap();
    let big = vec![b'x'; 100_000];
    for _ in 0..50 {
        let mut p = g.new_packet("in").unwrap();
        p.set_bytes(0, f, &big).unwrap();
        g.emit(p).unwrap();
    }
    let st = g.stats();
    assert!(st.queued <= 11, "{st:?}");
    assert!(st.dropped_queue_full >= 39, "{st:?}");
    g.consume().unwrap();
    assert_eq!(c.len() as u64 + st.dropped_queue_full, 50);
    g.stop().unwrap();
}

// ----- 5. start cannot be held -----

/// A guest whose callback on its own data source "loop" emits into it again, forever.
fn reemit_guest() -> String {
    format!(
        r#"(module
          (import "ig" "newDataSource" (func $new (param i64 i32) (result i32)))
          (import "ig" "dataSourceSubscribe" (func $sub (param i32 i32 i32 i64) (result i32)))
          (import "ig" "dataSourceNewPacketSingle" (func $pkt (param i32) (result i32)))
          (import "ig" "dataSourceEmitAndRelease" (func $emit (param i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "loop")
          (global $ds (mut i32) (i32.const 0))
          (global $failed (export "failed") (mut i32) (i32.const 0))
          {VERSION_1}
          (func (export "gadgetInit") (result i32)
            (global.set $ds (call $new (i64.const {b}) (i32.const 1)))
            (call $sub (global.get $ds) (i32.const 1) (i32.const 0) (i64.const 1)))
          (func (export "dataSourceCallback") (param i64 i32 i32)
            (if (call $emit (global.get $ds) (call $pkt (global.get $ds)))
              (then (global.set $failed (i32.add (global.get $failed) (i32.const 1)))))))"#,
        b = bp(16, 4)
    )
}

#[test]
fn reemitting_callback_is_cut_by_the_cascade_bound() {
    let (rt, logs) = limited(|l| l.cascade_packets = 1000);
    let g = Gadget::load(&rt, wasm(&reemit_guest())).unwrap();
    g.start().unwrap();
    let t = Instant::now();
    let e = g.emit(g.new_packet("loop").unwrap()).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    assert_eq!(e.code, ErrorCode::Timeout, "{e}");
    assert!(e.message.contains("cascade"), "{e}");
    assert!(logs.contains("emission cascade cut short after 1000 packets"), "{}", logs.dump());
    assert!(g.stats().dropped_nested >= 1, "{:?}", g.stats());
    // The gadget still works afterwards: a fresh cascade is cut the same way.
    assert!(g.emit(g.new_packet("loop").unwrap()).is_err());
    g.stop().unwrap();
}

#[test]
fn reemitting_callback_is_cut_by_the_call_deadline() {
    let (rt, logs) = runtime_with(LogLevel::Debug, |o| {
        o.disable_cache = true;
        o.call_timeout = Duration::from_millis(300);
        o.limits.cascade_packets = u32::MAX;
    });
    let g = Gadget::load(&rt, wasm(&reemit_guest())).unwrap();
    g.start().unwrap();
    let t = Instant::now();
    assert!(g.emit(g.new_packet("loop").unwrap()).is_err());
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    assert!(logs.contains("emission cascade cut short"), "{}", logs.dump());
    g.stop().unwrap();
}

#[test]
fn blocking_perf_read_in_gadget_start_ends_at_the_call_deadline() {
    if !is_root() {
        eprintln!("skipped: needs root (BPF maps)");
        return;
    }
    let (rt, logs) = runtime_with(LogLevel::Debug, |o| {
        o.disable_cache = true;
        o.call_timeout = Duration::from_millis(300);
    });
    let wat = format!(
        r#"(module
          (import "ig" "newMap" (func $new (param i64 i32 i32 i32 i32) (result i32)))
          (import "ig" "newPerfReader" (func $perf (param i32 i32 i32) (result i32)))
          (import "ig" "perfReaderRead" (func $read (param i32 i64) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "p")
          {VERSION_1}
          (func (export "gadgetStart") (result i32) (local $r i32)
            (local.set $r (call $perf (call $new (i64.const {m}) (i32.const 4) (i32.const 4) (i32.const 4) (i32.const 0)) (i32.const 4096) (i32.const 0)))
            (if (i32.eqz (local.get $r)) (then (return (i32.const 1))))
            ;; non-overwritable reader, nothing written: 2 = deadline exceeded
            (i32.ne (call $read (local.get $r) (i64.const {dst})) (i32.const 2))))"#,
        m = bp(16, 1),
        dst = bp(1024, 4096)
    );
    let g = Gadget::load(&rt, wasm(&wat)).unwrap();
    let t = Instant::now();
    g.start().unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    g.stop().unwrap();
}

/// Runs gadgetrt-run on a WAT guest; returns the child.
fn spawn_runner(dir: &std::path::Path, wat: &str, extra: &[&str]) -> std::process::Child {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join("guest.wasm");
    std::fs::write(&p, wat::parse_str(wat).unwrap()).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_gadgetrt-run"))
        .args(extra)
        .arg("--no-cache")
        .arg(&p)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_within(child: &mut std::process::Child, limit: Duration) -> (std::process::ExitStatus, Duration) {
    let t = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return (st, t.elapsed());
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            panic!("gadgetrt-run did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn looping(export: &str) -> String {
    format!(r#"(module (memory (export "memory") 1) {VERSION_1} (func (export "{export}") (result i32) (loop $l (br $l)) (i32.const 0)))"#)
}

#[test]
fn runner_exits_promptly_on_sigint_and_sigterm_while_start_loops() {
    let dir = std::env::temp_dir().join(format!("gadgetrt-limits-run-{}", std::process::id()));
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let mut child = spawn_runner(&dir, &looping("gadgetStart"), &[]);
        std::thread::sleep(Duration::from_millis(800));
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, sig) };
        let (st, took) = wait_within(&mut child, Duration::from_secs(8));
        assert!(took < Duration::from_secs(3), "signal {sig}: exit took {took:?}");
        assert!(!st.success());
    }
}

#[test]
fn runner_timeout_ends_a_looping_start_and_a_looping_stop() {
    let dir = std::env::temp_dir().join(format!("gadgetrt-limits-runt-{}", std::process::id()));
    let t = Instant::now();
    let mut child = spawn_runner(&dir, &looping("gadgetStart"), &["--timeout", "0.5"]);
    let (st, _) = wait_within(&mut child, Duration::from_secs(10));
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert!(!st.success());
    // gadgetStop gets a short grace, then is interrupted (it would otherwise hold 42 s).
    let t = Instant::now();
    let mut child = spawn_runner(&dir, &looping("gadgetStop"), &["--timeout", "0.3"]);
    let (_, _) = wait_within(&mut child, Duration::from_secs(15));
    assert!(t.elapsed() < Duration::from_secs(7), "{:?}", t.elapsed());
}

// ----- 6. compiled-module cache directory -----

#[test]
fn cache_dir_must_be_absolute_private_and_entries_authenticated() {
    use std::os::unix::fs::PermissionsExt;
    let base = std::env::temp_dir().join(format!("gadgetrt-limits-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let mk = |dir: Option<std::path::PathBuf>| {
        Runtime::new(RuntimeOptions { cache_dir: dir, ..Default::default() })
    };
    // Empty means the default directory (not the working directory).
    mk(Some("".into())).unwrap();
    // Relative paths are refused.
    let e = mk(Some("relative/cache".into())).err().unwrap();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    assert!(e.message.contains("not an absolute path"), "{e}");
    // World- or group-writable directories are refused.
    let open = base.join("open");
    std::fs::create_dir_all(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let e = mk(Some(open.clone())).err().unwrap();
    assert!(e.message.contains("too permissive"), "{e}");
    // A directory owned by someone else is refused (root can chown to nobody).
    if is_root() {
        let other = base.join("other");
        std::fs::create_dir_all(&other).unwrap();
        std::os::unix::fs::chown(&other, Some(65534), Some(65534)).unwrap();
        let e = mk(Some(other)).err().unwrap();
        assert!(e.message.contains("not by the current user"), "{e}");
    }
    // A symlink to a good directory is refused too.
    let good = base.join("good");
    std::os::unix::fs::symlink(&good, base.join("link")).unwrap();
    std::fs::create_dir_all(&good).unwrap();
    assert!(mk(Some(base.join("link"))).is_err());

    // Entries: a valid one loads; one forged without the key, or writable by others, is
    // never loaded.
    let rt = mk(Some(good.clone())).unwrap();
    let key_mode = std::fs::metadata(good.join(".key")).unwrap().permissions().mode() & 0o777;
    assert_eq!(key_mode, 0o600);
    let src = || wasm(&format!(r#"(module (memory (export "memory") 1) {VERSION_1})"#));
    assert!(!Gadget::open(&rt, src()).unwrap().from_cache);
    // A miss runs baseline code; the optimised module reaches the cache in the background.
    rt.wait_background_compiles();
    assert!(Gadget::open(&rt, src()).unwrap().from_cache);
    let entry = std::fs::read_dir(&good)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "bin"))
        .unwrap();
    // Group-writable entry: ignored (and left alone).
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o664)).unwrap();
    assert!(!Gadget::open(&rt, src()).unwrap().from_cache);
    rt.wait_background_compiles();
    // Forged entry: a header recomputed with a plain SHA-256 (the old format) or any other
    // key does not verify; it is deleted and the module recompiled.
    let mut b = std::fs::read(&entry).unwrap();
    std::fs::remove_file(&entry).unwrap();
    b[20] ^= 1;
    std::fs::write(&entry, &b).unwrap();
    std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(!Gadget::open(&rt, src()).unwrap().from_cache);
    rt.wait_background_compiles();
    assert!(Gadget::open(&rt, src()).unwrap().from_cache);
    // A second runtime on the same directory shares the key and the entries.
    assert!(Gadget::open(&mk(Some(good)).unwrap(), src()).unwrap().from_cache);
    let _ = std::fs::remove_dir_all(&base);
}

/// Gadgets of one program open in one runtime share its compiled module (code and memory
/// image: one copy however many run); each still has its own instance and linear memory.
#[test]
fn gadgets_of_one_program_share_its_compiled_module() {
    // gadgetInit counts its calls in linear memory: 1 in every gadget unless memory leaked
    // between them.
    let prog = |n: u32| {
        wasm(&format!(
            r#"(module (memory (export "memory") 1) {VERSION_1}
              (func (export "gadgetInit") (result i32)
                (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1)))
                (i32.ne (i32.load (i32.const 0)) (i32.const 1)))
              (func (export "f{n}")))"#
        ))
    };
    for cached in [false, true] {
        let (rt, logs) = runtime_with(LogLevel::Debug, |o| o.disable_cache = !cached);
        if cached {
            // Warm the cache with the optimised module, as a later start finds it.
            drop(Gadget::open(&rt, prog(1)).unwrap());
            rt.wait_background_compiles();
        }
        let a = Gadget::open(&rt, prog(1)).unwrap();
        assert!(!a.module_shared);
        assert_eq!(a.from_cache, cached);
        let b = Gadget::open(&rt, prog(1)).unwrap();
        assert!(b.module_shared, "a second gadget of the program shares the module");
        assert_eq!(b.from_cache, cached, "a shared module keeps its origin");
        assert_eq!(rt.shared_modules(), 1);
        assert!(logs.0.lock().unwrap().iter().any(|(_, m)| m.starts_with("sharing the compiled module")));
        let c = Gadget::open(&rt, prog(2)).unwrap();
        assert!(!c.module_shared, "another program has its own module");
        assert_eq!(rt.shared_modules(), 2);
        for g in [&a, &b, &c] {
            g.init().unwrap();
        }
        drop((a, c));
        // b keeps the module alive for the next gadget of the program.
        assert!(Gadget::open(&rt, prog(1)).unwrap().module_shared);
        assert_eq!(rt.shared_modules(), 1);
        drop(b);
        assert_eq!(rt.shared_modules(), 0, "a module is freed with its last gadget");
        assert!(!Gadget::open(&rt, prog(1)).unwrap().module_shared);
    }
}

// ----- 7. packets, archive texts, ELF machine -----

#[test]
fn packets_are_bound_to_their_gadget() {
    let (rt, _) = runtime();
    let empty = || wasm(&format!(r#"(module (memory (export "memory") 1) {VERSION_1})"#));
    let g1 = Gadget::load(&rt, empty()).unwrap();
    let g2 = Gadget::load(&rt, empty()).unwrap();
    g1.add_datasource("in", TYPE_SINGLE).unwrap();
    g2.add_datasource("in", TYPE_ARRAY).unwrap();
    let c2 = collect(&g2, "in", 0);
    let e = g2.emit(g1.new_packet("in").unwrap()).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidArgument);
    assert!(e.message.contains("another gadget"), "{e}");
    g2.consume().unwrap();
    assert_eq!(c2.len(), 0);
    g1.emit(g1.new_packet("in").unwrap()).unwrap();
}

#[test]
fn archive_error_texts_are_escaped() {
    let dir = std::env::temp_dir().join(format!("gadgetrt-limits-tar-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A tar header whose name and size field hold terminal escapes.
    let mut h = [0u8; 512];
    let name = b"\x1b[2J\x1b]0;pwned\x07evil";
    h[..name.len()].copy_from_slice(name);
    h[100..107].copy_from_slice(b"0000644");
    h[124..135].copy_from_slice(b"\x1b[31mEVIL\x1b[");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut tar = h.to_vec();
    tar.extend([0u8; 1024]);
    let p = dir.join("evil.tar");
    std::fs::write(&p, &tar).unwrap();
    let e = GadgetSource::from_path(&p, None).err().expect("corrupt archive");
    assert!(!e.message.chars().any(|c| c.is_control() && c != '\n' && c != '\t'), "{:?}", e.message);
    assert!(e.message.contains("\\u{1b}") || !e.message.contains("EVIL"), "{:?}", e.message);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A 64-byte ELF header: class 64, the given byte order, ET_REL, machine `machine`.
fn elf_header(little: bool, machine: u16, e_type: u16) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2;
    h[5] = if little { 1 } else { 2 };
    h[6] = 1;
    let put = |h: &mut Vec<u8>, o: usize, v: u16| {
        let b = if little { v.to_le_bytes() } else { v.to_be_bytes() };
        h[o..o + 2].copy_from_slice(&b);
    };
    put(&mut h, 16, e_type);
    put(&mut h, 18, machine);
    h
}

#[test]
fn ebpf_objects_for_another_machine_are_refused() {
    let (rt, _) = runtime();
    let open = |elf: Vec<u8>| {
        let src = GadgetSource { name: "elf".into(), ebpf: Some(elf), ..Default::default() };
        Gadget::open(&rt, src).err().expect("must be refused")
    };
    let e = open(elf_header(cfg!(target_endian = "little"), 62, 1)); // x86-64
    assert!(e.message.contains("not EM_BPF"), "{e}");
    let e = open(elf_header(!cfg!(target_endian = "little"), 247, 1)); // other byte order
    assert!(e.message.contains("endian"), "{e}");
    let e = open(elf_header(cfg!(target_endian = "little"), 247, 2)); // executable
    assert!(e.message.contains("ET_REL"), "{e}");
}

// ----- the budget through the C API -----

#[test]
fn c_api_runtime_options_carry_the_budget() {
    use gadgetrt::ffi::error::{grt_error_code, grt_error_free, grt_error_message};
    use gadgetrt::ffi::gadget::{grt_gadget_free, grt_gadget_open_bytes};
    use gadgetrt::ffi::runtime::{grt_runtime_free, grt_runtime_new, grt_runtime_options};
    // SAFETY: a zeroed options struct is the C initialiser plus `size`.
    let mut o: grt_runtime_options = unsafe { std::mem::zeroed() };
    o.size = std::mem::size_of::<grt_runtime_options>();
    o.disable_cache = 1;
    o.module_bytes = 16;
    let mut rt = std::ptr::null();
    // SAFETY: valid pointers for the duration of the calls.
    unsafe {
        assert!(grt_runtime_new(&o, &mut rt).is_null());
        let w = wat::parse_str(format!(r#"(module (memory (export "memory") 1) {VERSION_1})"#)).unwrap();
        let mut g = std::ptr::null();
        let e = grt_gadget_open_bytes(rt, "g".as_ptr() as _, 1, w.as_ptr(), w.len(), &mut g);
        assert!(!e.is_null());
        assert_eq!(grt_error_code(e), ErrorCode::WasmLoad as u32);
        let msg = std::ffi::CStr::from_ptr(grt_error_message(e)).to_string_lossy().into_owned();
        assert!(msg.contains("above the limit of 16 bytes"), "{msg}");
        grt_error_free(e);
        grt_gadget_free(g);
        grt_runtime_free(rt);
        // An older struct (ending before the budget fields) keeps the default budget.
        o.size = std::mem::offset_of!(grt_runtime_options, map_bytes);
        let mut rt = std::ptr::null();
        assert!(grt_runtime_new(&o, &mut rt).is_null());
        let e = grt_gadget_open_bytes(rt, "g".as_ptr() as _, 1, w.as_ptr(), w.len(), &mut g);
        assert!(e.is_null());
        grt_gadget_free(g);
        grt_runtime_free(rt);
        // An empty (non-NULL) cache_dir means the default directory.
        o.size = std::mem::size_of::<grt_runtime_options>();
        o.module_bytes = 0;
        o.disable_cache = 0;
        o.cache_dir = "".as_ptr() as _;
        o.cache_dir_len = 0;
        let mut rt = std::ptr::null();
        assert!(grt_runtime_new(&o, &mut rt).is_null());
        grt_runtime_free(rt);
        // A relative one is refused.
        o.cache_dir = "rel".as_ptr() as _;
        o.cache_dir_len = 3;
        let e = grt_runtime_new(&o, &mut rt);
        assert_eq!(grt_error_code(e), ErrorCode::InvalidArgument as u32);
        grt_error_free(e);
    }
}

// ----- the eBPF object's own maps count in the map budget -----

/// Compiles a BPF C source (no vmlinux.h needed) with clang-19 into an object with BTF.
fn bpf_from_c(tag: &str, src: &str) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("gadgetrt-limits-bpf-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (c, o) = (dir.join("prog.bpf.c"), dir.join("prog.bpf.o"));
    std::fs::write(&c, src).unwrap();
    let st = std::process::Command::new(std::env::var("CLANG").unwrap_or_else(|_| "clang-19".into()))
        .args(["-g", "-O2", "-target", "bpf", "-c"])
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .status()
        .expect("running clang-19 (scripts/setup.sh installs it)");
    assert!(st.success(), "clang-19 failed on {tag}");
    let b = std::fs::read(&o).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    b
}

/// An object with a hash map of `entries` × (8 + 1024) bytes, `extra` more small maps and a
/// `.bss` of `bss` bytes, used by a raw tracepoint program.
fn map_object(entries: u32, extra: usize, bss: usize) -> String {
    let mut s = String::from(
        "typedef unsigned long long __u64;\ntypedef unsigned int __u32;\n\
         #define SEC(n) __attribute__((section(n), used))\n\
         #define __uint(name, val) int (*name)[val]\n\
         #define __type(name, val) typeof(val) *name\n\
         enum { BPF_MAP_TYPE_HASH = 1, BPF_MAP_TYPE_ARRAY = 2 };\n\
         static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;\n\
         struct big_value { char b[1024]; };\n",
    );
    s += &format!(
        "struct {{ __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, {entries}); __type(key, __u64); __type(value, struct big_value); }} big SEC(\".maps\");\n"
    );
    for i in 0..extra {
        s += &format!(
            "struct {{ __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); }} small{i} SEC(\".maps\");\n"
        );
    }
    let mut uses = String::new();
    for i in 0..extra {
        uses += &format!("    bpf_map_lookup_elem(&small{i}, &z);\n");
    }
    if bss > 0 {
        s += &format!("char scratch[{bss}];\n");
        uses += "    scratch[k & 1023] = 1;\n";
    }
    s += &format!(
        "SEC(\"raw_tp/sys_enter\") int prog(void *ctx) {{\n    __u64 k = 0; __u32 z = 0;\n    bpf_map_lookup_elem(&big, &k);\n{uses}    return 0;\n}}\n\
         char LICENSE[] SEC(\"license\") = \"GPL\";\n"
    );
    s
}

fn ebpf_source(elf: Vec<u8>, wat: Option<&str>) -> GadgetSource {
    GadgetSource {
        name: "objmaps".into(),
        ebpf: Some(elf),
        wasm: wat.map(|w| wat::parse_str(w).unwrap()),
        ..Default::default()
    }
}

#[test]
fn maps_of_the_ebpf_object_are_charged_to_the_map_budget() {
    if !is_root() {
        eprintln!("skipped: needs root (BPF)");
        return;
    }
    // A hash map declaring 2^28 entries of 1 KiB (~277 GB): refused with the default
    // budget before the kernel is asked, naming the map.
    let huge = bpf_from_c("huge", &map_object(1 << 28, 0, 0));
    let (rt, logs) = limited(|_| {});
    let g = Gadget::load(&rt, ebpf_source(huge, None)).unwrap();
    let e = g.start().expect_err("a 277 GB map must be refused");
    assert_eq!(e.code, ErrorCode::Ebpf, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("map budget exceeded"), "{msg}\n{}", logs.dump());
    assert!(msg.contains("\"big\""), "{msg}");
    assert!(msg.contains("no map was created"), "{msg}");
    drop(g);

    // 4096 entries × 1032 bytes (~4.1 MiB) loads with the default budget, not with 1 MiB.
    let mid = bpf_from_c("mid", &map_object(4096, 0, 0));
    let (rt, _) = limited(|_| {});
    let g = Gadget::load(&rt, ebpf_source(mid.clone(), None)).unwrap();
    g.start().unwrap_or_else(|e| panic!("a 4 MiB map fits the default budget: {e}"));
    g.stop().unwrap();
    let (rt, _) = limited(|l| l.map_bytes = 1 << 20);
    let g = Gadget::load(&rt, ebpf_source(mid.clone(), None)).unwrap();
    let e = g.start().expect_err("4 MiB of maps over a 1 MiB budget");
    assert!(e.to_string().contains("map budget exceeded"), "{e}");
    drop(g);

    // The object's maps and the guest's share one budget: with 6 MiB, the object's 4.1 MiB
    // leave no room for a 2 MiB newMap in gadgetStart, while a 1 MiB one fits.
    let wat = format!(
        r#"(module
          (import "ig" "newMap" (func $new (param i64 i32 i32 i32 i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "m")
          {VERSION_1}
          (func (export "gadgetStart") (result i32)
            ;; 2 MiB (8-byte entries) refused, 1 MiB accepted
            (if (call $new (i64.const {m}) (i32.const 1) (i32.const 4) (i32.const 4) (i32.const 262144))
              (then (return (i32.const 1))))
            (if (i32.eqz (call $new (i64.const {m}) (i32.const 1) (i32.const 4) (i32.const 4) (i32.const 131072)))
              (then (return (i32.const 2))))
            (i32.const 0)))"#,
        m = bp(16, 1)
    );
    let (rt, logs) = limited(|l| l.map_bytes = 6 << 20);
    let g = Gadget::load(&rt, ebpf_source(mid, Some(&wat))).unwrap();
    g.start().unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    assert!(logs.contains("newMap \"m\": refused"), "{}", logs.dump());
    g.stop().unwrap();

    // The map count: 1 + 4 maps over a limit of 3.
    let many = bpf_from_c("many", &map_object(1, 4, 0));
    let (rt, _) = limited(|l| l.map_count = 3);
    let g = Gadget::load(&rt, ebpf_source(many, None)).unwrap();
    let e = g.start().expect_err("5 maps over a count of 3");
    assert!(e.to_string().contains("creates 5 maps"), "{e}");
    drop(g);

    // Global data sections are maps too: a 64 MiB .bss over a 16 MiB budget.
    let bss = bpf_from_c("bss", &map_object(1, 0, 64 << 20));
    let (rt, _) = limited(|l| l.map_bytes = 16 << 20);
    let g = Gadget::load(&rt, ebpf_source(bss, None)).unwrap();
    let e = g.start().expect_err("a 64 MiB .bss over 16 MiB");
    assert!(e.to_string().contains(".bss"), "{e}");
}

// ----- overall start and stop deadlines -----

#[test]
fn stop_as_a_whole_ends_at_the_stop_deadline() {
    // gadgetStop and gadgetPostStop both loop: without the overall deadline, stop would take
    // stop_timeout + call_timeout = 20 s.
    let (rt, logs) = runtime_with(LogLevel::Debug, |o| {
        o.disable_cache = true;
        o.call_timeout = Duration::from_secs(10);
        o.stop_timeout = Duration::from_secs(10);
        o.stop_deadline = Duration::from_millis(800);
    });
    let wat = format!(
        r#"(module (memory (export "memory") 1) {VERSION_1}
          (func (export "gadgetStop") (result i32) (loop $l (br $l)) (i32.const 0))
          (func (export "gadgetPostStop") (result i32) (loop $l (br $l)) (i32.const 0)))"#
    );
    let g = Gadget::load(&rt, wasm(&wat)).unwrap();
    g.start().unwrap();
    let t = Instant::now();
    let e = g.stop().expect_err("a looping gadgetStop ends in an error");
    let took = t.elapsed();
    // Generous: the deadline is 0.8 s; 4 s still proves neither 10 s deadline applied.
    assert!(took < Duration::from_secs(4), "stop took {took:?}");
    assert_eq!(e.code, ErrorCode::Timeout, "{e}");
    assert!(e.to_string().contains("stop exceeded its overall deadline of 800ms"), "{e}\n{}", logs.dump());
    assert_eq!(g.state(), gadgetrt::State::Stopped);
}

#[test]
fn stop_deadline_skips_gadget_post_stop_once_passed() {
    // gadgetStop loops until the overall deadline; gadgetPostStop would record that it ran.
    let (rt, _) = runtime_with(LogLevel::Debug, |o| {
        o.disable_cache = true;
        o.stop_deadline = Duration::from_millis(300);
    });
    let wat = format!(
        r#"(module
          (import "ig" "setConfig" (func $set (param i64 i64 i32) (result i32)))
          (memory (export "memory") 1) (data (i32.const 16) "ranyes") {VERSION_1}
          (func (export "gadgetStop") (result i32) (loop $l (br $l)) (i32.const 0))
          (func (export "gadgetPostStop") (result i32)
            (drop (call $set (i64.const {k}) (i64.const {v}) (i32.const 12))) (i32.const 0)))"#,
        k = bp(16, 3),
        v = bp(19, 3)
    );
    // Control: with a gadgetStop that returns, gadgetPostStop runs and records it.
    let quick = wat.replace("(loop $l (br $l)) (i32.const 0))\n          (func (export \"gadgetPostStop\")", "(i32.const 0))\n          (func (export \"gadgetPostStop\")");
    assert_ne!(quick, wat);
    let g = Gadget::load(&rt, wasm(&quick)).unwrap();
    g.start().unwrap();
    g.stop().unwrap();
    assert_eq!(g.config("ran").as_deref(), Some("yes"));
    let g = Gadget::load(&rt, wasm(&wat)).unwrap();
    g.start().unwrap();
    let e = g.stop().unwrap_err();
    assert!(e.to_string().contains("gadgetStop interrupted: stop exceeded its overall deadline"), "{e}");
    assert_eq!(g.config("ran"), None, "gadgetPostStop must not run after the stop deadline");
}

#[test]
fn start_as_a_whole_ends_at_the_start_deadline() {
    // gadgetPreStart and gadgetStart each stay inside the 10 s call deadline, but start as a
    // whole has 0.8 s: a looping gadgetStart is interrupted at it.
    let (rt, _) = runtime_with(LogLevel::Debug, |o| {
        o.disable_cache = true;
        o.call_timeout = Duration::from_secs(10);
        o.start_deadline = Duration::from_millis(800);
    });
    let wat = format!(
        r#"(module (memory (export "memory") 1) {VERSION_1}
          (func (export "gadgetStart") (result i32) (loop $l (br $l)) (i32.const 0)))"#
    );
    let g = Gadget::load(&rt, wasm(&wat)).unwrap();
    let t = Instant::now();
    let e = g.start().expect_err("start must end at its deadline");
    assert!(t.elapsed() < Duration::from_secs(4), "start took {:?}", t.elapsed());
    assert_eq!(e.code, ErrorCode::Timeout, "{e}");
    assert!(e.to_string().contains("start exceeded its overall deadline of 800ms"), "{e}");
    assert_eq!(g.state(), gadgetrt::State::Failed);
}

#[test]
fn start_deadline_covers_the_sum_of_its_guest_calls() {
    if !is_root() {
        eprintln!("skipped: needs root (BPF maps)");
        return;
    }
    // gadgetPreStart and gadgetStart each block in perfReaderRead until the 700 ms call
    // deadline (the read returns 2 and the call succeeds): each call is within its deadline,
    // together they exceed the 1 s start deadline, and gadgetStart's read ends at it.
    let (rt, logs) = runtime_with(LogLevel::Debug, |o| {
        o.disable_cache = true;
        o.call_timeout = Duration::from_millis(700);
        o.start_deadline = Duration::from_millis(1000);
    });
    let read = format!(
        "(drop (call $read (call $perf (call $new (i64.const {m}) (i32.const 4) (i32.const 4) (i32.const 4) (i32.const 0)) (i32.const 4096) (i32.const 0)) (i64.const {dst})))",
        m = bp(16, 1),
        dst = bp(1024, 4096)
    );
    let wat = format!(
        r#"(module
          (import "ig" "newMap" (func $new (param i64 i32 i32 i32 i32) (result i32)))
          (import "ig" "newPerfReader" (func $perf (param i32 i32 i32) (result i32)))
          (import "ig" "perfReaderRead" (func $read (param i32 i64) (result i32)))
          (memory (export "memory") 1) (data (i32.const 16) "p") {VERSION_1}
          (func (export "gadgetPreStart") (result i32) {read} (i32.const 0))
          (func (export "gadgetStart") (result i32) {read} (i32.const 0)))"#
    );
    let g = Gadget::load(&rt, wasm(&wat)).unwrap();
    let t = Instant::now();
    let e = g.start().expect_err("start exceeds its overall deadline");
    let took = t.elapsed();
    assert!(took < Duration::from_secs(3), "start took {took:?}");
    // Not before the deadline: the second read was cut at it, not at its own 700 ms.
    assert!(took >= Duration::from_millis(950), "start took {took:?}");
    assert_eq!(e.code, ErrorCode::Timeout, "{e}\n{}", logs.dump());
    assert!(e.to_string().contains("start exceeded its overall deadline of 1s (after gadgetStart)"), "{e}");
}

#[test]
fn c_api_start_and_stop_deadlines() {
    use gadgetrt::ffi::error::{grt_error_code, grt_error_free};
    use gadgetrt::ffi::gadget::{grt_gadget_free, grt_gadget_load_bytes, grt_gadget_start, grt_gadget_stop};
    use gadgetrt::ffi::runtime::{grt_runtime_free, grt_runtime_new, grt_runtime_options};
    // SAFETY: a zeroed options struct is the C initialiser plus `size`.
    let mut o: grt_runtime_options = unsafe { std::mem::zeroed() };
    o.size = std::mem::size_of::<grt_runtime_options>();
    o.disable_cache = 1;
    o.start_deadline_ms = 500;
    o.stop_deadline_ms = 500;
    let w = wat::parse_str(looping("gadgetStart")).unwrap();
    let ws = wat::parse_str(looping("gadgetStop")).unwrap();
    // SAFETY: valid pointers for the duration of the calls.
    unsafe {
        let mut rt = std::ptr::null();
        assert!(grt_runtime_new(&o, &mut rt).is_null());
        for (bytes, stop) in [(&w, false), (&ws, true)] {
            let mut g = std::ptr::null();
            assert!(grt_gadget_load_bytes(rt, "g".as_ptr() as _, 1, bytes.as_ptr(), bytes.len(), &mut g).is_null());
            let t = Instant::now();
            let e = if stop {
                assert!(grt_gadget_start(g).is_null());
                grt_gadget_stop(g)
            } else {
                grt_gadget_start(g)
            };
            assert!(!e.is_null());
            assert_eq!(grt_error_code(e), ErrorCode::Timeout as u32);
            assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
            grt_error_free(e);
            grt_gadget_free(g);
        }
        grt_runtime_free(rt);
    }
}

// ----- inputs the fuzz targets (fuzz/) found -----

/// eBPF objects that crashed the analysis (a `.bss` section claiming an enormous size was
/// materialised as zeros: capacity overflow / out-of-memory abort) are now errors or analyse fine.
#[test]
fn fuzz_found_objects_do_not_crash_the_analysis() {
    let dir = repo().join("tests/fixtures/fuzz");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("elf") {
            continue;
        }
        let elf = std::fs::read(&p).unwrap();
        let r = std::panic::catch_unwind(|| gadgetrt::ebpf::object::analyze(&elf).map(|_| ()));
        assert!(r.is_ok(), "{}: analysis panicked", p.display());
        // Through the public path too: opening a gadget with this object.
        let (rt, _) = limited(|_| {});
        let src = GadgetSource { name: "fuzzed".into(), ebpf: Some(elf), ..Default::default() };
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Gadget::open(&rt, src).map(|_| ())));
        assert!(r.is_ok(), "{}: open panicked", p.display());
        n += 1;
    }
    assert!(n >= 2, "fixtures missing in {}", dir.display());
}
