//! The background writer task: it cuts batches when their flush interval
//! has passed, keeps up to `max_in_flight` requests running, retries what
//! can be retried, splits what the server finds too large, and records how
//! every batch ended.
//!
//! It keeps sending while handles encode, so under load batches fill from
//! the backlog and the flush interval only matters when the input is idle.
//! It ends once every handle is gone and every batch has completed.

use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::future::{BoxFuture, OptionFuture};
use futures::stream::{FuturesUnordered, StreamExt};
use http::StatusCode;
use tracing::Instrument;

use crate::error::{self, Error};
use crate::line_protocol::count_lines;
use crate::retry::Jitter;
use crate::write::options::{FailedBatch, Fsync, OnFailure};
use crate::write::shared::{Failure, Sealed, Shared};
use crate::write::spool::{Loc, Reader, Spool};
use crate::write::stats::Counters;

/// Marks the task ended and wakes every waiter when the task stops, even
/// when it is dropped unfinished (or never polled) because its runtime shut
/// down: it is made before the task is spawned, so the task owns it from
/// the start.
pub(crate) struct EndGuard(pub(crate) Arc<Shared>);

impl Drop for EndGuard {
    fn drop(&mut self) {
        let shared = &self.0;
        let mut state = shared.lock();
        state.task_ended = true;
        // A task that ended normally settled every point; one dropped with
        // its runtime leaves some unsent (queued) or unconfirmed (in
        // flight): never silently.
        let c = &shared.counters;
        let unsettled = if shared.options.spool.is_some() {
            // Spooled batches are not lost: the next writer on the
            // directory sends them. Only what never reached it is.
            state.current.points
                + state.sealed.iter().map(|b| b.points).sum::<u64>()
                + state.appending_points
        } else {
            let settled = c.points_written.load(Relaxed) + c.points_failed.load(Relaxed);
            let accepted = c.points_accepted.load(Relaxed) + state.current.points;
            accepted.saturating_sub(settled)
        };
        if unsettled > 0 {
            tracing::warn!(
                points = unsettled,
                "the influx-stream writer task stopped with points not written or not confirmed (its Tokio runtime shut down); they count as failed"
            );
            Counters::add(&c.points_failed, unsettled);
            state.lost_points = unsettled;
            let why = || {
                error::closed("the writer task stopped (its Tokio runtime shut down) before sending this batch")
            };
            // Sealed, so that flushes wait for (and report) it too.
            state.seal(shared);
            let unsent: Vec<(Bytes, u64)> =
                state.sealed.drain(..).map(|b| (b.body, b.points)).collect();
            Counters::add(&c.batches_failed, unsent.len() as u64);
            if let Some(callback) = &shared.options.failure_callback {
                for (lines, points) in unsent {
                    let error = why().with_points_dropped(points);
                    callback(FailedBatch {
                        error,
                        lines,
                        points,
                    });
                }
            }
        }
        state.wake_all();
    }
}

pub(crate) async fn run(end: EndGuard) {
    let shared = end.0.clone();
    let mut in_flight = FuturesUnordered::new();
    loop {
        let deadline;
        {
            let mut state = shared.lock();
            let mut started = false;
            while in_flight.len() < shared.options.max_in_flight {
                let Some(batch) = state.sealed.pop_front() else {
                    break;
                };
                in_flight.push(deliver(shared.clone(), batch));
                started = true;
            }
            state.in_flight = in_flight.len();
            if started {
                state.wake_ready();
            }
            if state.handles == 0 {
                // Nobody can add points any more: send what is left now.
                state.seal(&shared);
                if state.sealed.is_empty() && in_flight.is_empty() {
                    state.stopped = Some(error::closed("the writer has shut down"));
                    state.wake_all();
                    return;
                }
                if !state.sealed.is_empty() && in_flight.len() < shared.options.max_in_flight {
                    continue;
                }
            }
            deadline = state
                .current
                .started
                .map(|t| tokio::time::Instant::from_std(t + shared.options.flush_interval));
        }
        tokio::select! {
            _ = shared.wake_task.notified() => {}
            _ = sleep_until(deadline), if deadline.is_some() => {
                let mut state = shared.lock();
                let due = state
                    .current
                    .started
                    .is_some_and(|t| t.elapsed() >= shared.options.flush_interval);
                if due {
                    state.seal(&shared);
                }
            }
            Some((seq, failures)) = in_flight.next(), if !in_flight.is_empty() => {
                let mut state = shared.lock();
                if shared.options.on_failure == OnFailure::Stop && state.stopped.is_none() {
                    if let Some(f) = failures.first() {
                        state.stopped = Some(f.error.clone());
                        state.wake_ready();
                    }
                }
                state.complete(seq, failures);
                state.in_flight = in_flight.len();
            }
        }
    }
}

/// A batch in the spool, waiting to be sent.
struct Entry {
    /// `None` for a batch an earlier process left.
    seq: Option<u64>,
    points: u64,
    /// `None` when the spool could not take it (sent from memory).
    loc: Option<Loc>,
    /// Kept for the next few batches; the rest are read back from disk, so
    /// memory stays bounded however much the spool holds.
    body: Option<Bytes>,
}

type Appended = (Result<Vec<Loc>, Error>, Vec<Sealed>, bool);

/// The writer task with a spool: sealed batches go to the spool's I/O
/// thread first (grouped: one append and one fsync for every batch sealed
/// meanwhile), and only spooled batches are sent, oldest first, starting
/// with those an earlier process left. A batch leaves the spool once it is
/// acknowledged or failed for good.
pub(crate) async fn run_spooled(end: EndGuard, spool: Spool) {
    let shared = end.0.clone();
    let options = &shared.options;
    let (fsync, limit, spool_dir) = match &options.spool {
        Some(s) => (s.fsync, s.max_bytes, s.dir.as_path()),
        None => (Fsync::Never, u64::MAX, std::path::Path::new("")),
    };
    let reader = spool.reader();
    let keep_bodies = options.max_queued_batches + options.max_in_flight;
    let mut pending: VecDeque<Entry> = VecDeque::new();
    let mut bodies = 0usize;
    let mut in_flight = FuturesUnordered::new();
    // Batches in the spool not yet done (pending or in flight).
    let mut spooled: u64;
    let mut appending: Option<BoxFuture<'static, Appended>> = None;
    let mut written_upto = 0u64;
    let mut unsynced = false;
    let mut last_sync = Instant::now();

    match spool.recover().await {
        Ok(found) => {
            let c = &shared.counters;
            let points: u64 = found.records.iter().map(|r| r.1).sum();
            let n = found.records.len() as u64;
            Counters::add(&c.spool_replayed_batches, n);
            Counters::add(&c.spool_replayed_points, points);
            Counters::add(&c.spool_batches, n);
            Counters::add(&c.spool_corrupt_tails, found.corrupt_tails);
            Counters::add(&c.spool_corrupt_bytes, found.corrupt_bytes);
            if n > 0 || found.corrupt_tails > 0 {
                tracing::info!(
                    batches = n,
                    points,
                    corrupt_tails = found.corrupt_tails,
                    corrupt_bytes = found.corrupt_bytes,
                    "influx-stream spool: replaying what an earlier writer left"
                );
            }
            spooled = n;
            pending.extend(found.records.into_iter().map(|(loc, points)| Entry {
                seq: None,
                points,
                loc: Some(loc),
                body: None,
            }));
            shared.lock().replay_left = Some(n);
        }
        Err(e) => {
            tracing::warn!(error = %e, "influx-stream spool: cannot read the spool directory; the writer takes no points");
            let mut state = shared.lock();
            state.replay_left = Some(0);
            state.stopped = Some(e);
            state.wake_all();
            return;
        }
    }

    loop {
        let deadline;
        let sync_at;
        let finished;
        {
            let mut state = shared.lock();
            if appending.is_none() {
                // Take what the spool has room for; a spool with nothing
                // left to send takes one batch whatever its size, so the
                // limit can never wedge the writer.
                let mut taken: Vec<Sealed> = Vec::new();
                let mut bytes = spool.bytes.load(Relaxed);
                let mut blocked = false;
                while let Some(front) = state.sealed.front() {
                    let size = front.body.len() as u64 + 12;
                    if bytes + size > limit && !(spooled == 0 && taken.is_empty()) {
                        blocked = true;
                        break;
                    }
                    bytes += size;
                    if let Some(b) = state.sealed.pop_front() {
                        taken.push(b);
                    }
                }
                if blocked != state.spool_full {
                    if blocked {
                        tracing::debug!(
                            dir = %spool_dir.display(),
                            bytes,
                            limit,
                            "influx-stream spool: full; producers wait (or are refused) until the server acknowledges batches"
                        );
                    } else {
                        tracing::debug!(dir = %spool_dir.display(), "influx-stream spool: room again");
                    }
                    state.spool_full = blocked;
                    // Producers waiting for room learn that the spool is
                    // full (under SpoolFull::Error they get the error).
                    state.wake_ready();
                }
                let sync = match fsync {
                    Fsync::EveryBatch => true,
                    Fsync::Never => false,
                    Fsync::Interval(d) => state.sync_requested || last_sync.elapsed() >= d,
                    // Unknown future policies: the safe choice.
                    #[allow(unreachable_patterns)]
                    _ => true,
                };
                if !taken.is_empty() || (sync && unsynced) {
                    if sync {
                        state.sync_requested = false;
                    }
                    state.appending_points = taken.iter().map(|b| b.points).sum();
                    let bodies_in = taken.iter().map(|b| (b.body.clone(), b.points)).collect();
                    let fut = spool.append(bodies_in, sync);
                    appending = Some(Box::pin(async move { (fut.await, taken, sync) }));
                    state.wake_ready();
                }
            }
            while in_flight.len() < options.max_in_flight {
                let Some(entry) = pending.pop_front() else {
                    break;
                };
                if entry.body.is_some() && entry.loc.is_some() {
                    bodies = bodies.saturating_sub(1);
                }
                in_flight.push(deliver_spooled(shared.clone(), reader.clone(), entry));
            }
            state.in_flight = in_flight.len();
            if state.handles == 0 {
                state.seal(&shared);
                let idle = appending.is_none() && !unsynced;
                let all_done =
                    state.sealed.is_empty() && pending.is_empty() && in_flight.is_empty();
                // The server is down and nobody is left to wait: what is in
                // the spool stays there for the next writer.
                let give_up = state.stalled && (state.sealed.is_empty() || state.spool_full);
                if idle && (all_done || give_up) {
                    if !all_done {
                        tracing::warn!(
                            batches = spooled,
                            "influx-stream spool: the writer is gone and the server still fails; the batches stay in the spool for the next writer on its directory"
                        );
                    }
                    state.stopped = Some(error::closed("the writer has shut down"));
                    state.wake_all();
                    finished = true;
                } else {
                    finished = false;
                }
            } else {
                finished = false;
            }
            deadline = state
                .current
                .started
                .map(|t| tokio::time::Instant::from_std(t + options.flush_interval));
            sync_at = match fsync {
                Fsync::Interval(d) if unsynced && appending.is_none() => {
                    Some(tokio::time::Instant::from_std(last_sync + d))
                }
                _ => None,
            };
        }
        if finished {
            drop(in_flight);
            drop(reader);
            // Joining the I/O thread may wait for an fsync: not here.
            let _ = tokio::task::spawn_blocking(move || drop(spool)).await;
            return;
        }
        tokio::select! {
            _ = shared.wake_task.notified() => {}
            _ = sleep_until(deadline), if deadline.is_some() => {
                let mut state = shared.lock();
                let due = state
                    .current
                    .started
                    .is_some_and(|t| t.elapsed() >= options.flush_interval);
                if due {
                    state.seal(&shared);
                }
            }
            _ = sleep_until(sync_at), if sync_at.is_some() => {}
            Some((result, batches, synced)) = OptionFuture::from(appending.as_mut()), if appending.is_some() => {
                appending = None;
                let mut state = shared.lock();
                state.appending_points = 0;
                if let Some(last) = batches.last() {
                    written_upto = last.seq;
                }
                match result {
                    Ok(locs) => {
                        Counters::add(&shared.counters.spool_batches, locs.len() as u64);
                        spooled += locs.len() as u64;
                        for (batch, loc) in batches.into_iter().zip(locs) {
                            let body = (bodies < keep_bodies).then(|| {
                                bodies += 1;
                                batch.body
                            });
                            pending.push_back(Entry { seq: Some(batch.seq), points: batch.points, loc: Some(loc), body });
                        }
                        if synced || fsync == Fsync::Never {
                            state.durable_upto = written_upto;
                            unsynced = false;
                            if synced {
                                last_sync = Instant::now();
                            }
                        } else {
                            unsynced = true;
                        }
                    }
                    Err(e) => {
                        // Not dropped: these batches are sent from memory,
                        // but the writer takes no more points, and flushes
                        // say why.
                        let points: u64 = batches.iter().map(|b| b.points).sum();
                        let err = e.with_context(format!(
                            "{points} point(s) in {} batch(es) could not be spooled and are sent from memory; the writer takes no more points",
                            batches.len()
                        ));
                        tracing::warn!(error = %err, "influx-stream spool: append failed");
                        if state.stopped.is_none() {
                            state.stopped = Some(err);
                        }
                        for batch in batches {
                            pending.push_back(Entry { seq: Some(batch.seq), points: batch.points, loc: None, body: Some(batch.body) });
                        }
                        state.durable_upto = written_upto;
                        unsynced = false;
                    }
                }
                state.wake_all();
            }
            Some((seq, loc, failures)) = in_flight.next(), if !in_flight.is_empty() => {
                if let Some(loc) = loc {
                    spool.done(loc.segment);
                    spooled = spooled.saturating_sub(1);
                    shared.counters.spool_batches.fetch_sub(1, Relaxed);
                }
                let mut state = shared.lock();
                if options.on_failure == OnFailure::Stop && state.stopped.is_none() {
                    if let Some(f) = failures.first() {
                        state.stopped = Some(f.error.clone());
                        state.wake_ready();
                    }
                }
                match seq {
                    Some(seq) => state.complete(seq, failures),
                    None => {
                        state.record_failures(failures);
                        state.replay_left = state.replay_left.map(|n| n.saturating_sub(1));
                        if state.replay_left == Some(0) {
                            let c = &shared.counters;
                            tracing::info!(
                                batches = c.spool_replayed_batches.load(Relaxed),
                                points = c.spool_replayed_points.load(Relaxed),
                                "influx-stream spool: every batch an earlier writer left is done (written, or failed and reported)"
                            );
                        }
                        state.wake_all();
                    }
                }
                state.in_flight = in_flight.len();
            }
        }
    }
}

/// Sends one spooled batch (read back from disk if its body is no longer
/// in memory) until it is written or has failed for good.
async fn deliver_spooled(
    shared: Arc<Shared>,
    reader: Reader,
    entry: Entry,
) -> (Option<u64>, Option<Loc>, Vec<Failure>) {
    let seq = entry.seq.unwrap_or(0);
    let span = tracing::debug_span!(
        "influx_write",
        batch = seq,
        points = entry.points,
        spooled = true
    );
    let body = match (entry.body, entry.loc) {
        (Some(body), _) => Ok(body),
        (None, Some(loc)) => reader.read(loc).await,
        (None, None) => Err(error::spool(
            "a batch neither in memory nor in the spool (internal error)",
        )),
    };
    let failures = match body {
        Ok(body) => {
            deliver_parts(&shared, seq, body, entry.points, entry.loc.is_some())
                .instrument(span)
                .await
        }
        Err(e) => {
            // Damaged on disk after it was written: reported as failed, with
            // its count, like any batch that cannot be written.
            let mut failures = Vec::new();
            fail(
                &shared,
                seq,
                &mut failures,
                e.with_points_dropped(entry.points),
                Bytes::new(),
                entry.points,
            );
            failures
        }
    };
    (entry.seq, entry.loc, failures)
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Sends one batch until it is written or has failed for good; returns its
/// number and its failures (a batch split after a 413 can fail in parts).
async fn deliver(shared: Arc<Shared>, batch: Sealed) -> (u64, Vec<Failure>) {
    let span = tracing::debug_span!("influx_write", batch = batch.seq, points = batch.points);
    let seq = batch.seq;
    let failures = deliver_parts(&shared, seq, batch.body, batch.points, false)
        .instrument(span)
        .await;
    (seq, failures)
}

/// `persistent`: the batch is in the spool, so a failure that may pass is
/// retried past the policy's budget instead of failing the batch.
async fn deliver_parts(
    shared: &Shared,
    seq: u64,
    body: Bytes,
    points: u64,
    persistent: bool,
) -> Vec<Failure> {
    let counters = &shared.counters;
    let policy = &shared.options.retry;
    let mut jitter = Jitter::new();
    let mut failures = Vec::new();
    // Parts still to send, last first: a 413 replaces a part by its halves.
    let mut parts = vec![(body, points)];
    while let Some((body, points)) = parts.pop() {
        let first_attempt = Instant::now();
        let mut retry = 0u32;
        // Compressed once for all its attempts.
        let wire = if shared.gzip {
            match crate::http::gzip_off_thread(body.clone()).await {
                Ok(wire) => wire,
                Err(err) => {
                    fail(
                        shared,
                        seq,
                        &mut failures,
                        err.with_points_dropped(points),
                        body,
                        points,
                    );
                    continue;
                }
            }
        } else {
            body.clone()
        };
        loop {
            Counters::add(&counters.requests, 1);
            Counters::add(&counters.bytes_sent, body.len() as u64);
            let started = Instant::now();
            let result = shared
                .client
                .post_write(wire.clone(), points, shared.gzip)
                .await;
            let latency_ms = started.elapsed().as_secs_f64() * 1e3;
            let err = match result {
                Ok(()) => {
                    tracing::debug!(
                        points,
                        bytes = body.len(),
                        latency_ms,
                        retry,
                        "batch written"
                    );
                    Counters::add(&counters.points_written, points);
                    if persistent {
                        shared.lock().stalled = false;
                    }
                    break;
                }
                Err(e) => e,
            };
            tracing::debug!(points, bytes = body.len(), latency_ms, retry, error = %err, "batch failed");
            if err.status() == Some(StatusCode::PAYLOAD_TOO_LARGE) && points > 1 {
                if let Some((a, b)) = split_in_halves(&body) {
                    Counters::add(&counters.splits, 1);
                    let (na, nb) = (count_lines(&a) as u64, count_lines(&b) as u64);
                    parts.push((b, nb));
                    parts.push((a, na));
                    break;
                }
            }
            if err.is_partial_write() {
                let dropped = err.points_dropped().unwrap_or(points).min(points);
                Counters::add(&counters.points_written, points - dropped);
                // A server that says which lines it refused (3.x) lets the
                // dead letter hold just those.
                let body = pick_lines(&body, err.failed_lines().iter().map(|l| l.line_number))
                    .unwrap_or(body);
                fail(shared, seq, &mut failures, err, body, dropped);
                break;
            }
            match policy.delay(&err, retry, first_attempt.elapsed(), &mut jitter) {
                Some(delay) => {
                    tracing::debug!(?delay, retry, "retrying batch");
                    Counters::add(&counters.retries, 1);
                    retry += 1;
                    tokio::time::sleep(delay).await;
                }
                None if persistent && err.is_retryable() => {
                    // Past the budget, but the batch is safe in the spool:
                    // keep trying at the longest backoff. Say so once.
                    let first = !std::mem::replace(&mut shared.lock().stalled, true);
                    if first {
                        tracing::warn!(points, retry, error = %err, "influx-stream: the server keeps failing past the retry budget; spooled batches stay on disk and are retried");
                    }
                    Counters::add(&counters.retries, 1);
                    retry = retry.saturating_add(1);
                    tokio::time::sleep(policy.max_backoff.max(policy.initial_backoff)).await;
                }
                None => {
                    let err = if retry > 0 && err.is_retryable() {
                        err.with_context(format!("gave up after {retry} retries"))
                    } else {
                        err
                    };
                    fail(
                        shared,
                        seq,
                        &mut failures,
                        err.with_points_dropped(points),
                        body,
                        points,
                    );
                    break;
                }
            }
        }
    }
    failures
}

/// The lines of `body` with the given numbers (from 1), in body order;
/// `None` (keep the whole body) when there are none or a number names no
/// line of it, since then the server numbered lines some other way.
fn pick_lines(body: &Bytes, numbers: impl Iterator<Item = u64>) -> Option<Bytes> {
    let wanted: std::collections::BTreeSet<u64> = numbers.collect();
    if wanted.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    let mut found = 0;
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if wanted.contains(&(i as u64 + 1)) && !line.is_empty() {
            out.extend_from_slice(line);
            out.push(b'\n');
            found += 1;
        }
    }
    (found == wanted.len()).then(|| Bytes::from(out))
}

fn fail(
    shared: &Shared,
    seq: u64,
    failures: &mut Vec<Failure>,
    error: Error,
    lines: Bytes,
    points: u64,
) {
    Counters::add(&shared.counters.points_failed, points);
    Counters::add(&shared.counters.batches_failed, 1);
    tracing::warn!(points, error = %error, "batch not written");
    if let Some(cb) = &shared.options.failure_callback {
        cb(FailedBatch {
            error: error.clone(),
            lines,
            points,
        });
    }
    failures.push(Failure {
        seq,
        order: 0,
        error,
        points,
    });
}

/// Splits a body at the line boundary nearest its middle.
fn split_in_halves(body: &Bytes) -> Option<(Bytes, Bytes)> {
    let content = body.strip_suffix(b"\n").unwrap_or(body);
    let mid = content.len() / 2;
    let after = content[mid..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| mid + i);
    let before = content[..mid].iter().rposition(|&b| b == b'\n');
    let cut = match (before, after) {
        (Some(b), Some(a)) => {
            if mid - b <= a - mid {
                b
            } else {
                a
            }
        }
        (Some(b), None) => b,
        (None, Some(a)) => a,
        (None, None) => return None,
    } + 1;
    Some((body.slice(..cut), body.slice(cut..)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_cut_on_lines() {
        let body = Bytes::from_static(b"a 1\nb 2\nc 3\nd 4\n");
        let (a, b) = split_in_halves(&body).unwrap_or_default();
        assert_eq!((&a[..], &b[..]), (&b"a 1\nb 2\n"[..], &b"c 3\nd 4\n"[..]));
        let one = Bytes::from_static(b"only one line\n");
        assert!(split_in_halves(&one).is_none());
        let (a, b) =
            split_in_halves(&Bytes::from_static(b"x\nlonger line here\n")).unwrap_or_default();
        assert_eq!((&a[..], &b[..]), (&b"x\n"[..], &b"longer line here\n"[..]));
    }
}
