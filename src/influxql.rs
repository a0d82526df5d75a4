//! InfluxQL text: a query with bound parameters, identifier and string
//! quoting, and telling reads from statements that change state.

use std::fmt;

use serde_json::Value as Json;

use crate::point::Precision;

/// An InfluxQL query with its bound parameters and per-query settings.
///
/// Values never need to be spliced into the text: write `$name` in the query
/// and [`bind`](Query::bind) a value, which the server substitutes safely
/// (strings become string literals, numbers numeric literals).
///
/// ```
/// use influx_stream::Query;
///
/// let q = Query::new("SELECT usage FROM cpu WHERE host = $host AND usage > $min")
///     .bind("host", "server01")
///     .bind("min", 0.5)
///     .database("telemetry");
/// assert_eq!(q.text(), "SELECT usage FROM cpu WHERE host = $host AND usage > $min");
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a query does nothing until it is run by a Client"]
pub struct Query {
    pub(crate) text: String,
    pub(crate) params: serde_json::Map<String, Json>,
    pub(crate) database: Option<String>,
    pub(crate) retention_policy: Option<String>,
    pub(crate) epoch: Option<Precision>,
    pub(crate) chunk_size: Option<usize>,
    pub(crate) field_types: Option<bool>,
    pub(crate) endpoint: QueryEndpoint,
}

/// Where a query goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryEndpoint {
    /// `/query`: InfluxQL, answered in chunked JSON documents (1.x, and the
    /// 1.x-compatible API of 2.x, Cloud and 3.x).
    V1,
    /// `/api/v3/query_sql`, answered in JSON lines.
    V3Sql,
    /// `/api/v3/query_influxql`, answered in JSON lines.
    V3InfluxQl,
}

impl QueryEndpoint {
    pub(crate) fn path(self) -> &'static str {
        match self {
            QueryEndpoint::V1 => "/query",
            QueryEndpoint::V3Sql => "/api/v3/query_sql",
            QueryEndpoint::V3InfluxQl => "/api/v3/query_influxql",
        }
    }
}

impl Query {
    /// A query of the given InfluxQL text (one or more `;`-separated statements).
    pub fn new(text: impl Into<String>) -> Self {
        Query {
            text: text.into(),
            params: serde_json::Map::new(),
            database: None,
            retention_policy: None,
            epoch: None,
            chunk_size: None,
            field_types: None,
            endpoint: QueryEndpoint::V1,
        }
    }

    /// A SQL query for InfluxDB 3.x, sent to `/api/v3/query_sql` and
    /// streamed back as JSON lines into the same rows and types as InfluxQL
    /// (`Client::query`, `Client::query_as`). Bind `$name` placeholders
    /// with [`bind`](Self::bind); the server substitutes them.
    ///
    /// ```
    /// use influx_stream::Query;
    ///
    /// let q = Query::sql("SELECT time, usage FROM cpu WHERE host = $host").bind("host", "a");
    /// # let _ = q;
    /// ```
    pub fn sql(text: impl Into<String>) -> Self {
        Query {
            endpoint: QueryEndpoint::V3Sql,
            ..Query::new(text)
        }
    }

    /// An InfluxQL query sent to InfluxDB 3.x's `/api/v3/query_influxql`
    /// (JSON lines, rows named by their measurement) rather than the
    /// 1.x-compatible `/query`, which 3.x answers too.
    pub fn influxql_v3(text: impl Into<String>) -> Self {
        Query {
            endpoint: QueryEndpoint::V3InfluxQl,
            ..Query::new(text)
        }
    }

    /// Binds `$name` to a value: a string, number or boolean.
    ///
    /// Floats are sent so that the server reads them as floats even when
    /// whole or in exponent form. A NaN or infinite float (which JSON
    /// turns into `null`) and an integer above `i64::MAX` cannot be bound:
    /// running the query then fails with an error naming the parameter.
    pub fn bind(mut self, name: impl Into<String>, value: impl Into<Json>) -> Self {
        self.params.insert(name.into(), value.into());
        self
    }

    /// The database to run against, instead of the client's.
    pub fn database(mut self, db: impl Into<String>) -> Self {
        self.database = Some(db.into());
        self
    }

    /// The retention policy (`rp` parameter), instead of the client's.
    pub fn retention_policy(mut self, rp: impl Into<String>) -> Self {
        self.retention_policy = Some(rp.into());
        self
    }

    /// The unit for times in the response. Default: the client's
    /// [`epoch`](crate::ClientBuilder::epoch), nanoseconds unless changed.
    pub fn epoch(mut self, epoch: Precision) -> Self {
        self.epoch = Some(epoch);
        self
    }

    /// Rows per chunk for streamed queries. Default: 10,000.
    pub fn chunk_size(mut self, rows: usize) -> Self {
        self.chunk_size = Some(rows.max(1));
        self
    }

    /// Whether float fields read as [`Value::Float`](crate::Value::Float)
    /// even when whole, by the field types the client learns from `SHOW
    /// FIELD KEYS` (see [`Client::query`](crate::Client::query)); `false`
    /// keeps the JSON's own types (a whole float is then a
    /// [`Value::Integer`](crate::Value::Integer)) and saves the request.
    /// Default: the client's
    /// [`field_types`](crate::ClientBuilder::field_types), true unless
    /// changed.
    ///
    /// ```
    /// use influx_stream::Query;
    ///
    /// let raw = Query::new("SELECT * FROM cpu").field_types(false);
    /// # let _ = raw;
    /// ```
    pub fn field_types(mut self, enabled: bool) -> Self {
        self.field_types = Some(enabled);
        self
    }

    /// The query text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when every statement only reads (SELECT without INTO, SHOW,
    /// EXPLAIN), so the query may go as GET; anything else goes as POST, as
    /// InfluxDB 1.x requires for statements that change state. A query with
    /// a `/` (regex or division) or a `--` comment outside quotes counts as
    /// not read-only: either could hide a statement from this check, and
    /// POST runs reads too.
    pub fn is_read_only(&self) -> bool {
        is_read_only(&self.text)
    }
}

impl From<&str> for Query {
    fn from(s: &str) -> Self {
        Query::new(s)
    }
}

impl From<String> for Query {
    fn from(s: String) -> Self {
        Query::new(s)
    }
}

impl From<&String> for Query {
    fn from(s: &String) -> Self {
        Query::new(s.as_str())
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A measurement named in a `FROM` clause, with the database and retention
/// policy it is qualified with, if any (`db.rp.m`, `db..m`, `rp.m`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    pub(crate) database: Option<String>,
    pub(crate) retention_policy: Option<String>,
    pub(crate) measurement: String,
}

/// The sources of every `FROM` clause of `text`, as far as they are plain
/// (quoted or bare) names; regular expressions and subqueries are passed
/// over.
pub(crate) fn from_sources(text: &str) -> Vec<Source> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = find_keyword(rest, "from") {
        rest = &rest[at + 4..];
        loop {
            let (parts, after) = qualified_name(rest.trim_start());
            let parts: Vec<String> = parts;
            let source = match parts.as_slice() {
                [m] => Some((None, None, m)),
                [rp, m] => Some((None, Some(rp), m)),
                [db, rp, m] => Some((Some(db), Some(rp), m)),
                _ => None,
            };
            if let Some((db, rp, m)) = source {
                if !m.is_empty() {
                    out.push(Source {
                        database: db.filter(|d| !d.is_empty()).cloned(),
                        retention_policy: rp.filter(|r| !r.is_empty()).cloned(),
                        measurement: m.clone(),
                    });
                }
            }
            rest = after.trim_start();
            match rest.strip_prefix(',') {
                Some(r) => rest = r,
                None => break,
            }
        }
    }
    out
}

/// Where the keyword `word` (lower case) starts in `text` as a whole word
/// outside quotes.
fn find_keyword(text: &str, word: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut quote = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(q) => {
                if c == b'\\' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None => {
                let ident = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
                let end = i + word.len();
                if (i == 0 || !ident(&b[i - 1]))
                    && b.get(i..end)
                        .is_some_and(|w| w.eq_ignore_ascii_case(word.as_bytes()))
                    && !b.get(end).is_some_and(ident)
                {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

/// A dotted name at the start of `text` (each part bare or double-quoted,
/// empty between `..`), and what follows it.
fn qualified_name(text: &str) -> (Vec<String>, &str) {
    let mut parts = Vec::new();
    let mut rest = text;
    loop {
        let (part, after) = if let Some(q) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    }
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    c => out.push(c),
                }
            }
            match end {
                Some(e) => (out, &q[e..]),
                None => return (Vec::new(), ""),
            }
        } else {
            let len = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (rest[..len].to_owned(), &rest[len..])
        };
        parts.push(part);
        match after.strip_prefix('.') {
            Some(a) => rest = a,
            None => return (parts, after),
        }
    }
}

/// The `params` of a query as influxd 1.x reads them. It takes a number
/// without a `.` for an `i64`, so every float gets one (serde_json writes
/// 1e16 as `1e+16`, which goes as `1.0e+16`); values it cannot bind
/// are refused here, by name, rather than by the server.
pub(crate) fn params_json(params: &serde_json::Map<String, Json>) -> Result<String, String> {
    let mut out = String::from("{");
    for (name, value) in params {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&Json::String(name.clone()).to_string());
        out.push(':');
        match value {
            Json::Null => {
                return Err(format!(
                    "query parameter `{name}` is null (a NaN or infinite float becomes null), which InfluxDB cannot bind"
                ))
            }
            Json::Number(n) if n.is_f64() => {
                let text = n.to_string();
                match text.find(['.', 'e', 'E']) {
                    Some(at) if text.as_bytes()[at] != b'.' => {
                        out.push_str(&text[..at]);
                        out.push_str(".0");
                        out.push_str(&text[at..]);
                    }
                    Some(_) => out.push_str(&text),
                    None => {
                        out.push_str(&text);
                        out.push_str(".0");
                    }
                }
            }
            Json::Number(n) if n.as_i64().is_none() => {
                return Err(format!(
                    "query parameter `{name}` is {n}, above the largest integer InfluxDB reads ({}); bind it as a float",
                    i64::MAX
                ))
            }
            other => out.push_str(&other.to_string()),
        }
    }
    out.push('}');
    Ok(out)
}

/// Quotes an identifier (database, measurement, tag key, ...) for InfluxQL:
/// `my"db` becomes `"my\"db"`. Safe for any text.
pub fn quote_ident(name: &str) -> String {
    quote(name, '"')
}

/// Quotes a string literal for InfluxQL: `it's` becomes `'it\'s'`.
pub fn quote_literal(value: &str) -> String {
    quote(value, '\'')
}

fn quote(s: &str, q: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// The statements of a query, split on `;` outside quotes; `None` when a
/// `/` (a regex, or a division, which this split cannot tell apart) or a
/// `--` comment stands outside quotes, since either can hide a `;`.
fn statements(text: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut quote: Option<u8> = None;
    let mut start = 0;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'\'' | b'"' => quote = Some(b),
                b'/' => return None,
                b'-' if bytes.get(i + 1) == Some(&b'-') => return None,
                b';' => {
                    out.push(text.get(start..i)?);
                    start = i + 1;
                }
                _ => {}
            },
        }
        i += 1;
    }
    out.push(text.get(start..).unwrap_or(""));
    Some(
        out.into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect(),
    )
}

fn words_outside_quotes(stmt: &str) -> impl Iterator<Item = String> + '_ {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let cleaned: String = stmt
        .chars()
        .map(|c| {
            if let Some(q) = quote {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                ' '
            } else if c == '\'' || c == '"' {
                quote = Some(c);
                ' '
            } else {
                c
            }
        })
        .collect();
    cleaned
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .into_iter()
}

/// Which statements read fields (`SELECT` without `INTO`), whose numbers
/// the field types decide; `SHOW` listings and `SELECT ... INTO` results
/// keep the JSON's types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selects {
    /// Per statement id.
    Each(Vec<bool>),
    /// The text could not be split (a regex or a comment may hide a `;`):
    /// the first statement decides for all.
    All(bool),
}

impl Selects {
    pub(crate) fn of(text: &str) -> Selects {
        let selects = |stmt: &str| {
            let mut words = words_outside_quotes(stmt);
            words.next().as_deref() == Some("SELECT") && !words.any(|w| w == "INTO")
        };
        match statements(text) {
            Some(stmts) => Selects::Each(stmts.into_iter().map(selects).collect()),
            None => Selects::All(selects(text)),
        }
    }

    pub(crate) fn statement(&self, id: u64) -> bool {
        match self {
            Selects::Each(each) => usize::try_from(id)
                .ok()
                .and_then(|i| each.get(i))
                .copied()
                .unwrap_or(false),
            Selects::All(all) => *all,
        }
    }
}

pub(crate) fn is_read_only(text: &str) -> bool {
    // Unsure is not read-only: POST runs reads as well.
    let Some(stmts) = statements(text) else {
        return false;
    };
    !stmts.is_empty()
        && stmts.iter().all(|s| {
            let mut words = words_outside_quotes(s);
            match words.next().as_deref() {
                Some("SHOW") | Some("EXPLAIN") => true,
                Some("SELECT") => !words.any(|w| w == "INTO"),
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_clauses() {
        let src = |db: Option<&str>, rp: Option<&str>, m: &str| Source {
            database: db.map(str::to_owned),
            retention_policy: rp.map(str::to_owned),
            measurement: m.to_owned(),
        };
        assert_eq!(from_sources("SELECT * FROM cpu"), [src(None, None, "cpu")]);
        assert_eq!(
            from_sources(r#"select a from other..cpu, "my db"."a rp"."m\"x" where x = 'from y'"#),
            [
                src(Some("other"), None, "cpu"),
                src(Some("my db"), Some("a rp"), "m\"x")
            ]
        );
        assert_eq!(from_sources("SELECT * FROM /cpu.*/"), []);
        assert_eq!(
            from_sources("SELECT fromage FROM rp.m"),
            [src(None, Some("rp"), "m")]
        );
    }

    #[test]
    fn which_statements_select() {
        let s = Selects::of(
            "SELECT * FROM a; SHOW FIELD KEYS; select x INTO b FROM a; SELECT 1 FROM c",
        );
        assert_eq!(
            (0..5).map(|i| s.statement(i)).collect::<Vec<_>>(),
            [true, false, false, true, false]
        );
        assert_eq!(
            Selects::of("SELECT v FROM p WHERE h =~ /x;y/"),
            Selects::All(true)
        );
        assert_eq!(
            Selects::of("SHOW TAG VALUES FROM /c/ WITH KEY = h"),
            Selects::All(false)
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(quote_ident("my\"db"), "\"my\\\"db\"");
        assert_eq!(quote_ident("a b"), "\"a b\"");
        assert_eq!(quote_literal("it's"), "'it\\'s'");
        assert_eq!(quote_ident("back\\slash"), "\"back\\\\slash\"");
    }

    #[test]
    fn params_keep_floats_floats() {
        let q = Query::new("")
            .bind("a", 1e16)
            .bind("b", -1e-6)
            .bind("c", 2.0)
            .bind("d", 2.5)
            .bind("e", 7)
            .bind("f", "x\"y")
            .bind("g", true)
            .bind("h", u64::MAX / 2);
        assert_eq!(
            params_json(&q.params).as_deref(),
            Ok(
                r#"{"a":1.0e+16,"b":-1.0e-6,"c":2.0,"d":2.5,"e":7,"f":"x\"y","g":true,"h":9223372036854775807}"#
            )
        );
        let err = params_json(&Query::new("").bind("nan", f64::NAN).params).unwrap_err();
        assert!(err.contains("`nan` is null"), "{err}");
        let err = params_json(&Query::new("").bind("big", u64::MAX).params).unwrap_err();
        assert!(err.contains("`big` is 18446744073709551615"), "{err}");
    }

    #[test]
    fn read_only_classification() {
        assert!(is_read_only("SELECT * FROM cpu"));
        assert!(is_read_only("show databases; SELECT 1 FROM x"));
        assert!(!is_read_only("SELECT * INTO b FROM a"));
        assert!(is_read_only("SELECT \"into\" FROM a WHERE t = 'INTO'"));
        assert!(!is_read_only("CREATE DATABASE x"));
        assert!(!is_read_only("SELECT 1 FROM a; DROP DATABASE b"));
        assert!(is_read_only("SELECT * FROM a WHERE s = 'x;DROP'"));
        assert!(!is_read_only(""));
        // A regex or a comment may hide a `;`: such queries go as POST.
        assert!(!is_read_only(
            "SELECT * FROM c WHERE h =~ /it's/; DROP MEASUREMENT c"
        ));
        assert!(!is_read_only("SELECT * FROM c -- '\nDROP DATABASE d"));
        assert!(is_read_only("SELECT * FROM c WHERE h = 'a/b--c'"));
    }
}
