//! What reading float fields as floats costs (issue 15, part 4), against a
//! real influxd loaded with the standard workload (benches/WORKLOAD.md):
//!
//! - `first query`: `SELECT * FROM cpu LIMIT 1` from a new client, whose
//!   cache is empty, with the field types (the query plus one `SHOW FIELD
//!   KEYS; SHOW TAG KEYS` request) and without (`Query::field_types(false)`):
//!   the difference is the extra request.
//! - `1M rows`: `SELECT * FROM cpu` (1,000,000 rows, chunk size 10,000) from
//!   one client whose cache is warm, typed and not: the difference is the
//!   retyping of the two float columns, row by row.
//!
//! Each pair runs in interleaved rounds (one of each per round) so that the
//! server's drift weighs on both alike; the lines printed are medians.
//!
//! `cargo bench --bench field_types`

mod common;
#[path = "../tests/support/influxd.rs"]
mod influxd;
#[path = "../tests/support/workload.rs"]
mod workload;

use std::time::Instant;

use futures::TryStreamExt;
use influx_stream::{Client, Query};

/// Rounds of the first-query comparison.
const FIRST_ROUNDS: usize = 201;
/// Rounds of the 1M-row comparison.
const FULL_ROUNDS: usize = 7;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that matches nothing skips.
    if std::env::args().skip(1).any(|a| a == "xxxnomatch") {
        return;
    }
    let server = common::start_server();
    let rt = common::runtime();
    let client = |types: bool| {
        Client::builder(server.url())
            .database("bench")
            .field_types(types)
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let loader = client(false);
    common::load_narrow(&rt, &loader, "bench");

    let count = |c: &Client, q: Query| {
        rt.block_on(c.query(q).try_fold(0u64, |n, _| async move { Ok(n + 1) }))
            .unwrap_or_else(|e| panic!("{e}"))
    };

    let (mut typed, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..FIRST_ROUNDS {
        for (types, out) in [(true, &mut typed), (false, &mut raw)] {
            let c = client(types);
            let t = Instant::now();
            let n = count(&c, Query::new("SELECT * FROM cpu LIMIT 1"));
            out.push(t.elapsed().as_secs_f64() * 1e3);
            assert_eq!(n, 1);
        }
    }
    let (t, r) = (median(typed), median(raw));
    eprintln!(
        "SUMMARY first query of a client: {t:.3} ms with the field types, {r:.3} ms without: the extra request costs {:.3} ms (medians of {FIRST_ROUNDS} interleaved rounds)",
        t - r
    );

    let server_pid = server.pid().map(|p| p.to_string()).unwrap_or_default();
    let warm = client(true);
    count(&warm, Query::new("SELECT * FROM cpu LIMIT 1"));
    let (mut typed, mut raw): (Vec<[f64; 3]>, Vec<[f64; 3]>) = Default::default();
    for _ in 0..FULL_ROUNDS {
        for (types, out) in [(true, &mut typed), (false, &mut raw)] {
            let s0 = common::cpu_seconds(&server_pid);
            let c0 = common::cpu_seconds("self");
            let t = Instant::now();
            let n = count(
                &warm,
                Query::new("SELECT * FROM cpu")
                    .chunk_size(10_000)
                    .field_types(types),
            );
            out.push([
                t.elapsed().as_secs_f64(),
                common::cpu_seconds("self") - c0,
                common::cpu_seconds(&server_pid) - s0,
            ]);
            assert_eq!(n, workload::POINTS);
        }
    }
    for (name, run) in [("typed", &typed), ("raw", &raw)] {
        let m = |k: usize| median(run.iter().map(|r| r[k]).collect());
        eprintln!(
            "SUMMARY 1M rows, {name}: median wall {:.3} s, client CPU {:.2} s, server CPU {:.2} s over {FULL_ROUNDS} interleaved rounds",
            m(0),
            m(1),
            m(2)
        );
    }
}
