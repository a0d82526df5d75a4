//! Field types learnt from the server, shared by the row, chunk and Arrow
//! reads: InfluxDB 1.x prints a whole float as `12`, so only `SHOW FIELD
//! KEYS` can tell a float field's `12` from an integer field's.
//!
//! One [`TypeCache`] per client (behind its `Arc`, so shared by clones),
//! bounded, keyed by the database, retention policy and measurement as the
//! query names them. One [`Resolver`] per stream decides when to ask.
//! [`column_kinds`] is the one rule that turns what is known into a type per
//! column, for rows and Arrow alike.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use crate::admin::FieldType;
use crate::client::Client;
use crate::error::Error;
use crate::influxql::{quote_ident, Query, Source};
use crate::query::{SeriesMeta, Value};

/// What the server said about one measurement: its field types and tag keys,
/// plus the column names known to be neither (aggregates, expressions).
#[derive(Debug, Default)]
pub(crate) struct Known {
    pub(crate) fields: HashMap<String, FieldType>,
    pub(crate) tags: HashSet<String>,
    pub(crate) others: HashSet<String>,
}

impl Known {
    fn knows(&self, column: &str) -> bool {
        self.fields.contains_key(column)
            || self.tags.contains(column)
            || self.others.contains(column)
    }
}

/// `(database, retention policy or "", measurement)`.
type Key = (String, String, String);

/// Measurements whose types a client remembers at most.
const MAX_CACHED_MEASUREMENTS: usize = 1024;

/// Field types and tag keys per measurement, shared by every clone of a
/// [`Client`].
#[derive(Debug, Default)]
pub(crate) struct TypeCache {
    map: Mutex<HashMap<Key, Arc<Known>>>,
}

impl TypeCache {
    fn get(&self, key: &Key) -> Option<Arc<Known>> {
        self.lock().get(key).cloned()
    }

    fn put(&self, key: Key, known: Known) -> Arc<Known> {
        let known = Arc::new(known);
        let mut map = self.lock();
        if map.len() >= MAX_CACHED_MEASUREMENTS && !map.contains_key(&key) {
            // Bounded: a client that reads ever new measurements starts
            // over rather than growing (a miss costs one SHOW request).
            map.clear();
        }
        map.insert(key, known.clone());
        known
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Known>>> {
        // The map is always left whole: a poisoned lock is still usable.
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Asks the server for the field types and tag keys of `measurement`, in one
/// request of two statements.
async fn fetch_known(
    client: &Client,
    db: &str,
    rp: Option<&str>,
    measurement: &str,
) -> Result<Known, Error> {
    let m = quote_ident(measurement);
    let mut query =
        Query::new(format!("SHOW FIELD KEYS FROM {m}; SHOW TAG KEYS FROM {m}")).database(db);
    if let Some(rp) = rp {
        query = query.retention_policy(rp);
    }
    let mut known = Known::default();
    client
        .listing(query, |meta, rows| {
            if meta.name() != Some(measurement) {
                return;
            }
            let cell = |row: &[Value], name: &str| {
                let v = row.get(meta.column_index(name)?)?;
                v.as_str().map(str::to_owned)
            };
            match meta.statement_id() {
                0 => {
                    for row in rows {
                        let ty = cell(row, "fieldType").and_then(|t| FieldType::parse(&t));
                        if let (Some(key), Some(ty)) = (cell(row, "fieldKey"), ty) {
                            known.fields.insert(key, ty);
                        }
                    }
                }
                1 => known
                    .tags
                    .extend(rows.iter().filter_map(|row| cell(row, "tagKey"))),
                _ => {}
            }
        })
        .await?;
    Ok(known)
}

/// The type a query column is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Time,
    Float,
    Integer,
    Unsigned,
    String,
    Boolean,
}

impl Kind {
    fn of_field(t: FieldType) -> Kind {
        match t {
            FieldType::Float => Kind::Float,
            FieldType::Integer => Kind::Integer,
            FieldType::Unsigned => Kind::Unsigned,
            FieldType::String => Kind::String,
            FieldType::Boolean => Kind::Boolean,
        }
    }

    /// Whether `v` fits a column of this kind (nulls always do).
    pub(crate) fn accepts(self, v: &Value) -> bool {
        match (self, v) {
            (_, Value::Null) => true,
            (Kind::Time, Value::Time(_)) => true,
            (Kind::Float, Value::Float(_) | Value::Integer(_) | Value::UInteger(_)) => true,
            (Kind::Integer, Value::Integer(_)) => true,
            (Kind::Unsigned, Value::Integer(i)) => *i >= 0,
            (Kind::Unsigned, Value::UInteger(_)) => true,
            (Kind::String, Value::String(_)) => true,
            (Kind::Boolean, Value::Bool(_)) => true,
            _ => false,
        }
    }

    /// The kind for a column the server gave no type for, from its first
    /// non-null value: numbers are floats, since JSON cannot tell 12.0 from
    /// 12 and a mean that happens to be whole must not change the type.
    fn infer<'a>(mut values: impl Iterator<Item = &'a Value>) -> Kind {
        values
            .find_map(|v| match v {
                Value::String(_) => Some(Kind::String),
                Value::Bool(_) => Some(Kind::Boolean),
                Value::Null => None,
                _ => Some(Kind::Float),
            })
            .unwrap_or(Kind::Float)
    }
}

/// The kind of each column of a series, from what the server declared and
/// the rows of the series' first chunk:
/// - `time` is [`Kind::Time`];
/// - a field is its declared type, a tag selected as a column a string;
/// - a column the server declared nothing for (an aggregate, an
///   expression), or whose first chunk holds a value that does not fit the
///   declared type (`mean(n) AS n` of an integer `n`), goes by its first
///   non-null value: a string, a boolean, or else a float.
pub(crate) fn column_kinds(
    meta: &SeriesMeta,
    known: Option<&Known>,
    first: &[impl AsRef<[Value]>],
) -> Vec<Kind> {
    meta.columns()
        .iter()
        .enumerate()
        .map(|(j, name)| {
            if Some(j) == meta.time_index() {
                return Kind::Time;
            }
            let column = || {
                first
                    .iter()
                    .map(move |row| row.as_ref().get(j).unwrap_or(&Value::Null))
            };
            let declared = known.and_then(|k| {
                k.fields
                    .get(name)
                    .map(|t| Kind::of_field(*t))
                    .or_else(|| k.tags.contains(name).then_some(Kind::String))
            });
            match declared {
                Some(kind) if column().all(|v| kind.accepts(v)) => kind,
                _ => Kind::infer(column()),
            }
        })
        .collect()
}

/// The positions of the float columns among `kinds`: where a JSON integer
/// must become a [`Value::Float`].
pub(crate) fn float_columns(kinds: &[Kind]) -> Vec<usize> {
    kinds
        .iter()
        .enumerate()
        .filter(|(_, k)| **k == Kind::Float)
        .map(|(j, _)| j)
        .collect()
}

/// Turns the whole numbers of the float columns `floats` of one row into
/// floats (exact: a float InfluxDB printed as an integer is whole and came
/// from an `f64`).
#[inline]
pub(crate) fn retype_row(values: &mut [Value], floats: &[usize]) {
    for &j in floats {
        if let Some(v) = values.get_mut(j) {
            match *v {
                Value::Integer(i) => *v = Value::Float(i as f64),
                Value::UInteger(u) => *v = Value::Float(u as f64),
                _ => {}
            }
        }
    }
}

/// Per stream: where to ask, and which measurements this stream refreshed.
#[derive(Debug)]
pub(crate) struct Resolver {
    client: Client,
    db: Option<String>,
    rp: Option<String>,
    /// The `FROM` sources the query text names.
    sources: Vec<Source>,
    refreshed: HashSet<String>,
}

impl Resolver {
    pub(crate) fn new(client: &Client, query: &Query) -> Resolver {
        Resolver {
            client: client.clone(),
            db: query
                .database
                .clone()
                .or_else(|| client.database().map(str::to_owned)),
            rp: query
                .retention_policy
                .clone()
                .or_else(|| client.retention_policy().map(str::to_owned)),
            sources: crate::influxql::from_sources(&query.text),
            refreshed: HashSet::new(),
        }
    }

    /// What the server says about the measurement of `meta`: from the cache,
    /// refreshed (at most once per stream and measurement) when a column
    /// appears that the cache does not know. `None` for a series without a
    /// name or a query without a database.
    pub(crate) async fn known(&mut self, meta: &SeriesMeta) -> Result<Option<Arc<Known>>, Error> {
        // influxql's reader takes a NUL for the end of the text and a CR
        // for a newline, which ends a quoted name: a measurement named with
        // either (influxd stores both) cannot be asked about.
        let Some(name) = meta.name().filter(|n| !n.contains(['\0', '\r'])) else {
            return Ok(None);
        };
        // The database and policy as the query names them for this
        // measurement (`FROM otherdb..m`), else the query's own.
        let (db, rp) = match self.sources.iter().find(|s| s.measurement == name) {
            Some(s) => (
                s.database.as_deref().or(self.db.as_deref()),
                s.retention_policy.as_deref().or(self.rp.as_deref()),
            ),
            None => (self.db.as_deref(), self.rp.as_deref()),
        };
        let Some(db) = db else {
            return Ok(None);
        };
        let rp = rp.map(str::to_owned);
        let key: Key = (
            db.to_owned(),
            rp.clone().unwrap_or_default(),
            name.to_owned(),
        );
        let cache = self.client.field_types();
        let cached = cache.get(&key);
        let unknown: Vec<&String> = meta
            .columns()
            .iter()
            .enumerate()
            .filter(|(j, c)| {
                meta.time_index() != Some(*j) && !cached.as_ref().is_some_and(|k| k.knows(c))
            })
            .map(|(_, c)| c)
            .collect();
        if (cached.is_some() && unknown.is_empty()) || self.refreshed.contains(name) {
            return Ok(cached);
        }
        self.refreshed.insert(name.to_owned());
        let mut known = fetch_known(&self.client, db, rp.as_deref(), name).await?;
        // Remember names that are neither fields nor tags (aggregates,
        // expressions), so that they do not cause a refresh every time.
        if let Some(old) = &cached {
            known.others.extend(old.others.iter().cloned());
        }
        for c in unknown {
            if !known.fields.contains_key(c) && !known.tags.contains(c) {
                known.others.insert(c.clone());
            }
        }
        Ok(Some(cache.put(key, known)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(columns: &[&str]) -> SeriesMeta {
        SeriesMeta::new(
            0,
            Some("m".into()),
            Vec::new(),
            columns.iter().map(|c| (*c).to_owned()).collect(),
        )
    }

    #[test]
    fn declared_types_decide_and_the_rest_goes_by_values() {
        let mut known = Known::default();
        known.fields.insert("f".into(), FieldType::Float);
        known.fields.insert("i".into(), FieldType::Integer);
        known.fields.insert("n".into(), FieldType::Integer);
        known.tags.insert("host".into());
        let m = meta(&["time", "f", "i", "n", "host", "count", "label"]);
        let s = |t: &str| Value::String(crate::query::Text::new(t));
        let rows = [
            vec![
                Value::Time(1),
                Value::Integer(12),
                Value::Integer(3),
                Value::Float(2.5),
                s("a"),
                Value::Null,
                s("x"),
            ],
            vec![
                Value::Time(2),
                Value::Float(0.5),
                Value::Null,
                Value::Integer(2),
                s("b"),
                Value::Integer(7),
                Value::Null,
            ],
        ];
        let first: Vec<&[Value]> = rows.iter().map(Vec::as_slice).collect();
        let kinds = column_kinds(&m, Some(&known), &first);
        assert_eq!(
            kinds,
            [
                Kind::Time,
                Kind::Float,
                Kind::Integer,
                // `mean(n) AS n`: a 2.5 in an integer field's column.
                Kind::Float,
                Kind::String,
                Kind::Float,
                Kind::String
            ]
        );
        assert_eq!(float_columns(&kinds), [1, 3, 5]);
        let mut row = rows[1].clone();
        retype_row(&mut row, &float_columns(&kinds));
        assert_eq!(row[3], Value::Float(2.0));
        assert_eq!(row[5], Value::Float(7.0));
        assert_eq!(row[2], Value::Null);
        // Nothing known (no database): numbers are floats, as in Arrow.
        assert_eq!(column_kinds(&m, None, &first)[2], Kind::Float);
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = TypeCache::default();
        for i in 0..MAX_CACHED_MEASUREMENTS + 10 {
            cache.put(
                ("db".into(), String::new(), i.to_string()),
                Known::default(),
            );
            assert!(cache.len() <= MAX_CACHED_MEASUREMENTS);
        }
        assert!(cache
            .get(&(
                "db".into(),
                String::new(),
                (MAX_CACHED_MEASUREMENTS + 9).to_string()
            ))
            .is_some());
    }
}
