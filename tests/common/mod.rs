//! Shared helpers for the integration tests: building the test gadgets once, a runtime that
//! records logs, and event collection.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use gadgetrt::{Event, Gadget, GadgetSource, LogLevel, Runtime, RuntimeOptions};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run_build(script: &str, out: &Path) {
    let st = std::process::Command::new("bash").arg(repo().join(script)).arg(out).status().expect("running build script");
    assert!(st.success(), "{script} failed");
}

/// Builds the Go test gadgets (idempotent) and returns the path of `<name>.wasm`.
pub fn go_gadget(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let out = repo().join("tests/gadgets/out/go");
        run_build("tests/gadgets/go/build.sh", &out);
        out
    });
    let p = dir.join(format!("{name}.wasm"));
    assert!(p.exists(), "{} missing", p.display());
    p
}

/// Builds the Rust test guests (idempotent) and returns the path of `<name>.wasm`.
pub fn rust_gadget(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let out = repo().join("tests/gadgets/out/rust");
        run_build("tests/gadgets/rust/build.sh", &out);
        out
    });
    dir.join(format!("{name}.wasm"))
}

/// Log lines recorded by a test runtime: (level, message).
#[derive(Clone, Default)]
pub struct Logs(pub Arc<Mutex<Vec<(LogLevel, String)>>>);

impl Logs {
    pub fn contains(&self, needle: &str) -> bool {
        self.0.lock().unwrap().iter().any(|(_, m)| m.contains(needle))
    }
    pub fn at(&self, level: LogLevel, needle: &str) -> bool {
        self.0.lock().unwrap().iter().any(|(l, m)| *l == level && m.contains(needle))
    }
    pub fn dump(&self) -> String {
        self.0.lock().unwrap().iter().map(|(l, m)| format!("{}: {m}\n", l.name())).collect()
    }
}

pub fn runtime_with(level: LogLevel, f: impl FnOnce(&mut RuntimeOptions)) -> (Runtime, Logs) {
    let logs = Logs::default();
    let l2 = logs.clone();
    let mut o = RuntimeOptions {
        log_level: level,
        log: Some(Arc::new(move |lvl, _g: &str, msg: &str| l2.0.lock().unwrap().push((lvl, msg.to_string())))),
        ..Default::default()
    };
    if let Ok(d) = std::env::var("GADGETRT_TEST_CACHE_DIR") {
        o.cache_dir = Some(d.into());
    }
    f(&mut o);
    (Runtime::new(o).expect("runtime"), logs)
}

pub fn runtime() -> (Runtime, Logs) {
    runtime_with(LogLevel::Debug, |_| {})
}

pub fn open(rt: &Runtime, path: &Path) -> Gadget {
    Gadget::open(rt, GadgetSource::from_path(path, None).expect("source")).expect("open")
}

/// Events collected by an embedder subscription.
#[derive(Clone, Default)]
pub struct Collected(pub Arc<Mutex<Vec<Event>>>);

impl Collected {
    pub fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    pub fn get(&self, i: usize) -> Event {
        self.0.lock().unwrap()[i].clone()
    }
}

pub fn collect(g: &Gadget, ds: &str, prio: i32) -> Collected {
    let c = Collected::default();
    let c2 = c.clone();
    g.subscribe(ds, prio, Box::new(move |e: &Event| {
        c2.0.lock().unwrap().push(e.clone());
        0
    }))
    .expect("subscribe");
    c
}

/// Polls until `n` events were collected or `timeout` passed.
pub fn poll_until(g: &Gadget, c: &Collected, n: usize, timeout: Duration) {
    let deadline = std::time::Instant::now() + timeout;
    while c.len() < n && std::time::Instant::now() < deadline {
        g.poll(Some(Duration::from_millis(20))).expect("poll");
    }
}

/// Reads a field of record `elem` by name as a typed value.
pub fn value<'a>(e: &'a Event, elem: usize, name: &str) -> gadgetrt::datasource::Value<'a> {
    let i = e.schema.field_index(name).unwrap_or_else(|| panic!("field {name} missing"));
    gadgetrt::datasource::read_value(e.record(elem).expect("record"), &e.schema.fields[i])
}

/// Mounts tracefs at /sys/kernel/tracing if it is not there (needs root).
pub fn ensure_tracefs() {
    if !Path::new("/sys/kernel/tracing/events").exists() {
        let _ = std::process::Command::new("mount").args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"]).status();
    }
}
