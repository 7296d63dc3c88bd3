//! A program's balance in days: burn rates from the stored daily reports, runway, the grace
//! countdown of a negative balance, a prepaid program's roll-over estimate and a postpaid
//! program's commitment. Pure: the caller reads the balance, the stored days and the previous
//! snapshot; FortiFlex keeps no balance history, so each snapshot carries what the next needs.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Months, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::domain::money::Exact;

/// Days of grace after the balance turns negative, before FortiCloud may suspend (seed 004).
pub(crate) const GRACE_DAYS: u64 = 90;
/// Prepaid points are bought in units of 10,000 (seed 004): a jump of at least half of one,
/// once consumption is accounted for, is a top-up; anything smaller is timing noise.
const TOP_UP_UNIT: u32 = 10_000;
/// Day of a 12-month program year from which added points roll over whole (seed 004).
const FULL_ROLLOVER_FROM_DAY: u64 = 180;
/// Burn rates are shown to this many places; runway is computed from the exact sums.
const RATE_PLACES: u32 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProgramType {
    Prepaid,
    Postpaid,
}

/// What the snapshot is computed from.
#[derive(Debug, Clone)]
pub(crate) struct Inputs<'a> {
    pub program_serial: &'a str,
    pub program_type: ProgramType,
    /// The Pacific date the balance was read (it reflects the days before it).
    pub as_of: NaiveDate,
    /// `programs/points`; `None` for a postpaid program.
    pub balance: Option<Decimal>,
    /// Stored daily totals (program-wide points) of days before `as_of`; missing days absent.
    pub daily: &'a BTreeMap<NaiveDate, Decimal>,
    /// The most recent earlier snapshot, if one is stored.
    pub previous: Option<&'a Snapshot>,
    /// The program's registration date and end (`programs/list`).
    pub program_start: Option<NaiveDate>,
    pub program_end: Option<NaiveDate>,
    /// A postpaid program's annual commitment in points (a setting).
    pub commitment: Option<Decimal>,
}

/// `balances/dt=…/balance_<PROGRAM>_….json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub program_serial: String,
    pub program_type: ProgramType,
    pub as_of: NaiveDate,
    pub balance: Option<Exact>,
    pub burn_rate_7d: Option<Exact>,
    pub burn_rate_30d: Option<Exact>,
    /// Stored days behind each rate (fewer than 7 or 30 while the archive is young).
    pub burn_days_7d: u32,
    pub burn_days_30d: u32,
    /// floor(balance / burn_rate_7d); 0 once the balance is not positive; `None` without a
    /// balance or without consumption.
    pub runway_days: Option<i64>,
    pub runs_out_on: Option<NaiveDate>,
    pub grace: Option<Grace>,
    pub commitment: Option<Commitment>,
    pub rollover_estimate: Option<Rollover>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grace {
    pub first_negative_on: NaiveDate,
    pub suspension_after: NaiveDate,
    pub days_left: i64,
    /// `snapshots` (carried from the stored snapshot of an earlier negative day) or
    /// `daily_points` (walked back from today's balance through the stored days).
    pub basis: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Commitment {
    pub annual_points: Exact,
    pub year_start: NaiveDate,
    pub year_end: NaiveDate,
    /// Stored points of the program year so far (days before `as_of`).
    pub used: Exact,
    pub days_stored: u32,
    /// `used` plus `burn_rate_30d` for every day left in the year.
    pub projected_year_end: Exact,
    pub shortfall: Exact,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rollover {
    pub term_months: u32,
    pub anniversary: NaiveDate,
    /// Balance left at the anniversary if `burn_rate_7d` holds.
    pub projected_unused: Exact,
    pub estimated_carry_over: Exact,
    pub estimated_forfeit: Exact,
    /// Top-ups of this program year, inferred from jumps between stored snapshots.
    pub top_ups: Vec<TopUp>,
    pub assumptions: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopUp {
    pub seen_on: NaiveDate,
    pub points: Exact,
}

/// The sum and count of the stored days among the `n` days before `as_of`.
fn window(daily: &BTreeMap<NaiveDate, Decimal>, as_of: NaiveDate, n: u64) -> (Decimal, u32) {
    let from = as_of - Days::new(n);
    let days = daily.range(from..as_of);
    days.fold((Decimal::ZERO, 0), |(s, c), (_, p)| (s + p, c + 1))
}

fn rate(sum: Decimal, days: u32) -> Option<Decimal> {
    (days > 0).then(|| {
        (sum / Decimal::from(days))
            .round_dp_with_strategy(RATE_PLACES, RoundingStrategy::MidpointAwayFromZero)
            .normalize()
    })
}

fn two_places(d: Decimal) -> Exact {
    Exact(d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

/// The balance snapshot of `inputs`.
pub(crate) fn snapshot(inputs: &Inputs) -> Snapshot {
    let (sum7, days7) = window(inputs.daily, inputs.as_of, 7);
    let (sum30, days30) = window(inputs.daily, inputs.as_of, 30);
    let runway_days = inputs.balance.and_then(|b| runway(b, sum7, days7));
    let runs_out_on = runway_days.and_then(|d| inputs.as_of.checked_add_days(Days::new(d as u64)));
    Snapshot {
        program_serial: inputs.program_serial.to_string(),
        program_type: inputs.program_type,
        as_of: inputs.as_of,
        balance: inputs.balance.map(Exact),
        burn_rate_7d: rate(sum7, days7).map(Exact),
        burn_rate_30d: rate(sum30, days30).map(Exact),
        burn_days_7d: days7,
        burn_days_30d: days30,
        runway_days,
        runs_out_on,
        grace: inputs.balance.and_then(|b| grace(inputs, b)),
        commitment: commitment(inputs, sum30, days30),
        rollover_estimate: rollover(inputs, sum7, days7),
    }
}

/// Whole days the balance lasts at the 7-day rate, from the exact sum (not the shown rate).
fn runway(balance: Decimal, sum7: Decimal, days7: u32) -> Option<i64> {
    if balance <= Decimal::ZERO {
        return Some(0);
    }
    if days7 == 0 || sum7 <= Decimal::ZERO {
        return None;
    }
    let days = (balance * Decimal::from(days7) / sum7).floor();
    i64::try_from(days).ok()
}

fn grace(inputs: &Inputs, balance: Decimal) -> Option<Grace> {
    if balance >= Decimal::ZERO {
        return None;
    }
    let carried = inputs
        .previous
        .and_then(|p| p.grace.as_ref())
        .map(|g| (g.first_negative_on, "snapshots"));
    let (first, basis) = carried.unwrap_or_else(|| (walk_back(inputs, balance), "daily_points"));
    let suspension_after = first + Days::new(GRACE_DAYS);
    Some(Grace {
        first_negative_on: first,
        suspension_after,
        days_left: (suspension_after - inputs.as_of).num_days().max(0),
        basis: basis.to_string(),
    })
}

/// The first day of the current negative run: going back a day adds that day's points to
/// the balance, until it is no longer negative or the stored days run out (or, with a
/// previous non-negative snapshot, its date is reached). Assumes no top-up in between.
fn walk_back(inputs: &Inputs, balance: Decimal) -> NaiveDate {
    let floor = inputs.previous.map(|p| p.as_of);
    let mut first = inputs.as_of;
    let mut at = balance;
    while let Some(day) = first.pred_opt() {
        if floor.is_some_and(|f| day <= f) {
            break;
        }
        let Some(points) = inputs.daily.get(&day) else {
            break;
        };
        at += points;
        if at >= Decimal::ZERO {
            break;
        }
        first = day;
    }
    first
}

/// The program year holding `day`: its first day (an anniversary of `start`) and last day.
fn program_year(start: NaiveDate, day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let mut years = (day.year() - start.year()).max(0) as u32;
    let at = |y: u32| {
        start
            .checked_add_months(Months::new(12 * y))
            .unwrap_or(start)
    };
    while years > 0 && at(years) > day {
        years -= 1;
    }
    let begin = at(years);
    (begin, at(years + 1).pred_opt().unwrap_or(begin))
}

fn commitment(inputs: &Inputs, sum30: Decimal, days30: u32) -> Option<Commitment> {
    let annual = inputs.commitment?;
    if inputs.program_type != ProgramType::Postpaid {
        return None;
    }
    let start = inputs
        .program_start
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(inputs.as_of.year(), 1, 1).unwrap());
    let (year_start, year_end) = program_year(start, inputs.as_of);
    let (used, days_stored) = inputs
        .daily
        .range(year_start..inputs.as_of)
        .fold((Decimal::ZERO, 0u32), |(s, c), (_, p)| (s + p, c + 1));
    let days_left = (year_end - inputs.as_of).num_days() + 1;
    let projected = match days30 {
        0 => used,
        n => used + sum30 * Decimal::from(days_left.max(0)) / Decimal::from(n),
    };
    Some(Commitment {
        annual_points: Exact(annual),
        year_start,
        year_end,
        used: Exact(used),
        days_stored,
        projected_year_end: two_places(projected),
        shortfall: two_places((annual - projected).max(Decimal::ZERO)),
    })
}

/// 12, 36 or 60 from the program's start and end dates; `None` for any other length.
fn term_months(start: NaiveDate, end: NaiveDate) -> Option<u32> {
    let days = (end - start).num_days();
    [12u32, 36, 60].into_iter().find(|m| {
        let years = i64::from(m / 12);
        (days - years * 365).abs() <= years * 2 + 2
    })
}

fn rollover(inputs: &Inputs, sum7: Decimal, days7: u32) -> Option<Rollover> {
    let balance = inputs.balance?;
    let (start, end) = (inputs.program_start?, inputs.program_end?);
    let term = term_months(start, end)?;
    if inputs.program_type != ProgramType::Prepaid {
        return None;
    }
    let (year_start, year_end) = program_year(start, inputs.as_of);
    let anniversary = year_end.succ_opt()?;
    let days_to_go = (anniversary - inputs.as_of).num_days().max(0);
    let burn = match days7 {
        0 => Decimal::ZERO,
        n => sum7 * Decimal::from(days_to_go) / Decimal::from(n),
    };
    let unused = (balance - burn).max(Decimal::ZERO);
    let top_ups = top_ups(inputs, balance, year_start);
    let (carry, assumptions) = if term == 12 {
        let late_from = year_start + Days::new(FULL_ROLLOVER_FROM_DAY);
        let late: Decimal = top_ups
            .iter()
            .filter(|t| t.seen_on >= late_from)
            .map(|t| t.points.0)
            .sum();
        let whole = unused.min(late);
        (
            whole + (unused - whole) / Decimal::TWO,
            format!(
                "12-month program: points added from day 180 ({late_from}) roll over whole, \
                 earlier ones by half. Estimated: the balance at the anniversary assumes the \
                 7-day burn rate holds; top-ups are inferred from balance jumps between stored \
                 snapshots; the oldest points are assumed to be used first."
            ),
        )
    } else {
        (
            unused,
            format!(
                "{term}-month program: unused points roll over whole. Estimated: the balance at \
                 the anniversary assumes the 7-day burn rate holds."
            ),
        )
    };
    Some(Rollover {
        term_months: term,
        anniversary,
        projected_unused: two_places(unused),
        estimated_carry_over: two_places(carry),
        estimated_forfeit: two_places(unused - carry),
        top_ups,
        assumptions,
    })
}

/// The previous snapshot's top-ups of this program year, plus one seen now: today's balance
/// above the previous one less the stored points of the days between, rounded to the unit.
fn top_ups(inputs: &Inputs, balance: Decimal, year_start: NaiveDate) -> Vec<TopUp> {
    let Some(prev) = inputs.previous else {
        return vec![];
    };
    let mut seen: Vec<TopUp> = prev
        .rollover_estimate
        .iter()
        .flat_map(|r| r.top_ups.iter())
        .filter(|t| t.seen_on >= year_start && t.seen_on < inputs.as_of)
        .cloned()
        .collect();
    let consumed: Decimal = inputs
        .daily
        .range(prev.as_of..inputs.as_of)
        .map(|(_, p)| *p)
        .sum();
    if let Some(before) = prev.balance.as_ref().map(|b| b.0) {
        let unit = Decimal::from(TOP_UP_UNIT);
        let added = ((balance - before + consumed) / unit).round() * unit;
        if added >= unit {
            seen.push(TopUp {
                seen_on: inputs.as_of,
                points: Exact(added),
            });
        }
    }
    seen
}

#[cfg(test)]
mod tests;
