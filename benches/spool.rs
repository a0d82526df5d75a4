//! What the on-disk spool costs (issue 17): 1,000,000 narrow points
//! (benches/WORKLOAD.md) in batches of 5,000, one request in flight, two
//! batches queued, through
//!
//! - `unspooled`: the Writer as it is without a spool;
//! - `spool_fsync_every_batch`: with a spool, an fdatasync per append
//!   (appends group the batches sealed meanwhile);
//! - `spool_fsync_never`: with a spool, no fsync (the cost of the copy to
//!   disk and reading nothing back).
//!
//! Two servers:
//!
//! - `influxd`: a real influxd (WORKLOAD.md's settings), a fresh database
//!   per run (dropped afterwards). Target: spooled at least 90% of
//!   unspooled.
//! - `discard`: a server in this process (its own thread) that reads and
//!   discards bodies, so the client and the spool set the rate. Target:
//!   at least 2 M points/s with an fsync per batch. Besides the three
//!   cases, fsync per batch with 4 and 8 batches queued: an append takes
//!   every batch sealed while the previous append was being fsynced, so
//!   the queue bounds how many batches share one fsync (group commit).
//!   The cases run in interleaved rounds (one of each per round) so that
//!   the machine's drift weighs on all alike.
//!
//! Each run uses a fresh spool directory (tempfile: under $TMPDIR, so the
//! fsync figures are those of that file system) and ends with `drain()`:
//! every point acknowledged by the server, so the rates compare delivered
//! points. The client runs on a current-thread runtime (one core), the
//! spool's I/O thread beside it. Printed (SUMMARY lines): points/s and
//! client CPU seconds (medians), and the spooled/unspooled ratio.
//!
//! `cargo bench --bench spool` (`-- influxd` or `-- discard` for one part).

mod common;
#[path = "../tests/support/influxd.rs"]
mod influxd;
#[path = "../tests/support/workload.rs"]
mod workload;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::{stream, StreamExt};
use influx_stream::{Client, Error, Fsync, WriteOptions};
use workload::NarrowRow;

const BATCH: usize = 5_000;

fn rows() -> &'static [NarrowRow] {
    static ROWS: std::sync::OnceLock<Vec<NarrowRow>> = std::sync::OnceLock::new();
    ROWS.get_or_init(|| (0..workload::POINTS).map(workload::narrow).collect())
}

async fn write_all(
    client: &Client,
    spool: Option<(&std::path::Path, Fsync)>,
    queued: usize,
) -> Result<u64, Error> {
    let mut options = WriteOptions::new()
        .max_points(BATCH)
        .max_bytes(64 << 20)
        .max_in_flight(1)
        .max_queued_batches(queued);
    if let Some((dir, fsync)) = spool {
        options = options.spool(dir).spool_fsync(fsync);
    }
    let writer = client.writer(options)?;
    let mut watcher = writer.clone();
    stream::iter(rows().iter().map(Ok::<_, Error>))
        .forward(writer)
        .await?;
    watcher.drain().await?;
    let s = watcher.stats();
    assert_eq!(s.points_written, workload::POINTS, "{s:?}");
    Ok(s.spool_syncs)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Whether the command line's filter (criterion's, if any) asks for `part`.
fn wanted(part: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| part.contains(f.as_str()))
}

const CASES: [(&str, Option<Fsync>); 3] = [
    ("unspooled", None),
    ("spool_fsync_every_batch", Some(Fsync::EveryBatch)),
    ("spool_fsync_never", Some(Fsync::Never)),
];

/// The discard part's cases: (name, fsync, max_queued_batches). An append
/// takes every batch sealed while the previous one was being fsynced, so
/// the queue bounds how many batches share an fsync.
const DISCARD_CASES: [(&str, Option<Fsync>, usize); 5] = [
    ("unspooled", None, 2),
    ("spool_fsync_every_batch", Some(Fsync::EveryBatch), 2),
    ("spool_fsync_never", Some(Fsync::Never), 2),
    (
        "spool_fsync_every_batch_queue_4",
        Some(Fsync::EveryBatch),
        4,
    ),
    (
        "spool_fsync_every_batch_queue_8",
        Some(Fsync::EveryBatch),
        8,
    ),
];

/// Interleaved rounds of the discard comparison.
const ROUNDS: usize = 9;

fn discard(_c: &mut Criterion) {
    if !wanted("write_spool_discard") {
        return;
    }
    let url = common::discard_server();
    let rt = common::runtime();
    let client = Client::builder(&url)
        .database("bench")
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = rows();
    // Per case: (points/s, runtime-thread CPU seconds, fsyncs) of each round.
    let mut runs: [Vec<(f64, f64, f64)>; DISCARD_CASES.len()] = Default::default();
    for _ in 0..ROUNDS {
        for ((_, fsync, queued), runs) in DISCARD_CASES.iter().zip(&mut runs) {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            let c0 = common::cpu_seconds("thread-self");
            let t = Instant::now();
            let syncs = rt
                .block_on(write_all(&client, fsync.map(|f| (dir.path(), f)), *queued))
                .unwrap_or_else(|e| panic!("{e}"));
            let el = t.elapsed();
            runs.push((
                workload::POINTS as f64 / el.as_secs_f64(),
                common::cpu_seconds("thread-self") - c0,
                syncs as f64,
            ));
        }
    }
    for ((name, _, _), case) in DISCARD_CASES.iter().zip(&runs) {
        let ratios = case
            .iter()
            .zip(&runs[0])
            .map(|(r, base)| r.0 / base.0)
            .collect();
        eprintln!(
            "SUMMARY discard {name}: median of {ROUNDS} interleaved rounds: {:.3} M points/s (min {:.3}), {:.0}% of unspooled (median of the rounds' ratios), runtime-thread CPU {:.3} s, {:.0} fsyncs for {} batches",
            median(case.iter().map(|r| r.0).collect()) / 1e6,
            case.iter().map(|r| r.0).fold(f64::INFINITY, f64::min) / 1e6,
            100.0 * median(ratios),
            median(case.iter().map(|r| r.1).collect()),
            median(case.iter().map(|r| r.2).collect()),
            workload::POINTS as usize / BATCH,
        );
    }
}

fn influxd(c: &mut Criterion) {
    if !wanted("write_spool_influxd") {
        return;
    }
    let server = common::start_server();
    let rt = common::runtime();
    let admin = Client::builder(server.url())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = rows();
    let counter = AtomicUsize::new(0);
    let mut g = c.benchmark_group("write_spool_influxd");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(workload::POINTS));
    let mut base = 0.0;
    for (name, fsync) in CASES {
        let mut rates = Vec::new();
        let mut cpus = Vec::new();
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let db = format!("bench_spool_{n}");
                    rt.block_on(admin.create_database(&db))
                        .unwrap_or_else(|e| panic!("{e}"));
                    let client = admin.with_database(&db);
                    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
                    let c0 = common::cpu_seconds("self");
                    let t = Instant::now();
                    rt.block_on(write_all(&client, fsync.map(|f| (dir.path(), f)), 2))
                        .map(drop)
                        .unwrap_or_else(|e| panic!("{e}"));
                    let el = t.elapsed();
                    rates.push(workload::POINTS as f64 / el.as_secs_f64());
                    cpus.push(common::cpu_seconds("self") - c0);
                    total += el;
                    rt.block_on(admin.drop_database(&db))
                        .unwrap_or_else(|e| panic!("{e}"));
                }
                total
            })
        });
        let rate = median(rates.clone());
        if fsync.is_none() {
            base = rate;
        }
        eprintln!(
            "SUMMARY influxd {name}: median of {} runs: {:.3} M points/s, client CPU {:.3} s, {:.0}% of unspooled",
            rates.len(),
            rate / 1e6,
            median(cpus),
            if base > 0.0 { 100.0 * rate / base } else { 0.0 },
        );
    }
    g.finish();
}

criterion_group!(benches, influxd, discard);
criterion_main!(benches);
