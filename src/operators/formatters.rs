//! IG's `formatters` operator (priority 0): for every field tagged with one of the formatter
//! types it adds a text field next to it and fills it for each record. Replacers run in IG's
//! order (signal, errno, syscall, timestamp, bytes, duration, l3endpoint, l4endpoint,
//! file_mode, file_flags); l4 endpoints subscribe at priority 1, the others at 0.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use super::values;
use super::{annotations, sibling_string, OpCtx, OpError, OpResult, RecordOp, SchemaEdit};
use crate::datasource::{field_bytes, kind, set_bytes, set_scalar, FieldLoc, NewField, Record, Schema};

/// The wall-clock offset of boot-time timestamps, computed once per process like IG's.
pub fn wall_clock() -> &'static values::WallClock {
    static CLOCK: OnceLock<values::WallClock> = OnceLock::new();
    CLOCK.get_or_init(values::WallClock::new)
}

/// One conversion of an input field into its output field(s).
enum Conv {
    Signal { input: FieldLoc, out: FieldLoc },
    Errno { input: FieldLoc, out: FieldLoc, u32: bool },
    Syscall { input: FieldLoc, out: FieldLoc },
    Timestamp { input: FieldLoc, out: FieldLoc, layout: Option<String> },
    Bytes { input: FieldLoc, out: FieldLoc, u64: bool },
    Duration { input: FieldLoc, out: FieldLoc, u64: bool },
    L3(Endpoint),
    L4 { ep: Endpoint, port: FieldLoc, proto: Option<(FieldLoc, FieldLoc)>, endpoint: FieldLoc },
    FileMode { input: FieldLoc, out: FieldLoc },
    FileFlags { input: FieldLoc, out: FieldLoc },
}

struct Endpoint {
    addr: FieldLoc,
    version: FieldLoc,
    out: FieldLoc,
}

/// The converters of one data source at one priority, run in order.
pub struct Formatters {
    convs: Vec<Conv>,
    text: String,
}

fn u64_at(rec: &Record, loc: FieldLoc, width: usize) -> Option<u64> {
    let b = field_bytes(rec, loc)?;
    if b.len() != width {
        return None;
    }
    let mut a = [0u8; 8];
    a[..width].copy_from_slice(b);
    Some(u64::from_ne_bytes(a))
}

impl Endpoint {
    /// Writes the address text into `text` and the output field.
    fn format(&self, rec: &mut Record, text: &mut String) -> OpResult {
        let version = u64_at(rec, self.version, 1).unwrap_or(0) as u8;
        let mut addr = [0u8; 16];
        if let Some(b) = field_bytes(rec, self.addr) {
            let n = b.len().min(16);
            addr[..n].copy_from_slice(&b[..n]);
        }
        text.clear();
        values::ip_string(version, &addr, text)
            .map_err(|e| OpError::Fail(format!("emitting data: getting IP address: getting IP: {e}")))?;
        let _ = set_bytes(rec, self.out, text.as_bytes());
        Ok(())
    }
}

impl RecordOp for Formatters {
    fn apply(&mut self, _cx: &OpCtx, _schema: &Schema, rec: &mut Record) -> OpResult {
        let text = &mut self.text;
        for c in &self.convs {
            text.clear();
            match c {
                Conv::Signal { input, out } => {
                    if let Some(v) = u64_at(rec, *input, 4) {
                        let _ = set_bytes(rec, *out, values::signal_name(v as u32).as_bytes());
                    }
                }
                Conv::Errno { input, out, u32 } => {
                    if *u32 {
                        if let Some(v) = u64_at(rec, *input, 4) {
                            let _ = set_bytes(rec, *out, values::errno_name(v as u32).as_bytes());
                        }
                    }
                }
                Conv::Syscall { input, out } => {
                    let nr = u64_at(rec, *input, 8).unwrap_or(0);
                    text.push_str("SYS_");
                    match crate::host::syscalls::known_syscall_name(nr) {
                        Some(n) => text.extend(n.chars().map(|c| c.to_ascii_uppercase())),
                        None => text.push_str("UNKNOWN"),
                    }
                    let _ = set_bytes(rec, *out, text.as_bytes());
                }
                Conv::Timestamp { input, out, layout } => {
                    if let Some(raw) = u64_at(rec, *input, 8) {
                        let clock = wall_clock();
                        let wall = clock.wall_ns(raw);
                        match layout {
                            Some(l) => values::format_go_layout(wall, l, text),
                            None => values::format_rfc3339_nano(wall, text),
                        }
                        let _ = set_bytes(rec, *out, text.as_bytes());
                        let _ = set_scalar(rec, *input, kind::UINT64, wall);
                    }
                }
                Conv::Bytes { input, out, u64 } => {
                    if *u64 {
                        values::bytes_si(u64_at(rec, *input, 8).unwrap_or(0), text);
                        let _ = set_bytes(rec, *out, text.as_bytes());
                    }
                }
                Conv::Duration { input, out, u64 } => {
                    if *u64 {
                        values::duration(u64_at(rec, *input, 8).unwrap_or(0), text);
                        let _ = set_bytes(rec, *out, text.as_bytes());
                    }
                }
                Conv::L3(ep) => ep.format(rec, text)?,
                Conv::L4 { ep, port, proto, endpoint } => {
                    ep.format(rec, text)?;
                    let p = u64_at(rec, *port, 2).unwrap_or(0);
                    use std::fmt::Write;
                    let _ = write!(text, ":{p}");
                    let _ = set_bytes(rec, *endpoint, text.as_bytes());
                    if let Some((raw, out)) = proto {
                        let n = u64_at(rec, *raw, 2).unwrap_or(0) as u16;
                        let _ = set_bytes(rec, *out, values::proto_name(n).as_bytes());
                    }
                }
                Conv::FileMode { input, out } => {
                    values::file_mode(u64_at(rec, *input, 4).unwrap_or(0) as u32, text);
                    let _ = set_bytes(rec, *out, text.as_bytes());
                }
                Conv::FileFlags { input, out } => {
                    values::file_flags(u64_at(rec, *input, 4).unwrap_or(0) as u32 as i32, text);
                    let _ = set_bytes(rec, *out, text.as_bytes());
                }
            }
        }
        Ok(())
    }
}

/// What a replacer adds: the conversion, at priority 0 or 1.
type Made = (i32, Conv);

/// Adds the output fields for one data source and returns its converters grouped by
/// priority (0 first, then 1), in IG's replacer order. Fields a replacer cannot handle are
/// skipped (IG logs them at debug level).
pub fn instantiate(ed: &mut SchemaEdit, debug: &mut dyn FnMut(String)) -> Vec<(i32, Formatters)> {
    type Replacer = fn(&mut SchemaEdit, usize) -> Result<Made, String>;
    let replacers: [(&str, &str, Replacer); 10] = [
        ("signal", "type:gadget_signal", signal),
        ("errno", "type:gadget_errno", errno),
        ("syscall", "type:gadget_syscall", syscall),
        ("timestamp", "type:gadget_timestamp", timestamp),
        ("bytes", "type:gadget_bytes", bytes),
        ("duration", "type:gadget_duration", duration),
        ("l3endpoint", "type:gadget_l3endpoint_t", l3endpoint),
        ("l4endpoint", "type:gadget_l4endpoint_t", l4endpoint),
        ("file_mode", "type:gadget_file_mode", file_mode),
        ("file_flags", "type:gadget_file_flags", file_flags),
    ];
    let mut made: Vec<Made> = Vec::new();
    for (name, tag, f) in replacers {
        for input in ed.fields_with_tag(tag) {
            match f(ed, input) {
                Ok(m) => made.push(m),
                Err(e) => debug(format!("formatters: {name}: skipping field {:?}: {e}", ed.schema.fields[input].name)),
            }
        }
    }
    let (p0, p1): (Vec<Made>, Vec<Made>) = made.into_iter().partition(|(p, _)| *p == 0);
    [(0, p0), (1, p1)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(prio, v)| (prio, Formatters { convs: v.into_iter().map(|(_, c)| c).collect(), text: String::with_capacity(64) }))
        .collect()
}

fn target(ed: &SchemaEdit, input: usize, kind_name: &str) -> Result<String, String> {
    let ann = format!("formatters.{kind_name}.target");
    ed.target_name(input, &ann).ok_or_else(|| format!("neither {ann:?} annotation nor '_raw' suffix found"))
}

/// The common shape: a String output next to the input, same order, input hidden.
fn simple(
    ed: &mut SchemaEdit,
    input: usize,
    kind_name: &str,
    ann: Option<BTreeMap<String, String>>,
) -> Result<(FieldLoc, FieldLoc), String> {
    let name = target(ed, input, kind_name)?;
    let nf = sibling_string(ed.schema, input, &name, true, ann);
    let out = ed.add(nf).map_err(|e| e.to_string())?;
    ed.set_visibility(input, true);
    Ok((ed.schema.fields[input].loc, ed.schema.fields[out].loc))
}

const SIGNAL_NAMES: &str = "SIGABRT, SIGALRM, SIGBUS, SIGCHLD, SIGCLD, SIGCONT, SIGFPE, SIGHUP, SIGILL, SIGINT, SIGIO, SIGIOT, SIGKILL, SIGPIPE, SIGPOLL, SIGPROF, SIGPWR, SIGQUIT, SIGSEGV, SIGSTKFLT, SIGSTOP, SIGSYS, SIGTERM, SIGTRAP, SIGTSTP, SIGTTIN, SIGTTOU, SIGUNUSED, SIGURG, SIGUSR1, SIGUSR2, SIGVTALRM, SIGWINCH, SIGXCPU, SIGXFSZ";

/// IG's `value.one-of` list of errno names.
const ERRNO_NAMES: &str = "E2BIG, EACCES, EADDRINUSE, EADDRNOTAVAIL, EADV, EAFNOSUPPORT, EAGAIN, EALREADY, EBADE, EBADF, EBADFD, EBADMSG, EBADR, EBADRQC, EBADSLT, EBFONT, EBUSY, ECANCELED, ECHILD, ECHRNG, ECOMM, ECONNABORTED, ECONNREFUSED, ECONNRESET, EDEADLK, EDEADLOCK, EDESTADDRREQ, EDOM, EDOTDOT, EDQUOT, EEXIST, EFAULT, EFBIG, EHOSTDOWN, EHOSTUNREACH, EIDRM, EILSEQ, EINPROGRESS, EINTR, EINVAL, EIO, EISCONN, EISDIR, EISNAM, EKEYEXPIRED, EKEYREJECTED, EKEYREVOKED, EL2HLT, EL2NSYNC, EL3HLT, EL3RST, ELIBACC, ELIBBAD, ELIBEXEC, ELIBMAX, ELIBSCN, ELNRNG, ELOOP, EMEDIUMTYPE, EMFILE, EMLINK, EMSGSIZE, EMULTIHOP, ENAMETOOLONG, ENAVAIL, ENETDOWN, ENETRESET, ENETUNREACH, ENFILE, ENOANO, ENOBUFS, ENOCSI, ENODATA, ENODEV, ENOENT, ENOEXEC, ENOKEY, ENOLCK, ENOLINK, ENOMEDIUM, ENOMEM, ENOMSG, ENONET, ENOPKG, ENOPROTOOPT, ENOSPC, ENOSR, ENOSTR, ENOSYS, ENOTBLK, ENOTCONN, ENOTDIR, ENOTEMPTY, ENOTNAM, ENOTRECOVERABLE, ENOTSOCK, ENOTSUP, ENOTTY, ENOTUNIQ, ENXIO, EOPNOTSUPP, EOVERFLOW, EOWNERDEAD, EPERM, EPFNOSUPPORT, EPIPE, EPROTO, EPROTONOSUPPORT, EPROTOTYPE, ERANGE, EREMCHG, EREMOTE, EREMOTEIO, ERESTART, ERFKILL, EROFS, ESHUTDOWN, ESOCKTNOSUPPORT, ESPIPE, ESRCH, ESRMNT, ESTALE, ESTRPIPE, ETIME, ETIMEDOUT, ETOOMANYREFS, ETXTBSY, EUCLEAN, EUNATCH, EUSERS, EWOULDBLOCK, EXDEV, EXFULL";

fn signal(ed: &mut SchemaEdit, input: usize) -> Result<Made, String> {
    let (input, out) = simple(ed, input, "signal", Some(annotations(&[("value.one-of", SIGNAL_NAMES)])))?;
    Ok((0, Conv::Signal { input, out }))
}

fn errno(ed: &mut SchemaEdit, input: usize) -> Result<Made, String> {
    let u32 = ed.schema.fields[input].kind == kind::UINT32;
    let ann = annotations(&[("template", "errorString"), ("value.one-of", ERRNO_NAMES)]);
    let (input, out) = simple(ed, input, "errno", Some(ann))?;
    Ok((0, Conv::Errno { input, out, u32 }))
}

fn syscall(ed: &mut SchemaEdit, input: usize) -> Result<Made, String> {
    if ed.schema.fields[input].kind != kind::UINT64 {
        return Err(format!("checking field {:?}: expected uint64", ed.schema.fields[input].short_name()));
    }
    let (input, out) = simple(ed, input, "syscall", None)?;
    Ok((0, Conv::Syscall { input, out }))
}

fn timestamp(ed: &mut SchemaEdit, input: usize) -> Result<Made, String> {
    let layout = ed.schema.fields[input].annotations.get("formatters.timestamp.format").filter(|s| !s.is_empty()).cloned();
    let (input, out) = simple(ed, input, "timestamp", Some(annotations(&[("template", "timestamp")])))?;
    Ok((0, Conv::Timestamp { input, out, layout }))
}

fn bytes(ed: &mut SchemaEdit, input: usize) -> Result<Made, String> {
    let u64 = ed.schema.fields[input].kind == kind::UINT64;
    let (input, out) = simple(ed, input, "bytes", Some(annotations(&[("template", "bytes")])))?;
    Ok((0, Conv::Bytes { input, out, u64 }))
}

fn duration(ed: &mut SchemaEdit, input: usize) -> Result<Made, String> {
    let u64 = ed.schema.fields[input].kind == kind::UINT64;
    let (input, out) = simple(ed, input, "duration", Some(annotations(&[("template", "duration")])))?;
    Ok((0, Conv::Duration { input, out, u64 }))
}

fn file_mode(ed: &mut SchemaEdit, input: usize) -> Result<Made, String> {
    if ed.schema.fields[input].kind != kind::UINT32 {
        return Err(format!("checking field {:?}: expected uint32", ed.schema.fields[input].short_name()));
    }
    let (input, out) = simple(ed, input, "file_mode", None)?;
    Ok((0, Conv::FileMode { input, out }))
}

fn file_flags(ed: &mut SchemaEdit, input: usize) -> Result<Made, String> {
    if ed.schema.fields[input].kind != kind::UINT32 {
        return Err(format!("checking field {:?}: expected uint32", ed.schema.fields[input].short_name()));
    }
    let (input, out) = simple(ed, input, "file_flags", None)?;
    Ok((0, Conv::FileFlags { input, out }))
}

/// Sub-fields of `parent` carrying `tag`.
fn sub_with_tag(ed: &SchemaEdit, parent: usize, tag: &str) -> Vec<usize> {
    ed.schema.children(parent).filter(|&i| ed.schema.fields[i].tags.iter().any(|t| t == tag)).collect()
}

/// IG `AddSubField`: a String sub-field (order 0, default annotations unless given).
fn add_sub(ed: &mut SchemaEdit, parent: usize, name: &str, hidden: bool, ann: Option<BTreeMap<String, String>>, tags: Vec<String>) -> Result<usize, String> {
    ed.add(NewField {
        name: name.to_string(),
        kind: kind::STRING,
        parent: Some(parent),
        order: Some(0),
        annotations: ann,
        tags,
        hidden,
        empty: false,
    })
    .map_err(|e| format!("adding {name} field: {e}"))
}

/// IG `handleL3Endpoint`: unreferences the raw address, adds `<ep>.addr`, points the
/// container's column at it and hides the sub-fields.
fn l3_common(ed: &mut SchemaEdit, input: usize) -> Result<Endpoint, String> {
    let ips = sub_with_tag(ed, input, "type:gadget_ip_addr_t");
    if ips.len() != 1 {
        return Err(format!("expected 1 \"gadget_ip_addr_t\" field, got {}", ips.len()));
    }
    let addr_loc = ed.schema.fields[ips[0]].loc;
    ed.schema.unreference(ips[0]);
    let versions = sub_with_tag(ed, input, "name:version");
    if versions.len() != 1 {
        return Err("expected exactly 1 version field".into());
    }
    let raw_name = ed.schema.fields[ips[0]].short_name();
    let addr_name = raw_name.strip_suffix("_raw").unwrap_or(raw_name).to_string();
    let out = add_sub(ed, input, &addr_name, false, None, Vec::new())?;
    let full = ed.schema.fields[out].name.clone();
    ed.schema.fields[input].annotations.insert("columns.replace".into(), full);
    ed.set_visibility(input, false);
    Ok(Endpoint { addr: addr_loc, version: ed.schema.fields[versions[0]].loc, out: ed.schema.fields[out].loc })
}

fn l3endpoint(ed: &mut SchemaEdit, input: usize) -> Result<Made, String> {
    Ok((0, Conv::L3(l3_common(ed, input)?)))
}

fn l4endpoint(ed: &mut SchemaEdit, input: usize) -> Result<Made, String> {
    let ep = l3_common(ed, input)?;
    let ports = sub_with_tag(ed, input, "name:port");
    if ports.len() != 1 {
        return Err("expected exactly 1 port field".into());
    }
    let protos = sub_with_tag(ed, input, "name:proto_raw");
    if protos.len() > 1 {
        return Err(format!("expected at most 1 proto_raw field, found {}", protos.len()));
    }
    let proto = match protos.first() {
        Some(&p) => {
            let name = ed.schema.fields[p].short_name().trim_end_matches("_raw").to_string();
            let out = add_sub(ed, input, &name, true, None, Vec::new())?;
            Some((ed.schema.fields[p].loc, ed.schema.fields[out].loc))
        }
        None => None,
    };
    let endpoint = add_sub(ed, input, "endpoint", true, Some(annotations(&[("json.skip", "true")])), vec!["endpoint".into()])?;
    let full = ed.schema.fields[endpoint].name.clone();
    ed.schema.fields[input].annotations.insert("columns.replace".into(), full);
    Ok((1, Conv::L4 { ep, port: ed.schema.fields[ports[0]].loc, proto, endpoint: ed.schema.fields[endpoint].loc }))
}
