//! Arrow RecordBatches against a real influxd: every supported column type
//! written and read back, nulls, hostile tag values, GROUP BY series as
//! dictionary columns, whole floats, the Writer sink, the field-type cache.
#![cfg(feature = "arrow")]

mod support;

use std::sync::Arc;

use futures::{stream, StreamExt, TryStreamExt};
use influx_stream::arrow::arrow_array::cast::AsArray;
use influx_stream::arrow::arrow_array::types::{Float64Type, Int32Type, Int64Type, UInt16Type};
use influx_stream::arrow::arrow_array::{
    Array, ArrayRef, BooleanArray, DictionaryArray, Float32Array, Float64Array, Int16Array,
    Int32Array, Int64Array, Int8Array, LargeStringArray, RecordBatch, StringArray, StringViewArray,
    TimestampMillisecondArray, TimestampNanosecondArray, TimestampSecondArray, UInt16Array,
    UInt32Array, UInt64Array, UInt8Array,
};
use influx_stream::arrow::arrow_schema::DataType;
use influx_stream::arrow::ArrowWrite;
use influx_stream::{Client, Error, Query, WriteOptions};
use support::influxd::{unique_db, Influxd};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn fresh_db(prefix: &str) -> Result<Client, Error> {
    let db = unique_db(prefix);
    // InfluxDB 1.6 has no unsigned fields: UInt64 columns go as integers.
    let client = Client::builder(Influxd::shared().url())
        .database(&db)
        .unsigned_as_integer(true)
        .build()?;
    client.create_database(&db).await?;
    Ok(client)
}

fn batch(cols: Vec<(&str, ArrayRef)>) -> Result<RecordBatch, Box<dyn std::error::Error>> {
    Ok(RecordBatch::try_from_iter(cols)?)
}

async fn read(client: &Client, q: impl Into<Query>) -> Result<Vec<RecordBatch>, Error> {
    client.query_arrow(q).try_collect().await
}

fn column<'a>(b: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef, String> {
    b.column_by_name(name)
        .ok_or_else(|| format!("no column {name:?} in {:?}", b.schema()))
}

fn type_of(b: &RecordBatch, name: &str) -> Result<DataType, String> {
    Ok(column(b, name)?.data_type().clone())
}

#[tokio::test]
async fn every_supported_column_type_round_trips() -> TestResult {
    let client = fresh_db("arrow_types").await?;
    let dict: DictionaryArray<UInt16Type> = vec!["r1", "r2", "r1"].into_iter().collect();
    let b = batch(vec![
        (
            "t",
            Arc::new(TimestampMillisecondArray::from(vec![1_000, 2_000, 3_000])) as ArrayRef,
        ),
        ("host", Arc::new(StringArray::from(vec!["a", "b", "c"]))),
        ("dc", Arc::new(LargeStringArray::from(vec!["x", "y", "z"]))),
        ("rack", Arc::new(dict)),
        (
            "view",
            Arc::new(StringViewArray::from(vec!["v1", "v2", "v3"])),
        ),
        ("f16", f16(&[0.5, -2.0, 65504.0])?),
        (
            "f32",
            Arc::new(Float32Array::from(vec![0.1f32, 3.0, -1.5e30])),
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![0.1, 12.0, f64::MAX])),
        ),
        ("i8", Arc::new(Int8Array::from(vec![i8::MIN, 0, i8::MAX]))),
        (
            "i16",
            Arc::new(Int16Array::from(vec![i16::MIN, 1, i16::MAX])),
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![i32::MIN, 2, i32::MAX])),
        ),
        (
            "i64",
            Arc::new(Int64Array::from(vec![i64::MIN, 3, i64::MAX])),
        ),
        ("u8", Arc::new(UInt8Array::from(vec![0, 1, u8::MAX]))),
        ("u16", Arc::new(UInt16Array::from(vec![0, 1, u16::MAX]))),
        ("u32", Arc::new(UInt32Array::from(vec![0, 1, u32::MAX]))),
        (
            "u64",
            Arc::new(UInt64Array::from(vec![0, 1, i64::MAX as u64])),
        ),
        ("ok", Arc::new(BooleanArray::from(vec![true, false, true]))),
        (
            "s",
            Arc::new(StringArray::from(vec!["one", "", "three \"q\" \\ \n"])),
        ),
        (
            "ls",
            Arc::new(LargeStringArray::from(vec!["L1", "L2", "L3"])),
        ),
    ])?;
    let w = ArrowWrite::new(&b)
        .measurement("all")
        .time_column("t")
        .tag_columns(["host", "dc", "rack"]);
    client.write(&w).await?;

    let got = read(&client, "SELECT * FROM \"all\" GROUP BY *").await?;
    assert_eq!(got.len(), 3, "one series per host");
    for (i, g) in got.iter().enumerate() {
        assert_eq!(g.num_rows(), 1);
        let t = column(g, "time")?
            .as_primitive::<influx_stream::arrow::arrow_array::types::TimestampNanosecondType>();
        assert_eq!(t.value(0), (i as i64 + 1) * 1_000_000_000);
        for tag in ["host", "dc", "rack"] {
            let d = column(g, tag)?.as_dictionary::<Int32Type>();
            let want = match tag {
                "host" => ["a", "b", "c"][i],
                "dc" => ["x", "y", "z"][i],
                _ => ["r1", "r2", "r1"][i],
            };
            assert_eq!(d.values().as_string::<i32>().value(0), want, "{tag}");
        }
        for (name, want) in [
            ("f16", [0.5, -2.0, 65504.0][i]),
            ("f32", [f64::from(0.1f32), 3.0, f64::from(-1.5e30f32)][i]),
            ("f64", [0.1, 12.0, f64::MAX][i]),
        ] {
            assert_eq!(type_of(g, name)?, DataType::Float64, "{name}");
            let v = column(g, name)?.as_primitive::<Float64Type>().value(0);
            assert_eq!(v.to_bits(), want.to_bits(), "{name}: {v} != {want}");
        }
        for (name, want) in [
            ("i8", [i8::MIN as i64, 0, i8::MAX as i64][i]),
            ("i16", [i16::MIN as i64, 1, i16::MAX as i64][i]),
            ("i32", [i32::MIN as i64, 2, i32::MAX as i64][i]),
            ("i64", [i64::MIN, 3, i64::MAX][i]),
            ("u8", [0, 1, u8::MAX as i64][i]),
            ("u16", [0, 1, u16::MAX as i64][i]),
            ("u32", [0, 1, u32::MAX as i64][i]),
            ("u64", [0, 1, i64::MAX][i]),
        ] {
            assert_eq!(type_of(g, name)?, DataType::Int64, "{name}");
            assert_eq!(
                column(g, name)?.as_primitive::<Int64Type>().value(0),
                want,
                "{name}"
            );
        }
        assert_eq!(type_of(g, "ok")?, DataType::Boolean);
        assert_eq!(column(g, "ok")?.as_boolean().value(0), i != 1);
        for (name, want) in [
            ("s", ["one", "", "three \"q\" \\ \n"][i]),
            ("ls", ["L1", "L2", "L3"][i]),
            ("view", ["v1", "v2", "v3"][i]),
        ] {
            assert_eq!(type_of(g, name)?, DataType::Utf8, "{name}");
            assert_eq!(column(g, name)?.as_string::<i32>().value(0), want, "{name}");
        }
    }

    // Without GROUP BY, tags are plain Utf8 columns.
    let flat = read(&client, "SELECT * FROM \"all\"").await?;
    assert_eq!(flat.len(), 1);
    for tag in ["host", "dc", "rack"] {
        assert_eq!(type_of(&flat[0], tag)?, DataType::Utf8, "{tag}");
    }
    assert_eq!(
        column(&flat[0], "host")?
            .as_string::<i32>()
            .iter()
            .collect::<Vec<_>>(),
        [Some("a"), Some("b"), Some("c")]
    );
    Ok(())
}

/// A Float16 column (through arrow-cast, so as not to name `half::f16`).
fn f16(v: &[f32]) -> Result<ArrayRef, Box<dyn std::error::Error>> {
    let a = arrow_cast::cast(&Float32Array::from(v.to_vec()), &DataType::Float16)?;
    assert_eq!(a.data_type(), &DataType::Float16);
    Ok(a)
}

#[tokio::test]
async fn nulls_are_skipped_and_all_null_rows_counted() -> TestResult {
    let client = fresh_db("arrow_nulls").await?;
    let b = batch(vec![
        (
            "time",
            Arc::new(TimestampSecondArray::from(vec![1, 2, 3, 4])) as ArrayRef,
        ),
        (
            "host",
            Arc::new(StringArray::from(vec![
                Some("a"),
                None,
                Some(""),
                Some("d"),
            ])),
        ),
        (
            "x",
            Arc::new(Float64Array::from(vec![Some(1.5), None, None, Some(4.0)])),
        ),
        (
            "n",
            Arc::new(Int64Array::from(vec![None, Some(2), None, Some(4)])),
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![Some("s1"), None, None, None])),
        ),
    ])?;
    let w = ArrowWrite::new(&b).measurement("m").tag_columns(["host"]);
    let summary = w.summary()?;
    assert_eq!(
        (summary.rows, summary.points, summary.skipped_rows),
        (4, 3, 1)
    );
    client.write(&w).await?;

    let got = read(&client, "SELECT * FROM m").await?;
    assert_eq!(got.len(), 1);
    let g = &got[0];
    assert_eq!(g.num_rows(), 3, "row 2 (all fields null) was not written");
    let x = column(g, "x")?.as_primitive::<Float64Type>();
    assert_eq!(x.iter().collect::<Vec<_>>(), [Some(1.5), None, Some(4.0)]);
    let n = column(g, "n")?.as_primitive::<Int64Type>();
    assert_eq!(n.iter().collect::<Vec<_>>(), [None, Some(2), Some(4)]);
    let s = column(g, "s")?.as_string::<i32>();
    assert_eq!(s.iter().collect::<Vec<_>>(), [Some("s1"), None, None]);
    // Null and empty tags are left out: the point has no host.
    let host = column(g, "host")?.as_string::<i32>();
    assert_eq!(
        host.iter().collect::<Vec<_>>(),
        [Some("a"), None, Some("d")]
    );
    let keys = client.show_tag_keys(Some("m")).await?;
    assert_eq!(format!("{keys:?}"), r#"{"m": ["host"]}"#);
    Ok(())
}

#[tokio::test]
async fn hostile_tag_values_read_back_identical() -> TestResult {
    let client = fresh_db("arrow_hostile").await?;
    let values = [
        "comma,here",
        "space here",
        "equals=here",
        "quote\"here",
        "single'quote",
        "back\\slash",
        "even\\\\,run",
        "unicodé ☃ 中文 🦀",
        "all ,=\"\\\\x",
        "tab\there",
    ];
    let n = values.len();
    let dict: DictionaryArray<Int32Type> = values.iter().copied().collect();
    let b = batch(vec![
        (
            "time",
            Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>())) as ArrayRef,
        ),
        (
            "tag key, =\"x\"",
            Arc::new(StringArray::from(values.to_vec())),
        ),
        ("dict", Arc::new(dict)),
        (
            "i",
            Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>())),
        ),
    ])?;
    let measurement = "hostile, m=\"x\"";
    client
        .write(
            ArrowWrite::new(&b)
                .measurement(measurement)
                .tag_columns(["tag key, =\"x\"", "dict"]),
        )
        .await?;
    let q = format!(
        "SELECT i FROM {} GROUP BY *",
        influx_stream::quote_ident(measurement)
    );
    let got = read(&client, q).await?;
    assert_eq!(got.len(), n, "one series per tag value");
    let mut seen = Vec::new();
    for g in &got {
        let i = column(g, "i")?.as_primitive::<Int64Type>().value(0) as usize;
        for tag in ["tag key, =\"x\"", "dict"] {
            let d = column(g, tag)?.as_dictionary::<Int32Type>();
            assert_eq!(d.values().as_string::<i32>().value(0), values[i], "{tag}");
        }
        assert_eq!(g.schema().metadata()["measurement"], measurement);
        seen.push(i);
    }
    seen.sort();
    assert_eq!(seen, (0..n).collect::<Vec<_>>());

    // What line protocol cannot carry is refused before anything is sent.
    for bad in ["new\nline", "trailing\\"] {
        let b = batch(vec![
            ("time", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            ("host", Arc::new(StringArray::from(vec!["fine", bad]))),
            ("i", Arc::new(Int64Array::from(vec![1, 2]))),
        ])?;
        let e = client
            .write(
                ArrowWrite::new(&b)
                    .measurement("refused")
                    .tag_columns(["host"]),
            )
            .await
            .expect_err(bad);
        assert!(e.is_encode() && e.to_string().contains("row 1"), "{e}");
    }
    assert!(!client
        .show_measurements()
        .await?
        .contains(&"refused".to_owned()));
    Ok(())
}

#[tokio::test]
async fn group_by_series_come_as_dictionary_tagged_batches() -> TestResult {
    let client = fresh_db("arrow_groupby").await?;
    let hosts = ["h1", "h2", "h3"];
    let regions = ["eu", "us"];
    let rows = 30;
    let host: Vec<&str> = (0..rows).map(|i| hosts[i % 3]).collect();
    let region: Vec<&str> = (0..rows).map(|i| regions[i % 3 % 2]).collect();
    let b = batch(vec![
        (
            "time",
            Arc::new(TimestampNanosecondArray::from(
                (0..rows as i64).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        ("host", Arc::new(StringArray::from(host))),
        ("region", Arc::new(StringArray::from(region))),
        (
            "usage",
            Arc::new(Float64Array::from(
                (0..rows).map(|i| i as f64 + 0.25).collect::<Vec<_>>(),
            )),
        ),
        (
            "count",
            Arc::new(Int64Array::from((0..rows as i64).collect::<Vec<_>>())),
        ),
    ])?;
    client
        .write(
            ArrowWrite::new(&b)
                .measurement("cpu")
                .tag_columns(["host", "region"]),
        )
        .await?;

    // Chunks of 4 rows: several batches per series.
    let got = read(
        &client,
        Query::new("SELECT usage, count FROM cpu GROUP BY host, region").chunk_size(4),
    )
    .await?;
    assert!(got.len() >= 9, "{} batches", got.len());
    let schema = got[0].schema();
    let mut total = 0;
    for g in &got {
        assert_eq!(g.schema(), schema, "one schema for all series");
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["time", "host", "region", "usage", "count"]);
        assert_eq!(
            type_of(g, "host")?,
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
        );
        let h = column(g, "host")?.as_dictionary::<Int32Type>();
        let r = column(g, "region")?.as_dictionary::<Int32Type>();
        let (h, r) = (
            h.values().as_string::<i32>().value(0).to_owned(),
            r.values().as_string::<i32>().value(0).to_owned(),
        );
        let times = column(g, "time")?
            .as_primitive::<influx_stream::arrow::arrow_array::types::TimestampNanosecondType>(
        );
        let counts = column(g, "count")?.as_primitive::<Int64Type>();
        let usage = column(g, "usage")?.as_primitive::<Float64Type>();
        for k in 0..g.num_rows() {
            let i = times.value(k) as usize;
            assert_eq!(h, hosts[i % 3], "row {i}");
            assert_eq!(r, regions[i % 3 % 2], "row {i}");
            assert_eq!(counts.value(k), i as i64);
            assert_eq!(usage.value(k), i as f64 + 0.25);
        }
        total += g.num_rows();
    }
    assert_eq!(total, rows);
    Ok(())
}

#[tokio::test]
async fn whole_floats_stay_float64_on_every_row() -> TestResult {
    let client = fresh_db("arrow_whole").await?;
    // The first chunk holds only whole values, which the JSON prints as
    // integers: the type comes from SHOW FIELD KEYS, not from them.
    let values = [1.0, 2.0, 12.0, -0.0, 1e300, 0.5, 3.0, 1e21];
    let b = batch(vec![
        (
            "time",
            Arc::new(Int64Array::from(
                (0..values.len() as i64).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
        ("v", Arc::new(Float64Array::from(values.to_vec()))),
    ])?;
    client.write(ArrowWrite::new(&b).measurement("w")).await?;
    let got = read(&client, Query::new("SELECT v FROM w").chunk_size(3)).await?;
    assert_eq!(got.len(), 3);
    let mut all = Vec::new();
    for g in &got {
        assert_eq!(type_of(g, "v")?, DataType::Float64);
        all.extend(
            column(g, "v")?
                .as_primitive::<Float64Type>()
                .values()
                .iter()
                .copied(),
        );
    }
    let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&all), bits(&values));
    Ok(())
}

#[tokio::test]
async fn aggregates_are_float64_and_new_fields_refresh_the_cache() -> TestResult {
    let client = fresh_db("arrow_cache").await?;
    let b = batch(vec![
        ("time", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
        ("n", Arc::new(Int64Array::from(vec![2, 4]))),
        ("s", Arc::new(StringArray::from(vec!["a", "b"]))),
    ])?;
    client.write(ArrowWrite::new(&b).measurement("m")).await?;
    let got = read(
        &client,
        "SELECT mean(n), count(n), first(s), sum(n) AS n FROM m",
    )
    .await?;
    let g = &got[0];
    assert_eq!(type_of(g, "mean")?, DataType::Float64);
    assert_eq!(type_of(g, "count")?, DataType::Float64);
    assert_eq!(type_of(g, "first")?, DataType::Utf8);
    assert_eq!(type_of(g, "n")?, DataType::Int64, "sum of an integer field");
    assert_eq!(
        column(g, "count")?.as_primitive::<Float64Type>().value(0),
        2.0
    );

    // A clone shares the cache; a field written later is picked up.
    let other = client.clone();
    let later = batch(vec![
        ("time", Arc::new(Int64Array::from(vec![3])) as ArrayRef),
        ("n", Arc::new(Int64Array::from(vec![6]))),
        ("later", Arc::new(Int64Array::from(vec![7]))),
    ])?;
    other
        .write(ArrowWrite::new(&later).measurement("m"))
        .await?;
    let got = read(&other, "SELECT * FROM m").await?;
    assert_eq!(type_of(&got[0], "later")?, DataType::Int64);
    assert_eq!(type_of(&got[0], "n")?, DataType::Int64);
    Ok(())
}

#[tokio::test]
async fn the_writer_sink_takes_slices_of_a_batch() -> TestResult {
    let client = fresh_db("arrow_sink").await?;
    let rows = 10_000i64;
    let b = batch(vec![
        (
            "time",
            Arc::new(Int64Array::from((0..rows).collect::<Vec<_>>())) as ArrayRef,
        ),
        (
            "v",
            Arc::new(Float64Array::from(
                (0..rows).map(|i| i as f64).collect::<Vec<_>>(),
            )),
        ),
    ])?;
    let writer = client.writer(WriteOptions::new().max_points(1_000))?;
    let w = ArrowWrite::new(&b).measurement("s");
    stream::iter(w.slices(1_000))
        .map(Ok)
        .forward(writer)
        .await?;

    let mut writer = client.writer(WriteOptions::new())?;
    let bad = batch(vec![
        ("time", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
        (
            "d",
            Arc::new(influx_stream::arrow::arrow_array::Date32Array::from(vec![
                1,
            ])),
        ),
    ])?;
    let e = writer
        .send(&ArrowWrite::new(&bad).measurement("s"))
        .await
        .expect_err("Date32 is no field type");
    assert!(e.is_encode() && e.to_string().contains("\"d\""), "{e}");
    writer.close().await?;

    let got = read(&client, Query::new("SELECT v FROM s").chunk_size(4_000)).await?;
    assert_eq!(
        got.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(),
        [4_000, 4_000, 2_000]
    );
    Ok(())
}
