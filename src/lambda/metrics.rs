//! CloudWatch metrics as Embedded Metric Format log lines: printed to stdout, turned into
//! metrics by CloudWatch Logs, no API call and no extra permission. The stack's heartbeat
//! alarm watches `SuccessfulRuns`; `DailyPoints` and `Rows` chart each published day;
//! `BalancePoints`, `RunwayDays` and `Alerts` (by `Kind`) feed the balance and alert alarms;
//! `BillingDifferences` and `BillingFailures` the billing alarm.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::pipeline::outcome::{Period, ProgramOutcome, RunOutcome, Status};

/// The namespace the template's alarms read.
pub const NAMESPACE: &str = "FortiFlexReporter";

fn line(function: &str, now: DateTime<Utc>, metrics: &[(&str, &str)], values: Value) -> String {
    dimensioned(function, now, json!([["Function"]]), metrics, values)
}

fn dimensioned(
    function: &str,
    now: DateTime<Utc>,
    dimensions: Value,
    metrics: &[(&str, &str)],
    values: Value,
) -> String {
    let mut doc = json!({
        "_aws": {
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
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
/// `SuccessfulRuns` = 1 (and `ScheduledRunsSucceeded` = 1 for the scheduled run: the
/// heartbeat, which a backfill must not feed) with the reports written, the re-pulls refused (a stored report
/// kept because FortiFlex answered emptier: worth an alarm) and the days lost (aged out of
/// FortiFlex's retention mid-job: never published, worth an alarm). A dry run publishes nothing,
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
        let points: Value = serde_json::from_str(&crate::domain::money::points_text(day.points))
            .unwrap_or(Value::Null);
        lines.push(line(
            function,
            now,
            &[("DailyPoints", "None"), ("Rows", "Count")],
            json!({
                "date": date.to_string(),
                "program": program.program_serial_number,
                "status": day.status.as_str(),
                "DailyPoints": points,
                "Rows": day.entitlements,
            }),
        ));
    }
    for program in &outcome.programs {
        watched(function, now, program, &mut lines);
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
            ("ScheduledRunsSucceeded", "Count"),
            ("ReportsWritten", "Count"),
            ("RefusedRepulls", "Count"),
            ("LostDays", "Count"),
            ("FortiFlexCalls", "Count"),
        ],
        json!({
            "SuccessfulRuns": 1,
            "ScheduledRunsSucceeded": u8::from(outcome.scheduled),
            "ReportsWritten": count(Status::Written),
            "RefusedRepulls": count(Status::Refused),
            "LostDays": count(Status::Lost),
            "FortiFlexCalls": outcome.calls,
            "run_id": outcome.run_id,
        }),
    ));
    lines
}

/// The push's line, when the run pushed any month: `BillingDifferences`, the items whose
/// target holds other than the statement (`differs` or `missing` after the read-back), and
/// `BillingFailures`, the items not pushed. Both feed the template's billing alarm.
pub fn push_line(function: &str, outcome: &RunOutcome, now: DateTime<Utc>) -> Option<String> {
    let pushes: Vec<_> = outcome.programs.iter().flat_map(|p| &p.pushes).collect();
    if pushes.is_empty() {
        return None;
    }
    let items = || pushes.iter().flat_map(|p| &p.items);
    let differences = items()
        .filter(|i| i.reconciliation.as_ref().is_some_and(|r| r.problem))
        .count();
    let failures = items().filter(|i| i.error.is_some()).count();
    let months: Vec<&str> = pushes.iter().map(|p| p.month.as_str()).collect();
    Some(line(
        function,
        now,
        &[
            ("BillingDifferences", "Count"),
            ("BillingFailures", "Count"),
        ],
        json!({"months": months, "BillingDifferences": differences, "BillingFailures": failures}),
    ))
}

/// A watching run's lines: `BalancePoints` and `RunwayDays` per program (when known), and
/// `Alerts` per kind (with and without the `Kind` dimension: the alarm reads the total), or
/// one `Alerts` = 0 so the metric reports every run.
fn watched(function: &str, now: DateTime<Utc>, program: &ProgramOutcome, lines: &mut Vec<String>) {
    let Some(b) = &program.balance else {
        return;
    };
    let serial = &program.program_serial_number;
    let mut metrics = Vec::new();
    let mut values = json!({"program": serial, "as_of": b.as_of.to_string()});
    if let Some(balance) = b.balance {
        metrics.push(("BalancePoints", "None"));
        values["BalancePoints"] =
            serde_json::from_str(&crate::domain::money::points_text(balance.0))
                .unwrap_or(Value::Null);
    }
    if let Some(days) = b.runway_days {
        metrics.push(("RunwayDays", "Count"));
        values["RunwayDays"] = json!(days);
    }
    if !metrics.is_empty() {
        lines.push(line(function, now, &metrics, values));
    }
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for a in program.alerts.iter().flat_map(|d| &d.alerts) {
        *kinds.entry(a.kind.as_str()).or_default() += 1;
    }
    if kinds.is_empty() {
        lines.push(line(
            function,
            now,
            &[("Alerts", "Count")],
            json!({"program": serial, "Alerts": 0}),
        ));
    }
    for (kind, n) in kinds {
        lines.push(dimensioned(
            function,
            now,
            json!([["Function"], ["Function", "Kind"]]),
            &[("Alerts", "Count")],
            json!({"program": serial, "Kind": kind, "Alerts": n}),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::AccountId;
    use crate::pipeline::outcome::{ProgramOutcome, ReportOutcome};

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
            scheduled: false,
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
                balance: None,
                alerts: vec![],
                pushes: Vec::new(),
                tieouts: Vec::new(),
                organization: None,
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
                first["DailyPoints"].clone(),
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
    fn balance_runway_and_alerts_by_kind_become_emf_lines() {
        use crate::domain::alerts::{Alert, DayAlerts, Kind};
        use crate::domain::balance::{Inputs, ProgramType, snapshot};
        let now = Utc::now();
        let as_of = "2025-11-09".parse().unwrap();
        let daily = (1..=7)
            .map(|k| (as_of - chrono::Days::new(k), "399.42".parse().unwrap()))
            .collect();
        let mut outcome = summary(false);
        let program = &mut outcome.programs[0];
        program.balance = Some(snapshot(&Inputs {
            program_serial: "ELAVMS0000123456",
            program_type: ProgramType::Prepaid,
            as_of,
            balance: Some("41234.56".parse().unwrap()),
            daily: &daily,
            previous: None,
            program_start: None,
            program_end: None,
            commitment: None,
        }));
        let alert = |kind| Alert {
            kind,
            serial_number: None,
            account_id: None,
            customer_id: None,
            points: None,
            baseline: None,
            message: String::new(),
        };
        program.alerts = vec![DayAlerts {
            program_serial: "ELAVMS0000123456".into(),
            date: "2025-11-08".parse().unwrap(),
            alerts: vec![
                alert(Kind::Spike),
                alert(Kind::Spike),
                alert(Kind::IdleCharged),
            ],
        }];
        let lines: Vec<Value> = emf_lines("f", &outcome, now)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let balance = lines.iter().find(|l| l["RunwayDays"].is_number()).unwrap();
        assert_eq!(
            (
                balance["BalancePoints"].clone(),
                balance["RunwayDays"].clone()
            ),
            (json!(41234.56), json!(103))
        );
        let by_kind: Vec<(Value, Value)> = lines
            .iter()
            .filter(|l| l["Alerts"].is_number())
            .map(|l| (l["Kind"].clone(), l["Alerts"].clone()))
            .collect();
        assert_eq!(
            by_kind,
            vec![
                (json!("idle_charged"), json!(1)),
                (json!("spike"), json!(2))
            ]
        );
        let spike = lines.iter().find(|l| l["Kind"] == json!("spike")).unwrap();
        assert_eq!(
            spike["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Function"], ["Function", "Kind"]])
        );

        // A watching run without alerts still reports Alerts = 0.
        outcome.programs[0].alerts.clear();
        let quiet: Vec<Value> = emf_lines("f", &outcome, now)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|l: &Value| l["Alerts"].is_number())
            .collect();
        assert_eq!(quiet.len(), 1);
        assert_eq!(quiet[0]["Alerts"], json!(0));
    }

    #[test]
    fn a_dry_run_emits_no_heartbeat() {
        assert!(emf_lines("f", &summary(true), Utc::now()).is_empty());
    }

    #[test]
    fn only_the_scheduled_run_feeds_the_heartbeat() {
        let beat = |scheduled| {
            let mut run = summary(false);
            run.scheduled = scheduled;
            let lines = emf_lines("f", &run, Utc::now());
            let last: Value = serde_json::from_str(lines.last().unwrap()).unwrap();
            last["ScheduledRunsSucceeded"].clone()
        };
        assert_eq!(beat(true), json!(1));
        assert_eq!(beat(false), json!(0), "a backfill is no heartbeat");
    }

    #[test]
    fn a_push_reports_its_differences_and_failures() {
        use crate::pipeline::outcome::{PushItem, PushOutcome, Reconciled};
        let now = Utc::now();
        let mut outcome = summary(false);
        assert_eq!(push_line("f", &outcome, now), None, "no push, no line");
        let item = |status: &'static str, problem: bool, error: Option<&str>| PushItem {
            target: "connectwise",
            customer_id: "acme".into(),
            item: "acme_product-1".into(),
            action: "nothing",
            value: None,
            unit: "points",
            held: None,
            held_revision: None,
            target_id: None,
            done: true,
            period: Some("2025-12".into()),
            warning: None,
            error: error.map(str::to_string),
            reconciliation: Some(Reconciled {
                status,
                target_value: None,
                difference: None,
                message: None,
                problem,
            }),
        };
        outcome.programs[0].pushes.push(PushOutcome {
            month: "2025-11".into(),
            status: "final",
            statement_revision: 1,
            applied: true,
            verified: true,
            reconciliation_key: None,
            items: vec![
                item("matches", false, None),
                item("differs", true, None),
                item("missing", true, Some("ConnectWise answered HTTP 400")),
                item("unverifiable", false, None),
            ],
        });
        let line: Value = serde_json::from_str(&push_line("f", &outcome, now).unwrap()).unwrap();
        assert_eq!(line["BillingDifferences"], json!(2));
        assert_eq!(line["BillingFailures"], json!(1));
        assert_eq!(line["months"], json!(["2025-11"]));
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            json!("BillingDifferences")
        );
    }
}
