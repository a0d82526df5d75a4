//! The blocking batching [`Writer`].

use std::fmt;
use std::sync::Arc;

use super::runtime::{not_in_async, park_on, Runtime};
use crate::error::Error;
use crate::{ToLineProtocol, WriteOptions, WriteStats};

/// A blocking batching writer, made by
/// [`Client::writer`](super::Client::writer): the async [`crate::Writer`]
/// with the same options, batching, retries and failure reporting, its
/// writer task running on the client's runtime thread.
///
/// Points are encoded on the calling thread, straight into the current
/// batch. [`send`](Self::send) blocks while `max_queued_batches` full
/// batches wait to be sent (backpressure); [`flush`](Self::flush) and
/// [`close`](Self::close) send the partial batch at once and wait until
/// the server has acknowledged everything, reporting the batches that
/// failed for good.
///
/// Cloning gives another handle on the same batches (for several producer
/// threads). A handle dropped without [`close`](Self::close) is closed in
/// the background: its points are still sent (the last handle of the client
/// to be dropped waits for that), but failures reach only the
/// [`stats`](Self::stats), the [`failure_callback`](WriteOptions::failure_callback)
/// and a `tracing` warning.
///
/// ```no_run
/// use influx_stream::{blocking, Point, WriteOptions};
///
/// # fn run() -> Result<(), influx_stream::Error> {
/// let client = blocking::Client::builder("http://127.0.0.1:8086").database("telemetry").build()?;
/// let mut writer = client.writer(WriteOptions::new().max_points(5_000))?;
/// for i in 0..100_000 {
///     writer.send(&Point::new("cpu").field("value", i as f64).timestamp(i))?;
/// }
/// writer.close()?; // everything acknowledged, or the failures
/// println!("{:?}", writer.stats());
/// # Ok(()) }
/// ```
#[must_use = "a writer sends nothing unless points are given to it"]
pub struct Writer {
    inner: crate::Writer,
    closed: bool,
    runtime: Arc<Runtime>,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("blocking::Writer")
            .field("inner", &self.inner)
            .field("closed", &self.closed)
            .finish()
    }
}

impl Writer {
    pub(crate) fn new(inner: crate::Writer, runtime: Arc<Runtime>) -> Self {
        Writer {
            inner,
            closed: false,
            runtime,
        }
    }

    /// The writer's counters.
    pub fn stats(&self) -> WriteStats {
        self.inner.stats()
    }

    /// The options this writer runs with.
    pub fn options(&self) -> &WriteOptions {
        self.inner.options()
    }

    /// Waits for room, then adds an item to the current batch. It does not
    /// wait for the server: see [`flush`](Self::flush).
    ///
    /// # Errors
    /// An item that cannot be encoded (nothing of it is added), a writer
    /// that has stopped or was closed; [`Error::is_runtime`] inside an async
    /// runtime.
    pub fn send<T: ToLineProtocol + ?Sized>(&mut self, item: &T) -> Result<(), Error> {
        not_in_async()?;
        park_on(self.inner.send(item))
    }

    /// Adds an item to the current batch without waiting for room, even
    /// when the queue is full; never blocks. Prefer [`send`](Self::send).
    ///
    /// # Errors
    /// As [`send`](Self::send), but never [`Error::is_runtime`].
    pub fn push<T: ToLineProtocol + ?Sized>(&mut self, item: &T) -> Result<(), Error> {
        self.inner.push(item)
    }

    /// Sends the partial batch now and waits until everything given to the
    /// writer so far (by any handle) is acknowledged or has failed for good:
    /// see [`crate::Writer::flush`].
    ///
    /// # Errors
    /// The failures of batches sealed since this handle's previous flush, as
    /// one error: the first failure, with [`Error::points_dropped`] counting
    /// the points of all of them; [`Error::is_runtime`] inside an async
    /// runtime.
    pub fn flush(&mut self) -> Result<(), Error> {
        not_in_async()?;
        park_on(self.inner.flush())
    }

    /// Flushes, then closes this handle: it accepts no more points.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    pub fn close(&mut self) -> Result<(), Error> {
        not_in_async()?;
        let result = park_on(self.inner.close());
        self.closed = true;
        result
    }
}

impl Clone for Writer {
    /// Another handle on the same batches and writer task; see
    /// [`crate::Writer`]'s `Clone`.
    fn clone(&self) -> Self {
        Writer {
            inner: self.inner.clone(),
            closed: false,
            runtime: self.runtime.clone(),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self.closed {
            return;
        }
        // Close in the background: the runtime thread finishes this before
        // it ends, so the points go out even if this was the last handle.
        let mut handle = self.inner.clone();
        let closing = self.runtime.spawn(async move {
            if let Err(e) = handle.close().await {
                tracing::warn!(error = %e, "a blocking writer dropped without close() failed to write");
            }
        });
        if closing.is_err() {
            tracing::warn!("a blocking writer was dropped after its runtime thread stopped");
        }
    }
}
