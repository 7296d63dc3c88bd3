//! The push ledger of one target, customer (and product) and month: every push, written
//! `pending` before the call and `accepted` (with the target's id) or `rejected` after it.
//! What the target holds is the last accepted entry's value; [`decide`] compares it with
//! the statement's charge, so a re-run sends nothing already accepted and a restated month
//! sends only the correction.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Charge;
use crate::domain::money::Exact;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum State {
    /// Written before the call: the call may or may not have reached the target.
    Pending,
    Accepted,
    /// The target refused it (a 4xx): it holds nothing of this entry.
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Operation {
    /// The month's first push to the target.
    Create,
    /// A restated final month: the target's value moved to the new one.
    Correct,
    /// Stripe: the item's events cancelled (within 24 hours of their receipt), so a
    /// correction goes out as one new event instead of a difference; the target holds 0.
    Cancel,
}

/// One push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub seq: u32,
    pub state: State,
    pub operation: Operation,
    /// The statement revision it came from, and its manifest's SHA-256.
    pub statement_revision: u64,
    pub statement_sha256: String,
    pub points: Exact,
    pub unit_price: Option<Exact>,
    pub amount: Option<Exact>,
    /// The value the target holds once this entry is accepted.
    pub value: Exact,
    /// What was sent: the value, or for Stripe's correcting event the difference.
    pub sent: Exact,
    /// The key that makes a resend harmless (Stripe's `identifier`, the webhook's
    /// `Idempotency-Key`, ConnectWise's marker in the addition's invoice description).
    pub idempotency_key: String,
    /// The target's id for it (ConnectWise's addition id, Stripe's identifier, the
    /// receiver's delivery id).
    pub target_id: Option<String>,
    /// The target's message when it refused.
    pub message: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The billing period (`YYYY-MM`) it bills in; `None` in ledgers written before
    /// `bill_in` (their month's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// Stripe: the meter event's `timestamp` (`started_at` in older ledgers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<DateTime<Utc>>,
    /// ConnectWise: the addition this entry changes in place (a `PATCH`); `None`: it
    /// creates one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updates: Option<String>,
    /// Stripe: the identifiers of the events this `Cancel` entry cancels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cancels: Vec<String>,
    /// What the push warned of (a negative correction that a light period may floor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl Entry {
    /// The billing period it bills in (the usage month for entries older than `bill_in`).
    pub(crate) fn period_or(
        &self,
        usage: crate::domain::statement::Month,
    ) -> crate::domain::statement::Month {
        self.period
            .as_deref()
            .and_then(|p| crate::domain::statement::Month::parse(p).ok())
            .unwrap_or(usage)
    }

    /// Stripe's timestamp of its event.
    pub(crate) fn event_time(&self) -> DateTime<Utc> {
        self.event_time.unwrap_or(self.started_at)
    }
}

/// Every push of one item, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Ledger {
    pub schema_version: u32,
    pub program_serial: String,
    pub month: String,
    pub target: String,
    pub customer_id: String,
    pub item: String,
    pub entries: Vec<Entry>,
}

impl Ledger {
    pub(crate) fn new(program: &str, month: &str, charge: &Charge) -> Self {
        Ledger {
            schema_version: 1,
            program_serial: program.to_string(),
            month: month.to_string(),
            target: charge.target.as_str().to_string(),
            customer_id: charge.customer_id.clone(),
            item: charge.item.clone(),
            entries: Vec::new(),
        }
    }

    /// The last accepted entry: what the target holds.
    pub(crate) fn held(&self) -> Option<&Entry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.state == State::Accepted)
    }

    /// The last entry, when it is still pending (a run that ended between call and ledger).
    pub(crate) fn pending(&self) -> Option<&Entry> {
        self.entries.last().filter(|e| e.state == State::Pending)
    }

    pub(crate) fn next_seq(&self) -> u32 {
        self.entries.last().map_or(1, |e| e.seq + 1)
    }

    /// The accepted entries whose record the target still holds: every accepted push
    /// since the last accepted `Cancel` (Stripe's live events; ConnectWise's additions).
    pub(crate) fn live(&self) -> Vec<&Entry> {
        let accepted = self.entries.iter().filter(|e| e.state == State::Accepted);
        let mut live = Vec::new();
        for e in accepted {
            match e.operation {
                Operation::Cancel => live.clear(),
                _ => live.push(e),
            }
        }
        live
    }

    /// Reads a ledger written before entries named their call: a ConnectWise correction
    /// then always replaced the held addition's quantity in place (its `sent` was the whole
    /// value), so a pending one is marked as that update and is never resent as a create.
    pub(crate) fn upgrade(&mut self) {
        if self.target != super::Target::ConnectWise.as_str() {
            return;
        }
        let mut held: Option<String> = None;
        for e in &mut self.entries {
            if e.period.is_none() && e.operation == Operation::Correct && e.updates.is_none() {
                e.updates = held.clone();
            }
            if e.state == State::Accepted {
                held = e.target_id.clone();
            }
        }
    }

    /// Every key this item's pushes carried (what a target's records are matched by).
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.idempotency_key.as_str())
    }
}

/// What is left to do for one charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The target holds the charge's value already (or there is nothing to bill).
    Nothing,
    /// A pending entry to settle first: find it at the target or send it again, same key.
    Resolve,
    /// Send the charge: `Create` the first time, `Correct` from `held` after a restatement.
    Send {
        operation: Operation,
        held: Option<Decimal>,
    },
}

/// What `ledger` (none yet: `None`) says is left to do for `charge`.
pub(crate) fn decide(charge: &Charge, ledger: Option<&Ledger>) -> Decision {
    if ledger.and_then(Ledger::pending).is_some() {
        return Decision::Resolve;
    }
    match ledger.and_then(Ledger::held) {
        Some(held) if held.value.0 == charge.value && same_price(held, charge) => Decision::Nothing,
        Some(held) => Decision::Send {
            operation: Operation::Correct,
            held: Some(held.value.0),
        },
        // Nothing billed and nothing to bill: no zero-quantity addition or event.
        None if charge.value.is_zero() => Decision::Nothing,
        None => Decision::Send {
            operation: Operation::Create,
            held: None,
        },
    }
}

/// Whether the target's price is the charge's: ConnectWise and the webhook carry the unit
/// price; a Stripe meter event carries only its value.
fn same_price(held: &Entry, charge: &Charge) -> bool {
    charge.target == super::Target::Stripe || held.unit_price.map(|p| p.0) == charge.unit_price
}

/// The idempotency key of push `seq` of `charge`: the same for a resend, new for the next
/// push. Within Stripe's 100 characters whatever the customer id.
pub(crate) fn idempotency_key(program: &str, month: &str, charge: &Charge, seq: u32) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!(
        "{program}|{month}|{}|{}|{seq}",
        charge.target.as_str(),
        charge.item
    ));
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("ffr-{month}-{seq}-{hex}")
}
