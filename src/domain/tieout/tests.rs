use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::Status;
use super::balance::{Event, tie_out};

fn p(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// Whole-number readings of an exact running balance, as FortiFlex may show it: `start` on
/// `first`, less each day's points, plus each top-up from the day after it was bought.
fn readings(
    first: &str,
    start: Decimal,
    deducted: &[Decimal],
    top_ups: &[(&str, Decimal)],
) -> BTreeMap<NaiveDate, Decimal> {
    let mut exact = start;
    let mut out = BTreeMap::new();
    let mut day = d(first);
    out.insert(day, exact.floor());
    for points in deducted {
        exact -= points;
        exact += top_ups
            .iter()
            .filter(|(t, _)| d(t) == day)
            .map(|(_, p)| *p)
            .sum::<Decimal>();
        day = day.succ_opt().unwrap();
        out.insert(day, exact.floor());
    }
    out
}

fn daily(first: &str, totals: &[Decimal]) -> BTreeMap<NaiveDate, Decimal> {
    let mut day = d(first);
    let mut out = BTreeMap::new();
    for t in totals {
        out.insert(day, *t);
        day = day.succ_opt().unwrap();
    }
    out
}

#[test]
fn each_day_ties_within_a_point_and_a_top_up_is_shown_as_one() {
    let points = [
        p("399.42"),
        p("399.42"),
        p("411.07"),
        p("399.42"),
        p("0.55"),
    ];
    let balances = readings(
        "2025-11-01",
        p("5000.00"),
        &points,
        &[("2025-11-03", p("10000"))],
    );
    let t = tie_out(
        d("2025-11-01"),
        d("2025-11-05"),
        &daily("2025-11-01", &points),
        &balances,
        None,
    );
    assert_eq!(t.days.len(), 5);
    assert!(t.days.iter().all(|x| x.status == Status::Ties), "{t:#?}");
    assert_eq!(
        t.days[2].event,
        Some(Event::TopUp {
            points: crate::domain::money::Exact(p("10000"))
        })
    );
    assert!(
        t.days
            .iter()
            .all(|x| x.difference.as_ref().unwrap().0.abs() < Decimal::ONE)
    );
    assert_eq!(t.totals.ties, 5);
    assert_eq!(t.totals.top_ups.0, p("10000"));
    assert_eq!(t.totals.consumed.0, points.iter().sum::<Decimal>());
    // The month telescopes: its drop is first reading less last, with the top-up added back.
    let first = balances[&d("2025-11-01")];
    let last = balances[&d("2025-11-06")];
    assert_eq!(t.totals.drop.0, first - last);
    assert!((t.totals.difference.0).abs() < Decimal::ONE);
}

#[test]
fn a_day_whose_report_misses_an_account_differs_by_that_accounts_points() {
    // FortiFlex deducted 519.42; the stored report has 399.42 (an account left out).
    let deducted = [p("399.42"), p("519.42"), p("399.42")];
    let balances = readings("2025-11-01", p("8000.00"), &deducted, &[]);
    let reported = daily("2025-11-01", &[p("399.42"), p("399.42"), p("399.42")]);
    let t = tie_out(d("2025-11-01"), d("2025-11-03"), &reported, &balances, None);
    let statuses: Vec<Status> = t.days.iter().map(|x| x.status).collect();
    assert_eq!(statuses, [Status::Ties, Status::Differs, Status::Ties]);
    let diff = t.days[1].difference.as_ref().unwrap().0;
    // Whole readings: the exact 120 seen through two floors.
    assert!((diff - p("120")).abs() < Decimal::ONE, "{diff}");
    assert_eq!((t.totals.differs, t.totals.ties), (1, 2));
}

#[test]
fn a_day_without_a_snapshot_or_a_report_is_unknown_and_named() {
    let points = [p("10"), p("10"), p("10")];
    let mut balances = readings("2025-11-01", p("100"), &points, &[]);
    balances.remove(&d("2025-11-03"));
    let mut reported = daily("2025-11-01", &points);
    reported.remove(&d("2025-11-01"));
    let t = tie_out(d("2025-11-01"), d("2025-11-03"), &reported, &balances, None);
    let statuses: Vec<Status> = t.days.iter().map(|x| x.status).collect();
    // 1 Nov: no report; 2 Nov: no snapshot of the 3rd; 3 Nov: none of the 3rd either.
    assert_eq!(statuses, [Status::Unknown; 3]);
    assert!(
        t.days[0]
            .note
            .as_deref()
            .unwrap()
            .contains("no final report")
    );
    assert!(t.days[1].note.as_deref().unwrap().contains("snapshot"));
    assert_eq!(t.totals.unknown, 3);
    assert_eq!(
        t.totals.consumed.0,
        Decimal::ZERO,
        "only checked days are summed"
    );
}

#[test]
fn the_anniversary_day_names_the_rollover_and_is_not_called_a_difference() {
    // Registered 2024-11-03: the balance read on 2025-11-03 has had unused points forfeited.
    let points = [p("50"), p("50"), p("50")];
    let mut balances = readings("2025-11-01", p("2000"), &points, &[]);
    for (_, b) in balances.range_mut(d("2025-11-03")..) {
        *b -= p("700");
    }
    let t = tie_out(
        d("2025-11-01"),
        d("2025-11-03"),
        &daily("2025-11-01", &points),
        &balances,
        Some(d("2024-11-03")),
    );
    assert_eq!(t.days[0].status, Status::Ties);
    assert_eq!(t.days[1].status, Status::Unknown);
    assert_eq!(
        t.days[1].event,
        Some(Event::Rollover {
            points: crate::domain::money::Exact(p("700"))
        })
    );
    assert!(t.days[1].note.as_deref().unwrap().contains("anniversary"));
    assert_eq!(t.days[2].status, Status::Ties);
}

#[test]
fn only_a_final_day_that_differs_raises_the_tieout_alert() {
    use super::TieoutFile;
    use super::rates::Audit;
    // 1 December ties, the 2nd's balance fell by 120 more than its reports.
    let daily: BTreeMap<NaiveDate, Decimal> = [
        (d("2025-12-01"), p("399.42")),
        (d("2025-12-02"), p("399.42")),
    ]
    .into();
    let balances = readings(
        "2025-12-01",
        p("10000.00"),
        &[p("399.42"), p("519.42")],
        &[],
    );
    let file = TieoutFile {
        program_serial: "ELAVMS0000123456".into(),
        month: "2025-12".into(),
        through: d("2025-12-02"),
        balance: Some(tie_out(
            d("2025-12-01"),
            d("2025-12-02"),
            &daily,
            &balances,
            None,
        )),
        rates: Audit::default().finish(),
        invoice: None,
    };
    assert!(file.alerts(d("2025-12-01")).is_empty());
    let alerts = file.alerts(d("2025-12-02"));
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].kind, crate::domain::alerts::Kind::Tieout);
    assert!(
        alerts[0].message.contains(
            "on 2025-12-02 the balance fell by 519.00 points but the day's reports total 399.42"
        ),
        "{}",
        alerts[0].message
    );
}
