//! InfluxDB 3.x's JSON-lines query answers (`format=jsonl`): one object per
//! row, keys in column order, null columns left out, times as RFC 3339
//! without a zone (UTC). Decoded line by line into [`Row`]s, so memory is
//! bounded by one line whatever the size of the result.

use std::fmt;
use std::sync::Arc;

use bytes::BytesMut;
use serde::de::{Deserializer, MapAccess, Visitor};
use tokio_util::codec::{AnyDelimiterCodec, Decoder as _};

use super::{DecodeError, Row, SeriesMeta, Text, Value};
use crate::point::parse_rfc3339_utc_default;

/// The column 3.x's InfluxQL endpoint names the measurement by.
const MEASUREMENT_KEY: &str = "iox::measurement";
/// A line longer than this is refused rather than buffered.
const MAX_LINE: usize = 64 * 1024 * 1024;

/// Splits a JSON-lines body into rows as its bytes arrive.
#[derive(Debug, Default)]
pub struct JsonlDecoder {
    buf: BytesMut,
    /// Made on first use: the codec has no `Default`.
    lines: Option<AnyDelimiterCodec>,
    meta: Option<Arc<SeriesMeta>>,
    index: u64,
    line: u64,
    finished: bool,
}

impl JsonlDecoder {
    /// Appends body bytes.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The body has ended: a last line without `\n` is still a row.
    pub fn finish(&mut self) {
        self.finished = true;
    }

    /// Whether the body has ended and every line was handed out.
    pub fn is_done(&self) -> bool {
        self.finished && self.buf.is_empty()
    }

    /// The next complete row, if one has arrived.
    pub fn next_row(&mut self) -> Option<Result<Row, DecodeError>> {
        loop {
            let lines = self.lines.get_or_insert_with(|| {
                AnyDelimiterCodec::new_with_max_length(b"\n".to_vec(), Vec::new(), MAX_LINE)
            });
            let line = match self.finished {
                true => lines.decode_eof(&mut self.buf),
                false => lines.decode(&mut self.buf),
            };
            let line = line.transpose()?;
            self.line += 1;
            let Ok(line) = line else {
                // The codec's one decoding error: a line over the limit,
                // refused now; its rest is passed over as it arrives.
                let e = format!(
                    "line {} of the response is longer than {MAX_LINE} bytes",
                    self.line
                );
                return Some(Err(DecodeError::new(e)));
            };
            let line = line.trim_ascii_end();
            if line.is_empty() {
                continue;
            }
            let mut de = serde_json::Deserializer::from_slice(line);
            let cells = de.deserialize_map(Cells::default());
            let cells = cells.and_then(|c| de.end().map(|()| c));
            let line = self.line;
            let e = |e| DecodeError::json(format_args!("line {line} of the response"), e);
            return Some(cells.map(|c| self.row(c)).map_err(e));
        }
    }

    fn row(&mut self, cells: Cells) -> Row {
        let Cells {
            name,
            columns,
            values,
        } = cells;
        // Rows share their metadata while the columns (null ones are left
        // out of a line) and the measurement stay the same.
        let meta = match &self.meta {
            Some(m) if m.columns() == columns.as_slice() && m.name() == name.as_deref() => {
                Arc::clone(m)
            }
            _ => {
                self.index = 0;
                let m = Arc::new(SeriesMeta::new(0, name, Vec::new(), columns));
                self.meta.insert(m).clone()
            }
        };
        let row = Row::new(meta, values, self.index);
        self.index += 1;
        row
    }
}

/// One line: the measurement, and the other columns and their values in
/// the order the server wrote them.
#[derive(Default)]
struct Cells {
    name: Option<String>,
    columns: Vec<String>,
    values: Vec<Value>,
}

impl<'de> Visitor<'de> for Cells {
    type Value = Cells;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object (one row)")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Cells, A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            let value = cell(&key, map.next_value()?).map_err(serde::de::Error::custom)?;
            if key != MEASUREMENT_KEY {
                self.columns.push(key);
                self.values.push(value);
            } else if let Value::String(s) = value {
                self.name = Some(s.into_string());
            }
        }
        Ok(self)
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
