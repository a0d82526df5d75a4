//! The streaming query side against a real influxd.

mod support;

use futures::{StreamExt, TryStreamExt};
use influx_stream::query::Chunk;
use influx_stream::{Client, Error, Point, Query, Row, Value, WriteOptions};
use serde::Deserialize;
use support::fault::{Action, FaultServer};
use support::influxd::{unique_db, Influxd};
use support::workload;

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn fresh_db(prefix: &str) -> Result<Client, Error> {
    let db = unique_db(prefix);
    let client = Client::builder(Influxd::shared().url())
        .database(&db)
        .build()?;
    client.create_database(&db).await?;
    Ok(client)
}

#[tokio::test]
async fn series_split_across_chunks_come_out_in_order_and_complete() -> TestResult {
    let client = fresh_db("chunks").await?;
    let points: Vec<Point> = (0..30i64)
        .map(|i| {
            Point::new("m")
                .tag("host", format!("h{}", i % 3))
                .field("v", i)
                .timestamp(i)
        })
        .collect();
    client.write(&points[..]).await?;
    let rows: Vec<Row> = client
        .query(Query::new("SELECT v FROM m GROUP BY host").chunk_size(4))
        .try_collect()
        .await?;
    assert_eq!(rows.len(), 30);
    for (k, host) in ["h0", "h1", "h2"].iter().enumerate() {
        let series: Vec<&Row> = rows
            .iter()
            .filter(|r| r.tag("host") == Some(host))
            .collect();
        let got: Vec<i64> = series
            .iter()
            .filter_map(|r| r.get("v").and_then(Value::as_i64))
            .collect();
        let want: Vec<i64> = (0..10).map(|j| j * 3 + k as i64).collect();
        assert_eq!(got, want, "{host}");
        // One metadata Arc for the whole series, across chunks.
        assert!(series
            .windows(2)
            .all(|w| std::sync::Arc::ptr_eq(w[0].meta(), w[1].meta())));
    }
    // The lower level: chunks of at most 4 rows, as the server sent them.
    let chunks: Vec<Chunk> = client
        .query_chunks(Query::new("SELECT v FROM m GROUP BY host").chunk_size(4))
        .try_collect()
        .await?;
    let sizes: Vec<usize> = chunks
        .iter()
        .filter_map(|c| match c {
            Chunk::Series(s) => Some(s.values.len()),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, [4, 4, 2, 4, 4, 2, 4, 4, 2]);
    Ok(())
}

#[tokio::test]
async fn every_value_type_and_nulls() -> TestResult {
    let client = fresh_db("types").await?;
    client
        .write(
            "t f=1.5,i=-7i,s=\"text \\\"q\\\"\",b=true 1\n\
             t f=12,i=9223372036854775807i 2\n\
             t f=-0,s=\"\" 3\n",
        )
        .await?;
    let rows: Vec<Row> = client.query("SELECT * FROM t").try_collect().await?;
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].columns(), ["time", "b", "f", "i", "s"]);
    assert_eq!(rows[0].time(), Some(1));
    assert_eq!(rows[0].get("b"), Some(&Value::Bool(true)));
    assert_eq!(rows[0].get("f").and_then(Value::as_f64), Some(1.5));
    assert_eq!(rows[0].get("i"), Some(&Value::Integer(-7)));
    assert_eq!(rows[0].get("s").and_then(Value::as_str), Some("text \"q\""));
    // A whole float arrives as a JSON integer; the field types make it a float.
    assert_eq!(rows[1].get("f"), Some(&Value::Float(12.0)));
    assert_eq!(rows[1].get("i"), Some(&Value::Integer(i64::MAX)));
    assert!(rows[1].get("s").is_some_and(Value::is_null));
    assert!(rows[1].get("b").is_some_and(Value::is_null));
    let neg0 = rows[2].get("f").and_then(Value::as_f64).ok_or("no f")?;
    assert_eq!(neg0.to_bits(), (-0.0f64).to_bits());
    assert_eq!(rows[2].get("s").and_then(Value::as_str), Some(""));
    Ok(())
}

#[tokio::test]
async fn empty_results_yield_nothing() -> TestResult {
    let client = fresh_db("empty").await?;
    client.write("e v=1i 1").await?;
    let rows: Vec<Row> = client
        .query("SELECT * FROM e WHERE v > 5")
        .try_collect()
        .await?;
    assert!(rows.is_empty());
    let rows: Vec<Row> = client
        .query("SELECT * FROM nothing_here")
        .try_collect()
        .await?;
    assert!(rows.is_empty());
    Ok(())
}

#[tokio::test]
async fn statement_errors_are_items_and_top_level_errors_end_the_stream() -> TestResult {
    let client = fresh_db("errors").await?;
    client
        .write("c usage=1.5,label=\"x\" 1\nc usage=2.5,label=\"y\" 2")
        .await?;
    let items: Vec<Result<Row, Error>> = client
        .query("SELECT count(usage) FROM c; SELECT mean(label) FROM c; SELECT last(usage) FROM c")
        .collect()
        .await;
    let first = items
        .first()
        .ok_or("no items")?
        .as_ref()
        .map_err(|e| e.to_string())?;
    assert_eq!(
        (first.statement_id(), first.get("count")),
        (0, Some(&Value::Float(2.0)))
    );
    let err = items
        .get(1)
        .ok_or("no error item")?
        .as_ref()
        .err()
        .ok_or("not an error")?;
    assert!(err.is_query(), "{err}");
    assert!(
        err.to_string().contains("statement 1") && err.to_string().contains("mean"),
        "{err}"
    );
    // influxd runs nothing after a failing statement: the next one is an
    // error of its own, under its own number (1.6.7 sends the failed one's).
    assert_eq!(items.len(), 3, "{items:?}");
    let err = items[2].as_ref().err().ok_or("not an error")?;
    assert!(
        err.to_string().contains("statement 2: not executed"),
        "{err}"
    );

    let mut bad = client.query("SELEC oops");
    let err = bad.next().await.ok_or("no item")?.err().ok_or("no error")?;
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert!(err.to_string().contains("error parsing query"), "{err}");
    assert!(bad.next().await.is_none());

    let missing = client.with_database("no_such_db_q");
    let items: Vec<Result<Row, Error>> = missing.query("SELECT * FROM c").collect().await;
    assert_eq!(items.len(), 1);
    assert!(items[0].as_ref().is_err_and(|e| e.is_database_not_found()));
    Ok(())
}

#[derive(Debug, Deserialize, PartialEq)]
struct Cpu {
    time: i64,
    host: String,
    region: String,
    usage_user: f64,
    usage_system: f64,
    requests: i64,
    status: String,
}

#[tokio::test]
async fn workload_floats_read_back_bit_identical_as_rows_and_structs() -> TestResult {
    let client = fresh_db("workload").await?;
    let n = 20_000u64;
    let writer = client.writer(WriteOptions::new().max_points(5_000))?;
    futures::stream::iter((0..n).map(|i| Ok::<_, Error>(workload::narrow(i))))
        .forward(writer)
        .await?;

    let mut rows = client.query(Query::new("SELECT * FROM cpu").chunk_size(3_000));
    let mut i = 0u64;
    let mut whole = 0;
    while let Some(row) = rows.try_next().await? {
        let want = workload::narrow(i);
        let user = row
            .get("usage_user")
            .and_then(Value::as_f64)
            .ok_or("usage_user")?;
        let system = row
            .get("usage_system")
            .and_then(Value::as_f64)
            .ok_or("usage_system")?;
        assert_eq!(user.to_bits(), want.usage_user.to_bits(), "row {i}");
        assert_eq!(system.to_bits(), want.usage_system.to_bits(), "row {i}");
        // Float fields are floats, whole ones too.
        for c in ["usage_user", "usage_system"] {
            assert!(matches!(row.get(c), Some(Value::Float(_))), "row {i}: {c}");
        }
        if system.fract() == 0.0 {
            whole += 1;
        }
        assert_eq!(row.time(), Some(want.time));
        i += 1;
    }
    assert_eq!(i, n);
    // About 1% of usage_system values are whole, which the JSON prints as
    // integers: what the rows give without the field types.
    assert!(whole > 50, "{whole}");
    let raw: Vec<Row> = client
        .query(Query::new("SELECT usage_system FROM cpu").field_types(false))
        .try_collect()
        .await?;
    let integers = raw
        .iter()
        .filter(|r| matches!(r.get("usage_system"), Some(Value::Integer(_))))
        .count();
    assert_eq!(integers, whole);

    let mut typed = client.query_as::<Cpu>(Query::new("SELECT * FROM cpu").chunk_size(3_000));
    let mut i = 0u64;
    while let Some(cpu) = typed.try_next().await? {
        let w = workload::narrow(i);
        let want = Cpu {
            time: w.time,
            host: w.host.into(),
            region: w.region.into(),
            usage_user: w.usage_user,
            usage_system: w.usage_system,
            requests: w.requests,
            status: w.status.into(),
        };
        assert_eq!(cpu, want);
        assert_eq!(cpu.usage_system.to_bits(), w.usage_system.to_bits());
        i += 1;
    }
    assert_eq!(i, n);
    Ok(())
}

#[derive(Debug, Deserialize, PartialEq)]
struct Reading {
    time: i64,
    room: String,
    celsius: f64,
    note: Option<String>,
}

#[tokio::test]
async fn query_as_maps_tags_and_columns_and_names_what_is_wrong() -> TestResult {
    let client = fresh_db("query_as").await?;
    client
        .write(
            &[
                Point::new("r")
                    .tag("room", "hall")
                    .field("celsius", 21.0)
                    .field("note", "warm")
                    .timestamp(1),
                Point::new("r")
                    .tag("room", "attic")
                    .field("celsius", 30.5)
                    .timestamp(2),
            ][..],
        )
        .await?;
    let got: Vec<Reading> = client
        .query_as("SELECT celsius, note FROM r GROUP BY room")
        .try_collect()
        .await?;
    assert_eq!(
        got,
        [
            Reading {
                time: 2,
                room: "attic".into(),
                celsius: 30.5,
                note: None
            },
            Reading {
                time: 1,
                room: "hall".into(),
                celsius: 21.0,
                note: Some("warm".into())
            },
        ]
    );

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Wrong {
        celsius: f64,
        pressure: f64,
    }
    let err = client
        .query_as::<Wrong>("SELECT celsius FROM r")
        .try_collect::<Vec<_>>()
        .await
        .expect_err("no pressure column");
    assert!(
        err.is_decode() && err.to_string().contains("pressure"),
        "{err}"
    );

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct WrongType {
        note: i64,
    }
    let err = client
        .query_as::<WrongType>("SELECT note FROM r WHERE note = 'warm'")
        .try_collect::<Vec<_>>()
        .await
        .expect_err("a string is not an integer");
    assert!(
        err.to_string().contains("note") && err.to_string().contains("row 0"),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn bound_parameters_never_splice() -> TestResult {
    let client = fresh_db("params").await?;
    client
        .write(
            &[
                Point::new("p")
                    .tag("host", "a")
                    .field("v", 1i64)
                    .timestamp(1),
                Point::new("p")
                    .tag("host", "b")
                    .field("v", 2i64)
                    .timestamp(2),
                Point::new("p")
                    .tag("host", "a'\\x or 1=1")
                    .field("v", 3i64)
                    .timestamp(3),
            ][..],
        )
        .await?;
    let rows: Vec<Row> = client
        .query(
            Query::new("SELECT v FROM p WHERE host = $h AND v >= $min")
                .bind("h", "a")
                .bind("min", 1),
        )
        .try_collect()
        .await?;
    assert_eq!(rows.len(), 1);
    let rows: Vec<Row> = client
        .query(Query::new("SELECT v FROM p WHERE host = $h").bind("h", "a' or 1=1"))
        .try_collect()
        .await?;
    assert_eq!(rows.len(), 0);
    let rows: Vec<Row> = client
        .query(Query::new("SELECT v FROM p WHERE host = $h").bind("h", "a'\\x or 1=1"))
        .try_collect()
        .await?;
    assert_eq!(
        rows.iter().map(|r| r.get("v")).collect::<Vec<_>>(),
        [Some(&Value::Integer(3))]
    );
    Ok(())
}

#[tokio::test]
async fn bound_floats_stay_floats() -> TestResult {
    let client = fresh_db("floatparams").await?;
    client
        .write(
            &[
                Point::new("p").field("v", 1e-7).timestamp(1),
                Point::new("p").field("v", 0.5).timestamp(2),
                Point::new("p").field("v", 2e16).timestamp(3),
            ][..],
        )
        .await?;
    // serde_json writes these `1e-6` and `1e16`; influxd reads a number
    // without a `.` as an integer and refused them.
    let count = |q: Query| {
        let client = client.clone();
        async move {
            let rows: Vec<Row> = client.query(q).try_collect().await?;
            Ok::<_, Error>(rows.len())
        }
    };
    let q = "SELECT v FROM p WHERE v < $x";
    assert_eq!(count(Query::new(q).bind("x", 1e-6)).await?, 1);
    assert_eq!(count(Query::new(q).bind("x", 1e16)).await?, 2);
    assert_eq!(count(Query::new(q).bind("x", 1.0)).await?, 2);
    let err = count(Query::new(q).bind("x", f64::NAN))
        .await
        .expect_err("NaN cannot be bound");
    assert!(err.is_encode(), "{err}");
    assert!(err.to_string().contains("`x` is null"), "{err}");
    let err = count(Query::new(q).bind("x", u64::MAX))
        .await
        .expect_err("u64::MAX cannot be bound");
    assert!(
        err.to_string().contains("`x` is 18446744073709551615"),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn dropping_the_stream_stops_reading() -> TestResult {
    let client = fresh_db("drop").await?;
    let writer = client.writer(WriteOptions::new().max_points(10_000))?;
    let n = 100_000u64;
    futures::stream::iter((0..n).map(|i| Ok::<_, Error>(workload::narrow(i))))
        .forward(writer)
        .await?;

    let mut full = client.query(Query::new("SELECT * FROM cpu").chunk_size(1_000));
    let mut count = 0u64;
    while full.try_next().await?.is_some() {
        count += 1;
    }
    assert_eq!(count, n);
    let total = full.bytes_received();

    let mut partial = client.query(Query::new("SELECT * FROM cpu").chunk_size(1_000));
    for _ in 0..5 {
        partial.try_next().await?.ok_or("a row")?;
    }
    let read = partial.bytes_received();
    drop(partial);
    assert!(
        read * 20 < total,
        "read {read} of {total} bytes before dropping"
    );
    // The client works on after the drop.
    let again: Vec<Row> = client
        .query("SELECT count(usage_user) FROM cpu")
        .try_collect()
        .await?;
    assert_eq!(again[0].get("count"), Some(&Value::Float(n as f64)));
    Ok(())
}

#[tokio::test]
async fn gzip_responses_stream_too() -> TestResult {
    let plain = fresh_db("gzipq").await?;
    let client = Client::builder(Influxd::shared().url())
        .database(plain.database().unwrap_or_default())
        .gzip(true)
        .build()?;
    let points: Vec<Point> = (0..5_000i64)
        .map(|i| {
            Point::new("g")
                .tag("h", format!("h{}", i % 5))
                .field("v", i)
                .timestamp(i)
        })
        .collect();
    client.write(&points[..]).await?;
    let rows: Vec<Row> = client
        .query(Query::new("SELECT v FROM g").chunk_size(500))
        .try_collect()
        .await?;
    let got: Vec<i64> = rows
        .iter()
        .filter_map(|r| r.get("v").and_then(Value::as_i64))
        .collect();
    assert_eq!(got, (0..5_000).collect::<Vec<_>>());
    Ok(())
}

/// `query_as` maps structs by position once per series (any field order,
/// series tags included, unknown columns skipped only for types that
/// ignore them): the values are those written, series by series, across
/// documents.
#[tokio::test]
async fn query_as_by_position_in_any_field_order() -> TestResult {
    let client = fresh_db("by_position").await?;
    let points: Vec<Point> = (0..15i64)
        .map(|i| {
            Point::new("m")
                .tag("host", format!("h{}", i % 3))
                .tag("dc", format!("dc{}", i % 2))
                .field("v", i as f64 + 0.5)
                .field("n", -i)
                .field("s", format!("s{i}"))
                .timestamp(i)
        })
        .collect();
    client.write(&points[..]).await?;
    let q = || Query::new("SELECT * FROM m GROUP BY host").chunk_size(2);
    // Series come host by host, rows by time.
    let order: Vec<i64> = (0..3)
        .flat_map(|h| (0..5).map(move |k| h + 3 * k))
        .collect();

    #[derive(Debug, Deserialize, PartialEq)]
    struct InOrder {
        time: i64,
        dc: String,
        n: i64,
        s: String,
        v: f64,
        host: String,
    }
    #[derive(Debug, Deserialize, PartialEq)]
    struct OutOfOrder {
        host: String,
        v: f64,
        s: String,
        time: i64,
        n: i64,
        dc: String,
    }
    let got: Vec<InOrder> = client.query_as(q()).try_collect().await?;
    let want: Vec<InOrder> = order
        .iter()
        .map(|&i| InOrder {
            time: i,
            dc: format!("dc{}", i % 2),
            n: -i,
            s: format!("s{i}"),
            v: i as f64 + 0.5,
            host: format!("h{}", i % 3),
        })
        .collect();
    assert_eq!(got, want);
    let got: Vec<OutOfOrder> = client.query_as(q()).try_collect().await?;
    let want: Vec<OutOfOrder> = want
        .into_iter()
        .map(|r| OutOfOrder {
            host: r.host,
            v: r.v,
            s: r.s,
            time: r.time,
            n: r.n,
            dc: r.dc,
        })
        .collect();
    assert_eq!(got, want);

    #[derive(Debug, Deserialize, PartialEq)]
    struct Subset {
        v: f64,
        host: String,
    }
    let got: Vec<Subset> = client.query_as(q()).try_collect().await?;
    assert_eq!(got.len(), 15);
    assert_eq!(
        got[5],
        Subset {
            v: 1.5,
            host: "h1".into()
        }
    );

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Denied {
        v: f64,
        host: String,
    }
    let got: Vec<Result<Denied, Error>> = client.query_as(q()).collect().await;
    assert_eq!(got.len(), 15);
    for r in &got {
        let e = r.as_ref().err().ok_or("Denied must fail")?;
        assert!(e.to_string().contains("unknown field `time`"), "{e}");
    }
    Ok(())
}

/// A response that ends cleanly while a statement is still partial (a
/// proxy or a restarting server closing early): influxd itself never does
/// this on demand, so a fault server sends it.
#[tokio::test]
async fn a_response_cut_cleanly_mid_statement_is_an_error() -> TestResult {
    let partial = concat!(
        r#"{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","v"],"#,
        r#""values":[[1,2],[2,3]],"partial":true}],"partial":true}]}"#,
        "\n"
    );
    let server = FaultServer::sequence(vec![
        Action::status(200)
            .header("Content-Type", "application/json")
            .body(partial),
        Action::status(200)
            .header("Content-Type", "application/json")
            .body(partial),
        Action::status(200).header("Content-Type", "application/json"),
    ])
    .await?;
    // The script answers the queries only: no field types to ask for.
    let client = Client::builder(server.url())
        .database("db")
        .field_types(false)
        .build()?;

    let out: Vec<Result<Row, Error>> = client.query("SELECT v FROM m").collect().await;
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(out[..2].iter().all(Result::is_ok), "{out:?}");
    let err = out[2].as_ref().expect_err("the cut is reported");
    assert!(
        err.to_string()
            .contains("ended in the middle of statement 0"),
        "{err}"
    );

    #[derive(Deserialize, Debug)]
    struct M {
        #[allow(dead_code)]
        v: i64,
    }
    let out: Vec<Result<M, Error>> = client.query_as::<M>("SELECT v FROM m").collect().await;
    assert_eq!(out.len(), 3, "{out:?}");
    assert!(out[2].is_err(), "{out:?}");

    // An empty body is what influxd sends for a query of no statements.
    let out: Vec<Result<Row, Error>> = client.query(";").collect().await;
    assert!(out.is_empty(), "{out:?}");
    Ok(())
}

#[tokio::test]
async fn regexes_and_comments_go_as_post_and_still_read() -> TestResult {
    let client = fresh_db("regex").await?;
    client
        .write(
            &[
                Point::new("p")
                    .tag("h", "x;y")
                    .field("v", 1i64)
                    .timestamp(1),
                Point::new("p").tag("h", "z").field("v", 2i64).timestamp(2),
            ][..],
        )
        .await?;
    // Queries of no statement: influxd answers with an empty body.
    for empty in [";", "-- only a comment"] {
        let rows: Vec<Row> = client.query(empty).try_collect().await?;
        assert!(rows.is_empty(), "{empty}");
    }
    let q = Query::new("SELECT v FROM p WHERE h =~ /^x;y$/ -- a comment");
    assert!(!q.is_read_only());
    let rows: Vec<Row> = client.query(q).try_collect().await?;
    assert_eq!(
        rows.iter().map(|r| r.get("v")).collect::<Vec<_>>(),
        [Some(&Value::Integer(1))]
    );
    Ok(())
}

/// influxd prints a whole float as an integer, 1e19 as
/// `10000000000000000000`, past i64: it must still read as that float.
#[tokio::test]
async fn huge_whole_floats_read_back_as_floats() -> TestResult {
    let client = fresh_db("huge").await?;
    client
        .write("f v=1e19 1\nf v=-1e19 2\nf v=12 3\nf v=1.8446744073709552e19 4")
        .await?;
    let want = [1e19, -1e19, 12.0, 1.8446744073709552e19];
    let rows: Vec<Row> = client.query("SELECT v FROM f").try_collect().await?;
    let got: Vec<Option<f64>> = rows
        .iter()
        .map(|r| r.get("v").and_then(Value::as_f64))
        .collect();
    assert_eq!(got, want.map(Some));

    #[derive(Deserialize)]
    struct F {
        v: f64,
    }
    let typed: Vec<F> = client
        .query_as::<F>("SELECT v FROM f")
        .try_collect()
        .await?;
    assert_eq!(typed.iter().map(|f| f.v).collect::<Vec<_>>(), want);
    Ok(())
}
