//! A day that leaves FortiFlex's retention mid-job: the accounts asked after FortiFlex forgot
//! it would answer an empty success, so the day is never published partial; the job names it
//! `lost` and the days after it are published whole.

use super::*;

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_day_that_ages_out_mid_job_is_lost_never_published_partial() {
    // Thirty accounts; on 21 November (06:00 Pacific) FortiFlex still holds 23 August. Each
    // step's budget window holds about 25 items.
    let (aws, sim) = setup(Dataset::mssp(27)).await;
    let h = handler(&aws.config, env(&aws, &sim, budget_env(100, 27, 10)));
    let machine = StateMachine::create(&aws).await;
    let input = json!({"start_date": "2025-08-23", "end_date": "2025-08-25"});
    let run = machine.start("aging", input).await;
    // The plan step and the first chunk: the catalog, then some of 23 August's accounts,
    // until the budget's window is spent.
    let first = machine.work(&h, &run, now(), Some(1)).await;
    assert_eq!(first.status, "RUNNING");
    let asked: usize = day_fetches(&sim.call_log())
        .keys()
        .filter(|(_, d)| d == "2025-08-23")
        .count();
    assert!(
        (1..30).contains(&asked),
        "some, not all, of the day's accounts before midnight: {asked}"
    );

    // Pacific midnight passes: FortiFlex forgets 23 August.
    sim.set_today(day("2025-11-22"));
    let later = DateTime::parse_from_rfc3339("2025-11-22T14:00:00Z")
        .unwrap()
        .to_utc();
    let ended = machine.work(&h, &run, later, None).await;
    assert_succeeded(&ended);
    let manifests = manifests(&aws).await;
    assert!(
        !manifests.contains_key("2025-08-23"),
        "no partial report of the lost day: {:?}",
        manifests.keys()
    );
    for d in ["2025-08-24", "2025-08-25"] {
        let m = &manifests[d];
        assert_eq!(m["revision"], 1, "{d}");
        assert_eq!(
            m["source"]["accounts"].as_array().map(Vec::len),
            Some(30),
            "{d}: {m}"
        );
    }
    let output = ended.output.as_ref().unwrap();
    assert_eq!(output["programs"][0]["lost"], 1, "{output}");
    assert_eq!(output["programs"][0]["written"], 2, "{output}");
    // Nothing more of the lost day was asked after midnight.
    let after: usize = day_fetches(&sim.call_log())
        .keys()
        .filter(|(_, d)| d == "2025-08-23")
        .count();
    assert_eq!(after, asked);
    assert!(staging(&aws.keys().await).is_empty());
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_backfill_does_not_start_an_oldest_day_it_cannot_finish() {
    // 23:55 Pacific on 21 November: 23 August leaves FortiFlex in five minutes.
    let (aws, sim) = setup(Dataset::mssp(7)).await;
    let h = handler(&aws.config, env(&aws, &sim, budget_env(100, 1000, 3600)));
    let machine = StateMachine::create(&aws).await;
    let input = json!({"start_date": "2025-08-23", "end_date": "2025-08-24"});
    let run = machine.start("too-late", input).await;
    let late = DateTime::parse_from_rfc3339("2025-11-22T07:55:00Z")
        .unwrap()
        .to_utc();
    let ended = machine.work(&h, &run, late, None).await;
    assert_succeeded(&ended);
    let output = ended.output.as_ref().unwrap();
    assert_eq!(
        (
            output["programs"][0]["lost"].as_u64(),
            output["programs"][0]["written"].as_u64()
        ),
        (Some(1), Some(1)),
        "{output}"
    );
    let fetched = day_fetches(&sim.call_log());
    assert!(
        fetched.keys().all(|(_, d)| d != "2025-08-23"),
        "the lost day cost no call: {fetched:?}"
    );
    let manifests = manifests(&aws).await;
    assert_eq!(manifests.keys().collect::<Vec<_>>(), ["2025-08-24"]);
}
