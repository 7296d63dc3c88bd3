//! One program's plan, read from the archive: what each requested day needs (fetch, check
//! or keep), the restatement checks, and the calls it will cost.

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::archive;
use super::balance_alerts as watch;
use super::discovery::{Scope, program_serial};
use super::plan::{self, DayPlan};
use super::request::{Context, Request};
use crate::adapters::credentials::Credentials;
use crate::adapters::fortiflex::PointsRow;
use crate::adapters::storage::Sink;
use crate::contract::keys;
use crate::domain::ids::{AccountId, Serial};
use crate::domain::report::{ReportKind, ReportSpec};
use crate::domain::window::DayRange;
use crate::error::{Error, Result};

/// A requested day: what it needs, what is stored, and (for a check) the stored rows.
pub(crate) struct PlannedDay {
    pub(crate) day: NaiveDate,
    pub(crate) plan: DayPlan,
    pub(crate) stored: Option<archive::Stored>,
    pub(crate) rows: Vec<PointsRow>,
}

/// One program's plan: the catalog accounts and what each day needs.
pub(crate) struct ProgramPlan {
    pub(crate) scope: Scope,
    pub(crate) days: Vec<PlannedDay>,
    pub(crate) checks: Vec<DayRange>,
    /// Accounts the range report asks (one call each), empty when it is config-scoped.
    pub(crate) range_accounts: Vec<AccountId>,
    pub(crate) catalog_accounts: Vec<AccountId>,
    pub(crate) calls: u64,
}

/// With the program known, a day past retention the archive lacks is refused before any
/// call (without it, after `programs/list`, in [`plan_program`]).
pub(crate) async fn refuse_forgotten_days(
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
        let keys = keys::report_keys(&daily_spec(&program, AccountId(0), day, ctx.timezone));
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

pub(crate) async fn plan_program(
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
        let keys = keys::report_keys(&daily_spec(
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
pub(crate) fn daily_spec(
    program: &Serial,
    account_id: AccountId,
    day: NaiveDate,
    timezone: Tz,
) -> ReportSpec {
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
