//! The Lambda: settings from the environment, AWS and HTTP clients built once per container,
//! then every invocation (a direct payload, or the job queue's SQS event) handed to
//! [`Handler::handle_event`]. A bad setting does not crash the
//! container: each invocation fails with a `Configuration` error naming it. A successful
//! invocation prints its CloudWatch metrics (EMF) to stdout.

use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use chrono::Utc;
use fortiflex_reporter::config::{LambdaLogging, LambdaSettings};
use fortiflex_reporter::lambda::handler::{Handler, Invocation};
use fortiflex_reporter::lambda::metrics;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    fortiflex_reporter::adapters::allocator::return_freed_memory();
    let logging = LambdaLogging::from_env();
    let logs = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(logging.level)
        .with_writer(std::io::stdout);
    if logging.json {
        logs.json().init();
    } else {
        logs.init();
    }
    let aws = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let handler = LambdaSettings::from_env().and_then(|s| Handler::for_aws(s, &aws));
    if let Err(e) = &handler {
        tracing::error!(error_type = e.kind(), error = %e, "cannot start; every invocation will fail");
    }
    let handler = Arc::new(handler);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let handler = Arc::clone(&handler);
        async move {
            let h = handler.as_ref().as_ref().map_err(Diagnostic::from)?;
            let run_id = event.context.request_id;
            // The invocation's deadline (ms since the epoch) bounds what the run may plan.
            // Lambda's is always ahead; one that is not (a local emulator's) means unknown.
            // One clock for the whole invocation: its day, its deadline, its manifests.
            let now = Utc::now();
            let now_ms = now.timestamp_millis().max(0) as u64;
            let time_left = event
                .context
                .deadline
                .checked_sub(now_ms)
                .filter(|ms| *ms > 0)
                .map(Duration::from_millis);
            let invocation = h
                .handle_event(event.payload, now, &run_id, time_left)
                .await
                .map_err(|e| {
                    tracing::error!(error_type = e.kind(), error = %e, run_id, "invocation failed");
                    Diagnostic::from(e)
                })?;
            let function = &event.context.env_config.function_name;
            // A run's metrics: a direct run's, or a finished job's (a plan or chunk has none).
            let runs = match &invocation {
                Invocation::Run(run) => std::slice::from_ref(run),
                Invocation::Queue(queue) => queue.finished.as_slice(),
            };
            for run in runs {
                for line in metrics::emf_lines(function, run, Utc::now()) {
                    println!("{line}");
                }
            }
            Ok::<_, Diagnostic>(invocation)
        }
    }))
    .await
}
