//! Client-side pacing under FortiFlex's reported limits (100 calls a minute, 1,000 an hour),
//! one call at a time per token (status -12 means concurrent use of a token). Every run,
//! backfills included, stays under the limits instead of finding them.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::{Mutex, MutexGuard};
use tokio::time::Instant;

/// Calls allowed per sliding minute and per sliding hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_minute: u32,
    pub per_hour: u32,
    /// The hour window's length: an hour, except in tests and trials that scale the budget
    /// down so its waits last seconds (the minute window is a sixtieth of it).
    pub hour: Duration,
}

impl Limits {
    /// `per_minute` and `per_hour` over a real minute and hour.
    pub fn new(per_minute: u32, per_hour: u32) -> Self {
        Limits {
            per_minute,
            per_hour,
            hour: HOUR,
        }
    }

    /// The minute window's length.
    pub fn minute(&self) -> Duration {
        self.hour / 60
    }
}

impl Default for Limits {
    /// 90 and 950: below the reported limits, for other clients of the same user, while a
    /// 300-account scheduled run (3 calls per account plus 2) still fits one hour.
    fn default() -> Self {
        Limits::new(90, 950)
    }
}

const HOUR: Duration = Duration::from_secs(3600);

/// One of FortiFlex's call windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Minute,
    Hour,
}

/// Hands out turns: one holder at a time, and no more starts per window than the limits.
#[derive(Debug)]
pub struct Pacer {
    limits: Limits,
    /// Start instants of the calls of the last hour, oldest first.
    starts: Mutex<VecDeque<Instant>>,
}

/// A turn to call FortiFlex; the next caller waits until it is dropped.
pub struct Turn<'a> {
    _guard: MutexGuard<'a, VecDeque<Instant>>,
}

impl Pacer {
    pub fn new(limits: Limits) -> Self {
        Self::resume(limits, &[])
    }

    /// A pacer that knows the calls an earlier invocation started `ages` ago (a Step
    /// Functions job carries them from chunk to chunk), so the windows hold across both.
    pub fn resume(limits: Limits, ages: &[Duration]) -> Self {
        let now = Instant::now();
        let mut starts: Vec<Instant> = ages
            .iter()
            .filter(|a| **a < limits.hour)
            .filter_map(|a| now.checked_sub(*a))
            .collect();
        starts.sort_unstable();
        Pacer {
            limits,
            starts: Mutex::new(starts.into()),
        }
    }

    /// How long ago each call of the last hour window started, oldest first.
    pub async fn ages(&self) -> Vec<Duration> {
        let now = Instant::now();
        let starts = self.starts.lock().await;
        starts
            .iter()
            .map(|t| now.duration_since(*t))
            .filter(|a| *a < self.limits.hour)
            .collect()
    }

    /// Calls started in the last hour: what a run planned now must leave room for.
    pub async fn calls_this_hour(&self) -> u64 {
        self.ages().await.len() as u64
    }

    /// How long until `calls` more calls fit the hour window (zero: they fit now). A job's
    /// chunk stops and waits this long instead of sleeping in an invocation.
    pub async fn wait_for(&self, calls: u64) -> Duration {
        let ages = self.ages().await;
        let limit = u64::from(self.limits.per_hour);
        let over = (ages.len() as u64 + calls).saturating_sub(limit);
        match usize::try_from(over).ok().filter(|o| *o > 0) {
            None => Duration::ZERO,
            // The `over`-th oldest call must leave the window first.
            Some(o) => ages
                .get(o - 1)
                .map_or(self.limits.hour, |a| self.limits.hour - *a),
        }
    }

    /// Counts `window` as spent from now (FortiFlex refused a call for it: another client of
    /// the same API user used it up), so the next turn waits the whole window and the shared
    /// budget record shows it.
    pub async fn spend(&self, window: Window) {
        let mut starts = self.starts.lock().await;
        let now = Instant::now();
        let n = match window {
            Window::Minute => self.limits.per_minute,
            Window::Hour => self.limits.per_hour,
        };
        for _ in 0..n {
            starts.push_back(now);
        }
    }

    /// Waits for a turn: until no other call is in flight and a call now would stay within
    /// both windows. Uses tokio's clock, so tests can run it on a paused clock.
    pub async fn turn(&self) -> Turn<'_> {
        let mut starts = self.starts.lock().await;
        loop {
            let now = Instant::now();
            let (minute, hour) = (self.limits.minute(), self.limits.hour);
            while starts
                .front()
                .is_some_and(|t| now.duration_since(*t) >= hour)
            {
                starts.pop_front();
            }
            let in_minute = starts
                .iter()
                .rev()
                .take_while(|t| now.duration_since(**t) < minute)
                .count();
            let wait_until = if in_minute >= self.limits.per_minute as usize {
                // The call that leaves the minute window first frees a slot.
                Some(starts[starts.len() - in_minute] + minute)
            } else if starts.len() >= self.limits.per_hour as usize {
                Some(starts[starts.len() - self.limits.per_hour as usize] + hour)
            } else {
                None
            };
            match wait_until {
                Some(t) => {
                    tracing::debug!(
                        wait_ms = t.saturating_duration_since(now).as_millis() as u64,
                        "pacing FortiFlex calls"
                    );
                    tokio::time::sleep_until(t).await;
                }
                None => {
                    starts.push_back(now);
                    return Turn { _guard: starts };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most starts found in any window of `width` beginning at a start.
    fn busiest(starts: &[Instant], width: Duration) -> usize {
        starts
            .iter()
            .map(|s| {
                starts
                    .iter()
                    .filter(|t| **t >= *s && **t < *s + width)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn two_hundred_calls_never_exceed_the_minute_rate() {
        let pacer = Pacer::new(Limits::default());
        let begin = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..200 {
            let _turn = pacer.turn().await;
            starts.push(Instant::now());
            // A call takes a little while.
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
        assert_eq!(busiest(&starts, MINUTE), 90);
        // 200 calls at 90 a minute: the 181st cannot start before two minutes have passed.
        assert!(
            starts[180] - begin >= Duration::from_secs(120),
            "{:?}",
            starts[180] - begin
        );
        assert!(starts[199] - begin < Duration::from_secs(150));
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn a_resumed_pacer_keeps_the_earlier_calls_windows() {
        let limits = Limits {
            per_minute: 10,
            per_hour: 20,
            hour: Duration::from_secs(60),
        };
        let first = Pacer::new(limits);
        for _ in 0..15 {
            let _turn = first.turn().await;
        }
        // 10 in the first second (the minute window is one second), 5 in the next.
        assert_eq!(first.calls_this_hour().await, 15);
        assert_eq!(first.wait_for(5).await, Duration::ZERO);
        let ages = first.ages().await;
        let next = Pacer::resume(limits, &ages);
        assert_eq!(next.calls_this_hour().await, 15);
        // Six more would be 21 in the hour: wait until the oldest call leaves it.
        let wait = next.wait_for(6).await;
        assert!(
            wait > Duration::from_secs(58) && wait <= limits.hour,
            "{wait:?}"
        );
        let begin = Instant::now();
        for _ in 0..6 {
            let _turn = next.turn().await;
        }
        assert!(
            Instant::now() - begin >= wait,
            "the hour window held across pacers"
        );
        // By then the first second's ten calls have left the window: 5 + 6 in it.
        assert_eq!(next.calls_this_hour().await, 11);
    }

    #[tokio::test(start_paused = true)]
    async fn the_hour_limit_holds_too() {
        let pacer = Pacer::new(Limits::new(1000, 50));
        let begin = Instant::now();
        let mut starts = Vec::new();
        for _ in 0..120 {
            let _turn = pacer.turn().await;
            starts.push(Instant::now());
        }
        assert_eq!(busiest(&starts, HOUR), 50);
        assert!(starts[100] - begin >= Duration::from_secs(2 * 3600));
    }

    #[tokio::test(start_paused = true)]
    async fn one_call_at_a_time() {
        let pacer = std::sync::Arc::new(Pacer::new(Limits::default()));
        let in_flight = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (pacer, in_flight) = (pacer.clone(), in_flight.clone());
            tasks.push(tokio::spawn(async move {
                let _turn = pacer.turn().await;
                let before = in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await;
                in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                before
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 0, "another call was in flight");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_refused_by_fortiflex_is_waited_out_whole() {
        let pacer = Pacer::new(Limits::new(90, 950));
        let _ = pacer.turn().await;
        pacer.spend(Window::Minute).await;
        assert_eq!(
            pacer.wait_for(1).await,
            Duration::ZERO,
            "the hour still has room"
        );
        let begin = Instant::now();
        drop(pacer.turn().await);
        assert_eq!(
            Instant::now() - begin,
            Limits::default().minute(),
            "a minute's wait"
        );
        pacer.spend(Window::Hour).await;
        assert_eq!(
            pacer.wait_for(1).await,
            HOUR,
            "a whole hour, recorded as spent"
        );
        assert!(pacer.calls_this_hour().await >= 950);
    }
}
