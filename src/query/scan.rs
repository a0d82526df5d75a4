//! The parser of [`wire::parse_doc`](super::wire::parse_doc): a
//! hand-written scanner over the bytes of one document, plain loops and no
//! serde, producing a [`WireDoc`].
//!
//! It reads the shapes InfluxDB 1.x sends (keys it does not know are
//! skipped, `values` may come before `columns`) and says `None` for
//! anything else: malformed JSON, another shape, a number out of range, a
//! lone surrogate. The caller then asks serde_json where the JSON is
//! malformed. So it must accept no document serde_json refuses, and read
//! what it accepts as serde_json reads it (the tests below hold it to
//! `serde_json::Value` on captures, mutations and edge cases).
//!
//! Numbers follow serde_json's rules: an integer literal is `i64` when it
//! fits, `u64` above `i64::MAX`, `f64` past `u64::MAX`, and `-0` is `f64`;
//! anything with a fraction or an exponent is `f64`, correctly rounded
//! (`str::parse`, or an exact `m / 10^e` when both fit), and out of range
//! (infinite) is an error.

use std::borrow::Cow;

use super::wire::{Cell, FlatRows, Settings, Str, WireDoc, WireMessage, WireResult, WireSeries};
use crate::decimal::{decimal, EXACT_POWERS};

/// Scans one document; `None` when it is malformed or not a query response.
/// `spare` is an empty vector whose memory the first series' cells reuse.
/// The caller checked that `text` is shorter than 4 GiB.
pub(crate) fn doc<'a>(
    text: &'a str,
    settings: Settings,
    spare: &mut Vec<Cell>,
) -> Option<WireDoc<'a>> {
    let mut s = Scanner {
        text,
        b: text.as_bytes(),
        i: 0,
    };
    let mut doc = WireDoc::default();
    s.object(|s, key| match &*key {
        // Not `null`: serde_json's `deserialize_seq` refuses it.
        "results" => {
            doc.results = Vec::new();
            s.array(|s| s.result(settings, spare).map(|r| doc.results.push(r)))
        }
        "error" => s.opt_str().map(|e| doc.error = e),
        _ => s.skip_value(0),
    })?;
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

#[derive(Clone, Copy)]
struct Scanner<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

/// The high bit of each byte of `w` (little endian) that is `"`, a
/// backslash or a control byte; exact up to the first one (later ones may
/// be missed or spurious).
#[inline]
fn string_stops(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    zero(w ^ (ONES * u64::from(b'"')))
        | zero(w ^ (ONES * u64::from(b'\\')))
        | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS)
}

/// The first `"`, backslash or control byte at or after `i` (or the end):
/// the end of a string's plain run. Bytes from 0x80 are fine: the document
/// was checked for UTF-8 already.
#[inline(always)]
fn plain_end(b: &[u8], mut i: usize) -> usize {
    while let Some(Ok(w)) = b.get(i..i.wrapping_add(8)).map(<[u8; 8]>::try_from) {
        let stops = string_stops(u64::from_le_bytes(w));
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    // Past the last word: neither a control byte, `"` (0x22) nor `\` (0x5C).
    while let Some(0x20..=0x21 | 0x23..=0x5B | 0x5D..=0xFF) = b.get(i) {
        i += 1;
    }
    i
}

/// The high bit of each byte of `w` (little endian) that is not an ASCII
/// digit; exact up to the first one (as [`string_stops`]).
#[inline]
fn non_digits(w: u64) -> u64 {
    (w.wrapping_sub(0x3030_3030_3030_3030) | w.wrapping_add(0x4646_4646_4646_4646) | w)
        & 0x8080_8080_8080_8080
}

/// The value of 8 ASCII digits (little endian, first digit lowest).
#[inline]
fn eight_digits_value(w: u64) -> u64 {
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 100 + (1_000_000 << 32);
    const MUL2: u64 = 1 + (10_000 << 32);
    let v = w.wrapping_sub(0x3030_3030_3030_3030);
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    ((v & MASK)
        .wrapping_mul(MUL1)
        .wrapping_add(((v >> 16) & MASK).wrapping_mul(MUL2)))
        >> 32
}

/// Scans the digit run at `i`: its end, and `m` extended by its digits
/// (wrapping past 19 digits in all: callers count digits and do not use
/// `m` then). Eight bytes at a time: a run ending inside a word is moved
/// to the word's top behind `0` digits and converted at once.
#[inline(always)]
fn digits(b: &[u8], mut i: usize, mut m: u64) -> (usize, u64) {
    while let Some(Ok(w)) = b.get(i..i.wrapping_add(8)).map(<[u8; 8]>::try_from) {
        let w = u64::from_le_bytes(w);
        let stops = non_digits(w);
        if stops == 0 {
            m = m
                .wrapping_mul(100_000_000)
                .wrapping_add(eight_digits_value(w));
            i += 8;
            continue;
        }
        let n = (stops.trailing_zeros() / 8) as usize;
        if n > 0 {
            let top = (w << (64 - 8 * n)) | (0x3030_3030_3030_3030 >> (8 * n));
            const POWERS: [u64; 8] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000];
            m = m
                .wrapping_mul(POWERS[n])
                .wrapping_add(eight_digits_value(top));
        }
        return (i + n, m);
    }
    while let Some(&d @ b'0'..=b'9') = b.get(i) {
        m = m.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
        i += 1;
    }
    (i, m)
}

impl<'a> Scanner<'a> {
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
        Some(k)
    }

    /// `null` or a string.
    fn opt_str(&mut self) -> Option<Option<Str<'a>>> {
        match self.next_byte()? {
            b'n' => self.literal(b"null").map(|()| None),
            b'"' => self.string().map(Some),
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
    #[inline(always)]
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.i + 1;
        self.i = plain_end(self.b, start);
        match self.peek()? {
            b'"' => {
                let s = self.text.get(start..self.i)?;
                self.i += 1;
                Some(Cow::Borrowed(s))
            }
            b'\\' => self.escaped(start).map(Cow::Owned),
            // A control byte: not allowed in a JSON string.
            _ => None,
        }
    }

    /// The rest of a string with escapes, from `start` (its first byte);
    /// the current byte is the first backslash.
    #[cold]
    fn escaped(&mut self, start: usize) -> Option<String> {
        let mut out = String::with_capacity(self.i - start + 16);
        let mut run = start;
        loop {
            self.i = plain_end(self.b, self.i);
            let c = self.peek()?;
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
    /// Integers: `Int`, `UInt` above `i64::MAX`, `Float` past `u64::MAX`
    /// and for `-0`; others `Float`. `None` for a malformed or infinite
    /// number.
    #[inline(always)]
    fn number(&mut self) -> Option<Num> {
        let b = self.b;
        let start = self.i;
        let mut i = start;
        let neg = b.get(i) == Some(&b'-');
        if neg {
            i += 1;
        }
        // Integer part: `0`, or a digit run not starting with 0. Up to 19
        // digits cannot overflow a u64.
        let int_start = i;
        let mut m: u64 = 0;
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => (i, m) = digits(b, i, 0),
            _ => return None,
        }
        let int_digits = i - int_start;
        let frac = match b.get(i) {
            Some(b'.') => true,
            Some(b'e' | b'E') => false,
            _ => {
                self.i = i;
                if int_digits > 19 {
                    return self.long_integer(start, neg);
                }
                return Some(if !neg {
                    match i64::try_from(m) {
                        Ok(v) => Num::Int(v),
                        Err(_) => Num::UInt(m),
                    }
                } else {
                    // serde_json: `-0` and magnitudes past 2^63 are floats.
                    match 0i64.checked_sub_unsigned(m) {
                        Some(v) if m != 0 => Num::Int(v),
                        _ => Num::Float(-(m as f64)),
                    }
                });
            }
        };
        // Fraction and exponent: check the syntax and keep the digits in
        // `m` while there are at most 19 of them, then convert.
        let mut exp10: i64 = 0;
        let mut exact = int_digits <= 19;
        if frac {
            i += 1;
            let frac_start = i;
            let (end, fm) = digits(b, i, m);
            if end == frac_start {
                return None;
            }
            let n = end - frac_start;
            exact = exact && int_digits + n <= 19;
            if exact {
                m = fm;
                exp10 = -(n as i64);
            }
            i = end;
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            let eneg = match b.get(i) {
                Some(b'-') => {
                    i += 1;
                    true
                }
                Some(b'+') => {
                    i += 1;
                    false
                }
                _ => false,
            };
            let exp_start = i;
            let mut e: i64 = 0;
            while let Some(&d @ b'0'..=b'9') = b.get(i) {
                i += 1;
                e = (e * 10 + i64::from(d - b'0')).min(1 << 20);
            }
            if i == exp_start {
                return None;
            }
            exp10 += if eneg { -e } else { e };
        }
        self.i = i;
        // Clinger's fast path: both operands exact, one rounding.
        if exact && m <= 1 << 53 && (1..=22).contains(&exp10) {
            let f = m as f64 * EXACT_POWERS[exp10.unsigned_abs() as usize];
            return Some(Num::Float(if neg { -f } else { f }));
        }
        // A fraction (shortest round-trip floats have 16 to 19 significant
        // digits): one exactly rounded division.
        if exact && exp10 <= 0 {
            let scale = u32::try_from(exp10.unsigned_abs()).ok();
            if let Some(f) = scale.and_then(|k| decimal(m, k)) {
                return Some(Num::Float(if neg { -f } else { f }));
            }
        }
        self.parse_float(start)
    }

    /// An integer literal of more than 19 digits (syntax checked), in
    /// `start..self.i`: `Int`/`UInt` if it fits a u64, else a float.
    #[cold]
    fn long_integer(&self, start: usize, neg: bool) -> Option<Num> {
        if !neg {
            if let Ok(u) = self.text.get(start..self.i)?.parse::<u64>() {
                return Some(match i64::try_from(u) {
                    Ok(v) => Num::Int(v),
                    Err(_) => Num::UInt(u),
                });
            }
        }
        // Negative: its magnitude is past 2^63.
        self.parse_float(start)
    }

    /// `str::parse` (correctly rounded) of the number in `start..self.i`,
    /// whose syntax was checked; infinite is out of range.
    fn parse_float(&self, start: usize) -> Option<Num> {
        let f: f64 = self.text.get(start..self.i)?.parse().ok()?;
        f.is_finite().then_some(Num::Float(f))
    }

    /// An object, the current byte being its `{`: each key given to `f`,
    /// which reads the value.
    fn object(&mut self, mut f: impl FnMut(&mut Self, Str<'a>) -> Option<()>) -> Option<()> {
        self.open(b'{')?;
        if self.close_or_first(b'}')? {
            return Some(());
        }
        loop {
            let key = self.key()?;
            f(self, key)?;
            if !self.next_or_close(b'}')? {
                return Some(());
            }
        }
    }

    /// An array, the current byte being its `[`: `f` reads each element.
    fn array(&mut self, mut f: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.open(b'[')?;
        if self.close_or_first(b']')? {
            return Some(());
        }
        loop {
            f(self)?;
            if !self.next_or_close(b']')? {
                return Some(());
            }
        }
    }

    /// One result object.
    fn result(&mut self, settings: Settings, spare: &mut Vec<Cell>) -> Option<WireResult<'a>> {
        let mut r = WireResult::default();
        self.object(|s, key| match &*key {
            "statement_id" => s.u64().map(|id| r.statement_id = id),
            // Not `null`, as `results`.
            "series" => {
                r.series = Vec::new();
                s.array(|s| s.series(settings, spare).map(|x| r.series.push(x)))
            }
            "messages" => {
                r.messages = Vec::new();
                if s.null()? {
                    return Some(());
                }
                s.array(|s| s.message().map(|m| r.messages.push(m)))
            }
            "error" => s.opt_str().map(|e| r.error = e),
            "partial" => s.opt_bool().map(|p| r.partial = p),
            _ => s.skip_value(0),
        })?;
        Some(r)
    }

    fn message(&mut self) -> Option<WireMessage<'a>> {
        let (mut level, mut text) = (None, None);
        self.object(|s, key| match &*key {
            "level" => s.opt_str().map(|v| level = v),
            "text" => s.opt_str().map(|v| text = v),
            _ => s.skip_value(0),
        })?;
        Some(WireMessage { level, text })
    }

    fn series(&mut self, settings: Settings, spare: &mut Vec<Cell>) -> Option<WireSeries<'a>> {
        let mut w = WireSeries::default();
        self.object(|s, key| match &*key {
            "name" => s.opt_str().map(|n| w.name = n),
            "tags" => {
                w.tags = Vec::new();
                if s.null()? {
                    return Some(());
                }
                s.object(|s, k| s.opt_str()?.map(|v| w.tags.push((k, v))))
            }
            "columns" => {
                w.columns = Vec::new();
                if s.null()? {
                    return Some(());
                }
                s.array(|s| s.opt_str()?.map(|c| w.columns.push(c)))
            }
            "values" => s
                .rows(spare, w.columns.len(), settings.rows_hint)
                .map(|v| w.values = v),
            "partial" => s.opt_bool().map(|p| w.partial = p),
            _ => s.skip_value(0),
        })?;
        // The time column is scaled after the rows are read (they may come
        // before the columns): a pass over one column costs less than a
        // test on every cell.
        let time = w.columns.iter().position(|c| c == "time");
        if let (Some(t), Some(mult)) = (time, settings.time_mult) {
            let v = &mut w.values;
            let scale = |c: &mut Cell| match *c {
                Cell::Int(i) => i.checked_mul(mult).map(|t| *c = Cell::Time(t)),
                Cell::UInt(_) => None,
                _ => Some(()),
            };
            match &v.lens {
                None if v.width > t => {
                    for c in v.cells.iter_mut().skip(t).step_by(v.width) {
                        scale(c)?;
                    }
                }
                None => {}
                Some(lens) => {
                    let mut start = 0;
                    for &len in lens {
                        if t < len {
                            scale(v.cells.get_mut(start + t)?)?;
                        }
                        start += len;
                    }
                }
            }
        }
        Some(w)
    }

    /// Skips one value of any kind (a key the scanner does not know), at
    /// most as deep as serde_json's recursion limit lets it read.
    fn skip_value(&mut self, depth: u32) -> Option<()> {
        if depth >= 127 {
            return None;
        }
        match self.next_byte()? {
            b'"' => self.string().map(drop),
            b'-' | b'0'..=b'9' => self.number().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'[' => self.array(|s| s.skip_value(depth + 1)),
            b'{' => self.object(|s, _| s.skip_value(depth + 1)),
            _ => None,
        }
    }

    /// `"values"`: `null` or an array of rows.
    #[inline(never)]
    fn rows(&mut self, spare: &mut Vec<Cell>, ncols: usize, rows_hint: usize) -> Option<FlatRows> {
        let mut cells = std::mem::take(spare);
        cells.clear();
        // The hint comes from earlier series; a value takes 2 bytes at least,
        // so what is left of the document bounds it (a series of many
        // columns after a long one must not reserve gigabytes).
        let left = self.b.len().saturating_sub(self.i);
        cells.reserve(rows_hint.saturating_mul(ncols).min(left / 2));
        let mut flat = FlatRows {
            cells,
            ..FlatRows::default()
        };
        if self.null()? {
            return Some(flat);
        }
        // A copy of the scanner, which stays in registers: the cells'
        // stores cannot be stores to it.
        let mut s = *self;
        s.open(b'[')?;
        if !s.close_or_first(b']')? {
            loop {
                s.open(b'[')?;
                let before = flat.cells.len();
                if !s.close_or_first(b']')? {
                    loop {
                        s.push_cell(&mut flat)?;
                        // Most often a `,` follows at once.
                        if s.b.get(s.i) == Some(&b',') {
                            s.i += 1;
                        } else if !s.next_or_close(b']')? {
                            break;
                        }
                    }
                }
                flat.push_len(flat.cells.len() - before);
                if s.b.get(s.i) == Some(&b',') {
                    s.i += 1;
                } else if !s.next_or_close(b']')? {
                    break;
                }
            }
        }
        self.i = s.i;
        Some(flat)
    }

    /// One cell, `null`, a boolean, a number or a string, pushed onto
    /// `flat` (built in place: a cell returned through the stack costs
    /// more than scanning it).
    #[inline(always)]
    fn push_cell(&mut self, flat: &mut FlatRows) -> Option<()> {
        let cell = match self.next_byte()? {
            b'"' => {
                let start = self.i + 1;
                let end = plain_end(self.b, start);
                if self.b.get(end) == Some(&b'"') {
                    // No escapes: a span of the document (shorter than 4 GiB).
                    self.i = end + 1;
                    Cell::Str(start as u32, (end - start) as u32)
                } else {
                    let s = self.string()?;
                    let at = u32::try_from(flat.escaped.len()).ok()?;
                    flat.escaped.push_str(&s);
                    Cell::Esc(at, s.len() as u32)
                }
            }
            b'-' | b'0'..=b'9' => match self.number()? {
                Num::Int(i) => Cell::Int(i),
                Num::UInt(u) => Cell::UInt(u),
                Num::Float(f) => Cell::Float(f),
            },
            b't' => {
                self.literal(b"true")?;
                Cell::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                Cell::Bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                Cell::Null
            }
            _ => return None,
        };
        flat.cells.push(cell);
        Some(())
    }
}
