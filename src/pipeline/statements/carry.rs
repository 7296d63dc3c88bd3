//! A month's statement lines carried from one run to the next: the fold of the days past
//! restatement (which a scheduled run no longer re-pulls) is kept under `rollups/month=…`,
//! naming each day's manifest SHA-256. The next run starts from it when every one of those
//! days still has that manifest (and no day was added among them), and folds only the
//! newer days; otherwise it folds the month whole. A month past its restatement window is
//! folded whole once, by the run that makes it final, which keeps all its lines: the runs
//! after it (the month before stays in a run's months for a few days) read no day of it.
//! Both ways give the same lines, so the same statement bytes (a test holds them equal).

use std::cell::Cell;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::StatementJob;
use crate::adapters::storage::Sink;
use crate::contract::keys;
use crate::contract::rollup::{CarryRef, Kind, Table, TableWriter};
use crate::domain::customers::PriceBook;
use crate::domain::statement::{Carried, DayMeta, Fold, Month};
use crate::error::Result;
use crate::pipeline::archive::rollup;

const BINARY: &str = "application/octet-stream";

/// The prices of a run without a customers file: none.
static NO_PRICES: std::sync::LazyLock<PriceBook> = std::sync::LazyLock::new(PriceBook::default);

/// What a carried fold is valid for.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Header {
    program_serial: String,
    month: String,
    /// The customers mapping the lines were billed by.
    fingerprint: String,
    /// The prices they were priced by ([`PriceBook::fingerprint`]).
    #[serde(default)]
    prices: String,
    /// The last day folded in.
    through: NaiveDate,
    /// Folded whole by a run after the month's restatement window: every day, final.
    #[serde(default)]
    settled: bool,
    /// The days folded in: date, revision, manifest SHA-256.
    sources: Vec<(NaiveDate, u64, String)>,
}

/// The carried fold of one statement job.
pub(super) struct Carry<'a> {
    program: &'a str,
    month: Month,
    key: String,
    fingerprint: String,
    prices: &'a PriceBook,
    /// The last day past restatement this run may carry (the month's last once it is
    /// settled): `None` when there is none in the month yet.
    through: Option<NaiveDate>,
    settled: bool,
    saved: Cell<bool>,
}

impl<'a> Carry<'a> {
    pub(super) fn new(job: &StatementJob<'a>) -> Self {
        let month = job.month;
        let restate = u64::from(job.restate_days);
        let settled = month
            .last()
            .checked_add_days(Days::new(restate))
            .is_none_or(|d| job.today > d);
        // The scheduled run re-pulls the last complete day and `restate_days` before it.
        let through = match settled {
            true => Some(month.last()),
            false => job
                .today
                .checked_sub_days(Days::new(restate + 2))
                .map(|d| d.min(month.last()))
                .filter(|d| *d >= month.first()),
        };
        Carry {
            program: job.program,
            month,
            key: keys::carry_key(job.program, month),
            fingerprint: rollup::fingerprint(job.customers),
            prices: job.customers.map_or(&NO_PRICES, |c| &c.prices),
            through,
            settled,
            saved: Cell::new(false),
        }
    }

    /// Fills `fold` from the carried lines when they still stand; the last day they hold.
    pub(super) async fn resume(
        &self,
        sink: &impl Sink,
        fold: &mut Fold,
    ) -> Result<Option<NaiveDate>> {
        if self.through.is_none() {
            return Ok(None);
        }
        let Some(bytes) = sink.get(&self.key).await? else {
            return Ok(None);
        };
        let Ok(table) = Table::parse(&bytes, Kind::Carry) else {
            tracing::info!(key = %self.key, "carried statement lines unreadable: folding the month");
            return Ok(None);
        };
        let Ok(header) = serde_json::from_slice::<Header>(table.header) else {
            return Ok(None);
        };
        if header.program_serial != self.program
            || header.month != self.month.to_string()
            || header.fingerprint != self.fingerprint
            || header.prices != self.prices.fingerprint()
            || header.through > self.month.last()
            || (self.settled && !header.settled)
        {
            return Ok(None);
        }
        for day in self
            .month
            .first()
            .iter_days()
            .take_while(|d| *d <= header.through)
        {
            let now = rollup::manifest_meta(sink, self.program, day).await?;
            let then = header.sources.iter().find(|s| s.0 == day);
            let same = match (&now, then) {
                (None, None) => true,
                (Some(m), Some(s)) => m.revision == s.1 && m.manifest_sha256 == s.2,
                _ => false,
            };
            if !same {
                tracing::info!(month = %self.month, date = %day, "a carried day changed: folding the month");
                return Ok(None);
            }
        }
        let mut carried = Fold::new(self.month);
        let book = &self.prices;
        let mut known = true;
        let read = table.carried(|l| {
            let rule = l.rule.map(|id| book.rule_index(id));
            known &= rule.is_none_or(|r| r.is_some());
            carried.add_carried(Carried {
                customer: l.customer,
                rule: rule.flatten(),
                row: l.row,
                days_billed: l.days_billed,
                cost: l.cost,
                days: l.days,
            })
        });
        if read.is_err() || !known {
            return Ok(None);
        }
        for (date, revision, manifest_sha256) in header.sources {
            carried.add_source(DayMeta {
                date,
                revision,
                manifest_sha256,
            });
        }
        *fold = carried;
        if Some(header.through) >= self.through {
            self.saved.set(true);
        }
        Ok(Some(header.through))
    }

    /// Called before `day` is folded: once the fold holds every day through the carried
    /// one, keeps it for the next run (unless the stored carry already holds these days).
    pub(super) async fn save_before(
        &self,
        sink: &impl Sink,
        day: NaiveDate,
        fold: &Fold,
    ) -> Result<()> {
        let Some(through) = self.through else {
            return Ok(());
        };
        if day <= through || self.saved.replace(true) || fold.sources().is_empty() {
            return Ok(());
        }
        let header = Header {
            program_serial: self.program.to_string(),
            month: self.month.to_string(),
            fingerprint: self.fingerprint.clone(),
            prices: self.prices.fingerprint(),
            through,
            settled: self.settled,
            sources: fold.sources().to_vec(),
        };
        let mut w = TableWriter::new(Kind::Carry, &header, fold.lines_len());
        let book = &self.prices;
        fold.each_line(|l| {
            w.carry(&CarryRef {
                customer: l.customer,
                rule: l
                    .rule
                    .and_then(|r| book.rules.get(r as usize))
                    .map(|r| r.id.as_str()),
                row: l.row,
                days_billed: l.days_billed,
                cost: l.cost,
                days: l.days,
            })
        });
        sink.put(&self.key, w.finish(), BINARY).await
    }
}

#[cfg(test)]
mod tests;
