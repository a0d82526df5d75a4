//! What query results are made of, beside [`Row`],
//! [`Value`], [`QueryStream`](crate::QueryStream) and
//! [`FromRow`] at the crate's root.
//!
//! # What to use for what
//!
//! | you want | use | items |
//! | --- | --- | --- |
//! | rows of any query, values by column name | [`Client::query`](crate::Client::query) | [`Row`] of [`Value`]s, sharing a [`SeriesMeta`] |
//! | your own structs | [`Client::query_rows`](crate::Client::query_rows) with `#[derive(FromRow)]` | your type; [`FromRowField`], [`FromValue`], [`RowValues`] to implement [`FromRow`] by hand |
//! | `serde::Deserialize` types you cannot derive `FromRow` for | [`Client::query_as`](crate::Client::query_as), [`Row::deserialize`] | [`deserialize_row`] |
//! | the series as the server sent them, a chunk at a time | [`Client::query_chunks`](crate::Client::query_chunks) | [`Chunk`], [`SeriesChunk`], [`SeriesRows`] |
//! | columns (Arrow `RecordBatch`es) | `Client::query_arrow` (feature `arrow`) | |
//! | the whole response as JSON (small results) | [`Client::query_json`](crate::Client::query_json) | |
//!
//! Every stream is a [`QueryStream`](crate::QueryStream); a value that does
//! not fit the type asked for is a [`DecodeError`] inside the item's
//! [`Error`](crate::Error).
//!
//! **Float fields:** InfluxDB prints a whole float as `12`; the rows and
//! chunks of the client make it a [`Value::Float`] by
//! the field types they learn (see [`Value`]), and `f64`
//! fields of your types accept it either way.
#![deny(missing_docs, missing_debug_implementations)]

pub(crate) mod de;
pub(crate) mod decode;
mod error;
pub(crate) mod from_row;
pub(crate) mod jsonl;
pub(crate) mod row;
mod scan;
pub(crate) mod stream;
pub(crate) mod value;
mod wire;

pub use de::deserialize_row;
pub use decode::Chunk;
pub(crate) use decode::{DecodeOptions, Decoder, Event};
pub use error::DecodeError;
pub(crate) use from_row::{FromRow, Resolved};
pub use from_row::{FromRowField, FromValue, RowValues};
pub(crate) use row::Row;
pub use row::{ColumnIndex, SeriesChunk, SeriesMeta, SeriesRows};
pub use value::Text;
pub(crate) use value::{time_format, TimeFormat, Value};
