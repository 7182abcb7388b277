//! IG's `UidGidResolver` operator (priority 5): adds a user name next to every
//! `type:gadget_uid` field and a group name next to every `type:gadget_gid` field, from the
//! host's `/etc/passwd` and `/etc/group` (`$HOST_ROOT` prefix honoured). Unknown ids print as
//! `uid:<n>` / `gid:<n>`. The databases are shared by every gadget of the process and re-read
//! when a file changes (checked at most once a second).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant, SystemTime};

use super::{sibling_string, OpCtx, OpResult, RecordOp, SchemaEdit};
use crate::datasource::{field_bytes, set_bytes, FieldLoc, Record, Schema};

/// One name database (`passwd` or `group`).
struct NameDb {
    path: PathBuf,
    names: RwLock<Arc<HashMap<u32, String>>>,
    /// (last check, modification time and size seen then)
    seen: Mutex<(Instant, Option<(SystemTime, u64)>)>,
    /// Coarse monotonic milliseconds before which `refresh` has nothing to do (a lock-free
    /// early exit for the per-record call).
    quiet_until_ms: AtomicU64,
    /// Bumped at each reload, so resolvers keep their snapshot until it changes.
    generation: AtomicU64,
}

/// CLOCK_MONOTONIC_COARSE in milliseconds: cheap enough for every record.
fn coarse_ms() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

impl NameDb {
    fn new(path: PathBuf) -> NameDb {
        let db = NameDb {
            path,
            names: RwLock::new(Arc::new(HashMap::new())),
            seen: Mutex::new((Instant::now(), None)),
            quiet_until_ms: AtomicU64::new(0),
            generation: AtomicU64::new(0),
        };
        db.reload();
        db
    }

    fn stamp(&self) -> Option<(SystemTime, u64)> {
        let m = std::fs::metadata(&self.path).ok()?;
        Some((m.modified().ok()?, m.len()))
    }

    fn reload(&self) {
        let stamp = self.stamp();
        let names = std::fs::read_to_string(&self.path).map(|t| parse(&t)).unwrap_or_default();
        *self.names.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(names);
        self.generation.fetch_add(1, Ordering::Release);
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = (Instant::now(), stamp);
    }

    /// Re-reads the file if it changed; checks at most once a second.
    fn refresh(&self) {
        if coarse_ms() < self.quiet_until_ms.load(Ordering::Relaxed) {
            return;
        }
        let changed = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            let since = seen.0.elapsed();
            if since < Duration::from_secs(1) {
                // Nothing to do until the second is over (less the coarse clock's tick).
                let left = (Duration::from_secs(1) - since).as_millis() as u64;
                self.quiet_until_ms.store(coarse_ms() + left.saturating_sub(10), Ordering::Relaxed);
                return;
            }
            seen.0 = Instant::now();
            self.stamp() != seen.1
        };
        if changed {
            self.reload();
        }
    }

    fn snapshot(&self) -> Arc<HashMap<u32, String>> {
        self.names.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Parses passwd/group text: `name:x:id:…`, left-trimmed, `#` comments and blank lines
/// skipped, a later line for the same id wins (IG `usergroupcache`).
pub fn parse(text: &str) -> HashMap<u32, String> {
    let mut m = HashMap::new();
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split(':').collect();
        if parts.len() < 3 {
            continue;
        }
        if let Ok(id) = parts[2].parse::<u32>() {
            m.insert(id, parts[0].to_string());
        }
    }
    m
}

/// The process-wide user and group databases.
pub struct UserGroupCache {
    users: NameDb,
    groups: NameDb,
}

fn host_root() -> PathBuf {
    PathBuf::from(std::env::var("HOST_ROOT").unwrap_or_else(|_| "/".into()))
}

impl UserGroupCache {
    /// The shared cache, or `None` when `/etc/passwd` or `/etc/group` is missing (IG then
    /// disables the operator).
    pub fn global() -> Option<&'static UserGroupCache> {
        static CACHE: OnceLock<Option<UserGroupCache>> = OnceLock::new();
        CACHE
            .get_or_init(|| {
                let root = host_root();
                let (p, g) = (root.join("etc/passwd"), root.join("etc/group"));
                (p.exists() && g.exists()).then(|| UserGroupCache { users: NameDb::new(p), groups: NameDb::new(g) })
            })
            .as_ref()
    }
}

/// Resolves the uid (or gid) fields of one data source.
pub struct Resolver {
    pairs: Vec<(FieldLoc, FieldLoc)>,
    group: bool,
    cache: &'static UserGroupCache,
    text: String,
    /// The names snapshot in use and the database generation it is from.
    names: Option<(u64, Arc<HashMap<u32, String>>)>,
}

impl RecordOp for Resolver {
    fn apply(&mut self, _cx: &OpCtx, _schema: &Schema, rec: &mut Record) -> OpResult {
        let db = if self.group { &self.cache.groups } else { &self.cache.users };
        db.refresh();
        let generation = db.generation.load(Ordering::Acquire);
        if self.names.as_ref().is_none_or(|(g, _)| *g != generation) {
            self.names = Some((generation, db.snapshot()));
        }
        let names = &self.names.as_ref().unwrap().1;
        for &(input, out) in &self.pairs {
            let Some(b) = field_bytes(rec, input).filter(|b| b.len() == 4) else { continue };
            let id = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
            let name = match names.get(&id) {
                Some(n) => n.as_str(),
                None => {
                    use std::fmt::Write;
                    self.text.clear();
                    let _ = write!(self.text, "{}:{id}", if self.group { "gid" } else { "uid" });
                    &self.text
                }
            };
            let _ = set_bytes(rec, out, name.as_bytes());
        }
        Ok(())
    }
}

/// Adds the `user`/`group` fields of one data source; returns the uid resolver (priority 0)
/// and the gid resolver (priority 1). A name that already exists aborts, like IG.
pub fn instantiate(ed: &mut SchemaEdit) -> Result<(Option<Resolver>, Option<Resolver>), String> {
    let Some(cache) = UserGroupCache::global() else { return Ok((None, None)) };
    let mut out = (None, None);
    for (group, tag, fallback) in [(false, "type:gadget_uid", "user"), (true, "type:gadget_gid", "group")] {
        let mut pairs = Vec::new();
        for input in ed.fields_with_tag(tag) {
            let name = ed.target_name(input, "uidgidresolver.target").unwrap_or_else(|| fallback.to_string());
            let nf = sibling_string(ed.schema, input, &name, false, None);
            let o = ed.add(nf).map_err(|e| e.to_string())?;
            ed.schema.fields[o].hidden = true;
            ed.schema.fields[input].hidden = true;
            pairs.push((ed.schema.fields[input].loc, ed.schema.fields[o].loc));
        }
        if !pairs.is_empty() {
            let r = Resolver { pairs, group, cache, text: String::new(), names: None };
            if group {
                out.1 = Some(r);
            } else {
                out.0 = Some(r);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_lines_win_and_comments_are_skipped() {
        let m = parse("root:x:0:0::/root:/bin/sh\n# c\n\n  daemon:x:1:1\nbad\nroot2:x:0:0\nnum:x:notnum:0\n");
        assert_eq!(m.get(&0).map(String::as_str), Some("root2"));
        assert_eq!(m.get(&1).map(String::as_str), Some("daemon"));
        assert_eq!(m.len(), 2);
    }
}
