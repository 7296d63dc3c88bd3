//! CloudWatch metrics as Embedded Metric Format log lines: printed to stdout, turned into
//! metrics by CloudWatch Logs, no API call and no extra permission. The stack's heartbeat
//! alarm watches `SuccessfulRuns`; `Points` and `Rows` chart each published day.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::summary::{Period, RunOutcome, Status};

/// The namespace the template's alarms read.
pub const NAMESPACE: &str = "FortiFlexReporter";

fn line(function: &str, now: DateTime<Utc>, metrics: &[(&str, &str)], values: Value) -> String {
    let mut doc = json!({
        "_aws": {
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Function"]],
                "Metrics": metrics
                    .iter()
                    .map(|(name, unit)| json!({"Name": name, "Unit": unit}))
                    .collect::<Vec<_>>(),
            }],
        },
        "Function": function,
    });
    if let (Some(doc), Value::Object(values)) = (doc.as_object_mut(), values) {
        doc.extend(values);
    }
    doc.to_string()
}

/// The EMF lines for a successful invocation: one per daily report (points and rows), then
/// `SuccessfulRuns` = 1 with the reports written and the re-pulls refused (a stored report
/// kept because FortiFlex answered emptier: worth an alarm). A dry run publishes nothing,
/// so it emits nothing: it must not silence the heartbeat.
pub fn emf_lines(function: &str, outcome: &RunOutcome, now: DateTime<Utc>) -> Vec<String> {
    if outcome.dry_run {
        return vec![];
    }
    let mut lines = Vec::new();
    for (program, day) in outcome.reports() {
        let Period::Day { date } = &day.period else {
            continue;
        };
        let points: Value =
            serde_json::from_str(&crate::report::points_text(day.points)).unwrap_or(Value::Null);
        lines.push(line(
            function,
            now,
            &[("Points", "None"), ("Rows", "Count")],
            json!({
                "date": date.to_string(),
                "program": program.program_serial_number,
                "status": day.status.as_str(),
                "Points": points,
                "Rows": day.entitlements,
            }),
        ));
    }
    let count = |status| {
        outcome
            .reports()
            .filter(|(_, r)| r.status == status)
            .count()
    };
    lines.push(line(
        function,
        now,
        &[
            ("SuccessfulRuns", "Count"),
            ("ReportsWritten", "Count"),
            ("RefusedRepulls", "Count"),
            ("FortiFlexCalls", "Count"),
        ],
        json!({
            "SuccessfulRuns": 1,
            "ReportsWritten": count(Status::Written),
            "RefusedRepulls": count(Status::Refused),
            "FortiFlexCalls": outcome.calls,
            "run_id": outcome.run_id,
        }),
    ));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::AccountId;
    use crate::summary::{ProgramOutcome, ReportOutcome};

    fn summary(dry_run: bool) -> RunOutcome {
        let day = |date: &str, status| ReportOutcome {
            period: Period::Day {
                date: date.parse().unwrap(),
            },
            entitlements: 13,
            points: "399.42".parse().unwrap(),
            revision: Some(1),
            status,
            note: None,
            previous: None,
            keys: vec![],
            report: None,
        };
        RunOutcome {
            run_id: "r-1".into(),
            dry_run,
            calls: 7,
            programs: vec![ProgramOutcome {
                program_serial_number: "ELAVMS0000123456".into(),
                account_id: AccountId(2321234),
                accounts: vec![AccountId(2321234)],
                days: vec![
                    day("2025-11-08", Status::Written),
                    day("2025-11-07", Status::Refused),
                ],
                range: None,
                statements: vec![],
            }],
        }
    }

    #[test]
    fn each_day_and_the_run_become_emf_lines() {
        let now = DateTime::parse_from_rfc3339("2025-11-09T14:00:05Z")
            .unwrap()
            .to_utc();
        let lines = emf_lines("fortiflex-reporter", &summary(false), now);
        assert_eq!(lines.len(), 3);
        let first: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(first["_aws"]["Timestamp"], json!(1762696805000_i64));
        assert_eq!(
            first["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            json!(NAMESPACE)
        );
        assert_eq!(
            first["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"]])
        );
        assert_eq!(
            (
                first["Function"].clone(),
                first["date"].clone(),
                first["Points"].clone(),
                first["Rows"].clone()
            ),
            (
                json!("fortiflex-reporter"),
                json!("2025-11-08"),
                json!(399.42),
                json!(13)
            )
        );
        let run: Value = serde_json::from_str(&lines[2]).unwrap();
        assert_eq!(
            (
                run["SuccessfulRuns"].clone(),
                run["ReportsWritten"].clone(),
                run["RefusedRepulls"].clone(),
                run["FortiFlexCalls"].clone()
            ),
            (json!(1), json!(1), json!(1), json!(7))
        );
        // Every metric a line declares is present as a value on it.
        for l in &lines {
            let v: Value = serde_json::from_str(l).unwrap();
            for m in v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
            {
                assert!(v[m["Name"].as_str().unwrap()].is_number(), "{l}");
            }
        }
    }

    #[test]
    fn a_dry_run_emits_no_heartbeat() {
        assert!(emf_lines("f", &summary(true), Utc::now()).is_empty());
    }
}
