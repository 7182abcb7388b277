//! tc classifiers (`classifier/<ingress|egress>/<name>`), attached as Inspektor Gadget's
//! tchandler does (`../shared/spec/attach-enrich-containers.md` §3.2): legacy tc through
//! rtnetlink — a `clsact` qdisc (created if missing, never deleted, as IG) and a `cls_bpf`
//! filter (priority 1, protocol ETH_P_ALL, first free handle in 1..127, direct action,
//! named after the program) whose program is IG's dispatcher: it stores the network
//! namespace id in `skb->cb[0]` and tail-calls the gadget's classifier, returning
//! TC_ACT_UNSPEC when that fails. The filter is deleted when the [`TcAttachment`] drops.
//!
//! One difference from IG, on purpose: where the kernel has tcx (6.6+), the dispatcher is
//! attached through a tcx BPF link instead (same hook, same verdicts), because a link goes
//! away with the process that holds it, while a `cls_bpf` filter outlives a killed process.
//! Kernels without tcx get IG's `cls_bpf` filter, and so does every kernel when the
//! environment variable `GADGETRT_TC_LEGACY` is set.
//!
//! Also: the host-side peers of a network namespace's veth interfaces ([`veth_peers`]),
//! which is where IG attaches a container's classifiers (with the direction inverted).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

use super::attach::{self, ProgArray};

/// Which tc hook a classifier runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    /// From a `classifier/<dir>/<name>` section.
    pub fn from_section(section: &str) -> Result<Direction> {
        let parts: Vec<&str> = section.split('/').collect();
        if parts.len() != 3 || parts[0] != "classifier" {
            bail!("section {section:?}: a classifier section must be classifier/<ingress|egress>/<name>");
        }
        match parts[1] {
            "ingress" => Ok(Direction::Ingress),
            "egress" => Ok(Direction::Egress),
            d => bail!("section {section:?}: unknown direction {d:?} (ingress or egress)"),
        }
    }

    /// The other direction (host-side egress is the container's ingress).
    pub fn inverted(self) -> Direction {
        match self {
            Direction::Ingress => Direction::Egress,
            Direction::Egress => Direction::Ingress,
        }
    }

    fn parent(self) -> u32 {
        match self {
            Direction::Ingress => 0xFFFF_FFF2,
            Direction::Egress => 0xFFFF_FFF3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWQDISC: u16 = 36;
const RTM_NEWTFILTER: u16 = 44;
const RTM_DELTFILTER: u16 = 45;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const TCA_KIND: u16 = 1;
const TCA_OPTIONS: u16 = 2;
const TCA_BPF_FD: u16 = 6;
const TCA_BPF_NAME: u16 = 7;
const TCA_BPF_FLAGS: u16 = 8;
const TCA_BPF_FLAG_ACT_DIRECT: u32 = 1;
const NLA_F_NESTED: u16 = 0x8000;
const IFLA_LINK: u16 = 5;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
/// `info` of IG's filters: priority 1, protocol ETH_P_ALL (network order).
const FILTER_PRIO: u32 = 1;
const ETH_P_ALL_BE: u32 = 0x0300;

/// A NETLINK_ROUTE socket of the namespace it was opened in.
struct Netlink {
    fd: OwnedFd,
    seq: u32,
}

/// A netlink request under construction: header, fixed part, attributes.
struct Msg {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl Msg {
    fn new(ty: u16, flags: u16, fixed: &[u8]) -> Msg {
        let mut buf = vec![0u8; 16];
        buf[4..6].copy_from_slice(&ty.to_ne_bytes());
        buf[6..8].copy_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(fixed);
        Msg { buf, nests: Vec::new() }
    }
    fn pad(&mut self) {
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
    }
    fn attr(&mut self, ty: u16, data: &[u8]) -> &mut Msg {
        self.pad();
        self.buf.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self
    }
    fn begin(&mut self, ty: u16) -> &mut Msg {
        self.pad();
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&[0, 0]);
        self.buf.extend_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        self
    }
    fn end(&mut self) -> &mut Msg {
        self.pad();
        let at = self.nests.pop().expect("nested attribute begun");
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }
}

fn tcmsg(ifindex: i32, handle: u32, parent: u32, info: u32) -> [u8; 20] {
    let mut t = [0u8; 20];
    t[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    t[8..12].copy_from_slice(&handle.to_ne_bytes());
    t[12..16].copy_from_slice(&parent.to_ne_bytes());
    t[16..20].copy_from_slice(&info.to_ne_bytes());
    t
}

/// Walks netlink attributes: (type without flags, payload).
fn attrs(mut d: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if d.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([d[0], d[1]]) as usize;
        let ty = u16::from_ne_bytes([d[2], d[3]]) & 0x3fff;
        if len < 4 || len > d.len() {
            return None;
        }
        let payload = &d[4..len];
        d = &d[len.div_ceil(4).saturating_mul(4).min(d.len())..];
        Some((ty, payload))
    })
}

impl Netlink {
    fn open() -> io::Result<Netlink> {
        // SAFETY: plain socket(2).
        let s = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
        if s < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fresh fd.
        let fd = unsafe { OwnedFd::from_raw_fd(s) };
        // Replies must not block forever: 5 s receive timeout.
        let tv = libc::timeval { tv_sec: 5, tv_usec: 0 };
        // SAFETY: setsockopt with a timeval.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::timeval>() as u32,
            )
        };
        Ok(Netlink { fd, seq: 0 })
    }

    /// Sends `m` and calls `f` with (type, payload) of every reply until the ACK (or
    /// NLMSG_DONE for dumps); a netlink error becomes an `io::Error` with its errno.
    fn request(&mut self, m: &mut Msg, mut f: impl FnMut(u16, &[u8])) -> io::Result<()> {
        self.seq += 1;
        let len = m.buf.len() as u32;
        m.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        m.buf[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        // SAFETY: the kernel address: all zero but the family.
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: sendto with a buffer and address we own.
        let r = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                m.buf.as_ptr() as *const libc::c_void,
                m.buf.len(),
                0,
                &sa as *const _ as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = vec![0u8; 1 << 16];
        loop {
            // SAFETY: recv into our buffer.
            let n = unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut d = &buf[..n as usize];
            while d.len() >= 16 {
                let len = u32::from_ne_bytes(d[0..4].try_into().unwrap()) as usize;
                let ty = u16::from_ne_bytes([d[4], d[5]]);
                let seq = u32::from_ne_bytes(d[8..12].try_into().unwrap());
                if len < 16 || len > d.len() {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "truncated netlink reply"));
                }
                let payload = &d[16..len];
                d = &d[len.div_ceil(4).saturating_mul(4).min(d.len())..];
                if seq != self.seq {
                    continue;
                }
                match ty {
                    NLMSG_ERROR => {
                        let e = payload.get(0..4).map(|b| i32::from_ne_bytes(b.try_into().unwrap())).unwrap_or(0);
                        return if e == 0 { Ok(()) } else { Err(io::Error::from_raw_os_error(-e)) };
                    }
                    NLMSG_DONE => return Ok(()),
                    _ => f(ty, payload),
                }
            }
        }
    }
}

/// One classifier attached on one interface (a `cls_bpf` filter running a dispatcher);
/// the filter is deleted on drop, in the namespace it was created in.
#[derive(Debug)]
pub struct TcAttachment {
    pub ifname: String,
    pub ifindex: i32,
    pub direction: Direction,
    pub handle: u32,
    /// The netns id the dispatcher writes into `skb->cb[0]`.
    pub netns: u64,
    /// The tcx link (then `handle` is 0), or `None` for a `cls_bpf` filter.
    link: Option<OwnedFd>,
    _dispatcher: OwnedFd,
    /// The interface's namespace (`None`: the one gadgetrt runs in).
    ns: Option<std::path::PathBuf>,
}

impl TcAttachment {
    /// Attaches the classifier in `pa` on interface `ifname` of namespace `ns` (`None`: this
    /// process's), `direction` hook, with `skb->cb[0]` = `netns`. `name` names the filter
    /// (the program's name, as IG).
    pub fn attach(
        pa: &ProgArray,
        ns: Option<&Path>,
        ifname: &str,
        direction: Direction,
        netns: u64,
        name: &str,
    ) -> Result<TcAttachment> {
        let dispatcher = attach::load_dispatcher(attach::BPF_PROG_TYPE_SCHED_CLS, pa.fd(), netns as u32, -1)
            .context("loading the tc dispatcher")?;
        let dfd = dispatcher.as_fd();
        let (ifindex, handle, link) = attach::in_netns(ns, || {
            let idx = ifindex(ifname)?;
            let tcx = if std::env::var_os(LEGACY_ENV).is_some() {
                Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP))
            } else {
                tcx_link(idx, direction, dfd)
            };
            match tcx {
                Ok(link) => Ok((idx, 0, Some(link))),
                // No tcx (before 6.6): IG's cls_bpf filter.
                Err(e) if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::EOPNOTSUPP | 524 /* ENOTSUPP */)) => {
                    let (idx, handle) = add_filter(ifname, direction, dfd, name)?;
                    Ok((idx, handle, None))
                }
                Err(e) => Err(anyhow!("creating a tcx link: {e}")),
            }
        })
        .with_context(|| format!("attaching a tc {} filter on {ifname}", direction.as_str()))?;
        Ok(TcAttachment {
            ifname: ifname.to_string(),
            ifindex,
            direction,
            handle,
            netns,
            link,
            _dispatcher: dispatcher,
            ns: ns.map(Path::to_path_buf),
        })
    }
}

impl TcAttachment {
    /// `tcx` (a BPF link) or `cls_bpf handle <n>`.
    pub fn mechanism(&self) -> String {
        match self.link {
            Some(_) => "tcx".into(),
            None => format!("cls_bpf handle {}", self.handle),
        }
    }
}

/// Set (any value): always IG's `cls_bpf` filters, never tcx links.
pub const LEGACY_ENV: &str = "GADGETRT_TC_LEGACY";

const BPF_TCX_INGRESS: u32 = 46;
const BPF_TCX_EGRESS: u32 = 47;

/// `BPF_LINK_CREATE` of a tcx link (appended to the hook's chain).
fn tcx_link(ifindex: i32, direction: Direction, prog: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    use super::loader::raw::{put32, sys_bpf, BPF_LINK_CREATE};
    let mut a = [0u8; 64];
    put32(&mut a, 0, prog.as_raw_fd() as u32);
    put32(&mut a, 4, ifindex as u32);
    put32(&mut a, 8, if direction == Direction::Ingress { BPF_TCX_INGRESS } else { BPF_TCX_EGRESS });
    let fd = sys_bpf(BPF_LINK_CREATE, &mut a)?;
    // SAFETY: fresh fd.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

impl Drop for TcAttachment {
    fn drop(&mut self) {
        if self.link.take().is_some() {
            // Closing the link detached it.
            return;
        }
        let (ifindex, parent, handle) = (self.ifindex, self.direction.parent(), self.handle);
        // The interface may be gone already (a container's veth): nothing left to delete.
        let _ = attach::in_netns(self.ns.as_deref(), || {
            let mut nl = Netlink::open()?;
            let mut m = Msg::new(
                RTM_DELTFILTER,
                NLM_F_REQUEST | NLM_F_ACK,
                &tcmsg(ifindex, handle, parent, FILTER_PRIO << 16 | ETH_P_ALL_BE),
            );
            nl.request(&mut m, |_, _| {})?;
            Ok(())
        });
    }
}

fn ifindex(ifname: &str) -> Result<i32> {
    let c = std::ffi::CString::new(ifname).map_err(|_| anyhow!("interface name {ifname:?} contains NUL"))?;
    // SAFETY: if_nametoindex with a C string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        bail!("interface {ifname:?} not found: {}", io::Error::last_os_error());
    }
    Ok(i as i32)
}

/// Adds clsact (EEXIST is fine) and the cls_bpf filter; returns (ifindex, handle).
fn add_filter(ifname: &str, direction: Direction, prog: BorrowedFd<'_>, name: &str) -> Result<(i32, u32)> {
    let idx = ifindex(ifname)?;
    let mut nl = Netlink::open().context("opening a netlink socket")?;
    let mut q = Msg::new(RTM_NEWQDISC, NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE, &tcmsg(idx, 0xFFFF_0000, 0xFFFF_FFF1, 0));
    q.attr(TCA_KIND, b"clsact\0");
    match nl.request(&mut q, |_, _| {}) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
        Err(e) => bail!("adding the clsact qdisc: {e}"),
    }
    let mut pname = name.as_bytes()[..name.len().min(255)].to_vec();
    pname.push(0);
    for handle in 1..128u32 {
        let mut m = Msg::new(
            RTM_NEWTFILTER,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE,
            &tcmsg(idx, handle, direction.parent(), FILTER_PRIO << 16 | ETH_P_ALL_BE),
        );
        m.attr(TCA_KIND, b"bpf\0");
        m.begin(TCA_OPTIONS)
            .attr(TCA_BPF_FD, &(prog.as_raw_fd() as u32).to_ne_bytes())
            .attr(TCA_BPF_NAME, &pname)
            .attr(TCA_BPF_FLAGS, &TCA_BPF_FLAG_ACT_DIRECT.to_ne_bytes())
            .end();
        match nl.request(&mut m, |_, _| {}) {
            Ok(()) => return Ok((idx, handle)),
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(e) => bail!("adding the cls_bpf filter: {e}"),
        }
    }
    bail!("no free filter handle in 1..127 on {ifname}")
}

/// The host-side interfaces (name, index in this process's namespace) of the veth
/// interfaces that are UP in network namespace `ns` (IG's `GetIfacePeers`). A namespace
/// without any (Docker's `--network none`) is an error, "no interface found", as in IG.
pub fn veth_peers(ns: &Path) -> Result<Vec<(String, i32)>> {
    let peers: Vec<i32> = attach::in_netns(Some(ns), || {
        let mut nl = Netlink::open().context("opening a netlink socket")?;
        let mut m = Msg::new(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, &[0u8; 16]);
        let mut out = Vec::new();
        nl.request(&mut m, |ty, p| {
            if ty != RTM_NEWLINK || p.len() < 16 {
                return;
            }
            let flags = u32::from_ne_bytes(p[8..12].try_into().unwrap());
            if flags & libc::IFF_UP as u32 == 0 {
                return;
            }
            let (mut link, mut veth) = (None, false);
            for (t, v) in attrs(&p[16..]) {
                match t {
                    IFLA_LINK if v.len() >= 4 => link = Some(i32::from_ne_bytes(v[0..4].try_into().unwrap())),
                    IFLA_LINKINFO => veth = attrs(v).any(|(t, v)| t == IFLA_INFO_KIND && v.starts_with(b"veth")),
                    _ => {}
                }
            }
            if let (true, Some(l)) = (veth, link) {
                out.push(l);
            }
        })
        .context("listing the links")?;
        Ok(out)
    })?;
    if peers.is_empty() {
        bail!("no interface found in network namespace {}", ns.display());
    }
    let mut out = Vec::new();
    for idx in peers {
        let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
        // SAFETY: if_indextoname with a buffer of IF_NAMESIZE.
        let p = unsafe { libc::if_indextoname(idx as u32, name.as_mut_ptr()) };
        if p.is_null() {
            continue;
        }
        // SAFETY: NUL-terminated by if_indextoname.
        let s = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }.to_string_lossy().into_owned();
        out.push((s, idx));
    }
    if out.is_empty() {
        bail!("no host-side peer found for the veth interfaces of network namespace {}", ns.display());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_from_sections() {
        assert_eq!(Direction::from_section("classifier/ingress/x").unwrap(), Direction::Ingress);
        assert_eq!(Direction::from_section("classifier/egress/x").unwrap(), Direction::Egress);
        assert_eq!(Direction::from_section("classifier/egress/x").unwrap().inverted(), Direction::Ingress);
        assert!(Direction::from_section("classifier/up/x").is_err());
        assert!(Direction::from_section("classifier/ingress").is_err());
        assert!(Direction::from_section("classifier/ingress/a/b").is_err());
    }

    #[test]
    fn nested_attributes_have_their_length() {
        let mut m = Msg::new(1, 0, &[0; 4]);
        m.begin(TCA_OPTIONS).attr(TCA_BPF_FD, &7u32.to_ne_bytes()).attr(TCA_BPF_NAME, b"ab\0").end();
        let a: Vec<_> = attrs(&m.buf[20..]).collect();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].0, TCA_OPTIONS);
        let inner: Vec<_> = attrs(a[0].1).collect();
        assert_eq!(inner, vec![(TCA_BPF_FD, &7u32.to_ne_bytes()[..]), (TCA_BPF_NAME, &b"ab\0"[..])]);
    }
}
