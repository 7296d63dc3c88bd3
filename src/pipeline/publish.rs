//! Writing a report as one revision ([`Revision`]): data files first, manifest last, and
//! nothing at all when the data is byte-identical to what the current manifest lists. A
//! changed day gets `revision` + 1 and a `previous` block; a re-pull that would empty an
//! account the stored report had rows for is refused unless forced, since FortiFlex answers
//! "nothing" for days it no longer holds.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::archive::revision::{Guard, Revised, Revision, StagedFile};
use crate::adapters::storage::{Sink, Staged};
use crate::contract::keys::{self, Keys};
use crate::contract::{self, CSV_CONTENT_TYPE, JSON_CONTENT_TYPE, Previous, RunInfo};
use crate::domain::ids::AccountId;
use crate::domain::records::PointsRow;
use crate::domain::report::{Report, ReportKind};
use crate::domain::statement::DayMeta;
use crate::error::Result;
use crate::pipeline::archive::{self, Stored};

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The data files and then the manifest were written.
    Written,
    /// The current manifest already lists these exact bytes: nothing was written.
    Unchanged,
    /// The stored report was kept and nothing written; the reason says why.
    Kept(String),
}

/// The totals of the revision a restatement replaced (or a refused re-pull left in place).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PreviousTotals {
    pub revision: u64,
    pub entitlements: usize,
    pub points: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Published {
    pub keys: Keys,
    pub outcome: Outcome,
    /// The revision now current: the new one, or the unchanged or kept one.
    pub revision: u64,
    /// For a restatement, what revision - 1 held.
    pub previous: Option<PreviousTotals>,
}

/// How far publishing may go.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Options {
    /// Replace a stored report even by one that lost an account's rows.
    pub force: bool,
}

/// Accounts with rows in `stored` that have none in `report`.
fn emptied_accounts(stored: &[PointsRow], report: &Report) -> Vec<AccountId> {
    let mut before: BTreeMap<AccountId, usize> = BTreeMap::new();
    for r in stored {
        *before
            .entry(r.account_id.unwrap_or(report.spec.account_id))
            .or_default() += 1;
    }
    let now = report.account_totals();
    before
        .into_keys()
        .filter(|a| !now.iter().any(|t| t.account_id == *a && t.entitlements > 0))
        .collect()
}

/// Refuses a re-pull that left an account with no rows the stored report had, unless forced:
/// FortiFlex answers "nothing" for days it no longer holds.
struct KeepAccounts<'a, S> {
    sink: &'a S,
    keys: &'a Keys,
    report: &'a Report,
    force: bool,
}

impl<S: Sink> Guard<Stored> for KeepAccounts<'_, S> {
    async fn refuse(&self, stored: &Stored) -> Result<Option<String>> {
        if self.force || stored.entitlements == 0 {
            return Ok(None);
        }
        let rows = archive::stored_rows(self.sink, self.keys).await?;
        let emptied = emptied_accounts(&rows, self.report);
        if emptied.is_empty() {
            return Ok(None);
        }
        let why = if self.report.rows.is_empty() {
            format!(
                "the stored report has {} row(s) and FortiFlex now answers none",
                stored.entitlements
            )
        } else {
            let list: Vec<String> = emptied.iter().map(AccountId::to_string).collect();
            format!(
                "account(s) {} had rows in the stored report and have none now",
                list.join(", ")
            )
        };
        Ok(Some(format!(
            "{why}; revision {} kept (force replaces it)",
            stored.revision
        )))
    }
}

/// Renders `report` and writes it through `sink` as one revision ([`Revision`]). `run_id`
/// and `now` only reach the manifest.
pub(crate) async fn publish(
    sink: &impl Sink,
    report: &Report,
    run_id: &str,
    now: DateTime<Utc>,
    options: Options,
) -> Result<Published> {
    let keys = keys::report_keys(&report.spec);
    // Rendered to disk, not memory: hashes first, bytes moved or streamed only if needed.
    let (csv, json) = Staged::render_pair(|c, j| contract::write_csv_and_json(report, c, j))?;
    let rows = report.rows.len();
    let revision = Revision {
        manifest_key: &keys.manifest,
        files: vec![
            StagedFile::new(&keys.csv, "csv", rows, csv, CSV_CONTENT_TYPE),
            StagedFile::new(&keys.json, "json", rows, json, JSON_CONTENT_TYPE),
        ],
    };
    let current = archive::stored(sink, &keys).await?;
    let stored_manifest = current.as_ref().map(|c| c.manifest_sha256.clone());
    let previous = current.as_ref().map(|c: &Stored| PreviousTotals {
        revision: c.revision,
        entitlements: c.entitlements,
        points: c.points,
    });
    let guard = KeepAccounts {
        sink,
        keys: &keys,
        report,
        force: options.force,
    };
    let mut written_manifest = None;
    let written = revision
        .write(sink, current, &guard, |files, revision, current| {
            let run = RunInfo {
                run_id: run_id.into(),
                generated_at: now,
                revision,
                previous: current.map(|c| Previous {
                    revision: c.revision,
                    totals: c.totals,
                    files: c.files,
                }),
            };
            let manifest = contract::manifest(report, files, &run)?;
            written_manifest = Some(contract::sha256_hex(&manifest));
            Ok(manifest)
        })
        .await?;
    let (outcome, previous) = match &written {
        Revised::New(_) => (Outcome::Written, previous),
        Revised::Unchanged(_) => (Outcome::Unchanged, None),
        Revised::Kept(_, why) => (Outcome::Kept(why.clone()), previous),
    };
    // The day's rollup names the manifest now current: the one just written (no rollup can
    // name it yet), or the unchanged one (whose rollup may be missing in an old archive).
    if report.spec.kind == ReportKind::Daily {
        let meta = |manifest_sha256| DayMeta {
            date: report.spec.range.start(),
            revision: written.revision(),
            manifest_sha256,
        };
        match (&written, written_manifest, stored_manifest) {
            (Revised::New(_), Some(sha), _) => {
                archive::rollup::write_report(sink, report, &meta(sha)).await?
            }
            (Revised::Unchanged(_), _, Some(sha)) => {
                archive::rollup::keep_current(sink, report, &meta(sha)).await?
            }
            _ => {}
        }
    }
    Ok(Published {
        revision: written.revision(),
        keys,
        outcome,
        previous,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::storage::MemorySink;
    use crate::domain::report::{Report, build};
    use crate::testutil::{WALKTHROUGH_DAY, catalog, dec, request, rows, spec, walkthrough_day};

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-11-09T14:05:07Z")
            .unwrap()
            .to_utc()
    }

    /// The walkthrough's 2025-11-08, published by `run_id`.
    async fn publish_day(sink: &MemorySink, run_id: &str) -> Result<Published> {
        publish(
            sink,
            &walkthrough_day("2025-11-08"),
            run_id,
            now(),
            Options::default(),
        )
        .await
    }

    fn restated(day: &str) -> Report {
        let s = spec(day);
        let q = request(&s);
        build(
            s,
            q,
            vec![AccountId(2321234)],
            rows(&[
                ("FMVMMLTM00000582", "107.20"),
                ("FGVMMLTM00000993", "22.00"),
            ]),
            &catalog(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn writes_data_first_and_manifest_last() {
        let sink = MemorySink::new();
        let r = walkthrough_day("2025-11-08");
        let p = publish(&sink, &r, "run-1", now(), Options::default())
            .await
            .unwrap();
        assert_eq!((p.outcome.clone(), p.revision), (Outcome::Written, 1));
        // The rollup after the manifest: it names the manifest's SHA-256.
        let rollup = keys::rollup_keys(&r.spec.program_serial, r.spec.range.start());
        assert_eq!(
            sink.puts(),
            vec![
                p.keys.csv.clone(),
                p.keys.json.clone(),
                p.keys.manifest.clone(),
                rollup.rows,
                rollup.summary,
            ]
        );
        assert_eq!(
            sink.object(&p.keys.csv).unwrap().1,
            "text/csv; charset=utf-8"
        );
        assert_eq!(sink.object(&p.keys.manifest).unwrap().1, "application/json");
    }

    #[tokio::test]
    async fn an_identical_rerun_writes_nothing_and_a_restatement_bumps_the_revision() {
        let sink = MemorySink::new();
        publish_day(&sink, "run-1").await.unwrap();
        let again = publish_day(&sink, "run-2").await.unwrap();
        assert_eq!((again.outcome, again.revision), (Outcome::Unchanged, 1));
        assert_eq!(sink.puts().len(), 5, "report and rollup, once");

        let changed = restated("2025-11-08");
        assert_eq!(changed.total, dec("129.20"));
        let p = publish(&sink, &changed, "run-3", now(), Options::default())
            .await
            .unwrap();
        assert_eq!((p.outcome.clone(), p.revision), (Outcome::Written, 2));
        let m: serde_json::Value =
            serde_json::from_slice(&sink.object(&p.keys.manifest).unwrap().0).unwrap();
        assert_eq!(
            (m["revision"].as_u64(), m["run_id"].as_str()),
            (Some(2), Some("run-3"))
        );
        assert_eq!(
            p.previous,
            Some(PreviousTotals {
                revision: 1,
                entitlements: 13,
                points: dec("399.42")
            })
        );
        assert_eq!(m["previous"]["revision"], 1);
        assert_eq!(m["previous"]["totals"]["points"], serde_json::json!(399.42));
        assert_eq!(m["previous"]["files"].as_array().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn an_empty_re_pull_never_replaces_a_stored_report_unless_forced() {
        let sink = MemorySink::new();
        let stored = publish_day(&sink, "run-1").await.unwrap();
        let before = sink.object(&stored.keys.csv).unwrap().0;
        let s = spec("2025-11-08");
        let q = request(&s);
        let empty = build(s, q, vec![AccountId(2321234)], vec![], &catalog()).unwrap();
        let p = publish(&sink, &empty, "run-2", now(), Options::default())
            .await
            .unwrap();
        let Outcome::Kept(why) = &p.outcome else {
            panic!("{:?}", p.outcome)
        };
        assert!(
            why.contains("13 row(s) and FortiFlex now answers none"),
            "{why}"
        );
        assert_eq!(p.revision, 1);
        assert_eq!(sink.puts().len(), 5, "nothing written");
        assert_eq!(sink.object(&stored.keys.csv).unwrap().0, before);

        // One account of several losing its rows is refused too.
        let mut points = rows(&WALKTHROUGH_DAY);
        points[0].account_id = Some(AccountId(3300001));
        let s = spec("2025-11-09");
        let q = request(&s);
        let two = build(
            s.clone(),
            q.clone(),
            vec![AccountId(2321234), AccountId(3300001)],
            points,
            &catalog(),
        )
        .unwrap();
        publish(&sink, &two, "run-3", now(), Options::default())
            .await
            .unwrap();
        let one = build(
            s,
            q,
            vec![AccountId(2321234), AccountId(3300001)],
            rows(&WALKTHROUGH_DAY[1..]),
            &catalog(),
        )
        .unwrap();
        let p = publish(&sink, &one, "run-4", now(), Options::default())
            .await
            .unwrap();
        assert!(
            matches!(&p.outcome, Outcome::Kept(w) if w.contains("account(s) 3300001")),
            "{:?}",
            p.outcome
        );

        let forced = publish(&sink, &empty, "run-5", now(), Options { force: true })
            .await
            .unwrap();
        assert_eq!((forced.outcome, forced.revision), (Outcome::Written, 2));
    }

    #[tokio::test]
    async fn a_failed_write_leaves_the_previous_manifest() {
        let sink = MemorySink::new();
        let first = publish_day(&sink, "run-1").await.unwrap();
        let before = sink.object(&first.keys.manifest).unwrap().0;
        sink.fail_puts_ending_with(Some(".json"));
        let err = publish(
            &sink,
            &restated("2025-11-08"),
            "run-2",
            now(),
            Options::default(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "Storage");
        assert_eq!(sink.object(&first.keys.manifest).unwrap().0, before);
        // The next run completes the day.
        sink.fail_puts_ending_with(None);
        let p = publish(
            &sink,
            &restated("2025-11-08"),
            "run-3",
            now(),
            Options::default(),
        )
        .await
        .unwrap();
        assert_eq!((p.outcome, p.revision), (Outcome::Written, 2));
    }

    #[tokio::test]
    async fn an_unreadable_manifest_is_an_error_not_an_overwrite() {
        let sink = MemorySink::new();
        let keys = keys::report_keys(&spec("2025-11-08"));
        sink.put(&keys.manifest, b"{not json".to_vec(), "application/json")
            .await
            .unwrap();
        let err = publish_day(&sink, "run-1").await.unwrap_err();
        assert!(err.to_string().contains("unreadable"), "{err}");
        assert_eq!(sink.puts(), vec![keys.manifest]);
    }
}
