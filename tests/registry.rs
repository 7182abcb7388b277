//! Images through a real OCI registry: Debian's `docker-registry` (distribution 2.x) started
//! on 127.0.0.1 by `scripts/registry.sh` (which installs it when missing). gadgetrt-pack
//! pushes, the store pulls (digest-verified), the runner and the library load by reference;
//! a tampered layer, wrong credentials and unknown references give clear errors. Images are
//! signed (cosign format, `gadgetrt-pack --sign-key`) with the throwaway keys of
//! `tests/fixtures/signing`; missing, wrong and tampered signatures are refused.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;
use gadgetrt::image::{ImageStore, PullPolicy, RegistryOptions, VerifyOptions};
use gadgetrt::{ErrorCode, Gadget, GadgetSource};

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gadgetrt-reg-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A registry on 127.0.0.1, stopped on drop.
struct Registry {
    dir: PathBuf,
    addr: String,
}

impl Registry {
    fn start(name: &str, auth: Option<&str>) -> Registry {
        let dir = tmpdir(&format!("{name}-registry"));
        let mut c = Command::new("bash");
        c.arg(repo().join("scripts/registry.sh")).arg("start").arg(&dir);
        if let Some(a) = auth {
            c.arg(a);
        }
        let out = c.output().expect("scripts/registry.sh");
        assert!(out.status.success(), "registry.sh start failed: {}", String::from_utf8_lossy(&out.stderr));
        let addr = String::from_utf8_lossy(&out.stdout).trim().to_string();
        Registry { dir, addr }
    }

    /// The registry's copy of blob `digest` (filesystem storage driver layout).
    fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.dir.join(format!("storage/docker/registry/v2/blobs/sha256/{}/{hex}/data", &hex[..2]))
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(repo().join("scripts/registry.sh")).arg("stop").arg(&self.dir).status();
    }
}

fn key(name: &str) -> PathBuf {
    repo().join("tests/fixtures/signing").join(name)
}

/// Verification with the test key (the images of these tests are signed with test.key).
fn signed_opts() -> RegistryOptions {
    RegistryOptions {
        verify: VerifyOptions { verify: true, public_keys: vec![std::fs::read_to_string(key("test.pub")).unwrap()] },
        ..Default::default()
    }
}

/// gadgetrt-pack --push, signed with test.key.
fn pack_push(dest: &str, extra: &[&str]) -> Output {
    let k = key("test.key");
    let mut e: Vec<&str> = vec!["--sign-key", k.to_str().unwrap()];
    e.extend_from_slice(extra);
    pack_push_unsigned(dest, &e)
}

fn pack_push_unsigned(dest: &str, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gadgetrt-pack"))
        .arg("--wasm")
        .arg(go_gadget("params"))
        .arg("--metadata")
        .arg(repo().join("tests/gadgets/go/params/gadget.yaml"))
        .args(["--created", "2026-01-02T03:04:05Z", "--push", dest])
        .args(extra)
        .output()
        .unwrap()
}

fn runner(store: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gadgetrt-run")).env("GADGETRT_IMAGE_STORE", store).args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn run_params(src: GadgetSource) {
    let (rt, logs) = runtime();
    let g = Gadget::load(&rt, src).unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    assert!(g.params().iter().any(|p| p.key == "param-key"), "params come from the pulled gadget.yaml");
    g.set_param("param-key", "param-value").unwrap();
    g.start().unwrap_or_else(|e| panic!("{e}\n{}", logs.dump()));
    g.stop().unwrap();
}

#[test]
fn pack_push_then_pull_and_run_by_reference() {
    let reg = Registry::start("roundtrip", None);
    let r = format!("{}/gadgets/params:v1", reg.addr);
    let o = pack_push(&r, &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&format!("pushed {r}")), "{}", text(&o));

    // The runner pulls a missing image into the store (--pull=missing) and loads it by reference.
    let store = tmpdir("roundtrip-store");
    let pubk = key("test.pub");
    let o = runner(&store, &["--help-params", "--public-keys", pubk.to_str().unwrap(), &r]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("param-key"), "{}", text(&o));
    let o = runner(&store, &["image", "list", "--no-trunc"]);
    assert!(text(&o).contains(&format!("{}/gadgets/params", reg.addr)) && text(&o).contains("v1"), "{}", text(&o));

    // The whole gadget runs through the library API from the store.
    let opts = signed_opts();
    run_params(GadgetSource::from_reference(&r, Some(&store), PullPolicy::Never, &opts).unwrap());

    // rm; --pull=never then refuses; the library pulls it again.
    let o = runner(&store, &["image", "rm", &r]);
    assert!(o.status.success(), "{}", text(&o));
    let o = runner(&store, &["--pull", "never", "--help-params", &r]);
    assert!(!o.status.success());
    assert!(text(&o).contains("not in the local store"), "{}", text(&o));
    let st = ImageStore::open(&store).unwrap();
    assert!(st.list().unwrap().is_empty());
    let blobs = std::fs::read_dir(store.join("blobs/sha256")).unwrap().count();
    assert_eq!(blobs, 0, "rm garbage-collects unreferenced blobs");
    run_params(GadgetSource::from_reference(&r, Some(&store), PullPolicy::Missing, &opts).unwrap());

    // tag + push from the store under another name, export/import round trip, pull that back.
    let r2 = format!("{}/other/params:v2", reg.addr);
    let o = runner(&store, &["image", "tag", &r, &r2]);
    assert!(o.status.success(), "{}", text(&o));
    let o = runner(&store, &["image", "push", &r2]);
    assert!(o.status.success(), "{}", text(&o));
    let tar = store.with_extension("export.tar");
    let o = runner(&store, &["image", "export", &r, &r2, tar.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let store2 = tmpdir("roundtrip-store2");
    let o = runner(&store2, &["image", "import", tar.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(ImageStore::open(&store2).unwrap().list().unwrap().len(), 2);
    // The exported tar is an ordinary layout: loadable by path with a reference.
    run_params(GadgetSource::from_path(&tar, Some(&r2)).unwrap());
    let store3 = tmpdir("roundtrip-store3");
    let o = runner(&store3, &["image", "pull", &r2]);
    assert!(o.status.success(), "{}", text(&o));
    // The signature belongs to the first repository: r2 has none (`image push` copies the
    // image only, like ig), so it runs only without verification, until `image sign`.
    let e = GadgetSource::from_reference(&r2, Some(&store3), PullPolicy::Never, &opts).err().unwrap();
    assert_eq!(e.code, ErrorCode::Signature, "{e}");
    assert!(e.message.contains(&format!("no signature found for {r2}")), "{e}");
    let unverified = RegistryOptions { verify: VerifyOptions::disabled(), ..Default::default() };
    run_params(GadgetSource::from_reference(&r2, Some(&store3), PullPolicy::Never, &unverified).unwrap());
    let o = runner(&store, &["image", "sign", "--key", key("test.key").to_str().unwrap(), &r2]);
    assert!(o.status.success() && text(&o).contains("sha256-"), "{}", text(&o));
    let store4 = tmpdir("roundtrip-store4");
    run_params(GadgetSource::from_reference(&r2, Some(&store4), PullPolicy::Missing, &opts).unwrap());
    // Same content, same digest everywhere.
    let d = |s: &Path, r: &str| ImageStore::open(s).unwrap().find(r).unwrap().unwrap().digest;
    assert_eq!(d(&store, &r), d(&store3, &r2));
}

#[test]
fn tampered_layer_is_refused_with_a_digest_error() {
    let reg = Registry::start("tamper", None);
    let r = format!("{}/gadgets/params:tampered", reg.addr);
    let o = pack_push(&r, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let wasm = std::fs::read(go_gadget("params")).unwrap();
    let digest = format!("sha256:{}", {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&wasm))
    });
    let blob = reg.blob_file(&digest);
    let mut data = std::fs::read(&blob).unwrap_or_else(|e| panic!("{}: {e}", blob.display()));
    assert_eq!(data, wasm);
    let n = data.len();
    data[n / 2] ^= 0xff; // same size, different content
    std::fs::write(&blob, &data).unwrap();

    let store = tmpdir("tamper-store");
    let e = GadgetSource::from_reference(&r, Some(&store), PullPolicy::Missing, &RegistryOptions::default()).err().unwrap();
    assert!(e.message.contains("digest") && e.message.contains(&digest), "{e}");
    assert!(ImageStore::open(&store).unwrap().list().unwrap().is_empty(), "nothing is stored");
    let o = runner(&store, &["image", "pull", &r]);
    assert!(!o.status.success());
    assert!(text(&o).contains("digest") && text(&o).contains(&digest), "{}", text(&o));
}

#[test]
fn credentials_come_from_the_docker_config_and_wrong_ones_are_refused() {
    let reg = Registry::start("auth", Some("alice:s3cret"));
    let dir = tmpdir("auth-cfg");
    let cfg = |user: &str, pass: &str| {
        use base64::Engine;
        let p = dir.join(format!("{user}-{pass}.json"));
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        std::fs::write(&p, format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.addr)).unwrap();
        p
    };
    let good = cfg("alice", "s3cret");
    let bad = cfg("alice", "wrong");
    let r = format!("{}/private/params:v1", reg.addr);

    let o = pack_push(&r, &["--authfile", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(text(&o).contains("refused access") && text(&o).contains(bad.to_str().unwrap()), "{}", text(&o));
    let o = pack_push(&r, &["--authfile", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));

    // Pull: anonymous (empty DOCKER_CONFIG) and wrong credentials are refused, the docker config works.
    let store = tmpdir("auth-store");
    let empty = tmpdir("auth-empty");
    let o = Command::new(env!("CARGO_BIN_EXE_gadgetrt-run"))
        .env("GADGETRT_IMAGE_STORE", &store)
        .env("DOCKER_CONFIG", &empty)
        .args(["image", "pull", &r])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(text(&o).contains("refused access") && text(&o).contains("anonymous"), "{}", text(&o));
    let opts = |f: &Path| RegistryOptions { auth_file: Some(f.to_path_buf()), ..Default::default() };
    let e = GadgetSource::from_reference(&r, Some(&store), PullPolicy::Missing, &opts(&bad)).err().unwrap();
    assert!(e.message.contains("refused access"), "{e}");
    let docker = tmpdir("auth-docker");
    std::fs::copy(&good, docker.join("config.json")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_gadgetrt-run"))
        .env("GADGETRT_IMAGE_STORE", &store)
        .env("DOCKER_CONFIG", &docker)
        .args(["--help-params", "--public-keys", key("test.pub").to_str().unwrap(), &r])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("param-key"));
}

/// `docker-credential-<name>` helper scripts (docker's protocol) in a directory for PATH:
/// `good` answers alice's password, `bad` a wrong one, `none` has no credentials.
fn credential_helpers(dir: &Path, addr: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    for (name, body) in [
        ("good", format!(r#"read host; [ "$host" = "{addr}" ] || {{ echo "unexpected host $host" >&2; exit 1; }}; echo '{{"ServerURL":"{addr}","Username":"alice","Secret":"s3cret"}}'"#)),
        ("bad", r#"read host; echo '{"Username":"alice","Secret":"nope"}'"#.to_string()),
        ("none", r#"read host; echo "credentials not found in native keychain"; exit 1"#.to_string()),
    ] {
        let p = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&p, format!("#!/bin/sh\n[ \"$1\" = get ] || exit 2\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default())
}

#[test]
fn credential_helpers_from_the_docker_config() {
    let reg = Registry::start("helpers", Some("alice:s3cret"));
    let bin = tmpdir("helpers-bin");
    let path = credential_helpers(&bin, &reg.addr);
    let r = format!("{}/private/params:v1", reg.addr);
    let cfgdir = |name: &str, json: String| {
        let d = tmpdir(&format!("helpers-{name}"));
        std::fs::write(d.join("config.json"), json).unwrap();
        d
    };
    let store_good = cfgdir("store-good", r#"{"credsStore":"good"}"#.into());
    let store_bad = cfgdir("store-bad", r#"{"credsStore":"bad"}"#.into());
    // credHelpers for this host wins over credsStore.
    let per_host = cfgdir("per-host", format!(r#"{{"credsStore":"bad","credHelpers":{{"{}":"good"}}}}"#, reg.addr));
    let none = cfgdir("none", r#"{"credsStore":"none"}"#.into());
    let missing = cfgdir("missing", r#"{"credsStore":"not-installed"}"#.into());
    let tool = |exe: &str, cfg: &Path, args: &[&str], store: &Path| {
        Command::new(exe).env("PATH", &path).env("DOCKER_CONFIG", cfg).env("GADGETRT_IMAGE_STORE", store).args(args).output().unwrap()
    };
    let store = tmpdir("helpers-store");
    let wasm = go_gadget("params");
    let yaml = repo().join("tests/gadgets/go/params/gadget.yaml");
    let push = |cfg: &Path| {
        tool(
            env!("CARGO_BIN_EXE_gadgetrt-pack"),
            cfg,
            &["--wasm", wasm.to_str().unwrap(), "--metadata", yaml.to_str().unwrap(), "--push", &r],
            &store,
        )
    };
    let o = push(&store_bad);
    assert!(!o.status.success());
    assert!(text(&o).contains("refused access") && text(&o).contains("docker-credential-bad"), "{}", text(&o));
    let o = push(&store_good);
    assert!(o.status.success(), "{}", text(&o));

    let pull = |cfg: &Path| tool(env!("CARGO_BIN_EXE_gadgetrt-run"), cfg, &["image", "pull", &r], &store);
    let o = pull(&per_host);
    assert!(o.status.success(), "{}", text(&o));
    let o = pull(&store_bad);
    assert!(!o.status.success() && text(&o).contains("refused access"), "{}", text(&o));
    // A helper without credentials for the host: anonymous, refused by this registry.
    let o = pull(&none);
    assert!(!o.status.success() && text(&o).contains("refused access") && text(&o).contains("anonymous"), "{}", text(&o));
    // A helper that is not installed: anonymous (public images still pull); the refusal names it.
    let o = pull(&missing);
    assert!(!o.status.success() && text(&o).contains("refused access"), "{}", text(&o));
    assert!(text(&o).contains("docker-credential-not-installed"), "{}", text(&o));
    // The runner by reference (unsigned image: --verify-image=false).
    let o = tool(env!("CARGO_BIN_EXE_gadgetrt-run"), &store_good, &["--pull", "always", "--verify-image=false", "--help-params", &r], &store);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("param-key"), "{}", text(&o));
}

#[test]
fn signatures_are_verified_like_ig_run() {
    let reg = Registry::start("sign", None);
    let pubk = std::fs::read_to_string(key("test.pub")).unwrap();
    let with = |keys: Vec<String>| RegistryOptions { verify: VerifyOptions { verify: true, public_keys: keys }, ..Default::default() };
    let load = |r: &str, o: &RegistryOptions| {
        let store = tmpdir("sign-store");
        GadgetSource::from_reference(r, Some(&store), PullPolicy::Always, o)
    };

    // The same image content in three repositories (same digest): signatures live per
    // repository (cosign's `sha256-<hex>.sig` tag), so each case gets its own.
    // Signed with test.key: accepted with its public key (also among others), refused with
    // IG's default key.
    let good = format!("{}/gadgets/signed:v1", reg.addr);
    let o = pack_push(&good, &[]);
    assert!(o.status.success() && text(&o).contains("signed"), "{}", text(&o));
    run_params(load(&good, &with(vec![pubk.clone()])).unwrap());
    run_params(load(&good, &with(vec![gadgetrt::image::IG_PUBLIC_KEY.into(), pubk.clone()])).unwrap());
    let e = load(&good, &RegistryOptions::default()).err().unwrap();
    assert_eq!(e.code, ErrorCode::Signature, "{e}");
    assert!(e.message.contains(&format!("signature verification failed for {good}")) && e.message.contains("not signed by the provided keys"), "{e}");

    // Signed with another key: refused.
    let other = format!("{}/gadgets/other-key:v1", reg.addr);
    let ok = key("other.key");
    let o = pack_push_unsigned(&other, &["--sign-key", ok.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let e = load(&other, &with(vec![pubk.clone()])).err().unwrap();
    assert_eq!(e.code, ErrorCode::Signature, "{e}");
    assert!(e.message.contains("signature verification failed"), "{e}");

    // Unsigned: "no signature found"; runs with verification off (runner: --verify-image=false).
    let unsigned = format!("{}/gadgets/unsigned:v1", reg.addr);
    let o = pack_push_unsigned(&unsigned, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let e = load(&unsigned, &with(vec![pubk.clone()])).err().unwrap();
    assert_eq!(e.code, ErrorCode::Signature, "{e}");
    assert!(e.message.contains(&format!("no signature found for {unsigned}")), "{e}");
    run_params(load(&unsigned, &RegistryOptions { verify: VerifyOptions::disabled(), ..Default::default() }).unwrap());
    let store = tmpdir("sign-runner");
    let o = runner(&store, &["--help-params", &unsigned]);
    assert!(!o.status.success() && text(&o).contains("no signature found"), "{}", text(&o));
    let o = runner(&store, &["--verify-image=false", "--help-params", &unsigned]);
    assert!(o.status.success() && text(&o).contains("param-key"), "{}", text(&o));
    let o = runner(&store, &["--public-keys", key("test.pub").to_str().unwrap(), "--help-params", &good]);
    assert!(o.status.success() && text(&o).contains("param-key"), "{}", text(&o));

    // A tampered signature (one flipped byte of the ECDSA signature) and a valid signature of
    // another image pushed under this image's tag: refused.
    let digest = ImageStore::open(tmpdir("sign-digest")).unwrap();
    let d = digest.pull(&good, &RegistryOptions::default()).unwrap().digest;
    let remote = gadgetrt::image::RemoteRef::parse(&good).unwrap();
    let repo_name = format!("{}/{}", remote.registry, remote.repository);
    let pem = std::fs::read_to_string(key("test.key")).unwrap();
    let mut g = gadgetrt::image::sign::signature_graph(&repo_name, &d, &pem).unwrap();
    let (md, mb) = g.pop().unwrap();
    let mut m: serde_json::Value = serde_json::from_slice(&mb).unwrap();
    let ann = &mut m["layers"][0]["annotations"][gadgetrt::image::sign::SIGNATURE_ANNOTATION];
    use base64::Engine;
    let mut der = base64::engine::general_purpose::STANDARD.decode(ann.as_str().unwrap()).unwrap();
    let n = der.len();
    der[n - 2] ^= 0x01;
    *ann = base64::engine::general_purpose::STANDARD.encode(&der).into();
    let mb2 = serde_json::to_vec(&m).unwrap();
    let md2 = gadgetrt::image::Descriptor {
        digest: format!("sha256:{}", {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&mb2))
        }),
        size: mb2.len() as u64,
        ..md
    };
    g.push((md2, mb2));
    let tag = gadgetrt::image::sign::signature_tag(&d).unwrap();
    gadgetrt::image::push_graph_as(&remote, &tag, &g, &RegistryOptions::default()).unwrap();
    let e = load(&good, &with(vec![pubk.clone()])).err().unwrap();
    assert_eq!(e.code, ErrorCode::Signature, "{e}");
    assert!(e.message.contains("signature verification failed"), "{e}");

    let foreign = gadgetrt::image::sign::signature_graph(&repo_name, &format!("sha256:{}", "ab".repeat(32)), &pem).unwrap();
    gadgetrt::image::push_graph_as(&remote, &tag, &foreign, &RegistryOptions::default()).unwrap();
    let e = load(&good, &with(vec![pubk.clone()])).err().unwrap();
    assert_eq!(e.code, ErrorCode::Signature, "{e}");
    assert!(e.message.contains("payload digest does not correspond to image"), "{e}");

    // Re-signing repairs it.
    gadgetrt::image::push_signature(&good, &d, &pem, &RegistryOptions::default()).unwrap();
    run_params(load(&good, &with(vec![pubk])).unwrap());
}

#[test]
fn unknown_references_give_clear_errors() {
    let reg = Registry::start("unknown", None);
    let store = tmpdir("unknown-store");
    let r = format!("{}/gadgets/nope:latest", reg.addr);
    let e = GadgetSource::from_reference(&r, Some(&store), PullPolicy::Missing, &RegistryOptions::default()).err().unwrap();
    assert_eq!(e.code, ErrorCode::NotFound, "{e}");
    assert!(e.message.contains("not found in registry") && e.message.contains("gadgets/nope"), "{e}");
    let o = runner(&store, &["image", "rm", "nope"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("ghcr.io/inspektor-gadget/gadget/nope:latest is not in the local store"), "{}", text(&o));
    // A path-looking argument that does not exist stays a file error (no registry lookup).
    let o = runner(&store, &["./missing.tar"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("missing.tar"), "{}", text(&o));
}
