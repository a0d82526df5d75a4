//! [`Value`]: one cell of a query result, and [`TimeFormat`]: how times arrive.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// One cell of a query result, as decoded from the JSON the server sent.
///
/// # Numbers: JSON does not carry InfluxDB's field types
///
/// InfluxDB 1.x prints a whole float as `12`, so the decoder makes an
/// integer literal [`Value::Integer`] ([`Value::UInteger`] above
/// `i64::MAX`) and anything else (a `.`, an exponent, `-0`)
/// [`Value::Float`]. [`Client::query`](crate::Client::query) and
/// [`Client::query_chunks`](crate::Client::query_chunks) then retype by the
/// field types they learn: float fields, and numeric aggregates or
/// expressions, are [`Value::Float`] even when whole. Under
/// [`Query::field_types(false)`](crate::Query::field_types), read float
/// fields with [`Value::as_f64`], which accepts integers
/// ([`Value::as_i64`] refuses floats).
///
/// # Times
///
/// The `time` column of epoch times decodes to [`Value::Time`] in
/// nanoseconds whatever the unit ([`Query::epoch`](crate::Query::epoch));
/// an RFC 3339 time stays a [`Value::String`]. Both answer
/// [`Value::as_time_ns`].
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// JSON `null`: the field has no value at this time.
    Null,
    /// JSON `true` / `false`: a boolean field.
    Bool(bool),
    /// An integer field; or a JSON integer literal that fits `i64` where the
    /// field types are not applied (see the type docs).
    Integer(i64),
    /// A JSON integer literal above `i64::MAX` (InfluxDB 2.x unsigned fields).
    UInteger(u64),
    /// A JSON number with a fraction or an exponent, `-0`, or an integer
    /// literal too large for `u64`.
    Float(f64),
    /// A JSON string: a string field, a tag value selected as a column, or an
    /// RFC 3339 time. A [`Text`](crate::query::Text) derefs to `str`; short
    /// ones are stored inline, without an allocation.
    String(Text),
    /// The `time` column in epoch form: nanoseconds since the Unix epoch,
    /// converted from the requested unit.
    Time(i64),
}

impl Value {
    /// Whether this is [`Value::Null`].
    #[inline]
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The value as a float: [`Value::Float`], and also [`Value::Integer`] and
    /// [`Value::UInteger`] converted with `as` (exact up to 2^53).
    ///
    /// **This is the accessor for float fields**: a float field whose value is
    /// whole arrives as an integer literal (`12`, not `12.0`).
    #[inline]
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float(f) => Some(f),
            Value::Integer(i) => Some(i as f64),
            Value::UInteger(u) => Some(u as f64),
            _ => None,
        }
    }

    /// The value as a signed integer: [`Value::Integer`], a [`Value::UInteger`]
    /// that fits (never, as the decoder makes them), or a [`Value::Time`] (its
    /// nanoseconds).
    ///
    /// A [`Value::Float`] gives `None` even when whole: integer fields always
    /// arrive as integer literals, so a float here means a float field.
    #[inline]
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Integer(i) | Value::Time(i) => Some(i),
            Value::UInteger(u) => i64::try_from(u).ok(),
            _ => None,
        }
    }

    /// The value as an unsigned integer: a non-negative [`Value::Integer`] or
    /// a [`Value::UInteger`].
    #[inline]
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::Integer(i) => u64::try_from(i).ok(),
            Value::UInteger(u) => Some(u),
            _ => None,
        }
    }

    /// The string of a [`Value::String`].
    #[inline]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// The boolean of a [`Value::Bool`].
    #[inline]
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The value as a time in nanoseconds since the Unix epoch: a
    /// [`Value::Time`], or a [`Value::String`] holding an RFC 3339 time (as
    /// InfluxDB prints them: `2024-01-01T00:00:04.000000123Z`; offsets such as
    /// `+02:00` are accepted too).
    ///
    /// A bare [`Value::Integer`] gives `None`: its unit is unknown.
    pub fn as_time_ns(&self) -> Option<i64> {
        match self {
            Value::Time(t) => Some(*t),
            Value::String(s) => crate::point::parse_rfc3339(s),
            _ => None,
        }
    }

    /// Takes the string out of a [`Value::String`], leaving an empty string.
    #[inline]
    pub fn take_string(&mut self) -> Option<String> {
        match self {
            Value::String(s) => Some(std::mem::take(s).into_string()),
            _ => None,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Integer(i) => write!(f, "Integer({i})"),
            Value::UInteger(u) => write!(f, "UInteger({u})"),
            Value::Float(x) => write!(f, "Float({x:?})"),
            Value::String(s) => write!(f, "String({s:?})"),
            Value::Time(t) => write!(f, "Time({t})"),
        }
    }
}

impl fmt::Display for Value {
    /// Prints the value as InfluxDB would in JSON, without quotes around
    /// strings: `null`, `true`, `42`, `0.25`, `text`; times as nanoseconds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Integer(i) | Value::Time(i) => write!(f, "{i}"),
            Value::UInteger(u) => write!(f, "{u}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::String(s) => f.write_str(s.as_str()),
        }
    }
}

macro_rules! from {
    ($($t:ty => $make:expr,)*) => {$(
        impl From<$t> for Value {
            fn from(x: $t) -> Self {
                $make(x)
            }
        }
    )*};
}

from! {
    bool => Value::Bool,
    i64 => Value::Integer,
    f64 => Value::Float,
    &str => |s| Value::String(Text::from(s)),
    String => |s| Value::String(Text::from(s)),
    Text => Value::String,
}

/// The string of a [`Value::String`]: an immutable string that keeps up to
/// 22 bytes inline (tag values, statuses, short labels: no allocation) and
/// longer ones in a `Box<str>` (when [`Client::query_as`](crate::Client::query_as)
/// leaves a document to serde, short ones go there too, to move them into
/// `String` fields).
///
/// It derefs to `str`, compares with `str` and `String`, and converts into
/// a `String` ([`Text::into_string`], free for long strings).
///
/// ```
/// use influx_stream::query::Text;
/// use influx_stream::Value;
///
/// let v = Value::from("us-east-1");
/// let Value::String(t) = &v else { unreachable!() };
/// assert_eq!(t, "us-east-1");
/// assert!(t.starts_with("us-"));
/// assert_eq!(String::from(t.clone()), "us-east-1");
/// assert_eq!(Text::from("x").as_str(), "x");
/// ```
#[derive(Clone)]
pub struct Text(Repr);

/// Bytes kept inline: with the length and the variant tag, 24 bytes, the
/// size of a `String`.
const INLINE: usize = 22;

#[derive(Clone)]
enum Repr {
    /// `buf[..len]` is always a whole `&str` copied in; `as_str` still
    /// checks it, so the crate stays free of `unsafe`.
    Inline {
        len: u8,
        buf: [u8; INLINE],
    },
    Heap(Box<str>),
}

impl Text {
    /// A text holding a copy of `s`.
    #[inline]
    pub fn new(s: &str) -> Self {
        let bytes = s.as_bytes();
        if bytes.len() <= INLINE {
            let mut buf = [0u8; INLINE];
            buf[..bytes.len()].copy_from_slice(bytes);
            // `len <= 22` fits a u8.
            Text(Repr::Inline {
                len: bytes.len() as u8,
                buf,
            })
        } else {
            Text(Repr::Heap(Box::from(s)))
        }
    }

    /// The text `text[start..start + len]` (`None` unless on char
    /// boundaries), copied with one fixed-size copy of the 22 bytes at
    /// `start` (`None` when `text` ends before): no `memcpy` of a variable
    /// length. Bytes after `len` are kept but never read.
    #[inline]
    pub(crate) fn inline_from(text: &str, start: usize, len: usize) -> Option<Self> {
        if len > INLINE {
            return None;
        }
        let end = start.checked_add(INLINE)?;
        let window = <[u8; INLINE]>::try_from(text.as_bytes().get(start..end)?).ok()?;
        // Valid UTF-8 for `as_str`: a whole `&str` of `text`.
        text.get(start..start + len)?;
        Some(Text(Repr::Inline {
            // `len <= 22` fits a u8.
            len: len as u8,
            buf: window,
        }))
    }

    /// A text kept on the heap whatever its length (for strings about to
    /// move into `String`s: [`Text::into_heap`] then costs nothing).
    #[inline]
    pub(crate) fn boxed(s: Box<str>) -> Self {
        Text(Repr::Heap(s))
    }

    /// The string.
    #[inline]
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline { len, buf } => {
                // Always valid: the bytes were copied from a `&str`.
                std::str::from_utf8(buf.get(..usize::from(*len)).unwrap_or_default())
                    .unwrap_or_default()
            }
            Repr::Heap(s) => s,
        }
    }

    /// The string as a `String` (no copy for a string kept on the heap).
    #[inline]
    pub fn into_string(self) -> String {
        self.into_heap().unwrap_or_else(|t| t.as_str().to_owned())
    }

    /// The `String` inside, if the text is kept on the heap (long texts):
    /// moving it out then costs no copy.
    #[inline]
    pub(crate) fn into_heap(self) -> Result<String, Text> {
        match self.0 {
            Repr::Heap(s) => Ok(s.into_string()),
            inline => Err(Text(inline)),
        }
    }
}

impl Default for Text {
    #[inline]
    fn default() -> Self {
        Text::new("")
    }
}

impl Deref for Text {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    #[inline]
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    #[inline]
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Text {
    #[inline]
    fn from(s: &str) -> Self {
        Text::new(s)
    }
}

impl From<String> for Text {
    #[inline]
    fn from(s: String) -> Self {
        if s.len() <= INLINE {
            Text::new(&s)
        } else {
            Text(Repr::Heap(s.into_boxed_str()))
        }
    }
}

impl From<Text> for String {
    #[inline]
    fn from(t: Text) -> Self {
        t.into_string()
    }
}

impl Eq for Text {}

macro_rules! eq_str {
    ($($t:ty),*) => {$(
        impl PartialEq<$t> for Text {
            #[inline]
            fn eq(&self, other: &$t) -> bool {
                self.as_str() == AsRef::<str>::as_ref(other)
            }
        }
    )*};
}

eq_str!(Text, str, &str, String);

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the server prints the `time` column, i.e. which `epoch` query
/// parameter was sent; the decoder must be told the same.
///
/// Under an epoch format the `time` column decodes to [`Value::Time`] in
/// nanoseconds (scaled from the unit); under [`TimeFormat::Rfc3339`] it stays
/// a [`Value::String`]. Other columns are never touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum TimeFormat {
    /// No `epoch` parameter: RFC 3339 strings such as `2024-01-01T00:00:00Z`.
    Rfc3339,
    /// `epoch=h`: whole hours.
    EpochH,
    /// `epoch=m`: whole minutes.
    EpochM,
    /// `epoch=s`: whole seconds.
    EpochS,
    /// `epoch=ms`: milliseconds.
    EpochMs,
    /// `epoch=u`: microseconds.
    EpochUs,
    /// `epoch=ns`: nanoseconds (the default, and what the client requests).
    #[default]
    EpochNs,
}

/// Each epoch format's `epoch` parameter and nanoseconds per unit.
const EPOCHS: [(TimeFormat, &str, i64); 6] = [
    (TimeFormat::EpochH, "h", 3_600_000_000_000),
    (TimeFormat::EpochM, "m", 60_000_000_000),
    (TimeFormat::EpochS, "s", 1_000_000_000),
    (TimeFormat::EpochMs, "ms", 1_000_000),
    (TimeFormat::EpochUs, "u", 1_000),
    (TimeFormat::EpochNs, "ns", 1),
];

/// The format of the `time` column under the client's `epoch` setting.
pub(crate) fn time_format(epoch: crate::point::Precision) -> TimeFormat {
    let ns = epoch.nanos_per_unit();
    EPOCHS
        .iter()
        .find(|e| e.2 == ns)
        .map_or(TimeFormat::EpochNs, |e| e.0)
}

impl TimeFormat {
    fn epoch(self) -> Option<&'static (TimeFormat, &'static str, i64)> {
        EPOCHS.iter().find(|e| e.0 == self)
    }

    /// The value of the `epoch` query parameter that asks for this format,
    /// `None` for [`TimeFormat::Rfc3339`] (send no `epoch` parameter).
    pub fn epoch_param(self) -> Option<&'static str> {
        self.epoch().map(|e| e.1)
    }

    /// The format an `epoch` parameter value asks for (`"ns"`, `"u"` or
    /// `"µ"`, `"ms"`, `"s"`, `"m"`, `"h"`); `None` for anything else, which
    /// InfluxDB 1.x answers with RFC 3339 times.
    pub fn from_epoch_param(param: &str) -> Option<Self> {
        let param = if param == "µ" { "u" } else { param };
        EPOCHS.iter().find(|e| e.1 == param).map(|e| e.0)
    }

    /// Nanoseconds per unit, `None` for RFC 3339.
    pub(crate) fn nanos_per_unit(self) -> Option<i64> {
        self.epoch().map(|e| e.2)
    }
}
