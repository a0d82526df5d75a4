//! The blocking [`Client`] and its [`ClientBuilder`].

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::query::QueryIter;
use super::runtime::Runtime;
use super::writer::Writer;
use crate::error::Error;
use crate::query::Chunk;
use crate::{
    AuthMethod, EncodeOptions, FieldType, LineWriter, Pong, Precision, Privilege, Query,
    RetentionPolicy, RetentionPolicySpec, Row, ToLineProtocol, User, WriteOptions,
};

/// A blocking InfluxDB 1.x client: the async [`crate::Client`] driven on a
/// background thread, for programs without an async runtime.
///
/// Cheap to clone: clones share the connection pool and the runtime
/// thread, so there is no need to wrap it in an `Arc`. The thread ends,
/// and is joined, when the last client, writer and query iterator made from
/// it are dropped.
///
/// Every method fails as its async counterpart does, and also with
/// [`Error::is_runtime`] when called inside an async (Tokio) runtime, where
/// blocking would stall it: use the async client there.
///
/// ```no_run
/// use influx_stream::{blocking, Point, Query};
///
/// # fn run() -> Result<(), influx_stream::Error> {
/// let client = blocking::Client::builder("http://127.0.0.1:8086")
///     .database("telemetry")
///     .build()?;
/// client.create_database("telemetry")?;
/// client.write(Point::new("cpu").tag("host", "a").field("usage", 0.5))?;
/// for row in client.query(Query::new("SELECT usage FROM cpu").chunk_size(1_000)) {
///     let row = row?;
///     println!("{:?} {:?}", row.time(), row.get("usage").and_then(|v| v.as_f64()));
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: crate::Client,
    runtime: Arc<Runtime>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The async client's Debug already hides the password.
        f.debug_struct("blocking::Client")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// Configures and builds a blocking [`Client`]; made by [`Client::builder`].
/// The setters are those of [`crate::ClientBuilder`], with the same defaults.
#[must_use = "a builder does nothing until build() is called"]
#[derive(Debug)]
pub struct ClientBuilder {
    inner: crate::ClientBuilder,
}

/// Forwards a setter to the async builder.
macro_rules! setter {
    ($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*)) => {
        $(#[$doc])*
        pub fn $name(self, $($arg: $ty),*) -> Self {
            ClientBuilder { inner: self.inner.$name($($arg),*) }
        }
    };
}

impl ClientBuilder {
    setter!(
        /// The default database for writes and queries. Default: none.
        /// See [`crate::ClientBuilder::database`].
        database(db: impl Into<String>)
    );
    setter!(
        /// The default retention policy. Default: none (the database's default).
        retention_policy(rp: impl Into<String>)
    );
    setter!(
        /// The precision timestamps are written with. Default: nanoseconds.
        /// See [`crate::ClientBuilder::precision`].
        precision(precision: Precision)
    );
    setter!(
        /// The unit query responses give times in. Default: nanoseconds.
        epoch(epoch: Precision)
    );
    setter!(
        /// Authenticates with a user name and password; the password never
        /// appears in `Debug` output, logs or errors. Default: none.
        basic_auth(username: impl Into<String>, password: impl Into<String>)
    );
    setter!(
        /// Whether raw line protocol is read as the server would before it
        /// is sent. Default: true. See [`crate::ClientBuilder::check_raw_lines`].
        check_raw_lines(enabled: bool)
    );
    setter!(
        /// Whether whole floats in float fields read as
        /// [`Value::Float`](crate::Value::Float), by the field types learnt
        /// from the server. Default: true.
        /// See [`crate::ClientBuilder::field_types`].
        field_types(enabled: bool)
    );
    setter!(
        /// The write endpoint: 1.x, 2.x or 3.x. Default: 1.x `/write`.
        /// See [`crate::ClientBuilder::write_api`].
        write_api(api: crate::WriteApi)
    );
    setter!(
        /// The kind of server (InfluxDB or VictoriaMetrics). Default:
        /// InfluxDB. See [`crate::ClientBuilder::server`].
        server(server: crate::Server)
    );
    setter!(
        /// What happens to string fields. Default: kept (refused for
        /// VictoriaMetrics). See [`crate::ClientBuilder::string_fields`].
        string_fields(mode: crate::StringFields)
    );
    setter!(
        /// Authenticates with an `Authorization: Token` header (2.x, Cloud,
        /// 3.x, 1.7.3+); never shown. See [`crate::ClientBuilder::token`].
        token(token: impl Into<String>)
    );
    setter!(
        /// Authenticates with an `Authorization: Bearer` header (3.x);
        /// never shown. See [`crate::ClientBuilder::bearer`].
        bearer(token: impl Into<String>)
    );
    setter!(
        /// Trusts a root (CA) certificate for `https://` URLs. Default: none
        /// added. See [`crate::ClientBuilder::add_root_certificate`].
        #[cfg(feature = "rustls")]
        add_root_certificate(certificate: crate::Certificate)
    );
    setter!(
        /// Whether the system's roots are trusted. Default: true.
        /// See [`crate::ClientBuilder::tls_built_in_root_certs`].
        #[cfg(feature = "rustls")]
        tls_built_in_root_certs(enabled: bool)
    );
    setter!(
        /// A client certificate and key for mutual TLS. Default: none.
        #[cfg(feature = "rustls")]
        identity(identity: crate::Identity)
    );
    setter!(
        /// Accepts any server certificate: dangerous, for tests only.
        /// Default: false. See [`crate::ClientBuilder::danger_accept_invalid_certs`].
        #[cfg(feature = "rustls")]
        danger_accept_invalid_certs(enabled: bool)
    );
    setter!(
        /// How credentials are sent. Default: [`AuthMethod::BasicHeader`].
        auth_method(method: AuthMethod)
    );
    setter!(
        /// The time a request may take until its response head has arrived.
        /// Default: 30 s. `None` waits forever.
        timeout(timeout: impl Into<Option<Duration>>)
    );
    setter!(
        /// The time connecting may take. Default: 10 s.
        connect_timeout(timeout: impl Into<Option<Duration>>)
    );
    setter!(
        /// How long an idle pooled connection is kept. Default: 90 s.
        pool_idle_timeout(timeout: impl Into<Option<Duration>>)
    );
    setter!(
        /// Compresses write bodies and asks for gzip query responses.
        /// Default: false.
        gzip(enabled: bool)
    );
    setter!(
        /// Writes unsigned integer fields with the `i` suffix (InfluxDB before
        /// 1.8 refuses `1u`). Default: false.
        unsigned_as_integer(enabled: bool)
    );
    setter!(
        /// How often a request tries the first server again while failed
        /// over. Default: 30 s. See [`crate::ClientBuilder::failover_probe_interval`].
        failover_probe_interval(interval: Duration)
    );

    /// Servers to fail over to, in order, when the first is down. See
    /// [`crate::ClientBuilder::failover`].
    pub fn failover<I, S>(self, urls: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ClientBuilder {
            inner: self.inner.failover(urls),
        }
    }

    /// Builds the client and starts its runtime thread.
    ///
    /// # Errors
    /// Those of [`crate::ClientBuilder::build`]; [`Error::is_runtime`] inside
    /// an async runtime, or when the thread cannot be started.
    pub fn build(self) -> Result<Client, Error> {
        super::runtime::not_in_async()?;
        let inner = self.inner.build()?;
        let runtime = Runtime::start()?;
        Ok(Client { inner, runtime })
    }
}

impl From<crate::ClientBuilder> for ClientBuilder {
    /// A blocking builder with the async builder's settings.
    fn from(inner: crate::ClientBuilder) -> Self {
        ClientBuilder { inner }
    }
}

/// Owned copies of tag filters, for futures that must be `'static`.
fn owned_tags(tags: &[(&str, &str)]) -> Vec<(String, String)> {
    tags.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn borrowed_tags(tags: &[(String, String)]) -> Vec<(&str, &str)> {
    tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// Encodes on the caller's thread, so the points need not be `Send`.
fn encode(
    options: EncodeOptions,
    f: impl FnOnce(&mut LineWriter<'_>) -> Result<(), Error>,
) -> Result<(Bytes, u64), Error> {
    let mut body = Vec::new();
    let lines = {
        let mut w = LineWriter::new(&mut body, options);
        f(&mut w)?;
        w.lines()
    };
    Ok((Bytes::from(body), lines as u64))
}

impl Client {
    /// Starts configuring a client for the server at `url`, e.g.
    /// `http://127.0.0.1:8086`.
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            inner: crate::Client::builder(url),
        }
    }

    /// Runs `f(async client)` on the runtime thread and waits for it.
    fn call<T, Fut>(&self, f: impl FnOnce(crate::Client) -> Fut) -> Result<T, Error>
    where
        Fut: Future<Output = Result<T, Error>> + Send + 'static,
        T: Send + 'static,
    {
        self.runtime.block_on(f(self.inner.clone()))
    }

    /// A handle on the same pool and thread whose default database is `db`.
    pub fn with_database(&self, db: impl Into<String>) -> Client {
        Client {
            inner: self.inner.with_database(db),
            runtime: self.runtime.clone(),
        }
    }

    /// A handle on the same pool and thread whose default retention policy is `rp`.
    pub fn with_retention_policy(&self, rp: impl Into<String>) -> Client {
        Client {
            inner: self.inner.with_retention_policy(rp),
            runtime: self.runtime.clone(),
        }
    }

    /// A handle on the same pool and thread writing with another precision.
    pub fn with_precision(&self, precision: Precision) -> Client {
        Client {
            inner: self.inner.with_precision(precision),
            runtime: self.runtime.clone(),
        }
    }

    /// The default database, if any.
    pub fn database(&self) -> Option<&str> {
        self.inner.database()
    }

    /// The server requests go to now. See [`crate::Client::active_url`].
    pub fn active_url(&self) -> String {
        self.inner.active_url()
    }

    /// Each server's counters. See [`crate::Client::server_stats`].
    pub fn server_stats(&self) -> Vec<crate::ServerStats> {
        self.inner.server_stats()
    }

    /// The default retention policy, if any.
    pub fn retention_policy(&self) -> Option<&str> {
        self.inner.retention_policy()
    }

    /// The precision writes use.
    pub fn precision(&self) -> Precision {
        self.inner.precision()
    }

    /// How this client encodes points (precision, unsigned handling).
    pub fn encode_options(&self) -> EncodeOptions {
        self.inner.encode_options()
    }

    /// Checks that the server answers; see [`crate::Client::ping`].
    pub fn ping(&self) -> Result<Pong, Error> {
        self.call(|c| async move { c.ping().await })
    }

    /// Writes points in one request: see [`crate::Client::write`]. They are
    /// encoded on the calling thread.
    ///
    /// # Errors
    /// An invalid point (nothing is sent), or the server's refusal.
    pub fn write<T: ToLineProtocol>(&self, points: T) -> Result<(), Error> {
        super::runtime::not_in_async()?;
        let (body, n) = encode(self.encode_options(), |w| w.write(&points))?;
        self.call(|c| async move { c.write_body(body, n).await })
    }

    /// Writes every item of an iterator in one request.
    ///
    /// # Errors
    /// As [`write`](Self::write).
    pub fn write_iter<I>(&self, points: I) -> Result<(), Error>
    where
        I: IntoIterator,
        I::Item: ToLineProtocol,
    {
        super::runtime::not_in_async()?;
        let (body, n) = encode(self.encode_options(), |w| {
            points.into_iter().try_for_each(|p| w.write(&p))
        })?;
        self.call(|c| async move { c.write_body(body, n).await })
    }

    /// Runs a query and returns the whole response as JSON: see
    /// [`crate::Client::query_json`]. For small results; stream large ones
    /// with [`query`](Self::query).
    pub fn query_json(&self, query: impl Into<Query>) -> Result<Json, Error> {
        let query = query.into();
        self.call(|c| async move { c.query_json(query).await })
    }

    /// Runs a query and iterates over its rows as they arrive: see
    /// [`crate::Client::query`]. Memory stays bounded whatever the size of
    /// the result; dropping the iterator stops the query.
    ///
    /// ```no_run
    /// # fn run() -> Result<(), influx_stream::Error> {
    /// use influx_stream::{blocking, Query};
    ///
    /// let client = blocking::Client::builder("http://127.0.0.1:8086").database("telemetry").build()?;
    /// let mut n = 0;
    /// for row in client.query(Query::new("SELECT * FROM cpu").chunk_size(5_000)) {
    ///     let _row = row?;
    ///     n += 1;
    /// }
    /// println!("{n} rows");
    /// # Ok(()) }
    /// ```
    pub fn query(&self, query: impl Into<Query>) -> QueryIter<Row> {
        QueryIter::start(&self.runtime, self.inner.query(query))
    }

    /// Runs a query and iterates over each row as your own
    /// [`FromRow`](crate::FromRow) type: see [`crate::Client::query_rows`].
    ///
    /// ```no_run
    /// use influx_stream::{blocking, FromRow};
    ///
    /// #[derive(FromRow)]
    /// struct Cpu { time: i64, usage: f64 }
    ///
    /// # fn run() -> Result<(), influx_stream::Error> {
    /// let client = blocking::Client::builder("http://127.0.0.1:8086").database("telemetry").build()?;
    /// for cpu in client.query_rows::<Cpu>("SELECT usage FROM cpu") {
    ///     let cpu = cpu?;
    ///     println!("{} {}", cpu.time, cpu.usage);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn query_rows<T: crate::FromRow + Send + 'static>(
        &self,
        query: impl Into<Query>,
    ) -> QueryIter<T> {
        QueryIter::start(&self.runtime, self.inner.query_rows::<T>(query))
    }

    /// Runs a query and iterates over each row as a `serde::Deserialize`
    /// type: see [`crate::Client::query_as`].
    pub fn query_as<T: DeserializeOwned + Send + 'static>(
        &self,
        query: impl Into<Query>,
    ) -> QueryIter<T> {
        QueryIter::start(&self.runtime, self.inner.query_as::<T>(query))
    }

    /// Runs a query and iterates over the response as the server sent it:
    /// see [`crate::Client::query_chunks`].
    pub fn query_chunks(&self, query: impl Into<Query>) -> QueryIter<Chunk> {
        QueryIter::start(&self.runtime, self.inner.query_chunks(query))
    }

    /// A batching [`Writer`] writing with this client's database, retention
    /// policy and precision unless `options` name others; its writer task
    /// runs on this client's runtime thread.
    ///
    /// # Errors
    /// Invalid options; [`Error::is_runtime`] inside an async runtime.
    pub fn writer(&self, options: WriteOptions) -> Result<Writer, Error> {
        let writer = self.call(|c| async move { c.writer(options) })?;
        Ok(Writer::new(writer, self.runtime.clone()))
    }
}

/// The administration helpers of [`crate::Client`], blocking.
impl Client {
    /// Creates a database (no error if it exists).
    pub fn create_database(&self, name: &str) -> Result<(), Error> {
        let name = name.to_owned();
        self.call(|c| async move { c.create_database(&name).await })
    }

    /// Drops a database and all its data (no error if it does not exist).
    pub fn drop_database(&self, name: &str) -> Result<(), Error> {
        let name = name.to_owned();
        self.call(|c| async move { c.drop_database(&name).await })
    }

    /// The names of all databases.
    pub fn show_databases(&self) -> Result<Vec<String>, Error> {
        self.call(|c| async move { c.show_databases().await })
    }

    /// The retention policies of database `db`.
    pub fn show_retention_policies(&self, db: &str) -> Result<Vec<RetentionPolicy>, Error> {
        let db = db.to_owned();
        self.call(|c| async move { c.show_retention_policies(&db).await })
    }

    /// Creates a retention policy on database `db`.
    pub fn create_retention_policy(
        &self,
        db: &str,
        spec: &RetentionPolicySpec,
    ) -> Result<(), Error> {
        let (db, spec) = (db.to_owned(), spec.clone());
        self.call(|c| async move { c.create_retention_policy(&db, &spec).await })
    }

    /// Changes a retention policy of database `db` to `spec`.
    pub fn alter_retention_policy(
        &self,
        db: &str,
        spec: &RetentionPolicySpec,
    ) -> Result<(), Error> {
        let (db, spec) = (db.to_owned(), spec.clone());
        self.call(|c| async move { c.alter_retention_policy(&db, &spec).await })
    }

    /// Drops a retention policy of database `db`, and its data.
    pub fn drop_retention_policy(&self, db: &str, name: &str) -> Result<(), Error> {
        let (db, name) = (db.to_owned(), name.to_owned());
        self.call(|c| async move { c.drop_retention_policy(&db, &name).await })
    }

    /// The measurements of the client's database.
    pub fn show_measurements(&self) -> Result<Vec<String>, Error> {
        self.call(|c| async move { c.show_measurements().await })
    }

    /// The series keys of the client's database, or of one measurement.
    pub fn show_series(&self, measurement: Option<&str>) -> Result<Vec<String>, Error> {
        let m = measurement.map(str::to_owned);
        self.call(|c| async move { c.show_series(m.as_deref()).await })
    }

    /// Tag keys by measurement, of the client's database or one measurement.
    pub fn show_tag_keys(
        &self,
        measurement: Option<&str>,
    ) -> Result<BTreeMap<String, Vec<String>>, Error> {
        let m = measurement.map(str::to_owned);
        self.call(|c| async move { c.show_tag_keys(m.as_deref()).await })
    }

    /// The values of tag `key` by measurement, of the client's database or
    /// one measurement.
    pub fn show_tag_values(
        &self,
        measurement: Option<&str>,
        key: &str,
    ) -> Result<BTreeMap<String, Vec<String>>, Error> {
        let (m, key) = (measurement.map(str::to_owned), key.to_owned());
        self.call(|c| async move { c.show_tag_values(m.as_deref(), &key).await })
    }

    /// Field keys and their types by measurement, of the client's database
    /// or one measurement.
    pub fn show_field_keys(
        &self,
        measurement: Option<&str>,
    ) -> Result<BTreeMap<String, Vec<(String, FieldType)>>, Error> {
        let m = measurement.map(str::to_owned);
        self.call(|c| async move { c.show_field_keys(m.as_deref()).await })
    }

    /// Drops a measurement of the client's database, with its data.
    pub fn drop_measurement(&self, name: &str) -> Result<(), Error> {
        let name = name.to_owned();
        self.call(|c| async move { c.drop_measurement(&name).await })
    }

    /// Drops the series of `measurement` whose tags equal all of `tags`:
    /// see [`crate::Client::drop_series`].
    pub fn drop_series(&self, measurement: &str, tags: &[(&str, &str)]) -> Result<(), Error> {
        let (m, tags) = (measurement.to_owned(), owned_tags(tags));
        self.call(|c| async move { c.drop_series(&m, &borrowed_tags(&tags)).await })
    }

    /// Deletes the points of `measurement` whose tags equal all of `tags`,
    /// keeping the series: see [`crate::Client::delete`].
    pub fn delete(&self, measurement: &str, tags: &[(&str, &str)]) -> Result<(), Error> {
        let (m, tags) = (measurement.to_owned(), owned_tags(tags));
        self.call(|c| async move { c.delete(&m, &borrowed_tags(&tags)).await })
    }

    /// All users.
    pub fn show_users(&self) -> Result<Vec<User>, Error> {
        self.call(|c| async move { c.show_users().await })
    }

    /// Creates a user, an admin if `admin`.
    pub fn create_user(&self, name: &str, password: &str, admin: bool) -> Result<(), Error> {
        let (name, password) = (name.to_owned(), password.to_owned());
        self.call(|c| async move { c.create_user(&name, &password, admin).await })
    }

    /// Drops a user.
    pub fn drop_user(&self, name: &str) -> Result<(), Error> {
        let name = name.to_owned();
        self.call(|c| async move { c.drop_user(&name).await })
    }

    /// Grants a privilege on database `db` to `user`.
    pub fn grant(&self, privilege: Privilege, db: &str, user: &str) -> Result<(), Error> {
        let (db, user) = (db.to_owned(), user.to_owned());
        self.call(|c| async move { c.grant(privilege, &db, &user).await })
    }

    /// Revokes a privilege on database `db` from `user`.
    pub fn revoke(&self, privilege: Privilege, db: &str, user: &str) -> Result<(), Error> {
        let (db, user) = (db.to_owned(), user.to_owned());
        self.call(|c| async move { c.revoke(privilege, &db, &user).await })
    }
}
