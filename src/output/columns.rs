//! `-o columns` (the default): IG's datasource → `columns` → `textcolumns` formatter chain
//! (`pkg/datasource/columns.go`, `pkg/columns/**`, `pkg/operators/cli`).
//!
//! - A column exists for every field that is neither empty nor unreferenced (hidden ones too:
//!   they can be selected explicitly), named by its full name; columns are looked up
//!   case-insensitively by name, then by `columns.alias`.
//! - Attributes start from: width 16, no ellipsis (plain cut), left alignment, precision 0,
//!   min/max width 0; then the field's annotations apply (`columns.width|minwidth|maxwidth`
//!   integer or `type`, `columns.alignment`, `columns.ellipsis`, `columns.fixed`,
//!   `columns.hex`, `columns.alias`, `columns.precision`). Fields created with IG's default
//!   annotations therefore get ellipsis `end`; fields created `WithAnnotations` without an
//!   ellipsis cut plainly.
//! - `columns.replace: other` takes the value (and value kind) of field `other` (exact full
//!   name, referenced) while keeping this column's name and attributes.
//! - Value text: strings as-is (CString up to NUL); Bytes, arrays and other kinds without a Go
//!   scalar type `<N bytes>`; ints decimal or, with `columns.hex`, `0x` + upper-case hex; floats
//!   `strconv.FormatFloat(v, 'f', precision, 64)`; bool `true`/`false` (any non-zero byte is
//!   true here, unlike JSON). For scalar columns a width of 0 becomes the kind's digit count
//!   and a max width of 0 too (`width: 0` on a string/bytes column becomes 16).
//! - Cells: Go `strconv.Quote` without the quotes, cut to the width in runes by the ellipsis
//!   type, padded to the width; columns joined by one space; the last column is padded too.
//! - `header()`/`row()` do NOT append a newline (IG prints each with `fmt.Println`).

use super::gofmt::{push_float_f, push_i64, push_quote_inner, push_u64};
use crate::datasource::{field_bytes, kind, PacketData, Record, Schema};
use std::fmt;

/// Ellipsis types of `pkg/columns/ellipsis`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ellipsis {
    None,
    End,
    Start,
    Middle,
}

/// Why IG would refuse to print a data source in columns mode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnsError {
    /// Building the columns failed (`failed to get parser`): bad annotation value, unknown
    /// replacement field, duplicate column name.
    Parser(String),
    /// `--fields` named an unknown column (`failed to set fields: column "x" is invalid`).
    Fields(String),
}

impl fmt::Display for ColumnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnsError::Parser(m) => write!(f, "failed to get parser: {m}"),
            ColumnsError::Fields(m) => write!(f, "failed to set fields: {m}"),
        }
    }
}

impl std::error::Error for ColumnsError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ValueKind {
    Text,
    Bytes,
    Int,
    Uint,
    Float,
    Bool,
}

/// One column with IG's attributes.
#[derive(Clone, Debug)]
pub struct Column {
    /// Full field name.
    pub name: String,
    pub alias: String,
    /// Field the value is read from (the `columns.replace` target when set).
    pub source: usize,
    pub visible: bool,
    pub width: i64,
    pub min_width: i64,
    pub max_width: i64,
    pub fixed: bool,
    pub hex: bool,
    pub precision: i32,
    pub ellipsis: Ellipsis,
    pub align_right: bool,
    value: ValueKind,
    source_kind: u32,
}

/// Max characters of an int kind / bool (`columns.GetWidthFromType`), 0 for other kinds.
pub fn width_from_kind(k: u32) -> i64 {
    match k {
        kind::UINT8 => 3,
        kind::INT8 => 4,
        kind::UINT16 => 5,
        kind::INT16 => 6,
        kind::UINT32 => 10,
        kind::INT32 => 11,
        kind::UINT64 | kind::INT64 => 20,
        kind::BOOL => 5,
        _ => 0,
    }
}

fn has_reflect_type(k: u32) -> bool {
    matches!(k, kind::BOOL..=kind::STRING | kind::CSTRING)
}

/// Go `strconv.Atoi`.
fn atoi(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let (neg, digits) = match b.first() {
        Some(b'+') => (false, &b[1..]),
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v: i64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if neg { -v } else { v })
}

fn get_width(k: u32, v: &str, field: &str, what: &str) -> Result<i64, ColumnsError> {
    if v == "type" {
        if !has_reflect_type(k) {
            return Err(ColumnsError::Parser(format!(
                "reading {what} for column {field:?}: special value \"type\" is only available for fields with a reflect type"
            )));
        }
        let w = width_from_kind(k);
        if w > 0 {
            return Ok(w);
        }
        return Err(ColumnsError::Parser(format!(
            "reading {what} for column {field:?}: special value \"type\" is only available for integer and bool types"
        )));
    }
    atoi(v).ok_or_else(|| ColumnsError::Parser(format!("reading {what} for column {field:?}: invalid width {v:?}")))
}

/// Builds the columns of a schema (IG `dataSource.Columns`), in field-index order.
pub fn build_columns(schema: &Schema) -> Result<Vec<Column>, ColumnsError> {
    let mut cols: Vec<Column> = Vec::new();
    for (idx, f) in schema.fields.iter().enumerate() {
        if f.empty || f.unreferenced {
            continue;
        }
        let short = f.short_name();
        let mut c = Column {
            name: f.name.clone(),
            alias: String::new(),
            source: 0,
            visible: !f.hidden,
            width: 16,
            min_width: 0,
            max_width: 0,
            fixed: false,
            hex: false,
            precision: 0,
            ellipsis: Ellipsis::None,
            align_right: false,
            value: ValueKind::Text,
            source_kind: f.kind,
        };
        for (k, v) in &f.annotations {
            match k.as_str() {
                "columns.alignment" => match v.as_str() {
                    "left" => c.align_right = false,
                    "right" => c.align_right = true,
                    _ => return Err(ColumnsError::Parser(format!("invalid alignment type for column {short:?}: {v}"))),
                },
                "columns.ellipsis" => {
                    c.ellipsis = match v.as_str() {
                        "none" => Ellipsis::None,
                        "start" => Ellipsis::Start,
                        "middle" => Ellipsis::Middle,
                        "end" => Ellipsis::End,
                        _ => return Err(ColumnsError::Parser(format!("invalid ellipsis type for column {short:?}: {v}"))),
                    }
                }
                "columns.width" => c.width = get_width(f.kind, v, short, "width")?,
                "columns.minwidth" => c.min_width = get_width(f.kind, v, short, "minWidth")?,
                "columns.maxwidth" => c.max_width = get_width(f.kind, v, short, "maxWidth")?,
                "columns.fixed" => c.fixed = c.fixed || v == "true",
                "columns.hex" => c.hex = c.hex || v == "true",
                "columns.alias" => c.alias = v.clone(),
                "columns.precision" => {
                    c.precision = atoi(v)
                        .and_then(|p| i32::try_from(p).ok())
                        .ok_or_else(|| ColumnsError::Parser(format!("reading precision for column {short:?}: invalid value {v:?}")))?
                }
                _ => {}
            }
        }
        let mut src = idx;
        if let Some(r) = f.annotations.get("columns.replace") {
            src = schema
                .fields
                .iter()
                .position(|x| !x.unreferenced && x.name == *r)
                .ok_or_else(|| ColumnsError::Parser(format!("replacement field {r:?} not found")))?;
        }
        let sk = schema.fields[src].kind;
        c.source = src;
        c.source_kind = sk;
        c.value = match sk {
            kind::STRING | kind::CSTRING => ValueKind::Text,
            k if !has_reflect_type(k) => ValueKind::Bytes,
            kind::BOOL => ValueKind::Bool,
            kind::FLOAT32 | kind::FLOAT64 => ValueKind::Float,
            k if kind::is_signed(k) => ValueKind::Int,
            _ => ValueKind::Uint,
        };
        match c.value {
            ValueKind::Text | ValueKind::Bytes => {
                if c.width == 0 {
                    c.width = 16;
                }
            }
            _ => {
                let w = width_from_kind(sk);
                if w > 0 {
                    if c.width == 0 {
                        c.width = w;
                    }
                    if c.max_width == 0 {
                        c.max_width = w;
                    }
                }
            }
        }
        let lower = c.name.to_lowercase();
        if cols.iter().any(|x| x.name.to_lowercase() == lower) {
            return Err(ColumnsError::Parser(format!("creating columns: duplicate column name {:?}", c.name)));
        }
        cols.push(c);
    }
    Ok(cols)
}

/// IG's `parseFields`: `+x` appends, `-x` removes, other tokens are explicit; without
/// explicit tokens the list starts from `defaults`.
pub fn parse_fields(spec: &str, defaults: &[String]) -> Vec<String> {
    let mut added = Vec::new();
    let mut deleted = Vec::new();
    let mut explicit: Vec<String> = Vec::new();
    for tok in spec.split(',') {
        let tok = tok.trim();
        if tok.is_empty() {
            continue;
        }
        if let Some(x) = tok.strip_prefix('+') {
            added.push(x.to_string());
        } else if let Some(x) = tok.strip_prefix('-') {
            deleted.push(x.to_string());
        } else if !explicit.iter().any(|e| e == tok) {
            explicit.push(tok.to_string());
        }
    }
    let mut result = if explicit.is_empty() { defaults.to_vec() } else { explicit };
    for a in added {
        if !result.contains(&a) {
            result.push(a);
        }
    }
    for d in deleted {
        result.retain(|s| *s != d);
    }
    result
}

/// The `--fields` default of one data source (`cli` operator `ExtraParams`): referenced,
/// non-empty, visible fields sorted stably by `Order`, comma-joined.
pub fn default_fields_value(schema: &Schema) -> String {
    let v: Vec<&str> = schema.default_fields().into_iter().map(|i| schema.fields[i].name.as_str()).collect();
    v.join(",")
}

/// A compiled columns formatter for one schema.
#[derive(Clone, Debug)]
pub struct ColumnsPlan {
    columns: Vec<Column>,
    show: Vec<usize>,
    calc: Vec<i64>,
}

impl ColumnsPlan {
    /// Builds the formatter and applies a `--fields` value for this data source. `None`
    /// means the flag was not given: the param default ([`default_fields_value`]) is used as
    /// an explicit list. Widths are the exact `columns.width` values (non-terminal); call
    /// [`set_width`](Self::set_width) for terminal auto-scaling.
    pub fn new(schema: &Schema, fields: Option<&str>) -> Result<ColumnsPlan, ColumnsError> {
        let default;
        let spec = match fields {
            Some(s) => s,
            None => {
                default = default_fields_value(schema);
                &default
            }
        };
        let mut p = Self::new_unlisted(schema)?;
        let defaults: Vec<String> =
            p.columns.iter().filter(|c| c.visible).map(|c| c.name.clone()).collect();
        let names = parse_fields(spec, &defaults);
        p.set_show_columns(&names)?;
        Ok(p)
    }

    /// The formatter when no `--fields` entry applies to this data source (e.g. the flag
    /// only names other data sources): visible columns in field-index order.
    pub fn new_unlisted(schema: &Schema) -> Result<ColumnsPlan, ColumnsError> {
        let columns = build_columns(schema)?;
        let show: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].visible).collect();
        let calc = columns.iter().map(|c| c.width).collect();
        Ok(ColumnsPlan { columns, show, calc })
    }

    /// `SetShowColumns`: case-insensitive full names, then aliases.
    pub fn set_show_columns(&mut self, names: &[String]) -> Result<(), ColumnsError> {
        let mut show = Vec::with_capacity(names.len());
        for n in names {
            let l = n.to_lowercase();
            let found = self.columns.iter().position(|c| c.name.to_lowercase() == l).or_else(|| {
                // IG's alias map keeps one (random) column per alias; we take the last.
                self.columns.iter().rposition(|c| !c.alias.is_empty() && c.alias.to_lowercase() == l)
            });
            match found {
                Some(i) => show.push(i),
                None => return Err(ColumnsError::Fields(format!("column {l:?} is invalid"))),
            }
        }
        self.show = show;
        for (i, c) in self.columns.iter().enumerate() {
            self.calc[i] = c.width;
        }
        Ok(())
    }

    /// All columns in field-index order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The shown columns, in display order.
    pub fn shown(&self) -> impl Iterator<Item = &Column> {
        self.show.iter().map(|&i| &self.columns[i])
    }

    /// The current width of each shown column.
    pub fn widths(&self) -> Vec<i64> {
        self.show.iter().map(|&i| self.calc[i]).collect()
    }

    /// `None`: not a terminal, every column uses its exact width. `Some(w)`: auto-scale to a
    /// terminal of `w` columns (IG `RecalculateWidths(w, false)`; note IG reads the size of
    /// fd 0 while checking that fd 1 is a terminal).
    pub fn set_width(&mut self, term: Option<usize>) {
        for (i, c) in self.columns.iter().enumerate() {
            self.calc[i] = c.width;
        }
        let Some(max) = term else { return };
        if self.show.is_empty() {
            return;
        }
        let mut max_width = max as i64;
        let n = self.show.len() as i64;
        let divider = n - 1;
        let mut required = divider;
        let mut total_not_fixed: i64 = 0;
        let mut total_fixed = divider;
        let mut treat_fixed = vec![false; self.columns.len()];
        let mut occurrences: std::collections::HashMap<&str, i64> = std::collections::HashMap::new();
        for &i in &self.show {
            let c = &self.columns[i];
            *occurrences.entry(c.name.as_str()).or_default() += 1;
            if c.fixed {
                required += c.width;
                total_fixed += c.width;
                continue;
            }
            total_not_fixed += c.width;
            if c.min_width > 0 {
                required += c.min_width;
                continue;
            }
            required += 1;
        }
        if required > max_width {
            max_width = required;
        }
        let mut total_adjusted;
        loop {
            let mut satisfied = true;
            let mut add_fixed = 0;
            let mut remove_not_fixed = 0;
            total_adjusted = 0;
            for &i in &self.show {
                let c = &self.columns[i];
                if c.fixed || treat_fixed[i] {
                    if c.fixed {
                        self.calc[i] = c.width;
                    }
                    continue;
                }
                let w = (c.width as f64 / total_not_fixed as f64 * (max_width - total_fixed) as f64).floor();
                self.calc[i] = if w.is_finite() { w as i64 } else { i64::MIN };
                if c.max_width > 0 && self.calc[i] > c.max_width {
                    self.calc[i] = c.max_width;
                    treat_fixed[i] = true;
                    satisfied = false;
                    add_fixed += self.calc[i];
                    remove_not_fixed += c.width;
                    continue;
                }
                if c.min_width > 0 && self.calc[i] < c.min_width {
                    self.calc[i] = c.min_width;
                    treat_fixed[i] = true;
                    satisfied = false;
                    add_fixed += self.calc[i];
                    remove_not_fixed += c.width;
                    continue;
                }
                total_adjusted += self.calc[i];
            }
            if satisfied {
                break;
            }
            total_fixed += add_fixed;
            total_not_fixed -= remove_not_fixed;
        }
        let mut leftover = max_width - (total_adjusted + total_fixed);
        'outer: while leftover > 0 {
            let mut spent = false;
            let mut already: Vec<&str> = Vec::new();
            for &i in &self.show {
                let c = &self.columns[i];
                if c.fixed || treat_fixed[i] {
                    continue;
                }
                let occ = occurrences[c.name.as_str()];
                if occ > 1 {
                    if already.contains(&c.name.as_str()) {
                        continue;
                    }
                    if occ <= leftover {
                        self.calc[i] += 1;
                        leftover -= occ;
                        spent = true;
                        if leftover == 0 {
                            break 'outer;
                        }
                        already.push(c.name.as_str());
                    }
                    continue;
                }
                self.calc[i] += 1;
                leftover -= 1;
                spent = true;
                if leftover == 0 {
                    break 'outer;
                }
            }
            if !spent {
                break;
            }
        }
    }

    /// The header line (upper-cased alias or name, ellipsis `end`), without newline.
    pub fn header(&self, out: &mut String) {
        let mut scratch = Vec::new();
        for (n, &i) in self.show.iter().enumerate() {
            if n > 0 {
                out.push(' ');
            }
            let c = &self.columns[i];
            let name = if c.alias.is_empty() { &c.name } else { &c.alias };
            let upper = name.to_uppercase();
            fixed_cell(upper.as_bytes(), self.calc[i], Ellipsis::End, c.align_right, &mut scratch, out);
        }
    }

    /// One row for a record, without newline.
    pub fn row(&self, schema: &Schema, rec: &Record, out: &mut String) {
        let mut text = Vec::with_capacity(64);
        let mut scratch = Vec::with_capacity(64);
        for (n, &i) in self.show.iter().enumerate() {
            if n > 0 {
                out.push(' ');
            }
            let c = &self.columns[i];
            text.clear();
            value_text(c, schema, rec, &mut text);
            fixed_cell(&text, self.calc[i], c.ellipsis, c.align_right, &mut scratch, out);
        }
    }

    /// The rows of a packet, each followed by `\n` (one per array element).
    pub fn rows(&self, schema: &Schema, data: &PacketData, out: &mut String) {
        let recs: &[Record] = match data {
            PacketData::Single(r) => std::slice::from_ref(r),
            PacketData::Array(v) => v,
        };
        for r in recs {
            self.row(schema, r, out);
            out.push('\n');
        }
    }
}

fn value_text(c: &Column, schema: &Schema, rec: &Record, out: &mut Vec<u8>) {
    let f = &schema.fields[c.source];
    let b = field_bytes(rec, f.loc);
    let k = c.source_kind;
    let scalar = |b: Option<&[u8]>| -> Option<u64> {
        let b = b?;
        let w = kind::width(k)?;
        if b.len() != w {
            return None;
        }
        let mut a = [0u8; 8];
        a[..w].copy_from_slice(b);
        Some(match k {
            kind::INT8 => b[0] as i8 as i64 as u64,
            kind::INT16 => i16::from_ne_bytes([a[0], a[1]]) as i64 as u64,
            kind::INT32 => i32::from_ne_bytes([a[0], a[1], a[2], a[3]]) as i64 as u64,
            kind::UINT16 => u16::from_ne_bytes([a[0], a[1]]) as u64,
            kind::UINT32 | kind::FLOAT32 => u32::from_ne_bytes([a[0], a[1], a[2], a[3]]) as u64,
            kind::BOOL | kind::UINT8 => b[0] as u64,
            _ => u64::from_ne_bytes(a),
        })
    };
    match c.value {
        ValueKind::Text => {
            let b = b.unwrap_or(&[]);
            let b = if k == kind::CSTRING { &b[..b.iter().position(|&x| x == 0).unwrap_or(b.len())] } else { b };
            out.extend_from_slice(b);
        }
        ValueKind::Bytes => {
            out.push(b'<');
            push_u64(out, b.map_or(0, |b| b.len()) as u64);
            out.extend_from_slice(b" bytes>");
        }
        ValueKind::Bool => out.extend_from_slice(if scalar(b).unwrap_or(0) != 0 { b"true" } else { b"false" }),
        ValueKind::Int => {
            let v = scalar(b).unwrap_or(0) as i64;
            if c.hex {
                out.extend_from_slice(b"0x");
                if v < 0 {
                    out.push(b'-');
                }
                push_upper_hex(out, v.unsigned_abs());
            } else {
                push_i64(out, v);
            }
        }
        ValueKind::Uint => {
            let v = scalar(b).unwrap_or(0);
            if c.hex {
                out.extend_from_slice(b"0x");
                push_upper_hex(out, v);
            } else {
                push_u64(out, v);
            }
        }
        ValueKind::Float => {
            let raw = scalar(b).unwrap_or(0);
            let v = if k == kind::FLOAT32 { f32::from_bits(raw as u32) as f64 } else { f64::from_bits(raw) };
            push_float_f(out, v, c.precision);
        }
    }
}

fn push_upper_hex(out: &mut Vec<u8>, v: u64) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = HEX[(v & 15) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

/// `buildFixedString`: quote, cut to `width` runes by `ellipsis`, pad.
fn fixed_cell(text: &[u8], width: i64, ellipsis: Ellipsis, right: bool, scratch: &mut Vec<u8>, out: &mut String) {
    if width <= 0 {
        return;
    }
    let width = width as usize;
    scratch.clear();
    push_quote_inner(scratch, text);
    // Quoting yields valid UTF-8.
    let q = std::str::from_utf8(scratch).unwrap_or("");
    let n = q.chars().count();
    let cell_len;
    if n <= width {
        if right {
            out.extend(std::iter::repeat_n(' ', width - n));
        }
        out.push_str(q);
        cell_len = n;
    } else {
        let mut tmp = String::new();
        if width <= 1 && ellipsis != Ellipsis::None {
            tmp.push('…');
        } else {
            match ellipsis {
                Ellipsis::None => tmp.extend(q.chars().take(width)),
                Ellipsis::Start => {
                    tmp.push('…');
                    tmp.extend(q.chars().skip(n - width + 1));
                }
                Ellipsis::End => {
                    tmp.extend(q.chars().take(width - 1));
                    tmp.push('…');
                }
                Ellipsis::Middle => {
                    let mid = width / 2;
                    let end = if width.is_multiple_of(2) { mid - 1 } else { mid };
                    tmp.extend(q.chars().take(mid));
                    tmp.push('…');
                    tmp.extend(q.chars().skip(n - end));
                }
            }
        }
        cell_len = tmp.chars().count();
        if right && cell_len < width {
            out.extend(std::iter::repeat_n(' ', width - cell_len));
        }
        out.push_str(&tmp);
    }
    if !right && cell_len < width {
        out.extend(std::iter::repeat_n(' ', width - cell_len));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasource::{set_bytes, set_scalar, NewField, TYPE_ARRAY, TYPE_SINGLE};
    use crate::output::json::tests::{sample, sample_record, sfield};
    use std::collections::BTreeMap;

    fn ann(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn cell(text: &str, w: i64, e: Ellipsis, right: bool) -> String {
        let mut out = String::new();
        fixed_cell(text.as_bytes(), w, e, right, &mut Vec::new(), &mut out);
        out
    }

    #[test]
    fn ellipsis_and_padding() {
        assert_eq!(cell("PROGID", 5, Ellipsis::End, false), "PROG…");
        assert_eq!(cell("abcdefgh", 5, Ellipsis::Start, false), "…efgh");
        assert_eq!(cell("abcdefgh", 5, Ellipsis::Middle, false), "ab…gh");
        assert_eq!(cell("abcdefgh", 6, Ellipsis::Middle, false), "abc…gh");
        assert_eq!(cell("abcdefgh", 5, Ellipsis::None, false), "abcde");
        assert_eq!(cell("abcdefgh", 1, Ellipsis::End, false), "…");
        assert_eq!(cell("abcdefgh", 1, Ellipsis::None, false), "a");
        assert_eq!(cell("ab", 1, Ellipsis::End, false), "…");
        assert_eq!(cell("a", 1, Ellipsis::End, false), "a");
        assert_eq!(cell("abc", 0, Ellipsis::End, false), "");
        assert_eq!(cell("ab", 5, Ellipsis::End, true), "   ab");
        assert_eq!(cell("ab", 5, Ellipsis::End, false), "ab   ");
        assert_eq!(cell("été", 4, Ellipsis::End, false), "été ");
        assert_eq!(cell("mount(\"none\")", 10, Ellipsis::End, false), "mount(\\\"n…");
        assert_eq!(cell("a\tb", 5, Ellipsis::End, false), "a\\tb ");
    }

    /// A schema shaped like the fmtprobe example of the spec (§7.5).
    fn fmtprobe() -> (Schema, Record) {
        let mut s = Schema::new("probe", TYPE_SINGLE);
        let p = s.add_static_payload(64);
        let mut add = |name: &str, k: u32, parent: Option<usize>, off: usize, size: usize, a: &[(&str, &str)]| {
            let mut f = sfield(name, k, parent, p, off, size);
            for (k, v) in a {
                f.annotations.insert(k.to_string(), v.to_string());
            }
            s.add_static_field(f).unwrap()
        };
        add("flag", kind::BOOL, None, 0, 1, &[]);
        add("f32", kind::FLOAT32, None, 4, 4, &[]);
        add("f64", kind::FLOAT64, None, 8, 8, &[]);
        add("arr", kind::array_of(kind::UINT8), None, 16, 4, &[]);
        add("neg", kind::INT8, None, 20, 1, &[]);
        add("hexval", kind::UINT64, None, 24, 8, &[("columns.hex", "true")]);
        let inn = add("in", kind::BYTES, None, 32, 8, &[]);
        add("in.a", kind::INT32, Some(inn), 32, 4, &[]);
        add("in.b", kind::UINT32, Some(inn), 36, 4, &[]);
        add("name", kind::CSTRING, None, 40, 16, &[]);
        let sz = s
            .add_field_with(NewField {
                name: "size".into(),
                kind: kind::STRING,
                annotations: Some(ann(&[("columns.width", "10"), ("columns.alignment", "right")])),
                ..Default::default()
            })
            .unwrap();
        let fl = s
            .add_field_with(NewField {
                name: "flags".into(),
                kind: kind::STRING,
                ..Default::default()
            })
            .unwrap();
        let mut r = s.new_record();
        let loc = |s: &Schema, n: &str| s.fields[s.field_index(n).unwrap()].loc;
        set_scalar(&mut r, loc(&s, "flag"), kind::BOOL, 1).unwrap();
        set_scalar(&mut r, loc(&s, "f32"), kind::FLOAT32, 1.5f32.to_bits() as u64).unwrap();
        set_scalar(&mut r, loc(&s, "f64"), kind::FLOAT64, (-std::f64::consts::PI).to_bits()).unwrap();
        set_scalar(&mut r, loc(&s, "neg"), kind::INT8, (-6i64) as u64).unwrap();
        set_scalar(&mut r, loc(&s, "hexval"), kind::UINT64, 0xDEADBEF0).unwrap();
        set_scalar(&mut r, loc(&s, "in.a"), kind::INT32, 43).unwrap();
        set_scalar(&mut r, loc(&s, "in.b"), kind::UINT32, 7).unwrap();
        set_bytes(&mut r, loc(&s, "name"), b"fmtprobe").unwrap();
        set_bytes(&mut r, s.fields[sz].loc, b"1 B").unwrap();
        set_bytes(&mut r, s.fields[fl].loc, b"O_WRONLY|O_CREAT|O_TRUNC").unwrap();
        (s, r)
    }

    #[test]
    fn fmtprobe_line() {
        let (s, r) = fmtprobe();
        let p = ColumnsPlan::new(&s, None).unwrap();
        let mut h = String::new();
        p.header(&mut h);
        assert_eq!(
            h,
            "FLAG             F32              F64              ARR              NEG              HEXVAL           IN               IN.A             IN.B             NAME                   SIZE FLAGS           "
        );
        let mut row = String::new();
        p.row(&s, &r, &mut row);
        assert_eq!(
            row,
            "true             2                -3               <4 bytes>        -6               0xDEADBEF0       <8 bytes>        43               7                fmtprobe                1 B O_WRONLY|O_CREA…"
        );
    }

    #[test]
    fn fields_selection() {
        let (s, _) = fmtprobe();
        // explicit + aliases + case-insensitive
        let p = ColumnsPlan::new(&s, Some("NAME,in.a")).unwrap();
        assert_eq!(p.shown().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["name", "in.a"]);
        // +x only: starts from the field-index-order default, so +data re-orders
        let mut s2 = Schema::new("mount", TYPE_SINGLE);
        s2.add_field_with(NewField { name: "late".into(), kind: kind::STRING, order: Some(-5), ..Default::default() })
            .unwrap();
        s2.add_field("call", kind::STRING).unwrap();
        s2.add_field_with(NewField { name: "data".into(), kind: kind::STRING, hidden: true, ..Default::default() }).unwrap();
        let p = ColumnsPlan::new(&s2, None).unwrap();
        assert_eq!(p.shown().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["late", "call"]);
        let p = ColumnsPlan::new(&s2, Some("+data")).unwrap();
        assert_eq!(p.shown().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["late", "call", "data"]);
        let p = ColumnsPlan::new(&s2, Some("-late")).unwrap();
        assert_eq!(p.shown().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["call"]);
        assert_eq!(
            ColumnsPlan::new(&s2, Some("nope")).unwrap_err(),
            ColumnsError::Fields("column \"nope\" is invalid".into())
        );
        assert_eq!(parse_fields(" a , ,b,a,+c,+a,-b", &[]), ["a", "c"]);
        assert_eq!(parse_fields("+c", &["a".to_string(), "b".to_string()]), ["a", "b", "c"]);
    }

    #[test]
    fn field_index_order_quirk() {
        // Order-sorted default puts `late` (order -5, index 1) first; `+x` starts from
        // field-index order instead.
        let mut s = Schema::new("mount", TYPE_SINGLE);
        s.add_field("call", kind::STRING).unwrap();
        s.add_field_with(NewField { name: "late".into(), kind: kind::STRING, order: Some(-5), ..Default::default() })
            .unwrap();
        let p = ColumnsPlan::new(&s, None).unwrap();
        assert_eq!(p.shown().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["late", "call"]);
        let p = ColumnsPlan::new(&s, Some("+late")).unwrap();
        assert_eq!(p.shown().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["call", "late"]);
    }

    #[test]
    fn alias_replace_width_type_and_errors() {
        let mut s = Schema::new("x", TYPE_ARRAY);
        let p = s.add_static_payload(8);
        let mut f = sfield("proc.pid", kind::UINT32, None, p, 0, 4);
        f.annotations.insert("columns.alias".into(), "pid".into());
        f.annotations.insert("columns.width".into(), "type".into());
        f.annotations.insert("columns.alignment".into(), "right".into());
        s.add_static_field(f).unwrap();
        let mut f = sfield("ep", kind::STRING, None, p, 0, 0);
        f.loc = crate::datasource::FieldLoc::Slot(s.add_static_payload(0));
        f.annotations.insert("columns.replace".into(), "proc.pid".into());
        f.annotations.insert("columns.width".into(), "4".into());
        s.add_static_field(f).unwrap();
        let plan = ColumnsPlan::new(&s, Some("PID,ep")).unwrap();
        let mut h = String::new();
        plan.header(&mut h);
        assert_eq!(h, "       PID EP  ");
        let mut r = s.new_record();
        set_scalar(&mut r, s.fields[0].loc, kind::UINT32, 123456).unwrap();
        let mut out = String::new();
        plan.rows(&s, &PacketData::Array(vec![r.clone(), r]), &mut out);
        assert_eq!(out, "    123456 123…\n    123456 123…\n");

        let mut bad = Schema::new("x", TYPE_SINGLE);
        bad.add_field_with(NewField {
            name: "a".into(),
            kind: kind::STRING,
            annotations: Some(ann(&[("columns.replace", "nope")])),
            ..Default::default()
        })
        .unwrap();
        assert!(matches!(ColumnsPlan::new(&bad, None), Err(ColumnsError::Parser(_))));
        let mut bad = Schema::new("x", TYPE_SINGLE);
        bad.add_field_with(NewField {
            name: "a".into(),
            kind: kind::STRING,
            annotations: Some(ann(&[("columns.width", "type")])),
            ..Default::default()
        })
        .unwrap();
        assert!(matches!(ColumnsPlan::new(&bad, None), Err(ColumnsError::Parser(_))));
    }

    #[test]
    fn terminal_scaling() {
        let mut s = Schema::new("x", TYPE_SINGLE);
        s.add_field("a", kind::STRING).unwrap();
        s.add_field("b", kind::STRING).unwrap();
        s.add_field_with(NewField {
            name: "c".into(),
            kind: kind::UINT8,
            annotations: Some(ann(&[("columns.width", "10")])),
            ..Default::default()
        })
        .unwrap();
        let mut p = ColumnsPlan::new(&s, None).unwrap();
        assert_eq!(p.widths(), [16, 16, 10]);
        // 80 cols: c capped at max width 3 (u8); a, b share the rest; leftover 1 by 1.
        p.set_width(Some(80));
        assert_eq!(p.widths(), [38, 37, 3]);
        p.set_width(None);
        assert_eq!(p.widths(), [16, 16, 10]);
    }

    #[test]
    fn sample_schema_columns() {
        let s = sample(TYPE_SINGLE);
        let r = sample_record(&s);
        let p = ColumnsPlan::new(&s, Some("comm,flag,error_raw,arr,error")).unwrap();
        let mut out = String::new();
        p.row(&s, &r, &mut out);
        assert_eq!(
            out,
            "cat              true             -2               <4 bytes>        ENOENT          "
        );
    }
}
