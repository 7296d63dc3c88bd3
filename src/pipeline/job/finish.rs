//! A job's last step: once every day is published, what the one-invocation run does after
//! its reports (balance, alerts, statements, site: [`crate::pipeline::finish`]), then the
//! job's staging and state removed.

use super::assemble::scope_of;
use super::parts;
use super::state::JobState;
use crate::adapters::fortiflex::FortiFlexApi;
use crate::adapters::storage::Sink;
use crate::contract::keys::daily_keys;
use crate::domain::report::Catalog;
use crate::error::{Error, Result};
use crate::pipeline::balance_alerts::{self, Watched};
use crate::pipeline::metered::Metered;
use crate::pipeline::outcome::{Period, ProgramOutcome, ReportOutcome, RunOutcome, Status};
use crate::pipeline::program::locations;
use crate::pipeline::request::{Context, Request, Watch};

/// FortiFlex calls the finish makes when the job keeps watch: each program's balance, its
/// listing unless discovery read it, and its rates ([`balance_alerts::calls`]).
pub(super) fn calls(state: &JobState) -> u64 {
    if state.request.watch.is_none() {
        return state.organization_calls;
    }
    state.organization_calls
        + state
            .programs
            .iter()
            .map(|p| {
                scope_of(p).map_or(1 + u64::from(p.listed.is_none()), |s| {
                    balance_alerts::calls(&s)
                })
            })
            .sum::<u64>()
}

pub(super) async fn finish<A: FortiFlexApi, S: Sink>(
    api: &Metered<'_, A>,
    sink: &S,
    state: JobState,
    ctx: &Context,
) -> Result<RunOutcome> {
    if !state.done() {
        return Err(Error::InvalidRequest(format!(
            "job {} cannot finish: {} of {} items are staged and not every day is published",
            state.job,
            state.next_item,
            state.item_count()
        )));
    }
    let r = &state.request;
    let request = Request {
        daily: r.daily.clone(),
        restate_from: r.restate_from,
        force: r.force,
        statements: r.statements,
        site: r.site,
        watch: r.watch.map(|(low_runway_days, commitment)| Watch {
            low_runway_days,
            commitment: commitment.map(|c| c.0),
        }),
        ..Request::default()
    };
    let mut scopes = Vec::with_capacity(state.programs.len());
    let mut programs = Vec::with_capacity(state.programs.len());
    for (index, p) in state.programs.iter().enumerate() {
        let scope = scope_of(p)?;
        let mut watched = Watched::default();
        let mut days = Vec::with_capacity(p.days.len());
        for d in &p.days {
            let Some(done) = &d.done else { continue };
            if done.status == Status::Written {
                watched.days.push(d.day);
            }
            days.push(ReportOutcome {
                period: Period::Day { date: d.day },
                entitlements: done.entitlements,
                points: done.points.0,
                revision: done.revision,
                status: done.status,
                note: done.note.clone(),
                previous: None,
                keys: locations(sink, &daily_keys(&p.serial, d.day)),
                report: None,
            });
        }
        if request.watch.is_some() && !p.catalog_parts.is_empty() {
            let entitlements = parts::catalog(sink, &state, index).await?;
            let catalog = Catalog::new(entitlements, scope.configs.clone());
            watched.idle = catalog.idle().map(str::to_string).collect();
        }
        programs.push((
            ProgramOutcome {
                program_serial_number: p.serial.clone(),
                account_id: scope.account_id,
                accounts: scope.accounts.clone(),
                days,
                range: None,
                statements: Vec::new(),
                balance: None,
                alerts: Vec::new(),
                pushes: Vec::new(),
                tieouts: Vec::new(),
                organization: None,
            },
            watched,
        ));
        scopes.push(scope);
    }
    let scopes: Vec<_> = scopes.iter().collect();
    let programs =
        crate::pipeline::finish::finish(api, sink, programs, &scopes, &request, ctx).await?;
    parts::remove_job(sink, &state).await?;
    tracing::info!(job = %state.job, "job finished; staging removed");
    Ok(RunOutcome {
        run_id: ctx.run_id.clone(),
        dry_run: false,
        scheduled: request.statements,
        calls: api.calls(),
        programs,
    })
}
