//! Which HTTP endpoint writes go to: InfluxDB 1.x's `/write`, 2.x's
//! `/api/v2/write` or 3.x's `/api/v3/write_lp`.

use crate::error::{self, Error};
use crate::http::Params;
use crate::line_protocol::Server;
use crate::point::Precision;

/// The write endpoint a [`Client`](crate::Client) and its
/// [`Writer`](crate::Writer)s use; set with
/// [`ClientBuilder::write_api`](crate::ClientBuilder::write_api). Batching,
/// retries and the split of too-large batches are the same for every one.
///
/// | API | endpoint | database | precisions |
/// | --- | --- | --- | --- |
/// | [`v1`](Self::v1) (default) | `/write?db=&rp=` | the client's database and retention policy | all |
/// | [`v2`](Self::v2) | `/api/v2/write?org=&bucket=` | the bucket is the database, `db/rp` with a retention policy | ns, µs, ms, s |
/// | [`v3`](Self::v3) | `/api/v3/write_lp?db=` | the client's database | ns, µs, ms, s |
///
/// `v1` reaches InfluxDB 1.x, the 1.x-compatible endpoint of 2.x, Cloud and
/// 3.x, and VictoriaMetrics. `v3` reports a partial write line by line
/// ([`Error::failed_lines`](crate::Error::failed_lines)).
///
/// ```
/// use influx_stream::{Client, WriteApi};
///
/// # fn main() -> Result<(), influx_stream::Error> {
/// let cloud = Client::builder("https://eu-central-1-1.aws.cloud2.influxdata.com")
///     .token("my-token")
///     .database("my-bucket")
///     .write_api(WriteApi::v2("my-org"))
///     .build()?;
/// let core = Client::builder("http://127.0.0.1:8181")
///     .bearer("apiv3_my-token")
///     .database("sensors")
///     .write_api(WriteApi::v3().accept_partial(false))
///     .build()?;
/// # let _ = (cloud, core);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteApi {
    kind: Kind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    V1,
    V2 { org: String },
    V3 { accept_partial: bool, no_sync: bool },
}

impl Default for WriteApi {
    fn default() -> Self {
        WriteApi::v1()
    }
}

impl WriteApi {
    /// InfluxDB 1.x's `/write` (the default).
    pub fn v1() -> WriteApi {
        WriteApi { kind: Kind::V1 }
    }

    /// InfluxDB 2.x and Cloud's `/api/v2/write` in organisation `org` (its
    /// name or id). The bucket is the client's database, or
    /// `database/retention_policy` when a retention policy is set (the name
    /// 2.x gives buckets it maps from 1.x databases).
    pub fn v2(org: impl Into<String>) -> WriteApi {
        WriteApi {
            kind: Kind::V2 { org: org.into() },
        }
    }

    /// InfluxDB 3.x's `/api/v3/write_lp`, accepting the good lines of a
    /// batch with bad ones (the server's default; see
    /// [`accept_partial`](Self::accept_partial)).
    pub fn v3() -> WriteApi {
        WriteApi {
            kind: Kind::V3 {
                accept_partial: true,
                no_sync: false,
            },
        }
    }

    /// For [`v3`](Self::v3): whether the server writes the good lines of a
    /// batch that has bad ones (true, its default) or none of them. Either
    /// way the error lists the bad lines. No effect on the other APIs.
    pub fn accept_partial(mut self, enabled: bool) -> WriteApi {
        if let Kind::V3 { accept_partial, .. } = &mut self.kind {
            *accept_partial = enabled;
        }
        self
    }

    /// For [`v3`](Self::v3): acknowledge writes before they reach the
    /// server's write-ahead log (faster; a server crash can lose
    /// acknowledged points). Default: false. No effect on the other APIs.
    pub fn no_sync(mut self, enabled: bool) -> WriteApi {
        if let Kind::V3 { no_sync, .. } = &mut self.kind {
            *no_sync = enabled;
        }
        self
    }

    /// The endpoint's path.
    pub(crate) fn endpoint(&self) -> &'static str {
        match self.kind {
            Kind::V1 => "/write",
            Kind::V2 { .. } => "/api/v2/write",
            Kind::V3 { .. } => "/api/v3/write_lp",
        }
    }

    /// Checks that the API can write with `precision`; called by the
    /// client builder.
    pub(crate) fn check(&self, precision: Precision) -> Result<(), Error> {
        if let Kind::V2 { org } = &self.kind {
            if org.is_empty() {
                return Err(error::builder("WriteApi::v2: the organisation is empty"));
            }
        }
        precision_name(&self.kind, precision).map(drop)
    }

    /// The query string of one write.
    pub(crate) fn params(
        &self,
        database: Option<&str>,
        retention_policy: Option<&str>,
        precision: Precision,
        server: Server,
    ) -> Result<Params, Error> {
        let mut params = Params::default();
        if self.kind != Kind::V1 && database.is_none() {
            // 1.x says "database is required" itself; the others may not.
            return Err(error::encode(format!(
                "{} needs a database (the bucket): set ClientBuilder::database",
                self.endpoint()
            )));
        }
        match &self.kind {
            Kind::V1 => {
                params
                    .push_opt("db", database)
                    .push_opt("rp", retention_policy)
                    .push("precision", precision.as_str());
            }
            Kind::V2 { org } => {
                let bucket = match (database, retention_policy) {
                    (Some(db), Some(rp)) => format!("{db}/{rp}"),
                    (Some(db), None) => db.to_owned(),
                    (None, _) => String::new(),
                };
                params
                    .push("org", org)
                    .push("bucket", &bucket)
                    .push("precision", precision_name(&self.kind, precision)?);
                if server == Server::VictoriaMetrics {
                    // It ignores the bucket and files points under `db`.
                    params.push("db", &bucket);
                }
            }
            Kind::V3 {
                accept_partial,
                no_sync,
            } => {
                params
                    .push_opt("db", database)
                    .push("precision", precision_name(&self.kind, precision)?);
                if !accept_partial {
                    params.push("accept_partial", "false");
                }
                if *no_sync {
                    params.push("no_sync", "true");
                }
            }
        }
        Ok(params)
    }
}

fn precision_name(kind: &Kind, precision: Precision) -> Result<&'static str, Error> {
    // 3.x documents the long names; the short ones only work from 3.6 on.
    let name = match (kind, precision) {
        (Kind::V1, p) => p.as_str(),
        (Kind::V2 { .. }, Precision::Nanoseconds) => "ns",
        (Kind::V2 { .. }, Precision::Microseconds) => "us",
        (Kind::V2 { .. }, Precision::Milliseconds) => "ms",
        (Kind::V2 { .. }, Precision::Seconds) => "s",
        (Kind::V3 { .. }, Precision::Nanoseconds) => "nanosecond",
        (Kind::V3 { .. }, Precision::Microseconds) => "microsecond",
        (Kind::V3 { .. }, Precision::Milliseconds) => "millisecond",
        (Kind::V3 { .. }, Precision::Seconds) => "second",
        (_, p) => {
            return Err(error::builder(format!(
                "the 2.x and 3.x write APIs take no {p:?} precision: use seconds or finer"
            )))
        }
    };
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_per_api() -> Result<(), Error> {
        let p = |api: WriteApi, rp| {
            api.params(Some("db 1"), rp, Precision::Milliseconds, Server::InfluxDb)
                .map(Params::into_string)
        };
        assert_eq!(
            p(WriteApi::v1(), Some("rp"))?,
            "db=db%201&rp=rp&precision=ms"
        );
        assert_eq!(
            p(WriteApi::v2("o"), None)?,
            "org=o&bucket=db%201&precision=ms"
        );
        assert_eq!(
            p(WriteApi::v2("o"), Some("week"))?,
            "org=o&bucket=db%201%2Fweek&precision=ms"
        );
        assert_eq!(p(WriteApi::v3(), None)?, "db=db%201&precision=millisecond");
        assert_eq!(
            p(WriteApi::v3().accept_partial(false).no_sync(true), None)?,
            "db=db%201&precision=millisecond&accept_partial=false&no_sync=true"
        );
        Ok(())
    }

    #[test]
    fn checks() {
        assert!(WriteApi::v2("o").check(Precision::Hours).is_err());
        assert!(WriteApi::v3().check(Precision::Minutes).is_err());
        assert!(WriteApi::v2("").check(Precision::Seconds).is_err());
        assert!(WriteApi::v1().check(Precision::Hours).is_ok());
        assert!(WriteApi::v3()
            .params(None, None, Precision::Seconds, Server::InfluxDb)
            .is_err());
        let vm =
            WriteApi::v2("o").params(Some("b"), None, Precision::Seconds, Server::VictoriaMetrics);
        assert_eq!(
            vm.map(Params::into_string).ok().as_deref(),
            Some("org=o&bucket=b&precision=s&db=b")
        );
    }
}
