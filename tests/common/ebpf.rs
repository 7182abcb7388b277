//! Helpers for the eBPF integration tests (tests/ebpf_gadgets.rs): the root check, building the
//! test eBPF objects, assembling directory gadgets (program.bpf.o + program.wasm), and a
//! runtime whose log sink performs real write(2) syscalls.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use gadgetrt::{Gadget, GadgetSource, LogLevel, Runtime, RuntimeOptions};

use crate::common::{self, Logs};

/// These tests load eBPF programs: they must run as root. Failing (not skipping) keeps a CI
/// run that lost its privileges from passing silently.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    assert_eq!(
        euid, 0,
        "the eBPF integration tests must run as root (euid is {euid}); \
         run them with sudo, e.g. `sudo -E cargo test --release --test ebpf_gadgets`"
    );
    common::ensure_tracefs();
}

/// Builds tests/bpf/*.bpf.c once (idempotent script) and returns the path of `<name>.bpf.o`.
pub fn bpf_obj(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bpf");
        let st = std::process::Command::new("bash")
            .arg(common::repo().join("tests/bpf/build.sh"))
            .arg(&out)
            .status()
            .expect("running tests/bpf/build.sh");
        assert!(st.success(), "tests/bpf/build.sh failed");
        out
    });
    let p = dir.join(format!("{name}.bpf.o"));
    assert!(p.exists(), "{} missing", p.display());
    p
}

/// Assembles a directory gadget `<tmp>/ebpf-gadgets/<label>` holding `program.bpf.o` (from
/// tests/bpf), optionally `program.wasm` (a Go test gadget) and `gadget.yaml`.
pub fn gadget_dir(label: &str, bpf: &str, go_wasm: Option<&str>, yaml: Option<&str>) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ebpf-gadgets").join(label);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(bpf_obj(bpf), dir.join("program.bpf.o")).unwrap();
    if let Some(w) = go_wasm {
        std::fs::copy(common::go_gadget(w), dir.join("program.wasm")).unwrap();
    }
    if let Some(y) = yaml {
        std::fs::write(dir.join("gadget.yaml"), y).unwrap();
    }
    dir
}

/// Opens (without initializing) a directory gadget.
pub fn open_dir(rt: &Runtime, dir: &Path) -> Gadget {
    let src = GadgetSource::from_path(dir, None).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    assert!(src.ebpf.is_some(), "{}: no eBPF object read", dir.display());
    Gadget::open(rt, src).unwrap_or_else(|e| panic!("opening {}: {e}", dir.display()))
}

/// A runtime (debug level, logs recorded) whose log sink also does one write(2) to /dev/null
/// per line, so that guest log lines fire tracepoints on sys_enter_write (IG's `perf` test
/// relies on its logger writing to stderr).
pub fn runtime_writing_logs() -> (Runtime, Logs) {
    let devnull = Arc::new(std::fs::OpenOptions::new().write(true).open("/dev/null").unwrap());
    common::runtime_with(LogLevel::Debug, move |o: &mut RuntimeOptions| {
        let inner = o.log.take().expect("recording sink");
        o.log = Some(Arc::new(move |lvl, g: &str, msg: &str| {
            use std::io::Write;
            let _ = (&*devnull).write(msg.as_bytes());
            inner(lvl, g, msg)
        }));
    })
}

/// A unique path under /tmp for this test process.
pub fn unique_path(tag: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    PathBuf::from(format!(
        "/tmp/gadgetrt-test-{}-{nanos}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// openat(2) on `path` (created if missing); the file is closed at once.
pub fn touch(path: &Path) {
    std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
}

/// Background thread doing write(2) on /dev/null until the guard is dropped.
pub struct Writer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u64>>,
}

impl Writer {
    pub fn start() -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let thread = std::thread::spawn(move || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().write(true).open("/dev/null").unwrap();
            let mut n = 0u64;
            while !s2.load(Ordering::Relaxed) {
                let _ = f.write(b"x");
                n += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
            n
        });
        Writer { stop, thread: Some(thread) }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Deletes a file when dropped.
pub struct TempFile(pub PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Polls `g` until `pred` holds or `timeout` passes; returns whether it held.
pub fn poll_for(g: &Gadget, timeout: Duration, mut pred: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if pred() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        g.poll(Some(Duration::from_millis(20))).expect("poll");
    }
}
