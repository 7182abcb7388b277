//! Kernel and user stacks, as IG v0.55.0 prints them (operators spec §4).
//!
//! * Kernel stacks (`type:gadget_kernel_stack`, a u32 stack id into `ig_kstack`):
//!   `pkg/operators/ebpf/formatters.go` + `pkg/kallsyms/kallsyms.go`. See [`KernelSymbols`] and
//!   [`kernel_stack_string`].
//! * User stacks (`struct gadget_user_stack`, IG's `ustack` operator):
//!   `pkg/operators/ustack/*` + `pkg/symbolizer/{symbolizer.go,table.go,symtab/*}`. See
//!   [`UserStackResolver`].
//!
//! Warnings are not printed here: they are pushed, with IG's exact text (logrus message, without
//! level/prefix), onto a `Vec<String>` the caller owns.
//!
//! Only dependency on the rest of gadgetrt: [`RawMap`] (`crate::ebpf::maps`), used for the
//! `BPF_MAP_LOOKUP_ELEM`s.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use object::read::elf::{FileHeader, ProgramHeader, Sym};
use object::{elf, Endianness};

// ---- adapter: the only gadgetrt import -------------------------------------------------------
use crate::ebpf::maps::RawMap;

/// Name of the kernel stack map (`include/gadget/kernel_stack_map.h`).
pub const KERNEL_STACK_MAP_NAME: &str = "ig_kstack";
/// Name of the user stack map (`include/gadget/user_stack_map.h`).
pub const USER_STACK_MAP_NAME: &str = "ig_ustack";
/// Name of the build id map (`include/gadget/user_stack_map.h`).
pub const BUILD_ID_MAP_NAME: &str = "ig_build_id";
/// `KernelPerfMaxStackDepth` / `UserPerfMaxStackDepth`: slots per stack.
pub const MAX_STACK_DEPTH: usize = 127;
/// `sizeof(struct bpf_stack_build_id)`: s32 status, u8[20] build id, (pad), u64 offset/ip.
pub const BUILD_ID_ENTRY_SIZE: usize = 32;
/// Error IG returns when a gadget uses `gadget_kernel_stack` without `ig_kstack`
/// (the ebpf operator wraps it as `initializing stack converters: <this>`).
pub const KERNEL_STACK_MAP_MISSING: &str = "kernel stack map is not initialized but used. \
     if you are using `gadget_kernel_stack` as event field, try to include <gadget/kernel_stack_map.h>";
/// Error IG's ustack operator returns (at instantiation) when the gadget has no `ig_ustack`.
pub const USER_STACK_MAP_MISSING: &str = "user stack map is not initialized but used. \
     if you are using `gadget_user_stack` as event field, try to include <gadget/user_stack_map.h>";

// =============================================================================================
// Go-style error text
// =============================================================================================

/// Go's `syscall.Errno.Error()` text on linux/amd64 (`errno N` when unknown).
pub fn go_errno_string(errno: i32) -> String {
    let s = match errno {
        1 => "operation not permitted",
        2 => "no such file or directory",
        3 => "no such process",
        4 => "interrupted system call",
        5 => "input/output error",
        6 => "no such device or address",
        7 => "argument list too long",
        8 => "exec format error",
        9 => "bad file descriptor",
        10 => "no child processes",
        11 => "resource temporarily unavailable",
        12 => "cannot allocate memory",
        13 => "permission denied",
        14 => "bad address",
        15 => "block device required",
        16 => "device or resource busy",
        17 => "file exists",
        18 => "invalid cross-device link",
        19 => "no such device",
        20 => "not a directory",
        21 => "is a directory",
        22 => "invalid argument",
        23 => "too many open files in system",
        24 => "too many open files",
        25 => "inappropriate ioctl for device",
        26 => "text file busy",
        27 => "file too large",
        28 => "no space left on device",
        29 => "illegal seek",
        30 => "read-only file system",
        31 => "too many links",
        32 => "broken pipe",
        33 => "numerical argument out of domain",
        34 => "numerical result out of range",
        35 => "resource deadlock avoided",
        36 => "file name too long",
        37 => "no locks available",
        38 => "function not implemented",
        39 => "directory not empty",
        40 => "too many levels of symbolic links",
        42 => "no message of desired type",
        43 => "identifier removed",
        44 => "channel number out of range",
        45 => "level 2 not synchronized",
        46 => "level 3 halted",
        47 => "level 3 reset",
        48 => "link number out of range",
        49 => "protocol driver not attached",
        50 => "no CSI structure available",
        51 => "level 2 halted",
        52 => "invalid exchange",
        53 => "invalid request descriptor",
        54 => "exchange full",
        55 => "no anode",
        56 => "invalid request code",
        57 => "invalid slot",
        59 => "bad font file format",
        60 => "device not a stream",
        61 => "no data available",
        62 => "timer expired",
        63 => "out of streams resources",
        64 => "machine is not on the network",
        65 => "package not installed",
        66 => "object is remote",
        67 => "link has been severed",
        68 => "advertise error",
        69 => "srmount error",
        70 => "communication error on send",
        71 => "protocol error",
        72 => "multihop attempted",
        73 => "RFS specific error",
        74 => "bad message",
        75 => "value too large for defined data type",
        76 => "name not unique on network",
        77 => "file descriptor in bad state",
        78 => "remote address changed",
        79 => "can not access a needed shared library",
        80 => "accessing a corrupted shared library",
        81 => ".lib section in a.out corrupted",
        82 => "attempting to link in too many shared libraries",
        83 => "cannot exec a shared library directly",
        84 => "invalid or incomplete multibyte or wide character",
        85 => "interrupted system call should be restarted",
        86 => "streams pipe error",
        87 => "too many users",
        88 => "socket operation on non-socket",
        89 => "destination address required",
        90 => "message too long",
        91 => "protocol wrong type for socket",
        92 => "protocol not available",
        93 => "protocol not supported",
        94 => "socket type not supported",
        95 => "operation not supported",
        96 => "protocol family not supported",
        97 => "address family not supported by protocol",
        98 => "address already in use",
        99 => "cannot assign requested address",
        100 => "network is down",
        101 => "network is unreachable",
        102 => "network dropped connection on reset",
        103 => "software caused connection abort",
        104 => "connection reset by peer",
        105 => "no buffer space available",
        106 => "transport endpoint is already connected",
        107 => "transport endpoint is not connected",
        108 => "cannot send after transport endpoint shutdown",
        109 => "too many references: cannot splice",
        110 => "connection timed out",
        111 => "connection refused",
        112 => "host is down",
        113 => "no route to host",
        114 => "operation already in progress",
        115 => "operation now in progress",
        116 => "stale NFS file handle",
        117 => "structure needs cleaning",
        118 => "not a XENIX named type file",
        119 => "no XENIX semaphores available",
        120 => "is a named type file",
        121 => "remote I/O error",
        122 => "disk quota exceeded",
        123 => "no medium found",
        124 => "wrong medium type",
        125 => "operation canceled",
        126 => "required key not available",
        127 => "key has expired",
        128 => "key has been revoked",
        129 => "key was rejected by service",
        130 => "owner died",
        131 => "state not recoverable",
        132 => "operation not possible due to RF-kill",
        133 => "memory page has hardware error",
        _ => return format!("errno {errno}"),
    };
    s.to_owned()
}

/// The Go text of an I/O error: the errno text when it carries one, else Rust's text.
pub fn go_io_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(errno) => go_errno_string(errno),
        None => e.to_string(),
    }
}

/// Go's `*fs.PathError` text: `<op> <path>: <err>`.
fn go_path_error(op: &str, path: &str, e: &io::Error) -> String {
    format!("{op} {path}: {}", go_io_error(e))
}

/// Go's `strconv.Quote` (one implementation: `values::go_quote`).
pub use super::values::go_quote;

/// cilium/ebpf v0.22 `Map.Lookup` error text for a failed `BPF_MAP_LOOKUP_ELEM`.
fn cilium_lookup_error(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ENOENT) => "lookup: key does not exist".to_owned(),
        Some(libc::EEXIST) => "lookup: key already exists".to_owned(),
        Some(524) => "lookup: not supported".to_owned(), // ENOTSUPP
        Some(libc::E2BIG) => format!("lookup: key too big for map: {}", go_errno_string(libc::E2BIG)),
        Some(errno) => format!("lookup: {}", go_errno_string(errno)),
        None => format!("lookup: {e}"),
    }
}

/// Looks up a 127-slot stack (`[127]uint64`) by id, like cilium's `Map.Lookup(id, &stack)`.
/// The error is cilium's text (`lookup: key does not exist` for a missing id).
pub fn lookup_stack(map: &RawMap, stack_id: u32) -> Result<[u64; MAX_STACK_DEPTH], String> {
    let mut buf = vec![0u8; map.value_size_for_lookup().max(MAX_STACK_DEPTH * 8)];
    match map.lookup(&stack_id.to_ne_bytes(), &mut buf) {
        Ok(true) => {
            let mut stack = [0u64; MAX_STACK_DEPTH];
            for (slot, chunk) in stack.iter_mut().zip(buf.chunks_exact(8)) {
                *slot = u64::from_ne_bytes(chunk.try_into().unwrap());
            }
            Ok(stack)
        }
        Ok(false) => Err("lookup: key does not exist".to_owned()),
        Err(e) => Err(cilium_lookup_error(&e)),
    }
}

// =============================================================================================
// Kernel stacks
// =============================================================================================

/// `/proc/kallsyms` as IG's `kallsyms.KAllSyms`: (address, name) in file order, not sorted.
#[derive(Debug, Default, Clone)]
pub struct KernelSymbols {
    symbols: Vec<(u64, Box<str>)>,
}

impl KernelSymbols {
    /// Reads `/proc/kallsyms` (IG: `kallsyms.NewKAllSyms()`, once per gadget instance that has
    /// a `gadget_kernel_stack` field). The error is Go's text; IG fails the gadget with
    /// `initializing stack converters: <err>` (wrapped further by the ebpf operator).
    pub fn load() -> Result<KernelSymbols, String> {
        const PATH: &str = "/proc/kallsyms";
        let file = File::open(PATH).map_err(|e| go_path_error("open", PATH, &e))?;
        Self::parse(BufReader::with_capacity(1 << 16, file))
    }

    /// Parses a kallsyms listing like `NewKAllSymsFromReader`: every line needs ≥ 3
    /// whitespace-separated fields (else `line "<line>" has less than 3 fields`), the first is a
    /// hex address (else strconv's error), the third the name; the module column is dropped.
    pub fn parse(mut reader: impl BufRead) -> Result<KernelSymbols, String> {
        let mut symbols = Vec::new();
        let mut raw = Vec::new();
        loop {
            raw.clear();
            let n = reader
                .read_until(b'\n', &mut raw)
                .map_err(|e| go_io_error(&e))?;
            if n == 0 {
                break;
            }
            // bufio.ScanLines: drop "\n" and a "\r" before it.
            if raw.last() == Some(&b'\n') {
                raw.pop();
            }
            if raw.last() == Some(&b'\r') {
                raw.pop();
            }
            let line = String::from_utf8_lossy(&raw);
            let mut fields = line.split_whitespace();
            let (Some(addr), Some(_), Some(name)) = (fields.next(), fields.next(), fields.next())
            else {
                return Err(format!("line {} has less than 3 fields", go_quote(&line)));
            };
            let addr = parse_go_hex_u64(addr)?;
            symbols.push((addr, Box::from(name)));
        }
        Ok(KernelSymbols { symbols })
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.symbols.len()
    }

    /// Whether no symbol was read.
    pub fn is_empty(&self) -> bool {
        self.symbols.is_empty()
    }

    /// `LookupByInstructionPointer`: binary search (bcc's `ksyms__map_addr`) for the greatest
    /// symbol address ≤ `ip`, over the list as it is (assumed sorted, never sorted);
    /// `[unknown]` when none.
    pub fn lookup(&self, ip: u64) -> &str {
        if self.symbols.is_empty() {
            return "[unknown]";
        }
        let mut start = 0usize;
        let mut end = self.symbols.len() - 1;
        while start < end {
            let mid = start + (end - start).div_ceil(2);
            if self.symbols[mid].0 <= ip {
                start = mid;
            } else {
                end = mid - 1;
            }
        }
        if start == end && self.symbols[start].0 <= ip {
            &self.symbols[start].1
        } else {
            "[unknown]"
        }
    }

    /// `fetchAndFormatStackTrace`'s loop: `<name>; ` per address, stopping at the first zero
    /// address (IG `break`s; it does not skip).
    pub fn symbolize_stack(&self, addrs: &[u64], out: &mut String) {
        for &addr in addrs {
            if addr == 0 {
                break;
            }
            out.push_str(self.lookup(addr));
            out.push_str("; ");
        }
    }
}

/// `strconv.ParseUint(s, 16, 64)` with Go's error text.
fn parse_go_hex_u64(s: &str) -> Result<u64, String> {
    let syntax = || format!("strconv.ParseUint: parsing {}: invalid syntax", go_quote(s));
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(syntax());
    }
    u64::from_str_radix(s, 16)
        .map_err(|_| format!("strconv.ParseUint: parsing {}: value out of range", go_quote(s)))
}

/// The `kstack` output string for one event: the stack `stack_id` of `ig_kstack`, symbolized.
/// A failed lookup pushes `stack with ID <id> is lost: <err>` and returns `""`.
pub fn kernel_stack_string(
    kstack_map: &RawMap,
    symbols: &KernelSymbols,
    stack_id: u32,
    warnings: &mut Vec<String>,
) -> String {
    match lookup_stack(kstack_map, stack_id) {
        Ok(stack) => {
            let mut out = String::new();
            symbols.symbolize_stack(&stack, &mut out);
            out
        }
        Err(e) => {
            warnings.push(format!("stack with ID {stack_id} is lost: {e}"));
            String::new()
        }
    }
}

// =============================================================================================
// User stacks: operator side
// =============================================================================================

/// The members of `struct gadget_user_stack` one event carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserStack {
    pub tgid_level0: u32,
    pub pid_level0: u32,
    pub pidns_level0: u32,
    pub pid_level1: u32,
    pub pidns_level1: u32,
    /// The s32 from `bpf_get_stackid`, read as u32 (IG: `Uint32(data)`).
    pub stack_id: u32,
    pub major: u32,
    pub minor: u32,
    pub inode: u64,
    /// Read by IG with `Int64(data)`.
    pub mtime_sec: i64,
    pub mtime_nsec: u32,
    pub base_addr_hash: u32,
    /// Optional member (older gadgets lack it); only used by the OTel symbolizer.
    pub boot_timestamp: Option<u64>,
}

/// The three hidden String sub-fields the ustack operator adds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserStackStrings {
    pub addresses: String,
    pub buildid: String,
    pub symbols: String,
}

/// Which symbolizers `--symbolizers` enables for `ig run` (not a client, not a remote call).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Symbolizers {
    pub symtab: bool,
    /// Requested but NOT implemented here (lookups behave as if it found nothing).
    pub debuginfod_cache: bool,
    /// Requested but NOT implemented here.
    pub otel_ebpf_profiler: bool,
}

impl Symbolizers {
    /// Parses the `symbolizers` instance param (default `auto`) like
    /// `ustack.InstantiateDataOperator`. Error: `invalid symbolizer: <s>`.
    pub fn parse(value: &str) -> Result<Symbolizers, String> {
        let mut s = Symbolizers::default();
        match value {
            "" | "none" => {}
            "auto" => s.symtab = true,
            list => {
                for item in list.split(',') {
                    match item {
                        "symtab" => s.symtab = true,
                        "debuginfod-cache" => s.debuginfod_cache = true,
                        // Only on the ig server side of a remote call: never for `ig run`.
                        "debuginfod-cache-on-ig-server" => {}
                        "otel-ebpf-profiler" => s.otel_ebpf_profiler = true,
                        other => return Err(format!("invalid symbolizer: {other}")),
                    }
                }
            }
        }
        Ok(s)
    }

    /// Whether any symbolizer runs (IG's `symbolizerEnabled`).
    pub fn enabled(&self) -> bool {
        self.symtab || self.debuginfod_cache || self.otel_ebpf_profiler
    }
}

/// One operator instance's state: the symbolizer (with its caches) and the one-time check of
/// `ig_build_id`.
#[derive(Debug)]
pub struct UserStackResolver {
    /// `None` when no symbolizer is enabled: `symbols` then stays `""`.
    symtab: Option<SymtabResolver>,
    /// Other symbolizers were requested (no-op resolvers here, but `symbols` is still set).
    symbolizer_enabled: bool,
    /// `Some(ok)` once `ig_build_id`'s value size was checked (IG: `sync.OnceValue`).
    build_id_map_ok: Option<bool>,
}

impl UserStackResolver {
    /// Builds the resolver for `symbolizers`. With symtab, the "host" pid namespace is the one of
    /// `/proc/self/ns/pid` (IG reads `/proc/1/ns/pid`; see [`SymtabResolver::new`]); failing to
    /// stat it is an instantiation error, as in IG.
    pub fn new(symbolizers: Symbolizers) -> Result<UserStackResolver, String> {
        let symtab = if symbolizers.symtab {
            Some(SymtabResolver::new()?)
        } else {
            None
        };
        Ok(UserStackResolver {
            symtab,
            symbolizer_enabled: symbolizers.enabled(),
            build_id_map_ok: None,
        })
    }

    /// Like [`new`](Self::new) with symtab on and an explicit host pid namespace inode.
    pub fn with_symtab_pidns(host_pidns: u32) -> UserStackResolver {
        UserStackResolver {
            symtab: Some(SymtabResolver::with_pidns(host_pidns)),
            symbolizer_enabled: true,
            build_id_map_ok: None,
        }
    }

    /// The ustack converter for one event (IG priority 100).
    ///
    /// * `container_name` / `comm`: the event's `runtime.containerName` / `proc.comm` (or `""`
    ///   when the data source lacks them); only used in warnings (`"<container>/<comm>"`).
    /// * `ustack_map`: `ig_ustack`; `build_id_map`: `ig_build_id` if the gadget has it.
    ///
    /// Returns the three strings (all `""` when the struct's inode is 0, i.e. stacks off).
    pub fn resolve(
        &mut self,
        stack: &UserStack,
        container_name: &str,
        comm: &str,
        ustack_map: &RawMap,
        build_id_map: Option<&RawMap>,
        warnings: &mut Vec<String>,
    ) -> UserStackStrings {
        let mut out = UserStackStrings::default();
        if stack.inode == 0 {
            return out;
        }
        if stack.pid_level0 == 0 {
            warnings.push("user stack with invalid pid".to_owned());
            return out;
        }
        if stack.pidns_level0 == 0 {
            warnings.push("user stack with invalid pidns".to_owned());
            return out;
        }
        let mut pid_numbers = vec![(stack.pid_level0, stack.pidns_level0)];
        if stack.pid_level1 != 0 && stack.pidns_level1 != 0 {
            pid_numbers.push((stack.pid_level1, stack.pidns_level1));
        }

        // Build id map, checked once (first event that gets here).
        let build_id_map = build_id_map.filter(|m| {
            *self.build_id_map_ok.get_or_insert_with(|| {
                let expected = (MAX_STACK_DEPTH * BUILD_ID_ENTRY_SIZE) as u32;
                let got = m.info().value_size;
                if got != expected {
                    warnings.push(format!(
                        "build id map has unexpected value size {got} instead of {expected}"
                    ));
                    false
                } else {
                    true
                }
            })
        });

        let queries = read_user_stack_map(ustack_map, build_id_map, stack.stack_id, &mut out, warnings);

        if !self.symbolizer_enabled {
            return out;
        }
        let task = Task {
            name: format!("{container_name}/{comm}"),
            tgid: stack.tgid_level0,
            pid_numbers,
            exe: ExeKey {
                major: stack.major,
                minor: stack.minor,
                ino: stack.inode,
                mtime_sec: stack.mtime_sec,
                mtime_nsec: stack.mtime_nsec,
            },
            base_addr_hash: stack.base_addr_hash,
        };
        // Symbolizer.Resolve: nothing to do without frames.
        if queries.is_empty() {
            return out;
        }
        let mut found: Vec<Option<String>> = vec![None; queries.len()];
        if let Some(symtab) = self.symtab.as_mut() {
            if let Err(e) = symtab.resolve(&task, &queries, &mut found, Instant::now()) {
                warnings.push(format!("symbolizer: {e}"));
                return out;
            }
        }
        for (addr, sym) in queries.iter().zip(&found) {
            match sym {
                Some(s) if !s.is_empty() => out.symbols.push_str(s),
                _ => out.symbols.push_str(&format!("0x{addr:x}")),
            }
            out.symbols.push_str("; ");
        }
        out
    }

    /// Drops symbol tables unused for over a minute, as IG's prune loop (ticking every minute
    /// from the first successful table load) would have by `now`. Also done lazily by `resolve`.
    pub fn prune(&mut self, now: Instant) {
        if let Some(symtab) = self.symtab.as_mut() {
            symtab.prune_due(now);
        }
    }
}

/// `readUserStackMap`: fills `addresses` and `buildid`, returns the non-zero addresses.
fn read_user_stack_map(
    ustack_map: &RawMap,
    build_id_map: Option<&RawMap>,
    stack_id: u32,
    out: &mut UserStackStrings,
    warnings: &mut Vec<String>,
) -> Vec<u64> {
    let stack = match lookup_stack(ustack_map, stack_id) {
        Ok(stack) => stack,
        Err(e) => {
            warnings.push(format!("stack with ID {stack_id} is lost: {e}"));
            return Vec::new();
        }
    };
    let mut queries = Vec::with_capacity(MAX_STACK_DEPTH);
    for &addr in &stack {
        if addr == 0 {
            break;
        }
        queries.push(addr);
        out.addresses.push_str(&format!("0x{addr:016x}; "));
    }

    let Some(map) = build_id_map else { return queries };
    if map.info().max_entries == 0 {
        return queries;
    }
    let mut buf = vec![0u8; map.value_size_for_lookup().max(MAX_STACK_DEPTH * BUILD_ID_ENTRY_SIZE)];
    match map.lookup(&stack_id.to_ne_bytes(), &mut buf) {
        Ok(true) => {}
        // The gadget did not collect build ids: no warning.
        _ => return queries,
    }
    for (i, entry) in buf.chunks_exact(BUILD_ID_ENTRY_SIZE).take(MAX_STACK_DEPTH).enumerate() {
        if i >= queries.len() {
            break;
        }
        let status = i32::from_ne_bytes(entry[0..4].try_into().unwrap());
        let offset_or_ip = u64::from_ne_bytes(entry[24..32].try_into().unwrap());
        match status {
            0 => break, // BPF_STACK_BUILD_ID_EMPTY
            1 => {
                // BPF_STACK_BUILD_ID_VALID
                for b in &entry[4..24] {
                    out.buildid.push_str(&format!("{b:02x}"));
                }
                out.buildid.push_str(&format!(" +{offset_or_ip:x}; "));
            }
            2 => out.buildid.push_str(&format!("{offset_or_ip:x}; ")), // BPF_STACK_BUILD_ID_IP
            _ => {}
        }
    }
    queries
}

// =============================================================================================
// User stacks: symtab symbolizer
// =============================================================================================

const MAX_EXECUTABLE_SIZE: u64 = 512 * 1024 * 1024;
const MAX_SYMBOL_LENGTH: usize = 256;
const MAX_SYMBOL_COUNT: usize = 10 * 1000 * 1000;
const MAX_SYMBOL_COUNT_TOTAL: usize = 50 * 1000 * 1000;
const PRUNE_TTL: Duration = Duration::from_secs(60);
const PRUNE_TICK: Duration = Duration::from_secs(60);

/// `symbolizer.SymbolTableKey`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExeKey {
    pub major: u32,
    pub minor: u32,
    pub ino: u64,
    pub mtime_sec: i64,
    pub mtime_nsec: u32,
}

/// `symbolizer.Task` (the fields symtab uses).
#[derive(Debug, Clone)]
pub struct Task {
    /// `<container>/<comm>`, for messages.
    pub name: String,
    pub tgid: u32,
    /// (pid, pidns inode) per pid namespace level, level 0 first.
    pub pid_numbers: Vec<(u32, u32)>,
    pub exe: ExeKey,
    pub base_addr_hash: u32,
}

/// One `.symtab` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub value: u64,
    pub size: u64,
}

/// `symbolizer.SymbolTable`.
#[derive(Debug, Clone, Default)]
pub struct SymbolTable {
    /// Sorted by value.
    pub symbols: Vec<Symbol>,
    pub is_pie: bool,
    /// p_vaddr of the first PT_LOAD.
    pub elf_base_addr: u64,
    /// (tgid level 0, base_addr_hash) → runtime base address (0 = absent).
    runtime_base_cache: HashMap<(u32, u32), u64>,
    /// Last use; `None` is Go's zero time (tables without `.symtab` are never stamped).
    timestamp: Option<Instant>,
}

impl SymbolTable {
    /// `LookupByAddr`: Go's `slices.BinarySearchFunc` with the range comparator; `None` when
    /// no symbol has `value <= addr < value + size`.
    pub fn lookup_by_addr(&self, addr: u64) -> Option<&str> {
        let cmp = |s: &Symbol| -> i32 {
            if s.value <= addr && s.value.wrapping_add(s.size) > addr {
                0
            } else if s.value > addr {
                1
            } else if s.value < addr {
                -1
            } else {
                0
            }
        };
        let n = self.symbols.len();
        let (mut i, mut j) = (0usize, n);
        while i < j {
            let h = (i + j) >> 1;
            if cmp(&self.symbols[h]) < 0 {
                i = h + 1;
            } else {
                j = h;
            }
        }
        if i < n && cmp(&self.symbols[i]) == 0 {
            Some(&self.symbols[i].name)
        } else {
            None
        }
    }

    /// `NewSymbolTableFromFile` on an ELF image. A file without (readable) `.symtab` gives an
    /// empty table; an unparsable ELF gives `parsing ELF file: <err>`.
    pub fn from_elf(data: &[u8]) -> Result<SymbolTable, String> {
        if data.len() >= 4 && data[..4] != elf::ELFMAG[..] {
            return Err(format!(
                "parsing ELF file: bad magic number [{} {} {} {}] in record at byte 0x0",
                data[0], data[1], data[2], data[3]
            ));
        }
        match data.get(4) {
            Some(&elf::ELFCLASS64) => Self::from_elf_generic::<elf::FileHeader64<Endianness>>(data),
            Some(&elf::ELFCLASS32) => Self::from_elf_generic::<elf::FileHeader32<Endianness>>(data),
            Some(&c) => Err(format!("parsing ELF file: unknown ELF class {c}")),
            None => Err("parsing ELF file: EOF".to_owned()),
        }
    }

    fn from_elf_generic<H: FileHeader<Endian = Endianness>>(data: &[u8]) -> Result<SymbolTable, String> {
        let parse_err = |e: object::Error| format!("parsing ELF file: {e}");
        let header = H::parse(data).map_err(parse_err)?;
        let endian = header.endian().map_err(parse_err)?;
        let sections = header.sections(endian, data).map_err(parse_err)?;
        let phdrs = header.program_headers(endian, data).map_err(parse_err)?;

        let empty = SymbolTable::default();
        let Ok(symtab) = sections.symbols(endian, data, elf::SHT_SYMTAB) else {
            return Ok(empty);
        };
        if symtab.is_empty() {
            // Go: no SHT_SYMTAB section → ErrNoSymbols → empty table.
            return Ok(empty);
        }
        let strings = symtab.strings();
        let mut symbols = Vec::new();
        for sym in symtab.iter().skip(1) {
            let Ok(name) = sym.name(endian, strings) else { return Ok(empty) };
            let size: u64 = sym.st_size(endian).into();
            if name.is_empty() || size == 0 {
                continue;
            }
            let name = &name[..name.len().min(MAX_SYMBOL_LENGTH)];
            symbols.push(Symbol {
                name: String::from_utf8_lossy(name).into_owned(),
                value: sym.st_value(endian).into(),
                size,
            });
            if symbols.len() > MAX_SYMBOL_COUNT {
                return Err(format!(
                    "too many symbols: {} (exceeds limit {MAX_SYMBOL_COUNT})",
                    symbols.len()
                ));
            }
        }
        go_sort_by_value(&mut symbols);
        let elf_base_addr = phdrs
            .iter()
            .find(|p| p.p_type(endian) == elf::PT_LOAD)
            .map(|p| p.p_vaddr(endian).into())
            .unwrap_or(0);
        Ok(SymbolTable {
            symbols,
            is_pie: header.e_type(endian) == elf::ET_DYN,
            elf_base_addr,
            runtime_base_cache: HashMap::new(),
            timestamp: Some(Instant::now()),
        })
    }
}

/// Sorts by value exactly like IG's `slices.SortFunc` (Go 1.26 pdqsort, not stable): symbols at
/// the same address (aliases) end up in the same order as in IG, which decides which alias
/// `LookupByAddr` finds.
fn go_sort_by_value(symbols: &mut [Symbol]) {
    let n = symbols.len();
    let limit = (usize::BITS - n.leading_zeros()) as usize;
    let less = |a: &Symbol, b: &Symbol| a.value < b.value;
    go_pdqsort(symbols, 0, n, limit, &less);
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum SortedHint {
    Unknown,
    Increasing,
    Decreasing,
}

fn go_insertion_sort<T>(d: &mut [T], a: usize, b: usize, less: &impl Fn(&T, &T) -> bool) {
    for i in a + 1..b {
        let mut j = i;
        while j > a && less(&d[j], &d[j - 1]) {
            d.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn go_sift_down<T>(d: &mut [T], lo: usize, hi: usize, first: usize, less: &impl Fn(&T, &T) -> bool) {
    let mut root = lo;
    loop {
        let mut child = 2 * root + 1;
        if child >= hi {
            break;
        }
        if child + 1 < hi && less(&d[first + child], &d[first + child + 1]) {
            child += 1;
        }
        if !less(&d[first + root], &d[first + child]) {
            return;
        }
        d.swap(first + root, first + child);
        root = child;
    }
}

fn go_heap_sort<T>(d: &mut [T], a: usize, b: usize, less: &impl Fn(&T, &T) -> bool) {
    let first = a;
    let hi = b - a;
    let mut i = (hi as isize - 1) / 2;
    while i >= 0 {
        go_sift_down(d, i as usize, hi, first, less);
        i -= 1;
    }
    let mut i = hi as isize - 1;
    while i >= 0 {
        d.swap(first, first + i as usize);
        go_sift_down(d, 0, i as usize, first, less);
        i -= 1;
    }
}

fn go_pdqsort<T>(d: &mut [T], mut a: usize, mut b: usize, mut limit: usize, less: &impl Fn(&T, &T) -> bool) {
    const MAX_INSERTION: usize = 12;
    let mut was_balanced = true;
    let mut was_partitioned = true;
    loop {
        let length = b - a;
        if length <= MAX_INSERTION {
            go_insertion_sort(d, a, b, less);
            return;
        }
        if limit == 0 {
            go_heap_sort(d, a, b, less);
            return;
        }
        if !was_balanced {
            go_break_patterns(d, a, b);
            limit -= 1;
        }
        let (mut pivot, mut hint) = go_choose_pivot(d, a, b, less);
        if hint == SortedHint::Decreasing {
            d[a..b].reverse();
            pivot = (b - 1) - (pivot - a);
            hint = SortedHint::Increasing;
        }
        if was_balanced && was_partitioned && hint == SortedHint::Increasing && go_partial_insertion_sort(d, a, b, less) {
            return;
        }
        if a > 0 && !less(&d[a - 1], &d[pivot]) {
            a = go_partition_equal(d, a, b, pivot, less);
            continue;
        }
        let (mid, already) = go_partition(d, a, b, pivot, less);
        was_partitioned = already;
        let (left, right) = (mid - a, b - mid);
        let threshold = length / 8;
        if left < right {
            was_balanced = left >= threshold;
            go_pdqsort(d, a, mid, limit, less);
            a = mid + 1;
        } else {
            was_balanced = right >= threshold;
            go_pdqsort(d, mid + 1, b, limit, less);
            b = mid;
        }
    }
}

fn go_partition<T>(d: &mut [T], a: usize, b: usize, pivot: usize, less: &impl Fn(&T, &T) -> bool) -> (usize, bool) {
    d.swap(a, pivot);
    let (mut i, mut j) = (a as isize + 1, b as isize - 1);
    while i <= j && less(&d[i as usize], &d[a]) {
        i += 1;
    }
    while i <= j && !less(&d[j as usize], &d[a]) {
        j -= 1;
    }
    if i > j {
        d.swap(j as usize, a);
        return (j as usize, true);
    }
    d.swap(i as usize, j as usize);
    i += 1;
    j -= 1;
    loop {
        while i <= j && less(&d[i as usize], &d[a]) {
            i += 1;
        }
        while i <= j && !less(&d[j as usize], &d[a]) {
            j -= 1;
        }
        if i > j {
            break;
        }
        d.swap(i as usize, j as usize);
        i += 1;
        j -= 1;
    }
    d.swap(j as usize, a);
    (j as usize, false)
}

fn go_partition_equal<T>(d: &mut [T], a: usize, b: usize, pivot: usize, less: &impl Fn(&T, &T) -> bool) -> usize {
    d.swap(a, pivot);
    let (mut i, mut j) = (a as isize + 1, b as isize - 1);
    loop {
        while i <= j && !less(&d[a], &d[i as usize]) {
            i += 1;
        }
        while i <= j && less(&d[a], &d[j as usize]) {
            j -= 1;
        }
        if i > j {
            break;
        }
        d.swap(i as usize, j as usize);
        i += 1;
        j -= 1;
    }
    i as usize
}

fn go_partial_insertion_sort<T>(d: &mut [T], a: usize, b: usize, less: &impl Fn(&T, &T) -> bool) -> bool {
    const MAX_STEPS: usize = 5;
    const SHORTEST_SHIFTING: usize = 50;
    let mut i = a + 1;
    for _ in 0..MAX_STEPS {
        while i < b && !less(&d[i], &d[i - 1]) {
            i += 1;
        }
        if i == b {
            return true;
        }
        if b - a < SHORTEST_SHIFTING {
            return false;
        }
        d.swap(i, i - 1);
        if i - a >= 2 {
            // Go loops down to absolute index 1 (not a+1).
            let mut j = i - 1;
            while j >= 1 {
                if !less(&d[j], &d[j - 1]) {
                    break;
                }
                d.swap(j, j - 1);
                j -= 1;
            }
        }
        if b - i >= 2 {
            for j in i + 1..b {
                if !less(&d[j], &d[j - 1]) {
                    break;
                }
                d.swap(j, j - 1);
            }
        }
    }
    false
}

fn go_break_patterns<T>(d: &mut [T], a: usize, b: usize) {
    let length = b - a;
    if length >= 8 {
        let mut random = length as u64;
        let modulus = 1usize << (usize::BITS - length.leading_zeros());
        let mut idx = a + (length / 4) * 2 - 1;
        while idx <= a + (length / 4) * 2 + 1 {
            random ^= random << 13;
            random ^= random >> 7;
            random ^= random << 17;
            let mut other = (random as usize) & (modulus - 1);
            if other >= length {
                other -= length;
            }
            d.swap(idx, a + other);
            idx += 1;
        }
    }
}

fn go_choose_pivot<T>(d: &mut [T], a: usize, b: usize, less: &impl Fn(&T, &T) -> bool) -> (usize, SortedHint) {
    const SHORTEST_NINTHER: usize = 50;
    const MAX_SWAPS: usize = 4 * 3;
    let l = b - a;
    let mut swaps = 0usize;
    let mut i = a + l / 4;
    let mut j = a + l / 4 * 2;
    let mut k = a + l / 4 * 3;
    if l >= 8 {
        if l >= SHORTEST_NINTHER {
            i = go_median(d, i - 1, i, i + 1, &mut swaps, less);
            j = go_median(d, j - 1, j, j + 1, &mut swaps, less);
            k = go_median(d, k - 1, k, k + 1, &mut swaps, less);
        }
        j = go_median(d, i, j, k, &mut swaps, less);
    }
    match swaps {
        0 => (j, SortedHint::Increasing),
        MAX_SWAPS => (j, SortedHint::Decreasing),
        _ => (j, SortedHint::Unknown),
    }
}

fn go_order2<T>(d: &[T], a: usize, b: usize, swaps: &mut usize, less: &impl Fn(&T, &T) -> bool) -> (usize, usize) {
    if less(&d[b], &d[a]) {
        *swaps += 1;
        return (b, a);
    }
    (a, b)
}

fn go_median<T>(d: &[T], a: usize, b: usize, c: usize, swaps: &mut usize, less: &impl Fn(&T, &T) -> bool) -> usize {
    let (a, b) = go_order2(d, a, b, swaps, less);
    let (b, _c) = go_order2(d, b, c, swaps, less);
    let (_a, b) = go_order2(d, a, b, swaps, less);
    b
}

/// The symtab resolver (`pkg/symbolizer/symtab`), one per operator instance.
#[derive(Debug)]
pub struct SymtabResolver {
    host_pidns: u32,
    tables: HashMap<ExeKey, SymbolTable>,
    symbol_count_total: usize,
    /// When IG's prune loop started (first Resolve after which a table is cached).
    prune_started: Option<Instant>,
    /// Last prune tick already applied.
    last_tick: u64,
}

impl SymtabResolver {
    /// Host pid namespace = inode of `/proc/self/ns/pid`. IG v0.55.0 stats `/proc/1/ns/pid`
    /// (`host.HostProcFs` + `/1/ns/pid`); in this sandbox `/proc/1/ns/pid` is not stat-able and
    /// both are the same namespace on a normal host. Error: Go's `stat` text.
    pub fn new() -> Result<SymtabResolver, String> {
        const PATH: &str = "/proc/self/ns/pid";
        let md = std::fs::metadata(PATH).map_err(|e| go_path_error("stat", PATH, &e))?;
        Ok(Self::with_pidns(md.ino() as u32))
    }

    /// With an explicit host pid namespace inode.
    pub fn with_pidns(host_pidns: u32) -> SymtabResolver {
        SymtabResolver {
            host_pidns,
            tables: HashMap::new(),
            symbol_count_total: 0,
            prune_started: None,
            last_tick: 0,
        }
    }

    /// Number of cached symbol tables.
    pub fn table_count(&self) -> usize {
        self.tables.len()
    }

    /// `symtabResolverInstance.Resolve` followed by the prune-loop start check. Fills
    /// `found[i]` for the addresses it resolves; the error is IG's text (the caller prefixes
    /// `symbolizer: `).
    pub fn resolve(
        &mut self,
        task: &Task,
        addrs: &[u64],
        found: &mut [Option<String>],
        now: Instant,
    ) -> Result<(), String> {
        self.prune_due(now);
        let r = self.resolve_inner(task, addrs, found);
        if r.is_ok() && self.prune_started.is_none() && !self.tables.is_empty() {
            self.prune_started = Some(now);
        }
        r
    }

    fn resolve_inner(&mut self, task: &Task, addrs: &[u64], found: &mut [Option<String>]) -> Result<(), String> {
        let pid = task
            .pid_numbers
            .iter()
            .find(|(_, ns)| *ns == self.host_pidns)
            .map(|(pid, _)| *pid)
            .unwrap_or(0);
        if pid == 0 {
            return Err(format!("procfs for {} not found", go_quote(&task.name)));
        }
        if !self.tables.contains_key(&task.exe) {
            let table = new_symbol_table_from_pid(pid, &task.exe)
                .map_err(|e| format!("creating new symbolTable for {}: {e}", go_quote(&task.name)))?;
            if table.symbols.len() + self.symbol_count_total > MAX_SYMBOL_COUNT_TOTAL {
                return Err(format!(
                    "too many symbols in all symbol tables: {} (max: {MAX_SYMBOL_COUNT_TOTAL})",
                    table.symbols.len() + self.symbol_count_total
                ));
            }
            self.symbol_count_total += table.symbols.len();
            self.tables.insert(task.exe, table);
        }
        let table = self.tables.get_mut(&task.exe).expect("inserted above");
        resolve_with_table(task, table, pid, addrs, found)
            .map_err(|e| format!("resolving stack for {}: {e}", go_quote(&task.name)))
    }

    /// Applies the prune ticks (every minute since the loop started) that are due by `now`.
    fn prune_due(&mut self, now: Instant) {
        let Some(start) = self.prune_started else { return };
        let elapsed = now.saturating_duration_since(start);
        let tick = (elapsed.as_nanos() / PRUNE_TICK.as_nanos()) as u64;
        if tick <= self.last_tick {
            return;
        }
        self.last_tick = tick;
        // Ages only grow between ticks, so the latest due tick decides for all of them.
        let tick_time = start + PRUNE_TICK * tick as u32;
        let mut removed = 0;
        self.tables.retain(|_, t| {
            let old = match t.timestamp {
                None => true,
                Some(ts) => tick_time.saturating_duration_since(ts) > PRUNE_TTL,
            };
            if old {
                removed += t.symbols.len();
            }
            !old
        });
        self.symbol_count_total -= removed;
    }
}

/// `newSymbolTableFromPid`.
fn new_symbol_table_from_pid(pid: u32, key: &ExeKey) -> Result<SymbolTable, String> {
    let path = format!("/proc/{pid}/exe");
    let file = File::open(&path)
        .map_err(|e| format!("opening process executable: {}", go_path_error("open", &path, &e)))?;
    let md = file
        .metadata()
        .map_err(|e| format!("stat process executable: {}", go_path_error("stat", &path, &e)))?;
    if md.len() > MAX_EXECUTABLE_SIZE {
        return Err(format!("executable is too large ({} bytes)", md.len()));
    }
    let dev = md.dev();
    let actual = ExeKey {
        major: libc::major(dev),
        minor: libc::minor(dev),
        ino: md.ino(),
        mtime_sec: md.mtime(),
        mtime_nsec: md.mtime_nsec() as u32,
    };
    if actual != *key {
        let link = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Err(format!(
            "opening executable: got {} inode {}, mtime {}.{} (expected inode {}, mtime{}.{})",
            go_quote(&go_filepath_base(&link)),
            actual.ino,
            actual.mtime_sec,
            actual.mtime_nsec,
            key.ino,
            key.mtime_sec,
            key.mtime_nsec
        ));
    }
    let map = Mmap::of(&file, md.len() as usize)
        .map_err(|e| format!("parsing ELF file: {}", go_io_error(&e)))?;
    SymbolTable::from_elf(map.bytes())
}

/// Go's `filepath.Base`.
fn go_filepath_base(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_owned();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_owned()
}

/// `resolveStackItemsWithTable`.
fn resolve_with_table(
    task: &Task,
    table: &mut SymbolTable,
    pid: u32,
    addrs: &[u64],
    found: &mut [Option<String>],
) -> Result<(), String> {
    table.timestamp = Some(Instant::now());
    let base = runtime_base_addr(task, table, pid)
        .map_err(|e| format!("getting runtime base address: {e}"))?;
    for (addr, slot) in addrs.iter().zip(found.iter_mut()) {
        let a = addr.wrapping_sub(base).wrapping_add(table.elf_base_addr);
        if let Some(name) = table.lookup_by_addr(a) {
            if !name.is_empty() {
                *slot = Some(name.to_owned());
            }
        }
    }
    Ok(())
}

/// `getRuntimeBaseAddr`: the start of the first `r--p`/`r-xp` mapping of `/proc/<pid>/maps`
/// whose path starts with `/`, cached per (tgid, base_addr_hash).
fn runtime_base_addr(task: &Task, table: &mut SymbolTable, pid: u32) -> Result<u64, String> {
    let key = (task.tgid, task.base_addr_hash);
    if let Some(&base) = table.runtime_base_cache.get(&key) {
        if base != 0 {
            return Ok(base);
        }
    }
    let path = format!("/proc/{pid}/maps");
    let file = File::open(&path)
        .map_err(|e| format!("opening maps file: {}", go_path_error("open", &path, &e)))?;
    let mut reader = BufReader::new(file);
    let mut raw = Vec::new();
    loop {
        raw.clear();
        let n = reader
            .read_until(b'\n', &mut raw)
            .map_err(|e| format!("reading maps file: {}", go_io_error(&e)))?;
        if n == 0 {
            break;
        }
        let line = String::from_utf8_lossy(&raw);
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() <= 5 {
            continue;
        }
        if parts[1] != "r--p" && parts[1] != "r-xp" {
            continue;
        }
        if !parts[5].starts_with('/') {
            continue;
        }
        let start = parts[0].split('-').next().unwrap_or("").trim();
        let Ok(base) = parse_go_hex_u64(start) else { continue };
        table.runtime_base_cache.insert(key, base);
        return Ok(base);
    }
    Err("main executable not found in maps".to_owned())
}

/// A read-only private mapping of a whole file.
struct Mmap {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mmap {
    fn of(file: &File, len: usize) -> io::Result<Mmap> {
        if len == 0 {
            return Ok(Mmap { ptr: std::ptr::null_mut(), len: 0 });
        }
        // SAFETY: a fresh read-only private mapping of `len` bytes of an open file.
        let ptr = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE, file.as_raw_fd(), 0)
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Mmap { ptr, len })
    }

    fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: the mapping is `len` readable bytes and lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for Mmap {
    fn drop(&mut self) {
        if self.len != 0 {
            // SAFETY: unmapping what `of` mapped.
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }
}

// =============================================================================================
// Tests
// =============================================================================================

#[cfg(test)]
mod tests {
    use super::*;

    #[no_mangle]
    #[inline(never)]
    pub extern "C" fn gadgetrt_stacks_test_marker_fn(x: u64) -> u64 {
        std::hint::black_box(x).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x1234
    }

    #[test]
    fn kallsyms_parse_and_lookup() {
        let listing = "0000000000001000 T first\n\
                       0000000000002000 t second\t[mod]\n\
                       0000000000003000 T third\n";
        let k = KernelSymbols::parse(listing.as_bytes()).unwrap();
        assert_eq!(k.len(), 3);
        assert_eq!(k.lookup(0xfff), "[unknown]");
        assert_eq!(k.lookup(0x1000), "first");
        assert_eq!(k.lookup(0x2fff), "second");
        assert_eq!(k.lookup(u64::MAX), "third");
        let mut out = String::new();
        k.symbolize_stack(&[0x1001, 0x2001, 0, 0x3001], &mut out);
        assert_eq!(out, "first; second; ");
        assert_eq!(KernelSymbols::default().lookup(5), "[unknown]");
        let err = KernelSymbols::parse("1000 T a\n\n".as_bytes()).unwrap_err();
        assert_eq!(err, "line \"\" has less than 3 fields");
        let err = KernelSymbols::parse("zz T a\n".as_bytes()).unwrap_err();
        assert_eq!(err, "strconv.ParseUint: parsing \"zz\": invalid syntax");
    }

    /// Live: every kallsyms function address (when addresses are visible) resolves to a name
    /// listed at that address.
    #[test]
    fn host_kallsyms_symbolize() {
        let k = match KernelSymbols::load() {
            Ok(k) => k,
            Err(e) => {
                eprintln!("skipping: {e}");
                return;
            }
        };
        assert!(!k.is_empty());
        let text = std::fs::read_to_string("/proc/kallsyms").unwrap();
        let entries: Vec<(u64, &str)> = text
            .lines()
            .filter_map(|l| {
                let mut f = l.split_whitespace();
                let a = u64::from_str_radix(f.next()?, 16).ok()?;
                let _ = f.next()?;
                Some((a, f.next()?))
            })
            .collect();
        if entries.iter().all(|(a, _)| *a == 0) {
            eprintln!("kptr_restrict hides addresses; all lookups give the last symbol");
            assert_eq!(k.lookup(0x1234), entries.last().unwrap().1);
            return;
        }
        let vfs_read = entries.iter().find(|(_, n)| *n == "vfs_read").unwrap().0;
        let mut out = String::new();
        k.symbolize_stack(&[vfs_read + 1, vfs_read, 0], &mut out);
        // vfs_read may share its address with an alias listed before it; IG takes the last one.
        let same: Vec<&str> = entries.iter().filter(|(a, _)| *a == vfs_read).map(|(_, n)| *n).collect();
        let expected = k.lookup(vfs_read).to_owned();
        assert!(same.contains(&expected.as_str()), "{expected} not at {vfs_read:x}");
        assert_eq!(out, format!("{expected}; {expected}; "));
        assert_eq!(k.lookup(0), if entries[0].0 == 0 { entries[0].1 } else { "[unknown]" });
    }

    #[test]
    fn quote_and_errno() {
        assert_eq!(go_quote("a\"b\tc"), "\"a\\\"b\\tc\"");
        assert_eq!(go_errno_string(2), "no such file or directory");
        assert_eq!(go_errno_string(999), "errno 999");
        assert_eq!(go_filepath_base("/usr/bin/cat"), "cat");
        assert_eq!(go_filepath_base(""), ".");
    }

    #[test]
    fn symbolizers_param() {
        assert!(Symbolizers::parse("auto").unwrap().symtab);
        assert!(!Symbolizers::parse("none").unwrap().enabled());
        assert!(!Symbolizers::parse("debuginfod-cache-on-ig-server").unwrap().enabled());
        assert_eq!(Symbolizers::parse("symtab,foo").unwrap_err(), "invalid symbolizer: foo");
    }

    /// Order of `go_sort_by_value` equals Go 1.26 `slices.SortFunc` (hashes from a Go program
    /// running the same generator), including the order of equal values.
    #[test]
    fn go_sort_matches_go() {
        const EXPECTED: &[(usize, u64, u64)] = &[
            (5, 3, 0x9c1a1ac873d59525),
            (5, 50, 0x3378e3d0c52edfaf),
            (5, 1099511627776, 0xd41f2cf309b2b865),
            (13, 3, 0xaa64b9d27ac1e051),
            (13, 50, 0xcf3bae83141ffac5),
            (13, 1099511627776, 0xb85827e547e25ee1),
            (49, 3, 0xec49a097cb17a933),
            (49, 50, 0x49ee58d802aa4f1f),
            (49, 1099511627776, 0x187f0395be2a6a75),
            (60, 3, 0x224d12175483c0a1),
            (60, 50, 0x9731ee07bba91495),
            (60, 1099511627776, 0xf347e84338d204d7),
            (200, 3, 0x2fc8b5646882e76f),
            (200, 50, 0x3a2922d33c086e3f),
            (200, 1099511627776, 0x7361fb31587ffced),
            (1000, 3, 0x10df41887773f837),
            (1000, 50, 0x41e4cca8ecd1377d),
            (1000, 1099511627776, 0x5583d103c7f410a9),
            (5000, 3, 0xd09a6070e16a541d),
            (5000, 50, 0xb0695c48ada0851f),
            (5000, 1099511627776, 0x29b8c49db78a789b),
        ];
        for &(n, m, want) in EXPECTED {
            let mut x = (n as u64).wrapping_mul(7919).wrapping_add(m);
            let mut syms: Vec<Symbol> = (0..n)
                .map(|i| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let v = if m == 50 { (i / 3) as u64 } else { (x >> 33) % m };
                    Symbol { name: i.to_string(), value: v, size: 1 }
                })
                .collect();
            if m == 50 {
                syms[n / 2].value = 0;
            }
            go_sort_by_value(&mut syms);
            let mut h: u64 = 14695981039346656037;
            for s in &syms {
                h ^= s.name.parse::<u64>().unwrap();
                h = h.wrapping_mul(1099511628211);
            }
            assert_eq!(h, want, "n={n} m={m}");
        }
    }

    /// Debug aid: `ELF_CHECK=<path> cargo test elf_check -- --ignored --nocapture` prints
    /// count, FNV of the names in order, first PT_LOAD vaddr, PIE (compare with Go's debug/elf).
    #[test]
    #[ignore]
    fn elf_check() {
        let path = std::env::var("ELF_CHECK").unwrap();
        let data = std::fs::read(path).unwrap();
        let t = SymbolTable::from_elf(&data).unwrap();
        let mut h: u64 = 14695981039346656037;
        for s in &t.symbols {
            for c in s.name.bytes() {
                h ^= c as u64;
                h = h.wrapping_mul(1099511628211);
            }
        }
        println!("{} 0x{:x} 0x{:x} {}", t.symbols.len(), h, t.elf_base_addr, t.is_pie);
    }

    fn self_exe_key() -> ExeKey {
        let md = std::fs::metadata("/proc/self/exe").unwrap();
        ExeKey {
            major: libc::major(md.dev()),
            minor: libc::minor(md.dev()),
            ino: md.ino(),
            mtime_sec: md.mtime(),
            mtime_nsec: md.mtime_nsec() as u32,
        }
    }

    fn self_pidns() -> u32 {
        std::fs::metadata("/proc/self/ns/pid").unwrap().ino() as u32
    }

    #[test]
    fn symtab_symbolizes_own_function() {
        let addr = gadgetrt_stacks_test_marker_fn as *const () as usize as u64;
        let pid = std::process::id();
        let task = Task {
            name: "/stacks-test".into(),
            tgid: pid,
            pid_numbers: vec![(pid, self_pidns())],
            exe: self_exe_key(),
            base_addr_hash: 0xabcd,
        };
        let mut r = SymtabResolver::new().unwrap();
        let bogus = 8u64; // below any mapping: not found
        let mut found = vec![None; 3];
        r.resolve(&task, &[addr, addr + 3, bogus], &mut found, Instant::now()).unwrap();
        assert_eq!(found[0].as_deref(), Some("gadgetrt_stacks_test_marker_fn"));
        assert_eq!(found[1].as_deref(), Some("gadgetrt_stacks_test_marker_fn"));
        assert_eq!(found[2], None);
        assert_eq!(r.table_count(), 1);

        // Mismatched mtime: IG's message, nothing resolved.
        let mut bad = task.clone();
        bad.exe.mtime_nsec = bad.exe.mtime_nsec.wrapping_add(1);
        let mut found = vec![None; 1];
        let err = r.resolve(&bad, &[addr], &mut found, Instant::now()).unwrap_err();
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        let base = exe.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            err,
            format!(
                "creating new symbolTable for \"/stacks-test\": opening executable: got \"{base}\" inode {}, mtime {}.{} (expected inode {}, mtime{}.{})",
                task.exe.ino, task.exe.mtime_sec, task.exe.mtime_nsec, bad.exe.ino, bad.exe.mtime_sec, bad.exe.mtime_nsec
            )
        );

        // Pid namespace not ours.
        let mut other = task.clone();
        other.pid_numbers = vec![(pid, 1)];
        let err = r.resolve(&other, &[addr], &mut found, Instant::now()).unwrap_err();
        assert_eq!(err, "procfs for \"/stacks-test\" not found");

        // Pruning: a table unused for > 1 min is gone at the next minute tick.
        let later = Instant::now() + Duration::from_secs(125);
        r.prune_due(later);
        assert_eq!(r.table_count(), 0);
        assert_eq!(r.symbol_count_total, 0);
    }

    const STACK_TRACE: u32 = 7;

    fn make_map(map_type: u32, value_size: u32, max_entries: u32, name: &str) -> Option<RawMap> {
        match RawMap::create(map_type, 4, value_size, max_entries, name) {
            Ok(m) => Some(m),
            Err(e) => {
                eprintln!("skipping: cannot create map: {e}");
                None
            }
        }
    }

    #[test]
    fn kernel_stack_lost_and_found() {
        let Some(stack_map) = make_map(STACK_TRACE, 127 * 8, 16, "ig_kstack") else { return };
        let k = KernelSymbols::parse("0000000000001000 T a\n0000000000002000 T b\n".as_bytes()).unwrap();
        let mut w = Vec::new();
        assert_eq!(kernel_stack_string(&stack_map, &k, 3, &mut w), "");
        assert_eq!(w, ["stack with ID 3 is lost: lookup: key does not exist"]);

        // A hash map of the same shape stands in for a filled stack map.
        let Some(hash) = make_map(1, 127 * 8, 16, "fake_kstack") else { return };
        let mut v = vec![0u8; 127 * 8];
        for (i, a) in [0x1001u64, 0x2002, 0x500, 0, 0x1000].iter().enumerate() {
            v[i * 8..i * 8 + 8].copy_from_slice(&a.to_ne_bytes());
        }
        hash.update(&7u32.to_ne_bytes(), &v, 0).unwrap();
        let mut w = Vec::new();
        assert_eq!(kernel_stack_string(&hash, &k, 7, &mut w), "a; b; [unknown]; ");
        assert!(w.is_empty());
    }

    #[test]
    fn user_stack_end_to_end() {
        let Some(ustack) = make_map(1, 127 * 8, 16, "ig_ustack") else { return };
        let Some(build_ids) = make_map(1, 127 * 32, 16, "ig_build_id") else { return };
        let addr = gadgetrt_stacks_test_marker_fn as *const () as usize as u64 + 1;
        let lib_addr = 0x7f00_0000_1234u64;
        let mut v = vec![0u8; 127 * 8];
        v[0..8].copy_from_slice(&addr.to_ne_bytes());
        v[8..16].copy_from_slice(&lib_addr.to_ne_bytes());
        ustack.update(&5u32.to_ne_bytes(), &v, 0).unwrap();
        let mut b = vec![0u8; 127 * 32];
        b[0..4].copy_from_slice(&1i32.to_ne_bytes());
        for (i, x) in b[4..24].iter_mut().enumerate() {
            *x = 0x90 + i as u8;
        }
        b[24..32].copy_from_slice(&0xf8011u64.to_ne_bytes());
        b[32..36].copy_from_slice(&2i32.to_ne_bytes());
        b[56..64].copy_from_slice(&0x4853_0065_6d61_6e74u64.to_ne_bytes());
        build_ids.update(&5u32.to_ne_bytes(), &b, 0).unwrap();

        let key = self_exe_key();
        let pid = std::process::id();
        let stack = UserStack {
            tgid_level0: pid,
            pid_level0: pid,
            pidns_level0: self_pidns(),
            stack_id: 5,
            major: key.major,
            minor: key.minor,
            inode: key.ino,
            mtime_sec: key.mtime_sec,
            mtime_nsec: key.mtime_nsec,
            base_addr_hash: 42,
            ..Default::default()
        };
        let mut r = UserStackResolver::new(Symbolizers::parse("auto").unwrap()).unwrap();
        let mut w = Vec::new();
        let s = r.resolve(&stack, "", "test", &ustack, Some(&build_ids), &mut w);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s.addresses, format!("0x{addr:016x}; 0x{lib_addr:016x}; "));
        assert_eq!(
            s.buildid,
            "909192939495969798999a9b9c9d9e9fa0a1a2a3 +f8011; 485300656d616e74; "
        );
        assert_eq!(s.symbols, format!("gadgetrt_stacks_test_marker_fn; 0x{lib_addr:x}; "));

        // Lost stack: warning, empty strings, no symbolizer warning.
        let mut lost = stack;
        lost.stack_id = 9;
        let mut w = Vec::new();
        let s = r.resolve(&lost, "", "test", &ustack, Some(&build_ids), &mut w);
        assert_eq!(s, UserStackStrings::default());
        assert_eq!(w, ["stack with ID 9 is lost: lookup: key does not exist"]);

        // Stacks off.
        let mut w = Vec::new();
        let s = r.resolve(&UserStack::default(), "", "", &ustack, None, &mut w);
        assert_eq!(s, UserStackStrings::default());
        assert!(w.is_empty());

        // Exe mismatch: addresses kept, symbols empty, one warning.
        let mut bad = stack;
        bad.inode += 1;
        let mut w = Vec::new();
        let s = r.resolve(&bad, "c", "test", &ustack, None, &mut w);
        assert!(s.symbols.is_empty() && !s.addresses.is_empty() && s.buildid.is_empty());
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("symbolizer: creating new symbolTable for \"c/test\": opening executable: got "), "{}", w[0]);

        // Wrong build id map value size: warned once, then ignored.
        let Some(small) = make_map(1, 8, 4, "ig_build_id") else { return };
        let mut r = UserStackResolver::new(Symbolizers::parse("none").unwrap()).unwrap();
        let mut w = Vec::new();
        let s = r.resolve(&stack, "", "", &ustack, Some(&small), &mut w);
        let s2 = r.resolve(&stack, "", "", &ustack, Some(&small), &mut w);
        assert_eq!(w, ["build id map has unexpected value size 8 instead of 4064"]);
        assert!(s.symbols.is_empty() && s.buildid.is_empty() && !s.addresses.is_empty());
        assert_eq!(s, s2);
    }
}
