//! A row of `SELECT * ... GROUP BY *` written back as the point it was
//! written as, straight into the writer's batch. Building a `Point` first
//! cost a dozen allocations a row (names, tags, values), which on a copy
//! between two servers on the same cores is CPU taken from them.

use std::collections::HashMap;
use std::sync::Arc;

use influx_stream::query::SeriesMeta;
use influx_stream::{Error, FieldType, LineWriter, Row, ToLineProtocol, Value};

/// The declared type of each column of one series, looked up once per
/// series rather than once per value.
#[derive(Debug, Default)]
pub struct ColumnTypes {
    meta: Option<Arc<SeriesMeta>>,
    types: Vec<Option<FieldType>>,
}

impl ColumnTypes {
    /// The types of `row`'s columns, from `declared` (field name to type).
    fn of(&mut self, row: &Row, declared: &HashMap<String, FieldType>) -> &[Option<FieldType>] {
        let meta = row.meta();
        if !self.meta.as_ref().is_some_and(|m| Arc::ptr_eq(m, meta)) {
            self.types.clear();
            self.types
                .extend(meta.columns().iter().map(|c| declared.get(c).copied()));
            self.meta = Some(meta.clone());
        }
        &self.types
    }
}

/// A row checked to make a point: every value fits its column's type, there
/// is a field and a time.
#[derive(Debug)]
pub struct RowPoint<'a> {
    row: &'a Row,
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
    /// Checks `row` against its measurement's declared field types.
    ///
    /// # Errors
    /// Why the row makes no point.
    pub fn new(
        row: &'a Row,
        declared: &HashMap<String, FieldType>,
        cache: &'a mut ColumnTypes,
    ) -> Result<RowPoint<'a>, String> {
        let name = row.series_name().ok_or("a row without a series name")?;
        let types = cache.of(row, declared);
        let time_index = row.meta().time_index();
        let mut fields = 0;
        for (i, v) in row.values().iter().enumerate() {
            if Some(i) == time_index || v.is_null() {
                continue;
            }
            let t = types.get(i).copied().flatten();
            if typed(v, t).is_none() {
                let col = row.columns().get(i).map_or("?", String::as_str);
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
        // The server sends tags sorted by key, as line protocol wants them.
        for (k, v) in self.row.tags() {
            p.tag(k, v)?;
        }
        let time_index = self.row.meta().time_index();
        let columns = self.row.columns();
        for (i, v) in self.row.values().iter().enumerate() {
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
