//! IG's JSON formatter (`pkg/datasource/formatters/json`, as `ig run -o json|jsonpretty`
//! configures it: `WithShowAll(true)`, `WithPretty(mode == jsonpretty, "  ")`,
//! `WithArray(ds is array)`).
//!
//! A [`JsonPlan`] is compiled once per schema snapshot into a flat list of literal chunks
//! (keys, braces, separators, pretty indentation) and value operations, so rendering a record
//! only appends to the caller's buffer: no allocation per record in steady state.
//!
//! Rules (from the Go source):
//! - every field except unreferenced ones and `json.skip: "true"` ones, hidden fields included;
//! - keys are the short names, sorted byte-wise at every level, written *unescaped*
//!   (`"\"" + name + "\":"`);
//! - a field with sub-fields (unreferenced ones count) becomes a nested object, whatever its
//!   own kind (an `empty` container too);
//! - `ArrayOf(numeric)` → `[a,b,c]`; `ArrayOf(other)`: the separator before it is written but
//!   the field itself is not (IG bug, produces malformed JSON);
//! - floats ES6-style at their bit size, NaN/±Inf write nothing (invalid JSON, like IG);
//! - bool is `true` only if the byte is exactly 1; scalars whose stored size does not match
//!   their kind print as 0/false (IG ignores the accessor error);
//! - String: all bytes; CString: up to the first NUL; every other kind (Bytes, Invalid, an
//!   `empty` field without children): lowercase hex string of the bytes.
//!
//! Nothing here appends the trailing newline `ig` prints after each packet (`fmt.Fprintln`).

use super::gofmt::{push_bytes, push_i64, push_json_cstring, push_json_float, push_json_string, push_u64};
use crate::datasource::{field_bytes, kind, FieldLoc, PacketData, Record, Schema};

#[derive(Clone, Copy, Debug)]
enum Op {
    /// Literal bytes `lits[start..end]`.
    Lit(u32, u32),
    /// The value of a field without sub-fields, after the literal `lits[pre.0..pre.1]` (its
    /// key and what precedes it): its kind and location (copied from the schema's field,
    /// which the plan belongs to).
    Val { pre: (u32, u32), kind: u32, loc: FieldLoc },
    /// A numeric array: `first` before the first element, `sep` before the others.
    Arr { field: u32, elem: u32, first: (u32, u32), sep: (u32, u32) },
}

/// A compiled JSON rendering plan for one schema snapshot.
#[derive(Clone, Debug)]
pub struct JsonPlan {
    compact: Vec<Op>,
    pretty: Vec<Op>,
    lits: Vec<u8>,
}

struct Builder<'a> {
    schema: &'a Schema,
    ops: Vec<Op>,
    lits: &'a mut Vec<u8>,
    pretty: bool,
}

const INDENT: &str = "  ";

impl Builder<'_> {
    fn lit(&mut self, s: &[u8]) {
        if s.is_empty() {
            return;
        }
        let start = self.lits.len() as u32;
        self.lits.extend_from_slice(s);
        let end = self.lits.len() as u32;
        if let Some(Op::Lit(_, e)) = self.ops.last_mut() {
            if *e == start {
                *e = end;
                return;
            }
        }
        self.ops.push(Op::Lit(start, end));
    }

    fn range(&mut self, s: &[u8]) -> (u32, u32) {
        let start = self.lits.len() as u32;
        self.lits.extend_from_slice(s);
        (start, self.lits.len() as u32)
    }

    fn field_sep(&self) -> &'static [u8] {
        if self.pretty {
            b",\n"
        } else {
            b","
        }
    }

    fn add_sub_fields(&mut self, mut fields: Vec<usize>, indent: &str) {
        let schema = self.schema;
        fields.sort_by(|&a, &b| schema.fields[a].short_name().as_bytes().cmp(schema.fields[b].short_name().as_bytes()));
        let mut ctr = 0usize;
        for idx in fields {
            let f = &schema.fields[idx];
            if f.unreferenced || f.annotations.get("json.skip").is_some_and(|v| v == "true") {
                continue;
            }
            let children: Vec<usize> = schema.children(idx).collect();
            if ctr > 0 {
                let sep = self.field_sep();
                self.lit(sep);
            }
            ctr += 1;
            let mut name = Vec::with_capacity(f.short_name().len() + indent.len() + 4);
            if self.pretty {
                name.extend_from_slice(indent.as_bytes());
            }
            name.push(b'"');
            name.extend_from_slice(f.short_name().as_bytes());
            name.extend_from_slice(b"\":");
            if self.pretty {
                name.push(b' ');
            }
            let (closer, closer_array) = if self.pretty {
                (format!("\n{indent}}}"), format!("\n{indent}]"))
            } else {
                ("}".to_string(), "]".to_string())
            };
            if !children.is_empty() {
                self.lit(&name);
                self.lit(if self.pretty { b"{\n" } else { b"{" });
                let sub_indent = format!("{indent}{INDENT}");
                self.add_sub_fields(children, &sub_indent);
                self.lit(closer.as_bytes());
                continue;
            }
            if let Some(elem) = kind::array_elem(f.kind) {
                let numeric = kind::is_signed(elem) || kind::is_unsigned(elem) || kind::is_float(elem);
                if !numeric {
                    // IG bug: the separator was written, the field is not.
                    continue;
                }
                let new_indent = if self.pretty { format!("{indent}{INDENT}") } else { String::new() };
                self.lit(&name);
                self.lit(if self.pretty { b"[\n" } else { b"[" });
                let first = self.range(new_indent.as_bytes());
                let mut sep_s = self.field_sep().to_vec();
                sep_s.extend_from_slice(new_indent.as_bytes());
                let sep = self.range(&sep_s);
                self.ops.push(Op::Arr { field: idx as u32, elem, first, sep });
                self.lit(closer_array.as_bytes());
                continue;
            }
            self.lit(&name);
            // The literal before the value goes into the value's op (one op per field).
            let pre = match self.ops.last() {
                Some(&Op::Lit(s, e)) => {
                    self.ops.pop();
                    (s, e)
                }
                _ => (0, 0),
            };
            self.ops.push(Op::Val { pre, kind: f.kind, loc: f.loc });
        }
    }
}

fn build(schema: &Schema, pretty: bool, lits: &mut Vec<u8>) -> Vec<Op> {
    let array = schema.is_array();
    let mut b = Builder { schema, ops: Vec::new(), lits, pretty };
    let roots: Vec<usize> = (0..schema.fields.len()).filter(|&i| schema.fields[i].parent.is_none()).collect();
    if pretty {
        if array {
            b.lit(b"  {\n");
            b.add_sub_fields(roots, "    ");
            b.lit(b"\n  }");
        } else {
            b.lit(b"{\n");
            b.add_sub_fields(roots, INDENT);
            b.lit(b"\n}");
        }
    } else {
        b.lit(b"{");
        b.add_sub_fields(roots, "");
        b.lit(b"}");
    }
    b.ops
}

fn scalar_bytes<const N: usize>(b: Option<&[u8]>) -> Option<[u8; N]> {
    b.and_then(|b| b.try_into().ok())
}

/// Writes the JSON value of a non-array field of kind `k` stored in `b`.
fn write_value(out: &mut Vec<u8>, k: u32, b: Option<&[u8]>) {
    match k {
        kind::INT8 => push_i64(out, scalar_bytes::<1>(b).map_or(0, |a| a[0] as i8 as i64)),
        kind::INT16 => push_i64(out, scalar_bytes::<2>(b).map_or(0, |a| i16::from_ne_bytes(a) as i64)),
        kind::INT32 => push_i64(out, scalar_bytes::<4>(b).map_or(0, |a| i32::from_ne_bytes(a) as i64)),
        kind::INT64 => push_i64(out, scalar_bytes::<8>(b).map_or(0, i64::from_ne_bytes)),
        kind::UINT8 => push_u64(out, scalar_bytes::<1>(b).map_or(0, |a| a[0] as u64)),
        kind::UINT16 => push_u64(out, scalar_bytes::<2>(b).map_or(0, |a| u16::from_ne_bytes(a) as u64)),
        kind::UINT32 => push_u64(out, scalar_bytes::<4>(b).map_or(0, |a| u32::from_ne_bytes(a) as u64)),
        kind::UINT64 => push_u64(out, scalar_bytes::<8>(b).map_or(0, u64::from_ne_bytes)),
        kind::FLOAT32 => push_json_float(out, scalar_bytes::<4>(b).map_or(0.0, |a| f32::from_ne_bytes(a) as f64), 32),
        kind::FLOAT64 => push_json_float(out, scalar_bytes::<8>(b).map_or(0.0, f64::from_ne_bytes), 64),
        kind::BOOL => {
            let t = b.is_some_and(|b| b.len() == 1 && b[0] == 1);
            out.extend_from_slice(if t { b"true" } else { b"false" });
        }
        kind::STRING => push_json_string(out, b.unwrap_or(&[])),
        kind::CSTRING => push_json_cstring(out, b.unwrap_or(&[])),
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push(b'"');
            for &c in b.unwrap_or(&[]) {
                out.push(HEX[(c >> 4) as usize]);
                out.push(HEX[(c & 15) as usize]);
            }
            out.push(b'"');
        }
    }
}

fn write_array(out: &mut Vec<u8>, elem: u32, b: &[u8], first: &[u8], sep: &[u8]) {
    let w = kind::width(elem).unwrap_or(1);
    for (i, c) in b.chunks_exact(w).enumerate() {
        out.extend_from_slice(if i == 0 { first } else { sep });
        match elem {
            kind::FLOAT32 => push_json_float(out, f32::from_ne_bytes(c.try_into().unwrap()) as f64, 32),
            kind::FLOAT64 => push_json_float(out, f64::from_ne_bytes(c.try_into().unwrap()), 64),
            k => write_value(out, k, Some(c)),
        }
    }
}

impl JsonPlan {
    /// Compiles the compact and pretty plans of `schema` (pretty uses the array-DS layout when
    /// the schema is an array data source, like IG's `WithArray`).
    pub fn new(schema: &Schema) -> JsonPlan {
        let mut lits = Vec::new();
        let compact = build(schema, false, &mut lits);
        let pretty = build(schema, true, &mut lits);
        JsonPlan { compact, pretty, lits }
    }

    fn run(&self, ops: &[Op], schema: &Schema, rec: &Record, out: &mut Vec<u8>) {
        for op in ops {
            match *op {
                Op::Lit(s, e) => push_bytes(out, &self.lits[s as usize..e as usize]),
                Op::Val { pre, kind, loc } => {
                    push_bytes(out, &self.lits[pre.0 as usize..pre.1 as usize]);
                    write_value(out, kind, field_bytes(rec, loc));
                }
                Op::Arr { field, elem, first, sep } => {
                    let f = &schema.fields[field as usize];
                    let b = field_bytes(rec, f.loc).unwrap_or(&[]);
                    let first = &self.lits[first.0 as usize..first.1 as usize];
                    let sep = &self.lits[sep.0 as usize..sep.1 as usize];
                    write_array(out, elem, b, first, sep);
                }
            }
        }
    }

    /// Appends one record as a compact JSON object (IG `Marshal`).
    pub fn write_record(&self, schema: &Schema, rec: &Record, out: &mut Vec<u8>) {
        self.run(&self.compact, schema, rec, out);
    }

    /// Appends one record in pretty form (IG `Marshal` with `WithPretty`).
    pub fn write_record_pretty(&self, schema: &Schema, rec: &Record, out: &mut Vec<u8>) {
        self.run(&self.pretty, schema, rec, out);
    }

    /// Appends a packet: a single record as an object, an array as `[{…},{…}]` (`[]` when
    /// empty). No trailing newline.
    pub fn write_packet(&self, schema: &Schema, data: &PacketData, out: &mut Vec<u8>) {
        match data {
            PacketData::Single(r) => self.write_record(schema, r, out),
            PacketData::Array(rs) => {
                out.push(b'[');
                for (i, r) in rs.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.write_record(schema, r, out);
                }
                out.push(b']');
            }
        }
    }

    /// Pretty form of [`write_packet`](Self::write_packet) (`-o jsonpretty`): arrays as
    /// `[\n  {…},\n  {…}\n]`, an empty array as `[]`. No trailing newline.
    pub fn write_packet_pretty(&self, schema: &Schema, data: &PacketData, out: &mut Vec<u8>) {
        match data {
            PacketData::Single(r) => self.write_record_pretty(schema, r, out),
            PacketData::Array(rs) => {
                if rs.is_empty() {
                    out.extend_from_slice(b"[]");
                    return;
                }
                out.extend_from_slice(b"[\n");
                for (i, r) in rs.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(b",\n");
                    }
                    self.write_record_pretty(schema, r, out);
                }
                out.extend_from_slice(b"\n]");
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::datasource::{set_bytes, set_scalar, FieldDef, FieldLoc, NewField, TYPE_ARRAY, TYPE_SINGLE};
    use std::collections::BTreeMap;

    pub(crate) fn sfield(name: &str, k: u32, parent: Option<usize>, payload: usize, offset: usize, size: usize) -> FieldDef {
        FieldDef {
            name: name.to_string(),
            kind: k,
            tags: Vec::new(),
            annotations: crate::datasource::default_annotations(),
            parent,
            loc: FieldLoc::Static { payload, offset, size },
            hidden: false,
            order: 0,
            unreferenced: false,
            empty: false,
        }
    }

    /// A schema resembling trace_open/fmtprobe: static struct + nested struct + added fields.
    pub(crate) fn sample(ds_type: u32) -> Schema {
        let mut s = Schema::new("open", ds_type);
        let p = s.add_static_payload(48);
        s.add_static_field(sfield("pid", kind::UINT32, None, p, 0, 4)).unwrap(); // 0
        s.add_static_field(sfield("f32", kind::FLOAT32, None, p, 4, 4)).unwrap(); // 1
        s.add_static_field(sfield("in", kind::BYTES, None, p, 8, 8)).unwrap(); // 2
        s.add_static_field(sfield("in.b", kind::UINT32, Some(2), p, 12, 4)).unwrap(); // 3
        s.add_static_field(sfield("in.a", kind::INT32, Some(2), p, 8, 4)).unwrap(); // 4
        s.add_static_field(sfield("arr", kind::array_of(kind::UINT8), None, p, 16, 4)).unwrap(); // 5
        s.add_static_field(sfield("comm", kind::CSTRING, None, p, 20, 8)).unwrap(); // 6
        s.add_static_field(sfield("flag", kind::BOOL, None, p, 28, 1)).unwrap(); // 7
        s.add_static_field(sfield("error_raw", kind::INT64, None, p, 32, 8)).unwrap(); // 8
        s.add_static_field(sfield("addr_raw", kind::UINT64, None, p, 40, 8)).unwrap(); // 9
        s.fields[9].unreferenced = true;
        let k8s = s
            .add_field_with(NewField { name: "k8s".into(), empty: true, order: Some(-10), ..Default::default() })
            .unwrap(); // 10
        s.add_field_with(NewField { name: "node".into(), kind: kind::STRING, parent: Some(k8s), ..Default::default() })
            .unwrap(); // 11
        let mut ann = BTreeMap::new();
        ann.insert("json.skip".to_string(), "true".to_string());
        s.add_field_with(NewField { name: "endpoint".into(), kind: kind::STRING, annotations: Some(ann), ..Default::default() })
            .unwrap(); // 12
        s.add_field_with(NewField { name: "error".into(), kind: kind::STRING, hidden: true, ..Default::default() })
            .unwrap(); // 13
        s
    }

    pub(crate) fn sample_record(s: &Schema) -> Record {
        let mut r = s.new_record();
        let loc = |n: &str| s.fields[s.field_index(n).unwrap()].loc;
        set_scalar(&mut r, loc("pid"), kind::UINT32, 42).unwrap();
        set_scalar(&mut r, loc("f32"), kind::FLOAT32, 1.5f32.to_bits() as u64).unwrap();
        set_scalar(&mut r, loc("in.a"), kind::INT32, 43).unwrap();
        set_scalar(&mut r, loc("in.b"), kind::UINT32, 7).unwrap();
        set_bytes(&mut r, loc("arr"), &[1, 2, 3, 255]).unwrap();
        set_bytes(&mut r, loc("comm"), b"cat\0xx").unwrap();
        set_scalar(&mut r, loc("flag"), kind::UINT8, 1).unwrap();
        set_scalar(&mut r, loc("error_raw"), kind::INT64, (-2i64) as u64).unwrap();
        set_bytes(&mut r, loc("k8s.node"), b"n<1>&\"").unwrap();
        set_bytes(&mut r, loc("endpoint"), b"skip me").unwrap();
        set_bytes(&mut r, loc("error"), b"ENOENT").unwrap();
        r
    }

    fn s(v: Vec<u8>) -> String {
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn compact_single() {
        let sch = sample(TYPE_SINGLE);
        let plan = JsonPlan::new(&sch);
        let rec = sample_record(&sch);
        let mut out = Vec::new();
        plan.write_record(&sch, &rec, &mut out);
        assert_eq!(
            s(out),
            r#"{"arr":[1,2,3,255],"comm":"cat","error":"ENOENT","error_raw":-2,"f32":1.5,"flag":true,"in":{"a":43,"b":7},"k8s":{"node":"n<1>&\""},"pid":42}"#
        );
    }

    #[test]
    fn pretty_single_and_array() {
        let sch = sample(TYPE_SINGLE);
        let plan = JsonPlan::new(&sch);
        let rec = sample_record(&sch);
        let mut out = Vec::new();
        plan.write_packet_pretty(&sch, &PacketData::Single(rec), &mut out);
        let want = "{\n  \"arr\": [\n    1,\n    2,\n    3,\n    255\n  ],\n  \"comm\": \"cat\",\n  \"error\": \"ENOENT\",\n  \"error_raw\": -2,\n  \"f32\": 1.5,\n  \"flag\": true,\n  \"in\": {\n    \"a\": 43,\n    \"b\": 7\n  },\n  \"k8s\": {\n    \"node\": \"n<1>&\\\"\"\n  },\n  \"pid\": 42\n}";
        assert_eq!(s(out), want);

        let sch = sample(TYPE_ARRAY);
        let plan = JsonPlan::new(&sch);
        let rec = sample_record(&sch);
        let mut out = Vec::new();
        plan.write_packet_pretty(&sch, &PacketData::Array(vec![rec.clone(), rec]), &mut out);
        let text = s(out);
        assert!(text.starts_with("[\n  {\n    \"arr\": [\n      1,\n      2,\n"), "{text}");
        assert!(text.contains("    \"in\": {\n      \"a\": 43,\n      \"b\": 7\n    },\n"), "{text}");
        assert!(text.contains("    \"pid\": 42\n  },\n  {\n    \"arr\""), "{text}");
        assert!(text.ends_with("    \"pid\": 42\n  }\n]"), "{text}");
        let mut out = Vec::new();
        plan.write_packet_pretty(&sch, &PacketData::Array(vec![]), &mut out);
        assert_eq!(out, b"[]");
        let mut out = Vec::new();
        plan.write_packet(&sch, &PacketData::Array(vec![]), &mut out);
        assert_eq!(out, b"[]");
    }

    #[test]
    fn compact_array_and_edge_cases() {
        let mut sch = Schema::new("x", TYPE_ARRAY);
        let p = sch.add_static_payload(16);
        sch.add_static_field(sfield("b", kind::BOOL, None, p, 0, 1)).unwrap();
        sch.add_static_field(sfield("strs", kind::array_of(kind::BOOL), None, p, 1, 2)).unwrap();
        sch.add_static_field(sfield("z", kind::FLOAT64, None, p, 8, 8)).unwrap();
        sch.add_static_field(sfield("a", kind::FLOAT32, None, p, 4, 4)).unwrap();
        sch.add_field("raw", kind::BYTES).unwrap();
        sch.add_field_with(NewField { name: "empty_leaf".into(), empty: true, ..Default::default() }).unwrap();
        let plan = JsonPlan::new(&sch);
        let mut r = sch.new_record();
        r[0][0] = 2; // bool byte 2 → false
        set_scalar(&mut r, sch.fields[2].loc, kind::FLOAT64, f64::NAN.to_bits()).unwrap();
        set_scalar(&mut r, sch.fields[3].loc, kind::FLOAT32, 1e-7f32.to_bits() as u64).unwrap();
        set_bytes(&mut r, sch.fields[4].loc, &[0xde, 0xad, 0x01]).unwrap();
        let mut out = Vec::new();
        plan.write_packet(&sch, &PacketData::Array(vec![r.clone(), r]), &mut out);
        let one = r#"{"a":1e-7,"b":false,"empty_leaf":"","raw":"dead01",,"z":}"#;
        assert_eq!(s(out), format!("[{one},{one}]"));
    }

    #[test]
    fn no_allocation_growth_in_steady_state() {
        let sch = sample(TYPE_SINGLE);
        let plan = JsonPlan::new(&sch);
        let rec = sample_record(&sch);
        let mut out = Vec::with_capacity(1024);
        plan.write_record(&sch, &rec, &mut out);
        let cap = out.capacity();
        for _ in 0..100 {
            out.clear();
            plan.write_record(&sch, &rec, &mut out);
        }
        assert_eq!(out.capacity(), cap);
    }
}
