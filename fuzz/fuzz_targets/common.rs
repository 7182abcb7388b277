//! Shared by the fuzz targets: a quiet runtime and the checks run on every gadget source
//! a parser accepted (eBPF analysis, params, gadget open without compiling wasm).
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use gadgetrt::{Gadget, GadgetSource, Runtime, RuntimeOptions};

/// One runtime per process: no log sink, no cache, no container discovery, short deadlines.
pub fn runtime() -> &'static Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        let mut o = RuntimeOptions::default();
        o.disable_cache = true;
        o.container_discovery = false;
        o.call_timeout = Duration::from_millis(100);
        o.stop_timeout = Duration::from_millis(100);
        Runtime::new(o).expect("runtime")
    })
}

/// A per-process scratch file (tmpfs when available).
pub fn scratch(name: &str) -> PathBuf {
    let dir = if std::path::Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    dir.join(format!("gadgetrt-fuzz-{}-{name}", std::process::id()))
}

/// Everything done with a source read from an image or directory short of compiling
/// its wasm or loading its eBPF into the kernel.
pub fn exercise(src: GadgetSource) {
    if let Some(elf) = &src.ebpf {
        let _ = gadgetrt::ebpf::object::check_elf_header(elf);
        if let Ok(obj) = gadgetrt::ebpf::object::analyze(elf) {
            let _ = obj.programs.len();
            let _ = gadgetrt::ebpf::object::sanitize(elf);
        }
    }
    let _ = gadgetrt::params::Params::from_metadata(&src.metadata);
    let src = GadgetSource { wasm: None, ..src };
    if let Ok(g) = Gadget::open(runtime(), src) {
        let _ = g.describe();
        for p in g.params() {
            let _ = g.get_param(&p.key);
        }
        for ds in g.datasources() {
            let _ = gadgetrt::gadget::schema_json(&ds);
        }
    }
}
