//! Reading FortiFlex replies tolerantly where the API is known to vary (list keys, id
//! spellings, numbers as strings) and strictly where a guess could misreport money.

use std::collections::HashMap;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use super::lenient::value_text;
use crate::error::ApiError;

/// Rows of a successful (2xx) reply: under the first of `keys` present, or a bare array.
/// A reply with no list, or with an integer `status` other than 0, is an error: reporting a
/// day as empty because the shape was unexpected would silently lose billing data.
///
/// One pass straight into typed rows; only a reply that pass rejects is read again, slowly,
/// to say exactly what is wrong with it.
pub fn parse_list<T: DeserializeOwned>(
    call: &str,
    http_status: u16,
    body: &[u8],
    keys: &[&str],
) -> Result<Vec<T>, ApiError> {
    match one_pass(body, keys) {
        Ok(Reply {
            status,
            message,
            rows,
        }) => match status.filter(|c| *c != 0) {
            Some(code) => Err(ApiError::new(
                call,
                Some(http_status),
                Some(code),
                message.unwrap_or_else(|| "no message".into()),
            )),
            None => rows.ok_or_else(|| no_list(call, http_status, keys)),
        },
        Err(_) => diagnose(call, http_status, body, keys),
    }
}

/// A reply read in one pass: its `status` and `message`, and the rows under the first of
/// the keys present (`Some(vec![])` for a `null` list).
struct Reply<T> {
    status: Option<i64>,
    message: Option<String>,
    rows: Option<Vec<T>>,
}

fn one_pass<T: DeserializeOwned>(body: &[u8], keys: &[&str]) -> serde_json::Result<Reply<T>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let reply =
        serde::de::DeserializeSeed::deserialize(ReplySeed::<T>(keys, PhantomData), &mut de)?;
    de.end()?;
    Ok(reply)
}

struct ReplySeed<'k, T>(&'k [&'k str], PhantomData<T>);

impl<'de, T: DeserializeOwned> serde::de::DeserializeSeed<'de> for ReplySeed<'_, T> {
    type Value = Reply<T>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Reply<T>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: DeserializeOwned> serde::de::Visitor<'de> for ReplySeed<'_, T> {
    type Value = Reply<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a FortiFlex reply object or a bare array of rows")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Reply<T>, A::Error> {
        let mut rows = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(row) = seq.next_element()? {
            rows.push(row);
        }
        Ok(Reply {
            status: None,
            message: None,
            rows: Some(rows),
        })
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Reply<T>, A::Error> {
        let (mut status, mut message) = (None, None);
        // The rows found so far, and the rank of their key in `keys` (lower wins).
        let mut found: Option<(usize, Vec<T>)> = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "status" {
                status = map.next_value::<Value>()?.as_i64();
            } else if key == "message" {
                message = value_text(&map.next_value::<Value>()?);
            } else if let Some(rank) = self.0.iter().position(|k| *k == key) {
                let rows = map.next_value::<Option<Vec<T>>>()?.unwrap_or_default();
                if found.as_ref().is_none_or(|(r, _)| rank < *r) {
                    found = Some((rank, rows));
                }
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(Reply {
            status,
            message,
            rows: found.map(|(_, rows)| rows),
        })
    }
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

/// The slow, careful reading of a reply the one pass rejected: which part is wrong.
fn diagnose<T: DeserializeOwned>(
    call: &str,
    http_status: u16,
    body: &[u8],
    keys: &[&str],
) -> Result<Vec<T>, ApiError> {
    let fail = |msg: String| ApiError::new(call, Some(http_status), None, msg);
    let text = std::str::from_utf8(body).map_err(|_| fail("reply is not UTF-8 text".into()))?;
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(text)
            .map_err(|e| fail(format!("reply rows are malformed: {e}")));
    }
    let fields: HashMap<String, Box<RawValue>> = serde_json::from_str(text).map_err(|e| {
        fail(format!(
            "reply is not a JSON object: {}",
            snippet_or_position(text, &e)
        ))
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
    for key in keys {
        if let Some(raw) = fields.get(*key) {
            if raw.get() == "null" {
                return Ok(Vec::new());
            }
            return serde_json::from_str(raw.get())
                .map_err(|e| fail(format!("rows under '{key}' are malformed: {e}")));
        }
    }
    Err(no_list(call, http_status, keys))
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
