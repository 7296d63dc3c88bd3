//! One run, for both front ends: discover the program(s) and their accounts, plan every day
//! against the archive and the call budget, then fetch, build and publish. The CLI and the
//! Lambda only turn their input into a [`Request`] and print or return the [`RunOutcome`].

mod counted;
pub mod plan;
mod program_run;
pub mod site;
mod statements;
pub use statements::CUSTOMERS_KEY;
mod watch;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::archive;
use crate::config::Settings;
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::fortiflex::{FortiFlexApi, Limits, PointsRow};
use crate::ids::{AccountId, Serial};
use crate::payload::MAX_DAYS;
use crate::program::{Scope, discover, program_serial};
use crate::progress::Progress;
use crate::render;
use crate::report::{Catalog, ReportKind, ReportSpec};
use crate::sink::Sink;
use crate::summary::RunOutcome;
use crate::window::{self, DayRange, EndDateMode};
use counted::Counted;
use plan::DayPlan;
use program_run::ProgramRun;

/// What to report. Daily reports always cover whole programs; filters shape the range report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Days for daily reports, in the order they are reported.
    pub daily: Vec<NaiveDate>,
    /// The range report to write under `ranges/`.
    pub range: Option<DayRange>,
    pub serial_filter: Option<Serial>,
    pub config_filter: Option<u64>,
    pub account_filter: Option<AccountId>,
    /// Stored days from this one on are checked for restatements even when older than the
    /// window counted from the clock (a scheduled event's own window, replayed later).
    pub restate_from: Option<NaiveDate>,
    /// Fetch and build, read and write nothing.
    pub dry_run: bool,
    /// Re-pull stored days and let a re-pull replace a report even with fewer accounts.
    pub force: bool,
    /// Keep every built daily report in the outcome (the demo prints them).
    pub keep_daily_reports: bool,
    /// After the daily reports, rewrite the statements of the months they touch (and of the
    /// month before, so a closed month turns `final`): the scheduled run's job.
    pub statements: bool,
    /// After the daily reports, snapshot the balance and judge the alerts of the days written.
    pub watch: Option<Watch>,
    /// After the statements, rewrite the site (`site/index.html` and the statement pages).
    pub site: bool,
}

/// The settings of balance and alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watch {
    /// `low_runway` below this many days.
    pub low_runway_days: i64,
    /// A postpaid program's annual commitment in points.
    pub commitment: Option<rust_decimal::Decimal>,
}

impl Watch {
    /// These settings with `commitment` (a command-line flag) in place of the configured one.
    pub fn with_commitment(self, commitment: Option<rust_decimal::Decimal>) -> Self {
        Watch {
            commitment: commitment.or(self.commitment),
            ..self
        }
    }
}

impl Default for Watch {
    fn default() -> Self {
        Watch {
            low_runway_days: 30,
            commitment: None,
        }
    }
}

/// The run's clock, settings and limits.
#[derive(Debug, Clone)]
pub struct Context {
    pub now: DateTime<Utc>,
    pub run_id: String,
    pub timezone: Tz,
    pub end_date: EndDateMode,
    pub restate_days: u32,
    pub retention_days: u32,
    pub limits: Limits,
    /// FortiFlex calls already started this hour by this process (a warm Lambda's earlier runs).
    pub calls_this_hour: u64,
    /// How long the run may take (a Lambda's remaining time); `None`: as long as it needs.
    pub time_left: Option<Duration>,
}

impl Context {
    pub fn new(settings: &Settings, now: DateTime<Utc>, run_id: impl Into<String>) -> Self {
        Context {
            now,
            run_id: run_id.into(),
            timezone: settings.timezone,
            end_date: settings.end_date,
            restate_days: settings.restate_days,
            retention_days: settings.retention_days,
            limits: settings.limits,
            calls_this_hour: 0,
            time_left: None,
        }
    }
}

/// A requested day: what it needs, what is stored, and (for a check) the stored rows.
struct PlannedDay {
    day: NaiveDate,
    plan: DayPlan,
    stored: Option<archive::Stored>,
    rows: Vec<PointsRow>,
}

/// One program's plan: the catalog accounts and what each day needs.
struct ProgramPlan {
    scope: Scope,
    days: Vec<PlannedDay>,
    checks: Vec<DayRange>,
    /// Accounts the range report asks (one call each), empty when it is config-scoped.
    range_accounts: Vec<AccountId>,
    catalog_accounts: Vec<AccountId>,
    calls: u64,
}

/// Runs `request` for the program(s) of `credentials`, writing through `sink`.
pub async fn run<A: FortiFlexApi, S: Sink>(
    api: &A,
    sink: &S,
    credentials: &Credentials,
    request: &Request,
    ctx: &Context,
    progress: &dyn Progress,
) -> Result<RunOutcome> {
    let tz = ctx.timezone;
    let oldest = plan::oldest_available(ctx.now, tz, ctx.retention_days);
    validate(request, ctx, oldest)?;
    refuse_forgotten_days(sink, credentials, request, ctx, oldest).await?;

    let api = Counted::new(api, progress);
    let mut scopes = discover(&api, credentials).await?;
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
    let planned: u64 = plans.iter().map(|p| p.calls).sum();
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
        };
        programs.push(runner.run(p).await?);
    }
    // Balance, alerts and statements last: none of them may cost the day's reports. A bad
    // customers file fails the run after the balance and alerts are written (their customer
    // ids then fall back to account ids).
    let customers = if request.dry_run || !(request.statements || request.watch.is_some()) {
        Ok(None)
    } else {
        statements::customers(sink).await
    };
    let mut programs: Vec<_> = match request.watch.filter(|_| !request.dry_run) {
        Some(settings) => {
            let mut done = Vec::with_capacity(programs.len());
            for ((mut program, watched), plan) in programs.into_iter().zip(&plans) {
                let known = customers.as_ref().ok().and_then(Option::as_ref);
                let scope = &plan.scope;
                let (snapshot, alerts) =
                    watch::watch(&api, sink, scope, watched, known, &settings, ctx).await?;
                program.balance = Some(snapshot);
                program.alerts = alerts;
                done.push(program);
            }
            done
        }
        None => programs.into_iter().map(|(p, _)| p).collect(),
    };
    if request.statements && !request.dry_run && !request.daily.is_empty() {
        let customers = customers?;
        let today = window::today(ctx.now, ctx.timezone);
        for program in &mut programs {
            let serial = &program.program_serial_number;
            // Read before the statement is built: a stored day and the month's statement are
            // then never in memory together.
            let history = if request.site {
                Some(site::history(sink, serial, today, customers.as_ref()).await?)
            } else {
                None
            };
            let (outcomes, month) =
                statements::publish(sink, program, &request.daily, customers.as_ref(), ctx).await?;
            program.statements = outcomes;
            if let Some(history) = history {
                let extras = site::Extras {
                    snapshot: program.balance.as_ref(),
                    alerts: &program.alerts,
                    month: month.as_ref(),
                    restate_days: ctx.restate_days,
                    now: ctx.now,
                };
                let serial = &program.program_serial_number;
                site::publish_site(sink, serial, today, &history, &extras).await?;
            }
        }
    }
    Ok(RunOutcome {
        run_id: ctx.run_id.clone(),
        dry_run: request.dry_run,
        calls: api.calls(),
        programs,
    })
}

/// Everything about `request` judged before any call: daily partitions stay whole, at most
/// `MAX_DAYS` days, only complete days, and nothing FortiFlex no longer holds to fetch.
fn validate(request: &Request, ctx: &Context, oldest: NaiveDate) -> Result<()> {
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

/// With the program known, a day past retention the archive lacks is refused before any
/// call (without it, after `programs/list`, in [`plan_program`]).
async fn refuse_forgotten_days(
    sink: &impl Sink,
    credentials: &Credentials,
    request: &Request,
    ctx: &Context,
    oldest: NaiveDate,
) -> Result<()> {
    let Some(program) = program_serial(credentials)?.filter(|_| !request.dry_run) else {
        return Ok(());
    };
    let mut missing = Vec::new();
    for &day in request.daily.iter().filter(|d| **d < oldest) {
        let keys = render::keys(&daily_spec(&program, AccountId(0), day, ctx.timezone));
        if archive::stored(sink, &keys).await?.is_none() {
            missing.push(day);
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(plan::past_retention(&missing, oldest, ctx.retention_days))
    }
}

async fn plan_program(
    scope: Scope,
    request: &Request,
    sink: &impl Sink,
    oldest: NaiveDate,
    restatable: NaiveDate,
    ctx: &Context,
) -> Result<ProgramPlan> {
    let mut days = Vec::with_capacity(request.daily.len());
    let mut missing = Vec::new();
    for &day in &request.daily {
        let keys = render::keys(&daily_spec(
            &scope.serial,
            scope.account_id,
            day,
            ctx.timezone,
        ));
        let reading = |e: Error| e.during(format!("reading the stored daily report {day}"));
        let stored = if request.dry_run {
            None
        } else {
            archive::stored(sink, &keys).await.map_err(reading)?
        };
        let mut planned =
            match plan::day_plan(day, stored.is_some(), oldest, restatable, request.force) {
                Some(plan) => PlannedDay {
                    day,
                    plan,
                    stored,
                    rows: vec![],
                },
                None => {
                    missing.push(day);
                    continue;
                }
            };
        if let (DayPlan::Check, Some(s)) = (&planned.plan, &planned.stored) {
            match archive::listed_rows(sink, &keys, s)
                .await
                .map_err(reading)?
            {
                Some(rows) => planned.rows = rows,
                // A write broke off before its manifest: fetch the day whole.
                None => planned.plan = DayPlan::Fetch,
            }
        }
        days.push(planned);
    }
    if !missing.is_empty() {
        missing.sort_unstable();
        return Err(plan::past_retention(&missing, oldest, ctx.retention_days)
            .during(format!("program {}", scope.serial)));
    }
    let checks = plan::check_runs(
        days.iter()
            .filter(|d| d.plan == DayPlan::Check)
            .map(|d| d.day)
            .collect(),
    );
    let fetches = days.iter().filter(|d| d.plan == DayPlan::Fetch).count() as u64;
    let whole = fetches > 0 || !checks.is_empty();
    let range_accounts = match (request.range, request.config_filter, request.account_filter) {
        (None, _, _) | (Some(_), Some(_), _) => vec![],
        (Some(_), None, Some(a)) => vec![a],
        (Some(_), None, None) => scope.accounts.clone(),
    };
    let config_range = u64::from(request.range.is_some() && request.config_filter.is_some());
    let catalog_accounts = if whole {
        scope.accounts.clone()
    } else if let Some(c) = request.config_filter.filter(|_| request.range.is_some()) {
        scope.config_account(c).into_iter().collect()
    } else {
        range_accounts.clone()
    };
    let calls = plan::program_calls(
        catalog_accounts.len() as u64,
        scope.accounts.len() as u64,
        fetches,
        checks.len() as u64,
        range_accounts.len() as u64 + config_range,
    ) + if request.watch.is_some() && !request.dry_run {
        watch::calls(&scope)
    } else {
        0
    };
    Ok(ProgramPlan {
        scope,
        days,
        checks,
        range_accounts,
        catalog_accounts,
        calls,
    })
}

/// A whole-program daily report of `program`; its keys depend on the program and the day only.
fn daily_spec(program: &Serial, account_id: AccountId, day: NaiveDate, timezone: Tz) -> ReportSpec {
    ReportSpec {
        kind: ReportKind::Daily,
        program_serial: program.clone(),
        account_id,
        range: DayRange::day(day),
        timezone,
        serial_filter: None,
        config_filter: None,
        account_filter: None,
    }
}
