//! Every point to several servers: one [`Writer`] per server behind one
//! `Sink`.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Sink;

use super::{WriteStats, Writer};
use crate::error::{self, Error};
use crate::line_protocol::ToLineProtocol;

/// A `Sink` that writes every point to several servers, each through its
/// own [`Writer`]: its own batches, queue, requests in flight, retries (and
/// options). A slow or stopped server holds the others back only once its
/// own queue (`max_queued_batches`) is full; until then the others go on
/// at their own pace.
///
/// An item is encoded for every server before it goes into any of them,
/// so one a server's options refuse (for example a string field for
/// VictoriaMetrics) goes to none. Flushes and `close` wait for every
/// server and report the first failure, naming its server; the counters
/// of each are in [`ReplicatedWriter::stats`]. For reading, build a client
/// with [`ClientBuilder::failover`](crate::ClientBuilder::failover) over
/// the same servers.
///
/// ```no_run
/// use futures::{stream, StreamExt};
/// use influx_stream::{Client, Point, ReplicatedWriter, WriteOptions};
///
/// # async fn run() -> Result<(), influx_stream::Error> {
/// let mut writers = Vec::new();
/// for url in ["http://influx-a:8086", "http://influx-b:8086"] {
///     let client = Client::builder(url).database("telemetry").build()?;
///     writers.push(client.writer(WriteOptions::new())?);
/// }
/// let replicas = ReplicatedWriter::new(writers)?;
/// let points = stream::iter(0..10_000).map(|i| Ok(Point::new("cpu").field("v", i).timestamp(i)));
/// points.forward(replicas).await?; // every point on both servers
/// # Ok(()) }
/// ```
#[must_use = "a writer sends nothing unless points are given to it"]
pub struct ReplicatedWriter {
    writers: Vec<Writer>,
    /// A failure one writer reported while others were still busy: given
    /// once all are done, so `close` never returns before every server is
    /// settled.
    held: Option<Error>,
}

impl fmt::Debug for ReplicatedWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.writers.iter().map(|w| w.server()))
            .finish()
    }
}

impl ReplicatedWriter {
    /// Writes to every server of `writers` (one per server).
    ///
    /// # Errors
    /// No writers at all.
    pub fn new(writers: Vec<Writer>) -> Result<Self, Error> {
        if writers.is_empty() {
            return Err(error::builder("ReplicatedWriter::new: no writers given"));
        }
        Ok(ReplicatedWriter {
            writers,
            held: None,
        })
    }

    /// Each server's URL and counters, in the order the writers were given.
    pub fn stats(&self) -> Vec<(String, WriteStats)> {
        self.writers
            .iter()
            .map(|w| (w.server(), w.stats()))
            .collect()
    }

    /// Adds an item to every server's current batch without waiting for
    /// room (see [`Writer::push`]).
    ///
    /// # Errors
    /// An item one of the servers' options cannot encode (it goes to none),
    /// or a writer that has stopped.
    pub fn push<T: ToLineProtocol + ?Sized>(&mut self, item: &T) -> Result<(), Error> {
        let mut lines = Vec::with_capacity(self.writers.len());
        for w in &mut self.writers {
            lines.push(w.encode(item).map_err(|e| at(w, e))?);
        }
        for (w, lines) in self.writers.iter_mut().zip(lines) {
            w.append_encoded(lines).map_err(|e| at(w, e))?;
        }
        Ok(())
    }

    /// Sends every server's partial batch now and waits until everything
    /// given so far is acknowledged by every server or has failed for good
    /// (see [`Writer::flush`]).
    ///
    /// # Errors
    /// The first server's failures (by the order of the writers), naming
    /// the server, after waiting for all of them.
    pub async fn flush(&mut self) -> Result<(), Error> {
        self.on_every(Step::Flush).await
    }

    /// Waits until every server has acknowledged everything given so far,
    /// spooled batches included (see [`Writer::drain`]): with spools, a
    /// server that is down is waited for, so put a timeout around it if
    /// that must not be forever.
    ///
    /// # Errors
    /// As [`ReplicatedWriter::flush`].
    pub async fn drain(&mut self) -> Result<(), Error> {
        self.on_every(Step::Drain).await
    }

    /// Flushes, then closes every writer (see [`Writer::close`]).
    ///
    /// # Errors
    /// As [`ReplicatedWriter::flush`].
    pub async fn close(&mut self) -> Result<(), Error> {
        self.on_every(Step::Close).await
    }

    /// Runs `step` on every writer at once and waits for all of them; then
    /// the first failure, naming its server.
    async fn on_every(&mut self, step: Step) -> Result<(), Error> {
        let results = futures::future::join_all(self.writers.iter_mut().map(|w| async move {
            let result = match step {
                Step::Flush => w.flush().await,
                Step::Drain => w.drain().await,
                Step::Close => w.close().await,
            };
            result.map_err(|e| at(w, e))
        }))
        .await;
        results.into_iter().collect()
    }

    /// Polls every writer (so each registers its waker) and is ready once
    /// all are; then the first error seen, naming its server.
    fn poll_all(
        &mut self,
        cx: &mut Context<'_>,
        mut poll: impl FnMut(&mut Writer, &mut Context<'_>) -> Poll<Result<(), Error>>,
    ) -> Poll<Result<(), Error>> {
        let mut pending = false;
        for w in &mut self.writers {
            match poll(w, cx) {
                Poll::Pending => pending = true,
                Poll::Ready(Err(e)) if self.held.is_none() => self.held = Some(at(w, e)),
                Poll::Ready(_) => {}
            }
        }
        if pending {
            return Poll::Pending;
        }
        match self.held.take() {
            Some(e) => Poll::Ready(Err(e)),
            None => Poll::Ready(Ok(())),
        }
    }
}

/// Names the server an error came from.
fn at(w: &Writer, e: Error) -> Error {
    e.with_context(format!("server {}", w.server()))
}

impl<I: ToLineProtocol> Sink<I> for ReplicatedWriter {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_all(cx, |w, cx| w.poll_room(cx))
    }

    fn start_send(self: Pin<&mut Self>, item: I) -> Result<(), Error> {
        self.get_mut().push(&item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut()
            .poll_all(cx, |w, cx| Sink::<I>::poll_flush(Pin::new(w), cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut()
            .poll_all(cx, |w, cx| Sink::<I>::poll_close(Pin::new(w), cx))
    }
}

/// What [`ReplicatedWriter::on_every`] asks of each writer.
#[derive(Clone, Copy)]
enum Step {
    Flush,
    Drain,
    Close,
}
