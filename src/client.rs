//! [`Client`] and its [`ClientBuilder`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde_json::Value as Json;

use crate::connect::Connector;
use crate::error::{self, Error, Kind};
use crate::failover::ServerStats;
use crate::http::{without_credentials, Auth, AuthMethod, BaseUrl, Call, Params, Transport};
use crate::influxql::Query;
use crate::line_protocol::{EncodeOptions, LineWriter, Server, StringFields, ToLineProtocol};
use crate::point::Precision;
use crate::write_api::WriteApi;

/// Whole query responses read by [`Client::query_json`] are capped at this
/// size; larger results belong in the streaming query.
const MAX_JSON_RESPONSE: usize = 256 * 1024 * 1024;

/// An InfluxDB 1.x client.
///
/// Cheap to clone: clones share one connection pool, so there is no need to
/// wrap it in an `Arc`. The database, retention policy and precision given
/// to the builder are defaults; [`Client::with_database`] and friends give a
/// handle on the same pool with other defaults.
///
/// ```no_run
/// use influx_stream::{Client, Point};
///
/// # async fn run() -> Result<(), influx_stream::Error> {
/// let client = Client::builder("http://127.0.0.1:8086")
///     .database("telemetry")
///     .build()?;
/// client.write(Point::new("cpu").tag("host", "a").field("usage", 0.5)).await?;
/// let json = client.query_json("SELECT * FROM cpu").await?;
/// println!("{json}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientRef>,
    database: Option<Arc<str>>,
    retention_policy: Option<Arc<str>>,
    precision: Precision,
}

struct ClientRef {
    transport: Transport,
    gzip: bool,
    unsigned_as_integer: bool,
    server: Server,
    string_fields: StringFields,
    check_raw: bool,
    epoch: Precision,
    write_api: WriteApi,
    /// Whether query results are typed by the server's field types.
    field_types: bool,
    /// Field types and tag keys per measurement, for rows, chunks and Arrow.
    type_cache: crate::field_types::TypeCache,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.transport.base.display())
            .field("active_url", &self.inner.transport.active_base().display())
            .field("database", &self.database)
            .field("retention_policy", &self.retention_policy)
            .field("precision", &self.precision)
            .field("auth", &self.inner.transport.auth)
            .field("timeout", &self.inner.transport.timeout)
            .field("gzip", &self.inner.gzip)
            .field("write_api", &self.inner.write_api)
            .finish()
    }
}

/// What [`Client::ping`] learns about the server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pong {
    /// The server's version (`X-Influxdb-Version`), e.g. `1.6.7~rc0`.
    pub version: String,
    /// The server's build (`X-Influxdb-Build`), e.g. `OSS`.
    pub build: String,
}

/// The credentials given to the builder, checked by `build`.
#[derive(Clone)]
enum AuthChoice {
    None,
    Basic(String, String),
    Token(&'static str, String),
}

impl fmt::Debug for AuthChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthChoice::None => f.write_str("None"),
            AuthChoice::Basic(user, _) => write!(f, "Basic({user:?}, <redacted>)"),
            AuthChoice::Token(scheme, _) => write!(f, "{scheme}(<redacted>)"),
        }
    }
}

/// Configures and builds a [`Client`]; made by [`Client::builder`].
#[must_use = "a builder does nothing until build() is called"]
pub struct ClientBuilder {
    url: String,
    database: Option<String>,
    retention_policy: Option<String>,
    precision: Precision,
    epoch: Precision,
    auth: AuthChoice,
    auth_method: AuthMethod,
    #[cfg(feature = "rustls")]
    tls: crate::tls::TlsSettings,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    pool_idle_timeout: Option<Duration>,
    pool_max_idle_per_host: usize,
    gzip: bool,
    unsigned_as_integer: bool,
    server: Server,
    string_fields: Option<StringFields>,
    check_raw: bool,
    field_types: bool,
    write_api: WriteApi,
    failover: Vec<String>,
    probe_interval: Duration,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &without_credentials(&self.url))
            .field(
                "failover",
                &self
                    .failover
                    .iter()
                    .map(|u| without_credentials(u))
                    .collect::<Vec<_>>(),
            )
            .field("database", &self.database)
            .field("retention_policy", &self.retention_policy)
            .field("precision", &self.precision)
            .field("auth", &self.auth)
            .field("timeout", &self.timeout)
            .field("gzip", &self.gzip)
            .field("write_api", &self.write_api)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The default database for writes and queries. Default: none (each
    /// call then has to name one, or InfluxDB answers "database is required").
    pub fn database(mut self, db: impl Into<String>) -> Self {
        self.database = Some(db.into());
        self
    }

    /// The default retention policy for writes and queries. Default: none
    /// (the database's default policy).
    pub fn retention_policy(mut self, rp: impl Into<String>) -> Self {
        self.retention_policy = Some(rp.into());
        self
    }

    /// The precision timestamps are written with. Point timestamps are
    /// always given in nanoseconds and divided on encoding; raw line
    /// protocol is sent as is with this `precision` parameter.
    /// Default: nanoseconds.
    pub fn precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// The unit query responses give times in (`epoch`). Default: nanoseconds.
    pub fn epoch(mut self, epoch: Precision) -> Self {
        self.epoch = epoch;
        self
    }

    /// Authenticates with a user name and password, as a Basic
    /// `Authorization` header unless [`auth_method`](Self::auth_method) says
    /// otherwise. The password never appears in `Debug` output, logs or errors.
    /// Default: no authentication.
    ///
    /// For InfluxDB 2.x, Cloud and 3.x through their 1.x-compatible
    /// endpoints, the password may be a token (any user name).
    pub fn basic_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = AuthChoice::Basic(username.into(), password.into());
        self
    }

    /// Authenticates with an `Authorization: Token <token>` header: InfluxDB
    /// 2.x and Cloud (API tokens, every endpoint), InfluxDB 1.7.3 and later
    /// (`Token user:password`), and 3.x. Replaces earlier credentials. The
    /// token never appears in `Debug` output, logs or errors.
    /// Default: no authentication.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.auth = AuthChoice::Token("Token", token.into());
        self
    }

    /// Authenticates with an `Authorization: Bearer <token>` header:
    /// InfluxDB 3.x tokens, and 1.x servers with a JWT shared secret.
    /// Replaces earlier credentials; never shown, like [`token`](Self::token).
    pub fn bearer(mut self, token: impl Into<String>) -> Self {
        self.auth = AuthChoice::Token("Bearer", token.into());
        self
    }

    /// How credentials are sent. Default: [`AuthMethod::BasicHeader`].
    pub fn auth_method(mut self, method: AuthMethod) -> Self {
        self.auth_method = method;
        self
    }

    /// The time a request may take, from sending it until its response head
    /// (and, for small responses, its body) has arrived. Default: 30 s.
    /// `None` waits forever.
    ///
    /// Streamed queries ([`Client::query`] and the like) also allow this
    /// long between two pieces of the body: a query whose next chunk takes
    /// the server longer (a heavy aggregate over much data) ends with a
    /// timeout error, so raise it or pass `None` for such queries.
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.timeout = timeout.into();
        self
    }

    /// The time connecting may take. Default: 10 s.
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = timeout.into();
        self
    }

    /// How long an idle pooled connection is kept. Default: 90 s.
    pub fn pool_idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.pool_idle_timeout = timeout.into();
        self
    }

    /// Compresses write bodies with gzip and asks for gzip query responses.
    /// Worth it over slow links; on loopback it costs CPU. Default: false.
    pub fn gzip(mut self, enabled: bool) -> Self {
        self.gzip = enabled;
        self
    }

    /// Writes unsigned integer fields with the `i` suffix, for servers
    /// without unsigned support (InfluxDB 1.x before 1.8 refuses `1u`).
    /// Default: false (`u` suffix).
    pub fn unsigned_as_integer(mut self, enabled: bool) -> Self {
        self.unsigned_as_integer = enabled;
        self
    }

    /// The kind of server: InfluxDB (the default) or VictoriaMetrics, which
    /// answers 204 to lines it drops or alters. For VictoriaMetrics the
    /// encoder refuses before sending what it would lose without a word
    /// (see [`Server::VictoriaMetrics`]), string fields included unless
    /// [`string_fields`](Self::string_fields) says to skip them, and
    /// [`WriteApi::v2`] also names the bucket as `db`, the label
    /// VictoriaMetrics files points under. Its `/query` answers no
    /// InfluxQL: read back with its own APIs.
    pub fn server(mut self, server: Server) -> Self {
        self.server = server;
        self
    }

    /// What happens to string fields: kept (the default for InfluxDB),
    /// skipped (the point is written without them; one left with no field
    /// is refused) or refused with an error (the default for
    /// VictoriaMetrics).
    pub fn string_fields(mut self, mode: StringFields) -> Self {
        self.string_fields = Some(mode);
        self
    }

    /// Whether raw line-protocol text given to `write` and to writers is
    /// read as the server would read it before it is sent: a bad line is
    /// then an error naming its line and column, nothing of the text is
    /// sent, and no server sees it (VictoriaMetrics would drop it without a
    /// word). Default: true. Turn it off for text checked already, to save
    /// the reading. Points and derived types are checked as they are
    /// encoded either way.
    pub fn check_raw_lines(mut self, enabled: bool) -> Self {
        self.check_raw = enabled;
        self
    }

    /// Whether the values of float fields in [`Client::query`] rows and
    /// [`Client::query_chunks`] chunks are [`Value::Float`](crate::Value::Float)
    /// even when whole. InfluxDB 1.x prints a whole float as `12`, which
    /// reads as [`Value::Integer`](crate::Value::Integer) without it; the
    /// client learns each measurement's field types with one extra request
    /// (`SHOW FIELD KEYS` and `SHOW TAG KEYS`) the first time a query reads
    /// it, and keeps them (see [`Client::query`]).
    ///
    /// `false` gives the JSON's own types and saves that request. Each
    /// query can say otherwise with [`Query::field_types`]. Default: true.
    pub fn field_types(mut self, enabled: bool) -> Self {
        self.field_types = enabled;
        self
    }

    /// The endpoint writes go to: 1.x `/write` (the default), 2.x
    /// `/api/v2/write` or 3.x `/api/v3/write_lp`. See [`WriteApi`].
    pub fn write_api(mut self, api: WriteApi) -> Self {
        self.write_api = api;
        self
    }

    /// Trusts `certificate` as a root (CA) for `https://` URLs, beside the
    /// system's roots (see [`tls_built_in_root_certs`](Self::tls_built_in_root_certs)).
    /// For a private CA or a self-signed server. Default: none added.
    #[cfg(feature = "rustls")]
    pub fn add_root_certificate(mut self, certificate: crate::Certificate) -> Self {
        self.tls.roots.push(certificate);
        self
    }

    /// Whether the system's trusted roots are used for `https://` URLs:
    /// those of the operating system's store (on Debian, the
    /// `ca-certificates` package), or of the `SSL_CERT_FILE` /
    /// `SSL_CERT_DIR` environment variables when set. Default: true.
    #[cfg(feature = "rustls")]
    pub fn tls_built_in_root_certs(mut self, enabled: bool) -> Self {
        self.tls.built_in_roots = enabled;
        self
    }

    /// A client certificate and key, presented to servers that require
    /// mutual TLS. Default: none.
    #[cfg(feature = "rustls")]
    pub fn identity(mut self, identity: crate::Identity) -> Self {
        self.tls.identity = Some(identity);
        self
    }

    /// Accepts any server certificate, whoever signed it and whatever name
    /// it is made out to. **Dangerous**: anyone between the client and the
    /// server can then read and change the traffic, credentials included.
    /// For tests against throw-away servers only; prefer
    /// [`add_root_certificate`](Self::add_root_certificate). Default: false
    /// (certificates and host names are always verified).
    #[cfg(feature = "rustls")]
    pub fn danger_accept_invalid_certs(mut self, enabled: bool) -> Self {
        self.tls.accept_invalid_certs = enabled;
        self
    }

    /// Servers to fail over to, in order, when the one at the builder's URL
    /// is down: requests go to the first server that answers, and one
    /// that cannot be reached, times out or answers 5xx is passed over for
    /// the next within the same call (a `Writer`'s retries included).
    /// While another server is in use, a request tries the first one again
    /// once per [`failover_probe_interval`](Self::failover_probe_interval)
    /// and stays with it when it answers. Every server gets the same
    /// credentials and TLS settings and should hold the same data (a
    /// replica, or the same cluster behind another address): points are
    /// written to whichever server is in use. A query already streaming is
    /// not moved. Default: none.
    ///
    /// ```
    /// use influx_stream::Client;
    ///
    /// let client = Client::builder("http://influx-a:8086")
    ///     .failover(["http://influx-b:8086"])
    ///     .database("telemetry")
    ///     .build()?;
    /// assert_eq!(client.active_url(), "http://influx-a:8086");
    /// # Ok::<(), influx_stream::Error>(())
    /// ```
    pub fn failover<I, S>(mut self, urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.failover.extend(urls.into_iter().map(Into::into));
        self
    }

    /// How often a request tries the first server again while failed over
    /// to another (see [`failover`](Self::failover)). Default: 30 s.
    pub fn failover_probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = interval;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// A URL that is not `http[s]://host[:port][/path]`, gzip asked for
    /// without the `gzip` feature, credentials that cannot go in a header,
    /// or TLS settings that cannot be used (no trusted roots at all, a key
    /// that does not suit its certificate).
    pub fn build(self) -> Result<Client, Error> {
        let base = BaseUrl::parse(&self.url)?;
        let others = self
            .failover
            .iter()
            .map(|url| BaseUrl::parse(url))
            .collect::<Result<Vec<_>, _>>()?;
        self.write_api.check(self.precision)?;
        if self.gzip && !cfg!(feature = "gzip") {
            return Err(error::builder(
                "gzip(true) needs the crate feature \"gzip\"",
            ));
        }
        let auth = match self.auth {
            AuthChoice::Basic(u, p) => {
                if u.is_empty() {
                    return Err(error::builder("basic_auth: the user name is empty"));
                }
                Some(Auth::basic(u, p, self.auth_method)?)
            }
            AuthChoice::Token(scheme, t) => Some(Auth::token(scheme, &t)?),
            AuthChoice::None => None,
        };
        #[cfg(feature = "rustls")]
        let connector = Connector::new(
            self.connect_timeout,
            if base.is_https() || others.iter().any(BaseUrl::is_https) {
                Some(self.tls.client_config()?)
            } else {
                None
            },
        );
        #[cfg(not(feature = "rustls"))]
        let connector = Connector::new(self.connect_timeout);
        let transport = Transport::new(
            base,
            auth,
            self.timeout,
            self.pool_idle_timeout,
            self.pool_max_idle_per_host,
            connector,
        )
        .with_failover(others, self.probe_interval);
        Ok(Client {
            inner: Arc::new(ClientRef {
                transport,
                gzip: self.gzip,
                unsigned_as_integer: self.unsigned_as_integer,
                server: self.server,
                string_fields: self.string_fields.unwrap_or(match self.server {
                    Server::VictoriaMetrics => StringFields::Refuse,
                    _ => StringFields::Keep,
                }),
                check_raw: self.check_raw,
                epoch: self.epoch,
                write_api: self.write_api,
                field_types: self.field_types,
                type_cache: Default::default(),
            }),
            database: self.database.map(Arc::from),
            retention_policy: self.retention_policy.map(Arc::from),
            precision: self.precision,
        })
    }
}

impl Client {
    /// The server requests go to now: the builder's URL, or while it is
    /// down, the [failover](ClientBuilder::failover) server in use.
    pub fn active_url(&self) -> String {
        self.inner.transport.active_base().display()
    }

    /// Each server's counters: requests, failures, points written,
    /// switches and probes, for the builder's URL and then each
    /// [failover](ClientBuilder::failover) server. Shared by every clone of
    /// this client and every writer made from it.
    ///
    /// ```
    /// use influx_stream::Client;
    ///
    /// let client = Client::builder("http://influx-a:8086")
    ///     .failover(["http://influx-b:8086"])
    ///     .build()?;
    /// let servers = client.server_stats();
    /// assert_eq!(servers.len(), 2);
    /// assert!(servers[0].active && servers[0].requests == 0);
    /// # Ok::<(), influx_stream::Error>(())
    /// ```
    pub fn server_stats(&self) -> Vec<ServerStats> {
        self.inner.transport.servers.stats()
    }

    /// Starts configuring a client for the server at `url`, e.g.
    /// `http://127.0.0.1:8086`.
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            url: url.into(),
            database: None,
            retention_policy: None,
            precision: Precision::Nanoseconds,
            epoch: Precision::Nanoseconds,
            auth: AuthChoice::None,
            auth_method: AuthMethod::BasicHeader,
            #[cfg(feature = "rustls")]
            tls: Default::default(),
            timeout: Some(Duration::from_secs(30)),
            connect_timeout: Some(Duration::from_secs(10)),
            pool_idle_timeout: Some(Duration::from_secs(90)),
            pool_max_idle_per_host: 32,
            gzip: false,
            unsigned_as_integer: false,
            server: Server::InfluxDb,
            string_fields: None,
            check_raw: true,
            field_types: true,
            write_api: WriteApi::v1(),
            failover: Vec::new(),
            probe_interval: Duration::from_secs(30),
        }
    }

    /// A handle on the same connection pool whose default database is `db`.
    pub fn with_database(&self, db: impl Into<String>) -> Client {
        Client {
            database: Some(Arc::from(db.into())),
            ..self.clone()
        }
    }

    /// A handle on the same connection pool whose default retention policy is `rp`.
    pub fn with_retention_policy(&self, rp: impl Into<String>) -> Client {
        Client {
            retention_policy: Some(Arc::from(rp.into())),
            ..self.clone()
        }
    }

    /// A handle on the same connection pool writing with another precision.
    pub fn with_precision(&self, precision: Precision) -> Client {
        Client {
            precision,
            ..self.clone()
        }
    }

    /// The default database, if any.
    pub fn database(&self) -> Option<&str> {
        self.database.as_deref()
    }

    /// The default retention policy, if any.
    pub fn retention_policy(&self) -> Option<&str> {
        self.retention_policy.as_deref()
    }

    /// The precision writes use.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// How this client encodes points (precision, unsigned handling).
    pub fn encode_options(&self) -> EncodeOptions {
        EncodeOptions {
            precision: self.precision,
            unsigned_as_integer: self.inner.unsigned_as_integer,
            server: self.inner.server,
            string_fields: self.inner.string_fields,
            check_raw: self.inner.check_raw,
        }
    }

    /// Checks that the server answers, and returns its version and build.
    ///
    /// # Errors
    /// When the server cannot be reached or does not answer 204.
    pub async fn ping(&self) -> Result<Pong, Error> {
        let t = &self.inner.transport;
        let resp = t
            .send(Call {
                method: Method::GET,
                endpoint: "/ping",
                params: Params::default(),
                body: Bytes::new(),
                content_type: None,
                gzip_body: false,
                accept_gzip: false,
                accept: None,
                database: None,
                points: 0,
            })
            .await?;
        if !resp.status().is_success() {
            return Err(t.error_from(resp, None).await);
        }
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        Ok(Pong {
            version: header("x-influxdb-version"),
            build: header("x-influxdb-build"),
        })
    }

    /// Writes points in one request: a [`Point`](crate::Point), a reference,
    /// slice, array or `Vec` of them, any other [`ToLineProtocol`] type, or
    /// raw line protocol (`&str`, `String`, `Bytes`). For iterators see
    /// [`write_iter`](Self::write_iter); for streams and large volumes the
    /// batching sink.
    ///
    /// # Errors
    /// An invalid point (nothing is sent), or the server's refusal: see
    /// [`Error::is_partial_write`] and [`Error::points_dropped`].
    pub async fn write<T: ToLineProtocol>(&self, points: T) -> Result<(), Error> {
        let mut body = Vec::new();
        let n = {
            let mut w = LineWriter::new(&mut body, self.encode_options());
            w.write(&points)?;
            w.lines()
        };
        self.write_body(Bytes::from(body), n as u64).await
    }

    /// Writes every item of an iterator in one request.
    ///
    /// # Errors
    /// As [`write`](Self::write).
    pub async fn write_iter<I>(&self, points: I) -> Result<(), Error>
    where
        I: IntoIterator,
        I::Item: ToLineProtocol,
    {
        let mut body = Vec::new();
        let n = {
            let mut w = LineWriter::new(&mut body, self.encode_options());
            for p in points {
                w.write(&p)?;
            }
            w.lines()
        };
        self.write_body(Bytes::from(body), n as u64).await
    }

    /// Sends an encoded body of `points` lines to `/write`, compressed if
    /// the client says so.
    pub(crate) async fn write_body(&self, body: Bytes, points: u64) -> Result<(), Error> {
        if body.is_empty() {
            return Ok(());
        }
        if self.inner.gzip {
            let body = crate::http::gzip_off_thread(body).await?;
            return self.post_write(body, points, true).await;
        }
        self.post_write(body, points, false).await
    }

    /// Checks that the write endpoint can take this handle's writes (its
    /// precision, its database).
    pub(crate) fn check_write_api(&self) -> Result<(), Error> {
        let api = &self.inner.write_api;
        api.check(self.precision)?;
        api.params(
            self.database.as_deref(),
            self.retention_policy.as_deref(),
            self.precision,
            self.inner.server,
        )
        .map(drop)
    }

    pub(crate) fn gzip_enabled(&self) -> bool {
        self.inner.gzip
    }

    /// One `/write` request; `gzipped` when the caller compressed the body.
    pub(crate) async fn post_write(
        &self,
        body: Bytes,
        points: u64,
        gzipped: bool,
    ) -> Result<(), Error> {
        if body.is_empty() {
            return Ok(());
        }
        let api = &self.inner.write_api;
        let params = api.params(
            self.database.as_deref(),
            self.retention_policy.as_deref(),
            self.precision,
            self.inner.server,
        )?;
        let t = &self.inner.transport;
        let resp = t
            .send(Call {
                method: Method::POST,
                endpoint: api.endpoint(),
                params,
                body,
                content_type: Some("text/plain; charset=utf-8"),
                gzip_body: gzipped,
                accept_gzip: false,
                accept: None,
                database: self.database.as_deref(),
                points,
            })
            .await?;
        if resp.status().is_success() {
            // Drain the (empty) body so the connection goes back to the pool.
            let _ = t.read_all(resp, 1024).await;
            return Ok(());
        }
        Err(t.error_from(resp, Some(points)).await)
    }

    /// Builds the `/query` call for `query`; `chunked` asks for a streamed
    /// response.
    pub(crate) fn query_call<'a>(
        &'a self,
        query: &'a Query,
        chunked: bool,
    ) -> Result<Call<'a>, Error> {
        if query.endpoint != crate::influxql::QueryEndpoint::V1 {
            // Its text is SQL, or meant for 3.x's own InfluxQL endpoint:
            // sent to /query it could run as something else.
            return Err(error::encode(format!(
                "{} answers in JSON lines: run this query with Client::query or Client::query_as",
                query.endpoint.path()
            )));
        }
        let mut params = Params::default();
        let db = query.database.as_deref().or(self.database.as_deref());
        params
            .push_opt("db", db)
            .push_opt(
                "rp",
                query
                    .retention_policy
                    .as_deref()
                    .or(self.retention_policy.as_deref()),
            )
            .push_opt(
                "epoch",
                crate::query::time_format(query.epoch.unwrap_or(self.inner.epoch)).epoch_param(),
            );
        if chunked {
            params.push("chunked", "true");
            params.push(
                "chunk_size",
                itoa::Buffer::new().format(query.chunk_size.unwrap_or(10_000)),
            );
        }
        if !query.params.is_empty() {
            let p = crate::influxql::params_json(&query.params).map_err(error::encode)?;
            params.push("params", &p);
        }
        let (method, body, content_type) = if query.is_read_only() {
            params.push("q", &query.text);
            (Method::GET, Bytes::new(), None)
        } else {
            let mut form = Params::default();
            form.push("q", &query.text);
            (
                Method::POST,
                Bytes::from(form.into_string()),
                Some("application/x-www-form-urlencoded"),
            )
        };
        Ok(Call {
            method,
            endpoint: "/query",
            params,
            body,
            content_type,
            gzip_body: false,
            accept_gzip: self.inner.gzip,
            accept: None,
            database: db,
            points: 0,
        })
    }

    /// Builds the call of a query for InfluxDB 3.x's JSON-lines
    /// endpoints: a JSON body with the database, the text and the bound
    /// parameters (never spliced into the text).
    pub(crate) fn query_call_v3<'a>(&'a self, query: &'a Query) -> Result<Call<'a>, Error> {
        #[derive(serde::Serialize)]
        struct Body<'b> {
            db: &'b str,
            q: &'b str,
            format: &'static str,
            #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
            params: &'b serde_json::Map<String, Json>,
        }
        let db = query
            .database
            .as_deref()
            .or(self.database.as_deref())
            .ok_or_else(|| {
                error::encode(format!(
                    "{} needs a database: set ClientBuilder::database or Query::database",
                    query.endpoint.path()
                ))
            })?;
        let body = serde_json::to_vec(&Body {
            db,
            q: &query.text,
            format: "jsonl",
            params: &query.params,
        })
        .map_err(|e| error::encode("cannot encode the query").with_source(e))?;
        Ok(Call {
            method: Method::POST,
            endpoint: query.endpoint.path(),
            params: Params::default(),
            body: Bytes::from(body),
            content_type: Some("application/json"),
            gzip_body: false,
            accept_gzip: self.inner.gzip,
            accept: None,
            database: Some(db),
            points: 0,
        })
    }

    pub(crate) fn epoch(&self) -> Precision {
        self.inner.epoch
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// The field-type cache the clones share.
    pub(crate) fn field_types(&self) -> &crate::field_types::TypeCache {
        &self.inner.type_cache
    }

    /// Whether queries are typed by field types unless they say otherwise.
    pub(crate) fn field_types_default(&self) -> bool {
        self.inner.field_types
    }

    /// Runs a query and returns the whole response as JSON, as the server
    /// sent it (`{"results": [...]}`). Meant for small results; large ones
    /// belong in the streaming query.
    ///
    /// Reads (SELECT, SHOW) go as GET, everything else as POST.
    ///
    /// # Errors
    /// The server's refusal (bad syntax, authentication), and also a failed
    /// statement inside a successful response (such as "database not
    /// found"), reported with its statement id: see [`Error::is_query`].
    pub async fn query_json(&self, query: impl Into<Query>) -> Result<Json, Error> {
        let query = query.into();
        let call = self.query_call(&query, false)?;
        let t = &self.inner.transport;
        let resp = t.send(call).await?;
        if !resp.status().is_success() {
            return Err(t.error_from(resp, None).await);
        }
        let (_, body) = t.read_all(resp, MAX_JSON_RESPONSE).await?;
        let json: Json = serde_json::from_slice(&body)
            .map_err(|e| error::decode("the query response is not JSON").with_source(e))?;
        check_statement_errors(&json)?;
        Ok(json)
    }
}

/// The first failed statement of a response, as an error.
pub(crate) fn check_statement_errors(json: &Json) -> Result<(), Error> {
    if let Some(msg) = json.get("error").and_then(Json::as_str) {
        // The whole query failed (syntax, authorization): no statement ran.
        return Err(Error::new(Kind::Query).with_message(msg));
    }
    for r in json
        .get("results")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        if let Some(msg) = r.get("error").and_then(Json::as_str) {
            let id = r.get("statement_id").and_then(Json::as_u64).unwrap_or(0);
            return Err(error::query(id, msg));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() -> Result<(), Error> {
        let b = Client::builder("http://127.0.0.1:1").basic_auth("admin", "hunter2");
        assert!(!format!("{b:?}").contains("hunter2"));
        let c = b.build()?;
        let d = format!("{c:?}");
        assert!(d.contains("admin") && !d.contains("hunter2"), "{d}");
        Ok(())
    }

    #[test]
    fn builder_rejects_bad_urls() {
        for url in ["ftp://h", "localhost:8086", "http://"] {
            let e = Client::builder(url).build().expect_err(url);
            assert!(e.is_builder(), "{e}");
        }
    }
}
