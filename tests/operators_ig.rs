//! gadgetrt-run prints exactly what the real `ig run` v0.55.0 printed.
//!
//! The fmtprobe test gadget (tests/gadgets/fmtprobe) is built from source with gadgetrt's own
//! stand-ins for IG's BPF headers (tests/bpf/include/gadget, via tests/bpf/build.sh), its
//! trigger (tests/gadgets/fmtprobe/trigger.c) is built with `cc` under the name the recordings
//! used (`fmtprobe-trig`, it is the event's `proc.comm`), and every recording of
//! tests/fixtures/ig/fmtprobe/commands.txt that gadgetrt implements is replayed through the
//! real `gadgetrt-run` binary with the same options. stdout must equal ig's byte for byte after
//! masking only the values that differ between any two runs (every masked value is checked
//! for its form first, see `Mask`): timestamps, pids/tids, the mount namespace id, the
//! parent's comm, and the kernel stack (id and symbols depend on the kernel build).
//!
//! Needs root (eBPF). Cases run one at a time: every running fmtprobe sees every trigger.

#![allow(non_snake_case)] // test names are the recordings' names (json_F_…)

mod common;
#[path = "common/ebpf.rs"]
mod ebpf_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use ebpf_common::{bpf_obj, require_root};

const FIXTURES: &str = "tests/fixtures/ig/fmtprobe";

/// Recordings of commands.txt that this test does not replay, and why.
const NOT_REPLAYED: &[(&str, &str)] = &[
    ("help", "`ig run --help` text: gadgetrt-run has its own --help"),
    ("json_tz_kolkata", "needs TZ=Asia/Kolkata: every timestamp is masked, so it would test nothing"),
];

/// One recording: the `ig run` options after the image name (without `--host`,
/// `--verify-image=false`, `--auto-mount-filesystems`, `--timeout`), the trigger's argument,
/// and ig's exit code.
struct Case {
    name: &'static str,
    args: &'static [&'static str],
    trigger: &'static str,
    rc: i32,
}

const fn case(name: &'static str, args: &'static [&'static str], trigger: &'static str) -> Case {
    Case { name, args, trigger, rc: 0 }
}

/// Serialises the cases (each gadget would see the other cases' triggers).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn work_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("operators_ig");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The fmtprobe directory gadget: program.bpf.o (our build) + gadget.yaml.
fn gadget() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = work_dir().join("fmtprobe");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(bpf_obj("fmtprobe"), dir.join("program.bpf.o")).unwrap();
        std::fs::copy(repo().join("tests/gadgets/fmtprobe/gadget.yaml"), dir.join("gadget.yaml")).unwrap();
        dir
    })
}

/// `cc -O2 -Wall -o <tmp>/bin/fmtprobe-trig trigger.c`.
fn trigger() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = work_dir().join("bin");
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("fmtprobe-trig");
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let st = Command::new(&cc)
            .args(["-O2", "-Wall", "-o"])
            .arg(&bin)
            .arg(repo().join("tests/gadgets/fmtprobe/trigger.c"))
            .arg("-lm")
            .status()
            .unwrap_or_else(|e| panic!("running {cc}: {e}"));
        assert!(st.success(), "building fmtprobe-trig failed");
        bin
    })
}

fn fixture(name: &str, ext: &str) -> String {
    let p = repo().join(FIXTURES).join(format!("{name}.{ext}"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

struct Run {
    stdout: String,
    stderr: String,
    rc: i32,
}

/// Runs gadgetrt-run on fmtprobe with `args`; once the gadget has started, runs the trigger,
/// then stops the runner with SIGINT (its orderly stop, like ig's `--timeout`).
fn run(c: &Case) -> Run {
    let dir = work_dir().join("out");
    std::fs::create_dir_all(&dir).unwrap();
    let out_path = dir.join(format!("{}.stdout", c.name));
    let err_path = dir.join(format!("{}.stderr", c.name));
    let mut child = Command::new(env!("CARGO_BIN_EXE_gadgetrt-run"))
        .args(c.args)
        .arg(gadget())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("spawning gadgetrt-run");
    let deadline = Instant::now() + Duration::from_secs(30);
    let exited = |child: &mut std::process::Child| child.try_wait().expect("wait").map(|s| s.code().unwrap_or(-1));
    let mut rc = None;
    if c.rc == 0 {
        // Started: a columns header is printed right after start; other modes print nothing
        // before the first event, so give them the same start time (~0.2 s here) with margin.
        let columns = !c.args.contains(&"-o") || c.args.windows(2).any(|w| w == ["-o", "columns"]);
        let t0 = Instant::now();
        while rc.is_none() {
            rc = exited(&mut child);
            let started = if columns {
                std::fs::metadata(&out_path).map(|m| m.len() > 0).unwrap_or(false)
                    || std::fs::read_to_string(&err_path).map(|s| s.contains("failed to set fields")).unwrap_or(false)
            } else {
                t0.elapsed() >= Duration::from_millis(1500)
            };
            if started {
                break;
            }
            assert!(Instant::now() < deadline, "{}: gadget did not start", c.name);
            std::thread::sleep(Duration::from_millis(20));
        }
        if columns {
            std::thread::sleep(Duration::from_millis(200));
        }
        if rc.is_none() {
            let st = Command::new(trigger()).arg(c.trigger).status().expect("running fmtprobe-trig");
            assert!(st.success(), "fmtprobe-trig {} failed", c.trigger);
            std::thread::sleep(Duration::from_millis(700));
            // SAFETY: kill(2) on our own child's pid.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
        }
    }
    while rc.is_none() {
        rc = exited(&mut child);
        if rc.is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("{}: gadgetrt-run did not exit", c.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    Run {
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
        rc: rc.unwrap(),
    }
}

// ---------------------------------------------------------------------------------------------
// Masking of the values that differ between runs. Every masked value must have the expected
// form; the mask is the same text for ig's and gadgetrt's output.

#[derive(Clone, Copy, Debug)]
enum Mask {
    /// Decimal unsigned integer.
    Uint,
    /// RFC 3339 UTC with 9 fractional digits: 2026-11-29T17:04:05.624803212Z.
    Time,
    /// A process name: any text (after escaping) of at most 15 bytes.
    Comm,
    /// Kernel stack text: non-empty, `sym; sym; ` (cut in columns).
    Stack,
}

fn is_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 30
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            29 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

impl Mask {
    fn check(self, v: &str, cut: bool) -> bool {
        match self {
            Mask::Uint => !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()),
            Mask::Time => is_time(v),
            Mask::Comm => !v.is_empty() && v.len() <= 15,
            Mask::Stack => !v.is_empty() && (cut || v.ends_with("; ")),
        }
    }
    fn text(self) -> &'static str {
        match self {
            Mask::Uint => "<uint>",
            Mask::Time => "<time>",
            Mask::Comm => "<comm>",
            Mask::Stack => "<stack>",
        }
    }
}

/// The masked values of a fmtprobe event, by full field name (JSON/YAML key path).
const VARYING: &[(&str, Mask)] = &[
    ("timestamp", Mask::Time),
    ("timestamp_raw", Mask::Uint),
    ("proc.pid", Mask::Uint),
    ("proc.tid", Mask::Uint),
    ("proc.mntns_id", Mask::Uint),
    ("proc.parent.comm", Mask::Comm),
    ("proc.parent.pid", Mask::Uint),
    ("proc.parent.tid", Mask::Uint),
    ("kstack", Mask::Stack),
    ("kstack_raw", Mask::Uint),
];

fn varying(path: &str) -> Option<Mask> {
    VARYING.iter().find(|(p, _)| *p == path).map(|(_, m)| *m)
}

/// Masks the varying values of IG-style JSON (compact or pretty; one or more documents;
/// tolerates IG's empty values such as `"f32":,` for NaN). Keys are tracked as paths.
fn mask_json(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    // Stack of containers: Some(path prefix) for objects, None for arrays.
    let mut stack: Vec<Option<String>> = Vec::new();
    let mut key: Option<String> = None; // the key whose value comes next
    let mut copied = 0; // s[..copied] is in `out`
    let string_end = |mut j: usize| -> Result<usize, String> {
        j += 1;
        while j < b.len() {
            match b[j] {
                b'\\' => j += 2,
                b'"' => return Ok(j + 1),
                _ => j += 1,
            }
        }
        Err("unterminated string".into())
    };
    while i < b.len() {
        match b[i] {
            b' ' | b'\n' | b'\r' | b'\t' | b':' => i += 1,
            b',' => {
                // Ends a member; with a key pending, IG wrote an empty value (`"f32":,`).
                key = None;
                i += 1;
            }
            b'{' => {
                let prefix = match (&key, stack.last()) {
                    (Some(k), Some(Some(p))) => format!("{p}{k}."),
                    _ => String::new(),
                };
                stack.push(Some(prefix));
                key = None;
                i += 1;
            }
            b'[' => {
                stack.push(None);
                key = None;
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                key = None;
                i += 1;
            }
            _ => {
                let in_object = matches!(stack.last(), Some(Some(_)));
                if in_object && key.is_none() {
                    if b[i] != b'"' {
                        return Err(format!("expected a key at byte {i}"));
                    }
                    let e = string_end(i)?;
                    key = Some(s[i + 1..e - 1].to_string());
                    i = e;
                    continue;
                }
                // A scalar value (string, number, literal).
                let e = if b[i] == b'"' {
                    string_end(i)?
                } else {
                    let mut j = i;
                    while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b'\n' | b' ') {
                        j += 1;
                    }
                    j
                };
                if let (Some(k), Some(Some(p))) = (&key, stack.last()) {
                    let path = format!("{p}{k}");
                    if let Some(m) = varying(&path) {
                        let raw = &s[i..e];
                        let v = if raw.starts_with('"') { &raw[1..raw.len() - 1] } else { raw };
                        if !m.check(v, false) {
                            return Err(format!("{path}: unexpected value {raw}"));
                        }
                        out.push_str(&s[copied..i]);
                        out.push_str(m.text());
                        copied = e;
                    }
                }
                key = None;
                i = e;
            }
        }
    }
    out.push_str(&s[copied..]);
    Ok(out)
}

/// Masks the varying values of the `---`-separated YAML documents IG prints.
fn mask_yaml(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut path: Vec<(usize, String)> = Vec::new();
    for line in s.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        if body == "---" {
            path.clear();
            out.push_str(line);
            continue;
        }
        let indent = body.len() - body.trim_start_matches(' ').len();
        let rest = &body[indent..];
        let Some((k, v)) = rest.split_once(':').filter(|(k, _)| !k.starts_with("- ") && !k.contains(' ')) else {
            out.push_str(line);
            continue;
        };
        while path.last().is_some_and(|(d, _)| *d >= indent) {
            path.pop();
        }
        path.push((indent, k.to_string()));
        let full = path.iter().map(|(_, k)| k.as_str()).collect::<Vec<_>>().join(".");
        match varying(&full) {
            Some(m) if !v.is_empty() => {
                let raw = v.strip_prefix(' ').ok_or_else(|| format!("{full}: bad line {body:?}"))?;
                let unq = if (raw.starts_with('"') && raw.ends_with('"') || raw.starts_with('\'') && raw.ends_with('\''))
                    && raw.len() >= 2
                {
                    &raw[1..raw.len() - 1]
                } else {
                    raw
                };
                if !m.check(unq, false) {
                    return Err(format!("{full}: unexpected value {raw}"));
                }
                out.push_str(&body[..indent + k.len() + 2]);
                out.push_str(m.text());
                out.push_str(&line[body.len()..]);
            }
            _ => out.push_str(line),
        }
    }
    Ok(out)
}

/// A varying column: header text, which occurrence of it, width, right-aligned, mask.
type Col = (&'static str, usize, usize, bool, Mask);

/// The varying columns of the default column set (pid and tid are right-aligned, the
/// parent's tid is left-aligned: IG does not apply the `ptid` template).
const DEFAULT_COLS: &[Col] = &[
    ("PID", 0, 16, true, Mask::Uint),
    ("TID", 0, 16, true, Mask::Uint),
    ("TID", 1, 16, false, Mask::Uint),
    ("KSTACK", 0, 16, false, Mask::Stack),
];

/// Masks cells of column output: the cell range is found from the header (the start of a
/// left-aligned column's title, the end of a right-aligned one's), and the cell's content
/// must sit at the right edge of the range and have the mask's form.
fn mask_columns(s: &str, cols: &[Col]) -> Result<String, String> {
    let mut lines = s.split_inclusive('\n');
    let Some(header) = lines.next() else { return Ok(String::new()) };
    let hc: Vec<char> = header.trim_end_matches('\n').chars().collect();
    let mut ranges = Vec::new();
    for &(title, nth, width, right, mask) in cols {
        let t: Vec<char> = title.chars().collect();
        let starts: Vec<usize> = (0..hc.len().saturating_sub(t.len() - 1))
            .filter(|&p| {
                hc[p..p + t.len()] == t[..]
                    && (p == 0 || hc[p - 1] == ' ')
                    && (p + t.len() == hc.len() || hc[p + t.len()] == ' ')
            })
            .collect();
        let p = *starts.get(nth).ok_or_else(|| format!("column {title}#{nth} not in header"))?;
        let start = if right { (p + t.len()).checked_sub(width).ok_or("bad width")? } else { p };
        ranges.push((start, width, right, mask, title));
    }
    let mut out = header.to_string();
    for line in lines {
        let body = line.trim_end_matches('\n');
        let mut c: Vec<char> = body.chars().collect();
        // right to left, so that earlier ranges stay valid after a splice
        let mut order: Vec<usize> = (0..ranges.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ranges[i].0));
        for &(start, width, right, mask, title) in order.iter().map(|&i| &ranges[i]) {
            if c.len() < start + width {
                return Err(format!("row too short for column {title}: {body:?}"));
            }
            let cell: String = c[start..start + width].iter().collect();
            let v = if right { cell.trim_start_matches(' ') } else { cell.trim_end_matches(' ') };
            let aligned = if right { !cell.ends_with(' ') } else { !cell.starts_with(' ') };
            let cut = v.ends_with('…');
            if !aligned || !mask.check(v, cut) {
                return Err(format!("column {title}: unexpected cell {cell:?}"));
            }
            c.splice(start..start + width, mask.text().chars());
        }
        out.extend(c);
        out.push_str(&line[body.len()..]);
    }
    Ok(out)
}

#[derive(Clone, Copy)]
enum Format {
    Json,
    Yaml,
    Columns(&'static [Col]),
    /// Nothing is printed.
    Empty,
}

fn masked(fmt: Format, s: &str) -> Result<String, String> {
    match fmt {
        Format::Json => mask_json(s),
        Format::Yaml => mask_yaml(s),
        Format::Columns(cols) => mask_columns(s, cols),
        Format::Empty => Ok(s.to_string()),
    }
}

/// A line diff of the first differences (for the failure message).
fn diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let mut d = String::new();
    let mut n = 0;
    for i in 0..w.len().max(g.len()) {
        let (a, b) = (w.get(i), g.get(i));
        if a != b {
            d.push_str(&format!("line {}:\n  ig:       {}\n  gadgetrt: {}\n", i + 1, a.unwrap_or(&"<none>"), b.unwrap_or(&"<none>")));
            n += 1;
            if n == 8 {
                d.push_str("  …\n");
                break;
            }
        }
    }
    if want.ends_with('\n') != got.ends_with('\n') {
        d.push_str("final newline differs\n");
    }
    d
}

/// The messages of ig's warnings and errors (`level=warning msg="…"`, `Error: …`), unquoted,
/// without the container-collection and image-signature warnings that have no gadgetrt
/// counterpart.
fn ig_messages(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| {
            if let Some(e) = l.strip_prefix("Error: ") {
                return Some(e.to_string());
            }
            let m = l.split_once(" msg=\"")?.1.strip_suffix('"')?;
            // logrus quotes the message like strconv.Quote.
            Some(go_unquote(m))
        })
        .filter(|m| !m.contains("container-collection") && !m.contains("signature verification"))
        .collect()
}

/// The text of a `strconv.Quote`d string without its quotes (bytes that are not UTF-8 become
/// U+FFFD, as gadgetrt's lossy stderr reading shows them).
fn go_unquote(q: &str) -> String {
    let mut out: Vec<u8> = Vec::new();
    let mut it = q.chars().peekable();
    let hex = |it: &mut std::iter::Peekable<std::str::Chars>, n: usize| -> u32 {
        (0..n).fold(0, |v, _| v * 16 + it.next().and_then(|c| c.to_digit(16)).unwrap_or(0))
    };
    while let Some(c) = it.next() {
        if c != '\\' {
            let mut b = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            continue;
        }
        match it.next() {
            Some('n') => out.push(b'\n'),
            Some('t') => out.push(b'\t'),
            Some('r') => out.push(b'\r'),
            Some('a') => out.push(7),
            Some('b') => out.push(8),
            Some('f') => out.push(12),
            Some('v') => out.push(11),
            Some('x') => out.push(hex(&mut it, 2) as u8),
            Some(u @ ('u' | 'U')) => {
                let ch = char::from_u32(hex(&mut it, if u == 'u' { 4 } else { 8 })).unwrap_or('\u{fffd}');
                let mut b = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
            }
            Some(o) => {
                let mut b = [0u8; 4];
                out.extend_from_slice(o.encode_utf8(&mut b).as_bytes());
            }
            None => out.push(b'\\'),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn check(c: &Case, fmt: Format) {
    require_root();
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let r = run(c);
    let want_out = fixture(c.name, "stdout");
    let want_err = fixture(c.name, "stderr");
    let mut problems = Vec::new();
    if r.rc != c.rc {
        problems.push(format!("exit code {} (ig: {})", r.rc, c.rc));
    }
    // Every ig warning/error message must be in gadgetrt's stderr (gadgetrt's prefix differs;
    // ig's `initializing and preparing operators: instantiating operator "filter": ` context
    // is not part of the comparison).
    let ig_msgs = ig_messages(&want_err);
    for m in &ig_msgs {
        let core = m.rsplit_once("instantiating operator \"filter\": ").map(|(_, t)| t).unwrap_or(m);
        let n_ig = ig_msgs.iter().filter(|x| x.ends_with(core)).count();
        let n_us = r.stderr.matches(core).count();
        if n_us != n_ig {
            problems.push(format!("stderr: ig printed {core:?} {n_ig} time(s), gadgetrt {n_us}"));
        }
    }
    match (masked(fmt, &want_out), masked(fmt, &r.stdout)) {
        (Err(e), _) => problems.push(format!("masking ig's output: {e}")),
        (_, Err(e)) => problems.push(format!("masking gadgetrt's output: {e}")),
        (Ok(w), Ok(g)) => {
            if w != g {
                problems.push(format!("stdout differs (masked):\n{}", diff(&w, &g)));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{}: gadgetrt-run {} differs from ig:\n{}\n--- gadgetrt stderr:\n{}",
        c.name,
        c.args.join(" "),
        problems.join("\n"),
        r.stderr
    );
}

macro_rules! ig_cases {
    ($($name:ident: [$($arg:expr),*], $trig:expr, $fmt:expr $(, rc = $rc:expr)?;)*) => {
        /// The recordings replayed here (checked against commands.txt).
        const REPLAYED: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                #[allow(unused_mut)]
                let mut c = case(stringify!($name), &[$($arg),*], $trig);
                $(c.rc = $rc;)?
                check(&c, $fmt);
            }
        )*
    };
}

const EXPLICIT_COLS: &[Col] = &[
    ("KSTACK_RAW", 0, 16, false, Mask::Uint),
    ("TIMESTAMP", 0, 35, false, Mask::Time),
    ("TIMESTAMP_RAW", 0, 35, false, Mask::Uint),
];
const ALIAS_CASE_COLS: &[Col] = &[("COMM", 1, 16, false, Mask::Comm)];

ig_cases! {
    json: ["-o", "json"], "main", Format::Json;
    jsonpretty: ["-o", "jsonpretty"], "main", Format::Json;
    yaml: ["-o", "yaml"], "main", Format::Yaml;
    columns: ["-o", "columns"], "main", Format::Columns(DEFAULT_COLS);
    columns_default: [], "main", Format::Columns(DEFAULT_COLS);
    columns_fields_explicit: ["-o", "columns", "--fields",
        "idx,uid,gid,uid_raw,proc.creds.user,proc.creds.group,error_raw,error,ip,ip.addr,ep,ep.endpoint,ep.proto,ep.port,kstack_raw,timestamp,timestamp_raw,name,hexval,arr,in,in.a"],
        "main", Format::Columns(EXPLICIT_COLS);
    columns_fields_plusminus: ["-o", "columns", "--fields", "+proc.creds.user,+idx,-kstack,-ip"], "main",
        Format::Columns(&[("PID", 0, 16, true, Mask::Uint), ("TID", 0, 16, true, Mask::Uint), ("TID", 1, 16, false, Mask::Uint)]);
    columns_fields_unknown: ["-o", "columns", "--fields", "idx,nosuchfield"], "main", Format::Empty;
    columns_fields_alias_case: ["-o", "columns", "--fields", "IDX,Error,PROC.COMM,comm"], "main", Format::Columns(ALIAS_CASE_COLS);
    json_F_error_ENOENT: ["-o", "json", "-F", "error==ENOENT"], "main", Format::Json;
    json_F_size_ge_1000: ["-o", "json", "-F", "size_raw>=1000"], "main", Format::Json;
    json_F_name_regex: ["-o", "json", "-F", "name~^[a-f]"], "main", Format::Json;
    json_F_flags_regex_neg: ["-o", "json", "-F", "flags!~O_RDONLY"], "main", Format::Json;
    json_F_idx_range: ["-o", "json", "-F", "idx>=3,idx<6"], "main", Format::Json;
    json_F_ep_proto: ["-o", "json", "-F", "ep.proto==TCP"], "main", Format::Json;
    json_F_f64_lt0: ["-o", "json", "-F", "f64<0"], "main", Format::Json;
    json_F_flag_true: ["-o", "json", "-F", "flag==true"], "main", Format::Json;
    json_F_uid_name: ["-o", "json", "-F", "uid==nobody"], "main", Format::Json;
    json_F_unknown_field: ["-o", "json", "-F", "nosuch==1"], "main", Format::Empty, rc = 1;
    json_F_bad_uint: ["-o", "json", "-F", "idx==abc"], "main", Format::Empty, rc = 1;
    columns_F_error_ne_empty: ["-o", "columns", "-F", "error!="], "main", Format::Empty, rc = 1;
    json_F_repeated: ["-o", "json", "-F", "idx==1", "-F", "idx==2"], "main", Format::Json;
    json_F_escaped_comma: ["-o", "json", "-F", "flags~O_RDONLY\\,?"], "main", Format::Json;
    json_fields_ignored: ["-o", "json", "--fields", "idx,name"], "main", Format::Json;
    json_nan: ["-o", "json"], "nan", Format::Json;
    columns_nan: ["-o", "columns"], "nan", Format::Columns(DEFAULT_COLS);
    yaml_nan: ["-o", "yaml"], "nan", Format::Yaml;
    jsonpretty_nan: ["-o", "jsonpretty"], "nan", Format::Json;
    json_badip: ["-o", "json"], "badip", Format::Json;
    columns_badip: ["-o", "columns"], "badip", Format::Columns(DEFAULT_COLS);
    json_nul: ["-o", "json"], "nul", Format::Json;
    columns_nul: ["-o", "columns"], "nul", Format::Columns(DEFAULT_COLS);
    yaml_nul: ["-o", "yaml"], "nul", Format::Yaml;
    json_F_name_nul: ["-o", "json", "-F", "name==ab"], "nul", Format::Json;
    columns_annotate: ["-o", "columns", "--annotate",
        "fmtprobe.error_raw:columns.hidden=false,fmtprobe.idx:columns.width=4,fmtprobe.idx:columns.alignment=right,fmtprobe.f32:columns.precision=2,fmtprobe:cli.clear-screen-before=true"],
        "main", Format::Columns(DEFAULT_COLS);
    json_E_expr: ["-o", "json", "-E", "idx > 8 && error != \"EPERM\""], "main", Format::Json;
    json_E_cidr: ["-o", "json", "-E", "ip.addr in cidr(\"10.0.0.0/8\") or ep.addr in cidr(\"1.2.0.0/16\", \"::1/128\")"], "main", Format::Json;
    json_E_strings: ["-o", "json", "-E", "name startsWith \"fmt\" or error in [\"ENOENT\", \"EPERM\"] or flags matches \"O_WRONLY\""], "main", Format::Json;
    json_E_let: ["-o", "json", "-E", "let m = [\"RED\", \"BLUE\"]; color in m and idx % 2 == 0"], "main", Format::Json;
    json_E_arith: ["-o", "json", "-E", "f64 * 2 > 2 and neg < 0 and uid_raw + gid_raw >= 1"], "main", Format::Json;
    json_E_with_F: ["-o", "json", "-F", "idx>=2", "-E", "idx < 5 && !flag"], "main", Format::Json;
    json_E_bad_type: ["-o", "json", "-E", "idx == \"x\""], "main", Format::Empty, rc = 1;
    json_E_unknown: ["-o", "json", "-E", "nosuch > 1"], "main", Format::Empty, rc = 1;
    json_E_not_bool: ["-o", "json", "-E", "name"], "main", Format::Empty, rc = 1;
    json_E_runtime_error: ["-o", "json", "-E", "int(name) > 0"], "main", Format::Empty;
}

/// Every recording in commands.txt is replayed here or listed in NOT_REPLAYED, and every
/// replayed case's options are the recorded ones.
#[test]
fn every_recording_is_covered() {
    let cmds = std::fs::read_to_string(repo().join(FIXTURES).join("commands.txt")).unwrap();
    for line in cmds.lines().filter(|l| !l.trim().is_empty()) {
        let name = line.split(':').next().unwrap();
        assert!(
            REPLAYED.contains(&name) || NOT_REPLAYED.iter().any(|(n, _)| *n == name),
            "recording {name} of commands.txt is neither replayed nor listed in NOT_REPLAYED"
        );
    }
    for name in REPLAYED.iter().chain(NOT_REPLAYED.iter().map(|(n, _)| n)) {
        assert!(cmds.lines().any(|l| l.starts_with(&format!("{name}: "))), "{name} is not in commands.txt");
    }
}

/// The masking itself: only the listed values are replaced, and only when they have the
/// expected form.
#[test]
fn masks_are_precise() {
    let j = r#"{"a":{"pid":1},"f32":,"kstack":"x; ","proc":{"comm":"c","parent":{"comm":"p q","pid":7,"tid":8},"pid":5,"tid":6},"timestamp":"2026-11-29T17:04:05.624803212Z","timestamp_raw":12}"#;
    assert_eq!(
        mask_json(j).unwrap(),
        r#"{"a":{"pid":1},"f32":,"kstack":<stack>,"proc":{"comm":"c","parent":{"comm":<comm>,"pid":<uint>,"tid":<uint>},"pid":<uint>,"tid":<uint>},"timestamp":<time>,"timestamp_raw":<uint>}"#
    );
    assert!(mask_json(r#"{"timestamp":"2026-11-29 17:04:05Z"}"#).is_err());
    assert!(mask_json(r#"{"proc":{"pid":-1}}"#).is_err());
    let y = "---\nproc:\n  parent:\n    pid: 3\n  pid: 4\npid: 9\ntimestamp: \"2026-11-29T17:04:05.624803212Z\"\n";
    assert_eq!(mask_yaml(y).unwrap(), "---\nproc:\n  parent:\n    pid: <uint>\n  pid: <uint>\npid: 9\ntimestamp: <time>\n");
    let c = "A     PID TID  X\n1      42 7    x\n";
    let cols: &[Col] = &[("PID", 0, 4, true, Mask::Uint), ("TID", 0, 4, false, Mask::Uint)];
    assert_eq!(mask_columns(c, cols).unwrap(), "A     PID TID  X\n1    <uint> <uint> x\n");
    // a left-aligned value in a right-aligned column is not masked away
    assert!(mask_columns("A     PID\n1    42  \n", &cols[..1]).is_err());
}
