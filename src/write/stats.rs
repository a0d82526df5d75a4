//! Counters of a writer, readable at any time.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of a writer's counters, from [`Writer::stats`](crate::Writer::stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteStats {
    /// Points given to the writer and accepted into a batch.
    pub points_accepted: u64,
    /// Points the server acknowledged.
    pub points_written: u64,
    /// Points that failed for good (a partial write counts what it dropped).
    pub points_failed: u64,
    /// Batches that failed for good.
    pub batches_failed: u64,
    /// Write requests sent, retries included.
    pub requests: u64,
    /// Requests that were retries.
    pub retries: u64,
    /// Batches split in halves after a 413.
    pub splits: u64,
    /// Body bytes sent (before compression), retries included.
    pub bytes_sent: u64,
    /// Full batches waiting in memory for a request slot (with a spool: for
    /// the spool) at the time of the snapshot.
    pub batches_queued: u64,
    /// Requests running at the time of the snapshot.
    pub batches_in_flight: u64,
    /// Bytes in the spool's segment files (0 without a spool).
    pub spool_bytes: u64,
    /// Batches in the spool not yet acknowledged or failed for good.
    pub spool_batches: u64,
    /// fsyncs of the spool's segment files so far (an append fsyncs every
    /// batch it groups at once, so fewer than the batches spooled under
    /// load).
    pub spool_syncs: u64,
    /// Batches an earlier process left in the spool, found at start.
    pub spool_replayed_batches: u64,
    /// Points in those batches.
    pub spool_replayed_points: u64,
    /// Segments found with a torn or corrupt tail at start.
    pub spool_corrupt_tails: u64,
    /// Bytes skipped in those tails (their points cannot be counted: the
    /// record that would say how many is the one that is damaged).
    pub spool_corrupt_bytes: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) points_accepted: AtomicU64,
    pub(crate) points_written: AtomicU64,
    pub(crate) points_failed: AtomicU64,
    pub(crate) batches_failed: AtomicU64,
    pub(crate) requests: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) splits: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) spool_batches: AtomicU64,
    pub(crate) spool_replayed_batches: AtomicU64,
    pub(crate) spool_replayed_points: AtomicU64,
    pub(crate) spool_corrupt_tails: AtomicU64,
    pub(crate) spool_corrupt_bytes: AtomicU64,
    /// Shared with the spool's I/O thread, which keeps it.
    pub(crate) spool_bytes: std::sync::OnceLock<std::sync::Arc<AtomicU64>>,
    /// Likewise.
    pub(crate) spool_syncs: std::sync::OnceLock<std::sync::Arc<AtomicU64>>,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> WriteStats {
        WriteStats {
            points_accepted: self.points_accepted.load(Relaxed),
            points_written: self.points_written.load(Relaxed),
            points_failed: self.points_failed.load(Relaxed),
            batches_failed: self.batches_failed.load(Relaxed),
            requests: self.requests.load(Relaxed),
            retries: self.retries.load(Relaxed),
            splits: self.splits.load(Relaxed),
            bytes_sent: self.bytes_sent.load(Relaxed),
            batches_queued: 0,
            batches_in_flight: 0,
            spool_bytes: self.spool_bytes.get().map_or(0, |b| b.load(Relaxed)),
            spool_batches: self.spool_batches.load(Relaxed),
            spool_syncs: self.spool_syncs.get().map_or(0, |b| b.load(Relaxed)),
            spool_replayed_batches: self.spool_replayed_batches.load(Relaxed),
            spool_replayed_points: self.spool_replayed_points.load(Relaxed),
            spool_corrupt_tails: self.spool_corrupt_tails.load(Relaxed),
            spool_corrupt_bytes: self.spool_corrupt_bytes.load(Relaxed),
        }
    }
}
