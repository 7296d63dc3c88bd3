//! One charge settled against its ledger: a pending push resolved first (found at the target,
//! or sent again with the same key), then the difference between what the target holds and
//! the statement sent, with the ledger written before the call (`pending`) and after it
//! (`accepted` with the target's id, or `rejected` with its message). A call whose outcome is
//! unknown stays pending, so the ledger never claims a push that did not happen.

use chrono::{DateTime, Utc};

use crate::adapters::billing::{BillingPort, Push, PushError};
use crate::adapters::storage::Sink;
use crate::contract::JSON_CONTENT_TYPE;
use crate::contract::keys::push_ledger_key;
use crate::contract::push::{ledger_bytes, read_ledger};
use crate::domain::billing::ledger::{
    Decision, Entry, Ledger, Operation, State, decide, idempotency_key,
};
use crate::domain::billing::plan::{entry, plan};
use crate::domain::billing::{Charge, StripeUnit, Target};
use crate::domain::ids::Serial;
use crate::domain::statement::Month;
use crate::error::Result;
use crate::pipeline::outcome::PushItem;

/// The stored statement a push comes from.
pub(super) struct StatementRef<'a> {
    pub program: &'a Serial,
    pub month: Month,
    pub currency: Option<&'a str>,
    pub revision: u64,
    pub sha256: &'a str,
}

fn action(d: &Decision) -> &'static str {
    match d {
        Decision::Nothing => "nothing",
        Decision::Resolve => "resolve",
        Decision::Send {
            operation: Operation::Create,
            ..
        } => "create",
        Decision::Send {
            operation: Operation::Correct | Operation::Cancel,
            ..
        } => "correct",
    }
}

/// Settles `charge` (with `apply`), or says what settling it would do.
pub(super) async fn settle(
    sink: &impl Sink,
    port: &impl BillingPort,
    st: &StatementRef<'_>,
    charge: &Charge,
    apply: bool,
    now: DateTime<Utc>,
) -> Result<PushItem> {
    let target = charge.target;
    let key = push_ledger_key(st.program, st.month, target.as_str(), &charge.item);
    let mut item = PushItem {
        target: target.as_str(),
        customer_id: charge.customer_id.clone(),
        item: charge.item.clone(),
        action: "nothing",
        value: Some(charge.value),
        unit: match &charge.stripe {
            Some(s) if s.unit == StripeUnit::Cents => "cents",
            _ => "points",
        },
        held: None,
        held_revision: None,
        target_id: None,
        done: false,
        period: None,
        warning: None,
        error: None,
        reconciliation: None,
    };
    let stored = match sink.get(&key).await? {
        Some(bytes) => match read_ledger(&bytes, &sink.location(&key)) {
            Ok(mut l) => {
                l.upgrade();
                Some(l)
            }
            Err(e) => {
                item.error = Some(e.to_string());
                return Ok(item);
            }
        },
        None => None,
    };
    let decision = decide(charge, stored.as_ref());
    item.action = action(&decision);
    describe_held(&mut item, stored.as_ref(), charge);
    if matches!(decision, Decision::Send { .. }) {
        // What would go, and into which period; a push that cannot bill the right period
        // is refused before anything is sent or written.
        match plan(charge, stored.as_ref(), st.month, now) {
            Ok(step) => {
                item.period = Some(step.period.to_string());
                item.warning = step.warning;
            }
            Err(message) => {
                item.error = Some(message);
                return Ok(item);
            }
        }
    }
    if !apply || decision == Decision::Nothing {
        return Ok(item);
    }
    if !port.has(target) {
        item.error = Some(format!(
            "{} is not set up: its credentials{} are missing",
            target.as_str(),
            if target == Target::Webhook {
                " or BILLING_WEBHOOK_URL"
            } else {
                ""
            }
        ));
        return Ok(item);
    }
    let location = sink.location(&key);
    let mut ledger =
        stored.unwrap_or_else(|| Ledger::new(st.program, &st.month.to_string(), charge));
    let mut decision = decision;
    if decision == Decision::Resolve {
        let resolved = resolve(sink, port, st, &key, &location, &mut ledger, charge, now).await?;
        if let Err(message) = resolved {
            item.error = Some(message);
            describe_held(&mut item, Some(&ledger), charge);
            return Ok(item);
        }
        decision = decide(charge, Some(&ledger));
    }
    // A Stripe correction can take two calls (cancel, then send again); each is its own
    // ledger entry, written pending before its call.
    for _ in 0..MAX_STEPS {
        if !matches!(decision, Decision::Send { .. }) {
            break;
        }
        let step = match plan(charge, Some(&ledger), st.month, now) {
            Ok(step) => step,
            Err(message) => {
                item.error = Some(message);
                break;
            }
        };
        let seq = ledger.next_seq();
        let id_key = idempotency_key(st.program, &st.month.to_string(), charge, seq);
        let pending = entry(charge, seq, &step, id_key, (st.revision, st.sha256), now);
        if let Some(w) = &step.warning {
            tracing::warn!(item = %charge.item, warning = %w, "push warning");
        }
        item.period = Some(step.period.to_string());
        item.warning = step.warning;
        ledger.entries.push(pending);
        write(sink, &key, &ledger).await?;
        let called = call(port, st, &mut ledger, charge, now).await;
        write(sink, &key, &ledger).await?;
        if let Err(message) = called {
            item.error = Some(message);
            break;
        }
        decision = decide(charge, Some(&ledger));
    }
    describe_held(&mut item, Some(&ledger), charge);
    Ok(item)
}

/// Calls one settle may make: a cancel and the event sent again, with a spare.
const MAX_STEPS: usize = 3;

/// Fills what the ledger says the target holds, and whether that is the charge.
fn describe_held(item: &mut PushItem, ledger: Option<&Ledger>, charge: &Charge) {
    let held = ledger.and_then(Ledger::held);
    item.held = held.map(|e| e.value.0);
    item.held_revision = held.map(|e| e.statement_revision);
    item.target_id = held.and_then(|e| e.target_id.clone());
    if item.period.is_none() {
        item.period = held.and_then(|e| e.period.clone());
    }
    item.done = match held {
        Some(e) => e.value.0 == charge.value,
        None => charge.value.is_zero(),
    } && ledger.and_then(Ledger::pending).is_none();
}

/// Sends the ledger's last (pending) entry and records the answer in it. `Err`: why the
/// customer is not pushed (the entry is `rejected`, or still `pending` when the answer is
/// unknown).
async fn call(
    port: &impl BillingPort,
    st: &StatementRef<'_>,
    ledger: &mut Ledger,
    charge: &Charge,
    now: DateTime<Utc>,
) -> std::result::Result<(), String> {
    let held = ledger.held().cloned();
    let last = ledger.entries.len() - 1;
    let push = Push {
        program: st.program,
        month: st.month,
        currency: st.currency,
        charge,
        entry: &ledger.entries[last],
        held: held.as_ref(),
    };
    let answer = port.send(&push).await;
    record(&mut ledger.entries[last], answer, now)
}

fn record(
    entry: &mut Entry,
    answer: std::result::Result<String, PushError>,
    now: DateTime<Utc>,
) -> std::result::Result<(), String> {
    match answer {
        Ok(id) => {
            entry.state = State::Accepted;
            entry.target_id = Some(id);
            entry.finished_at = Some(now);
            Ok(())
        }
        Err(e @ PushError::Rejected { .. }) => {
            entry.state = State::Rejected;
            entry.message = Some(e.to_string());
            entry.finished_at = Some(now);
            Err(e.to_string())
        }
        // Unknown whether it arrived: it stays pending for the next run to resolve.
        Err(e @ (PushError::Unsettled { .. } | PushError::Unanswered { .. })) => Err(format!(
            "{e}; push {} stays pending and is resolved by the next run",
            entry.seq
        )),
    }
}

/// Settles the ledger's pending entry: found at the target, or sent again with its key.
/// `Ok(Err(message))`: still not settled (or refused), and why.
#[allow(clippy::too_many_arguments)]
async fn resolve(
    sink: &impl Sink,
    port: &impl BillingPort,
    st: &StatementRef<'_>,
    key: &str,
    location: &str,
    ledger: &mut Ledger,
    charge: &Charge,
    now: DateTime<Utc>,
) -> Result<std::result::Result<(), String>> {
    let Some(pending) = ledger.pending().cloned() else {
        return Ok(Ok(()));
    };
    if let Some(window) = port.resend_window(charge.target)
        && (now - pending.started_at).to_std().unwrap_or_default() > window
    {
        return Ok(Err(format!(
            "push {} (key {}) has been pending since {}: {} no longer recognises its key, so it is not sent again; check whether it arrived, then mark it accepted or rejected in {location}",
            pending.seq,
            pending.idempotency_key,
            pending.started_at.format("%Y-%m-%d %H:%M UTC"),
            charge.target.as_str()
        )));
    }
    let held = ledger.held().cloned();
    let push = Push {
        program: st.program,
        month: st.month,
        currency: st.currency,
        charge,
        entry: &pending,
        held: held.as_ref(),
    };
    let found = match port.find(&push).await {
        Ok(found) => found,
        Err(e) => return Ok(Err(e.to_string())),
    };
    tracing::info!(item = %charge.item, seq = pending.seq, found = found.is_some(), "resolving a pending push");
    let answer = match found {
        Some(id) => Ok(id),
        None => port.send(&push).await,
    };
    let last = ledger.entries.len() - 1;
    let settled = record(&mut ledger.entries[last], answer, now);
    write(sink, key, ledger).await?;
    Ok(settled)
}

async fn write(sink: &impl Sink, key: &str, ledger: &Ledger) -> Result<()> {
    sink.put(key, ledger_bytes(ledger)?, JSON_CONTENT_TYPE)
        .await
}
