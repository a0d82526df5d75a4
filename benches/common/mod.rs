//! What the benches share: a real influxd with the settings of
//! benches/WORKLOAD.md, loading the narrow workload, a server that
//! discards bodies, CPU time from /proc and pinning to a core. Each bench declares `mod influxd;` and `mod workload;`
//! (tests/support) at its root; this module uses them from there.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

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
    start_server_with(&[])
}

/// An influxd with WORKLOAD.md's server settings and `env` besides.
pub fn start_server_with(env: &[(&str, &str)]) -> influxd::Influxd {
    let mut all = vec![
        ("INFLUXDB_MONITOR_STORE_ENABLED", "false"),
        ("INFLUXDB_DATA_QUERY_LOG_ENABLED", "false"),
        ("INFLUXDB_HTTP_LOG_ENABLED", "false"),
    ];
    all.extend_from_slice(env);
    influxd::Influxd::start_with(&all).unwrap_or_else(|e| panic!("{e}"))
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

/// A server that answers every request with 204 after reading its body.
pub fn discard_server() -> String {
    let listener = match TcpListener::bind("127.0.0.1:0") {
        Ok(l) => l,
        Err(e) => panic!("cannot bind the discard server: {e}"),
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || serve_discard(conn));
        }
    });
    format!("http://{addr}")
}

fn serve_discard(mut conn: TcpStream) {
    let _ = conn.set_nodelay(true);
    let mut buf = vec![0u8; 1 << 20];
    let mut have = 0usize;
    loop {
        // Read until the end of the head.
        let head_end = loop {
            if let Some(p) = buf[..have].windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            match conn.read(&mut buf[have..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => have += n,
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let mut body_have = have - head_end;
        while body_have < len {
            match conn.read(&mut buf[..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => body_have += n,
            }
        }
        // Keep any bytes of the next request that came with this body.
        let extra = body_have - len;
        if extra > 0 {
            let start = if have - head_end >= len {
                head_end + len
            } else {
                0
            };
            buf.copy_within(start..start + extra, 0);
        }
        have = extra;
        if conn
            .write_all(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            .is_err()
        {
            return;
        }
    }
}

/// Restricts every thread of `pid` (`self` for this process) to `cpu`
/// (`taskset -a -p -c`); false when that failed or the machine has fewer
/// than two cores.
pub fn pin(pid: &str, cpu: usize) -> bool {
    let pid = if pid == "self" {
        std::process::id().to_string()
    } else {
        pid.to_string()
    };
    std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
        && std::process::Command::new("taskset")
            .args(["-a", "-c", "-p", &cpu.to_string(), &pid])
            .stdout(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}
