use std::collections::BTreeMap;

use super::*;
use crate::domain::balance::{Inputs, ProgramType, snapshot};
use chrono::Days;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn consumer(serial: &str, points: &str) -> Consumer {
    Consumer {
        serial_number: serial.into(),
        account_id: AccountId(2321234),
        config_id: Some(4101),
        points: dec(points),
        token_unused: false,
    }
}

/// Stored days, most recent first.
fn days(days: &[&[(&str, &str)]]) -> Baseline {
    let mut b = Baseline::default();
    for rows in days {
        b.add_day(
            rows.iter()
                .map(|(s, p)| (s.to_string(), AccountId(2321234), dec(p))),
        );
    }
    b
}

fn kinds(alerts: &[Alert]) -> Vec<(&'static str, &str)> {
    alerts
        .iter()
        .map(|a| (a.kind.as_str(), a.serial_number.as_deref().unwrap_or("-")))
        .collect()
}

#[test]
fn a_spike_is_more_than_twice_the_mean_and_ten_points_above_it() {
    let day: &[(&str, &str)] = &[("FGVMA", "100.00"), ("FGVMB", "4.00"), ("FGVMC", "100.00")];
    let week = days(&[day; 7]);
    let today = [
        consumer("FGVMA", "200.01"), // > 2 × 100 and 100.01 above: a spike
        consumer("FGVMB", "9.00"),   // > 2 × 4 but only 5 above: noise
        consumer("FGVMC", "200.00"), // exactly 2 ×: not more
    ];
    let alerts = for_day(d("2025-11-08"), &today, &week);
    assert_eq!(kinds(&alerts), vec![("spike", "FGVMA")]);
    assert_eq!(alerts[0].baseline, Some(Exact(dec("100.00"))));
    assert_eq!(alerts[0].points, Some(Exact(dec("200.01"))));
    assert!(
        alerts[0]
            .message
            .contains("FGVMA consumed 200.01 points on 2025-11-08")
    );
}

#[test]
fn new_stopped_and_idle_consumers_are_named() {
    let previous = days(&[&[("OLD", "10.00"), ("KEEP", "5.00")], &[("KEEP", "5.00")]]);
    let mut idle = consumer("IDLE", "3.00");
    idle.token_unused = true;
    let today = [consumer("KEEP", "5.00"), consumer("NEW", "7.50"), idle];
    let alerts = for_day(d("2025-11-08"), &today, &previous);
    assert_eq!(
        kinds(&alerts),
        vec![
            ("idle_charged", "IDLE"),
            ("new_consumer", "IDLE"),
            ("new_consumer", "NEW"),
            ("stopped_consuming", "OLD"),
        ]
    );
}

#[test]
fn without_stored_days_before_only_idle_tokens_are_judged() {
    let mut idle = consumer("IDLE", "3.00");
    idle.token_unused = true;
    let alerts = for_day(
        d("2025-11-08"),
        &[consumer("A", "500"), idle],
        &Baseline::default(),
    );
    assert_eq!(kinds(&alerts), vec![("idle_charged", "IDLE")]);
}

#[test]
fn balance_alerts_follow_the_snapshot() {
    let as_of = d("2025-11-09");
    let daily: BTreeMap<NaiveDate, Decimal> = (1..=7)
        .map(|k| (as_of - Days::new(k), dec("399.42")))
        .collect();
    let inputs = |balance: &str| Inputs {
        program_serial: "ELAVMS0000123456",
        program_type: ProgramType::Prepaid,
        as_of,
        balance: Some(dec(balance)),
        daily: &daily,
        previous: None,
        program_start: None,
        program_end: None,
        commitment: None,
    };
    let healthy = snapshot(&inputs("41234.56"));
    assert_eq!(for_balance(&healthy, 30), vec![]);
    let low = for_balance(&healthy, 104);
    assert_eq!(kinds(&low), vec![("low_runway", "-")]);
    assert!(
        low[0].message.contains("run out on 2026-02-20"),
        "{}",
        low[0].message
    );
    let negative = for_balance(&snapshot(&inputs("-10")), 30);
    assert_eq!(kinds(&negative), vec![("negative_balance", "-")]);
    assert!(
        negative[0].message.contains("after 2026-02-07"),
        "{}",
        negative[0].message
    );
}
