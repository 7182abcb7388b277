//! The `ig` import surface under a small budget: a guest generated from the ABI's import
//! table interprets the fuzz input as a script of import calls with arbitrary arguments
//! (bytes, 32/64-bit values, edge values, buffer pointers inside/at the edge of memory,
//! handles returned by earlier calls) in gadgetInit, gadgetPreStart, gadgetStart,
//! dataSourceCallback, gadgetStop and gadgetPostStop. Checks: no crash, no host memory
//! beyond libFuzzer's RSS limit, every call returns within its deadline (libFuzzer's
//! -timeout), and no file descriptors are left behind once gadgets are dropped.
#![no_main]

#[path = "common.rs"]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use gadgetrt::{Gadget, GadgetSource, Limits, Runtime, RuntimeOptions};
use libfuzzer_sys::fuzz_target;

/// The 41 imports of module `ig` (../shared/spec/wasm-abi.md §0): name, params, result.
const IMPORTS: &[(&str, &str, &str)] = &[
    ("gadgetLog", "i32 i64", ""),
    ("gadgetShouldLog", "i32", "i32"),
    ("newDataSource", "i64 i32", "i32"),
    ("getDataSource", "i64", "i32"),
    ("dataSourceSubscribe", "i32 i32 i32 i64", "i32"),
    ("dataSourceGetField", "i32 i64", "i32"),
    ("dataSourceAddField", "i32 i64 i32", "i32"),
    ("dataSourceNewPacketSingle", "i32", "i32"),
    ("dataSourceNewPacketArray", "i32", "i32"),
    ("dataSourceEmitAndRelease", "i32 i32", "i32"),
    ("dataSourceRelease", "i32 i32", "i32"),
    ("dataSourceUnreference", "i32", "i32"),
    ("dataSourceIsReferenced", "i32", "i32"),
    ("dataArrayNew", "i32", "i32"),
    ("dataArrayAppend", "i32 i32", "i32"),
    ("dataArrayRelease", "i32 i32", "i32"),
    ("dataArrayLen", "i32", "i32"),
    ("dataArrayGet", "i32 i32", "i32"),
    ("fieldGetScalar", "i32 i32 i32 i32", "i64"),
    ("fieldGetBuffer", "i32 i32 i32 i64", "i32"),
    ("fieldSet", "i32 i32 i32 i64", "i32"),
    ("fieldAddTag", "i32 i64", "i32"),
    ("getParamValue", "i64 i64", "i32"),
    ("setConfig", "i64 i64 i32", "i32"),
    ("newMap", "i64 i32 i32 i32 i32", "i32"),
    ("getMap", "i64", "i32"),
    ("mapLookup", "i32 i64 i64", "i32"),
    ("mapUpdate", "i32 i64 i64 i64", "i32"),
    ("mapDelete", "i32 i64", "i32"),
    ("mapRelease", "i32", "i32"),
    ("releaseHandle", "i32", "i32"),
    ("getSyscallName", "i32 i64", "i32"),
    ("getSyscallID", "i64", "i32"),
    ("getSyscallDeclaration", "i64 i64", "i32"),
    ("newPerfReader", "i32 i32 i32", "i32"),
    ("perfReaderPause", "i32", "i32"),
    ("perfReaderResume", "i32", "i32"),
    ("perfReaderRead", "i32 i64", "i32"),
    ("perfReaderClose", "i32", "i32"),
    ("kallsymsSymbolExists", "i64", "i32"),
    ("shouldDiscardMntnsID", "i64", "i32"),
];

/// Memory: scratch 0..0xF000, result slots 0xF000..0xF040, the script as the hex param at
/// 0x10000 (NUL-terminated), decoded to 0x18000 (up to 0x3fff bytes), 2 pages in all.
fn guest_wat() -> String {
    let mut w = String::from("(module\n");
    for (i, (name, params, result)) in IMPORTS.iter().enumerate() {
        let r = if result.is_empty() { String::new() } else { format!("(result {result})") };
        w += &format!("  (import \"ig\" \"{name}\" (func $i{i} (param {params}) {r}))\n");
    }
    w += r#"
  (memory (export "memory") 2)
  (global $pc (mut i32) (i32.const 0))
  (global $slot (mut i32) (i32.const 0))
  (data (i32.const 0x10) "script")
  (global $end (mut i32) (i32.const 0))
  (global $eof (mut i32) (i32.const 0))
  (func $byte (result i32)
    (if (i32.ge_u (global.get $pc) (global.get $end)) (then (global.set $eof (i32.const 1)) (return (i32.const 0))))
    (global.set $pc (i32.add (global.get $pc) (i32.const 1)))
    (i32.load8_u (i32.add (i32.const 0x18000) (i32.sub (global.get $pc) (i32.const 1)))))
  (func $nib (param $c i32) (result i32)
    (i32.and (select (i32.sub (local.get $c) (i32.const 0x30)) (i32.sub (local.get $c) (i32.const 0x57))
                     (i32.lt_u (local.get $c) (i32.const 0x61))) (i32.const 15)))
  ;; The param is the script in hex (at 0x10000, NUL-terminated): decode it to 0x18000.
  (func $load (local $i i32) (local $c i32)
    (drop (call $i22 (i64.const 0x600000010) (i64.const 0x800000010000)))
    (loop $l
      (local.set $c (i32.load8_u (i32.add (i32.const 0x10000) (i32.shl (local.get $i) (i32.const 1)))))
      (if (local.get $c) (then
        (i32.store8 (i32.add (i32.const 0x18000) (local.get $i))
          (i32.or (i32.shl (call $nib (local.get $c)) (i32.const 4))
                  (call $nib (i32.load8_u (i32.add (i32.const 0x10001) (i32.shl (local.get $i) (i32.const 1)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 0x4000))))))
    (global.set $end (local.get $i)))
  (func $u32 (result i64)
    (i64.extend_i32_u (i32.or (i32.or (call $byte) (i32.shl (call $byte) (i32.const 8)))
                              (i32.or (i32.shl (call $byte) (i32.const 16)) (i32.shl (call $byte) (i32.const 24))))))
  (func $edge (param $k i32) (result i64)
    (block $d (block $7 (block $6 (block $5 (block $4 (block $3 (block $2 (block $1 (block $0
      (br_table $0 $1 $2 $3 $4 $5 $6 $7 $d (i32.and (local.get $k) (i32.const 7))))
      (return (i64.const -1)))
      (return (i64.const 0x7fffffff)))
      (return (i64.const 0x80000000)))
      (return (i64.const 0xffffffff)))
      (return (i64.const 0x7fffffffffffffff)))
      (return (i64.const 0x8000000000000000)))
      (return (i64.const 0x100000000)))
      (return (i64.const 0xffffffff00000000)))
    (i64.const 0))
  (func $arg (result i64) (local $m i32)
    (local.set $m (call $byte))
    (block $d (block $7 (block $6 (block $5 (block $4 (block $3 (block $2 (block $1 (block $0
      (br_table $0 $1 $2 $3 $4 $5 $6 $7 $d (i32.and (local.get $m) (i32.const 7))))
      ;; 0: a byte (handles, kinds, small sizes)
      (return (i64.extend_i32_u (call $byte))))
      ;; 1: 32 bits
      (return (call $u32)))
      ;; 2: 64 bits
      (return (i64.or (call $u32) (i64.shl (call $u32) (i64.const 32)))))
      ;; 3: a buffer in scratch memory
      (return (i64.or (i64.extend_i32_u (i32.shl (call $byte) (i32.const 8)))
                      (i64.shl (i64.extend_i32_u (i32.shl (call $byte) (i32.const 4))) (i64.const 32)))))
      ;; 4: the result of an earlier call
      (return (i64.load (i32.add (i32.const 0xF000) (i32.shl (i32.and (call $byte) (i32.const 7)) (i32.const 3))))))
      ;; 5: an edge value
      (return (call $edge (call $byte))))
      ;; 6: a string from the script itself: length byte, then the string
      (local.set $m (call $byte))
      (global.set $pc (i32.add (global.get $pc) (local.get $m)))
      (return (i64.or (i64.extend_i32_u (i32.sub (i32.add (i32.const 0x18000) (global.get $pc)) (local.get $m)))
                      (i64.shl (i64.extend_i32_u (local.get $m)) (i64.const 32)))))
      ;; 7: a buffer at the end of memory (partly out of bounds)
      (return (i64.or (i64.extend_i32_u (i32.add (i32.const 0x1FF00) (call $byte)))
                      (i64.shl (i64.extend_i32_u (call $byte)) (i64.const 32)))))
    (i64.const 0))
  (func $keep (param $v i64)
    (i64.store (i32.add (i32.const 0xF000) (i32.shl (global.get $slot) (i32.const 3))) (local.get $v))
    (global.set $slot (i32.and (i32.add (global.get $slot) (i32.const 1)) (i32.const 7))))
    ;; op 0x7e: copy n script bytes into scratch memory at byte*256
  (func $copy (local $dst i32) (local $n i32)
    (local.set $dst (i32.shl (call $byte) (i32.const 8)))
    (local.set $n (call $byte))
    (loop $l
      (if (local.get $n) (then
        (i32.store8 (local.get $dst) (call $byte))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))))
    ;; Runs up to $max ops; 0x7f (or the end of the script) ends the phase.
  (func $run (param $max i32) (local $op i32)
    (loop $l
      (if (i32.eqz (local.get $max)) (then (return)))
      (local.set $max (i32.sub (local.get $max) (i32.const 1)))
      (local.set $op (call $byte))
      (if (i32.or (global.get $eof) (i32.eq (local.get $op) (i32.const 0x7f))) (then (return)))
      (if (i32.eq (local.get $op) (i32.const 0x7e)) (then (call $copy) (br $l)))
      (call $dispatch (i32.rem_u (local.get $op) (i32.const 41)))
      (br $l)))
"#;
    // $dispatch: one block per import.
    w += "  (func $dispatch (param $k i32)\n";
    let n = IMPORTS.len();
    for i in (0..n).rev() {
        w += &format!("    (block $c{i}\n");
        let _ = i;
    }
    w += "    (br_table";
    for i in 0..n {
        w += &format!(" $c{i}");
    }
    w += &format!(" $c0 (local.get $k))\n");
    for (i, (_, params, result)) in IMPORTS.iter().enumerate() {
        w += "    )\n";
        let args: String = params
            .split_whitespace()
            .map(|t| if t == "i32" { "(i32.wrap_i64 (call $arg))" } else { "(call $arg)" })
            .collect::<Vec<_>>()
            .join(" ");
        let call = format!("(call $i{i} {args})");
        match *result {
            "" => w += &format!("    {call} (return)\n"),
            "i32" => w += &format!("    (call $keep (i64.extend_i32_s {call})) (return)\n"),
            _ => w += &format!("    (call $keep {call}) (return)\n"),
        }
    }
    w += "  )\n";
    w += r#"
  (func (export "gadgetAPIVersion") (result i64) (i64.const 1))
  (func (export "gadgetInit") (result i32)
    (call $load) (call $run (i32.const 64)) (i32.const 0))
  (func (export "gadgetPreStart") (result i32) (call $run (i32.const 64)) (i32.const 0))
  (func (export "gadgetStart") (result i32) (call $run (i32.const 64)) (i32.const 0))
  (func (export "dataSourceCallback") (param $cb i64) (param $ds i32) (param $data i32)
    (i64.store (i32.const 0xF030) (i64.extend_i32_u (local.get $ds)))
    (i64.store (i32.const 0xF038) (i64.extend_i32_u (local.get $data)))
    (call $run (i32.const 8)))
  (func (export "gadgetStop") (result i32) (call $run (i32.const 64)) (i32.const 0))
  (func (export "gadgetPostStop") (result i32) (call $run (i32.const 64)) (i32.const 0))
)
"#;
    w
}

struct Fixture {
    rt: Runtime,
    wasm: Vec<u8>,
    fds: usize,
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut o = RuntimeOptions::default();
        o.memory_pages = 4;
        o.container_discovery = false;
        o.queue_capacity = 256;
        o.call_timeout = Duration::from_millis(100);
        o.stop_timeout = Duration::from_millis(100);
        o.start_deadline = Duration::from_millis(300);
        o.stop_deadline = Duration::from_millis(300);
        let dir = common::scratch("cache");
        let _ = std::fs::create_dir_all(&dir);
        o.cache_dir = Some(dir);
        o.limits = Limits {
            map_bytes: 8 << 20,
            map_count: 8,
            host_bytes: 4 << 20,
            field_value_bytes: 64 << 10,
            datasources: 16,
            cascade_packets: 256,
            queue_bytes: 4 << 20,
            ..Limits::default()
        };
        let rt = Runtime::new(o).expect("runtime");
        let wasm = wat::parse_str(guest_wat()).expect("generated guest");
        Fixture { rt, wasm, fds: 0 }
    })
}

static RUNS: AtomicUsize = AtomicUsize::new(0);
static BASE_FDS: AtomicUsize = AtomicUsize::new(0);

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let _ = f.fds;
    let script = hex::encode(&data[..data.len().min(0x3fff)]);
    let src = GadgetSource::from_wasm("fuzz", f.wasm.clone());
    let g = Gadget::open(&f.rt, src).expect("the generated guest compiles");
    g.set_param("script", &script).expect("wasm-only gadgets take any param");
    if g.init().is_ok() && g.start().is_ok() {
        let _ = g.poll(Some(Duration::ZERO));
        let _ = g.stop();
    }
    drop(g);
    // Nothing a guest holds outlives its gadget.
    let n = RUNS.fetch_add(1, Ordering::Relaxed);
    if n == 20 {
        BASE_FDS.store(open_fds(), Ordering::Relaxed);
    } else if n > 20 && n % 200 == 0 {
        let (base, now) = (BASE_FDS.load(Ordering::Relaxed), open_fds());
        assert!(now <= base + 32, "file descriptors grow: {base} after 20 runs, {now} after {n}");
    }
});
