//! Writes an Arrow RecordBatch to InfluxDB, reads it back as RecordBatches
//! and prints them with arrow's pretty printer.
//!
//! Uses the server at `INFLUX_URL` when set; otherwise starts a throw-away
//! local `influxd` (install it with `bash tests/support/with-influxd.sh`).
//!
//! ```text
//! bash tests/support/with-influxd.sh cargo run --example arrow --features arrow
//! ```

#[path = "../tests/support/influxd.rs"]
mod influxd;

use std::sync::Arc;

use futures::TryStreamExt;
use influx_stream::arrow::arrow_array::types::Int32Type;
use influx_stream::arrow::arrow_array::{
    ArrayRef, DictionaryArray, Float64Array, Int64Array, RecordBatch, TimestampSecondArray,
};
use influx_stream::arrow::ArrowWrite;
use influx_stream::{Client, Query};

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
    let client = Client::builder(&url).database("arrow_example").build()?;
    client.create_database("arrow_example").await?;

    // Six rows, two hosts; the last row has no field value at all.
    let t0 = 1_704_067_200; // 2024-01-01T00:00:00Z
    let host: DictionaryArray<Int32Type> = [
        "server01", "server02", "server01", "server02", "server01", "server02",
    ]
    .into_iter()
    .collect();
    let batch = RecordBatch::try_from_iter([
        (
            "time",
            Arc::new(TimestampSecondArray::from_iter_values(
                (0..6).map(|i| t0 + i / 2 * 60),
            )) as ArrayRef,
        ),
        ("host", Arc::new(host) as ArrayRef),
        (
            "usage",
            Arc::new(Float64Array::from(vec![
                Some(0.25),
                Some(0.5),
                Some(12.0),
                Some(0.75),
                Some(1.0),
                None,
            ])) as ArrayRef,
        ),
        (
            "cores",
            Arc::new(Int64Array::from(vec![
                Some(4),
                Some(8),
                Some(4),
                Some(8),
                Some(4),
                None,
            ])) as ArrayRef,
        ),
    ])?;
    let points = ArrowWrite::new(&batch)
        .measurement("cpu")
        .time_column("time")
        .tag_columns(["host"]);
    let summary = points.summary()?;
    client.write(&points).await?;
    println!(
        "wrote {} of {} rows ({} skipped: every field null)",
        summary.points, summary.rows, summary.skipped_rows
    );

    // One batch per series (and per chunk of chunk_size rows).
    let batches: Vec<RecordBatch> = client
        .query_arrow(Query::new("SELECT usage, cores FROM cpu GROUP BY host").chunk_size(10_000))
        .try_collect()
        .await?;
    for field in batches[0].schema().fields() {
        println!("  {}: {}", field.name(), field.data_type());
    }
    println!("{}", arrow_cast::pretty::pretty_format_batches(&batches)?);

    client.drop_database("arrow_example").await?;
    Ok(())
}
