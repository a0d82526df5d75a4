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

use crate::error::{self, Error};
use crate::point::{FieldValue, Point};

/// One point read from line protocol; names borrow from the text unless
/// they held escapes.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedPoint<'a> {
    measurement: Cow<'a, str>,
    tags: Vec<(Cow<'a, str>, Cow<'a, str>)>,
    fields: Vec<(Cow<'a, str>, FieldValue)>,
    timestamp: Option<i64>,
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
    pub fn fields(&self) -> &[(Cow<'a, str>, FieldValue)] {
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
            p = p.field(&**k, v.clone());
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
        while !self.rest.is_empty() {
            let end = line_end(self.rest.as_bytes());
            // A quote the key made look open runs the line to the end of
            // the text; its final newline is not part of it, as for influxd.
            let line = self.rest[..end]
                .strip_suffix('\n')
                .unwrap_or(&self.rest[..end]);
            self.rest = self.rest.get(end + 1..).unwrap_or("");
            self.line += 1 + line.matches('\n').count();
            let first_line = self.line - line.matches('\n').count();
            match parse_line(line) {
                Ok(Some(p)) => return Some(Ok(p)),
                Ok(None) => continue,
                Err(LineError { column, problem }) => {
                    // A string field may hold newlines: name the line the
                    // column is on.
                    let before = &line.as_bytes()[..column.min(line.len())];
                    let lines_before = before.iter().filter(|&&b| b == b'\n').count();
                    let line_start = before
                        .iter()
                        .rposition(|&b| b == b'\n')
                        .map_or(0, |p| p + 1);
                    return Some(Err(error::encode(format!(
                        "line {}, column {}: {problem}",
                        first_line + lines_before,
                        column - line_start + 1
                    ))));
                }
            }
        }
        None
    }
}

/// A [`tokio_util::codec::Decoder`] that cuts line protocol read from a
/// file, a socket or standard input into lines where the server would: a
/// newline inside a string field does not end a line. Each line comes out
/// as read (give it to a [`Writer`](crate::Writer), which checks it, or to
/// [`parse_lines`]); blank lines are passed over. A line longer than the
/// limit is an error, not a growing buffer.
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
                    return Err(error::encode(format!(
                        "a line of line protocol is longer than {} bytes",
                        self.max_line
                    )));
                }
                return Ok(None);
            }
            let line = buf.split_to(end);
            if end < buf.len() {
                // The newline itself.
                let _ = buf.split_to(1);
            }
            if line.len() > self.max_line {
                return Err(error::encode(format!(
                    "a line of line protocol is longer than {} bytes",
                    self.max_line
                )));
            }
            let text = String::from_utf8(line.to_vec())
                .map_err(|_| error::encode("a line of line protocol is not UTF-8"))?;
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
    for item in parse_lines(text) {
        item?;
        points += 1;
    }
    Ok(points)
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
    out: &mut Vec<(Cow<'a, str>, FieldValue)>,
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
fn field_value(text: &str, column: usize) -> Result<FieldValue, LineError> {
    let invalid = |problem| LineError { column, problem };
    let b = text.as_bytes();
    Ok(match b.first() {
        Some(b'"') => {
            let inner = text
                .get(1..text.len().saturating_sub(1))
                .ok_or_else(|| invalid(Problem::UnbalancedQuotes))?;
            FieldValue::String(unescape(inner, b"\"\\").into_owned())
        }
        Some(b't' | b'T') => FieldValue::Boolean(true),
        Some(b'f' | b'F') => FieldValue::Boolean(false),
        _ => {
            if let Some(int) = text.strip_suffix('i') {
                FieldValue::Integer(int.parse().map_err(|_| invalid(Problem::InvalidNumber))?)
            } else if let Some(uint) = text.strip_suffix('u') {
                FieldValue::UInteger(uint.parse().map_err(|_| invalid(Problem::InvalidNumber))?)
            } else {
                let v: f64 = text.parse().map_err(|_| invalid(Problem::InvalidNumber))?;
                if !v.is_finite() {
                    return Err(invalid(Problem::InvalidNumber));
                }
                FieldValue::Float(v)
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
            (Cow::Borrowed("f\"q"), FieldValue::Float(1.5))
        );
        assert_eq!(p.fields()[1].1, FieldValue::Integer(-3));
        assert_eq!(p.fields()[2].1, FieldValue::UInteger(7));
        assert_eq!(p.fields()[3].1, FieldValue::Boolean(true));
        assert_eq!(p.fields()[4].1, FieldValue::String("a \"q\" b\\c".into()));
        assert_eq!(p.timestamp(), Some(-5));
        Ok(())
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
        buf.extend_from_slice(&[b'x'; 100]);
        assert!(codec.decode(&mut buf).is_err());
        Ok(())
    }

    #[test]
    fn blank_lines_and_comments_are_not_points() {
        assert_eq!(check_lines(b"\n  \n# c\n\t# d\nm v=1\n").ok(), Some(1));
    }
}
