//! A job's plan and progress, one small JSON object in the bucket (`staging/job=<ID>/job.json`):
//! Step Functions passes only the job's id and a cursor between states (its state is limited
//! to 256 KiB), so everything a chunk needs to resume is here. One chunk runs at a time
//! (the FIFO job queue hands out one step at a time), so the object has one writer.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::wire::Raw;
use crate::adapters::storage::Sink;
use crate::contract::JSON_CONTENT_TYPE;
use crate::contract::keys;
use crate::domain::money::Exact;
use crate::error::{Error, Result};
use crate::pipeline::outcome::Status;

/// Bumped when the layout changes; a job written by another layout is planned afresh.
pub(super) const VERSION: u32 = 1;

/// What a job was asked, in the terms of [`crate::pipeline::Request`] a job supports: daily
/// reports of whole programs, and what the scheduled run does after them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct JobRequest {
    pub daily: Vec<NaiveDate>,
    pub restate_from: Option<NaiveDate>,
    pub force: bool,
    pub statements: bool,
    pub site: bool,
    /// `low_runway_days` and the commitment (exact text) when the job keeps watch.
    pub watch: Option<(i64, Option<Exact>)>,
}

impl JobRequest {
    /// The job's id: the same request gives the same job, so a restarted execution (or
    /// EventBridge Scheduler's retry) resumes the work instead of starting over.
    pub(super) fn id(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        let digest = Sha256::digest(&canonical);
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What one piece of work does; each costs at most [`Item::max_calls`] FortiFlex calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub(super) enum Work {
    /// `entitlements/list` of the account: its part of the program's catalog.
    Catalog,
    /// `entitlements/points` of the account for one day.
    Fetch { day: NaiveDate },
    /// One range call over stored days `start..=end`; each day re-pulled if it differs.
    Check { start: NaiveDate, end: NaiveDate },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Item {
    /// Index into [`JobState::programs`].
    pub program: usize,
    pub account: u64,
    #[serde(flatten)]
    pub work: Work,
}

impl Item {
    /// The most calls the item can make: a check that finds a restatement over several days
    /// re-pulls each of them.
    pub(super) fn max_calls(&self) -> u64 {
        match self.work {
            Work::Catalog | Work::Fetch { .. } => 1,
            Work::Check { start, end } if start == end => 1,
            Work::Check { start, end } => 1 + (end - start).num_days().unsigned_abs() + 1,
        }
    }
}

/// What a requested day needs, as planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum DayKind {
    Fetch,
    Check,
    Keep,
}

/// A day's report once the job has decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct DayDone {
    pub status: Status,
    pub revision: Option<u64>,
    pub entitlements: usize,
    pub points: Exact,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct JobDay {
    pub day: NaiveDate,
    pub kind: DayKind,
    /// The index of the day's last item: once every item before `next_item` is staged and
    /// this one is among them, every account of the program is staged for the day.
    pub last_item: Option<usize>,
    /// Staged parts holding the day's rows (part numbers).
    pub parts: Vec<u64>,
    pub done: Option<DayDone>,
    /// Why the day left FortiFlex's retention before every account was fetched (or will,
    /// as planned): its remaining accounts are not asked and it is never published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct JobProgram {
    pub serial: String,
    pub account_id: u64,
    pub accounts: Vec<u64>,
    /// `configs/list` as discovery read it (FortiFlex's shape, see `wire`).
    pub configs: Vec<Raw>,
    /// `programs/list`'s entry, when discovery asked it.
    pub listed: Option<Raw>,
    /// Accounts whose entitlements make the catalog (every account, when any day is fetched).
    pub catalog: Vec<u64>,
    /// Runs of stored days to check, each one range call per account.
    pub checks: Vec<(NaiveDate, NaiveDate)>,
    pub catalog_parts: Vec<u64>,
    pub days: Vec<JobDay>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct JobState {
    pub version: u32,
    pub job: String,
    /// When the job was planned; also names its staging folder, so a re-planned job never
    /// reads an older plan's parts.
    pub created_at: DateTime<Utc>,
    pub request: JobRequest,
    pub programs: Vec<JobProgram>,
    /// Every item before this one is staged (chunks run items in order; see [`JobState::items`]).
    pub next_item: usize,
    /// Parts written so far: the next part's number.
    pub parts: u64,
    /// When the job's staged parts were last rewritten (`None`: never; they date from
    /// `created_at`). The bucket expires staging by age; see `parts::refresh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refreshed_at: Option<DateTime<Utc>>,
    /// The calls the finish lists FortiCloud's organization with (0: not asked).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub organization_calls: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl JobState {
    pub(super) fn key(&self) -> String {
        keys::job_state_key(&self.job)
    }

    /// The staging folder's generation name.
    pub(super) fn generation(&self) -> String {
        format!("gen={}", self.created_at.format("%Y%m%dT%H%M%SZ"))
    }

    /// The job's work in the order chunks run it, derived from the programs (so the state
    /// stays small whatever the program's size): per program, every account's catalog first
    /// (a day is built against the whole catalog), then each fetched day account by account
    /// (days are published as they complete, and staging stays small), then the checks.
    pub(super) fn items(&self) -> Vec<Item> {
        let mut items = Vec::new();
        for (program, p) in self.programs.iter().enumerate() {
            let item = |account: u64, work| Item {
                program,
                account,
                work,
            };
            items.extend(p.catalog.iter().map(|a| item(*a, Work::Catalog)));
            for d in p.days.iter().filter(|d| d.kind == DayKind::Fetch) {
                items.extend(
                    p.accounts
                        .iter()
                        .map(|a| item(*a, Work::Fetch { day: d.day })),
                );
            }
            for &(start, end) in &p.checks {
                items.extend(
                    p.accounts
                        .iter()
                        .map(|a| item(*a, Work::Check { start, end })),
                );
            }
        }
        items
    }

    /// Sets each day's `last_item`: the index of the last item that stages it.
    pub(super) fn index_days(&mut self) {
        for (i, item) in self.items().into_iter().enumerate() {
            let days = &mut self.programs[item.program].days;
            for d in days.iter_mut() {
                let staged_by = match item.work {
                    Work::Catalog => false,
                    Work::Fetch { day } => d.kind == DayKind::Fetch && d.day == day,
                    Work::Check { start, end } => {
                        d.kind == DayKind::Check && start <= d.day && d.day <= end
                    }
                };
                if staged_by {
                    d.last_item = Some(i);
                }
            }
        }
    }

    pub(super) fn item_count(&self) -> usize {
        self.items().len()
    }

    pub(super) fn all_staged(&self) -> bool {
        self.next_item >= self.item_count()
    }

    /// Every item staged and every requested day of every program decided: finish is next.
    pub(super) fn done(&self) -> bool {
        self.all_staged()
            && self
                .programs
                .iter()
                .all(|p| p.days.iter().all(|d| d.done.is_some()))
    }

    pub(super) async fn save(&self, sink: &impl Sink) -> Result<()> {
        let body = serde_json::to_vec(self)
            .map_err(|e| Error::Storage(format!("cannot encode the job's state: {e}")))?;
        sink.put(&self.key(), body, JSON_CONTENT_TYPE).await
    }

    /// The state of `job`, or `None` when there is none (never planned, or finished and
    /// removed) or it was written by another layout.
    pub(super) async fn load(sink: &impl Sink, job: &str) -> Result<Option<JobState>> {
        check_job_id(job)?;
        let key = keys::job_state_key(job);
        let Some(bytes) = sink.get(&key).await? else {
            return Ok(None);
        };
        let state: JobState = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Storage(format!(
                "the job state {} is unreadable: {e}",
                sink.location(&key)
            ))
        })?;
        Ok((state.version == VERSION).then_some(state))
    }
}

/// A job id is the hex digest [`JobRequest::id`] makes; anything else in a message is refused
/// before it reaches a key.
pub(super) fn check_job_id(job: &str) -> Result<()> {
    if job.len() == 16 && job.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(Error::InvalidRequest(format!(
            "job {job:?} is not a job id (16 hex digits)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::window::parse_date;

    #[test]
    fn one_request_one_job_and_checks_cost_their_repulls() {
        let day = parse_date("2025-11-08").unwrap();
        let r = JobRequest {
            daily: vec![day],
            restate_from: None,
            force: false,
            statements: true,
            site: true,
            watch: None,
        };
        assert_eq!(r.id(), r.clone().id());
        assert_eq!(r.id().len(), 16);
        assert!(check_job_id(&r.id()).is_ok());
        let other = JobRequest {
            force: true,
            ..r.clone()
        };
        assert_ne!(r.id(), other.id());
        assert_eq!(check_job_id("../x").unwrap_err().kind(), "InvalidRequest");
        let item = |work| Item {
            program: 0,
            account: 1,
            work,
        };
        assert_eq!(item(Work::Catalog).max_calls(), 1);
        let start = parse_date("2025-11-06").unwrap();
        assert_eq!(item(Work::Check { start, end: start }).max_calls(), 1);
        assert_eq!(item(Work::Check { start, end: day }).max_calls(), 4);
    }
}
