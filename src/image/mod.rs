//! Gadget images: OCI image layouts as produced by `ig image build` +
//! `ig image export` (spec `gadget-image-and-ebpf.md`, section A).
//!
//! * [`oci`]: reading an OCI image-layout tar or directory, resolving a
//!   reference, picking the host architecture's manifest, verifying every blob
//!   (digest and size) and returning the gadget's pieces ([`GadgetImage`]).
//! * [`metadata`]: typed view of `gadget.yaml` plus the raw YAML tree
//!   ([`GadgetMetadata`]), field annotation templates.
//! * [`pack`]: writing an image in the exact layout IG exports
//!   ([`pack_tar`], [`pack_dir`]).
//! * [`registry`]: pulling from and pushing to OCI registries (`oci-client`).
//! * [`sign`]: cosign signatures as IG verifies them ([`VerifyOptions`]).
//! * [`store`]: the local image store ([`ImageStore`]).
//! * [`cache`]: on-disk cache for compiled wasm modules ([`ModuleCache`]).
//!
//! Nothing here prints: everything worth logging is returned in
//! [`GadgetImage::notes`] for the caller to log.

pub mod cache;
pub mod metadata;
pub mod oci;
pub mod pack;
pub mod registry;
pub mod sign;
pub mod store;

#[cfg(test)]
mod tests;

pub use cache::ModuleCache;
pub use metadata::{
    annotations_template, apply_annotations_template, DataSourceMeta, FieldMeta, GadgetMetadata,
    ParamDesc, Params,
};
pub use oci::{
    host_arch, list_images, load_image, load_image_for_arch, normalize_reference, Descriptor,
    GadgetImage, ImageIndex, ImageManifest, Platform,
};
pub use pack::{pack_dir, pack_tar, PackInput};
pub use registry::{RegistryOptions, RemoteRef};
pub use sign::{VerifyOptions, IG_PUBLIC_KEY};
pub use store::{default_store_root, load_from_store, pull_verified, push_graph_as, push_layout, push_signature, ImageStore, PullPolicy, StoredImage};

/// Media types used by gadget images (spec A.1) and the OCI types around them.
pub mod media_types {
    /// `artifactType` of a gadget manifest.
    pub const ARTIFACT_TYPE: &str = "application/vnd.gadget.v1+binary";
    /// Manifest config holding gadget.yaml.
    pub const CONFIG: &str = "application/vnd.gadget.config.v1+yaml";
    /// eBPF ELF object layer.
    pub const EBPF: &str = "application/vnd.gadget.ebpf.program.v1+binary";
    /// WebAssembly program layer.
    pub const WASM: &str = "application/vnd.gadget.wasm.program.v1+binary";
    /// btfgen tarball layer (ignored by gadgetrt).
    pub const BTFGEN: &str = "application/vnd.gadget.btfgen.v1+binary";
    /// OCI empty descriptor (config when there is no gadget.yaml).
    pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
    /// OCI image index.
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// Docker manifest list (accepted like an OCI index when reading).
    pub const DOCKER_MANIFEST_LIST: &str =
        "application/vnd.docker.distribution.manifest.list.v2+json";
    /// Docker manifest (accepted like an OCI manifest when reading).
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
}

/// Well-known annotation keys.
pub mod annotation_keys {
    pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
    pub const TITLE: &str = "org.opencontainers.image.title";
    pub const DESCRIPTION: &str = "org.opencontainers.image.description";
    pub const URL: &str = "org.opencontainers.image.url";
    pub const DOCUMENTATION: &str = "org.opencontainers.image.documentation";
    pub const SOURCE: &str = "org.opencontainers.image.source";
    pub const CREATED: &str = "org.opencontainers.image.created";
    pub const BUILDER_VERSION: &str = "io.inspektor-gadget.builder.version";
}

/// Size limits applied before anything is read (bounded memory).
pub mod limits {
    /// index.json, image indexes and manifests.
    pub const MAX_JSON_SIZE: u64 = 4 << 20;
    /// gadget.yaml (manifest config).
    pub const MAX_CONFIG_SIZE: u64 = 4 << 20;
    /// Any other blob (eBPF object, wasm module).
    pub const MAX_BLOB_SIZE: u64 = 256 << 20;
    /// Number of entries scanned in a tar archive.
    pub const MAX_TAR_ENTRIES: usize = 100_000;
}
