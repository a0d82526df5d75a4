//! Test support: a stand-in for InfluxDB 2.x and 3.x on `127.0.0.1:0`,
//! written from their published API references (no real 2.x or 3.x server
//! can be installed here). It keeps the points it is sent, so tests check
//! what the server holds afterwards, and answers with the documented status
//! codes and bodies (`tests/data/protocol/`, whose README names the
//! documents).
//!
//! 2.x: `/ping`, `/api/v2/write` (Token auth, org, bucket, ns|us|ms|s,
//! whole-batch refusal of unparsable lines, 422 partial writes on field
//! type conflicts, 413 past a body limit).
//! 3.x: `/ping`, `/api/v3/write_lp` (Bearer or Token auth, the long
//! precision names, `accept_partial`, refused lines listed),
//! `/api/v3/query_sql` and `/api/v3/query_influxql` (JSON lines; the query
//! understood is `SELECT * FROM <measurement> [WHERE <tag> = $<param>]`).
//! Both: a queue of faults (429/503 with `Retry-After`) for the next writes.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

// Read at compile time relative to this file, so the stand-in works from
// any crate of the workspace that includes it (the CLI's tests do).
const V3_401: &[u8] = include_bytes!("../data/protocol/v3-write-401.json");
const V3_PING: &[u8] = include_bytes!("../data/protocol/v3-ping.json");

/// Which server the stand-in plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    V2,
    V3,
}

/// A stored point.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub measurement: String,
    pub tags: BTreeMap<String, String>,
    pub fields: BTreeMap<String, Field>,
    pub time_ns: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Float(f64),
    Integer(i64),
    String(String),
    Bool(bool),
}

impl Field {
    fn kind(&self) -> &'static str {
        match self {
            Field::Float(_) => "float",
            Field::Integer(_) => "integer",
            Field::String(_) => "string",
            Field::Bool(_) => "boolean",
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Field::Float(f) => serde_json::json!(f),
            Field::Integer(i) => serde_json::json!(i),
            Field::String(s) => serde_json::json!(s),
            Field::Bool(b) => serde_json::json!(b),
        }
    }
}

/// One request as received (the Authorization header is kept only as its
/// scheme, so no test can leak a token through it).
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: String,
    pub auth_scheme: Option<String>,
    pub body: Bytes,
}

impl Recorded {
    /// The value of query parameter `key`, percent-decoded.
    pub fn param(&self, key: &str) -> Option<String> {
        params(&self.query).remove(key)
    }
}

type SeriesTime = (String, Vec<(String, String)>, i64);

struct State {
    flavor: Flavor,
    token: String,
    org: String,
    buckets: Vec<String>,
    max_body: usize,
    /// Per database, points by series and time (a later write of the same
    /// series and time replaces the earlier one, as in InfluxDB).
    points: BTreeMap<String, BTreeMap<SeriesTime, Stored>>,
    field_types: HashMap<(String, String, String), &'static str>,
    faults: VecDeque<(u16, u64)>,
    requests: Vec<Recorded>,
}

/// The server; dropping it stops it.
pub struct ProtocolServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl Drop for ProtocolServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ProtocolServer {
    /// Starts a server accepting `token`; for 2.x, organisation `org` with
    /// the given buckets (3.x creates databases on first write).
    pub async fn start(
        flavor: Flavor,
        token: &str,
        org: &str,
        buckets: &[&str],
    ) -> std::io::Result<ProtocolServer> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            flavor,
            token: token.to_owned(),
            org: org.to_owned(),
            buckets: buckets.iter().map(|b| b.to_string()).collect(),
            max_body: usize::MAX,
            points: BTreeMap::new(),
            field_types: HashMap::new(),
            faults: VecDeque::new(),
            requests: Vec::new(),
        }));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((tcp, _)) = accepted else { continue };
                        let state = shared.clone();
                        conns.spawn(async move {
                            let service = hyper::service::service_fn(move |req| {
                                let state = state.clone();
                                async move { Ok::<_, Infallible>(handle(&state, req).await) }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                                .await;
                        });
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        Ok(ProtocolServer { addr, state, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Write bodies larger than this are answered 413.
    pub fn set_max_body(&self, bytes: usize) {
        self.lock().max_body = bytes;
    }

    /// The next write answers `status` with `Retry-After: retry_after`.
    pub fn push_fault(&self, status: u16, retry_after: u64) {
        self.lock().faults.push_back((status, retry_after));
    }

    /// The points stored in a bucket or database.
    pub fn points(&self, db: &str) -> Vec<Stored> {
        self.lock()
            .points
            .get(db)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn answer(status: u16, body: impl Into<Bytes>, headers: &[(&str, &str)]) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            hyper::header::HeaderValue::from_str(v),
        ) {
            resp.headers_mut().insert(k, v);
        }
    }
    resp
}

fn v2_error(status: u16, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "code": code, "message": message }).to_string();
    answer(
        status,
        body,
        &[
            ("content-type", "application/json; charset=utf-8"),
            ("x-platform-error-code", code),
        ],
    )
}

fn v3_error(status: u16, message: &str) -> Response<Full<Bytes>> {
    answer(
        status,
        serde_json::json!({ "error": message }).to_string(),
        &[],
    )
}

fn params(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

async fn handle(state: &Mutex<State>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return answer(400, "unreadable body", &[]),
    };
    let gzip = parts
        .headers
        .get("content-encoding")
        .is_some_and(|v| v.as_bytes() == b"gzip");
    let body = if gzip {
        use std::io::Read;
        let mut out = Vec::new();
        if flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut out)
            .is_err()
        {
            return answer(400, "bad gzip", &[]);
        }
        Bytes::from(out)
    } else {
        body
    };
    let auth = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
    st.requests.push(Recorded {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or("").to_owned(),
        auth_scheme: auth
            .as_deref()
            .map(|a| a.split(' ').next().unwrap_or("").to_owned()),
        body: body.clone(),
    });
    let q = params(parts.uri.query().unwrap_or(""));
    let token_ok = |schemes: &[&str]| {
        auth.as_deref().is_some_and(|a| {
            schemes.iter().any(|s| {
                a.strip_prefix(s).and_then(|r| r.strip_prefix(' ')) == Some(st.token.as_str())
            })
        })
    };
    match (st.flavor, parts.uri.path()) {
        (Flavor::V2, "/ping") => answer(
            204,
            Bytes::new(),
            &[
                ("x-influxdb-version", "v2.7.12"),
                ("x-influxdb-build", "OSS"),
            ],
        ),
        (Flavor::V3, "/ping") => {
            if !token_ok(&["Bearer", "Token"]) {
                return answer(401, V3_401, &[]);
            }
            answer(
                200,
                V3_PING,
                &[
                    ("content-type", "application/json"),
                    ("x-influxdb-version", "3.10.1"),
                    ("x-influxdb-build", "Core"),
                ],
            )
        }
        (Flavor::V2, "/api/v2/write") => {
            if !token_ok(&["Token"]) {
                return v2_error(401, "unauthorized", "unauthorized access");
            }
            if let Some(r) = fault(&mut st) {
                return r;
            }
            if q.get("org") != Some(&st.org) {
                let org = q.get("org").cloned().unwrap_or_default();
                return v2_error(
                    404,
                    "not found",
                    &format!("organization name \"{org}\" not found"),
                );
            }
            let bucket = q.get("bucket").cloned().unwrap_or_default();
            if !st.buckets.contains(&bucket) {
                return v2_error(404, "not found", &format!("bucket \"{bucket}\" not found"));
            }
            let Some(mult) = q.get("precision").map_or(Some(1), |p| match p.as_str() {
                "ns" => Some(1),
                "us" => Some(1_000),
                "ms" => Some(1_000_000),
                "s" => Some(1_000_000_000),
                _ => None,
            }) else {
                return v2_error(
                    400,
                    "invalid",
                    "invalid precision; valid precision units are ns, us, ms, and s",
                );
            };
            if body.len() > st.max_body {
                return v2_error(
                    413,
                    "request too large",
                    "unable to read data: points batch is too large",
                );
            }
            let text = String::from_utf8_lossy(&body).into_owned();
            let mut points = Vec::new();
            let mut bad = Vec::new();
            for line in lines(&text) {
                match parse_line(line.1, mult) {
                    Ok(p) => points.push(p),
                    Err(why) => bad.push(format!("unable to parse '{}': {why}", line.1)),
                }
            }
            if !bad.is_empty() {
                return v2_error(400, "invalid", &bad.join("\n"));
            }
            let (dropped, conflict) = store(&mut st, &bucket, points);
            match conflict {
                Some(why) => v2_error(
                    422,
                    "unprocessable entity",
                    &format!("failure writing points to database: partial write: {why} dropped={dropped}"),
                ),
                None => answer(204, Bytes::new(), &[]),
            }
        }
        (Flavor::V3, "/api/v3/write_lp") => {
            if !token_ok(&["Bearer", "Token"]) {
                return answer(401, V3_401, &[]);
            }
            if let Some(r) = fault(&mut st) {
                return r;
            }
            let Some(db) = q.get("db").cloned() else {
                return answer(400, "missing query parameter 'db'", &[]);
            };
            let Some(mult) = q.get("precision").map_or(Some(1), |p| match p.as_str() {
                "nanosecond" | "ns" | "n" | "auto" => Some(1),
                "microsecond" | "us" | "u" => Some(1_000),
                "millisecond" | "ms" => Some(1_000_000),
                "second" | "s" => Some(1_000_000_000),
                _ => None,
            }) else {
                return v3_error(400, "invalid precision");
            };
            if body.len() > st.max_body {
                return answer(
                    413,
                    format!("max request size ({} bytes) exceeded", st.max_body),
                    &[],
                );
            }
            let accept_partial = q.get("accept_partial").map(String::as_str) != Some("false");
            let text = String::from_utf8_lossy(&body).into_owned();
            let mut points = Vec::new();
            let mut bad = Vec::new();
            for (number, line) in lines(&text) {
                match parse_line(line, mult) {
                    Ok(p) => points.push(p),
                    Err(why) => {
                        let original: String = line.chars().take(20).collect();
                        let entry = serde_json::json!({
                            "error_message": why,
                            "line_number": number,
                            "original_line": original,
                        });
                        if !accept_partial {
                            let body = serde_json::json!({ "error": "line protocol parsing error", "data": entry });
                            return answer(400, body.to_string(), &[]);
                        }
                        bad.push(entry);
                    }
                }
            }
            store(&mut st, &db, points);
            if bad.is_empty() {
                answer(204, Bytes::new(), &[])
            } else {
                let body = serde_json::json!({ "error": "partial write of line protocol occurred", "data": bad });
                answer(400, body.to_string(), &[])
            }
        }
        (Flavor::V3, path @ ("/api/v3/query_sql" | "/api/v3/query_influxql")) => {
            if !token_ok(&["Bearer", "Token"]) {
                return answer(401, V3_401, &[]);
            }
            #[derive(serde::Deserialize)]
            struct Body {
                db: String,
                q: String,
                format: Option<String>,
                #[serde(default)]
                params: serde_json::Map<String, serde_json::Value>,
            }
            let Ok(b) = serde_json::from_slice::<Body>(&body) else {
                return v3_error(400, "the request body is not a query");
            };
            let Some(points) = st.points.get(&b.db) else {
                return v3_error(404, &format!("query error: database not found: {}", b.db));
            };
            if b.format.as_deref() != Some("jsonl") {
                return v3_error(400, "this stand-in answers format=jsonl only");
            }
            let Some((measurement, filter)) = understand(&b.q, &b.params) else {
                return answer(
                    400,
                    format!(
                        "Error during planning: the stand-in does not understand {:?}",
                        b.q
                    ),
                    &[],
                );
            };
            let influxql = path.ends_with("influxql");
            let mut rows: Vec<&Stored> = points
                .values()
                .filter(|p| p.measurement == measurement)
                .filter(|p| {
                    filter
                        .as_ref()
                        .map_or(true, |(k, v)| p.tags.get(k) == Some(v))
                })
                .collect();
            rows.sort_by_key(|p| p.time_ns);
            let mut out = String::new();
            for p in rows {
                let mut line = String::from("{");
                let mut push = |k: &str, v: serde_json::Value| {
                    if line.len() > 1 {
                        line.push(',');
                    }
                    line.push_str(&serde_json::json!(k).to_string());
                    line.push(':');
                    line.push_str(&v.to_string());
                };
                if influxql {
                    push("iox::measurement", serde_json::json!(p.measurement));
                    push("time", serde_json::json!(time_text(p.time_ns)));
                }
                for (k, v) in &p.tags {
                    push(k, serde_json::json!(v));
                }
                for (k, v) in &p.fields {
                    push(k, v.json());
                }
                if !influxql {
                    push("time", serde_json::json!(time_text(p.time_ns)));
                }
                line.push_str("}\n");
                out.push_str(&line);
            }
            answer(200, out, &[("content-type", "application/jsonl")])
        }
        _ => answer(404, "404 page not found\n", &[]),
    }
}

fn fault(st: &mut State) -> Option<Response<Full<Bytes>>> {
    let (status, after) = st.faults.pop_front()?;
    let after = after.to_string();
    let mut resp = match (st.flavor, status) {
        (Flavor::V2, 429) => v2_error(
            429,
            "too many requests",
            "write limit reached, try again later",
        ),
        (Flavor::V2, _) => v2_error(
            status,
            "unavailable",
            "the server cannot take writes right now",
        ),
        (Flavor::V3, _) => v3_error(status, "the server cannot take writes right now"),
    };
    if let Ok(v) = hyper::header::HeaderValue::from_str(&after) {
        resp.headers_mut().insert(hyper::header::RETRY_AFTER, v);
    }
    Some(resp)
}

/// Stores points, dropping those whose field types conflict; returns how
/// many were dropped and why.
fn store(st: &mut State, db: &str, points: Vec<Stored>) -> (usize, Option<String>) {
    let mut dropped = 0;
    let mut why = None;
    for p in points {
        let mut ok = true;
        for (name, value) in &p.fields {
            let key = (db.to_owned(), p.measurement.clone(), name.clone());
            let kind = *st.field_types.entry(key).or_insert(value.kind());
            if kind != value.kind() {
                ok = false;
                why = Some(format!(
                    "field type conflict: input field \"{name}\" on measurement \"{}\" is type {}, already exists as type {kind}",
                    p.measurement,
                    value.kind()
                ));
            }
        }
        if ok {
            let key = (
                p.measurement.clone(),
                p.tags.clone().into_iter().collect(),
                p.time_ns,
            );
            st.points.entry(db.to_owned()).or_default().insert(key, p);
        } else {
            dropped += 1;
        }
    }
    (dropped, why)
}

/// Numbered non-empty, non-comment lines.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
}

/// Splits at `sep` outside quotes, honouring backslash escapes.
fn split_unescaped(s: &str, sep: char, quotes: bool) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = s.chars();
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next();
                let last = out.last_mut().expect("one part");
                last.push('\\');
                if let Some(n) = next {
                    last.push(n);
                }
            }
            '"' if quotes => {
                in_quotes = !in_quotes;
                out.last_mut().expect("one part").push(c);
            }
            c if c == sep && !in_quotes => out.push(String::new()),
            c => out.last_mut().expect("one part").push(c),
        }
    }
    out
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(&n) = chars.peek() {
                if matches!(n, ',' | ' ' | '=' | '"' | '\\') {
                    out.push(n);
                    chars.next();
                    continue;
                }
            }
        }
        out.push(c);
    }
    out
}

fn parse_line(line: &str, mult: i64) -> Result<Stored, String> {
    let parts = split_unescaped(line, ' ', true);
    let (key, fields, time) = match parts.as_slice() {
        [k, f] => (k, f, None),
        [k, f, t] => (k, f, Some(t)),
        [_] => return Err("missing fields".into()),
        _ => return Err("bad timestamp".into()),
    };
    let mut key_parts = split_unescaped(key, ',', false).into_iter();
    let measurement = unescape(&key_parts.next().unwrap_or_default());
    if measurement.is_empty() {
        return Err("missing measurement".into());
    }
    let mut tags = BTreeMap::new();
    for t in key_parts {
        let kv = split_unescaped(&t, '=', false);
        let [k, v] = kv.as_slice() else {
            return Err("missing tag value".into());
        };
        tags.insert(unescape(k), unescape(v));
    }
    let mut out = BTreeMap::new();
    for f in split_unescaped(fields, ',', true) {
        let kv = split_unescaped(&f, '=', true);
        let [k, v] = kv.as_slice() else {
            return Err("missing field value".into());
        };
        let value = if let Some(s) = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Field::String(unescape(s))
        } else if let Some(i) = v.strip_suffix('i') {
            Field::Integer(i.parse().map_err(|_| "invalid integer")?)
        } else if matches!(v.as_str(), "t" | "T" | "true" | "True" | "TRUE") {
            Field::Bool(true)
        } else if matches!(v.as_str(), "f" | "F" | "false" | "False" | "FALSE") {
            Field::Bool(false)
        } else if v.is_empty() {
            return Err("missing field value".into());
        } else {
            Field::Float(v.parse().map_err(|_| "invalid number")?)
        };
        out.insert(unescape(k), value);
    }
    let time_ns = match time {
        Some(t) => t.parse::<i64>().map_err(|_| "bad timestamp")? * mult,
        None => 0,
    };
    Ok(Stored {
        measurement,
        tags,
        fields: out,
        time_ns,
    })
}

/// `SELECT * FROM m [WHERE tag = $param]`: the measurement and the filter.
fn understand(
    q: &str,
    params: &serde_json::Map<String, serde_json::Value>,
) -> Option<(String, Option<(String, String)>)> {
    let words: Vec<&str> = q.split_whitespace().collect();
    match words.as_slice() {
        [s, "*", f, m] if s.eq_ignore_ascii_case("select") && f.eq_ignore_ascii_case("from") => {
            Some((m.trim_matches('"').to_owned(), None))
        }
        [s, "*", f, m, w, tag, "=", p]
            if s.eq_ignore_ascii_case("select")
                && f.eq_ignore_ascii_case("from")
                && w.eq_ignore_ascii_case("where") =>
        {
            let value = params.get(p.strip_prefix('$')?)?.as_str()?.to_owned();
            Some((
                m.trim_matches('"').to_owned(),
                Some((tag.to_string(), value)),
            ))
        }
        _ => None,
    }
}

/// 3.x's time text: UTC, no zone, a fraction only when not zero.
fn time_text(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let frac = ns.rem_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let mut s = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if frac != 0 {
        let f = format!("{frac:09}");
        s.push('.');
        s.push_str(if frac % 1_000_000 == 0 {
            &f[..3]
        } else if frac % 1_000 == 0 {
            &f[..6]
        } else {
            &f
        });
    }
    s
}
