//! Reading line protocol: text into points, with InfluxDB 1.x's reading
//! rules and errors that name the line and column.
//!
//! [`parse_lines`] reads text a line at a time and borrows names from it
//! where they hold no escapes. The client runs raw text given to
//! [`Client::write`](crate::Client::write) and to a
//! [`Writer`](crate::Writer) through the same reading before sending (see
//! [`ClientBuilder::check_raw_lines`](crate::ClientBuilder::check_raw_lines)),
//! so a bad line is an error naming it rather than a partial write, and
//! servers that drop bad lines without a word (VictoriaMetrics) never see
//! one.

use std::borrow::Cow;
use std::fmt;

use crate::decimal::decimal;
use crate::error::{self, Error};
use crate::point::{FieldValue, Point};

/// One point read from line protocol; names and string values borrow from
/// the text unless they held escapes.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedPoint<'a> {
    measurement: Cow<'a, str>,
    tags: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    fields: Vec<(Cow<'a, str>, ParsedValue<'a>)>,
    timestamp: Option<i64>,
}

/// A field value read from line protocol: a [`FieldValue`] whose string
/// borrows from the text unless it held escapes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ParsedValue<'a> {
    /// A float (`1.5`, `12`).
    Float(f64),
    /// A signed integer (`1i`).
    Integer(i64),
    /// An unsigned integer (`1u`).
    UInteger(u64),
    /// A boolean.
    Boolean(bool),
    /// A string, unescaped.
    String(Cow<'a, str>),
}

impl From<ParsedValue<'_>> for FieldValue {
    fn from(v: ParsedValue<'_>) -> Self {
        match v {
            ParsedValue::Float(v) => FieldValue::Float(v),
            ParsedValue::Integer(v) => FieldValue::Integer(v),
            ParsedValue::UInteger(v) => FieldValue::UInteger(v),
            ParsedValue::Boolean(v) => FieldValue::Boolean(v),
            ParsedValue::String(v) => FieldValue::String(v.into_owned()),
        }
    }
}

impl<'a> ParsedPoint<'a> {
    /// The measurement, unescaped.
    pub fn measurement(&self) -> &str {
        &self.measurement
    }

    /// The tags in the order of the line, unescaped.
    pub fn tags(&self) -> &[(Cow<'a, str>, Cow<'a, str>)] {
        &self.tags
    }

    /// The fields in the order of the line.
    pub fn fields(&self) -> &[(Cow<'a, str>, ParsedValue<'a>)] {
        &self.fields
    }

    /// The timestamp as written, in the unit of the write's precision; `None`
    /// when the line has none (the server then uses its clock).
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The same point as a [`Point`]; `precision_nanos` converts the
    /// timestamp (1 when the text is in nanoseconds).
    pub fn to_point(&self, precision_nanos: i64) -> Point {
        let mut p = Point::new(&*self.measurement);
        for (k, v) in &self.tags {
            p = p.tag(&**k, &**v);
        }
        for (k, v) in &self.fields {
            p = p.field(&**k, FieldValue::from(v.clone()));
        }
        match self.timestamp {
            Some(t) => p.timestamp(t.saturating_mul(precision_nanos)),
            None => p,
        }
    }
}

/// The points of line-protocol text, one item per line that is not blank
/// or a comment; a bad line is an `Err` item naming its line and column,
/// and reading goes on with the next line.
///
/// ```
/// use influx_stream::parse_lines;
///
/// let text = "cpu,host=a usage=0.5,count=3i 1700000000000000000\n# a comment\ncpu usage=\n";
/// let mut lines = parse_lines(text);
/// let first = lines.next().unwrap()?;
/// assert_eq!(first.measurement(), "cpu");
/// assert_eq!(first.timestamp(), Some(1_700_000_000_000_000_000));
/// let err = lines.next().unwrap().unwrap_err();
/// assert_eq!(err.to_string(), "cannot encode the request: line 3, column 11: missing field value");
/// # Ok::<(), influx_stream::Error>(())
/// ```
pub fn parse_lines(text: &str) -> ParseLines<'_> {
    ParseLines {
        rest: text,
        line: 0,
    }
}

/// The iterator of [`parse_lines`].
#[derive(Debug, Clone)]
pub struct ParseLines<'a> {
    rest: &'a str,
    line: usize,
}

impl<'a> Iterator for ParseLines<'a> {
    type Item = Result<ParsedPoint<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut point = ParsedPoint::default();
        Some(self.next_into(&mut point)?.map(|()| point))
    }
}

impl<'a> ParseLines<'a> {
    /// Reads the next point into `point`, reusing its storage, so reading
    /// many lines allocates only for names and strings that held escapes.
    /// `None` at the end of the text; a bad line is an `Err` as for
    /// [`Iterator::next`], and reading goes on with the next line.
    ///
    /// ```
    /// use influx_stream::{parse_lines, ParsedPoint};
    ///
    /// let mut lines = parse_lines("cpu v=1 1\ncpu v=2 2\n");
    /// let mut point = ParsedPoint::default();
    /// let mut times = Vec::new();
    /// while let Some(read) = lines.next_into(&mut point) {
    ///     read?;
    ///     times.extend(point.timestamp());
    /// }
    /// assert_eq!(times, [1, 2]);
    /// # Ok::<(), influx_stream::Error>(())
    /// ```
    pub fn next_into(&mut self, point: &mut ParsedPoint<'a>) -> Option<Result<(), Error>> {
        while !self.rest.is_empty() {
            if let Some(rest) = self.rest.strip_prefix('\n') {
                self.rest = rest;
                self.line += 1;
                continue;
            }
            point.clear();
            if let Some(used) = quick_line(self.rest, point) {
                self.rest = self.rest.get(used..).unwrap_or("");
                self.line += 1;
                return Some(Ok(()));
            }
            match self.careful_line() {
                Ok(Some(p)) => {
                    *point = p;
                    return Some(Ok(()));
                }
                Ok(None) => continue,
                Err(e) => return Some(Err(e)),
            }
        }
        None
    }

    /// The next line through the reading that knows every rule (the quick
    /// one gave up on it): escapes, quotes holding newlines, blanks, and
    /// the errors.
    fn careful_line(&mut self) -> Result<Option<ParsedPoint<'a>>, Error> {
        let end = line_end(self.rest.as_bytes());
        // A quote the key made look open runs the line to the end of
        // the text; its final newline is not part of it, as for influxd.
        let line = self.rest[..end]
            .strip_suffix('\n')
            .unwrap_or(&self.rest[..end]);
        self.rest = self.rest.get(end + 1..).unwrap_or("");
        self.line += 1 + line.matches('\n').count();
        let first_line = self.line - line.matches('\n').count();
        parse_line(line).map_err(|LineError { column, problem }| {
            // A string field may hold newlines: name the line the
            // column is on.
            let before = &line.as_bytes()[..column.min(line.len())];
            let lines_before = before.iter().filter(|&&b| b == b'\n').count();
            let line_start = before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            error::encode(format!(
                "line {}, column {}: {problem}",
                first_line + lines_before,
                column - line_start + 1
            ))
        })
    }
}

/// A [`tokio_util::codec::Decoder`] that cuts line protocol read from a
/// file, a socket or standard input into lines where the server would: a
/// newline inside a string field does not end a line. Each line comes out
/// as read (give it to a [`Writer`](crate::Writer), which checks it, or to
/// [`parse_lines`]); blank lines are passed over. A line longer than the
/// limit is an error ([`Error::is_line_too_long`]), not a growing buffer;
/// a line that is not UTF-8 is an error ([`Error::is_not_utf8`]) after
/// which decoding may go on with the next line.
///
/// ```no_run
/// use futures::StreamExt;
/// use influx_stream::LineProtocolCodec;
/// use tokio_util::codec::FramedRead;
///
/// # async fn run() {
/// let file = tokio::fs::File::open("points.lp").await.unwrap();
/// let mut lines = FramedRead::new(file, LineProtocolCodec::new(1 << 20));
/// while let Some(line) = lines.next().await {
///     println!("{}", line.unwrap());
/// }
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct LineProtocolCodec {
    max_line: usize,
}

impl LineProtocolCodec {
    /// A codec refusing lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        LineProtocolCodec { max_line }
    }

    fn cut(&self, buf: &mut bytes::BytesMut, at_eof: bool) -> Result<Option<String>, Error> {
        loop {
            if buf.is_empty() {
                return Ok(None);
            }
            let end = line_end(buf);
            if end == buf.len() && !at_eof {
                if buf.len() > self.max_line {
                    return Err(error::line_too_long(self.max_line));
                }
                return Ok(None);
            }
            let line = buf.split_to(end);
            // The newline that ended the line, if one did.
            if !buf.is_empty() {
                let _ = buf.split_to(1);
            }
            if line.len() > self.max_line {
                return Err(error::line_too_long(self.max_line));
            }
            let text = String::from_utf8(line.to_vec()).map_err(|_| error::not_utf8())?;
            if !text.trim().is_empty() {
                return Ok(Some(text));
            }
        }
    }
}

impl tokio_util::codec::Decoder for LineProtocolCodec {
    type Item = String;
    type Error = Error;

    fn decode(&mut self, buf: &mut bytes::BytesMut) -> Result<Option<String>, Error> {
        self.cut(buf, false)
    }

    fn decode_eof(&mut self, buf: &mut bytes::BytesMut) -> Result<Option<String>, Error> {
        self.cut(buf, true)
    }
}

/// Checks raw text as the server would read it; returns the number of
/// points (lines that are not blank or comments).
pub(crate) fn check_lines(text: &[u8]) -> Result<usize, Error> {
    let text = std::str::from_utf8(text).map_err(|e| {
        error::encode(format!(
            "raw line protocol is not UTF-8 (byte {}); InfluxDB reads only UTF-8",
            e.valid_up_to()
        ))
    })?;
    let mut points = 0;
    let mut rest = text;
    let mut lines = parse_lines(text);
    // How much of the text `lines.line` has counted.
    let mut counted = 0;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('\n') {
            rest = r;
            continue;
        }
        if let Some(used) = quick_line(rest, &mut Check) {
            rest = rest.get(used..).unwrap_or("");
            points += 1;
            continue;
        }
        // Errors name the line: the quick lines are counted only when the
        // careful reading needs the number, from where it last stopped.
        let done = text.len() - rest.len();
        lines.line += memchr::memchr_iter(b'\n', &text.as_bytes()[counted..done]).count();
        lines.rest = rest;
        if lines.careful_line()?.is_some() {
            points += 1;
        }
        rest = lines.rest;
        counted = text.len() - rest.len();
    }
    Ok(points)
}

/// A field value as the quick reading found it.
enum QuickValue<'a> {
    /// The number's text: only a reader that keeps the value parses it.
    Float(&'a str),
    /// A float of at most 19 digits: `mantissa / 10^scale`, computed only
    /// by a reader that keeps the value (see [`decimal`]).
    Decimal {
        mantissa: u64,
        scale: u8,
        negative: bool,
    },
    Integer(i64),
    UInteger(u64),
    Boolean(bool),
    /// The text between the quotes, which holds no escapes.
    String(&'a str),
}

/// What the quick reading hands each part of a line to: a point being
/// built, or nothing when text is only checked.
trait Parts<'a> {
    /// Whether the parts are kept: when not, the reading does not cut the
    /// text into them.
    const KEEPS: bool;
    fn measurement(&mut self, name: &'a str);
    fn tag(&mut self, key: &'a str, value: &'a str);
    /// `false` gives the line up to the careful reading.
    fn field(&mut self, key: &'a str, value: QuickValue<'a>) -> bool;
    fn timestamp(&mut self, time: i64);
}

impl Default for ParsedPoint<'_> {
    /// An empty point, to read into with [`ParseLines::next_into`].
    fn default() -> Self {
        ParsedPoint {
            measurement: Cow::Borrowed(""),
            tags: Vec::new(),
            fields: Vec::new(),
            timestamp: None,
        }
    }
}

impl ParsedPoint<'_> {
    /// Empties the point, keeping its storage.
    fn clear(&mut self) {
        self.measurement = Cow::Borrowed("");
        self.tags.clear();
        self.fields.clear();
        self.timestamp = None;
    }
}

impl<'a> Parts<'a> for ParsedPoint<'a> {
    const KEEPS: bool = true;

    fn measurement(&mut self, name: &'a str) {
        self.measurement = Cow::Borrowed(name);
    }

    fn tag(&mut self, key: &'a str, value: &'a str) {
        self.tags.push((Cow::Borrowed(key), Cow::Borrowed(value)));
    }

    #[inline(always)]
    fn field(&mut self, key: &'a str, value: QuickValue<'a>) -> bool {
        let value = match value {
            QuickValue::Float(text) => match text.parse::<f64>() {
                Ok(v) if v.is_finite() => ParsedValue::Float(v),
                _ => return false,
            },
            QuickValue::Decimal {
                mantissa,
                scale,
                negative,
            } => {
                let Some(v) = decimal(mantissa, u32::from(scale)) else {
                    return false;
                };
                ParsedValue::Float(if negative { -v } else { v })
            }
            QuickValue::Integer(v) => ParsedValue::Integer(v),
            QuickValue::UInteger(v) => ParsedValue::UInteger(v),
            QuickValue::Boolean(v) => ParsedValue::Boolean(v),
            QuickValue::String(v) => ParsedValue::String(Cow::Borrowed(v)),
        };
        self.fields.push((Cow::Borrowed(key), value));
        true
    }

    fn timestamp(&mut self, time: i64) {
        self.timestamp = Some(time);
    }
}

/// Checks without building anything.
struct Check;

impl<'a> Parts<'a> for Check {
    const KEEPS: bool = false;

    fn measurement(&mut self, _: &'a str) {}

    fn tag(&mut self, _: &'a str, _: &'a str) {}

    fn field(&mut self, _: &'a str, _: QuickValue<'a>) -> bool {
        true
    }

    fn timestamp(&mut self, _: i64) {}
}

/// Bytes that end a name or need the careful reading: delimiters, escapes,
/// quotes and control characters.
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b' ' as usize] = true;
    t[b',' as usize] = true;
    t[b'=' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'"' as usize] = true;
    t
};

/// Where the name from `i` ends: at the first [`SPECIAL`] byte, looked for
/// eight bytes at a time since names run to a dozen bytes or more.
fn name_end(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // High bit of each byte that is zero (exact for the lowest one: only a
    // zero byte borrows from the byte above it).
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*chunk);
        // Control characters, the space and '"' are below 0x23, with '!'
        // the one byte there that is no special one: one test for all but
        // a stray '!', which the scan steps over.
        let below = w.wrapping_sub(ONES * 0x23) & !w & HIGHS;
        let hits = below
            | zero(w ^ (ONES * u64::from(b',')))
            | zero(w ^ (ONES * u64::from(b'=')))
            | zero(w ^ (ONES * u64::from(b'\\')));
        if hits != 0 {
            let at = i + hits.trailing_zeros() as usize / 8;
            if b.get(at) != Some(&b'!') {
                return at;
            }
            i = at + 1;
            continue;
        }
        i += 8;
    }
    while i < b.len() && !SPECIAL[b[i] as usize] {
        i += 1;
    }
    i
}

/// Where a string value from `i` ends: at its first quote, backslash or
/// newline (only the quote keeps the line quick). Eight bytes at a time,
/// like [`name_end`]: strings are short, and memchr's setup costs more.
#[inline(always)]
fn string_end(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let w = u64::from_le_bytes(*chunk);
        let hits = zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | zero(w ^ (ONES * u64::from(b'\n')));
        if hits != 0 {
            return i + hits.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    while i < b.len() && !matches!(b[i], b'"' | b'\\' | b'\n') {
        i += 1;
    }
    i
}

/// Names (tag and field keys) a quick line may hold; more go the careful way.
const QUICK_NAMES: usize = 16;

/// The tag or field keys of a quick line so far, as spans (u32 keeps the
/// array small to clear).
#[derive(Default)]
struct Keys {
    spans: [(u32, u32); QUICK_NAMES],
    count: usize,
}

impl Keys {
    /// Reads the key from `from` up to its '=' and returns where that is;
    /// `None` for what the quick reading leaves to the careful one: an
    /// empty key, one not ended by '=', `time`, a repeat, too many keys.
    /// `b` must be shorter than 4 GiB.
    #[inline(always)]
    fn key(&mut self, b: &[u8], from: usize) -> Option<usize> {
        let end = name_end(b, from);
        if end == from || b.get(end) != Some(&b'=') || self.count == QUICK_NAMES {
            return None;
        }
        let key = &b[from..end];
        let seen = &self.spans[..self.count];
        if key == b"time" || seen.iter().any(|&(s, e)| &b[s as usize..e as usize] == key) {
            return None;
        }
        self.spans[self.count] = (from as u32, end as u32);
        self.count += 1;
        Some(end)
    }
}

/// Reads the first line of `text` in one pass if it is of the plain kind
/// that makes up nearly all line protocol: no escapes, no blanks but single
/// spaces between the parts, string fields without quotes or newlines
/// inside, numbers without exponents, no repeated names and nothing the
/// server refuses. Returns the bytes used (with the newline), or `None`
/// when the careful reading must decide; on `Some` the parts are what the
/// careful reading gives.
fn quick_line<'a, P: Parts<'a>>(text: &'a str, parts: &mut P) -> Option<usize> {
    let b = text.as_bytes();
    let n = b.len();
    let name_end = |i: usize| name_end(b, i);
    let slice = |from: usize, to: usize| {
        if P::KEEPS {
            text.get(from..to)
        } else {
            Some("")
        }
    };

    // A '#' first makes the line a comment.
    let mut i = name_end(0);
    if i == 0 || i == n || b[0] == b'#' {
        return None;
    }
    parts.measurement(slice(0, i)?);
    // Key spans are u32s (see Keys).
    if u32::try_from(n).is_err() {
        return None;
    }
    let mut tag_keys = Keys::default();
    while b[i] == b',' {
        let key = i + 1;
        i = tag_keys.key(b, key)?;
        let value = i + 1;
        i = name_end(value);
        if i == value || i == n || !matches!(b[i], b',' | b' ') {
            return None;
        }
        parts.tag(slice(key, value - 1)?, slice(value, i)?);
    }
    if b[i] != b' ' {
        return None;
    }

    let mut field_keys = Keys::default();
    loop {
        let key = i + 1;
        i = field_keys.key(b, key)?;
        let key_text = slice(key, i)?;
        i += 1;
        let value = match *b.get(i)? {
            b'"' => {
                let from = i + 1;
                i = string_end(b, from);
                if b.get(i) != Some(&b'"') {
                    return None;
                }
                i += 1;
                QuickValue::String(slice(from, i - 1)?)
            }
            b'0'..=b'9' | b'-' => {
                let (value, end) = quick_number(b, i)?;
                let value = match value {
                    // Digits without an exponent are finite unless longer
                    // than f64::MAX's 309 digits: the careful reading
                    // decides those.
                    Number::Float if end - i > 300 => return None,
                    Number::Float => QuickValue::Float(slice(i, end)?),
                    Number::Decimal {
                        mantissa,
                        scale,
                        negative,
                    } => QuickValue::Decimal {
                        mantissa,
                        scale,
                        negative,
                    },
                    Number::Integer(v) => QuickValue::Integer(v),
                    Number::UInteger(v) => QuickValue::UInteger(v),
                };
                i = end;
                value
            }
            b't' | b'f' | b'T' | b'F' => {
                let from = i;
                while i < n && !matches!(b[i], b',' | b' ' | b'\n') {
                    i += 1;
                }
                match &b[from..i] {
                    b"t" | b"T" | b"true" | b"True" | b"TRUE" => QuickValue::Boolean(true),
                    b"f" | b"F" | b"false" | b"False" | b"FALSE" => QuickValue::Boolean(false),
                    _ => return None,
                }
            }
            _ => return None,
        };
        if !parts.field(key_text, value) {
            return None;
        }
        match b.get(i) {
            Some(b',') => continue,
            Some(b' ') => break,
            Some(b'\n') => return Some(i + 1),
            None => return Some(i),
            Some(_) => return None,
        }
    }

    // The timestamp: digits up to the newline or the end.
    i += 1;
    let negative = b.get(i) == Some(&b'-');
    let from = i + usize::from(negative);
    let (magnitude, end) = digit_run(b, from);
    i = end;
    if i == from || i - from > 19 || (i < n && b[i] != b'\n') {
        return None;
    }
    let time = if negative {
        i64::try_from(-i128::from(magnitude)).ok()?
    } else {
        i64::try_from(magnitude).ok()?
    };
    // InfluxDB keeps the two extremes of i64 as markers.
    if time == i64::MAX || time <= i64::MIN + 1 {
        return None;
    }
    parts.timestamp(time);
    Some(if i < n { i + 1 } else { i })
}

enum Number {
    /// Too many digits to be exact from them: parsed from the text.
    Float,
    Decimal {
        mantissa: u64,
        scale: u8,
        negative: bool,
    },
    Integer(i64),
    UInteger(u64),
}

/// A number of the plain kinds from `at`: `-?digits(.digits)?` as a float,
/// `-?digits` then `i`, `digits` then `u`; and where it ends.
#[inline(always)]
fn quick_number(b: &[u8], at: usize) -> Option<(Number, usize)> {
    let negative = b[at] == b'-';
    let from = at + usize::from(negative);
    let (magnitude, mut i) = digit_run(b, from);
    let digits = i - from;
    // Up to 19 digits always fit a u64; longer runs go the careful way.
    let exact = digits <= 19;
    if digits == 0 {
        return None;
    }
    let signed = |m: u64| {
        if negative {
            i64::try_from(-i128::from(m)).ok()
        } else {
            i64::try_from(m).ok()
        }
    };
    let number = match b.get(i) {
        Some(b'i') if exact => {
            i += 1;
            Number::Integer(signed(magnitude)?)
        }
        Some(b'u') if exact && !negative => {
            i += 1;
            Number::UInteger(magnitude)
        }
        Some(b'.') => {
            let (fraction, end) = digit_run(b, i + 1);
            let decimals = end - (i + 1);
            if decimals == 0 {
                return None;
            }
            i = end;
            short_float(magnitude, digits, fraction, decimals, negative)
        }
        _ => short_float(magnitude, digits, 0, 0, negative),
    };
    match b.get(i) {
        None | Some(b',' | b' ' | b'\n') => Some((number, i)),
        Some(_) => None,
    }
}

/// The digits of a float without an exponent, kept as one integer when
/// they number at most 19 (which always fits a u64): their value is
/// computed exactly later, by [`decimal`], and only if it is wanted.
fn short_float(
    whole: u64,
    digits: usize,
    fraction: u64,
    decimals: usize,
    negative: bool,
) -> Number {
    let (Some(&power), true) = (POWERS_OF_TEN.get(decimals), digits + decimals <= 19) else {
        return Number::Float;
    };
    match whole
        .checked_mul(power)
        .and_then(|w| w.checked_add(fraction))
    {
        Some(mantissa) => Number::Decimal {
            mantissa,
            scale: decimals as u8,
            negative,
        },
        None => Number::Float,
    }
}

const POWERS_OF_TEN: [u64; 20] = {
    let mut p = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// The decimal digits from `i`: their value (wrapped when more than 19)
/// and where they end. Taken eight bytes at a time, the run's length from
/// the first byte that is no digit: numbers have no length a branch could
/// predict, and timestamps and full-precision floats hold 17 to 19 digits.
#[inline(always)]
fn digit_run(b: &[u8], mut i: usize) -> (u64, usize) {
    const THREES: u64 = 0x3030_3030_3030_3030;
    let mut v: u64 = 0;
    while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let word = u64::from_le_bytes(*chunk);
        let other = not_digits(word);
        if other == 0 {
            v = v
                .wrapping_mul(100_000_000)
                .wrapping_add(eight_digits_value(word));
            i += 8;
            continue;
        }
        let k = other.trailing_zeros() as usize / 8;
        if k > 0 {
            // The k digits moved to the top, '0's below them.
            let top = (word << (8 * (8 - k))) | (THREES >> (8 * k));
            v = v
                .wrapping_mul(POWERS_OF_TEN[k])
                .wrapping_add(eight_digits_value(top));
        }
        return (v, i + k);
    }
    while i < b.len() && b[i].is_ascii_digit() {
        v = v.wrapping_mul(10).wrapping_add(u64::from(b[i] - b'0'));
        i += 1;
    }
    (v, i)
}

/// The high bit of each byte of `word` that is no ASCII digit (exact for
/// the lowest such byte: a carry only comes from a byte that is none).
fn not_digits(word: u64) -> u64 {
    let t = word ^ 0x3030_3030_3030_3030;
    (t | t.wrapping_add(0x7676_7676_7676_7676)) & 0x8080_8080_8080_8080
}

/// The value of eight ASCII digits read little-endian (the first digit in
/// the lowest byte): neighbours combine into two-digit, then four-digit,
/// then the eight-digit value, with three multiplications.
fn eight_digits_value(word: u64) -> u64 {
    let d = word - 0x3030_3030_3030_3030;
    // Byte k (even) becomes 10 * digit k + digit k + 1.
    let pairs = d.wrapping_mul(10).wrapping_add(d >> 8);
    const LOW: u64 = 0x0000_00FF_0000_00FF;
    // Pairs 0 and 2 (bytes 0 and 4) take 10^6 and 10^2, pairs 1 and 3
    // (bytes 2 and 6) 10^4 and 1; each sum lands in the upper half.
    let a = (pairs & LOW).wrapping_mul(100 + (1_000_000 << 32));
    let b = ((pairs >> 16) & LOW).wrapping_mul(1 + (10_000 << 32));
    (a.wrapping_add(b)) >> 32
}

struct LineError {
    /// Byte offset in the line.
    column: usize,
    problem: Problem,
}

#[derive(Debug)]
enum Problem {
    MissingMeasurement,
    MissingTagKey,
    MissingTagValue,
    InvalidTagFormat,
    DuplicateTags,
    MissingFields,
    MissingFieldKey,
    MissingFieldValue,
    InvalidFieldFormat,
    InvalidFieldName,
    InvalidTagName,
    FieldTypeConflict,
    UnbalancedQuotes,
    InvalidNumber,
    InvalidBoolean,
    BadTimestamp,
    TimeOutOfRange,
    CarriageReturn,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Problem::MissingMeasurement => "missing measurement",
            Problem::MissingTagKey => "missing tag key",
            Problem::MissingTagValue => "missing tag value",
            Problem::InvalidTagFormat => "invalid tag format (an unescaped '=' in a tag value)",
            Problem::DuplicateTags => "duplicate tags",
            Problem::MissingFields => "missing fields",
            Problem::MissingFieldKey => "missing field key",
            Problem::MissingFieldValue => "missing field value",
            Problem::InvalidFieldFormat => "invalid field format",
            Problem::InvalidFieldName => "invalid field name: \"time\" (InfluxDB drops it)",
            Problem::InvalidTagName => "invalid tag key: \"time\"",
            Problem::FieldTypeConflict => "field type conflict: a field appears twice with two types",
            Problem::UnbalancedQuotes => "unbalanced quotes",
            Problem::InvalidNumber => "invalid number",
            Problem::InvalidBoolean => "invalid boolean",
            Problem::BadTimestamp => "bad timestamp",
            Problem::TimeOutOfRange => "time outside range",
            Problem::CarriageReturn => {
                "a carriage return before the line's end (CRLF line endings?): InfluxDB 1.x refuses it; use \\n only"
            }
        })
    }
}

fn fail<T>(column: usize, problem: Problem) -> Result<T, LineError> {
    Err(LineError { column, problem })
}

/// Whitespace the server passes over before a line and its parts.
fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | 0)
}

fn is_numeric(b: u8) -> bool {
    b.is_ascii_digit() || b == b'.'
}

/// Where the line starting `b` ends: at the first newline that is not
/// inside a string field value (those may hold newlines). A backslash
/// takes the byte after it along.
pub(crate) fn line_end(b: &[u8]) -> usize {
    // Only quotes and backslashes keep a newline from ending the line: a
    // line without either ends at its first newline.
    let first = memchr::memchr(b'\n', b).unwrap_or(b.len());
    if memchr::memchr2(b'"', b'\\', &b[..first]).is_none() {
        return first;
    }
    let (mut quoted, mut fields) = (false, false);
    let (mut equals, mut commas) = (0usize, 0usize);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' && i + 2 < b.len() {
            i += 2;
            continue;
        }
        if c == b' ' {
            fields = true;
        }
        if fields {
            if !quoted && c == b'=' {
                equals += 1;
                i += 1;
                continue;
            } else if !quoted && c == b',' {
                commas += 1;
                i += 1;
                continue;
            } else if c == b'"' && equals > commas {
                quoted = !quoted;
                i += 1;
                continue;
            }
        }
        if c == b'\n' && !quoted {
            break;
        }
        i += 1;
    }
    i
}

/// `s` with the escapes of `escaped` removed; borrowed when it has none.
fn unescape<'a>(s: &'a str, escaped: &[u8]) -> Cow<'a, str> {
    let b = s.as_bytes();
    if !b
        .windows(2)
        .any(|w| w[0] == b'\\' && escaped.contains(&w[1]))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&n) = chars.peek() {
                if n.is_ascii() && escaped.contains(&(n as u8)) {
                    out.push(n);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// One line (or a comment, or nothing), read as influxd 1.x reads it: the
/// key (measurement and tags), the fields, the timestamp.
fn parse_line(line: &str) -> Result<Option<ParsedPoint<'_>>, LineError> {
    let b = line.as_bytes();
    let mut start = 0;
    while start < b.len() && is_blank(b[start]) {
        start += 1;
    }
    if start >= b.len() || b[start] == b'#' {
        return Ok(None);
    }
    let (key_end, tag_spans) = scan_key(b, start)?;
    let measurement_end = tag_spans.first().map_or(key_end, |t| t.0 - 1);
    let measurement = unescape(&line[start..measurement_end], b", ");
    for (n, &(key_start, eq, _)) in tag_spans.iter().enumerate() {
        let key = &b[key_start..eq];
        if tag_spans[..n].iter().any(|&(k, e, _)| &b[k..e] == key) {
            return fail(key_start, Problem::DuplicateTags);
        }
    }
    let mut tags = Vec::with_capacity(tag_spans.len());
    for (key_start, eq, value_end) in tag_spans {
        let key = unescape(&line[key_start..eq], b",= ");
        if key == "time" {
            return fail(key_start, Problem::InvalidTagName);
        }
        tags.push((key, unescape(&line[eq + 1..value_end], b",= ")));
    }
    let (fields_start, fields_end) = scan_fields(b, key_end)?;
    let mut fields = Vec::new();
    walk_fields(line, fields_start, fields_end, &mut fields)?;
    // A field twice in a line is one field: of two types, a conflict.
    for (n, (key, value)) in fields.iter().enumerate() {
        let kind = std::mem::discriminant(value);
        if fields[..n]
            .iter()
            .any(|(k, v)| k == key && std::mem::discriminant(v) != kind)
        {
            return fail(fields_start, Problem::FieldTypeConflict);
        }
    }
    let timestamp = scan_time(b, fields_end)?;
    Ok(Some(ParsedPoint {
        measurement,
        tags,
        fields,
        timestamp,
    }))
}

/// The measurement and tags from `i`: where the key ends and each tag as
/// (key start, its '=', value end).
#[allow(clippy::type_complexity)]
fn scan_key(b: &[u8], mut i: usize) -> Result<(usize, Vec<(usize, usize, usize)>), LineError> {
    if i >= b.len() || b[i] == b',' {
        return fail(i, Problem::MissingMeasurement);
    }
    // The measurement: a backslash before a byte makes it part of the name.
    loop {
        i += 1;
        if i >= b.len() {
            return fail(i, Problem::MissingFields);
        }
        if b[i - 1] == b'\\' {
            continue;
        }
        if b[i] == b',' {
            break;
        }
        if b[i] == b' ' {
            return Ok((i, Vec::new()));
        }
    }
    let mut tags = Vec::new();
    loop {
        // A tag key.
        i += 1;
        let key_start = i;
        if i >= b.len() || matches!(b[i], b' ' | b',' | b'=') {
            return fail(i, Problem::MissingTagKey);
        }
        let eq = loop {
            i += 1;
            if i >= b.len() || (matches!(b[i], b' ' | b',') && b[i - 1] != b'\\') {
                return fail(i, Problem::MissingTagValue);
            }
            if b[i] == b'=' && b[i - 1] != b'\\' {
                break i;
            }
        };
        // Its value.
        i += 1;
        if i >= b.len() || matches!(b[i], b',' | b' ') {
            return fail(i, Problem::MissingTagValue);
        }
        loop {
            i += 1;
            if i >= b.len() {
                return fail(i, Problem::MissingFields);
            }
            if b[i] == b'=' && b[i - 1] != b'\\' {
                return fail(i, Problem::InvalidTagFormat);
            }
            if b[i] == b',' && b[i - 1] != b'\\' {
                tags.push((key_start, eq, i));
                break;
            }
            if b[i] == b' ' && b[i - 1] != b'\\' {
                tags.push((key_start, eq, i));
                return Ok((i, tags));
            }
        }
    }
}

/// The fields block after the key: its start and end, checked as the
/// server checks it.
fn scan_fields(b: &[u8], from: usize) -> Result<(usize, usize), LineError> {
    let mut i = from;
    while i < b.len() && is_blank(b[i]) {
        i += 1;
    }
    let start = i;
    let (mut quoted, mut equals, mut commas) = (false, 0usize, 0usize);
    while i < b.len() {
        let c = b[i];
        if c == b'\\' {
            i += 2;
            continue;
        }
        if c == b'"' && equals > commas {
            quoted = !quoted;
            i += 1;
            continue;
        }
        if c == b'=' && !quoted {
            equals += 1;
            let before = |k: usize| i.checked_sub(k).map(|j| b[j]);
            if before(1) == Some(b' ') && before(2) != Some(b'\\') {
                return fail(i, Problem::MissingFieldKey);
            }
            if before(1) == Some(b',') && before(2) != Some(b'\\') {
                return fail(i, Problem::MissingFieldKey);
            }
            match b.get(i + 1) {
                None | Some(b',' | b' ') => return fail(i + 1, Problem::MissingFieldValue),
                Some(&n) if is_numeric(n) || matches!(n, b'-' | b'N' | b'n') => {
                    i = scan_number(b, i + 1)?;
                    continue;
                }
                Some(b'"') => {}
                Some(_) => {
                    i = scan_boolean(b, i + 1)?;
                    continue;
                }
            }
        }
        if c == b',' && !quoted {
            commas += 1;
        }
        if c == b' ' && !quoted {
            break;
        }
        i += 1;
    }
    let end = i.min(b.len());
    if quoted {
        return fail(end, Problem::UnbalancedQuotes);
    }
    if equals == 0 {
        return fail(start, Problem::MissingFields);
    }
    if commas + 1 != equals {
        return fail(start, Problem::InvalidFieldFormat);
    }
    Ok((start, end))
}

fn scan_number(b: &[u8], mut i: usize) -> Result<usize, LineError> {
    let start = i;
    let (mut is_int, mut is_unsigned) = (false, false);
    if b.get(i) == Some(&b'-') {
        i += 1;
        if i == b.len() {
            return fail(start, Problem::InvalidNumber);
        }
    }
    let (mut decimal, mut scientific) = (false, false);
    while i < b.len() {
        let c = b[i];
        if c == b',' || c == b' ' {
            break;
        }
        if c == b'i' && i > start && !(is_int || is_unsigned) {
            is_int = true;
            i += 1;
            continue;
        }
        if c == b'u' && i > start && !(is_int || is_unsigned) {
            is_unsigned = true;
            i += 1;
            continue;
        }
        if c == b'.' {
            if decimal {
                return fail(start, Problem::InvalidNumber);
            }
            decimal = true;
        }
        if i > start && matches!(c, b'e' | b'E') {
            scientific = true;
            i += 1;
            continue;
        }
        if matches!(c, b'+' | b'-') && matches!(b[i - 1], b'e' | b'E') {
            i += 1;
            continue;
        }
        if i + 2 < b.len() && matches!(c, b'N' | b'n') {
            return fail(start, Problem::InvalidNumber);
        }
        if !is_numeric(c) {
            return fail(start, Problem::InvalidNumber);
        }
        i += 1;
    }
    if (is_int || is_unsigned) && (decimal || scientific) {
        return fail(start, Problem::InvalidNumber);
    }
    let mut digits = i - start;
    if is_int || is_unsigned {
        digits -= 1;
    }
    if decimal {
        digits -= 1;
    }
    if b[start] == b'-' {
        digits -= 1;
    }
    if digits == 0 {
        return fail(start, Problem::InvalidNumber);
    }
    if (is_int || is_unsigned) && b[i - 1] != if is_int { b'i' } else { b'u' } {
        return fail(start, Problem::InvalidNumber);
    }
    Ok(i)
}

fn scan_boolean(b: &[u8], mut i: usize) -> Result<usize, LineError> {
    let start = i;
    if !matches!(b[i], b't' | b'f' | b'T' | b'F') {
        return fail(start, Problem::InvalidBoolean);
    }
    i += 1;
    while i < b.len() && b[i] != b',' && b[i] != b' ' {
        i += 1;
    }
    if i - start == 1 {
        return Ok(i);
    }
    match &b[start..i] {
        b"true" | b"True" | b"TRUE" | b"false" | b"False" | b"FALSE" => Ok(i),
        _ => fail(start, Problem::InvalidBoolean),
    }
}

/// The fields of a checked block, as the server splits them: a key up to
/// its first unescaped '=', a value up to an unescaped ',' outside quotes.
fn walk_fields<'a>(
    line: &'a str,
    start: usize,
    end: usize,
    out: &mut Vec<(Cow<'a, str>, ParsedValue<'a>)>,
) -> Result<(), LineError> {
    let b = line.as_bytes();
    let mut i = start;
    while i < end {
        let key_start = i;
        while i < end && !(b[i] == b'=' && (i == 0 || b[i - 1] != b'\\')) {
            i += 1;
        }
        let key = unescape(&line[key_start..i], b",= \"");
        if key == "time" {
            return fail(key_start, Problem::InvalidFieldName);
        }
        i += 1;
        let value_start = i;
        let mut quoted = false;
        while i < end {
            let c = b[i];
            if c == b'\\' && i + 1 < end && matches!(b[i + 1], b'"' | b'\\') {
                i += 2;
                continue;
            }
            if c == b'"' {
                quoted = !quoted;
            } else if c == b',' && !quoted {
                break;
            }
            i += 1;
        }
        let value_end = i.min(end);
        out.push((
            key,
            field_value(&line[value_start.min(value_end)..value_end], value_start)?,
        ));
        i = value_end + 1;
    }
    Ok(())
}

/// A checked field value.
fn field_value(text: &str, column: usize) -> Result<ParsedValue<'_>, LineError> {
    let invalid = |problem| LineError { column, problem };
    let b = text.as_bytes();
    Ok(match b.first() {
        Some(b'"') => {
            let inner = text
                .get(1..text.len().saturating_sub(1))
                .ok_or_else(|| invalid(Problem::UnbalancedQuotes))?;
            ParsedValue::String(unescape(inner, b"\"\\"))
        }
        Some(b't' | b'T') => ParsedValue::Boolean(true),
        Some(b'f' | b'F') => ParsedValue::Boolean(false),
        _ => {
            if let Some(int) = text.strip_suffix('i') {
                ParsedValue::Integer(int.parse().map_err(|_| invalid(Problem::InvalidNumber))?)
            } else if let Some(uint) = text.strip_suffix('u') {
                ParsedValue::UInteger(uint.parse().map_err(|_| invalid(Problem::InvalidNumber))?)
            } else {
                let v: f64 = text.parse().map_err(|_| invalid(Problem::InvalidNumber))?;
                if !v.is_finite() {
                    return Err(invalid(Problem::InvalidNumber));
                }
                ParsedValue::Float(v)
            }
        }
    })
}

/// The optional timestamp after the fields, and nothing but spaces after it.
fn scan_time(b: &[u8], from: usize) -> Result<Option<i64>, LineError> {
    let mut i = from;
    while i < b.len() && is_blank(b[i]) {
        i += 1;
    }
    let start = i;
    while i < b.len() && b[i] != b' ' {
        if i == start && b[i] == b'-' {
            i += 1;
            continue;
        }
        if !b[i].is_ascii_digit() {
            let problem = if b[i] == b'\r' {
                Problem::CarriageReturn
            } else {
                Problem::BadTimestamp
            };
            return fail(i, problem);
        }
        i += 1;
    }
    if i == start {
        return Ok(None);
    }
    let text = std::str::from_utf8(&b[start..i]).unwrap_or("");
    let t: i64 = text
        .parse()
        .or_else(|_| fail(start, Problem::BadTimestamp))?;
    // InfluxDB keeps the two extremes of i64 as markers.
    if t == i64::MAX || t <= i64::MIN + 1 {
        return fail(start, Problem::TimeOutOfRange);
    }
    while i < b.len() {
        if b[i] != b' ' {
            return fail(i, Problem::BadTimestamp);
        }
        i += 1;
    }
    Ok(Some(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<ParsedPoint<'_>, String> {
        parse_lines(line)
            .next()
            .ok_or_else(|| "no point".to_owned())?
            .map_err(|e| e.to_string())
    }

    #[test]
    fn reads_every_part_and_borrows_plain_names() -> Result<(), String> {
        let p = one(r#"m\ x\,y,t\=k=v\ 1,u=w f\"q=1.5,i=-3i,n=7u,b=T,s="a \"q\" b\\c" -5"#)?;
        assert_eq!(p.measurement(), "m x,y");
        assert_eq!(p.tags()[0].0, "t=k");
        assert_eq!(p.tags()[0].1, "v 1");
        assert!(matches!(p.tags()[1].0, Cow::Borrowed("u")));
        assert_eq!(
            p.fields()[0],
            (Cow::Borrowed("f\"q"), ParsedValue::Float(1.5))
        );
        assert_eq!(p.fields()[1].1, ParsedValue::Integer(-3));
        assert_eq!(p.fields()[2].1, ParsedValue::UInteger(7));
        assert_eq!(p.fields()[3].1, ParsedValue::Boolean(true));
        assert_eq!(p.fields()[4].1, ParsedValue::String("a \"q\" b\\c".into()));
        assert_eq!(p.timestamp(), Some(-5));
        Ok(())
    }

    fn splitmix64(x: u64) -> u64 {
        let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The careful reading of one line alone, as `parse_lines` gives it.
    fn careful(line: &str) -> Option<Result<ParsedPoint<'_>, String>> {
        let mut lines = parse_lines(line);
        lines.careful_line().map_err(|e| e.to_string()).transpose()
    }

    #[test]
    fn the_quick_reading_agrees_with_the_careful_one() {
        // Plain lines the quick reading takes, and bytes that make lines
        // it must leave alone.
        let seeds = [
            "cpu,host=host_417,region=us-west-2 usage_user=94.67028418376582,usage_system=43.53,requests=3245i,status=\"draining\" 1600000417000000000",
            "m v=1",
            "m,a=b x=-0i,y=7u,z=T,w=false,s=\"\" -5",
            "m f=1.5,g=12,h=-3.25 9223372036854775806",
            "m a=-9223372036854775808i,b=9999999999999999999u,c=00000000000000000001i -9223372036854775807",
            "m v=-0,w=0.000000000000001,x=123456789012345678901234567890 0",
            "m,a=1,b=1,c=1,d=1,e=1,f=1,g=1,h=1,i=1,j=1,k=1,l=1,m=1,n=1,o=1,p=1,q=1 v=1",
        ];
        let noise: &[&str] = &[
            " ",
            ",",
            "=",
            "\\",
            "\"",
            "\n",
            "\r",
            "\t",
            "#",
            "-",
            ".",
            "e",
            "i",
            "u",
            "t",
            "9",
            "time",
            "é",
            "\0",
            "  ",
            "99999999999999999999",
            "NaN",
        ];
        let mut seed = 0x5eed_u64;
        let mut next = |bound: usize| {
            seed = splitmix64(seed);
            (seed % bound as u64) as usize
        };
        let (mut quick, mut cases) = (0, 0);
        for case in 0..40_000 {
            let mut line = seeds[case % seeds.len()].to_owned();
            for _ in 0..next(4) {
                let at = next(line.len() + 1);
                if !line.is_char_boundary(at) {
                    continue;
                }
                match next(3) {
                    0 => line.insert_str(at, noise[next(noise.len())]),
                    1 => {
                        let end = (at + 1 + next(3)).min(line.len());
                        if line.is_char_boundary(end) {
                            line.replace_range(at..end, "");
                        }
                    }
                    _ => {
                        let head = line[..at].to_string();
                        line.insert_str(at, &head);
                    }
                }
            }
            cases += 1;
            let mut parts = ParsedPoint::default();
            let Some(used) = quick_line(&line, &mut parts) else {
                continue;
            };
            quick += 1;
            let checked = quick_line(&line, &mut Check);
            assert_eq!(checked, Some(used), "{line:?}");
            let first = line[..used].strip_suffix('\n').unwrap_or(&line[..used]);
            assert!(!first.contains('\n'), "{line:?}");
            match careful(first) {
                Some(Ok(p)) => assert_eq!(parts, p, "{line:?}"),
                other => panic!("{line:?}: quick took it, careful gave {other:?}"),
            }
        }
        // Both kinds of line were met.
        assert!(quick > cases / 10 && quick < cases, "{quick} of {cases}");
    }

    #[test]
    fn quick_numbers_are_what_parsing_the_text_gives() {
        let mut seed = 7u64;
        for case in 0..200_000u64 {
            seed = splitmix64(seed ^ case);
            let digits = 1 + (seed % 20) as usize;
            let point = (seed >> 8) as usize % (digits + 1);
            let mut text = String::new();
            if seed >> 20 & 1 == 1 {
                text.push('-');
            }
            let mut r = splitmix64(seed);
            for d in 0..digits {
                if d == point && d > 0 {
                    text.push('.');
                }
                // Runs of nines and zeros test carries and leading zeros.
                let digit = match r % 4 {
                    0 => b'9',
                    1 => b'0',
                    _ => b'0' + (r >> 2) as u8 % 10,
                };
                text.push(char::from(digit));
                r = splitmix64(r);
            }
            let Some((number, end)) = quick_number(text.as_bytes(), 0) else {
                panic!("{text}: not read");
            };
            assert_eq!(end, text.len(), "{text}");
            // Mid-line, where digits are taken eight bytes at a time.
            let padded = format!("{text},x=12345678");
            match quick_number(padded.as_bytes(), 0) {
                Some((again, end)) if end == text.len() => match (&again, &number) {
                    (Number::Decimal { .. }, Number::Decimal { .. }) => {
                        assert_eq!(value(&again), value(&number), "{padded}")
                    }
                    (Number::Float, Number::Float) => {}
                    _ => panic!("{padded}: read otherwise"),
                },
                _ => panic!("{padded}: not read to the comma"),
            }
            let want: f64 = text.parse().unwrap_or(f64::NAN);
            match number {
                Number::Decimal { .. } => {
                    assert_eq!(value(&number), Some(want.to_bits()), "{text}")
                }
                Number::Float => assert!(text.trim_start_matches('-').len() > 19, "{text}"),
                _ => panic!("{text}: not a float"),
            }
            let int = format!("{}i", text.replace('.', ""));
            match (
                quick_number(int.as_bytes(), 0),
                int.trim_end_matches('i').parse::<i64>(),
            ) {
                (Some((Number::Integer(v), _)), Ok(want)) => assert_eq!(v, want, "{int}"),
                (None, _) => {}
                (_, want) => panic!("{int}: quick read it, parsing gives {want:?}"),
            }
        }
    }

    fn value(number: &Number) -> Option<u64> {
        match *number {
            Number::Decimal {
                mantissa,
                scale,
                negative,
            } => {
                let v = decimal(mantissa, u32::from(scale))?;
                Some(if negative { -v } else { v }.to_bits())
            }
            _ => None,
        }
    }

    #[test]
    fn names_end_at_the_first_special_byte() {
        let mut seed = 3u64;
        for case in 0..100_000u64 {
            seed = splitmix64(seed ^ case);
            let len = (seed % 40) as usize;
            let mut bytes = Vec::with_capacity(len);
            let mut r = seed;
            for _ in 0..len {
                r = splitmix64(r);
                // Mostly letters, sometimes any byte at all, and the bytes
                // beside the specials that the scan tests with them.
                bytes.push(match r % 16 {
                    0 => (r >> 8) as u8,
                    1 => [b'!', b'"', b' ', b'#', 0x20, 0x21, 0x22, 0x23][(r >> 8) as usize % 8],
                    _ => b'a' + (r >> 8) as u8 % 26,
                });
            }
            let from = (seed >> 40) as usize % (len + 1);
            let want = (from..len)
                .find(|&i| SPECIAL[bytes[i] as usize])
                .unwrap_or(len);
            assert_eq!(name_end(&bytes, from), want, "{bytes:?} from {from}");
        }
    }

    #[test]
    fn errors_name_line_and_column() {
        for (text, want) in [
            ("m v=1\nm v=\n", "line 2, column 5: missing field value"),
            ("m,t v=1", "line 1, column 4: missing tag value"),
            ("m,t= v=1", "line 1, column 5: missing tag value"),
            ("m", "line 1, column 2: missing fields"),
            ("m v=1 x", "line 1, column 7: bad timestamp"),
            ("m v=1 1\r", "line 1, column 8: a carriage return"),
            ("m v=\"x", "line 1, column 7: unbalanced quotes"),
            ("m v=1.2.3", "line 1, column 5: invalid number"),
            ("m v=yes", "line 1, column 5: invalid boolean"),
            ("m time=1", "line 1, column 3: invalid field name"),
            ("m v=NaN", "line 1, column 5: invalid number"),
            (
                "m s=\"a\nb\" 1\nm v= 2",
                "line 3, column 5: missing field value",
            ),
            ("m v=1e", "line 1, column 5: invalid number"),
        ] {
            let err = parse_lines(text)
                .find_map(Result::err)
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn the_codec_cuts_where_the_server_does() -> Result<(), Error> {
        use tokio_util::codec::Decoder;
        let mut codec = LineProtocolCodec::new(64);
        let mut buf = bytes::BytesMut::new();
        let mut out = Vec::new();
        for piece in ["m s=\"a", "\nb\" 1\n\nm v=2", " 2\nm v=3"] {
            buf.extend_from_slice(piece.as_bytes());
            while let Some(line) = codec.decode(&mut buf)? {
                out.push(line);
            }
        }
        while let Some(line) = codec.decode_eof(&mut buf)? {
            out.push(line);
        }
        assert_eq!(out, ["m s=\"a\nb\" 1", "m v=2 2", "m v=3"]);
        // A line longer than what follows it leaves no newline behind.
        buf.clear();
        buf.extend_from_slice(b"m v=1 1700000000000000000\nm v=2");
        assert_eq!(
            codec.decode(&mut buf)?.as_deref(),
            Some("m v=1 1700000000000000000")
        );
        assert_eq!(&buf[..], b"m v=2");
        buf.extend_from_slice(&[b'x'; 100]);
        let e = codec.decode(&mut buf).err();
        assert!(
            e.as_ref()
                .is_some_and(|e| e.is_line_too_long() && e.is_encode() && !e.is_not_utf8()),
            "{e:?}"
        );
        // Not UTF-8: the line and its newline are consumed, the next one
        // is still there to read.
        buf.clear();
        buf.extend_from_slice(b"m s=\"\xff\" 1\nm v=1 2\n");
        let e = codec.decode(&mut buf).err();
        assert!(
            e.as_ref()
                .is_some_and(|e| e.is_not_utf8() && e.is_encode() && !e.is_line_too_long()),
            "{e:?}"
        );
        assert_eq!(codec.decode(&mut buf)?.as_deref(), Some("m v=1 2"));
        Ok(())
    }

    #[test]
    fn blank_lines_and_comments_are_not_points() {
        assert_eq!(check_lines(b"\n  \n# c\n\t# d\nm v=1\n").ok(), Some(1));
    }

    #[test]
    fn checking_names_the_line_after_quick_and_careful_lines() {
        let text = b"m v=1\n# c\nm v=1\nm\\ x v=1\n\nm v=1\nm s=\"a\nb\"\nm v=1\nm v=\n";
        let err = check_lines(text).map(|_| ()).unwrap_err().to_string();
        assert!(
            err.contains("line 10, column 5: missing field value"),
            "{err}"
        );
    }
}
