//! Test support: a throw-away InfluxDB 1.x server (`influxd`) on loopback ports.
//!
//! Self-contained (std only) so it can be used from integration tests through
//! `mod support;` and from examples through
//! `#[path = "../tests/support/influxd.rs"] mod influxd;`.
//!
//! Every server gets its own directory under [`std::env::temp_dir`] (meta,
//! data, WAL and `influxd.log`) and two free loopback ports (HTTP and RPC).
//! `influxd` is spawned through a tiny `sh` wrapper whose background
//! watchdog holds the read end of a pipe whose write end only this process
//! holds. If this process goes away without stopping the server (a panic
//! that aborts, SIGKILL, or simply exiting while the server lives in a
//! `static`), the pipe reaches end-of-file and the watchdog terminates
//! `influxd` and removes its directory. An orderly [`Influxd::stop`] first
//! tells the watchdog to stand down, so it never signals a pid that may
//! already have been reused.
//!
//! Unix only (uses `sh` and `kill`).
#![allow(dead_code)]

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How to get `influxd` when it is missing.
pub const INSTALL_HINT: &str = "install Debian's InfluxDB 1.x package with \
`apt-get update && apt-get install -y influxdb` (as root or with sudo), \
or run the command through `bash tests/support/with-influxd.sh <command>`, \
which installs it when missing; alternatively set INFLUXD=/path/to/influxd";

/// Upper bound for a freshly spawned server to answer `GET /ping`.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between readiness probes.
const READY_POLL: Duration = Duration::from_millis(25);
/// Upper bound for a graceful (SIGTERM) shutdown before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Attempts with fresh ports when a port was taken between probe and bind.
const START_ATTEMPTS: usize = 5;
/// Timeout for a single raw HTTP request made by this module.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines returned by [`Influxd::log_tail`].
const LOG_TAIL_LINES: usize = 40;

/// `sh -c` wrapper: `$1` is the server directory, the remaining arguments are
/// the influxd command line. fd 0 is a pipe from the test process; it is
/// moved to fd 3 because asynchronous lists get /dev/null as stdin.
/// A line `stop` on the pipe means "orderly shutdown, stand down"; EOF
/// without it means the test process is gone: terminate influxd (this shell's
/// pid after `exec`), give it up to 15 s to exit (a zombie counts as exited:
/// nobody may be left to reap it quickly), then remove the directory.
const WRAPPER: &str = r#"
dir=$1
shift
exec 3<&0
(
  if IFS= read -r line <&3 && [ "$line" = stop ]; then exit 0; fi
  running() {
    kill -0 $$ 2>/dev/null || return 1
    st=
    read -r _ _ st _ </proc/$$/stat 2>/dev/null || return 0
    [ "$st" != Z ]
  }
  kill -TERM $$ 2>/dev/null
  i=0
  while running && [ "$i" -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
  if running; then kill -KILL $$ 2>/dev/null; sleep 0.5; fi
  rm -rf "$dir"
) &
exec "$@" 3<&- </dev/null
"#;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A database name unique within this test binary run:
/// `<prefix>_<pid>_<counter>` (only `[A-Za-z0-9_]` if the prefix is).
pub fn unique_db(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{n}", std::process::id())
}

/// A running (or stopped, restartable) `influxd` owned by the test.
pub struct Influxd {
    bin: PathBuf,
    dir: PathBuf,
    http_port: u16,
    rpc_port: u16,
    env: Vec<(String, String)>,
    running: Option<Running>,
}

struct Running {
    child: Child,
    /// Write end of the watchdog pipe; dropping it without writing `stop`
    /// makes the watchdog kill the server.
    watchdog: Option<ChildStdin>,
}

impl Running {
    /// Tells the watchdog to exit without touching the server: an orderly
    /// shutdown follows. Closing the pipe without this means "kill".
    fn disarm(&mut self) {
        if let Some(mut pipe) = self.watchdog.take() {
            // A dead watchdog (broken pipe) is fine.
            let _ = pipe.write_all(b"stop\n");
        }
    }
}

enum LaunchError {
    /// The HTTP or RPC port was taken; retrying with other ports may help.
    PortInUse(String),
    Fatal(String),
}

impl Influxd {
    /// Starts a fresh server with the default settings.
    pub fn start() -> Result<Influxd, String> {
        Influxd::start_with(&[])
    }

    /// Starts a fresh server; `env` adds or overrides `INFLUXDB_*` settings,
    /// e.g. `[("INFLUXDB_HTTP_AUTH_ENABLED", "true")]`. The bind addresses
    /// and directories are owned by the harness: do not override them.
    /// `INFLUXDB_*` variables of the calling environment are not passed on.
    pub fn start_with(env: &[(&str, &str)]) -> Result<Influxd, String> {
        let bin = find_influxd()?;
        let dir = make_unique_dir()?;
        let mut server = Influxd {
            bin,
            dir,
            http_port: 0,
            rpc_port: 0,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            running: None,
        };
        let mut last = String::new();
        for _ in 0..START_ATTEMPTS {
            let (http, rpc) = free_port_pair()?;
            server.http_port = http;
            server.rpc_port = rpc;
            match server.launch() {
                Ok(()) => return Ok(server),
                Err(LaunchError::PortInUse(m)) => last = m,
                Err(LaunchError::Fatal(m)) => return Err(m),
            }
        }
        Err(format!(
            "influxd: ports kept being taken, gave up after {START_ATTEMPTS} attempts; last error: {last}"
        ))
    }

    /// One server for the whole test binary, started on first use.
    /// Panics with the start error (including install instructions).
    pub fn shared() -> &'static Influxd {
        match Influxd::try_shared() {
            Ok(server) => server,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Influxd::shared`], but returns the start error.
    pub fn try_shared() -> Result<&'static Influxd, String> {
        static SHARED: OnceLock<Result<Influxd, String>> = OnceLock::new();
        SHARED
            .get_or_init(Influxd::start)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Whether the server was started with `INFLUXDB_HTTP_HTTPS_ENABLED=true`.
    pub fn https(&self) -> bool {
        self.env
            .iter()
            .any(|(k, v)| k == "INFLUXDB_HTTP_HTTPS_ENABLED" && v == "true")
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (for an HTTPS server see
    /// [`Influxd::https_url`]).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// `https://localhost:PORT`: the name test certificates are made out to.
    pub fn https_url(&self) -> String {
        format!("https://localhost:{}", self.http_port)
    }

    /// The HTTP address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.http_port))
    }

    /// The HTTP port.
    pub fn port(&self) -> u16 {
        self.http_port
    }

    /// Process id of the running influxd, `None` while stopped.
    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(|r| r.child.id())
    }

    /// The server's private directory (meta, data, wal, influxd.log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the server log (stdout and stderr of every run, appended).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("influxd.log")
    }

    /// The last lines of the server log, for failure messages.
    pub fn log_tail(&self) -> String {
        tail(&read_lossy(&self.log_path()), LOG_TAIL_LINES)
    }

    /// `true` if `GET /ping` answers 204 right now.
    pub fn ping(&self) -> bool {
        ping(self.addr())
    }

    /// Stops the server gracefully (SIGTERM, then SIGKILL after 15 s) and
    /// waits for it. Data stays; [`Influxd::restart`] brings it back.
    pub fn stop(&mut self) {
        self.shutdown(false);
    }

    /// Kills the server with SIGKILL (a crash: no clean shutdown) and waits
    /// for it. Data stays; [`Influxd::restart`] brings it back.
    pub fn kill(&mut self) {
        self.shutdown(true);
    }

    /// Stops the server if it is running, then starts it again on the same
    /// HTTP port with the same directories and settings; waits until ready.
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        let mut last = String::new();
        for attempt in 0..START_ATTEMPTS {
            if attempt > 0 {
                // The RPC port is internal; if it was taken meanwhile, move it.
                self.rpc_port = free_port_pair()?.1;
            }
            match self.launch() {
                Ok(()) => return Ok(()),
                Err(LaunchError::PortInUse(m)) => last = m,
                Err(LaunchError::Fatal(m)) => return Err(m),
            }
        }
        Err(format!(
            "influxd: could not restart on port {}: {last}",
            self.http_port
        ))
    }

    /// `POST /query` with `q` (form-encoded); returns the response body.
    /// Errs on a non-2xx status or when the JSON body reports an `"error"`.
    pub fn raw_query(&self, q: &str) -> Result<String, String> {
        self.raw_query_with(&[("q", q)])
    }

    /// Like [`Influxd::raw_query`] with `db` set.
    pub fn raw_query_in(&self, db: &str, q: &str) -> Result<String, String> {
        self.raw_query_with(&[("db", db), ("q", q)])
    }

    /// `POST /query` with arbitrary parameters (`q`, `db`, `u`, `p`,
    /// `epoch`, ...), form-encoded in the body, except `u` and `p`, which go
    /// into the URL: influxd 1.x ignores credentials in a form body.
    /// Same error rules as [`Influxd::raw_query`].
    pub fn raw_query_with(&self, params: &[(&str, &str)]) -> Result<String, String> {
        let (creds, form): (Vec<_>, Vec<_>) = params
            .iter()
            .copied()
            .partition(|(k, _)| *k == "u" || *k == "p");
        let target = if creds.is_empty() {
            "/query".to_string()
        } else {
            format!("/query?{}", form_encode(&creds))
        };
        let body = form_encode(&form);
        let (status, text) = self.raw_http(
            "POST",
            &target,
            Some(("application/x-www-form-urlencoded", body.as_bytes())),
        )?;
        if !(200..300).contains(&status) || text.contains("\"error\":\"") {
            return Err(format!("query {form:?} failed: HTTP {status}: {text}"));
        }
        Ok(text)
    }

    /// `POST /write?db=<db>` with line protocol (nanosecond timestamps);
    /// expects 204.
    pub fn raw_write(&self, db: &str, lines: &str) -> Result<(), String> {
        let target = format!("/write?{}", form_encode(&[("db", db), ("precision", "ns")]));
        let (status, text) = self.raw_http(
            "POST",
            &target,
            Some(("text/plain; charset=utf-8", lines.as_bytes())),
        )?;
        if status != 204 {
            return Err(format!("write to {db:?} failed: HTTP {status}: {text}"));
        }
        Ok(())
    }

    /// One HTTP/1.0 request to the server (fresh connection, closed after
    /// the response). `target` is path plus query string; `body` is
    /// `(content type, bytes)`. Returns status code and body.
    pub fn raw_http(
        &self,
        method: &str,
        target: &str,
        body: Option<(&str, &[u8])>,
    ) -> Result<(u16, String), String> {
        http_request(self.addr(), method, target, body, HTTP_TIMEOUT)
    }

    fn shutdown(&mut self, hard: bool) {
        let Some(mut run) = self.running.take() else {
            return;
        };
        // Stand the watchdog down before signalling or reaping.
        run.disarm();
        if let Ok(Some(_)) = run.child.try_wait() {
            return;
        }
        let mut done = false;
        if !hard {
            let sent = Command::new("kill")
                .arg("-TERM")
                .arg(run.child.id().to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false);
            done = sent && wait_timeout(&mut run.child, STOP_TIMEOUT);
        }
        if !done {
            // Safe: the child is not reaped yet, so its pid cannot be reused.
            let _ = run.child.kill();
            let _ = run.child.wait();
        }
    }

    /// Spawns influxd on the current ports and waits until it is ready.
    fn launch(&mut self) -> Result<(), LaunchError> {
        let log_path = self.log_path();
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(|e| {
                LaunchError::Fatal(format!("influxd: cannot open {}: {e}", log_path.display()))
            })?;
        let offset = log.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = writeln!(
            log,
            "=== influx-stream harness: starting {} (http 127.0.0.1:{}, rpc 127.0.0.1:{}) ===",
            self.bin.display(),
            self.http_port,
            self.rpc_port
        );
        let log_err = log.try_clone().map_err(|e| {
            LaunchError::Fatal(format!("influxd: cannot clone log file handle: {e}"))
        })?;

        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(WRAPPER)
            .arg("influxd-harness")
            .arg(&self.dir)
            .arg(&self.bin)
            .arg("-config")
            .arg("/dev/null")
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("INFLUXDB_") {
                cmd.env_remove(&key);
            }
        }
        let http = format!("127.0.0.1:{}", self.http_port);
        let rpc = format!("127.0.0.1:{}", self.rpc_port);
        let defaults = [
            ("INFLUXDB_HTTP_BIND_ADDRESS", http.as_str()),
            ("INFLUXDB_BIND_ADDRESS", rpc.as_str()),
            ("INFLUXDB_REPORTING_DISABLED", "true"),
            ("INFLUXDB_MONITOR_STORE_ENABLED", "false"),
            ("INFLUXDB_DATA_QUERY_LOG_ENABLED", "false"),
            ("INFLUXDB_HTTP_LOG_ENABLED", "false"),
        ];
        for (k, v) in defaults {
            cmd.env(k, v);
        }
        cmd.env("INFLUXDB_META_DIR", self.dir.join("meta"))
            .env("INFLUXDB_DATA_DIR", self.dir.join("data"))
            .env("INFLUXDB_DATA_WAL_DIR", self.dir.join("wal"));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }

        let mut child = cmd.spawn().map_err(|e| {
            LaunchError::Fatal(format!("influxd: cannot spawn `sh` to run influxd: {e}"))
        })?;
        let watchdog = child.stdin.take();
        self.running = Some(Running { child, watchdog });

        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let exited = match self.running.as_mut() {
                Some(run) => run.child.try_wait(),
                None => Ok(None),
            };
            match exited {
                Ok(Some(status)) => {
                    if let Some(mut run) = self.running.take() {
                        run.disarm();
                    }
                    let out = read_lossy(&log_path);
                    let this_run = out.get(offset as usize..).unwrap_or(&out);
                    let msg = format!(
                        "influxd exited during startup ({status}) on {http}/{rpc}; log {}:\n{}",
                        log_path.display(),
                        tail(this_run, LOG_TAIL_LINES)
                    );
                    return Err(if this_run.contains("address already in use") {
                        LaunchError::PortInUse(msg)
                    } else {
                        LaunchError::Fatal(msg)
                    });
                }
                Ok(None) => {}
                Err(e) => {
                    self.shutdown(true);
                    return Err(LaunchError::Fatal(format!(
                        "influxd: cannot query child status: {e}"
                    )));
                }
            }
            // The log check makes sure it is *our* process that answers.
            // An HTTPS server answers plain HTTP with 400 ("Client sent an
            // HTTP request to an HTTPS server"): that too says it listens.
            let ready = if self.https() {
                matches!(
                    http_request(self.addr(), "GET", "/ping", None, Duration::from_secs(2)),
                    Ok((400, _))
                )
            } else {
                ping(self.addr())
            };
            if ready {
                let out = read_lossy(&log_path);
                if out
                    .get(offset as usize..)
                    .is_some_and(|s| s.contains("Listening on HTTP"))
                {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                self.shutdown(true);
                return Err(LaunchError::Fatal(format!(
                    "influxd did not answer GET /ping with 204 within {READY_TIMEOUT:?} on {http}; log {}:\n{}",
                    log_path.display(),
                    tail(&read_lossy(&log_path), LOG_TAIL_LINES)
                )));
            }
            std::thread::sleep(READY_POLL);
        }
    }
}

impl Drop for Influxd {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `$INFLUXD` if set, else the first executable `influxd` on `$PATH`.
fn find_influxd() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("INFLUXD").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        return if is_executable(&p) {
            Ok(p)
        } else {
            Err(format!(
                "INFLUXD={} is not an executable file; unset it or {INSTALL_HINT}",
                p.display()
            ))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("influxd"))
        .find(|p| is_executable(p))
        .ok_or_else(|| format!("`influxd` (InfluxDB 1.x) was not found on PATH; {INSTALL_HINT}"))
}

fn is_executable(p: &Path) -> bool {
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Creates `<tmp>/influx-stream-influxd-<pid>-<counter>-<nanos>`.
fn make_unique_dir() -> Result<PathBuf, String> {
    let base = std::env::temp_dir();
    let mut last = None;
    for _ in 0..16 {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = base.join(format!(
            "influx-stream-influxd-{}-{n}-{nanos}",
            std::process::id()
        ));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) => last = Some(e),
        }
    }
    Err(format!(
        "influxd: cannot create a directory under {}: {}",
        base.display(),
        last.map(|e| e.to_string()).unwrap_or_default()
    ))
}

/// Two distinct free loopback ports (both listeners are held while probing).
fn free_port_pair() -> Result<(u16, u16), String> {
    let bind = || {
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| Ok((l.local_addr()?.port(), l)))
            .map_err(|e| format!("influxd: cannot bind a free port on 127.0.0.1: {e}"))
    };
    let (a, _la) = bind()?;
    let (b, _lb) = bind()?;
    Ok((a, b))
}

/// Polls `child` until it exits or `timeout` passes; `true` if it exited.
fn wait_timeout(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return true,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => return false,
        }
    }
}

fn ping(addr: SocketAddr) -> bool {
    matches!(
        http_request(addr, "GET", "/ping", None, Duration::from_secs(2)),
        Ok((204, _))
    )
}

fn read_lossy(path: &Path) -> String {
    let mut buf = Vec::new();
    if let Ok(mut f) = File::open(path) {
        let _ = f.read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// `application/x-www-form-urlencoded` (also fine for query strings).
fn form_encode(params: &[(&str, &str)]) -> String {
    fn enc(s: &str, out: &mut String) {
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    let mut out = String::new();
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        enc(k, &mut out);
        out.push('=');
        enc(v, &mut out);
    }
    out
}

/// A raw HTTP/1.0 request to `addr` (no client library in between), for
/// other test servers' harnesses: the status and the body as text.
pub fn raw_request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    body: Option<(&str, &[u8])>,
) -> Result<(u16, String), String> {
    http_request(addr, method, target, body, HTTP_TIMEOUT)
}

fn http_request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    body: Option<(&str, &[u8])>,
    timeout: Duration,
) -> Result<(u16, String), String> {
    let fail = |what: &str, e: std::io::Error| format!("{method} {target} to {addr}: {what}: {e}");
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(500))
        .map_err(|e| fail("connect", e))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| fail("set timeout", e))?;
    let mut req = format!("{method} {target} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some((ctype, bytes)) = body {
        req.push_str(&format!(
            "Content-Type: {ctype}\r\nContent-Length: {}\r\n",
            bytes.len()
        ));
    }
    req.push_str("\r\n");
    let mut data = req.into_bytes();
    if let Some((_, bytes)) = body {
        data.extend_from_slice(bytes);
    }
    stream.write_all(&data).map_err(|e| fail("send", e))?;
    let mut resp = Vec::new();
    stream
        .read_to_end(&mut resp)
        .map_err(|e| fail("receive", e))?;

    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            format!("{method} {target} to {addr}: malformed response (no header end)")
        })?;
    let head = String::from_utf8_lossy(&resp[..split]).into_owned();
    let raw_body = &resp[split + 4..];
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("{method} {target} to {addr}: malformed status line: {head:?}"))?;
    let chunked = head.lines().skip(1).any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(raw_body)
            .ok_or_else(|| format!("{method} {target} to {addr}: malformed chunked body"))?
    } else {
        raw_body.to_vec()
    };
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n")?;
        let line = std::str::from_utf8(&data[..eol]).ok()?;
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        data = &data[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}
