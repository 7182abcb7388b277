//! Tests of the image module (no external test crates: temp dirs are made by
//! hand).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value as Json};

use super::annotation_keys as ak;
use super::cache::ModuleCache;
use super::media_types as mt;
use super::metadata::{annotations_template, GadgetMetadata};
use super::oci::{list_images, load_image, load_image_for_arch, normalize_reference, sha256_digest};
use super::pack::{build, format_rfc3339, pack_dir, pack_tar, parse_rfc3339, PackInput};

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "gadgetrt-image-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn join(&self, s: &str) -> PathBuf {
        self.0.join(s)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const CREATED: &str = "2024-05-15T10:20:30Z";

fn elf(tag: &str) -> Vec<u8> {
    let mut v = b"\x7fELF\x02\x01\x01\0".to_vec();
    v.extend_from_slice(tag.as_bytes());
    v.resize(300, 0xab);
    v
}

fn wasm() -> Vec<u8> {
    b"\0asm\x01\0\0\0 a tiny fake module".to_vec()
}

const YAML: &str = r#"name: trace open
description: trace open files <&>
homepageURL: https://inspektor-gadget.io/
documentationURL: https://www.inspektor-gadget.io/docs/latest/gadgets/trace_open
sourceURL: https://github.com/inspektor-gadget/inspektor-gadget/tree/main/gadgets/trace_open
annotations:
  io.example.custom: yes-please
datasources:
  open:
    annotations:
      cli.clear-screen-before: "false"
    fields:
      proc.comm:
        annotations:
          template: comm
          columns.width: 20
      fname:
        annotations:
          description: Path to file
          columns.width: 32
        tags: [a, b]
      error_raw:
params:
  ebpf:
    targ_failed:
      key: failed
      defaultValue: false
      description: Show only failed events
  wasm:
    filesystem:
      key: filesystem
      defaultValue: ext4
      typeHint: string
      possibleValues: [ext4, xfs]
      isMandatory: "true"
programs:
  ig_open:
    attach_to: do_sys_openat2
"#;

fn full_input() -> PackInput {
    PackInput {
        ebpf: Some(elf("amd64")),
        ebpf_arm64: Some(elf("arm64")),
        wasm: Some(wasm()),
        gadget_yaml: Some(YAML.as_bytes().to_vec()),
        reference: "trace_open".into(),
        created: Some(CREATED.into()),
    }
}

const FULL_REF: &str = "ghcr.io/inspektor-gadget/gadget/trace_open:latest";

fn err_of<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
    format!("{:#}", r.expect_err("expected an error"))
}

fn tar_names(path: &Path) -> Vec<(String, tar::EntryType, u64, u32)> {
    let f = fs::File::open(path).unwrap();
    let mut ar = tar::Archive::new(f);
    ar.entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            (
                String::from_utf8(e.path_bytes().to_vec()).unwrap(),
                h.entry_type(),
                h.mtime().unwrap(),
                h.mode().unwrap(),
            )
        })
        .collect()
}

fn extract(tar_path: &Path, dir: &Path) {
    let mut ar = tar::Archive::new(fs::File::open(tar_path).unwrap());
    ar.unpack(dir).unwrap();
}

fn blob_path(dir: &Path, digest: &str) -> PathBuf {
    dir.join("blobs/sha256").join(digest.trim_start_matches("sha256:"))
}

fn read_json(dir: &Path, digest: &str) -> Json {
    serde_json::from_slice(&fs::read(blob_path(dir, digest)).unwrap()).unwrap()
}

/// Hand-written layouts.
struct Hand {
    dir: TempDir,
}

impl Hand {
    fn new() -> Self {
        let dir = TempDir::new();
        fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        Hand { dir }
    }
    fn blob(&self, bytes: &[u8]) -> (String, u64) {
        let d = sha256_digest(bytes);
        fs::write(blob_path(self.dir.path(), &d), bytes).unwrap();
        (d, bytes.len() as u64)
    }
    fn json_blob(&self, v: &Json) -> (String, u64) {
        self.blob(&serde_json::to_vec(v).unwrap())
    }
    fn index(&self, v: &Json) {
        fs::write(self.dir.join("index.json"), serde_json::to_vec(v).unwrap()).unwrap();
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn desc(media_type: &str, (digest, size): (String, u64)) -> Json {
    json!({"mediaType": media_type, "digest": digest, "size": size})
}

/// A one-manifest image (index → one manifest for `arch`) with the given
/// layers, tagged `ref_name`.
fn hand_image(h: &Hand, arch: &str, config: Json, layers: Vec<Json>, ref_name: &str) {
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": mt::OCI_MANIFEST,
        "artifactType": mt::ARTIFACT_TYPE,
        "config": config,
        "layers": layers,
    });
    let m = h.json_blob(&manifest);
    let mut md = desc(mt::OCI_MANIFEST, m);
    md["platform"] = json!({"architecture": arch, "os": "linux"});
    let index = json!({"schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": [md]});
    let i = h.json_blob(&index);
    let mut top = desc(mt::OCI_INDEX, i);
    top["annotations"] = json!({ak::REF_NAME: ref_name});
    h.index(&json!({"schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": [top]}));
}

fn yaml_config(h: &Hand, yaml: &[u8]) -> Json {
    desc(mt::CONFIG, h.blob(yaml))
}

// ---------------------------------------------------------------------------
// pack → load
// ---------------------------------------------------------------------------

#[test]
fn pack_tar_then_load_each_arch_and_reference_form() {
    let t = TempDir::new();
    let out = t.join("trace_open.tar");
    pack_tar(&full_input(), &out).unwrap();

    for (arch, obj) in [("amd64", elf("amd64")), ("arm64", elf("arm64"))] {
        let img = load_image_for_arch(&out, None, arch).unwrap();
        assert_eq!(img.ebpf.as_deref(), Some(obj.as_slice()), "{arch}");
        assert_eq!(img.wasm.as_deref(), Some(wasm().as_slice()));
        assert_eq!(img.wasm_digest.as_deref(), Some(sha256_digest(&wasm()).as_str()));
        assert_eq!(img.metadata_yaml.as_deref(), Some(YAML.as_bytes()));
        assert_eq!(img.reference.as_deref(), Some(FULL_REF));
        assert!(img.manifest_digest.starts_with("sha256:"));
        assert!(img.notes.is_empty(), "unexpected notes: {:?}", img.notes);
    }
    let a = load_image_for_arch(&out, None, "amd64").unwrap();
    let b = load_image_for_arch(&out, None, "arm64").unwrap();
    assert_ne!(a.manifest_digest, b.manifest_digest);

    for r in [
        "trace_open",
        "trace_open:latest",
        FULL_REF,
        "inspektor-gadget/gadget/trace_open",
        " trace_open ",
    ] {
        let img = load_image_for_arch(&out, Some(r), "amd64").unwrap();
        assert_eq!(img.reference.as_deref(), Some(FULL_REF), "{r}");
    }
    // host architecture (amd64 or arm64 on the machines we run on)
    if matches!(super::oci::host_arch(), "amd64" | "arm64") {
        load_image(&out, Some("trace_open")).unwrap();
    }
    assert_eq!(list_images(&out).unwrap(), vec![FULL_REF.to_string()]);
}

#[test]
fn pack_dir_and_extracted_tar_load_the_same() {
    let t = TempDir::new();
    let out = t.join("img.tar");
    pack_tar(&full_input(), &out).unwrap();
    let extracted = t.join("extracted");
    fs::create_dir(&extracted).unwrap();
    extract(&out, &extracted);
    let direct = t.join("direct");
    pack_dir(&full_input(), &direct).unwrap();

    let from_tar = load_image_for_arch(&out, Some("trace_open"), "arm64").unwrap();
    let from_ext = load_image_for_arch(&extracted, Some("trace_open:latest"), "arm64").unwrap();
    let from_dir = load_image_for_arch(&direct, Some(FULL_REF), "arm64").unwrap();
    assert_eq!(from_tar, from_ext);
    assert_eq!(from_tar, from_dir);

    // pack_dir refuses a non-empty directory
    assert!(err_of(pack_dir(&full_input(), &direct)).contains("not empty"));
}

#[test]
fn annotations_round_trip_and_are_everywhere() {
    let t = TempDir::new();
    let dir = t.join("layout");
    pack_dir(&full_input(), &dir).unwrap();
    let img = load_image_for_arch(&dir, None, "amd64").unwrap();
    let want: BTreeMap<String, String> = [
        (ak::TITLE, "trace open"),
        (ak::DESCRIPTION, "trace open files <&>"),
        (ak::URL, "https://inspektor-gadget.io/"),
        (ak::DOCUMENTATION, "https://www.inspektor-gadget.io/docs/latest/gadgets/trace_open"),
        (ak::SOURCE, "https://github.com/inspektor-gadget/inspektor-gadget/tree/main/gadgets/trace_open"),
        (ak::CREATED, CREATED),
        (ak::BUILDER_VERSION, &super::pack::builder_version()),
        ("io.example.custom", "yes-please"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(img.annotations, want);

    // Same map on: config descriptor, manifest, manifest descriptor, index,
    // top-level entry (plus ref.name).
    let want_json = serde_json::to_value(&want).unwrap();
    let top: Json = serde_json::from_slice(&fs::read(dir.join("index.json")).unwrap()).unwrap();
    let tagged: Vec<&Json> = top["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["annotations"].get(ak::REF_NAME).is_some())
        .collect();
    assert_eq!(tagged.len(), 1);
    let mut tagged_ann = tagged[0]["annotations"].clone();
    assert_eq!(tagged_ann[ak::REF_NAME], FULL_REF);
    tagged_ann.as_object_mut().unwrap().remove(ak::REF_NAME);
    assert_eq!(tagged_ann, want_json);

    let index = read_json(&dir, tagged[0]["digest"].as_str().unwrap());
    assert_eq!(index["annotations"], want_json);
    for md in index["manifests"].as_array().unwrap() {
        assert_eq!(md["annotations"], want_json);
        let m = read_json(&dir, md["digest"].as_str().unwrap());
        assert_eq!(m["annotations"], want_json);
        assert_eq!(m["config"]["annotations"], want_json);
        for l in m["layers"].as_array().unwrap() {
            assert!(l.get("annotations").is_none(), "layers carry no annotations");
        }
    }
}

#[test]
fn packed_layout_matches_ig_export() {
    let t = TempDir::new();
    let out = t.join("img.tar");
    pack_tar(&full_input(), &out).unwrap();
    let want_mtime = parse_rfc3339(CREATED).unwrap() as u64;

    // Tar: regular files only, relative names, Walk order, created mtime.
    let entries = tar_names(&out);
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    let n = names.len();
    assert_eq!(&names[n - 2..], &["index.json", "oci-layout"]);
    let blobs = &names[..n - 2];
    assert!(blobs.iter().all(|b| b.starts_with("blobs/sha256/") && b.len() == 13 + 64));
    let mut sorted = blobs.to_vec();
    sorted.sort();
    assert_eq!(sorted, blobs);
    // config, 2 ebpf, wasm, 2 manifests, index
    assert_eq!(blobs.len(), 7);
    for (name, kind, mtime, mode) in &entries {
        assert_eq!(*kind, tar::EntryType::Regular, "{name}");
        assert_eq!(*mtime, want_mtime, "{name}");
        assert_eq!(*mode, 0o644);
    }

    let dir = t.join("x");
    fs::create_dir(&dir).unwrap();
    extract(&out, &dir);
    assert_eq!(fs::read(dir.join("oci-layout")).unwrap(), br#"{"imageLayoutVersion":"1.0.0"}"#);

    // index.json: Go field order, tagged index + 2 untagged manifests sorted.
    let raw = fs::read_to_string(dir.join("index.json")).unwrap();
    assert!(raw.starts_with(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"#), "{raw}");
    let top: Json = serde_json::from_str(&raw).unwrap();
    assert!(top.get("annotations").is_none());
    let ms = top["manifests"].as_array().unwrap();
    assert_eq!(ms.len(), 3);
    let digests: Vec<&str> = ms.iter().map(|m| m["digest"].as_str().unwrap()).collect();
    let mut sorted = digests.clone();
    sorted.sort();
    assert_eq!(digests, sorted);
    let idx_entry = ms.iter().find(|m| m["mediaType"] == mt::OCI_INDEX).unwrap();
    let untagged: Vec<&Json> = ms.iter().filter(|m| m["mediaType"] == mt::OCI_MANIFEST).collect();
    assert_eq!(untagged.len(), 2);
    for u in &untagged {
        assert!(u["annotations"].get(ak::REF_NAME).is_none());
        assert_eq!(u["platform"]["os"], "linux");
    }

    // image index
    let index_raw = fs::read_to_string(blob_path(&dir, idx_entry["digest"].as_str().unwrap())).unwrap();
    assert!(index_raw.starts_with(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:"#));
    let index: Json = serde_json::from_str(&index_raw).unwrap();
    let archs: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(archs, ["amd64", "arm64"]);
    // the untagged top-level entries are exactly the index's descriptors
    for m in index["manifests"].as_array().unwrap() {
        assert!(untagged.contains(&m));
    }

    // manifests
    let mut configs = Vec::new();
    let mut wasms = Vec::new();
    for (m, arch) in index["manifests"].as_array().unwrap().iter().zip(["amd64", "arm64"]) {
        let raw = fs::read_to_string(blob_path(&dir, m["digest"].as_str().unwrap())).unwrap();
        assert!(raw.starts_with(r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.gadget.v1+binary","config":{"mediaType":"application/vnd.gadget.config.v1+yaml","digest":"sha256:"#), "{raw}");
        // Go escapes <, >, & in strings
        assert!(raw.contains(r#"trace open files \u003c\u0026\u003e"#));
        let man: Json = serde_json::from_str(&raw).unwrap();
        let layers = man["layers"].as_array().unwrap();
        assert_eq!(layers.len(), 2);
        assert_eq!(layers[0]["mediaType"], mt::EBPF);
        assert_eq!(layers[1]["mediaType"], mt::WASM);
        assert_eq!(
            fs::read(blob_path(&dir, layers[0]["digest"].as_str().unwrap())).unwrap(),
            elf(arch)
        );
        configs.push(man["config"]["digest"].clone());
        wasms.push(layers[1]["digest"].clone());
        assert_eq!(
            fs::read(blob_path(&dir, man["config"]["digest"].as_str().unwrap())).unwrap(),
            YAML.as_bytes()
        );
    }
    assert_eq!(configs[0], configs[1], "gadget.yaml blob is shared");
    assert_eq!(wasms[0], wasms[1], "wasm blob is shared");
}

#[test]
fn packing_is_deterministic() {
    let t = TempDir::new();
    pack_tar(&full_input(), &t.join("a.tar")).unwrap();
    pack_tar(&full_input(), &t.join("b.tar")).unwrap();
    assert_eq!(fs::read(t.join("a.tar")).unwrap(), fs::read(t.join("b.tar")).unwrap());
    let mut other = full_input();
    other.created = Some("2024-05-15T10:20:31Z".into());
    pack_tar(&other, &t.join("c.tar")).unwrap();
    assert_ne!(fs::read(t.join("a.tar")).unwrap(), fs::read(t.join("c.tar")).unwrap());
    // no stray temp files
    let names: Vec<String> = fs::read_dir(t.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn no_metadata_uses_oci_empty_config() {
    let t = TempDir::new();
    let input = PackInput {
        ebpf: Some(elf("x")),
        reference: "localhost:5000/my/gadget:v1".into(),
        created: Some(CREATED.into()),
        ..Default::default()
    };
    let dir = t.join("l");
    pack_dir(&input, &dir).unwrap();
    let img = load_image_for_arch(&dir, None, "amd64").unwrap();
    assert_eq!(img.reference.as_deref(), Some("localhost:5000/my/gadget:v1"));
    assert_eq!(img.metadata_yaml, None);
    assert_eq!(img.ebpf, Some(elf("x")));
    assert_eq!(img.wasm, None);
    assert_eq!(
        img.annotations.keys().map(String::as_str).collect::<Vec<_>>(),
        [ak::BUILDER_VERSION, ak::CREATED]
    );
    let m = read_json(&dir, &img.manifest_digest);
    assert_eq!(m["config"]["mediaType"], mt::OCI_EMPTY);
    assert_eq!(m["config"]["data"], "e30=");
    assert_eq!(m["config"]["size"], 2);
    assert_eq!(
        m["config"]["digest"],
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    );
    assert_eq!(fs::read(blob_path(&dir, m["config"]["digest"].as_str().unwrap())).unwrap(), b"{}");
    // Same object for both arches → one manifest blob, listed once.
    let top: Json = serde_json::from_slice(&fs::read(dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(top["manifests"].as_array().unwrap().len(), 2);
    let arm = load_image_for_arch(&dir, None, "arm64").unwrap();
    assert_eq!(arm.manifest_digest, img.manifest_digest);
    assert_eq!(img.metadata().unwrap(), GadgetMetadata::parse(b"").unwrap());
}

#[test]
fn wasm_only_and_untagged_images() {
    let t = TempDir::new();
    let input = PackInput {
        wasm: Some(wasm()),
        created: Some(CREATED.into()),
        ..Default::default()
    };
    let out = t.join("w.tar");
    pack_tar(&input, &out).unwrap();
    assert!(list_images(&out).unwrap().is_empty());
    let img = load_image_for_arch(&out, None, "arm64").unwrap();
    assert_eq!(img.reference, None);
    assert_eq!(img.ebpf, None);
    assert_eq!(img.wasm, Some(wasm()));
    assert!(img.notes.iter().any(|n| n.contains("no tagged image")), "{:?}", img.notes);
}

#[test]
fn pack_rejects_bad_input() {
    let base = full_input();
    let cases: Vec<(PackInput, &str)> = vec![
        (PackInput { ebpf: None, ebpf_arm64: None, wasm: None, ..base.clone() }, "nothing to pack"),
        (PackInput { ebpf: None, ..base.clone() }, "without the main"),
        (PackInput { ebpf: Some(b"nope".to_vec()), ..base.clone() }, "not an ELF"),
        (PackInput { wasm: Some(b"nope".to_vec()), ..base.clone() }, "wasm magic"),
        (PackInput { gadget_yaml: Some(b"a: [b".to_vec()), ..base.clone() }, "not valid YAML"),
        (PackInput { created: Some("yesterday".into()), ..base.clone() }, "RFC 3339"),
        (PackInput { created: Some("1969-12-31T23:59:59Z".into()), ..base.clone() }, "before 1970"),
        (PackInput { reference: "a b".into(), ..base.clone() }, "invalid image reference"),
    ];
    for (input, want) in cases {
        let e = format!("{:#}", build(&input).err().expect(want));
        assert!(e.contains(want), "{e} should contain {want}");
    }
}

// ---------------------------------------------------------------------------
// bad input on load
// ---------------------------------------------------------------------------

fn packed_dir(t: &TempDir) -> (PathBuf, super::GadgetImage) {
    let dir = t.join("layout");
    pack_dir(&full_input(), &dir).unwrap();
    let img = load_image_for_arch(&dir, None, "amd64").unwrap();
    (dir, img)
}

#[test]
fn truncated_tar_is_rejected() {
    let t = TempDir::new();
    let out = t.join("img.tar");
    pack_tar(&full_input(), &out).unwrap();
    let bytes = fs::read(&out).unwrap();
    for cut in [100, 700, bytes.len() / 2, bytes.len() - 1100] {
        let p = t.join(&format!("cut{cut}.tar"));
        fs::write(&p, &bytes[..cut]).unwrap();
        let e = err_of(load_image_for_arch(&p, None, "amd64"));
        assert!(
            e.contains("truncated") || e.contains("missing") || e.contains("not a valid tar"),
            "cut at {cut}: {e}"
        );
    }
    // header claiming a huge size with no data behind it
    let mut h = tar::Header::new_ustar();
    h.set_path("index.json").unwrap();
    h.set_size(10 << 30);
    h.set_cksum();
    let p = t.join("huge.tar");
    fs::write(&p, h.as_bytes()).unwrap();
    let e = err_of(load_image_for_arch(&p, None, "amd64"));
    assert!(e.contains("truncated") || e.contains("not a valid tar"), "{e}");
    // empty file and garbage
    fs::write(t.join("empty.tar"), b"").unwrap();
    assert!(err_of(load_image_for_arch(&t.join("empty.tar"), None, "amd64")).contains("index.json is missing"));
    fs::write(t.join("garbage.tar"), vec![0x5au8; 4096]).unwrap();
    assert!(err_of(load_image_for_arch(&t.join("garbage.tar"), None, "amd64")).contains("not a valid tar"));
    // nonexistent path
    assert!(err_of(load_image(&t.join("nope.tar"), None)).contains("cannot open"));
}

#[test]
fn wrong_digest_or_size_is_rejected() {
    let t = TempDir::new();
    let (dir, img) = packed_dir(&t);
    let wasm_blob = blob_path(&dir, img.wasm_digest.as_deref().unwrap());
    let mut b = fs::read(&wasm_blob).unwrap();
    let last = b.len() - 1;
    b[last] ^= 1;
    fs::write(&wasm_blob, &b).unwrap();
    let e = err_of(load_image_for_arch(&dir, None, "amd64"));
    assert!(e.contains("digest mismatch"), "{e}");
    b.push(0);
    fs::write(&wasm_blob, &b).unwrap();
    let e = err_of(load_image_for_arch(&dir, None, "amd64"));
    assert!(e.contains("size mismatch"), "{e}");

    // Same in a tar: flip a byte of the wasm blob in place.
    let t2 = TempDir::new();
    let out = t2.join("i.tar");
    pack_tar(&full_input(), &out).unwrap();
    let mut bytes = fs::read(&out).unwrap();
    let needle = b"a tiny fake module";
    let pos = bytes.windows(needle.len()).position(|w| w == needle).unwrap();
    bytes[pos] = b'A';
    fs::write(&out, &bytes).unwrap();
    let e = err_of(load_image_for_arch(&out, None, "amd64"));
    assert!(e.contains("digest mismatch"), "{e}");
}

#[test]
fn missing_index_or_blob_is_rejected() {
    let t = TempDir::new();
    let (dir, img) = packed_dir(&t);
    fs::remove_file(blob_path(&dir, img.wasm_digest.as_deref().unwrap())).unwrap();
    let e = err_of(load_image_for_arch(&dir, None, "amd64"));
    assert!(e.contains("wasm layer blob") && e.contains("missing"), "{e}");
    fs::remove_file(blob_path(&dir, &img.manifest_digest)).unwrap();
    let e = err_of(load_image_for_arch(&dir, None, "amd64"));
    assert!(e.contains("manifest blob") && e.contains("missing"), "{e}");
    fs::remove_file(dir.join("index.json")).unwrap();
    let e = err_of(load_image_for_arch(&dir, None, "amd64"));
    assert!(e.contains("index.json is missing"), "{e}");
    assert!(err_of(list_images(&dir)).contains("index.json is missing"));
}

#[test]
fn other_architecture_only_is_rejected() {
    let h = Hand::new();
    let ebpf = desc(mt::EBPF, h.blob(&elf("arm")));
    hand_image(&h, "arm64", yaml_config(&h, b"name: x\n"), vec![ebpf], "ghcr.io/x/y:latest");
    let e = err_of(load_image_for_arch(h.path(), None, "amd64"));
    assert!(e.contains("no manifest for architecture amd64") && e.contains("available: arm64"), "{e}");
    load_image_for_arch(h.path(), Some("ghcr.io/x/y"), "arm64").unwrap();
}

#[test]
fn metadata_only_images_load_and_unknown_layers_are_skipped() {
    // Operator-only gadgets (top_process, bpfstats) are images with metadata and no program:
    // they load; whether something emits data is decided when the gadget opens.
    let h = Hand::new();
    let odd = desc("application/vnd.example.unknown", h.blob(b"whatever"));
    hand_image(&h, "amd64", yaml_config(&h, b"name: x\n"), vec![odd.clone()], "ghcr.io/x/y:latest");
    let img = load_image_for_arch(h.path(), None, "amd64").unwrap();
    assert!(img.ebpf.is_none() && img.wasm.is_none());
    assert_eq!(img.metadata_yaml.as_deref(), Some(&b"name: x\n"[..]));

    let h = Hand::new();
    let odd = desc("application/vnd.example.unknown", h.blob(b"whatever"));
    let btf = desc(mt::BTFGEN, h.blob(b"btf tarball"));
    let ebpf = desc(mt::EBPF, h.blob(&elf("a")));
    hand_image(&h, "amd64", yaml_config(&h, b"name: x\n"), vec![ebpf, odd, btf], "ghcr.io/x/y:latest");
    let img = load_image_for_arch(h.path(), None, "amd64").unwrap();
    assert_eq!(img.ebpf, Some(elf("a")));
    assert!(
        img.notes.iter().any(|n| n.contains("unknown media type") && n.contains("application/vnd.example.unknown")),
        "{:?}",
        img.notes
    );
    assert!(img.notes.iter().any(|n| n.contains("btfgen layer")), "{:?}", img.notes);

    // duplicate eBPF layers
    let h = Hand::new();
    let e1 = desc(mt::EBPF, h.blob(&elf("a")));
    let e2 = desc(mt::EBPF, h.blob(&elf("b")));
    hand_image(&h, "amd64", yaml_config(&h, b"name: x\n"), vec![e1, e2], "ghcr.io/x/y:latest");
    assert!(err_of(load_image_for_arch(h.path(), None, "amd64")).contains("more than one eBPF layer"));
}

#[test]
fn invalid_yaml_is_rejected() {
    for (yaml, want) in [
        (&b"name: [unclosed"[..], "not valid YAML"),
        (b"- a\n- b\n", "top level must be a mapping"),
        (b"params: 3\n", "unexpected structure"),
        (b"\xff\xfe", "UTF-8"),
    ] {
        let h = Hand::new();
        let ebpf = desc(mt::EBPF, h.blob(&elf("a")));
        hand_image(&h, "amd64", yaml_config(&h, yaml), vec![ebpf], "ghcr.io/x/y:latest");
        let e = err_of(load_image_for_arch(h.path(), None, "amd64"));
        assert!(e.contains("config blob sha256:") && e.contains(want), "{e}");
    }
}

#[test]
fn absurd_sizes_are_rejected_before_reading() {
    // layer descriptor claiming 1 TiB (the blob does not even exist)
    let h = Hand::new();
    let huge = json!({"mediaType": mt::EBPF, "digest": sha256_digest(b"x"), "size": 1u64 << 40});
    hand_image(&h, "amd64", yaml_config(&h, b"name: x\n"), vec![huge], "ghcr.io/x/y:latest");
    let e = err_of(load_image_for_arch(h.path(), None, "amd64"));
    assert!(e.contains("exceeds the limit"), "{e}");

    // config claiming 100 MiB
    let h = Hand::new();
    let ebpf = desc(mt::EBPF, h.blob(&elf("a")));
    let cfg = json!({"mediaType": mt::CONFIG, "digest": sha256_digest(b"x"), "size": 100u64 << 20});
    hand_image(&h, "amd64", cfg, vec![ebpf], "ghcr.io/x/y:latest");
    assert!(err_of(load_image_for_arch(h.path(), None, "amd64")).contains("exceeds the limit"));

    // manifest descriptor claiming 5 MiB
    let h = Hand::new();
    let index = json!({"schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": [
        {"mediaType": mt::OCI_MANIFEST, "digest": sha256_digest(b"m"), "size": 5u64 << 20,
         "platform": {"architecture": "amd64", "os": "linux"}}]});
    let i = h.json_blob(&index);
    let mut top = desc(mt::OCI_INDEX, i);
    top["annotations"] = json!({ak::REF_NAME: "ghcr.io/x/y:latest"});
    h.index(&json!({"schemaVersion": 2, "manifests": [top]}));
    assert!(err_of(load_image_for_arch(h.path(), None, "amd64")).contains("exceeds the limit"));

    // index.json of 5 MiB
    let h = Hand::new();
    fs::write(h.path().join("index.json"), vec![b' '; 5 << 20]).unwrap();
    let e = err_of(load_image_for_arch(h.path(), None, "amd64"));
    assert!(e.contains("too large"), "{e}");

    // negative / non-numeric sizes are malformed JSON for us
    let h = Hand::new();
    h.index(&json!({"schemaVersion": 2, "manifests": [{"mediaType": mt::OCI_INDEX, "digest": sha256_digest(b"x"), "size": -1}]}));
    assert!(err_of(load_image_for_arch(h.path(), None, "amd64")).contains("not a valid OCI index"));
}

fn raw_tar_with_name(name: &[u8], data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    {
        let bytes = h.as_mut_bytes();
        bytes[..100].fill(0);
        bytes[..name.len()].copy_from_slice(name);
    }
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out.extend_from_slice(&[0u8; 1024]);
    out
}

#[test]
fn unsafe_tar_names_are_rejected() {
    let t = TempDir::new();
    for name in [&b"../index.json"[..], b"/index.json", b"blobs/../../etc/passwd", b"./a/../../x"] {
        let p = t.join("evil.tar");
        fs::write(&p, raw_tar_with_name(name, b"{}")).unwrap();
        let e = err_of(load_image_for_arch(&p, None, "amd64"));
        assert!(e.contains("unsafe tar entry"), "{}: {e}", String::from_utf8_lossy(name));
    }
    // "./index.json" is fine (normalised)
    let p = t.join("ok.tar");
    fs::write(&p, raw_tar_with_name(b"./index.json", br#"{"schemaVersion":2,"manifests":[]}"#)).unwrap();
    let e = err_of(load_image_for_arch(&p, None, "amd64"));
    assert!(e.contains("lists no images"), "{e}");
}

#[test]
fn reference_selection_errors() {
    // Two images in one layout: pack both into one dir by merging index.json.
    let t = TempDir::new();
    let a = t.join("a");
    let b = t.join("b");
    pack_dir(&full_input(), &a).unwrap();
    let mut other = full_input();
    other.reference = "ghcr.io/acme/other:v2".into();
    other.wasm = None;
    pack_dir(&other, &b).unwrap();
    for e in fs::read_dir(b.join("blobs/sha256")).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), a.join("blobs/sha256").join(e.file_name())).unwrap();
    }
    let mut ia: Json = serde_json::from_slice(&fs::read(a.join("index.json")).unwrap()).unwrap();
    let ib: Json = serde_json::from_slice(&fs::read(b.join("index.json")).unwrap()).unwrap();
    for m in ib["manifests"].as_array().unwrap() {
        ia["manifests"].as_array_mut().unwrap().push(m.clone());
    }
    fs::write(a.join("index.json"), serde_json::to_vec(&ia).unwrap()).unwrap();

    let e = err_of(load_image_for_arch(&a, None, "amd64"));
    assert!(e.contains("several images") && e.contains(FULL_REF) && e.contains("ghcr.io/acme/other:v2"), "{e}");
    let e = err_of(load_image_for_arch(&a, Some("trace_exec"), "amd64"));
    assert!(
        e.contains("ghcr.io/inspektor-gadget/gadget/trace_exec:latest")
            && e.contains("not found")
            && e.contains(FULL_REF)
            && e.contains("ghcr.io/acme/other:v2"),
        "{e}"
    );
    let other_img = load_image_for_arch(&a, Some("ghcr.io/acme/other:v2"), "amd64").unwrap();
    assert_eq!(other_img.wasm, None);
    assert_eq!(list_images(&a).unwrap().len(), 2);

    // by digest of the tagged entry
    let d = ib["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mediaType"] == mt::OCI_INDEX)
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let by_digest = load_image_for_arch(&a, Some(&d), "amd64").unwrap();
    assert_eq!(by_digest.manifest_digest, other_img.manifest_digest);
    let at = format!("ghcr.io/acme/other@{d}");
    assert_eq!(load_image_for_arch(&a, Some(&at), "amd64").unwrap().manifest_digest, other_img.manifest_digest);
}

// ---------------------------------------------------------------------------
// legacy images
// ---------------------------------------------------------------------------

const LEGACY_YAML: &str = r#"name: trace open
description: trace open files
tracers:
  open:
    mapName: events
    structName: event
structs:
  event:
    fields:
    - name: pid
      description: PID of the process opening a file
      attributes:
        template: pid
    - name: comm
      attributes:
        template: comm
ebpfParams:
  targ_failed:
    key: failed
    defaultValue: "false"
    description: Show only failed events
"#;

/// Mimics the 2024 `trace_open.tar`: index.json → (tagged) image index →
/// amd64/arm64 manifests without mediaType/artifactType, config and layer
/// annotations from the old builder, legacy gadget.yaml keys.
fn legacy_layout() -> Hand {
    let h = Hand::new();
    let cfg_blob = h.blob(LEGACY_YAML.as_bytes());
    let mut descs = Vec::new();
    for arch in ["amd64", "arm64"] {
        let mut cfg = desc(mt::CONFIG, cfg_blob.clone());
        cfg["annotations"] = json!({ak::TITLE: "config.yaml"});
        let mut prog = desc(mt::EBPF, h.blob(&elf(arch)));
        prog["annotations"] = json!({
            ak::TITLE: "program.o",
            "org.opencontainers.image.authors": "TODO: authors",
            ak::DESCRIPTION: "TODO: description",
        });
        let manifest = json!({"schemaVersion": 2, "config": cfg, "layers": [prog]});
        let mut md = desc(mt::OCI_MANIFEST, h.json_blob(&manifest));
        md["platform"] = json!({"architecture": arch, "os": "linux"});
        descs.push(md);
    }
    let index = json!({"schemaVersion": 2, "mediaType": mt::OCI_INDEX, "manifests": descs,
        "annotations": {ak::CREATED: "2024-05-15T08:07:51Z"}});
    let mut top = desc(mt::OCI_INDEX, h.json_blob(&index));
    top["annotations"] = json!({ak::REF_NAME: FULL_REF});
    let mut entries = vec![top];
    entries.extend(descs);
    h.index(&json!({"schemaVersion": 2, "manifests": entries}));
    h
}

#[test]
fn legacy_2024_layout_loads() {
    let h = legacy_layout();
    for arch in ["amd64", "arm64"] {
        let img = load_image_for_arch(h.path(), Some("trace_open"), arch).unwrap();
        assert_eq!(img.ebpf, Some(elf(arch)));
        assert_eq!(img.wasm, None);
        assert_eq!(img.metadata_yaml.as_deref(), Some(LEGACY_YAML.as_bytes()));
        assert_eq!(img.annotations.get(ak::CREATED).map(String::as_str), Some("2024-05-15T08:07:51Z"));
        assert!(img.notes.iter().any(|n| n.contains("no artifactType")), "{:?}", img.notes);
        assert!(img.notes.iter().any(|n| n.contains("builder.version")), "{:?}", img.notes);
        let md = img.metadata().unwrap();
        assert!(md.is_legacy());
        assert_eq!(md.name.as_deref(), Some("trace open"));
        let p = md.ebpf_param("targ_failed").unwrap();
        assert_eq!(p.key.as_deref(), Some("failed"));
        assert_eq!(p.default_value.as_deref(), Some("false"));
        assert_eq!(md.get_str("tracers.open.mapName").as_deref(), Some("events"));
        assert_eq!(md.get_str("structs.event.fields.0.attributes.template").as_deref(), Some("pid"));
    }
    // also as a tar (files written in arbitrary order, with directory entries)
    let t = TempDir::new();
    let p = t.join("legacy.tar");
    {
        let mut b = tar::Builder::new(fs::File::create(&p).unwrap());
        b.append_dir_all(".", h.path()).unwrap();
        b.finish().unwrap();
    }
    let img = load_image_for_arch(&p, None, "amd64").unwrap();
    assert_eq!(img.ebpf, Some(elf("amd64")));
    assert_eq!(img.reference.as_deref(), Some(FULL_REF));
}

#[test]
fn tagged_entry_that_is_a_manifest_loads() {
    let h = Hand::new();
    let cfg = desc(mt::CONFIG, h.blob(LEGACY_YAML.as_bytes()));
    let prog = desc(mt::EBPF, h.blob(&elf("solo")));
    let manifest = json!({"schemaVersion": 2, "config": cfg, "layers": [prog]});
    let mut top = desc(mt::OCI_MANIFEST, h.json_blob(&manifest));
    top["annotations"] = json!({ak::REF_NAME: "ghcr.io/inspektor-gadget/gadget/solo:latest"});
    h.index(&json!({"schemaVersion": 2, "manifests": [top]}));
    let img = load_image_for_arch(h.path(), Some("solo"), "arm64").unwrap();
    assert_eq!(img.ebpf, Some(elf("solo")));
    assert!(img.notes.iter().any(|n| n.contains("single manifest")), "{:?}", img.notes);

    // An entry without mediaType is recognised by its shape.
    let h2 = Hand::new();
    let cfg = desc(mt::CONFIG, h2.blob(b"name: x\n"));
    let prog = desc(mt::EBPF, h2.blob(&elf("solo")));
    let manifest = json!({"schemaVersion": 2, "config": cfg, "layers": [prog]});
    let (d, s) = h2.json_blob(&manifest);
    h2.index(&json!({"schemaVersion": 2, "manifests": [{"digest": d, "size": s,
        "annotations": {ak::REF_NAME: "ghcr.io/a/b:c"}}]}));
    assert_eq!(load_image_for_arch(h2.path(), None, "amd64").unwrap().ebpf, Some(elf("solo")));

    // A media type mismatch between descriptor and content is an error.
    let h3 = Hand::new();
    let cfg = desc(mt::CONFIG, h3.blob(b"name: x\n"));
    let prog = desc(mt::EBPF, h3.blob(&elf("solo")));
    let manifest = json!({"schemaVersion": 2, "mediaType": mt::OCI_MANIFEST, "config": cfg, "layers": [prog]});
    let mut top = desc(mt::OCI_INDEX, h3.json_blob(&manifest));
    top["annotations"] = json!({ak::REF_NAME: "ghcr.io/a/b:c"});
    h3.index(&json!({"schemaVersion": 2, "manifests": [top]}));
    assert!(err_of(load_image_for_arch(h3.path(), None, "amd64")).contains("does not match"));
}

// ---------------------------------------------------------------------------
// metadata
// ---------------------------------------------------------------------------

#[test]
fn metadata_typed_fields() {
    let md = GadgetMetadata::parse(YAML.as_bytes()).unwrap();
    assert_eq!(md.name.as_deref(), Some("trace open"));
    assert_eq!(md.homepage_url.as_deref(), Some("https://inspektor-gadget.io/"));
    assert!(md.documentation_url.is_some() && md.source_url.is_some());
    assert_eq!(md.annotations["io.example.custom"], "yes-please");
    let open = &md.datasources["open"];
    assert_eq!(open.annotations["cli.clear-screen-before"], "false");
    assert_eq!(open.fields["fname"].annotations["columns.width"], "32");
    assert_eq!(open.fields["fname"].tags, ["a", "b"]);
    assert!(open.fields["error_raw"].annotations.is_empty());
    let p = &md.params.ebpf["targ_failed"];
    assert_eq!(p.key.as_deref(), Some("failed"));
    assert_eq!(p.default_value.as_deref(), Some("false"));
    let w = &md.params.wasm["filesystem"];
    assert_eq!(w.type_hint.as_deref(), Some("string"));
    assert_eq!(w.possible_values, ["ext4", "xfs"]);
    assert!(w.is_mandatory);
    assert_eq!(md.ebpf_param("targ_failed").unwrap(), *p);
    assert!(md.ebpf_param("nope").is_none());
    assert!(!md.is_legacy());

    // template expansion: presets, explicit keys win
    let a = md.field_annotations("open", "proc.comm");
    assert_eq!(a["description"], "Process name");
    assert_eq!(a["columns.maxwidth"], "16");
    assert_eq!(a["columns.width"], "20");
    assert!(annotations_template("pid").unwrap().contains(&("columns.alignment", "right")));
    assert!(annotations_template("nope").is_none());
    for t in ["timestamp", "comm", "pcomm", "pid", "ppid", "tid", "ptid", "uid", "gid", "ns", "mntns_id",
        "netns_id", "l4endpoint", "syscall", "errorString", "node", "pod", "container"] {
        assert!(annotations_template(t).is_some(), "{t}");
    }
}

#[test]
fn metadata_paths() {
    let mut md = GadgetMetadata::parse(YAML.as_bytes()).unwrap();
    assert_eq!(md.get_str("programs.ig_open.attach_to").as_deref(), Some("do_sys_openat2"));
    // keys containing dots
    assert_eq!(
        md.get_str("datasources.open.fields.proc.comm.annotations.columns.width").as_deref(),
        Some("20")
    );
    assert_eq!(md.get_str("params.ebpf.targ_failed.defaultValue").as_deref(), Some("false"));
    assert_eq!(md.get_str("PROGRAMS.ig_open.ATTACH_TO").as_deref(), Some("do_sys_openat2"));
    assert!(md.get_path("programs.nope").is_none());
    assert!(md.get_path("").unwrap().is_mapping());

    md.set_path("programs.ig_open.attach_to", "vfs_open".into());
    assert_eq!(md.get_str("programs.ig_open.attach_to").as_deref(), Some("vfs_open"));
    md.set_path("paramDefaults.operator.oci.ebpf.failed", "true".into());
    assert_eq!(md.get_str("paramDefaults.operator.oci.ebpf.failed").as_deref(), Some("true"));
    md.set_path("datasources.open.fields.proc.comm.annotations.columns.hidden", "true".into());
    assert_eq!(md.datasources["open"].fields["proc.comm"].annotations["columns.hidden"], "true");
    md.set_path("name", "renamed".into());
    assert_eq!(md.name.as_deref(), Some("renamed"));
    // a scalar in the way becomes a mapping
    md.set_path("name.sub", "x".into());
    assert_eq!(md.get_str("name.sub").as_deref(), Some("x"));

    let mut empty = GadgetMetadata::parse(b"").unwrap();
    empty.set_path("a.b.c", "d".into());
    assert_eq!(empty.get_str("a.b.c").as_deref(), Some("d"));
    let mut def = GadgetMetadata::default();
    def.set_path("x", "1".into());
    assert_eq!(def.get_str("x").as_deref(), Some("1"));
}

#[test]
fn normalize_reference_like_ig() {
    let cases = [
        ("trace_open", "ghcr.io/inspektor-gadget/gadget/trace_open:latest"),
        ("trace_open:v0.1", "ghcr.io/inspektor-gadget/gadget/trace_open:v0.1"),
        ("ghcr.io/inspektor-gadget/gadget/trace_open:latest", "ghcr.io/inspektor-gadget/gadget/trace_open:latest"),
        ("foo/bar", "ghcr.io/foo/bar:latest"),
        ("docker.io/foo/bar:1", "docker.io/foo/bar:1"),
        ("localhost/foo", "localhost/foo:latest"),
        ("localhost:5000/foo", "localhost:5000/foo:latest"),
        ("myreg:5000/a/b:c", "myreg:5000/a/b:c"),
        ("ghcr.io/x", "ghcr.io/inspektor-gadget/gadget/x:latest"),
        ("trace_open@sha256:abc", "ghcr.io/inspektor-gadget/gadget/trace_open@sha256:abc"),
    ];
    for (i, want) in cases {
        assert_eq!(normalize_reference(i), want, "{i}");
    }
}

#[test]
fn rfc3339() {
    assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z").unwrap(), 0);
    assert_eq!(parse_rfc3339("2024-05-15T00:00:00Z").unwrap(), 1_715_731_200);
    assert_eq!(parse_rfc3339("2024-05-15T02:00:00.123+02:00").unwrap(), 1_715_731_200);
    assert_eq!(parse_rfc3339("2000-02-29T12:34:56z").unwrap(), 951_827_696);
    for bad in ["2023-02-29T00:00:00Z", "2024-05-15", "2024-05-15T00:00:00", "2024-13-01T00:00:00Z", "2024-05-15T00:00:00+2:00"] {
        assert!(parse_rfc3339(bad).is_err(), "{bad}");
    }
    for s in [0i64, 951_827_696, 1_715_731_200, 4_102_444_800] {
        assert_eq!(parse_rfc3339(&format_rfc3339(s)).unwrap(), s);
    }
    assert_eq!(format_rfc3339(1_715_731_200), "2024-05-15T00:00:00Z");
}

// ---------------------------------------------------------------------------
// module cache
// ---------------------------------------------------------------------------

/// Beyond its size bound the cache deletes the least recently used entries (a `get` counts
/// as a use), never the one just stored, and temporary files a dead writer left behind.
#[test]
fn module_cache_evicts_least_recently_used_entries_beyond_its_bound() {
    let t = TempDir::new();
    // Each entry is 48 header bytes + 1000: room for three.
    let cache = ModuleCache::new(t.join("c")).with_max_bytes(3 * 1048 + 10);
    let key = |i: u8| format!("{i:02x}").repeat(32);
    let set_age = |i: u8, secs: u64| {
        let f = fs::File::options().write(true).open(cache.dir().join(format!("{}.bin", key(i)))).unwrap();
        f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(secs)).unwrap();
    };
    for i in 0..3u8 {
        cache.put(&key(i), &[i; 1000]).unwrap();
        set_age(i, 100 - u64::from(i) * 10); // entry 0 oldest
    }
    // Entry 0 is used: entry 1 becomes the least recently used.
    assert!(cache.get(&key(0)).is_some());
    let stale = cache.dir().join(format!(".{}.tmp-1-0", key(9)));
    fs::write(&stale, b"partial").unwrap();
    fs::File::options().write(true).open(&stale).unwrap().set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200)).unwrap();
    cache.put(&key(3), &[3; 1000]).unwrap();
    let present: Vec<bool> = (0..4u8).map(|i| cache.dir().join(format!("{}.bin", key(i))).exists()).collect();
    assert_eq!(present, [true, false, true, true]);
    assert!(!stale.exists(), "a stale temporary file stays");
    // An entry larger than the bound alone is still stored (and everything else goes).
    cache.put(&key(4), &[4; 5000]).unwrap();
    assert!(cache.get(&key(4)).is_some());
    assert!((0..4u8).all(|i| !cache.dir().join(format!("{}.bin", key(i))).exists()));
}

#[test]
fn module_cache_round_trip_and_corruption() {
    let t = TempDir::new();
    let cache = ModuleCache::new(t.join("sub/cache"));
    let key = "ab".repeat(32);
    assert_eq!(cache.get(&key), None);
    cache.put(&key, b"compiled module bytes").unwrap();
    assert_eq!(cache.get(&key).as_deref(), Some(&b"compiled module bytes"[..]));
    cache.put(&key, b"v2").unwrap();
    assert_eq!(cache.get(&key).as_deref(), Some(&b"v2"[..]));
    let file = cache.dir().join(format!("{key}.bin"));
    // no temp files left behind (the entry and the MAC key)
    assert_eq!(fs::read_dir(cache.dir()).unwrap().count(), 2);

    // flipped payload byte → checksum mismatch → deleted
    cache.put(&key, b"payload payload").unwrap();
    let mut b = fs::read(&file).unwrap();
    let last = b.len() - 1;
    b[last] ^= 0xff;
    fs::write(&file, &b).unwrap();
    assert_eq!(cache.get(&key), None);
    assert!(!file.exists());

    // truncated entry
    cache.put(&key, b"payload payload").unwrap();
    let b = fs::read(&file).unwrap();
    fs::write(&file, &b[..b.len() - 3]).unwrap();
    assert_eq!(cache.get(&key), None);
    assert!(!file.exists());

    // truncated header, bad magic
    for junk in [&b"GRTMOD"[..], b"NOTMAGIC\x02\0\0\0\0\0\0\0xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxhi"] {
        fs::write(&file, junk).unwrap();
        assert_eq!(cache.get(&key), None);
        assert!(!file.exists());
    }

    // empty payload is valid
    cache.put(&key, b"").unwrap();
    assert_eq!(cache.get(&key).as_deref(), Some(&b""[..]));
    cache.remove(&key).unwrap();
    cache.remove(&key).unwrap();
    assert_eq!(cache.get(&key), None);

    // keys must be hex
    for bad in ["", "../etc/passwd", "xyz", &"a".repeat(129)] {
        assert!(cache.put(bad, b"x").is_err(), "{bad}");
        assert_eq!(cache.get(bad), None);
    }
    assert!(!ModuleCache::default_dir().as_os_str().is_empty());
}
