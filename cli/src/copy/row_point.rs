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

use super::msgpack::{self, RowRef};

/// What a point is made of, from a row of either reader.
#[derive(Debug, Clone, Copy)]
pub struct RowParts<'a> {
    /// The measurement.
    pub name: Option<&'a str>,
    /// Tags sorted by key.
    pub tags: &'a [(String, String)],
    columns: &'a [String],
    values: &'a [Value],
    time_index: Option<usize>,
    series: Series<'a>,
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
            values: row.values(),
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
            values: row.values,
            time_index: s.time_index,
            series: Series::Msgpack(s),
        }
    }

    /// The `time` column in nanoseconds.
    pub fn time(&self) -> Option<i64> {
        self.time_index
            .and_then(|i| self.values.get(i))
            .and_then(Value::as_time_ns)
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

/// `v` as a value of type `t`; without a declared type, as the JSON typed
/// it, numbers as floats (the source prints whole floats as integers).
#[inline]
fn typed(v: &Value, t: Option<FieldType>) -> Option<Typed<'_>> {
    match t {
        Some(FieldType::Float) => v.as_f64().map(Typed::Float),
        Some(FieldType::Integer) => v.as_i64().map(Typed::Integer),
        Some(FieldType::Unsigned) => v.as_u64().map(Typed::Unsigned),
        Some(FieldType::Boolean) => v.as_bool().map(Typed::Bool),
        Some(FieldType::String) => v.as_str().map(Typed::Str),
        _ => match v {
            Value::Bool(b) => Some(Typed::Bool(*b)),
            Value::Integer(i) => Some(Typed::Float(*i as f64)),
            Value::Float(f) => Some(Typed::Float(*f)),
            Value::String(s) => Some(Typed::Str(s.as_str())),
            _ => None,
        },
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
    let written = (|| -> Result<bool, Error> {
        let mut p = out.point_in(key)?;
        let mut fields = 0;
        for (i, v) in row.values.iter().enumerate() {
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
    })();
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

/// Why `row` makes no point, the first reason in this order: no series
/// name, a value that does not fit its column's type (`types`), no field,
/// no time; else `encode`, the encoder's reason.
#[cold]
fn refusal(row: &RowParts<'_>, types: &[Option<FieldType>], encode: Option<&str>) -> String {
    if row.name.is_none() {
        return "a row without a series name".to_owned();
    }
    let mut fields = 0;
    for (i, v) in row.values.iter().enumerate() {
        if Some(i) == row.time_index || v.is_null() {
            continue;
        }
        if typed(v, types.get(i).copied().flatten()).is_none() {
            let col = row.columns.get(i).map_or("?", String::as_str);
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
