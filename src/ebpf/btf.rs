//! A small reader (and appender) for the BTF type format found in the `.BTF`
//! section of eBPF objects.
//!
//! aya-obj parses BTF too, but keeps the type records private, so struct
//! members, offsets and typedef chains (needed to derive data-source fields)
//! are read here. The format is documented in the kernel's
//! `Documentation/bpf/btf.rst`: a header, a type section (records of 12 bytes
//! plus kind-specific trailing data; type ids start at 1, id 0 is `void`)
//! and a string section of NUL-terminated names.
//!
//! [`BtfEditor`] supports the few edits the loader needs to make an object
//! acceptable to aya-obj: appending strings and types and overwriting `u32`
//! words of existing records. Appending keeps every existing type id and
//! string offset valid, so `.BTF.ext` and relocations stay correct.

use anyhow::{anyhow, bail, Context, Result};

pub const BTF_MAGIC: u16 = 0xeb9f;

pub const KIND_VOID: u32 = 0;
pub const KIND_INT: u32 = 1;
pub const KIND_PTR: u32 = 2;
pub const KIND_ARRAY: u32 = 3;
pub const KIND_STRUCT: u32 = 4;
pub const KIND_UNION: u32 = 5;
pub const KIND_ENUM: u32 = 6;
pub const KIND_FWD: u32 = 7;
pub const KIND_TYPEDEF: u32 = 8;
pub const KIND_VOLATILE: u32 = 9;
pub const KIND_CONST: u32 = 10;
pub const KIND_RESTRICT: u32 = 11;
pub const KIND_FUNC: u32 = 12;
pub const KIND_FUNC_PROTO: u32 = 13;
pub const KIND_VAR: u32 = 14;
pub const KIND_DATASEC: u32 = 15;
pub const KIND_FLOAT: u32 = 16;
pub const KIND_DECL_TAG: u32 = 17;
pub const KIND_TYPE_TAG: u32 = 18;
pub const KIND_ENUM64: u32 = 19;

/// BTF_INT_SIGNED / BTF_INT_CHAR / BTF_INT_BOOL encoding bits.
pub const INT_SIGNED: u8 = 1;
pub const INT_CHAR: u8 = 2;
pub const INT_BOOL: u8 = 4;

/// VAR / FUNC linkage values.
pub const LINKAGE_STATIC: u32 = 0;
pub const LINKAGE_GLOBAL: u32 = 1;
pub const LINKAGE_EXTERN: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    pub type_id: u32,
    /// Offset in bits from the start of the struct/union.
    pub bit_offset: u32,
    /// Bitfield width in bits (0 if not a bitfield).
    pub bitfield_size: u32,
}

impl Member {
    /// Byte offset of the member (bitfields are rounded down, as IG does).
    pub fn byte_offset(&self) -> u32 {
        self.bit_offset / 8
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumValue {
    pub name: String,
    pub value: i128,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncParam {
    pub name: String,
    pub type_id: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarSecInfo {
    pub type_id: u32,
    pub offset: u32,
    pub size: u32,
}

/// One BTF type record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BtfType {
    Void,
    Int { name: String, size: u32, encoding: u8, bits_offset: u8, bits: u8 },
    Ptr { type_id: u32 },
    Array { elem_type: u32, index_type: u32, nelems: u32 },
    Struct { name: String, size: u32, members: Vec<Member> },
    Union { name: String, size: u32, members: Vec<Member> },
    /// ENUM and ENUM64 (`is64`).
    Enum { name: String, size: u32, signed: bool, is64: bool, values: Vec<EnumValue> },
    Fwd { name: String, is_union: bool },
    Typedef { name: String, type_id: u32 },
    Volatile { type_id: u32 },
    Const { type_id: u32 },
    Restrict { type_id: u32 },
    TypeTag { name: String, type_id: u32 },
    Func { name: String, type_id: u32, linkage: u32 },
    FuncProto { ret_type: u32, params: Vec<FuncParam> },
    Var { name: String, type_id: u32, linkage: u32 },
    DataSec { name: String, size: u32, vars: Vec<VarSecInfo> },
    Float { name: String, size: u32 },
    DeclTag { name: String, type_id: u32, component_idx: i32 },
}

impl BtfType {
    pub fn kind(&self) -> u32 {
        match self {
            BtfType::Void => KIND_VOID,
            BtfType::Int { .. } => KIND_INT,
            BtfType::Ptr { .. } => KIND_PTR,
            BtfType::Array { .. } => KIND_ARRAY,
            BtfType::Struct { .. } => KIND_STRUCT,
            BtfType::Union { .. } => KIND_UNION,
            BtfType::Enum { is64: false, .. } => KIND_ENUM,
            BtfType::Enum { is64: true, .. } => KIND_ENUM64,
            BtfType::Fwd { .. } => KIND_FWD,
            BtfType::Typedef { .. } => KIND_TYPEDEF,
            BtfType::Volatile { .. } => KIND_VOLATILE,
            BtfType::Const { .. } => KIND_CONST,
            BtfType::Restrict { .. } => KIND_RESTRICT,
            BtfType::TypeTag { .. } => KIND_TYPE_TAG,
            BtfType::Func { .. } => KIND_FUNC,
            BtfType::FuncProto { .. } => KIND_FUNC_PROTO,
            BtfType::Var { .. } => KIND_VAR,
            BtfType::DataSec { .. } => KIND_DATASEC,
            BtfType::Float { .. } => KIND_FLOAT,
            BtfType::DeclTag { .. } => KIND_DECL_TAG,
        }
    }

    /// Human-readable kind name (as bpftool prints it).
    pub fn kind_name(&self) -> &'static str {
        kind_name(self.kind())
    }

    /// The type's own name ("" for anonymous types and kinds without names).
    pub fn name(&self) -> &str {
        match self {
            BtfType::Int { name, .. }
            | BtfType::Struct { name, .. }
            | BtfType::Union { name, .. }
            | BtfType::Enum { name, .. }
            | BtfType::Fwd { name, .. }
            | BtfType::Typedef { name, .. }
            | BtfType::TypeTag { name, .. }
            | BtfType::Func { name, .. }
            | BtfType::Var { name, .. }
            | BtfType::DataSec { name, .. }
            | BtfType::Float { name, .. }
            | BtfType::DeclTag { name, .. } => name,
            _ => "",
        }
    }

    /// The referenced type id for reference kinds (PTR, TYPEDEF, qualifiers,
    /// FUNC, VAR, DECL_TAG, TYPE_TAG).
    pub fn ref_type(&self) -> Option<u32> {
        match self {
            BtfType::Ptr { type_id }
            | BtfType::Typedef { type_id, .. }
            | BtfType::Volatile { type_id }
            | BtfType::Const { type_id }
            | BtfType::Restrict { type_id }
            | BtfType::TypeTag { type_id, .. }
            | BtfType::Func { type_id, .. }
            | BtfType::Var { type_id, .. }
            | BtfType::DeclTag { type_id, .. } => Some(*type_id),
            _ => None,
        }
    }
}

pub fn kind_name(kind: u32) -> &'static str {
    match kind {
        KIND_VOID => "VOID",
        KIND_INT => "INT",
        KIND_PTR => "PTR",
        KIND_ARRAY => "ARRAY",
        KIND_STRUCT => "STRUCT",
        KIND_UNION => "UNION",
        KIND_ENUM => "ENUM",
        KIND_FWD => "FWD",
        KIND_TYPEDEF => "TYPEDEF",
        KIND_VOLATILE => "VOLATILE",
        KIND_CONST => "CONST",
        KIND_RESTRICT => "RESTRICT",
        KIND_FUNC => "FUNC",
        KIND_FUNC_PROTO => "FUNC_PROTO",
        KIND_VAR => "VAR",
        KIND_DATASEC => "DATASEC",
        KIND_FLOAT => "FLOAT",
        KIND_DECL_TAG => "DECL_TAG",
        KIND_TYPE_TAG => "TYPE_TAG",
        KIND_ENUM64 => "ENUM64",
        _ => "UNKNOWN",
    }
}

/// Result of [`Btf::resolve`]: the underlying type id with typedefs and
/// qualifiers stripped, and the typedef names met on the way (outermost
/// first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub type_id: u32,
    pub typedefs: Vec<String>,
}

#[derive(Clone, Copy, Debug)]
struct Rd<'a> {
    data: &'a [u8],
    big: bool,
}

impl<'a> Rd<'a> {
    fn u32(&self, off: usize) -> Result<u32> {
        let b = self
            .data
            .get(off..off + 4)
            .ok_or_else(|| anyhow!("BTF: truncated data at offset {off}"))?;
        let a = [b[0], b[1], b[2], b[3]];
        Ok(if self.big { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) })
    }
}

/// A parsed BTF blob.
#[derive(Debug, Clone)]
pub struct Btf {
    big_endian: bool,
    version: u8,
    flags: u8,
    /// Index = type id; index 0 is `Void`.
    types: Vec<BtfType>,
    /// Byte offset of each type record inside the type section (index = id;
    /// entry 0 unused).
    rec_offsets: Vec<usize>,
    type_section: Vec<u8>,
    strings: Vec<u8>,
}

impl Btf {
    /// Parses a raw `.BTF` section.
    pub fn parse(data: &[u8]) -> Result<Btf> {
        if data.len() < 24 {
            bail!("BTF: section too small ({} bytes)", data.len());
        }
        let le = u16::from_le_bytes([data[0], data[1]]);
        let big = if le == BTF_MAGIC {
            false
        } else if u16::from_be_bytes([data[0], data[1]]) == BTF_MAGIC {
            true
        } else {
            bail!("BTF: bad magic {:#06x}", le);
        };
        let rd = Rd { data, big };
        let version = data[2];
        let flags = data[3];
        let hdr_len = rd.u32(4)? as usize;
        let type_off = rd.u32(8)? as usize;
        let type_len = rd.u32(12)? as usize;
        let str_off = rd.u32(16)? as usize;
        let str_len = rd.u32(20)? as usize;
        if hdr_len < 24 {
            bail!("BTF: header length {hdr_len} too small");
        }
        let ts = hdr_len
            .checked_add(type_off)
            .filter(|s| s.checked_add(type_len).is_some_and(|e| e <= data.len()))
            .ok_or_else(|| anyhow!("BTF: type section out of bounds"))?;
        let ss = hdr_len
            .checked_add(str_off)
            .filter(|s| s.checked_add(str_len).is_some_and(|e| e <= data.len()))
            .ok_or_else(|| anyhow!("BTF: string section out of bounds"))?;
        let type_section = data[ts..ts + type_len].to_vec();
        let strings = data[ss..ss + str_len].to_vec();
        Self::from_sections(type_section, strings, big, version, flags)
    }

    fn from_sections(
        type_section: Vec<u8>,
        strings: Vec<u8>,
        big: bool,
        version: u8,
        flags: u8,
    ) -> Result<Btf> {
        let mut btf = Btf {
            big_endian: big,
            version,
            flags,
            types: vec![BtfType::Void],
            rec_offsets: vec![0],
            type_section,
            strings,
        };
        let mut off = 0usize;
        let len = btf.type_section.len();
        while off < len {
            let id = btf.types.len();
            let (t, rec_len) = btf
                .parse_record(off)
                .with_context(|| format!("BTF: parsing type id {id} at offset {off}"))?;
            btf.types.push(t);
            btf.rec_offsets.push(off);
            off += rec_len;
        }
        Ok(btf)
    }

    fn parse_record(&self, off: usize) -> Result<(BtfType, usize)> {
        let rd = Rd { data: &self.type_section, big: self.big_endian };
        let name_off = rd.u32(off)?;
        let info = rd.u32(off + 4)?;
        let size_type = rd.u32(off + 8)?;
        let vlen = (info & 0xffff) as usize;
        let kind = (info >> 24) & 0x1f;
        let kflag = info >> 31 == 1;
        let name = || -> Result<String> { Ok(self.string_at(name_off)?.to_string()) };
        let d = off + 12;
        let members = |rd: Rd| -> Result<Vec<Member>> {
            let mut v = Vec::with_capacity(vlen);
            for i in 0..vlen {
                let m = d + i * 12;
                let mo = rd.u32(m + 8)?;
                let (bit_offset, bitfield_size) = if kflag { (mo & 0xff_ffff, mo >> 24) } else { (mo, 0) };
                v.push(Member {
                    name: self.string_at(rd.u32(m)?)?.to_string(),
                    type_id: rd.u32(m + 4)?,
                    bit_offset,
                    bitfield_size,
                });
            }
            Ok(v)
        };
        Ok(match kind {
            KIND_INT => {
                let v = rd.u32(d)?;
                (
                    BtfType::Int {
                        name: name()?,
                        size: size_type,
                        encoding: ((v >> 24) & 0x0f) as u8,
                        bits_offset: ((v >> 16) & 0xff) as u8,
                        bits: (v & 0xff) as u8,
                    },
                    16,
                )
            }
            KIND_PTR => (BtfType::Ptr { type_id: size_type }, 12),
            KIND_ARRAY => (
                BtfType::Array {
                    elem_type: rd.u32(d)?,
                    index_type: rd.u32(d + 4)?,
                    nelems: rd.u32(d + 8)?,
                },
                24,
            ),
            KIND_STRUCT => (BtfType::Struct { name: name()?, size: size_type, members: members(rd)? }, 12 + 12 * vlen),
            KIND_UNION => (BtfType::Union { name: name()?, size: size_type, members: members(rd)? }, 12 + 12 * vlen),
            KIND_ENUM => {
                let mut values = Vec::with_capacity(vlen);
                for i in 0..vlen {
                    let e = d + i * 8;
                    let raw = rd.u32(e + 4)?;
                    let value = if kflag { raw as i32 as i128 } else { raw as i128 };
                    values.push(EnumValue { name: self.string_at(rd.u32(e)?)?.to_string(), value });
                }
                (BtfType::Enum { name: name()?, size: size_type, signed: kflag, is64: false, values }, 12 + 8 * vlen)
            }
            KIND_ENUM64 => {
                let mut values = Vec::with_capacity(vlen);
                for i in 0..vlen {
                    let e = d + i * 12;
                    let lo = rd.u32(e + 4)? as u64;
                    let hi = rd.u32(e + 8)? as u64;
                    let raw = (hi << 32) | lo;
                    let value = if kflag { raw as i64 as i128 } else { raw as i128 };
                    values.push(EnumValue { name: self.string_at(rd.u32(e)?)?.to_string(), value });
                }
                (BtfType::Enum { name: name()?, size: size_type, signed: kflag, is64: true, values }, 12 + 12 * vlen)
            }
            KIND_FWD => (BtfType::Fwd { name: name()?, is_union: kflag }, 12),
            KIND_TYPEDEF => (BtfType::Typedef { name: name()?, type_id: size_type }, 12),
            KIND_VOLATILE => (BtfType::Volatile { type_id: size_type }, 12),
            KIND_CONST => (BtfType::Const { type_id: size_type }, 12),
            KIND_RESTRICT => (BtfType::Restrict { type_id: size_type }, 12),
            KIND_TYPE_TAG => (BtfType::TypeTag { name: name()?, type_id: size_type }, 12),
            KIND_FUNC => (BtfType::Func { name: name()?, type_id: size_type, linkage: vlen as u32 }, 12),
            KIND_FUNC_PROTO => {
                let mut params = Vec::with_capacity(vlen);
                for i in 0..vlen {
                    let p = d + i * 8;
                    params.push(FuncParam {
                        name: self.string_at(rd.u32(p)?)?.to_string(),
                        type_id: rd.u32(p + 4)?,
                    });
                }
                (BtfType::FuncProto { ret_type: size_type, params }, 12 + 8 * vlen)
            }
            KIND_VAR => (BtfType::Var { name: name()?, type_id: size_type, linkage: rd.u32(d)? }, 16),
            KIND_DATASEC => {
                let mut vars = Vec::with_capacity(vlen);
                for i in 0..vlen {
                    let v = d + i * 12;
                    vars.push(VarSecInfo {
                        type_id: rd.u32(v)?,
                        offset: rd.u32(v + 4)?,
                        size: rd.u32(v + 8)?,
                    });
                }
                (BtfType::DataSec { name: name()?, size: size_type, vars }, 12 + 12 * vlen)
            }
            KIND_FLOAT => (BtfType::Float { name: name()?, size: size_type }, 12),
            KIND_DECL_TAG => (
                BtfType::DeclTag { name: name()?, type_id: size_type, component_idx: rd.u32(d)? as i32 },
                16,
            ),
            k => bail!("BTF: unknown kind {k}"),
        })
    }

    pub fn is_big_endian(&self) -> bool {
        self.big_endian
    }

    /// Number of type ids including the implicit `void` (id 0).
    pub fn len(&self) -> usize {
        self.types.len()
    }

    pub fn is_empty(&self) -> bool {
        self.types.len() <= 1
    }

    /// All types with their ids (id 0 / void excluded).
    pub fn types(&self) -> impl Iterator<Item = (u32, &BtfType)> {
        self.types.iter().enumerate().skip(1).map(|(i, t)| (i as u32, t))
    }

    pub fn type_by_id(&self, id: u32) -> Result<&BtfType> {
        self.types
            .get(id as usize)
            .ok_or_else(|| anyhow!("BTF: type id {id} out of range ({} types)", self.types.len()))
    }

    /// The name of type `id` ("" if anonymous or unknown).
    pub fn name_of(&self, id: u32) -> &str {
        self.types.get(id as usize).map(|t| t.name()).unwrap_or("")
    }

    pub fn string_at(&self, off: u32) -> Result<&str> {
        let off = off as usize;
        let rest = self
            .strings
            .get(off..)
            .ok_or_else(|| anyhow!("BTF: string offset {off} out of range"))?;
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).map_err(|_| anyhow!("BTF: string at {off} is not UTF-8"))
    }

    /// Offset of `s` in the string section if present as a whole string.
    pub fn find_string(&self, s: &str) -> Option<u32> {
        let needle = s.as_bytes();
        let mut start = 0usize;
        for (i, &b) in self.strings.iter().enumerate() {
            if b == 0 {
                if &self.strings[start..i] == needle {
                    return Some(start as u32);
                }
                start = i + 1;
            }
        }
        None
    }

    /// First type id with this name and kind.
    pub fn find_by_name_kind(&self, name: &str, kind: u32) -> Option<u32> {
        self.types().find(|(_, t)| t.kind() == kind && t.name() == name).map(|(i, _)| i)
    }

    /// First type id with this name (any kind).
    pub fn find_by_name(&self, name: &str) -> Option<u32> {
        self.types().find(|(_, t)| t.name() == name).map(|(i, _)| i)
    }

    /// `struct <name>` (complete definition, not FWD).
    pub fn find_struct(&self, name: &str) -> Option<u32> {
        self.find_by_name_kind(name, KIND_STRUCT)
    }

    pub fn find_var(&self, name: &str) -> Option<u32> {
        self.find_by_name_kind(name, KIND_VAR)
    }

    pub fn find_datasec(&self, name: &str) -> Option<u32> {
        self.find_by_name_kind(name, KIND_DATASEC)
    }

    /// Strips TYPEDEF/CONST/VOLATILE/RESTRICT/TYPE_TAG, recording typedef
    /// names (outermost first).
    pub fn resolve(&self, mut id: u32) -> Result<Resolved> {
        let mut typedefs = Vec::new();
        for _ in 0..64 {
            match self.type_by_id(id)? {
                BtfType::Typedef { name, type_id } => {
                    typedefs.push(name.clone());
                    id = *type_id;
                }
                BtfType::Const { type_id }
                | BtfType::Volatile { type_id }
                | BtfType::Restrict { type_id }
                | BtfType::TypeTag { type_id, .. } => id = *type_id,
                _ => return Ok(Resolved { type_id: id, typedefs }),
            }
        }
        bail!("BTF: type chain from id {id} too deep (loop?)")
    }

    /// Strips qualifiers and typedefs and returns the underlying id.
    pub fn resolve_id(&self, id: u32) -> Result<u32> {
        Ok(self.resolve(id)?.type_id)
    }

    /// Size in bytes of a type (pointers are 8 bytes).
    pub fn size_of(&self, id: u32) -> Result<u32> {
        let mut id = id;
        for _ in 0..64 {
            match self.type_by_id(id)? {
                BtfType::Int { size, .. }
                | BtfType::Struct { size, .. }
                | BtfType::Union { size, .. }
                | BtfType::Enum { size, .. }
                | BtfType::DataSec { size, .. }
                | BtfType::Float { size, .. } => return Ok(*size),
                BtfType::Ptr { .. } => return Ok(8),
                BtfType::Array { elem_type, nelems, .. } => {
                    let es = self.size_of(*elem_type)?;
                    return es
                        .checked_mul(*nelems)
                        .ok_or_else(|| anyhow!("BTF: array size overflow (type {id})"));
                }
                BtfType::Typedef { type_id, .. }
                | BtfType::Const { type_id }
                | BtfType::Volatile { type_id }
                | BtfType::Restrict { type_id }
                | BtfType::TypeTag { type_id, .. }
                | BtfType::Var { type_id, .. } => id = *type_id,
                t => bail!("BTF: type id {id} ({}) has no size", t.kind_name()),
            }
        }
        bail!("BTF: type chain from id {id} too deep (loop?)")
    }

    /// Byte offset of type `id`'s record inside the type section.
    pub fn record_offset(&self, id: u32) -> Result<usize> {
        if id == 0 || id as usize >= self.rec_offsets.len() {
            bail!("BTF: no record for type id {id}");
        }
        Ok(self.rec_offsets[id as usize])
    }

    /// Byte offset (inside the type section) of member `idx` of STRUCT/UNION
    /// `id`: the member record is `{name_off, type, offset}`.
    pub fn member_record_offset(&self, id: u32, idx: usize) -> Result<usize> {
        match self.type_by_id(id)? {
            BtfType::Struct { members, .. } | BtfType::Union { members, .. } if idx < members.len() => {
                Ok(self.record_offset(id)? + 12 + idx * 12)
            }
            t => bail!("BTF: type {id} ({}) has no member {idx}", t.kind_name()),
        }
    }

    /// Starts an editor over a copy of this BTF.
    pub fn editor(&self) -> BtfEditor {
        BtfEditor {
            big_endian: self.big_endian,
            version: self.version,
            flags: self.flags,
            next_id: self.types.len() as u32,
            type_section: self.type_section.clone(),
            strings: self.strings.clone(),
        }
    }

    /// Serialises the BTF (header + types + strings).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.editor().to_bytes()
    }
}

/// Appends strings/types to, and patches words of, a BTF blob.
#[derive(Debug, Clone)]
pub struct BtfEditor {
    big_endian: bool,
    version: u8,
    flags: u8,
    next_id: u32,
    type_section: Vec<u8>,
    strings: Vec<u8>,
}

impl BtfEditor {
    fn put(&self, v: u32) -> [u8; 4] {
        if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// Appends a string (or reuses an identical existing one); returns its offset.
    pub fn add_string(&mut self, s: &str) -> u32 {
        let needle = s.as_bytes();
        let mut start = 0usize;
        for (i, &b) in self.strings.iter().enumerate() {
            if b == 0 {
                if &self.strings[start..i] == needle {
                    return start as u32;
                }
                start = i + 1;
            }
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(needle);
        self.strings.push(0);
        off
    }

    fn add_record(&mut self, words: &[u32]) -> u32 {
        for w in words {
            let b = self.put(*w);
            self.type_section.extend_from_slice(&b);
        }
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Appends `INT name` of `size` bytes; returns its id.
    pub fn add_int(&mut self, name: &str, size: u32, encoding: u8) -> u32 {
        let n = self.add_string(name);
        self.add_record(&[n, KIND_INT << 24, size, ((encoding as u32) << 24) | (size * 8)])
    }

    /// Appends `PTR -> target`; returns its id.
    pub fn add_ptr(&mut self, target: u32) -> u32 {
        self.add_record(&[0, KIND_PTR << 24, target])
    }

    /// Appends `ARRAY elem[nelems]` indexed by `index_type`; returns its id.
    pub fn add_array(&mut self, elem: u32, index_type: u32, nelems: u32) -> u32 {
        self.add_record(&[0, KIND_ARRAY << 24, 0, elem, index_type, nelems])
    }

    /// Appends a copy of type `id`'s record (taken from `src`, the BTF this
    /// editor started from) with `patches` applied: `(byte offset inside the
    /// record, new u32)`. Returns the new id.
    pub fn clone_record_with(&mut self, src: &Btf, id: u32, patches: &[(usize, u32)]) -> Result<u32> {
        let start = src.record_offset(id)?;
        let end = src.rec_offsets.get(id as usize + 1).copied().unwrap_or(src.type_section.len());
        let mut rec = src.type_section[start..end].to_vec();
        for (off, v) in patches {
            let b = self.put(*v);
            rec.get_mut(*off..*off + 4)
                .ok_or_else(|| anyhow!("BTF edit: patch offset {off} outside record of type {id}"))?
                .copy_from_slice(&b);
        }
        self.type_section.extend_from_slice(&rec);
        let nid = self.next_id;
        self.next_id += 1;
        Ok(nid)
    }

    /// Overwrites the `u32` at byte `off` of the type section.
    pub fn set_u32(&mut self, off: usize, v: u32) -> Result<()> {
        let b = self.put(v);
        let dst = self
            .type_section
            .get_mut(off..off + 4)
            .ok_or_else(|| anyhow!("BTF edit: offset {off} out of range"))?;
        dst.copy_from_slice(&b);
        Ok(())
    }

    /// Serialises header + types + strings.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.type_section.len() + self.strings.len());
        let magic = if self.big_endian { BTF_MAGIC.to_be_bytes() } else { BTF_MAGIC.to_le_bytes() };
        out.extend_from_slice(&magic);
        out.push(self.version);
        out.push(self.flags);
        for w in [24u32, 0, self.type_section.len() as u32, self.type_section.len() as u32, self.strings.len() as u32] {
            out.extend_from_slice(&self.put(w));
        }
        out.extend_from_slice(&self.type_section);
        out.extend_from_slice(&self.strings);
        out
    }

    /// Re-parses the edited BTF.
    pub fn finish(&self) -> Result<Btf> {
        Btf::from_sections(self.type_section.clone(), self.strings.clone(), self.big_endian, self.version, self.flags)
    }
}

