//! `-o yaml`: IG renders each element as compact JSON and converts it with
//! `sigs.k8s.io/yaml.JSONToYAML` (go-yaml v2.4.3: `yaml.Unmarshal` into `interface{}`, then
//! `yaml.Marshal`), then prints `---\n` followed by the YAML text.
//!
//! This module reproduces that pipeline by hand: a small parser for the JSON IG produces,
//! with go-yaml's flow-syntax leniency (an empty mapping value — IG's NaN float — is `null`, a
//! trailing comma is accepted, an empty entry `,,` / `[,` / `{,` is an error), go-yaml's
//! implicit typing of plain scalars (ints, uint64, floats), its key order (`keyList.Less`:
//! letters after non-letters, digit runs compared numerically), and a port of the emitter
//! parts that matter (style selection from `yaml_emitter_analyze_scalar`, plain / single /
//! double-quoted / literal writers with folding at 80 columns, block mappings, indentless
//! sequences under mapping keys, `{}` / `[]` for empty containers, `? ` complex keys longer
//! than 128 bytes).
//!
//! An element whose JSON go-yaml rejects (IG's malformed non-numeric array output, NaN
//! inside a float array, characters the YAML reader refuses such as U+007F or C1 controls)
//! prints nothing in IG (`yamlDataFn` returns the error): [`json_to_yaml`] returns `Err`.

use super::gofmt::push_float_shortest;
use super::json::JsonPlan;
use crate::datasource::{PacketData, Schema};

/// The JSON text could not be read by go-yaml.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError;

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("serializing yaml: invalid input")
    }
}

#[derive(Debug, Clone, PartialEq)]
enum YVal {
    Null,
    Bool(bool),
    /// An integer (int64 or uint64) as its canonical decimal text.
    Int(String),
    Float(f64),
    Str(String),
    Map(Vec<(String, YVal)>),
    Seq(Vec<YVal>),
}

// ---------------------------------------------------------------------------------------
// Parsing

/// Whether the YAML reader accepts character `c` in its input.
fn reader_allows(c: char) -> bool {
    let u = c as u32;
    matches!(u, 0x09 | 0x0a | 0x0d | 0x20..=0x7e | 0x85 | 0xa0..=0xd7ff | 0xe000..=0xfffd | 0x10000..=0x10ffff)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }
    fn value(&mut self) -> Result<YVal, YamlError> {
        match self.peek().ok_or(YamlError)? {
            b'{' => {
                self.i += 1;
                let mut m = Vec::new();
                loop {
                    match self.peek().ok_or(YamlError)? {
                        b'}' => {
                            self.i += 1;
                            break;
                        }
                        b'"' => {}
                        _ => return Err(YamlError),
                    }
                    let k = self.string()?;
                    if self.peek() != Some(b':') {
                        return Err(YamlError);
                    }
                    self.i += 1;
                    let v = match self.peek().ok_or(YamlError)? {
                        b',' | b'}' => YVal::Null,
                        _ => self.value()?,
                    };
                    m.push((k, v));
                    match self.peek().ok_or(YamlError)? {
                        b',' => self.i += 1,
                        b'}' => {}
                        _ => return Err(YamlError),
                    }
                }
                Ok(YVal::Map(m))
            }
            b'[' => {
                self.i += 1;
                let mut v = Vec::new();
                loop {
                    match self.peek().ok_or(YamlError)? {
                        b']' => {
                            self.i += 1;
                            break;
                        }
                        b',' => return Err(YamlError),
                        _ => {}
                    }
                    v.push(self.value()?);
                    match self.peek().ok_or(YamlError)? {
                        b',' => self.i += 1,
                        b']' => {}
                        _ => return Err(YamlError),
                    }
                }
                Ok(YVal::Seq(v))
            }
            b'"' => Ok(YVal::Str(self.string()?)),
            _ => {
                let start = self.i;
                while self.i < self.s.len() && !matches!(self.s[self.i], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t' | b':') {
                    self.i += 1;
                }
                let t = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| YamlError)?;
                if t.is_empty() {
                    return Err(YamlError);
                }
                Ok(resolve_plain(t))
            }
        }
    }
    fn string(&mut self) -> Result<String, YamlError> {
        // at '"'
        self.i += 1;
        let mut out = String::new();
        let start = self.i;
        let mut seg = start;
        loop {
            let b = *self.s.get(self.i).ok_or(YamlError)?;
            match b {
                b'"' => {
                    out.push_str(std::str::from_utf8(&self.s[seg..self.i]).map_err(|_| YamlError)?);
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    out.push_str(std::str::from_utf8(&self.s[seg..self.i]).map_err(|_| YamlError)?);
                    let e = *self.s.get(self.i + 1).ok_or(YamlError)?;
                    self.i += 2;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'0' => '\0',
                        b'u' => {
                            let h = self.s.get(self.i..self.i + 4).ok_or(YamlError)?;
                            let h = std::str::from_utf8(h).map_err(|_| YamlError)?;
                            let u = u32::from_str_radix(h, 16).map_err(|_| YamlError)?;
                            self.i += 4;
                            char::from_u32(u).ok_or(YamlError)?
                        }
                        _ => return Err(YamlError),
                    };
                    out.push(c);
                    seg = self.i;
                }
                _ => self.i += 1,
            }
        }
        Ok(out)
    }
}

/// go-yaml's implicit typing of a plain scalar as it appears in IG's JSON (numbers, true,
/// false, null).
fn resolve_plain(t: &str) -> YVal {
    match resolve(t) {
        Resolved::Null => YVal::Null,
        Resolved::Bool(b) => YVal::Bool(b),
        Resolved::Int(s) => YVal::Int(s),
        Resolved::Float(f) => YVal::Float(f),
        Resolved::Str => YVal::Str(t.to_string()),
    }
}

enum Resolved {
    Null,
    Bool(bool),
    Int(String),
    Float(f64),
    Str,
}

fn resolve_map(s: &str) -> Option<Resolved> {
    Some(match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Resolved::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Resolved::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
        "<<" => Resolved::Int(String::new()), // merge tag: anything but a string
        _ => return None,
    })
}

/// go-yaml v2 `resolve("", s)`.
fn resolve(s: &str) -> Resolved {
    let hint = match s.as_bytes().first() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        _ => 0,
    };
    if hint == 0 {
        return Resolved::Str;
    }
    if let Some(r) = resolve_map(s) {
        return r;
    }
    match hint {
        b'.' => {
            if let Some(f) = go_parse_float(s) {
                return Resolved::Float(f);
            }
        }
        b'D' | b'S' => {
            if is_timestamp(s) {
                return Resolved::Int(String::new()); // a timestamp: not a string
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(v) = go_parse_int(&plain, true) {
                return Resolved::Int(v.to_string());
            }
            if let Some(v) = go_parse_int(&plain, false) {
                return Resolved::Int(v.to_string());
            }
            if yaml_style_float(&plain) {
                if let Some(f) = go_parse_float(&plain) {
                    return Resolved::Float(f);
                }
            }
        }
        _ => {}
    }
    Resolved::Str
}

/// `strconv.ParseInt(s, 0, 64)` (signed) or `ParseUint(s, 0, 64)`; underscores already removed.
fn go_parse_int(s: &str, signed: bool) -> Option<i128> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut neg = false;
    if signed && !b.is_empty() && (b[0] == b'+' || b[0] == b'-') {
        neg = b[0] == b'-';
        i = 1;
    }
    let rest = &b[i..];
    let (base, digits): (u32, &[u8]) = if rest.len() >= 2 && rest[0] == b'0' {
        match rest[1] {
            b'x' | b'X' => (16, &rest[2..]),
            b'o' | b'O' => (8, &rest[2..]),
            b'b' | b'B' => (2, &rest[2..]),
            _ => (8, &rest[1..]),
        }
    } else {
        (10, rest)
    };
    if digits.is_empty() && !(base == 8 && rest.len() >= 2 && rest[1].is_ascii_digit())
        && (rest != b"0") {
            return None;
        }
    let mut v: i128 = 0;
    for &c in digits {
        let d = (c as char).to_digit(base)? as i128;
        v = v * base as i128 + d;
        if v > u64::MAX as i128 + 1 {
            return None;
        }
    }
    if neg {
        v = -v;
    }
    let ok = if signed { v >= i64::MIN as i128 && v <= i64::MAX as i128 } else { v >= 0 && v <= u64::MAX as i128 };
    ok.then_some(v)
}

/// `strconv.ParseFloat(s, 64)` for decimal forms (overflow is an error).
fn go_parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let body = b.strip_prefix(b"+").or_else(|| b.strip_prefix(b"-")).unwrap_or(b);
    if body.is_empty() || !body.iter().all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-')) {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`
fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || !(b[0] == b'+' || b[0] == b'-' || b[0].is_ascii_digit()) || !s.contains(':') {
        return false;
    }
    let mut i = 0;
    if b[0] == b'+' || b[0] == b'-' {
        i = 1;
    }
    if i >= b.len() || !b[i].is_ascii_digit() {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        // [0-5]?[0-9]
        if i + 1 < b.len() && (b'0'..=b'5').contains(&b[i]) && b[i + 1].is_ascii_digit() {
            i += 2;
        } else if i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        } else {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml's `parseTimestamp` (layouts `2006-1-2T15:4:5.999999999Z07:00`, the same with `t`,
/// `2006-1-2 15:4:5.999999999`, `2006-1-2`).
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let mut i = 5;
    let num = |i: &mut usize, max_digits: usize| -> Option<u32> {
        let st = *i;
        while *i < b.len() && *i - st < max_digits && b[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i == st {
            return None;
        }
        std::str::from_utf8(&b[st..*i]).ok()?.parse().ok()
    };
    let year: u32 = s[..4].parse().unwrap_or(0);
    let Some(month) = num(&mut i, 2) else { return false };
    if i >= b.len() || b[i] != b'-' {
        return false;
    }
    i += 1;
    let Some(day) = num(&mut i, 2) else { return false };
    if !(1..=12).contains(&month) {
        return false;
    }
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let dim = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month as usize - 1];
    if day < 1 || day > dim {
        return false;
    }
    if i == b.len() {
        return true;
    }
    let sep = b[i];
    if !matches!(sep, b'T' | b't' | b' ') {
        return false;
    }
    i += 1;
    let (Some(h), true) = (num(&mut i, 2), i < b.len() && b[i] == b':') else { return false };
    i += 1;
    let (Some(m), true) = (num(&mut i, 2), i < b.len() && b[i] == b':') else { return false };
    i += 1;
    let Some(sec) = num(&mut i, 2) else { return false };
    if h >= 24 || m >= 60 || sec >= 60 {
        return false;
    }
    if i + 1 < b.len() && (b[i] == b'.' || b[i] == b',') && b[i + 1].is_ascii_digit() {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if sep == b' ' {
        return i == b.len();
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            let z = &b[i + 1..];
            z.len() == 5 && z[0].is_ascii_digit() && z[1].is_ascii_digit() && z[2] == b':' && z[3].is_ascii_digit() && z[4].is_ascii_digit()
        }
        _ => false,
    }
}

/// go-yaml v2 `keyList.Less` for two string keys.
fn key_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i as isize - 1;
            while j >= 0 && ar[j as usize].is_ascii_digit() {
                if ar[j as usize] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
                j -= 1;
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an.wrapping_mul(10).wrapping_add(ar[ai] as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(br[bi] as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

// ---------------------------------------------------------------------------------------
// Emitting

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

#[derive(Default)]
struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn at(v: &[u8], i: usize) -> u8 {
    v.get(i).copied().unwrap_or(0)
}
fn utf8_width(b: u8) -> usize {
    if b & 0x80 == 0 {
        1
    } else if b & 0xe0 == 0xc0 {
        2
    } else if b & 0xf0 == 0xe0 {
        3
    } else if b & 0xf8 == 0xf0 {
        4
    } else {
        1
    }
}
fn is_printable(v: &[u8], i: usize) -> bool {
    let b = v[i];
    let b1 = at(v, i + 1);
    let b2 = at(v, i + 2);
    b == 0x0a
        || (0x20..=0x7e).contains(&b)
        || (b == 0xc2 && b1 >= 0xa0)
        || (b > 0xc2 && b < 0xed)
        || (b == 0xed && b1 < 0xa0)
        || b == 0xee
        || (b == 0xef && !(b1 == 0xbb && b2 == 0xbf) && !(b1 == 0xbf && (b2 == 0xbe || b2 == 0xbf)))
}
fn is_space(v: &[u8], i: usize) -> bool {
    at(v, i) == b' '
}
fn is_blank(v: &[u8], i: usize) -> bool {
    matches!(at(v, i), b' ' | b'\t')
}
fn is_break(v: &[u8], i: usize) -> bool {
    let b = at(v, i);
    b == b'\r'
        || b == b'\n'
        || (b == 0xc2 && at(v, i + 1) == 0x85)
        || (b == 0xe2 && at(v, i + 1) == 0x80 && (at(v, i + 2) == 0xa8 || at(v, i + 2) == 0xa9))
}
fn is_blankz(v: &[u8], i: usize) -> bool {
    is_blank(v, i) || is_break(v, i) || at(v, i) == 0
}

fn analyze(value: &[u8]) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let (mut block_ind, mut flow_ind, mut line_breaks, mut special) = (false, false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) = (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    if value.len() >= 3 && (value.starts_with(b"---") || value.starts_with(b"...")) {
        block_ind = true;
        flow_ind = true;
    }
    let mut preceded_by_ws = true;
    let mut i = 0;
    while i < value.len() {
        let w = utf8_width(value[i]);
        let followed_by_ws = i + w >= value.len() || is_blank(value, i + w);
        if i == 0 {
            match value[i] {
                b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@'
                | b'`' => {
                    flow_ind = true;
                    block_ind = true;
                }
                b'?' | b':' => {
                    flow_ind = true;
                    if followed_by_ws {
                        block_ind = true;
                    }
                }
                b'-'
                    if followed_by_ws => {
                        flow_ind = true;
                        block_ind = true;
                    }
                _ => {}
            }
        } else {
            match value[i] {
                b',' | b'?' | b'[' | b']' | b'{' | b'}' => flow_ind = true,
                b':' => {
                    flow_ind = true;
                    if followed_by_ws {
                        block_ind = true;
                    }
                }
                b'#'
                    if preceded_by_ws => {
                        flow_ind = true;
                        block_ind = true;
                    }
                _ => {}
            }
        }
        if !is_printable(value, i) {
            special = true;
        }
        if is_space(value, i) {
            if i == 0 {
                leading_space = true;
            }
            if i + w == value.len() {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(value, i) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + w == value.len() {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_ws = is_blankz(value, i);
        i += w;
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_ind {
        a.flow_plain_allowed = false;
    }
    if block_ind {
        a.block_plain_allowed = false;
    }
    a
}

const BEST_INDENT: i32 = 2;
const BEST_WIDTH: i64 = 80;

struct Emitter<'a> {
    out: &'a mut Vec<u8>,
    column: i64,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
    indent: i32,
    indents: Vec<i32>,
    flow_level: u32,
    root_context: bool,
    mapping_context: bool,
    simple_key_context: bool,
}

impl Emitter<'_> {
    fn put(&mut self, b: u8) {
        self.out.push(b);
        self.column += 1;
    }
    fn put_break(&mut self) {
        self.out.push(b'\n');
        self.column = 0;
    }
    fn write(&mut self, v: &[u8], i: &mut usize) {
        let w = utf8_width(v[*i]).min(v.len() - *i);
        self.out.extend_from_slice(&v[*i..*i + w]);
        self.column += 1;
        *i += w;
    }
    fn write_all(&mut self, v: &[u8]) {
        let mut i = 0;
        while i < v.len() {
            self.write(v, &mut i);
        }
    }
    fn write_break(&mut self, v: &[u8], i: &mut usize) {
        if v[*i] == b'\n' {
            self.put_break();
            *i += 1;
        } else {
            self.write(v, i);
            self.column = 0;
        }
    }
    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }
    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }
    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as i64;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(b' ');
        }
        self.whitespace = true;
        self.indention = true;
    }
    fn write_indicator(&mut self, ind: &[u8], need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(b' ');
        }
        self.write_all(ind);
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
        self.open_ended = false;
    }

    fn node(&mut self, v: &YVal, root: bool, mapping: bool, simple_key: bool) {
        self.root_context = root;
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match v {
            YVal::Null => self.scalar(b"null", Style::Plain),
            YVal::Bool(b) => self.scalar(if *b { b"true" } else { b"false" }, Style::Plain),
            YVal::Int(s) => self.scalar(s.as_bytes(), Style::Plain),
            YVal::Float(f) => {
                let mut b = Vec::new();
                if f.is_nan() {
                    b.extend_from_slice(b".nan");
                } else if *f == f64::INFINITY {
                    b.extend_from_slice(b".inf");
                } else if *f == f64::NEG_INFINITY {
                    b.extend_from_slice(b"-.inf");
                } else {
                    push_float_shortest(&mut b, *f, b'g', 64);
                }
                self.scalar(&b, Style::Plain)
            }
            YVal::Str(s) => {
                let style = if s.contains('\n') {
                    Style::Literal
                } else if matches!(resolve(s), Resolved::Str) && !is_base60_float(s) {
                    Style::Plain
                } else {
                    Style::Double
                };
                self.scalar(s.as_bytes(), style)
            }
            YVal::Map(m) if m.is_empty() => self.empty_flow(b"{", b"}"),
            YVal::Seq(s) if s.is_empty() => self.empty_flow(b"[", b"]"),
            YVal::Map(m) => {
                let mut items: Vec<&(String, YVal)> = m.iter().collect();
                items.sort_by(|a, b| {
                    if key_less(&a.0, &b.0) {
                        std::cmp::Ordering::Less
                    } else if key_less(&b.0, &a.0) {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Equal
                    }
                });
                self.increase_indent(false, false);
                for (k, v) in items {
                    self.write_indent();
                    let key = YVal::Str(k.clone());
                    let simple = !analyze(k.as_bytes()).multiline && k.len() <= 128;
                    if simple {
                        self.node(&key, false, true, true);
                        self.write_indicator(b":", false, false, false);
                    } else {
                        self.write_indicator(b"?", true, false, true);
                        self.node(&key, false, true, false);
                        self.write_indent();
                        self.write_indicator(b":", true, false, true);
                    }
                    self.node(v, false, true, false);
                }
                self.pop_indent();
            }
            YVal::Seq(s) => {
                let indentless = self.mapping_context && !self.indention;
                self.increase_indent(false, indentless);
                for v in s {
                    self.write_indent();
                    self.write_indicator(b"-", true, false, true);
                    self.node(v, false, false, false);
                }
                self.pop_indent();
            }
        }
    }

    fn empty_flow(&mut self, open: &[u8], close: &[u8]) {
        self.write_indicator(open, true, true, false);
        // (flow level and indent go up and back down around no items)
        self.write_indicator(close, false, false, false);
    }

    fn scalar(&mut self, value: &[u8], mut style: Style) {
        let a = analyze(value);
        if self.simple_key_context && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain {
            if (self.flow_level > 0 && !a.flow_plain_allowed) || (self.flow_level == 0 && !a.block_plain_allowed) {
                style = Style::Single;
            }
            if value.is_empty() && (self.flow_level > 0 || self.simple_key_context) {
                style = Style::Single;
            }
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || self.flow_level > 0 || self.simple_key_context) {
            style = Style::Double;
        }
        self.increase_indent(true, false);
        let allow_breaks = !self.simple_key_context;
        match style {
            Style::Plain => self.write_plain(value, allow_breaks),
            Style::Single => self.write_single(value, allow_breaks),
            Style::Double => self.write_double(value, allow_breaks),
            Style::Literal => self.write_literal(value),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, v: &[u8], allow_breaks: bool) {
        if !self.whitespace {
            self.put(b' ');
        }
        let (mut spaces, mut breaks) = (false, false);
        let mut i = 0;
        while i < v.len() {
            if is_space(v, i) {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !is_space(v, i + 1) {
                    self.write_indent();
                    i += 1;
                } else {
                    self.write(v, &mut i);
                }
                spaces = true;
            } else if is_break(v, i) {
                if !breaks && v[i] == b'\n' {
                    self.put_break();
                }
                self.write_break(v, &mut i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write(v, &mut i);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
        if self.root_context {
            self.open_ended = true;
        }
    }

    fn write_single(&mut self, v: &[u8], allow_breaks: bool) {
        self.write_indicator(b"'", true, false, false);
        let (mut spaces, mut breaks) = (false, false);
        let mut i = 0;
        while i < v.len() {
            if is_space(v, i) {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i < v.len() - 1 && !is_space(v, i + 1) {
                    self.write_indent();
                    i += 1;
                } else {
                    self.write(v, &mut i);
                }
                spaces = true;
            } else if is_break(v, i) {
                if !breaks && v[i] == b'\n' {
                    self.put_break();
                }
                self.write_break(v, &mut i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if v[i] == b'\'' {
                    self.put(b'\'');
                }
                self.write(v, &mut i);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator(b"'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, v: &[u8], allow_breaks: bool) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut spaces = false;
        self.write_indicator(b"\"", true, false, false);
        let mut i = 0;
        while i < v.len() {
            let is_bom = v[i] == 0xef && at(v, i + 1) == 0xbb && at(v, i + 2) == 0xbf;
            if !is_printable(v, i) || is_bom || is_break(v, i) || v[i] == b'"' || v[i] == b'\\' {
                let w = utf8_width(v[i]).min(v.len() - i);
                let c: u32 = std::str::from_utf8(&v[i..i + w])
                    .ok()
                    .and_then(|s| s.chars().next())
                    .map_or(v[i] as u32, |c| c as u32);
                i += w;
                self.put(b'\\');
                match c {
                    0x00 => self.put(b'0'),
                    0x07 => self.put(b'a'),
                    0x08 => self.put(b'b'),
                    0x09 => self.put(b't'),
                    0x0a => self.put(b'n'),
                    0x0b => self.put(b'v'),
                    0x0c => self.put(b'f'),
                    0x0d => self.put(b'r'),
                    0x1b => self.put(b'e'),
                    0x22 => self.put(b'"'),
                    0x5c => self.put(b'\\'),
                    0x85 => self.put(b'N'),
                    0xa0 => self.put(b'_'),
                    0x2028 => self.put(b'L'),
                    0x2029 => self.put(b'P'),
                    _ => {
                        let (p, n) = if c <= 0xff {
                            (b'x', 2)
                        } else if c <= 0xffff {
                            (b'u', 4)
                        } else {
                            (b'U', 8)
                        };
                        self.put(p);
                        for k in (0..n).rev() {
                            self.put(HEX[((c >> (k * 4)) & 15) as usize]);
                        }
                    }
                }
                spaces = false;
            } else if is_space(v, i) {
                if allow_breaks && !spaces && self.column > BEST_WIDTH && i > 0 && i < v.len() - 1 {
                    self.write_indent();
                    if is_space(v, i + 1) {
                        self.put(b'\\');
                    }
                    i += 1;
                } else {
                    self.write(v, &mut i);
                }
                spaces = true;
            } else {
                self.write(v, &mut i);
                spaces = false;
            }
        }
        self.write_indicator(b"\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, v: &[u8]) {
        self.write_indicator(b"|", true, false, false);
        // block scalar hints
        if is_space(v, 0) || is_break(v, 0) {
            let hint = [b'0' + BEST_INDENT as u8];
            self.write_indicator(&hint, false, false, false);
        }
        self.open_ended = false;
        let mut chomp = 0u8;
        if v.is_empty() {
            chomp = b'-';
        } else {
            let mut i = v.len() - 1;
            while i > 0 && v[i] & 0xc0 == 0x80 {
                i -= 1;
            }
            if !is_break(v, i) {
                chomp = b'-';
            } else if i == 0 {
                chomp = b'+';
                self.open_ended = true;
            } else {
                i -= 1;
                while i > 0 && v[i] & 0xc0 == 0x80 {
                    i -= 1;
                }
                if is_break(v, i) {
                    chomp = b'+';
                    self.open_ended = true;
                }
            }
        }
        if chomp != 0 {
            // Like Go: this clears the open_ended flag the '+' hint just set.
            self.write_indicator(&[chomp], false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        let mut i = 0;
        while i < v.len() {
            if is_break(v, i) {
                self.write_break(v, &mut i);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write(v, &mut i);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

fn emit(v: &YVal, out: &mut Vec<u8>) {
    let mut e = Emitter {
        out,
        column: 0,
        whitespace: true,
        indention: true,
        open_ended: false,
        indent: -1,
        indents: Vec::new(),
        flow_level: 0,
        root_context: false,
        mapping_context: false,
        simple_key_context: false,
    };
    e.node(v, true, false, false);
    // document end (implicit)
    e.write_indent();
    // stream end
    if e.open_ended {
        e.write_indicator(b"...", true, false, false);
        e.write_indent();
    }
}

/// `sigs.k8s.io/yaml.JSONToYAML(json)` appended to `out` (ends with a newline).
pub fn json_to_yaml(json: &[u8], out: &mut Vec<u8>) -> Result<(), YamlError> {
    let text = std::str::from_utf8(json).map_err(|_| YamlError)?;
    if !text.chars().all(reader_allows) {
        return Err(YamlError);
    }
    let mut p = Parser { s: json, i: 0 };
    let v = p.value()?;
    if p.peek().is_some() {
        return Err(YamlError);
    }
    emit(&v, out);
    Ok(())
}

/// Renders packets like `ig run -o yaml`: for every element `---\n` + its YAML. Elements
/// go-yaml cannot read print nothing (IG logs an error for them); their count is returned
/// and the reason of the last one kept in [`YamlWriter::last_error`].
#[derive(Default)]
pub struct YamlWriter {
    json: Vec<u8>,
    /// Why the last skipped element was skipped, as IG words it.
    pub last_error: Option<&'static str>,
}

impl YamlWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the documents of `data` to `out`; returns how many elements were skipped.
    pub fn write_packet(&mut self, plan: &JsonPlan, schema: &Schema, data: &PacketData, out: &mut Vec<u8>) -> usize {
        let recs: &[crate::datasource::Record] = match data {
            PacketData::Single(r) => std::slice::from_ref(r),
            PacketData::Array(v) => v,
        };
        let mut skipped = 0;
        for r in recs {
            self.json.clear();
            plan.write_record(schema, r, &mut self.json);
            let mark = out.len();
            out.extend_from_slice(b"---\n");
            if json_to_yaml(&self.json, out).is_err() {
                out.truncate(mark);
                skipped += 1;
                let control = std::str::from_utf8(&self.json).map(|t| !t.chars().all(reader_allows)).unwrap_or(false);
                self.last_error = Some(if control {
                    "serializing yaml: yaml: control characters are not allowed"
                } else {
                    "serializing yaml: error converting JSON to YAML"
                });
            }
        }
        skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(j: &str) -> String {
        let mut o = Vec::new();
        match json_to_yaml(j.as_bytes(), &mut o) {
            Ok(()) => String::from_utf8(o).unwrap(),
            Err(_) => "ERR".to_string(),
        }
    }

    // Expected strings below are outputs of sigs.k8s.io/yaml v1.6.0 JSONToYAML with
    // go.yaml.in/yaml/v2 v2.4.3 (the versions IG v0.55.0 builds with).
    #[test]
    fn malformed_inputs() {
        assert_eq!(y(r#"{"a":1,,"b":2}"#), "ERR");
        assert_eq!(y(r#"{,"b":1}"#), "ERR");
        assert_eq!(y(r#"{"a":[1,,2]}"#), "ERR");
        assert_eq!(y(r#"{"a":1,"b":}"#), "a: 1\nb: null\n");
        assert_eq!(y(r#"{"a":[]}"#), "a: []\n");
        assert_eq!(y(r#"{"a":[1,]}"#), "a:\n- 1\n");
        assert_eq!(y(r#"{"a":[,]}"#), "ERR");
        assert_eq!(y(r#"{"a":[,1]}"#), "ERR");
        assert_eq!(y(r#"{"a":1,}"#), "a: 1\n");
        assert_eq!(y(r#"{"x":{"a":1,},"y":2}"#), "x:\n  a: 1\n\"y\": 2\n");
        assert_eq!(y(r#"{"a":[1,2,],"b":}"#), "a:\n- 1\n- 2\nb: null\n");
        assert_eq!(y("{\"s59\":\"x\u{7f}\"}"), "ERR");
        assert_eq!(y("{}"), "{}\n");
    }

    #[test]
    fn key_order() {
        assert_eq!(
            y(r#"{"n":1,"y":2,"true":3,"on":"off","k8s":"x","a10":1,"a9":2,"a_b":1,"aB":2,"ab":3,"A":4}"#),
            "A: 4\na_b: 1\na9: 2\na10: 1\naB: 2\nab: 3\nk8s: x\n\"n\": 1\n\"on\": \"off\"\n\"true\": 3\n\"y\": 2\n"
        );
        let long = "a".repeat(145);
        assert_eq!(y(&format!("{{\"{long}\":1}}")), format!("? {long}\n: 1\n"));
    }

    #[test]
    fn numbers() {
        let j = r#"{"f1":1.5,"f2":0.1,"f3":1e-7,"f4":0.000001,"f5":1e+21,"f6":-3.141592653589793,"f7":9999999,"f8":123456789,"f9":0,"f10":0.2622617,"f11":-0,"f12":18446744073709551615,"f13":-9223372036854775808,"f14":100000,"f15":1000000.5,"f16":0.0001,"f17":0.00001234,"f18":1e20,"f19":123456.7}"#;
        assert_eq!(
            y(j),
            "f1: 1.5\nf2: 0.1\nf3: 1e-07\nf4: 1e-06\nf5: 1e+21\nf6: -3.141592653589793\nf7: 9999999\nf8: 123456789\nf9: 0\nf10: 0.2622617\nf11: 0\nf12: 18446744073709551615\nf13: -9223372036854775808\nf14: 100000\nf15: 1.0000005e+06\nf16: 0.0001\nf17: 1.234e-05\nf18: 1e+20\nf19: 123456.7\n"
        );
    }

    #[test]
    fn string_styles() {
        let cases: &[(&str, &str)] = &[
            ("123", "\"123\""),
            ("1.5", "\"1.5\""),
            ("true", "\"true\""),
            ("null", "\"null\""),
            ("~", "\"~\""),
            ("2024-01-02T03:04:05.123456Z", "\"2024-01-02T03:04:05.123456Z\""),
            ("2024-01-02", "\"2024-01-02\""),
            ("12:30", "\"12:30\""),
            ("uid:12345", "uid:12345"),
            ("O_RDONLY|O_CLOEXEC", "O_RDONLY|O_CLOEXEC"),
            ("-rw-r--r--", "-rw-r--r--"),
            ("0 B", "0 B"),
            ("- x", "'- x'"),
            ("a: b", "'a: b'"),
            ("a #b", "'a #b'"),
            ("#x", "'#x'"),
            ("*x", "'*x'"),
            ("!x", "'!x'"),
            ("%x", "'%x'"),
            ("@x", "'@x'"),
            ("`x", "'`x'"),
            ("'x", "'''x'"),
            ("\"x", "'\"x'"),
            ("x'y", "x'y"),
            (" lead", "' lead'"),
            ("trail ", "'trail '"),
            ("a\tb", "\"a\\tb\""),
            ("a\nb", "|-\n  a\n  b"),
            ("a\nb\n", "|\n  a\n  b"),
            ("été", "été"),
            ("😀", "\"\\U0001F600\""),
            ("\u{1}", "\"\\x01\""),
            ("\u{fffd}", "\u{fffd}"),
            ("\u{2028}", "'\u{2028}'"),
            ("0x1F", "\"0x1F\""),
            ("08", "\"08\""),
            ("1_000", "\"1_000\""),
            ("1e999", "1e999"),
            (".5", "\".5\""),
            ("+1", "\"+1\""),
            ("-", "'-'"),
            ("?", "'?'"),
            (":", "':'"),
            ("? x", "'? x'"),
            ("[x]", "'[x]'"),
            ("x,y", "x,y"),
            ("{x", "'{x'"),
            ("---", "'---'"),
            ("...x", "'...x'"),
            ("a:b", "a:b"),
            ("<<", "<<"),
            ("0b101", "\"0b101\""),
            ("Yes", "\"Yes\""),
            ("NO", "\"NO\""),
            (".inf", "\".inf\""),
            ("nan", "nan"),
            ("2006-02-30", "2006-02-30"),
            ("\u{a0}x", "\u{a0}x"),
            ("x\\y", "x\\y"),
            ("", "\"\""),
        ];
        for (input, want) in cases {
            let mut j = Vec::new();
            j.extend_from_slice(b"{\"s\":");
            super::super::gofmt::push_json_string(&mut j, input.as_bytes());
            j.push(b'}');
            let got = y(std::str::from_utf8(&j).unwrap());
            assert_eq!(got, format!("s: {want}\n"), "input {input:?}");
        }
    }

    #[test]
    fn folding_and_blocks() {
        assert_eq!(
            y(r#"{"k":"perf_syscall_enter; do_syscall_64; entry_SYSCALL_64_after_hwframe; __x64_sys_openat; do_sys_openat2; do_filp_open; path_openat; "}"#),
            "k: 'perf_syscall_enter; do_syscall_64; entry_SYSCALL_64_after_hwframe; __x64_sys_openat;\n  do_sys_openat2; do_filp_open; path_openat; '\n"
        );
        assert_eq!(
            y(r#"{"nested":{"x":{"y":"aaaaaaaaaa aaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaaaaaaa aaaaaaaaaaaaa aaaaaaaa","z":[]},"e":{}},"arr":[1.5,2]}"#),
            "arr:\n- 1.5\n- 2\nnested:\n  e: {}\n  x:\n    \"y\": aaaaaaaaaa aaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa aaaaaaaaaaaaaaaaaaaaaaa\n      aaaaaaaaaaaaa aaaaaaaa\n    z: []\n"
        );
        assert_eq!(
            y(r#"{"q":"long string with a quote ' and spaces repeated enough times to exceed eighty columns of width here: yes","dq":"tab\there and a long string with spaces that keeps going and going past the eighty column limit ok","lit":"line one\nline two is long long long long long long long long long long long long long long long long long"}"#),
            "dq: \"tab\\there and a long string with spaces that keeps going and going past the eighty\n  column limit ok\"\nlit: |-\n  line one\n  line two is long long long long long long long long long long long long long long long long long\nq: 'long string with a quote '' and spaces repeated enough times to exceed eighty\n  columns of width here: yes'\n"
        );
        assert_eq!(
            y(r#"{"lead":"  two leading","tb":"x\n y","sb":"x \ny","crlf":"a\r\nb","cr":"a\rb","e":"\n","e2":"\n\n","e3":" \n"}"#),
            "cr: \"a\\rb\"\ncrlf: \"a\\r\\nb\"\ne: |2+\n\ne2: |2+\n\n\ne3: \" \\n\"\nlead: '  two leading'\nsb: \"x \\ny\"\ntb: |-\n  x\n   y\n"
        );
    }
}
