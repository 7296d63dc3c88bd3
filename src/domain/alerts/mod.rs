//! Alerts: what a person should hear about before the bill, computed from a published day
//! against the stored days before it, and from the balance snapshot. Pure; the pipeline
//! reads the days and writes `alerts/dt=…/alerts_<PROGRAM>_….json`.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::balance::Snapshot;
use crate::domain::ids::AccountId;
use crate::domain::money::Exact;
use crate::domain::money::display2;

/// A spike is more than this many times the serial's mean of the previous stored days…
const SPIKE_FACTOR: u32 = 2;
/// …and at least this many points above it (small entitlements double by rounding alone).
const SPIKE_MARGIN: u32 = 10;
/// Stored days before a day that its alerts compare with.
pub(crate) const BASELINE_DAYS: usize = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    NegativeBalance,
    LowRunway,
    CommitmentShortfall,
    Spike,
    IdleCharged,
    NewConsumer,
    StoppedConsuming,
    /// A final day differs from what Fortinet deducted or its configurations' rates.
    Tieout,
    /// Fortinet announced a rate change that moves a customer's bill.
    RateChange,
    /// An account is new in the FortiCloud organization and the customers file does not
    /// name its customer.
    NewCustomer,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::NegativeBalance => "negative_balance",
            Kind::LowRunway => "low_runway",
            Kind::CommitmentShortfall => "commitment_shortfall",
            Kind::Spike => "spike",
            Kind::IdleCharged => "idle_charged",
            Kind::NewConsumer => "new_consumer",
            Kind::StoppedConsuming => "stopped_consuming",
            Kind::Tieout => "tieout",
            Kind::RateChange => "rate_change",
            Kind::NewCustomer => "new_customer",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub kind: Kind,
    pub serial_number: Option<String>,
    pub account_id: Option<AccountId>,
    pub customer_id: Option<String>,
    pub points: Option<Exact>,
    pub baseline: Option<Exact>,
    pub message: String,
}

/// The alerts file of one program and day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DayAlerts {
    pub program_serial: String,
    pub date: NaiveDate,
    pub alerts: Vec<Alert>,
}

/// One entitlement's points on the day alerted on.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Consumer {
    pub serial_number: String,
    pub account_id: AccountId,
    pub config_id: Option<u64>,
    pub points: Decimal,
    /// ACTIVE with a licence token FortiFlex reports as never used.
    pub token_unused: bool,
}

/// What the stored days before a day say per serial, folded as they are read (one table,
/// not one per day: at 100,000 entitlements a day's table is megabytes). Kept sorted by
/// serial: days come from their rollups in serial order, so each row finds its serial at
/// the cursor, one comparison instead of a search.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Baseline {
    /// Stored days folded in.
    pub days: usize,
    /// Sorted by serial.
    serials: Vec<(String, Seen)>,
    /// Serials of the day being read that are not in `serials` yet.
    new: Vec<(String, Seen)>,
    /// Where the next row of the day is expected in `serials`.
    cursor: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Seen {
    pub account_id: AccountId,
    /// Points over every day folded in.
    pub total: Decimal,
    /// Points on the first day folded in: the most recent one.
    pub last: Decimal,
}

impl Baseline {
    /// Folds in one stored day's rows; days come most recent first. Runs stream a day
    /// through [`Baseline::add_row`] instead.
    #[cfg(test)]
    pub(crate) fn add_day(&mut self, rows: impl IntoIterator<Item = (String, AccountId, Decimal)>) {
        for (serial, account_id, points) in rows {
            self.add_row(&serial, account_id, points);
        }
        self.end_day();
    }

    /// Folds in one row of the day being read (in any order; serial order is fastest);
    /// [`Baseline::end_day`] closes the day.
    pub(crate) fn add_row(&mut self, serial: &str, account_id: AccountId, points: Decimal) {
        let first = self.days == 0;
        let at = match self.serials.get(self.cursor) {
            Some((s, _)) if s == serial => Some(self.cursor),
            _ => self.find(serial),
        };
        let seen = match at {
            Some(i) => {
                self.cursor = i + 1;
                &mut self.serials[i].1
            }
            None => {
                self.new.push((
                    serial.to_string(),
                    Seen {
                        account_id,
                        total: Decimal::ZERO,
                        last: Decimal::ZERO,
                    },
                ));
                &mut self.new.last_mut().expect("just pushed").1
            }
        };
        seen.total += points;
        if first {
            seen.last += points;
        }
    }

    pub(crate) fn end_day(&mut self) {
        self.days += 1;
        self.cursor = 0;
        if self.new.is_empty() {
            return;
        }
        let mut new = std::mem::take(&mut self.new);
        // A serial listed twice in one day (never in a stored day) is one serial.
        new.sort_by(|a, b| a.0.cmp(&b.0));
        new.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1.total += later.1.total;
                kept.1.last += later.1.last;
            }
            same
        });
        self.serials.append(&mut new);
        self.serials.sort_by(|a, b| a.0.cmp(&b.0));
    }

    fn find(&self, serial: &str) -> Option<usize> {
        self.serials
            .binary_search_by(|(s, _)| s.as_str().cmp(serial))
            .ok()
    }

    /// What the days say of `serial`.
    pub(crate) fn seen(&self, serial: &str) -> Option<&Seen> {
        self.find(serial).map(|i| &self.serials[i].1)
    }

    /// Every serial seen, in serial order.
    pub(crate) fn serials(&self) -> impl Iterator<Item = (&str, &Seen)> {
        self.serials.iter().map(|(s, seen)| (s.as_str(), seen))
    }
}

fn alert(kind: Kind, serial: &str, account: AccountId, points: Decimal) -> Alert {
    Alert {
        kind,
        serial_number: Some(serial.to_string()),
        account_id: Some(account),
        customer_id: None,
        points: Some(Exact(points)),
        baseline: None,
        message: String::new(),
    }
}

/// The entitlement alerts of `day`: `consumers` against `previous`, the stored days before
/// it (at most [`BASELINE_DAYS`]). With no stored day before it, only `idle_charged` can be
/// judged.
pub(crate) fn for_day(day: NaiveDate, consumers: &[Consumer], previous: &Baseline) -> Vec<Alert> {
    let mut out = Vec::new();
    let days = Decimal::from(previous.days);
    for c in consumers.iter().filter(|c| c.points > Decimal::ZERO) {
        let serial = c.serial_number.as_str();
        if c.token_unused {
            let mut a = alert(Kind::IdleCharged, serial, c.account_id, c.points);
            a.message = format!(
                "{serial} is ACTIVE and was charged {} points on {day}, but its licence token \
                 has never been used: deploy the device or stop the entitlement.",
                display2(c.points)
            );
            out.push(a);
        }
        if previous.days == 0 {
            continue;
        }
        let before = previous.seen(serial).map_or(Decimal::ZERO, |s| s.total);
        if before.is_zero() {
            let mut a = alert(Kind::NewConsumer, serial, c.account_id, c.points);
            a.baseline = Some(Exact(Decimal::ZERO));
            a.message = format!(
                "{serial} consumed {} points on {day} and nothing in the {} stored days before: \
                 check that the new device is expected and billed to the right customer.",
                display2(c.points),
                previous.days
            );
            out.push(a);
            continue;
        }
        let mean = before / days;
        if c.points > mean * Decimal::from(SPIKE_FACTOR)
            && c.points >= mean + Decimal::from(SPIKE_MARGIN)
        {
            let mean2 = mean.round_dp(2);
            let mut a = alert(Kind::Spike, serial, c.account_id, c.points);
            a.baseline = Some(Exact(mean2));
            a.message = format!(
                "{serial} consumed {} points on {day}, more than {SPIKE_FACTOR}× its mean of {} \
                 over the {} stored days before: check for a larger CPU size or service package.",
                display2(c.points),
                display2(mean2),
                previous.days
            );
            out.push(a);
        }
    }
    let today: BTreeSet<&str> = consumers
        .iter()
        .filter(|c| c.points > Decimal::ZERO)
        .map(|c| c.serial_number.as_str())
        .collect();
    for (serial, seen) in previous.serials() {
        if seen.last > Decimal::ZERO && !today.contains(serial) {
            let mut a = alert(
                Kind::StoppedConsuming,
                serial,
                seen.account_id,
                Decimal::ZERO,
            );
            a.baseline = Some(Exact(seen.last));
            a.message = format!(
                "{serial} consumed {} points on the stored day before and none on {day}: \
                 expected if it was stopped; otherwise check the device.",
                display2(seen.last)
            );
            out.push(a);
        }
    }
    out.sort_by(|a, b| (a.kind, &a.serial_number).cmp(&(b.kind, &b.serial_number)));
    out
}

/// The program alerts of a balance snapshot.
pub(crate) fn for_balance(s: &Snapshot, low_runway_days: i64) -> Vec<Alert> {
    let program = |kind, points: Option<Decimal>, message| Alert {
        kind,
        serial_number: None,
        account_id: None,
        customer_id: None,
        points: points.map(Exact),
        baseline: None,
        message,
    };
    let balance = s.balance.map(|b| b.0);
    let mut out = Vec::new();
    if let (Some(g), Some(b)) = (&s.grace, balance) {
        out.push(program(
            Kind::NegativeBalance,
            balance,
            format!(
                "Program {} has a negative balance of {} points since {}; FortiCloud may suspend \
                 it after {} ({} days left). Buy points now.",
                s.program_serial,
                display2(b),
                g.first_negative_on,
                g.suspension_after,
                g.days_left
            ),
        ));
    } else if let (Some(days), Some(on)) = (s.runway_days, s.runs_out_on)
        && days < low_runway_days
    {
        out.push(program(
            Kind::LowRunway,
            balance,
            format!(
                "Program {} has {days} days of points left at the 7-day rate: they run out on \
                 {on}. Buy points before then (10,000 or 50,000 at a time).",
                s.program_serial
            ),
        ));
    }
    if let Some(c) = s
        .commitment
        .as_ref()
        .filter(|c| c.shortfall.0 > Decimal::ZERO)
    {
        out.push(program(
            Kind::CommitmentShortfall,
            Some(c.projected_year_end.0),
            format!(
                "Program {} is projected to use {} of its {} committed points by {}: {} short. \
                 Plan more deployments or expect to pay the difference.",
                s.program_serial,
                display2(c.projected_year_end.0),
                display2(c.annual_points.0),
                c.year_end,
                display2(c.shortfall.0)
            ),
        ));
    }
    out
}

#[cfg(test)]
mod tests;
