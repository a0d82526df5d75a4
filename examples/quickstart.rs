//! Writes a few points to InfluxDB and reads them back.
//!
//! Uses the server at `INFLUX_URL` when set; otherwise starts a throw-away
//! local `influxd` (install it with `bash tests/support/with-influxd.sh`,
//! which the README's command does for you).
//!
//! ```text
//! bash tests/support/with-influxd.sh cargo run --example quickstart
//! ```

#[path = "../tests/support/influxd.rs"]
mod influxd;

use std::time::SystemTime;

use influx_stream::{Client, Point, Query};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Keep the throw-away server alive until the end of main.
    let (url, _server) = match std::env::var("INFLUX_URL") {
        Ok(url) => (url, None),
        Err(_) => {
            let server = influxd::Influxd::start()?;
            println!("started a throw-away influxd at {}", server.url());
            (server.url(), Some(server))
        }
    };

    let client = Client::builder(&url).database("quickstart").build()?;
    let pong = client.ping().await?;
    println!("connected to InfluxDB {} ({})", pong.version, pong.build);

    client.create_database("quickstart").await?;

    let now = SystemTime::now();
    let points: Vec<Point> = ["server01", "server02", "server03"]
        .iter()
        .enumerate()
        .map(|(i, host)| {
            Point::new("cpu")
                .tag("host", *host)
                .tag("region", "eu-west")
                .field("usage", 0.25 * (i + 1) as f64)
                .field("cores", 4 * (i as i64 + 1))
                .timestamp(now)
        })
        .collect();
    client.write(&points[..]).await?;
    // Raw line protocol works too.
    client
        .write("cpu,host=server04,region=us-east usage=0.99,cores=64i")
        .await?;
    println!("wrote {} points", points.len() + 1);

    let json = client
        .query_json(
            Query::new("SELECT usage, cores FROM cpu WHERE region = $region GROUP BY host")
                .bind("region", "eu-west"),
        )
        .await?;
    for series in json["results"][0]["series"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let host = &series["tags"]["host"];
        for row in series["values"].as_array().into_iter().flatten() {
            println!(
                "  host={host} time={} usage={} cores={}",
                row[0], row[1], row[2]
            );
        }
    }

    // What a mistake looks like.
    let err = client
        .with_database("no_such_database")
        .write("cpu usage=1")
        .await
        .expect_err("the database does not exist");
    println!("writing to a missing database fails with:\n  {err}");

    client.drop_database("quickstart").await?;
    Ok(())
}
