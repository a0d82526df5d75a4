//! `Client::query_body` against a real influxd: the answer in the format
//! asked for, undecoded.

mod support;

use influx_stream::{Client, Point, Query};
use support::influxd::{unique_db, Influxd};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn body_of(
    client: &Client,
    q: &str,
    accept: &'static str,
) -> Result<(String, Vec<u8>), influx_stream::Error> {
    let mut body = client
        .query_body(Query::new(q).chunk_size(2), accept)
        .await?;
    let content_type = body.content_type().to_owned();
    let mut all = Vec::new();
    while let Some(piece) = body.next_bytes().await? {
        all.extend_from_slice(&piece);
    }
    Ok((content_type, all))
}

#[tokio::test]
async fn the_answer_comes_in_the_format_asked_for() -> TestResult {
    let db = unique_db("body");
    let client = Client::builder(Influxd::shared().url())
        .database(&db)
        .gzip(true)
        .build()?;
    client.create_database(&db).await?;
    let points: Vec<Point> = (0..5i64)
        .map(|i| Point::new("m").tag("host", "a").field("v", i).timestamp(i))
        .collect();
    client.write(&points[..]).await?;

    // MessagePack, uncompressed though the client asks for gzip: five
    // rows in chunks of two are three maps, one after the other.
    let (ct, body) = body_of(&client, "SELECT v FROM m", "application/x-msgpack").await?;
    assert_eq!(ct, "application/x-msgpack");
    let maps = body.windows(9).filter(|w| w == b"\x81\xa7results").count();
    assert!(body.starts_with(b"\x81\xa7results"), "{body:?}");
    assert_eq!(maps, 3, "{body:?}");

    // CSV, and JSON when that is what is asked for.
    let (ct, body) = body_of(&client, "SELECT v FROM m", "application/csv").await?;
    assert_eq!(ct, "text/csv");
    assert!(String::from_utf8(body)?.starts_with("name,tags,time,v\n"));
    let (ct, body) = body_of(&client, "SELECT v FROM m", "application/json").await?;
    assert_eq!(ct, "application/json");
    assert!(String::from_utf8(body)?.starts_with("{\"results\":"));

    // A query the server refuses is an error, as with Client::query.
    let e = body_of(&client, "SELECT FROM", "application/x-msgpack")
        .await
        .err()
        .ok_or("a bad query was answered")?;
    assert!(e.to_string().contains("error parsing query"), "{e}");
    Ok(())
}
