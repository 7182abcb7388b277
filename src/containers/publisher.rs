//! IG's `containers` data source (`common.ContainersPublisher`), enabled by gadget.yaml
//! `annotations.enable-containers-datasource: true` (traceloop): one `CREATED` event per
//! container running at start, then `CREATED` and `DELETED` as containers start and stop.
//!
//! `cgroup_id` is the container's cgroup-v2 id and `container_config` its OCI `config.json`
//! (read from the runtime shim's bundle directory; "" for embedder containers unless given).

use super::Container;
use crate::datasource::{kind, set_bytes, set_scalar, PacketData, Schema, TYPE_SINGLE};

pub const DS: &str = "containers";
pub const CREATED: &str = "CREATED";
pub const DELETED: &str = "DELETED";

/// Whether gadget.yaml enables the data source (a YAML bool or the string `true`).
pub fn enabled(meta: &serde_yaml::Value) -> bool {
    match meta.get("annotations").and_then(|a| a.get("enable-containers-datasource")) {
        Some(serde_yaml::Value::Bool(b)) => *b,
        Some(v) => crate::host::yaml_scalar(v).is_some_and(|s| s.eq_ignore_ascii_case("true")),
        None => false,
    }
}

/// The data source's schema, with IG's fields in IG's order.
pub fn schema() -> Schema {
    let mut s = Schema::new(DS, TYPE_SINGLE);
    s.annotations.insert("cli.default-output-mode".into(), "none".into());
    for (name, k) in [
        ("event_type", kind::STRING),
        ("container_id", kind::STRING),
        ("cgroup_id", kind::UINT64),
        ("mntns_id", kind::UINT64),
        ("name", kind::STRING),
        ("container_config", kind::STRING),
    ] {
        let _ = s.add_field(name, k);
    }
    s
}

/// One event of type `ty` for `c`.
pub fn packet(schema: &Schema, ty: &str, c: &Container) -> PacketData {
    let mut rec = schema.new_record();
    let loc = |n: &str| schema.field_index(n).map(|i| schema.fields[i].loc);
    if let Some(l) = loc("event_type") {
        let _ = set_bytes(&mut rec, l, ty.as_bytes());
    }
    if let Some(l) = loc("container_id") {
        let _ = set_bytes(&mut rec, l, c.id.as_bytes());
    }
    if let Some(l) = loc("cgroup_id") {
        let _ = set_scalar(&mut rec, l, kind::UINT64, c.cgroup_id);
    }
    if let Some(l) = loc("container_config") {
        let _ = set_bytes(&mut rec, l, c.oci_config.as_bytes());
    }
    if let Some(l) = loc("mntns_id") {
        let _ = set_scalar(&mut rec, l, kind::UINT64, c.mntns);
    }
    if let Some(l) = loc("name") {
        let _ = set_bytes(&mut rec, l, c.name.as_bytes());
    }
    PacketData::Single(rec)
}

/// IG's fake container for `--host`: PID 1 and its mount namespace, no id or name.
pub fn host_container() -> Container {
    let mut c = Container { pid: 1, ..Default::default() };
    let _ = c.fill_from_proc();
    c.netns = 0;
    c.host_network = false;
    c
}

