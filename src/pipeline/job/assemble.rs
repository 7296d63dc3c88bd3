//! Publishing a job's days: a day whose accounts are all staged is built from the staged rows
//! (and, for a restatement check, the stored rows of the accounts found unchanged), published
//! as one revision exactly as a one-invocation run publishes it, recorded in the state, and
//! its staging removed. A day built twice (a chunk that broke off after publishing it) has
//! the same bytes and is found unchanged: no duplicate revision.

use std::collections::{BTreeMap, BTreeSet};

use super::parts::{self, StagedAccount};
use super::state::{DayDone, DayKind, JobProgram, JobState};
use super::wire;
use crate::adapters::storage::Sink;
use crate::contract::keys::daily_keys;
use crate::domain::ids::{AccountId, Serial};
use crate::domain::money::Exact;
use crate::domain::records::PointsRow;
use crate::domain::report::Catalog;
use crate::error::{Error, Result};
use crate::pipeline::archive;
use crate::pipeline::discovery::Scope;
use crate::pipeline::outcome::Status;
use crate::pipeline::program::{build_report, publish_report};
use crate::pipeline::program_plan::daily_spec;
use crate::pipeline::request::{Context, Request};

/// Catalogs read back from staging, once per chunk.
#[derive(Default)]
pub(super) struct Catalogs {
    by_program: BTreeMap<usize, Catalog>,
}

/// The program as discovery found it, read back from the state.
pub(super) fn scope_of(p: &JobProgram) -> Result<Scope> {
    Ok(Scope {
        serial: Serial::parse(&p.serial, "a job's program serial")?,
        account_id: AccountId(p.account_id),
        accounts: p.accounts.iter().copied().map(AccountId).collect(),
        configs: p
            .configs
            .iter()
            .map(|c| wire::read(c, "config"))
            .collect::<Result<_>>()?,
        listed: p
            .listed
            .as_ref()
            .map(|l| wire::read(l, "program"))
            .transpose()?,
    })
}

/// Publishes every day that is staged whole and not yet decided.
pub(super) async fn publish_complete(
    sink: &impl Sink,
    state: &mut JobState,
    ctx: &Context,
    catalogs: &mut Catalogs,
) -> Result<()> {
    for p in 0..state.programs.len() {
        for d in 0..state.programs[p].days.len() {
            let day = &state.programs[p].days[d];
            let complete = day.last_item.is_some_and(|l| l < state.next_item);
            if day.done.is_some() || !complete {
                continue;
            }
            let date = day.day;
            let done = match &day.lost {
                // Some accounts were never asked: nothing of it is published.
                Some(why) => lost_day(sink, state, p, date, why).await?,
                None => assemble_day(sink, state, p, d, ctx, catalogs)
                    .await
                    .map_err(|e| e.during(format!("daily report {date}")))?,
            };
            state.programs[p].days[d].done = Some(done);
            state.save(sink).await?;
            parts::remove_day(sink, state, p, date).await?;
        }
    }
    Ok(())
}

/// A lost day as the job reports it: the stored report (if any) untouched.
async fn lost_day(
    sink: &impl Sink,
    state: &JobState,
    p: usize,
    day: chrono::NaiveDate,
    why: &str,
) -> Result<DayDone> {
    let stored = archive::stored(sink, &daily_keys(&state.programs[p].serial, day)).await?;
    Ok(DayDone {
        status: Status::Lost,
        revision: stored.as_ref().map(|s| s.revision),
        entitlements: stored.as_ref().map_or(0, |s| s.entitlements),
        points: Exact(stored.map(|s| s.points).unwrap_or_default()),
        note: Some(why.to_string()),
    })
}

async fn assemble_day(
    sink: &impl Sink,
    state: &JobState,
    p: usize,
    d: usize,
    ctx: &Context,
    catalogs: &mut Catalogs,
) -> Result<DayDone> {
    let program = &state.programs[p];
    let (day, kind) = (program.days[d].day, program.days[d].kind);
    let scope = scope_of(program)?;
    let staged = parts::day(sink, state, p, day).await?;
    let unchanged: BTreeSet<u64> = staged
        .iter()
        .filter(|s| s.unchanged)
        .map(|s| s.account)
        .collect();
    let mut rows: Vec<PointsRow> = Vec::new();
    if kind == DayKind::Check && !unchanged.is_empty() {
        let keys = daily_keys(&program.serial, day);
        let stored = archive::stored(sink, &keys).await?;
        if let Some(s) = stored
            .as_ref()
            .filter(|_| unchanged.len() == scope.accounts.len())
        {
            return Ok(DayDone {
                status: Status::Unchanged,
                revision: Some(s.revision),
                entitlements: s.entitlements,
                points: Exact(s.points),
                note: None,
            });
        }
        // The accounts found unchanged keep their stored rows; a stored report that vanished
        // or changed since the check would lose them, so the day is refused instead.
        let kept = match &stored {
            Some(s) => archive::listed_rows(sink, &keys, s).await?,
            None => None,
        };
        let kept = kept.ok_or_else(|| {
            Error::Storage(format!(
                "the stored report of {day} changed while the job checked it; run the day again"
            ))
        })?;
        rows.extend(
            kept.into_iter()
                .filter(|r| unchanged.contains(&r.account_id.unwrap_or(scope.account_id).0)),
        );
    }
    for s in staged.iter().filter(|s: &&StagedAccount| !s.unchanged) {
        for r in &s.rows {
            rows.push(wire::read(r, "points row")?);
        }
    }
    let catalog = match catalogs.by_program.entry(p) {
        std::collections::btree_map::Entry::Occupied(c) => c.into_mut(),
        std::collections::btree_map::Entry::Vacant(v) => {
            let entitlements = parts::catalog(sink, state, p).await?;
            v.insert(Catalog::new(entitlements, scope.configs.clone()))
        }
    };
    let spec = daily_spec(&scope.serial, scope.account_id, day, ctx.timezone);
    let report = build_report(&scope, ctx, catalog, spec, rows)?;
    let request = Request {
        force: state.request.force,
        ..Request::default()
    };
    let o = publish_report(sink, &request, ctx, report, false).await?;
    Ok(DayDone {
        status: o.status,
        revision: o.revision,
        entitlements: o.entitlements,
        points: Exact(o.points),
        note: o.note,
    })
}
