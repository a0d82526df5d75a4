//! Rows and their values, built by the decoders (through
//! `influx_stream::__private`, not public API) as a query builds them:
//! [`Row`]'s accessors, mapping rows onto serde types by name, [`Value`]
//! and [`Text`], [`DecodeError`], and InfluxDB 3.x's JSON lines.

use std::collections::BTreeMap;
use std::sync::Arc;

use influx_stream::__private::{
    BenchRows, DecodeOptions, Decoder, Event, JsonlDecoder, TimeFormat,
};
use influx_stream::query::{Chunk, DecodeError, FromRowField, RowValues, Text};
use influx_stream::{Row, Value};
use serde::Deserialize;

/// The rows of one response document.
fn rows_of(doc: &str, time_format: TimeFormat) -> Vec<Row> {
    let mut d = Decoder::new(DecodeOptions::new().time_format(time_format));
    d.feed(doc.as_bytes());
    d.finish();
    std::iter::from_fn(|| d.next_event())
        .filter_map(|e| match e.expect("valid") {
            Event::Row(r) => Some(r),
            _ => None,
        })
        .collect()
}

/// The rows of one series; `series` is its JSON object without braces.
fn series(statement_id: u64, series: &str, time_format: TimeFormat) -> Vec<Row> {
    let doc =
        format!("{{\"results\":[{{\"statement_id\":{statement_id},\"series\":[{{{series}}}]}}]}}");
    rows_of(&doc, time_format)
}

/// Rows of `cpu` (statement 1) grouped by three tags, one shadowed by a
/// column.
fn cpu(values: &str) -> Vec<Row> {
    series(
        1,
        &format!(
            r#""name":"cpu","tags":{{"dc":"7","host":"a","usage":"shadowed"}},"columns":["time","usage","count","label","ok"],"values":{values}"#
        ),
        TimeFormat::EpochNs,
    )
}

/// Row 4 of `cpu`: `time=10 usage=2 count=-5 label="x\"y" ok=null`.
fn sample() -> Row {
    let row = r#"[10,2,-5,"x\"y",null]"#;
    let mut rows = cpu(&format!("[{row},{row},{row},{row},{row}]"));
    rows.pop().expect("five rows")
}

/// One row of a series without name or tags.
fn single(columns: &str, values: &str, time_format: TimeFormat) -> Row {
    series(
        0,
        &format!(r#""columns":{columns},"values":[{values}]"#),
        time_format,
    )
    .pop()
    .expect("a row")
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
    let cpu: Cpu = influx_stream::query::deserialize_row(&r).unwrap();
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
    let e = single(r#"["x"]"#, "[1.5]", TimeFormat::EpochNs)
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
    let short = cpu("[[1,0.5]]").pop().expect("a row");
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
    let r = single(
        r#"["time","s"]"#,
        r#"["2024-01-01T00:00:00.5Z","2024-01-01T00:00:00Z"]"#,
        TimeFormat::Rfc3339,
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
    let r = single(r#"["u"]"#, "[18446744073709551615]", TimeFormat::EpochNs);
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

#[test]
fn value_accessors() {
    assert_eq!(Value::Integer(12).as_f64(), Some(12.0));
    assert_eq!(Value::UInteger(u64::MAX).as_f64(), Some(u64::MAX as f64));
    assert_eq!(Value::Float(0.25).as_f64(), Some(0.25));
    assert_eq!(Value::Float(12.0).as_i64(), None);
    assert_eq!(Value::Integer(-3).as_i64(), Some(-3));
    assert_eq!(Value::Time(5).as_i64(), Some(5));
    assert_eq!(Value::UInteger(u64::MAX).as_i64(), None);
    assert_eq!(Value::Integer(-3).as_u64(), None);
    assert_eq!(Value::Integer(3).as_u64(), Some(3));
    assert_eq!(Value::from("x").as_str(), Some("x"));
    assert_eq!(Value::Bool(true).as_bool(), Some(true));
    assert!(Value::Null.is_null());
    assert_eq!(Value::Null.as_f64(), None);
    assert_eq!(Value::Integer(5).as_time_ns(), None);
    assert_eq!(Value::Time(5).as_time_ns(), Some(5));
    let mut v = Value::from("abc");
    assert_eq!(v.take_string().as_deref(), Some("abc"));
    assert_eq!(Value::Float(-0.0).to_string(), "-0");
    assert_eq!(format!("{:?}", Value::Float(2.0)), "Float(2.0)");
    assert_eq!(format!("{:?}", Value::from("a\"b")), "String(\"a\\\"b\")");
}

/// Texts of every length around the inline limit (22 bytes), built
/// directly and decoded from a document (where short ones are copied from
/// a fixed window of the document, long ones kept on the heap, and moved
/// whole into `String`s).
#[test]
fn text_inline_and_heap() {
    assert_eq!(std::mem::size_of::<Text>(), 24);
    assert_eq!(std::mem::size_of::<Value>(), 24);
    for s in [
        "",
        "a",
        "värde☃",
        "1234567890123456789012",
        "12345678901234567890123",
    ] {
        let long = String::from(s).repeat(3);
        for s in [s, long.as_str()] {
            let t = Text::from(s);
            assert_eq!(t.as_str(), s);
            assert_eq!(Text::from(s.to_owned()), t);
            assert_eq!(t.clone().into_string(), s);
            assert_eq!(&*t, s);
            assert_eq!(t.to_string(), s);
            let mut v = Value::from(s);
            assert_eq!(v.as_str(), Some(s));
            assert_eq!(v.take_string().as_deref(), Some(s));
            assert_eq!(v.as_str(), Some(""));
            // First of two (a window of 22 bytes fits), last (it does not).
            let row = single(
                r#"["a","b"]"#,
                &format!(r#"["{s}","{s}"]"#),
                TimeFormat::EpochNs,
            );
            assert_eq!(row.values(), [Value::from(s), Value::from(s)]);
            let (a, b): (String, String) = row.into_deserialize().unwrap();
            assert_eq!((a.as_str(), b.as_str()), (s, s));
        }
    }
    let row = single(r#"["a"]"#, r#"["värde☃"]"#, TimeFormat::EpochNs);
    assert_eq!(row.get("a").and_then(Value::as_str), Some("värde☃"));
}

#[test]
fn rfc3339() {
    let p = |s: &str| Value::from(s).as_time_ns();
    assert_eq!(p("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(p("1970-01-01T00:00:00.000000001Z"), Some(1));
    assert_eq!(p("2024-01-01T00:00:00Z"), Some(1_704_067_200_000_000_000));
    assert_eq!(
        p("2024-01-01T00:00:04.000000123Z"),
        Some(1_704_067_204_000_000_123)
    );
    assert_eq!(p("2024-01-01T00:00:04.5Z"), Some(1_704_067_204_500_000_000));
    assert_eq!(
        p("2024-01-01T02:00:00+02:00"),
        Some(1_704_067_200_000_000_000)
    );
    assert_eq!(
        p("2023-12-31T23:00:00-01:00"),
        Some(1_704_067_200_000_000_000)
    );
    assert_eq!(p("2020-02-29T00:00:00Z"), Some(1_582_934_400_000_000_000));
    assert_eq!(p("1969-12-31T23:59:59Z"), Some(-1_000_000_000));
    assert_eq!(
        p("1677-09-21T00:12:43.145224192Z"),
        Some(i64::MIN),
        "InfluxDB's minimum time"
    );
    assert_eq!(
        p("2262-04-11T23:47:16.854775807Z"),
        Some(i64::MAX),
        "InfluxDB's maximum time"
    );
    assert_eq!(p("2262-04-11T23:47:16.854775808Z"), None);
    for bad in [
        "",
        "2024-01-01",
        "2024-01-01T00:00:00",
        "2024-01-01T00:00:00.Z",
        "2024-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-01-01T24:00:00Z",
        "2024-01-01T00:00:00Zx",
        "2024-01-01T00:00:00+0200",
        "2024-01-01T00:00:00+ab:00",
        "2024-01-01T00:00:0xZ",
        "2024-01-01T00:00:00.1234567891234Z€",
    ] {
        assert_eq!(p(bad), None, "{bad}");
    }
}

#[test]
fn epoch_params() {
    for f in [
        TimeFormat::Rfc3339,
        TimeFormat::EpochH,
        TimeFormat::EpochM,
        TimeFormat::EpochS,
        TimeFormat::EpochMs,
        TimeFormat::EpochUs,
        TimeFormat::EpochNs,
    ] {
        match f.epoch_param() {
            Some(p) => assert_eq!(TimeFormat::from_epoch_param(p), Some(f)),
            None => assert_eq!(f, TimeFormat::Rfc3339),
        }
    }
    assert_eq!(TimeFormat::default(), TimeFormat::EpochNs);
    assert_eq!(TimeFormat::from_epoch_param("x"), None);
}

#[test]
fn row_accessors() {
    let row = series(
        2,
        r#""name":"cpu","tags":{"host":"a"},"columns":["time","usage"],"values":[[1,0],[2,0],[3,0],[7,0.5]]"#,
        TimeFormat::EpochNs,
    )
    .pop()
    .expect("four rows");
    assert_eq!(row.statement_id(), 2);
    assert_eq!(row.series_name(), Some("cpu"));
    assert_eq!(row.tag("host"), Some("a"));
    assert_eq!(row.tag("region"), None);
    assert_eq!(row.tags(), &[("host".to_owned(), "a".to_owned())]);
    assert_eq!(row.columns(), &["time", "usage"]);
    assert_eq!(row.get(1), Some(&Value::Float(0.5)));
    assert_eq!(row.get(2), None);
    assert_eq!(row.get("usage"), Some(&Value::Float(0.5)));
    assert_eq!(row.get(&"usage".to_owned()), Some(&Value::Float(0.5)));
    assert_eq!(row.get_by_name("nope"), None);
    assert_eq!(row.time(), Some(7));
    assert_eq!(row.index(), 3);
    assert_eq!(row.len(), 2);
    assert!(!row.is_empty());
    assert_eq!(row.meta().time_index(), Some(0));
    assert_eq!(row.into_values(), vec![Value::Time(7), Value::Float(0.5)]);
}

#[test]
fn chunk_rows() {
    let doc = |values: &str, partial: bool| {
        format!(
            r#"{{"results":[{{"statement_id":0,"series":[{{"name":"cpu","columns":["time"],"values":{values},"partial":{partial}}}],"partial":{partial}}}]}}"#
        )
    };
    let body = format!(
        "{}\n{}\n",
        doc(&format!("[{}]", ["[0]"; 10].join(",")), true),
        doc("[[1],[2]]", true)
    );
    let mut d = Decoder::default();
    d.feed(body.as_bytes());
    d.finish();
    let mut series = std::iter::from_fn(|| d.next_chunk()).filter_map(|c| match c {
        Ok(Chunk::Series(s)) => Some(s),
        _ => None,
    });
    let first = series.next().expect("first chunk");
    let chunk = series.next().expect("second chunk");
    assert!(chunk.partial);
    assert_eq!(chunk.first_row, 10);
    assert!(Arc::ptr_eq(&first.meta, &chunk.meta));
    let rows: Vec<Row> = chunk.rows().collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].index(), 11);
    assert_eq!(rows[1].time(), Some(2));
    assert!(Arc::ptr_eq(rows[0].meta(), rows[1].meta()));
}

#[test]
fn decode_error_is_small_send_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<DecodeError>();
    assert_eq!(
        std::mem::size_of::<DecodeError>(),
        std::mem::size_of::<usize>()
    );
}

/// Context (row, column) goes before the message; only malformed JSON is a
/// syntax error with a source.
#[test]
fn decode_error_context_prefixes() {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct B {
        x: bool,
    }
    let e = single(r#"["x"]"#, "[3]", TimeFormat::EpochNs)
        .deserialize::<B>()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "row 0 (statement 0): column `x`: invalid type: integer `3`, expected a boolean"
    );
    assert_eq!(e.message(), e.to_string());
    assert!(!e.is_syntax());
    assert!(std::error::Error::source(&e).is_none());
    let mut d = Decoder::default();
    d.feed(b"{\"results\":[\n");
    let e = d.next_event().expect("an error").unwrap_err();
    assert!(e.is_syntax(), "{e}");
    assert!(std::error::Error::source(&e).is_some());
}

/// The rows of a JSON-lines body fed in `parts`.
fn jsonl_rows<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Vec<Result<Row, DecodeError>> {
    let mut d = JsonlDecoder::default();
    let mut rows = Vec::new();
    for part in parts {
        d.feed(part);
        rows.extend(std::iter::from_fn(|| d.next_row()));
    }
    d.finish();
    rows.extend(std::iter::from_fn(|| d.next_row()));
    assert!(d.is_done());
    rows
}

/// InfluxDB 3.x prints times without a zone (UTC); offsets are accepted.
#[test]
fn jsonl_times() {
    let time = |s: &str| {
        let line = format!("{{\"time\":\"{s}\"}}");
        match jsonl_rows([line.as_bytes()]).remove(0) {
            Ok(row) => {
                assert!(matches!(row.get("time"), Some(Value::Time(_))));
                row.time()
            }
            Err(_) => None,
        }
    };
    assert_eq!(time("1970-01-01T00:00:00"), Some(0));
    assert_eq!(
        time("2024-11-05T08:30:10.250"),
        Some(1_730_795_410_250_000_000)
    );
    assert_eq!(
        time("2024-11-05T08:30:10.250Z"),
        Some(1_730_795_410_250_000_000)
    );
    assert_eq!(
        time("2024-11-05T09:30:10.25+01:00"),
        Some(1_730_795_410_250_000_000)
    );
    assert_eq!(time("1969-12-31T23:59:59.999999999"), Some(-1));
    assert_eq!(time("2000-02-29T00:00:00"), Some(951_782_400_000_000_000));
    for bad in [
        "",
        "2024-11-05",
        "2024-13-05T00:00:00",
        "2024-11-05T00:00:00.",
        "2024-11-05T00:00:00.1234567891",
        "2024-11-05T00:00:00+1",
        "2024-11-05T00:00:00+a0:00",
        "2023-02-29T00:00:00",
        "2024-04-31T00:00:00",
    ] {
        assert_eq!(time(bad), None, "{bad}");
    }
}

#[test]
fn jsonl_rows_from_the_documented_shapes_split_anywhere() {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/protocol/v3-query-influxql.jsonl"
    ))
    .expect("sample");
    let whole = jsonl_rows([&body[..]])
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    assert_eq!(whole.len(), 3);
    assert_eq!(whole[0].series_name(), Some("cpu"));
    assert_eq!(whole[0].columns(), ["time", "host", "usage", "count"]);
    assert_eq!(whole[1].time(), Some(1_730_795_410_250_000_000));
    assert_eq!(whole[2].get("usage"), Some(&Value::Float(7.125)));
    assert!(Arc::ptr_eq(whole[0].meta(), whole[2].meta()));
    for split in 1..body.len() {
        let rows = jsonl_rows(body.chunks(split))
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .expect("rows");
        assert_eq!(rows, whole, "split {split}");
    }
}

#[test]
fn jsonl_null_columns_left_out_make_a_new_layout() {
    let mut d = JsonlDecoder::default();
    d.feed(b"{\"host\":\"a\",\"v\":1,\"time\":\"2024-01-01T00:00:00\"}\n{\"host\":\"b\",\"time\":\"2024-01-01T00:00:01\"}\n{\"a\":1}{\"a\":2}\n{\"oops\"");
    d.finish();
    let a = d.next_row().expect("row").expect("ok");
    let b = d.next_row().expect("row").expect("ok");
    assert_eq!(a.get("v"), Some(&Value::Integer(1)));
    assert_eq!(b.get("v"), None);
    assert_eq!(b.columns(), ["host", "time"]);
    let err = d.next_row().expect("two objects").expect_err("trailing");
    assert!(err.to_string().contains("line 3"), "{err}");
    let err = d.next_row().expect("bad line").expect_err("not JSON");
    assert!(err.to_string().contains("line 4"), "{err}");
    assert!(d.next_row().is_none());
}

/// A line over the 64 MiB limit is an error as soon as the limit is
/// passed, not buffered; the lines after it still read, numbered on.
#[test]
fn jsonl_over_long_line_is_refused_and_skipped() {
    let mut body = b"{\"a\":1}\n{\"b\":\"".to_vec();
    body.resize(body.len() + 64 * 1024 * 1024, b'x');
    body.extend_from_slice(b"\"}\n{\"a\":2}\n{\"oops\"\n");
    let rows = jsonl_rows(body.chunks(1024 * 1024));
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert_eq!(rows[0].as_ref().unwrap().get("a"), Some(&Value::Integer(1)));
    let err = rows[1].as_ref().unwrap_err().to_string();
    assert!(
        err.starts_with("line 2 of the response is longer than"),
        "{err}"
    );
    assert_eq!(rows[2].as_ref().unwrap().get("a"), Some(&Value::Integer(2)));
    let err = rows[3].as_ref().unwrap_err().to_string();
    assert!(err.contains("line 4"), "{err}");
}

// ---- FromRow, on the path of query_rows ----

#[derive(Debug, PartialEq)]
struct Usage {
    time: i64,
    host: String,
    usage: f64,
    cores: Option<u8>,
    note: String,
    series: String,
}

impl influx_stream::FromRow for Usage {
    const FIELDS: &'static [FromRowField] = &[
        FromRowField::column("time"),
        FromRowField::tag("host"),
        FromRowField::column("usage"),
        FromRowField::column("cores"),
        FromRowField::column("note"),
        FromRowField::series_name(),
    ];

    fn from_row(row: &mut RowValues<'_>) -> Result<Self, DecodeError> {
        Ok(Usage {
            time: row.take(0)?,
            host: row.take(1)?,
            usage: row.take(2)?,
            cores: row.take(3)?,
            note: row.take_or_default(4)?,
            series: row.take(5)?,
        })
    }
}

/// The rows of series `cpu` (tag host=a, statement 3) as `Usage`s.
fn usages(columns: &str, values: &str) -> Vec<Result<Usage, String>> {
    let doc = format!(
        "{{\"results\":[{{\"statement_id\":3,\"series\":[{{\"name\":\"cpu\",\"tags\":{{\"host\":\"a\"}},\"columns\":{columns},\"values\":{values}}}]}}]}}\n"
    );
    let mut d = Decoder::default();
    d.feed(doc.as_bytes());
    d.finish();
    let mut rows = BenchRows::default();
    std::iter::from_fn(|| rows.next::<Usage>(&mut d))
        .filter_map(|e| match e {
            Ok(Event::Row(u)) => Some(Ok(u)),
            Ok(_) => None,
            Err(e) => Some(Err(e.message().to_owned())),
        })
        .collect()
}

#[test]
fn from_row_maps_by_name() {
    let got = usages(
        r#"["time","usage","note"]"#,
        r#"[[7,12,"hi"],[8,0.5,null]]"#,
    );
    let want = |time, usage, note: &str| Usage {
        time,
        host: "a".into(),
        usage,
        cores: None,
        note: note.into(),
        series: "cpu".into(),
    };
    assert_eq!(got, [Ok(want(7, 12.0, "hi")), Ok(want(8, 0.5, ""))]);
}

#[test]
fn from_row_errors_name_the_field_the_column_and_the_row() {
    let got = usages(
        r#"["time","usage","cores"]"#,
        r#"[[1,1,1],[1,1,1],[1,1,1],[1,1,1],[1,null,3],[1,1.5,300]]"#,
    );
    assert_eq!(
        got[4].as_ref().unwrap_err(),
        "row 4 of series `cpu` with tags host=a (statement 3): `usage` is null, read as f64"
    );
    let e = got[5].as_ref().unwrap_err();
    assert!(
        e.contains("`cores` is Integer(300), not an integer within u8"),
        "{e}"
    );
    let got = usages(r#"["time","cores"]"#, "[[1,null]]");
    let e = got[0].as_ref().unwrap_err();
    assert!(e.contains("no column or tag `usage`"), "{e}");
}

#[test]
fn from_row_strings_escaped_long_and_from_several_documents() {
    // Each document's strings are spans of that document (or, with
    // escapes, of its unescaped strings): two documents fed at once, then
    // one a byte at a time, must each read their own.
    let doc = |note: &str| {
        format!(
            "{{\"results\":[{{\"statement_id\":3,\"series\":[{{\"name\":\"cpu\",\"tags\":{{\"host\":\"a\"}},\"columns\":[\"time\",\"usage\",\"note\"],\"values\":[[1,2,{note}],[2,3,\"x\"]],\"partial\":true}}],\"partial\":true}}]}}\n"
        )
    };
    let long = "a string longer than the twenty-two bytes kept inline";
    let notes = [
        r#""tab\there \"q\" \u00e9""#.to_owned(),
        format!("\"{long}\""),
        r#""h\u00e9llo, \ud83d\ude00""#.to_owned(),
    ];
    let mut d = Decoder::new(DecodeOptions::new().chunked(false));
    d.feed(format!("{}{}", doc(&notes[0]), doc(&notes[1])).as_bytes());
    for b in doc(&notes[2]).as_bytes() {
        d.feed(std::slice::from_ref(b));
    }
    d.finish();
    let mut rows = BenchRows::default();
    let got: Vec<(i64, String)> = std::iter::from_fn(|| rows.next::<Usage>(&mut d))
        .filter_map(|e| match e {
            Ok(Event::Row(u)) => Some((u.time, u.note)),
            Ok(_) => None,
            Err(e) => panic!("{e}"),
        })
        .collect();
    let want = ["tab\there \"q\" é", "x", long, "x", "héllo, 😀", "x"];
    let times = [1, 2, 1, 2, 1, 2];
    let want: Vec<(i64, String)> = times
        .iter()
        .zip(want)
        .map(|(&t, n)| (t, n.to_owned()))
        .collect();
    assert_eq!(got, want);
}
