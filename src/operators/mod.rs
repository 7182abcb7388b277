//! IG's built-in operators: the work `ig run` does between a gadget's eBPF/wasm layers and its
//! output (formatters, uid/gid names, stacks, filter, sort, limiter, operator-only data
//! sources), reproduced at IG's priorities so that wasm programs and embedders see the same
//! fields and values as under `ig` (`../shared/spec/operators.md`).
//!
//! An operator is instantiated after the wasm program's `gadgetInit` (it adds its fields then)
//! and subscribes to data sources when the gadget starts, either before the wasm program's
//! `gadgetPreStart` (the eBPF layer's enum and kernel-stack formatters) or after it (all the
//! others). Subscriptions are ordered by priority, then by insertion, exactly like IG's.

pub mod bpfstats;
pub mod cgroup;
pub mod collector;
pub mod containers;
pub mod filter;
pub mod filter_expr;
pub mod formatters;
pub mod histogram;
pub mod limiter;
pub mod metrics;
pub mod process;
pub mod sort;
pub mod stacks;
pub mod ticker;
pub mod uidgid;
pub mod ustack;
pub mod values;

use std::collections::BTreeMap;

use crate::datasource::{NewField, PacketData, Record, Schema, SchemaError};
use crate::events::{LogLevel, Logger};

/// What an operator callback may log through.
pub struct OpCtx<'a> {
    pub logger: &'a Logger,
    pub gadget: &'a str,
}

impl OpCtx<'_> {
    pub fn warn(&self, msg: &str) {
        self.logger.log(LogLevel::Warn, self.gadget, msg);
    }
    pub fn debug_enabled(&self) -> bool {
        self.logger.enabled(LogLevel::Debug)
    }
}

/// Why an operator stops a packet (or, in an array, an element).
#[derive(Debug)]
pub enum OpError {
    /// Dropped silently (IG `ErrDiscard`, e.g. a filter miss).
    Discard,
    /// Dropped with a warning (IG logs `error processing event: …`).
    Fail(String),
}

pub type OpResult = Result<(), OpError>;

/// An operation on one record (IG's per-element `Subscribe`).
pub trait RecordOp: Send {
    fn apply(&mut self, cx: &OpCtx, schema: &Schema, rec: &mut Record) -> OpResult;
}

/// An operation on a whole packet (IG's `SubscribeArray` / `SubscribePacket`).
pub trait PacketOp: Send {
    fn apply(&mut self, cx: &OpCtx, schema: &Schema, data: &mut PacketData) -> OpResult;
}

/// One operator subscription's callback.
pub enum Op {
    Record(Box<dyn RecordOp>),
    Packet(Box<dyn PacketOp>),
}

impl Op {
    /// Runs the operation; `false` means the packet is dropped. Elements of an array for
    /// which a record operation fails are removed from the array.
    pub fn run(&mut self, cx: &OpCtx, schema: &Schema, data: &mut PacketData) -> bool {
        match self {
            Op::Record(o) => match data {
                PacketData::Single(r) => keep(cx, o.apply(cx, schema, r)),
                PacketData::Array(v) => {
                    v.retain_mut(|r| keep(cx, o.apply(cx, schema, r)));
                    true
                }
            },
            Op::Packet(o) => keep(cx, o.apply(cx, schema, data)),
        }
    }
}

fn keep(cx: &OpCtx, r: OpResult) -> bool {
    match r {
        Ok(()) => true,
        Err(OpError::Discard) => false,
        Err(OpError::Fail(m)) => {
            cx.warn(&format!("error processing event: {m}"));
            false
        }
    }
}

/// When a planned subscription is added to its data source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// PreStart of the eBPF layer: before the wasm program's `gadgetPreStart`.
    EbpfPreStart,
    /// PreStart of the data operators: after `gadgetPreStart`.
    PreStart,
}

/// A subscription an operator makes when the gadget starts.
pub struct Planned {
    pub ds: String,
    pub priority: i32,
    pub stage: Stage,
    pub op: usize,
}

/// The operators of one gadget: their callbacks and the subscriptions still to be made.
#[derive(Default)]
pub struct Operators {
    pub ops: Vec<Op>,
    pub planned: Vec<Planned>,
    /// Data sources whose histograms are printed on a timer (`otel-metrics`).
    pub printers: Vec<metrics::Printer>,
    /// Some data source carries LocalManager's container fields (enriched while running).
    pub containers: bool,
    /// The gadget asked for the `containers` data source (gadget.yaml
    /// `annotations.enable-containers-datasource`).
    pub containers_ds: bool,
}

impl Operators {
    /// Registers `op` to subscribe to `ds` at `priority` when `stage` runs.
    pub fn plan(&mut self, ds: &str, priority: i32, stage: Stage, op: Op) {
        self.ops.push(op);
        self.planned.push(Planned { ds: ds.to_string(), priority, stage, op: self.ops.len() - 1 });
    }

    /// Takes the subscriptions of `stage`, in the order they were planned.
    pub fn take_stage(&mut self, stage: Stage) -> Vec<Planned> {
        let (now, later) = std::mem::take(&mut self.planned).into_iter().partition(|p| p.stage == stage);
        self.planned = later;
        now
    }
}

/// Adds fields to one data source the way IG's `AddField` does: template annotations are
/// expanded, then gadget.yaml `datasources.<ds>.fields.<name>` configuration applies, then
/// `columns.hidden: "true"` hides the field.
pub struct SchemaEdit<'a> {
    pub schema: &'a mut Schema,
    /// gadget.yaml `datasources.<ds>` section, if any.
    pub config: Option<&'a serde_yaml::Value>,
}

impl SchemaEdit<'_> {
    pub fn add(&mut self, nf: NewField) -> Result<usize, SchemaError> {
        let i = self.schema.add_field_with(nf)?;
        self.configure(i);
        Ok(i)
    }

    /// Applies templates and configuration to field `i` (IG `applyFieldConfig`).
    pub fn configure(&mut self, i: usize) {
        let f = &mut self.schema.fields[i];
        if let Some(t) = f.annotations.get("template").cloned() {
            crate::image::metadata::apply_annotations_template(&t, &mut f.annotations);
        }
        if let Some(fc) = self.config.and_then(|c| c.get("fields")).and_then(|fs| fs.get(f.name.as_str())) {
            if let Some(tags) = fc.get("tags").and_then(|t| t.as_sequence()) {
                f.tags.extend(tags.iter().filter_map(crate::host::yaml_scalar));
            }
            if let Some(a) = fc.get("annotations").and_then(|a| a.as_mapping()) {
                let mut ann = BTreeMap::new();
                for (k, v) in a {
                    if let (Some(k), Some(v)) = (k.as_str(), crate::host::yaml_scalar(v)) {
                        ann.insert(k.to_ascii_lowercase(), v);
                    }
                }
                if let Some(t) = ann.get("template") {
                    crate::image::metadata::apply_annotations_template(t, &mut f.annotations);
                }
                f.annotations.extend(ann);
            }
        }
        if f.annotation_true("columns.hidden") {
            f.hidden = true;
        }
    }

    /// IG `GetTargetNameFromAnnotation`: the `target` annotation's value, else the name
    /// without its `_raw` suffix.
    pub fn target_name(&self, input: usize, target_annotation: &str) -> Option<String> {
        let f = &self.schema.fields[input];
        if let Some(t) = f.annotations.get(target_annotation) {
            return Some(t.clone());
        }
        f.short_name().strip_suffix("_raw").map(str::to_string)
    }

    /// IG `SetFieldVisibility`: hides the input and its sub-fields, then sets the input's own
    /// visibility from its `columns.hidden` annotation, or `hidden_by_default`.
    pub fn set_visibility(&mut self, input: usize, hidden_by_default: bool) {
        self.schema.set_hidden_recursive(input, true);
        let f = &mut self.schema.fields[input];
        f.hidden = match f.annotations.get("columns.hidden") {
            Some(v) => v == "true",
            None => hidden_by_default,
        };
    }

    /// Indexes of the referenced fields carrying `tag`, in index order.
    pub fn fields_with_tag(&self, tag: &str) -> Vec<usize> {
        (0..self.schema.fields.len())
            .filter(|&i| !self.schema.fields[i].unreferenced && self.schema.fields[i].tags.iter().any(|t| t == tag))
            .collect()
    }
}

/// `NewField` for an output String field next to `input` (IG `WithSameParentAs`, and
/// `WithSameOrderAs` when `same_order`), with annotations replaced when given.
pub fn sibling_string(
    schema: &Schema,
    input: usize,
    name: &str,
    same_order: bool,
    annotations: Option<BTreeMap<String, String>>,
) -> NewField {
    let f = &schema.fields[input];
    NewField {
        name: name.to_string(),
        kind: crate::datasource::kind::STRING,
        parent: f.parent,
        order: if same_order && f.order != 0 { Some(f.order) } else { None },
        annotations,
        ..Default::default()
    }
}

/// A string→string map from `(key, value)` pairs.
pub fn annotations(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// Instantiates the data operators that act on every data source (IG's `formatters`,
/// `UidGidResolver` and `ustack`), after the wasm program's `gadgetInit`: adds their fields and plans
/// their subscriptions. Fails like IG when a uid/gid name field cannot be added.
pub fn instantiate(st: &mut crate::host::HostState, maps: ustack::SharedMaps) -> Result<(), String> {
    let names: Vec<(usize, String)> = {
        let mut v: Vec<(usize, String)> =
            st.ds_by_name.iter().filter(|(_, &i)| st.dss[i].referenced).map(|(n, &i)| (i, n.clone())).collect();
        v.sort();
        v
    };
    let config = st.config.clone();
    let logger = st.logger.clone();
    let gadget = st.gadget.clone();
    let view = st.container_view;
    let mut planned: Vec<(String, i32, Op)> = Vec::new();
    // IG instantiates operator by operator: LocalManager (-1) fields, formatters for every
    // data source, then names.
    for (i, name) in &names {
        let ds_cfg = config.get("datasources").and_then(|d| d.get(name.as_str()));
        let schema = std::sync::Arc::make_mut(&mut st.dss[*i].schema);
        // IG subscribes LocalManager's enrichment at priority 0 in its PreStart, which runs
        // before the formatters' (LocalManager's operator priority is -1).
        if let Some(e) = containers::instantiate(&mut SchemaEdit { schema, config: ds_cfg }, view)
            .map_err(|e| format!("instantiating operator \"LocalManager\": {e}"))?
        {
            planned.push((name.clone(), 0, Op::Record(Box::new(e))));
            st.operators.containers = true;
        }
    }
    for (i, name) in &names {
        let ds_cfg = config.get("datasources").and_then(|d| d.get(name.as_str()));
        let schema = std::sync::Arc::make_mut(&mut st.dss[*i].schema);
        let mut ed = SchemaEdit { schema, config: ds_cfg };
        let mut debug = |m: String| logger.log(LogLevel::Debug, &gadget, &m);
        for (prio, f) in formatters::instantiate(&mut ed, &mut debug) {
            planned.push((name.clone(), prio, Op::Record(Box::new(f))));
        }
    }
    for (i, name) in &names {
        let ds_cfg = config.get("datasources").and_then(|d| d.get(name.as_str()));
        let schema = std::sync::Arc::make_mut(&mut st.dss[*i].schema);
        let mut ed = SchemaEdit { schema, config: ds_cfg };
        let (uid, gid) = uidgid::instantiate(&mut ed)?;
        if let Some(u) = uid {
            planned.push((name.clone(), 0, Op::Record(Box::new(u))));
        }
        if let Some(g) = gid {
            planned.push((name.clone(), 1, Op::Record(Box::new(g))));
        }
    }
    for (i, name) in &names {
        let ds_cfg = config.get("datasources").and_then(|d| d.get(name.as_str()));
        let schema = std::sync::Arc::make_mut(&mut st.dss[*i].schema);
        let mut ed = SchemaEdit { schema, config: ds_cfg };
        let mut warn = |m: String| logger.log(LogLevel::Warn, &gadget, &m);
        if let Some(u) = ustack::instantiate(&mut ed, maps.clone(), "auto", &mut warn)? {
            planned.push((name.clone(), 100, Op::Record(Box::new(u))));
        }
    }
    // otel-metrics (9995): printed data sources are replaced by `<ds>-rendered`.
    for (i, name) in &names {
        let Some((rendered, collect, printer)) = metrics::instantiate(&st.dss[*i].schema) else { continue };
        st.dss[*i].referenced = false;
        st.add_datasource(rendered, "operator");
        planned.push((name.clone(), 9995, Op::Record(Box::new(collect))));
        st.operators.printers.push(printer);
    }
    for (ds, prio, op) in planned {
        st.operators.plan(&ds, prio, Stage::PreStart, op);
    }
    Ok(())
}

/// Plans the operators configured by params, when the gadget starts (IG's `filter` at 9000,
/// `sort` at 9500 and `limiter` at 9600). Errors name the operator, like IG's.
pub fn configure(st: &mut crate::host::HostState, params: &BTreeMap<String, String>) -> Result<(), String> {
    let mut dss: Vec<(usize, String)> =
        st.ds_by_name.iter().filter(|(_, &i)| st.dss[i].referenced).map(|(n, &i)| (i, n.clone())).collect();
    dss.sort();
    let schemas: Vec<crate::datasource::SchemaRef> = dss.iter().map(|(i, _)| st.dss[*i].schema.clone()).collect();
    for s in &schemas {
        if let Some(f) = filter::Filter::from_params(s, params).map_err(|e| format!("instantiating operator \"filter\": {e}"))? {
            st.operators.plan(&s.name, filter::PRIORITY, Stage::PreStart, Op::Packet(Box::new(FilterOp(f))));
        }
    }
    if !schemas.iter().any(|s| s.is_array()) {
        return Ok(());
    }
    let refs: Vec<&crate::datasource::Schema> = schemas.iter().map(|s| &**s).collect();
    if let Some(sort_by) = params.get("sort").filter(|v| !v.is_empty()) {
        let sorters = sort::sorters_for(sort_by, &refs).map_err(|e| format!("instantiating operator \"sort\": {e}"))?;
        for (s, sorter) in schemas.iter().zip(sorters) {
            if let Some(sorter) = sorter.filter(|x| !x.is_empty()) {
                st.operators.plan(&s.name, sort::PRIORITY, Stage::PreStart, Op::Packet(Box::new(SortOp(sorter))));
            }
        }
    }
    let max = params.get("max-entries").map(String::as_str).unwrap_or(limiter::DEFAULT_MAX_ENTRIES);
    let limits = limiter::limits_for_schemas(max, &refs).map_err(|e| format!("instantiating operator \"limiter\": {e}"))?;
    for (s, limit) in schemas.iter().zip(limits) {
        if let Some(n) = limit {
            st.operators.plan(&s.name, limiter::PRIORITY, Stage::PreStart, Op::Packet(Box::new(LimitOp(n))));
        }
    }
    Ok(())
}

struct FilterOp(filter::Filter);

impl PacketOp for FilterOp {
    fn apply(&mut self, cx: &OpCtx, schema: &Schema, data: &mut PacketData) -> OpResult {
        let keep = self.0.apply(schema, data);
        for e in &self.0.exprs {
            for msg in e.take_errors() {
                cx.logger.log(LogLevel::Error, cx.gadget, &msg);
            }
        }
        if keep {
            Ok(())
        } else {
            Err(OpError::Discard)
        }
    }
}

struct SortOp(sort::Sorter);

impl PacketOp for SortOp {
    fn apply(&mut self, _cx: &OpCtx, schema: &Schema, data: &mut PacketData) -> OpResult {
        if let PacketData::Array(v) = data {
            self.0.sort(schema, v);
        }
        Ok(())
    }
}

struct LimitOp(usize);

impl PacketOp for LimitOp {
    fn apply(&mut self, _cx: &OpCtx, schema: &Schema, data: &mut PacketData) -> OpResult {
        if let PacketData::Array(v) = data {
            limiter::limit_recycle(schema, v, self.0);
        }
        Ok(())
    }
}
