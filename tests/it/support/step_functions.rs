//! The state machine of `template.yaml`, executed by moto's Step Functions interpreter, with
//! the real function doing every step: moto runs no Lambda code, so this module stands in
//! for Lambda's SQS event source mapping, as `infra/local/bridge.py` does for the local loop
//! (it receives the job queue's messages one at a time and hands each to the function's
//! handler as the one-record SQS event Lambda would deliver). Wait states and retries sleep in
//! real time, so the retry intervals are scaled down with the budget (`budget_env`).

use std::time::Duration;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use fortiflex_reporter::adapters::secrets::SecretsManager;
use fortiflex_reporter::adapters::storage::S3Sink;
use fortiflex_reporter::config::LambdaSettings;
use fortiflex_reporter::lambda::handler::{Handler, Invocation};
use serde_json::{Value, json};

use super::{Aws, moto};

/// The definition `template.yaml` deploys (`DefinitionUri`), with its substitutions.
pub fn definition(queue_url: &str, retry_seconds: u64) -> String {
    definition_with(queue_url, retry_seconds, None, None)
}

/// [`definition`], with each task's `HeartbeatSeconds` set to `heartbeat` when given, and the
/// chunks after which an execution continues as a new one set to `chunks` when given.
pub fn definition_with(
    queue_url: &str,
    retry_seconds: u64,
    heartbeat: Option<u64>,
    chunks: Option<u64>,
) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/infra/statemachine.asl.json");
    let text = std::fs::read_to_string(path).unwrap();
    let text = text
        .replace("${JobQueueUrl}", queue_url)
        .replace("${Partition}", "aws");
    let mut asl: Value = serde_json::from_str(&text).unwrap();
    let choices = asl["States"]["Published?"]["Choices"]
        .as_array_mut()
        .unwrap();
    let cont = choices
        .iter_mut()
        .find(|c| c["Next"] == "ContinueAsNew")
        .unwrap();
    if let Some(n) = chunks {
        cont["NumericGreaterThanEquals"] = json!(n);
    }
    // moto's interpreter cannot call `states:startExecution` (it hands the parameters to boto
    // uncased, and always adds an `Input` boto rejects), so the start goes to the job queue as
    // a message carrying the parameters as the definition evaluates them, and `work` makes
    // the call and answers as the integration would (`start_execution`).
    let start = &mut asl["States"]["ContinueAsNew"];
    let request = start["Parameters"].take();
    start["Resource"] = json!("arn:aws:states:::sqs:sendMessage.waitForTaskToken");
    start["Parameters"] = json!({
        "QueueUrl": queue_url,
        "MessageGroupId": "jobs",
        "MessageBody": {"step": "start_execution", "task_token.$": "$$.Task.Token", "request": request},
    });
    for state in asl["States"].as_object_mut().unwrap().values_mut() {
        if let (Some(secs), Some(beat)) = (heartbeat, state.get_mut("HeartbeatSeconds")) {
            *beat = json!(secs);
        }
        let retries = state.get_mut("Retry").and_then(Value::as_array_mut);
        for retry in retries.into_iter().flatten() {
            retry["IntervalSeconds"] = json!(retry_seconds);
        }
    }
    asl.to_string()
}

/// The job queue's attributes as `template.yaml` sets them: FIFO, content-based deduplication.
pub fn fifo_queue() -> std::collections::HashMap<aws_sdk_sqs::types::QueueAttributeName, String> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    [
        (A::FifoQueue, "true".to_string()),
        (A::ContentBasedDeduplication, "true".to_string()),
    ]
    .into()
}

/// The scaled-down budget the job tests run under: `per_minute` and `per_hour` calls, the
/// hour window `hour_secs` long (FORTIFLEX_BUDGET_HOUR_SECS, docs/operations.md).
pub fn budget_env(per_minute: u32, per_hour: u32, hour_secs: u32) -> Vec<(&'static str, String)> {
    vec![
        ("FORTIFLEX_CALLS_PER_MINUTE", per_minute.to_string()),
        ("FORTIFLEX_CALLS_PER_HOUR", per_hour.to_string()),
        ("FORTIFLEX_BUDGET_HOUR_SECS", hour_secs.to_string()),
        ("FORTIFLEX_RETRY_BASE_MS", "1".into()),
    ]
}

/// Turns on moto's Step Functions interpreter (off by default).
pub async fn execute_state_machines() {
    let config = reqwest::Client::new()
        .post(format!("{}/moto-api/config", moto().endpoint))
        .json(&json!({"stepfunctions": {"execute_state_machine": true}}))
        .send()
        .await
        .unwrap();
    assert!(config.status().is_success());
}

pub struct StateMachine {
    pub sfn: aws_sdk_sfn::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub arn: String,
    pub queue_url: String,
    s3: aws_sdk_s3::Client,
    bucket: String,
}

/// How an execution ended.
#[derive(Debug)]
pub struct Ended {
    pub status: String,
    pub output: Option<Value>,
    pub error: Option<String>,
    /// The failure's cause: for `States.Runtime`, what in the definition broke.
    pub cause: Option<String>,
    /// The steps the function ran: `plan`, `chunk` or `finish`, with the error type of each
    /// that failed.
    pub steps: Vec<(String, Option<String>)>,
    /// Each chunk step's reply.
    pub replies: Vec<Value>,
    /// The executions the job ran in, in order: the one started, then each it continued as.
    pub executions: Vec<String>,
    /// Every FortiFlex call start (ms since the epoch, logins included) the steps' pacers
    /// recorded in the shared budget object, read after each step: the client's own account of
    /// what it sent when.
    pub call_starts: Vec<i64>,
}

impl StateMachine {
    /// The template's state machine on moto, with its own job queue.
    pub async fn create(aws: &Aws) -> Self {
        Self::create_with(aws, None, None).await
    }

    /// A state machine and job queue already on moto (a stack's), run by moto's interpreter.
    pub async fn existing(aws: &Aws, arn: &str, queue_url: &str) -> Self {
        execute_state_machines().await;
        StateMachine {
            sfn: aws_sdk_sfn::Client::new(&aws.config),
            sqs: aws_sdk_sqs::Client::new(&aws.config),
            arn: arn.to_string(),
            queue_url: queue_url.to_string(),
            s3: aws.s3.clone(),
            bucket: aws.bucket.clone(),
        }
    }

    /// [`StateMachine::create`], its tasks timing out after `heartbeat` seconds without one,
    /// its executions continuing as new ones after `chunks` chunks.
    pub async fn create_with(aws: &Aws, heartbeat: Option<u64>, chunks: Option<u64>) -> Self {
        execute_state_machines().await;
        let sfn = aws_sdk_sfn::Client::new(&aws.config);
        let sqs = aws_sdk_sqs::Client::new(&aws.config);
        let name = format!("jobs-{}", &aws.bucket[8..]);
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("{name}.fifo"))
            .set_attributes(Some(fifo_queue()))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = sfn
            .create_state_machine()
            .name(&name)
            .definition(definition_with(&queue_url, 1, heartbeat, chunks))
            .role_arn("arn:aws:iam::123456789012:role/fortiflex-reporter-jobs")
            .send()
            .await
            .unwrap()
            .state_machine_arn;
        StateMachine {
            sfn,
            sqs,
            arn,
            queue_url,
            s3: aws.s3.clone(),
            bucket: aws.bucket.clone(),
        }
    }

    pub async fn start(&self, name: &str, input: Value) -> String {
        self.sfn
            .start_execution()
            .state_machine_arn(&self.arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await
            .unwrap()
            .execution_arn
    }

    pub async fn stop(&self, execution: &str) {
        self.sfn
            .stop_execution()
            .execution_arn(execution)
            .send()
            .await
            .unwrap();
    }

    async fn status(
        &self,
        execution: &str,
    ) -> (String, Option<String>, Option<String>, Option<String>) {
        let d = self
            .sfn
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .unwrap();
        let ended = (d.status.as_str().to_string(), d.output, d.error);
        (ended.0, ended.1, ended.2, d.cause)
    }

    /// Works the queue for `execution` until it ends, or until `stop_after` chunk steps
    /// when given (the execution is then left running). Each message goes to `handler`.
    pub async fn work(
        &self,
        handler: &Handler<SecretsManager, S3Sink>,
        execution: &str,
        now: DateTime<Utc>,
        stop_after: Option<usize>,
    ) -> Ended {
        let mut steps = Vec::new();
        let mut replies = Vec::new();
        // Every call start the budget snapshots showed, each once.
        let mut starts: Vec<i64> = Vec::new();
        // A guard against a hung execution, not a timing: a loaded machine runs moto slowly.
        let deadline = std::time::Instant::now() + Duration::from_secs(600);
        let mut executions = vec![execution.to_string()];
        loop {
            let current = executions.last().unwrap().clone();
            let (status, output, error, cause) = self.status(&current).await;
            let output: Option<Value> = output.map(|o| serde_json::from_str(&o).unwrap());
            let next = output
                .as_ref()
                .and_then(|o| o["continuation"]["execution_arn"].as_str());
            if let (true, Some(next)) = (status == "SUCCEEDED", next) {
                // The job went on in a new execution (ContinueAsNew): follow it.
                executions.push(next.to_string());
                continue;
            }
            let chunks = steps.iter().filter(|(s, _)| s == "chunk").count();
            if status != "RUNNING" || stop_after.is_some_and(|n| chunks >= n) {
                return Ended {
                    status,
                    output,
                    error,
                    cause,
                    steps,
                    replies,
                    executions,
                    call_starts: starts,
                };
            }
            assert!(
                std::time::Instant::now() < deadline,
                "execution still running: {steps:?}"
            );
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(1)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            for m in received.messages() {
                let body = m.body().unwrap().to_string();
                let message: Value = serde_json::from_str(&body).unwrap();
                let step = message["step"].as_str().unwrap().to_string();
                if step == "start_execution" {
                    self.start_execution(&message).await;
                    steps.push((step, None));
                    self.delete(m.receipt_handle().unwrap()).await;
                    continue;
                }
                let event = json!({"Records": [{
                    "messageId": m.message_id().unwrap_or_default(),
                    "eventSource": "aws:sqs",
                    "body": body,
                }]});
                let run_id = format!("step-{}", steps.len());
                let began = chrono::Utc::now().timestamp_millis();
                let invocation = handler
                    .handle_event(event, now, &run_id, None)
                    .await
                    .unwrap();
                let Invocation::Queue(q) = invocation else {
                    panic!("a queue event ran as a direct invocation")
                };
                for done in &q.steps {
                    if let Some(e) = &done.error {
                        eprintln!("{step} failed: {e}");
                    }
                    steps.push((step.clone(), done.error_type.map(str::to_string)));
                    if let Some(r) = &done.reply {
                        replies.push(serde_json::to_value(r).unwrap());
                    }
                }
                // The calls this step made: those the budget object lists from the step's
                // start on (a recorded start rounds down by at most a millisecond; the
                // previous step's calls are tens of milliseconds older).
                let snap = self.budget().await;
                starts.extend(snap.into_iter().filter(|t| *t >= began - 1));
                starts.sort_unstable();
                self.delete(m.receipt_handle().unwrap()).await;
            }
        }
    }

    async fn delete(&self, receipt: &str) {
        self.sqs
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt)
            .send()
            .await
            .unwrap();
    }

    /// What Step Functions' `states:startExecution` integration does with a `ContinueAsNew`
    /// request (see [`definition_with`]): starts the execution and answers with its ARN and
    /// start, or fails the task with the service's error, as `StepFunctions.<exception>`.
    async fn start_execution(&self, message: &Value) {
        let token = message["task_token"].as_str().unwrap();
        let request = &message["request"];
        let input = match &request["Input"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let started = self
            .sfn
            .start_execution()
            .state_machine_arn(request["StateMachineArn"].as_str().unwrap())
            .name(request["Name"].as_str().unwrap())
            .input(input)
            .send()
            .await;
        match started {
            Ok(out) => {
                let output = json!({
                    "ExecutionArn": out.execution_arn,
                    "StartDate": out.start_date.secs(),
                });
                self.sfn
                    .send_task_success()
                    .task_token(token)
                    .output(output.to_string())
                    .send()
                    .await
                    .unwrap();
            }
            Err(e) => {
                let code = e
                    .as_service_error()
                    .and_then(|e| e.meta().code())
                    .unwrap_or("SdkClientException");
                self.sfn
                    .send_task_failure()
                    .task_token(token)
                    .error(format!("StepFunctions.{code}"))
                    .cause(e.to_string())
                    .send()
                    .await
                    .unwrap();
            }
        }
    }

    /// The call starts the shared budget object lists now, sorted.
    async fn budget(&self) -> Vec<i64> {
        let Ok(reply) = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key("fortiflex/staging/budget.json")
            .send()
            .await
        else {
            return Vec::new();
        };
        let body = reply.body.collect().await.unwrap().into_bytes();
        let budget: Value = serde_json::from_slice(&body).unwrap();
        let calls = budget["calls"].as_array().unwrap();
        calls.iter().map(|t| t.as_i64().unwrap()).collect()
    }

    /// Drops whatever messages are left (a stopped execution's).
    pub async fn purge(&self) {
        self.sqs
            .purge_queue()
            .queue_url(&self.queue_url)
            .send()
            .await
            .unwrap();
    }
}

/// The deployed handler wiring (Secrets Manager, S3, Step Functions) on moto, with `env`.
pub fn handler(
    config: &SdkConfig,
    env: Vec<(&'static str, String)>,
) -> Handler<SecretsManager, S3Sink> {
    let settings =
        LambdaSettings::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    Handler::for_aws(settings, config).unwrap()
}
