//! HTTPS against a real influxd started with its own certificate (made per
//! run by a throw-away CA): every kind of call through TLS, and each way a
//! TLS connection can be wrong refused with the error that says so. Mutual
//! TLS runs against a small TLS server here, since influxd cannot require
//! client certificates.
#![cfg(feature = "rustls")]

mod support;

use std::sync::{Arc, OnceLock};

use futures::{stream, StreamExt, TryStreamExt};
use influx_stream::{
    Certificate, Client, ClientBuilder, Error, Identity, Point, Query, WriteOptions,
};
use support::influxd::{unique_db, Influxd};
use support::pki::Pki;

type TestResult = Result<(), Box<dyn std::error::Error>>;

struct HttpsServer {
    pki: Pki,
    influxd: Influxd,
    _certs: tempfile::TempDir,
}

/// One HTTPS influxd for this test binary.
fn server() -> &'static HttpsServer {
    static SERVER: OnceLock<HttpsServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let start = || -> Result<HttpsServer, Box<dyn std::error::Error>> {
            let pki = Pki::new("influxd")?;
            let certs = tempfile::tempdir()?;
            let cert = certs.path().join("server.pem");
            let key = certs.path().join("server.key");
            std::fs::write(&cert, &pki.server_cert_pem)?;
            std::fs::write(&key, &pki.server_key_pem)?;
            let influxd = Influxd::start_with(&[
                ("INFLUXDB_HTTP_HTTPS_ENABLED", "true"),
                ("INFLUXDB_HTTP_HTTPS_CERTIFICATE", &cert.to_string_lossy()),
                ("INFLUXDB_HTTP_HTTPS_PRIVATE_KEY", &key.to_string_lossy()),
            ])?;
            Ok(HttpsServer {
                pki,
                influxd,
                _certs: certs,
            })
        };
        match start() {
            Ok(s) => s,
            Err(e) => panic!("cannot start an HTTPS influxd: {e}"),
        }
    })
}

fn trusting(url: &str) -> Result<ClientBuilder, Error> {
    Ok(Client::builder(url)
        .tls_built_in_root_certs(false)
        .add_root_certificate(Certificate::from_pem(server().pki.ca_pem.as_bytes())?))
}

async fn count(client: &Client, measurement: &str) -> Result<i64, Error> {
    let json = client
        .query_json(format!("SELECT count(*) FROM {measurement}"))
        .await?;
    Ok(json["results"][0]["series"][0]["values"][0][1]
        .as_i64()
        .unwrap_or(0))
}

#[tokio::test]
async fn every_call_works_through_tls() -> TestResult {
    let s = server();
    let db = unique_db("tls");
    let client = trusting(&s.influxd.https_url())?.database(&db).build()?;

    let pong = client.ping().await?;
    assert!(pong.version.starts_with("1."), "{pong:?}");
    client.create_database(&db).await?;
    assert!(client.show_databases().await?.contains(&db));

    client
        .write(Point::new("one").field("v", 1.5).timestamp(1))
        .await?;
    assert_eq!(count(&client, "one").await?, 1);

    let writer = client.writer(WriteOptions::new().max_points(1_000).max_in_flight(2))?;
    let stats = writer.clone();
    stream::iter(0..20_000i64)
        .map(|i| {
            Ok::<_, Error>(
                Point::new("m")
                    .tag("host", format!("h{}", i % 7))
                    .field("v", i)
                    .timestamp(1_600_000_000_000_000_000 + i),
            )
        })
        .forward(writer)
        .await?;
    assert_eq!(stats.stats().points_written, 20_000);
    assert_eq!(stats.stats().requests, 20);
    assert_eq!(count(&client, "m").await?, 20_000);

    // A chunked query streamed over TLS, in chunks of 1,000 rows.
    let mut rows = client.query(Query::new("SELECT v FROM m").chunk_size(1_000));
    let (mut n, mut sum) = (0i64, 0i64);
    while let Some(row) = rows.try_next().await? {
        n += 1;
        sum += row.get("v").and_then(|v| v.as_i64()).unwrap_or(-1);
    }
    assert_eq!(n, 20_000);
    assert_eq!(sum, (0..20_000i64).sum::<i64>());
    Ok(())
}

#[tokio::test]
async fn an_untrusted_ca_is_refused() -> TestResult {
    let s = server();
    // The system's roots do not know the test CA.
    let err = Client::builder(s.influxd.https_url())
        .build()?
        .ping()
        .await
        .expect_err("untrusted");
    assert!(err.is_tls(), "{err}");
    assert!(err.to_string().contains("add_root_certificate"), "{err}");
    assert!(!err.is_retryable(), "{err}");

    // Another CA's root is no better.
    let other = Pki::new("other")?;
    let err = Client::builder(s.influxd.https_url())
        .tls_built_in_root_certs(false)
        .add_root_certificate(Certificate::from_pem(other.ca_pem.as_bytes())?)
        .build()?
        .ping()
        .await
        .expect_err("other CA");
    assert!(err.is_tls(), "{err}");
    assert!(err.to_string().contains("add_root_certificate"), "{err}");
    Ok(())
}

#[tokio::test]
async fn a_wrong_host_name_is_refused() -> TestResult {
    let s = server();
    // The certificate names localhost only.
    let url = format!("https://127.0.0.1:{}", s.influxd.port());
    let err = trusting(&url)?.build()?.ping().await.expect_err("name");
    assert!(err.is_tls(), "{err}");
    assert!(err.to_string().contains("host name"), "{err}");
    Ok(())
}

#[tokio::test]
async fn danger_accept_invalid_certs_accepts_any_certificate() -> TestResult {
    let s = server();
    let url = format!("https://127.0.0.1:{}", s.influxd.port());
    let pong = Client::builder(url)
        .danger_accept_invalid_certs(true)
        .build()?
        .ping()
        .await?;
    assert!(pong.version.starts_with("1."), "{pong:?}");
    Ok(())
}

#[tokio::test]
async fn plain_http_to_the_https_port_says_use_https() -> TestResult {
    let s = server();
    let err = Client::builder(s.influxd.url())
        .build()?
        .ping()
        .await
        .expect_err("plain to TLS");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400), "{err}");
    assert!(err.to_string().contains("use an https:// URL"), "{err}");
    Ok(())
}

#[tokio::test]
async fn https_to_a_plain_port_says_use_http() -> TestResult {
    let plain = Influxd::start()?;
    let url = format!("https://localhost:{}", plain.port());
    let err = trusting(&url)?
        .build()?
        .ping()
        .await
        .expect_err("TLS to plain");
    assert!(err.is_tls(), "{err}");
    assert!(err.to_string().contains("http:// URL"), "{err}");
    Ok(())
}

#[test]
fn bad_pem_is_a_builder_error() {
    let err = Certificate::from_pem(b"not a certificate").expect_err("no PEM");
    assert!(err.is_builder(), "{err}");
    let pki = Pki::new("pem").expect("pki");
    let err = Identity::from_pem(pki.client_cert_pem.as_bytes(), b"-----BEGIN NOTHING-----")
        .expect_err("no key");
    assert!(err.is_builder(), "{err}");
    let id = Identity::from_pem(
        pki.client_cert_pem.as_bytes(),
        pki.client_key_pem.as_bytes(),
    )
    .expect("identity");
    let shown = format!("{id:?}");
    assert!(
        !shown.contains("PRIVATE") && shown.contains("redacted"),
        "{shown}"
    );
}

/// A TLS server that requires a client certificate from `pki`'s CA and
/// answers every request with 204, as `/ping` does.
async fn mutual_tls_server(
    pki: &Pki,
) -> Result<(String, tokio::task::JoinHandle<()>), Box<dyn std::error::Error>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(pki.ca_pem.as_bytes())?)?;
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()?;
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(
                pki.server_cert_pem.as_bytes(),
            )?],
            PrivateKeyDer::from_pem_slice(pki.server_key_pem.as_bytes())?,
        )?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let url = format!("https://localhost:{}", listener.local_addr()?.port());
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                // One request head at a time; bounded by the client's calls.
                while let Ok(n) = tls.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                    while let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                        head.drain(..end + 4);
                        let answer =
                            b"HTTP/1.1 204 No Content\r\nX-Influxdb-Version: mtls-test\r\n\r\n";
                        if tls.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    Ok((url, task))
}

#[tokio::test]
async fn mutual_tls_presents_the_identity() -> TestResult {
    let pki = Pki::new("mtls")?;
    let (url, task) = mutual_tls_server(&pki).await?;
    let ca = Certificate::from_pem(pki.ca_pem.as_bytes())?;

    let with_identity = Client::builder(&url)
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca.clone())
        .identity(Identity::from_pem(
            pki.client_cert_pem.as_bytes(),
            pki.client_key_pem.as_bytes(),
        )?)
        .build()?;
    assert_eq!(with_identity.ping().await?.version, "mtls-test");

    let without = Client::builder(&url)
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .build()?;
    let err = without.ping().await.expect_err("no client certificate");
    assert!(err.is_tls(), "{err}");
    task.abort();
    Ok(())
}

#[tokio::test]
async fn a_handshake_that_never_ends_times_out() -> TestResult {
    // Accepts connections and never says a word.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let url = format!("https://localhost:{}", listener.local_addr()?.port());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let err = trusting(&url)?
        .connect_timeout(std::time::Duration::from_millis(300))
        .build()?
        .ping()
        .await
        .expect_err("silent server");
    assert!(err.is_timeout(), "{err}");
    assert!(
        err.to_string().contains("TLS handshake did not finish"),
        "{err}"
    );
    task.abort();
    Ok(())
}

#[cfg(feature = "blocking")]
#[test]
fn the_blocking_client_has_the_same_tls_settings() -> TestResult {
    let s = server();
    let db = unique_db("tls_blocking");
    let client = influx_stream::blocking::Client::builder(s.influxd.https_url())
        .tls_built_in_root_certs(false)
        .add_root_certificate(Certificate::from_pem(s.pki.ca_pem.as_bytes())?)
        .database(&db)
        .build()?;
    assert!(client.ping()?.version.starts_with("1."));
    client.create_database(&db)?;
    client.write(Point::new("b").field("v", 1i64).timestamp(1))?;
    let rows: Vec<_> = client.query("SELECT v FROM b").collect::<Result<_, _>>()?;
    assert_eq!(rows.len(), 1);

    let err = influx_stream::blocking::Client::builder(s.influxd.https_url())
        .build()?
        .ping()
        .expect_err("untrusted");
    assert!(err.is_tls(), "{err}");
    Ok(())
}
