//! What the simulated tenant consumed and owes: points per entitlement over a range of
//! Pacific days as FortiFlex answers them (retention, spikes, today not yet tallied) and the
//! prepaid balance that follows from them.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::dataset::{SimEntitlement, SimProgram};

impl SimProgram {
    /// Points per entitlement over the inclusive days `first..=last`, counting only days
    /// before `today` (the current Pacific day is not tallied yet). Zero rows are left out,
    /// as FortiFlex lists only entitlements that consumed.
    pub fn points(
        &self,
        first: NaiveDate,
        last: NaiveDate,
        today: NaiveDate,
    ) -> Vec<(&SimEntitlement, Decimal)> {
        self.points_kept(first, last, today, None)
    }

    /// [`SimProgram::points`] as FortiFlex answers with `retention_days` of history: older
    /// days count as nothing (an empty success, not an error).
    pub fn points_kept(
        &self,
        first: NaiveDate,
        last: NaiveDate,
        today: NaiveDate,
        retention_days: Option<u32>,
    ) -> Vec<(&SimEntitlement, Decimal)> {
        points_of(self, &self.entitlements, first, last, today, retention_days)
    }

    /// The prepaid balance FortiFlex shows on `today`: bought, plus top-ups so far, less
    /// every point consumed before it. It goes negative when the points run out.
    pub fn balance_on(&self, today: NaiveDate) -> Decimal {
        let topped: Decimal = self
            .top_ups
            .iter()
            .filter(|(d, _)| *d <= today)
            .map(|(_, p)| *p)
            .sum();
        self.prepaid_points + topped - self.consumed_before(today)
    }

    /// Everything consumed before `today`.
    pub fn consumed_before(&self, today: NaiveDate) -> Decimal {
        self.points(self.start, today, today)
            .iter()
            .map(|(_, p)| *p)
            .sum()
    }
}
/// Points per entitlement of `entitlements` over `first..=last` as FortiFlex answers: only
/// days before `today`, only `retention_days` of history, zero rows left out.
/// An entitlement charged at its configuration's rate is charged an announced new rate
/// from its effective day.
pub(super) fn points_of<'a>(
    program: &SimProgram,
    entitlements: impl IntoIterator<Item = &'a SimEntitlement>,
    first: NaiveDate,
    last: NaiveDate,
    today: NaiveDate,
    retention_days: Option<u32>,
) -> Vec<(&'a SimEntitlement, Decimal)> {
    // config → (effective day, old rate, new rate)
    let changes: HashMap<u64, (NaiveDate, Decimal, Decimal)> = program
        .configs
        .iter()
        .filter_map(|c| {
            let (on, new) = c.announced?;
            Some((c.id, (on, c.rate?, new)))
        })
        .collect();
    let first = match retention_days
        .and_then(|r| today.checked_sub_days(chrono::Days::new(u64::from(r))))
    {
        Some(oldest) => first.max(oldest),
        None => first,
    };
    entitlements
        .into_iter()
        .filter_map(|e| {
            let from = first.max(e.start);
            let to = last.min(today.pred_opt()?);
            let days = e.schedule.days(from, to);
            let spiked: Decimal = e
                .spikes
                .iter()
                .filter(|(d, _)| *d >= from && *d <= to && e.schedule.runs(*d))
                .map(|(_, p)| *p - e.daily)
                .sum();
            let changed = changes
                .get(&e.config_id)
                .filter(|(_, old, _)| *old == e.daily)
                .map_or(Decimal::ZERO, |(on, old, new)| {
                    (new - old) * Decimal::from(e.schedule.days(from.max(*on), to))
                });
            let points = e.daily * Decimal::from(days) + spiked + changed;
            (!points.is_zero()).then_some((e, points))
        })
        .collect()
}
