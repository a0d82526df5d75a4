//! The point model: a measurement, tags, typed fields and a timestamp.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;
use crate::line_protocol::{LineWriter, ToLineProtocol};

/// The unit of timestamps in a write request (`precision`) or a query
/// response (`epoch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Precision {
    /// Nanoseconds (`n`), InfluxDB's native unit. The default.
    #[default]
    Nanoseconds,
    /// Microseconds (`u`).
    Microseconds,
    /// Milliseconds (`ms`).
    Milliseconds,
    /// Seconds (`s`).
    Seconds,
    /// Minutes (`m`).
    Minutes,
    /// Hours (`h`).
    Hours,
}

impl Precision {
    /// The parameter value InfluxDB 1.x understands. Note that 1.x silently
    /// reads anything else (even `us`) as nanoseconds.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Nanoseconds => "n",
            Precision::Microseconds => "u",
            Precision::Milliseconds => "ms",
            Precision::Seconds => "s",
            Precision::Minutes => "m",
            Precision::Hours => "h",
        }
    }

    /// Nanoseconds in one unit.
    pub fn nanos_per_unit(self) -> i64 {
        match self {
            Precision::Nanoseconds => 1,
            Precision::Microseconds => 1_000,
            Precision::Milliseconds => 1_000_000,
            Precision::Seconds => 1_000_000_000,
            Precision::Minutes => 60_000_000_000,
            Precision::Hours => 3_600_000_000_000,
        }
    }

    /// Converts nanoseconds to this unit, rounding towards the past.
    #[inline]
    pub fn from_nanos(self, ns: i64) -> i64 {
        match self {
            Precision::Nanoseconds => ns,
            p => ns.div_euclid(p.nanos_per_unit()),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field's value. InfluxDB 1.x stores floats, integers, strings and
/// booleans; unsigned integers exist from 1.8 on (see
/// [`EncodeOptions::unsigned_as_integer`](crate::EncodeOptions::unsigned_as_integer)).
///
/// From Rust values: `u8`, `u16` and `u32` become [`FieldValue::Integer`]
/// (as the derive and Arrow write them), only `u64` [`FieldValue::UInteger`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FieldValue {
    /// A 64-bit float (`1.5`). NaN and infinities cannot be written.
    Float(f64),
    /// A signed integer (`1i`).
    Integer(i64),
    /// An unsigned integer (`1u`).
    UInteger(u64),
    /// A boolean.
    Boolean(bool),
    /// A string.
    String(String),
}

macro_rules! field_from {
    ($($t:ty => $variant:ident as $as:ty),* $(,)?) => {$(
        impl From<$t> for FieldValue {
            fn from(v: $t) -> Self {
                FieldValue::$variant(<$as>::from(v))
            }
        }
    )*};
}

field_from!(
    f64 => Float as f64, f32 => Float as f64,
    i64 => Integer as i64, i32 => Integer as i64, i16 => Integer as i64, i8 => Integer as i64,
    // Unsigned types that fit an i64 are integers, as the derive and Arrow
    // write them: one Rust type, one InfluxDB type, whichever way it goes in.
    u64 => UInteger as u64, u32 => Integer as i64, u16 => Integer as i64, u8 => Integer as i64,
    bool => Boolean as bool, String => String as String, &str => String as String,
);

/// Nanoseconds since the Unix epoch: what [`Point::timestamp`] takes.
///
/// Converts from `i64` (nanoseconds), [`SystemTime`], and RFC 3339 text
/// through [`Timestamp::parse_rfc3339`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        Timestamp::from(SystemTime::now())
    }

    /// Nanoseconds since the epoch.
    pub fn as_nanos(self) -> i64 {
        self.0
    }

    /// Parses an RFC 3339 time such as `2009-11-10T23:00:00Z` or
    /// `2024-01-01T00:00:00.123456789+02:00`, exactly (every sub-second digit
    /// up to nanoseconds is kept).
    ///
    /// # Errors
    /// When the text is not RFC 3339, has more than nine fractional digits,
    /// or lies outside what `i64` nanoseconds hold (years 1677 to 2262).
    pub fn parse_rfc3339(text: &str) -> Result<Self, Error> {
        parse_rfc3339(text)
            .map(Timestamp)
            .ok_or_else(|| crate::error::encode(format!("{text:?} is not an RFC 3339 time within years 1677..2262 (e.g. 2009-11-10T23:00:00Z)")))
    }
}

impl From<i64> for Timestamp {
    fn from(ns: i64) -> Self {
        Timestamp(ns)
    }
}

impl From<SystemTime> for Timestamp {
    /// Saturates at the ends of the `i64` nanosecond range (years 1677 and 2262).
    fn from(t: SystemTime) -> Self {
        let ns = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
            Err(e) => i64::try_from(e.duration().as_nanos())
                .map(|n| -n)
                .unwrap_or(i64::MIN),
        };
        Timestamp(ns)
    }
}

#[cfg(feature = "chrono")]
impl<Tz: chrono::TimeZone> From<chrono::DateTime<Tz>> for Timestamp {
    /// Saturates at the ends of the `i64` nanosecond range (years 1677 and 2262).
    fn from(t: chrono::DateTime<Tz>) -> Self {
        let secs = i128::from(t.timestamp());
        let ns = secs * 1_000_000_000 + i128::from(t.timestamp_subsec_nanos());
        Timestamp(saturate(ns))
    }
}

#[cfg(feature = "chrono")]
impl From<chrono::NaiveDateTime> for Timestamp {
    /// A naive time is taken as UTC. Saturates as the other conversions.
    fn from(t: chrono::NaiveDateTime) -> Self {
        Timestamp::from(t.and_utc())
    }
}

#[cfg(feature = "time")]
impl From<time::OffsetDateTime> for Timestamp {
    /// Saturates at the ends of the `i64` nanosecond range (years 1677 and 2262).
    fn from(t: time::OffsetDateTime) -> Self {
        Timestamp(saturate(t.unix_timestamp_nanos()))
    }
}

#[cfg(any(feature = "chrono", feature = "time"))]
fn saturate(ns: i128) -> i64 {
    i64::try_from(ns).unwrap_or(if ns < 0 { i64::MIN } else { i64::MAX })
}

impl From<Timestamp> for SystemTime {
    fn from(t: Timestamp) -> Self {
        if t.0 >= 0 {
            UNIX_EPOCH + Duration::from_nanos(t.0 as u64)
        } else {
            UNIX_EPOCH - Duration::from_nanos(t.0.unsigned_abs())
        }
    }
}

/// A point: one line of line protocol.
///
/// ```
/// use influx_stream::Point;
///
/// let p = Point::new("cpu")
///     .tag("host", "server01")
///     .field("value", 0.64)
///     .field("cores", 8i64)
///     .timestamp(1_434_055_562_000_000_000);
/// assert_eq!(p.to_string(), "cpu,host=server01 value=0.64,cores=8i 1434055562000000000");
/// ```
///
/// It also (de)serializes as the dictionary aioinflux users write:
/// `{"measurement": "cpu", "tags": {"host": "a"}, "fields": {"value": 0.64},
/// "time": "2009-11-10T23:00:00Z"}`, where `time` is integer nanoseconds or
/// RFC 3339 text and may be absent. JSON numbers with a decimal point or
/// exponent are floats, other numbers integers (unsigned above `i64::MAX`).
#[derive(Clone, PartialEq)]
pub struct Point {
    /// The measurement, then every tag key, tag value and field key, back
    /// to back: one allocation for all of a point's names, however many
    /// tags and fields it has. Spans below index into it.
    text: String,
    measurement_len: usize,
    tags: Vec<(Span, Span)>,
    fields: Vec<(Span, FieldValue)>,
    timestamp: Option<i64>,
}

/// A range of `Point::text`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Span(usize, usize);

impl Point {
    /// A point of `measurement`, without tags, fields or timestamp yet.
    pub fn new(measurement: impl AsRef<str>) -> Self {
        let m = measurement.as_ref();
        let mut text = String::with_capacity(m.len() + 96);
        text.push_str(m);
        Point {
            measurement_len: m.len(),
            text,
            tags: Vec::new(),
            fields: Vec::new(),
            timestamp: None,
        }
    }

    fn push_text(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        Span(start, self.text.len())
    }

    fn span(&self, span: Span) -> &str {
        self.text.get(span.0..span.1).unwrap_or("")
    }

    /// Adds a tag, or sets the value of the tag of that key (InfluxDB
    /// refuses a line with a tag key twice). Tags are written in the order
    /// added; InfluxDB stores them sorted by key, so adding them sorted
    /// saves the server work.
    pub fn tag(mut self, key: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        let key = key.as_ref();
        let v = self.push_text(value.as_ref());
        match self.tags.iter().position(|&(k, _)| self.span(k) == key) {
            Some(i) => self.tags[i].1 = v,
            None => {
                let k = self.push_text(key);
                self.tags.push((k, v));
            }
        }
        self
    }

    /// Adds a field, or sets the value of the field of that key (a line
    /// with a field twice is refused by InfluxDB when the types differ):
    /// any of `f64`, `f32`, `i64` (and smaller), `u64` (and smaller),
    /// `bool`, `String`, `&str`, or a [`FieldValue`].
    pub fn field(mut self, key: impl AsRef<str>, value: impl Into<FieldValue>) -> Self {
        let key = key.as_ref();
        let value = value.into();
        match self.fields.iter().position(|(k, _)| self.span(*k) == key) {
            Some(i) => self.fields[i].1 = value,
            None => {
                let k = self.push_text(key);
                self.fields.push((k, value));
            }
        }
        self
    }

    /// Sets the timestamp: nanoseconds since the epoch (`i64`), a
    /// [`SystemTime`] or a [`Timestamp`]. Without one the server stamps the
    /// point when it arrives.
    pub fn timestamp(mut self, t: impl Into<Timestamp>) -> Self {
        self.timestamp = Some(t.into().0);
        self
    }

    /// The measurement.
    pub fn measurement(&self) -> &str {
        self.text.get(..self.measurement_len).unwrap_or("")
    }

    /// The tags `(key, value)`, in the order added.
    pub fn tags(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.tags
            .iter()
            .map(|(k, v)| (self.span(*k), self.span(*v)))
    }

    /// The fields `(key, value)`, in the order added.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = (&str, &FieldValue)> + '_ {
        self.fields.iter().map(|(k, v)| (self.span(*k), v))
    }

    /// The value of field `key`, if present.
    pub fn field_value(&self, key: &str) -> Option<&FieldValue> {
        self.fields().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The value of tag `key`, if present.
    pub fn tag_value(&self, key: &str) -> Option<&str> {
        self.tags().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The timestamp in nanoseconds, if set.
    pub fn time(&self) -> Option<i64> {
        self.timestamp
    }
}

impl fmt::Debug for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Point")
            .field("measurement", &self.measurement())
            .field("tags", &self.tags().collect::<Vec<_>>())
            .field("fields", &self.fields().collect::<Vec<_>>())
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

impl ToLineProtocol for Point {
    fn write_lines(&self, out: &mut LineWriter<'_>) -> Result<(), Error> {
        let mut p = out.point(self.measurement())?;
        for &(k, v) in &self.tags {
            p.tag(self.span(k), self.span(v))?;
        }
        for (k, v) in &self.fields {
            p.field(self.span(*k), v)?;
        }
        p.finish(self.timestamp)
    }
}

/// Line protocol with nanosecond timestamps; invalid points show the error.
impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = Vec::with_capacity(64);
        let mut w = LineWriter::new(&mut buf, crate::EncodeOptions::default());
        match w.write(self) {
            Ok(()) => {
                if buf.last() == Some(&b'\n') {
                    buf.pop();
                }
                f.write_str(&String::from_utf8_lossy(&buf))
            }
            Err(e) => write!(f, "<invalid point: {e}>"),
        }
    }
}

// ---- serde: the aioinflux dictionary format ----

impl Serialize for FieldValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldValue::Float(v) => s.serialize_f64(*v),
            FieldValue::Integer(v) => s.serialize_i64(*v),
            FieldValue::UInteger(v) => s.serialize_u64(*v),
            FieldValue::Boolean(v) => s.serialize_bool(*v),
            FieldValue::String(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for FieldValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FieldValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, boolean or string field value")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<FieldValue, E> {
                Ok(FieldValue::Float(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FieldValue, E> {
                Ok(FieldValue::Integer(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FieldValue, E> {
                Ok(i64::try_from(v)
                    .map(FieldValue::Integer)
                    .unwrap_or(FieldValue::UInteger(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<FieldValue, E> {
                Ok(FieldValue::Boolean(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FieldValue, E> {
                Ok(FieldValue::String(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<FieldValue, E> {
                Ok(FieldValue::String(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// Serializes `(key, value)` pairs as a map.
struct Pairs<I>(std::cell::Cell<Option<I>>);

impl<'a, V: Serialize + 'a, I: ExactSizeIterator<Item = (&'a str, V)>> Serialize for Pairs<I> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let items = self.0.take();
        let mut m = s.serialize_map(items.as_ref().map(ExactSizeIterator::len))?;
        for (k, v) in items.into_iter().flatten() {
            m.serialize_entry(k, &v)?;
        }
        m.end()
    }
}

impl Serialize for Point {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let len = 3 + usize::from(self.timestamp.is_some());
        let mut m = s.serialize_map(Some(len))?;
        m.serialize_entry("measurement", self.measurement())?;
        m.serialize_entry("tags", &Pairs(std::cell::Cell::new(Some(self.tags()))))?;
        m.serialize_entry("fields", &Pairs(std::cell::Cell::new(Some(self.fields()))))?;
        if let Some(t) = self.timestamp {
            m.serialize_entry("time", &t)?;
        }
        m.end()
    }
}

struct PairsSeed<V>(std::marker::PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for PairsSeed<V> {
    type Value = Vec<(String, V)>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(4));
        while let Some((k, v)) = map.next_entry::<String, V>()? {
            out.push((k, v));
        }
        Ok(out)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
}

struct Tags(Vec<(String, String)>);
impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PairsSeed(std::marker::PhantomData))
            .map(Tags)
    }
}

struct Fields(Vec<(String, FieldValue)>);
impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PairsSeed(std::marker::PhantomData))
            .map(Fields)
    }
}

struct Time(Option<i64>);
impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Option<i64>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("integer nanoseconds or an RFC 3339 time")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Some(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                i64::try_from(v)
                    .map(Some)
                    .map_err(|_| E::custom("time is beyond year 2262 in nanoseconds"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                parse_rfc3339(v)
                    .map(Some)
                    .ok_or_else(|| E::custom(format!("time {v:?} is not RFC 3339")))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(None)
            }
        }
        d.deserialize_any(V).map(Time)
    }
}

impl<'de> Deserialize<'de> for Point {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Point;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a point {\"measurement\", \"tags\", \"fields\", \"time\"}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Point, A::Error> {
                let mut measurement = None;
                let mut tags = Vec::new();
                let mut fields = None;
                let mut timestamp = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "measurement" => measurement = Some(map.next_value::<String>()?),
                        "tags" => tags = map.next_value::<Tags>()?.0,
                        "fields" => fields = Some(map.next_value::<Fields>()?.0),
                        "time" => timestamp = map.next_value::<Time>()?.0,
                        other => {
                            return Err(de::Error::unknown_field(
                                other,
                                &["measurement", "tags", "fields", "time"],
                            ))
                        }
                    }
                }
                let measurement =
                    measurement.ok_or_else(|| de::Error::missing_field("measurement"))?;
                let fields = fields.ok_or_else(|| de::Error::missing_field("fields"))?;
                let mut p = Point::new(measurement);
                for (k, v) in tags {
                    p = p.tag(k, v);
                }
                for (k, v) in fields {
                    p = p.field(k, v);
                }
                p.timestamp = timestamp;
                Ok(p)
            }
        }
        d.deserialize_map(V)
    }
}

// ---- RFC 3339 ----

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Exact RFC 3339 to nanoseconds; `None` if malformed or out of range.
pub(crate) fn parse_rfc3339(s: &str) -> Option<i64> {
    parse_date_time(s, true)
}

/// As [`parse_rfc3339`], and a time without a zone is UTC (InfluxDB 3.x
/// writes its times so).
pub(crate) fn parse_rfc3339_utc_default(s: &str) -> Option<i64> {
    parse_date_time(s, false)
}

fn parse_date_time(s: &str, zone_required: bool) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        let mut v = 0i64;
        for &c in part {
            if !c.is_ascii_digit() {
                return None;
            }
            v = v * 10 + i64::from(c - b'0');
        }
        Some(v)
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60
    {
        return None;
    }
    let mut i = 19;
    let mut frac = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || digits > 9 {
            return None;
        }
        frac = num(start..i)? * 10i64.pow((9 - digits) as u32);
    }
    let offset_min = match b.get(i) {
        None if !zone_required => 0,
        None => return None,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if *sign == b'-' {
                -m
            } else {
                m
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_min * 60;
    // In i128: the seconds of InfluxDB's minimum time overflow i64 as
    // nanoseconds before the fraction brings them back in range.
    i64::try_from(i128::from(secs) * 1_000_000_000 + i128::from(frac)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_key_set_twice_keeps_the_last_value() {
        let p = Point::new("m").tag("a", "1").tag("b", "2").tag("a", "3");
        assert_eq!(p.tags().collect::<Vec<_>>(), [("a", "3"), ("b", "2")]);
        let p = Point::new("m")
            .field("v", 1.5)
            .field("w", 1)
            .field("v", "x");
        let fields: Vec<_> = p.fields().map(|(k, v)| (k, v.clone())).collect();
        assert_eq!(
            fields,
            [
                ("v", FieldValue::String("x".into())),
                ("w", FieldValue::Integer(1))
            ]
        );
    }

    #[test]
    fn unsigned_types_that_fit_are_integers_as_in_the_derive() {
        assert_eq!(FieldValue::from(5u32), FieldValue::Integer(5));
        assert_eq!(
            FieldValue::from(u32::MAX),
            FieldValue::Integer(i64::from(u32::MAX))
        );
        assert_eq!(FieldValue::from(7u16), FieldValue::Integer(7));
        assert_eq!(FieldValue::from(9u8), FieldValue::Integer(9));
        assert_eq!(FieldValue::from(5u64), FieldValue::UInteger(5));
    }

    #[test]
    fn rfc3339_exact() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2009-11-10T23:00:00Z"),
            Some(1_257_894_000_000_000_000)
        );
        assert_eq!(
            parse_rfc3339("2024-01-01T00:00:00.000000123Z"),
            Some(1_704_067_200_000_000_123)
        );
        assert_eq!(
            parse_rfc3339("2024-01-01T02:00:00.5+02:00"),
            Some(1_704_067_200_500_000_000)
        );
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59.999999999Z"), Some(-1));
        assert_eq!(parse_rfc3339("2024-02-30T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("2024-01-01T00:00:00.1234567891Z"), None);
        assert_eq!(parse_rfc3339("2024-01-01"), None);
        assert_eq!(parse_rfc3339("2300-01-01T00:00:00Z"), None);
    }

    #[test]
    fn point_json_round_trip() -> Result<(), Box<dyn std::error::Error>> {
        let p: Point = serde_json::from_str(
            r#"{"measurement":"cpu","tags":{"host":"a"},"fields":{"f":1.0,"i":2,"u":18446744073709551615,"s":"x","b":true},"time":"2009-11-10T23:00:00.000000001Z"}"#,
        )?;
        assert_eq!(
            p,
            Point::new("cpu")
                .tag("host", "a")
                .field("f", 1.0)
                .field("i", 2i64)
                .field("u", u64::MAX)
                .field("s", "x")
                .field("b", true)
                .timestamp(1_257_894_000_000_000_001)
        );
        let back: Point = serde_json::from_str(&serde_json::to_string(&p)?)?;
        assert_eq!(back, p);
        let no_time: Point = serde_json::from_str(r#"{"measurement":"m","fields":{"v":1}}"#)?;
        assert_eq!(no_time.time(), None);
        Ok(())
    }

    #[cfg(feature = "chrono")]
    #[test]
    fn chrono_conversions() {
        use chrono::{TimeZone, Utc};
        let t = Utc.timestamp_opt(1_257_894_000, 123_456_789).single();
        assert_eq!(
            t.map(|t| Timestamp::from(t).0),
            Some(1_257_894_000_123_456_789)
        );
        let before = Utc.timestamp_opt(-1, 999_999_999).single();
        assert_eq!(before.map(|t| Timestamp::from(t).0), Some(-1));
        let far = Utc.with_ymd_and_hms(3000, 1, 1, 0, 0, 0).single();
        assert_eq!(far.map(|t| Timestamp::from(t).0), Some(i64::MAX));
        let naive = t.map(|t| t.naive_utc());
        assert_eq!(
            naive.map(|n| Timestamp::from(n).0),
            Some(1_257_894_000_123_456_789)
        );
    }

    #[cfg(feature = "time")]
    #[test]
    fn time_conversions() {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(1_257_894_000_123_456_789);
        assert_eq!(
            t.map(|t| Timestamp::from(t).0).ok(),
            Some(1_257_894_000_123_456_789)
        );
        let old = time::OffsetDateTime::from_unix_timestamp(-10_000_000_000);
        assert_eq!(old.map(|t| Timestamp::from(t).0).ok(), Some(i64::MIN));
    }

    #[test]
    fn system_time_conversions() {
        let t = UNIX_EPOCH + Duration::from_nanos(1_500);
        assert_eq!(Timestamp::from(t).0, 1_500);
        let before = UNIX_EPOCH - Duration::from_nanos(7);
        assert_eq!(Timestamp::from(before).0, -7);
        assert_eq!(SystemTime::from(Timestamp(-7)), before);
    }
}
