//! The scheduled run's last step: the statements of the months its days touch, from what is
//! now stored, with the customers file kept beside the reports (`config/customers.json`).

use chrono::{Days, NaiveDate};

use super::{StatementJob, publish_statement};
use crate::adapters::storage::Sink;
use crate::contract::keys;
use crate::domain::customers::{CustomerFrom, Customers};
use crate::domain::ids::Serial;
use crate::domain::statement::{Month, Statement};
use crate::domain::window;
use crate::error::{Error, Result};
use crate::pipeline::outcome::{ProgramOutcome, StatementOutcome};
use crate::pipeline::request::Context;

/// The customers file under the prefix, validated, with the organization's names when it
/// (or `organizations`, the setting) asks; `None` when there is neither.
pub(crate) async fn customers(
    sink: &impl Sink,
    organizations: Option<CustomerFrom>,
) -> Result<Option<Customers>> {
    let file = customers_file(sink).await?;
    crate::pipeline::organizations::named(sink, file, organizations).await
}

/// The customers file under the prefix, validated; `None` when there is none.
pub(crate) async fn customers_file(sink: &impl Sink) -> Result<Option<Customers>> {
    let Some(bytes) = sink.get(keys::CUSTOMERS).await? else {
        return Ok(None);
    };
    let origin = sink.location(keys::CUSTOMERS);
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::Customers(format!("{origin}: not UTF-8 text")))?;
    Customers::parse(&text, &origin).map(Some)
}

/// Rewrites the statements of the months of `days` and of the month before the first, so a
/// month turns `final` on the first run after its restatement window closes. Also returns
/// the newest month's statement (the site shows it as the month to date). With `pages`, an
/// older month whose statement changed gets its site pages rewritten here, while it is in
/// memory, so a month's pages end final and with its last restatement.
pub(crate) async fn publish_months(
    sink: &impl Sink,
    program: &ProgramOutcome,
    days: &[NaiveDate],
    customers: Option<&Customers>,
    ctx: &Context,
    pages: bool,
) -> Result<(Vec<StatementOutcome>, Option<Statement>)> {
    let serial = Serial::parse(&program.program_serial_number, "program serial number")?;
    let today = window::today(ctx.now, ctx.timezone);
    let mut months: Vec<Month> = days.iter().map(|d| Month::of(*d)).collect();
    if let Some(before) = days
        .iter()
        .min()
        .and_then(|d| d.checked_sub_days(Days::new(1)))
    {
        months.push(Month::of(before));
    }
    months.sort_unstable();
    months.dedup();
    let mut outcomes = Vec::with_capacity(months.len());
    let mut newest = None;
    let months: Vec<Month> = months.into_iter().filter(|m| m.first() < today).collect();
    let last = months.last().copied();
    for month in months {
        // Only the newest month's statement is kept: the one before is freed before the next
        // month is read (at 100,000 entitlements its lines are 16 MB).
        newest = None;
        let job = StatementJob::new(&serial, month, customers, ctx);
        let Some(p) = publish_statement(sink, &job).await? else {
            // Nothing stored for the month (the month before a first run): no statement.
            tracing::info!(month = %month, "no stored day: no statement");
            continue;
        };
        tracing::info!(
            month = %month,
            status = p.statement.status.as_str(),
            revision = p.revision,
            written = p.written,
            "statement"
        );
        outcomes.push(StatementOutcome {
            month: month.to_string(),
            status: p.statement.status.as_str(),
            revision: p.revision,
            written: p.written,
            points: p.statement.points,
            amount: p.statement.amount,
            key: p.keys.json,
        });
        if pages && p.written && Some(month) != last {
            crate::pipeline::site::statement_pages(sink, serial.as_str(), &p.statement).await?;
        }
        newest = Some(p.statement);
    }
    Ok((outcomes, newest))
}
