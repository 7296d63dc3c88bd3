use super::*;
use crate::domain::records::ProductType;
use crate::domain::window::parse_date;

fn d(s: &str) -> NaiveDate {
    parse_date(s).unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn config(id: u64, product: u64, parameters: &[(u64, &str)]) -> Config {
    Config {
        id,
        name: None,
        status: None,
        account_id: None,
        product_type: ProductType {
            id: Some(product),
            name: None,
        },
        parameters: parameters
            .iter()
            .map(|(id, value)| Parameter {
                id: *id,
                value: value.to_string(),
            })
            .collect(),
    }
}

fn priced(configs: &[u64], parameters: &[(u64, &str)], current: &str) -> PricedSet {
    PricedSet {
        product_type_id: 1,
        product_type: None,
        parameters: config(0, 1, parameters).parameters,
        parameter_names: Default::default(),
        configs: configs.to_vec(),
        current: Some(Exact(dec(current))),
        latest: None,
        latest_effective_date: None,
        error: None,
    }
}

fn snapshot(date: &str, rates: Vec<PricedSet>) -> (NaiveDate, RateSnapshot) {
    (
        d(date),
        RateSnapshot {
            program_serial: "P".into(),
            date: d(date),
            rates,
        },
    )
}

#[test]
fn configurations_with_the_same_parameters_in_any_order_are_priced_once() {
    let sets = parameter_sets(&[
        config(1, 1, &[(1, "2"), (2, "UTP")]),
        config(2, 1, &[(2, "UTP"), (1, "2")]),
        config(3, 1, &[(1, "4"), (2, "UTP")]),
        config(4, 2, &[(1, "2"), (2, "UTP")]),
        Config {
            product_type: ProductType::default(),
            ..config(5, 1, &[])
        },
    ]);
    let configs: Vec<Vec<u64>> = sets.values().map(|(c, _)| c.clone()).collect();
    assert_eq!(configs, [vec![1, 2], vec![3], vec![4]]);
    assert_eq!(
        sets.values().next().unwrap().1.as_deref(),
        Some("FortiGate-VM bundle")
    );
}

#[test]
fn a_day_is_priced_by_the_newest_snapshot_before_it_else_the_oldest_after() {
    let mut announced = priced(&[7], &[(1, "2")], "21.66");
    announced.latest = Some(Exact(dec("23.10")));
    announced.latest_effective_date = Some(d("2026-01-01"));
    let snapshots: Snapshots = [
        snapshot("2025-12-10", vec![announced.clone()]),
        snapshot("2025-12-20", vec![announced]),
    ]
    .into_iter()
    .collect();
    let rate = |day: &str| in_force(&snapshots, 7, d(day)).unwrap();
    // Before the first snapshot: its current rate, read after the day.
    assert_eq!(
        (rate("2025-12-01").points, rate("2025-12-01").read),
        (dec("21.66"), d("2025-12-10"))
    );
    assert_eq!(rate("2025-12-15").read, d("2025-12-10"));
    assert_eq!(rate("2025-12-31").points, dec("21.66"));
    // The announced change takes effect on its date, and the day says so.
    let jan = rate("2026-01-01");
    assert_eq!((jan.points, jan.changed), (dec("23.10"), true));
    assert!(!rate("2026-01-02").changed);
    assert!(in_force(&snapshots, 8, d("2025-12-15")).is_none());
}

#[test]
fn an_edited_configuration_names_its_other_rate() {
    let snapshots: Snapshots = [
        snapshot("2025-12-10", vec![priced(&[7], &[(1, "2")], "21.66")]),
        snapshot("2025-12-11", vec![priced(&[7], &[(1, "4")], "40.00")]),
    ]
    .into_iter()
    .collect();
    let edited = in_force(&snapshots, 7, d("2025-12-10")).unwrap();
    assert_eq!(
        (edited.points, edited.other),
        (dec("21.66"), Some(dec("40.00")))
    );
    let after = in_force(&snapshots, 7, d("2025-12-11")).unwrap();
    assert_eq!(
        (after.points, after.other, after.changed),
        (dec("40.00"), None, true)
    );
}

#[test]
fn only_sets_without_a_rate_are_asked_again() {
    let mut failed = priced(&[8], &[(1, "4")], "0");
    failed.current = None;
    failed.error = Some("refused".into());
    let (_, s) = snapshot(
        "2025-12-10",
        vec![priced(&[7], &[(1, "2")], "21.66"), failed],
    );
    let sets = parameter_sets(&[
        config(7, 1, &[(1, "2")]),
        config(8, 1, &[(1, "4")]),
        config(9, 1, &[(1, "8")]),
    ]);
    let missing: Vec<u64> = s
        .missing(sets.keys())
        .into_iter()
        .map(|set| sets[set].0[0])
        .collect();
    assert_eq!(missing, [8, 9]);
}

#[test]
fn an_announced_change_tells_each_customer_its_effect_once_within_two_weeks() {
    use super::announced::{Consumed, alerts};
    let mut fgt = priced(&[7], &[(1, "2")], "20.00");
    fgt.product_type = Some("FortiGate-VM bundle".into());
    fgt.latest = Some(Exact(dec("21.00")));
    fgt.latest_effective_date = Some(d("2027-01-01"));
    let other = priced(&[8], &[(1, "4")], "40.00");
    let consumed = [
        Consumed {
            customer: "acme",
            customer_name: "Acme",
            config_id: Some(7),
            points: dec("20.00"),
        },
        Consumed {
            customer: "acme",
            customer_name: "Acme",
            config_id: Some(8),
            points: dec("40.00"),
        },
        Consumed {
            customer: "globex",
            customer_name: "Globex",
            config_id: Some(8),
            points: dec("40.00"),
        },
    ];
    let on = |date: &str| snapshot(date, vec![fgt.clone(), other.clone()]).1;
    // Fifteen days ahead: not yet.
    assert!(alerts(&on("2026-12-17"), None, &consumed, 14).is_empty());
    // Fourteen days ahead: Acme's 60 points a day rise by 1 (1.7 %), 30 points a month.
    let told = alerts(&on("2026-12-18"), Some(&on("2026-12-17")), &consumed, 14);
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].customer_id.as_deref(), Some("acme"));
    assert_eq!(told[0].points, Some(Exact(dec("30.00"))));
    assert!(
        told[0].message.starts_with(
            "Acme's bill rises 1.7 % from 2027-01-01: Fortinet announces FortiGate-VM bundle \
             (configuration 7) from 20.00 to 21.00 points a day; about +30.00 points a month"
        ),
        "{}",
        told[0].message
    );
    // The next day it was told already; the day it takes effect it is no announcement.
    assert!(alerts(&on("2026-12-19"), Some(&on("2026-12-18")), &consumed, 14).is_empty());
    assert!(alerts(&on("2027-01-01"), None, &consumed, 14).is_empty());
    // A partner who wants a month's notice (RATE_NOTICE_DAYS=30) is told on 2026-12-02.
    assert_eq!(
        alerts(&on("2026-12-02"), Some(&on("2026-12-01")), &consumed, 30).len(),
        1
    );
    assert!(alerts(&on("2026-12-01"), None, &consumed, 30).is_empty());
}
