//! What the benches against a real influxd share: the server with the
//! settings of benches/WORKLOAD.md, loading the narrow workload, and CPU
//! time from /proc. Each bench declares `mod influxd;` and `mod workload;`
//! (tests/support) at its root; this module uses them from there.
#![allow(dead_code)]

use futures::{stream, StreamExt};
use influx_stream::{Client, Error, WriteOptions};

use crate::{influxd, workload};

/// CPU seconds (user + system) of `/proc/<pid>`: a process id, `self` or
/// `thread-self`.
pub fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

/// An influxd with WORKLOAD.md's server settings.
pub fn start_server() -> influxd::Influxd {
    influxd::Influxd::start_with(&[
        ("INFLUXDB_MONITOR_STORE_ENABLED", "false"),
        ("INFLUXDB_DATA_QUERY_LOG_ENABLED", "false"),
        ("INFLUXDB_HTTP_LOG_ENABLED", "false"),
    ])
    .unwrap_or_else(|e| panic!("{e}"))
}

/// A current-thread runtime: the client on one core.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Creates the client's database and writes the 1M narrow points into it.
pub fn load_narrow(rt: &tokio::runtime::Runtime, client: &Client, db: &str) {
    rt.block_on(async {
        client.create_database(db).await?;
        let writer = client.writer(WriteOptions::new().max_points(5_000).max_in_flight(2))?;
        stream::iter((0..workload::POINTS).map(|i| Ok::<_, Error>(workload::narrow(i))))
            .forward(writer)
            .await
    })
    .unwrap_or_else(|e| panic!("loading the workload failed: {e}"));
}
