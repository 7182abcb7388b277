//! rust_containers: needs what IG's traceloop and advise_seccomp need from the container
//! machinery. Like traceloop it subscribes to the `containers` data source in `gadgetInit`
//! (failing without it) and keeps a mount-namespace → name table from its `CREATED` and
//! `DELETED` events; like advise_seccomp it looks up `k8s.containerName` and
//! `runtime.containerName` on the eBPF data source `open` in `gadgetPreStart` (failing
//! without them). Each `open` event gets `guest_container` =
//! `"<name from the containers data source>|<k8s.containerName>|<runtime.containerName>"`.
//! Host contract: see ../../README.md, section "rust_containers".

use std::cell::RefCell;
use std::collections::BTreeMap;

use igapi::{errorf, infof, DataSource, FieldKind};

thread_local! {
    static BY_MNTNS: RefCell<BTreeMap<u64, String>> = const { RefCell::new(BTreeMap::new()) };
}

fn init() -> igapi::Result<()> {
    let cds = DataSource::get("containers")?;
    let ty = cds.get_field("event_type")?;
    let name = cds.get_field("name")?;
    let mntns = cds.get_field("mntns_id")?;
    cds.subscribe(0, move |_ds, d| {
        let t = ty.string(d, 16).unwrap_or_default();
        let n = name.string(d, 256).unwrap_or_default();
        let m = mntns.get_u64(d).unwrap_or(0);
        infof!("rust_containers: {t} {n} {m}");
        BY_MNTNS.with(|b| {
            let mut b = b.borrow_mut();
            match t.as_str() {
                "CREATED" => {
                    b.insert(m, n);
                }
                "DELETED" => {
                    b.remove(&m);
                }
                _ => {}
            }
        });
    })?;
    DataSource::get("open")?.add_field("guest_container", FieldKind::String)?;
    Ok(())
}

fn pre_start() -> igapi::Result<()> {
    let ds = DataSource::get("open")?;
    let k8s = ds.get_field("k8s.containerName")?;
    let rt = ds.get_field("runtime.containerName")?;
    let mntns = ds.get_field("proc.mntns_id")?;
    let out = ds.get_field("guest_container")?;
    // After LocalManager's enrichment (priority 0).
    ds.subscribe(100, move |_ds, d| {
        let m = mntns.get_u64(d).unwrap_or(0);
        let from_ds = BY_MNTNS.with(|b| b.borrow().get(&m).cloned()).unwrap_or_default();
        let k = k8s.string(d, 256).unwrap_or_default();
        let r = rt.string(d, 256).unwrap_or_default();
        let _ = out.set_string(d, &format!("{from_ds}|{k}|{r}"));
    })?;
    Ok(())
}

#[no_mangle]
#[allow(non_snake_case)]
pub extern "C" fn gadgetInit() -> i32 {
    match init() {
        Ok(()) => 0,
        Err(e) => {
            errorf!("rust_containers: gadgetInit: {e}");
            1
        }
    }
}

#[no_mangle]
#[allow(non_snake_case)]
pub extern "C" fn gadgetPreStart() -> i32 {
    match pre_start() {
        Ok(()) => 0,
        Err(e) => {
            errorf!("rust_containers: gadgetPreStart: {e}");
            1
        }
    }
}
