//! ABI edge cases no guest SDK produces, written in WAT.

mod common;

use std::time::{Duration, Instant};

use common::*;
use gadgetrt::datasource::{kind, Value, TYPE_SINGLE};
use gadgetrt::{ErrorCode, Gadget, GadgetSource, LogLevel};

fn wasm(wat: &str) -> GadgetSource {
    GadgetSource::from_wasm("wat", wat::parse_str(wat).expect("valid wat"))
}

/// `(len << 32) | addr` as an i64 constant for WAT.
fn bp(addr: u32, len: u32) -> i64 {
    ((len as i64) << 32) | addr as i64
}

const VERSION_1: &str = r#"(func (export "gadgetAPIVersion") (result i64) i64.const 1)"#;

#[test]
fn wrong_api_version_is_rejected() {
    let (rt, _) = runtime();
    let src = wasm(r#"(module (memory (export "memory") 1) (func (export "gadgetAPIVersion") (result i64) i64.const 2))"#);
    let e = Gadget::load(&rt, src).err().unwrap();
    assert_eq!(e.code, ErrorCode::Abi);
    assert_eq!(e.message, "unsupported gadget API version: 2, expected: 1");
}

#[test]
fn missing_api_version_is_rejected() {
    let (rt, _) = runtime();
    let e = Gadget::load(&rt, wasm(r#"(module (memory (export "memory") 1))"#)).err().unwrap();
    assert_eq!(e.code, ErrorCode::Abi);
    assert!(e.message.contains("doesn't export gadgetAPIVersion"), "{e}");
}

#[test]
fn trapping_gadget_init_names_the_export_and_the_trap() {
    let (rt, _) = runtime();
    let src = wasm(&format!(r#"(module (memory (export "memory") 1) {VERSION_1} (func (export "gadgetInit") (result i32) unreachable))"#));
    let e = Gadget::load(&rt, src).err().unwrap();
    assert_eq!(e.code, ErrorCode::Guest);
    assert!(e.message.contains("gadgetInit trapped"), "{e}");
    assert!(e.message.contains("unreachable"), "{e}");
}

#[test]
fn nonzero_lifecycle_result_is_an_error() {
    let (rt, _) = runtime();
    let src = wasm(&format!(r#"(module (memory (export "memory") 1) {VERSION_1} (func (export "gadgetStart") (result i32) i32.const 7))"#));
    let g = Gadget::load(&rt, src).unwrap();
    let e = g.start().unwrap_err();
    assert_eq!(e.code, ErrorCode::Guest);
    assert_eq!(e.message, "gadgetStart failed: returned 7");
}

#[test]
fn import_with_wrong_signature_is_a_clear_load_error() {
    let (rt, _) = runtime();
    let src = wasm(&format!(r#"(module (import "ig" "gadgetLog" (func (param i32))) (memory (export "memory") 1) {VERSION_1})"#));
    let e = Gadget::load(&rt, src).err().unwrap();
    assert_eq!(e.code, ErrorCode::WasmLoad);
    assert!(e.message.contains("gadgetLog"), "{e}");
    let src = wasm(&format!(r#"(module (import "ig" "malloc" (func (param i32) (result i32))) (memory (export "memory") 1) {VERSION_1})"#));
    let e = Gadget::load(&rt, src).err().unwrap();
    assert!(e.message.contains("malloc"), "{e}");
}

#[test]
fn memory_cap_is_enforced() {
    let (rt, _) = runtime_with(LogLevel::Info, |o| o.memory_pages = 16);
    let e = Gadget::load(&rt, wasm(&format!(r#"(module (memory (export "memory") 17) {VERSION_1})"#))).err().unwrap();
    assert_eq!(e.code, ErrorCode::WasmLoad, "{e}");
    // memory.grow beyond the cap fails inside the guest (returns -1) instead of growing.
    let src = wasm(&format!(
        r#"(module (memory (export "memory") 15) {VERSION_1}
            (func (export "gadgetInit") (result i32) (i32.ne (memory.grow (i32.const 2)) (i32.const -1))))"#
    ));
    Gadget::load(&rt, src).unwrap();
}

/// A guest subscribing to host data source "in" whose callback body is `body`.
fn callback_guest(body: &str) -> String {
    format!(
        r#"(module
          (import "ig" "getDataSource" (func $get (param i64) (result i32)))
          (import "ig" "dataSourceSubscribe" (func $sub (param i32 i32 i32 i64) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "in")
          {VERSION_1}
          (func (export "gadgetInit") (result i32)
            (call $sub (call $get (i64.const {in_bp})) (i32.const 1) (i32.const 0) (i64.const 9)))
          (func (export "dataSourceCallback") (param i64 i32 i32) {body}))"#,
        in_bp = bp(16, 2)
    )
}

#[test]
fn endless_loop_in_callback_cannot_hold_stop() {
    let (rt, logs) = runtime_with(LogLevel::Debug, |o| o.call_timeout = Duration::from_secs(30));
    let g = Gadget::open(&rt, wasm(&callback_guest("(loop $l (br $l))"))).unwrap();
    g.add_datasource("in", TYPE_SINGLE).unwrap();
    g.add_field("in", "x", kind::UINT32).unwrap();
    g.init().unwrap();
    g.start().unwrap();
    let g = std::sync::Arc::new(g);
    let g2 = g.clone();
    let emitter = std::thread::spawn(move || {
        let p = g2.new_packet("in").unwrap();
        g2.emit(p).unwrap();
    });
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    g.stop().unwrap();
    assert!(t.elapsed() < Duration::from_secs(3), "stop took {:?}", t.elapsed());
    emitter.join().unwrap();
    assert_eq!(g.stats().guest_traps, 1, "{}", logs.dump());
    assert!(logs.at(LogLevel::Warn, "interrupted"), "{}", logs.dump());
}

#[test]
fn callback_deadline_traps_a_looping_guest() {
    let (rt, logs) = runtime_with(LogLevel::Debug, |o| o.call_timeout = Duration::from_millis(200));
    let g = Gadget::open(&rt, wasm(&callback_guest("(loop $l (br $l))"))).unwrap();
    g.add_datasource("in", TYPE_SINGLE).unwrap();
    g.init().unwrap();
    let c = collect(&g, "in", 10);
    g.start().unwrap();
    let t = Instant::now();
    g.emit(g.new_packet("in").unwrap()).unwrap();
    assert!(t.elapsed() < Duration::from_secs(2));
    // D4: the event continues down the chain to the embedder.
    g.consume().unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(g.stats().guest_traps, 1);
    assert!(logs.at(LogLevel::Warn, "deadline"), "{}", logs.dump());
    g.stop().unwrap();
}

#[test]
fn trapping_callback_is_logged_counted_and_event_continues() {
    let (rt, logs) = runtime();
    let g = Gadget::open(&rt, wasm(&callback_guest("unreachable"))).unwrap();
    g.add_datasource("in", TYPE_SINGLE).unwrap();
    g.init().unwrap();
    let c = collect(&g, "in", 10);
    g.start().unwrap();
    for _ in 0..3 {
        g.emit(g.new_packet("in").unwrap()).unwrap();
    }
    g.consume().unwrap();
    assert_eq!(c.len(), 3);
    assert_eq!(g.stats().guest_traps, 3);
    assert!(logs.at(LogLevel::Warn, "unreachable"), "{}", logs.dump());
    g.stop().unwrap();
}

/// D3: a guest emitting, from its own callback, into a data source it subscribes to.
#[test]
fn reentrant_emit_does_not_deadlock() {
    let (rt, logs) = runtime();
    let wat = format!(
        r#"(module
          (import "ig" "newDataSource" (func $new (param i64 i32) (result i32)))
          (import "ig" "dataSourceAddField" (func $add (param i32 i64 i32) (result i32)))
          (import "ig" "dataSourceSubscribe" (func $sub (param i32 i32 i32 i64) (result i32)))
          (import "ig" "dataSourceNewPacketSingle" (func $pkt (param i32) (result i32)))
          (import "ig" "dataSourceEmitAndRelease" (func $emit (param i32 i32) (result i32)))
          (import "ig" "fieldSet" (func $set (param i32 i32 i32 i64) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "loop")
          (data (i32.const 32) "n")
          (global $ds (mut i32) (i32.const 0))
          (global $f (mut i32) (i32.const 0))
          (global $count (mut i32) (i32.const 0))
          {VERSION_1}
          (func (export "gadgetInit") (result i32)
            (global.set $ds (call $new (i64.const {loop_bp}) (i32.const 1)))
            (global.set $f (call $add (global.get $ds) (i64.const {n_bp}) (i32.const 8)))
            (call $sub (global.get $ds) (i32.const 1) (i32.const 0) (i64.const 1)))
          (func (export "dataSourceCallback") (param i64 i32 i32) (local $p i32)
            (if (i32.lt_u (global.get $count) (i32.const 3))
              (then
                (global.set $count (i32.add (global.get $count) (i32.const 1)))
                (local.set $p (call $pkt (global.get $ds)))
                (drop (call $set (global.get $f) (local.get $p) (i32.const 8) (i64.extend_i32_u (global.get $count))))
                (if (call $emit (global.get $ds) (local.get $p)) (then unreachable))))))"#,
        loop_bp = bp(16, 4),
        n_bp = bp(32, 1)
    );
    let g = Gadget::load(&rt, wasm(&wat)).unwrap();
    let c = collect(&g, "loop", 10);
    g.start().unwrap();
    let f = g.schema("loop").unwrap().field_index("n").unwrap();
    let mut p = g.new_packet("loop").unwrap();
    p.set_u64(0, f, 100).unwrap();
    g.emit(p).unwrap();
    g.consume().unwrap();
    g.stop().unwrap();
    assert_eq!(c.len(), 4, "{}", logs.dump());
    let got: Vec<u64> = (0..4)
        .map(|i| match value(&c.get(i), 0, "n") {
            Value::Uint(x) => x,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, vec![100, 1, 2, 3]);
    assert_eq!(g.stats().guest_traps, 0);
}

#[test]
fn data_source_callback_with_wrong_signature_is_rejected() {
    let (rt, _) = runtime();
    let src = wasm(&format!(r#"(module (memory (export "memory") 1) {VERSION_1} (func (export "dataSourceCallback") (param i32)))"#));
    let e = Gadget::load(&rt, src).err().unwrap();
    assert_eq!(e.code, ErrorCode::Abi);
    assert!(e.message.contains("dataSourceCallback"), "{e}");
}

#[test]
fn handles_are_reused_lowest_first_and_capped() {
    // D2: 10,000 getDataSource + releaseHandle pairs keep returning the same small handle,
    // and the 4097th live handle is refused with 0.
    let (rt, _) = runtime();
    let wat = format!(
        r#"(module
          (import "ig" "getDataSource" (func $get (param i64) (result i32)))
          (import "ig" "releaseHandle" (func $rel (param i32) (result i32)))
          (memory (export "memory") 1)
          (data (i32.const 16) "in")
          {VERSION_1}
          (func (export "gadgetInit") (result i32) (local $i i32) (local $h i32) (local $first i32)
            (local.set $first (call $get (i64.const {b})))
            (drop (call $rel (local.get $first)))
            (loop $l
              (local.set $h (call $get (i64.const {b})))
              (if (i32.ne (local.get $h) (local.get $first)) (then (return (i32.const 1))))
              (drop (call $rel (local.get $h)))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $l (i32.lt_u (local.get $i) (i32.const 10000))))
            (local.set $i (i32.const 0))
            (loop $fill
              (if (i32.eqz (call $get (i64.const {b}))) (then (return (i32.ne (local.get $i) (i32.const 4096)))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br_if $fill (i32.lt_u (local.get $i) (i32.const 5000))))
            (i32.const 2)))"#,
        b = bp(16, 2)
    );
    let g = Gadget::open(&rt, wasm(&wat)).unwrap();
    g.add_datasource("in", TYPE_SINGLE).unwrap();
    g.init().unwrap();
}
