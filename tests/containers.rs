//! Containers with a real Docker daemon: discovery through the Engine API, enrichment of
//! events with `runtime.*` fields, and container selection (`containername`, `host`)
//! through the gadget's eBPF mount-namespace filter map, updated as containers start and stop.
//!
//! Needs root (eBPF, dockerd). `scripts/docker.sh start` installs docker.io and
//! busybox-static if missing, starts dockerd (no bridge, no iptables) unless one answers on
//! /var/run/docker.sock, and imports the image `grt-busybox`. Nothing is skipped: when
//! Docker cannot start, every test fails saying why. Containers run with `--network none`
//! and are removed by each test; a dockerd started here is stopped when the test process
//! exits.

mod common;
#[path = "common/ebpf.rs"]
mod ebpf_common;

use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::*;
use ebpf_common::*;
use gadgetrt::datasource::Value;
use gadgetrt::{Event, Gadget};

const WAIT: Duration = Duration::from_secs(15);
const IMAGE: &str = "grt-busybox";

extern "C" fn stop_docker() {
    let _ = Command::new("bash").arg(repo().join("scripts/docker.sh")).arg("stop").status();
}

/// Starts Docker through scripts/docker.sh once per test process (panics with the script's
/// output when it cannot); a daemon started here is stopped at exit.
fn docker() {
    static UP: OnceLock<Result<(), String>> = OnceLock::new();
    let r = UP.get_or_init(|| {
        let out = Command::new("bash")
            .arg(repo().join("scripts/docker.sh"))
            .arg("start")
            .output()
            .map_err(|e| format!("running scripts/docker.sh: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "scripts/docker.sh start failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        if String::from_utf8_lossy(&out.stdout).contains("started") {
            // SAFETY: registering a plain extern "C" fn with atexit(3).
            unsafe { libc::atexit(stop_docker) };
        }
        Ok(())
    });
    if let Err(e) = r {
        panic!("Docker is needed for the container tests and could not start: {e}");
    }
}

fn sh(args: &[&str]) -> String {
    let out = Command::new("docker").args(args).output().expect("running docker");
    assert!(out.status.success(), "docker {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A running container, removed when dropped.
struct Ctr {
    name: String,
    id: String,
}

impl Ctr {
    /// Runs `grt-busybox` detached, with no network, opening /etc/hostname every 100 ms.
    fn run(tag: &str) -> Ctr {
        let name = format!("grt-{}-{tag}", std::process::id());
        let _ = Command::new("docker").args(["rm", "-f", &name]).output();
        let id = sh(&[
            "run", "-d", "--network", "none", "--label", "gadgetrt-test=1", "--name", &name, IMAGE, "sh", "-c",
            "while true; do cat /etc/hostname >/dev/null; sleep 0.1; done",
        ]);
        Ctr { name, id }
    }

    fn pid(&self) -> u32 {
        sh(&["inspect", "-f", "{{.State.Pid}}", &self.id]).parse().unwrap()
    }

    fn mntns(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(format!("/proc/{}/ns/mnt", self.pid())).unwrap().ino()
    }

    fn remove(&self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.id]).output();
    }
}

impl Drop for Ctr {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The inode of `pid`'s cgroup-v2 directory (what IG's `name_to_handle_at` gives on cgroup2).
fn cgroup_id(pid: u32) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let path = text.lines().find_map(|l| l.strip_prefix("0::")).expect("a cgroup v2 line").trim().to_string();
    let mount = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .into_iter()
        .find(|m| std::path::Path::new(&format!("{m}/cgroup.controllers")).exists())
        .expect("a cgroup2 mount");
    let id = std::fs::metadata(format!("{mount}{path}")).unwrap().ino();
    assert_ne!(id, 0);
    id
}

fn s(e: &Event, name: &str) -> String {
    match value(e, 0, name) {
        Value::Str(b) | Value::Bytes(b) => String::from_utf8_lossy(b).trim_end_matches('\0').to_string(),
        v => panic!("{name} is {v:?}"),
    }
}

fn u(e: &Event, name: &str) -> u64 {
    match value(e, 0, name) {
        Value::Uint(v) => v,
        Value::Int(v) => v as u64,
        v => panic!("{name} is {v:?}"),
    }
}

/// `open` events kept by `keep`, collected after every operator (priority 10000).
fn collect_if(g: &Gadget, keep: impl Fn(&Event) -> bool + Send + 'static) -> Arc<Mutex<Vec<Event>>> {
    let v = Arc::new(Mutex::new(Vec::new()));
    let v2 = v.clone();
    g.subscribe(
        "open",
        10000,
        Box::new(move |e: &Event| {
            if keep(e) {
                v2.lock().unwrap().push(e.clone());
            }
            0
        }),
    )
    .unwrap();
    v
}

fn trace_open(label: &str, params: &[(&str, &str)]) -> (Gadget, Logs) {
    let (rt, logs) = runtime();
    let g = open_dir(&rt, &gadget_dir(label, "trace_open", None, None));
    g.init().unwrap_or_else(|e| panic!("init: {e}\n{}", logs.dump()));
    for (k, v) in params {
        g.set_param(k, v).unwrap_or_else(|e| panic!("param {k}: {e}"));
    }
    (g, logs)
}

fn start(g: &Gadget, logs: &Logs) {
    g.start().unwrap_or_else(|e| panic!("start: {e}\n{}", logs.dump()));
}

fn is_hostname_open(e: &Event) -> bool {
    s(e, "fname") == "/etc/hostname"
}

fn wait_until(g: &Gadget, what: &str, mut pred: impl FnMut() -> bool) {
    assert!(poll_for(g, WAIT, &mut pred), "timed out after {WAIT:?} waiting for {what}");
}

#[test]
fn container_events_carry_runtime_fields_and_host_events_stay_empty() {
    require_root();
    docker();
    let host_path = unique_path("host-open");
    let _tmp = TempFile(host_path.clone());
    let hp = host_path.to_str().unwrap().to_string();
    let (g, logs) = trace_open("containers_enrich", &[]);
    let hp2 = hp.clone();
    let got = collect_if(&g, move |e| is_hostname_open(e) || s(e, "fname") == hp2);
    start(&g, &logs);
    // Started after the gadget: picked up from Docker's event stream.
    let c = Ctr::run("enrich");
    let find = |name: &str| got.lock().unwrap().iter().find(|e| s(e, "runtime.containerName") == name).cloned();
    wait_until(&g, "an enriched event from the container", || find(&c.name).is_some());
    touch(&host_path);
    let host = || got.lock().unwrap().iter().find(|e| s(e, "fname") == hp).cloned();
    wait_until(&g, "the host open event", || host().is_some());
    g.stop().unwrap();

    let e = find(&c.name).unwrap();
    let pid = c.pid();
    assert_eq!(s(&e, "runtime.containerId"), c.id);
    assert_eq!(s(&e, "runtime.runtimeName"), "docker");
    assert_eq!(s(&e, "runtime.containerImageName"), IMAGE);
    assert_eq!(s(&e, "runtime.containerImageDigest"), "", "an imported image has no repo digest");
    assert_eq!(u(&e, "runtime.containerPid"), pid as u64);
    assert_eq!(u(&e, "proc.mntns_id"), c.mntns(), "the event comes from the container's mount namespace");
    let started = {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(format!("/proc/{pid}")).unwrap();
        m.mtime() * 1_000_000_000 + m.mtime_nsec()
    };
    assert_eq!(u(&e, "runtime.containerStartedAt") as i64, started, "IG's containerStartedAt: mtime of /proc/<pid> in ns");
    assert_eq!(s(&e, "k8s.containerName"), "");
    let json = e.to_json();
    assert!(json.contains(&format!("\"containerName\":\"{}\"", c.name)), "{json}");

    let h = host().unwrap();
    for f in ["runtime.containerName", "runtime.containerId", "runtime.runtimeName", "runtime.containerImageName"] {
        assert_eq!(s(&h, f), "", "host event field {f}");
    }
    assert_eq!(u(&h, "runtime.containerPid"), 0);
    assert_eq!(u(&h, "runtime.containerStartedAt"), 0);
}

#[test]
fn containername_selects_one_container_in_the_kernel() {
    require_root();
    docker();
    let a = Ctr::run("sel-a");
    let b = Ctr::run("sel-b");
    let host_path = unique_path("sel-host");
    let _tmp = TempFile(host_path.clone());
    let (g, logs) = trace_open("containers_select", &[("containername", &a.name)]);
    // Everything reaching userspace is kept: the kernel must have filtered.
    let got = collect_if(&g, |_| true);
    start(&g, &logs);
    assert_eq!(g.kernel_mntns_filter(), Some(vec![a.mntns()]), "the filter map holds the selected container's mntns");
    let from = |name: &str| got.lock().unwrap().iter().filter(|e| s(e, "runtime.containerName") == name).count();
    wait_until(&g, "events from the selected container", || from(&a.name) >= 3);
    touch(&host_path);
    std::thread::sleep(Duration::from_millis(500));
    let _ = g.poll(Some(Duration::from_millis(100)));
    g.stop().unwrap();
    let all = got.lock().unwrap();
    let others: Vec<String> = all
        .iter()
        .filter(|e| s(e, "runtime.containerName") != a.name)
        .map(|e| format!("{} {} {}", s(e, "proc.comm"), s(e, "fname"), s(e, "runtime.containerName")))
        .take(5)
        .collect();
    assert!(others.is_empty(), "events from elsewhere than {}: {others:?}", a.name);
    assert!(all.iter().all(|e| u(e, "proc.mntns_id") == a.mntns()));
    drop(b);
}

#[test]
fn selection_follows_containers_that_start_and_stop() {
    require_root();
    docker();
    let name = format!("grt-{}-late", std::process::id());
    let (g, logs) = trace_open("containers_late", &[("c", &name)]);
    let got = collect_if(&g, |_| true);
    start(&g, &logs);
    assert_eq!(g.kernel_mntns_filter(), Some(vec![]), "nothing matches yet: no events at all (as ig)");
    let c = Ctr::run("late");
    assert_eq!(c.name, name);
    let mntns = c.mntns();
    wait_until(&g, "the started container in the filter map", || g.kernel_mntns_filter() == Some(vec![mntns]));
    wait_until(&g, "events from the container started after the gadget", || {
        got.lock().unwrap().iter().any(|e| s(e, "runtime.containerName") == name && s(e, "runtime.containerId") == c.id)
    });
    c.remove();
    wait_until(&g, "the stopped container dropped from the filter map", || g.kernel_mntns_filter() == Some(vec![]));
    // Events already in the ring buffer may still arrive; after that, none.
    let drain = |g: &Gadget, ms: u64| {
        let end = Instant::now() + Duration::from_millis(ms);
        while Instant::now() < end {
            let _ = g.poll(Some(Duration::from_millis(20)));
        }
    };
    drain(&g, 300);
    let n = got.lock().unwrap().len();
    drain(&g, 700);
    assert_eq!(got.lock().unwrap().len(), n, "no events once the container is gone");
    g.stop().unwrap();
    assert!(got.lock().unwrap().iter().all(|e| s(e, "runtime.containerName") == name));
    // Discovery keeps running only while some gadget needs it.
    drop(g);
}

/// A container's very first instructions are seen: the runc hook (fanotify on the runtime
/// binary, src/containers/runc.rs) adds the container while `runc start` is held, before
/// its process runs, so a `cat /etc/hostname` that is the container's whole command is
/// selected in the kernel and enriched (Docker's `start` event comes only afterwards).
#[test]
fn first_instruction_of_a_new_container_is_selected_and_enriched() {
    require_root();
    docker();
    let name = format!("grt-{}-first", std::process::id());
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    let (g, logs) = trace_open("containers_first", &[("containername", &name)]);
    let got = collect_if(&g, |_| true);
    start(&g, &logs);
    assert_eq!(g.kernel_mntns_filter(), Some(vec![]));
    let id = sh(&["run", "-d", "--network", "none", "--label", "gadgetrt-test=1", "--name", &name, IMAGE, "cat", "/etc/hostname"]);
    let c = Ctr { name: name.clone(), id };
    let cat = |e: &Event| s(e, "proc.comm") == "cat" && s(e, "fname") == "/etc/hostname";
    wait_until(&g, "the open of the container's only command", || got.lock().unwrap().iter().any(cat));
    g.stop().unwrap();
    let all = got.lock().unwrap();
    let e = all.iter().find(|e| cat(e)).unwrap();
    assert_eq!(s(e, "runtime.containerName"), name);
    assert_eq!(s(e, "runtime.containerId"), c.id);
    assert_eq!(s(e, "runtime.runtimeName"), "docker");
    assert_eq!(s(e, "runtime.containerImageName"), IMAGE);
    assert!(all.iter().all(|e| s(e, "runtime.containerName") == name), "only the selected container");
}

#[test]
fn host_true_turns_filtering_off_and_host_false_keeps_containers_only() {
    require_root();
    docker();
    let a = Ctr::run("host");
    let host_path = unique_path("host-true");
    let _tmp = TempFile(host_path.clone());
    let hp = host_path.to_str().unwrap().to_string();

    // --host with a selector: no mntns filtering at all (IG).
    let (g, logs) = trace_open("containers_host_true", &[("containername", &a.name), ("host", "true")]);
    let hp2 = hp.clone();
    let got = collect_if(&g, move |e| s(e, "fname") == hp2);
    start(&g, &logs);
    assert_eq!(g.kernel_mntns_filter(), None);
    touch(&host_path);
    wait_until(&g, "the host event with host=true", || !got.lock().unwrap().is_empty());
    g.stop().unwrap();

    // host=false without a selector: every container, no host process.
    let (g, logs) = trace_open("containers_host_false", &[("host", "false")]);
    let got = collect_if(&g, |_| true);
    start(&g, &logs);
    let ids = g.kernel_mntns_filter().expect("filtering on");
    assert!(ids.contains(&a.mntns()), "{ids:?}");
    let self_mntns = std::fs::metadata("/proc/self/ns/mnt").map(|m| std::os::unix::fs::MetadataExt::ino(&m)).unwrap();
    assert!(!ids.contains(&self_mntns));
    wait_until(&g, "container events with host=false", || {
        got.lock().unwrap().iter().any(|e| s(e, "runtime.containerName") == a.name)
    });
    touch(&host_path);
    std::thread::sleep(Duration::from_millis(300));
    let _ = g.poll(Some(Duration::from_millis(50)));
    g.stop().unwrap();
    assert!(got.lock().unwrap().iter().all(|e| !s(e, "runtime.containerId").is_empty()), "only container events");
}

#[test]
fn runner_selects_with_dash_c_and_prints_container_fields() {
    require_root();
    docker();
    let a = Ctr::run("runner");
    let dir = gadget_dir("containers_runner", "trace_open", None, None);
    let t0 = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_gadgetrt-run"))
        .arg(&dir)
        .args(["-c", &a.name, "-o", "json", "--max-events", "3", "-t", "20"])
        .output()
        .unwrap();
    assert!(out.status.success(), "gadgetrt-run failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for l in lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["runtime"]["containerName"], a.name.as_str(), "{l}");
        assert_eq!(v["runtime"]["containerId"], a.id.as_str(), "{l}");
        assert_eq!(v["runtime"]["runtimeName"], "docker", "{l}");
        assert_eq!(v["runtime"]["containerImageName"], IMAGE, "{l}");
    }
    assert!(t0.elapsed() < Duration::from_secs(20));
}

/// ig's discovery flags: `--runtimes` (a bad value is an error; `none` finds nothing, so a
/// selected container shows nothing) and `--docker-socketpath`.
#[test]
fn runner_runtimes_and_socketpath_flags() {
    require_root();
    docker();
    let a = Ctr::run("flags");
    let dir = gadget_dir("containers_runner_flags", "trace_open", None, None);
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gadgetrt-run"))
            .arg(&dir)
            .args(["-c", &a.name, "-o", "json", "--max-events", "1", "-t", "2"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["--runtimes", "docker,bogus"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown container runtime \"bogus\""), "{}", String::from_utf8_lossy(&out.stderr));
    for extra in [&["-r", "none"][..], &["--runtimes", "containerd,podman"], &["--docker-socketpath", "/nonexistent/docker.sock"]] {
        let out = run(extra);
        assert!(out.status.success(), "{extra:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "", "{extra:?}: the container is not found, so nothing is selected");
    }
    let out = run(&["--runtimes", "docker", "--docker-socketpath", "/run/docker.sock", "--runtime-protocol", "internal"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(v["runtime"]["containerName"], a.name.as_str());
}

/// containerd's socket: the one scripts/docker.sh's dockerd runs, else the usual places.
fn containerd_socket() -> String {
    ["/var/tmp/gadgetrt-docker/exec/containerd/containerd.sock", "/run/docker/containerd/containerd.sock", "/run/containerd/containerd.sock"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("a containerd socket")
        .to_string()
}

/// A container of containerd's own (`ctr run`, namespace `gadgetrt-test`), removed when
/// dropped.
struct CtrdContainer {
    sock: String,
    id: String,
}

impl CtrdContainer {
    fn ctr(sock: &str, args: &[&str]) -> std::process::Output {
        Command::new("ctr").args(["-a", sock, "-n", "gadgetrt-test"]).args(args).output().expect("running ctr")
    }

    fn run(tag: &str, detach: bool, cmd: &[&str]) -> CtrdContainer {
        let sock = containerd_socket();
        let image = "docker.io/library/grt-busybox:latest";
        if !Self::ctr(&sock, &["images", "ls", "-q"]).stdout.starts_with(image.as_bytes()) {
            let sh = format!("docker save {IMAGE}:latest | ctr -a {sock} -n gadgetrt-test images import -");
            let st = Command::new("sh").args(["-c", &sh]).status().unwrap();
            assert!(st.success(), "importing the image into containerd");
        }
        let id = format!("grt-{}-{tag}", std::process::id());
        let c = CtrdContainer { sock: sock.clone(), id: id.clone() };
        c.remove();
        let mut args = vec!["run"];
        if detach {
            args.push("-d");
        }
        args.extend([image, id.as_str()]);
        args.extend(cmd);
        let out = Self::ctr(&sock, &args);
        assert!(out.status.success(), "ctr run: {}", String::from_utf8_lossy(&out.stderr));
        c
    }

    fn pid(&self) -> u32 {
        let out = Self::ctr(&self.sock, &["tasks", "ls"]);
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines().find_map(|l| {
            let mut f = l.split_whitespace();
            (f.next() == Some(self.id.as_str())).then(|| f.next().unwrap().parse().unwrap())
        }).expect("the task")
    }

    fn remove(&self) {
        let _ = Self::ctr(&self.sock, &["tasks", "kill", "-s", "KILL", &self.id]);
        for _ in 0..50 {
            if Self::ctr(&self.sock, &["tasks", "delete", &self.id]).status.success() {
                break;
            }
            if !String::from_utf8_lossy(&Self::ctr(&self.sock, &["tasks", "ls"]).stdout).contains(&self.id) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Self::ctr(&self.sock, &["containers", "delete", &self.id]);
    }
}

impl Drop for CtrdContainer {
    fn drop(&mut self) {
        self.remove();
    }
}

/// containerd's own containers (no Docker involved): a running one is found in containerd's
/// task state next to `--containerd-socketpath`; one started while the gadget runs is caught by
/// the runc hook before its first instruction. Runtime `containerd`, name = container id.
#[test]
fn containerd_containers_are_discovered_and_selected() {
    require_root();
    docker();
    let a = CtrdContainer::run("ctrd-a", true, &["sh", "-c", "while true; do cat /etc/passwd >/dev/null; sleep 0.1; done"]);
    let dir = gadget_dir("containers_containerd", "trace_open", None, None);
    let out = Command::new(env!("CARGO_BIN_EXE_gadgetrt-run"))
        .arg(&dir)
        .args(["-c", &a.id, "--containerd-socketpath", &a.sock, "-o", "json", "--max-events", "1", "-t", "20"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(v["runtime"]["containerName"], a.id.as_str(), "{v}");
    assert_eq!(v["runtime"]["containerId"], a.id.as_str(), "{v}");
    assert_eq!(v["runtime"]["runtimeName"], "containerd", "{v}");
    assert_eq!(v["runtime"]["containerPid"], a.pid(), "{v}");

    let name = format!("grt-{}-ctrd-b", std::process::id());
    let (g, logs) = trace_open("containers_containerd_early", &[("containername", &name)]);
    let got = collect_if(&g, |_| true);
    start(&g, &logs);
    let b = CtrdContainer::run("ctrd-b", false, &["cat", "/etc/passwd"]);
    assert_eq!(b.id, name);
    let cat = |e: &Event| s(e, "proc.comm") == "cat" && s(e, "fname") == "/etc/passwd";
    let found = poll_for(&g, WAIT, &mut || got.lock().unwrap().iter().any(cat));
    assert!(
        found,
        "timed out after {WAIT:?} waiting for the open of the containerd container's only command; filter {:?}, events {:?}\ndiscovery: {:#?}\n{}",
        g.kernel_mntns_filter(),
        got.lock().unwrap().iter().map(|e| (s(e, "proc.comm"), s(e, "fname"), u(e, "proc.mntns_id"))).collect::<Vec<_>>(),
        gadgetrt::containers::recent_debug(),
        logs.dump()
    );
    g.stop().unwrap();
    let all = got.lock().unwrap();
    assert!(all.iter().all(|e| s(e, "runtime.containerName") == name && s(e, "runtime.runtimeName") == "containerd"));
}

#[test]
fn containers_datasource_reports_created_and_deleted() {
    require_root();
    docker();
    let a = Ctr::run("ds-a");
    let b_name = format!("grt-{}-ds-b", std::process::id());
    let yaml = "name: trace_open\nannotations:\n  enable-containers-datasource: true\n";
    let (rt, logs) = runtime();
    let g = open_dir(&rt, &gadget_dir("containers_ds", "trace_open", None, Some(yaml)));
    g.init().unwrap_or_else(|e| panic!("init: {e}\n{}", logs.dump()));
    let ds = g.schema("containers").expect("the containers data source exists before start");
    assert_eq!(ds.annotations.get("cli.default-output-mode").map(String::as_str), Some("none"));
    let names: Vec<&str> = ds.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["event_type", "container_id", "cgroup_id", "mntns_id", "name", "container_config"]);
    g.set_param("containername", &format!("{},{b_name}", a.name)).unwrap();
    let got = collect(&g, "containers", 0);
    start(&g, &logs);
    let seen = |ty: &str, name: &str| {
        got.0.lock().unwrap().iter().find(|e| s(e, "event_type") == ty && s(e, "name") == name).cloned()
    };
    wait_until(&g, "CREATED for the container running at start", || seen("CREATED", &a.name).is_some());
    let created = seen("CREATED", &a.name).unwrap();
    assert_eq!(s(&created, "container_id"), a.id);
    assert_eq!(u(&created, "mntns_id"), a.mntns());
    assert_eq!(u(&created, "cgroup_id"), cgroup_id(a.pid()), "the cgroup-v2 id of the container's cgroup");
    let cfg: serde_json::Value = serde_json::from_str(&s(&created, "container_config")).expect("container_config is the OCI config.json");
    assert!(cfg["ociVersion"].is_string(), "{cfg}");
    assert_eq!(cfg["process"]["args"][0], "sh", "{cfg}");
    let b = Ctr::run("ds-b");
    wait_until(&g, "CREATED for the container started later", || seen("CREATED", &b.name).is_some());
    assert_eq!(u(&seen("CREATED", &b.name).unwrap(), "mntns_id"), b.mntns());
    b.remove();
    wait_until(&g, "DELETED for the removed container", || seen("DELETED", &b.name).is_some());
    g.stop().unwrap();
    let all = got.0.lock().unwrap();
    assert!(all.iter().all(|e| [a.name.as_str(), b_name.as_str()].contains(&s(e, "name").as_str())), "only selected containers");
}

/// traceloop's mechanism with a gadget of our own (tests/gadgets/go/ctrloop,
/// tests/bpf/ctrloop.bpf.c): per `CREATED` container the guest creates an overwritable perf
/// buffer, inserts it into a HASH_OF_MAPS under the container's mount namespace and, at
/// Stop, drains it into events enriched with the container's fields; `DELETED` removes the
/// entry.
#[test]
fn ctrloop_guest_keeps_per_container_perf_buffers_like_traceloop() {
    require_root();
    docker();
    let a = Ctr::run("loop-a");
    let b = Ctr::run("loop-b");
    let c_name = format!("grt-{}-loop-c", std::process::id());
    let yaml = std::fs::read_to_string(repo().join("tests/gadgets/go/ctrloop/gadget.yaml")).unwrap();
    let (rt, logs) = runtime();
    let g = open_dir(&rt, &gadget_dir("containers_ctrloop", "ctrloop", Some("ctrloop"), Some(&yaml)));
    g.init().unwrap_or_else(|e| panic!("init: {e}\n{}", logs.dump()));
    g.set_param("containername", &format!("{},{c_name}", a.name)).unwrap();
    let got = collect(&g, "ctrloop", 0);
    start(&g, &logs);
    wait_until(&g, "the running container attached", || logs.contains(&format!("ctrloop: attached {} mntns {}", a.name, a.mntns())));
    let c = Ctr::run("loop-c");
    assert_eq!(c.name, c_name);
    let c_mntns = c.mntns();
    wait_until(&g, "the later container attached", || logs.contains(&format!("ctrloop: attached {c_name} mntns {c_mntns}")));
    c.remove();
    wait_until(&g, "the removed container detached", || logs.contains(&format!("ctrloop: detached {c_name} mntns {c_mntns}")));
    // The running container keeps opening /etc/hostname every 100 ms.
    std::thread::sleep(Duration::from_millis(500));
    g.stop().unwrap_or_else(|e| panic!("stop: {e}\n{}", logs.dump()));
    // Emitted during gadgetStop: queued for the embedder's poll.
    let _ = g.poll(Some(Duration::from_millis(100)));
    assert!(!logs.contains("ctrloop: reading"), "{}", logs.dump());
    let all = got.0.lock().unwrap();
    let from_a: Vec<&Event> = all.iter().filter(|e| s(e, "runtime.containerName") == a.name).collect();
    assert!(from_a.iter().any(|e| s(e, "fname") == "/etc/hostname"), "no /etc/hostname open from {} among {} events: {:?}\n{}", a.name, all.len(), all.iter().map(|e| (s(e, "runtime.containerName"), u(e, "mntns_id"), s(e, "fname"), s(e, "comm"))).collect::<Vec<_>>(), logs.dump());
    for e in &from_a {
        assert_eq!(u(e, "mntns_id"), a.mntns());
        assert_eq!(s(e, "runtime.containerId"), a.id);
    }
    // Only selected containers have buffers (the removed one's events, drained at Stop after
    // its enrichment grace period, may have lost their container fields).
    for e in all.iter() {
        let (n, m) = (s(e, "runtime.containerName"), u(e, "mntns_id"));
        assert!(n == a.name || m == c_mntns, "an event from {n:?} (mntns {m}), not a selected container");
    }
    assert!(logs.contains(&format!("records from {}", a.name)), "{}", logs.dump());
    drop(b);
}

// ---- Containers the embedder supplies (no Docker needed) ----

/// A process in a mount namespace of its own (`unshare -m`), opening /etc/hostname every
/// 100 ms: a "container" only the embedder knows about. Killed when dropped.
struct Unshared {
    child: std::process::Child,
    mntns: u64,
}

impl Unshared {
    fn start() -> Unshared {
        use std::os::unix::fs::MetadataExt;
        let child = Command::new("unshare")
            .args(["-m", "sh", "-c", "while true; do cat /etc/hostname >/dev/null; sleep 0.1; done"])
            .spawn()
            .expect("running unshare -m");
        let me = std::fs::metadata("/proc/self/ns/mnt").unwrap().ino();
        let t0 = Instant::now();
        // unshare(1) execs sh after unshare(2): wait until the pid is in the new namespace.
        loop {
            let ns = std::fs::metadata(format!("/proc/{}/ns/mnt", child.id())).unwrap().ino();
            if ns != me {
                return Unshared { child, mntns: ns };
            }
            assert!(t0.elapsed() < WAIT, "unshare -m did not enter a new mount namespace");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Unshared {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn no_discovery_runtime() -> (gadgetrt::Runtime, common::Logs) {
    runtime_with(gadgetrt::LogLevel::Debug, |o| o.container_discovery = false)
}

fn embedder_container(us: &Unshared, name: &str) -> gadgetrt::containers::Container {
    gadgetrt::containers::Container {
        id: format!("emb-{}", us.pid()),
        name: name.into(),
        runtime: "my-agent".into(),
        image_name: "example.com/app:1".into(),
        pid: us.pid(),
        k8s_node: "node-1".into(),
        k8s_namespace: "ns-1".into(),
        k8s_pod: "pod-1".into(),
        k8s_container: "app".into(),
        pod_labels: [("app".to_string(), "web".to_string())].into_iter().collect(),
        ..Default::default()
    }
}

fn trace_open_on(rt: &gadgetrt::Runtime, logs: &common::Logs, label: &str, params: &[(&str, &str)]) -> Gadget {
    let g = open_dir(rt, &gadget_dir(label, "trace_open", None, None));
    g.init().unwrap_or_else(|e| panic!("init: {e}\n{}", logs.dump()));
    for (k, v) in params {
        g.set_param(k, v).unwrap_or_else(|e| panic!("param {k}: {e}"));
    }
    g
}

#[test]
fn embedder_container_is_enriched_and_selected_without_discovery() {
    require_root();
    let us = Unshared::start();
    let name = format!("grt-{}-emb", std::process::id());
    let (rt, logs) = no_discovery_runtime();
    rt.add_container(embedder_container(&us, &name)).unwrap();

    let g = trace_open_on(&rt, &logs, "embedder_select", &[("containername", &name)]);
    let schema = g.schema("open").unwrap();
    let hidden = |f: &str| schema.fields[schema.field_index(f).unwrap_or_else(|| panic!("{f}"))].hidden;
    assert!(hidden("k8s.containerName") && hidden("k8s.namespace"), "k8s fields stay hidden outside Kubernetes (IG)");
    assert!(!hidden("runtime.containerName"));
    let got = collect_if(&g, |_| true);
    start(&g, &logs);
    assert_eq!(g.kernel_mntns_filter(), Some(vec![us.mntns]), "containername selects the embedder's container in the kernel");
    wait_until(&g, "events from the embedder's container", || got.lock().unwrap().len() >= 3);
    g.stop().unwrap();
    {
        let all = got.lock().unwrap();
        assert!(all.iter().all(|e| u(e, "proc.mntns_id") == us.mntns), "only the selected mount namespace");
        let e = &all[0];
        assert_eq!(s(e, "runtime.containerName"), name);
        assert_eq!(s(e, "runtime.containerId"), format!("emb-{}", us.pid()));
        assert_eq!(s(e, "runtime.runtimeName"), "my-agent");
        assert_eq!(s(e, "runtime.containerImageName"), "example.com/app:1");
        assert_eq!(u(e, "runtime.containerPid"), us.pid() as u64);
        assert!(u(e, "runtime.containerStartedAt") > 0, "started_at from /proc/<pid>");
        assert_eq!(s(e, "k8s.node"), "node-1");
        assert_eq!(s(e, "k8s.namespace"), "ns-1");
        assert_eq!(s(e, "k8s.podName"), "pod-1");
        assert_eq!(s(e, "k8s.containerName"), "app");
        assert_eq!(s(e, "k8s.podLabels"), "app=web");
        assert!(e.to_json().contains("\"containerName\":\"app\""), "hidden fields are still filled: {}", e.to_json());
    }

    // The k8s selectors match it too.
    let g = trace_open_on(&rt, &logs, "embedder_k8s", &[("k8s-selector", "app=web"), ("k8s-containername", "app")]);
    start(&g, &logs);
    assert_eq!(g.kernel_mntns_filter(), Some(vec![us.mntns]));
    // Removal follows into running gadgets.
    rt.remove_container(&format!("emb-{}", us.pid())).unwrap();
    assert_eq!(g.kernel_mntns_filter(), Some(vec![]));
    assert_eq!(rt.remove_container("emb-nope").unwrap_err().code, gadgetrt::ErrorCode::NotFound);
    g.stop().unwrap();
}

#[test]
fn embedder_containers_belong_to_their_runtime() {
    require_root();
    let us = Unshared::start();
    let name = format!("grt-{}-own", std::process::id());
    let (a, logs_a) = no_discovery_runtime();
    let (b, logs_b) = no_discovery_runtime();
    a.add_container(embedder_container(&us, &name)).unwrap();
    let gb = trace_open_on(&b, &logs_b, "embedder_other_rt", &[("containername", &name)]);
    start(&gb, &logs_b);
    assert_eq!(gb.kernel_mntns_filter(), Some(vec![]), "another runtime does not see the container");
    gb.stop().unwrap();
    let ga = trace_open_on(&a, &logs_a, "embedder_own_rt", &[("containername", &name)]);
    start(&ga, &logs_a);
    assert_eq!(ga.kernel_mntns_filter(), Some(vec![us.mntns]));
    ga.stop().unwrap();
    drop(ga);
    let id = format!("emb-{}", us.pid());
    assert!(gadgetrt::containers::Collection::global().containers().iter().any(|c| c.id == id));
    drop(a);
    assert!(
        !gadgetrt::containers::Collection::global().containers().iter().any(|c| c.id == id),
        "freeing the runtime removes its containers"
    );
    // Bad input.
    let (c, _) = no_discovery_runtime();
    let bad = |ctr: gadgetrt::containers::Container| c.add_container(ctr).unwrap_err().code;
    assert_eq!(bad(Default::default()), gadgetrt::ErrorCode::InvalidArgument, "empty id");
    assert_eq!(
        bad(gadgetrt::containers::Container { id: "x".into(), ..Default::default() }),
        gadgetrt::ErrorCode::InvalidArgument,
        "neither pid nor namespaces"
    );
    assert_eq!(
        bad(gadgetrt::containers::Container { id: "x".into(), pid: u32::MAX - 1, ..Default::default() }),
        gadgetrt::ErrorCode::NotFound,
        "pid gone"
    );
}

/// This project's own test gadget that, like traceloop and advise_seccomp, needs the
/// `containers` data source and `k8s.containerName` (tests/gadgets/rust/guests/containers).
#[test]
fn rust_containers_guest_sees_the_containers_datasource_and_k8s_fields() {
    require_root();
    let us = Unshared::start();
    let name = format!("grt-{}-guest", std::process::id());
    let (rt, logs) = no_discovery_runtime();
    rt.add_container(embedder_container(&us, &name)).unwrap();
    let yaml = std::fs::read_to_string(repo().join("tests/gadgets/rust/guests/containers/gadget.yaml")).unwrap();
    let dir = gadget_dir("rust_containers", "trace_open", None, Some(&yaml));
    std::fs::copy(common::rust_gadget("rust_containers"), dir.join("program.wasm")).unwrap();
    let g = open_dir(&rt, &dir);
    g.init().unwrap_or_else(|e| panic!("init: {e}\n{}", logs.dump()));
    g.set_param("containername", &name).unwrap();
    let want = format!("{name}|app|{name}");
    let w2 = want.clone();
    let got = collect_if(&g, move |e| s(e, "guest_container") == w2);
    start(&g, &logs);
    wait_until(&g, "an event the guest tagged from the containers data source and k8s.containerName", || {
        !got.lock().unwrap().is_empty()
    });
    assert!(logs.contains(&format!("rust_containers: CREATED {name} {}", us.mntns)), "{}", logs.dump());
    rt.remove_container(&format!("emb-{}", us.pid())).unwrap();
    wait_until(&g, "DELETED in the guest", || logs.contains(&format!("rust_containers: DELETED {name} {}", us.mntns)));
    g.stop().unwrap();
    assert_eq!(g.stats().guest_traps, 0);
}

/// Without the `containers` data source (no annotation) the guest fails as traceloop does.
#[test]
fn rust_containers_guest_fails_without_the_containers_datasource() {
    require_root();
    let (rt, logs) = no_discovery_runtime();
    let dir = gadget_dir("rust_containers_no_ds", "trace_open", None, Some("name: rust_containers\n"));
    std::fs::copy(common::rust_gadget("rust_containers"), dir.join("program.wasm")).unwrap();
    let g = open_dir(&rt, &dir);
    assert!(g.init().is_err());
    assert!(logs.contains("rust_containers: gadgetInit"), "{}", logs.dump());
}

/// A process in a network namespace of its own (`unshare -n`, lo up): a "container" with a
/// network of its own that only the embedder knows about. Killed when dropped.
struct NetUnshared(std::process::Child);

impl NetUnshared {
    fn start() -> NetUnshared {
        use std::os::unix::fs::MetadataExt;
        let child = Command::new("unshare")
            .args(["-n", "sh", "-c", "ip link set lo up && exec sleep 600"])
            .spawn()
            .expect("running unshare -n");
        let me = NetUnshared(child);
        let host = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
        let t0 = Instant::now();
        // Until unshare(2) ran and sh brought lo up (then it execs sleep).
        loop {
            let ns = std::fs::metadata(format!("/proc/{}/ns/net", me.pid())).map(|m| m.ino()).unwrap_or(host);
            let comm = std::fs::read_to_string(format!("/proc/{}/comm", me.pid())).unwrap_or_default();
            if ns != host && comm.trim() == "sleep" {
                return me;
            }
            assert!(t0.elapsed() < WAIT, "unshare -n did not set up a network namespace");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    fn pid(&self) -> u32 {
        self.0.id()
    }
    fn netns(&self) -> u64 {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(format!("/proc/{}/ns/net", self.pid())).unwrap().ino()
    }
    /// Sends `n` UDP datagrams to 127.0.0.1:`port` inside the namespace.
    fn udp(&self, port: u16, n: usize) {
        use std::os::fd::AsRawFd;
        let ns = std::fs::File::open(format!("/proc/{}/ns/net", self.pid())).unwrap();
        std::thread::spawn(move || {
            // SAFETY: setns for this thread only.
            assert_eq!(unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
            let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            for _ in 0..n {
                tx.send_to(b"gadgetrt", ("127.0.0.1", port)).unwrap();
            }
        })
        .join()
        .unwrap();
    }
}

impl Drop for NetUnshared {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// IG's networktracer per container: with a container selection, a socket filter gets a
/// raw socket in each selected container's network namespace (and none in the host's), its
/// dispatcher putting that namespace's id in `skb->cb[0]`; removing the container detaches it.
#[test]
fn socket_filters_attach_in_each_selected_containers_network_namespace() {
    require_root();
    let ns = NetUnshared::start();
    let name = format!("grt-{}-net", std::process::id());
    let id = format!("net-{}", ns.pid());
    let (rt, logs) = no_discovery_runtime();
    rt.add_container(gadgetrt::containers::Container {
        id: id.clone(),
        name: name.clone(),
        runtime: "my-agent".into(),
        pid: ns.pid(),
        ..Default::default()
    })
    .unwrap();
    // A port nobody else uses in either namespace (the filter matches the destination port).
    let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let g = open_dir(&rt, &gadget_dir("socket_ev", "socket_ev", None, None));
    g.init().unwrap_or_else(|e| panic!("init: {e}\n{}", logs.dump()));
    g.set_param("port", &port.to_string()).unwrap();
    g.set_param("containername", &name).unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let got2 = got.clone();
    g.subscribe(
        "packets",
        10000,
        Box::new(move |e: &Event| {
            got2.lock().unwrap().push(e.clone());
            0
        }),
    )
    .unwrap();
    start(&g, &logs);
    // Traffic in the host's namespace: no socket there.
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.send_to(b"host", ("127.0.0.1", port)).unwrap();
    ns.udp(port, 3);
    // On lo each datagram is seen twice (outgoing, then host).
    wait_until(&g, "6 packets from the container's namespace", || got.lock().unwrap().len() >= 6);
    let netns = ns.netns();
    {
        let all = got.lock().unwrap();
        let ids: Vec<u64> = all.iter().map(|e| u(e, "netns")).collect();
        assert!(ids.iter().all(|&i| i == netns), "every packet from netns {netns}: {ids:?}");
        assert_eq!(all.len(), 6, "the host's datagram was not seen");
    }
    // Removal follows into the running gadget: the raw socket is closed.
    rt.remove_container(&id).unwrap();
    ns.udp(port, 3);
    tx.send_to(b"host", ("127.0.0.1", port)).unwrap();
    // A later marker from a re-added container proves the earlier datagrams would have
    // arrived by then.
    rt.add_container(gadgetrt::containers::Container {
        id: format!("{id}-again"),
        name: name.clone(),
        runtime: "my-agent".into(),
        pid: ns.pid(),
        ..Default::default()
    })
    .unwrap();
    ns.udp(port, 1);
    wait_until(&g, "the re-added container's packets", || got.lock().unwrap().len() >= 8);
    g.stop().unwrap();
    assert_eq!(got.lock().unwrap().len(), 8, "nothing seen while the container was removed");
}
