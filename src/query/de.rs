//! Typed rows: a serde `Deserializer` over a [`Row`], read as a map of its
//! columns then its tags (no map built per row), or as a sequence of its
//! values, whichever the type asks for.

use std::fmt;
use std::ops::Deref;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

use super::{DecodeError, Row, SeriesMeta, Value};
use crate::point::parse_rfc3339;

/// Maps a row onto `T` by column and tag names.
///
/// - Struct fields (and map keys) match **column names, then the series'
///   tags** (from `GROUP BY`; a tag named like a column is skipped).
///   Columns and tags with no field are ignored (unless
///   `#[serde(deny_unknown_fields)]`).
/// - A `null` or a missing column or tag gives `None` for `Option` fields,
///   an error naming it for others.
/// - `f64`/`f32` fields accept integers (InfluxDB prints a whole float as
///   `12`); integer fields refuse floats.
/// - The `time` column goes into an `i64` (nanoseconds; an RFC 3339 time
///   is parsed) or a `String`.
/// - Strings and tags can be borrowed (`&'a str`); tags go into numeric and
///   `bool` fields (parsed), strings into unit-variant enums.
/// - Tuples and sequences receive the values in column order (no tags).
///
/// [`Row::into_deserialize`] moves strings out instead of copying them.
/// serde's derived code matches the name of every cell of every row;
/// [`FromRow`](crate::FromRow) types match names once per series.
///
/// # Errors
///
/// A missing column or tag, or the first value of the wrong type, named
/// with its row, series and column, e.g. ``row 3 of series `cpu`
/// (statement 0): column `usage`: invalid type: string "x", expected f64``.
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
    read(row.meta(), row.values().iter(), row.index())
}

/// Like [`from_row`], moving strings out of `values` (the parts of a row:
/// no `Arc` clone just to split the borrow).
pub(crate) fn from_row_owned<T: de::DeserializeOwned>(
    meta: &SeriesMeta,
    values: &mut [Value],
    index: u64,
) -> Result<T, DecodeError> {
    read(meta, values.iter_mut(), index)
}

fn read<'de, T, I>(meta: &'de SeriesMeta, values: I, index: u64) -> Result<T, DecodeError>
where
    T: de::Deserialize<'de>,
    I: ExactSizeIterator<Item: Cell<'de>>,
{
    let row = RowDe {
        meta,
        values,
        column: 0,
        tag: 0,
        pending: None,
    };
    T::deserialize(row).map_err(|e| row_error(e, meta, index))
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

/// A row: a map of its columns and tags by name, or the sequence of its
/// values.
struct RowDe<'a, I: Iterator> {
    meta: &'a SeriesMeta,
    values: I,
    /// The next column.
    column: usize,
    /// The next tag, once the columns are read.
    tag: usize,
    /// The value whose key the map gave last.
    pending: Option<Pending<'a, I::Item>>,
}

impl<'de, I: ExactSizeIterator<Item: Cell<'de>>> RowDe<'de, I> {
    /// Reads the next value, of the column at `column`, with `seed`.
    fn read_column<S: DeserializeSeed<'de>>(
        &self,
        seed: S,
        value: I::Item,
        column: usize,
    ) -> Result<S::Value, DecodeError> {
        let is_time = Some(column) == self.meta.time_index();
        seed.deserialize(ValueDe { value, is_time }).map_err(|e| {
            match self.meta.columns().get(column) {
                Some(name) => e.context(format_args!("column `{name}`")),
                None => e.context(format_args!("value {column}")),
            }
        })
    }
}

impl<'de, I: ExactSizeIterator<Item: Cell<'de>>> Deserializer<'de> for RowDe<'de, I> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_map(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_seq(self)
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
    /// A value and its column.
    Column(C, usize),
    Tag(&'a str, &'a str),
}

impl<'de, I: ExactSizeIterator<Item: Cell<'de>>> MapAccess<'de> for RowDe<'de, I> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        let columns = self.meta.columns();
        if let Some(name) = columns.get(self.column) {
            if let Some(value) = self.values.next() {
                self.pending = Some(Pending::Column(value, self.column));
                self.column += 1;
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
            Some(Pending::Column(value, column)) => self.read_column(seed, value, column),
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

impl<'de, I: ExactSizeIterator<Item: Cell<'de>>> SeqAccess<'de> for RowDe<'de, I> {
    type Error = DecodeError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DecodeError> {
        let Some(value) = self.values.next() else {
            return Ok(None);
        };
        self.column += 1;
        self.read_column(seed, value, self.column - 1).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.values.len())
    }
}

/// One value: shared (`&Value`: strings are borrowed) or owned (`&mut
/// Value`, for `query_as`: strings are moved out).
trait Cell<'de>: Deref<Target = Value> + Sized {
    fn into_ref(self) -> &'de Value;
    /// Gives the string of a string value to `visitor`.
    #[inline]
    fn visit_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_borrowed_str(self.into_ref().as_str().unwrap_or_default())
    }
}

impl<'de> Cell<'de> for &'de Value {
    #[inline]
    fn into_ref(self) -> &'de Value {
        self
    }
}

impl<'de> Cell<'de> for &'de mut Value {
    #[inline]
    fn into_ref(self) -> &'de Value {
        self
    }
    #[inline]
    fn visit_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let Value::String(s) = self else {
            return Err(DecodeError::new("not a string"));
        };
        match std::mem::take(s).into_heap() {
            Ok(s) => visitor.visit_string(s),
            // Inline: the visitor copies what it keeps.
            Err(t) => visitor.visit_str(t.as_str()),
        }
    }
}

/// `Deserializer` methods that call `self.$to(visitor)`.
macro_rules! forward {
    ($($method:ident => $to:ident,)*) => {$(
        #[inline]
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
            self.$to(visitor)
        }
    )*};
}

/// Deserializer of one column value.
struct ValueDe<C> {
    value: C,
    /// The `time` column: an RFC 3339 string may go into an integer.
    is_time: bool,
}

impl<'de, C: Cell<'de>> ValueDe<C> {
    #[inline]
    fn integer<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match &*self.value {
            Value::String(s) if self.is_time => match parse_rfc3339(s) {
                Some(ns) => visitor.visit_i64(ns),
                None => Err(de::Error::invalid_value(
                    de::Unexpected::Str(s),
                    &"an RFC 3339 time",
                )),
            },
            _ => self.deserialize_any(visitor),
        }
    }

    /// Floats accept integers: InfluxDB prints a whole float as `12`.
    #[inline]
    fn float<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match *self.value {
            Value::Float(f) => visitor.visit_f64(f),
            Value::Integer(i) | Value::Time(i) => visitor.visit_f64(i as f64),
            Value::UInteger(u) => visitor.visit_f64(u as f64),
            _ => self.deserialize_any(visitor),
        }
    }
}

impl<'de, C: Cell<'de>> Deserializer<'de> for ValueDe<C> {
    type Error = DecodeError;

    #[inline]
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match *self.value {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Integer(i) | Value::Time(i) => visitor.visit_i64(i),
            Value::UInteger(u) => visitor.visit_u64(u),
            Value::Float(f) => visitor.visit_f64(f),
            Value::String(_) => self.value.visit_string(visitor),
        }
    }

    #[inline]
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        if self.value.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    forward! {
        deserialize_f64 => float,
        deserialize_f32 => float,
        deserialize_i64 => integer,
        deserialize_i128 => integer,
        deserialize_u64 => integer,
        deserialize_u128 => integer,
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
        match self.value.into_ref() {
            Value::String(s) => {
                BorrowedStrDeserializer::new(s).deserialize_enum(name, variants, visitor)
            }
            value => ValueDe {
                value,
                is_time: self.is_time,
            }
            .deserialize_any(visitor),
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
