//! Which FortiFlex failures are worth another try, and how long to wait before it: bounded
//! in count and in total waiting, exponential with jitter, a server's `Retry-After` honoured.
//! [`Retries`] keeps one call's tries against the policy.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};

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
pub(super) const RATE_LIMIT_CODES: [i64; 3] = [-10, -11, -12];

/// The window a FortiFlex code says is spent: -10 the minute's, -11 the hour's. Retrying
/// these within the window only adds errors (FortiFlex reportedly locks an API user out after
/// ten an hour, `-30`): the caller waits the window out instead.
pub(super) fn spent_window(code: Option<i64>) -> Option<super::pace::Window> {
    match code {
        Some(-10) => Some(super::pace::Window::Minute),
        Some(-11) => Some(super::pace::Window::Hour),
        _ => None,
    }
}

/// Whether an HTTP status and FortiFlex `status` code mean "try again later": 5xx, 429 and
/// the rate-limit codes. A 400 without such a code (a validation error) never is.
pub(super) fn transient(http_status: Option<u16>, code: Option<i64>) -> bool {
    code.is_some_and(|c| RATE_LIMIT_CODES.contains(&c))
        || http_status.is_some_and(|s| s == 429 || (500..600).contains(&s))
}

/// How one try ended, when it did not end well.
pub(super) enum Failure {
    /// Worth another try after a wait (`Retry-After`, if the server gave one).
    Transient(Error, Option<Duration>),
    /// FortiFlex refused it for a spent window: wait the window out, then try again.
    WindowSpent(Error, super::pace::Window),
    /// FortiFlex refused the token: log in again, once.
    TokenRefused,
    /// Final: a validation error, a refused login, a reply of the wrong shape.
    Fatal(Error),
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    Retry,
    Relogin,
}

/// One call's retry state: failures so far, time waited, whether it already logged in again.
pub(super) struct Retries<'a> {
    call: &'a str,
    policy: &'a RetryPolicy,
    started: Instant,
    failures: u32,
    waited: Duration,
    relogged: bool,
}

impl<'a> Retries<'a> {
    pub(super) fn new(call: &'a str, policy: &'a RetryPolicy) -> Self {
        Retries {
            call,
            policy,
            started: Instant::now(),
            failures: 0,
            waited: Duration::ZERO,
            relogged: false,
        }
    }

    /// After a failed try: wait and say how to try again, or give up with the error. A
    /// refused token earns one fresh login; a second refusal is an `Authentication` error.
    pub(super) async fn after(&mut self, failure: Failure) -> Result<Next> {
        let call = self.call;
        match failure {
            Failure::Fatal(e) | Failure::WindowSpent(e, _) => Err(e),
            Failure::TokenRefused if !self.relogged => {
                self.relogged = true;
                tracing::warn!(call, "FortiFlex refused the token; logging in again");
                Ok(Next::Relogin)
            }
            Failure::TokenRefused => Err(Error::Authentication(format!(
                "FortiFlex refused a fresh token for {call}: Invalid security token."
            ))),
            Failure::Transient(e, retry_after) => {
                self.failures += 1;
                let delay = self.policy.delay(self.failures, retry_after);
                if self.failures >= self.policy.attempts || self.waited + delay > self.policy.budget
                {
                    return Err(e.during(format!(
                        "{call} failed {} time(s) in {} s, giving up",
                        self.failures,
                        self.started.elapsed().as_secs()
                    )));
                }
                tracing::warn!(
                    call,
                    attempt = self.failures,
                    retry_in_ms = delay.as_millis() as u64,
                    error = %e,
                    "FortiFlex call failed; retrying"
                );
                tokio::time::sleep(delay).await;
                self.waited += delay;
                Ok(Next::Retry)
            }
        }
    }
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

    #[test]
    fn the_minute_and_hour_limits_are_waited_out_not_retried() {
        use super::super::pace::Window;
        assert_eq!(spent_window(Some(-10)), Some(Window::Minute));
        assert_eq!(spent_window(Some(-11)), Some(Window::Hour));
        assert_eq!(
            spent_window(Some(-12)),
            None,
            "a token in use twice: a retry"
        );
        assert_eq!(spent_window(None), None);
    }
}
