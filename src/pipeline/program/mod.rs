//! One program's share of a run: its catalog, then each day fetched, checked or kept, then
//! the range report. Rows are fetched per account and joined into whole-program reports.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::adapters::fortiflex::{EntitlementQuery, FortiFlexApi, PointsQuery, PointsRow};
use crate::adapters::storage::Sink;
use crate::domain::ids::{AccountId, Serial};
use crate::domain::report::{Catalog, Report, ReportKind, ReportSpec};
use crate::domain::window::DayRange;
use crate::error::{Error, Result};
use crate::pipeline::balance_alerts::Watched;
use crate::pipeline::discovery::Scope;
use crate::pipeline::job::horizon::aged_out;
use crate::pipeline::metered::Metered;
use crate::pipeline::outcome::{ProgramOutcome, ReportOutcome, Status};
use crate::pipeline::plan::DayPlan;
use crate::pipeline::program_plan::{PlannedDay, ProgramPlan, daily_spec};
use crate::pipeline::progress::Progress;
use crate::pipeline::request::{Context, Request};

mod report;
pub(super) use report::{as_stored, build_report, locations, publish_report};
use report::{lost, period_day};

/// Points rows of one day (or the stored sum of several) per account, per serial.
pub(super) type Sums = BTreeMap<AccountId, BTreeMap<String, Decimal>>;

pub(super) fn sums(rows: &[PointsRow], default_account: AccountId) -> Sums {
    let mut s = Sums::new();
    for r in rows.iter().filter(|r| !r.points.is_zero()) {
        *s.entry(r.account_id.unwrap_or(default_account))
            .or_default()
            .entry(r.serial_number.clone())
            .or_default() += r.points;
    }
    s
}

pub(super) struct ProgramRun<'a, A, S> {
    pub api: &'a Metered<'a, A>,
    pub sink: &'a S,
    pub ctx: &'a Context,
    pub request: &'a Request,
    pub serial_filter: Option<Serial>,
    pub progress: &'a dyn Progress,
    pub catalog: Catalog,
    pub scope: &'a Scope,
    /// When the run began: `ctx.now` plus what has passed since is the clock each fetch is
    /// checked against.
    pub started: std::time::Instant,
}

impl<A: FortiFlexApi, S: Sink> ProgramRun<'_, A, S> {
    /// The program's outcome, and the consumers of each day it fetched and wrote (when the
    /// request watches: its alerts are judged after the balance is known).
    pub(super) async fn run(mut self, plan: &ProgramPlan) -> Result<(ProgramOutcome, Watched)> {
        let scope = self.scope;
        let mut watched = Watched::default();
        let mut entitlements = Vec::new();
        for &account in &plan.catalog_accounts {
            entitlements.extend(
                self.api
                    .entitlements(&EntitlementQuery {
                        account_id: Some(account),
                        program_serial_number: Some(scope.serial.to_string()),
                        ..Default::default()
                    })
                    .await
                    .map_err(|e| e.during(format!("program {} account {account}", scope.serial)))?,
            );
        }
        self.catalog = Catalog::new(entitlements, scope.configs.clone());
        if self.request.watch.is_some() {
            watched.idle = self.catalog.idle().map(str::to_string).collect();
        }

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
                DayPlan::Keep(why) => Some(as_stored(
                    stored.as_ref(),
                    *day,
                    (Status::Kept, Some(why.to_string())),
                    self.sink,
                    scope,
                    self.ctx.timezone,
                )),
                DayPlan::Fetch => {
                    let before = &order[..order.len() - 1];
                    let rows = match self
                        .fetch_day(*day, &scope.accounts)
                        .await
                        .map_err(|e| Self::failed_day(e, *day, before))?
                    {
                        Ok(rows) => rows,
                        Err(why) => {
                            tracing::error!(program = %scope.serial, day = %day, reason = %why, "day lost");
                            let o = lost(*day, why);
                            self.progress.report(&scope.serial, &o);
                            done.insert(*day, o);
                            continue;
                        }
                    };
                    let report = self.build(
                        daily_spec(&scope.serial, scope.account_id, *day, self.ctx.timezone),
                        rows,
                    )?;
                    let o = self
                        .publish(report, self.request.keep_daily_reports)
                        .await
                        .map_err(|e| Self::failed_day(e, *day, before))?;
                    if self.request.watch.is_some() && o.status == Status::Written {
                        watched.days.push(*day);
                    }
                    Some(o)
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
                let report = self.build(spec, rows)?;
                let o = self.publish(report, true).await?;
                self.progress.report(&scope.serial, &o);
                Some(o)
            }
        };
        let outcome = ProgramOutcome {
            program_serial_number: scope.serial.to_string(),
            account_id: scope.account_id,
            accounts: scope.accounts.clone(),
            days,
            range,
            statements: Vec::new(),
            balance: None,
            alerts: Vec::new(),
            pushes: Vec::new(),
            tieouts: Vec::new(),
            organization: None,
        };
        Ok((outcome, watched))
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

    /// Every row of `accounts` for `day`, each account asked only while FortiFlex still holds
    /// the day (checked at each call: a run that crosses the Pacific midnight would otherwise
    /// get FortiFlex's empty success for the accounts after it). `Err(why)` when the day left
    /// retention before every account was asked: nothing of it may be published.
    async fn fetch_day(
        &self,
        day: NaiveDate,
        accounts: &[AccountId],
    ) -> Result<Result<Vec<PointsRow>, String>> {
        let mut rows = Vec::new();
        for &account in accounts {
            let at = self.ctx.now
                + chrono::Duration::from_std(self.started.elapsed()).unwrap_or_default();
            if let Some(why) = aged_out(day, at, self.ctx) {
                return Ok(Err(why));
            }
            rows.append(&mut self.fetch(DayRange::day(day), &[account], None).await?);
        }
        Ok(Ok(rows))
    }

    /// Every row of `accounts` over `range` (or of one config), each with its account.
    async fn fetch(
        &self,
        range: DayRange,
        accounts: &[AccountId],
        config: Option<u64>,
    ) -> Result<Vec<PointsRow>> {
        let (start_date, end_date) = self.ctx.end_date.request_dates(range);
        let query = |account_id| PointsQuery {
            start_date,
            end_date,
            account_id,
            program_serial_number: Some(self.scope.serial.to_string()),
            config_id: config,
            serial_number: self.serial_filter.as_ref().map(Serial::to_string),
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
        build_report(self.scope, self.ctx, &self.catalog, spec, rows)
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
        let mut stored_rows: BTreeMap<NaiveDate, &[PointsRow]> = BTreeMap::new();
        let mut stored_sum = Sums::new();
        for d in in_run() {
            for (account, serials) in sums(&d.rows, own) {
                let into = stored_sum.entry(account).or_default();
                for (s, p) in serials {
                    *into.entry(s).or_default() += p;
                }
            }
            stored_rows.insert(d.day, &d.rows);
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
                let status = (Status::Unchanged, None);
                out.push(as_stored(
                    stored,
                    day,
                    status,
                    self.sink,
                    scope,
                    self.ctx.timezone,
                ));
                continue;
            }
            let mut rows: Vec<PointsRow> = stored_rows
                .remove(&day)
                .unwrap_or_default()
                .iter()
                .filter(|r| !differing.contains(&r.account_id.unwrap_or(own)))
                .cloned()
                .collect();
            rows.extend(fresh.remove(&day).unwrap_or_default());
            let report = self.build(
                daily_spec(&scope.serial, scope.account_id, day, self.ctx.timezone),
                rows,
            )?;
            out.push(
                self.publish(report, self.request.keep_daily_reports)
                    .await
                    .map_err(|e| e.during(format!("daily report {day} (restated)")))?,
            );
        }
        Ok(out)
    }

    async fn publish(&self, report: Report, keep: bool) -> Result<ReportOutcome> {
        publish_report(self.sink, self.request, self.ctx, report, keep).await
    }
}
