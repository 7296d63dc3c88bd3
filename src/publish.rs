//! Writing a report: data files first, manifest last, and nothing at all when the data is
//! byte-identical to what the current manifest lists. A changed day gets `revision` + 1.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::render::{self, CSV_CONTENT_TYPE, FileEntry, JSON_CONTENT_TYPE, Keys, RunInfo};
use crate::report::Report;
use crate::sink::Sink;

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The data files and then the manifest were written.
    Written,
    /// The current manifest already lists these exact bytes: nothing was written.
    Unchanged,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub keys: Keys,
    pub outcome: Outcome,
    /// The revision now current: the new one, or the unchanged one.
    pub revision: u64,
}

impl Published {
    /// The keys this run wrote, in write order (none when unchanged).
    pub fn written(&self) -> Vec<&str> {
        match self.outcome {
            Outcome::Written => vec![&self.keys.csv, &self.keys.json, &self.keys.manifest],
            Outcome::Unchanged => vec![],
        }
    }
}

/// The parts of a stored manifest that decide "unchanged" and the next revision.
#[derive(Deserialize)]
struct Current {
    revision: u64,
    files: Vec<CurrentFile>,
}

#[derive(Deserialize, PartialEq, Eq)]
struct CurrentFile {
    key: String,
    sha256: String,
}

/// Renders `report` and writes it through `sink`. `run_id` and `now` only reach the manifest.
pub async fn publish(
    sink: &impl Sink,
    report: &Report,
    run_id: &str,
    now: DateTime<Utc>,
) -> Result<Published> {
    let keys = render::keys(&report.spec);
    let csv = render::csv(report);
    let json = render::json(report);
    let rows = report.rows.len();
    let files = vec![
        FileEntry::describe(&keys.csv, "csv", rows, &csv),
        FileEntry::describe(&keys.json, "json", rows, &json),
    ];

    let current = match sink.get(&keys.manifest).await? {
        None => None,
        Some(bytes) => Some(serde_json::from_slice::<Current>(&bytes).map_err(|e| {
            Error::Storage(format!(
                "the current manifest {} is unreadable ({e}); move it aside to rewrite the report",
                sink.location(&keys.manifest)
            ))
        })?),
    };
    if let Some(cur) = &current {
        let same = cur.files.len() == files.len()
            && files.iter().all(|f| {
                cur.files.contains(&CurrentFile {
                    key: f.key.clone(),
                    sha256: f.sha256.clone(),
                })
            });
        if same {
            return Ok(Published {
                keys,
                outcome: Outcome::Unchanged,
                revision: cur.revision,
            });
        }
    }
    let revision = current.map_or(1, |c| c.revision + 1);
    let manifest = render::manifest(
        report,
        &files,
        &RunInfo {
            run_id: run_id.into(),
            generated_at: now,
            revision,
        },
    );
    sink.put(&keys.csv, csv, CSV_CONTENT_TYPE).await?;
    sink.put(&keys.json, json, JSON_CONTENT_TYPE).await?;
    sink.put(&keys.manifest, manifest, JSON_CONTENT_TYPE)
        .await?;
    Ok(Published {
        keys,
        outcome: Outcome::Written,
        revision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{catalog, dec, request, rows, spec, walkthrough_day};
    use crate::report::{Report, build};
    use crate::sink::MemorySink;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-11-09T14:05:07Z")
            .unwrap()
            .to_utc()
    }

    fn restated(day: &str) -> Report {
        let s = spec(day);
        let q = request(&s);
        build(
            s,
            q,
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
        let p = publish(&sink, &r, "run-1", now()).await.unwrap();
        assert_eq!((p.outcome.clone(), p.revision), (Outcome::Written, 1));
        assert_eq!(
            sink.puts(),
            vec![
                p.keys.csv.clone(),
                p.keys.json.clone(),
                p.keys.manifest.clone()
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
        publish(&sink, &walkthrough_day("2025-11-08"), "run-1", now())
            .await
            .unwrap();
        let again = publish(&sink, &walkthrough_day("2025-11-08"), "run-2", now())
            .await
            .unwrap();
        assert_eq!((again.outcome, again.revision), (Outcome::Unchanged, 1));
        assert_eq!(sink.puts().len(), 3);

        let changed = restated("2025-11-08");
        assert_eq!(changed.total, dec("129.20"));
        let p = publish(&sink, &changed, "run-3", now()).await.unwrap();
        assert_eq!((p.outcome.clone(), p.revision), (Outcome::Written, 2));
        let m: serde_json::Value =
            serde_json::from_slice(&sink.object(&p.keys.manifest).unwrap().0).unwrap();
        assert_eq!(
            (m["revision"].as_u64(), m["run_id"].as_str()),
            (Some(2), Some("run-3"))
        );
    }

    #[tokio::test]
    async fn a_failed_write_leaves_the_previous_manifest() {
        let sink = MemorySink::new();
        let first = publish(&sink, &walkthrough_day("2025-11-08"), "run-1", now())
            .await
            .unwrap();
        let before = sink.object(&first.keys.manifest).unwrap().0;
        sink.fail_puts_ending_with(Some(".json"));
        let err = publish(&sink, &restated("2025-11-08"), "run-2", now())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "Storage");
        assert_eq!(sink.object(&first.keys.manifest).unwrap().0, before);
        // The next run completes the day.
        sink.fail_puts_ending_with(None);
        let p = publish(&sink, &restated("2025-11-08"), "run-3", now())
            .await
            .unwrap();
        assert_eq!((p.outcome, p.revision), (Outcome::Written, 2));
    }

    #[tokio::test]
    async fn an_unreadable_manifest_is_an_error_not_an_overwrite() {
        let sink = MemorySink::new();
        let keys = render::keys(&spec("2025-11-08"));
        sink.put(&keys.manifest, b"{not json".to_vec(), "application/json")
            .await
            .unwrap();
        let err = publish(&sink, &walkthrough_day("2025-11-08"), "run-1", now())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("unreadable"), "{err}");
        assert_eq!(sink.puts(), vec![keys.manifest]);
    }
}
