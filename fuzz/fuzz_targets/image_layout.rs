//! An OCI image layout built from fuzzed parts, with digests and sizes filled in so the
//! parsers past digest verification see the fuzzed JSON and YAML.
//!
//! Input: index.json, manifest, gadget.yaml, eBPF object and wasm, separated by
//! `\n--8<--\n`. In the manifest `@CONFIG@`/`@EBPF@`/`@WASM@` become `sha256:<hex>` of the
//! config (gadget.yaml), eBPF and wasm blobs and `@CONFIG_SIZE@`/`@EBPF_SIZE@`/`@WASM_SIZE@`
//! their sizes; in index.json `@MANIFEST@`/`@MANIFEST_SIZE@` those of the manifest.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

const SEP: &[u8] = b"\n--8<--\n";

fn split(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while out.len() < 4 {
        match data.windows(SEP.len()).position(|w| w == SEP) {
            Some(i) => {
                out.push(&data[..i]);
                data = &data[i + SEP.len()..];
            }
            None => break,
        }
    }
    out.push(data);
    while out.len() < 5 {
        out.push(&[]);
    }
    out
}

fn digest(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn subst(text: &[u8], pairs: &[(&str, String)]) -> Vec<u8> {
    let mut s = String::from_utf8_lossy(text).into_owned();
    for (k, v) in pairs {
        s = s.replace(k, v);
    }
    s.into_bytes()
}

fn add(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    let _ = b.append_data(&mut h, path, data);
}

fuzz_target!(|data: &[u8]| {
    let parts = split(data);
    let (index, manifest, config, ebpf, wasm) = (parts[0], parts[1], parts[2], parts[3], parts[4]);
    let manifest = subst(
        manifest,
        &[
            ("@CONFIG_SIZE@", config.len().to_string()),
            ("@EBPF_SIZE@", ebpf.len().to_string()),
            ("@WASM_SIZE@", wasm.len().to_string()),
            ("@CONFIG@", format!("sha256:{}", digest(config))),
            ("@EBPF@", format!("sha256:{}", digest(ebpf))),
            ("@WASM@", format!("sha256:{}", digest(wasm))),
        ],
    );
    let index = subst(
        index,
        &[("@MANIFEST_SIZE@", manifest.len().to_string()), ("@MANIFEST@", format!("sha256:{}", digest(&manifest)))],
    );
    let mut b = tar::Builder::new(Vec::new());
    add(&mut b, "oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    add(&mut b, "index.json", &index);
    for blob in [&manifest[..], config, ebpf, wasm] {
        add(&mut b, &format!("blobs/sha256/{}", digest(blob)), blob);
    }
    let Ok(tar) = b.into_inner() else { return };
    let p = common::scratch("layout.tar");
    if std::fs::write(&p, tar).is_err() {
        return;
    }
    if let Ok(src) = gadgetrt::GadgetSource::from_path(&p, None) {
        common::exercise(src);
    }
    let _ = std::fs::remove_file(&p);
});
