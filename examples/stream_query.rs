//! Streams a query's rows to standard output as JSON lines (default) or CSV,
//! in constant memory whatever the size of the result.
//!
//! ```text
//! # against your server
//! INFLUX_URL=http://127.0.0.1:8086 INFLUX_DB=telemetry \
//!     cargo run --release --example stream_query -- 'SELECT * FROM cpu' --csv > cpu.csv
//! # self-contained: a throw-away influxd loaded with N points of the
//! # standard workload (default 100,000), then SELECT * FROM cpu
//! bash tests/support/with-influxd.sh cargo run --release --example stream_query -- --load 1000000 > /dev/null
//! ```
//!
//! A JSON line is `{"name":"cpu","tags":{"host":"a"},"values":{"time":…,"usage":…}}`
//! (series name, tags and columns apart, so that none can hide another); CSV
//! has a header line whenever the columns or tag keys change. `--count` only
//! counts the rows (to measure the stream alone). Progress and a summary go
//! to standard error.

#[path = "../tests/support/influxd.rs"]
mod influxd;
#[path = "../tests/support/workload.rs"]
mod workload;

use std::io::Write;
use std::time::Instant;

use futures::{stream, StreamExt, TryStreamExt};
use influx_stream::{Client, Error, Query, Value, WriteOptions};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut csv = false;
    let mut count_only = false;
    let mut load: Option<u64> = None;
    let mut query = None;
    let mut chunk_size = 10_000;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--csv" => csv = true,
            "--count" => count_only = true,
            "--load" => load = args.next().and_then(|n| n.parse().ok()),
            "--chunk-size" => {
                chunk_size = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(chunk_size)
            }
            _ => query = Some(a),
        }
    }
    let query = query.unwrap_or_else(|| "SELECT * FROM cpu".to_owned());

    let (url, db, _server) = match std::env::var("INFLUX_URL") {
        Ok(url) => (
            url,
            std::env::var("INFLUX_DB").unwrap_or_else(|_| "telemetry".into()),
            None,
        ),
        Err(_) => {
            let server = influxd::Influxd::start()?;
            eprintln!("started a throw-away influxd at {}", server.url());
            load = load.or(Some(100_000));
            (server.url(), "stream_query".to_owned(), Some(server))
        }
    };
    let client = Client::builder(&url).database(&db).build()?;
    if let Some(n) = load {
        client.create_database(&db).await?;
        let t = Instant::now();
        let writer = client.writer(WriteOptions::new().max_points(5_000).max_in_flight(2))?;
        stream::iter((0..n).map(|i| Ok::<_, Error>(workload::narrow(i))))
            .forward(writer)
            .await?;
        eprintln!("loaded {n} points in {:.1}s", t.elapsed().as_secs_f64());
    }

    let started = Instant::now();
    let mut rows = client.query(Query::new(query).chunk_size(chunk_size));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut count = 0u64;
    let mut header_for: Option<std::sync::Arc<influx_stream::query::SeriesMeta>> = None;
    while let Some(row) = rows.try_next().await? {
        if count_only {
            // Only count: measures the stream itself, without formatting.
        } else if csv {
            // A header whenever it changes: a new statement, series shape or
            // set of tag keys.
            let changed = match &header_for {
                Some(m) if std::sync::Arc::ptr_eq(m, row.meta()) => false,
                Some(m) => {
                    m.columns() != row.columns()
                        || !m
                            .tags()
                            .iter()
                            .map(|(k, _)| k)
                            .eq(row.tags().iter().map(|(k, _)| k))
                }
                None => true,
            };
            if changed {
                write!(out, "name")?;
                for (k, _) in row.tags() {
                    write!(out, ",{}", csv_field(k))?;
                }
                for c in row.columns() {
                    write!(out, ",{}", csv_field(c))?;
                }
                writeln!(out)?;
            }
            header_for = Some(row.meta().clone());
            write!(out, "{}", csv_field(row.series_name().unwrap_or("")))?;
            for (_, v) in row.tags() {
                write!(out, ",{}", csv_field(v))?;
            }
            for v in row.values() {
                write!(out, ",")?;
                write_csv_value(&mut out, v)?;
            }
            writeln!(out)?;
        } else {
            // Series name, tags and columns kept apart: a column may be
            // called `name` or share a tag key.
            let tags: serde_json::Map<_, _> = row
                .tags()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().into()))
                .collect();
            let values: serde_json::Map<_, _> = row
                .columns()
                .iter()
                .zip(row.values())
                .map(|(c, v)| (c.clone(), json_value(v)))
                .collect();
            let obj = serde_json::json!({
                "name": row.series_name(),
                "tags": tags,
                "values": values,
            });
            serde_json::to_writer(&mut out, &obj)?;
            out.write_all(b"\n")?;
        }
        count += 1;
        if count % 1_000_000 == 0 {
            eprintln!("{count} rows, {:.1}s", started.elapsed().as_secs_f64());
        }
    }
    out.flush()?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{count} rows ({} MB of response) in {secs:.2}s: {:.0} rows/s",
        rows.bytes_received() / 1_000_000,
        count as f64 / secs
    );
    Ok(())
}

fn json_value(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Integer(i) => (*i).into(),
        Value::UInteger(u) => (*u).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Into::into)
            .unwrap_or_default(),
        Value::String(s) => s.as_str().into(),
        Value::Time(t) => (*t).into(),
        other => other.as_str().map(Into::into).unwrap_or_default(),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn write_csv_value(out: &mut impl Write, v: &Value) -> std::io::Result<()> {
    match v {
        Value::Null => Ok(()),
        Value::Bool(b) => write!(out, "{b}"),
        Value::Integer(i) => write!(out, "{i}"),
        Value::UInteger(u) => write!(out, "{u}"),
        Value::Float(f) => write!(out, "{f}"),
        Value::Time(t) => write!(out, "{t}"),
        other => write!(out, "{}", csv_field(other.as_str().unwrap_or(""))),
    }
}
