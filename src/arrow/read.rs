//! [`Client::query_arrow`]: a query's series chunks as typed `RecordBatch`es.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, UInt64Builder,
};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, DictionaryArray, Int32Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use futures::StreamExt;
use serde_json::Value as Json;

use crate::admin::FieldType;
use crate::client::{check_statement_errors, Client};
use crate::error::{self, Error};
use crate::influxql::{quote_ident, Query};
use crate::query::{Chunk, QueryStream, SeriesChunk, SeriesMeta, Value};

/// The time zone of the `time` column: InfluxDB times are UTC. An offset
/// rather than `"UTC"`, which arrow can only use with its `chrono-tz` feature.
const UTC: &str = "+00:00";

/// What the server said about one measurement: its field types and tag keys,
/// plus the column names known to be neither (aggregates, expressions).
#[derive(Debug, Default)]
struct Known {
    fields: HashMap<String, FieldType>,
    tags: HashSet<String>,
    others: HashSet<String>,
}

impl Known {
    fn knows(&self, column: &str) -> bool {
        self.fields.contains_key(column)
            || self.tags.contains(column)
            || self.others.contains(column)
    }
}

/// `(database, retention policy, measurement)`.
type Key = (String, String, String);

/// Measurements whose types a client remembers at most.
const MAX_CACHED_MEASUREMENTS: usize = 1024;

/// Field types and tag keys per measurement, shared by every clone of a
/// [`Client`] (it lives behind the client's `Arc`).
#[derive(Debug, Default)]
pub(crate) struct TypeCache {
    map: Mutex<HashMap<Key, Arc<Known>>>,
}

impl TypeCache {
    fn get(&self, key: &Key) -> Option<Arc<Known>> {
        self.lock().get(key).cloned()
    }

    fn put(&self, key: Key, known: Known) -> Arc<Known> {
        let known = Arc::new(known);
        let mut map = self.lock();
        if map.len() >= MAX_CACHED_MEASUREMENTS && !map.contains_key(&key) {
            // Bounded: a client that reads ever new measurements starts
            // over rather than growing (a miss costs one SHOW request).
            map.clear();
        }
        map.insert(key, known.clone());
        known
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Known>>> {
        // The map is always left whole: a poisoned lock is still usable.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Asks the server for the field types and tag keys of `measurement`, in one
/// request of two statements.
async fn fetch_known(
    client: &Client,
    db: &str,
    rp: Option<&str>,
    measurement: &str,
) -> Result<Known, Error> {
    let m = quote_ident(measurement);
    let mut query = Query::new(format!("SHOW FIELD KEYS FROM {m}; SHOW TAG KEYS FROM {m}"))
        .database(db)
        .chunk_size(10_000);
    if let Some(rp) = rp {
        query = query.retention_policy(rp);
    }
    let docs = client.query_documents(query).await?;
    let mut known = Known::default();
    for doc in &docs {
        check_statement_errors(doc)?;
        for result in doc["results"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let statement = result["statement_id"].as_u64();
            for series in result["series"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if series["name"].as_str() != Some(measurement) {
                    continue;
                }
                let columns: Vec<&str> = series["columns"]
                    .as_array()
                    .map(|c| c.iter().map(|v| v.as_str().unwrap_or("")).collect())
                    .unwrap_or_default();
                let col = |name: &str| columns.iter().position(|c| *c == name);
                let rows = series["values"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let cell = |row: &'_ Json, c: Option<usize>| -> Option<String> {
                    row.get(c?)?.as_str().map(str::to_owned)
                };
                match statement {
                    Some(0) => {
                        let (k, t) = (col("fieldKey"), col("fieldType"));
                        for row in rows {
                            let ty = cell(row, t).as_deref().and_then(FieldType::parse);
                            if let (Some(key), Some(ty)) = (cell(row, k), ty) {
                                known.fields.insert(key, ty);
                            }
                        }
                    }
                    Some(1) => {
                        let k = col("tagKey");
                        known
                            .tags
                            .extend(rows.iter().filter_map(|row| cell(row, k)));
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(known)
}

/// The Arrow type a query column is converted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Time,
    Float,
    Integer,
    Unsigned,
    Utf8,
    Boolean,
}

impl Kind {
    fn of_field(t: FieldType) -> Kind {
        match t {
            FieldType::Float => Kind::Float,
            FieldType::Integer => Kind::Integer,
            FieldType::Unsigned => Kind::Unsigned,
            FieldType::String => Kind::Utf8,
            FieldType::Boolean => Kind::Boolean,
        }
    }

    fn data_type(self) -> DataType {
        match self {
            Kind::Time => DataType::Timestamp(TimeUnit::Nanosecond, Some(UTC.into())),
            Kind::Float => DataType::Float64,
            Kind::Integer => DataType::Int64,
            Kind::Unsigned => DataType::UInt64,
            Kind::Utf8 => DataType::Utf8,
            Kind::Boolean => DataType::Boolean,
        }
    }

    /// Whether `v` fits a column of this kind (nulls always do).
    fn accepts(self, v: &Value) -> bool {
        match (self, v) {
            (_, Value::Null) => true,
            (Kind::Time, Value::Time(_)) => true,
            (Kind::Float, Value::Float(_) | Value::Integer(_) | Value::UInteger(_)) => true,
            (Kind::Integer, Value::Integer(_)) => true,
            (Kind::Unsigned, Value::Integer(i)) => *i >= 0,
            (Kind::Unsigned, Value::UInteger(_)) => true,
            (Kind::Utf8, Value::String(_)) => true,
            (Kind::Boolean, Value::Bool(_)) => true,
            _ => false,
        }
    }

    /// The kind for a column the server gave no type for, from its first
    /// non-null value: numbers are floats (JSON cannot tell 12.0 from 12).
    fn infer<'a>(mut values: impl Iterator<Item = &'a Value>) -> Kind {
        values
            .find_map(|v| match v {
                Value::String(_) => Some(Kind::Utf8),
                Value::Bool(_) => Some(Kind::Boolean),
                Value::Null => None,
                _ => Some(Kind::Float),
            })
            .unwrap_or(Kind::Float)
    }
}

/// How one series' chunks become batches: decided from its first chunk and
/// kept for the others, so every batch of a series has the same schema.
#[derive(Debug)]
struct Layout {
    meta: Arc<SeriesMeta>,
    schema: SchemaRef,
    /// The kind of each server column, in the server's order.
    kinds: Vec<Kind>,
    /// Output position of each server column.
    out_index: Vec<usize>,
    /// `(output position, value)` of each `GROUP BY` tag.
    tags: Vec<(usize, String)>,
}

impl Layout {
    fn new(meta: &Arc<SeriesMeta>, known: Option<&Known>, first: &SeriesChunk) -> Layout {
        let columns = meta.columns();
        let kinds: Vec<Kind> = columns
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let column = || {
                    first
                        .values
                        .iter()
                        .map(move |row| row.get(j).unwrap_or(&Value::Null))
                };
                if Some(j) == meta.time_index() {
                    return Kind::Time;
                }
                let declared = known.and_then(|k| {
                    k.fields
                        .get(name)
                        .map(|t| Kind::of_field(*t))
                        .or_else(|| k.tags.contains(name).then_some(Kind::Utf8))
                });
                match declared {
                    // An aggregate named like the field (`mean(n) AS n`) may
                    // not hold the field's type: then go by the values.
                    Some(kind) if column().all(|v| kind.accepts(v)) => kind,
                    _ => Kind::infer(column()),
                }
            })
            .collect();

        // Output order: time, the GROUP BY tags, the other columns.
        let mut fields = Vec::with_capacity(columns.len() + meta.tags().len());
        let mut out_index = vec![0; columns.len()];
        if let Some(t) = meta.time_index() {
            out_index[t] = fields.len();
            fields.push(Field::new(&columns[t], Kind::Time.data_type(), false));
        }
        let mut tags = Vec::new();
        for (k, v) in meta.tags() {
            // A tag that is also a column: the column wins (as in Row).
            if columns.contains(k) {
                continue;
            }
            tags.push((fields.len(), v.clone()));
            fields.push(Field::new(
                k,
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                false,
            ));
        }
        for (j, name) in columns.iter().enumerate() {
            if Some(j) != meta.time_index() {
                out_index[j] = fields.len();
                fields.push(Field::new(name, kinds[j].data_type(), true));
            }
        }
        let mut metadata = HashMap::new();
        if let Some(name) = meta.name() {
            metadata.insert("measurement".to_owned(), name.to_owned());
        }
        metadata.insert("statement_id".to_owned(), meta.statement_id().to_string());
        Layout {
            meta: meta.clone(),
            schema: Arc::new(Schema::new_with_metadata(fields, metadata)),
            kinds,
            out_index,
            tags,
        }
    }

    /// One chunk as one batch.
    fn batch(&self, chunk: &SeriesChunk) -> Result<RecordBatch, Error> {
        let rows = chunk.values.len();
        let mut builders: Vec<Builder> =
            self.kinds.iter().map(|k| Builder::new(*k, rows)).collect();
        for (i, row) in chunk.values.iter().enumerate() {
            for (j, b) in builders.iter_mut().enumerate() {
                let v = row.get(j).unwrap_or(&Value::Null);
                if !b.push(v) {
                    return Err(self.mismatch(j, v, chunk.first_row + i as u64));
                }
            }
        }
        let mut out: Vec<Option<ArrayRef>> = vec![None; self.schema.fields().len()];
        for (j, b) in builders.into_iter().enumerate() {
            out[self.out_index[j]] = Some(b.finish());
        }
        for (at, value) in &self.tags {
            let keys = Int32Array::from(vec![0; rows]);
            let values = Arc::new(StringArray::from(vec![value.as_str()]));
            let dict = DictionaryArray::<Int32Type>::try_new(keys, values)
                .map_err(|e| error::decode("cannot build a tag column").with_source(e))?;
            out[*at] = Some(Arc::new(dict));
        }
        let columns: Vec<ArrayRef> = out.into_iter().flatten().collect();
        RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| error::decode("cannot build a RecordBatch").with_source(e))
    }

    #[cold]
    fn mismatch(&self, j: usize, v: &Value, row: u64) -> Error {
        let column = &self.meta.columns()[j];
        let kind = self.kinds[j];
        let hint = if kind == Kind::Time {
            "the time column must hold epoch times".to_owned()
        } else {
            format!(
                "the column's type was fixed as {} by the field's type or by the series' first chunk; \
                 alias aggregates to names that are not fields (`SELECT mean(x) AS mean_x`)",
                kind.data_type()
            )
        };
        error::decode(format!(
            "query_arrow: series {:?}, column {column:?}, row {row}: {v:?} does not fit; {hint}",
            self.meta.name().unwrap_or(""),
        ))
    }
}

/// A column being built.
enum Builder {
    Time(Vec<i64>),
    Float(Float64Builder),
    Integer(Int64Builder),
    Unsigned(UInt64Builder),
    Utf8(StringBuilder),
    Boolean(BooleanBuilder),
}

impl Builder {
    fn new(kind: Kind, rows: usize) -> Builder {
        match kind {
            Kind::Time => Builder::Time(Vec::with_capacity(rows)),
            Kind::Float => Builder::Float(Float64Builder::with_capacity(rows)),
            Kind::Integer => Builder::Integer(Int64Builder::with_capacity(rows)),
            Kind::Unsigned => Builder::Unsigned(UInt64Builder::with_capacity(rows)),
            Kind::Utf8 => Builder::Utf8(StringBuilder::with_capacity(rows, rows * 8)),
            Kind::Boolean => Builder::Boolean(BooleanBuilder::with_capacity(rows)),
        }
    }

    /// Appends `v`; false when it does not fit.
    #[inline]
    fn push(&mut self, v: &Value) -> bool {
        match (self, v) {
            (Builder::Time(b), Value::Time(t)) => b.push(*t),
            (Builder::Float(b), Value::Float(f)) => b.append_value(*f),
            (Builder::Float(b), Value::Integer(i)) => b.append_value(*i as f64),
            (Builder::Float(b), Value::UInteger(u)) => b.append_value(*u as f64),
            (Builder::Float(b), Value::Null) => b.append_null(),
            (Builder::Integer(b), Value::Integer(i)) => b.append_value(*i),
            (Builder::Integer(b), Value::Null) => b.append_null(),
            (Builder::Unsigned(b), Value::UInteger(u)) => b.append_value(*u),
            (Builder::Unsigned(b), Value::Integer(i)) if *i >= 0 => b.append_value(*i as u64),
            (Builder::Unsigned(b), Value::Null) => b.append_null(),
            (Builder::Utf8(b), Value::String(s)) => b.append_value(s),
            (Builder::Utf8(b), Value::Null) => b.append_null(),
            (Builder::Boolean(b), Value::Bool(x)) => b.append_value(*x),
            (Builder::Boolean(b), Value::Null) => b.append_null(),
            _ => return false,
        }
        true
    }

    fn finish(self) -> ArrayRef {
        match self {
            Builder::Time(v) => Arc::new(TimestampNanosecondArray::from(v).with_timezone(UTC)),
            Builder::Float(mut b) => Arc::new(b.finish()),
            Builder::Integer(mut b) => Arc::new(b.finish()),
            Builder::Unsigned(mut b) => Arc::new(b.finish()),
            Builder::Utf8(mut b) => Arc::new(b.finish()),
            Builder::Boolean(mut b) => Arc::new(b.finish()),
        }
    }
}

/// Per stream: the cache, and which measurements this stream refreshed.
struct Types {
    client: Client,
    db: Option<String>,
    rp: Option<String>,
    /// The `FROM` sources the query text names.
    sources: Vec<crate::influxql::Source>,
    refreshed: HashSet<String>,
}

impl Types {
    /// What the server says about the measurement of `meta`: from the cache,
    /// refreshed (at most once per stream and measurement) when a column
    /// appears that the cache does not know.
    async fn known(&mut self, meta: &SeriesMeta) -> Result<Option<Arc<Known>>, Error> {
        let Some(name) = meta.name() else {
            return Ok(None);
        };
        // The database and policy as the query names them for this
        // measurement (`FROM otherdb..m`), else the query's own.
        let (db, rp) = match self.sources.iter().find(|s| s.measurement == name) {
            Some(s) => (
                s.database.as_deref().or(self.db.as_deref()),
                s.retention_policy.as_deref().or(self.rp.as_deref()),
            ),
            None => (self.db.as_deref(), self.rp.as_deref()),
        };
        let Some(db) = db else {
            return Ok(None);
        };
        let rp = rp.map(str::to_owned);
        let key: Key = (
            db.to_owned(),
            rp.clone().unwrap_or_default(),
            name.to_owned(),
        );
        let cache = self.client.arrow_types();
        let cached = cache.get(&key);
        let unknown: Vec<&String> = meta
            .columns()
            .iter()
            .enumerate()
            .filter(|(j, c)| {
                meta.time_index() != Some(*j) && !cached.as_ref().is_some_and(|k| k.knows(c))
            })
            .map(|(_, c)| c)
            .collect();
        if (cached.is_some() && unknown.is_empty()) || self.refreshed.contains(name) {
            return Ok(cached);
        }
        self.refreshed.insert(name.to_owned());
        let mut known = fetch_known(&self.client, db, rp.as_deref(), name).await?;
        // Remember names that are neither fields nor tags (aggregates,
        // expressions), so that they do not cause a refresh every time.
        if let Some(old) = &cached {
            known.others.extend(old.others.iter().cloned());
        }
        for c in unknown {
            if !known.fields.contains_key(c) && !known.tags.contains(c) {
                known.others.insert(c.clone());
            }
        }
        Ok(Some(cache.put(key, known)))
    }
}

impl Client {
    /// Runs a query and streams its result as Arrow [`RecordBatch`]es: one
    /// per series chunk (at most [`Query::chunk_size`] rows, 10,000 by
    /// default), so memory stays bounded by the chunk size.
    ///
    /// Each batch has, in this order:
    /// - `time` as `Timestamp(Nanosecond, "+00:00")` (InfluxDB times are UTC);
    /// - the series' `GROUP BY` tags as `Dictionary(Int32, Utf8)` columns;
    /// - the other columns in the server's order, typed by the server's
    ///   field types (`SHOW FIELD KEYS`): float `Float64`, integer `Int64`,
    ///   unsigned `UInt64`, string `Utf8`, boolean `Boolean`. A whole float
    ///   (which the JSON prints as `12`) stays `Float64`. Tags selected as
    ///   columns are `Utf8`.
    ///
    /// Columns the server gives no type for (aggregates such as `mean` or
    /// `count`, expressions, `SHOW` listings) are `Float64`, except that
    /// strings or booleans in the first chunk of a series make them `Utf8`
    /// or `Boolean`. So is an aggregate aliased to a field's name whose
    /// values do not fit the field's type (`mean(n) AS n` of an integer `n`).
    ///
    /// Every batch of one series has the same schema, so
    /// `arrow_select::concat::concat_batches` can join them; batches of
    /// series with the same columns share it too. The schema's metadata
    /// holds the series' `measurement` and `statement_id`.
    ///
    /// Field types and tag keys are asked for (`SHOW FIELD KEYS` and `SHOW
    /// TAG KEYS`, in one request) once per database, retention policy and
    /// measurement, and kept by the client and its clones; a column the
    /// cache does not know makes a stream ask again, once per measurement.
    ///
    /// # Errors
    /// Items are `Err` as for [`Client::query`]; also when the field types
    /// cannot be fetched (the stream ends), and when a value does not fit
    /// its column's type (named in the error).
    ///
    /// # Examples
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use influx_stream::{Client, Query};
    ///
    /// # async fn run() -> Result<(), influx_stream::Error> {
    /// let client = Client::builder("http://127.0.0.1:8086").database("telemetry").build()?;
    /// let mut batches = client.query_arrow(Query::new("SELECT * FROM cpu GROUP BY host"));
    /// while let Some(batch) = batches.try_next().await? {
    ///     println!("{} rows: {:?}", batch.num_rows(), batch.schema());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn query_arrow(&self, query: impl Into<Query>) -> QueryStream<RecordBatch> {
        let query = query.into();
        let mut types = Types {
            client: self.clone(),
            db: query
                .database
                .clone()
                .or_else(|| self.database().map(str::to_owned)),
            rp: query
                .retention_policy
                .clone()
                .or_else(|| self.retention_policy().map(str::to_owned)),
            sources: crate::influxql::from_sources(&query.text),
            refreshed: HashSet::new(),
        };
        let mut chunks = self.query_chunks(query);
        let bytes = chunks.bytes.clone();
        let inner = async_stream::stream! {
            let mut layout: Option<Layout> = None;
            while let Some(item) = chunks.next().await {
                let chunk = match item {
                    Ok(Chunk::Series(chunk)) => chunk,
                    Ok(Chunk::StatementError { statement_id, message }) => {
                        yield Err(error::query(statement_id, &message));
                        continue;
                    }
                    Ok(Chunk::Message { statement_id, level, text }) => {
                        tracing::warn!(statement_id, %level, %text, "message from InfluxDB");
                        continue;
                    }
                    Ok(_) => continue,
                    Err(e) => {
                        yield Err(e);
                        continue;
                    }
                };
                if chunk.values.is_empty() {
                    continue;
                }
                if !layout.as_ref().is_some_and(|l| Arc::ptr_eq(&l.meta, &chunk.meta)) {
                    let known = match types.known(&chunk.meta).await {
                        Ok(k) => k,
                        Err(e) => {
                            yield Err(e.with_context("query_arrow: cannot learn the field types"));
                            return;
                        }
                    };
                    layout = Some(Layout::new(&chunk.meta, known.as_deref(), &chunk));
                }
                if let Some(l) = &layout {
                    yield l.batch(&chunk);
                }
            }
        };
        QueryStream {
            inner: Box::pin(inner),
            bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    use arrow_array::Array;

    use super::*;
    use crate::query::{DecodeOptions, Decoder};

    fn chunks(body: &str) -> Vec<SeriesChunk> {
        let mut d = Decoder::new(DecodeOptions::new());
        d.feed(body.as_bytes());
        d.finish();
        let mut out = Vec::new();
        while let Some(c) = d.next_chunk() {
            if let Ok(Chunk::Series(s)) = c {
                out.push(s);
            }
        }
        out
    }

    /// Capture 41 (epoch=ns): whole floats (`2`, `-0`, `1e+300`) stay floats.
    #[test]
    fn field_types_decide_over_json_syntax() -> Result<(), Error> {
        let body = r#"{"results":[{"statement_id":0,"series":[{"name":"types","columns":["time","f","i","s","b","agg"],"values":[[1,1.5,42,"text",true,3],[2,2,-9223372036854775808,"",false,null],[3,1e+300,9223372036854775807,null,null,4.5],[4,-0,null,"only s",null,7]]}]}]}"#;
        let c = &chunks(body)[0];
        let mut known = Known::default();
        known.fields.insert("f".into(), FieldType::Float);
        known.fields.insert("i".into(), FieldType::Integer);
        known.fields.insert("s".into(), FieldType::String);
        known.fields.insert("b".into(), FieldType::Boolean);
        let layout = Layout::new(&c.meta, Some(&known), c);
        let batch = layout.batch(c)?;
        let types: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().to_string())
            .collect();
        assert_eq!(
            types,
            [
                "Timestamp(Nanosecond, Some(\"+00:00\"))",
                "Float64",
                "Int64",
                "Utf8",
                "Boolean",
                "Float64"
            ]
        );
        let f = batch.column(1).as_primitive::<Float64Type>();
        assert_eq!(f.values().to_vec(), [1.5, 2.0, 1e300, -0.0]);
        assert!(f.value(3).is_sign_negative());
        let i = batch.column(2).as_primitive::<Int64Type>();
        assert_eq!(
            (i.value(1), i.value(2), i.is_null(3)),
            (i64::MIN, i64::MAX, true)
        );
        assert_eq!(batch.column(3).as_string::<i32>().value(1), "");
        assert!(batch.column(5).is_null(1));
        Ok(())
    }

    /// Capture 23: GROUP BY host gives one dictionary column per tag; the
    /// tag `region` selected as a column is Utf8; `count` (an integer field)
    /// is Int64 even where null.
    #[test]
    fn group_by_tags_are_dictionary_columns() -> Result<(), Error> {
        let body = r#"{"results":[{"statement_id":0,"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","usage","count","region"],"values":[[1704067200000000000,0.25,0,"eu"],[1704067260000000000,1.75,10,"eu"]]},{"name":"cpu","tags":{"host":"d"},"columns":["time","usage","count","region"],"values":[[1704067200000000000,1.5,null,"us"]]}]}]}"#;
        let mut known = Known::default();
        known.fields.insert("usage".into(), FieldType::Float);
        known.fields.insert("count".into(), FieldType::Integer);
        known.tags.insert("region".into());
        known.tags.insert("host".into());
        let mut schemas = Vec::new();
        for (c, host) in chunks(body).iter().zip(["a", "d"]) {
            let layout = Layout::new(&c.meta, Some(&known), c);
            let batch = layout.batch(c)?;
            let names: Vec<&str> = batch
                .schema_ref()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            assert_eq!(names, ["time", "host", "usage", "count", "region"]);
            let dict = batch.column(1).as_dictionary::<Int32Type>();
            let values = dict.values().as_string::<i32>();
            assert!(dict.keys().iter().all(|k| k == Some(0)));
            assert_eq!(values.value(0), host);
            assert_eq!(batch.schema().metadata()["measurement"], "cpu");
            schemas.push(batch.schema());
        }
        assert_eq!(schemas[0], schemas[1]);
        Ok(())
    }

    #[test]
    fn a_value_that_does_not_fit_names_the_column() {
        let body = r#"{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","x"],"values":[[1,1],[2,2]],"partial":true}],"partial":true}]}
{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","x"],"values":[[3,"oops"]]}]}]}"#;
        let cs = chunks(body);
        let layout = Layout::new(&cs[0].meta, None, &cs[0]);
        assert!(layout.batch(&cs[0]).is_ok());
        let e = layout
            .batch(&cs[1])
            .expect_err("a string in a Float64 column");
        assert!(e.is_decode() && e.to_string().contains("\"x\""), "{e}");
        assert!(e.to_string().contains("row 2"), "{e}");
    }
}
