//! The customers file in the scheduled run (the simulator over real HTTP, a local folder):
//! a price book is checked against the programs' configurations before any statement.

use chrono::{DateTime, Utc};
use fortiflex_reporter::adapters::storage::LocalDir;
use fortiflex_reporter::pipeline::progress::Silent;
use fortiflex_reporter::pipeline::{Request, Watch, run};
use fortiflex_reporter::sim::Dataset;

use crate::support;

#[tokio::test]
async fn a_rule_naming_a_configuration_the_program_lacks_fails_before_any_statement() {
    let sim = support::simulator_at(Dataset::walkthrough(), "2025-11-09").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    std::fs::write(
        dir.path().join("config/customers.json"),
        r#"{"currency": "USD",
 "prices": [
   {"id": "list", "price_per_point": "0.50"},
   {"id": "soc", "config": 4199, "price_per_point": "0.40"}],
 "customers": []}"#,
    )
    .unwrap();
    let request = Request {
        daily: vec!["2025-11-08".parse().unwrap()],
        statements: true,
        watch: Some(Watch::default()),
        ..Request::default()
    };
    let now: DateTime<Utc> = "2025-11-09T20:00:00Z".parse().unwrap();
    let creds = sim.credentials();
    let api = support::sim_api(&sim, &creds);
    let ctx = support::run_context(now);
    let err = run(
        &api,
        &LocalDir::new(dir.path()),
        &creds,
        &request,
        &ctx,
        &Silent,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "Customers");
    assert!(
        err.to_string().contains(
            r#"rule "soc" (line 4) names configuration 4199, which no program of this API user has"#
        ),
        "{err}"
    );
    // The day's reports were kept (no billing data waits on a typo); no statement was
    // written from a book that prices nothing it names.
    assert!(
        dir.path()
            .join("daily/json/dt=2025-11-08/consumption_ELAVMS0000123456_2025-11-08.json")
            .exists()
    );
    assert!(!dir.path().join("statements").exists());
}
