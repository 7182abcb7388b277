//! Raw values → the exact text Inspektor Gadget v0.55.0 prints.
//!
//! Every function here is a pure (or, for the local-time-zone helpers,
//! environment-reading) re-implementation of a piece of Go that IG's
//! `formatters` operator, its ebpf enum formatter, its JSON writer or its
//! operator-only gadgets use to turn numbers into text.  The goal is byte
//! identity with IG v0.55.0 (built with Go 1.26), so the Go routine that each
//! function mirrors is named in its doc comment:
//!
//! | Function | Go original |
//! |---|---|
//! | [`errno_name`] | `unix.ErrnoName` (x/sys v0.47.0, linux/amd64) + IG's `error#<n>` fallback |
//! | [`signal_name`] | `unix.SignalName` + IG's `signal#<n>` fallback |
//! | [`file_mode`] | `io/fs.FileMode.String` |
//! | [`file_flags`] | IG `formatters.decodeFlags`, names joined by a pipe |
//! | [`bytes_si`] | `github.com/dustin/go-humanize` v1.0.1 `Bytes` |
//! | [`duration`] | IG `formatters.formatDuration` |
//! | [`go_duration_string`] | `time.Duration.String` |
//! | [`ip_string`] | IG `common.GetIPForVersion` (`net.IP.String`) |
//! | [`proto_name`] | IG `pkg/utils/protocols` + `proto#<n>` fallback |
//! | [`enum_text`] | IG `pkg/operators/ebpf/formatters.go` enum formatter |
//! | [`WallClock`] | IG `gadgets.WallTimeFromBootTime` |
//! | [`format_rfc3339_nano`], [`format_go_layout`] | `time.Time.Format` in `time.Local` |
//! | [`format_rfc3339_seconds`] | `Time.Format(time.RFC3339)` in `time.Local` |
//! | [`go_json_float`] | IG json formatter `floatEncoder.writeFloat` (= `encoding/json`) |
//! | [`go_fmt_f`] | `fmt.Sprintf("%.<prec>f", v)` |
//! | [`go_quote_inner`] | `strconv.Quote` without the surrounding quotes |
//!
//! Writers append to a caller-supplied `&mut String` and never clear it.
//! Lookups return `Cow<'static, str>`, borrowing whenever the name is known.
//! Apart from those `Owned` fallbacks, the `Err` text of [`ip_string`] and a
//! one-time check of `$TZ`, nothing here allocates.
//!
//! The local time zone is taken from glibc's `localtime_r` (so `TZ` and
//! `/etc/localtime` are honoured as both glibc and Go do), with Go's
//! fall-back-to-UTC rule for `TZ` values that Go cannot load; see
//! [`format_go_layout`].

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::OnceLock;

// ---------------------------------------------------------------------------
// errno / signal
// ---------------------------------------------------------------------------

/// `unix.ErrnoName` table of golang.org/x/sys v0.47.0, `zerrors_linux_amd64.go`,
/// indexed by errno.  `""` marks numbers that have no entry (0, 41, 58).
/// Where several names share a number, the table keeps the one the x/sys
/// list (sorted by number) has: EAGAIN (not EWOULDBLOCK), EDEADLK (not
/// EDEADLOCK), ENOTSUP (not EOPNOTSUPP), EFSCORRUPTED (not EUCLEAN).
#[rustfmt::skip]
static ERRNO_NAMES: [&str; 134] = [
    "", "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF", "ECHILD",
    "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV", "ENODEV",
    "ENOTDIR", "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC",
    "ESPIPE", "EROFS", "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK",
    "ENOSYS", "ENOTEMPTY", "ELOOP", "", "ENOMSG", "EIDRM", "ECHRNG", "EL2NSYNC", "EL3HLT", "EL3RST",
    "ELNRNG", "EUNATCH", "ENOCSI", "EL2HLT", "EBADE", "EBADR", "EXFULL", "ENOANO", "EBADRQC",
    "EBADSLT", "", "EBFONT", "ENOSTR", "ENODATA", "ETIME", "ENOSR", "ENONET", "ENOPKG", "EREMOTE",
    "ENOLINK", "EADV", "ESRMNT", "ECOMM", "EPROTO", "EMULTIHOP", "EDOTDOT", "EBADMSG", "EOVERFLOW",
    "ENOTUNIQ", "EBADFD", "EREMCHG", "ELIBACC", "ELIBBAD", "ELIBSCN", "ELIBMAX", "ELIBEXEC",
    "EILSEQ", "ERESTART", "ESTRPIPE", "EUSERS", "ENOTSOCK", "EDESTADDRREQ", "EMSGSIZE",
    "EPROTOTYPE", "ENOPROTOOPT", "EPROTONOSUPPORT", "ESOCKTNOSUPPORT", "ENOTSUP", "EPFNOSUPPORT",
    "EAFNOSUPPORT", "EADDRINUSE", "EADDRNOTAVAIL", "ENETDOWN", "ENETUNREACH", "ENETRESET",
    "ECONNABORTED", "ECONNRESET", "ENOBUFS", "EISCONN", "ENOTCONN", "ESHUTDOWN", "ETOOMANYREFS",
    "ETIMEDOUT", "ECONNREFUSED", "EHOSTDOWN", "EHOSTUNREACH", "EALREADY", "EINPROGRESS", "ESTALE",
    "EFSCORRUPTED", "ENOTNAM", "ENAVAIL", "EISNAM", "EREMOTEIO", "EDQUOT", "ENOMEDIUM",
    "EMEDIUMTYPE", "ECANCELED", "ENOKEY", "EKEYEXPIRED", "EKEYREVOKED", "EKEYREJECTED",
    "EOWNERDEAD", "ENOTRECOVERABLE", "ERFKILL", "EHWPOISON",
];

/// `unix.SignalName` table (x/sys v0.47.0, linux/amd64), indexed by signal
/// number; index 0 has no name.
#[rustfmt::skip]
static SIGNAL_NAMES: [&str; 32] = [
    "", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
    "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
    "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
    "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
];

/// errno formatter (`type:gadget_errno`, Uint32 input).
///
/// `0` → `""`; a number with an x/sys `ErrnoName` entry → that name;
/// anything else → `error#<n>` (e.g. `error#41`, `error#134`).
pub fn errno_name(v: u32) -> Cow<'static, str> {
    if v == 0 {
        return Cow::Borrowed("");
    }
    match ERRNO_NAMES.get(v as usize) {
        Some(name) if !name.is_empty() => Cow::Borrowed(name),
        _ => Cow::Owned(format!("error#{v}")),
    }
}

/// signal formatter (`type:gadget_signal`, 4-byte input).
///
/// 1..=31 → `SIGHUP`..`SIGSYS`; everything else, including 0 and the
/// real-time signals, → `signal#<n>`.
pub fn signal_name(v: u32) -> Cow<'static, str> {
    match SIGNAL_NAMES.get(v as usize) {
        Some(name) if !name.is_empty() => Cow::Borrowed(name),
        _ => Cow::Owned(format!("signal#{v}")),
    }
}

// ---------------------------------------------------------------------------
// file mode / file flags
// ---------------------------------------------------------------------------

/// file mode formatter: Go `io/fs.FileMode(v).String()`.
///
/// Go's bit layout, not Unix's: bits 31..19 select the type letters
/// `dalTLDpSugct?`; if none is set a `-` is written; then `rwxrwxrwx` for
/// bits 8..0.  Unix setuid/setgid/sticky and `S_IFMT` bits are ignored.
pub fn file_mode(v: u32, out: &mut String) {
    const TYPES: &[u8; 13] = b"dalTLDpSugct?";
    let mut any = false;
    for (i, &c) in TYPES.iter().enumerate() {
        if v & (1 << (31 - i)) != 0 {
            out.push(c as char);
            any = true;
        }
    }
    if !any {
        out.push('-');
    }
    const RWX: &[u8; 9] = b"rwxrwxrwx";
    for (i, &c) in RWX.iter().enumerate() {
        out.push(if v & (1 << (8 - i)) != 0 {
            c as char
        } else {
            '-'
        });
    }
}

/// IG's `flagMap` (fcntl.h values, octal), in IG's order.
static OPEN_FLAGS: [(i32, &str); 14] = [
    (0o100, "O_CREAT"),
    (0o200, "O_EXCL"),
    (0o400, "O_NOCTTY"),
    (0o1000, "O_TRUNC"),
    (0o2000, "O_APPEND"),
    (0o4000, "O_NONBLOCK"),
    (0o10000, "O_DSYNC"),
    (0o20000, "O_FASYNC"),
    (0o40000, "O_DIRECT"),
    (0o100000, "O_LARGEFILE"),
    (0o200000, "O_DIRECTORY"),
    (0o400000, "O_NOFOLLOW"),
    (0o1000000, "O_NOATIME"),
    (0o2000000, "O_CLOEXEC"),
];

/// file flags formatter (`type:gadget_file_flags`, Uint32 read as int32).
///
/// The access mode (`v & 3`: `O_RDONLY`/`O_WRONLY`/`O_RDWR`, nothing for 3),
/// then every flag of IG's fixed list whose bits are all set, joined by `|`.
/// Unknown bits (`__O_SYNC`, `O_PATH`, `__O_TMPFILE`, …) are dropped.  The
/// result can be empty (access mode 3 and no known flag).
pub fn file_flags(v: i32, out: &mut String) {
    let mut first = true;
    let mut put = |out: &mut String, s: &str| {
        if !first {
            out.push('|');
        }
        first = false;
        out.push_str(s);
    };
    match v & 3 {
        0 => put(out, "O_RDONLY"),
        1 => put(out, "O_WRONLY"),
        2 => put(out, "O_RDWR"),
        _ => {}
    }
    for &(bits, name) in OPEN_FLAGS.iter() {
        if v & bits == bits {
            put(out, name);
        }
    }
}

// ---------------------------------------------------------------------------
// bytes (go-humanize)
// ---------------------------------------------------------------------------

/// Go's `math.Log` as compiled for linux/amd64 (`math/log_amd64.s`, which is
/// what `math.Log` dispatches to there), reproduced operation by operation
/// so that results are bit-identical.  Only called with finite `x >= 10`.
#[allow(clippy::excessive_precision, clippy::approx_constant)]
fn go_log_amd64(x: f64) -> f64 {
    const HSQRT2: f64 = 7.07106781186547524401e-01;
    const LN2HI: f64 = 6.93147180369123816490e-01;
    const LN2LO: f64 = 1.90821492927058770002e-10;
    const L1: f64 = 6.666666666666735130e-01;
    const L2: f64 = 3.999999999940941908e-01;
    const L3: f64 = 2.857142874366239149e-01;
    const L4: f64 = 2.222219843214978396e-01;
    const L5: f64 = 1.818357216161805012e-01;
    const L6: f64 = 1.531383769920937332e-01;
    const L7: f64 = 1.479819860511658591e-01;
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x < 0.0 {
        return f64::NAN;
    }
    let bits = x.to_bits();
    // f1, ki := Frexp(x) (no subnormal handling, exactly like the assembly)
    let mut f1 = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FE0_0000_0000_0000);
    let mut k = (((bits >> 52) & 0x7FF) as i32 - 0x3FE) as f64;
    // CMPSD ..., 5 (not-less-than): adjusts when !(HSqrt2 < f1), i.e.
    // f1 <= HSqrt2 (Go's pure-Go Log uses f1 < Sqrt2/2; the asm wins here).
    if f1 <= HSQRT2 {
        k -= 1.0;
        f1 *= 2.0;
    }
    let f = f1 - 1.0;
    let s = f / (2.0 + f);
    let s2 = s * s;
    let s4 = s2 * s2;
    let t1 = s2 * (((L7 * s4 + L5) * s4 + L3) * s4 + L1);
    let t2 = s4 * ((L6 * s4 + L4) * s4 + L2);
    let r = t1 + t2;
    let hfsq = 0.5 * f * f;
    k * LN2HI - ((hfsq - (s * (hfsq + r) + k * LN2LO)) - f)
}

/// `math.Pow(1000, e)` for the integral `e` go-humanize can produce (0..=6);
/// Go's `Pow` computes these exactly.
static POW1000: [f64; 7] = [1.0, 1e3, 1e6, 1e9, 1e12, 1e15, 1e18];
static SI_SIZES: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];

/// bytes formatter: go-humanize v1.0.1 `Bytes(v)` (SI, base 1000).
///
/// `v < 10` → `"<v> B"`; otherwise `e = floor(Log(v)/Log(1000))`,
/// `x = floor(v/1000^e*10 + 0.5)/10`, printed with `%.1f` when `x < 10`
/// and `%.0f` otherwise (Go rounding: exact value, ties to even), a space
/// and the unit.  So `999 B`, `1.0 kB`, `1000 kB` (999999), `10 kB` (10500:
/// 10.5 rounds to even), `18 EB` (u64::MAX).
pub fn bytes_si(v: u64, out: &mut String) {
    if v < 10 {
        let _ = write!(out, "{v} B");
        return;
    }
    let fv = v as f64;
    let e = (go_log_amd64(fv) / go_log_amd64(1000.0)).floor();
    let idx = e as usize; // 0..=6 for any u64
    let val = (fv / POW1000[idx] * 10.0 + 0.5).floor() / 10.0;
    go_fmt_f(val, if val < 10.0 { 1 } else { 0 }, out);
    out.push(' ');
    out.push_str(SI_SIZES[idx]);
}

// ---------------------------------------------------------------------------
// durations
// ---------------------------------------------------------------------------

/// duration formatter (`type:gadget_duration`): IG's `formatDuration`.
///
/// IG converts the Uint64 to `time.Duration` (int64), so values ≥ 2^63 are
/// negative and take the first branch (`u64::MAX` → `-1ns`).
///
/// | d | text |
/// |---|---|
/// | < 1µs | `<n>ns` |
/// | < 1ms | `%.2f` of d/1000 + `µs` |
/// | < 1s | `%.2f` of d/1e6 + `ms` (999999999 → `1000.00ms`) |
/// | else | Go `Duration.String()` |
pub fn duration(ns: u64, out: &mut String) {
    let d = ns as i64;
    if d < 1_000 {
        let _ = write!(out, "{d}ns");
    } else if d < 1_000_000 {
        go_fmt_f(d as f64 / 1e3, 2, out);
        out.push_str("µs");
    } else if d < 1_000_000_000 {
        go_fmt_f(d as f64 / 1e6, 2, out);
        out.push_str("ms");
    } else {
        go_duration_string(d, out);
    }
}

/// Go `time.Duration(d).String()`: `0s`, `1.5ns`-style units below one
/// second (`999ns`, `343.118µs`, `2.622617ms`), otherwise `[h]h[m]m s.fracs`
/// with trailing fraction zeros dropped (`1s`, `1m1.5s`, `1h2m3s`,
/// `2.000000001s`); negative values get a leading `-`.
pub fn go_duration_string(d: i64, out: &mut String) {
    // Mirrors time.Duration.format: fills a buffer from the end.
    let mut buf = [0u8; 32];
    let mut w = buf.len();
    let neg = d < 0;
    let mut u = d.unsigned_abs();

    fn fmt_frac(buf: &mut [u8], mut w: usize, mut v: u64, prec: usize) -> (usize, u64) {
        let mut print = false;
        for _ in 0..prec {
            let digit = v % 10;
            print = print || digit != 0;
            if print {
                w -= 1;
                buf[w] = b'0' + digit as u8;
            }
            v /= 10;
        }
        if print {
            w -= 1;
            buf[w] = b'.';
        }
        (w, v)
    }
    fn fmt_int(buf: &mut [u8], mut w: usize, mut v: u64) -> usize {
        if v == 0 {
            w -= 1;
            buf[w] = b'0';
        } else {
            while v > 0 {
                w -= 1;
                buf[w] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        w
    }

    if u < 1_000_000_000 {
        let prec;
        w -= 1;
        buf[w] = b's';
        w -= 1;
        if u == 0 {
            out.push_str("0s");
            return;
        } else if u < 1_000 {
            prec = 0;
            buf[w] = b'n';
        } else if u < 1_000_000 {
            prec = 3;
            // U+00B5 MICRO SIGN, 0xC2 0xB5
            w -= 1;
            buf[w] = 0xC2;
            buf[w + 1] = 0xB5;
        } else {
            prec = 6;
            buf[w] = b'm';
        }
        let (nw, nu) = fmt_frac(&mut buf, w, u, prec);
        w = fmt_int(&mut buf, nw, nu);
    } else {
        w -= 1;
        buf[w] = b's';
        let (nw, nu) = fmt_frac(&mut buf, w, u, 9);
        w = nw;
        u = nu;
        w = fmt_int(&mut buf, w, u % 60);
        u /= 60;
        if u > 0 {
            w -= 1;
            buf[w] = b'm';
            w = fmt_int(&mut buf, w, u % 60);
            u /= 60;
            if u > 0 {
                w -= 1;
                buf[w] = b'h';
                w = fmt_int(&mut buf, w, u);
            }
        }
    }
    if neg {
        w -= 1;
        buf[w] = b'-';
    }
    // The buffer only ever holds ASCII and the complete 2-byte 'µ'.
    out.push_str(std::str::from_utf8(&buf[w..]).unwrap_or(""));
}

// ---------------------------------------------------------------------------
// IP addresses and protocols
// ---------------------------------------------------------------------------

fn push_dotted_quad(b: &[u8], out: &mut String) {
    let _ = write!(out, "{}.{}.{}.{}", b[0], b[1], b[2], b[3]);
}

/// `<ep>.addr` of the l3/l4 endpoint formatters (IG `common.GetIPForVersion`).
///
/// * version 4 → the first 4 bytes as a dotted quad (`net.IP(ip[:4])`);
/// * version 6 → Go `net.IP(16 bytes).String()`: IPv4-mapped
///   (`::ffff:a.b.c.d`) prints as `a.b.c.d`; otherwise lowercase hex groups
///   without leading zeros, the longest run (≥ 2 groups, first one on a tie)
///   of zero groups replaced by `::` (RFC 5952);
/// * anything else → `Err("unknown IP version: <v>")`.  In IG this is
///   wrapped as `getting IP address: getting IP: unknown IP version: <v>`
///   and returned from the subscriber, which drops the event.
///
/// Nothing is written on error.
pub fn ip_string(version: u8, addr: &[u8; 16], out: &mut String) -> Result<(), String> {
    match version {
        4 => {
            push_dotted_quad(&addr[..4], out);
            Ok(())
        }
        6 => {
            if addr[..10].iter().all(|&b| b == 0) && addr[10] == 0xff && addr[11] == 0xff {
                push_dotted_quad(&addr[12..], out);
                return Ok(());
            }
            let g = |i: usize| u16::from_be_bytes([addr[2 * i], addr[2 * i + 1]]);
            // Longest run of >= 2 zero groups, first wins on ties.
            let (mut zs, mut ze) = (255usize, 255usize);
            for i in 0..8 {
                let mut j = i;
                while j < 8 && g(j) == 0 {
                    j += 1;
                }
                let l = j - i;
                if l >= 2 && l > ze.wrapping_sub(zs) {
                    zs = i;
                    ze = j;
                }
            }
            let mut i = 0;
            while i < 8 {
                if i == zs {
                    out.push_str("::");
                    i = ze;
                    if i >= 8 {
                        break;
                    }
                } else if i > 0 {
                    out.push(':');
                }
                let _ = write!(out, "{:x}", g(i));
                i += 1;
            }
            Ok(())
        }
        v => Err(format!("unknown IP version: {v}")),
    }
}

/// IG `pkg/utils/protocols` (IANA protocol numbers); index = number.
#[rustfmt::skip]
static PROTO_NAMES: [&str; 146] = [
    "HOPOPT", "ICMP", "IGMP", "GGP", "IPv4", "ST", "TCP", "CBT", "EGP", "IGP", "BBN-RCC-MON",
    "NVP-II", "PUP", "ARGUS", "EMCON", "XNET", "CHAOS", "UDP", "MUX", "DCN-MEAS", "HMP", "PRM",
    "XNS-IDP", "TRUNK-1", "TRUNK-2", "LEAF-1", "LEAF-2", "RDP", "IRTP", "ISO-TP4", "NETBLT",
    "MFE-NSP", "MERIT-INP", "DCCP", "3PC", "IDPR", "XTP", "DDP", "IDPR-CMTP", "TP++", "IL", "IPv6",
    "SDRP", "IPv6-Route", "IPv6-Frag", "IDRP", "RSVP", "GRE", "DSR", "BNA", "ESP", "AH", "I-NLSP",
    "SWIPE", "NARP", "MOBILE", "TLSP", "SKIP", "IPv6-ICMP", "IPv6-NoNxt", "IPv6-Opts", "internal",
    "CFTP", "local", "SAT-EXPAK", "KRYPTOLAN", "RVD", "IPPC", "distributed", "SAT-MON", "VISA",
    "IPCU", "CPNX", "CPHB", "WSN", "PVP", "BR-SAT-MON", "SUN-ND", "WB-MON", "WB-EXPAK", "ISO-IP",
    "VMTP", "SECURE-VMTP", "VINES", "TTP", "NSFNET-IGP", "DGP", "TCF", "EIGRP", "OSPFIGP",
    "Sprite-RPC", "LARP", "MTP", "AX.25", "IPIP", "MICP", "SCC-SP", "ETHERIP", "ENCAP", "private",
    "GMTP", "IFMP", "PNNI", "PIM", "ARIS", "SCPS", "QNX", "A/N", "IPComp", "SNP", "Compaq-Peer",
    "IPX-in-IP", "VRRP", "PGM", "0-hop", "L2TP", "DDX", "IATP", "STP", "SRP", "UTI", "SMP", "SM",
    "PTP", "ISIS over IPv4", "FIRE", "CRTP", "CRUDP", "SSCOPMCE", "IPLT", "SPS", "PIPE", "SCTP",
    "FC", "RSVP-E2E-IGNORE", "Mobility Header", "UDPLite", "MPLS-in-IP", "manet", "HIP", "Shim6",
    "WESP", "ROHC", "Ethernet", "AGGFRAG", "NSH",
];

/// `<ep>.proto` of the l4 endpoint formatter: IG's IANA table (0..=145,
/// 253/254 `experimentation`, 255 `reserved`), else `proto#<n>`.
pub fn proto_name(p: u16) -> Cow<'static, str> {
    match p {
        0..=145 => Cow::Borrowed(PROTO_NAMES[p as usize]),
        253 | 254 => Cow::Borrowed("experimentation"),
        255 => Cow::Borrowed("reserved"),
        _ => Cow::Owned(format!("proto#{p}")),
    }
}

// ---------------------------------------------------------------------------
// enums
// ---------------------------------------------------------------------------

/// ebpf enum formatter (`pkg/operators/ebpf/formatters.go`).
///
/// IG compares `uint64`s: the field value read by size (sign-extended when
/// the enum — the kernel's enum if it replaced the gadget's — is signed)
/// against cilium/ebpf `EnumValue.Value` (32-bit values of signed enums are
/// sign-extended to 64 bits, others zero-extended).  Pass both in that form
/// (any `i128` whose low 64 bits are those `uint64`s); only the low 64 bits
/// are used, so the comparison is IG's.
///
/// * plain enum (`is_set == false`): the name of the first member equal to
///   `v`, else `UNKNOWN`;
/// * flags enum (type name ends in `_set`): every member with
///   `v & m == m`, in declaration order, joined by `sep` (IG default `|`,
///   annotation `ebpf.formatter.bitfield.separator`); a zero-valued member
///   always matches; no match → nothing written.
pub fn enum_text<S: AsRef<str>>(
    values: &[(S, i128)],
    v: i128,
    is_set: bool,
    sep: &str,
    out: &mut String,
) {
    let v = v as u64;
    if is_set {
        let mut first = true;
        for (name, m) in values {
            let m = *m as u64;
            if v & m == m {
                if !first {
                    out.push_str(sep);
                }
                first = false;
                out.push_str(name.as_ref());
            }
        }
    } else {
        for (name, m) in values {
            if *m as u64 == v {
                out.push_str(name.as_ref());
                return;
            }
        }
        out.push_str("UNKNOWN");
    }
}

// ---------------------------------------------------------------------------
// timestamps
// ---------------------------------------------------------------------------

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid pointer to a timespec; CLOCK_REALTIME/BOOTTIME always exist on Linux.
    unsafe {
        libc::clock_gettime(clock, &mut ts);
    }
    ts.tv_sec as i128 * 1_000_000_000 + ts.tv_nsec as i128
}

/// Current wall-clock time (`time.Now().UnixNano()`).
pub fn realtime_now_ns() -> i64 {
    clock_ns(libc::CLOCK_REALTIME) as i64
}

/// Boot time → wall time conversion of the timestamp formatter
/// (IG `gadgets.WallTimeFromBootTime`).
///
/// The offset `realtime_now − CLOCK_BOOTTIME_now` is computed once, like IG
/// does in its package `init`, and never recomputed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WallClock {
    /// Wall time minus boot time, in nanoseconds.
    pub offset_ns: i128,
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}

impl WallClock {
    /// Measures the offset now.
    pub fn new() -> Self {
        let boot = clock_ns(libc::CLOCK_BOOTTIME);
        let real = clock_ns(libc::CLOCK_REALTIME);
        WallClock {
            offset_ns: real - boot,
        }
    }

    /// Wall time (Unix ns) for a `bpf_ktime_get_boot_ns()` value: `raw == 0`
    /// → now, else `raw + offset` (int64 arithmetic, as in Go).  This is also
    /// the value IG writes back into `timestamp_raw`.
    pub fn wall_ns(&self, raw: u64) -> u64 {
        if raw == 0 {
            return realtime_now_ns() as u64;
        }
        (raw as i64).wrapping_add(self.offset_ns as i64) as u64
    }
}

/// A resolved zone for one instant: UTC offset and abbreviation (`MST`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoneAt {
    /// Seconds east of UTC.
    pub offset_secs: i32,
    abbr: [u8; 16],
    abbr_len: u8,
}

impl ZoneAt {
    /// Builds a zone; the abbreviation is truncated to 16 bytes.
    pub fn new(offset_secs: i32, abbr: &str) -> Self {
        let mut a = [0u8; 16];
        let mut n = abbr.len().min(16);
        while !abbr.is_char_boundary(n) {
            n -= 1;
        }
        a[..n].copy_from_slice(&abbr.as_bytes()[..n]);
        ZoneAt {
            offset_secs,
            abbr: a,
            abbr_len: n as u8,
        }
    }

    /// UTC, as Go's `time.UTC` / fallback `Local` (abbreviation `UTC`).
    pub fn utc() -> Self {
        Self::new(0, "UTC")
    }

    /// The abbreviation (`CET`, `EDT`, `+0545`, …); may be empty.
    pub fn abbr(&self) -> &str {
        std::str::from_utf8(&self.abbr[..self.abbr_len as usize]).unwrap_or("")
    }
}

/// Go's `initLocal` falls back to UTC when `$TZ` is set but names nothing Go
/// can load (an empty value, `UTC`, a POSIX rule string such as
/// `EST5EDT,M3.2.0,M11.1.0`, a missing file).  glibc would instead interpret
/// POSIX strings, so detect those cases once and force UTC like Go.
fn go_local_is_utc() -> bool {
    static UTC: OnceLock<bool> = OnceLock::new();
    *UTC.get_or_init(|| {
        let tz = match std::env::var_os("TZ") {
            None => return !std::path::Path::new("/etc/localtime").is_file(),
            Some(tz) => tz,
        };
        let tz = tz.to_string_lossy();
        let tz = tz.strip_prefix(':').unwrap_or(&tz);
        if tz.is_empty() || tz == "UTC" {
            return true;
        }
        if tz.starts_with('/') {
            return !std::path::Path::new(tz).is_file();
        }
        if tz.contains("..") || tz.starts_with('\\') {
            return true;
        }
        let sources = [
            "/usr/share/zoneinfo/",
            "/usr/share/lib/zoneinfo/",
            "/usr/lib/locale/TZ/",
            "/etc/zoneinfo",
        ];
        !sources
            .iter()
            .any(|s| std::path::Path::new(&format!("{s}/{tz}")).is_file())
    })
}

fn libc_zone_at(unix_secs: i64) -> ZoneAt {
    let t = unix_secs as libc::time_t;
    // SAFETY: `tm` is plain old data; localtime_r writes only into it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::localtime_r(&t, &mut tm) };
    if r.is_null() {
        return ZoneAt::utc();
    }
    let abbr = if tm.tm_zone.is_null() {
        ""
    } else {
        // SAFETY: glibc points tm_zone at a NUL-terminated static string.
        unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
            .to_str()
            .unwrap_or("")
    };
    ZoneAt::new(tm.tm_gmtoff as i32, abbr)
}

/// The local zone (`time.Local`) in effect at `unix_secs`.
///
/// Lookups are cached per thread in 15-minute buckets (a bucket is cached
/// only if its first and last second resolve to the same zone; no tz
/// database has two transitions within 15 minutes).
pub fn local_zone_at(unix_secs: i64) -> ZoneAt {
    const BUCKET: i64 = 900;
    thread_local! {
        static CACHE: Cell<Option<(i64, ZoneAt)>> = const { Cell::new(None) };
    }
    if go_local_is_utc() {
        return ZoneAt::utc();
    }
    let bucket = unix_secs.div_euclid(BUCKET);
    if let Some((b, z)) = CACHE.with(|c| c.get()) {
        if b == bucket {
            return z;
        }
    }
    let start = bucket * BUCKET;
    let z0 = libc_zone_at(start);
    let z1 = libc_zone_at(start + BUCKET - 1);
    if z0 == z1 {
        CACHE.with(|c| c.set(Some((bucket, z0))));
        z0
    } else {
        libc_zone_at(unix_secs)
    }
}

/// Broken-down civil time (proleptic Gregorian), like Go's `absDays` parts.
struct Civil {
    year: i64,
    month: u32, // 1..=12
    day: u32,   // 1..=31
    yday: u32,  // 1..=366
    wday: u32,  // 0 = Sunday
    hour: u32,
    min: u32,
    sec: u32,
}

fn civil(local_secs: i64) -> Civil {
    let days = local_secs.div_euclid(86_400);
    let sod = local_secs.rem_euclid(86_400) as u32;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    const CUM: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let yday = CUM[month as usize - 1] + day + if leap && month > 2 { 1 } else { 0 };
    Civil {
        year,
        month,
        day,
        yday,
        wday: (days + 4).rem_euclid(7) as u32,
        hour: sod / 3600,
        min: sod / 60 % 60,
        sec: sod % 60,
    }
}

/// Go `time.appendInt`: optional `-`, zero-padded to `width` digits.
fn append_int(out: &mut String, x: i64, width: usize) {
    if x < 0 {
        out.push('-');
    }
    let u = x.unsigned_abs();
    let _ = write!(out, "{u:0width$}");
}

fn append_2(out: &mut String, v: u32) {
    out.push((b'0' + (v / 10 % 10) as u8) as char);
    out.push((b'0' + (v % 10) as u8) as char);
}

/// Go layout tokens (`time.nextStdChunk`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Std {
    LongMonth,
    Month,
    NumMonth,
    ZeroMonth,
    LongWeekDay,
    WeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    LongYear,
    Year,
    PM,
    Pm,
    TZ,
    ISO8601TZ,
    ISO8601SecondsTZ,
    ISO8601ShortTZ,
    ISO8601ColonTZ,
    ISO8601ColonSecondsTZ,
    NumTZ,
    NumSecondsTz,
    NumShortTZ,
    NumColonTZ,
    NumColonSecondsTZ,
    /// fractional seconds: digits, separator (`.`/`,`), trim (`9`s)
    Frac(usize, u8, bool),
}

/// `time.nextStdChunk`: returns (prefix length, token, suffix start).
fn next_std_chunk(l: &[u8]) -> (usize, Option<Std>, usize) {
    let n = l.len();
    let has = |i: usize, s: &[u8]| n >= i + s.len() && &l[i..i + s.len()] == s;
    let lower_at = |i: usize| i < n && l[i].is_ascii_lowercase();
    let digit_at = |i: usize| i < n && l[i].is_ascii_digit();
    let mut i = 0;
    while i < n {
        match l[i] {
            b'J' if has(i, b"Jan") => {
                if has(i, b"January") {
                    return (i, Some(Std::LongMonth), i + 7);
                }
                if !lower_at(i + 3) {
                    return (i, Some(Std::Month), i + 3);
                }
            }
            b'M' => {
                if has(i, b"Mon") {
                    if has(i, b"Monday") {
                        return (i, Some(Std::LongWeekDay), i + 6);
                    }
                    if !lower_at(i + 3) {
                        return (i, Some(Std::WeekDay), i + 3);
                    }
                }
                if has(i, b"MST") {
                    return (i, Some(Std::TZ), i + 3);
                }
            }
            b'0' => {
                if n >= i + 2 && (b'1'..=b'6').contains(&l[i + 1]) {
                    let s = [
                        Std::ZeroMonth,
                        Std::ZeroDay,
                        Std::ZeroHour12,
                        Std::ZeroMinute,
                        Std::ZeroSecond,
                        Std::Year,
                    ][(l[i + 1] - b'1') as usize];
                    return (i, Some(s), i + 2);
                }
                if n >= i + 3 && l[i + 1] == b'0' && l[i + 2] == b'2' {
                    return (i, Some(Std::ZeroYearDay), i + 3);
                }
            }
            b'1' => {
                if n >= i + 2 && l[i + 1] == b'5' {
                    return (i, Some(Std::Hour), i + 2);
                }
                return (i, Some(Std::NumMonth), i + 1);
            }
            b'2' => {
                if has(i, b"2006") {
                    return (i, Some(Std::LongYear), i + 4);
                }
                return (i, Some(Std::Day), i + 1);
            }
            b'_' => {
                if n >= i + 2 && l[i + 1] == b'2' {
                    // _2006 is a literal _ followed by 2006
                    if has(i + 1, b"2006") {
                        return (i + 1, Some(Std::LongYear), i + 5);
                    }
                    return (i, Some(Std::UnderDay), i + 2);
                }
                if n >= i + 3 && l[i + 1] == b'_' && l[i + 2] == b'2' {
                    return (i, Some(Std::UnderYearDay), i + 3);
                }
            }
            b'3' => return (i, Some(Std::Hour12), i + 1),
            b'4' => return (i, Some(Std::Minute), i + 1),
            b'5' => return (i, Some(Std::Second), i + 1),
            b'P' if has(i, b"PM") => return (i, Some(Std::PM), i + 2),
            b'p' if has(i, b"pm") => return (i, Some(Std::Pm), i + 2),
            b'-' => {
                if has(i, b"-070000") {
                    return (i, Some(Std::NumSecondsTz), i + 7);
                }
                if has(i, b"-07:00:00") {
                    return (i, Some(Std::NumColonSecondsTZ), i + 9);
                }
                if has(i, b"-0700") {
                    return (i, Some(Std::NumTZ), i + 5);
                }
                if has(i, b"-07:00") {
                    return (i, Some(Std::NumColonTZ), i + 6);
                }
                if has(i, b"-07") {
                    return (i, Some(Std::NumShortTZ), i + 3);
                }
            }
            b'Z' => {
                if has(i, b"Z070000") {
                    return (i, Some(Std::ISO8601SecondsTZ), i + 7);
                }
                if has(i, b"Z07:00:00") {
                    return (i, Some(Std::ISO8601ColonSecondsTZ), i + 9);
                }
                if has(i, b"Z0700") {
                    return (i, Some(Std::ISO8601TZ), i + 5);
                }
                if has(i, b"Z07:00") {
                    return (i, Some(Std::ISO8601ColonTZ), i + 6);
                }
                if has(i, b"Z07") {
                    return (i, Some(Std::ISO8601ShortTZ), i + 3);
                }
            }
            c @ (b'.' | b',') if i + 1 < n && (l[i + 1] == b'0' || l[i + 1] == b'9') => {
                let ch = l[i + 1];
                let mut j = i + 1;
                while j < n && l[j] == ch {
                    j += 1;
                }
                // The run of 0s/9s must not be followed by another digit.
                if !digit_at(j) {
                    let digits = (j - (i + 1)) & 0xfff;
                    return (i, Some(Std::Frac(digits, c, ch == b'9')), j);
                }
            }
            _ => {}
        }
        i += 1;
    }
    (n, None, n)
}

static LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
static LONG_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// `time.appendNano`.
fn append_nano(out: &mut String, nsec: u32, digits: usize, sep: u8, trim: bool) {
    if trim && (digits == 0 || nsec == 0) {
        return;
    }
    let mut buf = [0u8; 9];
    let mut v = nsec;
    for b in buf.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let mut len = digits.min(9);
    if trim {
        while len > 0 && buf[len - 1] == b'0' {
            len -= 1;
        }
        if len == 0 {
            return;
        }
    }
    out.push(sep as char);
    // ASCII digits.
    out.push_str(std::str::from_utf8(&buf[..len]).unwrap_or_default());
}

/// `Time.Format(layout)` for the instant `unix_ns` in an explicit zone.
/// This is the engine behind [`format_go_layout`]; it supports every token
/// of Go's `nextStdChunk`.
pub fn format_go_layout_in_zone(unix_ns: i64, layout: &str, zone: &ZoneAt, out: &mut String) {
    let secs = unix_ns.div_euclid(1_000_000_000);
    let nsec = unix_ns.rem_euclid(1_000_000_000) as u32;
    let offset = zone.offset_secs as i64;
    let c = civil(secs.wrapping_add(offset));
    let mut rest = layout;
    while !rest.is_empty() {
        let (plen, std, sstart) = next_std_chunk(rest.as_bytes());
        out.push_str(&rest[..plen]);
        let std = match std {
            Some(s) => s,
            None => break,
        };
        rest = &rest[sstart..];
        let hr12 = match c.hour % 12 {
            0 => 12,
            h => h,
        };
        match std {
            Std::Year => append_2(out, (c.year.unsigned_abs() % 100) as u32),
            Std::LongYear => append_int(out, c.year, 4),
            Std::Month => out.push_str(&LONG_MONTHS[c.month as usize - 1][..3]),
            Std::LongMonth => out.push_str(LONG_MONTHS[c.month as usize - 1]),
            Std::NumMonth => append_int(out, c.month as i64, 0),
            Std::ZeroMonth => append_2(out, c.month),
            Std::WeekDay => out.push_str(&LONG_DAYS[c.wday as usize][..3]),
            Std::LongWeekDay => out.push_str(LONG_DAYS[c.wday as usize]),
            Std::Day => append_int(out, c.day as i64, 0),
            Std::UnderDay => {
                if c.day < 10 {
                    out.push(' ');
                }
                append_int(out, c.day as i64, 0);
            }
            Std::ZeroDay => append_2(out, c.day),
            Std::UnderYearDay => {
                if c.yday < 100 {
                    out.push(' ');
                    if c.yday < 10 {
                        out.push(' ');
                    }
                }
                append_int(out, c.yday as i64, 0);
            }
            Std::ZeroYearDay => append_int(out, c.yday as i64, 3),
            Std::Hour => append_2(out, c.hour),
            Std::Hour12 => append_int(out, hr12 as i64, 0),
            Std::ZeroHour12 => append_2(out, hr12),
            Std::Minute => append_int(out, c.min as i64, 0),
            Std::ZeroMinute => append_2(out, c.min),
            Std::Second => append_int(out, c.sec as i64, 0),
            Std::ZeroSecond => append_2(out, c.sec),
            Std::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Std::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Std::ISO8601TZ
            | Std::ISO8601SecondsTZ
            | Std::ISO8601ShortTZ
            | Std::ISO8601ColonTZ
            | Std::ISO8601ColonSecondsTZ
            | Std::NumTZ
            | Std::NumSecondsTz
            | Std::NumShortTZ
            | Std::NumColonTZ
            | Std::NumColonSecondsTZ => {
                let iso = matches!(
                    std,
                    Std::ISO8601TZ
                        | Std::ISO8601SecondsTZ
                        | Std::ISO8601ShortTZ
                        | Std::ISO8601ColonTZ
                        | Std::ISO8601ColonSecondsTZ
                );
                if offset == 0 && iso {
                    out.push('Z');
                    continue;
                }
                let mut zone_min = offset / 60;
                let mut absoff = offset;
                if zone_min < 0 {
                    out.push('-');
                    zone_min = -zone_min;
                    absoff = -absoff;
                } else {
                    out.push('+');
                }
                append_int(out, zone_min / 60, 2);
                let colon = matches!(
                    std,
                    Std::ISO8601ColonTZ
                        | Std::NumColonTZ
                        | Std::ISO8601ColonSecondsTZ
                        | Std::NumColonSecondsTZ
                );
                if colon {
                    out.push(':');
                }
                if !matches!(std, Std::NumShortTZ | Std::ISO8601ShortTZ) {
                    append_int(out, zone_min % 60, 2);
                }
                if matches!(
                    std,
                    Std::ISO8601SecondsTZ
                        | Std::NumSecondsTz
                        | Std::NumColonSecondsTZ
                        | Std::ISO8601ColonSecondsTZ
                ) {
                    if matches!(std, Std::NumColonSecondsTZ | Std::ISO8601ColonSecondsTZ) {
                        out.push(':');
                    }
                    append_int(out, absoff % 60, 2);
                }
            }
            Std::TZ => {
                if !zone.abbr().is_empty() {
                    out.push_str(zone.abbr());
                } else {
                    let mut zone_min = offset / 60;
                    if zone_min < 0 {
                        out.push('-');
                        zone_min = -zone_min;
                    } else {
                        out.push('+');
                    }
                    append_int(out, zone_min / 60, 2);
                    append_int(out, zone_min % 60, 2);
                }
            }
            Std::Frac(digits, sep, trim) => append_nano(out, nsec, digits, sep, trim),
        }
    }
}

/// `time.Unix(0, int64(wall_ns)).Format(layout)` in the local time zone —
/// the `formatters.timestamp.format` annotation.
///
/// All Go layout tokens are supported (`2006 06 01 1 Jan January 02 2 _2
/// __2 002 15 03 3 04 4 05 5 PM pm Mon Monday MST`, the `-07…`/`Z07…` zone
/// forms and `.000`/`.999`/`,000`/`,999` fractions).
///
/// Local zone: glibc `localtime_r` (honours `TZ`, including `:name` and
/// absolute paths, and `/etc/localtime`), except that UTC is used whenever
/// Go would fall back to it (`TZ=""`, `TZ=UTC`, unloadable names or POSIX
/// rule strings, missing `/etc/localtime`).  `MST` prints the zone
/// abbreviation from the tz database.
pub fn format_go_layout(wall_ns: u64, layout: &str, out: &mut String) {
    let ns = wall_ns as i64;
    let zone = local_zone_at(ns.div_euclid(1_000_000_000));
    format_go_layout_in_zone(ns, layout, &zone, out);
}

/// The timestamp formatter's default layout
/// `2006-01-02T15:04:05.000000000Z07:00` in an explicit zone (fast path).
pub fn format_rfc3339_nano_in_zone(unix_ns: i64, zone: &ZoneAt, out: &mut String) {
    let secs = unix_ns.div_euclid(1_000_000_000);
    let nsec = unix_ns.rem_euclid(1_000_000_000) as u32;
    push_rfc3339(secs, Some(nsec), zone, out);
}

fn push_rfc3339(secs: i64, nsec: Option<u32>, zone: &ZoneAt, out: &mut String) {
    // The date and time of day of the last local second formatted on this thread: events
    // come many per second.
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> = const { std::cell::RefCell::new((i64::MIN, String::new())) };
    }
    let offset = zone.offset_secs as i64;
    let local = secs.wrapping_add(offset);
    let hit = LAST.with(|l| {
        let l = l.borrow();
        (l.0 == local && local != i64::MIN).then(|| out.push_str(&l.1)).is_some()
    });
    if !hit {
        let start = out.len();
        let c = civil(local);
        append_int(out, c.year, 4);
        out.push('-');
        append_2(out, c.month);
        out.push('-');
        append_2(out, c.day);
        out.push('T');
        append_2(out, c.hour);
        out.push(':');
        append_2(out, c.min);
        out.push(':');
        append_2(out, c.sec);
        LAST.with(|l| {
            let mut l = l.borrow_mut();
            l.0 = local;
            l.1.clear();
            l.1.push_str(&out[start..]);
        });
    }
    if let Some(ns) = nsec {
        append_nano(out, ns, 9, b'.', false);
    }
    if offset == 0 {
        out.push('Z');
    } else {
        let (sign, m) = if offset < 0 {
            ('-', -offset / 60)
        } else {
            ('+', offset / 60)
        };
        out.push(sign);
        append_int(out, m / 60, 2);
        out.push(':');
        append_int(out, m % 60, 2);
    }
}

/// Timestamp formatter default text: Go layout
/// `2006-01-02T15:04:05.000000000Z07:00` in the local time zone (always 9
/// fraction digits; `Z` for a zero UTC offset, else `±hh:mm`), e.g.
/// `2026-11-29T16:17:47.924599555Z`.  See [`format_go_layout`] for how the
/// local zone is determined.
pub fn format_rfc3339_nano(wall_ns: u64, out: &mut String) {
    let ns = wall_ns as i64;
    let zone = local_zone_at(ns.div_euclid(1_000_000_000));
    format_rfc3339_nano_in_zone(ns, &zone, out);
}

/// Go `time.RFC3339` (`2006-01-02T15:04:05Z07:00`, no fraction) in the
/// local zone, as top_process's `startTimeStr`.  Go drops any fraction, so
/// pass the floor of the instant in seconds.
pub fn format_rfc3339_seconds(unix_secs: i64, out: &mut String) {
    let zone = local_zone_at(unix_secs);
    push_rfc3339(unix_secs, None, &zone, out);
}

/// Go `time.RFC3339` (no fraction) in an explicit zone, e.g. [`ZoneAt::utc`]
/// for image creation times.
pub fn format_rfc3339_seconds_in_zone(unix_secs: i64, zone: &ZoneAt, out: &mut String) {
    push_rfc3339(unix_secs, None, zone, out);
}

// ---------------------------------------------------------------------------
// Go number formatting
// ---------------------------------------------------------------------------

/// Fixed-capacity stack buffer for `core::fmt` output.
pub(crate) struct StackBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> StackBuf<N> {
    pub(crate) fn new() -> Self {
        StackBuf { buf: [0; N], len: 0 }
    }
    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl<const N: usize> std::fmt::Write for StackBuf<N> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let b = s.as_bytes();
        if self.len + b.len() > N {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
        Ok(())
    }
}

/// IG's JSON float encoding (copied from Go `encoding/json`): the shortest
/// decimal that round-trips at `bits` (32 or 64) precision, in `%f` style
/// unless `|x| < 1e-6` or `|x| >= 1e21` (compared at the field's own
/// precision), where `%e` style is used with `e-0N` shortened to `e-N`
/// (`1e-7`, `1e+21`, `1.5e-10`).  NaN and ±Inf write nothing (IG sets an
/// error that nobody checks, leaving e.g. `"f32":,`).
///
/// Rust's `{:e}` produces the same shortest, closest digit string as Go's
/// `strconv` (Ryu); only the layout is rebuilt here.
pub fn go_json_float(v: f64, bits: u32, out: &mut String) {
    if !v.is_finite() {
        return;
    }
    let abs = v.abs();
    let mut sci = false;
    if abs != 0.0 {
        sci = if bits == 32 {
            let a = abs as f32;
            !(1e-6f32..1e21f32).contains(&a)
        } else {
            !(1e-6..1e21).contains(&abs)
        };
    }
    let mut digits = [0u8; 24];
    let Some((neg, nd, exp)) = go_shortest_digits(v, bits, &mut digits) else { return };
    let digits = &digits[..nd];
    if neg {
        out.push('-');
    }
    if sci {
        out.push(digits[0] as char);
        if nd > 1 {
            out.push('.');
            for &d in &digits[1..] {
                out.push(d as char);
            }
        }
        out.push('e');
        let (sign, e) = if exp < 0 { ('-', -exp) } else { ('+', exp) };
        out.push(sign);
        // Go prints at least two exponent digits, then encoding/json turns
        // "e-0N" into "e-N"; positive exponents keep the padding ("e+21").
        if e < 10 && sign == '+' {
            out.push('0');
        }
        let _ = write!(out, "{e}");
    } else {
        // %f with the shortest digits: dp = position of the decimal point.
        let dp = exp + 1;
        if dp > 0 {
            let dp = dp as usize;
            for &d in &digits[..dp.min(nd)] {
                out.push(d as char);
            }
            for _ in nd..dp {
                out.push('0');
            }
            if nd > dp {
                out.push('.');
                for &d in &digits[dp..] {
                    out.push(d as char);
                }
            }
        } else {
            out.push('0');
            // v == 0 has digits "0" and exp 0, handled by dp > 0.
            out.push('.');
            for _ in 0..(-dp) {
                out.push('0');
            }
            for &d in digits {
                out.push(d as char);
            }
        }
    }
}

/// The shortest decimal digits that round-trip `v` (finite) at `bits` (32 or 64) precision,
/// exactly as Go's `strconv` picks them (ties to the even digit, as Go 1.26's Dragonbox):
/// `(negative, digit count, exp)` with `v = ±d.ddd × 10^exp` and the ASCII digits in
/// `digits[..count]` (zero is the single digit `0`). `None` only if formatting failed.
pub fn go_shortest_digits(v: f64, bits: u32, digits: &mut [u8; 24]) -> Option<(bool, usize, i32)> {
    let abs = v.abs();
    let mut sb = StackBuf::<48>::new();
    let r = if bits == 32 {
        write!(sb, "{:e}", v as f32)
    } else {
        write!(sb, "{:e}", v)
    };
    if r.is_err() {
        return None;
    }
    // Parse "[-]d[.ddd]e[-]x".
    let s = sb.as_bytes();
    let (neg, s) = if s.first() == Some(&b'-') {
        (true, &s[1..])
    } else {
        (false, s)
    };
    let epos = s.iter().position(|&b| b == b'e').unwrap_or(s.len());
    let mut nd = 0;
    for &b in &s[..epos] {
        if b.is_ascii_digit() {
            digits[nd] = b;
            nd += 1;
        }
    }
    let mut exp: i32 = std::str::from_utf8(&s[(epos + 1).min(s.len())..])
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    if abs != 0.0 {
        let ((m, e2), mant_bits) = if bits == 32 {
            (decompose32(v as f32), 23)
        } else {
            (decompose64(v), 52)
        };
        // Normal powers of two take Dragonbox's "shorter interval" path, which
        // rounds ties up (as Rust does) except at binary exponent -77.
        let normal = if bits == 32 {
            (v as f32).is_normal()
        } else {
            v.is_normal()
        };
        let power_of_two = m == 1 && normal;
        if !power_of_two || e2 - mant_bits == -77 {
            shortest_tie_to_even(digits, &mut nd, &mut exp, m, e2);
        }
    }
    Some((neg, nd, exp))
}

/// `|v| = m · 2^e2` with `m` odd (v finite, non-zero).
fn decompose64(v: f64) -> (u64, i32) {
    let b = v.to_bits();
    let field = ((b >> 52) & 0x7FF) as i32;
    let frac = b & ((1 << 52) - 1);
    let (m, e2) = if field == 0 {
        (frac, -1074)
    } else {
        (frac | (1 << 52), field - 1075)
    };
    let tz = m.trailing_zeros();
    (m >> tz, e2 + tz as i32)
}

/// `|v| = m · 2^e2` with `m` odd (v finite, non-zero).
fn decompose32(v: f32) -> (u64, i32) {
    let b = v.to_bits();
    let field = ((b >> 23) & 0xFF) as i32;
    let frac = (b & ((1 << 23) - 1)) as u64;
    let (m, e2) = if field == 0 {
        (frac, -149)
    } else {
        (frac | (1 << 23), field - 150)
    };
    let tz = m.trailing_zeros();
    (m >> tz, e2 + tz as i32)
}

/// Go 1.26 (Dragonbox) breaks an exact tie between the two closest shortest
/// candidates towards the even one; Rust's shortest formatting rounds such
/// ties up.  `digits[..nd]` × 10^(exp−nd+1) is Rust's result for `m·2^e2`.
///
/// A tie means the value is exactly `t · 10^k` with `t` ending in 5 and `k`
/// the position just below Rust's last digit.  Since `m` is odd, the
/// lowest non-zero decimal digit of `m·2^e2` (e2 < 0) sits at 10^e2, so
/// `k == e2` is necessary; the rest is checked exactly in `u128`.
fn shortest_tie_to_even(digits: &mut [u8; 24], nd: &mut usize, exp: &mut i32, m: u64, e2: i32) {
    if *nd == 0 || (digits[*nd - 1] - b'0').is_multiple_of(2) {
        return;
    }
    let k = *exp - *nd as i32;
    if k != e2 {
        return;
    }
    // With e2 >= 0 the half-unit 5·10^e2 exceeds the rounding half-width
    // 2^(e2-1), so no tie can be a round-tripping candidate; with j > 27,
    // t = m·5^j has more digits than any shortest form.
    if !(-27..0).contains(&e2) {
        return;
    }
    let t: u128 = m as u128 * 5u128.pow((-e2) as u32);
    if t % 10 != 5 {
        return;
    }
    let floor = t / 10;
    let mut d: u128 = 0;
    for &c in &digits[..*nd] {
        d = d * 10 + (c - b'0') as u128;
    }
    let even = if d == floor + 1 {
        floor
    } else if d == floor {
        floor + 1
    } else {
        return;
    };
    // Re-render `even` × 10^(k+1), trimming trailing zeros.
    let mut tmp = [0u8; 40];
    let mut n = 0;
    let mut x = even;
    loop {
        tmp[n] = b'0' + (x % 10) as u8;
        n += 1;
        x /= 10;
        if x == 0 {
            break;
        }
    }
    if n > digits.len() {
        return;
    }
    *exp = k + n as i32;
    let mut len = n;
    for i in 0..n {
        digits[i] = tmp[n - 1 - i];
    }
    while len > 1 && digits[len - 1] == b'0' {
        len -= 1;
    }
    *nd = len;
}

/// Go `fmt.Sprintf("%.<prec>f", v)`.
///
/// Go rounds the exact binary value correctly, ties (only possible when the
/// binary value is exactly halfway) to even; Rust's `{:.prec$}` does the
/// same (0.5 → `0`, 1.5 → `2`, 2.5 → `2`, 0.125 → `0.12` at prec 2), and
/// both print the sign of negative zero (`-0.0`).  Non-finite values are
/// spelled the Go way: `NaN`, `+Inf`, `-Inf`.
pub fn go_fmt_f(v: f64, prec: usize, out: &mut String) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v == f64::INFINITY {
        out.push_str("+Inf");
    } else if v == f64::NEG_INFINITY {
        out.push_str("-Inf");
    } else {
        let _ = write!(out, "{v:.prec$}");
    }
}

// ---------------------------------------------------------------------------
// strconv.Quote
// ---------------------------------------------------------------------------

const LOWERHEX: &[u8; 16] = b"0123456789abcdef";

/// Go's `strconv.Quote(s)`, quotes included (error messages quote values this way).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    go_quote_inner(s.as_bytes(), &mut out);
    out.push('"');
    out
}

/// `strconv.Quote(s)` without the surrounding `"`.
///
/// * invalid UTF-8 bytes → `\xHH` (each byte of an invalid sequence on its
///   own, exactly like Go's one-byte-at-a-time decoder);
/// * `"` and `\` → backslash-escaped;
/// * printable runes ([`go_is_print`], an exact port of Go's
///   `strconv.IsPrint` tables, Unicode 15) → as is;
/// * `\a \b \f \n \r \t \v`; other C0 controls and DEL → `\xHH`;
/// * other non-printable runes → `\uHHHH` or `\UHHHHHHHH` (lowercase hex).
pub fn go_quote_inner(s: &[u8], out: &mut String) {
    quote_into(s, out)
}

/// [`go_quote_inner`] appended to a byte buffer (the output encoders' reused buffers).
pub fn go_quote_inner_bytes(s: &[u8], out: &mut Vec<u8>) {
    quote_into(s, out)
}

/// Where [`go_quote_inner`] writes: a `String` or a byte buffer (always valid UTF-8 text).
trait TextSink {
    fn put(&mut self, c: char);
    fn put_ascii(&mut self, b: u8) {
        self.put(b as char)
    }
}

impl TextSink for String {
    fn put(&mut self, c: char) {
        self.push(c)
    }
}

impl TextSink for Vec<u8> {
    fn put(&mut self, c: char) {
        let mut b = [0u8; 4];
        self.extend_from_slice(c.encode_utf8(&mut b).as_bytes())
    }
    fn put_ascii(&mut self, b: u8) {
        self.push(b)
    }
}

fn quote_into<S: TextSink>(s: &[u8], out: &mut S) {
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped_rune(c, out);
        }
        for &b in chunk.invalid() {
            push_hex_escape(out, b'x', b as u32, 2);
        }
    }
}

/// `\` + `tag` + `digits` lowercase hex digits of `v`.
fn push_hex_escape<S: TextSink>(out: &mut S, tag: u8, v: u32, digits: u32) {
    out.put_ascii(b'\\');
    out.put_ascii(tag);
    for k in (0..digits).rev() {
        out.put_ascii(LOWERHEX[((v >> (k * 4)) & 0xF) as usize]);
    }
}

fn push_escaped_rune<S: TextSink>(c: char, out: &mut S) {
    if c == '"' || c == '\\' {
        out.put_ascii(b'\\');
        out.put(c);
        return;
    }
    if go_is_print(c) {
        out.put(c);
        return;
    }
    let r = c as u32;
    let short = match c {
        '\x07' => b'a',
        '\x08' => b'b',
        '\x0c' => b'f',
        '\n' => b'n',
        '\r' => b'r',
        '\t' => b't',
        '\x0b' => b'v',
        _ if r < 0x20 || r == 0x7f => return push_hex_escape(out, b'x', r, 2),
        _ if r < 0x10000 => return push_hex_escape(out, b'u', r, 4),
        _ => return push_hex_escape(out, b'U', r, 8),
    };
    out.put_ascii(b'\\');
    out.put_ascii(short);
}

/// First index `i` with `s[i] >= v` (Go `strconv.bsearch`).
fn lower_bound<T: Ord + Copy>(s: &[T], v: T) -> usize {
    s.partition_point(|&x| x < v)
}

/// Go `strconv.IsPrint` (= `unicode.IsPrint`: letters, marks, numbers,
/// punctuation, symbols and ASCII space), using Go 1.26's own tables.
pub fn go_is_print(c: char) -> bool {
    let r = c as u32;
    if r <= 0xFF {
        if (0x20..=0x7E).contains(&r) {
            return true;
        }
        if (0xA1..=0xFF).contains(&r) {
            return r != 0xAD;
        }
        return false;
    }
    if r < 0x10000 {
        let rr = r as u16;
        let i = lower_bound(&IS_PRINT16, rr);
        if i >= IS_PRINT16.len() || rr < IS_PRINT16[i & !1] || IS_PRINT16[i | 1] < rr {
            return false;
        }
        return IS_NOT_PRINT16.binary_search(&rr).is_err();
    }
    let i = lower_bound(&IS_PRINT32, r);
    if i >= IS_PRINT32.len() || r < IS_PRINT32[i & !1] || IS_PRINT32[i | 1] < r {
        return false;
    }
    if r >= 0x20000 {
        return true;
    }
    IS_NOT_PRINT32
        .binary_search(&((r - 0x10000) as u16))
        .is_err()
}

// Tables copied from Go 1.26 src/strconv/isprint.go (generated there by
// makeisprint.go).  IS_PRINT* hold inclusive [lo, hi] pairs; IS_NOT_PRINT*
// list exceptions inside those ranges (IS_NOT_PRINT32 entries + 0x10000).
#[rustfmt::skip]
static IS_PRINT16: [u16; 424] = [
    0x0020, 0x007e, 0x00a1, 0x0377, 0x037a, 0x037f, 0x0384, 0x0556, 0x0559, 0x058a,
    0x058d, 0x05c7, 0x05d0, 0x05ea, 0x05ef, 0x05f4, 0x0606, 0x070d, 0x0710, 0x074a,
    0x074d, 0x07b1, 0x07c0, 0x07fa, 0x07fd, 0x082d, 0x0830, 0x085b, 0x085e, 0x086a,
    0x0870, 0x088e, 0x0898, 0x098c, 0x098f, 0x0990, 0x0993, 0x09b2, 0x09b6, 0x09b9,
    0x09bc, 0x09c4, 0x09c7, 0x09c8, 0x09cb, 0x09ce, 0x09d7, 0x09d7, 0x09dc, 0x09e3,
    0x09e6, 0x09fe, 0x0a01, 0x0a0a, 0x0a0f, 0x0a10, 0x0a13, 0x0a39, 0x0a3c, 0x0a42,
    0x0a47, 0x0a48, 0x0a4b, 0x0a4d, 0x0a51, 0x0a51, 0x0a59, 0x0a5e, 0x0a66, 0x0a76,
    0x0a81, 0x0ab9, 0x0abc, 0x0acd, 0x0ad0, 0x0ad0, 0x0ae0, 0x0ae3, 0x0ae6, 0x0af1,
    0x0af9, 0x0b0c, 0x0b0f, 0x0b10, 0x0b13, 0x0b39, 0x0b3c, 0x0b44, 0x0b47, 0x0b48,
    0x0b4b, 0x0b4d, 0x0b55, 0x0b57, 0x0b5c, 0x0b63, 0x0b66, 0x0b77, 0x0b82, 0x0b8a,
    0x0b8e, 0x0b95, 0x0b99, 0x0b9f, 0x0ba3, 0x0ba4, 0x0ba8, 0x0baa, 0x0bae, 0x0bb9,
    0x0bbe, 0x0bc2, 0x0bc6, 0x0bcd, 0x0bd0, 0x0bd0, 0x0bd7, 0x0bd7, 0x0be6, 0x0bfa,
    0x0c00, 0x0c39, 0x0c3c, 0x0c4d, 0x0c55, 0x0c5a, 0x0c5d, 0x0c5d, 0x0c60, 0x0c63,
    0x0c66, 0x0c6f, 0x0c77, 0x0cb9, 0x0cbc, 0x0ccd, 0x0cd5, 0x0cd6, 0x0cdd, 0x0ce3,
    0x0ce6, 0x0cf3, 0x0d00, 0x0d4f, 0x0d54, 0x0d63, 0x0d66, 0x0d96, 0x0d9a, 0x0dbd,
    0x0dc0, 0x0dc6, 0x0dca, 0x0dca, 0x0dcf, 0x0ddf, 0x0de6, 0x0def, 0x0df2, 0x0df4,
    0x0e01, 0x0e3a, 0x0e3f, 0x0e5b, 0x0e81, 0x0ebd, 0x0ec0, 0x0ed9, 0x0edc, 0x0edf,
    0x0f00, 0x0f6c, 0x0f71, 0x0fda, 0x1000, 0x10c7, 0x10cd, 0x10cd, 0x10d0, 0x124d,
    0x1250, 0x125d, 0x1260, 0x128d, 0x1290, 0x12b5, 0x12b8, 0x12c5, 0x12c8, 0x1315,
    0x1318, 0x135a, 0x135d, 0x137c, 0x1380, 0x1399, 0x13a0, 0x13f5, 0x13f8, 0x13fd,
    0x1400, 0x169c, 0x16a0, 0x16f8, 0x1700, 0x1715, 0x171f, 0x1736, 0x1740, 0x1753,
    0x1760, 0x1773, 0x1780, 0x17dd, 0x17e0, 0x17e9, 0x17f0, 0x17f9, 0x1800, 0x1819,
    0x1820, 0x1878, 0x1880, 0x18aa, 0x18b0, 0x18f5, 0x1900, 0x192b, 0x1930, 0x193b,
    0x1940, 0x1940, 0x1944, 0x196d, 0x1970, 0x1974, 0x1980, 0x19ab, 0x19b0, 0x19c9,
    0x19d0, 0x19da, 0x19de, 0x1a1b, 0x1a1e, 0x1a7c, 0x1a7f, 0x1a89, 0x1a90, 0x1a99,
    0x1aa0, 0x1aad, 0x1ab0, 0x1ace, 0x1b00, 0x1b4c, 0x1b50, 0x1bf3, 0x1bfc, 0x1c37,
    0x1c3b, 0x1c49, 0x1c4d, 0x1c88, 0x1c90, 0x1cba, 0x1cbd, 0x1cc7, 0x1cd0, 0x1cfa,
    0x1d00, 0x1f15, 0x1f18, 0x1f1d, 0x1f20, 0x1f45, 0x1f48, 0x1f4d, 0x1f50, 0x1f7d,
    0x1f80, 0x1fd3, 0x1fd6, 0x1fef, 0x1ff2, 0x1ffe, 0x2010, 0x2027, 0x2030, 0x205e,
    0x2070, 0x2071, 0x2074, 0x209c, 0x20a0, 0x20c0, 0x20d0, 0x20f0, 0x2100, 0x218b,
    0x2190, 0x2426, 0x2440, 0x244a, 0x2460, 0x2b73, 0x2b76, 0x2cf3, 0x2cf9, 0x2d27,
    0x2d2d, 0x2d2d, 0x2d30, 0x2d67, 0x2d6f, 0x2d70, 0x2d7f, 0x2d96, 0x2da0, 0x2e5d,
    0x2e80, 0x2ef3, 0x2f00, 0x2fd5, 0x2ff0, 0x2ffb, 0x3001, 0x3096, 0x3099, 0x30ff,
    0x3105, 0x31e3, 0x31f0, 0xa48c, 0xa490, 0xa4c6, 0xa4d0, 0xa62b, 0xa640, 0xa6f7,
    0xa700, 0xa7ca, 0xa7d0, 0xa7d9, 0xa7f2, 0xa82c, 0xa830, 0xa839, 0xa840, 0xa877,
    0xa880, 0xa8c5, 0xa8ce, 0xa8d9, 0xa8e0, 0xa953, 0xa95f, 0xa97c, 0xa980, 0xa9d9,
    0xa9de, 0xaa36, 0xaa40, 0xaa4d, 0xaa50, 0xaa59, 0xaa5c, 0xaac2, 0xaadb, 0xaaf6,
    0xab01, 0xab06, 0xab09, 0xab0e, 0xab11, 0xab16, 0xab20, 0xab6b, 0xab70, 0xabed,
    0xabf0, 0xabf9, 0xac00, 0xd7a3, 0xd7b0, 0xd7c6, 0xd7cb, 0xd7fb, 0xf900, 0xfa6d,
    0xfa70, 0xfad9, 0xfb00, 0xfb06, 0xfb13, 0xfb17, 0xfb1d, 0xfbc2, 0xfbd3, 0xfd8f,
    0xfd92, 0xfdc7, 0xfdcf, 0xfdcf, 0xfdf0, 0xfe19, 0xfe20, 0xfe6b, 0xfe70, 0xfefc,
    0xff01, 0xffbe, 0xffc2, 0xffc7, 0xffca, 0xffcf, 0xffd2, 0xffd7, 0xffda, 0xffdc,
    0xffe0, 0xffee, 0xfffc, 0xfffd,
];
#[rustfmt::skip]
static IS_NOT_PRINT16: [u16; 133] = [
    0x00ad, 0x038b, 0x038d, 0x03a2, 0x0530, 0x0590, 0x061c, 0x06dd, 0x083f, 0x085f,
    0x08e2, 0x0984, 0x09a9, 0x09b1, 0x09de, 0x0a04, 0x0a29, 0x0a31, 0x0a34, 0x0a37,
    0x0a3d, 0x0a5d, 0x0a84, 0x0a8e, 0x0a92, 0x0aa9, 0x0ab1, 0x0ab4, 0x0ac6, 0x0aca,
    0x0b00, 0x0b04, 0x0b29, 0x0b31, 0x0b34, 0x0b5e, 0x0b84, 0x0b91, 0x0b9b, 0x0b9d,
    0x0bc9, 0x0c0d, 0x0c11, 0x0c29, 0x0c45, 0x0c49, 0x0c57, 0x0c8d, 0x0c91, 0x0ca9,
    0x0cb4, 0x0cc5, 0x0cc9, 0x0cdf, 0x0cf0, 0x0d0d, 0x0d11, 0x0d45, 0x0d49, 0x0d80,
    0x0d84, 0x0db2, 0x0dbc, 0x0dd5, 0x0dd7, 0x0e83, 0x0e85, 0x0e8b, 0x0ea4, 0x0ea6,
    0x0ec5, 0x0ec7, 0x0ecf, 0x0f48, 0x0f98, 0x0fbd, 0x0fcd, 0x10c6, 0x1249, 0x1257,
    0x1259, 0x1289, 0x12b1, 0x12bf, 0x12c1, 0x12d7, 0x1311, 0x1680, 0x176d, 0x1771,
    0x180e, 0x191f, 0x1a5f, 0x1b7f, 0x1f58, 0x1f5a, 0x1f5c, 0x1f5e, 0x1fb5, 0x1fc5,
    0x1fdc, 0x1ff5, 0x208f, 0x2b96, 0x2d26, 0x2da7, 0x2daf, 0x2db7, 0x2dbf, 0x2dc7,
    0x2dcf, 0x2dd7, 0x2ddf, 0x2e9a, 0x3040, 0x3130, 0x318f, 0x321f, 0xa7d2, 0xa7d4,
    0xa9ce, 0xa9ff, 0xab27, 0xab2f, 0xfb37, 0xfb3d, 0xfb3f, 0xfb42, 0xfb45, 0xfe53,
    0xfe67, 0xfe75, 0xffe7,
];
#[rustfmt::skip]
static IS_PRINT32: [u32; 508] = [
    0x010000, 0x01004d, 0x010050, 0x01005d, 0x010080, 0x0100fa, 0x010100, 0x010102,
    0x010107, 0x010133, 0x010137, 0x01019c, 0x0101a0, 0x0101a0, 0x0101d0, 0x0101fd,
    0x010280, 0x01029c, 0x0102a0, 0x0102d0, 0x0102e0, 0x0102fb, 0x010300, 0x010323,
    0x01032d, 0x01034a, 0x010350, 0x01037a, 0x010380, 0x0103c3, 0x0103c8, 0x0103d5,
    0x010400, 0x01049d, 0x0104a0, 0x0104a9, 0x0104b0, 0x0104d3, 0x0104d8, 0x0104fb,
    0x010500, 0x010527, 0x010530, 0x010563, 0x01056f, 0x0105bc, 0x010600, 0x010736,
    0x010740, 0x010755, 0x010760, 0x010767, 0x010780, 0x0107ba, 0x010800, 0x010805,
    0x010808, 0x010838, 0x01083c, 0x01083c, 0x01083f, 0x01089e, 0x0108a7, 0x0108af,
    0x0108e0, 0x0108f5, 0x0108fb, 0x01091b, 0x01091f, 0x010939, 0x01093f, 0x01093f,
    0x010980, 0x0109b7, 0x0109bc, 0x0109cf, 0x0109d2, 0x010a06, 0x010a0c, 0x010a35,
    0x010a38, 0x010a3a, 0x010a3f, 0x010a48, 0x010a50, 0x010a58, 0x010a60, 0x010a9f,
    0x010ac0, 0x010ae6, 0x010aeb, 0x010af6, 0x010b00, 0x010b35, 0x010b39, 0x010b55,
    0x010b58, 0x010b72, 0x010b78, 0x010b91, 0x010b99, 0x010b9c, 0x010ba9, 0x010baf,
    0x010c00, 0x010c48, 0x010c80, 0x010cb2, 0x010cc0, 0x010cf2, 0x010cfa, 0x010d27,
    0x010d30, 0x010d39, 0x010e60, 0x010ead, 0x010eb0, 0x010eb1, 0x010efd, 0x010f27,
    0x010f30, 0x010f59, 0x010f70, 0x010f89, 0x010fb0, 0x010fcb, 0x010fe0, 0x010ff6,
    0x011000, 0x01104d, 0x011052, 0x011075, 0x01107f, 0x0110c2, 0x0110d0, 0x0110e8,
    0x0110f0, 0x0110f9, 0x011100, 0x011147, 0x011150, 0x011176, 0x011180, 0x0111f4,
    0x011200, 0x011241, 0x011280, 0x0112a9, 0x0112b0, 0x0112ea, 0x0112f0, 0x0112f9,
    0x011300, 0x01130c, 0x01130f, 0x011310, 0x011313, 0x011344, 0x011347, 0x011348,
    0x01134b, 0x01134d, 0x011350, 0x011350, 0x011357, 0x011357, 0x01135d, 0x011363,
    0x011366, 0x01136c, 0x011370, 0x011374, 0x011400, 0x011461, 0x011480, 0x0114c7,
    0x0114d0, 0x0114d9, 0x011580, 0x0115b5, 0x0115b8, 0x0115dd, 0x011600, 0x011644,
    0x011650, 0x011659, 0x011660, 0x01166c, 0x011680, 0x0116b9, 0x0116c0, 0x0116c9,
    0x011700, 0x01171a, 0x01171d, 0x01172b, 0x011730, 0x011746, 0x011800, 0x01183b,
    0x0118a0, 0x0118f2, 0x0118ff, 0x011906, 0x011909, 0x011909, 0x01190c, 0x011938,
    0x01193b, 0x011946, 0x011950, 0x011959, 0x0119a0, 0x0119a7, 0x0119aa, 0x0119d7,
    0x0119da, 0x0119e4, 0x011a00, 0x011a47, 0x011a50, 0x011aa2, 0x011ab0, 0x011af8,
    0x011b00, 0x011b09, 0x011c00, 0x011c45, 0x011c50, 0x011c6c, 0x011c70, 0x011c8f,
    0x011c92, 0x011cb6, 0x011d00, 0x011d36, 0x011d3a, 0x011d47, 0x011d50, 0x011d59,
    0x011d60, 0x011d98, 0x011da0, 0x011da9, 0x011ee0, 0x011ef8, 0x011f00, 0x011f3a,
    0x011f3e, 0x011f59, 0x011fb0, 0x011fb0, 0x011fc0, 0x011ff1, 0x011fff, 0x012399,
    0x012400, 0x012474, 0x012480, 0x012543, 0x012f90, 0x012ff2, 0x013000, 0x01342f,
    0x013440, 0x013455, 0x014400, 0x014646, 0x016800, 0x016a38, 0x016a40, 0x016a69,
    0x016a6e, 0x016ac9, 0x016ad0, 0x016aed, 0x016af0, 0x016af5, 0x016b00, 0x016b45,
    0x016b50, 0x016b77, 0x016b7d, 0x016b8f, 0x016e40, 0x016e9a, 0x016f00, 0x016f4a,
    0x016f4f, 0x016f87, 0x016f8f, 0x016f9f, 0x016fe0, 0x016fe4, 0x016ff0, 0x016ff1,
    0x017000, 0x0187f7, 0x018800, 0x018cd5, 0x018d00, 0x018d08, 0x01aff0, 0x01b122,
    0x01b132, 0x01b132, 0x01b150, 0x01b152, 0x01b155, 0x01b155, 0x01b164, 0x01b167,
    0x01b170, 0x01b2fb, 0x01bc00, 0x01bc6a, 0x01bc70, 0x01bc7c, 0x01bc80, 0x01bc88,
    0x01bc90, 0x01bc99, 0x01bc9c, 0x01bc9f, 0x01cf00, 0x01cf2d, 0x01cf30, 0x01cf46,
    0x01cf50, 0x01cfc3, 0x01d000, 0x01d0f5, 0x01d100, 0x01d126, 0x01d129, 0x01d172,
    0x01d17b, 0x01d1ea, 0x01d200, 0x01d245, 0x01d2c0, 0x01d2d3, 0x01d2e0, 0x01d2f3,
    0x01d300, 0x01d356, 0x01d360, 0x01d378, 0x01d400, 0x01d49f, 0x01d4a2, 0x01d4a2,
    0x01d4a5, 0x01d4a6, 0x01d4a9, 0x01d50a, 0x01d50d, 0x01d546, 0x01d54a, 0x01d6a5,
    0x01d6a8, 0x01d7cb, 0x01d7ce, 0x01da8b, 0x01da9b, 0x01daaf, 0x01df00, 0x01df1e,
    0x01df25, 0x01df2a, 0x01e000, 0x01e018, 0x01e01b, 0x01e02a, 0x01e030, 0x01e06d,
    0x01e08f, 0x01e08f, 0x01e100, 0x01e12c, 0x01e130, 0x01e13d, 0x01e140, 0x01e149,
    0x01e14e, 0x01e14f, 0x01e290, 0x01e2ae, 0x01e2c0, 0x01e2f9, 0x01e2ff, 0x01e2ff,
    0x01e4d0, 0x01e4f9, 0x01e7e0, 0x01e8c4, 0x01e8c7, 0x01e8d6, 0x01e900, 0x01e94b,
    0x01e950, 0x01e959, 0x01e95e, 0x01e95f, 0x01ec71, 0x01ecb4, 0x01ed01, 0x01ed3d,
    0x01ee00, 0x01ee24, 0x01ee27, 0x01ee3b, 0x01ee42, 0x01ee42, 0x01ee47, 0x01ee54,
    0x01ee57, 0x01ee64, 0x01ee67, 0x01ee9b, 0x01eea1, 0x01eebb, 0x01eef0, 0x01eef1,
    0x01f000, 0x01f02b, 0x01f030, 0x01f093, 0x01f0a0, 0x01f0ae, 0x01f0b1, 0x01f0f5,
    0x01f100, 0x01f1ad, 0x01f1e6, 0x01f202, 0x01f210, 0x01f23b, 0x01f240, 0x01f248,
    0x01f250, 0x01f251, 0x01f260, 0x01f265, 0x01f300, 0x01f6d7, 0x01f6dc, 0x01f6ec,
    0x01f6f0, 0x01f6fc, 0x01f700, 0x01f776, 0x01f77b, 0x01f7d9, 0x01f7e0, 0x01f7eb,
    0x01f7f0, 0x01f7f0, 0x01f800, 0x01f80b, 0x01f810, 0x01f847, 0x01f850, 0x01f859,
    0x01f860, 0x01f887, 0x01f890, 0x01f8ad, 0x01f8b0, 0x01f8b1, 0x01f900, 0x01fa53,
    0x01fa60, 0x01fa6d, 0x01fa70, 0x01fa7c, 0x01fa80, 0x01fa88, 0x01fa90, 0x01fac5,
    0x01face, 0x01fadb, 0x01fae0, 0x01fae8, 0x01faf0, 0x01faf8, 0x01fb00, 0x01fbca,
    0x01fbf0, 0x01fbf9, 0x020000, 0x02a6df, 0x02a700, 0x02b739, 0x02b740, 0x02b81d,
    0x02b820, 0x02cea1, 0x02ceb0, 0x02ebe0, 0x02f800, 0x02fa1d, 0x030000, 0x03134a,
    0x031350, 0x0323af, 0x0e0100, 0x0e01ef,
];
#[rustfmt::skip]
static IS_NOT_PRINT32: [u16; 112] = [
    0x000c, 0x0027, 0x003b, 0x003e, 0x018f, 0x039e, 0x057b, 0x058b, 0x0593, 0x0596,
    0x05a2, 0x05b2, 0x05ba, 0x0786, 0x07b1, 0x0809, 0x0836, 0x0856, 0x08f3, 0x0a04,
    0x0a14, 0x0a18, 0x0e7f, 0x0eaa, 0x10bd, 0x1135, 0x11e0, 0x1212, 0x1287, 0x1289,
    0x128e, 0x129e, 0x1304, 0x1329, 0x1331, 0x1334, 0x133a, 0x145c, 0x1914, 0x1917,
    0x1936, 0x1c09, 0x1c37, 0x1ca8, 0x1d07, 0x1d0a, 0x1d3b, 0x1d3e, 0x1d66, 0x1d69,
    0x1d8f, 0x1d92, 0x1f11, 0x246f, 0x6a5f, 0x6abf, 0x6b5a, 0x6b62, 0xaff4, 0xaffc,
    0xafff, 0xd455, 0xd49d, 0xd4ad, 0xd4ba, 0xd4bc, 0xd4c4, 0xd506, 0xd515, 0xd51d,
    0xd53a, 0xd53f, 0xd545, 0xd551, 0xdaa0, 0xe007, 0xe022, 0xe025, 0xe7e7, 0xe7ec,
    0xe7ef, 0xe7ff, 0xee04, 0xee20, 0xee23, 0xee28, 0xee33, 0xee38, 0xee3a, 0xee48,
    0xee4a, 0xee4c, 0xee50, 0xee53, 0xee58, 0xee5a, 0xee5c, 0xee5e, 0xee60, 0xee63,
    0xee6b, 0xee73, 0xee78, 0xee7d, 0xee7f, 0xee8a, 0xeea4, 0xeeaa, 0xf0c0, 0xf0d0,
    0xfabe, 0xfb93,
];

#[cfg(test)]
#[allow(clippy::approx_constant, clippy::excessive_precision)]
mod tests {
    //! Expected strings were produced by Go 1.26 (IG v0.55.0's toolchain)
    //! with x/sys v0.47.0 and go-humanize v1.0.1, unless they come from the
    //! spec's "ran" examples.
    use super::*;

    fn w(f: impl FnOnce(&mut String)) -> String {
        let mut s = String::new();
        f(&mut s);
        s
    }

    #[test]
    fn errno() {
        for (v, want) in [
            (0, ""),
            (1, "EPERM"),
            (2, "ENOENT"),
            (11, "EAGAIN"),
            (35, "EDEADLK"),
            (95, "ENOTSUP"),
            (117, "EFSCORRUPTED"),
            (133, "EHWPOISON"),
            (41, "error#41"),
            (58, "error#58"),
            (134, "error#134"),
            (4096, "error#4096"),
            (u32::MAX, "error#4294967295"),
        ] {
            assert_eq!(errno_name(v), want, "{v}");
        }
        assert!(matches!(errno_name(2), Cow::Borrowed(_)));
    }

    #[test]
    fn signal() {
        for (v, want) in [
            (0, "signal#0"),
            (1, "SIGHUP"),
            (9, "SIGKILL"),
            (10, "SIGUSR1"),
            (16, "SIGSTKFLT"),
            (17, "SIGCHLD"),
            (29, "SIGIO"),
            (30, "SIGPWR"),
            (31, "SIGSYS"),
            (32, "signal#32"),
            (37, "signal#37"),
            (64, "signal#64"),
        ] {
            assert_eq!(signal_name(v), want, "{v}");
        }
    }

    #[test]
    fn file_modes() {
        for (v, want) in [
            (0, "----------"),
            (0o644, "-rw-r--r--"),
            (0o4755, "-rwxr-xr-x"),
            (0o7777, "-rwxrwxrwx"),
            (0o100644, "-rw-r--r--"),
            (0o40755, "-rwxr-xr-x"),
            (0o600, "-rw-------"),
            (0xffff_ffff, "dalTLDpSugct?rwxrwxrwx"),
            (1 << 31, "d---------"),
            (1 << 19, "?---------"),
            (1 << 18 | 0o755, "-rwxr-xr-x"),
            (1 << 29 | 0o777, "lrwxrwxrwx"),
            (1 << 26 | 1 << 25, "Dp---------"),
        ] {
            assert_eq!(w(|s| file_mode(v, s)), want, "{v:o}");
        }
    }

    #[test]
    fn file_flag_names() {
        const O_WRONLY: i32 = 1;
        const O_CREAT: i32 = 0o100;
        const O_EXCL: i32 = 0o200;
        const O_NOCTTY: i32 = 0o400;
        const O_TRUNC: i32 = 0o1000;
        const O_DIRECT: i32 = 0o40000;
        const O_NOATIME: i32 = 0o1000000;
        const O_CLOEXEC: i32 = 0o2000000;
        const O_SYNC: i32 = 0o4010000;
        const O_PATH: i32 = 0o10000000;
        const O_TMPFILE: i32 = 0o20200000;
        const O_LARGEFILE: i32 = 0o100000;
        const O_FASYNC: i32 = 0o20000;
        for (v, want) in [
            (0, "O_RDONLY"),
            (O_CLOEXEC, "O_RDONLY|O_CLOEXEC"),
            (O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC"),
            (3 | O_EXCL | O_NOCTTY, "O_EXCL|O_NOCTTY"),
            (O_WRONLY | O_SYNC | O_DIRECT | O_NOATIME, "O_WRONLY|O_DSYNC|O_DIRECT|O_NOATIME"),
            (O_TMPFILE | O_PATH | O_LARGEFILE | O_FASYNC, "O_RDONLY|O_FASYNC|O_LARGEFILE|O_DIRECTORY"),
            (2, "O_RDWR"),
            (3, ""),
            (-1, "O_CREAT|O_EXCL|O_NOCTTY|O_TRUNC|O_APPEND|O_NONBLOCK|O_DSYNC|O_FASYNC|O_DIRECT|O_LARGEFILE|O_DIRECTORY|O_NOFOLLOW|O_NOATIME|O_CLOEXEC"),
        ] {
            assert_eq!(w(|s| file_flags(v, s)), want, "{v:o}");
        }
    }

    #[test]
    fn bytes() {
        for (v, want) in [
            (0, "0 B"),
            (1, "1 B"),
            (9, "9 B"),
            (10, "10 B"),
            (999, "999 B"),
            (1000, "1.0 kB"),
            (1024, "1.0 kB"),
            (2500, "2.5 kB"),
            (9949, "9.9 kB"),
            (9950, "10 kB"),
            (10499, "10 kB"),
            (10500, "10 kB"), // 10.5 → %.0f → ties to even
            (99950, "100 kB"),
            (999499, "1000 kB"),
            (999500, "1000 kB"),
            (999999, "1000 kB"),
            (1500000, "1.5 MB"),
            (5906432, "5.9 MB"),
            (12951552, "13 MB"),
            (16071352, "16 MB"),
            (39911424, "40 MB"),
            (123456789012, "124 GB"),
            (999999999999999999, "1.0 EB"),
            (1000000000000000000, "1.0 EB"),
            (1 << 63, "9.2 EB"),
            (u64::MAX, "18 EB"),
        ] {
            assert_eq!(w(|s| bytes_si(v, s)), want, "{v}");
        }
    }

    #[test]
    fn go_log_matches_amd64_asm() {
        // Bit patterns printed by Go 1.26 linux/amd64: math.Log(x) and
        // math.Log(x)/math.Log(1000).  (The port was also checked against
        // 100 000 random Go values; Rust's f64::ln differs on ~1% of them.)
        for (x, log_bits, ratio_bits) in [
            (10.0, 4612367379483415830u64, 4599676419421066582u64),
            (1000.0, 4619463459452485536, 4607182418800017408),
            (999999.0, 4623967058516905797, 4611686017775424756),
            (1e6, 4623967059079856032, 4611686018427387904),
            (1e18, 4631029898078322616, 4618441417868443648),
            (
                18446744073709551615.0,
                4631440132077664751,
                4618916517500986025,
            ),
        ] {
            assert_eq!(go_log_amd64(x).to_bits(), log_bits, "{x}");
            assert_eq!(
                (go_log_amd64(x) / go_log_amd64(1000.0)).to_bits(),
                ratio_bits,
                "{x}"
            );
        }
    }

    #[test]
    fn durations() {
        for (v, want) in [
            (0u64, "0ns"),
            (999, "999ns"),
            (1000, "1.00µs"),
            (114090, "114.09µs"),
            (343118, "343.12µs"),
            (999995, "1000.00µs"),
            (1234567, "1.23ms"),
            (2622617, "2.62ms"),
            (999999999, "1000.00ms"),
            (1_000_000_000, "1s"),
            (61_500_000_000, "1m1.5s"),
            (3_723_000_000_000, "1h2m3s"),
            (2_000_000_001, "2.000000001s"),
            (u64::MAX, "-1ns"),
            (1 << 63, "-9223372036854775808ns"),
        ] {
            assert_eq!(w(|s| duration(v, s)), want, "{v}");
        }
    }

    #[test]
    fn go_durations() {
        for (v, want) in [
            (0i64, "0s"),
            (100, "100ns"),
            (1100, "1.1µs"),
            (343118, "343.118µs"),
            (1100000, "1.1ms"),
            (2622617, "2.622617ms"),
            (61_500_000_000, "1m1.5s"),
            (2_000_000_001, "2.000000001s"),
            (3_600_000_000_000, "1h0m0s"),
            (86_400_000_000_000, "24h0m0s"),
            (-1, "-1ns"),
            (-1500, "-1.5µs"),
            (-61_500_000_000, "-1m1.5s"),
            (1 << 62, "1281023h53m38.427387904s"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ] {
            assert_eq!(w(|s| go_duration_string(v, s)), want, "{v}");
        }
    }

    fn ip6(hex: &str) -> [u8; 16] {
        let mut b = [0u8; 16];
        for (i, x) in b.iter_mut().enumerate() {
            *x = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        b
    }

    #[test]
    fn ips() {
        for (hex, want) in [
            ("00000000000000000000000000000000", "::"),
            ("00000000000000000000000000000001", "::1"),
            ("00010000000000000000000000000000", "1::"),
            ("00010000000000010000000000000001", "1:0:0:1::1"),
            ("00010000000000010000000000010001", "1::1:0:0:1:1"),
            ("00000000000100000000000100000000", "::1:0:0:1:0:0"),
            ("20010db8000000000000000000000001", "2001:db8::1"),
            ("00000000000000000000ffff01020304", "1.2.3.4"),
            ("00000000000000000000000001020304", "::102:304"),
            ("fe80000000000000abcd000000000001", "fe80::abcd:0:0:1"),
            ("00010002000300040005000600070008", "1:2:3:4:5:6:7:8"),
            ("00010000000200030004000500060007", "1:0:2:3:4:5:6:7"),
            ("0000000000000000ffff000001020304", "::ffff:0:102:304"),
            ("0064ff9b000000000000000001020304", "64:ff9b::102:304"),
            ("00000000c74c00000000000000d40000", "0:0:c74c::d4:0"),
            (
                "f925000000007fc011d500552e6d00d7",
                "f925::7fc0:11d5:55:2e6d:d7",
            ),
        ] {
            let mut s = String::new();
            ip_string(6, &ip6(hex), &mut s).unwrap();
            assert_eq!(s, want, "{hex}");
        }
        let mut a = [0u8; 16];
        a[..4].copy_from_slice(&[10, 0, 0, 0]);
        a[4] = 0xff; // bytes after the first four are ignored for v4
        let mut s = String::new();
        ip_string(4, &a, &mut s).unwrap();
        assert_eq!(s, "10.0.0.0");
        let mut s = String::new();
        assert_eq!(
            ip_string(5, &a, &mut s),
            Err("unknown IP version: 5".to_string())
        );
        assert_eq!(
            ip_string(0, &a, &mut s),
            Err("unknown IP version: 0".to_string())
        );
        assert!(s.is_empty());
    }

    #[test]
    fn protos() {
        for (p, want) in [
            (0, "HOPOPT"),
            (1, "ICMP"),
            (6, "TCP"),
            (17, "UDP"),
            (58, "IPv6-ICMP"),
            (124, "ISIS over IPv4"),
            (132, "SCTP"),
            (145, "NSH"),
            (146, "proto#146"),
            (200, "proto#200"),
            (253, "experimentation"),
            (254, "experimentation"),
            (255, "reserved"),
            (256, "proto#256"),
        ] {
            assert_eq!(proto_name(p), want, "{p}");
        }
    }

    #[test]
    fn enums() {
        let colors = [
            ("RED".to_string(), 0i128),
            ("GREEN".to_string(), 1),
            ("BLUE".to_string(), 7),
        ];
        for (v, want) in [(0, "RED"), (1, "GREEN"), (7, "BLUE"), (5, "UNKNOWN")] {
            assert_eq!(w(|s| enum_text(&colors, v, false, "|", s)), want);
        }
        let perms = [
            ("P_READ".to_string(), 1i128),
            ("P_WRITE".to_string(), 2),
            ("P_EXEC".to_string(), 4),
        ];
        for (v, want) in [
            (0, ""),
            (3, "P_READ|P_WRITE"),
            (8, ""),
            (9, "P_READ"),
            (7, "P_READ|P_WRITE|P_EXEC"),
        ] {
            assert_eq!(w(|s| enum_text(&perms, v, true, "|", s)), want);
        }
        assert_eq!(w(|s| enum_text(&perms, 5, true, ", ", s)), "P_READ, P_EXEC");
        // A zero-valued member always matches in a _set enum.
        let with_zero = [("NONE", 0i128), ("A", 1)];
        assert_eq!(w(|s| enum_text(&with_zero, 0, true, "|", s)), "NONE");
        assert_eq!(w(|s| enum_text(&with_zero, 1, true, "|", s)), "NONE|A");
        // First match wins for duplicate values.
        let dup = [("X", 1i128), ("Y", 1)];
        assert_eq!(w(|s| enum_text(&dup, 1, false, "|", s)), "X");
        // Signed: the sign-extended read value equals the sign-extended BTF value.
        let signed = [("NEG", -1i128), ("POS", 1)];
        assert_eq!(w(|s| enum_text(&signed, -1, false, "|", s)), "NEG");
        // Comparison is on the low 64 bits (Go uint64).
        assert_eq!(
            w(|s| enum_text(&signed, u64::MAX as i128, false, "|", s)),
            "NEG"
        );
        // A zero-extended 32-bit value does not match a sign-extended one.
        assert_eq!(
            w(|s| enum_text(&signed, 0xffff_ffff, false, "|", s)),
            "UNKNOWN"
        );
    }

    const TS: i64 = 1795969067924599555;

    #[test]
    fn rfc3339_seconds_fixed_zones() {
        let r = |secs: i64, off: i32| {
            w(|s| format_rfc3339_seconds_in_zone(secs, &ZoneAt::new(off, ""), s))
        };
        assert_eq!(r(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(r(1_795_969_067, 0), "2026-11-29T16:17:47Z");
        assert_eq!(r(1_795_969_067, 3600), "2026-11-29T17:17:47+01:00");
        assert_eq!(
            r(1_795_969_067, -(5 * 3600 + 1800)),
            "2026-11-29T10:47:47-05:30"
        );
        assert_eq!(r(951_782_400, 0), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn rfc3339_date_time_cache_follows_the_local_second() {
        let utc = ZoneAt::utc();
        let ist = ZoneAt::new(19800, "IST");
        let f = |ns: i64, z: &ZoneAt| w(|s| format_rfc3339_nano_in_zone(ns, z, s));
        assert_eq!(f(TS, &utc), "2026-11-29T16:17:47.924599555Z");
        assert_eq!(f(TS + 1, &utc), "2026-11-29T16:17:47.924599556Z");
        assert_eq!(f(TS + 1_000_000_000, &utc), "2026-11-29T16:17:48.924599555Z");
        assert_eq!(f(TS, &ist), "2026-11-29T21:47:47.924599555+05:30");
        assert_eq!(f(TS + 1, &utc), "2026-11-29T16:17:47.924599556Z");
        assert_eq!(f(TS - 86_400_000_000_000, &utc), "2026-11-28T16:17:47.924599555Z");
    }

    #[test]
    fn rfc3339_nano_fixed_zones() {
        let ist = ZoneAt::new(19800, "IST");
        let odd = ZoneAt::new(-(3 * 3600 + 30 * 60 + 7), "");
        assert_eq!(
            w(|s| format_rfc3339_nano_in_zone(TS, &ZoneAt::utc(), s)),
            "2026-11-29T16:17:47.924599555Z"
        );
        assert_eq!(
            w(|s| format_rfc3339_nano_in_zone(TS, &ist, s)),
            "2026-11-29T21:47:47.924599555+05:30"
        );
        assert_eq!(
            w(|s| format_rfc3339_nano_in_zone(TS, &odd, s)),
            "2026-11-29T12:47:40.924599555-03:30"
        );
        assert_eq!(
            w(|s| format_rfc3339_nano_in_zone(1700000000000000000, &ist, s)),
            "2023-11-15T03:43:20.000000000+05:30"
        );
        // Zero offset prints Z whatever the zone is called.
        assert_eq!(
            w(|s| format_rfc3339_nano_in_zone(0, &ZoneAt::new(0, "GMT"), s)),
            "1970-01-01T00:00:00.000000000Z"
        );
        assert_eq!(
            w(|s| format_go_layout_in_zone(
                -999_999_995,
                "2006-01-02T15:04:05.000000000Z07:00 Mon 002",
                &ZoneAt::utc(),
                s
            )),
            "1969-12-31T23:59:59.000000005Z Wed 365"
        );
        assert_eq!(
            w(|s| format_go_layout_in_zone(
                951_782_400_000_000_000,
                "2006-01-02 Mon 002 __2 _2 Jan",
                &ZoneAt::utc(),
                s
            )),
            "2000-02-29 Tue 060  60 29 Feb"
        );
    }

    #[test]
    fn go_layouts() {
        let ist = ZoneAt::new(19800, "IST");
        let odd = ZoneAt::new(-(3 * 3600 + 30 * 60 + 7), "");
        let utc = ZoneAt::utc();
        let all = "Monday January _2 __2 002 2 1 3 03 4 5 pm PM .9 .99 ,000 ,999999 -07 -0700 -070000 -07:00:00 Z07 Z0700 Z070000 Z07:00:00 _2006 Month Mond Janx MST";
        for (layout, zone, want) in [
            ("2006-01-02T15:04:05.999999999Z07:00", &utc, "2026-11-29T16:17:47.924599555Z"),
            ("2006-01-02T15:04:05.999999999Z07:00", &ist, "2026-11-29T21:47:47.924599555+05:30"),
            ("Mon, 02 Jan 2006 15:04:05 MST", &utc, "Sun, 29 Nov 2026 16:17:47 UTC"),
            ("Mon, 02 Jan 2006 15:04:05 MST", &ist, "Sun, 29 Nov 2026 21:47:47 IST"),
            ("Mon, 02 Jan 2006 15:04:05 MST", &odd, "Sun, 29 Nov 2026 12:47:40 -0330"),
            ("3:04PM", &utc, "4:17PM"),
            ("3:04PM", &odd, "12:47PM"),
            (all, &utc, "Sunday November 29 333 333 29 11 4 04 17 47 pm PM .9 .92 ,924 ,924599 +00 +0000 +000000 +00:00:00 Z Z Z Z _2026 Month Mond Janx UTC"),
            (all, &ist, "Sunday November 29 333 333 29 11 9 09 47 47 pm PM .9 .92 ,924 ,924599 +05 +0530 +053000 +05:30:00 +05 +0530 +053000 +05:30:00 _2026 Month Mond Janx IST"),
            (all, &odd, "Sunday November 29 333 333 29 11 12 12 47 40 pm PM .9 .92 ,924 ,924599 -03 -0330 -033007 -03:30:07 -03 -0330 -033007 -03:30:07 _2026 Month Mond Janx -0330"),
            ("15:04:05.00000 .0000000000 .00x 05.0001 06", &utc, "16:17:47.92459 .924599555 .92x 47.0011 26"),
            ("no tokens here", &utc, "no tokens here"),
            ("", &utc, ""),
        ] {
            assert_eq!(w(|s| format_go_layout_in_zone(TS, layout, zone, s)), want, "{layout}");
        }
        // .999 trims trailing zeros and the dot itself.
        assert_eq!(
            w(|s| format_go_layout_in_zone(1_000_000_000, "05.999|05.000", &utc, s)),
            "01|01.000"
        );
        assert_eq!(
            w(|s| format_go_layout_in_zone(1_500_000_000, "05.999", &utc, s)),
            "01.5"
        );
    }

    #[test]
    fn local_zone_helpers_agree() {
        let z = local_zone_at(TS / 1_000_000_000);
        let mut a = String::new();
        format_rfc3339_nano(TS as u64, &mut a);
        assert_eq!(a, w(|s| format_rfc3339_nano_in_zone(TS, &z, s)));
        let mut b = String::new();
        format_go_layout(TS as u64, "2006-01-02T15:04:05.000000000Z07:00", &mut b);
        assert_eq!(a, b);
        let mut c = String::new();
        format_rfc3339_seconds(TS / 1_000_000_000, &mut c);
        assert_eq!(
            c,
            w(|s| format_go_layout_in_zone(TS, "2006-01-02T15:04:05Z07:00", &z, s))
        );
        assert_eq!(
            a.len(),
            "2026-11-29T16:17:47.924599555".len() + if z.offset_secs == 0 { 1 } else { 6 }
        );
    }

    #[test]
    fn wall_clock() {
        let wc = WallClock::new();
        let boot = clock_ns(libc::CLOCK_BOOTTIME);
        let now = realtime_now_ns() as i128;
        assert!(wc.offset_ns > 0);
        let wall = wc.wall_ns(boot as u64) as i128;
        assert!((wall - now).abs() < 5_000_000_000, "{wall} vs {now}");
        let z = wc.wall_ns(0) as i128;
        assert!((z - now).abs() < 5_000_000_000);
        let fixed = WallClock { offset_ns: 1_000 };
        assert_eq!(fixed.wall_ns(5), 1_005);
    }

    #[test]
    fn json_floats() {
        let j64 = |v: f64| w(|s| go_json_float(v, 64, s));
        let j32 = |v: f32| w(|s| go_json_float(v as f64, 32, s));
        assert_eq!(j64(1.5), "1.5");
        assert_eq!(j64(0.1), "0.1");
        assert_eq!(j64(0.000001), "0.000001");
        assert_eq!(j64(1e21), "1e+21");
        assert_eq!(j64(1e20), "100000000000000000000");
        assert_eq!(j64(-3.141592653589793), "-3.141592653589793");
        assert_eq!(j64(9999999.0), "9999999");
        assert_eq!(j64(123456789.0), "123456789");
        assert_eq!(j64(0.0), "0");
        assert_eq!(j64(-0.0), "-0");
        assert_eq!(j64(1e-7), "1e-7");
        assert_eq!(j64(2.5e-8), "2.5e-8");
        assert_eq!(j64(1.5e-10), "1.5e-10");
        assert_eq!(j64(-1.234e-7), "-1.234e-7");
        assert_eq!(j64(1e300), "1e+300");
        assert_eq!(j64(1.23456789e23), "1.23456789e+23");
        assert_eq!(j64(5e-324), "5e-324");
        // Exact ties between two shortest candidates go to the even one…
        assert_eq!(j64(263749118628149.625), "263749118628149.62");
        // …except on Dragonbox's power-of-two path (2^-24), which rounds up.
        assert_eq!(j64(5.9604644775390625e-8), "5.960464477539063e-8");
        assert_eq!(j32(1e-7), "1e-7");
        assert_eq!(j32(0.2622617), "0.2622617");
        assert_eq!(j32(1.5), "1.5");
        assert_eq!(j32(0.1), "0.1");
        assert_eq!(j32(16777216.0), "16777216");
        assert_eq!(j32(279988.625), "279988.62");
        assert_eq!(j32(0.000244140625), "0.00024414063");
        assert_eq!(j32(f32::MAX), "3.4028235e+38");
        assert_eq!(j32(1e-45), "1e-45");
        assert_eq!(j32(1.1754944e-38), "1.1754944e-38");
        assert_eq!(j64(f64::NAN), "");
        assert_eq!(j64(f64::INFINITY), "");
        assert_eq!(j32(f32::NEG_INFINITY), "");
    }

    #[test]
    fn fmt_f() {
        let f = |v: f64, p: usize| w(|s| go_fmt_f(v, p, s));
        for (v, p0, p2, p1) in [
            (0.5, "0", "0.50", "0.5"),
            (1.5, "2", "1.50", "1.5"),
            (2.5, "2", "2.50", "2.5"),
            (-0.5, "-0", "-0.50", "-0.5"),
            (0.125, "0", "0.12", "0.1"),
            (0.375, "0", "0.38", "0.4"),
            (1.005, "1", "1.00", "1.0"),
            (2.675, "3", "2.67", "2.7"),
            (-0.4, "-0", "-0.40", "-0.4"),
            (999.995, "1000", "1000.00", "1000.0"),
            (
                1e22,
                "10000000000000000000000",
                "10000000000000000000000.00",
                "10000000000000000000000.0",
            ),
            (0.0, "0", "0.00", "0.0"),
        ] {
            assert_eq!(f(v, 0), p0, "{v}");
            assert_eq!(f(v, 2), p2, "{v}");
            assert_eq!(f(v, 1), p1, "{v}");
        }
        assert_eq!(f(f64::NAN, 2), "NaN");
        assert_eq!(f(f64::INFINITY, 2), "+Inf");
        assert_eq!(f(f64::NEG_INFINITY, 0), "-Inf");
    }

    #[test]
    fn quote() {
        let q = |b: &[u8]| w(|s| go_quote_inner(b, s));
        assert_eq!(q(b""), "");
        assert_eq!(q(b"hello"), "hello");
        assert_eq!(q(b"a\"b\\c'"), "a\\\"b\\\\c'");
        assert_eq!(
            q(b"\x00\x01\x07\x08\x0c\n\r\t\x0b\x7f"),
            "\\x00\\x01\\a\\b\\f\\n\\r\\t\\v\\x7f"
        );
        assert_eq!(q(b"\x00\x1b[0m"), "\\x00\\x1b[0m");
        assert_eq!(q("\u{80}\u{ad}\u{a0}".as_bytes()), "\\u0080\\u00ad\\u00a0");
        assert_eq!(
            q("\u{ad}\u{200b}\u{2028}\u{85}".as_bytes()),
            "\\u00ad\\u200b\\u2028\\u0085"
        );
        assert_eq!(q("é€😀日本語á".as_bytes()), "é€😀日本語á");
        assert_eq!(q(b"\xff\xfe"), "\\xff\\xfe");
        assert_eq!(q(b"\xc3\x28"), "\\xc3(");
        assert_eq!(q(b"\xe2\x82\xe2\x82\xac"), "\\xe2\\x82€");
        assert_eq!(q(b"\xf0\x9f\x98"), "\\xf0\\x9f\\x98");
        assert_eq!(q(b"\xed\xa0\x80"), "\\xed\\xa0\\x80"); // UTF-8 encoded surrogate
        assert_eq!(q(b"\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80"); // > U+10FFFF
        assert_eq!(q("\u{fffd}".as_bytes()), "\u{fffd}");
        assert_eq!(
            q("\u{e0001}\u{10ffff}\u{e007f}".as_bytes()),
            "\\U000e0001\\U0010ffff\\U000e007f"
        );
        assert_eq!(q("\u{378}".as_bytes()), "\\u0378");
        assert_eq!(
            q(b"Y\xcb\x00\xb3\xd5o\xd9fZ\xb1r"),
            "Y\\xcb\\x00\\xb3\\xd5o\\xd9fZ\\xb1r"
        );
    }

    #[test]
    fn is_print() {
        for c in [
            ' ',
            'a',
            '~',
            '¡',
            'ÿ',
            'é',
            '€',
            '日',
            '😀',
            '\u{fffd}',
            '\u{301}',
            '\u{20000}',
        ] {
            assert!(go_is_print(c), "{c:?}");
        }
        for c in [
            '\0',
            '\n',
            '\x7f',
            '\u{80}',
            '\u{a0}',
            '\u{ad}',
            '\u{378}',
            '\u{2028}',
            '\u{200b}',
            '\u{feff}',
            '\u{e0001}',
            '\u{10ffff}',
            '\u{3000}',
        ] {
            assert!(!go_is_print(c), "{c:?}");
        }
    }
}
