//! Forwards a stream into InfluxDB through the batching writer, printing
//! progress.
//!
//! ```text
//! # a generated stream of metrics (default 500,000 points)
//! bash tests/support/with-influxd.sh cargo run --release --example forward_stream -- 1000000
//! # line protocol from standard input
//! printf 'cpu,host=a usage=0.5\ncpu,host=b usage=0.7\n' | cargo run --example forward_stream -- --stdin
//! ```
//!
//! Uses the server at `INFLUX_URL` (database `INFLUX_DB`, default
//! `forward_stream`) when set; otherwise a throw-away local influxd.

#[path = "../tests/support/influxd.rs"]
mod influxd;

use std::time::{Duration, Instant};

use futures::{stream, StreamExt};
use influx_stream::{Client, Error, Point, WriteOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let from_stdin = args.iter().any(|a| a == "--stdin");
    let total: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(500_000);

    let (url, _server) = match std::env::var("INFLUX_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = influxd::Influxd::start()?;
            eprintln!("started a throw-away influxd at {}", server.url());
            (server.url(), Some(server))
        }
    };
    let db = std::env::var("INFLUX_DB").unwrap_or_else(|_| "forward_stream".into());
    let client = Client::builder(&url).database(&db).build()?;
    client.create_database(&db).await?;

    let writer = client.writer(
        WriteOptions::new()
            .max_points(5_000)
            .max_in_flight(2)
            .flush_interval(Duration::from_millis(200)),
    )?;

    // Progress: a line a second from the writer's counters.
    let progress = writer.clone();
    let started = Instant::now();
    let reporter = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tick.tick().await;
            let s = progress.stats();
            eprintln!(
                "{:>6.1}s  accepted {:>9}  written {:>9}  failed {}  requests {}  retries {}",
                started.elapsed().as_secs_f64(),
                s.points_accepted,
                s.points_written,
                s.points_failed,
                s.requests,
                s.retries
            );
        }
    });

    let stats_handle = writer.clone();
    if from_stdin {
        stdin_lines().forward(writer).await?;
    } else {
        let hosts: Vec<String> = (0..100).map(|i| format!("host_{i}")).collect();
        let t0 = 1_600_000_000_000_000_000i64;
        stream::iter(0..total)
            .map(move |i| {
                Ok::<_, Error>(
                    Point::new("cpu")
                        .tag("host", hosts[(i % 100) as usize].as_str())
                        .field("usage", (i % 1000) as f64 / 10.0)
                        .field("requests", (i % 7919) as i64)
                        .timestamp(t0 + i as i64 * 1_000_000),
                )
            })
            .forward(writer)
            .await?;
    }
    reporter.abort();
    let s = stats_handle.stats();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "wrote {} points in {} requests in {:.2}s ({:.0} points/s); failed {}",
        s.points_written,
        s.requests,
        secs,
        s.points_written as f64 / secs,
        s.points_failed
    );
    Ok(())
}

/// Lines of standard input as a stream of raw line protocol, cut where the
/// server would cut them, each at most 1 MiB.
fn stdin_lines() -> impl futures::Stream<Item = Result<String, Error>> {
    use tokio_util::codec::FramedRead;
    FramedRead::new(
        tokio::io::stdin(),
        influx_stream::LineProtocolCodec::new(1 << 20),
    )
    .take_while(|line| {
        let ok = match line {
            Ok(_) => true,
            Err(e) => {
                eprintln!("reading standard input stopped: {e}");
                false
            }
        };
        futures::future::ready(ok)
    })
    .filter_map(|line| futures::future::ready(line.ok()))
    .filter(|l| futures::future::ready(!l.trim().is_empty()))
    .map(Ok)
}
