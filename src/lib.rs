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
mod early_answer;
mod error;
mod http;
mod influxql;
mod line_protocol;
mod point;
pub mod query;
mod retry;
mod write;

pub use crate::admin::{FieldType, Privilege, RetentionPolicy, RetentionPolicySpec, User};
pub use crate::client::{Client, ClientBuilder, Pong};
pub use crate::error::{Error, Result};
pub use crate::http::AuthMethod;
pub use crate::influxql::{quote_ident, quote_literal, Query};
pub use crate::line_protocol::{EncodeOptions, LineWriter, PointWriter, ToLineProtocol};
pub use crate::point::{FieldValue, Point, Precision, Timestamp};
pub use crate::query::{QueryStream, Row, Value};
pub use crate::retry::RetryPolicy;
pub use crate::write::{FailedBatch, OnFailure, WriteOptions, WriteStats, Writer};

/// The README's examples, compiled as doc tests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
