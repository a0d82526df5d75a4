//! Administration helpers: databases, retention policies, users, and the
//! SHOW queries for measurements, series, tags and fields.
//!
//! Each one writes its InfluxQL with every name quoted ([`quote_ident`],
//! [`quote_literal`]), so a name like `my"db` or `a b` works and none can
//! inject a statement, and each returns typed results rather than JSON.
//! Listings are asked for in chunks, so the server's `max-row-limit` (which
//! silently truncates ordinary responses) does not cut them short, and read
//! through the streaming decoder, a chunk at a time.

use std::collections::BTreeMap;
use std::fmt;

use futures::TryStreamExt;

use crate::error::{self, Error};
use crate::influxql::{quote_ident, quote_literal, Query};
use crate::query::{Chunk, SeriesMeta};
use crate::{Client, Value};

/// A retention policy, as `SHOW RETENTION POLICIES` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetentionPolicy {
    /// Its name.
    pub name: String,
    /// How long data is kept, e.g. `168h0m0s`; `0s` means forever.
    pub duration: String,
    /// The time span of one shard group, e.g. `24h0m0s`.
    pub shard_group_duration: String,
    /// The replication factor.
    pub replication: u32,
    /// Whether it is the database's default policy.
    pub default: bool,
}

/// A new retention policy, for [`Client::create_retention_policy`] and
/// [`Client::alter_retention_policy`].
///
/// ```
/// use influx_stream::RetentionPolicySpec;
/// let spec = RetentionPolicySpec::new("one_week", "7d").default(true);
/// # let _ = spec;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct RetentionPolicySpec {
    name: String,
    duration: String,
    replication: u32,
    shard_duration: Option<String>,
    default: bool,
}

impl RetentionPolicySpec {
    /// A policy keeping data for `duration` (InfluxQL duration such as
    /// `7d`, `12h`, or `INF`), replication 1, not the default.
    pub fn new(name: impl Into<String>, duration: impl Into<String>) -> Self {
        RetentionPolicySpec {
            name: name.into(),
            duration: duration.into(),
            replication: 1,
            shard_duration: None,
            default: false,
        }
    }

    /// The replication factor. Default: 1.
    pub fn replication(mut self, n: u32) -> Self {
        self.replication = n;
        self
    }

    /// The shard group duration (e.g. `1d`). Default: chosen by the server.
    pub fn shard_duration(mut self, d: impl Into<String>) -> Self {
        self.shard_duration = Some(d.into());
        self
    }

    /// Make it the database's default policy. Default: false.
    pub fn default(mut self, yes: bool) -> Self {
        self.default = yes;
        self
    }

    fn clauses(&self) -> Result<String, Error> {
        let valid = |d: &str| {
            d.eq_ignore_ascii_case("inf")
                || (!d.is_empty() && d.bytes().all(|b| b.is_ascii_alphanumeric()))
        };
        if !valid(&self.duration) {
            return Err(error::builder(format!(
                "{:?} is not an InfluxQL duration (e.g. 7d, 12h, INF)",
                self.duration
            )));
        }
        let mut s = format!(
            "DURATION {} REPLICATION {}",
            self.duration, self.replication
        );
        if let Some(sd) = &self.shard_duration {
            if !valid(sd) {
                return Err(error::builder(format!(
                    "{sd:?} is not an InfluxQL duration (e.g. 1d)"
                )));
            }
            s.push_str(" SHARD DURATION ");
            s.push_str(sd);
        }
        if self.default {
            s.push_str(" DEFAULT");
        }
        Ok(s)
    }
}

/// The type of a field, as `SHOW FIELD KEYS` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FieldType {
    /// 64-bit float.
    Float,
    /// 64-bit signed integer.
    Integer,
    /// Unsigned integer (InfluxDB 1.8 and later).
    Unsigned,
    /// String.
    String,
    /// Boolean.
    Boolean,
}

impl FieldType {
    pub(crate) fn parse(s: &str) -> Option<FieldType> {
        Some(match s {
            "float" => FieldType::Float,
            "integer" => FieldType::Integer,
            "unsigned" => FieldType::Unsigned,
            "string" => FieldType::String,
            "boolean" => FieldType::Boolean,
            _ => return None,
        })
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FieldType::Float => "float",
            FieldType::Integer => "integer",
            FieldType::Unsigned => "unsigned",
            FieldType::String => "string",
            FieldType::Boolean => "boolean",
        })
    }
}

/// A user, as `SHOW USERS` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct User {
    /// The user name.
    pub name: String,
    /// Whether the user has all privileges.
    pub admin: bool,
}

/// A privilege on a database, for [`Client::grant`] and [`Client::revoke`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Privilege {
    /// READ.
    Read,
    /// WRITE.
    Write,
    /// ALL (read and write).
    All,
}

impl Privilege {
    fn as_str(self) -> &'static str {
        match self {
            Privilege::Read => "READ",
            Privilege::Write => "WRITE",
            Privilege::All => "ALL",
        }
    }
}

/// The text in column `name` of `row`.
fn text(meta: &SeriesMeta, row: &[Value], name: &str) -> Option<String> {
    let v = row.get(meta.column_index(name)?)?;
    v.as_str().map(str::to_owned)
}

impl Client {
    fn need_database(&self) -> Result<&str, Error> {
        self.database().ok_or_else(|| {
            error::builder("no database: set ClientBuilder::database or use Client::with_database")
        })
    }

    /// Runs a statement that changes state (always POST).
    async fn execute(&self, text: String) -> Result<(), Error> {
        self.query_json(text).await.map(drop)
    }

    /// Runs a listing query in chunks, handing each series chunk to
    /// `each` as it is decoded (an empty listing comes as a series
    /// without rows); a failed statement is the error.
    pub(crate) async fn listing(
        &self,
        query: Query,
        mut each: impl FnMut(&SeriesMeta, &[Vec<Value>]) + Send,
    ) -> Result<(), Error> {
        let mut chunks = self.query_chunks(query.chunk_size(10_000).field_types(false));
        while let Some(chunk) = chunks.try_next().await? {
            match chunk {
                Chunk::Series(s) => each(&s.meta, &s.values),
                Chunk::StatementError {
                    statement_id,
                    message,
                } => return Err(error::query(statement_id, &message)),
                _ => {}
            }
        }
        Ok(())
    }

    /// Creates a database (no error if it exists).
    ///
    /// # Errors
    /// When the server refuses, e.g. for lack of admin privilege.
    pub async fn create_database(&self, name: &str) -> Result<(), Error> {
        self.execute(format!("CREATE DATABASE {}", quote_ident(name)))
            .await
    }

    /// Drops a database and all its data (no error if it does not exist).
    ///
    /// # Errors
    /// When the server refuses, e.g. for lack of admin privilege.
    pub async fn drop_database(&self, name: &str) -> Result<(), Error> {
        self.execute(format!("DROP DATABASE {}", quote_ident(name)))
            .await
    }

    /// The names of all databases.
    ///
    /// # Errors
    /// When the server refuses.
    pub async fn show_databases(&self) -> Result<Vec<String>, Error> {
        let mut out = Vec::new();
        self.listing(Query::new("SHOW DATABASES"), |m, rows| {
            out.extend(rows.iter().filter_map(|r| text(m, r, "name")));
        })
        .await?;
        Ok(out)
    }

    /// The retention policies of database `db`.
    ///
    /// # Errors
    /// When the server refuses, or the database does not exist.
    pub async fn show_retention_policies(&self, db: &str) -> Result<Vec<RetentionPolicy>, Error> {
        let mut out = Vec::new();
        let q = Query::new(format!("SHOW RETENTION POLICIES ON {}", quote_ident(db)));
        self.listing(q, |m, rows| {
            for row in rows {
                let cell = |name: &str| m.column_index(name).and_then(|c| row.get(c));
                out.push(RetentionPolicy {
                    name: text(m, row, "name").unwrap_or_default(),
                    duration: text(m, row, "duration").unwrap_or_default(),
                    shard_group_duration: text(m, row, "shardGroupDuration").unwrap_or_default(),
                    replication: cell("replicaN")
                        .and_then(Value::as_u64)
                        .map_or(1, |n| u32::try_from(n).unwrap_or(u32::MAX)),
                    default: cell("default").and_then(Value::as_bool).unwrap_or(false),
                });
            }
        })
        .await?;
        Ok(out)
    }

    /// Creates a retention policy on database `db`.
    ///
    /// # Errors
    /// A malformed duration, or the server's refusal.
    pub async fn create_retention_policy(
        &self,
        db: &str,
        spec: &RetentionPolicySpec,
    ) -> Result<(), Error> {
        self.execute(format!(
            "CREATE RETENTION POLICY {} ON {} {}",
            quote_ident(&spec.name),
            quote_ident(db),
            spec.clauses()?
        ))
        .await
    }

    /// Changes a retention policy of database `db` to `spec`.
    ///
    /// # Errors
    /// A malformed duration, or the server's refusal.
    pub async fn alter_retention_policy(
        &self,
        db: &str,
        spec: &RetentionPolicySpec,
    ) -> Result<(), Error> {
        self.execute(format!(
            "ALTER RETENTION POLICY {} ON {} {}",
            quote_ident(&spec.name),
            quote_ident(db),
            spec.clauses()?
        ))
        .await
    }

    /// Drops a retention policy of database `db`, and its data.
    ///
    /// # Errors
    /// The server's refusal.
    pub async fn drop_retention_policy(&self, db: &str, name: &str) -> Result<(), Error> {
        self.execute(format!(
            "DROP RETENTION POLICY {} ON {}",
            quote_ident(name),
            quote_ident(db)
        ))
        .await
    }

    /// The measurements of the client's database.
    ///
    /// # Errors
    /// No database set, or the server's refusal.
    pub async fn show_measurements(&self) -> Result<Vec<String>, Error> {
        self.need_database()?;
        let mut out = Vec::new();
        self.listing(Query::new("SHOW MEASUREMENTS"), |m, rows| {
            out.extend(rows.iter().filter_map(|r| text(m, r, "name")));
        })
        .await?;
        Ok(out)
    }

    /// The series keys (`cpu,host=a`, in line-protocol escaping) of the
    /// client's database, or of one measurement.
    ///
    /// # Errors
    /// No database set, or the server's refusal.
    pub async fn show_series(&self, measurement: Option<&str>) -> Result<Vec<String>, Error> {
        self.need_database()?;
        let q = match measurement {
            Some(m) => format!("SHOW SERIES FROM {}", quote_ident(m)),
            None => "SHOW SERIES".to_owned(),
        };
        let mut out = Vec::new();
        self.listing(Query::new(q), |m, rows| {
            out.extend(rows.iter().filter_map(|r| text(m, r, "key")));
        })
        .await?;
        Ok(out)
    }

    /// Tag keys by measurement, of the client's database or one measurement.
    ///
    /// # Errors
    /// No database set, or the server's refusal.
    pub async fn show_tag_keys(
        &self,
        measurement: Option<&str>,
    ) -> Result<BTreeMap<String, Vec<String>>, Error> {
        self.need_database()?;
        let q = match measurement {
            Some(m) => format!("SHOW TAG KEYS FROM {}", quote_ident(m)),
            None => "SHOW TAG KEYS".to_owned(),
        };
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        self.listing(Query::new(q), |m, rows| {
            out.entry(m.name().unwrap_or("").to_owned())
                .or_default()
                .extend(rows.iter().filter_map(|r| text(m, r, "tagKey")));
        })
        .await?;
        Ok(out)
    }

    /// The values of tag `key` by measurement, of the client's database or
    /// one measurement.
    ///
    /// # Errors
    /// No database set, or the server's refusal.
    pub async fn show_tag_values(
        &self,
        measurement: Option<&str>,
        key: &str,
    ) -> Result<BTreeMap<String, Vec<String>>, Error> {
        self.need_database()?;
        let from = measurement
            .map(|m| format!(" FROM {}", quote_ident(m)))
            .unwrap_or_default();
        let q = format!("SHOW TAG VALUES{from} WITH KEY = {}", quote_ident(key));
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        self.listing(Query::new(q), |m, rows| {
            out.entry(m.name().unwrap_or("").to_owned())
                .or_default()
                .extend(rows.iter().filter_map(|r| text(m, r, "value")));
        })
        .await?;
        Ok(out)
    }

    /// Field keys and their types by measurement, of the client's database
    /// or one measurement.
    ///
    /// # Errors
    /// No database set, or the server's refusal.
    pub async fn show_field_keys(
        &self,
        measurement: Option<&str>,
    ) -> Result<BTreeMap<String, Vec<(String, FieldType)>>, Error> {
        self.need_database()?;
        let q = match measurement {
            Some(m) => format!("SHOW FIELD KEYS FROM {}", quote_ident(m)),
            None => "SHOW FIELD KEYS".to_owned(),
        };
        let mut out: BTreeMap<String, Vec<(String, FieldType)>> = BTreeMap::new();
        self.listing(Query::new(q), |m, rows| {
            let entry = out.entry(m.name().unwrap_or("").to_owned()).or_default();
            for row in rows {
                let key = text(m, row, "fieldKey");
                let ty = text(m, row, "fieldType").and_then(|t| FieldType::parse(&t));
                if let (Some(key), Some(ty)) = (key, ty) {
                    entry.push((key, ty));
                }
            }
        })
        .await?;
        Ok(out)
    }

    /// Drops a measurement of the client's database, with all its data.
    ///
    /// # Errors
    /// No database set, or the server's refusal.
    pub async fn drop_measurement(&self, name: &str) -> Result<(), Error> {
        self.need_database()?;
        self.execute(format!("DROP MEASUREMENT {}", quote_ident(name)))
            .await
    }

    /// Drops the series of `measurement` whose tags equal all of `tags`
    /// (every series of it when `tags` is empty), with their data.
    ///
    /// # Errors
    /// No database set, or the server's refusal.
    pub async fn drop_series(&self, measurement: &str, tags: &[(&str, &str)]) -> Result<(), Error> {
        self.need_database()?;
        self.execute(format!(
            "DROP SERIES FROM {}{}",
            quote_ident(measurement),
            where_tags(tags)
        ))
        .await
    }

    /// Deletes the points of `measurement` whose tags equal all of `tags`,
    /// keeping the series.
    ///
    /// # Errors
    /// No database set, or the server's refusal.
    pub async fn delete(&self, measurement: &str, tags: &[(&str, &str)]) -> Result<(), Error> {
        self.need_database()?;
        self.execute(format!(
            "DELETE FROM {}{}",
            quote_ident(measurement),
            where_tags(tags)
        ))
        .await
    }

    /// The users.
    ///
    /// # Errors
    /// The server's refusal (needs admin privilege when auth is on).
    pub async fn show_users(&self) -> Result<Vec<User>, Error> {
        let mut out = Vec::new();
        self.listing(Query::new("SHOW USERS"), |m, rows| {
            for row in rows {
                out.push(User {
                    name: text(m, row, "user").unwrap_or_default(),
                    admin: m
                        .column_index("admin")
                        .and_then(|c| row.get(c))
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                });
            }
        })
        .await?;
        Ok(out)
    }

    /// Creates a user; with `admin`, one with all privileges.
    ///
    /// # Errors
    /// The server's refusal.
    pub async fn create_user(&self, name: &str, password: &str, admin: bool) -> Result<(), Error> {
        let all = if admin { " WITH ALL PRIVILEGES" } else { "" };
        self.execute(format!(
            "CREATE USER {} WITH PASSWORD {}{all}",
            quote_ident(name),
            quote_literal(password)
        ))
        .await
        .map_err(|e| redact_password(e, password))
    }

    /// Drops a user.
    ///
    /// # Errors
    /// The server's refusal.
    pub async fn drop_user(&self, name: &str) -> Result<(), Error> {
        self.execute(format!("DROP USER {}", quote_ident(name)))
            .await
    }

    /// Grants a privilege on database `db` to `user`.
    ///
    /// # Errors
    /// The server's refusal.
    pub async fn grant(&self, privilege: Privilege, db: &str, user: &str) -> Result<(), Error> {
        self.execute(format!(
            "GRANT {} ON {} TO {}",
            privilege.as_str(),
            quote_ident(db),
            quote_ident(user)
        ))
        .await
    }

    /// Revokes a privilege on database `db` from `user`.
    ///
    /// # Errors
    /// The server's refusal.
    pub async fn revoke(&self, privilege: Privilege, db: &str, user: &str) -> Result<(), Error> {
        self.execute(format!(
            "REVOKE {} ON {} FROM {}",
            privilege.as_str(),
            quote_ident(db),
            quote_ident(user)
        ))
        .await
    }
}

fn where_tags(tags: &[(&str, &str)]) -> String {
    if tags.is_empty() {
        return String::new();
    }
    let conds: Vec<String> = tags
        .iter()
        .map(|(k, v)| format!("{} = {}", quote_ident(k), quote_literal(v)))
        .collect();
    format!(" WHERE {}", conds.join(" AND "))
}

/// Takes `password` out of an error, as given and as quoted in the
/// statement (`it's` was sent as `'it\'s'`), whichever the server echoed.
fn redact_password(e: Error, password: &str) -> Error {
    let quoted = quote_literal(password);
    let escaped = quoted
        .strip_prefix('\'')
        .and_then(|q| q.strip_suffix('\''))
        .unwrap_or(password);
    e.redact(escaped).redact(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn where_clause_quotes_everything() {
        assert_eq!(
            where_tags(&[("ho\"st", "a'b"), ("dc", "x")]),
            " WHERE \"ho\\\"st\" = 'a\\'b' AND \"dc\" = 'x'"
        );
        assert_eq!(where_tags(&[]), "");
    }

    #[test]
    fn retention_spec_validates_durations() {
        assert!(RetentionPolicySpec::new("a", "7d").clauses().is_ok());
        assert!(RetentionPolicySpec::new("a", "INF").clauses().is_ok());
        assert!(RetentionPolicySpec::new("a", "7d; DROP DATABASE x")
            .clauses()
            .is_err());
        assert_eq!(
            RetentionPolicySpec::new("a", "1h")
                .shard_duration("1h")
                .default(true)
                .clauses()
                .ok()
                .as_deref(),
            Some("DURATION 1h REPLICATION 1 SHARD DURATION 1h DEFAULT")
        );
    }

    #[test]
    fn passwords_are_redacted_raw_and_quoted() {
        let e = crate::error::Error::new(crate::error::Kind::Query)
            .with_message(r"bad statement: CREATE USER u WITH PASSWORD 'it\'s a\\b' (it's a\b)");
        let shown = redact_password(e, r"it's a\b").to_string();
        assert!(!shown.contains("it"), "{shown}");
        assert_eq!(shown.matches("[REDACTED]").count(), 2, "{shown}");
    }
}
