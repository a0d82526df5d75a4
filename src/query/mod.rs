//! Decoding InfluxDB 1.x query responses: a pure, incremental parser (no I/O).
//!
//! - [`Decoder`] takes body bytes cut anywhere and gives [`Event`]s (one
//!   [`Row`] at a time) or [`Chunk`]s (one series object at a time), for both
//!   single-document and chunked (newline-delimited) responses.
//! - [`Row`] holds [`Value`]s and an `Arc` to the [`SeriesMeta`] (statement,
//!   name, tags, columns) it shares with the rest of its series.
//! - [`deserialize_row`] maps a row onto any `serde::Deserialize` type by
//!   column and tag names.
//!
//! **Float fields:** InfluxDB prints a whole float as `12`, so the
//! [`Decoder`] makes it a [`Value::Integer`]; the client's streams
//! ([`Client::query`](crate::Client::query),
//! [`Client::query_chunks`](crate::Client::query_chunks)) make it a
//! [`Value::Float`] by the field types they learn (see [`Value`]).
#![deny(missing_docs, missing_debug_implementations)]

mod de;
mod decode;
mod error;
mod from_row;
pub(crate) mod jsonl;
mod layout;
mod row;
mod scan;
mod stream;
mod value;
mod wire;

#[cfg(test)]
mod tests;

pub use de::deserialize_row;
pub use decode::{Chunk, DecodeOptions, Decoder, Event, EventAs};
pub use error::DecodeError;
#[doc(hidden)]
pub use from_row::BenchRows;
pub(crate) use from_row::Resolved;
pub use from_row::{FromRow, FromRowField, FromValue, RowValues};
pub use row::{ColumnIndex, Row, SeriesChunk, SeriesMeta, SeriesRows};
pub(crate) use stream::time_format;
pub use stream::QueryStream;
pub use value::{Text, TimeFormat, Value};
