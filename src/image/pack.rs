//! Writing gadget images in the layout `ig image build` + `ig image export`
//! produce (spec A.2, A.4, A.5):
//!
//! ```text
//! oci-layout   {"imageLayoutVersion":"1.0.0"}
//! index.json   {schemaVersion 2, mediaType index, manifests: [
//!                 image index (tagged: ref.name = full normalised reference),
//!                 amd64 manifest, arm64 manifest (untagged)] sorted by digest}
//! blobs/sha256/<image index>  → manifests[amd64, arm64] (+ annotations)
//! blobs/sha256/<manifest>     schemaVersion 2, mediaType, artifactType,
//!                             config (gadget.yaml or OCI empty descriptor),
//!                             layers [ebpf, wasm], annotations
//! blobs/sha256/<gadget.yaml>, <amd64 ebpf>, <arm64 ebpf>, <wasm>
//! ```
//!
//! JSON is written like Go's `encoding/json` (struct field order, sorted map
//! keys, no spaces, `<`, `>`, `&`, U+2028 and U+2029 escaped). The tar has
//! regular files only (ustar, mode 0644, owner 0:0), relative names in
//! `filepath.Walk` order (`blobs/sha256/*` sorted, `index.json`,
//! `oci-layout`), every mtime set to the `created` annotation, and no
//! directory entries, so a fixed `created` gives byte-identical output.
//!
//! When amd64 and arm64 use the same eBPF object the two manifests are the
//! same blob; index.json then lists it once (with the amd64 platform).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

use super::annotation_keys as ak;
use super::media_types as mt;
use super::metadata::GadgetMetadata;
use super::oci::{sha256_digest, Descriptor, ImageIndex, ImageManifest, Platform};

/// What to pack.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackInput {
    /// eBPF object; used for both architectures unless `ebpf_arm64` is set.
    pub ebpf: Option<Vec<u8>>,
    /// eBPF object for arm64 (requires `ebpf`).
    pub ebpf_arm64: Option<Vec<u8>>,
    /// Wasm module, shared by both architectures.
    pub wasm: Option<Vec<u8>>,
    /// gadget.yaml; without it the config is the OCI empty descriptor.
    pub gadget_yaml: Option<Vec<u8>>,
    /// Image reference, normalised like IG (`trace_open` →
    /// `ghcr.io/inspektor-gadget/gadget/trace_open:latest`). Empty: untagged.
    pub reference: String,
    /// Creation time, RFC 3339 (`2024-05-15T10:00:00Z`); now (UTC) if `None`.
    pub created: Option<String>,
}

/// Architectures every image is built for, as `ig image build` does.
pub const ARCHES: [&str; 2] = ["amd64", "arm64"];

/// The `io.inspektor-gadget.builder.version` value gadgetrt writes.
pub fn builder_version() -> String {
    format!("gadgetrt-{}", env!("CARGO_PKG_VERSION"))
}

/// Write the image as an OCI image-layout tar at `out` (atomically: a
/// temporary file in the same directory is renamed over `out`).
pub fn pack_tar(input: &PackInput, out: &Path) -> Result<()> {
    let built = build(input)?;
    let tmp = temp_sibling(out);
    let res = (|| -> Result<()> {
        let f = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut b = tar::Builder::new(BufWriter::new(f));
        for (name, data) in &built.files {
            let mut h = tar::Header::new_ustar();
            h.set_path(name)?;
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(built.mtime);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_cksum();
            b.append(&h, data.as_slice())?;
        }
        let mut w = b.into_inner()?;
        w.flush()?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        Ok(())
    })();
    if let Err(e) = res {
        let _ = fs::remove_file(&tmp);
        return Err(e.context(format!("writing {}", out.display())));
    }
    fs::rename(&tmp, out).with_context(|| {
        let _ = fs::remove_file(&tmp);
        format!("cannot move {} to {}", tmp.display(), out.display())
    })
}

/// Write the image as an OCI image-layout directory `out_dir`, which must not
/// exist or be empty.
pub fn pack_dir(input: &PackInput, out_dir: &Path) -> Result<()> {
    let built = build(input)?;
    if out_dir.exists() {
        let mut rd = fs::read_dir(out_dir)
            .with_context(|| format!("{} is not a usable directory", out_dir.display()))?;
        if rd.next().is_some() {
            bail!("output directory {} is not empty", out_dir.display());
        }
    }
    for (name, data) in &built.files {
        let p = out_dir.join(name);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::write(&p, data).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}

fn temp_sibling(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image.tar".into());
    out.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// The files of the layout, in tar order, and the mtime to stamp them with.
pub(crate) struct Built {
    pub files: Vec<(String, Vec<u8>)>,
    pub mtime: u64,
}

const EMPTY_JSON: &[u8] = b"{}";

pub(crate) fn build(input: &PackInput) -> Result<Built> {
    if input.ebpf.is_none() && input.wasm.is_none() {
        bail!("nothing to pack: an image needs an eBPF object, a wasm module or both");
    }
    if input.ebpf_arm64.is_some() && input.ebpf.is_none() {
        bail!("an arm64 eBPF object was given without the main (amd64) eBPF object");
    }
    for (what, obj) in [("eBPF object", &input.ebpf), ("arm64 eBPF object", &input.ebpf_arm64)] {
        if let Some(b) = obj {
            if !b.starts_with(b"\x7fELF") {
                bail!("the {what} is not an ELF file");
            }
        }
    }
    if let Some(w) = &input.wasm {
        if !w.starts_with(b"\0asm") {
            bail!("the wasm module does not start with the wasm magic number");
        }
    }
    let created = match &input.created {
        Some(c) => c.trim().to_string(),
        None => now_rfc3339(),
    };
    let secs = parse_rfc3339(&created)
        .with_context(|| format!("invalid creation time {created:?} (expected RFC 3339)"))?;
    let mtime = u64::try_from(secs)
        .map_err(|_| anyhow::anyhow!("creation time {created:?} is before 1970"))?;
    let reference = input.reference.trim();
    if reference.chars().any(char::is_whitespace) {
        bail!("invalid image reference {reference:?}");
    }
    let reference = if reference.is_empty() {
        None
    } else {
        Some(super::oci::normalize_reference(reference))
    };

    let mut blobs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut add_blob = |bytes: &[u8]| -> (String, u64) {
        let d = sha256_digest(bytes);
        blobs
            .entry(d["sha256:".len()..].to_string())
            .or_insert_with(|| bytes.to_vec());
        (d, bytes.len() as u64)
    };

    // Annotations shared by config descriptor, manifests, their descriptors
    // and the image index.
    let mut ann = match &input.gadget_yaml {
        Some(y) => GadgetMetadata::parse(y)?.oci_annotations(),
        None => BTreeMap::new(),
    };
    ann.insert(ak::CREATED.to_string(), created.clone());
    ann.insert(ak::BUILDER_VERSION.to_string(), builder_version());

    let config = match &input.gadget_yaml {
        Some(y) => {
            let (digest, size) = add_blob(y);
            desc(mt::CONFIG, digest, size, Some(ann.clone()))
        }
        None => {
            let (digest, size) = add_blob(EMPTY_JSON);
            let mut d = desc(mt::OCI_EMPTY, digest, size, Some(ann.clone()));
            d.data = Some("e30=".to_string());
            d
        }
    };
    let wasm_desc = input.wasm.as_ref().map(|w| {
        let (digest, size) = add_blob(w);
        desc(mt::WASM, digest, size, None)
    });

    let mut manifest_descs = Vec::new();
    for arch in ARCHES {
        let mut layers = Vec::new();
        let obj = if arch == "arm64" {
            input.ebpf_arm64.as_ref().or(input.ebpf.as_ref())
        } else {
            input.ebpf.as_ref()
        };
        if let Some(o) = obj {
            let (digest, size) = add_blob(o);
            layers.push(desc(mt::EBPF, digest, size, None));
        }
        if let Some(w) = &wasm_desc {
            layers.push(w.clone());
        }
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(mt::OCI_MANIFEST.to_string()),
            artifact_type: Some(mt::ARTIFACT_TYPE.to_string()),
            config: config.clone(),
            layers,
            annotations: Some(ann.clone()),
        };
        let bytes = go_json(&manifest)?;
        let (digest, size) = add_blob(&bytes);
        let mut d = desc(mt::OCI_MANIFEST, digest, size, Some(ann.clone()));
        d.platform = Some(Platform {
            architecture: arch.to_string(),
            os: "linux".to_string(),
            os_version: None,
            os_features: None,
            variant: None,
        });
        manifest_descs.push(d);
    }

    let index = ImageIndex {
        schema_version: 2,
        media_type: Some(mt::OCI_INDEX.to_string()),
        artifact_type: None,
        manifests: manifest_descs.clone(),
        annotations: Some(ann.clone()),
    };
    let index_bytes = go_json(&index)?;
    let (index_digest, index_size) = add_blob(&index_bytes);

    let mut top = Vec::new();
    let mut root_ann = ann.clone();
    if let Some(r) = &reference {
        root_ann.insert(ak::REF_NAME.to_string(), r.clone());
    }
    top.push(desc(mt::OCI_INDEX, index_digest, index_size, Some(root_ann)));
    for d in manifest_descs {
        if !top.iter().any(|t: &Descriptor| t.digest == d.digest) {
            top.push(d);
        }
    }
    top.sort_by(|a, b| a.digest.cmp(&b.digest));
    let top_index = ImageIndex {
        schema_version: 2,
        media_type: Some(mt::OCI_INDEX.to_string()),
        artifact_type: None,
        manifests: top,
        annotations: None,
    };

    let mut files: Vec<(String, Vec<u8>)> = blobs
        .into_iter()
        .map(|(hex, b)| (format!("blobs/sha256/{hex}"), b))
        .collect();
    files.push(("index.json".to_string(), go_json(&top_index)?));
    files.push((
        "oci-layout".to_string(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    ));
    Ok(Built { files, mtime })
}

fn desc(
    media_type: &str,
    digest: String,
    size: u64,
    annotations: Option<BTreeMap<String, String>>,
) -> Descriptor {
    Descriptor {
        media_type: media_type.to_string(),
        digest,
        size,
        annotations: annotations.filter(|a| !a.is_empty()),
        data: None,
        platform: None,
        artifact_type: None,
    }
}

// ---------------------------------------------------------------------------
// Go-compatible JSON
// ---------------------------------------------------------------------------

/// serde_json formatter that escapes like Go's `json.Marshal` (HTML-safe).
struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let esc = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(esc.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

pub(crate) fn go_json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    v.serialize(&mut ser).context("serialising JSON")?;
    Ok(out)
}

// ---------------------------------------------------------------------------
// RFC 3339 without a date crate
// ---------------------------------------------------------------------------

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Current time as RFC 3339 in UTC, seconds precision.
pub(crate) fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    format_rfc3339(secs)
}

pub(crate) fn format_rfc3339(secs: i64) -> String {
    use crate::operators::values::{format_rfc3339_seconds_in_zone, ZoneAt};
    let mut s = String::with_capacity(20);
    format_rfc3339_seconds_in_zone(secs, &ZoneAt::utc(), &mut s);
    s
}

/// Parse an RFC 3339 date-time to Unix seconds (fraction dropped).
pub(crate) fn parse_rfc3339(s: &str) -> Result<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Result<i64> {
        let part = s.get(r.clone()).filter(|p| p.bytes().all(|c| c.is_ascii_digit()));
        match part {
            Some(p) if p.len() == r.len() => Ok(p.parse()?),
            _ => bail!("malformed"),
        }
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        bail!("malformed");
    }
    let (y, mo, d, h, mi, se) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59 {
        bail!("field out of range");
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            bail!("malformed fraction");
        }
    }
    let offset = match b.get(i) {
        Some(b'Z') | Some(b'z') if i + 1 == b.len() => 0,
        Some(c @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if oh > 23 || om > 59 {
                bail!("offset out of range");
            }
            let o = oh * 3600 + om * 60;
            if *c == b'+' {
                o
            } else {
                -o
            }
        }
        _ => bail!("malformed time zone"),
    };
    Ok(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset)
}
