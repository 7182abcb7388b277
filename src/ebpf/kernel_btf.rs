//! The running kernel's BTF (`/sys/kernel/btf/vmlinux`), parsed by aya (CO-RE relocations)
//! and by gadgetrt's own reader (sanitising, type matches). Both parses are large (tens of
//! MiB resident between them), so they are cached only while a gadget's eBPF object is being
//! loaded ([`hold`]) and freed when the last load ends, instead of living for the process.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

static HOLDS: AtomicUsize = AtomicUsize::new(0);
/// Loads ended (a load's hold dropped), for [`prefetch`] to let go of the parse.
static LOADS_ENDED: (Mutex<u64>, Condvar) = (Mutex::new(0), Condvar::new());
/// How long a [`prefetch`]ed parse waits for a load before it is freed.
const PREFETCH_KEEP: Duration = Duration::from_secs(10);
static AYA: Mutex<Option<Arc<aya::Btf>>> = Mutex::new(None);
static OWN: Mutex<Option<Arc<super::btf::Btf>>> = Mutex::new(None);

/// While alive, the parses are kept for reuse; when the last one drops they are freed.
pub struct Hold(());

/// Keeps the kernel BTF parses cached until the returned guard drops.
pub fn hold() -> Hold {
    HOLDS.fetch_add(1, Ordering::SeqCst);
    Hold(())
}

/// An aya loader prepared by [`prefetch`] (`EbpfLoader::new` parses the kernel BTF), with
/// the number of the prefetch that made it.
static LOADER: Mutex<Option<(u64, aya::EbpfLoader<'static>)>> = Mutex::new(None);
/// Prefetches started; the one whose loader waits (or is being made) is `PENDING`.
static PREFETCHES: AtomicUsize = AtomicUsize::new(0);
static PENDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// An aya loader whose CO-RE target is the kernel BTF: the one [`prefetch`] prepared (waiting
/// for it if it is being made), else a new one (which parses the kernel BTF, ~20 ms).
pub fn loader() -> aya::EbpfLoader<'static> {
    let taken = LOADER.lock().unwrap_or_else(|e| e.into_inner()).take();
    match taken {
        Some((_, l)) => {
            PENDING.store(false, Ordering::SeqCst);
            l
        }
        None => aya::EbpfLoader::new(),
    }
}

/// Prepares an aya loader (its kernel BTF parse) on a background thread, so that a gadget
/// being opened (its wasm compiled or taken from the cache, instantiated, initialised) finds
/// it ready when its eBPF object is loaded at start: the parse is off the start path. It is
/// kept until the next load ends, or at most [`PREFETCH_KEEP`] when no load comes.
///
/// Called when an image with an eBPF layer is read and again when its gadget is opened: while
/// a prefetched loader waits or is being made, further calls do nothing.
pub fn prefetch() {
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() || PENDING.swap(true, Ordering::SeqCst) {
        return;
    }
    let me = PREFETCHES.fetch_add(1, Ordering::SeqCst) as u64 + 1;
    let seen = *LOADS_ENDED.0.lock().unwrap_or_else(|e| e.into_inner());
    // The slot is locked before the thread starts, so a load right after waits for it.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let spawned = std::thread::Builder::new().name("gadgetrt-btf".into()).spawn(move || {
        let mut slot = LOADER.lock().unwrap_or_else(|e| e.into_inner());
        let _ = tx.send(());
        if slot.is_none() {
            *slot = Some((me, aya::EbpfLoader::new()));
        }
        drop(slot);
        let (lock, cv) = &LOADS_ENDED;
        let g = lock.lock().unwrap_or_else(|e| e.into_inner());
        drop(cv.wait_timeout_while(g, PREFETCH_KEEP, |n| *n == seen));
        // Not taken by a load: freed (only this prefetch's: a later one's waits for its own
        // load). Either way the parse was allocated in this thread's malloc arena: hand what
        // is free there back to the kernel.
        let mut slot = LOADER.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_some_and(|(n, _)| *n == me) {
            drop(slot.take());
            PENDING.store(false, Ordering::SeqCst);
        }
        drop(slot);
        trim_heap();
    });
    match spawned {
        Ok(_) => {
            let _ = rx.recv();
        }
        Err(_) => PENDING.store(false, Ordering::SeqCst),
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        {
            let (lock, cv) = &LOADS_ENDED;
            *lock.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            cv.notify_all();
        }
        if HOLDS.fetch_sub(1, Ordering::SeqCst) == 1 {
            let a = AYA.lock().unwrap_or_else(|e| e.into_inner()).take();
            let o = OWN.lock().unwrap_or_else(|e| e.into_inner()).take();
            drop((a, o));
            // Also what aya's loader held (its own parse, freed when the load ended, maybe
            // in the prefetch thread's malloc arena): back to the kernel.
            trim_heap();
        }
    }
}

fn cached<T>(slot: &Mutex<Option<Arc<T>>>, parse: impl FnOnce() -> Option<T>) -> Option<Arc<T>> {
    let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(b) = &*s {
        return Some(b.clone());
    }
    let b = Arc::new(parse()?);
    if HOLDS.load(Ordering::SeqCst) > 0 {
        *s = Some(b.clone());
    }
    Some(b)
}

/// aya's parse of the kernel BTF (None if missing or unparsable).
pub fn aya() -> Option<Arc<aya::Btf>> {
    cached(&AYA, || aya::Btf::from_sys_fs().ok())
}

/// gadgetrt's parse of the kernel BTF (None if missing or unparsable).
pub fn own() -> Option<Arc<super::btf::Btf>> {
    cached(&OWN, || std::fs::read("/sys/kernel/btf/vmlinux").ok().and_then(|d| super::btf::Btf::parse(&d).ok()))
}

/// Fixes glibc's trim threshold at 1 MiB, once per process (unless
/// `GADGETRT_KEEP_MALLOC_SETTINGS` is set). By default glibc raises it to twice the largest
/// mmapped block freed so far: after the kernel BTF's parse (buffers of 8-16 MiB) to 16-32 MiB.
/// Then the parse's memory, freed in a thread's malloc arena, stays resident at that arena's
/// top, which `malloc_trim` does not release for thread arenas: +13 MiB of idle RSS after
/// about every second gadget start. A fixed threshold (which also fixes the mmap threshold at
/// its 128 KiB default) lets every arena give its free top back when memory is freed.
pub fn fix_trim_threshold() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            if std::env::var_os("GADGETRT_KEEP_MALLOC_SETTINGS").is_none() {
                // SAFETY: mallopt only changes allocator parameters.
                unsafe {
                    libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 20);
                }
            }
        });
    }
}

/// Hands freed heap pages back to the kernel (glibc keeps them otherwise).
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
}
