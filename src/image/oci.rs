//! Reading gadget images from an OCI image layout (spec A.2–A.5), either a tar
//! archive as written by `ig image export` or an extracted directory (the
//! layout of IG's local store too).
//!
//! Resolution chain: `index.json` → tagged entry (an image index; old images
//! may tag a manifest directly) → the manifest for the wanted architecture →
//! `config` (gadget.yaml) → layers by media type. Every blob read is checked
//! against the descriptor's size (before reading, also against a hard limit)
//! and digest.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256, Sha384, Sha512};

use super::annotation_keys;
use super::limits::{MAX_BLOB_SIZE, MAX_CONFIG_SIZE, MAX_JSON_SIZE, MAX_TAR_ENTRIES};
use super::media_types as mt;
use super::metadata::GadgetMetadata;

/// A gadget image loaded from a layout: the pieces for the host architecture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GadgetImage {
    /// The tag (`org.opencontainers.image.ref.name`) the image was found
    /// under; `None` when it was picked without a tag.
    pub reference: Option<String>,
    /// gadget.yaml bytes (validated as YAML); `None` when the manifest config
    /// is the OCI empty descriptor.
    pub metadata_yaml: Option<Vec<u8>>,
    /// The eBPF ELF object (verified).
    pub ebpf: Option<Vec<u8>>,
    /// The wasm module (verified).
    pub wasm: Option<Vec<u8>>,
    /// Digest of the wasm layer (`sha256:<hex>`), a key for compiled-module
    /// caching.
    pub wasm_digest: Option<String>,
    /// Digest of the per-architecture manifest used.
    pub manifest_digest: String,
    /// Image annotations: the image index's, overlaid by the manifest's.
    pub annotations: BTreeMap<String, String>,
    /// Things worth logging (skipped layers, legacy format, ...).
    pub notes: Vec<String>,
}

impl GadgetImage {
    /// Parsed gadget.yaml (empty metadata when the image has none).
    pub fn metadata(&self) -> Result<GadgetMetadata> {
        match &self.metadata_yaml {
            Some(y) => GadgetMetadata::parse(y),
            None => GadgetMetadata::parse(b""),
        }
    }
}

/// OCI content descriptor. Field order follows Go's `ocispec.Descriptor` so
/// serialisation matches IG byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Embedded content, base64 (the OCI empty descriptor carries `e30=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(rename = "artifactType", default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    /// Annotation `key`, if any.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }
}

/// OCI platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(rename = "os.version", default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(rename = "os.features", default, skip_serializing_if = "Option::is_none")]
    pub os_features: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

fn schema_two() -> u32 {
    2
}

/// OCI image index (also the shape of `index.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageIndex {
    #[serde(rename = "schemaVersion", default = "schema_two")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(rename = "artifactType", default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// OCI image manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageManifest {
    #[serde(rename = "schemaVersion", default = "schema_two")]
    pub schema_version: u32,
    #[serde(rename = "mediaType", default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(rename = "artifactType", default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The host architecture in OCI/Go naming (`amd64`, `arm64`, ...).
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        "mips64" if cfg!(target_endian = "little") => "mips64le",
        "mips" if cfg!(target_endian = "little") => "mipsle",
        other => other,
    }
}

/// Normalise an image name the way IG does (`normalizeImageName` /
/// `splitIGDomain`):
/// * no `/` → `ghcr.io/inspektor-gadget/gadget/<name>`;
/// * a first component without `.` or `:`, not `localhost` and lowercase is
///   not a registry: `ghcr.io/` is prepended;
/// * `:latest` is added when there is neither a tag nor a digest.
///
/// `trace_open` → `ghcr.io/inspektor-gadget/gadget/trace_open:latest`.
pub fn normalize_reference(s: &str) -> String {
    const DEFAULT_DOMAIN: &str = "ghcr.io";
    const OFFICIAL_PREFIX: &str = "inspektor-gadget/gadget/";
    let s = s.trim();
    let (name, digest) = match s.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (s, None),
    };
    let (domain, mut remainder) = match name.find('/') {
        None => (DEFAULT_DOMAIN, name.to_string()),
        Some(i) => {
            let first = &name[..i];
            if !first.contains(['.', ':']) && first != "localhost" && first.to_lowercase() == first
            {
                (DEFAULT_DOMAIN, name.to_string())
            } else {
                (first, name[i + 1..].to_string())
            }
        }
    };
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_PREFIX}{remainder}");
    }
    let mut out = format!("{domain}/{remainder}");
    let last = out.rsplit('/').next().unwrap_or("");
    let has_tag = last.contains(':');
    match digest {
        Some(d) => {
            out.push('@');
            out.push_str(d);
        }
        None if !has_tag => out.push_str(":latest"),
        None => {}
    }
    out
}

/// Load the gadget image `reference` (any form [`normalize_reference`]
/// accepts, or a digest) for the host architecture from `path`, an OCI
/// image-layout tar archive or directory. With no reference the layout must
/// hold exactly one tagged image.
pub fn load_image(path: &Path, reference: Option<&str>) -> Result<GadgetImage> {
    load_image_for_arch(path, reference, host_arch())
}

/// [`load_image`] for architecture `arch` (`amd64`, `arm64`, ...).
pub fn load_image_for_arch(
    path: &Path,
    reference: Option<&str>,
    arch: &str,
) -> Result<GadgetImage> {
    let layout = Layout::open(path)?;
    let result = load_from_layout(&layout, reference, arch);
    result.with_context(|| format!("loading gadget image from {}", path.display()))
}

/// Tags (`org.opencontainers.image.ref.name`) of the images in a layout, in
/// index.json order, without cosign `.sig` tags.
pub fn list_images(path: &Path) -> Result<Vec<String>> {
    let layout = Layout::open(path)?;
    let index = layout.read_index()?;
    Ok(tags_of(&index))
}

fn tags_of(index: &ImageIndex) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in &index.manifests {
        if let Some(t) = d.annotation(annotation_keys::REF_NAME) {
            if !t.ends_with(".sig") && !out.iter().any(|x| x == t) {
                out.push(t.to_string());
            }
        }
    }
    out
}

fn load_from_layout(layout: &Layout, reference: Option<&str>, arch: &str) -> Result<GadgetImage> {
    let mut img = GadgetImage {
        notes: layout.notes.clone(),
        ..Default::default()
    };
    let index = layout.read_index()?;
    let (tag, root) = select_root(&index, reference, &mut img.notes)?;
    img.reference = tag.clone();
    let label = tag.clone().unwrap_or_else(|| root.digest.clone());

    let root_bytes = layout.read_blob(&root, MAX_JSON_SIZE, "image index")?;
    let (manifest_desc, manifest_bytes, index_annotations) = match json_kind(&root, &root_bytes)? {
        Kind::Index => {
            let idx: ImageIndex = parse_json(&root_bytes, "image index", &root.digest)?;
            check_schema(idx.schema_version, "image index", &root.digest)?;
            let desc = pick_manifest(&idx, arch, &label, &mut img.notes)?;
            let bytes = layout.read_blob(&desc, MAX_JSON_SIZE, "manifest")?;
            if json_kind(&desc, &bytes)? != Kind::Manifest {
                bail!(
                    "entry {} for {arch} in image index {} is not an image manifest",
                    desc.digest,
                    root.digest
                );
            }
            (desc, bytes, idx.annotations.unwrap_or_default())
        }
        Kind::Manifest => {
            img.notes.push(format!(
                "{label}: tagged entry {} is a single manifest, not an image index; its architecture is not checked",
                root.digest
            ));
            let bytes = root_bytes;
            (root.clone(), bytes, BTreeMap::new())
        }
    };
    let manifest: ImageManifest = parse_json(&manifest_bytes, "manifest", &manifest_desc.digest)?;
    check_schema(manifest.schema_version, "manifest", &manifest_desc.digest)?;
    img.manifest_digest = manifest_desc.digest.clone();

    match manifest.artifact_type.as_deref() {
        None => img.notes.push(format!(
            "{label}: manifest {} has no artifactType (image built by an older ig)",
            manifest_desc.digest
        )),
        Some(t) if t != mt::ARTIFACT_TYPE => img.notes.push(format!(
            "{label}: manifest {} has unexpected artifactType {t:?} (expected {})",
            manifest_desc.digest,
            mt::ARTIFACT_TYPE
        )),
        Some(_) => {}
    }

    // Annotations: the index's, the manifest's on top; tags are not image
    // annotations.
    let mut annotations = index_annotations;
    annotations.extend(manifest.annotations.clone().unwrap_or_default());
    annotations.remove(annotation_keys::REF_NAME);
    if !annotations.contains_key(annotation_keys::BUILDER_VERSION) {
        img.notes.push(format!(
            "{label}: no {} annotation; the image may have been built by an older ig",
            annotation_keys::BUILDER_VERSION
        ));
    }
    img.annotations = annotations;

    // An eBPF program will be loaded against the kernel's BTF: its parse (tens of ms) starts
    // now, on a thread, while the layers are read and verified and the wasm side prepared.
    if manifest.layers.iter().any(|l| l.media_type == mt::EBPF) {
        crate::ebpf::kernel_btf::prefetch();
    }

    // Config: gadget.yaml.
    let cfg = &manifest.config;
    match cfg.media_type.as_str() {
        mt::CONFIG => {
            let y = layout.read_blob(cfg, MAX_CONFIG_SIZE, "gadget.yaml config")?;
            GadgetMetadata::parse(&y)
                .with_context(|| format!("config blob {}", cfg.digest))?;
            img.metadata_yaml = Some(y);
        }
        mt::OCI_EMPTY => {}
        other => img.notes.push(format!(
            "{label}: manifest config {} has media type {other:?}, not gadget.yaml; ignored",
            cfg.digest
        )),
    }

    // Layers.
    for layer in &manifest.layers {
        match layer.media_type.as_str() {
            mt::EBPF => {
                if img.ebpf.is_some() {
                    bail!("manifest {} has more than one eBPF layer", manifest_desc.digest);
                }
                let b = layer_bytes(layout, layer, "eBPF layer")?;
                img.ebpf = Some(b);
            }
            mt::WASM => {
                if img.wasm.is_some() {
                    bail!("manifest {} has more than one wasm layer", manifest_desc.digest);
                }
                let b = layer_bytes(layout, layer, "wasm layer")?;
                img.wasm = Some(b);
                img.wasm_digest = Some(layer.digest.clone());
            }
            mt::BTFGEN => {
                let why = if Path::new("/sys/kernel/btf/vmlinux").exists() {
                    "the kernel provides BTF (/sys/kernel/btf/vmlinux)"
                } else {
                    "btfgen BTF is not supported by gadgetrt and this kernel has no /sys/kernel/btf/vmlinux; CO-RE relocations may fail"
                };
                img.notes.push(format!(
                    "{label}: btfgen layer {} ignored: {why}",
                    layer.digest
                ));
            }
            other => img.notes.push(format!(
                "{label}: skipping layer {} with unknown media type {other:?}",
                layer.digest
            )),
        }
    }
    if img.ebpf.is_none() && img.wasm.is_none() && img.metadata_yaml.is_none() {
        bail!(
            "image {label} (manifest {}) contains neither an eBPF program nor a wasm module nor gadget metadata",
            manifest_desc.digest
        );
    }
    Ok(img)
}

fn layer_bytes(layout: &Layout, layer: &Descriptor, what: &str) -> Result<Vec<u8>> {
    let b = layout.read_blob(layer, MAX_BLOB_SIZE, what)?;
    if b.is_empty() {
        bail!("{what} {} is empty", layer.digest);
    }
    Ok(b)
}

fn check_schema(v: u32, what: &str, digest: &str) -> Result<()> {
    if v != 2 {
        bail!("{what} {digest} has unsupported schemaVersion {v} (expected 2)");
    }
    Ok(())
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str, digest: &str) -> Result<T> {
    serde_json::from_slice(bytes).with_context(|| format!("{what} {digest} is not valid JSON"))
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Kind {
    Index,
    Manifest,
}

fn kind_from_media_type(m: &str) -> Option<Kind> {
    match m {
        mt::OCI_INDEX | mt::DOCKER_MANIFEST_LIST => Some(Kind::Index),
        mt::OCI_MANIFEST | mt::DOCKER_MANIFEST => Some(Kind::Manifest),
        _ => None,
    }
}

/// What a JSON blob is: from the descriptor's media type, else the blob's own
/// `mediaType`, else its shape. The two media types must agree when both are
/// set.
fn json_kind(desc: &Descriptor, bytes: &[u8]) -> Result<Kind> {
    let v: serde_json::Value = serde_json::from_slice(bytes)
        .with_context(|| format!("blob {} is not valid JSON", desc.digest))?;
    let inner = v.get("mediaType").and_then(|m| m.as_str()).unwrap_or("");
    if !desc.media_type.is_empty() && !inner.is_empty() && desc.media_type != inner {
        bail!(
            "blob {}: descriptor media type {:?} does not match the content's {:?}",
            desc.digest,
            desc.media_type,
            inner
        );
    }
    if let Some(k) = kind_from_media_type(&desc.media_type).or_else(|| kind_from_media_type(inner)) {
        return Ok(k);
    }
    if v.get("manifests").is_some() {
        Ok(Kind::Index)
    } else if v.get("config").is_some() || v.get("layers").is_some() {
        Ok(Kind::Manifest)
    } else {
        bail!(
            "blob {} (media type {:?}) is neither an image index nor a manifest",
            desc.digest,
            desc.media_type
        )
    }
}

pub(crate) fn select_root(
    index: &ImageIndex,
    reference: Option<&str>,
    notes: &mut Vec<String>,
) -> Result<(Option<String>, Descriptor)> {
    let tagged: Vec<(&str, &Descriptor)> = index
        .manifests
        .iter()
        .filter_map(|d| d.annotation(annotation_keys::REF_NAME).map(|t| (t, d)))
        .collect();
    let available = || {
        let t = tags_of(index);
        if t.is_empty() {
            "(no tagged images)".to_string()
        } else {
            t.join(", ")
        }
    };
    if let Some(r) = reference {
        let r = r.trim();
        if r.is_empty() {
            bail!("empty image reference; available images: {}", available());
        }
        let n = normalize_reference(r);
        let by = |f: &dyn Fn(&str, &Descriptor) -> bool| {
            tagged.iter().find(|(t, d)| f(t, d)).map(|(t, d)| (Some(t.to_string()), (*d).clone()))
        };
        let digest_part = r.rsplit_once('@').map(|(_, d)| d).unwrap_or(r);
        let found = by(&|t, _| t == n)
            .or_else(|| by(&|t, _| t == r))
            .or_else(|| by(&|t, _| normalize_reference(t) == n))
            .or_else(|| {
                index
                    .manifests
                    .iter()
                    .find(|d| d.digest == digest_part)
                    .map(|d| (d.annotation(annotation_keys::REF_NAME).map(str::to_string), d.clone()))
            });
        return found.ok_or_else(|| {
            anyhow!(
                "image {r:?} (normalised: {n}) not found; available images: {}",
                available()
            )
        });
    }
    let real: Vec<&(&str, &Descriptor)> = tagged.iter().filter(|(t, _)| !t.ends_with(".sig")).collect();
    if let Some((t, d)) = real.first() {
        if real.iter().all(|(_, x)| x.digest == d.digest) {
            return Ok((Some(t.to_string()), (*d).clone()));
        }
        bail!(
            "the layout holds several images; choose one with a reference: {}",
            available()
        );
    }
    let indexes: Vec<&Descriptor> = index
        .manifests
        .iter()
        .filter(|d| kind_from_media_type(&d.media_type) == Some(Kind::Index))
        .collect();
    let only = match (indexes.as_slice(), index.manifests.as_slice()) {
        ([one], _) => Some(*one),
        (_, [one]) => Some(one),
        _ => None,
    };
    match only {
        Some(d) => {
            notes.push(format!("no tagged image in the layout; using untagged {}", d.digest));
            Ok((None, d.clone()))
        }
        None if index.manifests.is_empty() => bail!("the layout's index.json lists no images"),
        None => bail!(
            "the layout has no tagged image and {} untagged entries; cannot choose one",
            index.manifests.len()
        ),
    }
}

fn pick_manifest(idx: &ImageIndex, arch: &str, label: &str, notes: &mut Vec<String>) -> Result<Descriptor> {
    if let Some(d) = idx
        .manifests
        .iter()
        .find(|d| d.platform.as_ref().is_some_and(|p| p.architecture == arch))
    {
        return Ok(d.clone());
    }
    if let [only] = idx.manifests.as_slice() {
        if only.platform.is_none() {
            notes.push(format!(
                "{label}: the image index's only manifest has no platform; using it for {arch}"
            ));
            return Ok(only.clone());
        }
    }
    let archs: Vec<String> = idx
        .manifests
        .iter()
        .map(|d| {
            d.platform
                .as_ref()
                .map(|p| p.architecture.clone())
                .unwrap_or_else(|| "(no platform)".into())
        })
        .collect();
    if archs.is_empty() {
        bail!("image {label} has an empty image index");
    }
    bail!(
        "image {label} has no manifest for architecture {arch}; available: {}",
        archs.join(", ")
    )
}

// ---------------------------------------------------------------------------
// Digests
// ---------------------------------------------------------------------------

/// `sha256:<hex>` of `bytes`.
pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Split and validate a digest: returns (algorithm, hex).
pub(crate) fn parse_digest(d: &str) -> Result<(&str, &str)> {
    let (alg, hexpart) = d
        .split_once(':')
        .ok_or_else(|| anyhow!("invalid digest {d:?}: expected <algorithm>:<hex>"))?;
    let want = match alg {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => bail!("unsupported digest algorithm in {d:?}"),
    };
    if hexpart.len() != want || !hexpart.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
        bail!("invalid digest {d:?}: expected {want} lowercase hex characters");
    }
    Ok((alg, hexpart))
}

pub(crate) fn compute_digest(alg: &str, bytes: &[u8]) -> String {
    match alg {
        "sha384" => format!("sha384:{}", hex::encode(Sha384::digest(bytes))),
        "sha512" => format!("sha512:{}", hex::encode(Sha512::digest(bytes))),
        _ => sha256_digest(bytes),
    }
}

// ---------------------------------------------------------------------------
// Layout access
// ---------------------------------------------------------------------------

enum Source {
    Tar {
        file: File,
        /// name → (offset of data, size)
        entries: HashMap<String, (u64, u64)>,
    },
    Dir {
        root: PathBuf,
    },
}

/// An opened OCI layout (tar or directory).
pub(crate) struct Layout {
    source: Source,
    origin: PathBuf,
    notes: Vec<String>,
}

impl Layout {
    pub(crate) fn open(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path)
            .with_context(|| format!("cannot open gadget image {}", path.display()))?;
        let mut layout = if meta.is_dir() {
            Layout {
                source: Source::Dir { root: path.to_path_buf() },
                origin: path.to_path_buf(),
                notes: Vec::new(),
            }
        } else {
            Self::open_tar(path)?
        };
        layout.check_oci_layout()?;
        Ok(layout)
    }

    fn open_tar(path: &Path) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let len = file.metadata()?.len();
        let mut entries = HashMap::new();
        let mut notes = Vec::new();
        let mut last_end = 0u64;
        let bad = || format!("{} is not a valid tar archive (truncated or corrupt)", path.display());
        {
            let mut ar = tar::Archive::new(&file);
            let iter = ar.entries_with_seek().with_context(bad)?;
            for (count, entry) in iter.enumerate() {
                if count >= MAX_TAR_ENTRIES {
                    bail!(
                        "{}: more than {MAX_TAR_ENTRIES} entries in tar archive; refusing",
                        path.display()
                    );
                }
                let entry = entry.with_context(bad)?;
                let raw = entry.path_bytes();
                let name = std::str::from_utf8(&raw)
                    .map_err(|_| anyhow!("{}: tar entry name is not UTF-8: {:?}", path.display(), String::from_utf8_lossy(&raw)))?;
                let name = sanitize_entry_name(name)
                    .with_context(|| format!("{}: unsafe tar entry", path.display()))?;
                let kind = entry.header().entry_type();
                let off = entry.raw_file_position();
                let size = entry.size();
                // Data is padded to 512-byte blocks.
                let end = size.checked_add(511).map(|s| s & !511).and_then(|s| off.checked_add(s));
                match end {
                    Some(end) if end <= len => last_end = end,
                    _ => bail!(
                        "{}: tar archive is truncated: entry {name:?} needs {size} bytes at offset {off} but the file has {len}",
                        path.display()
                    ),
                }
                if kind.is_file() || kind.is_contiguous() {
                    entries.insert(name, (off, size));
                } else if kind.is_dir() || kind.is_pax_global_extensions() {
                    // nothing to do
                } else {
                    notes.push(format!(
                        "{}: ignoring tar entry {name:?} of type {:?}",
                        path.display(),
                        kind
                    ));
                }
            }
            // A complete archive ends with zero blocks after the last entry.
            if last_end > 0 && len < last_end + 512 {
                bail!(
                    "{}: tar archive is truncated: no end-of-archive marker after the last entry",
                    path.display()
                );
            }
        }
        Ok(Layout {
            source: Source::Tar { file, entries },
            origin: path.to_path_buf(),
            notes,
        })
    }

    fn what(&self) -> &'static str {
        match self.source {
            Source::Tar { .. } => "tar archive",
            Source::Dir { .. } => "directory",
        }
    }

    /// Size of file `name` in the layout, `None` if absent.
    fn file_size(&self, name: &str) -> Result<Option<u64>> {
        match &self.source {
            Source::Tar { entries, .. } => Ok(entries.get(name).map(|(_, s)| *s)),
            Source::Dir { root } => match std::fs::metadata(root.join(name)) {
                Ok(m) if m.is_file() => Ok(Some(m.len())),
                Ok(_) => bail!("{} in {} is not a regular file", name, root.display()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e).with_context(|| format!("cannot stat {}", root.join(name).display())),
            },
        }
    }

    /// Read file `name` (size already checked by the caller to be `size`).
    fn read_exact(&self, name: &str, size: u64) -> Result<Vec<u8>> {
        let len = usize::try_from(size).context("file too large for this platform")?;
        match &self.source {
            Source::Tar { file, entries } => {
                let (off, _) = entries[name];
                let mut buf = vec![0u8; len];
                file.read_exact_at(&mut buf, off).with_context(|| {
                    format!("{}: reading {name} (truncated archive?)", self.origin.display())
                })?;
                Ok(buf)
            }
            Source::Dir { root } => {
                use std::io::Read;
                let p = root.join(name);
                let f = File::open(&p).with_context(|| format!("cannot open {}", p.display()))?;
                let mut buf = Vec::with_capacity(len);
                f.take(size + 1)
                    .read_to_end(&mut buf)
                    .with_context(|| format!("cannot read {}", p.display()))?;
                if buf.len() != len {
                    bail!("{} changed size while being read", p.display());
                }
                Ok(buf)
            }
        }
    }

    /// Read a layout file (not a blob) with a size cap.
    fn read_file(&self, name: &str, cap: u64) -> Result<Option<Vec<u8>>> {
        let Some(size) = self.file_size(name)? else {
            return Ok(None);
        };
        if size > cap {
            bail!(
                "{name} in {} is too large ({size} bytes, limit {cap})",
                self.origin.display()
            );
        }
        self.read_exact(name, size).map(Some)
    }

    fn check_oci_layout(&mut self) -> Result<()> {
        match self.read_file("oci-layout", 4096)? {
            None => {
                self.notes.push(format!(
                    "{}: no oci-layout file; assuming an OCI image layout",
                    self.origin.display()
                ));
            }
            Some(b) => {
                let v: serde_json::Value = serde_json::from_slice(&b)
                    .with_context(|| format!("{}: oci-layout is not valid JSON", self.origin.display()))?;
                let ver = v.get("imageLayoutVersion").and_then(|x| x.as_str()).unwrap_or("");
                if !ver.starts_with("1.") {
                    bail!(
                        "{}: unsupported OCI image layout version {ver:?}",
                        self.origin.display()
                    );
                }
            }
        }
        Ok(())
    }

    pub(crate) fn read_index(&self) -> Result<ImageIndex> {
        let bytes = self.read_file("index.json", MAX_JSON_SIZE)?.ok_or_else(|| {
            anyhow!(
                "{} ({}) is not an OCI image layout: index.json is missing",
                self.origin.display(),
                self.what()
            )
        })?;
        let idx: ImageIndex = serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: index.json is not a valid OCI index", self.origin.display()))?;
        check_schema(idx.schema_version, "index.json", "")?;
        Ok(idx)
    }

    /// Read and verify the blob `desc` points to. `cap` is the largest size
    /// accepted; it is checked against the descriptor before anything is
    /// read.
    pub(crate) fn read_blob(&self, desc: &Descriptor, cap: u64, what: &str) -> Result<Vec<u8>> {
        let (alg, hexpart) = parse_digest(&desc.digest).with_context(|| format!("{what} descriptor"))?;
        if desc.size > cap {
            bail!(
                "{what} {}: declared size {} exceeds the limit of {cap} bytes",
                desc.digest,
                desc.size
            );
        }
        let name = format!("blobs/{alg}/{hexpart}");
        let stored = self.file_size(&name)?.ok_or_else(|| {
            anyhow!(
                "{what} blob {} is missing from {} ({name})",
                desc.digest,
                self.origin.display()
            )
        })?;
        if stored != desc.size {
            bail!(
                "{what} blob {}: size mismatch: descriptor says {} bytes, blob has {stored}",
                desc.digest,
                desc.size
            );
        }
        let bytes = self.read_exact(&name, stored)?;
        let got = compute_digest(alg, &bytes);
        if got != desc.digest {
            bail!(
                "{what} blob {}: digest mismatch: content hashes to {got}",
                desc.digest
            );
        }
        Ok(bytes)
    }
}

/// Normalise a tar entry name (`./a//b` → `a/b`) and reject absolute names and
/// `..` components.
fn sanitize_entry_name(name: &str) -> Result<String> {
    if name.starts_with('/') || name.starts_with('\\') {
        bail!("absolute path {name:?} in tar archive");
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => bail!("path {name:?} with '..' in tar archive"),
            p => parts.push(p),
        }
    }
    Ok(parts.join("/"))
}
