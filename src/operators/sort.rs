//! IG's `sort` operator (`pkg/operators/sort/sort.go`, array subscription priority 9500):
//! `--sort f1,-f2` (every DS) or `--sort ds:f1,f2;ds2:f3`.
//!
//! IG applies the keys in reverse order (last key first), each with Go's `sort.Stable`, and the
//! "less" of a descending key `-f` is `!(a < b)`, which is *true for equal values*: descending
//! keys reverse the existing order of ties. [`go_stable`] reproduces Go's `sort.Stable`
//! (insertion sort on blocks of 20, then in-place SymMerge) swap for swap, so results match
//! IG byte for byte even with that inconsistent comparator.

use std::collections::BTreeMap;

use crate::datasource::{field_bytes, kind, FieldLoc, Record, Schema};

/// Priority of IG's sort subscription.
pub const PRIORITY: i32 = 9500;
/// Param key (`--sort`).
pub const PARAM_SORT: &str = "sort";

#[derive(Clone, Copy, Debug, PartialEq)]
enum KeyKind {
    Int(usize),
    Uint(usize),
    F32,
    F64,
    Str { cstring: bool },
}

#[derive(Clone, Debug)]
struct SortKey {
    loc: FieldLoc,
    empty: bool,
    kind: KeyKind,
    negate: bool,
}

/// The compiled sort keys of one data source.
#[derive(Clone, Debug, Default)]
pub struct Sorter {
    /// Keys in the user's order (applied last-first).
    keys: Vec<SortKey>,
    /// Field indexes of the keys, user order, with their descending flag.
    pub fields: Vec<(usize, bool)>,
}

impl Sorter {
    /// Compiles a list of field names (`-` prefix: descending; only one `-` is removed, names
    /// are not trimmed). Errors are IG's: `field x not found`,
    /// `field x cannot be used for sorting`.
    pub fn new<S: AsRef<str>>(schema: &Schema, fields: &[S]) -> Result<Sorter, String> {
        let mut s = Sorter::default();
        for name in fields {
            let name = name.as_ref();
            let (name, negate) = match name.strip_prefix('-') {
                Some(n) => (n, true),
                None => (name, false),
            };
            let Some(idx) = schema.field_index(name) else {
                return Err(format!("field {name} not found"));
            };
            let f = &schema.fields[idx];
            let kind = match f.kind {
                kind::INT8 => KeyKind::Int(1),
                kind::INT16 => KeyKind::Int(2),
                kind::INT32 => KeyKind::Int(4),
                kind::INT64 => KeyKind::Int(8),
                kind::UINT8 => KeyKind::Uint(1),
                kind::UINT16 => KeyKind::Uint(2),
                kind::UINT32 => KeyKind::Uint(4),
                kind::UINT64 => KeyKind::Uint(8),
                kind::FLOAT32 => KeyKind::F32,
                kind::FLOAT64 => KeyKind::F64,
                kind::STRING => KeyKind::Str { cstring: false },
                kind::CSTRING => KeyKind::Str { cstring: true },
                _ => return Err(format!("field {name} cannot be used for sorting")),
            };
            s.keys.push(SortKey { loc: f.loc, empty: f.empty, kind, negate });
            s.fields.push((idx, negate));
        }
        Ok(s)
    }

    /// Compiles `f1,-f2` (split on `,`, nothing trimmed).
    pub fn parse(schema: &Schema, spec: &str) -> Result<Sorter, String> {
        let fields: Vec<&str> = spec.split(',').collect();
        Sorter::new(schema, &fields)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Sorts the records of one array packet exactly like IG: for each key, last first, a
    /// full Go `sort.Stable` pass.
    pub fn sort(&self, _schema: &Schema, records: &mut [Record]) {
        for key in self.keys.iter().rev() {
            go_stable(records, |a, b| key.less(a, b));
        }
    }
}

fn raw(rec: &Record, loc: FieldLoc, empty: bool) -> &[u8] {
    if empty {
        return &[];
    }
    field_bytes(rec, loc).unwrap_or(&[])
}

fn uint_of(b: &[u8], width: usize) -> u64 {
    if b.len() != width {
        return 0;
    }
    match width {
        1 => b[0] as u64,
        2 => u16::from_ne_bytes([b[0], b[1]]) as u64,
        4 => u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as u64,
        _ => u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
    }
}

fn int_of(b: &[u8], width: usize) -> i64 {
    let u = uint_of(b, width);
    match width {
        1 => u as u8 as i8 as i64,
        2 => u as u16 as i16 as i64,
        4 => u as u32 as i32 as i64,
        _ => u as i64,
    }
}

fn str_of(b: &[u8], cstring: bool) -> &[u8] {
    if cstring {
        if let Some(n) = b.iter().position(|&c| c == 0) {
            return &b[..n];
        }
    }
    b
}

impl SortKey {
    /// IG's comparator: `(a < b) != negate`.
    fn less(&self, a: &Record, b: &Record) -> bool {
        let ra = raw(a, self.loc, self.empty);
        let rb = raw(b, self.loc, self.empty);
        let lt = match self.kind {
            KeyKind::Int(w) => int_of(ra, w) < int_of(rb, w),
            KeyKind::Uint(w) => uint_of(ra, w) < uint_of(rb, w),
            KeyKind::F32 => f32::from_bits(uint_of(ra, 4) as u32) < f32::from_bits(uint_of(rb, 4) as u32),
            KeyKind::F64 => f64::from_bits(uint_of(ra, 8)) < f64::from_bits(uint_of(rb, 8)),
            KeyKind::Str { cstring } => str_of(ra, cstring) < str_of(rb, cstring),
        };
        lt != self.negate
    }
}

/// IG's `getFieldsByDs`: the `--sort` value split on `;`, each part on `:` (exactly two
/// pieces: `ds:fields`; one piece: fields for every DS under the key `""`; three or more:
/// the *first* piece is taken as the field list for `""` — IG quirk), fields split on `,`.
/// A part whose field list is empty (or just `,`) is skipped; repeated DS names accumulate.
pub fn fields_by_ds(sort_by: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for srt in sort_by.split(';') {
        let ds_fields: Vec<&str> = srt.split(':').collect();
        let (ds, list) = if ds_fields.len() == 2 { (ds_fields[0], ds_fields[1]) } else { ("", ds_fields[0]) };
        let fields: Vec<&str> = list.split(',').collect();
        if fields.len() > 2 || !fields[0].is_empty() {
            out.entry(ds.to_string()).or_default().extend(fields.iter().map(|s| s.to_string()));
        }
    }
    out
}

/// The sorters of a gadget's data sources for a `--sort` value, in the order of `schemas`
/// (`None`: that DS is not sorted). Mirrors IG: when no DS is an array the operator is not
/// instantiated and nothing is checked (all `None`, never an error); mixing the plain and
/// the `ds:` forms is an error; a DS given sort fields that is not an array is an error;
/// DS names that do not exist are ignored.
///
/// IG walks the data sources in Go map order, so when several DSes have errors the one
/// reported may vary there; here it is the first in `schemas` order.
pub fn sorters_for(sort_by: &str, schemas: &[&Schema]) -> Result<Vec<Option<Sorter>>, String> {
    let mut out: Vec<Option<Sorter>> = schemas.iter().map(|_| None).collect();
    if !schemas.iter().any(|s| s.is_array()) {
        return Ok(out);
    }
    let by_ds = fields_by_ds(sort_by);
    let ds_specific = match by_ds.get("") {
        Some(_) if by_ds.len() > 1 => {
            return Err("mixing sorting rules with and without specifying data source".into())
        }
        Some(_) => false,
        None => true,
    };
    for (i, schema) in schemas.iter().enumerate() {
        let fields = if ds_specific { by_ds.get(&schema.name) } else { by_ds.get("") };
        let Some(fields) = fields.filter(|f| !f.is_empty()) else { continue };
        if !schema.is_array() {
            return Err("sort can only be used on array data sources".into());
        }
        out[i] = Some(Sorter::new(schema, fields)?);
    }
    Ok(out)
}

/// Go's `sort.Stable` (Go 1.x `stable` from `zsortinterface.go`): insertion sort on blocks
/// of 20, then bottom-up in-place SymMerge, performing exactly Go's comparisons and swaps.
pub fn go_stable<T, F: FnMut(&T, &T) -> bool>(data: &mut [T], mut less: F) {
    let n = data.len();
    let mut block = 20usize;
    let (mut a, mut b) = (0usize, block);
    while b <= n {
        insertion_sort(data, a, b, &mut less);
        a = b;
        b += block;
    }
    insertion_sort(data, a, n, &mut less);
    while block < n {
        a = 0;
        b = 2 * block;
        while b <= n {
            sym_merge(data, a, a + block, b, &mut less);
            a = b;
            b += 2 * block;
        }
        let m = a + block;
        if m < n {
            sym_merge(data, a, m, n, &mut less);
        }
        block *= 2;
    }
}

fn insertion_sort<T, F: FnMut(&T, &T) -> bool>(data: &mut [T], a: usize, b: usize, less: &mut F) {
    for i in a + 1..b {
        let mut j = i;
        while j > a && less(&data[j], &data[j - 1]) {
            data.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn sym_merge<T, F: FnMut(&T, &T) -> bool>(data: &mut [T], a: usize, m: usize, b: usize, less: &mut F) {
    if m - a == 1 {
        let (mut i, mut j) = (m, b);
        while i < j {
            let h = (i + j) >> 1;
            if less(&data[h], &data[a]) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        let mut k = a;
        while k + 1 < i {
            data.swap(k, k + 1);
            k += 1;
        }
        return;
    }
    if b - m == 1 {
        let (mut i, mut j) = (a, m);
        while i < j {
            let h = (i + j) >> 1;
            if !less(&data[m], &data[h]) {
                i = h + 1;
            } else {
                j = h;
            }
        }
        let mut k = m;
        while k > i {
            data.swap(k, k - 1);
            k -= 1;
        }
        return;
    }
    let mid = (a + b) >> 1;
    let n = mid + m;
    let (mut start, mut r) = if m > mid { (n - b, mid) } else { (a, m) };
    let p = n - 1;
    while start < r {
        let c = (start + r) >> 1;
        if !less(&data[p - c], &data[c]) {
            start = c + 1;
        } else {
            r = c;
        }
    }
    let end = n - start;
    if start < m && m < end {
        rotate(data, start, m, end);
    }
    if a < start && start < mid {
        sym_merge(data, a, start, mid, less);
    }
    if mid < end && end < b {
        sym_merge(data, mid, end, b, less);
    }
}

fn swap_range<T>(data: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        data.swap(a + i, b + i);
    }
}

fn rotate<T>(data: &mut [T], a: usize, m: usize, b: usize) {
    let mut i = m - a;
    let mut j = b - m;
    while i != j {
        if i > j {
            swap_range(data, m - i, m, j);
            i -= j;
        } else {
            swap_range(data, m - i, m + j - i, i);
            j -= i;
        }
    }
    swap_range(data, m - i, m, i);
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasource::{get_scalar, set_bytes, set_scalar, TYPE_ARRAY, TYPE_SINGLE};

    // Expected orders were produced by Go's sort.Stable with IG's comparators (see the
    // generator's data below, shared via the LCG).

    /// (n, seed, spec, expected order of original indexes).
    const SORTS: &[(usize, u64, &str, &[usize])] = &[
        (79, 42, "-state,pid", &[72,22,66,44,43,54,75,6,76,21,38,5,61,45,32,47,71,50,42,23,67,19,56,39,37,11,14,70,46,74,0,57,36,12,63,59,1,9,78,55,27,18,53,52,41,62,7,49,51,65,10,3,17,60,4,33,2,25,77,15,40,29,35,69,16,73,20,34,26,68,31,30,58,8,13,48,24,64,28]),
        (79, 42, "state", &[8,13,20,24,26,28,30,31,34,48,58,64,68,16,29,35,40,69,73,2,4,15,17,25,33,60,77,0,1,3,7,9,10,11,12,14,18,19,23,27,32,36,37,39,41,42,46,47,49,50,51,52,53,55,56,57,59,62,63,65,67,70,71,74,78,5,6,21,22,38,43,44,45,54,61,66,72,75,76]),
        (79, 42, "-state", &[76,75,72,66,61,54,45,44,43,38,22,21,6,5,78,74,71,70,67,65,63,62,59,57,56,55,53,52,51,50,49,47,46,42,41,39,37,36,32,27,23,19,18,14,12,11,10,9,7,3,1,0,77,60,33,25,17,15,4,2,73,69,40,35,29,16,68,64,58,48,34,31,30,28,26,24,20,13,8]),
        (79, 42, "-cpu", &[66,64,49,20,18,17,15,6,72,63,59,33,32,21,14,2,73,70,51,47,46,38,25,76,74,71,50,34,31,26,8,5,65,61,60,53,52,45,42,29,23,9,77,67,41,40,30,22,19,13,10,4,78,57,56,55,39,1,0,54,36,3,68,48,35,28,27,12,69,62,44,43,75,58,37,24,16,11,7]),
        (79, 42, "cpu", &[0,1,7,11,16,24,37,58,43,44,62,12,27,28,35,48,3,36,39,54,55,56,57,4,10,13,19,22,30,9,23,29,60,61,65,5,8,26,31,63,64,66,75,69,68,78,40,41,67,77,42,45,52,53,34,50,71,74,76,25,38,46,47,51,70,73,2,14,21,32,33,59,72,6,15,17,18,20,49]),
        (79, 42, "comm,-pid", &[50,67,11,66,63,1,6,77,16,7,64,38,45,71,60,42,56,26,22,57,59,55,75,13,48,69,24,15,3,20,32,40,4,37,33,44,43,54,41,65,47,34,72,0,36,31,30,78,25,76,62,49,21,28,19,14,2,70,74,35,51,61,10,17,23,39,46,29,68,12,9,27,58,18,8,53,52,73,5]),
        (79, 42, "-state,-comm", &[6,38,45,66,22,75,43,44,54,21,72,76,61,5,1,7,11,50,63,67,3,42,55,56,57,59,71,32,37,41,65,0,36,47,49,62,78,10,14,19,51,70,74,9,12,18,23,27,39,46,52,53,77,15,60,4,33,25,2,17,16,69,40,35,29,73,64,13,24,26,48,20,28,30,31,34,8,58,68]),
        (79, 42, "pid", &[28,3,10,45,61,65,5,38,51,73,21,15,49,64,7,16,24,62,69,35,48,13,41,77,52,53,8,76,25,6,18,58,75,27,54,55,78,30,9,1,31,59,63,43,44,66,12,68,36,57,0,22,29,26,74,46,70,2,14,33,72,11,37,39,56,4,19,40,67,23,42,60,34,50,71,47,32,17,20]),
        (79, 42, "-pid", &[20,17,32,47,71,50,34,60,42,23,67,40,19,4,56,39,37,11,72,33,14,2,70,46,74,26,29,22,0,57,36,68,12,66,44,43,63,59,31,1,9,30,78,55,54,27,75,58,18,6,25,76,8,53,52,77,41,13,48,35,69,62,24,16,7,64,49,15,21,73,51,38,5,65,61,45,10,3,28]),
        (79, 42, "-k", &[68,61,60,58,56,46,40,29,26,25,17,15,7,5,1,77,75,74,73,66,63,55,51,49,45,37,36,35,27,22,20,19,12,11,8,4,3,78,72,70,67,65,62,59,57,50,48,47,44,43,42,34,32,28,23,16,14,10,9,6,2,76,71,69,64,54,53,52,41,39,38,33,31,30,24,21,18,13,0]),
        (79, 42, "k,-comm,state", &[53,52,39,18,76,21,0,31,30,54,41,33,71,69,24,13,38,64,23,9,70,14,10,2,72,78,62,47,34,28,44,43,65,32,59,57,42,48,6,67,50,16,27,12,73,8,74,51,19,35,49,36,37,4,20,75,22,55,3,66,45,63,11,77,5,46,17,29,68,58,61,25,40,56,60,15,26,7,1]),
        (0, 7, "-k", &[]),
        (0, 7, "k", &[]),
        (0, 7, "-state,pid", &[]),
        (1, 8, "-k", &[0]),
        (1, 8, "k", &[0]),
        (1, 8, "-state,pid", &[0]),
        (2, 9, "-k", &[1,0]),
        (2, 9, "k", &[0,1]),
        (2, 9, "-state,pid", &[0,1]),
        (3, 10, "-k", &[2,0,1]),
        (3, 10, "k", &[1,0,2]),
        (3, 10, "-state,pid", &[2,1,0]),
        (19, 26, "-k", &[4,0,18,13,10,8,7,6,5,14,9,3,2,17,16,15,12,11,1]),
        (19, 26, "k", &[1,11,12,15,16,17,2,3,9,14,5,6,7,8,10,13,18,0,4]),
        (19, 26, "-state,pid", &[2,10,8,0,1,15,18,13,7,9,3,17,11,14,12,4,6,16,5]),
        (20, 27, "-k", &[19,16,13,11,9,8,10,7,3,1,18,14,12,17,15,6,5,4,2,0]),
        (20, 27, "k", &[0,2,4,5,6,15,17,12,14,18,1,3,7,10,8,9,11,13,16,19]),
        (20, 27, "-state,pid", &[3,17,18,16,8,15,13,9,7,2,1,19,5,11,0,10,14,4,12,6]),
        (21, 28, "-k", &[14,12,11,10,2,18,17,16,13,5,1,19,15,9,8,7,0,20,6,4,3]),
        (21, 28, "k", &[3,4,6,20,0,7,8,9,15,19,1,5,13,16,17,18,2,10,11,12,14]),
        (21, 28, "-state,pid", &[20,13,3,15,17,19,11,5,0,16,8,14,4,12,1,6,7,18,9,10,2]),
        (39, 46, "-k", &[33,32,31,28,26,20,18,16,12,6,4,38,37,36,27,25,19,15,13,11,8,34,30,29,24,14,5,3,1,0,35,23,22,21,17,10,9,7,2]),
        (39, 46, "k", &[2,7,9,10,17,21,22,23,35,0,1,3,5,14,24,29,30,34,8,11,13,15,19,25,27,36,37,38,4,6,12,16,18,20,26,28,31,32,33]),
        (39, 46, "-state,pid", &[28,13,31,18,11,19,8,26,16,3,30,23,10,4,24,36,32,15,7,17,34,21,33,27,0,14,1,22,20,6,5,12,38,29,35,2,37,9,25]),
        (40, 47, "-k", &[38,35,34,29,22,21,8,6,5,2,1,36,31,27,23,20,16,14,12,3,33,32,30,28,26,25,24,17,15,13,11,10,39,37,19,18,9,7,4,0]),
        (40, 47, "k", &[0,4,7,9,18,19,37,39,10,11,13,15,17,24,25,26,28,30,32,33,3,12,14,16,20,23,27,31,36,1,2,5,6,8,21,22,29,34,35,38]),
        (40, 47, "-state,pid", &[33,7,1,0,20,4,11,31,8,12,2,16,5,3,34,15,38,26,10,35,14,13,17,32,30,27,29,39,28,23,9,18,22,6,25,36,24,37,21,19]),
        (41, 48, "-k", &[38,37,35,33,28,23,17,15,11,10,9,7,1,39,36,30,25,21,20,19,14,4,2,27,26,18,16,12,8,6,0,40,34,32,31,29,24,22,13,5,3]),
        (41, 48, "k", &[3,5,13,22,24,29,31,32,34,40,0,6,8,12,16,18,26,27,2,4,14,19,20,21,25,30,36,39,1,7,9,10,11,15,17,23,28,33,35,37,38]),
        (41, 48, "-state,pid", &[29,21,32,10,35,11,22,12,1,2,40,19,23,18,28,8,20,15,3,14,5,34,30,38,17,27,24,25,37,33,16,39,31,36,6,13,0,26,7,9,4]),
        (60, 67, "-k", &[59,57,51,50,44,40,12,8,3,1,56,55,53,48,47,46,41,38,36,30,26,24,23,20,17,15,14,9,2,54,45,43,39,35,34,31,28,19,16,11,10,7,5,58,52,49,42,37,33,32,29,27,25,22,21,18,13,6,4,0]),
        (60, 67, "k", &[0,4,6,13,18,21,22,25,27,29,32,33,37,42,49,52,58,5,7,10,11,16,19,28,31,34,35,39,43,45,54,2,9,14,15,17,20,23,24,26,30,36,38,41,46,47,48,53,55,56,1,3,8,12,40,44,50,51,57,59]),
        (60, 67, "-state,pid", &[39,46,29,6,54,56,55,59,51,15,37,13,4,40,27,48,22,19,18,0,43,23,42,53,24,31,45,11,49,28,9,30,33,50,12,57,14,5,3,26,38,7,20,2,16,34,25,10,35,58,47,8,36,21,44,17,32,1,52,41]),
        (61, 68, "-k", &[59,56,49,47,44,39,29,28,27,25,21,20,5,1,57,51,46,45,40,34,30,26,24,19,18,14,12,8,4,55,54,53,50,48,37,36,31,22,13,10,7,2,0,60,58,52,43,42,41,38,35,33,32,23,17,16,15,11,9,6,3]),
        (61, 68, "k", &[3,6,9,11,15,16,17,23,32,33,35,38,41,42,43,52,58,60,0,2,7,10,13,22,31,36,37,48,50,53,54,55,4,8,12,14,18,19,24,26,30,34,40,45,46,51,57,1,5,20,21,25,27,28,29,39,44,47,49,56,59]),
        (61, 68, "-state,pid", &[6,50,47,21,11,31,27,4,29,52,23,38,57,15,58,40,32,35,54,18,46,22,39,16,8,24,7,5,26,28,44,37,9,2,30,20,42,14,41,13,56,60,12,0,43,3,48,33,34,55,59,25,45,51,36,17,10,49,19,53,1]),
        (100, 107, "-k", &[97,93,91,87,86,85,66,57,48,43,41,40,22,13,8,7,0,84,81,74,73,70,67,65,62,56,55,53,46,45,42,39,38,36,34,27,26,25,24,23,19,17,5,4,3,99,95,79,76,72,68,64,61,60,58,54,52,51,49,47,37,31,28,20,15,10,98,96,94,92,90,89,88,83,82,80,78,77,75,71,69,63,59,50,44,35,33,32,30,29,21,18,16,14,12,11,9,6,2,1]),
        (100, 107, "k", &[1,2,6,9,11,12,14,16,18,21,29,30,32,33,35,44,50,59,63,69,71,75,77,78,80,82,83,88,89,90,92,94,96,98,10,15,20,28,31,37,47,49,51,52,54,58,60,61,64,68,72,76,79,95,99,3,4,5,17,19,23,24,25,26,27,34,36,38,39,42,45,46,53,55,56,62,65,67,70,73,74,81,84,0,7,8,13,22,40,41,43,48,57,66,85,86,87,91,93,97]),
        (100, 107, "-state,pid", &[16,55,21,6,83,53,56,86,79,47,18,14,95,89,24,42,62,98,94,97,77,54,58,31,65,12,74,27,10,99,87,45,80,72,11,76,7,57,34,9,28,2,0,43,41,93,51,49,96,33,68,13,39,70,66,85,63,82,69,61,38,59,30,36,37,78,1,26,32,20,91,22,81,3,84,4,67,64,92,71,44,52,23,88,19,35,73,5,90,15,48,40,8,50,60,25,17,46,29,75]),
        (161, 168, "-k", &[160,148,135,129,126,118,117,104,100,96,80,76,68,65,61,57,52,41,39,34,27,23,22,20,14,1,153,147,144,143,133,132,131,123,121,120,116,115,113,110,108,103,102,98,92,91,89,75,73,70,69,67,63,60,53,48,46,44,43,42,33,32,29,28,15,12,10,9,5,3,2,0,159,157,156,155,152,139,136,134,119,111,109,105,101,99,97,95,90,88,87,86,85,83,74,72,66,62,58,54,51,50,45,31,30,26,25,24,18,17,13,158,154,151,150,149,146,145,142,141,140,138,137,130,128,127,125,124,122,114,112,107,106,94,93,84,82,81,79,78,77,71,64,59,56,55,49,47,40,38,37,36,35,21,19,16,11,8,7,6,4]),
        (161, 168, "k", &[4,6,7,8,11,16,19,21,35,36,37,38,40,47,49,55,56,59,64,71,77,78,79,81,82,84,93,94,106,107,112,114,122,124,125,127,128,130,137,138,140,141,142,145,146,149,150,151,154,158,13,17,18,24,25,26,30,31,45,50,51,54,58,62,66,72,74,83,85,86,87,88,90,95,97,99,101,105,109,111,119,134,136,139,152,155,156,157,159,0,2,3,5,9,10,12,15,28,29,32,33,42,43,44,46,48,53,60,63,67,69,70,73,75,89,91,92,98,102,103,108,110,113,115,116,120,121,123,131,132,133,143,144,147,153,1,14,20,22,23,27,34,39,41,52,57,61,65,68,76,80,96,100,104,117,118,126,129,135,148,160]),
        (161, 168, "-state,pid", &[5,90,81,139,106,104,40,133,116,45,160,28,151,72,25,53,11,37,29,135,101,82,75,158,60,141,83,102,94,84,77,71,2,70,32,27,98,64,12,47,156,107,54,1,115,93,127,114,43,31,9,118,123,41,26,125,49,22,159,87,21,105,89,68,15,144,0,8,155,126,78,39,138,23,42,14,56,92,142,69,35,119,132,17,152,58,36,117,129,128,33,4,24,99,124,137,112,63,65,50,20,66,146,110,100,122,147,145,46,134,86,120,103,3,67,108,109,57,136,38,113,62,59,18,148,88,19,91,157,48,97,55,76,143,150,74,51,130,153,96,61,111,140,79,95,80,85,13,6,7,73,34,149,154,52,131,16,10,30,121,44]),
    ];

    const STATES: [&str; 7] = ["R", "S", "S", "D", "I", "Z", "S"];

    fn schema() -> Schema {
        let mut s = Schema::new("processes", TYPE_ARRAY);
        s.add_field("idx", kind::UINT32).unwrap();
        s.add_field("state", kind::STRING).unwrap();
        s.add_field("pid", kind::INT32).unwrap();
        s.add_field("comm", kind::CSTRING).unwrap();
        s.add_field("cpu", kind::FLOAT64).unwrap();
        s.add_field("k", kind::UINT8).unwrap();
        s.add_field("raw", kind::BYTES).unwrap();
        s.add_field("b", kind::BOOL).unwrap();
        s
    }

    fn gen(s: &Schema, n: usize, seed: u64) -> Vec<Record> {
        let mut x = seed;
        let loc = |name: &str| s.fields[s.field_index(name).unwrap()].loc;
        (0..n)
            .map(|i| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let r = x >> 33;
                let cpu = if r.is_multiple_of(23) { f64::NAN } else { (r % 10) as f64 / 4.0 };
                let mut rec = s.new_record();
                set_scalar(&mut rec, loc("idx"), kind::UINT32, i as u64).unwrap();
                set_bytes(&mut rec, loc("state"), STATES[(r % 7) as usize].as_bytes()).unwrap();
                set_scalar(&mut rec, loc("pid"), kind::INT32, ((r % 50) as i64 - 10) as u64).unwrap();
                // CString payload with a NUL and junk after it: compared up to the NUL.
                set_bytes(&mut rec, loc("comm"), format!("c{}\0{}", r / 7 % 6, i % 3).as_bytes()).unwrap();
                set_scalar(&mut rec, loc("cpu"), kind::FLOAT64, cpu.to_bits()).unwrap();
                set_scalar(&mut rec, loc("k"), kind::UINT8, r / 11 % 4).unwrap();
                rec
            })
            .collect()
    }

    #[test]
    fn go_sort_stable_byte_exact() {
        let s = schema();
        let idx = s.fields[0].loc;
        for &(n, seed, spec, want) in SORTS {
            let mut recs = gen(&s, n, seed);
            let sorter = Sorter::parse(&s, spec).unwrap();
            sorter.sort(&s, &mut recs);
            let got: Vec<usize> = recs.iter().map(|r| get_scalar(r, idx, kind::UINT32).unwrap() as usize).collect();
            assert_eq!(got, want, "n={n} spec={spec}");
        }
    }

    #[test]
    fn go_stable_plain_ints() {
        // A consistent comparator must give an ordinary stable sort.
        let mut v: Vec<(u32, usize)> = (0..333).map(|i| ((i * 7919 % 13) as u32, i)).collect();
        let mut w = v.clone();
        go_stable(&mut v, |a, b| a.0 < b.0);
        w.sort_by_key(|e| e.0);
        assert_eq!(v, w);
    }

    #[test]
    fn errors_match_ig() {
        let s = schema();
        assert_eq!(Sorter::parse(&s, "nosuch").unwrap_err(), "field nosuch not found");
        assert_eq!(Sorter::parse(&s, "pid,--pid").unwrap_err(), "field -pid not found");
        assert_eq!(Sorter::parse(&s, "pid, comm").unwrap_err(), "field  comm not found");
        assert_eq!(Sorter::parse(&s, "raw").unwrap_err(), "field raw cannot be used for sorting");
        assert_eq!(Sorter::parse(&s, "-b").unwrap_err(), "field b cannot be used for sorting");
        assert!(Sorter::parse(&s, "PID,-Comm").is_ok());
    }

    /// (value, sorted (ds, fields)) from IG's getFieldsByDs.
    #[allow(clippy::type_complexity)]
    const FIELDS_BY_DS: &[(&str, &[(&str, &[&str])])] = &[
        ("", &[]),
        ("a", &[("", &["a", ]), ]),
        ("a,-b", &[("", &["a", "-b", ]), ]),
        ("ds:a,b", &[("ds", &["a", "b", ]), ]),
        ("ds:a;ds2:-b", &[("ds", &["a", ]), ("ds2", &["-b", ]), ]),
        ("ds:a;ds:b", &[("ds", &["a", "b", ]), ]),
        ("ds:", &[]),
        (",", &[]),
        (",,", &[("", &["", "", "", ]), ]),
        ("a;ds:b", &[("", &["a", ]), ("ds", &["b", ]), ]),
        ("a:b:c", &[("", &["a", ]), ]),
        (";a", &[("", &["a", ]), ]),
        ("ds:a,;x", &[("", &["x", ]), ("ds", &["a", "", ]), ]),
        ("ds:,", &[]),
    ];

    #[test]
    fn fields_by_ds_matches_ig() {
        for &(v, want) in FIELDS_BY_DS {
            let got = fields_by_ds(v);
            let want: BTreeMap<String, Vec<String>> =
                want.iter().map(|(k, f)| (k.to_string(), f.iter().map(|s| s.to_string()).collect())).collect();
            assert_eq!(got, want, "{v:?}");
        }
    }

    #[test]
    fn sorters_for_data_sources() {
        let arr = schema();
        let mut single = Schema::new("events", TYPE_SINGLE);
        single.add_field("pid", kind::INT32).unwrap();
        let mut arr2 = schema();
        arr2.name = "other".into();

        // No array DS: operator not instantiated, nothing checked.
        assert!(sorters_for("nosuch", &[&single]).unwrap().iter().all(Option::is_none));
        // Plain form: every DS; a single DS with sort fields is an error.
        assert_eq!(
            sorters_for("pid", &[&arr, &single]).unwrap_err(),
            "sort can only be used on array data sources"
        );
        let r = sorters_for("-pid", &[&arr, &arr2]).unwrap();
        assert!(r[0].is_some() && r[1].is_some());
        // Per-DS form: others untouched, unknown DS names ignored.
        let r = sorters_for("processes:pid;nosuchds:x", &[&arr, &single, &arr2]).unwrap();
        assert!(r[0].is_some() && r[1].is_none() && r[2].is_none());
        assert_eq!(
            sorters_for("events:pid", &[&arr, &single]).unwrap_err(),
            "sort can only be used on array data sources"
        );
        assert_eq!(
            sorters_for("pid;processes:comm", &[&arr]).unwrap_err(),
            "mixing sorting rules with and without specifying data source"
        );
        assert_eq!(sorters_for("processes:nosuch", &[&arr]).unwrap_err(), "field nosuch not found");
        assert!(sorters_for("", &[&arr]).unwrap()[0].is_none());
        assert_eq!(sorters_for(",,", &[&arr]).unwrap_err(), "field  not found");
    }
}
