//! The rate part of the tie-out: each device's points on a final day against the rate of
//! its configuration that day (`domain::rates`). A device charged at its rate ties; a day it
//! was stopped is charged nothing; a configuration edited that day is charged the larger of
//! its two rates (seed 004: the largest CPU size and service package held that Pacific day);
//! a rate change is named on the day it took effect; a product type whose every device is
//! charged the same fraction of the calculator's rate has a discount (Fortinet's consumption
//! offers price entitlements below the calculator). What remains differs, unexplained.
//!
//! Fed a day at a time ([`Audit::day`]), so a month of a big program is never in memory:
//! running sums per product type and customer, and a bounded listing of the device-days
//! that do not tie (`listing`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::Status;
use crate::domain::money::Exact;
use crate::domain::rates::{InForce, Snapshots, in_force};
use crate::domain::statement::money;
use listing::Listing;
pub(crate) use listing::{DayDiffers, Unchecked};

/// Rates and points have two places: a device-day ties when they differ by less than a cent
/// of a point.
pub(crate) const TOLERANCE: Decimal = Decimal::from_parts(1, 0, 0, false, 2);

pub(crate) const RULE: &str = "a device's points on a day against its configuration's rate that day: \
     the newest rate snapshot on or before the day (the announced rate from its effective date), \
     else the oldest after it";

/// One device's charge on one final day, as the archive holds it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Charged<'a> {
    pub serial: &'a str,
    pub customer: &'a str,
    pub price_per_point: Option<Decimal>,
    pub config_id: Option<u64>,
    pub config_name: Option<&'a str>,
    pub product_type: &'a str,
    pub points: Decimal,
}

/// Why a device-day's points are not its rate, where that is known.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Reason {
    /// Charged nothing: stopped (or not yet running) all day.
    Stopped,
    /// The configuration was edited that day; `other`: its rate after the edit.
    ConfigurationChanged { other: Exact },
    /// The rate of the configuration changed that day.
    RateChanged,
}

impl std::fmt::Display for Reason {
    /// The one wording of a reason: the CSV's `reason`, the console's and the site's.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Stopped => f.write_str("stopped"),
            Reason::ConfigurationChanged { other } => write!(
                f,
                "configuration changed (other rate {})",
                crate::domain::money::points_text(other.0)
            ),
            Reason::RateChanged => f.write_str("rate changed"),
        }
    }
}

impl DeviceDay {
    /// Its configuration as a partner names it to Fortinet: id and name ("4102 FGT-VM 2 vCPU
    /// UTP"), what of them is known, or "-".
    pub(crate) fn configuration(&self) -> String {
        match (self.config_id, self.config_name.as_deref()) {
            (Some(id), Some(name)) => format!("{id} {name}"),
            (Some(id), None) => id.to_string(),
            (None, Some(name)) => name.to_string(),
            (None, None) => "-".to_string(),
        }
    }

    /// Why it does not tie, in words: the known reason, then the note.
    pub(crate) fn why(&self) -> String {
        match (&self.reason, &self.note) {
            (Some(r), Some(n)) => format!("{r}; {n}"),
            (Some(r), None) => r.to_string(),
            (None, Some(n)) => n.clone(),
            (None, None) => String::new(),
        }
    }
}

/// A device-day that does not tie, or could not be checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DeviceDay {
    pub day: NaiveDate,
    pub serial: String,
    pub customer: String,
    pub config_id: Option<u64>,
    /// The configuration's name as the day's report has it: what a partner quotes to Fortinet.
    pub config_name: Option<String>,
    pub product_type: String,
    pub points: Exact,
    pub rate: Option<Exact>,
    /// `points − rate`.
    pub difference: Option<Exact>,
    pub status: Status,
    pub reason: Option<Reason>,
    /// Where the rate came from when it was read after the day, or why there is none.
    pub note: Option<String>,
}

/// The month's sums for one product type or one customer (or all).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Summary {
    pub key: String,
    pub device_days: u64,
    pub ties: u64,
    pub differs: u64,
    /// Of the device-days that differ, those with a known reason (a rate change, an edit, a
    /// product type's discount); the rest call for a look.
    pub explained: u64,
    pub unknown: u64,
    /// Points charged on the device-days that have a rate.
    pub charged: Exact,
    /// Their rates summed: what the calculator says they cost.
    pub at_rate: Exact,
    /// `charged − at_rate`.
    pub difference: Exact,
    /// The difference in the customers' money (each at its own price per point); `None`
    /// when a device-day of it has no price.
    pub amount: Option<Exact>,
    /// A constant discount below the rate, when every rated device-day shows the same one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<Exact>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct RateTieout {
    pub rule: &'static str,
    pub tolerance: Exact,
    pub days: Vec<NaiveDate>,
    pub totals: Summary,
    pub product_types: Vec<Summary>,
    pub customers: Vec<Summary>,
    /// The device-days that differ from their rate, the [`listing::LISTED`] largest
    /// differences (by day and serial); those a product type's constant discount explains are
    /// in its summary only.
    pub devices: Vec<DeviceDay>,
    /// Device-days that differ and are not in `devices` (the summaries count them).
    pub devices_left_out: u64,
    /// Each day with device-days that differ with no known reason: how many, by how much.
    pub differing_days: Vec<DayDiffers>,
    /// Device-days that could not be checked, per configuration and why.
    pub unchecked: Vec<Unchecked>,
}

/// Running sums and the exceptions, a day at a time.
#[derive(Default)]
pub(crate) struct Audit {
    days: Vec<NaiveDate>,
    totals: Sums,
    product_types: BTreeMap<String, Sums>,
    customers: BTreeMap<String, Sums>,
    listing: Listing,
}

#[derive(Default)]
struct Sums {
    device_days: u64,
    ties: u64,
    differs: u64,
    explained: u64,
    unknown: u64,
    charged: Decimal,
    at_rate: Decimal,
    amount: Option<Decimal>,
    unpriced: bool,
    /// The fractions `points / rate` seen on rated device-days (at most two are kept: one
    /// is a constant discount, two are not).
    ratios: Vec<Decimal>,
}

impl Sums {
    fn add(&mut self, c: &Charged<'_>, rate: Option<Decimal>, status: Status, explained: bool) {
        self.device_days += 1;
        self.explained += u64::from(explained);
        match status {
            Status::Ties => self.ties += 1,
            Status::Differs => self.differs += 1,
            Status::Unknown => self.unknown += 1,
        }
        let Some(rate) = rate else { return };
        self.charged += c.points;
        self.at_rate += rate;
        match c.price_per_point {
            Some(p) => *self.amount.get_or_insert(Decimal::ZERO) += (c.points - rate) * p,
            None => self.unpriced = true,
        }
        if !rate.is_zero() && !c.points.is_zero() && self.ratios.len() < 2 {
            let ratio = (c.points / rate).round_dp(3);
            if !self.ratios.contains(&ratio) {
                self.ratios.push(ratio);
            }
        }
    }

    /// A constant discount: one fraction below 1 on every rated device-day.
    fn discount(&self) -> Option<Decimal> {
        match self.ratios.as_slice() {
            [r] if *r < Decimal::ONE => {
                Some(((Decimal::ONE - r) * Decimal::ONE_HUNDRED).round_dp(1))
            }
            _ => None,
        }
    }

    fn summary(&self, key: &str) -> Summary {
        Summary {
            key: key.to_string(),
            device_days: self.device_days,
            ties: self.ties,
            differs: self.differs,
            explained: self.explained,
            unknown: self.unknown,
            charged: Exact(self.charged),
            at_rate: Exact(self.at_rate),
            difference: Exact(self.charged - self.at_rate),
            amount: self
                .amount
                .filter(|_| !self.unpriced)
                .map(|a| Exact(money(a))),
            discount_percent: self.discount().map(Exact),
        }
    }
}

impl Audit {
    /// One final day's device charges against `snapshots`.
    pub(crate) fn day<'a>(
        &mut self,
        day: NaiveDate,
        snapshots: &Snapshots,
        rows: impl IntoIterator<Item = Charged<'a>>,
    ) {
        self.days.push(day);
        for c in rows {
            let rate = c.config_id.and_then(|id| in_force(snapshots, id, day));
            let (status, reason, note) = judge(&c, rate.as_ref(), day);
            let points_rate = rate.as_ref().map(|r| r.points);
            let explained = status == Status::Differs && reason.is_some();
            self.totals.add(&c, points_rate, status, explained);
            self.product_types
                .entry(c.product_type.to_string())
                .or_default()
                .add(&c, points_rate, status, explained);
            self.customers
                .entry(c.customer.to_string())
                .or_default()
                .add(&c, points_rate, status, explained);
            if status == Status::Unknown {
                self.listing
                    .unchecked(day, &c, note.as_deref().unwrap_or_default());
            } else if status == Status::Differs {
                self.listing.differs(DeviceDay {
                    day,
                    serial: c.serial.to_string(),
                    customer: c.customer.to_string(),
                    config_id: c.config_id,
                    config_name: c.config_name.map(str::to_string),
                    product_type: c.product_type.to_string(),
                    points: Exact(c.points),
                    rate: points_rate.map(Exact),
                    difference: points_rate.map(|r| Exact(c.points - r)),
                    status,
                    reason,
                    note,
                });
            }
        }
    }

    pub(crate) fn finish(mut self) -> RateTieout {
        let discounted: BTreeSet<String> = self
            .product_types
            .iter()
            .filter(|(_, s)| s.discount().is_some())
            .map(|(k, _)| k.clone())
            .collect();
        // A discount explains every device-day of its product type that differs.
        for k in &discounted {
            if let Some(s) = self.product_types.get_mut(k) {
                self.totals.explained += s.differs - s.explained;
                s.explained = s.differs;
            }
        }
        let listed = self.listing.finish(&discounted);
        for (customer, n) in &listed.discounted {
            if let Some(s) = self.customers.get_mut(customer) {
                s.explained += n;
            }
        }
        RateTieout {
            rule: RULE,
            tolerance: Exact(TOLERANCE),
            days: self.days,
            totals: self.totals.summary("all"),
            product_types: self
                .product_types
                .iter()
                .map(|(k, s)| s.summary(k))
                .collect(),
            customers: self.customers.iter().map(|(k, s)| s.summary(k)).collect(),
            devices: listed.devices,
            devices_left_out: listed.left_out,
            differing_days: listed.days,
            unchecked: listed.unchecked,
        }
    }
}

/// A device-day's status, the reason for a difference where one is known, and a note.
fn judge(
    c: &Charged<'_>,
    rate: Option<&InForce>,
    day: NaiveDate,
) -> (Status, Option<Reason>, Option<String>) {
    let Some(rate) = rate else {
        let why = match c.config_id {
            None => "the device has no configuration id",
            Some(_) => "no rate snapshot priced its configuration",
        };
        return (Status::Unknown, None, Some(why.into()));
    };
    let ties = |expected: Decimal| (c.points - expected).abs() < TOLERANCE;
    let note = (rate.read > day).then(|| format!("rate read on {}, after the day", rate.read));
    if ties(rate.points) {
        return (Status::Ties, None, note);
    }
    if c.points.is_zero() {
        return (Status::Ties, Some(Reason::Stopped), note);
    }
    if let Some(other) = rate.other {
        let reason = Some(Reason::ConfigurationChanged {
            other: Exact(other),
        });
        let status = if ties(other) || ties(other.max(rate.points)) {
            Status::Ties
        } else {
            Status::Differs
        };
        return (status, reason, note);
    }
    if rate.changed {
        return (Status::Differs, Some(Reason::RateChanged), note);
    }
    (Status::Differs, None, note)
}

mod listing;
#[cfg(test)]
mod tests;
