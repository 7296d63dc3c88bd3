//! Reading FortiFlex replies tolerantly where the API is known to vary (list keys, id
//! spellings, numbers as strings) and strictly where a guess could misreport money.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::adapters::json_rows::{Malformed, RowScanner, Target};
use crate::domain::money::parse_decimal;
use crate::domain::records::{Rate, value_text};
use crate::error::ApiError;

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
    /// Per list, the first row that is not a `T`: its index and why. (Per list: a bad row
    /// of a list the reply does not answer with must not hide one of the list it does.)
    bad_rows: Vec<Option<(usize, serde_json::Error)>>,
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
            bad_rows: (0..=keys.len()).map(|_| None).collect(),
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
        let (lists, bad_rows) = (&mut self.lists, &mut self.bad_rows);
        let fed = self.scan.feed(chunk, &mut |row| {
            if bad_rows[row.list].is_some() {
                return;
            }
            match crate::adapters::json_rows::parse(row.json) {
                Ok(r) => lists[row.list].push(r),
                Err(e) => bad_rows[row.list] = Some((row.index, e)),
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
        if let Some((index, e)) = self.bad_rows[list].take() {
            let whose = self
                .keys
                .get(list)
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
    refused(call, http_status, &fields)?;
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

/// A 2xx reply whose integer `status` is not 0: FortiFlex's refusal, with its message.
pub(super) fn refused(
    call: &str,
    http_status: u16,
    fields: &HashMap<String, Box<RawValue>>,
) -> Result<(), ApiError> {
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
    Ok(())
}

/// `tools/calc`'s reply, in any of the shapes it has had: `points {current, latest,
/// latestEffectiveDate}`, the same under `configs`, or a bare number (under `points`, or
/// the whole reply). The rate is read only from exact decimal text; a reply without one is
/// an error, never a rate of zero.
pub fn parse_rate(call: &str, http_status: u16, body: &[u8]) -> Result<Rate, ApiError> {
    let fail = |msg: String| ApiError::new(call, Some(http_status), None, msg);
    let text = std::str::from_utf8(body).map_err(|_| fail("reply is not UTF-8 text".into()))?;
    if let Some(current) = parse_decimal(text) {
        return Ok(Rate {
            current,
            latest: None,
            latest_effective: None,
        });
    }
    let fields: HashMap<String, Box<RawValue>> = serde_json::from_str(text)
        .map_err(|_| fail(format!("reply is not a JSON object: {}", snippet(text))))?;
    refused(call, http_status, &fields)?;
    let wrapped = ["points", "configs", "data"]
        .iter()
        .find_map(|k| fields.get(*k).map(|raw| (*k, raw.get())));
    let (key, raw) = match wrapped {
        Some(found) => found,
        // The numbers at the top level, with no wrapper.
        None if fields.contains_key("current") => ("reply", text),
        None => {
            return Err(fail(
                "reply has no rate under 'points', 'configs' or 'current'".into(),
            ));
        }
    };
    if let Some(current) = parse_decimal(raw) {
        return Ok(Rate {
            current,
            latest: None,
            latest_effective: None,
        });
    }
    // A one-element list around the object, as list calls answer.
    let raw = match serde_json::from_str::<Vec<Box<RawValue>>>(raw) {
        Ok(items) if items.len() == 1 => items[0].get().to_string(),
        Ok(items) => {
            return Err(fail(format!(
                "'{key}' lists {} rates, not one",
                items.len()
            )));
        }
        Err(_) => raw.to_string(),
    };
    let inner: HashMap<String, Box<RawValue>> = serde_json::from_str(&raw)
        .map_err(|_| fail(format!("'{key}' is neither a number nor an object")))?;
    let number = |k: &str| inner.get(k).and_then(|r| parse_decimal(r.get()));
    let current = number("current")
        .or_else(|| number("points"))
        .ok_or_else(|| fail(format!("'{key}' has no exact 'current' rate")))?;
    let latest_effective = inner
        .get("latestEffectiveDate")
        .and_then(|r| serde_json::from_str::<Value>(r.get()).ok())
        .and_then(|v| value_text(&v))
        .and_then(|t| {
            let t = t.trim();
            NaiveDate::parse_from_str(t.get(..10).unwrap_or(t), "%Y-%m-%d").ok()
        });
    Ok(Rate {
        current,
        latest: number("latest"),
        latest_effective,
    })
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
mod tests;
