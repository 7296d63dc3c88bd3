//! The contract's JSON report. The frame (program, dates, totals) is serde_json's pretty
//! output; the rows, 99.9 % of the bytes at scale, are written by hand in exactly the same
//! layout, a row at a time into one reused buffer: serde's call per field and its
//! byte-at-a-time string escaping were the largest single cost of a 100,000-row report.
//! The tests hold the hand-written rows to serde_json's own rendering, byte for byte.

use std::io::Write;

use serde::Serialize;

use super::{SCHEMA_VERSION, Totals, rendering, totals, ymd};
use crate::domain::ids::AccountId;
use crate::domain::money::write_points;
use crate::domain::report::{Report, Row};
use crate::error::Result;

/// The contract's JSON: a superset of the partner toolkit's report file.
#[derive(Serialize)]
struct JsonReport<'a> {
    schema_version: u32,
    program_serial: &'a str,
    account_id: AccountId,
    start_date: String,
    end_date: String,
    timezone: &'a str,
    days_back: u32,
    serial_filter: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    config_filter: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account_filter: Option<AccountId>,
    totals: Totals,
    consumption: Consumption,
}

#[derive(Serialize)]
struct Consumption {
    /// Where the rows go: the frame is rendered with this text in their place.
    entitlements: &'static str,
    status: i32,
    message: &'static str,
    error: Option<()>,
}

/// The rows' placeholder, and how the frame spells it. It is the frame's last string but
/// the constant `message`, so it is searched from the end: a filter holding the same text
/// comes before it.
const ROWS_HERE: &str = "\u{1}rows";
const ROWS_HERE_JSON: &[u8] = br#""\u0001rows""#;

pub fn json(report: &Report) -> Result<Vec<u8>> {
    // About 330 bytes a pretty-printed row.
    let mut out = Vec::with_capacity(1024 + report.rows.len() * 352);
    write_json(report, &mut out)?;
    Ok(out)
}

/// The contract's JSON, written to `out` a row at a time.
fn write_json(report: &Report, out: impl Write) -> Result<()> {
    let mut json = JsonRows::new(report, out)?;
    report.rows.iter().try_for_each(|r| json.row(r))?;
    json.finish()
}

/// The contract's JSON a row at a time: the frame up to the rows on creation, the rest of
/// it on [`JsonRows::finish`].
pub(super) struct JsonRows<W: Write> {
    out: W,
    frame: Vec<u8>,
    /// Where the rows go in `frame`.
    at: usize,
    rows: RowWriter,
    written: usize,
}

impl<W: Write> JsonRows<W> {
    pub(super) fn new(report: &Report, mut out: W) -> Result<Self> {
        let frame = serde_json::to_vec_pretty(&frame(report)).map_err(|e| rendering("JSON", e))?;
        let at = memchr::memmem::rfind(&frame, ROWS_HERE_JSON)
            .ok_or_else(|| rendering("JSON", "the frame has no place for the rows"))?;
        write(&mut out, &frame[..at])?;
        Ok(JsonRows {
            out,
            frame,
            at,
            rows: RowWriter::default(),
            written: 0,
        })
    }

    pub(super) fn row(&mut self, r: &Row) -> Result<()> {
        let first = self.written == 0;
        self.written += 1;
        write(&mut self.out, self.rows.row(r, first))
    }

    pub(super) fn finish(mut self) -> Result<()> {
        let close: &[u8] = if self.written == 0 { b"[]" } else { b"\n    ]" };
        write(&mut self.out, close)?;
        write(&mut self.out, &self.frame[self.at + ROWS_HERE_JSON.len()..])?;
        write(&mut self.out, b"\n")?;
        self.out.flush().map_err(|e| rendering("JSON", e))
    }
}

fn write(out: &mut impl Write, bytes: &[u8]) -> Result<()> {
    out.write_all(bytes).map_err(|e| rendering("JSON", e))
}

fn frame(report: &Report) -> JsonReport<'_> {
    let spec = &report.spec;
    JsonReport {
        schema_version: SCHEMA_VERSION,
        program_serial: &spec.program_serial,
        account_id: spec.account_id,
        start_date: ymd(spec.range.start()),
        end_date: ymd(spec.range.end()),
        timezone: spec.timezone.name(),
        days_back: spec.range.len_days(),
        serial_filter: spec.serial_filter.as_deref(),
        config_filter: spec.config_filter,
        account_filter: spec.account_filter,
        totals: totals(report),
        consumption: Consumption {
            entitlements: ROWS_HERE,
            status: 0,
            message: "Request processed successfully.",
            error: None,
        },
    }
}

/// One row at a time into a buffer reused for every row.
#[derive(Default)]
struct RowWriter {
    line: Vec<u8>,
    points: String,
}

impl RowWriter {
    /// The row as an element of `consumption.entitlements`, with the separator before it.
    fn row(&mut self, r: &Row, first: bool) -> &[u8] {
        let l = &mut self.line;
        l.clear();
        l.extend_from_slice(if first { b"[" } else { b"," });
        l.extend_from_slice(b"\n      {\n        \"serialNumber\": ");
        string(l, &r.serial_number);
        l.extend_from_slice(b",\n        \"accountId\": ");
        number(l, r.account_id.0);
        l.extend_from_slice(b",\n        \"points\": ");
        self.points.clear();
        write_points(&mut self.points, r.points);
        l.extend_from_slice(self.points.as_bytes());
        l.extend_from_slice(b",\n        \"configId\": ");
        match r.config_id {
            Some(c) => number(l, c),
            None => l.extend_from_slice(b"null"),
        }
        for (key, value) in [
            (&b",\n        \"configName\": "[..], &r.config_name),
            (b",\n        \"productType\": ", &r.product_type),
            (b",\n        \"description\": ", &r.description),
            (b",\n        \"status\": ", &r.status),
        ] {
            l.extend_from_slice(key);
            match value {
                Some(v) => string(l, v),
                None => l.extend_from_slice(b"null"),
            }
        }
        l.extend_from_slice(b"\n      }");
        l
    }
}

fn number(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A JSON string. Text without quotes, backslashes or control characters (nearly all of
/// it) is copied as it is; anything else takes serde_json's escaping, exactly.
fn string(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing a str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Exact;
    use crate::testutil::walkthrough_day;

    /// The rows as serde_json renders them: what the hand-written rows must equal.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct SerdeRow<'a> {
        serial_number: &'a str,
        account_id: AccountId,
        points: Exact,
        config_id: Option<u64>,
        config_name: Option<&'a str>,
        product_type: Option<&'a str>,
        description: Option<&'a str>,
        status: Option<&'a str>,
    }

    #[derive(Serialize)]
    struct SerdeFrame<'a> {
        consumption: SerdeConsumption<'a>,
    }

    #[derive(Serialize)]
    struct SerdeConsumption<'a> {
        entitlements: Vec<SerdeRow<'a>>,
    }

    /// `consumption.entitlements` as serde_json pretty-prints it, cut out of its document.
    fn serde_rows(rows: &[Row]) -> String {
        let doc = SerdeFrame {
            consumption: SerdeConsumption {
                entitlements: rows
                    .iter()
                    .map(|r| SerdeRow {
                        serial_number: &r.serial_number,
                        account_id: r.account_id,
                        points: Exact(r.points),
                        config_id: r.config_id,
                        config_name: r.config_name.as_deref(),
                        product_type: r.product_type.as_deref(),
                        description: r.description.as_deref(),
                        status: r.status.as_deref(),
                    })
                    .collect(),
            },
        };
        let text = serde_json::to_string_pretty(&doc).unwrap();
        let start = text.find("\"entitlements\": ").unwrap() + "\"entitlements\": ".len();
        let end = text.rfind("\n  }").unwrap();
        text[start..end].to_string()
    }

    fn hand_rows(rows: &[Row]) -> String {
        let mut w = RowWriter::default();
        let mut out = Vec::new();
        for (i, r) in rows.iter().enumerate() {
            out.extend_from_slice(w.row(r, i == 0));
        }
        out.extend_from_slice(b"\n    ]");
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn hand_written_rows_are_serde_jsons_bytes() {
        let mut rows = walkthrough_day("2025-11-08").rows;
        assert!(rows.len() > 3);
        let texts = [
            "quote \" backslash \\ slash /",
            "tab\tnew line\ncarriage\rbell\u{7} nul\u{0} esc\u{1b} del\u{7f}",
            "caf\u{e9} \u{1F600} \u{2028}",
            "=HYPERLINK(\"x\")",
            "",
        ];
        for (i, t) in texts.iter().enumerate() {
            let r = &mut rows[i % 3];
            r.description = Some((*t).into());
            r.config_name = Some(format!("{t}{i}").into());
            r.serial_number = format!("S{i}{t}");
        }
        rows[1].config_id = None;
        rows[1].status = None;
        rows[2].product_type = None;
        rows[2].points.set_sign_negative(true);
        rows[0].account_id = AccountId(u64::MAX);
        assert_eq!(hand_rows(&rows), serde_rows(&rows));
        assert_eq!(hand_rows(&rows[..1]), serde_rows(&rows[..1]));
    }
}
