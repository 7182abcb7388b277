//! Pulling gadget images from and pushing them to OCI registries, through the
//! `oci-client` crate (OCI distribution spec) on a private current-thread
//! tokio runtime.
//!
//! * Pull: the tagged (or digest-addressed) manifest → if it is an image
//!   index, the host architecture must be listed (else a clear error before
//!   anything else is downloaded) and every per-platform manifest is copied,
//!   like `oras.Copy` in IG → each manifest's config and layers. Every blob
//!   and manifest is checked against its descriptor's size (before download,
//!   also against [`super::limits`]) and digest; a mismatch names the blob.
//! * Push: blobs first, then the per-platform manifests by digest, then the
//!   root (image index) under the tag.
//! * Credentials: explicit ones, else the docker config file
//!   (`$DOCKER_CONFIG/config.json`, `~/.docker/config.json`: `auths.<host>.auth`
//!   = base64 `user:password`, or `username`/`password`), else anonymous.
//!   Credential helpers: `credHelpers.<host>`, else `credsStore`, run as
//!   `docker-credential-<name> get` (docker's protocol); when the helper has none,
//!   `auths` is used.
//! * Plain HTTP only for loopback registries (`localhost`, `127.0.0.1`,
//!   `[::1]`, any port) and the hosts in
//!   [`RegistryOptions::insecure_registries`] (ig's `--insecure-registries`).

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::OciDistributionError;
use oci_client::manifest::OciDescriptor;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::limits::{MAX_BLOB_SIZE, MAX_JSON_SIZE};
use super::media_types as mt;
use super::oci::{parse_digest, Descriptor, ImageIndex, ImageManifest};

/// How to reach registries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryOptions {
    /// Registries (`host[:port]`) spoken to over plain HTTP besides the
    /// loopback ones (ig's `--insecure-registries`).
    pub insecure_registries: Vec<String>,
    /// Docker-style config file with `auths` (ig's `--authfile`); default:
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, if present.
    pub auth_file: Option<PathBuf>,
    /// Explicit user name and password; take precedence over the file.
    pub credentials: Option<(String, String)>,
    /// Signature verification of images loaded by reference (default: on, with IG's key).
    pub verify: super::sign::VerifyOptions,
}

/// A reference split for the distribution API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// The normalised reference (`registry/repo:tag` or `registry/repo@digest`).
    pub normalized: String,
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl RemoteRef {
    /// Normalise `s` like IG and split it.
    pub fn parse(s: &str) -> Result<RemoteRef> {
        let s = s.trim();
        if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            bail!("invalid image reference {s:?}");
        }
        let normalized = super::oci::normalize_reference(s);
        let (name, digest) = match normalized.split_once('@') {
            Some((n, d)) => {
                parse_digest(d).with_context(|| format!("invalid image reference {s:?}"))?;
                (n.to_string(), Some(d.to_string()))
            }
            None => (normalized.clone(), None),
        };
        let (registry, rest) = name
            .split_once('/')
            .ok_or_else(|| anyhow!("invalid image reference {s:?}"))?;
        let (repository, tag) = match rest.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r.to_string(), Some(t.to_string())),
            _ => (rest.to_string(), None),
        };
        let ok_repo = !repository.is_empty()
            && repository.split('/').all(|c| {
                !c.is_empty()
                    && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            });
        if !ok_repo {
            bail!("invalid image reference {s:?}: repository {repository:?} must be lowercase letters, digits and . _ - separated by /");
        }
        if let Some(t) = &tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                && !t.starts_with(['.', '-']);
            if !ok {
                bail!("invalid image reference {s:?}: bad tag {t:?}");
            }
        }
        Ok(RemoteRef { normalized, registry: registry.to_string(), repository, tag, digest })
    }

    fn oci(&self) -> Reference {
        match (&self.tag, &self.digest) {
            (_, Some(d)) => Reference::with_digest(self.registry.clone(), self.repository.clone(), d.clone()),
            (Some(t), None) => Reference::with_tag(self.registry.clone(), self.repository.clone(), t.clone()),
            (None, None) => Reference::with_tag(self.registry.clone(), self.repository.clone(), "latest".into()),
        }
    }

    fn at_digest(&self, digest: &str) -> Reference {
        Reference::with_digest(self.registry.clone(), self.repository.clone(), digest.to_string())
    }
}

/// Does `e` say the manifest or repository does not exist?
fn is_not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ServerError { code: 404, .. } | OciDistributionError::ImageManifestNotFoundError(_) => true,
        OciDistributionError::RegistryError { envelope, .. } => envelope.errors.iter().any(|x| {
            let c = format!("{:?}", x.code);
            c.contains("Unknown") || c.contains("NotFound")
        }),
        _ => false,
    }
}

/// Is `host[:port]` a loopback registry (plain HTTP allowed)?
pub fn is_loopback_registry(registry: &str) -> bool {
    let host = if let Some(rest) = registry.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        registry.split(':').next().unwrap_or("")
    };
    host == "localhost" || host == "::1" || host.starts_with("127.")
}

/// A connection to one registry for one reference.
pub(crate) struct Session {
    rt: tokio::runtime::Runtime,
    client: Client,
    auth: RegistryAuth,
    auth_source: String,
    pub(crate) remote: RemoteRef,
}

const MANIFEST_TYPES: [&str; 4] =
    [mt::OCI_INDEX, mt::OCI_MANIFEST, mt::DOCKER_MANIFEST_LIST, mt::DOCKER_MANIFEST];

impl Session {
    pub(crate) fn new(remote: RemoteRef, opts: &RegistryOptions) -> Result<Session> {
        // reqwest is built without a bundled crypto provider; keep the
        // embedder's if one is installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut plain: Vec<String> = opts.insecure_registries.clone();
        if is_loopback_registry(&remote.registry) {
            plain.push(remote.registry.clone());
        }
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(plain),
            connect_timeout: Some(std::time::Duration::from_secs(30)),
            read_timeout: Some(std::time::Duration::from_secs(120)),
            ..Default::default()
        };
        let client = Client::new(config);
        let (auth, auth_source) = credentials_for(&remote.registry, opts)?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the registry client's runtime")?;
        Ok(Session { rt, client, auth, auth_source, remote })
    }

    fn explain(&self, e: OciDistributionError, doing: &str) -> anyhow::Error {
        if is_not_found(&e) {
            let r = &self.remote;
            return anyhow!("{doing}: image {} not found in registry {}: {e}", r.normalized, r.registry);
        }
        let r = &self.remote;
        let msg = match &e {
            OciDistributionError::UnauthorizedError { .. } | OciDistributionError::AuthenticationFailure(_) => {
                format!(
                    "{doing}: registry {} refused access to {} ({}): {e}",
                    r.registry, r.repository, self.auth_source
                )
            }
            OciDistributionError::ServerError { code: 401 | 403, .. } => {
                format!(
                    "{doing}: registry {} refused access to {} ({}): {e}",
                    r.registry, r.repository, self.auth_source
                )
            }
            OciDistributionError::ServerError { code: 404, .. } => {
                format!("{doing}: image {} not found in registry {}: {e}", r.normalized, r.registry)
            }
            OciDistributionError::DigestError(_) => {
                format!("{doing}: digest mismatch, refusing the content: {e}")
            }
            OciDistributionError::ImageManifestNotFoundError(_) => {
                format!("{doing}: image {} not found in registry {}: {e}", r.normalized, r.registry)
            }
            OciDistributionError::RegistryError { envelope, .. }
                if envelope.errors.iter().any(|x| {
                    let c = format!("{:?}", x.code);
                    c.contains("Unknown") || c.contains("NotFound")
                }) =>
            {
                format!("{doing}: image {} not found in registry {}: {e}", r.normalized, r.registry)
            }
            OciDistributionError::RegistryError { envelope, .. }
                if envelope.errors.iter().any(|x| format!("{:?}", x.code).contains("Unauthorized") || format!("{:?}", x.code).contains("Denied")) =>
            {
                format!(
                    "{doing}: registry {} refused access to {} ({}): {e}",
                    r.registry, r.repository, self.auth_source
                )
            }
            OciDistributionError::RequestError(re) => {
                let mut chain = String::new();
                let mut src: Option<&dyn std::error::Error> = Some(re);
                while let Some(s) = src {
                    if !chain.is_empty() {
                        chain.push_str(": ");
                    }
                    chain.push_str(&s.to_string());
                    src = s.source();
                }
                format!("{doing}: cannot reach registry {}: {chain}", r.registry)
            }
            _ => format!("{doing}: {e}"),
        };
        anyhow!(msg)
    }

    fn authenticate(&self, op: RegistryOperation) -> Result<()> {
        let r = self.remote.oci();
        self.rt
            .block_on(self.client.auth(&r, &self.auth, op))
            .map(|_| ())
            .map_err(|e| self.explain(e, &format!("authenticating to {}", self.remote.registry)))
    }

    fn pull_manifest(&self, r: &Reference) -> Result<Vec<u8>> {
        let (bytes, _) = self
            .rt
            .block_on(self.client.pull_manifest_raw(r, &self.auth, &MANIFEST_TYPES))
            .map_err(|e| self.explain(e, &format!("pulling manifest {r}")))?;
        if bytes.len() as u64 > MAX_JSON_SIZE {
            bail!("manifest {r} is too large ({} bytes, limit {MAX_JSON_SIZE})", bytes.len());
        }
        Ok(bytes.to_vec())
    }

    fn pull_blob(&self, d: &Descriptor, what: &str) -> Result<Vec<u8>> {
        use futures_util::StreamExt;
        let cap = if is_json_type(&d.media_type) { MAX_JSON_SIZE } else { MAX_BLOB_SIZE };
        if d.size > cap {
            bail!("{what} {}: declared size {} exceeds the limit of {cap} bytes", d.digest, d.size);
        }
        let desc = OciDescriptor {
            media_type: d.media_type.clone(),
            digest: d.digest.clone(),
            size: d.size as i64,
            ..Default::default()
        };
        let r = self.remote.oci();
        let doing = format!("pulling {what} {} of {}", d.digest, self.remote.normalized);
        let bytes = self.rt.block_on(async {
            let mut s = self.client.pull_blob_stream(&r, &desc).await?;
            let mut out = Vec::with_capacity(d.size as usize);
            while let Some(chunk) = s.next().await {
                let chunk = chunk?;
                if out.len() as u64 + chunk.len() as u64 > d.size {
                    return Ok(Err(anyhow!(
                        "{doing}: the registry sent more than the {} bytes the descriptor declares",
                        d.size
                    )));
                }
                out.extend_from_slice(&chunk);
            }
            Ok::<_, OciDistributionError>(Ok(out))
        });
        let bytes = bytes.map_err(|e| self.explain(e, &doing))??;
        verify(d, &bytes).with_context(|| doing.clone())?;
        Ok(bytes)
    }

    /// Pull the image graph: returns the root descriptor and every blob
    /// (manifests included), children before parents. `arch` must be listed
    /// when the root is an image index.
    pub(crate) fn pull_graph(&self, arch: &str) -> Result<(Descriptor, Vec<(Descriptor, Vec<u8>)>)> {
        self.authenticate(RegistryOperation::Pull)?;
        let root_bytes = self.pull_manifest(&self.remote.oci())?;
        self.graph_from_root(root_bytes, arch)
    }

    /// The cosign signature (tag `sha256-<hex>.sig`, see [`super::sign`]) of the image
    /// `digest` in this repository, children first; `None` when there is none.
    pub(crate) fn pull_signature(&self, digest: &str) -> Result<Option<Vec<(Descriptor, Vec<u8>)>>> {
        let tag = super::sign::signature_tag(digest)?;
        let r = Reference::with_tag(self.remote.registry.clone(), self.remote.repository.clone(), tag.clone());
        let bytes = match self.rt.block_on(self.client.pull_manifest_raw(&r, &self.auth, &MANIFEST_TYPES)) {
            Ok((b, _)) => b.to_vec(),
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(self.explain(e, &format!("pulling signature {r}"))),
        };
        if bytes.len() as u64 > MAX_JSON_SIZE {
            bail!("signature manifest {r} is too large ({} bytes)", bytes.len());
        }
        let media_type = json_media_type(&bytes).with_context(|| format!("pulling signature {r}"))?;
        if is_index_type(&media_type) {
            bail!("signature {r} is an image index; expected a cosign signature manifest");
        }
        let root = Descriptor {
            media_type,
            digest: super::oci::sha256_digest(&bytes),
            size: bytes.len() as u64,
            annotations: None,
            data: None,
            platform: None,
            artifact_type: None,
        };
        let mut out = Vec::new();
        self.pull_manifest_children(&bytes, &root.digest, &mut HashSet::new(), &mut out)?;
        out.push((root, bytes));
        Ok(Some(out))
    }

    fn graph_from_root(&self, root_bytes: Vec<u8>, arch: &str) -> Result<(Descriptor, Vec<(Descriptor, Vec<u8>)>)> {
        let digest = super::oci::sha256_digest(&root_bytes);
        if let Some(want) = &self.remote.digest {
            let (alg, _) = parse_digest(want)?;
            let got = super::oci::compute_digest(alg, &root_bytes);
            if &got != want {
                bail!(
                    "pulling {}: digest mismatch: the registry's manifest hashes to {got}",
                    self.remote.normalized
                );
            }
        }
        let media_type = json_media_type(&root_bytes)
            .with_context(|| format!("pulling {}: root manifest", self.remote.normalized))?;
        let root = Descriptor {
            media_type: media_type.clone(),
            digest: self.remote.digest.clone().unwrap_or(digest),
            size: root_bytes.len() as u64,
            annotations: None,
            data: None,
            platform: None,
            artifact_type: None,
        };
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        if is_index_type(&media_type) {
            let idx: ImageIndex = serde_json::from_slice(&root_bytes)
                .with_context(|| format!("pulling {}: image index is not valid JSON", self.remote.normalized))?;
            let archs: Vec<String> = idx
                .manifests
                .iter()
                .filter_map(|d| d.platform.as_ref().map(|p| p.architecture.clone()))
                .collect();
            let untagged_single = idx.manifests.len() == 1 && idx.manifests[0].platform.is_none();
            if !untagged_single && !archs.iter().any(|a| a == arch) {
                bail!(
                    "image {} has no manifest for architecture {arch}; available: {}",
                    self.remote.normalized,
                    if archs.is_empty() { "(none)".into() } else { archs.join(", ") }
                );
            }
            for m in &idx.manifests {
                if !seen.insert(m.digest.clone()) {
                    continue;
                }
                if !is_json_type(&m.media_type) || is_index_type(&m.media_type) {
                    bail!(
                        "image {}: index entry {} has media type {:?}; only image manifests are supported",
                        self.remote.normalized,
                        m.digest,
                        m.media_type
                    );
                }
                if m.size > MAX_JSON_SIZE {
                    bail!("manifest {}: declared size {} exceeds the limit of {MAX_JSON_SIZE} bytes", m.digest, m.size);
                }
                let b = self.pull_manifest(&self.remote.at_digest(&m.digest))?;
                verify(m, &b).with_context(|| format!("pulling manifest {} of {}", m.digest, self.remote.normalized))?;
                self.pull_manifest_children(&b, &m.digest, &mut seen, &mut out)?;
                out.push((m.clone(), b));
            }
        } else {
            self.pull_manifest_children(&root_bytes, &root.digest, &mut seen, &mut out)?;
        }
        out.push((root.clone(), root_bytes));
        Ok((root, out))
    }

    fn pull_manifest_children(
        &self,
        bytes: &[u8],
        digest: &str,
        seen: &mut HashSet<String>,
        out: &mut Vec<(Descriptor, Vec<u8>)>,
    ) -> Result<()> {
        let m: ImageManifest = serde_json::from_slice(bytes)
            .with_context(|| format!("pulling {}: manifest {digest} is not valid JSON", self.remote.normalized))?;
        if seen.insert(m.config.digest.clone()) {
            let b = self.pull_blob(&m.config, "config")?;
            out.push((m.config.clone(), b));
        }
        for l in &m.layers {
            if seen.insert(l.digest.clone()) {
                let what = match l.media_type.as_str() {
                    mt::EBPF => "eBPF layer",
                    mt::WASM => "wasm layer",
                    _ => "layer",
                };
                let b = self.pull_blob(l, what)?;
                out.push((l.clone(), b));
            }
        }
        Ok(())
    }

    /// Push a graph (children before parents, root last) under the session's
    /// reference (which must have a tag). Returns the root digest.
    pub(crate) fn push_graph(&self, blobs: &[(Descriptor, Vec<u8>)]) -> Result<String> {
        self.authenticate(RegistryOperation::Push)?;
        let r = self.remote.oci();
        let n = blobs.len();
        for (i, (d, b)) in blobs.iter().enumerate() {
            let is_root = i + 1 == n;
            if is_json_type(&d.media_type) {
                let target = if is_root { r.clone() } else { self.remote.at_digest(&d.digest) };
                let ct = http::HeaderValue::from_str(&d.media_type)
                    .map_err(|_| anyhow!("invalid media type {:?}", d.media_type))?;
                self.rt
                    .block_on(self.client.push_manifest_raw(&target, b.clone(), ct))
                    .map_err(|e| self.explain(e, &format!("pushing manifest {} to {}", d.digest, self.remote.normalized)))?;
            } else {
                let exists = self.rt.block_on(self.client.blob_exists(&r, &d.digest)).unwrap_or(false);
                if !exists {
                    self.rt
                        .block_on(self.client.push_blob(&r, b.clone(), &d.digest))
                        .map_err(|e| self.explain(e, &format!("pushing blob {} to {}", d.digest, self.remote.normalized)))?;
                }
            }
        }
        Ok(blobs.last().map(|(d, _)| d.digest.clone()).unwrap_or_default())
    }
}

pub(crate) fn is_index_type(m: &str) -> bool {
    m == mt::OCI_INDEX || m == mt::DOCKER_MANIFEST_LIST
}

pub(crate) fn is_json_type(m: &str) -> bool {
    matches!(m, mt::OCI_INDEX | mt::OCI_MANIFEST | mt::DOCKER_MANIFEST_LIST | mt::DOCKER_MANIFEST)
}

/// Media type of a manifest or index from its own `mediaType`, else its shape.
pub(crate) fn json_media_type(b: &[u8]) -> Result<String> {
    let v: serde_json::Value = serde_json::from_slice(b).context("not valid JSON")?;
    if let Some(t) = v.get("mediaType").and_then(|t| t.as_str()) {
        if is_json_type(t) {
            return Ok(t.to_string());
        }
        bail!("unsupported manifest media type {t:?}");
    }
    if v.get("manifests").is_some() {
        Ok(mt::OCI_INDEX.to_string())
    } else if v.get("config").is_some() {
        Ok(mt::OCI_MANIFEST.to_string())
    } else {
        bail!("neither an image index nor an image manifest")
    }
}

/// Check size and digest of `bytes` against `d`.
pub(crate) fn verify(d: &Descriptor, bytes: &[u8]) -> Result<()> {
    let (alg, _) = parse_digest(&d.digest)?;
    if bytes.len() as u64 != d.size {
        bail!(
            "size mismatch for {}: descriptor says {} bytes, got {}",
            d.digest,
            d.size,
            bytes.len()
        );
    }
    let got = super::oci::compute_digest(alg, bytes);
    if got != d.digest {
        bail!("digest mismatch: blob {} hashes to {got}; refusing it", d.digest);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Credentials
// ---------------------------------------------------------------------------

fn docker_config_path(opts: &RegistryOptions) -> Option<(PathBuf, bool)> {
    if let Some(p) = &opts.auth_file {
        return Some((p.clone(), true));
    }
    if let Some(d) = std::env::var_os("DOCKER_CONFIG") {
        return Some((PathBuf::from(d).join("config.json"), false));
    }
    std::env::var_os("HOME").map(|h| (PathBuf::from(h).join(".docker/config.json"), false))
}

/// Credentials for `registry`: explicit, from the docker config file, or
/// anonymous; with a description of where they came from (never the secret).
pub(crate) fn credentials_for(registry: &str, opts: &RegistryOptions) -> Result<(RegistryAuth, String)> {
    if let Some((u, p)) = &opts.credentials {
        return Ok((RegistryAuth::Basic(u.clone(), p.clone()), format!("user {u:?} given explicitly")));
    }
    let Some((path, explicit)) = docker_config_path(opts) else {
        return Ok((RegistryAuth::Anonymous, "anonymous".into()));
    };
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            return Ok((RegistryAuth::Anonymous, "anonymous".into()))
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read auth file {}", path.display())),
    };
    let v: serde_json::Value = serde_json::from_slice(&text)
        .with_context(|| format!("auth file {} is not valid JSON", path.display()))?;
    let key = if registry == "docker.io" { "index.docker.io" } else { registry };
    let helper = v
        .get("credHelpers")
        .and_then(|h| h.as_object())
        .and_then(|h| h.iter().find(|(k, _)| host_of(k) == key || (key == "index.docker.io" && host_of(k) == "docker.io")))
        .and_then(|(_, n)| n.as_str())
        .or_else(|| v.get("credsStore").and_then(|s| s.as_str()))
        .filter(|n| !n.is_empty());
    // A helper that fails (not installed, crashed) leaves the registry to decide: public
    // images still pull anonymously, and a refusal names the helper's error.
    let mut helper_note = String::new();
    if let Some(name) = helper {
        let server = if key == "index.docker.io" { "https://index.docker.io/v1/" } else { registry };
        match credential_helper(name, server) {
            Ok(Some(found)) => return Ok(found),
            Ok(None) => helper_note = format!("; docker-credential-{name} has none for {server}"),
            Err(e) => helper_note = format!("; credential helper from {} failed: {e:#}", path.display()),
        }
    }
    let anonymous = |why: String| Ok((RegistryAuth::Anonymous, format!("anonymous: {why}{helper_note}")));
    let Some(auths) = v.get("auths").and_then(|a| a.as_object()) else {
        return anonymous(format!("no auths in {}", path.display()));
    };
    let entry = auths.iter().find(|(k, _)| {
        let host = host_of(k);
        host == key || (key == "index.docker.io" && host == "docker.io")
    });
    let Some((_, e)) = entry else {
        return anonymous(format!("no entry for {registry} in {}", path.display()));
    };
    let from = format!("credentials for {registry} from {}", path.display());
    if let Some(a) = e.get("auth").and_then(|a| a.as_str()).filter(|a| !a.is_empty()) {
        use base64::Engine as _;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(a.trim())
            .with_context(|| format!("{from}: `auth` is not valid base64"))?;
        let s = String::from_utf8(raw).map_err(|_| anyhow!("{from}: `auth` is not UTF-8"))?;
        let (u, p) = s
            .split_once(':')
            .ok_or_else(|| anyhow!("{from}: `auth` does not decode to user:password"))?;
        return Ok((RegistryAuth::Basic(u.to_string(), p.to_string()), format!("{from}, user {u:?}")));
    }
    if let (Some(u), Some(p)) = (
        e.get("username").and_then(|x| x.as_str()),
        e.get("password").and_then(|x| x.as_str()),
    ) {
        return Ok((RegistryAuth::Basic(u.to_string(), p.to_string()), format!("{from}, user {u:?}")));
    }
    if let Some(t) = e.get("identitytoken").and_then(|x| x.as_str()) {
        return Ok((RegistryAuth::Bearer(t.to_string()), format!("{from} (identity token)")));
    }
    anonymous(format!("empty entry for {registry} in {}", path.display()))
}

/// `host[:port]` of a docker config key (`https://host/v1/`, `host`).
fn host_of(k: &str) -> &str {
    let k = k.trim_start_matches("https://").trim_start_matches("http://");
    k.split('/').next().unwrap_or("")
}

/// Ask `docker-credential-<name> get` (found on `PATH`) for `server`'s credentials, as
/// docker does: the server on stdin, `{"Username": ..., "Secret": ...}` on stdout
/// (`Username` `<token>`: `Secret` is an identity token). `None` when the helper has
/// none ("credentials not found"). The helper gets 60 s, then it is killed.
fn credential_helper(name: &str, server: &str) -> Result<Option<(RegistryAuth, String)>> {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
        bail!("invalid credential helper name {name:?}");
    }
    let prog = format!("docker-credential-{name}");
    let mut child = Command::new(&prog)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {prog} (is it on PATH?)"))?;
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(server.as_bytes());
    }
    let mut so = child.stdout.take().expect("piped");
    let mut se = child.stderr.take().expect("piped");
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.by_ref().take(1 << 20).read_to_end(&mut b);
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.by_ref().take(1 << 16).read_to_end(&mut b);
        b
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{prog} did not answer within 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let out = out_t.join().unwrap_or_default();
    let err = err_t.join().unwrap_or_default();
    if !status.success() {
        let msg = String::from_utf8_lossy(if out.is_empty() { &err } else { &out }).trim().to_string();
        if msg.to_lowercase().contains("credentials not found") {
            return Ok(None);
        }
        bail!("{prog} get failed ({status}): {msg}");
    }
    #[derive(serde::Deserialize)]
    struct Creds {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let c: Creds = serde_json::from_slice(&out).with_context(|| format!("{prog} get printed no credentials JSON"))?;
    let from = format!("credentials for {server} from {prog}");
    if c.username == "<token>" {
        return Ok(Some((RegistryAuth::Bearer(c.secret), format!("{from} (identity token)"))));
    }
    if c.username.is_empty() && c.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some((RegistryAuth::Basic(c.username.clone(), c.secret), format!("{from}, user {:?}", c.username))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_normalised_and_split_like_ig() {
        let r = RemoteRef::parse("trace_open").unwrap();
        assert_eq!(r.normalized, "ghcr.io/inspektor-gadget/gadget/trace_open:latest");
        assert_eq!((r.registry.as_str(), r.repository.as_str()), ("ghcr.io", "inspektor-gadget/gadget/trace_open"));
        assert_eq!(r.tag.as_deref(), Some("latest"));
        let r = RemoteRef::parse("127.0.0.1:5000/a/b:v1").unwrap();
        assert_eq!((r.registry.as_str(), r.repository.as_str(), r.tag.as_deref()), ("127.0.0.1:5000", "a/b", Some("v1")));
        let r = RemoteRef::parse("localhost/x").unwrap();
        assert_eq!(r.normalized, "localhost/x:latest");
        let d = format!("sha256:{}", "a".repeat(64));
        let r = RemoteRef::parse(&format!("myorg/g@{d}")).unwrap();
        assert_eq!(r.normalized, format!("ghcr.io/myorg/g@{d}"));
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        for bad in ["", "a b", "Ghcr.io/X/Y", "x@sha256:12", "reg.io/a:b:c"] {
            assert!(RemoteRef::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn plain_http_only_for_loopback() {
        for y in ["localhost", "localhost:5000", "127.0.0.1:41000", "[::1]:5000"] {
            assert!(is_loopback_registry(y), "{y}");
        }
        for n in ["ghcr.io", "10.0.0.1:5000", "localhost.example.com", "127-0-0-1.nip.io"] {
            assert!(!is_loopback_registry(n), "{n}");
        }
    }

    #[test]
    fn credentials_from_a_docker_config_file() {
        let dir = std::env::temp_dir().join(format!("gadgetrt-auth-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("config.json");
        std::fs::write(
            &f,
            r#"{"auths":{"https://reg.example:5000/v1/":{"auth":"dXNlcjpwYTpzcw=="},"other.io":{"username":"a","password":"b"}}}"#,
        )
        .unwrap();
        let o = RegistryOptions { auth_file: Some(f.clone()), ..Default::default() };
        let (a, from) = credentials_for("reg.example:5000", &o).unwrap();
        assert_eq!(a, RegistryAuth::Basic("user".into(), "pa:ss".into()));
        assert!(from.contains("config.json") && !from.contains("pa:ss"), "{from}");
        assert_eq!(credentials_for("other.io", &o).unwrap().0, RegistryAuth::Basic("a".into(), "b".into()));
        assert_eq!(credentials_for("ghcr.io", &o).unwrap().0, RegistryAuth::Anonymous);
        let missing = RegistryOptions { auth_file: Some(dir.join("nope.json")), ..Default::default() };
        assert!(credentials_for("ghcr.io", &missing).is_err(), "an explicit auth file must exist");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
