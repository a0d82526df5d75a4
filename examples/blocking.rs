//! The blocking client: no async, no `#[tokio::main]`. Writes a day of
//! minute readings through a batching writer, reads them back as rows and
//! as a struct, and lists what is in the database.
//!
//! Uses the server at `INFLUX_URL` when set; otherwise starts a throw-away
//! local `influxd` (install it with `bash tests/support/with-influxd.sh`).
//!
//! ```text
//! bash tests/support/with-influxd.sh cargo run --example blocking
//! ```

#[path = "../tests/support/influxd.rs"]
mod influxd;

use influx_stream::{blocking, Point, Query, WriteOptions};

#[derive(serde::Deserialize)]
struct Reading {
    time: i64,
    room: String,
    celsius: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Keep the throw-away server alive until the end of main.
    let (url, _server) = match std::env::var("INFLUX_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = influxd::Influxd::start()?;
            println!("started a throw-away influxd at {}", server.url());
            (server.url(), Some(server))
        }
    };

    let client = blocking::Client::builder(&url)
        .database("blocking_example")
        .build()?;
    let pong = client.ping()?;
    println!("connected to InfluxDB {} ({})", pong.version, pong.build);
    client.create_database("blocking_example")?;

    // A batching writer: send() blocks only while the queue is full.
    let mut writer = client.writer(WriteOptions::new().max_points(1_000))?;
    let start = 1_700_000_000_000_000_000i64;
    let minute = 60_000_000_000i64;
    for i in 0..1_440 {
        for (room, base) in [("kitchen", 21.0), ("cellar", 12.0)] {
            let t = (i as f64 / 1_440.0 * std::f64::consts::TAU).sin();
            writer.send(
                &Point::new("temperature")
                    .tag("room", room)
                    .field("celsius", base + 2.0 * t)
                    .timestamp(start + i * minute),
            )?;
        }
    }
    writer.close()?; // everything acknowledged, or the first failure
    let stats = writer.stats();
    println!(
        "wrote {} points in {} requests",
        stats.points_written, stats.requests
    );

    // Rows stream in: memory stays bounded by the chunk size.
    let mut warmest = f64::MIN;
    for row in client.query(Query::new("SELECT celsius FROM temperature").chunk_size(500)) {
        let celsius = row?.get("celsius").and_then(|v| v.as_f64()).unwrap_or(0.0);
        warmest = warmest.max(celsius);
    }
    println!("warmest reading: {warmest:.2} °C");

    // Or straight into your own type: 6-hour means by room.
    let means = client.query_as::<Reading>(
        Query::new(
            "SELECT mean(celsius) AS celsius FROM temperature \
             WHERE time >= $start AND time < $end GROUP BY time(6h), room",
        )
        .bind("start", start)
        .bind("end", start + 1_440 * minute),
    );
    for r in means {
        let r = r?;
        println!("  {:>7} {} {:6.2} °C", r.room, r.time, r.celsius);
    }

    println!("measurements: {:?}", client.show_measurements()?);
    println!("series: {:?}", client.show_series(None)?);

    // What a mistake looks like.
    let err = client
        .with_database("no_such_database")
        .write("temperature,room=attic celsius=30")
        .expect_err("the database does not exist");
    println!("writing to a missing database fails with:\n  {err}");

    client.drop_database("blocking_example")?;
    Ok(())
}
