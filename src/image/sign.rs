//! Image signatures as IG checks them (`ig run --verify-image`, on by default).
//!
//! IG v0.55.0 (`pkg/signature/verifier/cosign`, "legacy" cosign format, the one
//! `cosign sign --key` writes and IG's own gadgets carry) looks up the tag
//! `sha256-<hex>.sig` (the image's root digest, `:` → `-`, plus `.sig`) in the
//! image's repository. That tag is an OCI manifest with exactly one layer of media
//! type `application/vnd.dev.cosign.simplesigning.v1+json`; the layer is the
//! "simple signing" payload (JSON, `critical.image.docker-manifest-digest` = the
//! image digest) and its annotation `dev.cosignproject.cosign/signature` is the
//! base64 ASN.1 (DER) ECDSA signature of the payload bytes with SHA-256. The
//! signature must verify with one of the public keys (PEM, PKIX; IG's default is
//! its own key, [`IG_PUBLIC_KEY`]); only then is the payload read and its digest
//! compared with the image's. gadgetrt supports ECDSA P-256 keys (what
//! `cosign generate-key-pair` makes and what IG uses); IG's other formats (OCI 1.1
//! referrers, sigstore bundles, notation) are not implemented.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use serde::{Deserialize, Serialize};

use super::oci::{parse_digest, sha256_digest, Descriptor, ImageManifest};

/// Inspektor Gadget's public key, the default `--public-keys` of `ig run`: copied from IG
/// v0.55.0 `pkg/resources/inspektor-gadget.pub` (public data that IG embeds).
pub const IG_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEoDOC0gYSxZTopenGmX3ZFvQ1DSfh
Ir4EKRt5jC+mXaJ7c7J+oREskYMn/SfZdRHNSOjLTZUMDm60zpXGhkFecg==
-----END PUBLIC KEY-----
";

/// Media type of the cosign payload layer.
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Annotation of the payload layer holding the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Config media type cosign uses for signature manifests.
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// Whether and with which keys images loaded by reference are verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Verify signatures (ig's `--verify-image`, default true).
    pub verify: bool,
    /// PEM public keys (ig's `--public-keys`); default: [`IG_PUBLIC_KEY`]. A signature
    /// made with any of them is accepted.
    pub public_keys: Vec<String>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions { verify: true, public_keys: vec![IG_PUBLIC_KEY.to_string()] }
    }
}

impl VerifyOptions {
    /// No verification (ig's `--verify-image=false`).
    pub fn disabled() -> Self {
        VerifyOptions { verify: false, public_keys: Vec::new() }
    }
}

/// A signature problem: missing, malformed, or not matching the keys or the image.
/// Found in the error chain by `e.chain().any(|c| c.is::<SignatureError>())`.
#[derive(Debug)]
pub struct SignatureError {
    /// True when there is no signature at all (as opposed to a wrong one).
    pub missing: bool,
    pub message: String,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SignatureError {}

pub(crate) fn missing(reference: &str) -> anyhow::Error {
    anyhow!(SignatureError {
        missing: true,
        message: format!("no signature found for {reference} (pass --verify-image=false / disable verification to run unsigned images)"),
    })
}

fn failed(reference: &str, why: String) -> anyhow::Error {
    anyhow!(SignatureError { missing: false, message: format!("signature verification failed for {reference}: {why}") })
}

/// Whether `e` is (or wraps) a [`SignatureError`].
pub fn is_signature_error(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.is::<SignatureError>())
}

/// The cosign tag of the signature of `digest`: `sha256-<hex>.sig`.
pub fn signature_tag(digest: &str) -> Result<String> {
    let (alg, hex) = parse_digest(digest)?;
    Ok(format!("{alg}-{hex}.sig"))
}

#[derive(Serialize, Deserialize)]
struct SimpleSigning {
    critical: Critical,
    optional: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Serialize, Deserialize)]
struct Critical {
    identity: Identity,
    image: ImageId,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize, Deserialize)]
struct Identity {
    #[serde(rename = "docker-reference")]
    docker_reference: String,
}

#[derive(Serialize, Deserialize)]
struct ImageId {
    #[serde(rename = "docker-manifest-digest")]
    docker_manifest_digest: String,
}

/// The simple-signing payload cosign signs for `repository` (`registry/repo`, no tag)
/// at `digest`.
pub fn simple_signing_payload(repository: &str, digest: &str) -> Vec<u8> {
    let p = SimpleSigning {
        critical: Critical {
            identity: Identity { docker_reference: repository.to_string() },
            image: ImageId { docker_manifest_digest: digest.to_string() },
            kind: "cosign container image signature".into(),
        },
        optional: None,
    };
    serde_json::to_vec(&p).expect("payload serialises")
}

fn signing_key(pem: &str) -> Result<SigningKey> {
    let pem = pem.trim();
    if pem.contains("ENCRYPTED") {
        bail!("encrypted private keys (cosign's own key files) are not supported; give an unencrypted PKCS#8 or SEC1 EC P-256 PEM key (e.g. `openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt`)");
    }
    if let Ok(k) = SigningKey::from_pkcs8_pem(pem) {
        return Ok(k);
    }
    let sk = p256::SecretKey::from_sec1_pem(pem)
        .map_err(|_| anyhow!("not an EC P-256 private key in PEM (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`)"))?;
    Ok(SigningKey::from(sk))
}

fn verifying_key(pem: &str) -> Result<VerifyingKey> {
    VerifyingKey::from_public_key_pem(pem.trim())
        .map_err(|e| anyhow!("not an ECDSA P-256 public key in PEM (PKIX `PUBLIC KEY`): {e}"))
}

/// Check that every key of `keys` parses (so bad keys fail before anything is pulled).
pub fn check_public_keys(keys: &[String]) -> Result<()> {
    if keys.is_empty() {
        bail!("signature verification is on but no public key is given");
    }
    for (i, k) in keys.iter().enumerate() {
        verifying_key(k).with_context(|| format!("public key #{}", i + 1))?;
    }
    Ok(())
}

/// Split text holding one or more PEM public keys (concatenated) into one string per key.
pub fn split_pem_keys(text: &str) -> Vec<String> {
    const END: &str = "-----END PUBLIC KEY-----";
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(END) {
        let k = rest[..i + END.len()].trim();
        if !k.is_empty() {
            out.push(format!("{k}\n"));
        }
        rest = &rest[i + END.len()..];
    }
    if !rest.trim().is_empty() {
        out.push(rest.trim().to_string());
    }
    out
}

/// The PEM public key of a PEM private key.
pub fn public_key_pem(private_pem: &str) -> Result<String> {
    use p256::pkcs8::EncodePublicKey as _;
    let k = signing_key(private_pem)?;
    k.verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .map_err(|e| anyhow!("cannot encode the public key: {e}"))
}

/// A cosign signature manifest for the image `digest` of `repository`
/// (`registry/repo`): the blobs, children first, the manifest last. Push it under
/// [`signature_tag`]`(digest)` in the same repository.
pub fn signature_graph(repository: &str, digest: &str, private_pem: &str) -> Result<Vec<(Descriptor, Vec<u8>)>> {
    parse_digest(digest)?;
    let key = signing_key(private_pem)?;
    let payload = simple_signing_payload(repository, digest);
    let sig: Signature = key.sign(&payload);
    let sig_b64 = base64::engine::general_purpose::STANDARD.encode(sig.to_der().as_bytes());
    let layer = Descriptor {
        media_type: SIMPLE_SIGNING_MEDIA_TYPE.into(),
        digest: sha256_digest(&payload),
        size: payload.len() as u64,
        annotations: Some(BTreeMap::from([(SIGNATURE_ANNOTATION.to_string(), sig_b64)])),
        data: None,
        platform: None,
        artifact_type: None,
    };
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "", "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}], "os": "",
        "rootfs": {"type": "layers", "diff_ids": [layer.digest]}, "config": {}
    }))?;
    let config_d = Descriptor {
        media_type: OCI_CONFIG.into(),
        digest: sha256_digest(&config),
        size: config.len() as u64,
        annotations: None,
        data: None,
        platform: None,
        artifact_type: None,
    };
    let manifest = ImageManifest {
        schema_version: 2,
        media_type: Some(super::media_types::OCI_MANIFEST.into()),
        artifact_type: None,
        config: config_d.clone(),
        layers: vec![layer.clone()],
        annotations: None,
    };
    let mb = serde_json::to_vec(&manifest)?;
    let md = Descriptor {
        media_type: super::media_types::OCI_MANIFEST.into(),
        digest: sha256_digest(&mb),
        size: mb.len() as u64,
        annotations: None,
        data: None,
        platform: None,
        artifact_type: None,
    };
    Ok(vec![(config_d, config), (layer, payload), (md, mb)])
}

/// Verify the cosign signature manifest `manifest` (bytes) of the image `digest`
/// (named `reference` in errors) against `keys`, as IG does. `read` returns a blob
/// of the signature manifest (already checked against its descriptor).
pub fn verify_signature(
    reference: &str,
    digest: &str,
    manifest: &[u8],
    read: &dyn Fn(&Descriptor) -> Result<Vec<u8>>,
    keys: &[String],
) -> Result<()> {
    let m: ImageManifest = serde_json::from_slice(manifest)
        .map_err(|e| failed(reference, format!("the signature manifest is not valid JSON: {e}")))?;
    if m.layers.len() != 1 {
        return Err(failed(reference, format!("the signature manifest has {} layers; expected 1", m.layers.len())));
    }
    let layer = &m.layers[0];
    if layer.media_type != SIMPLE_SIGNING_MEDIA_TYPE {
        return Err(failed(reference, format!("signature layer has media type {:?}; expected {SIMPLE_SIGNING_MEDIA_TYPE}", layer.media_type)));
    }
    let b64 = layer
        .annotation(SIGNATURE_ANNOTATION)
        .ok_or_else(|| failed(reference, format!("the signature layer has no {SIGNATURE_ANNOTATION} annotation")))?;
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| failed(reference, format!("the signature is not valid base64: {e}")))?;
    let payload = read(layer).map_err(|e| failed(reference, format!("cannot read the signed payload: {e:#}")))?;
    let sig = Signature::from_der(&der).map_err(|e| failed(reference, format!("the signature is not an ASN.1 ECDSA signature: {e}")))?;
    let mut errs = Vec::new();
    let mut ok = false;
    for (i, k) in keys.iter().enumerate() {
        let vk = verifying_key(k).with_context(|| format!("public key #{}", i + 1))?;
        match vk.verify(&payload, &sig) {
            Ok(()) => {
                ok = true;
                break;
            }
            Err(e) => errs.push(format!("key #{}: {e}", i + 1)),
        }
    }
    if keys.is_empty() {
        bail!("signature verification is on but no public key is given");
    }
    if !ok {
        return Err(failed(reference, format!("the image was not signed by the provided keys ({})", errs.join("; "))));
    }
    // Only read the payload once it is known to be signed (as IG does).
    let p: SimpleSigning = serde_json::from_slice(&payload)
        .map_err(|e| failed(reference, format!("the signed payload is not a simple-signing document: {e}")))?;
    if p.critical.image.docker_manifest_digest != digest {
        return Err(failed(
            reference,
            format!(
                "payload digest does not correspond to image: expected {digest}, got {}",
                p.critical.image.docker_manifest_digest
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = include_str!("../../tests/fixtures/signing/test.key");

    fn lookup(g: &[(Descriptor, Vec<u8>)]) -> impl Fn(&Descriptor) -> Result<Vec<u8>> + '_ {
        move |d: &Descriptor| {
            g.iter().find(|(x, _)| x.digest == d.digest).map(|(_, b)| b.clone()).ok_or_else(|| anyhow!("missing {}", d.digest))
        }
    }

    #[test]
    fn sign_then_verify_and_refuse_wrong_key_digest_and_tampering() {
        let digest = sha256_digest(b"image");
        let g = signature_graph("127.0.0.1:5000/a/b", &digest, KEY).unwrap();
        let pubk = public_key_pem(KEY).unwrap();
        let (_, m) = g.last().unwrap();
        verify_signature("r", &digest, m, &lookup(&g), &[pubk.clone()]).unwrap();
        // IG's key alone: refused.
        let e = verify_signature("r", &digest, m, &lookup(&g), &[IG_PUBLIC_KEY.into()]).unwrap_err();
        assert!(is_signature_error(&e) && format!("{e:#}").contains("not signed by the provided keys"), "{e:#}");
        // Any of several keys.
        verify_signature("r", &digest, m, &lookup(&g), &[IG_PUBLIC_KEY.into(), pubk.clone()]).unwrap();
        // Another image's digest.
        let e = verify_signature("r", &sha256_digest(b"other"), m, &lookup(&g), &[pubk.clone()]).unwrap_err();
        assert!(format!("{e:#}").contains("payload digest does not correspond"), "{e:#}");
        // A flipped signature byte.
        let mut mf: serde_json::Value = serde_json::from_slice(m).unwrap();
        let s = mf["layers"][0]["annotations"][SIGNATURE_ANNOTATION].as_str().unwrap().to_string();
        let mut der = base64::engine::general_purpose::STANDARD.decode(&s).unwrap();
        let n = der.len();
        der[n - 3] ^= 1;
        mf["layers"][0]["annotations"][SIGNATURE_ANNOTATION] = base64::engine::general_purpose::STANDARD.encode(&der).into();
        let e = verify_signature("r", &digest, &serde_json::to_vec(&mf).unwrap(), &lookup(&g), &[pubk]).unwrap_err();
        assert!(format!("{e:#}").contains("signature verification failed for r"), "{e:#}");
        assert_eq!(signature_tag(&digest).unwrap(), format!("sha256-{}.sig", &digest[7..]));
    }

    #[test]
    fn concatenated_pem_keys_are_split() {
        let two = format!("{IG_PUBLIC_KEY}\n{}", public_key_pem(KEY).unwrap());
        let keys = split_pem_keys(&two);
        assert_eq!(keys.len(), 2);
        check_public_keys(&keys).unwrap();
        assert_eq!(keys[0], IG_PUBLIC_KEY);
        assert!(check_public_keys(&split_pem_keys("garbage")).is_err());
        assert!(check_public_keys(&[]).is_err());
        assert!(signing_key(IG_PUBLIC_KEY).is_err(), "a public key does not sign");
    }
}
