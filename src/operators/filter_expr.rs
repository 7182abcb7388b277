//! IG's expression filter (`-E` / `--filter-expr` / `--filter-expr.<ds>`): an
//! [expr-lang](https://expr-lang.org/) boolean expression over a data source's fields
//! (`pkg/datasource/expr` of IG), e.g.
//! `proc.comm in ["wget", "curl"] and dst.addr in cidr("10.0.0.0/8") and fname matches "^/etc"`.
//!
//! The subset IG users write is implemented with expr-lang's rules: literals (ints incl.
//! `0x`/`0o`/`0b` and `_`, floats, `"…"`/`'…'` strings, `true`, `false`, `nil`, arrays),
//! field names (`fname`, `proc.comm`; a field read has the field's type, like IG's `Get<Kind>`
//! patch), `let x = …;` variables, `?:`, `??`, `or`/`||`, `and`/`&&`, `not`/`!`, comparisons,
//! `in`/`not in` (arrays, and IG's `cidr(...)`), `matches` (RE2), `contains`, `startsWith`,
//! `endsWith`, `+ - * / % **`, indexing, and the builtins `len`, `lower`, `upper`, `trim`,
//! `trimPrefix`, `trimSuffix`, `hasPrefix`, `hasSuffix`, `abs`, `int`, `float`, `string`,
//! `min`, `max`, plus IG's `cidr(...)` and `CidrMatches(ip, cidrs)`.
//!
//! Types are checked at compile time where they are known (a number compared with a string, a
//! non-bool result, an unknown name or function are compile errors with expr-lang's position
//! marker); a runtime error makes the event not match (IG logs it and drops the event).

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use regex::Regex;

use crate::datasource::{field_bytes, kind, FieldLoc, Record, Schema};

/// A compiled `--filter-expr` for one data source.
#[derive(Debug)]
pub struct ExprFilter {
    source: String,
    lets: Vec<Node>,
    expr: Node,
    /// Runtime errors seen (the event did not match); IG logs each one.
    pub errors: AtomicU64,
    datasource: String,
    /// Errors waiting for the log, and how many more did not fit.
    pending: Mutex<(Vec<String>, u64)>,
}

impl ExprFilter {
    /// Compiles `src` against `schema` (IG `CompileFilterProgram`). The error text is
    /// expr-lang's, with its `(line:column)` and the marker lines.
    pub fn compile(schema: &Schema, src: &str) -> Result<ExprFilter, String> {
        let toks = lex(src).map_err(|(m, pos)| located(src, &m, pos))?;
        let mut p = Parser { toks, i: 0, schema, vars: Vec::new() };
        let mut lets = Vec::new();
        while p.peek_word("let") {
            let pos = p.pos();
            p.i += 1;
            let name = match p.next() {
                Some(Tok { t: T::Ident(n), .. }) => n,
                _ => return Err(located(src, "expected variable name", pos)),
            };
            if !p.eat_op("=") {
                return Err(located(src, "expected =", p.pos()));
            }
            let n = p.expr(0).map_err(|(m, pos)| located(src, &m, pos))?;
            if !p.eat_op(";") {
                return Err(located(src, "expected ;", p.pos()));
            }
            let ty = n.ty.clone();
            p.vars.push((name, ty));
            lets.push(n);
        }
        let expr = p.expr(0).map_err(|(m, pos)| located(src, &m, pos))?;
        if p.i < p.toks.len() {
            let t = &p.toks[p.i];
            return Err(located(src, &format!("unexpected token {}", t.t.describe()), t.pos));
        }
        match &expr.ty {
            Ty::Bool | Ty::Any => {}
            t => return Err(format!("expected bool, but got {}", t.go_name())),
        }
        Ok(ExprFilter {
            source: src.to_string(),
            lets,
            expr,
            errors: AtomicU64::new(0),
            datasource: schema.name.clone(),
            pending: Mutex::new((Vec::new(), 0)),
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates the filter on one record: `Ok(true)` keeps it; an error is expr-lang's
    /// runtime error text with its position marker.
    pub fn eval(&self, rec: &Record) -> Result<bool, String> {
        let at = |Rt(m, pos): Rt| located(&self.source, &m, pos.unwrap_or(0));
        let mut vars: Vec<Val> = Vec::with_capacity(self.lets.len());
        for n in &self.lets {
            let v = eval(n, rec, &vars).map_err(at)?;
            vars.push(v);
        }
        match eval(&self.expr, rec, &vars).map_err(at)? {
            Val::Bool(b) => Ok(b),
            v => Err(format!("expected bool, but got {}", v.go_name())),
        }
    }

    /// Whether the record passes. A runtime error counts in [`ExprFilter::errors`], the
    /// record does not pass, and the error waits in [`ExprFilter::take_errors`] for the log
    /// (IG logs every one; at most [`MAX_PENDING_ERRORS`] wait, the rest are only counted).
    pub fn matches(&self, rec: &Record) -> bool {
        match self.eval(rec) {
            Ok(b) => b,
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
                if p.0.len() < MAX_PENDING_ERRORS {
                    p.0.push(e);
                } else {
                    p.1 += 1;
                }
                false
            }
        }
    }

    /// The log lines of the runtime errors since the last call, worded like IG's
    /// (`running filter expression "…" for datasource …: …`), plus one line for errors that
    /// did not fit the queue.
    pub fn take_errors(&self) -> Vec<String> {
        if self.errors.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        let (msgs, more) = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            (std::mem::take(&mut p.0), std::mem::take(&mut p.1))
        };
        let head = format!(
            "running filter expression {} for datasource {}",
            super::values::go_quote(&self.source),
            self.datasource
        );
        let mut out: Vec<String> = msgs.into_iter().map(|m| format!("{head}: {m}")).collect();
        if more > 0 {
            out.push(format!("{head}: {more} more errors (not logged)"));
        }
        out
    }
}

/// Runtime errors kept for the log between two [`ExprFilter::take_errors`] calls.
pub const MAX_PENDING_ERRORS: usize = 64;

/// expr-lang's `file.Error` text: `msg (line:col)` then the source line and a marker.
fn located(src: &str, msg: &str, pos: usize) -> String {
    let pos = pos.min(src.len());
    let line_no = src[..pos].matches('\n').count() + 1;
    let line_start = src[..pos].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = src[pos..].find('\n').map(|i| pos + i).unwrap_or(src.len());
    let col = src[line_start..pos].chars().count();
    format!("{msg} ({line_no}:{})\n | {}\n | {}^", col + 1, &src[line_start..line_end], ".".repeat(col))
}

// ---------------------------------------------------------------------------------------------
// Lexer

#[derive(Clone, Debug, PartialEq)]
enum T {
    Int(i128),
    Float(f64),
    Str(String),
    Ident(String),
    Op(&'static str),
}

impl T {
    fn describe(&self) -> String {
        match self {
            T::Int(v) => v.to_string(),
            T::Float(v) => v.to_string(),
            T::Str(s) => format!("{s:?}"),
            T::Ident(s) => s.clone(),
            T::Op(o) => o.to_string(),
        }
    }
}

#[derive(Clone, Debug)]
struct Tok {
    t: T,
    pos: usize,
}

const OPS: [&str; 28] = [
    "**", "==", "!=", "<=", ">=", "&&", "||", "??", "?.", "..", "<", ">", "+", "-", "*", "/", "%", "!", "(",
    ")", "[", "]", ",", ".", "?", ":", ";", "=",
];

fn lex(src: &str) -> Result<Vec<Tok>, (String, usize)> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let radix = if c == b'0' && i + 1 < b.len() {
                match b[i + 1] {
                    b'x' | b'X' => 16,
                    b'o' | b'O' => 8,
                    b'b' | b'B' => 2,
                    _ => 10,
                }
            } else {
                10
            };
            if radix != 10 {
                i += 2;
                let d0 = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let digits: String = src[d0..i].chars().filter(|&c| c != '_').collect();
                let v = i128::from_str_radix(&digits, radix).map_err(|_| ("invalid number".to_string(), start))?;
                out.push(Tok { t: T::Int(v), pos: start });
                continue;
            }
            let mut float = false;
            while i < b.len() {
                let d = b[i];
                if d.is_ascii_digit() || d == b'_' {
                    i += 1;
                } else if d == b'.' && !float && b.get(i + 1) != Some(&b'.') {
                    float = true;
                    i += 1;
                } else if (d == b'e' || d == b'E')
                    && (b.get(i + 1).is_some_and(u8::is_ascii_digit)
                        || (matches!(b.get(i + 1), Some(b'+' | b'-')) && b.get(i + 2).is_some_and(u8::is_ascii_digit)))
                {
                    float = true;
                    i += 2;
                } else {
                    break;
                }
            }
            let txt: String = src[start..i].chars().filter(|&c| c != '_').collect();
            let t = if float {
                T::Float(txt.parse().map_err(|_| ("invalid float literal".to_string(), start))?)
            } else {
                T::Int(txt.parse().map_err(|_| ("invalid integer literal".to_string(), start))?)
            };
            out.push(Tok { t, pos: start });
            continue;
        }
        if c == b'"' || c == b'\'' || c == b'`' {
            let (s, n) = lex_string(&src[i..]).ok_or(("literal not terminated".to_string(), start))?;
            out.push(Tok { t: T::Str(s), pos: start });
            i += n;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c == b'#' {
            i += 1;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok { t: T::Ident(src[start..i].to_string()), pos: start });
            continue;
        }
        match OPS.iter().find(|o| src[i..].starts_with(**o)) {
            Some(o) => {
                out.push(Tok { t: T::Op(o), pos: start });
                i += o.len();
            }
            None => {
                let ch = src[i..].chars().next().unwrap_or('?');
                return Err((format!("unrecognized character: U+{:04X} '{ch}'", ch as u32), start));
            }
        }
    }
    Ok(out)
}

/// A quoted literal at the start of `s`: its value and its length in bytes. Double and single
/// quotes take Go escapes; backquotes are raw.
fn lex_string(s: &str) -> Option<(String, usize)> {
    let mut it = s.char_indices();
    let (_, q) = it.next()?;
    let mut out = String::new();
    while let Some((i, c)) = it.next() {
        if c == q {
            return Some((out, i + 1));
        }
        if c != '\\' || q == '`' {
            out.push(c);
            continue;
        }
        let (_, e) = it.next()?;
        let hex = |it: &mut std::str::CharIndices, n: usize| -> Option<u32> {
            let mut v = 0u32;
            for _ in 0..n {
                v = v * 16 + it.next()?.1.to_digit(16)?;
            }
            Some(v)
        };
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            '\\' | '"' | '\'' => out.push(e),
            'x' => out.push(char::from_u32(hex(&mut it, 2)?)?),
            'u' => out.push(char::from_u32(hex(&mut it, 4)?)?),
            'U' => out.push(char::from_u32(hex(&mut it, 8)?)?),
            _ => return None,
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Types and values

/// Static type of a node (`Any` when only known at run time).
#[derive(Clone, Debug, PartialEq)]
enum Ty {
    /// An integer, with the Go type name it prints as (`int`, `uint32`, …).
    Int(&'static str),
    Float(&'static str),
    Str,
    Bool,
    Nil,
    Array,
    Cidrs,
    Any,
}

impl Ty {
    fn go_name(&self) -> &'static str {
        match self {
            Ty::Int(n) | Ty::Float(n) => *n,
            Ty::Str => "string",
            Ty::Bool => "bool",
            Ty::Nil => "nil",
            Ty::Array => "[]interface {}",
            Ty::Cidrs => "[]net.IPNet",
            Ty::Any => "interface {}",
        }
    }
    fn is_num(&self) -> bool {
        matches!(self, Ty::Int(_) | Ty::Float(_))
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Val<'a> {
    Int(i128),
    Float(f64),
    Str(Cow<'a, str>),
    Bool(bool),
    Nil,
    Array(Vec<Val<'a>>),
    Cidrs(Vec<(IpAddr, u8)>),
}

impl Val<'_> {
    fn go_name(&self) -> &'static str {
        match self {
            Val::Int(_) => "int",
            Val::Float(_) => "float64",
            Val::Str(_) => "string",
            Val::Bool(_) => "bool",
            Val::Nil => "nil",
            Val::Array(_) => "[]interface {}",
            Val::Cidrs(_) => "[]net.IPNet",
        }
    }
    fn to_static(&self) -> Val<'static> {
        match self {
            Val::Int(v) => Val::Int(*v),
            Val::Float(v) => Val::Float(*v),
            Val::Str(s) => Val::Str(Cow::Owned(s.to_string())),
            Val::Bool(b) => Val::Bool(*b),
            Val::Nil => Val::Nil,
            Val::Array(a) => Val::Array(a.iter().map(Val::to_static).collect()),
            Val::Cidrs(c) => Val::Cidrs(c.clone()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AST

#[derive(Clone, Copy, Debug, PartialEq)]
enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Matches,
    Contains,
    StartsWith,
    EndsWith,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Coalesce,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Func {
    Len,
    Lower,
    Upper,
    Trim,
    TrimPrefix,
    TrimSuffix,
    HasPrefix,
    HasSuffix,
    Abs,
    Int,
    Float,
    String,
    Min,
    Max,
    Cidr,
    CidrMatches,
}

#[derive(Debug)]
enum K {
    Lit(Val<'static>),
    Field { loc: FieldLoc, kind: u32, empty: bool },
    Var(usize),
    Not(Box<Node>),
    Neg(Box<Node>),
    Bin(BinOp, Box<Node>, Box<Node>),
    /// `matches` with a constant pattern.
    Regex(Box<Node>, Regex),
    Cond(Box<Node>, Box<Node>, Box<Node>),
    Array(Vec<Node>),
    Index(Box<Node>, Box<Node>),
    Call(Func, Vec<Node>),
}

#[derive(Debug)]
struct Node {
    k: K,
    ty: Ty,
    pos: usize,
}

// ---------------------------------------------------------------------------------------------
// Parser (expr-lang's precedences)

struct Parser<'s> {
    toks: Vec<Tok>,
    i: usize,
    schema: &'s Schema,
    vars: Vec<(String, Ty)>,
}

type PResult<T> = Result<T, (String, usize)>;

/// Binary operator at the cursor: (op, precedence, right-associative, tokens used).
fn binop_at(toks: &[Tok]) -> Option<(BinOp, u16, bool, usize)> {
    let t = &toks.first()?.t;
    let word = |w: &str| matches!(t, T::Ident(s) if s == w);
    Some(match t {
        T::Op("||") => (BinOp::Or, 10, false, 1),
        T::Op("&&") => (BinOp::And, 15, false, 1),
        T::Op("==") => (BinOp::Eq, 20, false, 1),
        T::Op("!=") => (BinOp::Ne, 20, false, 1),
        T::Op("<") => (BinOp::Lt, 20, false, 1),
        T::Op("<=") => (BinOp::Le, 20, false, 1),
        T::Op(">") => (BinOp::Gt, 20, false, 1),
        T::Op(">=") => (BinOp::Ge, 20, false, 1),
        T::Op("+") => (BinOp::Add, 30, false, 1),
        T::Op("-") => (BinOp::Sub, 30, false, 1),
        T::Op("*") => (BinOp::Mul, 60, false, 1),
        T::Op("/") => (BinOp::Div, 60, false, 1),
        T::Op("%") => (BinOp::Mod, 60, false, 1),
        T::Op("**") => (BinOp::Pow, 100, true, 1),
        T::Op("??") => (BinOp::Coalesce, 500, false, 1),
        _ if word("or") => (BinOp::Or, 10, false, 1),
        _ if word("and") => (BinOp::And, 15, false, 1),
        _ if word("in") => (BinOp::In, 20, false, 1),
        _ if word("matches") => (BinOp::Matches, 20, false, 1),
        _ if word("contains") => (BinOp::Contains, 20, false, 1),
        _ if word("startsWith") => (BinOp::StartsWith, 20, false, 1),
        _ if word("endsWith") => (BinOp::EndsWith, 20, false, 1),
        _ if word("not") && matches!(toks.get(1), Some(Tok { t: T::Ident(s), .. }) if s == "in") => {
            (BinOp::NotIn, 20, false, 2)
        }
        _ => return None,
    })
}

impl Parser<'_> {
    fn pos(&self) -> usize {
        self.toks.get(self.i).map(|t| t.pos).unwrap_or_else(|| self.toks.last().map(|t| t.pos + 1).unwrap_or(0))
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.i).cloned();
        self.i += 1;
        t
    }
    fn peek_op(&self, o: &str) -> bool {
        matches!(self.toks.get(self.i), Some(Tok { t: T::Op(x), .. }) if *x == o)
    }
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.toks.get(self.i), Some(Tok { t: T::Ident(x), .. }) if x == w)
    }
    fn eat_op(&mut self, o: &str) -> bool {
        if self.peek_op(o) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect_op(&mut self, o: &str) -> PResult<()> {
        if self.eat_op(o) {
            Ok(())
        } else {
            let found = self.toks.get(self.i).map(|t| t.t.describe()).unwrap_or_else(|| "EOF".into());
            Err((format!("unexpected token {found} (expected {o})"), self.pos()))
        }
    }

    fn expr(&mut self, min_prec: u16) -> PResult<Node> {
        let mut left = self.unary()?;
        while let Some((op, prec, right_assoc, n)) = binop_at(&self.toks[self.i.min(self.toks.len())..]) {
            if prec < min_prec {
                break;
            }
            let pos = self.toks[self.i].pos;
            self.i += n;
            let right = self.expr(if right_assoc { prec } else { prec + 1 })?;
            left = binary(op, left, right, pos)?;
        }
        if min_prec == 0 && self.peek_op("?") {
            let pos = self.pos();
            self.i += 1;
            let a = self.expr(0)?;
            self.expect_op(":")?;
            let b = self.expr(0)?;
            if !matches!(left.ty, Ty::Bool | Ty::Any) {
                return Err((format!("non-bool expression (type {}) used as condition", left.ty.go_name()), left.pos));
            }
            let ty = if a.ty == b.ty { a.ty.clone() } else { Ty::Any };
            left = Node { k: K::Cond(Box::new(left), Box::new(a), Box::new(b)), ty, pos };
        }
        Ok(left)
    }

    fn unary(&mut self) -> PResult<Node> {
        let pos = self.pos();
        if self.peek_word("not") || self.peek_op("!") {
            self.i += 1;
            let n = self.expr(50)?;
            if !matches!(n.ty, Ty::Bool | Ty::Any) {
                return Err((format!("invalid operation: ! ({})", n.ty.go_name()), pos));
            }
            return Ok(Node { k: K::Not(Box::new(n)), ty: Ty::Bool, pos });
        }
        if self.peek_op("-") || self.peek_op("+") {
            let neg = self.peek_op("-");
            self.i += 1;
            let n = self.expr(90)?;
            if !(n.ty.is_num() || n.ty == Ty::Any) {
                return Err((format!("invalid operation: {} ({})", if neg { "-" } else { "+" }, n.ty.go_name()), pos));
            }
            if !neg {
                return Ok(n);
            }
            let ty = n.ty.clone();
            return Ok(Node { k: K::Neg(Box::new(n)), ty, pos });
        }
        let n = self.primary()?;
        self.postfix(n)
    }

    fn postfix(&mut self, mut n: Node) -> PResult<Node> {
        while self.peek_op("[") {
            let pos = self.pos();
            self.i += 1;
            let idx = self.expr(0)?;
            self.expect_op("]")?;
            match n.ty {
                Ty::Array | Ty::Str | Ty::Any => {}
                ref t => return Err((format!("type {} does not support indexing", t.go_name()), pos)),
            }
            let ty = if n.ty == Ty::Str { Ty::Str } else { Ty::Any };
            n = Node { k: K::Index(Box::new(n), Box::new(idx)), ty, pos };
        }
        Ok(n)
    }

    fn primary(&mut self) -> PResult<Node> {
        let pos = self.pos();
        let Some(tok) = self.next() else {
            return Err(("unexpected token EOF".into(), pos));
        };
        match tok.t {
            T::Int(v) => Ok(Node { k: K::Lit(Val::Int(v)), ty: Ty::Int("int"), pos }),
            T::Float(v) => Ok(Node { k: K::Lit(Val::Float(v)), ty: Ty::Float("float64"), pos }),
            T::Str(s) => Ok(Node { k: K::Lit(Val::Str(Cow::Owned(s))), ty: Ty::Str, pos }),
            T::Op("(") => {
                let n = self.expr(0)?;
                self.expect_op(")")?;
                Ok(n)
            }
            T::Op("[") => {
                let mut items = Vec::new();
                if !self.eat_op("]") {
                    loop {
                        items.push(self.expr(0)?);
                        if self.eat_op("]") {
                            break;
                        }
                        self.expect_op(",")?;
                        if self.eat_op("]") {
                            break;
                        }
                    }
                }
                Ok(Node { k: K::Array(items), ty: Ty::Array, pos })
            }
            T::Ident(name) => match name.as_str() {
                "true" => Ok(Node { k: K::Lit(Val::Bool(true)), ty: Ty::Bool, pos }),
                "false" => Ok(Node { k: K::Lit(Val::Bool(false)), ty: Ty::Bool, pos }),
                "nil" => Ok(Node { k: K::Lit(Val::Nil), ty: Ty::Nil, pos }),
                _ if self.peek_op("(") => self.call(&name, pos),
                _ => self.name(name, pos),
            },
            t => Err((format!("unexpected token {}", t.describe()), pos)),
        }
    }

    /// A variable, or a field: `a.b.c` is the field named `a.b.c` (IG resolves `a` and then
    /// its sub-fields, which gives the same full name).
    fn name(&mut self, first: String, pos: usize) -> PResult<Node> {
        if let Some(i) = self.vars.iter().rposition(|(n, _)| *n == first) {
            return Ok(Node { k: K::Var(i), ty: self.vars[i].1.clone(), pos });
        }
        let mut path = first;
        while self.peek_op(".") || self.peek_op("?.") {
            match self.toks.get(self.i + 1) {
                Some(Tok { t: T::Ident(n), .. }) => {
                    path.push('.');
                    path.push_str(n);
                    self.i += 2;
                }
                _ => return Err(("expected name".into(), self.pos())),
            }
        }
        let Some(idx) = self.schema.fields.iter().position(|f| !f.unreferenced && f.name == path) else {
            return Err((format!("unknown name {path}"), pos));
        };
        let f = &self.schema.fields[idx];
        let ty = match f.kind {
            kind::BOOL => Ty::Bool,
            kind::INT8 => Ty::Int("int8"),
            kind::INT16 => Ty::Int("int16"),
            kind::INT32 => Ty::Int("int32"),
            kind::INT64 => Ty::Int("int64"),
            kind::UINT8 => Ty::Int("uint8"),
            kind::UINT16 => Ty::Int("uint16"),
            kind::UINT32 => Ty::Int("uint32"),
            kind::UINT64 => Ty::Int("uint64"),
            kind::FLOAT32 => Ty::Float("float32"),
            kind::FLOAT64 => Ty::Float("float64"),
            _ if f.empty && self.schema.children(idx).next().is_some() => {
                return Err((format!("unknown name {path} (a field with sub-fields has no value)"), pos))
            }
            // Anything else is read as a string (IG's `GetString` fallback).
            _ => Ty::Str,
        };
        Ok(Node { k: K::Field { loc: f.loc, kind: f.kind, empty: f.empty }, ty, pos })
    }

    fn call(&mut self, name: &str, pos: usize) -> PResult<Node> {
        let f = match name {
            "len" => Func::Len,
            "lower" => Func::Lower,
            "upper" => Func::Upper,
            "trim" => Func::Trim,
            "trimPrefix" => Func::TrimPrefix,
            "trimSuffix" => Func::TrimSuffix,
            "hasPrefix" => Func::HasPrefix,
            "hasSuffix" => Func::HasSuffix,
            "abs" => Func::Abs,
            "int" => Func::Int,
            "float" => Func::Float,
            "string" => Func::String,
            "min" => Func::Min,
            "max" => Func::Max,
            "cidr" => Func::Cidr,
            "CidrMatches" => Func::CidrMatches,
            _ => return Err((format!("unknown func {name}"), pos)),
        };
        self.expect_op("(")?;
        let mut args = Vec::new();
        if !self.eat_op(")") {
            loop {
                args.push(self.expr(0)?);
                if self.eat_op(")") {
                    break;
                }
                self.expect_op(",")?;
            }
        }
        let arity = |lo: usize, hi: usize| -> PResult<()> {
            if args.len() < lo || args.len() > hi {
                let want = if lo == hi { format!("{lo}") } else if hi == usize::MAX { format!("at least {lo}") } else { format!("{lo}..{hi}") };
                return Err((format!("invalid number of arguments (expected {want}, got {})", args.len()), pos));
            }
            Ok(())
        };
        let ty = match f {
            Func::Len => {
                arity(1, 1)?;
                Ty::Int("int")
            }
            Func::Lower | Func::Upper | Func::Trim => {
                arity(1, 2)?;
                Ty::Str
            }
            Func::TrimPrefix | Func::TrimSuffix => {
                arity(2, 2)?;
                Ty::Str
            }
            Func::HasPrefix | Func::HasSuffix => {
                arity(2, 2)?;
                Ty::Bool
            }
            Func::Abs => {
                arity(1, 1)?;
                args[0].ty.clone()
            }
            Func::Int => {
                arity(1, 1)?;
                Ty::Int("int")
            }
            Func::Float => {
                arity(1, 1)?;
                Ty::Float("float64")
            }
            Func::String => {
                arity(1, 1)?;
                Ty::Str
            }
            Func::Min | Func::Max => {
                arity(1, usize::MAX)?;
                Ty::Any
            }
            Func::Cidr => {
                arity(0, usize::MAX)?;
                for a in &args {
                    if !matches!(a.ty, Ty::Str | Ty::Any) {
                        return Err((format!("cannot use {} as argument (type string) to call cidr ", a.ty.go_name()), a.pos));
                    }
                }
                Ty::Cidrs
            }
            Func::CidrMatches => {
                arity(2, 2)?;
                Ty::Bool
            }
        };
        // cidr("…") of constants is parsed once, and bad CIDRs are compile errors.
        if f == Func::Cidr {
            if let Some(strs) = args.iter().map(|a| match &a.k {
                K::Lit(Val::Str(s)) => Some(s.to_string()),
                _ => None,
            }).collect::<Option<Vec<_>>>() {
                let v = parse_cidrs(strs.iter().map(String::as_str)).map_err(|e| (e, pos))?;
                return Ok(Node { k: K::Lit(Val::Cidrs(v)), ty, pos });
            }
        }
        Ok(Node { k: K::Call(f, args), ty, pos })
    }
}

fn binary(op: BinOp, l: Node, r: Node, pos: usize) -> PResult<Node> {
    use BinOp::*;
    let mismatch = |sym: &str| -> (String, usize) {
        (format!("invalid operation: {sym} (mismatched types {} and {})", l.ty.go_name(), r.ty.go_name()), pos)
    };
    let any = l.ty == Ty::Any || r.ty == Ty::Any;
    let ty = match op {
        Or | And => {
            for n in [&l, &r] {
                if !matches!(n.ty, Ty::Bool | Ty::Any) {
                    return Err(mismatch(if op == Or { "||" } else { "&&" }));
                }
            }
            Ty::Bool
        }
        Eq | Ne => {
            let ok = any
                || l.ty == r.ty
                || (l.ty.is_num() && r.ty.is_num())
                || l.ty == Ty::Nil
                || r.ty == Ty::Nil
                || (l.ty == Ty::Array && r.ty == Ty::Array);
            if !ok {
                return Err(mismatch(if op == Eq { "==" } else { "!=" }));
            }
            Ty::Bool
        }
        Lt | Le | Gt | Ge => {
            let ok = any || (l.ty.is_num() && r.ty.is_num()) || (l.ty == Ty::Str && r.ty == Ty::Str);
            if !ok {
                return Err(mismatch(match op {
                    Lt => "<",
                    Le => "<=",
                    Gt => ">",
                    _ => ">=",
                }));
            }
            Ty::Bool
        }
        In | NotIn => {
            let ok = match r.ty {
                Ty::Array | Ty::Any => true,
                Ty::Cidrs => matches!(l.ty, Ty::Str | Ty::Any),
                _ => false,
            };
            if !ok {
                return Err(mismatch(if op == In { "in" } else { "not in" }));
            }
            Ty::Bool
        }
        Matches | Contains | StartsWith | EndsWith => {
            if !(matches!(l.ty, Ty::Str | Ty::Any) && matches!(r.ty, Ty::Str | Ty::Any)) {
                return Err(mismatch(match op {
                    Matches => "matches",
                    Contains => "contains",
                    StartsWith => "startsWith",
                    _ => "endsWith",
                }));
            }
            Ty::Bool
        }
        Add if l.ty == Ty::Str && r.ty == Ty::Str => Ty::Str,
        Add | Sub | Mul | Div | Mod | Pow => {
            let sym = match op {
                Add => "+",
                Sub => "-",
                Mul => "*",
                Div => "/",
                Mod => "%",
                _ => "**",
            };
            if !any && !(l.ty.is_num() && r.ty.is_num()) {
                return Err(mismatch(sym));
            }
            if op == Mod && !any && (!matches!(l.ty, Ty::Int(_)) || !matches!(r.ty, Ty::Int(_))) {
                return Err(mismatch(sym));
            }
            if any {
                Ty::Any
            } else if op == Div || op == Pow || matches!(l.ty, Ty::Float(_)) || matches!(r.ty, Ty::Float(_)) {
                Ty::Float("float64")
            } else {
                Ty::Int("int")
            }
        }
        Coalesce => {
            if l.ty == r.ty {
                l.ty.clone()
            } else {
                Ty::Any
            }
        }
    };
    if op == Matches {
        if let K::Lit(Val::Str(p)) = &r.k {
            let re = compile_regex(p).map_err(|e| (e, r.pos))?;
            return Ok(Node { k: K::Regex(Box::new(l), re), ty, pos });
        }
    }
    Ok(Node { k: K::Bin(op, Box::new(l), Box::new(r)), ty, pos })
}

fn compile_regex(p: &str) -> Result<Regex, String> {
    super::filter::go_regex_to_rust(p)
        .and_then(|q| Regex::new(&q).ok())
        .ok_or_else(|| format!("error parsing regexp: invalid pattern: `{p}`"))
}

fn parse_cidrs<'a>(it: impl Iterator<Item = &'a str>) -> Result<Vec<(IpAddr, u8)>, String> {
    let mut out = Vec::new();
    for s in it {
        let bad = || format!("parsing CIDR {}: invalid CIDR address: {s}", super::values::go_quote(s));
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let ip: IpAddr = a.parse().map_err(|_| bad())?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let p: u8 = p.parse().ok().filter(|&p| p <= max).ok_or_else(bad)?;
        out.push((ip, p));
    }
    Ok(out)
}

fn cidr_contains(net: &(IpAddr, u8), ip: &IpAddr) -> bool {
    // Go's IPNet.Contains: an IPv4 address also matches as its IPv4-mapped IPv6 form.
    let to16 = |a: &IpAddr| match a {
        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
        IpAddr::V6(v) => v.octets(),
    };
    let (n, mut bits) = (to16(&net.0), net.1 as u32);
    if net.0.is_ipv4() {
        bits += 96;
        if let IpAddr::V6(v) = ip {
            if v.to_ipv4_mapped().is_none() {
                return false;
            }
        }
    } else if ip.is_ipv4() {
        return false;
    }
    let a = u128::from_be_bytes(to16(ip));
    let n = u128::from_be_bytes(n);
    let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
    a & mask == n & mask
}

// ---------------------------------------------------------------------------------------------
// Evaluation

fn read_field<'a>(rec: &'a Record, loc: FieldLoc, k: u32, empty: bool) -> Val<'a> {
    let b: &[u8] = if empty { &[] } else { field_bytes(rec, loc).unwrap_or(&[]) };
    let uint = |w: usize| -> u64 {
        if b.len() != w {
            return 0;
        }
        let mut x = [0u8; 8];
        x[..w].copy_from_slice(b);
        u64::from_le_bytes(x)
    };
    match k {
        // IG reads a bool as `byte == 1` (other values are false).
        kind::BOOL => Val::Bool(b.len() == 1 && b[0] == 1),
        kind::INT8 => Val::Int(uint(1) as u8 as i8 as i128),
        kind::INT16 => Val::Int(uint(2) as u16 as i16 as i128),
        kind::INT32 => Val::Int(uint(4) as u32 as i32 as i128),
        kind::INT64 => Val::Int(uint(8) as i64 as i128),
        kind::UINT8 => Val::Int(uint(1) as i128),
        kind::UINT16 => Val::Int(uint(2) as i128),
        kind::UINT32 => Val::Int(uint(4) as i128),
        kind::UINT64 => Val::Int(uint(8) as i128),
        kind::FLOAT32 => Val::Float(f32::from_bits(uint(4) as u32) as f64),
        kind::FLOAT64 => Val::Float(f64::from_bits(uint(8))),
        _ => {
            let s = if k == kind::CSTRING {
                &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
            } else {
                b
            };
            Val::Str(String::from_utf8_lossy(s))
        }
    }
}

fn num(v: &Val) -> Option<f64> {
    match v {
        Val::Int(i) => Some(*i as f64),
        Val::Float(f) => Some(*f),
        _ => None,
    }
}

fn equal(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => x == y,
        (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => num(a) == num(b),
        (Val::Array(x), Val::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q)),
        _ => a == b,
    }
}

fn as_str<'v>(v: &'v Val) -> Result<&'v str, String> {
    match v {
        Val::Str(s) => Ok(s),
        v => Err(format!("expected string, got {}", v.go_name())),
    }
}

/// A runtime error: its text and the position of the innermost node that failed.
#[derive(Debug)]
struct Rt(String, Option<usize>);

impl From<String> for Rt {
    fn from(m: String) -> Rt {
        Rt(m, None)
    }
}

fn err<T>(m: String) -> Result<T, Rt> {
    Err(Rt(m, None))
}

fn eval<'a>(n: &Node, rec: &'a Record, vars: &[Val<'a>]) -> Result<Val<'a>, Rt> {
    eval_node(n, rec, vars).map_err(|Rt(m, p)| Rt(m, p.or(Some(n.pos))))
}

fn eval_node<'a>(n: &Node, rec: &'a Record, vars: &[Val<'a>]) -> Result<Val<'a>, Rt> {
    Ok(match &n.k {
        K::Lit(v) => v.clone(),
        K::Field { loc, kind, empty } => read_field(rec, *loc, *kind, *empty),
        K::Var(i) => vars[*i].clone(),
        K::Not(x) => match eval(x, rec, vars)? {
            Val::Bool(b) => Val::Bool(!b),
            v => return err(format!("invalid operation: ! ({})", v.go_name())),
        },
        K::Neg(x) => match eval(x, rec, vars)? {
            Val::Int(i) => Val::Int(-i),
            Val::Float(f) => Val::Float(-f),
            v => return err(format!("invalid operation: - ({})", v.go_name())),
        },
        K::Cond(c, a, b) => match eval(c, rec, vars)? {
            Val::Bool(true) => eval(a, rec, vars)?,
            Val::Bool(false) => eval(b, rec, vars)?,
            v => return err(format!("non-bool expression (type {}) used as condition", v.go_name())),
        },
        K::Array(items) => Val::Array(items.iter().map(|x| eval(x, rec, vars)).collect::<Result<_, _>>()?),
        K::Index(a, i) => {
            let (a, i) = (eval(a, rec, vars)?, eval(i, rec, vars)?);
            let Val::Int(i) = i else { return err(format!("non-integer index (type {})", i.go_name())) };
            match a {
                Val::Array(v) => {
                    let len = v.len() as i128;
                    let j = if i < 0 { i + len } else { i };
                    if j < 0 || j >= len {
                        return err(format!("index out of range: {i} (array length is {len})"));
                    }
                    v[j as usize].clone()
                }
                Val::Str(s) => {
                    let len = s.len() as i128;
                    let j = if i < 0 { i + len } else { i };
                    if j < 0 || j >= len {
                        return err(format!("index out of range: {i} (array length is {len})"));
                    }
                    Val::Str(Cow::Owned(String::from_utf8_lossy(&s.as_bytes()[j as usize..j as usize + 1]).into_owned()))
                }
                v => return err(format!("cannot fetch {i} from {}", v.go_name())),
            }
        }
        K::Regex(x, re) => {
            let v = eval(x, rec, vars)?;
            Val::Bool(re.is_match(as_str(&v)?))
        }
        K::Bin(op, l, r) => return eval_bin(*op, l, r, rec, vars),
        K::Call(f, args) => {
            let mut a = Vec::with_capacity(args.len());
            for x in args {
                a.push(eval(x, rec, vars)?);
            }
            return Ok(call(*f, a)?);
        }
    })
}

fn eval_bin<'a>(op: BinOp, l: &Node, r: &Node, rec: &'a Record, vars: &[Val<'a>]) -> Result<Val<'a>, Rt> {
    use BinOp::*;
    let lv = eval(l, rec, vars)?;
    // Short-circuit like expr-lang.
    match op {
        Or | And => {
            let Val::Bool(a) = lv else { return err(format!("invalid operation: bool and {}", lv.go_name())) };
            if (op == Or) == a {
                return Ok(Val::Bool(a));
            }
            return match eval(r, rec, vars)? {
                Val::Bool(b) => Ok(Val::Bool(b)),
                v => err(format!("invalid operation: bool and {}", v.go_name())),
            };
        }
        Coalesce if lv != Val::Nil => return Ok(lv),
        _ => {}
    }
    let rv = eval(r, rec, vars)?;
    let bad = || format!("invalid operation: {} {:?} {}", lv.go_name(), op, rv.go_name());
    Ok(match op {
        Eq => Val::Bool(equal(&lv, &rv)),
        Ne => Val::Bool(!equal(&lv, &rv)),
        Lt | Le | Gt | Ge => {
            let ord = match (&lv, &rv) {
                (Val::Int(a), Val::Int(b)) => a.partial_cmp(b),
                (Val::Str(a), Val::Str(b)) => a.partial_cmp(b),
                _ => match (num(&lv), num(&rv)) {
                    (Some(a), Some(b)) => a.partial_cmp(&b),
                    _ => return err(bad()),
                },
            };
            let Some(o) = ord else { return Ok(Val::Bool(false)) };
            Val::Bool(match op {
                Lt => o.is_lt(),
                Le => o.is_le(),
                Gt => o.is_gt(),
                _ => o.is_ge(),
            })
        }
        In | NotIn => {
            let found = match &rv {
                Val::Array(items) => items.iter().any(|x| equal(&lv, x)),
                Val::Cidrs(nets) => {
                    let s = as_str(&lv)?;
                    let ip: IpAddr =
                        s.parse().map_err(|_| format!("parsing IP address {}: invalid format", super::values::go_quote(s)))?;
                    nets.iter().any(|n| cidr_contains(n, &ip))
                }
                Val::Nil => false,
                _ => return err(bad()),
            };
            Val::Bool(found == (op == In))
        }
        Matches => Val::Bool(compile_regex(as_str(&rv)?)?.is_match(as_str(&lv)?)),
        Contains => Val::Bool(as_str(&lv)?.contains(as_str(&rv)?)),
        StartsWith => Val::Bool(as_str(&lv)?.starts_with(as_str(&rv)?)),
        EndsWith => Val::Bool(as_str(&lv)?.ends_with(as_str(&rv)?)),
        Add | Sub | Mul | Div | Mod | Pow => arith(op, &lv, &rv).ok_or_else(bad)?,
        Coalesce => rv,
        Or | And => unreachable!(),
    })
}

fn arith<'a>(op: BinOp, a: &Val<'a>, b: &Val<'a>) -> Option<Val<'a>> {
    use BinOp::*;
    if let (Add, Val::Str(x), Val::Str(y)) = (op, a, b) {
        return Some(Val::Str(Cow::Owned(format!("{x}{y}"))));
    }
    if let (Val::Int(x), Val::Int(y)) = (a, b) {
        match op {
            Add => return Some(Val::Int(x.checked_add(*y)?)),
            Sub => return Some(Val::Int(x.checked_sub(*y)?)),
            Mul => return Some(Val::Int(x.checked_mul(*y)?)),
            Mod => return (*y != 0).then(|| Val::Int(x % y)),
            _ => {}
        }
    }
    let (x, y) = (num(a)?, num(b)?);
    Some(Val::Float(match op {
        Add => x + y,
        Sub => x - y,
        Mul => x * y,
        Div => x / y,
        Pow => x.powf(y),
        _ => return None,
    }))
}

fn call<'a>(f: Func, a: Vec<Val<'a>>) -> Result<Val<'a>, String> {
    let s = |i: usize| as_str(&a[i]).map(str::to_string);
    Ok(match f {
        Func::Len => Val::Int(match &a[0] {
            Val::Str(s) => s.chars().count() as i128,
            Val::Array(v) => v.len() as i128,
            v => return Err(format!("invalid argument for len (type {})", v.go_name())),
        }),
        Func::Lower => Val::Str(Cow::Owned(s(0)?.to_lowercase())),
        Func::Upper => Val::Str(Cow::Owned(s(0)?.to_uppercase())),
        Func::Trim => {
            let v = s(0)?;
            Val::Str(Cow::Owned(match a.get(1) {
                Some(c) => {
                    let cut = as_str(c)?.to_string();
                    v.trim_matches(|ch| cut.contains(ch)).to_string()
                }
                None => v.trim().to_string(),
            }))
        }
        Func::TrimPrefix => {
            let (v, p) = (s(0)?, s(1)?);
            Val::Str(Cow::Owned(v.strip_prefix(p.as_str()).unwrap_or(&v).to_string()))
        }
        Func::TrimSuffix => {
            let (v, p) = (s(0)?, s(1)?);
            Val::Str(Cow::Owned(v.strip_suffix(p.as_str()).unwrap_or(&v).to_string()))
        }
        Func::HasPrefix => Val::Bool(s(0)?.starts_with(&s(1)?)),
        Func::HasSuffix => Val::Bool(s(0)?.ends_with(&s(1)?)),
        Func::Abs => match &a[0] {
            Val::Int(i) => Val::Int(i.abs()),
            Val::Float(x) => Val::Float(x.abs()),
            v => return Err(format!("invalid argument for abs (type {})", v.go_name())),
        },
        Func::Int => match &a[0] {
            Val::Int(i) => Val::Int(*i),
            Val::Float(x) => Val::Int(x.trunc() as i128),
            Val::Str(t) => Val::Int(t.parse().map_err(|_| format!("invalid operation: int({t})"))?),
            v => return Err(format!("invalid operation: int({})", v.go_name())),
        },
        Func::Float => match &a[0] {
            Val::Int(i) => Val::Float(*i as f64),
            Val::Float(x) => Val::Float(*x),
            Val::Str(t) => Val::Float(t.parse().map_err(|_| format!("invalid operation: float({t})"))?),
            v => return Err(format!("invalid operation: float({})", v.go_name())),
        },
        Func::String => Val::Str(Cow::Owned(match &a[0] {
            Val::Str(t) => t.to_string(),
            Val::Int(i) => i.to_string(),
            Val::Float(x) => {
                let mut t = String::new();
                super::values::go_json_float(*x, 64, &mut t);
                t
            }
            Val::Bool(b) => b.to_string(),
            Val::Nil => "<nil>".into(),
            v => return Err(format!("invalid operation: string({})", v.go_name())),
        })),
        Func::Min | Func::Max => {
            let items: Vec<Val> = match a.as_slice() {
                [Val::Array(v)] => v.clone(),
                _ => a.clone(),
            };
            let mut best: Option<Val> = None;
            for v in items {
                num(&v).ok_or_else(|| format!("invalid argument for {f:?} (type {})", v.go_name()))?;
                best = Some(match best {
                    None => v,
                    Some(b) => {
                        let take = if f == Func::Min { num(&v) < num(&b) } else { num(&v) > num(&b) };
                        if take {
                            v
                        } else {
                            b
                        }
                    }
                });
            }
            best.unwrap_or(Val::Nil)
        }
        Func::Cidr => {
            let strs: Vec<String> = (0..a.len()).map(s).collect::<Result<_, _>>()?;
            Val::Cidrs(parse_cidrs(strs.iter().map(String::as_str))?)
        }
        Func::CidrMatches => {
            let ip_s = s(0)?;
            let ip: IpAddr =
                ip_s.parse().map_err(|_| format!("parsing IP address {}: invalid format", super::values::go_quote(&ip_s)))?;
            let Val::Cidrs(nets) = &a[1] else { return Err(format!("expected cidr(...), got {}", a[1].go_name())) };
            Val::Bool(nets.iter().any(|n| cidr_contains(n, &ip)))
        }
    }
    .to_static())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datasource::{NewField, Record};

    /// A schema with slot fields and one record holding `vals` (name, kind, bytes); a dotted
    /// name becomes a child of an empty parent field, as IG's nested fields.
    fn setup(vals: &[(&str, u32, Vec<u8>)]) -> (Schema, Record) {
        let mut s = Schema::new("open", crate::datasource::TYPE_SINGLE);
        let mut locs = Vec::new();
        for (name, k, _) in vals {
            let idx = match name.split_once('.') {
                Some((parent, child)) => {
                    let p = match s.fields.iter().position(|f| f.name == parent) {
                        Some(p) => p,
                        None => s
                            .add_field_with(NewField { name: parent.into(), kind: kind::INVALID, empty: true, ..Default::default() })
                            .unwrap(),
                    };
                    s.add_field_with(NewField { name: child.into(), kind: *k, parent: Some(p), ..Default::default() }).unwrap()
                }
                None => s.add_field(name, *k).unwrap(),
            };
            assert_eq!(s.fields[idx].name, *name);
            locs.push(s.fields[idx].loc);
        }
        let mut rec = s.new_record();
        for ((_, _, bytes), loc) in vals.iter().zip(locs) {
            let FieldLoc::Slot(i) = loc else { panic!("slot field expected") };
            rec[i] = bytes.clone();
        }
        (s, rec)
    }

    fn sample() -> (Schema, Record) {
        setup(&[
            ("proc.comm", kind::CSTRING, b"curl\0\0\0\0".to_vec()),
            ("proc.pid", kind::UINT32, 4242u32.to_le_bytes().to_vec()),
            ("fd", kind::INT32, (-2i32).to_le_bytes().to_vec()),
            ("fname", kind::STRING, b"/etc/passwd".to_vec()),
            ("dst.addr", kind::STRING, b"10.1.2.3".to_vec()),
            ("ok", kind::BOOL, vec![1]),
            ("ratio", kind::FLOAT64, 0.5f64.to_le_bytes().to_vec()),
        ])
    }

    fn run(src: &str) -> Result<bool, String> {
        let (s, r) = sample();
        ExprFilter::compile(&s, src)?.eval(&r)
    }

    #[test]
    fn ig_doc_examples() {
        assert_eq!(run(r#"proc.comm in ["wget", "curl"] and dst.addr in cidr("1.0.0.0/8", "10.0.0.0/8")"#), Ok(true));
        assert_eq!(run(r#"proc.comm in ["wget", "curl"] and dst.addr in cidr("1.0.0.0/8", "8.8.8.8/32")"#), Ok(false));
        assert_eq!(
            run(r#"let allowed = ["wget", "curl"] ; let c = cidr("10.1.0.0/16") ; let re = "^/et.*d$" ; proc.comm in allowed and dst.addr in c and fname matches re"#),
            Ok(true)
        );
        assert_eq!(run(r#"CidrMatches(dst.addr, cidr("10.1.2.3/32"))"#), Ok(true));
        assert_eq!(run(r#"dst.addr not in cidr("10.0.0.0/8")"#), Ok(false));
    }

    #[test]
    fn operators_and_types() {
        for (src, want) in [
            ("proc.pid == 4242", true),
            ("proc.pid > 4000 && fd < 0", true),
            // `not` binds tighter than `==` (expr-lang: unary 50, comparisons 20).
            ("fd == -2 and not ok == false", true),
            ("not (ok == false)", true),
            ("!(fd >= 0)", true),
            ("proc.pid in [1, 4242]", true),
            ("proc.pid not in [1, 2]", true),
            (r#"fname startsWith "/etc" && fname endsWith "wd" && fname contains "pass""#, true),
            (r#"fname matches "^/etc/[a-z]+$""#, true),
            (r#"proc.comm == 'curl'"#, true),
            ("ratio * 4 == 2", true),
            ("proc.pid % 2 == 0 ? ok : !ok", true),
            ("2 ** 3 == 8 and 7 / 2 == 3.5 and 0x10 == 16 and 1_000 == 1000", true),
            (r#"len(fname) == 11 and upper(proc.comm) == "CURL" and hasPrefix(fname, "/e")"#, true),
            (r#"string(proc.pid) + "x" == "4242x""#, true),
            ("max(1, proc.pid, 3) == 4242 and abs(fd) == 2", true),
            ("nil ?? true", true),
            (r#"["a", "b"][1] == "b""#, true),
            ("ok || 1/0 > 1", true),
        ] {
            assert_eq!(run(src), Ok(want), "{src}");
        }
    }

    #[test]
    fn compile_errors_are_expr_langs() {
        let e = run(r#"proc.pid == "x""#).unwrap_err();
        assert!(e.starts_with("invalid operation: == (mismatched types uint32 and string) (1:10)"), "{e}");
        assert!(e.ends_with("\n | proc.pid == \"x\"\n | .........^"), "{e}");
        assert!(run("nosuch == 1").unwrap_err().starts_with("unknown name nosuch (1:1)"));
        assert!(run("fname").unwrap_err().starts_with("expected bool, but got string"));
        assert!(run("proc.pid +").unwrap_err().starts_with("unexpected token EOF"));
        assert!(run("frobnicate(1)").unwrap_err().starts_with("unknown func frobnicate"));
        assert!(run(r#"dst.addr in cidr("300.0.0.0/8")"#).unwrap_err().contains("invalid CIDR address: 300.0.0.0/8"));
        assert!(run(r#"fname matches "(""#).is_err());
        assert!(run("fd > 0 )").unwrap_err().starts_with("unexpected token )"));
    }

    #[test]
    fn runtime_errors_do_not_match_and_are_counted() {
        let (s, r) = sample();
        let f = ExprFilter::compile(&s, r#"let x = [1]; x[3] == 1"#).unwrap();
        assert!(f.eval(&r).is_err());
        assert!(!f.matches(&r));
        assert!(!f.matches(&r));
        assert_eq!(f.errors.load(Ordering::Relaxed), 2);
        let logged = f.take_errors();
        assert_eq!(logged.len(), 2);
        assert!(
            logged[0].starts_with(r#"running filter expression "let x = [1]; x[3] == 1" for datasource open: index out of range: 3 (array length is 1) (1:15)"#),
            "{logged:?}"
        );
        assert!(f.take_errors().is_empty());
        for _ in 0..MAX_PENDING_ERRORS + 5 {
            f.matches(&r);
        }
        let logged = f.take_errors();
        assert_eq!(logged.len(), MAX_PENDING_ERRORS + 1);
        assert!(logged.last().unwrap().ends_with(": 5 more errors (not logged)"), "{logged:?}");
    }

    #[test]
    fn cidr_semantics_follow_go() {
        let n4 = parse_cidrs(["10.0.0.0/8"].into_iter()).unwrap();
        assert!(cidr_contains(&n4[0], &"10.255.0.1".parse().unwrap()));
        assert!(cidr_contains(&n4[0], &"::ffff:10.0.0.1".parse().unwrap()));
        assert!(!cidr_contains(&n4[0], &"11.0.0.1".parse().unwrap()));
        let n6 = parse_cidrs(["fe80::/10", "0.0.0.0/0"].into_iter()).unwrap();
        assert!(cidr_contains(&n6[0], &"fe80::1".parse().unwrap()));
        assert!(!cidr_contains(&n6[0], &"10.0.0.1".parse().unwrap()));
        assert!(cidr_contains(&n6[1], &"192.168.1.1".parse().unwrap()));
    }
}
