//! Loader pieces aya-obj 0.3 lacks, resolved by gadgetrt before aya sees the
//! object (see [`super::object::sanitize`]):
//!
//! * CO-RE relocation kind 12 (`BPF_CORE_TYPE_MATCHES`,
//!   `bpf_core_type_matches()`): [`type_matches`] evaluates it against the
//!   kernel BTF with libbpf's rules (`bpf_core_types_match`,
//!   `tools/lib/bpf/relo_core.c`).
//! * `.kconfig` externs (`extern int LINUX_KERNEL_VERSION __kconfig;`,
//!   `extern bool CONFIG_X __kconfig __weak;`): [`kconfig_value`] computes the
//!   bytes libbpf would store (`bpf_object__resolve_externs`), from the
//!   kernel config (`/boot/config-$(uname -r)`, else `/proc/config.gz`) and
//!   `uname`.
//! * [`gunzip`]: a small DEFLATE decoder for `/proc/config.gz`.

use std::collections::HashMap;
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Result};

use super::btf::{Btf, BtfType, INT_BOOL, INT_SIGNED};

// ---------------------------------------------------------------------------
// Kernel BTF (gadgetrt's own parser)
// ---------------------------------------------------------------------------

/// `/sys/kernel/btf/vmlinux` parsed with gadgetrt's BTF reader (None if missing or
/// unparsable); cached while a load holds it (see [`super::kernel_btf`]).
pub fn vmlinux_btf() -> Option<std::sync::Arc<Btf>> {
    super::kernel_btf::own()
}

// ---------------------------------------------------------------------------
// BPF_CORE_TYPE_MATCHES
// ---------------------------------------------------------------------------

/// libbpf's `bpf_core_essential_name_len`: `foo___bar` -> `foo`.
pub fn essential_name(name: &str) -> &str {
    let b = name.as_bytes();
    let n = b.len();
    if n >= 5 {
        for i in (0..=n - 5).rev() {
            if b[i] != b'_' && &b[i + 1..i + 4] == b"___" && b[i + 4] != b'_' {
                return &name[..i + 1];
            }
        }
    }
    name
}

fn names_match(local: &str, targ: &str) -> bool {
    if targ.is_empty() {
        return local.is_empty();
    }
    essential_name(local) == essential_name(targ)
}

fn is_enum(t: &BtfType) -> bool {
    matches!(t, BtfType::Enum { .. })
}

/// Evaluates a `BPF_CORE_TYPE_MATCHES` relocation on local type `local_id`
/// against `targ` the way libbpf does: candidates are the target types of a
/// compatible kind (same kind; enum and enum64 are compatible) whose
/// essential name equals the local type's; the relocation is 1 if any
/// candidate matches (`bpf_core_types_match`), else 0.
pub fn type_matches(local: &Btf, local_id: u32, targ: &Btf) -> Result<bool> {
    let lt = local.type_by_id(local_id)?;
    let lname = lt.name();
    if lname.is_empty() {
        bail!("type-match relocation on anonymous type [{local_id}]");
    }
    let ess = essential_name(lname);
    for (tid, tt) in targ.types() {
        let compat = tt.kind() == lt.kind() || (is_enum(tt) && is_enum(lt));
        if !compat || tt.name().is_empty() || essential_name(tt.name()) != ess {
            continue;
        }
        if types_match(local, local_id, targ, tid, false, 32)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// libbpf's `__bpf_core_types_match` (returns Err where libbpf returns a
/// negative error).
fn types_match(local: &Btf, mut lid: u32, targ: &Btf, mut tid: u32, mut behind_ptr: bool, level: i32) -> Result<bool> {
    if level <= 0 {
        bail!("type match: recursion too deep");
    }
    let mut depth = 32;
    loop {
        depth -= 1;
        if depth < 0 {
            bail!("type match: type chain too deep");
        }
        lid = local.resolve_id(lid)?;
        tid = targ.resolve_id(tid)?;
        let lt = local.type_by_id(lid)?;
        let tt = targ.type_by_id(tid)?;
        if !names_match(lt.name(), tt.name()) {
            return Ok(false);
        }
        let (lk, tk) = (lt.kind(), tt.kind());
        match lt {
            BtfType::Void => return Ok(lk == tk),
            BtfType::Fwd { is_union: lf, .. } => {
                if behind_ptr {
                    if lk == tk {
                        return Ok(matches!(tt, BtfType::Fwd { is_union, .. } if is_union == lf));
                    }
                    return Ok((matches!(tt, BtfType::Struct { .. }) && !lf) || (matches!(tt, BtfType::Union { .. }) && *lf));
                }
                return Ok(matches!(tt, BtfType::Fwd { is_union, .. } if is_union == lf));
            }
            BtfType::Enum { size: ls, values: lv, .. } => {
                let BtfType::Enum { size: ts, values: tv, .. } = tt else { return Ok(false) };
                if ls != ts || lv.len() > tv.len() {
                    return Ok(false);
                }
                return Ok(lv.iter().all(|l| tv.iter().any(|t| names_match(&l.name, &t.name))));
            }
            BtfType::Struct { members: lm, .. } | BtfType::Union { members: lm, .. } => {
                if behind_ptr {
                    if lk == tk {
                        return Ok(true);
                    }
                    let BtfType::Fwd { is_union, .. } = tt else { return Ok(false) };
                    return Ok(matches!(lt, BtfType::Union { .. }) == *is_union);
                }
                if lk != tk {
                    return Ok(false);
                }
                let (BtfType::Struct { members: tm, .. } | BtfType::Union { members: tm, .. }) = tt else {
                    return Ok(false);
                };
                if lm.len() > tm.len() {
                    return Ok(false);
                }
                for l in lm {
                    let mut matched = false;
                    for t in tm {
                        if !names_match(&l.name, &t.name) {
                            continue;
                        }
                        if types_match(local, l.type_id, targ, t.type_id, behind_ptr, level - 1)? {
                            matched = true;
                            break;
                        }
                    }
                    if !matched {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
            BtfType::Int { size: ls, encoding: le, .. } => {
                let BtfType::Int { size: ts, encoding: te, .. } = tt else { return Ok(false) };
                return Ok(ls == ts && (le & INT_SIGNED) == (te & INT_SIGNED));
            }
            BtfType::Ptr { type_id: l } => {
                let BtfType::Ptr { type_id: t } = tt else { return Ok(false) };
                behind_ptr = true;
                (lid, tid) = (*l, *t);
            }
            BtfType::Array { elem_type: le, nelems: ln, .. } => {
                let BtfType::Array { elem_type: te, nelems: tn, .. } = tt else { return Ok(false) };
                if ln != tn {
                    return Ok(false);
                }
                (lid, tid) = (*le, *te);
            }
            BtfType::FuncProto { ret_type: lr, params: lp } => {
                let BtfType::FuncProto { ret_type: tr, params: tp } = tt else { return Ok(false) };
                if lp.len() != tp.len() {
                    return Ok(false);
                }
                for (l, t) in lp.iter().zip(tp) {
                    if !types_match(local, l.type_id, targ, t.type_id, behind_ptr, level - 1)? {
                        return Ok(false);
                    }
                }
                (lid, tid) = (*lr, *tr);
            }
            _ => return Ok(false),
        }
    }
}

// ---------------------------------------------------------------------------
// .kconfig externs
// ---------------------------------------------------------------------------

/// libbpf's `KERNEL_VERSION(a, b, c)` of `uname -r` (patch capped at 255).
pub fn linux_kernel_version() -> Option<u32> {
    let release = uname_release()?;
    parse_kernel_version(&release)
}

/// `KERNEL_VERSION` of a release string such as `6.18.44-fc-v669`.
pub fn parse_kernel_version(release: &str) -> Option<u32> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let major: u32 = it.next()?.parse().ok()?;
    let minor: u32 = it.next()?.parse().ok()?;
    let patch: u32 = it.next()?.parse().ok()?;
    Some((major << 16) + (minor << 8) + patch.min(255))
}

fn uname_release() -> Option<String> {
    // SAFETY: utsname is plain data, filled by uname(2).
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return None;
    }
    // SAFETY: uname NUL-terminates the field.
    let s = unsafe { std::ffi::CStr::from_ptr(u.release.as_ptr()) };
    Some(s.to_string_lossy().into_owned())
}

/// The running kernel's config as `CONFIG_X=value` lines, read like libbpf:
/// `/boot/config-$(uname -r)`, else `/proc/config.gz` (either may be
/// gzip-compressed). Cached for the process.
pub fn kernel_config() -> Result<&'static HashMap<String, String>> {
    static CFG: OnceLock<std::result::Result<HashMap<String, String>, String>> = OnceLock::new();
    CFG.get_or_init(|| {
        let mut tried = Vec::new();
        let mut paths = Vec::new();
        if let Some(r) = uname_release() {
            paths.push(format!("/boot/config-{r}"));
        }
        paths.push("/proc/config.gz".to_string());
        for p in paths {
            match std::fs::read(&p) {
                Ok(d) => {
                    let text = if d.starts_with(&[0x1f, 0x8b]) {
                        gunzip(&d).map_err(|e| format!("{p}: {e}"))?
                    } else {
                        d
                    };
                    return Ok(parse_kernel_config(&String::from_utf8_lossy(&text)));
                }
                Err(e) => tried.push(format!("{p}: {e}")),
            }
        }
        Err(format!("no kernel config found ({})", tried.join("; ")))
    })
    .as_ref()
    .map_err(|e| anyhow!("{e}"))
}

/// Parses `CONFIG_X=value` lines (comments and other lines are skipped).
pub fn parse_kernel_config(text: &str) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for line in text.lines() {
        if !line.starts_with("CONFIG_") {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if !v.is_empty() {
                m.insert(k.to_string(), v.to_string());
            }
        }
    }
    m
}

/// libbpf's `kcfg_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KcfgType {
    Bool,
    Char,
    Tristate,
    Int { signed: bool },
    CharArr,
    Unknown,
}

fn kcfg_type(btf: &Btf, id: u32) -> Result<KcfgType> {
    let t = btf.type_by_id(btf.resolve_id(id)?)?;
    Ok(match t {
        BtfType::Int { size, encoding, .. } => {
            if encoding & INT_BOOL != 0 {
                if *size == 1 { KcfgType::Bool } else { KcfgType::Unknown }
            } else if *size == 1 {
                KcfgType::Char
            } else if !(1..=8).contains(size) || !size.is_power_of_two() {
                KcfgType::Unknown
            } else {
                KcfgType::Int { signed: encoding & INT_SIGNED != 0 }
            }
        }
        BtfType::Enum { name, size, is64, .. } if name == "libbpf_tristate" && (*is64 || *size == 4) => KcfgType::Tristate,
        BtfType::Array { elem_type, nelems, .. } if *nelems > 0 && kcfg_type(btf, *elem_type)? == KcfgType::Char => {
            KcfgType::CharArr
        }
        _ => KcfgType::Unknown,
    })
}

fn store_num(name: &str, ty: KcfgType, size: usize, v: u64) -> Result<Vec<u8>> {
    if !matches!(ty, KcfgType::Int { .. } | KcfgType::Char | KcfgType::Bool) {
        bail!("extern (kcfg) '{name}': value '{v}' implies integer, char, or boolean type");
    }
    if ty == KcfgType::Bool && v > 1 {
        bail!("extern (kcfg) '{name}': value '{v}' isn't boolean compatible");
    }
    if ![1, 2, 4, 8].contains(&size) {
        bail!("extern (kcfg) '{name}': unsupported size {size}");
    }
    let bits = size as u32 * 8;
    let in_range = size == 8
        || match ty {
            KcfgType::Int { signed: true } => v.wrapping_add(1u64 << (bits - 1)) < (1u64 << bits),
            _ => v >> bits == 0,
        };
    if !in_range {
        bail!("extern (kcfg) '{name}': value '{v}' doesn't fit in {size} bytes");
    }
    Ok(v.to_ne_bytes()[..size].to_vec())
}

/// Largest `.kconfig` extern accepted (string configs included; real ones are a few bytes).
const MAX_KCONFIG_BYTES: usize = 4096;

/// The bytes libbpf stores for `.kconfig` extern `name` of BTF type
/// `type_id` (`size` bytes), or `Ok(None)` when the value is unknown (a
/// `__weak` extern then reads 0; libbpf fails for a strong one).
pub fn kconfig_value(btf: &Btf, name: &str, type_id: u32, size: usize) -> Result<Option<Vec<u8>>> {
    // The size comes from the object's BTF: bounded before anything is allocated (a fuzzed
    // object declared a 4 GiB extern).
    if size == 0 || size > MAX_KCONFIG_BYTES {
        bail!("extern (kcfg) '{name}': size {size} is out of range (1..={MAX_KCONFIG_BYTES} bytes)");
    }
    let ty = kcfg_type(btf, type_id)?;
    if ty == KcfgType::Unknown {
        bail!("extern (kcfg) '{name}': type is not supported");
    }
    if let Some(flag) = name.strip_prefix("LINUX_") {
        let v: u64 = match flag {
            "KERNEL_VERSION" => u64::from(
                linux_kernel_version().ok_or_else(|| anyhow!("extern (kcfg) '{name}': failed to get kernel version"))?,
            ),
            "HAS_BPF_COOKIE" => u64::from(kernel_has_enum_value("bpf_func_id", "BPF_FUNC_get_attach_cookie")),
            "HAS_SYSCALL_WRAPPER" => u64::from(kernel_has_syscall_wrapper()),
            _ => return Ok(None),
        };
        return store_num(name, ty, size, v).map(Some);
    }
    if !name.starts_with("CONFIG_") {
        return Ok(None);
    }
    let cfg = kernel_config()?;
    let Some(value) = cfg.get(name) else { return Ok(None) };
    let mut out = vec![0u8; size];
    match value.as_bytes()[0] {
        c @ (b'y' | b'n' | b'm') => match ty {
            KcfgType::Bool if c == b'm' => {
                bail!("extern (kcfg) '{name}': value 'm' implies tristate or char type")
            }
            KcfgType::Bool => out[0] = u8::from(c == b'y'),
            KcfgType::Tristate => {
                if size < 4 {
                    bail!("extern (kcfg) '{name}': a tristate needs 4 bytes, not {size}");
                }
                let v: u32 = match c {
                    b'y' => 1,
                    b'm' => 2,
                    _ => 0,
                };
                out[..4].copy_from_slice(&v.to_ne_bytes());
            }
            KcfgType::Char => out[0] = c,
            _ => bail!("extern (kcfg) '{name}': value '{}' implies bool, tristate, or char type", c as char),
        },
        b'"' => {
            if ty != KcfgType::CharArr {
                bail!("extern (kcfg) '{name}': value '{value}' implies char array type");
            }
            if value.len() < 2 || !value.ends_with('"') {
                bail!("extern (kcfg) '{name}': invalid string config '{value}'");
            }
            let s = &value.as_bytes()[1..value.len() - 1];
            let n = s.len().min(size.saturating_sub(1));
            out[..n].copy_from_slice(&s[..n]);
        }
        _ => {
            let v = parse_c_u64(value).ok_or_else(|| anyhow!("extern (kcfg) '{name}': value '{value}' isn't a valid integer"))?;
            if !matches!(ty, KcfgType::Int { .. } | KcfgType::Char) {
                bail!("extern (kcfg) '{name}': value '{value}' implies integer type");
            }
            out = store_num(name, ty, size, v)?;
        }
    }
    Ok(Some(out))
}

/// `strtoull(s, &end, 0)` requiring the whole string (a leading `-` wraps).
fn parse_c_u64(s: &str) -> Option<u64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()?
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()?
    } else {
        s.parse().ok()?
    };
    Some(if neg { v.wrapping_neg() } else { v })
}

fn kernel_has_enum_value(enum_name: &str, value: &str) -> bool {
    let Some(b) = vmlinux_btf() else { return false };
    let found = b.types().any(|(_, t)| matches!(t, BtfType::Enum { name, values, .. } if name == enum_name && values.iter().any(|v| v.name == value)));
    found
}

/// libbpf probes for `__<arch>_sys_bpf` (syscall wrappers, x86-64 since 4.17).
fn kernel_has_syscall_wrapper() -> bool {
    let prefix = match std::env::consts::ARCH {
        "x86_64" => "__x64_",
        "aarch64" => "__arm64_",
        "s390x" => "__s390x_",
        "riscv64" => "__riscv_",
        "powerpc64" => "",
        _ => "",
    };
    if prefix.is_empty() {
        return false;
    }
    let want = format!("{prefix}sys_bpf");
    let want = want.as_str();
    if let Some(b) = vmlinux_btf() {
        if b.types().any(|(_, t)| matches!(t, BtfType::Func { name, .. } if name == want)) {
            return true;
        }
    }
    std::fs::read_to_string("/proc/kallsyms")
        .map(|s| s.lines().any(|l| l.split_whitespace().nth(2) == Some(want)))
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------
// gzip / DEFLATE (RFC 1951/1952), enough for /proc/config.gz
// ---------------------------------------------------------------------------

/// Decompresses a gzip member (the CRC is not checked).
pub fn gunzip(data: &[u8]) -> Result<Vec<u8>> {
    if data.len() < 18 || data[0] != 0x1f || data[1] != 0x8b || data[2] != 8 {
        bail!("not a gzip (deflate) stream");
    }
    let flg = data[3];
    let mut p = 10usize;
    if flg & 4 != 0 {
        let xlen = u16::from_le_bytes([data[p], data[p + 1]]) as usize;
        p += 2 + xlen;
    }
    for bit in [8u8, 16] {
        if flg & bit != 0 {
            while p < data.len() && data[p] != 0 {
                p += 1;
            }
            p += 1;
        }
    }
    if flg & 2 != 0 {
        p += 2;
    }
    inflate(data.get(p..).ok_or_else(|| anyhow!("gzip header truncated"))?)
}

struct Bits<'a> {
    d: &'a [u8],
    pos: usize,
    buf: u32,
    cnt: u32,
}

impl Bits<'_> {
    fn bits(&mut self, n: u32) -> Result<u32> {
        while self.cnt < n {
            let b = *self.d.get(self.pos).ok_or_else(|| anyhow!("deflate stream truncated"))?;
            self.pos += 1;
            self.buf |= u32::from(b) << self.cnt;
            self.cnt += 8;
        }
        let v = self.buf & ((1u32 << n) - 1);
        self.buf >>= n;
        self.cnt -= n;
        Ok(v)
    }
}

struct Huff {
    count: [u16; 16],
    symbol: Vec<u16>,
}

impl Huff {
    fn new(lengths: &[u8]) -> Huff {
        let mut count = [0u16; 16];
        for &l in lengths {
            count[l as usize] += 1;
        }
        count[0] = 0;
        let mut offs = [0u16; 16];
        for l in 1..15 {
            offs[l + 1] = offs[l] + count[l];
        }
        let mut symbol = vec![0u16; lengths.len()];
        for (s, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbol[offs[l as usize] as usize] = s as u16;
                offs[l as usize] += 1;
            }
        }
        Huff { count, symbol }
    }

    fn decode(&self, b: &mut Bits<'_>) -> Result<u16> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= b.bits(1)? as i32;
            let count = i32::from(self.count[len]);
            if code - count < first {
                return self
                    .symbol
                    .get((index + (code - first)) as usize)
                    .copied()
                    .ok_or_else(|| anyhow!("deflate: bad code"));
            }
            index += count;
            first += count;
            first <<= 1;
            code <<= 1;
        }
        bail!("deflate: bad code")
    }
}

const LBASE: [u16; 29] =
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEXT: [u8; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DBASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
    8193, 12289, 16385, 24577,
];
const DEXT: [u8; 30] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

/// Raw DEFLATE decoder.
pub fn inflate(data: &[u8]) -> Result<Vec<u8>> {
    let mut b = Bits { d: data, pos: 0, buf: 0, cnt: 0 };
    let mut out: Vec<u8> = Vec::new();
    loop {
        let last = b.bits(1)?;
        match b.bits(2)? {
            0 => {
                b.buf = 0;
                b.cnt = 0;
                let p = b.pos;
                let hdr = data.get(p..p + 4).ok_or_else(|| anyhow!("deflate: stored block truncated"))?;
                let len = u16::from_le_bytes([hdr[0], hdr[1]]) as usize;
                if len as u16 != !u16::from_le_bytes([hdr[2], hdr[3]]) {
                    bail!("deflate: stored block length mismatch");
                }
                out.extend_from_slice(data.get(p + 4..p + 4 + len).ok_or_else(|| anyhow!("deflate: stored block truncated"))?);
                b.pos = p + 4 + len;
            }
            1 => {
                let mut l = [0u8; 288];
                l[..144].fill(8);
                l[144..256].fill(9);
                l[256..280].fill(7);
                l[280..].fill(8);
                codes(&mut b, &mut out, &Huff::new(&l), &Huff::new(&[5u8; 30]))?;
            }
            2 => {
                let nlen = b.bits(5)? as usize + 257;
                let ndist = b.bits(5)? as usize + 1;
                let ncode = b.bits(4)? as usize + 4;
                const ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
                let mut cl = [0u8; 19];
                for &o in ORDER.iter().take(ncode) {
                    cl[o] = b.bits(3)? as u8;
                }
                let ch = Huff::new(&cl);
                let mut lens = vec![0u8; nlen + ndist];
                let mut i = 0;
                while i < nlen + ndist {
                    let sym = ch.decode(&mut b)?;
                    let (val, rep) = match sym {
                        0..=15 => (sym as u8, 1),
                        16 => {
                            let prev = *lens.get(i.wrapping_sub(1)).ok_or_else(|| anyhow!("deflate: repeat without length"))?;
                            (prev, 3 + b.bits(2)? as usize)
                        }
                        17 => (0, 3 + b.bits(3)? as usize),
                        _ => (0, 11 + b.bits(7)? as usize),
                    };
                    if i + rep > nlen + ndist {
                        bail!("deflate: too many lengths");
                    }
                    lens[i..i + rep].fill(val);
                    i += rep;
                }
                codes(&mut b, &mut out, &Huff::new(&lens[..nlen]), &Huff::new(&lens[nlen..]))?;
            }
            _ => bail!("deflate: invalid block type"),
        }
        if last == 1 {
            return Ok(out);
        }
    }
}

fn codes(b: &mut Bits<'_>, out: &mut Vec<u8>, lit: &Huff, dist: &Huff) -> Result<()> {
    loop {
        let sym = lit.decode(b)? as usize;
        if sym < 256 {
            out.push(sym as u8);
        } else if sym == 256 {
            return Ok(());
        } else {
            let s = sym - 257;
            if s >= 29 {
                bail!("deflate: bad length symbol");
            }
            let len = LBASE[s] as usize + b.bits(u32::from(LEXT[s]))? as usize;
            let d = dist.decode(b)? as usize;
            if d >= 30 {
                bail!("deflate: bad distance symbol");
            }
            let dist = DBASE[d] as usize + b.bits(u32::from(DEXT[d]))? as usize;
            if dist > out.len() {
                bail!("deflate: distance too far back");
            }
            let start = out.len() - dist;
            for k in 0..len {
                let c = out[start + k];
                out.push(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn essential_names() {
        assert_eq!(essential_name("btf_trace_block_rq_insert___new"), "btf_trace_block_rq_insert");
        assert_eq!(essential_name("fsnotify_group___with_prio_int"), "fsnotify_group");
        assert_eq!(essential_name("task_struct"), "task_struct");
        assert_eq!(essential_name("a____b"), "a____b"); // 4 underscores: not a flavor separator
        assert_eq!(essential_name("x___y___z"), "x___y");
    }

    #[test]
    fn kernel_versions() {
        assert_eq!(parse_kernel_version("6.18.44-fc-v669"), Some(0x06122C));
        assert_eq!(parse_kernel_version("5.4.300"), Some((5 << 16) + (4 << 8) + 255));
        assert_eq!(parse_kernel_version("6.1"), None);
    }

    #[test]
    fn kconfig_sizes_are_bounded_before_allocating() {
        let btf = Btf::parse(&minimal_btf()).unwrap();
        for size in [0usize, MAX_KCONFIG_BYTES + 1, 1 << 32] {
            let e = kconfig_value(&btf, "CONFIG_X", 1, size).unwrap_err().to_string();
            assert!(e.contains("out of range"), "{e}");
        }
        assert!(store_num("LINUX_X", KcfgType::Int { signed: false }, 16, 1).is_err());
    }

    /// BTF with one type: `int` (4 bytes, signed).
    fn minimal_btf() -> Vec<u8> {
        let strings = b"\0int\0";
        let mut types = Vec::new();
        types.extend_from_slice(&1u32.to_le_bytes()); // name "int"
        types.extend_from_slice(&(1u32 << 24).to_le_bytes()); // kind INT
        types.extend_from_slice(&4u32.to_le_bytes()); // size
        types.extend_from_slice(&((1u32 << 24) | 32).to_le_bytes()); // signed, 32 bits
        let mut b = Vec::new();
        b.extend_from_slice(&0xeb9fu16.to_le_bytes());
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&24u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&(types.len() as u32).to_le_bytes());
        b.extend_from_slice(&(types.len() as u32).to_le_bytes());
        b.extend_from_slice(&(strings.len() as u32).to_le_bytes());
        b.extend_from_slice(&types);
        b.extend_from_slice(strings);
        b
    }

    #[test]
    fn c_integers() {
        assert_eq!(parse_c_u64("42"), Some(42));
        assert_eq!(parse_c_u64("0x10"), Some(16));
        assert_eq!(parse_c_u64("010"), Some(8));
        assert_eq!(parse_c_u64("0"), Some(0));
        assert_eq!(parse_c_u64("12a"), None);
    }

    #[test]
    fn gunzip_matches_gzip_tool() {
        // Text with repeats (dynamic Huffman), plus an empty and a stored stream via gzip -1/-9.
        let mut text = String::new();
        for i in 0..5000 {
            text.push_str(&format!("CONFIG_OPTION_{}={}\n", i % 97, if i % 3 == 0 { "y" } else { "m" }));
        }
        for (lvl, input) in [("-9", text.as_bytes().to_vec()), ("-1", b"abc".to_vec()), ("-6", Vec::new())] {
            let mut child = match std::process::Command::new("gzip")
                .arg(lvl)
                .arg("-c")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
            {
                Ok(c) => c,
                Err(_) => return, // no gzip tool
            };
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&input).unwrap();
            let out = child.wait_with_output().unwrap();
            assert_eq!(gunzip(&out.stdout).unwrap(), input);
        }
        if let Ok(d) = std::fs::read("/proc/config.gz") {
            let t = String::from_utf8(gunzip(&d).unwrap()).unwrap();
            assert!(t.contains("CONFIG_BPF"), "config text");
        }
    }
}
