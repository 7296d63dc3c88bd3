//! The manifest: what a report's files are (key, rows, bytes, SHA-256), which run wrote them,
//! its revision and, for a restatement, what the revision before held. Written last.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;

use super::{SCHEMA_VERSION, Totals, sha256_hex, to_json, totals, ymd};
use crate::domain::ids::AccountId;
use crate::domain::records::PointsQuery;
use crate::domain::report::Report;
use crate::error::Result;

/// One data file listed in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FileEntry {
    pub key: String,
    pub format: String,
    pub rows: usize,
    pub bytes: usize,
    pub sha256: String,
}

impl FileEntry {
    pub fn describe(key: &str, format: &str, rows: usize, body: &[u8]) -> Self {
        FileEntry {
            key: key.into(),
            format: format.into(),
            rows,
            bytes: body.len(),
            sha256: sha256_hex(body),
        }
    }
}

/// Whether a stored manifest's `files` are exactly `files` (same keys, same SHA-256): then
/// a re-run has nothing to write.
pub fn same_files(stored: &[PreviousFile], files: &[FileEntry]) -> bool {
    stored.len() == files.len()
        && files.iter().all(|f| {
            stored
                .iter()
                .any(|p| p.key == f.key && p.sha256 == f.sha256)
        })
}

/// What differs from run to run, and so lives only in the manifest.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub run_id: String,
    pub generated_at: DateTime<Utc>,
    pub revision: u64,
    /// The revision this one replaces, as its manifest described it.
    pub previous: Option<Previous>,
}

/// A replaced revision: its number, its `totals` exactly as stored, and its files.
#[derive(Debug, Clone, Serialize)]
pub struct Previous {
    pub revision: u64,
    pub totals: Box<RawValue>,
    pub files: Vec<PreviousFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PreviousFile {
    pub key: String,
    pub sha256: String,
}

#[derive(Serialize)]
struct Source<'a> {
    endpoint: &'static str,
    request: &'a PointsQuery,
    /// Each account is asked separately, with this request and its own `accountId`.
    accounts: &'a [AccountId],
}

#[derive(Serialize)]
struct Manifest<'a> {
    schema_version: u32,
    report: &'static str,
    program_serial: &'a str,
    account_id: AccountId,
    start_date: String,
    end_date: String,
    timezone: &'a str,
    serial_filter: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    config_filter: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_filter: Option<AccountId>,
    run_id: &'a str,
    generated_at: String,
    revision: u64,
    tool_version: &'static str,
    source: Source<'a>,
    totals: Totals,
    files: &'a [FileEntry],
    #[serde(skip_serializing_if = "Option::is_none")]
    previous: Option<&'a Previous>,
}

pub fn manifest(report: &Report, files: &[FileEntry], run: &RunInfo) -> Result<Vec<u8>> {
    let spec = &report.spec;
    to_json(&Manifest {
        schema_version: SCHEMA_VERSION,
        report: spec.kind.as_str(),
        program_serial: &spec.program_serial,
        account_id: spec.account_id,
        start_date: ymd(spec.range.start()),
        end_date: ymd(spec.range.end()),
        timezone: spec.timezone.name(),
        serial_filter: spec.serial_filter.as_deref(),
        config_filter: spec.config_filter,
        account_filter: spec.account_filter,
        run_id: &run.run_id,
        generated_at: run.generated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        revision: run.revision,
        tool_version: env!("CARGO_PKG_VERSION"),
        source: Source {
            endpoint: "entitlements/points",
            request: &report.request,
            accounts: &report.accounts,
        },
        totals: totals(report),
        files,
        previous: run.previous.as_ref(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::keys::report_keys;
    use crate::contract::{csv, json};
    use crate::testutil::walkthrough_day;

    #[test]
    fn manifest_lists_files_and_run() {
        let r = walkthrough_day("2025-11-08");
        let k = report_keys(&r.spec);
        let files = vec![
            FileEntry::describe(&k.csv, "csv", 13, &csv(&r).unwrap()),
            FileEntry::describe(&k.json, "json", 13, &json(&r).unwrap()),
        ];
        let run = RunInfo {
            run_id: "run-1".into(),
            generated_at: DateTime::parse_from_rfc3339("2025-11-09T14:05:07Z")
                .unwrap()
                .to_utc(),
            revision: 2,
            previous: Some(Previous {
                revision: 1,
                totals: RawValue::from_string(r#"{"entitlements": 2, "points": 129.20}"#.into())
                    .unwrap(),
                files: vec![PreviousFile {
                    key: k.csv.clone(),
                    sha256: "ab".repeat(32),
                }],
            }),
        };
        let v: serde_json::Value =
            serde_json::from_slice(&manifest(&r, &files, &run).unwrap()).unwrap();
        assert_eq!(v["previous"]["revision"], 1);
        assert!(
            String::from_utf8(manifest(&r, &files, &run).unwrap())
                .unwrap()
                .contains("\"points\": 129.20}"),
            "the previous totals are kept byte for byte"
        );
        assert_eq!(v["previous"]["files"][0]["sha256"], "ab".repeat(32));
        assert_eq!(v["source"]["accounts"], serde_json::json!([2321234]));
        assert_eq!(
            v["totals"]["accounts"],
            serde_json::json!([{"account_id": 2321234, "entitlements": 13, "points": 399.42}])
        );
        assert_eq!(v["report"], "daily");
        assert_eq!(v["generated_at"], "2025-11-09T14:05:07Z");
        assert_eq!(v["revision"], 2);
        assert_eq!(v["source"]["request"]["startDate"], "2025-11-08");
        assert!(
            String::from_utf8(manifest(&r, &files, &run).unwrap())
                .unwrap()
                .contains("\"points\": 399.42\n")
        );
        assert_eq!(v["files"][0]["sha256"], sha256_hex(&csv(&r).unwrap()));
        assert_eq!(v["files"][1]["bytes"], json(&r).unwrap().len());
    }
}
