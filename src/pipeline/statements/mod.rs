//! Monthly statements from the archive, no FortiFlex call: read the month's stored daily
//! reports, build the statement ([`crate::domain::statement`]), and publish its files with the
//! manifest last. Idempotent like reports: the same stored days give the same bytes and
//! nothing is written; a restated day gives a new revision.

use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::archive::revision::{Listing, Revised, Revision, StagedFile, read_manifest};
use super::archive::rollup;
use super::request::Context;
use crate::adapters::storage::{Sink, Staged, Staging};
use crate::contract::JSON_CONTENT_TYPE;
use crate::contract::focus::Focus;
use crate::contract::keys::StatementKeys;
use crate::contract::statement as bytes;
use crate::domain::customers::Customers;
use crate::domain::ids::Serial;
use crate::domain::statement::{Fold, Month, Statement};
use crate::domain::window;
use crate::error::{Error, Result};

mod carry;
mod months;
pub(crate) use months::{customers, customers_file, publish_months};

const CSV: &str = crate::contract::CSV_CONTENT_TYPE;

/// What one statement run did.
#[derive(Debug)]
pub(crate) struct Published {
    pub keys: StatementKeys,
    pub statement: Statement,
    pub revision: u64,
    /// False when the stored statement already had these exact bytes.
    pub written: bool,
}

/// One month's statement to build and publish.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StatementJob<'a> {
    pub program: &'a Serial,
    pub month: Month,
    /// The customers file; `None`: one customer per account, no amounts.
    pub customers: Option<&'a Customers>,
    /// The Pacific day it is built on: the days before it count.
    pub today: NaiveDate,
    pub timezone: Tz,
    pub restate_days: u32,
    pub run_id: &'a str,
    pub now: DateTime<Utc>,
}

impl<'a> StatementJob<'a> {
    /// The job for `month` as of the run's clock.
    pub(crate) fn new(
        program: &'a Serial,
        month: Month,
        customers: Option<&'a Customers>,
        ctx: &'a Context,
    ) -> Self {
        StatementJob {
            program,
            month,
            customers,
            today: window::today(ctx.now, ctx.timezone),
            timezone: ctx.timezone,
            restate_days: ctx.restate_days,
            run_id: &ctx.run_id,
            now: ctx.now,
        }
    }
}

/// Builds and publishes the statement `job` names from what `sink` holds, as one revision
/// ([`Revision`]). `None`, with nothing written, when the month has no stored day at all: an
/// empty statement would look like a month with no consumption.
pub(crate) async fn publish_statement(
    sink: &impl Sink,
    job: &StatementJob<'_>,
) -> Result<Option<Published>> {
    let StatementJob {
        program,
        month,
        today,
        timezone,
        run_id,
        now,
        ..
    } = *job;
    if month.first() >= today {
        return Err(Error::InvalidRequest(format!(
            "{month} has no complete day yet (today is {today} in {timezone})"
        )));
    }
    let Some((statement, focus)) = build(sink, job).await? else {
        return Ok(None);
    };
    let keys = StatementKeys::new(program, month);
    let files = render_files(&statement, focus, &keys, job)?;
    let stored: Option<Listing> = read_manifest(sink, &keys.manifest, "statement").await?;
    let written = Revision {
        manifest_key: &keys.manifest,
        files,
    }
    .write(sink, stored, &(), |files, revision, stored| {
        let previous = stored.as_ref().map(|s| (s.revision, s.files.as_slice()));
        bytes::manifest(program, &statement, files, run_id, now, revision, previous)
    })
    .await?;
    Ok(Some(Published {
        keys,
        revision: written.revision(),
        written: matches!(written, Revised::New(_)),
        statement,
    }))
}

/// The month's FOCUS 1.2 and 1.3 files and their data rows.
type FocusFiles = (Staged, Staged, usize);

/// The month's statement from the stored days before `job.today` (`None` when none is
/// stored), read from the days' rollups one day at a time: folded into the statement's
/// lines and, with a customers file, written out as FOCUS rows. The lines of the days past
/// restatement are carried from the previous run ([`carry`]) when they still stand, so a
/// run reads only the days that may have changed; a month being settled is folded whole.
async fn build(
    sink: &impl Sink,
    job: &StatementJob<'_>,
) -> Result<Option<(Statement, Option<FocusFiles>)>> {
    let StatementJob {
        program,
        month,
        customers,
        today,
        timezone,
        restate_days,
        ..
    } = *job;
    // FOCUS lists priced rows only: without a price anywhere there are none.
    let mut focus = match customers.filter(|c| c.priced()) {
        Some(c) => Some(Focus::new(
            program,
            month,
            timezone,
            c,
            Staging::new()?,
            Staging::new()?,
        )?),
        None => None,
    };
    let mut fold = Fold::new(month);
    let carry = carry::Carry::new(job);
    let carried = carry.resume(sink, &mut fold).await?;
    let mut stored = fold.sources().len();
    for day in month.days().take_while(|d| *d < today) {
        let folded = carried.is_some_and(|through| day <= through);
        if folded && focus.is_none() {
            continue;
        }
        carry.save_before(sink, day, &fold).await?;
        let Some(d) = rollup::day_rows(sink, program, day).await? else {
            continue;
        };
        let mut failed = None;
        d.rows(sink, |r| {
            if !folded {
                fold.add_row(r, day, customers);
            }
            if let Some(f) = focus.as_mut()
                && failed.is_none()
            {
                failed = f.row(day, r).err();
            }
        })?;
        if let Some(e) = failed {
            return Err(e);
        }
        if !folded {
            fold.add_source(d.meta);
            stored += 1;
        }
    }
    carry.save_before(sink, today, &fold).await?;
    if stored == 0 {
        return Ok(None);
    }
    let focus = match focus {
        Some(f) => match f.finish()? {
            Some((v1_2, v1_3, rows)) => Some((v1_2.finish()?, v1_3.finish()?, rows)),
            None => None,
        },
        None => None,
    };
    let per_account;
    let customers = match customers {
        Some(c) => c,
        None => {
            per_account = Customers::per_account(&fold.accounts());
            &per_account
        }
    };
    Ok(Some((fold.finish(customers, today, restate_days), focus)))
}

/// The statement's files, in write order: CSV, JSON, workbook, FOCUS 1.2 and 1.3 (with a
/// price), one CSV
/// per customer. Each goes to a staged temporary file as it is rendered, so none is held in
/// memory (at 100,000 entitlements each is tens of megabytes).
fn render_files(
    statement: &Statement,
    focus: Option<FocusFiles>,
    keys: &StatementKeys,
    job: &StatementJob<'_>,
) -> Result<Vec<StagedFile>> {
    let n = lines(statement);
    let mut files = vec![
        StagedFile::new(
            &keys.csv,
            "csv",
            n,
            Staged::render(|w| bytes::csv(statement, w))?,
            CSV,
        ),
        StagedFile::new(
            &keys.json,
            "json",
            n,
            Staged::render(|w| bytes::json(job.program, job.timezone, statement, w))?,
            JSON_CONTENT_TYPE,
        ),
        StagedFile::new(
            &keys.xlsx,
            "xlsx",
            n,
            stage(crate::contract::workbook::xlsx(job.program, statement)?)?,
            crate::contract::XLSX_CONTENT_TYPE,
        ),
    ];
    if let Some((v1_2, v1_3, rows)) = focus {
        files.push(StagedFile::new(&keys.focus, "focus", rows, v1_2, CSV));
        files.push(StagedFile::new(
            &keys.focus_1_3,
            "focus-1.3",
            rows,
            v1_3,
            CSV,
        ));
    }
    for c in &statement.customers {
        let body = Staged::render(|w| bytes::customer_csv(statement, c, w))?;
        files.push(StagedFile::new(
            &keys.customer(&c.id),
            "csv",
            c.lines.len(),
            body,
            CSV,
        ));
    }
    Ok(files)
}

/// `body` moved to a staged file (hashed on the way), its memory freed.
fn stage(body: Vec<u8>) -> Result<Staged> {
    Staged::render(|w| {
        w.write_all(&body)
            .map_err(|e| Error::Storage(format!("cannot stage a statement file: {e}")))
    })
}

fn lines(s: &Statement) -> usize {
    s.customers.iter().map(|c| c.lines.len()).sum()
}

#[cfg(test)]
mod tests;
