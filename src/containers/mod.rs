//! Containers: a process-wide collection of the containers running on this machine, found
//! without kprobes — a fanotify hook on the OCI runtime binary that adds containers before
//! their first instruction ([`runc`]), containerd's task state, and the Engine API of Docker
//! and podman ([`docker`]) — each mapped to its mount and network namespace ids, as IG's
//! `LocalManager` container collection does (`../shared/spec/attach-enrich-containers.md`
//! §7). Which runtimes and sockets: [`configure`] (ig's `--runtimes`, `--*-socketpath`).
//!
//! Gadgets share one [`Collection`]: the first gadget that needs containers starts the
//! runtime watchers ([`Collection::watch`]), the last one to stop ends them. Operators read
//! an immutable [`Index`] snapshot (by mount and network namespace id), which is replaced on
//! every change, so the per-event lookup takes no lock in the common case. Subscribers
//! ([`Collection::subscribe`]) are called synchronously, in order, under the collection lock,
//! with every addition and removal: this is how a gadget keeps its mount-namespace filter map
//! in step with the containers it selects.
//!
//! Removed containers stay in the index for [`REMOVED_GRACE`] so that events already in
//! flight are still enriched (IG keeps them 2 s).

pub mod docker;
pub mod publisher;
pub mod runc;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

/// How long a removed container still enriches events.
pub const REMOVED_GRACE: Duration = Duration::from_secs(2);

/// One container, with the fields IG's `Container` exposes (`runtime.*`, `k8s.*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Container {
    /// Runtime id (Docker: the full 64-hex id).
    pub id: String,
    /// Runtime-assigned name (Docker: without the leading `/`).
    pub name: String,
    /// `docker`, `containerd`, `cri-o`, `podman`, or what an embedder says.
    pub runtime: String,
    /// The container's init pid in the host pid namespace.
    pub pid: u32,
    /// Image name as the user gave it, without any `@digest` suffix.
    pub image_name: String,
    /// Image id (`sha256:…`): not an output field, only matched by selectors.
    pub image_id: String,
    /// Repo digest (`sha256:…`) of the image; empty for locally built or imported images.
    pub image_digest: String,
    /// Start time in ns since the epoch (IG: the mtime of `/proc/<pid>`).
    pub started_at: i64,
    /// Inode of `/proc/<pid>/ns/mnt`.
    pub mntns: u64,
    /// Inode of `/proc/<pid>/ns/net`.
    pub netns: u64,
    /// Whether the container shares PID 1's network namespace.
    pub host_network: bool,
    /// cgroup-v2 id of the container's cgroup (IG's cgroup enricher; 0 when unknown).
    pub cgroup_id: u64,
    /// The container's OCI `config.json` as read from its bundle (IG's `OciConfig`), or "".
    pub oci_config: String,
    /// `k8s.node` (IG fills it only with `enrich-with-k8s-apiserver`; embedders may).
    pub k8s_node: String,
    pub k8s_namespace: String,
    pub k8s_pod: String,
    pub k8s_container: String,
    /// Pod labels (`k=v`), for `k8s.podLabels` and `k8s-selector`.
    pub pod_labels: BTreeMap<String, String>,
    /// `k8s.owner.kind` / `k8s.owner.name` (IG: from the Kubernetes API only).
    pub k8s_owner_kind: String,
    pub k8s_owner_name: String,
    /// Who supplied it; set by the collection when the container is added.
    pub source: Source,
}

impl Container {
    /// Fills `mntns`, `netns`, `host_network` and `started_at` from `/proc/<pid>` (IG's
    /// Linux-namespace and proc enrichers). Fails when the process is gone.
    pub fn fill_from_proc(&mut self) -> std::io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let root = host_root();
        let base = format!("{root}/proc/{}", self.pid);
        self.mntns = std::fs::metadata(format!("{base}/ns/mnt"))?.ino();
        self.netns = std::fs::metadata(format!("{base}/ns/net"))?.ino();
        self.host_network = host_netns() == Some(self.netns);
        let m = std::fs::metadata(&base)?;
        self.started_at = m.mtime().saturating_mul(1_000_000_000).saturating_add(m.mtime_nsec());
        self.cgroup_id = cgroup_id_of(self.pid).unwrap_or(0);
        Ok(())
    }

    /// Reads the OCI `config.json` of the bundle the container's runtime shim runs in (the
    /// cwd of the init process's parent, as IG's OCI-config enricher for initial
    /// containers), at most 16 MiB. "" when it cannot be read.
    pub fn read_oci_config(&mut self) {
        self.oci_config = oci_config_of(self.pid).unwrap_or_default();
    }

    /// Completes a container an embedder supplied: with a pid, a zero `mntns`, `netns` or
    /// `started_at` is taken from `/proc/<pid>` as discovery does ([`Container::fill_from_proc`]);
    /// `host_network` is recomputed from the network namespace. Fails when the id is empty,
    /// when neither a pid nor a mount or network namespace is given, or when the pid's
    /// namespaces are needed and the process is gone.
    pub fn complete_embedder(&mut self) -> std::io::Result<()> {
        use std::io::{Error, ErrorKind};
        if self.id.is_empty() {
            return Err(Error::new(ErrorKind::InvalidInput, "the container id is empty"));
        }
        if self.pid == 0 && self.mntns == 0 && self.netns == 0 {
            return Err(Error::new(ErrorKind::InvalidInput, "the container has neither a pid nor a mount or network namespace id"));
        }
        if self.pid != 0 && (self.mntns == 0 || self.netns == 0 || self.started_at == 0) {
            let mut p = Container { pid: self.pid, ..Default::default() };
            p.fill_from_proc()
                .map_err(|e| Error::new(e.kind(), format!("reading the namespaces of pid {}: {e}", self.pid)))?;
            if self.mntns == 0 {
                self.mntns = p.mntns;
            }
            if self.netns == 0 {
                self.netns = p.netns;
            }
            if self.started_at == 0 {
                self.started_at = p.started_at;
            }
        }
        self.host_network = self.netns != 0 && host_netns() == Some(self.netns);
        Ok(())
    }

    /// Sets the k8s fields from the well-known labels Kubernetes runtimes put on containers.
    pub fn set_k8s_from_labels(&mut self, labels: &BTreeMap<String, String>) {
        let get = |k: &str| labels.get(k).cloned().unwrap_or_default();
        self.k8s_namespace = get("io.kubernetes.pod.namespace");
        self.k8s_pod = get("io.kubernetes.pod.name");
        self.k8s_container = get("io.kubernetes.container.name");
    }
}

/// The runtimes discovery knows (IG's `--runtimes` values). `cri-o` is accepted but not
/// discovered (no CRI-O on the machines gadgetrt is tested on).
pub const RUNTIMES: [&str; 4] = ["docker", "containerd", "cri-o", "podman"];

/// Process-wide discovery settings (IG's `--runtimes` and `--<runtime>-socketpath` flags);
/// set before the first gadget starts discovery ([`configure`]). Unset fields fall back to
/// the environment (`GADGETRT_CONTAINER_RUNTIMES`, `GADGETRT_DOCKER_SOCKET`, ...) and then
/// to IG's defaults under `$HOST_ROOT`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// Runtimes to discover (`None`: all of [`RUNTIMES`]; empty: none).
    pub runtimes: Option<Vec<String>>,
    pub docker_socket: Option<std::path::PathBuf>,
    pub containerd_socket: Option<std::path::PathBuf>,
    /// Only this containerd namespace (IG: `k8s.io`); `None`: every namespace but Docker's
    /// `moby` (Docker's containers are Docker's).
    pub containerd_namespace: Option<String>,
    pub podman_socket: Option<std::path::PathBuf>,
}

static CONFIG: RwLock<Option<DiscoveryConfig>> = RwLock::new(None);

/// Parses IG's `--runtimes` value: a comma list of [`RUNTIMES`]; `none` (gadgetrt) or an
/// empty value turns discovery off.
pub fn parse_runtimes(v: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for r in v.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        if r == "none" {
            continue;
        }
        if !RUNTIMES.contains(&r) {
            return Err(format!("unknown container runtime {r:?} (supported: {}, or none)", RUNTIMES.join(", ")));
        }
        if !out.iter().any(|x| x == r) {
            out.push(r.to_string());
        }
    }
    Ok(out)
}

/// Sets the process-wide discovery settings (used by watchers started after the call).
pub fn configure(cfg: DiscoveryConfig) {
    *CONFIG.write().unwrap_or_else(|e| e.into_inner()) = Some(cfg);
}

/// Sets one discovery setting by ig's flag name: `runtimes` ([`parse_runtimes`]),
/// `docker-socketpath`, `containerd-socketpath`, `podman-socketpath` (paths under
/// `$HOST_ROOT`, as ig), `containerd-namespace`; an empty value restores the default.
/// Used by watchers started afterwards (the first gadget needing containers starts them).
pub fn set_discovery_option(key: &str, value: &str) -> Result<(), String> {
    let mut cfg = config();
    let path = || (!value.is_empty()).then(|| std::path::PathBuf::from(format!("{}{value}", host_root())));
    match key {
        "runtimes" => cfg.runtimes = if value.is_empty() { None } else { Some(parse_runtimes(value)?) },
        "docker-socketpath" => cfg.docker_socket = path(),
        "containerd-socketpath" => cfg.containerd_socket = path(),
        "podman-socketpath" => cfg.podman_socket = path(),
        "containerd-namespace" => cfg.containerd_namespace = (!value.is_empty()).then(|| value.to_string()),
        _ => {
            return Err(format!(
                "unknown container discovery option {key:?} (runtimes, docker-socketpath, containerd-socketpath, containerd-namespace, podman-socketpath)"
            ))
        }
    }
    configure(cfg);
    Ok(())
}

/// The current settings.
pub fn config() -> DiscoveryConfig {
    CONFIG.read().unwrap_or_else(|e| e.into_inner()).clone().unwrap_or_default()
}

/// Whether discovery through `runtime` is on: [`configure`]d runtimes, else
/// `$GADGETRT_CONTAINER_RUNTIMES` (a comma list as IG's `runtimes`; `none` or empty turns
/// discovery off), default all.
pub fn runtime_enabled(runtime: &str) -> bool {
    if let Some(list) = config().runtimes {
        return list.iter().any(|r| r == runtime);
    }
    match std::env::var("GADGETRT_CONTAINER_RUNTIMES") {
        Ok(v) => v.split(',').any(|r| r.trim() == runtime),
        Err(_) => true,
    }
}

/// The socket of `runtime`: configured, else `$GADGETRT_<RUNTIME>_SOCKET`, else IG's default
/// under `$HOST_ROOT`.
pub fn socket_path(runtime: &str) -> std::path::PathBuf {
    let cfg = config();
    let configured = match runtime {
        "docker" => cfg.docker_socket,
        "containerd" => cfg.containerd_socket,
        "podman" => cfg.podman_socket,
        _ => None,
    };
    if let Some(p) = configured {
        return p;
    }
    let env = format!("GADGETRT_{}_SOCKET", runtime.to_ascii_uppercase().replace('-', "_"));
    if let Some(p) = std::env::var_os(env).filter(|p| !p.is_empty()) {
        return p.into();
    }
    let default = match runtime {
        "docker" => "/run/docker.sock",
        "containerd" => "/run/containerd/containerd.sock",
        "podman" => "/run/podman/podman.sock",
        _ => "/run/crio/crio.sock",
    };
    format!("{}{default}", host_root()).into()
}

/// Discovery's debug output (`GADGETRT_DEBUG_CONTAINERS`): the collection is process-wide,
/// so it has no gadget logger.
/// The last discovery messages kept by [`debug`] (what [`recent_debug`] returns).
const DEBUG_KEPT: usize = 128;

static DEBUG_LOG: Mutex<std::collections::VecDeque<String>> = Mutex::new(std::collections::VecDeque::new());

/// A discovery message: kept among the last [`DEBUG_KEPT`] (see [`recent_debug`]) and
/// printed to stderr when `$GADGETRT_DEBUG_CONTAINERS` is set.
pub(crate) fn debug(msg: &str) {
    if std::env::var_os("GADGETRT_DEBUG_CONTAINERS").is_some() {
        eprintln!("gadgetrt: containers: {msg}");
    }
    let mut log = DEBUG_LOG.lock().unwrap_or_else(|e| e.into_inner());
    if log.len() == DEBUG_KEPT {
        log.pop_front();
    }
    log.push_back(msg.to_string());
}

/// The last discovery messages (runtime hook decisions, watcher errors), oldest first: what
/// to look at when a container was not found.
pub fn recent_debug() -> Vec<String> {
    DEBUG_LOG.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect()
}

/// `$HOST_ROOT` (IG's prefix for host paths), without a trailing `/`.
pub fn host_root() -> String {
    std::env::var("HOST_ROOT").unwrap_or_default().trim_end_matches('/').to_string()
}

/// IG's cgroup id: the `0::` (cgroup v2) path of `/proc/<pid>/cgroup` under the cgroup-v2
/// mount (`/sys/fs/cgroup`, or `/sys/fs/cgroup/unified` on hybrid hosts). IG takes the
/// 8-byte `name_to_handle_at` handle of that directory: on cgroup2 (kernfs) it is the node
/// id, which is also the directory's inode number and `bpf_get_current_cgroup_id()`.
pub fn cgroup_id_of(pid: u32) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let root = host_root();
    let text = std::fs::read_to_string(format!("{root}/proc/{pid}/cgroup")).ok()?;
    let path = text.lines().find_map(|l| l.strip_prefix("0::"))?.trim();
    let mount = cgroup2_mount()?;
    let dir = format!("{root}{mount}{}", if path == "/" { "" } else { path });
    Some(std::fs::metadata(dir).ok()?.ino())
}

/// The cgroup-v2 mount point, as IG looks for it.
fn cgroup2_mount() -> Option<&'static str> {
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    static M: OnceLock<Option<&'static str>> = OnceLock::new();
    *M.get_or_init(|| {
        ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"].into_iter().find(|p| {
            let Ok(c) = std::ffi::CString::new(format!("{}{p}", host_root())) else { return false };
            // SAFETY: statfs(2) on a NUL-terminated path into a zeroed, owned statfs struct.
            let mut st: libc::statfs = unsafe { std::mem::zeroed() };
            unsafe { libc::statfs(c.as_ptr(), &mut st) == 0 && st.f_type as i64 == CGROUP2_SUPER_MAGIC }
        })
    })
}

/// `config.json` in the cwd of `pid`'s parent (the runtime shim's bundle directory).
fn oci_config_of(pid: u32) -> Option<String> {
    use std::io::Read;
    const MAX: u64 = 16 * 1024 * 1024;
    let root = host_root();
    let status = std::fs::read_to_string(format!("{root}/proc/{pid}/status")).ok()?;
    let ppid: u32 = status.lines().find_map(|l| l.strip_prefix("PPid:"))?.trim().parse().ok()?;
    let bundle = std::fs::read_link(format!("{root}/proc/{ppid}/cwd")).ok()?;
    let f = std::fs::File::open(format!("{root}{}/config.json", bundle.display())).ok()?;
    let mut s = String::new();
    f.take(MAX).read_to_string(&mut s).ok()?;
    Some(s)
}

fn host_netns() -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    static NETNS: OnceLock<Option<u64>> = OnceLock::new();
    *NETNS.get_or_init(|| std::fs::metadata(format!("{}/proc/1/ns/net", host_root())).ok().map(|m| m.ino()))
}

/// A change announced to subscribers.
#[derive(Clone, Debug)]
pub enum Change {
    Added(Arc<Container>),
    Removed(Arc<Container>),
}

/// Immutable lookup tables over the live containers (and the recently removed ones).
/// Several sources (runtimes, embedders of different runtimes) may know a namespace, so each
/// id maps to a list; lookups take the [`View`] of the asking gadget.
#[derive(Default, Debug)]
pub struct Index {
    by_mntns: HashMap<u64, Vec<Arc<Container>>>,
    by_netns: HashMap<u64, Vec<Arc<Container>>>,
    /// Removed containers and when they stop enriching.
    removed_by_mntns: HashMap<u64, Vec<(Instant, Arc<Container>)>>,
}

impl Index {
    pub fn is_empty(&self) -> bool {
        self.by_mntns.is_empty() && self.by_netns.is_empty() && self.removed_by_mntns.is_empty()
    }

    /// The container with this mount namespace that `view` sees, live or removed less than
    /// [`REMOVED_GRACE`] ago.
    pub fn by_mntns(&self, mntns: u64, view: &View) -> Option<&Arc<Container>> {
        if let Some(c) = self.by_mntns.get(&mntns).and_then(|v| v.iter().find(|c| view.sees(c))) {
            return Some(c);
        }
        // The most recently removed one: a namespace inode freed by an older container can
        // be reused by a newer one.
        let now = Instant::now();
        self.removed_by_mntns.get(&mntns)?.iter().filter(|(until, c)| now < *until && view.sees(c)).max_by_key(|(until, _)| *until).map(|(_, c)| c)
    }

    /// The live containers in this network namespace that `view` sees.
    pub fn by_netns(&self, netns: u64, view: &View) -> Vec<&Arc<Container>> {
        self.by_netns.get(&netns).map(|v| v.iter().filter(|c| view.sees(c)).collect()).unwrap_or_default()
    }
}

type Subscriber = Arc<dyn Fn(&Change) + Send + Sync>;

/// Where a container came from: a runtime watcher, or the embedder.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    #[default]
    Docker,
    /// containerd's own containers (outside Docker's `moby` namespace), see [`runc`].
    Containerd,
    /// podman's, through its Docker-compatible API ([`docker`]).
    Podman,
    /// Supplied by the embedder of the runtime with this id (`Runtime::add_container`),
    /// never touched by the watchers; seen only by that runtime's gadgets.
    Embedder(u64),
}

/// Which containers a gadget sees: its runtime's own (embedder-supplied) ones and, unless
/// the runtime turned discovery off, the discovered ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    /// The runtime's id (its `Source::Embedder` containers).
    pub runtime: u64,
    /// Whether discovered containers (Docker, ...) are seen.
    pub discovery: bool,
}

impl View {
    /// Every container (tests, tools without a runtime).
    pub const ALL: View = View { runtime: u64::MAX, discovery: true };

    pub fn sees(&self, c: &Container) -> bool {
        match c.source {
            Source::Embedder(r) => self.runtime == u64::MAX || r == self.runtime,
            _ => self.discovery,
        }
    }
}

#[derive(Default)]
struct State {
    /// Live containers by (source, id).
    live: BTreeMap<(Source, String), Arc<Container>>,
    removed: Vec<(Instant, Arc<Container>)>,
    subscribers: Vec<(u64, Subscriber)>,
    watchers: usize,
    docker: Option<docker::Watcher>,
    podman: Option<docker::Watcher>,
    hook: Option<runc::Hook>,
}

/// The process-wide container collection.
pub struct Collection {
    state: Mutex<State>,
    index: RwLock<Arc<Index>>,
    /// Bumped on every index change (lets readers keep their snapshot without locking).
    generation: AtomicU64,
    next_sub: AtomicU64,
    /// Signalled when a watcher finished its first listing.
    synced: (Mutex<u64>, Condvar),
}

impl Collection {
    fn new() -> Collection {
        Collection {
            state: Mutex::new(State::default()),
            index: RwLock::new(Arc::new(Index::default())),
            generation: AtomicU64::new(1),
            next_sub: AtomicU64::new(1),
            synced: (Mutex::new(0), Condvar::new()),
        }
    }

    /// The collection of this process.
    pub fn global() -> &'static Collection {
        static C: OnceLock<Collection> = OnceLock::new();
        C.get_or_init(Collection::new)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The generation of the current index (changes whenever the index does).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The current index snapshot.
    pub fn index(&self) -> Arc<Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Whether a container of `source` with this id is live.
    pub fn is_live(&self, source: Source, id: &str) -> bool {
        self.lock().live.contains_key(&(source, id.to_string()))
    }

    /// Live containers, in (source, id) order.
    pub fn containers(&self) -> Vec<Arc<Container>> {
        self.lock().live.values().cloned().collect()
    }

    /// Starts the runtime watchers if nobody watches yet and waits (at most `wait`) until they
    /// listed the running containers. The watchers stop when the last guard is dropped.
    pub fn watch(&'static self, wait: Duration) -> WatchGuard {
        let scan_containerd = {
            let mut st = self.lock();
            st.watchers += 1;
            let (docker_on, containerd_on) = (runtime_enabled("docker"), runtime_enabled("containerd"));
            if st.watchers == 1 && st.hook.is_none() && (docker_on || containerd_on) {
                // Started first: a container created during the Docker listing is caught.
                let sock = docker_on.then(docker::socket_path);
                match runc::Hook::start(self, sock, containerd_on) {
                    Ok(h) => st.hook = Some(h),
                    Err(e) => debug(&format!("no runc hook (containers are found after they start): {e}")),
                }
            }
            if st.docker.is_none() && docker_on {
                st.docker = Some(docker::Watcher::start(self, docker::socket_path(), Source::Docker));
            }
            if st.podman.is_none() && runtime_enabled("podman") {
                st.podman = Some(docker::Watcher::start(self, socket_path("podman"), Source::Podman));
            }
            st.watchers == 1 && containerd_on
        };
        if scan_containerd {
            // Outside the lock (adding takes it); the hook already catches new ones.
            for c in runc::scan_containerd() {
                self.add(Source::Containerd, c);
            }
        }
        self.wait_synced(wait);
        WatchGuard { c: self }
    }

    fn wait_synced(&self, wait: Duration) {
        let deadline = Instant::now() + wait;
        let flags: Vec<_> = {
            let st = self.lock();
            st.docker.iter().chain(st.podman.iter()).map(|d| d.synced_flag()).collect()
        };
        let (lock, cv) = &self.synced;
        let mut g = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if flags.iter().all(|f| f.load(Ordering::Acquire)) {
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            g = cv.wait_timeout(g, deadline - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Wakes [`Collection::watch`] callers; never called with the state lock held.
    pub(crate) fn notify_synced(&self) {
        let (lock, cv) = &self.synced;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        cv.notify_all();
    }

    fn unwatch(&self) {
        let docker = {
            let mut st = self.lock();
            st.watchers = st.watchers.saturating_sub(1);
            if st.watchers > 0 {
                return;
            }
            (st.docker.take(), st.podman.take(), st.hook.take())
        };
        // Join outside the lock: the watcher threads take it to publish changes.
        let (docker, podman, hook) = docker;
        for mut d in docker.into_iter().chain(podman) {
            d.stop();
        }
        if let Some(mut h) = hook {
            h.stop();
        }
        // Nobody watches: the runtime's containers would go stale.
        let mut st = self.lock();
        if st.watchers == 0 {
            let ids: Vec<(Source, String)> =
                st.live.keys().filter(|(s, _)| !matches!(s, Source::Embedder(_))).cloned().collect();
            for k in ids {
                self.remove_locked(&mut st, &k);
            }
            self.publish(&mut st);
        }
    }

    /// Calls `f` with every later change, and returns the live containers at subscription
    /// time (atomically: no change is missed or seen twice). `f` runs under the collection
    /// lock: it must not call back into the collection.
    pub fn subscribe(&'static self, f: impl Fn(&Change) + Send + Sync + 'static) -> (Subscription, Vec<Arc<Container>>) {
        let id = self.next_sub.fetch_add(1, Ordering::Relaxed);
        let mut st = self.lock();
        st.subscribers.push((id, Arc::new(f)));
        let now: Vec<Arc<Container>> = st.live.values().cloned().collect();
        (Subscription { c: Some(self), id }, now)
    }

    fn unsubscribe(&self, id: u64) {
        self.lock().subscribers.retain(|(i, _)| *i != id);
    }

    /// Adds (or replaces, by source and id) a container and tells the subscribers.
    pub fn add(&self, source: Source, c: Container) {
        let mut st = self.lock();
        self.add_locked(&mut st, source, c);
        self.publish(&mut st);
    }

    /// Removes a container by source and id; returns whether it was there.
    pub fn remove(&self, source: Source, id: &str) -> bool {
        let mut st = self.lock();
        let r = self.remove_locked(&mut st, &(source, id.to_string()));
        self.publish(&mut st);
        r
    }

    /// Removes every container of `source` (a runtime's embedder containers when it is freed).
    pub fn remove_source(&self, source: Source) {
        let mut st = self.lock();
        let ids: Vec<(Source, String)> = st.live.keys().filter(|(s, _)| *s == source).cloned().collect();
        if ids.is_empty() {
            return;
        }
        for k in ids {
            self.remove_locked(&mut st, &k);
        }
        self.publish(&mut st);
    }

    /// Makes `source`'s containers exactly `now` (a runtime's fresh listing).
    pub(crate) fn reconcile(&self, source: Source, now: Vec<Container>) {
        let mut st = self.lock();
        let keep: std::collections::HashSet<&str> = now.iter().map(|c| c.id.as_str()).collect();
        let gone: Vec<(Source, String)> =
            st.live.keys().filter(|(s, id)| *s == source && !keep.contains(id.as_str())).cloned().collect();
        for k in gone {
            self.remove_locked(&mut st, &k);
        }
        for c in now {
            self.add_locked(&mut st, source, c);
        }
        self.publish(&mut st);
    }

    fn add_locked(&self, st: &mut State, source: Source, mut c: Container) {
        c.source = source;
        let key = (source, c.id.clone());
        if st.live.get(&key).is_some_and(|old| **old == c) {
            return;
        }
        if st.live.contains_key(&key) {
            self.remove_locked(st, &key);
        }
        let c = Arc::new(c);
        st.live.insert(key, c.clone());
        let ch = Change::Added(c);
        for (_, s) in &st.subscribers {
            s(&ch);
        }
    }

    fn remove_locked(&self, st: &mut State, key: &(Source, String)) -> bool {
        let Some(c) = st.live.remove(key) else { return false };
        st.removed.push((Instant::now() + REMOVED_GRACE, c.clone()));
        let ch = Change::Removed(c);
        for (_, s) in &st.subscribers {
            s(&ch);
        }
        true
    }

    /// Rebuilds the index from the state.
    fn publish(&self, st: &mut State) {
        let now = Instant::now();
        st.removed.retain(|(until, _)| *until > now);
        let mut ix = Index::default();
        for (until, c) in &st.removed {
            if c.mntns != 0 {
                ix.removed_by_mntns.entry(c.mntns).or_default().push((*until, c.clone()));
            }
        }
        for c in st.live.values() {
            if c.mntns != 0 {
                ix.by_mntns.entry(c.mntns).or_default().push(c.clone());
            }
            if c.netns != 0 {
                ix.by_netns.entry(c.netns).or_default().push(c.clone());
            }
        }
        *self.index.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(ix);
        self.generation.fetch_add(1, Ordering::AcqRel);
    }
}

/// Keeps the runtime watchers running; see [`Collection::watch`].
pub struct WatchGuard {
    c: &'static Collection,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.c.unwatch();
    }
}

/// Ends a [`Collection::subscribe`] subscription when dropped.
pub struct Subscription {
    c: Option<&'static Collection>,
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(c) = self.c.take() {
            c.unsubscribe(self.id);
        }
    }
}

/// A gadget's mount-namespace filter as the shared set the host side consults
/// (`shouldDiscardMntnsID`).
pub type MntnsSet = Arc<RwLock<std::collections::HashSet<u64>>>;

/// Keeps a gadget's mount-namespace filter (the host-side set and, once loaded, the eBPF
/// `gadget_mntns_filter_map`) equal to the embedder's fixed ids plus the mount namespaces of
/// the containers matching a selector, as containers come and go (IG's tracer-collection
/// mntns map updates). Dropping it ends the updates.
pub struct FilterUpdater {
    inner: Arc<Mutex<FilterInner>>,
    _sub: Subscription,
}

struct FilterInner {
    set: MntnsSet,
    /// Reference counts of container mount namespaces in the set.
    counts: HashMap<u64, usize>,
    /// The counted containers and their mount namespace: only their removal uncounts. (A
    /// removed container that was not selected can share the namespace inode of a selected
    /// one: the kernel reuses the inode of a dead container's namespace, and the runtime may
    /// report the death after the new container started.)
    members: HashMap<(Source, String), u64>,
    base: std::collections::HashSet<u64>,
    map: Option<Arc<crate::ebpf::maps::RawMap>>,
    selector: Selector,
    view: View,
}

impl FilterInner {
    fn apply(&mut self, ch: &Change) {
        match ch {
            Change::Added(c) => {
                // IG skips containers with neither a runtime nor a k8s name (pause containers).
                if c.mntns == 0
                    || (c.name.is_empty() && c.k8s_container.is_empty())
                    || !self.view.sees(c)
                    || !self.selector.matches(c)
                {
                    return;
                }
                if let Some(old) = self.members.insert((c.source, c.id.clone()), c.mntns) {
                    // Counted already (a re-add without a removal): count it once.
                    self.uncount(old);
                }
                let n = self.counts.entry(c.mntns).or_insert(0);
                *n += 1;
                if *n == 1 {
                    self.set.write().unwrap_or_else(|e| e.into_inner()).insert(c.mntns);
                    if let Some(m) = &self.map {
                        let _ = m.update(&c.mntns.to_ne_bytes(), &1u32.to_ne_bytes(), 0);
                    }
                }
            }
            Change::Removed(c) => {
                if let Some(mntns) = self.members.remove(&(c.source, c.id.clone())) {
                    self.uncount(mntns);
                }
            }
        }
    }

    fn uncount(&mut self, mntns: u64) {
        let Some(n) = self.counts.get_mut(&mntns) else { return };
        *n -= 1;
        if *n > 0 {
            return;
        }
        self.counts.remove(&mntns);
        if self.base.contains(&mntns) {
            return;
        }
        self.set.write().unwrap_or_else(|e| e.into_inner()).remove(&mntns);
        if let Some(m) = &self.map {
            let _ = m.delete(&mntns.to_ne_bytes());
        }
    }
}

impl FilterUpdater {
    /// Starts following `col` for `selector`; `base` are ids always kept (the embedder's own
    /// filter). Returns the updater and the shared set, already holding the matching
    /// containers' mount namespaces.
    pub fn start(
        col: &'static Collection,
        view: View,
        selector: Selector,
        base: std::collections::HashSet<u64>,
    ) -> (FilterUpdater, MntnsSet) {
        let set: MntnsSet = Arc::new(RwLock::new(base.clone()));
        let inner =
            Arc::new(Mutex::new(FilterInner { set: set.clone(), counts: HashMap::new(), members: HashMap::new(), base, map: None, selector, view }));
        let i2 = inner.clone();
        let (sub, now) = col.subscribe(move |ch| i2.lock().unwrap_or_else(|e| e.into_inner()).apply(ch));
        {
            let mut g = inner.lock().unwrap_or_else(|e| e.into_inner());
            for c in now {
                g.apply(&Change::Added(c));
            }
        }
        (FilterUpdater { inner, _sub: sub }, set)
    }

    /// From now on also updates `map` (the loaded `gadget_mntns_filter_map`), after making
    /// it equal to the set (containers may have come or gone while the gadget loaded).
    pub fn attach_map(&self, map: Arc<crate::ebpf::maps::RawMap>) -> std::io::Result<()> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let want: std::collections::HashSet<u64> = g.set.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut have = Vec::new();
        let mut key = [0u8; 8];
        let mut prev: Option<[u8; 8]> = None;
        while map.next_key(prev.as_ref().map(|k| &k[..]), &mut key)? {
            have.push(u64::from_ne_bytes(key));
            prev = Some(key);
        }
        for id in have.iter().filter(|id| !want.contains(id)) {
            map.delete(&id.to_ne_bytes())?;
        }
        for id in &want {
            map.update(&id.to_ne_bytes(), &1u32.to_ne_bytes(), 0)?;
        }
        g.map = Some(map);
        Ok(())
    }
}

/// IG's container selector (`common.NewContainerSelector` + `ContainerSelectorMatches`):
/// comma lists of exact values, `!v` excludes, exclusions win, an empty filter matches all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    pub container_name: String,
    pub image_id: String,
    pub image_digest: String,
    pub k8s_namespace: String,
    pub k8s_pod: String,
    pub k8s_container: String,
    /// `k=v` pairs (`k8s-selector`); a value `!v` means "present and not v", a key `!k`
    /// excludes containers whose label k matches.
    pub labels: Vec<(String, String)>,
}

/// The selector params LocalManager offers (IG `GetContainerSelectorParams(false)`): key,
/// alternative key, alias.
pub const SELECTOR_PARAMS: [(&str, &str, &str); 7] = [
    ("k8s-podname", "", ""),
    ("k8s-namespace", "", ""),
    ("k8s-selector", "", ""),
    ("k8s-containername", "", ""),
    ("containername", "runtime-containername", "c"),
    ("runtime-containerimage-digest", "", ""),
    ("runtime-containerimage-id", "", ""),
];

impl Selector {
    /// The selector from operator param values (keys as [`crate::params::operator_key`]
    /// normalises them).
    pub fn from_params(p: &BTreeMap<String, String>) -> Selector {
        let get = |k: &str| p.get(k).cloned().unwrap_or_default();
        let labels = get("k8s-selector")
            .split(',')
            .filter_map(|kv| {
                let v: Vec<&str> = kv.split('=').collect();
                (v.len() == 2).then(|| (v[0].to_string(), v[1].to_string()))
            })
            .collect();
        Selector {
            container_name: get("containername"),
            image_id: get("runtime-containerimage-id"),
            image_digest: get("runtime-containerimage-digest"),
            k8s_namespace: get("k8s-namespace"),
            k8s_pod: get("k8s-podname"),
            k8s_container: get("k8s-containername"),
            labels,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Selector::default()
    }

    pub fn matches(&self, c: &Container) -> bool {
        match_list(&self.k8s_namespace, &c.k8s_namespace)
            && match_list(&self.k8s_pod, &c.k8s_pod)
            && match_list(&self.k8s_container, &c.k8s_container)
            && match_list(&self.container_name, &c.name)
            && match_cleaned(&self.image_id, &c.image_id)
            && match_cleaned(&self.image_digest, &c.image_digest)
            && self.labels.iter().all(|(k, v)| match k.strip_prefix('!') {
                Some(k) => !c.pod_labels.get(k).is_some_and(|cv| match_list(v, cv)),
                None => c.pod_labels.get(k).is_some_and(|cv| match_list(v, cv)),
            })
    }
}

/// IG `matchFilterString`.
fn match_list(filter: &str, value: &str) -> bool {
    if filter.is_empty() {
        return true;
    }
    match_parts(filter.split(','), value)
}

fn match_parts<'a>(parts: impl Iterator<Item = &'a str>, value: &str) -> bool {
    let (mut matched, mut inclusion) = (false, false);
    for part in parts {
        match part.strip_prefix('!') {
            Some(excl) if excl == value => return false,
            Some(_) => {}
            None => {
                inclusion = true;
                matched |= part == value;
            }
        }
    }
    !inclusion || matched
}

/// IG `cleanDigest`: the algorithm prefix stripped, then at most 12 characters.
fn clean_digest(d: &str) -> &str {
    let d = d.split_once(':').map(|(_, r)| r).unwrap_or(d);
    d.get(..12).unwrap_or(d)
}

/// IG `matchFilterWithCleaner(…, cleanDigest, …)`.
fn match_cleaned(filter: &str, value: &str) -> bool {
    if filter.is_empty() {
        return true;
    }
    let parts: Vec<String> = filter
        .split(',')
        .map(|p| match p.strip_prefix('!') {
            Some(x) => format!("!{}", clean_digest(x)),
            None => clean_digest(p).to_string(),
        })
        .collect();
    match_parts(parts.iter().map(String::as_str), clean_digest(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str) -> Container {
        Container { id: format!("id-{name}"), name: name.into(), ..Default::default() }
    }

    #[test]
    fn selector_matches_like_ig() {
        let sel = |n: &str| Selector { container_name: n.into(), ..Default::default() };
        assert!(sel("").matches(&c("a")));
        assert!(sel("a,b").matches(&c("a")));
        assert!(!sel("a,b").matches(&c("x")));
        assert!(!sel("!a").matches(&c("a")));
        assert!(sel("!a").matches(&c("x")));
        assert!(!sel("a,!a").matches(&c("a")), "exclusions win");
        let img = Selector { image_id: "sha256:3e06fac2b557cab9".into(), ..Default::default() };
        let mut x = c("x");
        x.image_id = "sha256:3e06fac2b557ffff".into();
        assert!(img.matches(&x), "12-hex prefix match");
        x.image_id = "sha256:3e06fac2b558".into();
        assert!(!img.matches(&x));
        let lab = Selector { labels: vec![("app".into(), "!web".into())], ..Default::default() };
        let mut y = c("y");
        assert!(!lab.matches(&y), "label must be present");
        y.pod_labels.insert("app".into(), "db".into());
        assert!(lab.matches(&y));
        y.pod_labels.insert("app".into(), "web".into());
        assert!(!lab.matches(&y));
        let ex = Selector { labels: vec![("!app".into(), "web".into())], ..Default::default() };
        assert!(!ex.matches(&y));
        let mut p = BTreeMap::new();
        p.insert("containername".to_string(), "a,!b".to_string());
        p.insert("k8s-selector".to_string(), "x=1,bad".to_string());
        let s = Selector::from_params(&p);
        assert_eq!(s.container_name, "a,!b");
        assert_eq!(s.labels, vec![("x".to_string(), "1".to_string())]);
    }

    #[test]
    fn discovery_options_by_flag_name() {
        assert!(set_discovery_option("bogus", "x").unwrap_err().contains("unknown container discovery option"));
        assert!(set_discovery_option("runtimes", "docker,x").is_err());
        assert_eq!(config(), DiscoveryConfig::default(), "a failed call changes nothing");
    }

    #[test]
    fn runtimes_flag_values() {
        assert_eq!(parse_runtimes("docker, podman,docker").unwrap(), ["docker", "podman"]);
        assert!(parse_runtimes("none").unwrap().is_empty());
        assert!(parse_runtimes("").unwrap().is_empty());
        let e = parse_runtimes("docker,rkt").unwrap_err();
        assert!(e.contains("\"rkt\"") && e.contains("cri-o"), "{e}");
    }

    #[test]
    fn index_keeps_removed_containers_briefly() {
        let col = Collection::new();
        let mut a = c("a");
        a.mntns = 42;
        a.netns = 7;
        col.add(Source::Embedder(1), a);
        let v = View { runtime: 1, discovery: false };
        assert_eq!(col.index().by_mntns(42, &v).map(|c| c.name.as_str()), Some("a"));
        assert_eq!(col.index().by_netns(7, &v).len(), 1);
        let other = View { runtime: 2, discovery: true };
        assert!(col.index().by_mntns(42, &other).is_none(), "another runtime does not see it");
        let g = col.generation();
        assert!(col.remove(Source::Embedder(1), "id-a"));
        assert!(col.generation() > g);
        let ix = col.index();
        assert_eq!(ix.by_mntns(42, &v).map(|c| c.name.as_str()), Some("a"), "still enriches within the grace period");
        assert!(ix.by_netns(7, &v).is_empty());
        assert!(!col.remove(Source::Embedder(1), "id-a"));
    }

    #[test]
    fn removing_an_unselected_container_keeps_a_selected_one_with_the_same_mntns() {
        let col: &'static Collection = Box::leak(Box::new(Collection::new()));
        let sel = Selector { container_name: "b".into(), ..Default::default() };
        let (_u, set) = FilterUpdater::start(col, View::ALL, sel, Default::default());
        let (mut x, mut b) = (c("x"), c("b"));
        (x.mntns, b.mntns) = (42, 42);
        // x died and the kernel gave its namespace inode to b; the runtime reports x's death
        // after b started.
        col.add(Source::Docker, x);
        col.add(Source::Docker, b);
        assert!(set.read().unwrap().contains(&42));
        col.remove(Source::Docker, "id-x");
        assert!(set.read().unwrap().contains(&42), "b is still selected");
        col.remove(Source::Docker, "id-b");
        assert!(!set.read().unwrap().contains(&42));
    }

    #[test]
    fn a_reused_mount_namespace_enriches_as_the_newest_container() {
        let col = Collection::new();
        let v = View::ALL;
        let mut a = c("a");
        a.mntns = 42;
        col.add(Source::Docker, a);
        col.remove(Source::Docker, "id-a");
        // The kernel hands the freed namespace inode to a later container.
        let mut b = c("b");
        b.mntns = 42;
        col.add(Source::Docker, b);
        assert_eq!(col.index().by_mntns(42, &v).map(|c| c.name.as_str()), Some("b"), "the live one wins");
        std::thread::sleep(Duration::from_millis(5));
        col.remove(Source::Docker, "id-b");
        assert_eq!(col.index().by_mntns(42, &v).map(|c| c.name.as_str()), Some("b"), "the most recently removed one wins");
    }
}
