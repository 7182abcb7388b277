//! eBPF map and perf-reader imports (ABI sections 1.7, 1.8, 1.10; decisions D5–D8).

use std::sync::{Arc, Mutex};

use wasmtime::{Caller, Linker};

use super::handles::Obj;
use super::{parts, read_buf, read_str, write_buf, HostState, Phase};
use crate::ebpf::maps::{is_fd_array, is_map_of_maps, RawMap};
use crate::ebpf::perf::{PerfReader, PerfStopper, ReadMode, ReadResult};

/// Highest map type the ABI knows (Arena).
const MAX_MAP_TYPE: u32 = 33;

struct MapEntry {
    map: Arc<RawMap>,
    /// Created by `newMap` (only those may be `mapRelease`d).
    created: bool,
    /// What this entry is charged against the budget: (bytes, counts as a kernel object).
    charge: (u64, bool),
}

struct ReaderEntry {
    reader: PerfReader,
    bytes: u64,
}

/// Maps and perf readers the guest holds handles to, and the gadget's published maps.
/// Slots are reused, and what the guest creates is charged against the gadget's budget
/// (`Limits::map_bytes`, `Limits::map_count`) until it is released.
#[derive(Default)]
pub struct MapTable {
    maps: Vec<Option<MapEntry>>,
    readers: Vec<Option<ReaderEntry>>,
    /// Maps of the gadget's eBPF object, available to `getMap` from start on.
    pub published: Vec<(String, Arc<RawMap>)>,
    /// Stoppers of every perf reader (same index as `readers`), reachable without the
    /// gadget lock (D7).
    pub stoppers: Arc<Mutex<Vec<Option<PerfStopper>>>>,
    /// Bytes and kernel objects currently charged.
    pub used_bytes: u64,
    pub used_count: u32,
}

fn free_slot<T>(v: &mut Vec<Option<T>>, x: T) -> usize {
    match v.iter().position(|e| e.is_none()) {
        Some(i) => {
            v[i] = Some(x);
            i
        }
        None => {
            v.push(Some(x));
            v.len() - 1
        }
    }
}

impl MapTable {
    fn add_map(&mut self, map: Arc<RawMap>, created: bool, charge: (u64, bool)) -> usize {
        free_slot(&mut self.maps, MapEntry { map, created, charge })
    }

    /// Checks that `bytes` more (and one more kernel object if `object`) fit the budget and
    /// charges them.
    fn reserve(&mut self, budget: &crate::runtime::Limits, bytes: u64, object: bool) -> Result<(), String> {
        if object && self.used_count >= budget.map_count {
            return Err(format!(
                "the gadget already holds {} maps/perf readers (limit {})",
                self.used_count, budget.map_count
            ));
        }
        if self.used_bytes.saturating_add(bytes) > budget.map_bytes {
            return Err(format!(
                "{bytes} bytes requested, {} of {} bytes of the gadget's map budget in use",
                self.used_bytes, budget.map_bytes
            ));
        }
        self.used_bytes += bytes;
        self.used_count += object as u32;
        Ok(())
    }

    /// What is left of the budget: (bytes, kernel objects).
    pub fn room(&self, budget: &crate::runtime::Limits) -> (u64, u32) {
        (budget.map_bytes.saturating_sub(self.used_bytes), budget.map_count.saturating_sub(self.used_count))
    }

    /// Charges the maps of the gadget's eBPF object (checked against [`MapTable::room`] by
    /// the loader); they are given back at stop with everything else.
    pub fn charge_object(&mut self, bytes: u64, count: u32) {
        self.used_bytes = self.used_bytes.saturating_add(bytes);
        self.used_count = self.used_count.saturating_add(count);
    }

    fn unreserve(&mut self, (bytes, object): (u64, bool)) {
        self.used_bytes = self.used_bytes.saturating_sub(bytes);
        self.used_count = self.used_count.saturating_sub(object as u32);
    }

    /// Closes map slot `i` (its fd closes once no one else shares it) and returns its budget.
    pub fn release_map(&mut self, i: usize) {
        if let Some(e) = self.maps.get_mut(i).and_then(|e| e.take()) {
            self.unreserve(e.charge);
        }
    }

    /// Stops and closes perf reader `i` and returns its budget.
    pub fn release_reader(&mut self, i: usize) {
        if let Some(e) = self.readers.get_mut(i).and_then(|e| e.take()) {
            e.reader.stop();
            e.reader.close();
            self.unreserve((e.bytes, true));
        }
        if let Some(s) = self.stoppers.lock().unwrap_or_else(|e| e.into_inner()).get_mut(i) {
            *s = None;
        }
    }

    /// Closes every map and perf reader the guest still holds (D8).
    pub fn close_all(&mut self) {
        for r in self.readers.iter().flatten() {
            r.reader.stop();
        }
        self.readers.clear();
        self.maps.clear();
        self.published.clear();
        self.used_bytes = 0;
        self.used_count = 0;
        self.stoppers.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

pub use crate::ebpf::maps::{map_cost, perf_cost};

fn map_of(st: &HostState, func: &str, h: u32) -> Option<(usize, Arc<RawMap>)> {
    match st.handles.get(h) {
        Some(Obj::Map(i)) => st.maps.maps.get(*i).and_then(|e| e.as_ref()).map(|e| (*i, e.map.clone())).or_else(|| {
            st.warn(format!("{func}: map handle {h} was closed"));
            None
        }),
        Some(_) => {
            st.warn(format!("{func}: bad handle type for {h}"));
            None
        }
        None => {
            st.warn(format!("{func}: handle {h} not found"));
            None
        }
    }
}

fn check_access(st: &HostState, func: &str, m: &RawMap) -> bool {
    let t = m.info().map_type;
    if t > MAX_MAP_TYPE {
        st.warn(format!("{func}: unknown map type {t}"));
        return false;
    }
    if is_fd_array(t) {
        st.warn(format!("{func}: map type {t} (fd array) cannot be accessed from wasm"));
        return false;
    }
    true
}

pub fn register(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap("ig", "newMap", new_map)?;
    l.func_wrap("ig", "getMap", get_map)?;
    l.func_wrap("ig", "mapLookup", map_lookup)?;
    l.func_wrap("ig", "mapUpdate", map_update)?;
    l.func_wrap("ig", "mapDelete", map_delete)?;
    l.func_wrap("ig", "mapRelease", map_release)?;
    l.func_wrap("ig", "newPerfReader", new_perf_reader)?;
    l.func_wrap("ig", "perfReaderPause", |mut c: Caller<'_, HostState>, r: i32| -> i32 {
        with_reader(c.data_mut(), "perfReaderPause", r as u32, |p| p.pause())
    })?;
    l.func_wrap("ig", "perfReaderResume", |mut c: Caller<'_, HostState>, r: i32| -> i32 {
        with_reader(c.data_mut(), "perfReaderResume", r as u32, |p| p.resume())
    })?;
    l.func_wrap("ig", "perfReaderRead", perf_read)?;
    l.func_wrap("ig", "perfReaderClose", |mut c: Caller<'_, HostState>, r: i32| -> i32 {
        let st = c.data_mut();
        match reader_index(st, "perfReaderClose", r as u32) {
            Some(i) => {
                st.maps.release_reader(i);
                st.handles.remove(r as u32);
                0
            }
            None => 1,
        }
    })?;
    Ok(())
}

fn new_map(mut c: Caller<'_, HostState>, name: i64, ty: i32, ks: i32, vs: i32, max: i32) -> i32 {
    let (mem, st) = parts(&mut c);
    if ty as u32 > MAX_MAP_TYPE {
        st.warn(format!("newMap: unknown map type {}", ty as u32));
        return 0;
    }
    let Some(name) = read_str(mem, name as u64) else {
        st.warn("newMap: invalid name pointer");
        return 0;
    };
    let cost = map_cost(ty as u32, ks as u32, vs as u32, max as u32);
    if let Err(e) = st.maps.reserve(&st.budget, cost, true) {
        st.warn(format!("newMap {name:?}: refused: {e}"));
        return 0;
    }
    match RawMap::create(ty as u32, ks as u32, vs as u32, max as u32, &name) {
        Ok(m) => {
            let i = st.maps.add_map(Arc::new(m), true, (cost, true));
            let h = st.handles.add(Obj::Map(i));
            if h == 0 {
                st.maps.release_map(i);
                st.warn("newMap: too many open handles");
            }
            h as i32
        }
        Err(e) => {
            st.maps.unreserve((cost, true));
            st.warn(format!("newMap {name:?}: {e}"));
            0
        }
    }
}

fn get_map(mut c: Caller<'_, HostState>, name: i64) -> i32 {
    let (mem, st) = parts(&mut c);
    let Some(name) = read_str(mem, name as u64) else {
        st.warn("getMap: invalid name pointer");
        return 0;
    };
    if st.phase < Phase::Started {
        st.warn(format!("getMap {name:?}: eBPF maps are available from gadgetStart on"));
        return 0;
    }
    let Some(m) = st.maps.published.iter().find(|(n, _)| *n == name).map(|(_, m)| m.clone()) else {
        st.warn(format!("getMap: map {name:?} not found"));
        return 0;
    };
    if m.info().map_type > MAX_MAP_TYPE {
        st.warn(format!("getMap {name:?}: unknown map type {}", m.info().map_type));
        return 0;
    }
    let i = st.maps.add_map(m, false, (0, false));
    let h = st.handles.add(Obj::Map(i));
    if h == 0 {
        st.maps.release_map(i);
        st.warn("getMap: too many open handles");
    }
    h as i32
}

fn map_lookup(mut c: Caller<'_, HostState>, m: i32, key: i64, value: i64) -> i32 {
    let (mem, st) = parts(&mut c);
    let Some((_, map)) = map_of(st, "mapLookup", m as u32) else { return 1 };
    if !check_access(st, "mapLookup", &map) {
        return 1;
    }
    let Some(k) = read_buf(mem, key as u64).map(|b| b.to_vec()) else {
        st.warn("mapLookup: invalid key pointer");
        return 1;
    };
    let mut val = vec![0u8; map.value_size_for_lookup()];
    let found = match map.lookup(&k, &mut val) {
        Ok(f) => f,
        Err(e) => {
            st.warn(format!("mapLookup: {e}"));
            return 1;
        }
    };
    if is_map_of_maps(map.info().map_type) {
        if !found {
            // D5: the reference host panics here.
            st.warn("mapLookup: key not found in map of maps");
            return 1;
        }
        let id = u32::from_ne_bytes([val[0], val[1], val[2], val[3]]);
        if let Err(e) = st.maps.reserve(&st.budget, 0, true) {
            st.warn(format!("mapLookup: inner map not opened: {e}"));
            return 1;
        }
        let inner = match RawMap::from_id(id) {
            Ok(i) => i,
            Err(e) => {
                st.maps.unreserve((0, true));
                st.warn(format!("mapLookup: opening inner map {id}: {e}"));
                return 1;
            }
        };
        let i = st.maps.add_map(Arc::new(inner), false, (0, true));
        let h = st.handles.add(Obj::Map(i));
        if h == 0 {
            st.maps.release_map(i);
            st.warn("mapLookup: too many open handles");
            return 1;
        }
        if !write_buf(mem, value as u64, &h.to_ne_bytes()) {
            st.handles.remove(h);
            st.maps.release_map(i);
            st.warn("mapLookup: value buffer too small or invalid");
            return 1;
        }
        return 0;
    }
    if !found {
        // Like the reference host: a missing key is success and writes nothing.
        return 0;
    }
    if !write_buf(mem, value as u64, &val) {
        st.warn("mapLookup: value buffer too small or invalid");
        return 1;
    }
    0
}

fn map_update(mut c: Caller<'_, HostState>, m: i32, key: i64, value: i64, flags: i64) -> i32 {
    let (mem, st) = parts(&mut c);
    if flags as u64 > 4 {
        st.warn(format!("mapUpdate: invalid flags {}", flags as u64));
        return 1;
    }
    let Some((_, map)) = map_of(st, "mapUpdate", m as u32) else { return 1 };
    if !check_access(st, "mapUpdate", &map) {
        return 1;
    }
    let Some(k) = read_buf(mem, key as u64).map(|b| b.to_vec()) else {
        st.warn("mapUpdate: invalid key pointer");
        return 1;
    };
    let Some(v) = read_buf(mem, value as u64).map(|b| b.to_vec()) else {
        st.warn("mapUpdate: invalid value pointer");
        return 1;
    };
    let v = if is_map_of_maps(map.info().map_type) {
        if v.len() < 4 {
            st.warn("mapUpdate: map-of-maps value must start with a 4-byte map handle");
            return 1;
        }
        let h = u32::from_ne_bytes([v[0], v[1], v[2], v[3]]);
        let Some((_, inner)) = map_of(st, "mapUpdate (inner map)", h) else { return 1 };
        use std::os::fd::AsRawFd;
        (inner.fd().as_raw_fd() as u32).to_ne_bytes().to_vec()
    } else {
        v
    };
    match map.update(&k, &v, flags as u64) {
        Ok(()) => 0,
        Err(e) => {
            st.warn(format!("mapUpdate: {e}"));
            1
        }
    }
}

fn map_delete(mut c: Caller<'_, HostState>, m: i32, key: i64) -> i32 {
    let (mem, st) = parts(&mut c);
    let Some((_, map)) = map_of(st, "mapDelete", m as u32) else { return 1 };
    if !check_access(st, "mapDelete", &map) {
        return 1;
    }
    let Some(k) = read_buf(mem, key as u64) else {
        st.warn("mapDelete: invalid key pointer");
        return 1;
    };
    match map.delete(k) {
        Ok(()) => 0,
        Err(e) => {
            st.warn(format!("mapDelete: {e}"));
            1
        }
    }
}

fn map_release(mut c: Caller<'_, HostState>, m: i32) -> i32 {
    let st = c.data_mut();
    let Some((i, _)) = map_of(st, "mapRelease", m as u32) else { return 1 };
    if !st.maps.maps[i].as_ref().map(|e| e.created).unwrap_or(false) {
        st.warn(format!("mapRelease: map handle {} was not created with newMap", m as u32));
        return 1;
    }
    st.maps.release_map(i);
    st.handles.remove(m as u32);
    0
}

fn new_perf_reader(mut c: Caller<'_, HostState>, m: i32, size: i32, overwritable: i32) -> i32 {
    let st = c.data_mut();
    // D6: a bad map handle returns 0 (the reference host returns 1).
    let Some((_, map)) = map_of(st, "newPerfReader", m as u32) else { return 0 };
    let cost = perf_cost(size as u32);
    if let Err(e) = st.maps.reserve(&st.budget, cost, true) {
        st.warn(format!("newPerfReader: refused: {e}"));
        return 0;
    }
    match PerfReader::new(&map, size as u32, overwritable != 0) {
        Ok(r) => {
            // Only blocking readers are released at Stop (D7). Overwritable readers never
            // block (their deadline is their creation time), and gadgets drain them in
            // gadgetStop, after the readers were stopped (IG's traceloop does).
            let stopper = (!r.is_overwritable()).then(|| r.stopper());
            let i = free_slot(&mut st.maps.readers, ReaderEntry { reader: r, bytes: cost });
            {
                let mut s = st.maps.stoppers.lock().unwrap_or_else(|e| e.into_inner());
                if s.len() <= i {
                    s.resize_with(i + 1, || None);
                }
                s[i] = stopper;
            }
            let h = st.handles.add(Obj::PerfReader(i));
            if h == 0 {
                st.maps.release_reader(i);
                st.warn("newPerfReader: too many open handles");
            }
            h as i32
        }
        Err(e) => {
            st.maps.unreserve((cost, true));
            st.warn(format!("newPerfReader: {e}"));
            0
        }
    }
}

fn reader_index(st: &HostState, func: &str, h: u32) -> Option<usize> {
    match st.handles.get(h) {
        Some(Obj::PerfReader(i)) if st.maps.readers.get(*i).map(|r| r.is_some()).unwrap_or(false) => Some(*i),
        Some(_) => {
            st.warn(format!("{func}: bad handle type for {h}"));
            None
        }
        None => {
            st.warn(format!("{func}: handle {h} not found"));
            None
        }
    }
}

fn with_reader(st: &mut HostState, func: &str, h: u32, f: impl FnOnce(&PerfReader) -> std::io::Result<()>) -> i32 {
    let Some(i) = reader_index(st, func, h) else { return 1 };
    match f(&st.maps.readers[i].as_ref().expect("checked").reader) {
        Ok(()) => 0,
        Err(e) => {
            st.warn(format!("{func}: {e}"));
            1
        }
    }
}

fn perf_read(mut c: Caller<'_, HostState>, r: i32, dst: i64) -> i32 {
    let (mem, st) = parts(&mut c);
    let Some(i) = reader_index(st, "perfReaderRead", r as u32) else { return 1 };
    let addr = (dst as u64 & 0xffff_ffff) as usize;
    let len = (dst as u64 >> 32) as usize;
    let Some(buf) = addr.checked_add(len).and_then(|end| mem.get_mut(addr..end)) else {
        st.warn("perfReaderRead: invalid destination buffer");
        return 1;
    };
    let expiry = st.call_expiry();
    let reader = &mut st.maps.readers[i].as_mut().expect("checked").reader;
    // Overwritable readers never block (deadline = creation time); others block until a
    // record arrives, the gadget stops (D7) or the running guest call's deadline passes
    // (then 2, deadline exceeded).
    let mode = if reader.is_overwritable() { ReadMode::NonBlocking } else { ReadMode::Deadline(expiry) };
    match reader.read(mode, buf) {
        ReadResult::Ok(_) => 0,
        ReadResult::DeadlineExceeded => 2,
        ReadResult::Closed => 1,
        ReadResult::Err(e) => {
            st.warn(format!("perfReaderRead: {e}"));
            1
        }
    }
}
