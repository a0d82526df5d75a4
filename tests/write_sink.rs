//! The batching writer against a real influxd: exact counts, batching under
//! `forward`, failures, and a server restart in the middle of a stream.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{stream, SinkExt, StreamExt};
use influx_stream::{Client, Error, OnFailure, Point, RetryPolicy, WriteOptions};
use support::influxd::{unique_db, Influxd};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn fresh_db(server: &Influxd, prefix: &str) -> Result<Client, Error> {
    let db = unique_db(prefix);
    let client = Client::builder(server.url()).database(&db).build()?;
    client.create_database(&db).await?;
    Ok(client)
}

async fn count(client: &Client, measurement: &str) -> Result<i64, Error> {
    let json = client
        .query_json(format!(
            "SELECT count(*) FROM {}",
            influx_stream::quote_ident(measurement)
        ))
        .await?;
    Ok(json["results"][0]["series"][0]["values"][0][1]
        .as_i64()
        .unwrap_or(0))
}

fn point(i: i64) -> Point {
    Point::new("m")
        .tag("host", format!("h{}", i % 10))
        .field("v", i as f64)
        .timestamp(1_600_000_000_000_000_000 + i)
}

#[tokio::test]
async fn forward_writes_every_point_exactly_once() -> TestResult {
    let client = fresh_db(Influxd::shared(), "forward").await?;
    let writer = client.writer(WriteOptions::new().max_points(1_000).max_in_flight(2))?;
    let stats_handle = writer.clone();
    stream::iter(0..25_000)
        .map(|i| Ok::<_, Error>(point(i)))
        .forward(writer)
        .await?;
    assert_eq!(count(&client, "m").await?, 25_000);
    let stats = stats_handle.stats();
    assert_eq!(stats.points_accepted, 25_000);
    assert_eq!(stats.points_written, 25_000);
    assert_eq!(stats.points_failed, 0);
    assert_eq!(stats.requests, 25, "{stats:?}");
    Ok(())
}

#[tokio::test]
async fn a_trickle_is_batched_by_the_flush_interval() -> TestResult {
    let client = fresh_db(Influxd::shared(), "trickle").await?;
    let writer = client.writer(
        WriteOptions::new()
            .max_points(100_000)
            .flush_interval(Duration::from_millis(100)),
    )?;
    let stats_handle = writer.clone();
    // One point a millisecond for two seconds: forward flushes after nearly
    // every point, which must not become a request per point.
    let ticks = tokio::time::interval(Duration::from_millis(1));
    let n = 2_000i64;
    let trickle = stream::unfold((0i64, ticks), move |(i, mut ticks)| async move {
        if i >= n {
            return None;
        }
        ticks.tick().await;
        Some((Ok::<_, Error>(point(i)), (i + 1, ticks)))
    });
    trickle.forward(writer).await?;
    assert_eq!(count(&client, "m").await?, n);
    let stats = stats_handle.stats();
    assert_eq!(stats.points_written, n as u64);
    // About one request per 100 ms of a 2 s stream, far from one per point.
    assert!(
        stats.requests <= 60,
        "{} requests for {n} points",
        stats.requests
    );
    Ok(())
}

#[tokio::test]
async fn the_flush_interval_fires_without_anyone_polling() -> TestResult {
    let client = fresh_db(Influxd::shared(), "idle").await?;
    let mut writer =
        client.writer(WriteOptions::new().flush_interval(Duration::from_millis(50)))?;
    writer.push(&point(1))?;
    writer.push(&point(2))?;
    // SinkExt::flush does not cut the batch: it resolves once the task's
    // timer has sent it and the server acknowledged it.
    SinkExt::<&Point>::flush(&mut writer).await?;
    assert_eq!(writer.stats().requests, 1);
    assert_eq!(count(&client, "m").await?, 2);
    Ok(())
}

#[tokio::test]
async fn clones_share_one_batching_writer() -> TestResult {
    let client = fresh_db(Influxd::shared(), "clones").await?;
    let writer = client.writer(WriteOptions::new().max_points(500))?;
    let mut tasks = Vec::new();
    for t in 0..4i64 {
        let mut w = writer.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..2_500i64 {
                w.send(&point(t * 10_000 + i)).await?;
            }
            w.close().await
        }));
    }
    for t in tasks {
        t.await??;
    }
    let stats = writer.stats();
    drop(writer);
    assert_eq!(count(&client, "m").await?, 10_000);
    assert_eq!(stats.points_written, 10_000);
    assert_eq!(stats.requests, 20);
    Ok(())
}

#[tokio::test]
async fn partial_writes_are_reported_and_later_batches_go_on() -> TestResult {
    let client = fresh_db(Influxd::shared(), "partial").await?;
    client.write("m v=1.5 1").await?;
    let dead_letters = Arc::new(Mutex::new(Vec::new()));
    let dl = dead_letters.clone();
    let mut writer = client.writer(
        WriteOptions::new()
            .max_points(4)
            .failure_callback(move |b| dl.lock().map(|mut v| v.push(b)).unwrap_or(())),
    )?;
    // Batch 1: two of four conflict. Batch 2: fine.
    for line in ["m v=2.5 2", "m v=\"oops\" 3", "m v=3.5 4", "m v=true 5"] {
        writer.send(line).await?;
    }
    for i in 6..10 {
        writer.send(&format!("m v={i}.5 {i}")).await?;
    }
    let err = writer.close().await.expect_err("a partial write happened");
    assert!(err.is_partial_write(), "{err}");
    assert_eq!(err.points_dropped(), Some(2));
    assert!(err.to_string().contains("field type conflict"), "{err}");
    let stats = writer.stats();
    assert_eq!((stats.points_written, stats.points_failed), (6, 2));
    assert_eq!(count(&client, "m").await?, 1 + 6);
    let dead = dead_letters.lock().map(|v| v.clone()).unwrap_or_default();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].points, 2);
    assert!(dead[0].lines.starts_with(b"m v=2.5 2\n"));
    Ok(())
}

#[tokio::test]
async fn a_type_conflict_inside_one_batch() -> TestResult {
    let client = fresh_db(Influxd::shared(), "conflict").await?;
    let mut writer = client.writer(WriteOptions::new())?;
    writer.send("c f=1i 1").await?;
    writer.send("c f=\"text\" 2").await?;
    let err = writer.close().await.expect_err("conflict");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    assert!(err.to_string().contains("field type conflict"), "{err}");
    let written = count(&client, "c").await?;
    assert_eq!(err.points_dropped(), Some(2 - written as u64), "{err}");
    assert_eq!(
        writer.stats().points_failed + writer.stats().points_written,
        2
    );
    Ok(())
}

#[tokio::test]
async fn a_missing_database_is_not_retried() -> TestResult {
    let client = Client::builder(Influxd::shared().url())
        .database("does_not_exist")
        .build()?;
    let mut writer = client.writer(WriteOptions::new())?;
    for i in 0..10 {
        writer.send(&point(i)).await?;
    }
    let err = writer.close().await.expect_err("no database");
    assert!(err.is_database_not_found(), "{err}");
    assert_eq!(err.points_dropped(), Some(10));
    let stats = writer.stats();
    assert_eq!(
        (stats.requests, stats.retries, stats.points_failed),
        (1, 0, 10)
    );
    Ok(())
}

#[tokio::test]
async fn stop_mode_ends_at_the_first_failure() -> TestResult {
    let client = Client::builder(Influxd::shared().url())
        .database("does_not_exist")
        .build()?;
    let writer = client.writer(
        WriteOptions::new()
            .max_points(10)
            .on_failure(OnFailure::Stop),
    )?;
    let result = stream::iter(0..1_000)
        .map(|i| Ok::<_, Error>(point(i)))
        .forward(writer)
        .await;
    let err = result.expect_err("stops");
    assert!(err.is_database_not_found(), "{err}");
    Ok(())
}

#[tokio::test]
async fn bad_points_are_refused_by_start_send() -> TestResult {
    let client = fresh_db(Influxd::shared(), "badpoint").await?;
    let mut writer = client.writer(WriteOptions::new())?;
    writer.send(&point(1)).await?;
    let err = writer
        .send(&Point::new("m").field("v", f64::NAN))
        .await
        .expect_err("NaN");
    assert!(err.is_encode());
    writer.send(&point(2)).await?;
    writer.close().await?;
    assert_eq!(count(&client, "m").await?, 2);
    Ok(())
}

#[tokio::test]
async fn the_server_restarting_mid_stream_loses_nothing() -> TestResult {
    let mut server = Influxd::start()?;
    let client = fresh_db(&server, "restart").await?;
    let mut writer = client.writer(
        WriteOptions::new().max_points(1_000).retry(
            RetryPolicy::default()
                .max_retries(100)
                .initial_backoff(Duration::from_millis(20))
                .max_backoff(Duration::from_millis(200))
                .max_elapsed(Duration::from_secs(60)),
        ),
    )?;
    for i in 0..10_000 {
        writer.send(&point(i)).await?;
    }
    writer.flush().await?;

    server.stop();
    // The producer goes on while the server is down; backpressure holds it
    // once the queue is full, until the server is back.
    let mut producer = writer.clone();
    let produced = tokio::spawn(async move {
        for i in 10_000..20_000 {
            producer.send(&point(i)).await?;
        }
        producer.flush().await
    });
    // Wait until the writer has seen the server gone and is retrying.
    for _ in 0..2_000 {
        if writer.stats().retries > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(writer.stats().retries > 0, "{:?}", writer.stats());
    server.restart()?;
    produced.await??;
    for i in 20_000..25_000 {
        writer.send(&point(i)).await?;
    }
    writer.close().await?;
    assert_eq!(count(&client, "m").await?, 25_000);
    let stats = writer.stats();
    assert_eq!((stats.points_written, stats.points_failed), (25_000, 0));
    Ok(())
}

#[test]
fn a_writer_whose_runtime_is_gone_says_so() -> TestResult {
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = Client::builder("http://127.0.0.1:1").build()?;
    let mut writer = first.block_on(async {
        client.writer(WriteOptions::new().flush_interval(Duration::from_secs(3600)))
    })?;
    writer.push(&point(1))?;
    drop(first);
    let second = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let err = second
        .block_on(writer.flush())
        .expect_err("the task is gone");
    assert!(
        err.is_closed() && err.to_string().contains("1 batch"),
        "{err}"
    );
    assert!(writer.push(&point(2)).is_err_and(|e| e.is_closed()));
    Ok(())
}
