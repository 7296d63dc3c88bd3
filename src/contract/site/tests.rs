use std::collections::BTreeMap;

use chrono::{Days, TimeZone};

use super::*;
use crate::domain::alerts::{Alert, Kind};
use crate::domain::balance::{Inputs, ProgramType, snapshot};
use crate::domain::customers::Customers;
use crate::domain::statement::{StoredDay, StoredRow, build};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

const HOSTILE: &str = "<script>alert(1)</script>";
const FORMULA: &str = "=HYPERLINK(\"http://evil\",\"x\")";

fn customers() -> Customers {
    let file = format!(
        r#"{{"currency": "USD", "price_per_point": "0.50", "customers": [
        {{"id": "acme", "name": "{}", "accounts": [3300001]}},
        {{"id": "globex", "name": "Globex", "accounts": [3300002]}}]}}"#,
        HOSTILE.replace('"', "\\\"")
    );
    Customers::parse(&file, "c.json").unwrap()
}

fn november() -> Statement {
    let days: Vec<StoredDay> = (1..=3)
        .map(|n| StoredDay {
            date: d(&format!("2025-11-0{n}")),
            revision: 1,
            manifest_sha256: format!("sha-{n}"),
            rows: vec![
                StoredRow {
                    serial_number: "FGVMMLTM00000993".into(),
                    account_id: AccountId(3300001),
                    config_id: Some(4102),
                    config_name: Some(FORMULA.into()),
                    product_type: Some("FortiGate-VM bundle".into()),
                    description: None,
                    points: dec("21.66"),
                },
                StoredRow {
                    serial_number: "FCTEMS0000000001".into(),
                    account_id: AccountId(3300002),
                    config_id: Some(4104),
                    config_name: Some("EMS <b>bold</b>".into()),
                    product_type: None,
                    description: None,
                    points: dec("1.333"),
                },
            ],
        })
        .collect();
    build(
        crate::domain::statement::Month::parse("2025-11").unwrap(),
        &days,
        &customers(),
        d("2025-11-04"),
        2,
    )
}

fn days() -> Vec<DayPoints> {
    (0..30)
        .map(|i| DayPoints {
            date: d("2025-10-05") + Days::new(i),
            by_customer: vec![
                ("acme".into(), dec("43.32")),
                ("globex".into(), dec("1.333") + Decimal::from(i)),
            ],
        })
        .collect()
}

fn top() -> Vec<TopEntitlement> {
    (0..10)
        .map(|i| TopEntitlement {
            serial_number: format!("FGVMMLTM0000{i:04}"),
            account_id: AccountId(3300001),
            customer: "acme".into(),
            config_name: Some(if i == 0 {
                FORMULA.into()
            } else {
                format!("config {i}")
            }),
            points: Decimal::from(100 - i),
        })
        .collect()
}

fn index_html(month: &Statement, balance: Option<&Snapshot>, alerts: &[DayAlerts]) -> String {
    let (days, top) = (days(), top());
    index(&Site {
        program_serial: "ELAVMS0000123456",
        refreshed_at: Utc.with_ymd_and_hms(2025, 11, 4, 9, 30, 0).unwrap(),
        days: &days,
        provisional_from: Some(d("2025-11-02")),
        top: &top,
        balance,
        month: Some(month),
        alerts,
    })
}

#[test]
fn the_index_draws_one_bar_per_day_and_customer_and_ten_top_rows() {
    let month = november();
    let html = index_html(&month, None, &[]);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<rect class=\"bar\"").count(), 60);
    assert_eq!(html.matches("<tr class=\"consumer\"").count(), 10);
    // The chart has a title for screen readers and a data table with the exact numbers.
    assert!(html.contains("<title id=\"chart-title\">Daily points, 30 stored days from 2025-10-05 to 2025-11-03</title>"));
    assert!(
        html.contains("<td class=\"num\">30.33</td>"),
        "globex on the last day: 1.333 + 29"
    );
    assert!(html.contains("Days from 2025-11-02 on are provisional"));
    // Month to date: both customers, in money, linking their statement pages.
    assert!(html.contains("href=\"month=2025-11/acme.html\""));
    assert!(
        html.contains("<td class=\"num\">32.49 USD</td>"),
        "acme: 64.98 points × 0.50"
    );
    assert!(
        !html.contains("<script"),
        "no script at all, hostile or ours"
    );
    assert!(
        !html.contains("src=\"http"),
        "nothing fetched from elsewhere"
    );
}

#[test]
fn hostile_names_show_as_text() {
    let month = november();
    let html = index_html(&month, None, &[]);
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "customer name escaped"
    );
    assert!(!html.contains(HOSTILE));
    assert!(
        html.contains("=HYPERLINK(&quot;http://evil&quot;,&quot;x&quot;)"),
        "shown as typed, inert in HTML"
    );
    let page = statement_page("ELAVMS0000123456", &month, &month.customers[1]);
    assert!(page.contains("EMS &lt;b&gt;bold&lt;/b&gt;"));
    assert!(!page.contains("<b>bold"));
}

#[test]
fn the_balance_and_open_alerts_are_shown() {
    let month = november();
    let daily: BTreeMap<NaiveDate, Decimal> = (1..=7)
        .map(|n| (d("2025-11-04") - Days::new(n), dec("100")))
        .collect();
    let s = snapshot(&Inputs {
        program_serial: "ELAVMS0000123456",
        program_type: ProgramType::Prepaid,
        as_of: d("2025-11-04"),
        balance: Some(dec("2500")),
        daily: &daily,
        previous: None,
        program_start: None,
        program_end: None,
        commitment: None,
    });
    let alerts = [DayAlerts {
        program_serial: "ELAVMS0000123456".into(),
        date: d("2025-11-03"),
        alerts: vec![Alert {
            kind: Kind::LowRunway,
            serial_number: None,
            account_id: None,
            customer_id: None,
            points: None,
            baseline: None,
            message: format!("runway 25 days for {HOSTILE}"),
        }],
    }];
    let html = index_html(&month, Some(&s), &alerts);
    assert!(html.contains("<dd>25 days</dd>"), "2500 / 100 a day");
    assert!(html.contains("<dd>2025-11-29</dd>"), "runs out on");
    assert_eq!(
        html.matches("<li class=\"alert\" data-kind=\"low_runway\"")
            .count(),
        1
    );
    assert!(!html.contains(HOSTILE));
}

#[test]
fn a_statement_page_matches_the_statement_line_for_line() {
    let month = november();
    let acme = &month.customers[0];
    let page = statement_page("ELAVMS0000123456", &month, acme);
    assert_eq!(page.matches("<tr class=\"line\"").count(), acme.lines.len());
    assert!(
        page.contains("<td class=\"num\">64.98</td>"),
        "3 × 21.66 points"
    );
    assert!(page.contains("<td class=\"num\">32.49 USD</td>"));
    assert!(page.contains("@media print"));
}
