//! Customers named from FortiCloud's organization (the simulator's units and accounts over
//! real HTTP, a local folder): company names on the statement without a customers file, a
//! `new_customer` alert once per new account, the file's names winning, and a run that goes
//! on, saying so, when the API user may not list the organization.

use chrono::{DateTime, NaiveDate, Utc};
use fortiflex_reporter::adapters::storage::LocalDir;
use fortiflex_reporter::domain::customers::CustomerFrom;
use fortiflex_reporter::pipeline::outcome::RunOutcome;
use fortiflex_reporter::pipeline::progress::Silent;
use fortiflex_reporter::pipeline::{Request, Watch, run};
use fortiflex_reporter::sim::{Dataset, RunningSim};
use serde_json::Value;

use crate::support;

const STATEMENT: &str = "statements/month=2025-11/statement_ELAVMS0000123456_2025-11.json";

/// The scheduled run of `today` (its last complete day and the two before) with statements
/// and alerts, customers named from the organization by setting.
async fn scheduled(sim: &RunningSim, dir: &std::path::Path, today: &str) -> RunOutcome {
    let last: NaiveDate = today.parse::<NaiveDate>().unwrap().pred_opt().unwrap();
    let request = Request {
        daily: (0..3).map(|n| last - chrono::Days::new(n)).collect(),
        statements: true,
        watch: Some(Watch::default()),
        ..Request::default()
    };
    let now: DateTime<Utc> = format!("{today}T20:00:00Z").parse().unwrap();
    let mut ctx = support::run_context(now);
    ctx.organizations = Some(CustomerFrom::Company);
    let creds = sim.credentials();
    let api = support::sim_api(sim, &creds);
    run(&api, &LocalDir::new(dir), &creds, &request, &ctx, &Silent)
        .await
        .unwrap()
}

fn read(dir: &std::path::Path, key: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(key)).unwrap_or_else(|e| panic!("{key}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// `(id, name)` of each customer of the November statement.
fn customers(dir: &std::path::Path) -> Vec<(String, String)> {
    read(dir, STATEMENT)["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The `new_customer` alerts of the run's newest day: (account, message).
fn newcomers(outcome: &RunOutcome) -> Vec<(u64, String)> {
    let alerts = serde_json::to_value(&outcome.programs[0].alerts).unwrap();
    alerts
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|day| day["alerts"].as_array().unwrap().clone())
        .filter(|a| a["kind"] == "new_customer")
        .map(|a| {
            (
                a["account_id"].as_u64().unwrap(),
                a["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn without_a_customers_file_the_statement_names_every_customer_by_its_company() {
    let sim = support::simulator_at(Dataset::mssp(0), "2025-11-09").await;
    let dir = tempfile::tempdir().unwrap();
    let first = scheduled(&sim, dir.path(), "2025-11-09").await;
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        customers(dir.path()),
        [
            s("2321234", "Example MSSP Ltd"),
            s("3300001", "Acme Corp"),
            s("3300002", "Globex Corporation"),
            s("3300005", "Initech"),
        ]
    );
    // The listing: the units, then the accounts of the organization and of each unit,
    // counted in the run's calls as FortiFlex's are.
    let log: Vec<String> = sim.call_log().into_iter().map(|c| c.call).collect();
    let forticloud: Vec<&String> = log
        .iter()
        .filter(|c| !c.contains("/v2"))
        .filter(|c| c.starts_with("organization/") || c.starts_with("iam/"))
        .collect();
    assert_eq!(
        forticloud,
        [
            "organization/units/list",
            "iam/accounts/list",
            "iam/accounts/list",
            "iam/accounts/list"
        ]
    );
    assert_eq!(first.calls, sim.calls());
    assert_eq!(
        first.programs[0].organization.as_deref(),
        Some("listed: 4 account(s), 4 new")
    );
    // Every account is new on the first listing: each is told once.
    let told = newcomers(&first);
    let accounts: Vec<u64> = told.iter().map(|t| t.0).collect();
    assert_eq!(accounts, [2321234, 3300001, 3300002, 3300005]);
    assert!(
        told[3]
            .1
            .contains("3300005 'Initech' will be billed as its own customer with no price"),
        "{told:?}"
    );
    let kept = read(dir.path(), "organizations/accounts.json");
    assert_eq!(kept["listed_on"], "2025-11-09");
    assert_eq!(kept["accounts"].as_array().unwrap().len(), 4);
    assert!(
        !std::fs::read_to_string(dir.path().join("organizations/accounts.json"))
            .unwrap()
            .contains("example.com"),
        "e-mail addresses are not kept"
    );

    // The next day: nobody is new.
    let next = scheduled(&sim, dir.path(), "2025-11-10").await;
    assert!(newcomers(&next).is_empty());
    assert_eq!(
        next.programs[0].organization.as_deref(),
        Some("listed: 4 account(s), 0 new")
    );
}

#[tokio::test]
async fn a_new_account_is_told_once_and_the_files_names_win() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/customers.json"),
        r#"{"currency": "USD", "price_per_point": "0.50", "organizations": true, "customers": [
            {"id": "acme", "name": "ACME (per contract)", "accounts": [3300001], "price_per_point": "0.55"}]}"#,
    )
    .unwrap();
    let sim = support::simulator_at(Dataset::mssp(0), "2025-11-09").await;
    scheduled(&sim, dir.path(), "2025-11-09").await;
    drop(sim);
    // A day later the organization has one more account.
    let mut data = Dataset::mssp(0);
    let org = data.organization.as_mut().unwrap();
    org.accounts.push((3300006, "Umbrella Corp", 1002));
    let sim = support::simulator_at(data, "2025-11-10").await;
    let next = scheduled(&sim, dir.path(), "2025-11-10").await;
    let told = newcomers(&next);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, 3300006);
    assert!(
        told[0].1.contains(
            "3300006 'Umbrella Corp' will be billed as its own customer at the default price"
        ),
        "{told:?}"
    );
    let s = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        customers(dir.path()),
        [
            s("2321234", "Example MSSP Ltd"),
            s("3300002", "Globex Corporation"),
            s("3300005", "Initech"),
            s("3300006", "Umbrella Corp"),
            s("acme", "ACME (per contract)"),
        ]
    );
    // The organization's customers are billed at the file's price.
    let json = read(dir.path(), STATEMENT);
    let globex = json["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "3300002")
        .unwrap();
    assert_eq!(globex["price_per_point"].as_f64(), Some(0.5));
    assert!(globex["amount"].as_f64().is_some_and(|a| a > 0.0));
}

#[tokio::test]
async fn without_the_permission_the_run_goes_on_with_the_customers_it_has_and_says_so() {
    let mut data = Dataset::mssp(0);
    data.organization = None;
    let sim = support::simulator_at(data, "2025-11-09").await;
    let dir = tempfile::tempdir().unwrap();
    let outcome = scheduled(&sim, dir.path(), "2025-11-09").await;
    let said = outcome.programs[0].organization.clone().unwrap();
    assert!(said.starts_with("unavailable ("), "{said}");
    assert!(said.contains("no permission"), "{said}");
    assert!(newcomers(&outcome).is_empty());
    assert!(!dir.path().join("organizations").exists());
    // One customer per account, as without the organization; the days are all there.
    let ids: Vec<String> = customers(dir.path()).into_iter().map(|c| c.0).collect();
    assert_eq!(ids, ["2321234", "3300001", "3300002"]);
    assert_eq!(outcome.programs[0].days.len(), 3);
}
