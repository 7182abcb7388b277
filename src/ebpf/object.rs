//! Static analysis of a gadget's eBPF object (`program.bpf.o`): Inspektor
//! Gadget's marker conventions (BTF VARs named `gadget_*`), data-source
//! fields derived from BTF structs, params and their defaults, iterators,
//! map iterators, `<map>_max_entries` globals and the programs with their
//! ELF sections.
//!
//! Also [`sanitize_for_aya`], which rewrites a copy of the ELF into something
//! aya-obj 0.3 accepts (see its documentation).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

use anyhow::{anyhow, bail, Context, Result};
use object::{Object as _, ObjectSection as _, ObjectSymbol as _};

use super::btf::{Btf, BtfType, Member, INT_BOOL, INT_CHAR, INT_SIGNED, LINKAGE_GLOBAL};

/// IG api field kinds (`api.Kind`).
pub use crate::datasource::kind;

/// Kernel map types used here (`enum bpf_map_type`).
pub mod map_type {
    pub const HASH: u32 = 1;
    pub const ARRAY: u32 = 2;
    pub const PROG_ARRAY: u32 = 3;
    pub const PERF_EVENT_ARRAY: u32 = 4;
    pub const PERCPU_HASH: u32 = 5;
    pub const PERCPU_ARRAY: u32 = 6;
    pub const ARRAY_OF_MAPS: u32 = 12;
    pub const HASH_OF_MAPS: u32 = 13;
    pub const RINGBUF: u32 = 27;
}

/// One data-source field derived from a BTF struct member (IG `Field`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    /// Full dotted name (`proc.comm`).
    pub name: String,
    /// IG api kind (see [`kind`]).
    pub kind: u32,
    pub offset: u32,
    pub size: u32,
    /// `type:<name>` for each typedef/base name, `name:<member>`, `src:ebpf`
    /// (plus `role:key` for map-iterator key fields).
    pub tags: Vec<String>,
    /// Index (in the same field list) of the enclosing struct/union field.
    pub parent: Option<usize>,
    /// Template annotations for well-known `gadget_*` types (sorted by key).
    pub annotations: Vec<(String, String)>,
}

/// An enum-typed field, remembered for enum → string formatting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumField {
    /// Full dotted field name.
    pub field: String,
    /// The enum's BTF name ("" if anonymous).
    pub enum_name: String,
    pub values: Vec<(String, i128)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TracerMapType {
    RingBuf,
    PerfEventArray,
}

/// `GADGET_TRACER(name, map, struct)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracer {
    pub name: String,
    pub map_name: String,
    pub struct_name: String,
    pub struct_size: u32,
    pub map_type: TracerMapType,
    pub fields: Vec<FieldSpec>,
    pub enums: Vec<EnumField>,
}

/// `GADGET_PARAM(var)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamVar {
    /// C variable name (what `LoadOptions::params` is keyed by).
    pub var: String,
    /// Param key (well-known renames applied, e.g. `targ_pid` → `pid`).
    pub key: String,
    pub description: String,
    /// "int8".."uint64", "bool", "float32", "float64", "string", "ip".
    pub type_hint: String,
    /// Size of the variable in bytes (the exact length values must have).
    pub size: u32,
    /// Default from the variable's initial bytes.
    pub default_value: String,
}

/// `GADGET_ITER(name, struct, prog...)` (and legacy snapshotters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IterSpec {
    pub name: String,
    pub struct_name: String,
    pub struct_size: u32,
    pub programs: Vec<String>,
    pub fields: Vec<FieldSpec>,
    pub enums: Vec<EnumField>,
}

/// `GADGET_MAPITER(name, map)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapIterSpec {
    pub name: String,
    pub map_name: String,
    pub key_struct: String,
    pub key_size: u32,
    pub value_struct: String,
    pub value_size: u32,
    /// Key fields (tagged `role:key`); offsets relative to the key.
    pub key_fields: Vec<FieldSpec>,
    /// Value fields; offsets relative to the value.
    pub value_fields: Vec<FieldSpec>,
    pub enums: Vec<EnumField>,
}

/// A `<map>_max_entries` global and its initial value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxEntriesVar {
    pub map: String,
    pub var: String,
    pub value: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProgramKind {
    TracePoint,
    RawTracePoint,
    TpBtf,
    KProbe,
    KRetProbe,
    UProbe,
    URetProbe,
    Usdt,
    FEntry,
    FExit,
    Iter,
    Lsm,
    SocketFilter,
    SchedClassifier,
    PerfEvent,
    SockOps,
    SkSkb,
    SkMsg,
    Xdp,
    Other,
}

impl ProgramKind {
    /// Derives the kind from a libbpf-style section name.
    pub fn from_section(section: &str) -> ProgramKind {
        let first = section.split('/').next().unwrap_or("");
        match first {
            "tracepoint" | "tp" => ProgramKind::TracePoint,
            "raw_tracepoint" | "raw_tp" | "raw_tracepoint.w" | "raw_tp.w" => ProgramKind::RawTracePoint,
            "tp_btf" => ProgramKind::TpBtf,
            "kprobe" | "ksyscall" | "kprobe.multi" => ProgramKind::KProbe,
            "kretprobe" | "kretsyscall" | "kretprobe.multi" => ProgramKind::KRetProbe,
            "uprobe" | "uprobe.s" | "uprobe.multi" | "uprobe.multi.s" => ProgramKind::UProbe,
            "uretprobe" | "uretprobe.s" | "uretprobe.multi" | "uretprobe.multi.s" => ProgramKind::URetProbe,
            "usdt" | "usdt.s" => ProgramKind::Usdt,
            "fentry" | "fentry.s" => ProgramKind::FEntry,
            "fexit" | "fexit.s" => ProgramKind::FExit,
            "iter" | "iter.s" => ProgramKind::Iter,
            "lsm" | "lsm.s" => ProgramKind::Lsm,
            "classifier" | "tc" | "tcx" => ProgramKind::SchedClassifier,
            "perf_event" => ProgramKind::PerfEvent,
            "sockops" => ProgramKind::SockOps,
            "sk_skb" => ProgramKind::SkSkb,
            "sk_msg" => ProgramKind::SkMsg,
            "xdp" | "xdp.frags" => ProgramKind::Xdp,
            s if s.starts_with("socket") => ProgramKind::SocketFilter,
            _ => ProgramKind::Other,
        }
    }
}

/// A program (function symbol in an executable section).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramInfo {
    pub name: String,
    /// ELF section name as written in the object (e.g.
    /// `tracepoint/syscalls/sys_enter_openat`).
    pub section: String,
    pub kind: ProgramKind,
    /// Section suffix after the first `/` ("" if none): the default attach
    /// target (`syscalls/sys_enter_openat`, `task`, `libc:malloc`, ...).
    pub attach_target: String,
}

/// A BTF-defined map from the `.maps` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapInfo {
    pub name: String,
    pub map_type: u32,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
    /// BTF type id of the key / value (0 if declared by size).
    pub key_type_id: u32,
    pub value_type_id: u32,
}

/// Everything [`analyze`] found.
#[derive(Debug, Clone, Default)]
pub struct GadgetObject {
    pub tracers: Vec<Tracer>,
    pub params: Vec<ParamVar>,
    pub iterators: Vec<IterSpec>,
    pub map_iters: Vec<MapIterSpec>,
    pub max_entries: Vec<MaxEntriesVar>,
    /// `const volatile bool gadget_filter_by_mntns` exists.
    pub has_filter_by_mntns: bool,
    /// The `gadget_mntns_filter_map` map exists.
    pub has_mntns_filter_map: bool,
    pub programs: Vec<ProgramInfo>,
    pub maps: Vec<MapInfo>,
    /// `GADGET_ITER_TARGET_MAP(prog, map)`: `iter/bpf_map_elem` program ->
    /// the map it iterates.
    pub iter_map_targets: Vec<(String, String)>,
    /// Markers that were recognised but are not supported (informational).
    pub notes: Vec<String>,
    /// Packet-filter functions (`GADGET_PF`, `gadget_pf_<name>`), sorted.
    pub packet_filters: Vec<String>,
}

impl GadgetObject {
    pub fn program(&self, name: &str) -> Option<&ProgramInfo> {
        self.programs.iter().find(|p| p.name == name)
    }
    pub fn map(&self, name: &str) -> Option<&MapInfo> {
        self.maps.iter().find(|m| m.name == name)
    }
    pub fn tracer(&self, name: &str) -> Option<&Tracer> {
        self.tracers.iter().find(|t| t.name == name)
    }
    pub fn iterator(&self, name: &str) -> Option<&IterSpec> {
        self.iterators.iter().find(|t| t.name == name)
    }
    pub fn param(&self, var: &str) -> Option<&ParamVar> {
        self.params.iter().find(|p| p.var == var)
    }
    /// The map an `iter/bpf_map_elem` program iterates (`GADGET_ITER_TARGET_MAP`).
    pub fn iter_map_target(&self, prog: &str) -> Option<&str> {
        self.iter_map_targets.iter().find(|(p, _)| p == prog).map(|(_, m)| m.as_str())
    }
}

const TRACER_PREFIX: &str = "gadget_tracer_";
const TRACER_MAP_PREFIX: &str = "gadget_map_tracer_";
const PARAM_PREFIX: &str = "gadget_param_";
const ITER_PREFIX: &str = "gadget_iter_";
const SNAPSHOTTER_PREFIX: &str = "gadget_snapshotter_";
const MAPITER_PREFIX: &str = "gadget_mapiter_";
const TOPPER_PREFIX: &str = "gadget_topper_";
const MAPELEM_TARGET_PREFIX: &str = "gadget_mapelem_iter_target_";
const SK_TARGET_PREFIX: &str = "gadget_sk_prog_target_";
const FILTER_BY_MNTNS: &str = "gadget_filter_by_mntns";
const MNTNS_FILTER_MAP: &str = "gadget_mntns_filter_map";

// ---------------------------------------------------------------------------
// ELF helpers
// ---------------------------------------------------------------------------

struct ElfInfo<'a> {
    /// name -> (index, data) for sections with file data (.bss: zero-filled).
    sections: HashMap<String, (usize, Vec<u8>)>,
    programs: Vec<ProgramInfo>,
    /// symbol name -> (section name, address, size)
    symbols: HashMap<String, (String, u64, u64)>,
    /// `gadget_pf_*` functions (packet filters), sorted.
    pf_functions: Vec<String>,
    btf: &'a [u8],
}

/// Checks the ELF identification and header: a 64-bit relocatable object (`ET_REL`) for
/// `EM_BPF` (247) in the host's byte order.
pub fn check_elf_header(elf: &[u8]) -> Result<()> {
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" {
        anyhow::bail!("not an ELF file");
    }
    if elf[4] != 2 {
        anyhow::bail!("not a 64-bit ELF object (EI_CLASS {})", elf[4]);
    }
    let host_data = if cfg!(target_endian = "little") { 1 } else { 2 };
    if elf[5] != host_data {
        anyhow::bail!(
            "the object is {}-endian but this host is {}-endian",
            if elf[5] == 1 { "little" } else if elf[5] == 2 { "big" } else { "unknown" },
            if host_data == 1 { "little" } else { "big" }
        );
    }
    let rd16 = |o: usize| if host_data == 1 { u16::from_le_bytes([elf[o], elf[o + 1]]) } else { u16::from_be_bytes([elf[o], elf[o + 1]]) };
    let (e_type, e_machine) = (rd16(16), rd16(18));
    if e_machine != 247 {
        anyhow::bail!("ELF machine is {e_machine}, not EM_BPF (247): this is not an eBPF object");
    }
    if e_type != 1 {
        anyhow::bail!("ELF type is {e_type}, not a relocatable object (ET_REL)");
    }
    Ok(())
}

fn read_elf(elf: &[u8]) -> Result<ElfInfo<'_>> {
    check_elf_header(elf)?;
    let file = object::File::parse(elf).context("parsing eBPF ELF object")?;
    let mut sections = HashMap::new();
    let mut sec_names: HashMap<usize, String> = HashMap::new();
    let mut exec_sections: Vec<(usize, String)> = Vec::new();
    let mut btf: &[u8] = &[];
    for s in file.sections() {
        let name = match s.name() {
            Ok(n) => n.to_string(),
            Err(_) => continue,
        };
        let idx = s.index().0;
        sec_names.insert(idx, name.clone());
        // .bss has no bytes in the file (and may claim any size): it is never materialised;
        // its variables read as zeros (var_initial_bytes).
        let data = if name.starts_with(".bss") {
            Vec::new()
        } else {
            s.data().map(|d| d.to_vec()).unwrap_or_default()
        };
        if name == ".BTF" {
            btf = s.data().with_context(|| "reading .BTF section")?;
        }
        let exec = matches!(s.flags(), object::SectionFlags::Elf { sh_flags } if sh_flags & u64::from(object::elf::SHF_EXECINSTR) != 0);
        if exec && s.size() > 0 && name != ".text" && !name.starts_with(".text.") {
            exec_sections.push((idx, name.clone()));
        }
        sections.insert(name, (idx, data));
    }
    let mut programs = Vec::new();
    let mut symbols = HashMap::new();
    let mut pf_functions = Vec::new();
    for sym in file.symbols() {
        let Ok(name) = sym.name() else { continue };
        if name.is_empty() {
            continue;
        }
        let Some(si) = sym.section_index() else { continue };
        let sec = sec_names.get(&si.0).cloned().unwrap_or_default();
        symbols.insert(name.to_string(), (sec.clone(), sym.address(), sym.size()));
        if sym.kind() == object::SymbolKind::Text && name.starts_with(super::packet_filter::PREFIX) {
            pf_functions.push(name.to_string());
        }
        if sym.kind() == object::SymbolKind::Text
            && sym.is_global()
            && exec_sections.iter().any(|(i, _)| *i == si.0)
        {
            let kind = ProgramKind::from_section(&sec);
            let attach_target = sec.split_once('/').map(|(_, t)| t.to_string()).unwrap_or_default();
            programs.push(ProgramInfo { name: name.to_string(), section: sec, kind, attach_target });
        }
    }
    programs.sort_by(|a, b| (a.section.as_str(), a.name.as_str()).cmp(&(b.section.as_str(), b.name.as_str())));
    if btf.is_empty() {
        bail!("eBPF object has no .BTF section (gadgets must be built with -g and stripped with `llvm-strip -g`)");
    }
    pf_functions.sort();
    pf_functions.dedup();
    Ok(ElfInfo { sections, programs, symbols, pf_functions, btf })
}

// ---------------------------------------------------------------------------
// analyze
// ---------------------------------------------------------------------------

/// Analyses a gadget eBPF object.
pub fn analyze(elf: &[u8]) -> Result<GadgetObject> {
    let info = read_elf(elf)?;
    let btf = Btf::parse(info.btf).context("parsing .BTF of the eBPF object")?;
    let mut out = GadgetObject { programs: info.programs.clone(), packet_filters: info.pf_functions.clone(), ..Default::default() };
    out.maps = parse_btf_maps(&btf)?;

    // Collect marker VARs.
    let mut markers: Vec<(u32, String)> = Vec::new();
    for (id, t) in btf.types() {
        if let BtfType::Var { name, .. } = t {
            if name.starts_with("gadget_") && name != FILTER_BY_MNTNS && !name.starts_with("gadget_var_") {
                markers.push((id, name.clone()));
            }
        }
    }

    for (id, name) in &markers {
        let is_marker = [
            TRACER_PREFIX,
            TRACER_MAP_PREFIX,
            PARAM_PREFIX,
            ITER_PREFIX,
            SNAPSHOTTER_PREFIX,
            MAPITER_PREFIX,
            TOPPER_PREFIX,
            MAPELEM_TARGET_PREFIX,
            SK_TARGET_PREFIX,
        ]
        .iter()
        .any(|p| name.starts_with(p));
        if !is_marker {
            continue;
        }
        validate_marker(&btf, *id, name)?;
        if let Some(rest) = name.strip_prefix(TRACER_PREFIX) {
            out.tracers.push(populate_tracer(&btf, &out.maps, name, rest)?);
        } else if let Some(rest) = name.strip_prefix(TRACER_MAP_PREFIX) {
            let m = out
                .map(rest)
                .ok_or_else(|| anyhow!("marker {name}: map {rest:?} not found in .maps"))?;
            if m.map_type != map_type::RINGBUF && m.map_type != map_type::PERF_EVENT_ARRAY {
                bail!("marker {name}: map {rest:?} is not a ring buffer or perf event array (type {})", m.map_type);
            }
        } else if let Some(var) = name.strip_prefix(PARAM_PREFIX) {
            out.params.push(populate_param(&btf, &info, name, var)?);
        } else if let Some(rest) = name.strip_prefix(ITER_PREFIX) {
            out.iterators.push(populate_iter(&btf, &out.programs, name, rest)?);
        } else if let Some(rest) = name.strip_prefix(SNAPSHOTTER_PREFIX) {
            out.notes.push(format!("deprecated marker prefix {SNAPSHOTTER_PREFIX} used by {name}"));
            out.iterators.push(populate_iter(&btf, &out.programs, name, rest)?);
        } else if let Some(rest) = name.strip_prefix(MAPITER_PREFIX) {
            out.map_iters.push(populate_mapiter(&btf, &out.maps, name, rest)?);
        } else if let Some(rest) = name.strip_prefix(MAPELEM_TARGET_PREFIX) {
            // gadget_mapelem_iter_target_<prog>___<map> (IG validates at init: fatal).
            let (prog, map) = rest
                .split_once("___")
                .ok_or_else(|| anyhow!("marker {name}: expected {MAPELEM_TARGET_PREFIX}<program>___<map>"))?;
            let p = out.program(prog).ok_or_else(|| anyhow!("marker {name}: program {prog:?} not found"))?;
            if p.kind != ProgramKind::Iter || p.attach_target != "bpf_map_elem" {
                bail!("marker {name}: program {prog} is in section {:?}, expected iter/bpf_map_elem", p.section);
            }
            if out.map(map).is_none() {
                bail!("marker {name}: map {map:?} not found in .maps");
            }
            if out.iter_map_targets.iter().any(|(p, _)| p == prog) {
                bail!("marker {name}: program {prog} is already bound to a map");
            }
            out.iter_map_targets.push((prog.to_string(), map.to_string()));
        } else if name.starts_with(TOPPER_PREFIX) {
            out.notes.push(format!("marker {name}: toppers were removed from IG; ignored"));
        } else {
            out.notes.push(format!("marker {name} is not supported by this runtime; ignored"));
        }
    }

    // Iterators programs must exist and be iter/ programs.
    for it in &out.iterators {
        for p in &it.programs {
            let prog = out
                .program(p)
                .ok_or_else(|| anyhow!("iterator {}: program {p:?} not found in the object", it.name))?;
            if prog.kind != ProgramKind::Iter {
                bail!("iterator {}: program {p} is in section {:?}, expected iter/<kind>", it.name, prog.section);
            }
        }
    }

    // mntns filter.
    if let Some(vid) = btf.find_var(FILTER_BY_MNTNS) {
        let BtfType::Var { type_id, .. } = btf.type_by_id(vid)? else { unreachable!() };
        let r = btf.resolve(*type_id)?;
        match btf.type_by_id(r.type_id)? {
            BtfType::Int { size: 1, .. } => out.has_filter_by_mntns = true,
            t => bail!("{FILTER_BY_MNTNS} must be a 1-byte bool, found {}", t.kind_name()),
        }
    }
    out.has_mntns_filter_map = out.map(MNTNS_FILTER_MAP).is_some();

    // <map>_max_entries globals.
    for m in &out.maps {
        let var = format!("{}_max_entries", m.name);
        if btf.find_var(&var).is_some() || info.symbols.contains_key(&var) {
            let bytes = var_initial_bytes(&btf, &info, &var)
                .with_context(|| format!("reading initial value of {var}"))?;
            let value = match bytes.len() {
                1 => bytes[0] as u32,
                2 => u16::from_le_bytes([bytes[0], bytes[1]]) as u32,
                4 => u32::from_le_bytes(bytes[..4].try_into().unwrap()),
                8 => u64::from_le_bytes(bytes[..8].try_into().unwrap()) as u32,
                n => bail!("{var}: unsupported size {n} (expected an integer)"),
            };
            out.max_entries.push(MaxEntriesVar { map: m.name.clone(), var, value });
        }
    }
    Ok(out)
}

/// Markers must be global VARs of type `const void *` (PTR -> CONST -> VOID).
fn validate_marker(btf: &Btf, id: u32, name: &str) -> Result<()> {
    let BtfType::Var { type_id, linkage, .. } = btf.type_by_id(id)? else {
        bail!("marker {name}: not a BTF VAR");
    };
    if *linkage != LINKAGE_GLOBAL {
        bail!("marker {name}: must be a global (non-static) variable");
    }
    let ok = match btf.type_by_id(*type_id)? {
        BtfType::Ptr { type_id: t } => match btf.type_by_id(*t)? {
            BtfType::Const { type_id: c } => matches!(btf.type_by_id(*c)?, BtfType::Void),
            _ => false,
        },
        _ => false,
    };
    if !ok {
        bail!("marker {name}: must be declared as `const void *` (found a different type)");
    }
    Ok(())
}

fn split3(rest: &str) -> Vec<&str> {
    rest.split("___").collect()
}

fn populate_tracer(btf: &Btf, maps: &[MapInfo], marker: &str, rest: &str) -> Result<Tracer> {
    let parts = split3(rest);
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        bail!("marker {marker}: expected gadget_tracer_<name>___<map>___<struct>");
    }
    let (name, map_name, struct_name) = (parts[0], parts[1], parts[2]);
    let m = maps
        .iter()
        .find(|m| m.name == map_name)
        .ok_or_else(|| anyhow!("tracer {name}: map {map_name:?} not found in .maps"))?;
    let map_type = match m.map_type {
        map_type::RINGBUF => TracerMapType::RingBuf,
        map_type::PERF_EVENT_ARRAY => TracerMapType::PerfEventArray,
        t => bail!("tracer {name}: map {map_name} must be RINGBUF or PERF_EVENT_ARRAY, found map type {t}"),
    };
    let sid = btf
        .find_struct(struct_name)
        .ok_or_else(|| anyhow!("tracer {name}: struct {struct_name} not found in BTF"))?;
    let (fields, enums, size) = struct_fields(btf, sid)?;
    Ok(Tracer {
        name: name.into(),
        map_name: map_name.into(),
        struct_name: struct_name.into(),
        struct_size: size,
        map_type,
        fields,
        enums,
    })
}

fn populate_iter(btf: &Btf, _programs: &[ProgramInfo], marker: &str, rest: &str) -> Result<IterSpec> {
    let parts = split3(rest);
    if parts.len() < 3 || parts.iter().any(|p| p.is_empty()) {
        bail!("marker {marker}: expected gadget_iter_<name>___<struct>___<prog>[___<prog>...]");
    }
    let (name, struct_name) = (parts[0], parts[1]);
    let sid = btf
        .find_struct(struct_name)
        .ok_or_else(|| anyhow!("iterator {name}: struct {struct_name} not found in BTF"))?;
    let (fields, enums, size) = struct_fields(btf, sid)?;
    Ok(IterSpec {
        name: name.into(),
        struct_name: struct_name.into(),
        struct_size: size,
        programs: parts[2..].iter().map(|s| s.to_string()).collect(),
        fields,
        enums,
    })
}

fn populate_mapiter(btf: &Btf, maps: &[MapInfo], marker: &str, rest: &str) -> Result<MapIterSpec> {
    let parts = split3(rest);
    if parts.len() != 2 || parts.iter().any(|p| p.is_empty()) {
        bail!("marker {marker}: expected gadget_mapiter_<name>___<map>");
    }
    let (name, map_name) = (parts[0], parts[1]);
    let m = maps
        .iter()
        .find(|m| m.name == map_name)
        .ok_or_else(|| anyhow!("map iterator {name}: map {map_name:?} not found in .maps"))?;
    if m.map_type != map_type::HASH {
        bail!("map iterator {name}: map {map_name} must be a HASH map (found type {})", m.map_type);
    }
    let struct_of = |what: &str, tid: u32, size: u32| -> Result<(u32, String)> {
        if tid == 0 {
            bail!("map iterator {name}: map {map_name} has no BTF {what} type (declare it with __type({what}, struct ...))");
        }
        let r = btf.resolve_id(tid)?;
        match btf.type_by_id(r)? {
            BtfType::Struct { name: sn, size: ss, .. } => {
                if *ss != size {
                    bail!("map iterator {name}: {what} struct {sn} size {ss} != map {what} size {size}");
                }
                Ok((r, sn.clone()))
            }
            t => bail!("map iterator {name}: {what} of map {map_name} must be a struct, found {}", t.kind_name()),
        }
    };
    let (kid, kname) = struct_of("key", m.key_type_id, m.key_size)?;
    let (vid, vname) = struct_of("value", m.value_type_id, m.value_size)?;
    let (mut key_fields, mut enums, _) = struct_fields(btf, kid)?;
    for f in &mut key_fields {
        f.tags.push("role:key".into());
    }
    let (value_fields, venums, _) = struct_fields(btf, vid)?;
    enums.extend(venums);
    Ok(MapIterSpec {
        name: name.into(),
        map_name: map_name.into(),
        key_struct: kname,
        key_size: m.key_size,
        value_struct: vname,
        value_size: m.value_size,
        key_fields,
        value_fields,
        enums,
    })
}

fn well_known_param(var: &str) -> (String, String) {
    let (k, d) = match var {
        "targ_pid" => ("pid", "Show only events generated by processes with this pid"),
        "targ_tid" => ("tid", "Show only events generated by threads with this tid"),
        "targ_uid" => ("uid", "Show only events generated by processes with this uid"),
        "targ_gid" => ("gid", "Show only events generated by processes with this gid"),
        "targ_comm" => ("comm", "Show only events generated by processes with this name"),
        "collect_ustack" => ("collect-ustack", "Collect user stack traces"),
        "collect_build_id" => ("collect-build-id", "Collect build IDs"),
        "collect_otel_stack" => ("collect-otel-stack", "Collect OpenTelemetry stack traces"),
        _ => return (var.to_string(), String::new()),
    };
    (k.to_string(), d.to_string())
}

fn populate_param(btf: &Btf, info: &ElfInfo, marker: &str, var: &str) -> Result<ParamVar> {
    let vid = btf
        .find_var(var)
        .ok_or_else(|| anyhow!("marker {marker}: variable {var} not found in BTF (is it `const volatile`?)"))?;
    let BtfType::Var { type_id, .. } = btf.type_by_id(vid)? else { unreachable!() };
    let size = btf.size_of(*type_id).with_context(|| format!("param {var}: size"))?;
    let r = btf.resolve(*type_id)?;
    let t = btf.type_by_id(r.type_id)?;
    let type_hint = match t {
        BtfType::Int { size, encoding, .. } => {
            if encoding & INT_BOOL != 0 {
                "bool".to_string()
            } else {
                let signed = encoding & INT_SIGNED != 0;
                match (size, signed) {
                    (1, true) => "int8",
                    (2, true) => "int16",
                    (4, true) => "int32",
                    (8, true) => "int64",
                    (1, false) => "uint8",
                    (2, false) => "uint16",
                    (4, false) => "uint32",
                    (8, false) => "uint64",
                    _ => bail!("param {var}: unsupported integer size {size}"),
                }
                .to_string()
            }
        }
        BtfType::Enum { size, signed, .. } => match (size, signed) {
            (1, true) => "int8",
            (2, true) => "int16",
            (4, true) => "int32",
            (8, true) => "int64",
            (1, false) => "uint8",
            (2, false) => "uint16",
            (4, false) => "uint32",
            (8, false) => "uint64",
            _ => bail!("param {var}: unsupported enum size {size}"),
        }
        .to_string(),
        BtfType::Float { size: 4, .. } => "float32".into(),
        BtfType::Float { size: 8, .. } => "float64".into(),
        BtfType::Array { elem_type, .. } => {
            let er = btf.resolve(*elem_type)?;
            match btf.type_by_id(er.type_id)? {
                BtfType::Int { size: 1, .. } => "string".into(),
                _ => bail!("param {var}: arrays other than char[N] are not supported"),
            }
        }
        BtfType::Struct { name, .. } if name == "gadget_l3endpoint_t" => "ip".into(),
        t => bail!("param {var}: unsupported type {} {:?}", t.kind_name(), t.name()),
    };
    let bytes = var_initial_bytes(btf, info, var).with_context(|| format!("param {var}: default value"))?;
    let default_value = format_value(&type_hint, &bytes);
    let (key, description) = well_known_param(var);
    Ok(ParamVar { var: var.into(), key, description, type_hint, size, default_value })
}

/// Formats raw little-endian bytes of a param according to its type hint.
pub fn format_value(type_hint: &str, b: &[u8]) -> String {
    let le = |n: usize| -> u64 {
        let mut a = [0u8; 8];
        let n = n.min(b.len());
        a[..n].copy_from_slice(&b[..n]);
        u64::from_le_bytes(a)
    };
    match type_hint {
        "bool" => (b.first().copied().unwrap_or(0) != 0).to_string(),
        "int8" => (le(1) as u8 as i8).to_string(),
        "int16" => (le(2) as u16 as i16).to_string(),
        "int32" => (le(4) as u32 as i32).to_string(),
        "int64" => (le(8) as i64).to_string(),
        "uint8" => (le(1) as u8).to_string(),
        "uint16" => (le(2) as u16).to_string(),
        "uint32" => (le(4) as u32).to_string(),
        "uint64" => le(8).to_string(),
        "float32" => f32::from_bits(le(4) as u32).to_string(),
        "float64" => f64::from_bits(le(8)).to_string(),
        "string" => {
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            String::from_utf8_lossy(&b[..end]).into_owned()
        }
        "ip" => {
            // struct gadget_l3endpoint_t { union { u8 v6[16]; u32 v4; }; u8 version; ... }
            let version = b.get(16).copied().unwrap_or(0);
            match version {
                4 if b.len() >= 4 => std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
                6 if b.len() >= 16 => {
                    let a: [u8; 16] = b[..16].try_into().unwrap();
                    std::net::Ipv6Addr::from(a).to_string()
                }
                _ => String::new(),
            }
        }
        _ => String::new(),
    }
}

/// Largest global variable whose initial bytes are read (params are scalars and strings).
const MAX_VAR_BYTES: u64 = 1 << 20;

/// Initial bytes of a global variable, located through the ELF symbol table
/// (clang leaves BTF DATASEC offsets at 0; libbpf/aya fix them at load) and
/// read from the section data (.bss = zeros).
fn var_initial_bytes(btf: &Btf, info: &ElfInfo, var: &str) -> Result<Vec<u8>> {
    if let Some((sec, addr, size)) = info.symbols.get(var) {
        if *size > MAX_VAR_BYTES {
            bail!("{var}: variable of {size} bytes (at most {MAX_VAR_BYTES})");
        }
        if sec.starts_with(".bss") {
            return Ok(vec![0; *size as usize]);
        }
        let (_, data) = info.sections.get(sec).ok_or_else(|| anyhow!("section {sec} of {var} not found"))?;
        let s = usize::try_from(*addr).unwrap_or(usize::MAX);
        let e = s.saturating_add(*size as usize);
        return data.get(s..e).map(|d| d.to_vec()).ok_or_else(|| anyhow!("{var}: out of bounds of {sec}"));
    }
    // No symbol: fall back to the DATASEC entry (only right if its offsets
    // were already fixed up).
    if let Some(vid) = btf.find_var(var) {
        for (_, t) in btf.types() {
            if let BtfType::DataSec { name, vars, .. } = t {
                if let Some(v) = vars.iter().find(|v| v.type_id == vid) {
                    if u64::from(v.size) > MAX_VAR_BYTES {
                        bail!("{var}: variable of {} bytes (at most {MAX_VAR_BYTES})", v.size);
                    }
                    if name.starts_with(".bss") {
                        return Ok(vec![0; v.size as usize]);
                    }
                    let (_, data) = info
                        .sections
                        .get(name.as_str())
                        .ok_or_else(|| anyhow!("section {name} holding {var} not found"))?;
                    let (s, e) = (v.offset as usize, v.offset as usize + v.size as usize);
                    return data
                        .get(s..e)
                        .map(|d| d.to_vec())
                        .ok_or_else(|| anyhow!("{var}: out of bounds of section {name}"));
                }
            }
        }
    }
    bail!("global variable {var} not found")
}

/// Reads `__uint(name, N)` style members: PTR -> ARRAY[N].
fn map_field_value(btf: &Btf, type_id: u32) -> Result<u32> {
    match btf.type_by_id(type_id)? {
        BtfType::Ptr { type_id } => match btf.type_by_id(*type_id)? {
            BtfType::Array { nelems, .. } => Ok(*nelems),
            t => bail!("expected PTR to ARRAY, found PTR to {}", t.kind_name()),
        },
        t => bail!("expected PTR, found {}", t.kind_name()),
    }
}

/// Parses the BTF-defined maps of the `.maps` DATASEC.
pub fn parse_btf_maps(btf: &Btf) -> Result<Vec<MapInfo>> {
    let mut out = Vec::new();
    let Some(ds) = btf.find_datasec(".maps") else { return Ok(out) };
    let BtfType::DataSec { vars, .. } = btf.type_by_id(ds)? else { unreachable!() };
    for v in vars {
        let BtfType::Var { name, type_id, .. } = btf.type_by_id(v.type_id)? else { continue };
        let sid = btf.resolve_id(*type_id)?;
        let BtfType::Struct { members, .. } = btf.type_by_id(sid)? else {
            bail!("map {name}: definition is not a struct");
        };
        let mut m = MapInfo {
            name: name.clone(),
            map_type: 0,
            key_size: 0,
            value_size: 0,
            max_entries: 0,
            key_type_id: 0,
            value_type_id: 0,
        };
        for mem in members {
            let ctx = || format!("map {name}: member {}", mem.name);
            match mem.name.as_str() {
                "type" => m.map_type = map_field_value(btf, mem.type_id).with_context(ctx)?,
                "max_entries" => m.max_entries = map_field_value(btf, mem.type_id).with_context(ctx)?,
                "key_size" => m.key_size = map_field_value(btf, mem.type_id).with_context(ctx)?,
                "value_size" => m.value_size = map_field_value(btf, mem.type_id).with_context(ctx)?,
                "key" | "value" => {
                    let BtfType::Ptr { type_id: t } = btf.type_by_id(mem.type_id)? else {
                        bail!("{}: expected a pointer", ctx());
                    };
                    let size = btf.size_of(*t).with_context(ctx)?;
                    if mem.name == "key" {
                        m.key_size = size;
                        m.key_type_id = *t;
                    } else {
                        m.value_size = size;
                        m.value_type_id = *t;
                    }
                }
                "values" => m.value_size = 4,
                _ => {}
            }
        }
        out.push(m);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Field derivation (IG pkg/operators/ebpf/struct.go + pkg/btfhelpers)
// ---------------------------------------------------------------------------

/// Type names met while resolving a member type, IG style: typedef names,
/// then (for arrays) the element's chain, then the base type's own name.
fn type_names(btf: &Btf, type_id: u32) -> Result<(u32, Vec<String>)> {
    let r = btf.resolve(type_id)?;
    let mut names = r.typedefs.clone();
    let t = btf.type_by_id(r.type_id)?;
    if let BtfType::Array { elem_type, .. } = t {
        let er = btf.resolve(*elem_type)?;
        names.extend(er.typedefs.iter().cloned());
        let en = btf.name_of(er.type_id);
        if !en.is_empty() {
            names.push(en.to_string());
        }
    } else if !t.name().is_empty() {
        names.push(t.name().to_string());
    }
    Ok((r.type_id, names))
}

/// Kind of a scalar type (already resolved).
fn scalar_kind(t: &BtfType) -> Option<(u32, u32)> {
    Some(match t {
        BtfType::Int { size, encoding, .. } => {
            if encoding & INT_BOOL != 0 {
                (kind::BOOL, *size)
            } else if encoding & INT_CHAR != 0 {
                (kind::UINT8, *size)
            } else {
                let signed = encoding & INT_SIGNED != 0;
                let k = match (size, signed) {
                    (1, true) => kind::INT8,
                    (2, true) => kind::INT16,
                    (4, true) => kind::INT32,
                    (8, true) => kind::INT64,
                    (1, false) => kind::UINT8,
                    (2, false) => kind::UINT16,
                    (4, false) => kind::UINT32,
                    (8, false) => kind::UINT64,
                    _ => return None,
                };
                (k, *size)
            }
        }
        BtfType::Float { size: 4, .. } => (kind::FLOAT32, 4),
        BtfType::Float { size: 8, .. } => (kind::FLOAT64, 8),
        BtfType::Enum { size, signed, .. } => {
            let k = match (size, signed) {
                (1, true) => kind::INT8,
                (2, true) => kind::INT16,
                (4, true) => kind::INT32,
                (8, true) => kind::INT64,
                (1, false) => kind::UINT8,
                (2, false) => kind::UINT16,
                (4, false) => kind::UINT32,
                (8, false) => kind::UINT64,
                _ => return None,
            };
            (k, *size)
        }
        _ => return None,
    })
}

const HIDDEN_PARENT_TYPES: [&str; 3] = ["gadget_process", "gadget_creds", "gadget_parent"];

/// Expands IG's annotation templates for well-known `gadget_*` type names (IG
/// `applyAnnotationsTemplateForType`: the template named after the type without `gadget_`;
/// the process, creds and parent structs are hidden).
fn apply_type_template(type_name: &str, dst: &mut BTreeMap<String, String>) {
    const TEMPLATED: [&str; 11] = [
        "gadget_comm",
        "gadget_uid",
        "gadget_gid",
        "gadget_pid",
        "gadget_tid",
        "gadget_timestamp",
        "gadget_mntns_id",
        "gadget_netns_id",
        "gadget_pcomm",
        "gadget_ppid",
        "gadget_user_stack",
    ];
    if TEMPLATED.contains(&type_name) {
        crate::image::metadata::apply_annotations_template(&type_name["gadget_".len()..], dst);
    } else if HIDDEN_PARENT_TYPES.contains(&type_name) {
        dst.insert("columns.hidden".to_string(), "true".to_string());
    }
}

struct FieldCtx<'a> {
    btf: &'a Btf,
    fields: Vec<FieldSpec>,
    enums: Vec<EnumField>,
}

impl FieldCtx<'_> {
    fn members(
        &mut self,
        members: &[Member],
        prefix: &str,
        base: u32,
        parent: Option<usize>,
        parent_type: &str,
        depth: usize,
    ) -> Result<()> {
        if depth > 32 {
            bail!("struct nesting too deep at {prefix:?}");
        }
        for m in members {
            self.member(m, prefix, base, parent, parent_type, depth)?;
        }
        Ok(())
    }

    fn member(
        &mut self,
        m: &Member,
        prefix: &str,
        base: u32,
        parent: Option<usize>,
        parent_type: &str,
        depth: usize,
    ) -> Result<()> {
        let btf = self.btf;
        if m.name.starts_with("__") {
            return Ok(());
        }
        let offset = base + m.byte_offset();
        let (rid, names) = type_names(btf, m.type_id)?;
        let t = btf.type_by_id(rid)?;

        // Anonymous struct/union members: their members belong to the
        // enclosing struct (C semantics), no wrapper field.
        if m.name.is_empty() {
            if let BtfType::Struct { members, .. } | BtfType::Union { members, .. } = t {
                return self.members(members, prefix, offset, parent, parent_type, depth + 1);
            }
            return Ok(());
        }

        let mut annotations = BTreeMap::new();
        for n in &names {
            apply_type_template(n, &mut annotations);
        }
        if HIDDEN_PARENT_TYPES.contains(&parent_type) {
            annotations.insert("columns.alias".to_string(), m.name.clone());
        }
        let mut tags: Vec<String> = names.iter().map(|n| format!("type:{n}")).collect();
        tags.push(format!("name:{}", m.name));
        tags.push("src:ebpf".to_string());
        let full = format!("{prefix}{}", m.name);
        let mk = |kind: u32, size: u32| FieldSpec {
            name: full.clone(),
            kind,
            offset,
            size,
            tags: tags.clone(),
            parent,
            annotations: annotations.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        };

        match t {
            BtfType::Struct { name, size, members } | BtfType::Union { name, size, members } => {
                let idx = self.fields.len();
                self.fields.push(mk(kind::BYTES, *size));
                let pfx = format!("{full}.");
                self.members(members, &pfx, offset, Some(idx), name, depth + 1)?;
            }
            BtfType::Array { elem_type, nelems, .. } => {
                let er = btf.resolve_id(*elem_type)?;
                let et = btf.type_by_id(er)?;
                if matches!(et, BtfType::Array { .. }) {
                    return Ok(()); // arrays of arrays are not supported (IG skips them)
                }
                let Some((ek, esize)) = scalar_kind(et) else { return Ok(()) };
                // A hostile nelems must not overflow (wrapping would give a bogus size).
                let Some(size) = esize.checked_mul(*nelems) else { return Ok(()) };
                if size == 0 {
                    return Ok(());
                }
                // char arrays: clang emits `char` as a signed 1-byte INT.
                let k = if ek == kind::INT8 && names.iter().any(|n| n == "char") {
                    kind::CSTRING
                } else {
                    kind::array_of(ek)
                };
                self.fields.push(mk(k, size));
            }
            other => {
                let Some((k, size)) = scalar_kind(other) else { return Ok(()) };
                if size == 0 {
                    return Ok(());
                }
                if let BtfType::Enum { name, values, .. } = other {
                    self.enums.push(EnumField {
                        field: full.clone(),
                        enum_name: name.clone(),
                        values: values.iter().map(|v| (v.name.clone(), v.value)).collect(),
                    });
                }
                self.fields.push(mk(k, size));
            }
        }
        Ok(())
    }
}

/// Derives the fields of struct `sid` (returns fields, enum fields, size).
pub fn struct_fields(btf: &Btf, sid: u32) -> Result<(Vec<FieldSpec>, Vec<EnumField>, u32)> {
    let (name, size, members) = match btf.type_by_id(sid)? {
        BtfType::Struct { name, size, members } | BtfType::Union { name, size, members } => {
            (name.clone(), *size, members.clone())
        }
        t => bail!("type {sid} is a {}, not a struct", t.kind_name()),
    };
    let mut ctx = FieldCtx { btf, fields: Vec::new(), enums: Vec::new() };
    ctx.members(&members, "", 0, None, &name, 0)
        .with_context(|| format!("deriving fields of struct {name}"))?;
    Ok((ctx.fields, ctx.enums, size))
}

// ---------------------------------------------------------------------------
// sanitize_for_aya
// ---------------------------------------------------------------------------

/// What [`sanitize_for_aya`] changed.
#[derive(Debug, Clone, Default)]
pub struct Sanitized {
    pub elf: Vec<u8>,
    pub notes: Vec<String>,
    /// Programs removed from the object: program name -> (section, reason).
    pub dropped: BTreeMap<String, (String, String)>,
    /// Sections renamed so aya-obj parses them: original -> new name.
    pub renamed: BTreeMap<String, String>,
}

/// Produces a copy of `elf` that aya-obj 0.3 accepts:
///
/// * **PROG_ARRAY `__array(values, int())`**: aya-obj's map parser requires
///   `values` to point to a struct (map-of-maps) and rejects the whole object
///   otherwise. In the copy's BTF, such a `values` member is renamed to
///   `value_size` and retyped as `int (*)[4]` (new types/strings are appended
///   to the BTF, so no existing id or string offset moves). Typed `key`/
///   `value` members of PROG_ARRAYs are likewise turned into
///   `key_size`/`value_size`, because the kernel refuses key/value BTF ids for
///   PROG_ARRAY and aya (unlike libbpf) does not clear them.
/// * **Unknown program sections** (aya-obj fails the whole parse): `socket*`
///   becomes `socket/<orig>` and `tc`/`tcx*` becomes `classifier/<orig>`
///   (unique names, as aya indexes sections by name); other unknown sections
///   (`usdt/…`, `uprobe.multi/…`, `ksyscall/…`, …) are dropped: their
///   executable flag is cleared and their `.BTF.ext` records are removed.
///   Each is reported in the notes; [`Sanitized::dropped`] lists them.
///
/// Rewritten sections are appended at the end of the file and their section
/// headers updated; nothing else moves.
pub fn sanitize_for_aya(elf: &[u8]) -> Result<(Vec<u8>, Vec<String>)> {
    let s = sanitize(elf)?;
    Ok((s.elf, s.notes))
}

/// Like [`sanitize_for_aya`] with structured details; type-match
/// relocations are evaluated against the running kernel's BTF.
pub fn sanitize(elf: &[u8]) -> Result<Sanitized> {
    sanitize_impl(elf, &CoreTarget::Kernel(std::sync::OnceLock::new()), &[])
}

/// [`sanitize_with_extra`] against the running kernel's BTF, parsed only if a type-match
/// relocation needs it.
pub fn sanitize_kernel_extra(elf: &[u8], extra: &[ExtraStruct]) -> Result<Sanitized> {
    sanitize_impl(elf, &CoreTarget::Kernel(std::sync::OnceLock::new()), extra)
}

/// The CO-RE target of type-match relocations: given, or the kernel's, parsed on first use
/// (most objects have no such relocation, and the parse costs tens of ms).
enum CoreTarget<'a> {
    Given(Option<&'a Btf>),
    Kernel(std::sync::OnceLock<Option<std::sync::Arc<Btf>>>),
}

impl CoreTarget<'_> {
    fn get(&self) -> Option<&Btf> {
        match self {
            CoreTarget::Given(b) => *b,
            CoreTarget::Kernel(c) => c.get_or_init(super::fixups::vmlinux_btf).as_deref(),
        }
    }
}

/// [`sanitize`] with an explicit CO-RE target BTF for type-match
/// (kind 12) relocations (`None`: an object with such relocations fails).
pub fn sanitize_with_target(elf: &[u8], target: Option<&Btf>) -> Result<Sanitized> {
    sanitize_with_extra(elf, target, &[])
}

/// A struct supplied at run time as an extra CO-RE relocation target (IG's
/// `ExtraRelocationTargets`, e.g. the socket enricher's
/// `gadget_socket_value`): its name, size and members (name, byte offset,
/// byte size). Members are scalars or arrays of one-byte elements.
#[derive(Debug, Clone, Copy)]
pub struct ExtraStruct {
    pub name: &'static str,
    pub size: u32,
    pub members: &'static [(&'static str, u32, u32)],
}

/// [`sanitize_with_target`] plus extra relocation targets: CO-RE
/// relocations whose root type is one of `extra` (and absent from `target`,
/// which is searched first, as cilium does) are resolved against it here
/// and the instructions patched as libbpf does (`bpf_core_patch_insn`; a
/// missing member poisons the instruction unless the relocation is a
/// field-exists check, which becomes 0). aya never sees those records.
pub fn sanitize_with_extra(elf: &[u8], target: Option<&Btf>, extra: &[ExtraStruct]) -> Result<Sanitized> {
    sanitize_impl(elf, &CoreTarget::Given(target), extra)
}

fn sanitize_impl(elf: &[u8], target: &CoreTarget, extra: &[ExtraStruct]) -> Result<Sanitized> {
    let info = read_elf(elf)?;
    let btf = Btf::parse(info.btf).context("parsing .BTF")?;
    let mut out = Sanitized::default();
    let mut ed = btf.editor();
    let mut btf_changed = false;

    // --- PROG_ARRAY maps ----------------------------------------------------
    let mut int_id: Option<u32> = btf
        .types()
        .find(|(_, t)| matches!(t, BtfType::Int { size: 4, .. }))
        .map(|(i, _)| i);
    let mut size_arrays: HashMap<u32, u32> = HashMap::new();
    if let Some(ds) = btf.find_datasec(".maps") {
        let BtfType::DataSec { vars, .. } = btf.type_by_id(ds)? else { unreachable!() };
        for v in vars {
            let BtfType::Var { name: map_name, type_id, .. } = btf.type_by_id(v.type_id)? else { continue };
            let sid = btf.resolve_id(*type_id)?;
            let BtfType::Struct { members, .. } = btf.type_by_id(sid)? else { continue };
            let mtype = members
                .iter()
                .find(|m| m.name == "type")
                .map(|m| map_field_value(&btf, m.type_id))
                .transpose()?
                .unwrap_or(0);
            for (idx, m) in members.iter().enumerate() {
                let is_func_values = m.name == "values" && !values_points_to_struct(&btf, m.type_id)?;
                let is_typed_kv = mtype == map_type::PROG_ARRAY && (m.name == "key" || m.name == "value");
                if !is_func_values && !is_typed_kv {
                    continue;
                }
                if is_func_values && mtype != map_type::PROG_ARRAY {
                    bail!(
                        "map {map_name}: `values` of a non-PROG_ARRAY map (type {mtype}) must point to an inner map struct"
                    );
                }
                let (new_name, size) = match m.name.as_str() {
                    "values" => ("value_size", 4),
                    "key" | "value" => {
                        let BtfType::Ptr { type_id: t } = btf.type_by_id(m.type_id)? else {
                            bail!("map {map_name}: member {} is not a pointer", m.name);
                        };
                        (if m.name == "key" { "key_size" } else { "value_size" }, btf.size_of(*t)?)
                    }
                    _ => unreachable!(),
                };
                let iid = *int_id.get_or_insert_with(|| ed.add_int("int", 4, INT_SIGNED));
                let ptr = match size_arrays.get(&size) {
                    Some(p) => *p,
                    None => {
                        let arr = ed.add_array(iid, iid, size);
                        let p = ed.add_ptr(arr);
                        size_arrays.insert(size, p);
                        p
                    }
                };
                let name_off = ed.add_string(new_name);
                let rec = btf.member_record_offset(sid, idx)?;
                ed.set_u32(rec, name_off)?;
                ed.set_u32(rec + 4, ptr)?;
                if m.name == "values" {
                    // `values` is a zero-sized array at the very end of the
                    // struct; an 8-byte pointer there would exceed the struct
                    // size (the kernel rejects the BTF). Overlap it with the
                    // previous member instead (offsets may repeat).
                    let prev = if idx == 0 { 0 } else { members[idx - 1].bit_offset };
                    ed.set_u32(rec + 8, prev)?;
                }
                btf_changed = true;
                out.notes.push(format!(
                    "map {map_name}: PROG_ARRAY member `{}` rewritten as `{new_name} = {size}` for aya",
                    m.name
                ));
            }
        }
    }

    // --- CO-RE accesses into flexible array members ---------------------------
    // aya-obj 0.3 mis-detects flexible arrays in the *local* access spec (it
    // compares the array index, not the member index, with the last member)
    // and rejects e.g. `ctx->args[1]` on `struct bpf_raw_tracepoint_args`.
    // Such relocations are pointed at a copy of the struct chain whose
    // flexible array has a fixed length covering the index.
    let mut relo_types: HashMap<(u32, u32), u32> = HashMap::new();
    if let Some((_, ext)) = info.sections.get(".BTF.ext") {
        let relos = btf_ext_core_relos(ext, btf.is_big_endian()).context("reading .BTF.ext CO-RE relocations")?;
        let mut cache: HashMap<(u32, u32), Option<u32>> = HashMap::new();
        for (type_id, access_off, rkind) in relos {
            if rkind > 5 || cache.contains_key(&(type_id, access_off)) {
                continue; // only field relocations walk members
            }
            let access = btf.string_at(access_off).unwrap_or("").to_string();
            let fixed = fix_flex_array_access(&btf, &mut ed, type_id, &access)
                .with_context(|| format!("CO-RE access {access:?} on type {type_id}"))?;
            if let Some(n) = fixed {
                relo_types.insert((type_id, access_off), n);
                btf_changed = true;
                out.notes.push(format!(
                    "CO-RE access {access:?} into a flexible array of {:?}: relocated against a fixed-length copy (aya-obj 0.3 bound check)",
                    btf.name_of(type_id)
                ));
            }
            cache.insert((type_id, access_off), fixed);
        }
    }

    // --- CO-RE type-match relocations (kind 12) -------------------------------
    // aya-obj 0.3 rejects the whole object on relocation kind 12
    // (BPF_CORE_TYPE_MATCHES). Evaluate it here with libbpf's rules, patch the
    // instruction's immediate (1/0) and drop the record from .BTF.ext.
    let mut patched_secs: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut drop_relos: HashSet<(u32, u32)> = HashSet::new();
    if let Some((_, ext)) = info.sections.get(".BTF.ext") {
        let relos = btf_ext_core_relo_records(ext, btf.is_big_endian()).context("reading .BTF.ext CO-RE relocations")?;
        let mut cache: HashMap<u32, bool> = HashMap::new();
        for r in relos.iter().filter(|r| r.kind == CORE_TYPE_MATCHES) {
            let tname = btf.name_of(r.type_id).to_string();
            let targ = target.get().ok_or_else(|| {
                anyhow!("CO-RE type-match relocation on {tname:?} needs the kernel BTF (/sys/kernel/btf/vmlinux)")
            })?;
            let v = match cache.get(&r.type_id) {
                Some(v) => *v,
                None => {
                    let v = super::fixups::type_matches(&btf, r.type_id, targ)
                        .with_context(|| format!("CO-RE type-match relocation on {tname:?}"))?;
                    cache.insert(r.type_id, v);
                    out.notes.push(format!("CO-RE bpf_core_type_matches({tname}) = {} (resolved by gadgetrt)", u8::from(v)));
                    v
                }
            };
            let sec = btf.string_at(r.sec_name_off)?.to_string();
            let data = patched_section(&mut patched_secs, &info.sections, &sec)?;
            patch_insn_imm(data, r.insn_off as usize, u64::from(v), btf.is_big_endian())
                .with_context(|| format!("CO-RE type-match relocation on {tname:?} in {sec}+{}", r.insn_off))?;
            drop_relos.insert((r.sec_name_off, r.insn_off));
        }
    }

    // --- extra relocation targets (IG's ExtraRelocationTargets) ----------------
    if let (false, Some((_, ext))) = (extra.is_empty(), info.sections.get(".BTF.ext")) {
        let relos = btf_ext_core_relo_records(ext, btf.is_big_endian()).context("reading .BTF.ext CO-RE relocations")?;
        let mut in_target: HashMap<&str, bool> = HashMap::new();
        let mut resolved = 0usize;
        for r in &relos {
            let root = btf.resolve_id(r.type_id)?;
            let BtfType::Struct { name, .. } = btf.type_by_id(root)? else { continue };
            let Some(x) = extra.iter().find(|x| x.name == super::fixups::essential_name(name)) else { continue };
            let known = *in_target
                .entry(x.name)
                .or_insert_with(|| target.get().is_some_and(|t| t.find_struct(x.name).is_some()));
            if known {
                continue;
            }
            let access = btf.string_at(r.access_str_off)?.to_string();
            let res = extra_core_value(&btf, root, &access, r.kind, x)
                .with_context(|| format!("CO-RE relocation (kind {}) {access:?} on struct {}", r.kind, x.name))?;
            let sec = btf.string_at(r.sec_name_off)?.to_string();
            let data = patched_section(&mut patched_secs, &info.sections, &sec)?;
            patch_core_insn(data, r.insn_off as usize, r.kind, res, btf.is_big_endian())
                .with_context(|| format!("CO-RE relocation {access:?} on struct {} in {sec}+{}", x.name, r.insn_off))?;
            drop_relos.insert((r.sec_name_off, r.insn_off));
            resolved += 1;
        }
        if resolved > 0 {
            let names: Vec<&str> = extra.iter().map(|x| x.name).collect();
            out.notes.push(format!(
                "{resolved} CO-RE relocations on {} resolved against gadgetrt's runtime layout",
                names.join(", ")
            ));
        }
    }

    // --- .kconfig externs ------------------------------------------------------
    // aya-obj 0.3 has no extern support. Like libbpf, give the externs values
    // (kernel config, LINUX_KERNEL_VERSION, ...) in a read-only data map: the
    // externs become defined symbols of a new `.rodata.kconfig` section and
    // the BTF DATASEC is renamed to it (laid out, VARs made global).
    let mut kconfig: Option<(Vec<u8>, Vec<(String, u64, u64)>)> = None;
    if let Some(ds) = btf.find_datasec(KCONFIG_SEC) {
        let BtfType::DataSec { vars, .. } = btf.type_by_id(ds)? else { unreachable!() };
        let weak = weak_undefined_symbols(elf)?;
        let ds_rec = btf.record_offset(ds)?;
        let mut data: Vec<u8> = Vec::new();
        let mut syms = Vec::new();
        for (i, v) in vars.iter().enumerate() {
            let BtfType::Var { name, type_id, .. } = btf.type_by_id(v.type_id)? else {
                bail!("{KCONFIG_SEC}: entry {i} is not a VAR");
            };
            let size = btf.size_of(*type_id)? as usize;
            let align = match btf.type_by_id(btf.resolve_id(*type_id)?)? {
                BtfType::Array { .. } => 1,
                _ => size.clamp(1, 8).next_power_of_two(),
            };
            while data.len() % align != 0 {
                data.push(0);
            }
            let off = data.len();
            match super::fixups::kconfig_value(&btf, name, *type_id, size)? {
                Some(b) => {
                    data.extend_from_slice(&b);
                    out.notes.push(format!("extern (kcfg) {name} set to {}", kcfg_display(&b)));
                }
                None if weak.contains(name) => {
                    data.resize(off + size, 0);
                    out.notes.push(format!("extern (kcfg) {name} (weak) not found: 0"));
                }
                None => bail!("extern (kcfg) '{name}' (strong): not resolved (not in the kernel config)"),
            }
            ed.set_u32(ds_rec + 12 + i * 12 + 4, off as u32)?;
            ed.set_u32(ds_rec + 12 + i * 12 + 8, size as u32)?;
            ed.set_u32(btf.record_offset(v.type_id)? + 12, LINKAGE_GLOBAL)?;
            syms.push((name.clone(), off as u64, size as u64));
        }
        while data.is_empty() || data.len() % 8 != 0 {
            data.push(0);
        }
        ed.set_u32(ds_rec + 8, data.len() as u32)?;
        let n = ed.add_string(KCONFIG_DATA_SEC);
        ed.set_u32(ds_rec, n)?;
        btf_changed = true;
        kconfig = Some((data, syms));
    }

    // --- program sections ---------------------------------------------------
    let mut sec_seen: HashSet<String> = HashSet::new();
    let mut renames: BTreeMap<String, String> = BTreeMap::new();
    let mut drops: HashSet<String> = HashSet::new();
    for p in &info.programs {
        if !sec_seen.insert(p.section.clone()) {
            continue;
        }
        if aya_obj::ProgramSection::from_str(&p.section).is_ok() {
            continue;
        }
        let first = p.section.split('/').next().unwrap_or("");
        if first.starts_with("socket") {
            renames.insert(p.section.clone(), format!("socket/{}", p.section));
        } else if first == "tc" || first.starts_with("tcx") {
            renames.insert(p.section.clone(), format!("classifier/{}", p.section));
        } else {
            drops.insert(p.section.clone());
        }
    }
    for p in &info.programs {
        if let Some(n) = renames.get(&p.section) {
            out.notes.push(format!(
                "program {} (section {:?}): section renamed to {n:?} so aya-obj can parse it",
                p.name, p.section
            ));
        } else if drops.contains(&p.section) {
            let reason = format!("section kind {:?} is not supported by aya-obj 0.3", p.section.split('/').next().unwrap_or(""));
            out.notes.push(format!("program {} (section {:?}) dropped: {reason}", p.name, p.section));
            out.dropped.insert(p.name.clone(), (p.section.clone(), reason));
        }
    }
    out.renamed = renames.clone();

    // BTF strings for renamed sections (used by .BTF.ext sec_name_off).
    let mut ext_renames: HashMap<u32, u32> = HashMap::new();
    for (old, new) in &renames {
        if let Some(off) = btf.find_string(old) {
            let n = ed.add_string(new);
            ext_renames.insert(off, n);
            btf_changed = true;
        }
    }
    let mut ext_drops: HashSet<u32> = HashSet::new();
    for d in &drops {
        if let Some(off) = btf.find_string(d) {
            ext_drops.insert(off);
        }
    }

    if !btf_changed && renames.is_empty() && drops.is_empty() && patched_secs.is_empty() {
        out.elf = elf.to_vec();
        return Ok(out);
    }

    let mut w = ElfPatcher::new(elf)?;
    if btf_changed {
        let bytes = ed.to_bytes();
        Btf::parse(&bytes).context("re-parsing patched BTF")?;
        w.replace_section(".BTF", &bytes)?;
    }
    if !ext_renames.is_empty() || !ext_drops.is_empty() || !relo_types.is_empty() || !drop_relos.is_empty() {
        if let Some((_, ext)) = info.sections.get(".BTF.ext") {
            let new_ext =
                rewrite_btf_ext(ext, &ext_renames, &ext_drops, &relo_types, &drop_relos, btf.is_big_endian())
                    .context("rewriting .BTF.ext")?;
            w.replace_section(".BTF.ext", &new_ext)?;
        }
    }
    for (sec, data) in &patched_secs {
        w.replace_section(sec, data)?;
    }
    if let Some((data, syms)) = &kconfig {
        let idx = w.add_section(KCONFIG_DATA_SEC, data)?;
        for (name, off, size) in syms {
            w.define_symbol(name, idx, *off, *size)?;
        }
    }
    for (old, new) in &renames {
        w.rename_section(old, new)?;
    }
    for d in &drops {
        w.clear_exec_flag(d)?;
    }
    out.elf = w.finish();
    // Sanity check: the result must still be a parseable ELF.
    object::File::parse(&*out.elf).context("sanitized ELF does not parse")?;
    Ok(out)
}

/// `values` member: ARRAY[0] of PTR to (resolved) STRUCT => map-in-map.
fn values_points_to_struct(btf: &Btf, type_id: u32) -> Result<bool> {
    let BtfType::Array { elem_type, .. } = btf.type_by_id(type_id)? else { return Ok(false) };
    let pid = btf.resolve_id(*elem_type)?;
    let BtfType::Ptr { type_id: target } = btf.type_by_id(pid)? else { return Ok(false) };
    let t = btf.resolve_id(*target)?;
    Ok(matches!(btf.type_by_id(t)?, BtfType::Struct { .. }))
}

const CORE_TYPE_MATCHES: u32 = 12;
const KCONFIG_SEC: &str = ".kconfig";
/// The section `.kconfig` externs are moved to (aya-obj makes `.rodata*`
/// sections read-only, frozen data maps; 15 characters fit a map name).
const KCONFIG_DATA_SEC: &str = ".rodata.kconfig";

fn kcfg_display(b: &[u8]) -> String {
    match b.len() {
        1 => format!("{}", b[0]),
        2 => format!("{}", u16::from_ne_bytes([b[0], b[1]])),
        4 => format!("{:#x}", u32::from_ne_bytes(b.try_into().unwrap())),
        8 => format!("{:#x}", u64::from_ne_bytes(b.try_into().unwrap())),
        _ => format!("{:?}", String::from_utf8_lossy(b.split(|&c| c == 0).next().unwrap_or(&[]))),
    }
}

/// Names of the undefined (extern) ELF symbols bound `__weak`.
fn weak_undefined_symbols(elf: &[u8]) -> Result<HashSet<String>> {
    let file = object::File::parse(elf).context("parsing eBPF ELF object")?;
    Ok(file
        .symbols()
        .filter(|s| s.is_undefined() && s.is_weak())
        .filter_map(|s| s.name().ok().map(str::to_string))
        .collect())
}

/// Writes `v` into the immediate of the instruction at byte `off` of a
/// program section (ALU/ALU64 `imm`, or both halves of `ld_imm64`), as
/// libbpf's `bpf_core_patch_insn` does for type-based relocations.
/// The copy of section `sec` that CO-RE fixups patch (copied from the ELF on first use).
fn patched_section<'m>(
    patched: &'m mut BTreeMap<String, Vec<u8>>,
    sections: &HashMap<String, (usize, Vec<u8>)>,
    sec: &str,
) -> Result<&'m mut Vec<u8>> {
    if !patched.contains_key(sec) {
        let d = sections.get(sec).map(|(_, d)| d.clone()).ok_or_else(|| anyhow!("CO-RE relocation in unknown section {sec:?}"))?;
        patched.insert(sec.to_string(), d);
    }
    Ok(patched.get_mut(sec).expect("inserted above"))
}

fn patch_insn_imm(data: &mut [u8], off: usize, v: u64, big: bool) -> Result<()> {
    let code = *data.get(off).ok_or_else(|| anyhow!("instruction offset {off} out of range"))?;
    let wr = |d: &mut [u8], at: usize, x: u32| -> Result<()> {
        let b = if big { x.to_be_bytes() } else { x.to_le_bytes() };
        d.get_mut(at..at + 4).ok_or_else(|| anyhow!("instruction at {off} truncated"))?.copy_from_slice(&b);
        Ok(())
    };
    match code & 7 {
        4 | 7 => {
            if v > u64::from(u32::MAX) {
                bail!("value {v} does not fit an ALU immediate");
            }
            wr(data, off + 4, v as u32)
        }
        0 if code == 0x18 => {
            wr(data, off + 4, v as u32)?;
            wr(data, off + 12, (v >> 32) as u32)
        }
        _ => bail!("cannot patch instruction code {code:#04x} (expected an ALU or ld_imm64 instruction)"),
    }
}

/// libbpf's poison value (`call 0xbad2310`): the verifier rejects the
/// program only if the instruction is reachable.
const CORE_POISON: u32 = 0xbad2310;

/// Value of a CO-RE relocation on `root` (a local struct matched with `x`),
/// or `None` when the accessed member does not exist in `x`.
fn extra_core_value(btf: &Btf, root: u32, access: &str, kind: u32, x: &ExtraStruct) -> Result<Option<u64>> {
    let idx: Vec<u32> = access
        .split(':')
        .map(|p| p.parse::<u32>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| anyhow!("bad access string"))?;
    let first = *idx.first().ok_or_else(|| anyhow!("empty access string"))?;
    match kind {
        8 | 12 => return Ok(Some(1)),                // TYPE_EXISTS, TYPE_MATCHES
        9 => return Ok(Some(u64::from(x.size))),     // TYPE_SIZE
        0..=5 => {}
        k => bail!("relocation kind {k} is not supported on a runtime-supplied struct"),
    }
    let BtfType::Struct { members, .. } = btf.type_by_id(root)? else { bail!("root is not a struct") };
    let Some(&mi) = idx.get(1) else {
        bail!("field relocation without a member");
    };
    let m = members.get(mi as usize).ok_or_else(|| anyhow!("member index {mi} out of range"))?;
    let Some(&(_, moff, msize)) = x.members.iter().find(|(n, _, _)| *n == m.name) else {
        return Ok(if kind == 2 { Some(0) } else { None });
    };
    let mut off = u64::from(first) * u64::from(x.size) + u64::from(moff);
    let mut size = msize;
    // Deeper accessors: array elements of the member (one-byte elements, or
    // the local element size when the member is a scalar array of it).
    if let Some(&ai) = idx.get(2) {
        if idx.len() > 3 {
            bail!("nested access {access:?} is not supported");
        }
        let BtfType::Array { elem_type, .. } = btf.type_by_id(btf.resolve_id(m.type_id)?)? else {
            bail!("member {} is not an array", m.name);
        };
        let esize = btf.size_of(*elem_type)?;
        if esize == 0 || (ai + 1) * esize > msize {
            return Ok(if kind == 2 { Some(0) } else { None });
        }
        off += u64::from(ai * esize);
        size = esize;
    }
    Ok(Some(match kind {
        0 => off,
        1 => u64::from(size),
        2 => 1,
        3 => {
            let t = btf.type_by_id(btf.resolve_id(m.type_id)?)?;
            u64::from(matches!(t, BtfType::Int { encoding, .. } if encoding & INT_SIGNED != 0))
        }
        4 | 5 => 64 - u64::from(size) * 8,
        _ => unreachable!(),
    }))
}

/// Patches one instruction with a CO-RE result as libbpf's
/// `bpf_core_patch_insn` does (`None`: poison it).
fn patch_core_insn(data: &mut [u8], off: usize, kind: u32, v: Option<u64>, big: bool) -> Result<()> {
    let code = *data.get(off).ok_or_else(|| anyhow!("instruction offset {off} out of range"))?;
    let Some(v) = v else {
        let n = if code == 0x18 { 2 } else { 1 };
        for k in 0..n {
            let at = off + 8 * k;
            let insn = data.get_mut(at..at + 8).ok_or_else(|| anyhow!("instruction at {off} truncated"))?;
            insn.fill(0);
            insn[0] = 0x85;
            let b = if big { CORE_POISON.to_be_bytes() } else { CORE_POISON.to_le_bytes() };
            insn[4..8].copy_from_slice(&b);
        }
        return Ok(());
    };
    match code & 7 {
        // LDX, ST, STX: the 16-bit offset (field byte offsets only).
        1..=3 => {
            if kind != 0 {
                bail!("relocation kind {kind} on a memory instruction");
            }
            let o = i16::try_from(v).map_err(|_| anyhow!("offset {v} does not fit a memory instruction"))?;
            let b = if big { o.to_be_bytes() } else { o.to_le_bytes() };
            data[off + 2..off + 4].copy_from_slice(&b);
            Ok(())
        }
        _ => patch_insn_imm(data, off, v, big),
    }
}

/// One CO-RE relocation record of `.BTF.ext`.
#[derive(Debug, Clone, Copy)]
struct CoreRelo {
    sec_name_off: u32,
    insn_off: u32,
    type_id: u32,
    access_str_off: u32,
    kind: u32,
}

fn btf_ext_core_relo_records(data: &[u8], big: bool) -> Result<Vec<CoreRelo>> {
    let rd = |off: usize| -> Result<u32> {
        let b = data.get(off..off + 4).ok_or_else(|| anyhow!("truncated .BTF.ext at {off}"))?;
        let a = [b[0], b[1], b[2], b[3]];
        Ok(if big { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) })
    };
    let mut out = Vec::new();
    if data.len() < 8 {
        return Ok(out);
    }
    let hdr_len = rd(4)? as usize;
    if hdr_len < 32 {
        return Ok(out);
    }
    let (off, len) = (rd(24)? as usize, rd(28)? as usize);
    if len == 0 {
        return Ok(out);
    }
    let start = hdr_len + off;
    let end = start + len;
    let rec_size = rd(start)? as usize;
    if rec_size < 16 {
        bail!("CO-RE relocation record size {rec_size} < 16");
    }
    let mut p = start + 4;
    while p < end {
        let sec = rd(p)?;
        let n = rd(p + 4)? as usize;
        for r in 0..n {
            let ro = p + 8 + r * rec_size;
            out.push(CoreRelo {
                sec_name_off: sec,
                insn_off: rd(ro)?,
                type_id: rd(ro + 4)?,
                access_str_off: rd(ro + 8)?,
                kind: rd(ro + 12)?,
            });
        }
        p += 8 + n * rec_size;
    }
    Ok(out)
}

/// `(type_id, access_str_off, kind)` of every CO-RE relocation in `.BTF.ext`.
fn btf_ext_core_relos(data: &[u8], big: bool) -> Result<Vec<(u32, u32, u32)>> {
    Ok(btf_ext_core_relo_records(data, big)?.into_iter().map(|r| (r.type_id, r.access_str_off, r.kind)).collect())
}

/// If aya-obj 0.3 would reject the local access spec `access` (e.g.
/// "0:0:1") on `root` because of its flexible-array check, builds a copy of
/// the struct chain with the flexible array given a fixed length and returns
/// the new root id.
fn fix_flex_array_access(btf: &Btf, ed: &mut super::btf::BtfEditor, root: u32, access: &str) -> Result<Option<u32>> {
    let parts: Vec<usize> = match access.split(':').map(|p| p.parse::<usize>()).collect() {
        Ok(v) => v,
        Err(_) => return Ok(None),
    };
    if parts.len() < 3 || btf.resolve_id(root)? != root {
        return Ok(None);
    }
    // path of (struct id, member index)
    let mut path: Vec<(u32, usize)> = Vec::new();
    let mut t = root;
    for &idx in parts.iter().skip(1) {
        let rt = btf.resolve_id(t)?;
        match btf.type_by_id(rt)? {
            BtfType::Struct { members, .. } | BtfType::Union { members, .. } => {
                let Some(m) = members.get(idx) else { return Ok(None) };
                path.push((rt, idx));
                t = m.type_id;
            }
            BtfType::Array { elem_type, nelems, index_type } => {
                if *nelems != 0 {
                    t = *elem_type;
                    continue;
                }
                let Some(&(pid, midx)) = path.last() else { return Ok(None) };
                let BtfType::Struct { members, size: psize, .. } = btf.type_by_id(pid)? else { return Ok(None) };
                let is_flex = midx == members.len() - 1;
                let aya_ok = idx == members.len() - 1;
                // Accesses may go on into the element (`numbers[0].nr`): the
                // element type is unchanged, only the array gets a length.
                if !is_flex || aya_ok {
                    return Ok(None);
                }
                // New fixed-length array and copies up the chain.
                let esize = btf.size_of(*elem_type)?;
                let arr = ed.add_array(*elem_type, *index_type, idx as u32 + 1);
                let moff = members[midx].byte_offset();
                let mut child = ed.clone_record_with(
                    btf,
                    pid,
                    &[(8, (*psize).max(moff + esize * (idx as u32 + 1))), (12 + midx * 12 + 4, arr)],
                )?;
                let mut child_size = (*psize).max(moff + esize * (idx as u32 + 1));
                for &(sid, midx) in path.iter().rev().skip(1) {
                    let (BtfType::Struct { members, size, .. } | BtfType::Union { members, size, .. }) = btf.type_by_id(sid)?
                    else {
                        return Ok(None);
                    };
                    let need = members[midx].byte_offset() + child_size;
                    let nsize = (*size).max(need);
                    child = ed.clone_record_with(btf, sid, &[(8, nsize), (12 + midx * 12 + 4, child)])?;
                    child_size = nsize;
                }
                return Ok(Some(child));
            }
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// Rebuilds `.BTF.ext`, dropping the per-section blocks of dropped sections
/// and renaming others (func_info, line_info and CO-RE relocations).
fn rewrite_btf_ext(
    data: &[u8],
    renames: &HashMap<u32, u32>,
    drops: &HashSet<u32>,
    relo_types: &HashMap<(u32, u32), u32>,
    drop_relos: &HashSet<(u32, u32)>,
    big: bool,
) -> Result<Vec<u8>> {
    let rd = |off: usize| -> Result<u32> {
        let b = data.get(off..off + 4).ok_or_else(|| anyhow!("truncated .BTF.ext at {off}"))?;
        let a = [b[0], b[1], b[2], b[3]];
        Ok(if big { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) })
    };
    let wr = |v: u32| if big { v.to_be_bytes() } else { v.to_le_bytes() };
    if data.len() < 8 {
        bail!(".BTF.ext too small");
    }
    let hdr_len = rd(4)? as usize;
    if hdr_len < 24 || hdr_len > data.len() {
        bail!(".BTF.ext: bad header length {hdr_len}");
    }
    // (off field position, len field position) pairs in the header.
    let mut subs = vec![(8usize, 12usize), (16, 20)];
    if hdr_len >= 32 {
        subs.push((24, 28));
    }
    let mut header = data[..hdr_len].to_vec();
    let mut body: Vec<u8> = Vec::new();
    for (sub_idx, (off_pos, len_pos)) in subs.into_iter().enumerate() {
        let off = rd(off_pos)? as usize;
        let len = rd(len_pos)? as usize;
        let new_off = body.len() as u32;
        if len == 0 {
            header[off_pos..off_pos + 4].copy_from_slice(&wr(new_off));
            header[len_pos..len_pos + 4].copy_from_slice(&wr(0));
            continue;
        }
        let start = hdr_len + off;
        let end = start + len;
        if end > data.len() {
            bail!(".BTF.ext: subsection out of bounds");
        }
        let rec_size = rd(start)? as usize;
        let mut sub = wr(rec_size as u32).to_vec();
        let mut p = start + 4;
        while p < end {
            let sec = rd(p)?;
            let n = rd(p + 4)? as usize;
            let blk_end = p + 8 + n * rec_size;
            if blk_end > end {
                bail!(".BTF.ext: record block out of bounds");
            }
            if !drops.contains(&sec) {
                let orig_sec = sec;
                let sec = renames.get(&sec).copied().unwrap_or(sec);
                sub.extend_from_slice(&wr(sec));
                let at = sub.len();
                if sub_idx == 2 && !drop_relos.is_empty() {
                    // CO-RE records resolved by gadgetrt (type matches) are left out.
                    let mut kept = 0u32;
                    sub.extend_from_slice(&wr(0));
                    for r in 0..n {
                        let ro = p + 8 + r * rec_size;
                        if drop_relos.contains(&(orig_sec, rd(ro)?)) {
                            continue;
                        }
                        sub.extend_from_slice(&data[ro..ro + rec_size]);
                        kept += 1;
                    }
                    sub[at..at + 4].copy_from_slice(&wr(kept));
                    if kept == 0 {
                        sub.truncate(at - 4);
                        p = blk_end;
                        continue;
                    }
                } else {
                    sub.extend_from_slice(&data[p + 4..blk_end]);
                }
                let n = (sub.len() - at - 4) / rec_size;
                // CO-RE relocation records: {insn_off, type_id, access_str_off, kind}
                if sub_idx == 2 && rec_size >= 16 && !relo_types.is_empty() {
                    for r in 0..n {
                        let ro = at + 4 + r * rec_size;
                        let rdw = |o: usize| {
                            let a: [u8; 4] = sub[o..o + 4].try_into().unwrap();
                            if big { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }
                        };
                        let key = (rdw(ro + 4), rdw(ro + 8));
                        if let Some(nt) = relo_types.get(&key) {
                            sub[ro + 4..ro + 8].copy_from_slice(&wr(*nt));
                        }
                    }
                }
            }
            p = blk_end;
        }
        header[off_pos..off_pos + 4].copy_from_slice(&wr(new_off));
        header[len_pos..len_pos + 4].copy_from_slice(&wr(sub.len() as u32));
        body.extend_from_slice(&sub);
    }
    header.extend_from_slice(&body);
    Ok(header)
}

/// Minimal ELF64 rewriter: appends replacement section contents at the end of
/// the file and points the section headers at them.
pub(super) struct ElfPatcher {
    data: Vec<u8>,
    big: bool,
    shoff: usize,
    shentsize: usize,
    shnum: usize,
    shstrndx: usize,
}

impl ElfPatcher {
    pub(super) fn new(elf: &[u8]) -> Result<Self> {
        if elf.len() < 64 || &elf[..4] != b"\x7fELF" {
            bail!("not an ELF file");
        }
        if elf[4] != 2 {
            bail!("only ELF64 eBPF objects are supported");
        }
        let big = elf[5] == 2;
        let mut p = ElfPatcher { data: elf.to_vec(), big, shoff: 0, shentsize: 0, shnum: 0, shstrndx: 0 };
        p.shoff = p.r64(0x28) as usize;
        p.shentsize = p.r16(0x3a) as usize;
        p.shnum = p.r16(0x3c) as usize;
        p.shstrndx = p.r16(0x3e) as usize;
        if p.shentsize < 64 || p.shoff + p.shnum * p.shentsize > p.data.len() {
            bail!("ELF section header table out of bounds");
        }
        Ok(p)
    }
    fn r16(&self, o: usize) -> u16 {
        let a = [self.data[o], self.data[o + 1]];
        if self.big { u16::from_be_bytes(a) } else { u16::from_le_bytes(a) }
    }
    fn r32(&self, o: usize) -> u32 {
        let a: [u8; 4] = self.data[o..o + 4].try_into().unwrap();
        if self.big { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }
    }
    fn r64(&self, o: usize) -> u64 {
        let a: [u8; 8] = self.data[o..o + 8].try_into().unwrap();
        if self.big { u64::from_be_bytes(a) } else { u64::from_le_bytes(a) }
    }
    fn w32(&mut self, o: usize, v: u32) {
        let b = if self.big { v.to_be_bytes() } else { v.to_le_bytes() };
        self.data[o..o + 4].copy_from_slice(&b);
    }
    fn w64(&mut self, o: usize, v: u64) {
        let b = if self.big { v.to_be_bytes() } else { v.to_le_bytes() };
        self.data[o..o + 8].copy_from_slice(&b);
    }
    fn sh(&self, i: usize) -> usize {
        self.shoff + i * self.shentsize
    }
    pub(super) fn section_name(&self, i: usize) -> Result<String> {
        let strtab = self.sh(self.shstrndx);
        let str_off = self.r64(strtab + 0x18) as usize;
        let str_size = self.r64(strtab + 0x20) as usize;
        let name_off = self.r32(self.sh(i)) as usize;
        let bytes = self
            .data
            .get(str_off + name_off..str_off + str_size)
            .ok_or_else(|| anyhow!("ELF: section name out of bounds"))?;
        let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
        Ok(String::from_utf8_lossy(&bytes[..end]).into_owned())
    }
    pub(super) fn find(&self, name: &str) -> Result<usize> {
        for i in 0..self.shnum {
            if self.section_name(i)? == name {
                return Ok(i);
            }
        }
        bail!("ELF: section {name:?} not found")
    }
    fn append(&mut self, bytes: &[u8]) -> usize {
        while !self.data.len().is_multiple_of(8) {
            self.data.push(0);
        }
        let off = self.data.len();
        self.data.extend_from_slice(bytes);
        off
    }
    fn replace_section(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let i = self.find(name)?;
        let off = self.append(bytes);
        let sh = self.sh(i);
        self.w64(sh + 0x18, off as u64);
        self.w64(sh + 0x20, bytes.len() as u64);
        Ok(())
    }
    fn rename_section(&mut self, old: &str, new: &str) -> Result<()> {
        let i = self.find(old)?;
        // Append a new copy of the section-name string table with `new` at its end.
        let strtab = self.sh(self.shstrndx);
        let str_off = self.r64(strtab + 0x18) as usize;
        let str_size = self.r64(strtab + 0x20) as usize;
        let mut tab = self.data[str_off..str_off + str_size].to_vec();
        let name_off = tab.len() as u32;
        tab.extend_from_slice(new.as_bytes());
        tab.push(0);
        let off = self.append(&tab);
        let strtab = self.sh(self.shstrndx);
        self.w64(strtab + 0x18, off as u64);
        self.w64(strtab + 0x20, tab.len() as u64);
        let sh = self.sh(i);
        self.w32(sh, name_off);
        Ok(())
    }
    /// Appends a new `SHT_PROGBITS`, `SHF_ALLOC` section and returns its index
    /// (the section header table is copied to the end of the file).
    fn add_section(&mut self, name: &str, bytes: &[u8]) -> Result<usize> {
        if self.shnum + 1 >= 0xff00 {
            bail!("ELF: too many sections");
        }
        let data_off = self.append(bytes);
        let strtab = self.sh(self.shstrndx);
        let str_off = self.r64(strtab + 0x18) as usize;
        let str_size = self.r64(strtab + 0x20) as usize;
        let mut tab = self.data[str_off..str_off + str_size].to_vec();
        let name_off = tab.len() as u32;
        tab.extend_from_slice(name.as_bytes());
        tab.push(0);
        let off = self.append(&tab);
        self.w64(strtab + 0x18, off as u64);
        self.w64(strtab + 0x20, tab.len() as u64);
        let mut table = self.data[self.shoff..self.shoff + self.shnum * self.shentsize].to_vec();
        let mut hdr = vec![0u8; self.shentsize];
        let put32 = |h: &mut [u8], o: usize, v: u32, big: bool| {
            h[o..o + 4].copy_from_slice(&if big { v.to_be_bytes() } else { v.to_le_bytes() })
        };
        let put64 = |h: &mut [u8], o: usize, v: u64, big: bool| {
            h[o..o + 8].copy_from_slice(&if big { v.to_be_bytes() } else { v.to_le_bytes() })
        };
        put32(&mut hdr, 0, name_off, self.big);
        put32(&mut hdr, 4, object::elf::SHT_PROGBITS, self.big);
        put64(&mut hdr, 0x08, u64::from(object::elf::SHF_ALLOC), self.big);
        put64(&mut hdr, 0x18, data_off as u64, self.big);
        put64(&mut hdr, 0x20, bytes.len() as u64, self.big);
        put64(&mut hdr, 0x30, 8, self.big);
        table.extend_from_slice(&hdr);
        let new_shoff = self.append(&table);
        let idx = self.shnum;
        self.shoff = new_shoff;
        self.shnum += 1;
        self.w64(0x28, new_shoff as u64);
        let b = if self.big { (self.shnum as u16).to_be_bytes() } else { (self.shnum as u16).to_le_bytes() };
        self.data[0x3c..0x3e].copy_from_slice(&b);
        Ok(idx)
    }

    /// Turns the (undefined) symbol `name` into a global object of `size`
    /// bytes at `value` in section `shndx`.
    fn define_symbol(&mut self, name: &str, shndx: usize, value: u64, size: u64) -> Result<()> {
        let symtab = (0..self.shnum)
            .find(|&i| self.r32(self.sh(i) + 4) == object::elf::SHT_SYMTAB)
            .ok_or_else(|| anyhow!("ELF: no symbol table"))?;
        let sh = self.sh(symtab);
        let (off, size_all, ent) = (self.r64(sh + 0x18) as usize, self.r64(sh + 0x20) as usize, self.r64(sh + 0x38) as usize);
        let strsh = self.sh(self.r32(sh + 0x28) as usize);
        let (soff, ssize) = (self.r64(strsh + 0x18) as usize, self.r64(strsh + 0x20) as usize);
        if ent < 24 {
            bail!("ELF: bad symbol entry size {ent}");
        }
        let mut found = false;
        for i in 0..size_all / ent {
            let e = off + i * ent;
            let n = self.r32(e) as usize;
            let Some(bytes) = self.data.get(soff + n..soff + ssize) else { continue };
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            if &bytes[..end] != name.as_bytes() {
                continue;
            }
            self.data[e + 4] = (object::elf::STB_GLOBAL << 4) | object::elf::STT_OBJECT;
            let b = if self.big { (shndx as u16).to_be_bytes() } else { (shndx as u16).to_le_bytes() };
            self.data[e + 6..e + 8].copy_from_slice(&b);
            self.w64(e + 8, value);
            self.w64(e + 16, size);
            found = true;
        }
        if !found {
            bail!("ELF: symbol {name:?} not found");
        }
        Ok(())
    }

    pub(super) fn is_big_endian(&self) -> bool {
        self.big
    }
    pub(super) fn section_count(&self) -> usize {
        self.shnum
    }
    pub(super) fn sh_type(&self, i: usize) -> u32 {
        self.r32(self.sh(i) + 4)
    }
    pub(super) fn is_exec(&self, i: usize) -> bool {
        i < self.shnum && self.r64(self.sh(i) + 0x08) & u64::from(object::elf::SHF_EXECINSTR) != 0
    }
    pub(super) fn sh_offset(&self, i: usize) -> usize {
        self.r64(self.sh(i) + 0x18) as usize
    }
    pub(super) fn sh_size(&self, i: usize) -> usize {
        self.r64(self.sh(i) + 0x20) as usize
    }
    pub(super) fn sh_link(&self, i: usize) -> usize {
        self.r32(self.sh(i) + 0x28) as usize
    }
    pub(super) fn sh_info(&self, i: usize) -> usize {
        self.r32(self.sh(i) + 0x2c) as usize
    }
    pub(super) fn sh_entsize(&self, i: usize) -> usize {
        self.r64(self.sh(i) + 0x38) as usize
    }
    pub(super) fn section_by_type(&self, t: u32) -> Option<usize> {
        (0..self.shnum).find(|&i| self.sh_type(i) == t)
    }
    /// The contents of section `i` (bounds-checked).
    pub(super) fn section_data(&self, i: usize) -> Result<&[u8]> {
        let (o, s) = (self.sh_offset(i), self.sh_size(i));
        self.data.get(o..o.saturating_add(s)).ok_or_else(|| anyhow!("ELF: section {i} out of bounds"))
    }
    pub(super) fn bytes_mut(&mut self, o: usize, s: usize) -> Result<&mut [u8]> {
        self.data.get_mut(o..o.saturating_add(s)).ok_or_else(|| anyhow!("ELF: range {o}+{s} out of bounds"))
    }
    pub(super) fn byte(&self, o: usize) -> u8 {
        self.data[o]
    }
    pub(super) fn u16_at(&self, o: usize) -> u16 {
        self.r16(o)
    }
    pub(super) fn u32_at(&self, o: usize) -> u32 {
        self.r32(o)
    }
    pub(super) fn u64_at(&self, o: usize) -> u64 {
        self.r64(o)
    }
    pub(super) fn put_u64(&mut self, o: usize, v: u64) {
        self.w64(o, v)
    }
    /// The NUL-terminated string at `off` of string-table section `strtab`.
    pub(super) fn string(&self, strtab: usize, off: usize) -> Result<&str> {
        let tab = self.section_data(strtab)?;
        let s = tab.get(off..).ok_or_else(|| anyhow!("ELF: string offset {off} out of bounds"))?;
        let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
        std::str::from_utf8(&s[..end]).map_err(|_| anyhow!("ELF: string at {off} is not UTF-8"))
    }
    /// Replaces the contents of section `i` (appended at the end of the file).
    pub(super) fn replace_section_at(&mut self, i: usize, bytes: &[u8]) {
        let off = self.append(bytes);
        let sh = self.sh(i);
        self.w64(sh + 0x18, off as u64);
        self.w64(sh + 0x20, bytes.len() as u64);
    }

    fn clear_exec_flag(&mut self, name: &str) -> Result<()> {
        let i = self.find(name)?;
        let sh = self.sh(i);
        let flags = self.r64(sh + 0x08) & !u64::from(object::elf::SHF_EXECINSTR);
        self.w64(sh + 0x08, flags);
        Ok(())
    }
    pub(super) fn finish(self) -> Vec<u8> {
        self.data
    }
}
