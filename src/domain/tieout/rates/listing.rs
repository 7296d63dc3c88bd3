//! What the rate audit keeps of the device-days that do not tie, bounded whatever the size
//! of the program: a product type charged wrong, or not priced at all, for 100,000 devices is
//! 3,000,000 device-days a month, which must not be held (nor written) one by one.
//!
//! - Device-days that differ: the [`LISTED`] largest differences are kept (per product type
//!   while the audit runs, since a product type's constant discount, known only at the end,
//!   explains all of its own), the rest counted.
//! - Per day, the count, sum and first serials of those that differ with no known reason:
//!   what the day's alert says.
//! - Device-days that could not be checked: one line per configuration and why.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::{Charged, DeviceDay};
use crate::domain::money::Exact;

/// The most device-days a month's tie-out lists (largest differences first); the summaries
/// count every one.
pub(crate) const LISTED: usize = 500;
/// How many serials a day's line names.
const NAMED: usize = 5;

/// One day's device-days that differ with no known reason: what its alert says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DayDiffers {
    pub day: NaiveDate,
    pub device_days: u64,
    /// Points charged above the rates (below, negative).
    pub difference: Exact,
    /// The first few devices, by serial.
    pub serials: Vec<String>,
}

/// Device-days that could not be checked, per configuration and reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Unchecked {
    pub config_id: Option<u64>,
    pub product_type: String,
    pub device_days: u64,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub note: String,
}

/// What the listing hands the month's tie-out.
pub(super) struct Listed {
    /// The largest differences, by day and serial.
    pub devices: Vec<DeviceDay>,
    /// Device-days that differ (outside a discount) and are not in `devices`.
    pub left_out: u64,
    pub days: Vec<DayDiffers>,
    pub unchecked: Vec<Unchecked>,
    /// Per customer, device-days a product type's discount explains.
    pub discounted: BTreeMap<String, u64>,
}

#[derive(Default)]
pub(super) struct Listing {
    /// Device-days that differ, per product type: its largest differences.
    kept: BTreeMap<String, Vec<DeviceDay>>,
    /// Device-days that differ, per product type: all of them, and those with a known reason.
    seen: BTreeMap<String, (u64, u64)>,
    /// Per (day, product type): those with no known reason.
    days: BTreeMap<(NaiveDate, String), DayDiffers>,
    /// Per (customer, product type): those with no known reason.
    unexplained: BTreeMap<(String, String), u64>,
    unchecked: BTreeMap<(Option<u64>, String, String), Unchecked>,
}

impl Listing {
    /// A device-day that differs from its rate.
    pub(super) fn differs(&mut self, d: DeviceDay) {
        if d.reason.is_none() {
            let key = (d.customer.clone(), d.product_type.clone());
            *self.unexplained.entry(key).or_default() += 1;
            let day = self
                .days
                .entry((d.day, d.product_type.clone()))
                .or_insert_with(|| DayDiffers {
                    day: d.day,
                    device_days: 0,
                    difference: Exact(Decimal::ZERO),
                    serials: Vec::new(),
                });
            day.device_days += 1;
            day.difference.0 += d.difference.map_or(Decimal::ZERO, |x| x.0);
            day.serials.push(d.serial.clone());
            day.serials.sort();
            day.serials.truncate(NAMED);
        }
        let seen = self.seen.entry(d.product_type.clone()).or_default();
        seen.0 += 1;
        seen.1 += u64::from(d.reason.is_some());
        let kept = self.kept.entry(d.product_type.clone()).or_default();
        kept.push(d);
        if kept.len() >= 2 * LISTED {
            largest(kept);
        }
    }

    /// A device-day that could not be checked, and why.
    pub(super) fn unchecked(&mut self, day: NaiveDate, c: &Charged<'_>, why: &str) {
        let key = (c.config_id, c.product_type.to_string(), why.to_string());
        let u = self.unchecked.entry(key).or_insert_with(|| Unchecked {
            config_id: c.config_id,
            product_type: c.product_type.to_string(),
            device_days: 0,
            first_day: day,
            last_day: day,
            note: why.to_string(),
        });
        u.device_days += 1;
        u.first_day = u.first_day.min(day);
        u.last_day = u.last_day.max(day);
    }

    /// The month's listing, once `discounted` (the product types with a constant discount)
    /// is known: their device-days with no other reason are explained, and not listed.
    pub(super) fn finish(self, discounted: &BTreeSet<String>) -> Listed {
        let mut explained: BTreeMap<String, u64> = BTreeMap::new();
        for ((customer, product_type), n) in self.unexplained {
            if discounted.contains(&product_type) {
                *explained.entry(customer).or_default() += n;
            }
        }
        let mut days: BTreeMap<NaiveDate, DayDiffers> = BTreeMap::new();
        for ((day, product_type), d) in self.days {
            if discounted.contains(&product_type) {
                continue;
            }
            match days.get_mut(&day) {
                None => {
                    days.insert(day, d);
                }
                Some(all) => {
                    all.device_days += d.device_days;
                    all.difference.0 += d.difference.0;
                    all.serials.extend(d.serials);
                    all.serials.sort();
                    all.serials.truncate(NAMED);
                }
            }
        }
        let mut devices = Vec::new();
        let mut differing = 0;
        for (product_type, mut kept) in self.kept {
            let (all, with_reason) = self.seen.get(&product_type).copied().unwrap_or_default();
            if discounted.contains(&product_type) {
                // Listed only when something else explains them (an edit, a rate change).
                kept.retain(|d| d.reason.is_some());
                differing += with_reason;
            } else {
                differing += all;
            }
            devices.append(&mut kept);
            if devices.len() >= 2 * LISTED {
                largest(&mut devices);
            }
        }
        largest(&mut devices);
        devices.sort_by(|a, b| a.day.cmp(&b.day).then_with(|| a.serial.cmp(&b.serial)));
        Listed {
            left_out: differing - devices.len() as u64,
            devices,
            days: days.into_values().collect(),
            unchecked: self.unchecked.into_values().collect(),
            discounted: explained,
        }
    }
}

/// Keeps the [`LISTED`] largest differences of `list` (ties by day and serial, so the same
/// month always lists the same device-days).
fn largest(list: &mut Vec<DeviceDay>) {
    let size = |d: &DeviceDay| d.difference.map_or(Decimal::ZERO, |x| x.0.abs());
    list.sort_by(|a, b| {
        size(b)
            .cmp(&size(a))
            .then_with(|| a.day.cmp(&b.day))
            .then_with(|| a.serial.cmp(&b.serial))
    });
    list.truncate(LISTED);
}
