//! Test support: a tiny fault-injecting HTTP/1.1 server on `127.0.0.1:0`.
//!
//! Only for faults a real influxd cannot produce on demand: a 503 with
//! `Retry-After`, a 429, a stall, a reset, a close without an answer.
//! Everything else is tested against the real server (`support::influxd`).
//!
//! A script decides, per request (numbered from 0 across all connections, in
//! the order their heads arrive), what to do: see [`Action`]. Every request
//! is recorded (method, target, headers, body) for assertions. Request
//! bodies may be sized by `Content-Length` or sent with
//! `Transfer-Encoding: chunked`. Connections are kept alive between
//! requests. Dropping the [`FaultServer`] stops it: the listener and every
//! connection (stalled ones included) are closed.
//!
//! Built on tokio's `TcpListener` only; call [`FaultServer::start`] inside a
//! Tokio runtime.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// A request head may not exceed this.
const MAX_HEAD: usize = 64 * 1024;
/// A request body may not exceed this (a bound for every loop here).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Action {
    /// Reads the whole request, then answers. `Content-Length` is added.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Reads the whole request and never answers; the connection stays open
    /// until the server is dropped.
    Stall,
    /// Reads the whole request, then resets the connection (RST: `SO_LINGER`
    /// zero, then close).
    Reset,
    /// Reads only the request head, then resets the connection while the
    /// body may still be on its way.
    ResetBeforeBody,
    /// Reads the whole request, then closes the connection (FIN) without a
    /// word.
    Close,
    /// Answers from the head alone, without reading the body, then resets
    /// the connection at once: a harsher cousin of influxd's early 413/404
    /// (influxd lingers for a while before it closes; a proxy may not).
    RespondBeforeBodyThenReset {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
}

impl Action {
    /// An answer with this status and no headers or body yet.
    pub fn status(status: u16) -> Action {
        Action::Respond {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// 204 No Content: what influxd answers to a good write.
    pub fn no_content() -> Action {
        Action::status(204)
    }

    /// Adds a header to a `Respond`; other actions are returned unchanged.
    pub fn header(mut self, name: &str, value: &str) -> Action {
        if let Action::Respond { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// Turns a `Respond` into a `RespondBeforeBodyThenReset`; other actions
    /// are returned unchanged.
    pub fn before_body_then_reset(self) -> Action {
        match self {
            Action::Respond {
                status,
                headers,
                body,
            } => Action::RespondBeforeBodyThenReset {
                status,
                headers,
                body,
            },
            other => other,
        }
    }

    /// Sets the body of a `Respond`; other actions are returned unchanged.
    pub fn body(mut self, bytes: impl Into<Vec<u8>>) -> Action {
        if let Action::Respond { body, .. } = &mut self {
            *body = bytes.into();
        }
        self
    }
}

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Its number: 0 for the first request the server saw.
    pub index: usize,
    pub method: String,
    /// Path and query, as on the request line.
    pub target: String,
    /// Header names lower-cased, values as sent, in order.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked); empty for `ResetBeforeBody`.
    pub body: Vec<u8>,
    /// Whether the body was read to its end.
    pub body_complete: bool,
    /// Whether it came with `Transfer-Encoding: chunked`.
    pub chunked: bool,
}

impl Recorded {
    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Script = Arc<dyn Fn(usize) -> Action + Send + Sync>;

/// The server; see the module documentation.
pub struct FaultServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// The number of requests recorded, to wait on.
    count: watch::Receiver<usize>,
    connections: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl FaultServer {
    /// Starts a server whose script maps a request number to an action.
    pub async fn start(
        script: impl Fn(usize) -> Action + Send + Sync + 'static,
    ) -> std::io::Result<FaultServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (count_tx, count) = watch::channel(0);
        let shared = Conn {
            script: Arc::new(script),
            next_index: Arc::new(AtomicUsize::new(0)),
            requests: requests.clone(),
            count: Arc::new(count_tx),
        };
        let conns = connections.clone();
        let task = tokio::spawn(async move {
            // Dropping this set (when the accept task is aborted) aborts
            // every connection task, which closes their sockets.
            let mut tasks = JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        conns.fetch_add(1, Ordering::Relaxed);
                        let conn = shared.clone();
                        tasks.spawn(async move { conn.serve(stream).await });
                    }
                    // Reap finished connections so the set stays small.
                    Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                }
            }
        });
        Ok(FaultServer {
            addr,
            requests,
            count,
            connections,
            task,
        })
    }

    /// Starts a server that takes the actions in order; once they run out,
    /// the last one repeats (an empty list answers 204 to everything).
    pub async fn sequence(actions: Vec<Action>) -> std::io::Result<FaultServer> {
        FaultServer::start(move |i| {
            actions
                .get(i)
                .or(actions.last())
                .cloned()
                .unwrap_or_else(Action::no_content)
        })
        .await
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far, in the order of their numbers.
    pub fn requests(&self) -> Vec<Recorded> {
        let mut v = self
            .requests
            .lock()
            .map(|v| v.clone())
            .unwrap_or_else(|e| e.into_inner().clone());
        v.sort_by_key(|r| r.index);
        v
    }

    /// How many requests were received so far.
    pub fn request_count(&self) -> usize {
        self.requests.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// Waits until at least `n` requests have been recorded (a request is
    /// recorded once its body is read, before it is answered).
    pub async fn wait_for_requests(&self, n: usize) {
        let mut count = self.count.clone();
        // Err only if the server task is gone, which ends the wait too.
        let _ = count.wait_for(|&c| c >= n).await;
    }

    /// How many connections were accepted so far.
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Conn {
    script: Script,
    next_index: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<Recorded>>>,
    count: Arc<watch::Sender<usize>>,
}

struct Head {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Conn {
    /// Serves requests on one connection until the peer closes it, it
    /// breaks, or the script ends it.
    async fn serve(self, mut stream: TcpStream) {
        let mut buf = Vec::new();
        loop {
            let head = match read_head(&mut stream, &mut buf).await {
                Ok(Some(h)) => h,
                Ok(None) | Err(_) => return,
            };
            let index = self.next_index.fetch_add(1, Ordering::SeqCst);
            let action = (self.script)(index);
            let chunked = head.headers.iter().any(|(n, v)| {
                n == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked")
            });
            let mut recorded = Recorded {
                index,
                method: head.method,
                target: head.target,
                headers: head.headers,
                body: Vec::new(),
                body_complete: false,
                chunked,
            };
            match action {
                Action::ResetBeforeBody => {
                    self.record(recorded);
                    reset(stream);
                    return;
                }
                Action::RespondBeforeBodyThenReset {
                    status,
                    headers,
                    body,
                } => {
                    self.record(recorded);
                    let _ = stream.write_all(&response(status, &headers, &body)).await;
                    let _ = stream.flush().await;
                    reset(stream);
                    return;
                }
                _ => {}
            }
            let body = if chunked {
                read_chunked(&mut stream, &mut buf).await
            } else {
                let len = recorded
                    .header("content-length")
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                read_exact_body(&mut stream, &mut buf, len).await
            };
            let complete = body.is_ok();
            recorded.body = body.unwrap_or_default();
            recorded.body_complete = complete;
            let close_requested = recorded
                .header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close"));
            self.record(recorded);
            if !complete {
                return;
            }
            match action {
                Action::Respond {
                    status,
                    headers,
                    body,
                } => {
                    let closing = close_requested
                        || headers.iter().any(|(n, v)| {
                            n.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close")
                        });
                    let bytes = response(status, &headers, &body);
                    if stream.write_all(&bytes).await.is_err() || stream.flush().await.is_err() {
                        return;
                    }
                    if closing {
                        let _ = stream.shutdown().await;
                        return;
                    }
                }
                Action::Stall => {
                    // Hold the connection, answering nothing, until the
                    // server is dropped (which aborts this task).
                    std::future::pending::<()>().await;
                }
                Action::Reset
                | Action::ResetBeforeBody
                | Action::RespondBeforeBodyThenReset { .. } => {
                    reset(stream);
                    return;
                }
                Action::Close => {
                    let _ = stream.shutdown().await;
                    return;
                }
            }
        }
    }

    fn record(&self, r: Recorded) {
        match self.requests.lock() {
            Ok(mut v) => v.push(r),
            Err(e) => e.into_inner().push(r),
        }
        self.count.send_modify(|c| *c += 1);
    }
}

/// Closes with RST: `SO_LINGER` zero makes `close` abort the connection.
fn reset(stream: TcpStream) {
    // Deprecated because a non-zero linger blocks on drop; zero does not.
    #[allow(deprecated)]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

fn response(status: u16, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let reason = http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown");
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    // 1xx, 204 and 304 have no body and no Content-Length.
    if !(status < 200 || status == 204 || status == 304) {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Reads more bytes into `buf`; `Ok(false)` at end of stream.
async fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk).await?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n > 0)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads one request head; `Ok(None)` when the peer closed between requests.
async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Option<Head>> {
    let end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(std::io::Error::other("request head too large"));
        }
        if !fill(stream, buf).await? {
            return Ok(None);
        }
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    buf.drain(..end + 4);
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Some(Head {
        method,
        target,
        headers,
    }))
}

async fn read_exact_body(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    len: usize,
) -> std::io::Result<Vec<u8>> {
    if len > MAX_BODY {
        return Err(std::io::Error::other("request body too large"));
    }
    while buf.len() < len {
        if !fill(stream, buf).await? {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(buf.drain(..len).collect())
}

/// Reads a line ending in CRLF (without it).
async fn read_line(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Vec<u8>> {
    loop {
        if let Some(i) = find(buf, b"\r\n") {
            let line = buf[..i].to_vec();
            buf.drain(..i + 2);
            return Ok(line);
        }
        if buf.len() > MAX_HEAD {
            return Err(std::io::Error::other("chunk line too long"));
        }
        if !fill(stream, buf).await? {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
}

/// Reads a `Transfer-Encoding: chunked` body, trailers included (dropped).
async fn read_chunked(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(stream, buf).await?;
        let line = String::from_utf8_lossy(&line);
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| std::io::Error::other(format!("bad chunk size {size:?}")))?;
        if size == 0 {
            // Trailers, up to an empty line.
            while !read_line(stream, buf).await?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(std::io::Error::other("request body too large"));
        }
        let data = read_exact_body(stream, buf, size).await?;
        body.extend_from_slice(&data);
        if !read_line(stream, buf).await?.is_empty() {
            return Err(std::io::Error::other("chunk not followed by CRLF"));
        }
    }
}
