//! `SELECT * FROM cpu` over the 1,000,000 points of the standard workload
//! (benches/WORKLOAD.md) from a real influxd, chunk size 10,000, epoch=ns:
//! the `Row` stream, the `query_rows` stream (`#[derive(FromRow)]`) and the
//! `query_as` stream (serde) beside a plain streaming HTTP
//! read of the same response (hyper, counting body bytes: the ceiling the
//! server allows). Criterion times each reader on its own; the `SUMMARY`
//! lines then compare them in interleaved rounds (rows/s, wall time
//! relative to the plain read, client and server CPU seconds: medians),
//! first with client and server sharing the cores, then with influxd
//! pinned to core 0 and the client to core 1 (`taskset`), as if the
//! server ran on a machine of its own.
//!
//! Peak memory is measured per process, outside this bench:
//! `/usr/bin/time -v target/release/examples/stream_query --load N > /dev/null`.
//!
//! `cargo bench --bench query`

mod common;
#[path = "../tests/support/cpu_row.rs"]
mod cpu_row;
#[path = "../tests/support/influxd.rs"]
mod influxd;
#[path = "../tests/support/workload.rs"]
mod workload;

use std::time::{Duration, Instant};

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::TryStreamExt;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use influx_stream::{Client, Query};

const QUERY: &str = "SELECT * FROM cpu";
const CHUNK: usize = 10_000;

#[derive(Default)]
struct Runs(Vec<[f64; 3]>);

impl Runs {
    fn median(&self, k: usize) -> f64 {
        let mut v: Vec<f64> = self.0.iter().map(|r| r[k]).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    }
}

async fn plain_read(url: &str) -> u64 {
    let http: HyperClient<_, Empty<Bytes>> =
        HyperClient::builder(TokioExecutor::new()).build_http();
    let mut q = String::new();
    for b in QUERY.bytes() {
        if b.is_ascii_alphanumeric() {
            q.push(b as char);
        } else {
            q.push_str(&format!("%{b:02X}"));
        }
    }
    let uri: http::Uri =
        format!("{url}/query?db=bench&epoch=ns&chunked=true&chunk_size={CHUNK}&q={q}")
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
    let resp = http.get(uri).await.unwrap_or_else(|e| panic!("{e}"));
    let mut body = resp.into_body();
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        if let Some(d) = frame.ok().as_ref().and_then(|f| f.data_ref()) {
            n += d.len() as u64;
        }
    }
    n
}

fn query(c: &mut Criterion) {
    let server = common::start_server();
    let rt = common::runtime();
    let client = Client::builder(server.url())
        .database("bench")
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    common::load_narrow(&rt, &client, "bench");

    let server_pid = server.pid().map(|p| p.to_string()).unwrap_or_default();
    let read = |case: &str| -> [f64; 3] {
        let s0 = common::cpu_seconds(&server_pid);
        let c0 = common::cpu_seconds("self");
        let t = Instant::now();
        let n = rt.block_on(async {
            match case {
                "plain_http_read" => plain_read(&server.url()).await,
                "rows" => client
                    .query(Query::new(QUERY).chunk_size(CHUNK))
                    .try_fold(0u64, |n, _| async move { Ok(n + 1) })
                    .await
                    .unwrap_or_else(|e| panic!("{e}")),
                "query_rows" => client
                    .query_rows::<cpu_row::CpuRow>(Query::new(QUERY).chunk_size(CHUNK))
                    .try_fold(0u64, |n, _| async move { Ok(n + 1) })
                    .await
                    .unwrap_or_else(|e| panic!("{e}")),
                _ => client
                    .query_as::<cpu_row::CpuRow>(Query::new(QUERY).chunk_size(CHUNK))
                    .try_fold(0u64, |n, _| async move { Ok(n + 1) })
                    .await
                    .unwrap_or_else(|e| panic!("{e}")),
            }
        });
        let wall = t.elapsed().as_secs_f64();
        if case != "plain_http_read" {
            assert_eq!(n, workload::POINTS);
        }
        let cpu = common::cpu_seconds("self") - c0;
        [wall, cpu, common::cpu_seconds(&server_pid) - s0]
    };
    let mut g = c.benchmark_group("query_influxd");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(workload::POINTS));
    for case in CASES {
        g.bench_function(case, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| Duration::from_secs_f64(read(case)[0]))
                    .sum()
            })
        });
    }
    g.finish();

    // The summary compares the readers in rounds, one of each per round,
    // so that the server's own drift (compactions after the load, cache
    // snapshots) weighs on all of them alike.
    let rounds = || {
        let mut runs: [Runs; CASES.len()] = Default::default();
        for _ in 0..ROUNDS {
            for (case, runs) in CASES.iter().zip(&mut runs) {
                runs.0.push(read(case));
            }
        }
        runs
    };
    summary("shared cores", &rounds());
    // On a machine of two cores influxd alone keeps both busy, so every
    // cycle the client spends is taken from the server. Pinned, each has a
    // core of its own, as when the server runs on another machine: the
    // case the "server is the bottleneck" comparison is about.
    if common::pin(&server_pid, 0) && common::pin("self", 1) {
        summary("server on core 0, client on core 1", &rounds());
    } else {
        eprintln!("SUMMARY pinned: skipped (taskset failed or fewer than 2 cores)");
    }
}

fn summary(setup: &str, runs: &[Runs; CASES.len()]) {
    let plain = runs[0].median(0);
    for (case, runs) in CASES.iter().zip(runs) {
        let (wall, cpu, server_cpu) = (runs.median(0), runs.median(1), runs.median(2));
        eprintln!(
            "SUMMARY {setup}, {case}: median wall {wall:.3} s over {ROUNDS} interleaved rounds ({:.0} rows/s, {:+.1}% vs plain read), client CPU {cpu:.2} s, server CPU {server_cpu:.2} s",
            workload::POINTS as f64 / wall,
            100.0 * (wall / plain - 1.0)
        );
    }
}

const CASES: [&str; 4] = ["plain_http_read", "rows", "query_rows", "query_as"];

/// Rounds of the interleaved comparison.
const ROUNDS: usize = 9;

criterion_group!(benches, query);
criterion_main!(benches);
