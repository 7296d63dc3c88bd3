//! The balance part of the tie-out. A prepaid program's `pointBalance` falls each Pacific day
//! by what the day consumed (seed 004), so the day's drop between two snapshots is checked
//! against the day's report total.
//!
//! The rule: a snapshot dated Pacific day D (`as_of`, read by the 06:00 run, after FortiCloud's
//! three-hour update) holds every day before D. Day D's drop is therefore
//! `balance(as_of D) − balance(as_of D + 1)`. The balance is a whole number in at least one
//! client's types while consumption is not, so each reading may be off by less than a point:
//! a day ties when drop and total differ by less than [`TOLERANCE`]. A top-up (points are
//! bought in units of 10,000) shows as a rise; it is taken out as the nearest whole unit and
//! what remains must tie. On the program's anniversary unused points roll over or are
//! forfeited by rules whose inputs FortiFlex does not give, so that day is `unknown`, named.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

use super::Status;
use crate::domain::money::{Exact, points_text};

/// Two whole-number readings differ from the exact balance by less than a point each.
pub(crate) const TOLERANCE: Decimal = Decimal::ONE;
/// Prepaid points are bought in units of 10,000 (and 50,000, a multiple).
const TOP_UP_UNIT: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

/// What happened to the balance on a day besides consumption.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Event {
    /// Points bought: the balance rose by this many (whole units).
    TopUp { points: Exact },
    /// The program's anniversary: unused points rolled over or forfeited (`points`: how much
    /// more the balance fell than the day consumed).
    Rollover { points: Exact },
}

/// One day of the balance tie-out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Day {
    pub day: NaiveDate,
    /// The day's report total; `None` when no final report is stored.
    pub consumed: Option<Exact>,
    /// `balance(as_of day) − balance(as_of day + 1)`; `None` without both snapshots.
    pub drop: Option<Exact>,
    pub event: Option<Event>,
    /// `drop − consumed`, after a top-up is taken out.
    pub difference: Option<Exact>,
    pub status: Status,
    /// Why a day is `unknown`.
    pub note: Option<String>,
}

impl Day {
    /// What else happened that day, or why it is unknown, in words (console and site).
    pub(crate) fn why(&self) -> String {
        match (&self.event, &self.note) {
            (Some(Event::TopUp { points }), _) => format!("top-up of {}", points_text(points.0)),
            (Some(Event::Rollover { points }), _) => {
                format!("roll-over: {} more than consumed", points_text(points.0))
            }
            (None, Some(n)) => n.clone(),
            (None, None) => String::new(),
        }
    }
}

/// The month's sums over the days that could be checked, and the count of each status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Totals {
    pub consumed: Exact,
    pub drop: Exact,
    pub top_ups: Exact,
    pub difference: Exact,
    pub ties: u32,
    pub differs: u32,
    pub unknown: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct BalanceTieout {
    pub rule: &'static str,
    pub tolerance: Exact,
    pub days: Vec<Day>,
    pub totals: Totals,
}

pub(crate) const RULE: &str = "a snapshot dated D (read after 03:00 Pacific) holds every day before D: \
     day D's drop is balance(D) - balance(D+1)";

/// The balance tie-out of `first..=last`. `daily`: the final report total of each stored day;
/// `balances`: the balance read on each Pacific date; `anniversary`: the program's
/// registration date or any anniversary of it (its month and day start each program year).
pub(crate) fn tie_out(
    first: NaiveDate,
    last: NaiveDate,
    daily: &BTreeMap<NaiveDate, Decimal>,
    balances: &BTreeMap<NaiveDate, Decimal>,
    anniversary: Option<NaiveDate>,
) -> BalanceTieout {
    let days: Vec<Day> = first
        .iter_days()
        .take_while(|d| *d <= last)
        .map(|d| day(d, daily, balances, anniversary))
        .collect();
    let totals = totals(&days);
    BalanceTieout {
        rule: RULE,
        tolerance: Exact(TOLERANCE),
        days,
        totals,
    }
}

fn day(
    d: NaiveDate,
    daily: &BTreeMap<NaiveDate, Decimal>,
    balances: &BTreeMap<NaiveDate, Decimal>,
    anniversary: Option<NaiveDate>,
) -> Day {
    let consumed = daily.get(&d).copied();
    let next = d.checked_add_days(Days::new(1));
    let drop = match (balances.get(&d), next.and_then(|n| balances.get(&n))) {
        (Some(before), Some(after)) => Some(before - after),
        _ => None,
    };
    let mut out = Day {
        day: d,
        consumed: consumed.map(Exact),
        drop: drop.map(Exact),
        event: None,
        difference: None,
        status: Status::Unknown,
        note: None,
    };
    let (Some(consumed), Some(drop)) = (consumed, drop) else {
        out.note = Some(match (consumed, drop) {
            (None, _) => "no final report of the day is stored".into(),
            _ => "no balance snapshot on the day or the day after".into(),
        });
        return out;
    };
    let mut difference = drop - consumed;
    // A rise of half a unit or more beyond consumption is points bought.
    if difference <= -(TOP_UP_UNIT / Decimal::TWO) {
        let units = (-difference / TOP_UP_UNIT).round();
        let points = units * TOP_UP_UNIT;
        difference += points;
        out.event = Some(Event::TopUp {
            points: Exact(points),
        });
    }
    let turns_year = next.is_some_and(|n| is_anniversary(n, anniversary));
    if turns_year && difference >= TOLERANCE {
        out.event = Some(Event::Rollover {
            points: Exact(difference),
        });
        out.note = Some(
            "the program's anniversary: unused points rolled over or were forfeited, by rules \
             FortiFlex gives no inputs for"
                .into(),
        );
        return out;
    }
    out.status = if difference.abs() < TOLERANCE {
        Status::Ties
    } else {
        Status::Differs
    };
    out.difference = Some(Exact(difference));
    out
}

/// `day` starts a program year: its month and day are those of `anniversary` (the
/// registration date or any anniversary of it).
fn is_anniversary(day: NaiveDate, anniversary: Option<NaiveDate>) -> bool {
    anniversary.is_some_and(|a| day.month() == a.month() && day.day() == a.day())
}

fn totals(days: &[Day]) -> Totals {
    let mut t = Totals {
        consumed: Exact(Decimal::ZERO),
        drop: Exact(Decimal::ZERO),
        top_ups: Exact(Decimal::ZERO),
        difference: Exact(Decimal::ZERO),
        ties: 0,
        differs: 0,
        unknown: 0,
    };
    for d in days {
        match d.status {
            Status::Ties => t.ties += 1,
            Status::Differs => t.differs += 1,
            Status::Unknown => t.unknown += 1,
        }
        let Some(difference) = &d.difference else {
            continue;
        };
        t.difference.0 += difference.0;
        t.consumed.0 += d.consumed.as_ref().map_or(Decimal::ZERO, |c| c.0);
        t.drop.0 += d.drop.as_ref().map_or(Decimal::ZERO, |c| c.0);
        if let Some(Event::TopUp { points }) = &d.event {
            t.top_ups.0 += points.0;
        }
    }
    t
}
