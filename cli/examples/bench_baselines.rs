//! Baselines for the command-line tool's figures, in the same process
//! shape as the tool (a multi-thread Tokio runtime):
//!
//! - `writer URL DB [IN_FLIGHT]`: the library's `Writer` fed the standard
//!   workload (benches/WORKLOAD.md, 1,000,000 narrow points) from memory,
//!   in batches of 5,000, as `influx-stream write` sends them.
//! - `drain URL DB QUERY`: the library's row stream drained without
//!   printing: the plain streaming read `influx-stream query` is compared
//!   with.
//!
//! Prints wall time, rate and this process's CPU seconds (user + system).
//! Run with `cargo run --release -p influx-stream-cli --example bench_baselines -- ...`.

#[path = "../../tests/support/workload.rs"]
mod workload;

use std::time::Instant;

use futures::{stream, StreamExt};
use influx_stream::{Client, Error, Query, WriteOptions};

/// User + system CPU seconds of this process so far, from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line: 11 and 12 here.
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    match arg(0) {
        "writer" => {
            let client = Client::builder(arg(1)).database(arg(2)).build()?;
            let in_flight = arg(3).parse().unwrap_or(1);
            let rows: Vec<_> = (0..workload::POINTS).map(workload::narrow).collect();
            let writer = client.writer(
                WriteOptions::new()
                    .max_points(5_000)
                    .max_in_flight(in_flight),
            )?;
            let stats = writer.clone();
            let (t, cpu) = (Instant::now(), cpu_seconds());
            stream::iter(rows.iter().map(Ok::<_, Error>))
                .forward(writer)
                .await?;
            let el = t.elapsed().as_secs_f64();
            let s = stats.stats();
            println!(
                "writer from memory: {} points in {el:.2} s = {:.0} points/s, client CPU {:.2} s",
                s.points_written,
                s.points_written as f64 / el,
                cpu_seconds() - cpu
            );
        }
        "drain" => {
            let client = Client::builder(arg(1)).database(arg(2)).build()?;
            let (t, cpu) = (Instant::now(), cpu_seconds());
            let mut rows = client.query(Query::new(arg(3)));
            let mut n = 0u64;
            while let Some(row) = rows.next().await {
                row?;
                n += 1;
            }
            let el = t.elapsed().as_secs_f64();
            println!(
                "plain streaming read: {n} rows in {el:.2} s = {:.0} rows/s, client CPU {:.2} s",
                n as f64 / el,
                cpu_seconds() - cpu
            );
        }
        _ => eprintln!("usage: bench_baselines writer URL DB [IN_FLIGHT] | drain URL DB QUERY"),
    }
    Ok(())
}
