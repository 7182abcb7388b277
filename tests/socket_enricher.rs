//! The socket enricher (`gadget_sockets`) with a gadget of our own: tests/gadgets/sockenr, a
//! socket filter written like IG's trace_dns/trace_sni that looks each packet up in
//! `gadget_sockets` and emits the socket owner's process, cwd and exepath.
//!
//! On this machine's kernel (no kprobes) the enricher runs in its tracepoint mode; inside the
//! VM (tests/vm_kprobes.rs) the kprobe mode is tested with the same gadget.
//! Needs root; fails (never skips) without it.

mod common;
#[path = "common/ebpf.rs"]
mod ebpf_common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use common::*;
use ebpf_common::*;
use gadgetrt::datasource::Value;
use gadgetrt::ebpf::socket_enricher::{self, Mode};
use gadgetrt::{Event, Gadget};

const WAIT: Duration = Duration::from_secs(20);
// One enricher per process: tests that look at its lifetime run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn u(e: &Event, name: &str) -> u64 {
    match value(e, 0, name) {
        Value::Uint(v) => v,
        Value::Int(v) => v as u64,
        Value::Bool(b) => b as u64,
        v => panic!("{name} is {v:?}"),
    }
}

fn s(e: &Event, name: &str) -> String {
    match value(e, 0, name) {
        Value::Str(b) => String::from_utf8_lossy(b).into_owned(),
        v => panic!("{name} is {v:?}"),
    }
}

/// A child process (python3, cwd /tmp) running `code` with the port as argv[1]; it prints
/// its local port once, then keeps sending until killed.
struct Peer {
    child: Child,
    local_port: u16,
}

impl Peer {
    fn start(code: &str, port: u16) -> Peer {
        let mut child = Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(code)
            .arg(port.to_string())
            .current_dir("/tmp")
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let local_port = line.trim().parse().unwrap_or_else(|_| panic!("peer printed {line:?}"));
        Peer { child, local_port }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const UDP_SENDER: &str = r#"
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
port = int(sys.argv[1])
s.sendto(b"gadgetrt", ("127.0.0.1", port))
print(s.getsockname()[1], flush=True)
while True:
    s.sendto(b"gadgetrt", ("127.0.0.1", port))
    time.sleep(0.05)
"#;

const TCP_CONNECTER: &str = r#"
import socket, sys, time
port = int(sys.argv[1])
first = True
while True:
    c = socket.create_connection(("127.0.0.1", port))
    if first:
        print(c.getsockname()[1], flush=True)
        first = False
    time.sleep(0.05)
    c.close()
"#;

fn start_gadget(label: &str, port: u16) -> (Gadget, Collected, Logs) {
    require_root();
    let (rt, logs) = runtime();
    let g = open_dir(&rt, &gadget_dir(label, "sockenr", None, None));
    g.init().unwrap_or_else(|e| panic!("init: {e}\n{}", logs.dump()));
    g.set_param("port", &port.to_string()).unwrap();
    let c = collect(&g, "sockenr", 50000);
    g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
    (g, c, logs)
}

fn find(c: &Collected, pred: impl Fn(&Event) -> bool) -> Option<Event> {
    c.0.lock().unwrap().iter().find(|e| pred(e)).cloned()
}

fn python_exe() -> String {
    std::fs::canonicalize("/usr/bin/python3").unwrap().to_string_lossy().into_owned()
}

#[test]
fn udp_sender_and_receiver_are_enriched_with_their_processes() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Receiver bound before the gadget starts: only the initial scan can know it.
    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rx.local_addr().unwrap().port();
    let (g, c, logs) = start_gadget("sockenr-udp", port);
    let se = socket_enricher::running().expect("the enricher runs while the gadget does");
    assert_eq!(se.mode(), Mode::detect());
    let peer = Peer::start(UDP_SENDER, port);
    let pid = peer.child.id() as u64;

    // Outgoing datagram of the sender: looked up by its source port.
    let out = |e: &Event| u(e, "ingress") == 0 && u(e, "found") == 1 && u(e, "proc.pid") == pid;
    assert!(poll_for(&g, WAIT, || find(&c, out).is_some()), "no enriched outgoing datagram of pid {pid}\n{}", logs.dump());
    let e = find(&c, out).unwrap();
    assert_eq!(s(&e, "proc.comm"), "python3");
    assert_eq!(u(&e, "proc.tid"), pid, "single-threaded sender");
    assert_eq!(u(&e, "proc.parent.pid"), std::process::id() as u64, "parent = this test");
    assert_eq!(u(&e, "proc.creds.uid"), 0);
    assert_eq!(u(&e, "proc.mntns_id"), ns_inode("mnt"));
    assert_eq!(u(&e, "netns_id"), ns_inode("net"));
    // Optional members resolved against the runtime layout (IG's default: 512 bytes each).
    assert_eq!(u(&e, "cwd_size"), 512);
    assert_eq!(u(&e, "exepath_size"), 512);
    assert_eq!(s(&e, "cwd"), "/tmp");
    assert_eq!(s(&e, "exepath"), python_exe());

    // Incoming datagram: looked up by its destination port, the receiver bound before start.
    let inc = |e: &Event| u(e, "ingress") == 1 && u(e, "found") == 1;
    assert!(poll_for(&g, WAIT, || find(&c, inc).is_some()), "no enriched incoming datagram\n{}", logs.dump());
    let e = find(&c, inc).unwrap();
    assert_eq!(u(&e, "proc.pid"), std::process::id() as u64, "receiver = this test (initial scan)");

    // The map holds both sockets, keyed as IG keys them.
    let entries = socket_enricher::entries(se.map_fd()).unwrap();
    let sender = entries.iter().find(|x| x.port == peer.local_port && x.proto == 17).expect("sender entry");
    assert_eq!((sender.pid as u64, sender.family, sender.netns as u64), (pid, 2, ns_inode("net")));
    assert_eq!(sender.deletion_timestamp, 0);
    assert!(entries.iter().any(|x| x.port == port && x.proto == 17 && x.pid == std::process::id()));

    // The sender exits: no tracepoint reports a UDP close; the next scan does not see the
    // socket and the sweep marks it released (deleted 5 s later, as IG).
    let sender_port = peer.local_port;
    drop(peer);
    se.refresh().unwrap();
    let entries = socket_enricher::entries(se.map_fd()).unwrap();
    if se.mode() == Mode::Tracepoints {
        let x = entries.iter().find(|x| x.port == sender_port && x.proto == 17).expect("entry kept for 5 s");
        assert_ne!(x.deletion_timestamp, 0, "closed UDP socket marked released");
    }
    let st = se.stats();
    assert!(st.scans >= 2 && st.sweeps >= 1 && st.errors == 0, "{st:?}");
    assert_eq!(st.dropped, 0, "map far from full");
    let live = entries.iter().find(|x| x.port == port && x.proto == 17).expect("receiver entry");
    assert_eq!(live.deletion_timestamp, 0, "the receiver is still open");
    g.stop().unwrap();
    drop(rx);
}

#[test]
fn tcp_connect_and_listener_are_enriched() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    // Listener bound and listening after the gadget started (bind/listen hooks).
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let (g, c, logs) = start_gadget("sockenr-tcp", port);
    let l = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d2 = done.clone();
    let acceptor = std::thread::spawn(move || {
        for s in l.incoming() {
            drop(s);
            if d2.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
        }
    });
    let peer = Peer::start(TCP_CONNECTER, port);
    let pid = peer.child.id() as u64;
    // Outgoing SYN/ACK segments of the connecting socket: source port = the peer's.
    let out = |e: &Event| u(e, "ingress") == 0 && u(e, "found") == 1 && u(e, "proc.pid") == pid;
    assert!(poll_for(&g, WAIT, || find(&c, out).is_some()), "no enriched TCP segment of pid {pid}\n{}", logs.dump());
    assert_eq!(s(&find(&c, out).unwrap(), "proc.comm"), "python3");
    // Segments to the listener: this process.
    let inc = |e: &Event| u(e, "ingress") == 1 && u(e, "found") == 1 && u(e, "proc.pid") == std::process::id() as u64;
    assert!(poll_for(&g, WAIT, || find(&c, inc).is_some()), "no enriched segment to the listener\n{}", logs.dump());
    drop(peer);
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = std::net::TcpStream::connect(("127.0.0.1", port)); // wakes the acceptor
    acceptor.join().unwrap();
    g.stop().unwrap();
}

#[test]
fn one_enricher_shared_by_gadgets_and_stopped_with_the_last() {
    let _s = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let held = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let held_port = held.local_addr().unwrap().port();
    let (g1, _c1, _l1) = start_gadget("sockenr-share1", 9);
    let (g2, _c2, _l2) = start_gadget("sockenr-share2", 9);
    let se = socket_enricher::running().expect("running");
    let id = map_id(&se);
    let entries = socket_enricher::entries(se.map_fd()).unwrap();
    let x = entries.iter().find(|x| x.port == held_port && x.proto == 17).expect("initial scan found the socket bound before start");
    assert_eq!(x.pid, std::process::id());
    drop(se);
    g1.stop().unwrap();
    drop(g1);
    let se = socket_enricher::running().expect("still running for the second gadget");
    assert_eq!(map_id(&se), id);
    drop(se);
    g2.stop().unwrap();
    drop(g2);
    assert!(socket_enricher::running().is_none(), "stopped with the last gadget");
}

fn map_id(se: &socket_enricher::SocketEnricher) -> u32 {
    use std::os::fd::AsFd;
    let m = gadgetrt::ebpf::maps::RawMap::from_fd(se.map_fd().as_fd().try_clone_to_owned().unwrap()).unwrap();
    m.info().id
}

fn ns_inode(ns: &str) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/self/ns/{ns}")).unwrap().ino()
}
