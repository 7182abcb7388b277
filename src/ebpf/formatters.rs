//! The eBPF layer's own formatters (IG `pkg/operators/ebpf/formatters.go`): BTF enums to
//! their names and kernel stack ids to symbol lists. Their output fields are added when the
//! data sources are registered (so a wasm `gadgetInit` can look them up) and they subscribe
//! at priority 0 before the wasm program's `gadgetPreStart`.

use std::sync::{Arc, Mutex};

use crate::datasource::{field_bytes, kind, set_bytes, FieldLoc, Record, Schema};
use crate::ebpf::maps::RawMap;
use crate::ebpf::object::EnumField;
use crate::operators::stacks::{kernel_stack_string, KernelSymbols};
use crate::operators::{sibling_string, OpCtx, OpResult, RecordOp, SchemaEdit};

/// Values of one enum, as the formatter reads them.
#[derive(Clone, Debug)]
pub struct EnumTable {
    pub values: Vec<(String, u64)>,
    pub signed: bool,
    /// The enum's type name ends in `_set`: a bit set.
    pub is_set: bool,
}

/// Formats one enum field.
struct EnumConv {
    input: FieldLoc,
    width: usize,
    out: FieldLoc,
    table: EnumTable,
    sep: String,
}

/// Formats one kernel stack field.
struct KstackConv {
    input: FieldLoc,
    out: FieldLoc,
}

/// The eBPF layer's formatters of one data source.
pub struct EbpfFormatters {
    enums: Vec<EnumConv>,
    kstacks: Vec<KstackConv>,
    /// The gadget's maps once loaded (`ig_kstack` is looked up there).
    maps: Arc<Mutex<Vec<(String, Arc<RawMap>)>>>,
    kstack_map: Option<Arc<RawMap>>,
    symbols: Option<KernelSymbols>,
    warnings: Vec<String>,
    text: String,
}

/// IG `byteSliceAsUint64`: the value sign-extended when the enum is signed.
fn read_enum(b: &[u8], signed: bool) -> u64 {
    match (b.len(), signed) {
        (1, true) => b[0] as i8 as i64 as u64,
        (2, true) => i16::from_ne_bytes([b[0], b[1]]) as i64 as u64,
        (4, true) => i32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as i64 as u64,
        (1, false) => b[0] as u64,
        (2, false) => u16::from_ne_bytes([b[0], b[1]]) as u64,
        (4, false) => u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as u64,
        (8, _) => u64::from_ne_bytes(b.try_into().unwrap_or([0; 8])),
        _ => 0,
    }
}

/// The text of enum value `v` (IG: first equal member or `UNKNOWN`; bit sets: every member
/// whose bits are all set, joined by `sep`).
pub fn enum_text(t: &EnumTable, v: u64, sep: &str, out: &mut String) {
    if t.is_set {
        let mut first = true;
        for (name, m) in &t.values {
            if v & m == *m {
                if !first {
                    out.push_str(sep);
                }
                out.push_str(name);
                first = false;
            }
        }
    } else {
        out.push_str(t.values.iter().find(|(_, m)| *m == v).map(|(n, _)| n.as_str()).unwrap_or("UNKNOWN"));
    }
}

impl RecordOp for EbpfFormatters {
    fn apply(&mut self, cx: &OpCtx, _schema: &Schema, rec: &mut Record) -> OpResult {
        for e in &self.enums {
            let Some(b) = field_bytes(rec, e.input).filter(|b| b.len() == e.width) else { continue };
            let v = read_enum(b, e.table.signed);
            self.text.clear();
            enum_text(&e.table, v, &e.sep, &mut self.text);
            let _ = set_bytes(rec, e.out, self.text.as_bytes());
        }
        if !self.kstacks.is_empty() && self.kstack_map.is_none() {
            let maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
            self.kstack_map = maps.iter().find(|(n, _)| n == "ig_kstack").map(|(_, m)| m.clone());
        }
        for k in &self.kstacks {
            let id = field_bytes(rec, k.input).filter(|b| b.len() == 4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
            let text = match (id, &self.kstack_map, &self.symbols) {
                (Some(id), Some(map), Some(syms)) => kernel_stack_string(map, syms, id, &mut self.warnings),
                _ => String::new(),
            };
            for w in self.warnings.drain(..) {
                cx.warn(&w);
            }
            let _ = set_bytes(rec, k.out, text.as_bytes());
        }
        Ok(())
    }
}

/// Adds the enum and kernel-stack output fields of one data source (IG
/// `initEnumFormatter`, `initStackConverter`) and returns the formatter, if any.
pub fn instantiate(
    ed: &mut SchemaEdit,
    enums: &[EnumField],
    has_kstack_map: bool,
    maps: Arc<Mutex<Vec<(String, Arc<RawMap>)>>>,
    warn: &mut dyn FnMut(String),
) -> Result<Option<EbpfFormatters>, String> {
    let mut convs = Vec::new();
    let mut added: Vec<String> = Vec::new();
    // One read of the kernel BTF for all of them.
    let mut kernel = kernel_enums(&enums.iter().map(|e| e.enum_name.as_str()).collect::<Vec<_>>()).into_iter();
    for en in enums {
        let kernel_table = kernel.next().flatten();
        let Some(input) = ed.schema.field_index(&en.field).filter(|&i| ed.schema.fields[i].name == en.field) else {
            continue;
        };
        ed.schema.fields[input].hidden = true;
        let table = kernel_table.unwrap_or_else(|| EnumTable {
            values: en.values.iter().map(|(n, v)| (n.clone(), *v as u64)).collect(),
            signed: kind::is_signed(ed.schema.fields[input].kind),
            is_set: en.enum_name.ends_with("_set"),
        });
        let Some(target) = ed.target_name(input, "ebpf.formatter.enum") else {
            warn(format!(
                "getting target name for enum field {:?}: neither \"ebpf.formatter.enum\" annotation nor '_raw' suffix found",
                ed.schema.fields[input].short_name()
            ));
            continue;
        };
        if added.contains(&target) {
            continue;
        }
        added.push(target.clone());
        let nf = sibling_string(ed.schema, input, &target, false, None);
        let out = ed.add(nf).map_err(|e| e.to_string())?;
        let f = &ed.schema.fields[input];
        let sep = f.annotations.get("ebpf.formatter.bitfield.separator").filter(|s| !s.is_empty()).cloned();
        let width = match f.loc {
            FieldLoc::Static { size, .. } => size,
            FieldLoc::Slot(_) => kind::width(f.kind).unwrap_or(0),
        };
        convs.push(EnumConv { input: f.loc, width, out: ed.schema.fields[out].loc, table, sep: sep.unwrap_or_else(|| "|".into()) });
    }
    let mut kstacks = Vec::new();
    let mut symbols = None;
    for input in ed.fields_with_tag("type:gadget_kernel_stack") {
        ed.schema.fields[input].hidden = true;
        if symbols.is_none() {
            symbols = Some(KernelSymbols::load()?);
        }
        if !has_kstack_map {
            return Err("kernel stack map is not initialized but used. if you are using `gadget_kernel_stack` as event field, try to include <gadget/kernel_stack_map.h>".into());
        }
        let Some(target) = ed.target_name(input, "ebpf.formatter.kstack") else {
            warn(format!(
                "getting target name for kstack field {:?}: neither \"ebpf.formatter.kstack\" annotation nor '_raw' suffix found",
                ed.schema.fields[input].short_name()
            ));
            continue;
        };
        let nf = sibling_string(ed.schema, input, &target, false, None);
        let out = ed.add(nf).map_err(|e| e.to_string())?;
        kstacks.push(KstackConv { input: ed.schema.fields[input].loc, out: ed.schema.fields[out].loc });
    }
    if convs.is_empty() && kstacks.is_empty() {
        return Ok(None);
    }
    Ok(Some(EbpfFormatters { enums: convs, kstacks, maps, kstack_map: None, symbols, warnings: Vec::new(), text: String::new() }))
}

/// The kernel's enum of this name (IG prefers it over the gadget's copy), read from
/// `/sys/kernel/btf/vmlinux` without decoding anything else.
pub fn kernel_enum(name: &str) -> Option<EnumTable> {
    kernel_enums(&[name]).pop().flatten()
}

/// [`kernel_enum`] for several names, reading the kernel BTF (several MiB) at most once.
/// The tables are kept for the process (the kernel's enums do not change; they are small).
pub fn kernel_enums(names: &[&str]) -> Vec<Option<EnumTable>> {
    static KNOWN: Mutex<Option<std::collections::HashMap<String, Option<EnumTable>>>> = Mutex::new(None);
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    let known = known.get_or_insert_with(Default::default);
    let missing: Vec<&str> = names.iter().copied().filter(|n| !n.is_empty() && !known.contains_key(*n)).collect();
    if !missing.is_empty() {
        let data = std::fs::read("/sys/kernel/btf/vmlinux").unwrap_or_default();
        for n in missing {
            known.insert(n.to_string(), find_enum(&data, n));
        }
    }
    names.iter().map(|n| known.get(*n).cloned().flatten()).collect()
}

/// Scans raw BTF for an ENUM/ENUM64 named `name`.
pub fn find_enum(data: &[u8], name: &str) -> Option<EnumTable> {
    let rd = |o: usize| -> Option<u32> { Some(u32::from_le_bytes(data.get(o..o + 4)?.try_into().ok()?)) };
    if data.len() < 24 || u16::from_le_bytes([data[0], data[1]]) != 0xeb9f {
        return None;
    }
    let hdr = rd(4)? as usize;
    let (toff, tlen, soff, slen) = (rd(8)? as usize, rd(12)? as usize, rd(16)? as usize, rd(20)? as usize);
    let (ts, ss) = (hdr + toff, hdr + soff);
    let strings = data.get(ss..ss + slen)?;
    let string_at = |off: u32| -> &[u8] {
        let s = strings.get(off as usize..).unwrap_or(&[]);
        &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
    };
    let mut o = ts;
    let end = ts.checked_add(tlen)?.min(data.len());
    while o + 12 <= end {
        let (name_off, info) = (rd(o)?, rd(o + 4)?);
        let vlen = (info & 0xffff) as usize;
        let k = (info >> 24) & 0x1f;
        let kflag = info >> 31 == 1;
        let extra = match k {
            1 | 14 | 17 => 4,
            3 => 12,
            4 | 5 | 15 => 12 * vlen,
            6 | 13 => 8 * vlen,
            19 => 12 * vlen,
            _ => 0,
        };
        if (k == 6 || k == 19) && string_at(name_off) == name.as_bytes() {
            let mut values = Vec::with_capacity(vlen);
            for i in 0..vlen {
                let m = o + 12 + i * if k == 6 { 8 } else { 12 };
                let n = String::from_utf8_lossy(string_at(rd(m)?)).into_owned();
                let v = if k == 6 {
                    let v = rd(m + 4)?;
                    if kflag { v as i32 as i64 as u64 } else { v as u64 }
                } else {
                    (rd(m + 4)? as u64) | ((rd(m + 8)? as u64) << 32)
                };
                values.push((n, v));
            }
            return Some(EnumTable { values, signed: kflag, is_set: name.ends_with("_set") });
        }
        o += 12 + extra;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_text_follows_ig() {
        let t = EnumTable { values: vec![("RED".into(), 0), ("GREEN".into(), 1), ("BLUE".into(), 7)], signed: false, is_set: false };
        let s = |v| {
            let mut o = String::new();
            enum_text(&t, v, "|", &mut o);
            o
        };
        assert_eq!((s(0), s(1), s(7), s(5)), ("RED".into(), "GREEN".into(), "BLUE".into(), "UNKNOWN".into()));
        let p = EnumTable { values: vec![("P_READ".into(), 1), ("P_WRITE".into(), 2), ("P_EXEC".into(), 4)], signed: false, is_set: true };
        let s = |v| {
            let mut o = String::new();
            enum_text(&p, v, "|", &mut o);
            o
        };
        assert_eq!((s(0), s(3), s(8), s(9)), ("".into(), "P_READ|P_WRITE".into(), "".into(), "P_READ".into()));
    }

    #[test]
    fn kernel_enums_are_found_in_vmlinux_btf() {
        // Present in every kernel with BTF.
        let t = kernel_enum("bpf_map_type").expect("bpf_map_type in /sys/kernel/btf/vmlinux");
        assert_eq!(t.values.iter().find(|(n, _)| n == "BPF_MAP_TYPE_HASH").map(|v| v.1), Some(1));
        assert!(kernel_enum("no_such_enum_xyz").is_none());
    }
}
