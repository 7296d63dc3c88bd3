use super::*;

/// The rows as (list, index, text), and the skeleton.
type Scan = (Vec<(usize, usize, String)>, String);

/// Scans `text` fed in pieces of the given sizes (cycled).
fn scan(target: Target<'_>, text: &str, pieces: &[usize]) -> Result<Scan, Malformed> {
    let mut scanner = RowScanner::new(target);
    let mut rows = Vec::new();
    let mut each = |r: Row<'_>| {
        rows.push((r.list, r.index, String::from_utf8(r.json.to_vec()).unwrap()));
    };
    let mut rest = text.as_bytes();
    for n in pieces.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (now, later) = rest.split_at((*n).min(rest.len()));
        scanner.feed(now, &mut each)?;
        rest = later;
    }
    let scanned = scanner.finish()?;
    Ok((rows, String::from_utf8(scanned.skeleton).unwrap()))
}

const KEYS: &[&str] = &["entitlements", "vms"];

#[test]
fn a_reply_gives_its_rows_and_keeps_the_rest_as_a_skeleton() {
    let text = r#"{"status": 0, "vms": [7], "entitlements": [ {"a": "}]\"{"}, "x\"]" , 12.50, null ,[1,{}]],
        "nested": {"entitlements": [1]}, "message": "ok"}"#;
    let (rows, skeleton) = scan(Target::Reply(KEYS), text, &[usize::MAX]).unwrap();
    let want = [
        (1, 0, "7"),
        (0, 0, r#"{"a": "}]\"{"}"#),
        (0, 1, r#""x\"]""#),
        (0, 2, "12.50"),
        (0, 3, "null"),
        (0, 4, "[1,{}]"),
    ];
    let got: Vec<_> = rows.iter().map(|(l, i, t)| (*l, *i, t.as_str())).collect();
    assert_eq!(got, want);
    assert_eq!(
        skeleton,
        r#"{"status": 0, "vms": [], "entitlements": [],
        "nested": {"entitlements": [1]}, "message": "ok"}"#
    );
    // Only the top level's keys name lists: "nested" kept its array.
    let (rows, skeleton) = scan(Target::Reply(KEYS), " [{\"a\":1}, 2] \n", &[1]).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1], (2, 1, "2".to_string()));
    assert_eq!(skeleton, " [] \n");
}

#[test]
fn rows_come_out_the_same_however_the_text_is_cut() {
    let row = |i: usize| {
        format!(
            r#"{{"serialNumber": "FGVMMLTM{i:08}", "description": "caf\u00e9 \"{{\" ] \\ {i}", "points": {i}.5}}"#
        )
    };
    let rows: Vec<String> = (0..400).map(row).collect();
    let text = format!(
        "{{\"message\": \"}}{{\\\"\", \"entitlements\": [\n{}\n], \"status\": 0}}",
        rows.join(",\n")
    );
    let whole = scan(Target::Reply(KEYS), &text, &[usize::MAX]).unwrap();
    assert_eq!(whole.0.len(), 400);
    assert_eq!(whole.0[399].2, rows[399]);
    assert_eq!(
        whole.1,
        "{\"message\": \"}{\\\"\", \"entitlements\": [], \"status\": 0}"
    );
    for pieces in [&[1][..], &[2, 3, 5, 7, 11, 13], &[4096], &[1, 1000]] {
        assert_eq!(
            scan(Target::Reply(KEYS), &text, pieces).unwrap(),
            whole,
            "{pieces:?}"
        );
    }
}

#[test]
fn a_path_names_one_array_however_deep() {
    let text = r#"{"program": {"x": [1, {"entitlements": [9]}]}, "entitlements": [8],
        "consumption": {"total": "1.00", "entitlements": [{"s": 1}, {"s": 2}], "after": [3]}}"#;
    let (rows, _) = scan(Target::Path(&["consumption", "entitlements"]), text, &[3]).unwrap();
    let texts: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    assert_eq!(texts, [r#"{"s": 1}"#, r#"{"s": 2}"#]);
    let mut scanner = RowScanner::new(Target::Path(&["consumption", "entitlements"]));
    scanner
        .feed(br#"{"consumption": {}}"#, &mut |_| {})
        .unwrap();
    assert!(scanner.finish().unwrap().arrays.is_empty());
}

#[test]
fn unbalanced_cut_off_or_trailing_text_is_refused_with_its_place() {
    let refused = |text: &str| scan(Target::Reply(KEYS), text, &[4]).unwrap_err();
    let text = r#"{"entitlements": [{"serialNumber": "A", "token": "TOK"#;
    let cut = refused(text);
    assert!(cut.ended_early(), "{cut}");
    assert_eq!(cut.at, text.len());
    assert!(refused(r#"{"entitlements": [12"#).ended_early());
    assert!(refused("").ended_early());
    assert!(refused("42").ended_early(), "a bare number is not a reply");
    let closed = refused(r#"{"entitlements": []}]"#);
    assert_eq!((closed.why, closed.at), ("more after the value", 20));
    let mismatched = refused(r#"{"entitlements": [}"#);
    assert_eq!((mismatched.why, mismatched.at), ("mismatched brackets", 18));
    assert!(!refused(r#"{"a": 1} {"#).ended_early());
}

#[test]
fn rows_that_are_not_utf8_get_serde_jsons_error() {
    let bad: serde_json::Result<String> = parse(b"\"caf\xe9\"");
    assert!(bad.unwrap_err().to_string().contains("invalid unicode"));
    assert_eq!(
        parse::<String>("\"caf\u{e9}\"".as_bytes()).unwrap(),
        "caf\u{e9}"
    );
}
