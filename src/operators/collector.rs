//! Timer-driven operators that produce array packets without any eBPF or wasm program: IG's
//! `process` (top_process), `cgroup` (top_cpu_throttle) and the ebpf operator's `emitstats`
//! mode (bpfstats).
//!
//! This module holds what they share:
//! - the [`Collector`] trait and its [`Schedule`];
//! - [`collectors_from_config`], which reads the gadget config (gadget.yaml after custom-param
//!   patching) the way IG's operators read their viper config;
//! - [`apply_custom_params`], IG's `params.custom.<name>.patch` mechanism;
//! - [`run_collector`], a loop with IG's timing (baseline, first interval, ticker, count);
//! - Go `time.ParseDuration` / `time.Duration.String` equivalents and viper-style value casts.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::datasource::{set_bytes, set_scalar, NewField, Record, Schema};

/// An operator that produces array packets on a timer (IG's process, cgroup and ebpf-stats
/// operators).
pub trait Collector: Send {
    /// Data source name (`processes`, `cgroups`, `bpfstats`).
    fn ds_name(&self) -> &str;

    /// Adds the fields (IG's names, kinds, tags, annotations, in IG's creation order) and the
    /// data-source annotations to an empty `TYPE_ARRAY` schema. `template` annotations are
    /// expanded here, like IG's `AddField` does; gadget.yaml `datasources.<ds>` config is NOT
    /// applied (the caller does that, as for every other data source). Formatter outputs
    /// (`memoryRSS`, `runtime`, …) are not created here: the `_raw` inputs carry the
    /// `type:gadget_bytes` / `type:gadget_duration` tags for the formatter operator.
    fn build_schema(&self, schema: &mut Schema);

    /// Called once when the gadget starts (after `build_schema`): takes the baseline that is not
    /// emitted (process, cgroup) or enables kernel stats (bpfstats). An error aborts the gadget
    /// (IG: bpfstats' `Start` fails when stats cannot be enabled).
    fn start(&mut self, schema: &Schema) -> Result<(), String>;

    /// One collection: the records of one array packet. `Err`: IG logs the error and emits
    /// nothing for this tick (the tick still counts towards `count`).
    fn collect(&mut self, schema: &Schema) -> Result<Vec<Record>, String>;

    /// Undoes what `start` did (bpf stats toggle). Idempotent.
    fn stop(&mut self);
}

/// Timing of a collector, from `operator.<name>.{interval,first-interval,count}`.
///
/// IG's loop (process, cgroup): baseline collection in `start` (not emitted); if
/// `first_interval` is set, one emission after it; then a Go ticker of `interval`, created
/// after that first emission; after `count` ticker emissions (0 = unlimited; the first-interval
/// emission does not count) the operator stops emitting but the gadget keeps running.
/// bpfstats: no baseline, no first interval, unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub interval: Duration,
    pub first_interval: Option<Duration>,
    pub count: u64,
}

/// A configured collector with its timing and IG operator priority (process -1000,
/// cgroup -900, ebpf 0: lower runs/instantiates first).
pub struct CollectorSpec {
    pub collector: Box<dyn Collector>,
    pub schedule: Schedule,
    pub priority: i32,
}

impl std::fmt::Debug for CollectorSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectorSpec")
            .field("ds", &self.collector.ds_name())
            .field("schedule", &self.schedule)
            .field("priority", &self.priority)
            .finish()
    }
}

/// Instance params of operators that collectors read, with IG's defaults:
/// `statistics-interval` (`1000ms`) and `gadgets-only` (`false`) of the ebpf operator.
/// Keys are accepted with or without the `operator.ebpf.` prefix.
pub fn param<'a>(params: &'a BTreeMap<String, String>, op: &str, key: &str) -> Option<&'a str> {
    params
        .get(key)
        .or_else(|| params.get(&format!("operator.{op}.{key}")))
        .map(|s| s.as_str())
}

/// Every collector the config enables (`operator.process.emitstats`, `operator.cgroup.emitstats`,
/// `operator.ebpf.emitstats`), sorted by IG operator priority. `cfg` is the gadget.yaml tree
/// after [`apply_custom_params`]; `params` holds operator instance params (see [`param`]).
pub fn collectors_from_config(
    cfg: &serde_yaml::Value,
    params: &BTreeMap<String, String>,
) -> Result<Vec<CollectorSpec>, String> {
    let mut out = Vec::new();
    if let Some((c, s)) = crate::operators::process::from_config(cfg)? {
        out.push(CollectorSpec {
            collector: Box::new(c),
            schedule: s,
            priority: -1000,
        });
    }
    if let Some((c, s)) = crate::operators::cgroup::from_config(cfg)? {
        out.push(CollectorSpec {
            collector: Box::new(c),
            schedule: s,
            priority: -900,
        });
    }
    if let Some((c, s)) = crate::operators::bpfstats::from_config(cfg, params)? {
        out.push(CollectorSpec {
            collector: Box::new(c),
            schedule: s,
            priority: 0,
        });
    }
    out.sort_by_key(|c| c.priority);
    Ok(out)
}

/// `(collector-less) timing config` of a periodic operator: `operator.<op>.interval` (viper
/// `GetDuration`, `<= 0` → `default_interval`), `first-interval` (`<= 0` → none), `count`
/// (viper `GetInt`, `<= 0` → unlimited).
pub fn schedule_from_config(
    cfg: &serde_yaml::Value,
    op: &str,
    default_interval: Duration,
) -> Schedule {
    let get = |k: &str| cfg_get(cfg, &format!("operator.{op}.{k}"));
    let interval = viper_duration(get("interval"));
    let interval = if interval <= 0 {
        default_interval
    } else {
        Duration::from_nanos(interval as u64)
    };
    let first = viper_duration(get("first-interval"));
    let first_interval = (first > 0).then(|| Duration::from_nanos(first as u64));
    let count = viper_int(get("count"));
    Schedule {
        interval,
        first_interval,
        count: count.max(0) as u64,
    }
}

// -------------------------------------------------------------------------------------------
// Running
// -------------------------------------------------------------------------------------------

/// Runs a collector with IG's timing until `stop` receives a message (or its sender is
/// dropped): `start`, then the schedule (see [`Schedule`]; `baseline` is done by `start`),
/// then `stop`. `emit` gets every emitted array; returning `false` ends the loop. Collection
/// errors go to `log` and emit nothing. Returns `start`'s error, if any.
pub fn run_collector(
    collector: &mut dyn Collector,
    schema: &Schema,
    schedule: Schedule,
    stop: &Receiver<()>,
    mut emit: impl FnMut(Vec<Record>) -> bool,
    mut log: impl FnMut(&str),
) -> Result<(), String> {
    collector.start(schema)?;
    let stopped = |d: Duration| !matches!(stop.recv_timeout(d), Err(RecvTimeoutError::Timeout));
    let mut tick = |c: &mut dyn Collector| -> bool {
        match c.collect(schema) {
            Ok(recs) => emit(recs),
            Err(e) => {
                log(&e);
                true
            }
        }
    };
    let mut finished = false;
    if let Some(fi) = schedule.first_interval {
        if stopped(fi) || !tick(collector) {
            finished = true;
        }
    }
    if !finished {
        // Go ticker: created now, fires at start + k*interval; late ticks are coalesced.
        let start = Instant::now();
        let mut next = start + schedule.interval;
        let mut n = 0u64;
        loop {
            let now = Instant::now();
            let wait = next.saturating_duration_since(now);
            if stopped(wait) {
                break;
            }
            if !tick(collector) {
                break;
            }
            n += 1;
            if schedule.count > 0 && n >= schedule.count {
                // IG stops emitting; the gadget keeps running until stopped.
                let _ = stop.recv();
                break;
            }
            let now = Instant::now();
            next += schedule.interval;
            if next <= now {
                // One pending tick fires right away, the others are dropped.
                let behind = (now - next).as_nanos() / schedule.interval.as_nanos().max(1);
                next += schedule.interval * behind as u32;
            }
        }
    } else {
        let _ = stop.recv();
    }
    collector.stop();
    Ok(())
}

// -------------------------------------------------------------------------------------------
// Field helpers
// -------------------------------------------------------------------------------------------

/// Adds a root field like IG's `ds.AddField(name, kind, WithAnnotations(ann), WithTags(tags))`:
/// the given annotations replace the defaults, then a `template` annotation's presets are
/// copied over them, and `columns.hidden: "true"` sets the hidden flag.
pub fn add_ig_field(
    schema: &mut Schema,
    name: &str,
    kind: u32,
    ann: &[(&str, &str)],
    tags: &[&str],
) -> usize {
    let mut a: BTreeMap<String, String> = ann
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some(t) = a.get("template").cloned() {
        crate::image::metadata::apply_annotations_template(&t, &mut a);
    }
    schema
        .add_field_with(NewField {
            name: name.to_string(),
            kind,
            annotations: Some(a),
            tags: tags.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        })
        .unwrap_or_else(|e| panic!("collector schema: {e}"))
}

/// Writes a scalar into field `idx` (bits as produced by `as u64` of the typed value).
pub fn put_scalar(schema: &Schema, rec: &mut Record, idx: usize, bits: u64) {
    let f = &schema.fields[idx];
    let _ = set_scalar(rec, f.loc, f.kind, bits);
}

pub fn put_f64(schema: &Schema, rec: &mut Record, idx: usize, v: f64) {
    put_scalar(schema, rec, idx, v.to_bits());
}

pub fn put_str(schema: &Schema, rec: &mut Record, idx: usize, s: &str) {
    let _ = set_bytes(rec, schema.fields[idx].loc, s.as_bytes());
}

/// Field index by exact name (collectors look up the fields they created).
pub fn field(schema: &Schema, name: &str) -> Option<usize> {
    schema.fields.iter().position(|f| f.name == name)
}

// -------------------------------------------------------------------------------------------
// Config access with viper semantics
// -------------------------------------------------------------------------------------------

/// Looks up a dotted key (`operator.process.interval`) in a YAML tree, case-insensitively
/// like viper.
pub fn cfg_get<'a>(cfg: &'a serde_yaml::Value, key: &str) -> Option<&'a serde_yaml::Value> {
    let mut cur = cfg;
    for part in key.split('.') {
        let m = cur.as_mapping()?;
        cur = m
            .iter()
            .find(|(k, _)| k.as_str() == Some(part))
            .or_else(|| {
                m.iter()
                    .find(|(k, _)| k.as_str().is_some_and(|s| s.eq_ignore_ascii_case(part)))
            })
            .map(|(_, v)| v)?;
    }
    Some(cur)
}

/// A scalar as a string (like `cast.ToString`); `None` for mappings, sequences and null.
pub fn yaml_scalar_string(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Tagged(t) => yaml_scalar_string(&t.value),
        _ => None,
    }
}

/// viper `GetBool` (`cast.ToBool`): bools, Go `strconv.ParseBool` strings, non-zero numbers.
pub fn viper_bool(v: Option<&serde_yaml::Value>) -> bool {
    match v {
        Some(serde_yaml::Value::Bool(b)) => *b,
        Some(serde_yaml::Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(serde_yaml::Value::String(s)) => {
            matches!(s.as_str(), "1" | "t" | "T" | "TRUE" | "true" | "True")
        }
        Some(serde_yaml::Value::Tagged(t)) => viper_bool(Some(&t.value)),
        _ => false,
    }
}

/// viper `GetDuration` (`cast.ToDuration`) in ns: numbers are nanoseconds; strings containing
/// one of `nsuµmh` go through `time.ParseDuration`, others get an `ns` suffix first; errors → 0.
pub fn viper_duration(v: Option<&serde_yaml::Value>) -> i64 {
    match v {
        Some(serde_yaml::Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|u| u as i64))
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or(0),
        Some(serde_yaml::Value::String(s)) => {
            let r = if s.contains(['n', 's', 'u', 'µ', 'm', 'h']) {
                parse_go_duration(s)
            } else {
                parse_go_duration(&format!("{s}ns"))
            };
            r.unwrap_or(0)
        }
        Some(serde_yaml::Value::Tagged(t)) => viper_duration(Some(&t.value)),
        _ => 0,
    }
}

/// viper `GetInt` (`cast.ToInt`): numbers (floats truncated), bools, and strings parsed like
/// Go `strconv.ParseInt(s, 0, 0)` after trimming a `.000` suffix; errors → 0.
pub fn viper_int(v: Option<&serde_yaml::Value>) -> i64 {
    match v {
        Some(serde_yaml::Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|u| u as i64))
            .or_else(|| n.as_f64().map(|f| f as i64))
            .unwrap_or(0),
        Some(serde_yaml::Value::Bool(b)) => *b as i64,
        Some(serde_yaml::Value::String(s)) => parse_go_int_base0(trim_zero_decimal(s)).unwrap_or(0),
        Some(serde_yaml::Value::Tagged(t)) => viper_int(Some(&t.value)),
        _ => 0,
    }
}

/// viper `GetStringSlice` (`cast.ToStringSlice`): sequences element-wise, strings split on
/// whitespace.
pub fn viper_string_slice(v: Option<&serde_yaml::Value>) -> Vec<String> {
    match v {
        Some(serde_yaml::Value::Sequence(s)) => s.iter().filter_map(yaml_scalar_string).collect(),
        Some(serde_yaml::Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        Some(serde_yaml::Value::Tagged(t)) => viper_string_slice(Some(&t.value)),
        _ => Vec::new(),
    }
}

/// cast's `trimZeroDecimal`: `"5.000"` → `"5"`.
fn trim_zero_decimal(s: &str) -> &str {
    if let Some((int, frac)) = s.split_once('.') {
        if !frac.is_empty() && frac.bytes().all(|b| b == b'0') && !int.is_empty() {
            return int;
        }
    }
    s
}

/// Go `strconv.ParseInt(s, 0, 64)`: optional sign, `0x`/`0o`/`0b`/leading-`0` prefixes,
/// underscores only with a prefix.
pub fn parse_go_int_base0(s: &str) -> Option<i64> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(r) = lower.strip_prefix("0x") {
        (16, r.to_string(), true)
    } else if let Some(r) = lower.strip_prefix("0o") {
        (8, r.to_string(), true)
    } else if let Some(r) = lower.strip_prefix("0b") {
        (2, r.to_string(), true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string(), true)
    } else {
        (10, lower.clone(), false)
    };
    let digits = if prefixed {
        digits.replace('_', "")
    } else {
        digits
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let v = u64::from_str_radix(&digits, radix).ok()?;
    if neg {
        (v <= i64::MAX as u64 + 1).then(|| (v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

// -------------------------------------------------------------------------------------------
// Custom params (gadget.yaml `params.custom`)
// -------------------------------------------------------------------------------------------

/// A gadget.yaml custom param (`params.custom.<key>`), exposed as `--<key>` (IG prefix
/// `custom.`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomParam {
    pub key: String,
    pub description: String,
    pub default_value: String,
    pub alias: String,
    pub possible_values: Vec<String>,
}

/// The custom params of a gadget.yaml (IG `processCustomParams`: a param needs `values` or a
/// `patch`), sorted by key.
pub fn custom_params(cfg: &serde_yaml::Value) -> Vec<CustomParam> {
    let Some(m) = cfg_get(cfg, "params.custom").and_then(|v| v.as_mapping()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (k, p) in m {
        let Some(key) = yaml_scalar_string(k) else {
            continue;
        };
        let values = cfg_get(p, "values").and_then(|v| v.as_mapping());
        if values.is_none() && cfg_get(p, "patch").is_none() {
            continue;
        }
        let s = |k: &str| {
            cfg_get(p, k)
                .and_then(yaml_scalar_string)
                .unwrap_or_default()
        };
        let mut possible: Vec<String> = values
            .map(|m| m.keys().filter_map(yaml_scalar_string).collect())
            .unwrap_or_default();
        possible.sort();
        out.push(CustomParam {
            key: key.to_lowercase(),
            description: s("description"),
            default_value: s("defaultValue"),
            alias: s("alias"),
            possible_values: possible,
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// IG's custom-param patching: for every `params.custom.<k>` whose value is in `values`
/// (keyed `custom.<k>`; IG's CLI passes every param, defaults included), the patch
/// `params.custom.<k>.values.<value>.patch` (or, when that does not exist, the generic
/// `params.custom.<k>.patch`) has its string leaves expanded as Go templates
/// (`{{call .getParamValue "custom.interval"}}`, `{{call .getConfig "operator.x.y"}}`) and is
/// then deep-merged into the config (viper `MergeConfigMap`, keys case-insensitive).
/// top_process: `--interval 2s` → `operator.process.interval: "2s"`.
pub fn apply_custom_params(
    cfg: &mut serde_yaml::Value,
    values: &BTreeMap<String, String>,
) -> Result<(), String> {
    let Some(custom) = cfg_get(cfg, "params.custom")
        .and_then(|v| v.as_mapping())
        .cloned()
    else {
        return Ok(());
    };
    let mut keys: Vec<(String, serde_yaml::Value)> = custom
        .iter()
        .filter_map(|(k, v)| Some((yaml_scalar_string(k)?, v.clone())))
        .collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, p) in keys {
        let lk = k.to_lowercase();
        let Some(val) = values
            .get(&format!("custom.{lk}"))
            .or_else(|| values.get(&format!("custom.{k}")))
        else {
            continue;
        };
        let patch = cfg_get(&p, "values")
            .and_then(|v| v.as_mapping())
            .and_then(|m| {
                m.iter()
                    .find(|(mk, _)| yaml_scalar_string(mk).as_deref() == Some(val.as_str()))
            })
            .and_then(|(_, v)| cfg_get(v, "patch"))
            .or_else(|| cfg_get(&p, "patch"));
        let Some(patch) = patch else { continue };
        let mut patch = patch.clone();
        let snapshot = cfg.clone();
        expand_templates(&mut patch, values, &snapshot)?;
        if let serde_yaml::Value::Mapping(m) = &mut patch {
            // Prevent recursive patching of custom params.
            let rm: Vec<serde_yaml::Value> = m
                .keys()
                .filter(|k| k.as_str().is_some_and(|s| s.eq_ignore_ascii_case("params")))
                .cloned()
                .collect();
            for k in rm {
                // IG deletes the key "params.custom" from the flattened map; a nested `params`
                // map is never a valid patch target for these gadgets.
                if let Some(serde_yaml::Value::Mapping(pm)) = m.get_mut(&k) {
                    let ck: Vec<_> = pm
                        .keys()
                        .filter(|k| k.as_str().is_some_and(|s| s.eq_ignore_ascii_case("custom")))
                        .cloned()
                        .collect();
                    for c in ck {
                        pm.remove(&c);
                    }
                }
            }
        }
        merge_yaml(cfg, patch);
    }
    Ok(())
}

fn expand_templates(
    v: &mut serde_yaml::Value,
    values: &BTreeMap<String, String>,
    cfg: &serde_yaml::Value,
) -> Result<(), String> {
    match v {
        serde_yaml::Value::String(s) => {
            *s = expand_template(s, values, cfg)?;
        }
        serde_yaml::Value::Mapping(m) => {
            for (_, x) in m.iter_mut() {
                expand_templates(x, values, cfg)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A minimal Go text/template: text plus `{{call .getParamValue "k"}}` / `{{call .getConfig "k"}}`
/// actions (with optional `-` trim markers).
pub fn expand_template(
    s: &str,
    values: &BTreeMap<String, String>,
    cfg: &serde_yaml::Value,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("{{") {
        let mut text = &rest[..i];
        let after = &rest[i + 2..];
        let j = after
            .find("}}")
            .ok_or_else(|| format!("unclosed action in template {s:?}"))?;
        let mut action = &after[..j];
        let mut tail = &after[j + 2..];
        if let Some(a) = action.strip_prefix("- ") {
            action = a;
            text = text.trim_end();
        }
        if let Some(a) = action.strip_suffix(" -") {
            action = a;
            tail = tail.trim_start();
        }
        out.push_str(text);
        let toks: Vec<&str> = action.split_whitespace().collect();
        let arg = |t: &str| -> Result<String, String> {
            t.strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .map(str::to_string)
                .ok_or_else(|| format!("unsupported template argument {t:?}"))
        };
        match toks.as_slice() {
            ["call", ".getParamValue", k] => {
                out.push_str(values.get(&arg(k)?).map(|s| s.as_str()).unwrap_or(""))
            }
            ["call", ".getConfig", k] => {
                let k = arg(k)?.to_lowercase();
                out.push_str(
                    &cfg_get(cfg, &k)
                        .and_then(yaml_scalar_string)
                        .unwrap_or_default(),
                )
            }
            _ => {
                return Err(format!(
                    "unsupported template action {{{{{action}}}}} in {s:?}"
                ))
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    Ok(out)
}

/// viper `MergeConfigMap`: deep merge, keys matched case-insensitively.
pub fn merge_yaml(dst: &mut serde_yaml::Value, src: serde_yaml::Value) {
    match (dst, src) {
        (serde_yaml::Value::Mapping(d), serde_yaml::Value::Mapping(s)) => {
            for (k, v) in s {
                let existing = d
                    .keys()
                    .find(|dk| match (dk.as_str(), k.as_str()) {
                        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                        _ => **dk == k,
                    })
                    .cloned();
                match existing {
                    Some(ek) => {
                        let slot = d.get_mut(&ek).unwrap();
                        if slot.is_mapping() && v.is_mapping() {
                            merge_yaml(slot, v);
                        } else {
                            *slot = v;
                        }
                    }
                    None => {
                        d.insert(k, v);
                    }
                }
            }
        }
        (d, s) => *d = s,
    }
}

// -------------------------------------------------------------------------------------------
// Go durations
// -------------------------------------------------------------------------------------------

/// Go `time.ParseDuration`: `"250ms"`, `"3s"`, `"1m30s"`, `"-1.5h"`, `"0"`; units ns, us,
/// µs (U+00B5), μs (U+03BC), ms, s, m, h. Returns nanoseconds.
pub fn parse_go_duration(s: &str) -> Result<i64, String> {
    let orig = s;
    let err = || format!("time: invalid duration {:?}", orig);
    let mut s = s;
    let mut neg = false;
    if let Some(r) = s.strip_prefix('-') {
        neg = true;
        s = r;
    } else if let Some(r) = s.strip_prefix('+') {
        s = r;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(err());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        let b = s.as_bytes();
        if !(b[0] == b'.' || b[0].is_ascii_digit()) {
            return Err(err());
        }
        // Integer part.
        let mut i = 0;
        let mut v: u64 = 0;
        let mut overflow = false;
        while i < b.len() && b[i].is_ascii_digit() {
            match v
                .checked_mul(10)
                .and_then(|x| x.checked_add((b[i] - b'0') as u64))
            {
                Some(x) if x <= 1 << 63 => v = x,
                _ => overflow = true,
            }
            i += 1;
        }
        if overflow {
            return Err(err());
        }
        let pre = i != 0;
        // Fraction.
        let mut f: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let start = i;
            let mut of = false;
            while i < b.len() && b[i].is_ascii_digit() {
                if !of {
                    match f
                        .checked_mul(10)
                        .and_then(|x| x.checked_add((b[i] - b'0') as u64))
                    {
                        Some(x) if x <= 1 << 63 => {
                            f = x;
                            scale *= 10.0;
                        }
                        _ => of = true,
                    }
                }
                i += 1;
            }
            post = i != start;
        }
        if !pre && !post {
            return Err(err());
        }
        // Unit.
        let us = i;
        while i < b.len() && !(b[i] == b'.' || b[i].is_ascii_digit()) {
            i += 1;
        }
        let unit = &s[us..i];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {:?}", orig));
        }
        let mult: u64 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {:?} in duration {:?}",
                    unit, orig
                ))
            }
        };
        if v > (1u64 << 63) / mult {
            return Err(err());
        }
        v *= mult;
        if f > 0 {
            v += (f as f64 * (mult as f64 / scale)) as u64;
            if v > 1 << 63 {
                return Err(err());
            }
        }
        total = total
            .checked_add(v)
            .filter(|&t| t <= 1 << 63)
            .ok_or_else(err)?;
        s = &s[i..];
    }
    if neg {
        return Ok((total as i64).wrapping_neg());
    }
    if total > i64::MAX as u64 {
        return Err(err());
    }
    Ok(total as i64)
}

/// Go `time.Duration.String()`: `"0s"`, `"999ns"`, `"343.118µs"`, `"2.622617ms"`, `"3s"`,
/// `"1m1.5s"`, `"1h2m3s"`.
pub fn go_duration_string(d: i64) -> String {
    let mut out = String::new();
    crate::operators::values::go_duration_string(d, &mut out);
    out
}


// -------------------------------------------------------------------------------------------
// Small shared helpers
// -------------------------------------------------------------------------------------------

/// Go `runtime.NumCPU()`: CPUs in this process's affinity mask.
pub fn go_num_cpu() -> usize {
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
            let n = libc::CPU_COUNT(&set);
            if n > 0 {
                return n as usize;
            }
        }
    }
    1
}

/// Numeric directory names of `/proc` (processes), in readdir order.
pub fn proc_pids() -> std::io::Result<Vec<i32>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc")? {
        let Ok(e) = e else { continue };
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) {
            out.push(pid);
        }
    }
    Ok(out)
}

/// Inode of `/proc/<pid>/ns/mnt` (IG `containerutils.GetMntNs`), 0 on error.
pub fn mntns_of(pid: i32) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}/ns/mnt"))
        .map(|m| m.ino())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_durations() {
        assert_eq!(parse_go_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_go_duration("3s"), Ok(3_000_000_000));
        assert_eq!(parse_go_duration("1m30s"), Ok(90_000_000_000));
        assert_eq!(parse_go_duration("1000ms"), Ok(1_000_000_000));
        assert_eq!(parse_go_duration("1.5h"), Ok(5_400_000_000_000));
        assert_eq!(parse_go_duration("-2us"), Ok(-2_000));
        assert_eq!(parse_go_duration("3µs"), Ok(3_000));
        assert_eq!(parse_go_duration(".5s"), Ok(500_000_000));
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("1h2m3.004005006s"), Ok(3_723_004_005_006));
        assert!(parse_go_duration("").is_err());
        assert!(parse_go_duration("3").is_err());
        assert!(parse_go_duration("3x").is_err());
        assert!(parse_go_duration("s").is_err());
        assert!(parse_go_duration(".s").is_err());
    }

    #[test]
    fn duration_strings() {
        assert_eq!(go_duration_string(0), "0s");
        assert_eq!(go_duration_string(1), "1ns");
        assert_eq!(go_duration_string(999), "999ns");
        assert_eq!(go_duration_string(1_000), "1µs");
        assert_eq!(go_duration_string(343_118), "343.118µs");
        assert_eq!(go_duration_string(2_622_617), "2.622617ms");
        assert_eq!(go_duration_string(250_000_000), "250ms");
        assert_eq!(go_duration_string(1_000_000_000), "1s");
        assert_eq!(go_duration_string(3_000_000_000), "3s");
        assert_eq!(go_duration_string(61_500_000_000), "1m1.5s");
        assert_eq!(go_duration_string(3_723_000_000_000), "1h2m3s");
        assert_eq!(go_duration_string(2_000_000_001), "2.000000001s");
        assert_eq!(go_duration_string(60_000_000_000), "1m0s");
        assert_eq!(go_duration_string(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration_string(-1_500), "-1.5µs");
        assert_eq!(go_duration_string(i64::MIN), "-2562047h47m16.854775808s");
    }

    #[test]
    fn viper_casts() {
        let y = |s: &str| serde_yaml::from_str::<serde_yaml::Value>(s).unwrap();
        assert_eq!(viper_duration(Some(&y("3s"))), 3_000_000_000);
        assert_eq!(viper_duration(Some(&y("'250ms'"))), 250_000_000);
        assert_eq!(viper_duration(Some(&y("3"))), 3);
        assert_eq!(viper_duration(Some(&y("'7'"))), 7);
        assert_eq!(viper_duration(Some(&y("bogus"))), 0);
        assert_eq!(viper_duration(None), 0);
        assert_eq!(viper_int(Some(&y("'0'"))), 0);
        assert_eq!(viper_int(Some(&y("'12'"))), 12);
        assert_eq!(viper_int(Some(&y("'010'"))), 8);
        assert_eq!(viper_int(Some(&y("'0x10'"))), 16);
        assert_eq!(viper_int(Some(&y("'3.00'"))), 3);
        assert_eq!(viper_int(Some(&y("'x'"))), 0);
        assert_eq!(viper_int(Some(&y("5"))), 5);
        assert!(viper_bool(Some(&y("true"))));
        assert!(viper_bool(Some(&y("'1'"))));
        assert!(!viper_bool(Some(&y("'yes'"))));
        assert_eq!(
            viper_string_slice(Some(&y("[pid, comm]"))),
            vec!["pid", "comm"]
        );
        assert_eq!(
            viper_string_slice(Some(&y("'pid comm'"))),
            vec!["pid", "comm"]
        );
    }

    const TOP_PROCESS: &str = r#"
name: top process
operator:
  process:
    emitstats: true
    interval: 3s
    first-interval: 250ms
params:
  custom:
    interval:
      description: "interval to re-read statistics"
      defaultValue: 3s
      patch:
        operator:
          process:
            interval: >-
              {{call .getParamValue "custom.interval"}}
    count:
      description: "number of reports"
      defaultValue: 0
      patch:
        operator:
          process:
            count: >-
              {{call .getParamValue "custom.count"}}
"#;

    #[test]
    fn schedule_and_custom_params() {
        let mut cfg: serde_yaml::Value = serde_yaml::from_str(TOP_PROCESS).unwrap();
        let s = schedule_from_config(&cfg, "process", Duration::from_secs(60));
        assert_eq!(
            s,
            Schedule {
                interval: Duration::from_secs(3),
                first_interval: Some(Duration::from_millis(250)),
                count: 0
            }
        );
        let ps = custom_params(&cfg);
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].key, "count");
        assert_eq!(ps[0].default_value, "0");
        assert_eq!(ps[1].key, "interval");
        assert_eq!(ps[1].default_value, "3s");
        let mut vals = BTreeMap::new();
        vals.insert("custom.interval".to_string(), "2s".to_string());
        vals.insert("custom.count".to_string(), "1".to_string());
        apply_custom_params(&mut cfg, &vals).unwrap();
        let s = schedule_from_config(&cfg, "process", Duration::from_secs(60));
        assert_eq!(
            s,
            Schedule {
                interval: Duration::from_secs(2),
                first_interval: Some(Duration::from_millis(250)),
                count: 1
            }
        );
        assert!(viper_bool(cfg_get(&cfg, "operator.process.emitstats")));
        // Missing keys: IG defaults.
        let empty: serde_yaml::Value =
            serde_yaml::from_str("operator: {cgroup: {emitstats: true}}").unwrap();
        let s = schedule_from_config(&empty, "cgroup", Duration::from_secs(5));
        assert_eq!(
            s,
            Schedule {
                interval: Duration::from_secs(5),
                first_interval: None,
                count: 0
            }
        );
    }

    #[test]
    fn templates() {
        let cfg: serde_yaml::Value = serde_yaml::from_str("operator: {x: {y: 7}}").unwrap();
        let mut vals = BTreeMap::new();
        vals.insert("custom.a".to_string(), "v".to_string());
        assert_eq!(
            expand_template("a={{call .getParamValue \"custom.a\"}}!", &vals, &cfg).unwrap(),
            "a=v!"
        );
        assert_eq!(
            expand_template("{{call .getConfig \"operator.X.y\"}}", &vals, &cfg).unwrap(),
            "7"
        );
        assert_eq!(
            expand_template(" x {{- call .getParamValue \"custom.a\" -}} y", &vals, &cfg).unwrap(),
            " xvy"
        );
        assert!(expand_template("{{.Foo}}", &vals, &cfg).is_err());
    }

    #[test]
    fn values_patch_wins_over_generic_patch() {
        let mut cfg: serde_yaml::Value = serde_yaml::from_str(
            r#"
operator: {process: {interval: 3s}}
params:
  custom:
    speed:
      values:
        fast:
          patch: {operator: {process: {interval: 1s}}}
      patch: {operator: {process: {interval: 9s}}}
"#,
        )
        .unwrap();
        let mut vals = BTreeMap::new();
        vals.insert("custom.speed".to_string(), "fast".to_string());
        apply_custom_params(&mut cfg, &vals).unwrap();
        assert_eq!(
            viper_duration(cfg_get(&cfg, "operator.process.interval")),
            1_000_000_000
        );
        vals.insert("custom.speed".to_string(), "slow".to_string());
        apply_custom_params(&mut cfg, &vals).unwrap();
        assert_eq!(
            viper_duration(cfg_get(&cfg, "operator.process.interval")),
            9_000_000_000
        );
    }
}
