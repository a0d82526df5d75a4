//! [`WriteOptions`]: how the batching writer cuts, sends and retries.

use std::fmt;
use std::path::PathBuf;
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

/// When the spool's file is fsynced: what a crash of the machine (not
/// just of the process) can take. See [`WriteOptions::spool_fsync`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fsync {
    /// After every append (the default): a batch counts as spooled, and
    /// `flush()` resolves, only once it is on stable storage. Appends are
    /// grouped, so under load one fsync covers every batch queued meanwhile.
    #[default]
    EveryBatch,
    /// At most this long after an append (and at once for
    /// [`Writer::flush`](crate::Writer::flush)): the sink's own
    /// `poll_flush` waits for that fsync.
    Interval(Duration),
    /// Never: batches are handed to the operating system, which survives a
    /// crash of the process but not of the machine or its power.
    Never,
}

/// What a spooled writer does when its spool reaches
/// [`spool_max_bytes`](WriteOptions::spool_max_bytes) and the in-memory
/// queue is full too. No point is ever dropped for lack of room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SpoolFull {
    /// Hold producers back (the default): `poll_ready` and
    /// [`Writer::send`](crate::Writer::send) wait until the server has
    /// acknowledged enough to free a segment.
    #[default]
    Backpressure,
    /// Refuse: `poll_ready`, [`Writer::send`](crate::Writer::send) and
    /// [`Writer::push`](crate::Writer::push) return an error for which
    /// [`Error::is_spool`] is true, and the point is not taken. Points are
    /// taken again once there is room.
    Error,
}

/// Where and how a writer spools batches to disk; set through
/// [`WriteOptions::spool`] and its `spool_*` companions.
#[derive(Debug, Clone)]
pub(crate) struct SpoolOptions {
    pub(crate) dir: PathBuf,
    pub(crate) fsync: Fsync,
    pub(crate) max_bytes: u64,
    pub(crate) segment_bytes: u64,
    pub(crate) when_full: SpoolFull,
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
    pub(crate) spool: Option<SpoolOptions>,
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
            .field("spool", &self.spool)
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
            spool: None,
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

    /// Puts an on-disk spool in `dir` (created if missing) behind the
    /// batches: every sealed batch is appended to a segment file there
    /// (length-prefixed, CRC-32 checked) before it counts as accepted, and a
    /// segment is deleted once the server has acknowledged every batch in it
    /// (or refused one for good, which is reported as usual). Default: no
    /// spool, batches live in memory only.
    ///
    /// With a spool:
    /// - [`Writer::flush`](crate::Writer::flush), `close` and the sink's
    ///   `poll_flush` resolve once every point given so far is in the spool
    ///   (fsynced as [`spool_fsync`](WriteOptions::spool_fsync) says), not
    ///   when the server has it; [`Writer::drain`](crate::Writer::drain)
    ///   waits for the server.
    /// - A failure that may pass (connection refused, timeout, 5xx, 429) is
    ///   retried past the [`retry`](WriteOptions::retry) budget, at the
    ///   policy's longest backoff, for as long as the writer runs: the batch
    ///   stays in the spool. Only a refusal for good (400, 404, ...) ends it.
    /// - A new writer on the same directory sends what an earlier process
    ///   left there first, in order. A torn or corrupt record (a crash
    ///   mid-append) is found by its checksum, logged with
    ///   `tracing::warn!` and counted in
    ///   [`WriteStats::spool_corrupt_bytes`](crate::WriteStats::spool_corrupt_bytes);
    ///   the records before it are sent.
    /// - Only one writer at a time may use a directory: another gets an
    ///   error for which [`Error::is_spool`] is true (a lock file, released
    ///   by the operating system even if its process is killed).
    /// - Once every handle is gone, the writer task goes on sending what is
    ///   in the spool while the runtime runs, until it is empty, or until
    ///   the server fails past the retry budget: then the rest stays for the
    ///   next writer on the directory.
    /// - The spool holds line protocol only: a writer opened on it with
    ///   another database or precision sends the old batches with its own.
    ///   Use one directory per destination.
    ///
    /// Disk I/O runs on a thread of its own, never on the runtime's.
    ///
    /// ```no_run
    /// use influx_stream::{Client, Fsync, Point, SpoolFull, WriteOptions};
    ///
    /// # async fn run() -> Result<(), influx_stream::Error> {
    /// let client = Client::builder("http://127.0.0.1:8086").database("telemetry").build()?;
    /// let mut writer = client.writer(
    ///     WriteOptions::new()
    ///         .spool("/var/lib/myapp/influx-spool")
    ///         .spool_fsync(Fsync::EveryBatch)
    ///         .spool_max_bytes(1 << 30)
    ///         .spool_full(SpoolFull::Backpressure),
    /// )?;
    /// writer.send(&Point::new("cpu").field("value", 0.5).timestamp(1)).await?;
    /// writer.flush().await?; // on disk: survives a crash of this process
    /// writer.drain().await?; // and on the server
    /// # Ok(()) }
    /// ```
    pub fn spool(mut self, dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        self.spool = Some(match self.spool.take() {
            Some(s) => SpoolOptions { dir, ..s },
            None => SpoolOptions {
                dir,
                fsync: Fsync::default(),
                max_bytes: 1 << 30,
                segment_bytes: 16 << 20,
                when_full: SpoolFull::default(),
            },
        });
        self
    }

    fn spool_mut(&mut self) -> &mut SpoolOptions {
        self.spool.get_or_insert_with(|| SpoolOptions {
            // Checked by `validate`: a spool setting without a directory.
            dir: PathBuf::new(),
            fsync: Fsync::default(),
            max_bytes: 1 << 30,
            segment_bytes: 16 << 20,
            when_full: SpoolFull::default(),
        })
    }

    /// When the spool is fsynced. Default: [`Fsync::EveryBatch`]. Needs
    /// [`spool`](WriteOptions::spool).
    pub fn spool_fsync(mut self, fsync: Fsync) -> Self {
        self.spool_mut().fsync = fsync;
        self
    }

    /// The most bytes the spool's segment files may hold; at the limit,
    /// [`spool_full`](WriteOptions::spool_full) decides. It must hold at
    /// least two batches (`2 * max_bytes`). Default: 1 GiB. Needs
    /// [`spool`](WriteOptions::spool).
    pub fn spool_max_bytes(mut self, n: u64) -> Self {
        self.spool_mut().max_bytes = n;
        self
    }

    /// A segment file is closed and a new one started once it holds this
    /// many bytes; a segment is deleted when all its batches are done, so
    /// smaller segments free space sooner. Default: 16 MiB, or an eighth of
    /// [`spool_max_bytes`](WriteOptions::spool_max_bytes) if that is less.
    /// Needs [`spool`](WriteOptions::spool).
    pub fn spool_segment_bytes(mut self, n: u64) -> Self {
        self.spool_mut().segment_bytes = n;
        self
    }

    /// What happens when the spool is full. Default:
    /// [`SpoolFull::Backpressure`]. Needs [`spool`](WriteOptions::spool).
    pub fn spool_full(mut self, mode: SpoolFull) -> Self {
        self.spool_mut().when_full = mode;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), Error> {
        if let Some(spool) = &self.spool {
            if spool.dir.as_os_str().is_empty() {
                return Err(error::builder(
                    "a spool_* option was set without WriteOptions::spool(dir): name the spool directory",
                ));
            }
            if self.max_bytes as u64 >= u32::MAX as u64 {
                return Err(error::builder(
                    "with a spool, WriteOptions::max_bytes must be under 4 GiB (a record's length is 32 bits)",
                ));
            }
            if spool.max_bytes < 2 * self.max_bytes as u64 {
                return Err(error::builder(format!(
                    "WriteOptions::spool_max_bytes ({}) must hold at least two batches of max_bytes ({}): raise it or lower max_bytes",
                    spool.max_bytes, self.max_bytes
                )));
            }
            if spool.segment_bytes == 0 {
                return Err(error::builder(
                    "WriteOptions::spool_segment_bytes must be above zero",
                ));
            }
            if matches!(spool.fsync, Fsync::Interval(d) if d.is_zero()) {
                return Err(error::builder(
                    "Fsync::Interval must be above zero (use Fsync::EveryBatch)",
                ));
            }
        }
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
