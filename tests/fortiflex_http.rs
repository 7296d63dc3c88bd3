//! The real FortiFlex client against the project's simulator over loopback HTTP.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use fortiflex_reporter::credentials::{Credentials, Secret};
use fortiflex_reporter::fortiflex::{
    Endpoints, EntitlementQuery, FortiFlexApi, HttpFortiFlex, Limits, Pacer, PointsQuery,
    RetryPolicy, http_client,
};
use fortiflex_reporter::job::Reporter;
use fortiflex_reporter::publish::Outcome;
use fortiflex_reporter::report::{ReportKind, points_text};
use fortiflex_reporter::sim::{self, Dataset, RunningSim, SimOptions};
use fortiflex_reporter::sink::{LocalDir, MemorySink};
use fortiflex_reporter::window::{DayRange, EndDateMode, PACIFIC};

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

async fn simulator(end_date: EndDateMode) -> RunningSim {
    let opts = SimOptions {
        today: Some(d("2025-11-09")),
        end_date,
        ..SimOptions::default()
    };
    sim::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        Dataset::walkthrough(),
        opts,
    )
    .await
    .unwrap()
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
    let endpoints = Endpoints::new(&sim.api_url(), &sim.auth_url()).unwrap();
    HttpFortiFlex::new(
        http_client(Duration::from_secs(10)).unwrap(),
        endpoints,
        credentials,
        Arc::new(Pacer::new(Limits::default())),
        fast_retry(),
    )
}

fn points_query(start: &str, end: &str) -> PointsQuery {
    PointsQuery {
        start_date: d(start),
        end_date: d(end),
        account_id: Some(2321234),
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
        ("ELAVMS0000123456", Some(2321234))
    );

    // 500,000 prepaid minus 2025-01-10..2025-11-08 (303 days) at 399.42 a day.
    let balance = api
        .program_balance("ELAVMS0000123456")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(points_text(balance), "378975.74");

    let configs = api
        .configs("ELAVMS0000123456", Some(2321234))
        .await
        .unwrap();
    assert_eq!(configs.len(), 6);
    let fmg = configs.iter().find(|c| c.id == 4101).unwrap();
    assert_eq!(
        (fmg.name.as_deref(), fmg.product_type.label().as_deref()),
        (Some("MSSP FMG"), Some("FortiManager-VM"))
    );

    let ents = api
        .entitlements(&EntitlementQuery {
            account_id: Some(2321234),
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

#[tokio::test]
async fn the_seven_day_report_is_the_walkthrough_table() {
    let sim = simulator(EndDateMode::Inclusive).await;
    let api = client(&sim, &sim.credentials());
    let sink = MemorySink::new();
    let reporter = Reporter::connect(
        &api,
        &sink,
        &sim.credentials(),
        PACIFIC,
        EndDateMode::Inclusive,
    )
    .await
    .unwrap();
    let range = DayRange::new(d("2025-11-02"), d("2025-11-08")).unwrap();
    let report = reporter
        .report(ReportKind::Range, range, None)
        .await
        .unwrap();
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
}

#[tokio::test]
async fn the_serial_filter_and_an_empty_day() {
    let sim = simulator(EndDateMode::Inclusive).await;
    let api = client(&sim, &sim.credentials());
    let sink = MemorySink::new();
    let reporter = Reporter::connect(
        &api,
        &sink,
        &sim.credentials(),
        PACIFIC,
        EndDateMode::Inclusive,
    )
    .await
    .unwrap();
    let week = DayRange::new(d("2025-11-02"), d("2025-11-08")).unwrap();

    let one = reporter
        .report(ReportKind::Range, week, Some("fgt71ftk22000471"))
        .await
        .unwrap();
    assert_eq!(one.rows.len(), 1);
    assert_eq!(points_text(one.total), "135.03");
    assert_eq!(one.spec.serial_filter.as_deref(), Some("FGT71FTK22000471"));
    assert_eq!(
        one.request.serial_number.as_deref(),
        Some("FGT71FTK22000471")
    );

    // The day before the program started consumed nothing: a success with no rows.
    let empty = reporter
        .report(ReportKind::Daily, DayRange::day(d("2025-01-09")), None)
        .await
        .unwrap();
    assert!(empty.rows.is_empty());
    assert_eq!(points_text(empty.total), "0.00");
    let p = reporter
        .publish(&empty, "run-1", chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(p.outcome, Outcome::Written);
    let csv = sink.object(&p.keys.csv).unwrap().0;
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
    q.account_id = Some(999);
    let err = api.points(&q).await.unwrap_err();
    assert_eq!(err.kind(), "FortiFlex");
    assert_eq!(
        err.to_string(),
        "FortiFlex entitlements/points answered HTTP 400 (status 1): Account 999 does not own this program."
    );
    q.account_id = None;
    let err = api.points(&q).await.unwrap_err().to_string();
    assert!(err.contains("accountId is required."), "{err}");
}

#[tokio::test]
async fn a_wrong_password_is_an_authentication_error_that_hides_it() {
    let sim = simulator(EndDateMode::Inclusive).await;
    let mut creds = sim.credentials();
    creds.password = Secret::new("wrong-pass-7f3a9c");
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
    let sink = MemorySink::new();
    let reporter = Reporter::connect(&api, &sink, &creds, PACIFIC, EndDateMode::Inclusive)
        .await
        .unwrap();
    assert_eq!(reporter.account_id(), 2321234);

    creds.program_serial = "ELAVMS0000999999".into();
    let err = Reporter::connect(&api, &sink, &creds, PACIFIC, EndDateMode::Inclusive)
        .await
        .err()
        .unwrap();
    assert_eq!(err.kind(), "Credentials");
    assert!(
        err.to_string()
            .contains("ELAVMS0000999999 is not among the programs"),
        "{err}"
    );
}

#[tokio::test]
async fn the_end_date_setting_must_match_the_tenant() {
    let week = DayRange::new(d("2025-11-02"), d("2025-11-08")).unwrap();
    let sim = simulator(EndDateMode::Exclusive).await;
    let api = client(&sim, &sim.credentials());
    let sink = MemorySink::new();
    let right = Reporter::connect(
        &api,
        &sink,
        &sim.credentials(),
        PACIFIC,
        EndDateMode::Exclusive,
    )
    .await
    .unwrap();
    let report = right.report(ReportKind::Range, week, None).await.unwrap();
    assert_eq!(points_text(report.total), "2795.94");
    assert_eq!(report.request.end_date, d("2025-11-09"));
    // Read as inclusive, an exclusive tenant silently drops the last day.
    let wrong = Reporter::connect(
        &api,
        &sink,
        &sim.credentials(),
        PACIFIC,
        EndDateMode::Inclusive,
    )
    .await
    .unwrap();
    assert_eq!(
        points_text(
            wrong
                .report(ReportKind::Range, week, None)
                .await
                .unwrap()
                .total
        ),
        "2396.52"
    );
}

#[tokio::test]
async fn a_rerun_into_a_folder_writes_nothing() {
    let sim = simulator(EndDateMode::Inclusive).await;
    let api = client(&sim, &sim.credentials());
    let dir = tempfile::tempdir().unwrap();
    let sink = LocalDir::new(dir.path());
    let reporter = Reporter::connect(
        &api,
        &sink,
        &sim.credentials(),
        PACIFIC,
        EndDateMode::Inclusive,
    )
    .await
    .unwrap();
    let day = DayRange::day(d("2025-11-08"));
    let first = reporter
        .publish(
            &reporter.report(ReportKind::Daily, day, None).await.unwrap(),
            "run-1",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let manifest = dir.path().join(&first.keys.manifest);
    let before = std::fs::read(&manifest).unwrap();
    let second = reporter
        .publish(
            &reporter.report(ReportKind::Daily, day, None).await.unwrap(),
            "run-2",
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    assert_eq!((second.outcome, second.revision), (Outcome::Unchanged, 1));
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
        password: Secret::new(creds.password),
        program_serial: creds.program_serial.into(),
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
