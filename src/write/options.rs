//! [`WriteOptions`]: how the batching writer cuts, sends and retries.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::error::{self, Error};
use crate::point::Precision;
use crate::retry::RetryPolicy;

/// What the writer does after a batch fails for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnFailure {
    /// Go on with later batches (the default). Failures are reported by
    /// [`Writer::flush`](crate::Writer::flush), by closing, to the
    /// [`on_failure`](WriteOptions::on_failure) callback and in the stats.
    #[default]
    Continue,
    /// Stop at the first failure: the sink's next `poll_ready` or
    /// `poll_flush` returns the error and no more points are accepted.
    Stop,
}

/// A batch that could not be written, handed to the dead-letter callback.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FailedBatch {
    /// Why it failed.
    pub error: Error,
    /// The line protocol that was not written (for a partial write, the
    /// whole request: the server does not say which lines it kept).
    pub lines: Bytes,
    /// How many points the request carried.
    pub points: u64,
}

pub(crate) type FailureCallback = Arc<dyn Fn(FailedBatch) + Send + Sync>;

/// Settings of a batching [`Writer`](crate::Writer); made with
/// [`WriteOptions::new`] (or `default()`) and setters.
///
/// ```
/// use std::time::Duration;
/// use influx_stream::WriteOptions;
///
/// let options = WriteOptions::new()
///     .max_points(5_000)
///     .flush_interval(Duration::from_millis(100))
///     .max_in_flight(2);
/// # let _ = options;
/// ```
#[derive(Clone)]
#[must_use]
pub struct WriteOptions {
    pub(crate) max_points: usize,
    pub(crate) max_bytes: usize,
    pub(crate) flush_interval: Duration,
    pub(crate) max_in_flight: usize,
    pub(crate) max_queued_batches: usize,
    pub(crate) retry: RetryPolicy,
    pub(crate) on_failure: OnFailure,
    pub(crate) failure_callback: Option<FailureCallback>,
    pub(crate) database: Option<String>,
    pub(crate) retention_policy: Option<String>,
    pub(crate) precision: Option<Precision>,
    pub(crate) gzip: Option<bool>,
}

impl fmt::Debug for WriteOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriteOptions")
            .field("max_points", &self.max_points)
            .field("max_bytes", &self.max_bytes)
            .field("flush_interval", &self.flush_interval)
            .field("max_in_flight", &self.max_in_flight)
            .field("max_queued_batches", &self.max_queued_batches)
            .field("retry", &self.retry)
            .field("on_failure", &self.on_failure)
            .field("failure_callback", &self.failure_callback.is_some())
            .field("database", &self.database)
            .field("retention_policy", &self.retention_policy)
            .field("precision", &self.precision)
            .field("gzip", &self.gzip)
            .finish()
    }
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            max_points: 5_000,
            max_bytes: 4 * 1024 * 1024,
            flush_interval: Duration::from_secs(1),
            max_in_flight: 1,
            max_queued_batches: 2,
            retry: RetryPolicy::default(),
            on_failure: OnFailure::Continue,
            failure_callback: None,
            database: None,
            retention_policy: None,
            precision: None,
            gzip: None,
        }
    }
}

impl WriteOptions {
    /// The defaults: see each setter.
    pub fn new() -> Self {
        WriteOptions::default()
    }

    /// A batch is sent once it holds this many points. Default: 5,000
    /// (InfluxDB's own advice for 1.x).
    pub fn max_points(mut self, n: usize) -> Self {
        self.max_points = n;
        self
    }

    /// A batch is sent before its body would grow past this many bytes (a
    /// single point larger than that goes alone). Keep it under the server's
    /// `max-body-size` (25 MB by default); a batch the server still finds
    /// too large (413) is split in halves. Default: 4 MiB.
    pub fn max_bytes(mut self, n: usize) -> Self {
        self.max_bytes = n;
        self
    }

    /// A batch is sent at the latest this long after its first point, even
    /// when nobody polls the sink. Default: 1 s.
    pub fn flush_interval(mut self, d: Duration) -> Self {
        self.flush_interval = d;
        self
    }

    /// How many write requests may run at once. With 1, batches arrive in
    /// the order they were cut; with more, concurrent batches may be applied
    /// in any order (which only matters for points with the same series and
    /// timestamp, where the last write wins). Default: 1.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n;
        self
    }

    /// How many full batches may wait for a free request slot before the
    /// sink stops accepting points (backpressure). Memory stays under about
    /// `(max_queued_batches + max_in_flight + 1) * max_bytes`. Default: 2.
    pub fn max_queued_batches(mut self, n: usize) -> Self {
        self.max_queued_batches = n;
        self
    }

    /// How failed requests are retried. Default: [`RetryPolicy::default`].
    ///
    /// A retry sends the same lines again. InfluxDB stores a point by its
    /// series and timestamp, so a batch that had in fact been written before
    /// its answer was lost is written again without duplicates, as long as
    /// points carry timestamps; a point without one gets the server's clock
    /// at each attempt.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Go on after a failed batch, or stop. Default: [`OnFailure::Continue`].
    pub fn on_failure(mut self, mode: OnFailure) -> Self {
        self.on_failure = mode;
        self
    }

    /// A dead-letter callback: called from the writer task with every batch
    /// that failed for good, with its lines. Keep it quick (hand the batch
    /// to a channel, say). Default: none.
    pub fn failure_callback(mut self, f: impl Fn(FailedBatch) + Send + Sync + 'static) -> Self {
        self.failure_callback = Some(Arc::new(f));
        self
    }

    /// The database to write to. Default: the client's.
    pub fn database(mut self, db: impl Into<String>) -> Self {
        self.database = Some(db.into());
        self
    }

    /// The retention policy to write to. Default: the client's.
    pub fn retention_policy(mut self, rp: impl Into<String>) -> Self {
        self.retention_policy = Some(rp.into());
        self
    }

    /// The timestamp precision. Default: the client's.
    pub fn precision(mut self, p: Precision) -> Self {
        self.precision = Some(p);
        self
    }

    /// Gzip request bodies. Default: as the client (`ClientBuilder::gzip`).
    pub fn gzip(mut self, enabled: bool) -> Self {
        self.gzip = Some(enabled);
        self
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if self.max_points == 0 {
            return Err(error::builder(
                "WriteOptions::max_points must be at least 1",
            ));
        }
        if self.max_bytes < 64 {
            return Err(error::builder(
                "WriteOptions::max_bytes must be at least 64",
            ));
        }
        if self.max_in_flight == 0 {
            return Err(error::builder(
                "WriteOptions::max_in_flight must be at least 1",
            ));
        }
        if self.flush_interval.is_zero() {
            return Err(error::builder(
                "WriteOptions::flush_interval must be above zero",
            ));
        }
        Ok(())
    }
}
