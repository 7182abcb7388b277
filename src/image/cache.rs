//! On-disk cache for compiled modules (pure file logic; the caller serialises
//! and deserialises the module).
//!
//! Entry file `<dir>/<key>.bin`: a 48-byte header (8-byte magic
//! `GRTMOD01`, payload length as u64 little endian, SHA-256 of the payload)
//! followed by the payload. Entries are written to a temporary file in the
//! same directory and renamed into place, so readers never see a partial
//! entry; [`ModuleCache::get`] verifies magic, length and checksum and deletes
//! an entry that fails (corrupted or truncated), returning `None`.
//!
//! The checksum guards against corruption, not against tampering: a compiled
//! module is native code, so the cache directory must only be writable by the
//! user running gadgetrt (directories this module creates are mode 0700).

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"GRTMOD01";
const HEADER_LEN: usize = 8 + 8 + 32;
/// Largest payload accepted by `get` (a guard against reading huge files).
const MAX_ENTRY: u64 = 1 << 30;

/// A directory of compiled modules keyed by hex strings
/// (callers use sha256(program digest + engine config hash)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleCache {
    dir: PathBuf,
}

impl ModuleCache {
    /// A cache in `dir` (created on first `put`).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        ModuleCache { dir: dir.into() }
    }

    /// A cache in [`ModuleCache::default_dir`].
    pub fn with_default_dir() -> Self {
        Self::new(Self::default_dir())
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `$GADGETRT_CACHE_DIR`; else `/var/cache/gadgetrt/modules` when running
    /// as root; else `$XDG_CACHE_HOME/gadgetrt` (if absolute) or
    /// `~/.cache/gadgetrt`; as a last resort `<tmp>/gadgetrt-cache`.
    pub fn default_dir() -> PathBuf {
        if let Some(d) = std::env::var_os("GADGETRT_CACHE_DIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(d);
        }
        if effective_uid() == Some(0) {
            return PathBuf::from("/var/cache/gadgetrt/modules");
        }
        if let Some(x) = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from) {
            if x.is_absolute() {
                return x.join("gadgetrt");
            }
        }
        if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            return PathBuf::from(h).join(".cache").join("gadgetrt");
        }
        std::env::temp_dir().join("gadgetrt-cache")
    }

    fn entry_path(&self, key: &str) -> Option<PathBuf> {
        valid_key(key).then(|| self.dir.join(format!("{key}.bin")))
    }

    /// The payload stored under `key`, or `None` when absent, unreadable or
    /// invalid (an invalid entry is deleted).
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let path = self.entry_path(key)?;
        let mut f = File::open(&path).ok()?;
        let len = f.metadata().ok()?.len();
        if len > MAX_ENTRY + HEADER_LEN as u64 {
            let _ = fs::remove_file(&path);
            return None;
        }
        let mut buf = Vec::with_capacity(len as usize);
        if f.read_to_end(&mut buf).is_err() {
            return None;
        }
        match decode(&buf) {
            Some(payload) => Some(payload.to_vec()),
            None => {
                let _ = fs::remove_file(&path);
                None
            }
        }
    }

    /// Store `bytes` under `key` atomically (temp file + rename).
    pub fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.entry_path(key).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid module cache key {key:?} (expected 1-128 hex characters)"),
            )
        })?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let tmp = self.dir.join(format!(
            ".{key}.tmp-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let res = (|| {
            let mut f = File::create(&tmp)?;
            f.write_all(&encode_header(bytes))?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        res
    }

    /// Delete the entry for `key` (absent is fine).
    pub fn remove(&self, key: &str) -> io::Result<()> {
        match self.entry_path(key) {
            Some(p) => match fs::remove_file(p) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
            None => Ok(()),
        }
    }
}

fn valid_key(key: &str) -> bool {
    (1..=128).contains(&key.len()) && key.bytes().all(|c| c.is_ascii_hexdigit())
}

fn encode_header(payload: &[u8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..16].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    h[16..].copy_from_slice(&Sha256::digest(payload));
    h
}

fn decode(buf: &[u8]) -> Option<&[u8]> {
    if buf.len() < HEADER_LEN || &buf[..8] != MAGIC {
        return None;
    }
    let len = u64::from_le_bytes(buf[8..16].try_into().ok()?);
    let payload = &buf[HEADER_LEN..];
    if payload.len() as u64 != len {
        return None;
    }
    if Sha256::digest(payload).as_slice() != &buf[16..HEADER_LEN] {
        return None;
    }
    Some(payload)
}

/// Effective uid from /proc/self/status (no libc needed).
fn effective_uid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}
