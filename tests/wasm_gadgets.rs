//! Gadgets built with the real Inspektor Gadget Go guest library, run end to end.
//! Contracts: tests/gadgets/go/README.md.

mod common;

use std::time::Duration;

use common::*;
use gadgetrt::datasource::{kind, Value, TYPE_ARRAY, TYPE_SINGLE};
use gadgetrt::{ErrorCode, Gadget, GadgetSource, LogLevel, State};

const WAIT: Duration = Duration::from_secs(5);

#[test]
fn fields_every_kind_set_by_guest_checked_by_embedder() {
    check_fields(&go_gadget("fields"));
}

#[test]
fn rust_guest_fields_same_contract() {
    check_fields(&rust_gadget("rust_fields"));
}

fn check_fields(path: &std::path::Path) {
    let (rt, logs) = runtime();
    let g = open(&rt, path);
    g.add_datasource("myds", TYPE_SINGLE).unwrap();
    let host_field = g.add_field("myds", "host_field", kind::STRING).unwrap();
    g.add_field_tag("myds", "host_field", "host_tag").unwrap();
    let host_in = g.add_field("myds", "host_in", kind::UINT32).unwrap();
    g.init().unwrap_or_else(|e| panic!("init: {e}\n{}", logs.dump()));
    let c = collect(&g, "myds", 50000);
    g.start().unwrap();
    let mut p = g.new_packet("myds").unwrap();
    p.set_u64(0, host_in, 7).unwrap();
    let _ = host_field;
    g.emit(p).unwrap();
    poll_until(&g, &c, 1, WAIT);
    g.stop().unwrap();
    assert_eq!(c.len(), 1, "logs:\n{}", logs.dump());
    let e = c.get(0);
    let expect: &[(&str, u32, &str)] = &[
        ("field_bool", kind::BOOL, "tag_bool"),
        ("field_int8", kind::INT8, "tag_int8"),
        ("field_int16", kind::INT16, "tag_int16"),
        ("field_int32", kind::INT32, "tag_int32"),
        ("field_int64", kind::INT64, "tag_int64"),
        ("field_uint8", kind::UINT8, "tag_uint8"),
        ("field_uint16", kind::UINT16, "tag_uint16"),
        ("field_uint32", kind::UINT32, "tag_uint32"),
        ("field_uint64", kind::UINT64, "tag_uint64"),
        ("field_float32", kind::FLOAT32, "tag_float32"),
        ("field_float64", kind::FLOAT64, "tag_float64"),
        ("field_string", kind::STRING, "tag_string"),
        ("field_bytes", kind::BYTES, "tag_bytes"),
        ("host_field", kind::STRING, "host_tag"),
        ("field_echo", kind::UINT32, "tag_echo"),
    ];
    for (name, k, tag) in expect {
        let f = &e.schema.fields[e.schema.field_index(name).unwrap_or_else(|| panic!("{name} missing"))];
        assert_eq!(f.kind, *k, "{name} kind");
        assert!(f.tags.iter().any(|t| t == tag), "{name} lacks tag {tag}: {:?}", f.tags);
    }
    assert_eq!(value(&e, 0, "field_bool"), Value::Bool(true));
    assert_eq!(value(&e, 0, "field_int8"), Value::Int(-123));
    assert_eq!(value(&e, 0, "field_int16"), Value::Int(-25647));
    assert_eq!(value(&e, 0, "field_int32"), Value::Int(-535245564));
    assert_eq!(value(&e, 0, "field_int64"), Value::Int(-1234567890));
    assert_eq!(value(&e, 0, "field_uint8"), Value::Uint(56));
    assert_eq!(value(&e, 0, "field_uint16"), Value::Uint(12345));
    assert_eq!(value(&e, 0, "field_uint32"), Value::Uint(1234567890));
    assert_eq!(value(&e, 0, "field_uint64"), Value::Uint(1234567890123456));
    assert_eq!(value(&e, 0, "field_float32"), Value::Float(3.14159f32 as f64));
    assert_eq!(value(&e, 0, "field_float64"), Value::Float(3.14159265359));
    assert_eq!(value(&e, 0, "field_string"), Value::Str(b"Hello, World!"));
    assert_eq!(value(&e, 0, "field_bytes"), Value::Bytes(&[1, 2, 3, 4, 5]));
    assert_eq!(value(&e, 0, "host_field"), Value::Str(b"LOCALHOST"));
    assert_eq!(value(&e, 0, "field_echo"), Value::Uint(21));
    assert_eq!(value(&e, 0, "host_in"), Value::Uint(7));
    assert_eq!(g.stats().delivered, 1);
    assert_eq!(g.stats().guest_traps, 0, "{}", logs.dump());
}

#[test]
fn dataarray_guest_edits_and_appends_elements() {
    check_dataarray(&go_gadget("dataarray"));
}

#[test]
fn rust_guest_dataarray_same_contract() {
    check_dataarray(&rust_gadget("rust_dataarray"));
}

#[test]
fn rust_guest_params_and_config() {
    let (rt, logs) = runtime();
    let dir = rust_gadget("rust_params_config").with_extension("");
    let g = Gadget::load(&rt, GadgetSource::from_path(&dir, None).unwrap()).unwrap();
    g.set_param("param-key", "param-value").unwrap();
    g.start().unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    assert_eq!(g.config("rust.answer").as_deref(), Some("42"));
    g.stop().unwrap();
    let g = Gadget::load(&rt, GadgetSource::from_path(&dir, None).unwrap()).unwrap();
    g.set_param("param-key", "wrong").unwrap();
    assert_eq!(g.start().unwrap_err().code, ErrorCode::Guest);
    assert_eq!(g.config("rust.answer"), None);
}

fn check_dataarray(path: &std::path::Path) {
    let (rt, logs) = runtime();
    let g = open(&rt, path);
    g.add_datasource("myds", TYPE_ARRAY).unwrap();
    let foo = g.add_field("myds", "foo", kind::UINT32).unwrap();
    g.init().unwrap_or_else(|e| panic!("init: {e}\n{}", logs.dump()));
    let c = collect(&g, "myds", 50000);
    g.start().unwrap();
    let mut p = g.new_packet("myds").unwrap();
    for _ in 0..10 {
        let i = p.append().unwrap();
        p.set_u64(i, foo, 424143).unwrap();
    }
    g.emit(p).unwrap();
    poll_until(&g, &c, 1, WAIT);
    g.stop().unwrap();
    assert_eq!(c.len(), 1, "{}", logs.dump());
    let e = c.get(0);
    assert!(e.is_array());
    assert_eq!(e.len(), 15, "{}", logs.dump());
    for i in 0..15 {
        assert_eq!(value(&e, i, "foo"), Value::Uint(424143 * i as u64), "element {i}");
    }
    let j: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
    assert_eq!(j.as_array().unwrap().len(), 15);
    assert_eq!(j[3]["foo"], 424143 * 3);
}

#[test]
fn dataemit_guest_creates_datasource_and_reemits_subset() {
    let (rt, logs) = runtime();
    let g = open(&rt, &go_gadget("dataemit"));
    g.add_datasource("old_ds", TYPE_ARRAY).unwrap();
    let foo = g.add_field("old_ds", "foo", kind::UINT32).unwrap();
    g.init().unwrap_or_else(|e| panic!("init: {e}\n{}", logs.dump()));
    let names: Vec<String> = g.datasources().iter().map(|s| s.name.clone()).collect();
    assert!(names.contains(&"new_ds".to_string()), "{names:?}");
    let c = collect(&g, "new_ds", 50000);
    g.start().unwrap();
    let mut p = g.new_packet("old_ds").unwrap();
    for v in [1u64, 2] {
        let i = p.append().unwrap();
        p.set_u64(i, foo, v).unwrap();
    }
    g.emit(p).unwrap();
    poll_until(&g, &c, 1, WAIT);
    std::thread::sleep(Duration::from_millis(50));
    g.consume().unwrap();
    g.stop().unwrap();
    assert_eq!(c.len(), 1, "{}", logs.dump());
    assert_eq!(value(&c.get(0), 0, "bar"), Value::Uint(10));
}

fn params_dir() -> std::path::PathBuf {
    let d = repo().join("tests/gadgets/out/params-gadget");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(go_gadget("params"), d.join("program.wasm")).unwrap();
    std::fs::copy(repo().join("tests/gadgets/go/params/gadget.yaml"), d.join("gadget.yaml")).unwrap();
    d
}

#[test]
fn params_declared_in_metadata_reach_the_guest() {
    let (rt, logs) = runtime();
    let g = Gadget::load(&rt, GadgetSource::from_path(&params_dir(), None).unwrap()).unwrap();
    let decl = g.params().into_iter().find(|p| p.key == "param-key").expect("declared");
    assert_eq!(decl.description, "param-description");
    assert_eq!(decl.default_value, "param-default-value");
    assert_eq!(decl.type_hint, "param-type-hint");
    assert_eq!(decl.title, "param-title");
    assert_eq!(decl.alias, "param-alias");
    assert!(decl.mandatory);
    assert_eq!(g.set_param("no-such-param", "x").unwrap_err().code, ErrorCode::Param);
    g.set_param("param-key", "param-value").unwrap();
    assert_eq!(g.get_param("param-key").unwrap(), "param-value");
    g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
    g.stop().unwrap();

    // The default value is not what the guest expects: gadgetStart fails and says so.
    let g = Gadget::load(&rt, GadgetSource::from_path(&params_dir(), None).unwrap()).unwrap();
    let e = g.start().unwrap_err();
    assert_eq!(e.code, ErrorCode::Guest);
    assert!(e.message.contains("gadgetStart"), "{e}");
    assert_eq!(g.state(), State::Failed);
}

#[test]
fn config_set_by_guest_is_readable_by_embedder() {
    let (rt, logs) = runtime();
    let g = Gadget::load(&rt, GadgetSource::from_path(&go_gadget("config"), None).unwrap())
        .unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    assert_eq!(g.config("foo.bar.zas").as_deref(), Some("myvalue"));
    assert_eq!(g.config("foo.bar").as_deref(), Some(r#"{"zas":"myvalue"}"#));
    assert_eq!(g.config("nope"), None);
}

#[test]
fn syscall_names_ids_and_declarations() {
    ensure_tracefs();
    let (rt, logs) = runtime();
    let r = Gadget::load(&rt, GadgetSource::from_path(&go_gadget("syscall"), None).unwrap());
    assert!(r.is_ok(), "{}\n{}", r.err().unwrap(), logs.dump());
}

#[test]
fn kallsyms_lookup() {
    let (rt, logs) = runtime();
    let r = Gadget::load(&rt, GadgetSource::from_path(&go_gadget("kallsyms"), None).unwrap());
    assert!(r.is_ok(), "{}\n{}", r.err().unwrap(), logs.dump());
}

#[test]
fn mntns_filtering_follows_embedder_set() {
    let (rt, _logs) = runtime();
    let g = Gadget::load(&rt, GadgetSource::from_path(&go_gadget("filtering"), None).unwrap()).unwrap();
    g.set_mntns_filter(Some(&[777]));
    g.start().unwrap();
    g.stop().unwrap();
    // Without a filter nothing is discarded, so the guest's check of 555 fails.
    let g = Gadget::load(&rt, GadgetSource::from_path(&go_gadget("filtering"), None).unwrap()).unwrap();
    assert_eq!(g.start().unwrap_err().code, ErrorCode::Guest);
}

#[test]
fn badguest_gets_every_documented_error_value() {
    let (rt, logs) = runtime();
    let r = Gadget::load(&rt, GadgetSource::from_path(&go_gadget("badguest"), None).unwrap());
    assert!(r.is_ok(), "{}\n{}", r.err().unwrap(), logs.dump());
    assert!(!logs.contains("check failed"), "{}", logs.dump());
    // The bad calls were reported as warnings, not crashes.
    assert!(logs.at(LogLevel::Warn, "not found"), "{}", logs.dump());
    ensure_tracefs();
    let r = Gadget::load(&rt, GadgetSource::from_path(&go_gadget("badguest_env"), None).unwrap());
    assert!(r.is_ok(), "{}\n{}", r.err().unwrap(), logs.dump());
}

#[test]
fn baderrptr_fails_load_cleanly() {
    let (rt, logs) = runtime();
    let e = Gadget::load(&rt, GadgetSource::from_path(&go_gadget("baderrptr"), None).unwrap()).err().expect("must fail");
    assert_eq!(e.code, ErrorCode::Guest);
    assert!(e.message.contains("gadgetInit") && e.message.contains("errPtr"), "{e}");
    assert!(!logs.contains("should never be reached"), "{}", logs.dump());
}

#[test]
fn guest_log_levels_and_wasi_output() {
    let (rt, logs) = runtime_with(LogLevel::Trace, |_| {});
    Gadget::load(&rt, GadgetSource::from_path(&go_gadget("logging"), None).unwrap()).unwrap();
    for (lvl, text) in [
        (LogLevel::Error, "level-error-42"),
        (LogLevel::Warn, "level-warn-42"),
        (LogLevel::Info, "level-info-42"),
        (LogLevel::Debug, "level-debug-42"),
        (LogLevel::Trace, "level-trace-42"),
        (LogLevel::Debug, "stdout-line"),
        (LogLevel::Debug, "stderr-line"),
    ] {
        assert!(logs.at(lvl, text), "{text} at {lvl:?}\n{}", logs.dump());
    }
    let (rt, logs) = runtime_with(LogLevel::Info, |_| {});
    Gadget::load(&rt, GadgetSource::from_path(&go_gadget("logging"), None).unwrap()).unwrap();
    assert!(logs.contains("level-info-42"));
    assert!(!logs.contains("level-debug-42") && !logs.contains("stdout-line"), "{}", logs.dump());
}

#[test]
fn demo_emits_from_gadget_start() {
    let (rt, _logs) = runtime();
    let g = Gadget::load(&rt, GadgetSource::from_path(&go_gadget("demo"), None).unwrap()).unwrap();
    let c = collect(&g, "ticks", 0);
    g.start().unwrap();
    poll_until(&g, &c, 5, WAIT);
    g.stop().unwrap();
    assert_eq!(c.len(), 5);
    for i in 0..5 {
        let e = c.get(i);
        assert_eq!(value(&e, 0, "seq"), Value::Uint(i as u64 + 1));
        // IG JSON: keys sorted.
        assert_eq!(e.to_json(), format!(r#"{{"message":"hello from wasm #{}","seq":{}}}"#, i + 1, i + 1));
    }
}

#[test]
fn bench_guest_transforms_host_events() {
    let (rt, logs) = runtime();
    let g = open(&rt, &go_gadget("bench"));
    g.add_datasource("bench", TYPE_SINGLE).unwrap();
    let fin = g.add_field("bench", "in", kind::UINT64).unwrap();
    g.add_field("bench", "out", kind::UINT64).unwrap();
    g.init().unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    let c = collect(&g, "bench", 100);
    g.start().unwrap();
    for v in 0..1000u64 {
        let mut p = g.new_packet("bench").unwrap();
        p.set_u64(0, fin, v * 3).unwrap();
        g.emit(p).unwrap();
    }
    poll_until(&g, &c, 1000, WAIT);
    g.stop().unwrap();
    assert_eq!(c.len(), 1000);
    for i in [0usize, 1, 500, 999] {
        assert_eq!(value(&c.get(i), 0, "out"), Value::Uint(i as u64 * 3 + 1));
    }
}

#[test]
fn queue_overflow_is_counted_not_silent() {
    let (rt, _logs) = runtime_with(LogLevel::Info, |o| o.queue_capacity = 3);
    let g = Gadget::load(&rt, GadgetSource::from_path(&go_gadget("demo"), None).unwrap()).unwrap();
    let c = collect(&g, "ticks", 0);
    g.start().unwrap();
    g.stop().unwrap();
    g.consume().unwrap();
    assert_eq!(c.len(), 3);
    let s = g.stats();
    assert_eq!(s.dropped_queue_full, 2);
    assert_eq!(s.delivered, 3);
}
