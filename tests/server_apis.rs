//! The 2.x and 3.x APIs against the stand-in of `support::protocol`, built
//! from their published references (no real 2.x or 3.x server can be
//! installed here): what the server holds afterwards, exact counts, the
//! documented error bodies turned into errors that say what happened.

mod support;

use std::sync::{Arc, Mutex};

use futures::{stream, StreamExt, TryStreamExt};
use influx_stream::{Client, Error, OnFailure, Point, Precision, Query, WriteApi, WriteOptions};
use support::protocol::{Field, Flavor, ProtocolServer};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const TOKEN: &str = "tok-5ecret-9f1d";

fn point(i: i64) -> Point {
    Point::new("cpu")
        .tag("host", format!("h{}", i % 3))
        .field("usage", i as f64 + 0.5)
        .field("count", i)
        .timestamp(1_700_000_000_000_000_000 + i * 1_000_000_000)
}

async fn v2() -> Result<(ProtocolServer, Client), Box<dyn std::error::Error>> {
    let server = ProtocolServer::start(Flavor::V2, TOKEN, "acme", &["metrics"]).await?;
    // Bad lines are sent on purpose, to see the server's answers.
    let client = Client::builder(server.url())
        .check_raw_lines(false)
        .token(TOKEN)
        .database("metrics")
        .write_api(WriteApi::v2("acme"))
        .build()?;
    Ok((server, client))
}

async fn v3() -> Result<(ProtocolServer, Client), Box<dyn std::error::Error>> {
    let server = ProtocolServer::start(Flavor::V3, TOKEN, "", &[]).await?;
    let client = Client::builder(server.url())
        .check_raw_lines(false)
        .bearer(TOKEN)
        .database("sensors")
        .write_api(WriteApi::v3())
        .build()?;
    Ok((server, client))
}

#[tokio::test]
async fn v2_one_shot_write_is_stored_exactly() -> TestResult {
    let (server, client) = v2().await?;
    let client = client.with_precision(Precision::Milliseconds);
    client
        .write(
            Point::new("weather")
                .tag("site", "north yard")
                .field("temp", 21.25)
                .field("ok", true)
                .field("note", "a \"quoted\" word")
                .timestamp(1_700_000_000_123_000_000),
        )
        .await?;
    let req = &server.requests()[0];
    assert_eq!(req.path, "/api/v2/write");
    assert_eq!(req.param("org").as_deref(), Some("acme"));
    assert_eq!(req.param("bucket").as_deref(), Some("metrics"));
    assert_eq!(req.param("precision").as_deref(), Some("ms"));
    assert_eq!(req.auth_scheme.as_deref(), Some("Token"));
    let stored = server.points("metrics");
    assert_eq!(stored.len(), 1);
    let p = &stored[0];
    assert_eq!(p.measurement, "weather");
    assert_eq!(p.tags["site"], "north yard");
    assert_eq!(p.fields["temp"], Field::Float(21.25));
    assert_eq!(p.fields["ok"], Field::Bool(true));
    assert_eq!(p.fields["note"], Field::String("a \"quoted\" word".into()));
    assert_eq!(p.time_ns, 1_700_000_000_123_000_000);
    Ok(())
}

#[tokio::test]
async fn v2_writer_retries_503_and_429_and_stores_every_point() -> TestResult {
    let (server, client) = v2().await?;
    server.push_fault(503, 0);
    server.push_fault(429, 0);
    let writer = client.writer(WriteOptions::new().max_points(1_000).max_in_flight(1))?;
    let stats = writer.clone();
    stream::iter(0..10_000)
        .map(|i| Ok::<_, Error>(point(i)))
        .forward(writer)
        .await?;
    let s = stats.stats();
    assert_eq!(s.points_written, 10_000, "{s:?}");
    assert_eq!(s.retries, 2, "{s:?}");
    assert_eq!(s.requests, 12, "{s:?}");
    let stored = server.points("metrics");
    assert_eq!(stored.len(), 10_000);
    let sum: i64 = stored
        .iter()
        .map(|p| match p.fields["count"] {
            Field::Integer(i) => i,
            _ => -1,
        })
        .sum();
    assert_eq!(sum, (0..10_000).sum::<i64>());
    Ok(())
}

#[tokio::test]
async fn v2_413_splits_batches_until_they_fit() -> TestResult {
    let (server, client) = v2().await?;
    server.set_max_body(20_000);
    let writer = client.writer(WriteOptions::new().max_points(2_000))?;
    let stats = writer.clone();
    stream::iter(0..4_000)
        .map(|i| Ok::<_, Error>(point(i)))
        .forward(writer)
        .await?;
    let s = stats.stats();
    assert_eq!(s.points_written, 4_000, "{s:?}");
    assert!(s.splits > 0, "{s:?}");
    assert_eq!(server.points("metrics").len(), 4_000);
    Ok(())
}

#[tokio::test]
async fn v2_errors_say_what_happened() -> TestResult {
    let (server, client) = v2().await?;

    let wrong = Client::builder(server.url())
        .token("not-the-token")
        .database("metrics")
        .write_api(WriteApi::v2("acme"))
        .build()?;
    let err = wrong.write(point(1)).await.expect_err("401");
    assert!(err.is_auth(), "{err}");
    assert_eq!(err.server_message(), Some("unauthorized access"));
    assert!(err.to_string().contains("token"), "{err}");

    let err = client
        .with_database("nope")
        .write(point(1))
        .await
        .expect_err("404");
    assert!(err.is_database_not_found(), "{err}");
    assert!(
        err.to_string().contains("bucket \"nope\" not found"),
        "{err}"
    );
    assert!(err.to_string().contains("influx bucket create"), "{err}");

    // 2.x refuses the whole batch when a line does not parse.
    let err = client
        .write("cpu,host=a usage=1 1\ncpu,host=a usage= 2\n")
        .await
        .expect_err("400");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert!(!err.is_partial_write(), "{err}");
    assert_eq!(err.points_dropped(), Some(2));
    assert!(err.to_string().contains("missing field value"), "{err}");
    assert!(server.points("metrics").is_empty());

    // A field type conflict is a partial write (422 in 2.x OSS).
    client.write("cpu,host=a usage=1 1").await?;
    let err = client
        .write("cpu,host=a usage=2i 2\ncpu,host=a usage=3 3\n")
        .await
        .expect_err("422");
    assert!(err.is_partial_write(), "{err}");
    assert_eq!(err.points_dropped(), Some(1));
    assert!(err.to_string().contains("field type conflict"), "{err}");
    assert_eq!(server.points("metrics").len(), 2);

    let err = Client::builder(server.url())
        .write_api(WriteApi::v2("acme"))
        .precision(Precision::Hours)
        .build()
        .expect_err("no hour precision in 2.x");
    assert!(err.is_builder(), "{err}");
    Ok(())
}

#[tokio::test]
async fn v3_writer_and_partial_writes_line_by_line() -> TestResult {
    let (server, client) = v3().await?;
    let writer = client.writer(WriteOptions::new().max_points(500))?;
    let stats = writer.clone();
    stream::iter(0..3_000)
        .map(|i| Ok::<_, Error>(point(i)))
        .forward(writer)
        .await?;
    assert_eq!(stats.stats().points_written, 3_000);
    assert_eq!(server.points("sensors").len(), 3_000);
    let req = &server.requests()[0];
    assert_eq!(req.path, "/api/v3/write_lp");
    assert_eq!(req.param("precision").as_deref(), Some("nanosecond"));
    assert_eq!(req.auth_scheme.as_deref(), Some("Bearer"));

    // accept_partial (the default): the good lines are written, the bad
    // ones listed with their numbers.
    let body = "m v=1 1\nm,host=edge-07 cou\nm v=3 3\nm v= 4\n";
    let err = client
        .with_database("partial")
        .write(body)
        .await
        .expect_err("partial");
    assert!(err.is_partial_write(), "{err}");
    assert_eq!(err.points_dropped(), Some(2));
    let lines: Vec<u64> = err.failed_lines().iter().map(|l| l.line_number).collect();
    assert_eq!(lines, [2, 4]);
    assert_eq!(err.failed_lines()[0].original_line, "m,host=edge-07 cou");
    assert!(
        err.to_string().contains("line 2: missing field value"),
        "{err}"
    );
    assert_eq!(server.points("partial").len(), 2);

    // accept_partial(false): nothing is written; the first bad line is named.
    let strict = Client::builder(server.url())
        .check_raw_lines(false)
        .bearer(TOKEN)
        .database("strict")
        .write_api(WriteApi::v3().accept_partial(false).no_sync(true))
        .build()?;
    let err = strict.write(body).await.expect_err("refused");
    assert!(!err.is_partial_write(), "{err}");
    assert_eq!(err.points_dropped(), Some(4));
    assert_eq!(err.failed_lines().len(), 1);
    assert_eq!(err.failed_lines()[0].line_number, 2);
    assert!(server.points("strict").is_empty());
    let last = server.requests().pop().expect("request");
    assert_eq!(last.param("accept_partial").as_deref(), Some("false"));
    assert_eq!(last.param("no_sync").as_deref(), Some("true"));
    Ok(())
}

#[tokio::test]
async fn v3_dead_letters_hold_only_the_refused_lines() -> TestResult {
    let (server, client) = v3().await?;
    let failed = Arc::new(Mutex::new(Vec::new()));
    let sink = failed.clone();
    let mut writer = client.writer(
        WriteOptions::new()
            .max_points(10)
            .on_failure(OnFailure::Continue)
            .failure_callback(move |b| sink.lock().expect("lock").push(b)),
    )?;
    writer.send("ok v=1 1").await?;
    writer.send("bad v=").await?;
    writer.send("ok v=3 3").await?;
    let _ = writer.close().await;
    let failed = failed.lock().expect("lock");
    assert_eq!(failed.len(), 1);
    assert_eq!(&failed[0].lines[..], b"bad v=\n");
    assert_eq!(server.points("sensors").len(), 2);
    Ok(())
}

#[tokio::test]
async fn v3_sql_and_influxql_stream_rows_and_types() -> TestResult {
    let (server, client) = v3().await?;
    client.write_iter((0..30).map(point)).await?;

    let rows: Vec<_> = client
        .query(Query::sql("SELECT * FROM cpu WHERE host = $host").bind("host", "h1"))
        .try_collect()
        .await?;
    assert_eq!(rows.len(), 10);
    assert!(rows
        .iter()
        .all(|r| r.get("host").and_then(|v| v.as_str()) == Some("h1")));
    assert_eq!(
        rows[0].time(),
        Some(1_700_000_000_000_000_000 + 1_000_000_000)
    );
    assert_eq!(rows[0].get("usage").and_then(|v| v.as_f64()), Some(1.5));
    // Bound, not spliced: the text still has the placeholder.
    let req = server.requests().pop().expect("request");
    assert_eq!(req.path, "/api/v3/query_sql");
    let sent: serde_json::Value = serde_json::from_slice(&req.body)?;
    assert_eq!(sent["q"], "SELECT * FROM cpu WHERE host = $host");
    assert_eq!(sent["params"]["host"], "h1");
    assert_eq!(sent["format"], "jsonl");
    assert_eq!(sent["db"], "sensors");

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Cpu {
        time: i64,
        host: String,
        usage: f64,
        count: i64,
    }
    let typed: Vec<Cpu> = client
        .query_as::<Cpu>(Query::influxql_v3("SELECT * FROM cpu"))
        .try_collect()
        .await?;
    assert_eq!(typed.len(), 30);
    assert_eq!(
        typed[29],
        Cpu {
            time: 1_700_000_000_000_000_000 + 29_000_000_000,
            host: "h2".into(),
            usage: 29.5,
            count: 29
        }
    );
    let named: Vec<_> = client
        .query(Query::influxql_v3("SELECT * FROM cpu"))
        .try_collect()
        .await?;
    assert_eq!(named[0].series_name(), Some("cpu"));

    let err = client
        .query(Query::sql("SELECT * FROM cpu").database("missing"))
        .try_collect::<Vec<_>>()
        .await
        .expect_err("404");
    assert!(err.is_database_not_found(), "{err}");
    let err = client
        .query(Query::sql("SELEKT nonsense"))
        .try_collect::<Vec<_>>()
        .await
        .expect_err("400");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert!(err.to_string().contains("Error during planning"), "{err}");
    Ok(())
}

#[tokio::test]
async fn v3_ping_and_auth() -> TestResult {
    let (server, client) = v3().await?;
    let pong = client.ping().await?;
    assert_eq!(pong.version, "3.10.1");
    assert_eq!(pong.build, "Core");
    let err = Client::builder(server.url())
        .build()?
        .ping()
        .await
        .expect_err("no token");
    assert!(err.is_auth(), "{err}");
    // 3.x takes `Token` too.
    let token = Client::builder(server.url()).token(TOKEN).build()?;
    assert_eq!(token.ping().await?.build, "Core");
    Ok(())
}
