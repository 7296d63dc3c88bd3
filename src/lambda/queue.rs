//! The job queue's side of the function: Lambda hands it the state machine's messages as an
//! SQS event; each message names a step (`plan`, `chunk`, `finish`) and carries the task token
//! the step is answered with. What the state machine's definition sends is in
//! `infra/statemachine.asl.json`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::pipeline::job::StepReply;
use crate::pipeline::outcome::{RunOutcome, Status};

/// Whether `event` is an SQS event (a direct payload never has `Records`).
pub(crate) fn is_queue_event(event: &Value) -> bool {
    event.get("Records").is_some_and(Value::is_array)
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "Records")]
    records: Vec<Record>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "messageId", default)]
    message_id: String,
    body: String,
}

/// One message of the state machine.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Message {
    pub step: StepName,
    pub task_token: String,
    /// The execution's input (plan only): a payload as a direct invocation takes it.
    #[serde(default)]
    pub request: Option<Value>,
    #[serde(default)]
    pub job: Option<String>,
    #[serde(default)]
    pub cursor: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StepName {
    Plan,
    Chunk,
    Finish,
}

/// The messages of `event`, each read or refused on its own (with its message id).
pub(crate) fn messages(event: Value) -> Result<Vec<(String, Result<Message>)>> {
    let event: Event = serde_json::from_value(event)
        .map_err(|e| Error::StepFunctions(format!("not an SQS event: {e}")))?;
    Ok(event
        .records
        .into_iter()
        .map(|r| {
            let m = serde_json::from_str(&r.body).map_err(|e| {
                Error::StepFunctions(format!("message {} is not a job step: {e}", r.message_id))
            });
            (r.message_id, m)
        })
        .collect())
}

impl Message {
    /// The job a chunk or finish names.
    pub(crate) fn job(&self) -> Result<String> {
        self.job
            .clone()
            .ok_or_else(|| Error::StepFunctions("a chunk or finish message names no job".into()))
    }
}

/// A finished job as the execution's output: counts, not every report (Step Functions keeps
/// at most 256 KiB of state; the reports are in the bucket).
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    run_id: String,
    calls: u64,
    programs: Vec<ProgramSummary>,
}

#[derive(Debug, Serialize)]
struct ProgramSummary {
    program_serial_number: String,
    accounts: usize,
    written: usize,
    unchanged: usize,
    kept: usize,
    refused: usize,
    /// Days that left FortiFlex's retention before every account was fetched: not published.
    lost: usize,
    statements: usize,
    alerts: usize,
}

pub(crate) fn summary(outcome: &RunOutcome) -> Summary {
    let count = |p: &crate::pipeline::outcome::ProgramOutcome, s: Status| {
        p.days.iter().filter(|d| d.status == s).count()
    };
    Summary {
        run_id: outcome.run_id.clone(),
        calls: outcome.calls,
        programs: outcome
            .programs
            .iter()
            .map(|p| ProgramSummary {
                program_serial_number: p.program_serial_number.clone(),
                accounts: p.accounts.len(),
                written: count(p, Status::Written),
                unchanged: count(p, Status::Unchanged),
                kept: count(p, Status::Kept),
                refused: count(p, Status::Refused),
                lost: count(p, Status::Lost),
                statements: p.statements.len(),
                alerts: p.alerts.iter().map(|a| a.alerts.len()).sum(),
            })
            .collect(),
    }
}

/// What one invocation on the queue did, step by step.
#[derive(Debug, Default, Serialize)]
pub struct QueueOutcome {
    pub steps: Vec<StepDone>,
    /// The run outcome of a finish step (its metrics are the scheduled run's).
    #[serde(skip)]
    pub finished: Vec<RunOutcome>,
}

#[derive(Debug, Serialize)]
pub struct StepDone {
    pub message_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<StepReply>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_are_read_one_by_one() {
        let event = json!({"Records": [
            {"messageId": "1", "body": r#"{"step": "chunk", "task_token": "t", "job": "00000000000000ab", "cursor": 3}"#},
            {"messageId": "2", "body": r#"{"step": "stop", "task_token": "t"}"#},
        ]});
        assert!(is_queue_event(&event));
        assert!(!is_queue_event(&json!({"scheduled_time": "x"})));
        let m = messages(event).unwrap();
        let first = m[0].1.as_ref().unwrap();
        assert_eq!((first.step, first.cursor), (StepName::Chunk, Some(3)));
        assert_eq!(first.job().unwrap(), "00000000000000ab");
        let err = m[1].1.as_ref().unwrap_err();
        assert_eq!(err.kind(), "StepFunctions");
        assert!(err.to_string().contains("message 2"), "{err}");
    }
}
