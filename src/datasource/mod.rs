//! The data-source engine: schemas (fields with kinds, tags and annotations), packet storage and
//! the field accessor rules of the `ig` ABI (section 1.4 of the wasm ABI spec).
//!
//! A data source is either *single* (one record per packet) or *array* (a list of records per
//! packet). A record is a list of payload buffers: every root field added with
//! [`Schema::add_field`] owns one payload slot, while static fields (eBPF structs) are
//! `(payload, offset, size)` views into one shared fixed-size payload.


use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Field kinds, numbered exactly like `api.Kind` of the reference host and both guest libraries.
pub mod kind {
    pub const INVALID: u32 = 0;
    pub const BOOL: u32 = 1;
    pub const INT8: u32 = 2;
    pub const INT16: u32 = 3;
    pub const INT32: u32 = 4;
    pub const INT64: u32 = 5;
    pub const UINT8: u32 = 6;
    pub const UINT16: u32 = 7;
    pub const UINT32: u32 = 8;
    pub const UINT64: u32 = 9;
    pub const FLOAT32: u32 = 10;
    pub const FLOAT64: u32 = 11;
    pub const STRING: u32 = 12;
    pub const CSTRING: u32 = 13;
    pub const BYTES: u32 = 14;
    /// Highest valid kind of a single value (the guest ABI accepts no other).
    pub const MAX: u32 = 14;
    /// Flag of IG's `ArrayOf(elem)` kinds: fixed-size arrays of scalars in eBPF structs
    /// (`__u32 addrs[4]` is `ARRAY_OF | UINT32`). Only the eBPF side creates them.
    pub const ARRAY_OF: u32 = 0x1000_0000;

    /// `ArrayOf(elem)`.
    pub fn array_of(elem: u32) -> u32 {
        ARRAY_OF | elem
    }

    /// The element kind of an `ArrayOf` kind, `None` for other kinds.
    pub fn array_elem(k: u32) -> Option<u32> {
        (k & ARRAY_OF != 0).then_some(k & !ARRAY_OF)
    }

    /// Byte width of a scalar kind, `None` for variable-size kinds.
    pub fn width(k: u32) -> Option<usize> {
        match k {
            BOOL | INT8 | UINT8 => Some(1),
            INT16 | UINT16 => Some(2),
            INT32 | UINT32 | FLOAT32 => Some(4),
            INT64 | UINT64 | FLOAT64 => Some(8),
            _ => None,
        }
    }

    /// Lower-case name of a kind, as used in JSON descriptions and the runner.
    pub fn name(k: u32) -> &'static str {
        match k {
            INVALID => "invalid",
            BOOL => "bool",
            INT8 => "int8",
            INT16 => "int16",
            INT32 => "int32",
            INT64 => "int64",
            UINT8 => "uint8",
            UINT16 => "uint16",
            UINT32 => "uint32",
            UINT64 => "uint64",
            FLOAT32 => "float32",
            FLOAT64 => "float64",
            STRING => "string",
            CSTRING => "cstring",
            BYTES => "bytes",
            k if array_elem(k).is_some() => match k & !ARRAY_OF {
                BOOL => "[]bool",
                INT8 => "[]int8",
                INT16 => "[]int16",
                INT32 => "[]int32",
                INT64 => "[]int64",
                UINT8 => "[]uint8",
                UINT16 => "[]uint16",
                UINT32 => "[]uint32",
                UINT64 => "[]uint64",
                FLOAT32 => "[]float32",
                FLOAT64 => "[]float64",
                _ => "[]unknown",
            },
            _ => "unknown",
        }
    }

    pub fn is_signed(k: u32) -> bool {
        matches!(k, INT8 | INT16 | INT32 | INT64)
    }
    pub fn is_unsigned(k: u32) -> bool {
        matches!(k, UINT8 | UINT16 | UINT32 | UINT64)
    }
    pub fn is_float(k: u32) -> bool {
        matches!(k, FLOAT32 | FLOAT64)
    }
}

/// Data-source types of the ABI.
pub const TYPE_SINGLE: u32 = 1;
pub const TYPE_ARRAY: u32 = 2;

/// Where a field's bytes live inside a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldLoc {
    /// The field owns payload slot `n` (its whole content).
    Slot(usize),
    /// A fixed-size view into payload slot `payload`.
    Static { payload: usize, offset: usize, size: usize },
}

/// One field of a data source.
#[derive(Clone, Debug)]
pub struct FieldDef {
    /// Full name (`parent.child` for nested members).
    pub name: String,
    pub kind: u32,
    pub tags: Vec<String>,
    pub annotations: BTreeMap<String, String>,
    pub parent: Option<usize>,
    pub loc: FieldLoc,
    /// Hidden from the default column list (IG `FieldFlagHidden`).
    pub hidden: bool,
    /// IG's field `Order`: drives the default column list (stable sort, ties by index).
    /// Static (eBPF) fields have 0; added fields their index unless given one.
    pub order: i32,
    /// Removed from every output (IG `FieldFlagUnreferenced`), e.g. an endpoint's `addr_raw`.
    pub unreferenced: bool,
    /// Has no value of its own (IG `FieldFlagEmpty`): a container such as `k8s`.
    pub empty: bool,
}

/// The annotations every new field starts with (IG `defaultFieldAnnotations`).
pub const DEFAULT_ANNOTATIONS: [(&str, &str); 3] =
    [("columns.width", "16"), ("columns.ellipsis", "end"), ("columns.alignment", "left")];

/// A fresh map holding [`DEFAULT_ANNOTATIONS`].
pub fn default_annotations() -> BTreeMap<String, String> {
    DEFAULT_ANNOTATIONS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

impl FieldDef {
    /// Whether another field names this one as its parent.
    pub fn has_children(schema: &Schema, idx: usize) -> bool {
        schema.fields.iter().any(|f| f.parent == Some(idx))
    }

    /// The last segment of the full name.
    pub fn short_name(&self) -> &str {
        self.name.rsplit('.').next().unwrap_or(&self.name)
    }

    /// Whether annotation `key` is exactly `"true"`.
    pub fn annotation_true(&self, key: &str) -> bool {
        self.annotations.get(key).is_some_and(|v| v == "true")
    }
}

/// Options of [`Schema::add_field_with`] (IG's `AddField` options).
#[derive(Clone, Debug, Default)]
pub struct NewField {
    /// Short name; the full name is `<parent full name>.<name>` when a parent is given.
    pub name: String,
    pub kind: u32,
    pub parent: Option<usize>,
    /// `None` (or `Some(0)`): the new field's index, like IG.
    pub order: Option<i32>,
    /// `Some`: these annotations *replace* the defaults (IG `WithAnnotations`).
    pub annotations: Option<BTreeMap<String, String>>,
    pub tags: Vec<String>,
    pub hidden: bool,
    /// No payload (a container for other fields).
    pub empty: bool,
}

/// The shape of a data source's records. Cheap to share: events carry an `Arc<Schema>` taken
/// at emission time, so later field additions do not disturb events in flight.
#[derive(Clone, Debug)]
pub struct Schema {
    pub name: String,
    pub ds_type: u32,
    pub fields: Vec<FieldDef>,
    /// Initial content of each payload slot of a fresh record.
    pub payload_init: Vec<PayloadInit>,
    pub tags: Vec<String>,
    pub annotations: BTreeMap<String, String>,
    /// Spare records of this data source, shared by every snapshot of the schema: records
    /// of delivered events come back here so emitting does not allocate per event.
    pub pool: Arc<RecordPool>,
    /// Data derived from this exact schema snapshot (render plans), built on first use.
    pub cache: SchemaCache,
}

/// Lazily built data derived from one schema snapshot (render plans), keyed by type and a
/// string (e.g. a field selection). A clone (made when the schema changes) starts empty, so
/// nothing stale survives a change.
#[derive(Default)]
pub struct SchemaCache {
    /// The first value cached under the empty key (the JSON plan, used per event): read
    /// without a lock.
    fast: std::sync::OnceLock<Arc<dyn std::any::Any + Send + Sync>>,
    entries: Mutex<Vec<(std::any::TypeId, String, Arc<dyn std::any::Any + Send + Sync>)>>,
}

impl Clone for SchemaCache {
    fn clone(&self) -> Self {
        SchemaCache::default()
    }
}

impl std::fmt::Debug for SchemaCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SchemaCache")
    }
}

impl SchemaCache {
    /// The cached value of type `T` for `key`, built by `make` on first use. `make` runs
    /// without the cache's lock held.
    pub fn get_or_init<T: Send + Sync + 'static>(&self, key: &str, make: impl FnOnce() -> T) -> Arc<T> {
        if key.is_empty() {
            if let Some(v) = self.fast.get().and_then(|a| a.clone().downcast::<T>().ok()) {
                return v;
            }
        }
        let tid = std::any::TypeId::of::<T>();
        let find = |v: &Vec<(std::any::TypeId, String, Arc<dyn std::any::Any + Send + Sync>)>| {
            v.iter().find(|(t, k, _)| *t == tid && k == key).and_then(|(_, _, a)| a.clone().downcast::<T>().ok())
        };
        if let Some(v) = find(&self.entries.lock().unwrap_or_else(|e| e.into_inner())) {
            return v;
        }
        let made = Arc::new(make());
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = find(&entries) {
            return v;
        }
        if entries.len() >= 16 {
            entries.remove(0);
        }
        entries.push((tid, key.to_string(), made.clone()));
        if key.is_empty() {
            let _ = self.fast.set(made.clone());
        }
        made
    }
}

/// Most records a [`RecordPool`] keeps.
const POOL_MAX: usize = 4096;
/// Payload buffers with more capacity than this are not kept in a pool.
const POOL_MAX_PAYLOAD: usize = 64 * 1024;

/// Recycled records of one data source. Producers take one record at a time without ever
/// waiting (a contended pool just means a fresh allocation); consumers return records in
/// batches.
#[derive(Default)]
pub struct RecordPool {
    spare: Mutex<Vec<Record>>,
}

impl std::fmt::Debug for RecordPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordPool")
    }
}

impl RecordPool {
    fn take(&self) -> Option<Record> {
        self.spare.try_lock().ok()?.pop()
    }

    /// Returns records to the pool (beyond its capacity they are freed).
    pub fn put_many(&self, recs: impl IntoIterator<Item = Record>) {
        let mut recs = recs.into_iter().peekable();
        if recs.peek().is_none() {
            return;
        }
        let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        let room = POOL_MAX.saturating_sub(spare.len());
        for mut r in recs.take(room) {
            for p in r.iter_mut() {
                if p.capacity() > POOL_MAX_PAYLOAD {
                    *p = Vec::new();
                }
            }
            spare.push(r);
        }
    }

    /// Records currently kept.
    pub fn len(&self) -> usize {
        self.spare.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Collects the records of finished packets and returns them to their pools in batches.
#[derive(Default)]
pub struct Recycler {
    pool: Option<Arc<RecordPool>>,
    recs: Vec<Record>,
}

impl Recycler {
    /// Keeps the records of `data` for `schema`'s pool.
    pub fn add(&mut self, schema: &Schema, data: PacketData) {
        if !self.pool.as_ref().is_some_and(|p| Arc::ptr_eq(p, &schema.pool)) {
            self.flush();
            self.pool = Some(schema.pool.clone());
        }
        self.recs.extend(data.into_records());
        if self.recs.len() >= 256 {
            self.flush();
        }
    }

    pub fn flush(&mut self) {
        match &self.pool {
            Some(p) => p.put_many(self.recs.drain(..)),
            None => self.recs.clear(),
        }
    }
}

impl Drop for Recycler {
    fn drop(&mut self) {
        self.flush();
    }
}

#[derive(Clone, Debug)]
pub enum PayloadInit {
    /// `n` zero bytes.
    Zeroed(usize),
    /// Empty (strings, bytes).
    Empty,
}

impl PayloadInit {
    /// A new payload buffer with this initial content.
    fn fresh(&self) -> Vec<u8> {
        match self {
            PayloadInit::Zeroed(n) => vec![0u8; *n],
            PayloadInit::Empty => Vec::new(),
        }
    }
}

/// Error of a schema change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaError {
    Duplicate(String),
    BadKind(u32),
}

impl std::fmt::Display for SchemaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaError::Duplicate(n) => write!(f, "field {n:?} already exists"),
            SchemaError::BadKind(k) => write!(f, "invalid field kind {k}"),
        }
    }
}

impl Schema {
    pub fn new(name: &str, ds_type: u32) -> Schema {
        Schema {
            name: name.to_string(),
            ds_type,
            fields: Vec::new(),
            payload_init: Vec::new(),
            tags: Vec::new(),
            annotations: BTreeMap::new(),
            pool: Arc::default(),
            cache: SchemaCache::default(),
        }
    }

    pub fn is_array(&self) -> bool {
        self.ds_type == TYPE_ARRAY
    }

    /// Adds a root field owning its own payload slot (`dataSourceAddField`).
    pub fn add_field(&mut self, name: &str, k: u32) -> Result<usize, SchemaError> {
        self.add_field_with(NewField { name: name.to_string(), kind: k, ..Default::default() })
    }

    /// Adds a field with IG's `AddField` options (parent, order, annotations, flags). Empty
    /// fields get no payload slot; the others own one.
    pub fn add_field_with(&mut self, nf: NewField) -> Result<usize, SchemaError> {
        if nf.kind > kind::MAX {
            return Err(SchemaError::BadKind(nf.kind));
        }
        let full = match nf.parent {
            Some(p) => match self.fields.get(p) {
                Some(pf) => format!("{}.{}", pf.name, nf.name),
                None => return Err(SchemaError::Duplicate(nf.name)),
            },
            None => nf.name.clone(),
        };
        if self.fields.iter().any(|f| f.name == full) {
            return Err(SchemaError::Duplicate(full));
        }
        let loc = if nf.empty {
            FieldLoc::Static { payload: usize::MAX, offset: 0, size: 0 }
        } else {
            self.payload_init.push(match kind::width(nf.kind) {
                Some(w) => PayloadInit::Zeroed(w),
                None => PayloadInit::Empty,
            });
            FieldLoc::Slot(self.payload_init.len() - 1)
        };
        let index = self.fields.len();
        let annotations = nf.annotations.unwrap_or_else(default_annotations);
        let hidden = nf.hidden || annotations.get("columns.hidden").is_some_and(|v| v == "true");
        self.fields.push(FieldDef {
            name: full,
            kind: nf.kind,
            tags: nf.tags,
            annotations,
            parent: nf.parent,
            loc,
            hidden,
            order: nf.order.filter(|&o| o != 0).unwrap_or(index as i32),
            unreferenced: false,
            empty: nf.empty,
        });
        Ok(index)
    }

    /// Adds a fixed-size payload of `size` bytes and returns its slot (for static fields).
    pub fn add_static_payload(&mut self, size: usize) -> usize {
        self.payload_init.push(PayloadInit::Zeroed(size));
        self.payload_init.len() - 1
    }

    /// Adds a static field viewing `payload[offset..offset+size]`.
    pub fn add_static_field(&mut self, def: FieldDef) -> Result<usize, SchemaError> {
        if self.fields.iter().any(|f| f.name == def.name) {
            return Err(SchemaError::Duplicate(def.name));
        }
        self.fields.push(def);
        Ok(self.fields.len() - 1)
    }

    /// Field lookup by full name with the case-insensitive fallback of `dataSourceGetField`.
    /// Unreferenced fields are not found.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| !f.unreferenced && f.name == name)
            .or_else(|| self.fields.iter().position(|f| !f.unreferenced && f.name.eq_ignore_ascii_case(name)))
    }

    /// Indexes of the direct children of field `idx`, in index order.
    pub fn children(&self, idx: usize) -> impl Iterator<Item = usize> + '_ {
        self.fields.iter().enumerate().filter(move |(_, f)| f.parent == Some(idx)).map(|(i, _)| i)
    }

    /// Marks a field and all its descendants unreferenced (IG `Unreference`).
    pub fn unreference(&mut self, idx: usize) {
        let mut stack = vec![idx];
        while let Some(i) = stack.pop() {
            self.fields[i].unreferenced = true;
            stack.extend(self.children(i).collect::<Vec<_>>());
        }
    }

    /// Sets the hidden flag of a field and all its descendants.
    pub fn set_hidden_recursive(&mut self, idx: usize, hidden: bool) {
        let mut stack = vec![idx];
        while let Some(i) = stack.pop() {
            self.fields[i].hidden = hidden;
            stack.extend(self.children(i).collect::<Vec<_>>());
        }
    }

    /// IG's default field list (the `--fields` default): referenced, non-empty, visible
    /// fields stably sorted by `order`.
    pub fn default_fields(&self) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.fields.len())
            .filter(|&i| {
                let f = &self.fields[i];
                !f.unreferenced && !f.empty && !f.hidden
            })
            .collect();
        v.sort_by_key(|&i| self.fields[i].order);
        v
    }

    /// A fresh record with every payload slot initialised (recycled from the pool when one
    /// is available).
    pub fn new_record(&self) -> Record {
        self.init_record(self.pool.take(), &[])
    }

    /// Initialises `rec` (a recycled record, or `None` for a new one) as a fresh record
    /// whose first payload, when it is a zeroed struct, starts with as much of `raw` as fits
    /// (the rest zero): what [`new_record`](Self::new_record) then copying `raw` in gives,
    /// without zeroing the bytes `raw` covers first.
    pub fn init_record(&self, rec: Option<Record>, raw: &[u8]) -> Record {
        let Some(mut rec) = rec else {
            let mut rec: Record = self.payload_init.iter().map(PayloadInit::fresh).collect();
            if let Some(first) = rec.first_mut() {
                let n = first.len().min(raw.len());
                first[..n].copy_from_slice(&raw[..n]);
            }
            return rec;
        };
        rec.truncate(self.payload_init.len());
        for (i, init) in self.payload_init.iter().enumerate() {
            match rec.get_mut(i) {
                Some(p) => {
                    p.clear();
                    if let PayloadInit::Zeroed(n) = init {
                        if i == 0 {
                            p.extend_from_slice(&raw[..(*n).min(raw.len())]);
                        }
                        p.resize(*n, 0);
                    }
                }
                None => {
                    let mut p = init.fresh();
                    if i == 0 {
                        let n = p.len().min(raw.len());
                        p[..n].copy_from_slice(&raw[..n]);
                    }
                    rec.push(p)
                }
            }
        }
        rec
    }

    /// Takes up to `n` recycled records from the pool into `out` (one lock).
    pub fn take_pooled(&self, n: usize, out: &mut Vec<Record>) {
        let mut spare = self.pool.spare.lock().unwrap_or_else(|e| e.into_inner());
        let k = spare.len().saturating_sub(n);
        out.extend(spare.drain(k..));
    }

    /// Applies `annotations`/`tags` configuration (gadget.yaml `datasources.<name>.fields.<f>`)
    /// to a field; `columns.hidden=true` sets the hidden flag.
    pub fn apply_field_config(
        &mut self,
        idx: usize,
        annotations: &BTreeMap<String, String>,
        tags: &[String],
    ) {
        if let Some(f) = self.fields.get_mut(idx) {
            for (k, v) in annotations {
                f.annotations.insert(k.clone(), v.clone());
                if k == "columns.hidden" {
                    f.hidden = v == "true";
                }
            }
            f.tags.extend(tags.iter().cloned());
        }
    }
}

/// One record: a list of payload buffers.
pub type Record = Vec<Vec<u8>>;

/// The content of a packet.
#[derive(Clone, Debug)]
pub enum PacketData {
    Single(Record),
    Array(Vec<Record>),
}

impl PacketData {
    /// The records of the packet (one for single packets).
    pub fn into_records(self) -> impl Iterator<Item = Record> {
        let (one, many) = match self {
            PacketData::Single(r) => (Some(r), Vec::new()),
            PacketData::Array(v) => (None, v),
        };
        one.into_iter().chain(many)
    }
}

/// Errors of field access, mapped to the ABI's error values by the host imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessError {
    BadKind(u32),
    Width { want: usize, have: usize },
    TooLong { max: usize, have: usize },
    Missing,
}

impl std::fmt::Display for AccessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccessError::BadKind(k) => write!(f, "unsupported kind {k} for this access"),
            AccessError::Width { want, have } => {
                write!(f, "field size mismatch: access needs {want} bytes, field has {have}")
            }
            AccessError::TooLong { max, have } => {
                write!(f, "value of {have} bytes does not fit the fixed field of {max} bytes")
            }
            AccessError::Missing => write!(f, "field payload missing"),
        }
    }
}

/// Raw bytes of a field in a record (the full fixed width for static fields).
pub fn field_bytes<'a>(rec: &'a Record, loc: FieldLoc) -> Option<&'a [u8]> {
    match loc {
        FieldLoc::Slot(s) => rec.get(s).map(|v| v.as_slice()),
        FieldLoc::Static { payload, offset, size } => {
            rec.get(payload).and_then(|p| p.get(offset..offset + size))
        }
    }
}

/// Reads a scalar with the ABI's `kind of access` rules: only the stored byte length is checked.
/// Returns the value sign- or zero-extended to 64 bits (floats as raw bits).
pub fn get_scalar(rec: &Record, loc: FieldLoc, access: u32) -> Result<u64, AccessError> {
    let w = match access {
        kind::BOOL..=kind::FLOAT64 => kind::width(access).unwrap(),
        other => return Err(AccessError::BadKind(other)),
    };
    let b = field_bytes(rec, loc).ok_or(AccessError::Missing)?;
    if b.len() != w {
        return Err(AccessError::Width { want: w, have: b.len() });
    }
    Ok(scalar_bits(access, b))
}

/// The 64-bit value of a scalar of kind `k` stored in exactly `width(k)` bytes (native
/// endian): sign- or zero-extended, floats as raw bits, bool 1 iff the byte is 1.
fn scalar_bits(k: u32, b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    let n = b.len().min(8);
    a[..n].copy_from_slice(&b[..n]);
    match k {
        kind::BOOL => (b[0] == 1) as u64,
        kind::INT8 => b[0] as i8 as i64 as u64,
        kind::UINT8 => b[0] as u64,
        kind::INT16 => i16::from_ne_bytes([a[0], a[1]]) as i64 as u64,
        kind::UINT16 => u16::from_ne_bytes([a[0], a[1]]) as u64,
        kind::INT32 => i32::from_ne_bytes([a[0], a[1], a[2], a[3]]) as i64 as u64,
        kind::UINT32 | kind::FLOAT32 => u32::from_ne_bytes([a[0], a[1], a[2], a[3]]) as u64,
        _ => u64::from_ne_bytes(a),
    }
}

/// Decodes a scalar of kind `k` stored in exactly `width(k)` bytes.
pub fn scalar_value(k: u32, b: &[u8]) -> Value<'static> {
    let raw = scalar_bits(k, b);
    match k {
        kind::BOOL => Value::Bool(raw != 0),
        kind::FLOAT32 => Value::Float(f32::from_bits(raw as u32) as f64),
        kind::FLOAT64 => Value::Float(f64::from_bits(raw)),
        k if kind::is_signed(k) => Value::Int(raw as i64),
        _ => Value::Uint(raw),
    }
}

/// The elements of an `ArrayOf(elem)` field's bytes (a trailing partial element is ignored).
pub fn array_values(elem: u32, b: &[u8]) -> impl Iterator<Item = Value<'static>> + '_ {
    b.chunks_exact(kind::width(elem).unwrap_or(1)).map(move |c| scalar_value(elem, c))
}

/// Writes a scalar with the ABI's truncation rules. The stored length must equal the width.
pub fn set_scalar(rec: &mut Record, loc: FieldLoc, access: u32, value: u64) -> Result<(), AccessError> {
    let w = match access {
        kind::BOOL..=kind::FLOAT64 => kind::width(access).unwrap(),
        other => return Err(AccessError::BadKind(other)),
    };
    let dst = field_bytes_mut(rec, loc).ok_or(AccessError::Missing)?;
    if dst.len() != w {
        return Err(AccessError::Width { want: w, have: dst.len() });
    }
    let v = if access == kind::BOOL { (value != 0) as u64 } else { value };
    dst.copy_from_slice(&v.to_ne_bytes()[..w]);
    Ok(())
}

fn field_bytes_mut(rec: &mut Record, loc: FieldLoc) -> Option<&mut [u8]> {
    match loc {
        FieldLoc::Slot(s) => rec.get_mut(s).map(|v| v.as_mut_slice()),
        FieldLoc::Static { payload, offset, size } => {
            rec.get_mut(payload).and_then(|p| p.get_mut(offset..offset + size))
        }
    }
}

/// Stores a byte string: static fields are written in place (zero-padded, never longer);
/// slot fields have their payload replaced.
pub fn set_bytes(rec: &mut Record, loc: FieldLoc, value: &[u8]) -> Result<(), AccessError> {
    match loc {
        FieldLoc::Slot(s) => {
            if rec.len() <= s {
                return Err(AccessError::Missing);
            }
            let slot = &mut rec[s];
            slot.clear();
            slot.extend_from_slice(value);
            Ok(())
        }
        FieldLoc::Static { .. } => {
            let dst = field_bytes_mut(rec, loc).ok_or(AccessError::Missing)?;
            if value.len() > dst.len() {
                return Err(AccessError::TooLong { max: dst.len(), have: value.len() });
            }
            dst[..value.len()].copy_from_slice(value);
            dst[value.len()..].fill(0);
            Ok(())
        }
    }
}

/// Makes a record created before later field additions as long as the schema needs.
pub fn fit_record(schema: &Schema, rec: &mut Record) {
    while rec.len() < schema.payload_init.len() {
        rec.push(schema.payload_init[rec.len()].fresh());
    }
}

/// A typed value read from a field, for embedders and JSON.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'a [u8]),
    Bytes(&'a [u8]),
    /// An `ArrayOf(elem)` field: its raw bytes, `len / width(elem)` elements.
    Array(u32, &'a [u8]),
    Missing,
}

/// Decodes a field according to its declared kind.
pub fn read_value<'a>(rec: &'a Record, f: &FieldDef) -> Value<'a> {
    let b = match field_bytes(rec, f.loc) {
        Some(b) => b,
        None => return Value::Missing,
    };
    match f.kind {
        kind::STRING => Value::Str(b),
        kind::CSTRING => Value::Str(match b.iter().position(|&c| c == 0) {
            Some(n) => &b[..n],
            None => b,
        }),
        kind::BYTES | kind::INVALID => Value::Bytes(b),
        k => match (kind::array_elem(k), kind::width(k)) {
            (Some(e), _) if kind::width(e).is_some() => Value::Array(e, b),
            (None, Some(w)) if b.len() == w => scalar_value(k, b),
            _ => Value::Bytes(b),
        },
    }
}

/// Shared handle to a schema snapshot.
pub type SchemaRef = Arc<Schema>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_rules_follow_the_abi() {
        let mut s = Schema::new("ds", TYPE_SINGLE);
        let f = s.add_field("x", kind::INT32).unwrap();
        let mut r = s.new_record();
        let loc = s.fields[f].loc;
        set_scalar(&mut r, loc, kind::INT32, (-5i64) as u64).unwrap();
        assert_eq!(get_scalar(&r, loc, kind::INT32).unwrap() as i64, -5);
        // Access with another kind of the same width reads the raw bits.
        assert_eq!(get_scalar(&r, loc, kind::UINT32).unwrap(), 0xffff_fffb);
        assert_eq!(get_scalar(&r, loc, kind::UINT64), Err(AccessError::Width { want: 8, have: 4 }));
        assert_eq!(get_scalar(&r, loc, kind::STRING), Err(AccessError::BadKind(12)));
        assert_eq!(s.add_field("x", kind::UINT8), Err(SchemaError::Duplicate("x".into())));
        assert_eq!(s.add_field("y", 15), Err(SchemaError::BadKind(15)));
        assert_eq!(s.field_index("X"), Some(0));
    }

    #[test]
    fn static_strings_are_padded_and_bounded() {
        let mut s = Schema::new("ds", TYPE_SINGLE);
        let p = s.add_static_payload(8);
        let loc = FieldLoc::Static { payload: p, offset: 2, size: 4 };
        let mut r = s.new_record();
        set_bytes(&mut r, loc, b"ab").unwrap();
        assert_eq!(r[p], vec![0, 0, b'a', b'b', 0, 0, 0, 0]);
        assert!(matches!(set_bytes(&mut r, loc, b"abcde"), Err(AccessError::TooLong { .. })));
    }

    #[test]
    fn recycled_records_come_back_fresh() {
        let mut s = Schema::new("ds", TYPE_SINGLE);
        let n = s.add_field("n", kind::UINT32).unwrap();
        let txt = s.add_field("txt", kind::STRING).unwrap();
        let mut r = s.new_record();
        set_scalar(&mut r, s.fields[n].loc, kind::UINT32, 7).unwrap();
        set_bytes(&mut r, s.fields[txt].loc, b"hello").unwrap();
        let mut rc = Recycler::default();
        rc.add(&s, PacketData::Single(r));
        rc.flush();
        assert_eq!(s.pool.len(), 1);
        // A field added later: the recycled record gets its slot too.
        let later = s.add_field("later", kind::UINT16).unwrap();
        let r = s.new_record();
        assert!(s.pool.is_empty());
        assert_eq!(get_scalar(&r, s.fields[n].loc, kind::UINT32).unwrap(), 0);
        assert_eq!(field_bytes(&r, s.fields[txt].loc).unwrap(), b"");
        assert_eq!(get_scalar(&r, s.fields[later].loc, kind::UINT16).unwrap(), 0);
        assert_eq!(r.len(), 3);
    }
}
