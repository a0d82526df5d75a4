//! The HTTP layer: the pooled hyper client, URLs and their encoding,
//! authentication headers, and turning error responses into [`Error`]s.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

use crate::connect::Connector;
use crate::error::{self, Error, FailedLine, Kind};
use crate::failover::{Outcome, Servers};

/// Error bodies are short JSON or text; never buffer more than this of one.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// A write's error body may list every refused line (3.x names each with
/// its first bytes and the reason): this much more per point it carried.
const ERROR_BYTES_PER_POINT: usize = 512;
/// And never more than this.
const MAX_WRITE_ERROR_BODY: usize = 64 * 1024 * 1024;

pub(crate) type Body = Full<Bytes>;

/// How credentials travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuthMethod {
    /// An `Authorization: Basic` header (the default): credentials stay out
    /// of URLs and therefore out of proxies' and servers' access logs.
    #[default]
    BasicHeader,
    /// The `u` and `p` query parameters, for proxies that strip the header.
    QueryParams,
}

/// Who the client is to the server. `Debug` never shows a password or token.
#[derive(Clone)]
pub(crate) enum Auth {
    /// A user name and password.
    Basic {
        username: String,
        password: String,
        method: AuthMethod,
        header: HeaderValue,
    },
    /// An `Authorization: Token <t>` or `Bearer <t>` header.
    Token {
        scheme: &'static str,
        header: HeaderValue,
    },
}

impl Auth {
    pub(crate) fn basic(
        username: String,
        password: String,
        method: AuthMethod,
    ) -> Result<Self, Error> {
        use base64::Engine as _;
        let raw = format!("{username}:{password}");
        let value = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        );
        let header = sensitive_header(&value).ok_or_else(|| {
            error::builder(
                "the user name or password contains characters not allowed in an HTTP header",
            )
        })?;
        Ok(Auth::Basic {
            username,
            password,
            method,
            header,
        })
    }

    /// `scheme` is `Token` or `Bearer`.
    pub(crate) fn token(scheme: &'static str, token: &str) -> Result<Self, Error> {
        if token.is_empty() {
            return Err(error::builder(format!(
                "{scheme} authentication: the token is empty"
            )));
        }
        let header = sensitive_header(&format!("{scheme} {token}")).ok_or_else(|| {
            error::builder(format!(
                "{scheme} authentication: the token contains characters not allowed in an HTTP header"
            ))
        })?;
        Ok(Auth::Token { scheme, header })
    }

    /// The password or token in every form a server or proxy could echo
    /// back (as given, as sent in a header, percent-encoded in a query
    /// string), to keep out of error messages.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let raw = match self {
            Auth::Basic { password, .. } => password.clone(),
            Auth::Token { scheme, header } => header
                .as_bytes()
                .get(scheme.len() + 1..)
                .map(|t| String::from_utf8_lossy(t).into_owned())
                .unwrap_or_default(),
        };
        let mut forms = vec![raw.clone()];
        let mut encoded = String::new();
        encode_component(&raw, &mut encoded);
        forms.push(encoded);
        if let Auth::Basic { header, .. } = self {
            if let Some(b64) = header.as_bytes().get(b"Basic ".len()..) {
                forms.push(String::from_utf8_lossy(b64).into_owned());
            }
        }
        forms.retain(|f| !f.is_empty());
        forms
    }
}

fn sensitive_header(value: &str) -> Option<HeaderValue> {
    let mut header = HeaderValue::from_str(value).ok()?;
    header.set_sensitive(true);
    Some(header)
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Basic {
                username, method, ..
            } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .field("method", method)
                .finish(),
            Auth::Token { scheme, .. } => f
                .debug_struct(scheme)
                .field("token", &"<redacted>")
                .finish(),
        }
    }
}

/// Query strings and form bodies: everything but `A-Z a-z 0-9 - _ . ~`
/// is escaped (RFC 3986 unreserved characters stay as they are).
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Appends `s` percent-encoded for a query string or form body.
pub(crate) fn encode_component(s: &str, out: &mut String) {
    out.extend(percent_encoding::utf8_percent_encode(s, COMPONENT));
}

/// Builds `a=b&c=d` from pairs, skipping `None` values.
#[derive(Default, Clone)]
pub(crate) struct Params(String);

impl Params {
    pub(crate) fn push(&mut self, key: &str, value: &str) -> &mut Self {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.push_str(key);
        self.0.push('=');
        encode_component(value, &mut self.0);
        self
    }

    pub(crate) fn push_opt(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.push(key, v);
        }
        self
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

/// The server's base address, checked once by the builder.
#[derive(Debug, Clone)]
pub(crate) struct BaseUrl {
    scheme: String,
    authority: String,
    prefix: String,
}

/// `url` with any `user:password@` before its host shown as `***@`, for
/// messages and `Debug`: the builder refuses such URLs, but says so.
pub(crate) fn without_credentials(url: &str) -> String {
    let start = url.find("://").map_or(0, |i| i + 3);
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_owned(),
    }
}

impl BaseUrl {
    pub(crate) fn parse(url: &str) -> Result<Self, Error> {
        let shown = without_credentials(url);
        let uri: Uri = url.parse().map_err(|e| {
            error::builder(format!(
                "{shown:?} is not a valid URL (expected e.g. http://127.0.0.1:8086)"
            ))
            .with_source(e)
        })?;
        let scheme = match uri.scheme_str() {
            Some("http") => "http",
            Some("https") if cfg!(feature = "rustls") => "https",
            Some("https") => {
                return Err(error::builder(format!(
                    "{shown:?}: https needs the crate feature \"rustls\" (on by default)"
                )))
            }
            Some(other) => {
                return Err(error::builder(format!(
                    "{shown:?}: the scheme {other:?} is neither http nor https; use e.g. http://127.0.0.1:8086"
                )))
            }
            None => {
                return Err(error::builder(format!(
                    "{shown:?} has no scheme; use e.g. http://{shown}"
                )))
            }
        };
        let authority = match uri.authority() {
            Some(a) if !a.host().is_empty() => a,
            _ => return Err(error::builder(format!("{shown:?} has no host"))),
        };
        if authority.as_str().contains('@') {
            return Err(error::builder(
                "credentials in the URL are not supported; use ClientBuilder::basic_auth",
            ));
        }
        if uri.query().is_some() {
            return Err(error::builder(format!(
                "{shown:?}: the base URL must not have a query string"
            )));
        }
        let prefix = uri.path().trim_end_matches('/').to_owned();
        Ok(BaseUrl {
            scheme: scheme.to_owned(),
            authority: authority.as_str().to_owned(),
            prefix,
        })
    }

    pub(crate) fn uri(&self, endpoint: &str, query: &str) -> Result<Uri, Error> {
        let mut s = String::with_capacity(
            self.scheme.len()
                + self.authority.len()
                + self.prefix.len()
                + endpoint.len()
                + query.len()
                + 5,
        );
        s.push_str(&self.scheme);
        s.push_str("://");
        s.push_str(&self.authority);
        s.push_str(&self.prefix);
        s.push_str(endpoint);
        if !query.is_empty() {
            s.push('?');
            s.push_str(query);
        }
        s.parse()
            .map_err(|e| error::builder("cannot build the request URL").with_source(e))
    }

    #[cfg_attr(not(feature = "rustls"), allow(dead_code))]
    pub(crate) fn is_https(&self) -> bool {
        self.scheme == "https"
    }

    pub(crate) fn display(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

/// The pooled HTTP client plus everything every request needs.
#[derive(Clone)]
pub(crate) struct Transport {
    client: HyperClient<Connector, Body>,
    /// The first server, the one requests go to while it is healthy.
    pub(crate) base: BaseUrl,
    /// It and, when the client fails over, the servers after it.
    pub(crate) servers: Arc<Servers>,
    pub(crate) auth: Option<Auth>,
    pub(crate) timeout: Option<Duration>,
}

/// How a request ended, for its server's counters.
fn outcome(result: &Result<Response<Incoming>, Error>, call: &Call<'_>) -> Outcome {
    match result {
        Ok(resp) if resp.status().is_success() => Outcome::Success {
            points: call.points,
            bytes: call.body.len() as u64,
        },
        Ok(resp) if !resp.status().is_server_error() => Outcome::Answered,
        _ => Outcome::Failed,
    }
}

/// Whether a failure says the server is down (try another) rather than
/// that the request is wrong (every server would say the same).
fn server_down(e: &Error) -> bool {
    matches!(e.kind(), Kind::Connect | Kind::Timeout | Kind::Transport)
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base.display())
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// One request, described before it is built.
pub(crate) struct Call<'a> {
    pub(crate) method: Method,
    pub(crate) endpoint: &'static str,
    pub(crate) params: Params,
    pub(crate) body: Bytes,
    pub(crate) content_type: Option<&'static str>,
    /// The body is gzip already (see [`gzip_off_thread`]): the header says so.
    pub(crate) gzip_body: bool,
    pub(crate) accept_gzip: bool,
    /// The `Accept` header, when the answer is wanted in another format
    /// than the server's default.
    pub(crate) accept: Option<&'static str>,
    /// For logs only.
    pub(crate) database: Option<&'a str>,
    /// Points a write carries (0 for other calls), for the server's counters.
    pub(crate) points: u64,
}

impl Transport {
    pub(crate) fn new(
        base: BaseUrl,
        auth: Option<Auth>,
        timeout: Option<Duration>,
        pool_idle_timeout: Option<Duration>,
        pool_max_idle_per_host: usize,
        connector: Connector,
    ) -> Self {
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(pool_idle_timeout)
            .pool_max_idle_per_host(pool_max_idle_per_host)
            .build(connector);
        Transport {
            client,
            servers: Arc::new(Servers::new(vec![base.clone()], Duration::MAX)),
            base,
            auth,
            timeout,
        }
    }

    /// Fails over to `others` (in order) when the first server is down.
    pub(crate) fn with_failover(mut self, others: Vec<BaseUrl>, probe_interval: Duration) -> Self {
        let mut servers = vec![self.base.clone()];
        servers.extend(others);
        self.servers = Arc::new(Servers::new(servers, probe_interval));
        self
    }

    /// The server requests go to now.
    pub(crate) fn active_base(&self) -> &BaseUrl {
        self.servers.base(self.servers.active())
    }

    fn build(&self, base: &BaseUrl, call: &Call<'_>) -> Result<Request<Body>, Error> {
        let mut query = call.params.clone().into_string();
        if let Some(Auth::Basic {
            username,
            password,
            method: AuthMethod::QueryParams,
            ..
        }) = &self.auth
        {
            let mut p = Params(query);
            p.push("u", username).push("p", password);
            query = p.into_string();
        }
        let uri = base.uri(call.endpoint, &query)?;
        let mut builder = Request::builder().method(call.method.clone()).uri(uri);
        let headers = builder
            .headers_mut()
            .ok_or_else(|| error::builder("invalid request"))?;
        match &self.auth {
            Some(Auth::Basic {
                method: AuthMethod::BasicHeader,
                header,
                ..
            })
            | Some(Auth::Token { header, .. }) => {
                headers.insert(AUTHORIZATION, header.clone());
            }
            _ => {}
        }
        if let Some(ct) = call.content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        if let Some(accept) = call.accept {
            headers.insert(http::header::ACCEPT, HeaderValue::from_static(accept));
        }
        if call.accept_gzip {
            headers.insert(
                http::header::ACCEPT_ENCODING,
                HeaderValue::from_static("gzip"),
            );
        }
        if call.gzip_body {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        builder
            .body(Full::new(call.body.clone()))
            .map_err(|e| error::builder("cannot build the request").with_source(e))
    }

    /// Sends a request and returns the response head once it arrives; the
    /// body is read by the caller. The timeout covers connecting and waiting
    /// for the head.
    ///
    /// With failover, a server that cannot be reached, times out or
    /// answers 5xx is passed over for the next one, within this call.
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Response<Incoming>, Error> {
        let servers = &*self.servers;
        let n = servers.len();
        if n == 1 {
            let result = self.send_to(&self.base, &call).await;
            servers.record(0, outcome(&result, &call));
            return result;
        }
        let first = servers.first_choice();
        let mut last = None;
        for k in 0..n {
            let server = (first + k) % n;
            let base = servers.base(server);
            let result = self.send_to(base, &call).await;
            servers.record(server, outcome(&result, &call));
            match result {
                Ok(resp) if resp.status().is_server_error() && k + 1 < n => {
                    tracing::warn!(server = %base.display(), status = resp.status().as_u16(), "influx-stream: server error, trying the next server");
                }
                Ok(resp) => {
                    servers.answered(server);
                    return Ok(resp);
                }
                Err(e) if server_down(&e) => {
                    tracing::warn!(server = %base.display(), error = %e, "influx-stream: server down, trying the next server");
                    last = Some(e);
                }
                Err(e) => return Err(e),
            }
        }
        Err(last
            .unwrap_or_else(|| Error::new(Kind::Transport))
            .with_context(format!("none of the {n} servers answered")))
    }

    async fn send_to(&self, base: &BaseUrl, call: &Call<'_>) -> Result<Response<Incoming>, Error> {
        let endpoint = call.endpoint;
        let method = call.method.clone();
        let db = call.database.map(str::to_owned);
        let request = self.build(base, call)?;
        let bytes = hyper::body::Body::size_hint(request.body())
            .exact()
            .unwrap_or(0);
        let started = Instant::now();
        let fut = self.client.request(request);
        let result = match self.timeout {
            Some(t) => match tokio::time::timeout(t, fut).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::debug!(%method, endpoint, db = db.as_deref(), bytes, ?t, "request timed out");
                    return Err(Error::new(Kind::Timeout)
                        .with_message(format!("{method} {endpoint} got no answer within {t:?}")));
                }
            },
            None => fut.await,
        };
        match result {
            Ok(resp) => {
                tracing::debug!(
                    %method,
                    endpoint,
                    db = db.as_deref(),
                    status = resp.status().as_u16(),
                    bytes,
                    latency_ms = started.elapsed().as_secs_f64() * 1e3,
                    "influxdb request"
                );
                Ok(resp)
            }
            Err(e) => {
                tracing::debug!(%method, endpoint, db = db.as_deref(), bytes, error = %e, "influxdb request failed");
                Err(transport_error(e, base))
            }
        }
    }

    /// Reads a whole (small) body, within the timeout.
    pub(crate) async fn read_all(
        &self,
        resp: Response<Incoming>,
        limit: usize,
    ) -> Result<(http::response::Parts, Bytes), Error> {
        let (parts, body) = resp.into_parts();
        let fut = Limited::new(body, limit).collect();
        let collected = match self.timeout {
            Some(t) => tokio::time::timeout(t, fut).await.map_err(|_| {
                Error::new(Kind::Timeout)
                    .with_message(format!("the response body did not arrive within {t:?}"))
            })?,
            None => fut.await,
        };
        let body = collected
            .map_err(|e| {
                Error::new(Kind::Transport)
                    .with_message("reading the response body failed")
                    .with_source(e)
            })?
            .to_bytes();
        let body = maybe_gunzip(&parts.headers, body, limit)?;
        Ok((parts, body))
    }

    /// Turns a non-success response into an [`Error`], reading its (bounded)
    /// body for the server's message. `points` is the number of points the
    /// request carried, for "how many were dropped".
    pub(crate) async fn error_from(&self, resp: Response<Incoming>, points: Option<u64>) -> Error {
        let status = resp.status();
        let headers = resp.headers().clone();
        let limit = points
            .and_then(|n| usize::try_from(n).ok())
            .map_or(MAX_ERROR_BODY, |n| {
                MAX_ERROR_BODY
                    .saturating_add(n.saturating_mul(ERROR_BYTES_PER_POINT))
                    .min(MAX_WRITE_ERROR_BODY)
            });
        let body = match self.read_all(resp, limit).await {
            Ok((_, b)) => b,
            // A reset after the head (InfluxDB does this after 413 and 404)
            // still leaves us the status and the X-Influxdb-Error header.
            Err(_) => Bytes::new(),
        };
        let err = status_error(status, &headers, &body, points);
        // A server or proxy that echoes the request back must not put the
        // credentials into our error.
        match &self.auth {
            Some(auth) => auth
                .secrets()
                .iter()
                .fold(err, |err, secret| err.redact(secret)),
            None => err,
        }
    }
}

pub(crate) fn status_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    points: Option<u64>,
) -> Error {
    let ServerMessage {
        text: message,
        failed_lines,
        lines_listed,
    } = server_message(headers, body);
    let request_id = headers
        .get("request-id")
        .or_else(|| headers.get("x-request-id"))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let retry_after = headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after(v, std::time::SystemTime::now()));
    // 1.x: "partial write: ..."; 2.x: "failure writing points to database:
    // partial write: ..."; 3.x: "partial write of line protocol occurred"
    // with the refused lines listed.
    let partial = (lines_listed == Listed::Array && !failed_lines.is_empty())
        || message
            .as_deref()
            .is_some_and(|m| m.contains("partial write"));
    let kind = if partial {
        Kind::PartialWrite
    } else {
        Kind::Status
    };
    let mut err = Error::new(kind)
        .with_status(status)
        .with_request_id(request_id)
        .with_retry_after(retry_after);
    if partial {
        let dropped = if lines_listed == Listed::Array {
            Some(failed_lines.len() as u64)
        } else {
            message.as_deref().and_then(dropped_count)
        };
        if let Some(n) = dropped {
            err = err.with_points_dropped(n);
        }
    } else if let Some(n) = points {
        // Anything but a partial write means nothing of the request was written.
        if !status.is_success() && n > 0 && !err.is_retryable() {
            err = err.with_points_dropped(n);
        }
    }
    let mut text =
        message.unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    for line in failed_lines.iter().take(10) {
        text.push_str(&format!(
            "; line {}: {} ({:?})",
            line.line_number, line.message, line.original_line
        ));
    }
    if failed_lines.len() > 10 {
        text.push_str(&format!("; and {} more lines", failed_lines.len() - 10));
    }
    err.with_message(text).with_failed_lines(failed_lines)
}

/// A `Retry-After` value: whole seconds, or an HTTP date (a date already
/// past means "now"). At most a day: a larger wait is a server's mistake,
/// and the retry policy's own budget decides about it.
fn retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    const MAX: Duration = Duration::from_secs(24 * 3600);
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => {
            let at = httpdate::parse_http_date(value).ok()?;
            at.duration_since(now).unwrap_or(Duration::ZERO)
        }
    };
    Some(wait.min(MAX))
}

#[derive(Debug, PartialEq, Eq)]
enum Listed {
    None,
    /// 3.x accepted the other lines and lists every refused one.
    Array,
    /// 3.x stopped at this line (`accept_partial=false`) and wrote nothing.
    One,
}

struct ServerMessage {
    text: Option<String>,
    failed_lines: Vec<FailedLine>,
    lines_listed: Listed,
}

/// The server's message: a JSON body (`{"error": ..}` from 1.x and 3.x,
/// `{"code": .., "message": ..}` from 2.x), else the `X-Influxdb-Error`
/// header, else a plain-text body.
fn server_message(headers: &HeaderMap, body: &[u8]) -> ServerMessage {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: Option<String>,
        message: Option<String>,
        data: Option<LineErrors>,
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum LineErrors {
        Many(Vec<LineError>),
        One(LineError),
    }
    #[derive(serde::Deserialize)]
    struct LineError {
        #[serde(default)]
        error_message: String,
        #[serde(default)]
        line_number: u64,
        #[serde(default)]
        original_line: String,
    }
    let line = |e: LineError| FailedLine {
        line_number: e.line_number,
        message: e.error_message,
        original_line: e.original_line,
    };
    if let Ok(e) = serde_json::from_slice::<ErrorBody>(body) {
        if let Some(text) = e.error.or(e.message) {
            let (failed_lines, lines_listed) = match e.data {
                Some(LineErrors::Many(v)) => (v.into_iter().map(line).collect(), Listed::Array),
                Some(LineErrors::One(one)) => (vec![line(one)], Listed::One),
                None => (Vec::new(), Listed::None),
            };
            return ServerMessage {
                text: Some(text),
                failed_lines,
                lines_listed,
            };
        }
    }
    let text = if let Some(h) = headers
        .get("x-influxdb-error")
        .and_then(|v| v.to_str().ok())
    {
        Some(h.to_owned())
    } else {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        (!text.is_empty()).then(|| text.chars().take(1000).collect())
    };
    ServerMessage {
        text,
        failed_lines: Vec::new(),
        lines_listed: Listed::None,
    }
}

/// Points a partial write dropped: the server's `dropped=N` counts points
/// refused by the storage layer; lines that did not parse are not in N, one
/// "unable to parse" each.
fn dropped_count(message: &str) -> Option<u64> {
    let n = message
        .rsplit_once("dropped=")
        .and_then(|(_, n)| n.trim().parse::<u64>().ok());
    let unparsed = message.matches("unable to parse").count() as u64;
    n.map(|n| n + unparsed)
}

fn transport_error(e: hyper_util::client::legacy::Error, base: &BaseUrl) -> Error {
    #[cfg(feature = "rustls")]
    if find_source::<crate::connect::HandshakeTimeout>(&e).is_some() {
        return Error::new(Kind::Tls)
            .with_message(base.display())
            .with_hint("the server took the connection but did not finish a TLS handshake: check that it serves TLS on that port, or raise ClientBuilder::connect_timeout")
            .with_source(e);
    }
    #[cfg(feature = "rustls")]
    if let Some(tls) = find_source::<rustls::Error>(&e) {
        let mut err = Error::new(Kind::Tls).with_message(base.display());
        if let Some(hint) = crate::tls::handshake_hint(tls) {
            err = err.with_hint(hint);
        }
        return err.with_source(e);
    }
    if e.is_connect() {
        Error::new(Kind::Connect)
            .with_message(base.display())
            .with_source(e)
    } else {
        Error::new(Kind::Transport)
            .with_message(base.display())
            .with_source(e)
    }
}

/// The first error of type `T` in `e`'s source chain (io::Error's inner
/// error included, which is where TLS failures travel).
#[cfg(feature = "rustls")]
fn find_source<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(t) = io.get_ref().and_then(|i| i.downcast_ref::<T>()) {
                return Some(t);
            }
        }
        next = err.source();
    }
    None
}

/// `body` gzipped on Tokio's blocking pool: a body of megabytes takes
/// milliseconds the runtime has better uses for. Once per body, however
/// often it is sent.
pub(crate) async fn gzip_off_thread(body: Bytes) -> Result<Bytes, Error> {
    tokio::task::spawn_blocking(move || gzip(&body))
        .await
        .unwrap_or_else(|e| Err(error::encode("gzip compression stopped").with_source(e)))
}

#[cfg(feature = "gzip")]
fn gzip(body: &[u8]) -> Result<Bytes, Error> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    enc.write_all(body)
        .and_then(|_| enc.finish())
        .map(Bytes::from)
        .map_err(|e| error::encode("gzip compression failed").with_source(e))
}

#[cfg(not(feature = "gzip"))]
fn gzip(_body: &[u8]) -> Result<Bytes, Error> {
    Err(error::builder("gzip needs the crate feature \"gzip\""))
}

/// The body, inflated if it is gzip, within `limit` bytes inflated too: a
/// small compressed body may inflate a thousandfold.
#[cfg(feature = "gzip")]
fn maybe_gunzip(headers: &HeaderMap, body: Bytes, limit: usize) -> Result<Bytes, Error> {
    use std::io::Read;
    let gz = headers
        .get(CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
    if !gz {
        return Ok(body);
    }
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::GzDecoder::new(&body[..])
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| error::decode("the gzip response body is corrupt").with_source(e))?;
    if out.len() > limit {
        return Err(error::decode(format!(
            "the gzip response body inflates past {limit} bytes"
        )));
    }
    Ok(Bytes::from(out))
}

#[cfg(not(feature = "gzip"))]
fn maybe_gunzip(_headers: &HeaderMap, body: Bytes, _limit: usize) -> Result<Bytes, Error> {
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "gzip")]
    #[test]
    fn gzip_bodies_inflate_within_the_limit() -> Result<(), Error> {
        let zeros = vec![b'0'; 1 << 20];
        let packed = gzip(&zeros)?;
        assert!(packed.len() < 16 * 1024, "{}", packed.len());
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_ENCODING, http::HeaderValue::from_static("gzip"));
        let err = maybe_gunzip(&headers, packed.clone(), 64 * 1024)
            .expect_err("1 MiB inflated is past 64 KiB");
        assert!(
            err.to_string().contains("inflates past 65536 bytes"),
            "{err}"
        );
        assert_eq!(
            maybe_gunzip(&headers, packed.clone(), 1 << 20)?.len(),
            1 << 20
        );
        assert_eq!(maybe_gunzip(&HeaderMap::new(), packed.clone(), 1)?, packed);
        Ok(())
    }

    #[test]
    fn auth_debug_hides_password_and_token() -> Result<(), Error> {
        let c = Auth::basic("admin".into(), "s3cret".into(), AuthMethod::BasicHeader)?;
        let d = format!("{c:?}");
        assert!(d.contains("admin") && !d.contains("s3cret"), "{d}");
        let Auth::Basic { header, .. } = &c else {
            panic!("basic")
        };
        assert_eq!(header.as_bytes(), b"Basic YWRtaW46czNjcmV0");
        let t = Auth::token("Token", "tok-123")?;
        let d = format!("{t:?}");
        assert!(!d.contains("tok-123"), "{d}");
        assert_eq!(t.secrets(), ["tok-123", "tok-123"]);
        let b = Auth::basic("u".into(), "p w".into(), AuthMethod::QueryParams)?;
        assert_eq!(b.secrets(), ["p w", "p%20w", "dTpwIHc="]);
        assert!(Auth::token("Bearer", "").is_err());
        assert!(Auth::token("Bearer", "line\nbreak").is_err());
        assert!(Auth::token("Bearer", "x\u{0}y").is_err());
        Ok(())
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480.
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            retry_after("18446744073709551615", now),
            Some(Duration::from_secs(24 * 3600))
        );
        assert_eq!(retry_after("soon", now), None);
    }

    #[test]
    fn components_are_percent_encoded() {
        let mut s = String::new();
        encode_component("a b&c=d/é~-_.", &mut s);
        assert_eq!(s, "a%20b%26c%3Dd%2F%C3%A9~-_.");
    }

    #[test]
    fn base_url_checks() {
        assert!(BaseUrl::parse("http://127.0.0.1:8086").is_ok());
        assert!(BaseUrl::parse("http://localhost:8086/influx/").is_ok());
        for bad in [
            "ftp://x",
            "127.0.0.1:8086",
            "http://",
            "http://u:p@h:1",
            "nonsense url",
        ] {
            let e = BaseUrl::parse(bad).expect_err(bad);
            assert!(e.is_builder(), "{bad}: {e}");
        }
    }

    #[test]
    fn partial_write_counts() {
        assert_eq!(
            dropped_count("partial write: field type conflict: x dropped=2"),
            Some(2)
        );
        assert_eq!(
            dropped_count("partial write: unable to parse 'mem,host=a used= 1': missing field value dropped=0"),
            Some(1)
        );
        let e = status_error(
            StatusCode::BAD_REQUEST,
            &HeaderMap::new(),
            br#"{"error":"partial write: field type conflict: input field \"usage\" on measurement \"cpu\" is type string, already exists as type float dropped=2"}"#,
            Some(4),
        );
        assert!(e.is_partial_write());
        assert_eq!(e.points_dropped(), Some(2));
    }

    #[test]
    fn plain_text_503_body() {
        let e = status_error(
            StatusCode::SERVICE_UNAVAILABLE,
            &HeaderMap::new(),
            b"request throttled, exceeds timeout\n",
            Some(10),
        );
        assert!(e.is_retryable());
        assert_eq!(
            e.server_message(),
            Some("request throttled, exceeds timeout")
        );
        assert_eq!(e.points_dropped(), None);
    }
}
