//! Work longer than one invocation, as AWS Step Functions runs it (`infra/statemachine.asl.json`):
//! **plan** the request once (the same planner as a one-invocation run) into items of at most a
//! few calls each, run **chunks** of items that fit the invocation's time and the calls left in
//! the budget's hour window, **wait** (a `Wait` state) when the window is spent, and **finish**
//! (balance, alerts, statements, site) once every day is published.
//!
//! Items are staged in the bucket as they are fetched (`staging/`); a day's whole-program
//! report is built and published only once every account of the program is staged for it, so
//! no partial report ever looks whole. Every step is idempotent: the state object says what is
//! staged and published, so a retried chunk, a redelivered message or a restarted execution
//! fetches nothing already staged or stored and writes no duplicate revision.

mod assemble;
mod budget;
mod chunk;
mod finish;
pub(crate) mod horizon;
pub use horizon::STAGING_EXPIRY;
mod parts;
mod start;
mod state;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use self::state::JobState;
use crate::adapters::credentials::Credentials;
use crate::adapters::fortiflex::{FortiFlexApi, Pacer};
use crate::adapters::storage::Sink;
use crate::contract::keys;
use crate::error::{Error, Result};
use crate::pipeline::lock;
use crate::pipeline::metered::Metered;
use crate::pipeline::outcome::RunOutcome;
use crate::pipeline::progress::Progress;
use crate::pipeline::request::{Context, Request};

/// One step of a job, as a state machine message names it.
#[derive(Debug, Clone, PartialEq)]
pub enum JobStep {
    /// Plan `request`, or resume the unfinished job of the same request.
    Plan(Request),
    /// Run the next items of `job`. `cursor` is where the previous chunk said it stopped; the
    /// state object is what counts (a stale message's cursor changes nothing).
    Chunk { job: String, cursor: usize },
    /// Balance, alerts, statements and site, then the staging removed.
    Finish { job: String },
}

/// What a plan or chunk step tells the state machine: the job, how far it is, and how long
/// to wait before the next chunk (the budget's hour window is spent until then).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReply {
    pub job: String,
    pub cursor: usize,
    pub items: usize,
    pub wait_seconds: u64,
    /// Every item is staged and every day published: the next step is finish.
    pub done: bool,
    /// FortiFlex calls this step made.
    pub calls: u64,
}

#[derive(Debug)]
pub enum StepOutcome {
    Progress(StepReply),
    Finished(RunOutcome),
}

/// Runs `step` under the output root's run lock (`Busy` while a direct run works there; the
/// state machine retries it). `connect` builds the FortiFlex client around the pacer the step
/// hands it, which knows the calls earlier steps made in the budget's windows (`budget`).
pub async fn run_step<A: FortiFlexApi, S: Sink>(
    connect: impl FnOnce(Arc<Pacer>) -> A,
    sink: &S,
    credentials: &Credentials,
    step: JobStep,
    ctx: &Context,
    progress: &dyn Progress,
) -> Result<StepOutcome> {
    let holder = match &step {
        JobStep::Plan(_) => format!("the plan of run {}", ctx.run_id),
        JobStep::Chunk { job, cursor } => format!("job {job} (chunk at item {cursor})"),
        JobStep::Finish { job } => format!("job {job} (finish)"),
    };
    let work = run_step_unlocked(connect, sink, credentials, step, ctx, progress);
    if !sink.shared() {
        return work.await;
    }
    lock::exclusively(sink, &holder, Box::pin(work)).await
}

async fn run_step_unlocked<A: FortiFlexApi, S: Sink>(
    connect: impl FnOnce(Arc<Pacer>) -> A,
    sink: &S,
    credentials: &Credentials,
    step: JobStep,
    ctx: &Context,
    progress: &dyn Progress,
) -> Result<StepOutcome> {
    // The invocation's end, fixed before planning takes its share of the time.
    let deadline = ctx.time_left.map(|t| tokio::time::Instant::now() + t);
    let (job, existing) = match &step {
        JobStep::Plan(request) => {
            let job = start::job_request(request)?.id();
            let existing = JobState::load(sink, &job).await?;
            (job, existing)
        }
        JobStep::Chunk { job, .. } | JobStep::Finish { job } => {
            (job.clone(), JobState::load(sink, job).await?)
        }
    };
    let ages = budget::ages(sink).await?;
    let pacer = Arc::new(Pacer::resume(ctx.limits, &ages));
    let client = connect(Arc::clone(&pacer));
    let api = Metered::new(&client, progress);
    let mut state = match (step, existing) {
        (JobStep::Plan(request), existing) => match existing.filter(start::resumable) {
            Some(s) => {
                tracing::info!(job = %s.job, next_item = s.next_item, "resuming the job");
                s
            }
            None => {
                let planned = start::plan(&api, sink, credentials, &request, ctx).await;
                if planned.is_err() {
                    budget::save(sink, &pacer).await?;
                }
                planned?
            }
        },
        (JobStep::Finish { .. }, None) => {
            // Finished and removed already: a redelivered finish finds nothing to do.
            tracing::info!(job = %job, "no such job (finished already)");
            return Ok(gone(job));
        }
        (JobStep::Chunk { cursor, .. }, None) => {
            // A chunk's task is live (a stale message is skipped before this), and its job's
            // finish cannot have run before it: the state was lost (expired or removed). Saying
            // "done" would publish a job with days missing as if it were whole.
            return Err(Error::Storage(format!(
                "job {job}'s state ({}) is missing mid-job (at item {cursor}): its staging expired \
                 or was removed. Nothing published is lost; start the job again to finish the \
                 rest",
                sink.location(&keys::job_state_key(&job))
            )));
        }
        (JobStep::Chunk { cursor, .. }, Some(state)) => {
            if cursor < state.next_item {
                // A retried or redelivered step: what it would redo is staged already.
                tracing::info!(job = %state.job, cursor, next_item = state.next_item, "resuming past the message's cursor");
            }
            state
        }
        (JobStep::Finish { .. }, Some(mut state)) => {
            keep_staging(sink, &mut state, ctx).await?;
            let outcome = finish::finish(&api, sink, state, ctx).await;
            budget::save(sink, &pacer).await?;
            return Ok(StepOutcome::Finished(outcome?));
        }
    };
    keep_staging(sink, &mut state, ctx).await?;
    // The chunk saves the state as it stages; the calls are saved even when it fails.
    let run = if state.done() {
        Ok(Duration::ZERO)
    } else {
        chunk::run_chunk(&api, &pacer, sink, &mut state, ctx, deadline).await
    };
    budget::save(sink, &pacer).await?;
    let wait = run?;
    // Once everything is published, finish may need the balance calls' room too.
    let done = state.done();
    let wait = if done && wait.is_zero() {
        pacer.wait_for(finish::calls(&state)).await
    } else {
        wait
    };
    Ok(StepOutcome::Progress(StepReply {
        job: state.job.clone(),
        cursor: state.next_item,
        items: state.item_count(),
        wait_seconds: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
        done: done && wait.is_zero(),
        calls: api.calls(),
    }))
}

fn gone(job: String) -> StepOutcome {
    StepOutcome::Progress(StepReply {
        job,
        cursor: 0,
        items: 0,
        wait_seconds: 0,
        done: true,
        calls: 0,
    })
}

/// Rewrites the job's staged parts when half the bucket's staging expiry has passed since they
/// were last written (`parts::refresh`), and saves the state's new time: at each step and
/// before each of a chunk's items. The wall clock, not `ctx.now`: what counts is how old the
/// objects are in the bucket.
async fn keep_staging<S: Sink>(sink: &S, state: &mut JobState, ctx: &Context) -> Result<()> {
    let now = chrono::Utc::now();
    if let Some(rewritten) = parts::refresh(sink, state, ctx.staging_expiry, now).await? {
        tracing::info!(job = %state.job, rewritten, "staging rewritten to outlive its expiry");
        state.save(sink).await?;
    }
    Ok(())
}
