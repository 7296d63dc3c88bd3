//! FortiFlex refusing a call for its hour limit (`-11`: another client of the same API user
//! spent it) mid-job: the window is counted spent, the chunk hands the wait to the state
//! machine, and the job completes with one refused call per refusal.

use fortiflex_reporter::sim::{Fault, FaultKind};

use super::*;

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn an_hour_limit_refusal_mid_job_is_waited_out_and_the_job_completes() {
    let (aws, sim) = setup(Dataset::mssp(7)).await;
    let hour = 3;
    // As on AWS, the hour is longer than a call may wait inside its step (here 3 s and 1 s).
    let mut budget = budget_env(100, 1000, hour);
    budget.push(("FORTIFLEX_RETRY_BUDGET_SECS", "1".into()));
    let h = handler(&aws.config, env(&aws, &sim, budget));
    let machine = StateMachine::create(&aws).await;
    // Discovery (2), the catalog (10) and two whole days go through, then FortiFlex refuses
    // one call for its hour.
    sim.inject(Fault::once(FaultKind::Status(-11)).after(2 + 10 + 20 + 3));
    let input = json!({"start_date": "2025-11-06", "end_date": "2025-11-10"});
    let run = machine.start("refused", input).await;
    let ended = machine.work(&h, &run, now(), None).await;
    assert_succeeded(&ended);
    assert!(
        ended.steps.iter().all(|(_, e)| e.is_none()),
        "no step failed: {:?}",
        ended.steps
    );
    let manifests = manifests(&aws).await;
    assert_eq!(manifests.len(), 5);
    assert!(manifests.values().all(|m| m["revision"] == 1));
    // Every account-day once, the refused one asked again: once refused, once answered.
    let fetched = day_fetches(&sim.call_log());
    assert_eq!(fetched.len(), 5 * 10);
    let twice: Vec<_> = fetched.iter().filter(|(_, n)| **n > 1).collect();
    assert_eq!(twice.len(), 1, "{twice:?}");
    // Nothing was asked until the refused hour had passed.
    let log = sim.call_log();
    let refused = &log[2 + 10 + 20 + 3];
    let next = log.get(2 + 10 + 20 + 4).expect("the job went on");
    assert!(
        next.at.duration_since(refused.at)
            >= Duration::from_secs(hour.into()) - Duration::from_millis(50),
        "the next call came {:?} after the refusal",
        next.at.duration_since(refused.at)
    );
    // The chunk handed the wait to the state machine.
    assert!(
        ended
            .replies
            .iter()
            .any(|r| r["wait_seconds"].as_u64() >= Some(2)),
        "{:?}",
        ended.replies
    );
}
