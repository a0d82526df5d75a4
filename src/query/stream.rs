//! Streaming queries: the client asks for a chunked response and decodes
//! the body as it arrives, so memory stays bounded by the chunk size, never
//! by the size of the result.

use std::borrow::Cow;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;
use serde::de::DeserializeOwned;

use crate::client::Client;
use crate::error::{self, Error, Kind};
use crate::field_types::{column_kinds, float_columns, retype_row, Known, Resolver};
use crate::influxql::{Query, QueryEndpoint, Selects};
use crate::query::jsonl::JsonlDecoder;
use crate::query::{
    de, time_format, Chunk, DecodeError, DecodeOptions, Decoder, Event, FromRow, Resolved, Row,
    SeriesMeta, SeriesRows, Value,
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

impl<T: 'static> QueryStream<T> {
    /// The same stream, each item passed through `f`.
    fn map<U: 'static>(self, f: fn(T) -> U) -> QueryStream<U> {
        use futures::StreamExt;
        QueryStream {
            inner: Box::pin(self.inner.map(move |r| r.map(f))),
            bytes: self.bytes,
        }
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
        #[cfg(feature = "gzip")]
        if gz {
            return Ok(Inflate::Gzip(Box::new(flate2::write::GzDecoder::new(
                Vec::new(),
            ))));
        }
        #[cfg(not(feature = "gzip"))]
        if gz {
            return Err(error::decode(
                "the server sent a gzip body, but the \"gzip\" feature is off",
            ));
        }
        Ok(Inflate::Plain)
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

    /// `data` decompressed if need be; `None`: the body has ended.
    fn inflate<'a>(&'a mut self, data: Option<&'a [u8]>) -> Result<&'a [u8], Error> {
        match self {
            Inflate::Plain => Ok(data.unwrap_or_default()),
            #[cfg(feature = "gzip")]
            Inflate::Gzip(gz) => {
                use std::io::Write;
                gz.get_mut().clear();
                match data {
                    // `flush`: without it the inflater keeps the output of
                    // the last write until the next one, and the end of a
                    // document influxd has sent would wait for the next frame.
                    Some(data) => gz.write_all(data).and_then(|()| gz.flush()).map_err(|e| {
                        error::decode("the gzip response body is corrupt").with_source(e)
                    })?,
                    None => gz.try_finish().map_err(|e| {
                        error::decode("the gzip response body is truncated").with_source(e)
                    })?,
                }
                Ok(gz.get_ref())
            }
        }
    }
}

type FromJsonRow<T> = fn(Row, &mut <T as Pull>::State) -> Result<T, DecodeError>;

/// What the decoder yields, rows or chunks.
trait Pull: Sized + Send + 'static {
    /// What the stream keeps from one item to the next.
    type State: Default + Send;

    fn pull(
        decoder: &mut Decoder,
        state: &mut Self::State,
    ) -> Option<Result<Event<Self>, DecodeError>>;

    /// The item a row of a JSON-lines answer (InfluxDB 3.x) makes; `None`
    /// for items only 1.x's chunked answers make.
    const FROM_ROW: Option<FromJsonRow<Self>> = None;

    /// The series whose values the field types retype, for items that
    /// hold [`Value`]s (typed rows decide by their fields' types instead).
    fn series(&self) -> Option<&Arc<SeriesMeta>> {
        None
    }

    /// The rows of the series' first chunk that this item and the decoder
    /// still hold, when this item is the series' first.
    fn first_rows<'a>(&'a self, _decoder: &Decoder) -> Vec<Cow<'a, [Value]>> {
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
        let floats = known.map_or_else(Vec::new, |known| {
            float_columns(&column_kinds(&meta, Some(known), &item.first_rows(decoder)))
        });
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

    const FROM_ROW: Option<FromJsonRow<Self>> = Some(|row, _| Ok(row));

    #[inline]
    fn series(&self) -> Option<&Arc<SeriesMeta>> {
        Some(self.meta())
    }

    fn first_rows<'a>(&'a self, decoder: &Decoder) -> Vec<Cow<'a, [Value]>> {
        let mut rows = vec![Cow::Borrowed(self.values())];
        if let Some(rest) = decoder
            .current_rows()
            .filter(|r| Arc::ptr_eq(r.meta(), self.meta()))
        {
            rows.extend(rest.remaining().into_iter().map(Cow::Owned));
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
        let event = decoder
            .next_event_with(&mut |meta, values, index| de::from_row_owned(meta, values, index));
        event.map(|r| r.and_then(Event::transpose).map(|e| e.map(As)))
    }

    const FROM_ROW: Option<FromJsonRow<Self>> = Some(|row, _| row.into_deserialize().map(As));
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
        let event =
            decoder.next_event_cells(&mut |meta, cells, index| state.map::<T>(meta, cells, index));
        event.map(|r| r.and_then(Event::transpose).map(|e| e.map(Rows)))
    }

    // A row of JSON lines is read as the decoder's are: as cells.
    const FROM_ROW: Option<FromJsonRow<Self>> = Some(|row, state| {
        let mut rows = row.into_series_rows();
        let row = rows.next_cells(&mut |meta, cells, index| state.map(meta, cells, index));
        row.unwrap_or_else(|| Err(DecodeError::new("a row without its values")))
            .map(Rows)
    });
}

impl Pull for Chunk {
    type State = ();

    fn pull(decoder: &mut Decoder, _: &mut ()) -> Option<Result<Event<Chunk>, DecodeError>> {
        decoder.next_chunk().map(|r| {
            r.map(|c| match c {
                c @ Chunk::QueryError { .. } => Event::Other(c),
                other => Event::Row(other),
            })
        })
    }

    fn series(&self) -> Option<&Arc<SeriesMeta>> {
        match self {
            Chunk::Series(c) => Some(&c.meta),
            _ => None,
        }
    }

    fn first_rows<'a>(&'a self, _decoder: &Decoder) -> Vec<Cow<'a, [Value]>> {
        match self {
            Chunk::Series(c) => c.values.iter().map(|r| Cow::Borrowed(&r[..])).collect(),
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
        let Some(from_row) = T::FROM_ROW else {
            let err = error::encode(
                "query_chunks reads the chunked answers of /query; run Query::sql and Query::influxql_v3 with query or query_as",
            );
            return QueryStream {
                inner: Box::pin(futures::stream::once(async move { Err(err) })),
                bytes: Arc::new(AtomicU64::new(0)),
            };
        };
        return run_jsonl(client, query, from_row);
    }
    let bytes = Arc::new(AtomicU64::new(0));
    let counter = bytes.clone();
    let mut typing = Typing::new(&client, &query);
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
                    Ok(Event::Other(Chunk::StatementError { statement_id, message })) => {
                        yield Err(error::query(statement_id, &message));
                    }
                    Ok(Event::Other(Chunk::QueryError { message })) => {
                        yield Err(Error::new(Kind::Query).with_message(message));
                        return;
                    }
                    Ok(Event::Other(Chunk::Message { statement_id, level, text })) => {
                        tracing::warn!(statement_id, %level, %text, "message from InfluxDB");
                    }
                    Ok(_) => {}
                    Err(e) => yield Err(decode_error(e)),
                }
            }
            if decoder.is_finished() {
                return;
            }
            match body.read().await {
                Ok((data, ended)) => { decoder.feed(data); if ended { decoder.finish() } }
                Err(e) => { yield Err(e); return; }
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
    /// The part of the last frame not yet read.
    pending: bytes::Bytes,
    piece: bytes::Bytes,
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
            piece: bytes::Bytes::new(),
            idle: transport.timeout,
            counter,
        })
    }

    /// The next piece for the decoder (of the frame at hand, else of the
    /// next; see `Inflate::piece_len`), and whether the body has ended.
    async fn read(&mut self) -> Result<(&[u8], bool), Error> {
        let mut ended = false;
        if self.pending.is_empty() {
            match crate::query_body::next_data(&mut self.incoming, self.idle).await? {
                Some(data) => self.pending = data,
                None => ended = true,
            }
        }
        let n = self.inflate.piece_len().min(self.pending.len());
        self.piece = self.pending.split_to(n);
        let data = self.inflate.inflate((!ended).then_some(&self.piece[..]))?;
        self.counter.fetch_add(data.len() as u64, Ordering::Relaxed);
        Ok((data, ended))
    }
}

/// A query to InfluxDB 3.x's JSON-lines endpoints, decoded line by line.
fn run_jsonl<T: Pull>(client: Client, query: Query, from_row: FromJsonRow<T>) -> QueryStream<T> {
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
                match row.and_then(|row| from_row(row, &mut state)) {
                    Ok(v) => yield Ok(v),
                    Err(e) => yield Err(decode_error(e)),
                }
            }
            if lines.is_done() {
                return;
            }
            match body.read().await {
                Ok((data, ended)) => { lines.feed(data); if ended { lines.finish() } }
                Err(e) => { yield Err(e); return; }
            }
        }
    };
    QueryStream {
        inner: Box::pin(inner),
        bytes,
    }
}

impl Client {
    /// Runs a query and streams its rows as they arrive: sent with
    /// `chunked=true` ([`Query::chunk_size`], 10,000 rows by default) and
    /// decoded incrementally, in memory bounded by the chunk size. Times are
    /// epoch nanoseconds unless [`Query::epoch`] or the builder's `epoch`
    /// say otherwise.
    ///
    /// # Value types
    ///
    /// Float fields are [`Value::Float`] even when whole (InfluxDB 1.x
    /// prints `12.0` as `12`), integer fields [`Value::Integer`]: the client
    /// learns each measurement's field types with one extra request (`SHOW
    /// FIELD KEYS` and `SHOW TAG KEYS`) the first time a stream reads it, and
    /// keeps them per database, retention policy and measurement (at most
    /// 1,024, shared by the client's clones); an unknown column makes a
    /// stream ask again, once per measurement. Against influxd 1.6.7 on
    /// loopback the request adds 23 ms to a client's first query; retyping
    /// costs no measurable CPU (`cargo bench --bench field_types`).
    ///
    /// Columns with no declared type (aggregates, expressions) and columns
    /// named like a field whose first chunk holds values the field's type
    /// does not (`mean(n) AS n` of an integer `n`) are [`Value::Float`] when
    /// numeric, as in `query_arrow`. `SHOW` listings, `SELECT ... INTO`,
    /// series the client cannot ask about (no database, a measurement named
    /// with a NUL or a CR) and InfluxDB 3.x's JSON lines ([`Query::sql`],
    /// [`Query::influxql_v3`]) keep the JSON's types.
    ///
    /// [`ClientBuilder::field_types(false)`](crate::ClientBuilder::field_types)
    /// or [`Query::field_types(false)`](Query::field_types) skip the request
    /// and keep the JSON's types (read float fields with [`Value::as_f64`],
    /// which accepts integers).
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

    /// Runs a query and streams each row as a `serde::Deserialize` type
    /// (see [`deserialize_row`](crate::query::deserialize_row)): columns and
    /// series tags map to fields by name, matched in every row. For your own
    /// structs, [`Client::query_rows`] with `#[derive(FromRow)]` is checked
    /// at compile time and faster.
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
    pub fn query_as<T: DeserializeOwned + Send + 'static>(
        &self,
        query: impl Into<Query>,
    ) -> QueryStream<T> {
        run::<As<T>>(self.clone(), query.into()).map(|As(t)| t)
    }

    /// Runs a query and streams each row as your own type: the way to read
    /// typed rows. The fields of a `#[derive(FromRow)]` struct read the
    /// columns and series tags of their names (see [`FromRow`](crate::FromRow)),
    /// matched once per series, with no [`Row`] built per row.
    ///
    /// An `f64` field accepts whole numbers (InfluxDB prints `12.0` as
    /// `12`), so no field types are asked for. A missing value, a null (for
    /// a field that is not an `Option`) or a value of another type is an
    /// `Err` item naming the column and the row; the rows after it follow.
    /// [`Client::query_as`] takes `serde::Deserialize` types instead.
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
        run::<Rows<T>>(self.clone(), query.into()).map(|Rows(t)| t)
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
