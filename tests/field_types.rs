//! Float fields read as floats (issue 15, part 4), against a real influxd:
//! influxd prints a whole float as `12`, and the client retypes it by the
//! field types it learns from `SHOW FIELD KEYS`.

mod support;

use futures::TryStreamExt;
use influx_stream::query::Chunk;
use influx_stream::{Client, Error, Point, Query, Row, Value};
use support::influxd::{unique_db, Influxd};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn fresh_db(server: &Influxd, prefix: &str) -> Result<Client, Error> {
    let db = unique_db(prefix);
    let client = Client::builder(server.url()).database(&db).build()?;
    client.create_database(&db).await?;
    Ok(client)
}

/// `t`: a float field `f` written as whole floats, an integer field `i`,
/// a tag `host`.
async fn write_t(client: &Client) -> Result<(), Error> {
    let points: Vec<Point> = (0..4i64)
        .map(|k| {
            Point::new("t")
                .tag("host", if k % 2 == 0 { "a" } else { "b" })
                .field("f", 12.0 + k as f64)
                .field("i", 12 + k)
                .timestamp(k + 1)
        })
        .collect();
    client.write(&points[..]).await
}

fn column<'a>(rows: &'a [Row], name: &str) -> Vec<Option<&'a Value>> {
    rows.iter().map(|r| r.get(name)).collect()
}

#[tokio::test]
async fn whole_floats_read_as_floats_and_integers_stay_integers() -> TestResult {
    let client = fresh_db(Influxd::shared(), "ft_rows").await?;
    write_t(&client).await?;

    let rows: Vec<Row> = client
        .query(Query::new("SELECT * FROM t").chunk_size(3))
        .try_collect()
        .await?;
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0].columns(), ["time", "f", "host", "i"]);
    let f = [12.0, 13.0, 14.0, 15.0].map(Value::Float);
    let i = [12, 13, 14, 15].map(Value::Integer);
    assert_eq!(column(&rows, "f"), f.iter().map(Some).collect::<Vec<_>>());
    assert_eq!(column(&rows, "i"), i.iter().map(Some).collect::<Vec<_>>());
    assert_eq!(rows[1].get("host"), Some(&Value::String("b".into())));

    // The same by series (GROUP BY): every series is retyped.
    let rows: Vec<Row> = client
        .query("SELECT f, i FROM t GROUP BY host")
        .try_collect()
        .await?;
    let by_host: Vec<(Option<&str>, Option<&Value>, Option<&Value>)> = rows
        .iter()
        .map(|r| (r.tag("host"), r.get("f"), r.get("i")))
        .collect();
    assert_eq!(
        by_host,
        [
            (Some("a"), Some(&f[0]), Some(&i[0])),
            (Some("a"), Some(&f[2]), Some(&i[2])),
            (Some("b"), Some(&f[1]), Some(&i[1])),
            (Some("b"), Some(&f[3]), Some(&i[3])),
        ]
    );

    // Chunks as sent, retyped the same way.
    let chunks: Vec<Chunk> = client
        .query_chunks(Query::new("SELECT f, i FROM t").chunk_size(3))
        .try_collect()
        .await?;
    let values: Vec<Vec<Value>> = chunks
        .into_iter()
        .filter_map(|c| match c {
            Chunk::Series(s) => Some(s.values),
            _ => None,
        })
        .flatten()
        .collect();
    let want: Vec<Vec<Value>> = (0..4)
        .map(|k| vec![Value::Time(k as i64 + 1), f[k].clone(), i[k].clone()])
        .collect();
    assert_eq!(values, want);
    Ok(())
}

#[tokio::test]
async fn the_switch_gives_the_json_types() -> TestResult {
    let server = Influxd::shared();
    let client = fresh_db(server, "ft_raw").await?;
    write_t(&client).await?;
    let raw_f = [12, 13, 14, 15].map(Value::Integer);

    let rows: Vec<Row> = client
        .query(Query::new("SELECT f, i FROM t").field_types(false))
        .try_collect()
        .await?;
    assert_eq!(
        column(&rows, "f"),
        raw_f.iter().map(Some).collect::<Vec<_>>()
    );

    let raw_client = Client::builder(server.url())
        .database(client.database().ok_or("no database")?)
        .field_types(false)
        .build()?;
    let chunks: Vec<Chunk> = raw_client
        .query_chunks("SELECT f FROM t")
        .try_collect()
        .await?;
    let Some(Chunk::Series(series)) = chunks.first() else {
        return Err(format!("no series: {chunks:?}").into());
    };
    let f: Vec<&Value> = series.values.iter().map(|r| &r[1]).collect();
    assert_eq!(f, raw_f.iter().collect::<Vec<_>>());
    // The query's setting wins over the client's.
    let rows: Vec<Row> = raw_client
        .query(Query::new("SELECT f FROM t").field_types(true))
        .try_collect()
        .await?;
    assert_eq!(rows[0].get("f"), Some(&Value::Float(12.0)));
    Ok(())
}

#[tokio::test]
async fn aggregates_and_listings_follow_the_arrow_rule() -> TestResult {
    let client = fresh_db(Influxd::shared(), "ft_agg").await?;
    write_t(&client).await?;
    let rows: Vec<Row> = client
        .query("SELECT count(i), sum(i), mean(f), max(i) AS i, max(f) AS f, sum(i) AS i2 FROM t")
        .try_collect()
        .await?;
    assert_eq!(rows.len(), 1);
    let got: Vec<&Value> = rows[0].values()[1..].iter().collect();
    assert_eq!(
        got,
        [
            // Undeclared: numbers are floats, whole or not.
            &Value::Float(4.0),
            &Value::Float(54.0),
            &Value::Float(13.5),
            // Named like a field, and fitting its type: the field's type.
            &Value::Integer(15),
            &Value::Float(15.0),
            &Value::Float(54.0),
        ]
    );
    // `mean(i) AS i` holds a fraction: the integer type does not fit, so
    // the column is read as a float column.
    let rows: Vec<Row> = client
        .query("SELECT mean(i) AS i FROM t WHERE time >= 0 AND time <= 5 GROUP BY time(2ns) fill(none)")
        .try_collect()
        .await?;
    let means: Vec<Option<&Value>> = column(&rows, "i");
    assert_eq!(
        means,
        [
            Some(&Value::Float(12.0)),
            Some(&Value::Float(13.5)),
            Some(&Value::Float(15.0))
        ]
    );
    // Listings keep the JSON's types, and a statement after them is typed.
    let rows: Vec<Row> = client
        .query("SHOW FIELD KEYS FROM t; SELECT f FROM t LIMIT 1")
        .try_collect()
        .await?;
    let listing: Vec<(Option<&str>, Option<&str>)> = rows
        .iter()
        .filter(|r| r.statement_id() == 0)
        .map(|r| {
            (
                r.get("fieldKey").and_then(Value::as_str),
                r.get("fieldType").and_then(Value::as_str),
            )
        })
        .collect();
    assert_eq!(
        listing,
        [(Some("f"), Some("float")), (Some("i"), Some("integer"))]
    );
    let last = rows.last().ok_or("no rows")?;
    assert_eq!(
        (last.statement_id(), last.get("f")),
        (1, Some(&Value::Float(12.0)))
    );
    Ok(())
}

#[tokio::test]
async fn other_databases_and_new_fields_are_learnt() -> TestResult {
    let server = Influxd::shared();
    let client = fresh_db(server, "ft_home").await?;
    let other = fresh_db(server, "ft_other").await?;
    let other_db = other.database().ok_or("no database")?.to_owned();
    // The same measurement with other types in the client's database.
    client.write("t f=1i,g=\"s\" 1").await?;
    other.write("t f=1,g=2 1").await?;

    let rows: Vec<Row> = client
        .query(format!(
            "SELECT f, g FROM {}..t",
            influx_stream::quote_ident(&other_db)
        ))
        .try_collect()
        .await?;
    assert_eq!(
        rows[0].values()[1..],
        [Value::Float(1.0), Value::Float(2.0)]
    );
    let rows: Vec<Row> = client.query("SELECT f, g FROM t").try_collect().await?;
    assert_eq!(
        rows[0].values()[1..],
        [Value::Integer(1), Value::String("s".into())]
    );

    // A field that appears after the types were learnt.
    let rows: Vec<Row> = other.query("SELECT * FROM t").try_collect().await?;
    assert_eq!(rows.len(), 1);
    other.write("t h=3 2").await?;
    let rows: Vec<Row> = other.query("SELECT h FROM t").try_collect().await?;
    assert_eq!(column(&rows, "h"), [Some(&Value::Float(3.0))]);
    Ok(())
}

/// The server's count of `/query` requests (`SHOW STATS` counts itself).
async fn query_requests(client: &Client) -> Result<i64, Box<dyn std::error::Error>> {
    let json = client.query_json("SHOW STATS FOR 'httpd'").await?;
    let series = &json["results"][0]["series"][0];
    let at = series["columns"]
        .as_array()
        .and_then(|c| c.iter().position(|c| c == "queryReq"))
        .ok_or("no queryReq")?;
    series["values"][0][at]
        .as_i64()
        .ok_or_else(|| "queryReq is not a number".into())
}

/// One extra request per measurement and client; none with the switch off
/// or once the types are known.
#[tokio::test]
async fn the_types_cost_one_request_per_measurement_and_client() -> TestResult {
    let server = Influxd::start()?;
    let client = fresh_db(&server, "ft_cost").await?;
    write_t(&client).await?;
    let mut requests = Vec::new();
    let mut last = query_requests(&client).await?;
    let run = |c: Client, q: Query| async move {
        let rows: Vec<Row> = c.query(q).try_collect().await?;
        Ok::<_, Error>(rows.len())
    };
    for (c, q) in [
        (client.clone(), Query::new("SELECT * FROM t")),
        (client.clone(), Query::new("SELECT * FROM t")),
        // A clone shares the types.
        (
            client.with_database(client.database().unwrap_or_default()),
            Query::new("SELECT f FROM t"),
        ),
        (
            client.clone(),
            Query::new("SELECT f FROM t").field_types(false),
        ),
        // `mean` is no field: asked about once, then remembered.
        (client.clone(), Query::new("SELECT mean(f) FROM t")),
        (client.clone(), Query::new("SELECT mean(f) FROM t")),
        // Another client asks for itself.
        (
            Client::builder(server.url())
                .database(client.database().unwrap_or_default())
                .build()?,
            Query::new("SELECT * FROM t"),
        ),
    ] {
        let rows = run(c, q).await?;
        assert!(rows > 0);
        let now = query_requests(&client).await?;
        // Minus the query and the SHOW STATS.
        requests.push(now - last - 2);
        last = now;
    }
    assert_eq!(requests, [1, 0, 0, 0, 1, 0, 1]);
    Ok(())
}

#[cfg(feature = "blocking")]
#[test]
fn the_blocking_client_reads_floats_as_floats() -> TestResult {
    let server = Influxd::shared();
    let db = unique_db("ft_blocking");
    let client = influx_stream::blocking::Client::builder(server.url())
        .database(&db)
        .build()?;
    client.create_database(&db)?;
    client.write("t f=12.0,i=12i 1\nt f=12.5,i=13i 2")?;
    let rows: Vec<Row> = client
        .query("SELECT f, i FROM t")
        .collect::<Result<_, _>>()?;
    let got: Vec<&[Value]> = rows.iter().map(|r| &r.values()[1..]).collect();
    assert_eq!(
        got,
        [
            &[Value::Float(12.0), Value::Integer(12)][..],
            &[Value::Float(12.5), Value::Integer(13)][..]
        ]
    );
    let raw = influx_stream::blocking::Client::builder(server.url())
        .database(&db)
        .field_types(false)
        .build()?;
    let rows: Vec<Row> = raw.query("SELECT f FROM t").collect::<Result<_, _>>()?;
    assert_eq!(rows[0].get("f"), Some(&Value::Integer(12)));
    let chunks: Vec<Chunk> = client
        .query_chunks("SELECT f FROM t")
        .collect::<Result<_, _>>()?;
    let Some(Chunk::Series(series)) = chunks.first() else {
        return Err(format!("no series: {chunks:?}").into());
    };
    assert_eq!(series.values[0][1], Value::Float(12.0));
    Ok(())
}
