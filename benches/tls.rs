//! What HTTPS costs on the standard workload (benches/WORKLOAD.md): the
//! Writer writing the 1,000,000 narrow points (5,000-point batches, 2 in
//! flight, a fresh database per round) and the `Row` stream reading
//! `SELECT * FROM cpu` back (chunks of 10,000), each over HTTP and over
//! HTTPS. influxd serves one listener, HTTP or HTTPS, so two servers with
//! the same settings run side by side, one each, with the certificate of a
//! CA made for the run; the rounds interleave the two (`TLS_ROUNDS`,
//! default 3). `SUMMARY` lines print medians: points/s or wall time, the
//! ratio HTTPS / HTTP, client and server CPU seconds. Criterion times a
//! ping over a pooled connection on each.
//!
//! `cargo bench --bench tls`

mod common;
#[path = "../tests/support/influxd.rs"]
mod influxd;
#[path = "../tests/support/pki.rs"]
mod pki;
#[path = "../tests/support/workload.rs"]
mod workload;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use futures::{stream, StreamExt, TryStreamExt};
use influx_stream::{Certificate, Client, Error, Query, WriteOptions};

struct Side {
    name: &'static str,
    server: influxd::Influxd,
    client: Client,
}

fn sides() -> (Vec<Side>, tempfile::TempDir) {
    let pki = pki::Pki::new("bench").unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cert = dir.path().join("server.pem");
    let key = dir.path().join("server.key");
    std::fs::write(&cert, &pki.server_cert_pem).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&key, &pki.server_key_pem).unwrap_or_else(|e| panic!("{e}"));
    let plain = common::start_server();
    let tls = influxd::Influxd::start_with(&[
        ("INFLUXDB_HTTP_HTTPS_ENABLED", "true"),
        ("INFLUXDB_HTTP_HTTPS_CERTIFICATE", &cert.to_string_lossy()),
        ("INFLUXDB_HTTP_HTTPS_PRIVATE_KEY", &key.to_string_lossy()),
        ("INFLUXDB_MONITOR_STORE_ENABLED", "false"),
        ("INFLUXDB_DATA_QUERY_LOG_ENABLED", "false"),
        ("INFLUXDB_HTTP_LOG_ENABLED", "false"),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let ca = Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    let build = |url: String| {
        Client::builder(url)
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca.clone())
            .timeout(Duration::from_secs(300))
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let http = Side {
        name: "http",
        client: build(plain.url()),
        server: plain,
    };
    let https = Side {
        name: "https",
        client: build(tls.https_url()),
        server: tls,
    };
    (vec![http, https], dir)
}

fn server_cpu(side: &Side) -> f64 {
    side.server
        .pid()
        .map(|p| common::cpu_seconds(&p.to_string()))
        .unwrap_or(0.0)
}

/// One write round into a fresh database: (seconds, client CPU, server CPU).
fn write_round(rt: &tokio::runtime::Runtime, side: &Side, round: usize) -> [f64; 3] {
    let db = format!("tls_write_{}_{round}", side.name);
    let client = side.client.with_database(&db);
    rt.block_on(client.create_database(&db))
        .unwrap_or_else(|e| panic!("{e}"));
    let (cpu0, srv0, t0) = (
        common::cpu_seconds("self"),
        server_cpu(side),
        Instant::now(),
    );
    rt.block_on(async {
        let writer = client.writer(WriteOptions::new().max_points(5_000).max_in_flight(2))?;
        stream::iter((0..workload::POINTS).map(|i| Ok::<_, Error>(workload::narrow(i))))
            .forward(writer)
            .await
    })
    .unwrap_or_else(|e| panic!("write over {}: {e}", side.name));
    let out = [
        t0.elapsed().as_secs_f64(),
        common::cpu_seconds("self") - cpu0,
        server_cpu(side) - srv0,
    ];
    rt.block_on(client.drop_database(&db))
        .unwrap_or_else(|e| panic!("{e}"));
    out
}

/// One query round over the loaded database: (seconds, client CPU, server CPU).
fn query_round(rt: &tokio::runtime::Runtime, side: &Side) -> [f64; 3] {
    let client = side.client.with_database("tls_query");
    let (cpu0, srv0, t0) = (
        common::cpu_seconds("self"),
        server_cpu(side),
        Instant::now(),
    );
    let rows = rt
        .block_on(async {
            let mut rows = client.query(Query::new("SELECT * FROM cpu").chunk_size(10_000));
            let mut n = 0u64;
            while rows.try_next().await?.is_some() {
                n += 1;
            }
            Ok::<_, Error>(n)
        })
        .unwrap_or_else(|e| panic!("query over {}: {e}", side.name));
    assert_eq!(rows, workload::POINTS);
    [
        t0.elapsed().as_secs_f64(),
        common::cpu_seconds("self") - cpu0,
        server_cpu(side) - srv0,
    ]
}

fn median(v: &[[f64; 3]], k: usize) -> f64 {
    let mut x: Vec<f64> = v.iter().map(|r| r[k]).collect();
    x.sort_by(|a, b| a.total_cmp(b));
    x.get(x.len() / 2).copied().unwrap_or(0.0)
}

fn bench(c: &mut Criterion) {
    let rounds: usize = std::env::var("TLS_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let rt = common::runtime();
    let (sides, _certs) = sides();
    for side in &sides {
        common::load_narrow(&rt, &side.client.with_database("tls_query"), "tls_query");
    }

    let mut group = c.benchmark_group("tls");
    for side in &sides {
        group.bench_function(format!("ping_{}", side.name), |b| {
            b.iter(|| {
                rt.block_on(side.client.ping())
                    .unwrap_or_else(|e| panic!("{e}"))
            })
        });
    }
    group.finish();

    let mut writes = [Vec::new(), Vec::new()];
    let mut queries = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        // Alternate which side goes first, so drift hits both alike.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for &i in &order {
            writes[i].push(write_round(&rt, &sides[i], round));
        }
        for &i in &order {
            queries[i].push(query_round(&rt, &sides[i]));
        }
    }
    let points = workload::POINTS as f64;
    for (i, side) in sides.iter().enumerate() {
        let w = &writes[i];
        let q = &queries[i];
        println!(
            "SUMMARY tls write {}: {:.0} points/s, client CPU {:.2} s, server CPU {:.2} s ({} rounds, medians)",
            side.name,
            points / median(w, 0),
            median(w, 1),
            median(w, 2),
            w.len()
        );
        println!(
            "SUMMARY tls query {}: {:.3} s wall, client CPU {:.2} s, server CPU {:.2} s ({} rounds, medians)",
            side.name,
            median(q, 0),
            median(q, 1),
            median(q, 2),
            q.len()
        );
    }
    // Ratios per round, then their median: each round's two runs are
    // closest in time.
    let ratio = |v: &[Vec<[f64; 3]>; 2], k: usize| {
        let mut r: Vec<[f64; 3]> = v[0]
            .iter()
            .zip(&v[1])
            .map(|(h, s)| [s[k] / h[k], 0.0, 0.0])
            .collect();
        r.sort_by(|a, b| a[0].total_cmp(&b[0]));
        r.get(r.len() / 2).map(|x| x[0]).unwrap_or(0.0)
    };
    println!(
        "SUMMARY tls write: HTTPS rate {:.1}% of HTTP; query: HTTPS wall {:.1}% of HTTP, client CPU +{:.2} s (medians of per-round ratios)",
        100.0 / ratio(&writes, 0),
        100.0 * ratio(&queries, 0),
        median(&queries[1], 1) - median(&queries[0], 1)
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
