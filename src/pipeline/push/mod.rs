//! A final month into the partner's billing systems, exactly once: the stored statement's
//! totals become charges per customer and target ([`crate::domain::billing::charges`]), the
//! ledger under `pushes/month=YYYY-MM/` says what each target already holds, and only the
//! difference is sent ([`item`]). A dry run (the CLI's default) reads and prints, and sends
//! and writes nothing.

use chrono::{DateTime, Utc};

use super::archive::revision::unreadable;
use super::outcome::{ProgramOutcome, PushItem, PushOutcome};
use crate::adapters::billing::BillingPort;
use crate::adapters::storage::Sink;
use crate::contract::keys::StatementKeys;
use crate::contract::sha256_hex;
use crate::contract::statement::read_totals;
use crate::domain::billing::{Target, charges};
use crate::domain::customers::Customers;
use crate::domain::ids::Serial;
use crate::domain::statement::{Month, Status};
use crate::error::{Error, Result};

mod item;
mod pages;
mod verify;

/// One month to push.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PushJob<'a> {
    pub program: &'a Serial,
    pub month: Month,
    pub customers: &'a Customers,
    /// Only these targets (all when empty).
    pub only: &'a [Target],
    /// Send and record; `false`: say what would be sent.
    pub apply: bool,
    /// Read every target back and compare (always after `apply`).
    pub verify: bool,
    pub now: DateTime<Utc>,
}

/// Pushes (or, without `apply`, plans) `job`'s month from the statement stored in `sink`.
/// Refused when no statement is stored, and with `apply` when it is not final.
pub(crate) async fn push_month(
    sink: &impl Sink,
    port: &impl BillingPort,
    job: &PushJob<'_>,
) -> Result<PushOutcome> {
    let keys = StatementKeys::new(job.program, job.month);
    #[derive(serde::Deserialize)]
    struct Head {
        revision: u64,
    }
    let no_statement = || {
        Error::InvalidRequest(format!(
            "no statement of {} under {}: build it first (statement --month {})",
            job.month,
            sink.location(""),
            job.month
        ))
    };
    let Some(manifest) = sink.get(&keys.manifest).await? else {
        return Err(no_statement());
    };
    let head: Head = serde_json::from_slice(&manifest)
        .map_err(|e| unreadable(sink, &keys.manifest, "statement", e))?;
    let statement_sha = sha256_hex(&manifest);
    let json = sink.get(&keys.json).await?.ok_or_else(no_statement)?;
    let totals = read_totals(&json, &sink.location(&keys.json))?;
    if job.apply && totals.status != Status::Final {
        return Err(Error::InvalidRequest(format!(
            "{} is provisional (revision {}): only a final month is pushed; it turns final once every day is stored and the restatement window has passed",
            job.month, head.revision
        )));
    }
    let (charges, refusals) = charges(&totals, |id| job.customers.billing(id), job.only);
    let mut items: Vec<PushItem> = refusals
        .into_iter()
        .map(|r| PushItem {
            target: r.target.as_str(),
            item: r.customer_id.clone(),
            error: Some(r.message),
            customer_id: r.customer_id,
            action: "refused",
            value: None,
            unit: "points",
            held: None,
            held_revision: None,
            target_id: None,
            done: false,
            period: None,
            warning: None,
            reconciliation: None,
        })
        .collect();
    let statement = item::StatementRef {
        program: job.program,
        month: job.month,
        currency: totals.currency.as_deref(),
        revision: head.revision,
        sha256: &statement_sha,
    };
    for charge in &charges {
        items.push(item::settle(sink, port, &statement, charge, job.apply, job.now).await?);
    }
    let verified = job.apply || job.verify;
    let reconciliation_key = match verified {
        true => Some(verify::verify(sink, port, &statement, &charges, &mut items, job.now).await?),
        false => None,
    };
    items.sort_by(|a, b| (a.target, &a.item).cmp(&(b.target, &b.item)));
    if verified {
        pages::mark(sink, job.month, head.revision, &items, job.now).await?;
    }
    for i in &items {
        tracing::info!(
            target_system = i.target,
            customer = %i.customer_id,
            item = %i.item,
            action = i.action,
            done = i.done,
            failed = i.error.is_some(),
            reconciliation = i.reconciliation.as_ref().map(|r| r.status),
            "push"
        );
    }
    Ok(PushOutcome {
        month: job.month.to_string(),
        status: totals.status.as_str(),
        statement_revision: head.revision,
        applied: job.apply,
        verified,
        reconciliation_key: reconciliation_key.map(|k| sink.location(&k)),
        items,
    })
}

/// The scheduled run's push (`PUSH_ON_FINAL`): every statement of `programs` that is final
/// now is pushed with the customers file under the prefix, and its outcome attached to the
/// program. Already-held months cost no call. `Billing` at the end when any customer failed
/// (after the others were pushed).
pub(crate) async fn push_final(
    sink: &impl Sink,
    port: &impl BillingPort,
    programs: &mut [ProgramOutcome],
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(customers) = super::statements::customers_file(sink).await? else {
        tracing::info!("no customers file: nothing to push");
        return Ok(());
    };
    let mut failures = Vec::new();
    for program in programs.iter_mut() {
        let serial = Serial::parse(&program.program_serial_number, "program serial number")?;
        let finals: Vec<Month> = program
            .statements
            .iter()
            .filter(|s| s.status == Status::Final.as_str())
            .map(|s| Month::parse(&s.month))
            .collect::<Result<_>>()?;
        for month in finals {
            let job = PushJob {
                program: &serial,
                month,
                customers: &customers,
                only: &[],
                apply: true,
                verify: true,
                now,
            };
            let outcome = push_month(sink, port, &job).await?;
            if let Some(e) = outcome.failure() {
                failures.push(e.to_string());
            }
            program.pushes.push(outcome);
        }
    }
    match failures.is_empty() {
        true => Ok(()),
        false => Err(Error::Billing(
            failures
                .iter()
                .map(|f| f.trim_start_matches("billing: "))
                .collect::<Vec<_>>()
                .join(" | "),
        )),
    }
}
