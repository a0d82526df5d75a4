//! The state every writer handle and the writer task share: the batch being
//! filled, the sealed batches waiting to be sent, completion bookkeeping and
//! the wakers of those waiting on it.
//!
//! Handles encode an item in their own buffer, then append it to the
//! current batch under a short lock, so a point given with `feed` and then
//! left alone is still in the batch the task's timer cuts, and no user code
//! runs under the lock. Sealing is a move of the buffer, never a copy.

use std::collections::{BTreeSet, VecDeque};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::task::Waker;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::Notify;

use crate::client::Client;
use crate::error::Error;
use crate::line_protocol::EncodeOptions;
use crate::write::options::WriteOptions;
use crate::write::stats::Counters;

/// Failures kept for flushes to report; older ones are still counted.
const MAX_KEPT_FAILURES: usize = 4096;

pub(crate) struct Shared {
    state: Mutex<State>,
    /// Whether the queue has room and the writer takes points, as of the
    /// last time the state was unlocked: `poll_ready` reads it without
    /// locking, since under `forward` it runs once per point.
    room: AtomicBool,
    /// Wakes the writer task: a batch was sealed or started, or the last
    /// handle went away.
    pub(crate) wake_task: Notify,
    pub(crate) counters: Counters,
    pub(crate) options: WriteOptions,
    pub(crate) client: Client,
    pub(crate) encode: EncodeOptions,
    pub(crate) gzip: bool,
}

pub(crate) struct Batch {
    /// Batches are numbered from 1 in the order they are started.
    pub(crate) seq: u64,
    pub(crate) buf: Vec<u8>,
    pub(crate) points: u64,
    /// When the first point went in: the flush interval counts from here.
    pub(crate) started: Option<Instant>,
}

impl Batch {
    fn new(seq: u64, capacity: usize) -> Self {
        Batch {
            seq,
            buf: Vec::with_capacity(capacity),
            points: 0,
            started: None,
        }
    }
}

/// A batch on its way to the server.
pub(crate) struct Sealed {
    pub(crate) seq: u64,
    pub(crate) body: Bytes,
    pub(crate) points: u64,
}

pub(crate) struct Failure {
    pub(crate) seq: u64,
    /// Failures are numbered from 1 in the order they happen (a spooled
    /// writer reports by this, since its batches finish long after the
    /// flush that made them durable).
    pub(crate) order: u64,
    pub(crate) error: Error,
    pub(crate) points: u64,
}

pub(crate) struct State {
    pub(crate) current: Batch,
    pub(crate) sealed: VecDeque<Sealed>,
    pub(crate) in_flight: usize,
    /// Every batch numbered up to here has completed (written or failed).
    pub(crate) completed_upto: u64,
    completed_ahead: BTreeSet<u64>,
    failures: VecDeque<Failure>,
    ready_waiters: Vec<Waker>,
    flush_waiters: Vec<Waker>,
    /// Set when the writer accepts no more points: a failure under
    /// `OnFailure::Stop`, or the writer task is gone.
    pub(crate) stopped: Option<Error>,
    pub(crate) handles: usize,
    /// The writer task has ended, normally or because its runtime stopped.
    pub(crate) task_ended: bool,
    /// Points left unsent or unconfirmed when the task was dropped with its
    /// runtime.
    pub(crate) lost_points: u64,
    /// With a spool: every batch numbered up to here is in the spool
    /// (fsynced as the options say), or was sent from memory after the
    /// spool failed (then `stopped` says so).
    pub(crate) durable_upto: u64,
    /// Failures recorded so far (the last `Failure::order`).
    pub(crate) failure_count: u64,
    /// `Writer::flush` asks for an fsync now (under `Fsync::Interval`).
    pub(crate) sync_requested: bool,
    /// The spool is at its size limit with batches waiting for it.
    pub(crate) spool_full: bool,
    /// Batches an earlier process left in the spool and not yet done;
    /// `None` until the spool has been read.
    pub(crate) replay_left: Option<u64>,
    /// A spooled batch keeps failing past the retry budget (the server is
    /// down): once every handle is gone, the task ends and leaves the rest
    /// in the spool.
    pub(crate) stalled: bool,
    /// Points of batches handed to the spool thread and not yet confirmed.
    pub(crate) appending_points: u64,
    /// Capacity for the next batch buffer: the last batch's size, so a
    /// steady stream fills each buffer without reallocating.
    next_capacity: usize,
}

impl Shared {
    pub(crate) fn new(
        options: WriteOptions,
        client: Client,
        encode: EncodeOptions,
        gzip: bool,
    ) -> Self {
        let capacity = options.max_bytes.min(64 * 1024);
        Shared {
            state: Mutex::new(State {
                current: Batch::new(1, capacity),
                sealed: VecDeque::new(),
                in_flight: 0,
                completed_upto: 0,
                completed_ahead: BTreeSet::new(),
                failures: VecDeque::new(),
                ready_waiters: Vec::new(),
                flush_waiters: Vec::new(),
                stopped: None,
                handles: 1,
                task_ended: false,
                lost_points: 0,
                durable_upto: 0,
                failure_count: 0,
                sync_requested: false,
                spool_full: false,
                replay_left: None,
                stalled: false,
                appending_points: 0,
                next_capacity: capacity,
            }),
            room: AtomicBool::new(true),
            wake_task: Notify::new(),
            counters: Counters::default(),
            options,
            client,
            encode,
            gzip,
        }
    }

    pub(crate) fn lock(&self) -> Locked<'_> {
        // A panic while holding the lock cannot leave the state half-updated
        // in a way that matters more than losing the writer, so go on.
        Locked {
            guard: self.state.lock().unwrap_or_else(|e| e.into_inner()),
            shared: self,
        }
    }

    pub(crate) fn has_room(&self, state: &State) -> bool {
        state.sealed.len() < self.options.max_queued_batches.max(1)
    }

    /// The queue had room and the writer took points when the state was
    /// last unlocked. A hint: `push` checks again under the lock, and a
    /// producer told "no room" registers under the lock before waiting.
    pub(crate) fn room_hint(&self) -> bool {
        self.room.load(Ordering::Acquire)
    }
}

/// The locked state; unlocking records [`Shared::room_hint`].
pub(crate) struct Locked<'a> {
    guard: MutexGuard<'a, State>,
    shared: &'a Shared,
}

impl Deref for Locked<'_> {
    type Target = State;

    fn deref(&self) -> &State {
        &self.guard
    }
}

impl DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.guard
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let state = &*self.guard;
        let room = state.stopped.is_none() && !state.task_ended && self.shared.has_room(state);
        self.shared.room.store(room, Ordering::Release);
    }
}

impl State {
    /// Appends an encoded item (`lines` points) to the current batch;
    /// returns the number of the batch it went into. Seals batches that
    /// reached a limit.
    pub(crate) fn push_encoded(&mut self, shared: &Shared, encoded: &[u8], lines: u64) -> u64 {
        if encoded.is_empty() {
            return self.current.seq;
        }
        let opts = &shared.options;
        if !self.current.buf.is_empty() && self.current.buf.len() + encoded.len() > opts.max_bytes {
            // The item does not fit: seal what is there, and start the next
            // batch with the item.
            self.seal(shared);
        }
        if self.current.started.is_none() {
            self.current.started = Some(Instant::now());
            shared.wake_task.notify_one();
        }
        self.current.buf.extend_from_slice(encoded);
        self.current.points += lines;
        let seq = self.current.seq;
        if self.current.points >= opts.max_points as u64 || self.current.buf.len() >= opts.max_bytes
        {
            self.seal(shared);
        }
        seq
    }

    /// Moves the current batch, if it has points, to the send queue.
    pub(crate) fn seal(&mut self, shared: &Shared) {
        if self.current.points == 0 && self.current.buf.is_empty() {
            return;
        }
        let next = Batch::new(self.current.seq + 1, self.next_capacity);
        let batch = std::mem::replace(&mut self.current, next);
        // Counted here rather than per point: one atomic add a batch (the
        // open batch's points are added in `Writer::stats`).
        Counters::add(&shared.counters.points_accepted, batch.points);
        self.next_capacity = batch.buf.len().clamp(1024, shared.options.max_bytes) + 256;
        self.sealed.push_back(Sealed {
            seq: batch.seq,
            body: Bytes::from(batch.buf),
            points: batch.points,
        });
        shared.wake_task.notify_one();
    }

    /// The highest batch number sealed so far.
    pub(crate) fn last_sealed(&self) -> u64 {
        self.current.seq - 1
    }

    /// Records failures (numbering them) without completing a batch.
    pub(crate) fn record_failures(&mut self, failures: Vec<Failure>) {
        for mut f in failures {
            self.failure_count += 1;
            f.order = self.failure_count;
            self.failures.push_back(f);
        }
        while self.failures.len() > MAX_KEPT_FAILURES {
            self.failures.pop_front();
        }
    }

    pub(crate) fn complete(&mut self, seq: u64, failures: Vec<Failure>) {
        self.record_failures(failures);
        while self.failures.len() > MAX_KEPT_FAILURES {
            self.failures.pop_front();
        }
        if seq == self.completed_upto + 1 {
            self.completed_upto = seq;
            while self.completed_ahead.remove(&(self.completed_upto + 1)) {
                self.completed_upto += 1;
            }
        } else {
            self.completed_ahead.insert(seq);
        }
        for w in self.flush_waiters.drain(..) {
            w.wake();
        }
    }

    pub(crate) fn wait_ready(&mut self, waker: &Waker) {
        if !self.ready_waiters.iter().any(|w| w.will_wake(waker)) {
            self.ready_waiters.push(waker.clone());
        }
    }

    pub(crate) fn wait_flush(&mut self, waker: &Waker) {
        if !self.flush_waiters.iter().any(|w| w.will_wake(waker)) {
            self.flush_waiters.push(waker.clone());
        }
    }

    pub(crate) fn wake_ready(&mut self) {
        for w in self.ready_waiters.drain(..) {
            w.wake();
        }
    }

    pub(crate) fn wake_all(&mut self) {
        self.wake_ready();
        for w in self.flush_waiters.drain(..) {
            w.wake();
        }
    }

    /// The failures of batches numbered in `(after, upto]`, as one error.
    pub(crate) fn failures_between(&self, after: u64, upto: u64) -> Option<Error> {
        Self::as_one(
            self.failures
                .iter()
                .filter(|f| f.seq > after && f.seq <= upto),
        )
    }

    /// The failures recorded after the `after`-th, as one error.
    pub(crate) fn failures_since(&self, after: u64) -> Option<Error> {
        Self::as_one(self.failures.iter().filter(|f| f.order > after))
    }

    fn as_one<'a>(mut found: impl Iterator<Item = &'a Failure>) -> Option<Error> {
        let first = found.next()?;
        let (more, more_points) = found.fold((0u64, 0u64), |(n, p), f| (n + 1, p + f.points));
        let total = first.points + more_points;
        let mut err = first.error.clone().with_points_dropped(total);
        if more > 0 {
            err = err.with_context(format!(
                "{} batches failed, {total} points not written in all; the first failure",
                more + 1
            ));
        }
        Some(err)
    }
}
