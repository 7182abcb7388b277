//! The gadget configuration tree (gadget.yaml content), addressed with dotted paths
//! (`programs.ig_open.attach_to`). The wasm `setConfig` import writes into it; the eBPF loader
//! and the embedder read it.

use serde_yaml::{Mapping, Value};

/// The value at a dotted path, if any.
pub fn get_path<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = root;
    for seg in path.split('.') {
        cur = cur.as_mapping()?.get(Value::String(seg.to_string()))?;
    }
    Some(cur)
}

/// Sets the value at a dotted path, creating (or replacing non-map values with) maps on the way.
pub fn set_path(root: &mut Value, path: &str, value: Value) {
    let mut cur = root;
    let segs: Vec<&str> = path.split('.').collect();
    for (i, seg) in segs.iter().enumerate() {
        if !cur.is_mapping() {
            *cur = Value::Mapping(Mapping::new());
        }
        let map = cur.as_mapping_mut().expect("just made a mapping");
        let key = Value::String(seg.to_string());
        if i == segs.len() - 1 {
            map.insert(key, value);
            return;
        }
        cur = map.entry(key).or_insert(Value::Mapping(Mapping::new()));
    }
}

/// Renders a value for the embedder: scalars as text, maps and lists as JSON.
pub fn render(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths() {
        let mut v = Value::Null;
        set_path(&mut v, "foo.bar.zas", Value::String("myvalue".into()));
        set_path(&mut v, "foo.other", Value::String("x".into()));
        assert_eq!(get_path(&v, "foo.bar.zas").and_then(|v| v.as_str()), Some("myvalue"));
        assert_eq!(render(get_path(&v, "foo.bar").unwrap()), r#"{"zas":"myvalue"}"#);
        set_path(&mut v, "foo.bar.zas.deeper", Value::String("y".into()));
        assert_eq!(render(get_path(&v, "foo.bar.zas.deeper").unwrap()), "y");
        assert!(get_path(&v, "nope").is_none());
    }
}

/// One `--annotate` entry: a data source (`field` = `None`) or field annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Annotation {
    pub datasource: String,
    pub field: Option<String>,
    pub key: String,
    pub value: String,
}

/// Parses IG's `annotate` param (a comma-separated list of `ds:key=value` and
/// `ds.field:key=value`; `constructTempConfig` of IG's oci handler, with its error texts).
pub fn parse_annotations(list: &str) -> std::result::Result<Vec<Annotation>, String> {
    let mut out = Vec::new();
    for ann in list.split(',').filter(|a| !a.is_empty()) {
        let mut info: Vec<&str> = ann.split(':').collect();
        let joined;
        if info.len() > 2 && info[1].contains('=') {
            // The value contains a colon.
            joined = info[1..].join(":");
            info = vec![info[0], &joined];
        } else if info.len() != 2 {
            return Err(format!("annotation {} must be in subject:assignment format", go_q(ann)));
        }
        if info.iter().any(|s| s.is_empty()) {
            return Err(format!("annotation {} has empty subject or assignment", go_q(ann)));
        }
        let Some((key, value)) = info[1].split_once('=') else {
            return Err(format!("annotation {} must contain a key=value pair", go_q(ann)));
        };
        if key.is_empty() {
            return Err(format!("annotation {} has empty key", go_q(ann)));
        }
        let subject: Vec<&str> = info[0].split('.').collect();
        if subject.iter().any(|s| s.is_empty()) {
            return Err(format!("annotation {} has empty field or subfield name", go_q(ann)));
        }
        out.push(Annotation {
            datasource: subject[0].to_string(),
            field: (subject.len() > 1).then(|| subject[1..].join(".")),
            key: key.to_string(),
            value: value.to_string(),
        });
    }
    Ok(out)
}

fn go_q(s: &str) -> String {
    crate::operators::values::go_quote(s)
}

/// Merges an annotation into a gadget configuration (`datasources.<ds>.annotations.<key>` or
/// `datasources.<ds>.fields.<field>.annotations.<key>`; a field name with dots is one key).
pub fn merge_annotation(cfg: &mut Value, a: &Annotation) {
    fn child<'v>(v: &'v mut Value, key: &str) -> &'v mut Value {
        if !v.is_mapping() {
            *v = Value::Mapping(Mapping::new());
        }
        let m = v.as_mapping_mut().expect("a mapping");
        m.entry(Value::String(key.to_string())).or_insert(Value::Null)
    }
    let mut cur = child(child(cfg, "datasources"), &a.datasource);
    if let Some(f) = &a.field {
        cur = child(child(cur, "fields"), f);
    }
    *child(child(cur, "annotations"), &a.key) = Value::String(a.value.clone());
}

#[cfg(test)]
mod annotation_tests {
    use super::*;

    #[test]
    fn annotations_parse_like_ig_and_merge_into_the_config() {
        let a = parse_annotations("open.proc.comm:columns.width=4,open:cli.clear-screen-before=true,x:a=b:c").unwrap();
        assert_eq!(a[0].field.as_deref(), Some("proc.comm"));
        assert_eq!((a[0].key.as_str(), a[0].value.as_str()), ("columns.width", "4"));
        assert_eq!(a[1].field, None);
        assert_eq!(a[2].value, "b:c");
        assert_eq!(parse_annotations("open").unwrap_err(), r#"annotation "open" must be in subject:assignment format"#);
        assert_eq!(parse_annotations("open:x").unwrap_err(), r#"annotation "open:x" must contain a key=value pair"#);
        assert_eq!(parse_annotations("open:=1").unwrap_err(), r#"annotation "open:=1" has empty key"#);
        assert_eq!(parse_annotations("open..a:k=v").unwrap_err(), r#"annotation "open..a:k=v" has empty field or subfield name"#);
        let mut cfg: Value = serde_yaml::from_str("datasources: {open: {fields: {fname: {annotations: {a: b}}}}}").unwrap();
        for x in &a {
            merge_annotation(&mut cfg, x);
        }
        merge_annotation(&mut cfg, &parse_annotations("open.fname:columns.hidden=true").unwrap()[0]);
        let f = &cfg["datasources"]["open"]["fields"];
        assert_eq!(f["proc.comm"]["annotations"]["columns.width"].as_str(), Some("4"));
        assert_eq!(f["fname"]["annotations"]["a"].as_str(), Some("b"));
        assert_eq!(f["fname"]["annotations"]["columns.hidden"].as_str(), Some("true"));
        assert_eq!(cfg["datasources"]["open"]["annotations"]["cli.clear-screen-before"].as_str(), Some("true"));
    }
}
