//! The bytes of a push: the ledger objects under `pushes/` and the webhook's JSON body
//! (`docs/output-contract.md`, "Billing pushes"). In the webhook body every decimal is a
//! string, so a receiver in any language reads it without a float.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use super::{SCHEMA_VERSION, to_json};
use crate::domain::billing::Charge;
use crate::domain::billing::ledger::{Entry, Ledger};
use crate::domain::money::{Exact, points_text};
use crate::error::{Error, Result};

/// A ledger as stored.
pub(crate) fn ledger_bytes(ledger: &Ledger) -> Result<Vec<u8>> {
    to_json(ledger)
}

/// A stored ledger read back; `origin` names it when it cannot be read (it is never
/// overwritten then: a ledger is what prevents a double charge).
pub(crate) fn read_ledger(bytes: &[u8], origin: &str) -> Result<Ledger> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::Storage(format!(
            "the push ledger {origin} is unreadable ({e}); nothing is pushed for it until it is mended"
        ))
    })
}

/// The reconciliation document of one month: each pushed item read back from its target
/// (`docs/output-contract.md`, "Reconciliation").
#[derive(Serialize)]
struct Reconciliation<'a> {
    schema_version: u32,
    program_serial: &'a str,
    month: &'a str,
    statement_revision: u64,
    statement_sha256: &'a str,
    checked_at: String,
    /// How many lines are in each status.
    matches: usize,
    differs: usize,
    missing: usize,
    unverifiable: usize,
    lines: &'a [ReconciliationLine<'a>],
}

/// Which month and statement a reconciliation checks, and when.
pub(crate) struct ReconciliationHead<'a> {
    pub program: &'a str,
    pub month: &'a str,
    pub statement_revision: u64,
    pub statement_sha256: &'a str,
    pub checked_at: DateTime<Utc>,
}

/// One customer × target (× product) read back.
#[derive(Serialize)]
pub(crate) struct ReconciliationLine<'a> {
    pub customer_id: &'a str,
    pub target: &'a str,
    pub item: &'a str,
    /// `points` or `cents`.
    pub unit: &'a str,
    /// The billing period the push bills in.
    pub billing_period: Option<&'a str>,
    pub statement_quantity: Option<Exact>,
    pub target_quantity: Option<Exact>,
    /// Target minus statement.
    pub difference: Option<Exact>,
    /// `matches`, `differs`, `missing` or `unverifiable`.
    pub status: &'a str,
    pub message: Option<&'a str>,
}

/// The reconciliation as stored.
pub(crate) fn reconciliation_bytes(
    head: &ReconciliationHead<'_>,
    lines: &[ReconciliationLine<'_>],
) -> Result<Vec<u8>> {
    let count = |s: &str| lines.iter().filter(|l| l.status == s).count();
    to_json(&Reconciliation {
        schema_version: SCHEMA_VERSION,
        program_serial: head.program,
        month: head.month,
        statement_revision: head.statement_revision,
        statement_sha256: head.statement_sha256,
        checked_at: head.checked_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        matches: count("matches"),
        differs: count("differs"),
        missing: count("missing"),
        unverifiable: count("unverifiable"),
        lines,
    })
}

#[derive(Serialize)]
struct Body<'a> {
    schema_version: u32,
    event: &'static str,
    idempotency_key: &'a str,
    program_serial: &'a str,
    month: &'a str,
    customer: Customer<'a>,
    /// 1 for the month's first push, then one more per correction.
    revision: u32,
    operation: &'static str,
    statement_revision: u64,
    statement_sha256: &'a str,
    /// The billing period (`YYYY-MM`) the customer's `bill_in` puts the month in.
    billing_period: Option<&'a str>,
    currency: Option<&'a str>,
    points: String,
    price_per_point: Option<String>,
    amount: Option<String>,
    /// What the previous accepted push said, on a correction.
    previous: Option<Previous>,
    /// When this push was first sent (a resend keeps it).
    sent_at: String,
}

#[derive(Serialize)]
struct Customer<'a> {
    id: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct Previous {
    revision: u32,
    points: String,
    amount: Option<String>,
}

fn text(d: Decimal) -> String {
    points_text(d)
}

/// The webhook's body for `entry` of `charge`; `previous` is the entry it corrects. A resend
/// of the same entry is byte-identical (its time is the entry's start).
pub(crate) fn webhook_body(
    program: &str,
    month: &str,
    currency: Option<&str>,
    charge: &Charge,
    entry: &Entry,
    previous: Option<&Entry>,
) -> Result<Vec<u8>> {
    let operation = match entry.operation {
        crate::domain::billing::ledger::Operation::Create => "create",
        crate::domain::billing::ledger::Operation::Correct => "correct",
        crate::domain::billing::ledger::Operation::Cancel => "cancel",
    };
    to_json(&Body {
        schema_version: SCHEMA_VERSION,
        event: "fortiflex.month.final",
        idempotency_key: &entry.idempotency_key,
        program_serial: program,
        month,
        customer: Customer {
            id: &charge.customer_id,
            name: &charge.customer_name,
        },
        revision: entry.seq,
        operation,
        statement_revision: entry.statement_revision,
        statement_sha256: &entry.statement_sha256,
        billing_period: entry.period.as_deref(),
        currency,
        points: text(charge.points),
        price_per_point: charge.unit_price.map(text),
        amount: charge.amount.map(crate::domain::money::display2),
        previous: previous.map(|p| Previous {
            revision: p.seq,
            points: text(p.points.0),
            amount: p.amount.map(|a| crate::domain::money::display2(a.0)),
        }),
        sent_at: entry.started_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    })
}
