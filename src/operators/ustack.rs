//! IG's `ustack` operator (priority 100): for every `struct gadget_user_stack` field it adds
//! the hidden text sub-fields `addresses`, `buildid` and `symbols`, filled from the gadget's
//! `ig_ustack` and `ig_build_id` maps and the target's executable (`stacks`).

use std::sync::{Arc, Mutex};

use super::stacks::{Symbolizers, UserStack, UserStackResolver};
use super::{OpCtx, OpResult, RecordOp, SchemaEdit};
use crate::datasource::{field_bytes, kind, read_value, set_bytes, FieldLoc, NewField, Record, Schema, Value};
use crate::ebpf::maps::RawMap;

/// The gadget's loaded maps, filled when the eBPF side starts.
pub type SharedMaps = Arc<Mutex<Vec<(String, Arc<RawMap>)>>>;

/// The members the operator needs, with the name IG's warning gives a missing one.
const REQUIRED: [(&str, &str); 12] = [
    ("tgid_level0", "tgid (level 0)"),
    ("pid_level0", "pid (level 0)"),
    ("pidns_level0", "pidns (level 0)"),
    ("pid_level1", "pid (level 1)"),
    ("pidns_level1", "pidns (level 1)"),
    ("stack_id", "stack_id"),
    ("major", "major"),
    ("minor", "minor"),
    ("inode", "inode"),
    ("mtime_sec", "mtime_sec"),
    ("mtime_nsec", "mtime_nsec"),
    ("base_addr_hash", "base_addr_hash"),
];

struct StackFields {
    members: [FieldLoc; 12],
    boot_timestamp: Option<FieldLoc>,
    out: [FieldLoc; 3],
    container: Option<usize>,
    comm: Option<usize>,
}

/// The user-stack resolver of one data source.
pub struct Ustack {
    stacks: Vec<StackFields>,
    resolver: Option<UserStackResolver>,
    maps: SharedMaps,
    /// `ig_ustack` and `ig_build_id`, looked up in `maps` on first use.
    ustack_map: Option<std::sync::Arc<RawMap>>,
    build_id_map: Option<std::sync::Arc<RawMap>>,
    warnings: Vec<String>,
}

fn num(rec: &Record, loc: FieldLoc) -> u64 {
    match field_bytes(rec, loc) {
        Some(b) if b.len() <= 8 => {
            let mut a = [0u8; 8];
            a[..b.len()].copy_from_slice(b);
            u64::from_ne_bytes(a)
        }
        _ => 0,
    }
}

fn text(schema: &Schema, rec: &Record, f: Option<usize>) -> String {
    match f.map(|i| read_value(rec, &schema.fields[i])) {
        Some(Value::Str(s)) => String::from_utf8_lossy(s).into_owned(),
        _ => String::new(),
    }
}

impl RecordOp for Ustack {
    fn apply(&mut self, cx: &OpCtx, schema: &Schema, rec: &mut Record) -> OpResult {
        let Some(resolver) = self.resolver.as_mut() else { return Ok(()) };
        for s in &self.stacks {
            // Stacks off (the common case): nothing to do, no lock taken.
            if num(rec, s.members[8]) == 0 {
                continue;
            }
            if self.ustack_map.is_none() {
                let maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
                let get = |n: &str| maps.iter().find(|(m, _)| m == n).map(|(_, m)| m.clone());
                self.ustack_map = get("ig_ustack");
                self.build_id_map = get("ig_build_id");
            }
            let (ustack, build_id) = (&self.ustack_map, &self.build_id_map);
            let m = |i: usize| num(rec, s.members[i]);
            let st = UserStack {
                tgid_level0: m(0) as u32,
                pid_level0: m(1) as u32,
                pidns_level0: m(2) as u32,
                pid_level1: m(3) as u32,
                pidns_level1: m(4) as u32,
                stack_id: m(5) as u32,
                major: m(6) as u32,
                minor: m(7) as u32,
                inode: m(8),
                mtime_sec: m(9) as i64,
                mtime_nsec: m(10) as u32,
                base_addr_hash: m(11) as u32,
                boot_timestamp: s.boot_timestamp.map(|l| num(rec, l)),
            };
            let Some(map) = &ustack else {
                cx.warn("user stack map is missing");
                continue;
            };
            let (container, comm) = (text(schema, rec, s.container), text(schema, rec, s.comm));
            let out = resolver.resolve(&st, &container, &comm, map, build_id.as_deref(), &mut self.warnings);
            for w in self.warnings.drain(..) {
                cx.warn(&w);
            }
            let _ = set_bytes(rec, s.out[0], out.addresses.as_bytes());
            let _ = set_bytes(rec, s.out[1], out.buildid.as_bytes());
            let _ = set_bytes(rec, s.out[2], out.symbols.as_bytes());
        }
        Ok(())
    }
}

/// Hides every user-stack struct of one data source, adds its text sub-fields and returns
/// the resolver (`None` when the data source has no complete user-stack struct).
pub fn instantiate(ed: &mut SchemaEdit, maps: SharedMaps, symbolizers: &str, warn: &mut dyn FnMut(String)) -> Result<Option<Ustack>, String> {
    let mut stacks = Vec::new();
    for input in ed.fields_with_tag("type:gadget_user_stack") {
        ed.schema.set_hidden_recursive(input, true);
        let sub = |ed: &SchemaEdit, n: &str| -> Vec<usize> {
            let tag = format!("name:{n}");
            ed.schema.children(input).filter(|&i| ed.schema.fields[i].tags.contains(&tag)).collect()
        };
        let mut members = [FieldLoc::Slot(usize::MAX); 12];
        let mut missing = None;
        for (k, (n, label)) in REQUIRED.iter().enumerate() {
            match sub(ed, n).as_slice() {
                [i] => members[k] = ed.schema.fields[*i].loc,
                _ => {
                    missing = Some(*label);
                    break;
                }
            }
        }
        if let Some(label) = missing {
            warn(format!("no {label} field found"));
            continue;
        }
        let boot_timestamp = sub(ed, "boot_timestamp").first().map(|&i| ed.schema.fields[i].loc);
        let mut out = [FieldLoc::Slot(usize::MAX); 3];
        for (k, n) in ["addresses", "buildid", "symbols"].iter().enumerate() {
            let i = ed
                .add(NewField {
                    name: n.to_string(),
                    kind: kind::STRING,
                    parent: Some(input),
                    order: Some(0),
                    tags: vec![format!("name:{n}"), "operator:ustack".into()],
                    hidden: true,
                    ..Default::default()
                })
                .map_err(|e| e.to_string())?;
            out[k] = ed.schema.fields[i].loc;
        }
        let container = ed.schema.field_index("runtime.containerName");
        let comm = ed.schema.field_index("proc.comm");
        stacks.push(StackFields { members, boot_timestamp, out, container, comm });
    }
    if stacks.is_empty() {
        return Ok(None);
    }
    let resolver = UserStackResolver::new(Symbolizers::parse(symbolizers)?)?;
    Ok(Some(Ustack { stacks, resolver: Some(resolver), maps, ustack_map: None, build_id_map: None, warnings: Vec::new() }))
}
