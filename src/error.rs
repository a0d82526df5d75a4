//! The crate's one error type.
//!
//! Every fallible operation (building a client, encoding a point, a write, a
//! query, the write sink) fails with [`Error`]. It is deliberately opaque: a
//! private kind grows without breaking users, and the predicates
//! ([`Error::is_connect`], [`Error::is_retryable`], ...) answer the questions a
//! caller actually asks. The `Display` text says what went wrong and, where we
//! know it, what to do about it.

use std::fmt;
use std::time::Duration;

use http::StatusCode;

/// A `Result` whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The error type of every operation in this crate.
///
/// It carries, where they apply: the HTTP status, the server's own message,
/// the server's request id, the number of points that were not written, and
/// the text of the underlying causes (in `Display`, once: `source()` is
/// `None`, so reporters do not print them twice). Credentials never appear
/// in it.
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: Kind,
    message: Option<String>,
    status: Option<StatusCode>,
    request_id: Option<String>,
    points_dropped: Option<u64>,
    retry_after: Option<Duration>,
    /// What to do, when the place that made the error knows better than
    /// the message-based hints.
    hint: Option<&'static str>,
    /// What the server's message means, read once when it is set.
    reason: Reason,
    failed_lines: Vec<FailedLine>,
    source: Option<BoxError>,
}

/// The server's message, classified: the only signal InfluxDB gives for
/// these is its text, so it is read in one place, here. The last two are
/// the input problems of `LineProtocolCodec`, set where it finds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Other,
    HttpsPort,
    NoDbrpMapping,
    BucketNotFound,
    DatabaseNotFound,
    RetentionPolicyNotFound,
    InvalidName,
    NotExecuted,
    FieldTypeConflict,
    UnsignedRefused,
    LineTooLong,
    NotUtf8,
}

impl Reason {
    fn of(msg: &str) -> Reason {
        if msg.contains("HTTP request to an HTTPS server") {
            Reason::HttpsPort
        } else if msg.contains("no dbrp mapping found") {
            Reason::NoDbrpMapping
        } else if msg.starts_with("bucket") && msg.contains("not found") {
            Reason::BucketNotFound
        } else if msg.contains("database not found") {
            Reason::DatabaseNotFound
        } else if msg.contains("retention policy not found") {
            Reason::RetentionPolicyNotFound
        } else if msg.ends_with("invalid name") {
            Reason::InvalidName
        } else if msg.ends_with("not executed") {
            Reason::NotExecuted
        } else if msg.contains("field type conflict") {
            Reason::FieldTypeConflict
        } else if msg.contains("invalid number") && msg.contains('u') {
            Reason::UnsignedRefused
        } else {
            Reason::Other
        }
    }
}

/// One line the server refused, as InfluxDB 3.x reports them
/// ([`Error::failed_lines`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailedLine {
    /// The line's number in the request body, from 1. For a
    /// [`Writer`](crate::Writer), within the request that carried it (a
    /// batch, or a part of one split after a 413); the
    /// [`FailedBatch`](crate::FailedBatch) then holds just the refused
    /// lines, in order.
    pub line_number: u64,
    /// Why the server refused it.
    pub message: String,
    /// The start of the line as the server quotes it (3.6 and later quote
    /// its first 20 bytes).
    pub original_line: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Invalid configuration given to a builder.
    Builder,
    /// A point that cannot be written as line protocol.
    Encode,
    /// The TCP connection could not be made.
    Connect,
    /// The TLS handshake failed (certificate, name, protocol).
    #[cfg_attr(not(feature = "rustls"), allow(dead_code))]
    Tls,
    /// The request did not complete within its timeout.
    Timeout,
    /// The connection failed while sending or receiving.
    Transport,
    /// The server answered with a non-success status.
    Status,
    /// The server wrote some points of a request and dropped others.
    PartialWrite,
    /// A statement inside a successful query response failed.
    Query,
    /// A response body that could not be understood.
    Decode,
    /// The writer (sink) has stopped and accepts no more points.
    Closed,
    /// The blocking API was used from inside an async runtime, or the
    /// runtime thread is gone.
    Runtime,
    /// Reading input (a file, standard input) failed.
    Io,
    /// The writer's on-disk spool: its directory is locked by another
    /// writer, it is full, or reading or writing it failed.
    Spool,
}

impl Error {
    pub(crate) fn new(kind: Kind) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: None,
                status: None,
                request_id: None,
                points_dropped: None,
                retry_after: None,
                hint: None,
                reason: Reason::Other,
                failed_lines: Vec::new(),
                source: None,
            }),
        }
    }

    pub(crate) fn with_message(mut self, message: impl Into<String>) -> Self {
        let message = message.into();
        if matches!(
            self.inner.kind,
            Kind::Status | Kind::PartialWrite | Kind::Query
        ) {
            self.inner.reason = Reason::of(&message);
        }
        self.inner.message = Some(message);
        self
    }

    /// Removes every occurrence of `secret` from the message, in case the
    /// server echoed a statement that carried it.
    pub(crate) fn redact(mut self, secret: &str) -> Self {
        if !secret.is_empty() {
            if let Some(m) = self.inner.message.take() {
                self.inner.message = Some(m.replace(secret, "[REDACTED]"));
            }
        }
        self
    }

    /// Puts `context` before the message.
    pub(crate) fn with_context(mut self, context: impl Into<String>) -> Self {
        let context = context.into();
        self.inner.message = Some(match self.inner.message.take() {
            Some(m) => format!("{context}: {m}"),
            None => context,
        });
        self
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.inner.status = Some(status);
        self
    }

    pub(crate) fn with_request_id(mut self, id: Option<String>) -> Self {
        self.inner.request_id = id;
        self
    }

    pub(crate) fn with_points_dropped(mut self, n: u64) -> Self {
        self.inner.points_dropped = Some(n);
        self
    }

    pub(crate) fn with_failed_lines(mut self, lines: Vec<FailedLine>) -> Self {
        self.inner.failed_lines = lines;
        self
    }

    #[cfg_attr(not(feature = "rustls"), allow(dead_code))]
    pub(crate) fn with_hint(mut self, hint: &'static str) -> Self {
        self.inner.hint = Some(hint);
        self
    }

    pub(crate) fn with_retry_after(mut self, after: Option<Duration>) -> Self {
        self.inner.retry_after = after;
        self
    }

    #[allow(dead_code)] // used by the modules still to come
    pub(crate) fn kind(&self) -> Kind {
        self.inner.kind
    }

    /// True when the configuration given to a builder was invalid.
    pub fn is_builder(&self) -> bool {
        self.inner.kind == Kind::Builder
    }

    /// True when a point could not be encoded as line protocol (for example
    /// a NaN field, an empty measurement, or a point without fields), or a
    /// query parameter cannot be bound (NaN, or an integer past `i64`).
    pub fn is_encode(&self) -> bool {
        self.inner.kind == Kind::Encode
    }

    /// True when no connection to the server could be made.
    pub fn is_connect(&self) -> bool {
        self.inner.kind == Kind::Connect
    }

    /// True when the TLS handshake with the server failed: a certificate
    /// signed by a CA the client does not trust, a host name the
    /// certificate does not list, a server that does not speak TLS on that
    /// port, or a refused client certificate. The message says which.
    pub fn is_tls(&self) -> bool {
        self.inner.kind == Kind::Tls
    }

    /// True when the request timed out.
    pub fn is_timeout(&self) -> bool {
        if self.inner.kind == Kind::Timeout {
            return true;
        }
        let mut source = self
            .inner
            .source
            .as_deref()
            .map(|s| s as &dyn std::error::Error);
        while let Some(err) = source {
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::TimedOut {
                    return true;
                }
            }
            source = err.source();
        }
        false
    }

    /// True when the server answered with an error status (see [`Error::status`]).
    pub fn is_status(&self) -> bool {
        matches!(self.inner.kind, Kind::Status | Kind::PartialWrite)
    }

    /// True when the server accepted part of a write and dropped the rest
    /// (InfluxDB's "partial write"); [`Error::points_dropped`] says how many.
    pub fn is_partial_write(&self) -> bool {
        self.inner.kind == Kind::PartialWrite
    }

    /// True when a statement of a query failed on the server (for example
    /// "database not found"), although the HTTP request itself succeeded.
    pub fn is_query(&self) -> bool {
        self.inner.kind == Kind::Query
    }

    /// True when a response could not be parsed or deserialized.
    pub fn is_decode(&self) -> bool {
        self.inner.kind == Kind::Decode
    }

    /// True when the writer has stopped and accepts no more points.
    pub fn is_closed(&self) -> bool {
        self.inner.kind == Kind::Closed
    }

    /// True when the blocking client was used where it cannot block (inside
    /// an async runtime), or its runtime thread has stopped.
    pub fn is_runtime(&self) -> bool {
        self.inner.kind == Kind::Runtime
    }

    /// True when reading input failed (a file or standard input given to a
    /// [`LineProtocolCodec`](crate::LineProtocolCodec)).
    pub fn is_io(&self) -> bool {
        self.inner.kind == Kind::Io
    }

    /// True when a [`Writer`](crate::Writer)'s on-disk spool
    /// ([`WriteOptions::spool`](crate::WriteOptions::spool)) refused or
    /// failed: another writer holds its directory, it is full (under
    /// [`SpoolFull::Error`](crate::SpoolFull::Error)), or the disk failed.
    pub fn is_spool(&self) -> bool {
        self.inner.kind == Kind::Spool
    }

    /// True when the server answered 401 or 403: the credentials are missing,
    /// wrong, or lack the privilege the request needs.
    pub fn is_auth(&self) -> bool {
        matches!(
            self.inner.status,
            Some(StatusCode::UNAUTHORIZED) | Some(StatusCode::FORBIDDEN)
        )
    }

    /// True when a [`LineProtocolCodec`](crate::LineProtocolCodec) met a
    /// line longer than its limit (an [`is_encode`](Self::is_encode) error).
    /// What the codec had buffered of the line may or may not have been
    /// consumed, depending on where reads ended: treat the input as
    /// unreadable from there on.
    pub fn is_line_too_long(&self) -> bool {
        self.inner.reason == Reason::LineTooLong
    }

    /// True when a [`LineProtocolCodec`](crate::LineProtocolCodec) cut a
    /// line that is not UTF-8 (an [`is_encode`](Self::is_encode) error). The
    /// line and its newline were consumed: decoding may go on with the
    /// next one.
    pub fn is_not_utf8(&self) -> bool {
        self.inner.reason == Reason::NotUtf8
    }

    /// True when the database (or 2.x bucket) named by the request does
    /// not exist.
    pub fn is_database_not_found(&self) -> bool {
        matches!(
            self.inner.reason,
            Reason::DatabaseNotFound | Reason::BucketNotFound | Reason::NoDbrpMapping
        )
    }

    /// True when sending the same request again may succeed: connection
    /// failures, timeouts, 429 and 5xx answers, except the 500 InfluxDB gives
    /// for a retention policy that does not exist.
    pub fn is_retryable(&self) -> bool {
        match self.inner.kind {
            Kind::Connect | Kind::Timeout | Kind::Transport => true,
            Kind::Status => match self.inner.status {
                Some(StatusCode::TOO_MANY_REQUESTS) => true,
                Some(s) if s.is_server_error() => {
                    self.inner.reason != Reason::RetentionPolicyNotFound
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// The HTTP status the server answered with, if the error came from one.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The server's own error message (from the JSON body or the
    /// `X-Influxdb-Error` header), or the statement's error for query errors.
    pub fn server_message(&self) -> Option<&str> {
        match self.inner.kind {
            Kind::Status | Kind::PartialWrite | Kind::Query => self.inner.message.as_deref(),
            _ => None,
        }
    }

    /// The server's `Request-Id` for the failed request, to find it in the
    /// server's logs.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.request_id.as_deref()
    }

    /// How many points were not written because of this error, when known:
    /// the `dropped=N` of a partial write, or the size of a batch that failed.
    pub fn points_dropped(&self) -> Option<u64> {
        self.inner.points_dropped
    }

    /// The lines the server refused, with their numbers and reasons, when
    /// it says which (InfluxDB 3.x's `/api/v3/write_lp`); empty otherwise.
    pub fn failed_lines(&self) -> &[FailedLine] {
        &self.inner.failed_lines
    }

    /// The delay the server asked for with `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    fn hint(&self) -> Option<&'static str> {
        if self.inner.hint.is_some() {
            return self.inner.hint;
        }
        match self.inner.kind {
            Kind::Connect => Some("is InfluxDB running and listening at that address?"),
            Kind::Timeout => {
                Some("the server did not answer in time; raise the client's timeout or retry later")
            }
            Kind::Status | Kind::PartialWrite | Kind::Query => match self.inner.reason {
                Reason::HttpsPort => Some("the server speaks HTTPS on that port: use an https:// URL"),
                Reason::NoDbrpMapping => Some("InfluxDB 2.x maps 1.x databases to buckets: create a DBRP mapping (influx v1 dbrp create) or write with WriteApi::v2"),
                Reason::BucketNotFound => Some("create the bucket first (influx bucket create) or name another with ClientBuilder::database"),
                Reason::DatabaseNotFound => Some("create it first (Client::create_database or CREATE DATABASE) or name another database"),
                Reason::RetentionPolicyNotFound => Some("create the retention policy or name an existing one"),
                _ if self.inner.status == Some(StatusCode::UNAUTHORIZED) => Some(
                    "check the credentials given to ClientBuilder::basic_auth, token or bearer",
                ),
                _ if self.inner.status == Some(StatusCode::FORBIDDEN) => Some(
                    "the user lacks the privilege for this request; GRANT it or use another user",
                ),
                Reason::InvalidName => Some("InfluxDB refuses database and retention policy names containing a slash, backslash or newline"),
                Reason::NotExecuted => Some("InfluxDB runs no statement after one that fails: fix or remove the failing statement"),
                Reason::FieldTypeConflict => Some("a field must keep one type per shard: send it with the type it already has (e.g. 1.0 for a float, 1i for an integer)"),
                Reason::UnsignedRefused => Some("InfluxDB 1.x before 1.8 has no unsigned fields: enable ClientBuilder::unsigned_as_integer"),
                // Set only on the codec's encode errors, never here.
                Reason::Other | Reason::LineTooLong | Reason::NotUtf8 => None,
            },
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.inner.kind {
            Kind::Builder => "invalid client configuration",
            Kind::Encode => "cannot encode the request",
            Kind::Connect => "cannot connect to InfluxDB",
            Kind::Tls => "TLS handshake with InfluxDB failed",
            Kind::Timeout => "request to InfluxDB timed out",
            Kind::Transport => "connection to InfluxDB failed",
            Kind::Status => "InfluxDB rejected the request",
            Kind::PartialWrite => "InfluxDB wrote only part of the batch",
            Kind::Query => "query statement failed",
            Kind::Decode => "cannot decode InfluxDB's response",
            Kind::Closed => "the writer is closed",
            Kind::Runtime => "runtime error",
            Kind::Io => "reading the input failed",
            Kind::Spool => "the writer's spool",
        };
        f.write_str(what)?;
        if let Some(status) = self.inner.status {
            write!(f, " (HTTP {status})")?;
        }
        if let Some(msg) = &self.inner.message {
            write!(f, ": {msg}")?;
        }
        if let Some(n) = self.inner.points_dropped {
            write!(f, "; {n} point(s) not written")?;
        }
        // The whole cause chain: hyper's outer errors ("client error
        // (Connect)") only say where; the innermost says what.
        let mut source = self
            .inner
            .source
            .as_deref()
            .map(|s| s as &dyn std::error::Error);
        while let Some(src) = source {
            write!(f, ": {src}")?;
            source = src.source();
        }
        if let Some(id) = &self.inner.request_id {
            write!(f, " [request id {id}]")?;
        }
        if let Some(hint) = self.hint() {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind);
        if let Some(s) = &self.inner.status {
            d.field("status", s);
        }
        if let Some(m) = &self.inner.message {
            d.field("message", m);
        }
        if let Some(id) = &self.inner.request_id {
            d.field("request_id", id);
        }
        if let Some(n) = &self.inner.points_dropped {
            d.field("points_dropped", n);
        }
        if let Some(s) = &self.inner.source {
            d.field("source", s);
        }
        d.finish()
    }
}

/// An input error (reading a file or standard input through
/// [`LineProtocolCodec`](crate::LineProtocolCodec)).
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::new(Kind::Io).with_source(e)
    }
}

/// `source()` is `None`: the causes are part of the `Display` text already
/// (hyper's outer errors only say where, the innermost what), and an error
/// reporter that walks `source()` would print each of them twice. The
/// predicates ([`Error::is_timeout`], [`Error::is_tls`], ...) answer what a
/// caller would look for in the causes.
impl std::error::Error for Error {}

impl Clone for Error {
    /// Clones everything but the source, which is kept as its text.
    fn clone(&self) -> Self {
        let mut inner = Inner {
            kind: self.inner.kind,
            message: self.inner.message.clone(),
            status: self.inner.status,
            request_id: self.inner.request_id.clone(),
            points_dropped: self.inner.points_dropped,
            retry_after: self.inner.retry_after,
            hint: self.inner.hint,
            reason: self.inner.reason,
            failed_lines: self.inner.failed_lines.clone(),
            source: None,
        };
        if let Some(src) = &self.inner.source {
            // Keep the whole cause chain as text: the outer errors of hyper
            // only say where ("client error (SendRequest)"), the inner what.
            let mut text = src.to_string();
            let mut next = src.source();
            while let Some(e) = next {
                text.push_str(": ");
                text.push_str(&e.to_string());
                next = e.source();
            }
            inner.source = Some(text.into());
        }
        Error {
            inner: Box::new(inner),
        }
    }
}

pub(crate) fn builder(message: impl Into<String>) -> Error {
    Error::new(Kind::Builder).with_message(message)
}

pub(crate) fn encode(message: impl Into<String>) -> Error {
    Error::new(Kind::Encode).with_message(message)
}

/// `LineProtocolCodec`'s error for a line longer than `max` bytes.
pub(crate) fn line_too_long(max: usize) -> Error {
    let mut e = encode(format!(
        "a line of line protocol is longer than {max} bytes"
    ));
    e.inner.reason = Reason::LineTooLong;
    e
}

/// `LineProtocolCodec`'s error for a line that is not UTF-8.
pub(crate) fn not_utf8() -> Error {
    let mut e = encode("a line of line protocol is not UTF-8");
    e.inner.reason = Reason::NotUtf8;
    e
}

pub(crate) fn decode(message: impl Into<String>) -> Error {
    Error::new(Kind::Decode).with_message(message)
}

pub(crate) fn query(statement_id: u64, message: &str) -> Error {
    Error::new(Kind::Query).with_message(format!("statement {statement_id}: {message}"))
}

#[allow(dead_code)] // used by the modules still to come
pub(crate) fn closed(message: impl Into<String>) -> Error {
    Error::new(Kind::Closed).with_message(message)
}

pub(crate) fn spool(message: impl Into<String>) -> Error {
    Error::new(Kind::Spool).with_message(message)
}

#[cfg_attr(not(feature = "blocking"), allow(dead_code))]
pub(crate) fn runtime(message: impl Into<String>) -> Error {
    Error::new(Kind::Runtime).with_message(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_one_pointer_and_thread_safe() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Error>();
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
        assert_eq!(
            std::mem::size_of::<Result<()>>(),
            std::mem::size_of::<usize>()
        );
    }

    #[test]
    fn display_names_status_message_and_hint() {
        let e = Error::new(Kind::Status)
            .with_status(StatusCode::NOT_FOUND)
            .with_message("database not found: \"x\"")
            .with_request_id(Some("abc".into()));
        let s = e.to_string();
        assert!(s.contains("404"), "{s}");
        assert!(s.contains("database not found"), "{s}");
        assert!(s.contains("request id abc"), "{s}");
        assert!(s.contains("create it first"), "{s}");
        assert!(e.is_database_not_found());
        assert!(!e.is_retryable());
    }

    #[test]
    fn retryable_statuses() {
        let s = |code: u16, msg: &str| {
            Error::new(Kind::Status)
                .with_status(StatusCode::from_u16(code).unwrap_or(StatusCode::IM_A_TEAPOT))
                .with_message(msg)
        };
        assert!(s(503, "request throttled").is_retryable());
        assert!(s(429, "").is_retryable());
        assert!(!s(500, "retention policy not found: x").is_retryable());
        assert!(!s(400, "partial write").is_retryable());
        assert!(Error::new(Kind::Connect).is_retryable());
    }
}
