//! VictoriaMetrics (Debian's `victoria-metrics` 1.79) as a live write
//! target: what the Writer sends lands exactly, over `/write?db=` and
//! `/api/v2/write`, read back through its `/api/v1/export`; what it would
//! drop or alter without a word is refused before sending.

mod support;

use futures::{stream, StreamExt};
use influx_stream::{Client, Error, Point, Server, StringFields, WriteApi, WriteOptions};
use support::victoria::{Series, Victoria};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const T0_NS: i64 = 1_600_000_000_000_000_000;

/// Values VictoriaMetrics stores exactly: two-decimal floats, integers
/// below 2^53, booleans (as 1 and 0).
fn point(i: i64) -> Point {
    Point::new("cpu")
        .tag("host", format!("host_{}", i % 10))
        .tag("region", ["eu", "us"][(i % 2) as usize])
        .field("usage", (i % 10_000) as f64 / 100.0)
        .field("requests", i * 7)
        .field("up", i % 3 == 0)
        .timestamp(T0_NS + i * 1_000_000_000)
}

fn series<'a>(all: &'a [Series], name: &str, host: &str) -> Option<&'a Series> {
    all.iter().find(|s| {
        s.metric.get("__name__").map(String::as_str) == Some(name)
            && s.metric.get("host").map(String::as_str) == Some(host)
    })
}

/// Checks that the export holds exactly the points `0..n`.
fn check_exact(all: &[Series], db: &str, n: i64) {
    // Three fields over ten hosts: thirty series, n samples each field.
    assert_eq!(
        all.len(),
        30,
        "{:?}",
        all.iter().map(|s| &s.metric).collect::<Vec<_>>()
    );
    for s in all {
        assert_eq!(
            s.metric.get("db").map(String::as_str),
            Some(db),
            "{:?}",
            s.metric
        );
    }
    for h in 0..10 {
        let host = format!("host_{h}");
        let usage = series(all, "cpu_usage", &host).expect("usage series");
        let requests = series(all, "cpu_requests", &host).expect("requests series");
        let up = series(all, "cpu_up", &host).expect("up series");
        let expected: Vec<i64> = (0..n).filter(|i| i % 10 == h).collect();
        assert_eq!(usage.timestamps.len(), expected.len(), "{host}");
        for (k, &i) in expected.iter().enumerate() {
            assert_eq!(usage.timestamps[k], (T0_NS + i * 1_000_000_000) / 1_000_000);
            assert_eq!(usage.values[k], (i % 10_000) as f64 / 100.0, "{host} {i}");
            assert_eq!(requests.values[k], (i * 7) as f64, "{host} {i}");
            assert_eq!(
                up.values[k],
                if i % 3 == 0 { 1.0 } else { 0.0 },
                "{host} {i}"
            );
            assert_eq!(
                usage.metric.get("region").map(String::as_str),
                Some(["eu", "us"][(i % 2) as usize])
            );
        }
    }
}

async fn write_all(client: &Client, n: i64) -> Result<(), Error> {
    let writer = client.writer(WriteOptions::new().max_points(1_000).max_in_flight(2))?;
    let stats = writer.clone();
    stream::iter(0..n)
        .map(|i| Ok::<_, Error>(point(i)))
        .forward(writer)
        .await?;
    assert_eq!(stats.stats().points_written, n as u64);
    assert_eq!(stats.stats().points_failed, 0);
    Ok(())
}

#[tokio::test]
async fn the_writer_lands_exactly_over_write() -> TestResult {
    let vm = Victoria::start()?;
    let client = Client::builder(vm.url())
        .database("vm_v1")
        .server(Server::VictoriaMetrics)
        .build()?;
    client.ping().await?;
    write_all(&client, 10_000).await?;
    check_exact(&vm.export(r#"{db="vm_v1"}"#)?, "vm_v1", 10_000);
    Ok(())
}

#[tokio::test]
async fn the_writer_lands_exactly_over_api_v2_write() -> TestResult {
    let vm = Victoria::start()?;
    // VictoriaMetrics ignores `bucket`; the profile names it as `db` too.
    let client = Client::builder(vm.url())
        .database("vm_v2")
        .token("ignored-by-an-open-server")
        .write_api(WriteApi::v2("any-org"))
        .server(Server::VictoriaMetrics)
        .build()?;
    write_all(&client, 5_000).await?;
    check_exact(&vm.export(r#"{db="vm_v2"}"#)?, "vm_v2", 5_000);
    Ok(())
}

#[tokio::test]
async fn what_it_would_lose_is_refused_before_sending() -> TestResult {
    let vm = Victoria::start()?;
    let client = Client::builder(vm.url())
        .database("vm_refused")
        .server(Server::VictoriaMetrics)
        .build()?;
    let refused = [
        (
            "a string field",
            Point::new("m")
                .field("v", 1.0)
                .field("status", "ok")
                .timestamp(T0_NS),
        ),
        ("time zero", Point::new("m").field("v", 1.0).timestamp(0)),
        (
            "time before 1970",
            Point::new("m").field("v", 1.0).timestamp(-5),
        ),
        (
            "a 16 KiB + 1 tag",
            Point::new("m")
                .tag("t", "x".repeat(16 * 1024 + 1))
                .field("v", 1.0)
                .timestamp(T0_NS),
        ),
        (
            "29 tags",
            (0..29)
                .fold(Point::new("m"), |p, i| p.tag(format!("t{i:02}"), "v"))
                .field("v", 1.0)
                .timestamp(T0_NS),
        ),
    ];
    for (what, p) in refused {
        let err = client.write(&p).await.expect_err(what);
        assert!(err.is_encode(), "{what}: {err}");
    }
    // Nothing reached the server.
    assert!(vm.export(r#"{db="vm_refused"}"#)?.is_empty());

    // At the limits, the points land whole.
    client
        .write(
            &(0..28)
                .fold(Point::new("wide"), |p, i| p.tag(format!("t{i:02}"), "v"))
                .field("v", 2.5)
                .timestamp(T0_NS),
        )
        .await?;
    client
        .write(
            &Point::new("long")
                .tag("t", "y".repeat(16 * 1024))
                .field("v", 3.5)
                .timestamp(T0_NS),
        )
        .await?;
    let stored = vm.export(r#"{db="vm_refused"}"#)?;
    assert_eq!(stored.len(), 2);
    let wide = stored
        .iter()
        .find(|s| s.metric["__name__"] == "wide_v")
        .expect("wide");
    assert_eq!(wide.metric.len(), 30, "{:?}", wide.metric);
    let long = stored
        .iter()
        .find(|s| s.metric["__name__"] == "long_v")
        .expect("long");
    assert_eq!(long.metric["t"].len(), 16 * 1024);

    // Skipping string fields writes the rest; a point of strings only is refused.
    let skipping = Client::builder(vm.url())
        .database("vm_skip")
        .server(Server::VictoriaMetrics)
        .string_fields(StringFields::Skip)
        .build()?;
    skipping
        .write(
            &Point::new("m")
                .field("v", 1.25)
                .field("status", "ok")
                .timestamp(T0_NS),
        )
        .await?;
    let err = skipping
        .write(&Point::new("m").field("status", "ok").timestamp(T0_NS))
        .await
        .expect_err("no field left");
    assert!(
        err.is_encode() && err.to_string().contains("string fields are skipped"),
        "{err}"
    );
    let stored = vm.export(r#"{db="vm_skip"}"#)?;
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].metric["__name__"], "m_v");
    assert_eq!(stored[0].values, [1.25]);
    Ok(())
}
