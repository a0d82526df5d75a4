//! The client against a real influxd: ping, writes, JSON queries, errors,
//! authentication, and tricky points read back field by field.

mod support;

use influx_stream::{Client, Error, FieldValue, Point, Precision, Query};
use serde_json::Value as Json;
use support::influxd::{unique_db, Influxd};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn server() -> &'static Influxd {
    Influxd::shared()
}

async fn fresh_db(prefix: &str) -> Result<Client, Error> {
    let db = unique_db(prefix);
    let client = Client::builder(server().url()).database(&db).build()?;
    client.create_database(&db).await?;
    Ok(client)
}

/// `SELECT *` of one measurement as (column -> value) maps, one per row.
async fn select_all(
    client: &Client,
    measurement: &str,
) -> Result<Vec<serde_json::Map<String, Json>>, Error> {
    let q = format!("SELECT * FROM {}", influx_stream::quote_ident(measurement));
    let json = client.query_json(q).await?;
    let mut rows = Vec::new();
    let series = json["results"][0]["series"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for s in series {
        let cols: Vec<String> = s["columns"]
            .as_array()
            .map(|c| {
                c.iter()
                    .map(|v| v.as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default();
        for vals in s["values"].as_array().cloned().unwrap_or_default() {
            let mut row = serde_json::Map::new();
            for (c, v) in cols
                .iter()
                .zip(vals.as_array().cloned().unwrap_or_default())
            {
                row.insert(c.clone(), v);
            }
            rows.push(row);
        }
    }
    Ok(rows)
}

#[tokio::test]
async fn ping_reports_version_and_build() -> TestResult {
    let client = Client::builder(server().url()).build()?;
    let pong = client.ping().await?;
    assert!(pong.version.starts_with("1."), "{pong:?}");
    assert_eq!(pong.build, "OSS");
    Ok(())
}

#[tokio::test]
async fn write_and_read_back_every_input_kind() -> TestResult {
    let client = fresh_db("kinds").await?;
    let p = |i: i64| Point::new("m").tag("k", "v").field("i", i).timestamp(i);
    client.write(p(1)).await?;
    client.write(&p(2)).await?;
    client.write(&[p(3), p(4)][..]).await?;
    client.write(vec![p(5)]).await?;
    client.write_iter((6..=7).map(p)).await?;
    client.write("m,k=v i=8i 8").await?;
    client.write(String::from("m,k=v i=9i 9\n")).await?;
    client
        .write(bytes::Bytes::from_static(b"m,k=v i=10i 10\n"))
        .await?;
    client.write(Vec::<Point>::new()).await?; // nothing to send is fine
    let rows = select_all(&client, "m").await?;
    let got: Vec<i64> = rows.iter().filter_map(|r| r["i"].as_i64()).collect();
    assert_eq!(got, (1..=10).collect::<Vec<_>>());
    let times: Vec<i64> = rows.iter().filter_map(|r| r["time"].as_i64()).collect();
    assert_eq!(times, (1..=10).collect::<Vec<_>>());
    Ok(())
}

fn tricky_floats() -> Vec<f64> {
    let mut v = vec![
        0.0,
        -0.0,
        1.0,
        12.0,
        -1.5,
        0.1 + 0.2,
        1e21,
        1e-7,
        5e-324,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
        1e300,
        123456789012345680.0,
        9007199254740993.0,
        std::f64::consts::PI,
    ];
    // Full-precision values as the standard workload makes them.
    let mut x = 0u64;
    for _ in 0..40 {
        x = x.wrapping_add(0x9E3779B97F4A7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
        z ^= z >> 31;
        v.push(1.0 + 99.0 * ((z >> 11) as f64 / (1u64 << 53) as f64));
    }
    v
}

#[tokio::test]
async fn floats_and_integers_read_back_identical() -> TestResult {
    let client = fresh_db("numbers").await?;
    let floats = tricky_floats();
    let ints = [i64::MIN, i64::MAX, 0, -1, 1, 1 << 53];
    let mut points = Vec::new();
    for (i, f) in floats.iter().enumerate() {
        points.push(
            Point::new("n")
                .field("f", *f)
                .field("i", ints[i % ints.len()])
                .timestamp(i as i64),
        );
    }
    client.write(&points[..]).await?;
    let rows = select_all(&client, "n").await?;
    assert_eq!(rows.len(), floats.len());
    for (i, row) in rows.iter().enumerate() {
        let got = row["f"].as_f64().ok_or("f is not a number")?;
        assert_eq!(
            got.to_bits(),
            floats[i].to_bits(),
            "float {} read back as {} ({})",
            floats[i],
            got,
            row["f"]
        );
        assert_eq!(row["i"].as_i64(), Some(ints[i % ints.len()]));
    }
    Ok(())
}

#[tokio::test]
async fn every_escapable_character_in_every_position() -> TestResult {
    let client = fresh_db("escapes").await?;
    let names = [
        "plain",
        "comma,here",
        "space here",
        "equals=here",
        "quote\"here",
        "back\\slash",
        "even\\\\,run",
        "inner\\\\x",
        "unicodé ☃ 中文",
        "all ,=\"\\\\x",
        "tab\there",
    ];
    for bad in ["trailing\\", "even\\\\"] {
        let p = Point::new("m").tag(bad, "v").field("n", 1i64);
        let err = client.write(&p).await.expect_err(bad);
        assert!(
            err.is_encode() && err.to_string().contains("backslash"),
            "{err}"
        );
    }
    let measurement = "esc,m x=\"\\y";
    for (i, name) in names.iter().enumerate() {
        let p = Point::new(measurement)
            .tag(format!("tag {name}"), format!("value {name}"))
            .field(format!("field {name}"), format!("string {name} \n newline"))
            .field("n", i as i64)
            .timestamp(i as i64);
        client.write(&p).await?;
    }
    let rows = select_all(&client, measurement).await?;
    assert_eq!(rows.len(), names.len());
    for (i, name) in names.iter().enumerate() {
        let row = &rows[i];
        assert_eq!(row["n"].as_i64(), Some(i as i64));
        assert_eq!(
            row.get(&format!("tag {name}")).and_then(Json::as_str),
            Some(format!("value {name}").as_str()),
            "tag of {name:?}: {row:?}"
        );
        assert_eq!(
            row.get(&format!("field {name}")).and_then(Json::as_str),
            Some(format!("string {name} \n newline").as_str()),
            "field of {name:?}: {row:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn empty_tag_values_are_left_out() -> TestResult {
    let client = fresh_db("emptytag").await?;
    client
        .write(
            Point::new("m")
                .tag("host", "")
                .tag("dc", "x")
                .field("v", 1i64)
                .timestamp(1),
        )
        .await?;
    let json = client.query_json("SHOW TAG KEYS FROM m").await?;
    let keys = json["results"][0]["series"][0]["values"].to_string();
    assert_eq!(keys, r#"[["dc"]]"#);
    let json = client
        .query_json("SELECT count(v) FROM m WHERE host = ''")
        .await?;
    assert_eq!(json["results"][0]["series"][0]["values"][0][1], 1);
    Ok(())
}

#[tokio::test]
async fn precision_divides_timestamps_and_sets_the_parameter() -> TestResult {
    let client = fresh_db("precision").await?;
    for (i, p) in [
        Precision::Seconds,
        Precision::Milliseconds,
        Precision::Microseconds,
        Precision::Hours,
    ]
    .into_iter()
    .enumerate()
    {
        let c = client.with_precision(p);
        let ts = 1_600_000_000_123_456_789i64 + i as i64 * 7_200_000_000_000;
        c.write(
            Point::new("p")
                .tag("unit", p.as_str())
                .field("v", 1i64)
                .timestamp(ts),
        )
        .await?;
        let json = client
            .query_json(Query::new("SELECT v FROM p WHERE unit = $u").bind("u", p.as_str()))
            .await?;
        let got = json["results"][0]["series"][0]["values"][0][0].as_i64();
        let unit = p.nanos_per_unit();
        assert_eq!(got, Some(ts / unit * unit), "{p:?}");
    }
    Ok(())
}

#[tokio::test]
async fn unsigned_fields_on_a_1x_server() -> TestResult {
    let client = fresh_db("unsigned").await?;
    let err = client
        .write(Point::new("u").field("v", 7u64).timestamp(1))
        .await
        .expect_err("1.6.7 has no unsigned type");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert!(err.to_string().contains("unsigned_as_integer"), "{err}");
    assert_eq!(err.points_dropped(), Some(1));

    let c = Client::builder(server().url())
        .database(client.database().unwrap_or_default())
        .unsigned_as_integer(true)
        .build()?;
    c.write(Point::new("u").field("v", 7u64).timestamp(1))
        .await?;
    let rows = select_all(&c, "u").await?;
    assert_eq!(rows[0]["v"].as_i64(), Some(7));
    let too_big = c.write(Point::new("u").field("v", u64::MAX)).await;
    assert!(too_big.is_err_and(|e| e.is_encode()));
    Ok(())
}

#[tokio::test]
async fn invalid_points_are_refused_before_sending() -> TestResult {
    let client = fresh_db("invalid").await?;
    let good = Point::new("m").field("v", 1i64).timestamp(1);
    let bad = Point::new("m").field("v", f64::NAN).timestamp(2);
    let err = client.write(&[good, bad][..]).await.expect_err("NaN");
    assert!(err.is_encode());
    assert!(err.to_string().contains("\"m\""), "{err}");
    // Nothing of the request was sent: the good point is not there either.
    assert!(select_all(&client, "m").await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn one_client_serves_many_databases() -> TestResult {
    let a = fresh_db("many_a").await?;
    let b_name = unique_db("many_b");
    a.create_database(&b_name).await?;
    let b = a.with_database(&b_name);
    a.write("m v=1i 1").await?;
    b.write("m v=2i 1").await?;
    b.write("m v=3i 2").await?;
    assert_eq!(select_all(&a, "m").await?.len(), 1);
    assert_eq!(select_all(&b, "m").await?.len(), 2);
    let other = a
        .query_json(Query::new("SELECT * FROM m").database(&b_name))
        .await?;
    assert_eq!(
        other["results"][0]["series"][0]["values"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    Ok(())
}

#[tokio::test]
async fn gzip_writes_and_responses() -> TestResult {
    let plain = fresh_db("gzip").await?;
    let client = Client::builder(server().url())
        .database(plain.database().unwrap_or_default())
        .gzip(true)
        .build()?;
    let points: Vec<Point> = (0..500)
        .map(|i| {
            Point::new("g")
                .tag("host", format!("h{}", i % 7))
                .field("v", i as f64)
                .timestamp(i)
        })
        .collect();
    client.write(&points[..]).await?;
    let json = client.query_json("SELECT count(v) FROM g").await?;
    assert_eq!(json["results"][0]["series"][0]["values"][0][1], 500);
    Ok(())
}

#[tokio::test]
async fn errors_say_what_went_wrong() -> TestResult {
    // Missing database.
    let client = Client::builder(server().url())
        .database("no_such_db_x")
        .build()?;
    let err = client.write("m v=1").await.expect_err("missing db");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    assert!(err.is_database_not_found(), "{err}");
    assert!(err.request_id().is_some(), "{err:?}");
    assert_eq!(err.points_dropped(), Some(1));
    assert!(!err.is_retryable());
    let msg = err.to_string();
    assert!(
        msg.contains("database not found") && msg.contains("create it first"),
        "{msg}"
    );

    // A query on a missing database is a statement error in a 200 response.
    let err = client
        .query_json("SELECT * FROM m")
        .await
        .expect_err("missing db");
    assert!(err.is_query() && err.is_database_not_found(), "{err}");

    // Bad syntax.
    let err = client
        .query_json("SELEC nonsense")
        .await
        .expect_err("syntax");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    assert!(
        err.server_message()
            .is_some_and(|m| m.contains("error parsing query")),
        "{err}"
    );

    // Partial write with a type conflict.
    let c = fresh_db("partial").await?;
    c.write("cpu usage=1.5 1").await?;
    let err = c
        .write("cpu usage=2.5 2\ncpu usage=\"oops\" 3\ncpu usage=3.5 4\ncpu usage=true 5\n")
        .await
        .expect_err("conflict");
    assert!(err.is_partial_write(), "{err}");
    assert_eq!(err.points_dropped(), Some(2));
    assert_eq!(select_all(&c, "cpu").await?.len(), 3);

    // Nobody listening.
    let dead = Client::builder("http://127.0.0.1:1").build()?;
    let err = dead.ping().await.expect_err("nothing listens on port 1");
    assert!(err.is_connect() && err.is_retryable(), "{err}");
    assert!(err.to_string().contains("is InfluxDB running"), "{err}");
    Ok(())
}

#[tokio::test]
async fn authentication_header_and_parameters() -> TestResult {
    let server = Influxd::start_with(&[("INFLUXDB_HTTP_AUTH_ENABLED", "true")])?;
    let anon = Client::builder(server.url()).build()?;
    anon.query_json("CREATE USER admin WITH PASSWORD 'pa55 w\\'rd' WITH ALL PRIVILEGES")
        .await?;

    let admin = Client::builder(server.url())
        .basic_auth("admin", "pa55 w'rd")
        .database("secure")
        .build()?;
    admin.create_database("secure").await?;
    admin.write("m v=1i 1").await?;
    assert!(!format!("{admin:?}").contains("pa55"));

    let params = Client::builder(server.url())
        .basic_auth("admin", "pa55 w'rd")
        .auth_method(influx_stream::AuthMethod::QueryParams)
        .database("secure")
        .build()?;
    params.write("m v=2i 2").await?;
    assert_eq!(select_all(&params, "m").await?.len(), 2);

    let wrong = Client::builder(server.url())
        .basic_auth("admin", "not-it")
        .database("secure")
        .build()?;
    let err = wrong.write("m v=3i 3").await.expect_err("wrong password");
    assert!(err.is_auth(), "{err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("not-it") && !text.contains("pa55"), "{text}");
    assert!(
        text.contains("authorization failed") && text.contains("basic_auth"),
        "{text}"
    );

    let err = anon
        .query_json("SHOW DATABASES")
        .await
        .expect_err("no credentials");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
    Ok(())
}

#[tokio::test]
async fn point_dictionaries_from_json_are_written_as_is() -> TestResult {
    let client = fresh_db("dicts").await?;
    let text = r#"[
        {"measurement": "cpu", "tags": {"host": "a"}, "fields": {"usage": 0.5, "n": 3}, "time": "2009-11-10T23:00:00.123456789Z"},
        {"measurement": "cpu", "tags": {"host": "b"}, "fields": {"usage": 1.0, "n": 4}, "time": 1257894000000000000}
    ]"#;
    let points: Vec<Point> = serde_json::from_str(text)?;
    assert_eq!(points[0].field_value("n"), Some(&FieldValue::Integer(3)));
    client.write(&points[..]).await?;
    let rows = select_all(&client, "cpu").await?;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["time"].as_i64(), Some(1_257_894_000_000_000_000));
    assert_eq!(rows[1]["time"].as_i64(), Some(1_257_894_000_123_456_789));
    assert_eq!(rows[1]["host"], "a");
    assert_eq!(rows[1]["n"].as_i64(), Some(3));
    Ok(())
}
