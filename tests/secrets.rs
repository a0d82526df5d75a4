//! Passwords and tokens never show: not in `Debug`, not in errors (even
//! when a server echoes them back), not in tracing events at any level.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use futures::TryStreamExt;
use influx_stream::{Client, Point, Query, WriteApi};
use support::fault::{Action, FaultServer};
use support::protocol::{Flavor, ProtocolServer};

const SECRET: &str = "s3cr3t-T0KEN-4b1d";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn secrets_never_appear_in_debug_errors_or_traces() -> Result<(), Box<dyn std::error::Error>> {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let mut shown = String::new();
    tracing::subscriber::with_default(subscriber, || -> Result<(), Box<dyn std::error::Error>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async {
            // A server that echoes the credentials in its error bodies.
            let echo = FaultServer::sequence(vec![Action::status(401)
                .header("content-type", "application/json")
                .body(format!(
                    "{{\"error\":\"bad credentials: Token {SECRET} / p={SECRET}\"}}"
                ))])
            .await?;
            let builders = [
                Client::builder(echo.url()).token(SECRET),
                Client::builder(echo.url()).bearer(SECRET),
                Client::builder(echo.url()).basic_auth("admin", SECRET),
                Client::builder(echo.url())
                    .basic_auth("admin", SECRET)
                    .auth_method(influx_stream::AuthMethod::QueryParams),
            ];
            for builder in builders {
                shown.push_str(&format!("{builder:?}\n"));
                let client = builder.database("db").build()?;
                shown.push_str(&format!("{client:?}\n"));
                let err = client
                    .write(Point::new("m").field("v", 1))
                    .await
                    .expect_err("401");
                assert!(err.is_auth(), "{err}");
                shown.push_str(&format!("{err}\n{err:?}\n"));
                let err = client.query_json("SHOW DATABASES").await.expect_err("401");
                shown.push_str(&format!("{err}\n{err:?}\n"));
                let writer = client.writer(Default::default())?;
                shown.push_str(&format!("{writer:?}\n"));
            }

            // A successful round trip through the 3.x stand-in, traced.
            let v3 = ProtocolServer::start(Flavor::V3, SECRET, "", &[]).await?;
            let client = Client::builder(v3.url())
                .bearer(SECRET)
                .database("db")
                .write_api(WriteApi::v3())
                .build()?;
            client
                .write(Point::new("m").field("v", 1).timestamp(1))
                .await?;
            let rows: Vec<_> = client
                .query(Query::sql("SELECT * FROM m"))
                .try_collect()
                .await?;
            assert_eq!(rows.len(), 1);
            Ok::<_, Box<dyn std::error::Error>>(())
        })
    })?;
    let traced =
        String::from_utf8_lossy(&capture.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    assert!(
        traced.contains("influxdb request"),
        "tracing saw the requests:\n{traced}"
    );
    for (what, text) in [("Debug and errors", &shown), ("tracing", &traced)] {
        assert!(!text.contains(SECRET), "{what} show the secret:\n{text}");
    }
    assert!(shown.contains("[REDACTED]"), "{shown}");
    Ok(())
}

/// A password written into a URL is refused, and neither the refusal nor
/// the builder's `Debug` repeats it, whatever else is wrong with the URL.
#[test]
fn a_password_in_a_url_is_refused_without_being_repeated() {
    for url in [
        format!("http://admin:{SECRET}@127.0.0.1:8086"),
        format!("https://admin:{SECRET}@127.0.0.1:8086/prefix"),
        format!("ftp://admin:{SECRET}@127.0.0.1:8086"),
        format!("admin:{SECRET}@127.0.0.1:8086"),
        format!("http://admin:{SECRET}@127.0.0.1:8086/?db=x"),
        format!("http://admin:{SECRET}@/"),
    ] {
        let builder = Client::builder(url.as_str()).failover([url.as_str()]);
        let debug = format!("{builder:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        assert!(debug.contains("***@"), "{debug}");
        match builder.build() {
            Ok(_) => panic!("{url}: built"),
            Err(e) => {
                let shown = format!("{e} / {e:?}");
                assert!(!shown.contains(SECRET), "{shown}");
            }
        }
        // The same URL as a failover server.
        match Client::builder("http://127.0.0.1:8086")
            .failover([url.as_str()])
            .build()
        {
            Ok(_) => panic!("{url}: built as a failover server"),
            Err(e) => {
                let shown = format!("{e} / {e:?}");
                assert!(!shown.contains(SECRET), "{shown}");
            }
        }
    }
}
