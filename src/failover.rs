//! The servers behind one client: which one requests go to (the first that
//! answers, see [`ClientBuilder::failover`]) and what each has done
//! ([`ServerStats`]).
//!
//! [`ClientBuilder::failover`]: crate::ClientBuilder::failover

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::http::BaseUrl;

/// What one server of a client has done, from
/// [`Client::server_stats`](crate::Client::server_stats): one per URL, the
/// builder's first, then the [failover](crate::ClientBuilder::failover)
/// servers in their order. Counted per request, by every clone of the
/// client and every writer made from it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerStats {
    /// The server's base URL.
    pub url: String,
    /// Whether requests go to it now.
    pub active: bool,
    /// Requests sent to it (writes, queries, pings, ...), answered or not.
    pub requests: u64,
    /// Requests it failed: no answer (not reachable, timed out, connection
    /// lost, TLS refused) or a 5xx answer. With failover, each of these
    /// passed the request on to the next server, unless it was the last.
    pub failures: u64,
    /// Points in the write requests it acknowledged (2xx).
    pub points_written: u64,
    /// Body bytes of those requests (as sent: compressed under gzip).
    pub bytes_written: u64,
    /// Times requests moved to this server from another one.
    pub switches_to: u64,
    /// Requests sent to it, while another server was in use, to see
    /// whether it is back: one per
    /// [`failover_probe_interval`](crate::ClientBuilder::failover_probe_interval)
    /// (only the first server is probed).
    pub probes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    failures: AtomicU64,
    points_written: AtomicU64,
    bytes_written: AtomicU64,
    switches_to: AtomicU64,
    probes: AtomicU64,
}

/// How one request to one server ended, for its counters.
pub(crate) enum Outcome {
    /// A 2xx answer to a request carrying `points` points in `bytes` bytes.
    Success { points: u64, bytes: u64 },
    /// Any other answer below 500.
    Answered,
    /// No answer, or a 5xx one.
    Failed,
}

/// Servers holding the same data: requests go to one at a time, the next
/// when it is down, and back to the first once it answers again. A client
/// without failover has one.
pub(crate) struct Servers {
    /// Every server, the first one included.
    list: Vec<(BaseUrl, Counters)>,
    /// The server requests go to now.
    active: AtomicUsize,
    /// When a request should try the first server again, while another is
    /// active: once per `probe_interval`.
    next_probe: Mutex<Instant>,
    probe_interval: Duration,
}

impl Servers {
    pub(crate) fn new(servers: Vec<BaseUrl>, probe_interval: Duration) -> Self {
        Servers {
            list: servers
                .into_iter()
                .map(|b| (b, Counters::default()))
                .collect(),
            active: AtomicUsize::new(0),
            next_probe: Mutex::new(Instant::now()),
            probe_interval,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    pub(crate) fn base(&self, server: usize) -> &BaseUrl {
        &self.list[server % self.list.len()].0
    }

    pub(crate) fn active(&self) -> usize {
        self.active.load(Ordering::Acquire) % self.list.len()
    }

    /// Where the next request starts: the active server, or the first one
    /// when it is due to be tried again.
    pub(crate) fn first_choice(&self) -> usize {
        let active = self.active();
        if active == 0 {
            return 0;
        }
        let mut next = self.next_probe.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if now >= *next {
            *next = later(now, self.probe_interval);
            drop(next);
            self.list[0].1.probes.fetch_add(1, Relaxed);
            tracing::debug!(
                server = %self.list[0].0.display(),
                "influx-stream: trying the first server again"
            );
            return 0;
        }
        active
    }

    /// Counts a request to `server` and how it ended.
    pub(crate) fn record(&self, server: usize, outcome: Outcome) {
        let c = &self.list[server % self.list.len()].1;
        c.requests.fetch_add(1, Relaxed);
        match outcome {
            Outcome::Success { points, bytes } => {
                c.points_written.fetch_add(points, Relaxed);
                c.bytes_written.fetch_add(bytes, Relaxed);
            }
            Outcome::Answered => {}
            Outcome::Failed => {
                c.failures.fetch_add(1, Relaxed);
            }
        }
    }

    /// `server` answered: requests go to it from now on.
    pub(crate) fn answered(&self, server: usize) {
        let before = self.active.swap(server, Ordering::AcqRel);
        if before != server {
            self.list[server % self.list.len()]
                .1
                .switches_to
                .fetch_add(1, Relaxed);
            tracing::warn!(
                from = %self.base(before).display(),
                to = %self.base(server).display(),
                "influx-stream: requests now go to another server"
            );
            if server != 0 {
                let mut next = self.next_probe.lock().unwrap_or_else(|e| e.into_inner());
                *next = later(Instant::now(), self.probe_interval);
            }
        }
    }

    pub(crate) fn stats(&self) -> Vec<ServerStats> {
        let active = self.active();
        self.list
            .iter()
            .enumerate()
            .map(|(i, (base, c))| ServerStats {
                url: base.display(),
                active: i == active,
                requests: c.requests.load(Relaxed),
                failures: c.failures.load(Relaxed),
                points_written: c.points_written.load(Relaxed),
                bytes_written: c.bytes_written.load(Relaxed),
                switches_to: c.switches_to.load(Relaxed),
                probes: c.probes.load(Relaxed),
            })
            .collect()
    }
}

/// `now + d`, for any `d` a user may give (`Duration::MAX` means never).
fn later(now: Instant, d: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(d)
        .or_else(|| now.checked_add(CENTURY))
        .unwrap_or(now)
}
