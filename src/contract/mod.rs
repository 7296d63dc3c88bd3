//! The bytes and keys of `docs/output-contract.md`: here the report's CSV and what its JSON
//! and manifest share; beside it every key ([`keys`]), the JSON, manifests, statements, the
//! workbook, FOCUS and the site. Pure functions; identical reports give identical data files.

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::NaiveDate;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::domain::ids::AccountId;
use crate::domain::money::{Exact, write_points};
use crate::domain::report::{Report, ReportSpec};
use crate::error::{Error, Result};

pub(crate) mod focus;
mod json;
pub mod keys;
mod manifest;
pub(crate) mod push;
pub(crate) mod rollup;
pub(crate) mod site;
pub(crate) mod statement;
pub(crate) mod tieout;
pub(crate) mod workbook;

pub use json::json;
pub use manifest::{FileEntry, Previous, PreviousFile, RunInfo, manifest, same_files};

pub const SCHEMA_VERSION: u32 = 1;
pub const CSV_CONTENT_TYPE: &str = "text/csv; charset=utf-8";
pub const JSON_CONTENT_TYPE: &str = "application/json";
pub const XLSX_CONTENT_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The CSV header, in contract order.
pub const CSV_COLUMNS: [&str; 11] = [
    "start_date",
    "end_date",
    "program_serial_number",
    "account_id",
    "serial_number",
    "config_id",
    "config_name",
    "product_type",
    "description",
    "status",
    "points",
];

pub(crate) fn ymd(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Spreadsheet-safe cell text: a leading `=`, `+`, `-`, `@`, tab or CR gets a `'` so the cell
/// is not run as a formula; every CR and LF becomes a space so a row stays one line.
/// Borrowed when nothing needs changing, as for almost every cell.
pub fn safe_text(s: &str) -> Cow<'_, str> {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    // Bytes, not chars: this runs on every text cell of every row.
    if !formula && memchr::memchr2(b'\r', b'\n', s.as_bytes()).is_none() {
        return Cow::Borrowed(s);
    }
    let flat = s.replace(['\r', '\n'], " ");
    Cow::Owned(if formula { format!("'{flat}") } else { flat })
}

pub fn csv(report: &Report) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256 + report.rows.len() * 160);
    write_csv(report, &mut out)?;
    Ok(out)
}

/// The contract's CSV, written to `out` row by row.
fn write_csv(report: &Report, out: impl std::io::Write) -> Result<()> {
    let mut csv = CsvRows::new(report, out)?;
    report.rows.iter().try_for_each(|r| csv.row(r))?;
    csv.finish()
}

/// The report's CSV and JSON in one pass over its rows: each row's text is read from memory
/// once for both files (at 100,000 rows, reading it again was most of the second file's cost).
pub fn write_csv_and_json(
    report: &Report,
    csv_out: impl std::io::Write,
    json_out: impl std::io::Write,
) -> Result<()> {
    let mut csv = CsvRows::new(report, csv_out)?;
    let mut json = json::JsonRows::new(report, json_out)?;
    for r in &report.rows {
        csv.row(r)?;
        json.row(r)?;
    }
    csv.finish()?;
    json.finish()
}

/// The contract's CSV a row at a time, the header first.
struct CsvRows<'a, W: std::io::Write> {
    w: csv::Writer<W>,
    spec: &'a ReportSpec,
    start: String,
    end: String,
    /// Number cells, formatted into buffers reused for every row.
    account: String,
    config: String,
    points: String,
}

impl<'a, W: std::io::Write> CsvRows<'a, W> {
    fn new(report: &'a Report, out: W) -> Result<Self> {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .quote_style(csv::QuoteStyle::Necessary)
            .from_writer(out);
        w.write_record(CSV_COLUMNS)
            .map_err(|e| rendering("CSV", e))?;
        let spec = &report.spec;
        Ok(CsvRows {
            w,
            spec,
            start: ymd(spec.range.start()),
            end: ymd(spec.range.end()),
            account: String::new(),
            config: String::new(),
            points: String::new(),
        })
    }

    fn row(&mut self, r: &crate::domain::report::Row) -> Result<()> {
        fn text(o: &Option<crate::domain::report::Text>) -> Cow<'_, str> {
            o.as_deref().map(safe_text).unwrap_or_default()
        }
        self.account.clear();
        self.config.clear();
        self.points.clear();
        let _ = write!(self.account, "{}", r.account_id);
        if let Some(c) = r.config_id {
            let _ = write!(self.config, "{c}");
        }
        write_points(&mut self.points, r.points);
        self.w
            .write_record([
                self.start.as_str(),
                self.end.as_str(),
                self.spec.program_serial.as_str(),
                &self.account,
                &safe_text(&r.serial_number),
                &self.config,
                &text(&r.config_name),
                &text(&r.product_type),
                &text(&r.description),
                &text(&r.status),
                &self.points,
            ])
            .map_err(|e| rendering("CSV", e))
    }

    fn finish(mut self) -> Result<()> {
        self.w.flush().map_err(|e| rendering("CSV", e))
    }
}

/// Writing to memory cannot fail, but a bug in a value could: a typed error, not a panic.
fn rendering(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Storage(format!("cannot render the {what}: {e}"))
}

#[derive(Serialize)]
pub(crate) struct Totals {
    entitlements: usize,
    points: Exact,
    accounts: Vec<AccountJson>,
}

#[derive(Serialize)]
struct AccountJson {
    account_id: AccountId,
    entitlements: usize,
    points: Exact,
}

pub(crate) fn totals(report: &Report) -> Totals {
    Totals {
        entitlements: report.rows.len(),
        points: Exact(report.total),
        accounts: report
            .account_totals()
            .into_iter()
            .map(|a| AccountJson {
                account_id: a.account_id,
                entitlements: a.entitlements,
                points: Exact(a.points),
            })
            .collect(),
    }
}

pub(crate) fn to_json(value: &impl Serialize) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec_pretty(value).map_err(|e| rendering("JSON", e))?;
    out.push(b'\n');
    Ok(out)
}

/// [`to_json`] straight into `out`.
pub(crate) fn to_json_writer(out: &mut impl std::io::Write, value: &impl Serialize) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(|e| rendering("JSON", e))?;
    out.write_all(b"\n").map_err(|e| rendering("JSON", e))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::report::build;
    use crate::testutil::{catalog, request, spec, walkthrough_day};

    /// Compares with `tests/golden/NAME`; `UPDATE_GOLDEN=1` rewrites it (review the diff!).
    fn golden(name: &str, actual: &[u8]) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, actual).unwrap();
        }
        let expected = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            String::from_utf8_lossy(actual),
            expected,
            "{name} differs from its golden file"
        );
    }

    #[test]
    fn daily_csv_and_json_match_the_golden_files() {
        let r = walkthrough_day("2025-11-08");
        golden("daily.csv", &csv(&r).unwrap());
        golden("daily.json", &json(&r).unwrap());
    }

    #[test]
    fn one_pass_writes_the_same_two_files() {
        for r in [
            walkthrough_day("2025-11-08"),
            build(
                spec("2025-01-01"),
                request(&spec("2025-01-01")),
                vec![],
                vec![],
                &catalog(),
            )
            .unwrap(),
        ] {
            let (mut c, mut j) = (Vec::new(), Vec::new());
            write_csv_and_json(&r, &mut c, &mut j).unwrap();
            assert_eq!(c, csv(&r).unwrap());
            assert_eq!(j, json(&r).unwrap());
        }
    }

    #[test]
    fn identical_reports_give_identical_bytes() {
        let (a, b) = (walkthrough_day("2025-11-08"), walkthrough_day("2025-11-08"));
        assert_eq!(sha256_hex(&csv(&a).unwrap()), sha256_hex(&csv(&b).unwrap()));
        assert_eq!(json(&a).unwrap(), json(&b).unwrap());
    }

    #[test]
    fn formulas_are_defused_and_lines_flattened() {
        assert_eq!(safe_text("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        for lead in ["+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert!(safe_text(lead).starts_with('\''), "{lead:?}");
        }
        assert_eq!(safe_text("line one\r\nline two"), "line one  line two");
        assert_eq!(safe_text("a-b = c"), "a-b = c");
    }

    #[test]
    fn an_empty_report_still_has_its_header() {
        let s = spec("2025-01-01");
        let q = request(&s);
        let r = build(s, q, vec![AccountId(2321234)], vec![], &catalog()).unwrap();
        assert_eq!(
            String::from_utf8(csv(&r).unwrap()).unwrap(),
            format!("{}\n", CSV_COLUMNS.join(","))
        );
        let v: serde_json::Value = serde_json::from_slice(&json(&r).unwrap()).unwrap();
        assert_eq!(v["consumption"]["entitlements"], serde_json::json!([]));
        assert_eq!(v["totals"]["entitlements"], 0);
        assert!(
            String::from_utf8(json(&r).unwrap())
                .unwrap()
                .contains("\"points\": 0.00\n")
        );
    }
}
