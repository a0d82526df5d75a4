//! Typed rows: a serde `Deserializer` over a [`Row`].
//!
//! A row reads as a map whose keys are its columns, then its series tags
//! (a tag whose key is also a column is skipped: the column wins), so a
//! `#[derive(Deserialize)]` struct picks fields by name, with no map built
//! per row. A row also reads as a sequence of its values (for tuples).
//! serde says which the type wants (`deserialize_struct`, `_map`, `_seq`,
//! `_tuple`): nothing is tried on the type beforehand.

use std::fmt;

use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use super::value::parse_rfc3339_ns;
use super::{DecodeError, Row, SeriesMeta, Value};

/// Maps a row onto `T` by column and tag names.
///
/// - Struct fields (and map keys) match **column names, then the series'
///   tags** (from `GROUP BY`); `#[serde(rename = "...")]` handles names that
///   are not Rust identifiers. Columns and tags with no matching field are
///   ignored (unless `#[serde(deny_unknown_fields)]`).
/// - A JSON `null` or a missing column/tag gives `None` for `Option` fields;
///   for other fields a missing one is an error naming it.
/// - `f64`/`f32` fields accept integers: InfluxDB prints a whole float
///   field as `12`. Integer fields refuse floats (`1.5` in an `i64` field is
///   an error).
/// - The `time` column goes into an `i64` (nanoseconds), or into a
///   `String`; a time given as an RFC 3339 string (InfluxDB 3.x's JSON
///   lines) is parsed to nanoseconds for an `i64` field.
/// - String values and tags can be borrowed (`&'a str` fields).
/// - Tags can go into numeric or `bool` fields (their text is parsed), and
///   strings into unit-variant enums.
/// - Tuples and sequences receive the values in column order (no tags).
///
/// To move strings out instead of copying them, use
/// [`Row::into_deserialize`].
///
/// **Speed:** serde's derived code matches the name of every cell of every
/// row; [`FromRow`](crate::FromRow) types match names once per series.
///
/// # Errors
///
/// A missing column or tag, or a value of the wrong type (when several cells
/// are wrong, the first in column order). The message names
/// the row (its index within the series), the series and the column, e.g.
/// ``row 3 of series `cpu` (statement 0): column `usage`: invalid type: string "x", expected f64``.
///
/// # Examples
///
/// ```no_run
/// use futures::TryStreamExt;
/// use influx_stream::query::deserialize_row;
/// use influx_stream::Client;
///
/// #[derive(serde::Deserialize)]
/// struct Cpu<'a> {
///     time: i64,
///     host: &'a str, // a tag
///     usage: f64,    // sent as `2`: accepted
///     idle: Option<f64>,
/// }
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder("http://127.0.0.1:8086").database("telemetry").build()?;
/// let mut rows = client.query("SELECT usage FROM cpu GROUP BY host");
/// while let Some(row) = rows.try_next().await? {
///     let cpu: Cpu = deserialize_row(&row)?;
///     println!("{} {} {} {:?}", cpu.time, cpu.host, cpu.usage, cpu.idle);
/// }
/// # Ok(()) }
/// ```
pub fn deserialize_row<'a, T: de::Deserialize<'a>>(row: &'a Row) -> Result<T, DecodeError> {
    from_row(row)
}

pub(crate) fn from_row<'a, T: de::Deserialize<'a>>(row: &'a Row) -> Result<T, DecodeError> {
    let meta = row.meta();
    T::deserialize(RowDe {
        meta,
        values: row.values().iter(),
    })
    .map_err(|e| row_error(e, meta, row.index()))
}

/// Like [`from_row`], moving strings out of `values` (the parts of a row:
/// no `Arc` clone just to split the borrow).
pub(crate) fn from_row_owned<T: de::DeserializeOwned>(
    meta: &SeriesMeta,
    values: &mut [Value],
    index: u64,
) -> Result<T, DecodeError> {
    T::deserialize(RowDe {
        meta,
        values: values.iter_mut(),
    })
    .map_err(|e| row_error(e, meta, index))
}

/// Says which row of which series `e` is about.
pub(crate) fn row_error(e: DecodeError, meta: &SeriesMeta, index: u64) -> DecodeError {
    e.context(RowContext(meta, index))
}

struct RowContext<'a>(&'a SeriesMeta, u64);

impl fmt::Display for RowContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {}", self.1)?;
        if let Some(name) = self.0.name() {
            write!(f, " of series `{name}`")?;
        }
        for (i, (k, v)) in self.0.tags().iter().enumerate() {
            let sep = if i == 0 { " with tags " } else { "," };
            write!(f, "{sep}{k}={v}")?;
        }
        write!(f, " (statement {})", self.0.statement_id())
    }
}

/// The values of a row, read one by one: shared (`slice::Iter`, strings
/// are borrowed) or owned (`slice::IterMut`, strings are moved out). A
/// trait rather than an enum, so each case compiles to its own code.
trait Values<'a>: Sized {
    type Cell: Cell<'a>;
    fn next(&mut self) -> Option<Self::Cell>;
    fn len(&self) -> usize;
}

impl<'a> Values<'a> for std::slice::Iter<'a, Value> {
    type Cell = &'a Value;
    #[inline]
    fn next(&mut self) -> Option<&'a Value> {
        Iterator::next(self)
    }
    #[inline]
    fn len(&self) -> usize {
        ExactSizeIterator::len(self)
    }
}

impl<'a> Values<'a> for std::slice::IterMut<'a, Value> {
    type Cell = &'a mut Value;
    #[inline]
    fn next(&mut self) -> Option<&'a mut Value> {
        Iterator::next(self)
    }
    #[inline]
    fn len(&self) -> usize {
        ExactSizeIterator::len(self)
    }
}

/// A row: a map of its columns and tags by name, or the sequence of its
/// values.
struct RowDe<'a, I> {
    meta: &'a SeriesMeta,
    values: I,
}

impl<'de, I: Values<'de>> Deserializer<'de> for RowDe<'de, I> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_map(RowMap {
            meta: self.meta,
            values: self.values,
            column: 0,
            tag: 0,
            pending: None,
        })
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_seq(RowSeq {
            meta: self.meta,
            values: self.values,
            column: 0,
        })
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct map struct enum identifier
    }
}

enum Pending<'a, C> {
    Column(&'a str, C, bool),
    Tag(&'a str, &'a str),
}

struct RowMap<'a, I: Values<'a>> {
    meta: &'a SeriesMeta,
    values: I,
    column: usize,
    tag: usize,
    pending: Option<Pending<'a, I::Cell>>,
}

impl<'de, I: Values<'de>> MapAccess<'de> for RowMap<'de, I> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        let columns = self.meta.columns();
        if let Some(name) = columns.get(self.column) {
            if let Some(value) = self.values.next() {
                let is_time = Some(self.column) == self.meta.time_index();
                self.column += 1;
                self.pending = Some(Pending::Column(name, value, is_time));
                return seed
                    .deserialize(BorrowedStrDeserializer::new(name))
                    .map(Some);
            }
            // Fewer values than columns: the missing ones read as absent.
            self.column = columns.len();
        }
        let tags = self.meta.tags();
        while let Some((key, value)) = tags.get(self.tag) {
            self.tag += 1;
            if self.meta.tag_shadowed() && columns.contains(key) {
                continue;
            }
            self.pending = Some(Pending::Tag(key, value));
            return seed
                .deserialize(BorrowedStrDeserializer::new(key))
                .map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, DecodeError> {
        match self.pending.take() {
            Some(Pending::Column(name, value, is_time)) => seed
                .deserialize(ValueDe { value, is_time })
                .map_err(|e| e.context(format_args!("column `{name}`"))),
            Some(Pending::Tag(key, value)) => seed
                .deserialize(TagDe(value))
                .map_err(|e| e.context(format_args!("tag `{key}`"))),
            None => Err(DecodeError::new("value asked for before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.values.len() + self.meta.tags().len() - self.tag)
    }
}

struct RowSeq<'a, I> {
    meta: &'a SeriesMeta,
    values: I,
    column: usize,
}

impl<'de, I: Values<'de>> SeqAccess<'de> for RowSeq<'de, I> {
    type Error = DecodeError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DecodeError> {
        let Some(value) = self.values.next() else {
            return Ok(None);
        };
        let column = self.column;
        self.column += 1;
        let is_time = Some(column) == self.meta.time_index();
        seed.deserialize(ValueDe { value, is_time })
            .map(Some)
            .map_err(|e| match self.meta.columns().get(column) {
                Some(name) => e.context(format_args!("column `{name}`")),
                None => e.context(format_args!("value {column}")),
            })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.values.len())
    }
}

/// One value: shared (`&Value`: strings are borrowed) or owned (`&mut
/// Value`: strings are moved out).
trait Cell<'de>: Sized {
    /// What the value is (strings without their text, which is read only
    /// when needed).
    fn kind(&self) -> Kind;
    /// The text of a string value (`""` for others).
    fn text(&self) -> &str;
    /// Gives the string of a string value to `visitor`.
    fn visit_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError>;
    /// A unit-variant enum from a string value.
    fn string_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError>;
}

/// A value as [`ValueDe`] dispatches on it.
#[derive(Clone, Copy)]
enum Kind {
    Null,
    Bool(bool),
    /// An integer or a time.
    Int(i64),
    UInt(u64),
    Float(f64),
    Str,
}

impl Kind {
    #[inline]
    fn of(value: &Value) -> Kind {
        match *value {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(b),
            Value::Integer(i) | Value::Time(i) => Kind::Int(i),
            Value::UInteger(u) => Kind::UInt(u),
            Value::Float(f) => Kind::Float(f),
            Value::String(_) => Kind::Str,
        }
    }
}

impl<'de> Cell<'de> for &'de Value {
    #[inline]
    fn kind(&self) -> Kind {
        Kind::of(self)
    }

    fn text(&self) -> &str {
        self.as_str().unwrap_or_default()
    }

    #[inline]
    fn visit_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self {
            Value::String(s) => visitor.visit_borrowed_str(s.as_str()),
            _ => Err(DecodeError::new("not a string")),
        }
    }

    fn string_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let s = self.as_str().unwrap_or_default();
        BorrowedStrDeserializer::new(s).deserialize_enum(name, variants, visitor)
    }
}

impl<'de> Cell<'de> for &'de mut Value {
    #[inline]
    fn kind(&self) -> Kind {
        Kind::of(self)
    }

    fn text(&self) -> &str {
        self.as_str().unwrap_or_default()
    }

    #[inline]
    fn visit_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self {
            Value::String(s) => match std::mem::take(s).into_heap() {
                Ok(s) => visitor.visit_string(s),
                // Inline: the visitor copies what it keeps.
                Err(t) => visitor.visit_str(t.as_str()),
            },
            _ => Err(DecodeError::new("not a string")),
        }
    }

    fn string_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let s: StringDeserializer<DecodeError> =
            self.take_string().unwrap_or_default().into_deserializer();
        s.deserialize_enum(name, variants, visitor)
    }
}

/// Deserializer of one column value.
struct ValueDe<C> {
    value: C,
    /// The `time` column: an RFC 3339 string may go into an integer.
    is_time: bool,
}

impl<'de, C: Cell<'de>> ValueDe<C> {
    /// Integers: an RFC 3339 time string in the `time` column is parsed.
    #[inline]
    fn integer<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        if self.is_time {
            if let Kind::Str = self.value.kind() {
                let s = self.value.text();
                return match parse_rfc3339_ns(s) {
                    Some(ns) => visitor.visit_i64(ns),
                    None => Err(de::Error::invalid_value(
                        de::Unexpected::Str(s),
                        &"an RFC 3339 time",
                    )),
                };
            }
        }
        self.deserialize_any(visitor)
    }

    #[inline]
    fn float<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value.kind() {
            Kind::Float(f) => visitor.visit_f64(f),
            Kind::Int(i) => visitor.visit_f64(i as f64),
            Kind::UInt(u) => visitor.visit_f64(u as f64),
            _ => self.deserialize_any(visitor),
        }
    }
}

impl<'de, C: Cell<'de>> Deserializer<'de> for ValueDe<C> {
    type Error = DecodeError;

    #[inline]
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.value.kind() {
            Kind::Null => visitor.visit_unit(),
            Kind::Bool(b) => visitor.visit_bool(b),
            Kind::Int(i) => visitor.visit_i64(i),
            Kind::UInt(u) => visitor.visit_u64(u),
            Kind::Float(f) => visitor.visit_f64(f),
            Kind::Str => self.value.visit_string(visitor),
        }
    }

    #[inline]
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        if let Kind::Null = self.value.kind() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    #[inline]
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.float(visitor)
    }

    #[inline]
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.float(visitor)
    }

    #[inline]
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.integer(visitor)
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.integer(visitor)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.integer(visitor)
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.integer(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match self.value.kind() {
            Kind::Str => self.value.string_enum(name, variants, visitor),
            _ => self.deserialize_any(visitor),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 u8 u16 u32 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

/// Deserializer of a tag value: a string that numeric and boolean targets
/// parse.
struct TagDe<'a>(&'a str);

impl TagDe<'_> {
    fn parse<T: std::str::FromStr>(&self, expected: &'static str) -> Result<T, DecodeError> {
        self.0
            .parse()
            .map_err(|_| de::Error::invalid_value(de::Unexpected::Str(self.0), &expected))
    }
}

macro_rules! tag_parse {
    ($($method:ident => $visit:ident($ty:ty, $what:literal),)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
            visitor.$visit(self.parse::<$ty>($what)?)
        })*
    };
}

impl<'de> Deserializer<'de> for TagDe<'de> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        BorrowedStrDeserializer::new(self.0).deserialize_enum(name, variants, visitor)
    }

    tag_parse! {
        deserialize_bool => visit_bool(bool, "a boolean"),
        deserialize_i8 => visit_i8(i8, "an integer"),
        deserialize_i16 => visit_i16(i16, "an integer"),
        deserialize_i32 => visit_i32(i32, "an integer"),
        deserialize_i64 => visit_i64(i64, "an integer"),
        deserialize_i128 => visit_i128(i128, "an integer"),
        deserialize_u8 => visit_u8(u8, "an integer"),
        deserialize_u16 => visit_u16(u16, "an integer"),
        deserialize_u32 => visit_u32(u32, "an integer"),
        deserialize_u64 => visit_u64(u64, "an integer"),
        deserialize_u128 => visit_u128(u128, "an integer"),
        deserialize_f32 => visit_f32(f32, "a number"),
        deserialize_f64 => visit_f64(f64, "a number"),
    }

    forward_to_deserialize_any! {
        char str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}
