//! Data-source and data-array imports (ABI sections 1.2 and 1.3).

use std::sync::Arc;

use wasmtime::{Caller, Linker};

use super::handles::{composite, Obj, MAX_ARRAY_INDEX};
use super::{emit, parts, read_str, HostState, PacketSlot, SubKind, Subscriber, SUB_ARRAY, SUB_DATA, SUB_PACKET};
use crate::datasource::{PacketData, Schema, TYPE_ARRAY, TYPE_SINGLE};

pub fn register(l: &mut Linker<HostState>) -> wasmtime::Result<()> {
    l.func_wrap("ig", "newDataSource", new_data_source)?;
    l.func_wrap("ig", "getDataSource", get_data_source)?;
    l.func_wrap("ig", "dataSourceSubscribe", subscribe)?;
    l.func_wrap("ig", "dataSourceGetField", get_field)?;
    l.func_wrap("ig", "dataSourceAddField", add_field)?;
    l.func_wrap("ig", "dataSourceNewPacketSingle", |mut c: Caller<'_, HostState>, ds: i32| -> i32 {
        new_packet(c.data_mut(), ds as u32, TYPE_SINGLE)
    })?;
    l.func_wrap("ig", "dataSourceNewPacketArray", |mut c: Caller<'_, HostState>, ds: i32| -> i32 {
        new_packet(c.data_mut(), ds as u32, TYPE_ARRAY)
    })?;
    l.func_wrap("ig", "dataSourceEmitAndRelease", emit_and_release)?;
    l.func_wrap("ig", "dataSourceRelease", |mut c: Caller<'_, HostState>, ds: i32, p: i32| -> i32 {
        let st = c.data_mut();
        match check_ds_packet(st, "dataSourceRelease", ds as u32, p as u32) {
            Some((_, pid)) => {
                st.handles.remove(p as u32);
                st.release_packet(pid);
                0
            }
            None => 1,
        }
    })?;
    l.func_wrap("ig", "dataSourceUnreference", |mut c: Caller<'_, HostState>, ds: i32| -> i32 {
        let st = c.data_mut();
        match ds_of(st, "dataSourceUnreference", ds as u32) {
            Some(i) => {
                st.dss[i].referenced = false;
                0
            }
            None => 1,
        }
    })?;
    l.func_wrap("ig", "dataSourceIsReferenced", |c: Caller<'_, HostState>, ds: i32| -> i32 {
        let st = c.data();
        match ds_of(st, "dataSourceIsReferenced", ds as u32) {
            Some(i) => st.dss[i].referenced as i32,
            None => 2,
        }
    })?;
    l.func_wrap("ig", "dataArrayNew", array_new)?;
    l.func_wrap("ig", "dataArrayAppend", array_append)?;
    l.func_wrap("ig", "dataArrayRelease", array_release)?;
    l.func_wrap("ig", "dataArrayLen", |c: Caller<'_, HostState>, a: i32| -> i32 {
        let st = c.data();
        match array_of(st, "dataArrayLen", a as u32).and_then(|pid| st.packet(pid)).map(|p| &p.data) {
            Some(PacketData::Array(v)) => v.len() as i32,
            _ => 0,
        }
    })?;
    l.func_wrap("ig", "dataArrayGet", array_get)?;
    Ok(())
}

// Handle role checks. Each logs like the reference host ("handle N not found" /
// "bad handle type for N") and returns None.

fn not_found(st: &HostState, func: &str, h: u32) {
    st.warn(format!("{func}: handle {h} not found"));
}

fn bad_type(st: &HostState, func: &str, h: u32) {
    st.warn(format!("{func}: bad handle type for {h}"));
}

pub fn ds_of(st: &HostState, func: &str, h: u32) -> Option<usize> {
    match st.handles.get(h) {
        Some(Obj::DataSource(i)) => Some(*i),
        Some(_) => {
            bad_type(st, func, h);
            None
        }
        None => {
            not_found(st, func, h);
            None
        }
    }
}

fn array_of(st: &HostState, func: &str, h: u32) -> Option<u64> {
    match st.handles.get(h) {
        Some(Obj::Array(pid)) => Some(*pid),
        Some(_) => {
            bad_type(st, func, h);
            None
        }
        None => {
            not_found(st, func, h);
            None
        }
    }
}

/// Validates a (DataSource, Packet) handle pair; returns (ds index, packet id).
fn check_ds_packet(st: &HostState, func: &str, ds: u32, p: u32) -> Option<(usize, u64)> {
    let dsi = ds_of(st, func, ds)?;
    match st.handles.get(p) {
        Some(Obj::Single(pid)) | Some(Obj::Array(pid)) => Some((dsi, *pid)),
        Some(_) => {
            bad_type(st, func, p);
            None
        }
        None => {
            not_found(st, func, p);
            None
        }
    }
}

fn new_data_source(mut c: Caller<'_, HostState>, name: i64, ty: i32) -> i32 {
    let (mem, st) = parts(&mut c);
    let Some(name) = read_str(mem, name as u64) else {
        st.warn("newDataSource: invalid name pointer");
        return 0;
    };
    let ty = ty as u32;
    if ty != TYPE_SINGLE && ty != TYPE_ARRAY {
        st.warn(format!("newDataSource: invalid data source type {ty}"));
        return 0;
    }
    if let Err(e) = st.datasource_room() {
        st.warn(format!("newDataSource {name:?}: refused: {e}"));
        return 0;
    }
    if !st.charge_host("newDataSource", name.len() as u64 + 256) {
        return 0;
    }
    let idx = st.add_datasource(Schema::new(&name, ty), "wasm");
    add_or_warn(st, "newDataSource", Obj::DataSource(idx))
}

fn add_or_warn(st: &mut HostState, func: &str, obj: Obj) -> i32 {
    let h = st.handles.add(obj);
    if h == 0 {
        st.warn(format!("{func}: too many open handles"));
    }
    h as i32
}

fn get_data_source(mut c: Caller<'_, HostState>, name: i64) -> i32 {
    let (mem, st) = parts(&mut c);
    let Some(name) = read_str(mem, name as u64) else {
        st.warn("getDataSource: invalid name pointer");
        return 0;
    };
    match st.find_datasource(&name) {
        Some(i) => add_or_warn(st, "getDataSource", Obj::DataSource(i)),
        None => {
            st.warn(format!("getDataSource: data source {name:?} not found"));
            0
        }
    }
}

fn subscribe(mut c: Caller<'_, HostState>, ds: i32, sub_type: i32, prio: i32, cb_id: i64) -> i32 {
    let st = c.data_mut();
    if st.callback.is_none() {
        st.warn("dataSourceSubscribe: the guest does not export dataSourceCallback");
        return 1;
    }
    let Some(dsi) = ds_of(st, "dataSourceSubscribe", ds as u32) else { return 1 };
    let sub_type = sub_type as u32;
    if !(SUB_DATA..=SUB_PACKET).contains(&sub_type) {
        st.warn(format!("dataSourceSubscribe: unknown subscription type {sub_type}"));
        return 1;
    }
    if sub_type == SUB_ARRAY && st.dss[dsi].schema.ds_type != TYPE_ARRAY {
        st.warn("dataSourceSubscribe: only array data sources can subscribe to array data");
        return 1;
    }
    st.dss[dsi].subscribe(Subscriber {
        priority: prio,
        kind: SubKind::Wasm { cb_id: cb_id as u64, sub_type, ds_handle: ds as u32 },
    });
    0
}

fn get_field(mut c: Caller<'_, HostState>, ds: i32, name: i64) -> i32 {
    let (mem, st) = parts(&mut c);
    let Some(dsi) = ds_of(st, "dataSourceGetField", ds as u32) else { return 0 };
    let Some(name) = read_str(mem, name as u64) else {
        st.warn("dataSourceGetField: invalid name pointer");
        return 0;
    };
    match st.dss[dsi].schema.field_index(&name) {
        Some(fi) => add_or_warn(st, "dataSourceGetField", Obj::Field(dsi, fi)),
        None => {
            st.warn(format!("dataSourceGetField: field {name:?} not found"));
            0
        }
    }
}

fn add_field(mut c: Caller<'_, HostState>, ds: i32, name: i64, k: i32) -> i32 {
    let (mem, st) = parts(&mut c);
    if k as u32 > crate::datasource::kind::MAX {
        st.warn(format!("dataSourceAddField: invalid kind {}", k as u32));
        return 0;
    }
    let Some(dsi) = ds_of(st, "dataSourceAddField", ds as u32) else { return 0 };
    let Some(name) = read_str(mem, name as u64) else {
        st.warn("dataSourceAddField: invalid name pointer");
        return 0;
    };
    if st.dss[dsi].schema.field_index(&name).is_none() && !st.charge_host("dataSourceAddField", name.len() as u64 + 128) {
        return 0;
    }
    let mut schema = (*st.dss[dsi].schema).clone();
    match schema.add_field(&name, k as u32) {
        Ok(fi) => {
            st.apply_field_config(&mut schema, fi);
            st.dss[dsi].schema = Arc::new(schema);
            add_or_warn(st, "dataSourceAddField", Obj::Field(dsi, fi))
        }
        Err(e) => {
            st.warn(format!("dataSourceAddField: {e}"));
            0
        }
    }
}

fn new_packet(st: &mut HostState, ds: u32, want: u32) -> i32 {
    let func = if want == TYPE_SINGLE { "dataSourceNewPacketSingle" } else { "dataSourceNewPacketArray" };
    let Some(dsi) = ds_of(st, func, ds) else { return 0 };
    if st.dss[dsi].schema.ds_type != want {
        st.warn(format!("{func}: data source {:?} has the wrong type", st.dss[dsi].schema.name));
        return 0;
    }
    let pid = st.new_packet(dsi);
    let obj = if want == TYPE_SINGLE { Obj::Single(pid) } else { Obj::Array(pid) };
    let h = add_or_warn(st, func, obj);
    if h == 0 {
        st.take_packet(pid);
    }
    h
}

fn emit_and_release(mut c: Caller<'_, HostState>, ds: i32, p: i32) -> i32 {
    let st = c.data_mut();
    let Some((dsi, pid)) = check_ds_packet(st, "dataSourceEmitAndRelease", ds as u32, p as u32) else {
        return 1;
    };
    st.handles.remove(p as u32);
    let slot = st.packet(pid).expect("packet of a live handle");
    let (pds, in_flight) = (slot.ds, slot.in_flight);
    let want_array = st.dss[dsi].schema.ds_type == TYPE_ARRAY;
    if matches!(slot.data, PacketData::Array(_)) != want_array || st.dss[pds].schema.ds_type != st.dss[dsi].schema.ds_type {
        st.warn(format!(
            "dataSourceEmitAndRelease: packet type does not match data source {:?}",
            st.dss[dsi].schema.name
        ));
        st.release_packet(pid);
        return 1;
    }
    // A packet that is being delivered right now (received in a callback) is emitted as a copy.
    let pid = if in_flight {
        let data = st.packet(pid).expect("live").data.clone();
        st.insert_packet(PacketSlot { ds: dsi, data, in_flight: false })
    } else {
        st.packet_mut(pid).expect("live").ds = dsi;
        pid
    };
    if emit(&mut c, dsi, pid) {
        0
    } else {
        1
    }
}

fn array_new(mut c: Caller<'_, HostState>, a: i32) -> i32 {
    let st = c.data_mut();
    let Some(pid) = array_of(st, "dataArrayNew", a as u32) else { return 0 };
    let ds = st.packet(pid).map(|p| p.ds).expect("live");
    let rec = st.dss[ds].schema.new_record();
    let eid = st.insert_packet(PacketSlot { ds, data: PacketData::Single(rec), in_flight: false });
    let h = add_or_warn(st, "dataArrayNew", Obj::NewElement(eid));
    if h == 0 {
        st.take_packet(eid);
    }
    h
}

fn array_append(mut c: Caller<'_, HostState>, a: i32, d: i32) -> i32 {
    let st = c.data_mut();
    let Some(pid) = array_of(st, "dataArrayAppend", a as u32) else { return 1 };
    let eid = match st.handles.get(d as u32) {
        Some(Obj::NewElement(e)) => *e,
        Some(_) => {
            bad_type(st, "dataArrayAppend", d as u32);
            return 1;
        }
        None => {
            not_found(st, "dataArrayAppend", d as u32);
            return 1;
        }
    };
    st.handles.remove(d as u32);
    let Some(PacketSlot { data: PacketData::Single(rec), .. }) = st.take_packet(eid) else { return 1 };
    match st.packet_mut(pid).map(|p| &mut p.data) {
        Some(PacketData::Array(v)) => {
            v.push(rec);
            0
        }
        _ => 1,
    }
}

fn array_release(mut c: Caller<'_, HostState>, a: i32, d: i32) -> i32 {
    let st = c.data_mut();
    if array_of(st, "dataArrayRelease", a as u32).is_none() {
        return 1;
    }
    match st.handles.get(d as u32) {
        Some(Obj::NewElement(e)) => {
            let e = *e;
            st.handles.remove(d as u32);
            st.take_packet(e);
            0
        }
        Some(Obj::Element(..)) => {
            st.handles.remove(d as u32);
            0
        }
        Some(_) => {
            bad_type(st, "dataArrayRelease", d as u32);
            1
        }
        None => {
            not_found(st, "dataArrayRelease", d as u32);
            1
        }
    }
}

fn array_get(mut c: Caller<'_, HostState>, a: i32, index: i32) -> i32 {
    let st = c.data_mut();
    let Some(pid) = array_of(st, "dataArrayGet", a as u32) else { return 0 };
    let len = match st.packet(pid).map(|p| &p.data) {
        Some(PacketData::Array(v)) => v.len(),
        _ => 0,
    };
    if index < 0 || index as usize >= len {
        st.warn(format!("dataArrayGet: index {index} out of range (length {len})"));
        return 0;
    }
    if index as u32 > MAX_ARRAY_INDEX {
        st.warn(format!("dataArrayGet: index {index} exceeds {MAX_ARRAY_INDEX}"));
        return 0;
    }
    composite(a as u32, index as u32) as i32
}
