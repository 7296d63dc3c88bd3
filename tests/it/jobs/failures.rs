//! Jobs that fail: a transient failure retried without a duplicate, a stopped execution
//! started again, a permanent failure failing the execution at once.

use super::*;

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_chunk_that_fails_is_retried_and_writes_no_duplicate_revision() {
    let (aws, sim) = setup(Dataset::mssp(7)).await;
    let mut budget = budget_env(100, 1000, 3600);
    budget.push(("FORTIFLEX_RETRIES", "1".into()));
    let h = handler(&aws.config, env(&aws, &sim, budget));
    let machine = StateMachine::create(&aws).await;
    // Discovery (2), the catalog (10) and three whole days (30) go through; then FortiFlex
    // fails one call, midway through the fourth day.
    sim.inject(Fault::once(FaultKind::Http(503)).after(2 + 10 + 30 + 4));
    let input = json!({"start_date": "2025-11-06", "end_date": "2025-11-12"});
    let run = machine.start("retried", input).await;
    let ended = machine.work(&h, &run, now(), None).await;
    assert_succeeded(&ended);
    assert!(
        ended
            .steps
            .iter()
            .any(|(_, e)| e.as_deref() == Some("FortiFlex")),
        "a step failed: {:?}",
        ended.steps
    );
    let manifests = manifests(&aws).await;
    assert_eq!(manifests.len(), 7);
    assert!(
        manifests.values().all(|m| m["revision"] == 1),
        "no duplicate revision"
    );
    let fetched = day_fetches(&sim.call_log());
    assert_eq!(fetched.len(), 7 * 10);
    let twice: Vec<_> = fetched.iter().filter(|(_, n)| **n > 1).collect();
    assert_eq!(
        twice.len(),
        1,
        "only the failed call was made again: {twice:?}"
    );
    assert!(staging(&aws.keys().await).is_empty());
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_stopped_execution_started_again_fetches_nothing_stored_or_staged_again() {
    let (aws, sim) = setup(Dataset::mssp(7)).await;
    let h = handler(&aws.config, env(&aws, &sim, budget_env(100, 20, 2)));
    let machine = StateMachine::create(&aws).await;
    let input = json!({"start_date": "2025-11-01", "end_date": "2025-11-10"});
    let first = machine.start("first", input.clone()).await;
    let stopped = machine.work(&h, &first, now(), Some(2)).await;
    assert_eq!(stopped.status, "RUNNING");
    machine.stop(&first).await;
    machine.purge().await;
    let stored_before = manifests(&aws).await.len();
    assert!(
        stored_before > 0 && stored_before < 10,
        "stopped halfway: {stored_before}"
    );
    let calls_before = sim.calls();

    let again = machine.start("again", input).await;
    let ended = machine.work(&h, &again, now(), None).await;
    assert_succeeded(&ended);
    let manifests = manifests(&aws).await;
    assert_eq!(manifests.len(), 10);
    assert!(manifests.values().all(|m| m["revision"] == 1));
    let fetched = day_fetches(&sim.call_log());
    assert_eq!(fetched.len(), 10 * 10);
    assert!(
        fetched.values().all(|n| *n == 1),
        "nothing fetched twice: {fetched:?}"
    );
    // The restart resumed the job: no discovery or catalog again.
    let after: Vec<_> = sim
        .call_log()
        .into_iter()
        .skip(calls_before as usize)
        .collect();
    assert!(
        after.iter().all(|c| c.call == "entitlements/points"),
        "{:?}",
        after.iter().map(|c| &c.call).collect::<Vec<_>>()
    );
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_permanent_failure_fails_the_execution_at_once_with_its_error_type() {
    let aws = Aws::new(true).await;
    aws.put_secret(&CREDENTIALS.replace("demo-api-password", "Wr0ng-Passw0rd"))
        .await;
    let sim = simulator(Dataset::walkthrough()).await;
    let h = handler(&aws.config, env(&aws, &sim, budget_env(90, 950, 3600)));
    let machine = StateMachine::create(&aws).await;
    let run = machine
        .start("refused", json!({"scheduled_time": "2025-11-21T14:00:00Z"}))
        .await;
    let ended = machine.work(&h, &run, now(), None).await;
    assert_eq!(ended.status, "FAILED");
    assert_eq!(ended.error.as_deref(), Some("Authentication"));
    assert_eq!(
        ended.steps,
        vec![("plan".to_string(), Some("Authentication".to_string()))]
    );
    let written: Vec<String> = aws
        .keys()
        .await
        .into_iter()
        .filter(|k| k != BUDGET)
        .collect();
    assert!(written.is_empty(), "nothing written: {written:?}");

    // A job that cannot be planned (days FortiFlex no longer holds) fails before any call.
    let calls = sim.calls();
    let forgotten = json!({"start_date": "2025-01-10", "end_date": "2025-01-20"});
    let run = machine.start("forgotten", forgotten).await;
    let ended = machine.work(&h, &run, now(), None).await;
    assert_eq!(
        (ended.status.as_str(), ended.error.as_deref()),
        ("FAILED", Some("InvalidRequest"))
    );
    assert_eq!(ended.steps.len(), 1, "no retry: {:?}", ended.steps);
    assert_eq!(sim.calls(), calls, "nothing was fetched");
}
