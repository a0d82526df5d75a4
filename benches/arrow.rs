//! Arrow against the row APIs on the standard workload (`benches/WORKLOAD.md`,
//! 1,000,000 narrow points), side by side in one run:
//!
//! - `encode`: the workload as pre-built `Point`s through `LineWriter`, and
//!   as ONE `RecordBatch` through `ArrowWrite` (tags as `Dictionary(Int32,
//!   Utf8)`, and as plain `Utf8`), into one reused buffer; the bodies are
//!   checked to be byte-identical. Prints points/s (median of 7 runs).
//! - `query`: `SELECT * FROM cpu` (chunk size 10,000, epoch=ns) from a real
//!   influxd started here and loaded with the workload through the `Writer`:
//!   `client.query()` (rows) against `client.query_arrow()` (batches).
//!   Prints rows/s and client CPU seconds (median of 5 runs, alternating).
//!
//! `cargo bench --features arrow --bench arrow` (add `-- encode` or
//! `-- query` to run one part).

mod common;
#[path = "../tests/support/influxd.rs"]
mod influxd;
#[path = "../tests/support/workload.rs"]
mod workload;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;
use influx_stream::arrow::arrow_array::types::Int32Type;
use influx_stream::arrow::arrow_array::{
    ArrayRef, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampNanosecondArray,
};
use influx_stream::arrow::ArrowWrite;
use influx_stream::{Client, EncodeOptions, LineWriter, Point, Query, ToLineProtocol};

const QUERY: &str = "SELECT * FROM cpu";
const CHUNK: usize = 10_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The narrow workload as one RecordBatch; tags dictionary-encoded or not.
fn workload_batch(dictionary_tags: bool) -> RecordBatch {
    let rows: Vec<workload::NarrowRow> = (0..workload::POINTS).map(workload::narrow).collect();
    let tag = |f: fn(&workload::NarrowRow) -> &'static str| -> ArrayRef {
        if dictionary_tags {
            let d: DictionaryArray<Int32Type> = rows.iter().map(f).collect();
            Arc::new(d)
        } else {
            Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
        }
    };
    RecordBatch::try_from_iter([
        (
            "time",
            Arc::new(TimestampNanosecondArray::from_iter_values(
                rows.iter().map(|r| r.time),
            )) as ArrayRef,
        ),
        ("host", tag(|r| r.host)),
        ("region", tag(|r| r.region)),
        ("service", tag(|r| r.service)),
        (
            "usage_user",
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.usage_user),
            )),
        ),
        (
            "usage_system",
            Arc::new(Float64Array::from_iter_values(
                rows.iter().map(|r| r.usage_system),
            )),
        ),
        (
            "requests",
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.requests),
            )),
        ),
        (
            "status",
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.status))),
        ),
    ])
    .unwrap_or_else(|e| panic!("building the batch: {e}"))
}

fn encode_once<T: ToLineProtocol + ?Sized>(buf: &mut Vec<u8>, item: &T) -> Duration {
    buf.clear();
    let t = Instant::now();
    LineWriter::new(buf, EncodeOptions::default())
        .write(item)
        .unwrap_or_else(|e| panic!("the workload encodes: {e}"));
    let el = t.elapsed();
    black_box(&buf);
    el
}

fn encode() {
    let points: Vec<Point> = (0..workload::POINTS).map(workload::narrow_point).collect();
    let dict = ArrowWrite::new(&workload_batch(true))
        .measurement("cpu")
        .tag_columns(["host", "region", "service"]);
    let utf8 = ArrowWrite::new(&workload_batch(false))
        .measurement("cpu")
        .tag_columns(["host", "region", "service"]);

    let mut want = Vec::new();
    encode_once(&mut want, &points[..]);
    assert_eq!(want.len() as u64, workload::NARROW_BODY_BYTES);
    let mut buf = Vec::with_capacity(want.len());
    for (name, w) in [("arrow_dict", &dict), ("arrow_utf8", &utf8)] {
        encode_once(&mut buf, w);
        assert!(buf == want, "{name}: the body differs from Point's");
    }

    let mut times: [(&str, Vec<f64>); 3] = [
        ("point", Vec::new()),
        ("arrow_dict", Vec::new()),
        ("arrow_utf8", Vec::new()),
    ];
    for _ in 0..7 {
        // Interleaved, so that drift (other load, frequency) hits all alike.
        times[0]
            .1
            .push(encode_once(&mut buf, &points[..]).as_secs_f64());
        times[1].1.push(encode_once(&mut buf, &dict).as_secs_f64());
        times[2].1.push(encode_once(&mut buf, &utf8).as_secs_f64());
    }
    let point = median(times[0].1.clone());
    for (name, t) in times {
        let best = t.iter().copied().fold(f64::INFINITY, f64::min);
        let secs = median(t);
        eprintln!(
            "SUMMARY encode/narrow/{name:<10}: {:>6.2} M points/s  {:>7.1} MB/s  {:>5.2}x Point's time  (median of 7, best {:.2} M points/s)",
            workload::POINTS as f64 / secs / 1e6,
            want.len() as f64 / secs / 1e6,
            secs / point,
            workload::POINTS as f64 / best / 1e6,
        );
    }
}

fn query() {
    let server = common::start_server();
    let rt = common::runtime();
    let client = Client::builder(server.url())
        .database("bench")
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let t = Instant::now();
    common::load_narrow(&rt, &client, "bench");
    eprintln!(
        "query: loaded {} points in {:.1?}",
        workload::POINTS,
        t.elapsed()
    );

    let cases = ["rows", "arrow"];
    let mut runs: Vec<Vec<[f64; 2]>> = vec![Vec::new(); cases.len()];
    for round in 0..6 {
        for (k, case) in cases.iter().enumerate() {
            let c0 = common::cpu_seconds("self");
            let t = Instant::now();
            let n = rt.block_on(async {
                let q = Query::new(QUERY).chunk_size(CHUNK);
                match *case {
                    "rows" => {
                        client
                            .query(q)
                            .try_fold(0u64, |n, _| async move { Ok(n + 1) })
                            .await
                    }
                    _ => {
                        client
                            .query_arrow(q)
                            .try_fold(0u64, |n, b| async move { Ok(n + b.num_rows() as u64) })
                            .await
                    }
                }
            });
            let n = n.unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(n, workload::POINTS, "{case}");
            let el = t.elapsed().as_secs_f64();
            // The first round warms the server's caches and the field-type cache.
            if round > 0 {
                runs[k].push([el, common::cpu_seconds("self") - c0]);
            }
        }
    }
    let rows_wall = median(runs[0].iter().map(|r| r[0]).collect());
    for (k, case) in cases.iter().enumerate() {
        let wall = median(runs[k].iter().map(|r| r[0]).collect());
        let cpu = median(runs[k].iter().map(|r| r[1]).collect());
        eprintln!(
            "SUMMARY query/{case:<5}: median wall {wall:.3} s ({:.0} rows/s, {:+.1}% vs query()), client CPU {cpu:.2} s (median of 5)",
            workload::POINTS as f64 / wall,
            100.0 * (wall / rows_wall - 1.0)
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; anything else selects a part.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let run = |part: &str| filter.is_empty() || filter.iter().any(|f| part.contains(f.as_str()));
    if run("encode") {
        encode();
    }
    if run("query") {
        query();
    }
}
