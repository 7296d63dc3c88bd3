//! The stack `template.yaml` deploys, created on moto by moto's CloudFormation (the SAM
//! transform expanded first, as AWS would: `tests/deploy/stack_on_moto.py`), then the scheduled
//! job run against what the stack made: its state machine, its FIFO job queue, its bucket and
//! the function's environment as the stack resolved it. moto implements most of the stack's
//! types; those it only pretends to create are listed (and docs/operations.md says what that
//! leaves unproven).

use std::collections::HashMap;

use fortiflex_reporter::config::LambdaSettings;
use fortiflex_reporter::lambda::handler::Handler;

use super::*;
use crate::support::{aws_env, venv_tool};

/// What moto's CloudFormation answers CREATE_COMPLETE for without creating it (moto 5.2.5).
const NOT_CREATED_BY_MOTO: [&str; 8] = [
    "AWS::CloudWatch::Alarm",
    "AWS::Glue::Database",
    "AWS::Glue::Table",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Subscription",
    "AWS::Scheduler::Schedule",
    "AWS::SecretsManager::Secret",
];

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn the_templates_stack_on_motos_cloudformation_runs_the_scheduled_job() {
    let moto = moto();
    let name = format!("ffr-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/deploy/stack_on_moto.py");
    let out = std::process::Command::new(venv_tool("MOTO_PYTHON", "python"))
        .args([script, &moto.endpoint, &name])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stack: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stack["status"], "CREATE_COMPLETE", "{stack}");
    assert_eq!(stack["not_created"], json!(NOT_CREATED_BY_MOTO), "{stack}");
    assert_eq!(stack["reserved_concurrency"], Value::Null, "no reservation");
    assert!(stack["queue_url"].as_str().unwrap().ends_with("-jobs.fifo"));

    // The function's environment as the stack resolved it, but for the secret (moto's
    // CloudFormation creates none, so `Ref ApiSecret` resolves to nothing): the test makes one.
    let function_env = stack["function_env"].as_object().unwrap();
    assert_eq!(function_env["REPORT_PREFIX"], "fortiflex");
    assert!(!function_env.contains_key("FORTIFLEX_SECRET_ID"));
    let aws = Aws {
        bucket: stack["bucket"].as_str().unwrap().to_string(),
        ..Aws::new(false).await
    };
    aws.put_secret(CREDENTIALS).await;
    let sim = simulator(Dataset::mssp(3)).await;
    let mut env: HashMap<String, String> = function_env
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().map_or(v.to_string(), str::to_string)))
        .collect();
    for (k, v) in aws_env(moto) {
        env.insert(k.into(), v);
    }
    env.insert("FORTIFLEX_SECRET_ID".into(), aws.secret_id.clone());
    env.insert("FORTIFLEX_API_URL".into(), sim.api_url());
    env.insert("FORTIFLEX_AUTH_URL".into(), sim.auth_url());
    let settings = LambdaSettings::from_lookup(|k| env.get(k).cloned()).unwrap();
    let h = Handler::for_aws(settings, &aws.config).unwrap();

    // What the stack's schedule sends, to the stack's own state machine and queue.
    let machine = StateMachine::existing(
        &aws,
        stack["state_machine"].as_str().unwrap(),
        stack["queue_url"].as_str().unwrap(),
    )
    .await;
    let run = machine
        .start(
            "scheduled",
            json!({"scheduled_time": "2025-11-21T14:00:00Z"}),
        )
        .await;
    let ended = machine.work(&h, &run, now(), None).await;
    assert_succeeded(&ended);
    let manifests = manifests(&aws).await;
    let day = &manifests["2025-11-20"];
    assert_eq!(day["revision"], 1, "{day}");
    assert_eq!(
        day["source"]["accounts"].as_array().map(Vec::len),
        Some(6),
        "{day}"
    );
    let keys = aws.keys().await;
    assert!(
        keys.iter().any(|k| k.starts_with("fortiflex/site/")),
        "the scheduled run's site: {keys:?}"
    );
    assert!(staging(&keys).is_empty(), "{:?}", staging(&keys));
}
