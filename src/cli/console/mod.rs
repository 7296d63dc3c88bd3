//! The console report, laid out like the partner walkthrough's: header, table sorted by
//! points, GRAND TOTAL and the per-day average. Pure text; the CLI prints it.

pub(crate) mod watch;

use std::fmt::Write;

use rust_decimal::Decimal;

use crate::domain::money::{display2, points_text};
use crate::domain::report::Report;
use crate::pipeline::outcome::{ReportOutcome, Status};

const WIDTH: usize = 96;

/// Rows a table shows unless asked for all: the biggest consumers. A 100,000-entitlement
/// program would otherwise print megabytes nobody reads; the CSV holds every row.
pub(crate) const TOP_ROWS: usize = 50;

/// The rows to print (`limit`: `None` for all) and the line saying what was left out.
fn shown(
    rows: &[crate::domain::report::Row],
    limit: Option<usize>,
) -> (&[crate::domain::report::Row], Option<String>) {
    match limit {
        Some(n) if rows.len() > n => (
            &rows[..n],
            Some(format!(
                "... and {} more (see the CSV, or --all)",
                rows.len() - n
            )),
        ),
        _ => (rows, None),
    }
}

/// What the report is called in its banner.
pub(crate) fn title(report: &Report, label: &str) -> String {
    let scope = match &report.spec.serial_filter {
        Some(s) => s.as_str(),
        None => "ALL ENTITLEMENTS",
    };
    format!("CONSUMPTION REPORT - {scope} - {label}")
}

fn cut(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(width - 1).collect();
        t.push('~');
        t
    }
}

/// The whole console report for `report`, and what publishing it did; `limit` rows at most
/// (`None`: all).
pub(crate) fn summary(
    report: &Report,
    label: &str,
    published: Option<&ReportOutcome>,
    limit: Option<usize>,
) -> String {
    let spec = &report.spec;
    let rule = "=".repeat(WIDTH);
    let thin = "-".repeat(WIDTH);
    let mut o = String::new();
    let _ = writeln!(o, "{rule}\n{}\n{rule}\n", title(report, label));
    let days = spec.range.len_days();
    let _ = writeln!(
        o,
        "Date Range: {} to {} ({} day{}, {}, both dates included)",
        spec.range.start(),
        spec.range.end(),
        days,
        if days == 1 { "" } else { "s" },
        spec.timezone.name()
    );
    let _ = writeln!(o, "Program:    {}", spec.program_serial);
    let _ = writeln!(o, "Account ID: {}", spec.account_id);
    if let Some(s) = &spec.serial_filter {
        let _ = writeln!(o, "Serial Number Filter: {s}");
    }
    o.push('\n');
    if report.rows.is_empty() {
        match &spec.serial_filter {
            Some(s) => {
                let _ = writeln!(o, "[INFO] No consumption data found for serial number: {s}");
                let _ = writeln!(
                    o,
                    "       Either this device hasn't consumed points, or the serial number is incorrect."
                );
                let _ = writeln!(
                    o,
                    "       Run without --serial to see all consuming devices; check it is ACTIVE (not PENDING or STOPPED)."
                );
            }
            None => {
                let _ = writeln!(
                    o,
                    "[INFO] No consumption for {} to {}: FortiFlex answered successfully with no rows.",
                    spec.range.start(),
                    spec.range.end()
                );
                let _ = writeln!(
                    o,
                    "       Entitlements may be PENDING, devices may not have checked in with FortiCloud,"
                );
                let _ = writeln!(
                    o,
                    "       or the range may be before they were activated. Try a longer range (--days 30)."
                );
            }
        }
    } else {
        let _ = writeln!(
            o,
            "[SUCCESS] Retrieved consumption data for {} entitlement(s)\n",
            report.rows.len()
        );
        let _ = writeln!(
            o,
            "{:<18}  {:<28}  {:<26}  {:>16}",
            "Serial Number", "Config", "Product", "Total Points"
        );
        let _ = writeln!(o, "{thin}");
        let (rows, more) = shown(&report.rows, limit);
        for r in rows {
            let config = match (&r.config_name, r.config_id) {
                (Some(name), Some(id)) => format!("{name} ({id})"),
                (None, Some(id)) => id.to_string(),
                (Some(name), None) => name.to_string(),
                (None, None) => "N/A".into(),
            };
            let product = r.product_type.as_deref().unwrap_or("N/A");
            let _ = writeln!(
                o,
                "{:<18}  {:<28}  {:<26}  {:>16}",
                cut(&r.serial_number, 18),
                cut(&config, 28),
                cut(product, 26),
                points_text(r.points)
            );
        }
        if let Some(more) = more {
            let _ = writeln!(o, "{more}");
        }
        let _ = writeln!(o, "{thin}");
    }
    let _ = writeln!(o, "{:<78}{:>18}", "GRAND TOTAL", points_text(report.total));
    let _ = writeln!(
        o,
        "{:<78}{:>18}",
        "Average per day",
        display2(report.per_day())
    );
    let _ = writeln!(o, "{rule}");
    accounts(&mut o, report);
    if let Some(p) = published {
        let location = p.keys.first().map_or("", String::as_str);
        let revision = p.revision.unwrap_or(0);
        let _ = match p.status {
            Status::Written => writeln!(
                o,
                "\n[SUCCESS] Report written (revision {revision}{}): {location}",
                restated(p)
            ),
            Status::Unchanged => writeln!(
                o,
                "\n[SUCCESS] Report unchanged (revision {revision}), nothing written: {location}"
            ),
            Status::Kept | Status::Refused => writeln!(
                o,
                "\n[WARNING] Stored report kept (revision {revision}): {}: {location}",
                p.note.as_deref().unwrap_or("")
            ),
            Status::DryRun => writeln!(o, "\n[INFO] Dry run: nothing written"),
            Status::Lost => writeln!(
                o,
                "\n[ERROR] Day lost, nothing written: {}",
                p.note.as_deref().unwrap_or("")
            ),
        };
    }
    o
}

/// The per-account table under the grand total: which customer consumed what.
fn accounts(o: &mut String, report: &Report) {
    let days = Decimal::from(report.spec.range.len_days());
    let _ = writeln!(
        o,
        "{:<30}  {:>14}  {:>22}  {:>22}",
        "Account", "Entitlements", "Points", "Per Day"
    );
    for a in report.account_totals() {
        let name = if a.account_id == report.spec.account_id {
            format!("{} (program)", a.account_id)
        } else {
            a.account_id.to_string()
        };
        let _ = writeln!(
            o,
            "{:<30}  {:>14}  {:>22}  {:>22}",
            name,
            a.entitlements,
            points_text(a.points),
            display2(a.points / days)
        );
    }
    let _ = writeln!(o, "{}", "=".repeat(WIDTH));
}

/// ", restated from 399.42 points (13 entitlements)" for a revision that replaced another.
fn restated(o: &ReportOutcome) -> String {
    match &o.previous {
        Some(p) if o.status == Status::Written => format!(
            ", restated: r{} {} points ({} entitlements) -> r{} {} points ({} entitlements)",
            p.revision,
            points_text(p.points),
            p.entitlements,
            o.revision.unwrap_or(0),
            points_text(o.points),
            o.entitlements
        ),
        _ => String::new(),
    }
}

/// One line per report of a run: what it holds and what happened to it.
pub(crate) fn report_line(o: &ReportOutcome) -> String {
    let kind = match o.period {
        crate::pipeline::outcome::Period::Day { .. } => "daily",
        crate::pipeline::outcome::Period::Range { .. } => "range",
    };
    let revision = o.revision.map_or(String::new(), |r| format!(" r{r}"));
    let what = match o.status {
        Status::Written => format!("written{revision}{}", restated(o)),
        Status::Unchanged => format!("unchanged{revision}"),
        Status::Kept | Status::Refused | Status::Lost => format!(
            "{}{revision}: {}",
            o.status.as_str(),
            o.note.as_deref().unwrap_or("")
        ),
        Status::DryRun => "dry run".to_string(),
    };
    format!(
        "{kind} {}: {} points, {what} ({})",
        o.period.label(),
        points_text(o.points),
        o.keys.last().map_or("", String::as_str)
    )
}

/// Consumption rates and projections, as in the walkthrough's "Key Metrics" and rates table:
/// per day, per 30 days and per 365 days for each entitlement and the program, and, given an
/// annual `commitment`, the share of it this range used and the run-rate against it. Exact
/// decimals throughout; only the printed values are rounded, to two places.
pub(crate) fn rates(report: &Report, commitment: Option<Decimal>, limit: Option<usize>) -> String {
    let days = Decimal::from(report.spec.range.len_days());
    let (d30, d365) = (Decimal::from(30), Decimal::from(365));
    let rule = "=".repeat(WIDTH);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "\nCONSUMPTION RATES (from {} day(s); exact, shown to 2 places)",
        days
    );
    let _ = writeln!(
        o,
        "{:<18}  {:<26}  {:>14}  {:>14}  {:>14}",
        "Serial Number", "Product", "Per Day", "30 Days", "365 Days"
    );
    let _ = writeln!(o, "{}", "-".repeat(WIDTH));
    let (rows, more) = shown(&report.rows, limit);
    for r in rows {
        let per_day = r.points / days;
        let _ = writeln!(
            o,
            "{:<18}  {:<26}  {:>14}  {:>14}  {:>14}",
            cut(&r.serial_number, 18),
            cut(r.product_type.as_deref().unwrap_or("N/A"), 26),
            display2(per_day),
            display2(per_day * d30),
            display2(per_day * d365)
        );
    }
    if let Some(more) = more {
        let _ = writeln!(o, "{more}");
    }
    let per_day = report.per_day();
    let _ = writeln!(
        o,
        "{:<46}  {:>14}  {:>14}  {:>14}",
        "PROGRAM",
        display2(per_day),
        display2(per_day * d30),
        display2(per_day * d365)
    );
    if let Some(c) = commitment.filter(|c| *c > Decimal::ZERO) {
        let hundred = Decimal::from(100);
        let _ = writeln!(
            o,
            "\nCommitment:        {} points/year = {} points/month",
            display2(c),
            display2(c / Decimal::from(12))
        );
        let _ = writeln!(
            o,
            "Used in range:     {} points = {}% of the annual commitment ({} day(s))",
            points_text(report.total),
            display2(report.total / c * hundred),
            days
        );
        let _ = writeln!(
            o,
            "Run-rate:          {} points/year = {}% of the commitment",
            display2(per_day * d365),
            display2(per_day * d365 / c * hundred)
        );
    }
    let _ = writeln!(o, "{rule}");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::walkthrough_day;

    #[test]
    fn rates_project_the_walkthroughs_numbers() {
        let r = walkthrough_day("2025-11-08");
        let text = rates(&r, Some(Decimal::from(50_000)), Some(TOP_ROWS));
        let program = text.lines().find(|l| l.starts_with("PROGRAM")).unwrap();
        assert!(
            program.contains("399.42")
                && program.contains("11982.60")
                && program.ends_with("145788.30"),
            "{program}"
        );
        let fmg = text
            .lines()
            .find(|l| l.starts_with("FMVMMLTM00000582"))
            .unwrap();
        assert!(
            fmg.contains("107.20") && fmg.contains("3216.00") && fmg.ends_with("39128.00"),
            "{fmg}"
        );
        assert!(
            text.contains("50000.00 points/year = 4166.67 points/month"),
            "{text}"
        );
        assert!(
            text.contains("399.42 points = 0.80% of the annual commitment"),
            "{text}"
        );
        assert!(
            text.contains("145788.30 points/year = 291.58% of the commitment"),
            "{text}"
        );
        assert!(!rates(&r, None, None).contains("Commitment"));
    }

    #[test]
    fn prints_the_walkthrough_layout() {
        let r = walkthrough_day("2025-11-08");
        let text = summary(&r, "2025-11-08", None, Some(TOP_ROWS));
        assert!(!text.contains("more (see the CSV"), "13 rows fit");
        // Past the limit, the biggest consumers and a line for the rest; totals unchanged.
        let top = summary(&r, "2025-11-08", None, Some(2));
        assert!(top.contains("FMVMMLTM00000663") && !top.contains("FGVMMLTM00000993"));
        assert!(
            top.contains("... and 11 more (see the CSV, or --all)"),
            "{top}"
        );
        assert!(
            top.lines()
                .any(|l| l.starts_with("GRAND TOTAL") && l.ends_with(" 399.42"))
        );
        assert!(rates(&r, None, Some(2)).contains("... and 11 more"));
        assert!(text.contains("CONSUMPTION REPORT - ALL ENTITLEMENTS - 2025-11-08"));
        assert!(text.contains("Date Range: 2025-11-08 to 2025-11-08 (1 day, America/Los_Angeles"));
        assert!(text.contains("[SUCCESS] Retrieved consumption data for 13 entitlement(s)"));
        let total = text.lines().find(|l| l.starts_with("GRAND TOTAL")).unwrap();
        assert!(total.ends_with(" 399.42"), "{total}");
        let first = text
            .lines()
            .find(|l| l.starts_with("FMVMMLTM00000582"))
            .unwrap();
        assert!(
            first.contains("MSSP FMG (4101)") && first.ends_with("107.20"),
            "{first}"
        );
        let account = text
            .lines()
            .find(|l| l.starts_with("2321234 (program)"))
            .unwrap();
        assert!(
            account.contains(" 13 ") && account.contains("399.42"),
            "{account}"
        );
    }

    #[test]
    fn a_restated_day_shows_old_and_new_totals() {
        let o = ReportOutcome {
            period: crate::pipeline::outcome::Period::Day {
                date: "2025-11-07".parse().unwrap(),
            },
            entitlements: 13,
            points: "410.00".parse().unwrap(),
            revision: Some(2),
            status: Status::Written,
            note: None,
            previous: Some(crate::pipeline::outcome::PreviousOutcome {
                revision: 1,
                entitlements: 12,
                points: "399.42".parse().unwrap(),
            }),
            keys: vec!["m.json".into()],
            report: None,
        };
        assert_eq!(
            report_line(&o),
            "daily 2025-11-07: 410.00 points, written r2, restated: r1 399.42 points (12 entitlements) -> r2 410.00 points (13 entitlements) (m.json)"
        );
    }
}
