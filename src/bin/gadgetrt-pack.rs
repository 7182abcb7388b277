//! gadgetrt-pack: build a gadget image (OCI image layout) the way
//! `ig image build` + `ig image export` lay it out.

use std::path::PathBuf;
use std::process::ExitCode;

use gadgetrt::image::{pack_dir, pack_tar, PackInput};

const USAGE: &str = "\
Usage: gadgetrt-pack [OPTIONS] -o OUT

Build a gadget image as an OCI image-layout tar (as `ig image export` writes it)
or, with --dir, as an OCI image-layout directory.

Options:
  --ebpf FILE          eBPF object (used for amd64, and for arm64 unless --ebpf-arm64)
  --ebpf-arm64 FILE    eBPF object for arm64
  --wasm FILE          wasm module
  --metadata FILE      gadget.yaml
  --tag REF            image reference, e.g. trace_open or ghcr.io/org/gadget:v1
                       (normalised like ig: trace_open -> ghcr.io/inspektor-gadget/gadget/trace_open:latest);
                       without it the image is untagged
  --created RFC3339    creation time (default: now); fixes tar mtimes, making output reproducible
  -o, --output OUT     output tar file (or directory with --dir); optional with --push
  --push REF           push the image to its registry as REF (e.g. 127.0.0.1:5000/gadgets/trace_open:v1;
                       also the tag when --tag is not given). Credentials from --authfile or the docker
                       config file; loopback registries are reached over plain HTTP
  --insecure-registries LIST  registries (host:port, comma-separated) reached over plain HTTP
  --authfile FILE      docker-style auth file (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json)
  --sign-key FILE      with --push: sign the pushed image like `cosign sign --key` (PEM EC P-256
                       private key, PKCS#8 or SEC1, unencrypted) and push the signature as
                       sha256-<digest>.sig, which `gadgetrt-run --public-keys` (and ig run) verify
  --dir                write a layout directory instead of a tar
  -h, --help           show this help

At least one of --ebpf and --wasm is required.";

struct Args {
    ebpf: Option<PathBuf>,
    ebpf_arm64: Option<PathBuf>,
    wasm: Option<PathBuf>,
    metadata: Option<PathBuf>,
    tag: Option<String>,
    created: Option<String>,
    output: Option<PathBuf>,
    dir: bool,
    push: Option<String>,
    insecure: Vec<String>,
    authfile: Option<PathBuf>,
    sign_key: Option<PathBuf>,
}

enum Parsed {
    Help,
    Run(Args),
}

fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Parsed, String> {
    let mut a = Args {
        ebpf: None,
        ebpf_arm64: None,
        wasm: None,
        metadata: None,
        tag: None,
        created: None,
        output: None,
        dir: false,
        push: None,
        insecure: Vec::new(),
        authfile: None,
        sign_key: None,
    };
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone().or_else(|| it.next()) {
                Some(v) if !v.is_empty() => Ok(v),
                _ => Err(format!("{name} needs a value")),
            }
        };
        let once = |slot_set: bool, name: &str| -> Result<(), String> {
            if slot_set {
                Err(format!("{name} given more than once"))
            } else {
                Ok(())
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Parsed::Help),
            "--ebpf" => {
                once(a.ebpf.is_some(), "--ebpf")?;
                a.ebpf = Some(value("--ebpf")?.into());
            }
            "--ebpf-arm64" => {
                once(a.ebpf_arm64.is_some(), "--ebpf-arm64")?;
                a.ebpf_arm64 = Some(value("--ebpf-arm64")?.into());
            }
            "--wasm" => {
                once(a.wasm.is_some(), "--wasm")?;
                a.wasm = Some(value("--wasm")?.into());
            }
            "--metadata" => {
                once(a.metadata.is_some(), "--metadata")?;
                a.metadata = Some(value("--metadata")?.into());
            }
            "--tag" => {
                once(a.tag.is_some(), "--tag")?;
                a.tag = Some(value("--tag")?);
            }
            "--created" => {
                once(a.created.is_some(), "--created")?;
                a.created = Some(value("--created")?);
            }
            "-o" | "--output" => {
                once(a.output.is_some(), "-o")?;
                a.output = Some(value("-o")?.into());
            }
            "--push" => {
                once(a.push.is_some(), "--push")?;
                a.push = Some(value("--push")?);
            }
            "--insecure-registries" => {
                a.insecure.extend(value("--insecure-registries")?.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()));
            }
            "--sign-key" => {
                once(a.sign_key.is_some(), "--sign-key")?;
                a.sign_key = Some(value("--sign-key")?.into());
            }
            "--authfile" => {
                once(a.authfile.is_some(), "--authfile")?;
                a.authfile = Some(value("--authfile")?.into());
            }
            "--dir" => {
                if inline.is_some() {
                    return Err("--dir takes no value".into());
                }
                a.dir = true;
            }
            other => {
                return Err(format!(
                    "unexpected argument {other:?} (see --help)"
                ))
            }
        }
    }
    Ok(Parsed::Run(a))
}

fn read(path: &Option<PathBuf>, what: &str) -> Result<Option<Vec<u8>>, String> {
    match path {
        None => Ok(None),
        Some(p) => std::fs::read(p)
            .map(Some)
            .map_err(|e| format!("cannot read {what} {}: {e}", p.display())),
    }
}

fn run() -> Result<Option<String>, String> {
    let args = match parse_args(std::env::args().skip(1))? {
        Parsed::Help => return Ok(None),
        Parsed::Run(a) => a,
    };
    let tmpdir = std::env::temp_dir().join(format!("gadgetrt-pack-{}", std::process::id()));
    let out = match (&args.output, &args.push) {
        (Some(o), _) => o.clone(),
        (None, Some(_)) => {
            std::fs::create_dir_all(&tmpdir).map_err(|e| format!("cannot create {}: {e}", tmpdir.display()))?;
            tmpdir.join("image.tar")
        }
        (None, None) => return Err("missing -o OUT (see --help)".into()),
    };
    if args.sign_key.is_some() && args.push.is_none() {
        return Err("--sign-key needs --push (the signature is pushed next to the image)".into());
    }
    if args.ebpf.is_none() && args.wasm.is_none() {
        return Err("nothing to pack: give --ebpf and/or --wasm (see --help)".into());
    }
    let input = PackInput {
        ebpf: read(&args.ebpf, "eBPF object")?,
        ebpf_arm64: read(&args.ebpf_arm64, "arm64 eBPF object")?,
        wasm: read(&args.wasm, "wasm module")?,
        gadget_yaml: read(&args.metadata, "metadata file")?,
        reference: args.tag.clone().or_else(|| args.push.clone()).unwrap_or_default(),
        created: args.created.clone(),
    };
    let res = if args.dir {
        pack_dir(&input, &out)
    } else {
        pack_tar(&input, &out)
    };
    res.map_err(|e| format!("{e:#}"))?;
    let Some(dest) = &args.push else {
        return Ok(Some(format!("wrote {}", out.display())));
    };
    let opts = gadgetrt::image::RegistryOptions {
        insecure_registries: args.insecure.clone(),
        auth_file: args.authfile.clone(),
        credentials: None,
        ..Default::default()
    };
    let pushed = gadgetrt::image::push_layout(&out, None, dest, &opts).map_err(|e| format!("{e:#}"));
    if args.output.is_none() {
        let _ = std::fs::remove_dir_all(&tmpdir);
    }
    let digest = pushed?;
    let n = gadgetrt::image::oci::normalize_reference(dest);
    let signed = match &args.sign_key {
        Some(k) => {
            let pem = std::fs::read_to_string(k).map_err(|e| format!("cannot read --sign-key {}: {e}", k.display()))?;
            let sig = gadgetrt::image::push_signature(dest, &digest, &pem, &opts).map_err(|e| format!("signing {n}: {e:#}"))?;
            format!("\nsigned {n} ({sig})")
        }
        None => String::new(),
    };
    Ok(Some(match &args.output {
        Some(o) => format!("wrote {}\npushed {n} ({digest}){signed}", o.display()),
        None => format!("pushed {n} ({digest}){signed}"),
    }))
}

fn main() -> ExitCode {
    match run() {
        Ok(None) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Some(msg)) => {
            eprintln!("{msg}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gadgetrt-pack: error: {}", e.replace('\n', " "));
            ExitCode::from(1)
        }
    }
}
