//! The blocking client against a real influxd: plain `#[test]`s, no async.
#![cfg(feature = "blocking")]

mod support;

use std::collections::BTreeMap;

use influx_stream::blocking::{self, QueryIter};
use influx_stream::query::Chunk;
use influx_stream::{
    Error, FieldType, Point, Privilege, Query, RetentionPolicySpec, Row, Value, WriteOptions,
};
use support::influxd::{unique_db, Influxd};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const BASE: i64 = 1_600_000_000_000_000_000;

fn fresh_db(prefix: &str) -> Result<blocking::Client, Error> {
    let db = unique_db(prefix);
    let client = blocking::Client::builder(Influxd::shared().url())
        .database(&db)
        .build()?;
    client.create_database(&db)?;
    Ok(client)
}

fn count(client: &blocking::Client, measurement: &str) -> Result<i64, Error> {
    let json = client.query_json(format!(
        "SELECT count(*) FROM {}",
        influx_stream::quote_ident(measurement)
    ))?;
    Ok(json["results"][0]["series"][0]["values"][0][1]
        .as_i64()
        .unwrap_or(0))
}

fn point(i: i64) -> Point {
    Point::new("m")
        .tag("host", format!("h{}", i % 4))
        .field("v", i as f64 * 0.5)
        .field("n", i)
        .timestamp(BASE + i)
}

#[test]
fn handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<blocking::Client>();
    send::<blocking::Writer>();
    send::<QueryIter<Row>>();
}

#[test]
fn ping() -> TestResult {
    let client = blocking::Client::builder(Influxd::shared().url()).build()?;
    let pong = client.ping()?;
    assert!(pong.version.starts_with("1."), "{pong:?}");
    assert_eq!(pong.build, "OSS");
    Ok(())
}

#[test]
fn connection_refused_is_an_error_not_a_hang() -> TestResult {
    let client = blocking::Client::builder("http://127.0.0.1:1").build()?;
    let err = client.ping().expect_err("nothing listens on port 1");
    assert!(err.is_connect(), "{err}");
    let first = client.query("SELECT * FROM m").next().ok_or("an item")?;
    assert!(first.is_err_and(|e| e.is_connect()));
    Ok(())
}

#[test]
fn write_and_read_back_exact_values() -> TestResult {
    let client = fresh_db("bl_rw")?;
    client.write(
        Point::new("w")
            .tag("host", "a b")
            .field("f", 0.1)
            .field("i", -7i64)
            .field("s", "x \"y\"")
            .field("b", true)
            .timestamp(BASE),
    )?;
    client.write_iter((1..=3).map(|i| {
        Point::new("w")
            .tag("host", "c")
            .field("f", 2.5 * i as f64)
            .timestamp(BASE + i)
    }))?;
    client.write("w,host=d f=1e300 4")?;

    let rows: Vec<Row> = client
        .query("SELECT * FROM w WHERE time >= 0")
        .collect::<Result<_, _>>()?;
    assert_eq!(rows.len(), 5);
    let first = &rows[0];
    assert_eq!(first.time(), Some(4));
    assert_eq!(first.get("f").and_then(Value::as_f64), Some(1e300));
    let r = &rows[1];
    assert_eq!(r.time(), Some(BASE));
    assert_eq!(r.get("host"), Some(&Value::String("a b".into())));
    assert_eq!(r.get("f"), Some(&Value::Float(0.1)));
    assert_eq!(r.get("i"), Some(&Value::Integer(-7)));
    assert_eq!(r.get("s"), Some(&Value::String("x \"y\"".into())));
    assert_eq!(r.get("b"), Some(&Value::Bool(true)));
    let fs: Vec<f64> = rows[2..]
        .iter()
        .filter_map(|r| r.get("f").and_then(Value::as_f64))
        .collect();
    assert_eq!(fs, [2.5, 5.0, 7.5]);

    let json = client.query_json("SELECT count(f) FROM w")?;
    assert_eq!(json["results"][0]["series"][0]["values"][0][1], 5);
    // A failed statement is an error, as in the async client.
    let err = client
        .with_database("no_such_db_here")
        .query_json("SELECT * FROM w")
        .expect_err("no database");
    assert!(err.is_database_not_found(), "{err}");
    Ok(())
}

#[test]
fn fifty_thousand_rows_stream_in_chunks() -> TestResult {
    let client = fresh_db("bl_many")?;
    let n = 50_000i64;
    client.write_iter((0..n).map(point))?;

    let mut rows = client.query(Query::new("SELECT v, n FROM m").chunk_size(1_000));
    let mut seen = 0i64;
    for row in rows.by_ref() {
        let row = row?;
        assert_eq!(row.time(), Some(BASE + seen));
        assert_eq!(
            row.get("v").and_then(Value::as_f64),
            Some(seen as f64 * 0.5)
        );
        assert_eq!(row.get("n"), Some(&Value::Integer(seen)));
        seen += 1;
    }
    assert_eq!(seen, n);
    assert!(rows.next().is_none(), "the iterator stays finished");
    Ok(())
}

#[test]
fn query_as_and_chunks() -> TestResult {
    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct M {
        time: i64,
        host: String,
        v: f64,
        n: i64,
    }
    let client = fresh_db("bl_as")?;
    client.write_iter((0..10).map(point))?;
    let got: Vec<M> = client
        .query_as::<M>("SELECT v, n FROM m GROUP BY host")
        .collect::<Result<_, _>>()?;
    let mut want: Vec<M> = (0..10)
        .map(|i| M {
            time: BASE + i,
            host: format!("h{}", i % 4),
            v: i as f64 * 0.5,
            n: i,
        })
        .collect();
    want.sort_by(|a, b| (&a.host, a.time).cmp(&(&b.host, b.time)));
    assert_eq!(got, want);

    // A wrong type is an item naming the column.
    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Bad {
        n: String,
    }
    let first = client
        .query_as::<Bad>("SELECT n FROM m")
        .next()
        .ok_or("an item")?;
    let err = first.expect_err("n is an integer");
    assert!(err.is_decode() && err.to_string().contains('n'), "{err}");

    let chunks: Vec<Chunk> = client
        .query_chunks(Query::new("SELECT v FROM m GROUP BY host").chunk_size(2))
        .collect::<Result<_, _>>()?;
    let rows: usize = chunks
        .iter()
        .map(|c| match c {
            Chunk::Series(s) => s.values.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(rows, 10);
    Ok(())
}

#[test]
fn dropping_a_query_early_stops_it_and_the_client_goes_on() -> TestResult {
    let client = fresh_db("bl_drop")?;
    let n = 100_000i64;
    let mut writer = client.writer(WriteOptions::new().max_points(10_000))?;
    for i in 0..n {
        writer.send(&point(i))?;
    }
    writer.close()?;

    let mut full = client.query(Query::new("SELECT * FROM m").chunk_size(1_000));
    assert_eq!(full.by_ref().try_fold(0i64, |k, r| r.map(|_| k + 1))?, n);
    let total = full.bytes_received();

    let mut partial = client.query(Query::new("SELECT * FROM m").chunk_size(1_000));
    for _ in 0..5 {
        partial.next().ok_or("a row")??;
    }
    // Give the runtime thread time to run ahead as far as it may.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let read = partial.bytes_received();
    drop(partial);
    assert!(
        read * 20 < total,
        "read {read} of {total} bytes before dropping: not bounded"
    );

    // The client works on after the drop, many times over.
    for _ in 0..20 {
        let mut early = client.query(Query::new("SELECT * FROM m").chunk_size(100));
        early.next().ok_or("a row")??;
    }
    assert_eq!(count(&client, "m")?, n);
    let again: Vec<Row> = client
        .query("SELECT count(v) FROM m")
        .collect::<Result<_, _>>()?;
    assert_eq!(again[0].get("count"), Some(&Value::Float(n as f64)));
    Ok(())
}

#[test]
fn admin_round_trip() -> TestResult {
    let server = Influxd::shared();
    let db = unique_db("bl_admin");
    let client = blocking::Client::builder(server.url())
        .database(&db)
        .build()?;
    client.create_database(&db)?;
    assert!(client.show_databases()?.contains(&db));

    client.create_retention_policy(
        &db,
        &RetentionPolicySpec::new("week", "7d").shard_duration("1d"),
    )?;
    client.alter_retention_policy(&db, &RetentionPolicySpec::new("week", "14d").default(true))?;
    let rps = client.show_retention_policies(&db)?;
    let week = rps.iter().find(|r| r.name == "week").ok_or("no rp")?;
    assert_eq!((week.duration.as_str(), week.default), ("336h0m0s", true));
    client.drop_retention_policy(&db, "week")?;
    let names: Vec<String> = client
        .show_retention_policies(&db)?
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["autogen"]);

    // The default policy was dropped: write to autogen.
    let client = client.with_retention_policy("autogen");
    client.write(
        &[
            Point::new("cpu")
                .tag("host", "a")
                .field("usage", 0.5)
                .timestamp(1),
            Point::new("cpu")
                .tag("host", "b")
                .field("usage", 0.7)
                .timestamp(2),
            Point::new("mem").field("free", 3i64).timestamp(3),
        ][..],
    )?;
    assert_eq!(client.show_measurements()?, ["cpu", "mem"]);
    assert_eq!(
        client.show_series(Some("cpu"))?,
        ["cpu,host=a", "cpu,host=b"]
    );
    assert_eq!(client.show_tag_keys(None)?["cpu"], ["host"]);
    assert_eq!(
        client.show_tag_values(Some("cpu"), "host")?,
        BTreeMap::from([("cpu".to_owned(), vec!["a".to_owned(), "b".to_owned()])])
    );
    assert_eq!(
        client.show_field_keys(Some("mem"))?["mem"],
        [("free".to_owned(), FieldType::Integer)]
    );
    client.delete("cpu", &[("host", "a")])?;
    assert_eq!(count(&client, "cpu")?, 1);
    client.drop_series("cpu", &[("host", "b")])?;
    assert!(client
        .show_series(Some("cpu"))?
        .iter()
        .all(|s| !s.contains("host=b")));
    client.drop_measurement("mem")?;
    assert!(!client.show_measurements()?.contains(&"mem".to_owned()));

    let user = unique_db("bl_user");
    client.create_user(&user, "pw'\"", false)?;
    client.grant(Privilege::Read, &db, &user)?;
    assert!(client
        .show_users()?
        .iter()
        .any(|u| u.name == user && !u.admin));
    client.revoke(Privilege::Read, &db, &user)?;
    client.drop_user(&user)?;
    assert!(client.show_users()?.iter().all(|u| u.name != user));

    client.drop_database(&db)?;
    assert!(!client.show_databases()?.contains(&db));
    // Errors are the async client's.
    let no_db = blocking::Client::builder(server.url()).build()?;
    assert!(no_db.show_measurements().is_err_and(|e| e.is_builder()));
    Ok(())
}

#[test]
fn writer_sends_twenty_thousand_points_exactly() -> TestResult {
    let client = fresh_db("bl_writer")?;
    let mut writer = client.writer(WriteOptions::new().max_points(1_000))?;
    for i in 0..20_000 {
        writer.send(&point(i))?;
    }
    writer.close()?;
    assert_eq!(count(&client, "m")?, 20_000);
    let stats = writer.stats();
    assert_eq!(stats.points_accepted, 20_000);
    assert_eq!(stats.points_written, 20_000);
    assert_eq!(stats.points_failed, 0);
    assert_eq!(stats.requests, 20, "{stats:?}");
    // Closed: no more points.
    assert!(writer.send(&point(0)).is_err_and(|e| e.is_closed()));
    Ok(())
}

#[test]
fn writer_clones_send_from_threads_through_a_tiny_queue() -> TestResult {
    let client = fresh_db("bl_threads")?;
    // A tiny queue, so senders block for room again and again.
    let writer = client.writer(WriteOptions::new().max_points(500).max_queued_batches(1))?;
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let mut w = writer.clone();
            std::thread::spawn(move || -> Result<(), Error> {
                for i in 0..5_000 {
                    w.send(&point(t * 5_000 + i))?;
                }
                w.close()
            })
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| "a sender panicked")??;
    }
    let mut writer = writer;
    writer.flush()?;
    assert_eq!(count(&client, "m")?, 20_000);
    let stats = writer.stats();
    assert_eq!((stats.points_written, stats.points_failed), (20_000, 0));
    Ok(())
}

#[test]
fn writer_failure_is_reported_on_close() -> TestResult {
    let client = blocking::Client::builder(Influxd::shared().url())
        .database("does_not_exist")
        .build()?;
    let mut writer = client.writer(WriteOptions::new())?;
    for i in 0..10 {
        writer.send(&point(i))?;
    }
    let err = writer.close().expect_err("no database");
    assert!(err.is_database_not_found(), "{err}");
    assert_eq!(err.points_dropped(), Some(10));
    let stats = writer.stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.points_failed),
        (1, 0, 10)
    );
    Ok(())
}

#[test]
fn a_dropped_writer_still_delivers_even_with_its_client() -> TestResult {
    let db = unique_db("bl_dropw");
    let url = Influxd::shared().url();
    {
        let client = blocking::Client::builder(&url).database(&db).build()?;
        client.create_database(&db)?;
        // A long flush interval: only the drop can send these.
        let mut writer = client
            .writer(WriteOptions::new().flush_interval(std::time::Duration::from_secs(3_600)))?;
        for i in 0..3_000 {
            writer.send(&point(i))?;
        }
        // Neither closed nor flushed: dropping the last handles must wait
        // for the points to be written before the runtime thread ends.
        drop(writer);
        drop(client);
    }
    let client = blocking::Client::builder(&url).database(&db).build()?;
    assert_eq!(count(&client, "m")?, 3_000);
    Ok(())
}

#[test]
fn inside_an_async_runtime_every_call_is_a_clear_error() -> TestResult {
    let client = fresh_db("bl_async")?;
    client.write_iter((0..3).map(point))?;
    let mut writer = client.writer(WriteOptions::new())?;
    let mut rows = client.query("SELECT * FROM m");

    let check = |e: Error| {
        assert!(e.is_runtime(), "{e}");
        assert!(e.to_string().contains("use the async"), "{e}");
    };
    for rt in [
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()?,
    ] {
        let (client2, url) = (client.clone(), Influxd::shared().url());
        rt.block_on(async {
            check(client.ping().expect_err("in a runtime"));
            check(client.write(point(9)).expect_err("in a runtime"));
            check(client.show_databases().expect_err("in a runtime"));
            check(
                client
                    .writer(WriteOptions::new())
                    .expect_err("in a runtime"),
            );
            check(writer.send(&point(9)).expect_err("in a runtime"));
            check(writer.flush().expect_err("in a runtime"));
            check(
                blocking::Client::builder(&url)
                    .build()
                    .expect_err("in a runtime"),
            );
            // A fresh iterator: an error, then nothing.
            let mut inner = client.query("SELECT * FROM m");
            check(inner.next().ok_or("an item")?.expect_err("in a runtime"));
            assert!(inner.next().is_none());
            Ok::<_, Box<dyn std::error::Error>>(())
        })?;
        // From a spawned task too (another thread of the multi-thread one).
        let spawned = rt.block_on(rt.spawn(async move { client2.ping() }))?;
        check(spawned.expect_err("in a runtime"));
        // Where Tokio allows blocking, it works: spawn_blocking, which async
        // programs are told to use for blocking code.
        let client3 = client.clone();
        let pong = rt.block_on(rt.spawn_blocking(move || client3.ping()))??;
        assert!(pong.version.starts_with("1."), "{pong:?}");
    }
    // And block_in_place on a multi-thread runtime.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let client4 = client.clone();
    let n = rt.block_on(
        rt.spawn(async move { tokio::task::block_in_place(|| count(&client4, "m")) }),
    )??;
    assert_eq!(n, 3);
    // Outside again, everything works.
    assert_eq!(rows.by_ref().count(), 3);
    writer.send(&point(3))?;
    writer.close()?;
    assert_eq!(count(&client, "m")?, 4);
    Ok(())
}

#[test]
fn dropping_inside_an_async_runtime_neither_blocks_nor_panics() -> TestResult {
    let db = unique_db("bl_async_drop");
    let url = Influxd::shared().url();
    let client = blocking::Client::builder(&url).database(&db).build()?;
    client.create_database(&db)?;
    let mut writer =
        client.writer(WriteOptions::new().flush_interval(std::time::Duration::from_secs(3_600)))?;
    for i in 0..1_000 {
        writer.send(&point(i))?;
    }
    let rows = client.query("SHOW DATABASES");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // The last handles go inside the runtime: no join there; the runtime
    // thread sends the writer's points and ends by itself.
    rt.block_on(async move {
        drop(rows);
        drop(writer);
        drop(client);
    });
    let reader = blocking::Client::builder(&url).database(&db).build()?;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while count(&reader, "m")? < 1_000 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(count(&reader, "m")?, 1_000);
    Ok(())
}
