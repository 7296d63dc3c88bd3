//! A whole MSSP program over real HTTP: the walkthrough's devices spread over the partner's
//! and two customer accounts, a second (postpaid) program, FortiFlex's retention.

use crate::support;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use fortiflex_reporter::adapters::credentials::Credentials;
use fortiflex_reporter::adapters::fortiflex::{
    Endpoints, HttpFortiFlex, Limits, Pacer, RetryPolicy, http_client,
};
use fortiflex_reporter::adapters::storage::{MemorySink, Sink};
use fortiflex_reporter::domain::ids::AccountId;
use fortiflex_reporter::domain::money::points_text;
use fortiflex_reporter::domain::window::DayRange;
use fortiflex_reporter::pipeline::outcome::{RunOutcome, Status};
use fortiflex_reporter::pipeline::progress::Silent;
use fortiflex_reporter::pipeline::{Context, Request, run};
use fortiflex_reporter::sim::{
    CUSTOMER_A, CUSTOMER_B, Dataset, Fault, FaultKind, PARTNER, POSTPAID_PROGRAM, RunningSim,
    SimOptions,
};
use serde_json::{Value, json};

const PROGRAM: &str = "ELAVMS0000123456";

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

async fn mssp(extra: u32) -> RunningSim {
    support::simulator_at(Dataset::mssp(extra), "2025-11-09").await
}

fn ctx(now: &str) -> Context {
    support::run_context(at(now))
}

async fn run_as(
    sim: &RunningSim,
    creds: &Credentials,
    sink: &impl Sink,
    request: &Request,
    now: &str,
) -> fortiflex_reporter::Result<RunOutcome> {
    let api = HttpFortiFlex::new(
        http_client(Duration::from_secs(10)).unwrap(),
        Endpoints::new(&sim.api_url(), &sim.auth_url()).unwrap(),
        creds,
        Arc::new(Pacer::new(Limits::default())),
        RetryPolicy {
            attempts: 2,
            base: Duration::from_millis(5),
            max_delay: Duration::from_millis(10),
            budget: Duration::from_secs(1),
        },
    );
    run(&api, sink, creds, request, &ctx(now), &Silent).await
}

/// A run with the simulator's own credentials at noon on 2025-11-09, Pacific.
async fn run_at_noon(
    sim: &RunningSim,
    sink: &impl Sink,
    request: &Request,
) -> fortiflex_reporter::Result<RunOutcome> {
    run_as(
        sim,
        &sim.credentials(),
        sink,
        request,
        "2025-11-09T20:00:00Z",
    )
    .await
}

fn json_of(sink: &MemorySink, key: &str) -> Value {
    serde_json::from_slice(&sink.object(key).unwrap().0).unwrap()
}

#[tokio::test]
async fn every_account_of_the_program_is_reported_with_its_subtotal() {
    let sim = mssp(0).await;
    let sink = MemorySink::new();
    let week = DayRange::new(d("2025-11-02"), d("2025-11-08")).unwrap();
    let request = Request {
        daily: week.days().collect(),
        range: Some(week),
        ..Request::default()
    };
    let outcome = run_at_noon(&sim, &sink, &request).await.unwrap();
    let program = &outcome.programs[0];
    assert_eq!(
        program.accounts,
        [PARTNER, CUSTOMER_A, CUSTOMER_B].map(AccountId)
    );
    let range = program.range.as_ref().unwrap();
    assert_eq!(
        (range.entitlements, points_text(range.points)),
        (13, "2795.94".into())
    );

    let report = json_of(
        &sink,
        &format!("ranges/consumption_{PROGRAM}_2025-11-02_2025-11-08.json"),
    );
    assert_eq!(
        report["totals"]["accounts"],
        json!([
            {"account_id": PARTNER, "entitlements": 3, "points": 1478.75},
            {"account_id": CUSTOMER_A, "entitlements": 8, "points": 1196.37},
            {"account_id": CUSTOMER_B, "entitlements": 2, "points": 120.82},
        ])
    );
    assert_eq!(
        report["account_id"],
        json!(PARTNER),
        "the program's own account"
    );
    // Every row carries its own account.
    let rows = report["consumption"]["entitlements"].as_array().unwrap();
    let account_of = |serial: &str| {
        rows.iter()
            .find(|r| r["serialNumber"] == json!(serial))
            .unwrap()["accountId"]
            .clone()
    };
    assert_eq!(account_of("FMVMMLTM00000582"), json!(PARTNER));
    assert_eq!(account_of("FGT71FTK22000471"), json!(CUSTOMER_A));
    assert_eq!(account_of("FEMSPO8800000387"), json!(CUSTOMER_B));
    let csv = String::from_utf8(
        sink.object(&format!(
            "ranges/consumption_{PROGRAM}_2025-11-02_2025-11-08.csv"
        ))
        .unwrap()
        .0,
    )
    .unwrap();
    assert!(
        csv.contains(&format!(",{PROGRAM},{CUSTOMER_B},FEMSPO8800000387,4104,")),
        "{csv}"
    );

    // The daily reports likewise: 399.42 a day in three subtotals.
    assert_eq!(program.days.len(), 7);
    for day in week.days() {
        let m = json_of(
            &sink,
            &format!("daily/manifests/dt={day}/consumption_{PROGRAM}_{day}.manifest.json"),
        );
        assert_eq!(m["totals"]["points"], json!(399.42), "{day}");
        assert_eq!(
            m["totals"]["accounts"],
            json!([
                {"account_id": PARTNER, "entitlements": 3, "points": 211.25},
                {"account_id": CUSTOMER_A, "entitlements": 8, "points": 170.91},
                {"account_id": CUSTOMER_B, "entitlements": 2, "points": 17.26},
            ])
        );
        assert_eq!(
            m["source"]["accounts"],
            json!([PARTNER, CUSTOMER_A, CUSTOMER_B])
        );
    }
    // configs/list once, entitlements/list and one points call per account per report.
    assert_eq!(outcome.calls, 1 + 3 + 3 * 7 + 3);
}

#[tokio::test]
async fn one_account_gets_its_own_range_report() {
    let sim = mssp(0).await;
    let sink = MemorySink::new();
    let request = Request {
        range: Some(DayRange::new(d("2025-11-02"), d("2025-11-08")).unwrap()),
        account_filter: Some(AccountId(CUSTOMER_A)),
        ..Request::default()
    };
    let outcome = run_at_noon(&sim, &sink, &request).await.unwrap();
    let range = outcome.programs[0].range.as_ref().unwrap();
    assert_eq!(
        (range.entitlements, points_text(range.points)),
        (8, "1196.37".into())
    );
    let key =
        format!("ranges/consumption_{PROGRAM}_2025-11-02_2025-11-08_account-{CUSTOMER_A}.json");
    let report = json_of(&sink, &key);
    assert_eq!(report["account_filter"], json!(CUSTOMER_A));
    assert_eq!(
        outcome.calls,
        1 + 1 + 1,
        "configs, one account's list and points"
    );

    let request = Request {
        account_filter: Some(AccountId(4_242_424)),
        ..request
    };
    let err = run_at_noon(&sim, &sink, &request).await.unwrap_err();
    assert_eq!(err.kind(), "InvalidRequest");
    assert!(
        err.to_string()
            .contains("account 4242424 is not an account"),
        "{err}"
    );
}

#[tokio::test]
async fn credentials_without_a_program_report_every_program() {
    let sim = mssp(0).await;
    let sink = MemorySink::new();
    let mut creds = sim.credentials();
    creds.program_serial = None;
    creds.account_id = None;
    let request = Request {
        daily: vec![d("2025-11-08")],
        ..Request::default()
    };
    let outcome = run_as(&sim, &creds, &sink, &request, "2025-11-09T20:00:00Z")
        .await
        .unwrap();
    let programs: Vec<(&str, String)> = outcome
        .programs
        .iter()
        .map(|p| {
            (
                p.program_serial_number.as_str(),
                points_text(p.days[0].points),
            )
        })
        .collect();
    assert_eq!(
        programs,
        vec![
            (PROGRAM, "399.42".into()),
            (POSTPAID_PROGRAM, "8.50".into())
        ]
    );
    for program in [PROGRAM, POSTPAID_PROGRAM] {
        let key =
            format!("daily/manifests/dt=2025-11-08/consumption_{program}_2025-11-08.manifest.json");
        assert_eq!(json_of(&sink, &key)["program_serial"], json!(program));
    }
}

#[tokio::test]
async fn a_failure_on_any_account_fails_the_report() {
    let sim = mssp(0).await;
    let sink = MemorySink::new();
    // configs/list, three entitlements/list, then the second account's points fail.
    sim.inject(Fault::once(FaultKind::Http(400)).after(1 + 3 + 1));
    let request = Request {
        daily: vec![d("2025-11-08")],
        ..Request::default()
    };
    let err = run_at_noon(&sim, &sink, &request).await.unwrap_err();
    assert_eq!(err.kind(), "FortiFlex");
    assert!(
        err.to_string().contains(&format!(
            "daily report 2025-11-08 failed; nothing was written: account {CUSTOMER_A}"
        )),
        "{err}"
    );
    assert!(
        sink.puts().is_empty(),
        "no partial report: {:?}",
        sink.puts()
    );
}

#[tokio::test]
async fn retention_keeps_stored_history_and_refuses_what_is_gone() {
    let sim = mssp(0).await;
    let sink = MemorySink::new();
    let creds = sim.credentials();
    let day = Request {
        daily: vec![d("2025-11-08")],
        ..Request::default()
    };
    run_as(&sim, &creds, &sink, &day, "2025-11-09T20:00:00Z")
        .await
        .unwrap();
    let csv_key = format!("daily/csv/dt=2025-11-08/consumption_{PROGRAM}_2025-11-08.csv");
    let stored = sink.object(&csv_key).unwrap().0;

    // A hundred days later FortiFlex no longer holds the 8th: a re-run (even forced) keeps
    // the stored report byte for byte and fetches nothing for it.
    let later = "2026-02-20T20:00:00Z";
    let calls = sim.calls();
    let forced = Request {
        force: true,
        ..day.clone()
    };
    let outcome = run_as(&sim, &creds, &sink, &forced, later).await.unwrap();
    let kept = &outcome.programs[0].days[0];
    assert_eq!((kept.status, kept.revision), (Status::Kept, Some(1)));
    assert_eq!(points_text(kept.points), "399.42");
    assert!(
        kept.note
            .as_deref()
            .unwrap()
            .contains("beyond FortiFlex's retention")
    );
    assert_eq!(sim.calls() - calls, 1, "configs/list only, no points call");
    assert_eq!(sink.object(&csv_key).unwrap().0, stored);
    assert_eq!(
        sink.puts().len(),
        3 + 2,
        "nothing rewritten (the report and its rollup)"
    );

    // A missing day past retention, and a range reaching past it: refused before any call.
    let calls = sim.calls();
    for request in [
        Request {
            daily: vec![d("2025-11-07")],
            ..Request::default()
        },
        Request {
            range: Some(DayRange::new(d("2025-11-01"), d("2025-12-01")).unwrap()),
            ..Request::default()
        },
    ] {
        let err = run_as(&sim, &creds, &sink, &request, later)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "InvalidRequest");
        let msg = err.to_string();
        assert!(
            msg.contains("past FortiFlex's 90-day retention")
                && msg.contains("the oldest day still available is 2025-11-22"),
            "{msg}"
        );
    }
    assert_eq!(sim.calls(), calls, "refused before any call");
}

/// The benchmark's shape at a test's size: the scale tenant's 1,000 extra entitlements over
/// real HTTP, joined, totalled and written; `make bench` runs the same at 100,000.
#[tokio::test]
async fn a_thousand_entitlements_report_whole_and_exact() {
    let opts = SimOptions {
        today: Some(d("2025-11-09")),
        ..SimOptions::default()
    };
    let sim = support::start_sim(Dataset::scale(1000), opts).await;
    let sink = MemorySink::new();
    let week = DayRange::new(d("2025-11-02"), d("2025-11-08")).unwrap();
    let request = Request {
        range: Some(week),
        ..Request::default()
    };
    let out = run_as(
        &sim,
        &sim.credentials(),
        &sink,
        &request,
        "2025-11-09T14:00:00Z",
    )
    .await
    .unwrap();
    let range = out.programs[0].range.as_ref().unwrap();
    assert_eq!(range.entitlements, 13 + 1000);
    // Independently: the walkthrough's week plus seven days of each synthetic rate.
    let synthetic: rust_decimal::Decimal = (0..1000u64)
        .map(|i| rust_decimal::Decimal::new(100 + (i * 7_919 % 10_000) as i64, 2))
        .sum();
    let expected = rust_decimal::Decimal::from_str_exact("2795.94").unwrap()
        + synthetic * rust_decimal::Decimal::from(7);
    assert_eq!(range.points, expected);
    let csv_key = sink
        .puts()
        .into_iter()
        .find(|k| k.starts_with("ranges/") && k.ends_with(".csv"))
        .unwrap();
    let (csv, _) = sink.object(&csv_key).unwrap();
    assert_eq!(csv.iter().filter(|b| **b == b'\n').count(), 1 + 1013);
}

#[tokio::test]
async fn a_day_that_ages_out_during_a_direct_run_is_lost_never_published_partial() {
    // FortiFlex's today is 9 November: it holds 11 August until the Pacific midnight, 08:00
    // UTC on the 10th, and the reporter stops asking ten minutes before.
    let sim = mssp(0).await;
    let day = Request {
        daily: vec![d("2025-08-11")],
        ..Request::default()
    };
    // At noon the day is whole: the calls before its first points call are discovery.
    let whole = run_at_noon(&sim, &MemorySink::new(), &day).await.unwrap();
    assert_eq!(whole.programs[0].days[0].status, Status::Written);
    let log = sim.call_log();
    let first_points = log
        .iter()
        .position(|c| c.call == "entitlements/points")
        .unwrap();

    // A second before the cut-off, each points answer taking two seconds: the first account
    // is asked in time, the next ones would be asked past it.
    let calls = sim.calls();
    sim.inject(Fault {
        kind: FaultKind::Delay(Duration::from_secs(2)),
        after: first_points as u32,
        times: None,
    });
    let sink = MemorySink::new();
    let late = run_as(
        &sim,
        &sim.credentials(),
        &sink,
        &day,
        "2025-11-10T07:49:59Z",
    )
    .await
    .unwrap();
    let lost = &late.programs[0].days[0];
    assert_eq!(lost.status, Status::Lost, "{lost:?}");
    assert!(
        lost.note
            .as_deref()
            .unwrap()
            .contains("left FortiFlex's 90-day retention"),
        "{lost:?}"
    );
    assert_eq!(lost.revision, None);
    assert!(
        sink.puts().iter().all(|k| !k.contains("2025-08-11")),
        "nothing of the day written: {:?}",
        sink.puts()
    );
    let asked = sim.call_log()[log.len()..]
        .iter()
        .filter(|c| c.call == "entitlements/points")
        .count();
    assert_eq!(
        asked,
        1,
        "only the account asked in time ({} calls)",
        sim.calls() - calls
    );
}
