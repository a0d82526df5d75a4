//! `#[derive(FromRow)]` and `Client::query_rows` against a real influxd:
//! structs written with `#[derive(LineProtocol)]` read back equal, the
//! standard workload read back exactly, and rows that do not fit reported
//! one by one, naming the column and the row.
#![cfg(feature = "derive")]

mod support;

use futures::{stream, StreamExt, TryStreamExt};
use influx_stream::{Client, Error, FromRow, LineProtocol, Query, Value, WriteOptions};
use support::influxd::{unique_db, Influxd};
use support::{cpu_row, workload};

type TestResult = Result<(), Box<dyn std::error::Error>>;

async fn fresh_db(prefix: &str) -> Result<Client, Error> {
    let db = unique_db(prefix);
    let client = Client::builder(Influxd::shared().url())
        .database(&db)
        .build()?;
    client.create_database(&db).await?;
    Ok(client)
}

/// One struct, written and read back through the same attributes.
#[derive(Debug, Clone, PartialEq, LineProtocol, FromRow)]
#[influx(measurement = "reading")]
struct Reading {
    #[influx(time)]
    at: i64,
    #[influx(tag)]
    room: String,
    #[influx(tag)]
    floor: Option<String>,
    celsius: f64,
    humidity: Option<f64>,
    #[influx(rename = "req")]
    requests: u32,
    ok: bool,
    note: Option<String>,
    #[influx(skip)]
    cache: Vec<u8>,
}

fn reading(i: i64) -> Reading {
    Reading {
        at: 1_600_000_000_000_000_000 + i * 1_000_000_007,
        room: ["hall", "attic, west", "cellar=1"][i as usize % 3].into(),
        floor: (i % 4 != 0).then(|| format!("floor {}", i % 4)),
        // Whole values among them (i = 0, 100, ...), which influxd prints
        // as integers.
        celsius: if i % 100 == 0 {
            i as f64
        } else {
            -10.0 + i as f64 * 0.37 + 1.0 / 3.0
        },
        humidity: (i % 5 != 0).then_some(i as f64 / 100.0),
        requests: (i as u32).wrapping_mul(2_654_435_761),
        ok: i % 2 == 0,
        note: (i % 7 == 0).then(|| format!("note \"{i}\"\nsecond line \\")),
        cache: Vec::new(),
    }
}

#[tokio::test]
async fn derived_structs_read_back_what_they_wrote() -> TestResult {
    let client = fresh_db("fr_round").await?;
    let want: Vec<Reading> = (0..500).map(reading).collect();
    let writer = client.writer(WriteOptions::new().max_points(128))?;
    stream::iter(want.clone())
        .map(Ok::<_, Error>)
        .forward(writer)
        .await?;

    // Tags selected as columns.
    let got: Vec<Reading> = client
        .query_rows::<Reading>(Query::new("SELECT * FROM reading").chunk_size(100))
        .try_collect()
        .await?;
    assert_eq!(got, want);
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.celsius.to_bits(), w.celsius.to_bits());
    }

    // `room` as a GROUP BY tag: one series per room, read from the series.
    let got: Vec<Reading> = client
        .query_rows::<Reading>(Query::new("SELECT * FROM reading GROUP BY room").chunk_size(100))
        .try_collect()
        .await?;
    let mut by_room = want.clone();
    by_room.sort_by(|a, b| a.room.cmp(&b.room).then(a.at.cmp(&b.at)));
    assert_eq!(got, by_room);
    Ok(())
}

#[tokio::test]
async fn the_workload_reads_back_exactly() -> TestResult {
    let client = fresh_db("fr_workload").await?;
    let n = 20_000u64;
    let writer = client.writer(WriteOptions::new().max_points(5_000))?;
    stream::iter((0..n).map(|i| Ok::<_, Error>(workload::narrow(i))))
        .forward(writer)
        .await?;

    let mut rows =
        client.query_rows::<cpu_row::CpuRow>(Query::new("SELECT * FROM cpu").chunk_size(3_000));
    let mut i = 0u64;
    while let Some(cpu) = rows.try_next().await? {
        let w = workload::narrow(i);
        let want = cpu_row::CpuRow::from(w);
        assert_eq!(cpu, want, "row {i}");
        assert_eq!(cpu.usage_system.to_bits(), w.usage_system.to_bits());
        i += 1;
    }
    assert_eq!(i, n);
    Ok(())
}

#[derive(Debug, PartialEq, FromRow)]
struct Strict {
    time: i64,
    a: i64,
    b: String,
}

#[derive(Debug, PartialEq, FromRow)]
struct Lenient {
    #[influx(measurement)]
    series: String,
    #[influx(default)]
    a: i64,
    b: Option<String>,
    c: Option<f64>,
    #[influx(rename = "time")]
    when: u64,
}

#[derive(Debug, FromRow)]
struct Missing {
    #[allow(dead_code)]
    c: i64,
}

#[derive(Debug, FromRow)]
struct WrongType {
    #[allow(dead_code)]
    b: i64,
}

#[tokio::test]
async fn rows_that_do_not_fit_are_errors_naming_column_and_row() -> TestResult {
    let client = fresh_db("fr_errors").await?;
    client
        .write("m a=1i,b=\"x\" 1\nm a=2i 2\nm b=\"y\" 3\nm a=4i,b=\"z\" 4")
        .await?;
    let q = "SELECT a, b FROM m";

    let strict: Vec<Result<Strict, Error>> = client.query_rows(q).collect().await;
    let ok: Vec<&Strict> = strict.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(
        ok,
        [
            &Strict {
                time: 1,
                a: 1,
                b: "x".into()
            },
            &Strict {
                time: 4,
                a: 4,
                b: "z".into()
            }
        ]
    );
    let errors: Vec<String> = strict
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|e| e.to_string())
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].contains("row 1 of series `m`") && errors[0].contains("`b` is null"),
        "{errors:?}"
    );
    assert!(
        errors[1].contains("row 2 of series `m`") && errors[1].contains("`a` is null"),
        "{errors:?}"
    );

    let lenient: Vec<Lenient> = client.query_rows(q).try_collect().await?;
    let want = |a, b: Option<&str>, when| Lenient {
        series: "m".into(),
        a,
        b: b.map(str::to_owned),
        c: None,
        when,
    };
    assert_eq!(
        lenient,
        [
            want(1, Some("x"), 1),
            want(2, None, 2),
            want(0, Some("y"), 3),
            want(4, Some("z"), 4)
        ]
    );

    let missing: Vec<Result<Missing, Error>> = client.query_rows(q).collect().await;
    assert_eq!(missing.len(), 4);
    for (i, r) in missing.iter().enumerate() {
        let e = r.as_ref().err().ok_or("no column c: an error")?;
        assert!(
            e.to_string().contains(&format!("row {i} of series `m`"))
                && e.to_string().contains("no column or tag `c`"),
            "{e}"
        );
    }

    let wrong: Vec<Result<WrongType, Error>> = client.query_rows(q).collect().await;
    let messages: Vec<String> = wrong
        .iter()
        .map(|r| match r {
            Ok(w) => format!("ok {w:?}"),
            Err(e) => e.to_string(),
        })
        .collect();
    assert_eq!(messages.len(), 4);
    assert!(
        messages[0].contains(r#"`b` is "x", not an integer"#),
        "{messages:?}"
    );
    assert!(messages[1].contains("`b` is null"), "{messages:?}");

    // A failed statement is an item of its own; the others' rows follow.
    let items: Vec<Result<Lenient, Error>> = client
        .query_rows("SELECT a, b FROM m WHERE time <= 1; SELECT mean(b) FROM m")
        .collect()
        .await;
    assert_eq!(items.len(), 2, "{items:?}");
    assert_eq!(items[0].as_ref().ok(), Some(&want(1, Some("x"), 1)));
    assert!(items[1].as_ref().is_err_and(|e| e.is_query()), "{items:?}");
    Ok(())
}

/// A column that holds anything: `Value` takes it as it comes.
#[tokio::test]
async fn value_fields_take_any_cell() -> TestResult {
    #[derive(Debug, FromRow)]
    struct Any {
        v: Value,
        w: Option<Value>,
    }
    let client = fresh_db("fr_value").await?;
    client.write("m v=1.5 1\nm v=2.5,w=true 2").await?;
    let got: Vec<Any> = client
        .query_rows("SELECT v, w FROM m")
        .try_collect()
        .await?;
    let cells: Vec<(&Value, Option<&Value>)> = got.iter().map(|a| (&a.v, a.w.as_ref())).collect();
    assert_eq!(
        cells,
        [
            (&Value::Float(1.5), None),
            (&Value::Float(2.5), Some(&Value::Bool(true)))
        ]
    );
    Ok(())
}

#[cfg(feature = "blocking")]
#[test]
fn the_blocking_client_reads_derived_structs() -> TestResult {
    let db = unique_db("fr_blocking");
    let client = influx_stream::blocking::Client::builder(Influxd::shared().url())
        .database(&db)
        .build()?;
    client.create_database(&db)?;
    let want: Vec<Reading> = (0..50).map(reading).collect();
    client.write(&want[..])?;
    let got: Vec<Reading> = client
        .query_rows::<Reading>(Query::new("SELECT * FROM reading").chunk_size(7))
        .collect::<Result<_, _>>()?;
    assert_eq!(got, want);
    Ok(())
}
