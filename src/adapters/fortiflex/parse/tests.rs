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
    assert_eq!(rows[1].account_id, Some(crate::domain::ids::AccountId(7)));
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
    let e =
        points(r#"{"status":-10,"message":"Rate limit exceeded.","entitlements":[]}"#).unwrap_err();
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
    let e =
        points(r#"{"entitlements":[{"serialNumber":"A","points":1},{"points":2}]}"#).unwrap_err();
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
    let e = points(r#"{"entitlements":[{"points":2}],"status":-10,"message":"Busy"}"#).unwrap_err();
    assert_eq!((e.code, e.message.as_str()), (Some(-10), "Busy"));
    // A bad row under a key that is not the answer does not matter.
    let rows = points(r#"{"vms":[1],"entitlements":[{"serialNumber":"A","points":1}]}"#);
    assert_eq!(rows.unwrap().len(), 1);
    // Nor does it hide a bad row of the answer's list (found by tests/it/parsers.rs).
    let e = points(r#"{"entitlements":[null],"vms":[null]}"#).unwrap_err();
    assert!(
        e.message
            .starts_with("rows under 'entitlements' are malformed: row 0:"),
        "{e}"
    );
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
fn a_configs_parameters_are_read_as_text_by_id() {
    let rows: Vec<Config> = parse_list(
        "configs/list",
        200,
        br#"{"status":0,"configs":[{"id":1,"productType":{"id":1},
            "parameters":[{"id":1,"value":"4"},{"id":"2","value":"UTP"},{"id":10,"value":5},{"value":"x"}]},
            {"id":2,"productType":{"id":2}}]}"#,
        &["configs"],
    )
    .unwrap();
    let read: Vec<(u64, &str)> = rows[0]
        .parameters
        .iter()
        .map(|p| (p.id, p.value.as_str()))
        .collect();
    assert_eq!(
        read,
        [(1, "4"), (2, "UTP"), (10, "5")],
        "no id, no parameter"
    );
    assert!(rows[1].parameters.is_empty());
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

#[test]
fn a_rate_is_read_from_every_shape_tools_calc_has_had() {
    let rate = |body: &str| parse_rate("tools/calc", 200, body.as_bytes());
    let now = rate(
        r#"{"status":0,"message":"Request processed successfully.",
           "points":{"current":21.66,"latest":23.10,"latestEffectiveDate":"2027-01-01T00:00:00"}}"#,
    )
    .unwrap();
    assert_eq!(now.current.to_string(), "21.66");
    assert_eq!(now.latest.map(|d| d.to_string()).as_deref(), Some("23.10"));
    assert_eq!(now.latest_effective, NaiveDate::from_ymd_opt(2027, 1, 1));
    let configs = rate(r#"{"status":0,"configs":{"current":"107.20"}}"#).unwrap();
    assert_eq!(configs.current.to_string(), "107.20");
    assert_eq!((configs.latest, configs.latest_effective), (None, None));
    for bare in [
        r#"{"status":0,"points":14.01}"#,
        "14.01",
        r#"{"status":0,"configs":[{"points":14.01}]}"#,
    ] {
        assert_eq!(rate(bare).unwrap().current.to_string(), "14.01", "{bare}");
    }
}

#[test]
fn a_rate_is_never_guessed() {
    let rate = |body: &str| parse_rate("tools/calc", 200, body.as_bytes());
    let e = rate(r#"{"status":-1,"message":"Invalid parameters."}"#).unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (Some(-1), "Invalid parameters.")
    );
    let e = rate(r#"{"status":0,"points":{"latest":3}}"#).unwrap_err();
    assert!(e.message.contains("no exact 'current'"), "{e}");
    let e = rate(r#"{"status":0,"points":"lots"}"#).unwrap_err();
    assert!(e.message.contains("neither a number nor an object"), "{e}");
    let e = rate(r#"{"status":0,"message":"ok"}"#).unwrap_err();
    assert!(e.message.contains("no rate under"), "{e}");
    let e = rate(r#"{"status":0,"configs":[{"points":1},{"points":2}]}"#).unwrap_err();
    assert!(e.message.contains("lists 2 rates"), "{e}");
    assert!(
        rate("<html>")
            .unwrap_err()
            .message
            .starts_with("reply is not a JSON object")
    );
}
