//! Statements priced by a price book: lines split where a price changes, the minimum
//! monthly charge, cost and margin, all exact.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::*;
use crate::domain::customers::book_tests::BOOK;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn row(serial: &str, account: u64, product: &str, points: &str) -> StoredRow {
    StoredRow {
        serial_number: serial.into(),
        account_id: AccountId(account),
        config_id: Some(4102),
        config_name: Some("FGT-VM UTP".into()),
        product_type: Some(product.into()),
        description: None,
        points: dec(points),
    }
}

/// November 2025: Globex's FortiGate-VM at 10 points a day (its list price rises on the
/// 15th), Acme's at 21.66 (Acme's own price all month).
fn november() -> Vec<StoredDay> {
    Month::parse("2025-11")
        .unwrap()
        .days()
        .map(|date| StoredDay {
            date,
            revision: 1,
            manifest_sha256: format!("sha-{date}"),
            rows: vec![
                row("FGVMMLTM00000993", 3300002, "FortiGate-VM", "10.00"),
                row("FGVMMLTM00000001", 3300001, "FortiGate-VM", "21.66"),
            ],
        })
        .collect()
}

fn statement() -> Statement {
    let customers = Customers::parse(BOOK, "customers.json").unwrap();
    build(
        Month::parse("2025-11").unwrap(),
        &november(),
        &customers,
        day("2025-12-05"),
        2,
    )
}

type Shown<'a> = (
    &'a str,
    (u8, u8),
    Option<&'a str>,
    Decimal,
    Option<Decimal>,
    Option<Decimal>,
);

fn shown<'a>(s: &'a Statement, c: &'a CustomerStatement) -> Vec<Shown<'a>> {
    c.lines
        .iter()
        .map(|l| {
            (
                &*l.serial_number,
                l.days,
                s.rule(l).map(|r| r.id.as_str()),
                l.points,
                l.amount,
                l.cost,
            )
        })
        .collect()
}

#[test]
fn a_price_change_on_the_15th_splits_the_line_and_a_minimum_lifts_a_small_customer() {
    let s = statement();
    assert!(s.book);
    let globex = s.customers.iter().find(|c| c.id == "globex").unwrap();
    assert_eq!(
        shown(&s, globex),
        [
            // 16 days x 10 at 0.75, cost 0.42 a point.
            (
                "FGVMMLTM00000993",
                (15, 30),
                Some("list-fgvm-nov15"),
                dec("160.00"),
                Some(dec("120.00")),
                Some(dec("67.20"))
            ),
            // 14 days x 10 at 0.70, cost 0.40 a point.
            (
                "FGVMMLTM00000993",
                (1, 14),
                Some("list-fgvm"),
                dec("140.00"),
                Some(dec("98.00")),
                Some(dec("56.00"))
            ),
            // 218.00 lifted to Globex's 250.00 minimum.
            (
                "",
                (0, 0),
                Some(MINIMUM_RULE),
                dec("0"),
                Some(dec("32.00")),
                Some(dec("0"))
            ),
        ]
    );
    assert_eq!(
        (globex.points, globex.amount, globex.cost, globex.margin()),
        (
            dec("300.00"),
            Some(dec("250.00")),
            Some(dec("123.20")),
            Some(dec("126.80"))
        )
    );
    assert_eq!(
        globex.price_per_point, None,
        "two prices: none for the customer"
    );
    assert_eq!(globex.entitlements, 1, "one serial, whatever its lines");
    assert_eq!(
        globex
            .lines
            .iter()
            .map(|l| l.days_billed)
            .collect::<Vec<_>>(),
        [16, 14, 0]
    );
}

#[test]
fn cost_follows_the_day_while_the_price_holds_and_margin_is_exact() {
    let s = statement();
    let acme = s.customers.iter().find(|c| c.id == "acme").unwrap();
    // One price all month: one line. Its cost changes on the 15th without a split:
    // 14 x 21.66 x 0.40 + 16 x 21.66 x 0.42 = 121.296 + 145.5552 = 266.8512 -> 266.85.
    assert_eq!(
        shown(&s, acme),
        [(
            "FGVMMLTM00000001",
            (1, 30),
            Some("acme-fgvm"),
            dec("649.80"),
            Some(dec("422.37")),
            Some(dec("266.85"))
        )]
    );
    assert_eq!(acme.price_per_point, Some(dec("0.65")));
    assert_eq!(acme.lines[0].margin(), Some(dec("155.52")));
    // Every total is a sum of its lines; margin = amount - cost, in total too.
    for c in &s.customers {
        let lines = |f: fn(&Line) -> Option<Decimal>| c.lines.iter().filter_map(f).sum::<Decimal>();
        assert_eq!(c.amount, Some(lines(|l| l.amount)), "{}", c.id);
        assert_eq!(c.cost, Some(lines(|l| l.cost)), "{}", c.id);
        assert_eq!(c.margin(), Some(lines(|l| l.margin())), "{}", c.id);
    }
    assert_eq!(
        (s.amount, s.cost, s.margin()),
        (
            Some(dec("672.37")),
            Some(dec("390.05")),
            Some(dec("282.32"))
        )
    );
}

#[test]
fn a_fold_carried_between_runs_gives_the_same_priced_lines() {
    let customers = Customers::parse(BOOK, "customers.json").unwrap();
    let month = Month::parse("2025-11").unwrap();
    let days = november();
    // Fold the first 20 days, carry the lines, add the rest to the carried fold.
    let mut first = Fold::new(month);
    for d in days.iter().take(20).cloned() {
        first.add(d, Some(&customers));
    }
    let mut carried = Fold::new(month);
    first.each_line(|l| carried.add_carried(l));
    for source in first.sources() {
        carried.add_source(DayMeta {
            date: source.0,
            revision: source.1,
            manifest_sha256: source.2.clone(),
        });
    }
    for d in days.iter().skip(20).cloned() {
        carried.add(d, Some(&customers));
    }
    assert_eq!(
        carried.finish(&customers, day("2025-12-05"), 2),
        statement()
    );
}
