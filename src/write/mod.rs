//! The write side: a batching [`Writer`] that is a `futures` [`Sink`].
//!
//! Made by [`Client::writer`]. Points are encoded as they arrive, straight
//! into the batch being filled; a background task sends each batch when it
//! reaches [`max_points`](WriteOptions::max_points) or
//! [`max_bytes`](WriteOptions::max_bytes), or when its
//! [`flush_interval`](WriteOptions::flush_interval) has passed, whether or not
//! anybody polls the sink.

mod options;
mod replicate;
mod shared;
mod spool;
mod stats;
mod task;

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Sink;

use crate::client::Client;
use crate::error::{self, Error};
use crate::line_protocol::{LineWriter, ToLineProtocol};

pub use self::options::{FailedBatch, Fsync, OnFailure, SpoolFull, WriteOptions};
pub use self::replicate::ReplicatedWriter;
use self::shared::Shared;
pub use self::stats::WriteStats;

/// A batching writer: a cloneable handle that is a [`Sink`] of anything that
/// writes itself as line protocol.
///
/// # What flushing means
/// `forward` calls `poll_flush` each time its input is momentarily empty, so
/// `poll_flush` must not cut batches, or a trickle of points would become a
/// request per point. Here:
/// - `poll_flush` (`SinkExt::flush`) waits until every point this handle has
///   given so far is acknowledged by the server, **without** cutting the
///   batch early: it resolves once the batch is sent, at the latest one
///   `flush_interval` plus a request later. So `forward` keeps batching, and
///   `send_all` ends with everything on the server.
/// - [`Writer::flush`] (the inherent method, which `writer.flush()` calls)
///   sends the partial batch **now** and resolves once everything given to
///   the writer so far is acknowledged, returning the failures of the batches
///   since this handle's previous flush.
/// - `poll_close` (`SinkExt::close`, the end of `forward`) and
///   [`Writer::close`] send at once and wait likewise.
///
/// After any of them resolves `Ok`, every point given before it is on the
/// server: except under [`OnFailure::Continue`] (the default), where the
/// `Sink`'s `poll_flush` does not report failed batches, so that a `forward`
/// is not ended by one bad batch; `close` and [`Writer::flush`] always do.
///
/// With a [spool](WriteOptions::spool), all of these resolve once the
/// points are in the spool (durable as its [`Fsync`] policy says) rather
/// than on the server; [`Writer::drain`] waits for the server.
///
/// # Backpressure
/// `poll_ready` is pending while `max_queued_batches` full batches wait for
/// a request slot (with a spool: for room in the spool), so memory stays
/// bounded however slow the server is.
///
/// # Examples
/// ```no_run
/// use futures::{stream, StreamExt};
/// use influx_stream::{Client, Point, WriteOptions};
///
/// # async fn run() -> Result<(), influx_stream::Error> {
/// let client = Client::builder("http://127.0.0.1:8086").database("telemetry").build()?;
/// let writer = client.writer(WriteOptions::new().max_points(5_000))?;
/// let points = stream::iter(0..100_000).map(|i| {
///     Ok(Point::new("cpu").field("value", i as f64).timestamp(i))
/// });
/// points.forward(writer).await?; // ends with close(): all acknowledged
/// # Ok(()) }
/// ```
#[must_use = "a writer sends nothing unless points are given to it"]
pub struct Writer {
    shared: Arc<Shared>,
    /// The batch this handle's latest point went into.
    last_seq: u64,
    /// Failures of batches up to here were already reported to this handle.
    reported_upto: u64,
    /// With a spool: failures up to this number were reported to this
    /// handle (spooled batches finish after the flush that made them
    /// durable, so they are reported by the next one).
    reported_failures: u64,
    /// `Some(n)` once closing: wait for batches up to `n`.
    closing: Option<u64>,
    closed: bool,
    /// Items are encoded here, outside the shared lock (an item's own
    /// `ToLineProtocol` code may be slow), then appended under it.
    scratch: Vec<u8>,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("options", &self.shared.options)
            .field("last_seq", &self.last_seq)
            .field("closed", &self.closed)
            .finish()
    }
}

impl Client {
    /// A batching [`Writer`] writing with this client's database, retention
    /// policy and precision unless `options` name others. Spawns the writer
    /// task on the current Tokio runtime.
    ///
    /// # Errors
    /// Invalid options, or no Tokio runtime to run the writer task on.
    pub fn writer(&self, options: WriteOptions) -> Result<Writer, Error> {
        options.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            error::builder(
                "Client::writer must be called within a Tokio runtime (it spawns the writer task)",
            )
        })?;
        let mut client = self.clone();
        if let Some(db) = &options.database {
            client = client.with_database(db.as_str());
        }
        if let Some(rp) = &options.retention_policy {
            client = client.with_retention_policy(rp.as_str());
        }
        if let Some(p) = options.precision {
            client = client.with_precision(p);
        }
        // A batch the endpoint cannot take would fail at every send.
        client.check_write_api()?;
        let gzip = options.gzip.unwrap_or(client.gzip_enabled());
        if gzip && !cfg!(feature = "gzip") {
            return Err(error::builder("gzip needs the crate feature \"gzip\""));
        }
        let encode = client.encode_options();
        let spool = match &options.spool {
            Some(s) => Some(spool::Spool::open(s, options.max_bytes)?),
            None => None,
        };
        let shared = Arc::new(Shared::new(options, client, encode, gzip));
        match spool {
            Some(spool) => {
                let _ = shared.counters.spool_bytes.set(spool.bytes.clone());
                let _ = shared.counters.spool_syncs.set(spool.syncs.clone());
                runtime.spawn(task::run_spooled(task::EndGuard(shared.clone()), spool));
            }
            None => {
                runtime.spawn(task::run(task::EndGuard(shared.clone())));
            }
        }
        Ok(Writer {
            shared,
            last_seq: 0,
            reported_upto: 0,
            reported_failures: 0,
            closing: None,
            closed: false,
            scratch: Vec::new(),
        })
    }

    /// Same as [`Client::writer`]: a batching [`Writer`], which is a `Sink`.
    ///
    /// # Errors
    /// As [`Client::writer`].
    pub fn sink(&self, options: WriteOptions) -> Result<Writer, Error> {
        self.writer(options)
    }
}

impl Clone for Writer {
    /// Another handle on the same batches and writer task. Its flushes and
    /// close report the failures of batches sealed after the clone was made.
    fn clone(&self) -> Self {
        let mut state = self.shared.lock();
        state.handles += 1;
        let reported_upto = state.last_sealed();
        let reported_failures = state.failure_count;
        drop(state);
        Writer {
            shared: self.shared.clone(),
            last_seq: 0,
            reported_upto,
            reported_failures,
            closing: None,
            closed: false,
            scratch: Vec::new(),
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.handles = state.handles.saturating_sub(1);
        if state.handles == 0 {
            self.shared.wake_task.notify_one();
        }
    }
}

impl Writer {
    /// The writer's counters.
    pub fn stats(&self) -> WriteStats {
        let state = self.shared.lock();
        let mut stats = self.shared.counters.snapshot();
        stats.points_accepted += state.current.points;
        stats.batches_queued = state.sealed.len() as u64;
        stats.batches_in_flight = state.in_flight as u64;
        stats
    }

    /// The server this writer sends to (with failover, the one in use).
    pub fn server(&self) -> String {
        self.shared.client.active_url()
    }

    /// The options this writer runs with.
    pub fn options(&self) -> &WriteOptions {
        &self.shared.options
    }

    /// Adds an item to the current batch without waiting for room: the
    /// synchronous way in, for producers that are not async. Prefer the
    /// `Sink` (or [`Writer::send`]), which waits while the queue is full.
    ///
    /// # Errors
    /// An item that cannot be encoded (nothing of it is added), or a writer
    /// that has stopped.
    pub fn push<T: ToLineProtocol + ?Sized>(&mut self, item: &T) -> Result<(), Error> {
        let lines = self.encode(item)?;
        self.append_encoded(lines)
    }

    /// Encodes `item` into this handle's scratch buffer: its number of
    /// points.
    pub(crate) fn encode<T: ToLineProtocol + ?Sized>(&mut self, item: &T) -> Result<u64, Error> {
        if self.closed {
            return Err(error::closed("this writer handle was closed"));
        }
        self.scratch.clear();
        let mut w = LineWriter::new(&mut self.scratch, self.shared.encode);
        w.write(item)?;
        Ok(w.lines() as u64)
    }

    /// Appends what [`Writer::encode`] left in the scratch buffer.
    pub(crate) fn append_encoded(&mut self, lines: u64) -> Result<(), Error> {
        let mut state = self.shared.lock();
        if let Some(e) = &state.stopped {
            return Err(e.clone());
        }
        if state.task_ended {
            return Err(error::closed(
                "the writer task has ended (was its Tokio runtime shut down?)",
            ));
        }
        if let Some(e) = self.spool_full(&state) {
            return Err(e.with_points_dropped(lines));
        }
        self.last_seq = state.push_encoded(&self.shared, &self.scratch, lines);
        Ok(())
    }

    /// Waits for room, then adds an item to the current batch. It does not
    /// wait for the server: see [`Writer::flush`].
    ///
    /// # Errors
    /// As [`Writer::push`].
    pub async fn send<T: ToLineProtocol + ?Sized>(&mut self, item: &T) -> Result<(), Error> {
        futures::future::poll_fn(|cx| self.poll_room(cx)).await?;
        self.push(item)
    }

    pub(crate) fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.closed {
            return Poll::Ready(Err(error::closed("this writer handle was closed")));
        }
        if self.shared.room_hint() {
            return Poll::Ready(Ok(()));
        }
        let mut state = self.shared.lock();
        if let Some(e) = &state.stopped {
            return Poll::Ready(Err(e.clone()));
        }
        if state.task_ended {
            return Poll::Ready(Err(error::closed(
                "the writer task has ended (was its Tokio runtime shut down?)",
            )));
        }
        if self.shared.has_room(&state) {
            return Poll::Ready(Ok(()));
        }
        if let Some(e) = self.spool_full(&state) {
            return Poll::Ready(Err(e));
        }
        state.wait_ready(cx.waker());
        Poll::Pending
    }

    /// Under [`SpoolFull::Error`], the error for a point that finds the
    /// spool full and no room left in memory.
    fn spool_full(&self, state: &shared::State) -> Option<Error> {
        let spool = self.shared.options.spool.as_ref()?;
        if spool.when_full != SpoolFull::Error || !state.spool_full || self.shared.has_room(state) {
            return None;
        }
        Some(error::spool(format!(
            "the spool in {} is full ({} bytes of batches the server has not acknowledged yet), so the point was not taken: try again later, or raise WriteOptions::spool_max_bytes",
            spool.dir.display(),
            spool.max_bytes
        )))
    }

    /// Sends the partial batch now and waits until everything given to the
    /// writer so far (by any handle) is acknowledged or has failed for good.
    ///
    /// # Errors
    /// The failures of batches sealed since this handle's previous flush, as
    /// one error: the first failure, with [`Error::points_dropped`] counting
    /// the points of all of them.
    ///
    /// With a [spool](WriteOptions::spool) it waits until those points are
    /// in the spool instead (fsynced now, whatever the
    /// [`Fsync`] policy, unless it is [`Fsync::Never`]), and reports the
    /// batches that failed for good since this handle's previous flush;
    /// [`Writer::drain`] waits for the server.
    pub async fn flush(&mut self) -> Result<(), Error> {
        let target = {
            let mut state = self.shared.lock();
            state.seal(&self.shared);
            if self.shared.options.spool.is_some() {
                state.sync_requested = true;
                self.shared.wake_task.notify_one();
            }
            state.last_sealed()
        };
        futures::future::poll_fn(|cx| self.poll_done(cx, target, true)).await
    }

    /// Sends the partial batch now and waits until everything given to the
    /// writer so far, and everything an earlier process left in the spool,
    /// is acknowledged by the server or has failed for good. Without a
    /// spool, the same as [`Writer::flush`].
    ///
    /// With a spool, batches that fail in a way that may pass (the server
    /// is down) are retried for as long as the writer runs, so this waits
    /// until the server takes them: put a timeout around it if that must
    /// not be forever (the batches stay in the spool either way).
    ///
    /// # Errors
    /// As [`Writer::flush`].
    pub async fn drain(&mut self) -> Result<(), Error> {
        if self.shared.options.spool.is_none() {
            return self.flush().await;
        }
        let target = {
            let mut state = self.shared.lock();
            state.seal(&self.shared);
            state.last_sealed()
        };
        futures::future::poll_fn(|cx| {
            let mut state = self.shared.lock();
            let replayed = state.replay_left == Some(0);
            if state.completed_upto >= target && replayed {
                let failures = state.failures_since(self.reported_failures);
                self.reported_failures = state.failure_count;
                return Poll::Ready(failures.map_or(Ok(()), Err));
            }
            if state.task_ended {
                let missing = target.saturating_sub(state.completed_upto);
                return Poll::Ready(Err(error::closed(format!(
                    "the writer task has ended with {missing} batch(es) of this writer not confirmed by the server; spooled ones stay in the spool for the next writer"
                ))));
            }
            state.wait_flush(cx.waker());
            Poll::Pending
        })
        .await
    }

    /// Flushes, then closes this handle: it accepts no more points. The
    /// writer task ends once every handle is closed or dropped.
    ///
    /// # Errors
    /// As [`Writer::flush`].
    pub async fn close(&mut self) -> Result<(), Error> {
        let result = self.flush().await;
        self.closed = true;
        result
    }

    /// Ready once batches up to `target` have completed; then reports the
    /// failures since the last report (when `report`, or in `Stop` mode).
    fn poll_done(
        &mut self,
        cx: &mut Context<'_>,
        target: u64,
        report: bool,
    ) -> Poll<Result<(), Error>> {
        if self.shared.options.spool.is_some() {
            return self.poll_spooled(cx, target, report);
        }
        let mut state = self.shared.lock();
        if state.completed_upto < target {
            if state.task_ended {
                // Nothing more will complete (the runtime that ran the task
                // was shut down): say so rather than wait forever.
                let missing = target - state.completed_upto;
                let mut err = error::closed(format!(
                    "the writer task has ended (was its Tokio runtime shut down?); {missing} batch(es) were not confirmed"
                ));
                if state.lost_points > 0 {
                    err = err.with_points_dropped(state.lost_points);
                }
                return Poll::Ready(Err(err));
            }
            state.wait_flush(cx.waker());
            return Poll::Pending;
        }
        let stop_mode = self.shared.options.on_failure == OnFailure::Stop;
        if report || stop_mode {
            let failures = state.failures_between(self.reported_upto, target);
            self.reported_upto = self.reported_upto.max(target);
            if let Some(e) = failures {
                return Poll::Ready(Err(e));
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl Writer {
    /// [`Writer::poll_done`] with a spool: ready once batches up to
    /// `target` are durable in it.
    fn poll_spooled(
        &mut self,
        cx: &mut Context<'_>,
        target: u64,
        report: bool,
    ) -> Poll<Result<(), Error>> {
        let mut state = self.shared.lock();
        if state.durable_upto < target {
            if let Some(e) = &state.stopped {
                return Poll::Ready(Err(e.clone()));
            }
            if state.task_ended {
                let missing = target - state.durable_upto;
                return Poll::Ready(Err(error::closed(format!(
                    "the writer task has ended (was its Tokio runtime shut down?); {missing} batch(es) did not reach the spool"
                ))));
            }
            state.wait_flush(cx.waker());
            return Poll::Pending;
        }
        let stop_mode = self.shared.options.on_failure == OnFailure::Stop;
        if report || stop_mode {
            let failures = state.failures_since(self.reported_failures);
            self.reported_failures = state.failure_count;
            if let Some(e) = failures {
                return Poll::Ready(Err(e));
            }
            // A spool that failed: the points were sent from memory, not
            // made durable, and the flush must say so.
            if let Some(e) = &state.stopped {
                if e.is_spool() {
                    return Poll::Ready(Err(e.clone()));
                }
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// A sink of anything that writes itself as line protocol: points,
/// references to them, your own types, raw lines.
impl<I: ToLineProtocol> Sink<I> for Writer {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_room(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: I) -> Result<(), Error> {
        self.get_mut().push(&item)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        let target = this.last_seq;
        this.poll_done(cx, target, false)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        let target = match this.closing {
            Some(t) => t,
            None => {
                let mut state = this.shared.lock();
                state.seal(&this.shared);
                let t = state.last_sealed();
                drop(state);
                this.closing = Some(t);
                t
            }
        };
        let result = futures::ready!(this.poll_done(cx, target, true));
        this.closed = true;
        Poll::Ready(result)
    }
}
