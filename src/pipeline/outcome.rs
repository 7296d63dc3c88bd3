//! What a run did, as plain typed data: per program, per report, the status, totals,
//! revision and keys. The Lambda's JSON reply, the EMF metrics and the CLI's lines are all
//! rendered from these, so the two front ends cannot tell different stories.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

use crate::domain::ids::AccountId;
use crate::domain::money::Exact;
use crate::domain::report::Report;
use crate::error::Error;

/// Decimals as JSON numbers with their exact text (`399.42`, never `399.4200001`).
fn exact<S: Serializer>(d: &Decimal, s: S) -> Result<S::Ok, S::Error> {
    Exact(*d).serialize(s)
}

fn exact_some<S: Serializer>(d: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => Exact(*d).serialize(s),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Serialize)]
pub struct RunOutcome {
    pub run_id: String,
    pub dry_run: bool,
    /// The scheduled run (the one that rewrites the statements): what the heartbeat counts,
    /// never a backfill.
    #[serde(skip)]
    pub scheduled: bool,
    /// FortiFlex API calls this run made (logins not counted).
    pub calls: u64,
    pub programs: Vec<ProgramOutcome>,
}

#[derive(Debug, Serialize)]
pub struct ProgramOutcome {
    pub program_serial_number: String,
    /// The program's own account.
    pub account_id: AccountId,
    /// Every account the program spans (the own one and each customer's).
    pub accounts: Vec<AccountId>,
    pub days: Vec<ReportOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<ReportOutcome>,
    /// The monthly statements this run rewrote or found unchanged (scheduled runs).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub statements: Vec<StatementOutcome>,
    /// The balance snapshot (scheduled runs, `--daily`, `balance`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<crate::domain::balance::Snapshot>,
    /// The alerts of each day the run wrote; the newest also carries the balance's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<crate::domain::alerts::DayAlerts>,
    /// The final months pushed to the billing systems (`PUSH_ON_FINAL`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pushes: Vec<PushOutcome>,
    /// The tie-outs the run wrote (`tieout/`), oldest month first: for the site and the
    /// console; the outcome names none of their device-days.
    #[serde(skip)]
    pub(crate) tieouts: Vec<crate::domain::tieout::TieoutFile>,
    /// Customers named from FortiCloud's organization: what the listing found, or why it
    /// could not be listed (the run went on with the customers file and the last listing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
}

/// What one push of a month did, or (a dry run) would do.
#[derive(Debug, Clone, Serialize)]
pub struct PushOutcome {
    pub month: String,
    pub status: &'static str,
    pub statement_revision: u64,
    pub applied: bool,
    /// Whether each target was read back and compared (`reconciliation` on each item).
    pub verified: bool,
    /// Where the reconciliation was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconciliation_key: Option<String>,
    pub items: Vec<PushItem>,
}

/// One customer × target (× product).
#[derive(Debug, Clone, Serialize)]
pub struct PushItem {
    pub target: &'static str,
    pub customer_id: String,
    pub item: String,
    /// `nothing` (the target holds it), `create`, `correct`, `resolve` (a pending push to
    /// settle first) or `refused`.
    pub action: &'static str,
    /// What the target should hold, in `unit`.
    #[serde(serialize_with = "exact_some")]
    pub value: Option<Decimal>,
    /// `points`, or `cents` (Stripe's default unit).
    pub unit: &'static str,
    /// What the ledger says it holds, and from which statement revision.
    #[serde(serialize_with = "exact_some")]
    pub held: Option<Decimal>,
    pub held_revision: Option<u64>,
    /// The target's id for it (after an applied push, or from the ledger).
    pub target_id: Option<String>,
    /// True once the target holds `value` (applied runs).
    pub done: bool,
    /// The billing period (`YYYY-MM`) the push bills in (what is or would be sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// What the push warned of (a negative correction a light period may floor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Why it was refused or failed: the customer, the target and the target's message.
    pub error: Option<String>,
    /// What the target holds, read back after the push (or by `push --verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reconciliation: Option<Reconciled>,
}

/// A push quantity with its unit, as people read it (`4548.60 pt`, `250173 cents`, `-`).
pub fn quantity_text(d: Option<Decimal>, unit: &str) -> String {
    match (d, unit) {
        (None, _) => "-".into(),
        (Some(d), "cents") => format!("{} cents", d.normalize()),
        (Some(d), _) => format!("{} pt", crate::domain::money::points_text(d)),
    }
}

/// One item read back from its target and compared with the statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciled {
    /// `matches`, `differs`, `missing` or `unverifiable`.
    pub status: &'static str,
    #[serde(serialize_with = "exact_some")]
    pub target_value: Option<Decimal>,
    /// Target minus statement.
    #[serde(serialize_with = "exact_some")]
    pub difference: Option<Decimal>,
    pub message: Option<String>,
    #[serde(skip)]
    pub problem: bool,
}

impl From<crate::domain::billing::reconcile::Check> for Reconciled {
    fn from(c: crate::domain::billing::reconcile::Check) -> Self {
        Reconciled {
            status: c.status.as_str(),
            target_value: c.target,
            difference: c.difference,
            message: c.message,
            problem: c.status.is_problem(),
        }
    }
}

impl PushOutcome {
    /// The run's error when any customer failed: `Billing`, naming each.
    pub fn failure(&self) -> Option<Error> {
        let failed: Vec<String> = self
            .items
            .iter()
            .filter_map(|i| {
                let differs = i.reconciliation.as_ref().filter(|r| r.problem).map(|r| {
                    format!(
                        "{} {}: {}",
                        i.item,
                        r.status,
                        r.message.as_deref().unwrap_or("")
                    )
                });
                match (&i.error, differs) {
                    (Some(e), _) => Some(format!("{} for {}: {e}", i.target, i.customer_id)),
                    (None, Some(d)) => Some(format!("{} for {}: {d}", i.target, i.customer_id)),
                    (None, None) => None,
                }
            })
            .collect();
        (!failed.is_empty()).then(|| {
            Error::Billing(format!(
                "{} of {} not pushed ({} item(s)): {}",
                self.month,
                if self.applied {
                    "the month"
                } else {
                    "a dry run"
                },
                failed.len(),
                failed.join("; ")
            ))
        })
    }
}

/// One month's statement after a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementOutcome {
    /// `YYYY-MM`.
    pub month: String,
    /// `final` or `provisional`.
    pub status: &'static str,
    pub revision: u64,
    /// False when the stored statement was already this one.
    pub written: bool,
    #[serde(serialize_with = "exact")]
    pub points: Decimal,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "exact_some")]
    pub amount: Option<Decimal>,
    pub key: String,
}

#[derive(Debug, Serialize)]
pub struct ReportOutcome {
    #[serde(flatten)]
    pub period: Period,
    /// Entitlements that consumed (rows).
    pub entitlements: usize,
    #[serde(serialize_with = "exact")]
    pub points: Decimal,
    /// The revision now current; absent in a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    pub status: Status,
    /// Why a report was kept or refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For a restatement (or a refused re-pull), what the replaced (or kept) revision held.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousOutcome>,
    /// Where the report's CSV, JSON and manifest live (written now or before).
    pub keys: Vec<String>,
    /// The built report, for front ends that print it (range reports, or every report
    /// when asked); never serialised.
    #[serde(skip)]
    pub report: Option<Report>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreviousOutcome {
    pub revision: u64,
    pub entitlements: usize,
    #[serde(serialize_with = "exact")]
    pub points: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Period {
    Day {
        date: NaiveDate,
    },
    Range {
        start_date: NaiveDate,
        end_date: NaiveDate,
        #[serde(skip_serializing_if = "Option::is_none")]
        serial_number: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        config_id: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        account_id: Option<AccountId>,
    },
}

impl Period {
    pub fn label(&self) -> String {
        match self {
            Period::Day { date } => date.to_string(),
            Period::Range {
                start_date,
                end_date,
                ..
            } => format!("{start_date}..{end_date}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Data files and then the manifest were written.
    Written,
    /// Fetched, byte-identical to the stored report: nothing written.
    Unchanged,
    /// Not fetched: stored already and outside the restatement window, or past FortiFlex's
    /// retention. The stored report stays byte for byte.
    Kept,
    /// Fetched, but it would have emptied an account the stored report had rows for: the
    /// stored report stays (force replaces it).
    Refused,
    /// Fetched and built, nothing read from or written to storage.
    DryRun,
    /// Not published: the day left FortiFlex's retention before every account of the program
    /// was fetched, so any report of it would be partial. FortiFlex can no longer be asked for
    /// it; a stored report of it stays.
    Lost,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Written => "written",
            Status::Unchanged => "unchanged",
            Status::Kept => "kept",
            Status::Refused => "refused",
            Status::DryRun => "dry_run",
            Status::Lost => "lost",
        }
    }
}

impl RunOutcome {
    /// Every report of every program, days first.
    pub fn reports(&self) -> impl Iterator<Item = (&ProgramOutcome, &ReportOutcome)> {
        self.programs
            .iter()
            .flat_map(|p| p.days.iter().chain(&p.range).map(move |r| (p, r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_carries_exact_points_dates_and_restatements() {
        let r = ReportOutcome {
            period: Period::Day {
                date: NaiveDate::from_ymd_opt(2025, 11, 8).unwrap(),
            },
            entitlements: 13,
            points: "399.42".parse().unwrap(),
            revision: Some(2),
            status: Status::Written,
            note: None,
            previous: Some(PreviousOutcome {
                revision: 1,
                entitlements: 12,
                points: "380.1".parse().unwrap(),
            }),
            keys: vec![],
            report: None,
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"date":"2025-11-08","entitlements":13,"points":399.42,"revision":2,"status":"written","previous":{"revision":1,"entitlements":12,"points":380.10},"keys":[]}"#
        );
    }
}
