//! The local image store: an OCI image layout directory (like IG's
//! `/var/lib/ig/oci-store`) whose `index.json` entries carry the full
//! normalised reference in `org.opencontainers.image.ref.name`.
//!
//! Location: `$GADGETRT_IMAGE_STORE` if set, else `/var/lib/gadgetrt/images`
//! for root, else `$XDG_DATA_HOME/gadgetrt/images` (default
//! `~/.local/share/gadgetrt/images`). Mutations hold an exclusive `flock` on
//! `<store>/.lock`; `index.json` and blobs are written to a temporary file and
//! renamed. Blobs are verified (size, digest) when written and again when read.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use super::annotation_keys as ak;
use super::limits::{MAX_BLOB_SIZE, MAX_JSON_SIZE};
use super::oci::{normalize_reference, parse_digest, Descriptor, GadgetImage, ImageIndex, ImageManifest, Layout};
use super::registry::{is_index_type, is_json_type, verify, RegistryOptions, RemoteRef, Session};

/// One tagged image in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredImage {
    /// Full normalised reference (`ghcr.io/inspektor-gadget/gadget/trace_open:latest`).
    pub reference: String,
    /// Digest of the tagged root (image index).
    pub digest: String,
    /// `org.opencontainers.image.created` of the root, if recorded.
    pub created: Option<String>,
}

/// An OCI image layout directory used as the local image store.
#[derive(Debug, Clone)]
pub struct ImageStore {
    root: PathBuf,
}

/// Where the store lives by default (see the module docs).
pub fn default_store_root() -> PathBuf {
    if let Some(p) = std::env::var_os("GADGETRT_IMAGE_STORE").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return PathBuf::from("/var/lib/gadgetrt/images");
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("gadgetrt/images")
}

struct Lock(File);

impl Drop for Lock {
    fn drop(&mut self) {
        // SAFETY: valid fd owned by self.0.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("f"),
        std::process::id()
    ));
    let res = (|| -> Result<()> {
        let mut f = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path).with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

/// Children of a manifest or index (descriptors it points to).
fn children(d: &Descriptor, bytes: &[u8]) -> Result<Vec<Descriptor>> {
    if !is_json_type(&d.media_type) {
        return Ok(Vec::new());
    }
    if is_index_type(&d.media_type) {
        let idx: ImageIndex = serde_json::from_slice(bytes).with_context(|| format!("image index {} is not valid JSON", d.digest))?;
        Ok(idx.manifests)
    } else {
        let m: ImageManifest = serde_json::from_slice(bytes).with_context(|| format!("manifest {} is not valid JSON", d.digest))?;
        let mut v = vec![m.config];
        v.extend(m.layers);
        Ok(v)
    }
}

/// Every blob reachable from `root`, children before parents, each once,
/// read (and verified) through `read`.
fn collect_graph(
    read: &dyn Fn(&Descriptor, u64, &str) -> Result<Vec<u8>>,
    root: &Descriptor,
) -> Result<Vec<(Descriptor, Vec<u8>)>> {
    fn walk(
        read: &dyn Fn(&Descriptor, u64, &str) -> Result<Vec<u8>>,
        d: &Descriptor,
        seen: &mut HashSet<String>,
        out: &mut Vec<(Descriptor, Vec<u8>)>,
        depth: usize,
    ) -> Result<()> {
        if depth > 4 {
            bail!("image graph nested too deeply at {}", d.digest);
        }
        if !seen.insert(d.digest.clone()) {
            return Ok(());
        }
        let json = is_json_type(&d.media_type);
        let bytes = read(d, if json { MAX_JSON_SIZE } else { MAX_BLOB_SIZE }, if json { "manifest" } else { "blob" })?;
        for c in children(d, &bytes)? {
            walk(read, &c, seen, out, depth + 1)?;
        }
        out.push((d.clone(), bytes));
        Ok(())
    }
    let mut out = Vec::new();
    walk(read, root, &mut HashSet::new(), &mut out, 0)?;
    Ok(out)
}

/// Read the root descriptor for `reference` (or the only image) and its
/// graph from an OCI layout (tar or directory).
pub(crate) fn layout_graph(path: &Path, reference: Option<&str>) -> Result<(Option<String>, Descriptor, Vec<(Descriptor, Vec<u8>)>)> {
    let layout = Layout::open(path)?;
    let index = layout.read_index()?;
    let (tag, root) = super::oci::select_root(&index, reference, &mut Vec::new())?;
    let graph = collect_graph(&|d, cap, what| layout.read_blob(d, cap, what), &root)?;
    Ok((tag, root, graph))
}

impl ImageStore {
    /// Open (creating if needed) the store at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<ImageStore> {
        let root = root.into();
        fs::create_dir_all(root.join("blobs/sha256"))
            .with_context(|| format!("cannot create image store {}", root.display()))?;
        let s = ImageStore { root };
        let layout = s.root.join("oci-layout");
        if !layout.exists() {
            write_atomic(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        if !s.root.join("index.json").exists() {
            let _l = s.lock()?;
            if !s.root.join("index.json").exists() {
                s.write_index(&ImageIndex {
                    schema_version: 2,
                    media_type: Some(super::media_types::OCI_INDEX.into()),
                    artifact_type: None,
                    manifests: Vec::new(),
                    annotations: None,
                })?;
            }
        }
        Ok(s)
    }

    /// Open the store at [`default_store_root`].
    pub fn open_default() -> Result<ImageStore> {
        Self::open(default_store_root())
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn lock(&self) -> Result<Lock> {
        let p = self.root.join(".lock");
        let f = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .with_context(|| format!("cannot open {}", p.display()))?;
        // SAFETY: valid fd.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(std::io::Error::last_os_error()).with_context(|| format!("cannot lock {}", p.display()));
        }
        Ok(Lock(f))
    }

    fn layout(&self) -> Result<Layout> {
        Layout::open(&self.root)
    }

    fn read_index(&self) -> Result<ImageIndex> {
        self.layout()?.read_index()
    }

    fn write_index(&self, idx: &ImageIndex) -> Result<()> {
        let b = serde_json::to_vec(idx)?;
        write_atomic(&self.root.join("index.json"), &b)
    }

    fn blob_path(&self, digest: &str) -> Result<PathBuf> {
        let (alg, hex) = parse_digest(digest)?;
        Ok(self.root.join("blobs").join(alg).join(hex))
    }

    fn put_blob(&self, d: &Descriptor, bytes: &[u8]) -> Result<()> {
        verify(d, bytes)?;
        let p = self.blob_path(&d.digest)?;
        if let Ok(m) = fs::metadata(&p) {
            if m.len() == d.size {
                return Ok(());
            }
        }
        if let Some(dir) = p.parent() {
            fs::create_dir_all(dir)?;
        }
        write_atomic(&p, bytes)
    }

    /// Store `graph` (children first, root last) and tag its root `reference`
    /// (already normalised).
    fn add(&self, reference: &str, graph: &[(Descriptor, Vec<u8>)]) -> Result<StoredImage> {
        let (root, _) = graph.last().ok_or_else(|| anyhow!("empty image"))?;
        let _l = self.lock()?;
        for (d, b) in graph {
            self.put_blob(d, b)?;
        }
        self.set_tag(reference, root)?;
        Ok(StoredImage {
            reference: reference.to_string(),
            digest: root.digest.clone(),
            created: root_created(graph),
        })
    }

    /// Point `reference` at `root` in index.json (lock held).
    fn set_tag(&self, reference: &str, root: &Descriptor) -> Result<()> {
        let mut idx = self.read_index()?;
        idx.manifests.retain(|d| d.annotation(ak::REF_NAME) != Some(reference));
        let mut d = root.clone();
        let mut ann = BTreeMap::new();
        ann.insert(ak::REF_NAME.to_string(), reference.to_string());
        d.annotations = Some(ann);
        d.platform = None;
        idx.manifests.push(d);
        self.write_index(&idx)
    }

    /// Tagged images, in index.json order.
    pub fn list(&self) -> Result<Vec<StoredImage>> {
        let idx = self.read_index()?;
        let layout = self.layout()?;
        let mut out = Vec::new();
        for d in &idx.manifests {
            let Some(r) = d.annotation(ak::REF_NAME) else { continue };
            if r.ends_with(".sig") {
                continue;
            }
            let created = layout
                .read_blob(d, MAX_JSON_SIZE, "image index")
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v.get("annotations")?.get(ak::CREATED)?.as_str().map(str::to_string));
            out.push(StoredImage { reference: r.to_string(), digest: d.digest.clone(), created });
        }
        Ok(out)
    }

    /// The stored image `reference` (any form IG accepts), if present.
    pub fn find(&self, reference: &str) -> Result<Option<StoredImage>> {
        let n = normalize_reference(reference);
        Ok(self.list()?.into_iter().find(|i| i.reference == n))
    }

    /// Load `reference` for the host architecture (verified).
    pub fn load(&self, reference: &str) -> Result<GadgetImage> {
        let n = normalize_reference(reference);
        if self.find(&n)?.is_none() {
            bail!("image {n} is not in the local store {}", self.root.display());
        }
        super::oci::load_image(&self.root, Some(&n))
    }

    /// Pull `reference` from its registry into the store (replacing an
    /// older image under the same tag).
    pub fn pull(&self, reference: &str, opts: &RegistryOptions) -> Result<StoredImage> {
        let remote = RemoteRef::parse(reference)?;
        let session = Session::new(remote.clone(), opts)?;
        let (root, graph) = session.pull_graph(super::oci::host_arch())?;
        // The signature comes along when there is one (like IG's pull); a missing
        // one is not an error here, only when the image is verified.
        let sig = session.pull_signature(&root.digest);
        let stored = self
            .add(&remote.normalized, &graph)
            .with_context(|| format!("storing {} in {}", remote.normalized, self.root.display()))?;
        if let Ok(Some(sig)) = sig {
            self.add(&signature_ref(&remote, &root.digest)?, &sig)
                .with_context(|| format!("storing the signature of {} in {}", remote.normalized, self.root.display()))?;
        }
        Ok(stored)
    }

    /// Fetch the signature of the stored image `reference` from its registry into the
    /// store. Returns false when the registry has none.
    pub fn pull_signature(&self, reference: &str, opts: &RegistryOptions) -> Result<bool> {
        let remote = RemoteRef::parse(reference)?;
        let img = self
            .find(&remote.normalized)?
            .ok_or_else(|| anyhow!("image {} is not in the local store {}", remote.normalized, self.root.display()))?;
        let session = Session::new(remote.clone(), opts)?;
        match session.pull_signature(&img.digest)? {
            Some(sig) => {
                self.add(&signature_ref(&remote, &img.digest)?, &sig)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Verify the cosign signature of the stored image `reference` (see
    /// [`super::sign`]) with the signature held in the store. Fails with a
    /// [`super::sign::SignatureError`] when it is missing or wrong.
    pub fn verify(&self, reference: &str, keys: &[String]) -> Result<()> {
        let remote = RemoteRef::parse(reference)?;
        let n = &remote.normalized;
        let img = self
            .find(n)?
            .ok_or_else(|| anyhow!("image {n} is not in the local store {}", self.root.display()))?;
        let sref = signature_ref(&remote, &img.digest)?;
        let idx = self.read_index()?;
        let Some(sd) = idx.manifests.iter().find(|d| d.annotation(ak::REF_NAME) == Some(sref.as_str())) else {
            return Err(super::sign::missing(n));
        };
        let layout = self.layout()?;
        let mb = layout.read_blob(sd, MAX_JSON_SIZE, "signature manifest")?;
        super::sign::verify_signature(n, &img.digest, &mb, &|d| layout.read_blob(d, MAX_JSON_SIZE, "signature payload"), keys)
    }

    /// Sign the stored image `reference` with the PEM private key `key_pem` (cosign
    /// format) and keep the signature in the store (push it with
    /// [`super::sign`] + [`push_signature`]).
    pub fn sign(&self, reference: &str, key_pem: &str) -> Result<String> {
        let remote = RemoteRef::parse(reference)?;
        let img = self
            .find(&remote.normalized)?
            .ok_or_else(|| anyhow!("image {} is not in the local store {}", remote.normalized, self.root.display()))?;
        let g = super::sign::signature_graph(&format!("{}/{}", remote.registry, remote.repository), &img.digest, key_pem)?;
        let sref = signature_ref(&remote, &img.digest)?;
        self.add(&sref, &g)?;
        Ok(sref)
    }

    /// Push the stored image `reference` to its registry. Returns the digest.
    pub fn push(&self, reference: &str, opts: &RegistryOptions) -> Result<String> {
        let n = normalize_reference(reference);
        if self.find(&n)?.is_none() {
            bail!("image {n} is not in the local store {}", self.root.display());
        }
        push_layout(&self.root, Some(&n), &n, opts)
    }

    /// Tag the stored image `src` as `dst` too.
    pub fn tag(&self, src: &str, dst: &str) -> Result<StoredImage> {
        let s = normalize_reference(src);
        let d = RemoteRef::parse(dst)?.normalized;
        let _l = self.lock()?;
        let idx = self.read_index()?;
        let root = idx
            .manifests
            .iter()
            .find(|x| x.annotation(ak::REF_NAME) == Some(s.as_str()))
            .cloned()
            .ok_or_else(|| anyhow!("image {s} is not in the local store {}", self.root.display()))?;
        self.set_tag(&d, &root)?;
        Ok(StoredImage { reference: d, digest: root.digest, created: None })
    }

    /// Remove `reference`; its signature goes too when no other tag of the repository
    /// names the same image; blobs no longer reachable from a tag are deleted.
    pub fn remove(&self, reference: &str) -> Result<()> {
        let n = normalize_reference(reference);
        let _l = self.lock()?;
        let mut idx = self.read_index()?;
        let Some(gone) = idx.manifests.iter().find(|d| d.annotation(ak::REF_NAME) == Some(n.as_str())).cloned() else {
            bail!("image {n} is not in the local store {}", self.root.display());
        };
        idx.manifests.retain(|d| d.annotation(ak::REF_NAME) != Some(n.as_str()));
        if let Ok(remote) = RemoteRef::parse(&n) {
            let repo = format!("{}/{}:", remote.registry, remote.repository);
            let shared = idx.manifests.iter().any(|d| {
                d.digest == gone.digest && d.annotation(ak::REF_NAME).is_some_and(|r| r.starts_with(&repo) && !r.ends_with(".sig"))
            });
            if !shared {
                if let Ok(sref) = signature_ref(&remote, &gone.digest) {
                    idx.manifests.retain(|d| d.annotation(ak::REF_NAME) != Some(sref.as_str()));
                }
            }
        }
        self.write_index(&idx)?;
        self.gc(&idx)
    }

    /// Delete blobs not reachable from index.json (lock held).
    fn gc(&self, idx: &ImageIndex) -> Result<()> {
        let mut keep = HashSet::new();
        let layout = self.layout()?;
        let mut stack: Vec<Descriptor> = idx.manifests.clone();
        while let Some(d) = stack.pop() {
            if !keep.insert(d.digest.clone()) {
                continue;
            }
            if is_json_type(&d.media_type) {
                // Unreadable or corrupt manifests keep what is known only.
                if let Ok(b) = layout.read_blob(&d, MAX_JSON_SIZE, "manifest") {
                    stack.extend(children(&d, &b).unwrap_or_default());
                }
            }
        }
        let dir = self.root.join("blobs/sha256");
        for e in fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))? {
            let e = e?;
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if !keep.contains(&format!("sha256:{name}")) {
                let _ = fs::remove_file(e.path());
            }
        }
        Ok(())
    }

    /// Import every tagged image of an OCI layout tar (or directory), e.g. one
    /// written by `ig image export` or `gadgetrt-pack`. Returns the references.
    pub fn import(&self, path: &Path) -> Result<Vec<String>> {
        let tags = super::oci::list_images(path)?;
        if tags.is_empty() {
            bail!("{} holds no tagged image", path.display());
        }
        let mut out = Vec::new();
        for t in tags {
            let (_, _, graph) = layout_graph(path, Some(&t))?;
            let n = normalize_reference(&t);
            self.add(&n, &graph).with_context(|| format!("importing {n} from {}", path.display()))?;
            out.push(n);
        }
        Ok(out)
    }

    /// Export `references` as an OCI layout tar at `out` (the layout
    /// `ig image export` writes; `ig image import` and [`ImageStore::import`]
    /// read it).
    pub fn export(&self, references: &[&str], out: &Path) -> Result<()> {
        if references.is_empty() {
            bail!("nothing to export: no image reference given");
        }
        let mut blobs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut entries = Vec::new();
        for r in references {
            let n = normalize_reference(r);
            if self.find(&n)?.is_none() {
                bail!("image {n} is not in the local store {}", self.root.display());
            }
            let (_, root, graph) = layout_graph(&self.root, Some(&n))?;
            for (d, b) in graph {
                let (_, hex) = parse_digest(&d.digest)?;
                blobs.insert(format!("blobs/sha256/{hex}"), b);
            }
            let mut d = root.clone();
            let mut ann = BTreeMap::new();
            ann.insert(ak::REF_NAME.to_string(), n.clone());
            d.annotations = Some(ann);
            entries.push(d);
        }
        let idx = ImageIndex {
            schema_version: 2,
            media_type: Some(super::media_types::OCI_INDEX.into()),
            artifact_type: None,
            manifests: entries,
            annotations: None,
        };
        let mut files: Vec<(String, Vec<u8>)> = blobs.into_iter().collect();
        files.push(("index.json".into(), serde_json::to_vec(&idx)?));
        files.push(("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()));
        write_tar(&files, out)
    }
}

/// Store name of the signature of `digest` in `remote`'s repository:
/// `registry/repo:sha256-<hex>.sig`.
fn signature_ref(remote: &RemoteRef, digest: &str) -> Result<String> {
    Ok(format!("{}/{}:{}", remote.registry, remote.repository, super::sign::signature_tag(digest)?))
}

/// Sign the image `digest` of `dest`'s repository with `key_pem` and push the
/// signature to `dest`'s registry under `sha256-<hex>.sig` (what `cosign sign --key`
/// does). Returns the signature tag.
pub fn push_signature(dest: &str, digest: &str, key_pem: &str, opts: &RegistryOptions) -> Result<String> {
    let remote = RemoteRef::parse(dest)?;
    let g = super::sign::signature_graph(&format!("{}/{}", remote.registry, remote.repository), digest, key_pem)?;
    push_graph_as(&remote, &super::sign::signature_tag(digest)?, &g, opts)
}

/// Push a graph (children first, root manifest last) to `remote`'s repository under
/// `tag`. Returns the reference pushed.
pub fn push_graph_as(remote: &RemoteRef, tag: &str, graph: &[(Descriptor, Vec<u8>)], opts: &RegistryOptions) -> Result<String> {
    let r = RemoteRef::parse(&format!("{}/{}:{tag}", remote.registry, remote.repository))?;
    let n = r.normalized.clone();
    Session::new(r, opts)?.push_graph(graph)?;
    Ok(n)
}

fn root_created(graph: &[(Descriptor, Vec<u8>)]) -> Option<String> {
    let (_, b) = graph.last()?;
    let v: serde_json::Value = serde_json::from_slice(b).ok()?;
    v.get("annotations")?.get(ak::CREATED)?.as_str().map(str::to_string)
}

fn write_tar(files: &[(String, Vec<u8>)], out: &Path) -> Result<()> {
    let tmp = out.with_file_name(format!(
        ".{}.tmp-{}",
        out.file_name().and_then(|n| n.to_str()).unwrap_or("image.tar"),
        std::process::id()
    ));
    let res = (|| -> Result<()> {
        let f = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut b = tar::Builder::new(BufWriter::new(f));
        for (name, data) in files {
            let mut h = tar::Header::new_ustar();
            h.set_path(name)?;
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_cksum();
            b.append(&h, data.as_slice())?;
        }
        let mut w = b.into_inner()?;
        w.flush()?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        fs::rename(&tmp, out)?;
        Ok(())
    })();
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res.with_context(|| format!("writing {}", out.display()))
}

/// Push the image `reference` of an OCI layout (tar or directory; `None`:
/// its only image) to the registry as `dest`. Returns the root digest.
pub fn push_layout(path: &Path, reference: Option<&str>, dest: &str, opts: &RegistryOptions) -> Result<String> {
    let remote = RemoteRef::parse(dest)?;
    if remote.digest.is_some() {
        bail!("cannot push to a digest reference ({dest}); give a tag");
    }
    let (_, _, graph) = layout_graph(path, reference)?;
    let session = Session::new(remote, opts)?;
    session.push_graph(&graph)
}

/// Pull `reference` into `store` if it is not there (`ig run`'s
/// `--pull=missing`), `always`, or `never`; then load it.
pub fn load_from_store(store: &ImageStore, reference: &str, pull: PullPolicy, opts: &RegistryOptions) -> Result<GadgetImage> {
    let present = store.find(reference)?.is_some();
    match pull {
        PullPolicy::Always => {
            store.pull(reference, opts)?;
        }
        PullPolicy::Missing if !present => {
            store.pull(reference, opts)?;
        }
        PullPolicy::Never if !present => bail!(
            "image {} is not in the local store {} and pulling is disabled (--pull=never)",
            normalize_reference(reference),
            store.root().display()
        ),
        _ => {}
    }
    if opts.verify.verify {
        super::sign::check_public_keys(&opts.verify.public_keys)?;
        match store.verify(reference, &opts.verify.public_keys) {
            Ok(()) => {}
            // Like IG: no signature in the store → fetch it from the registry and
            // try again (not with --pull=never: then nothing goes to the network).
            Err(e) if pull != PullPolicy::Never && is_missing(&e) => {
                store.pull_signature(reference, opts).context("fetching the image's signature")?;
                store.verify(reference, &opts.verify.public_keys)?;
            }
            Err(e) => return Err(e),
        }
    }
    store.load(reference)
}

/// Pull `reference` into `store` (always), then verify its signature unless
/// `opts.verify` says not to. A refused image stays in the store (as after `ig image
/// pull`) but loading it by reference with verification on fails the same way.
pub fn pull_verified(store: &ImageStore, reference: &str, opts: &RegistryOptions) -> Result<StoredImage> {
    if opts.verify.verify {
        super::sign::check_public_keys(&opts.verify.public_keys)?;
    }
    let img = store.pull(reference, opts)?;
    if opts.verify.verify {
        store.verify(reference, &opts.verify.public_keys)?;
    }
    Ok(img)
}

fn is_missing(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<super::sign::SignatureError>().is_some_and(|s| s.missing))
}

/// When to pull (ig run's `--pull`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    Always,
    #[default]
    Missing,
    Never,
}

impl std::str::FromStr for PullPolicy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "always" => Ok(PullPolicy::Always),
            "missing" => Ok(PullPolicy::Missing),
            "never" => Ok(PullPolicy::Never),
            o => Err(format!("invalid pull policy {o:?}: expected always, missing or never")),
        }
    }
}
