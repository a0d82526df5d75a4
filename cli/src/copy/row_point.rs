//! A row of `SELECT * ... GROUP BY *` written back as the point it was
//! written as, straight into the writer's batch. Building a `Point` first
//! cost a dozen allocations a row (names, tags, values), which on a copy
//! between two servers on the same cores is CPU taken from them.

use std::collections::HashMap;
use std::sync::Arc;

use influx_stream::query::SeriesMeta;
use influx_stream::{Error, FieldType, LineWriter, Row, ToLineProtocol, Value};

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

/// The declared type of each column of one series, looked up once per
/// series rather than once per row or value.
#[derive(Debug, Default)]
pub struct ColumnTypes {
    series: Option<Cached>,
    types: Vec<Option<FieldType>>,
}

impl ColumnTypes {
    /// The types of `row`'s columns, from `declared` (per measurement,
    /// field name to type).
    fn of(
        &mut self,
        row: &RowParts<'_>,
        declared: &HashMap<String, HashMap<String, FieldType>>,
    ) -> &[Option<FieldType>] {
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
            self.series = Some(match row.series {
                Series::Json(m) => Cached::Json(m.clone()),
                Series::Msgpack(s) => Cached::Msgpack(s.clone()),
            });
        }
        &self.types
    }
}

/// A row checked to make a point: every value fits its column's type, there
/// is a field and a time.
#[derive(Debug)]
pub struct RowPoint<'a> {
    row: RowParts<'a>,
    name: &'a str,
    types: &'a [Option<FieldType>],
    time: i64,
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

impl<'a> RowPoint<'a> {
    /// Checks `row` against its measurement's declared field types
    /// (`declared`: per measurement, field name to type).
    ///
    /// # Errors
    /// Why the row makes no point.
    pub fn new(
        row: RowParts<'a>,
        declared: &HashMap<String, HashMap<String, FieldType>>,
        cache: &'a mut ColumnTypes,
    ) -> Result<RowPoint<'a>, String> {
        let name = row.name.ok_or("a row without a series name")?;
        let types = cache.of(&row, declared);
        let time_index = row.time_index;
        let mut fields = 0;
        for (i, v) in row.values.iter().enumerate() {
            if Some(i) == time_index || v.is_null() {
                continue;
            }
            let t = types.get(i).copied().flatten();
            if typed(v, t).is_none() {
                let col = row.columns.get(i).map_or("?", String::as_str);
                return Err(format!("field {col:?}: {v} does not fit its declared type"));
            }
            fields += 1;
        }
        if fields == 0 {
            return Err("a row without fields".to_owned());
        }
        let time = row.time().ok_or("a row without a time")?;
        Ok(RowPoint {
            row,
            name,
            types,
            time,
        })
    }
}

impl ToLineProtocol for RowPoint<'_> {
    fn write_lines(&self, out: &mut LineWriter<'_>) -> Result<(), Error> {
        let mut p = out.point(self.name)?;
        // Tags come sorted by key, as line protocol wants them.
        for (k, v) in self.row.tags {
            p.tag(k, v)?;
        }
        let time_index = self.row.time_index;
        let columns = self.row.columns;
        for (i, v) in self.row.values.iter().enumerate() {
            if Some(i) == time_index || v.is_null() {
                continue;
            }
            let key = columns.get(i).map_or("", String::as_str);
            // `new` checked every value: none is left out here.
            match typed(v, self.types.get(i).copied().flatten()) {
                Some(Typed::Float(f)) => p.field_f64(key, f)?,
                Some(Typed::Integer(n)) => p.field_i64(key, n)?,
                Some(Typed::Unsigned(n)) => p.field_u64(key, n)?,
                Some(Typed::Bool(b)) => p.field_bool(key, b)?,
                Some(Typed::Str(s)) => p.field_str(key, s)?,
                None => &mut p,
            };
        }
        p.finish(Some(self.time))
    }
}
