//! Images by reference: the local image store, registries, signature verification
//! (`grt_image_*`, `grt_gadget_open_ref`/`grt_gadget_load_ref`). A thin layer over
//! `crate::image` (`ImageStore`, `load_from_store`, `pull_verified`).

use std::os::raw::c_char;
use std::path::PathBuf;

use super::gadget::grt_gadget;
use super::runtime::runtime_ref;
use super::{ffi_try, grt_error, null_err, str_arg, write_out};
use crate::error::{Error, ErrorCode, Result};
use crate::gadget::{image_error, Gadget, GadgetSource};
use crate::image::{ImageStore, PullPolicy, RegistryOptions, VerifyOptions};

/// Pull policies (`grt_image_options.pull_policy`, `ig run --pull`). 0 is the default,
/// `GRT_PULL_MISSING`: pull only when the image is not in the store.
pub const GRT_PULL_MISSING: u32 = 0;
/// Always pull (replacing the stored image of that reference).
pub const GRT_PULL_ALWAYS: u32 = 1;
/// Never pull: the image must be in the store.
pub const GRT_PULL_NEVER: u32 = 2;

/// Options for images by reference. Initialise with `GRT_IMAGE_OPTIONS_INIT` (which sets
/// `size`); zero/empty fields mean the default. Strings are UTF-8 (pointer, length), NULL
/// only with length 0. Older, smaller structs are accepted; a larger struct whose unknown
/// tail is not all zero is rejected. Borrowed for the call only.
#[repr(C)]
pub struct grt_image_options {
    /// `sizeof(grt_image_options)`.
    pub size: usize,
    /// Image store directory (an OCI image layout, created if missing); empty =
    /// `$GADGETRT_IMAGE_STORE`, else `/var/lib/gadgetrt/images` (root) or
    /// `$XDG_DATA_HOME/gadgetrt/images`.
    pub store_dir: *const c_char,
    pub store_dir_len: usize,
    /// `GRT_PULL_*` (default `GRT_PULL_MISSING`); used by `grt_gadget_open_ref` and
    /// `grt_gadget_load_ref` (`grt_image_pull` always pulls).
    pub pull_policy: u32,
    /// Nonzero: do not verify image signatures (`ig run --verify-image=false`). By default
    /// an image loaded by reference must carry a cosign signature (tag `sha256-<hex>.sig` in
    /// its repository) made with one of `public_keys`, else `GRT_ERR_SIGNATURE`.
    pub disable_verify: u32,
    /// PEM public keys (ECDSA P-256, PKIX `PUBLIC KEY` blocks, one or more concatenated)
    /// that signatures may be made with; empty = Inspektor Gadget's key (as `ig run`).
    /// Given keys replace IG's key, like `ig run --public-keys`.
    pub public_keys: *const c_char,
    pub public_keys_len: usize,
    /// Docker-style auth file (`ig --authfile`); empty = `$DOCKER_CONFIG/config.json`, else
    /// `~/.docker/config.json` when present. Its `credHelpers`/`credsStore` run
    /// `docker-credential-<name> get`.
    pub auth_file: *const c_char,
    pub auth_file_len: usize,
    /// Registries (`host:port`, comma-separated) reached over plain HTTP besides the loopback
    /// ones (`ig --insecure-registries`).
    pub insecure_registries: *const c_char,
    pub insecure_registries_len: usize,
    /// Explicit registry credentials (both non-empty to be used); they take precedence over
    /// the auth file.
    pub username: *const c_char,
    pub username_len: usize,
    pub password: *const c_char,
    pub password_len: usize,
}

/// The options as the core takes them.
struct Opts {
    store: Option<PathBuf>,
    pull: PullPolicy,
    registry: RegistryOptions,
}

impl Opts {
    fn store(&self) -> Result<ImageStore> {
        match &self.store {
            Some(p) => ImageStore::open(p),
            None => ImageStore::open_default(),
        }
        .map_err(|e| Error::new(ErrorCode::Io, format!("{e:#}")))
    }
}

unsafe fn options(o: *const grt_image_options) -> Result<Opts> {
    let mut r = Opts { store: None, pull: PullPolicy::Missing, registry: RegistryOptions::default() };
    // SAFETY: NULL or a caller-initialised struct of at least `size` bytes.
    let Some(o) = (unsafe { o.as_ref() }) else { return Ok(r) };
    super::check_size_prefix(o, o.size, "options", "GRT_IMAGE_OPTIONS_INIT", "options struct")?;
    macro_rules! has {
        ($f:ident) => {
            std::mem::offset_of!(grt_image_options, $f) + std::mem::size_of_val(&o.$f) <= o.size
        };
    }
    macro_rules! text {
        ($p:ident, $l:ident) => {
            if has!($l) {
                // SAFETY: ptr+len provided by the caller.
                unsafe { str_arg(o.$p, o.$l, stringify!($p))? }
            } else {
                ""
            }
        };
    }
    let store = text!(store_dir, store_dir_len);
    if !store.is_empty() {
        r.store = Some(PathBuf::from(store));
    }
    if has!(pull_policy) {
        r.pull = match o.pull_policy {
            GRT_PULL_MISSING => PullPolicy::Missing,
            GRT_PULL_ALWAYS => PullPolicy::Always,
            GRT_PULL_NEVER => PullPolicy::Never,
            p => return Err(Error::new(ErrorCode::InvalidArgument, format!("invalid pull_policy {p} (GRT_PULL_MISSING, _ALWAYS or _NEVER)"))),
        };
    }
    if has!(disable_verify) && o.disable_verify != 0 {
        r.registry.verify = VerifyOptions::disabled();
    }
    let keys = text!(public_keys, public_keys_len);
    if !keys.is_empty() && r.registry.verify.verify {
        r.registry.verify.public_keys = crate::image::sign::split_pem_keys(keys);
        crate::image::sign::check_public_keys(&r.registry.verify.public_keys)
            .map_err(|e| Error::new(ErrorCode::InvalidArgument, format!("public_keys: {e:#}")))?;
    }
    let auth = text!(auth_file, auth_file_len);
    if !auth.is_empty() {
        r.registry.auth_file = Some(PathBuf::from(auth));
    }
    let insecure = text!(insecure_registries, insecure_registries_len);
    r.registry.insecure_registries =
        insecure.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    let (u, p) = (text!(username, username_len), text!(password, password_len));
    if !u.is_empty() && !p.is_empty() {
        r.registry.credentials = Some((u.to_string(), p.to_string()));
    }
    Ok(r)
}

unsafe fn reference_arg<'a>(reference: *const c_char, len: usize) -> Result<&'a str> {
    if reference.is_null() {
        return Err(null_err("reference"));
    }
    let r = unsafe { str_arg(reference, len, "reference")? };
    if r.trim().is_empty() {
        return Err(Error::new(ErrorCode::InvalidArgument, "reference is empty"));
    }
    Ok(r)
}

unsafe fn open_ref(
    rt: *const super::runtime::grt_runtime,
    reference: *const c_char,
    reference_len: usize,
    opts: *const grt_image_options,
    out: *mut *const grt_gadget,
    init: bool,
) -> *mut grt_error {
    ffi_try(|| {
        let rt = runtime_ref(rt)?;
        if out.is_null() {
            return Err(null_err("out"));
        }
        let r = unsafe { reference_arg(reference, reference_len)? };
        let o = unsafe { options(opts)? };
        let src = GadgetSource::from_reference(r, o.store.as_deref(), o.pull, &o.registry)?;
        let g = if init { Gadget::load(rt, src)? } else { Gadget::open(rt, src)? };
        unsafe { super::gadget::publish(out, g) };
        Ok(())
    })
}

/// Opens a gadget by image reference without running guest code, as `ig run REF` finds it:
/// `reference` is normalised like IG (`trace_open` →
/// `ghcr.io/inspektor-gadget/gadget/trace_open:latest`, no tag → `:latest`), looked up in the
/// local image store and pulled from its registry according to `opts->pull_policy`; then,
/// unless `opts->disable_verify`, its cosign signature is verified with `opts->public_keys`
/// (default: Inspektor Gadget's key) — `GRT_ERR_SIGNATURE` when it is missing ("no signature
/// found for ...") or wrong ("signature verification failed for ..."). Other errors:
/// `GRT_ERR_NOT_FOUND` (unknown image, or not in the store with `GRT_PULL_NEVER`),
/// `GRT_ERR_IMAGE` (registry unreachable, digest mismatch, malformed image), `GRT_ERR_IO`.
///
/// - `opts`: borrowed; NULL = all defaults.
/// - `out`: receives a new reference on success; free with `grt_gadget_free`.
///
/// Blocks for the network transfer. Thread-safe (the store is locked while written).
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_open_ref(
    rt: *const super::runtime::grt_runtime,
    reference: *const c_char,
    reference_len: usize,
    opts: *const grt_image_options,
    out: *mut *const grt_gadget,
) -> *mut grt_error {
    unsafe { open_ref(rt, reference, reference_len, opts, out, false) }
}

/// `grt_gadget_open_ref` followed by `grt_gadget_init` (instantiation and `gadgetInit`).
#[no_mangle]
pub unsafe extern "C" fn grt_gadget_load_ref(
    rt: *const super::runtime::grt_runtime,
    reference: *const c_char,
    reference_len: usize,
    opts: *const grt_image_options,
    out: *mut *const grt_gadget,
) -> *mut grt_error {
    unsafe { open_ref(rt, reference, reference_len, opts, out, true) }
}

/// Pulls image `reference` (normalised like IG) from its registry into the store (always,
/// whatever `opts->pull_policy` says), with its signature when the registry has one; then
/// verifies the signature unless `opts->disable_verify` (`GRT_ERR_SIGNATURE` as for
/// `grt_gadget_open_ref`; the pulled image stays in the store but does not load with
/// verification on).
///
/// - `opts`: borrowed; NULL = all defaults.
/// - `digest_buf`, `digest_cap`, `digest_len`: receive the image's digest (`sha256:<hex>`,
///   71 bytes, not NUL-terminated); all three may be NULL/0 when not wanted.
///   `GRT_ERR_INSUFFICIENT_SIZE` (after the pull) when `digest_cap` is too small.
///
/// Blocks for the network transfer. Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn grt_image_pull(
    opts: *const grt_image_options,
    reference: *const c_char,
    reference_len: usize,
    digest_buf: *mut c_char,
    digest_cap: usize,
    digest_len: *mut usize,
) -> *mut grt_error {
    ffi_try(|| {
        let r = unsafe { reference_arg(reference, reference_len)? };
        let o = unsafe { options(opts)? };
        let store = o.store()?;
        let img = crate::image::pull_verified(&store, r, &o.registry).map_err(image_error)?;
        if digest_buf.is_null() && digest_cap == 0 && digest_len.is_null() {
            return Ok(());
        }
        unsafe { write_out(img.digest.as_bytes(), digest_buf as *mut u8, digest_cap, digest_len) }
    })
}

/// Removes image `reference` (normalised like IG) from the store; blobs no other image uses
/// are deleted. `GRT_ERR_NOT_FOUND` when it is not there. `opts`: borrowed, NULL = defaults
/// (only `store_dir` is used). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn grt_image_remove(
    opts: *const grt_image_options,
    reference: *const c_char,
    reference_len: usize,
) -> *mut grt_error {
    ffi_try(|| {
        let r = unsafe { reference_arg(reference, reference_len)? };
        let o = unsafe { options(opts)? };
        let store = o.store()?;
        if store.find(r).map_err(image_error)?.is_none() {
            return Err(Error::new(
                ErrorCode::NotFound,
                format!("image {} is not in the local store {}", crate::image::normalize_reference(r), store.root().display()),
            ));
        }
        store.remove(r).map_err(image_error)
    })
}

/// The images in the store as a JSON array of
/// `{"reference": "<registry/repo:tag>", "digest": "sha256:<hex>", "created": "<RFC 3339>"|null}`
/// (UTF-8, not NUL-terminated), written to `buf` (`cap` bytes); `out_len` (may be NULL)
/// receives the needed length, `GRT_ERR_INSUFFICIENT_SIZE` when `cap` is too small (`buf`
/// may be NULL with `cap` 0 to ask for the size). `opts`: borrowed, NULL = defaults (only
/// `store_dir` is used). Thread-safe.
#[no_mangle]
pub unsafe extern "C" fn grt_image_list_json(
    opts: *const grt_image_options,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> *mut grt_error {
    ffi_try(|| {
        let o = unsafe { options(opts)? };
        let store = o.store()?;
        let list: Vec<serde_json::Value> = store
            .list()
            .map_err(image_error)?
            .into_iter()
            .map(|i| serde_json::json!({"reference": i.reference, "digest": i.digest, "created": i.created}))
            .collect();
        let json = serde_json::to_vec(&list).map_err(|e| Error::new(ErrorCode::Internal, e.to_string()))?;
        unsafe { write_out(&json, buf as *mut u8, cap, out_len) }
    })
}
