//! How a job step answers the state machine: the task token Step Functions put in the step's
//! message (`.waitForTaskToken`), answered with the step's reply or with its `errorType` and
//! message, which the state machine's `Retry` and the failed execution show; heartbeats while
//! it works, so a step that crashed is retried within the task's `HeartbeatSeconds`.

use std::future::Future;

use aws_config::SdkConfig;
use aws_sdk_sfn::error::ProvideErrorMetadata;

use crate::error::{Error, Result};

pub trait TaskCallback: Send + Sync {
    /// The task succeeded with `output` (JSON).
    fn succeed(&self, token: &str, output: String) -> impl Future<Output = Result<()>> + Send;
    /// The task failed with `error` (the errorType) and `cause` (the message).
    fn fail(
        &self,
        token: &str,
        error: &str,
        cause: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The task is still being worked on (`SendTaskHeartbeat`): `false` when it is over
    /// already (timed out and retried with another message, or answered), so the step this
    /// message asks for is stale.
    fn heartbeat(&self, token: &str) -> impl Future<Output = Result<bool>> + Send;
}

/// Step Functions' `SendTaskSuccess` and `SendTaskFailure`.
#[derive(Debug, Clone)]
pub struct StepFunctions {
    client: aws_sdk_sfn::Client,
}

impl StepFunctions {
    pub fn new(aws: &SdkConfig) -> Self {
        StepFunctions {
            client: aws_sdk_sfn::Client::new(aws),
        }
    }
}

/// The task is over already (timed out, or answered by an earlier delivery of the same
/// message): the execution has moved on, so there is nothing left to tell it.
fn gone(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken")
    )
}

fn failed(
    what: &str,
    e: &impl ProvideErrorMetadata,
    display: &dyn std::fmt::Display,
) -> Result<()> {
    if gone(e.code()) {
        tracing::warn!(code = e.code(), "{what}: the task is over already");
        return Ok(());
    }
    Err(Error::StepFunctions(format!(
        "{what} failed: {}",
        e.message()
            .map_or_else(|| display.to_string(), str::to_string)
    )))
}

impl TaskCallback for StepFunctions {
    async fn heartbeat(&self, token: &str) -> Result<bool> {
        match self
            .client
            .send_task_heartbeat()
            .task_token(token)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if gone(e.code()) => Ok(false),
            Err(e) => Err(Error::StepFunctions(format!(
                "SendTaskHeartbeat failed: {}",
                e.message().map_or_else(|| e.to_string(), str::to_string)
            ))),
        }
    }

    async fn succeed(&self, token: &str, output: String) -> Result<()> {
        match self
            .client
            .send_task_success()
            .task_token(token)
            .output(output)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => failed("SendTaskSuccess", &e, &e),
        }
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<()> {
        // Step Functions keeps at most 256 error and 32,768 cause characters.
        let error: String = error.chars().take(256).collect();
        let cause: String = cause.chars().take(32_768).collect();
        match self
            .client
            .send_task_failure()
            .task_token(token)
            .error(error)
            .cause(cause)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => failed("SendTaskFailure", &e, &e),
        }
    }
}
