//! After a run's reports: the program's balance snapshot (`balances/dt=…`) and the alerts of
//! each day it wrote (`alerts/dt=…`), judged against what the archive holds. FortiFlex keeps
//! no balance history, so the archive's snapshots are the history.

use std::collections::BTreeSet;

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use super::request::{Context, Watch};
use crate::adapters::fortiflex::{BalanceReading, FortiFlexApi, Program, read_balance};
use crate::adapters::storage::Sink;
use crate::contract::keys;
use crate::domain::alerts::Consumer;
use crate::domain::alerts::{self, Alert, Baseline, DayAlerts};
use crate::domain::balance::{self, Inputs, ProgramType, Snapshot};
use crate::domain::customers::Customers;
use crate::domain::statement::Month;
use crate::domain::tieout::TieoutFile;
use crate::domain::window;
use crate::error::{Error, Result};
use crate::pipeline::archive::record::{self, MOVE_ASIDE};
use crate::pipeline::archive::rollup;
use crate::pipeline::discovery::Scope;
use crate::pipeline::tieout::{self, stored_totals};
use crate::pipeline::{product_types, rates};

/// What the watch judges once the reports are written: the days written, read back from the
/// archive one at a time (a 100,000-row day is not carried through the run), and the serials
/// the catalog lists ACTIVE with a licence token never used.
#[derive(Debug, Default)]
pub(crate) struct Watched {
    pub days: Vec<NaiveDate>,
    pub idle: BTreeSet<String>,
    /// Alerts the run found elsewhere (the organization's new accounts), told with the
    /// newest day's.
    pub told: Vec<Alert>,
}

/// FortiFlex calls for `scope`: `programs/points`, `programs/list` (dates, type) unless
/// discovery already asked it, the day's rates (`tools/calc` per parameter set) and, once a
/// week, the product names (`tools/metadata`; planned every day, as the plan reads no cache).
pub(crate) fn calls(scope: &Scope) -> u64 {
    2 + u64::from(scope.listed.is_none()) + rates::calls(scope)
}
/// Burn rates look this far back.
const RATE_DAYS: u64 = 30;
/// A previous snapshot is looked for this many days back.
const SNAPSHOT_DAYS: u64 = 7;

/// What [`watch`] wrote: the balance snapshot, the alerts of each day, the month's tie-out
/// (and the month before's, when the run re-tied it).
pub(super) struct Judged {
    pub snapshot: Snapshot,
    pub alerts: Vec<DayAlerts>,
    pub tieouts: Vec<TieoutFile>,
}

/// The balance snapshot of `scope`'s program and the alerts of each day in `watched`,
/// both written.
pub(super) async fn watch<A: FortiFlexApi, S: Sink>(
    api: &A,
    sink: &S,
    scope: &Scope,
    watched: Watched,
    customers: Option<&Customers>,
    settings: &Watch,
    ctx: &Context,
) -> Result<Judged> {
    let serial = scope.serial.to_string();
    let as_of = window::today(ctx.now, ctx.timezone);
    let listed = match &scope.listed {
        Some(p) => Some(p.clone()),
        None => api
            .programs()
            .await?
            .into_iter()
            .find(|p| p.serial_number.eq_ignore_ascii_case(&serial)),
    };
    let listed = listed.as_ref();
    let (program_type, balance) = match read_balance(api, &serial).await? {
        BalanceReading::Prepaid(b) => (
            declared(listed).unwrap_or(ProgramType::Prepaid),
            b.or(listed.and_then(|p| p.point_balance)),
        ),
        BalanceReading::Postpaid => (ProgramType::Postpaid, None),
    };
    let program_start = listed.and_then(|p| day_of(&p.start_date));
    let first = match (settings.commitment, program_start) {
        (Some(_), Some(start)) if program_type == ProgramType::Postpaid => {
            start.max(as_of - Days::new(366))
        }
        _ => as_of - Days::new(RATE_DAYS),
    };
    let daily = stored_totals(sink, &serial, first, as_of).await?;
    let previous = previous_snapshot(sink, &serial, as_of).await?;
    let snapshot = balance::snapshot(&Inputs {
        program_serial: &serial,
        program_type,
        as_of,
        balance,
        daily: &daily,
        previous: previous.as_ref(),
        program_start,
        program_end: listed.and_then(|p| day_of(&p.end_date)),
        commitment: settings.commitment,
    });
    record::put(sink, &keys::balance_key(&serial, as_of), &snapshot).await?;
    let known = product_types::refresh(api, sink, as_of).await?;
    let rates = rates::snapshot(api, sink, scope, as_of, known.as_ref()).await?;
    // The month of the last complete day, tied out against the snapshots up to this one, and
    // the alerts of the day that has just become final.
    let through = as_of - Days::new(1);
    let asked = tieout::Asked {
        program: &serial,
        month: Month::of(through),
        through,
        program_start,
        prepaid: snapshot.balance.is_some(),
        customers,
    };
    let final_day = through - Days::new(u64::from(ctx.restate_days));
    let mut balance_alerts = alerts::for_balance(&snapshot, settings.low_runway_days);
    let tied = tieout::daily(sink, &asked, final_day).await?;
    balance_alerts.extend(tied.alerts);
    let announced =
        rates::announced_alerts(sink, &serial, &rates, customers, ctx.rate_notice_days).await?;
    balance_alerts.extend(announced);
    balance_alerts.extend(watched.told.iter().cloned());
    tracing::info!(
        program = %serial,
        balance = ?snapshot.balance.map(|b| b.0),
        runway_days = ?snapshot.runway_days,
        "balance"
    );

    let newest = watched.days.iter().max().copied();
    let mut days = Vec::with_capacity(watched.days.len());
    for &day in &watched.days {
        let consumers = consumers(sink, &serial, day, &watched.idle).await?;
        let previous = baseline(sink, &serial, day).await?;
        let mut found = alerts::for_day(day, &consumers, &previous);
        for a in &mut found {
            a.customer_id = customer_of(a, &consumers, customers);
        }
        if Some(day) == newest {
            found.splice(0..0, balance_alerts.iter().cloned());
        }
        let file = DayAlerts {
            program_serial: serial.clone(),
            date: day,
            alerts: found,
        };
        record::put(sink, &keys::alerts_key(&serial, day), &file).await?;
        for a in &file.alerts {
            tracing::warn!(program = %serial, date = %day, kind = a.kind.as_str(), "{}", a.message);
        }
        days.push(file);
    }
    if newest.is_none() && !balance_alerts.is_empty() {
        // A balance-only run (`balance`): its alerts are shown, not filed under a report day.
        days.push(DayAlerts {
            program_serial: serial.clone(),
            date: as_of,
            alerts: balance_alerts,
        });
    }
    Ok(Judged {
        snapshot,
        alerts: days,
        tieouts: tied.files,
    })
}

fn declared(p: Option<&Program>) -> Option<ProgramType> {
    match p?.program_type.as_deref()?.to_ascii_lowercase().as_str() {
        "postpaid" => Some(ProgramType::Postpaid),
        "prepaid" => Some(ProgramType::Prepaid),
        _ => None,
    }
}

fn day_of(text: &Option<String>) -> Option<NaiveDate> {
    let t = text.as_deref()?.trim();
    t.split([' ', 'T']).next()?.parse().ok()
}

/// The newest stored snapshot before `as_of`, looking back [`SNAPSHOT_DAYS`].
async fn previous_snapshot(
    sink: &impl Sink,
    program: &str,
    as_of: NaiveDate,
) -> Result<Option<Snapshot>> {
    for back in 1..=SNAPSHOT_DAYS {
        let key = keys::balance_key(program, as_of - Days::new(back));
        if let Some(found) = record::get(sink, &key, MOVE_ASIDE).await? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The consumers of a day this run wrote, read back from its rollup: only rows with
/// points, the only ones alerts judge.
async fn consumers(
    sink: &impl Sink,
    program: &str,
    day: NaiveDate,
    idle: &BTreeSet<String>,
) -> Result<Vec<Consumer>> {
    let Some(d) = rollup::day_rows(sink, program, day).await? else {
        return Err(Error::Storage(format!(
            "the report of {day} was written by this run but is not in the archive"
        )));
    };
    let mut out = Vec::new();
    d.rows(sink, |r| {
        if r.points > Decimal::ZERO {
            out.push(Consumer {
                token_unused: idle.contains(r.serial_number),
                serial_number: r.serial_number.to_string(),
                account_id: r.account_id,
                config_id: r.config_id,
                points: r.points,
            });
        }
    })?;
    Ok(out)
}

/// The points of the stored days before `day`, most recent first, at most
/// [`alerts::BASELINE_DAYS`] of them, looking back twice as far for gaps, each read from
/// its rollup.
async fn baseline(sink: &impl Sink, program: &str, day: NaiveDate) -> Result<Baseline> {
    let mut days = Baseline::default();
    for back in 1..=(2 * alerts::BASELINE_DAYS as u64) {
        if days.days == alerts::BASELINE_DAYS {
            break;
        }
        let Some(d) = rollup::day_rows(sink, program, day - Days::new(back)).await? else {
            continue;
        };
        d.rows(sink, |r| {
            days.add_row(r.serial_number, r.account_id, r.points)
        })?;
        days.end_day();
    }
    Ok(days)
}

/// The customer an entitlement alert concerns: the customers file's, else its account.
fn customer_of(
    alert: &Alert,
    consumers: &[alerts::Consumer],
    customers: Option<&Customers>,
) -> Option<String> {
    let serial = alert.serial_number.as_deref()?;
    let account = alert.account_id?;
    let config = consumers
        .iter()
        .find(|c| c.serial_number == serial)
        .and_then(|c| c.config_id);
    Some(match customers {
        Some(c) => c.billed(serial, config, account).id.to_string(),
        None => account.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::storage::MemorySink;
    use crate::testutil::store_walkthrough;

    #[tokio::test]
    async fn baselines_and_consumers_are_the_same_from_rollups_and_from_an_old_archive() {
        let sink = MemorySink::new();
        let days: Vec<String> = (1..=9).map(|d| format!("2025-11-{d:02}")).collect();
        let days: Vec<&str> = days.iter().map(String::as_str).collect();
        // 3 November missing: the baseline looks further back for its 7 days.
        let stored: Vec<&str> = days
            .iter()
            .copied()
            .filter(|d| *d != "2025-11-03")
            .collect();
        store_walkthrough(&sink, &stored).await;
        let program = "ELAVMS0000123456";
        let day: NaiveDate = "2025-11-09".parse().unwrap();
        let idle = BTreeSet::from(["FGT71FTK22000471".to_string()]);
        let read = (
            baseline(&sink, program, day).await.unwrap(),
            consumers(&sink, program, day, &idle).await.unwrap(),
        );
        assert_eq!(read.0.days, 7);
        assert_eq!(read.1.len(), 13);
        let seen = read.0.seen("FMVMMLTM00000582").unwrap();
        assert_eq!(
            (seen.total.to_string(), seen.last.to_string()),
            ("750.40".into(), "107.20".into())
        );
        assert!(read.1.iter().any(|c| c.token_unused));
        // An archive written before rollups: none stored.
        for d in &stored {
            let k = keys::rollup_keys(program, d.parse().unwrap());
            sink.delete(&k.rows).await.unwrap();
            sink.delete(&k.summary).await.unwrap();
        }
        let rebuilt = (
            baseline(&sink, program, day).await.unwrap(),
            consumers(&sink, program, day, &idle).await.unwrap(),
        );
        assert_eq!(rebuilt, read);
        assert_eq!(
            alerts::for_day(day, &rebuilt.1, &rebuilt.0),
            alerts::for_day(day, &read.1, &read.0)
        );
    }
}
