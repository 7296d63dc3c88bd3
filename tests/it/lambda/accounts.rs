//! The Lambda handler, wired as in AWS, on an MSSP program over moto: the call budget of a
//! steady-state scheduled run, and a re-pull that would empty stored days.

use std::time::Duration;

use crate::support::{Aws, CREDENTIALS, daily_keys, lambda_env, moto, simulator};
use chrono::{DateTime, Utc};
use fortiflex_reporter::adapters::fortiflex::Limits;
use fortiflex_reporter::adapters::secrets::SecretsManager;
use fortiflex_reporter::adapters::storage::S3Sink;
use fortiflex_reporter::config::LambdaSettings;
use fortiflex_reporter::domain::money::points_text;
use fortiflex_reporter::lambda::handler::Handler;
use fortiflex_reporter::lambda::metrics::emf_lines;
use fortiflex_reporter::pipeline::outcome::Status;
use fortiflex_reporter::sim::{Dataset, RunningSim};
use rust_decimal::Decimal;
use serde_json::{Value, json};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn handler(aws: &Aws, sim: &RunningSim) -> Handler<SecretsManager, S3Sink> {
    Handler::for_aws(settings(aws, sim), &aws.config).unwrap()
}

fn settings(aws: &Aws, sim: &RunningSim) -> LambdaSettings {
    let env = lambda_env(moto(), aws, sim);
    LambdaSettings::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .unwrap()
}

/// The handler without client-side pacing: the simulator has no limits, and these tests
/// count calls rather than wait for them.
fn unpaced(aws: &Aws, sim: &RunningSim) -> Handler<SecretsManager, S3Sink> {
    let mut s = settings(aws, sim);
    s.settings.limits = Limits::new(100_000, 100_000);
    Handler::for_aws(s, &aws.config).unwrap()
}

/// EventBridge's scheduled event at 06:00 PST on `day`.
fn scheduled(day: &str) -> Value {
    json!({"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": format!("{day}T14:00:00Z"), "region": "us-east-1",
        "resources": [], "detail": {}})
}

const LAMBDA_TIME: Option<Duration> = Some(Duration::from_secs(900));

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_steady_state_run_over_33_accounts_costs_three_calls_per_account_plus_three_and_its_rates()
 {
    let aws = Aws::new(true).await;
    aws.put_secret(CREDENTIALS).await;
    let sim = simulator(Dataset::mssp(30)).await;
    let h = unpaced(&aws, &sim);

    // The first run fills yesterday and the two days before it.
    let first = h
        .handle_within(
            scheduled("2025-11-09"),
            at("2025-11-09T14:00:05Z"),
            "r1",
            LAMBDA_TIME,
        )
        .await
        .unwrap();
    let program = &first.programs[0];
    assert_eq!(program.accounts.len(), 33);
    assert!(program.days.iter().all(|d| d.status == Status::Written));
    // The walkthrough's 399.42 plus thirty synthetic accounts at 10.00.
    assert_eq!(points_text(program.days[0].points), "699.42");
    let m: Value =
        serde_json::from_slice(&aws.object(&daily_keys("2025-11-08")[2]).await.0).unwrap();
    assert_eq!(m["totals"]["accounts"].as_array().unwrap().len(), 33);

    // The next day: yesterday is new, the two restated days are stored and unchanged.
    let before = sim.calls();
    let next = h
        .handle_within(
            scheduled("2025-11-10"),
            at("2025-11-10T14:00:05Z"),
            "r2",
            LAMBDA_TIME,
        )
        .await
        .unwrap();
    let spent = sim.calls() - before;
    let accounts = 33;
    // One tools/calc per distinct parameter set, not per account: the walkthrough's eight
    // and the one all thirty synthetic tenants share.
    let rates = 9;
    assert!(spent <= 3 * accounts + 5 + rates, "{spent} calls");
    // programs/list and configs/list, then per account: entitlements/list, yesterday's
    // points and one range call checking the restated days; then programs/points and the
    // rates (the product names were read the day before and are cached for a week).
    assert_eq!(spent, 2 + 3 * accounts + 1 + rates);
    assert_eq!(next.calls, spent);
    let statuses: Vec<(String, Status)> = next.programs[0]
        .days
        .iter()
        .map(|d| (d.period.label(), d.status))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("2025-11-09".to_string(), Status::Written),
            ("2025-11-08".to_string(), Status::Unchanged),
            ("2025-11-07".to_string(), Status::Unchanged),
        ]
    );
    // Four days of daily reports and their rollups, November's statement (CSV, JSON,
    // workbook, manifest and, without a customers file, one CSV per account) and its carried
    // lines, two runs' balance and rate snapshots, the product names, November's tie-out
    // (rewritten by the second run) and the alerts of the four days written; the site: its
    // index and a statement page per account.
    assert_eq!(
        aws.keys().await.len() as u64,
        4 * (3 + 2) + 4 + accounts + 1 + 2 + 2 + 1 + 2 + 4 + 1 + accounts
    );
    let statements = &next.programs[0].statements;
    assert_eq!(statements.len(), 1);
    let s = &statements[0];
    assert_eq!(
        (s.month.as_str(), s.status, s.revision, s.written),
        ("2025-11", "provisional", 2, true)
    );
    assert_eq!(s.amount, None, "no customers file, no prices");
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_run_that_cannot_fit_one_invocation_says_so_before_any_account_call() {
    let aws = Aws::new(true).await;
    aws.put_secret(CREDENTIALS).await;
    let sim = simulator(Dataset::mssp(30)).await;
    // Thirty days of 33 accounts: about a thousand calls, more than the hour allows.
    let err = handler(&aws, &sim)
        .handle_within(
            json!({"start_date": "2025-10-01", "end_date": "2025-10-30"}),
            at("2025-11-20T12:00:00Z"),
            "big",
            LAMBDA_TIME,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "Budget");
    let msg = err.to_string();
    assert!(msg.contains("needs 1023 FortiFlex call(s)"), "{msg}");
    assert!(msg.contains("up to 315 accounts"), "{msg}");
    assert_eq!(sim.calls(), 2, "programs/list and configs/list only");
    assert!(aws.keys().await.is_empty());
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn an_empty_re_pull_is_refused_and_counted() {
    let aws = Aws::new(true).await;
    aws.put_secret(CREDENTIALS).await;
    let sim = simulator(Dataset::mssp(0)).await;
    let day = json!({"date": "2025-11-08"});
    let now = at("2025-11-09T20:00:00Z");
    handler(&aws, &sim)
        .handle(day.clone(), now, "r1")
        .await
        .unwrap();
    let stored = aws.object(&daily_keys("2025-11-08")[0]).await.0;

    // FortiFlex now answers nothing for the day (the way it answers days it forgot).
    let mut gone = Dataset::mssp(0);
    for e in &mut gone.programs[0].entitlements {
        e.daily = Decimal::ZERO;
    }
    let sim = simulator(gone).await;
    let outcome = handler(&aws, &sim).handle(day, now, "r2").await.unwrap();
    let refused = &outcome.programs[0].days[0];
    assert_eq!(
        (refused.status, refused.revision),
        (Status::Refused, Some(1))
    );
    assert!(
        refused
            .note
            .as_deref()
            .unwrap()
            .contains("13 row(s) and FortiFlex now answers none"),
        "{:?}",
        refused.note
    );
    let reply = serde_json::to_value(&outcome).unwrap();
    assert_eq!(reply["programs"][0]["days"][0]["status"], json!("refused"));
    assert_eq!(aws.object(&daily_keys("2025-11-08")[0]).await.0, stored);
    let run_line: Value =
        serde_json::from_str(emf_lines("f", &outcome, now).last().unwrap()).unwrap();
    assert_eq!(run_line["RefusedRepulls"], json!(1));

    // Forced, the empty answer replaces it as revision 2.
    let forced = handler(&aws, &sim)
        .handle(json!({"date": "2025-11-08", "force": true}), now, "r3")
        .await
        .unwrap();
    let day = &forced.programs[0].days[0];
    assert_eq!(
        (day.status, day.revision, day.entitlements),
        (Status::Written, Some(2), 0)
    );
}
