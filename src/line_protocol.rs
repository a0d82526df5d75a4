//! InfluxDB line protocol encoding: escaping and number formatting, straight
//! into a caller's reused byte buffer.
//!
//! [`ToLineProtocol`] is the trait for anything that writes itself as line
//! protocol. [`Point`](crate::Point) implements it; so do raw line-protocol
//! text (`str`, `String`, [`Bytes`](bytes::Bytes)), references, slices and
//! vectors of writable things. Your own types can implement it with
//! [`LineWriter::point`], which checks and escapes as it goes and never
//! allocates, or derive it: `#[derive(LineProtocol)]` (feature `derive`)
//! generates exactly such an impl for a struct.
//!
//! # The rules, and what is refused
//! Every name is stored by the server exactly as given, or refused here
//! before sending: the rules come from writing every string of up to three
//! characters over the characters influxd treats specially to influxd
//! 1.6.7 and reading them back (`tests/escaping.rs` repeats it in CI; the
//! README has the table).
//! - Measurements escape `,` and space; tag keys and values escape `,`, `=`
//!   and space; field keys `,`, `=`, space and `"`; string field values `"`
//!   and `\`. Other backslashes stand for themselves.
//! - Integers get an `i` suffix, unsigned integers `u` (or `i`, see
//!   [`EncodeOptions::unsigned_as_integer`]), floats are printed in their
//!   shortest form that reads back to the identical `f64`.
//! - An error, never a wrong line: an empty measurement, a point without
//!   fields, an empty tag or field key, a NaN or infinite float, a newline in a
//!   measurement, key or tag value (only string field values can carry one), a
//!   field or tag named `time` (InfluxDB would silently drop it), a tag after
//!   a field, a name ending with a backslash, a measurement starting with `#`
//!   (a comment line: dropped while the server answers 204), a measurement or
//!   field key starting with a tab or NUL (stripped), a backslash before a
//!   space, `,`, `=` or `"` in a measurement (stored under another name, or
//!   where no query finds it), and an odd run of backslashes before a space,
//!   `,` or `=` in a field key (read as an escape).
//! - A tag with an empty value is left out of the line: InfluxDB 1.x refuses
//!   `host=` ("missing tag value"), and a series without the tag is exactly
//!   what queries see for an empty value (`WHERE host = ''` matches it).

use bytes::Bytes;

use crate::error::{self, Error};
use crate::point::Precision;

/// How [`LineWriter`] turns values into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EncodeOptions {
    /// The unit timestamps are written in. Timestamps are given in
    /// nanoseconds and divided (rounding towards the past) to this unit; the
    /// same precision must go in the write request's `precision` parameter.
    /// Default: nanoseconds.
    pub precision: Precision,
    /// Write unsigned integers with the `i` suffix instead of `u`. InfluxDB
    /// 1.x before 1.8 has no unsigned type and refuses `1u`; with this set, a
    /// value above `i64::MAX` is an encoding error instead. Default: false.
    pub unsigned_as_integer: bool,
    /// The server the lines go to: each refuses, or alters without a word,
    /// different things, and the encoder refuses those before sending.
    /// Default: [`Server::InfluxDb`].
    pub server: Server,
    /// What happens to string fields. Default: [`StringFields::Keep`]
    /// ([`ClientBuilder::server`](crate::ClientBuilder::server) makes it
    /// [`StringFields::Refuse`] for VictoriaMetrics).
    pub string_fields: StringFields,
    /// Read raw line-protocol text as the server would before sending it,
    /// so a bad line is an error naming it instead of a partial write.
    /// Default: true; turn it off for text checked already.
    pub check_raw: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            precision: Precision::Nanoseconds,
            unsigned_as_integer: false,
            server: Server::InfluxDb,
            string_fields: StringFields::Keep,
            check_raw: true,
        }
    }
}

/// The kind of server points are written to; set with
/// [`ClientBuilder::server`](crate::ClientBuilder::server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Server {
    /// InfluxDB 1.x, 2.x, Cloud or 3.x: they refuse what they cannot store
    /// with an error the client reports.
    #[default]
    InfluxDb,
    /// VictoriaMetrics, which answers 204 to lines it drops or alters. The
    /// encoder refuses, before sending, what it would lose without a word:
    /// a timestamp at or before the epoch (0 means "now" to it, earlier is
    /// dropped), more than 28 tags (it keeps 30 labels, `__name__` and `db`
    /// among them), a tag value over 16 KiB (cut short), and string fields
    /// (turned into 0) unless [`StringFields::Skip`] leaves them out.
    /// Accepted but changed, as it stores every value as a float: integers
    /// beyond 2^53 are rounded, floats keep about 12 significant digits,
    /// booleans become 1 and 0, and times are cut to milliseconds.
    VictoriaMetrics,
}

/// What the encoder does with string fields; see
/// [`EncodeOptions::string_fields`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StringFields {
    /// Written as string fields (the default).
    #[default]
    Keep,
    /// Left out of the line; a point left with no field is refused.
    Skip,
    /// The point is refused with an error naming the field.
    Refuse,
}

/// VictoriaMetrics keeps 30 labels a series: `__name__`, `db`, 28 tags.
const VM_MAX_TAGS: u32 = 28;
/// VictoriaMetrics cuts label values past this many bytes.
const VM_MAX_LABEL_BYTES: usize = 16 * 1024;

/// Anything that can write itself as zero or more lines of line protocol.
///
/// Implementations append complete lines, each ending with `\n`, through a
/// [`LineWriter`]. On error, nothing of the failing point stays in the buffer.
///
/// ```
/// use influx_stream::{LineWriter, ToLineProtocol, EncodeOptions, Error};
///
/// struct Reading { room: String, celsius: f64, at_ns: i64 }
///
/// impl ToLineProtocol for Reading {
///     fn write_lines(&self, out: &mut LineWriter<'_>) -> Result<(), Error> {
///         out.point("temperature")?
///             .tag("room", &self.room)?
///             .field_f64("celsius", self.celsius)?
///             .finish(Some(self.at_ns))
///     }
/// }
///
/// let mut buf = Vec::new();
/// let r = Reading { room: "hall way".into(), celsius: 21.5, at_ns: 1 };
/// LineWriter::new(&mut buf, EncodeOptions::default()).write(&r)?;
/// assert_eq!(buf, b"temperature,room=hall\\ way celsius=21.5 1\n");
/// # Ok::<(), Error>(())
/// ```
pub trait ToLineProtocol {
    /// Appends this value's lines to `out`.
    ///
    /// # Errors
    /// When the value cannot be written as valid line protocol; the error
    /// names the measurement and the problem.
    fn write_lines(&self, out: &mut LineWriter<'_>) -> Result<(), Error>;
}

impl<T: ToLineProtocol + ?Sized> ToLineProtocol for &T {
    fn write_lines(&self, out: &mut LineWriter<'_>) -> Result<(), Error> {
        (**self).write_lines(out)
    }
}

impl<T: ToLineProtocol> ToLineProtocol for [T] {
    fn write_lines(&self, out: &mut LineWriter<'_>) -> Result<(), Error> {
        for item in self {
            item.write_lines(out)?;
        }
        Ok(())
    }
}

impl<T: ToLineProtocol, const N: usize> ToLineProtocol for [T; N] {
    fn write_lines(&self, out: &mut LineWriter<'_>) -> Result<(), Error> {
        self.as_slice().write_lines(out)
    }
}

impl<T: ToLineProtocol> ToLineProtocol for Vec<T> {
    fn write_lines(&self, out: &mut LineWriter<'_>) -> Result<(), Error> {
        self.as_slice().write_lines(out)
    }
}

/// Raw line protocol: written as given, with a final newline added if missing.
impl ToLineProtocol for str {
    fn write_lines(&self, out: &mut LineWriter<'_>) -> Result<(), Error> {
        out.raw(self.as_bytes())
    }
}

/// Raw line protocol: written as given, with a final newline added if missing.
impl ToLineProtocol for String {
    fn write_lines(&self, out: &mut LineWriter<'_>) -> Result<(), Error> {
        out.raw(self.as_bytes())
    }
}

/// Raw line protocol: written as given, with a final newline added if missing.
impl ToLineProtocol for Bytes {
    fn write_lines(&self, out: &mut LineWriter<'_>) -> Result<(), Error> {
        out.raw(self)
    }
}

// Byte classes: which bytes need an escape (or are refused) where. The
// rules come from writing every name of up to three characters over the
// characters influxd treats specially to influxd 1.6.7 and reading them
// back (tests/escaping.rs repeats that experiment; the README's table
// states the rules).
const MEAS: u8 = 1; // escaped in measurements: ',' ' '
const KEY: u8 = 2; // escaped in tag keys, tag values, field keys: ',' '=' ' '
const STR: u8 = 4; // escaped in string field values: '"' '\'
const NL: u8 = 8; // refused outside string field values
const BS: u8 = 16; // backslash: refused at the end of a name, and before some characters
const QUOTE: u8 = 32; // escaped in field keys: '"'

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    t[b',' as usize] = MEAS | KEY;
    t[b' ' as usize] = MEAS | KEY;
    t[b'=' as usize] = KEY;
    t[b'"' as usize] = STR | QUOTE;
    t[b'\\' as usize] = STR | BS;
    t[b'\n' as usize] = NL;
    t
};

#[inline(always)]
fn classes(s: &[u8]) -> u8 {
    // A branch-free OR over the bytes: the compiler unrolls it, and the
    // common case (nothing to escape) costs one table load per byte.
    let mut acc = 0u8;
    for &b in s {
        acc |= CLASS[b as usize];
    }
    acc
}

/// Where a name appears, for escaping and for error messages.
#[derive(Clone, Copy)]
enum Part {
    Measurement,
    TagKey,
    TagValue,
    FieldKey,
}

impl Part {
    /// The bytes escaped in this part.
    fn mask(self) -> u8 {
        match self {
            Part::Measurement => MEAS,
            Part::TagKey | Part::TagValue => KEY,
            Part::FieldKey => KEY | QUOTE,
        }
    }

    /// The bytes that send a name down the slow path: escaped, refused, or
    /// checked in context.
    fn attention(self) -> u8 {
        match self {
            Part::Measurement => MEAS | NL | BS,
            Part::TagKey | Part::TagValue => KEY | NL | BS,
            Part::FieldKey => KEY | QUOTE | NL | BS,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Part::Measurement => "measurement",
            Part::TagKey => "tag key",
            Part::TagValue => "tag value",
            Part::FieldKey => "field key",
        }
    }
}

/// Appends line protocol to a byte buffer; see [`ToLineProtocol`].
///
/// The buffer is the caller's and is only ever appended to, so one buffer can
/// be reused across batches without reallocating.
#[derive(Debug)]
pub struct LineWriter<'a> {
    buf: &'a mut Vec<u8>,
    options: EncodeOptions,
    lines: usize,
}

impl<'a> LineWriter<'a> {
    /// A writer appending to `buf`.
    #[inline]
    pub fn new(buf: &'a mut Vec<u8>, options: EncodeOptions) -> Self {
        LineWriter {
            buf,
            options,
            lines: 0,
        }
    }

    /// The options this writer encodes with.
    pub fn options(&self) -> EncodeOptions {
        self.options
    }

    /// How many lines (points) were appended through this writer so far.
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Appends everything `value` writes.
    ///
    /// # Errors
    /// As [`ToLineProtocol::write_lines`].
    #[inline]
    pub fn write<T: ToLineProtocol + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.write_lines(self)
    }

    /// Starts a line for a point of `measurement`. Add tags, then fields,
    /// then [`PointWriter::finish`] it; a point dropped unfinished leaves
    /// nothing behind.
    ///
    /// # Errors
    /// When the measurement is empty or cannot be represented.
    #[inline]
    pub fn point<'w>(&'w mut self, measurement: &'w str) -> Result<PointWriter<'w, 'a>, Error> {
        let start = self.buf.len();
        if measurement.is_empty() {
            return Err(error::encode("the measurement name is empty"));
        }
        if let Err(problem) = write_name(self.buf, measurement.as_bytes(), Part::Measurement) {
            self.buf.truncate(start);
            return Err(point_error(measurement, problem));
        }
        Ok(PointWriter {
            out: self,
            start,
            measurement,
            fields: 0,
            tags: 0,
            newline_in_string: false,
        })
    }

    /// Starts a line for a point of the series `key`: its measurement and
    /// tags as [`point`](Self::point) and [`PointWriter::tag`] write them.
    /// More tags may follow, then fields, then [`PointWriter::finish`].
    ///
    /// # Errors
    /// For [`Server::VictoriaMetrics`], a tag value it would cut short (in
    /// a key made for another server).
    #[inline]
    pub fn point_in<'w>(&'w mut self, key: &'w SeriesKey) -> Result<PointWriter<'w, 'a>, Error> {
        if self.options.server == Server::VictoriaMetrics {
            if let Some((tag, len)) = &key.long_value {
                return Err(point_error(&key.measurement, vm_cuts(tag, *len)));
            }
        }
        let start = self.buf.len();
        self.buf.extend_from_slice(&key.encoded);
        Ok(PointWriter {
            out: self,
            start,
            measurement: &key.measurement,
            fields: 0,
            tags: key.tags,
            newline_in_string: false,
        })
    }

    /// Appends raw line protocol as given, adding a final newline when
    /// missing. Blank lines and `#` comments are allowed (the server skips
    /// them) and are not counted as points.
    ///
    /// The text is read first as the server would read it (see
    /// [`parse_lines`](crate::parse_lines)) unless
    /// [`EncodeOptions::check_raw`] is off.
    ///
    /// # Errors
    /// A line the server would refuse, named by its line and column
    /// (nothing of the text is added); with the check off, only CRLF line
    /// endings, which InfluxDB 1.x refuses.
    pub fn raw(&mut self, text: &[u8]) -> Result<(), Error> {
        if self.options.check_raw {
            self.lines += crate::line_reader::check_lines(text)?;
        } else {
            // A lone carriage return inside a name or string is stored as
            // given; a CRLF line ending makes influxd 1.x refuse the line.
            if text.windows(2).any(|w| w == b"\r\n") {
                return Err(error::encode(
                    "raw line protocol contains CRLF line endings, which InfluxDB 1.x rejects: use \\n only",
                ));
            }
            self.lines += count_lines(text);
        }
        self.buf.extend_from_slice(text);
        if !text.is_empty() && !text.ends_with(b"\n") {
            self.buf.push(b'\n');
        }
        Ok(())
    }
}

/// Why a tag (with a value) is refused, checked in the documented order:
/// an empty key, a key named `time`, a value VictoriaMetrics would cut.
fn tag_refused(key: &str, value: &str, server: Server) -> Option<String> {
    if key.is_empty() {
        Some("a tag key is empty".to_owned())
    } else if key == "time" {
        Some("a tag is named \"time\", which InfluxDB refuses; rename it".to_owned())
    } else if server == Server::VictoriaMetrics && value.len() > VM_MAX_LABEL_BYTES {
        Some(vm_cuts(key, value.len()))
    } else {
        None
    }
}

/// The refusal of a tag value of `len` bytes VictoriaMetrics would cut.
fn vm_cuts(key: &str, len: usize) -> String {
    format!("tag {key:?} is {len} bytes long; VictoriaMetrics would cut it to {VM_MAX_LABEL_BYTES}")
}

/// A measurement and its tags, checked and escaped once, for many points
/// of one series: [`LineWriter::point_in`] starts a line with them, as
/// [`LineWriter::point`] and [`PointWriter::tag`] would have written them,
/// without checking and escaping them again.
///
/// ```
/// use influx_stream::{EncodeOptions, Error, LineWriter, SeriesKey, Server};
///
/// let mut key = SeriesKey::new("cpu", Server::InfluxDb)?;
/// key.tag("host", "a b")?.tag("region", "eu")?;
/// let mut buf = Vec::new();
/// let mut out = LineWriter::new(&mut buf, EncodeOptions::default());
/// for (t, v) in [(1, 0.5), (2, 0.75)] {
///     out.point_in(&key)?.field_f64("load", v)?.finish(Some(t))?;
/// }
/// assert_eq!(buf, b"cpu,host=a\\ b,region=eu load=0.5 1\ncpu,host=a\\ b,region=eu load=0.75 2\n");
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesKey {
    measurement: String,
    /// The measurement and `,key=value` per tag, escaped.
    encoded: Vec<u8>,
    tags: u32,
    server: Server,
    /// The first tag whose value VictoriaMetrics would cut short: its key
    /// and the value's length.
    long_value: Option<(String, usize)>,
}

impl SeriesKey {
    /// A key of `measurement` without tags, for points written to `server`
    /// (as [`EncodeOptions::server`]).
    ///
    /// # Errors
    /// As [`LineWriter::point`]: a measurement that is empty or cannot be
    /// represented.
    pub fn new(measurement: &str, server: Server) -> Result<SeriesKey, Error> {
        if measurement.is_empty() {
            return Err(error::encode("the measurement name is empty"));
        }
        let mut encoded = Vec::with_capacity(measurement.len() + 32);
        write_name(&mut encoded, measurement.as_bytes(), Part::Measurement)
            .map_err(|problem| point_error(measurement, problem))?;
        Ok(SeriesKey {
            measurement: measurement.to_owned(),
            encoded,
            tags: 0,
            server,
            long_value: None,
        })
    }

    /// Adds a tag, as [`PointWriter::tag`] would: a tag with an empty
    /// value is left out. Give the tags in key order, as for `tag`.
    ///
    /// # Errors
    /// As [`PointWriter::tag`]: an empty key, a newline, a key named
    /// `time`, a backslash that cannot be represented, or for
    /// VictoriaMetrics a value it would cut short. The key is then left as
    /// it was.
    pub fn tag(&mut self, key: &str, value: &str) -> Result<&mut Self, Error> {
        if value.is_empty() {
            return Ok(self);
        }
        if let Some(problem) = tag_refused(key, value, self.server) {
            return Err(point_error(&self.measurement, problem));
        }
        let start = self.encoded.len();
        self.encoded.push(b',');
        let written = write_name(&mut self.encoded, key.as_bytes(), Part::TagKey).and_then(|()| {
            self.encoded.push(b'=');
            write_name(&mut self.encoded, value.as_bytes(), Part::TagValue)
                .map_err(|p| format!("tag {key:?}: {p}"))
        });
        if let Err(problem) = written {
            self.encoded.truncate(start);
            return Err(point_error(&self.measurement, problem));
        }
        self.tags += 1;
        if value.len() > VM_MAX_LABEL_BYTES && self.long_value.is_none() {
            self.long_value = Some((key.to_owned(), value.len()));
        }
        Ok(self)
    }

    /// The measurement.
    pub fn measurement(&self) -> &str {
        &self.measurement
    }
}

/// Appends `,key=value` to `buf`, checked and escaped exactly as
/// [`PointWriter::tag`] writes it, for [`PointWriter::tag_encoded`]. Returns
/// false, appending nothing, when `tag` would skip the tag (an empty value)
/// or refuse it: give those to `tag`, which says why.
#[cfg_attr(not(feature = "arrow"), allow(dead_code))]
pub(crate) fn encode_tag(buf: &mut Vec<u8>, key: &str, value: &str) -> bool {
    if value.is_empty() || key.is_empty() || key == "time" {
        return false;
    }
    let start = buf.len();
    buf.push(b',');
    let ok = write_name(buf, key.as_bytes(), Part::TagKey).is_ok() && {
        buf.push(b'=');
        write_name(buf, value.as_bytes(), Part::TagValue).is_ok()
    };
    if !ok {
        buf.truncate(start);
    }
    ok
}

/// The length of the value of an [`encode_tag`]ged `,key=value`, unescaped.
#[cold]
fn encoded_value_len(encoded: &[u8]) -> usize {
    // The first '=' not escaped ends the key; an escape is a backslash
    // before ',', '=' or ' ' (other backslashes stand for themselves).
    let escaped = |i: usize| i > 0 && encoded[i - 1] == b'\\';
    let Some(eq) = (1..encoded.len()).find(|&i| encoded[i] == b'=' && !escaped(i)) else {
        return encoded.len();
    };
    let value = &encoded[eq + 1..];
    let escapes = value
        .windows(2)
        .filter(|w| w[0] == b'\\' && matches!(w[1], b',' | b'=' | b' '))
        .count();
    value.len() - escapes
}

/// Counts the lines that are points: not blank, not comments.
pub(crate) fn count_lines(text: &[u8]) -> usize {
    text.split(|&b| b == b'\n')
        .filter(|line| {
            let trimmed = line
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .map(|i| &line[i..]);
            matches!(trimmed, Some(l) if l[0] != b'#')
        })
        .count()
}

/// One line being written; made by [`LineWriter::point`].
#[derive(Debug)]
#[must_use = "a point is only written by finish()"]
pub struct PointWriter<'w, 'a> {
    out: &'w mut LineWriter<'a>,
    start: usize,
    measurement: &'w str,
    fields: u32,
    tags: u32,
    /// A string field holds a newline: the server must still find the
    /// line's end where it is (checked in `finish`).
    newline_in_string: bool,
}

/// `PointWriter::start` once the line is finished: it stays.
const DONE: usize = usize::MAX - 1;
/// `PointWriter::start` once the point failed: it was removed.
const FAILED: usize = usize::MAX;

impl PointWriter<'_, '_> {
    /// The error for any call after `finish` or after a failure: nothing
    /// more may be added to the line.
    #[cold]
    fn ended(&self) -> Error {
        let what = if self.start == FAILED {
            "point already failed"
        } else {
            "point already finished"
        };
        point_error(self.measurement, what.into())
    }

    #[cold]
    fn fail(&mut self, problem: String) -> Error {
        self.out.buf.truncate(self.start);
        // The point is abandoned: make finish/drop not touch the buffer again.
        self.start = FAILED;
        point_error(self.measurement, problem)
    }

    /// Adds a tag. A tag with an empty value is left out (see the module
    /// docs). Tags must come before fields; InfluxDB stores them sorted, and
    /// writing them in key order saves the server that work.
    ///
    /// # Errors
    /// An empty key, a tag after a field, a newline, a key named `time`, or
    /// a backslash that cannot be represented.
    #[inline(always)]
    pub fn tag(&mut self, key: &str, value: &str) -> Result<&mut Self, Error> {
        // One test for the usual case; with a constant key (a struct's
        // `ToLineProtocol` impl) the key's checks and escaping fold away.
        if self.start >= DONE
            || value.is_empty()
            || self.fields > 0
            || key.is_empty()
            || key == "time"
            || self.out.options.server != Server::InfluxDb
        {
            return self.tag_unusual(key, value);
        }
        self.tag_unchecked(key, value)
    }

    /// A tag that is skipped or refused, checked in the documented order.
    #[cold]
    #[inline(never)]
    fn tag_unusual(&mut self, key: &str, value: &str) -> Result<&mut Self, Error> {
        if self.start >= DONE {
            return Err(self.ended());
        }
        if value.is_empty() {
            return Ok(self);
        }
        if self.fields > 0 {
            return Err(self.fail(format!("tag {key:?} comes after a field; tags go first")));
        }
        if let Some(problem) = tag_refused(key, value, self.out.options.server) {
            return Err(self.fail(problem));
        }
        self.tag_unchecked(key, value)
    }

    /// Writes `,key=value`, escaped; the key and the state are checked.
    #[inline(always)]
    fn tag_unchecked(&mut self, key: &str, value: &str) -> Result<&mut Self, Error> {
        self.tags += 1;
        self.out.buf.push(b',');
        if let Err(p) = write_name(self.out.buf, key.as_bytes(), Part::TagKey) {
            return Err(self.fail(p));
        }
        self.out.buf.push(b'=');
        if let Err(p) = write_name(self.out.buf, value.as_bytes(), Part::TagValue) {
            return Err(self.fail_tag_value(key, p));
        }
        Ok(self)
    }

    /// Adds a tag that [`encode_tag`] checked and escaped before: for
    /// writers that repeat the same tags over many points.
    ///
    /// # Errors
    /// A tag after a field, or a point that already failed.
    #[inline(always)]
    #[cfg_attr(not(feature = "arrow"), allow(dead_code))]
    pub(crate) fn tag_encoded(&mut self, encoded: &[u8]) -> Result<&mut Self, Error> {
        if self.start >= DONE {
            return Err(self.ended());
        }
        if self.fields > 0 {
            return Err(self.fail("a tag comes after a field; tags go first".into()));
        }
        if self.out.options.server == Server::VictoriaMetrics
            && encoded.len() > VM_MAX_LABEL_BYTES
            && encoded_value_len(encoded) > VM_MAX_LABEL_BYTES
        {
            return Err(self.fail(format!(
                "a tag value is over {VM_MAX_LABEL_BYTES} bytes long; VictoriaMetrics would cut it short"
            )));
        }
        self.tags += 1;
        self.out.buf.extend_from_slice(encoded);
        Ok(self)
    }

    #[cold]
    fn fail_tag_value(&mut self, key: &str, problem: String) -> Error {
        self.fail(format!("tag {key:?}: {problem}"))
    }

    #[inline(always)]
    fn field_key(&mut self, key: &str) -> Result<(), Error> {
        if self.start >= DONE || key.is_empty() || key == "time" {
            return Err(self.field_key_refused(key));
        }
        self.out
            .buf
            .push(if self.fields == 0 { b' ' } else { b',' });
        self.fields += 1;
        if let Err(p) = write_name(self.out.buf, key.as_bytes(), Part::FieldKey) {
            return Err(self.fail(p));
        }
        self.out.buf.push(b'=');
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn field_key_refused(&mut self, key: &str) -> Error {
        if self.start >= DONE {
            return self.ended();
        }
        if key.is_empty() {
            return self.fail("a field key is empty".into());
        }
        self.fail("a field is named \"time\", which InfluxDB silently drops; rename it".into())
    }

    #[cold]
    fn fail_not_finite(&mut self, key: &str, value: f64) -> Error {
        self.fail(format!(
            "field {key:?} is {value}, which line protocol cannot carry"
        ))
    }

    /// Adds a float field.
    ///
    /// # Errors
    /// A NaN or infinite value, or a bad key.
    #[inline]
    pub fn field_f64(&mut self, key: &str, value: f64) -> Result<&mut Self, Error> {
        if !value.is_finite() {
            return Err(self.fail_not_finite(key, value));
        }
        self.field_key(key)?;
        write_f64(self.out.buf, value);
        Ok(self)
    }

    /// Adds a signed integer field (`i` suffix).
    ///
    /// # Errors
    /// A bad key.
    #[inline]
    pub fn field_i64(&mut self, key: &str, value: i64) -> Result<&mut Self, Error> {
        self.field_key(key)?;
        let mut b = itoa::Buffer::new();
        self.out.buf.extend_from_slice(b.format(value).as_bytes());
        self.out.buf.push(b'i');
        Ok(self)
    }

    /// Adds an unsigned integer field (`u` suffix, or `i` with
    /// [`EncodeOptions::unsigned_as_integer`]).
    ///
    /// # Errors
    /// A bad key, or a value above `i64::MAX` when unsigned values are
    /// written as integers.
    #[inline]
    pub fn field_u64(&mut self, key: &str, value: u64) -> Result<&mut Self, Error> {
        let suffix = if self.out.options.unsigned_as_integer {
            if value > i64::MAX as u64 {
                return Err(self.fail(format!(
                    "field {key:?} is {value}, above the largest integer InfluxDB 1.x stores (unsigned_as_integer is on)"
                )));
            }
            b'i'
        } else {
            b'u'
        };
        self.field_key(key)?;
        let mut b = itoa::Buffer::new();
        self.out.buf.extend_from_slice(b.format(value).as_bytes());
        self.out.buf.push(suffix);
        Ok(self)
    }

    /// Adds a boolean field.
    ///
    /// # Errors
    /// A bad key.
    #[inline]
    pub fn field_bool(&mut self, key: &str, value: bool) -> Result<&mut Self, Error> {
        self.field_key(key)?;
        self.out
            .buf
            .extend_from_slice(if value { b"true" } else { b"false" });
        Ok(self)
    }

    /// Adds a string field. Any text is allowed, newlines included.
    ///
    /// # Errors
    /// A bad key.
    #[inline]
    pub fn field_str(&mut self, key: &str, value: &str) -> Result<&mut Self, Error> {
        match self.out.options.string_fields {
            StringFields::Keep => {}
            StringFields::Skip => {
                if self.start >= DONE {
                    return Err(self.ended());
                }
                return Ok(self);
            }
            StringFields::Refuse => {
                return Err(self.fail(format!(
                    "field {key:?} is a string, which this server would not store as text (VictoriaMetrics makes it 0); leave it out or use StringFields::Skip"
                )))
            }
        }
        self.field_key(key)?;
        let bytes = value.as_bytes();
        if classes(bytes) & NL != 0 {
            self.newline_in_string = true;
        }
        let buf = &mut *self.out.buf;
        buf.push(b'"');
        if classes(bytes) & STR == 0 {
            buf.extend_from_slice(bytes);
        } else {
            for &b in bytes {
                if CLASS[b as usize] & STR != 0 {
                    buf.push(b'\\');
                }
                buf.push(b);
            }
        }
        buf.push(b'"');
        Ok(self)
    }

    /// Adds a field of any [`FieldValue`](crate::FieldValue) kind.
    ///
    /// # Errors
    /// As the typed methods.
    #[inline]
    pub fn field(
        &mut self,
        key: &str,
        value: &crate::point::FieldValue,
    ) -> Result<&mut Self, Error> {
        use crate::point::FieldValue;
        match value {
            FieldValue::Float(v) => self.field_f64(key, *v),
            FieldValue::Integer(v) => self.field_i64(key, *v),
            FieldValue::UInteger(v) => self.field_u64(key, *v),
            FieldValue::Boolean(v) => self.field_bool(key, *v),
            FieldValue::String(v) => self.field_str(key, v),
        }
    }

    /// Ends the line, with a timestamp in nanoseconds since the epoch or none
    /// (the server then uses its own clock).
    ///
    /// # Errors
    /// When the point has no fields.
    #[inline]
    pub fn finish(&mut self, timestamp_ns: Option<i64>) -> Result<(), Error> {
        if self.start >= DONE {
            return Err(self.ended());
        }
        if self.fields == 0 {
            let why = if self.out.options.string_fields == StringFields::Skip {
                "the point has no fields once its string fields are skipped; InfluxDB needs at least one"
            } else {
                "the point has no fields; InfluxDB needs at least one"
            };
            return Err(self.fail(why.into()));
        }
        if self.out.options.server == Server::VictoriaMetrics {
            self.check_for_victoria_metrics(timestamp_ns)?;
        }
        let buf = &mut *self.out.buf;
        if let Some(ts) = timestamp_ns {
            buf.push(b' ');
            let t = self.out.options.precision.from_nanos(ts);
            let mut b = itoa::Buffer::new();
            buf.extend_from_slice(b.format(t).as_bytes());
        }
        buf.push(b'\n');
        if self.newline_in_string {
            // influxd finds a line's end by tracking quotes from the first
            // space it sees; backslashes before a space in a tag can make it
            // start too early and end the line at the string's newline.
            let line = &self.out.buf[self.start..];
            if crate::line_reader::line_end(line) + 1 != line.len() {
                return Err(self.fail(
                    "a string field holds a newline that InfluxDB would read as the end of the line (because of the backslashes before a space in the measurement or a tag); drop the newline or those backslashes".into(),
                ));
            }
        }
        self.out.lines += 1;
        // Finished: the line stays.
        self.start = DONE;
        Ok(())
    }
}

impl PointWriter<'_, '_> {
    #[cold]
    fn check_for_victoria_metrics(&mut self, timestamp_ns: Option<i64>) -> Result<(), Error> {
        if self.tags > VM_MAX_TAGS {
            return Err(self.fail(format!(
                "the point has {} tags; VictoriaMetrics keeps {VM_MAX_TAGS} (30 labels with __name__ and db) and drops the rest without a word",
                self.tags
            )));
        }
        if let Some(ts) = timestamp_ns {
            if self.out.options.precision.from_nanos(ts) <= 0 {
                return Err(self.fail(format!(
                    "timestamp {ts} is at or before 1970-01-01, which VictoriaMetrics drops (0 means \"now\" to it)"
                )));
            }
        }
        Ok(())
    }
}

impl Drop for PointWriter<'_, '_> {
    #[inline]
    fn drop(&mut self) {
        // An unfinished point must not leave half a line in the buffer.
        if self.start < DONE {
            self.out.buf.truncate(self.start);
        }
    }
}

/// Appends a finite float in its shortest round-trip form, exactly as
/// `ryu` prints it (`12.0`, `0.05`, `94.67028418376582`, `1e300`).
///
/// Values with at most two decimals (whole numbers, percentages, prices,
/// most gauges) take a shortcut: when `v` is the double nearest to `n / 100`
/// for an integer `|n| < 10^15`, the shortest decimal that reads back as `v`
/// is `n / 100` itself (any two decimals of at most 15 significant digits
/// read back as different doubles), which `ryu` prints as `<n / 100>.<n %
/// 100>` with trailing zeros dropped but one digit kept. Everything else
/// goes through `ryu`.
#[inline]
fn write_f64(buf: &mut Vec<u8>, v: f64) {
    let scaled = v * 100.0;
    if scaled.abs() < 1e15 {
        // Rounds to the nearest integer when `v` has at most two decimals;
        // otherwise `n` is some nearby integer that fails the check below.
        let n = (scaled + 0.5f64.copysign(scaled)) as i64;
        // Division is correctly rounded: equality means `v` is exactly the
        // double nearest to `n / 100`.
        if n as f64 / 100.0 == v {
            let n = n.unsigned_abs();
            if v.is_sign_negative() {
                buf.push(b'-');
            }
            let mut b = itoa::Buffer::new();
            buf.extend_from_slice(b.format(n / 100).as_bytes());
            let frac = (n % 100) as u8;
            if frac % 10 == 0 {
                buf.extend_from_slice(&[b'.', b'0' + frac / 10]);
            } else {
                buf.extend_from_slice(&[b'.', b'0' + frac / 10, b'0' + frac % 10]);
            }
            return;
        }
    }
    let mut b = ryu::Buffer::new();
    buf.extend_from_slice(b.format_finite(v).as_bytes());
}

#[cold]
fn point_error(measurement: &str, problem: String) -> Error {
    let shown: String = measurement.chars().take(64).collect();
    error::encode(format!("point {shown:?}: {problem}"))
}

#[inline(always)]
fn write_name(buf: &mut Vec<u8>, s: &[u8], part: Part) -> Result<(), String> {
    let c = classes(s);
    let lead = matches!(
        (part, s.first()),
        (Part::Measurement, Some(b'#' | b'\t' | 0)) | (Part::FieldKey, Some(b'\t' | 0))
    );
    if c & part.attention() == 0 && !lead {
        buf.extend_from_slice(s);
        return Ok(());
    }
    write_name_slow(buf, s, part)
}

/// A name that needs escaping or may be refused. Each refusal is a case
/// influxd 1.6.7 answers with an error, stores under another name, or drops
/// while answering 204, whatever the escaping.
#[cold]
fn write_name_slow(buf: &mut Vec<u8>, s: &[u8], part: Part) -> Result<(), String> {
    let what = part.name();
    if s.contains(&b'\n') {
        return Err(format!(
            "the {what} contains a newline, which line protocol cannot carry there"
        ));
    }
    if s.last() == Some(&b'\\') {
        return Err(format!(
            "the {what} ends with a backslash, which InfluxDB would read as escaping the delimiter after it"
        ));
    }
    match part {
        Part::Measurement | Part::FieldKey => {
            if let Some(&c @ (b'\t' | 0)) = s.first() {
                let which = if c == 0 { "a NUL byte" } else { "a tab" };
                return Err(format!(
                    "the {what} starts with {which}, which InfluxDB strips (it would be stored as another name)"
                ));
            }
        }
        Part::TagKey | Part::TagValue => {}
    }
    match part {
        Part::Measurement => {
            if s.first() == Some(&b'#') {
                return Err(
                    "the measurement starts with '#': InfluxDB reads the line as a comment and drops the point while answering 204".into(),
                );
            }
            if let Some(w) = s
                .windows(2)
                .find(|w| w[0] == b'\\' && matches!(w[1], b' ' | b',' | b'=' | b'"'))
            {
                return Err(format!(
                    "the measurement has a backslash before {:?}, which InfluxDB stores under another name or where no query finds it",
                    w[1] as char
                ));
            }
        }
        Part::FieldKey => {
            let mut run = 0usize;
            for &b in s {
                if run % 2 == 1 && matches!(b, b' ' | b',' | b'=') {
                    return Err(format!(
                        "the field key has an odd number of backslashes before {:?}, which InfluxDB reads as an escape",
                        b as char
                    ));
                }
                run = if b == b'\\' { run + 1 } else { 0 };
            }
        }
        Part::TagKey | Part::TagValue => {}
    }
    let mask = part.mask();
    for &b in s {
        if CLASS[b as usize] & mask != 0 {
            buf.push(b'\\');
        }
        buf.push(b);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(f: impl FnOnce(&mut LineWriter<'_>) -> Result<(), Error>) -> Result<String, Error> {
        let mut buf = Vec::new();
        let mut w = LineWriter::new(&mut buf, EncodeOptions::default());
        f(&mut w)?;
        Ok(String::from_utf8(buf).unwrap_or_default())
    }

    #[test]
    fn escapes_every_part() -> Result<(), Error> {
        let s = enc(|w| {
            w.point("esc,m x=")?
                .tag("tag key,a=b", "tag val,c=d")?
                .field_str("f key,x=y", "str \"quoted\" back\\slash, comma=eq")?
                .finish(Some(1))
        })?;
        assert_eq!(
            s,
            "esc\\,m\\ x=,tag\\ key\\,a\\=b=tag\\ val\\,c\\=d f\\ key\\,x\\=y=\"str \\\"quoted\\\" back\\\\slash, comma=eq\" 1\n"
        );
        Ok(())
    }

    #[test]
    fn numbers() -> Result<(), Error> {
        let s = enc(|w| {
            w.point("m")?
                .field_f64("a", 12.0)?
                .field_f64("b", -0.0)?
                .field_f64("c", 1e300)?
                .field_f64("d", 5e-324)?
                .field_i64("e", i64::MIN)?
                .field_u64("f", u64::MAX)?
                .field_bool("g", false)?
                .finish(None)
        })?;
        assert_eq!(
            s,
            "m a=12.0,b=-0.0,c=1e300,d=5e-324,e=-9223372036854775808i,f=18446744073709551615u,g=false\n"
        );
        Ok(())
    }

    /// `write_f64` prints exactly what `ryu` prints, shortcut or not.
    #[test]
    fn floats_print_as_ryu_does() {
        fn check(v: f64) {
            if !v.is_finite() {
                return;
            }
            let mut buf = Vec::new();
            write_f64(&mut buf, v);
            let mut r = ryu::Buffer::new();
            assert_eq!(
                std::str::from_utf8(&buf).ok(),
                Some(r.format_finite(v)),
                "{v:e} ({:#x})",
                v.to_bits()
            );
        }
        // Every value with two decimals near zero, and their neighbours.
        for n in -300_000i64..=300_000 {
            let v = n as f64 / 100.0;
            check(v);
            check(f64::from_bits(v.to_bits() + 1));
            check(f64::from_bits(v.to_bits().wrapping_sub(1)));
            check(n as f64 / 10.0);
            check(n as f64 / 1000.0);
        }
        // Around the shortcut's limit and beyond, whole numbers included.
        for base in [1e12, 1e13, 1e14, 1e15, 1e16, 2f64.powi(53)] {
            for d in -300i64..=300 {
                check(base + d as f64);
                check((base + d as f64) / 100.0);
                check(-(base + d as f64) / 100.0);
            }
        }
        for v in [
            0.0,
            -0.0,
            0.005,
            0.015,
            0.125,
            1e-5,
            1e-7,
            5e-324,
            1e300,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            9_999_999_999_999.99,
            0.1 + 0.2,
            1.0 / 3.0,
        ] {
            check(v);
            check(-v);
        }
        // Pseudo-random doubles: any bit pattern, and random hundredths.
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..300_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let bits = x ^ (x >> 29);
            check(f64::from_bits(bits));
            check((bits % 2_000_000_000_000_000) as f64 / 100.0 - 1e13);
            check((bits % 100_000) as f64 / 100.0);
        }
    }

    #[test]
    fn refuses_bad_points_and_leaves_nothing() {
        type Case = Box<dyn Fn(&mut LineWriter<'_>) -> Result<(), Error>>;
        let cases: Vec<(&str, Case)> = vec![
            (
                "measurement name is empty",
                Box::new(|w| w.point("")?.field_i64("a", 1)?.finish(None)),
            ),
            (
                "no fields",
                Box::new(|w| w.point("m")?.tag("a", "b")?.finish(None)),
            ),
            (
                "NaN",
                Box::new(|w| w.point("m")?.field_f64("a", f64::NAN)?.finish(None)),
            ),
            (
                "inf",
                Box::new(|w| w.point("m")?.field_f64("a", f64::INFINITY)?.finish(None)),
            ),
            (
                "tag key is empty",
                Box::new(|w| w.point("m")?.tag("", "v")?.field_i64("a", 1)?.finish(None)),
            ),
            (
                "field key is empty",
                Box::new(|w| w.point("m")?.field_i64("", 1)?.finish(None)),
            ),
            (
                "newline",
                Box::new(|w| w.point("m\n")?.field_i64("a", 1)?.finish(None)),
            ),
            (
                "newline",
                Box::new(|w| {
                    w.point("m")?
                        .tag("k", "a\nb")?
                        .field_i64("a", 1)?
                        .finish(None)
                }),
            ),
            (
                "after a field",
                Box::new(|w| w.point("m")?.field_i64("a", 1)?.tag("k", "v")?.finish(None)),
            ),
            (
                "\"time\"",
                Box::new(|w| w.point("m")?.field_i64("time", 1)?.finish(None)),
            ),
            (
                "backslash",
                Box::new(|w| {
                    w.point("m")?
                        .tag("k", "a\\")?
                        .field_i64("a", 1)?
                        .finish(None)
                }),
            ),
            (
                "backslash",
                Box::new(|w| w.point("m\\\\")?.field_i64("a", 1)?.finish(None)),
            ),
            (
                "comment",
                Box::new(|w| w.point("#m")?.field_i64("a", 1)?.finish(None)),
            ),
            (
                "starts with a tab",
                Box::new(|w| w.point("\tm")?.field_i64("a", 1)?.finish(None)),
            ),
            (
                "starts with a NUL",
                Box::new(|w| w.point("m")?.field_i64("\0f", 1)?.finish(None)),
            ),
            (
                "backslash before '='",
                Box::new(|w| w.point("a\\=b")?.field_i64("a", 1)?.finish(None)),
            ),
            (
                "odd number of backslashes",
                Box::new(|w| w.point("m")?.field_i64("f\\,k", 1)?.finish(None)),
            ),
        ];
        for (want, f) in cases {
            let mut buf = b"keep\n".to_vec();
            let mut w = LineWriter::new(&mut buf, EncodeOptions::default());
            let err = f(&mut w).expect_err(want);
            assert!(err.is_encode());
            assert!(err.to_string().contains(want), "{want}: {err}");
            assert_eq!(buf, b"keep\n", "{want}");
        }
    }

    #[test]
    fn backslashes_that_survive() -> Result<(), Error> {
        // An even run before an escaped character, and backslashes before
        // ordinary ones, read back as written.
        let s = enc(|w| {
            w.point("m")?
                .tag("k", "a\\\\,b\\c")?
                .field_i64("a", 1)?
                .finish(None)
        })?;
        assert_eq!(s, "m,k=a\\\\\\,b\\c a=1i\n");
        // Backslashes before delimiters in tags, quotes in field keys, and
        // what influxd stores as given in measurements (tested against it
        // in tests/escaping.rs).
        let s = enc(|w| {
            w.point("a\"b\\c\0")?
                .tag("odd\\,comma", "v\\=x")?
                .field_i64("f\"k\\\\,", 1)?
                .finish(None)
        })?;
        assert_eq!(s, "a\"b\\c\0,odd\\\\,comma=v\\\\=x f\\\"k\\\\\\,=1i\n");
        Ok(())
    }

    #[test]
    fn encoded_tags_are_what_tag_writes() -> Result<(), Error> {
        let pairs = [
            ("k", "v"),
            ("tag key,a=b", "tag val,c=d"),
            ("k", "a\\\\,b\\c"),
            ("k", "unicodé ☃"),
            ("k", ""),
            ("", "v"),
            ("time", "v"),
            ("k", "a\nb"),
            ("k", "trailing\\"),
        ];
        for (key, value) in pairs {
            let direct = enc(|w| {
                w.point("m")?
                    .tag(key, value)?
                    .field_i64("f", 1)?
                    .finish(None)
            });
            let mut tag = Vec::new();
            if encode_tag(&mut tag, key, value) {
                let via = enc(|w| {
                    w.point("m")?
                        .tag_encoded(&tag)?
                        .field_i64("f", 1)?
                        .finish(None)
                })?;
                assert_eq!(direct?, via, "{key:?}={value:?}");
            } else {
                assert!(tag.is_empty());
                // Skipped (empty value) or refused: tag() says which.
                assert!(value.is_empty() || direct.is_err(), "{key:?}={value:?}");
            }
        }
        Ok(())
    }

    #[test]
    fn nothing_is_added_after_finish() -> Result<(), Error> {
        let mut buf = Vec::new();
        let mut w = LineWriter::new(&mut buf, EncodeOptions::default());
        let mut p = w.point("m")?;
        p.field_i64("a", 1)?.finish(None)?;
        assert!(p
            .tag("k", "v")
            .is_err_and(|e| e.to_string().contains("already finished")));
        assert!(p.field_i64("b", 2).is_err());
        assert!(p.finish(None).is_err());
        drop(p);
        assert_eq!(buf, b"m a=1i\n");
        Ok(())
    }

    #[test]
    fn empty_tag_value_is_left_out() -> Result<(), Error> {
        let s = enc(|w| {
            w.point("m")?
                .tag("a", "")?
                .tag("b", "x")?
                .field_i64("f", 1)?
                .finish(None)
        })?;
        assert_eq!(s, "m,b=x f=1i\n");
        Ok(())
    }

    #[test]
    fn precision_divides_towards_the_past() -> Result<(), Error> {
        let mut buf = Vec::new();
        let opts = EncodeOptions {
            precision: Precision::Seconds,
            ..EncodeOptions::default()
        };
        let mut w = LineWriter::new(&mut buf, opts);
        w.point("m")?
            .field_i64("a", 1)?
            .finish(Some(1_999_999_999))?;
        w.point("m")?.field_i64("a", 1)?.finish(Some(-1))?;
        assert_eq!(buf, b"m a=1i 1\nm a=1i -1\n");
        Ok(())
    }

    #[test]
    fn unsigned_as_integer() {
        let mut buf = Vec::new();
        let opts = EncodeOptions {
            unsigned_as_integer: true,
            ..EncodeOptions::default()
        };
        let mut w = LineWriter::new(&mut buf, opts);
        assert!(w
            .point("m")
            .and_then(|mut p| p.field_u64("a", 7)?.finish(None))
            .is_ok());
        assert!(w
            .point("m")
            .and_then(|mut p| p.field_u64("a", u64::MAX)?.finish(None))
            .is_err());
        assert_eq!(buf, b"m a=7i\n");
    }

    #[test]
    fn raw_text_counts_points() -> Result<(), Error> {
        let mut buf = Vec::new();
        let mut w = LineWriter::new(&mut buf, EncodeOptions::default());
        w.write("# comment\n\ncpu a=1\ncpu a=2")?;
        assert_eq!(w.lines(), 2);
        assert_eq!(buf, b"# comment\n\ncpu a=1\ncpu a=2\n");
        let mut w = LineWriter::new(&mut buf, EncodeOptions::default());
        assert!(w.write("cpu a=1\r\n").is_err());
        Ok(())
    }

    /// A [`SeriesKey`] writes what `point` and `tag` write, and refuses
    /// what they refuse, with the same error.
    #[test]
    fn series_keys_write_as_point_and_tag_do() {
        let names = [
            "", "cpu", "a b", "a,b", "a=b", "a\"b", "a\\b", "a\\ b", "a\\", "#m", "\tm", "a\nb",
            "time", "x\\,y", "\\",
        ];
        let servers = [Server::InfluxDb, Server::VictoriaMetrics];
        let long = "v".repeat(VM_MAX_LABEL_BYTES + 1);
        let mut cases: Vec<(&str, Vec<(&str, &str)>)> = Vec::new();
        for m in names {
            cases.push((m, vec![]));
            for k in names {
                for v in names {
                    cases.push(("m", vec![(k, v), ("z", "1")]));
                }
            }
            cases.push(("m", vec![("a", m), ("b", long.as_str())]));
            cases.push(("m", vec![("b", long.as_str()), ("a", m)]));
        }
        for server in servers {
            let options = EncodeOptions {
                server,
                ..EncodeOptions::default()
            };
            for (m, tags) in &cases {
                let mut by_point = Vec::new();
                let expected = LineWriter::new(&mut by_point, options)
                    .point(m)
                    .and_then(|mut p| {
                        for (k, v) in tags {
                            p.tag(k, v)?;
                        }
                        p.field_i64("f", 1)?.finish(Some(5))
                    })
                    .map_err(|e| e.to_string());
                let mut by_key = Vec::new();
                let got = SeriesKey::new(m, server)
                    .and_then(|mut key| {
                        for (k, v) in tags {
                            key.tag(k, v)?;
                        }
                        Ok(key)
                    })
                    .and_then(|key| {
                        LineWriter::new(&mut by_key, options)
                            .point_in(&key)?
                            .field_i64("f", 1)?
                            .finish(Some(5))
                    })
                    .map_err(|e| e.to_string());
                assert_eq!(got, expected, "{server:?} {m:?} {tags:?}");
                assert_eq!(by_key, by_point, "{server:?} {m:?} {tags:?}");
            }
        }
    }
}
