//! The calls of FortiFlex's budget window, shared by every job step (`staging/budget.json`):
//! the limits are per API user, so a chunk inherits the calls the steps before it made, of
//! its own job and of any other (a backfill started while the daily job runs). Steps run one
//! at a time (the function's reserved concurrency is 1), so the object has one writer. A
//! chunk records the calls it is about to make before it makes them ([`save_reserving`]).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::adapters::fortiflex::Pacer;
use crate::adapters::storage::Sink;
use crate::contract::{JSON_CONTENT_TYPE, keys};
use crate::error::{Error, Result};

#[derive(Debug, Default, Serialize, Deserialize)]
struct Budget {
    /// Start instants (ms since the epoch) of the calls of the last hour window.
    calls: Vec<i64>,
}

/// The wall clock the budget is kept in (a run's `ctx.now` is the report clock, which tests
/// and replays set).
fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// How long ago each recorded call started.
pub(super) async fn ages(sink: &impl Sink) -> Result<Vec<Duration>> {
    let Some(bytes) = sink.get(keys::BUDGET).await? else {
        return Ok(Vec::new());
    };
    // An unreadable budget is a storage fault: guessing "no calls" could break the limits.
    let budget: Budget = serde_json::from_slice(&bytes).map_err(|e| {
        Error::Storage(format!(
            "{} is unreadable: {e}",
            sink.location(keys::BUDGET)
        ))
    })?;
    let now = now_ms();
    Ok(budget
        .calls
        .iter()
        .map(|t| Duration::from_millis(now.saturating_sub(*t).max(0) as u64))
        .collect())
}

/// Records the calls `pacer` knows of (those of the window), for the next step.
pub(super) async fn save(sink: &impl Sink, pacer: &Pacer) -> Result<()> {
    save_reserving(sink, pacer, 0).await
}

/// [`save`], with `reserved` more calls recorded as starting now: the calls about to be made
/// before the next save. An invocation killed before that save leaves the record counting
/// them (more than it made, never fewer), so the next step cannot overrun the window.
pub(super) async fn save_reserving(sink: &impl Sink, pacer: &Pacer, reserved: u64) -> Result<()> {
    let now = now_ms();
    let mut calls: Vec<i64> = pacer
        .ages()
        .await
        .iter()
        .map(|a| now - a.as_millis() as i64)
        .collect();
    calls.extend(std::iter::repeat_n(now, reserved as usize));
    calls.sort_unstable();
    if calls.is_empty() {
        // Nothing in the window: nothing to hand on (and nothing written for a step that
        // failed before its first call).
        return Ok(());
    }
    let body = serde_json::to_vec(&Budget { calls })
        .map_err(|e| Error::Storage(format!("cannot encode the call budget: {e}")))?;
    sink.put(keys::BUDGET, body, JSON_CONTENT_TYPE).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::fortiflex::Limits;
    use crate::adapters::storage::MemorySink;

    #[tokio::test]
    async fn calls_about_to_be_made_are_recorded_before_they_are_made() {
        let sink = MemorySink::default();
        let pacer = Pacer::new(Limits::default());
        for _ in 0..3 {
            drop(pacer.turn().await);
        }
        // Before a batch of up to 200 calls: the record counts them already.
        save_reserving(&sink, &pacer, 200).await.unwrap();
        assert_eq!(ages(&sink).await.unwrap().len(), 203);
        // Killed now, the next step's pacer sees the whole batch as spent.
        let next = Pacer::resume(Limits::default(), &ages(&sink).await.unwrap());
        assert_eq!(next.calls_this_hour().await, 203);
        // The batch's end records what was made.
        save(&sink, &pacer).await.unwrap();
        assert_eq!(ages(&sink).await.unwrap().len(), 3);
    }
}
