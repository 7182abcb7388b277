//! Go-compatible number and text formatting used by the output encoders (allocation-free
//! where it matters), on byte buffers; Go's tables and rules themselves live in
//! `operators::values` (one implementation).

/// "00".."99": two decimal digits at a time.
const DIGITS2: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends the decimal form of `v` (Go `strconv.AppendUint`).
#[inline]
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    if v < 10 {
        out.push(b'0' + v as u8);
        return;
    }
    let n = v.ilog10() as usize + 1;
    out.reserve(n);
    let len = out.len();
    let dst = &mut out.spare_capacity_mut()[..n];
    let mut i = n;
    while v >= 100 {
        let r = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        dst[i].write(DIGITS2[r]);
        dst[i + 1].write(DIGITS2[r + 1]);
    }
    if v >= 10 {
        let r = v as usize * 2;
        dst[0].write(DIGITS2[r]);
        dst[1].write(DIGITS2[r + 1]);
    } else {
        dst[0].write(b'0' + v as u8);
    }
    // SAFETY: the n bytes after `len` were all written above (the digit count is exact).
    unsafe { out.set_len(len + n) };
}

/// Appends a short byte string: like `extend_from_slice`, but copies of up to 16 bytes are
/// done with fixed-size moves instead of a `memcpy` call.
#[inline]
pub fn push_bytes(out: &mut Vec<u8>, s: &[u8]) {
    let n = s.len();
    if n > 16 {
        out.extend_from_slice(s);
        return;
    }
    out.reserve(16);
    let len = out.len();
    let dst = out.spare_capacity_mut().as_mut_ptr() as *mut u8;
    // SAFETY: 16 bytes of spare capacity were reserved; reads stay inside `s`, writes inside
    // the reservation; exactly the n bytes of `s` end up at dst[..n].
    unsafe {
        let src = s.as_ptr();
        if n >= 8 {
            std::ptr::write_unaligned(dst as *mut u64, std::ptr::read_unaligned(src as *const u64));
            std::ptr::write_unaligned(dst.add(n - 8) as *mut u64, std::ptr::read_unaligned(src.add(n - 8) as *const u64));
        } else if n >= 4 {
            std::ptr::write_unaligned(dst as *mut u32, std::ptr::read_unaligned(src as *const u32));
            std::ptr::write_unaligned(dst.add(n - 4) as *mut u32, std::ptr::read_unaligned(src.add(n - 4) as *const u32));
        } else {
            for i in 0..n {
                *dst.add(i) = *src.add(i);
            }
        }
        out.set_len(len + n);
    }
}

/// Appends the decimal form of `v` (Go `strconv.AppendInt`).
pub fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

/// A stack buffer implementing `fmt::Write`, so floats can be formatted without heap
/// allocation (%f with a large precision needs the room).
type StackBuf = crate::operators::values::StackBuf<400>;

/// Shortest round-trip decimal digits of a finite `v` at `bits` (32 or 64) precision:
/// (negative, digits without leading zeros, decimal point position `dp` such that the value
/// is `0.d1d2… × 10^dp`). Zero yields no digits and dp 0, like Go's `decimal`.
fn shortest_digits(v: f64, bits: u32, digits: &mut [u8; 32]) -> (bool, usize, i32) {
    // Go's digits, ties included (operators::values holds the one implementation).
    let mut d = [0u8; 24];
    let Some((neg, mut nd, exp)) = crate::operators::values::go_shortest_digits(v, bits, &mut d) else {
        return (false, 0, 0);
    };
    // strip trailing zeros (zero is the single digit "0")
    while nd > 0 && d[nd - 1] == b'0' {
        nd -= 1;
    }
    if nd == 0 {
        return (neg, 0, 0);
    }
    digits[..nd].copy_from_slice(&d[..nd]);
    (neg, nd, exp + 1)
}

fn push_exp(out: &mut Vec<u8>, fmt_char: u8, exp: i32) {
    out.push(fmt_char);
    let (sign, e) = if exp < 0 { (b'-', -exp) } else { (b'+', exp) };
    out.push(sign);
    if e < 10 {
        out.push(b'0');
        out.push(b'0' + e as u8);
    } else {
        push_u64(out, e as u64);
    }
}

/// Go `%e` with shortest digits (`strconv.AppendFloat(v, 'e', -1, bits)`).
fn fmt_e(out: &mut Vec<u8>, neg: bool, d: &[u8], dp: i32) {
    if neg {
        out.push(b'-');
    }
    if d.is_empty() {
        out.extend_from_slice(b"0e+00");
        return;
    }
    out.push(d[0]);
    if d.len() > 1 {
        out.push(b'.');
        out.extend_from_slice(&d[1..]);
    }
    push_exp(out, b'e', dp - 1);
}

/// Go `%f` with shortest digits (`strconv.AppendFloat(v, 'f', -1, bits)`).
fn fmt_f(out: &mut Vec<u8>, neg: bool, d: &[u8], dp: i32) {
    if neg {
        out.push(b'-');
    }
    if dp > 0 {
        let dpu = dp as usize;
        for i in 0..dpu {
            out.push(if i < d.len() { d[i] } else { b'0' });
        }
    } else {
        out.push(b'0');
    }
    let frac = (d.len() as i32 - dp).max(0);
    if frac > 0 {
        out.push(b'.');
        for i in 0..frac {
            let j = dp + i;
            out.push(if j >= 0 && (j as usize) < d.len() { d[j as usize] } else { b'0' });
        }
    }
}

fn push_special(out: &mut Vec<u8>, v: f64) -> bool {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if v == f64::INFINITY {
        out.extend_from_slice(b"+Inf");
    } else if v == f64::NEG_INFINITY {
        out.extend_from_slice(b"-Inf");
    } else {
        return false;
    }
    true
}

/// `strconv.AppendFloat(v, fmt, -1, bits)` for fmt `e`, `f` or `g`.
pub fn push_float_shortest(out: &mut Vec<u8>, v: f64, fmt: u8, bits: u32) {
    if push_special(out, v) {
        return;
    }
    let mut digits = [0u8; 32];
    let (neg, nd, dp) = shortest_digits(v, bits, &mut digits);
    let neg = neg || (v == 0.0 && v.is_sign_negative());
    let d = &digits[..nd];
    match fmt {
        b'e' => fmt_e(out, neg, d, dp),
        b'f' => fmt_f(out, neg, d, dp),
        _ => {
            // %g, shortest: exponent form when exp < -4 || exp >= 6 (eprec is 6 when shortest).
            let exp = dp - 1;
            if !d.is_empty() && !(-4..6).contains(&exp) {
                fmt_e(out, neg, d, dp)
            } else {
                fmt_f(out, neg, d, dp)
            }
        }
    }
}

/// IG's JSON float encoder (`floatEncoder(bits).writeFloat`, from encoding/json): ES6 style,
/// NaN and ±Inf write nothing.
pub fn push_json_float(out: &mut Vec<u8>, v: f64, bits: u32) {
    if v.is_nan() || v.is_infinite() {
        return;
    }
    let abs = v.abs();
    let mut fmt = b'f';
    if abs != 0.0 {
        let e = if bits == 64 {
            !(1e-6..1e21).contains(&abs)
        } else {
            let a = abs as f32;
            !(1e-6..1e21).contains(&a)
        };
        if e {
            fmt = b'e';
        }
    }
    let start = out.len();
    push_float_shortest(out, v, fmt, bits);
    if fmt == b'e' {
        // clean up e-09 to e-9
        let n = out.len() - start;
        let b = &mut out[start..];
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            b[n - 2] = b[n - 1];
            out.truncate(out.len() - 1);
        }
    }
}

/// `strconv.FormatFloat(v, 'f', prec, 64)`; a negative `prec` means shortest.
pub fn push_float_f(out: &mut Vec<u8>, v: f64, prec: i32) {
    if prec < 0 {
        push_float_shortest(out, v, b'f', 64);
        return;
    }
    if push_special(out, v) {
        return;
    }
    use std::fmt::Write;
    let mut sb = StackBuf::new();
    if write!(sb, "{:.*}", prec as usize, v).is_ok() {
        out.extend_from_slice(sb.as_bytes());
    } else {
        // Very large precisions: fall back to an allocation.
        out.extend_from_slice(format!("{:.*}", prec as usize, v).as_bytes());
    }
}

const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";

/// Go `strconv.Quote(s)` without the surrounding quotes, appended to `out` (invalid UTF-8
/// bytes become `\xHH`); Go's exact printable tables, see
/// [`go_quote_inner`](crate::operators::values::go_quote_inner).
pub fn push_quote_inner(out: &mut Vec<u8>, s: &[u8]) {
    crate::operators::values::go_quote_inner_bytes(s, out)
}

/// Decodes one UTF-8 sequence at the start of `s` (Go `utf8.DecodeRune` rules: overlong
/// forms and surrogates are invalid). `None` for an invalid first byte sequence.
pub fn decode_utf8(s: &[u8]) -> Option<(char, usize)> {
    let b0 = *s.first()?;
    let n = match b0 {
        0x00..=0x7f => return Some((b0 as char, 1)),
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return None,
    };
    let chunk = s.get(..n)?;
    std::str::from_utf8(chunk).ok().and_then(|t| t.chars().next()).map(|c| (c, n))
}

/// Whether any of the 8 bytes of `w` needs the slow path of [`push_json_string`]: a control
/// byte (< 0x20), `"`, `\\` or a non-ASCII byte (≥ 0x80). May answer true for a plain byte
/// only above one that needs it (borrows), which the byte loop then handles anyway.
#[inline]
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let lt = w.wrapping_sub(ONES * 0x20) & !w;
    let q = w ^ (ONES * b'"' as u64);
    let q = q.wrapping_sub(ONES) & !q;
    let b = w ^ (ONES * b'\\' as u64);
    let b = b.wrapping_sub(ONES) & !b;
    (lt | q | b | w) & HIGH != 0
}

/// The bytes [`push_json_string`] copies as they are (printable ASCII but `"` and `\\`).
#[inline]
fn plain_json_byte(b: u8) -> bool {
    (0x20..0x80).contains(&b) && b != b'"' && b != b'\\'
}

/// IG's JSON string writer (`writeString` of pkg/datasource/formatters/json, i.e.
/// encoding/json without HTML escaping): quotes included.
pub fn push_json_string(out: &mut Vec<u8>, s: &[u8]) {
    json_string(out, s, false)
}

/// [`push_json_string`] of `s` up to its first NUL byte (all of it without one): a CString.
pub fn push_json_cstring(out: &mut Vec<u8>, s: &[u8]) {
    json_string(out, s, true)
}

#[inline(always)]
fn json_string(out: &mut Vec<u8>, mut s: &[u8], cstr: bool) {
    out.reserve(s.len().min(256) + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        // Plain runs: 8 bytes at a time, then byte by byte.
        while i + 8 <= s.len() && !word_needs_escape(u64::from_le_bytes(s[i..i + 8].try_into().unwrap())) {
            i += 8;
        }
        while i < s.len() && plain_json_byte(s[i]) {
            i += 1;
        }
        if i >= s.len() {
            break;
        }
        let b = s[i];
        if b == 0 && cstr {
            s = &s[..i];
            break;
        }
        if b < 0x80 {
            out.extend_from_slice(&s[start..i]);
            out.push(b'\\');
            match b {
                b'\\' | b'"' => out.push(b),
                b'\n' => out.push(b'n'),
                b'\r' => out.push(b'r'),
                b'\t' => out.push(b't'),
                _ => {
                    out.extend_from_slice(b"u00");
                    out.push(LOWER_HEX[(b >> 4) as usize]);
                    out.push(LOWER_HEX[(b & 15) as usize]);
                }
            }
            i += 1;
            start = i;
            continue;
        }
        match decode_utf8(&s[i..]) {
            None => {
                out.extend_from_slice(&s[start..i]);
                out.extend_from_slice(b"\\ufffd");
                i += 1;
                start = i;
            }
            Some((c, n)) => {
                if c == '\u{2028}' || c == '\u{2029}' {
                    out.extend_from_slice(&s[start..i]);
                    out.extend_from_slice(b"\\u202");
                    out.push(LOWER_HEX[(c as u32 & 15) as usize]);
                    i += n;
                    start = i;
                    continue;
                }
                i += n;
            }
        }
    }
    push_bytes(out, &s[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jf(v: f64, bits: u32) -> String {
        let mut o = Vec::new();
        push_json_float(&mut o, v, bits);
        String::from_utf8(o).unwrap()
    }
    fn g(v: f64) -> String {
        let mut o = Vec::new();
        push_float_shortest(&mut o, v, b'g', 64);
        String::from_utf8(o).unwrap()
    }
    fn ff(v: f64, p: i32) -> String {
        let mut o = Vec::new();
        push_float_f(&mut o, v, p);
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn json_floats_match_go() {
        assert_eq!(jf(1.5, 64), "1.5");
        assert_eq!(jf(0.1f32 as f64, 32), "0.1");
        assert_eq!(jf(1e-7f32 as f64, 32), "1e-7");
        assert_eq!(jf(0.000001, 64), "0.000001");
        assert_eq!(jf(1e21, 64), "1e+21");
        assert_eq!(jf(-std::f64::consts::PI, 64), "-3.141592653589793");
        assert_eq!(jf(9999999.0, 32), "9999999");
        assert_eq!(jf(123456789.0, 64), "123456789");
        assert_eq!(jf(0.0, 64), "0");
        assert_eq!(jf(-0.0, 64), "-0");
        assert_eq!(jf(0.2622617f32 as f64, 32), "0.2622617");
        assert_eq!(jf(f64::NAN, 64), "");
        assert_eq!(jf(f64::INFINITY, 32), "");
        assert_eq!(jf(1e-10, 64), "1e-10");
        assert_eq!(jf(1.2345e-7, 64), "1.2345e-7");
        assert_eq!(jf(1e100, 64), "1e+100");
    }

    #[test]
    fn g_format_matches_go() {
        assert_eq!(g(1e-7), "1e-07");
        assert_eq!(g(0.000001), "1e-06");
        assert_eq!(g(1e21), "1e+21");
        assert_eq!(g(1000000.5), "1.0000005e+06");
        assert_eq!(g(100000.0), "100000");
        assert_eq!(g(0.0001), "0.0001");
        assert_eq!(g(0.00001234), "1.234e-05");
        assert_eq!(g(123456.7), "123456.7");
        assert_eq!(g(1e20), "1e+20");
        assert_eq!(g(0.0), "0");
    }

    #[test]
    fn f_precision_matches_go() {
        assert_eq!(ff(1.5, 0), "2");
        assert_eq!(ff(2.5, 0), "2");
        assert_eq!(ff(-std::f64::consts::PI, 0), "-3");
        assert_eq!(ff(f64::NAN, 0), "NaN");
        assert_eq!(ff(f64::INFINITY, 2), "+Inf");
        assert_eq!(ff(1e21f32 as f64, 0), "1000000020040877342720");
        assert_eq!(ff(1.25, 1), "1.2");
        assert_eq!(ff(0.1, -1), "0.1");
        assert_eq!(ff(1e21, -1), "1000000000000000000000");
    }

    /// The byte-by-byte writer `push_json_string` replaced (reference for its fast paths).
    fn json_string_ref(out: &mut Vec<u8>, s: &[u8]) {
        out.push(b'"');
        let (mut start, mut i) = (0, 0);
        while i < s.len() {
            let b = s[i];
            if b < 0x80 {
                if b >= 0x20 && b != b'"' && b != b'\\' {
                    i += 1;
                    continue;
                }
                out.extend_from_slice(&s[start..i]);
                out.push(b'\\');
                match b {
                    b'\\' | b'"' => out.push(b),
                    b'\n' => out.push(b'n'),
                    b'\r' => out.push(b'r'),
                    b'\t' => out.push(b't'),
                    _ => {
                        out.extend_from_slice(b"u00");
                        out.push(LOWER_HEX[(b >> 4) as usize]);
                        out.push(LOWER_HEX[(b & 15) as usize]);
                    }
                }
                i += 1;
                start = i;
                continue;
            }
            match decode_utf8(&s[i..]) {
                None => {
                    out.extend_from_slice(&s[start..i]);
                    out.extend_from_slice(b"\\ufffd");
                    i += 1;
                    start = i;
                }
                Some((c, n)) => {
                    if c == '\u{2028}' || c == '\u{2029}' {
                        out.extend_from_slice(&s[start..i]);
                        out.extend_from_slice(b"\\u202");
                        out.push(LOWER_HEX[(c as u32 & 15) as usize]);
                        i += n;
                        start = i;
                        continue;
                    }
                    i += n;
                }
            }
        }
        out.extend_from_slice(&s[start..]);
        out.push(b'"');
    }

    #[test]
    fn json_string_fast_paths_match_the_bytewise_writer() {
        // Every special byte at every position of plain runs of several lengths, with and
        // without a NUL (CString) before or after it.
        let specials: &[&[u8]] = &[
            b"\"", b"\\", b"\n", b"\x00", b"\x01", b"\x1f", b"\x7f", b" ", b"~", "é".as_bytes(), "\u{2028}".as_bytes(),
            "😀".as_bytes(), b"\xff", b"\xc3", b"\xe2\x80", b"\xc3\x00", b"\xe2\x80\x00",
        ];
        for len in [0usize, 1, 7, 8, 9, 15, 16, 17, 31] {
            for pos in 0..=len {
                for sp in specials {
                    let mut s: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                    s.splice(pos..pos, sp.iter().copied());
                    let (mut a, mut b) = (b"x".to_vec(), b"x".to_vec());
                    push_json_string(&mut a, &s);
                    json_string_ref(&mut b, &s);
                    assert_eq!(a, b, "{s:?}");
                    let n = s.iter().position(|&c| c == 0).unwrap_or(s.len());
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    push_json_cstring(&mut a, &s);
                    json_string_ref(&mut b, &s[..n]);
                    assert_eq!(a, b, "cstring {s:?}");
                }
            }
        }
        let mut o = b"ab".to_vec();
        for n in [0u64, 9, 10, 99, 100, 101, 999, 1000, 65535, 1 << 32, 10u64.pow(19) - 1, 10u64.pow(19), u64::MAX] {
            o.push(b' ');
            push_u64(&mut o, n);
        }
        let want = format!("ab {}", [0u64, 9, 10, 99, 100, 101, 999, 1000, 65535, 1 << 32, 10u64.pow(19) - 1, 10u64.pow(19), u64::MAX].map(|n| n.to_string()).join(" "));
        assert_eq!(String::from_utf8(o).unwrap(), want);
        for len in 0..=20usize {
            let s: Vec<u8> = (0..len as u8).collect();
            let mut o = vec![7u8];
            push_bytes(&mut o, &s);
            assert_eq!(&o[1..], &s[..]);
        }
    }

    #[test]
    fn quote_and_json_strings() {
        let mut o = Vec::new();
        push_quote_inner(&mut o, "a\"b\\c\n\x01\x7fé\u{a0}\u{2028}😀".as_bytes());
        o.extend_from_slice(b"|");
        push_quote_inner(&mut o, b"\xff");
        assert_eq!(String::from_utf8(o).unwrap(), "a\\\"b\\\\c\\n\\x01\\x7fé\\u00a0\\u2028😀|\\xff");
        let mut o = Vec::new();
        push_json_string(&mut o, "a\"<>&\\\n\r\t\x01\x7f\u{2028}\u{2029}é".as_bytes());
        push_json_string(&mut o, b"x\xffy");
        assert_eq!(
            String::from_utf8(o).unwrap(),
            "\"a\\\"<>&\\\\\\n\\r\\t\\u0001\x7f\\u2028\\u2029é\"\"x\\ufffdy\""
        );
        let mut o = Vec::new();
        push_i64(&mut o, i64::MIN);
        o.push(b' ');
        push_u64(&mut o, u64::MAX);
        assert_eq!(o, b"-9223372036854775808 18446744073709551615");
    }
}
