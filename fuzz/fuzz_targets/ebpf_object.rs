//! eBPF ELF objects: header checks, section and symbol reading, .BTF/.BTF.ext parsing,
//! IG marker analysis (tracers, params, iterators, maps) and the aya sanitiser. Inputs
//! starting with the BTF magic are also parsed as raw BTF.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() >= 2 && (data[..2] == [0x9f, 0xeb] || data[..2] == [0xeb, 0x9f]) {
        let _ = gadgetrt::ebpf::btf::Btf::parse(data);
        return;
    }
    common::exercise(gadgetrt::GadgetSource { name: "fuzz".into(), ebpf: Some(data.to_vec()), ..Default::default() });
});
