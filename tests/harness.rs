//! Tests of the test harness itself (tests/support/influxd.rs) against a real
//! `influxd`.

mod support;

use std::net::TcpStream;
use std::time::Duration;

use support::influxd::{unique_db, Influxd};

fn start() -> Influxd {
    Influxd::start().unwrap_or_else(|e| panic!("cannot start influxd: {e}"))
}

fn databases(server: &Influxd) -> String {
    server
        .raw_query("SHOW DATABASES")
        .unwrap_or_else(|e| panic!("SHOW DATABASES failed: {e}\n{}", server.log_tail()))
}

#[test]
fn start_restart_stop() {
    let mut server = start();
    let url = server.url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(server.pid().is_some());

    server
        .raw_query("CREATE DATABASE x")
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log_tail()));
    assert!(
        databases(&server).contains(r#"["x"]"#),
        "{}",
        databases(&server)
    );

    let old_pid = server.pid();
    server
        .restart()
        .unwrap_or_else(|e| panic!("restart failed: {e}"));
    assert_eq!(server.url(), url, "restart must keep the HTTP port");
    assert_ne!(server.pid(), old_pid);
    assert!(
        databases(&server).contains(r#"["x"]"#),
        "{}",
        databases(&server)
    );

    server.stop();
    assert_eq!(server.pid(), None);
    assert!(!server.ping());
    assert!(
        TcpStream::connect_timeout(&server.addr(), Duration::from_secs(1)).is_err(),
        "port {} still accepts connections after stop",
        server.port()
    );
    assert!(server.raw_query("SHOW DATABASES").is_err());
}

#[test]
fn kill_and_restart_keeps_written_points() {
    let mut server = start();
    let db = unique_db("harness_kill");
    server.raw_query(&format!("CREATE DATABASE {db}")).unwrap();
    server
        .raw_write(&db, "m,t=a v=1i 1000000000\nm,t=b v=2i 2000000000\n")
        .unwrap();

    server.kill();
    assert!(!server.ping());
    server
        .restart()
        .unwrap_or_else(|e| panic!("restart after kill failed: {e}"));

    let out = server
        .raw_query_in(&db, "SELECT count(v) FROM m")
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log_tail()));
    assert!(
        out.contains(",2]"),
        "expected count 2 after recovery: {out}"
    );
}

#[test]
fn extra_env_is_passed_to_influxd() {
    let server = Influxd::start_with(&[("INFLUXDB_HTTP_MAX_BODY_SIZE", "1000")])
        .unwrap_or_else(|e| panic!("cannot start influxd: {e}"));
    let db = unique_db("harness_env");
    server.raw_query(&format!("CREATE DATABASE {db}")).unwrap();
    server.raw_write(&db, "m v=1i 1\n").unwrap();
    let big: String = (0..100).map(|i| format!("m v={i}i {}\n", i + 1)).collect();
    assert!(big.len() > 1000);
    let err = server.raw_write(&db, &big).unwrap_err();
    assert!(err.contains("HTTP 413"), "{err}");

    let auth = Influxd::start_with(&[("INFLUXDB_HTTP_AUTH_ENABLED", "true")])
        .unwrap_or_else(|e| panic!("cannot start influxd: {e}"));
    let err = auth.raw_query("SHOW DATABASES").unwrap_err();
    assert!(err.contains("create admin user first"), "{err}");
    auth.raw_query("CREATE USER admin WITH PASSWORD 'secret' WITH ALL PRIVILEGES")
        .unwrap();
    let err = auth.raw_query("SHOW DATABASES").unwrap_err();
    assert!(err.contains("HTTP 401"), "{err}");
    auth.raw_query_with(&[("u", "admin"), ("p", "secret"), ("q", "SHOW DATABASES")])
        .unwrap();
}

#[test]
fn shared_server_and_unique_names() {
    let a = Influxd::shared();
    let b = Influxd::shared();
    assert!(std::ptr::eq(a, b));
    assert!(a.ping());

    let (d1, d2) = (unique_db("harness"), unique_db("harness"));
    assert_ne!(d1, d2);
    assert!(d1.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    a.raw_query(&format!("CREATE DATABASE {d1}")).unwrap();
    assert!(databases(a).contains(&format!(r#"["{d1}"]"#)));
    assert!(a.raw_query("THIS IS NOT INFLUXQL").is_err());
}

#[test]
fn drop_stops_server_and_removes_dir() {
    let server = start();
    let (addr, dir) = (server.addr(), server.dir().to_path_buf());
    assert!(dir.join("influxd.log").is_file());
    drop(server);
    assert!(!dir.exists(), "{} was not removed", dir.display());
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}
