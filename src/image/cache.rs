//! On-disk cache for compiled modules (pure file logic; the caller serialises
//! and deserialises the module).
//!
//! Entry file `<dir>/<key>.bin`: a 48-byte header (8-byte magic
//! `GRTMOD03`, payload length as u64 little endian, keyed BLAKE3 MAC of the
//! first 16 header bytes and the payload) followed by the payload. Entries are read
//! through a read-only mapping (no copy before the caller's deserialisation). Entries are written to a temporary file in
//! the same directory and renamed into place, so readers never see a partial
//! entry; [`ModuleCache::get`] verifies magic, length and MAC and deletes an
//! entry that fails (corrupted, truncated or forged), returning `None`.
//!
//! A compiled module is native code, so before anything is loaded:
//! - the directory (created mode 0700 when missing) must be a real directory
//!   (not a symlink) owned by the effective user and not writable by group or
//!   others ([`ModuleCache::open`] fails otherwise);
//! - the HMAC key is 32 random bytes in `<dir>/.key`, created mode 0600 and
//!   refused unless owned by the user with no group/other permissions;
//! - each entry file must be a regular file owned by the user and not
//!   writable by group or others, and its MAC must verify with the key.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const MAGIC: &[u8; 8] = b"GRTMOD03";
const KEY_FILE: &str = ".key";
const HEADER_LEN: usize = 8 + 8 + 32;
/// Largest payload accepted by `get` (a guard against reading huge files).
const MAX_ENTRY: u64 = 1 << 30;
/// Default size bound of a cache directory's entries (`GADGETRT_CACHE_MAX_MB` overrides it):
/// beyond, the least recently used entries are deleted after a new one is stored.
const DEFAULT_MAX_BYTES: u64 = 1 << 30;
/// Temporary files older than this are left over by a process that died while writing.
const STALE_TMP: std::time::Duration = std::time::Duration::from_secs(3600);

/// A directory of compiled modules keyed by hex strings
/// (callers use sha256(program digest + engine config hash)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleCache {
    dir: PathBuf,
    key: [u8; 32],
    /// Bound of the entries' total size (least recently used evicted first).
    max_bytes: u64,
}

impl ModuleCache {
    /// Opens (creating when missing, mode 0700) a cache in `dir`, which must be an absolute
    /// path to a directory owned by the effective user and not writable by group or others;
    /// loads or creates its MAC key.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<Self> {
        let dir = dir.into();
        let inval = |m: String| io::Error::new(io::ErrorKind::InvalidInput, m);
        if !dir.is_absolute() {
            return Err(inval(format!("cache directory {} is not an absolute path", dir.display())));
        }
        fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir)?;
        let m = fs::symlink_metadata(&dir)?;
        if !m.file_type().is_dir() {
            return Err(inval(format!("cache directory {} is not a directory (symlinks are refused)", dir.display())));
        }
        check_owner(&m, 0o022).map_err(|e| inval(format!("cache directory {}: {e}", dir.display())))?;
        let key = load_key(&dir.join(KEY_FILE))?;
        let max_bytes = std::env::var("GADGETRT_CACHE_MAX_MB")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|mb| mb.saturating_mul(1 << 20))
            .unwrap_or(DEFAULT_MAX_BYTES);
        Ok(ModuleCache { dir, key, max_bytes })
    }

    /// The same cache with another size bound (bytes of entries).
    pub fn with_max_bytes(mut self, max: u64) -> Self {
        self.max_bytes = max;
        self
    }

    /// Like [`ModuleCache::open`], panicking on failure (tests).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self::open(dir).expect("opening the module cache")
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
    pub fn get(&self, key: &str) -> Option<CacheEntry> {
        let path = self.entry_path(key)?;
        let f = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&path)
            .ok()?;
        let meta = f.metadata().ok()?;
        if !meta.file_type().is_file() || check_owner(&meta, 0o022).is_err() {
            // Not ours or writable by others: never load it (and do not touch it).
            return None;
        }
        let len = meta.len();
        if len > MAX_ENTRY + HEADER_LEN as u64 {
            let _ = fs::remove_file(&path);
            return None;
        }
        let Some(map) = Mapping::of(&f, len as usize) else {
            let _ = fs::remove_file(&path);
            return None;
        };
        match decode(&self.key, map.bytes()) {
            Some(_) => {
                // Used now: the last to be evicted (best effort).
                let _ = f.set_modified(std::time::SystemTime::now());
                Some(CacheEntry(map))
            }
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
            let mut f = fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)?;
            f.write_all(&encode_header(&self.key, bytes))?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if res.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        if res.is_ok() {
            self.evict(&path);
        }
        res
    }

    /// Deletes the least recently used entries (file modification time, refreshed by `get`)
    /// until the entries total at most the size bound, never `keep` (just stored); also
    /// temporary files a dead writer left. Best effort: errors are ignored.
    fn evict(&self, keep: &Path) {
        let Ok(rd) = fs::read_dir(&self.dir) else { return };
        let now = std::time::SystemTime::now();
        let mut entries = Vec::new();
        let mut total = 0u64;
        for e in rd.flatten() {
            let (path, name) = (e.path(), e.file_name());
            let name = name.to_string_lossy();
            let Ok(m) = e.metadata() else { continue };
            if !m.file_type().is_file() || check_owner(&m, 0o022).is_err() {
                continue;
            }
            let mtime = m.modified().unwrap_or(now);
            if name.starts_with('.') && name.contains(".tmp-") {
                if now.duration_since(mtime).is_ok_and(|age| age > STALE_TMP) {
                    let _ = fs::remove_file(&path);
                }
                continue;
            }
            let Some(key) = name.strip_suffix(".bin") else { continue };
            if !valid_key(key) {
                continue;
            }
            total += m.len();
            if path != keep {
                entries.push((mtime, m.len(), path));
            }
        }
        entries.sort();
        for (_, len, path) in entries {
            if total <= self.max_bytes {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
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

fn encode_header(key: &[u8; 32], payload: &[u8]) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..16].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    let mac = hmac(key, &h[..16], payload);
    h[16..].copy_from_slice(&mac);
    h
}

/// Keyed BLAKE3 of `head || payload`.
fn hmac(key: &[u8; 32], head: &[u8], payload: &[u8]) -> [u8; 32] {
    blake3::Hasher::new_keyed(key).update(head).update(payload).finalize().into()
}

/// A read-only private mapping of a whole file (unmapped on drop).
#[derive(Debug)]
struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: a read-only mapping owned by the value.
unsafe impl Send for Mapping {}
unsafe impl Sync for Mapping {}

impl Mapping {
    fn of(f: &File, len: usize) -> Option<Mapping> {
        use std::os::fd::AsRawFd;
        if len == 0 {
            return None;
        }
        // SAFETY: maps `len` bytes of an open regular file read-only; checked below.
        let ptr = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_PRIVATE | libc::MAP_POPULATE, f.as_raw_fd(), 0)
        };
        (ptr != libc::MAP_FAILED).then_some(Mapping { ptr, len })
    }
    fn bytes(&self) -> &[u8] {
        // SAFETY: `len` readable bytes mapped in `of`, alive as long as self.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: mapped in `of` with this length.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// A verified cache entry's payload, read through a mapping of its file.
#[derive(Debug)]
pub struct CacheEntry(Mapping);

impl std::ops::Deref for CacheEntry {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0.bytes()[HEADER_LEN..]
    }
}

impl PartialEq for CacheEntry {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

/// Fails unless the file belongs to the effective user and has none of `forbidden` mode bits.
fn check_owner(m: &fs::Metadata, forbidden: u32) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: plain getter.
    let uid = unsafe { libc::geteuid() };
    if m.uid() != uid {
        return Err(format!("owned by uid {}, not by the current user (uid {uid})", m.uid()));
    }
    if m.mode() & forbidden != 0 {
        return Err(format!("mode {:o} is too permissive (group/other bits {:o} must be clear)", m.mode() & 0o7777, forbidden));
    }
    Ok(())
}

/// Reads the 32-byte MAC key, creating it (mode 0600, from the kernel's random source)
/// when missing.
fn load_key(path: &Path) -> io::Result<[u8; 32]> {
    let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, format!("cache key {}: {m}", path.display()));
    for _ in 0..2 {
        match fs::OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW).open(path) {
            Ok(mut f) => {
                let m = f.metadata()?;
                if !m.file_type().is_file() {
                    return Err(bad("not a regular file".into()));
                }
                check_owner(&m, 0o077).map_err(bad)?;
                let mut k = [0u8; 32];
                let mut rest = Vec::new();
                f.read_exact(&mut k).map_err(|e| bad(e.to_string()))?;
                f.read_to_end(&mut rest)?;
                if !rest.is_empty() {
                    return Err(bad("longer than 32 bytes".into()));
                }
                return Ok(k);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut k = [0u8; 32];
                File::open("/dev/urandom")?.read_exact(&mut k)?;
                let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
                let _ = fs::remove_file(&tmp);
                let mut f = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&tmp)?;
                f.write_all(&k)?;
                f.sync_all()?;
                // Another process may have created it meanwhile: keep theirs.
                match fs::hard_link(&tmp, path) {
                    Ok(()) => {
                        let _ = fs::remove_file(&tmp);
                        return Ok(k);
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        let _ = fs::remove_file(&tmp);
                    }
                    Err(e) => {
                        let _ = fs::remove_file(&tmp);
                        return Err(e);
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
    Err(bad("could not be created".into()))
}

fn decode<'a>(key: &[u8; 32], buf: &'a [u8]) -> Option<&'a [u8]> {
    if buf.len() < HEADER_LEN || &buf[..8] != MAGIC {
        return None;
    }
    let len = u64::from_le_bytes(buf[8..16].try_into().ok()?);
    let payload = &buf[HEADER_LEN..];
    if payload.len() as u64 != len {
        return None;
    }
    let mac = hmac(key, &buf[..16], payload);
    // Constant-time comparison.
    if mac.iter().zip(&buf[16..HEADER_LEN]).fold(0u8, |a, (x, y)| a | (x ^ y)) != 0 {
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
