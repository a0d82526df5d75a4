//! Borrowed wire structures of a 1.x query response document, filled by
//! the scanner in `scan.rs` straight from the JSON bytes.
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

use serde::de::{Error as _, IgnoredAny};

/// A string borrowed from the document when it has no escapes.
pub(crate) type Str<'a> = Cow<'a, str>;

/// How values are decoded, fixed for a whole response.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// Nanoseconds per unit of the `time` column; `None`: leave it as sent.
    pub(crate) time_mult: Option<i64>,
    /// Expected number of rows in a series (from the previous one).
    pub(crate) rows_hint: usize,
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

/// One value of a row as scanned: numbers decoded, strings left where
/// they are, a span of the document (`Str`) or, when they had escapes, of
/// the series' unescaped strings (`Esc`). A string becomes a [`Text`] or a
/// `String` only when a row is handed out, and only if it is read: a typed
/// row that skips a column copies nothing of it, and the strings a typed
/// row keeps are allocated just before it takes them (40,000 allocations
/// outstanding per document, when made while scanning, put the
/// allocator's `free` on its slow path).
///
/// [`Text`]: super::Text
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Time(i64),
    Str(u32, u32),
    Esc(u32, u32),
}

/// The rows of a series, all cells in one vector: one allocation per
/// document instead of one per row while parsing.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct FlatRows {
    pub(crate) cells: Vec<Cell>,
    /// The series' strings that had escapes, unescaped.
    pub(crate) escaped: String,
    /// Values per row, when every row has the same number.
    pub(crate) width: usize,
    pub(crate) rows: usize,
    /// Length of each row, when they differ.
    pub(crate) lens: Option<Vec<usize>>,
}

impl FlatRows {
    #[inline]
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
}

#[derive(Debug)]
pub(crate) struct WireMessage<'a> {
    pub(crate) level: Option<Str<'a>>,
    pub(crate) text: Option<Str<'a>>,
}

/// Parses one document with the scanner in `scan.rs`. The document was
/// checked for UTF-8 once, up front (it is a `&str`), so that the scanner
/// need not validate each string again.
///
/// The scanner only says whether it understood the document; when it did
/// not, [`why_not`] asks serde_json. `spare` is an empty vector the scanner
/// may fill with the first series' cells (reusing its memory). Cells
/// locate strings with `u32`s: a document of 4 GiB or more is refused.
pub(crate) fn parse_doc<'a>(
    text: &'a str,
    settings: Settings,
    spare: &mut Vec<Cell>,
) -> Result<WireDoc<'a>, serde_json::Error> {
    if u32::try_from(text.len()).is_err() {
        return Err(serde_json::Error::custom("a document of 4 GiB or more"));
    }
    super::scan::doc(text, settings, spare).ok_or_else(|| why_not(text.as_bytes()))
}

/// Why a document cannot be read: serde_json reads it (skipping every
/// value) to say where the JSON is malformed or cut short, which also tells
/// an indented document's first line ([`serde_json::Error::is_eof`]).
/// Well-formed JSON the scanner refuses is not shaped like a query response.
pub(crate) fn why_not(bytes: &[u8]) -> serde_json::Error {
    match serde_json::from_slice::<IgnoredAny>(bytes) {
        Err(e) => e,
        Ok(_) if std::str::from_utf8(bytes).is_err() => serde_json::Error::custom("invalid UTF-8"),
        Ok(_) => serde_json::Error::custom(
            "not shaped like a query response (or a number out of range, or a lone surrogate)",
        ),
    }
}
