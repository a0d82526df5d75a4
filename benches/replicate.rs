//! Replication to two influxd (issue 17): what each server takes when a
//! `ReplicatedWriter` writes every point to both, against what it takes
//! written alone. Target: each at least 90% of its single-server rate.
//!
//! Setup, for a machine of two cores: two influxd 1.6.7 with WORKLOAD.md's
//! settings and `GOMAXPROCS=1`, server A pinned to core 0 and server B to
//! core 1 (`taskset -a -p -c`), so that they do not compete with each
//! other for a core; the client runs unpinned on a current-thread runtime
//! (one thread, a few percent of a core here). The single-server baseline
//! uses the same servers with the same pinning. Each round runs, in turn,
//! A alone, B alone, and both replicated; every run writes the 1,000,000
//! narrow points (benches/WORKLOAD.md) into a fresh database (dropped
//! afterwards) in batches of 5,000, one request in flight and two batches
//! queued per server.
//!
//! A server's rate in the replicated run counts until its own last batch
//! is acknowledged (each writer's `flush` once every point is given).
//! Printed: per round, each rate with the servers' and the client's CPU
//! seconds (a server whose CPU stays the same while its rate drops was
//! kept waiting: by the client, which shares a core with one of them, or
//! by the other server through the common queue's backpressure); then
//! (SUMMARY lines) per server, the medians of its rate alone and
//! replicated, and the median of the rounds' ratios (replicated / alone).
//!
//! `cargo bench --bench replicate`

mod common;
#[path = "../tests/support/influxd.rs"]
mod influxd;
#[path = "../tests/support/workload.rs"]
mod workload;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use futures::{stream, SinkExt};
use influx_stream::{Client, Error, ReplicatedWriter, WriteOptions, Writer};
use workload::NarrowRow;

const BATCH: usize = 5_000;

/// Interleaved rounds.
const ROUNDS: usize = 5;

fn rows() -> &'static [NarrowRow] {
    static ROWS: std::sync::OnceLock<Vec<NarrowRow>> = std::sync::OnceLock::new();
    ROWS.get_or_init(|| (0..workload::POINTS).map(workload::narrow).collect())
}

fn options() -> WriteOptions {
    WriteOptions::new()
        .max_points(BATCH)
        .max_bytes(64 << 20)
        .max_in_flight(1)
        .max_queued_batches(2)
}

/// Writes every point through one writer per client (replicated when
/// there are several); returns each server's time to its last
/// acknowledgement.
async fn write(clients: &[Client]) -> Result<Vec<Duration>, Error> {
    let writers: Vec<Writer> = clients
        .iter()
        .map(|c| c.writer(options()))
        .collect::<Result<_, _>>()?;
    let mut watchers: Vec<Writer> = writers.to_vec();
    let mut replicas = ReplicatedWriter::new(writers)?;
    let start = Instant::now();
    let mut points = stream::iter(rows().iter().map(Ok::<_, Error>));
    replicas.send_all(&mut points).await?;
    let done = futures::future::join_all(watchers.iter_mut().map(|w| async move {
        let result = w.flush().await;
        (result, start.elapsed())
    }))
    .await;
    let mut times = Vec::new();
    for ((result, elapsed), w) in done.into_iter().zip(&watchers) {
        result?;
        assert_eq!(w.stats().points_written, workload::POINTS);
        times.push(elapsed);
    }
    replicas.close().await?;
    Ok(times)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn replicate(_c: &mut Criterion) {
    let servers = [
        common::start_server_with(&[("GOMAXPROCS", "1")]),
        common::start_server_with(&[("GOMAXPROCS", "1")]),
    ];
    for (core, server) in servers.iter().enumerate() {
        let pid = server.pid().map(|p| p.to_string()).unwrap_or_default();
        if !common::pin(&pid, core) {
            eprintln!("SUMMARY replicate: skipped (taskset failed or fewer than 2 cores)");
            return;
        }
    }
    let pids: Vec<String> = servers
        .iter()
        .map(|s| s.pid().map(|p| p.to_string()).unwrap_or_default())
        .collect();
    let rt = common::runtime();
    let admins: Vec<Client> = servers
        .iter()
        .map(|s| Client::builder(s.url()).build())
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = rows();
    let mut n = 0usize;
    // Points/s of each server written to, the client's CPU seconds and
    // each server's (all servers, written to or not).
    let mut run = |which: &[usize]| -> (Vec<f64>, f64, [f64; 2]) {
        n += 1;
        let db = format!("bench_replicate_{n}");
        let clients: Vec<Client> = which
            .iter()
            .map(|&i| {
                rt.block_on(admins[i].create_database(&db))
                    .unwrap_or_else(|e| panic!("{e}"));
                admins[i].with_database(&db)
            })
            .collect();
        let cpu = |pid: &str| common::cpu_seconds(pid);
        let (c0, s0) = (cpu("self"), [cpu(&pids[0]), cpu(&pids[1])]);
        let times = rt
            .block_on(write(&clients))
            .unwrap_or_else(|e| panic!("{e}"));
        let client_cpu = cpu("self") - c0;
        let server_cpu = [cpu(&pids[0]) - s0[0], cpu(&pids[1]) - s0[1]];
        for &i in which {
            rt.block_on(admins[i].drop_database(&db))
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let rates = times
            .iter()
            .map(|t| workload::POINTS as f64 / t.as_secs_f64())
            .collect();
        (rates, client_cpu, server_cpu)
    };
    // Per server: (alone, replicated) points/s of each round.
    let mut rates: [Vec<(f64, f64)>; 2] = Default::default();
    for round in 0..ROUNDS {
        let (a, a_client, a_cpu) = run(&[0]);
        let (b, b_client, b_cpu) = run(&[1]);
        let (both, both_client, both_cpu) = run(&[0, 1]);
        let alone = [a[0], b[0]];
        for i in 0..2 {
            rates[i].push((alone[i], both[i]));
        }
        eprintln!(
            "round {round}: A alone {:.0}/s (server CPU {:.2} s, client {:.2} s), B alone {:.0}/s (server CPU {:.2} s, client {:.2} s), replicated A {:.0}/s B {:.0}/s (server CPU {:.2} s and {:.2} s, client {:.2} s)",
            alone[0], a_cpu[0], a_client, alone[1], b_cpu[1], b_client, both[0], both[1], both_cpu[0], both_cpu[1], both_client
        );
    }
    for (i, name) in ["A (core 0)", "B (core 1)"].iter().enumerate() {
        let r = &rates[i];
        eprintln!(
            "SUMMARY replicate server {name}: alone {:.3} M points/s, replicated {:.3} M points/s, replicated/alone {:.1}% (median of {ROUNDS} interleaved rounds' ratios)",
            median(r.iter().map(|x| x.0).collect()) / 1e6,
            median(r.iter().map(|x| x.1).collect()) / 1e6,
            100.0 * median(r.iter().map(|x| x.1 / x.0).collect()),
        );
    }
}

criterion_group!(benches, replicate);
criterion_main!(benches);
