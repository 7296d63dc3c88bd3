//! The day's rate snapshot: `tools/calc` once per distinct (product type, parameters) of the
//! program's configurations, not per entitlement, kept under `rates/dt=…` because FortiFlex
//! cannot be asked for a past rate. A set already priced that day is not asked again; a set
//! FortiFlex refuses to price is kept with its error (and asked again by the next run of the
//! day), never as a rate of zero.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use futures_util::{StreamExt, TryStreamExt, stream};
use rust_decimal::Decimal;

use crate::adapters::fortiflex::{FortiFlexApi, RateQuery};
use crate::adapters::storage::Sink;
use crate::contract::keys;
use crate::domain::alerts::Alert;
use crate::domain::customers::Customers;
use crate::domain::money::Exact;
use crate::domain::rates::announced::{self, Consumed};
use crate::domain::rates::{ParameterSet, PricedSet, RateSnapshot, Snapshots, parameter_sets};
use crate::error::{Error, Result};
use crate::pipeline::archive::record::{self, MOVE_ASIDE};
use crate::pipeline::archive::rollup;
use crate::pipeline::discovery::Scope;
use crate::pipeline::product_types::Cached;

/// Snapshots are read this many at a time (S3 GETs in flight).
const READS_IN_FLIGHT: usize = 16;
/// A month's audit looks this far before its first day for the rate then in force.
const LOOK_BACK_DAYS: u64 = 7;

/// FortiFlex calls the day's snapshot may make: one per distinct parameter set (fewer when
/// some are already priced today).
pub(crate) fn calls(scope: &Scope) -> u64 {
    parameter_sets(&scope.configs).len() as u64
}

/// `scope`'s rate snapshot of Pacific day `as_of`: the stored one, completed with the sets it
/// lacks (new configurations, or a refusal earlier that day), written when anything was asked.
pub(crate) async fn snapshot<A: FortiFlexApi, S: Sink>(
    api: &A,
    sink: &S,
    scope: &Scope,
    as_of: NaiveDate,
    known: Option<&Cached>,
) -> Result<RateSnapshot> {
    let program = scope.serial.to_string();
    let key = keys::rates_key(&program, as_of);
    let sets = parameter_sets(&scope.configs);
    let mut snapshot = read(sink, &key).await?.unwrap_or_else(|| RateSnapshot {
        program_serial: program.clone(),
        date: as_of,
        rates: Vec::new(),
    });
    let missing = snapshot.missing(sets.keys());
    if missing.is_empty() && !snapshot.rates.is_empty() {
        return Ok(snapshot);
    }
    let mut priced: BTreeMap<ParameterSet, PricedSet> =
        snapshot.rates.drain(..).map(|r| (r.set(), r)).collect();
    let mut refused = 0;
    for set in missing {
        let (configs, product_type) = sets[set].clone();
        let query = RateQuery {
            program_serial_number: program.clone(),
            product_type_id: set.product_type_id,
            count: 1,
            parameters: set.parameters.clone(),
        };
        let mut entry = PricedSet {
            product_type_id: set.product_type_id,
            product_type,
            parameters: set.parameters.clone(),
            parameter_names: meanings(known, set),
            configs,
            current: None,
            latest: None,
            latest_effective_date: None,
            error: None,
        };
        match api.rate(&query).await {
            Ok(rate) => {
                entry.current = Some(Exact(rate.current));
                entry.latest = rate.latest.map(Exact);
                entry.latest_effective_date = rate.latest_effective;
            }
            // The rate is an audit of what is already billed: a refusal is kept and told,
            // and costs no report.
            Err(e) => {
                refused += 1;
                entry.error = Some(e.to_string());
            }
        }
        priced.insert(set.clone(), entry);
    }
    // Configurations of today's listing: a set no configuration has any more is dropped.
    snapshot.rates = priced
        .into_iter()
        .filter(|(set, _)| sets.contains_key(set))
        .map(|(_, r)| r)
        .collect();
    record::put(sink, &key, &snapshot).await?;
    if refused > 0 {
        tracing::warn!(
            program,
            refused,
            "tools/calc did not price every configuration; the next run asks again"
        );
    } else {
        tracing::info!(program, sets = snapshot.rates.len(), "rates snapshot");
    }
    Ok(snapshot)
}

/// What the parameters of `set` mean, from the cached `tools/metadata` list.
fn meanings(known: Option<&Cached>, set: &ParameterSet) -> BTreeMap<u64, String> {
    let Some(product) = known
        .into_iter()
        .flat_map(|k| &k.product_types)
        .find(|p| p.id == set.product_type_id)
    else {
        return BTreeMap::new();
    };
    set.parameters
        .iter()
        .filter_map(|p| Some((p.id, product.parameters.get(&p.id)?.clone())))
        .collect()
}

/// The alerts of the changes `snapshot` announces (`domain::rates::announced`), each
/// customer's effect at the consumption of the newest stored day (the day before the
/// snapshot's), told once: the day before's snapshot says what was told already.
pub(crate) async fn announced_alerts(
    sink: &impl Sink,
    program: &str,
    snapshot: &RateSnapshot,
    customers: Option<&Customers>,
    notice_days: u32,
) -> Result<Vec<Alert>> {
    if snapshot.rates.iter().all(|r| r.announced().is_none()) {
        return Ok(Vec::new());
    }
    let Some(day) = snapshot.date.pred_opt() else {
        return Ok(Vec::new());
    };
    let previous = read(sink, &keys::rates_key(program, day)).await?;
    let Some(rows) = rollup::day_rows(sink, program, day).await? else {
        return Ok(Vec::new());
    };
    let mut owned: Vec<(String, String, Option<u64>, Decimal)> = Vec::new();
    rows.rows(sink, |r| {
        let (id, name) = match customers {
            Some(c) => {
                let b = c.billed(r.serial_number, r.config_id, r.account_id);
                (b.id.to_string(), b.name.to_string())
            }
            None => (r.account_id.to_string(), r.account_id.to_string()),
        };
        owned.push((id, name, r.config_id, r.points));
    })?;
    let consumed: Vec<Consumed<'_>> = owned
        .iter()
        .map(|(customer, customer_name, config_id, points)| Consumed {
            customer,
            customer_name,
            config_id: *config_id,
            points: *points,
        })
        .collect();
    Ok(announced::alerts(
        snapshot,
        previous.as_ref(),
        &consumed,
        i64::from(notice_days),
    ))
}

/// `program`'s stored snapshots from a week before `first` through `last`.
pub(crate) async fn stored(
    sink: &impl Sink,
    program: &str,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Snapshots> {
    let from = first - Days::new(LOOK_BACK_DAYS);
    let days: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= last).collect();
    stream::iter(days)
        .map(|day| async move {
            let found = read(sink, &keys::rates_key(program, day)).await?;
            Ok::<_, Error>(found.map(|s| (day, s)))
        })
        .buffered(READS_IN_FLIGHT)
        .try_filter_map(|x| async move { Ok(x) })
        .try_collect()
        .await
}

async fn read(sink: &impl Sink, key: &str) -> Result<Option<RateSnapshot>> {
    record::get(sink, key, MOVE_ASIDE).await
}
