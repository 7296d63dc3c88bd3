//! `fortiflex-report statement`: a month's statement from the stored daily reports, and one
//! line per customer on the console.

use std::fmt::Write as _;
use std::io::Write;

use chrono::{DateTime, Utc};

use super::consumption::destination;
use super::{StatementArgs, load_customers, print};
use crate::adapters::storage::Sink;
use crate::config::Settings;
use crate::domain::money::{display2, points_text};
use crate::error::{Error, Result};
use crate::pipeline::statements::{Published, StatementJob, publish_statement};

pub(super) async fn run(
    args: StatementArgs,
    settings: Settings,
    now: DateTime<Utc>,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let file = args.customers.as_deref().map(load_customers).transpose()?;
    let sink = destination(&args.out).await?;
    // Named from the organization's listing kept under `--out`, when the file asks.
    let customers =
        crate::pipeline::organizations::named(&sink, file, settings.organizations).await?;
    let ctx = settings.context(now, uuid::Uuid::new_v4().to_string());
    let job = StatementJob::new(&args.program, args.month, customers.as_ref(), &ctx);
    let published = publish_statement(&sink, &job).await?.ok_or_else(|| {
        Error::InvalidRequest(format!(
            "no stored daily report of {} under {}",
            args.month,
            args.out.display()
        ))
    })?;
    print(out, &table(&published, &sink.location(&published.keys.csv)))
}

/// One line per customer (customer, accounts, entitlements, points, amount), then the total.
fn table(p: &Published, csv_at: &str) -> String {
    let s = &p.statement;
    let currency = s.currency.as_deref().unwrap_or("");
    let money = |a: Option<rust_decimal::Decimal>| {
        a.map_or_else(
            || "-".to_string(),
            |a| format!("{} {currency}", display2(a)),
        )
    };
    let mut o = String::new();
    let _ = writeln!(o, "STATEMENT {} ({})\n", s.month, s.status.as_str());
    // With a price book, the partner's cost and margin after the amount.
    let margins = |cost: Option<rust_decimal::Decimal>, margin| match s.book {
        true => format!(" {:>16} {:>16}", money(cost), money(margin)),
        false => String::new(),
    };
    let _ = writeln!(
        o,
        "{:<28} {:<24} {:>12} {:>16} {:>18}{}",
        "Customer",
        "Accounts",
        "Entitlements",
        "Points",
        "Amount",
        match s.book {
            true => format!(" {:>16} {:>16}", "Cost", "Margin"),
            false => String::new(),
        }
    );
    for c in &s.customers {
        let accounts: Vec<String> = c.accounts.iter().map(|a| a.to_string()).collect();
        let name: String = c
            .name
            .chars()
            .filter(|ch| !ch.is_control())
            .take(28)
            .collect();
        let _ = writeln!(
            o,
            "{:<28} {:<24} {:>12} {:>16} {:>18}{}",
            name,
            accounts.join(","),
            c.entitlements,
            points_text(c.points),
            money(c.amount),
            margins(c.cost, c.margin())
        );
    }
    let _ = writeln!(o, "{}", "=".repeat(102));
    let entitlements: usize = s.customers.iter().map(|c| c.entitlements).sum();
    let _ = writeln!(
        o,
        "{:<28} {:<24} {:>12} {:>16} {:>18}{}",
        "TOTAL",
        "",
        entitlements,
        points_text(s.points),
        money(s.amount),
        margins(s.cost, s.margin())
    );
    if !s.missing_days.is_empty() {
        let days: Vec<String> = s.missing_days.iter().map(|d| d.to_string()).collect();
        let _ = writeln!(o, "\nMissing days ({}): {}", days.len(), days.join(", "));
    }
    let what = if p.written {
        format!("written (revision {})", p.revision)
    } else {
        format!("unchanged (revision {})", p.revision)
    };
    let _ = writeln!(o, "\n[SUCCESS] Statement {what}: {csv_at}");
    o
}
