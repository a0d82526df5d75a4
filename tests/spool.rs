//! The writer's on-disk spool against a real influxd: outages, a second
//! writer on the same directory, torn tails, a full spool, and crashes of
//! real processes (SIGKILL) at several moments.
//!
//! The crash test runs this test binary again as the child
//! (`crash_child`, which does nothing unless `SPOOL_CHILD_DIR` is set) and
//! reads its progress from a pipe.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use futures::FutureExt;
use influx_stream::{Client, Error, Fsync, Point, RetryPolicy, SpoolFull, WriteOptions};
use support::influxd::{unique_db, Influxd};
use support::traces::Traces;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const BASE_NS: i64 = 1_600_000_000_000_000_000;

fn point(i: i64) -> Point {
    Point::new("m")
        .tag("host", format!("h{}", i % 10))
        .field("v", i as f64)
        .timestamp(BASE_NS + i)
}

/// Quick retries, so that a restarted server is found again soon.
fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(50))
}

fn runtime() -> Result<tokio::runtime::Runtime, std::io::Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// A loopback URL where nothing listens: connections are refused, which
/// the writer retries (a server that is down).
fn dead_url() -> Result<String, std::io::Error> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    drop(listener);
    Ok(format!("http://127.0.0.1:{port}"))
}

/// `count(v)` and `sum(v)` of `m` in `db`, as the server holds them.
fn count_and_sum(server: &Influxd, db: &str) -> Result<(u64, f64), Box<dyn std::error::Error>> {
    let text = server.raw_query_in(db, "SELECT count(v), sum(v) FROM m")?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    let row = &json["results"][0]["series"][0]["values"][0];
    if row.is_null() {
        return Ok((0, 0.0));
    }
    let count = row[1].as_u64().ok_or("no count in the answer")?;
    let sum = row[2].as_f64().ok_or("no sum in the answer")?;
    Ok((count, sum))
}

/// The sum of `v` over points `0..n`.
fn sum_upto(n: u64) -> f64 {
    (n * n.saturating_sub(1) / 2) as f64
}

fn segments(dir: &Path) -> Result<Vec<std::path::PathBuf>, std::io::Error> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "seg") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

#[test]
fn points_written_during_an_outage_arrive_after_restart() -> TestResult {
    let mut server = Influxd::start()?;
    let db = unique_db("spool_outage");
    server.raw_query(&format!("CREATE DATABASE {db}"))?;
    server.stop();
    let dir = tempfile::tempdir()?;
    let rt = runtime()?;
    rt.block_on(async {
        let client = Client::builder(server.url()).database(&db).build()?;
        let mut writer = client.writer(
            WriteOptions::new()
                .max_points(1_000)
                .retry(quick_retries())
                .spool(dir.path()),
        )?;
        for i in 0..10_000 {
            writer.send(&point(i)).await?;
        }
        // Durable on disk, though the server is down.
        writer.flush().await?;
        let stats = writer.stats();
        assert_eq!(stats.points_accepted, 10_000);
        assert_eq!(stats.points_written, 0);
        assert_eq!(stats.spool_batches, 10);
        // One fsync per append, and an append takes every batch sealed
        // meanwhile: at most one per batch.
        assert!((1..=10).contains(&stats.spool_syncs), "{stats:?}");
        assert_eq!(stats.points_failed, 0);
        server.restart()?;
        writer.drain().await?;
        let stats = writer.stats();
        assert_eq!((stats.points_written, stats.points_failed), (10_000, 0));
        assert_eq!(stats.spool_batches, 0);
        writer.close().await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    assert_eq!(count_and_sum(&server, &db)?, (10_000, sum_upto(10_000)));
    Ok(())
}

#[test]
fn a_second_writer_on_the_same_directory_is_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let rt = runtime()?;
    rt.block_on(async {
        let client = Client::builder(dead_url()?)
            .database("spool_lock")
            .build()?;
        let first = client.writer(WriteOptions::new().spool(dir.path()))?;
        let second = client.writer(WriteOptions::new().spool(dir.path()));
        let err = second
            .err()
            .ok_or("a second writer was allowed on the directory")?;
        assert!(err.is_spool(), "{err}");
        let text = err.to_string();
        assert!(text.contains("in use by another writer"), "{text}");
        assert!(
            text.contains(&format!("process {}", std::process::id())),
            "{text}"
        );
        drop(first);
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}

/// Writes `n` points into a spool in `dir` while the server is down, in
/// batches of `batch`, then lets the writer's runtime go: what a process
/// that stops leaves behind.
fn leave_in_spool(dir: &Path, n: i64, batch: usize) -> TestResult {
    let rt = runtime()?;
    rt.block_on(async {
        let client = Client::builder(dead_url()?).database("unused").build()?;
        let mut writer = client.writer(
            WriteOptions::new()
                .max_points(batch)
                .retry(quick_retries())
                .spool(dir),
        )?;
        for i in 0..n {
            writer.send(&point(i)).await?;
        }
        writer.flush().await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    // Dropping the runtime drops the writer task and its spool, which
    // releases the directory's lock.
    drop(rt);
    Ok(())
}

#[test]
fn a_torn_tail_is_reported_and_the_rest_replayed() -> TestResult {
    let server = Influxd::shared();
    let db = unique_db("spool_torn");
    server.raw_query(&format!("CREATE DATABASE {db}"))?;
    let dir = tempfile::tempdir()?;
    leave_in_spool(dir.path(), 300, 100)?;
    let segs = segments(dir.path())?;
    let last = segs.last().ok_or("no segment left in the spool")?;
    // A record torn by a crash mid-append: a header that promises more
    // bytes than follow.
    let torn: &[u8] = &[
        0xFF, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 9, 9, 9, 9, b'm', b' ',
    ];
    std::fs::OpenOptions::new()
        .append(true)
        .open(last)?
        .write_all(torn)?;
    let rt = runtime()?;
    rt.block_on(async {
        let client = Client::builder(server.url()).database(&db).build()?;
        let mut writer =
            client.writer(WriteOptions::new().retry(quick_retries()).spool(dir.path()))?;
        writer.drain().await?;
        let stats = writer.stats();
        assert_eq!(stats.spool_corrupt_tails, 1);
        assert_eq!(stats.spool_corrupt_bytes, torn.len() as u64);
        assert_eq!(stats.spool_replayed_batches, 3);
        assert_eq!(stats.spool_replayed_points, 300);
        assert_eq!(stats.points_written, 300);
        writer.close().await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    assert_eq!(count_and_sum(server, &db)?, (300, sum_upto(300)));
    Ok(())
}

#[test]
fn a_corrupt_record_ends_its_segment_and_later_segments_are_replayed() -> TestResult {
    let server = Influxd::shared();
    let db = unique_db("spool_corrupt");
    server.raw_query(&format!("CREATE DATABASE {db}"))?;
    let dir = tempfile::tempdir()?;
    // Batches of 50 points (about 1.4 KB); 4 KiB segments hold two or three.
    let rt = runtime()?;
    rt.block_on(async {
        let client = Client::builder(dead_url()?).database("unused").build()?;
        let mut writer = client.writer(
            WriteOptions::new()
                .max_points(50)
                .max_bytes(2048)
                .retry(quick_retries())
                .spool(dir.path())
                .spool_segment_bytes(4096),
        )?;
        for i in 0..1_000 {
            writer.send(&point(i)).await?;
        }
        writer.flush().await?;
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    drop(rt);
    let segs = segments(dir.path())?;
    assert!(segs.len() >= 3, "{segs:?}");
    // Flip a byte in the last record of the first segment: its body, so
    // only the checksum can tell.
    let first = &segs[0];
    let mut data = std::fs::read(first)?;
    let at = data.len() - 10;
    data[at] ^= 0x01;
    std::fs::write(first, &data)?;
    let rt = runtime()?;
    let stats = rt.block_on(async {
        let client = Client::builder(server.url()).database(&db).build()?;
        let mut writer =
            client.writer(WriteOptions::new().retry(quick_retries()).spool(dir.path()))?;
        writer.drain().await?;
        let stats = writer.stats();
        writer.close().await?;
        Ok::<_, Box<dyn std::error::Error>>(stats)
    })?;
    assert_eq!(stats.spool_corrupt_tails, 1);
    assert_eq!(stats.spool_replayed_batches, 19);
    assert_eq!(stats.spool_replayed_points, 950);
    // Every point but the 50 of the damaged record, which are reported
    // (the damaged record's bytes are counted: its own count is unreadable).
    let text = server.raw_query_in(&db, "SELECT count(v) FROM m")?;
    assert!(text.contains("950"), "{text}");
    assert_eq!(count_and_sum(server, &db)?.0, 950);
    Ok(())
}

/// Fills a spool whose server is down, with points from `start` on, until
/// it refuses or holds back. Returns how many points were taken.
async fn fill(
    writer: &mut influx_stream::Writer,
    mode: SpoolFull,
    start: i64,
) -> Result<i64, Error> {
    let mut i = start;
    // Bounded: the spool holds a few hundred points at most.
    while i < start + 100_000 {
        match mode {
            SpoolFull::Error => match writer.send(&point(i)).await {
                Ok(()) => i += 1,
                Err(e) => return Err(e),
            },
            _ => match writer.send(&point(i)).now_or_never() {
                Some(r) => {
                    r?;
                    i += 1;
                }
                // Pending: held back.
                None => return Ok(i - start),
            },
        }
    }
    Ok(i - start)
}

fn small_spool(dir: &Path, mode: SpoolFull) -> WriteOptions {
    WriteOptions::new()
        .max_points(20)
        .max_bytes(1024)
        .max_queued_batches(1)
        .retry(quick_retries())
        .spool(dir)
        .spool_max_bytes(8 * 1024)
        .spool_segment_bytes(1024)
        .spool_full(mode)
}

#[test]
fn a_full_spool_refuses_with_the_error_asked_for() -> TestResult {
    let dir = tempfile::tempdir()?;
    let rt = runtime()?;
    rt.block_on(async {
        let client = Client::builder(dead_url()?)
            .database("spool_full")
            .build()?;
        let mut writer = client.writer(small_spool(dir.path(), SpoolFull::Error))?;
        let err = match fill(&mut writer, SpoolFull::Error, 0).await {
            Err(e) => e,
            Ok(n) => return Err(format!("{n} points taken, no error").into()),
        };
        assert!(err.is_spool(), "{err}");
        assert!(err.to_string().contains("is full"), "{err}");
        let stats = writer.stats();
        assert!(stats.spool_bytes <= 8 * 1024, "{stats:?}");
        assert_eq!(stats.points_failed, 0);
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}

#[test]
fn a_full_spool_holds_producers_back_until_the_server_returns() -> TestResult {
    let mut server = Influxd::start()?;
    let db = unique_db("spool_back");
    server.raw_query(&format!("CREATE DATABASE {db}"))?;
    server.stop();
    let dir = tempfile::tempdir()?;
    // The writer's debug event, naming the directory, says the spool is full.
    let traces = Traces::global();
    let dir_name = dir.path().display().to_string();
    let rt = runtime()?;
    let taken = rt.block_on(async {
        let client = Client::builder(server.url()).database(&db).build()?;
        let mut writer = client.writer(small_spool(dir.path(), SpoolFull::Backpressure))?;
        let mut taken = 0;
        // A pending send may only mean the spool thread is busy: send until
        // the writer says the spool is full (bounded: it holds a few
        // hundred points; a writer that never says so fails the test).
        let needles = ["spool: full", dir_name.as_str()];
        let full = tokio::time::timeout(Duration::from_secs(60), traces.wait_for(&needles));
        tokio::pin!(full);
        while taken < 100_000 {
            let next = point(taken);
            tokio::select! {
                biased;
                said = &mut full => {
                    if said.is_err() {
                        return Err(format!("the spool never said it was full: {:?}", writer.stats()).into());
                    }
                    break;
                }
                sent = writer.send(&next) => {
                    sent?;
                    taken += 1;
                }
            }
        }
        let stats = writer.stats();
        assert!(stats.spool_bytes + 1024 > 8 * 1024, "{stats:?}");
        assert!(stats.spool_bytes <= 8 * 1024, "{stats:?}");
        assert_eq!(stats.points_written, 0);
        assert_eq!(stats.points_accepted, taken as u64);
        // Held back: nothing more is taken while the server is down...
        assert!(writer.send(&point(taken)).now_or_never().is_none());
        // ...and memory holds at most the queued batch and the open one
        // beyond what the spool has.
        assert_eq!(stats.batches_queued, 1, "{stats:?}");
        assert!(
            stats.points_accepted <= stats.spool_batches * 20 + 2 * 20,
            "{stats:?}"
        );
        server.restart()?;
        // The held-back producer goes on once the server frees the spool.
        for i in taken..taken + 500 {
            writer.send(&point(i)).await?;
        }
        writer.drain().await?;
        writer.close().await?;
        Ok::<_, Box<dyn std::error::Error>>(taken + 500)
    })?;
    assert_eq!(
        count_and_sum(&server, &db)?,
        (taken as u64, sum_upto(taken as u64))
    );
    assert!(traces.count(&["spool: room again", &dir_name]) > 0);
    Ok(())
}

const TOTAL: i64 = 100_000;

/// The child of `crash_test_*`: writes points `SPOOL_CHILD_FROM..TOTAL`
/// through a spooled writer, printing `durable N` after each flush,
/// `written N` as the server acknowledges, and `drained` at the end.
#[test]
fn crash_child() -> TestResult {
    let Ok(dir) = std::env::var("SPOOL_CHILD_DIR") else {
        return Ok(());
    };
    let url = std::env::var("SPOOL_CHILD_URL")?;
    let db = std::env::var("SPOOL_CHILD_DB")?;
    let from: i64 = std::env::var("SPOOL_CHILD_FROM")?.parse()?;
    let rt = runtime()?;
    rt.block_on(async {
        let client = Client::builder(url).database(db).build()?;
        let mut writer = client.writer(
            WriteOptions::new()
                .max_points(1_000)
                .retry(quick_retries())
                .spool(&dir)
                .spool_fsync(Fsync::EveryBatch),
        )?;
        let say = |line: String| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "SPOOL {line}");
            let _ = out.flush();
        };
        // Reports acknowledgements as they happen, until told to stop.
        let watcher = writer.clone();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let reporter = tokio::spawn(async move {
            let mut last = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = tick.tick() => {
                        let written = watcher.stats().points_written;
                        if written != last {
                            last = written;
                            say(format!("written {written}"));
                        }
                    }
                }
            }
        });
        for i in from..TOTAL {
            writer.send(&point(i)).await?;
            if (i + 1) % 5_000 == 0 {
                writer.flush().await?;
                say(format!("durable {}", i + 1));
            }
        }
        writer.flush().await?;
        say(format!("durable {TOTAL}"));
        // A bound for a run that cannot finish, not a timing assertion.
        tokio::time::timeout(Duration::from_secs(300), writer.drain()).await??;
        let _ = stop.send(());
        let _ = reporter.await;
        writer.close().await?;
        say("drained".to_string());
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    Ok(())
}

/// Runs a child from `from`; kills it (SIGKILL) once `kill_when` accepts a
/// progress line. Returns the highest `durable` count it reported (from
/// where the next child starts) and whether it drained.
fn run_child(
    server: &Influxd,
    db: &str,
    dir: &Path,
    from: i64,
    kill_when: impl Fn(&str, i64) -> bool,
) -> Result<(i64, bool), Box<dyn std::error::Error>> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env("SPOOL_CHILD_DIR", dir)
        .env("SPOOL_CHILD_URL", server.url())
        .env("SPOOL_CHILD_DB", db)
        .env("SPOOL_CHILD_FROM", from.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let out = child.stdout.take().ok_or("no pipe from the child")?;
    let mut durable = from;
    let mut drained = false;
    let mut killed = false;
    // Ends when the child does (its pipe closes).
    for line in BufReader::new(out).lines() {
        let line = line?;
        let Some(msg) = line.strip_prefix("SPOOL ") else {
            continue;
        };
        let mut words = msg.split(' ');
        let (what, n) = (
            words.next().unwrap_or(""),
            words
                .next()
                .and_then(|n| n.parse::<i64>().ok())
                .unwrap_or(0),
        );
        match what {
            "durable" => durable = durable.max(n),
            "drained" => drained = true,
            _ => {}
        }
        if !killed && kill_when(what, n) {
            child.kill()?;
            killed = true;
        }
    }
    let status = child.wait()?;
    eprintln!(
        "child from {from}: durable {durable}, killed {killed}, drained {drained}, {} segment(s) left",
        segments(dir)?.len()
    );
    if !killed && !status.success() {
        return Err(format!("the child failed: {status}").into());
    }
    Ok((durable, drained && !killed))
}

#[test]
fn crash_test_every_point_arrives_after_sigkills() -> TestResult {
    let mut server = Influxd::start()?;
    let db = unique_db("spool_crash");
    server.raw_query(&format!("CREATE DATABASE {db}"))?;
    server.stop();
    let dir = tempfile::tempdir()?;
    // 1. Server down; killed among appends.
    let (from, _) = run_child(&server, &db, dir.path(), 0, |what, n| {
        what == "durable" && n >= 20_000
    })?;
    // 2. Server still down: replays nothing yet, appends more, killed.
    let (from, _) = run_child(&server, &db, dir.path(), from, |what, n| {
        what == "durable" && n >= 60_000
    })?;
    assert_eq!(count_and_sum_when_up(&mut server, &db)?.0, 0);
    // 3. Server up: killed while sending, after partial acknowledgements.
    let (from, _) = run_child(&server, &db, dir.path(), from, |what, n| {
        what == "written" && n >= 10_000
    })?;
    // 4. Completes.
    let (_, drained) = run_child(&server, &db, dir.path(), from, |_, _| false)?;
    assert!(drained, "the last child did not drain");
    // Every point, each once (repeats were identical points).
    assert_eq!(
        count_and_sum(&server, &db)?,
        (TOTAL as u64, sum_upto(TOTAL as u64))
    );
    assert_eq!(segments(dir.path())?, Vec::<std::path::PathBuf>::new());
    Ok(())
}

/// Starts the stopped server and reads the count: nothing reached it yet.
fn count_and_sum_when_up(
    server: &mut Influxd,
    db: &str,
) -> Result<(u64, f64), Box<dyn std::error::Error>> {
    server.restart()?;
    count_and_sum(server, db)
}

#[test]
fn interval_and_no_fsync_deliver_everything_through_forward() -> TestResult {
    let server = Influxd::shared();
    let rt = runtime()?;
    for fsync in [Fsync::Interval(Duration::from_millis(20)), Fsync::Never] {
        let db = unique_db("spool_fsync");
        server.raw_query(&format!("CREATE DATABASE {db}"))?;
        let dir = tempfile::tempdir()?;
        rt.block_on(async {
            let client = Client::builder(server.url()).database(&db).build()?;
            let writer = client.writer(
                WriteOptions::new()
                    .max_points(500)
                    .spool(dir.path())
                    .spool_fsync(fsync),
            )?;
            let mut watcher = writer.clone();
            let points = futures::stream::iter((0..5_000).map(|i| Ok::<_, Error>(point(i))));
            // forward ends with close: with a spool, everything is in it.
            futures::StreamExt::forward(points, writer).await?;
            watcher.drain().await?;
            let stats = watcher.stats();
            assert_eq!((stats.points_written, stats.spool_batches), (5_000, 0));
            // Fsync::Never never fsyncs; an interval's fsyncs are grouped.
            match fsync {
                Fsync::Never => assert_eq!(stats.spool_syncs, 0),
                _ => assert!((1..=10).contains(&stats.spool_syncs), "{stats:?}"),
            }
            Ok::<_, Box<dyn std::error::Error>>(())
        })?;
        assert_eq!(
            count_and_sum(server, &db)?,
            (5_000, sum_upto(5_000)),
            "{fsync:?}"
        );
    }
    Ok(())
}
