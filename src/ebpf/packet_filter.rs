//! IG's packet filters: the `pf` / `pf-<name>` params of gadgets whose programs call
//! `gadget_pf_matches(...)` (include/gadget/packetfilter.h; tcpdump).
//!
//! `GADGET_PF(name)` defines a `static __noinline bool gadget_pf_<name>(_skb, __skb, ___skb,
//! data, data_end)` whose body returns `data != data_end && _skb == __skb && __skb ==
//! ___skb`: true for every non-empty packet. As IG's ebpf operator does, a filter expression
//! is compiled to classic BPF (tcpdump's syntax, Ethernet framing), converted to eBPF that
//! reads the packet between `data` (r4) and `data_end` (r5) with the verifier's bounds checks,
//! and inserted at the start of that function. The inserted code ends with `r1 = r2 = r3 = 0,
//! r4 = result, r5 = 0`, so the original body then returns `result != 0`.
//!
//! IG compiles with go-pcap's filter compiler; gadgetrt uses libpcap's `pcap_compile` (opened
//! at run time with dlopen, only when a filter is set: the library has no link-time
//! dependency on it). `__reject_all__` (IG's) rejects every packet.

use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, c_uint, c_void, CStr, CString};
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};

use super::object::ElfPatcher;

/// Symbol prefix of packet-filter functions.
pub const PREFIX: &str = "gadget_pf_";
/// Param of the unnamed filter; named ones are `pf-<name>`.
pub const PARAM: &str = "pf";
/// IG's expression that rejects every packet.
pub const REJECT_ALL: &str = "__reject_all__";

/// The param key of the filter function `sym` (`gadget_pf_` → `pf`, `gadget_pf_x` → `pf-x`).
pub fn param_key(sym: &str) -> Option<String> {
    let name = sym.strip_prefix(PREFIX)?;
    Some(if name.is_empty() { PARAM.to_string() } else { format!("{PARAM}-{name}") })
}

/// A classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Cbpf {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// An eBPF instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn { code, dst, src, off, imm }
    }
    /// Little-endian encoding.
    pub fn to_bytes(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = (self.src << 4) | (self.dst & 0xf);
        b[2..4].copy_from_slice(&self.off.to_le_bytes());
        b[4..8].copy_from_slice(&self.imm.to_le_bytes());
        b
    }
}

// ---------------------------------------------------------------------------------------
// libpcap (dlopen)

#[repr(C)]
struct BpfProgram {
    bf_len: c_uint,
    bf_insns: *mut Cbpf,
}

const DLT_EN10MB: c_int = 1;
const PCAP_NETMASK_UNKNOWN: u32 = 0xffff_ffff;
const LIBPCAP_NAMES: [&str; 3] = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"];

/// `pcap_compile` of older libpcaps is not thread-safe.
static PCAP_LOCK: Mutex<()> = Mutex::new(());

/// Compiles a tcpdump filter expression to classic BPF for Ethernet frames with libpcap.
pub fn compile_pcap(expr: &str) -> Result<Vec<Cbpf>> {
    let _guard = PCAP_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let cexpr = CString::new(expr).map_err(|_| anyhow!("the filter contains a NUL byte"))?;
    // SAFETY: dlopen/dlsym with NUL-terminated names; the library stays loaded (never closed),
    // so the function pointers stay valid.
    unsafe {
        let mut lib = std::ptr::null_mut();
        for name in LIBPCAP_NAMES {
            let n = CString::new(name).expect("no NUL");
            lib = libc::dlopen(n.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
            if !lib.is_null() {
                break;
            }
        }
        if lib.is_null() {
            bail!(
                "compiling a packet filter needs libpcap ({}; Debian: apt install libpcap0.8)",
                LIBPCAP_NAMES.join(" or ")
            );
        }
        let sym = |name: &str| -> Result<*mut c_void> {
            let n = CString::new(name).expect("no NUL");
            let p = libc::dlsym(lib, n.as_ptr());
            if p.is_null() {
                bail!("libpcap lacks {name}");
            }
            Ok(p)
        };
        let open_dead: unsafe extern "C" fn(c_int, c_int) -> *mut c_void = std::mem::transmute(sym("pcap_open_dead")?);
        let compile: unsafe extern "C" fn(*mut c_void, *mut BpfProgram, *const c_char, c_int, u32) -> c_int =
            std::mem::transmute(sym("pcap_compile")?);
        let geterr: unsafe extern "C" fn(*mut c_void) -> *const c_char = std::mem::transmute(sym("pcap_geterr")?);
        let freecode: unsafe extern "C" fn(*mut BpfProgram) = std::mem::transmute(sym("pcap_freecode")?);
        let close: unsafe extern "C" fn(*mut c_void) = std::mem::transmute(sym("pcap_close")?);
        let p = open_dead(DLT_EN10MB, 65535);
        if p.is_null() {
            bail!("pcap_open_dead failed");
        }
        let mut prog = BpfProgram { bf_len: 0, bf_insns: std::ptr::null_mut() };
        let r = compile(p, &mut prog, cexpr.as_ptr(), 1, PCAP_NETMASK_UNKNOWN);
        let result = if r != 0 {
            let e = geterr(p);
            let msg = if e.is_null() { "unknown error".into() } else { CStr::from_ptr(e).to_string_lossy().into_owned() };
            Err(anyhow!("{msg}"))
        } else {
            let insns = if prog.bf_insns.is_null() {
                Vec::new()
            } else {
                std::slice::from_raw_parts(prog.bf_insns, prog.bf_len as usize).to_vec()
            };
            freecode(&mut prog);
            Ok(insns)
        };
        close(p);
        result
    }
}

/// The eBPF code inserted into a filter function for `expr`.
pub fn filter_code(expr: &str) -> Result<Vec<Insn>> {
    if expr == REJECT_ALL {
        // data = data_end: the original body returns false.
        return Ok(vec![Insn::new(ALU64 | MOV | X, R4, R5, 0, 0)]);
    }
    let cbpf = compile_pcap(expr).with_context(|| format!("compiling packet filter {expr:?}"))?;
    cbpf_to_ebpf(&cbpf).with_context(|| format!("converting packet filter {expr:?} to eBPF"))
}

// ---------------------------------------------------------------------------------------
// classic BPF -> eBPF

// Registers: A, X, two temporaries; the packet's start and end (the function's 4th and 5th
// arguments); the frame pointer.
const A: u8 = 0;
const XR: u8 = 1;
const T1: u8 = 2;
const T2: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;
const FP: u8 = 10;

// eBPF opcodes.
const LDX: u8 = 0x01;
const STX: u8 = 0x03;
const ST: u8 = 0x02;
const ALU: u8 = 0x04;
const JMP: u8 = 0x05;
const JMP32: u8 = 0x06;
const ALU64: u8 = 0x07;
const MEM: u8 = 0x60;
const SIZE_W: u8 = 0x00;
const SIZE_H: u8 = 0x08;
const SIZE_B: u8 = 0x10;
const K: u8 = 0x00;
const X: u8 = 0x08;
const ADD: u8 = 0x00;
const AND: u8 = 0x50;
const LSH: u8 = 0x60;
const MOV: u8 = 0xb0;
const END_TO_BE: u8 = 0xd8;
const JA: u8 = 0x00;
const JEQ: u8 = 0x10;
const JGT: u8 = 0x20;

/// `skb->len` (offset 0 of `struct __sk_buff`), saved by the prologue for `ld len`; the
/// scratch words M[] follow it (only what a filter uses counts in the verifier's stack limit,
/// shared with the calling program).
const LEN_SLOT: i16 = -8;
/// Packet offsets the verifier accepts (`MAX_PACKET_OFF`).
const MAX_PACKET_OFF: u32 = 0xffff;

/// Stack slot of scratch word `k` (below the `len` slot when there is one).
fn slot(k: u32, base: i16) -> Result<i16> {
    if k >= 16 {
        bail!("scratch memory index {k} out of range (0..16)");
    }
    Ok(base - 8 * (k as i16 + 1))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Cbpf(usize),
    Reject,
    Result,
}

struct Emitter {
    out: Vec<(Insn, Option<Target>)>,
    reject_used: bool,
}

impl Emitter {
    fn op(&mut self, i: Insn) {
        self.out.push((i, None));
    }
    fn jump(&mut self, i: Insn, t: Target) {
        if t == Target::Reject {
            self.reject_used = true;
        }
        self.out.push((i, Some(t)));
    }
    /// `T1 = data + k` checked for `size` readable bytes (else reject); with `indexed`,
    /// `data + X + k`.
    fn packet_ptr(&mut self, k: u32, size: u32, indexed: bool) {
        if k.saturating_add(size) > MAX_PACKET_OFF {
            // Beyond any packet the verifier lets a program read: the load fails.
            self.jump(Insn::new(JMP | JA, 0, 0, 0, 0), Target::Reject);
            return;
        }
        if indexed {
            // Bound X so that the verifier accepts the variable offset.
            self.jump(Insn::new(JMP | JGT | K, XR, 0, 0, (MAX_PACKET_OFF - k - size) as i32), Target::Reject);
        }
        self.op(Insn::new(ALU64 | MOV | X, T1, R4, 0, 0));
        if indexed {
            self.op(Insn::new(ALU64 | ADD | X, T1, XR, 0, 0));
        }
        if k > 0 {
            self.op(Insn::new(ALU64 | ADD | K, T1, 0, 0, k as i32));
        }
        self.op(Insn::new(ALU64 | MOV | X, T2, T1, 0, 0));
        self.op(Insn::new(ALU64 | ADD | K, T2, 0, 0, size as i32));
        self.jump(Insn::new(JMP | JGT | X, T2, R5, 0, 0), Target::Reject);
    }
    /// `dst = ntoh(*(size *)T1)`.
    fn packet_load(&mut self, dst: u8, size: u32) {
        let sz = match size {
            4 => SIZE_W,
            2 => SIZE_H,
            _ => SIZE_B,
        };
        self.op(Insn::new(LDX | MEM | sz, dst, T1, 0, 0));
        if size > 1 {
            self.op(Insn::new(ALU | END_TO_BE, dst, 0, 0, (size * 8) as i32));
        }
    }
}

/// The instructions reachable from the first one (the verifier refuses unreachable code).
fn reachable(prog: &[Cbpf]) -> Result<Vec<bool>> {
    let mut seen = vec![false; prog.len()];
    let mut todo = vec![0usize];
    while let Some(i) = todo.pop() {
        if i >= prog.len() {
            bail!("classic BPF program runs past its end (instruction {i})");
        }
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        let c = prog[i];
        match c.code & 0x07 {
            0x06 => {} // ret
            0x05 if c.code & 0xf0 == 0 => todo.push(i + 1 + c.k as usize),
            0x05 => {
                todo.push(i + 1 + c.jt as usize);
                todo.push(i + 1 + c.jf as usize);
            }
            _ => todo.push(i + 1),
        }
    }
    Ok(seen)
}

/// Converts a classic BPF filter to eBPF for the start of a `gadget_pf_*` function (see the
/// module docs), followed by the epilogue that hands the result to the original body.
pub fn cbpf_to_ebpf(prog: &[Cbpf]) -> Result<Vec<Insn>> {
    if prog.is_empty() {
        bail!("empty classic BPF program");
    }
    let live = reachable(prog)?;
    let mut e = Emitter { out: Vec::new(), reject_used: false };
    // Prologue: skb->len for `ld len` (r1 is the context), A = X = 0, scratch slots that are
    // read start at 0.
    let uses_len = prog.iter().any(|c| matches!(c.code & 0x07, 0x00 | 0x01) && c.code & 0xe0 == 0x80);
    let base = if uses_len { LEN_SLOT } else { 0 };
    if uses_len {
        e.op(Insn::new(LDX | MEM | SIZE_W, T1, 1, 0, 0));
        e.op(Insn::new(STX | MEM | SIZE_W, FP, T1, LEN_SLOT, 0));
    }
    e.op(Insn::new(ALU | MOV | K, A, 0, 0, 0));
    e.op(Insn::new(ALU | MOV | K, XR, 0, 0, 0));
    let mut read_slots: Vec<u32> = prog
        .iter()
        .filter(|c| matches!(c.code & 0x07, 0x00 | 0x01) && c.code & 0xe0 == 0x60)
        .map(|c| c.k)
        .collect();
    read_slots.sort_unstable();
    read_slots.dedup();
    for k in read_slots {
        e.op(Insn::new(ST | MEM | SIZE_W, FP, 0, slot(k, base)?, 0));
    }
    let mut starts = vec![usize::MAX; prog.len()];
    for (i, c) in prog.iter().enumerate() {
        if !live[i] {
            continue;
        }
        starts[i] = e.out.len();
        let k = c.k;
        let code = u8::try_from(c.code).map_err(|_| anyhow!("instruction {i}: bad classic BPF code {:#06x}", c.code))?;
        let size = || match code & 0x18 {
            0x00 => Ok(4u32),
            0x08 => Ok(2),
            0x10 => Ok(1),
            _ => Err(anyhow!("instruction {i}: bad load size in code {:#06x}", c.code)),
        };
        let unsupported = || anyhow!("instruction {i}: unsupported classic BPF code {:#06x} (k={k:#x})", c.code);
        match code & 0x07 {
            // ld
            0x00 => match code & 0xe0 {
                0x00 => e.op(Insn::new(ALU | MOV | K, A, 0, 0, k as i32)),
                0x20 | 0x40 => {
                    if k >= 0x8000_0000 {
                        bail!("instruction {i}: Linux ancillary loads (k={k:#x}) are not supported");
                    }
                    let s = size()?;
                    e.packet_ptr(k, s, code & 0xe0 == 0x40);
                    if k.saturating_add(s) <= MAX_PACKET_OFF {
                        e.packet_load(A, s);
                    }
                }
                0x60 => e.op(Insn::new(LDX | MEM | SIZE_W, A, FP, slot(k, base)?, 0)),
                0x80 => e.op(Insn::new(LDX | MEM | SIZE_W, A, FP, LEN_SLOT, 0)),
                _ => return Err(unsupported()),
            },
            // ldx
            0x01 => match code & 0xe0 {
                0x00 => e.op(Insn::new(ALU | MOV | K, XR, 0, 0, k as i32)),
                0x60 => e.op(Insn::new(LDX | MEM | SIZE_W, XR, FP, slot(k, base)?, 0)),
                0x80 => e.op(Insn::new(LDX | MEM | SIZE_W, XR, FP, LEN_SLOT, 0)),
                0xa0 => {
                    // X = 4 * (P[k] & 0xf)
                    e.packet_ptr(k, 1, false);
                    if k < MAX_PACKET_OFF {
                        e.packet_load(XR, 1);
                        e.op(Insn::new(ALU | AND | K, XR, 0, 0, 0xf));
                        e.op(Insn::new(ALU | LSH | K, XR, 0, 0, 2));
                    }
                }
                _ => return Err(unsupported()),
            },
            0x02 => e.op(Insn::new(STX | MEM | SIZE_W, FP, A, slot(k, base)?, 0)),
            0x03 => e.op(Insn::new(STX | MEM | SIZE_W, FP, XR, slot(k, base)?, 0)),
            // alu
            0x04 => {
                let op = code & 0xf0;
                let src = code & 0x08;
                match op {
                    0x80 => e.op(Insn::new(ALU | 0x80, A, 0, 0, 0)),
                    0x30 | 0x90 if src == K && k == 0 => bail!("instruction {i}: division by the constant 0"),
                    0x30 | 0x90 if src == X => {
                        // Division by zero ends a classic filter with 0.
                        e.jump(Insn::new(JMP | JEQ | K, XR, 0, 0, 0), Target::Reject);
                        e.op(Insn::new(ALU | op | X, A, XR, 0, 0));
                    }
                    0x60 | 0x70 if src == K && k >= 32 => e.op(Insn::new(ALU | MOV | K, A, 0, 0, 0)),
                    0x00 | 0x10 | 0x20 | 0x30 | 0x40 | 0x50 | 0x60 | 0x70 | 0x90 | 0xa0 => {
                        if src == X {
                            e.op(Insn::new(ALU | op | X, A, XR, 0, 0));
                        } else {
                            e.op(Insn::new(ALU | op | K, A, 0, 0, k as i32));
                        }
                    }
                    _ => return Err(unsupported()),
                }
            }
            // jmp
            0x05 => {
                let op = code & 0xf0;
                if op == JA {
                    e.jump(Insn::new(JMP | JA, 0, 0, 0, 0), Target::Cbpf(i + 1 + k as usize));
                } else if !matches!(op, 0x10 | 0x20 | 0x30 | 0x40) {
                    return Err(unsupported());
                } else if c.jt == c.jf {
                    e.jump(Insn::new(JMP | JA, 0, 0, 0, 0), Target::Cbpf(i + 1 + c.jt as usize));
                } else {
                    let ins = if code & 0x08 == X {
                        Insn::new(JMP32 | op | X, A, XR, 0, 0)
                    } else {
                        Insn::new(JMP32 | op | K, A, 0, 0, k as i32)
                    };
                    e.jump(ins, Target::Cbpf(i + 1 + c.jt as usize));
                    if c.jf != 0 {
                        e.jump(Insn::new(JMP | JA, 0, 0, 0, 0), Target::Cbpf(i + 1 + c.jf as usize));
                    }
                }
            }
            // ret
            0x06 => {
                match code & 0x18 {
                    0x00 => e.op(Insn::new(ALU | MOV | K, A, 0, 0, k as i32)),
                    0x08 => e.op(Insn::new(ALU | MOV | X, A, XR, 0, 0)),
                    0x10 => {}
                    _ => return Err(unsupported()),
                }
                e.jump(Insn::new(JMP | JA, 0, 0, 0, 0), Target::Result);
            }
            // misc
            _ => match code & 0xf8 {
                0x00 => e.op(Insn::new(ALU | MOV | X, XR, A, 0, 0)), // tax
                0x80 => e.op(Insn::new(ALU | MOV | X, A, XR, 0, 0)), // txa
                _ => return Err(unsupported()),
            },
        }
    }
    let reject = e.out.len();
    if e.reject_used {
        e.op(Insn::new(ALU | MOV | K, A, 0, 0, 0));
    }
    let result = e.out.len();
    // Epilogue: the original body sees _skb == __skb == ___skb and data = result, data_end = 0.
    e.op(Insn::new(ALU64 | MOV | K, 1, 0, 0, 0));
    e.op(Insn::new(ALU64 | MOV | K, 2, 0, 0, 0));
    e.op(Insn::new(ALU64 | MOV | K, 3, 0, 0, 0));
    e.op(Insn::new(ALU64 | MOV | X, R4, A, 0, 0));
    e.op(Insn::new(ALU64 | MOV | K, R5, 0, 0, 0));
    let mut out = Vec::with_capacity(e.out.len());
    for (pos, (mut ins, t)) in e.out.into_iter().enumerate() {
        if let Some(t) = t {
            let to = match t {
                Target::Cbpf(j) => *starts.get(j).filter(|&&s| s != usize::MAX).ok_or_else(|| anyhow!("jump to instruction {j} out of the program"))?,
                Target::Reject => reject,
                Target::Result => result,
            };
            let off = to as i64 - pos as i64 - 1;
            ins.off = i16::try_from(off).map_err(|_| anyhow!("filter too large: jump of {off} instructions"))?;
        }
        out.push(ins);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Insertion into the ELF object

/// Inserts `code` at the start of the function `sym` of the (little-endian) eBPF object for
/// every `(sym, code)`, keeping the object consistent for aya: the section grows; symbols,
/// relocations, `.BTF.ext` records and calls after the insertion point move with their code.
pub fn inject(elf: &[u8], filters: &BTreeMap<String, Vec<Insn>>) -> Result<Vec<u8>> {
    let mut out = elf.to_vec();
    for (sym, code) in filters {
        if !code.is_empty() {
            out = inject_one(&out, sym, code).with_context(|| format!("inserting the packet filter into {sym}"))?;
        }
    }
    Ok(out)
}

const SHT_SYMTAB: u32 = 2;
const SHT_REL: u32 = 9;
const STT_FUNC: u8 = 2;
const STT_SECTION: u8 = 3;
const INSN: usize = 8;

fn inject_one(elf: &[u8], sym: &str, code: &[Insn]) -> Result<Vec<u8>> {
    let mut p = ElfPatcher::new(elf)?;
    if p.is_big_endian() {
        bail!("big-endian eBPF objects are not supported");
    }
    let n = code.len();
    let nb = (n * INSN) as u64;
    // The function.
    let symtab = p.section_by_type(SHT_SYMTAB).ok_or_else(|| anyhow!("no symbol table"))?;
    let (sym_off, sym_size, sym_ent) = (p.sh_offset(symtab), p.sh_size(symtab), p.sh_entsize(symtab).max(24));
    let strtab = p.sh_link(symtab);
    let mut func = None;
    let mut section_syms = Vec::new();
    for i in 0..sym_size / sym_ent {
        let e = sym_off + i * sym_ent;
        let info = p.byte(e + 4);
        let shndx = p.u16_at(e + 6) as usize;
        if info & 0xf == STT_SECTION {
            section_syms.push((i, shndx));
        }
        if info & 0xf == STT_FUNC && p.string(strtab, p.u32_at(e) as usize)? == sym {
            func = Some((e, shndx, p.u64_at(e + 8)));
        }
    }
    let (func_entry, sec, fstart) = func.ok_or_else(|| anyhow!("function {sym} not found"))?;
    let sec_name = p.section_name(sec)?;
    let mut data = p.section_data(sec)?.to_vec();
    if fstart as usize > data.len() || fstart % INSN as u64 != 0 {
        bail!("function {sym} at {fstart} is outside its section {sec_name}");
    }
    // Instruction moves: code at or after the insertion point moves by `nb`; a call target at
    // the function's start stays (the inserted code is its new start).
    let moved = |off: u64| if off >= fstart { off + nb } else { off };
    let target = |off: u64| if off > fstart { off + nb } else { off };
    // Relocations: (rel section, entry offset, r_offset, symbol index) for every REL section.
    let mut rels: Vec<(usize, usize, u64, usize)> = Vec::new();
    for s in 0..p.section_count() {
        if p.sh_type(s) != SHT_REL {
            continue;
        }
        let (off, size) = (p.sh_offset(s), p.sh_size(s));
        for j in 0..size / 16 {
            let e = off + j * 16;
            rels.push((s, e, p.u64_at(e), (p.u64_at(e + 8) >> 32) as usize));
        }
    }
    let relocated_in_sec: std::collections::HashSet<u64> =
        rels.iter().filter(|(s, ..)| p.sh_info(*s) == sec).map(|(_, _, o, _)| *o).collect();
    // pc-relative calls inside the section (no relocation).
    let mut at = 0usize;
    while at + INSN <= data.len() {
        let code0 = data[at];
        let src = data[at + 1] >> 4;
        if code0 == 0x85 && src == 1 && !relocated_in_sec.contains(&(at as u64)) {
            let imm = i32::from_le_bytes(data[at + 4..at + 8].try_into().expect("4 bytes"));
            let t = at as i64 + (imm as i64 + 1) * INSN as i64;
            if t >= 0 {
                let (np, nt) = (moved(at as u64) as i64, target(t as u64) as i64);
                let nimm = (nt - np) / INSN as i64 - 1;
                data[at + 4..at + 8].copy_from_slice(&(nimm as i32).to_le_bytes());
            }
        } else if code0 == 0x18 && src == 4 && !relocated_in_sec.contains(&(at as u64)) {
            bail!("pc-relative function reference without relocation at {at} (not supported)");
        }
        at += if code0 == 0x18 { 2 * INSN } else { INSN };
    }
    // Relocations against the section's symbol encode the target in the instruction.
    for &(rs, _, r_off, symi) in &rels {
        let Some(&(_, shndx)) = section_syms.iter().find(|(i, _)| *i == symi) else { continue };
        if shndx != sec {
            continue;
        }
        let tsec = p.sh_info(rs);
        if !p.is_exec(tsec) {
            continue;
        }
        let r = r_off as usize;
        let patch = |buf: &mut [u8]| -> Result<()> {
            let ins = buf.get_mut(r..r + INSN).ok_or_else(|| anyhow!("relocation at {r} out of its section"))?;
            let imm = i32::from_le_bytes(ins[4..8].try_into().expect("4 bytes"));
            let nimm = match ins[0] {
                0x85 => {
                    let t = (imm as i64 + 1) * INSN as i64;
                    (target(t as u64) as i64 / INSN as i64 - 1) as i32
                }
                0x18 => target(imm as u32 as u64) as i32,
                _ => imm,
            };
            ins[4..8].copy_from_slice(&nimm.to_le_bytes());
            Ok(())
        };
        if tsec == sec {
            patch(&mut data)?;
        } else {
            let (o, s) = (p.sh_offset(tsec), p.sh_size(tsec));
            patch(p.bytes_mut(o, s)?)?;
        }
    }
    // Relocation offsets inside the section.
    for &(rs, e, r_off, _) in &rels {
        if p.sh_info(rs) == sec {
            p.put_u64(e, moved(r_off));
        }
    }
    // Symbols of the section.
    for i in 0..sym_size / sym_ent {
        let e = sym_off + i * sym_ent;
        if p.u16_at(e + 6) as usize != sec {
            continue;
        }
        if e == func_entry {
            let size = p.u64_at(e + 16);
            p.put_u64(e + 16, size + nb);
        } else if p.byte(e + 4) & 0xf != STT_SECTION {
            let v = p.u64_at(e + 8);
            p.put_u64(e + 8, target(v));
        }
    }
    // .BTF.ext records of the section.
    if let (Ok(ext), Ok(btf)) = (p.find(".BTF.ext"), p.find(".BTF")) {
        let btf_data = p.section_data(btf)?.to_vec();
        let (o, s) = (p.sh_offset(ext), p.sh_size(ext));
        shift_btf_ext(p.bytes_mut(o, s)?, &btf_data, &sec_name, fstart, nb)?;
    }
    // The code itself.
    let fs = fstart as usize;
    let mut new = Vec::with_capacity(data.len() + nb as usize);
    new.extend_from_slice(&data[..fs]);
    for i in code {
        new.extend_from_slice(&i.to_bytes());
    }
    new.extend_from_slice(&data[fs..]);
    p.replace_section_at(sec, &new);
    let out = p.finish();
    object::File::parse(&*out).context("the patched object does not parse")?;
    Ok(out)
}

/// Moves the `.BTF.ext` func_info/line_info (after `fstart`) and CO-RE relocation (at or
/// after it) records of section `sec` by `nb` bytes.
fn shift_btf_ext(ext: &mut [u8], btf: &[u8], sec: &str, fstart: u64, nb: u64) -> Result<()> {
    let rd = |d: &[u8], o: usize| -> Result<u32> {
        Ok(u32::from_le_bytes(d.get(o..o + 4).ok_or_else(|| anyhow!("truncated at {o}"))?.try_into().expect("4 bytes")))
    };
    // The BTF string table.
    let (bhdr, bstr_off, bstr_len) = (rd(btf, 4)? as usize, rd(btf, 16)? as usize, rd(btf, 20)? as usize);
    let strs = btf.get(bhdr + bstr_off..bhdr + bstr_off + bstr_len).ok_or_else(|| anyhow!(".BTF strings out of bounds"))?;
    let name_at = |off: usize| -> &[u8] {
        let s = strs.get(off..).unwrap_or(&[]);
        &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())]
    };
    let hdr = rd(ext, 4)? as usize;
    let mut subs = vec![(8usize, 0u8), (16, 1)];
    if hdr >= 32 {
        subs.push((24, 2));
    }
    for (pos, kind) in subs {
        let (off, len) = (rd(ext, pos)? as usize, rd(ext, pos + 4)? as usize);
        if len == 0 {
            continue;
        }
        let (start, end) = (hdr + off, hdr + off + len);
        let rec = rd(ext, start)? as usize;
        if rec < 4 {
            bail!(".BTF.ext record size {rec}");
        }
        let mut q = start + 4;
        while q + 8 <= end {
            let name = rd(ext, q)? as usize;
            let cnt = rd(ext, q + 4)? as usize;
            let ours = name_at(name) == sec.as_bytes();
            for r in 0..cnt {
                let a = q + 8 + r * rec;
                let insn_off = rd(ext, a)? as u64;
                let moves = if kind == 2 { insn_off >= fstart } else { insn_off > fstart };
                if ours && moves {
                    ext[a..a + 4].copy_from_slice(&((insn_off + nb) as u32).to_le_bytes());
                }
            }
            q += 8 + cnt * rec;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: u16, jt: u8, jf: u8, k: u32) -> Cbpf {
        Cbpf { code, jt, jf, k }
    }

    #[test]
    fn param_keys_follow_ig() {
        assert_eq!(param_key("gadget_pf_").as_deref(), Some("pf"));
        assert_eq!(param_key("gadget_pf_inner").as_deref(), Some("pf-inner"));
        assert_eq!(param_key("other"), None);
    }

    #[test]
    fn a_load_is_bounds_checked_and_byte_swapped() {
        // ldh [12]; jeq #0x800, L1, L2; L1: ret #65535; L2: ret #0
        let p = [c(0x28, 0, 0, 12), c(0x15, 0, 1, 0x800), c(0x06, 0, 0, 65535), c(0x06, 0, 0, 0)];
        let e = cbpf_to_ebpf(&p).unwrap();
        // r2 = r4; r2 += 12; r3 = r2; r3 += 2; if r3 > r5 goto reject; r0 = *(u16 *)(r2 + 0); r0 = be16 r0
        let load: Vec<u8> = e.iter().map(|i| i.code).collect();
        let want = [0xbf, 0x07, 0xbf, 0x07, 0x2d, 0x69, 0xdc];
        assert!(load.windows(want.len()).any(|w| w == want), "{load:x?}");
        // The last five instructions hand the result to the original body.
        let tail = &e[e.len() - 5..];
        assert_eq!(tail[3], Insn::new(0xbf, 4, 0, 0, 0));
        // Every jump lands inside the code.
        for (i, ins) in e.iter().enumerate() {
            if ins.code & 0x07 == 0x05 || ins.code & 0x07 == 0x06 {
                let to = i as i64 + 1 + ins.off as i64;
                assert!(to > i as i64 && to < e.len() as i64, "jump at {i} to {to}");
            }
        }
    }

    #[test]
    fn unreachable_instructions_are_left_out_and_bad_programs_refused() {
        // ja +1; ret #1 (unreachable); ret #0
        let p = [c(0x05, 0, 0, 1), c(0x06, 0, 0, 1), c(0x06, 0, 0, 0)];
        let e = cbpf_to_ebpf(&p).unwrap();
        assert!(!e.iter().any(|i| i.code == 0xb4 && i.imm == 1), "{e:?}");
        // Falls off its end.
        assert!(cbpf_to_ebpf(&[c(0x00, 0, 0, 1)]).is_err());
        // Ancillary load (SKF_AD_PROTOCOL).
        assert!(cbpf_to_ebpf(&[c(0x28, 0, 0, 0xffff_f000), c(0x06, 0, 0, 0)]).is_err());
        assert!(cbpf_to_ebpf(&[]).is_err());
    }
}
