//! A blocking client, for programs without an async runtime (feature
//! `blocking`, on by default).
//!
//! [`Client`] mirrors [`crate::Client`]: the same builder, writes, JSON
//! queries and administration helpers, each call blocking until it is done;
//! [`Client::query`] gives an [`Iterator`] of rows that streams like the
//! async [`QueryStream`](crate::QueryStream); [`Client::writer`] gives a
//! batching [`Writer`] with backpressure.
//!
//! # How it works
//! As in `reqwest::blocking`: building a client starts one named thread
//! (`influx-blocking`) running a `current_thread` Tokio runtime, which owns
//! the async client. Calls are sent to it and the caller waits for the
//! answer. Clients, writers and query iterators made from a client share that
//! thread; when the last of them is dropped, the thread finishes what is
//! still running (a dropped writer's last points) and ends, and the
//! dropping thread joins it (unless it is inside an async runtime, which
//! must not block: the thread then ends on its own).
//!
//! # Inside an async runtime
//! Blocking there would stall the runtime, or deadlock it, so every blocking
//! call made inside a Tokio runtime (including `spawn_blocking` threads,
//! which cannot be told apart) returns an error for which
//! [`Error::is_runtime`](crate::Error::is_runtime) is true, instead of
//! panicking. Use the async [`crate::Client`] there.
//!
//! ```no_run
//! use influx_stream::{blocking, Point, WriteOptions};
//!
//! # fn run() -> Result<(), influx_stream::Error> {
//! let client = blocking::Client::builder("http://127.0.0.1:8086")
//!     .database("telemetry")
//!     .build()?;
//! let mut writer = client.writer(WriteOptions::new())?;
//! for i in 0..10_000 {
//!     writer.send(&Point::new("cpu").field("usage", i as f64).timestamp(i))?;
//! }
//! writer.close()?;
//! let rows = client.query("SELECT count(usage) FROM cpu").collect::<Result<Vec<_>, _>>()?;
//! println!("{:?}", rows[0].get("count"));
//! # Ok(()) }
//! ```

mod client;
mod query;
mod runtime;
mod writer;

pub use self::client::{Client, ClientBuilder};
pub use self::query::QueryIter;
pub use self::writer::Writer;
