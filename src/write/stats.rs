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
        }
    }
}
