//! IG's `ustack` operator end to end, with a real eBPF program of our own:
//! tests/bpf/ustack.bpf.c (a `sys_enter_openat` tracepoint emitting a `struct gadget_user_stack`
//! filled by our tests/bpf/include/gadget/user_stack_map.h) runs as a directory gadget, and a
//! small C program built here (`cc -O0 -g`, with symbols and a GNU build id) does the openat
//! from a function named `grt_ustack_probe_fn`. The trigger blocks on stdin before and after
//! the openat, so it is alive while the operator symbolises its stack.
//!
//! Needs root (eBPF).

mod common;
#[path = "common/ebpf.rs"]
mod ebpf_common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use common::*;
use ebpf_common::*;
use gadgetrt::datasource::Value;
use gadgetrt::{Event, LogLevel};

const WAIT: Duration = Duration::from_secs(10);

/// The trigger: waits for one byte on stdin, does openat(argv[1]) from `grt_ustack_probe_fn`
/// (called from `grt_ustack_open_and_wait`, in the main thread or, with argv[2] `thread`, in a
/// second thread), prints "opened", then waits for EOF on stdin.
///
/// The syscall is made from `grt_ustack_probe_fn` itself (inline `syscall`/`svc`): the kernel
/// unwinds user stacks with frame pointers, and a libc `open()` wrapper without a frame of its
/// own would hide its caller's frame (the chain jumps from libc's ip to the caller's return
/// address; glibc's `open` even reuses %rbp, leaving garbage frames). Here frame 0 is in
/// `grt_ustack_probe_fn`, then come `grt_ustack_open_and_wait`, `main` (or libc's thread start)
/// and libc.
const TRIGGER_C: &str = r#"
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

__attribute__((noinline)) long grt_ustack_probe_fn(const char *path)
{
	long ret;
#if defined(__x86_64__)
	register long r10 __asm__("r10") = 0;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"((long)SYS_openat), "D"((long)AT_FDCWD), "S"(path),
			   "d"((long)O_RDONLY), "r"(r10)
			 : "rcx", "r11", "memory");
#elif defined(__aarch64__)
	register long x0 __asm__("x0") = AT_FDCWD;
	register long x1 __asm__("x1") = (long)path;
	register long x2 __asm__("x2") = O_RDONLY;
	register long x3 __asm__("x3") = 0;
	register long x8 __asm__("x8") = SYS_openat;
	__asm__ volatile("svc #0" : "+r"(x0) : "r"(x1), "r"(x2), "r"(x3), "r"(x8) : "memory");
	ret = x0;
#else
	ret = open(path, O_RDONLY);
#endif
	return ret;
}

/* Opens path, reports, then stays alive (this thread too) until stdin is closed. */
__attribute__((noinline)) static void *grt_ustack_open_and_wait(void *path)
{
	long fd = grt_ustack_probe_fn(path);
	char c;

	if (fd >= 0)
		close((int)fd);
	printf("opened %ld\n", fd);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return NULL;
}

/* argv[1]: the path to open; argv[2] == "thread": open it from a second thread. */
int main(int argc, char **argv)
{
	pthread_t t;
	char c;

	if (argc < 2)
		return 2;
	alarm(120); /* never outlive a broken test */
	if (read(0, &c, 1) != 1)
		return 3;
	if (argc > 2 && strcmp(argv[2], "thread") == 0) {
		if (pthread_create(&t, NULL, grt_ustack_open_and_wait, argv[1]) != 0 ||
		    pthread_join(t, NULL) != 0)
			return 4;
	} else {
		grt_ustack_open_and_wait(argv[1]);
	}
	return 0;
}
"#;

/// Name of the trigger binary (and so the event's `proc.comm`).
const TRIGGER_NAME: &str = "grt-ustack-trg";

fn work_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ustack_gadget");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `cc -O0 -g -fno-omit-frame-pointer -Wl,--build-id=sha1` of [`TRIGGER_C`].
fn trigger() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = work_dir();
        let src = dir.join("trigger.c");
        std::fs::write(&src, TRIGGER_C).unwrap();
        let bin = dir.join(TRIGGER_NAME);
        let tmp = dir.join(format!("{TRIGGER_NAME}.tmp"));
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let st = Command::new(&cc)
            .args(["-O0", "-g", "-fno-omit-frame-pointer", "-Wall", "-Wl,--build-id=sha1", "-pthread", "-o"])
            .arg(&tmp)
            .arg(&src)
            .status()
            .unwrap_or_else(|e| panic!("running {cc}: {e}"));
        assert!(st.success(), "building {TRIGGER_NAME} failed");
        // Rename into place: a running copy from an earlier test is never overwritten.
        std::fs::rename(&tmp, &bin).unwrap();
        bin
    })
}

/// The GNU build id of an ELF file, as lowercase hex.
fn gnu_build_id(path: &Path) -> String {
    use object::Object;
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let f = object::File::parse(&*data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let id = f.build_id().unwrap().unwrap_or_else(|| panic!("{}: no GNU build id", path.display()));
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// One file-backed mapping of `/proc/<pid>/maps`.
#[derive(Debug, Clone)]
struct Mapping {
    start: u64,
    end: u64,
    perms: String,
    offset: u64,
    path: String,
}

fn maps_of(pid: u32) -> Vec<Mapping> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap();
    text.lines()
        .filter_map(|l| {
            let p: Vec<&str> = l.split_whitespace().collect();
            if p.len() < 6 || !p[5].starts_with('/') {
                return None;
            }
            let (s, e) = p[0].split_once('-')?;
            Some(Mapping {
                start: u64::from_str_radix(s, 16).ok()?,
                end: u64::from_str_radix(e, 16).ok()?,
                perms: p[1].to_string(),
                offset: u64::from_str_radix(p[2], 16).ok()?,
                path: p[5..].join(" "),
            })
        })
        .collect()
}

fn mapping_for(maps: &[Mapping], addr: u64) -> Option<&Mapping> {
    maps.iter().find(|m| m.start <= addr && addr < m.end)
}

/// The trigger, started and blocked on stdin.
struct Trigger {
    child: Child,
    stdout: BufReader<std::process::ChildStdout>,
}

impl Trigger {
    fn spawn(path: &Path, thread: bool) -> Trigger {
        let mut child = Command::new(trigger())
            .arg(path)
            .args(thread.then_some("thread"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawning the trigger");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Trigger { child, stdout }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Lets the trigger do its openat and waits until it did.
    fn fire(&mut self) {
        self.child.stdin.as_mut().unwrap().write_all(b"g").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert!(line.starts_with("opened "), "trigger said {line:?}");
    }

    /// Closes stdin (the trigger exits) and reaps it.
    fn finish(mut self) {
        drop(self.child.stdin.take());
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest);
        let st = self.child.wait().unwrap();
        assert!(st.success(), "trigger exited with {st}");
    }
}

impl Drop for Trigger {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn str_value(e: &Event, name: &str) -> String {
    match value(e, 0, name) {
        Value::Str(s) => String::from_utf8_lossy(s).into_owned(),
        v => panic!("{name} is {v:?}"),
    }
}

/// Splits IG's `a; b; c; ` list format, checking the trailing `"; "`.
fn frames(s: &str, what: &str) -> Vec<String> {
    if s.is_empty() {
        return Vec::new();
    }
    let body = s.strip_suffix("; ").unwrap_or_else(|| panic!("{what} {s:?} does not end in \"; \""));
    body.split("; ").map(str::to_string).collect()
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What one run saw: the event (after every operator), the trigger's maps and pid.
struct Run {
    event: Event,
    maps: Vec<Mapping>,
    pid: u32,
    /// The thread that did the openat (== pid unless the run used a second thread).
    tid: u32,
    logs: Logs,
}

/// Runs the ustack gadget with `params`, fires one trigger and returns its open event (the
/// trigger stays alive until the event was received, i.e. after the ustack operator ran).
fn run(label: &str, params: &[(&str, &str)]) -> Run {
    run_in(label, params, false)
}

/// [`run`], with the openat made from a second thread of the trigger when `thread`.
fn run_in(label: &str, params: &[(&str, &str)], thread: bool) -> Run {
    require_root();
    let (rt, logs) = runtime();
    let dir = gadget_dir(label, "ustack", None, None);
    let g = open_dir(&rt, &dir);
    g.init().unwrap_or_else(|e| panic!("init: {e}\n{}", logs.dump()));

    let path = unique_path(label);
    let mut trig = Trigger::spawn(&path, thread);
    let pid = trig.pid();
    g.set_param("pid", &pid.to_string()).unwrap();
    for (k, v) in params {
        g.set_param(k, v).unwrap_or_else(|e| panic!("set_param {k}={v}: {e}"));
    }
    let c = collect(&g, "open", 50000);
    g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
    trig.fire();
    let p = path.to_str().unwrap().to_string();
    let find = |c: &Collected| {
        c.0.lock().unwrap().iter().find(|e| str_value(e, "fname") == p).cloned()
    };
    assert!(poll_for(&g, WAIT, || find(&c).is_some()), "no open event for {p} within {WAIT:?}\n{}", logs.dump());
    let event = find(&c).unwrap();
    let maps = maps_of(pid);
    eprintln!("[{label}] {}", event.to_json());
    g.stop().unwrap();
    trig.finish();
    let tid = match value(&event, 0, "proc.tid") {
        Value::Uint(t) => t as u32,
        v => panic!("proc.tid is {v:?}"),
    };
    assert_eq!(value(&event, 0, "proc.pid"), Value::Uint(pid as u64));
    assert_eq!(tid != pid, thread, "tid {tid}, pid {pid}");
    Run { event, maps, pid, tid, logs }
}

/// Checks the schema side: the struct and all its sub-fields (the BPF members and the three
/// added strings) are hidden, not in the default columns, and JSON nests them under "ustack".
fn check_schema_and_output(r: &Run) {
    let e = &r.event;
    let s = &e.schema;
    let root = s.field_index("ustack").expect("ustack field");
    assert!(s.fields[root].tags.iter().any(|t| t == "type:gadget_user_stack"), "{:?}", s.fields[root].tags);
    let sub: Vec<&str> = s
        .fields
        .iter()
        .filter(|f| f.name.starts_with("ustack."))
        .map(|f| f.name.as_str())
        .collect();
    for n in [
        "major", "minor", "inode", "mtime_sec", "mtime_nsec", "base_addr_hash", "stack_id", "tgid_level0",
        "pid_level0", "pidns_level0", "pid_level1", "pidns_level1", "boot_timestamp", "addresses", "buildid",
        "symbols",
    ] {
        let full = format!("ustack.{n}");
        assert!(sub.contains(&full.as_str()), "{full} missing from {sub:?}");
    }
    for f in s.fields.iter().filter(|f| f.name == "ustack" || f.name.starts_with("ustack.")) {
        assert!(f.hidden, "{} is not hidden", f.name);
    }
    for n in ["addresses", "buildid", "symbols"] {
        let f = &s.fields[s.field_index(&format!("ustack.{n}")).unwrap()];
        assert_eq!(f.kind, gadgetrt::datasource::kind::STRING, "ustack.{n}: kind");
        assert_eq!(f.parent, Some(root), "ustack.{n}: parent");
        assert!(f.tags.iter().any(|t| t == "operator:ustack"), "ustack.{n}: {:?}", f.tags);
    }
    let header = e.columns_header(None).unwrap();
    assert!(!header.to_lowercase().contains("ustack") && !header.contains("SYMBOLS"), "default columns: {header}");
    assert!(header.contains("FNAME"), "default columns: {header}");
    // Asked for explicitly, the hidden sub-field is a column.
    let h = e.columns_header(Some("ustack.symbols")).unwrap();
    assert!(h.contains("SYMBOLS"), "--fields ustack.symbols header: {h}");

    let j: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
    let u = &j["ustack"];
    assert!(u.is_object(), "ustack not nested: {j}");
    for n in ["addresses", "buildid", "symbols"] {
        assert_eq!(u[n], str_value(e, &format!("ustack.{n}")).as_str(), "json ustack.{n}: {j}");
    }
    assert!(j.get("ustack.symbols").is_none() && j.get("symbols").is_none(), "{j}");
    assert_eq!(j["proc"]["comm"], TRIGGER_NAME, "{j}");
}

/// Checks `addresses` and `symbols` for a run with user stacks on; returns the addresses.
fn check_stack(r: &Run) -> Vec<u64> {
    let e = &r.event;
    let addresses = str_value(e, "ustack.addresses");
    let symbols = str_value(e, "ustack.symbols");
    let ctx = format!("addresses {addresses:?}\nsymbols {symbols:?}\nlogs:\n{}", r.logs.dump());

    // The BPF members describe the trigger.
    assert_eq!(value(e, 0, "ustack.tgid_level0"), Value::Uint(r.pid as u64), "{ctx}");
    assert_eq!(value(e, 0, "ustack.pid_level0"), Value::Uint(r.tid as u64), "{ctx}");
    let md = std::fs::metadata(trigger()).unwrap();
    {
        use std::os::unix::fs::MetadataExt;
        assert_eq!(value(e, 0, "ustack.inode"), Value::Uint(md.ino()), "{ctx}");
        assert_eq!(value(e, 0, "ustack.mtime_sec"), Value::Uint(md.mtime() as u64), "{ctx}");
        assert_eq!(value(e, 0, "ustack.mtime_nsec"), Value::Uint(md.mtime_nsec() as u64), "{ctx}");
        assert_eq!(value(e, 0, "ustack.major"), Value::Uint(libc::major(md.dev()) as u64), "{ctx}");
        assert_eq!(value(e, 0, "ustack.minor"), Value::Uint(libc::minor(md.dev()) as u64), "{ctx}");
    }
    let pidns = std::fs::metadata(format!("/proc/{}/ns/pid", std::process::id()));
    if let Ok(ns) = pidns {
        use std::os::unix::fs::MetadataExt;
        let l0 = value(e, 0, "ustack.pidns_level0");
        let l1 = value(e, 0, "ustack.pidns_level1");
        assert!(l0 == Value::Uint(ns.ino()) || l1 == Value::Uint(ns.ino()), "pidns {} not in {l0:?}/{l1:?}", ns.ino());
    }

    // addresses: `0x%016x; ` per frame.
    let addrs = frames(&addresses, "addresses");
    assert!(!addrs.is_empty(), "no frames\n{ctx}");
    let addrs: Vec<u64> = addrs
        .iter()
        .map(|a| {
            let h = a.strip_prefix("0x").unwrap_or_else(|| panic!("address {a:?} without 0x\n{ctx}"));
            assert!(h.len() == 16 && is_hex(h), "address {a:?} is not 0x%016x\n{ctx}");
            u64::from_str_radix(h, 16).unwrap()
        })
        .collect();

    // symbols: one entry per address; the trigger's own frames by name, others as 0x%x.
    let syms = frames(&symbols, "symbols");
    assert_eq!(syms.len(), addrs.len(), "one symbol per address\n{ctx}");
    assert_eq!(syms[0], "grt_ustack_probe_fn", "frame 0 is the function doing the syscall\n{ctx}");
    assert!(symbols.contains("grt_ustack_probe_fn; "), "{ctx}");
    assert_eq!(syms.get(1).map(String::as_str), Some("grt_ustack_open_and_wait"), "frame 1\n{ctx}");
    if r.tid == r.pid {
        assert_eq!(syms.get(2).map(String::as_str), Some("main"), "frame 2\n{ctx}");
    }
    let exe = std::fs::canonicalize(trigger()).unwrap();
    let exe = exe.to_str().unwrap();
    let mut shared = 0;
    for (a, s) in addrs.iter().zip(&syms) {
        match mapping_for(&r.maps, *a) {
            Some(m) if m.path == exe => {
                assert!(!s.starts_with("0x"), "frame {a:#x} in the executable not symbolised: {s}\n{ctx}")
            }
            m => {
                if m.is_some() {
                    shared += 1;
                }
                assert_eq!(*s, format!("0x{a:x}"), "frame {a:#x} outside the executable ({m:?})\n{ctx}");
            }
        }
    }
    assert!(shared >= 1, "no shared-library frame (expected libc's __libc_start_call_main)\n{ctx}\nmaps {:?}", r.maps);
    addrs
}

#[test]
fn ustack_off_leaves_all_strings_empty() {
    let r = run("ustack_off", &[]);
    check_schema_and_output(&r);
    for n in ["addresses", "buildid", "symbols"] {
        assert_eq!(str_value(&r.event, &format!("ustack.{n}")), "", "ustack.{n}\n{}", r.logs.dump());
    }
    assert_eq!(value(&r.event, 0, "ustack.inode"), Value::Uint(0));
    assert_eq!(value(&r.event, 0, "ustack.stack_id"), Value::Uint(0));

    // Explicitly false: the same.
    let r = run("ustack_off_explicit", &[("collect-ustack", "false"), ("collect-build-id", "true")]);
    for n in ["addresses", "buildid", "symbols"] {
        assert_eq!(str_value(&r.event, &format!("ustack.{n}")), "", "ustack.{n}\n{}", r.logs.dump());
    }
    assert!(!r.logs.at(LogLevel::Warn, ""), "warnings:\n{}", r.logs.dump());
}

#[test]
fn ustack_addresses_and_symbols() {
    let r = run("ustack_on", &[("collect-ustack", "true")]);
    check_schema_and_output(&r);
    check_stack(&r);
    // Build ids were not collected: no entry in ig_build_id, no text.
    assert_eq!(str_value(&r.event, "ustack.buildid"), "", "{}", r.logs.dump());
    assert!(!r.logs.at(LogLevel::Warn, ""), "warnings:\n{}", r.logs.dump());
}

#[test]
fn ustack_build_ids() {
    let r = run("ustack_buildid", &[("collect-ustack", "true"), ("collect-build-id", "true")]);
    check_schema_and_output(&r);
    let addrs = check_stack(&r);
    let buildid = str_value(&r.event, "ustack.buildid");
    let ctx = format!("buildid {buildid:?}\naddresses {:?}\nlogs:\n{}", str_value(&r.event, "ustack.addresses"), r.logs.dump());
    let entries = frames(&buildid, "buildid");
    assert!(!entries.is_empty() && entries.len() <= addrs.len(), "{ctx}");

    let exe_id = gnu_build_id(trigger());
    assert_eq!(exe_id.len(), 40, "{exe_id}");
    let mut valid = 0;
    for (i, (ent, a)) in entries.iter().zip(&addrs).enumerate() {
        match ent.split_once(" +") {
            Some((id, off)) => {
                // BPF_STACK_BUILD_ID_VALID: 40 hex digits + file offset.
                assert!(id.len() == 40 && is_hex(id), "entry {i} {ent:?}\n{ctx}");
                assert!(is_hex(off), "entry {i} {ent:?}\n{ctx}");
                let off = u64::from_str_radix(off, 16).unwrap();
                valid += 1;
                if let Some(m) = mapping_for(&r.maps, *a) {
                    assert_eq!(off, a - m.start + m.offset, "entry {i} {ent:?}: file offset of {a:#x} in {m:?}\n{ctx}");
                    assert_eq!(id, gnu_build_id(Path::new(&m.path)), "entry {i}: build id of {}\n{ctx}", m.path);
                }
            }
            // BPF_STACK_BUILD_ID_IP: the address in hex, without 0x.
            None => assert!(is_hex(ent) && u64::from_str_radix(ent, 16).unwrap() == *a, "entry {i} {ent:?}\n{ctx}"),
        }
    }
    assert!(valid >= 1, "{ctx}");
    let first = &entries[0];
    assert!(first.starts_with(&format!("{exe_id} +")), "frame 0 must carry the trigger's build id {exe_id}\n{ctx}");
    assert!(buildid.contains(&format!("{exe_id} +")), "{ctx}");
    let m0 = mapping_for(&r.maps, addrs[0]);
    assert!(m0.is_some_and(|m| m.perms.contains('x')), "frame 0 {:#x} not in an executable mapping: {m0:?}\n{ctx}", addrs[0]);
    assert!(!r.logs.at(LogLevel::Warn, ""), "warnings:\n{}", r.logs.dump());
}

#[test]
fn ustack_from_a_second_thread() {
    // pid_level0 is the thread's id: the symbolizer reads /proc/<tid>/exe and maps.
    let r = run_in("ustack_thread", &[("collect-ustack", "true"), ("collect-build-id", "true")], true);
    check_schema_and_output(&r);
    check_stack(&r);
    let exe_id = gnu_build_id(trigger());
    let buildid = str_value(&r.event, "ustack.buildid");
    assert!(buildid.starts_with(&format!("{exe_id} +")), "buildid {buildid:?}\n{}", r.logs.dump());
    assert!(!r.logs.at(LogLevel::Warn, ""), "warnings:\n{}", r.logs.dump());
}
