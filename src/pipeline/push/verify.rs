//! The month read back from every target and compared with the statement
//! ([`crate::domain::billing::reconcile`]): after each applied push, in the scheduled push
//! and by `push --verify`. Each item gets its status, and the month's reconciliation is
//! written under `pushes/month=YYYY-MM/`, so what a target will invoice is checked before
//! the customer sees the invoice.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::item::StatementRef;
use crate::adapters::billing::BillingPort;
use crate::adapters::storage::Sink;
use crate::contract::JSON_CONTENT_TYPE;
use crate::contract::keys::{push_ledger_key, reconciliation_key};
use crate::contract::push::{
    ReconciliationHead, ReconciliationLine, read_ledger, reconciliation_bytes,
};
use crate::domain::billing::ledger::Ledger;
use crate::domain::billing::reconcile::compare;
use crate::domain::billing::{Charge, Target};
use crate::domain::money::Exact;
use crate::error::Result;
use crate::pipeline::outcome::{PushItem, Reconciled};

/// Stripe aggregates meter events asynchronously: a summary that does not match yet is read
/// again after these pauses before it counts as a difference.
const STRIPE_SETTLE: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// Reads back every charge, fills each item's reconciliation and writes the month's; the key
/// written.
pub(super) async fn verify(
    sink: &impl Sink,
    port: &impl BillingPort,
    st: &StatementRef<'_>,
    charges: &[Charge],
    items: &mut [PushItem],
    now: DateTime<Utc>,
) -> Result<String> {
    for charge in charges {
        let Some(item) = items
            .iter_mut()
            .find(|i| i.target == charge.target.as_str() && i.item == charge.item)
        else {
            continue;
        };
        let check = read_back(sink, port, st, charge, now).await?;
        if check.status.is_problem() {
            tracing::warn!(target_system = item.target, item = %item.item, status = check.status.as_str(), message = ?check.message, "reconciliation");
        }
        item.reconciliation = Some(Reconciled::from(check));
    }
    let lines: Vec<ReconciliationLine> = items
        .iter()
        .filter_map(|i| {
            let r = i.reconciliation.as_ref()?;
            Some(ReconciliationLine {
                customer_id: &i.customer_id,
                target: i.target,
                item: &i.item,
                unit: i.unit,
                billing_period: i.period.as_deref(),
                statement_quantity: i.value.map(Exact),
                target_quantity: r.target_value.map(Exact),
                difference: r.difference.map(Exact),
                status: r.status,
                message: r.message.as_deref(),
            })
        })
        .collect();
    let month = st.month.to_string();
    let head = ReconciliationHead {
        program: st.program,
        month: &month,
        statement_revision: st.revision,
        statement_sha256: st.sha256,
        checked_at: now,
    };
    let key = reconciliation_key(st.program, st.month);
    sink.put(
        &key,
        reconciliation_bytes(&head, &lines)?,
        JSON_CONTENT_TYPE,
    )
    .await?;
    Ok(key)
}

/// One charge read back: its ledger's keys and periods tell the target what to look for.
async fn read_back(
    sink: &impl Sink,
    port: &impl BillingPort,
    st: &StatementRef<'_>,
    charge: &Charge,
    now: DateTime<Utc>,
) -> Result<crate::domain::billing::reconcile::Check> {
    let unverifiable = |why: String| compare(charge.value, None, &why);
    if !port.has(charge.target) {
        return Ok(unverifiable(format!(
            "{} is not set up here: no credentials to read it with",
            charge.target.as_str()
        )));
    }
    let key = push_ledger_key(st.program, st.month, charge.target.as_str(), &charge.item);
    let ledger = match sink.get(&key).await? {
        Some(bytes) => match read_ledger(&bytes, &sink.location(&key)) {
            Ok(l) => l,
            Err(e) => return Ok(unverifiable(e.to_string())),
        },
        None => Ledger::new(st.program, &st.month.to_string(), charge),
    };
    // Only an event sent in the last minutes may still be aggregating.
    let fresh = ledger
        .held()
        .and_then(|e| e.finished_at)
        .is_some_and(|t| now - t < chrono::Duration::minutes(10));
    let mut pauses = STRIPE_SETTLE.iter();
    loop {
        let (check, explained) = match port.read(charge, &ledger, st.month).await {
            Ok(Some(holds)) => (
                compare(charge.value, Some(&holds), ""),
                !holds.problems.is_empty(),
            ),
            Ok(None) if charge.target == Target::Webhook => (
                unverifiable(
                    "a webhook cannot be read back: its receiver keeps one delivery per Idempotency-Key".into(),
                ),
                false,
            ),
            Ok(None) => (
                unverifiable(format!(
                    "{} has no meter for this customer's event name",
                    charge.target.as_str()
                )),
                false,
            ),
            Err(e) => (unverifiable(format!("reading it back failed: {e}")), false),
        };
        let settling = charge.target == Target::Stripe && check.status.is_problem() && fresh;
        match pauses.next() {
            Some(pause) if settling => tokio::time::sleep(*pause).await,
            // Still short of a fresh push with nothing that explains it: Stripe has not summed
            // it yet, which is no difference to alarm on.
            _ if settling && !explained => {
                return Ok(unverifiable(format!(
                    "Stripe aggregates meter events asynchronously and has not summed the events just sent ({}); run push --verify in a few minutes",
                    check.message.unwrap_or_default()
                )));
            }
            _ => return Ok(check),
        }
    }
}
