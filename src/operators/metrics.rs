//! IG's `otel-metrics` operator (priority 9995), printing side: a data source annotated
//! `metrics.print: "true"` is unreferenced and replaced by `<ds>-rendered`, a single data
//! source with one `text` field that receives, every `otel-metrics-print-interval`, the
//! text rendering of the cumulative histograms of its `type:gadget_histogram_slot__*`
//! fields (`histogram`). Counters and gauges are not rendered (IG prints only histograms
//! in `ig run`).

use std::sync::{Arc, Mutex};

use super::histogram::HistogramMetric;
use super::{OpCtx, OpResult, RecordOp};
use crate::datasource::{field_bytes, kind, FieldLoc, Record, Schema, TYPE_SINGLE};

/// One histogram field of a printed data source.
pub struct HistField {
    pub name: String,
    pub unit: String,
    pub loc: FieldLoc,
    pub elem: u32,
    pub metric: HistogramMetric,
}

/// The metrics of one printed data source, shared by its collecting subscription and the
/// printing timer.
pub type SharedHists = Arc<Mutex<Vec<HistField>>>;

/// A printed data source: where its text goes.
pub struct Printer {
    pub rendered_ds: String,
    pub hists: SharedHists,
}

impl Printer {
    /// The text IG prints now (empty before the first data point).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for h in self.hists.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            h.metric.render(&h.name, &h.unit, &mut out);
        }
        out
    }
}

/// Records every histogram field of each record (cumulative, like IG's Prometheus reader).
pub struct Collect {
    pub hists: SharedHists,
    slots: Vec<u64>,
}

impl RecordOp for Collect {
    fn apply(&mut self, _cx: &OpCtx, _schema: &Schema, rec: &mut Record) -> OpResult {
        let mut hists = self.hists.lock().unwrap_or_else(|e| e.into_inner());
        for h in hists.iter_mut() {
            let Some(b) = field_bytes(rec, h.loc) else { continue };
            let w = kind::width(h.elem).unwrap_or(4);
            self.slots.clear();
            self.slots.extend(b.chunks_exact(w).map(|c| {
                let mut a = [0u8; 8];
                a[..w].copy_from_slice(c);
                u64::from_ne_bytes(a)
            }));
            h.metric.record(&self.slots);
        }
        Ok(())
    }
}

/// Sets up printing for one data source, if it asks for it: returns the rendered schema to
/// register, the collecting operation and the printer.
pub fn instantiate(schema: &Schema) -> Option<(Schema, Collect, Printer)> {
    if schema.annotations.get("metrics.print").map(String::as_str) != Some("true") {
        return None;
    }
    let mut hists = Vec::new();
    for f in &schema.fields {
        let is_hist = match f.annotations.get("metrics.type") {
            Some(t) => t == "histogram",
            None => f.tags.iter().any(|t| t == "type:gadget_histogram_slot__u32" || t == "type:gadget_histogram_slot__u64"),
        };
        let Some(elem) = kind::array_elem(f.kind).filter(|_| is_hist) else { continue };
        let w = kind::width(elem).unwrap_or(4);
        let slots = match f.loc {
            FieldLoc::Static { size, .. } => size / w,
            FieldLoc::Slot(_) => 0,
        };
        hists.push(HistField {
            name: f.annotations.get("metrics.name").cloned().unwrap_or_else(|| f.name.clone()),
            unit: f.annotations.get("metrics.unit").cloned().unwrap_or_default(),
            loc: f.loc,
            elem,
            metric: HistogramMetric::new(slots),
        });
    }
    let mut out = Schema::new(&format!("{}-rendered", schema.name), TYPE_SINGLE);
    for (k, v) in [
        ("cli.supported-output-modes", "histogram"),
        ("cli.default-output-mode", "histogram"),
        ("cli.clear-screen-before", "true"),
    ] {
        out.annotations.insert(k.into(), v.into());
    }
    out.annotations.extend(schema.annotations.iter().map(|(k, v)| (k.clone(), v.clone())));
    let _ = out.add_field_with(crate::datasource::NewField {
        name: "text".into(),
        kind: kind::STRING,
        annotations: Some(super::annotations(&[("content-type", "text/plain")])),
        ..Default::default()
    });
    let hists: SharedHists = Arc::new(Mutex::new(hists));
    let printer = Printer { rendered_ds: out.name.clone(), hists: hists.clone() };
    Some((out, Collect { hists, slots: Vec::new() }, printer))
}
