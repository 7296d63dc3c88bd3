//! One chunk: the job's next items, in order, while the budget's hour window has room for
//! the next one and the invocation has time for it; what was fetched is staged, and every day
//! whose accounts are all staged is published. A chunk that stops for the budget says how
//! long to wait; one that fails stages what it fetched before the error, so a retry resumes.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use tokio::time::Instant;

use super::assemble::{self, Catalogs};
use super::horizon;
use super::parts::Buffer;
use super::state::{DayKind, Item, JobState, Work};
use crate::adapters::fortiflex::{EntitlementQuery, FortiFlexApi, Pacer, PointsQuery, PointsRow};
use crate::adapters::storage::Sink;
use crate::contract::keys::daily_keys;
use crate::domain::ids::AccountId;
use crate::domain::window::DayRange;
use crate::error::{Error, Result};
use crate::pipeline::archive;
use crate::pipeline::metered::Metered;
use crate::pipeline::program::sums;
use crate::pipeline::request::Context;

/// Time kept back from the invocation's end: staging, publishing the days completed, saving
/// the state.
const RESERVE: Duration = Duration::from_secs(120);
/// Items between two stagings, so a crash loses little work.
const STAGE_EVERY: usize = 200;

/// Runs items from `state.next_item` on, until `deadline` (the invocation's end) comes near;
/// returns how long the budget asks to wait (zero when the chunk stopped for time or ran out
/// of items).
pub(super) async fn run_chunk<A: FortiFlexApi, S: Sink>(
    api: &Metered<'_, A>,
    pacer: &Pacer,
    sink: &S,
    state: &mut JobState,
    ctx: &Context,
    deadline: Option<Instant>,
) -> Result<Duration> {
    let mut chunk = Chunk {
        api,
        sink,
        ctx,
        stored: BTreeMap::new(),
        buffer: Buffer::default(),
    };
    let mut catalogs = Catalogs::default();
    let mut buffered = 0;
    let mut wait = Duration::ZERO;
    let started = Instant::now();
    // Days that were complete before (a chunk that broke off after staging them).
    assemble::publish_complete(sink, state, ctx, &mut catalogs).await?;
    let items = state.items();
    // A chunk starts only when the window has room for a useful batch: a window spent to
    // its last few calls would otherwise make chunks of one call and a wait each, and a long
    // job would near Step Functions' 25,000 history events (about 11 per chunk).
    let useful = useful_chunk(&items[state.next_item.min(items.len())..], &ctx.limits);
    let room = pacer.wait_for(useful).await;
    if !room.is_zero() {
        return Ok(room);
    }
    super::budget::save_reserving(sink, pacer, batch_calls(&items, state.next_item)).await?;
    while state.next_item + buffered < items.len() {
        let index = state.next_item + buffered;
        let item = items[index].clone();
        // One call more than the item's: a login (a step's first call, or a token renewed)
        // is paced too, and must not leave the chunk waiting inside its invocation for the
        // window to free.
        let needed = pacer.wait_for(item.max_calls() + 1).await;
        if !needed.is_zero() {
            wait = needed;
            break;
        }
        if deadline.is_some_and(|d| {
            d.saturating_duration_since(Instant::now()) < RESERVE + ctx.limits.minute()
        }) {
            break;
        }
        // Checked before every item, not only at the step's start: a part written just after
        // a rewrite is read by a step that may start nearly half an expiry later and run long.
        super::keep_staging(sink, state, ctx).await?;
        if let Work::Fetch { day } = item.work {
            let at = ctx.now + chrono::Duration::from_std(started.elapsed()).unwrap_or_default();
            if let Some(why) = horizon::aged_out(day, at, ctx) {
                lose(state, &item, day, why);
            }
        }
        let lost = match item.work {
            Work::Fetch { day } => state.programs[item.program]
                .days
                .iter()
                .any(|d| d.day == day && d.kind == DayKind::Fetch && d.lost.is_some()),
            _ => false,
        };
        if lost {
            // Not asked: its answer would be FortiFlex's empty success, and the day is not
            // published anyway.
        } else if let Err(e) = chunk.run(state, &item).await {
            if matches!(e.root(), Error::WindowSpent(_)) {
                // FortiFlex refused it for a window another client spent: the state machine
                // waits it out, and this item runs first in the next chunk.
                tracing::warn!(error = %e, "FortiFlex's window is spent; the job waits");
                wait = pacer.wait_for(item.max_calls() + 1).await;
                break;
            }
            // What the items before this one fetched is good: stage it for the retry.
            chunk.buffer.stage(sink, state, buffered).await?;
            return Err(e);
        }
        buffered += 1;
        let completes_day = state.programs[item.program]
            .days
            .iter()
            .any(|d| d.last_item == Some(index));
        if completes_day || buffered >= STAGE_EVERY {
            chunk.buffer.stage(sink, state, buffered).await?;
            buffered = 0;
            let next = state.next_item;
            super::budget::save_reserving(sink, pacer, batch_calls(&items, next)).await?;
            assemble::publish_complete(sink, state, ctx, &mut catalogs).await?;
        }
    }
    chunk.buffer.stage(sink, state, buffered).await?;
    assemble::publish_complete(sink, state, ctx, &mut catalogs).await?;
    Ok(wait)
}

/// The calls a chunk waits to have room for before it starts: a tenth of the hour's budget,
/// or what is left of the job (a login besides) when that is less.
fn useful_chunk(left: &[Item], limits: &crate::adapters::fortiflex::Limits) -> u64 {
    let tenth = u64::from(limits.per_hour / 10).max(1);
    let rest = 1 + left.iter().map(Item::max_calls).sum::<u64>();
    tenth.min(rest)
}

/// The most calls the next [`STAGE_EVERY`] items from `from` can make (a login besides): what
/// the budget record reserves before they run.
fn batch_calls(items: &[Item], from: usize) -> u64 {
    1 + items
        .iter()
        .skip(from)
        .take(STAGE_EVERY)
        .map(Item::max_calls)
        .sum::<u64>()
}

/// Marks `day` of `item`'s program lost (once), saying why.
fn lose(state: &mut JobState, item: &Item, day: NaiveDate, why: String) {
    let serial = state.programs[item.program].serial.clone();
    if let Some(d) = state.programs[item.program]
        .days
        .iter_mut()
        .find(|d| d.day == day && d.kind == DayKind::Fetch && d.lost.is_none())
    {
        tracing::error!(program = %serial, day = %day, reason = %why, "day lost");
        d.lost = Some(why);
    }
}

struct Chunk<'a, A, S> {
    api: &'a Metered<'a, A>,
    sink: &'a S,
    ctx: &'a Context,
    /// Stored rows of checked days, read once per chunk.
    stored: BTreeMap<(usize, NaiveDate), Vec<PointsRow>>,
    buffer: Buffer,
}

impl<A: FortiFlexApi, S: Sink> Chunk<'_, A, S> {
    async fn run(&mut self, state: &JobState, item: &Item) -> Result<()> {
        let program = &state.programs[item.program];
        let account = AccountId(item.account);
        let context = |e: crate::error::Error| {
            e.during(format!("program {} account {account}", program.serial))
        };
        match item.work {
            Work::Catalog => {
                let query = EntitlementQuery {
                    account_id: Some(account),
                    program_serial_number: Some(program.serial.clone()),
                    ..Default::default()
                };
                let listed = self.api.entitlements(&query).await.map_err(context)?;
                self.buffer.catalog(item.program, &listed);
            }
            Work::Fetch { day } => {
                let rows = self
                    .points(state, item, DayRange::day(day))
                    .await
                    .map_err(context)?;
                self.buffer.rows(item.program, day, item.account, &rows);
            }
            Work::Check { start, end } => {
                let run = DayRange::new(start, end)?;
                let now = self.points(state, item, run).await.map_err(context)?;
                let mut was = sums(&[], account);
                for day in run.days() {
                    let stored = self.stored_rows(state, item.program, day).await?;
                    for (a, serials) in sums(stored, AccountId(program.account_id)) {
                        let into = was.entry(a).or_default();
                        for (s, p) in serials {
                            *into.entry(s).or_default() += p;
                        }
                    }
                }
                let was = was.remove(&account).unwrap_or_default();
                let now_sum = sums(&now, account).remove(&account).unwrap_or_default();
                if was == now_sum {
                    for day in run.days() {
                        self.buffer.unchanged(item.program, day, item.account);
                    }
                } else if run.is_single_day() {
                    self.buffer.rows(item.program, start, item.account, &now);
                } else {
                    // All days fetched before any is buffered: a failed item leaves nothing.
                    let mut fresh = Vec::new();
                    for day in run.days() {
                        let rows = self.points(state, item, DayRange::day(day)).await;
                        fresh.push((day, rows.map_err(context)?));
                    }
                    for (day, rows) in fresh {
                        self.buffer.rows(item.program, day, item.account, &rows);
                    }
                }
            }
        }
        Ok(())
    }

    /// The account's rows over `range`, each carrying its account.
    async fn points(
        &self,
        state: &JobState,
        item: &Item,
        range: DayRange,
    ) -> Result<Vec<PointsRow>> {
        let (start_date, end_date) = self.ctx.end_date.request_dates(range);
        let account = AccountId(item.account);
        let mut rows = self
            .api
            .points(&PointsQuery {
                start_date,
                end_date,
                account_id: Some(account),
                program_serial_number: Some(state.programs[item.program].serial.clone()),
                config_id: None,
                serial_number: None,
            })
            .await?;
        for r in &mut rows {
            r.account_id.get_or_insert(account);
        }
        Ok(rows)
    }

    async fn stored_rows(
        &mut self,
        state: &JobState,
        program: usize,
        day: NaiveDate,
    ) -> Result<&[PointsRow]> {
        if !self.stored.contains_key(&(program, day)) {
            let keys = daily_keys(&state.programs[program].serial, day);
            let rows = match archive::stored(self.sink, &keys).await? {
                Some(s) => archive::listed_rows(self.sink, &keys, &s)
                    .await?
                    .unwrap_or_default(),
                None => Vec::new(),
            };
            self.stored.insert((program, day), rows);
        }
        Ok(self
            .stored
            .get(&(program, day))
            .map(Vec::as_slice)
            .unwrap_or_default())
    }
}
