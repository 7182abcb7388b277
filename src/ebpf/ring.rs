//! Consumer of a `BPF_MAP_TYPE_RINGBUF` with its data pages mapped once.
//!
//! aya's `RingBuf` maps the data pages twice in a row (as the kernel allows) so that a record
//! crossing the end of the ring reads as one slice. The kernel inserts every page of such a
//! mapping at mmap time, so each mapping counts fully in the process's RSS: a 4 MiB ring
//! showed as 8 MiB per gadget although the kernel holds it once. Here the data pages are
//! mapped once and the rare record that wraps around is copied into a scratch buffer.
//! The protocol (positions, busy/discard bits, memory ordering, wakeups) follows aya 0.14's
//! `maps::ring_buf`.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{self, AtomicU32, AtomicUsize, Ordering};

use anyhow::{bail, Result};
use aya::maps::MapData;

const BUSY_BIT: u32 = 1 << 31;
const DISCARD_BIT: u32 = 1 << 30;
const HDR_SZ: usize = 8;

struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    fn new(fd: BorrowedFd<'_>, len: usize, prot: libc::c_int, offset: usize) -> Result<Mapping> {
        use std::os::fd::AsRawFd;
        // SAFETY: a fresh shared mapping of the map's fd; unmapped on drop.
        let ptr = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd.as_raw_fd(), offset as libc::off_t) };
        if ptr == libc::MAP_FAILED {
            bail!("mmap of the ring buffer ({len} bytes at {offset}): {}", std::io::Error::last_os_error());
        }
        Ok(Mapping { ptr, len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: mapped in `new` with this length.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// A ring buffer map's consumer (one reader thread).
pub struct RingReader {
    /// The map and its two mappings: the consumer page (read-write), and the producer page
    /// and data pages (read-only). `None` in unit tests.
    owned: Option<(MapData, Mapping, Mapping)>,
    consumer: *const AtomicUsize,
    producer: *const u8,
    page: usize,
    mask: usize,
    pos: usize,
    producer_cache: usize,
    needs_wakeup: bool,
    /// A record that wraps around the end of the ring, made contiguous.
    scratch: Vec<u8>,
}

// SAFETY: the mappings are owned by the reader and only used through `&mut self`.
unsafe impl Send for RingReader {}

impl RingReader {
    pub fn new(map: MapData) -> Result<RingReader> {
        // SAFETY: plain sysconf.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        let size = map.info()?.max_entries() as usize;
        if size == 0 || !size.is_power_of_two() || !size.is_multiple_of(page) {
            bail!("ring buffer size {size} is not a power-of-two multiple of the page size");
        }
        let fd = map.fd().as_fd();
        let consumer = Mapping::new(fd, page, libc::PROT_READ | libc::PROT_WRITE, 0)?;
        let producer = Mapping::new(fd, page + size, libc::PROT_READ, page)?;
        // SAFETY: the consumer page starts with the consumer position (read before the producer
        // data, as aya does; non-zero for a map used before).
        let (c, p) = (consumer.ptr as *const AtomicUsize, producer.ptr as *const u8);
        // SAFETY: the pointers stay valid while `owned` holds the mappings.
        Ok(unsafe { Self::with(Some((map, consumer, producer)), c, p, page, size) })
    }

    /// # Safety
    /// `consumer` points to the consumer position and `producer` to a producer page of
    /// `page` bytes followed by `size` data bytes, all valid as long as the reader.
    unsafe fn with(owned: Option<(MapData, Mapping, Mapping)>, consumer: *const AtomicUsize, producer: *const u8, page: usize, size: usize) -> RingReader {
        let pos = unsafe { &*consumer }.load(Ordering::Acquire);
        let mut r = RingReader { owned, consumer, producer, page, mask: size - 1, pos, producer_cache: 0, needs_wakeup: false, scratch: Vec::new() };
        r.producer_cache = r.producer_pos();
        r
    }

    /// Size in bytes of the ring's data area.
    pub fn capacity(&self) -> usize {
        self.mask + 1
    }

    fn producer_pos(&self) -> usize {
        // SAFETY: the producer page starts with the producer position, written by the kernel
        // with Release.
        unsafe { &*(self.producer as *const AtomicUsize) }.load(Ordering::Acquire)
    }

    fn data(&self) -> *const u8 {
        // SAFETY: the data pages follow the producer page in the mapping.
        unsafe { self.producer.add(self.page) }
    }

    fn consume(&mut self, len: usize) {
        self.pos += (HDR_SZ + len).next_multiple_of(8);
        // Publish after reading the record: the kernel pairs this with an Acquire load before
        // reusing its storage.
        // SAFETY: the consumer page starts with the consumer position.
        unsafe { &*self.consumer }.store(self.pos, Ordering::Release);
        self.needs_wakeup = true;
    }

    fn data_available(&mut self) -> bool {
        if self.pos == self.producer_cache {
            if self.needs_wakeup {
                // Either this sees a new record or its producer sees the updated consumer
                // position and sends a notification.
                atomic::fence(Ordering::SeqCst);
                self.needs_wakeup = false;
            }
            self.producer_cache = self.producer_pos();
        }
        self.pos != self.producer_cache
    }

    /// Hands the next committed record to `f`; false when there is none.
    pub fn next(&mut self, f: &mut dyn FnMut(&[u8])) -> bool {
        let size = self.mask + 1;
        while self.data_available() {
            let off = self.pos & self.mask;
            // SAFETY: headers are 8-byte aligned inside the data pages (never wrap).
            let header = unsafe { &*(self.data().add(off) as *const AtomicU32) }.load(Ordering::Acquire);
            if header & BUSY_BIT != 0 {
                if !self.needs_wakeup {
                    return false;
                }
                atomic::fence(Ordering::SeqCst);
                self.needs_wakeup = false;
                continue;
            }
            let len = (header as usize) & self.mask;
            if header & DISCARD_BIT == 0 {
                let data = self.data();
                let start = (off + HDR_SZ) & self.mask;
                if start + len <= size {
                    // SAFETY: inside the data pages; the kernel does not reuse them before
                    // the consumer position passes the record.
                    f(unsafe { std::slice::from_raw_parts(data.add(start), len) });
                } else {
                    let first = size - start;
                    self.scratch.clear();
                    // SAFETY: as above, in two parts: to the end of the ring and from its start.
                    unsafe {
                        self.scratch.extend_from_slice(std::slice::from_raw_parts(data.add(start), first));
                        self.scratch.extend_from_slice(std::slice::from_raw_parts(data, len - first));
                    }
                    f(&self.scratch);
                }
                self.consume(len);
                return true;
            }
            self.consume(len);
        }
        false
    }
}

impl AsFd for RingReader {
    fn as_fd(&self) -> BorrowedFd<'_> {
        #[allow(clippy::expect_used)]
        self.owned.as_ref().expect("a ring reader of a map").0.fd().as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records as the kernel lays them out (header: length | flags, then the sample, 8-byte
    /// aligned): a sample starting at the ring's start, a discarded record, one crossing the
    /// end of the ring, one still busy.
    #[test]
    fn reads_records_across_the_end_of_the_ring() {
        const PAGE: usize = 64;
        const SIZE: usize = 64;
        let mut mem = vec![0u64; (PAGE + SIZE) / 8];
        let cons = AtomicUsize::new(40);
        let base = mem.as_mut_ptr() as *mut u8;
        let put = |pos: usize, hdr: u32, sample: &[u8]| unsafe {
            std::ptr::write(base.add(PAGE + pos % SIZE) as *mut u32, hdr);
            for (i, b) in sample.iter().enumerate() {
                *base.add(PAGE + (pos + 8 + i) % SIZE) = *b;
            }
        };
        let produced = |pos: usize| unsafe { (*(base as *const AtomicUsize)).store(pos, Ordering::Release) };
        put(40, 5, b"hello");
        put(56, 12, b"abcdefghijkl"); // header at 56, sample at 0
        put(80, 3 | DISCARD_BIT, b"xyz");
        produced(96);
        let mut r = unsafe { RingReader::with(None, &cons, base, PAGE, SIZE) };
        let mut got = Vec::new();
        while r.next(&mut |b| got.push(b.to_vec())) {}
        assert_eq!(got, vec![b"hello".to_vec(), b"abcdefghijkl".to_vec()]);
        assert_eq!(cons.load(Ordering::Relaxed), 96);
        got.clear();
        put(96, 4, b"four");
        put(112, 17, b"0123456789ABCDEFG"); // sample at 56..73: wraps
        put(144, BUSY_BIT | 4, b"busy");
        produced(160);
        while r.next(&mut |b| got.push(b.to_vec())) {}
        assert_eq!(got, vec![b"four".to_vec(), b"0123456789ABCDEFG".to_vec()]);
        // Stopped at the busy record.
        assert_eq!(cons.load(Ordering::Relaxed), 144);
        // Committed: read on the next call.
        put(144, 4, b"done");
        assert!(r.next(&mut |b| got.push(b.to_vec())));
        assert_eq!(got.last().unwrap(), b"done");
        assert_eq!(cons.load(Ordering::Relaxed), 160);
        assert!(!r.next(&mut |_| panic!("nothing left")));
        drop(mem);
    }
}
