//! [`Row`], the [`SeriesMeta`] rows share, [`SeriesChunk`] and [`ColumnIndex`].

use std::sync::Arc;

use serde::Deserialize;

use super::wire::{Cell, FlatRows, Str};
use super::{de, DecodeError, Text, Value};

/// What the rows of one series share: statement, measurement name, tag set
/// and column names.
///
/// The decoder builds one per series and hands every row an `Arc` to it. When
/// the next document of a chunked response repeats the statement, name, tags
/// and columns (a `partial` series continuing), the same `Arc` is reused, so
/// [`Arc::ptr_eq`] on [`Row::meta`] tells whether two rows belong to the same
/// series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesMeta {
    statement_id: u64,
    name: Option<String>,
    tags: Vec<(String, String)>,
    columns: Vec<String>,
    /// Position of the `time` column.
    time_index: Option<usize>,
    /// Whether some tag key is also a column name (the column wins).
    tag_shadowed: bool,
}

impl SeriesMeta {
    /// Builds the metadata of a series. `tags` keep the given order (the
    /// server sends them sorted by key).
    pub(crate) fn new(
        statement_id: u64,
        name: Option<String>,
        tags: Vec<(String, String)>,
        columns: Vec<String>,
    ) -> Self {
        let time_index = columns.iter().position(|c| c == "time");
        let tag_shadowed = tags.iter().any(|(k, _)| columns.contains(k));
        SeriesMeta {
            statement_id,
            name,
            tags,
            columns,
            time_index,
            tag_shadowed,
        }
    }

    /// The `statement_id` of the result the series belongs to (0 for the
    /// first statement of the query string).
    #[inline]
    pub fn statement_id(&self) -> u64 {
        self.statement_id
    }

    /// The series name, usually the measurement. `None` when the server sent
    /// none (`SHOW SERIES`, `SHOW RETENTION POLICIES`, `SHOW USERS`).
    #[inline]
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The tag set of the series (only with `GROUP BY`), sorted by key. Tags
    /// that are grouped on are not columns.
    #[inline]
    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }

    /// The value of tag `key`, if the series has it.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The column names, in the order of each row's values (`time` first for
    /// `SELECT`s, then the others in alphabetical order for `SELECT *`).
    #[inline]
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// The position of column `name`.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The position of the `time` column, if there is one.
    #[inline]
    pub fn time_index(&self) -> Option<usize> {
        self.time_index
    }

    /// Whether statement, name, tags and columns equal the given wire data.
    pub(crate) fn same_as(
        &self,
        statement_id: u64,
        name: Option<&Str<'_>>,
        tags: &[(Str<'_>, Str<'_>)],
        columns: &[Str<'_>],
    ) -> bool {
        self.statement_id == statement_id
            && self.name.as_deref() == name.map(|n| &**n)
            && self.columns.len() == columns.len()
            && self.tags.len() == tags.len()
            && self.columns.iter().zip(columns).all(|(a, b)| a == b)
            && self
                .tags
                .iter()
                .zip(tags)
                .all(|((k, v), (wk, wv))| k == wk && v == wv)
    }

    pub(crate) fn tag_shadowed(&self) -> bool {
        self.tag_shadowed
    }
}

/// Picks a column of a [`Row`]: by position (`usize`) or by name (`&str`).
///
/// This trait is sealed: it is implemented for `usize`, `&str` and `&String`.
pub trait ColumnIndex: sealed::Sealed {
    /// The position this index designates in `meta`'s columns, if any.
    fn index_in(&self, meta: &SeriesMeta) -> Option<usize>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for usize {}
    impl Sealed for &str {}
    impl Sealed for &String {}
}

impl ColumnIndex for usize {
    #[inline]
    fn index_in(&self, meta: &SeriesMeta) -> Option<usize> {
        (*self < meta.columns.len()).then_some(*self)
    }
}

impl ColumnIndex for &str {
    #[inline]
    fn index_in(&self, meta: &SeriesMeta) -> Option<usize> {
        meta.column_index(self)
    }
}

impl ColumnIndex for &String {
    #[inline]
    fn index_in(&self, meta: &SeriesMeta) -> Option<usize> {
        meta.column_index(self)
    }
}

/// One row of a query result: the values of one point (or one aggregate
/// window, or one line of a `SHOW` listing), plus the [`SeriesMeta`] it
/// shares with the other rows of its series.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    meta: Arc<SeriesMeta>,
    values: Vec<Value>,
    index: u64,
}

impl Row {
    /// Builds a row. `index` is its position within its series (see
    /// [`Row::index`]). The values should line up with `meta`'s columns.
    pub(crate) fn new(meta: Arc<SeriesMeta>, values: Vec<Value>, index: u64) -> Self {
        Row {
            meta,
            values,
            index,
        }
    }

    /// The series metadata, shared with the other rows of the series.
    #[inline]
    pub fn meta(&self) -> &Arc<SeriesMeta> {
        &self.meta
    }

    /// The statement the row answers (0 for the first statement).
    #[inline]
    pub fn statement_id(&self) -> u64 {
        self.meta.statement_id
    }

    /// The series name (usually the measurement); `None` for nameless
    /// listings such as `SHOW SERIES`.
    #[inline]
    pub fn series_name(&self) -> Option<&str> {
        self.meta.name()
    }

    /// The series' tag set (with `GROUP BY`), sorted by key.
    #[inline]
    pub fn tags(&self) -> &[(String, String)] {
        self.meta.tags()
    }

    /// The value of the series tag `key`. Tags selected as columns (no
    /// `GROUP BY`) are columns instead: use [`Row::get`].
    #[inline]
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.meta.tag(key)
    }

    /// The column names, lined up with [`Row::values`].
    #[inline]
    pub fn columns(&self) -> &[String] {
        self.meta.columns()
    }

    /// The value in a column, by position or name; `None` when there is no
    /// such column (a JSON `null` is `Some(&Value::Null)`).
    #[inline]
    pub fn get<I: ColumnIndex>(&self, index: I) -> Option<&Value> {
        index.index_in(&self.meta).and_then(|i| self.values.get(i))
    }

    /// The value in the column named `name`.
    #[inline]
    pub fn get_by_name(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }

    /// All values, lined up with [`Row::columns`].
    #[inline]
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// Mutable access to the values (to take strings out without copying).
    #[inline]
    pub fn values_mut(&mut self) -> &mut [Value] {
        &mut self.values
    }

    /// The values, by move.
    #[inline]
    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    /// The number of values.
    #[inline]
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the row has no values.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The position of the row within its series, counted from 0 across
    /// the documents of a chunked response.
    #[inline]
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The `time` column in nanoseconds since the epoch, from a
    /// [`Value::Time`] or an RFC 3339 string (see [`Value::as_time_ns`]).
    #[inline]
    pub fn time(&self) -> Option<i64> {
        self.meta
            .time_index
            .and_then(|i| self.values.get(i))
            .and_then(Value::as_time_ns)
    }

    /// Maps the row onto `T` by name, borrowing strings from the row where
    /// `T` wants `&str`: see [`deserialize_row`](super::deserialize_row).
    ///
    /// # Errors
    ///
    /// A column or tag missing for a non-`Option` field, or a value of the
    /// wrong type; the message names the series, the row and the column.
    #[inline]
    pub fn deserialize<'a, T: Deserialize<'a>>(&'a self) -> Result<T, DecodeError> {
        de::from_row(self)
    }

    /// The row alone, as the rows of a chunk.
    pub(crate) fn into_series_rows(self) -> SeriesRows {
        let chunk = SeriesChunk {
            meta: self.meta,
            values: vec![self.values],
            partial: false,
            first_row: self.index,
        };
        chunk.rows()
    }

    /// Like [`Row::deserialize`], but consumes the row so that string values
    /// move into `String` fields instead of being copied.
    ///
    /// # Errors
    ///
    /// As [`Row::deserialize`].
    #[inline]
    pub fn into_deserialize<T: serde::de::DeserializeOwned>(self) -> Result<T, DecodeError> {
        let Row {
            meta,
            mut values,
            index,
        } = self;
        de::from_row_owned(&meta, &mut values, index)
    }
}

/// One series object as the server sent it in one document: the low-level
/// view of a response, from [`Client::query_chunks`](crate::Client::query_chunks).
///
/// A chunked response splits a long series over several documents, each
/// carrying `partial: true` but the last; all those chunks share one
/// [`SeriesMeta`] `Arc`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SeriesChunk {
    /// The series metadata.
    pub meta: Arc<SeriesMeta>,
    /// The rows' values, each lined up with the columns. Empty when the
    /// server sent columns but no `values` (empty `SHOW` listings).
    pub values: Vec<Vec<Value>>,
    /// The series continues in the next document (chunked responses), or,
    /// in a non-chunked response, was cut by the server's `max-row-limit`.
    pub partial: bool,
    /// The [`Row::index`] of the first row of this chunk.
    pub first_row: u64,
}

impl SeriesChunk {
    /// The rows of this chunk.
    pub fn rows(self) -> SeriesRows {
        let mut flat = FlatRows::default();
        for row in self.values {
            flat.push_len(row.len());
            flat.cells
                .extend(row.into_iter().map(|v| Cell::of(v, &mut flat.escaped)));
        }
        let text = Arc::default();
        SeriesRows::from_flat(self.meta, flat, text, self.first_row, self.partial)
    }
}

/// Iterator over the [`Row`]s of a series chunk, from [`SeriesChunk::rows`].
///
/// The rows stay as the decoder scanned them, in one vector with the
/// document their strings point into, until each is handed out; both go
/// back to the decoder for the next document.
#[derive(Debug)]
#[must_use = "iterators do nothing unless consumed"]
pub struct SeriesRows {
    meta: Arc<SeriesMeta>,
    cells: Vec<Cell>,
    /// The document the `Str` cells point into (shared by its series).
    text: Arc<String>,
    /// The strings the `Esc` cells point into.
    escaped: String,
    /// Index of the next row's first cell.
    pos: usize,
    /// Cells per row, unless `lens` gives each row's.
    width: usize,
    /// Rows not yielded yet.
    rows: usize,
    lens: Option<std::vec::IntoIter<usize>>,
    next_index: u64,
    /// The series goes on in the next chunk.
    partial: bool,
    /// The values [`SeriesRows::next_with`] lends.
    scratch: Vec<Value>,
}

/// One row as scanned: its cells, and the strings they point into.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowCells<'a> {
    pub(crate) cells: &'a [Cell],
    text: &'a str,
    escaped: &'a str,
}

impl<'a> RowCells<'a> {
    /// The string of a `Str` or `Esc` cell.
    #[inline(always)]
    pub(crate) fn str(&self, cell: Cell) -> Option<&'a str> {
        let (text, at, len) = match cell {
            Cell::Str(at, len) => (self.text, at, len),
            Cell::Esc(at, len) => (self.escaped, at, len),
            _ => return None,
        };
        text.get(at as usize..at as usize + len as usize)
    }

    /// The cell as a [`Value`], its string copied into a [`Text`].
    #[inline(always)]
    pub(crate) fn value(&self, cell: Cell) -> Value {
        match cell {
            // One fixed-size copy, for the short strings of a document.
            Cell::Str(at, len) => match Text::inline_from(self.text, at as usize, len as usize) {
                Some(t) => Value::String(t),
                None => Value::String(Text::new(self.str(cell).unwrap_or_default())),
            },
            Cell::Esc(..) => Value::String(Text::new(self.str(cell).unwrap_or_default())),
            _ => Self::scalar(cell),
        }
    }

    /// A cell that is not a string as a [`Value`] (a string as null).
    #[inline(always)]
    pub(crate) fn scalar(cell: Cell) -> Value {
        match cell {
            Cell::Bool(b) => Value::Bool(b),
            Cell::Int(i) => Value::Integer(i),
            Cell::UInt(u) => Value::UInteger(u),
            Cell::Float(f) => Value::Float(f),
            Cell::Time(t) => Value::Time(t),
            Cell::Null | Cell::Str(..) | Cell::Esc(..) => Value::Null,
        }
    }

    /// The values of the row.
    fn values(&self) -> impl Iterator<Item = Value> + '_ {
        self.cells.iter().map(|&c| self.value(c))
    }
}

impl Cell {
    /// A value as a cell, its string moved to the end of `escaped`. (A chunk
    /// of more than 4 GiB of strings reads the rest as empty strings.)
    fn of(v: Value, escaped: &mut String) -> Cell {
        match v {
            Value::Null => Cell::Null,
            Value::Bool(b) => Cell::Bool(b),
            Value::Integer(i) => Cell::Int(i),
            Value::UInteger(u) => Cell::UInt(u),
            Value::Float(f) => Cell::Float(f),
            Value::Time(t) => Cell::Time(t),
            Value::String(s) => {
                let at = u32::try_from(escaped.len()).unwrap_or(u32::MAX);
                escaped.push_str(&s);
                Cell::Esc(at, u32::try_from(s.len()).unwrap_or(0))
            }
        }
    }
}

impl SeriesRows {
    pub(crate) fn from_flat(
        meta: Arc<SeriesMeta>,
        flat: FlatRows,
        text: Arc<String>,
        first_row: u64,
        partial: bool,
    ) -> Self {
        SeriesRows {
            meta,
            cells: flat.cells,
            text,
            escaped: flat.escaped,
            pos: 0,
            width: flat.width,
            rows: flat.rows,
            lens: flat.lens.map(Vec::into_iter),
            next_index: first_row,
            partial,
            scratch: Vec::new(),
        }
    }

    /// The metadata the rows share.
    pub fn meta(&self) -> &Arc<SeriesMeta> {
        &self.meta
    }

    fn cells(&self, range: std::ops::Range<usize>) -> RowCells<'_> {
        RowCells {
            cells: self.cells.get(range).unwrap_or_default(),
            text: &self.text,
            escaped: &self.escaped,
        }
    }

    /// The values of the rows not yielded yet, row by row.
    pub(crate) fn remaining(&self) -> Vec<Vec<Value>> {
        let mut lens = self.lens.as_ref().map(|l| l.as_slice().iter());
        let mut start = self.pos;
        (0..self.rows)
            .map(|_| {
                let n = lens
                    .as_mut()
                    .map_or(self.width, |l| l.next().copied().unwrap_or(0));
                let end = start.saturating_add(n).min(self.cells.len());
                let row = self.cells(start..end).values().collect();
                start = end;
                row
            })
            .collect()
    }

    /// The rows not yielded yet, as a chunk; the vector and the document
    /// go back to `spare`.
    pub(crate) fn into_chunk(mut self, spare: &mut Spare) -> SeriesChunk {
        let first_row = self.next_index;
        let values = self.by_ref().map(Row::into_values).collect();
        let (meta, partial) = (Arc::clone(&self.meta), self.partial);
        self.recycle(spare);
        SeriesChunk {
            meta,
            values,
            partial,
            first_row,
        }
    }

    /// Gives the cells' vector, emptied, and the document, when no other
    /// series holds it, to `spare`, to parse the next document into.
    pub(crate) fn recycle(self, spare: &mut Spare) {
        if self.cells.capacity() > spare.cells.capacity() {
            spare.cells = self.cells;
        }
        if let Ok(text) = Arc::try_unwrap(self.text) {
            if text.capacity() > spare.text.capacity() {
                spare.text = text.into_bytes();
            }
        }
    }

    /// Where the next row's cells are.
    #[inline]
    fn next_range(&mut self) -> Option<std::ops::Range<usize>> {
        self.rows = self.rows.checked_sub(1)?;
        let n = match &mut self.lens {
            Some(lens) => lens.next().unwrap_or(0),
            None => self.width,
        };
        let start = self.pos;
        self.pos = start.saturating_add(n).min(self.cells.len());
        self.next_index += 1;
        Some(start..self.pos)
    }

    /// The next row given to `f` as `(meta, cells, index)`: no value built
    /// for a cell `f` does not read.
    #[inline]
    pub(crate) fn next_cells<R>(
        &mut self,
        f: &mut impl FnMut(&Arc<SeriesMeta>, RowCells<'_>, u64) -> R,
    ) -> Option<R> {
        let index = self.next_index;
        let range = self.next_range()?;
        Some(f(&self.meta, self.cells(range), index))
    }

    /// The next row given to `f` as `(meta, values, index)`, in a vector
    /// reused from row to row; strings on the heap, for `f` to move into
    /// `String`s.
    #[inline]
    pub(crate) fn next_with<R>(
        &mut self,
        f: &mut impl FnMut(&Arc<SeriesMeta>, &mut [Value], u64) -> R,
    ) -> Option<R> {
        let index = self.next_index;
        let range = self.next_range()?;
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let row = self.cells(range);
        scratch.extend(row.cells.iter().map(|&c| match row.str(c) {
            Some(s) => Value::String(Text::boxed(s.into())),
            None => RowCells::scalar(c),
        }));
        let r = f(&self.meta, &mut scratch, index);
        self.scratch = scratch;
        Some(r)
    }
}

/// What a finished series leaves for the next document: its cells' vector
/// and its document's buffer, whose memory is reused (fresh memory costs
/// page faults on every use).
#[derive(Debug, Default)]
pub(crate) struct Spare {
    pub(crate) cells: Vec<Cell>,
    pub(crate) text: Vec<u8>,
}

impl Iterator for SeriesRows {
    type Item = Row;

    #[inline]
    fn next(&mut self) -> Option<Row> {
        let index = self.next_index;
        let range = self.next_range()?;
        let values = self.cells(range).values().collect();
        Some(Row {
            meta: Arc::clone(&self.meta),
            values,
            index,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.rows, Some(self.rows))
    }
}

impl ExactSizeIterator for SeriesRows {}
