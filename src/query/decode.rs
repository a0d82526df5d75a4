//! The incremental decoder: bytes in, [`Event`]s (rows) or [`Chunk`]s
//! (series as sent) out. No I/O.
//!
//! # How a body is cut into documents
//!
//! A response body is one JSON document (`chunked=false`) or a sequence of
//! newline-terminated documents (`chunked=true`). HTTP chunk edges are
//! unrelated to document edges (a big document and its `\n` usually travel
//! in separate HTTP chunks), so the decoder buffers bytes and cuts on `\n`
//! only. A `\n` cannot occur inside a compact JSON document (inside strings it
//! is escaped), so each line is one document. At [`Decoder::finish`] the bytes
//! after the last `\n` form a final document.
//!
//! Indented documents (`pretty=true`) are not read: the client never asks
//! for them, and each of their lines is an invalid document.
//!
//! The buffer holds the unread part of what was fed: with `next_event` (or
//! `next_chunk`) drained after each `feed`, memory stays bounded by the
//! largest document, whatever the body size.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

use super::row::{RowCells, SeriesChunk, SeriesMeta, SeriesRows, Spare};
use super::wire::{self, Settings, WireDoc, WireSeries};
use super::{DecodeError, Row, TimeFormat, Value};

/// Options of a [`Decoder`], fixed for one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// How the `time` column arrives (the request's `epoch`).
    pub time_format: TimeFormat,
    /// Largest document accepted, in bytes; a longer one is an error and is
    /// skipped up to the next `\n`. `None`: no limit.
    pub max_document_bytes: Option<usize>,
    /// The body answers a `chunked=true` request: one that ends while its
    /// last chunk said a statement goes on (`"partial": true`) was cut
    /// short. Off, a partial result at the end is whole (a non-chunked
    /// answer cut by `max-row-limit` says `partial` too).
    pub chunked: bool,
}

impl DecodeOptions {
    /// Epoch nanoseconds, no size limit, not chunked.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`DecodeOptions::time_format`].
    pub fn time_format(mut self, time_format: TimeFormat) -> Self {
        self.time_format = time_format;
        self
    }

    /// Sets [`DecodeOptions::max_document_bytes`].
    pub fn max_document_bytes(mut self, max_document_bytes: Option<usize>) -> Self {
        self.max_document_bytes = max_document_bytes;
        self
    }

    /// Sets [`DecodeOptions::chunked`].
    pub fn chunked(mut self, chunked: bool) -> Self {
        self.chunked = chunked;
        self
    }
}

/// What a response says, in order: a row (a [`Row`] from
/// [`Decoder::next_event`], a typed row, or the rows of a series), or what
/// became of a statement or of the query. The one item type from the
/// decoder to the streams.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event<T = Row> {
    /// One row of a series (or, from the series-level readers, the rows of
    /// one series object).
    Row(T),
    /// Anything but rows: a [`Chunk`] other than [`Chunk::Series`].
    Other(Chunk),
}

impl<T> Event<T> {
    /// The same event, its row made into a `U` by `f`.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Event<U> {
        match self {
            Event::Row(t) => Event::Row(f(t)),
            Event::Other(c) => Event::Other(c),
        }
    }
}

impl<T> Event<Result<T, DecodeError>> {
    /// A row that could not be mapped onto `T` as the error.
    pub(crate) fn transpose(self) -> Result<Event<T>, DecodeError> {
        match self {
            Event::Row(row) => row.map(Event::Row),
            Event::Other(c) => Ok(Event::Other(c)),
        }
    }
}

/// What a response says, one series object at a time, as the server sent
/// it: the items of [`Client::query_chunks`](crate::Client::query_chunks).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Chunk {
    /// One series object of one document, possibly `partial`.
    Series(SeriesChunk),
    /// A statement failed on the server (HTTP status still 200). Can follow
    /// chunks of the same statement when a chunked query is killed
    /// mid-stream (timeout, `max-select-point`, `KILL QUERY`). No
    /// `StatementEnd` follows. influxd runs no statement after a failing
    /// one: each later statement comes as an error `not executed`
    /// (numbered here after the failed one; influxd 1.6 repeats the failed
    /// one's id).
    StatementError {
        /// The failing statement (0-based).
        statement_id: u64,
        /// The server's message.
        message: String,
    },
    /// A statement finished without error: all its series have been given.
    StatementEnd {
        /// The statement (0-based).
        statement_id: u64,
    },
    /// An informational message attached to a statement's result (e.g. a
    /// deprecation warning).
    Message {
        /// The statement (0-based).
        statement_id: u64,
        /// The level, e.g. `warning`.
        level: String,
        /// The text.
        text: String,
    },
    /// A document with a top-level `{"error": ...}`: the whole query failed
    /// (usually sent with HTTP 4xx/5xx: parse or authorization errors).
    QueryError {
        /// The server's message.
        message: String,
    },
}

/// Incremental decoder of InfluxDB 1.x query responses (JSON, chunked or not).
///
/// Feed it body bytes as they come, cut anywhere, with [`Decoder::feed`];
/// pull [`Event`]s with [`Decoder::next_event`] (or [`Chunk`]s with
/// [`Decoder::next_chunk`]) until it returns `None`, which means "feed me
/// more" until [`Decoder::finish`] has been called, and "done" after.
///
/// A malformed document yields one `Err` and decoding goes on with the next
/// document. Crate-private: `tests/decoder.rs` shows it at work through
/// `__private`.
#[derive(Debug)]
pub struct Decoder {
    options: DecodeOptions,
    splitter: Splitter,
    state: State,
    /// The series whose rows are being handed out one by one.
    rows: Option<SeriesRows>,
}

/// What survives from one document to the next.
#[derive(Debug)]
struct State {
    queue: VecDeque<Event<SeriesRows>>,
    last_meta: Option<Arc<SeriesMeta>>,
    /// The last series chunk was `partial`: the next may continue it.
    last_partial: bool,
    /// Index of the next row of the last series.
    next_row: u64,
    /// Documents parsed so far (for error messages).
    documents: u64,
    rows_hint: usize,
    /// What a finished series leaves, reused for the next document.
    spare: Spare,
    /// The statement whose last result said `"partial": true`: more of it
    /// must come before the body ends.
    open_statement: Option<u64>,
    /// The statement of the last result.
    last_statement: Option<u64>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new(DecodeOptions::default())
    }
}

impl Decoder {
    /// A decoder for one response body.
    pub fn new(options: DecodeOptions) -> Self {
        Decoder {
            options,
            splitter: Splitter::default(),
            state: State {
                queue: VecDeque::new(),
                last_meta: None,
                last_partial: false,
                next_row: 0,
                documents: 0,
                rows_hint: 0,
                spare: Spare::default(),
                open_statement: None,
                last_statement: None,
            },
            rows: None,
        }
    }

    /// Appends body bytes. They may end anywhere, even inside a UTF-8
    /// character. Nothing is parsed until events are pulled.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.splitter.feed(bytes);
    }

    /// Says the body is complete: bytes after the last `\n` are parsed as a
    /// final document (a cut-short one is an error). Idempotent.
    pub fn finish(&mut self) {
        self.splitter.finished = true;
    }

    /// Whether [`Decoder::finish`] was called.
    pub fn is_finished(&self) -> bool {
        self.splitter.finished
    }

    /// Whether all input was consumed: finished, nothing buffered, nothing
    /// left to hand out.
    pub fn is_done(&self) -> bool {
        self.splitter.finished
            && self.splitter.start == self.splitter.buf.len()
            && self.state.queue.is_empty()
            && self.rows.as_ref().map_or(true, |r| r.len() == 0)
            && !(self.options.chunked && self.state.open_statement.is_some())
    }

    /// The rows of the series chunk `next_event` is handing out, not yet
    /// handed out.
    pub(crate) fn current_rows(&self) -> Option<&SeriesRows> {
        self.rows.as_ref()
    }

    /// Bytes fed but not yet consumed (the start of a document).
    pub fn buffered_len(&self) -> usize {
        self.splitter.buf.len() - self.splitter.start
    }

    /// The next event: `None` when more input is needed (or, after
    /// [`Decoder::finish`], when the body is exhausted).
    ///
    /// # Errors
    ///
    /// A document that is not valid JSON, not shaped like a query response,
    /// too large, or cut short at the end of the body; decoding resumes at
    /// the next document.
    pub fn next_event(&mut self) -> Option<Result<Event, DecodeError>> {
        self.next_row(&mut SeriesRows::next)
    }

    /// Like [`Decoder::next_event`], but each row is given to `f` as
    /// `(meta, values, index)` instead of being built into a [`Row`]: the
    /// path of serde's typed rows. `f` may move values out.
    pub(crate) fn next_event_with<R>(
        &mut self,
        f: &mut impl FnMut(&Arc<SeriesMeta>, &mut [Value], u64) -> R,
    ) -> Option<Result<Event<R>, DecodeError>> {
        self.next_row(&mut |rows: &mut SeriesRows| rows.next_with(f))
    }

    /// Like [`Decoder::next_event_with`], but each row is given as the
    /// scanned cells: the path of `FromRow`, which builds only what it reads.
    #[inline]
    pub(crate) fn next_event_cells<R>(
        &mut self,
        f: &mut impl FnMut(&Arc<SeriesMeta>, RowCells<'_>, u64) -> R,
    ) -> Option<Result<Event<R>, DecodeError>> {
        self.next_row(&mut |rows: &mut SeriesRows| rows.next_cells(f))
    }

    /// The next row taken from the series at hand by `take`, or the next
    /// other event.
    #[inline]
    fn next_row<R>(
        &mut self,
        take: &mut impl FnMut(&mut SeriesRows) -> Option<R>,
    ) -> Option<Result<Event<R>, DecodeError>> {
        loop {
            if let Some(rows) = &mut self.rows {
                if let Some(row) = take(rows) {
                    return Some(Ok(Event::Row(row)));
                }
                if let Some(rows) = self.rows.take() {
                    rows.recycle(&mut self.state.spare);
                }
            }
            match self.pull()? {
                Ok(Event::Row(rows)) => self.rows = Some(rows),
                Ok(Event::Other(c)) => return Some(Ok(Event::Other(c))),
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// The next chunk: the low-level view, one series object at a time.
    /// `None` as for [`Decoder::next_event`]. The two may be mixed: rows of a
    /// series not fully handed out by `next_event` come back as a chunk.
    ///
    /// # Errors
    ///
    /// As [`Decoder::next_event`].
    pub fn next_chunk(&mut self) -> Option<Result<Chunk, DecodeError>> {
        let event = match self.next_series()? {
            Ok(event) => event.map(|rows| rows.into_chunk(&mut self.state.spare)),
            Err(e) => return Some(Err(e)),
        };
        Some(Ok(match event {
            Event::Row(series) => Chunk::Series(series),
            Event::Other(c) => c,
        }))
    }

    /// Like [`Decoder::next_chunk`], but a series chunk comes as the rows
    /// the decoder parsed, in one vector: no vector per row (the path of
    /// `query_chunks` and `query_arrow`).
    pub(crate) fn next_series(&mut self) -> Option<Result<Event<SeriesRows>, DecodeError>> {
        if let Some(rows) = self.rows.take() {
            if rows.len() > 0 {
                return Some(Ok(Event::Row(rows)));
            }
            rows.recycle(&mut self.state.spare);
        }
        self.pull()
    }

    /// The next queued event, parsing documents as needed.
    fn pull(&mut self) -> Option<Result<Event<SeriesRows>, DecodeError>> {
        loop {
            if let Some(event) = self.state.queue.pop_front() {
                return Some(Ok(event));
            }
            let doc = match self.splitter.next_doc(self.options.max_document_bytes) {
                Some(Ok(doc)) => doc,
                Some(Err(e)) => return Some(Err(e)),
                None if self.splitter.finished && self.options.chunked => {
                    return self.state.end_of_body().map(Err)
                }
                None => return None,
            };
            self.state.documents += 1;
            let (range, last) = doc;
            let spare = &mut self.state.spare;
            let bytes = self
                .splitter
                .take_doc(range, std::mem::take(&mut spare.text));
            let settings = Settings {
                time_mult: self.options.time_format.nanos_per_unit(),
                rows_hint: self.state.rows_hint,
            };
            // Validated once here; the rows' strings are spans of it.
            let text = match String::from_utf8(bytes) {
                Ok(text) => Arc::new(text),
                Err(e) => return Some(Err(self.state.invalid(wire::why_not(e.as_bytes()), last))),
            };
            match wire::parse_doc(&text, settings, &mut spare.cells) {
                Ok(parsed) => self.state.push_doc(parsed, &text),
                Err(e) => return Some(Err(self.state.invalid(e, last))),
            }
            // No series kept the document: its memory serves the next.
            if let Ok(text) = Arc::try_unwrap(text) {
                self.state.spare.text = text.into_bytes();
            }
        }
    }
}

/// The [`SeriesMeta`] of a series as sent.
fn new_meta(statement_id: u64, series: &WireSeries<'_>) -> SeriesMeta {
    SeriesMeta::new(
        statement_id,
        series.name.as_ref().map(|n| n.to_string()),
        series
            .tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        series.columns.iter().map(|c| c.to_string()).collect(),
    )
}

impl State {
    /// Once the whole chunked body is parsed: an error (once) if it ended
    /// while a statement was still partial (the server or a proxy closed
    /// the response early, cleanly). An empty body is no error: influxd
    /// sends one for a query of no statements (`;`, a comment).
    fn end_of_body(&mut self) -> Option<DecodeError> {
        self.open_statement.take().map(|id| {
            DecodeError::new(format!(
                "the response ended in the middle of statement {id} (its last chunk said \"partial\": true): the rest of its rows never came"
            ))
        })
    }

    /// The error of the last document, which `e` says is unreadable (the
    /// `last` one of the body: it may be cut short).
    fn invalid(&self, e: serde_json::Error, last: bool) -> DecodeError {
        let what = if e.is_eof() && last {
            format!(
                "document {} cut short at the end of the body",
                self.documents
            )
        } else {
            format!("invalid document {}", self.documents)
        };
        DecodeError::json(what, e)
    }

    /// Queues the events of `doc`, whose text is `text`.
    fn push_doc(&mut self, doc: WireDoc<'_>, text: &Arc<String>) {
        if let Some(message) = doc.error {
            self.open_statement = None;
            self.queue.push_back(Event::Other(Chunk::QueryError {
                message: message.into_owned(),
            }));
        }
        for result in doc.results {
            let mut statement_id = result.statement_id;
            // influxd 1.6 stops at the first failing statement and answers
            // each later one "not executed" under the failed one's id:
            // numbered after it instead, they say which statement it was.
            let not_executed = result.error.as_ref().is_some_and(|m| m == "not executed");
            if let Some(last) = self
                .last_statement
                .filter(|&l| not_executed && statement_id <= l)
            {
                statement_id = last.saturating_add(1);
            }
            self.last_statement = Some(statement_id);
            self.open_statement =
                (result.partial && result.error.is_none()).then_some(statement_id);
            for series in result.series {
                let meta = match &self.last_meta {
                    Some(m)
                        if m.same_as(
                            statement_id,
                            series.name.as_ref(),
                            &series.tags,
                            &series.columns,
                        ) =>
                    {
                        Arc::clone(m)
                    }
                    _ => {
                        self.last_partial = false;
                        let meta = Arc::new(new_meta(statement_id, &series));
                        self.last_meta = Some(Arc::clone(&meta));
                        meta
                    }
                };
                let first_row = if self.last_partial { self.next_row } else { 0 };
                let n = series.values.rows;
                self.next_row = first_row + n as u64;
                self.last_partial = series.partial;
                self.rows_hint = self.rows_hint.max(n).min(1 << 16);
                self.queue.push_back(Event::Row(SeriesRows::from_flat(
                    meta,
                    series.values,
                    Arc::clone(text),
                    first_row,
                    series.partial,
                )));
            }
            for m in result.messages {
                self.queue.push_back(Event::Other(Chunk::Message {
                    statement_id,
                    level: m.level.map(Cow::into_owned).unwrap_or_default(),
                    text: m.text.map(Cow::into_owned).unwrap_or_default(),
                }));
            }
            if let Some(message) = result.error {
                self.queue.push_back(Event::Other(Chunk::StatementError {
                    statement_id,
                    message: message.into_owned(),
                }));
            } else if !result.partial {
                self.queue
                    .push_back(Event::Other(Chunk::StatementEnd { statement_id }));
            }
        }
    }
}

/// Cuts the buffered bytes into documents.
#[derive(Debug, Default)]
struct Splitter {
    buf: Vec<u8>,
    /// Start of the first unconsumed byte (the current document).
    start: usize,
    /// `buf[start..scan]` was searched already.
    scan: usize,
    finished: bool,
    /// Skipping an oversized document up to the next `\n`.
    discarding: bool,
}

impl Splitter {
    fn feed(&mut self, bytes: &[u8]) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            self.scan = 0;
        } else if self.start > 0 && self.start >= self.buf.len() - self.start {
            // Amortized: at most as many bytes moved as were consumed.
            self.buf.copy_within(self.start.., 0);
            self.buf.truncate(self.buf.len() - self.start);
            self.scan -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next document's bytes in `buf`, and whether they are the
    /// unterminated tail of the body.
    fn next_doc(
        &mut self,
        max: Option<usize>,
    ) -> Option<Result<(Range<usize>, bool), DecodeError>> {
        let too_long = |max| DecodeError::new(format!("document longer than {max} bytes"));
        loop {
            let len = self.buf.len();
            let newline = memchr::memchr(b'\n', &self.buf[self.scan..]).map(|off| self.scan + off);
            let range = match newline {
                Some(end) => self.start..end,
                None if self.finished && !self.discarding => self.start..len,
                None => {
                    self.scan = len;
                    let over = max.filter(|&m| !self.discarding && len - self.start > m);
                    if self.discarding || over.is_some() {
                        self.discarding = true;
                        self.start = len;
                    }
                    return over.map(|m| Err(too_long(m)));
                }
            };
            self.start = newline.map_or(len, |end| end + 1);
            self.scan = self.start;
            if std::mem::take(&mut self.discarding) || is_blank(&self.buf[range.clone()]) {
                // A blank or skipped tail: nothing more until more bytes.
                newline?;
                continue;
            }
            if let Some(max) = max.filter(|&m| range.len() > m) {
                return Some(Err(too_long(max)));
            }
            return Some(Ok((range, newline.is_none())));
        }
    }

    /// The bytes of the document `range` (from [`Splitter::next_doc`]) in a
    /// vector of their own, copying the lesser: the document, or what
    /// follows it. A document the buffer starts with and mostly holds (a
    /// long one, fed in many pieces) is not copied: the buffer is handed
    /// over and the rest moves to `spare`, the new buffer.
    fn take_doc(&mut self, range: Range<usize>, mut spare: Vec<u8>) -> Vec<u8> {
        spare.clear();
        if range.start > 0 || range.len() < self.buf.len() - self.start {
            spare.extend_from_slice(self.buf.get(range).unwrap_or_default());
            return spare;
        }
        spare.extend_from_slice(self.buf.get(self.start..).unwrap_or_default());
        let mut doc = std::mem::replace(&mut self.buf, spare);
        doc.truncate(range.end);
        self.scan -= self.start;
        self.start = 0;
        doc
    }
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}
