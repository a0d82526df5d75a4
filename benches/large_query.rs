//! Large results: `SELECT * FROM cpu` at 1,000,000 and at 10,000,000 rows
//! of the narrow workload (benches/WORKLOAD.md; points past the first
//! million continue its formulas, one second apart), read four ways:
//!
//! - `curl`: the curl binary fetching the same chunked response (chunk size
//!   10,000, epoch=ns) into /dev/null: the ceiling the server allows;
//! - `rows`: `client.query()` as `Row`s;
//! - `from_row`: `client.query_rows()` into a `#[derive(FromRow)]` struct;
//! - `arrow`: `client.query_arrow()` as `RecordBatch`es.
//!
//! influxd is pinned to core 0 (with GOMAXPROCS=1) and this process (with the curl it starts)
//! to core 1, as if the server had a machine of its own: on two shared
//! cores influxd alone keeps both busy and the comparison would measure the
//! scheduler. Each size runs in interleaved rounds, one of each reader per
//! round, so the server's drift between rounds weighs on all of them alike.
//! Printed per reader and size: median wall time, its ratio to curl's in
//! the same rounds, client CPU, and the process's peak resident memory
//! during the read (VmHWM, reset before each read through
//! /proc/self/clear_refs), which must not grow with the row count.
//!
//! After each load one read through curl, not counted, lets the server
//! settle (its first compactions run then). With `LARGE_QUERY_CRITERION=1`
//! criterion also times the four readers at 1M rows (about three more
//! minutes): the interleaved rounds are the comparison.
//!
//! `cargo bench --features arrow --bench large_query`
//! (`LARGE_QUERY_ROUNDS=N` for another number of rounds; 3 by default).
//! On the 2-core machine of 2026-12-05 with other builds running at low
//! priority, one round took 17 minutes in all (influxd on one core served
//! 0.08-0.12 M rows/s).

mod common;
#[path = "../tests/support/cpu_row.rs"]
mod cpu_row;
#[path = "../tests/support/influxd.rs"]
mod influxd;
#[path = "../tests/support/workload.rs"]
mod workload;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::{stream, StreamExt, TryStreamExt};
use influx_stream::{Client, Error, Query, WriteOptions};

const QUERY: &str = "SELECT * FROM cpu";
const CHUNK: usize = 10_000;
const READERS: [&str; 4] = ["curl", "rows", "from_row", "arrow"];
const SIZES: [u64; 2] = [1_000_000, 10_000_000];

struct Bench {
    server: influxd::Influxd,
    rt: tokio::runtime::Runtime,
    client: Client,
}

/// One read: wall seconds, client CPU seconds, peak resident kB.
fn read(b: &Bench, reader: &str, rows: u64) -> [f64; 3] {
    reset_peak_memory();
    let c0 = common::cpu_seconds("self");
    let t = Instant::now();
    let got = match reader {
        "curl" => curl(&b.server.url()),
        _ => b.rt.block_on(async {
            let q = || Query::new(QUERY).chunk_size(CHUNK);
            match reader {
                "rows" => {
                    b.client
                        .query(q())
                        .try_fold(0u64, |n, _| async move { Ok(n + 1) })
                        .await
                }
                "from_row" => {
                    b.client
                        .query_rows::<cpu_row::CpuRow>(q())
                        .try_fold(0u64, |n, _| async move { Ok(n + 1) })
                        .await
                }
                _ => {
                    b.client
                        .query_arrow(q())
                        .try_fold(
                            0u64,
                            |n, batch| async move { Ok(n + batch.num_rows() as u64) },
                        )
                        .await
                }
            }
            .unwrap_or_else(|e| panic!("{reader}: {e}"))
        }),
    };
    let wall = t.elapsed().as_secs_f64();
    let cpu = common::cpu_seconds("self") - c0;
    if reader != "curl" {
        assert_eq!(got, rows, "{reader}");
    }
    [wall, cpu, peak_memory_kb()]
}

/// The response through curl into /dev/null; returns 0 (curl counts no rows).
fn curl(url: &str) -> u64 {
    let status = Command::new("curl")
        .args(["-sS", "-o", "/dev/null", "-G", &format!("{url}/query")])
        .args([
            "--data-urlencode",
            "db=bench",
            "--data-urlencode",
            "epoch=ns",
        ])
        .args(["--data-urlencode", "chunked=true"])
        .args(["--data-urlencode", &format!("chunk_size={CHUNK}")])
        .args(["--data-urlencode", &format!("q={QUERY}")])
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("curl: {e}"));
    assert!(status.success(), "curl: {status}");
    0
}

fn reset_peak_memory() {
    // "5" resets the peak resident set size to the current one.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_memory_kb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN)
}

/// Writes points `from..to` of the narrow workload.
fn load(b: &Bench, from: u64, to: u64) {
    b.rt.block_on(async {
        let writer = b
            .client
            .writer(WriteOptions::new().max_points(5_000).max_in_flight(2))?;
        stream::iter((from..to).map(|i| Ok::<_, Error>(workload::narrow(i))))
            .forward(writer)
            .await
    })
    .unwrap_or_else(|e| panic!("loading points {from}..{to} failed: {e}"));
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn large_query(c: &mut Criterion) {
    // One core for the server, so its runtime runs one scheduler thread.
    let server = common::start_server_with(&[("GOMAXPROCS", "1")]);
    let rt = common::runtime();
    let client = Client::builder(server.url())
        .database("bench")
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(client.create_database("bench"))
        .unwrap_or_else(|e| panic!("{e}"));
    let b = Bench { server, rt, client };
    let pid = b.server.pid().map(|p| p.to_string()).unwrap_or_default();
    let pinned = common::pin(&pid, 0) && common::pin("self", 1);
    if !pinned {
        eprintln!("SUMMARY large_query: not pinned (taskset failed or fewer than 2 cores)");
    }
    let rounds: usize = std::env::var("LARGE_QUERY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);

    let mut loaded = 0;
    for rows in SIZES {
        load(&b, loaded, rows);
        loaded = rows;
        curl(&b.server.url());
        if rows == SIZES[0] && std::env::var_os("LARGE_QUERY_CRITERION").is_some() {
            let mut g = c.benchmark_group("large_query_1m");
            g.sample_size(10).measurement_time(Duration::from_secs(10));
            g.throughput(Throughput::Elements(rows));
            for reader in READERS {
                g.bench_function(reader, |bench| {
                    bench.iter_custom(|iters| {
                        (0..iters)
                            .map(|_| Duration::from_secs_f64(read(&b, reader, rows)[0]))
                            .sum()
                    })
                });
            }
            g.finish();
        }
        let mut runs: Vec<Vec<[f64; 3]>> = vec![Vec::new(); READERS.len()];
        for _ in 0..rounds {
            for (reader, runs) in READERS.iter().zip(&mut runs) {
                runs.push(read(&b, reader, rows));
            }
        }
        let curl_walls: Vec<f64> = runs[0].iter().map(|r| r[0]).collect();
        for (reader, runs) in READERS.iter().zip(&runs) {
            let ratios: Vec<f64> = runs
                .iter()
                .zip(&curl_walls)
                .map(|(r, c)| r[0] / c)
                .collect();
            let ratio_text: Vec<String> = ratios.iter().map(|r| format!("{r:.3}")).collect();
            eprintln!(
                "SUMMARY large_query {rows} rows, {reader}: median wall {:.3} s ({:.2} M rows/s), {:.3}x curl's time (per round: {}), client CPU {:.2} s, peak RSS {:.1} MiB{}",
                median(runs.iter().map(|r| r[0]).collect()),
                rows as f64 / median(runs.iter().map(|r| r[0]).collect()) / 1e6,
                median(ratios.clone()),
                ratio_text.join(" "),
                median(runs.iter().map(|r| r[1]).collect()),
                median(runs.iter().map(|r| r[2]).collect()) / 1024.0,
                if pinned { ", pinned" } else { "" },
            );
        }
    }
}

criterion_group!(benches, large_query);
criterion_main!(benches);
