//! The HTTP layer: the pooled hyper client, URLs and their encoding,
//! authentication headers, and turning error responses into [`Error`]s.

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

use crate::early_answer::Connector;
use crate::error::{self, Error, Kind};

/// Error bodies are short JSON or text; never buffer more than this of one.
const MAX_ERROR_BODY: usize = 64 * 1024;

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

/// A user name and password. `Debug` never shows the password.
#[derive(Clone)]
pub(crate) struct Credentials {
    pub(crate) username: String,
    pub(crate) password: String,
    pub(crate) method: AuthMethod,
    header: HeaderValue,
}

impl Credentials {
    pub(crate) fn new(
        username: String,
        password: String,
        method: AuthMethod,
    ) -> Result<Self, Error> {
        let raw = format!("{username}:{password}");
        let mut value = String::with_capacity(6 + raw.len() * 4 / 3 + 4);
        value.push_str("Basic ");
        base64_into(raw.as_bytes(), &mut value);
        let mut header = HeaderValue::from_str(&value).map_err(|_| {
            error::builder(
                "the user name or password contains characters not allowed in an HTTP header",
            )
        })?;
        header.set_sensitive(true);
        Ok(Credentials {
            username,
            password,
            method,
            header,
        })
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("method", &self.method)
            .finish()
    }
}

fn base64_into(input: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in input.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= n {
                out.push(ALPHABET[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
}

/// Appends `s` percent-encoded for a query string or form body.
pub(crate) fn encode_component(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

/// Builds `a=b&c=d` from pairs, skipping `None` values.
#[derive(Default)]
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

impl BaseUrl {
    pub(crate) fn parse(url: &str) -> Result<Self, Error> {
        let uri: Uri = url.parse().map_err(|e| {
            error::builder(format!(
                "{url:?} is not a valid URL (expected e.g. http://127.0.0.1:8086)"
            ))
            .with_source(e)
        })?;
        let scheme = match uri.scheme_str() {
            Some("http") => "http",
            Some("https") => {
                return Err(error::builder(format!(
                    "{url:?}: https is not supported yet; put a TLS-terminating proxy in front, or use http on a trusted network"
                )))
            }
            Some(other) => {
                return Err(error::builder(format!(
                    "{url:?}: the scheme {other:?} is not http; use e.g. http://127.0.0.1:8086"
                )))
            }
            None => {
                return Err(error::builder(format!(
                    "{url:?} has no scheme; use e.g. http://{url}"
                )))
            }
        };
        let authority = match uri.authority() {
            Some(a) if !a.host().is_empty() => a,
            _ => return Err(error::builder(format!("{url:?} has no host"))),
        };
        if authority.as_str().contains('@') {
            return Err(error::builder(
                "credentials in the URL are not supported; use ClientBuilder::basic_auth",
            ));
        }
        if uri.query().is_some() {
            return Err(error::builder(format!(
                "{url:?}: the base URL must not have a query string"
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

    pub(crate) fn display(&self) -> String {
        format!("{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

/// The pooled HTTP client plus everything every request needs.
#[derive(Clone)]
pub(crate) struct Transport {
    client: HyperClient<Connector, Body>,
    pub(crate) base: BaseUrl,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) timeout: Option<Duration>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base.display())
            .field("credentials", &self.credentials)
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
    pub(crate) gzip_body: bool,
    pub(crate) accept_gzip: bool,
    /// For logs only.
    pub(crate) database: Option<&'a str>,
}

impl Transport {
    pub(crate) fn new(
        base: BaseUrl,
        credentials: Option<Credentials>,
        timeout: Option<Duration>,
        connect_timeout: Option<Duration>,
        pool_idle_timeout: Option<Duration>,
        pool_max_idle_per_host: usize,
    ) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(connect_timeout);
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(pool_idle_timeout)
            .pool_max_idle_per_host(pool_max_idle_per_host)
            // Connections that still deliver an answer sent before the
            // server stopped reading the body (influxd's early 413 and 404).
            .build(Connector(connector));
        Transport {
            client,
            base,
            credentials,
            timeout,
        }
    }

    fn build(&self, call: Call<'_>) -> Result<Request<Body>, Error> {
        let mut query = call.params.into_string();
        if let Some(c) = &self.credentials {
            if c.method == AuthMethod::QueryParams {
                let mut p = Params(query);
                p.push("u", &c.username).push("p", &c.password);
                query = p.into_string();
            }
        }
        let uri = self.base.uri(call.endpoint, &query)?;
        let mut builder = Request::builder().method(call.method).uri(uri);
        let headers = builder
            .headers_mut()
            .ok_or_else(|| error::builder("invalid request"))?;
        if let Some(c) = &self.credentials {
            if c.method == AuthMethod::BasicHeader {
                headers.insert(AUTHORIZATION, c.header.clone());
            }
        }
        if let Some(ct) = call.content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        if call.accept_gzip {
            headers.insert(
                http::header::ACCEPT_ENCODING,
                HeaderValue::from_static("gzip"),
            );
        }
        let body = if call.gzip_body {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            gzip(&call.body)?
        } else {
            call.body
        };
        builder
            .body(Full::new(body))
            .map_err(|e| error::builder("cannot build the request").with_source(e))
    }

    /// Sends a request and returns the response head once it arrives; the
    /// body is read by the caller. The timeout covers connecting and waiting
    /// for the head.
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Response<Incoming>, Error> {
        let endpoint = call.endpoint;
        let method = call.method.clone();
        let db = call.database.map(str::to_owned);
        let request = self.build(call)?;
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
                Err(transport_error(e, &self.base))
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
        let body = match self.read_all(resp, MAX_ERROR_BODY).await {
            Ok((_, b)) => b,
            // A reset after the head (InfluxDB does this after 413 and 404)
            // still leaves us the status and the X-Influxdb-Error header.
            Err(_) => Bytes::new(),
        };
        status_error(status, &headers, &body, points)
    }
}

pub(crate) fn status_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    points: Option<u64>,
) -> Error {
    let message = server_message(headers, body);
    let request_id = headers
        .get("request-id")
        .or_else(|| headers.get("x-request-id"))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let retry_after = headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let partial = message
        .as_deref()
        .is_some_and(|m| m.starts_with("partial write"));
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
        if let Some(n) = message.as_deref().and_then(dropped_count) {
            err = err.with_points_dropped(n);
        }
    } else if let Some(n) = points {
        // Anything but a partial write means nothing of the request was written.
        if !status.is_success() && n > 0 && !err.is_retryable() {
            err = err.with_points_dropped(n);
        }
    }
    match message {
        Some(m) => err.with_message(m),
        None => err.with_message(status.canonical_reason().unwrap_or("error").to_owned()),
    }
}

/// The server's message: JSON `{"error": ..}` body, else the
/// `X-Influxdb-Error` header, else a plain-text body.
fn server_message(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        error: String,
    }
    if let Ok(e) = serde_json::from_slice::<ErrorBody>(body) {
        return Some(e.error);
    }
    if let Some(h) = headers
        .get("x-influxdb-error")
        .and_then(|v| v.to_str().ok())
    {
        return Some(h.to_owned());
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(1000).collect())
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
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut s = String::new();
            base64_into(input.as_bytes(), &mut s);
            assert_eq!(s, want);
        }
    }

    #[test]
    fn credentials_debug_hides_password() -> Result<(), Error> {
        let c = Credentials::new("admin".into(), "s3cret".into(), AuthMethod::BasicHeader)?;
        let d = format!("{c:?}");
        assert!(d.contains("admin") && !d.contains("s3cret"), "{d}");
        Ok(())
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
