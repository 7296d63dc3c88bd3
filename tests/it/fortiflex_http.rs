//! The real FortiFlex client against the project's simulator over loopback HTTP.

use crate::support;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use fortiflex_reporter::adapters::credentials::{Credentials, Secret};
use fortiflex_reporter::adapters::fortiflex::{
    Endpoints, EntitlementQuery, FortiFlexApi, HttpFortiFlex, Limits, Pacer, PointsQuery,
    RateQuery, RetryPolicy, http_client,
};
use fortiflex_reporter::adapters::storage::{LocalDir, MemorySink};
use fortiflex_reporter::domain::ids::AccountId;
use fortiflex_reporter::domain::ids::Serial;
use fortiflex_reporter::domain::money::points_text;
use fortiflex_reporter::domain::report::Report;
use fortiflex_reporter::domain::window::{DayRange, EndDateMode};
use fortiflex_reporter::pipeline::discovery::discover;
use fortiflex_reporter::pipeline::outcome::{RunOutcome, Status};
use fortiflex_reporter::pipeline::progress::Silent;
use fortiflex_reporter::pipeline::{Context, Request, run};
use fortiflex_reporter::sim::{Dataset, RunningSim, SimOptions};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn simulator(end_date: EndDateMode) -> RunningSim {
    let opts = SimOptions {
        today: Some(d("2025-11-09")),
        end_date,
        ..SimOptions::default()
    };
    support::start_sim(Dataset::walkthrough(), opts).await
}

/// Retries as in production, with waits in milliseconds so tests stay fast.
fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        base: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        budget: Duration::from_secs(5),
    }
}

fn client(sim: &RunningSim, credentials: &Credentials) -> HttpFortiFlex {
    support::sim_api_with(sim, credentials, fast_retry())
}

fn points_query(start: &str, end: &str) -> PointsQuery {
    PointsQuery {
        start_date: d(start),
        end_date: d(end),
        account_id: Some(AccountId(2321234)),
        program_serial_number: Some("ELAVMS0000123456".into()),
        config_id: None,
        serial_number: None,
    }
}

/// The walkthrough's 7-day table.
const WALKTHROUGH_7_DAYS: [(&str, &str); 13] = [
    ("FMVMMLTM00000582", "750.40"),
    ("FMVMMLTM00000663", "638.40"),
    ("FGVMMLTM00000993", "151.62"),
    ("FGVMMLTM00000994", "151.62"),
    ("FGVMMLTM00000995", "151.62"),
    ("FGVMMLTM00000996", "151.62"),
    ("FGVMMLTM00000997", "151.62"),
    ("FGVMMLTM00000998", "151.62"),
    ("FGVMMLTM00000999", "151.62"),
    ("FGT71FTK22000471", "135.03"),
    ("FEMSPO8800000387", "98.07"),
    ("FZVMMLTM00000689", "89.95"),
    ("FEMSPO8800000320", "22.75"),
];

#[tokio::test]
async fn logs_in_and_makes_every_call() {
    let sim = simulator(EndDateMode::Inclusive).await;
    let api = client(&sim, &sim.credentials());

    let programs = api.programs().await.unwrap();
    assert_eq!(programs.len(), 1);
    assert_eq!(
        (programs[0].serial_number.as_str(), programs[0].account_id),
        ("ELAVMS0000123456", Some(AccountId(2321234)))
    );

    // 500,000 prepaid minus 2025-01-10..2025-11-08 (303 days) at 399.42 a day.
    let balance = api
        .program_balance("ELAVMS0000123456")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(points_text(balance), "378975.74");

    let configs = api
        .configs("ELAVMS0000123456", Some(AccountId(2321234)))
        .await
        .unwrap();
    assert_eq!(configs.len(), 8);
    let fmg = configs.iter().find(|c| c.id == 4101).unwrap();
    assert_eq!(
        (fmg.name.as_deref(), fmg.product_type.label().as_deref()),
        (Some("MSSP FMG"), Some("FortiManager-VM"))
    );
    // tools/calc prices exactly a configuration's parameters, in any order, `count` times.
    let mut parameters = fmg.parameters.clone();
    parameters.reverse();
    let query = |count, parameters| RateQuery {
        program_serial_number: "ELAVMS0000123456".into(),
        product_type_id: 2,
        count,
        parameters,
    };
    let rate = api.rate(&query(2, parameters)).await.unwrap();
    assert_eq!(points_text(rate.current), "214.40");
    let e = api.rate(&query(1, vec![])).await.unwrap_err();
    assert!(e.to_string().contains("No price for product type 2"), "{e}");
    let products = api.product_types().await.unwrap();
    let fmg_type = products
        .iter()
        .find(|p| p.product_type_id == Some(2))
        .unwrap();
    assert_eq!(fmg_type.name.as_deref(), Some("FortiManager-VM"));
    assert!(
        fmg_type
            .parameters
            .iter()
            .any(|p| (p.id, p.name.as_deref()) == (Some(30), Some("Managed devices")))
    );

    let ents = api
        .entitlements(&EntitlementQuery {
            account_id: Some(AccountId(2321234)),
            program_serial_number: Some("ELAVMS0000123456".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ents.len(), 15);
    assert_eq!(
        ents.iter()
            .filter(|e| e.status.as_deref() == Some("PENDING"))
            .count(),
        1
    );
    assert!(
        !format!("{ents:?}").contains("6B1F0C6E2D9A4F3B"),
        "a licence token was kept"
    );

    let rows = api
        .points(&points_query("2025-11-02", "2025-11-08"))
        .await
        .unwrap();
    let got: BTreeMap<String, String> = rows
        .iter()
        .map(|r| (r.serial_number.clone(), points_text(r.points)))
        .collect();
    let want: BTreeMap<String, String> = WALKTHROUGH_7_DAYS
        .iter()
        .map(|(s, p)| (s.to_string(), p.to_string()))
        .collect();
    assert_eq!(got, want);
}

/// The run's clock: 2025-11-09 noon in California, the simulator's today.
fn ctx(end_date: EndDateMode) -> Context {
    let now = chrono::DateTime::parse_from_rfc3339("2025-11-09T20:00:00Z").unwrap();
    Context {
        end_date,
        ..support::run_context(now.to_utc())
    }
}

async fn run_on(
    sim: &RunningSim,
    sink: &impl fortiflex_reporter::adapters::storage::Sink,
    request: Request,
    ctx: &Context,
) -> fortiflex_reporter::Result<RunOutcome> {
    let creds = sim.credentials();
    run(&client(sim, &creds), sink, &creds, &request, ctx, &Silent).await
}

fn range_report(outcome: &RunOutcome) -> &Report {
    outcome.programs[0]
        .range
        .as_ref()
        .unwrap()
        .report
        .as_ref()
        .unwrap()
}

fn week() -> DayRange {
    DayRange::new(d("2025-11-02"), d("2025-11-08")).unwrap()
}

#[tokio::test]
async fn the_seven_day_report_is_the_walkthrough_table() {
    let sim = simulator(EndDateMode::Inclusive).await;
    let request = Request {
        range: Some(week()),
        ..Request::default()
    };
    let outcome = run_on(
        &sim,
        &MemorySink::new(),
        request,
        &ctx(EndDateMode::Inclusive),
    )
    .await
    .unwrap();
    let report = range_report(&outcome);
    let table: Vec<(&str, String)> = report
        .rows
        .iter()
        .map(|r| (r.serial_number.as_str(), points_text(r.points)))
        .collect();
    let want: Vec<(&str, String)> = WALKTHROUGH_7_DAYS
        .iter()
        .map(|(s, p)| (*s, p.to_string()))
        .collect();
    assert_eq!(table, want);
    assert_eq!(points_text(report.total), "2795.94");
    assert_eq!(points_text(report.per_day()), "399.42");
    let faz = report
        .rows
        .iter()
        .find(|r| r.serial_number == "FZVMMLTM00000689")
        .unwrap();
    assert_eq!(
        (faz.config_id, faz.product_type.as_deref()),
        (Some(4105), Some("FortiAnalyzer-VM"))
    );
    assert_eq!(faz.description.as_deref(), Some("SOC log analytics"));
    // configs/list, entitlements/list and entitlements/points for the one account.
    assert_eq!(outcome.calls, 3);
}

#[tokio::test]
async fn the_serial_filter_and_an_empty_day() {
    let sim = simulator(EndDateMode::Inclusive).await;
    let sink = MemorySink::new();
    let request = Request {
        range: Some(week()),
        serial_filter: Some(Serial::parse("fgt71ftk22000471", "serial").unwrap()),
        ..Request::default()
    };
    let outcome = run_on(&sim, &sink, request, &ctx(EndDateMode::Inclusive))
        .await
        .unwrap();
    let one = range_report(&outcome);
    assert_eq!(one.rows.len(), 1);
    assert_eq!(points_text(one.total), "135.03");
    assert_eq!(one.spec.serial_filter.as_deref(), Some("FGT71FTK22000471"));
    assert_eq!(
        one.request.serial_number.as_deref(),
        Some("FGT71FTK22000471")
    );

    // The day before the program started consumed nothing: a success with no rows. (It is
    // past FortiFlex's retention at 2025-11-09, so this run's clock keeps ten years.)
    let mut ten_years = ctx(EndDateMode::Inclusive);
    ten_years.retention_days = 3650;
    let request = Request {
        daily: vec![d("2025-01-09")],
        ..Request::default()
    };
    let outcome = run_on(&sim, &sink, request, &ten_years).await.unwrap();
    let empty = &outcome.programs[0].days[0];
    assert_eq!((empty.entitlements, empty.status), (0, Status::Written));
    assert_eq!(points_text(empty.points), "0.00");
    let csv = sink
        .object("daily/csv/dt=2025-01-09/consumption_ELAVMS0000123456_2025-01-09.csv")
        .unwrap()
        .0;
    assert_eq!(
        String::from_utf8(csv).unwrap().lines().count(),
        1,
        "header only"
    );
}

#[tokio::test]
async fn a_fortiflex_400_surfaces_its_message() {
    let sim = simulator(EndDateMode::Inclusive).await;
    let api = client(&sim, &sim.credentials());
    let mut q = points_query("2025-11-02", "2025-11-08");
    q.account_id = Some(AccountId(999));
    let err = api.points(&q).await.unwrap_err();
    assert_eq!(err.kind(), "FortiFlex");
    assert_eq!(
        err.to_string(),
        "FortiFlex entitlements/points answered HTTP 400 (status 1): Account 999 does not belong to program ELAVMS0000123456."
    );
    q.account_id = None;
    let err = api.points(&q).await.unwrap_err().to_string();
    assert!(err.contains("accountId is required."), "{err}");
}

#[tokio::test]
async fn a_wrong_password_is_an_authentication_error_that_hides_it() {
    let sim = simulator(EndDateMode::Inclusive).await;
    let mut creds = sim.credentials();
    creds.password = Secret::from("wrong-pass-7f3a9c");
    let err = client(&sim, &creds).programs().await.unwrap_err();
    assert_eq!(err.kind(), "Authentication");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("Invalid credentials given."), "{shown}");
    assert!(!shown.contains("wrong-pass-7f3a9c"), "{shown}");
}

#[tokio::test]
async fn a_missing_account_id_is_looked_up() {
    let sim = simulator(EndDateMode::Inclusive).await;
    let mut creds = sim.credentials();
    creds.account_id = None;
    let api = client(&sim, &creds);
    let scopes = discover(&api, &creds).await.unwrap();
    assert_eq!(
        (scopes[0].account_id, scopes[0].accounts.clone()),
        (AccountId(2321234), vec![AccountId(2321234)])
    );

    creds.program_serial = Some("ELAVMS0000999999".into());
    let err = discover(&api, &creds).await.unwrap_err();
    assert_eq!(err.kind(), "Credentials");
    assert!(
        err.to_string()
            .contains("ELAVMS0000999999 is not among the programs"),
        "{err}"
    );
}

#[tokio::test]
async fn the_end_date_setting_must_match_the_tenant() {
    let sim = simulator(EndDateMode::Exclusive).await;
    let request = Request {
        range: Some(week()),
        ..Request::default()
    };
    let right = run_on(
        &sim,
        &MemorySink::new(),
        request.clone(),
        &ctx(EndDateMode::Exclusive),
    )
    .await
    .unwrap();
    let report = range_report(&right);
    assert_eq!(points_text(report.total), "2795.94");
    assert_eq!(report.request.end_date, d("2025-11-09"));
    // Read as inclusive, an exclusive tenant silently drops the last day.
    let wrong = run_on(
        &sim,
        &MemorySink::new(),
        request,
        &ctx(EndDateMode::Inclusive),
    )
    .await
    .unwrap();
    assert_eq!(points_text(range_report(&wrong).total), "2396.52");
}

#[tokio::test]
async fn a_rerun_into_a_folder_writes_nothing() {
    let sim = simulator(EndDateMode::Inclusive).await;
    let dir = tempfile::tempdir().unwrap();
    let sink = LocalDir::new(dir.path());
    let request = Request {
        daily: vec![d("2025-11-08")],
        ..Request::default()
    };
    let first = run_on(&sim, &sink, request.clone(), &ctx(EndDateMode::Inclusive))
        .await
        .unwrap();
    assert_eq!(first.programs[0].days[0].status, Status::Written);
    let manifest = dir.path().join(
        "daily/manifests/dt=2025-11-08/consumption_ELAVMS0000123456_2025-11-08.manifest.json",
    );
    let before = std::fs::read(&manifest).unwrap();
    let calls = sim.calls();
    let second = run_on(&sim, &sink, request, &ctx(EndDateMode::Inclusive))
        .await
        .unwrap();
    let day = &second.programs[0].days[0];
    assert_eq!((day.status, day.revision), (Status::Unchanged, Some(1)));
    // A stored day in the restatement window costs one check per account, nothing more.
    assert_eq!(
        sim.calls() - calls,
        3,
        "configs, entitlements, one range check"
    );
    assert_eq!(
        std::fs::read(&manifest).unwrap(),
        before,
        "the manifest (with run-1's id) was rewritten"
    );
}

#[tokio::test]
async fn the_simulator_refuses_a_bad_token_as_fortiflex_does() {
    let sim = simulator(EndDateMode::Inclusive).await;
    let reply = reqwest::Client::new()
        .post(format!("{}entitlements/points", sim.api_url()))
        .bearer_auth("not-a-token")
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 401);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"status": -1, "message": "Invalid security token.", "error": null})
    );
}

#[tokio::test]
async fn an_unreachable_fortiflex_names_the_host_and_cause() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let endpoints = Endpoints::new(
        &format!("{base}/ES/api/fortiflex/v2/"),
        &format!("{base}/api/v1/oauth/"),
    )
    .unwrap();
    let creds = Dataset::walkthrough();
    let creds = Credentials {
        username: creds.username.into(),
        password: Secret::from(creds.password),
        program_serial: Some(creds.programs[0].serial.into()),
        account_id: None,
    };
    let api = HttpFortiFlex::new(
        http_client(Duration::from_secs(5)).unwrap(),
        endpoints,
        &creds,
        Arc::new(Pacer::new(Limits::default())),
        fast_retry(),
    );
    let err = api.programs().await.unwrap_err();
    assert_eq!(err.kind(), "FortiFlex");
    let text = err.to_string();
    assert!(
        text.contains(&format!("could not connect to 127.0.0.1:{port}")),
        "{text}"
    );
    assert!(text.to_lowercase().contains("refused"), "{text}");
}
