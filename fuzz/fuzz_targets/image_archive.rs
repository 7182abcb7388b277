//! An OCI image-layout tar (what `ig image export` and `gadgetrt-pack` write) as raw bytes:
//! tar headers, index.json, manifests, config, gadget.yaml and the eBPF layer.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let p = common::scratch("image.tar");
    if std::fs::write(&p, data).is_err() {
        return;
    }
    let _ = gadgetrt::image::list_images(&p);
    if let Ok(src) = gadgetrt::GadgetSource::from_path(&p, None) {
        common::exercise(src);
    }
    let _ = std::fs::remove_file(&p);
});
