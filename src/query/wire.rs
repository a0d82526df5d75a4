//! Borrowed wire structures of a 1.x query response document and the serde
//! seeds that fill them straight from the JSON bytes (no `serde_json::Value`).
//!
//! ```text
//! {"results":[{"statement_id":0,
//!              "series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","usage"],
//!                         "values":[[1704067200000000000,0.25]],"partial":true}],
//!              "messages":[{"level":"warning","text":"..."}],
//!              "error":"...",
//!              "partial":true}],
//!  "error":"..."}
//! ```

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::{Text, Value};

/// A string borrowed from the document when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Str<'a>(pub(crate) Cow<'a, str>);

impl Str<'_> {
    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    #[inline]
    pub(crate) fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Str<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Str<'a>, E> {
                Ok(Str(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// How values are decoded, fixed for a whole response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// Nanoseconds per unit of the `time` column; `None`: leave it as sent.
    pub(crate) time_mult: Option<i64>,
    /// Expected number of rows in a series (from the previous one).
    pub(crate) rows_hint: usize,
    /// Keep string values on the heap even when short: the rows go to
    /// typed `String` fields, into which a heap text moves without a copy
    /// (an inline one is checked for UTF-8 again and copied).
    pub(crate) heap_strings: bool,
}

/// One JSON document of a response.
#[derive(Debug, Default)]
pub(crate) struct WireDoc<'a> {
    pub(crate) results: Vec<WireResult<'a>>,
    pub(crate) error: Option<Str<'a>>,
}

#[derive(Debug, Default)]
pub(crate) struct WireResult<'a> {
    pub(crate) statement_id: u64,
    pub(crate) series: Vec<WireSeries<'a>>,
    pub(crate) messages: Vec<WireMessage<'a>>,
    pub(crate) error: Option<Str<'a>>,
    pub(crate) partial: bool,
}

#[derive(Debug, Default)]
pub(crate) struct WireSeries<'a> {
    pub(crate) name: Option<Str<'a>>,
    pub(crate) tags: Vec<(Str<'a>, Str<'a>)>,
    pub(crate) columns: Vec<Str<'a>>,
    pub(crate) values: FlatRows,
    pub(crate) partial: bool,
}

/// The rows of a series, all values in one vector: one allocation per
/// document instead of one per row while parsing (rows get their own vector
/// when handed out, which the allocator serves from its per-thread cache).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct FlatRows {
    pub(crate) values: Vec<Value>,
    /// Values per row, when every row has the same number.
    pub(crate) width: usize,
    pub(crate) rows: usize,
    /// Length of each row, when they differ.
    pub(crate) lens: Option<Vec<usize>>,
}

impl FlatRows {
    pub(crate) fn push_len(&mut self, len: usize) {
        match &mut self.lens {
            Some(lens) => lens.push(len),
            None if self.rows == 0 => self.width = len,
            None if len != self.width => {
                let mut lens = vec![self.width; self.rows];
                lens.push(len);
                self.lens = Some(lens);
            }
            None => {}
        }
        self.rows += 1;
    }

    /// The same rows, one vector each.
    #[cfg(test)]
    pub(crate) fn into_nested(self) -> Vec<Vec<Value>> {
        let mut values = self.values.into_iter();
        match self.lens {
            Some(lens) => lens
                .into_iter()
                .map(|n| values.by_ref().take(n).collect())
                .collect(),
            None => (0..self.rows)
                .map(|_| values.by_ref().take(self.width).collect())
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireMessage<'a> {
    #[serde(borrow, default)]
    pub(crate) level: Option<Str<'a>>,
    #[serde(borrow, default)]
    pub(crate) text: Option<Str<'a>>,
}

/// Parses one document: by the hand-written scanner in `scan.rs`, or, when
/// it gives up (malformed or unusual documents), by the serde seeds below,
/// which then say what is wrong.
///
/// The document is checked for UTF-8 once, up front, so that neither the
/// scanner nor serde_json's `StrRead` need validate each string again.
///
/// `spare` is an empty vector the scanner may fill with the first series'
/// values (reusing its memory).
pub(crate) fn parse_doc<'a>(
    bytes: &'a [u8],
    settings: Settings,
    spare: &mut Vec<Value>,
) -> Result<WireDoc<'a>, serde_json::Error> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Some(doc) = super::scan::doc(text, settings, spare) {
            return Ok(doc);
        }
    }
    parse_doc_serde(bytes, settings)
}

/// Parses one document with serde_json only.
pub(crate) fn parse_doc_serde(
    bytes: &[u8],
    settings: Settings,
) -> Result<WireDoc<'_>, serde_json::Error> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        // Let serde_json say where the bad byte is.
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let doc = DocSeed(settings).deserialize(&mut de)?;
        de.end()?;
        return Ok(doc);
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let doc = DocSeed(settings).deserialize(&mut de)?;
    de.end()?;
    Ok(doc)
}

struct DocSeed(Settings);

impl<'de> DeserializeSeed<'de> for DocSeed {
    type Value = WireDoc<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for DocSeed {
    type Value = WireDoc<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a query response object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut doc = WireDoc::default();
        while let Some(key) = map.next_key::<Str<'de>>()? {
            match key.as_str() {
                "results" => doc.results = map.next_value_seed(ResultsSeed(self.0))?,
                "error" => doc.error = map.next_value()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(doc)
    }
}

struct ResultsSeed(Settings);

impl<'de> DeserializeSeed<'de> for ResultsSeed {
    type Value = Vec<WireResult<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ResultsSeed {
    type Value = Vec<WireResult<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of results")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(1);
        while let Some(r) = seq.next_element_seed(ResultSeed(self.0))? {
            out.push(r);
        }
        Ok(out)
    }
}

struct ResultSeed(Settings);

impl<'de> DeserializeSeed<'de> for ResultSeed {
    type Value = WireResult<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ResultSeed {
    type Value = WireResult<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a result object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut r = WireResult::default();
        while let Some(key) = map.next_key::<Str<'de>>()? {
            match key.as_str() {
                "statement_id" => r.statement_id = map.next_value()?,
                "series" => r.series = map.next_value_seed(SeriesListSeed(self.0))?,
                "messages" => r.messages = map.next_value::<Option<_>>()?.unwrap_or_default(),
                "error" => r.error = map.next_value()?,
                "partial" => r.partial = map.next_value::<Option<bool>>()?.unwrap_or(false),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(r)
    }
}

struct SeriesListSeed(Settings);

impl<'de> DeserializeSeed<'de> for SeriesListSeed {
    type Value = Vec<WireSeries<'de>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SeriesListSeed {
    type Value = Vec<WireSeries<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of series")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(1);
        while let Some(s) = seq.next_element_seed(SeriesSeed(self.0))? {
            out.push(s);
        }
        Ok(out)
    }
}

struct SeriesSeed(Settings);

impl<'de> DeserializeSeed<'de> for SeriesSeed {
    type Value = WireSeries<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SeriesSeed {
    type Value = WireSeries<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a series object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut s = WireSeries::default();
        let mut time_fixup = false;
        while let Some(key) = map.next_key::<Str<'de>>()? {
            match key.as_str() {
                "name" => s.name = map.next_value()?,
                "tags" => s.tags = map.next_value_seed(TagsSeed)?,
                "columns" => s.columns = map.next_value::<Option<_>>()?.unwrap_or_default(),
                "values" => {
                    // The server sends "columns" first; if it did not, the
                    // time column is converted after the fact below.
                    let time = match self.0.time_mult {
                        Some(mult) if !s.columns.is_empty() => s
                            .columns
                            .iter()
                            .position(|c| c.as_str() == "time")
                            .map(|i| (i, mult)),
                        Some(_) => {
                            time_fixup = true;
                            None
                        }
                        None => None,
                    };
                    s.values = map.next_value_seed(RowsSeed {
                        ncols: s.columns.len(),
                        time,
                        rows_hint: self.0.rows_hint,
                    })?;
                }
                "partial" => s.partial = map.next_value::<Option<bool>>()?.unwrap_or(false),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if time_fixup {
            if let (Some(idx), Some(mult)) = (
                s.columns.iter().position(|c| c.as_str() == "time"),
                self.0.time_mult,
            ) {
                let mut start = 0;
                for r in 0..s.values.rows {
                    let len = s.values.lens.as_ref().map_or(s.values.width, |l| l[r]);
                    if idx < len {
                        let v = &mut s.values.values[start + idx];
                        *v = to_time::<A::Error>(std::mem::replace(v, Value::Null), mult)?;
                    }
                    start += len;
                }
            }
        }
        Ok(s)
    }
}

fn to_time<E: de::Error>(v: Value, mult: i64) -> Result<Value, E> {
    match v {
        Value::Integer(i) => i
            .checked_mul(mult)
            .map(Value::Time)
            .ok_or_else(|| E::custom(format_args!("time {i} out of range"))),
        Value::UInteger(u) => Err(E::custom(format_args!("time {u} out of range"))),
        other => Ok(other),
    }
}

struct TagsSeed;

impl<'de> DeserializeSeed<'de> for TagsSeed {
    type Value = Vec<(Str<'de>, Str<'de>)>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for TagsSeed {
    type Value = Vec<(Str<'de>, Str<'de>)>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a tags object")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut tags = Vec::new();
        while let Some(entry) = map.next_entry::<Str<'de>, Str<'de>>()? {
            tags.push(entry);
        }
        Ok(tags)
    }
}

/// `"values"`: an array of rows.
struct RowsSeed {
    ncols: usize,
    time: Option<(usize, i64)>,
    rows_hint: usize,
}

impl<'de> DeserializeSeed<'de> for RowsSeed {
    type Value = FlatRows;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed {
    type Value = FlatRows;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of rows")
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(FlatRows::default())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut flat = FlatRows {
            // A hint from earlier series, not a promise: bounded, so that
            // many columns after a long series cannot reserve gigabytes.
            values: Vec::with_capacity(self.rows_hint.saturating_mul(self.ncols).min(1 << 20)),
            ..FlatRows::default()
        };
        let (time_idx, mult) = self.time.unwrap_or((usize::MAX, 1));
        loop {
            let before = flat.values.len();
            let seed = RowSeed {
                out: &mut flat.values,
                time_idx,
                mult,
            };
            if seq.next_element_seed(seed)?.is_none() {
                return Ok(flat);
            }
            let len = flat.values.len() - before;
            flat.push_len(len);
        }
    }
}

/// One row: an array of values appended to `out`, the `time_idx`-th one
/// being the time.
struct RowSeed<'o> {
    out: &'o mut Vec<Value>,
    time_idx: usize,
    mult: i64,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row (array of values)")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0;
        loop {
            let seed = ValueSeed {
                time_mult: (i == self.time_idx).then_some(self.mult),
            };
            match seq.next_element_seed(seed)? {
                Some(v) => self.out.push(v),
                None => return Ok(()),
            }
            i += 1;
        }
    }
}

/// One value; integers become [`Value::Time`] when `time_mult` is set.
#[derive(Clone, Copy)]
pub(crate) struct ValueSeed {
    pub(crate) time_mult: Option<i64>,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;
    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("null, a boolean, a number or a string")
    }
    #[inline]
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    #[inline]
    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        match self.time_mult {
            None => Ok(Value::Integer(i)),
            Some(m) => to_time(Value::Integer(i), m),
        }
    }
    #[inline]
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        match i64::try_from(u) {
            Ok(i) => self.visit_i64(i),
            Err(_) if self.time_mult.is_some() => {
                Err(E::custom(format_args!("time {u} out of range")))
            }
            Err(_) => Ok(Value::UInteger(u)),
        }
    }
    #[inline]
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }
    #[inline]
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(Text::from(s)))
    }
    #[inline]
    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(Text::from(s)))
    }
    #[inline]
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    #[inline]
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_doc(bytes: &[u8], settings: Settings) -> Result<WireDoc<'_>, serde_json::Error> {
        super::parse_doc(bytes, settings, &mut Vec::new())
    }

    const NS: Settings = Settings {
        time_mult: Some(1),
        rows_hint: 0,
        heap_strings: false,
    };

    #[test]
    fn numbers() {
        let doc = br#"{"results":[{"statement_id":3,"series":[{"name":"m","columns":["time","a","b","c","d","e","f","g"],"values":[[5,1,-1,18446744073709551615,1.5,-0,1e+300,9223372036854775808]]}]}]}"#;
        let d = parse_doc(doc, NS).unwrap();
        let s = &d.results[0].series[0];
        assert_eq!(d.results[0].statement_id, 3);
        assert_eq!(s.values.rows, 1);
        assert_eq!(
            s.values.values,
            vec![
                Value::Time(5),
                Value::Integer(1),
                Value::Integer(-1),
                Value::UInteger(u64::MAX),
                Value::Float(1.5),
                Value::Float(-0.0),
                Value::Float(1e300),
                Value::UInteger(1 << 63),
            ]
        );
        let Value::Float(z) = s.values.values[5] else {
            panic!()
        };
        assert!(z.is_sign_negative());
    }

    #[test]
    fn columns_after_values() {
        let doc = br#"{"results":[{"series":[{"values":[[7,1]],"columns":["x","time"]}]}]}"#;
        let ragged = br#"{"results":[{"series":[{"values":[[7,1],[8],[],[9,2,3]],"columns":["x","time"]}]}]}"#;
        let d = parse_doc(
            ragged,
            Settings {
                time_mult: Some(10),
                rows_hint: 0,
                heap_strings: false,
            },
        )
        .unwrap();
        assert_eq!(
            d.results[0].series[0].values.clone().into_nested(),
            vec![
                vec![Value::Integer(7), Value::Time(10)],
                vec![Value::Integer(8)],
                vec![],
                vec![Value::Integer(9), Value::Time(20), Value::Integer(3)],
            ]
        );
        let d = parse_doc(
            doc,
            Settings {
                time_mult: Some(1000),
                rows_hint: 4,
                heap_strings: false,
            },
        )
        .unwrap();
        assert_eq!(
            d.results[0].series[0].values.clone().into_nested(),
            vec![vec![Value::Integer(7), Value::Time(1000)]]
        );
    }

    #[test]
    fn time_overflow() {
        let doc =
            br#"{"results":[{"series":[{"columns":["time"],"values":[[9223372036854775]]}]}]}"#;
        let e = parse_doc(
            doc,
            Settings {
                time_mult: Some(3_600_000_000_000),
                rows_hint: 0,
                heap_strings: false,
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
    }

    #[test]
    fn rejects_nested() {
        let doc = br#"{"results":[{"series":[{"columns":["a"],"values":[[[1]]]}]}]}"#;
        assert!(parse_doc(doc, NS).is_err());
        assert!(parse_doc(b"{} x", NS).is_err());
        assert!(parse_doc(b"[]", NS).is_err());
    }
}
