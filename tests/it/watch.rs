//! Balance snapshots and alerts over real HTTP (the simulator) and real files (a local
//! folder): runway, grace, spikes, idle licences and a postpaid commitment.

use crate::support;

use chrono::{DateTime, NaiveDate, Utc};
use fortiflex_reporter::adapters::credentials::{Credentials, Secret};
use fortiflex_reporter::adapters::storage::LocalDir;
use fortiflex_reporter::domain::window::DayRange;
use fortiflex_reporter::pipeline::outcome::RunOutcome;
use fortiflex_reporter::pipeline::progress::Silent;
use fortiflex_reporter::pipeline::{Request, Watch, run};
use fortiflex_reporter::sim::{Dataset, PARTNER, POSTPAID_PROGRAM, RunningSim};
use rust_decimal::Decimal;
use serde_json::{Value, json};

const PROGRAM: &str = "ELAVMS0000123456";
/// One of the walkthrough's FortiGate-VMs (21.66 points a day).
const SPIKY: &str = "FGVMMLTM00000993";

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// `data` with the walkthrough program's balance on `today` set to `balance`.
fn with_balance(mut data: Dataset, today: &str, balance: &str) -> Dataset {
    let p = &mut data.programs[0];
    p.prepaid_points = dec(balance) + p.consumed_before(d(today));
    data
}

/// The daily reports of the week before `today` with watch, at noon Pacific of `today`.
async fn week(
    sim: &RunningSim,
    creds: &Credentials,
    dir: &std::path::Path,
    today: &str,
    watch: Watch,
) -> RunOutcome {
    let last = d(today).pred_opt().unwrap();
    let days = DayRange::new(last - chrono::Days::new(6), last).unwrap();
    let request = Request {
        daily: days.days().collect(),
        watch: Some(watch),
        ..Request::default()
    };
    let now: DateTime<Utc> = format!("{today}T20:00:00Z").parse().unwrap();
    let ctx = support::run_context(now);
    let api = support::sim_api(sim, creds);
    run(&api, &LocalDir::new(dir), creds, &request, &ctx, &Silent)
        .await
        .unwrap()
}

fn read(dir: &std::path::Path, key: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(key)).unwrap_or_else(|e| panic!("{key}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// A JSON number as a decimal (`Value` holds it as a float; the files hold exact text).
fn num(v: &Value) -> Decimal {
    Decimal::from_str_exact(&v.to_string()).unwrap_or_else(|e| panic!("{v}: {e}"))
}

fn kinds(alerts: &Value) -> Vec<(String, String)> {
    alerts["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap().to_string(),
                a["serial_number"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_week_at_399_42_against_41234_56_runs_out_in_103_days() {
    let sim = support::simulator_at(
        with_balance(Dataset::walkthrough(), "2025-11-09", "41234.56"),
        "2025-11-09",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let outcome = week(
        &sim,
        &sim.credentials(),
        dir.path(),
        "2025-11-09",
        Watch::default(),
    )
    .await;

    let b = read(
        dir.path(),
        &format!("balances/dt=2025-11-09/balance_{PROGRAM}_2025-11-09.json"),
    );
    assert_eq!(b["program_type"], json!("prepaid"));
    assert_eq!(b["as_of"], json!("2025-11-09"));
    assert_eq!(num(&b["balance"]), dec("41234.56"));
    assert_eq!(num(&b["burn_rate_7d"]), dec("399.42"));
    assert_eq!(num(&b["burn_rate_30d"]), dec("399.42"));
    assert_eq!(b["runway_days"], json!(103));
    assert_eq!(b["runs_out_on"], json!("2026-02-20"));
    assert_eq!(b["grace"], Value::Null);
    assert_eq!(b["commitment"], Value::Null);
    // A 36-month program (2025-01-10 .. 2028-01-09): everything unused rolls over.
    assert_eq!(b["rollover_estimate"]["term_months"], json!(36));
    assert_eq!(b["rollover_estimate"]["anniversary"], json!("2026-01-10"));
    // 62 days to go at 399.42: 41234.56 - 24764.04.
    assert_eq!(
        num(&b["rollover_estimate"]["estimated_carry_over"]),
        dec("16470.52")
    );

    // Each day written has its alerts file; a steady week has none.
    for day in DayRange::new(d("2025-11-02"), d("2025-11-08"))
        .unwrap()
        .days()
    {
        let a = read(
            dir.path(),
            &format!("alerts/dt={day}/alerts_{PROGRAM}_{day}.json"),
        );
        assert_eq!(a["date"], json!(day.to_string()));
        assert_eq!(kinds(&a), vec![], "{day}");
    }
    let program = &outcome.programs[0];
    assert_eq!(program.balance.as_ref().unwrap().runway_days, Some(103));
    assert_eq!(program.alerts.len(), 7);
    // Nothing secret in what was written.
    let text = std::fs::read_to_string(dir.path().join(format!(
        "balances/dt=2025-11-09/balance_{PROGRAM}_2025-11-09.json"
    )))
    .unwrap();
    assert!(text.contains("\"balance\": 41234.56,"), "{text}");
    assert!(!text.contains("simtok-") && !text.contains("demo-api-password"));
}

#[tokio::test]
async fn a_spike_and_an_unused_licence_are_alerted_once_each() {
    let mut data = Dataset::walkthrough();
    let p = &mut data.programs[0];
    let spiky = p
        .entitlements
        .iter_mut()
        .find(|e| e.serial_number == SPIKY)
        .unwrap();
    let daily = spiky.daily;
    spiky.spikes = vec![(d("2025-11-08"), daily * Decimal::from(5))];
    let idle = p
        .entitlements
        .iter_mut()
        .find(|e| e.status == "ACTIVE" && e.serial_number != SPIKY)
        .unwrap();
    idle.token_unused = true;
    let idle_serial = idle.serial_number.clone();
    let sim = support::simulator_at(data, "2025-11-09").await;
    let dir = tempfile::tempdir().unwrap();
    week(
        &sim,
        &sim.credentials(),
        dir.path(),
        "2025-11-09",
        Watch::default(),
    )
    .await;

    let last = read(
        dir.path(),
        &format!("alerts/dt=2025-11-08/alerts_{PROGRAM}_2025-11-08.json"),
    );
    let mut want = vec![
        ("spike".to_string(), SPIKY.to_string()),
        ("idle_charged".to_string(), idle_serial.clone()),
    ];
    want.sort_by_key(|(k, _)| if k == "spike" { 0 } else { 1 });
    assert_eq!(kinds(&last), want);
    let spike = &last["alerts"][0];
    assert_eq!(num(&spike["points"]), daily * Decimal::from(5));
    assert_eq!(num(&spike["baseline"]), daily);
    assert_eq!(spike["account_id"], json!(PARTNER));
    assert_eq!(spike["customer_id"], json!(PARTNER.to_string()));
    // The day before: only the idle licence.
    let before = read(
        dir.path(),
        &format!("alerts/dt=2025-11-07/alerts_{PROGRAM}_2025-11-07.json"),
    );
    assert_eq!(kinds(&before), vec![("idle_charged".into(), idle_serial)]);
}

#[tokio::test]
async fn a_negative_balance_counts_down_the_grace_period_across_runs() {
    let data = with_balance(Dataset::walkthrough(), "2025-11-09", "-250.00");
    let sim = support::simulator_at(data.clone(), "2025-11-09").await;
    let dir = tempfile::tempdir().unwrap();
    week(
        &sim,
        &sim.credentials(),
        dir.path(),
        "2025-11-09",
        Watch::default(),
    )
    .await;
    let b = read(
        dir.path(),
        &format!("balances/dt=2025-11-09/balance_{PROGRAM}_2025-11-09.json"),
    );
    assert_eq!(num(&b["balance"]), dec("-250.00"));
    assert_eq!(b["runway_days"], json!(0));
    assert_eq!(b["grace"]["first_negative_on"], json!("2025-11-09"));
    assert_eq!(b["grace"]["suspension_after"], json!("2026-02-07"));
    let a = read(
        dir.path(),
        &format!("alerts/dt=2025-11-08/alerts_{PROGRAM}_2025-11-08.json"),
    );
    assert_eq!(kinds(&a), vec![("negative_balance".into(), "-".into())]);

    // The next day, still negative: the first negative day comes from the stored snapshot.
    let sim = support::simulator_at(data, "2025-11-10").await;
    week(
        &sim,
        &sim.credentials(),
        dir.path(),
        "2025-11-10",
        Watch::default(),
    )
    .await;
    let b = read(
        dir.path(),
        &format!("balances/dt=2025-11-10/balance_{PROGRAM}_2025-11-10.json"),
    );
    assert_eq!(num(&b["balance"]), dec("-649.42"));
    assert_eq!(b["grace"]["first_negative_on"], json!("2025-11-09"));
    assert_eq!(b["grace"]["days_left"], json!(89));
    assert_eq!(b["grace"]["basis"], json!("snapshots"));
}

#[tokio::test]
async fn a_postpaid_program_is_measured_against_its_commitment() {
    let sim = support::simulator_at(Dataset::mssp(0), "2025-11-09").await;
    let creds = Credentials {
        program_serial: Some(POSTPAID_PROGRAM.into()),
        account_id: Some(PARTNER.into()),
        password: Secret::from("demo-api-password"),
        ..sim.credentials()
    };
    let dir = tempfile::tempdir().unwrap();
    let watch = Watch {
        commitment: Some(dec("5000")),
        ..Watch::default()
    };
    week(&sim, &creds, dir.path(), "2025-11-09", watch).await;
    let b = read(
        dir.path(),
        &format!("balances/dt=2025-11-09/balance_{POSTPAID_PROGRAM}_2025-11-09.json"),
    );
    assert_eq!(b["program_type"], json!("postpaid"));
    assert_eq!(b["balance"], Value::Null);
    assert_eq!(b["runway_days"], Value::Null);
    let c = &b["commitment"];
    assert_eq!(c["year_start"], json!("2025-01-10"));
    assert_eq!(c["year_end"], json!("2026-01-09"));
    // Seven stored days at 8.50, then 62 days to the year end at the same rate.
    assert_eq!(
        (num(&c["used"]), c["days_stored"].clone()),
        (dec("59.50"), json!(7))
    );
    assert_eq!(num(&c["projected_year_end"]), dec("586.50"));
    assert_eq!(num(&c["shortfall"]), dec("4413.50"));
    let a = read(
        dir.path(),
        &format!("alerts/dt=2025-11-08/alerts_{POSTPAID_PROGRAM}_2025-11-08.json"),
    );
    assert_eq!(kinds(&a), vec![("commitment_shortfall".into(), "-".into())]);
}

#[tokio::test]
async fn the_balance_ties_out_day_by_day_a_top_up_shown_and_an_unseen_charge_differs() {
    let mut data = with_balance(Dataset::walkthrough(), "2025-11-08", "20000.00");
    data.programs[0]
        .top_ups
        .push((d("2025-11-10"), dec("10000")));
    let dir = tempfile::tempdir().unwrap();
    for today in ["2025-11-08", "2025-11-09", "2025-11-10", "2025-11-11"] {
        let sim = support::simulator_at(data.clone(), today).await;
        week(
            &sim,
            &sim.credentials(),
            dir.path(),
            today,
            Watch::default(),
        )
        .await;
    }
    let key = format!("tieout/month=2025-11/tieout_{PROGRAM}_2025-11.json");
    let t = read(dir.path(), &key);
    assert_eq!(t["through"], json!("2025-11-10"));
    let days = t["balance"]["days"].as_array().unwrap();
    assert_eq!(days.len(), 10);
    // No snapshot before the 8th: the days before it cannot be checked, and say why.
    for day in &days[..7] {
        assert_eq!(day["status"], json!("unknown"), "{day}");
        assert!(day["note"].as_str().unwrap().contains("snapshot"));
    }
    for day in &days[7..] {
        assert_eq!(day["status"], json!("ties"), "{day}");
        assert_eq!(num(&day["difference"]), Decimal::ZERO, "{day}");
        assert_eq!(num(&day["consumed"]), dec("399.42"));
    }
    // Bought on the 10th, so first seen in the balance read on the 10th: the 9th's drop.
    assert_eq!(days[8]["event"]["kind"], json!("top_up"));
    assert_eq!(num(&days[8]["event"]["points"]), dec("10000"));
    assert_eq!(t["balance"]["totals"]["ties"], json!(3));
    assert_eq!(num(&t["balance"]["totals"]["top_ups"]), dec("10000"));

    // Fortinet deducts 120 points on the 11th that no report shows.
    data.programs[0].prepaid_points -= dec("120");
    let sim = support::simulator_at(data, "2025-11-12").await;
    week(
        &sim,
        &sim.credentials(),
        dir.path(),
        "2025-11-12",
        Watch::default(),
    )
    .await;
    let t = read(dir.path(), &key);
    let days = t["balance"]["days"].as_array().unwrap();
    assert_eq!(days.len(), 11);
    assert_eq!(days[10]["status"], json!("differs"), "{}", days[10]);
    assert_eq!(num(&days[10]["difference"]), dec("120"));
    assert_eq!(
        days[9]["status"],
        json!("ties"),
        "earlier days keep their snapshots"
    );
    assert_eq!(t["balance"]["totals"]["differs"], json!(1));
}
