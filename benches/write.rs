//! End-to-end write throughput of the batching `Writer` on the standard
//! workload (benches/WORKLOAD.md), 1,000,000 narrow points:
//!
//! - `discard`: into a local HTTP server (its own thread) that reads and
//!   discards bodies; the client runs on a current-thread runtime, so it
//!   uses one core. Target: 5 million points/s. Beside it, the Writer's
//!   ceiling: a plain loop that encodes 5,000 points and POSTs them (no
//!   Sink), in the same run; the Writer's own cost is the ratio.
//! - `influxd`: into a real influxd (WORKLOAD.md's server settings) in
//!   batches of 5,000 with 1 and 2 requests in flight, beside a plain
//!   writer that POSTs pre-encoded bodies at the same concurrency (the
//!   ceiling the server allows). Each run writes into a fresh database,
//!   dropped afterwards. Printed: points/s, client CPU seconds, server CPU
//!   seconds.
//!
//! `cargo bench --bench write` (`-- discard` or `-- influxd` for one part).

mod common;
#[path = "../tests/support/influxd.rs"]
mod influxd;
#[path = "../tests/support/workload.rs"]
mod workload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::{stream, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use influx_stream::{Client, EncodeOptions, Error, LineWriter, WriteOptions};
use workload::NarrowRow;

const BATCH: usize = 5_000;

/// Figures of every run of one case; printed as medians after the case.
#[derive(Default)]
struct Runs(Vec<[f64; 3]>);

impl Runs {
    fn record(&mut self, elapsed: Duration, client_cpu: f64, server_cpu: f64) {
        let pps = workload::POINTS as f64 / elapsed.as_secs_f64();
        self.0.push([pps, client_cpu, server_cpu]);
    }

    fn print(&self, case: &str) {
        let median = |k: usize| {
            let mut v: Vec<f64> = self.0.iter().map(|r| r[k]).collect();
            v.sort_by(|a, b| a.total_cmp(b));
            v.get(v.len() / 2).copied().unwrap_or(0.0)
        };
        let (pps, cc, sc) = (median(0), median(1), median(2));
        let server = if sc > 0.0 {
            format!(
                ", server CPU {sc:.2} s (client/server {:.1}%)",
                100.0 * cc / sc
            )
        } else {
            String::new()
        };
        eprintln!(
            "SUMMARY {case}: median of {} runs: {:.3} M points/s, {:.0} MB/s, client CPU {cc:.3} s{server}",
            self.0.len(),
            pps / 1e6,
            pps * workload::NARROW_BODY_BYTES as f64 / workload::POINTS as f64 / 1e6,
        );
    }
}

fn rows() -> &'static [NarrowRow] {
    static ROWS: std::sync::OnceLock<Vec<NarrowRow>> = std::sync::OnceLock::new();
    ROWS.get_or_init(|| (0..workload::POINTS).map(workload::narrow).collect())
}

async fn write_through_writer(client: &Client, in_flight: usize) -> Result<(), Error> {
    let writer = client.writer(
        WriteOptions::new()
            .max_points(BATCH)
            .max_bytes(64 << 20)
            .max_in_flight(in_flight)
            .max_queued_batches(2),
    )?;
    let stats = writer.clone();
    stream::iter(rows().iter().map(Ok::<_, Error>))
        .forward(writer)
        .await?;
    let s = stats.stats();
    assert_eq!(s.points_written, workload::POINTS, "{s:?}");
    Ok(())
}

/// Pre-encoded bodies of BATCH points: what a plain writer would send.
fn bodies() -> &'static [Bytes] {
    static BODIES: std::sync::OnceLock<Vec<Bytes>> = std::sync::OnceLock::new();
    BODIES.get_or_init(|| {
        rows()
            .chunks(BATCH)
            .map(|chunk| {
                let mut buf = Vec::new();
                let mut w = LineWriter::new(&mut buf, EncodeOptions::default());
                for r in chunk {
                    let _ = w.write(r);
                }
                Bytes::from(buf)
            })
            .collect()
    })
}

/// POSTs `bodies` to `/write` with plain hyper (TCP_NODELAY as the client
/// sets it), `in_flight` at a time.
async fn post_all(url: &str, db: &str, in_flight: usize, bodies: impl Iterator<Item = Bytes>) {
    let mut connector = hyper_util::client::legacy::connect::HttpConnector::new();
    connector.set_nodelay(true);
    let http: HyperClient<_, Full<Bytes>> =
        HyperClient::builder(TokioExecutor::new()).build(connector);
    let uri: http::Uri = match format!("{url}/write?db={db}&precision=n").parse() {
        Ok(u) => u,
        Err(e) => panic!("{e}"),
    };
    stream::iter(bodies)
        .map(|body| {
            let req = http::Request::post(uri.clone())
                .body(Full::new(body))
                .unwrap_or_default();
            let fut = http.request(req);
            async move {
                match fut.await {
                    Ok(resp) if resp.status().is_success() => {
                        let _ = resp.into_body().collect().await;
                    }
                    Ok(resp) => panic!("plain write failed: {}", resp.status()),
                    Err(e) => panic!("plain write failed: {e}"),
                }
            }
        })
        .buffer_unordered(in_flight)
        .collect::<()>()
        .await;
}

/// The Writer's ceiling: a plain loop that encodes BATCH points and POSTs
/// them (no Sink, no batching task).
async fn encode_and_post(url: &str, in_flight: usize) {
    let bodies = rows().chunks(BATCH).map(|chunk| {
        let mut buf = Vec::with_capacity(chunk.len() * 160);
        let mut w = LineWriter::new(&mut buf, EncodeOptions::default());
        for r in chunk {
            if let Err(e) = w.write(r) {
                panic!("{e}");
            }
        }
        Bytes::from(buf)
    });
    post_all(url, "bench", in_flight, bodies).await;
}

/// POSTs the pre-encoded bodies, `in_flight` at a time.
async fn plain_writer(url: &str, db: &str, in_flight: usize) {
    post_all(url, db, in_flight, bodies().iter().cloned()).await;
}

fn discard(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let url = common::discard_server();
    let client = Client::builder(&url)
        .database("bench")
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = rows();
    let mut g = c.benchmark_group("write_discard");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(workload::POINTS));
    for in_flight in [1usize, 2] {
        let mut runs = Runs::default();
        g.bench_function(format!("writer_in_flight_{in_flight}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let cpu0 = common::cpu_seconds("thread-self");
                    let t = Instant::now();
                    rt.block_on(write_through_writer(&client, in_flight))
                        .unwrap_or_else(|e| panic!("{e}"));
                    let el = t.elapsed();
                    runs.record(el, common::cpu_seconds("thread-self") - cpu0, 0.0);
                    total += el;
                }
                total
            })
        });
        runs.print(&format!(
            "discard writer in_flight={in_flight} (client thread CPU)"
        ));
        let mut runs = Runs::default();
        g.bench_function(format!("encode_and_post_in_flight_{in_flight}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let cpu0 = common::cpu_seconds("thread-self");
                    let t = Instant::now();
                    rt.block_on(encode_and_post(&url, in_flight));
                    let el = t.elapsed();
                    runs.record(el, common::cpu_seconds("thread-self") - cpu0, 0.0);
                    total += el;
                }
                total
            })
        });
        runs.print(&format!(
            "discard encode-and-post loop in_flight={in_flight} (client thread CPU)"
        ));
    }
    g.finish();
}

fn influxd(c: &mut Criterion) {
    let server = common::start_server();
    let server_pid = server.pid().map(|p| p.to_string()).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let admin = Client::builder(server.url())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = bodies();
    let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut g = c.benchmark_group("write_influxd");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(workload::POINTS));
    for in_flight in [1usize, 2] {
        for plain in [false, true] {
            let name = if plain { "plain" } else { "writer" };
            let counter = counter.clone();
            let mut runs = Runs::default();
            g.bench_function(format!("{name}_in_flight_{in_flight}"), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let db = format!("bench_{n}");
                        rt.block_on(admin.create_database(&db))
                            .unwrap_or_else(|e| panic!("{e}"));
                        let client = admin.with_database(&db);
                        let (c0, s0) = (
                            common::cpu_seconds("self"),
                            common::cpu_seconds(&server_pid),
                        );
                        let t = Instant::now();
                        if plain {
                            rt.block_on(plain_writer(&server.url(), &db, in_flight));
                        } else {
                            rt.block_on(write_through_writer(&client, in_flight))
                                .unwrap_or_else(|e| panic!("{e}"));
                        }
                        let el = t.elapsed();
                        runs.record(
                            el,
                            common::cpu_seconds("self") - c0,
                            common::cpu_seconds(&server_pid) - s0,
                        );
                        total += el;
                        rt.block_on(admin.drop_database(&db))
                            .unwrap_or_else(|e| panic!("{e}"));
                    }
                    total
                })
            });
            runs.print(&format!("influxd {name} in_flight={in_flight}"));
        }
    }
    g.finish();
}

criterion_group!(benches, discard, influxd);
criterion_main!(benches);
