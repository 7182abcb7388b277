//! The container fields IG's `LocalManager` adds (through `compat.WrapAccessors`) to every
//! data source with a mount- or network-namespace id field: an empty `k8s` container
//! (hidden outside Kubernetes) and an empty `runtime` container, with IG's names, kinds,
//! orders and annotations. Without a container runtime their values stay empty, exactly as
//! `ig run --host` prints them on a machine without containers.

use std::collections::BTreeMap;

use super::SchemaEdit;
use crate::datasource::{kind, NewField};

struct Sub {
    name: &'static str,
    kind: u32,
    order: i32,
    hidden: bool,
    annotations: &'static [(&'static str, &'static str)],
}

const K8S: [Sub; 6] = [
    Sub { name: "node", kind: kind::STRING, order: -31, hidden: false, annotations: &[("template", "node")] },
    Sub { name: "namespace", kind: kind::STRING, order: -30, hidden: false, annotations: &[("template", "namespace")] },
    Sub { name: "podName", kind: kind::STRING, order: -29, hidden: false, annotations: &[("template", "pod")] },
    Sub { name: "containerName", kind: kind::STRING, order: -28, hidden: false, annotations: &[("template", "container")] },
    Sub { name: "hostnetwork", kind: kind::BOOL, order: -27, hidden: true, annotations: &[] },
    Sub { name: "podLabels", kind: kind::STRING, order: -26, hidden: true, annotations: &[] },
];

const RUNTIME: [Sub; 7] = [
    Sub { name: "containerName", kind: kind::STRING, order: -27, hidden: false, annotations: &[("template", "container")] },
    Sub {
        name: "runtimeName",
        kind: kind::STRING,
        order: -26,
        hidden: true,
        annotations: &[("columns.width", "19"), ("columns.fixed", "true")],
    },
    Sub {
        name: "containerId",
        kind: kind::STRING,
        order: -25,
        hidden: true,
        annotations: &[("columns.width", "13"), ("columns.maxwidth", "64")],
    },
    Sub { name: "containerPid", kind: kind::UINT32, order: -24, hidden: false, annotations: &[("template", "containerPid")] },
    Sub { name: "containerImageName", kind: kind::STRING, order: -23, hidden: true, annotations: &[] },
    Sub { name: "containerImageDigest", kind: kind::STRING, order: -22, hidden: true, annotations: &[] },
    Sub { name: "containerStartedAt", kind: kind::INT64, order: -21, hidden: true, annotations: &[] },
];

fn add_subs(ed: &mut SchemaEdit, parent: usize, subs: &[Sub], tags: &[&str]) -> Result<(), String> {
    for s in subs {
        let annotations: Option<BTreeMap<String, String>> =
            (!s.annotations.is_empty()).then(|| super::annotations(s.annotations));
        ed.add(NewField {
            name: s.name.into(),
            kind: s.kind,
            parent: Some(parent),
            order: Some(s.order),
            annotations,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            hidden: s.hidden,
            empty: false,
        })
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn container(ed: &mut SchemaEdit, name: &str, parent: Option<usize>) -> Result<usize, String> {
    ed.add(NewField {
        name: name.into(),
        kind: kind::INVALID,
        parent,
        order: parent.map(|_| 0),
        empty: true,
        ..Default::default()
    })
    .map_err(|e| e.to_string())
}

/// Adds the `k8s.*` and `runtime.*` fields when the data source has a mount- or
/// network-namespace id field; returns whether it did.
pub fn instantiate(ed: &mut SchemaEdit) -> Result<bool, String> {
    if ed.fields_with_tag("type:gadget_mntns_id").is_empty() && ed.fields_with_tag("type:gadget_netns_id").is_empty() {
        return Ok(false);
    }
    let k8s = container(ed, "k8s", None)?;
    add_subs(ed, k8s, &K8S, &["kubernetes"])?;
    let owner = container(ed, "owner", Some(k8s))?;
    for n in ["kind", "name"] {
        ed.add(NewField {
            name: n.into(),
            kind: kind::STRING,
            parent: Some(owner),
            order: Some(0),
            tags: vec!["kubernetes".into()],
            hidden: true,
            ..Default::default()
        })
        .map_err(|e| e.to_string())?;
    }
    // Not Kubernetes: every k8s field is hidden.
    ed.schema.set_hidden_recursive(k8s, true);
    let runtime = container(ed, "runtime", None)?;
    add_subs(ed, runtime, &RUNTIME, &[])?;
    Ok(true)
}
