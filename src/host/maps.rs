//! eBPF map and perf-reader imports (ABI sections 1.7 and 1.10).
//!
//! Until a gadget's eBPF side is wired in, every map and perf import returns its documented
//! error value and logs why.

use wasmtime::{Caller, Linker};

use super::HostState;

/// Maps and perf readers the guest holds handles to.
#[derive(Default)]
pub struct MapTable {}

impl MapTable {
    /// Closes every map and perf reader the guest still holds (D8).
    pub fn close_all(&mut self) {}
}

fn unavailable(st: &HostState, func: &str) {
    st.warn(format!("{func}: eBPF maps are not available in this gadgetrt build"));
}

pub fn register(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap("ig", "newMap", |c: Caller<'_, HostState>, _n: i64, _t: i32, _k: i32, _v: i32, _m: i32| -> i32 {
        unavailable(c.data(), "newMap");
        0
    })?;
    l.func_wrap("ig", "getMap", |c: Caller<'_, HostState>, _n: i64| -> i32 {
        unavailable(c.data(), "getMap");
        0
    })?;
    l.func_wrap("ig", "mapLookup", |c: Caller<'_, HostState>, _m: i32, _k: i64, _v: i64| -> i32 {
        unavailable(c.data(), "mapLookup");
        1
    })?;
    l.func_wrap("ig", "mapUpdate", |c: Caller<'_, HostState>, _m: i32, _k: i64, _v: i64, _f: i64| -> i32 {
        unavailable(c.data(), "mapUpdate");
        1
    })?;
    l.func_wrap("ig", "mapDelete", |c: Caller<'_, HostState>, _m: i32, _k: i64| -> i32 {
        unavailable(c.data(), "mapDelete");
        1
    })?;
    l.func_wrap("ig", "mapRelease", |c: Caller<'_, HostState>, _m: i32| -> i32 {
        unavailable(c.data(), "mapRelease");
        1
    })?;
    l.func_wrap("ig", "newPerfReader", |c: Caller<'_, HostState>, _m: i32, _s: i32, _o: i32| -> i32 {
        unavailable(c.data(), "newPerfReader");
        0
    })?;
    for name in ["perfReaderPause", "perfReaderResume", "perfReaderClose"] {
        l.func_wrap("ig", name, move |c: Caller<'_, HostState>, _r: i32| -> i32 {
            unavailable(c.data(), name);
            1
        })?;
    }
    l.func_wrap("ig", "perfReaderRead", |c: Caller<'_, HostState>, _r: i32, _d: i64| -> i32 {
        unavailable(c.data(), "perfReaderRead");
        1
    })?;
    Ok(())
}
