//! Deciding, before any per-account call, what each requested day needs: a fetch, a cheap
//! restatement check, or nothing (kept), and what the whole run will cost in FortiFlex calls.
//! Pure: the archive's answers and the clock come in as plain values.

use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::adapters::fortiflex::Limits;
use crate::domain::window::{DayRange, last_complete_day, today};
use crate::error::{Error, Result};

/// Why a day is not fetched.
pub(crate) const KEPT_RETENTION: &str =
    "kept: beyond FortiFlex's retention, the stored report stays";
pub(crate) const KEPT_STORED: &str =
    "kept: stored already and older than the restatement window (force re-pulls it)";

/// What one requested day needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DayPlan {
    /// Not stored (or forced): one `entitlements/points` call per account.
    Fetch,
    /// Stored and still restatable: checked with one range call per account over its run
    /// of consecutive stored days, re-pulled only where an account's totals differ.
    Check,
    /// Not fetched at all; the stored report stays byte for byte.
    Keep(&'static str),
}

/// The oldest day FortiFlex still holds at `now`: `retention_days` before today.
pub fn oldest_available(now: DateTime<Utc>, tz: Tz, retention_days: u32) -> NaiveDate {
    today(now, tz)
        .checked_sub_days(Days::new(u64::from(retention_days)))
        .unwrap_or(NaiveDate::MIN)
}

/// The first day a scheduled run would still re-pull: `restate_days` before the last
/// complete one.
pub(crate) fn restatable_from(now: DateTime<Utc>, tz: Tz, restate_days: u32) -> NaiveDate {
    last_complete_day(now, tz)
        .checked_sub_days(Days::new(u64::from(restate_days)))
        .unwrap_or(NaiveDate::MIN)
}

/// Refuses a range that reaches past retention: FortiFlex would answer it short.
pub(crate) fn ensure_retained(
    range: DayRange,
    oldest: NaiveDate,
    retention_days: u32,
) -> Result<()> {
    if range.start() < oldest {
        return Err(past_retention(&[range.start()], oldest, retention_days));
    }
    Ok(())
}

pub(crate) fn past_retention(days: &[NaiveDate], oldest: NaiveDate, retention_days: u32) -> Error {
    let which = match days {
        [one] => one.to_string(),
        [first, .., last] => format!("{} day(s) from {first} to {last}", days.len()),
        [] => "no day".into(),
    };
    Error::InvalidRequest(format!(
        "{which} is past FortiFlex's {retention_days}-day retention and not stored: \
         FortiFlex would answer it empty; the oldest day still available is {oldest}"
    ))
}

/// Classifies `day`. `stored`: the archive holds a report for it.
pub(crate) fn day_plan(
    day: NaiveDate,
    stored: bool,
    oldest: NaiveDate,
    restatable: NaiveDate,
    force: bool,
) -> Option<DayPlan> {
    Some(match (day < oldest, stored) {
        (true, true) => DayPlan::Keep(KEPT_RETENTION),
        (true, false) => return None,
        (false, false) => DayPlan::Fetch,
        (false, true) if force => DayPlan::Fetch,
        (false, true) if day >= restatable => DayPlan::Check,
        (false, true) => DayPlan::Keep(KEPT_STORED),
    })
}

/// Consecutive runs of days to check, each one range call per account.
pub(crate) fn check_runs(mut days: Vec<NaiveDate>) -> Vec<DayRange> {
    days.sort_unstable();
    let mut runs: Vec<DayRange> = Vec::new();
    for d in days {
        match runs.last_mut() {
            Some(r) if r.end().succ_opt() == Some(d) => {
                if let Ok(longer) = DayRange::new(r.start(), d) {
                    *r = longer;
                }
            }
            _ => runs.push(DayRange::day(d)),
        }
    }
    runs
}

/// FortiFlex calls a program's share of a run costs, when no restatement is found:
/// the catalog (one `entitlements/list` per account), one call per account for each
/// fetched day and each checked run, and the range report's calls.
pub(crate) fn program_calls(
    catalog_accounts: u64,
    accounts: u64,
    fetch_days: u64,
    check_runs: u64,
    range_calls: u64,
) -> u64 {
    let reports = accounts * (fetch_days + check_runs) + range_calls;
    if reports == 0 {
        0
    } else {
        catalog_accounts + reports
    }
}

/// How long `calls` wait for the pacer, `already` calls having started this hour: a
/// minute's worth go at once, then `per_minute` a minute (the replies' own time aside).
pub(crate) fn duration_of(calls: u64, already: u64, limits: Limits) -> Duration {
    let (per_min, per_hour) = (u64::from(limits.per_minute), u64::from(limits.per_hour));
    let free_now = per_hour.saturating_sub(already);
    let (minute, hour) = (
        limits.minute().as_millis() as u64,
        limits.hour.as_millis() as u64,
    );
    let ms = if calls <= free_now {
        calls.saturating_sub(per_min) * minute / per_min
    } else {
        // Past the hour's budget, each further block of `per_hour` calls waits an hour.
        let rest = calls - free_now;
        hour * rest.div_ceil(per_hour) + (rest % per_hour).max(1) * minute / per_min
    };
    Duration::from_millis(ms)
}

/// Refuses, before any per-account call, a run that cannot finish inside `time_left` (the
/// Lambda's remaining time) under the pacing limits. `already`: calls made this hour.
pub(crate) fn ensure_fits(
    calls: u64,
    already: u64,
    limits: Limits,
    time_left: Option<Duration>,
) -> Result<()> {
    let Some(time_left) = time_left else {
        return Ok(());
    };
    let needed = duration_of(calls, already, limits);
    let free = u64::from(limits.per_hour).saturating_sub(already);
    if calls <= free && needed + Duration::from_secs(30) <= time_left {
        return Ok(());
    }
    let by_time = time_left.as_secs().saturating_sub(30) * u64::from(limits.per_minute)
        / limits.minute().as_secs().max(1);
    let most = free.min(by_time);
    Err(Error::Budget(format!(
        "this run needs {calls} FortiFlex call(s) but one invocation can make at most {most} \
         (pacing allows {} calls an hour, {already} made already, {} a minute, within {} s left); \
         a scheduled run costs 3 calls per account plus 2, so one invocation handles programs of up to {} accounts; \
         run it as a job on the state machine (the schedule does; make backfill-remote for a backfill), which has no such ceiling",
        limits.per_hour,
        limits.per_minute,
        time_left.as_secs(),
        most.saturating_sub(2) / 3
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::window::{PACIFIC, parse_date};

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn days_are_fetched_checked_or_kept() {
        let now = at("2025-11-09T20:00:00Z");
        let oldest = oldest_available(now, PACIFIC, 90);
        assert_eq!(oldest, d("2025-08-11"));
        let restatable = restatable_from(now, PACIFIC, 2);
        assert_eq!(restatable, d("2025-11-06"));
        let plan = |day, stored, force| day_plan(d(day), stored, oldest, restatable, force);
        assert_eq!(plan("2025-11-08", false, false), Some(DayPlan::Fetch));
        assert_eq!(plan("2025-11-06", true, false), Some(DayPlan::Check));
        assert_eq!(
            plan("2025-11-05", true, false),
            Some(DayPlan::Keep(KEPT_STORED))
        );
        assert_eq!(plan("2025-11-05", true, true), Some(DayPlan::Fetch));
        assert_eq!(
            plan("2025-08-10", true, true),
            Some(DayPlan::Keep(KEPT_RETENTION))
        );
        assert_eq!(plan("2025-08-11", false, false), Some(DayPlan::Fetch));
        assert_eq!(plan("2025-08-10", false, false), None);
        let err = past_retention(&[d("2025-08-01"), d("2025-08-10")], oldest, 90).to_string();
        assert!(
            err.contains(
                "2 day(s) from 2025-08-01 to 2025-08-10 is past FortiFlex's 90-day retention"
            ) && err.contains("oldest day still available is 2025-08-11"),
            "{err}"
        );
    }

    #[test]
    fn consecutive_days_share_one_check() {
        let runs = check_runs(vec![d("2025-11-07"), d("2025-11-06"), d("2025-11-03")]);
        assert_eq!(
            runs,
            vec![
                DayRange::day(d("2025-11-03")),
                DayRange::new(d("2025-11-06"), d("2025-11-07")).unwrap()
            ]
        );
    }

    #[test]
    fn a_steady_state_run_costs_three_calls_per_account_plus_discovery() {
        // Yesterday fetched, the two restated days checked with one range call.
        let calls = program_calls(300, 300, 1, 1, 0) + 2;
        assert_eq!(calls, 902);
        let limits = Limits::new(90, 950);
        assert!(ensure_fits(calls, 0, limits, Some(Duration::from_secs(900))).is_ok());
        let err = ensure_fits(
            program_calls(400, 400, 1, 1, 0) + 2,
            0,
            limits,
            Some(Duration::from_secs(900)),
        )
        .unwrap_err();
        assert_eq!(err.kind(), "Budget");
        assert!(err.to_string().contains("up to 316 accounts"), "{err}");
        // The CLI has no deadline: it waits out the hour instead.
        assert!(ensure_fits(5000, 0, limits, None).is_ok());
        assert_eq!(duration_of(90, 0, limits), Duration::ZERO);
        assert_eq!(duration_of(180, 0, limits), Duration::from_secs(60));
        assert!(duration_of(1000, 0, limits) > Duration::from_secs(3600));
        assert_eq!(
            program_calls(3, 3, 0, 0, 0),
            0,
            "nothing to fetch: no catalog"
        );
    }
}
