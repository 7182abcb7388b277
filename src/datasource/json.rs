//! JSON rendering of records: one object per record, dotted field names nested
//! (`proc.comm` → `{"proc":{"comm":…}}`), array packets as arrays of objects.
//! Strings are UTF-8 (invalid bytes replaced), bytes fields are base64 like Go's encoding/json.

use super::{read_value, FieldDef, PacketData, Record, Schema, Value};

/// Renders a packet as JSON text.
pub fn packet_to_json(schema: &Schema, data: &PacketData) -> String {
    let mut out = String::with_capacity(128);
    match data {
        PacketData::Single(r) => record_to_json(schema, r, &mut out),
        PacketData::Array(rs) => {
            out.push('[');
            for (i, r) in rs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                record_to_json(schema, r, &mut out);
            }
            out.push(']');
        }
    }
    out
}

/// Renders one record as a JSON object into `out`.
pub fn record_to_json(schema: &Schema, rec: &Record, out: &mut String) {
    // Children are rendered inside their parent; a parent with children is not rendered as bytes.
    let has_children: Vec<bool> = {
        let mut v = vec![false; schema.fields.len()];
        for f in &schema.fields {
            if let Some(p) = f.parent {
                if p < v.len() {
                    v[p] = true;
                }
            }
        }
        v
    };
    // Build a tree of path segments in field order.
    let mut root = Node::default();
    for (i, f) in schema.fields.iter().enumerate() {
        if has_children[i] || f.annotations.get("json.skip").map(|s| s == "true").unwrap_or(false) {
            continue;
        }
        let mut node = &mut root;
        let segs: Vec<&str> = f.name.split('.').collect();
        for seg in &segs[..segs.len() - 1] {
            let pos = match node.children.iter().position(|(n, _)| n == seg) {
                Some(p) => p,
                None => {
                    node.children.push((seg.to_string(), Node::default()));
                    node.children.len() - 1
                }
            };
            node = &mut node.children[pos].1;
        }
        let leaf = segs[segs.len() - 1].to_string();
        match node.children.iter().position(|(n, _)| *n == leaf) {
            Some(p) => node.children[p].1.field = Some(i),
            None => node.children.push((leaf, Node { field: Some(i), children: Vec::new() })),
        }
    }
    write_node(schema, rec, &root, out);
}

#[derive(Default)]
struct Node {
    field: Option<usize>,
    children: Vec<(String, Node)>,
}

fn write_node(schema: &Schema, rec: &Record, node: &Node, out: &mut String) {
    out.push('{');
    for (i, (name, child)) in node.children.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(name.as_bytes(), out);
        out.push(':');
        if !child.children.is_empty() {
            write_node(schema, rec, child, out);
        } else if let Some(fi) = child.field {
            write_value(&schema.fields[fi], rec, out);
        } else {
            out.push_str("null");
        }
    }
    out.push('}');
}

fn write_value(f: &FieldDef, rec: &Record, out: &mut String) {
    match read_value(rec, f) {
        v @ (Value::Bool(_) | Value::Int(_) | Value::Uint(_) | Value::Float(_)) => write_scalar(v, out),
        Value::Str(s) => write_str(s, out),
        Value::Bytes(b) => {
            out.push('"');
            base64(b, out);
            out.push('"');
        }
        Value::Array(elem, b) => {
            out.push('[');
            for (i, v) in super::array_values(elem, b).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_scalar(v, out);
            }
            out.push(']');
        }
        Value::Missing => out.push_str("null"),
    }
}

fn write_scalar(v: Value<'_>, out: &mut String) {
    use std::fmt::Write;
    match v {
        Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Value::Int(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Uint(v) => {
            let _ = write!(out, "{v}");
        }
        Value::Float(v) if v.is_finite() => {
            let _ = write!(out, "{v}");
        }
        _ => out.push_str("null"),
    }
}

fn write_str(s: &[u8], out: &mut String) {
    let s = String::from_utf8_lossy(s);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                use std::fmt::Write;
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Standard base64 with padding.
pub fn base64(b: &[u8], out: &mut String) {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in b.chunks(3) {
        let n = chunk.len();
        let v = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        out.push(T[(v >> 18) as usize & 63] as char);
        out.push(T[(v >> 12) as usize & 63] as char);
        out.push(if n > 1 { T[(v >> 6) as usize & 63] as char } else { '=' });
        out.push(if n > 2 { T[v as usize & 63] as char } else { '=' });
    }
}

#[cfg(test)]
mod tests {
    use super::super::{kind, set_bytes, set_scalar, FieldDef, FieldLoc, Schema, TYPE_SINGLE};
    use super::*;

    #[test]
    fn nested_names_become_objects() {
        let mut s = Schema::new("open", TYPE_SINGLE);
        let p = s.add_static_payload(24);
        let mk = |name: &str, kind, offset, size, parent| FieldDef {
            name: name.into(),
            kind,
            tags: vec![],
            annotations: Default::default(),
            parent,
            loc: FieldLoc::Static { payload: p, offset, size },
            hidden: false,
            order: 0,
            unreferenced: false,
            empty: false,
        };
        s.add_static_field(mk("proc", kind::BYTES, 0, 20, None)).unwrap();
        s.add_static_field(mk("proc.comm", kind::CSTRING, 0, 16, Some(0))).unwrap();
        s.add_static_field(mk("proc.pid", kind::UINT32, 16, 4, Some(0))).unwrap();
        s.add_static_field(mk("fd", kind::INT32, 20, 4, None)).unwrap();
        let mut r = s.new_record();
        set_bytes(&mut r, s.fields[1].loc, b"cat\"x").unwrap();
        set_scalar(&mut r, s.fields[2].loc, kind::UINT32, 42).unwrap();
        set_scalar(&mut r, s.fields[3].loc, kind::INT32, (-2i64) as u64).unwrap();
        let j = packet_to_json(&s, &PacketData::Single(r));
        assert_eq!(j, r#"{"proc":{"comm":"cat\"x","pid":42},"fd":-2}"#);
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["proc"]["pid"], 42);
    }

    #[test]
    fn base64_matches_reference() {
        let mut s = String::new();
        base64(&[1, 2, 3, 4, 5], &mut s);
        assert_eq!(s, "AQIDBAU=");
    }
}
