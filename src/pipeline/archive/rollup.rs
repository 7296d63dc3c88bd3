//! Each stored day's rollup ([`crate::contract::rollup`]), read when current and rebuilt when
//! not: written with the day's report, after its manifest, naming that manifest's SHA-256.
//! A rollup whose source is not the day's current manifest (a restatement, a write that
//! broke off, an archive written before rollups) is rebuilt from the stored day, once,
//! checked against the manifest like every stored read. So a rollup never disagrees with
//! its day, and readers need not know which archive they are on.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::revision::read_manifest_hashed;
use crate::adapters::storage::Sink;
use crate::contract::keys::{self, RollupKeys};
use crate::contract::rollup::{
    CustomerTotals, DayHeader, DaySummary, Kind, RowsFile, Source, Table, TableWriter,
};
use crate::contract::{JSON_CONTENT_TYPE, SCHEMA_VERSION, sha256_hex, to_json};
use crate::domain::customers::Customers;
use crate::domain::ids::AccountId;
use crate::domain::money::{Exact, contract_points};
use crate::domain::report::Report;
use crate::domain::statement::{DayMeta, RowRef};
use crate::error::{Error, Result};

const BINARY: &str = "application/octet-stream";

/// The per-customer totals' mapping without a customers file: each account its own
/// customer, as statements and the site bill then.
const PER_ACCOUNT: &str = "accounts";

/// What the per-customer totals of a day depend on.
pub(crate) fn fingerprint(customers: Option<&Customers>) -> String {
    customers.map_or_else(|| PER_ACCOUNT.to_string(), Customers::fingerprint)
}

/// The customer a row is billed to: the customers file's, else its account.
pub(crate) fn customer_of(customers: Option<&Customers>, r: &RowRef<'_>) -> String {
    match customers {
        Some(c) => c
            .billed(r.serial_number, r.config_id, r.account_id)
            .id
            .to_string(),
        None => r.account_id.to_string(),
    }
}

/// A stored day's rows from its current rollup.
pub(crate) struct DayRows {
    pub meta: DayMeta,
    pub summary: DaySummary,
    keys: RollupKeys,
    bytes: Vec<u8>,
}

impl DayRows {
    /// The day's rows, one per serial in serial order, to `each`.
    pub(crate) fn rows<'a>(&'a self, sink: &impl Sink, each: impl FnMut(RowRef<'a>)) -> Result<()> {
        Table::parse(&self.bytes, Kind::Day)
            .and_then(|t| t.rows(each))
            .map_err(|e| unreadable(sink, &self.keys.rows, e))
    }

    /// The day's points per customer for `customers`' mapping, when the summary has them.
    pub(crate) fn customer_totals(&self, fingerprint: &str) -> Option<Vec<(String, Decimal)>> {
        totals_for(&self.summary, fingerprint)
    }

    /// Keeps `totals` (computed from the rows for `fingerprint`) in the summary, so the
    /// next reader of the day's totals reads no rows.
    pub(crate) async fn remember(
        &self,
        sink: &impl Sink,
        fingerprint: &str,
        totals: &[(String, Decimal)],
    ) -> Result<()> {
        let mut summary = self.summary.clone();
        summary.customers = Some(CustomerTotals {
            fingerprint: fingerprint.to_string(),
            totals: totals
                .iter()
                .map(|(id, p)| (id.clone(), Exact(*p)))
                .collect(),
        });
        sink.put(&self.keys.summary, to_json(&summary)?, JSON_CONTENT_TYPE)
            .await
    }
}

fn totals_for(summary: &DaySummary, fingerprint: &str) -> Option<Vec<(String, Decimal)>> {
    let c = summary.customers.as_ref()?;
    (c.fingerprint == fingerprint)
        .then(|| c.totals.iter().map(|(id, p)| (id.clone(), p.0)).collect())
}

fn unreadable(sink: &impl Sink, key: &str, why: impl std::fmt::Display) -> Error {
    Error::Storage(format!(
        "the rollup {} is unreadable ({why}); delete it to have it rebuilt from its day",
        sink.location(key)
    ))
}

#[derive(Deserialize)]
struct Revision {
    revision: u64,
}

/// The current manifest of `program`'s `day` as a rollup and a statement name their
/// source; `None` when the day is not stored.
pub(crate) async fn manifest_meta(
    sink: &impl Sink,
    program: &str,
    day: NaiveDate,
) -> Result<Option<DayMeta>> {
    let key = keys::daily_keys(program, day).manifest;
    let read = read_manifest_hashed::<Revision>(sink, &key, "report").await?;
    Ok(read.map(|(m, manifest_sha256)| DayMeta {
        date: day,
        revision: m.revision,
        manifest_sha256,
    }))
}

/// The stored summary of the day when it was built from the manifest `meta` names (else
/// `None`: stale, missing or unreadable, so rebuilt).
async fn summary(
    sink: &impl Sink,
    keys: &RollupKeys,
    meta: &DayMeta,
) -> Result<Option<DaySummary>> {
    let Some(bytes) = sink.get(&keys.summary).await? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice::<DaySummary>(&bytes)
        .ok()
        .filter(|s| s.source.manifest_sha256 == meta.manifest_sha256))
}

/// `program`'s day `day` from its rollup (rebuilt from the stored day when it is not
/// current); `None` when the day is not stored.
pub(crate) async fn day_rows(
    sink: &impl Sink,
    program: &str,
    day: NaiveDate,
) -> Result<Option<DayRows>> {
    let Some(meta) = manifest_meta(sink, program, day).await? else {
        return Ok(None);
    };
    let keys = keys::rollup_keys(program, day);
    let summary = summary(sink, &keys, &meta).await?;
    rows_of(sink, program, meta, keys, summary).await
}

/// The day's rows when `summary` (read for `meta`) is current and its rows file matches
/// it, else rebuilt from the stored day.
async fn rows_of(
    sink: &impl Sink,
    program: &str,
    meta: DayMeta,
    keys: RollupKeys,
    summary: Option<DaySummary>,
) -> Result<Option<DayRows>> {
    if let Some(summary) = summary
        && let Some(bytes) = sink.get(&keys.rows).await?
        && sha256_hex(&bytes) == summary.rows.sha256
        && Table::parse(&bytes, Kind::Day).is_ok_and(|t| t.len() == summary.rows.rows)
    {
        return Ok(Some(DayRows {
            meta,
            summary,
            keys,
            bytes,
        }));
    }
    rebuild(sink, program, meta.date).await
}

/// The day's points per customer for `customers` (each account without a file), from the
/// summary when it has them for this mapping, else from the rows (then kept in the
/// summary); `None` when the day is not stored.
pub(crate) async fn customer_points(
    sink: &impl Sink,
    program: &str,
    day: NaiveDate,
    customers: Option<&Customers>,
) -> Result<Option<Vec<(String, Decimal)>>> {
    let fp = fingerprint(customers);
    let Some(meta) = manifest_meta(sink, program, day).await? else {
        return Ok(None);
    };
    let keys = keys::rollup_keys(program, day);
    let summary = summary(sink, &keys, &meta).await?;
    if let Some(totals) = summary.as_ref().and_then(|s| totals_for(s, &fp)) {
        return Ok(Some(totals));
    }
    let Some(d) = rows_of(sink, program, meta, keys, summary).await? else {
        return Ok(None);
    };
    if let Some(totals) = d.customer_totals(&fp) {
        return Ok(Some(totals));
    }
    let mut by: BTreeMap<String, Decimal> = BTreeMap::new();
    d.rows(sink, |r| {
        *by.entry(customer_of(customers, &r)).or_default() += r.points
    })?;
    let totals: Vec<(String, Decimal)> = by.into_iter().collect();
    d.remember(sink, &fp, &totals).await?;
    Ok(Some(totals))
}

/// Keeps the rollup of `report`, a daily report found unchanged under the manifest `meta`
/// names, current: written from the report's rows unless the stored one already names
/// that manifest (an archive from before rollups gets them on its next run).
pub(crate) async fn keep_current(sink: &impl Sink, report: &Report, meta: &DayMeta) -> Result<()> {
    let keys = keys::rollup_keys(&report.spec.program_serial, meta.date);
    if summary(sink, &keys, meta).await?.is_some() {
        return Ok(());
    }
    write_report(sink, report, meta).await
}

/// Writes the rollup of `report`, the daily report the manifest `meta` names, from its rows.
pub(crate) async fn write_report(sink: &impl Sink, report: &Report, meta: &DayMeta) -> Result<()> {
    // Row order by serial as indices: a copy of 100,000 rows would cost 10 MB of the peak.
    let rows = &report.rows;
    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| {
        rows[a as usize]
            .serial_number
            .cmp(&rows[b as usize].serial_number)
    });
    let sorted = order.iter().map(|&i| {
        let r = &rows[i as usize];
        RowRef {
            serial_number: &r.serial_number,
            account_id: r.account_id,
            config_id: r.config_id,
            config_name: r.config_name.as_deref(),
            product_type: r.product_type.as_deref(),
            description: r.description.as_deref(),
            points: contract_points(r.points),
        }
    });
    let program = report.spec.program_serial.as_str();
    write(sink, program, meta, sorted, false).await.map(drop)
}

/// Builds the day's rollup from its stored report (checked against its manifest): an
/// archive written before rollups, or a rollup left stale.
async fn rebuild(sink: &impl Sink, program: &str, day: NaiveDate) -> Result<Option<DayRows>> {
    let mut rows = Vec::new();
    let Some(meta) = super::read_stored_day(sink, program, day, |r| rows.push(r)).await? else {
        return Ok(None);
    };
    tracing::info!(
        target: "progress",
        date = %day,
        rows = rows.len(),
        "rollup built from the stored day (once: it had none, or a stale one)"
    );
    rows.sort_unstable_by(|a, b| a.serial_number.cmp(&b.serial_number));
    let (summary, bytes) = write(
        sink,
        program,
        &meta,
        rows.iter().map(|r| r.borrowed()),
        true,
    )
    .await?;
    Ok(Some(DayRows {
        meta,
        summary,
        keys: keys::rollup_keys(program, day),
        bytes,
    }))
}

/// Writes the rollup of the stored day `meta` names from its `rows` (sorted by serial, with
/// the points as the day's JSON holds them): the rows, then the summary naming them.
/// Returns the summary and, when `keep`, the rows' bytes (else nothing).
async fn write<'a>(
    sink: &impl Sink,
    program: &str,
    meta: &DayMeta,
    rows: impl ExactSizeIterator<Item = RowRef<'a>>,
    keep: bool,
) -> Result<(DaySummary, Vec<u8>)> {
    let keys = keys::rollup_keys(program, meta.date);
    let source = Source {
        revision: meta.revision,
        manifest_sha256: meta.manifest_sha256.clone(),
    };
    let header = DayHeader {
        program_serial: program.to_string(),
        date: meta.date,
        source: source.clone(),
    };
    let mut table = TableWriter::new(Kind::Day, &header, rows.len());
    let mut accounts: BTreeMap<AccountId, Decimal> = BTreeMap::new();
    let mut points = Decimal::ZERO;
    let mut previous: Option<&str> = None;
    let mut count = 0;
    for r in rows {
        count += 1;
        debug_assert!(previous < Some(r.serial_number), "rows by serial");
        previous = Some(r.serial_number);
        *accounts.entry(r.account_id).or_default() += r.points;
        points += r.points;
        table.row(&r);
    }
    let bytes = table.finish();
    // Customer ids are text: accounts sort as their ids do.
    let mut accounts: Vec<(String, Exact)> = accounts
        .into_iter()
        .map(|(a, p)| (a.to_string(), Exact(p)))
        .collect();
    accounts.sort_by(|a, b| a.0.cmp(&b.0));
    let summary = DaySummary {
        schema_version: SCHEMA_VERSION,
        program_serial: program.to_string(),
        date: meta.date,
        source,
        rows: RowsFile {
            key: keys.rows.clone(),
            sha256: sha256_hex(&bytes),
            rows: count,
            bytes: bytes.len() as u64,
        },
        points: Exact(points),
        customers: Some(CustomerTotals {
            fingerprint: PER_ACCOUNT.to_string(),
            totals: accounts,
        }),
    };
    let kept = if keep { bytes.clone() } else { Vec::new() };
    sink.put(&keys.rows, bytes, BINARY).await?;
    sink.put(&keys.summary, to_json(&summary)?, JSON_CONTENT_TYPE)
        .await?;
    Ok((summary, kept))
}

#[cfg(test)]
mod tests;
