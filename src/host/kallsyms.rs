//! Kernel symbol lookups for the `kallsymsSymbolExists` host import (wasm ABI §1.11).
//!
//! `/proc/kallsyms` is read once per process, on first use, into a set of symbol names.
//! Symbol names are visible even when `kptr_restrict` hides the addresses; only symbols the
//! kernel lists are known (data symbols need `CONFIG_KALLSYMS_ALL`).

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::sync::OnceLock;

/// Where the kernel publishes its symbol table.
const KALLSYMS_PATH: &str = "/proc/kallsyms";

/// Returns whether the running kernel lists a symbol called exactly `name`, in the core kernel
/// or in a loaded module. The empty name never exists; an unreadable `/proc/kallsyms` reads as
/// an empty symbol table.
#[must_use]
pub fn symbol_exists(name: &str) -> bool {
    !name.is_empty() && symbols().contains(name)
}

/// The process-wide symbol set, loaded on first use.
fn symbols() -> &'static HashSet<Box<str>> {
    static SYMBOLS: OnceLock<HashSet<Box<str>>> = OnceLock::new();
    SYMBOLS.get_or_init(|| {
        File::open(KALLSYMS_PATH)
            .and_then(|file| parse_symbols(BufReader::with_capacity(1 << 16, file)))
            .unwrap_or_default()
    })
}

/// Collects the symbol names of a kallsyms listing.
///
/// Each line is `<address> <type> <name>[\t[<module>]]`; the name is the third column, and the
/// optional module column is dropped. Malformed lines are skipped.
fn parse_symbols(mut reader: impl BufRead) -> io::Result<HashSet<Box<str>>> {
    let mut symbols = HashSet::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        if let Some(name) = line.split_whitespace().nth(2) {
            if !symbols.contains(name) {
                symbols.insert(Box::from(name));
            }
        }
    }
    Ok(symbols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_core_and_module_symbols() {
        let listing = "ffffffff81000000 T _stext\n\
                       0000000000000000 D socket_file_ops\n\
                       ffffffffc0a01000 t nf_conntrack_init\t[nf_conntrack]\n\
                       ffffffffc0a02000 T ext4_fill_super\t[ext4]\n\
                       \n\
                       garbage\n";
        let symbols = parse_symbols(listing.as_bytes()).unwrap();
        let mut names: Vec<&str> = symbols.iter().map(|s| &**s).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "_stext",
                "ext4_fill_super",
                "nf_conntrack_init",
                "socket_file_ops"
            ]
        );
    }

    #[test]
    fn empty_and_unknown_names() {
        assert!(!symbol_exists(""));
        assert!(!symbol_exists("abcde_this_symbol_does_not_exists"));
    }

    /// Live check against the running kernel.
    #[test]
    fn host_kallsyms() {
        let Ok(text) = std::fs::read_to_string(KALLSYMS_PATH) else {
            eprintln!("skipping: {KALLSYMS_PATH} is not readable");
            return;
        };
        assert!(!symbols().is_empty());
        // A core function every kernel with kallsyms lists.
        assert!(symbol_exists("vfs_read"));
        // `socket_file_ops` is a data symbol: listed only with CONFIG_KALLSYMS_ALL.
        let listed = text
            .lines()
            .any(|l| l.split_whitespace().nth(2) == Some("socket_file_ops"));
        assert_eq!(symbol_exists("socket_file_ops"), listed);
        // Every listed name is found.
        for name in text.lines().filter_map(|l| l.split_whitespace().nth(2)) {
            assert!(symbol_exists(name), "{name} not found");
        }
    }
}
