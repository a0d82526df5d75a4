//! Line-protocol encoding throughput on the standard workload
//! (`benches/WORKLOAD.md`), one core, everything in memory.
//!
//! For each workload (narrow: 3 tags + 4 fields; wide: 10 tags + 20 fields),
//! 1,000,000 points are generated up front, then each iteration encodes all
//! of them into one reused buffer (cleared, capacity kept):
//! - `point`: pre-built [`Point`](influx_stream::Point)s through `LineWriter::write`;
//! - `struct`: the workload's row struct through its hand-written
//!   `ToLineProtocol` impl;
//! - `derive` (narrow only): a struct with the same members through
//!   `#[derive(LineProtocol)]`;
//! - `copy`: the baseline, a plain copy of the same pre-encoded body;
//! - `read`: the other way, `parse_lines` over that body into one reused
//!   `ParsedPoint` (`ParseLines::next_into`, as the encoder reuses its
//!   buffer), counted in points (lines) per second;
//! - `read_iter`: the same through the iterator, a new `ParsedPoint` (two
//!   vectors) per line;
//! - `check`: the same body given as raw text to `LineWriter::raw`, which
//!   reads every line as the server would before copying it (what the
//!   client does to raw text given to `write` and the `Writer`).
//!
//! Besides criterion's report (points/s through `Throughput::Elements`), a
//! summary line per case goes to stderr: points/s, MB/s and the time
//! relative to the copy.
//!
//! Run with `cargo bench --bench encode` (or `-- narrow` for one workload).

#[path = "../tests/support/workload.rs"]
mod workload;

use std::cell::{OnceCell, RefCell};
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use influx_stream::{EncodeOptions, LineProtocol, LineWriter, ToLineProtocol};

/// The narrow workload's row with a derived impl: `NarrowRow`'s members.
#[derive(LineProtocol)]
#[influx(measurement = "cpu")]
struct DerivedNarrow {
    #[influx(skip)]
    _i: u64,
    #[influx(tag)]
    host: &'static str,
    #[influx(tag)]
    region: &'static str,
    #[influx(tag)]
    service: &'static str,
    usage_user: f64,
    usage_system: f64,
    requests: i64,
    status: &'static str,
    #[influx(time)]
    time: i64,
}

fn derived_narrow(i: u64) -> DerivedNarrow {
    let r = workload::narrow(i);
    DerivedNarrow {
        _i: r.i,
        host: r.host,
        region: r.region,
        service: r.service,
        usage_user: r.usage_user,
        usage_system: r.usage_system,
        requests: r.requests,
        status: r.status,
        time: r.time,
    }
}

/// Per-iteration times of every measured batch of one case.
#[derive(Default)]
struct Times(RefCell<Vec<Duration>>);

impl Times {
    fn record(&self, total: Duration, iters: u64) -> Duration {
        if iters > 0 {
            self.0.borrow_mut().push(total / iters as u32);
        }
        total
    }

    fn min(&self) -> Duration {
        self.0.borrow().iter().min().copied().unwrap_or_default()
    }

    fn median(&self) -> Duration {
        let mut v = self.0.borrow().clone();
        v.sort();
        v.get(v.len() / 2).copied().unwrap_or_default()
    }
}

/// Encodes every item into `buf` (cleared first), `iters` times over.
fn encode_all<T: ToLineProtocol>(buf: &mut Vec<u8>, items: &[T], iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        buf.clear();
        let mut w = LineWriter::new(buf, EncodeOptions::default());
        for item in items {
            w.write(item).expect("the workload encodes");
        }
        black_box(&buf);
    }
    start.elapsed()
}

fn copy_all(buf: &mut Vec<u8>, body: &[u8], iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        buf.clear();
        buf.extend_from_slice(black_box(body));
        black_box(&buf);
    }
    start.elapsed()
}

fn read_all(body: &str, iters: u64) -> Duration {
    let start = Instant::now();
    let mut point = influx_stream::ParsedPoint::default();
    for _ in 0..iters {
        let mut n = 0u64;
        let mut lines = influx_stream::parse_lines(black_box(body));
        while let Some(read) = lines.next_into(&mut point) {
            n += u64::from(read.is_ok());
            black_box(&point);
        }
        assert_eq!(n, workload::POINTS);
    }
    start.elapsed()
}

fn read_iter_all(body: &str, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        let mut n = 0u64;
        for p in influx_stream::parse_lines(black_box(body)) {
            n += u64::from(black_box(p).is_ok());
        }
        assert_eq!(n, workload::POINTS);
    }
    start.elapsed()
}

fn check_all(buf: &mut Vec<u8>, body: &[u8], iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        buf.clear();
        let mut w = LineWriter::new(buf, EncodeOptions::default());
        w.raw(black_box(body)).expect("the workload reads back");
        assert_eq!(w.lines(), workload::POINTS as usize);
        black_box(&buf);
    }
    start.elapsed()
}

fn summary(workload: &str, body_len: usize, cases: &[(&str, &Times)]) {
    let points = workload::POINTS as f64;
    let copy = cases
        .iter()
        .find(|(name, _)| *name == "copy")
        .map(|(_, t)| t.median().as_secs_f64())
        .unwrap_or(f64::NAN);
    for (name, t) in cases {
        if t.0.borrow().is_empty() {
            continue;
        }
        let secs = t.median().as_secs_f64();
        eprintln!(
            "encode/{workload}/{name:<6}: {:>7.2} M points/s  {:>8.1} MB/s  {:>6.2}x the copy's time  ({:.1} ns/point median, best {:.2} M points/s)",
            points / secs / 1e6,
            body_len as f64 / secs / 1e6,
            secs / copy,
            secs * 1e9 / points,
            points / t.min().as_secs_f64() / 1e6,
        );
    }
}

/// One workload's data, built on first use so that a filtered run
/// (`cargo bench --bench encode -- narrow/struct`) builds only what it needs.
struct Data<R> {
    rows: Vec<R>,
    /// The rows encoded: what every case produces, and what `copy` copies.
    body: Vec<u8>,
}

fn bench_workload<R: ToLineProtocol, D: ToLineProtocol>(
    c: &mut Criterion,
    name: &str,
    row: impl Fn(u64) -> R,
    point: impl Fn(u64) -> influx_stream::Point,
    derived: Option<fn(u64) -> D>,
    measurement_time: Duration,
) {
    let data_cell = OnceCell::new();
    let data = || {
        data_cell.get_or_init(|| {
            let rows: Vec<R> = (0..workload::POINTS).map(&row).collect();
            let mut body = Vec::new();
            encode_all(&mut body, &rows, 1);
            eprintln!(
                "encode/{name}: {} points, {} bytes ({:.1} bytes/point)",
                rows.len(),
                body.len(),
                body.len() as f64 / rows.len() as f64
            );
            Data { rows, body }
        })
    };
    let points_cell = OnceCell::new();
    let points = || {
        points_cell.get_or_init(|| {
            let points: Vec<influx_stream::Point> = (0..workload::POINTS).map(&point).collect();
            let mut buf = Vec::new();
            encode_all(&mut buf, &points, 1);
            assert!(buf == data().body, "{name}: Point and struct bodies differ");
            points
        })
    };
    let derived_cell = OnceCell::new();
    let derived_rows = |make: fn(u64) -> D| {
        derived_cell.get_or_init(|| {
            let rows: Vec<D> = (0..workload::POINTS).map(make).collect();
            let mut buf = Vec::new();
            encode_all(&mut buf, &rows, 1);
            assert!(
                buf == data().body,
                "{name}: derived and struct bodies differ"
            );
            rows
        })
    };
    let mut buf = Vec::new();

    let (t_point, t_struct, t_derive, t_copy, t_read, t_read_iter, t_check) = (
        Times::default(),
        Times::default(),
        Times::default(),
        Times::default(),
        Times::default(),
        Times::default(),
        Times::default(),
    );
    let mut g = c.benchmark_group(format!("encode/{name}"));
    g.throughput(Throughput::Elements(workload::POINTS))
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(measurement_time);
    g.bench_function("point", |b| {
        let points = points();
        b.iter_custom(|n| t_point.record(encode_all(&mut buf, points, n), n))
    });
    g.bench_function("struct", |b| {
        let rows = &data().rows;
        b.iter_custom(|n| t_struct.record(encode_all(&mut buf, rows, n), n))
    });
    if let Some(make) = derived {
        g.bench_function("derive", |b| {
            let rows = derived_rows(make);
            b.iter_custom(|n| t_derive.record(encode_all(&mut buf, rows, n), n))
        });
    }
    g.bench_function("copy", |b| {
        let body = &data().body;
        b.iter_custom(|n| t_copy.record(copy_all(&mut buf, body, n), n))
    });
    g.bench_function("read", |b| {
        let body = std::str::from_utf8(&data().body).unwrap_or_else(|e| panic!("{e}"));
        b.iter_custom(|n| t_read.record(read_all(body, n), n))
    });
    g.bench_function("read_iter", |b| {
        let body = std::str::from_utf8(&data().body).unwrap_or_else(|e| panic!("{e}"));
        b.iter_custom(|n| t_read_iter.record(read_iter_all(body, n), n))
    });
    g.bench_function("check", |b| {
        let body = &data().body;
        b.iter_custom(|n| t_check.record(check_all(&mut buf, body, n), n))
    });
    g.finish();
    if let Some(data) = data_cell.get() {
        summary(
            name,
            data.body.len(),
            &[
                ("point", &t_point),
                ("struct", &t_struct),
                ("derive", &t_derive),
                ("copy", &t_copy),
                ("read", &t_read),
                ("read_iter", &t_read_iter),
                ("check", &t_check),
            ],
        );
    }
}

fn encode(c: &mut Criterion) {
    bench_workload(
        c,
        "narrow",
        workload::narrow,
        workload::narrow_point,
        Some(derived_narrow),
        Duration::from_secs(3),
    );
    bench_workload(
        c,
        "wide",
        workload::wide,
        workload::wide_point,
        None::<fn(u64) -> workload::WideRow>,
        Duration::from_secs(6),
    );
}

criterion_group!(benches, encode);
criterion_main!(benches);
