//! gadget.yaml (spec A.6, IG `pkg/metadata/v1` `GadgetMetadata`).
//!
//! [`GadgetMetadata`] has typed fields for the keys gadgetrt interprets
//! directly, and keeps the whole YAML document in [`GadgetMetadata::raw`]
//! because other keys (`programs.<name>.attach_to`, `paramDefaults`, the
//! legacy `ebpfParams`, ...) are read elsewhere. The running gadget's configuration tree,
//! which the wasm `setConfig` import writes, is handled by `crate::config` (viper-style
//! dotted paths); [`GadgetMetadata::set_path`] edits a metadata document with its own
//! rule for dotted annotation keys.
//!
//! Parsing is lenient the way Go's yaml decoder is: scalars given as numbers
//! or booleans where IG expects strings (`columns.width: 16`,
//! `defaultValue: false`) are turned into their string form, and `null`
//! sections are treated as empty.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use serde::{de::Error as _, Deserialize, Deserializer, Serialize};
use serde_yaml::{Mapping, Value};

/// Description of one parameter (`params.<operator>.<name>`). YAML keys follow
/// IG's `api.Param` / `ParamDesc`: `key`, `alternativeKey`, `alias`, `title`,
/// `defaultValue`, `description`, `isMandatory`, `tags`, `type`, `typeHint`,
/// `valueHint`, `possibleValues`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParamDesc {
    #[serde(default, deserialize_with = "opt_string", skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, deserialize_with = "opt_string", skip_serializing_if = "Option::is_none")]
    pub alternative_key: Option<String>,
    #[serde(default, deserialize_with = "opt_string", skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    #[serde(default, deserialize_with = "opt_string", skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "opt_string", skip_serializing_if = "Option::is_none")]
    pub default_value: Option<String>,
    #[serde(default, deserialize_with = "opt_string", skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool", skip_serializing_if = "is_false")]
    pub is_mandatory: bool,
    #[serde(default, deserialize_with = "string_list", skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// `type` (metadata ParamDesc); wasm params use `typeHint` instead.
    #[serde(
        rename = "type",
        default,
        deserialize_with = "opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub type_: Option<String>,
    #[serde(default, deserialize_with = "opt_string", skip_serializing_if = "Option::is_none")]
    pub type_hint: Option<String>,
    #[serde(default, deserialize_with = "opt_string", skip_serializing_if = "Option::is_none")]
    pub value_hint: Option<String>,
    #[serde(default, deserialize_with = "string_list", skip_serializing_if = "Vec::is_empty")]
    pub possible_values: Vec<String>,
}

/// `datasources.<name>.fields.<fullName>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldMeta {
    #[serde(default, deserialize_with = "string_map", skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "string_list", skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

impl FieldMeta {
    /// The field's annotations with a `template: <name>` annotation expanded:
    /// the template's presets first, then the explicit annotations on top
    /// (explicit keys win; the `template` key itself is kept).
    pub fn expanded_annotations(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(t) = self.annotations.get("template") {
            apply_annotations_template(t, &mut out);
        }
        for (k, v) in &self.annotations {
            out.insert(k.clone(), v.clone());
        }
        out
    }
}

/// `datasources.<name>`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSourceMeta {
    #[serde(default, deserialize_with = "string_map", skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "map_or_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, FieldMeta>,
}

/// `params`: `ebpf` (keyed by the C variable name of a `GADGET_PARAM`) and
/// `wasm` (keyed by param name); params of other operators are kept raw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Params {
    #[serde(default, deserialize_with = "map_or_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub ebpf: BTreeMap<String, ParamDesc>,
    #[serde(default, deserialize_with = "map_or_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub wasm: BTreeMap<String, ParamDesc>,
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// Typed view of gadget.yaml plus the raw tree.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GadgetMetadata {
    #[serde(default, deserialize_with = "opt_string", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "opt_string", skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(
        rename = "homepageURL",
        default,
        deserialize_with = "opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub homepage_url: Option<String>,
    #[serde(
        rename = "documentationURL",
        default,
        deserialize_with = "opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub documentation_url: Option<String>,
    #[serde(
        rename = "sourceURL",
        default,
        deserialize_with = "opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub source_url: Option<String>,
    #[serde(default, deserialize_with = "string_map", skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "map_or_default", skip_serializing_if = "BTreeMap::is_empty")]
    pub datasources: BTreeMap<String, DataSourceMeta>,
    #[serde(default, deserialize_with = "null_default")]
    pub params: Params,
    /// The whole document as parsed (a mapping; an empty mapping when the
    /// image has no gadget.yaml). Source of truth for [`Self::get_path`].
    #[serde(skip)]
    pub raw: Value,
}

impl GadgetMetadata {
    /// Parse gadget.yaml bytes. Empty input (or only comments) gives empty
    /// metadata. Invalid YAML, a top level that is not a mapping, or known
    /// keys of the wrong shape are errors.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(bytes).context("gadget.yaml is not valid UTF-8")?;
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_yaml::from_str(text).context("gadget.yaml is not valid YAML")?
        };
        Self::from_value(value)
    }

    /// Build from an already parsed YAML tree.
    pub fn from_value(value: Value) -> Result<Self> {
        let value = match value {
            Value::Null => Value::Mapping(Mapping::new()),
            Value::Tagged(t) => t.value,
            v => v,
        };
        if !value.is_mapping() {
            bail!(
                "gadget.yaml: top level must be a mapping, found {}",
                value_kind(&value)
            );
        }
        let mut md: GadgetMetadata = serde_yaml::from_value(value.clone())
            .context("gadget.yaml: unexpected structure")?;
        md.raw = value;
        Ok(md)
    }

    /// Look up a dotted path (`programs.ig_open.attach_to`). Keys that
    /// themselves contain dots (field full names such as `proc.comm`) are
    /// found too: at each level the longest run of segments naming an
    /// existing key wins. Keys match exactly first, then case-insensitively
    /// (viper lower-cases keys). A numeric segment indexes a sequence. The
    /// empty path is the root.
    pub fn get_path(&self, path: &str) -> Option<&Value> {
        let segs = split_path(path);
        lookup(&self.raw, &segs)
    }

    /// [`Self::get_path`] for a scalar, as a string (numbers and booleans are
    /// formatted; null, mappings and sequences give `None`).
    pub fn get_str(&self, path: &str) -> Option<String> {
        self.get_path(path).and_then(scalar_to_string)
    }

    /// Set a dotted path to a string value, creating mappings on the way
    /// (a scalar in the way is replaced by a mapping, like viper's `Set`).
    /// Existing keys containing dots are followed (longest match). Under an
    /// `annotations` or `paramDefaults` mapping a new key is the rest of the
    /// path joined with dots (`...annotations.columns.width` sets the
    /// annotation `columns.width`). The typed fields are refreshed when the
    /// tree still fits them.
    pub fn set_path(&mut self, path: &str, value: String) {
        self.set_path_value(path, Value::String(value));
    }

    /// [`Self::set_path`] with any YAML value.
    pub fn set_path_value(&mut self, path: &str, value: Value) {
        let segs = split_path(path);
        set_in(&mut self.raw, &segs, value, false);
        if let Ok(fresh) = Self::from_value(self.raw.clone()) {
            let raw = std::mem::take(&mut self.raw);
            *self = fresh;
            self.raw = raw;
        }
    }

    /// True when the document uses the pre-2024 schema keys (`tracers`,
    /// `structs`, `ebpfParams`, ...).
    pub fn is_legacy(&self) -> bool {
        ["tracers", "structs", "ebpfParams", "snapshotters", "toppers"]
            .iter()
            .any(|k| self.raw.get(*k).is_some())
    }

    /// Metadata for the eBPF `GADGET_PARAM` variable `var`: `params.ebpf.<var>`,
    /// falling back to the legacy `ebpfParams.<var>` like IG's ebpf operator.
    pub fn ebpf_param(&self, var: &str) -> Option<ParamDesc> {
        if let Some(p) = self.params.ebpf.get(var) {
            return Some(p.clone());
        }
        let legacy = self.raw.get("ebpfParams")?.get(var)?;
        if legacy.is_null() {
            return Some(ParamDesc::default());
        }
        serde_yaml::from_value(legacy.clone()).ok()
    }

    /// Annotations of field `field` of datasource `ds`, template expanded
    /// (see [`FieldMeta::expanded_annotations`]). Empty when not declared.
    pub fn field_annotations(&self, ds: &str, field: &str) -> BTreeMap<String, String> {
        self.datasources
            .get(ds)
            .and_then(|d| d.fields.get(field))
            .map(FieldMeta::expanded_annotations)
            .unwrap_or_default()
    }

    /// The OCI annotations IG's builder derives from this metadata
    /// (`annotationsFromMetadata`): title, description, url, documentation and
    /// source (set even when empty, as IG does), then the `annotations:` map
    /// on top.
    pub fn oci_annotations(&self) -> BTreeMap<String, String> {
        use super::annotation_keys as k;
        let mut out = BTreeMap::new();
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        out.insert(k::TITLE.to_string(), s(&self.name));
        out.insert(k::DESCRIPTION.to_string(), s(&self.description));
        out.insert(k::URL.to_string(), s(&self.homepage_url));
        out.insert(k::DOCUMENTATION.to_string(), s(&self.documentation_url));
        out.insert(k::SOURCE.to_string(), s(&self.source_url));
        for (key, v) in &self.annotations {
            out.insert(key.clone(), v.clone());
        }
        out
    }
}

// ---------------------------------------------------------------------------
// Field annotation templates (IG `metadatav1.AnnotationsTemplates`).
//
// The values of IG v0.55.0's table (pkg/metadata/v1/annotations.go).
// ---------------------------------------------------------------------------

type Template = &'static [(&'static str, &'static str)];

const TEMPLATES: &[(&str, Template)] = &[
    (
        "timestamp",
        &[
            ("columns.width", "35"),
            ("columns.maxwidth", "35"),
            ("columns.ellipsis", "end"),
            ("columns.hidden", "true"),
            ("description", "Microseconds since Unix epoch"),
        ],
    ),
    ("bytes", &[("columns.width", "10"), ("columns.alignment", "right")]),
    ("duration", &[("columns.width", "20"), ("columns.alignment", "right")]),
    ("node", &[("columns.width", "30"), ("columns.ellipsis", "middle")]),
    ("pod", &[("columns.width", "30"), ("columns.ellipsis", "middle")]),
    ("container", &[("columns.width", "30")]),
    ("namespace", &[("columns.width", "30")]),
    ("containerImageName", &[("columns.width", "30")]),
    (
        "containerPid",
        &[("columns.width", "6"), ("columns.hidden", "true"), ("columns.alignment", "right")],
    ),
    ("containerImageDigest", &[("columns.width", "30")]),
    ("containerStartedAt", &[("columns.hidden", "true"), ("columns.width", "35")]),
    ("comm", &[("description", "Process name"), ("columns.maxwidth", "16")]),
    (
        "pcomm",
        &[("description", "Parent process name"), ("columns.maxwidth", "16"), ("columns.hidden", "true")],
    ),
    ("pid", &[("description", "Process ID"), ("columns.minwidth", "7"), ("columns.alignment", "right")]),
    (
        "ppid",
        &[
            ("description", "Parent process ID"),
            ("columns.minwidth", "7"),
            ("columns.alignment", "right"),
            ("columns.hidden", "true"),
        ],
    ),
    ("tid", &[("description", "Thread ID"), ("columns.minwidth", "7"), ("columns.alignment", "right")]),
    (
        "ptid",
        &[
            ("description", "Parent thread ID"),
            ("columns.minwidth", "7"),
            ("columns.alignment", "right"),
            ("columns.hidden", "true"),
        ],
    ),
    ("uid", &[("description", "User ID"), ("columns.minwidth", "8"), ("columns.alignment", "right")]),
    ("gid", &[("description", "Group ID"), ("columns.minwidth", "8"), ("columns.alignment", "right")]),
    ("ns", &[("columns.hidden", "true"), ("columns.width", "12"), ("columns.alignment", "right")]),
    (
        "mntns_id",
        &[
            ("description", "Mount namespace ID"),
            ("columns.hidden", "true"),
            ("columns.width", "12"),
            ("columns.alignment", "right"),
        ],
    ),
    (
        "netns_id",
        &[
            ("description", "Network namespace ID"),
            ("columns.hidden", "true"),
            ("columns.width", "12"),
            ("columns.alignment", "right"),
        ],
    ),
    (
        "l4endpoint",
        &[
            ("columns.minwidth", "22"),
            ("columns.width", "40"),
            ("columns.maxwidth", "52"),
            ("columns.ellipsis", "middle"),
        ],
    ),
    ("syscall", &[("description", "Syscall"), ("columns.width", "18"), ("columns.maxwidth", "28")]),
    ("errorString", &[("columns.width", "12")]),
    ("user_stack", &[("description", "User stack trace"), ("columns.hidden", "true")]),
];

/// The preset annotations of template `name`, if known.
pub fn annotations_template(name: &str) -> Option<&'static [(&'static str, &'static str)]> {
    TEMPLATES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Copy template `name`'s presets into `dst` (overwriting, like IG's
/// `ApplyAnnotationsTemplate`). Returns false for an unknown template.
pub fn apply_annotations_template(name: &str, dst: &mut BTreeMap<String, String>) -> bool {
    match annotations_template(name) {
        Some(t) => {
            for (k, v) in t {
                dst.insert((*k).to_string(), (*v).to_string());
            }
            true
        }
        None => false,
    }
}

/// Names of all known templates.
pub fn template_names() -> impl Iterator<Item = &'static str> {
    TEMPLATES.iter().map(|(n, _)| *n)
}

// ---------------------------------------------------------------------------
// Dotted paths
// ---------------------------------------------------------------------------

fn split_path(path: &str) -> Vec<&str> {
    if path.is_empty() {
        Vec::new()
    } else {
        path.split('.').collect()
    }
}

fn key_matches(k: &Value, want: &str, ci: bool) -> bool {
    match scalar_to_string(k) {
        Some(s) if ci => s.eq_ignore_ascii_case(want),
        Some(s) => s == want,
        None => false,
    }
}

fn find_key(map: &Mapping, want: &str) -> Option<Value> {
    map.keys()
        .find(|k| key_matches(k, want, false))
        .or_else(|| map.keys().find(|k| key_matches(k, want, true)))
        .cloned()
}

fn lookup<'a>(v: &'a Value, segs: &[&str]) -> Option<&'a Value> {
    if segs.is_empty() {
        return Some(v);
    }
    match v {
        Value::Tagged(t) => lookup(&t.value, segs),
        Value::Mapping(map) => {
            for n in (1..=segs.len()).rev() {
                let key = segs[..n].join(".");
                if let Some(k) = find_key(map, &key) {
                    if let Some(found) = map.get(&k).and_then(|child| lookup(child, &segs[n..])) {
                        return Some(found);
                    }
                }
            }
            None
        }
        Value::Sequence(seq) => {
            let i: usize = segs[0].parse().ok()?;
            lookup(seq.get(i)?, &segs[1..])
        }
        _ => None,
    }
}

/// Maps whose keys are dotted names (annotation keys such as
/// `columns.width`, full param names under `paramDefaults`): a new key under
/// them is the whole rest of the path, not a nested mapping.
const FLAT_MAPS: &[&str] = &["annotations", "paramDefaults"];

fn set_in(v: &mut Value, segs: &[&str], new: Value, flat: bool) {
    if segs.is_empty() {
        *v = new;
        return;
    }
    if let Value::Tagged(t) = v {
        let inner = std::mem::take(&mut t.value);
        *v = inner;
    }
    if !v.is_mapping() {
        *v = Value::Mapping(Mapping::new());
    }
    let map = v.as_mapping_mut().expect("just made a mapping");
    for n in (1..=segs.len()).rev() {
        let key = segs[..n].join(".");
        if let Some(k) = find_key(map, &key) {
            let child = map.get_mut(&k).expect("key exists");
            let child_flat = FLAT_MAPS.iter().any(|f| key_matches(&k, f, true));
            set_in(child, &segs[n..], new, child_flat);
            return;
        }
    }
    if flat {
        map.insert(Value::String(segs.join(".")), new);
        return;
    }
    let child_flat = FLAT_MAPS.iter().any(|f| f.eq_ignore_ascii_case(segs[0]));
    let child = map
        .entry(Value::String(segs[0].to_string()))
        .or_insert(Value::Null);
    set_in(child, &segs[1..], new, child_flat);
}

// ---------------------------------------------------------------------------
// Lenient deserialisation helpers
// ---------------------------------------------------------------------------

pub(crate) fn scalar_to_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Tagged(t) => scalar_to_string(&t.value),
        _ => None,
    }
}

fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a sequence",
        Value::Mapping(_) => "a mapping",
        Value::Tagged(_) => "a tagged value",
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => scalar_to_string(&v)
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("expected a string, found {}", value_kind(&v)))),
    }
}

fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") || s.is_empty() => Ok(false),
        Some(v) => Err(D::Error::custom(format!(
            "expected a boolean, found {}",
            value_kind(&v)
        ))),
    }
}

fn string_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Sequence(seq)) => seq
            .iter()
            .map(|v| {
                scalar_to_string(v).ok_or_else(|| {
                    D::Error::custom(format!("expected a list of strings, found {}", value_kind(v)))
                })
            })
            .collect(),
        Some(v) => scalar_to_string(&v).map(|s| vec![s]).ok_or_else(|| {
            D::Error::custom(format!("expected a list of strings, found {}", value_kind(&v)))
        }),
    }
}

fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Mapping(m)) => {
            let mut out = BTreeMap::new();
            for (k, v) in m {
                let k = scalar_to_string(&k).ok_or_else(|| {
                    D::Error::custom(format!("annotation key must be a string, found {}", value_kind(&k)))
                })?;
                let v = match &v {
                    Value::Null => String::new(),
                    other => scalar_to_string(other).ok_or_else(|| {
                        D::Error::custom(format!(
                            "annotation {k:?} must be a string, found {}",
                            value_kind(other)
                        ))
                    })?,
                };
                out.insert(k, v);
            }
            Ok(out)
        }
        Some(v) => Err(D::Error::custom(format!(
            "expected a mapping of strings, found {}",
            value_kind(&v)
        ))),
    }
}

fn map_or_default<'de, D, T>(d: D) -> Result<BTreeMap<String, T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    let m: Option<BTreeMap<String, Option<T>>> = Option::deserialize(d)?;
    Ok(m.unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
