//! A job's first step: the request validated, the program(s) discovered and each day planned
//! against the archive exactly as a one-invocation run plans it, then cut into items.

use chrono::{Duration as Days, Utc};

use super::horizon::unreachable_days;
use super::state::{DayDone, DayKind, JobDay, JobProgram, JobRequest, JobState, VERSION};
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
use crate::pipeline::product_types;
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
    let mut scopes = discover(api, credentials).await?;
    let today = crate::domain::window::today(ctx.now, ctx.timezone);
    product_types::name(api, sink, &mut scopes, today, true).await?;
    for scope in scopes {
        plans.push(plan_program(scope, request, sink, oldest, restatable, ctx).await?);
    }
    let mut state = JobState {
        version: VERSION,
        job: job_request.id(),
        created_at: Utc::now(),
        request: job_request,
        programs: plans.iter().map(program).collect(),
        next_item: 0,
        parts: 0,
        refreshed_at: None,
        organization_calls: crate::pipeline::organizations::planned(sink, request, ctx).await,
    };
    state.index_days();
    let calls: u64 = state.items().iter().map(|i| i.max_calls()).sum();
    super::horizon::within_longest_job(calls, &ctx.limits).map_err(Error::Budget)?;
    // A day the budget cannot finish before FortiFlex forgets it is not started.
    let horizon = (ctx.timezone, ctx.retention_days);
    for (p, day, why) in unreachable_days(&state.items(), &ctx.limits, ctx.now, horizon) {
        tracing::warn!(program = %state.programs[p].serial, day = %day, reason = %why, "day lost");
        if let Some(d) = state.programs[p]
            .days
            .iter_mut()
            .find(|d| d.day == day && d.kind == DayKind::Fetch)
        {
            d.lost = Some(why);
        }
    }
    if let Some(item) = state
        .items()
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
        items = state.item_count(),
        "job planned"
    );
    state.save(sink).await?;
    Ok(state)
}

/// Program `p` as the job keeps it: its scope, each day's plan, the catalog and checks.
fn program(p: &ProgramPlan) -> JobProgram {
    let days = p
        .days
        .iter()
        .map(|d| {
            let (kind, done) = match &d.plan {
                DayPlan::Fetch => (DayKind::Fetch, None),
                DayPlan::Check => (DayKind::Check, None),
                DayPlan::Keep(why) => {
                    let stored = d.stored.as_ref();
                    let done = DayDone {
                        status: Status::Kept,
                        revision: stored.map(|s| s.revision),
                        entitlements: stored.map_or(0, |s| s.entitlements),
                        points: Exact(stored.map(|s| s.points).unwrap_or_default()),
                        note: Some(why.to_string()),
                    };
                    (DayKind::Keep, Some(done))
                }
            };
            JobDay {
                day: d.day,
                kind,
                last_item: None,
                parts: Vec::new(),
                done,
                lost: None,
            }
        })
        .collect::<Vec<_>>();
    let fetches = days.iter().any(|d| d.kind == DayKind::Fetch) || !p.checks.is_empty();
    JobProgram {
        serial: p.scope.serial.to_string(),
        account_id: p.scope.account_id.0,
        accounts: p.scope.accounts.iter().map(|a| a.0).collect(),
        configs: p.scope.configs.iter().map(wire::config).collect(),
        listed: p.scope.listed.as_ref().map(wire::program),
        catalog: if fetches {
            p.catalog_accounts.iter().map(|a| a.0).collect()
        } else {
            Vec::new()
        },
        checks: p.checks.iter().map(|r| (r.start(), r.end())).collect(),
        catalog_parts: Vec::new(),
        days,
    }
}
