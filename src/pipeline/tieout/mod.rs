//! After a run's balance snapshot and rate snapshot: the month so far tied out against what
//! Fortinet deducted (`domain::tieout::balance`, prepaid programs) and against what each
//! device's configuration costs (`domain::tieout::rates`), read from the archive's own
//! history — the stored days, the balance and rate snapshots FortiFlex does not keep — and
//! written to `tieout/month=…`. No FortiFlex call.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use futures_util::{StreamExt, TryStreamExt, stream};
use rust_decimal::Decimal;

use crate::adapters::storage::Sink;
use crate::contract;
use crate::contract::keys::{self, daily_keys};
use crate::domain::alerts::Alert;
use crate::domain::balance::Snapshot;
use crate::domain::customers::Customers;
use crate::domain::ids::AccountId;
use crate::domain::money::Exact;
use crate::domain::statement::Month;
use crate::domain::tieout::TieoutFile;
use crate::domain::tieout::balance::{self, BalanceTieout};
use crate::domain::tieout::invoice::{self, InvoiceRecord};
use crate::domain::tieout::rates::{Audit, Charged, RateTieout};
use crate::error::{Error, Result};
use crate::pipeline::archive::record::{self, MOVE_ASIDE};
use crate::pipeline::archive::{self, rollup};
use crate::pipeline::rates;

/// Stored days are read this many at a time (S3 GETs in flight).
const READS_IN_FLIGHT: usize = 16;

/// What to tie out: a program's month through a day.
#[derive(Clone, Copy)]
pub(crate) struct Asked<'a> {
    pub program: &'a str,
    pub month: Month,
    /// The last day to check (at most the month's last).
    pub through: NaiveDate,
    /// The registration date (its anniversaries), if known.
    pub program_start: Option<NaiveDate>,
    /// A prepaid program: its balance is tied out too.
    pub prepaid: bool,
    /// Who each device is billed to and at what price; each account its own without.
    pub customers: Option<&'a Customers>,
}

/// What the daily run's tie-out wrote, oldest month first, and the alerts of its final day.
pub(crate) struct Daily {
    pub files: Vec<TieoutFile>,
    pub alerts: Vec<Alert>,
}

/// The daily run's tie-out: the month of `asked.through` written, and the alerts of
/// `final_day` (the newest day past restatement). When that day is of the month before, its
/// month is tied out again too — rewritten if an earlier run wrote it, so the corrections
/// FortiCloud made after the month ended are checked.
pub(crate) async fn daily(
    sink: &impl Sink,
    asked: &Asked<'_>,
    final_day: NaiveDate,
) -> Result<Daily> {
    let file = write_month(sink, asked).await?;
    let earlier = Month::of(final_day);
    if earlier == asked.month {
        return Ok(Daily {
            alerts: file.alerts(final_day),
            files: vec![file],
        });
    }
    let before = Asked {
        month: earlier,
        ..*asked
    };
    let again = month(sink, &before).await?;
    let alerts = again.alerts(final_day);
    let mut files = vec![file];
    if sink
        .get(&keys::tieout_key(asked.program, earlier))
        .await?
        .is_some()
    {
        write(sink, &again).await?;
        files.insert(0, again);
    }
    Ok(Daily { files, alerts })
}

/// [`month`], written.
pub(crate) async fn write_month(sink: &impl Sink, asked: &Asked<'_>) -> Result<TieoutFile> {
    let file = self::month(sink, asked).await?;
    write(sink, &file).await?;
    Ok(file)
}

/// Ties out the month from the archive alone: the stored days and the balance and rate
/// snapshots up to the day after `through`.
pub(crate) async fn month(sink: &impl Sink, asked: &Asked<'_>) -> Result<TieoutFile> {
    let (program, month) = (asked.program, asked.month);
    let through = asked.through.min(month.last());
    let rates = audit(sink, program, month.first(), through, asked.customers).await?;
    let balance = if asked.prepaid {
        Some(balance(sink, program, month, through, asked.program_start).await?)
    } else {
        None
    };
    let invoice = match stored_invoice(sink, program, month).await? {
        Some(r) => {
            let after = month.last() + Days::new(1);
            let daily = stored_totals(sink, program, month.first(), after).await?;
            Some(invoice::compare(r.invoice_points.0, month, &daily))
        }
        None => None,
    };
    Ok(TieoutFile {
        program_serial: program.to_string(),
        month: month.to_string(),
        through,
        balance,
        rates,
        invoice,
    })
}

/// Keeps the points of Fortinet's invoice for `month`, as entered, for every later tie-out.
pub(crate) async fn keep_invoice(
    sink: &impl Sink,
    program: &str,
    month: Month,
    invoice_points: Decimal,
) -> Result<()> {
    if invoice_points.is_sign_negative() {
        return Err(Error::InvalidRequest(format!(
            "--invoice-points must not be negative, not {invoice_points}"
        )));
    }
    let record = InvoiceRecord {
        program_serial: program.to_string(),
        month: month.to_string(),
        invoice_points: Exact(invoice_points),
    };
    record::put(sink, &keys::tieout_invoice_key(program, month), &record).await
}

async fn stored_invoice(
    sink: &impl Sink,
    program: &str,
    month: Month,
) -> Result<Option<InvoiceRecord>> {
    let key = keys::tieout_invoice_key(program, month);
    record::get(sink, &key, "enter the invoice again").await
}

/// The balance part: the stored daily totals against the snapshots' drops.
async fn balance(
    sink: &impl Sink,
    program: &str,
    month: Month,
    through: NaiveDate,
    program_start: Option<NaiveDate>,
) -> Result<BalanceTieout> {
    let after = through + Days::new(1);
    let daily = stored_totals(sink, program, month.first(), after).await?;
    let read = readings(sink, program, month.first(), after).await?;
    Ok(balance::tie_out(
        month.first(),
        through,
        &daily,
        &read.balances,
        program_start.or(read.anniversary),
    ))
}

/// The balance snapshots of a span of days: what the balance read each Pacific date.
pub(crate) struct Readings {
    pub balances: BTreeMap<NaiveDate, Decimal>,
    /// The program's anniversary as the snapshots' roll-over estimate gives it: offline (the
    /// CLI) and on the site the program's dates are not listed.
    pub anniversary: Option<NaiveDate>,
}

/// The balance snapshots stored for `first..=last`, read [`READS_IN_FLIGHT`] at a time.
pub(crate) async fn readings(
    sink: &impl Sink,
    program: &str,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<Readings> {
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
    let snapshots: Vec<(NaiveDate, Snapshot)> = stream::iter(days)
        .map(|day| async move {
            let s = stored_snapshot(sink, program, day).await?;
            Ok::<_, Error>(s.map(|s| (day, s)))
        })
        .buffered(READS_IN_FLIGHT)
        .try_filter_map(|x| async move { Ok(x) })
        .try_collect()
        .await?;
    let anniversary = snapshots
        .iter()
        .find_map(|(_, s)| s.rollover_estimate.as_ref().map(|r| r.anniversary));
    let balances = snapshots
        .into_iter()
        .filter_map(|(day, s)| Some((day, s.balance?.0)))
        .collect();
    Ok(Readings {
        balances,
        anniversary,
    })
}

/// The rate part: every stored day's devices against the rates in force, a day at a time.
/// Without any rate snapshot nothing is read: there is nothing to check against.
async fn audit(
    sink: &impl Sink,
    program: &str,
    first: NaiveDate,
    through: NaiveDate,
    customers: Option<&Customers>,
) -> Result<RateTieout> {
    let snapshots = rates::stored(sink, program, first, through + Days::new(1)).await?;
    let mut audit = Audit::default();
    if snapshots.is_empty() {
        return Ok(audit.finish());
    }
    for day in first.iter_days().take_while(|d| *d <= through) {
        let Some(rows) = rollup::day_rows(sink, program, day).await? else {
            continue;
        };
        let mut accounts: BTreeMap<AccountId, String> = BTreeMap::new();
        if customers.is_none() {
            rows.rows(sink, |r| {
                accounts
                    .entry(r.account_id)
                    .or_insert_with(|| r.account_id.to_string());
            })?;
        }
        let mut charged = Vec::new();
        rows.rows(sink, |r| {
            let (customer, price_per_point) = match customers {
                Some(c) => {
                    // The price the statement bills the day at (the price book's rule).
                    let b = c.billed(r.serial_number, r.config_id, r.account_id);
                    let price = c.prices.price(b.index, &r, day).map(|p| p.price_per_point);
                    (b.id, price)
                }
                None => (accounts[&r.account_id].as_str(), None),
            };
            charged.push(Charged {
                serial: r.serial_number,
                customer,
                price_per_point,
                config_id: r.config_id,
                config_name: r.config_name,
                product_type: r.product_type.unwrap_or("unknown"),
                points: r.points,
            });
        })?;
        audit.day(day, &snapshots, charged);
    }
    Ok(audit.finish())
}

/// Writes `file` to its key, and logs what it found.
pub(crate) async fn write(sink: &impl Sink, file: &TieoutFile) -> Result<()> {
    let (program, month) = (&file.program_serial, Month::parse(&file.month)?);
    record::put(sink, &keys::tieout_key(program, month), file).await?;
    let mut csv = Vec::new();
    contract::tieout::csv(file, &mut csv)?;
    sink.put(
        &keys::tieout_csv_key(program, month),
        csv,
        contract::CSV_CONTENT_TYPE,
    )
    .await?;
    if let Some(b) = &file.balance {
        let t = &b.totals;
        if t.differs > 0 {
            tracing::warn!(program, month = %month, differs = t.differs, difference = %t.difference.0, "balance tie-out: days differ from what Fortinet deducted");
        } else {
            tracing::info!(program, month = %month, ties = t.ties, unknown = t.unknown, "balance tie-out");
        }
    }
    let t = &file.rates.totals;
    if t.differs > t.explained {
        tracing::warn!(program, month = %month, unexplained = t.differs - t.explained, difference = %t.difference.0, "rate tie-out: devices charged other than their configuration's rate");
    } else {
        tracing::info!(program, month = %month, device_days = t.device_days, ties = t.ties, unknown = t.unknown, "rate tie-out");
    }
    Ok(())
}

/// `program`'s balance snapshot dated `day`, if one is stored.
async fn stored_snapshot(
    sink: &impl Sink,
    program: &str,
    day: NaiveDate,
) -> Result<Option<Snapshot>> {
    record::get(sink, &keys::balance_key(program, day), MOVE_ASIDE).await
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
