//! Rows of `SELECT * ... GROUP BY *` written back as the points they were
//! written as, straight into the writer's batch, many rows to a call of
//! the writer. Building a `Point` first cost a dozen allocations a row
//! (names, tags, values), and a call of the writer per row a lock and a
//! copy each, which on a copy between two servers on the same cores is CPU
//! taken from them. The measurement and tags, the same for every row of a
//! series, are checked and escaped once per series ([`SeriesKey`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use influx_stream::query::SeriesMeta;
use influx_stream::{Error, FieldType, LineWriter, Row, SeriesKey, Server, ToLineProtocol, Value};

use super::msgpack::{self, Cell, RowRef};

/// What a point is made of, from a row of either reader.
#[derive(Debug, Clone, Copy)]
pub struct RowParts<'a> {
    /// The measurement.
    pub name: Option<&'a str>,
    /// Tags sorted by key.
    pub tags: &'a [(String, String)],
    columns: &'a [String],
    values: Values<'a>,
    time_index: Option<usize>,
    series: Series<'a>,
}

/// A row's values, as either reader keeps them.
#[derive(Debug, Clone, Copy)]
enum Values<'a> {
    Json(&'a [Value]),
    Msgpack(&'a [Cell], &'a str),
}

impl<'a> Values<'a> {
    fn len(&self) -> usize {
        match self {
            Values::Json(v) => v.len(),
            Values::Msgpack(v, _) => v.len(),
        }
    }

    #[inline]
    fn get(&self, i: usize) -> Option<Val<'a>> {
        match *self {
            Values::Json(v) => v.get(i).map(Val::of),
            Values::Msgpack(v, text) => v.get(i).map(|c| msgpack::val(*c, text)),
        }
    }
}

/// A value of either reader, its string borrowed.
#[derive(Debug, Clone, Copy)]
pub enum Val<'a> {
    Null,
    Bool(bool),
    Integer(i64),
    UInteger(u64),
    Float(f64),
    Time(i64),
    Str(&'a str),
    /// A kind of [`Value`] this reader does not know.
    Other(&'a Value),
}

impl<'a> Val<'a> {
    #[inline]
    fn of(v: &'a Value) -> Self {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Integer(n) => Val::Integer(*n),
            Value::UInteger(n) => Val::UInteger(*n),
            Value::Float(f) => Val::Float(*f),
            Value::Time(t) => Val::Time(*t),
            Value::String(s) => Val::Str(s.as_str()),
            other => Val::Other(other),
        }
    }

    /// As a [`Value`], for messages.
    pub fn to_value(self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(b),
            Val::Integer(n) => Value::Integer(n),
            Val::UInteger(n) => Value::UInteger(n),
            Val::Float(f) => Value::Float(f),
            Val::Time(t) => Value::Time(t),
            Val::Str(s) => Value::String(s.into()),
            Val::Other(v) => v.clone(),
        }
    }

    #[inline]
    fn is_null(self) -> bool {
        match self {
            Val::Null => true,
            Val::Other(v) => v.is_null(),
            _ => false,
        }
    }

    /// As [`Value::as_time_ns`].
    fn as_time_ns(self) -> Option<i64> {
        match self {
            Val::Time(t) => Some(t),
            Val::Str(_) | Val::Other(_) => self.to_value().as_time_ns(),
            _ => None,
        }
    }
}

/// The series a row belongs to, by identity.
#[derive(Debug, Clone, Copy)]
enum Series<'a> {
    Json(&'a Arc<SeriesMeta>),
    Msgpack(&'a Arc<msgpack::Series>),
}

impl<'a> RowParts<'a> {
    /// A row of the JSON reader.
    pub fn of_row(row: &'a Row) -> Self {
        RowParts {
            name: row.series_name(),
            tags: row.tags(),
            columns: row.columns(),
            values: Values::Json(row.values()),
            time_index: row.meta().time_index(),
            series: Series::Json(row.meta()),
        }
    }

    /// A row of the MessagePack reader.
    pub fn of_msgpack(row: RowRef<'a>) -> Self {
        let s = row.series;
        RowParts {
            name: Some(&s.name),
            tags: &s.tags,
            columns: &s.columns,
            values: Values::Msgpack(row.values, row.text),
            time_index: s.time_index,
            series: Series::Msgpack(s),
        }
    }

    /// The `time` column in nanoseconds.
    pub fn time(&self) -> Option<i64> {
        self.time_index
            .and_then(|i| self.values.get(i))
            .and_then(Val::as_time_ns)
    }
}

/// The series whose types are cached, kept alive so that its address is
/// not reused by another.
#[derive(Debug)]
enum Cached {
    Json(Arc<SeriesMeta>),
    Msgpack(Arc<msgpack::Series>),
}

/// What is known of one series, looked up once per series rather than
/// once per row or value: the declared type of each column, and its
/// measurement and tags encoded.
#[derive(Debug)]
pub struct ColumnTypes {
    series: Option<Cached>,
    types: Vec<Option<FieldType>>,
    /// The series key, or why its rows make no line.
    key: Result<SeriesKey, String>,
    server: Server,
}

impl ColumnTypes {
    /// For points written to `server`.
    pub fn new(server: Server) -> Self {
        ColumnTypes {
            series: None,
            types: Vec::new(),
            key: Err(String::new()),
            server,
        }
    }

    /// The types of `row`'s columns, from `declared` (per measurement,
    /// field name to type), and its series key.
    fn of(
        &mut self,
        row: &RowParts<'_>,
        declared: &HashMap<String, HashMap<String, FieldType>>,
    ) -> (&[Option<FieldType>], &Result<SeriesKey, String>) {
        let same = match (&self.series, row.series) {
            (Some(Cached::Json(a)), Series::Json(b)) => Arc::ptr_eq(a, b),
            (Some(Cached::Msgpack(a)), Series::Msgpack(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        if !same {
            let fields = row.name.and_then(|m| declared.get(m));
            self.types.clear();
            self.types.extend(
                row.columns
                    .iter()
                    .map(|c| fields.and_then(|f| f.get(c)).copied()),
            );
            // As `LineWriter::point` and `PointWriter::tag` would refuse
            // them, for each row of the series.
            self.key = match row.name {
                Some(name) => SeriesKey::new(name, self.server)
                    .and_then(|mut key| {
                        // Tags come sorted by key, as line protocol wants them.
                        for (k, v) in row.tags {
                            key.tag(k, v)?;
                        }
                        Ok(key)
                    })
                    .map_err(|e| crate::write::one_line(&e.to_string())),
                None => Err(String::new()),
            };
            self.series = Some(match row.series {
                Series::Json(m) => Cached::Json(m.clone()),
                Series::Msgpack(s) => Cached::Msgpack(s.clone()),
            });
        }
        (&self.types, &self.key)
    }
}

/// A value as the type it is written as.
enum Typed<'a> {
    Float(f64),
    Integer(i64),
    Unsigned(u64),
    Bool(bool),
    Str(&'a str),
}

/// `v` as a value of type `t` (as `Value::as_f64`, `as_i64`, `as_u64`,
/// `as_bool` and `as_str` read it); without a declared type, as the JSON
/// typed it, numbers as floats (the source prints whole floats as
/// integers).
#[inline]
fn typed(v: Val<'_>, t: Option<FieldType>) -> Option<Typed<'_>> {
    if let Val::Other(v) = v {
        return typed_value(v, t);
    }
    match t {
        Some(FieldType::Float) => match v {
            Val::Float(f) => Some(Typed::Float(f)),
            Val::Integer(n) => Some(Typed::Float(n as f64)),
            Val::UInteger(n) => Some(Typed::Float(n as f64)),
            _ => None,
        },
        Some(FieldType::Integer) => match v {
            Val::Integer(n) | Val::Time(n) => Some(Typed::Integer(n)),
            Val::UInteger(n) => i64::try_from(n).ok().map(Typed::Integer),
            _ => None,
        },
        Some(FieldType::Unsigned) => match v {
            Val::Integer(n) => u64::try_from(n).ok().map(Typed::Unsigned),
            Val::UInteger(n) => Some(Typed::Unsigned(n)),
            _ => None,
        },
        Some(FieldType::Boolean) => match v {
            Val::Bool(b) => Some(Typed::Bool(b)),
            _ => None,
        },
        Some(FieldType::String) => match v {
            Val::Str(s) => Some(Typed::Str(s)),
            _ => None,
        },
        _ => match v {
            Val::Bool(b) => Some(Typed::Bool(b)),
            Val::Integer(n) => Some(Typed::Float(n as f64)),
            Val::Float(f) => Some(Typed::Float(f)),
            Val::Str(s) => Some(Typed::Str(s)),
            _ => None,
        },
    }
}

/// [`typed`] for a kind of value this reader does not know.
#[cold]
fn typed_value(v: &Value, t: Option<FieldType>) -> Option<Typed<'_>> {
    match t {
        Some(FieldType::Float) => v.as_f64().map(Typed::Float),
        Some(FieldType::Integer) => v.as_i64().map(Typed::Integer),
        Some(FieldType::Unsigned) => v.as_u64().map(Typed::Unsigned),
        Some(FieldType::Boolean) => v.as_bool().map(Typed::Bool),
        Some(FieldType::String) => v.as_str().map(Typed::Str),
        _ => None,
    }
}

/// Rows `range` of a reader's rows (`get`), written as one item of the
/// writer up to the first that makes no point, which [`Lines::refused`]
/// then names: the lines before it are in the writer, and the rows after
/// it go in the next item.
pub struct Lines<'c, 'd, F> {
    get: F,
    range: Range<usize>,
    declared: &'d HashMap<String, HashMap<String, FieldType>>,
    cache: RefCell<&'c mut ColumnTypes>,
    refused: RefCell<Option<(usize, String)>>,
}

impl<'c, 'd, 'r, F: Fn(usize) -> Option<RowParts<'r>>> Lines<'c, 'd, F> {
    /// Rows `range` of `get`, checked against their measurement's declared
    /// field types (`declared`: per measurement, field name to type).
    pub fn new(
        get: F,
        range: Range<usize>,
        declared: &'d HashMap<String, HashMap<String, FieldType>>,
        cache: &'c mut ColumnTypes,
    ) -> Self {
        Lines {
            get,
            range,
            declared,
            cache: RefCell::new(cache),
            refused: RefCell::new(None),
        }
    }

    /// The row that made no point, and why; rows after it were not written.
    pub fn refused(self) -> Option<(usize, String)> {
        self.refused.into_inner()
    }
}

impl<'r, F: Fn(usize) -> Option<RowParts<'r>>> ToLineProtocol for Lines<'_, '_, F> {
    fn write_lines(&self, out: &mut LineWriter<'_>) -> Result<(), Error> {
        let mut cache = self.cache.borrow_mut();
        for i in self.range.clone() {
            // Every index of the range is a row.
            let Some(row) = (self.get)(i) else { continue };
            if let Err(why) = write_row(row, self.declared, &mut cache, out) {
                *self.refused.borrow_mut() = Some((i, why));
                break;
            }
        }
        Ok(())
    }
}

/// Writes `row`'s line, or says why it makes none (and writes nothing).
#[inline]
fn write_row(
    row: RowParts<'_>,
    declared: &HashMap<String, HashMap<String, FieldType>>,
    cache: &mut ColumnTypes,
    out: &mut LineWriter<'_>,
) -> Result<(), String> {
    if row.name.is_none() {
        return Err(refusal(&row, &[], None));
    }
    let (types, key) = cache.of(&row, declared);
    let (Ok(key), Some(time)) = (key, row.time()) else {
        return Err(refusal(&row, types, key.as_ref().err().map(String::as_str)));
    };
    let written = match row.values {
        Values::Json(v) => write_line(out, key, time, &row, types, v.iter().map(Val::of)),
        Values::Msgpack(v, text) => {
            let vals = v.iter().map(|c| msgpack::val(*c, text));
            write_line(out, key, time, &row, types, vals)
        }
    };
    match written {
        Ok(true) => Ok(()),
        Ok(false) => Err(refusal(&row, types, None)),
        Err(e) => Err(refusal(
            &row,
            types,
            Some(&crate::write::one_line(&e.to_string())),
        )),
    }
}

/// Writes the line of `row`, whose values are `values`: false, writing
/// nothing, when a value does not fit its type or there is no field.
#[inline]
fn write_line<'r>(
    out: &mut LineWriter<'_>,
    key: &SeriesKey,
    time: i64,
    row: &RowParts<'_>,
    types: &[Option<FieldType>],
    values: impl Iterator<Item = Val<'r>>,
) -> Result<bool, Error> {
    let mut p = out.point_in(key)?;
    let mut fields = 0;
    for (i, v) in values.enumerate() {
        if Some(i) == row.time_index || v.is_null() {
            continue;
        }
        let col = row.columns.get(i).map_or("", String::as_str);
        match typed(v, types.get(i).copied().flatten()) {
            Some(Typed::Float(f)) => p.field_f64(col, f)?,
            Some(Typed::Integer(n)) => p.field_i64(col, n)?,
            Some(Typed::Unsigned(n)) => p.field_u64(col, n)?,
            Some(Typed::Bool(b)) => p.field_bool(col, b)?,
            Some(Typed::Str(s)) => p.field_str(col, s)?,
            // Dropped unfinished, the line leaves nothing behind.
            None => return Ok(false),
        };
        fields += 1;
    }
    if fields == 0 {
        return Ok(false);
    }
    p.finish(Some(time))?;
    Ok(true)
}

/// Why `row` makes no point, the first reason in this order: no series
/// name, a value that does not fit its column's type (`types`), no field,
/// no time; else `encode`, the encoder's reason.
#[cold]
fn refusal(row: &RowParts<'_>, types: &[Option<FieldType>], encode: Option<&str>) -> String {
    if row.name.is_none() {
        return "a row without a series name".to_owned();
    }
    let mut fields = 0;
    for i in 0..row.values.len() {
        let Some(v) = row.values.get(i) else { continue };
        if Some(i) == row.time_index || v.is_null() {
            continue;
        }
        if typed(v, types.get(i).copied().flatten()).is_none() {
            let col = row.columns.get(i).map_or("?", String::as_str);
            let v = v.to_value();
            return format!("field {col:?}: {v} does not fit its declared type");
        }
        fields += 1;
    }
    if fields == 0 {
        return "a row without fields".to_owned();
    }
    if row.time().is_none() {
        return "a row without a time".to_owned();
    }
    encode.map_or_else(|| "a row that makes no line".to_owned(), str::to_owned)
}
