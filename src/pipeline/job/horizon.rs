//! Which of a job's days cannot be whole: a fetched day needs every account asked before
//! FortiFlex forgets it (at the Pacific midnight `retention_days` after it), and the budget
//! paces the calls. Planned with the job, so a retained backfill does not start with an
//! oldest day it cannot finish (its budget goes to days that can be whole); the chunks check
//! again at each call, since the estimate cannot see other users of the API user's budget.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::state::{Item, Work};
use crate::adapters::fortiflex::Limits;
use crate::pipeline::request::Context;

/// How close to its age-out a day is no longer asked for: FortiFlex's clock may run ahead
/// of ours, and past retention it answers an empty success indistinguishable from no use.
pub(super) const MARGIN: chrono::Duration = chrono::Duration::minutes(10);

/// The start of the Pacific day on which FortiFlex no longer holds `day`.
pub(super) fn ages_out(day: NaiveDate, tz: Tz, retention_days: u32) -> DateTime<Utc> {
    let local = (day + Days::new(u64::from(retention_days) + 1))
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default();
    tz.from_local_datetime(&local)
        .earliest()
        .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
}

/// Why `day` is no longer inside FortiFlex's retention at `at` (with a margin), if it is not:
/// asked before each call of a job's chunk and of a direct run, never only when planning.
pub(crate) fn aged_out(
    day: NaiveDate,
    at: chrono::DateTime<chrono::Utc>,
    ctx: &Context,
) -> Option<String> {
    let gone = ages_out(day, ctx.timezone, ctx.retention_days);
    (at + MARGIN >= gone).then(|| {
        format!(
            "{day} left FortiFlex's {}-day retention at {} UTC before every account of the program was fetched: not published, since a report of it would be partial",
            ctx.retention_days,
            gone.format("%Y-%m-%d %H:%M")
        )
    })
}

/// The longest job the planner accepts, in days at the budget's pace. A job's staged parts
/// are read to its end, and the bucket expires `staging/` after [`STAGING_EXPIRY_DAYS`]
/// (`template.yaml`, a template test checks the two): the expiry outlives the longest job
/// with two days to spare for waits the estimate cannot see.
pub(super) const MAX_JOB_DAYS: u64 = 12;
/// The template's `expire-job-staging` rule (kept equal by a template test).
pub(super) const STAGING_EXPIRY_DAYS: u64 = 14;
/// [`STAGING_EXPIRY_DAYS`] as a duration: the default of [`Context::staging_expiry`].
pub const STAGING_EXPIRY: std::time::Duration =
    std::time::Duration::from_secs(STAGING_EXPIRY_DAYS * 86_400);
const _: () = assert!(STAGING_EXPIRY_DAYS >= MAX_JOB_DAYS + 2);

/// When the `calls`-th call of a job started at `now` can go out at the latest pace `limits`
/// allow: a full hour window per `per_hour` calls, a minute per `per_minute`.
pub(super) fn paced(calls: u64, limits: &Limits, now: DateTime<Utc>) -> DateTime<Utc> {
    let before = calls.saturating_sub(1);
    let hours =
        limits.hour * u32::try_from(before / u64::from(limits.per_hour.max(1))).unwrap_or(u32::MAX);
    let minutes = limits.minute()
        * u32::try_from(before / u64::from(limits.per_minute.max(1))).unwrap_or(u32::MAX);
    now + chrono::Duration::from_std(hours.max(minutes)).unwrap_or(chrono::Duration::MAX)
}

/// The fetched days of `items` (in the order chunks run them, from `now`) whose last
/// account would be asked within `margin` of the day leaving retention, with why; a day so
/// planned costs no call, so the days after it are estimated without it.
pub(super) fn unreachable_days(
    items: &[Item],
    limits: &Limits,
    now: DateTime<Utc>,
    (tz, retention_days): (Tz, u32),
) -> Vec<(usize, NaiveDate, String)> {
    let mut lost = Vec::new();
    // A step's login first.
    let mut calls: u64 = 1;
    let mut i = 0;
    while i < items.len() {
        let Work::Fetch { day } = items[i].work else {
            calls += items[i].max_calls();
            i += 1;
            continue;
        };
        let program = items[i].program;
        let run = items[i..]
            .iter()
            .take_while(|it| it.program == program && it.work == Work::Fetch { day })
            .count();
        let done = paced(calls + run as u64, limits, now);
        let deadline = ages_out(day, tz, retention_days);
        if done + MARGIN >= deadline {
            lost.push((
                program,
                day,
                format!(
                    "{day} leaves FortiFlex's {retention_days}-day retention at {} UTC, before its {run} account(s) can all be asked at FortiFlex's pace (about {} UTC): not fetched, since a report of it would be partial",
                    deadline.format("%Y-%m-%d %H:%M"),
                    done.format("%Y-%m-%d %H:%M")
                ),
            ));
        } else {
            calls += run as u64;
        }
        i += run;
    }
    lost
}

/// Refuses a job of `calls` calls that would outlast [`MAX_JOB_DAYS`] at `limits`' pace.
pub(super) fn within_longest_job(calls: u64, limits: &Limits) -> Result<(), String> {
    let now = DateTime::<Utc>::UNIX_EPOCH;
    let takes = paced(calls, limits, now) - now;
    let longest = chrono::Duration::days(MAX_JOB_DAYS as i64);
    // Measured in the budget's own hours (scaled down in tests and trials).
    let scale = limits.hour.as_secs_f64() / 3600.0;
    let longest =
        chrono::Duration::milliseconds((longest.num_milliseconds() as f64 * scale) as i64);
    match takes > longest {
        false => Ok(()),
        true => Err(format!(
            "this job needs {calls} FortiFlex calls, about {} hours at {} calls an hour, more than the {MAX_JOB_DAYS} days a job may run (its staging expires after {STAGING_EXPIRY_DAYS}): split it into shorter ranges or fewer programs",
            (takes.num_seconds() as f64 / 3600.0 / scale).round(),
            limits.per_hour
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::window::PACIFIC;
    use crate::testutil::at;

    fn items(accounts: u64, days: &[&str]) -> Vec<Item> {
        let item = |account, work| Item {
            program: 0,
            account,
            work,
        };
        let mut items: Vec<Item> = (1..=accounts).map(|a| item(a, Work::Catalog)).collect();
        for d in days {
            let day = d.parse().unwrap();
            items.extend((1..=accounts).map(|a| item(a, Work::Fetch { day })));
        }
        items
    }

    #[test]
    fn a_day_leaves_retention_at_the_pacific_midnight_after_its_ninety_days() {
        // 23 August + 91 days = 22 November, 00:00 Pacific (PST) = 08:00 UTC.
        assert_eq!(
            ages_out("2025-08-23".parse().unwrap(), PACIFIC, 90),
            at("2025-11-22T08:00:00Z")
        );
        // In summer time, 07:00 UTC.
        assert_eq!(
            ages_out("2025-04-01".parse().unwrap(), PACIFIC, 90),
            at("2025-07-01T07:00:00Z")
        );
    }

    #[test]
    fn a_job_longer_than_its_staging_lives_is_refused() {
        let limits = Limits::default();
        // 1,000 accounts × 90 days: about 96 hours, accepted.
        assert!(within_longest_job(1_000 * 91 + 2, &limits).is_ok());
        // 3,200 accounts × 90 days: about 12 days and 18 hours, refused, saying why.
        let refused = within_longest_job(3_200 * 91 + 2, &limits).unwrap_err();
        assert!(
            refused.contains("12 days") && refused.contains("split it"),
            "{refused}"
        );
    }

    #[test]
    fn an_oldest_day_the_budget_cannot_finish_in_time_is_planned_lost() {
        let now = at("2025-11-21T14:00:00Z"); // 06:00 Pacific: 18 hours left for 23 August
        let tz = (PACIFIC, 90);
        let days = ["2025-08-23", "2025-08-24"];
        // 30 accounts at 950 calls an hour: the oldest day is whole within the hour.
        let quick = Limits::new(90, 950);
        assert!(unreachable_days(&items(30, &days), &quick, now, tz).is_empty());
        // At 2 calls an hour: 61 calls take 30 hours; 23 August has 18. 24 August, estimated
        // without it, needs the same 30 of its 42 hours.
        let slow = Limits::new(90, 2);
        let lost = unreachable_days(&items(30, &days), &slow, now, tz);
        assert_eq!(lost.len(), 1, "{lost:?}");
        assert_eq!((lost[0].0, lost[0].1), (0, "2025-08-23".parse().unwrap()));
        assert!(lost[0].2.contains("2025-11-22 08:00 UTC"), "{}", lost[0].2);
        // Started late in the Pacific day, even a quick budget cannot finish it.
        let late = at("2025-11-22T07:55:00Z");
        let lost = unreachable_days(&items(30, &days), &quick, late, tz);
        assert_eq!(lost.len(), 1);
    }
}
