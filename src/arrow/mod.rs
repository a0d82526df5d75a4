//! Columnar data: Arrow [`RecordBatch`]es in and out (feature `arrow`).
//!
//! - **Write**: [`ArrowWrite`] maps a batch's columns onto measurement, time,
//!   tags and fields, and is a [`ToLineProtocol`](crate::ToLineProtocol): give
//!   it to [`Client::write`](crate::Client::write) or to the batching
//!   [`Writer`](crate::Writer).
//! - **Read**: [`Client::query_arrow`](crate::Client::query_arrow) streams a
//!   query's result as `RecordBatch`es, one per series chunk, typed by
//!   `SHOW FIELD KEYS`.
//!
//! This crate is built against arrow 54; [`arrow_array`] and [`arrow_schema`]
//! are re-exported so that your code can name the same versions.
//!
//! # Type mapping
//!
//! | InfluxDB | written from | read back as |
//! | --- | --- | --- |
//! | time | `Timestamp` of any unit, or `Int64` nanoseconds | `Timestamp(Nanosecond, "+00:00")` |
//! | tag (`GROUP BY`) | `Utf8`, `LargeUtf8`, `Utf8View`, `Dictionary` of those | `Dictionary(Int32, Utf8)` |
//! | tag selected as a column | | `Utf8` |
//! | float field | `Float16`, `Float32`, `Float64` | `Float64` |
//! | integer field | `Int8` .. `Int64`, `UInt8` .. `UInt32` | `Int64` |
//! | unsigned field | `UInt64` (see [`EncodeOptions::unsigned_as_integer`](crate::EncodeOptions::unsigned_as_integer)) | `UInt64` |
//! | string field | `Utf8`, `LargeUtf8`, `Utf8View`, `Dictionary` of those | `Utf8` |
//! | boolean field | `Boolean` | `Boolean` |
//! | aggregate, expression | | `Float64` (see [`Client::query_arrow`](crate::Client::query_arrow)) |

mod read;
mod write;

pub use arrow_array;
pub use arrow_schema;

pub use write::{ArrowWrite, ArrowWriteSummary};

#[doc(no_inline)]
pub use arrow_array::RecordBatch;
