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
//! Indented documents (`pretty=true`, which the client never asks for) are
//! still understood: when a line is a cut-short document, the decoder
//! switches to following brackets and quotes until the value closes.
//!
//! The buffer holds the unread part of what was fed: with `next_event` (or
//! `next_chunk`) drained after each `feed`, memory stays bounded by the
//! largest document, whatever the body size.

use std::any::Any;
use std::collections::VecDeque;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::de;
use super::row::{SeriesChunk, SeriesMeta, SeriesRows};
use super::scan::{self, RowCells, TypedRows};
use super::wire::{self, Settings, WireDoc, WireSeries};
use super::{DecodeError, Row, TimeFormat, Value};

/// Options of a [`Decoder`], fixed for one response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// How the `time` column arrives (must match the `epoch` parameter of the
    /// request). Default: `TimeFormat::EpochNs`.
    pub time_format: TimeFormat,
    /// Largest document accepted, in bytes; a longer one is reported as an
    /// error and skipped up to the next `\n`. Default: `None` (no limit;
    /// a non-chunked response is one document holding the whole result).
    pub max_document_bytes: Option<usize>,
    /// The body answers a `chunked=true` request: one that ends while its
    /// last chunk said a statement goes on (`"partial": true`) was cut
    /// short, which the decoder then reports. Off by default: a
    /// non-chunked answer cut by `max-row-limit` also says `partial`, and
    /// is whole. Default: `false`.
    pub chunked: bool,
}

impl DecodeOptions {
    /// The default options: epoch nanoseconds, no document size limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets how the `time` column arrives. Default: `TimeFormat::EpochNs`.
    #[must_use = "options are passed by value"]
    pub fn time_format(mut self, time_format: TimeFormat) -> Self {
        self.time_format = time_format;
        self
    }

    /// Sets the largest document accepted, in bytes. Default: `None`.
    #[must_use = "options are passed by value"]
    pub fn max_document_bytes(mut self, max: Option<usize>) -> Self {
        self.max_document_bytes = max;
        self
    }

    /// Says whether the body answers a `chunked=true` request, so that one
    /// cut short after a partial chunk is an error. Default: `false`.
    #[must_use = "options are passed by value"]
    pub fn chunked(mut self, chunked: bool) -> Self {
        self.chunked = chunked;
        self
    }
}

/// What a response says, one row at a time: from [`Decoder::next_event`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// One row of a series.
    Row(Row),
    /// A statement failed on the server (HTTP status still 200). Can follow
    /// rows of the same statement when a chunked query is killed mid-stream
    /// (timeout, `max-select-point`, `KILL QUERY`). No `StatementEnd` follows.
    /// influxd runs no statement after a failing one: each later statement
    /// comes as an error `not executed` (numbered here after the failed one;
    /// influxd 1.6 repeats the failed one's id).
    StatementError {
        /// The failing statement (0-based).
        statement_id: u64,
        /// The server's message, e.g. `database not found: nosuchdb`.
        message: String,
    },
    /// A statement finished without error: all its rows have been given.
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

/// What [`Decoder::next_event_as`] yields: a row mapped onto `T`, or any
/// other [`Event`] (never [`Event::Row`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventAs<T> {
    /// One row of a series, as a `T`.
    Row(T),
    /// A statement end, error or message, or a query error.
    Other(Event),
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
/// document.
///
/// # Examples
///
/// ```
/// use influx_stream::__private::{Decoder, DecodeOptions, Event};
/// use influx_stream::Value;
///
/// let body = b"{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"cpu\",\
///     \"columns\":[\"time\",\"usage\"],\"values\":[[1704067200000000000,2]]}]}]}\n";
/// let mut decoder = Decoder::new(DecodeOptions::new());
/// let mut rows = Vec::new();
/// for part in body.chunks(7) {
///     decoder.feed(part);
///     while let Some(event) = decoder.next_event() {
///         if let Event::Row(row) = event? {
///             rows.push(row);
///         }
///     }
/// }
/// decoder.finish();
/// assert!(decoder.next_event().is_none());
/// assert_eq!(rows[0].time(), Some(1_704_067_200_000_000_000));
/// // A float field whose value is whole arrives as an integer: read with as_f64.
/// assert_eq!(rows[0].get("usage").and_then(Value::as_f64), Some(2.0));
/// # Ok::<(), influx_stream::query::DecodeError>(())
/// ```
#[derive(Debug)]
pub struct Decoder {
    options: DecodeOptions,
    splitter: Splitter,
    state: State,
    /// Rows of the series chunk being handed out by `next_event`, and
    /// whether that chunk was partial.
    rows: Option<(SeriesRows, bool)>,
    /// Documents are parsed for [`Decoder::next_event_as`]: strings kept
    /// on the heap ([`Settings::heap_strings`]) when the serde path parses.
    typed: bool,
    /// Rows already mapped by [`Decoder::next_event_as`], of the documents
    /// parsed so far: a `VecDeque<Result<T, DecodeError>>`.
    mapped: Option<Box<dyn MappedRows>>,
    /// The series whose mapped rows are being handed out.
    mapped_series: Option<MappedSeries>,
}

/// A queued element: a [`Chunk`], series kept in the flat form or already
/// mapped.
#[derive(Debug)]
enum Item {
    Series {
        rows: SeriesRows,
        partial: bool,
    },
    /// `rows` rows waiting in [`Decoder::mapped`].
    Mapped(MappedSeries),
    Other(Chunk),
}

/// Mapped rows of one series chunk.
#[derive(Debug)]
struct MappedSeries {
    meta: Arc<SeriesMeta>,
    rows: usize,
    next_row: u64,
}

/// The queue of rows mapped onto some `T`, its type erased so that the
/// decoder need not be generic.
trait MappedRows: Send {
    fn is_empty(&self) -> bool;
    /// Drops the first `n` rows.
    fn discard(&mut self, n: usize);
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Send + 'static> MappedRows for VecDeque<Result<T, DecodeError>> {
    fn is_empty(&self) -> bool {
        VecDeque::is_empty(self)
    }

    fn discard(&mut self, n: usize) {
        self.drain(..n.min(self.len()));
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

impl fmt::Debug for dyn MappedRows {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MappedRows")
    }
}

/// What survives from one document to the next.
#[derive(Debug)]
struct State {
    queue: VecDeque<Item>,
    last_meta: Option<Arc<SeriesMeta>>,
    /// The last series chunk was `partial`: the next may continue it.
    last_partial: bool,
    /// Index of the next row of the last series.
    next_row: u64,
    /// Documents parsed so far (for error messages).
    documents: u64,
    rows_hint: usize,
    /// An emptied values vector of a finished series, reused for the next
    /// document (a fresh one costs page faults on every use).
    spare: Vec<Value>,
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
                spare: Vec::new(),
                open_statement: None,
                last_statement: None,
            },
            rows: None,
            typed: false,
            mapped: None,
            mapped_series: None,
        }
    }

    /// The options this decoder was built with.
    pub fn options(&self) -> &DecodeOptions {
        &self.options
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
            && self.rows.as_ref().map_or(true, |(r, _)| r.len() == 0)
            && self.mapped_series.as_ref().map_or(true, |m| m.rows == 0)
            && !(self.options.chunked && self.state.open_statement.is_some())
    }

    /// The rows of the series chunk `next_event` is handing out, not yet
    /// handed out.
    pub(crate) fn current_rows(&self) -> Option<&SeriesRows> {
        self.rows.as_ref().map(|(rows, _)| rows)
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
        self.typed = false;
        if let Some(e) = self.skip_mapped_series() {
            return Some(Err(e));
        }
        loop {
            if let Some((rows, _)) = &mut self.rows {
                if let Some(row) = rows.next() {
                    return Some(Ok(Event::Row(row)));
                }
                if let Some((rows, _)) = self.rows.take() {
                    rows.recycle(&mut self.state.spare);
                }
            }
            let chunk = match self.pull(&mut Flat) {
                Some(Ok(Item::Series { rows, partial })) => {
                    self.rows = Some((rows, partial));
                    continue;
                }
                Some(Ok(Item::Mapped(series))) => return Some(Err(self.skip_mapped(series))),
                Some(Ok(Item::Other(chunk))) => chunk,
                Some(Err(e)) => return Some(Err(e)),
                None => return None,
            };
            return Some(Ok(match other_event(chunk) {
                Ok(event) => event,
                Err(series) => {
                    self.rows = Some((series.rows(), false));
                    continue;
                }
            }));
        }
    }

    /// Like [`Decoder::next_event`], but each row is given to `f` as
    /// `(meta, values, index)` instead of being built into a [`Row`]: the
    /// path of [`FromRow`](super::FromRow) types.
    ///
    /// `heap_strings`: strings are parsed onto the heap, so that moving one
    /// into a `String` costs no copy (for types that read strings; the others
    /// are better served by inline strings, which cost no allocation).
    pub(crate) fn next_event_with<R>(
        &mut self,
        heap_strings: bool,
        f: &mut impl FnMut(&Arc<SeriesMeta>, &mut [Value], u64) -> R,
    ) -> Option<Result<EventAs<R>, DecodeError>> {
        self.typed = heap_strings;
        if let Some(e) = self.skip_mapped_series() {
            return Some(Err(e));
        }
        loop {
            if let Some((rows, _)) = &mut self.rows {
                if let Some(out) = rows.next_with(f) {
                    return Some(Ok(EventAs::Row(out)));
                }
                if let Some((rows, _)) = self.rows.take() {
                    rows.recycle(&mut self.state.spare);
                }
            }
            let chunk = match self.pull(&mut Flat) {
                Some(Ok(Item::Series { rows, partial })) => {
                    self.rows = Some((rows, partial));
                    continue;
                }
                Some(Ok(Item::Mapped(series))) => return Some(Err(self.skip_mapped(series))),
                Some(Ok(Item::Other(chunk))) => chunk,
                Some(Err(e)) => return Some(Err(e)),
                None => return None,
            };
            return Some(Ok(match other_event(chunk) {
                Ok(event) => EventAs::Other(event),
                Err(series) => {
                    self.rows = Some((series.rows(), false));
                    continue;
                }
            }));
        }
    }

    /// Drops the mapped rows left of the current series (the caller went
    /// from [`Decoder::next_event_as`] to another way of reading), saying
    /// so.
    fn skip_mapped_series(&mut self) -> Option<DecodeError> {
        let series = self.mapped_series.take()?;
        (series.rows > 0).then(|| self.skip_mapped(series))
    }

    /// Drops the rows of a mapped series, with the error that says so.
    fn skip_mapped(&mut self, series: MappedSeries) -> DecodeError {
        if let Some(mapped) = &mut self.mapped {
            mapped.discard(series.rows);
        }
        let e = DecodeError::new(format!(
            "{} rows skipped: they were mapped onto another type by next_event_as",
            series.rows
        ));
        de::row_error(e, &series.meta, series.next_row)
    }
}

/// The event of a chunk, unless it is a series.
fn other_event(chunk: Chunk) -> Result<Event, SeriesChunk> {
    Ok(match chunk {
        Chunk::Series(series) => return Err(series),
        Chunk::StatementError {
            statement_id,
            message,
        } => Event::StatementError {
            statement_id,
            message,
        },
        Chunk::StatementEnd { statement_id } => Event::StatementEnd { statement_id },
        Chunk::Message {
            statement_id,
            level,
            text,
        } => Event::Message {
            statement_id,
            level,
            text,
        },
        Chunk::QueryError { message } => Event::QueryError { message },
    })
}

impl Decoder {
    /// Like [`Decoder::next_event`], but each row comes mapped onto `T` by
    /// name, as [`Row::into_deserialize`] would map it, without building the
    /// [`Row`]: the path of [`Client::query_as`](crate::Client::query_as).
    ///
    /// Rows are mapped while the document holding them is scanned, straight
    /// from its bytes (no [`Value`] in between), and wait in the decoder
    /// until asked for. So switching within a document to `next_event`,
    /// `next_chunk` or another `T` cannot give the rows already mapped:
    /// they are skipped, and one `Err` says how many.
    ///
    /// # Errors
    ///
    /// As [`Decoder::next_event`], and a row that does not fit `T` (as
    /// [`Row::into_deserialize`]); decoding goes on with the next row.
    ///
    /// # Examples
    ///
    /// ```
    /// use influx_stream::__private::{Decoder, DecodeOptions, EventAs};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Cpu { time: i64, usage: f64 }
    ///
    /// let mut decoder = Decoder::new(DecodeOptions::new());
    /// decoder.feed(b"{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"cpu\",\
    ///     \"columns\":[\"time\",\"usage\"],\"values\":[[1,2],[3,4.5]]}]}]}\n");
    /// decoder.finish();
    /// let mut usage = Vec::new();
    /// while let Some(event) = decoder.next_event_as::<Cpu>() {
    ///     if let EventAs::Row(cpu) = event? {
    ///         usage.push(cpu.usage);
    ///     }
    /// }
    /// assert_eq!(usage, [2.0, 4.5]);
    /// # Ok::<(), influx_stream::query::DecodeError>(())
    /// ```
    pub fn next_event_as<T: DeserializeOwned + Send + 'static>(
        &mut self,
    ) -> Option<Result<EventAs<T>, DecodeError>> {
        self.typed = true;
        loop {
            // Rows of a document the scanner left to serde.
            if let Some((rows, _)) = &mut self.rows {
                if let Some(row) = rows.next_as::<T>() {
                    return Some(row.map(EventAs::Row));
                }
                if let Some((rows, _)) = self.rows.take() {
                    rows.recycle(&mut self.state.spare);
                }
            }
            if let Some(series) = &mut self.mapped_series {
                if series.rows > 0 {
                    let Some(queue) = self.mapped.as_mut().and_then(mapped_queue::<T>) else {
                        // Mapped onto another type by an earlier call.
                        return self.skip_mapped_series().map(Err);
                    };
                    series.rows -= 1;
                    let index = series.next_row;
                    series.next_row += 1;
                    return Some(match queue.pop_front() {
                        Some(Ok(row)) => Ok(EventAs::Row(row)),
                        Some(Err(e)) => Err(de::row_error(e, &series.meta, index)),
                        None => Err(DecodeError::new("mapped row missing")),
                    });
                }
                self.mapped_series = None;
            }
            let mut mapped = self.mapped.take().filter(|q| {
                // A queue of another type is replaced once its rows are
                // skipped (with an error, see `skip_mapped`).
                !q.is_empty() || q.as_any().is::<VecDeque<Result<T, DecodeError>>>()
            });
            let queue =
                mapped.get_or_insert_with(|| Box::new(VecDeque::<Result<T, DecodeError>>::new()));
            let item = match mapped_queue::<T>(queue) {
                Some(queue) => self.pull(&mut Mapped(queue)),
                None => self.pull(&mut Flat),
            };
            self.mapped = mapped;
            let chunk = match item? {
                Ok(Item::Series { rows, partial }) => {
                    self.rows = Some((rows, partial));
                    continue;
                }
                Ok(Item::Mapped(series)) => {
                    self.mapped_series = Some(series);
                    continue;
                }
                Ok(Item::Other(chunk)) => chunk,
                Err(e) => return Some(Err(e)),
            };
            return Some(Ok(match other_event(chunk) {
                Ok(event) => EventAs::Other(event),
                Err(series) => {
                    self.rows = Some((series.rows(), false));
                    continue;
                }
            }));
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
        self.typed = false;
        if let Some(e) = self.skip_mapped_series() {
            return Some(Err(e));
        }
        if let Some((rows, partial)) = self.rows.take() {
            if rows.len() > 0 {
                let chunk = rows.into_chunk(partial, &mut self.state.spare);
                return Some(Ok(Chunk::Series(chunk)));
            }
            rows.recycle(&mut self.state.spare);
        }
        Some(match self.pull(&mut Flat)? {
            Ok(Item::Series { rows, partial }) => Ok(Chunk::Series(
                rows.into_chunk(partial, &mut self.state.spare),
            )),
            Ok(Item::Mapped(series)) => Err(self.skip_mapped(series)),
            Ok(Item::Other(chunk)) => Ok(chunk),
            Err(e) => Err(e),
        })
    }

    /// Like [`Decoder::next_chunk`], but a series chunk comes as the rows
    /// the decoder parsed, in one vector: no vector per row (the path of
    /// `query_arrow`).
    #[cfg_attr(not(feature = "arrow"), allow(dead_code))]
    pub(crate) fn next_series(&mut self) -> Option<Result<EventAs<SeriesRows>, DecodeError>> {
        self.typed = false;
        if let Some(e) = self.skip_mapped_series() {
            return Some(Err(e));
        }
        if let Some((rows, _)) = self.rows.take() {
            if rows.len() > 0 {
                return Some(Ok(EventAs::Row(rows)));
            }
            rows.recycle(&mut self.state.spare);
        }
        Some(match self.pull(&mut Flat)? {
            Ok(Item::Series { rows, .. }) => Ok(EventAs::Row(rows)),
            Ok(Item::Mapped(series)) => Err(self.skip_mapped(series)),
            Ok(Item::Other(chunk)) => Ok(match other_event(chunk) {
                Ok(event) => EventAs::Other(event),
                Err(series) => EventAs::Row(series.rows()),
            }),
            Err(e) => Err(e),
        })
    }

    /// The next queued chunk, parsing documents with `parser` as needed.
    fn pull(&mut self, parser: &mut impl ParseDoc) -> Option<Result<Item, DecodeError>> {
        loop {
            if let Some(chunk) = self.state.queue.pop_front() {
                return Some(Ok(chunk));
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
            let bytes = &self.splitter.buf[doc.range.clone()];
            let settings = Settings {
                time_mult: self.options.time_format.nanos_per_unit(),
                rows_hint: self.state.rows_hint,
                heap_strings: self.typed,
            };
            match parser.parse(bytes, settings, &mut self.state) {
                Ok(parsed) => self.state.push_doc(parsed),
                Err(e) if e.is_eof() && !doc.multi_line && !doc.last => {
                    // A line that is only the start of a document: indented
                    // JSON. Follow brackets from the line's start instead.
                    self.state.documents -= 1;
                    self.splitter.rewind_multi_line(doc.range.start);
                }
                Err(e) => {
                    let what = if e.is_eof() {
                        format!(
                            "document {} cut short at the end of the body",
                            self.state.documents
                        )
                    } else {
                        format!("invalid document {}", self.state.documents)
                    };
                    return Some(Err(DecodeError::json(what, e)));
                }
            }
        }
    }
}

/// How [`Decoder::pull`] parses a document.
trait ParseDoc {
    fn parse<'b>(
        &mut self,
        bytes: &'b [u8],
        settings: Settings,
        state: &mut State,
    ) -> Result<WireDoc<'b>, serde_json::Error>;
}

/// Rows into [`Value`]s.
struct Flat;

impl ParseDoc for Flat {
    fn parse<'b>(
        &mut self,
        bytes: &'b [u8],
        settings: Settings,
        state: &mut State,
    ) -> Result<WireDoc<'b>, serde_json::Error> {
        wire::parse_doc(bytes, settings, &mut state.spare)
    }
}

/// Rows mapped onto `T` as they are scanned, into the queue; documents
/// the scanner leaves to serde are parsed into [`Value`]s.
struct Mapped<'q, T>(&'q mut VecDeque<Result<T, DecodeError>>);

impl<T: DeserializeOwned + Send + 'static> ParseDoc for Mapped<'_, T> {
    fn parse<'b>(
        &mut self,
        bytes: &'b [u8],
        settings: Settings,
        state: &mut State,
    ) -> Result<WireDoc<'b>, serde_json::Error> {
        if let Ok(text) = std::str::from_utf8(bytes) {
            let queue = &mut *self.0;
            let before = queue.len();
            let mut sink = MapRows {
                queue: &mut *queue,
                last_meta: state.last_meta.clone(),
                rows: 0,
            };
            if let Some(doc) = scan::doc_typed(text, settings, &mut sink) {
                return Ok(doc);
            }
            queue.truncate(before);
        }
        wire::parse_doc_serde(bytes, settings)
    }
}

/// The queue of rows mapped onto `T`, when that is the type of the queue.
fn mapped_queue<T: Send + 'static>(
    mapped: &mut Box<dyn MappedRows>,
) -> Option<&mut VecDeque<Result<T, DecodeError>>> {
    mapped.as_any_mut().downcast_mut()
}

/// Maps rows onto `T` for [`scan::doc_typed`].
struct MapRows<'q, T> {
    queue: &'q mut VecDeque<Result<T, DecodeError>>,
    /// The series of the previous series chunk, kept when the next one is
    /// the same series.
    last_meta: Option<Arc<SeriesMeta>>,
    /// Rows of the current series.
    rows: usize,
}

impl<'a, T: DeserializeOwned> TypedRows<'a> for MapRows<'_, T> {
    fn begin(&mut self, statement_id: Option<u64>, series: &WireSeries<'a>) -> Option<()> {
        let statement_id = statement_id?;
        let same = self.last_meta.as_ref().is_some_and(|m| {
            m.same_as(
                statement_id,
                series.name.as_ref(),
                &series.tags,
                &series.columns,
            )
        });
        if !same {
            self.last_meta = Some(Arc::new(new_meta(statement_id, series)));
        }
        self.rows = 0;
        Some(())
    }

    #[inline]
    fn row(&mut self, cells: &mut RowCells<'_, 'a>) {
        if let Some(meta) = &self.last_meta {
            self.queue.push_back(de::from_cells(meta, cells));
            self.rows += 1;
        }
    }

    fn end(&mut self, series: &mut WireSeries<'a>) {
        if let Some(meta) = &self.last_meta {
            series.typed = Some((Arc::clone(meta), self.rows));
        }
    }
}

/// The [`SeriesMeta`] of a series as sent.
fn new_meta(statement_id: u64, series: &WireSeries<'_>) -> SeriesMeta {
    SeriesMeta::new(
        statement_id,
        series.name.as_ref().map(|n| n.as_str().to_owned()),
        series
            .tags
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.as_str().to_owned()))
            .collect(),
        series
            .columns
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
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

    fn push_doc(&mut self, doc: WireDoc<'_>) {
        if let Some(message) = doc.error {
            self.open_statement = None;
            self.queue.push_back(Item::Other(Chunk::QueryError {
                message: message.into_owned(),
            }));
        }
        for result in doc.results {
            let mut statement_id = result.statement_id;
            // influxd 1.6 stops at the first failing statement and answers
            // each later one "not executed" under the failed one's id:
            // numbered after it instead, they say which statement it was.
            let not_executed = result
                .error
                .as_ref()
                .is_some_and(|m| m.as_str() == "not executed");
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
                if let Some((meta, rows)) = series.typed {
                    if !self
                        .last_meta
                        .as_ref()
                        .is_some_and(|m| Arc::ptr_eq(m, &meta))
                    {
                        self.last_partial = false;
                        self.last_meta = Some(Arc::clone(&meta));
                    }
                    let next_row = if self.last_partial { self.next_row } else { 0 };
                    self.next_row = next_row + rows as u64;
                    self.last_partial = series.partial;
                    self.queue.push_back(Item::Mapped(MappedSeries {
                        meta,
                        rows,
                        next_row,
                    }));
                    continue;
                }
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
                self.queue.push_back(Item::Series {
                    rows: SeriesRows::from_flat(meta, series.values, first_row),
                    partial: series.partial,
                });
            }
            for m in result.messages {
                self.queue.push_back(Item::Other(Chunk::Message {
                    statement_id,
                    level: m.level.map(wire::Str::into_owned).unwrap_or_default(),
                    text: m.text.map(wire::Str::into_owned).unwrap_or_default(),
                }));
            }
            if let Some(message) = result.error {
                self.queue.push_back(Item::Other(Chunk::StatementError {
                    statement_id,
                    message: message.into_owned(),
                }));
            } else if !result.partial {
                self.queue
                    .push_back(Item::Other(Chunk::StatementEnd { statement_id }));
            }
        }
    }
}

/// A document found in the buffer.
struct Doc {
    range: Range<usize>,
    /// Found by following brackets (indented JSON).
    multi_line: bool,
    /// The unterminated tail at the end of the body.
    last: bool,
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
    /// Following brackets for an indented document.
    multi_line: Option<Brackets>,
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

    fn rewind_multi_line(&mut self, start: usize) {
        self.start = start;
        self.scan = start;
        self.multi_line = Some(Brackets::default());
    }

    fn next_doc(&mut self, max: Option<usize>) -> Option<Result<Doc, DecodeError>> {
        loop {
            let len = self.buf.len();
            if self.discarding {
                match memchr::memchr(b'\n', &self.buf[self.scan..]) {
                    Some(off) => {
                        self.discarding = false;
                        self.start = self.scan + off + 1;
                        self.scan = self.start;
                        continue;
                    }
                    None => {
                        self.start = len;
                        self.scan = len;
                        return None;
                    }
                }
            }
            let found = match &mut self.multi_line {
                Some(brackets) => brackets.find_end(&self.buf[self.scan..]).map(|off| {
                    self.multi_line = None;
                    (self.scan + off + 1, self.scan + off + 1, true)
                }),
                None => memchr::memchr(b'\n', &self.buf[self.scan..])
                    .map(|off| (self.scan + off, self.scan + off + 1, false)),
            };
            let (end, next, multi_line) = match found {
                Some(f) => f,
                None => {
                    self.scan = len;
                    if self.finished {
                        if self.start == len {
                            return None;
                        }
                        let range = self.start..len;
                        self.start = len;
                        if is_blank(&self.buf[range.clone()]) {
                            return None;
                        }
                        let multi_line = self.multi_line.take().is_some();
                        return Some(Ok(Doc {
                            range,
                            multi_line,
                            last: true,
                        }));
                    }
                    if let Some(max) = max {
                        if len - self.start > max {
                            self.discarding = self.multi_line.take().is_none();
                            self.start = len;
                            return Some(Err(DecodeError::new(format!(
                                "document longer than {max} bytes"
                            ))));
                        }
                    }
                    return None;
                }
            };
            let range = self.start..end;
            self.start = next;
            self.scan = next;
            if is_blank(&self.buf[range.clone()]) {
                continue;
            }
            if let Some(max) = max {
                if range.len() > max {
                    return Some(Err(DecodeError::new(format!(
                        "document longer than {max} bytes"
                    ))));
                }
            }
            return Some(Ok(Doc {
                range,
                multi_line,
                last: false,
            }));
        }
    }
}

/// Follows JSON brackets and strings to find where a value ends.
#[derive(Debug, Default)]
struct Brackets {
    depth: u32,
    opened: bool,
    in_string: bool,
    escaped: bool,
}

impl Brackets {
    /// The offset of the byte closing the outermost bracket, if in `bytes`.
    fn find_end(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &b) in bytes.iter().enumerate() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    self.depth += 1;
                    self.opened = true;
                }
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 && self.opened {
                        return Some(i);
                    }
                }
                _ => {}
            }
        }
        None
    }
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(d: &mut Decoder) -> Vec<Result<Event, String>> {
        std::iter::from_fn(|| d.next_event())
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn tail_without_newline_and_blank_lines() {
        let mut d = Decoder::default();
        d.feed(
            b"\n \r\n{\"results\":[{\"statement_id\":0}]}\n\n{\"results\":[{\"statement_id\":1}]}",
        );
        assert_eq!(
            drain(&mut d),
            vec![Ok(Event::StatementEnd { statement_id: 0 })]
        );
        assert!(!d.is_done());
        d.finish();
        assert_eq!(
            drain(&mut d),
            vec![Ok(Event::StatementEnd { statement_id: 1 })]
        );
        assert!(d.is_done());
        d.finish();
        assert!(d.next_event().is_none());
    }

    #[test]
    fn a_body_that_ends_while_a_statement_is_partial_is_an_error() {
        let partial = "{\"results\":[{\"statement_id\":3,\"series\":[{\"name\":\"m\",\
            \"columns\":[\"time\",\"v\"],\"values\":[[1,2]],\"partial\":true}],\"partial\":true}]}\n";
        let mut d = Decoder::new(DecodeOptions::new().chunked(true));
        d.feed(partial.as_bytes());
        d.finish();
        let out = drain(&mut d);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(matches!(out[0], Ok(Event::Row(_))), "{out:?}");
        assert!(
            out[1]
                .as_ref()
                .unwrap_err()
                .starts_with("the response ended in the middle of statement 3"),
            "{out:?}"
        );
        assert!(d.next_event().is_none(), "the error comes once");

        // The same statement's end clears it; typed and chunk readers too.
        let end = "{\"results\":[{\"statement_id\":3,\"series\":[{\"name\":\"m\",\
            \"columns\":[\"time\",\"v\"],\"values\":[[3,4]]}]}]}\n";
        let mut d = Decoder::new(DecodeOptions::new().chunked(true));
        d.feed(partial.as_bytes());
        d.feed(end.as_bytes());
        d.finish();
        let out = drain(&mut d);
        assert!(out.iter().all(Result::is_ok), "{out:?}");
        let mut d = Decoder::new(DecodeOptions::new().chunked(true));
        d.feed(partial.as_bytes());
        d.finish();
        let mut errors = 0;
        while let Some(c) = d.next_chunk() {
            errors += usize::from(c.is_err());
        }
        assert_eq!(errors, 1);
        #[derive(serde::Deserialize, Debug)]
        struct M {
            #[allow(dead_code)]
            v: f64,
        }
        let mut d = Decoder::new(DecodeOptions::new().chunked(true));
        d.feed(partial.as_bytes());
        d.finish();
        let out: Vec<_> = std::iter::from_fn(|| d.next_event_as::<M>()).collect();
        assert!(matches!(out[..], [Ok(EventAs::Row(_)), Err(_)]), "{out:?}");

        // Without `chunked`, a partial result at the end is whole: influxd
        // marks a non-chunked answer cut by `max-row-limit` so.
        let mut d = Decoder::default();
        d.feed(partial.as_bytes());
        d.finish();
        assert!(drain(&mut d).iter().all(Result::is_ok));
        // An empty body (a query of no statements) is no error.
        let mut d = Decoder::new(DecodeOptions::new().chunked(true));
        d.feed(b"\n\n");
        d.finish();
        assert_eq!(drain(&mut d), vec![]);
        assert!(d.is_done());
    }

    #[test]
    fn garbage_then_recovery() {
        let mut d = Decoder::default();
        d.feed(b"nonsense\n{\"error\":\"boom\"}\n{\"results\":[{\"statement_id\":");
        d.finish();
        let out = drain(&mut d);
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(out[0]
            .as_ref()
            .unwrap_err()
            .starts_with("invalid document 1"));
        assert_eq!(
            out[1],
            Ok(Event::QueryError {
                message: "boom".into()
            })
        );
        assert!(
            out[2]
                .as_ref()
                .unwrap_err()
                .starts_with("document 3 cut short"),
            "{out:?}"
        );
    }

    #[test]
    fn size_limit() {
        let mut d = Decoder::new(DecodeOptions::new().max_document_bytes(Some(40)));
        d.feed(b"{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":");
        let e = d.next_event().unwrap().unwrap_err();
        assert_eq!(e.to_string(), "document longer than 40 bytes");
        assert_eq!(d.buffered_len(), 0);
        d.feed(b"\"x\"}]}]}\n{\"results\":[{\"statement_id\":7}]}\n");
        assert_eq!(
            drain(&mut d),
            vec![Ok(Event::StatementEnd { statement_id: 7 })]
        );
        d.feed(&[b'x'; 50]);
        d.feed(b"\n");
        let e = d.next_event().unwrap().unwrap_err();
        assert_eq!(e.to_string(), "document longer than 40 bytes");
    }

    #[test]
    fn indented_documents() {
        let doc = "{\n  \"results\": [\n    {\n      \"statement_id\": 0,\n      \"series\": [{\"name\":\"a\\\"}]\\n\",\"columns\":[\"x\"],\"values\":[[1]]}]\n    }\n  ]\n}\n";
        let body = format!("{doc}{doc}");
        let mut d = Decoder::default();
        d.feed(body.as_bytes());
        d.finish();
        let out = drain(&mut d);
        assert_eq!(out.len(), 4, "{out:?}");
        let Ok(Event::Row(row)) = &out[2] else {
            panic!("{out:?}")
        };
        assert_eq!(row.series_name(), Some("a\"}]\n"));
        assert_eq!(row.values(), &[Value::Integer(1)]);
    }

    #[test]
    fn meta_reuse_and_row_index() {
        let doc = |vals: &str, partial: bool| {
            format!(
                "{{\"results\":[{{\"statement_id\":0,\"series\":[{{\"name\":\"m\",\"tags\":{{\"h\":\"a\"}},\"columns\":[\"time\",\"v\"],\"values\":{vals}{}}}]{}}}]}}\n",
                if partial { ",\"partial\":true" } else { "" },
                if partial { ",\"partial\":true" } else { "" }
            )
        };
        let mut d = Decoder::default();
        d.feed(doc("[[1,1],[2,2]]", true).as_bytes());
        d.feed(doc("[[3,3]]", false).as_bytes());
        d.feed(doc("[[4,4]]", false).as_bytes());
        d.finish();
        let out = drain(&mut d);
        let rows: Vec<&Row> = out
            .iter()
            .filter_map(|e| match e {
                Ok(Event::Row(r)) => Some(r),
                _ => None,
            })
            .collect();
        assert_eq!(rows.len(), 4);
        assert!(rows
            .windows(2)
            .all(|w| Arc::ptr_eq(w[0].meta(), w[1].meta())));
        let idx: Vec<u64> = rows.iter().map(|r| r.index()).collect();
        assert_eq!(idx, [0, 1, 2, 0]);
        assert_eq!(rows[2].time(), Some(3));
        assert_eq!(rows[0].tag("h"), Some("a"));
    }

    #[test]
    fn mixing_rows_and_chunks() {
        let mut d = Decoder::default();
        d.feed(b"{\"results\":[{\"series\":[{\"columns\":[\"a\"],\"values\":[[1],[2],[3]]}]}]}\n");
        let Some(Ok(Event::Row(r))) = d.next_event() else {
            panic!()
        };
        assert_eq!(r.values(), &[Value::Integer(1)]);
        let Some(Ok(Chunk::Series(c))) = d.next_chunk() else {
            panic!()
        };
        assert_eq!(c.first_row, 1);
        assert_eq!(c.values.len(), 2);
        assert_eq!(
            d.next_chunk().unwrap().unwrap(),
            Chunk::StatementEnd { statement_id: 0 }
        );
        assert!(d.next_chunk().is_none());
    }
}
