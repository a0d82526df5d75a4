//! [`Client::query_arrow`]: a query's series chunks as typed `RecordBatch`es.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, StringBuilder, UInt64Builder,
};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, DictionaryArray, Int32Array, RecordBatch, StringArray, TimestampNanosecondArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use futures::StreamExt;

use crate::client::Client;
use crate::error::{self, Error};
use crate::field_types::{column_kinds, Kind, Known, Resolver};
use crate::influxql::Query;
use crate::query::row::RowCells;
use crate::query::stream::FlatChunk;
use crate::query::{SeriesMeta, SeriesRows, Value};
use crate::QueryStream;

/// The time zone of the `time` column: InfluxDB times are UTC. An offset
/// rather than `"UTC"`, which arrow can only use with its `chrono-tz` feature.
const UTC: &str = "+00:00";

/// The Arrow type of a column of `kind`.
fn data_type(kind: Kind) -> DataType {
    match kind {
        Kind::Time => DataType::Timestamp(TimeUnit::Nanosecond, Some(UTC.into())),
        Kind::Float => DataType::Float64,
        Kind::Integer => DataType::Int64,
        Kind::Unsigned => DataType::UInt64,
        Kind::String => DataType::Utf8,
        Kind::Boolean => DataType::Boolean,
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
    /// The layout of the series `meta`, from what the server declared and
    /// the rows of its first chunk.
    fn new(meta: &Arc<SeriesMeta>, known: Option<&Known>, first: &[impl AsRef<[Value]>]) -> Layout {
        let columns = meta.columns();
        let kinds = column_kinds(meta, known, first);

        // Output order: time, the GROUP BY tags, the other columns.
        let mut fields = Vec::with_capacity(columns.len() + meta.tags().len());
        let mut out_index = vec![0; columns.len()];
        if let Some(t) = meta.time_index() {
            out_index[t] = fields.len();
            fields.push(Field::new(&columns[t], data_type(Kind::Time), false));
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
                fields.push(Field::new(name, data_type(kinds[j]), true));
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

    /// One chunk as one batch, straight from the decoder's values.
    fn batch(&self, chunk: &mut SeriesRows) -> Result<RecordBatch, Error> {
        let rows = chunk.len();
        let mut builders: Vec<Builder> =
            self.kinds.iter().map(|k| Builder::new(*k, rows)).collect();
        let mut push = |_: &Arc<SeriesMeta>, row: RowCells<'_>, index: u64| {
            for (j, b) in builders.iter_mut().enumerate() {
                let v = row.cells.get(j).map_or(Value::Null, |&c| row.value(c));
                if !b.push(&v) {
                    return Err(self.mismatch(j, &v, index));
                }
            }
            Ok(())
        };
        while let Some(pushed) = chunk.next_cells(&mut push) {
            pushed?;
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
                data_type(kind)
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
            Kind::String => Builder::Utf8(StringBuilder::with_capacity(rows, rows * 8)),
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
        let mut query = query.into();
        let mut types = Resolver::new(self, &query);
        // The batches' builders convert by the column kinds: the chunks
        // come as the JSON typed them.
        query.field_types = Some(false);
        let mut chunks = self.query_flat_chunks(query);
        let bytes = chunks.bytes.clone();
        let inner = async_stream::stream! {
            let mut layout: Option<Layout> = None;
            while let Some(item) = chunks.next().await {
                // Statement errors come as `Err` items; messages are logged.
                let mut chunk = match item {
                    Ok(FlatChunk(rows)) => rows,
                    Err(e) => {
                        yield Err(e);
                        continue;
                    }
                };
                if chunk.len() == 0 {
                    continue;
                }
                let meta = Arc::clone(chunk.meta());
                if !layout.as_ref().is_some_and(|l| Arc::ptr_eq(&l.meta, &meta)) {
                    let known = match types.known(&meta).await {
                        Ok(k) => k,
                        Err(e) => {
                            yield Err(e.with_context("query_arrow: cannot learn the field types"));
                            return;
                        }
                    };
                    layout = Some(Layout::new(&meta, known.as_deref(), &chunk.remaining()));
                }
                if let Some(l) = &layout {
                    yield l.batch(&mut chunk);
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
    use crate::admin::FieldType;
    use crate::query::{Chunk, DecodeOptions, Decoder, SeriesChunk};

    /// The rows of a chunk, as `Layout::new` takes the first chunk's.
    fn first(c: &SeriesChunk) -> Vec<&[Value]> {
        c.values.iter().map(Vec::as_slice).collect()
    }

    fn batch(layout: &Layout, c: &SeriesChunk) -> Result<RecordBatch, Error> {
        layout.batch(&mut c.clone().rows())
    }

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
        let layout = Layout::new(&c.meta, Some(&known), &first(c));
        let batch = batch(&layout, c)?;
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
            let layout = Layout::new(&c.meta, Some(&known), &first(c));
            let batch = batch(&layout, c)?;
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
        let layout = Layout::new(&cs[0].meta, None, &first(&cs[0]));
        assert!(batch(&layout, &cs[0]).is_ok());
        let e = batch(&layout, &cs[1]).expect_err("a string in a Float64 column");
        assert!(e.is_decode() && e.to_string().contains("\"x\""), "{e}");
        assert!(e.to_string().contains("row 2"), "{e}");
    }
}
