//! The background writer task: it cuts batches when their flush interval
//! has passed, keeps up to `max_in_flight` requests running, retries what
//! can be retried, splits what the server finds too large, and records how
//! every batch ended.
//!
//! It keeps sending while handles encode, so under load batches fill from
//! the backlog and the flush interval only matters when the input is idle.
//! It ends once every handle is gone and every batch has completed.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt};
use http::StatusCode;
use tracing::Instrument;

use crate::error::{self, Error};
use crate::line_protocol::count_lines;
use crate::retry::Jitter;
use crate::write::options::{FailedBatch, OnFailure};
use crate::write::shared::{Failure, Sealed, Shared};
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
        let settled = c.points_written.load(Relaxed) + c.points_failed.load(Relaxed);
        let accepted = c.points_accepted.load(Relaxed) + state.current.points;
        let unsettled = accepted.saturating_sub(settled);
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
    let failures = deliver_parts(&shared, seq, batch.body, batch.points)
        .instrument(span)
        .await;
    (seq, failures)
}

async fn deliver_parts(shared: &Shared, seq: u64, body: Bytes, points: u64) -> Vec<Failure> {
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
    failures.push(Failure { seq, error, points });
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
