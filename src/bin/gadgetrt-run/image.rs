//! `gadgetrt-run image list|pull|push|sign|rm|tag|import|export`: the local image store, like
//! `ig image ...`. The store is `--store DIR`, else `$GADGETRT_IMAGE_STORE`, else
//! `/var/lib/gadgetrt/images` (root) or `$XDG_DATA_HOME/gadgetrt/images`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Command};
use gadgetrt::image::{ImageStore, RegistryOptions};

fn command() -> Command {
    let store = Arg::new("store").long("store").value_name("DIR").global(true)
        .help("Image store directory (default: $GADGETRT_IMAGE_STORE, /var/lib/gadgetrt/images for root, else $XDG_DATA_HOME/gadgetrt/images)");
    let insecure = Arg::new("insecure-registries").long("insecure-registries").value_name("strings").global(true)
        .help("Registries (host:port, comma-separated) reached over plain HTTP; loopback registries always are");
    let authfile = Arg::new("authfile").long("authfile").value_name("string").global(true)
        .help("Docker-style auth file (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json)");
    let img = |n: &'static str| Arg::new(n).required(true).value_name("IMAGE");
    Command::new("image")
        .bin_name("gadgetrt-run image")
        .about("Manage gadget images in the local store (like ig image)")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .arg(store)
        .arg(insecure)
        .arg(authfile)
        .subcommand(Command::new("list").visible_alias("ls").about("List the images in the store")
            .arg(Arg::new("no-trunc").long("no-trunc").action(ArgAction::SetTrue).help("Show full digests")))
        .subcommand(Command::new("pull").about("Pull an image from its registry into the store").arg(img("image")))
        .subcommand(Command::new("push").about("Push a stored image to its registry").arg(img("image")))
        .subcommand(Command::new("sign").about("Sign a stored image like `cosign sign --key` and push the signature (sha256-<digest>.sig) to its registry")
            .arg(Arg::new("key").long("key").required(true).value_name("FILE")
                .help("PEM EC P-256 private key (PKCS#8 or SEC1, unencrypted)"))
            .arg(Arg::new("local").long("local").action(ArgAction::SetTrue).help("Keep the signature in the store only; do not push it"))
            .arg(img("image")))
        .subcommand(Command::new("rm").visible_alias("remove").about("Remove images from the store")
            .arg(Arg::new("image").required(true).num_args(1..).value_name("IMAGE")))
        .subcommand(Command::new("tag").about("Give a stored image another reference")
            .arg(img("src")).arg(Arg::new("dst").required(true).value_name("DST_IMAGE")))
        .subcommand(Command::new("import").about("Import the images of an OCI layout tar (ig image export, gadgetrt-pack)")
            .arg(Arg::new("file").required(true).value_name("FILE")))
        .subcommand(Command::new("export").about("Export stored images to an OCI layout tar (ig image import reads it)")
            .arg(Arg::new("args").required(true).num_args(2..).value_name("IMAGE... FILE")))
}

pub fn main(args: &[OsString]) -> i32 {
    let m = match command().try_get_matches_from(std::iter::once(OsString::from("image")).chain(args.iter().cloned())) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    match run(&m) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("gadgetrt-run image: error: {}", e.replace('\n', " "));
            1
        }
    }
}

fn run(m: &ArgMatches) -> Result<(), String> {
    let store = match m.get_one::<String>("store") {
        Some(d) => ImageStore::open(PathBuf::from(d)),
        None => ImageStore::open_default(),
    }
    .map_err(|e| format!("{e:#}"))?;
    let (sub, sm) = m.subcommand().expect("subcommand_required");
    let get = |n: &str| sm.get_one::<String>(n).cloned().unwrap_or_default();
    let opts = RegistryOptions {
        insecure_registries: sm
            .get_one::<String>("insecure-registries")
            .map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
            .unwrap_or_default(),
        auth_file: sm.get_one::<String>("authfile").map(PathBuf::from),
        credentials: None,
        ..Default::default()
    };
    let e = |e: anyhow::Error| format!("{e:#}");
    match sub {
        "list" => {
            let full = sm.get_flag("no-trunc");
            let imgs = store.list().map_err(e)?;
            let rows: Vec<[String; 4]> = imgs
                .iter()
                .map(|i| {
                    let (repo, tag) = match i.reference.rsplit_once(':') {
                        Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
                        _ => (i.reference.clone(), String::new()),
                    };
                    let hex = i.digest.split_once(':').map(|x| x.1).unwrap_or(&i.digest);
                    let digest = if full { i.digest.clone() } else { hex.chars().take(12).collect() };
                    [repo, tag, digest, i.created.clone().unwrap_or_default()]
                })
                .collect();
            let head = ["REPOSITORY", "TAG", "DIGEST", "CREATED"];
            let mut w = [0usize; 4];
            for r in std::iter::once(&head.map(String::from)).chain(rows.iter()) {
                for (k, c) in r.iter().enumerate() {
                    w[k] = w[k].max(c.len());
                }
            }
            for r in std::iter::once(&head.map(String::from)).chain(rows.iter()) {
                println!("{:<a$}  {:<b$}  {:<c$}  {}", r[0], r[1], r[2], r[3], a = w[0], b = w[1], c = w[2]);
            }
        }
        "pull" => {
            let i = store.pull(&get("image"), &opts).map_err(e)?;
            println!("Pulled {}\nDigest: {}", i.reference, i.digest);
        }
        "push" => {
            let r = gadgetrt::image::RemoteRef::parse(&get("image")).map_err(e)?;
            let d = store.push(&r.normalized, &opts).map_err(e)?;
            println!("Pushed {}\nDigest: {d}", r.normalized);
        }
        "sign" => {
            let r = gadgetrt::image::RemoteRef::parse(&get("image")).map_err(e)?;
            let key = get("key");
            let pem = std::fs::read_to_string(&key).map_err(|x| format!("cannot read --key {key}: {x}"))?;
            let sig = store.sign(&r.normalized, &pem).map_err(e)?;
            if !sm.get_flag("local") {
                let img = store.find(&r.normalized).map_err(e)?.ok_or_else(|| format!("image {} is not in the store", r.normalized))?;
                gadgetrt::image::push_signature(&r.normalized, &img.digest, &pem, &opts).map_err(e)?;
            }
            println!("Signed {}\nSignature: {sig}", r.normalized);
        }
        "rm" => {
            for i in sm.get_many::<String>("image").into_iter().flatten() {
                store.remove(i).map_err(e)?;
                println!("Removed {}", gadgetrt::image::oci::normalize_reference(i));
            }
        }
        "tag" => {
            let i = store.tag(&get("src"), &get("dst")).map_err(e)?;
            println!("Tagged {} as {}", gadgetrt::image::oci::normalize_reference(&get("src")), i.reference);
        }
        "import" => {
            for r in store.import(&PathBuf::from(get("file"))).map_err(e)? {
                println!("Imported {r}");
            }
        }
        "export" => {
            let mut v: Vec<String> = sm.get_many::<String>("args").into_iter().flatten().cloned().collect();
            let file = PathBuf::from(v.pop().expect("num_args(2..)"));
            let refs: Vec<&str> = v.iter().map(String::as_str).collect();
            store.export(&refs, &file).map_err(e)?;
            println!("Exported {} image(s) to {}", refs.len(), file.display());
        }
        _ => unreachable!("unknown subcommand"),
    }
    Ok(())
}
