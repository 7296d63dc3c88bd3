//! Reading FortiFlex replies tolerantly where the API is known to vary (list keys, id
//! spellings, numbers as strings) and strictly where a guess could misreport money.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use super::lenient::value_text;
use crate::error::ApiError;
use crate::json_rows::{Malformed, RowScanner, Target};

/// Rows of a successful (2xx) reply: under the first of `keys` present, or a bare array.
/// A reply with no list, or with an integer `status` other than 0, is an error: reporting a
/// day as empty because the shape was unexpected would silently lose billing data.
pub fn parse_list<T: DeserializeOwned>(
    call: &str,
    http_status: u16,
    body: &[u8],
    keys: &[&str],
) -> Result<Vec<T>, ApiError> {
    let mut reader = ReplyReader::new(call, http_status, keys);
    reader.feed(body)?;
    reader.finish()
}

/// A successful reply read as it arrives: each row is parsed into `T` as soon as its last
/// byte is in, so the body is never held whole (24 MB at 100,000 entitlements). What is not
/// a row — `status`, `message`, which lists are there — is judged once the reply is
/// complete, from the small rest of it, so a reply's status still outranks its rows.
pub struct ReplyReader<'k, T> {
    call: &'k str,
    http_status: u16,
    keys: &'k [&'k str],
    scan: RowScanner<'k>,
    /// Rows per list: one per key, then the bare array.
    lists: Vec<Vec<T>>,
    /// The first row that is not a `T`: its list, its index and why.
    bad_row: Option<(usize, usize, serde_json::Error)>,
    /// The reply's first bytes, quoted when it is not JSON at all (a gateway's page).
    head: Vec<u8>,
    bytes: usize,
}

const HEAD: usize = 160;

impl<'k, T: DeserializeOwned> ReplyReader<'k, T> {
    pub fn new(call: &'k str, http_status: u16, keys: &'k [&'k str]) -> Self {
        ReplyReader {
            call,
            http_status,
            keys,
            scan: RowScanner::new(Target::Reply(keys)),
            lists: (0..=keys.len()).map(|_| Vec::new()).collect(),
            bad_row: None,
            head: Vec::new(),
            bytes: 0,
        }
    }

    /// The next chunk of the body. A reply that cannot be JSON fails here, before the rest
    /// of it is downloaded.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), ApiError> {
        let room = HEAD.saturating_sub(self.head.len()).min(chunk.len());
        self.head.extend_from_slice(&chunk[..room]);
        self.bytes += chunk.len();
        let (lists, bad_row) = (&mut self.lists, &mut self.bad_row);
        let fed = self.scan.feed(chunk, &mut |row| {
            if bad_row.as_ref().is_some_and(|(l, _, _)| *l == row.list) {
                return;
            }
            match crate::json_rows::parse(row.json) {
                Ok(r) => lists[row.list].push(r),
                Err(e) => *bad_row = Some((row.list, row.index, e)),
            }
        });
        fed.map_err(|e| self.broken(&e))
    }

    /// The rows of the list the reply answers with, once the whole body is in.
    pub fn finish(mut self) -> Result<Vec<T>, ApiError> {
        let scanned = self.scan.finish().map_err(|e| self.broken(&e))?;
        let list = read_rest(
            self.call,
            self.http_status,
            &scanned.skeleton,
            self.bytes,
            self.keys,
        )?;
        if scanned.arrays.iter().filter(|l| **l == list).count() > 1 {
            // Two lists under one key: which one FortiFlex meant is a guess.
            let key = self.keys.get(list).copied().unwrap_or("rows");
            return Err(self.fail(format!("reply has '{key}' twice")));
        }
        if let Some((l, index, e)) = self.bad_row.take().filter(|(l, _, _)| *l == list) {
            let whose = self
                .keys
                .get(l)
                .map_or_else(|| "reply rows".to_string(), |k| format!("rows under '{k}'"));
            return Err(self.fail(format!("{whose} are malformed: row {index}: {e}")));
        }
        let mut rows = std::mem::take(&mut self.lists[list]);
        // The list grew by doubling: up to half of it is room no row will use. (A big
        // allocation is its own mapping, so this shrinks it in place, without a copy.)
        rows.shrink_to_fit();
        Ok(rows)
    }

    fn fail(&self, message: String) -> ApiError {
        ApiError::new(self.call, Some(self.http_status), None, message)
    }

    /// What to say about a reply that is not one balanced JSON value.
    fn broken(&self, e: &Malformed) -> ApiError {
        let head = String::from_utf8_lossy(&self.head);
        if !head.trim_start().starts_with(['{', '[']) {
            return self.fail(format!("reply is not a JSON object: {}", snippet(&head)));
        }
        // A cut-off list may hold licence tokens: only where it broke is told.
        let what = if e.ended_early() {
            "EOF while parsing".to_string()
        } else {
            e.to_string()
        };
        self.fail(format!("malformed JSON, {what} ({} bytes)", self.bytes))
    }
}

/// The reply without its rows: its `status` and `message`, and which list it answers with
/// (an index into `keys`, or `keys.len()` for a bare array).
fn read_rest(
    call: &str,
    http_status: u16,
    rest: &[u8],
    bytes: usize,
    keys: &[&str],
) -> Result<usize, ApiError> {
    let fail = |msg: String| ApiError::new(call, Some(http_status), None, msg);
    let text = std::str::from_utf8(rest).map_err(|_| fail("reply is not UTF-8 text".into()))?;
    if text.trim_start().starts_with('[') {
        return Ok(keys.len());
    }
    let fields: HashMap<String, Box<RawValue>> = serde_json::from_str(text).map_err(|e| {
        fail(if text.trim_start().starts_with('{') {
            // The position would be in the reply without its rows: only the cause is told.
            format!("malformed JSON, {} ({bytes} bytes)", cause(&e))
        } else {
            format!("reply is not a JSON object: {}", snippet(text))
        })
    })?;
    let code = fields
        .get("status")
        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
        .and_then(|v| v.as_i64());
    if let Some(code) = code.filter(|c| *c != 0) {
        let message = fields
            .get("message")
            .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
            .and_then(|v| value_text(&v))
            .unwrap_or_else(|| "no message".into());
        return Err(ApiError::new(call, Some(http_status), Some(code), message));
    }
    for (list, key) in keys.iter().enumerate() {
        if let Some(raw) = fields.get(*key) {
            let raw = raw.get().trim();
            return if raw.starts_with('[') || raw == "null" {
                Ok(list)
            } else {
                Err(fail(format!(
                    "rows under '{key}' are malformed: not a list"
                )))
            };
        }
    }
    Err(no_list(call, http_status, keys))
}

/// serde_json's message without its "at line L column C".
fn cause(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let position = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&position).unwrap_or(&text).to_string()
}

fn no_list(call: &str, http_status: u16, keys: &[&str]) -> ApiError {
    ApiError::new(
        call,
        Some(http_status),
        None,
        format!(
            "reply has no list under {}",
            keys.iter()
                .map(|k| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(" or ")
        ),
    )
}

/// An error reply (HTTP >= 400), read for FortiFlex's `status` and `message` or the OAuth
/// `error_description`.
pub fn parse_error_reply(call: &str, http_status: u16, body: &[u8]) -> ApiError {
    let text = String::from_utf8_lossy(body);
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let code = v.get("status").and_then(Value::as_i64);
    let message = ["message", "error_description", "error", "detail"]
        .iter()
        .find_map(|k| v.get(*k).and_then(value_text).filter(|m| !m.is_empty()))
        .unwrap_or_else(|| {
            if text.trim().is_empty() {
                "empty reply".into()
            } else {
                match serde_json::from_str::<Value>(&text) {
                    Err(e) => snippet_or_position(&text, &e),
                    Ok(_) => format!("a JSON reply with no message ({} bytes)", text.len()),
                }
            }
        });
    ApiError::new(call, Some(http_status), code, message)
}

/// What to say about a reply that did not parse. Text that looks like JSON may be a cut-off
/// list holding licence tokens, so only where it broke is told; other text (a gateway's HTML
/// page) is quoted, shortened.
fn snippet_or_position(text: &str, e: &serde_json::Error) -> String {
    if text.trim_start().starts_with(['{', '[']) {
        format!("malformed JSON, {e} ({} bytes)", text.len())
    } else {
        snippet(text)
    }
}

/// The start of a reply on one line, for error messages.
fn snippet(text: &str) -> String {
    let one_line: String = text
        .chars()
        .take(120)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > 120 {
        format!("{one_line}...")
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, Entitlement, PointsRow, ProductType};
    use super::*;

    fn points(body: &str) -> Result<Vec<PointsRow>, ApiError> {
        parse_list(
            "entitlements/points",
            200,
            body.as_bytes(),
            &["entitlements", "vms"],
        )
    }

    #[test]
    fn points_keep_their_exact_text() {
        let rows = points(
            r#"{"status":0,"message":"ok","error":null,"entitlements":[
            {"serialNumber":"A","accountId":7,"points":750.40},
            {"serialNumber":"B","accountId":"7","points":"21.66"},
            {"serialNumber":"C","points":1.5e2},
            {"serialNumber":"D","points":151.6200000001}]}"#,
        )
        .unwrap();
        let text: Vec<String> = rows.iter().map(|r| r.points.to_string()).collect();
        assert_eq!(text, ["750.40", "21.66", "150", "151.6200000001"]);
        assert_eq!(rows[1].account_id, Some(crate::ids::AccountId(7)));
        assert_eq!(rows[2].account_id, None);
    }

    #[test]
    fn rows_under_vms_or_a_bare_array_are_accepted() {
        let vms = points(r#"{"status":0,"vms":[{"serialNumber":"A","points":1.00}]}"#).unwrap();
        let bare = points(r#"  [{"serialNumber":"A","points":1.00}]"#).unwrap();
        assert_eq!(vms, bare);
        assert_eq!(vms.len(), 1);
        assert!(
            points(r#"{"status":0,"entitlements":[]}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn refuses_to_guess() {
        let e = points(r#"{"status":0,"message":"ok","things":[]}"#).unwrap_err();
        assert!(
            e.message.contains("no list under 'entitlements' or 'vms'"),
            "{e}"
        );
        let e = points(r#"{"status":0,"entitlements":[{"serialNumber":"A","points":"lots"}]}"#)
            .unwrap_err();
        assert!(e.message.contains("malformed"), "{e}");
        let e = points(r#"{"status":-10,"message":"Rate limit exceeded.","entitlements":[]}"#)
            .unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            (Some(-10), "Rate limit exceeded.")
        );
        let e = points("<html>gateway</html>").unwrap_err();
        assert!(e.message.starts_with("reply is not a JSON object"), "{e}");
        assert!(e.message.contains("<html>gateway"), "{e}");
        // A cut-off list may hold licence tokens: only the position is told.
        let cut = r#"{"status":0,"entitlements":[{"serialNumber":"A","token":"TOKEN-SECRET"#;
        let e = points(cut).unwrap_err();
        assert!(
            e.message.contains("malformed JSON, EOF while parsing"),
            "{e}"
        );
        assert!(!e.message.contains("TOKEN-SECRET"), "{e}");
        let e = parse_error_reply("entitlements/list", 500, cut.as_bytes());
        assert!(!e.message.contains("TOKEN-SECRET"), "{e}");
    }

    #[test]
    fn a_bad_row_is_named_and_the_status_still_comes_first() {
        let e = points(r#"{"entitlements":[{"serialNumber":"A","points":1},{"points":2}]}"#)
            .unwrap_err();
        assert!(
            e.message
                .starts_with("rows under 'entitlements' are malformed: row 1: missing field"),
            "{e}"
        );
        let e = points(r#"[{"serialNumber":"A","points":1}, 7]"#).unwrap_err();
        assert!(
            e.message.starts_with("reply rows are malformed: row 1:"),
            "{e}"
        );
        let e =
            points(r#"{"entitlements":[{"points":2}],"status":-10,"message":"Busy"}"#).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), (Some(-10), "Busy"));
        // A bad row under a key that is not the answer does not matter.
        let rows = points(r#"{"vms":[1],"entitlements":[{"serialNumber":"A","points":1}]}"#);
        assert_eq!(rows.unwrap().len(), 1);
        let e = points(r#"{"entitlements":[],"status":0,"entitlements":[]}"#).unwrap_err();
        assert_eq!(e.message, "reply has 'entitlements' twice");
        let e = points(r#"{"entitlements":{"serialNumber":"A"}}"#).unwrap_err();
        assert!(
            e.message
                .contains("'entitlements' are malformed: not a list"),
            "{e}"
        );
    }

    #[test]
    fn a_broken_reply_fails_as_soon_as_it_cannot_be_json() {
        let mut reader = ReplyReader::<PointsRow>::new("entitlements/points", 200, &["vms"]);
        reader
            .feed(br#"{"vms":[{"serialNumber":"A","points":1}]}"#)
            .unwrap();
        let e = reader.feed(b"}").unwrap_err();
        assert!(
            e.message
                .starts_with("malformed JSON, more after the value at byte 41"),
            "{e}"
        );
    }

    #[test]
    fn entitlement_tokens_are_not_read() {
        let rows: Vec<Entitlement> = parse_list(
            "entitlements/list",
            200,
            br#"{"status":0,"entitlements":[{"serialNumber":"A","configId":"42","token":"TOKEN-SECRET","status":"ACTIVE"}]}"#,
            &["entitlements", "vms"],
        )
        .unwrap();
        assert_eq!(rows[0].config_id, Some(42));
        assert!(!format!("{rows:?}").contains("TOKEN-SECRET"));
    }

    #[test]
    fn entitlement_dates_are_days_in_any_of_the_seen_spellings() {
        let rows: Vec<Entitlement> = parse_list(
            "entitlements/list",
            200,
            br#"[{"serialNumber":"A","startDate":"2025-01-10T00:00:00","endDate":"2026-01-09 00:00:00"},
                {"serialNumber":"B","startDate":"2025-02-01","endDate":"soon"},
                {"serialNumber":"C","startDate":null,"description":7}]"#,
            &["entitlements"],
        )
        .unwrap();
        let day = |s: &str| s.parse::<chrono::NaiveDate>().ok();
        assert_eq!(
            rows.iter()
                .map(|r| (r.start_date, r.end_date))
                .collect::<Vec<_>>(),
            [
                (day("2025-01-10"), day("2026-01-09")),
                (day("2025-02-01"), None),
                (None, None)
            ]
        );
        assert_eq!(rows[2].description.as_deref(), Some("7"));
    }

    #[test]
    fn configs_accept_both_spellings() {
        let rows: Vec<Config> = parse_list(
            "configs/list",
            200,
            br#"{"status":0,"configs":[{"id":1,"name":"new","productType":{"id":2,"name":"FortiManager-VM"}},
                {"configId":2,"configName":"old","productType":101}]}"#,
            &["configs"],
        )
        .unwrap();
        assert_eq!((rows[0].id, rows[0].name.as_deref()), (1, Some("new")));
        assert_eq!(
            rows[0].product_type.label().as_deref(),
            Some("FortiManager-VM")
        );
        assert_eq!((rows[1].id, rows[1].name.as_deref()), (2, Some("old")));
        assert_eq!(
            rows[1].product_type.label().as_deref(),
            Some("FortiGate Hardware")
        );
        assert_eq!(
            ProductType {
                id: Some(999),
                name: None
            }
            .label()
            .as_deref(),
            Some("999")
        );
    }

    #[test]
    fn error_replies_carry_status_and_message() {
        let e = parse_error_reply(
            "configs/list",
            400,
            br#"{"status":1,"message":"programSerialNumber is required.","error":null}"#,
        );
        assert_eq!(
            (e.http_status, e.code, e.message.as_str()),
            (Some(400), Some(1), "programSerialNumber is required.")
        );
        let e = parse_error_reply(
            "token",
            401,
            br#"{"error":"invalid_grant","error_description":"Invalid credentials given."}"#,
        );
        assert_eq!(e.message, "Invalid credentials given.");
        let e = parse_error_reply("x", 502, b"Bad Gateway");
        assert_eq!((e.code, e.message.as_str()), (None, "Bad Gateway"));
    }
}
