//! What a chunk stages between invocations: parts of a program's catalog, and parts of a
//! day (per account, its fetched rows or "unchanged" when a restatement check found the
//! stored rows still right). Parts are written before the state that lists them, so a part
//! the state does not list is an orphan of a broken-off chunk and is never read.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::state::JobState;
use super::wire::{self, Raw};
use crate::adapters::storage::Sink;
use crate::contract::{JSON_CONTENT_TYPE, keys};
use crate::domain::records::{Entitlement, PointsRow};
use crate::error::{Error, Result};

/// One account's share of a staged day.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StagedAccount {
    pub account: u64,
    /// The stored rows of the account stand (a check found the same totals).
    #[serde(default)]
    pub unchanged: bool,
    #[serde(default)]
    pub rows: Vec<Raw>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct DayPart {
    accounts: Vec<StagedAccount>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CatalogPart {
    entitlements: Vec<Raw>,
}

/// What a chunk fetched and has not staged yet.
#[derive(Debug, Default)]
pub(super) struct Buffer {
    catalogs: BTreeMap<usize, Vec<Raw>>,
    days: BTreeMap<(usize, NaiveDate), Vec<StagedAccount>>,
}

impl Buffer {
    pub(super) fn catalog(&mut self, program: usize, entitlements: &[Entitlement]) {
        self.catalogs
            .entry(program)
            .or_default()
            .extend(entitlements.iter().map(wire::entitlement));
    }

    pub(super) fn rows(
        &mut self,
        program: usize,
        day: NaiveDate,
        account: u64,
        rows: &[PointsRow],
    ) {
        self.days
            .entry((program, day))
            .or_default()
            .push(StagedAccount {
                account,
                unchanged: false,
                rows: rows.iter().map(wire::row).collect(),
            });
    }

    pub(super) fn unchanged(&mut self, program: usize, day: NaiveDate, account: u64) {
        self.days
            .entry((program, day))
            .or_default()
            .push(StagedAccount {
                account,
                unchanged: true,
                rows: Vec::new(),
            });
    }

    /// Writes every buffered part, lists it in `state`, counts the `items` that fetched it as
    /// staged and saves the state: parts first, so the state never lists a missing one.
    pub(super) async fn stage(
        &mut self,
        sink: &impl Sink,
        state: &mut JobState,
        items: usize,
    ) -> Result<()> {
        let generation = state.generation();
        for (program, entitlements) in std::mem::take(&mut self.catalogs) {
            let part = state.parts;
            let p = &state.programs[program];
            let key = keys::staged_catalog_key(&state.job, &generation, &p.serial, part);
            put(sink, &key, &CatalogPart { entitlements }).await?;
            state.parts += 1;
            state.programs[program].catalog_parts.push(part);
        }
        for ((program, day), accounts) in std::mem::take(&mut self.days) {
            let part = state.parts;
            let p = &state.programs[program];
            let key = keys::staged_day_key(&state.job, &generation, &p.serial, day, part);
            put(sink, &key, &DayPart { accounts }).await?;
            state.parts += 1;
            if let Some(d) = state.programs[program]
                .days
                .iter_mut()
                .find(|d| d.day == day)
            {
                d.parts.push(part);
            }
        }
        state.next_item += items;
        state.save(sink).await
    }
}

async fn put(sink: &impl Sink, key: &str, part: &impl Serialize) -> Result<()> {
    let body = serde_json::to_vec(part)
        .map_err(|e| Error::Storage(format!("cannot encode a staged part: {e}")))?;
    sink.put(key, body, JSON_CONTENT_TYPE).await
}

async fn get<T: for<'de> Deserialize<'de>>(sink: &impl Sink, key: &str) -> Result<T> {
    let bytes = sink.get(key).await?.ok_or_else(|| {
        Error::Storage(format!(
            "the staged part {} that the job lists is missing",
            sink.location(key)
        ))
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::Storage(format!(
            "the staged part {} is unreadable: {e}",
            sink.location(key)
        ))
    })
}

/// Program `program`'s staged catalog.
pub(super) async fn catalog(
    sink: &impl Sink,
    state: &JobState,
    program: usize,
) -> Result<Vec<Entitlement>> {
    let p = &state.programs[program];
    let mut out = Vec::new();
    for part in &p.catalog_parts {
        let key = keys::staged_catalog_key(&state.job, &state.generation(), &p.serial, *part);
        let c: CatalogPart = get(sink, &key).await?;
        for e in &c.entitlements {
            out.push(wire::read(e, "entitlement")?);
        }
    }
    Ok(out)
}

/// Every account staged for `day` of program `program`.
pub(super) async fn day(
    sink: &impl Sink,
    state: &JobState,
    program: usize,
    day: NaiveDate,
) -> Result<Vec<StagedAccount>> {
    let p = &state.programs[program];
    let mut out = Vec::new();
    if let Some(d) = p.days.iter().find(|d| d.day == day) {
        for part in &d.parts {
            let key = keys::staged_day_key(&state.job, &state.generation(), &p.serial, day, *part);
            out.extend(get::<DayPart>(sink, &key).await?.accounts);
        }
    }
    Ok(out)
}

/// Rewrites every staged part the job may still read, when the last rewrite (or the plan) is
/// half the bucket's staging expiry ago: S3's lifecycle expires an object by the age of its
/// current version, so a rewritten part lives another full expiry, and no job, however long
/// it waits on the budget, outlives its own staging. Parts already removed (a published day's)
/// are skipped. How many were rewritten, or `None` when none was due; the caller saves the
/// state's new time.
pub(super) async fn refresh(
    sink: &impl Sink,
    state: &mut JobState,
    expiry: std::time::Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<usize>> {
    let last = state.refreshed_at.unwrap_or(state.created_at);
    let half = chrono::Duration::from_std(expiry / 2).unwrap_or(chrono::Duration::MAX);
    if now - last < half {
        return Ok(None);
    }
    let generation = state.generation();
    let mut keys = Vec::new();
    for p in &state.programs {
        for part in &p.catalog_parts {
            keys.push(keys::staged_catalog_key(
                &state.job,
                &generation,
                &p.serial,
                *part,
            ));
        }
        for d in p.days.iter().filter(|d| d.done.is_none()) {
            for part in &d.parts {
                keys.push(keys::staged_day_key(
                    &state.job,
                    &generation,
                    &p.serial,
                    d.day,
                    *part,
                ));
            }
        }
    }
    let mut rewritten = 0;
    for key in keys {
        if let Some(body) = sink.get(&key).await? {
            sink.put(&key, body, JSON_CONTENT_TYPE).await?;
            rewritten += 1;
        }
    }
    state.refreshed_at = Some(now);
    Ok(Some(rewritten))
}

/// Removes the staged parts of `day` (once it is published).
pub(super) async fn remove_day(
    sink: &impl Sink,
    state: &JobState,
    program: usize,
    day: NaiveDate,
) -> Result<()> {
    let p = &state.programs[program];
    if let Some(d) = p.days.iter().find(|d| d.day == day) {
        for part in &d.parts {
            let key = keys::staged_day_key(&state.job, &state.generation(), &p.serial, day, *part);
            sink.delete(&key).await?;
        }
    }
    Ok(())
}

/// Removes the staged catalogs and the state itself: the job is over.
pub(super) async fn remove_job(sink: &impl Sink, state: &JobState) -> Result<()> {
    for p in &state.programs {
        for part in &p.catalog_parts {
            let key = keys::staged_catalog_key(&state.job, &state.generation(), &p.serial, *part);
            sink.delete(&key).await?;
        }
    }
    sink.delete(&state.key()).await
}
