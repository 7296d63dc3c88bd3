//! Rates: what `tools/calc` prices each configuration of a program at, snapshotted once a
//! Pacific day (`rates/dt=…`), since FortiFlex cannot be asked for a past rate. Pure: the
//! distinct parameter sets to price, the stored snapshot, and which rate was in force on a
//! day.
//!
//! The rule for a day D: the newest snapshot dated D or before that priced the device's
//! configuration gives D's rate (its `latest` once `latest_effective_date` ≤ D, else its
//! `current`). With none before D, the oldest snapshot after D does, read as `current`
//! (named, since a change between D and that snapshot cannot be seen).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub(crate) mod announced;

/// Customers are told of an announced rate change this many days ahead, by default.
pub(crate) const NOTICE_DAYS: u32 = 14;

use crate::domain::money::Exact;
use crate::domain::records::{Config, Parameter};

/// What `tools/calc` is asked for: a product type with exactly these parameters (sorted, so
/// two configurations listing them in another order are one set).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ParameterSet {
    pub product_type_id: u64,
    pub parameters: Vec<Parameter>,
}

/// The distinct parameter sets of `configs`, each with its configurations and product name.
/// A configuration without a product type id cannot be priced and is left out.
pub(crate) fn parameter_sets(
    configs: &[Config],
) -> BTreeMap<ParameterSet, (Vec<u64>, Option<String>)> {
    let mut sets: BTreeMap<ParameterSet, (Vec<u64>, Option<String>)> = BTreeMap::new();
    for c in configs {
        let Some(product_type_id) = c.product_type.id else {
            continue;
        };
        let mut parameters = c.parameters.clone();
        parameters.sort();
        let entry = sets
            .entry(ParameterSet {
                product_type_id,
                parameters,
            })
            .or_insert_with(|| (Vec::new(), c.product_type.label()));
        entry.0.push(c.id);
    }
    for (configs, _) in sets.values_mut() {
        configs.sort_unstable();
        configs.dedup();
    }
    sets
}

/// `rates/dt=D/rates_<PROGRAM>_D.json`: every parameter set of the program's configurations
/// as `tools/calc` priced it on Pacific day `date`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RateSnapshot {
    pub program_serial: String,
    pub date: NaiveDate,
    pub rates: Vec<PricedSet>,
}

/// One parameter set: its configurations and its rate, or why it has none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PricedSet {
    pub product_type_id: u64,
    #[serde(default)]
    pub product_type: Option<String>,
    pub parameters: Vec<Parameter>,
    /// What each parameter id means (`tools/metadata`'s names, as cached): a reader of the
    /// snapshot sees "CPU 2, Service package UTP", not "1 2, 2 UTP". Empty when unknown.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameter_names: BTreeMap<u64, String>,
    pub configs: Vec<u64>,
    /// Points a day of one unit; `None` with `error` when FortiFlex did not price it.
    #[serde(default)]
    pub current: Option<Exact>,
    #[serde(default)]
    pub latest: Option<Exact>,
    #[serde(default)]
    pub latest_effective_date: Option<NaiveDate>,
    #[serde(default)]
    pub error: Option<String>,
}

impl PricedSet {
    pub(crate) fn set(&self) -> ParameterSet {
        let mut parameters = self.parameters.clone();
        parameters.sort();
        ParameterSet {
            product_type_id: self.product_type_id,
            parameters,
        }
    }

    /// A change FortiFlex announces: `(current, latest, from)` when they differ.
    pub(crate) fn announced(&self) -> Option<(Decimal, Decimal, NaiveDate)> {
        let (current, latest, from) = (self.current?, self.latest?, self.latest_effective_date?);
        (latest.0 != current.0).then_some((current.0, latest.0, from))
    }

    /// The rate of day `day` by this snapshot: `latest` from its effective date on.
    fn on(&self, day: NaiveDate) -> Option<Decimal> {
        match (self.latest, self.latest_effective_date) {
            (Some(latest), Some(from)) if from <= day => Some(latest.0),
            _ => self.current.map(|c| c.0),
        }
    }
}

impl RateSnapshot {
    /// The parameter sets still to ask for: those of `wanted` this snapshot has no rate for.
    pub(crate) fn missing<'a>(
        &self,
        wanted: impl IntoIterator<Item = &'a ParameterSet>,
    ) -> Vec<&'a ParameterSet> {
        let priced: BTreeSet<ParameterSet> = self
            .rates
            .iter()
            .filter(|r| r.current.is_some())
            .map(PricedSet::set)
            .collect();
        wanted.into_iter().filter(|s| !priced.contains(s)).collect()
    }

    fn priced(&self, config: u64) -> Option<&PricedSet> {
        self.rates
            .iter()
            .find(|r| r.current.is_some() && r.configs.contains(&config))
    }
}

/// A configuration's rate on a day, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InForce {
    pub points: Decimal,
    /// The snapshot it was read from.
    pub read: NaiveDate,
    /// The parameter set priced.
    pub set: ParameterSet,
    /// The rate differs from the one in force the day before (a change took effect).
    pub changed: bool,
    /// The configuration was priced with other parameters the day before or after: it was
    /// edited that day (the day is charged for the larger of the two).
    pub other: Option<Decimal>,
}

/// Every snapshot of a program, by date.
pub(crate) type Snapshots = BTreeMap<NaiveDate, RateSnapshot>;

/// `config`'s rate on `day` by the module's rule; `None` when no snapshot priced it.
pub(crate) fn in_force(snapshots: &Snapshots, config: u64, day: NaiveDate) -> Option<InForce> {
    let (read, priced) = found(snapshots, config, day)?;
    let points = if read <= day {
        priced.on(day)?
    } else {
        priced.current?.0
    };
    let before = day
        .pred_opt()
        .and_then(|d| found(snapshots, config, d).map(|(r, p)| (r, p, d)));
    let changed = before.is_some_and(|(r, p, d)| {
        let then = if r <= d {
            p.on(d)
        } else {
            p.current.map(|c| c.0)
        };
        then.is_some_and(|t| t != points)
    });
    // The configuration's parameters in the snapshot that follows the day: an edit on day D
    // shows in the snapshot of D + 1 (read the next morning).
    let after = day
        .succ_opt()
        .and_then(|d| snapshots.get(&d))
        .and_then(|s| s.priced(config))
        .filter(|p| p.set() != priced.set())
        .and_then(|p| p.current.map(|c| c.0));
    Some(InForce {
        points,
        read,
        set: priced.set(),
        changed,
        other: after,
    })
}

/// The snapshot giving `day`'s rate of `config`: the newest on or before it, else the
/// oldest after it.
fn found(snapshots: &Snapshots, config: u64, day: NaiveDate) -> Option<(NaiveDate, &PricedSet)> {
    snapshots
        .range(..=day)
        .rev()
        .find_map(|(d, s)| s.priced(config).map(|p| (*d, p)))
        .or_else(|| {
            snapshots
                .range(day..)
                .find_map(|(d, s)| s.priced(config).map(|p| (*d, p)))
        })
}

#[cfg(test)]
mod tests;
