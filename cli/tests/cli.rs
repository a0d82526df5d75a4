//! End to end: the `influx-stream` binary against a real influxd that the
//! tests start themselves (the repository's harness). Every test checks
//! what the server holds afterwards or the exact output, never just the
//! exit status.

#[path = "../../tests/support/influxd.rs"]
mod influxd;
#[path = "../../tests/support/pki.rs"]
mod pki;
// The library's tests build it for Rust 1.80, before `Option::is_none_or`.
#[allow(clippy::unnecessary_map_or)]
#[path = "../../tests/support/protocol.rs"]
mod protocol;
#[path = "../../tests/support/victoria.rs"]
mod victoria;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use influxd::{unique_db, Influxd};
use serde_json::Value as J;

/// No run of the binary may take longer: past it the child is killed and
/// the test fails instead of hanging.
const RUN_LIMIT: Duration = Duration::from_secs(90);

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_influx-stream"));
    // The tests name their server themselves; a developer's own settings
    // must not leak in.
    for var in [
        "INFLUX_URL",
        "INFLUX_DATABASE",
        "INFLUX_USERNAME",
        "INFLUX_PASSWORD",
        "INFLUX_TOKEN",
        "INFLUX_CA_CERT",
        "INFLUX_ORG",
        "INFLUX_RETENTION_POLICY",
        "INFLUX_TO_URL",
        "INFLUX_TO_DATABASE",
        "INFLUX_TO_USERNAME",
        "INFLUX_TO_PASSWORD",
        "INFLUX_TO_TOKEN",
        "INFLUX_TO_CA_CERT",
        "INFLUX_TO_ORG",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Kills `pid` if the test has not called `disarm` within the limit.
struct Watchdog {
    done: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<bool>>,
}

impl Watchdog {
    fn new(pid: u32, limit: Duration) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                let _ = Command::new("kill")
                    .arg("-KILL")
                    .arg(pid.to_string())
                    .status();
                return true;
            }
            false
        });
        Watchdog {
            done: Some(tx),
            thread: Some(thread),
        }
    }

    /// Stops the watchdog; true if it had to kill.
    fn disarm(mut self) -> bool {
        if let Some(tx) = self.done.take() {
            let _ = tx.send(());
        }
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or(false)
    }
}

/// Runs the binary to the end with `stdin`, within the limit.
fn run(mut cmd: Command, stdin: &[u8]) -> Output {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the binary starts");
    let dog = Watchdog::new(child.id(), RUN_LIMIT);
    let mut input = child.stdin.take().expect("stdin is piped");
    let data = stdin.to_vec();
    let feeder = std::thread::spawn(move || {
        // The tool may exit before reading everything (a usage error).
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().expect("the binary runs");
    let _ = feeder.join();
    assert!(!dog.disarm(), "the binary ran for more than {RUN_LIMIT:?}");
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn new_db(server: &Influxd, prefix: &str) -> String {
    let db = unique_db(prefix);
    server
        .raw_query(&format!("CREATE DATABASE {db}"))
        .expect("CREATE DATABASE");
    db
}

/// Rows of a query as the server sends them (times in nanoseconds).
fn rows(server: &Influxd, db: &str, q: &str) -> Vec<Vec<J>> {
    let body = server
        .raw_query_with(&[("db", db), ("q", q), ("epoch", "ns")])
        .expect("query");
    let doc: J = serde_json::from_str(&body).expect("JSON");
    let mut out = Vec::new();
    for series in doc["results"][0]["series"].as_array().into_iter().flatten() {
        for v in series["values"].as_array().into_iter().flatten() {
            out.push(v.as_array().cloned().unwrap_or_default());
        }
    }
    out
}

/// Asserts that each query answers the same in `a`'s database `db_a` as in
/// `b`'s `db_b`: what a copy must leave behind.
fn assert_same_answers(a: (&Influxd, &str), b: (&Influxd, &str), queries: &[&str]) {
    let answer = |(server, db): (&Influxd, &str), q: &str| {
        server
            .raw_query_with(&[("db", db), ("q", q), ("epoch", "ns")])
            .expect("query")
    };
    for q in queries {
        assert_eq!(answer(a, q), answer(b, q), "{q}");
    }
}

/// The state file a copy saved.
fn saved_state(path: &std::path::Path) -> J {
    serde_json::from_str(&std::fs::read_to_string(path).expect("state")).expect("json")
}

fn tmp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("influx-stream-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn write_cmd(server: &Influxd, db: &str) -> Command {
    let mut cmd = bin();
    cmd.args(["--url", &server.url(), "-d", db, "write", "--no-progress"]);
    cmd
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn bad_lines_in_the_middle_are_named_and_the_rest_is_written() {
    let server = Influxd::shared();
    let db = new_db(server, "badlines");
    let dir = tmp_dir("badlines");
    let file = dir.join("points.lp");
    let failed = dir.join("failed.lp");
    std::fs::write(
        &file,
        "# cpu readings\n\
         cpu,host=a v=1 1000000000\n\
         cpu,host=b v=2 2000000000\n\
         \n\
         cpu,host=c v= 3000000000\n\
         cpu,host=d v=4 4000000000\n\
         cpu,host=e 5000000000\n\
         cpu,host=f v=6 6000000000\n",
    )
    .expect("write input");
    let mut cmd = write_cmd(server, &db);
    cmd.arg(&file).arg("--failed").arg(&failed);
    let out = run(cmd, b"");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let name = file.display().to_string();
    assert_eq!(
        lines(&stderr),
        vec![
            format!("{name}:5: column 14: missing field value"),
            format!("{name}:7: column 12: missing fields"),
        ],
        "{stderr}"
    );
    assert_eq!(
        lines(&stdout)[0],
        "read 6 = written 4 + failed 2 (2 refused before sending, 0 by the server)"
    );
    assert_eq!(
        std::fs::read_to_string(&failed).expect("failed file"),
        format!(
            "# {name}:5: column 14: missing field value\ncpu,host=c v= 3000000000\n\
             # {name}:7: column 12: missing fields\ncpu,host=e 5000000000\n"
        )
    );
    let stored = rows(server, &db, "SELECT host, v FROM cpu");
    let hosts: Vec<(i64, String, f64)> = stored
        .iter()
        .map(|r| {
            (
                r[0].as_i64().unwrap_or(-1),
                r[1].as_str().unwrap_or("").to_owned(),
                r[2].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect();
    assert_eq!(
        hosts,
        vec![
            (1_000_000_000, "a".to_owned(), 1.0),
            (2_000_000_000, "b".to_owned(), 2.0),
            (4_000_000_000, "d".to_owned(), 4.0),
            (6_000_000_000, "f".to_owned(), 6.0),
        ]
    );
}

#[test]
fn a_point_the_server_refuses_is_counted_and_kept() {
    let server = Influxd::shared();
    let db = new_db(server, "refused");
    server
        .raw_write(&db, "cpu,host=z v=9 9000000000")
        .expect("seed");
    let dir = tmp_dir("refused");
    let failed = dir.join("failed.lp");
    let mut cmd = write_cmd(server, &db);
    cmd.arg("-").arg("--failed").arg(&failed).arg("--json");
    let input =
        "cpu,host=a v=1 1000000000\ncpu,host=b v=\"text\" 2000000000\ncpu,host=c v=3 3000000000\n";
    let out = run(cmd, input.as_bytes());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    let summary: J = serde_json::from_str(stdout.trim()).expect("one JSON summary");
    assert_eq!(summary["read"], 3);
    assert_eq!(summary["written"], 2);
    assert_eq!(summary["failed"], 1);
    assert_eq!(summary["failed_server"], 1);
    assert_eq!(summary["failed_input"], 0);
    assert_eq!(summary["balanced"], true);
    let dead = std::fs::read_to_string(&failed).expect("failed file");
    let dead: Vec<&str> = dead.lines().collect();
    assert_eq!(dead.len(), 4, "{dead:?}");
    assert!(
        dead[0].starts_with("# the server dropped 1 of the 3 points below and does not say which:")
            && dead[0].contains("field type conflict"),
        "{}",
        dead[0]
    );
    assert_eq!(dead[1..], lines(input)[..]);
    let hosts: Vec<String> = rows(server, &db, "SELECT host, v FROM cpu")
        .iter()
        .map(|r| r[1].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(hosts, ["a", "c", "z"]);
}

#[test]
fn csv_with_tags_time_format_and_a_bad_row() {
    let server = Influxd::shared();
    let db = new_db(server, "csv");
    let dir = tmp_dir("csv");
    let file = dir.join("obs.csv");
    let failed = dir.join("failed.csv");
    std::fs::write(
        &file,
        "when,station,temp,ok,note\n\
         1970-01-01 00:00:01,oslo,1.5,true,\"fine, dry\"\n\
         1970-01-01 00:00:02,rome,20,false,\n\
         yesterday,lima,3,true,x\n\
         1970-01-01 00:00:04,,4,true,\"two\nlines\"\n",
    )
    .expect("write input");
    let mut cmd = write_cmd(server, &db);
    cmd.arg(&file)
        .args(["--measurement", "obs", "--tag", "station", "--time", "when"])
        .args(["--time-format", "%Y-%m-%d %H:%M:%S", "--failed"])
        .arg(&failed);
    let out = run(cmd, b"");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let name = file.display().to_string();
    assert_eq!(
        lines(&stderr),
        vec![format!(
            "{name}:4: \"yesterday\" does not match the time format \"%Y-%m-%d %H:%M:%S\": input contains invalid characters"
        )]
    );
    assert_eq!(
        lines(&stdout)[0],
        "read 4 = written 3 + failed 1 (1 refused before sending, 0 by the server)"
    );
    assert_eq!(
        std::fs::read_to_string(&failed).expect("failed file"),
        format!("# {}\nyesterday,lima,3,true,x\n", lines(&stderr)[0])
    );
    let stored = rows(server, &db, "SELECT station, temp, ok, note FROM obs");
    assert_eq!(
        serde_json::to_string(&stored).expect("json"),
        r#"[[1000000000,"oslo",1.5,true,"fine, dry"],[2000000000,"rome",20,false,null],[4000000000,null,4,true,"two\nlines"]]"#
    );
}

#[test]
fn json_lines_from_stdin() {
    let server = Influxd::shared();
    let db = new_db(server, "jsonl");
    let mut cmd = write_cmd(server, &db);
    cmd.args(["--format", "jsonl", "--time-format", "s"]);
    // Integer times in the --time-format unit, strings in RFC 3339.
    let input = concat!(
        r#"{"measurement":"cpu","tags":{"host":"a"},"fields":{"usage":0.5,"cores":4,"up":true,"os":"linux"},"time":1}"#,
        "\n",
        r#"{"measurement":"cpu","tags":{"host":"b"},"fields":{"usage":0.25},"time":"1970-01-01T00:00:02Z"}"#,
        "\n",
        r#"{"measurement":"cpu","fields":{}}"#,
        "\n",
        "not json\n",
    );
    let out = run(cmd, input.as_bytes());
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let err = lines(&stderr);
    assert_eq!(err.len(), 2, "{stderr}");
    assert_eq!(
        err[0],
        "stdin:3: point \"cpu\": the point has no fields; InfluxDB needs at least one"
    );
    assert!(err[1].starts_with("stdin:4: not JSON"), "{stderr}");
    assert_eq!(
        lines(&stdout)[0],
        "read 4 = written 2 + failed 2 (2 refused before sending, 0 by the server)"
    );
    let stored = rows(server, &db, "SELECT host, usage, cores, up, os FROM cpu");
    assert_eq!(
        serde_json::to_string(&stored).expect("json"),
        r#"[[1000000000,"a",0.5,4,true,"linux"],[2000000000,"b",0.25,null,null,null]]"#
    );
}

#[test]
fn gzip_files_are_inflated() {
    let server = Influxd::shared();
    let db = new_db(server, "gz");
    let dir = tmp_dir("gz");
    let file = dir.join("many.lp.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for i in 0..12_345u64 {
        writeln!(gz, "m,k=k{} v={i}i {i}", i % 7).expect("gzip");
    }
    std::fs::write(&file, gz.finish().expect("gzip")).expect("write input");
    let mut cmd = write_cmd(server, &db);
    cmd.arg(&file);
    let out = run(cmd, b"");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert_eq!(
        lines(&stdout)[0],
        "read 12345 = written 12345 + failed 0 (0 refused before sending, 0 by the server)"
    );
    let count = rows(server, &db, "SELECT count(v), sum(v) FROM m");
    assert_eq!(count[0][1], 12_345);
    assert_eq!(count[0][2], 12_345 * 12_344 / 2);
}

fn query_cmd(server: &Influxd, db: &str, q: &str, extra: &[&str]) -> Command {
    let mut cmd = bin();
    cmd.args(["--url", &server.url(), "-d", db, "query", q]);
    cmd.args(extra);
    cmd
}

fn seed_query_db(server: &Influxd) -> String {
    let db = new_db(server, "query");
    server
        .raw_write(
            &db,
            "cpu,host=a usage=0.5,note=\"x, y\" 1000000000\n\
             cpu,host=b usage=2.5 1500000000\n\
             cpu,host=a usage=1.25 2000000123\n",
        )
        .expect("seed");
    db
}

#[test]
fn query_to_csv_jsonl_and_table() {
    let server = Influxd::shared();
    let db = seed_query_db(server);
    let out = run(query_cmd(server, &db, "SELECT * FROM cpu", &[]), b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "name,time,host,note,usage\n\
         cpu,1970-01-01T00:00:01Z,a,\"x, y\",0.5\n\
         cpu,1970-01-01T00:00:01.5Z,b,,2.5\n\
         cpu,1970-01-01T00:00:02.000000123Z,a,,1.25\n"
    );
    let out = run(
        query_cmd(
            server,
            &db,
            "SELECT usage FROM cpu GROUP BY host",
            &["--format", "jsonl", "--epoch", "ms"],
        ),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        concat!(
            r#"{"name":"cpu","tags":{"host":"a"},"time":1000,"usage":0.5}"#,
            "\n",
            r#"{"name":"cpu","tags":{"host":"a"},"time":2000,"usage":1.25}"#,
            "\n",
            r#"{"name":"cpu","tags":{"host":"b"},"time":1500,"usage":2.5}"#,
            "\n",
        )
    );
    let out = run(
        query_cmd(
            server,
            &db,
            "SELECT usage FROM cpu GROUP BY host",
            &["--format", "table", "--epoch", "s"],
        ),
        b"",
    );
    assert_eq!(
        text(&out.stdout),
        "name  host  time  usage\n\
         ----  ----  ----  -----\n\
         cpu   a     1     0.5\n\
         cpu   a     2     1.25\n\
         cpu   b     1     2.5\n"
    );
}

#[test]
fn a_failed_statement_goes_to_stderr_with_exit_1() {
    let server = Influxd::shared();
    let db = seed_query_db(server);
    let out = run(
        query_cmd(
            server,
            &db,
            "SELECT note FROM cpu; SELECT * FROM nodb_here.autogen.cpu; SELECT note FROM cpu",
            &[],
        ),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "name,time,note\ncpu,1970-01-01T00:00:01Z,\"x, y\"\n"
    );
    // InfluxDB runs no statement after a failed one, and says so.
    let stderr = text(&out.stderr);
    let errors = lines(&stderr);
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(
        errors[0].contains("statement 1: database not found: nodb_here"),
        "{stderr}"
    );
    assert!(errors[1].contains("statement 2: not executed"), "{stderr}");

    let out = run(query_cmd(server, &db, "SELEC nothing", &[]), b"");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert!(
        text(&out.stderr).contains("error parsing query"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn ping_and_listings() {
    let server = Influxd::shared();
    let db = seed_query_db(server);
    server
        .raw_write(&db, "mem,host=a,region=eu free=1i 1")
        .expect("seed");
    let url = server.url();
    let list = |args: &[&str]| {
        let mut cmd = bin();
        cmd.args(["--url", &url, "-d", &db]).args(args);
        let out = run(cmd, b"");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            text(&out.stderr)
        );
        text(&out.stdout)
    };
    assert_eq!(
        list(&["ping"]),
        format!("{url} is up: InfluxDB 1.6.7~rc0 (OSS)\n")
    );
    assert!(list(&["databases"]).lines().any(|l| l == db));
    assert_eq!(list(&["measurements"]), "cpu\nmem\n");
    assert_eq!(
        list(&["field-keys"]),
        "cpu\tnote\tstring\ncpu\tusage\tfloat\nmem\tfree\tinteger\n"
    );
    assert_eq!(list(&["tag-keys"]), "cpu\thost\nmem\thost\nmem\tregion\n");
    assert_eq!(list(&["tag-keys", "--measurement", "cpu"]), "cpu\thost\n");

    let mut cmd = bin();
    cmd.args(["--url", "http://127.0.0.1:1", "ping"]);
    let out = run(cmd, b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("influx-stream: "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn secrets_never_show_in_help() {
    let mut cmd = bin();
    cmd.env("INFLUX_PASSWORD", "hunter2-secret")
        .env("INFLUX_TOKEN", "tok-secret")
        .arg("--help");
    let out = run(cmd, b"");
    let all = text(&out.stdout) + &text(&out.stderr);
    assert_eq!(out.status.code(), Some(0));
    assert!(all.contains("INFLUX_PASSWORD"), "{all}");
    assert!(
        !all.contains("hunter2-secret") && !all.contains("tok-secret"),
        "{all}"
    );
}

/// Reads stderr lines until one satisfies `want`; returns every line read.
fn read_until(stderr: &mut impl BufRead, want: impl Fn(&str) -> bool) -> Vec<String> {
    let mut seen = Vec::new();
    // Bounded by the watchdog: a killed child closes the pipe.
    loop {
        let mut line = String::new();
        match stderr.read_line(&mut line) {
            Ok(0) | Err(_) => panic!("stderr ended before the expected line; saw {seen:?}"),
            Ok(_) => {
                let done = want(&line);
                seen.push(line);
                if done {
                    return seen;
                }
            }
        }
    }
}

fn spawn(mut cmd: Command) -> Child {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.spawn().expect("the binary starts")
}

/// A server killed in the middle of a write: the points sent before are
/// written, those after fail after the retries, the tool says so and ends.
/// Also the plain progress lines, since stderr here is a pipe.
#[test]
fn a_server_killed_mid_write_fails_clearly_and_never_hangs() {
    let mut server = Influxd::start().expect("influxd starts");
    let db = new_db(&server, "killed");
    let dir = tmp_dir("killed");
    let failed = dir.join("failed.lp");
    let mut cmd = bin();
    cmd.args(["--url", &server.url(), "-d", &db, "--timeout", "2", "write"])
        .args(["--flush-interval-ms", "20", "--progress-interval", "0.05"])
        .args(["--retry-for", "1", "--failed"])
        .arg(&failed);
    let mut child = spawn(cmd);
    let dog = Watchdog::new(child.id(), RUN_LIMIT);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut stdout = child.stdout.take().expect("stdout");
    for i in 0..10 {
        writeln!(stdin, "cpu v={i} {}", i + 1).expect("feed");
    }
    stdin.flush().expect("feed");
    let before = read_until(&mut stderr, |l| l.contains(" 10 written,"));
    for l in &before {
        assert!(l.starts_with("progress: ") && !l.contains('\x1b'), "{l:?}");
    }
    server.kill();
    for i in 10..15 {
        writeln!(stdin, "cpu v={i} {}", i + 1).expect("feed");
    }
    stdin.flush().expect("feed");
    read_until(&mut stderr, |l| l.contains(" 5 failed,"));
    // The retries are spent: the next record read stops the write, and
    // the tool ends although its input is still open.
    writeln!(stdin, "cpu v=15 16").expect("feed");
    stdin.flush().expect("feed");
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).expect("stderr");
    let mut out = String::new();
    stdout.read_to_string(&mut out).expect("stdout");
    let status = child.wait().expect("wait");
    drop(stdin);
    // The watchdog is the only bound on time: a hang fails here, a slow
    // but finished run on a busy machine does not.
    assert!(!dog.disarm(), "the write hung after the server was killed");
    assert_eq!(status.code(), Some(1), "{out}{rest}");
    let out_lines = lines(&out);
    assert_eq!(
        out_lines[0], "read 15 = written 10 + failed 5 (0 refused before sending, 5 by the server)",
        "{out}{rest}"
    );
    assert!(
        out_lines[2].starts_with("stopped before stdin:16: writing cannot succeed (")
            && out_lines[2].ends_with("; the rest of the input was not read"),
        "{out}"
    );
    // The five points may have gone out in one batch or more.
    let dead = std::fs::read_to_string(&failed).expect("failed file");
    let (notes, points): (Vec<&str>, Vec<&str>) = dead.lines().partition(|l| l.starts_with('#'));
    assert!(!notes.is_empty(), "{dead}");
    for n in notes {
        assert!(n.starts_with("# the server did not write these "), "{n}");
    }
    assert_eq!(
        points,
        [
            "cpu v=10 11",
            "cpu v=11 12",
            "cpu v=12 13",
            "cpu v=13 14",
            "cpu v=14 15"
        ]
    );
    server.restart().expect("restart");
    let stored = rows(&server, &db, "SELECT count(v) FROM cpu");
    assert_eq!(stored[0][1], 10);
}

/// Ctrl-C (SIGINT) stops reading, settles what was read, and reports it,
/// even with the input still open.
#[test]
fn interrupt_settles_what_was_read() {
    let server = Influxd::shared();
    let db = new_db(server, "interrupt");
    let mut cmd = bin();
    cmd.args(["--url", &server.url(), "-d", &db, "write"])
        .args(["--flush-interval-ms", "20", "--progress-interval", "0.05"]);
    let mut child = spawn(cmd);
    let dog = Watchdog::new(child.id(), RUN_LIMIT);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut stdout = child.stdout.take().expect("stdout");
    for i in 0..3 {
        writeln!(stdin, "cpu v={i} {}", i + 1).expect("feed");
    }
    stdin.flush().expect("feed");
    read_until(&mut stderr, |l| l.contains(" 3 written,"));
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let mut out = String::new();
    stdout.read_to_string(&mut out).expect("stdout");
    let status = child.wait().expect("wait");
    drop(stdin);
    assert!(!dog.disarm(), "the interrupted write hung");
    assert_eq!(status.code(), Some(1), "{out}");
    assert_eq!(
        lines(&out)[0],
        "read 3 = written 3 + failed 0 (0 refused before sending, 0 by the server)"
    );
    assert_eq!(
        lines(&out)[2],
        "interrupted while reading stdin; the rest of the input was not read"
    );
    assert_eq!(rows(server, &db, "SELECT count(v) FROM cpu")[0][1], 3);
}

/// Under a pseudo-terminal (`script`) stderr gets the redrawn bar; the
/// summary is the same.
#[test]
fn progress_bar_under_a_pseudo_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` command (util-linux) for a pseudo-terminal");
        return;
    }
    let server = Influxd::shared();
    let db = new_db(server, "pty");
    let dir = tmp_dir("pty");
    let file = dir.join("p.lp");
    std::fs::write(&file, "cpu v=1 1\ncpu v=2 2\n").expect("input");
    let line = format!(
        "{} --url {} -d {db} write {}",
        env!("CARGO_BIN_EXE_influx-stream"),
        server.url(),
        file.display()
    );
    let mut cmd = Command::new("script");
    cmd.args(["-qefc", &line, "/dev/null"]);
    let out = run(cmd, b"");
    let all = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains('\x1b'), "no terminal drawing: {all:?}");
    assert!(
        all.contains("read 2 = written 2 + failed 0 (0 refused before sending, 0 by the server)"),
        "{all:?}"
    );
    assert_eq!(rows(server, &db, "SELECT count(v) FROM cpu")[0][1], 2);
}

const HOUR: i64 = 3_600_000_000_000;

fn seed_copy_source(server: &Influxd) -> String {
    let db = new_db(server, "copysrc");
    let mut lines = String::new();
    for i in 0..18i64 {
        let t = i * HOUR / 6;
        // Whole floats (usage=2 on every third) must stay floats.
        let usage = if i % 3 == 0 {
            format!("{}", i / 3)
        } else {
            format!("{}.5", i)
        };
        let host = if i % 2 == 0 {
            "host=a,region=eu"
        } else {
            "host=b"
        };
        lines.push_str(&format!(
            "cpu,{host} usage={usage},count={i}i,ok={},note=\"n {i}\" {t}\n",
            i % 2 == 0
        ));
        lines.push_str(&format!("mem,host=a free={}i {t}\n", 100 - i));
    }
    server.raw_write(&db, &lines).expect("seed");
    db
}

fn copy_cmd(src: &Influxd, db: &str, dest: &str, extra: &[&str], more: &[&str]) -> Command {
    let mut cmd = bin();
    cmd.args([
        "--url",
        &src.url(),
        "-d",
        db,
        "copy",
        "--no-progress",
        "--to-url",
        dest,
    ]);
    cmd.args(extra).args(more);
    cmd
}

#[test]
fn copy_between_two_servers_window_by_window_and_resume() {
    let src = Influxd::shared();
    let db = seed_copy_source(src);
    let dest = Influxd::start().expect("second influxd");
    dest.raw_query(&format!("CREATE DATABASE {db}"))
        .expect("dest db");
    let dir = tmp_dir("copy");
    let state = dir.join("state.json");
    let state_arg = state.display().to_string();
    let two_hours = (2 * HOUR).to_string();
    let out = run(
        copy_cmd(
            src,
            &db,
            &dest.url(),
            &["--start", "1970-01-01T00:00:00Z", "--end", &two_hours],
            &["--window", "1h", "--state", &state_arg],
        ),
        b"",
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("read 24 = written 24 + failed 0 in 2 window(s), "),
        "{stdout}"
    );
    let saved = saved_state(&state);
    assert_eq!(saved["next"], 2 * HOUR);
    assert_eq!(saved["written"], 24);
    assert_eq!(saved["measurements"], serde_json::json!(["cpu", "mem"]));

    let out = run(
        copy_cmd(
            src,
            &db,
            &dest.url(),
            &[
                "--resume",
                "--state",
                &state_arg,
                "--end",
                &(3 * HOUR).to_string(),
            ],
            &[],
        ),
        b"",
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("read 12 = written 12 + failed 0 in 1 window(s), "),
        "{stdout}"
    );
    assert_eq!(
        lines(&stdout)[1],
        "since the copy began: read 36 = written 36 + failed 0"
    );

    assert_same_answers(
        (src, &db),
        (&dest, &db),
        &[
            "SELECT * FROM cpu GROUP BY *",
            "SELECT * FROM mem GROUP BY *",
            "SHOW FIELD KEYS",
            "SHOW TAG KEYS",
            "SHOW SERIES",
        ],
    );
    assert_eq!(rows(&dest, &db, "SELECT count(usage) FROM cpu")[0][1], 18);
}

#[test]
fn copy_to_an_unreachable_destination_stops_without_moving_the_state() {
    let src = Influxd::shared();
    let db = seed_copy_source(src);
    let dir = tmp_dir("copydown");
    let state = dir.join("state.json");
    let state_arg = state.display().to_string();
    let out = run(
        copy_cmd(
            src,
            &db,
            "http://127.0.0.1:1",
            &["--start", "0", "--end", &HOUR.to_string()],
            &[
                "--window",
                "30m",
                "--retry-for",
                "0.2",
                "--state",
                &state_arg,
            ],
        ),
        b"",
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("stopped at 1970-01-01T00:00:00Z; run again with --resume to go on"),
        "{stdout}"
    );
    assert!(
        stderr.contains("the destination could not be written to"),
        "{stderr}"
    );
    let saved = saved_state(&state);
    assert_eq!(saved["next"], 0);
    assert_eq!(saved["written"], 0);
}

/// A proxy to `target` that drops the `Accept` header of every request:
/// a server that answers `/query` in JSON whatever is asked for. Only for
/// requests without a body (the source's side of copy sends GETs). Returns
/// its URL and the number of `Accept` headers it dropped.
fn json_only_proxy(
    target: std::net::SocketAddr,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    use std::sync::Arc;
    let listener = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
    let url = format!("http://{}", listener.local_addr().expect("proxy addr"));
    let dropped = Arc::new(AtomicUsize::new(0));
    let count = dropped.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().take(64).flatten() {
            let Ok(server) = TcpStream::connect(target) else {
                return;
            };
            let (Ok(mut from_client), Ok(mut to_server)) = (client.try_clone(), server.try_clone())
            else {
                return;
            };
            let (mut from_server, mut to_client) = (server, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_server, &mut to_client);
            });
            let count = count.clone();
            std::thread::spawn(move || {
                // Request heads one after another, each up to 64 KiB.
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while head.len() < 64 * 1024 && matches!(from_client.read(&mut byte), Ok(1)) {
                    head.push(byte[0]);
                    if !head.ends_with(b"\r\n\r\n") {
                        continue;
                    }
                    let text = String::from_utf8_lossy(&head).into_owned();
                    let kept: String = text
                        .split_inclusive("\r\n")
                        .filter(|line| {
                            let accept = line.to_ascii_lowercase().starts_with("accept:");
                            if accept {
                                count.fetch_add(1, Relaxed);
                            }
                            !accept
                        })
                        .collect();
                    if to_server.write_all(kept.as_bytes()).is_err() {
                        return;
                    }
                    head.clear();
                }
            });
        }
    });
    (url, dropped)
}

/// copy asks the source for MessagePack; a source that answers in JSON
/// instead is read in JSON, and the copy holds the same.
#[test]
fn copy_from_a_source_that_answers_only_json() {
    let src = Influxd::shared();
    let db = seed_copy_source(src);
    let dest = new_db(src, "copyjson");
    let (url, dropped) = json_only_proxy(src.addr());
    let mut cmd = bin();
    cmd.args(["--url", &url, "-d", &db, "copy", "--no-progress"])
        .args(["--to-url", &src.url(), "--to-database", &dest])
        .args(["--start", "0", "--end", &(3 * HOUR).to_string()])
        .args(["--window", "1h"]);
    let out = run(cmd, b"");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("read 36 = written 36 + failed 0 in 3 window(s), "),
        "{stdout}"
    );
    assert!(
        dropped.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "copy asked for no other format"
    );
    assert_same_answers(
        (src, &db),
        (src, &dest),
        &[
            "SELECT * FROM cpu GROUP BY *",
            "SELECT * FROM mem GROUP BY *",
            "SHOW FIELD KEYS",
            "SHOW SERIES",
        ],
    );
}

/// A window the source refuses to read (here past its max-select-series,
/// a real server's limit) stops the copy at that window with the source's
/// reason: the windows before it are written and recorded, nothing after,
/// though the reading runs ahead of the writing.
#[test]
fn a_window_the_source_refuses_stops_the_copy_there() {
    // tsi1 keeps an index per shard, so the limit counts a window's series.
    let src = Influxd::start_with(&[
        ("INFLUXDB_COORDINATOR_MAX_SELECT_SERIES", "1"),
        ("INFLUXDB_DATA_INDEX_VERSION", "tsi1"),
    ])
    .expect("influxd with max-select-series 1");
    let db = new_db(&src, "copylimit");
    // Shard groups of the default policy are 7 days from 0001-01-01, so
    // in epoch days they start at 4, 11, 18, ...: the windows below match
    // them. The first holds one series, the second two.
    let day = 24 * HOUR;
    src.raw_write(
        &db,
        &format!(
            "cpu,host=a v=1 {}\ncpu,host=a v=2 {}\ncpu,host=b v=3 {}\n",
            4 * day + HOUR,
            11 * day + HOUR,
            11 * day + 2 * HOUR
        ),
    )
    .expect("seed");
    let dest = new_db(&src, "copylimitdst");
    let dir = tmp_dir("copylimit");
    let state = dir.join("state.json");
    let state_arg = state.display().to_string();
    let out = run(
        copy_cmd(
            &src,
            &db,
            &src.url(),
            &["--to-database", &dest, "--start", &(4 * day).to_string()],
            &[
                "--end",
                &(25 * day).to_string(),
                "--window",
                "7d",
                "--state",
                &state_arg,
            ],
        ),
        b"",
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("read 1 = written 1 + failed 0 in 1 window(s), "),
        "{stdout}{stderr}"
    );
    assert!(
        stdout.contains("stopped at 1970-01-12T00:00:00Z; run again with --resume to go on"),
        "{stdout}"
    );
    assert!(
        stderr.starts_with("influx-stream: reading cpu: ")
            && stderr.contains("max-select-series limit exceeded"),
        "{stderr}"
    );
    let saved = saved_state(&state);
    assert_eq!(
        (saved["next"].clone(), saved["written"].clone()),
        ((11 * day).into(), 1.into())
    );
    assert_eq!(
        serde_json::to_string(&rows(&src, &dest, "SELECT v FROM cpu")).expect("json"),
        format!("[[{},1]]", 4 * day + HOUR)
    );
}

/// VictoriaMetrics as a copy destination: every value arrives, under
/// VictoriaMetrics' names (`measurement_field`, the database as `db`).
#[test]
fn copy_into_victoria_metrics() {
    copy_into_victoria_metrics_with(&[]);
}

/// The same through its `/api/v2/write` (VictoriaMetrics 1.79 takes it and
/// ignores the organisation; the library names the database in `db`).
#[test]
fn copy_into_victoria_metrics_over_api_v2_write() {
    copy_into_victoria_metrics_with(&["--to-write-api", "v2", "--to-org", "any-org"]);
}

fn copy_into_victoria_metrics_with(write_api: &[&str]) {
    let src = Influxd::shared();
    let db = new_db(src, "copyvm");
    let t0: i64 = 1_700_000_000_000_000_000;
    let step: i64 = 600_000_000_000;
    let mut seed = String::new();
    for i in 0..12i64 {
        let host = if i % 2 == 0 { "a" } else { "b" };
        seed.push_str(&format!(
            "cpu,host={host} usage={}.25,count={i}i {}\n",
            i,
            t0 + i * step
        ));
    }
    src.raw_write(&db, &seed).expect("seed");
    let vm = victoria::Victoria::start().expect("victoria-metrics starts");
    let mut to = vec![
        "--to-server",
        "victoriametrics",
        "--to-database",
        "telemetry",
    ];
    to.extend_from_slice(write_api);
    let out = run(
        copy_cmd(
            src,
            &db,
            &vm.url(),
            &to,
            &[
                "--start",
                &t0.to_string(),
                "--end",
                &(t0 + 2 * HOUR).to_string(),
            ],
        ),
        b"",
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("read 12 = written 12 + failed 0 in 2 window(s), "),
        "{stdout}"
    );
    let mut series: Vec<(String, Vec<f64>, Vec<i64>)> = vm
        .export("{db=\"telemetry\"}")
        .expect("export")
        .into_iter()
        .map(|s| {
            let name = format!(
                "{}{{host={}}}",
                s.metric.get("__name__").cloned().unwrap_or_default(),
                s.metric.get("host").cloned().unwrap_or_default()
            );
            (name, s.values, s.timestamps)
        })
        .collect();
    series.sort_by(|a, b| a.0.cmp(&b.0));
    let ms = |i: i64| (t0 + i * step) / 1_000_000;
    let even: Vec<i64> = (0..12).step_by(2).collect();
    let odd: Vec<i64> = (1..12).step_by(2).collect();
    let expect = |name: &str, idx: &[i64], f: fn(i64) -> f64| {
        (
            name.to_owned(),
            idx.iter().map(|&i| f(i)).collect::<Vec<f64>>(),
            idx.iter().map(|&i| ms(i)).collect::<Vec<i64>>(),
        )
    };
    assert_eq!(
        series,
        vec![
            expect("cpu_count{host=a}", &even, |i| i as f64),
            expect("cpu_count{host=b}", &odd, |i| i as f64),
            expect("cpu_usage{host=a}", &even, |i| i as f64 + 0.25),
            expect("cpu_usage{host=b}", &odd, |i| i as f64 + 0.25),
        ]
    );
}

/// A row the destination's encoder refuses (a string field, which
/// VictoriaMetrics would store as 0) is named with its measurement and
/// time, counted, and kept in --failed; the other rows are written.
#[test]
fn copy_names_the_rows_the_destination_would_alter() {
    let src = Influxd::shared();
    let db = new_db(src, "copyvmstr");
    let t0: i64 = 1_700_000_000_000_000_000;
    src.raw_write(
        &db,
        &format!(
            "cpu,host=a usage=1.5 {t0}\ncpu,host=a usage=2.5,note=\"busy\" {}\ncpu,host=b usage=3.5 {}\n",
            t0 + 1,
            t0 + 2
        ),
    )
    .expect("seed");
    let vm = victoria::Victoria::start().expect("victoria-metrics starts");
    let dir = tmp_dir("copyvmstr");
    let failed = dir.join("failed.lp");
    let failed_arg = failed.display().to_string();
    let out = run(
        copy_cmd(
            src,
            &db,
            &vm.url(),
            &["--to-server", "victoriametrics", "--to-database", "t"],
            &[
                "--start",
                &t0.to_string(),
                "--end",
                &(t0 + HOUR).to_string(),
                "--failed",
                &failed_arg,
            ],
        ),
        b"",
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.starts_with("read 3 = written 2 + failed 1 in 1 window(s), "),
        "{stdout}"
    );
    let dead = std::fs::read_to_string(&failed).expect("failed file");
    let prefix = format!("# cpu at {}: ", t0 + 1);
    assert!(
        dead.starts_with(&prefix) && dead.contains("\"note\"") && dead.lines().count() == 1,
        "{dead}"
    );
    assert!(stderr.contains(&prefix[2..]), "{stderr}");
    let mut held: Vec<(String, Vec<f64>)> = vm
        .export("{db=\"t\"}")
        .expect("export")
        .into_iter()
        .map(|s| (s.metric.get("host").cloned().unwrap_or_default(), s.values))
        .collect();
    held.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        held,
        vec![("a".to_owned(), vec![1.5]), ("b".to_owned(), vec![3.5])]
    );
}

/// What `seed_copy_source` wrote, as the 2.x/3.x stand-in stores it:
/// measurement, tags, typed fields and time.
fn seeded_points() -> Vec<protocol::Stored> {
    use protocol::{Field, Stored};
    let tags = |kv: &[(&str, &str)]| {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let mut out = Vec::new();
    for i in 0..18i64 {
        let time_ns = i * HOUR / 6;
        let usage = if i % 3 == 0 {
            (i / 3) as f64
        } else {
            i as f64 + 0.5
        };
        out.push(Stored {
            measurement: "cpu".into(),
            tags: if i % 2 == 0 {
                tags(&[("host", "a"), ("region", "eu")])
            } else {
                tags(&[("host", "b")])
            },
            fields: [
                ("usage".to_owned(), Field::Float(usage)),
                ("count".to_owned(), Field::Integer(i)),
                ("ok".to_owned(), Field::Bool(i % 2 == 0)),
                ("note".to_owned(), Field::String(format!("n {i}"))),
            ]
            .into_iter()
            .collect(),
            time_ns,
        });
        out.push(Stored {
            measurement: "mem".into(),
            tags: tags(&[("host", "a")]),
            fields: [("free".to_owned(), Field::Integer(100 - i))]
                .into_iter()
                .collect(),
            time_ns,
        });
    }
    out
}

fn sorted(mut points: Vec<protocol::Stored>) -> Vec<protocol::Stored> {
    points.sort_by(|a, b| {
        (&a.measurement, &a.tags, a.time_ns).cmp(&(&b.measurement, &b.tags, b.time_ns))
    });
    points
}

/// Copies the seeded source into the 2.x or 3.x stand-in with `to` (the
/// write API flags) and checks the summary; the server is handed back so
/// the caller reads what it holds.
fn copy_into_stand_in(
    flavor: protocol::Flavor,
    buckets: &[&str],
    to: &[&str],
) -> (tokio::runtime::Runtime, protocol::ProtocolServer) {
    let src = Influxd::shared();
    let db = seed_copy_source(src);
    let rt = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let server = rt
        .block_on(protocol::ProtocolServer::start(
            flavor, "s3cret", "acme", buckets,
        ))
        .expect("the stand-in starts");
    let mut cmd = copy_cmd(
        src,
        &db,
        &server.url(),
        to,
        &[
            "--start",
            "0",
            "--end",
            &(3 * HOUR).to_string(),
            "--window",
            "1h",
        ],
    );
    cmd.env("INFLUX_TO_TOKEN", "s3cret");
    let out = run(cmd, b"");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("read 36 = written 36 + failed 0 in 3 window(s), "),
        "{stdout}"
    );
    (rt, server)
}

/// Into InfluxDB 2.x through `/api/v2/write` (the stand-in written from
/// its API reference): every point with its tags, field types and time.
#[test]
fn copy_into_2x_over_api_v2_write() {
    let (_rt, server) = copy_into_stand_in(
        protocol::Flavor::V2,
        &["metrics"],
        &[
            "--to-write-api",
            "v2",
            "--to-org",
            "acme",
            "--to-database",
            "metrics",
        ],
    );
    assert_eq!(sorted(server.points("metrics")), sorted(seeded_points()));
    let writes: Vec<_> = server
        .requests()
        .into_iter()
        .map(|r| (r.path.clone(), r.auth_scheme.clone(), r.param("precision")))
        .collect();
    // One batch per window: three windows.
    assert_eq!(
        writes,
        vec![
            (
                "/api/v2/write".to_owned(),
                Some("Token".to_owned()),
                Some("ns".to_owned())
            );
            3
        ]
    );
}

/// Into InfluxDB 3.x through `/api/v3/write_lp` with a Bearer token.
#[test]
fn copy_into_3x_over_api_v3_write() {
    let (_rt, server) = copy_into_stand_in(
        protocol::Flavor::V3,
        &[],
        &[
            "--to-write-api",
            "v3",
            "--to-token-scheme",
            "bearer",
            "--to-database",
            "sensors",
        ],
    );
    assert_eq!(sorted(server.points("sensors")), sorted(seeded_points()));
    let writes: Vec<_> = server
        .requests()
        .into_iter()
        .map(|r| (r.path.clone(), r.auth_scheme.clone(), r.param("db")))
        .collect();
    assert_eq!(
        writes,
        vec![
            (
                "/api/v3/write_lp".to_owned(),
                Some("Bearer".to_owned()),
                Some("sensors".to_owned())
            );
            3
        ]
    );
}

/// HTTPS with a private CA, from --ca-cert and from INFLUX_CA_CERT: ping,
/// a write and the query reading it back; without the CA, a TLS failure.
#[test]
fn https_with_a_private_ca() {
    let pki = pki::Pki::new("cli").expect("test CA");
    let dir = tmp_dir("https");
    let (cert, key, ca) = (
        dir.join("server.pem"),
        dir.join("server.key"),
        dir.join("ca.pem"),
    );
    std::fs::write(&cert, &pki.server_cert_pem).expect("cert");
    std::fs::write(&key, &pki.server_key_pem).expect("key");
    std::fs::write(&ca, &pki.ca_pem).expect("ca");
    let server = Influxd::start_with(&[
        ("INFLUXDB_HTTP_HTTPS_ENABLED", "true"),
        ("INFLUXDB_HTTP_HTTPS_CERTIFICATE", &cert.to_string_lossy()),
        ("INFLUXDB_HTTP_HTTPS_PRIVATE_KEY", &key.to_string_lossy()),
    ])
    .expect("HTTPS influxd");
    let url = server.https_url();
    let ca_arg = ca.display().to_string();

    let mut cmd = bin();
    cmd.args([
        "--url",
        &url,
        "--ca-cert",
        &ca_arg,
        "--only-ca-cert",
        "ping",
    ]);
    let out = run(cmd, b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{url} is up: InfluxDB 1.6.7~rc0 (OSS)\n")
    );

    let with_env = |args: &[&str], stdin: &[u8]| {
        let mut cmd = bin();
        cmd.env("INFLUX_URL", &url)
            .env("INFLUX_CA_CERT", &ca)
            .env("INFLUX_DATABASE", "tls")
            .args(args);
        run(cmd, stdin)
    };
    let mut create = bin();
    create.args([
        "--url",
        &url,
        "--ca-cert",
        &ca_arg,
        "query",
        "CREATE DATABASE tls",
    ]);
    assert_eq!(run(create, b"").status.code(), Some(0));
    let out = with_env(
        &["write", "--no-progress"],
        b"cpu,host=a v=1.5 1000000000\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = with_env(&["query", "SELECT v FROM cpu"], b"");
    assert_eq!(
        text(&out.stdout),
        "name,time,v\ncpu,1970-01-01T00:00:01Z,1.5\n"
    );

    let mut cmd = bin();
    cmd.args(["--url", &url, "ping"]);
    let out = run(cmd, b"");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with("influx-stream: ") && stderr.contains("certificate"),
        "{stderr}"
    );
}

/// Basic authentication from the environment; a wrong password is refused
/// and shown nowhere.
#[test]
fn credentials_from_the_environment_are_used_and_never_shown() {
    let server = Influxd::start_with(&[("INFLUXDB_HTTP_AUTH_ENABLED", "true")]).expect("influxd");
    server
        .raw_query("CREATE USER admin WITH PASSWORD 'right-pass-123' WITH ALL PRIVILEGES")
        .expect("admin user");
    let list = |password: &str| {
        let mut cmd = bin();
        cmd.env("INFLUX_URL", server.url())
            .env("INFLUX_USERNAME", "admin")
            .env("INFLUX_PASSWORD", password)
            .arg("databases");
        run(cmd, b"")
    };
    let mut create = bin();
    create.env("INFLUX_PASSWORD", "right-pass-123").args([
        "--url",
        &server.url(),
        "-u",
        "admin",
        "query",
        "CREATE DATABASE authdb",
    ]);
    assert_eq!(run(create, b"").status.code(), Some(0));
    let out = list("right-pass-123");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).lines().any(|l| l == "authdb"));
    let out = list("wrong-pass-456");
    let all = text(&out.stdout) + &text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("influx-stream: ") && all.contains("401"),
        "{all}"
    );
    assert!(!all.contains("wrong-pass-456"), "{all}");

    let mut cmd = bin();
    cmd.args(["--url", &server.url(), "-u", "admin", "databases"]);
    let out = run(cmd, b"");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "influx-stream: --username needs a password: set INFLUX_PASSWORD (or --password)\n"
    );
}

/// A database that does not exist fails the first batch; the write stops
/// there instead of sending (and dead-lettering) the whole input.
#[test]
fn a_missing_database_stops_the_write_at_the_first_batch() {
    let server = Influxd::shared();
    let dir = tmp_dir("nodb");
    let file = dir.join("many.lp");
    let failed = dir.join("failed.lp");
    let mut body = String::new();
    for i in 0..30_000 {
        body.push_str(&format!("m v={i} {}\n", i + 1));
    }
    std::fs::write(&file, body).expect("input");
    let mut cmd = write_cmd(server, "no_such_db_here");
    cmd.arg(&file)
        .args(["--batch-points", "1000", "--failed"])
        .arg(&failed);
    let out = run(cmd, b"");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    let summary = lines(&stdout);
    // Whatever was read when the first failure arrived is accounted for,
    // and nothing of it was written.
    let read: u64 = summary[0]
        .strip_prefix("read ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("read count");
    assert!(read < 30_000, "{stdout}");
    assert_eq!(
        summary[0],
        format!("read {read} = written 0 + failed {read} (0 refused before sending, {read} by the server)")
    );
    assert!(
        summary[2].starts_with(&format!("stopped before {}:", file.display()))
            && summary[2].contains("database not found"),
        "{stdout}"
    );
    let dead = std::fs::read_to_string(&failed).expect("failed file");
    assert_eq!(
        dead.lines().filter(|l| !l.starts_with('#')).count() as u64,
        read
    );
}

/// --precision applies to line-protocol timestamps; CSV takes the
/// measurement from a column, forced field types and ignored columns.
#[test]
fn precision_measurement_column_field_types_and_ignore() {
    let server = Influxd::shared();
    let db = new_db(server, "flags");
    let mut cmd = write_cmd(server, &db);
    cmd.args(["--precision", "s"]);
    let out = run(cmd, b"cpu v=1 5\n");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        serde_json::to_string(&rows(server, &db, "SELECT v FROM cpu")).expect("json"),
        "[[5000000000,1]]"
    );

    let dir = tmp_dir("flags");
    let file = dir.join("mixed.csv");
    std::fs::write(
        &file,
        "kind;t;n;label;junk\nalpha;1;7;x;zzz\nbeta;2;8;y;zzz\nalpha;3;9.5;z;zzz\n",
    )
    .expect("input");
    let mut cmd = write_cmd(server, &db);
    cmd.arg(&file).args([
        "--delimiter",
        ";",
        "--measurement-column",
        "kind",
        "--time",
        "t",
        "--time-format",
        "ms",
        "--field-type",
        "n=integer",
        "--ignore",
        "junk",
    ]);
    let out = run(cmd, b"");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(
        lines(&stderr),
        [format!(
            "{}:4: field \"n\": \"9.5\" is not an integer",
            file.display()
        )]
    );
    assert_eq!(
        serde_json::to_string(&rows(server, &db, "SELECT * FROM alpha")).expect("json"),
        r#"[[1000000,"x",7]]"#
    );
    assert_eq!(
        serde_json::to_string(&rows(server, &db, "SELECT * FROM beta")).expect("json"),
        r#"[[2000000,"y",8]]"#
    );
    let keys = rows(server, &db, "SHOW FIELD KEYS FROM alpha");
    assert_eq!(
        serde_json::to_string(&keys).expect("json"),
        r#"[["label","string"],["n","integer"]]"#
    );
}

/// Columns that change between series start a new header (CSV) or a new
/// table, after a blank line.
#[test]
fn changing_columns_start_a_new_header() {
    let server = Influxd::shared();
    let db = new_db(server, "blocks");
    server
        .raw_write(
            &db,
            "cpu,host=a usage=0.5 1000000000\nmem free=3i 2000000000\n",
        )
        .expect("seed");
    let q = "SELECT usage FROM cpu; SELECT free FROM mem";
    let out = run(query_cmd(server, &db, q, &["--epoch", "s"]), b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "name,time,usage\ncpu,1,0.5\n\nname,time,free\nmem,2,3\n"
    );
    let out = run(
        query_cmd(server, &db, q, &["--epoch", "s", "-f", "table"]),
        b"",
    );
    assert_eq!(
        text(&out.stdout),
        "name  time  usage\n----  ----  -----\ncpu   1     0.5\n\nname  time  free\n----  ----  ----\nmem   2     3\n"
    );
}

/// Points the destination refuses (a field type conflict) are counted in
/// the window's check and kept in --failed; the copy still finishes.
#[test]
fn copy_counts_and_keeps_points_the_destination_refuses() {
    let server = Influxd::shared();
    let src = new_db(server, "copyref");
    let dst = new_db(server, "copyrefdst");
    server
        .raw_write(
            &src,
            "cpu,host=a usage=0.5,load=1i 1000000000\ncpu,host=b usage=1.5 2000000000\nmem free=7i 3000000000\n",
        )
        .expect("seed source");
    // In the destination `usage` is already a string: the copies conflict.
    server
        .raw_write(&dst, "cpu,host=z usage=\"busy\" 500000000")
        .expect("seed destination");
    let dir = tmp_dir("copyref");
    let failed = dir.join("failed.lp");
    let failed_arg = failed.display().to_string();
    let state = dir.join("state.json");
    let state_arg = state.display().to_string();
    let out = run(
        copy_cmd(
            server,
            &src,
            &server.url(),
            &[
                "--to-database",
                &dst,
                "--start",
                "0",
                "--end",
                "10000000000",
            ],
            &[
                "--window",
                "10s",
                "--failed",
                &failed_arg,
                "--state",
                &state_arg,
            ],
        ),
        b"",
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("read 3 = written 1 + failed 2 in 1 window(s), "),
        "{stdout}"
    );
    let dead = std::fs::read_to_string(&failed).expect("failed file");
    let (notes, points): (Vec<&str>, Vec<&str>) = dead.lines().partition(|l| l.starts_with('#'));
    // InfluxDB 1.x says how many it dropped, not which: the whole batch
    // is kept, under a note saying so.
    assert_eq!(notes.len(), 1, "{dead}");
    assert!(
        notes[0]
            .starts_with("# the server dropped 2 of the 3 points below and does not say which:")
            && notes[0].contains("field type conflict"),
        "{dead}"
    );
    assert_eq!(
        points,
        [
            "cpu,host=a load=1i,usage=0.5 1000000000",
            "cpu,host=b usage=1.5 2000000000",
            "mem free=7i 3000000000"
        ]
    );
    assert_eq!(
        serde_json::to_string(&rows(server, &dst, "SELECT free FROM mem")).expect("json"),
        "[[3000000000,7]]"
    );
    // The state counts exactly the dead letters the file holds.
    let saved = saved_state(&state);
    assert_eq!(
        (saved["read"].clone(), saved["failed"].clone()),
        (3.into(), 2.into())
    );

    // A resumed run that fails nothing succeeds, though the copy as a
    // whole has failures; the earlier dead letters stay in --failed.
    let out = run(
        copy_cmd(
            server,
            &src,
            &server.url(),
            &["--to-database", &dst, "--resume", "--state", &state_arg],
            &["--end", "20000000000", "--failed", &failed_arg],
        ),
        b"",
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("read 0 = written 0 + failed 0 in 1 window(s), "),
        "{stdout}"
    );
    assert_eq!(
        lines(&stdout)[1],
        "since the copy began: read 3 = written 1 + failed 2"
    );
    assert_eq!(std::fs::read_to_string(&failed).expect("failed file"), dead);
}

/// Under a pseudo-terminal the bar shows the counts while the input is
/// still open (read from the terminal itself), and the summary follows
/// Ctrl-D.
#[test]
fn progress_bar_shows_the_counts_under_a_pseudo_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: no `script` command (util-linux) for a pseudo-terminal");
        return;
    }
    let server = Influxd::shared();
    let db = new_db(server, "ptybar");
    let line = format!(
        "{} --url {} -d {db} write --flush-interval-ms 20",
        env!("CARGO_BIN_EXE_influx-stream"),
        server.url()
    );
    let mut cmd = Command::new("script");
    cmd.args(["-qefc", &line, "/dev/null"]);
    let mut child = spawn(cmd);
    let dog = Watchdog::new(child.id(), RUN_LIMIT);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    stdin.write_all(b"cpu v=1 1\ncpu v=2 2\n").expect("feed");
    stdin.flush().expect("feed");
    // Bounded by the watchdog: a killed child closes the pipe.
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !text(&seen).contains("2 read, 2 written, 0 failed") {
        match stdout.read(&mut buf) {
            Ok(0) | Err(_) => panic!(
                "the terminal closed before the bar showed the counts: {:?}",
                text(&seen)
            ),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    // Ctrl-D: end of input on a terminal.
    stdin.write_all(b"\x04").expect("eof");
    stdin.flush().expect("eof");
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).expect("rest");
    let status = child.wait().expect("wait");
    drop(stdin);
    assert!(!dog.disarm(), "the write under a terminal hung");
    let all = text(&seen) + &text(&rest);
    assert_eq!(status.code(), Some(0), "{all:?}");
    assert!(all.contains('\x1b'), "{all:?}");
    assert!(
        all.contains("read 2 = written 2 + failed 0 (0 refused before sending, 0 by the server)"),
        "{all:?}"
    );
    assert_eq!(rows(server, &db, "SELECT count(v) FROM cpu")[0][1], 2);
}

/// A file that cannot be read (not gzip despite its name) is reported and
/// the other files are still written; the exit status says it failed.
#[test]
fn an_unreadable_file_is_reported_and_the_others_are_written() {
    let server = Influxd::shared();
    let db = new_db(server, "corrupt");
    let dir = tmp_dir("corrupt");
    let bad = dir.join("bad.lp.gz");
    let good = dir.join("good.lp");
    std::fs::write(&bad, "cpu v=1 1\n").expect("bad");
    std::fs::write(&good, "cpu v=2 2\ncpu v=3 3\n").expect("good");
    let mut cmd = write_cmd(server, &db);
    cmd.arg(&bad).arg(&good);
    let out = run(cmd, b"");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "influx-stream: {}: cannot read the input: ",
            bad.display()
        )) && stderr.contains("is not readable as gzip"),
        "{stderr}"
    );
    let summary = lines(&stdout);
    assert_eq!(
        summary[0],
        "read 2 = written 2 + failed 0 (0 refused before sending, 0 by the server)"
    );
    assert!(summary[2].starts_with("error: "), "{stdout}");
    assert_eq!(rows(server, &db, "SELECT count(v) FROM cpu")[0][1], 2);
}

/// Runs the binary against a port nothing listens on, for errors found
/// before any request: the exit code, stdout and stderr.
fn offline(args: &[&str]) -> (Option<i32>, String, String) {
    let mut cmd = bin();
    cmd.args(["--url", "http://127.0.0.1:1", "-d", "db"])
        .args(args);
    let out = run(cmd, b"");
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// Seconds flags out of range are usage errors naming the flag and its
/// range, never a panic (`Duration::from_secs_f64` panics on them, and
/// `tokio::time::interval` on a zero interval).
#[test]
fn seconds_flags_out_of_range_are_usage_errors() {
    let copy = [
        "copy",
        "--to-database",
        "other",
        "--start",
        "0",
        "--end",
        "1",
    ];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--timeout", "1e20", "ping"],
            "--timeout 100000000000000000000: expected a number of seconds from 0.001 to 31536000",
        ),
        (
            vec!["--timeout", "0", "ping"],
            "--timeout 0: expected a number of seconds from 0.001 to 31536000",
        ),
        (
            vec!["write", "--retry-for", "1e20"],
            "--retry-for 100000000000000000000: expected a number of seconds from 0 to 31536000",
        ),
        (
            vec!["write", "--retry-for", "inf"],
            "--retry-for inf: expected a number of seconds from 0 to 31536000",
        ),
        (
            vec!["write", "--progress-interval", "1e-10"],
            "--progress-interval 0.0000000001: expected a number of seconds from 0.001 to 31536000",
        ),
        (
            vec!["write", "--progress-interval", "NaN"],
            "--progress-interval NaN: expected a number of seconds from 0.001 to 31536000",
        ),
        (
            [&copy[..], &["--retry-for", "inf"]].concat(),
            "--retry-for inf: expected a number of seconds from 0 to 31536000",
        ),
        (
            [&copy[..], &["--progress-interval", "1e-10"]].concat(),
            "--progress-interval 0.0000000001: expected a number of seconds from 0.001 to 31536000",
        ),
        (
            [&copy[..], &["--timeout", "1e20"]].concat(),
            "--timeout 100000000000000000000: expected a number of seconds from 0.001 to 31536000",
        ),
    ];
    for (args, want) in cases {
        let (code, stdout, stderr) = offline(&args);
        assert_eq!(code, Some(2), "{args:?}: {stdout}{stderr}");
        assert_eq!(stderr, format!("influx-stream: {want}\n"), "{args:?}");
        assert_eq!(stdout, "", "{args:?}");
    }
}

/// A token and a password together are refused: sending one and dropping
/// the other would hide which the server judged.
#[test]
fn a_token_and_a_password_together_are_refused() {
    let (code, stdout, stderr) = offline(&[
        "--token",
        "t",
        "-u",
        "admin",
        "--password",
        "p",
        "databases",
    ]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert_eq!(
        stderr,
        "influx-stream: both a token and a password were given: use one, --token (INFLUX_TOKEN) \
         or --username/--password (INFLUX_USERNAME/INFLUX_PASSWORD)\n"
    );
}

/// Errors about the destination's settings name copy's --to- flags and
/// INFLUX_TO_ variables, not the source's.
#[test]
fn copy_destination_errors_name_the_to_flags() {
    let copy = [
        "copy",
        "--to-database",
        "other",
        "--start",
        "0",
        "--end",
        "1",
    ];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--to-username", "u"],
            "the destination: --to-username needs a password: set INFLUX_TO_PASSWORD (or --to-password)",
        ),
        (
            vec!["--to-password", "p"],
            "the destination: a password was given without a user name: set INFLUX_TO_USERNAME (or --to-username)",
        ),
        (
            vec!["--to-write-api", "v2"],
            "the destination: --to-write-api v2 needs an organization: --to-org NAME or INFLUX_TO_ORG",
        ),
        (
            vec!["--to-token", "t", "--to-username", "u", "--to-password", "p"],
            "the destination: both a token and a password were given: use one, --to-token \
             (INFLUX_TO_TOKEN) or --to-username/--to-password (INFLUX_TO_USERNAME/INFLUX_TO_PASSWORD)",
        ),
    ];
    for (extra, want) in cases {
        let args = [&copy[..], &extra[..]].concat();
        let (code, stdout, stderr) = offline(&args);
        assert_eq!(code, Some(2), "{args:?}: {stdout}{stderr}");
        assert_eq!(stderr, format!("influx-stream: {want}\n"), "{args:?}");
    }
    // The source's own settings still name the global flags.
    let mut args = copy.to_vec();
    args.splice(0..0, ["-u", "admin"]);
    let (code, _, stderr) = offline(&args);
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        "influx-stream: --username needs a password: set INFLUX_PASSWORD (or --password)\n"
    );
}

/// A CSV file without --measurement after a line-protocol file: refused
/// before anything is read, so no point of the first file is sent and
/// left unaccounted for.
#[test]
fn every_source_is_checked_before_anything_is_read() {
    let dir = tmp_dir("checksources");
    let lp = dir.join("a.lp");
    let csv = dir.join("b.csv");
    std::fs::write(&lp, "cpu v=1 1\n").expect("lp");
    std::fs::write(&csv, "time,v\n1,2\n").expect("csv");
    let (code, stdout, stderr) = offline(&[
        "write",
        "--no-progress",
        &lp.display().to_string(),
        &csv.display().to_string(),
    ]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert_eq!(
        stderr,
        format!(
            "influx-stream: {}: CSV input needs --measurement NAME or --measurement-column COLUMN\n",
            csv.display()
        )
    );
    // No summary: nothing was read, nothing sent.
    assert_eq!(stdout, "");
}

/// --failed naming an input file is refused before the file is emptied.
#[test]
fn failed_file_that_is_an_input_is_refused() {
    let dir = tmp_dir("failedinput");
    let lp = dir.join("a.lp");
    std::fs::write(&lp, "cpu v=1 1\n").expect("lp");
    // Another spelling of the same file.
    let same = dir.join(".").join("a.lp");
    let (code, stdout, stderr) = offline(&[
        "write",
        "--no-progress",
        &lp.display().to_string(),
        "--failed",
        &same.display().to_string(),
    ]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert_eq!(
        stderr,
        format!(
            "influx-stream: --failed {} is also an input file: it would be emptied before it is read; give --failed another file\n",
            same.display()
        )
    );
    assert_eq!(stdout, "");
    assert_eq!(
        std::fs::read_to_string(&lp).expect("input kept"),
        "cpu v=1 1\n"
    );
}
