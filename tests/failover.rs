//! Several servers against real influxd instances. Failover
//! (ClientBuilder::failover): requests go to the first server that
//! answers, move on when it is stopped, and come back once it answers
//! again. Replication (ReplicatedWriter): every point on every server, one
//! of them stopped and restarted mid-stream. Exact counts on each server
//! afterwards, and the client's per-server counters (requests, failures,
//! points, switches, probes) agree with them exactly.

mod support;

use std::time::Duration;

use futures::{stream, SinkExt, StreamExt};
use influx_stream::{Client, Point, ReplicatedWriter, RetryPolicy, ServerStats, WriteOptions};
use support::fault::{Action, FaultServer};
use support::influxd::{unique_db, Influxd};
use support::traces::Traces;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn point(i: i64) -> Point {
    Point::new("m")
        .tag("host", format!("h{}", i % 10))
        .field("v", i)
        .timestamp(1_600_000_000_000_000_000 + i)
}

/// `count(v)` of `m` in `db` on `server`, read without the client.
fn count_on(server: &Influxd, db: &str) -> Result<i64, String> {
    let body = server.raw_query_in(db, "SELECT count(v) FROM m")?;
    let json: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    Ok(json["results"][0]["series"][0]["values"][0][1]
        .as_i64()
        .unwrap_or(0))
}

/// Writes points `range` through a new writer and waits for the server:
/// one request per 1,000 points, one at a time (no batch is cut by time).
async fn write_range(client: &Client, range: std::ops::Range<i64>) -> TestResult {
    let mut writer = client.writer(
        WriteOptions::default()
            .max_points(1_000)
            .max_in_flight(1)
            .flush_interval(Duration::from_secs(3600)),
    )?;
    let mut points = stream::iter(range.map(point)).map(Ok);
    writer.send_all(&mut points).await?;
    writer.close().await?;
    Ok(())
}

/// A server's counters as (requests, failures, points written, switches
/// to it, probes, active).
fn counts(s: &ServerStats) -> (u64, u64, u64, u64, u64, bool) {
    (
        s.requests,
        s.failures,
        s.points_written,
        s.switches_to,
        s.probes,
        s.active,
    )
}

#[tokio::test]
async fn writes_and_queries_move_to_the_next_server_and_back() -> TestResult {
    let traces = Traces::global();
    let mut a = Influxd::start()?;
    let b = Influxd::start()?;
    let db = unique_db("failover");
    for server in [&a, &b] {
        server.raw_query(&format!("CREATE DATABASE {db}"))?;
    }
    let client = Client::builder(a.url())
        .failover([b.url()])
        // Every request tries the first server again while it is away, so
        // the test needs no clock to see it come back.
        .failover_probe_interval(Duration::ZERO)
        .database(&db)
        .build()?;

    write_range(&client, 0..5_000).await?;
    assert_eq!((count_on(&a, &db)?, count_on(&b, &db)?), (5_000, 0));
    let s = client.server_stats();
    assert_eq!(
        (s[0].url.as_str(), s[1].url.as_str()),
        (&*a.url(), &*b.url())
    );
    assert_eq!(counts(&s[0]), (5, 0, 5_000, 0, 0, true));
    assert_eq!(counts(&s[1]), (0, 0, 0, 0, 0, false));

    a.stop();
    write_range(&client, 5_000..12_000).await?;
    assert_eq!(client.active_url(), b.url());
    assert_eq!(count_on(&b, &db)?, 7_000);
    // Seven batches: each tried the stopped server first (the first
    // because it was in use, the six others as probes, the interval being
    // zero) and was written by the second, which took over once.
    let s = client.server_stats();
    assert_eq!(counts(&s[0]), (12, 7, 5_000, 0, 6, false));
    assert_eq!(counts(&s[1]), (7, 0, 7_000, 1, 0, true));
    // Queries follow: the second server's points.
    let rows: Vec<_> = client
        .query("SELECT count(v) FROM m")
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].get("count").and_then(|v| v.as_f64()),
        Some(7_000.0),
        "{rows:?}"
    );

    // The query took two /query requests (its field-type lookup and the
    // statement), each probing the stopped server first.
    let before_restart = client.server_stats();
    assert_eq!(counts(&before_restart[0]), (14, 9, 5_000, 0, 8, false));
    assert_eq!(counts(&before_restart[1]), (9, 0, 7_000, 1, 0, true));

    a.restart()?;
    write_range(&client, 12_000..15_000).await?;
    assert_eq!(client.active_url(), a.url());
    // Every point on exactly one server: none lost, none twice.
    assert_eq!((count_on(&a, &db)?, count_on(&b, &db)?), (8_000, 7_000));
    // The first batch probed the restarted server, which took over again.
    let s = client.server_stats();
    let (q0, q1) = (&before_restart[0], &before_restart[1]);
    assert_eq!(
        counts(&s[0]),
        (q0.requests + 3, q0.failures, 8_000, 1, q0.probes + 1, true)
    );
    assert_eq!(counts(&s[1]), (q1.requests, 0, 7_000, 1, 0, false));
    // The counters agree with what each server holds.
    assert_eq!(
        (s[0].points_written, s[1].points_written),
        (count_on(&a, &db)? as u64, count_on(&b, &db)? as u64)
    );
    // Each switch was reported once, naming both servers.
    let switch = "requests now go to another server";
    let (a_url, b_url) = (a.url(), b.url());
    let to_b = traces.count(&[switch, &format!("from={a_url}"), &format!("to={b_url}")]);
    let to_a = traces.count(&[switch, &format!("from={b_url}"), &format!("to={a_url}")]);
    assert_eq!((to_b, to_a), (1, 1));
    Ok(())
}

#[tokio::test]
async fn a_server_answering_5xx_is_passed_over() -> TestResult {
    let failing = FaultServer::sequence(vec![Action::status(503)]).await?;
    let b = Influxd::shared();
    let db = unique_db("failover_5xx");
    b.raw_query(&format!("CREATE DATABASE {db}"))?;
    let client = Client::builder(failing.url())
        .failover([b.url()])
        .database(&db)
        .build()?;
    write_range(&client, 0..3_000).await?;
    assert_eq!(count_on(b, &db)?, 3_000);
    assert_eq!(client.active_url(), b.url());
    // The probe interval (30 s by default) has not passed: the failing
    // server was asked once, by the first batch.
    assert_eq!(failing.request_count(), 1);
    let s = client.server_stats();
    assert_eq!(counts(&s[0]), (1, 1, 0, 0, 0, false));
    assert_eq!(counts(&s[1]), (3, 0, 3_000, 1, 0, true));
    Ok(())
}

#[tokio::test]
async fn when_no_server_answers_the_error_says_so() -> TestResult {
    let gone = |port: u16| format!("http://127.0.0.1:{port}");
    // Ports nothing listens on: bound, then released.
    let (p1, p2) = {
        let l1 = std::net::TcpListener::bind("127.0.0.1:0")?;
        let l2 = std::net::TcpListener::bind("127.0.0.1:0")?;
        (l1.local_addr()?.port(), l2.local_addr()?.port())
    };
    let client = Client::builder(gone(p1)).failover([gone(p2)]).build()?;
    let err = match client.ping().await {
        Ok(_) => return Err("a ping with no server up succeeded".into()),
        Err(e) => e,
    };
    assert!(err.is_connect(), "{err}");
    assert!(
        err.to_string().contains("none of the 2 servers answered"),
        "{err}"
    );
    Ok(())
}

#[tokio::test]
async fn replicas_get_every_point_while_one_is_down_and_back() -> TestResult {
    let a = Influxd::start()?;
    let mut b = Influxd::start()?;
    let db = unique_db("replicas");
    let mut writers = Vec::new();
    for server in [&a, &b] {
        server.raw_query(&format!("CREATE DATABASE {db}"))?;
        let client = Client::builder(server.url()).database(&db).build()?;
        writers.push(
            client.writer(
                WriteOptions::new()
                    .max_points(1_000)
                    .max_queued_batches(32)
                    // Long enough for a restart: the stopped server's batches
                    // wait in its own queue and are retried.
                    .retry(RetryPolicy::default().max_elapsed(Duration::from_secs(120))),
            )?,
        );
    }
    let mut replicas = ReplicatedWriter::new(writers)?;

    let mut first = stream::iter((0..5_000).map(point)).map(Ok);
    replicas.send_all(&mut first).await?;
    replicas.flush().await?;
    assert_eq!((count_on(&a, &db)?, count_on(&b, &db)?), (5_000, 5_000));

    b.stop();
    // Ten batches, within the stopped server's queue: taken without
    // waiting for it.
    for p in (5_000..15_000).map(point) {
        replicas.push(&p)?;
    }
    // Nothing awaited since: the (current-thread) runtime's writer tasks
    // have not run, so each server's ten batches wait in its own queue.
    for (server, s) in replicas.stats() {
        assert_eq!((s.batches_queued, s.batches_in_flight), (10, 0), "{server}");
    }
    b.restart()?;
    replicas.close().await?;
    assert_eq!((count_on(&a, &db)?, count_on(&b, &db)?), (15_000, 15_000));
    let stats = replicas.stats();
    assert_eq!(stats.len(), 2);
    for (server, s) in &stats {
        assert_eq!(
            (s.points_accepted, s.points_written),
            (15_000, 15_000),
            "{server}"
        );
    }
    assert!(stats[1].1.retries > 0, "{stats:?}");
    for (server, s) in &stats {
        assert_eq!((s.batches_queued, s.batches_in_flight), (0, 0), "{server}");
    }
    Ok(())
}

/// Replication with a spool per server: a stopped server's batches wait on
/// its own disk while the other server takes every point, then arrive once
/// it is back.
#[tokio::test]
async fn replicas_with_spools_keep_a_stopped_servers_batches_on_its_own_disk() -> TestResult {
    let a = Influxd::start()?;
    let mut b = Influxd::start()?;
    let db = unique_db("replica_spools");
    let spools = [tempfile::tempdir()?, tempfile::tempdir()?];
    let mut writers = Vec::new();
    for (server, spool) in [&a, &b].into_iter().zip(&spools) {
        server.raw_query(&format!("CREATE DATABASE {db}"))?;
        let client = Client::builder(server.url()).database(&db).build()?;
        writers.push(
            client.writer(
                WriteOptions::new()
                    .max_points(1_000)
                    .spool(spool.path())
                    .retry(
                        RetryPolicy::default()
                            .initial_backoff(Duration::from_millis(5))
                            .max_backoff(Duration::from_millis(50)),
                    ),
            )?,
        );
    }
    let mut on_a = writers[0].clone();
    let mut replicas = ReplicatedWriter::new(writers)?;

    b.stop();
    let mut points = stream::iter((0..10_000).map(point)).map(Ok);
    replicas.send_all(&mut points).await?;
    // Durable on both disks, though one server is down.
    replicas.flush().await?;
    // The running server takes everything meanwhile.
    on_a.drain().await?;
    assert_eq!(count_on(&a, &db)?, 10_000);
    let stats = replicas.stats();
    assert_eq!(
        (stats[0].1.points_written, stats[0].1.spool_batches),
        (10_000, 0)
    );
    assert_eq!(
        (stats[1].1.points_written, stats[1].1.spool_batches),
        (0, 10)
    );

    b.restart()?;
    replicas.drain().await?;
    on_a.close().await?;
    replicas.close().await?;
    assert_eq!((count_on(&a, &db)?, count_on(&b, &db)?), (10_000, 10_000));
    for (server, s) in replicas.stats() {
        assert_eq!(
            (
                s.points_accepted,
                s.points_written,
                s.points_failed,
                s.spool_batches
            ),
            (10_000, 10_000, 0, 0),
            "{server}"
        );
    }
    Ok(())
}
