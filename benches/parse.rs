//! Query-response parsing throughput on the standard workload
//! (`benches/WORKLOAD.md`): `SELECT * FROM cpu` over the 1,000,000 narrow
//! points, as influxd 1.6.7 returns it with `epoch=ns&chunked=true&
//! chunk_size=10000`: 100 newline-delimited documents of 10,000 rows, one
//! series `cpu` without tags, columns `time` then the rest alphabetically,
//! floats printed as Go does (shortest round trip, `12` for a whole value).
//!
//! Cases: `rows` (`Decoder::next_event`), `chunks` (`next_chunk`),
//! `query_as` (`Client::query_as`'s path: serde, by name, strings decoded
//! onto the heap and moved into the `String`s), `typed_owned`
//! (`Row::into_deserialize::<Cpu>`: the same from a `Row`, whose strings
//! are copied) and `typed_borrowed` (`Row::deserialize::<CpuRef>`). `from_row` is the
//! workload's struct with `#[derive(FromRow)]`, on the path of
//! `Client::query_rows`; `from_row_numbers` maps onto the numeric columns
//! only: the difference is the cost of the four `String`s per row.
//!
//! Run: `cargo bench --bench parse`. One pass of each case, without
//! criterion: `cargo bench --bench parse -- xxxnomatch`; of some cases:
//! `PARSE_CASES=rows,from_row cargo bench --bench parse -- xxxnomatch`.
//!
//! On a machine whose timings drift, count instructions instead: run the
//! bench binary (`target/release/deps/parse-*`) with `--bench xxxnomatch`
//! under `valgrind --tool=cachegrind --cache-sim=no`, once with
//! `PARSE_CASES=none` (building the body) and once with the case; the
//! difference over 1,000,000 is the instructions per row.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
// The decoder is crate-private; the crate hands it to its benches through
// the hidden `__private` module, to count its instructions without HTTP.
use influx_stream::__private::{DecodeOptions, Decoder, Event};
use influx_stream::query::Chunk;
use serde::Deserialize;

const POINTS: u64 = 1_000_000;
const CHUNK_SIZE: u64 = 10_000;
/// Size of the slices fed to the decoder, like HTTP body frames.
const FRAME: usize = 16 * 1024;

const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-central-1", "ap-southeast-1"];
const SERVICES: [&str; 10] = [
    "api", "auth", "billing", "cart", "catalog", "checkout", "frontend", "gateway", "search",
    "shipping",
];
const STATUSES: [&str; 5] = ["ok_ready", "degraded", "draining", "starting", "stopping"];

fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unit(x: u64) -> f64 {
    (splitmix64(x) >> 11) as f64 / (1u64 << 53) as f64
}

/// Go's `encoding/json` float form for these magnitudes: shortest
/// round-trip digits, no `.0` on whole values.
fn push_float(out: &mut String, buf: &mut ryu::Buffer, f: f64) {
    let s = buf.format_finite(f);
    out.push_str(s.strip_suffix(".0").unwrap_or(s));
}

/// One row of the workload as a JSON array, time first, then columns in
/// alphabetical order.
fn push_row(out: &mut String, buf: &mut ryu::Buffer, i: u64) {
    let time = 1_600_000_000_000_000_000u64 + i * 1_000_000_000;
    let usage_user = 1.0 + 99.0 * unit(4 * i);
    let usage_system = (splitmix64(4 * i + 1) % 10_000) as f64 / 100.0;
    let requests = splitmix64(4 * i + 2) % 100_000;
    let _ = write!(
        out,
        "[{time},\"host_{}\",\"{}\",{requests},\"{}\",\"{}\",",
        i % 1000,
        REGIONS[(i % 4) as usize],
        SERVICES[(i % 10) as usize],
        STATUSES[(i % 5) as usize],
    );
    push_float(out, buf, usage_system);
    out.push(',');
    push_float(out, buf, usage_user);
    out.push(']');
}

fn build_body() -> Vec<u8> {
    let mut out = String::with_capacity(100 << 20);
    let mut buf = ryu::Buffer::new();
    let mut i = 0;
    while i < POINTS {
        let end = (i + CHUNK_SIZE).min(POINTS);
        let partial = end < POINTS;
        out.push_str(
            "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"cpu\",\"columns\":[\"time\",\"host\",\"region\",\"requests\",\"service\",\"status\",\"usage_system\",\"usage_user\"],\"values\":[",
        );
        for j in i..end {
            if j > i {
                out.push(',');
            }
            push_row(&mut out, &mut buf, j);
        }
        out.push_str(if partial {
            "],\"partial\":true}],\"partial\":true}]}\n"
        } else {
            "]}]}]}\n"
        });
        i = end;
    }
    out.into_bytes()
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Cpu {
    time: i64,
    host: String,
    region: String,
    requests: i64,
    service: String,
    status: String,
    usage_system: f64,
    usage_user: f64,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct CpuRef<'a> {
    time: i64,
    host: &'a str,
    region: &'a str,
    requests: i64,
    service: &'a str,
    status: &'a str,
    usage_system: f64,
    usage_user: f64,
}

/// Feeds the body to a decoder frame by frame, like HTTP body frames,
/// calling `drain` after each frame and once after the end.
fn feed_frames(body: &[u8], mut drain: impl FnMut(&mut Decoder)) {
    let mut d = Decoder::new(DecodeOptions::new());
    for frame in body.chunks(FRAME) {
        d.feed(frame);
        drain(&mut d);
    }
    d.finish();
    drain(&mut d);
}

/// Hands every row to `each`; returns how many.
fn for_each_row(body: &[u8], mut each: impl FnMut(influx_stream::Row)) -> u64 {
    let mut n = 0;
    feed_frames(body, |d| {
        while let Some(e) = d.next_event() {
            match e {
                Ok(Event::Row(row)) => {
                    n += 1;
                    each(row);
                }
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
    });
    n
}

fn rows(body: &[u8]) -> u64 {
    for_each_row(body, |row| {
        black_box(row);
    })
}

fn typed_owned(body: &[u8]) -> u64 {
    for_each_row(body, |row| {
        black_box(row.into_deserialize::<Cpu>().expect("typed"));
    })
}

fn typed_borrowed(body: &[u8]) -> u64 {
    for_each_row(body, |row| {
        black_box(row.deserialize::<CpuRef<'_>>().expect("typed"));
    })
}

#[derive(influx_stream::FromRow)]
#[allow(dead_code)]
struct CpuRow {
    time: i64,
    host: String,
    region: String,
    service: String,
    usage_user: f64,
    usage_system: f64,
    requests: i64,
    status: String,
}

#[derive(influx_stream::FromRow)]
#[allow(dead_code)]
struct CpuRowNumbers {
    time: i64,
    requests: i64,
    usage_system: f64,
    usage_user: f64,
}

/// The path of `Client::query_rows`: `FromRow` types taken from the
/// decoder's values, no `Row` in between.
fn from_rows<T: influx_stream::FromRow>(body: &[u8]) -> u64 {
    let mut n = 0;
    let mut rows = influx_stream::__private::BenchRows::default();
    feed_frames(body, |d| {
        while let Some(e) = rows.next::<T>(d) {
            match e {
                Ok(Event::Row(row)) => {
                    n += 1;
                    black_box(row);
                }
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
    });
    n
}

/// The path of `Client::query_as`: serde types taken from the decoder's
/// values, no `Row` in between.
fn query_as(body: &[u8]) -> u64 {
    let mut n = 0;
    feed_frames(body, |d| {
        while let Some(e) = influx_stream::__private::bench_as::<Cpu>(d) {
            match e {
                Ok(Event::Row(row)) => {
                    n += 1;
                    black_box(row);
                }
                Ok(_) => {}
                Err(e) => panic!("{e}"),
            }
        }
    });
    n
}

fn from_row(body: &[u8]) -> u64 {
    from_rows::<CpuRow>(body)
}

fn from_row_numbers(body: &[u8]) -> u64 {
    from_rows::<CpuRowNumbers>(body)
}

fn chunks(body: &[u8]) -> u64 {
    let mut n = 0;
    feed_frames(body, |d| {
        while let Some(c) = d.next_chunk() {
            if let Ok(Chunk::Series(s)) = c {
                n += s.values.len() as u64;
                black_box(s);
            }
        }
    });
    n
}

fn bench(c: &mut Criterion) {
    let body = build_body();
    // Self-check against WORKLOAD.md: point 417.
    let mut probe = String::new();
    push_row(&mut probe, &mut ryu::Buffer::new(), 417);
    assert_eq!(
        probe,
        "[1600000417000000000,\"host_417\",\"us-west-2\",3245,\"gateway\",\"draining\",43.53,94.67028418376582]"
    );
    println!(
        "body: {} bytes, {POINTS} rows in {} documents",
        body.len(),
        POINTS / CHUNK_SIZE
    );
    type Run = fn(&[u8]) -> u64;
    let runs: [(&str, Run); 7] = [
        ("rows", rows),
        ("chunks", chunks),
        ("query_as", query_as),
        ("typed_owned", typed_owned),
        ("typed_borrowed", typed_borrowed),
        ("from_row", from_row),
        ("from_row_numbers", from_row_numbers),
    ];
    // `PARSE_CASES=from_row,rows` limits the one-pass figures to those
    // cases (to count instructions under valgrind, say).
    let only = std::env::var("PARSE_CASES").ok();
    let chosen = |name: &str| match &only {
        Some(cases) => cases.split(',').any(|c| c == name),
        None => true,
    };
    for (name, run) in runs.into_iter().filter(|(name, _)| chosen(name)) {
        let start = Instant::now();
        let n = run(&body);
        let secs = start.elapsed().as_secs_f64();
        assert_eq!(n, POINTS);
        println!(
            "{name:>15}: {:.2} M rows/s ({:.0} MB/s), one pass",
            n as f64 / secs / 1e6,
            body.len() as f64 / secs / 1e6
        );
    }
    let mut group = c.benchmark_group("parse_1M_narrow");
    group
        .throughput(Throughput::Elements(POINTS))
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    for (name, run) in runs {
        group.bench_function(name, |b| b.iter(|| run(black_box(&body))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
