//! Gadgets packed into OCI images by `gadgetrt-pack`, loaded from the tar, from the extracted
//! layout directory and by reference, and run; the compiled-module cache; bad images.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use gadgetrt::datasource::Value;
use gadgetrt::{ErrorCode, Gadget, GadgetSource, LogLevel};

fn pack_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gadgetrt-pack"))
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gadgetrt-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Packs the Go `params` gadget (wasm + gadget.yaml) into `dir/params.tar`.
fn pack_params(dir: &Path) -> PathBuf {
    let tar = dir.join("params.tar");
    let st = Command::new(pack_bin())
        .arg("--wasm")
        .arg(go_gadget("params"))
        .arg("--metadata")
        .arg(repo().join("tests/gadgets/go/params/gadget.yaml"))
        .args(["--tag", "params:latest", "--created", "2026-01-02T03:04:05Z", "-o"])
        .arg(&tar)
        .status()
        .unwrap();
    assert!(st.success());
    tar
}

fn run_params(src: GadgetSource) {
    let (rt, logs) = runtime();
    let g = Gadget::load(&rt, src).unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    let p = g.params().into_iter().find(|p| p.key == "param-key").expect("declared from the image metadata");
    assert_eq!(p.description, "param-description");
    g.set_param("param-key", "param-value").unwrap();
    g.start().unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    g.stop().unwrap();
}

#[test]
fn packed_image_loads_from_tar_directory_and_reference() {
    let dir = tmpdir("pack");
    let tar = pack_params(&dir);
    // From the tar (single image: no reference needed), and by every reference form.
    run_params(GadgetSource::from_path(&tar, None).unwrap());
    for r in ["params", "params:latest", "ghcr.io/inspektor-gadget/gadget/params:latest"] {
        run_params(GadgetSource::from_path(&tar, Some(r)).unwrap());
    }
    let e = GadgetSource::from_path(&tar, Some("nope:latest")).err().unwrap();
    assert_eq!(e.code, ErrorCode::Image);
    assert!(e.message.contains("params"), "error lists the available tags: {e}");
    // From the extracted layout directory.
    let layout = dir.join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    assert!(Command::new("tar").arg("-xf").arg(&tar).arg("-C").arg(&layout).status().unwrap().success());
    run_params(GadgetSource::from_path(&layout, Some("params")).unwrap());
    // Deterministic output for a fixed creation time.
    let again = pack_params(&tmpdir("pack2"));
    assert_eq!(std::fs::read(&tar).unwrap(), std::fs::read(&again).unwrap());
}

#[test]
fn runner_runs_a_packed_image_and_lists_params() {
    let dir = tmpdir("runner");
    let tar = pack_params(&dir);
    let run = PathBuf::from(env!("CARGO_BIN_EXE_gadgetrt-run"));
    let out = Command::new(&run).arg("--help-params").arg(&tar).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("param-key") && text.contains("wasm") && text.contains("(mandatory)"), "{text}");
    let ok = Command::new(&run).args(["-p", "param-key=param-value", "--timeout", "0.2"]).arg(&tar).status().unwrap();
    assert!(ok.success());
    let bad = Command::new(&run).args(["-p", "param-key=other", "--timeout", "0.2"]).arg(&tar).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.lines().last().unwrap_or("").starts_with("gadgetrt-run: error: starting"), "{err}");
    let unknown = Command::new(&run).args(["-p", "nope=1", "--timeout", "0.2"]).arg(&tar).output().unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown param"));
}

#[test]
fn warm_load_uses_the_module_cache_and_survives_corruption() {
    let dir = tmpdir("cache");
    let cache = dir.join("cache");
    let (rt, _) = runtime_with(LogLevel::Debug, |o| o.cache_dir = Some(cache.clone()));
    let demo = go_gadget("demo");
    let g = Gadget::load(&rt, GadgetSource::from_path(&demo, None).unwrap()).unwrap();
    assert!(!g.from_cache);
    // A miss runs baseline (Winch) code while Cranelift fills the cache in the background.
    rt.wait_background_compiles();
    // Each load here reads the disk cache: no open gadget of the program to share a module.
    drop(g);
    let g = Gadget::load(&rt, GadgetSource::from_path(&demo, None).unwrap()).unwrap();
    assert!(g.from_cache, "second load must come from the cache");
    drop(g);
    // Corrupt every cache entry: the next load detects it, recompiles and still runs.
    for e in std::fs::read_dir(&cache).unwrap() {
        let p = e.unwrap().path();
        let mut b = std::fs::read(&p).unwrap();
        let n = b.len();
        b[n / 2] ^= 0xff;
        std::fs::write(&p, b).unwrap();
    }
    let g = Gadget::load(&rt, GadgetSource::from_path(&demo, None).unwrap()).unwrap();
    assert!(!g.from_cache, "a corrupted entry must not be trusted");
    // This one runs on the baseline compiler's code.
    let c = collect(&g, "ticks", 0);
    g.start().unwrap();
    poll_until(&g, &c, 5, Duration::from_secs(5));
    g.stop().unwrap();
    assert_eq!(c.len(), 5);
    assert_eq!(value(&c.get(4), 0, "seq"), Value::Uint(5));
    // The background compile replaced the corrupted entry.
    rt.wait_background_compiles();
    drop(g);
    let g = Gadget::load(&rt, GadgetSource::from_path(&demo, None).unwrap()).unwrap();
    assert!(g.from_cache, "the optimised module is cached again");
}

#[test]
fn broken_images_give_clear_errors() {
    let dir = tmpdir("broken");
    let tar = pack_params(&dir);
    let bytes = std::fs::read(&tar).unwrap();
    let truncated = dir.join("truncated.tar");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let e = GadgetSource::from_path(&truncated, None).err().unwrap();
    assert_eq!(e.code, ErrorCode::Image, "{e}");
    // A layout directory whose wasm blob was altered fails the digest check.
    let layout = dir.join("layout");
    std::fs::create_dir_all(&layout).unwrap();
    assert!(Command::new("tar").arg("-xf").arg(&tar).arg("-C").arg(&layout).status().unwrap().success());
    let wasm_digest = sha256_hex(&std::fs::read(go_gadget("params")).unwrap());
    let blob = layout.join("blobs/sha256").join(&wasm_digest);
    let mut b = std::fs::read(&blob).unwrap();
    b[100] ^= 1;
    std::fs::write(&blob, b).unwrap();
    let e = GadgetSource::from_path(&layout, None).err().unwrap();
    assert_eq!(e.code, ErrorCode::Image);
    assert!(e.message.to_lowercase().contains("digest"), "{e}");
    let e = GadgetSource::from_path(&dir.join("missing.tar"), None).err().unwrap();
    assert_eq!(e.code, ErrorCode::NotFound);
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(b))
}

/// `--timeout 0` runs until interrupted, like `ig run`: SIGINT stops it in order (exit 0).
#[test]
fn runner_timeout_zero_runs_until_interrupted() {
    let dir = tmpdir("runner0");
    let tar = pack_params(&dir);
    let run = PathBuf::from(env!("CARGO_BIN_EXE_gadgetrt-run"));
    let mut child = Command::new(&run).args(["-p", "param-key=param-value", "--timeout", "0"]).arg(&tar).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(child.try_wait().unwrap().is_none(), "still running after 1.5 s");
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let st = child.wait().unwrap();
    assert!(st.success(), "{st:?}");
}
