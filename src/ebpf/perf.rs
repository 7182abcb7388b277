//! A perf-event-array reader with the semantics IG's wasm host gets from
//! cilium/ebpf's `perf.Reader` (ABI spec §1.10, §3.8; decisions D6–D8).
//!
//! aya 0.14 has no overwritable (backward) rings, no pause/resume and no read
//! deadline, so this module drives `perf_event_open(2)` + `mmap(2)` itself.
//!
//! Behaviour, and how it maps onto cilium's reader:
//! - One ring per possible CPU (CPUs ≥ the map's `max_entries` are skipped, an
//!   offline CPU (`ENODEV`) is skipped like cilium does). Each ring is a software
//!   `PERF_COUNT_SW_BPF_OUTPUT` event with `PERF_SAMPLE_RAW`, woken up on every
//!   record, mapped as 1 metadata page + N data pages where N is the per-CPU
//!   byte size rounded up to a power-of-two number of pages.
//! - **Ordinary rings** are mapped read-write and read forward from the tail;
//!   the consumed position is published in `data_tail` after every record.
//! - **Overwritable rings** use `write_backward` and a read-only mapping (the
//!   kernel then overwrites the oldest data). They can only be read while the
//!   reader is paused; every (re)load of a ring yields the records written since
//!   the previous load, newest first, and at most one ring's worth (the
//!   partially overwritten oldest record is skipped). A pass left half-read when
//!   the reader is resumed is abandoned rather than continued over ranges the
//!   kernel may have overwritten meanwhile (cilium would continue it).
//! - **Pause/resume** remove/re-insert this reader's event fds in the
//!   PERF_EVENT_ARRAY, exactly as cilium/ebpf v0.22 does (a BPF program's
//!   `bpf_perf_event_output` then fails with `ENOENT`). This is deliberately *not*
//!   `PERF_EVENT_IOC_PAUSE_OUTPUT`: with that ioctl the kernel counts the samples
//!   dropped during the pause and emits a `PERF_RECORD_LOST` into the ring on the
//!   next write, which IG guests would then read as an empty sample (their
//!   buffer keeping the previous record's bytes) — a behaviour IG never shows.
//! - [`PerfReader::read`] returns one record per call. A `PERF_RECORD_LOST`
//!   record adds to [`PerfReader::lost`] and is returned as an empty sample
//!   (`ReadResult::Ok(0)`), as cilium returns a `Record` with an empty
//!   `RawSample` (IG then answers 0 to the guest). A sample larger than the
//!   destination is an error and that record is consumed (lost).
//! - The read loop follows cilium's `ReadInto`: when no ring is pending it
//!   waits on epoll (all rings + a stop eventfd) until the deadline, then
//!   (re)loads the head of *every* ring and drains them one by one; once all are
//!   drained after the deadline passed it reports `DeadlineExceeded`. With a
//!   deadline in the past (IG's overwritable readers) a read never blocks.
//! - Samples are returned with the kernel's padding (raw size rounded so that
//!   `4 + size` is a multiple of 8), as cilium does.
//! - [`PerfStopper::stop`] wakes a blocked read and makes it, and every later
//!   read, return `Closed`; a blocking read therefore never outlives Stop (D7).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::maps::{possible_cpu_ids, RawMap, BPF_ANY, MAP_TYPE_PERF_EVENT_ARRAY};

// include/uapi/linux/perf_event.h
const PERF_TYPE_SOFTWARE: u32 = 1;
const PERF_COUNT_SW_BPF_OUTPUT: u64 = 10;
const PERF_SAMPLE_RAW: u64 = 1 << 10;
/// `perf_event_attr` flag bit `write_backward`.
const ATTR_WRITE_BACKWARD: u64 = 1 << 27;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;
/// `_IO('$', 0)`.
const PERF_EVENT_IOC_ENABLE: libc::c_ulong = 0x2400;
const PERF_RECORD_LOST: u32 = 2;
const PERF_RECORD_SAMPLE: u32 = 9;

/// Offsets of `data_head`, `data_tail`, `data_offset`, `data_size` in
/// `struct perf_event_mmap_page`.
const META_DATA_HEAD: usize = 1024;
const META_DATA_TAIL: usize = 1032;
const META_DATA_OFFSET: usize = 1040;
const META_DATA_SIZE: usize = 1048;

/// `struct perf_event_header`.
const HEADER_LEN: u64 = 8;

/// epoll token of the stop eventfd (ring tokens are ring indexes).
const STOP_TOKEN: u64 = u64::MAX;

/// Error text for reading an overwritable ring that is not paused (IG's guest
/// sees only the return code 1).
pub const ERR_MUST_BE_PAUSED: &str = "overwritable ring must be paused before reading";

/// `struct perf_event_attr` up to `config3` (`PERF_ATTR_SIZE_VER8`, 136 bytes).
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    type_: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    /// The bitfield word (`disabled` = bit 0 … `write_backward` = bit 27 …).
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
    config2: u64,
    branch_sample_type: u64,
    sample_regs_user: u64,
    sample_stack_user: u32,
    clockid: i32,
    sample_regs_intr: u64,
    aux_watermark: u32,
    sample_max_stack: u16,
    reserved_2: u16,
    aux_sample_size: u32,
    reserved_3: u32,
    sig_data: u64,
    config3: u64,
}

const _: () = assert!(std::mem::size_of::<PerfEventAttr>() == 136);

/// How long [`PerfReader::read`] may wait when no record is pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// Wait until a record arrives or the reader is stopped.
    Block,
    /// Never wait: drain what is present, then `DeadlineExceeded`.
    NonBlocking,
    /// Wait until this instant at most (an instant in the past = `NonBlocking`;
    /// IG uses the reader's creation time for overwritable readers).
    Deadline(Instant),
}

/// Outcome of one [`PerfReader::read`] (IG codes: `Ok` → 0,
/// `DeadlineExceeded` → 2, `Closed`/`Err` → 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadResult {
    /// One record was consumed; this many sample bytes were copied to the start
    /// of `dst` (0 for a lost-samples record).
    Ok(usize),
    /// Every record present was drained and the deadline has passed.
    DeadlineExceeded,
    /// The reader was stopped.
    Closed,
    /// Anything else (not paused, sample too large, corrupt ring, epoll error).
    Err(String),
}

struct StopState {
    efd: OwnedFd,
    stopped: AtomicBool,
}

/// Stops a [`PerfReader`] from any thread: wakes a blocked `read` and makes it
/// and all later reads return [`ReadResult::Closed`]. Cheap to clone.
#[derive(Clone)]
pub struct PerfStopper(Arc<StopState>);

impl PerfStopper {
    /// Idempotent; safe to call after the reader is gone.
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::SeqCst);
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our own eventfd. A full
        // counter (EAGAIN) still leaves the fd readable, which is all we need.
        unsafe {
            libc::write(
                self.0.efd.as_raw_fd(),
                &one as *const u64 as *const libc::c_void,
                8,
            );
        }
    }

    /// Whether [`stop`](Self::stop) has been called.
    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for PerfStopper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerfStopper")
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

/// One CPU's perf event and its mapped ring.
struct Ring {
    cpu: u32,
    fd: OwnedFd,
    /// Start of the mapping (metadata page).
    base: NonNull<u8>,
    map_len: usize,
    /// Data area (`data_offset` into the mapping) and its size (power of two).
    data: NonNull<u8>,
    size: u64,
    /// Forward: kernel head loaded for this pass, our tail.
    /// Reverse: head = where the last loaded pass started, `read` = cursor,
    /// `tail` = end of the data written since the previous load.
    head: u64,
    tail: u64,
    read: u64,
}

// SAFETY: the mapping is owned by the Ring and freed in Drop; the memory is
// only read (plus one atomic store to data_tail) through `&mut PerfReader`.
unsafe impl Send for Ring {}
// SAFETY: no `&self` method of Ring touches the mapping.
unsafe impl Sync for Ring {}

/// What the next record of a ring is.
enum Next {
    /// Nothing (more) to read in this pass.
    End,
    Sample {
        pos: u64,
        len: usize,
    },
    Lost(u64),
    /// Record consumed but unusable.
    Bad(String),
}

impl Ring {
    fn meta_u64(&self, off: usize) -> &AtomicU64 {
        // SAFETY: off is one of the 8-byte aligned metadata fields inside the
        // first (page-aligned) page of the live mapping.
        unsafe { &*(self.base.as_ptr().add(off) as *const AtomicU64) }
    }

    fn data_head(&self) -> u64 {
        // Acquire pairs with the kernel's smp_wmb before updating data_head.
        self.meta_u64(META_DATA_HEAD).load(Ordering::Acquire)
    }

    /// Starts a new pass over the ring (cilium's `loadHead`).
    fn load_head(&mut self, overwritable: bool) {
        if overwritable {
            // Records already returned (or skipped) end where the last pass began.
            self.tail = self.head;
            self.head = self.data_head();
            self.read = self.head;
            if self.tail.wrapping_sub(self.head) > self.size {
                // Written all the way round: at most one ring of data is valid.
                self.tail = self.head.wrapping_add(self.size);
            }
        } else {
            self.head = self.data_head();
        }
    }

    /// Copies `dst.len()` bytes starting at ring position `pos`, in two parts
    /// when the range wraps. The caller guarantees `dst.len() <= size`.
    fn copy_out(&self, pos: u64, dst: &mut [u8]) {
        let mask = self.size - 1;
        let start = (pos & mask) as usize;
        let first = dst.len().min(self.size as usize - start);
        // SAFETY: [start, start+first) and [0, len-first) lie inside the data
        // area of `size` bytes; dst is a distinct, writable Rust buffer.
        unsafe {
            std::ptr::copy_nonoverlapping(self.data.as_ptr().add(start), dst.as_mut_ptr(), first);
            std::ptr::copy_nonoverlapping(
                self.data.as_ptr(),
                dst.as_mut_ptr().add(first),
                dst.len() - first,
            );
        }
    }

    fn read_u32(&self, pos: u64) -> u32 {
        let mut b = [0u8; 4];
        self.copy_out(pos, &mut b);
        u32::from_ne_bytes(b)
    }

    fn read_u64(&self, pos: u64) -> u64 {
        let mut b = [0u8; 8];
        self.copy_out(pos, &mut b);
        u64::from_ne_bytes(b)
    }

    /// Parses and consumes the next record of the current pass.
    fn next(&mut self, overwritable: bool) -> Next {
        let (cursor, limit) = if overwritable {
            (self.read, self.tail)
        } else {
            (self.tail, self.head)
        };
        let avail = limit.wrapping_sub(cursor);
        if avail == 0 {
            return Next::End;
        }
        let valid = avail >= HEADER_LEN && avail <= self.size;
        let (kind, rec_len) = if valid {
            let mut h = [0u8; 8];
            self.copy_out(cursor, &mut h);
            let kind = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]);
            (kind, u64::from(u16::from_ne_bytes([h[6], h[7]])))
        } else {
            (0, 0)
        };
        if !valid || rec_len < HEADER_LEN || rec_len > avail {
            if overwritable {
                // The oldest record of a wrapped ring is partly overwritten.
                return Next::End;
            }
            // The kernel never produces this: resynchronise by dropping all.
            self.tail = self.head;
            self.commit_tail();
            return Next::Bad(format!("corrupt perf ring on CPU {}", self.cpu));
        }
        let body = cursor.wrapping_add(HEADER_LEN);
        let body_len = rec_len - HEADER_LEN;
        let next = match kind {
            PERF_RECORD_SAMPLE if body_len >= 4 => {
                let len = u64::from(self.read_u32(body));
                if 4 + len <= body_len {
                    Next::Sample {
                        pos: body.wrapping_add(4),
                        len: len as usize,
                    }
                } else {
                    Next::Bad("malformed perf sample record".into())
                }
            }
            // struct { u64 id; u64 lost; }
            PERF_RECORD_LOST if body_len >= 16 => Next::Lost(self.read_u64(body.wrapping_add(8))),
            PERF_RECORD_SAMPLE | PERF_RECORD_LOST => Next::Bad("truncated perf record".into()),
            other => Next::Bad(format!("unknown perf record type {other}")),
        };
        // Consume the record (its bytes stay valid until the tail is published).
        if overwritable {
            self.read = cursor.wrapping_add(rec_len);
        } else {
            self.tail = cursor.wrapping_add(rec_len);
        }
        next
    }

    /// Publishes the consumed position to the kernel (ordinary rings only).
    fn commit_tail(&self) {
        // Release: our reads of the record happen before the kernel may reuse it.
        self.meta_u64(META_DATA_TAIL)
            .store(self.tail, Ordering::Release);
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: base/map_len describe our own live mapping, unmapped once.
        unsafe {
            libc::munmap(self.base.as_ptr() as *mut libc::c_void, self.map_len);
        }
    }
}

/// Reader for a `PERF_EVENT_ARRAY`: one ring per CPU, see the module docs.
pub struct PerfReader {
    /// A duplicate of the array's fd: entries installed through it stay valid
    /// while it is open, and pause/resume/close edit the array through it.
    map: RawMap,
    rings: Vec<Ring>,
    epoll: OwnedFd,
    stop: Arc<StopState>,
    overwritable: bool,
    paused: AtomicBool,
    /// Bumped by every `resume`; a pass begun before a resume is abandoned.
    resumes: AtomicU64,
    /// `resumes` when the current pass was loaded.
    pass_resumes: u64,
    lost: u64,
    buffer_size: usize,
    /// Rings still to drain in this pass (indexes into `rings`, drained from the back).
    pending: Vec<usize>,
    /// The last wait hit the deadline: report it once the pass is drained.
    deadline_hit: bool,
    events: Vec<libc::epoll_event>,
}

impl std::fmt::Debug for PerfReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerfReader")
            .field("map_id", &self.map.info().id)
            .field(
                "cpus",
                &self.rings.iter().map(|r| r.cpu).collect::<Vec<_>>(),
            )
            .field("overwritable", &self.overwritable)
            .field("paused", &self.is_paused())
            .field("lost", &self.lost)
            .field("buffer_size", &self.buffer_size)
            .finish()
    }
}

fn last_err() -> io::Error {
    io::Error::last_os_error()
}

fn epoll_add(epoll: BorrowedFd<'_>, fd: BorrowedFd<'_>, token: u64) -> io::Result<()> {
    let mut ev = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: token,
    };
    // SAFETY: both fds are open; ev is a valid epoll_event.
    let r = unsafe {
        libc::epoll_ctl(
            epoll.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            fd.as_raw_fd(),
            &mut ev,
        )
    };
    if r < 0 {
        Err(last_err())
    } else {
        Ok(())
    }
}

pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p)
        .ok()
        .filter(|p| p.is_power_of_two())
        .unwrap_or(4096)
}

/// Opens and maps one CPU's ring.
fn open_ring(cpu: u32, pages: usize, page: usize, overwritable: bool) -> io::Result<Ring> {
    let mut attr = PerfEventAttr {
        type_: PERF_TYPE_SOFTWARE,
        size: std::mem::size_of::<PerfEventAttr>() as u32,
        config: PERF_COUNT_SW_BPF_OUTPUT,
        sample_type: PERF_SAMPLE_RAW,
        wakeup_events: 1,
        ..Default::default()
    };
    if overwritable {
        attr.flags |= ATTR_WRITE_BACKWARD;
    }
    // SAFETY: attr is a valid perf_event_attr of the size it declares.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &mut attr as *mut PerfEventAttr,
            -1 as libc::c_int,
            cpu as libc::c_int,
            -1 as libc::c_int,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(last_err());
    }
    // SAFETY: the kernel just returned this fd; we are its only owner.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };

    let map_len = (pages + 1) * page;
    let prot = if overwritable {
        libc::PROT_READ
    } else {
        libc::PROT_READ | libc::PROT_WRITE
    };
    // SAFETY: a fresh shared mapping of the perf fd; checked below.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            map_len,
            prot,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    if base == libc::MAP_FAILED {
        return Err(last_err());
    }
    let base =
        NonNull::new(base as *mut u8).ok_or_else(|| io::Error::from_raw_os_error(libc::ENOMEM))?;
    let mut ring = Ring {
        cpu,
        fd,
        base,
        map_len,
        data: base,
        size: 0,
        head: 0,
        tail: 0,
        read: 0,
    };
    // Locate the data area; kernels since 4.1 publish it in the metadata page.
    let mut off = ring.meta_u64(META_DATA_OFFSET).load(Ordering::Relaxed) as usize;
    let mut size = ring.meta_u64(META_DATA_SIZE).load(Ordering::Relaxed) as usize;
    if off == 0 || size == 0 || !size.is_power_of_two() || off.checked_add(size) != Some(map_len) {
        off = page;
        size = pages * page;
    }
    // SAFETY: off < map_len, inside the mapping.
    ring.data = unsafe { NonNull::new_unchecked(base.as_ptr().add(off)) };
    ring.size = size as u64;
    ring.head = ring.data_head();
    ring.tail = if overwritable {
        ring.head
    } else {
        ring.meta_u64(META_DATA_TAIL).load(Ordering::Relaxed)
    };
    ring.read = ring.head;

    // SAFETY: plain ioctl on our perf fd.
    if unsafe { libc::ioctl(ring.fd.as_raw_fd(), PERF_EVENT_IOC_ENABLE, 0) } < 0 {
        return Err(last_err());
    }
    Ok(ring)
}

impl PerfReader {
    /// Creates a reader for `map` (which must be a `PERF_EVENT_ARRAY`) with
    /// `per_cpu_bytes` of ring per CPU (rounded up to a power-of-two number of
    /// pages; 0 is `EINVAL`, as in cilium), installs the rings in the array and
    /// starts unpaused.
    pub fn new(map: &RawMap, per_cpu_bytes: u32, overwritable: bool) -> io::Result<PerfReader> {
        if map.info().map_type != MAP_TYPE_PERF_EVENT_ARRAY {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "map is not a PERF_EVENT_ARRAY",
            ));
        }
        if per_cpu_bytes == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "per-CPU buffer size must be > 0",
            ));
        }
        let page = page_size();
        let pages = (per_cpu_bytes as usize)
            .div_ceil(page)
            .checked_next_power_of_two()
            .filter(|p| p.checked_add(1).and_then(|n| n.checked_mul(page)).is_some())
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOMEM))?;

        // SAFETY: plain syscalls creating new descriptors, checked below.
        let epfd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epfd < 0 {
            return Err(last_err());
        }
        // SAFETY: fresh fd, owned here.
        let epoll = unsafe { OwnedFd::from_raw_fd(epfd) };
        // SAFETY: as above.
        let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if efd < 0 {
            return Err(last_err());
        }
        // SAFETY: fresh fd, owned here.
        let efd = unsafe { OwnedFd::from_raw_fd(efd) };
        epoll_add(epoll.as_fd(), efd.as_fd(), STOP_TOKEN)?;

        let max_entries = map.info().max_entries;
        let mut rings = Vec::new();
        for &cpu in possible_cpu_ids().iter().filter(|&&c| c < max_entries) {
            match open_ring(cpu, pages, page, overwritable) {
                Ok(ring) => rings.push(ring),
                // Offline CPU: skip it, like cilium.
                Err(e) if e.raw_os_error() == Some(libc::ENODEV) => continue,
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("perf ring for CPU {cpu}: {e}"),
                    ))
                }
            }
            let idx = rings.len() - 1;
            epoll_add(epoll.as_fd(), rings[idx].fd.as_fd(), idx as u64)?;
        }
        if rings.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no CPU available for a perf ring",
            ));
        }
        let n = rings.len();
        let reader = PerfReader {
            map: map.try_clone()?,
            rings,
            epoll,
            stop: Arc::new(StopState {
                efd,
                stopped: AtomicBool::new(false),
            }),
            overwritable,
            paused: AtomicBool::new(true),
            resumes: AtomicU64::new(0),
            pass_resumes: 0,
            lost: 0,
            buffer_size: pages * page,
            pending: Vec::with_capacity(n),
            deadline_hit: false,
            events: vec![libc::epoll_event { events: 0, u64: 0 }; n + 1],
        };
        // Install the event fds (dropping `reader` on error removes them again).
        reader.resume()?;
        Ok(reader)
    }

    /// A handle that stops this reader from another thread (see [`PerfStopper`]).
    pub fn stopper(&self) -> PerfStopper {
        PerfStopper(self.stop.clone())
    }

    /// Same as `self.stopper().stop()`.
    pub fn stop(&self) {
        self.stopper().stop();
    }

    /// Stops BPF programs from writing into this reader's rings by removing its
    /// event fds from the array (cilium semantics; see the module docs).
    /// Required before reading an overwritable reader.
    pub fn pause(&self) -> io::Result<()> {
        for ring in &self.rings {
            match self.map.delete(&ring.cpu.to_ne_bytes()) {
                Err(e) if e.raw_os_error() != Some(libc::ENOENT) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("removing perf event fd for CPU {}: {e}", ring.cpu),
                    ))
                }
                _ => {}
            }
        }
        self.paused.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Lets BPF programs write again by (re)installing the event fds.
    pub fn resume(&self) -> io::Result<()> {
        for ring in &self.rings {
            let fd = ring.fd.as_raw_fd() as u32;
            self.map
                .update(&ring.cpu.to_ne_bytes(), &fd.to_ne_bytes(), BPF_ANY)
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("installing perf event fd for CPU {}: {e}", ring.cpu),
                    )
                })?;
        }
        self.paused.store(false, Ordering::SeqCst);
        self.resumes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }

    /// Whether the reader is paused.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// Whether the rings are overwritable (backward).
    pub fn is_overwritable(&self) -> bool {
        self.overwritable
    }

    /// Total samples the kernel reported lost (`PERF_RECORD_LOST`) so far.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    /// Size in bytes of each per-CPU ring's data area.
    pub fn buffer_size(&self) -> usize {
        self.buffer_size
    }

    /// The CPUs that have a ring.
    pub fn cpus(&self) -> Vec<u32> {
        self.rings.iter().map(|r| r.cpu).collect()
    }

    /// Reads one record into `dst` (see the module docs for the semantics).
    pub fn read(&mut self, mode: ReadMode, dst: &mut [u8]) -> ReadResult {
        if self.stop.stopped.load(Ordering::SeqCst) {
            return ReadResult::Closed;
        }
        if self.overwritable && !self.is_paused() {
            return ReadResult::Err(ERR_MUST_BE_PAUSED.into());
        }
        // Writers ran since this pass was loaded: its remaining ranges may have
        // been overwritten (overwritable rings), so start a fresh pass. (cilium
        // keeps the stale pass; this only matters for a guest that resumes
        // before draining.)
        let resumes = self.resumes.load(Ordering::SeqCst);
        if resumes != self.pass_resumes {
            self.pending.clear();
            self.deadline_hit = false;
            self.pass_resumes = resumes;
        }
        loop {
            let Some(&idx) = self.pending.last() else {
                if std::mem::take(&mut self.deadline_hit) {
                    return ReadResult::DeadlineExceeded;
                }
                match self.wait(mode) {
                    Ok(hit) => self.deadline_hit = hit,
                    Err(r) => return r,
                }
                // Waking up is expensive: look at every ring, not only the
                // ones epoll reported (as cilium does).
                for (i, ring) in self.rings.iter_mut().enumerate() {
                    ring.load_head(self.overwritable);
                    self.pending.push(i);
                }
                continue;
            };
            let ring = &mut self.rings[idx];
            let res = match ring.next(self.overwritable) {
                Next::End => {
                    self.pending.pop();
                    continue;
                }
                Next::Sample { pos, len } => {
                    if len > dst.len() {
                        ReadResult::Err(format!(
                            "perf sample of {len} bytes does not fit a {}-byte buffer",
                            dst.len()
                        ))
                    } else {
                        ring.copy_out(pos, &mut dst[..len]);
                        ReadResult::Ok(len)
                    }
                }
                Next::Lost(n) => {
                    self.lost = self.lost.saturating_add(n);
                    ReadResult::Ok(0)
                }
                Next::Bad(msg) => ReadResult::Err(msg),
            };
            if !self.overwritable {
                ring.commit_tail();
            }
            return res;
        }
    }

    /// Waits for ring activity. `Ok(true)` = the deadline has passed (rings
    /// are still checked once), `Ok(false)` = woken by a ring.
    fn wait(&mut self, mode: ReadMode) -> Result<bool, ReadResult> {
        loop {
            let timeout: libc::c_int = match mode {
                ReadMode::Block => -1,
                ReadMode::NonBlocking => 0,
                ReadMode::Deadline(t) => {
                    let left = t.saturating_duration_since(Instant::now());
                    // Round up so we never wake before the deadline.
                    let ms = left.as_nanos().div_ceil(1_000_000);
                    libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
                }
            };
            // SAFETY: events is a live buffer of events.len() entries.
            let n = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    self.events.as_mut_ptr(),
                    libc::c_int::try_from(self.events.len()).unwrap_or(libc::c_int::MAX),
                    timeout,
                )
            };
            if n < 0 {
                let e = last_err();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(ReadResult::Err(format!("epoll_wait: {e}")));
            }
            let n = n as usize;
            if self.events[..n].iter().any(|ev| ev.u64 == STOP_TOKEN)
                || self.stop.stopped.load(Ordering::SeqCst)
            {
                return Err(ReadResult::Closed);
            }
            if n > 0 {
                return Ok(false);
            }
            match mode {
                ReadMode::Block => continue,
                ReadMode::NonBlocking => return Ok(true),
                ReadMode::Deadline(t) if Instant::now() >= t => return Ok(true),
                ReadMode::Deadline(_) => continue,
            }
        }
    }

    /// Closes the reader (same as dropping it).
    pub fn close(self) {}
}

impl Drop for PerfReader {
    fn drop(&mut self) {
        // Detach our rings so BPF programs stop writing into them and the
        // array no longer pins the perf events (errors are irrelevant here;
        // the entries also go away when the array's last fd is closed).
        for ring in &self.rings {
            let _ = self.map.delete(&ring.cpu.to_ne_bytes());
        }
        // Rings unmap and close in their own Drop; epoll/eventfd close with
        // their OwnedFd (the eventfd lives on while a PerfStopper exists).
    }
}

#[cfg(test)]
mod tests {
    use super::super::maps::{sys_bpf, MapSpec};
    use super::*;
    use std::time::Duration;

    const MAGIC: i32 = 0x0bad_cafe;

    fn bpf_available() -> bool {
        match RawMap::create(super::super::maps::MAP_TYPE_ARRAY, 4, 4, 1, "probe") {
            Ok(_) => true,
            Err(e) => {
                eprintln!("skipping: cannot create bpf maps here: {e}");
                false
            }
        }
    }

    fn gettid() -> u32 {
        // SAFETY: gettid has no preconditions.
        unsafe { libc::syscall(libc::SYS_gettid) as u32 }
    }

    fn getpid_syscall() {
        // SAFETY: getpid has no preconditions.
        unsafe {
            libc::syscall(libc::SYS_getpid);
        }
    }

    /// Pins the calling thread to one CPU so its records land in one ring in order.
    fn pin_to_cpu(cpu: usize) {
        // SAFETY: a zeroed cpu_set_t is valid; CPU_SET stays in bounds.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            assert_eq!(
                libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set),
                0
            );
        }
    }

    /// Encodes one `struct bpf_insn`.
    fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> u64 {
        let mut b = [0u8; 8];
        b[0] = code;
        b[1] = (src << 4) | (dst & 0xf);
        b[2..4].copy_from_slice(&off.to_ne_bytes());
        b[4..8].copy_from_slice(&imm.to_ne_bytes());
        u64::from_ne_bytes(b)
    }

    /// `BPF_PROG_LOAD` member of `union bpf_attr` (fields up to expected_attach_type).
    #[repr(C, align(8))]
    #[derive(Default)]
    struct ProgLoadAttr {
        prog_type: u32,
        insn_cnt: u32,
        insns: u64,
        license: u64,
        log_level: u32,
        log_size: u32,
        log_buf: u64,
        kern_version: u32,
        prog_flags: u32,
        prog_name: [u8; 16],
        prog_ifindex: u32,
        expected_attach_type: u32,
    }

    /// A tracepoint program on syscalls/sys_enter_getpid that, for thread `tid`
    /// only, emits a 24-byte sample {pid_tgid, ktime_ns, MAGIC} with
    /// `bpf_perf_event_output(ctx, map, BPF_F_CURRENT_CPU, ...)`. The returned
    /// guard (prog fd, perf fd) detaches it when dropped.
    struct Probe {
        _prog: OwnedFd,
        _event: OwnedFd,
    }

    fn attach_probe(map: &RawMap, tid: u32) -> Option<Probe> {
        let Some(id) = ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]
            .iter()
            .find_map(|d| {
                std::fs::read_to_string(format!("{d}/events/syscalls/sys_enter_getpid/id")).ok()
            })
            .and_then(|s| s.trim().parse::<u64>().ok())
        else {
            eprintln!("skipping: no tracefs syscalls/sys_enter_getpid here");
            return None;
        };
        let fd = map.fd().as_raw_fd();
        let prog = [
            insn(0xbf, 6, 1, 0, 0),           // r6 = r1 (ctx)
            insn(0x85, 0, 0, 0, 14),          // call bpf_get_current_pid_tgid
            insn(0x56, 0, 0, 12, tid as i32), // if w0 != tid goto exit
            insn(0x7b, 10, 0, -24, 0),        // *(u64 *)(r10 - 24) = r0
            insn(0x85, 0, 0, 0, 5),           // call bpf_ktime_get_ns
            insn(0x7b, 10, 0, -16, 0),        // *(u64 *)(r10 - 16) = r0
            insn(0x7a, 10, 0, -8, MAGIC),     // *(u64 *)(r10 - 8) = MAGIC
            insn(0xbf, 1, 6, 0, 0),           // r1 = ctx
            insn(0x18, 2, 1, 0, fd),          // r2 = map (ld_imm64 pseudo map fd)
            insn(0, 0, 0, 0, 0),
            insn(0xb4, 3, 0, 0, -1),  // w3 = BPF_F_CURRENT_CPU
            insn(0xbf, 4, 10, 0, 0),  // r4 = r10
            insn(0x07, 4, 0, 0, -24), // r4 += -24
            insn(0xb7, 5, 0, 0, 24),  // r5 = 24
            insn(0x85, 0, 0, 0, 25),  // call bpf_perf_event_output
            insn(0xb7, 0, 0, 0, 0),   // exit: r0 = 0
            insn(0x95, 0, 0, 0, 0),   // exit
        ];
        let license = b"GPL\0";
        let mut log = vec![0u8; 64 * 1024];
        let mut attr = ProgLoadAttr {
            prog_type: 5, // BPF_PROG_TYPE_TRACEPOINT
            insn_cnt: prog.len() as u32,
            insns: prog.as_ptr() as u64,
            license: license.as_ptr() as u64,
            log_level: 1,
            log_size: log.len() as u32,
            log_buf: log.as_mut_ptr() as u64,
            ..Default::default()
        };
        attr.prog_name[..5].copy_from_slice(b"probe");
        // SAFETY: insns, license and log are live buffers of the declared sizes.
        let prog_fd = match unsafe { sys_bpf(5, &mut attr) } {
            Ok(fd) => unsafe { OwnedFd::from_raw_fd(fd as i32) },
            Err(e) => {
                let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
                panic!(
                    "BPF_PROG_LOAD: {e}\n{}",
                    String::from_utf8_lossy(&log[..end])
                );
            }
        };
        let mut pattr = PerfEventAttr {
            type_: 2, // PERF_TYPE_TRACEPOINT
            size: std::mem::size_of::<PerfEventAttr>() as u32,
            config: id,
            sample_period: 1,
            wakeup_events: 1,
            ..Default::default()
        };
        // pid 0 / cpu -1: this thread. (BPF on a tracepoint runs for every
        // task anyway, hence the tid filter in the program.)
        // SAFETY: pattr is a valid perf_event_attr.
        let efd = unsafe {
            libc::syscall(
                libc::SYS_perf_event_open,
                &mut pattr as *mut PerfEventAttr,
                0,
                -1,
                -1,
                PERF_FLAG_FD_CLOEXEC,
            )
        };
        assert!(
            efd >= 0,
            "perf_event_open(tracepoint): {}",
            io::Error::last_os_error()
        );
        // SAFETY: fresh fd.
        let event = unsafe { OwnedFd::from_raw_fd(efd as i32) };
        const PERF_EVENT_IOC_SET_BPF: libc::c_ulong = 0x4004_2408;
        // SAFETY: ioctls on our own perf fd.
        unsafe {
            assert_eq!(
                libc::ioctl(
                    event.as_raw_fd(),
                    PERF_EVENT_IOC_SET_BPF,
                    prog_fd.as_raw_fd()
                ),
                0
            );
            assert_eq!(libc::ioctl(event.as_raw_fd(), PERF_EVENT_IOC_ENABLE, 0), 0);
        }
        Some(Probe {
            _prog: prog_fd,
            _event: event,
        })
    }

    /// Checks one 28-byte sample (24 bytes + 4 bytes kernel padding) and
    /// returns its timestamp.
    fn check_sample(buf: &[u8], n: usize, tid: u32) -> u64 {
        assert_eq!(n, 28, "raw sample size includes the kernel's padding");
        let pid_tgid = u64::from_ne_bytes(buf[0..8].try_into().unwrap());
        assert_eq!(pid_tgid as u32, tid);
        assert_eq!(
            u64::from_ne_bytes(buf[16..24].try_into().unwrap()),
            MAGIC as u64
        );
        u64::from_ne_bytes(buf[8..16].try_into().unwrap())
    }

    fn perf_array() -> RawMap {
        RawMap::create(MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 0, "events").unwrap()
    }

    #[test]
    fn creation_errors() {
        if !bpf_available() {
            return;
        }
        let hash = RawMap::create(super::super::maps::MAP_TYPE_HASH, 4, 4, 4, "h").unwrap();
        assert!(PerfReader::new(&hash, 4096, false).is_err());
        let arr = perf_array();
        assert!(PerfReader::new(&arr, 0, false).is_err());
        let r = PerfReader::new(&arr, 1, true).unwrap();
        assert_eq!(r.buffer_size(), page_size());
        let r2 = PerfReader::new(&arr, page_size() as u32 * 2 + 1, false).unwrap();
        assert_eq!(r2.buffer_size(), page_size() * 4);
        assert_eq!(r.cpus().len(), super::super::maps::possible_cpus());
        // A 1-entry array gets a ring for CPU 0 only.
        let small = RawMap::create_with(&MapSpec {
            map_type: MAP_TYPE_PERF_EVENT_ARRAY,
            key_size: 4,
            value_size: 4,
            max_entries: 1,
            flags: 0,
            name: "small",
            inner_map: None,
        })
        .unwrap();
        assert_eq!(
            PerfReader::new(&small, 4096, false).unwrap().cpus(),
            vec![0]
        );
    }

    #[test]
    fn ordinary_reader_receives_records_and_wraps() {
        if !bpf_available() {
            return;
        }
        let arr = perf_array();
        let mut reader = PerfReader::new(&arr, 4096, false).unwrap();
        pin_to_cpu(0);
        let tid = gettid();
        let Some(_probe) = attach_probe(&arr, tid) else {
            return;
        };
        let mut buf = [0u8; 64];
        // Nothing yet.
        assert_eq!(
            reader.read(ReadMode::NonBlocking, &mut buf),
            ReadResult::DeadlineExceeded
        );
        // 40-byte records in a 4096-byte ring: several rounds wrap it, and
        // records straddle the end (copied in two parts).
        let mut last_ts = 0;
        for round in 0..6 {
            const N: usize = 70;
            for _ in 0..N {
                getpid_syscall();
            }
            for i in 0..N {
                match reader.read(ReadMode::Block, &mut buf) {
                    ReadResult::Ok(n) => {
                        let ts = check_sample(&buf, n, tid);
                        assert!(ts > last_ts, "round {round} record {i}: forward order");
                        last_ts = ts;
                    }
                    other => panic!("round {round} record {i}: {other:?}"),
                }
            }
            assert_eq!(
                reader.read(ReadMode::NonBlocking, &mut buf),
                ReadResult::DeadlineExceeded
            );
        }
        assert_eq!(reader.lost(), 0);

        // Too small a destination: error, and the record is consumed.
        getpid_syscall();
        getpid_syscall();
        let mut tiny = [0u8; 8];
        assert!(matches!(
            reader.read(ReadMode::Block, &mut tiny),
            ReadResult::Err(_)
        ));
        assert!(matches!(
            reader.read(ReadMode::Block, &mut buf),
            ReadResult::Ok(28)
        ));
        assert_eq!(
            reader.read(ReadMode::NonBlocking, &mut buf),
            ReadResult::DeadlineExceeded
        );

        // Overflow: 200 records into a 102-record ring loses some; the next
        // write after space frees up emits a PERF_RECORD_LOST.
        for _ in 0..200 {
            getpid_syscall();
        }
        let mut got = 0;
        while let ReadResult::Ok(n) = reader.read(ReadMode::NonBlocking, &mut buf) {
            check_sample(&buf, n, tid);
            got += 1;
        }
        assert_eq!(got, 4096 / 40);
        getpid_syscall();
        assert_eq!(
            reader.read(ReadMode::Block, &mut buf),
            ReadResult::Ok(0),
            "lost record = empty sample"
        );
        assert_eq!(reader.lost(), 200 - got as u64);
        assert!(matches!(
            reader.read(ReadMode::Block, &mut buf),
            ReadResult::Ok(28)
        ));

        // A deadline in the future waits, then reports DeadlineExceeded.
        let t0 = Instant::now();
        let r = reader.read(
            ReadMode::Deadline(t0 + Duration::from_millis(100)),
            &mut buf,
        );
        assert_eq!(r, ReadResult::DeadlineExceeded);
        assert!(t0.elapsed() >= Duration::from_millis(100));

        // Pausing removes the fds from the array: the program's output fails,
        // nothing is written and nothing is counted as lost.
        reader.pause().unwrap();
        getpid_syscall();
        reader.resume().unwrap();
        getpid_syscall();
        assert!(matches!(
            reader.read(ReadMode::Block, &mut buf),
            ReadResult::Ok(28)
        ));
        assert_eq!(
            reader.read(ReadMode::NonBlocking, &mut buf),
            ReadResult::DeadlineExceeded
        );
        assert_eq!(reader.lost(), 200 - got as u64);
        reader.close();
    }

    #[test]
    fn overwritable_reader() {
        if !bpf_available() {
            return;
        }
        let arr = perf_array();
        let mut reader = PerfReader::new(&arr, 4096, true).unwrap();
        let created = Instant::now();
        let mode = ReadMode::Deadline(created);
        pin_to_cpu(0);
        let tid = gettid();
        let Some(_probe) = attach_probe(&arr, tid) else {
            return;
        };
        let mut buf = [0u8; 4096];

        // Reading before pausing fails.
        assert_eq!(
            reader.read(mode, &mut buf),
            ReadResult::Err(ERR_MUST_BE_PAUSED.into())
        );

        for _ in 0..10 {
            getpid_syscall();
        }
        reader.pause().unwrap();
        // Newest first, then older ones, then DeadlineExceeded.
        let mut stamps = Vec::new();
        loop {
            match reader.read(mode, &mut buf) {
                ReadResult::Ok(n) => stamps.push(check_sample(&buf, n, tid)),
                ReadResult::DeadlineExceeded => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(stamps.len(), 10);
        assert!(stamps.windows(2).all(|w| w[0] > w[1]), "newest first");
        assert_eq!(reader.read(mode, &mut buf), ReadResult::DeadlineExceeded);
        reader.resume().unwrap();

        // Only what was written since the last pass is returned.
        for _ in 0..5 {
            getpid_syscall();
        }
        reader.pause().unwrap();
        let mut newer = Vec::new();
        while let ReadResult::Ok(n) = reader.read(mode, &mut buf) {
            newer.push(check_sample(&buf, n, tid));
        }
        assert_eq!(newer.len(), 5);
        assert!(newer[4] > stamps[0]);
        reader.resume().unwrap();

        // A pass left half-read when writers resume is abandoned: the next
        // pass returns only records written after it (never stale ranges).
        for _ in 0..4 {
            getpid_syscall();
        }
        reader.pause().unwrap();
        assert!(matches!(reader.read(mode, &mut buf), ReadResult::Ok(28)));
        reader.resume().unwrap();
        for _ in 0..3 {
            getpid_syscall();
        }
        reader.pause().unwrap();
        let mut after = Vec::new();
        while let ReadResult::Ok(n) = reader.read(mode, &mut buf) {
            after.push(check_sample(&buf, n, tid));
        }
        assert_eq!(after.len(), 3);
        reader.resume().unwrap();

        // Wrapped many times: at most one ring's worth, newest first, and the
        // partially overwritten oldest record is not returned.
        for _ in 0..300 {
            getpid_syscall();
        }
        reader.pause().unwrap();
        let mut wrapped = Vec::new();
        while let ReadResult::Ok(n) = reader.read(mode, &mut buf) {
            wrapped.push(check_sample(&buf, n, tid));
        }
        assert!(wrapped.windows(2).all(|w| w[0] > w[1]), "newest first");
        assert!(
            wrapped.len() == 4096 / 40 || wrapped.len() == 4096 / 40 - 1,
            "{}",
            wrapped.len()
        );
        assert_eq!(reader.lost(), 0);

        // Too small a destination: error, record consumed, the next one follows.
        reader.resume().unwrap();
        getpid_syscall();
        getpid_syscall();
        reader.pause().unwrap();
        assert!(matches!(
            reader.read(mode, &mut [0u8; 4]),
            ReadResult::Err(_)
        ));
        assert!(matches!(reader.read(mode, &mut buf), ReadResult::Ok(28)));
        assert_eq!(reader.read(mode, &mut buf), ReadResult::DeadlineExceeded);
        reader.resume().unwrap();
        assert_eq!(
            reader.read(mode, &mut buf),
            ReadResult::Err(ERR_MUST_BE_PAUSED.into())
        );
        // Stopped readers are closed, paused or not.
        reader.stop();
        assert_eq!(reader.read(mode, &mut buf), ReadResult::Closed);
    }

    #[test]
    fn blocking_read_is_released_by_a_record_or_stop() {
        if !bpf_available() {
            return;
        }
        let arr = perf_array();
        let mut reader = PerfReader::new(&arr, 8192, false).unwrap();
        let tid = gettid();
        let Some(_probe) = attach_probe(&arr, tid) else {
            return;
        };
        let stopper = reader.stopper();

        // A record wakes a blocked reader.
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            let r = reader.read(ReadMode::Block, &mut buf);
            (reader, r)
        });
        std::thread::sleep(Duration::from_millis(150));
        getpid_syscall();
        let (mut reader, r) = t.join().unwrap();
        assert_eq!(r, ReadResult::Ok(28));

        // Stop releases a read blocked on an empty ring.
        let t0 = Instant::now();
        let t = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            let r = reader.read(ReadMode::Block, &mut buf);
            (reader, r)
        });
        std::thread::sleep(Duration::from_millis(150));
        assert!(!t.is_finished());
        stopper.stop();
        let (mut reader, r) = t.join().unwrap();
        assert_eq!(r, ReadResult::Closed);
        assert!(t0.elapsed() < Duration::from_secs(5));
        // Later reads are closed too, even with data pending.
        getpid_syscall();
        assert_eq!(
            reader.read(ReadMode::Block, &mut [0u8; 64]),
            ReadResult::Closed
        );
        assert!(stopper.is_stopped());
        drop(reader);
        // Stopping after the reader is gone is harmless.
        stopper.stop();
    }

    #[test]
    fn reader_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<PerfReader>();
        assert_send_sync::<PerfStopper>();
        assert_send_sync::<RawMap>();
    }
}
