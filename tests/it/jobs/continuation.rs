//! A job longer than one execution's history: after its chunk limit an execution starts the
//! same job again as a new execution of the state machine (ContinueAsNew), which resumes at
//! the cursor without planning, and ends. Every account-day is still fetched once and every
//! day published once, whole.

use super::*;

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_job_past_its_executions_chunk_limit_continues_in_a_new_execution() {
    // Thirty accounts over six days at 40 calls a (3-second) hour: a dozen chunks or so, two
    // per execution.
    let (aws, sim) = setup(Dataset::mssp(27)).await;
    let (per_minute, per_hour, hour) = (100, 40, 3);
    let h = handler(
        &aws.config,
        env(&aws, &sim, budget_env(per_minute, per_hour, hour)),
    );
    let machine = StateMachine::create_with(&aws, None, Some(2)).await;
    let input = json!({"start_date": "2025-11-10", "end_date": "2025-11-15"});
    let run = machine.start("long", input).await;
    let ended = machine.work(&h, &run, now(), None).await;
    assert_succeeded(&ended);

    let chunks = ended.steps.iter().filter(|(s, _)| s == "chunk").count();
    assert!(
        ended.executions.len() >= 3,
        "{} executions for {chunks} chunks",
        ended.executions.len()
    );
    // Planned once, in the first execution; the others resumed at its cursor.
    let plans = ended.steps.iter().filter(|(s, _)| s == "plan").count();
    assert_eq!(plans, 1, "{:?}", ended.steps);
    let job = ended.replies[0]["job"].as_str().unwrap().to_string();
    for (n, arn) in ended.executions.iter().enumerate() {
        let d = machine
            .sfn
            .describe_execution()
            .execution_arn(arn)
            .send()
            .await
            .unwrap();
        assert_eq!(d.status.as_str(), "SUCCEEDED", "{arn}");
        if n > 0 {
            // Named from the execution it continues: a retried start is the same start.
            let name = d.name.unwrap_or_default();
            assert!(name.starts_with(&format!("job-{job}-")), "{name}");
            let input: Value = serde_json::from_str(&d.input.unwrap()).unwrap();
            assert_eq!(input["continued_from"], ended.executions[n - 1].as_str());
            assert_eq!(input["job"], job.as_str());
        }
        // Each execution ran at most its limit of chunks (the first also planned).
        let history = machine
            .sfn
            .get_execution_history()
            .execution_arn(arn)
            .max_results(1000)
            .send()
            .await
            .unwrap();
        let ran = history
            .events()
            .iter()
            .filter(|e| e.r#type().as_str() == "TaskStateEntered")
            .filter(|e| {
                e.state_entered_event_details()
                    .is_some_and(|s| s.name() == "Chunk")
            })
            .count();
        assert!(ran <= 2, "{arn} ran {ran} chunks");
    }

    let manifests = manifests(&aws).await;
    assert_eq!(manifests.len(), 6);
    assert!(manifests.values().all(|m| m["revision"] == 1));
    assert!(
        manifests
            .values()
            .all(|m| m["source"]["accounts"].as_array().map(Vec::len) == Some(30))
    );
    let fetched = day_fetches(&sim.call_log());
    assert_eq!(fetched.len(), 30 * 6);
    assert!(fetched.values().all(|n| *n == 1), "each account-day once");
    assert_within_budget(&ended, &sim, per_minute, per_hour, hour);
    assert_eq!(ended.output.as_ref().unwrap()["programs"][0]["written"], 6);
    assert!(staging(&aws.keys().await).is_empty());
}
