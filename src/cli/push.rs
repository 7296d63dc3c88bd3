//! `fortiflex-report push`: a final month into the billing systems, one line per customer
//! and target: what would be sent (the default, a dry run) or what was, and what the ledger
//! held before.

use std::fmt::Write as _;
use std::io::Write;

use chrono::{DateTime, Utc};

use super::consumption::destination;
use super::{PushArgs, load_customers, print};
use crate::adapters::billing::{BillingCredentials, BillingTargets};
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::pipeline::outcome::{PushOutcome, quantity_text};
use crate::pipeline::push::{PushJob, push_month};

pub(super) async fn run(
    args: PushArgs,
    settings: Settings,
    now: DateTime<Utc>,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let customers = load_customers(&args.customers)?;
    let credentials = match (&args.billing_credentials, args.apply || args.verify) {
        (Some(path), _) => BillingCredentials::from_file(path)?,
        (None, false) => BillingCredentials::default(),
        (None, true) => {
            return Err(Error::Credentials(format!(
                "{} needs the billing systems' credentials: --billing-credentials FILE or BILLING_CREDENTIALS_FILE",
                if args.apply { "--apply" } else { "--verify" }
            )));
        }
    };
    let billing = &settings.billing;
    let port = BillingTargets::new(&billing.endpoints, credentials, billing.timeout)?;
    let sink = destination(&args.out).await?;
    let job = PushJob {
        program: &args.program,
        month: args.month,
        customers: &customers,
        only: &args.target,
        apply: args.apply,
        verify: args.verify,
        now,
    };
    let outcome = push_month(&sink, &port, &job).await?;
    print(out, &table(&outcome))?;
    match outcome
        .failure()
        .filter(|_| outcome.applied || outcome.verified)
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// One line per customer × target: action, value, what the ledger held, the target's id.
fn table(p: &PushOutcome) -> String {
    let mut o = String::new();
    let mode = match (p.applied, p.verified) {
        (true, _) => "applied",
        (false, true) => "verify: nothing is sent",
        (false, false) => "dry run: nothing is sent or recorded; add --apply to push",
    };
    let _ = writeln!(
        o,
        "PUSH {} ({}, statement revision {}) - {mode}\n",
        p.month, p.status, p.statement_revision
    );
    let _ = writeln!(
        o,
        "{:<12} {:<34} {:<8} {:>16} {:>22} {:>9}  Target id",
        "Target", "Item", "Action", "Value", "Held (revision)", "Billed in"
    );
    let value = quantity_text;
    for i in &p.items {
        let held = match (i.held, i.held_revision) {
            (Some(h), Some(r)) => format!("{} (r{r})", value(Some(h), i.unit)),
            _ => "-".into(),
        };
        let item: String = i.item.chars().take(34).collect();
        let _ = writeln!(
            o,
            "{:<12} {:<34} {:<8} {:>16} {:>22} {:>9}  {}",
            i.target,
            item,
            i.action,
            value(i.value, i.unit),
            held,
            i.period.as_deref().unwrap_or("-"),
            i.target_id.as_deref().unwrap_or("-")
        );
        if let Some(e) = &i.error {
            let _ = writeln!(
                o,
                "    {}: {e}",
                if p.applied { "FAILED" } else { "REFUSED" }
            );
        }
        if let Some(w) = &i.warning {
            let _ = writeln!(o, "    WARNING: {w}");
        }
        if let Some(r) = &i.reconciliation {
            let target = value(r.target_value, i.unit);
            let _ = writeln!(
                o,
                "    {}: target holds {target}{}",
                r.status.to_uppercase(),
                r.message
                    .as_deref()
                    .map(|m| format!(" - {m}"))
                    .unwrap_or_default()
            );
        }
    }
    let failed = p.items.iter().filter(|i| i.error.is_some()).count();
    let reconciled = |s: &str| {
        p.items
            .iter()
            .filter(|i| i.reconciliation.as_ref().is_some_and(|r| r.status == s))
            .count()
    };
    let differing = reconciled("differs") + reconciled("missing");
    let held = p.items.iter().filter(|i| i.action == "nothing").count();
    let to_send = p.items.len() - failed - held;
    let _ = writeln!(o);
    if p.applied {
        let pushed = p
            .items
            .iter()
            .filter(|i| i.done && i.action != "nothing")
            .count();
        let status = if failed + differing == 0 {
            "[SUCCESS]"
        } else {
            "[FAILED]"
        };
        let _ = writeln!(
            o,
            "{status} {pushed} pushed, {held} already held, {failed} failed"
        );
    } else if !p.verified {
        let _ = writeln!(
            o,
            "[DRY RUN] {to_send} to send, {held} already held, {failed} refused"
        );
    }
    if p.verified {
        let status = if differing == 0 {
            "[RECONCILED]"
        } else {
            "[DIFFERS]"
        };
        let _ = writeln!(
            o,
            "{status} {} match, {} differ, {} missing, {} unverifiable{}",
            reconciled("matches"),
            reconciled("differs"),
            reconciled("missing"),
            reconciled("unverifiable"),
            p.reconciliation_key
                .as_deref()
                .map(|k| format!(" - {k}"))
                .unwrap_or_default()
        );
    }
    o
}
