//! Streaming queries: the client asks for a chunked response and decodes
//! the body as it arrives, so memory stays bounded by the chunk size, never
//! by the size of the result.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::{self, Error, Kind};
use crate::field_types::{column_kinds, float_columns, retype_row, Known, Resolver};
use crate::influxql::{Query, QueryEndpoint, Selects};
use crate::point::Precision;
use crate::query::jsonl::JsonlDecoder;
use crate::query::{
    de, Chunk, DecodeError, DecodeOptions, Decoder, Event, FromRow, Resolved, Row, SeriesMeta,
    SeriesRows, TimeFormat, Value,
};

/// Documents larger than this are refused rather than buffered: a chunked
/// response's documents hold at most `chunk_size` rows.
const MAX_DOCUMENT_BYTES: usize = 512 * 1024 * 1024;
/// Compressed bytes inflated at a time (at most a few MB out).
#[cfg(feature = "gzip")]
const INFLATE_PIECE: usize = 4 * 1024;

pub(crate) type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>;

/// A stream of query results, made by [`Client::query`] (rows),
/// [`Client::query_as`] (your types) or [`Client::query_chunks`] (series
/// chunks as the server sent them).
///
/// A failed statement is an `Err` item naming the statement; the rows of
/// the other statements still follow. A failure of the whole query (bad
/// syntax, authentication, a broken connection) is an `Err` item that ends
/// the stream.
///
/// # Cancel safety
/// Dropping the stream stops reading: the rest of the response is not
/// downloaded, and the connection is closed rather than reused.
#[must_use = "streams do nothing unless polled"]
pub struct QueryStream<T> {
    pub(crate) inner: BoxStream<T>,
    pub(crate) bytes: Arc<AtomicU64>,
}

impl<T> QueryStream<T> {
    /// Response body bytes received so far (after decompression).
    pub fn bytes_received(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The counter behind [`bytes_received`](Self::bytes_received), shared
    /// with the blocking iterator that drives this stream from another thread.
    #[cfg_attr(not(feature = "blocking"), allow(dead_code))]
    pub(crate) fn bytes_counter(&self) -> Arc<AtomicU64> {
        self.bytes.clone()
    }
}

impl<T> fmt::Debug for QueryStream<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueryStream")
            .field("bytes_received", &self.bytes_received())
            .finish_non_exhaustive()
    }
}

impl<T> Stream for QueryStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

pub(crate) fn time_format(epoch: Precision) -> TimeFormat {
    match epoch {
        Precision::Nanoseconds => TimeFormat::EpochNs,
        Precision::Microseconds => TimeFormat::EpochUs,
        Precision::Milliseconds => TimeFormat::EpochMs,
        Precision::Seconds => TimeFormat::EpochS,
        Precision::Minutes => TimeFormat::EpochM,
        Precision::Hours => TimeFormat::EpochH,
    }
}

fn decode_error(e: DecodeError) -> Error {
    Error::new(Kind::Decode).with_message(e.to_string())
}

/// Decompresses a gzip body incrementally when the server sent one.
enum Inflate {
    Plain,
    #[cfg(feature = "gzip")]
    Gzip(Box<flate2::write::GzDecoder<Vec<u8>>>),
}

impl Inflate {
    fn new(headers: &http::HeaderMap) -> Result<Self, Error> {
        let gz = headers
            .get(http::header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        if !gz {
            return Ok(Inflate::Plain);
        }
        #[cfg(feature = "gzip")]
        {
            Ok(Inflate::Gzip(Box::new(flate2::write::GzDecoder::new(
                Vec::new(),
            ))))
        }
        #[cfg(not(feature = "gzip"))]
        {
            Err(error::decode(
                "the server sent a gzip body, but the \"gzip\" feature is off",
            ))
        }
    }

    /// How much of a frame to feed at a time: a compressed piece is small
    /// (deflate inflates up to about a thousandfold, and a frame may be
    /// large), so that the decoder hands out what it holds in between.
    fn piece_len(&self) -> usize {
        match self {
            Inflate::Plain => usize::MAX,
            #[cfg(feature = "gzip")]
            Inflate::Gzip(_) => INFLATE_PIECE,
        }
    }

    /// Feeds `data` to the decoder, decompressed if need be.
    fn feed(&mut self, data: &[u8], decoder: &mut impl Feed) -> Result<usize, Error> {
        match self {
            Inflate::Plain => {
                decoder.feed(data);
                Ok(data.len())
            }
            #[cfg(feature = "gzip")]
            Inflate::Gzip(gz) => {
                use std::io::Write;
                // `flush`: without it the inflater keeps the output of the
                // last write until the next one, and the end of a document
                // influxd has sent would wait for the next frame.
                gz.write_all(data).and_then(|()| gz.flush()).map_err(|e| {
                    error::decode("the gzip response body is corrupt").with_source(e)
                })?;
                Ok(drain_into(gz, decoder))
            }
        }
    }

    #[cfg_attr(not(feature = "gzip"), allow(unused_variables))]
    fn finish(&mut self, decoder: &mut impl Feed) -> Result<usize, Error> {
        match self {
            Inflate::Plain => Ok(0),
            #[cfg(feature = "gzip")]
            Inflate::Gzip(gz) => {
                gz.try_finish().map_err(|e| {
                    error::decode("the gzip response body is truncated").with_source(e)
                })?;
                Ok(drain_into(gz, decoder))
            }
        }
    }
}

/// What takes the body's bytes: the chunked-JSON decoder or the
/// JSON-lines one.
trait Feed {
    fn feed(&mut self, data: &[u8]);
    /// The body has ended.
    fn end(&mut self);
}

impl Feed for Decoder {
    fn feed(&mut self, data: &[u8]) {
        Decoder::feed(self, data);
    }

    fn end(&mut self) {
        self.finish();
    }
}

impl Feed for JsonlDecoder {
    fn feed(&mut self, data: &[u8]) {
        JsonlDecoder::feed(self, data);
    }

    fn end(&mut self) {
        self.finish();
    }
}

/// Hands what the gzip decoder has inflated so far to `decoder`; returns
/// its length.
#[cfg(feature = "gzip")]
fn drain_into(gz: &mut flate2::write::GzDecoder<Vec<u8>>, decoder: &mut impl Feed) -> usize {
    let out = gz.get_mut();
    decoder.feed(out);
    let n = out.len();
    out.clear();
    n
}

/// What the decoder yields, rows or chunks.
trait Pull: Sized + Send + 'static {
    /// What the stream keeps from one item to the next.
    type State: Default + Send;

    fn pull(
        decoder: &mut Decoder,
        state: &mut Self::State,
    ) -> Option<Result<Event<Self>, DecodeError>>;

    /// Whether a row of a JSON-lines answer (InfluxDB 3.x) makes an item.
    const READS_JSON_LINES: bool = true;

    /// The item a row of a JSON-lines answer makes.
    fn from_row(row: Row, state: &mut Self::State) -> Result<Self, DecodeError>;

    /// Whether the items hold [`Value`]s that the field types retype
    /// (typed rows decide by their fields' types instead).
    const RETYPES: bool = false;

    /// The series whose values the field types retype, for items that
    /// hold [`Value`]s.
    fn series(&self) -> Option<&Arc<SeriesMeta>> {
        None
    }

    /// The rows of the series' first chunk that this item and the decoder
    /// still hold, when this item is the series' first.
    fn first_rows<'a>(&'a self, _decoder: &'a Decoder) -> Vec<&'a [Value]> {
        Vec::new()
    }

    /// Makes the whole numbers of the columns `floats` floats.
    fn retype(&mut self, _floats: &[usize]) {}
}

/// Float fields as floats (see [`Client::query`]): per stream, the float
/// columns of the series being handed out.
struct Typing {
    resolver: Resolver,
    selects: Selects,
    /// The series of the last item and its float columns.
    current: Option<(Arc<SeriesMeta>, Vec<usize>)>,
}

impl Typing {
    /// `None` when the query keeps the JSON's types.
    fn new(client: &Client, query: &Query) -> Option<Typing> {
        query
            .field_types
            .unwrap_or(client.field_types_default())
            .then(|| Typing {
                resolver: Resolver::new(client, query),
                selects: Selects::of(&query.text),
                current: None,
            })
    }

    /// The series of `item` when it is not the one the float columns are
    /// known for.
    #[inline]
    fn changed<T: Pull>(&self, item: &T) -> Option<Arc<SeriesMeta>> {
        let meta = item.series()?;
        match &self.current {
            Some((m, _)) if Arc::ptr_eq(m, meta) => None,
            _ => Some(Arc::clone(meta)),
        }
    }

    /// What the server declared for the series `meta`, if its statement
    /// reads fields.
    async fn known(&mut self, meta: &SeriesMeta) -> Result<Option<Arc<Known>>, Error> {
        if self.selects.statement(meta.statement_id()) {
            self.resolver.known(meta).await
        } else {
            Ok(None)
        }
    }

    /// Settles the float columns of `meta`, whose first item is `item`.
    /// Sync, so that the decoder (not `Sync`) is borrowed across no await.
    fn learn<T: Pull>(
        &mut self,
        meta: Arc<SeriesMeta>,
        known: Option<&Known>,
        item: &T,
        decoder: &Decoder,
    ) {
        // Nothing known (no database, a series without a name): the JSON's
        // types, rather than a guess.
        let floats = match known {
            Some(known) => {
                float_columns(&column_kinds(&meta, Some(known), &item.first_rows(decoder)))
            }
            None => Vec::new(),
        };
        self.current = Some((meta, floats));
    }

    #[inline]
    fn retype<T: Pull>(&self, item: &mut T) {
        if let Some((_, floats)) = &self.current {
            if !floats.is_empty() {
                item.retype(floats);
            }
        }
    }
}

impl Pull for Row {
    type State = ();

    fn pull(decoder: &mut Decoder, _: &mut ()) -> Option<Result<Event<Row>, DecodeError>> {
        decoder.next_event()
    }

    fn from_row(row: Row, _: &mut ()) -> Result<Self, DecodeError> {
        Ok(row)
    }

    const RETYPES: bool = true;

    #[inline]
    fn series(&self) -> Option<&Arc<SeriesMeta>> {
        Some(self.meta())
    }

    fn first_rows<'a>(&'a self, decoder: &'a Decoder) -> Vec<&'a [Value]> {
        let mut rows = vec![self.values()];
        if let Some(rest) = decoder
            .current_rows()
            .filter(|r| Arc::ptr_eq(r.meta(), self.meta()))
        {
            rows.extend(rest.remaining());
        }
        rows
    }

    #[inline]
    fn retype(&mut self, floats: &[usize]) {
        retype_row(self.values_mut(), floats);
    }
}

/// Rows mapped onto a `serde::Deserialize` type by name (for
/// [`Client::query_as`]), straight from the decoded values.
struct As<T>(T);

impl<T: DeserializeOwned + Send + 'static> Pull for As<T> {
    type State = ();

    fn pull(decoder: &mut Decoder, _: &mut ()) -> Option<Result<Event<As<T>>, DecodeError>> {
        let event = decoder.next_event_with(true, &mut |meta, values, index| {
            de::from_row_owned(meta, values, index)
        });
        event.map(|r| r.and_then(Event::transpose).map(|e| e.map(As)))
    }

    fn from_row(row: Row, _: &mut ()) -> Result<Self, DecodeError> {
        row.into_deserialize().map(As)
    }
}

/// The path of [`Client::query_as`] over a bare decoder, for
/// `benches/parse.rs` to count its instructions (through `__private`; not
/// public API).
#[doc(hidden)]
pub fn bench_as<T: DeserializeOwned + Send + 'static>(
    decoder: &mut Decoder,
) -> Option<Result<Event<T>, DecodeError>> {
    As::<T>::pull(decoder, &mut ()).map(|r| r.map(|e| e.map(|As(t)| t)))
}

/// Rows mapped onto a [`FromRow`] type (for [`Client::query_rows`]).
struct Rows<T>(T);

impl<T: FromRow + Send + 'static> Pull for Rows<T> {
    type State = Resolved;

    #[inline]
    fn pull(
        decoder: &mut Decoder,
        state: &mut Resolved,
    ) -> Option<Result<Event<Rows<T>>, DecodeError>> {
        let event = decoder.next_event_with(T::READS_STRINGS, &mut |meta, values, index| {
            state.map::<T>(meta, values, index)
        });
        event.map(|r| r.and_then(Event::transpose).map(|e| e.map(Rows)))
    }

    fn from_row(mut row: Row, state: &mut Resolved) -> Result<Self, DecodeError> {
        let meta = Arc::clone(row.meta());
        let index = row.index();
        state.map(&meta, row.values_mut(), index).map(Rows)
    }
}

impl Pull for Chunk {
    type State = ();

    fn pull(decoder: &mut Decoder, _: &mut ()) -> Option<Result<Event<Chunk>, DecodeError>> {
        decoder.next_chunk().map(|r| {
            r.map(|c| match c {
                Chunk::QueryError { message } => Event::QueryError { message },
                other => Event::Row(other),
            })
        })
    }

    const READS_JSON_LINES: bool = false;

    const RETYPES: bool = true;

    fn series(&self) -> Option<&Arc<SeriesMeta>> {
        match self {
            Chunk::Series(c) => Some(&c.meta),
            _ => None,
        }
    }

    fn first_rows<'a>(&'a self, _decoder: &'a Decoder) -> Vec<&'a [Value]> {
        match self {
            Chunk::Series(c) => c.values.iter().map(Vec::as_slice).collect(),
            _ => Vec::new(),
        }
    }

    fn retype(&mut self, floats: &[usize]) {
        if let Chunk::Series(c) = self {
            for row in &mut c.values {
                retype_row(row, floats);
            }
        }
    }

    fn from_row(_: Row, _: &mut ()) -> Result<Self, DecodeError> {
        Err(DecodeError::new(
            "query_chunks reads the chunked answers of /query; use query or query_as for Query::sql and Query::influxql_v3",
        ))
    }
}

/// The series chunks of `/query` as the decoder parsed them (for
/// `query_arrow`): no vector per row.
#[cfg_attr(not(feature = "arrow"), allow(dead_code))]
pub(crate) struct FlatChunk(pub(crate) SeriesRows);

impl Pull for FlatChunk {
    type State = ();

    fn pull(decoder: &mut Decoder, _: &mut ()) -> Option<Result<Event<FlatChunk>, DecodeError>> {
        decoder
            .next_series()
            .map(|r| r.map(|event| event.map(FlatChunk)))
    }

    const READS_JSON_LINES: bool = false;

    fn from_row(_: Row, _: &mut ()) -> Result<Self, DecodeError> {
        Err(DecodeError::new(
            "query_arrow reads the chunked answers of /query, not JSON lines",
        ))
    }
}

impl Client {
    /// Runs a query and streams its series chunks as parsed, with the
    /// JSON's types (see [`FlatChunk`]); statement errors are `Err` items.
    #[cfg_attr(not(feature = "arrow"), allow(dead_code))]
    pub(crate) fn query_flat_chunks(&self, query: Query) -> QueryStream<FlatChunk> {
        run(self.clone(), query)
    }
}

fn run<T: Pull>(client: Client, query: Query) -> QueryStream<T> {
    if query.endpoint != QueryEndpoint::V1 {
        if !T::READS_JSON_LINES {
            let err = error::encode(
                "query_chunks reads the chunked answers of /query; run Query::sql and Query::influxql_v3 with query or query_as",
            );
            return QueryStream {
                inner: Box::pin(futures::stream::once(async move { Err(err) })),
                bytes: Arc::new(AtomicU64::new(0)),
            };
        }
        return run_jsonl(client, query);
    }
    let bytes = Arc::new(AtomicU64::new(0));
    let counter = bytes.clone();
    let mut typing = if T::RETYPES {
        Typing::new(&client, &query)
    } else {
        None
    };
    let inner = async_stream::stream! {
        let mut body = match Body::open(&client, client.query_call(&query, true), counter).await {
            Ok(b) => b,
            Err(e) => { yield Err(e); return; }
        };
        let mut decoder = Decoder::new(DecodeOptions::new()
            .time_format(time_format(query.epoch.unwrap_or(client.epoch())))
            .max_document_bytes(Some(MAX_DOCUMENT_BYTES))
            .chunked(true));
        let mut state = T::State::default();
        loop {
            // Give out everything decoded so far before reading more.
            while let Some(item) = T::pull(&mut decoder, &mut state) {
                match item {
                    Ok(Event::Row(mut v)) => {
                        if let Some(typing) = &mut typing {
                            if let Some(meta) = typing.changed(&v) {
                                match typing.known(&meta).await {
                                    Ok(known) => typing.learn(meta, known.as_deref(), &v, &decoder),
                                    Err(e) => {
                                        yield Err(e.with_context(
                                            "cannot learn the field types (Query::field_types(false) reads without them)",
                                        ));
                                        return;
                                    }
                                }
                            }
                            typing.retype(&mut v);
                        }
                        yield Ok(v)
                    }
                    Ok(Event::StatementError { statement_id, message }) => {
                        yield Err(error::query(statement_id, &message));
                    }
                    Ok(Event::QueryError { message }) => {
                        yield Err(Error::new(Kind::Query).with_message(message));
                        return;
                    }
                    Ok(Event::Message { statement_id, level, text }) => {
                        tracing::warn!(statement_id, %level, %text, "message from InfluxDB");
                    }
                    Ok(_) => {}
                    Err(e) => yield Err(decode_error(e)),
                }
            }
            if decoder.is_finished() {
                return;
            }
            if let Err(e) = body.feed_into(&mut decoder).await {
                yield Err(e);
                return;
            }
        }
    };
    QueryStream {
        inner: Box::pin(inner),
        bytes,
    }
}

/// A response body on its way into a decoder: inflated if need be, a
/// piece at a time, within the client's idle timeout, counted.
struct Body {
    incoming: hyper::body::Incoming,
    inflate: Inflate,
    /// The part of the last frame not yet fed.
    pending: bytes::Bytes,
    idle: Option<std::time::Duration>,
    counter: Arc<AtomicU64>,
}

impl Body {
    /// Sends the call; the body of its successful answer.
    async fn open(
        client: &Client,
        call: Result<crate::http::Call<'_>, Error>,
        counter: Arc<AtomicU64>,
    ) -> Result<Body, Error> {
        let transport = client.transport();
        let resp = transport.send(call?).await?;
        if !resp.status().is_success() {
            return Err(transport.error_from(resp, None).await);
        }
        let inflate = Inflate::new(resp.headers())?;
        Ok(Body {
            incoming: resp.into_body(),
            inflate,
            pending: bytes::Bytes::new(),
            idle: transport.timeout,
            counter,
        })
    }

    /// Feeds the decoder the next piece: of the frame at hand (a compressed
    /// piece inflates to a few MB at most, so the decoder hands out what it
    /// holds in between), else of the next frame; at the end of the body,
    /// ends the decoder's input.
    async fn feed_into(&mut self, decoder: &mut impl Feed) -> Result<(), Error> {
        if self.pending.is_empty() {
            let frame = match self.idle {
                Some(t) => tokio::time::timeout(t, self.incoming.frame())
                    .await
                    .map_err(|_| {
                        Error::new(Kind::Timeout)
                            .with_message(format!("the query response stalled: no data for {t:?}"))
                    })?,
                None => self.incoming.frame().await,
            };
            match frame {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.pending = data;
                    }
                    return Ok(());
                }
                Some(Err(e)) => {
                    return Err(Error::new(Kind::Transport)
                        .with_message("the query response was cut off")
                        .with_source(e));
                }
                None => {
                    let n = self.inflate.finish(decoder)?;
                    self.counter.fetch_add(n as u64, Ordering::Relaxed);
                    decoder.end();
                    return Ok(());
                }
            }
        }
        let piece = self
            .pending
            .split_to(self.inflate.piece_len().min(self.pending.len()));
        let n = self.inflate.feed(&piece, decoder)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// A query to InfluxDB 3.x's JSON-lines endpoints, decoded line by line.
fn run_jsonl<T: Pull>(client: Client, query: Query) -> QueryStream<T> {
    let bytes = Arc::new(AtomicU64::new(0));
    let counter = bytes.clone();
    let inner = async_stream::stream! {
        let mut body = match Body::open(&client, client.query_call_v3(&query), counter).await {
            Ok(b) => b,
            Err(e) => { yield Err(e); return; }
        };
        let mut lines = JsonlDecoder::default();
        let mut state = T::State::default();
        loop {
            while let Some(row) = lines.next_row() {
                match row.and_then(|row| T::from_row(row, &mut state)) {
                    Ok(v) => yield Ok(v),
                    Err(e) => yield Err(decode_error(e)),
                }
            }
            if lines.is_done() {
                return;
            }
            if let Err(e) = body.feed_into(&mut lines).await {
                yield Err(e);
                return;
            }
        }
    };
    QueryStream {
        inner: Box::pin(inner),
        bytes,
    }
}

impl Client {
    /// Runs a query and streams its rows as they arrive.
    ///
    /// The query is sent with `chunked=true` (chunk size
    /// [`Query::chunk_size`], 10,000 rows by default) and the response is
    /// decoded incrementally, so a result of any size runs in memory bounded
    /// by the chunk size. Times are epoch nanoseconds unless
    /// [`Query::epoch`] or the builder's `epoch` say otherwise.
    ///
    /// # Value types
    ///
    /// Values of float fields are [`Value::Float`] even when whole, though
    /// InfluxDB 1.x prints `12.0` as `12`; integer fields are
    /// [`Value::Integer`]. The client learns each measurement's field types
    /// with one extra request (`SHOW FIELD KEYS` and `SHOW TAG KEYS`) the
    /// first time a stream reads a measurement, and keeps them, per
    /// database, retention policy and measurement as the query names them
    /// (at most 1,024 measurements, shared by the client's clones); a
    /// column the client does not know makes a stream ask again, once per
    /// measurement. Measured against influxd 1.6.7 on loopback holding the
    /// standard workload (1,000 series): the request adds 23 ms to the
    /// first query of a client (155 ms against 132 ms for `SELECT * FROM
    /// cpu LIMIT 1`), and retyping 1,000,000 rows costs no measurable
    /// client CPU (`cargo bench --bench field_types`).
    ///
    /// Columns with no declared type (aggregates such as `mean` or
    /// `count`, expressions) follow `query_arrow`'s rule (feature `arrow`): numbers
    /// are [`Value::Float`], so that a mean that happens to be whole does
    /// not change type; so is a column named like a field whose first
    /// chunk holds values the field's type does not (`mean(n) AS n` of an
    /// integer `n`). `SHOW` listings, `SELECT ... INTO`, series the client
    /// cannot ask about (no database given, a measurement named with a
    /// NUL or a CR), and InfluxDB 3.x's JSON lines ([`Query::sql`],
    /// [`Query::influxql_v3`]) are read as the JSON types them. A query
    /// over many measurements (`FROM /.*/`) asks once for each.
    ///
    /// [`ClientBuilder::field_types(false)`](crate::ClientBuilder::field_types)
    /// or [`Query::field_types(false)`](Query::field_types) skip the request
    /// and give the JSON's types (read float fields then with
    /// [`Value::as_f64`], which accepts integers).
    ///
    /// # Errors
    ///
    /// Items are `Err` for a failed statement, and end the stream for a
    /// failed query, a broken body, or field types that cannot be learnt
    /// (for instance without the right to run `SHOW FIELD KEYS`).
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use influx_stream::{Client, Query};
    ///
    /// # async fn run() -> Result<(), influx_stream::Error> {
    /// let client = Client::builder("http://127.0.0.1:8086").database("telemetry").build()?;
    /// let mut rows = client.query(Query::new("SELECT * FROM cpu WHERE host = $h").bind("h", "a"));
    /// while let Some(row) = rows.try_next().await? {
    ///     let usage = row.get("usage").and_then(|v| v.as_f64());
    ///     println!("{:?} {:?}", row.time(), usage);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn query(&self, query: impl Into<Query>) -> QueryStream<Row> {
        run(self.clone(), query.into())
    }

    /// Runs a query and streams each row as a `serde::Deserialize` type:
    /// columns and series tags map to fields by name; a float field
    /// accepts whole numbers, an `Option` field accepts nulls and absent
    /// columns.
    ///
    /// For your own structs, derive [`FromRow`](crate::FromRow) and use
    /// [`Client::query_rows`]: checked at compile time, nothing tried at run
    /// time, and faster. This method is for types that already
    /// implement `Deserialize` and are not yours to derive for, or that
    /// need serde's attributes.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use influx_stream::Client;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Cpu { time: i64, host: String, usage: f64 }
    ///
    /// # async fn run() -> Result<(), influx_stream::Error> {
    /// let client = Client::builder("http://127.0.0.1:8086").database("telemetry").build()?;
    /// let rows: Vec<Cpu> = client
    ///     .query_as::<Cpu>("SELECT usage FROM cpu GROUP BY host")
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// A missing column or a wrong type is an `Err` item naming the column
    /// and the row.
    ///
    /// Fields are matched by name in every row (serde's derived code
    /// compares each key); [`Client::query_rows`] matches names once per
    /// series and is faster.
    pub fn query_as<T: DeserializeOwned + Send + 'static>(
        &self,
        query: impl Into<Query>,
    ) -> QueryStream<T> {
        use futures::StreamExt;
        let rows = run::<As<T>>(self.clone(), query.into());
        let bytes = rows.bytes.clone();
        let inner = rows.map(|r| r.map(|As(t)| t));
        QueryStream {
            inner: Box::pin(inner),
            bytes,
        }
    }

    /// Runs a query and streams each row as your own type: the way to read
    /// typed rows. Derive [`FromRow`](crate::FromRow) for a struct and its
    /// fields read the columns and series tags of their names (see the
    /// trait for the attributes), matched once per series, then read by
    /// position from the decoded values, with no [`Row`] built per row.
    ///
    /// An `f64` field reads a float field's whole values (which InfluxDB
    /// prints as `12`) as well, so no field types are asked for. A row
    /// whose value is missing, null (for a field that is not an `Option`)
    /// or of another type is an `Err` item naming the column and the row;
    /// the rows after it follow.
    ///
    /// [`Client::query_as`] maps rows onto `serde::Deserialize` types
    /// instead: for types that are not yours to derive `FromRow` for, or
    /// that need serde's attributes (`flatten`, enums, `with`).
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use influx_stream::{Client, FromRow};
    ///
    /// #[derive(FromRow)]
    /// struct Cpu {
    ///     time: i64,
    ///     #[influx(tag)]
    ///     host: String,
    ///     usage: f64,
    /// }
    ///
    /// # async fn run() -> Result<(), influx_stream::Error> {
    /// let client = Client::builder("http://127.0.0.1:8086").database("telemetry").build()?;
    /// let mut rows = client.query_rows::<Cpu>("SELECT usage FROM cpu GROUP BY host");
    /// while let Some(cpu) = rows.try_next().await? {
    ///     println!("{} {} {}", cpu.time, cpu.host, cpu.usage);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn query_rows<T: FromRow + Send + 'static>(
        &self,
        query: impl Into<Query>,
    ) -> QueryStream<T> {
        use futures::StreamExt;
        let rows = run::<Rows<T>>(self.clone(), query.into());
        let bytes = rows.bytes.clone();
        let inner = rows.map(|r| r.map(|Rows(t)| t));
        QueryStream {
            inner: Box::pin(inner),
            bytes,
        }
    }

    /// Runs a query and streams the response as the server sent it: one
    /// [`Chunk`] per series object of each document (at most `chunk_size`
    /// rows), plus statement ends, errors and messages. Values are typed as
    /// in [`Client::query`] (float fields are [`Value::Float`]), unless
    /// [`Query::field_types`] says otherwise.
    pub fn query_chunks(&self, query: impl Into<Query>) -> QueryStream<Chunk> {
        run(self.clone(), query.into())
    }
}
