//! System call names, numbers and declarations for the `getSyscallName`, `getSyscallID` and
//! `getSyscallDeclaration` host imports (wasm ABI §1.9, record layout §4.4).
//!
//! * Names and numbers come from a static table for the host architecture (`x86_64` or arm64),
//!   selected at compile time. Other architectures get an empty table, so every number maps to
//!   its strace-style `syscall_<hex>` name and no name resolves.
//! * Declarations (parameter names and whether each one is a pointer) come from the tracefs
//!   `sys_enter_*` event formats. Unlike the reference host, which re-parses tracefs on every
//!   call and only looks under `/sys/kernel/debug/tracing`, they are parsed once per process and
//!   cached, trying `/sys/kernel/tracing` first (decision D9).

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::OnceLock;

// Each table is compiled for its own architecture, and both are compiled for tests so that they
// are checked whatever the host architecture.
#[cfg(any(test, target_arch = "x86_64"))]
#[path = "syscalls_x86_64.rs"]
mod x86_64_table;

#[cfg(any(test, target_arch = "aarch64"))]
#[path = "syscalls_aarch64.rs"]
mod aarch64_table;

#[cfg(target_arch = "x86_64")]
use x86_64_table as table;

#[cfg(target_arch = "aarch64")]
use aarch64_table as table;

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod table {
    /// No syscall table for this architecture.
    pub(crate) static SYSCALLS: &[(u16, &str)] = &[];
}

/// Size in bytes of the encoded syscall declaration record (§4.4).
pub const DECLARATION_RECORD_SIZE: usize = 252;
/// Maximum number of parameters carried by a declaration record.
pub const MAX_SYSCALL_PARAMS: usize = 6;
/// Size of a (NUL-padded, possibly unterminated) name field in the record.
const RECORD_NAME_LEN: usize = 32;
/// Offset of the first parameter slot in the record.
const RECORD_PARAMS_OFFSET: usize = 36;
/// Size of one parameter slot: name followed by a u32 flags word.
const RECORD_PARAM_SIZE: usize = RECORD_NAME_LEN + 4;
/// Parameter flag: the parameter's type is a pointer (§3.9).
pub const PARAM_FLAG_IS_POINTER: u32 = 1;

/// tracefs event directories holding the `sys_enter_*` events, in lookup order.
const SYSCALL_EVENT_DIRS: [&str; 2] = [
    "/sys/kernel/tracing/events/syscalls",
    "/sys/kernel/debug/tracing/events/syscalls",
];

/// Event names whose syscall is known under a different name in the syscall tables.
const EVENT_NAME_ALIASES: [(&str, &str); 7] = [
    ("newfstat", "fstat"),
    ("newlstat", "lstat"),
    ("newstat", "stat"),
    ("newuname", "uname"),
    ("sendfile64", "sendfile"),
    ("sysctl", "_sysctl"),
    ("umount", "umount2"),
];

/// Returns the name of syscall `id` on the host architecture.
///
/// Unknown numbers yield the strace-style `syscall_<lowercase hex>`, e.g. 1337 → `syscall_539`.
#[must_use]
pub fn syscall_name(id: u16) -> String {
    match table::SYSCALLS.binary_search_by_key(&id, |&(nr, _)| nr) {
        Ok(idx) => table::SYSCALLS[idx].1.to_owned(),
        Err(_) => format!("syscall_{id:x}"),
    }
}

/// The name of syscall `id` on the host architecture, `None` when the table has none.
#[must_use]
pub fn known_syscall_name(id: u64) -> Option<&'static str> {
    let id = u16::try_from(id).ok()?;
    table::SYSCALLS.binary_search_by_key(&id, |&(nr, _)| nr).ok().map(|i| table::SYSCALLS[i].1)
}

/// Returns the number of the syscall called exactly `name` (case-sensitive) on the host
/// architecture, or `None` if there is no such syscall.
#[must_use]
pub fn syscall_id(name: &str) -> Option<i32> {
    table::SYSCALLS
        .iter()
        .find(|&&(_, n)| n == name)
        .map(|&(nr, _)| i32::from(nr))
}

/// The declaration of one syscall, as described by its tracefs `sys_enter_*` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallDecl {
    /// Syscall name as used in the syscall tables (event aliases already applied).
    pub name: String,
    /// Parameters in declaration order (`__syscall_nr` excluded).
    pub params: Vec<SyscallParam>,
}

/// One syscall parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyscallParam {
    /// Parameter name as written in the kernel's `SYSCALL_DEFINE`.
    pub name: String,
    /// Whether the parameter's type is a pointer (its type text contains `*`).
    pub is_pointer: bool,
}

/// All syscall declarations found in tracefs, parsed once.
#[derive(Debug, Default)]
pub struct SyscallDeclarations {
    decls: HashMap<String, SyscallDecl>,
    error: Option<String>,
}

impl SyscallDeclarations {
    /// Reads every `sys_enter_*/format` file from the first readable tracefs syscall event
    /// directory (`/sys/kernel/tracing`, then `/sys/kernel/debug/tracing`).
    ///
    /// Never fails: when no directory can be read the result is empty and [`error`](Self::error)
    /// says why.
    #[must_use]
    pub fn load() -> SyscallDeclarations {
        let mut failures = Vec::with_capacity(SYSCALL_EVENT_DIRS.len());
        for dir in SYSCALL_EVENT_DIRS {
            match Self::load_from(Path::new(dir)) {
                Ok(decls) => return decls,
                Err(err) => failures.push(format!("{dir}: {err}")),
            }
        }
        SyscallDeclarations {
            decls: HashMap::new(),
            error: Some(format!(
                "cannot read syscall trace events ({})",
                failures.join("; ")
            )),
        }
    }

    /// Parses the `sys_enter_*` events found in `dir` (a tracefs `events/syscalls` directory).
    ///
    /// An event whose `format` file cannot be read is skipped.
    ///
    /// # Errors
    ///
    /// Fails if `dir` cannot be listed.
    pub fn load_from(dir: &Path) -> io::Result<SyscallDeclarations> {
        let mut decls = HashMap::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let file_name = entry.file_name();
            let Some(event) = file_name
                .to_str()
                .and_then(|n| n.strip_prefix("sys_enter_"))
            else {
                continue;
            };
            let Ok(format) = fs::read_to_string(entry.path().join("format")) else {
                continue;
            };
            let name = canonical_syscall_name(event).to_owned();
            let params = parse_format_params(&format);
            decls.insert(name.clone(), SyscallDecl { name, params });
        }
        Ok(SyscallDeclarations { decls, error: None })
    }

    /// The process-wide declarations, loaded from tracefs on first use.
    #[must_use]
    pub fn global() -> &'static SyscallDeclarations {
        static GLOBAL: OnceLock<SyscallDeclarations> = OnceLock::new();
        GLOBAL.get_or_init(SyscallDeclarations::load)
    }

    /// The declaration of the syscall called exactly `name`, if tracefs described it.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&SyscallDecl> {
        self.decls.get(name)
    }

    /// Why tracefs could not be read, if it could not.
    #[must_use]
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Number of syscalls with a declaration.
    #[must_use]
    pub fn len(&self) -> usize {
        self.decls.len()
    }

    /// Whether no declaration was found.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.decls.is_empty()
    }
}

/// Maps a tracefs event name (without `sys_enter_`) to the syscall table name.
fn canonical_syscall_name(event: &str) -> &str {
    EVENT_NAME_ALIASES
        .iter()
        .find(|&&(from, _)| from == event)
        .map_or(event, |&(_, to)| to)
}

/// Extracts the parameters from the text of a tracefs event `format` file.
///
/// The parameters are the `field:` lines after the first blank line (the ones before it are the
/// common event header), minus `__syscall_nr`. A line reads e.g.
/// `field:const char * filename;` followed by tab-separated `offset:`, `size:` and `signed:`
/// attributes: the declaration runs up to the first `;`, its last word is the name and the
/// parameter is a pointer if the declaration contains `*`.
fn parse_format_params(format: &str) -> Vec<SyscallParam> {
    format
        .lines()
        .skip_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.trim_start().strip_prefix("field:"))
        .filter_map(|field| {
            let decl = field.split(';').next().unwrap_or(field).trim();
            let last = decl.rsplit(|c: char| c.is_whitespace()).next()?;
            // Tolerate `type *name` and `type name[N]` spellings.
            let name = last.trim_start_matches('*');
            let name = name.split('[').next().unwrap_or(name);
            if name.is_empty() || name == "__syscall_nr" {
                return None;
            }
            Some(SyscallParam {
                name: name.to_owned(),
                is_pointer: decl.contains('*'),
            })
        })
        .collect()
}

/// Copies `src` into a record name field: truncated to the field, NUL-padded if shorter.
fn put_name(field: &mut [u8], src: &str) {
    let len = src.len().min(field.len());
    field[..len].copy_from_slice(&src.as_bytes()[..len]);
}

/// Encodes `d` as the 252-byte little-endian declaration record of §4.4.
///
/// Layout: name (32 bytes) at 0, parameter count (u8) at 32, 3 zero bytes, then six 36-byte
/// parameter slots at 36, each a 32-byte name and a u32 flags word (bit 0 = pointer). Names are
/// truncated to 32 bytes and NUL-padded when shorter. Only the first six parameters are kept;
/// unused slots are zero.
#[must_use]
pub fn encode_declaration(d: &SyscallDecl) -> [u8; DECLARATION_RECORD_SIZE] {
    let mut rec = [0u8; DECLARATION_RECORD_SIZE];
    put_name(&mut rec[..RECORD_NAME_LEN], &d.name);
    let params = &d.params[..d.params.len().min(MAX_SYSCALL_PARAMS)];
    // At most MAX_SYSCALL_PARAMS (6): always fits.
    rec[RECORD_NAME_LEN] = u8::try_from(params.len()).unwrap_or(u8::MAX);
    for (i, param) in params.iter().enumerate() {
        let slot = RECORD_PARAMS_OFFSET + i * RECORD_PARAM_SIZE;
        put_name(&mut rec[slot..slot + RECORD_NAME_LEN], &param.name);
        let flags = if param.is_pointer {
            PARAM_FLAG_IS_POINTER
        } else {
            0
        };
        rec[slot + RECORD_NAME_LEN..slot + RECORD_PARAM_SIZE].copy_from_slice(&flags.to_le_bytes());
    }
    rec
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    const EXECVE_FORMAT: &str = "name: sys_enter_execve
ID: 862
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:int __syscall_nr;\toffset:8;\tsize:4;\tsigned:1;
\tfield:const char * filename;\toffset:16;\tsize:8;\tsigned:0;
\tfield:const char *const * argv;\toffset:24;\tsize:8;\tsigned:0;
\tfield:const char *const * envp;\toffset:32;\tsize:8;\tsigned:0;

print fmt: \"filename: 0x%08lx, argv: 0x%08lx, envp: 0x%08lx\", ((unsigned long)(REC->filename)), ((unsigned long)(REC->argv)), ((unsigned long)(REC->envp))
";

    fn param(name: &str, is_pointer: bool) -> SyscallParam {
        SyscallParam {
            name: name.to_owned(),
            is_pointer,
        }
    }

    fn execve_decl() -> SyscallDecl {
        SyscallDecl {
            name: "execve".to_owned(),
            params: vec![
                param("filename", true),
                param("argv", true),
                param("envp", true),
            ],
        }
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn names_x86_64() {
        assert_eq!(syscall_name(0), "read");
        assert_eq!(syscall_name(59), "execve");
        assert_eq!(syscall_name(257), "openat");
        assert_eq!(syscall_name(262), "newfstatat");
        assert_eq!(syscall_name(428), "open_tree");
        assert_eq!(syscall_name(435), "clone3");
        assert_eq!(syscall_name(462), "mseal");
        assert_eq!(syscall_id("execve"), Some(59));
        assert_eq!(syscall_id("openat"), Some(257));
        assert_eq!(syscall_id("open_tree"), Some(428));
        assert_eq!(syscall_id("futex_waitv"), Some(449));
        assert_eq!(syscall_id("lsm_list_modules"), Some(461));
        assert_eq!(syscall_id("_sysctl"), Some(156));
        assert_eq!(syscall_id("umount2"), Some(166));
    }

    #[test]
    #[cfg(target_arch = "aarch64")]
    fn names_aarch64() {
        assert_eq!(syscall_name(221), "execve");
        assert_eq!(syscall_name(56), "openat");
        assert_eq!(syscall_name(79), "newfstatat");
        assert_eq!(syscall_name(428), "open_tree");
        assert_eq!(syscall_id("execve"), Some(221));
        assert_eq!(syscall_id("open"), None);
    }

    #[test]
    fn unknown_numbers_and_names() {
        assert_eq!(syscall_name(1337), "syscall_539");
        assert_eq!(syscall_name(u16::MAX), "syscall_ffff");
        assert_eq!(syscall_name(400), "syscall_190");
        assert_eq!(syscall_id("EXECVE"), None);
        assert_eq!(syscall_id("execve "), None);
        assert_eq!(syscall_id(""), None);
        assert_eq!(syscall_id("syscall_539"), None);
    }

    #[test]
    fn table_is_sorted_unique_and_round_trips() {
        let table = table::SYSCALLS;
        check_table(table);
        for &(nr, name) in table {
            assert_eq!(syscall_name(nr), name);
            assert_eq!(syscall_id(name), Some(i32::from(nr)));
        }
        // The newest syscalls are present on both architectures with the same numbers.
        for (nr, name) in [
            (435, "clone3"),
            (437, "openat2"),
            (452, "fchmodat2"),
            (462, "mseal"),
        ] {
            assert_eq!(syscall_id(name), Some(nr));
        }
    }

    #[test]
    fn encode_execve_layout() {
        let rec = encode_declaration(&execve_decl());
        let mut expected = [0u8; 252];
        expected[..6].copy_from_slice(b"execve");
        expected[32] = 3;
        for (i, name) in ["filename", "argv", "envp"].iter().enumerate() {
            let slot = 36 + 36 * i;
            expected[slot..slot + name.len()].copy_from_slice(name.as_bytes());
            expected[slot + 32..slot + 36].copy_from_slice(&[1, 0, 0, 0]);
        }
        assert_eq!(rec, expected);
        // Spot checks against the table of §4.4.
        assert_eq!(&rec[36..44], b"filename");
        assert_eq!(rec[44..68], [0u8; 24]);
        assert_eq!(rec[68..72], [1, 0, 0, 0]);
        assert_eq!(&rec[72..76], b"argv");
        assert_eq!(rec[104..108], [1, 0, 0, 0]);
        assert_eq!(&rec[108..112], b"envp");
        assert_eq!(rec[140..144], [1, 0, 0, 0]);
        assert!(rec[144..].iter().all(|&b| b == 0));
    }

    #[test]
    fn encode_truncates_names_and_caps_params() {
        let long = "a".repeat(40);
        let d = SyscallDecl {
            name: long.clone(),
            params: (0..8)
                .map(|i| param(&format!("p{i}_{long}"), i % 2 == 1))
                .collect(),
        };
        let rec = encode_declaration(&d);
        assert_eq!(&rec[..32], &long.as_bytes()[..32]);
        assert_eq!(rec[32], 6);
        assert_eq!(rec[33..36], [0, 0, 0]);
        for i in 0..6 {
            let slot = 36 + 36 * i;
            assert_eq!(&rec[slot..slot + 32], &d.params[i].name.as_bytes()[..32]);
            let flags = u32::from_le_bytes(rec[slot + 32..slot + 36].try_into().unwrap());
            assert_eq!(flags, u32::from(i % 2 == 1));
        }

        // A name of exactly 32 bytes fills the field without terminator.
        let exact = "b".repeat(32);
        let rec = encode_declaration(&SyscallDecl {
            name: exact.clone(),
            params: vec![],
        });
        assert_eq!(&rec[..32], exact.as_bytes());
        assert!(rec[32..].iter().all(|&b| b == 0));
    }

    #[test]
    fn parse_execve_format() {
        assert_eq!(parse_format_params(EXECVE_FORMAT), execve_decl().params,);
    }

    #[test]
    fn parse_format_variants() {
        let format = "name: sys_enter_x\nformat:\n\tfield:int common_pid;\toffset:4;\n\n\
                      \tfield:int __syscall_nr;\toffset:8;\n\
                      \tfield:unsigned int fd;\toffset:16;\n\
                      \tfield:struct stat *statbuf;\toffset:24;\n\
                      \tfield:char comm[16];\toffset:32;\n\n\
                      print fmt: \"fd: 0x%08lx\"\n";
        assert_eq!(
            parse_format_params(format),
            vec![
                param("fd", false),
                param("statbuf", true),
                param("comm", false)
            ],
        );
        // No blank line: no parameters (the header fields are never parameters).
        assert!(parse_format_params("format:\n\tfield:int common_pid;\n").is_empty());
        assert!(parse_format_params("").is_empty());
    }

    #[test]
    fn load_from_fixture_dir() {
        let dir =
            std::env::temp_dir().join(format!("gadgetrt-syscalls-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let write_event = |event: &str, format: &str| {
            let event_dir = dir.join(event);
            fs::create_dir_all(&event_dir).unwrap();
            fs::write(event_dir.join("format"), format).unwrap();
        };
        write_event("sys_enter_execve", EXECVE_FORMAT);
        write_event("sys_exit_execve", "format:\n\n\tfield:long ret;\n");
        write_event(
            "sys_enter_newfstat",
            "format:\n\tfield:int common_pid;\n\n\tfield:int __syscall_nr;\n\
             \tfield:unsigned int fd;\n\tfield:struct stat * statbuf;\n",
        );
        write_event(
            "sys_enter_umount",
            "format:\n\n\tfield:char * name;\n\tfield:int flags;\n",
        );
        fs::create_dir_all(dir.join("sys_enter_broken")).unwrap(); // no format file: skipped
        fs::write(dir.join("enable"), "0\n").unwrap();

        let decls = SyscallDeclarations::load_from(&dir).unwrap();
        fs::remove_dir_all(&dir).unwrap();

        assert_eq!(decls.error(), None);
        assert_eq!(decls.len(), 3);
        assert_eq!(decls.get("execve"), Some(&execve_decl()));
        let fstat = decls.get("fstat").unwrap();
        assert_eq!(fstat.name, "fstat");
        assert_eq!(
            fstat.params,
            vec![param("fd", false), param("statbuf", true)]
        );
        assert!(decls.get("newfstat").is_none());
        assert_eq!(decls.get("umount2").unwrap().params.len(), 2);
        assert!(decls.get("broken").is_none());

        assert!(SyscallDeclarations::load_from(&dir).is_err());
    }

    #[test]
    fn canonical_names() {
        assert_eq!(canonical_syscall_name("newfstat"), "fstat");
        assert_eq!(canonical_syscall_name("newlstat"), "lstat");
        assert_eq!(canonical_syscall_name("newstat"), "stat");
        assert_eq!(canonical_syscall_name("newuname"), "uname");
        assert_eq!(canonical_syscall_name("sendfile64"), "sendfile");
        assert_eq!(canonical_syscall_name("sysctl"), "_sysctl");
        assert_eq!(canonical_syscall_name("umount"), "umount2");
        assert_eq!(canonical_syscall_name("openat"), "openat");
    }

    /// Checks one arch table: strictly sorted numbers, unique names, sane spellings.
    fn check_table(table: &[(u16, &str)]) {
        assert!(table.len() > 300, "table too small: {}", table.len());
        assert!(
            table.windows(2).all(|w| w[0].0 < w[1].0),
            "not sorted by number"
        );
        let names: HashSet<&str> = table.iter().map(|&(_, n)| n).collect();
        assert_eq!(names.len(), table.len(), "duplicate names");
        assert!(table.iter().all(|&(_, n)| !n.is_empty()
            && n.len() < 32
            && n.bytes()
                .all(|b| b == b'_' || b.is_ascii_lowercase() || b.is_ascii_digit())));
    }

    fn lookup(table: &[(u16, &str)], name: &str) -> Option<u16> {
        table.iter().find(|&&(_, n)| n == name).map(|&(nr, _)| nr)
    }

    #[test]
    fn both_arch_tables() {
        let x86 = x86_64_table::SYSCALLS;
        let arm = aarch64_table::SYSCALLS;
        check_table(x86);
        check_table(arm);

        for (name, x86_nr, arm_nr) in [
            ("read", Some(0), Some(63)),
            ("write", Some(1), Some(64)),
            ("open", Some(2), None),
            ("close", Some(3), Some(57)),
            ("fstat", Some(5), Some(80)),
            ("stat", Some(4), None),
            ("mmap", Some(9), Some(222)),
            ("ioctl", Some(16), Some(29)),
            ("sendfile", Some(40), Some(71)),
            ("socket", Some(41), Some(198)),
            ("connect", Some(42), Some(203)),
            ("accept", Some(43), Some(202)),
            ("clone", Some(56), Some(220)),
            ("execve", Some(59), Some(221)),
            ("uname", Some(63), Some(160)),
            ("fcntl", Some(72), Some(25)),
            ("umount2", Some(166), Some(39)),
            ("_sysctl", Some(156), None),
            ("openat", Some(257), Some(56)),
            ("newfstatat", Some(262), Some(79)),
            ("fadvise64", Some(221), Some(223)),
            ("renameat", Some(264), Some(38)),
            ("getrlimit", Some(97), Some(163)),
            ("sync_file_range", Some(277), Some(84)),
            ("bpf", Some(321), Some(280)),
            ("execveat", Some(322), Some(281)),
            ("statx", Some(332), Some(291)),
            ("rseq", Some(334), Some(293)),
            ("kexec_file_load", Some(320), Some(294)),
            ("uretprobe", Some(335), None),
            ("arch_prctl", Some(158), None),
            ("pidfd_send_signal", Some(424), Some(424)),
            ("open_tree", Some(428), Some(428)),
            ("move_mount", Some(429), Some(429)),
            ("fsopen", Some(430), Some(430)),
            ("clone3", Some(435), Some(435)),
            ("close_range", Some(436), Some(436)),
            ("openat2", Some(437), Some(437)),
            ("pidfd_getfd", Some(438), Some(438)),
            ("faccessat2", Some(439), Some(439)),
            ("process_madvise", Some(440), Some(440)),
            ("epoll_pwait2", Some(441), Some(441)),
            ("mount_setattr", Some(442), Some(442)),
            ("quotactl_fd", Some(443), Some(443)),
            ("landlock_create_ruleset", Some(444), Some(444)),
            ("landlock_add_rule", Some(445), Some(445)),
            ("landlock_restrict_self", Some(446), Some(446)),
            ("memfd_secret", Some(447), Some(447)),
            ("process_mrelease", Some(448), Some(448)),
            ("futex_waitv", Some(449), Some(449)),
            ("set_mempolicy_home_node", Some(450), Some(450)),
            ("cachestat", Some(451), Some(451)),
            ("fchmodat2", Some(452), Some(452)),
            ("map_shadow_stack", Some(453), Some(453)),
            ("futex_wake", Some(454), Some(454)),
            ("futex_wait", Some(455), Some(455)),
            ("futex_requeue", Some(456), Some(456)),
            ("statmount", Some(457), Some(457)),
            ("listmount", Some(458), Some(458)),
            ("lsm_get_self_attr", Some(459), Some(459)),
            ("lsm_set_self_attr", Some(460), Some(460)),
            ("lsm_list_modules", Some(461), Some(461)),
            ("mseal", Some(462), Some(462)),
            ("listns", Some(470), Some(470)),
        ] {
            assert_eq!(lookup(x86, name), x86_nr, "x86_64 {name}");
            assert_eq!(lookup(arm, name), arm_nr, "arm64 {name}");
        }
        // The 32-bit-only time64 range is not part of the 64-bit ABIs.
        assert!(arm.iter().all(|&(nr, _)| !(295..424).contains(&nr)));
        assert!(x86
            .iter()
            .all(|&(nr, _)| !(337..424).contains(&nr) && nr < 512));
    }

    /// Live check against the running kernel; skipped when tracefs is not mounted.
    #[test]
    fn global_declarations_from_tracefs() {
        let decls = SyscallDeclarations::global();
        assert!(
            std::ptr::eq(decls, SyscallDeclarations::global()),
            "not cached"
        );
        if let Some(err) = decls.error() {
            eprintln!("skipping tracefs checks: {err}");
            assert!(decls.is_empty());
            return;
        }
        let execve = decls.get("execve").expect("execve declaration");
        assert_eq!(execve.params.len(), 3);
        assert_eq!(execve.params[0], param("filename", true));
        assert!(execve.params.iter().all(|p| p.is_pointer));
        let openat = decls.get("openat").expect("openat declaration");
        assert_eq!(openat.params.len(), 4);
        assert_eq!(openat.params[0], param("dfd", false));
        assert_eq!(openat.params[1], param("filename", true));
        assert!(
            decls.get("fstat").is_some(),
            "alias newfstat -> fstat not applied"
        );
        assert!(decls.get("newfstat").is_none());
    }
}
