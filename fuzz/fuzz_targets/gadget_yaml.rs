//! gadget.yaml: parsing (viper-style key folding), params, data-source and field
//! configuration, operator settings, as `open` sees them for a gadget without code.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = gadgetrt::image::GadgetMetadata::parse(data);
    let Ok(meta) = gadgetrt::gadget::parse_metadata(data) else { return };
    let mut params = gadgetrt::params::Params::from_metadata(&meta);
    let keys: Vec<String> = params.decls().iter().map(|d| d.key.clone()).collect();
    for k in &keys {
        let _ = params.get(k);
        let _ = params.set(k, "1");
    }
    let _ = params.missing_mandatory();
    common::exercise(gadgetrt::GadgetSource { name: "fuzz".into(), metadata: meta, ..Default::default() });
});
