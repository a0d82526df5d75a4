//! Failures of the batching writer: what is retried, how often, what is
//! given up, what is split, and that memory stays bounded.
//!
//! Everything a real influxd can do on demand is tested against one (a
//! missing retention policy, 413 and 404 with large bodies); the fault
//! server (`support::fault`) stands in only for what it cannot: 503 with
//! `Retry-After`, 429, stalls, resets and closes.

mod support;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::{FutureExt, SinkExt};
use influx_stream::{Client, Error, FailedBatch, Point, RetryPolicy, WriteOptions, Writer};
use support::fault::{Action, FaultServer};
use support::influxd::{unique_db, Influxd};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// InfluxDB's 503 when a write waited too long for a slot (capture 66):
/// plain text, no `X-Influxdb-Error`, no `Retry-After`.
const THROTTLED: &str = "request throttled, exceeds timeout\n";

fn point(i: i64) -> Point {
    Point::new("m")
        .tag("host", format!("h{}", i % 10))
        .field("v", i as f64)
        .timestamp(1_600_000_000_000_000_000 + i)
}

/// The line protocol the writer sends for `point(0..n)`.
fn lines(n: i64) -> Vec<u8> {
    (0..n)
        .map(|i| {
            format!(
                "m,host=h{} v={:?} {}\n",
                i % 10,
                i as f64,
                1_600_000_000_000_000_000 + i
            )
        })
        .collect::<String>()
        .into_bytes()
}

/// Quick retries, so the tests do not wait on backoff.
fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(20))
}

fn fault_client(server: &FaultServer) -> Result<Client, Error> {
    Client::builder(server.url()).database("faults").build()
}

/// Dead letters handed to the failure callback.
type DeadLetters = Arc<Mutex<Vec<FailedBatch>>>;

fn collecting(options: WriteOptions) -> (WriteOptions, DeadLetters) {
    let dead = DeadLetters::default();
    let sink = dead.clone();
    let options = options.failure_callback(move |b| {
        if let Ok(mut v) = sink.lock() {
            v.push(b);
        }
    });
    (options, dead)
}

fn dead_letters(dead: &DeadLetters) -> Vec<FailedBatch> {
    dead.lock().map(|v| v.clone()).unwrap_or_default()
}

async fn write_points(writer: &mut Writer, n: i64) -> Result<(), Error> {
    for i in 0..n {
        writer.send(&point(i)).await?;
    }
    Ok(())
}

/// Writes ten points through a server answering `first` and then 204, and
/// checks that the batch went twice, the same both times, and was written.
async fn retried_once_after(
    first: Action,
    client: impl Fn(&FaultServer) -> Result<Client, Error>,
) -> TestResult {
    let server = FaultServer::sequence(vec![first, Action::no_content()]).await?;
    let (options, dead) = collecting(WriteOptions::new().retry(quick_retries()));
    let mut writer = client(&server)?.writer(options)?;
    write_points(&mut writer, 10).await?;
    writer.close().await?;

    let stats = writer.stats();
    assert_eq!(stats.requests, 2, "{stats:?}");
    assert_eq!(stats.retries, 1, "{stats:?}");
    assert_eq!(stats.points_written, 10, "{stats:?}");
    assert_eq!((stats.points_failed, stats.batches_failed), (0, 0));
    assert!(dead_letters(&dead).is_empty());

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:?}");
    for r in &requests {
        assert_eq!(r.method, "POST");
        assert_eq!(r.target, "/write?db=faults&precision=n");
        assert_eq!(r.body, lines(10), "request {} carries the batch", r.index);
    }
    Ok(())
}

#[tokio::test]
async fn a_503_with_retry_after_is_retried_once() -> TestResult {
    let throttled = Action::status(503)
        .header("Content-Type", "application/json")
        .header("Retry-After", "1")
        .body(r#"{"error":"overloaded"}"#);
    retried_once_after(throttled, fault_client).await
}

#[tokio::test]
async fn a_throttled_503_without_retry_after_is_retried_once() -> TestResult {
    let throttled = Action::status(503)
        .header("Content-Type", "text/plain; charset=utf-8")
        .header("X-Content-Type-Options", "nosniff")
        .body(THROTTLED);
    retried_once_after(throttled, fault_client).await
}

#[tokio::test]
async fn a_429_is_retried_once() -> TestResult {
    let too_many = Action::status(429)
        .header("Content-Type", "application/json")
        .body(r#"{"error":"too many requests"}"#);
    retried_once_after(too_many, fault_client).await
}

#[tokio::test]
async fn a_stall_past_the_timeout_is_retried_once() -> TestResult {
    // The first request is held unanswered (until the server is dropped);
    // the client gives up on it after 200 ms and sends it again.
    retried_once_after(Action::Stall, |s| {
        Client::builder(s.url())
            .database("faults")
            .timeout(Duration::from_millis(200))
            .build()
    })
    .await
}

#[tokio::test]
async fn a_connection_reset_is_retried_once() -> TestResult {
    retried_once_after(Action::Reset, fault_client).await
}

#[tokio::test]
async fn a_reset_before_the_body_and_a_silent_close_are_retried() -> TestResult {
    let server = FaultServer::sequence(vec![
        Action::ResetBeforeBody,
        Action::Close,
        Action::no_content(),
    ])
    .await?;
    let mut writer = fault_client(&server)?.writer(WriteOptions::new().retry(quick_retries()))?;
    write_points(&mut writer, 10).await?;
    writer.close().await?;

    let stats = writer.stats();
    assert_eq!((stats.requests, stats.retries), (3, 2), "{stats:?}");
    assert_eq!((stats.points_written, stats.points_failed), (10, 0));
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(!requests[0].body_complete, "reset before the body was read");
    assert_eq!(requests[1].body, lines(10));
    assert_eq!(requests[2].body, lines(10));
    Ok(())
}

#[tokio::test]
async fn retries_run_out_and_the_batch_is_reported() -> TestResult {
    let server = FaultServer::sequence(vec![Action::status(503)
        .header("Content-Type", "text/plain; charset=utf-8")
        .body(THROTTLED)])
    .await?;
    let (options, dead) = collecting(WriteOptions::new().retry(quick_retries().max_retries(2)));
    let mut writer = fault_client(&server)?.writer(options)?;
    write_points(&mut writer, 10).await?;
    let err = writer.close().await.expect_err("every request is refused");

    assert!(err.is_retryable(), "{err}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503), "{err}");
    assert_eq!(err.points_dropped(), Some(10), "{err}");
    let text = err.to_string();
    assert!(text.contains("gave up after 2 retries"), "{text}");
    assert!(
        text.contains("request throttled, exceeds timeout"),
        "{text}"
    );

    let stats = writer.stats();
    assert_eq!((stats.requests, stats.retries), (3, 2), "{stats:?}");
    assert_eq!((stats.points_written, stats.points_failed), (0, 10));
    assert_eq!(stats.batches_failed, 1);

    let dead = dead_letters(&dead);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].points, 10);
    assert_eq!(dead[0].lines, Bytes::from(lines(10)));
    assert!(dead[0].error.is_retryable());

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests.iter().all(|r| r.body == lines(10)));
    Ok(())
}

#[tokio::test]
async fn a_retry_after_beyond_the_time_budget_is_not_waited_for() -> TestResult {
    // Retry-After is a floor for the delay: 5 s does not fit in a budget of
    // 1 s, so the writer gives up at once instead of sleeping past it.
    let server =
        FaultServer::sequence(vec![Action::status(503).header("Retry-After", "5")]).await?;
    let policy = quick_retries().max_elapsed(Duration::from_secs(1));
    let mut writer = fault_client(&server)?.writer(WriteOptions::new().retry(policy))?;
    write_points(&mut writer, 3).await?;
    let err = writer.close().await.expect_err("refused");
    assert_eq!(err.retry_after(), Some(Duration::from_secs(5)), "{err}");
    assert_eq!(err.points_dropped(), Some(3), "{err}");
    let stats = writer.stats();
    assert_eq!((stats.requests, stats.retries), (1, 0), "{stats:?}");
    assert_eq!(server.request_count(), 1);
    Ok(())
}

#[tokio::test]
async fn a_missing_retention_policy_is_not_retried() -> TestResult {
    // influxd answers 500 "retention policy not found" (capture 18): a 5xx
    // that retrying cannot fix.
    let server = Influxd::shared();
    let db = unique_db("norp");
    let client = Client::builder(server.url()).database(&db).build()?;
    client.create_database(&db).await?;
    let (options, dead) = collecting(
        WriteOptions::new()
            .retention_policy("nosuchrp")
            .retry(quick_retries()),
    );
    let mut writer = client.writer(options)?;
    write_points(&mut writer, 10).await?;
    let err = writer.close().await.expect_err("no such retention policy");

    assert_eq!(err.status().map(|s| s.as_u16()), Some(500), "{err}");
    assert!(
        err.server_message()
            .is_some_and(|m| m.contains("retention policy not found")),
        "{err}"
    );
    assert!(!err.is_retryable(), "{err}");
    assert!(!err.to_string().contains("gave up"), "{err}");
    assert_eq!(err.points_dropped(), Some(10));
    let stats = writer.stats();
    assert_eq!((stats.requests, stats.retries), (1, 0), "{stats:?}");
    assert_eq!((stats.points_written, stats.points_failed), (0, 10));
    let dead = dead_letters(&dead);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].lines, Bytes::from(lines(10)));
    assert_eq!(count(&client, "m").await?, 0);
    Ok(())
}

#[tokio::test]
async fn backpressure_bounds_memory_while_the_server_stalls() -> TestResult {
    let server = FaultServer::sequence(vec![Action::Stall]).await?;
    let (max_points, max_in_flight, max_queued) = (10usize, 1usize, 2usize);
    let mut writer = fault_client(&server)?.writer(
        WriteOptions::new()
            .max_points(max_points)
            .max_in_flight(max_in_flight)
            .max_queued_batches(max_queued)
            .retry(RetryPolicy::never()),
    )?;

    // Feed without waiting: each `feed` is polled once, and a pending one
    // (no room) is dropped with its point.
    let mut next = 0i64;
    let mut feed_now = |writer: &mut Writer| -> Result<bool, Error> {
        match writer.feed(&point(next)).now_or_never() {
            Some(Ok(())) => {
                next += 1;
                Ok(true)
            }
            Some(Err(e)) => Err(e),
            None => Ok(false),
        }
    };
    let mut fed = 0;
    for _ in 0..1_000 {
        if !feed_now(&mut writer)? {
            break;
        }
        fed += 1;
    }
    assert!(fed < 1_000, "the sink never pushed back");
    // Let the writer task start the first batch (it stalls at the server),
    // then fill the queue behind it.
    server.wait_for_requests(1).await;
    for _ in 0..1_000 {
        if !feed_now(&mut writer)? {
            break;
        }
    }
    // Still pending after the other tasks had every chance to run: the one
    // request in flight never completes, so no room can appear.
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert!(!feed_now(&mut writer)?, "the sink must stay pending");

    let stats = writer.stats();
    let bound = ((max_queued + max_in_flight + 1) * max_points) as u64;
    assert!(stats.points_accepted <= bound, "{stats:?}");
    // Exactly: one batch in flight and two full batches queued.
    assert_eq!(stats.points_accepted, 30, "{stats:?}");
    assert_eq!(stats.requests, 1, "{stats:?}");
    assert_eq!(server.request_count(), 1);
    assert_eq!(server.requests()[0].body, lines(10));

    // Dropping the server fails the stalled request; without retries every
    // batch then fails at once, so close ends (bounded, in case it hangs).
    drop(server);
    let closed = tokio::time::timeout(Duration::from_secs(60), writer.close())
        .await
        .map_err(|_| "close() hung after the server went away")?;
    let err = closed.expect_err("nothing could be written");
    assert_eq!(err.points_dropped(), Some(30), "{err}");
    let stats = writer.stats();
    assert_eq!((stats.points_written, stats.points_failed), (0, 30));
    assert_eq!(stats.batches_failed, 3, "{stats:?}");
    Ok(())
}

#[tokio::test]
async fn the_fault_server_reads_chunked_request_bodies() -> TestResult {
    // The client sends Content-Length today; the fault server must still
    // understand chunked bodies should that change.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = FaultServer::sequence(vec![]).await?;
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await?;
    stream
        .write_all(
            b"POST /write?db=x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
              4\r\nm v=\r\n5;ext=1\r\n1 10\n\r\n0\r\nX-Trailer: y\r\n\r\n",
        )
        .await?;
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).await?;
    assert_eq!(&answer, b"HTTP/1.1 204");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].chunked && requests[0].body_complete);
    assert_eq!(requests[0].body, b"m v=1 10\n");
    Ok(())
}

// ---- the real server's limits: 413 and 404 before the body is read ----

/// One influxd for this binary with `max-body-size` 1000 bytes (as captures
/// 60 and 61).
fn limited() -> &'static Influxd {
    static SERVER: OnceLock<Result<Influxd, String>> = OnceLock::new();
    match SERVER.get_or_init(|| Influxd::start_with(&[("INFLUXDB_HTTP_MAX_BODY_SIZE", "1000")])) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

async fn count(client: &Client, measurement: &str) -> Result<i64, Error> {
    let json = client
        .query_json(format!(
            "SELECT count(v) FROM {}",
            influx_stream::quote_ident(measurement)
        ))
        .await?;
    Ok(json["results"][0]["series"][0]["values"][0][1]
        .as_i64()
        .unwrap_or(0))
}

/// A point of about `size` bytes of line protocol.
fn padded_point(i: i64, size: usize) -> Point {
    let pad = "x".repeat(size.saturating_sub(60));
    Point::new("big")
        .tag("host", format!("h{}", i % 10))
        .field("v", i)
        .field("pad", pad)
        .timestamp(1_600_000_000_000_000_000 + i)
}

/// Writes `n` points of about `size` bytes each through one writer, then
/// checks they are all on the server and were each acknowledged once.
async fn split_until_written(
    n: i64,
    size: usize,
    max_points: usize,
) -> Result<influx_stream::WriteStats, Box<dyn std::error::Error>> {
    let server = limited();
    let db = unique_db("split");
    let client = Client::builder(server.url()).database(&db).build()?;
    client.create_database(&db).await?;
    let mut writer = client.writer(
        WriteOptions::new()
            .max_points(max_points)
            .max_bytes(64 * 1024 * 1024)
            .gzip(false)
            .retry(quick_retries()),
    )?;
    for i in 0..n {
        writer.send(&padded_point(i, size)).await?;
    }
    writer.close().await?;
    let stats = writer.stats();
    assert_eq!(stats.points_accepted, n as u64, "{stats:?}");
    assert_eq!(stats.points_written, n as u64, "{stats:?}");
    assert_eq!((stats.points_failed, stats.batches_failed), (0, 0));
    assert_eq!(stats.retries, 0, "413s are split, not retried: {stats:?}");
    assert!(stats.splits > 0, "{stats:?}");
    // Every split turns one request into two.
    assert_eq!(
        stats.requests,
        (n as u64).div_ceil(max_points as u64) + 2 * stats.splits
    );
    assert_eq!(count(&client, "big").await?, n, "{}", server.log_tail());
    Ok(stats)
}

#[tokio::test]
async fn bodies_of_a_few_kb_over_max_body_size_are_split_until_written() -> TestResult {
    // 50 batches of 100 points, about 6 KB each.
    let stats = split_until_written(5_000, 60, 100).await?;
    assert!(stats.splits >= 50 * 3, "{stats:?}");
    Ok(())
}

#[tokio::test]
async fn a_2_mb_body_over_max_body_size_is_split_until_written() -> TestResult {
    // One batch of 5,000 points of 420 bytes: 2.1 MB. influxd answers 413
    // from the headers and closes the connection while the body is still
    // being sent.
    let stats = split_until_written(5_000, 420, 10_000).await?;
    assert!(stats.splits >= 2_000, "{stats:?}");
    Ok(())
}

#[tokio::test]
async fn a_missing_database_with_a_large_body_is_reported_as_such() -> TestResult {
    // influxd answers 404 before reading the body; beyond 256 KB it does
    // not drain the rest and closes the connection.
    for (points, size) in [(10i64, 400usize), (1_000, 400), (5_000, 420)] {
        let client = Client::builder(limited().url())
            .database("does_not_exist")
            .build()?;
        let mut writer = client.writer(
            WriteOptions::new()
                .max_points(100_000)
                .max_bytes(64 * 1024 * 1024)
                .retry(quick_retries()),
        )?;
        for i in 0..points {
            writer.send(&padded_point(i, size)).await?;
        }
        let err = writer.close().await.expect_err("no such database");
        assert!(err.is_database_not_found(), "{points} points: {err}");
        assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
        assert_eq!(err.points_dropped(), Some(points as u64), "{err}");
        let stats = writer.stats();
        assert_eq!((stats.requests, stats.retries), (1, 0), "{stats:?}");
    }
    Ok(())
}

/// influxd's early 413 (capture 60), as an action of the fault server.
fn too_large() -> Action {
    Action::status(413)
        .header("Content-Type", "application/json")
        .header("X-Influxdb-Error", "Request Entity Too Large")
        .body("{\"error\":\"Request Entity Too Large\"}\n")
}

/// influxd's 404 for a missing database (capture 10).
fn no_database() -> Action {
    Action::status(404)
        .header("Content-Type", "application/json")
        .header("X-Influxdb-Error", "database not found: \"faults\"")
        .body("{\"error\":\"database not found: \\\"faults\\\"\"}\n")
}

/// Sends one batch of about 2 MB to a server that answers the first request
/// with `first` before reading its body and resets the connection at once,
/// and 204 to the rest. Without lingering (which influxd does, 500 ms), the
/// reset often reaches the client while it is still writing the body: the
/// answer must still be the outcome. Multi-threaded, where the write error
/// is often seen first; several rounds, as the race is not won every time.
async fn early_answer_then_reset(
    first: Action,
) -> Result<Vec<(Result<(), Error>, influx_stream::WriteStats)>, Box<dyn std::error::Error>> {
    let mut outcomes = Vec::new();
    for _ in 0..24 {
        let first = first.clone().before_body_then_reset();
        let server = FaultServer::start(move |i| {
            if i == 0 {
                first.clone()
            } else {
                Action::no_content()
            }
        })
        .await?;
        let mut writer = fault_client(&server)?.writer(
            WriteOptions::new()
                .max_points(100_000)
                .max_bytes(64 * 1024 * 1024)
                .retry(quick_retries()),
        )?;
        for i in 0..5_000 {
            writer.send(&padded_point(i, 420)).await?;
        }
        let result = writer.close().await;
        let requests = server.requests();
        assert!(!requests[0].body_complete, "the body was not read");
        assert_eq!(requests.len() as u64, writer.stats().requests);
        outcomes.push((result, writer.stats()));
    }
    Ok(outcomes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_413_then_a_reset_is_split_not_retried() -> TestResult {
    for (result, stats) in early_answer_then_reset(too_large()).await? {
        result?;
        assert_eq!((stats.splits, stats.retries), (1, 0), "{stats:?}");
        assert_eq!(stats.requests, 3, "{stats:?}");
        assert_eq!(stats.points_written, 5_000, "{stats:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_404_then_a_reset_is_a_missing_database() -> TestResult {
    for (result, stats) in early_answer_then_reset(no_database()).await? {
        let err = result.expect_err("no database");
        assert!(err.is_database_not_found(), "{err}");
        assert_eq!(err.points_dropped(), Some(5_000), "{err}");
        assert_eq!((stats.requests, stats.retries), (1, 0), "{stats:?}");
    }
    Ok(())
}

#[tokio::test]
async fn a_point_larger_than_max_body_size_fails_alone() -> TestResult {
    // A 413 for a single point cannot be split, and retrying cannot help:
    // that point fails, its neighbours are written.
    let server = limited();
    let db = unique_db("toolarge");
    let client = Client::builder(server.url()).database(&db).build()?;
    client.create_database(&db).await?;
    let (options, dead) = collecting(
        WriteOptions::new()
            .max_points(3)
            .gzip(false)
            .retry(quick_retries()),
    );
    let mut writer = client.writer(options)?;
    writer.send(&padded_point(0, 100)).await?;
    writer.send(&padded_point(1, 2_000)).await?;
    writer.send(&padded_point(2, 100)).await?;
    let err = writer.close().await.expect_err("one point is too large");

    assert_eq!(err.status().map(|s| s.as_u16()), Some(413), "{err}");
    assert!(!err.is_retryable(), "{err}");
    assert_eq!(err.points_dropped(), Some(1), "{err}");
    let stats = writer.stats();
    assert_eq!(
        (stats.points_written, stats.points_failed),
        (2, 1),
        "{stats:?}"
    );
    assert_eq!((stats.batches_failed, stats.retries), (1, 0), "{stats:?}");
    let dead = dead_letters(&dead);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].points, 1);
    assert!(dead[0].lines.len() > 1_000 && dead[0].lines.starts_with(b"big,host=h1 "));
    assert_eq!(count(&client, "big").await?, 2);
    Ok(())
}

#[test]
fn a_runtime_shut_down_under_the_writer_counts_its_points_failed() -> TestResult {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let dead_letters: Arc<Mutex<Vec<u64>>> = Arc::default();
    let sink = dead_letters.clone();
    let (mut writer, _server) = rt.block_on(async {
        // The first request never gets an answer.
        let server = FaultServer::sequence(vec![Action::Stall]).await?;
        let client = Client::builder(server.url()).database("db").build()?;
        let mut writer = client.writer(
            WriteOptions::new()
                .max_points(10)
                .max_in_flight(1)
                .max_queued_batches(8)
                .failure_callback(move |b| {
                    sink.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(b.points)
                }),
        )?;
        for i in 0..35 {
            writer.push(&point(i))?;
        }
        // One batch in flight (stalled), two queued, five points unsealed.
        server.wait_for_requests(1).await;
        Ok::<_, Box<dyn std::error::Error>>((writer, server))
    })?;
    drop(rt);
    let stats = writer.stats();
    assert_eq!(stats.points_accepted, 35, "{stats:?}");
    assert_eq!(stats.points_written, 0, "{stats:?}");
    assert_eq!(stats.points_failed, 35, "{stats:?}");
    // The queued and unsealed batches reach the dead-letter callback with
    // their lines; the one in flight was never confirmed either way.
    let mut letters = dead_letters
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    letters.sort_unstable();
    assert_eq!(letters, [5, 10, 10]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let err = rt.block_on(writer.flush()).expect_err("task gone");
    assert!(err.is_closed(), "{err}");
    assert_eq!(err.points_dropped(), Some(35), "{err}");
    Ok(())
}

/// An item whose encoding waits for a message: user code that is slow.
struct WaitsWhileEncoding(Mutex<std::sync::mpsc::Receiver<()>>);

impl influx_stream::ToLineProtocol for WaitsWhileEncoding {
    fn write_lines(&self, out: &mut influx_stream::LineWriter<'_>) -> Result<(), Error> {
        let rx = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // A bound only for a failing run: with the writer's lock held here,
        // the message below could never be sent.
        if rx.recv_timeout(Duration::from_secs(10)).is_err() {
            return Err(Point::new("")
                .field("v", 1)
                .write_lines(out)
                .expect_err("empty"));
        }
        out.point("slow")?.field_i64("v", 1)?.finish(Some(1))
    }
}

#[test]
fn items_are_encoded_outside_the_writers_lock() -> TestResult {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let server = rt.block_on(FaultServer::sequence(vec![]))?;
    let client = Client::builder(server.url()).database("db").build()?;
    let mut slow_handle = rt.block_on(async { client.writer(WriteOptions::new()) })?;
    let mut other = slow_handle.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let item = WaitsWhileEncoding(Mutex::new(rx));
    std::thread::scope(|s| {
        let slow = s.spawn(|| slow_handle.push(&item));
        // While the slow item is being encoded, another handle adds points.
        other.push(&point(1))?;
        tx.send(())?;
        slow.join().map_err(|_| "the encoding thread panicked")??;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    rt.block_on(async {
        slow_handle.close().await?;
        other.close().await
    })?;
    assert_eq!(slow_handle.stats().points_written, 2);
    Ok(())
}
