use super::*;
use crate::domain::money::points_text;
use crate::testutil::*;

#[test]
fn thirteen_rows_sum_exactly() {
    let r = walkthrough_day("2025-11-08");
    assert_eq!(r.total, dec("399.42"));
    assert_eq!(points_text(r.total), "399.42");
    assert_eq!(r.rows.len(), 13);
    // A float sum of the same values is not exact; ours must be.
    let float: f64 = WALKTHROUGH_DAY
        .iter()
        .map(|(_, p)| p.parse::<f64>().unwrap())
        .sum();
    assert_ne!(format!("{float}"), "399.42");
}

#[test]
fn rows_sort_by_points_then_serial_and_join_the_catalog() {
    let r = walkthrough_day("2025-11-08");
    assert_eq!(r.rows[0].serial_number, "FMVMMLTM00000582");
    assert_eq!(r.rows[0].config_name.as_deref(), Some("MSSP FMG"));
    assert_eq!(r.rows[0].product_type.as_deref(), Some("FortiManager-VM"));
    let fgvm: Vec<&str> = r.rows[2..9]
        .iter()
        .map(|r| r.serial_number.as_str())
        .collect();
    let mut sorted = fgvm.clone();
    sorted.sort();
    assert_eq!(fgvm, sorted);
    let hw = r
        .rows
        .iter()
        .find(|r| r.serial_number == "FGT71FTK22000471")
        .unwrap();
    assert_eq!(
        (hw.config_id, hw.product_type.as_deref()),
        (Some(4103), Some("FortiGate Hardware"))
    );
    // A serial FortiFlex does not list leaves the joined columns empty.
    let unknown = r
        .rows
        .iter()
        .find(|r| r.serial_number == "FEMSPO8800000320")
        .unwrap();
    assert_eq!(
        (unknown.config_id, unknown.description.as_deref()),
        (None, None)
    );
}

#[test]
fn a_serial_listed_twice_is_an_error() {
    let s = spec("2025-11-08");
    let q = request(&s);
    let err = build(
        s,
        q,
        vec![AccountId(2321234)],
        rows(&[("A1", "1.00"), ("A1", "2.00")]),
        &catalog(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), "FortiFlex");
    assert!(err.to_string().contains("serial A1 twice"), "{err}");
}

#[test]
fn rows_keep_their_own_account_and_accounts_total_in_contract_order() {
    let s = spec("2025-11-08");
    let q = request(&s);
    let mut points = rows(&WALKTHROUGH_DAY);
    for p in points.iter_mut() {
        p.account_id = match &p.serial_number[..4] {
            "FGVM" | "FGT7" => Some(AccountId(3300001)),
            "FEMS" => Some(AccountId(3300002)),
            _ => None, // the entitlement's (2321234 in the catalog) or the program's
        };
    }
    let r = build(
        s,
        q,
        vec![
            AccountId(3300003),
            AccountId(2321234),
            AccountId(3300001),
            AccountId(3300002),
        ],
        points,
        &catalog(),
    )
    .unwrap();
    let totals: Vec<(u64, usize, String)> = r
        .account_totals()
        .iter()
        .map(|t| (t.account_id.0, t.entitlements, points_text(t.points)))
        .collect();
    assert_eq!(
        totals,
        vec![
            (2321234, 3, "211.25".into()),
            (3300001, 8, "170.91".into()),
            (3300002, 2, "17.26".into()),
            (3300003, 0, "0.00".into()),
        ]
    );
    assert_eq!(
        r.accounts,
        [2321234, 3300001, 3300002, 3300003].map(AccountId)
    );
}
