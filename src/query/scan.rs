//! The fast path of [`wire::parse_doc`](super::wire::parse_doc): a
//! hand-written scanner over the bytes of one document, plain loops and no
//! serde, producing the same [`WireDoc`] as the serde seeds in `wire.rs`.
//!
//! It understands exactly the shapes InfluxDB 1.x sends and gives up
//! (`None`) on anything else: a syntax error, an unknown key, a number out
//! of range, a lone surrogate, `values` before `columns`. The caller then
//! parses the document again with serde_json, which gives the same result
//! for anything this scanner accepts, and the error (message, position,
//! `is_eof`) for anything malformed. So this module only has to be right
//! when it answers `Some`: it must accept no document serde_json refuses,
//! and give the same values for the ones it accepts.
//!
//! Numbers follow serde_json's rules (see `ValueSeed` in `wire.rs`): an
//! integer literal is `i64` when it fits, `u64` above `i64::MAX`, `f64`
//! past `u64::MAX`, and `-0` is `f64`; anything with a fraction or an
//! exponent is `f64`, correctly rounded (`str::parse`, or an exact
//! `m / 10^e` when both fit), and out of range (infinite) is an error.

use std::borrow::Cow;

use super::wire::{FlatRows, Settings, Str, WireDoc, WireMessage, WireResult, WireSeries};
use super::{Text, Value};

/// Scans one document; `None` when the serde path must decide.
/// `spare` is an empty vector whose memory the first series' values reuse.
pub(crate) fn doc<'a>(
    text: &'a str,
    settings: Settings,
    spare: &mut Vec<Value>,
) -> Option<WireDoc<'a>> {
    let mut s = Scanner {
        text,
        b: text.as_bytes(),
        i: 0,
        spare,
    };
    let mut doc = WireDoc::default();
    s.open(b'{')?;
    if !s.close_or_first(b'}')? {
        loop {
            let key = s.key()?;
            match key.as_str() {
                "results" => {
                    // Not `null`: serde_json's `deserialize_seq` refuses it.
                    doc.results = Vec::new();
                    s.open(b'[')?;
                    if !s.close_or_first(b']')? {
                        loop {
                            let r = s.result(settings)?;
                            doc.results.push(r);
                            if !s.next_or_close(b']')? {
                                break;
                            }
                        }
                    }
                }
                "error" => doc.error = s.opt_str()?,
                _ => return None,
            }
            if !s.next_or_close(b'}')? {
                break;
            }
        }
    }
    s.ws();
    (s.i == s.b.len()).then_some(doc)
}

/// A number as serde_json classifies it (see the module docs).
#[derive(Clone, Copy)]
enum Num {
    Int(i64),
    UInt(u64),
    Float(f64),
}

struct Scanner<'a, 's> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    spare: &'s mut Vec<Value>,
}

/// Bytes that end the plain run of a string: `"`, `\` and control bytes.
/// Bytes from 0x80 are fine: the document was checked for UTF-8 already.
static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = true;
        c += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Exact powers of ten as `f64` (10^22 is the last one).
static POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

impl<'a> Scanner<'a, '_> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.i += 1;
        }
    }

    /// Skips whitespace and returns the next byte, not consuming it.
    #[inline]
    fn next_byte(&mut self) -> Option<u8> {
        self.ws();
        self.peek()
    }

    /// Expects `c` (after whitespace) and consumes it.
    #[inline]
    fn open(&mut self, c: u8) -> Option<()> {
        (self.next_byte()? == c).then(|| self.i += 1)
    }

    /// Just after an opening bracket: consumes `close` and says `true` if
    /// the container is empty, else says `false` (the first element follows).
    #[inline]
    fn close_or_first(&mut self, close: u8) -> Option<bool> {
        if self.next_byte()? == close {
            self.i += 1;
            return Some(true);
        }
        Some(false)
    }

    /// After an element: `true` on `,` (another follows), `false` on
    /// `close`; both consumed.
    #[inline]
    fn next_or_close(&mut self, close: u8) -> Option<bool> {
        let c = self.next_byte()?;
        self.i += 1;
        if c == b',' {
            Some(true)
        } else if c == close {
            Some(false)
        } else {
            None
        }
    }

    /// Consumes `null` if it comes next.
    #[inline]
    fn null(&mut self) -> Option<bool> {
        if self.next_byte()? == b'n' {
            self.literal(b"null")?;
            return Some(true);
        }
        Some(false)
    }

    #[inline]
    fn literal(&mut self, lit: &[u8]) -> Option<()> {
        let end = self.i.checked_add(lit.len())?;
        (self.b.get(self.i..end)? == lit).then(|| self.i = end)
    }

    /// An object key and its colon.
    fn key(&mut self) -> Option<Str<'a>> {
        if self.next_byte()? != b'"' {
            return None;
        }
        let k = self.string()?;
        self.open(b':')?;
        Some(Str(k))
    }

    /// `null` or a string.
    fn opt_str(&mut self) -> Option<Option<Str<'a>>> {
        match self.next_byte()? {
            b'n' => self.literal(b"null").map(|()| None),
            b'"' => self.string().map(|s| Some(Str(s))),
            _ => None,
        }
    }

    /// `null` or a boolean (`null` is `false`).
    fn opt_bool(&mut self) -> Option<bool> {
        match self.next_byte()? {
            b'n' => self.literal(b"null").map(|()| false),
            b't' => self.literal(b"true").map(|()| true),
            b'f' => self.literal(b"false").map(|()| false),
            _ => None,
        }
    }

    /// A string, the current byte being its opening quote. Borrowed from
    /// the document unless it has escapes.
    #[inline]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.i += 1;
        let start = self.i;
        loop {
            let c = self.peek()?;
            if STRING_STOP[usize::from(c)] {
                if c == b'"' {
                    let s = self.text.get(start..self.i)?;
                    self.i += 1;
                    return Some(Cow::Borrowed(s));
                }
                if c == b'\\' {
                    return self.escaped(start).map(Cow::Owned);
                }
                // A control byte: not allowed in a JSON string.
                return None;
            }
            self.i += 1;
        }
    }

    /// The rest of a string with escapes, from `start` (its first byte);
    /// the current byte is the first backslash.
    #[cold]
    fn escaped(&mut self, start: usize) -> Option<String> {
        let mut out = String::with_capacity(self.i - start + 16);
        let mut run = start;
        loop {
            let c = self.peek()?;
            if !STRING_STOP[usize::from(c)] {
                self.i += 1;
                continue;
            }
            out.push_str(self.text.get(run..self.i)?);
            self.i += 1;
            match c {
                b'"' => return Some(out),
                b'\\' => {}
                _ => return None,
            }
            let e = self.peek()?;
            self.i += 1;
            match e {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let hi = self.hex4()?;
                    let code = match hi {
                        0xD800..=0xDBFF => {
                            // A surrogate pair: `\uD83D\uDE00`.
                            self.literal(b"\\u")?;
                            let lo = self.hex4()?;
                            if !(0xDC00..=0xDFFF).contains(&lo) {
                                return None;
                            }
                            0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(lo) - 0xDC00)
                        }
                        0xDC00..=0xDFFF => return None,
                        _ => u32::from(hi),
                    };
                    out.push(char::from_u32(code)?);
                }
                _ => return None,
            }
            run = self.i;
        }
    }

    fn hex4(&mut self) -> Option<u16> {
        let end = self.i.checked_add(4)?;
        let digits = self.b.get(self.i..end)?;
        let mut n = 0u16;
        for &d in digits {
            let v = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return None,
            };
            n = (n << 4) | u16::from(v);
        }
        self.i = end;
        Some(n)
    }

    /// A non-negative integer that fits `u64` (statement ids).
    fn u64(&mut self) -> Option<u64> {
        self.ws();
        match self.number()? {
            Num::Int(i) => u64::try_from(i).ok(),
            Num::UInt(u) => Some(u),
            _ => None,
        }
    }

    /// A JSON number, the current byte being its first (`-` or a digit).
    /// Integers: `Integer`, `UInteger` above `i64::MAX`, `Float` past
    /// `u64::MAX` and for `-0`; others `Float`. `None` for a malformed or
    /// infinite number.
    #[inline]
    fn number(&mut self) -> Option<Num> {
        let start = self.i;
        let neg = self.peek() == Some(b'-');
        if neg {
            self.i += 1;
        }
        // Integer part: `0` or a digit run not starting with 0.
        let int_start = self.i;
        let first = self.peek()?;
        if !first.is_ascii_digit() {
            return None;
        }
        self.i += 1;
        let mut m = u64::from(first - b'0');
        if first != b'0' {
            while let Some(d @ b'0'..=b'9') = self.peek() {
                self.i += 1;
                let d = u64::from(d - b'0');
                m = match m.checked_mul(10).and_then(|x| x.checked_add(d)) {
                    Some(m) => m,
                    None => return self.long_number(start),
                };
            }
        }
        let int_digits = self.i - int_start;
        match self.peek() {
            Some(b'.' | b'e' | b'E') => {}
            _ => {
                return Some(if !neg {
                    match i64::try_from(m) {
                        Ok(i) => Num::Int(i),
                        Err(_) => Num::UInt(m),
                    }
                } else {
                    // serde_json: `-0` and magnitudes past 2^63 are floats.
                    match 0i64.checked_sub_unsigned(m) {
                        Some(i) if m != 0 => Num::Int(i),
                        _ => Num::Float(-(m as f64)),
                    }
                });
            }
        }
        // Fraction and exponent: check the syntax, keep the digits in `m`
        // while they fit, then convert.
        let mut exp10: i64 = 0;
        let mut exact = int_digits <= 19;
        if self.peek() == Some(b'.') {
            self.i += 1;
            let frac_start = self.i;
            while let Some(d @ b'0'..=b'9') = self.peek() {
                self.i += 1;
                if exact {
                    match m
                        .checked_mul(10)
                        .and_then(|x| x.checked_add(u64::from(d - b'0')))
                    {
                        Some(x) => {
                            m = x;
                            exp10 -= 1;
                        }
                        None => exact = false,
                    }
                }
            }
            if self.i == frac_start {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            let eneg = match self.peek() {
                Some(b'-') => {
                    self.i += 1;
                    true
                }
                Some(b'+') => {
                    self.i += 1;
                    false
                }
                _ => false,
            };
            let exp_start = self.i;
            let mut e: i64 = 0;
            while let Some(d @ b'0'..=b'9') = self.peek() {
                self.i += 1;
                e = (e * 10 + i64::from(d - b'0')).min(1 << 20);
            }
            if self.i == exp_start {
                return None;
            }
            exp10 += if eneg { -e } else { e };
        }
        // Clinger's fast path: both operands exact, one rounding.
        let f = if exact && m <= 1 << 53 && (-22..=22).contains(&exp10) {
            let p = POW10[exp10.unsigned_abs() as usize];
            let m = m as f64;
            if exp10 < 0 {
                m / p
            } else {
                m * p
            }
        } else {
            return self.parse_float(start);
        };
        Some(Num::Float(if neg { -f } else { f }))
    }

    /// An integer literal past `u64::MAX`: a float (syntax rest checked).
    #[cold]
    fn long_number(&mut self, start: usize) -> Option<Num> {
        while let Some(b'0'..=b'9') = self.peek() {
            self.i += 1;
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            // Validate the rest with the general path.
            self.i = start;
            return self.number_syntax_then_parse(start);
        }
        self.parse_float(start)
    }

    /// Checks the syntax of the number at `start` without the integer
    /// fast path, then parses it.
    #[cold]
    fn number_syntax_then_parse(&mut self, start: usize) -> Option<Num> {
        self.i = start;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let digits = |s: &mut Self| {
            let from = s.i;
            while let Some(b'0'..=b'9') = s.peek() {
                s.i += 1;
            }
            s.i > from
        };
        if !digits(self) {
            return None;
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !digits(self) {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'-' | b'+') = self.peek() {
                self.i += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        self.parse_float(start)
    }

    /// `str::parse` (correctly rounded) of the number in `start..self.i`,
    /// whose syntax was checked; infinite is out of range.
    fn parse_float(&self, start: usize) -> Option<Num> {
        let f: f64 = self.text.get(start..self.i)?.parse().ok()?;
        f.is_finite().then_some(Num::Float(f))
    }

    /// One result object.
    fn result(&mut self, settings: Settings) -> Option<WireResult<'a>> {
        let mut r = WireResult::default();
        self.open(b'{')?;
        if self.close_or_first(b'}')? {
            return Some(r);
        }
        loop {
            let key = self.key()?;
            match key.as_str() {
                "statement_id" => r.statement_id = self.u64()?,
                "series" => {
                    // Not `null`, as `results`.
                    r.series = Vec::new();
                    self.open(b'[')?;
                    if !self.close_or_first(b']')? {
                        loop {
                            let s = self.series(settings)?;
                            r.series.push(s);
                            if !self.next_or_close(b']')? {
                                break;
                            }
                        }
                    }
                }
                "messages" => {
                    r.messages = Vec::new();
                    if !self.null()? {
                        self.open(b'[')?;
                        if !self.close_or_first(b']')? {
                            loop {
                                let m = self.message()?;
                                r.messages.push(m);
                                if !self.next_or_close(b']')? {
                                    break;
                                }
                            }
                        }
                    }
                }
                "error" => r.error = self.opt_str()?,
                "partial" => r.partial = self.opt_bool()?,
                _ => return None,
            }
            if !self.next_or_close(b'}')? {
                return Some(r);
            }
        }
    }

    fn message(&mut self) -> Option<WireMessage<'a>> {
        let mut m = WireMessage {
            level: None,
            text: None,
        };
        self.open(b'{')?;
        if self.close_or_first(b'}')? {
            return Some(m);
        }
        // A derived `Deserialize`: a repeated field is an error there.
        let (mut level, mut text) = (false, false);
        loop {
            let key = self.key()?;
            match key.as_str() {
                "level" if !level => {
                    level = true;
                    m.level = self.opt_str()?;
                }
                "text" if !text => {
                    text = true;
                    m.text = self.opt_str()?;
                }
                _ => return None,
            }
            if !self.next_or_close(b'}')? {
                return Some(m);
            }
        }
    }

    fn series(&mut self, settings: Settings) -> Option<WireSeries<'a>> {
        let mut s = WireSeries::default();
        self.open(b'{')?;
        if self.close_or_first(b'}')? {
            return Some(s);
        }
        loop {
            let key = self.key()?;
            match key.as_str() {
                "name" => s.name = self.opt_str()?,
                "tags" => {
                    s.tags = Vec::new();
                    if !self.null()? {
                        self.open(b'{')?;
                        if !self.close_or_first(b'}')? {
                            loop {
                                let k = self.key()?;
                                let v = self.opt_str()??;
                                s.tags.push((k, v));
                                if !self.next_or_close(b'}')? {
                                    break;
                                }
                            }
                        }
                    }
                }
                "columns" => {
                    s.columns = Vec::new();
                    if !self.null()? {
                        self.open(b'[')?;
                        if !self.close_or_first(b']')? {
                            loop {
                                s.columns.push(self.opt_str()??);
                                if !self.next_or_close(b']')? {
                                    break;
                                }
                            }
                        }
                    }
                }
                "values" => {
                    // As the serde path: the time column is known only if
                    // `columns` came first; otherwise let serde fix it up.
                    let time = match settings.time_mult {
                        Some(mult) if !s.columns.is_empty() => s
                            .columns
                            .iter()
                            .position(|c| c.as_str() == "time")
                            .map(|i| (i, mult)),
                        Some(_) => return None,
                        None => None,
                    };
                    s.values = self.rows(s.columns.len(), time, settings.rows_hint)?;
                }
                "partial" => s.partial = self.opt_bool()?,
                _ => return None,
            }
            if !self.next_or_close(b'}')? {
                break;
            }
        }
        Some(s)
    }

    /// `"values"`: `null` or an array of rows.
    fn rows(
        &mut self,
        ncols: usize,
        time: Option<(usize, i64)>,
        rows_hint: usize,
    ) -> Option<FlatRows> {
        let mut values = std::mem::take(self.spare);
        values.clear();
        values.reserve(rows_hint.saturating_mul(ncols));
        let mut flat = FlatRows {
            values,
            ..FlatRows::default()
        };
        if self.null()? {
            return Some(flat);
        }
        let (time_idx, mult) = time.unwrap_or((usize::MAX, 1));
        self.open(b'[')?;
        if self.close_or_first(b']')? {
            return Some(flat);
        }
        loop {
            self.open(b'[')?;
            let before = flat.values.len();
            if !self.close_or_first(b']')? {
                let mut col = 0;
                loop {
                    let time = (col == time_idx).then_some(mult);
                    self.push_value(&mut flat.values, time)?;
                    col += 1;
                    if !self.next_or_close(b']')? {
                        break;
                    }
                }
            }
            flat.push_len(flat.values.len() - before);
            if !self.next_or_close(b']')? {
                return Some(flat);
            }
        }
    }

    /// One cell, `null`, a boolean, a number or a string, pushed onto
    /// `out` (built in place: a `Value` returned through the stack costs
    /// more than scanning it). Integers become [`Value::Time`] scaled by
    /// `time` when it is set.
    #[inline]
    fn push_value(&mut self, out: &mut Vec<Value>, time: Option<i64>) -> Option<()> {
        match self.next_byte()? {
            b'"' => match self.string()? {
                Cow::Borrowed(s) => out.push(Value::String(Text::new(s))),
                Cow::Owned(s) => out.push(Value::String(Text::from(s))),
            },
            b'-' | b'0'..=b'9' => match (self.number()?, time) {
                (Num::Int(i), None) => out.push(Value::Integer(i)),
                (Num::Int(i), Some(mult)) => out.push(Value::Time(i.checked_mul(mult)?)),
                (Num::UInt(u), None) => out.push(Value::UInteger(u)),
                (Num::UInt(_), Some(_)) => return None,
                (Num::Float(f), _) => out.push(Value::Float(f)),
            },
            b't' => {
                self.literal(b"true")?;
                out.push(Value::Bool(true));
            }
            b'f' => {
                self.literal(b"false")?;
                out.push(Value::Bool(false));
            }
            b'n' => {
                self.literal(b"null")?;
                out.push(Value::Null);
            }
            _ => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::wire::{parse_doc, parse_doc_serde};

    const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/influx-1.6.7/");

    fn settings(time_mult: Option<i64>) -> Settings {
        Settings {
            time_mult,
            rows_hint: 0,
        }
    }

    /// Whenever the scanner answers, serde_json answers the same; returns
    /// whether the scanner answered.
    #[track_caller]
    fn same(doc: &[u8], time_mult: Option<i64>) -> bool {
        let st = settings(time_mult);
        let fast = std::str::from_utf8(doc)
            .ok()
            .and_then(|t| super::doc(t, st, &mut Vec::new()));
        let slow = parse_doc_serde(doc, st);
        let Some(fast) = fast else { return false };
        let text = String::from_utf8_lossy(doc);
        match slow {
            Ok(slow) => assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{text}"),
            Err(e) => panic!("scanner accepted what serde_json refuses ({e}): {text}"),
        }
        true
    }

    fn series_doc(values: &str) -> String {
        format!(
            r#"{{"results":[{{"statement_id":0,"series":[{{"name":"m","columns":["time","v"],"values":[{values}]}}]}}]}}"#
        )
    }

    #[test]
    fn agrees_with_serde_on_every_capture() {
        let mut answered = 0;
        for entry in std::fs::read_dir(CAPTURES).expect("captures") {
            let path = entry.expect("entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("body") {
                continue;
            }
            let body = std::fs::read(&path).expect("read");
            for line in body.split(|&b| b == b'\n') {
                for mult in [None, Some(1), Some(1000)] {
                    answered += usize::from(same(line, mult));
                }
            }
        }
        assert!(answered > 100, "{answered}");
    }

    #[test]
    fn numbers_agree_with_serde() {
        let numbers = [
            "0", "-0", "1", "-1", "12", "0.5", "-0.0", "1e2", "1E+2", "1e-2", "-1.5e-3", "43.53",
            "94.67028418376582", "1.7976931348623157e308", "5e-324", "2.2250738585072014e-308",
            "9007199254740993", "9007199254740993.0", "9223372036854775807",
            "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
            "18446744073709551615", "18446744073709551616", "-18446744073709551616",
            "123456789012345678901234567890", "123456789012345678901234567890.5e-3",
            "0.000000000000000000000000000001", "1e22", "1e23", "9007199254740992e22",
            "9007199254740993e-22", "4.35", "0.1", "0.30000000000000004", "1e-400", "-1e-400",
            "0e999999999999999999999", "1e400", "-1e400", "1e99999999999999999999", "1.",
            "-", "1e", "1e+", ".5", "01", "-01", "1.5.3", "+1", "0x10", "1.e3", "--1", "1ee2",
            "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497791.9999999999999999999999999999999999",
        ];
        for n in numbers {
            same(series_doc(&format!("[1,{n}]")).as_bytes(), Some(1));
            same(series_doc(&format!("[{n},1]")).as_bytes(), Some(1000));
        }
        // The common shapes are answered by the scanner itself.
        for n in [
            "0",
            "-0",
            "12",
            "0.5",
            "1e-400",
            "18446744073709551616",
            "94.67028418376582",
        ] {
            assert!(
                same(series_doc(&format!("[1,{n}]")).as_bytes(), Some(1)),
                "{n}"
            );
        }
        for n in ["1e400", "1.", "-", "01", "1e", "1e+", ".5"] {
            assert!(
                !same(series_doc(&format!("[1,{n}]")).as_bytes(), Some(1)),
                "{n}"
            );
        }
    }

    #[test]
    fn strings_agree_with_serde() {
        let strings = [
            r#""plain""#,
            r#""""#,
            r#""a\"b""#,
            r#""a\\b""#,
            r#""\/\b\f\n\r\t""#,
            r#""\u00e9\u2603""#,
            r#""\ud83d\ude00""#,
            r#""\uD83D\uDE00x""#,
            r#""\ud83d""#,
            r#""\ude00""#,
            r#""\ud83dx""#,
            r#""\ud83d\u0041""#,
            r#""\x""#,
            r#""\u12""#,
            r#""\u12g4""#,
            "\"tab\there\"",
            "\"värde☃\"",
            r#""unterminated"#,
            r#""a\"#,
            r#""\u0000""#,
        ];
        for s in strings {
            same(series_doc(&format!("[1,{s}]")).as_bytes(), Some(1));
            let doc = format!(
                r#"{{"results":[{{"series":[{{"name":{s},"tags":{{{s}:{s}}},"columns":[{s}]}}]}}]}}"#
            );
            same(doc.as_bytes(), Some(1));
        }
        assert!(same(
            series_doc(r#"[1,"\ud83d\ude00\n"]"#).as_bytes(),
            Some(1)
        ));
        assert!(!same(series_doc(r#"[1,"\ud83d"]"#).as_bytes(), Some(1)));
    }

    #[test]
    fn shapes_agree_with_serde() {
        let docs = [
            r#"{}"#,
            r#"{"results":null}"#,
            r#"{"results":[]}"#,
            r#"{"results":[{}]}"#,
            r#"{"results":[{"series":null}]}"#,
            r#"{"results":[{"statement_id":-1}]}"#,
            r#"{"results":[{"statement_id":1.0}]}"#,
            r#"{"results":[{"statement_id":null}]}"#,
            r#"{"results":[{"statement_id":18446744073709551615}]}"#,
            r#"{"results":[{"statement_id":2,"messages":null,"partial":null,"error":null}]}"#,
            r#"{"results":[{"messages":[{"level":"warning","text":"x"},{}]}]}"#,
            r#"{"results":[{"messages":[{"level":"a","level":"b"}]}]}"#,
            r#"{"results":[{"series":[{"tags":null,"columns":null,"values":null}]}]}"#,
            r#"{"results":[{"series":[{"tags":{"a":null}}]}]}"#,
            r#"{"results":[{"series":[{"columns":["time",null]}]}]}"#,
            r#"{"results":[{"series":[{"values":[[1]],"columns":["time"]}]}]}"#,
            r#"{"results":[{"series":[{"columns":[],"values":[[1]]}]}]}"#,
            r#"{"results":[{"series":[{"columns":["time"],"values":[[9223372036854775807]]}]}]}"#,
            r#"{"results":[{"series":[{"columns":["time"],"values":[[1.5],[null],["t"]]}]}]}"#,
            r#"{"results":[{"series":[{"columns":["a"],"values":[[1],[],[1,2]]}]}]}"#,
            r#"{"results":[{"series":[{"columns":["a"],"values":[[[1]]]}]}]}"#,
            r#"{"results":[{"series":[{"columns":["a"],"values":[[{"x":1}]]}]}]}"#,
            r#"{"results":[{"series":[{"columns":["a"],"values":[[true,false,null,tru]]}]}]}"#,
            r#"{"results":[{"series":[{"columns":["a"],"values":[[1,]]}]}]}"#,
            r#"{"results":[{"series":[{"columns":["a"],"values":[[1],]}]}]}"#,
            r#"{"results":[{"series":[{"columns":["a"],"values":[1]}]}]}"#,
            r#"{"results":[{"unknown":1}]}"#,
            r#"{"results":[],"error":"boom"}"#,
            r#"{"error":"boom"} x"#,
            " \t\r\n{ \"results\" : [ { \"series\" : [ { \"columns\" : [ \"a\" ] , \"values\" : [ [ 1 , \"x\" ] ] } ] } ] } \n",
            r#"{"results":[{"series":[{"columns":["a"],"values":[[1]]}]}]"#,
            r#"{"results":[{"series":[{"columns":["a"],"values":[[1]"#,
            r#"[]"#,
            r#""#,
        ];
        for d in docs {
            for mult in [None, Some(1), Some(3_600_000_000_000)] {
                same(d.as_bytes(), mult);
            }
        }
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        same(series_doc(&deep).as_bytes(), Some(1));
        same(
            b"{\"results\":[{\"series\":[{\"name\":\"\xff\"}]}]}",
            Some(1),
        );
    }

    /// Malformed input is an error (never a panic), with serde_json's
    /// message, and decoding goes on with the next document.
    #[test]
    fn malformed_documents_are_errors() {
        let deep = series_doc(&format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)));
        let mut bad: Vec<Vec<u8>> = vec![
            series_doc("[1,2.").into_bytes(),
            series_doc("[1,2.]").into_bytes(),
            series_doc("[1,-]").into_bytes(),
            series_doc("[1,1e]").into_bytes(),
            series_doc("[1,1e400]").into_bytes(),
            series_doc("[1,-1e99999999999999999999]").into_bytes(),
            series_doc(r#"[1,"\q"]"#).into_bytes(),
            series_doc(r#"[1,"\u12"]"#).into_bytes(),
            series_doc(r#"[1,"\ud800"]"#).into_bytes(),
            series_doc("[1,\"a\u{1}\"]").into_bytes(),
            deep.into_bytes(),
            b"{\"results\":[{\"series\":[{\"name\":\"\xc3\x28\"}]}]}".to_vec(),
            b"\xff\xfe".to_vec(),
        ];
        for doc in &mut bad {
            assert!(parse_doc(doc, settings(Some(1)), &mut Vec::new()).is_err());
            doc.push(b'\n');
            let mut d = crate::query::Decoder::default();
            d.feed(doc);
            d.feed(b"{\"results\":[{\"statement_id\":5}]}\n");
            d.finish();
            let first = d.next_event().expect("an event");
            let e = first.expect_err("an error");
            assert!(e.to_string().starts_with("invalid document 1"), "{e}");
            assert!(matches!(
                d.next_event(),
                Some(Ok(crate::query::Event::StatementEnd { statement_id: 5 }))
            ));
            assert!(d.next_event().is_none());
        }
        // Cut short at the end of the body: an EOF error.
        let mut d = crate::query::Decoder::default();
        d.feed(series_doc("[1,2").as_bytes().split_at(60).0);
        d.finish();
        let e = d.next_event().expect("an event").expect_err("an error");
        assert!(e.to_string().contains("cut short"), "{e}");
    }
}
