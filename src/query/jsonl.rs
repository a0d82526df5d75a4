//! InfluxDB 3.x's JSON-lines query answers (`format=jsonl`): one object per
//! row, keys in column order, null columns left out, times as RFC 3339
//! without a zone (UTC). Decoded line by line into [`Row`]s, so memory is
//! bounded by one line whatever the size of the result.

use std::fmt;
use std::sync::Arc;

use serde::de::{Deserializer, MapAccess, Visitor};

use super::{DecodeError, Row, SeriesMeta, Text, Value};
use crate::point::parse_rfc3339_utc_default;

/// The column 3.x's InfluxQL endpoint names the measurement by.
const MEASUREMENT_KEY: &str = "iox::measurement";
/// A line longer than this is refused rather than buffered.
const MAX_LINE: usize = 64 * 1024 * 1024;

/// Splits a JSON-lines body into rows as its bytes arrive.
#[derive(Default)]
pub(crate) struct JsonlDecoder {
    buf: Vec<u8>,
    /// Bytes of `buf` already handed out as rows.
    consumed: usize,
    meta: Option<Arc<SeriesMeta>>,
    index: u64,
    line: u64,
    finished: bool,
    /// A line over the limit was refused: its rest is passed over up to
    /// the next newline.
    skipping: bool,
}

impl JsonlDecoder {
    pub(crate) fn feed(&mut self, data: &[u8]) {
        if self.consumed > 0 && self.consumed == self.buf.len() {
            self.buf.clear();
            self.consumed = 0;
        } else if self.consumed > self.buf.len() / 2 {
            self.buf.drain(..self.consumed);
            self.consumed = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The body has ended: a last line without `\n` is still a row.
    pub(crate) fn finish(&mut self) {
        self.finished = true;
    }

    pub(crate) fn is_done(&self) -> bool {
        self.finished && self.consumed >= self.buf.len()
    }

    /// The next complete row, if one has arrived.
    pub(crate) fn next_row(&mut self) -> Option<Result<Row, DecodeError>> {
        loop {
            let rest = self.buf.get(self.consumed..)?;
            if rest.is_empty() {
                return None;
            }
            let newline = memchr::memchr(b'\n', rest);
            if self.skipping {
                match newline {
                    Some(n) => {
                        self.consumed += n + 1;
                        self.skipping = false;
                        continue;
                    }
                    None => {
                        self.consumed = self.buf.len();
                        return None;
                    }
                }
            }
            let (line, used) = match newline {
                Some(n) => (&rest[..n], n + 1),
                None if self.finished => (rest, rest.len()),
                None if rest.len() > MAX_LINE => {
                    // Refused now, not buffered further; its rest is
                    // passed over as it arrives.
                    self.consumed = self.buf.len();
                    self.skipping = true;
                    self.line += 1;
                    return Some(Err(self.too_long()));
                }
                None => return None,
            };
            self.consumed += used;
            self.line += 1;
            if line.len() > MAX_LINE {
                return Some(Err(self.too_long()));
            }
            let line = trim(line);
            if line.is_empty() {
                continue;
            }
            let mut de = serde_json::Deserializer::from_slice(line);
            let parsed = de
                .deserialize_map(Cells)
                .and_then(|cells| de.end().map(|()| cells))
                .map_err(|e| {
                    DecodeError::json(format_args!("line {} of the response", self.line), e)
                });
            let cells = match parsed {
                Ok(cells) => cells,
                Err(e) => return Some(Err(e)),
            };
            return Some(Ok(self.row(cells)));
        }
    }

    fn too_long(&self) -> DecodeError {
        DecodeError::new(format!(
            "line {} of the response is longer than {MAX_LINE} bytes",
            self.line
        ))
    }

    fn row(&mut self, cells: Vec<(String, Value)>) -> Row {
        let mut name = None;
        let mut columns = Vec::with_capacity(cells.len());
        let mut values = Vec::with_capacity(cells.len());
        for (key, value) in cells {
            if key == MEASUREMENT_KEY {
                if let Value::String(s) = value {
                    name = Some(s.into_string());
                }
                continue;
            }
            columns.push(key);
            values.push(value);
        }
        // Rows share their metadata while the columns (null ones are left
        // out of a line) and the measurement stay the same.
        let same = self
            .meta
            .as_ref()
            .is_some_and(|m| m.columns() == columns.as_slice() && m.name() == name.as_deref());
        if !same {
            self.meta = Some(Arc::new(SeriesMeta::new(0, name, Vec::new(), columns)));
            self.index = 0;
        }
        let meta = self
            .meta
            .clone()
            .unwrap_or_else(|| Arc::new(SeriesMeta::new(0, None, Vec::new(), Vec::new())));
        let row = Row::new(meta, values, self.index);
        self.index += 1;
        row
    }
}

fn trim(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., last] = line {
        if last.is_ascii_whitespace() {
            line = rest;
        } else {
            break;
        }
    }
    line
}

/// One line's cells in the order the server wrote them.
struct Cells;

impl<'de> Visitor<'de> for Cells {
    type Value = Vec<(String, Value)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object (one row)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut cells = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let json: serde_json::Value = map.next_value()?;
            let value = cell(&key, json).map_err(serde::de::Error::custom)?;
            cells.push((key, value));
        }
        Ok(cells)
    }
}

fn cell(key: &str, json: serde_json::Value) -> Result<Value, String> {
    use serde_json::Value as J;
    Ok(match json {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Integer(i)
            } else if let Some(u) = n.as_u64() {
                Value::UInteger(u)
            } else {
                Value::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        J::String(s) if key == "time" => match parse_rfc3339_utc_default(&s) {
            Some(ns) => Value::Time(ns),
            None => return Err(format!("the time {s:?} is not a date-time")),
        },
        J::String(s) => Value::String(Text::new(&s)),
        J::Array(_) | J::Object(_) => {
            return Err(format!("column {key:?} holds a nested value"));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_rfc3339_utc_default("1970-01-01T00:00:00"), Some(0));
        assert_eq!(
            parse_rfc3339_utc_default("2024-11-05T08:30:10.250"),
            Some(1_730_795_410_250_000_000)
        );
        assert_eq!(
            parse_rfc3339_utc_default("2024-11-05T08:30:10.250Z"),
            Some(1_730_795_410_250_000_000)
        );
        assert_eq!(
            parse_rfc3339_utc_default("2024-11-05T09:30:10.25+01:00"),
            Some(1_730_795_410_250_000_000)
        );
        assert_eq!(
            parse_rfc3339_utc_default("1969-12-31T23:59:59.999999999"),
            Some(-1)
        );
        assert_eq!(
            parse_rfc3339_utc_default("2000-02-29T00:00:00"),
            Some(951_782_400_000_000_000)
        );
        for bad in [
            "",
            "2024-11-05",
            "2024-13-05T00:00:00",
            "2024-11-05T00:00:00.",
            "2024-11-05T00:00:00.1234567891",
            "2024-11-05T00:00:00+1",
            "2024-11-05T00:00:00+a0:00",
            "2023-02-29T00:00:00",
            "2024-04-31T00:00:00",
        ] {
            assert_eq!(parse_rfc3339_utc_default(bad), None, "{bad}");
        }
    }

    #[test]
    fn rows_from_the_documented_shapes_split_anywhere() {
        let body = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/protocol/v3-query-influxql.jsonl"
        ))
        .expect("sample");
        let whole = {
            let mut d = JsonlDecoder::default();
            d.feed(&body);
            d.finish();
            std::iter::from_fn(|| d.next_row())
                .collect::<Result<Vec<_>, _>>()
                .expect("rows")
        };
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[0].series_name(), Some("cpu"));
        assert_eq!(whole[0].columns(), ["time", "host", "usage", "count"]);
        assert_eq!(whole[1].time(), Some(1_730_795_410_250_000_000));
        assert_eq!(whole[2].get("usage"), Some(&Value::Float(7.125)));
        assert!(Arc::ptr_eq(whole[0].meta(), whole[2].meta()));
        for split in 1..body.len() {
            let mut d = JsonlDecoder::default();
            let mut rows = Vec::new();
            for part in body.chunks(split) {
                d.feed(part);
                rows.extend(std::iter::from_fn(|| d.next_row()));
            }
            d.finish();
            rows.extend(std::iter::from_fn(|| d.next_row()));
            assert!(d.is_done());
            let rows = rows
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
                .expect("rows");
            assert_eq!(rows, whole, "split {split}");
        }
    }

    #[test]
    fn null_columns_left_out_make_a_new_layout() {
        let mut d = JsonlDecoder::default();
        d.feed(b"{\"host\":\"a\",\"v\":1,\"time\":\"2024-01-01T00:00:00\"}\n{\"host\":\"b\",\"time\":\"2024-01-01T00:00:01\"}\n{\"a\":1}{\"a\":2}\n{\"oops\"");
        d.finish();
        let a = d.next_row().expect("row").expect("ok");
        let b = d.next_row().expect("row").expect("ok");
        assert_eq!(a.get("v"), Some(&Value::Integer(1)));
        assert_eq!(b.get("v"), None);
        assert_eq!(b.columns(), ["host", "time"]);
        let err = d.next_row().expect("two objects").expect_err("trailing");
        assert!(err.to_string().contains("line 3"), "{err}");
        let err = d.next_row().expect("bad line").expect_err("not JSON");
        assert!(err.to_string().contains("line 4"), "{err}");
        assert!(d.next_row().is_none());
    }
}
