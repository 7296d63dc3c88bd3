//! After a prepaid program's balance snapshot: the month so far tied out against what Fortinet
//! deducted (`domain::tieout::balance`), read from the archive's own history — the stored
//! daily totals and the balance snapshots FortiFlex does not keep — and written to
//! `tieout/month=…`. No FortiFlex call.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use futures_util::{StreamExt, TryStreamExt, stream};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::adapters::storage::Sink;
use crate::contract::keys::{self, daily_keys};
use crate::domain::balance::Snapshot;
use crate::domain::statement::Month;
use crate::domain::tieout::balance::{self, BalanceTieout};
use crate::error::{Error, Result};
use crate::pipeline::archive;

/// Stored days are read this many at a time (S3 GETs in flight).
const READS_IN_FLIGHT: usize = 16;

/// `tieout/month=YYYY-MM/tieout_<PROGRAM>_YYYY-MM.json`.
#[derive(Debug, Serialize)]
pub(crate) struct TieoutFile {
    pub program_serial: String,
    pub month: String,
    /// The last day checked: the day before the newest snapshot.
    pub through: NaiveDate,
    pub balance: BalanceTieout,
}

/// [`month`], written.
pub(crate) async fn write_month(
    sink: &impl Sink,
    program: &str,
    month: Month,
    through: NaiveDate,
    program_start: Option<NaiveDate>,
) -> Result<TieoutFile> {
    let file = self::month(sink, program, month, through, program_start).await?;
    write(sink, &file).await?;
    Ok(file)
}

/// Ties out `month` through `through` (at most its last day) from the archive alone: the
/// stored daily totals and the snapshots up to the day after `through`. `program_start`: the
/// registration date (its anniversaries), if known.
pub(crate) async fn month(
    sink: &impl Sink,
    program: &str,
    month: Month,
    through: NaiveDate,
    program_start: Option<NaiveDate>,
) -> Result<TieoutFile> {
    let through = through.min(month.last());
    let after = through + Days::new(1);
    let daily = stored_totals(sink, program, month.first(), after).await?;
    let mut balances = BTreeMap::new();
    let mut anniversary = program_start;
    for day in month.first().iter_days().take_while(|d| *d <= after) {
        let Some(snapshot) = stored_snapshot(sink, program, day).await? else {
            continue;
        };
        if let Some(b) = snapshot.balance {
            balances.insert(day, b.0);
        }
        // Offline (the CLI), the program's dates come from the snapshots' roll-over estimate.
        anniversary = anniversary.or(snapshot.rollover_estimate.map(|r| r.anniversary));
    }
    let file = TieoutFile {
        program_serial: program.to_string(),
        month: month.to_string(),
        through,
        balance: balance::tie_out(month.first(), through, &daily, &balances, anniversary),
    };
    Ok(file)
}

/// Writes `file` to its key, and logs what it found.
pub(crate) async fn write(sink: &impl Sink, file: &TieoutFile) -> Result<()> {
    let (program, month) = (&file.program_serial, Month::parse(&file.month)?);
    let key = keys::tieout_key(program, month);
    let mut body = serde_json::to_vec_pretty(file)
        .map_err(|e| Error::Storage(format!("cannot render {key}: {e}")))?;
    body.push(b'\n');
    sink.put(&key, body, "application/json").await?;
    let t = &file.balance.totals;
    if t.differs > 0 {
        tracing::warn!(program, month = %month, differs = t.differs, difference = %t.difference.0, "balance tie-out: days differ from what Fortinet deducted");
    } else {
        tracing::info!(program, month = %month, ties = t.ties, unknown = t.unknown, "balance tie-out");
    }
    Ok(())
}

/// `program`'s balance snapshot dated `day`, if one is stored.
async fn stored_snapshot(
    sink: &impl Sink,
    program: &str,
    day: NaiveDate,
) -> Result<Option<Snapshot>> {
    let key = keys::balance_key(program, day);
    let Some(bytes) = sink.get(&key).await? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        Error::Storage(format!(
            "the stored {} is unreadable ({e}); move it aside",
            sink.location(&key)
        ))
    })
}

/// The stored totals of the days `first..as_of` (missing days absent).
pub(crate) async fn stored_totals(
    sink: &impl Sink,
    program: &str,
    first: NaiveDate,
    as_of: NaiveDate,
) -> Result<BTreeMap<NaiveDate, Decimal>> {
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d < as_of).collect();
    stream::iter(days)
        .map(|day| async move {
            let stored = archive::stored(sink, &daily_keys(program, day)).await?;
            Ok::<_, Error>(stored.map(|s| (day, s.points)))
        })
        .buffered(READS_IN_FLIGHT)
        .try_filter_map(|x| async move { Ok(x) })
        .try_collect()
        .await
}
