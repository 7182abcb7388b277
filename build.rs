//! Gives `libgadgetrt.so` its SONAME (house style rule 21): `libgadgetrt.so.<major>` from 1.0
//! on, the full version before (any 0.x release may change the ABI). Executables linked
//! against the library record that name, so the build also places a
//! `libgadgetrt.so.<version> -> libgadgetrt.so` link next to the artefact: programs built
//! against the cargo target directory run from it as they are.

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
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
