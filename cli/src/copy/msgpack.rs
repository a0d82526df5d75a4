//! The source's chunked answer in MessagePack, read into rows.
//!
//! influxd writes MessagePack for about three quarters of the CPU it
//! spends on the same answer in JSON (1M narrow rows: 4.3 s against
//! 5.6 s), and on a copy the source's CPU is what bounds the rate. Each
//! chunk is one MessagePack map, `{"results": [{"statement_id", "series":
//! [{"name", "tags", "columns", "values"}], "partial"}]}`, written one
//! after the other; a failed statement has an `"error"` in its result, a
//! failed query one at the top. Integers, floats, strings and booleans
//! arrive as such, and with `epoch=ns` the time as an integer. Strings
//! come as stored, UTF-8 or not: bytes that are not are read as U+FFFD,
//! as influxd's JSON gives them.

use std::borrow::Cow;
use std::sync::Arc;

use super::row_point::Val;

/// The media type asked for.
pub const MSGPACK: &str = "application/x-msgpack";

/// A chunk larger than this is refused rather than buffered: with the
/// chunk size copy asks for, chunks are a few tens of kilobytes.
const MAX_CHUNK_BYTES: usize = 256 * 1024 * 1024;

/// One series of the answer.
#[derive(Debug, PartialEq)]
pub struct Series {
    /// The measurement.
    pub name: String,
    /// Its tags, sorted by key (MessagePack maps keep the server's map
    /// order, which Go leaves random).
    pub tags: Vec<(String, String)>,
    /// The column names.
    pub columns: Vec<String>,
    /// The index of the `time` column.
    pub time_index: Option<usize>,
}

/// Rows of one or more series, their values side by side.
#[derive(Debug, Default)]
pub struct Rows {
    series: Vec<Arc<Series>>,
    /// Per row: its series (an index into `series`) and its first value.
    rows: Vec<(u32, u32)>,
    values: Vec<Cell>,
    /// The string values one after the other: a `Value`'s string was
    /// checked as UTF-8 once more each time it was read, and dropped one by
    /// one.
    text: String,
    /// The strings of the series being read, added to `text` once it is
    /// read: each is UTF-8 (ASCII as it mostly is, or made so as
    /// `from_utf8_lossy` makes it), so all of them at once are too, and
    /// are checked at once.
    pending: Vec<u8>,
}

/// One value of an answer; a string is a range of [`Rows`]' text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Integer(i64),
    UInteger(u64),
    Float(f64),
    Time(i64),
    Str(u32, u32),
}

/// A row of [`Rows`].
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    /// Its series.
    pub series: &'a Arc<Series>,
    /// One value per column.
    pub values: &'a [Cell],
    /// The text the strings of `values` are ranges of.
    pub text: &'a str,
}

/// `c` as a value, its string from `text`.
#[inline]
pub fn val(c: Cell, text: &str) -> Val<'_> {
    match c {
        Cell::Null => Val::Null,
        Cell::Bool(b) => Val::Bool(b),
        Cell::Integer(n) => Val::Integer(n),
        Cell::UInteger(n) => Val::UInteger(n),
        Cell::Float(f) => Val::Float(f),
        Cell::Time(t) => Val::Time(t),
        // Always a whole string of `text` (see `Rows::pending`).
        Cell::Str(start, end) => {
            Val::Str(text.get(start as usize..end as usize).unwrap_or_default())
        }
    }
}

impl Rows {
    /// How many rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// The rows, in the order read.
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = RowRef<'_>> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The rows read so far, leaving none but room for as many: the rows
    /// of a chunk are about as many each time, and growing the vectors
    /// anew for each chunk cost a copy of every value.
    pub fn take(&mut self) -> Rows {
        let empty = Rows {
            series: Vec::with_capacity(self.series.capacity()),
            rows: Vec::with_capacity(self.rows.capacity()),
            values: Vec::with_capacity(self.values.capacity()),
            text: String::with_capacity(self.text.capacity()),
            pending: Vec::with_capacity(self.pending.capacity()),
        };
        std::mem::replace(self, empty)
    }

    /// Row `i`.
    #[inline]
    pub fn get(&self, i: usize) -> Option<RowRef<'_>> {
        let &(s, start) = self.rows.get(i)?;
        let series = self.series.get(s as usize)?;
        let start = start as usize;
        let values = self.values.get(start..start + series.columns.len())?;
        Some(RowRef {
            series,
            values,
            text: &self.text,
        })
    }

    /// Adds `series` unless it is the last one added; its index.
    fn series_index(&mut self, series: Series) -> Result<u32, Bad> {
        if self.series.last().map(|s| **s == series) != Some(true) {
            self.series.push(Arc::new(series));
        }
        u32::try_from(self.series.len() - 1).map_err(|_| bad("too many series in a chunk"))
    }
}

/// Why an answer cannot be read.
#[derive(Debug)]
pub enum Failure {
    /// Not MessagePack as influxd writes it.
    Bad(String),
    /// The server's error for the statement or the query.
    Server(String),
}

/// A malformed answer, or one that ends before the chunk does.
#[derive(Debug)]
enum Bad {
    Incomplete,
    Malformed(String),
}

fn bad(why: &str) -> Bad {
    Bad::Malformed(why.to_owned())
}

/// Chunks of an answer as its pieces arrive.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Where the next chunk starts in `buf`.
    start: usize,
    /// How far the next chunk's end was looked for in the pieces fed so
    /// far: a chunk spans several pieces, and looking from its start again
    /// at each piece cost as much as reading it.
    skipped: Skipped,
}

/// Progress through one item whose end is looked for.
#[derive(Debug, Clone, Copy)]
struct Skipped {
    /// Bytes of it stepped over.
    pos: usize,
    /// Items still to step over (a container's contents count).
    left: usize,
}

impl Default for Skipped {
    fn default() -> Self {
        Skipped { pos: 0, left: 1 }
    }
}

impl Decoder {
    /// Adds the next piece of the body.
    pub fn feed(&mut self, data: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Whether bytes of an unfinished chunk are left over.
    pub fn has_partial(&self) -> bool {
        self.start < self.buf.len()
    }

    /// Reads every complete chunk fed so far into `rows`.
    ///
    /// # Errors
    /// A chunk that is not MessagePack as influxd writes it, or one that
    /// holds the server's error.
    pub fn read_into(&mut self, rows: &mut Rows) -> Result<(), Failure> {
        loop {
            let rest = self.buf.get(self.start..).unwrap_or_default();
            if rest.is_empty() {
                return Ok(());
            }
            let len = match skip(rest, &mut self.skipped) {
                Ok(n) => {
                    self.skipped = Skipped::default();
                    n
                }
                Err(Bad::Incomplete) if rest.len() > MAX_CHUNK_BYTES => {
                    return Err(Failure::Bad(format!(
                        "a chunk of the answer is larger than {MAX_CHUNK_BYTES} bytes"
                    )))
                }
                Err(Bad::Incomplete) => return Ok(()),
                Err(Bad::Malformed(why)) => return Err(Failure::Bad(why)),
            };
            let mut r = Reader {
                b: rest.get(..len).unwrap_or_default(),
                pos: 0,
            };
            let read = chunk(&mut r, rows);
            self.start += len;
            match read {
                Ok(None) => {}
                Ok(Some(server_error)) => return Err(Failure::Server(server_error)),
                Err(Bad::Malformed(why)) => return Err(Failure::Bad(why)),
                Err(Bad::Incomplete) => {
                    return Err(Failure::Bad("a chunk ends inside a value".to_owned()))
                }
            }
        }
    }
}

/// One MessagePack item's head.
enum Item<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'a [u8]),
    /// Binary data or an extension: nothing influxd writes here.
    Other,
    Array(usize),
    Map(usize),
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Bad> {
        let end = self.pos.checked_add(n).ok_or(Bad::Incomplete)?;
        let s = self.b.get(self.pos..end).ok_or(Bad::Incomplete)?;
        self.pos = end;
        Ok(s)
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], Bad> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn len_of(&mut self, bytes: usize) -> Result<usize, Bad> {
        Ok(match bytes {
            1 => usize::from(self.be::<1>()?[0]),
            2 => usize::from(u16::from_be_bytes(self.be()?)),
            _ => u32::from_be_bytes(self.be()?) as usize,
        })
    }

    fn next(&mut self) -> Result<Item<'a>, Bad> {
        let m = self.be::<1>()?[0];
        Ok(match m {
            0x00..=0x7f => Item::Int(i64::from(m)),
            0x80..=0x8f => Item::Map(usize::from(m & 0x0f)),
            0x90..=0x9f => Item::Array(usize::from(m & 0x0f)),
            0xa0..=0xbf => Item::Str(self.take(usize::from(m & 0x1f))?),
            0xc0 => Item::Nil,
            0xc2 => Item::Bool(false),
            0xc3 => Item::Bool(true),
            0xc4..=0xc6 => {
                let n = self.len_of(1 << (m - 0xc4))?;
                self.take(n)?;
                Item::Other
            }
            0xc7..=0xc9 => {
                let n = self.len_of(1 << (m - 0xc7))?;
                self.take(n.checked_add(1).ok_or(Bad::Incomplete)?)?;
                Item::Other
            }
            0xca => Item::Float(f64::from(f32::from_be_bytes(self.be()?))),
            0xcb => Item::Float(f64::from_be_bytes(self.be()?)),
            0xcc => Item::Uint(u64::from(self.be::<1>()?[0])),
            0xcd => Item::Uint(u64::from(u16::from_be_bytes(self.be()?))),
            0xce => Item::Uint(u64::from(u32::from_be_bytes(self.be()?))),
            0xcf => Item::Uint(u64::from_be_bytes(self.be()?)),
            0xd0 => Item::Int(i64::from(i8::from_be_bytes(self.be()?))),
            0xd1 => Item::Int(i64::from(i16::from_be_bytes(self.be()?))),
            0xd2 => Item::Int(i64::from(i32::from_be_bytes(self.be()?))),
            0xd3 => Item::Int(i64::from_be_bytes(self.be()?)),
            0xd4..=0xd8 => {
                self.take(1 + (1 << (m - 0xd4)))?;
                Item::Other
            }
            0xd9..=0xdb => {
                let n = self.len_of(1 << (m - 0xd9))?;
                Item::Str(self.take(n)?)
            }
            0xdc | 0xdd => Item::Array(self.len_of(if m == 0xdc { 2 } else { 4 })?),
            0xde | 0xdf => Item::Map(self.len_of(if m == 0xde { 2 } else { 4 })?),
            0xe0..=0xff => Item::Int(i64::from(m as i8)),
            0xc1 => return Err(bad("the answer holds the unused MessagePack byte 0xc1")),
        })
    }

    /// Skips one whole item, containers with their contents.
    fn skip_item(&mut self) -> Result<(), Bad> {
        let mut left: usize = 1;
        while left > 0 {
            left -= 1;
            match self.next()? {
                Item::Array(n) => left = left.saturating_add(n),
                Item::Map(n) => left = left.saturating_add(n.saturating_mul(2)),
                _ => {}
            }
        }
        Ok(())
    }

    fn str(&mut self) -> Result<Cow<'a, str>, Bad> {
        match self.next()? {
            Item::Str(s) => Ok(String::from_utf8_lossy(s)),
            _ => Err(bad("a string was expected")),
        }
    }

    fn map(&mut self) -> Result<usize, Bad> {
        match self.next()? {
            Item::Map(n) => Ok(n),
            _ => Err(bad("a map was expected")),
        }
    }

    /// An array's length; `nil` counts as empty.
    fn array(&mut self) -> Result<usize, Bad> {
        match self.next()? {
            Item::Array(n) => Ok(n),
            Item::Nil => Ok(0),
            _ => Err(bad("an array was expected")),
        }
    }

    /// A value; a string goes to `text`, whose first `offset` bytes are
    /// before it.
    fn value(&mut self, time: bool, text: &mut Vec<u8>, offset: usize) -> Result<Cell, Bad> {
        // The kinds influxd writes most (signed integers, floats), read
        // here without going through `next`: the same values.
        let int = |i: i64| {
            if time {
                Cell::Time(i)
            } else {
                Cell::Integer(i)
            }
        };
        let at = self.pos;
        let fast = match self.b.get(at) {
            Some(&m @ 0x00..=0x7f) => Some((1, int(i64::from(m)))),
            Some(0xcb) => self.b.get(at + 1..at + 9).and_then(|b| {
                let b: [u8; 8] = b.try_into().ok()?;
                Some((9, Cell::Float(f64::from_be_bytes(b))))
            }),
            Some(0xd3) => self.b.get(at + 1..at + 9).and_then(|b| {
                let b: [u8; 8] = b.try_into().ok()?;
                Some((9, int(i64::from_be_bytes(b))))
            }),
            Some(0xd2) => self.b.get(at + 1..at + 5).and_then(|b| {
                let b: [u8; 4] = b.try_into().ok()?;
                Some((5, int(i64::from(i32::from_be_bytes(b)))))
            }),
            Some(0xd1) => self.b.get(at + 1..at + 3).and_then(|b| {
                let b: [u8; 2] = b.try_into().ok()?;
                Some((3, int(i64::from(i16::from_be_bytes(b)))))
            }),
            _ => None,
        };
        if let Some((len, cell)) = fast {
            self.pos = at + len;
            return Ok(cell);
        }
        Ok(match self.next()? {
            Item::Nil => Cell::Null,
            Item::Bool(b) => Cell::Bool(b),
            Item::Int(i) if time => Cell::Time(i),
            Item::Int(i) => Cell::Integer(i),
            Item::Uint(u) => match i64::try_from(u) {
                Ok(i) if time => Cell::Time(i),
                Ok(i) => Cell::Integer(i),
                Err(_) => Cell::UInteger(u),
            },
            Item::Float(f) => Cell::Float(f),
            Item::Str(s) => {
                let start = offset + text.len();
                if s.is_ascii() {
                    text.extend_from_slice(s);
                } else {
                    text.extend_from_slice(String::from_utf8_lossy(s).as_bytes());
                }
                let at = |n: usize| u32::try_from(n).map_err(|_| bad("too much text in a chunk"));
                Cell::Str(at(start)?, at(offset + text.len())?)
            }
            Item::Other | Item::Array(_) | Item::Map(_) => {
                return Err(bad("a value is not a number, string, boolean or nil"))
            }
        })
    }
}

/// The length of the first whole item of `b`, going on from `done`, which
/// records how far it got when `b` ends first ([`Bad::Incomplete`]).
fn skip(b: &[u8], done: &mut Skipped) -> Result<usize, Bad> {
    let mut r = Reader { b, pos: done.pos };
    while done.left > 0 {
        // Most items' length is in their first byte: no need to read them.
        let fixed = match b.get(r.pos) {
            Some(0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff) => Some(1),
            Some(&m @ 0xa0..=0xbf) => Some(1 + usize::from(m & 0x1f)),
            Some(0xcc | 0xd0) => Some(2),
            Some(0xcd | 0xd1) => Some(3),
            Some(0xca | 0xce | 0xd2) => Some(5),
            Some(0xcb | 0xcf | 0xd3) => Some(9),
            _ => None,
        };
        match fixed {
            Some(n) if r.pos + n <= b.len() => r.pos += n,
            Some(_) => return Err(Bad::Incomplete),
            None => match r.next()? {
                Item::Array(n) => done.left = done.left.saturating_add(n),
                Item::Map(n) => done.left = done.left.saturating_add(n.saturating_mul(2)),
                _ => {}
            },
        }
        done.left -= 1;
        // Only whole items are taken: an item cut short is looked at
        // again from its first byte.
        done.pos = r.pos;
    }
    Ok(r.pos)
}

/// Reads one chunk's rows into `rows`; the server's error, if it sent one.
fn chunk(r: &mut Reader<'_>, rows: &mut Rows) -> Result<Option<String>, Bad> {
    for _ in 0..r.map()? {
        match &*r.str()? {
            "results" => {
                for _ in 0..r.array()? {
                    if let Some(e) = result(r, rows)? {
                        return Ok(Some(e));
                    }
                }
            }
            "error" => return Ok(Some(format!("query statement failed: {}", r.str()?))),
            _ => r.skip_item()?,
        }
    }
    Ok(None)
}

fn result(r: &mut Reader<'_>, rows: &mut Rows) -> Result<Option<String>, Bad> {
    let mut id = 0;
    for _ in 0..r.map()? {
        match &*r.str()? {
            "statement_id" => {
                if let Item::Int(i) = r.next()? {
                    id = i;
                }
            }
            "series" => {
                for _ in 0..r.array()? {
                    series(r, rows)?;
                }
            }
            // As the library words a statement's error read from JSON.
            "error" => {
                return Ok(Some(format!(
                    "query statement failed: statement {id}: {}",
                    r.str()?
                )))
            }
            _ => r.skip_item()?,
        }
    }
    Ok(None)
}

fn series(r: &mut Reader<'_>, rows: &mut Rows) -> Result<(), Bad> {
    let mut s = Series {
        name: String::new(),
        tags: Vec::new(),
        columns: Vec::new(),
        time_index: None,
    };
    // Rows are read once the columns are known: influxd writes "values"
    // last, after "columns".
    let mut index = None;
    for _ in 0..r.map()? {
        match &*r.str()? {
            "name" => s.name = r.str()?.into_owned(),
            "tags" => {
                for _ in 0..r.map()? {
                    let k = r.str()?.into_owned();
                    let v = r.str()?.into_owned();
                    s.tags.push((k, v));
                }
                s.tags.sort_unstable();
            }
            "columns" => {
                for _ in 0..r.array()? {
                    s.columns.push(r.str()?.into_owned());
                }
                s.time_index = s.columns.iter().position(|c| c == "time");
            }
            "values" => {
                let width = s.columns.len();
                let n = r.array()?;
                if n > 0 {
                    let ix = match index {
                        Some(ix) => ix,
                        None => {
                            let ix = rows.series_index(std::mem::replace(
                                &mut s,
                                Series {
                                    name: String::new(),
                                    tags: Vec::new(),
                                    columns: Vec::new(),
                                    time_index: None,
                                },
                            ))?;
                            index = Some(ix);
                            ix
                        }
                    };
                    let time_index = rows
                        .series
                        .get(ix as usize)
                        .and_then(|s| s.time_index)
                        .unwrap_or(usize::MAX);
                    rows.values.reserve(n.saturating_mul(width).min(1 << 20));
                    for _ in 0..n {
                        if r.array()? != width {
                            return Err(bad("a row has not one value per column"));
                        }
                        let start = u32::try_from(rows.values.len())
                            .map_err(|_| bad("too many values in a chunk"))?;
                        let offset = rows.text.len();
                        for i in 0..width {
                            let v = r.value(i == time_index, &mut rows.pending, offset)?;
                            rows.values.push(v);
                        }
                        rows.rows.push((ix, start));
                    }
                    // Every string added is UTF-8 (see `Rows::pending`).
                    let added = std::str::from_utf8(&rows.pending)
                        .map_err(|_| bad("a string is not UTF-8"))?;
                    rows.text.push_str(added);
                    rows.pending.clear();
                }
            }
            _ => r.skip_item()?,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use influx_stream::Value;

    fn values(r: &RowRef<'_>) -> Vec<Value> {
        r.values
            .iter()
            .map(|c| val(*c, r.text).to_value())
            .collect()
    }

    /// A chunk as influxd 1.6 writes it (from a real answer), split at
    /// every byte.
    #[test]
    fn a_real_chunk_read_in_every_split() {
        let mut chunk = Vec::new();
        chunk.extend_from_slice(b"\x81\xa7results\x91\x83\xacstatement_id\x00\xa6series\x91\x84");
        chunk.extend_from_slice(b"\xa4name\xa3cpu\xa4tags\x82\xa6region\xa2eu\xa4host\xa1a");
        chunk.extend_from_slice(b"\xa7columns\x94\xa4time\xa1n\xa1s\xa1f\xa6values\x92");
        chunk.extend_from_slice(b"\x94\xd3\x16\x34\x57\x85\xd8\xa0\x00\x00\xd2\x00\x00\xbb\xee\xa2ok\xcb\x40\x38\xa6\x66\x66\x66\x66\x66");
        chunk.extend_from_slice(b"\x94\x05\xc0\xa0\xc2");
        chunk.extend_from_slice(b"\xa7partial\xc3");
        for split in 0..=chunk.len() {
            let mut d = Decoder::default();
            let mut rows = Rows::default();
            d.feed(&chunk[..split]);
            d.read_into(&mut rows)
                .map_err(|e| format!("{e:?}"))
                .unwrap();
            d.feed(&chunk[split..]);
            d.read_into(&mut rows)
                .map_err(|e| format!("{e:?}"))
                .unwrap();
            assert!(!d.has_partial());
            let got: Vec<_> = rows.iter().collect();
            assert_eq!(got.len(), 2);
            let s = got[0].series;
            assert_eq!(s.name, "cpu");
            assert_eq!(
                s.tags,
                vec![("host".into(), "a".into()), ("region".into(), "eu".into())]
            );
            assert_eq!(s.columns, ["time", "n", "s", "f"]);
            assert_eq!(s.time_index, Some(0));
            assert_eq!(
                values(&got[0]),
                [
                    Value::Time(1_600_000_000_000_000_000),
                    Value::Integer(48110),
                    Value::String("ok".into()),
                    Value::Float(24.65)
                ]
            );
            assert_eq!(
                values(&got[1]),
                [
                    Value::Time(5),
                    Value::Null,
                    Value::String("".into()),
                    Value::Bool(false)
                ]
            );
        }
    }

    /// influxd stores what it was sent; its JSON has U+FFFD for bytes
    /// that are not UTF-8, and so has this reader (from a real answer).
    #[test]
    fn bytes_that_are_not_utf8_read_as_replacement_characters() {
        let mut d = Decoder::default();
        d.feed(b"\x81\xa7results\x91\x82\xacstatement_id\x00\xa6series\x91\x84\xa4name\xa1m");
        d.feed(b"\xa4tags\x81\xa1t\xa3a\xffb\xa7columns\x93\xa4time\xa1s\xa1v");
        d.feed(b"\xa6values\x91\x93\x05\xa3x\xfey\xcb\x3f\xf0\0\0\0\0\0\0");
        let mut rows = Rows::default();
        assert!(d.read_into(&mut rows).is_ok());
        let row = rows
            .iter()
            .next()
            .map(|r| (r.series.tags.clone(), values(&r)));
        assert_eq!(
            row,
            Some((
                vec![("t".to_owned(), "a\u{fffd}b".to_owned())],
                vec![
                    Value::Time(5),
                    Value::String("x\u{fffd}y".into()),
                    Value::Float(1.0)
                ]
            ))
        );
    }

    #[test]
    fn the_servers_errors_and_broken_chunks() {
        let mut d = Decoder::default();
        d.feed(b"\x81\xa7results\x91\x82\xacstatement_id\x00\xa5error\xa4oops");
        assert!(
            matches!(d.read_into(&mut Rows::default()), Err(Failure::Server(e)) if e == "query statement failed: statement 0: oops")
        );
        let mut d = Decoder::default();
        d.feed(b"\x81\xa5error\xa3bad");
        assert!(
            matches!(d.read_into(&mut Rows::default()), Err(Failure::Server(e)) if e == "query statement failed: bad")
        );
        let mut d = Decoder::default();
        d.feed(b"\x81\xa7results\xa1x");
        assert!(matches!(
            d.read_into(&mut Rows::default()),
            Err(Failure::Bad(_))
        ));
        let mut d = Decoder::default();
        d.feed(b"\xc1");
        assert!(matches!(
            d.read_into(&mut Rows::default()),
            Err(Failure::Bad(_))
        ));
        let mut d = Decoder::default();
        d.feed(b"\x81\xa7results\x91");
        assert!(d.read_into(&mut Rows::default()).is_ok());
        assert!(d.has_partial());
    }
}
