//! Announced rate changes: when `tools/calc` says a configuration's `latest` rate differs
//! from its `current` one from `latest_effective_date`, each customer is told ahead of the day
//! what it does to their bill at today's consumption ("Acme's bill rises 4.1 % from
//! 2027-01-01"), once: on the first day the change is within the notice period
//! (`RATE_NOTICE_DAYS`, default [`super::NOTICE_DAYS`]).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{PricedSet, RateSnapshot};
use crate::domain::alerts::{Alert, Kind};
use crate::domain::money::{Exact, display2};

/// "A month" of today's consumption.
const MONTH_DAYS: u32 = 30;

/// One device's points on the newest stored day, and whose bill they are on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Consumed<'a> {
    pub customer: &'a str,
    pub customer_name: &'a str,
    pub config_id: Option<u64>,
    pub points: Decimal,
}

/// The alerts of `today`'s snapshot: one per customer whose bill an announced change moves,
/// for the changes that came within `notice_days` of their day since `previous` (the
/// snapshot before).
pub(crate) fn alerts(
    today: &RateSnapshot,
    previous: Option<&RateSnapshot>,
    consumed: &[Consumed<'_>],
    notice_days: i64,
) -> Vec<Alert> {
    let within = |s: &RateSnapshot, on: NaiveDate| {
        let ahead = (on - s.date).num_days();
        ahead > 0 && ahead <= notice_days
    };
    let told = |set: &PricedSet, on: NaiveDate| {
        previous.is_some_and(|p| {
            within(p, on)
                && p.rates
                    .iter()
                    .any(|r| r.set() == set.set() && r.announced() == set.announced())
        })
    };
    // config → (factor, the change), for the changes to tell today.
    let mut changes: BTreeMap<u64, (Decimal, &PricedSet, NaiveDate)> = BTreeMap::new();
    for set in &today.rates {
        let Some((current, latest, on)) = set.announced() else {
            continue;
        };
        if current.is_zero() || !within(today, on) || told(set, on) {
            continue;
        }
        for c in &set.configs {
            changes.insert(*c, (latest / current, set, on));
        }
    }
    if changes.is_empty() {
        return Vec::new();
    }
    // (effective day, customer) → (name, today's points, the change in points a day, sets).
    type Effect<'s> = (String, Decimal, Decimal, Vec<&'s PricedSet>);
    let mut effects: BTreeMap<(NaiveDate, &str), Effect<'_>> = BTreeMap::new();
    let mut totals: BTreeMap<&str, Decimal> = BTreeMap::new();
    for c in consumed {
        *totals.entry(c.customer).or_default() += c.points;
        let Some((factor, set, on)) = c.config_id.and_then(|id| changes.get(&id)) else {
            continue;
        };
        let e = effects.entry((*on, c.customer)).or_insert_with(|| {
            (
                c.customer_name.to_string(),
                Decimal::ZERO,
                Decimal::ZERO,
                vec![],
            )
        });
        e.2 += c.points * (factor - Decimal::ONE);
        if !e.3.iter().any(|s| std::ptr::eq(*s, *set)) {
            e.3.push(set);
        }
    }
    effects
        .into_iter()
        .filter(|(_, (_, _, delta, _))| !delta.is_zero())
        .map(|((on, customer), (name, _, delta, sets))| {
            let total = totals.get(customer).copied().unwrap_or_default();
            let percent = if total.is_zero() {
                Decimal::ZERO
            } else {
                (delta / total * Decimal::ONE_HUNDRED).round_dp(1)
            };
            let what: Vec<String> = sets
                .iter()
                .filter_map(|s| {
                    let (current, latest, _) = s.announced()?;
                    Some(format!(
                        "{} (configuration {}) from {} to {} points a day",
                        s.product_type.as_deref().unwrap_or("a product"),
                        s.configs
                            .iter()
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                        display2(current),
                        display2(latest)
                    ))
                })
                .collect();
            let monthly = delta * Decimal::from(MONTH_DAYS);
            Alert {
                kind: Kind::RateChange,
                serial_number: None,
                account_id: None,
                customer_id: Some(customer.to_string()),
                points: Some(Exact(monthly)),
                baseline: Some(Exact(total * Decimal::from(MONTH_DAYS))),
                message: format!(
                    "{name}'s bill {} {:.1} % from {on}: Fortinet announces {}; about {}{} points a \
                     month at today's consumption.",
                    if delta > Decimal::ZERO {
                        "rises"
                    } else {
                        "falls"
                    },
                    percent.abs(),
                    what.join("; "),
                    if delta > Decimal::ZERO { "+" } else { "" },
                    display2(monthly)
                ),
            }
        })
        .collect()
}
