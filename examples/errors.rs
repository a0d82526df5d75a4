//! Shows the errors users get for the three usual mistakes: the server is
//! unreachable, the database is missing, the credentials are wrong.
//! Starts its own throw-away influxd with authentication enabled.
//!
//! ```text
//! bash tests/support/with-influxd.sh cargo run --example errors
//! ```

#[path = "../tests/support/influxd.rs"]
mod influxd;

use influx_stream::Client;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = influxd::Influxd::start_with(&[("INFLUXDB_HTTP_AUTH_ENABLED", "true")])?;
    let anonymous = Client::builder(server.url()).build()?;
    anonymous
        .query_json("CREATE USER admin WITH PASSWORD 'secret' WITH ALL PRIVILEGES")
        .await?;

    let unreachable = Client::builder("http://127.0.0.1:1").build()?;
    if let Err(e) = unreachable.ping().await {
        println!("server unreachable:\n  {e}\n");
    }

    let admin = Client::builder(server.url())
        .basic_auth("admin", "secret")
        .database("no_such_database")
        .build()?;
    if let Err(e) = admin.write("cpu usage=1").await {
        println!("database missing:\n  {e}\n");
    }

    let wrong = Client::builder(server.url())
        .basic_auth("admin", "not-the-password")
        .database("telemetry")
        .build()?;
    if let Err(e) = wrong.write("cpu usage=1").await {
        println!("wrong credentials:\n  {e}");
    }
    Ok(())
}
