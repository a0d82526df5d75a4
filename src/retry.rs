//! When and how long to wait before sending a failed request again.
//!
//! Retrying without care turns one overloaded server into a storm: every
//! client retries at once, on the same schedule. So the delay grows
//! exponentially and is drawn at random between zero and that bound ("full
//! jitter"), a server's `Retry-After` is a floor, and both the number of
//! retries and the total time are capped.

use std::time::Duration;

use crate::error::Error;

/// Retry settings for writes.
///
/// ```
/// use std::time::Duration;
/// use influx_stream::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .max_retries(5)
///     .initial_backoff(Duration::from_millis(50))
///     .max_elapsed(Duration::from_secs(30));
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct RetryPolicy {
    pub(crate) max_retries: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// 10 retries, starting at 100 ms, each at most 10 s, 60 s in all.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn never() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// How many times one request may be sent again. Default: 10.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The bound of the first delay; it doubles with every retry. Default: 100 ms.
    pub fn initial_backoff(mut self, d: Duration) -> Self {
        self.initial_backoff = d;
        self
    }

    /// The largest bound a delay can reach. Default: 10 s.
    pub fn max_backoff(mut self, d: Duration) -> Self {
        self.max_backoff = d;
        self
    }

    /// No retry starts later than this after the first attempt. Default: 60 s.
    pub fn max_elapsed(mut self, d: Duration) -> Self {
        self.max_elapsed = d;
        self
    }

    /// The delay before retry number `retry` (0-based) after `err`, or
    /// `None` when the error is final or the budget is spent.
    pub(crate) fn delay(
        &self,
        err: &Error,
        retry: u32,
        elapsed: Duration,
        rng: &mut Jitter,
    ) -> Option<Duration> {
        if !err.is_retryable() || retry >= self.max_retries {
            return None;
        }
        let exp = self
            .initial_backoff
            .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
            .min(self.max_backoff);
        let mut delay = exp.mul_f64(rng.next_unit());
        if let Some(floor) = err.retry_after() {
            delay = delay.max(floor);
        }
        // Checked: a policy of Duration::MAX or a huge Retry-After must not
        // overflow (and panic the writer task).
        if elapsed
            .checked_add(delay)
            .map_or(true, |end| end > self.max_elapsed)
        {
            return None;
        }
        Some(delay)
    }
}

/// A small xorshift generator: jitter needs spread, not cryptography.
#[derive(Debug)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let seed = nanos ^ COUNTER.fetch_add(0x6A09_E667_F3BC_C909, Ordering::Relaxed);
        Jitter(seed | 1)
    }

    /// Uniform in [0, 1).
    pub(crate) fn next_unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Kind;
    use http::StatusCode;

    fn status(code: u16) -> Error {
        Error::new(Kind::Status).with_status(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
    }

    #[test]
    fn huge_delays_do_not_overflow() {
        let p = RetryPolicy::default()
            .max_retries(u32::MAX)
            .initial_backoff(Duration::MAX)
            .max_elapsed(Duration::MAX);
        let p = RetryPolicy {
            max_backoff: Duration::MAX,
            ..p
        };
        let mut j = Jitter::new();
        let e = status(503).with_retry_after(Some(Duration::MAX));
        for retry in [0, 1, 31, 64, u32::MAX - 1] {
            // Whatever it answers, it answers without panicking.
            let _ = p.delay(&e, retry, Duration::from_secs(3600), &mut j);
        }
        assert_eq!(p.delay(&e, 0, Duration::MAX, &mut j), None);
    }

    #[test]
    fn final_errors_are_not_retried() {
        let p = RetryPolicy::default();
        let mut j = Jitter::new();
        assert_eq!(p.delay(&status(400), 0, Duration::ZERO, &mut j), None);
        assert_eq!(p.delay(&status(404), 0, Duration::ZERO, &mut j), None);
        assert!(p.delay(&status(503), 0, Duration::ZERO, &mut j).is_some());
    }

    #[test]
    fn delays_are_bounded_and_honour_retry_after() {
        let p = RetryPolicy::default();
        let mut j = Jitter::new();
        for retry in 0..10 {
            let d = p
                .delay(&status(503), retry, Duration::ZERO, &mut j)
                .unwrap_or(Duration::MAX);
            let bound = Duration::from_millis(100 * (1 << retry)).min(Duration::from_secs(10));
            assert!(d <= bound, "retry {retry}: {d:?} > {bound:?}");
        }
        assert_eq!(p.delay(&status(503), 10, Duration::ZERO, &mut j), None);
        let e = status(503).with_retry_after(Some(Duration::from_secs(2)));
        let d = p.delay(&e, 0, Duration::ZERO, &mut j);
        assert!(d.is_some_and(|d| d >= Duration::from_secs(2)));
        assert_eq!(p.delay(&e, 0, Duration::from_secs(59), &mut j), None);
    }
}
