//! kprobe, kretprobe, fentry and fexit gadgets delivering events. The test machine's own kernel
//! has neither kprobes nor fentry, so these tests are `#[ignore]`d there: `scripts/vm.sh` boots
//! Debian's kernel under qemu (virtme-ng) and runs this compiled test binary inside it with
//! `--ignored` (`scripts/test.sh` does that; by hand: `scripts/vm.sh --tests`).
//!
//! The objects come from tests/bpf (kprobe, kretprobe, fentry, fexit; all on `do_sys_openat2`),
//! built on the host before the VM boots (CO-RE: vmlinux.h is the host's, the VM kernel
//! relocates). eBPF-only gadgets: no wasm to compile under software emulation.
//!
//! Needs root and a kernel with BTF, kprobes and BPF trampolines; without them every test
//! fails saying which one is missing (never skips).

mod common;
#[path = "common/ebpf.rs"]
mod ebpf_common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use ebpf_common::*;
use gadgetrt::datasource::Value;
use gadgetrt::{Gadget, State};

/// Generous: the VM runs under software emulation.
const WAIT: Duration = Duration::from_secs(30);
const AT_FDCWD: i64 = -100;
const ENOENT: i64 = 2;

/// Fails with a clear message unless this kernel can run the gadgets below.
fn require_vm_kernel() {
    require_root();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let release = release.trim();
    let why = |what: &str| {
        format!(
            "kernel {release}: {what}. These tests need a kernel with BTF, kprobes and fentry; \
             run them in the VM: scripts/vm.sh --tests"
        )
    };
    assert!(std::path::Path::new("/sys/kernel/btf/vmlinux").exists(), "{}", why("no /sys/kernel/btf/vmlinux"));
    assert!(
        std::path::Path::new("/sys/bus/event_source/devices/kprobe/type").exists(),
        "{}",
        why("no kprobe PMU (/sys/bus/event_source/devices/kprobe)")
    );
    let syms = std::fs::read_to_string("/proc/kallsyms").expect("/proc/kallsyms");
    assert!(
        syms.lines().any(|l| l.split_whitespace().nth(2) == Some("do_sys_openat2")),
        "{}",
        why("do_sys_openat2 is not in /proc/kallsyms")
    );
}

/// A directory gadget holding only `tests/bpf/<bpf>.bpf.o`, under the (writable) temp dir:
/// inside the VM the host's build directory may be read-only.
fn ebpf_only_gadget(label: &str, bpf: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gadgetrt-vm-{}-{label}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(bpf_obj(bpf), dir.join("program.bpf.o")).unwrap();
    dir
}

fn int(e: &gadgetrt::Event, name: &str) -> i64 {
    match value(e, 0, name) {
        Value::Uint(v) => v as i64,
        Value::Int(v) => v,
        v => panic!("{name} is {v:?}"),
    }
}

/// Starts the gadget, then opens a path that does not exist (openat(AT_FDCWD, …) fails with
/// ENOENT) until `pred` holds for an event of this process on data source `ds`.
/// Returns that event.
fn run_until(bpf: &str, ds: &str, pred: impl Fn(&gadgetrt::Event) -> bool) -> gadgetrt::Event {
    require_vm_kernel();
    let (rt, logs) = runtime();
    let g: Gadget = open_dir(&rt, &ebpf_only_gadget(bpf, bpf));
    g.init().unwrap_or_else(|e| panic!("{bpf}: init: {e}\n{}", logs.dump()));
    let c = collect(&g, ds, 0);
    g.start().unwrap_or_else(|e| panic!("{bpf}: start (load + attach): {e}\n{}", logs.dump()));
    assert_eq!(g.state(), State::Started);

    let pid = std::process::id() as i64;
    let missing = unique_path(&format!("vm-{bpf}-missing"));
    let mine = |e: &gadgetrt::Event| int(e, "pid") == pid && pred(e);
    let seen = poll_for(&g, WAIT, || {
        assert!(std::fs::File::open(&missing).is_err());
        c.0.lock().unwrap().iter().any(mine)
    });
    let total = c.len();
    let ev = c.0.lock().unwrap().iter().find(|e| mine(e)).cloned();
    g.stop().unwrap_or_else(|e| panic!("{bpf}: stop: {e}\n{}", logs.dump()));
    assert!(seen, "{bpf}: no matching event of pid {pid} within {WAIT:?} ({total} events in all)\n{}", logs.dump());
    eprintln!("{bpf}: {total} events, e.g. {}", ev.as_ref().unwrap().to_json());
    ev.unwrap()
}

#[test]
#[ignore = "needs a kernel with kprobes: run inside the VM (scripts/vm.sh --tests)"]
fn vm_kernel_has_btf_kprobes_and_trampolines() {
    require_vm_kernel();
    let probed = gadgetrt::ebpf::loader::probe_attach_types();
    for kind in ["kprobe", "kretprobe", "fentry", "fexit"] {
        let ok = probed.iter().any(|(k, ok)| *k == kind && *ok);
        assert!(ok, "the loader's probe says {kind} does not work on this kernel: {probed:?}");
    }
}

#[test]
#[ignore = "needs a kernel with kprobes: run inside the VM (scripts/vm.sh --tests)"]
fn kprobe_delivers_events() {
    run_until("kprobe", "kp", |_| true);
}

#[test]
#[ignore = "needs a kernel with kprobes: run inside the VM (scripts/vm.sh --tests)"]
fn kretprobe_delivers_return_values() {
    let e = run_until("kretprobe", "krp", |e| int(e, "ret") == -ENOENT);
    assert_eq!(int(&e, "ret"), -ENOENT);
}

#[test]
#[ignore = "needs a kernel with fentry: run inside the VM (scripts/vm.sh --tests)"]
fn fentry_delivers_events() {
    run_until("fentry", "fe", |_| true);
}

#[test]
#[ignore = "needs a kernel with fexit: run inside the VM (scripts/vm.sh --tests)"]
fn fexit_delivers_arguments_and_return_values() {
    let e = run_until("fexit", "fx", |e| int(e, "ret") == -ENOENT);
    assert_eq!(int(&e, "dfd"), AT_FDCWD, "fexit argument dfd");
    assert_eq!(int(&e, "ret"), -ENOENT);
}

/// The socket enricher's kprobe path (IG's hooks: udp_sendmsg, inet_bind, tcp_connect,
/// inet_release): a UDP datagram sent by this process on a socket created after the gadget
/// started is attributed to it by tests/gadgets/sockenr (a socket filter looking the packet
/// up in `gadget_sockets`), and closing the socket marks its entry released at once.
#[test]
#[ignore = "needs a kernel with kprobes: run inside the VM (scripts/vm.sh --tests)"]
fn socket_enricher_kprobe_path() {
    use gadgetrt::ebpf::socket_enricher::{self, Mode};
    require_vm_kernel();
    let (rt, logs) = runtime();
    let g: Gadget = open_dir(&rt, &ebpf_only_gadget("sockenr", "sockenr"));
    g.init().unwrap_or_else(|e| panic!("sockenr: init: {e}\n{}", logs.dump()));
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rx.local_addr().unwrap().port();
    g.set_param("port", &port.to_string()).unwrap();
    let c = collect(&g, "sockenr", 0);
    g.start().unwrap_or_else(|e| panic!("sockenr: start: {e}\n{}", logs.dump()));
    let se = socket_enricher::running().expect("enricher running");
    assert_eq!(se.mode(), Mode::Kprobes, "attached: {:?}", se.attachments());
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx_port = tx.local_addr().unwrap().port();
    let pid = std::process::id() as i64;
    let mine = |e: &gadgetrt::Event| int(e, "ingress") == 0 && int(e, "found") == 1 && int(e, "proc.pid") == pid;
    let seen = poll_for(&g, WAIT, || {
        tx.send_to(b"gadgetrt", ("127.0.0.1", port)).unwrap();
        c.0.lock().unwrap().iter().any(mine)
    });
    assert!(seen, "no enriched datagram of pid {pid}\n{}", logs.dump());
    // inet_release marks the entry released (deleted by the sweep 5 s later).
    drop(tx);
    let entries = socket_enricher::entries(se.map_fd()).unwrap();
    let x = entries.iter().find(|x| x.port == tx_port && x.proto == 17).expect("sender entry");
    assert_ne!(x.deletion_timestamp, 0, "inet_release kprobe marked the socket released");
    drop(se);
    g.stop().unwrap();
}
