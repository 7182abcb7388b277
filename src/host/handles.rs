//! The per-instance handle table (ABI section 5.4) with gadgetrt's decision D2: the lowest free
//! handle number is allocated, live handles are capped at 4096, so every handle fits in 16 bits
//! and data-array composite handles always decode.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Maximum number of live handles.
pub const MAX_HANDLES: usize = 4096;
/// Bit marking a composite data-array element handle.
pub const ARRAY_FLAG: u32 = 1 << 31;
/// Largest element index a composite handle can carry.
pub const MAX_ARRAY_INDEX: u32 = 32767;

/// What a handle refers to. Roles are checked by the imports (ABI section 5.5).
#[derive(Clone, Debug)]
pub enum Obj {
    /// A data source (index into the host's data-source list).
    DataSource(usize),
    /// A field accessor: (data source, field index).
    Field(usize, usize),
    /// A single packet (Data + Packet roles), by packet id.
    Single(u64),
    /// An array packet (DataArray + Packet roles), by packet id.
    Array(u64),
    /// An element inside an array packet: (packet id, index) — Data role.
    Element(u64, usize),
    /// A free-standing new element from `dataArrayNew` (Data role), by packet id.
    NewElement(u64),
    /// An eBPF map (index into the host's map list).
    Map(usize),
    /// A perf reader (index into the host's reader list).
    PerfReader(usize),
}

/// Handle table: slot `h - 1` holds handle `h`.
#[derive(Default)]
pub struct Handles {
    slots: Vec<Option<Obj>>,
    free: BinaryHeap<Reverse<u32>>,
    live: usize,
}

impl Handles {
    /// Allocates the lowest free handle; 0 when the table is full.
    pub fn add(&mut self, obj: Obj) -> u32 {
        if let Some(Reverse(h)) = self.free.pop() {
            self.slots[h as usize - 1] = Some(obj);
            self.live += 1;
            return h;
        }
        if self.slots.len() >= MAX_HANDLES {
            return 0;
        }
        self.slots.push(Some(obj));
        self.live += 1;
        self.slots.len() as u32
    }

    pub fn get(&self, h: u32) -> Option<&Obj> {
        if h == 0 || h & ARRAY_FLAG != 0 {
            return None;
        }
        self.slots.get(h as usize - 1).and_then(|s| s.as_ref())
    }

    /// Deletes a handle; returns what it referred to.
    pub fn remove(&mut self, h: u32) -> Option<Obj> {
        if h == 0 || h & ARRAY_FLAG != 0 {
            return None;
        }
        let obj = self.slots.get_mut(h as usize - 1)?.take()?;
        self.live -= 1;
        // Trim the tail so the table shrinks back; otherwise remember the hole.
        if h as usize == self.slots.len() {
            self.slots.pop();
            while matches!(self.slots.last(), Some(None)) {
                self.slots.pop();
            }
            let len = self.slots.len() as u32;
            if self.free.iter().any(|Reverse(f)| *f > len) {
                self.free.retain(|Reverse(f)| *f <= len);
            }
        } else {
            self.free.push(Reverse(h));
        }
        Some(obj)
    }

    pub fn live(&self) -> usize {
        self.live
    }

    /// Drops every handle (D8: done at Stop after the owning objects were closed).
    pub fn clear(&mut self) -> Vec<Obj> {
        self.free.clear();
        self.live = 0;
        self.slots.drain(..).flatten().collect()
    }

    pub fn iter(&self) -> impl Iterator<Item = (u32, &Obj)> {
        self.slots.iter().enumerate().filter_map(|(i, s)| s.as_ref().map(|o| (i as u32 + 1, o)))
    }
}

/// Builds the composite handle `bit31 | index << 16 | array`.
pub fn composite(array: u32, index: u32) -> u32 {
    ARRAY_FLAG | (index << 16) | (array & 0xffff)
}

/// Splits a composite handle into (array handle, index).
pub fn decompose(h: u32) -> Option<(u32, u32)> {
    (h & ARRAY_FLAG != 0).then_some((h & 0xffff, (h & !ARRAY_FLAG) >> 16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_and_cap() {
        let mut t = Handles::default();
        assert_eq!(t.add(Obj::DataSource(0)), 1);
        assert_eq!(t.add(Obj::DataSource(1)), 2);
        assert_eq!(t.add(Obj::DataSource(2)), 3);
        assert!(t.remove(2).is_some());
        assert!(t.remove(2).is_none());
        assert_eq!(t.add(Obj::DataSource(3)), 2);
        // A temporary handle allocated and released many times stays small (D2).
        for _ in 0..100_000 {
            let h = t.add(Obj::Single(7));
            assert_eq!(h, 4);
            t.remove(h);
        }
        for i in 3..MAX_HANDLES {
            assert_ne!(t.add(Obj::DataSource(i)), 0);
        }
        assert_eq!(t.add(Obj::DataSource(0)), 0, "table full");
        assert_eq!(t.live(), MAX_HANDLES);
        assert!(t.get(0).is_none());
        assert!(t.get(composite(1, 3)).is_none());
        assert_eq!(decompose(composite(4095, 32767)), Some((4095, 32767)));
    }
}
