//! Writes a few points to InfluxDB and reads them back.
//!
//! Uses the server at `INFLUX_URL` when set; otherwise starts a throw-away
//! local `influxd` (install it with `bash tests/support/with-influxd.sh`,
//! which the README's command does for you). With `INFLUX_URL` these apply
//! too: `INFLUX_TOKEN` (sent as `Authorization: Token`), `INFLUX_DATABASE`
//! (default `quickstart`), `INFLUX_ORG` (write through 2.x's
//! `/api/v2/write` to the bucket `INFLUX_DATABASE`) and `INFLUX_CA_CERT` (a
//! PEM file of the CA of an `https://` server the system does not trust).
//!
//! ```text
//! bash tests/support/with-influxd.sh cargo run --example quickstart
//! INFLUX_URL=https://influx.example.com:8086 INFLUX_TOKEN=... cargo run --example quickstart
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

    let database = std::env::var("INFLUX_DATABASE").unwrap_or_else(|_| "quickstart".into());
    let mut builder = Client::builder(&url).database(&database);
    if let Ok(token) = std::env::var("INFLUX_TOKEN") {
        builder = builder.token(token);
    }
    if let Ok(org) = std::env::var("INFLUX_ORG") {
        // InfluxDB 2.x or Cloud: write to the bucket INFLUX_DATABASE names.
        builder = builder.write_api(influx_stream::WriteApi::v2(org));
    }
    if let Ok(path) = std::env::var("INFLUX_CA_CERT") {
        let pem = std::fs::read(&path)?;
        builder = builder.add_root_certificate(influx_stream::Certificate::from_pem(&pem)?);
    }
    let client = builder.build()?;
    let pong = client.ping().await?;
    println!(
        "connected to InfluxDB {} ({}) at {url}",
        pong.version, pong.build
    );

    // 2.x, Cloud and 3.x have no CREATE DATABASE over /query: there the
    // database (bucket, mapped for 1.x clients) must exist already.
    if let Err(e) = client.create_database(&database).await {
        println!("could not create the database {database:?} ({e}); using it as it is");
    }

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
    // What a mistake looks like (servers that create databases on first
    // write, such as 3.x, take it).
    match client
        .with_database("no_such_database")
        .write("cpu usage=1")
        .await
    {
        Err(err) => println!("writing to a missing database fails with:\n  {err}"),
        Ok(()) => println!("this server created the database no_such_database on write"),
    }

    if std::env::var("INFLUX_URL").is_err() {
        client.drop_database(&database).await?;
    }
    Ok(())
}
