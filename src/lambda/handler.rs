//! One Lambda invocation: payload → request → credentials → [`crate::pipeline::run`] → outcome;
//! or, on the job queue, each state machine message → [`crate::pipeline::job::run_step`] →
//! the task token answered. Everything the payload can get wrong is refused before the first
//! call.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::adapters::billing::BillingTargets;
use crate::adapters::fortiflex::{HttpFortiFlex, Pacer, http_client};
use crate::adapters::secrets::{CredentialSource, SecretsManager};
use crate::adapters::storage::{S3Sink, Sink};
use crate::adapters::task_callback::{StepFunctions, TaskCallback};
use crate::config::{LambdaSettings, Settings};
use crate::error::{Error, Result};
use crate::lambda::payload::{Payload, to_request};
use crate::lambda::queue::{self, Message, QueueOutcome, StepDone, StepName};
use crate::pipeline::job::{JobStep, StepOutcome, run_step};
use crate::pipeline::outcome::RunOutcome;
use crate::pipeline::progress::Logged;
use crate::pipeline::push::push_final;
use crate::pipeline::{Request, run};

/// The invocation's fixed parts, built once per container.
pub struct Handler<C, S> {
    http: reqwest::Client,
    /// Shared by every invocation of a warm container, so back-to-back runs are paced together.
    pacer: Arc<Pacer>,
    settings: Settings,
    credentials: C,
    sink: S,
    /// How job steps answer the state machine (`None`: this handler takes no queue events).
    tasks: Option<StepFunctions>,
    /// The billing systems' credentials (`PUSH_ON_FINAL`; `None`: nothing is pushed).
    billing: Option<SecretsManager>,
    /// The function's name: the `Function` dimension of the push metrics it prints.
    function: String,
}

/// What one invocation did: a direct run, or the job steps of a queue event.
#[derive(Debug, serde::Serialize)]
#[serde(untagged)]
pub enum Invocation {
    Run(RunOutcome),
    Queue(QueueOutcome),
}

impl Handler<SecretsManager, S3Sink> {
    /// The deployed wiring: credentials from Secrets Manager, reports to S3, both through
    /// `aws` (region, credentials and `AWS_ENDPOINT_URL` from the standard chain).
    pub fn for_aws(settings: LambdaSettings, aws: &SdkConfig) -> Result<Self> {
        if aws.region().is_none() {
            return Err(Error::Configuration(
                "no AWS region: set AWS_REGION (Lambda sets it)".into(),
            ));
        }
        let sink = S3Sink::from_sdk(
            aws,
            &settings.bucket,
            &settings.prefix,
            settings.force_path_style,
        )?;
        let secrets = SecretsManager::new(
            aws_sdk_secretsmanager::Client::new(aws),
            &settings.secret_id,
        );
        let http = http_client(settings.settings.request_timeout)?;
        let billing = settings
            .billing_secret_id
            .as_ref()
            .filter(|_| settings.settings.billing.push_on_final)
            .map(|id| SecretsManager::new(aws_sdk_secretsmanager::Client::new(aws), id));
        let mut handler = Handler::new(http, settings.settings, secrets, sink);
        handler.tasks = Some(StepFunctions::new(aws));
        handler.billing = billing;
        handler.function = settings.function_name;
        Ok(handler)
    }
}

impl<C: CredentialSource, S: Sink> Handler<C, S> {
    pub fn new(http: reqwest::Client, settings: Settings, credentials: C, sink: S) -> Self {
        Handler {
            http,
            pacer: Arc::new(Pacer::new(settings.limits)),
            settings,
            credentials,
            sink,
            tasks: None,
            billing: None,
            function: "fortiflex-reporter".into(),
        }
    }

    /// With `PUSH_ON_FINAL`, each statement of `run` that is final now goes to the billing
    /// systems (credentials read now); `Billing` when a customer failed.
    async fn push_finals(&self, run: &mut RunOutcome, now: DateTime<Utc>) -> Result<()> {
        let Some(secret) = &self.billing else {
            return Ok(());
        };
        if run.dry_run || run.programs.iter().all(|p| p.statements.is_empty()) {
            return Ok(());
        }
        let b = &self.settings.billing;
        let port =
            BillingTargets::new(&b.endpoints, secret.billing_credentials().await?, b.timeout)?;
        let pushed = push_final(&self.sink, &port, &mut run.programs, now).await;
        // Printed whether or not a customer failed: the alarm counts the differences.
        if let Some(line) = super::metrics::push_line(&self.function, run, now) {
            println!("{line}");
        }
        pushed
    }

    /// Any event: a queue event's job steps, else a direct payload's run.
    pub async fn handle_event(
        &self,
        event: Value,
        now: DateTime<Utc>,
        run_id: &str,
        time_left: Option<Duration>,
    ) -> Result<Invocation> {
        if queue::is_queue_event(&event) {
            self.handle_queue(event, now, run_id, time_left)
                .await
                .map(Invocation::Queue)
        } else {
            self.handle_within(event, now, run_id, time_left)
                .await
                .map(Invocation::Run)
        }
    }

    /// Runs the reports `event` asks for, as of `now`, with no deadline.
    pub async fn handle(
        &self,
        event: Value,
        now: DateTime<Utc>,
        run_id: &str,
    ) -> Result<RunOutcome> {
        self.handle_within(event, now, run_id, None).await
    }

    /// [`Handler::handle`] within `time_left` (the invocation's remaining time): a run that
    /// cannot fit is refused before its first per-account call. `run_id` goes into every
    /// manifest.
    pub async fn handle_within(
        &self,
        event: Value,
        now: DateTime<Utc>,
        run_id: &str,
        time_left: Option<Duration>,
    ) -> Result<RunOutcome> {
        let s = &self.settings;
        let request = self.request(event, now)?;
        let credentials = self.credentials.credentials().await?;
        let api = HttpFortiFlex::new(
            self.http.clone(),
            s.endpoints.clone(),
            &credentials,
            Arc::clone(&self.pacer),
            s.retry,
        );
        let mut ctx = s.context(now, run_id);
        ctx.calls_this_hour = self.pacer.calls_this_hour().await;
        ctx.time_left = time_left;
        let mut outcome = run(&api, &self.sink, &credentials, &request, &ctx, &Logged).await?;
        self.push_finals(&mut outcome, now).await?;
        Ok(outcome)
    }
}

/// How often a working step tells Step Functions it is alive: well inside the task states'
/// `HeartbeatSeconds` (300, `infra/statemachine.asl.json`; a template test checks the two).
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(60);

/// `work`, with a heartbeat for `token` every [`HEARTBEAT_EVERY`] while it runs. A failed
/// heartbeat is logged, not fatal: the step's own answer decides.
async fn with_heartbeats<T>(
    tasks: &impl TaskCallback,
    token: &str,
    work: impl std::future::Future<Output = T>,
) -> T {
    let beats = async {
        loop {
            tokio::time::sleep(HEARTBEAT_EVERY).await;
            match tasks.heartbeat(token).await {
                Ok(true) => {}
                Ok(false) => tracing::warn!("the step's task is over already; finishing it"),
                Err(e) => tracing::warn!(error = %e, "heartbeat failed"),
            }
        }
    };
    match futures_util::future::select(std::pin::pin!(work), std::pin::pin!(beats)).await {
        futures_util::future::Either::Left((out, _)) => out,
        futures_util::future::Either::Right((never, _)) => never,
    }
}

impl<C: CredentialSource, S: Sink> Handler<C, S> {
    /// The request a payload asks for; the scheduled run keeps watch (balance snapshot and
    /// alerts after its reports).
    fn request(&self, payload: Value, now: DateTime<Utc>) -> Result<Request> {
        let s = &self.settings;
        let payload = Payload::from_value(payload)?;
        let mut request = to_request(&payload, now, s.timezone, s.restate_days, s.retention_days)?;
        if request.statements {
            request.watch = Some(s.watch);
        }
        Ok(request)
    }

    /// Runs each message's step and answers its task token: the step's reply, or its
    /// `errorType` and message. Fails only when Step Functions cannot be answered (the queue
    /// then delivers the message again, and the step, being idempotent, runs again).
    async fn handle_queue(
        &self,
        event: Value,
        now: DateTime<Utc>,
        run_id: &str,
        time_left: Option<Duration>,
    ) -> Result<QueueOutcome> {
        let tasks = self.tasks.as_ref().ok_or_else(|| {
            Error::Configuration("this handler is not wired to Step Functions".into())
        })?;
        let mut outcome = QueueOutcome::default();
        for (message_id, message) in queue::messages(event)? {
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    // Without a token there is no one to answer: the message is dropped.
                    tracing::error!(error_type = e.kind(), error = %e, "unreadable job message");
                    continue;
                }
            };
            // A message redelivered after its task timed out (and was retried with another)
            // is stale: the step is not run again beside its retry.
            if !tasks.heartbeat(&message.task_token).await? {
                tracing::warn!(message_id, "stale job step: its task is over; not run");
                continue;
            }
            let step = self.job_step(&message, now);
            let result = match step {
                Ok(step) => {
                    // Boxed: the step's future is large, and kept once, on the heap.
                    let work = Box::pin(self.run_job_step(step, now, run_id, time_left));
                    with_heartbeats(tasks, &message.task_token, work).await
                }
                Err(e) => Err(e),
            };
            // A finished job's final months go to the billing systems before its answer.
            let result = match result {
                Ok(StepOutcome::Finished(mut run)) => self
                    .push_finals(&mut run, now)
                    .await
                    .map(|()| StepOutcome::Finished(run)),
                other => other,
            };
            let done = match result {
                Ok(StepOutcome::Progress(reply)) => {
                    tracing::info!(job = %reply.job, cursor = reply.cursor, items = reply.items, wait_seconds = reply.wait_seconds, done = reply.done, calls = reply.calls, "job step");
                    tasks.succeed(&message.task_token, json(&reply)).await?;
                    StepDone {
                        message_id,
                        reply: Some(reply),
                        error_type: None,
                        error: None,
                    }
                }
                Ok(StepOutcome::Finished(run)) => {
                    tasks
                        .succeed(&message.task_token, json(&queue::summary(&run)))
                        .await?;
                    outcome.finished.push(run);
                    StepDone {
                        message_id,
                        reply: None,
                        error_type: None,
                        error: None,
                    }
                }
                Err(e) => {
                    tracing::error!(error_type = e.kind(), error = %e, "job step failed");
                    tasks
                        .fail(&message.task_token, e.kind(), &e.to_string())
                        .await?;
                    StepDone {
                        message_id,
                        reply: None,
                        error_type: Some(e.kind()),
                        error: Some(e.to_string()),
                    }
                }
            };
            outcome.steps.push(done);
        }
        Ok(outcome)
    }

    fn job_step(&self, message: &Message, now: DateTime<Utc>) -> Result<JobStep> {
        Ok(match message.step {
            StepName::Plan => {
                let payload = message
                    .request
                    .clone()
                    .unwrap_or(Value::Object(Default::default()));
                JobStep::Plan(self.request(payload, now)?)
            }
            StepName::Chunk => JobStep::Chunk {
                job: message.job()?,
                cursor: message.cursor.unwrap_or(0),
            },
            StepName::Finish => JobStep::Finish {
                job: message.job()?,
            },
        })
    }

    async fn run_job_step(
        &self,
        step: JobStep,
        now: DateTime<Utc>,
        run_id: &str,
        time_left: Option<Duration>,
    ) -> Result<StepOutcome> {
        let s = &self.settings;
        let credentials = self.credentials.credentials().await?;
        let mut ctx = s.context(now, run_id);
        ctx.time_left = time_left;
        let connect = |pacer| {
            HttpFortiFlex::new(
                self.http.clone(),
                s.endpoints.clone(),
                &credentials,
                pacer,
                s.retry,
            )
        };
        run_step(connect, &self.sink, &credentials, step, &ctx, &Logged).await
    }
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts heartbeats; answers nothing else.
    #[derive(Default)]
    struct Beats(AtomicUsize);

    impl TaskCallback for Beats {
        async fn succeed(&self, _: &str, _: String) -> Result<()> {
            Ok(())
        }
        async fn fail(&self, _: &str, _: &str, _: &str) -> Result<()> {
            Ok(())
        }
        async fn heartbeat(&self, _: &str) -> Result<bool> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(true)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_working_step_beats_every_minute_and_stops_when_done() {
        let beats = Beats::default();
        let work = async {
            tokio::time::sleep(Duration::from_secs(150)).await;
            "done"
        };
        assert_eq!(with_heartbeats(&beats, "token", work).await, "done");
        assert_eq!(beats.0.load(Ordering::SeqCst), 2, "at 60 s and 120 s");
        tokio::time::sleep(Duration::from_secs(300)).await;
        assert_eq!(beats.0.load(Ordering::SeqCst), 2, "none after the step");
    }
}
