//! The container fields IG's `LocalManager` adds (through `compat.WrapAccessors`) to every
//! data source with a mount- or network-namespace id field: an empty `k8s` container
//! (hidden outside Kubernetes) and an empty `runtime` container, with IG's names, kinds,
//! orders and annotations — and the enrichment that fills them (IG `EnrichEventByMntNs` /
//! `EnrichEventByNetNs`, subscribed at priority 0) from the process-wide container
//! collection ([`crate::containers`]). Events from no container keep empty values, exactly as
//! `ig run --host` prints host events.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{OpCtx, OpResult, RecordOp, SchemaEdit};
use crate::containers::{Collection, Container, Index, View};
use crate::datasource::{field_bytes, kind, set_bytes, set_scalar, FieldLoc, NewField, Record, Schema};

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
/// network-namespace id field; returns the enricher to subscribe at priority 0 if it did.
pub fn instantiate(ed: &mut SchemaEdit, view: View) -> Result<Option<Enricher>, String> {
    let mntns = ed.fields_with_tag("type:gadget_mntns_id").first().copied();
    let netns = ed.fields_with_tag("type:gadget_netns_id").first().copied();
    if mntns.is_none() && netns.is_none() {
        return Ok(None);
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
    let loc = |ed: &SchemaEdit, name: &str| -> Result<FieldLoc, String> {
        let i = ed.schema.field_index(name).ok_or_else(|| format!("field {name:?} missing after it was added"))?;
        Ok(ed.schema.fields[i].loc)
    };
    let input = |i: Option<usize>| i.map(|i| ed.schema.fields[i].loc);
    Ok(Some(Enricher {
        mntns: input(mntns),
        netns: input(netns),
        out: Outputs {
            k8s_node: loc(ed, "k8s.node")?,
            k8s_owner_kind: loc(ed, "k8s.owner.kind")?,
            k8s_owner_name: loc(ed, "k8s.owner.name")?,
            k8s_namespace: loc(ed, "k8s.namespace")?,
            k8s_pod: loc(ed, "k8s.podName")?,
            k8s_container: loc(ed, "k8s.containerName")?,
            k8s_hostnetwork: loc(ed, "k8s.hostnetwork")?,
            k8s_pod_labels: loc(ed, "k8s.podLabels")?,
            name: loc(ed, "runtime.containerName")?,
            runtime: loc(ed, "runtime.runtimeName")?,
            id: loc(ed, "runtime.containerId")?,
            pid: loc(ed, "runtime.containerPid")?,
            image: loc(ed, "runtime.containerImageName")?,
            digest: loc(ed, "runtime.containerImageDigest")?,
            started_at: loc(ed, "runtime.containerStartedAt")?,
        },
        collection: Collection::global(),
        view,
        cached: (0, Arc::new(Index::default())),
        labels: String::new(),
    }))
}

struct Outputs {
    k8s_node: FieldLoc,
    k8s_owner_kind: FieldLoc,
    k8s_owner_name: FieldLoc,
    k8s_namespace: FieldLoc,
    k8s_pod: FieldLoc,
    k8s_container: FieldLoc,
    k8s_hostnetwork: FieldLoc,
    k8s_pod_labels: FieldLoc,
    name: FieldLoc,
    runtime: FieldLoc,
    id: FieldLoc,
    pid: FieldLoc,
    image: FieldLoc,
    digest: FieldLoc,
    started_at: FieldLoc,
}

/// Fills the container fields of one data source from the first mount-namespace id field,
/// else (IG `EnrichEventByNetNs`) from the first network-namespace id field.
pub struct Enricher {
    mntns: Option<FieldLoc>,
    netns: Option<FieldLoc>,
    out: Outputs,
    collection: &'static Collection,
    /// The containers of this gadget's runtime.
    view: View,
    /// The index snapshot and its generation (refreshed when the collection changes).
    cached: (u64, Arc<Index>),
    labels: String,
}

fn read_id(rec: &Record, loc: FieldLoc) -> Option<u64> {
    match field_bytes(rec, loc)? {
        b if b.len() == 8 => Some(u64::from_ne_bytes(b.try_into().ok()?)),
        b if b.len() == 4 => Some(u32::from_ne_bytes(b.try_into().ok()?) as u64),
        _ => None,
    }
}

impl Enricher {
    fn pod_labels(&mut self, c: &Container) -> &str {
        use std::fmt::Write;
        self.labels.clear();
        for (i, (k, v)) in c.pod_labels.iter().enumerate() {
            let _ = write!(self.labels, "{}{k}={v}", if i > 0 { "," } else { "" });
        }
        &self.labels
    }

    fn set_pod(&mut self, rec: &mut Record, c: &Container) {
        let o = &self.out;
        let (ns, pod) = (o.k8s_namespace, o.k8s_pod);
        let _ = set_bytes(rec, ns, c.k8s_namespace.as_bytes());
        let _ = set_bytes(rec, pod, c.k8s_pod.as_bytes());
        let _ = set_bytes(rec, self.out.runtime, c.runtime.as_bytes());
        let labels_loc = self.out.k8s_pod_labels;
        let labels = self.pod_labels(c).to_string();
        let _ = set_bytes(rec, labels_loc, labels.as_bytes());
    }

    fn set_all(&mut self, rec: &mut Record, c: &Container) {
        self.set_pod(rec, c);
        let o = &self.out;
        let _ = set_bytes(rec, o.k8s_container, c.k8s_container.as_bytes());
        let _ = set_bytes(rec, o.k8s_node, c.k8s_node.as_bytes());
        let _ = set_bytes(rec, o.k8s_owner_kind, c.k8s_owner_kind.as_bytes());
        let _ = set_bytes(rec, o.k8s_owner_name, c.k8s_owner_name.as_bytes());
        let _ = set_scalar(rec, o.k8s_hostnetwork, kind::BOOL, c.host_network as u64);
        let _ = set_bytes(rec, o.name, c.name.as_bytes());
        let _ = set_bytes(rec, o.id, c.id.as_bytes());
        let _ = set_scalar(rec, o.pid, kind::UINT32, c.pid as u64);
        let _ = set_bytes(rec, o.image, c.image_name.as_bytes());
        let _ = set_bytes(rec, o.digest, c.image_digest.as_bytes());
        let _ = set_scalar(rec, o.started_at, kind::INT64, c.started_at as u64);
    }
}

impl RecordOp for Enricher {
    fn apply(&mut self, _cx: &OpCtx, _schema: &Schema, rec: &mut Record) -> OpResult {
        let g = self.collection.generation();
        if self.cached.0 != g {
            self.cached = (g, self.collection.index());
        }
        if self.cached.1.is_empty() {
            return Ok(());
        }
        let ix = self.cached.1.clone();
        let view = self.view;
        if let Some(c) = self.mntns.and_then(|l| read_id(rec, l)).filter(|&id| id != 0).and_then(|id| ix.by_mntns(id, &view)) {
            self.set_all(rec, c);
            return Ok(());
        }
        let Some(id) = self.netns.and_then(|l| read_id(rec, l)).filter(|&id| id != 0) else { return Ok(()) };
        let found = ix.by_netns(id, &view);
        match found.as_slice() {
            [] => {}
            [first, ..] if first.host_network => {}
            [one] => self.set_all(rec, one),
            [first, rest @ ..] => {
                let first: &Container = first;
                // Several containers: only the pod-level fields, and only if they all belong
                // to one Kubernetes pod.
                let pod = |c: &Container| (c.k8s_namespace.clone(), c.k8s_pod.clone());
                if !first.k8s_pod.is_empty() && rest.iter().all(|c| pod(c) == pod(first)) {
                    self.set_pod(rec, first);
                }
            }
        }
        Ok(())
    }
}
