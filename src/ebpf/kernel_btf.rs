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

/// Parses aya's view of the kernel BTF on a background thread, so that a gadget being opened
/// (its wasm compiled or taken from the cache, instantiated, initialised) finds it parsed when
/// its eBPF object is loaded at start: the parse (~20 ms) is off the start path. The parse is
/// kept until the next load ends, or at most [`PREFETCH_KEEP`] when no load comes.
pub fn prefetch() {
    if !std::path::Path::new("/sys/kernel/btf/vmlinux").exists() {
        return;
    }
    let h = hold();
    let seen = *LOADS_ENDED.0.lock().unwrap_or_else(|e| e.into_inner());
    let spawned = std::thread::Builder::new().name("gadgetrt-btf".into()).spawn(move || {
        let _ = aya();
        let (lock, cv) = &LOADS_ENDED;
        let g = lock.lock().unwrap_or_else(|e| e.into_inner());
        let _ = cv.wait_timeout_while(g, PREFETCH_KEEP, |n| *n == seen);
        drop(h);
    });
    // Without a thread the hold was moved into the failed closure and is dropped with it.
    let _ = spawned;
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
            if a.is_some() || o.is_some() {
                drop((a, o));
                trim_heap();
            }
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

/// Hands freed heap pages back to the kernel (glibc keeps them otherwise).
pub fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
}
