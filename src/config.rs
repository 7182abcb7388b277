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
