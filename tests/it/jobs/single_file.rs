//! One writer at a time without reserved concurrency: the FIFO job queue (one message group)
//! hands two pollers its steps one after the other, and a direct invocation that comes while a
//! job step works is refused with `Busy`, naming the step (the run lock, `staging/lock.json`).

use std::sync::Mutex;
use std::time::Instant;

use fortiflex_reporter::lambda::handler::Invocation;

use super::*;

/// Each step's name and when it ran, by poller.
type Ran = Mutex<Vec<(usize, String, Instant, Instant)>>;

/// One of Lambda's pollers: receives the job queue's messages and hands each to the handler,
/// until `executions` have all ended.
async fn poller(
    id: usize,
    machine: &StateMachine,
    h: &fortiflex_reporter::lambda::handler::Handler<
        fortiflex_reporter::adapters::secrets::SecretsManager,
        fortiflex_reporter::adapters::storage::S3Sink,
    >,
    executions: &[String],
    ran: &Ran,
) {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let mut running = false;
        for e in executions {
            let d = machine.sfn.describe_execution().execution_arn(e).send();
            running |= d.await.unwrap().status.as_str() == "RUNNING";
        }
        if !running {
            return;
        }
        assert!(Instant::now() < deadline, "executions still running");
        let got = machine
            .sqs
            .receive_message()
            .queue_url(&machine.queue_url)
            .max_number_of_messages(1)
            .send()
            .await
            .unwrap();
        if got.messages().is_empty() {
            // Short polls: moto's long poll reads the groups in flight once, at its start, so
            // a poll begun before another poller's receive could be handed the group's next
            // message (SQS itself checks at delivery).
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for m in got.messages() {
            let body = m.body().unwrap().to_string();
            let step = serde_json::from_str::<Value>(&body).unwrap()["step"]
                .as_str()
                .unwrap()
                .to_string();
            let event = json!({"Records": [{"messageId": m.message_id().unwrap_or_default(), "eventSource": "aws:sqs", "body": body}]});
            let began = Instant::now();
            let out = h
                .handle_event(event, now(), &format!("poller-{id}"), None)
                .await
                .unwrap();
            let Invocation::Queue(q) = out else {
                panic!("a queue event ran as a direct invocation")
            };
            for done in &q.steps {
                assert_eq!(done.error_type, None, "{step}: {:?}", done.error);
            }
            ran.lock().unwrap().push((id, step, began, Instant::now()));
            machine
                .sqs
                .delete_message()
                .queue_url(&machine.queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn two_pollers_on_the_fifo_job_queue_run_the_steps_of_two_jobs_one_after_the_other() {
    let (aws, sim) = setup(Dataset::mssp(7)).await;
    // Every FortiFlex answer takes a while, so an overlapping step would show.
    sim.inject(Fault {
        kind: FaultKind::Delay(Duration::from_millis(30)),
        after: 0,
        times: None,
    });
    let h = handler(&aws.config, env(&aws, &sim, budget_env(100, 1000, 3600)));
    let machine = StateMachine::create(&aws).await;
    let a = json!({"start_date": "2025-11-06", "end_date": "2025-11-08"});
    let b = json!({"start_date": "2025-11-12", "end_date": "2025-11-13"});
    let runs = vec![machine.start("a", a).await, machine.start("b", b).await];

    let ran = Ran::default();
    tokio::join!(
        poller(1, &machine, &h, &runs, &ran),
        poller(2, &machine, &h, &runs, &ran)
    );

    for run in &runs {
        let d = machine.sfn.describe_execution().execution_arn(run).send();
        assert_eq!(d.await.unwrap().status.as_str(), "SUCCEEDED", "{run}");
    }
    let mut ran = ran.into_inner().unwrap();
    ran.sort_by_key(|r| r.2);
    let steps: Vec<&str> = ran.iter().map(|r| r.1.as_str()).collect();
    assert!(
        steps.iter().filter(|s| **s == "plan").count() == 2
            && steps.iter().filter(|s| **s == "finish").count() == 2,
        "both jobs' steps: {steps:?}"
    );
    // Both pollers were asking all along; the queue never handed out a step while another
    // was in flight, so none ever met the run lock (no step failed `Busy` above).
    for pair in ran.windows(2) {
        assert!(
            pair[1].2 >= pair[0].3,
            "{} (poller {}) began before {} (poller {}) ended",
            pair[1].1,
            pair[1].0,
            pair[0].1,
            pair[0].0
        );
    }
    assert_eq!(manifests(&aws).await.len(), 5, "3 + 2 days");
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_direct_invocation_while_a_job_step_works_is_refused_naming_the_step() {
    let (aws, sim) = setup(Dataset::mssp(7)).await;
    sim.inject(Fault {
        kind: FaultKind::Delay(Duration::from_millis(100)),
        after: 0,
        times: None,
    });
    let h = handler(&aws.config, env(&aws, &sim, budget_env(100, 1000, 3600)));
    let machine = StateMachine::create(&aws).await;
    let input = json!({"start_date": "2025-11-06", "end_date": "2025-11-08"});
    let run = machine.start("busy", input).await;

    let direct = async {
        // Once a step holds the lock (the object exists only while held), a direct run comes.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            assert!(Instant::now() < deadline, "no job step took the run lock");
            if let Ok(r) = aws
                .s3
                .get_object()
                .bucket(&aws.bucket)
                .key("fortiflex/staging/lock.json")
                .send()
                .await
            {
                let body = r.body.collect().await.unwrap().into_bytes();
                let claim: Value = serde_json::from_slice(&body).unwrap();
                if claim["holder"].is_string() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let payload = json!({"date": "2025-11-20"});
        h.handle_within(payload, now(), "direct-1", None)
            .await
            .unwrap_err()
    };
    let (ended, err) = tokio::join!(machine.work(&h, &run, now(), None), direct);

    assert_eq!(err.kind(), "Busy", "{err}");
    let text = err.to_string();
    assert!(text.contains("run direct-1 not started"), "{text}");
    assert!(
        text.contains("the plan of run") || text.contains("job "),
        "names the job step: {text}"
    );
    assert!(text.contains("lease ends by"), "{text}");
    assert_succeeded(&ended);
    assert!(
        ended.steps.iter().all(|(_, e)| e.is_none()),
        "{:?}",
        ended.steps
    );

    // After the job, the same direct invocation runs.
    let out = h
        .handle_within(json!({"date": "2025-11-20"}), now(), "direct-2", None)
        .await
        .unwrap();
    assert_eq!(out.programs.len(), 1);
    assert_eq!(
        manifests(&aws).await.len(),
        4,
        "the job's 3 days and the direct run's"
    );
}
