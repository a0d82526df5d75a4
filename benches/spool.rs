//! What the on-disk spool costs (issue 17): 1,000,000 narrow points
//! (benches/WORKLOAD.md) into a real influxd in batches of 5,000, one
//! request in flight, through
//!
//! - `unspooled`: the Writer as it is without a spool;
//! - `spool_fsync_every_batch`: with a spool, an fdatasync per append;
//! - `spool_fsync_never`: with a spool, no fsync (the cost of the copy to
//!   disk and reading nothing back).
//!
//! Each run writes into a fresh database (dropped afterwards) and a fresh
//! spool directory, and ends with `drain()`: every point acknowledged by the
//! server, so the rates compare delivered points. Printed: points/s and
//! client CPU seconds (median of the runs), and the spooled/unspooled ratio.
//!
//! `cargo bench --bench spool`.

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

async fn write_all(client: &Client, spool: Option<(&std::path::Path, Fsync)>) -> Result<(), Error> {
    let mut options = WriteOptions::new()
        .max_points(BATCH)
        .max_bytes(64 << 20)
        .max_in_flight(1)
        .max_queued_batches(2);
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
    Ok(())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn spool(c: &mut Criterion) {
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
    let cases: [(&str, Option<Fsync>); 3] = [
        ("unspooled", None),
        ("spool_fsync_every_batch", Some(Fsync::EveryBatch)),
        ("spool_fsync_never", Some(Fsync::Never)),
    ];
    let mut base = 0.0;
    for (name, fsync) in cases {
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
                    rt.block_on(write_all(&client, fsync.map(|f| (dir.path(), f))))
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

criterion_group!(benches, spool);
criterion_main!(benches);
