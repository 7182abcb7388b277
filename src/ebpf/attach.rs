//! Attach helpers for program types aya 0.14 leaves to the caller, following
//! Inspektor Gadget v0.55.0 (`pkg/operators/ebpf/attach.go`,
//! `pkg/uprobetracer`, `pkg/networktracer`):
//!
//! * uprobe targets: library names resolved through `/etc/ld.so.cache`
//!   ([`resolve_library`]);
//! * `perf_event` programs: one software CPU-clock sampling event per online
//!   CPU ([`PerfSampling`], [`open_perf_events`]);
//! * socket filters: IG's dispatcher (writes the netns inode into
//!   `skb->cb[0]`, then tail-calls the gadget program) on an `AF_PACKET` raw
//!   socket in the host network namespace ([`SocketAttachment`]).

use std::collections::HashSet;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

// ---------------------------------------------------------------------------
// uprobe targets: ld.so.cache
// ---------------------------------------------------------------------------

/// IG reads at most this much of `ld.so.cache`.
const LD_CACHE_MAX_SIZE: u64 = 16 << 20;
/// IG returns at most this many matches.
const LD_CACHE_MAX_RESULTS: usize = 64;
const CACHE1_MAGIC: &[u8] = b"ld.so-1.7.0";
const CACHE2_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";

fn rd32(d: &[u8], off: usize) -> Option<u32> {
    d.get(off..off + 4).map(|b| u32::from_ne_bytes(b.try_into().unwrap()))
}

fn cstr_at(d: &[u8], off: usize) -> Option<&[u8]> {
    let rest = d.get(off..)?;
    Some(&rest[..rest.iter().position(|&c| c == 0).unwrap_or(rest.len())])
}

/// Paths of the libraries whose `ld.so.cache` key starts with `<lib>.so`
/// (IG's rule: `libc` matches `libc.so.6`, not `libcap.so.2`; no hwcap or
/// architecture filtering; at most 64). Both cache formats are read; in the
/// combined format (old table followed by a new one) the new table is used,
/// as glibc does.
pub fn ld_cache_lookup(data: &[u8], lib: &str) -> Result<Vec<String>> {
    let prefix = format!("{lib}.so");
    let matches = |key: &[u8]| key.starts_with(prefix.as_bytes());
    let mut out = Vec::new();
    let new_format = |d: &[u8], out: &mut Vec<String>| -> Result<()> {
        // 20-byte magic+version, nlibs, len_strings, 5 unused words: 48 bytes; entries of 24.
        let n = rd32(d, 20).ok_or_else(|| anyhow!("ld.so.cache: truncated header"))? as usize;
        let n = n.min(d.len().saturating_sub(48) / 24);
        for i in 0..n {
            let e = 48 + i * 24;
            let (Some(k), Some(v)) = (rd32(d, e + 4), rd32(d, e + 8)) else { break };
            if cstr_at(d, k as usize).is_some_and(matches) {
                if let Some(v) = cstr_at(d, v as usize) {
                    out.push(String::from_utf8_lossy(v).into_owned());
                    if out.len() >= LD_CACHE_MAX_RESULTS {
                        break;
                    }
                }
            }
        }
        Ok(())
    };
    if data.starts_with(CACHE1_MAGIC) {
        let n = rd32(data, 12).ok_or_else(|| anyhow!("ld.so.cache: truncated header"))? as usize;
        let table_end = 16usize.saturating_add(n.saturating_mul(12));
        let new_at = table_end.div_ceil(8).saturating_mul(8);
        if data.get(new_at..).is_some_and(|d| d.starts_with(CACHE2_MAGIC)) {
            new_format(&data[new_at..], &mut out)?;
        } else {
            let n = n.min(data.len().saturating_sub(16) / 12);
            let strings = 16 + n * 12;
            for i in 0..n {
                let e = 16 + i * 12;
                let (Some(k), Some(v)) = (rd32(data, e + 4), rd32(data, e + 8)) else { break };
                if cstr_at(data, strings + k as usize).is_some_and(matches) {
                    if let Some(v) = cstr_at(data, strings + v as usize) {
                        out.push(String::from_utf8_lossy(v).into_owned());
                        if out.len() >= LD_CACHE_MAX_RESULTS {
                            break;
                        }
                    }
                }
            }
        }
    } else if data.starts_with(CACHE2_MAGIC) {
        new_format(data, &mut out)?;
    } else {
        bail!("ld.so.cache: unknown format");
    }
    Ok(out)
}

/// Resolves a uprobe `<file>` the way IG does for the host: an absolute path
/// as it is, a bare library name (no `/`) through `/etc/ld.so.cache`. Paths
/// naming the same file (symlinks, merged /usr) are reported once.
pub fn resolve_library(file: &str) -> Result<Vec<PathBuf>> {
    resolve_library_in(Path::new("/etc/ld.so.cache"), file)
}

pub fn resolve_library_in(cache: &Path, file: &str) -> Result<Vec<PathBuf>> {
    if file.starts_with('/') {
        return Ok(vec![PathBuf::from(file)]);
    }
    if file.is_empty() || file.contains('/') {
        bail!("uprobe file {file:?} must be an absolute path or a library name without '/'");
    }
    let mut data = Vec::new();
    use std::io::Read;
    std::fs::File::open(cache)
        .with_context(|| format!("reading {}", cache.display()))?
        .take(LD_CACHE_MAX_SIZE)
        .read_to_end(&mut data)
        .with_context(|| format!("reading {}", cache.display()))?;
    let paths = ld_cache_lookup(&data, file).with_context(|| format!("parsing {}", cache.display()))?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for p in paths {
        use std::os::unix::fs::MetadataExt;
        match std::fs::metadata(&p) {
            Ok(m) if m.is_file() => {
                if seen.insert((m.dev(), m.ino())) {
                    out.push(PathBuf::from(p));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// perf_event programs
// ---------------------------------------------------------------------------

/// IG's sampling settings for a `perf_event/<name>` program, from the config
/// keys `programs.<name>.perf.{type,config,sampleType}` and
/// `programs.<name>.sampler.frequency` (all mandatory; only
/// `software`/`count_sw_cpu_clock`/`sample_raw` are accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerfSampling {
    pub frequency: u64,
}

impl PerfSampling {
    /// Reads and validates the settings for section suffix `name` from the
    /// gadget config (`programs:` block of gadget.yaml / `setConfig`).
    pub fn from_config(config: &serde_yaml::Value, name: &str) -> Result<PerfSampling> {
        let prog = config.get("programs").and_then(|p| p.get(name));
        let get = |path: &[&str]| -> Option<String> {
            let mut v = prog?;
            for p in path {
                v = v.get(*p)?;
            }
            match v {
                serde_yaml::Value::String(s) => Some(s.clone()),
                serde_yaml::Value::Number(n) => Some(n.to_string()),
                _ => None,
            }
        };
        let need = |path: &[&str], want: &str| -> Result<()> {
            let key = format!("programs.{name}.{}", path.join("."));
            match get(path) {
                None => bail!("perf_event program {name}: missing config key {key}"),
                Some(v) if v == want => Ok(()),
                Some(v) => bail!("perf_event program {name}: {key} = {v:?} is not supported (only {want:?})"),
            }
        };
        need(&["perf", "type"], "software")?;
        need(&["perf", "config"], "count_sw_cpu_clock")?;
        need(&["perf", "sampleType"], "sample_raw")?;
        let key = format!("programs.{name}.sampler.frequency");
        let f = get(&["sampler", "frequency"]).ok_or_else(|| anyhow!("perf_event program {name}: missing config key {key}"))?;
        let frequency: u64 = f.trim().parse().map_err(|_| anyhow!("perf_event program {name}: {key} = {f:?} is not a number"))?;
        if frequency == 0 {
            bail!("perf_event program {name}: {key} must be > 0");
        }
        Ok(PerfSampling { frequency })
    }
}

const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_COUNT_SW_CPU_CLOCK: u64 = 0;
const PERF_SAMPLE_RAW: u64 = 1 << 10;
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
const PERF_EVENT_IOC_DISABLE: libc::c_ulong = 0x2401;
const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 8;

/// One sampling perf event per CPU, with the program attached; disabled and
/// closed on drop (IG: `PERF_EVENT_IOC_DISABLE`, then close).
#[derive(Debug)]
pub struct PerfEvents {
    fds: Vec<OwnedFd>,
}

impl PerfEvents {
    pub fn cpus(&self) -> usize {
        self.fds.len()
    }
}

impl Drop for PerfEvents {
    fn drop(&mut self) {
        for fd in &self.fds {
            // SAFETY: ioctl on an owned perf event fd.
            unsafe { libc::ioctl(fd.as_raw_fd(), PERF_EVENT_IOC_DISABLE as _, 0) };
        }
    }
}

/// Online CPUs from `/sys/devices/system/cpu/online` (`0-3,5`).
pub fn online_cpus() -> Result<Vec<u32>> {
    let s = std::fs::read_to_string("/sys/devices/system/cpu/online").context("reading /sys/devices/system/cpu/online")?;
    let mut out = Vec::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.parse()?, b.parse()?);
        out.extend(a..=b);
    }
    Ok(out)
}

/// IG's attach for `SEC("perf_event")`: on every online CPU,
/// `perf_event_open({SOFTWARE, CPU_CLOCK, freq=1, sample_freq, sample_type=RAW},
/// pid -1, cpu)`, then `PERF_EVENT_IOC_SET_BPF` and `PERF_EVENT_IOC_ENABLE`.
/// (IG counts CPUs with Go's NumCPU; the online list is what it means.)
pub fn open_perf_events(prog: BorrowedFd<'_>, s: &PerfSampling) -> Result<PerfEvents> {
    let mut fds = Vec::new();
    for cpu in online_cpus()? {
        // struct perf_event_attr, PERF_ATTR_SIZE_VER0 fields are enough.
        let mut attr = [0u8; 128];
        attr[0..4].copy_from_slice(&PERF_TYPE_SOFTWARE.to_ne_bytes());
        attr[4..8].copy_from_slice(&128u32.to_ne_bytes());
        attr[8..16].copy_from_slice(&PERF_COUNT_SW_CPU_CLOCK.to_ne_bytes());
        attr[16..24].copy_from_slice(&s.frequency.to_ne_bytes()); // sample_freq
        attr[24..32].copy_from_slice(&PERF_SAMPLE_RAW.to_ne_bytes());
        let flags: u64 = 1 << 10; // freq
        attr[40..48].copy_from_slice(&flags.to_ne_bytes());
        // SAFETY: perf_event_open with a valid attr buffer.
        let fd = unsafe {
            libc::syscall(libc::SYS_perf_event_open, attr.as_ptr(), -1i32, cpu as i32, -1i32, PERF_FLAG_FD_CLOEXEC)
        };
        if fd < 0 {
            let e = io::Error::last_os_error();
            bail!("perf_event_open (software cpu-clock, {} Hz) on cpu {cpu}: {e}", s.frequency);
        }
        // SAFETY: fresh fd.
        let fd = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
        // SAFETY: ioctls on the fd we own.
        if unsafe { libc::ioctl(fd.as_raw_fd(), PERF_EVENT_IOC_SET_BPF as _, prog.as_raw_fd()) } < 0 {
            bail!("PERF_EVENT_IOC_SET_BPF on cpu {cpu}: {}", io::Error::last_os_error());
        }
        if unsafe { libc::ioctl(fd.as_raw_fd(), PERF_EVENT_IOC_ENABLE as _, 0) } < 0 {
            bail!("PERF_EVENT_IOC_ENABLE on cpu {cpu}: {}", io::Error::last_os_error());
        }
        fds.push(fd);
    }
    Ok(PerfEvents { fds })
}

// ---------------------------------------------------------------------------
// socket filters
// ---------------------------------------------------------------------------

const BPF_MAP_CREATE: i64 = 0;
const BPF_MAP_UPDATE_ELEM: i64 = 2;
const BPF_PROG_LOAD: i64 = 5;
const BPF_MAP_TYPE_PROG_ARRAY: u32 = 3;
const BPF_PROG_TYPE_SOCKET_FILTER: u32 = 1;

use super::loader::raw::{put32, put64, sys_bpf};

/// The network namespace inode of `/proc/<pid>/ns/net` (`self` for ours).
pub fn netns_inode(pid: &str) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata(format!("/proc/{pid}/ns/net"))?.ino())
}

/// The one-entry PROG_ARRAY (key 4, value 4) holding a gadget's socket filter or tc
/// classifier in slot 0, shared by every dispatcher of that program (IG's `tail_call` /
/// `gadget_tail_call` map).
#[derive(Debug)]
pub struct ProgArray {
    fd: OwnedFd,
}

impl ProgArray {
    pub fn new(prog: BorrowedFd<'_>, name: &str) -> Result<ProgArray> {
        let mut a = [0u8; 72];
        put32(&mut a, 0, BPF_MAP_TYPE_PROG_ARRAY);
        put32(&mut a, 4, 4);
        put32(&mut a, 8, 4);
        put32(&mut a, 12, 1);
        let n = name.len().min(15);
        a[28..28 + n].copy_from_slice(&name.as_bytes()[..n]); // map_name
        let pa = sys_bpf(BPF_MAP_CREATE, &mut a).context("creating the dispatcher's PROG_ARRAY")?;
        // SAFETY: fresh fd.
        let fd = unsafe { OwnedFd::from_raw_fd(pa as RawFd) };
        let key = 0u32.to_ne_bytes();
        let val = (prog.as_raw_fd() as u32).to_ne_bytes();
        let mut u = [0u8; 32];
        put32(&mut u, 0, fd.as_raw_fd() as u32);
        put64(&mut u, 8, key.as_ptr() as u64);
        put64(&mut u, 16, val.as_ptr() as u64);
        sys_bpf(BPF_MAP_UPDATE_ELEM, &mut u).context("putting the program into the dispatcher's PROG_ARRAY")?;
        Ok(ProgArray { fd })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Runs `f` on a short-lived thread that entered the network namespace `ns` (a
/// `/proc/<pid>/ns/net` path), as IG does with a locked OS thread and `setns`. `None` runs it
/// here, in the caller's namespace. Descriptors created inside stay bound to that namespace.
pub fn in_netns<T: Send>(ns: Option<&Path>, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let Some(ns) = ns else { return f() };
    let file = std::fs::File::open(ns).with_context(|| format!("opening {}", ns.display()))?;
    std::thread::scope(|s| {
        s.spawn(move || {
            // SAFETY: setns on a namespace fd we own, for this thread only.
            if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } < 0 {
                bail!("entering the network namespace {}: {}", ns.display(), io::Error::last_os_error());
            }
            f()
        })
        .join()
        .map_err(|_| anyhow!("network namespace worker panicked"))?
    })
}

/// A socket filter attached as IG's networktracer does it: the gadget program sits in slot
/// 0 of a one-entry PROG_ARRAY; a dispatcher program (`ig_net_disp`) stores the netns inode
/// in `skb->cb[0]`, tail-calls slot 0 and returns 0 if that fails; the dispatcher is
/// attached (`SO_ATTACH_BPF`) to an `AF_PACKET`/`SOCK_RAW`/`ETH_P_ALL` socket bound to all
/// interfaces of one network namespace. Closing the socket detaches everything.
#[derive(Debug)]
pub struct SocketAttachment {
    _sock: OwnedFd,
    _dispatcher: OwnedFd,
    _prog_array: Option<OwnedFd>,
    pub netns: u64,
}

impl SocketAttachment {
    /// Attaches `prog` in the network namespace of this thread (IG: the host's, i.e. PID
    /// 1's, with `--host`), with a PROG_ARRAY of its own.
    pub fn attach(prog: BorrowedFd<'_>) -> Result<SocketAttachment> {
        let pa = ProgArray::new(prog, "tail_call")?;
        let mut a = Self::attach_in(&pa, None)?;
        a._prog_array = Some(pa.fd);
        Ok(a)
    }

    /// Attaches the program in `pa` in the network namespace `ns` (`/proc/<pid>/ns/net`;
    /// `None`: this thread's), with `skb->cb[0]` = that namespace's inode.
    pub fn attach_in(pa: &ProgArray, ns: Option<&Path>) -> Result<SocketAttachment> {
        use std::os::unix::fs::MetadataExt;
        let netns = match ns {
            Some(p) => std::fs::metadata(p).with_context(|| format!("reading {}", p.display()))?.ino(),
            None => netns_inode("thread-self").or_else(|_| netns_inode("self")).context("reading the netns inode")?,
        };
        let dispatcher = load_dispatcher(BPF_PROG_TYPE_SOCKET_FILTER, pa.fd(), netns as u32, 0)
            .context("loading the socket-filter dispatcher")?;
        let sock = in_netns(ns, || open_packet_socket(dispatcher.as_fd()))?;
        Ok(SocketAttachment { _sock: sock, _dispatcher: dispatcher, _prog_array: None, netns })
    }
}

fn open_packet_socket(dispatcher: BorrowedFd<'_>) -> Result<OwnedFd> {
    // SAFETY: plain socket(2).
    let proto = (libc::ETH_P_ALL as u16).to_be();
    let s = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, i32::from(proto)) };
    if s < 0 {
        bail!("socket(AF_PACKET, SOCK_RAW): {}", io::Error::last_os_error());
    }
    // SAFETY: fresh fd.
    let sock = unsafe { OwnedFd::from_raw_fd(s) };
    // SAFETY: zeroed sockaddr_ll is valid.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto;
    sll.sll_ifindex = 0;
    // SAFETY: bind with a sockaddr_ll of the right size.
    if unsafe {
        libc::bind(sock.as_raw_fd(), &sll as *const _ as *const libc::sockaddr, std::mem::size_of::<libc::sockaddr_ll>() as u32)
    } < 0
    {
        bail!("bind(AF_PACKET): {}", io::Error::last_os_error());
    }
    let pfd = dispatcher.as_raw_fd();
    // SAFETY: setsockopt with an int option value.
    if unsafe { libc::setsockopt(sock.as_raw_fd(), libc::SOL_SOCKET, libc::SO_ATTACH_BPF, &pfd as *const _ as *const libc::c_void, 4) } < 0 {
        bail!("setsockopt(SO_ATTACH_BPF): {}", io::Error::last_os_error());
    }
    Ok(sock)
}

pub(crate) const BPF_PROG_TYPE_SCHED_CLS: u32 = 3;

/// IG's `ig_net_disp` (pkg/networktracer and pkg/tchandler, dispatcher.bpf.c),
/// hand-assembled: `*(u32 *)(r1 + 48) = netns; r2 = tail_call map; r3 = 0; tail_call;
/// r0 = fail; exit` (`fail`: 0 for socket filters, TC_ACT_UNSPEC (-1) for classifiers).
pub(crate) fn load_dispatcher(prog_type: u32, prog_array: BorrowedFd<'_>, netns: u32, fail: i32) -> io::Result<OwnedFd> {
    let fd = prog_array.as_raw_fd() as u32;
    let mut insns: Vec<u8> = Vec::new();
    let mut insn = |code: u8, dst: u8, src: u8, off: i16, imm: i32| {
        insns.push(code);
        insns.push((src << 4) | dst);
        insns.extend_from_slice(&off.to_ne_bytes());
        insns.extend_from_slice(&imm.to_ne_bytes());
    };
    // (BPF_ST into the context is refused by the verifier: go through r2.)
    insn(0xb4, 2, 0, 0, netns as i32); // w2 = netns
    insn(0x63, 1, 2, 48, 0); // *(u32 *)(r1 + 48) = r2: skb->cb[0]
    insn(0x18, 2, 1, 0, fd as i32); // ld_imm64 r2 = map fd (BPF_PSEUDO_MAP_FD)
    insn(0x00, 0, 0, 0, 0);
    insn(0xb7, 3, 0, 0, 0); // r3 = 0
    insn(0x85, 0, 0, 0, 12); // call bpf_tail_call
    insn(0xb7, 0, 0, 0, fail); // r0 = fail
    insn(0x95, 0, 0, 0, 0); // exit
    let license = b"GPL\0";
    let mut a = [0u8; 128];
    put32(&mut a, 0, prog_type);
    put32(&mut a, 4, (insns.len() / 8) as u32);
    put64(&mut a, 8, insns.as_ptr() as u64);
    put64(&mut a, 16, license.as_ptr() as u64);
    a[48..59].copy_from_slice(b"ig_net_disp");
    let r = sys_bpf(BPF_PROG_LOAD, &mut a)?;
    // SAFETY: fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(r as RawFd) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new-format cache with the given (key, value) entries.
    fn cache2(entries: &[(&str, &str)]) -> Vec<u8> {
        let mut strings = Vec::new();
        let base = 48 + entries.len() * 24;
        let mut recs = Vec::new();
        for (k, v) in entries {
            let ko = base + strings.len();
            strings.extend_from_slice(k.as_bytes());
            strings.push(0);
            let vo = base + strings.len();
            strings.extend_from_slice(v.as_bytes());
            strings.push(0);
            recs.push((ko as u32, vo as u32));
        }
        let mut d = Vec::new();
        d.extend_from_slice(CACHE2_MAGIC);
        d.extend_from_slice(&[0; 0]);
        while d.len() < 20 {
            d.push(0);
        }
        d.extend_from_slice(&(entries.len() as u32).to_ne_bytes());
        d.extend_from_slice(&(strings.len() as u32).to_ne_bytes());
        d.resize(48, 0);
        for (k, v) in recs {
            d.extend_from_slice(&0x303i32.to_ne_bytes());
            d.extend_from_slice(&k.to_ne_bytes());
            d.extend_from_slice(&v.to_ne_bytes());
            d.extend_from_slice(&[0; 12]);
        }
        d.extend_from_slice(&strings);
        d
    }

    #[test]
    fn ld_cache_prefix_rule() {
        let d = cache2(&[
            ("libcap.so.2", "/lib/libcap.so.2"),
            ("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
            ("libc.so.6", "/lib32/libc.so.6"),
            ("libcrypto.so.3", "/lib/libcrypto.so.3"),
        ]);
        assert_eq!(ld_cache_lookup(&d, "libc").unwrap(), ["/lib/x86_64-linux-gnu/libc.so.6", "/lib32/libc.so.6"]);
        assert_eq!(ld_cache_lookup(&d, "libcrypto").unwrap(), ["/lib/libcrypto.so.3"]);
        assert!(ld_cache_lookup(&d, "libcuda").unwrap().is_empty());
        assert!(ld_cache_lookup(b"garbage garbage garbage", "libc").is_err());
        // Old table followed by a new one (8-aligned): the new one is read.
        let mut combined = CACHE1_MAGIC.to_vec();
        combined.push(0);
        combined.extend_from_slice(&0u32.to_ne_bytes());
        combined.extend_from_slice(&d);
        assert_eq!(ld_cache_lookup(&combined, "libcrypto").unwrap(), ["/lib/libcrypto.so.3"]);
    }

    #[test]
    fn host_ld_cache_resolves_libc() {
        if !Path::new("/etc/ld.so.cache").exists() {
            return;
        }
        let libc = resolve_library("libc").unwrap();
        assert!(!libc.is_empty(), "libc not in /etc/ld.so.cache");
        assert!(resolve_library("libgadgetrt_no_such_library").unwrap().is_empty());
        assert!(resolve_library("a/b").is_err());
        assert_eq!(resolve_library("/x/y.so").unwrap(), [PathBuf::from("/x/y.so")]);
    }

    #[test]
    fn perf_sampling_config() {
        let y: serde_yaml::Value = serde_yaml::from_str(
            "programs:\n  profiler:\n    perf:\n      type: software\n      config: count_sw_cpu_clock\n      sampleType: sample_raw\n    sampler:\n      frequency: 49\n",
        )
        .unwrap();
        assert_eq!(PerfSampling::from_config(&y, "profiler").unwrap(), PerfSampling { frequency: 49 });
        let e = PerfSampling::from_config(&y, "other").unwrap_err().to_string();
        assert!(e.contains("missing config key programs.other.perf.type"), "{e}");
        let y: serde_yaml::Value = serde_yaml::from_str(
            "programs:\n  p:\n    perf:\n      type: hardware\n      config: count_sw_cpu_clock\n      sampleType: sample_raw\n    sampler:\n      frequency: 49\n",
        )
        .unwrap();
        assert!(PerfSampling::from_config(&y, "p").unwrap_err().to_string().contains("not supported"));
    }

    #[test]
    fn online_cpu_list() {
        let c = online_cpus().unwrap();
        assert!(!c.is_empty());
    }
}
