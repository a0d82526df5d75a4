//! `influx-stream copy` against the destination's ingest ceiling.
//!
//! Two influxd (the repository's harness, benches/WORKLOAD.md settings),
//! each pinned to a core of its own (`taskset -a -p -c`, started with
//! `GOMAXPROCS=1`), so the source answering queries and the destination
//! ingesting do not take turns on the same cores; the client processes are
//! not pinned. The source is loaded once with the standard workload, then
//! left until its cache is written to TSM files (it is started with
//! `cache-snapshot-write-cold-duration` 1s and the bench waits for every
//! shard's cache to be empty): read from its in-memory cache, as in the
//! minutes after a load, the same queries cost influxd about a fifth more
//! CPU (4.3 s against 3.6 s) and the source, not the destination, bounded
//! the copy; a source holding the data a copy moves has long written it to
//! disk. `COPY_BENCH_SOURCE_CACHED=1` keeps the old setting (queried from
//! the cache). Each round measures, in alternating order, into a fresh
//! destination database that is checked (exact count) and dropped
//! afterwards:
//!
//! - the ceiling: the library's `Writer` fed the same points from memory,
//!   batches of `--batch-points`, one request in flight, twice: in time
//!   order, and in the order copy writes them (window by window, each
//!   window's points grouped by series as `GROUP BY *` returns them, which
//!   costs influxd less to ingest). The faster of the two is the ceiling;
//! - the tool: `influx-stream copy` of the whole range, same batch size;
//! - then the source's side alone: the same window queries, asked as copy
//!   asks them (MessagePack, chunks of 500 rows), their bodies read and
//!   dropped: the other bound copy cannot beat.
//!
//! It prints each round's times, the ratio copy rate / ceiling rate and
//! copy rate / source-alone rate, then the median of the first. Settings from the environment:
//! `COPY_BENCH_POINTS` (default 1,000,000), `COPY_BENCH_ROUNDS` (5),
//! `COPY_BENCH_WINDOW` (`1d`), `COPY_BENCH_BATCH` (5000),
//! `COPY_BENCH_CORES` (`0,1`: the source's core and the destination's),
//! `COPY_BENCH_SOURCE_CACHED` (see above),
//! `COPY_BENCH_BEFORE` (the path of another `influx-stream` build: each
//! round then also runs its copy, for a before/after comparison in the
//! same rounds).
//!
//! ```text
//! cargo bench -p influx-stream-cli --bench copy
//! ```

#[path = "../../tests/support/influxd.rs"]
mod influxd;
#[path = "../../tests/support/workload.rs"]
mod workload;

use std::process::Command;
use std::time::Instant;

use futures::{stream, StreamExt};
use influx_stream::{Client, Error, Point, Query, WriteOptions};
use influxd::Influxd;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A server limited to one core: one Go thread running Go code at a time,
/// every thread of the process (and those it starts later) on `core`;
/// `env`, more settings.
fn pinned_influxd(core: &str, env: &[(&str, &str)]) -> Result<Influxd, String> {
    let mut all = vec![("GOMAXPROCS", "1")];
    all.extend_from_slice(env);
    let server = Influxd::start_with(&all)?;
    let pid = server.pid().ok_or("influxd has no pid")?;
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", core, &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("taskset: {e}"))?;
    if !status.success() {
        return Err(format!("taskset -a -p -c {core} {pid}: {status}"));
    }
    Ok(server)
}

/// Waits until every shard of `db` has written its cache to TSM files (the
/// server snapshots a shard once it has had no writes for its cold
/// duration); the seconds waited.
fn wait_for_snapshots(server: &Influxd, db: &str) -> Result<f64, String> {
    let t = Instant::now();
    loop {
        let body = server.raw_query("SHOW STATS FOR 'tsm1_cache'")?;
        let doc: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        let series = doc["results"][0]["series"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut cached = 0u64;
        let mut shards = 0;
        for s in series.iter().filter(|s| s["tags"]["database"] == db) {
            shards += 1;
            let columns = s["columns"].as_array().cloned().unwrap_or_default();
            let at = columns.iter().position(|c| c == "memBytes");
            cached += at.and_then(|i| s["values"][0][i].as_u64()).unwrap_or(1);
        }
        if shards > 0 && cached == 0 {
            return Ok(t.elapsed().as_secs_f64());
        }
        if t.elapsed().as_secs() > 120 {
            return Err(format!(
                "the source still holds {cached} bytes of {db} in its cache after 120 s"
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

fn count(server: &Influxd, db: &str) -> Result<u64, String> {
    let body = server.raw_query_in(db, "SELECT count(usage_user) FROM cpu")?;
    let doc: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
    doc["results"][0]["series"][0]["values"][0][1]
        .as_u64()
        .ok_or_else(|| format!("no count in {body}"))
}

/// The source's side alone: the queries copy sends, window by window, each
/// body read and dropped. Copy cannot beat this either. Returns the wall
/// time and the bytes read.
async fn read_alone(
    url: &str,
    n: u64,
    window_ns: i64,
) -> Result<(f64, u64), Box<dyn std::error::Error>> {
    let client = Client::builder(url).database("src").build()?;
    let end = workload::T0_NS + n as i64 * workload::STEP_NS;
    let t = Instant::now();
    let mut bytes = 0u64;
    let mut from = workload::T0_NS;
    while from < end {
        let to = (from + window_ns).min(end);
        let q = format!(
            "SELECT * FROM \"src\"..\"cpu\" WHERE time >= {from} AND time < {to} GROUP BY *"
        );
        // As copy asks: MessagePack in chunks of 500 rows, read and dropped.
        let mut body = client
            .query_body(Query::new(q).chunk_size(500), "application/x-msgpack")
            .await?;
        while let Some(piece) = body.next_bytes().await? {
            bytes += piece.len() as u64;
        }
        from = to;
    }
    Ok((t.elapsed().as_secs_f64(), bytes))
}

/// `COPY_BENCH_WINDOW` in nanoseconds.
fn window_nanos(window: &str) -> Result<i64, String> {
    let (num, unit) = window.split_at(window.len().saturating_sub(1));
    let unit_ns: i64 = match unit {
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => {
            return Err(format!(
                "COPY_BENCH_WINDOW {window:?}: a number and s, m, h or d"
            ))
        }
    };
    num.parse::<i64>()
        .map(|k| k * unit_ns)
        .map_err(|e| format!("COPY_BENCH_WINDOW {window:?}: {e}"))
}

/// The workload's points in the order copy writes them: window by window,
/// and within a window by series key, then time.
fn series_order(n: u64, window_ns: i64) -> Vec<Point> {
    let mut order: Vec<workload::NarrowRow> = (0..n).map(workload::narrow).collect();
    order.sort_by(|a, b| {
        let w = |r: &workload::NarrowRow| (r.time - workload::T0_NS) / window_ns;
        (w(a), a.host, a.region, a.service, a.time).cmp(&(
            w(b),
            b.host,
            b.region,
            b.service,
            b.time,
        ))
    });
    order.iter().map(|r| workload::narrow_point(r.i)).collect()
}

/// The ceiling: the Writer fed from memory, as `bench_baselines writer`.
async fn writer_from_memory(
    url: &str,
    db: &str,
    points: &[Point],
    batch: usize,
) -> Result<f64, Error> {
    let client = Client::builder(url).database(db).build()?;
    let writer = client.writer(WriteOptions::new().max_points(batch))?;
    let t = Instant::now();
    stream::iter(points.iter().map(Ok::<_, Error>))
        .forward(writer)
        .await?;
    Ok(t.elapsed().as_secs_f64())
}

/// One run of `bin copy` over the whole range: its wall time.
fn copy(
    bin: &str,
    src: &Influxd,
    dest: &Influxd,
    db: &str,
    n: u64,
    window: &str,
    batch: usize,
) -> Result<f64, String> {
    let end = workload::T0_NS + n as i64 * workload::STEP_NS;
    let mut cmd = Command::new(bin);
    cmd.args(["--url", &src.url(), "-d", "src", "copy", "--no-progress"])
        .args(["--to-url", &dest.url(), "--to-database", db])
        .args([
            "--start",
            &workload::T0_NS.to_string(),
            "--end",
            &end.to_string(),
        ])
        .args(["--window", window, "--batch-points", &batch.to_string()]);
    let t = Instant::now();
    let out = cmd.output().map_err(|e| format!("influx-stream: {e}"))?;
    let secs = t.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "copy failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(secs)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: u64 = env_or("COPY_BENCH_POINTS", workload::POINTS);
    let rounds: usize = env_or("COPY_BENCH_ROUNDS", 5);
    let window: String = env_or("COPY_BENCH_WINDOW", "1d".to_owned());
    let batch: usize = env_or("COPY_BENCH_BATCH", 5_000);
    let cores: String = env_or("COPY_BENCH_CORES", "0,1".to_owned());
    let (src_core, dest_core) = cores
        .split_once(',')
        .ok_or("COPY_BENCH_CORES: two cores, as 0,1")?;

    let cached = env_or("COPY_BENCH_SOURCE_CACHED", 0u8) == 1;

    let rt = tokio::runtime::Runtime::new()?;
    let src_env: &[(&str, &str)] = if cached {
        &[]
    } else {
        &[("INFLUXDB_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION", "1s")]
    };
    let src = pinned_influxd(src_core, src_env)?;
    let dest = pinned_influxd(dest_core, &[])?;
    let window_ns = window_nanos(&window)?;
    let points: Vec<Point> = (0..n).map(workload::narrow_point).collect();
    let grouped = series_order(n, window_ns);
    src.raw_query("CREATE DATABASE src")?;
    rt.block_on(writer_from_memory(&src.url(), "src", &points, 5_000))?;
    if count(&src, "src")? != n {
        return Err("the source does not hold every point".into());
    }
    let source_state = if cached {
        "queried from its cache".to_owned()
    } else {
        format!(
            "its cache written to TSM files ({:.1} s after the load)",
            wait_for_snapshots(&src, "src")?
        )
    };
    println!(
        "copy bench: {n} points, window {window}, batches of {batch}, source on core {src_core} ({source_state}), destination on core {dest_core}"
    );

    let before: Option<String> = std::env::var("COPY_BENCH_BEFORE").ok();
    let mut bins = vec![("copy", env!("CARGO_BIN_EXE_influx-stream").to_owned())];
    if let Some(b) = before {
        bins.push(("before", b));
    }
    // Per binary, its ratios to the ceiling of the same round.
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); bins.len()];
    // The two ceilings, then the binaries.
    let cases = bins.len() + 2;
    for round in 0..rounds {
        let mut ceilings = [0.0; 2];
        let mut times = vec![0.0; bins.len()];
        // Rotate which goes first, so a drift in the machine's load does
        // not favour one case.
        for step in 0..cases {
            let case = (round + step) % cases;
            let db = format!("dest_{round}_{step}");
            dest.raw_query(&format!("CREATE DATABASE {db}"))?;
            if case < 2 {
                let order = if case == 0 { &points } else { &grouped };
                ceilings[case] = rt.block_on(writer_from_memory(&dest.url(), &db, order, batch))?;
            } else {
                times[case - 2] = copy(&bins[case - 2].1, &src, &dest, &db, n, &window, batch)?;
            }
            let held = count(&dest, &db)?;
            dest.raw_query(&format!("DROP DATABASE {db}"))?;
            if held != n {
                return Err(
                    format!("round {round}: the destination holds {held} of {n} points").into(),
                );
            }
        }
        let (alone, bytes) = rt.block_on(read_alone(&src.url(), n, window_ns))?;
        if bytes == 0 {
            return Err(format!("round {round}: the source sent nothing").into());
        }
        let ceiling = ceilings[0].min(ceilings[1]);
        let mut line = format!(
            "round {round}: source read alone {alone:.2} s, ceiling {ceiling:.2} s ({:.0} points/s; time order {:.2} s, series order {:.2} s)",
            n as f64 / ceiling,
            ceilings[0],
            ceilings[1]
        );
        for (i, (name, _)) in bins.iter().enumerate() {
            let ratio = ceiling / times[i];
            ratios[i].push(ratio);
            line.push_str(&format!(
                ", {name} {:.2} s = {:.1}% (of the source alone: {:.1}%)",
                times[i],
                ratio * 100.0,
                alone / times[i] * 100.0
            ));
        }
        println!("{line}");
    }
    for (i, (name, _)) in bins.iter().enumerate() {
        let r = &mut ratios[i];
        r.sort_by(f64::total_cmp);
        if let Some(median) = r.get(r.len() / 2) {
            println!(
                "{name}: median over {rounds} rounds {:.1}% of the ceiling (min {:.1}%, max {:.1}%)",
                median * 100.0,
                r[0] * 100.0,
                r[r.len() - 1] * 100.0
            );
        }
    }
    Ok(())
}
