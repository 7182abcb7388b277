//! Containers from their first instruction: a fanotify hook on the OCI runtime binary (runc,
//! crun), without kprobes.
//!
//! Runtime APIs report a container only after it started (Docker's `start` event comes after
//! `runc start`), so a container's first milliseconds would miss the mount-namespace filter
//! and the enrichment. IG closes that gap with fanotify: `FAN_OPEN_EXEC_PERM` on the runtime
//! binary, the runtime's argv from an eBPF map, and a kprobe to connect the two
//! (`../shared/spec/attach-enrich-containers.md` §7.1). gadgetrt needs no argv and no kprobe:
//!
//! - The hook marks every runtime binary found (IG's list, under `$HOST_ROOT`) with
//!   `FAN_OPEN_EXEC_PERM`. Each exec of runc blocks until the hook answers.
//! - containerd's shim runs runc in the container's bundle directory, so the exec-ing
//!   process's cwd is the bundle (`…/io.containerd.runtime.v2.task/<namespace>/<id>`, with
//!   `config.json`). `runc create` finds no `init.pid` there yet; by `runc start` the pid
//!   file holds the container's init, which is created (new namespaces) and blocked until
//!   runc start opens its exec fifo. The hook adds the container to the collection (which
//!   updates every gadget's filter map synchronously) and only then lets runc start run: the
//!   container's own code runs after it is known.
//! - Namespace `moby` is Docker's: the fields come from Docker's API ([`docker::created_container`],
//!   the same fields its `start` event brings later). Other namespaces are containerd's own
//!   (`ctr run`, Kubernetes through CRI): runtime `containerd`, name = the container id, or the
//!   `io.kubernetes.cri.*` annotations of `config.json` (sandbox containers are skipped); they
//!   are also listed at start from containerd's task state ([`containerd_task_dirs`]), and
//!   dropped when their init process is gone (checked at every runtime exec, e.g. the
//!   shim's `runc delete`).
//!
//! Every event is answered `FAN_ALLOW`, whatever happens; if gadgetrt exits, the kernel lets
//! the pending execs through. Limits: a shim that serves several containers (Kubernetes pods)
//! runs in the sandbox's bundle, so only Docker-style one-container shims are caught early;
//! the runtime API watchers still find the others after start.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use super::{docker, Collection, Container, Source};

/// IG's runtime paths (`runtime-finder`).
pub const RUNTIME_PATHS: &[&str] = &[
    "/bin/runc",
    "/usr/bin/runc",
    "/usr/sbin/runc",
    "/usr/local/bin/runc",
    "/usr/local/sbin/runc",
    "/usr/lib/cri-o-runc/sbin/runc",
    "/usr/bin/crun",
    "/var/lib/rancher/k3s/data/current/bin/runc",
    "/var/lib/rancher/rke2/bin/runc",
    "/usr/libexec/crio/runc",
    "/usr/libexec/crio/crun",
    "/var/lib/k0s/bin/runc",
    "/snap/microk8s/current/bin/runc",
];

/// containerd's task state directories: next to its socket (the default `state` is the
/// socket's directory, `/run/containerd`), and `daemon/` there (the containerd dockerd
/// starts itself keeps its state under `<exec-root>/containerd/daemon`).
pub fn containerd_task_dirs() -> Vec<PathBuf> {
    let sock = super::socket_path("containerd");
    let Some(dir) = sock.parent() else { return Vec::new() };
    [dir.join("io.containerd.runtime.v2.task"), dir.join("daemon/io.containerd.runtime.v2.task")]
        .into_iter()
        .filter(|d| d.is_dir())
        .collect()
}

/// Whether containerd namespace `ns` is discovered (not Docker's `moby`; only the configured
/// one when `--containerd-namespace` is set).
fn containerd_ns_wanted(ns: &str) -> bool {
    ns != "moby" && super::config().containerd_namespace.as_deref().is_none_or(|w| w == ns)
}

/// The running hook.
pub struct Hook {
    wake: OwnedFd,
    thread: Option<JoinHandle<()>>,
}

fn last_err(what: &str) -> String {
    format!("{what}: {}", io::Error::last_os_error())
}

impl Hook {
    /// Marks the runtime binaries and starts the hook thread. `docker_socket`: where to ask
    /// Docker about `moby` containers (`None`: Docker discovery is off, they are ignored);
    /// `containerd`: whether containerd's own containers are discovered.
    pub fn start(col: &'static Collection, docker_socket: Option<PathBuf>, containerd: bool) -> Result<Hook, String> {
        // SAFETY: plain syscalls; the returned fds are owned right away.
        let fan = unsafe {
            libc::fanotify_init(
                libc::FAN_CLOEXEC | libc::FAN_CLASS_CONTENT | libc::FAN_NONBLOCK | libc::FAN_UNLIMITED_QUEUE,
                (libc::O_RDONLY | libc::O_LARGEFILE | libc::O_CLOEXEC) as u32,
            )
        };
        if fan < 0 {
            return Err(last_err("fanotify_init"));
        }
        // SAFETY: fan is a fresh fd we own.
        let fan = unsafe { OwnedFd::from_raw_fd(fan) };
        let root = super::host_root();
        let mut marked = Vec::new();
        for p in RUNTIME_PATHS {
            let Ok(real) = std::fs::canonicalize(format!("{root}{p}")) else { continue };
            if marked.contains(&real) {
                continue;
            }
            let Ok(c) = std::ffi::CString::new(real.as_os_str().as_encoded_bytes()) else { continue };
            // SAFETY: fanotify_mark on our fd with a NUL-terminated path.
            let r = unsafe {
                libc::fanotify_mark(fan.as_raw_fd(), libc::FAN_MARK_ADD, libc::FAN_OPEN_EXEC_PERM, libc::AT_FDCWD, c.as_ptr())
            };
            if r < 0 {
                return Err(last_err(&format!("fanotify_mark {}", real.display())));
            }
            marked.push(real);
        }
        if marked.is_empty() {
            return Err("no OCI runtime binary (runc, crun) found".into());
        }
        // SAFETY: eventfd(2); owned right away.
        let wake = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if wake < 0 {
            return Err(last_err("eventfd"));
        }
        // SAFETY: fresh fd.
        let wake = unsafe { OwnedFd::from_raw_fd(wake) };
        let wake_fd = wake.as_raw_fd();
        let thread = std::thread::Builder::new()
            .name("gadgetrt-runc-hook".into())
            .spawn(move || run(col, fan, wake_fd, docker_socket.as_deref(), containerd))
            .map_err(|e| format!("starting the hook thread: {e}"))?;
        Ok(Hook { wake, thread: Some(thread) })
    }

    pub fn stop(&mut self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd.
        unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Answers one permission event when dropped (always `FAN_ALLOW`) and closes its fd.
struct Pending<'a> {
    fan: &'a OwnedFd,
    fd: i32,
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        let resp = libc::fanotify_response { fd: self.fd, response: libc::FAN_ALLOW };
        // SAFETY: writes a live fanotify_response to our fanotify fd, then closes the event's
        // fd, which the kernel opened for us.
        unsafe {
            libc::write(self.fan.as_raw_fd(), (&resp as *const libc::fanotify_response).cast(), std::mem::size_of_val(&resp));
            libc::close(self.fd);
        }
    }
}

fn run(col: &'static Collection, fan: OwnedFd, wake: i32, docker_socket: Option<&Path>, containerd: bool) {
    let mut buf = vec![0u8; 8192];
    loop {
        let mut fds = [
            libc::pollfd { fd: fan.as_raw_fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: wake, events: libc::POLLIN, revents: 0 },
        ];
        // SAFETY: poll(2) on two live pollfds.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) };
        if n < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        if fds[1].revents != 0 {
            return;
        }
        // SAFETY: read(2) into our buffer of buf.len() bytes.
        let got = unsafe { libc::read(fan.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if got <= 0 {
            continue;
        }
        let got = got as usize;
        let meta_len = std::mem::size_of::<libc::fanotify_event_metadata>();
        let mut off = 0;
        while off + meta_len <= got {
            // SAFETY: at least meta_len bytes are left at off; read_unaligned copies them.
            let m: libc::fanotify_event_metadata = unsafe { std::ptr::read_unaligned(buf[off..].as_ptr().cast()) };
            if (m.event_len as usize) < meta_len {
                break;
            }
            off += m.event_len as usize;
            if m.fd < 0 {
                continue;
            }
            let _answer = Pending { fan: &fan, fd: m.fd };
            if m.mask & libc::FAN_OPEN_EXEC_PERM != 0 {
                on_runtime_exec(col, m.pid as u32, docker_socket, containerd);
            }
        }
    }
}

/// A runtime binary is being executed by `pid` (still the caller: exec is on hold).
fn on_runtime_exec(col: &'static Collection, pid: u32, docker_socket: Option<&Path>, containerd: bool) {
    let root = super::host_root();
    if containerd {
        drop_dead_containerd(col);
    }
    let Ok(bundle) = std::fs::read_link(format!("{root}/proc/{pid}/cwd")) else {
        super::debug(&format!("runc hook: exec by pid {pid}: no cwd"));
        return;
    };
    let bundle = PathBuf::from(format!("{root}{}", bundle.display()));
    if !bundle.join("config.json").is_file() {
        super::debug(&format!("runc hook: exec by pid {pid} in {}: not a bundle", bundle.display()));
        return;
    }
    // Before `runc create` finished there is no pid file: nothing to add yet.
    let Ok(text) = std::fs::read_to_string(bundle.join("init.pid")) else {
        super::debug(&format!("runc hook: {}: no init.pid yet", bundle.display()));
        return;
    };
    let Ok(init) = text.trim().parse::<u32>() else { return };
    let id = bundle.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ns = bundle.parent().and_then(|p| p.file_name()).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let source = if ns == "moby" { Source::Docker } else { Source::Containerd };
    if id.is_empty() || col.is_live(source, &id) || (source == Source::Containerd && !containerd_ns_wanted(&ns)) {
        super::debug(&format!("runc hook: {ns}/{id}: known or not wanted"));
        return;
    }
    // The container must have a mount namespace of its own (not the shim's).
    let mnt = |p: u32| std::fs::metadata(format!("{root}/proc/{p}/ns/mnt")).map(|m| m.ino()).ok();
    match (mnt(init), mnt(pid)) {
        (Some(a), Some(b)) if a != b => {}
        (a, b) => {
            super::debug(&format!("runc hook: {ns}/{id}: init {init} mntns {a:?}, runtime's {b:?}: not in a namespace of its own"));
            return;
        }
    }
    let c = match source {
        Source::Docker => {
            let Some(sock) = docker_socket else { return };
            match docker::created_container(sock, &id, init) {
                Ok(Some(c)) => c,
                Ok(None) => return,
                Err(e) => {
                    super::debug(&format!("runc hook: docker container {id}: {e}"));
                    return;
                }
            }
        }
        _ if containerd => match containerd_container(&bundle, &id, init) {
            Some(c) => c,
            None => {
                super::debug(&format!("runc hook: {ns}/{id}: a sandbox, or init {init} is gone"));
                return;
            }
        },
        _ => {
            super::debug(&format!("runc hook: {ns}/{id}: containerd discovery is off"));
            return;
        }
    };
    super::debug(&format!("runc hook: {ns}/{id}: added (init {init}, mntns {})", c.mntns));
    col.add(source, c);
}

/// A containerd container from its bundle: runtime `containerd`, the k8s names from the CRI
/// annotations, the id as name otherwise. `None` for sandbox (pause) containers or when
/// the process is gone.
fn containerd_container(bundle: &Path, id: &str, pid: u32) -> Option<Container> {
    let cfg = std::fs::read_to_string(bundle.join("config.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&cfg).ok()?;
    let ann = |k: &str| v.get("annotations").and_then(|a| a.get(k)).and_then(|x| x.as_str()).unwrap_or("").to_string();
    if ann("io.kubernetes.cri.container-type") == "sandbox" {
        return None;
    }
    let mut c = Container {
        id: id.to_string(),
        name: id.to_string(),
        runtime: "containerd".into(),
        pid,
        image_name: ann("io.kubernetes.cri.image-name"),
        k8s_namespace: ann("io.kubernetes.cri.sandbox-namespace"),
        k8s_pod: ann("io.kubernetes.cri.sandbox-name"),
        k8s_container: ann("io.kubernetes.cri.container-name"),
        ..Default::default()
    };
    if !c.k8s_container.is_empty() {
        c.name = c.k8s_container.clone();
    }
    c.fill_from_proc().ok()?;
    c.oci_config = cfg;
    Some(c)
}

/// containerd's running containers outside Docker's `moby` namespace, from the task state
/// directory (`<ns>/<id>/init.pid` + `config.json`).
pub fn scan_containerd() -> Vec<Container> {
    let mut out = Vec::new();
    for dir in containerd_task_dirs() {
        let Ok(nss) = std::fs::read_dir(dir) else { continue };
        for ns in nss.flatten() {
            if !containerd_ns_wanted(&ns.file_name().to_string_lossy()) {
                continue;
            }
            let Ok(ids) = std::fs::read_dir(ns.path()) else { continue };
            for b in ids.flatten() {
                let bundle = b.path();
                let Ok(text) = std::fs::read_to_string(bundle.join("init.pid")) else { continue };
                let Ok(pid) = text.trim().parse::<u32>() else { continue };
                let id = b.file_name().to_string_lossy().into_owned();
                if let Some(c) = containerd_container(&bundle, &id, pid) {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// Removes containerd containers whose init process is gone (or is another process now).
fn drop_dead_containerd(col: &'static Collection) {
    let root = super::host_root();
    for c in col.containers() {
        if c.source != Source::Containerd {
            continue;
        }
        let alive = std::fs::metadata(format!("{root}/proc/{}/ns/mnt", c.pid)).map(|m| m.ino() == c.mntns).unwrap_or(false);
        if !alive {
            super::debug(&format!("runc hook: containerd {}: init {} is gone", c.id, c.pid));
            col.remove(Source::Containerd, &c.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(tag: &str, config: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gadgetrt-bundle-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("config.json"), config).unwrap();
        d
    }

    #[test]
    fn containerd_bundle_fields() {
        let me = std::process::id();
        let d = bundle("plain", r#"{"ociVersion":"1.1.0","annotations":{}}"#);
        let c = containerd_container(&d, "web", me).unwrap();
        assert_eq!((c.id.as_str(), c.name.as_str(), c.runtime.as_str(), c.pid), ("web", "web", "containerd", me));
        assert_ne!(c.mntns, 0);
        assert!(c.oci_config.contains("ociVersion"));
        let k8s = bundle(
            "k8s",
            r#"{"annotations":{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.container-name":"nginx",
                "io.kubernetes.cri.sandbox-namespace":"prod","io.kubernetes.cri.sandbox-name":"web-1",
                "io.kubernetes.cri.image-name":"nginx:1"}}"#,
        );
        let c = containerd_container(&k8s, "abc", me).unwrap();
        assert_eq!((c.name.as_str(), c.k8s_container.as_str(), c.k8s_namespace.as_str(), c.k8s_pod.as_str()), ("nginx", "nginx", "prod", "web-1"));
        assert_eq!(c.image_name, "nginx:1");
        let sandbox = bundle("sandbox", r#"{"annotations":{"io.kubernetes.cri.container-type":"sandbox"}}"#);
        assert!(containerd_container(&sandbox, "pause", me).is_none(), "sandboxes are skipped");
        assert!(containerd_container(&d, "gone", u32::MAX).is_none(), "no process");
        for b in [d, k8s, sandbox] {
            let _ = std::fs::remove_dir_all(b);
        }
    }
}
