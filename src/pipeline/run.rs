//! One run, for both front ends: discover the program(s) and their accounts, plan every day
//! against the archive and the call budget, then fetch, build and publish. The CLI and the
//! Lambda only turn their input into a [`Request`] and print or return the [`RunOutcome`].

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::finish::finish;
use super::metered::Metered;
use super::plan::{self};
use super::program::ProgramRun;
use super::program_plan::{plan_program, refuse_forgotten_days};
use super::request::{Context, MAX_DAYS, Request};
use crate::adapters::credentials::Credentials;
use crate::adapters::fortiflex::FortiFlexApi;
use crate::adapters::storage::Sink;
use crate::domain::ids::AccountId;
use crate::domain::report::Catalog;
use crate::domain::window::DayRange;
use crate::error::{Error, Result};
use crate::pipeline::discovery::{Scope, discover};
use crate::pipeline::outcome::RunOutcome;
use crate::pipeline::progress::Progress;
use crate::pipeline::{lock, product_types};

/// Runs `request` for the program(s) of `credentials`, writing through `sink` under its run
/// lock when the sink is shared (a bucket; a dry run writes nothing and takes none): `Busy`
/// while a job step or another run works on the same output root.
pub async fn run<A: FortiFlexApi, S: Sink>(
    api: &A,
    sink: &S,
    credentials: &Credentials,
    request: &Request,
    ctx: &Context,
    progress: &dyn Progress,
) -> Result<RunOutcome> {
    let work = run_unlocked(api, sink, credentials, request, ctx, progress);
    if request.dry_run || !sink.shared() {
        return work.await;
    }
    let holder = format!("run {}", ctx.run_id);
    lock::exclusively(sink, &holder, Box::pin(work)).await
}

async fn run_unlocked<A: FortiFlexApi, S: Sink>(
    api: &A,
    sink: &S,
    credentials: &Credentials,
    request: &Request,
    ctx: &Context,
    progress: &dyn Progress,
) -> Result<RunOutcome> {
    let started = std::time::Instant::now();
    let tz = ctx.timezone;
    let oldest = plan::oldest_available(ctx.now, tz, ctx.retention_days);
    validate(request, ctx, oldest)?;
    refuse_forgotten_days(sink, credentials, request, ctx, oldest).await?;

    let api = Metered::new(api, progress);
    let mut scopes = discover(&api, credentials).await?;
    let today = crate::domain::window::today(ctx.now, tz);
    product_types::name(&api, sink, &mut scopes, today, !request.dry_run).await?;
    if let Some(account) = request.account_filter {
        let all: BTreeSet<AccountId> = scopes.iter().flat_map(|s| s.accounts.clone()).collect();
        scopes.retain(|s| s.accounts.contains(&account));
        if scopes.is_empty() {
            let all: Vec<String> = all.iter().map(AccountId::to_string).collect();
            return Err(Error::InvalidRequest(format!(
                "account {account} is not an account of the program(s) reported (accounts: {})",
                all.join(", ")
            )));
        }
    }

    let mut restatable = plan::restatable_from(ctx.now, tz, ctx.restate_days);
    if let Some(from) = request.restate_from {
        restatable = restatable.min(from);
    }
    let mut plans = Vec::with_capacity(scopes.len());
    for scope in scopes {
        plans.push(plan_program(scope, request, sink, oldest, restatable, ctx).await?);
    }
    let planned: u64 = plans.iter().map(|p| p.calls).sum::<u64>()
        + super::organizations::planned(sink, request, ctx).await;
    plan::ensure_fits(
        planned,
        ctx.calls_this_hour + api.calls(),
        ctx.limits,
        ctx.time_left,
    )?;
    progress.planned(
        planned,
        plan::duration_of(planned, ctx.calls_this_hour + api.calls(), ctx.limits),
    );

    let mut programs = Vec::with_capacity(plans.len());
    for p in &plans {
        let runner = ProgramRun {
            api: &api,
            sink,
            ctx,
            request,
            serial_filter: request.serial_filter.clone(),
            progress,
            catalog: Catalog::default(),
            scope: &p.scope,
            started,
        };
        programs.push(runner.run(p).await?);
    }
    let scopes: Vec<&Scope> = plans.iter().map(|p| &p.scope).collect();
    let programs = finish(&api, sink, programs, &scopes, request, ctx).await?;
    Ok(RunOutcome {
        run_id: ctx.run_id.clone(),
        dry_run: request.dry_run,
        scheduled: request.statements,
        calls: api.calls(),
        programs,
    })
}

/// Everything about `request` judged before any call: daily partitions stay whole, at most
/// `MAX_DAYS` days, only complete days, and nothing FortiFlex no longer holds to fetch.
pub(super) fn validate(request: &Request, ctx: &Context, oldest: NaiveDate) -> Result<()> {
    let tz = ctx.timezone;
    let filtered = request.serial_filter.is_some()
        || request.config_filter.is_some()
        || request.account_filter.is_some();
    if filtered && !request.daily.is_empty() {
        return Err(Error::InvalidRequest(
            "daily reports cover the whole program; filter a range report instead".into(),
        ));
    }
    let longest = request.range.map_or(0, |r| r.len_days() as usize);
    if longest.max(request.daily.len()) > MAX_DAYS as usize {
        return Err(Error::InvalidRequest(format!(
            "a run covers at most {MAX_DAYS} days, not {}",
            longest.max(request.daily.len())
        )));
    }
    if let Some(range) = request.range {
        range.ensure_complete(ctx.now, tz)?;
        plan::ensure_retained(range, oldest, ctx.retention_days)?;
    }
    for day in &request.daily {
        DayRange::day(*day).ensure_complete(ctx.now, tz)?;
    }
    if request.dry_run {
        // A dry run reads nothing stored, so a day past retention cannot be kept either.
        let past: Vec<NaiveDate> = request
            .daily
            .iter()
            .copied()
            .filter(|d| *d < oldest)
            .collect();
        if !past.is_empty() {
            return Err(plan::past_retention(&past, oldest, ctx.retention_days));
        }
    }
    Ok(())
}
