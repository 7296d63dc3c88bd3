use std::collections::BTreeMap;

use chrono::{Days, TimeZone};

use super::*;
use crate::domain::alerts::{Alert, Kind};
use crate::domain::balance::{Inputs, ProgramType, snapshot};
use crate::domain::customers::Customers;
use crate::domain::statement::{StoredDay, StoredRow, build};
use crate::domain::tieout::TieoutFile;

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
        balances: &BTreeMap::new(),
        tieout_days: None,
        tieout: None,
        month: Some(month),
        alerts,
    })
}

/// Five balance readings: a day of 100 points, then 130 (30 more than consumed), then a
/// top-up of 10,000 less a day's 100; `daily` consumed 100 a day.
fn readings() -> (BTreeMap<NaiveDate, Decimal>, BTreeMap<NaiveDate, Decimal>) {
    let balances = [
        ("2025-11-01", "5000"),
        ("2025-11-02", "4900"),
        ("2025-11-03", "4770"),
        ("2025-11-04", "14670"),
        ("2025-11-05", "14570"),
    ]
    .iter()
    .map(|(day, b)| (d(day), dec(b)))
    .collect();
    let daily = (1..=4)
        .map(|n| (d(&format!("2025-11-0{n}")), dec("100")))
        .collect();
    (balances, daily)
}

/// A month's tie-out whose rate audit finds one device-day of `serial` charged above its rate.
fn tieout_file(serial: &str) -> TieoutFile {
    use crate::domain::rates::{PricedSet, RateSnapshot, Snapshots};
    use crate::domain::records::Parameter;
    use crate::domain::tieout::rates::{Audit, Charged};
    let set = PricedSet {
        product_type_id: 1,
        product_type: None,
        parameters: vec![Parameter {
            id: 1,
            value: "2".into(),
        }],
        parameter_names: Default::default(),
        configs: vec![4102],
        current: Some(crate::domain::money::Exact(dec("21.66"))),
        latest: None,
        latest_effective_date: None,
        error: None,
    };
    let snapshots: Snapshots = [(
        d("2025-11-01"),
        RateSnapshot {
            program_serial: "P".into(),
            date: d("2025-11-01"),
            rates: vec![set],
        },
    )]
    .into_iter()
    .collect();
    let mut audit = Audit::default();
    for (day, points) in [("2025-11-01", "21.66"), ("2025-11-02", "25.99")] {
        let charged = Charged {
            serial,
            customer: "acme",
            price_per_point: None,
            config_id: Some(4102),
            config_name: Some("FGT-VM <b>2 vCPU</b>"),
            product_type: "FortiGate-VM bundle",
            points: dec(points),
        };
        audit.day(d(day), &snapshots, [charged]);
    }
    TieoutFile {
        program_serial: "ELAVMS0000123456".into(),
        month: "2025-11".into(),
        through: d("2025-11-02"),
        balance: None,
        rates: audit.finish(),
        invoice: None,
    }
}

#[test]
fn the_daily_chart_has_a_date_axis_ending_on_the_newest_day() {
    let month = november();
    let html = index_html(&month, None, &[]);
    // 30 days: a label a week apart, counted back from the newest (2025-11-03).
    let labels: Vec<&str> = html
        .match_indices("class=\"tick date\"")
        .map(|(i, _)| &html[i..i + 80])
        .collect();
    assert_eq!(labels.len(), 5, "{labels:?}");
    for (day, label) in [
        ("2025-11-03", "Nov 3"),
        ("2025-10-27", "Oct 27"),
        ("2025-10-06", "Oct 6"),
    ] {
        assert!(
            html.contains(&format!("data-day=\"{day}\">{label}</text>")),
            "{day}"
        );
    }
    assert!(!html.contains("data-day=\"2025-10-05\">Oct 5</text>"));
}

#[test]
fn the_balance_chart_and_the_tieout_panel_mark_what_differs() {
    let month = november();
    let (days, top) = (days(), top());
    let (balances, daily) = readings();
    let tied = crate::domain::tieout::balance::tie_out(
        d("2025-11-01"),
        d("2025-11-04"),
        &daily,
        &balances,
        None,
    );
    let file = tieout_file(HOSTILE);
    let html = index(&Site {
        program_serial: "ELAVMS0000123456",
        refreshed_at: Utc.with_ymd_and_hms(2025, 11, 5, 9, 30, 0).unwrap(),
        days: &days,
        provisional_from: None,
        top: &top,
        balance: None,
        balances: &balances,
        tieout_days: Some(&tied),
        tieout: Some(&file),
        month: Some(&month),
        alerts: &[],
    });
    // The balance chart: a point per reading, with its exact value.
    assert_eq!(html.matches("<circle class=\"reading\"").count(), 5);
    assert!(html.contains("data-day=\"2025-11-04\" data-balance=\"14670\""));
    assert!(html.contains("Balance, 5 readings from 2025-11-01 to 2025-11-05"));
    // The panel: 2025-11-02 fell 130 against 100 consumed, 2025-11-03 holds the top-up.
    assert!(html.contains("<section id=\"tieout\">"));
    assert_eq!(html.matches("<tr class=\"day ties\"").count(), 3);
    assert_eq!(html.matches("<tr class=\"day differs\"").count(), 1);
    assert!(html.contains("<tr class=\"day differs\" data-day=\"2025-11-02\">"));
    assert!(html.contains("<line class=\"drop differs\""));
    assert!(html.contains("top-up of 10000.00"));
    assert!(
        html.contains("<details class=\"tieout-days\" open>"),
        "opened when a day differs"
    );
    // The rate audit: the one device-day above its rate, its serial escaped.
    assert_eq!(html.matches("<tr class=\"device differs\"").count(), 1);
    assert!(
        html.contains("<td class=\"num\">4.33</td>"),
        "25.99 − 21.66"
    );
    assert!(html.contains("2 device-days: 1 tie, 1 differ"));
    assert!(
        html.contains("<td>4102 FGT-VM &lt;b&gt;2 vCPU&lt;/b&gt;</td>"),
        "configuration named, escaped"
    );
    assert!(!html.contains(HOSTILE));
    assert!(!html.contains("<script"));
}

#[test]
fn a_site_without_snapshots_or_tieout_has_no_panel() {
    let month = november();
    let html = index_html(&month, None, &[]);
    assert!(!html.contains("id=\"tieout\""));
    assert!(!html.contains("balance-chart"));
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
