use std::str::FromStr;

use super::*;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn row(serial: &str, account: u64, config: u64, points: &str) -> StoredRow {
    StoredRow {
        serial_number: serial.into(),
        account_id: AccountId(account),
        config_id: Some(config),
        config_name: Some(format!("config {config}")),
        product_type: Some("FortiGate-VM bundle".into()),
        description: None,
        points: dec(points),
    }
}

/// November 2025, every day stored: the walkthrough's customer devices, one of them
/// idle on the 10th.
fn november(skip: Option<&str>) -> Vec<StoredDay> {
    Month::parse("2025-11")
        .unwrap()
        .days()
        .filter(|d| Some(*d) != skip.map(day))
        .map(|date| StoredDay {
            date,
            revision: 1,
            manifest_sha256: format!("sha-{date}"),
            rows: vec![
                row("FGVMMLTM00000993", 3300001, 4102, "21.66"),
                row(
                    "FGVMMLTM00000994",
                    3300001,
                    4102,
                    if date == day("2025-11-10") {
                        "0"
                    } else {
                        "21.66"
                    },
                ),
                row("FCTEMS0000000001", 3300002, 4104, "1.333"),
                row("FMVMMLTM00000582", 2321234, 4101, "107.20"),
            ],
        })
        .collect()
}

const FILE: &str = r#"{"currency": "USD", "price_per_point": "0.50", "customers": [
    {"id": "acme", "name": "Acme", "accounts": [3300001], "price_per_point": "0.55"},
    {"id": "globex", "name": "Globex", "accounts": [3300002]},
    {"id": "quiet", "name": "Quiet Ltd", "accounts": [3300009]}]}"#;

#[test]
fn a_month_in_money_adds_up_line_by_line() {
    let customers = Customers::parse(FILE, "c.json").unwrap();
    let s = build(
        Month::parse("2025-11").unwrap(),
        &november(None),
        &customers,
        day("2025-12-05"),
        2,
    );
    assert_eq!(
        (s.status, s.missing_days.len(), s.sources.len()),
        (Status::Final, 0, 30)
    );
    let ids: Vec<&str> = s.customers.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["acme", "globex", "quiet", "unassigned"]);
    let acme = &s.customers[0];
    // 30 x 21.66 and 29 x 21.66, at 0.55: 357.39 and 345.477 -> 345.48.
    let lines: Vec<(&str, u32, Decimal, Option<Decimal>)> = acme
        .lines
        .iter()
        .map(|l| (&*l.serial_number, l.days_billed, l.points, l.amount))
        .collect();
    assert_eq!(
        lines,
        [
            ("FGVMMLTM00000993", 30, dec("649.80"), Some(dec("357.39"))),
            ("FGVMMLTM00000994", 29, dec("628.14"), Some(dec("345.48"))),
        ]
    );
    assert_eq!(acme.amount, Some(dec("702.87")));
    // 30 x 1.333 = 39.990 points at the file's 0.50: 19.995 -> 20.00 (half away from zero).
    assert_eq!(s.customers[1].lines[0].amount, Some(dec("20.00")));
    // A customer with no consumption is still on the statement, at zero.
    assert_eq!(
        (s.customers[2].points, s.customers[2].amount),
        (dec("0"), Some(dec("0")))
    );
    // The partner's own device is nobody's: unassigned, at the file's price.
    let u = &s.customers[3];
    assert_eq!((u.points, u.amount), (dec("3216.00"), Some(dec("1608.00"))));
    assert_eq!(s.points, dec("4533.930"));
    assert_eq!(
        s.amount,
        Some(dec("702.87") + dec("20.00") + dec("1608.00"))
    );
}

#[test]
fn a_missing_or_recent_day_makes_it_provisional() {
    let customers = Customers::per_account(&[AccountId(3300001)]);
    let month = Month::parse("2025-11").unwrap();
    let gap = build(
        month,
        &november(Some("2025-11-17")),
        &customers,
        day("2026-01-01"),
        2,
    );
    assert_eq!(
        (gap.status, gap.missing_days.clone()),
        (Status::Provisional, vec![day("2025-11-17")])
    );
    let recent = build(month, &november(None), &customers, day("2025-12-02"), 2);
    assert_eq!(recent.status, Status::Provisional);
    assert_eq!(
        build(month, &november(None), &customers, day("2025-12-03"), 2).status,
        Status::Final
    );
    // Without prices there are no amounts anywhere.
    assert_eq!(recent.amount, None);
    assert!(recent.customers.iter().all(|c| c.amount.is_none()));
}

#[test]
fn months_parse_strictly() {
    let m = Month::parse("2024-02").unwrap();
    assert_eq!(
        (m.first(), m.last(), m.days().count()),
        (day("2024-02-01"), day("2024-02-29"), 29)
    );
    assert_eq!(m.to_string(), "2024-02");
    for bad in ["2024-13", "2024-2", "24-02", "2024-02-01", ""] {
        assert_eq!(
            Month::parse(bad).unwrap_err().kind(),
            "InvalidRequest",
            "{bad}"
        );
    }
}

#[test]
fn a_month_folded_one_day_at_a_time_without_a_customers_file_bills_each_account() {
    let month = Month::parse("2025-11").unwrap();
    let mut days = november(Some("2025-11-10"));
    // A day of another month is not part of November's statement.
    days.push(StoredDay {
        date: day("2025-12-01"),
        revision: 1,
        manifest_sha256: "sha-december".into(),
        rows: vec![row("FGVMMLTM00000993", 3300001, 4102, "999")],
    });
    let mut fold = Fold::new(month);
    for d in days.clone() {
        fold.add(d, None);
    }
    let accounts = fold.accounts();
    assert_eq!(
        accounts,
        vec![AccountId(2321234), AccountId(3300001), AccountId(3300002)]
    );
    let per_account = Customers::per_account(&accounts);
    let folded = fold.finish(&per_account, day("2025-12-05"), 2);
    assert_eq!(
        folded,
        build(month, &days, &per_account, day("2025-12-05"), 2)
    );
    assert_eq!(folded.missing_days, vec![day("2025-11-10")]);
    assert_eq!(folded.sources.len(), 29);
    let ids: Vec<&str> = folded.customers.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["2321234", "3300001", "3300002"]);
    let devices = &folded.customers[1];
    assert_eq!(devices.lines.len(), 2);
    // 29 stored days of 21.66 each, per device: December's 999 is not in it.
    assert_eq!(devices.points, dec("1256.28"));
    assert!(devices.lines.iter().all(|l| l.days_billed == 29));
    assert_eq!(folded.amount, None);
}
