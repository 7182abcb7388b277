//! Gives `libgadgetrt.so` its SONAME (house style rule 21): `libgadgetrt.so.<major>` from 1.0
//! on, the full version before (any 0.x release may change the ABI). Executables linked
//! against the library record that name, so the build also places a
//! `libgadgetrt.so.<version> -> libgadgetrt.so` link next to the artefact: programs built
//! against the cargo target directory run from it as they are.
//!
//! It also compiles gadgetrt's own eBPF programs (`src/ebpf/bpf/*.bpf.c`, the socket
//! enricher) with clang-19 (`$GADGETRT_CLANG` overrides) into `$OUT_DIR`, where the library
//! embeds them. Without clang the library still builds; the socket enricher then reports
//! that it was not compiled in.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    compile_bpf();
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return;
    }
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_default();
    let soname = if major == "0" {
        format!("libgadgetrt.so.{version}")
    } else {
        format!("libgadgetrt.so.{major}")
    };
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");

    // OUT_DIR is <profile dir>/build/<package>-<hash>/out.
    let Some(profile_dir) = std::env::var_os("OUT_DIR").map(PathBuf::from).and_then(|p| Some(p.ancestors().nth(3)?.to_path_buf()))
    else {
        return;
    };
    let link = profile_dir.join(&soname);
    if std::fs::read_link(&link).ok().as_deref() != Some(std::path::Path::new("libgadgetrt.so")) {
        let _ = std::fs::remove_file(&link);
        if let Err(e) = std::os::unix::fs::symlink("libgadgetrt.so", &link) {
            println!("cargo:warning=could not create {}: {e}", link.display());
        }
    }
}

/// `src/ebpf/bpf/socket_enricher.bpf.c` -> `$OUT_DIR/socket_enricher.bpf.o` (empty when it
/// cannot be compiled here: the runtime then says so).
fn compile_bpf() {
    println!("cargo:rerun-if-changed=src/ebpf/bpf/socket_enricher.bpf.c");
    println!("cargo:rerun-if-env-changed=GADGETRT_CLANG");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("socket_enricher.bpf.o");
    let clang = std::env::var("GADGETRT_CLANG").unwrap_or_else(|_| "clang-19".to_string());
    let arch = match std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("x86_64") => Some(("x86", "x86_64-linux-gnu")),
        Ok("aarch64") => Some(("arm64", "aarch64-linux-gnu")),
        _ => None,
    };
    let result = match arch {
        None => Err("unsupported target architecture".to_string()),
        Some((bpf_arch, triple)) => std::process::Command::new(&clang)
            .args(["-target", "bpf", "-Wall", "-g", "-O2"])
            .arg(format!("-D__TARGET_ARCH_{bpf_arch}"))
            .arg(format!("-I/usr/include/{triple}"))
            .arg("-c")
            .arg("src/ebpf/bpf/socket_enricher.bpf.c")
            .arg("-o")
            .arg(&out)
            .output()
            .map_err(|e| format!("{clang}: {e}"))
            .and_then(|o| {
                if o.status.success() {
                    Ok(())
                } else {
                    Err(format!("{clang} failed: {}", String::from_utf8_lossy(&o.stderr)))
                }
            }),
    };
    if let Err(e) = result {
        println!("cargo:warning=socket enricher not compiled ({e}); gadgets using gadget_sockets will fail to start");
        let _ = std::fs::write(&out, b"");
    }
}
