//! One run, for both front ends: discover the program(s) and their accounts, plan every day
//! against the archive and the call budget, then fetch, build and publish. The CLI and the
//! Lambda only turn their input into a [`Request`] and print or return the [`RunOutcome`].

mod counted;
pub mod plan;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::archive;
use crate::config::Settings;
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::fortiflex::{EntitlementQuery, FortiFlexApi, Limits, PointsQuery, PointsRow};
use crate::ids::serial;
use crate::program::{Scope, discover};
use crate::progress::Progress;
use crate::publish::{self, Outcome, Published};
use crate::render;
use crate::report::{Catalog, Report, ReportKind, ReportSpec, build};
use crate::sink::Sink;
use crate::summary::{Period, PreviousOutcome, ProgramOutcome, ReportOutcome, RunOutcome, Status};
use crate::window::{DayRange, EndDateMode};
use counted::Counted;
use plan::DayPlan;

/// What to report. Daily reports always cover whole programs; filters shape the range report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Days for daily reports, in the order they are reported.
    pub daily: Vec<NaiveDate>,
    /// The range report to write under `ranges/`.
    pub range: Option<DayRange>,
    pub serial_filter: Option<String>,
    pub config_filter: Option<u64>,
    pub account_filter: Option<u64>,
    /// Stored days from this one on are checked for restatements even when older than the
    /// window counted from the clock (a scheduled event's own window, replayed later).
    pub restate_from: Option<NaiveDate>,
    /// Fetch and build, read and write nothing.
    pub dry_run: bool,
    /// Re-pull stored days and let a re-pull replace a report even with fewer accounts.
    pub force: bool,
    /// Keep every built daily report in the outcome (the demo prints them).
    pub keep_daily_reports: bool,
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
    range_accounts: Vec<u64>,
    catalog_accounts: Vec<u64>,
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
    let filtered = request.serial_filter.is_some()
        || request.config_filter.is_some()
        || request.account_filter.is_some();
    if filtered && !request.daily.is_empty() {
        return Err(Error::InvalidRequest(
            "daily reports cover the whole program; filter a range report instead".into(),
        ));
    }
    let serial_filter = request
        .serial_filter
        .as_deref()
        .map(|s| serial(s, "serial number"))
        .transpose()?;
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

    let api = Counted::new(api, progress);
    let mut scopes = discover(&api, credentials).await?;
    if let Some(account) = request.account_filter {
        let all: BTreeSet<u64> = scopes.iter().flat_map(|s| s.accounts.clone()).collect();
        scopes.retain(|s| s.accounts.contains(&account));
        if scopes.is_empty() {
            let all: Vec<String> = all.iter().map(u64::to_string).collect();
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
    for p in plans {
        let runner = ProgramRun {
            api: &api,
            sink,
            ctx,
            request,
            serial_filter: serial_filter.clone(),
            progress,
            catalog: Catalog::default(),
            scope: &p.scope,
        };
        programs.push(runner.run(&p).await?);
    }
    Ok(RunOutcome {
        run_id: ctx.run_id.clone(),
        dry_run: request.dry_run,
        calls: api.calls(),
        programs,
    })
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
        let keys = render::keys(&daily_spec(&scope, day, ctx.timezone));
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
    );
    Ok(ProgramPlan {
        scope,
        days,
        checks,
        range_accounts,
        catalog_accounts,
        calls,
    })
}

fn daily_spec(scope: &Scope, day: NaiveDate, timezone: Tz) -> ReportSpec {
    ReportSpec {
        kind: ReportKind::Daily,
        program_serial: scope.serial.clone(),
        account_id: scope.account_id,
        range: DayRange::day(day),
        timezone,
        serial_filter: None,
        config_filter: None,
        account_filter: None,
    }
}

/// Points rows of one day (or the stored sum of several) per account, per serial.
type Sums = BTreeMap<u64, BTreeMap<String, Decimal>>;

fn sums(rows: &[PointsRow], default_account: u64) -> Sums {
    let mut s = Sums::new();
    for r in rows.iter().filter(|r| !r.points.is_zero()) {
        *s.entry(r.account_id.unwrap_or(default_account))
            .or_default()
            .entry(r.serial_number.clone())
            .or_default() += r.points;
    }
    s
}

struct ProgramRun<'a, A, S> {
    api: &'a Counted<'a, A>,
    sink: &'a S,
    ctx: &'a Context,
    request: &'a Request,
    serial_filter: Option<String>,
    progress: &'a dyn Progress,
    catalog: Catalog,
    scope: &'a Scope,
}

impl<A: FortiFlexApi, S: Sink> ProgramRun<'_, A, S> {
    async fn run(mut self, plan: &ProgramPlan) -> Result<ProgramOutcome> {
        let scope = self.scope;
        let mut entitlements = Vec::new();
        for &account in &plan.catalog_accounts {
            entitlements.extend(
                self.api
                    .entitlements(&EntitlementQuery {
                        account_id: Some(account),
                        program_serial_number: Some(scope.serial.clone()),
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| e.during(format!("program {} account {account}", scope.serial)))?,
            );
        }
        self.catalog = Catalog::new(entitlements, scope.configs.clone());

        let mut done: BTreeMap<NaiveDate, ReportOutcome> = BTreeMap::new();
        let mut order = Vec::with_capacity(plan.days.len());
        for PlannedDay {
            day,
            plan: day_plan,
            stored,
            ..
        } in &plan.days
        {
            order.push(*day);
            let outcome = match day_plan {
                DayPlan::Keep(why) => Some(kept(stored.as_ref(), *day, why, self.sink, scope)),
                DayPlan::Fetch => {
                    let before = &order[..order.len() - 1];
                    let rows = self
                        .fetch(DayRange::day(*day), &scope.accounts, None)
                        .await
                        .map_err(|e| Self::failed_day(e, *day, before))?;
                    let report = self.build(daily_spec(scope, *day, self.ctx.timezone), rows)?;
                    Some(
                        self.publish(report, self.request.keep_daily_reports)
                            .await
                            .map_err(|e| Self::failed_day(e, *day, before))?,
                    )
                }
                DayPlan::Check => None,
            };
            if let Some(o) = outcome {
                self.progress.report(&scope.serial, &o);
                done.insert(*day, o);
            }
        }
        for run in &plan.checks {
            for o in self.check(*run, &plan.days).await? {
                self.progress.report(&scope.serial, &o);
                done.insert(period_day(&o), o);
            }
        }
        let days = order.iter().filter_map(|d| done.remove(d)).collect();

        let range = match self.request.range {
            None => None,
            Some(range) => {
                let rows = self
                    .fetch(range, &plan.range_accounts, self.request.config_filter)
                    .await
                    .map_err(|e| {
                        e.during(format!("range report {} to {}", range.start(), range.end()))
                    })?;
                let spec = ReportSpec {
                    kind: ReportKind::Range,
                    program_serial: scope.serial.clone(),
                    account_id: scope.account_id,
                    range,
                    timezone: self.ctx.timezone,
                    serial_filter: self.serial_filter.clone(),
                    config_filter: self.request.config_filter,
                    account_filter: self.request.account_filter,
                };
                let mut report = self.build(spec, rows)?;
                if let Some(c) = self.request.config_filter {
                    report.accounts = scope.config_account(c).into_iter().collect();
                }
                let o = self.publish(report, true).await?;
                self.progress.report(&scope.serial, &o);
                Some(o)
            }
        };
        Ok(ProgramOutcome {
            program_serial_number: scope.serial.clone(),
            account_id: scope.account_id,
            accounts: scope.accounts.clone(),
            days,
            range,
        })
    }

    /// `e`, naming the failed day and the days before it, which are kept.
    fn failed_day(e: Error, day: NaiveDate, before: &[NaiveDate]) -> Error {
        let kept = match (before.first(), before.last()) {
            (Some(first), Some(last)) => format!(
                "the {} report(s) before it were kept ({first} .. {last})",
                before.len()
            ),
            _ => "nothing was written".to_string(),
        };
        e.during(format!("daily report {day} failed; {kept}"))
    }

    /// Every row of `accounts` over `range` (or of one config), each with its account.
    async fn fetch(
        &self,
        range: DayRange,
        accounts: &[u64],
        config: Option<u64>,
    ) -> Result<Vec<PointsRow>> {
        let (start_date, end_date) = self.ctx.end_date.request_dates(range);
        let query = |account_id| PointsQuery {
            start_date,
            end_date,
            account_id,
            program_serial_number: Some(self.scope.serial.clone()),
            config_id: config,
            serial_number: self.serial_filter.clone(),
        };
        if config.is_some() {
            let mut q = query(None);
            q.program_serial_number = None;
            return self.api.points(&q).await;
        }
        let mut rows = Vec::new();
        for &account in accounts {
            let mut got = self
                .api
                .points(&query(Some(account)))
                .await
                .map_err(|e| e.during(format!("account {account}")))?;
            for r in &mut got {
                r.account_id.get_or_insert(account);
            }
            rows.append(&mut got);
        }
        Ok(rows)
    }

    fn build(&self, spec: ReportSpec, rows: Vec<PointsRow>) -> Result<Report> {
        let (start_date, end_date) = self.ctx.end_date.request_dates(spec.range);
        let request = PointsQuery {
            start_date,
            end_date,
            account_id: None,
            program_serial_number: Some(spec.program_serial.clone()),
            config_id: spec.config_filter,
            serial_number: spec.serial_filter.clone(),
        };
        let accounts = match spec.account_filter {
            Some(a) => vec![a],
            None => self.scope.accounts.clone(),
        };
        build(spec, request, accounts, rows, &self.catalog)
    }

    /// Checks a run of stored days with one range call per account; re-pulls single days
    /// only for accounts whose totals differ from the stored ones, and rebuilds those days
    /// from the stored rows of the other accounts and the fresh rows of these.
    async fn check(&self, run: DayRange, days: &[PlannedDay]) -> Result<Vec<ReportOutcome>> {
        let scope = self.scope;
        let own = scope.account_id;
        let in_run = || {
            days.iter()
                .filter(|d| d.plan == DayPlan::Check && d.day >= run.start() && d.day <= run.end())
        };
        let mut stored_rows: BTreeMap<NaiveDate, Vec<PointsRow>> = BTreeMap::new();
        let mut stored_sum = Sums::new();
        for d in in_run() {
            for (account, serials) in sums(&d.rows, own) {
                let into = stored_sum.entry(account).or_default();
                for (s, p) in serials {
                    *into.entry(s).or_default() += p;
                }
            }
            stored_rows.insert(d.day, d.rows.clone());
        }
        let mut fresh: BTreeMap<NaiveDate, Vec<PointsRow>> = BTreeMap::new();
        let mut differing = BTreeSet::new();
        for &account in &scope.accounts {
            let now = self.fetch(run, &[account], None).await.map_err(|e| {
                e.during(format!("restatement check {}..{}", run.start(), run.end()))
            })?;
            let now_sum = sums(&now, account).remove(&account).unwrap_or_default();
            if stored_sum.get(&account).cloned().unwrap_or_default() == now_sum {
                continue;
            }
            differing.insert(account);
            if run.is_single_day() {
                fresh.entry(run.start()).or_default().extend(now);
                continue;
            }
            for day in run.days() {
                let rows = self.fetch(DayRange::day(day), &[account], None).await?;
                fresh.entry(day).or_default().extend(rows);
            }
        }
        let mut out = Vec::new();
        for day in run.days() {
            let stored = days
                .iter()
                .find(|d| d.day == day)
                .and_then(|d| d.stored.as_ref());
            if differing.is_empty() {
                out.push(kept(stored, day, "", self.sink, scope));
                out.last_mut().expect("just pushed").status = Status::Unchanged;
                out.last_mut().expect("just pushed").note = None;
                continue;
            }
            let mut rows: Vec<PointsRow> = stored_rows
                .remove(&day)
                .unwrap_or_default()
                .into_iter()
                .filter(|r| !differing.contains(&r.account_id.unwrap_or(own)))
                .collect();
            rows.extend(fresh.remove(&day).unwrap_or_default());
            let report = self.build(daily_spec(scope, day, self.ctx.timezone), rows)?;
            out.push(
                self.publish(report, self.request.keep_daily_reports)
                    .await
                    .map_err(|e| e.during(format!("daily report {day} (restated)")))?,
            );
        }
        Ok(out)
    }

    async fn publish(&self, report: Report, keep: bool) -> Result<ReportOutcome> {
        let keys = render::keys(&report.spec);
        let locations = [&keys.csv, &keys.json, &keys.manifest]
            .iter()
            .map(|k| self.sink.location(k))
            .collect();
        let (status, revision, note, previous) = if self.request.dry_run {
            (Status::DryRun, None, None, None)
        } else {
            let options = publish::Options {
                force: self.request.force,
            };
            let Published {
                outcome,
                revision,
                previous,
                ..
            } = publish::publish(self.sink, &report, &self.ctx.run_id, Utc::now(), options).await?;
            let previous = previous.map(|p| PreviousOutcome {
                revision: p.revision,
                entitlements: p.entitlements,
                points: p.points,
            });
            match outcome {
                Outcome::Written => (Status::Written, Some(revision), None, previous),
                Outcome::Unchanged => (Status::Unchanged, Some(revision), None, None),
                Outcome::Kept(why) => {
                    tracing::warn!(
                        program = %report.spec.program_serial,
                        day = %report.spec.range.start(),
                        reason = %why,
                        "re-pull refused, stored report kept"
                    );
                    (Status::Refused, Some(revision), Some(why), previous)
                }
            }
        };
        Ok(ReportOutcome {
            period: period(&report.spec),
            entitlements: report.rows.len(),
            points: report.total,
            revision,
            status,
            note,
            previous,
            keys: locations,
            report: keep.then_some(report),
        })
    }
}

fn period(spec: &ReportSpec) -> Period {
    match spec.kind {
        ReportKind::Daily => Period::Day {
            date: spec.range.start(),
        },
        ReportKind::Range => Period::Range {
            start_date: spec.range.start(),
            end_date: spec.range.end(),
            serial_number: spec.serial_filter.clone(),
            config_id: spec.config_filter,
            account_id: spec.account_filter,
        },
    }
}

fn period_day(o: &ReportOutcome) -> NaiveDate {
    match o.period {
        Period::Day { date } => date,
        Period::Range { start_date, .. } => start_date,
    }
}

/// The outcome of a day not fetched: the stored report's totals, untouched.
fn kept(
    stored: Option<&archive::Stored>,
    day: NaiveDate,
    why: &str,
    sink: &impl Sink,
    scope: &Scope,
) -> ReportOutcome {
    let keys = render::keys(&daily_spec(scope, day, chrono_tz::UTC));
    ReportOutcome {
        period: Period::Day { date: day },
        entitlements: stored.map_or(0, |s| s.entitlements),
        points: stored.map_or(Decimal::ZERO, |s| s.points),
        revision: stored.map(|s| s.revision),
        status: Status::Kept,
        note: Some(why.to_string()),
        previous: None,
        keys: [keys.csv, keys.json, keys.manifest]
            .iter()
            .map(|k| sink.location(k))
            .collect(),
        report: None,
    }
}
