//! A step whose invocation died (its message taken, never answered) is retried once its task
//! misses its heartbeat, so the job goes on within minutes, not hours; the dead step's message,
//! delivered again, finds its task over and is not run beside its retry.

use super::*;

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_crashed_step_is_retried_after_its_heartbeat_and_its_redelivery_is_not_run() {
    let (aws, sim) = setup(Dataset::mssp(7)).await;
    let h = handler(&aws.config, env(&aws, &sim, budget_env(100, 1000, 3600)));
    // Tasks time out after 2 s without a heartbeat (300 s deployed).
    let machine = StateMachine::create_with(&aws, Some(2), None).await;
    let input = json!({"start_date": "2025-11-06", "end_date": "2025-11-07"});
    let run = machine.start("crashed", input).await;
    // The plan step's message is taken by an invocation that dies before answering.
    let crashed = loop {
        let got = machine
            .sqs
            .receive_message()
            .queue_url(&machine.queue_url)
            .max_number_of_messages(1)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(m) = got.messages().first() {
            machine
                .sqs
                .delete_message()
                .queue_url(&machine.queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            break m.body().unwrap().to_string();
        }
    };
    assert_eq!(
        serde_json::from_str::<Value>(&crashed).unwrap()["step"],
        "plan"
    );
    // The task misses its heartbeat, is retried with a new message, and the job completes.
    let ended = machine.work(&h, &run, now(), None).await;
    assert_succeeded(&ended);
    assert_eq!(ended.steps[0].0, "plan", "{:?}", ended.steps);
    assert_eq!(manifests(&aws).await.len(), 2);

    // The dead step's message comes back (its visibility ended): stale, not run.
    let calls = sim.calls();
    let event = json!({"Records": [{"messageId": "redelivered", "eventSource": "aws:sqs", "body": crashed}]});
    let invocation = h
        .handle_event(event, now(), "redelivered", None)
        .await
        .unwrap();
    let fortiflex_reporter::lambda::handler::Invocation::Queue(q) = invocation else {
        panic!("a queue event ran as a direct invocation")
    };
    assert!(q.steps.is_empty(), "not run: {:?}", q.steps);
    assert_eq!(sim.calls(), calls, "no FortiFlex call for a stale step");
}
