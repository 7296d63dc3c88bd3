//! The console report, laid out like the partner walkthrough's: header, table sorted by
//! points, GRAND TOTAL and the per-day average. Pure text; the CLI prints it.

use std::fmt::Write;

use crate::publish::{Outcome, Published};
use crate::report::{Report, display2, points_text};

const WIDTH: usize = 96;

/// What the report is called in its banner.
pub fn title(report: &Report, label: &str) -> String {
    let scope = match &report.spec.serial_filter {
        Some(s) => s.clone(),
        None => "ALL ENTITLEMENTS".into(),
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

/// The whole console report for `report`, and where it was written.
pub fn summary(report: &Report, label: &str, published: Option<(&Published, String)>) -> String {
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
        for r in &report.rows {
            let config = match (&r.config_name, r.config_id) {
                (Some(name), Some(id)) => format!("{name} ({id})"),
                (None, Some(id)) => id.to_string(),
                (Some(name), None) => name.clone(),
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
    if let Some((p, location)) = published {
        match p.outcome {
            Outcome::Written => {
                let _ = writeln!(
                    o,
                    "\n[SUCCESS] Report written (revision {}): {location}",
                    p.revision
                );
            }
            Outcome::Unchanged => {
                let _ = writeln!(
                    o,
                    "\n[SUCCESS] Report unchanged (revision {}), nothing written: {location}",
                    p.revision
                );
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::walkthrough_day;

    #[test]
    fn prints_the_walkthrough_layout() {
        let r = walkthrough_day("2025-11-08");
        let text = summary(&r, "2025-11-08", None);
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
    }
}
