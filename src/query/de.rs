//! Typed rows: a serde `Deserializer` over a [`Row`].
//!
//! A row reads as a map whose keys are its columns, then its series tags
//! (a tag whose key is also a column is skipped: the column wins), so a
//! `#[derive(Deserialize)]` struct picks fields by name, with no map built
//! per row. A row also reads as a sequence of its values (for tuples).
//! Structs whose fields line up with the columns read as a sequence of
//! their fields instead (see `layout`), which gives the same struct faster.

use std::borrow::Cow;
use std::fmt;

use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use super::layout::{ignores_unknown, Layout, Source, PARKING};
use super::scan::{Num, RowCells, Scanned};
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
/// **Speed:** when every field of a struct names a column or tag, rows are
/// handed to the struct by position, with no name matched per cell; the
/// result is the same. Declaring the column fields in column order (`time`
/// first, then as the query lists them; alphabetical for `SELECT *`) is
/// fastest: a cell passed over for a later field is otherwise kept aside
/// until its field comes.
///
/// # Errors
///
/// A missing column or tag, or a value of the wrong type (when several cells
/// are wrong, the first in column order; [`Row::into_deserialize`] may name
/// another once it maps by position). The message names
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
    let probe = ignores_unknown::<T>;
    let by_position = T::deserialize(RowDe::new(meta, row.values().iter(), probe, true));
    match by_position {
        Err(e) if e.is_redo() => {
            T::deserialize(RowDe::new(meta, row.values().iter(), probe, false))
        }
        other => other,
    }
    .map_err(|e| e.context(RowContext(meta, row.index())))
}

/// [`from_row`] without positional mapping: the reference the tests hold
/// the positional paths to.
#[cfg(test)]
pub(crate) fn from_row_by_name<T: de::DeserializeOwned>(row: &Row) -> Result<T, DecodeError> {
    let meta = row.meta();
    T::deserialize(RowDe::new(
        meta,
        row.values().iter(),
        ignores_unknown::<T>,
        false,
    ))
    .map_err(|e| e.context(RowContext(meta, row.index())))
}

/// Like [`from_row`], moving strings out of `values` (the parts of a row:
/// no `Arc` clone just to split the borrow).
pub(crate) fn from_row_owned<T: de::DeserializeOwned>(
    meta: &SeriesMeta,
    values: &mut [Value],
    index: u64,
) -> Result<T, DecodeError> {
    let probe = ignores_unknown::<T>;
    // A layout not yet confirmed may give the row back to mapping by
    // name: such a row is read without moving strings out.
    let first = if meta.layouts().settled() {
        T::deserialize(RowDe::new(meta, values.iter_mut(), probe, true))
    } else {
        T::deserialize(RowDe::new(meta, values.iter(), probe, true))
    };
    let out = match first {
        Err(e) if e.is_redo() => T::deserialize(RowDe::new(meta, values.iter_mut(), probe, false)),
        other => other,
    };
    out.map_err(|e| row_error(e, meta, index))
}

/// Maps the row whose cells `cells` scans onto `T`, as [`from_row_owned`]
/// would map the same values. An error lacks the row's place: see
/// [`row_error`].
#[inline]
pub(crate) fn from_cells<T: de::DeserializeOwned>(
    meta: &SeriesMeta,
    cells: &mut RowCells<'_, '_>,
) -> Result<T, DecodeError> {
    let probe = ignores_unknown::<T>;
    match T::deserialize(RowDe::new(meta, &mut *cells, probe, true)) {
        Err(e) if e.is_redo() => {
            cells.rewind();
            T::deserialize(RowDe::new(meta, cells, probe, false))
        }
        other => other,
    }
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
    /// Whether reading a cell takes its string away (a row read this way
    /// cannot be read again).
    const MOVES: bool = false;
    fn next(&mut self) -> Option<Self::Cell>;
    /// Passes over a cell; `false` at the end of the row.
    #[inline]
    fn skip(&mut self) -> bool {
        self.next().is_some()
    }
    /// The next cell given to `seed`; `None` at the end of the row.
    #[inline]
    fn element<S: DeserializeSeed<'a>>(
        &mut self,
        seed: S,
        is_time: bool,
    ) -> Option<Result<S::Value, DecodeError>> {
        let value = self.next()?;
        Some(seed.deserialize(ValueDe { value, is_time }))
    }
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

impl<'a, 'd> Values<'a> for &mut RowCells<'_, 'd> {
    type Cell = Scanned<'d>;
    #[inline(always)]
    fn next(&mut self) -> Option<Scanned<'d>> {
        self.next_cell()
    }
    #[inline(always)]
    fn element<S: DeserializeSeed<'a>>(
        &mut self,
        seed: S,
        is_time: bool,
    ) -> Option<Result<S::Value, DecodeError>> {
        if !self.has_cell() {
            return None;
        }
        Some(seed.deserialize(ScanDe {
            cells: self,
            is_time,
        }))
    }
    #[inline]
    fn len(&self) -> usize {
        // A hint: rows as wide as their columns.
        0
    }
}

impl<'a> Values<'a> for std::slice::IterMut<'a, Value> {
    type Cell = &'a mut Value;
    const MOVES: bool = true;
    #[inline]
    fn next(&mut self) -> Option<&'a mut Value> {
        Iterator::next(self)
    }
    #[inline]
    fn len(&self) -> usize {
        ExactSizeIterator::len(self)
    }
}

struct RowDe<'a, I> {
    meta: &'a SeriesMeta,
    values: I,
    /// `ignores_unknown::<T>`, for the layout.
    probe: fn() -> bool,
    /// Whether structs may be mapped by position (see `layout`).
    positional: bool,
}

impl<'a, I> RowDe<'a, I> {
    #[inline]
    fn new(meta: &'a SeriesMeta, values: I, probe: fn() -> bool, positional: bool) -> Self {
        RowDe {
            meta,
            values,
            probe,
            positional,
        }
    }
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

    fn deserialize_struct<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let layout = match self.positional {
            true => self.meta.layouts().get(self.meta, fields, self.probe),
            false => None,
        };
        // Moving strings out is for confirmed layouts and whole rows: such
        // a row is not given back to mapping by name.
        let movable = |l: &Layout| l.verified() && self.values.len() >= self.meta.columns().len();
        let Some(layout) = layout.filter(|l| !I::MOVES || movable(l)) else {
            return self.deserialize_any(visitor);
        };
        let mut seq = RowFields {
            meta: self.meta,
            values: &mut self.values,
            sources: layout.sources(),
            parks: layout.parks(),
            // Most layouts keep nothing aside: no array to clear per row.
            parked: (layout.parks() != 0).then(Parked::default),
            asked: 0,
            column: 0,
        };
        // `out` is returned whole, not rebuilt from `Ok(v)`: moving a large
        // `T` out and back costs a store-forwarding stall per row.
        let out = visitor.visit_seq(&mut seq);
        let asked = seq.asked;
        let verified = layout.verified();
        match &out {
            Ok(_) if asked == layout.sources().len() => {
                layout.verify();
                return out;
            }
            // An error in a confirmed layout: a bad cell. Mapping by name
            // says which one it finds first, unless strings were moved out.
            Err(_) if verified && I::MOVES => return out,
            Err(_) if verified => return Err(DecodeError::redo()),
            // `visit_seq` read fewer fields than listed (aliases: a shifted
            // field may also fail) or more, or cannot read a sequence at
            // all; or the first row is bad, which mapping by name tells.
            _ => layout.switch_off(),
        }
        if I::MOVES {
            // Unreachable for derived types (a confirmed layout reads every
            // field), and strings may be gone: no second try.
            return Err(DecodeError::new(format!(
                "the type read {asked} of the {} fields it lists",
                layout.sources().len()
            )));
        }
        Err(DecodeError::redo())
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct map enum identifier
    }
}

/// A row as the sequence of a struct's fields, in the order of its layout.
struct RowFields<'r, 'a, I: Values<'a>> {
    meta: &'a SeriesMeta,
    values: &'r mut I,
    sources: &'a [Source],
    /// See [`Layout::parks`].
    parks: u64,
    /// The cells kept aside, by column.
    parked: Option<Parked<I::Cell>>,
    /// Elements asked for.
    asked: usize,
    /// The column `values` is at.
    column: usize,
}

/// Says which column `e` is about.
fn column_error(e: DecodeError, meta: &SeriesMeta, column: usize) -> DecodeError {
    match meta.columns().get(column) {
        Some(name) => e.context(format_args!("column `{name}`")),
        None => e,
    }
}

/// Cells kept aside for fields declared after a later column's.
struct Parked<C>([Option<C>; PARKING]);

impl<C> Default for Parked<C> {
    #[inline]
    fn default() -> Self {
        Parked(std::array::from_fn(|_| None))
    }
}

impl<'de, I: Values<'de>> SeqAccess<'de> for RowFields<'_, 'de, I> {
    type Error = DecodeError;

    #[inline]
    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, DecodeError> {
        let source = self.sources.get(self.asked).copied();
        self.asked += 1;
        match source {
            Some(Source::Column(c)) if c < self.column => {
                let parked = self.parked.as_mut().and_then(|p| p.0.get_mut(c));
                let Some(value) = parked.and_then(Option::take) else {
                    return Err(DecodeError::redo());
                };
                let is_time = Some(c) == self.meta.time_index();
                seed.deserialize(ValueDe { value, is_time })
                    .map(Some)
                    .map_err(|e| column_error(e, self.meta, c))
            }
            Some(Source::Column(c)) => {
                while self.column < c {
                    if self.column < PARKING && self.parks >> self.column & 1 == 1 {
                        let (Some(cell), Some(slot)) = (
                            self.values.next(),
                            self.parked.as_mut().and_then(|p| p.0.get_mut(self.column)),
                        ) else {
                            return Err(DecodeError::redo());
                        };
                        *slot = Some(cell);
                    } else if !self.values.skip() {
                        return Err(DecodeError::redo());
                    }
                    self.column += 1;
                }
                let is_time = Some(c) == self.meta.time_index();
                // A row shorter than its columns: mapping by name says
                // which field is missing.
                let Some(out) = self.values.element(seed, is_time) else {
                    return Err(DecodeError::redo());
                };
                self.column += 1;
                out.map(Some).map_err(|e| column_error(e, self.meta, c))
            }
            Some(Source::Tag(t)) => {
                let Some((key, value)) = self.meta.tags().get(t) else {
                    return Err(DecodeError::redo());
                };
                seed.deserialize(TagDe(value))
                    .map(Some)
                    .map_err(|e| e.context(format_args!("tag `{key}`")))
            }
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.sources.len().saturating_sub(self.asked))
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

/// One value: shared (`&Value`: strings are borrowed), owned (`&mut
/// Value`: strings are moved out) or just scanned ([`Scanned`]: strings
/// still in the document).
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

impl<'de> Cell<'de> for Scanned<'_> {
    #[inline]
    fn kind(&self) -> Kind {
        match self {
            Scanned::Str(_) => Kind::Str,
            Scanned::Other(v) => Kind::of(v),
        }
    }

    fn text(&self) -> &str {
        match self {
            Scanned::Str(s) => s,
            Scanned::Other(_) => "",
        }
    }

    #[inline]
    fn visit_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self {
            Scanned::Str(Cow::Borrowed(s)) => visitor.visit_str(s),
            Scanned::Str(Cow::Owned(s)) => visitor.visit_string(s),
            Scanned::Other(_) => Err(DecodeError::new("not a string")),
        }
    }

    fn string_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let s = match self {
            Scanned::Str(s) => s.into_owned(),
            Scanned::Other(_) => String::new(),
        };
        let s: StringDeserializer<DecodeError> = s.into_deserializer();
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

/// `ScanDe` methods that scan the cell whole and leave it to [`ValueDe`].
macro_rules! via_value {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
            self.value()?.$method(visitor)
        })*
    };
}

/// Deserializer of the next cell of a row being scanned: numbers and
/// strings go straight from the document to the visitor when the target
/// asks for them, anything else through [`ValueDe`], which it agrees with.
struct ScanDe<'r, 's, 'a> {
    cells: &'r mut RowCells<'s, 'a>,
    /// The `time` column, for [`ValueDe`] (RFC 3339 strings into integers).
    is_time: bool,
}

impl<'a> ScanDe<'_, '_, 'a> {
    /// The cell scanned whole, for [`ValueDe`].
    #[inline]
    fn value(self) -> Result<ValueDe<Scanned<'a>>, DecodeError> {
        match self.cells.next_cell() {
            Some(value) => Ok(ValueDe {
                value,
                is_time: self.is_time,
            }),
            None => Err(DecodeError::new("malformed row")),
        }
    }

    /// The cell as a number, if it is one.
    #[inline(always)]
    fn number(&mut self) -> Option<Result<Num, DecodeError>> {
        if !matches!(self.cells.peek(), Some(b'-' | b'0'..=b'9')) {
            return None;
        }
        Some(
            self.cells
                .next_number()
                .ok_or_else(|| DecodeError::new("malformed number")),
        )
    }
}

impl<'de> Deserializer<'de> for ScanDe<'_, '_, '_> {
    type Error = DecodeError;

    #[inline]
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.value()?.deserialize_any(visitor)
    }

    #[inline]
    fn deserialize_f64<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.number() {
            Some(Ok(Num::Float(f))) => visitor.visit_f64(f),
            Some(Ok(Num::Int(i))) => visitor.visit_f64(i as f64),
            Some(Ok(Num::UInt(u))) => visitor.visit_f64(u as f64),
            Some(Err(e)) => Err(e),
            None => self.value()?.deserialize_f64(visitor),
        }
    }

    #[inline]
    fn deserialize_i64<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.number() {
            Some(Ok(Num::Int(i))) => visitor.visit_i64(i),
            Some(Ok(Num::UInt(u))) => visitor.visit_u64(u),
            Some(Ok(Num::Float(f))) => visitor.visit_f64(f),
            Some(Err(e)) => Err(e),
            None => self.value()?.deserialize_i64(visitor),
        }
    }

    #[inline]
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        if self.cells.peek() != Some(b'"') {
            return self.value()?.deserialize_string(visitor);
        }
        match self.cells.next_string() {
            Some(Cow::Borrowed(s)) => visitor.visit_str(s),
            Some(Cow::Owned(s)) => visitor.visit_string(s),
            None => Err(DecodeError::new("malformed string")),
        }
    }

    #[inline]
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_string(visitor)
    }

    #[inline]
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        if self.cells.peek() == Some(b'n') {
            return self.value()?.deserialize_option(visitor);
        }
        visitor.visit_some(self)
    }

    via_value! {
        deserialize_f32 deserialize_i128 deserialize_u64 deserialize_u128 deserialize_ignored_any
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.value()?.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.value()?.deserialize_enum(name, variants, visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 u8 u16 u32 char bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use serde::Deserialize;

    use super::*;

    fn row(values: Vec<Value>) -> Row {
        let meta = Arc::new(SeriesMeta::new(
            1,
            Some("cpu".into()),
            vec![
                ("dc".into(), "7".into()),
                ("host".into(), "a".into()),
                ("usage".into(), "shadowed".into()),
            ],
            vec![
                "time".into(),
                "usage".into(),
                "count".into(),
                "label".into(),
                "ok".into(),
            ],
        ));
        Row::new(meta, values, 4)
    }

    fn sample() -> Row {
        row(vec![
            Value::Time(10),
            Value::Integer(2),
            Value::Integer(-5),
            Value::String("x\"y".into()),
            Value::Null,
        ])
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Cpu<'a> {
        time: i64,
        usage: f64,
        count: i64,
        #[serde(borrow)]
        label: std::borrow::Cow<'a, str>,
        ok: Option<bool>,
        host: &'a str,
        dc: u32,
        missing: Option<String>,
    }

    #[test]
    fn by_name_borrowed() {
        let r = sample();
        let cpu: Cpu = deserialize_row(&r).unwrap();
        assert_eq!(
            cpu,
            Cpu {
                time: 10,
                usage: 2.0,
                count: -5,
                label: "x\"y".into(),
                ok: None,
                host: "a",
                dc: 7,
                missing: None,
            }
        );
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Label {
        Plain,
        #[serde(rename = "x\"y")]
        Quoted,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Owned {
        time: i64,
        usage: f32,
        label: Label,
        host: String,
        ok: Option<bool>,
    }

    #[test]
    fn owned_moves_strings() {
        let o: Owned = sample().into_deserialize().unwrap();
        assert_eq!(
            o,
            Owned {
                time: 10,
                usage: 2.0,
                label: Label::Quoted,
                host: "a".into(),
                ok: None
            }
        );
        #[derive(Debug, Deserialize)]
        struct S {
            label: String,
        }
        let s: S = sample().into_deserialize().unwrap();
        assert_eq!(s.label, "x\"y");
    }

    #[test]
    fn errors_name_row_and_column() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Bad {
            label: f64,
        }
        let e = sample().deserialize::<Bad>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "row 4 of series `cpu` with tags dc=7,host=a,usage=shadowed (statement 1): \
             column `label`: invalid type: string \"x\\\"y\", expected f64"
        );
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Missing {
            nope: f64,
        }
        let e = sample().deserialize::<Missing>().unwrap_err();
        assert!(
            e.to_string()
                .ends_with("(statement 1): no column or tag named `nope`"),
            "{e}"
        );
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct IntFromFloat {
            x: i64,
        }
        let meta = Arc::new(SeriesMeta::new(0, None, vec![], vec!["x".into()]));
        let e = Row::new(meta, vec![Value::Float(1.5)], 0)
            .deserialize::<IntFromFloat>()
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "row 0 (statement 0): column `x`: invalid type: floating point `1.5`, expected i64"
        );
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct BadTag {
            host: u8,
        }
        let e = sample().deserialize::<BadTag>().unwrap_err();
        assert!(
            e.to_string()
                .ends_with("tag `host`: invalid value: string \"a\", expected an integer"),
            "{e}"
        );
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct NotNull {
            ok: bool,
        }
        let e = sample().deserialize::<NotNull>().unwrap_err();
        assert!(
            e.to_string()
                .ends_with("column `ok`: invalid type: unit value, expected a boolean"),
            "{e}"
        );
    }

    #[test]
    fn shadowed_tag_skipped_and_maps() {
        let r = sample();
        let m: BTreeMap<String, serde_json::Value> = r.deserialize().unwrap();
        assert_eq!(m.len(), 7);
        assert_eq!(m["usage"], serde_json::json!(2));
        assert_eq!(m["host"], serde_json::json!("a"));
        assert_eq!(m["ok"], serde_json::Value::Null);
    }

    #[test]
    fn tuples_and_short_rows() {
        let r = sample();
        let t: (i64, f64, i64, String, Option<bool>) = r.deserialize().unwrap();
        assert_eq!(t, (10, 2.0, -5, "x\"y".into(), None));
        let short = row(vec![Value::Time(1), Value::Float(0.5)]);
        #[derive(Debug, Deserialize, PartialEq)]
        struct S {
            usage: f64,
            count: Option<i64>,
        }
        assert_eq!(
            short.deserialize::<S>().unwrap(),
            S {
                usage: 0.5,
                count: None
            }
        );
        let v: Vec<serde_json::Value> = short.deserialize().unwrap();
        assert_eq!(v, vec![serde_json::json!(1), serde_json::json!(0.5)]);
    }

    #[test]
    fn rfc3339_time_into_integer() {
        let meta = Arc::new(SeriesMeta::new(
            0,
            None,
            vec![],
            vec!["time".into(), "s".into()],
        ));
        let r = Row::new(
            meta,
            vec![
                Value::String("2024-01-01T00:00:00.5Z".into()),
                Value::String("2024-01-01T00:00:00Z".into()),
            ],
            0,
        );
        #[derive(Deserialize)]
        struct T {
            time: i64,
        }
        assert_eq!(
            r.deserialize::<T>().unwrap().time,
            1_704_067_200_500_000_000
        );
        #[derive(Deserialize)]
        struct S<'a> {
            time: &'a str,
        }
        assert_eq!(r.deserialize::<S>().unwrap().time, "2024-01-01T00:00:00.5Z");
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct N {
            s: i64,
        }
        assert!(
            r.deserialize::<N>().is_err(),
            "only the time column is parsed"
        );
    }

    #[test]
    fn big_unsigned() {
        let meta = Arc::new(SeriesMeta::new(0, None, vec![], vec!["u".into()]));
        let r = Row::new(meta, vec![Value::UInteger(u64::MAX)], 0);
        #[derive(Deserialize)]
        struct U {
            u: u64,
        }
        assert_eq!(r.deserialize::<U>().unwrap().u, u64::MAX);
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct I {
            u: i64,
        }
        assert!(r.deserialize::<I>().is_err());
        #[derive(Deserialize)]
        struct F {
            u: f64,
        }
        assert_eq!(r.deserialize::<F>().unwrap().u, u64::MAX as f64);
    }
}
