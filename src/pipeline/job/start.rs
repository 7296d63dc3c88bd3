//! A job's first step: the request validated, the program(s) discovered and each day planned
//! against the archive exactly as a one-invocation run plans it, then cut into items.

use chrono::{Duration as Days, Utc};

use super::state::{
    DayDone, DayKind, Item, JobDay, JobProgram, JobRequest, JobState, VERSION, Work,
};
use super::wire;
use crate::adapters::credentials::Credentials;
use crate::adapters::fortiflex::FortiFlexApi;
use crate::adapters::storage::Sink;
use crate::domain::money::Exact;
use crate::error::{Error, Result};
use crate::pipeline::discovery::discover;
use crate::pipeline::metered::Metered;
use crate::pipeline::outcome::Status;
use crate::pipeline::plan::{self, DayPlan};
use crate::pipeline::program_plan::{ProgramPlan, plan_program, refuse_forgotten_days};
use crate::pipeline::request::{Context, Request};
use crate::pipeline::run::validate;

/// An unfinished job is resumed for this long after it was planned; an older one is planned
/// afresh (its stored days are then kept or checked, never fetched again).
const RESUME_HOURS: i64 = 24;

/// The job `request` asks for. A job writes daily reports of whole programs: a range report,
/// a filter or a dry run is refused (ask the function directly for those).
pub(super) fn job_request(request: &Request) -> Result<JobRequest> {
    let invalid = |what: &str| {
        Err(Error::InvalidRequest(format!(
            "a state machine run writes daily reports of whole programs; {what} is for a direct invocation"
        )))
    };
    if request.range.is_some() {
        return invalid("a range report");
    }
    if request.serial_filter.is_some()
        || request.config_filter.is_some()
        || request.account_filter.is_some()
    {
        return invalid("a filter");
    }
    if request.dry_run {
        return invalid("a dry run");
    }
    if request.daily.is_empty() {
        return Err(Error::InvalidRequest("the request names no day".into()));
    }
    Ok(JobRequest {
        daily: request.daily.clone(),
        restate_from: request.restate_from,
        force: request.force,
        statements: request.statements,
        site: request.site,
        watch: request
            .watch
            .map(|w| (w.low_runway_days, w.commitment.map(Exact))),
    })
}

/// Whether `state` is resumed rather than planned afresh.
pub(super) fn resumable(state: &JobState) -> bool {
    Utc::now() - state.created_at < Days::hours(RESUME_HOURS)
}

/// Plans `request` and saves the new job's state.
pub(super) async fn plan<A: FortiFlexApi, S: Sink>(
    api: &Metered<'_, A>,
    sink: &S,
    credentials: &Credentials,
    request: &Request,
    ctx: &Context,
) -> Result<JobState> {
    let job_request = job_request(request)?;
    let oldest = plan::oldest_available(ctx.now, ctx.timezone, ctx.retention_days);
    validate(request, ctx, oldest)?;
    refuse_forgotten_days(sink, credentials, request, ctx, oldest).await?;
    let mut restatable = plan::restatable_from(ctx.now, ctx.timezone, ctx.restate_days);
    if let Some(from) = request.restate_from {
        restatable = restatable.min(from);
    }
    let mut plans = Vec::new();
    for scope in discover(api, credentials).await? {
        plans.push(plan_program(scope, request, sink, oldest, restatable, ctx).await?);
    }
    let mut state = JobState {
        version: VERSION,
        job: job_request.id(),
        created_at: Utc::now(),
        request: job_request,
        programs: Vec::new(),
        items: Vec::new(),
        next_item: 0,
        parts: 0,
        calls: Vec::new(),
    };
    for (index, p) in plans.iter().enumerate() {
        let program = cut(index, p, &mut state.items);
        state.programs.push(program);
    }
    if let Some(item) = state
        .items
        .iter()
        .find(|i| i.max_calls() > u64::from(ctx.limits.per_hour))
    {
        return Err(Error::Budget(format!(
            "one item of this job needs {} calls, more than the {} an hour allows",
            item.max_calls(),
            ctx.limits.per_hour
        )));
    }
    tracing::info!(
        job = %state.job,
        programs = state.programs.len(),
        items = state.items.len(),
        "job planned"
    );
    state.save(sink).await?;
    Ok(state)
}

/// Program `index`'s items, appended to `items`: every account's catalog first (a day is
/// built against the whole catalog), then each fetched day account by account (so days are
/// published as they complete and staging stays small), then the restatement checks.
fn cut(index: usize, p: &ProgramPlan, items: &mut Vec<Item>) -> JobProgram {
    let item = |account: u64, work| Item {
        program: index,
        account,
        work,
    };
    let accounts: Vec<u64> = p.scope.accounts.iter().map(|a| a.0).collect();
    let mut days = Vec::with_capacity(p.days.len());
    let fetches = p.days.iter().any(|d| d.plan == DayPlan::Fetch) || !p.checks.is_empty();
    if fetches {
        items.extend(p.catalog_accounts.iter().map(|a| item(a.0, Work::Catalog)));
    }
    for d in &p.days {
        let (kind, note, done) = match &d.plan {
            DayPlan::Fetch => {
                items.extend(
                    accounts
                        .iter()
                        .map(|a| item(*a, Work::Fetch { day: d.day })),
                );
                (DayKind::Fetch, None, None)
            }
            DayPlan::Check => (DayKind::Check, None, None),
            DayPlan::Keep(why) => {
                let done = DayDone {
                    status: Status::Kept,
                    revision: d.stored.as_ref().map(|s| s.revision),
                    entitlements: d.stored.as_ref().map_or(0, |s| s.entitlements),
                    points: Exact(d.stored.as_ref().map(|s| s.points).unwrap_or_default()),
                    note: Some(why.to_string()),
                };
                (DayKind::Keep, Some(why.to_string()), Some(done))
            }
        };
        days.push(JobDay {
            day: d.day,
            kind,
            note,
            last_item: (kind == DayKind::Fetch).then(|| items.len() - 1),
            parts: Vec::new(),
            done,
        });
    }
    for run in &p.checks {
        let work = Work::Check {
            start: run.start(),
            end: run.end(),
        };
        items.extend(accounts.iter().map(|a| item(*a, work.clone())));
        for d in days
            .iter_mut()
            .filter(|d| d.kind == DayKind::Check && run.start() <= d.day && d.day <= run.end())
        {
            d.last_item = Some(items.len() - 1);
        }
    }
    JobProgram {
        serial: p.scope.serial.to_string(),
        account_id: p.scope.account_id.0,
        accounts,
        configs: p.scope.configs.iter().map(wire::config).collect(),
        listed: p.scope.listed.as_ref().map(wire::program),
        catalog_parts: Vec::new(),
        days,
    }
}
