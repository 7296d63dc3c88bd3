//! Which FortiFlex failures are worth another try, and how long to wait before it: bounded
//! in count and in total waiting, exponential with jitter, a server's `Retry-After` honoured.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The first wait; each later one doubles, up to `max_delay`.
    pub base: Duration,
    pub max_delay: Duration,
    /// Total waiting one call may spend on retries.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            budget: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry `n` (1 for the first retry): a random point in the upper half of
    /// `base * 2^(n-1)` (capped), so clients that failed together do not retry together; a
    /// longer `Retry-After` from the server wins.
    pub fn delay(&self, n: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = half.mul_f64(fastrand::f64());
        let d = half + jitter;
        retry_after.map_or(d, |r| r.max(d))
    }
}

/// FortiFlex's "slow down" codes: -10 minute limit, -11 hour limit, -12 concurrent token use.
pub const RATE_LIMIT_CODES: [i64; 3] = [-10, -11, -12];

/// Whether an HTTP status and FortiFlex `status` code mean "try again later": 5xx, 429 and
/// the rate-limit codes. A 400 without such a code (a validation error) never is.
pub fn transient(http_status: Option<u16>, code: Option<i64>) -> bool {
    code.is_some_and(|c| RATE_LIMIT_CODES.contains(&c))
        || http_status.is_some_and(|s| s == 429 || (500..600).contains(&s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_stay_bounded_and_honour_retry_after() {
        let p = RetryPolicy::default();
        for n in 1..=10 {
            let d = p.delay(n, None);
            let full = (p.base * 2u32.pow(n - 1)).min(p.max_delay);
            assert!(d >= full / 2 && d <= full, "retry {n}: {d:?}");
        }
        assert!(p.delay(40, None) <= p.max_delay);
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
    }

    #[test]
    fn only_server_trouble_and_rate_limits_are_transient() {
        assert!(transient(Some(503), None));
        assert!(transient(Some(500), Some(1)));
        assert!(transient(Some(429), None));
        assert!(transient(Some(400), Some(-10)));
        assert!(transient(Some(200), Some(-12)));
        assert!(!transient(Some(400), Some(1)));
        assert!(!transient(Some(400), None));
        assert!(!transient(Some(404), None));
        assert!(!transient(Some(200), Some(-30)), "too many errors: stop");
    }
}
