//! An asynchronous client for InfluxDB 1.x built on `futures`' `Sink` and
//! `Stream`.
//!
//! ```no_run
//! use influx_stream::{Client, Point};
//!
//! # async fn run() -> Result<(), influx_stream::Error> {
//! let client = Client::builder("http://127.0.0.1:8086")
//!     .database("telemetry")
//!     .build()?;
//! client.create_database("telemetry").await?;
//! client
//!     .write(Point::new("cpu").tag("host", "server01").field("usage", 0.64))
//!     .await?;
//! let json = client.query_json("SELECT usage FROM cpu").await?;
//! println!("{json}");
//! # Ok(()) }
//! ```
//!
//! Programs without async use the [`blocking`] client (feature `blocking`,
//! on by default), which mirrors this one.
//!
//! # Your own types
//! Anything implementing [`ToLineProtocol`] can be written. For a struct,
//! [`#[derive(LineProtocol)]`](LineProtocol) (feature `derive`, on by
//! default) implements it, writing straight into the batch buffer:
//!
//! ```no_run
//! use futures::{stream, StreamExt};
//! use influx_stream::{Client, LineProtocol, WriteOptions};
//!
//! #[derive(LineProtocol)]
//! #[influx(measurement = "cpu")]
//! struct Cpu {
//!     #[influx(tag)]
//!     host: String,
//!     usage: f64,
//!     #[influx(time)]
//!     time: i64,
//! }
//!
//! # async fn run() -> Result<(), influx_stream::Error> {
//! let client = Client::builder("http://127.0.0.1:8086").database("telemetry").build()?;
//! let writer = client.writer(WriteOptions::new())?;
//! stream::iter(0..1_000)
//!     .map(|i| Ok(Cpu { host: format!("host_{}", i % 10), usage: i as f64 / 1e3, time: i }))
//!     .forward(writer)
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! With the feature `arrow` (off by default), `arrow::ArrowWrite` writes
//! Arrow `RecordBatch`es and `Client::query_arrow` reads query results as
//! `RecordBatch`es.
//!
//! # Cancel safety
//! Every future here may be dropped to cancel it. A write dropped after its
//! request was sent may or may not have reached the server; the connection it
//! used is closed rather than reused.
#![deny(missing_docs, missing_debug_implementations)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod admin;
#[cfg(feature = "arrow")]
#[cfg_attr(docsrs, doc(cfg(feature = "arrow")))]
pub mod arrow;
#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;
mod client;
mod connect;
mod decimal;
mod derive;
mod early_answer;
mod error;
mod failover;
mod field_types;
mod http;
mod influxql;
mod line_protocol;
mod line_reader;
mod point;
pub mod query;
mod query_body;
mod retry;
#[cfg(feature = "rustls")]
mod tls;
mod write;
mod write_api;

pub use crate::admin::{FieldType, Privilege, RetentionPolicy, RetentionPolicySpec, User};
pub use crate::client::{Client, ClientBuilder, Pong};
pub use crate::error::{Error, FailedLine, Result};
pub use crate::failover::ServerStats;
pub use crate::http::AuthMethod;
pub use crate::influxql::{quote_ident, quote_literal, Query};
pub use crate::line_protocol::{
    EncodeOptions, LineWriter, PointWriter, SeriesKey, Server, StringFields, ToLineProtocol,
};
pub use crate::line_reader::{
    parse_lines, LineProtocolCodec, ParseLines, ParsedPoint, ParsedValue,
};
pub use crate::point::{FieldValue, Point, Precision, Timestamp};
pub use crate::query::from_row::FromRow;
pub use crate::query::row::Row;
pub use crate::query::stream::QueryStream;
pub use crate::query::value::Value;
pub use crate::query_body::QueryBody;
pub use crate::retry::RetryPolicy;
#[cfg(feature = "rustls")]
pub use crate::tls::{Certificate, Identity};
pub use crate::write::{
    FailedBatch, Fsync, OnFailure, ReplicatedWriter, SpoolFull, WriteOptions, WriteStats, Writer,
};
pub use crate::write_api::WriteApi;

/// Derives [`ToLineProtocol`] for a struct with named fields.
///
/// ```
/// use influx_stream::{EncodeOptions, LineProtocol, LineWriter};
///
/// #[derive(LineProtocol)]
/// #[influx(measurement = "cpu")]
/// struct Cpu<'a> {
///     #[influx(tag)]
///     host: &'a str,
///     #[influx(tag, rename = "dc")]
///     datacenter: Option<String>,
///     usage: f64,
///     requests: u32,
///     note: Option<String>,
///     #[influx(skip)]
///     _seen_by: Vec<String>,
///     #[influx(time)]
///     time: i64,
/// }
///
/// let cpu = Cpu {
///     host: "web 1",
///     datacenter: None,
///     usage: 0.5,
///     requests: 12,
///     note: Some("ok".into()),
///     _seen_by: vec![],
///     time: 1_600_000_000_000_000_000,
/// };
/// let mut buf = Vec::new();
/// LineWriter::new(&mut buf, EncodeOptions::default()).write(&cpu)?;
/// assert_eq!(
///     String::from_utf8_lossy(&buf),
///     "cpu,host=web\\ 1 usage=0.5,requests=12i,note=\"ok\" 1600000000000000000\n"
/// );
/// # Ok::<(), influx_stream::Error>(())
/// ```
///
/// # Attributes
/// On the struct:
/// - `#[influx(measurement = "cpu")]`: the measurement of every point.
///
/// On a member (one role each; members are fields unless marked):
/// - `#[influx(field)]` (the default): a field. `f32`, `f64` (an `f32` is
///   widened exactly: `0.1f32` is written as `0.10000000149011612`), signed
///   integers (`i` suffix), `u8`..`u32` (as signed integers, losslessly),
///   `u64` and `usize` (as unsigned, see
///   [`EncodeOptions::unsigned_as_integer`]), `bool`, `String`, `&str`,
///   `Cow<str>`, [`FieldValue`], or an `Option` of those: `None` leaves the
///   field out. A point whose fields are all `None` is an encoding error.
/// - `#[influx(tag)]`: a tag. `String`, `&str`, `Cow<str>`, `Box<str>`,
///   `Arc<str>` and `Rc<str>` are written as they are; any other type
///   through its `Display` impl, formatted into a 128-byte buffer on the
///   stack (longer text into a temporary `String`). An `Option` that is
///   `None`, or an empty value, leaves the tag out. Tags are written in key
///   order, as InfluxDB stores them, whatever the member order. The type is
///   recognised by how it is spelled: a type alias for `String` is written
///   through `Display`, with the same result.
/// - `#[influx(time)]`: the timestamp: `i64` nanoseconds since the epoch,
///   [`SystemTime`](std::time::SystemTime), [`Timestamp`], or an `Option` of
///   those. Without one (or with `None`) the server stamps the point.
/// - `#[influx(measurement)]`: a `String` or `&str` member holding the
///   measurement, for records that carry their own (instead of the struct
///   attribute).
/// - `#[influx(rename = "key")]`, with `tag` or `field`: the key written
///   instead of the member's name.
/// - `#[influx(skip)]`: not written.
/// - `#[influx(default)]`: for [`FromRow`](trait@FromRow), which the same
///   struct may derive to be read back; ignored when writing.
///
/// Points are written straight into the caller's buffer by the same
/// [`LineWriter`] as hand-written impls: the same escaping and number
/// formatting, and no allocation for text tags and fields.
///
/// # Compile errors
/// Enums, unions and tuple structs; a struct without any field to write;
/// no measurement, or two; two time members; a member named `time` that is
/// not `#[influx(time)]` (InfluxDB drops such fields); a key used twice;
/// and a member whose type its role cannot write, with the error at the
/// member.
#[cfg(feature = "derive")]
#[cfg_attr(docsrs, doc(cfg(feature = "derive")))]
pub use influx_stream_derive::LineProtocol;

/// Derives [`FromRow`](trait@FromRow): each field of a struct with named
/// fields reads the column or series tag of its name, for
/// [`Client::query_rows`]. The attributes are those of
/// `#[derive(LineProtocol)]`, plus `default`; see the trait.
///
/// # Compile errors
/// Enums, unions and tuple structs; two fields reading the same name; a
/// field whose type cannot be read from a column, with the error at the
/// field.
#[cfg(feature = "derive")]
#[cfg_attr(docsrs, doc(cfg(feature = "derive")))]
pub use influx_stream_derive::FromRow;

/// For the code `#[derive(LineProtocol)]` generates, the benches and the
/// tests in `tests/`; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::derive::{DisplayTag, Field, Measurement, Time};
    // benches/parse.rs and tests/decoder.rs drive the decoders without
    // HTTP (tests/rows.rs the JSON-lines one too).
    pub use crate::query::decode::{DecodeOptions, Decoder, Event};
    pub use crate::query::from_row::BenchRows;
    pub use crate::query::jsonl::JsonlDecoder;
    pub use crate::query::stream::bench_as;
    pub use crate::query::value::TimeFormat;
}

/// The README's examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
