//! The fields IG's `LocalManager` adds (through `compat.WrapAccessors`) to every data source
//! with a mount- or network-namespace field: `k8s.*` and `runtime.*` (operators spec §1.3).
//!
//! gadgetrt has no container collection (like `ig` on this machine kind), so the fields keep
//! their zero values (`""`, `false`, `0`) and no subscription is made; they exist so that the
//! output has IG's keys and columns (`"k8s":{…}`, `"runtime":{…}`, the `RUNTIME.CONTAINERNAME`
//! column first in the default column set).

use std::collections::BTreeMap;

use crate::datasource::{kind, NewField, SchemaError};

use super::SchemaEdit;

/// Whether IG's LocalManager wraps this data source: it has a `type:gadget_mntns_id` or
/// `type:gadget_netns_id` field.
pub fn applies(ed: &SchemaEdit) -> bool {
    ed.schema.fields.iter().any(|f| f.tags.iter().any(|t| t == "type:gadget_mntns_id" || t == "type:gadget_netns_id"))
}

fn ann(kv: &[(&str, &str)]) -> Option<BTreeMap<String, String>> {
    Some(super::annotations(kv))
}

/// Adds `k8s` and `runtime` with their sub-fields, in IG's order, with IG's orders,
/// annotations and visibility. Returns false when the data source is not wrapped.
pub fn instantiate(ed: &mut SchemaEdit) -> Result<bool, SchemaError> {
    if !applies(ed) {
        return Ok(false);
    }
    let hidden = ("columns.hidden", "true");
    // (name, kind, order, annotations (None: the defaults), hidden)
    type Sub = (&'static str, u32, Option<i32>, Option<BTreeMap<String, String>>, bool);
    let k8s: Vec<Sub> = vec![
        ("node", kind::STRING, Some(-31), ann(&[("template", "node"), hidden]), true),
        ("namespace", kind::STRING, Some(-30), ann(&[("columns.width", "30"), hidden]), true),
        ("podName", kind::STRING, Some(-29), ann(&[("template", "pod"), hidden]), true),
        ("containerName", kind::STRING, Some(-28), ann(&[("columns.width", "30"), hidden]), true),
        ("hostnetwork", kind::BOOL, Some(-27), None, true),
        ("podLabels", kind::STRING, Some(-26), None, true),
    ];
    let runtime: Vec<Sub> = vec![
        ("containerName", kind::STRING, Some(-27), ann(&[("template", "container")]), false),
        ("runtimeName", kind::STRING, Some(-26), ann(&[("columns.width", "19"), ("columns.fixed", "true"), hidden]), true),
        ("containerId", kind::STRING, Some(-25), ann(&[("columns.width", "13"), ("columns.maxwidth", "64"), hidden]), true),
        ("containerPid", kind::UINT32, Some(-24), ann(&[("template", "containerPid"), hidden]), true),
        ("containerImageName", kind::STRING, Some(-23), ann(&[("template", "containerImageName"), hidden]), true),
        ("containerImageDigest", kind::STRING, Some(-22), ann(&[("template", "containerImageDigest"), hidden]), true),
        ("containerStartedAt", kind::INT64, Some(-21), ann(&[("template", "containerStartedAt"), hidden]), true),
    ];
    let container = |ed: &mut SchemaEdit, name: &str, parent: Option<usize>, hide: bool| {
        ed.add(NewField { name: name.into(), parent, empty: true, hidden: hide, ..Default::default() })
    };
    let add = |ed: &mut SchemaEdit, parent: usize, subs: Vec<Sub>| -> Result<(), SchemaError> {
        for (name, k, order, annotations, hide) in subs {
            ed.add(NewField { name: name.into(), kind: k, parent: Some(parent), order, annotations, hidden: hide, ..Default::default() })?;
        }
        Ok(())
    };
    let k = container(ed, "k8s", None, false)?;
    add(ed, k, k8s)?;
    let owner = container(ed, "owner", Some(k), true)?;
    add(ed, owner, vec![("kind", kind::STRING, None, None, true), ("name", kind::STRING, None, None, true)])?;
    let r = container(ed, "runtime", None, false)?;
    add(ed, r, runtime)?;
    Ok(true)
}
