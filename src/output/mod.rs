//! Output encoders reproducing `ig run` (IG v0.55.0, the `cli` operator) byte for byte:
//! compact JSON / jsonpretty ([`json`]), YAML ([`yaml`]), columns ([`columns`]) and the
//! "other mode" concatenation ([`write_other`]); plus the `-o` / `--fields` flag parsing and
//! the per-data-source output mode rules.
//!
//! `gofmt` holds Go-compatible number/text helpers (duplicating parts of
//! `operators::values`, to be deduplicated).

pub mod columns;
pub mod gofmt;
pub mod json;
pub mod yaml;

use crate::datasource::{field_bytes, kind, PacketData, Record, Schema};
use std::collections::HashMap;

/// An output mode of `-o`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OutputMode {
    Json,
    JsonPretty,
    Yaml,
    Columns,
    None,
    /// Any other mode (`raw`, `histogram`, `pcap-ng`, …).
    Other(String),
}

impl OutputMode {
    /// Parses a mode name (exact, case-sensitive like IG).
    pub fn parse(s: &str) -> OutputMode {
        match s {
            "json" => OutputMode::Json,
            "jsonpretty" => OutputMode::JsonPretty,
            "yaml" => OutputMode::Yaml,
            "columns" => OutputMode::Columns,
            "none" => OutputMode::None,
            other => OutputMode::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            OutputMode::Json => "json",
            OutputMode::JsonPretty => "jsonpretty",
            OutputMode::Yaml => "yaml",
            OutputMode::Columns => "columns",
            OutputMode::None => "none",
            OutputMode::Other(s) => s,
        }
    }
}

impl std::str::FromStr for OutputMode {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(OutputMode::parse(s))
    }
}

impl std::fmt::Display for OutputMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub const ANNOTATION_SUPPORTED_OUTPUT_MODES: &str = "cli.supported-output-modes";
pub const ANNOTATION_DEFAULT_OUTPUT_MODE: &str = "cli.default-output-mode";
pub const ANNOTATION_CLEAR_SCREEN_BEFORE: &str = "cli.clear-screen-before";

/// IG's default supported modes.
pub const DEFAULT_SUPPORTED_OUTPUT_MODES: [&str; 5] = ["columns", "json", "jsonpretty", "none", "yaml"];

/// The clear-screen sequence IG prints (`ESC [ H ESC [ 2 J`).
pub fn clear_screen() -> &'static str {
    "\x1b[H\x1b[2J"
}

/// Whether the data source asks for a clear screen before each output (`cli.clear-screen-before`).
pub fn clear_screen_before(schema: &Schema) -> bool {
    schema.annotations.get(ANNOTATION_CLEAR_SCREEN_BEFORE).is_some_and(|v| v == "true")
}

/// Supported output modes of a data source, sorted (IG sorts the list): the comma-split
/// `cli.supported-output-modes` annotation (not trimmed, like IG) or the defaults.
pub fn supported_output_modes(schema: &Schema) -> Vec<String> {
    let mut v: Vec<String> = match schema.annotations.get(ANNOTATION_SUPPORTED_OUTPUT_MODES) {
        Some(s) => s.split(',').map(str::to_string).collect(),
        None => DEFAULT_SUPPORTED_OUTPUT_MODES.iter().map(|s| s.to_string()).collect(),
    };
    v.sort();
    v
}

/// Default output mode of a data source: `cli.default-output-mode` when supported (an
/// unsupported one makes IG warn and record no default: `None`), else `columns` when
/// supported, else the first supported mode (sorted).
pub fn default_output_mode(schema: &Schema) -> Option<String> {
    let sup = supported_output_modes(schema);
    if let Some(d) = schema.annotations.get(ANNOTATION_DEFAULT_OUTPUT_MODE) {
        return sup.contains(d).then(|| d.clone());
    }
    if sup.iter().any(|m| m == "columns") {
        return Some("columns".to_string());
    }
    sup.first().cloned()
}

/// The default value of `-o` for these data sources (`mode` or `ds:mode,ds2:mode`). Data
/// sources whose annotated default mode is unsupported are left out, like IG.
pub fn default_output_param(schemas: &[&Schema]) -> String {
    let named = schemas.len() > 1;
    let v: Vec<String> = schemas
        .iter()
        .filter_map(|s| {
            let m = default_output_mode(s)?;
            Some(if named { format!("{}:{m}", s.name) } else { m })
        })
        .collect();
    v.join(",")
}

/// The default value of `--fields` (`f1,f2` or `ds:f1,f2;ds2:…`).
pub fn default_fields_param(schemas: &[&Schema]) -> String {
    let named = schemas.len() > 1;
    let v: Vec<String> = schemas
        .iter()
        .map(|s| {
            let f = columns::default_fields_value(s);
            if named {
                format!("{}:{f}", s.name)
            } else {
                f
            }
        })
        .collect();
    v.join(";")
}

/// Error of the `-o` value (IG `GetStringValuesPerDataSource`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModeFlagError(pub String);

impl std::fmt::Display for ModeFlagError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "parsing default output modes: {}", self.0)
    }
}

impl std::error::Error for ModeFlagError {}

/// Parses `-o` like IG's `apihelpers.GetStringValuesPerDataSource`: comma-separated
/// entries, each `mode` (key `""`) or `ds:mode`; empty entries skipped; an unprefixed entry
/// mixed with others is an error; `""` gives an empty map (then defaults apply).
pub fn parse_mode_flag(value: &str) -> Result<HashMap<String, String>, ModeFlagError> {
    let mut m = HashMap::new();
    for part in value.split(',') {
        if part.is_empty() {
            continue;
        }
        match part.split_once(':') {
            Some((ds, mode)) => m.insert(ds.to_string(), mode.to_string()),
            None => m.insert(String::new(), part.to_string()),
        };
    }
    if m.contains_key("") && m.len() > 1 {
        return Err(ModeFlagError("mixed values with and without specifying data source".into()));
    }
    Ok(m)
}

/// What the cli operator does with one data source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModeChoice {
    Mode(OutputMode),
    /// `output mode "<m>" for data source "<ds>" is not supported; skipping data source`.
    Unsupported(String),
}

/// Picks the mode of data source `schema` from the parsed `-o` map (its own entry, the
/// unprefixed entry, else its default mode) and checks it is supported.
pub fn mode_for(schema: &Schema, modes: &HashMap<String, String>) -> ModeChoice {
    let m = modes
        .get(&schema.name)
        .or_else(|| modes.get(""))
        .cloned()
        .or_else(|| default_output_mode(schema))
        .unwrap_or_default();
    if supported_output_modes(schema).contains(&m) {
        ModeChoice::Mode(OutputMode::parse(&m))
    } else {
        ModeChoice::Unsupported(m)
    }
}

/// The `--fields` entry for data source `ds` out of a `--fields` value (`f1,f2` or
/// `ds:f1,f2;ds2:…`): its own entry, else the unprefixed one; `None` when neither exists
/// (then use [`columns::ColumnsPlan::new_unlisted`]).
pub fn fields_for<'a>(value: &'a str, ds: &str) -> Option<&'a str> {
    let mut lookup: HashMap<&str, &str> = HashMap::new();
    for v in value.split(';') {
        match v.split_once(':') {
            Some((name, fields)) => lookup.insert(name, fields),
            None => lookup.insert("", v),
        };
    }
    lookup.get(ds).or_else(|| lookup.get("")).copied()
}

/// "Other" output modes (e.g. `raw`, `histogram`): appends every field's `String()` of a
/// record — all fields in index order, unreferenced and hidden ones included, parents and
/// their members alike. IG's `String()` returns the raw bytes for every kind (CString up to
/// the first NUL; empty fields nothing), so for text fields this is their text.
pub fn write_other_record(schema: &Schema, rec: &Record, out: &mut Vec<u8>) {
    for f in &schema.fields {
        if f.empty {
            continue;
        }
        let b = field_bytes(rec, f.loc).unwrap_or(&[]);
        if f.kind == kind::CSTRING {
            out.extend_from_slice(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]);
        } else {
            out.extend_from_slice(b);
        }
    }
}

/// [`write_other_record`] for every record of a packet, no separators or newlines (the
/// clear-screen prefix, when `cli.clear-screen-before` and stdout is a terminal, is the
/// caller's job).
pub fn write_other(schema: &Schema, data: &PacketData, out: &mut Vec<u8>) {
    match data {
        PacketData::Single(r) => write_other_record(schema, r, out),
        PacketData::Array(v) => v.iter().for_each(|r| write_other_record(schema, r, out)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasource::{set_bytes, NewField, TYPE_ARRAY, TYPE_SINGLE};

    #[test]
    fn modes() {
        assert_eq!(OutputMode::parse("jsonpretty"), OutputMode::JsonPretty);
        assert_eq!(OutputMode::parse("histogram"), OutputMode::Other("histogram".into()));
        assert_eq!(clear_screen(), "\x1b[H\x1b[2J");
        let mut s = Schema::new("qdisc-rendered", TYPE_SINGLE);
        assert_eq!(default_output_mode(&s).as_deref(), Some("columns"));
        s.annotations.insert(ANNOTATION_SUPPORTED_OUTPUT_MODES.into(), "raw,histogram".into());
        assert_eq!(supported_output_modes(&s), ["histogram", "raw"]);
        assert_eq!(default_output_mode(&s).as_deref(), Some("histogram"));
        s.annotations.insert(ANNOTATION_DEFAULT_OUTPUT_MODE.into(), "raw".into());
        assert_eq!(default_output_mode(&s).as_deref(), Some("raw"));
        let m = parse_mode_flag("json").unwrap();
        assert_eq!(mode_for(&s, &m), ModeChoice::Unsupported("json".into()));
        let m = parse_mode_flag("other:json").unwrap();
        assert_eq!(mode_for(&s, &m), ModeChoice::Mode(OutputMode::Other("raw".into())));
        let m = parse_mode_flag("a:json,qdisc-rendered:histogram").unwrap();
        assert_eq!(mode_for(&s, &m), ModeChoice::Mode(OutputMode::Other("histogram".into())));
        assert!(parse_mode_flag("a:json,yaml").is_err());
        let t = Schema::new("t", TYPE_ARRAY);
        assert_eq!(default_output_param(&[&s, &t]), "qdisc-rendered:raw,t:columns");
        assert_eq!(default_output_param(&[&t]), "columns");
    }

    #[test]
    fn fields_lookup() {
        assert_eq!(fields_for("a,b", "x"), Some("a,b"));
        assert_eq!(fields_for("x:a,b;y:c", "y"), Some("c"));
        assert_eq!(fields_for("x:a,b;y:c", "z"), None);
        assert_eq!(fields_for("x:a;c,d", "z"), Some("c,d"));
        let mut s = Schema::new("x", TYPE_SINGLE);
        s.add_field("b", kind::STRING).unwrap();
        s.add_field_with(NewField { name: "a".into(), kind: kind::STRING, order: Some(-1), ..Default::default() })
            .unwrap();
        let t = Schema::new("y", TYPE_SINGLE);
        assert_eq!(default_fields_param(&[&s]), "a,b");
        assert_eq!(default_fields_param(&[&s, &t]), "x:a,b;y:");
    }

    #[test]
    fn other_mode() {
        let mut s = Schema::new("x", TYPE_SINGLE);
        let a = s.add_field("text", kind::STRING).unwrap();
        let b = s.add_field("more", kind::STRING).unwrap();
        let mut r = s.new_record();
        set_bytes(&mut r, s.fields[a].loc, b"hist\n").unwrap();
        set_bytes(&mut r, s.fields[b].loc, b"ogram").unwrap();
        let mut out = Vec::new();
        write_other(&s, &PacketData::Single(r), &mut out);
        assert_eq!(out, b"hist\nogram");
    }
}
