use super::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// `points` on each of the `n` days before `as_of`.
fn days(as_of: &str, n: u64, points: &str) -> BTreeMap<NaiveDate, Decimal> {
    (1..=n)
        .map(|k| (d(as_of) - Days::new(k), dec(points)))
        .collect()
}

fn inputs<'a>(daily: &'a BTreeMap<NaiveDate, Decimal>, balance: &str) -> Inputs<'a> {
    Inputs {
        program_serial: "ELAVMS0000123456",
        program_type: ProgramType::Prepaid,
        as_of: d("2025-11-09"),
        balance: Some(dec(balance)),
        daily,
        previous: None,
        program_start: None,
        program_end: None,
        commitment: None,
    }
}

#[test]
fn a_week_at_the_walkthrough_rate_gives_103_days_of_runway() {
    let daily = days("2025-11-09", 7, "399.42");
    let s = snapshot(&inputs(&daily, "41234.56"));
    assert_eq!(s.burn_rate_7d, Some(Exact(dec("399.42"))));
    assert_eq!(s.burn_days_7d, 7);
    assert_eq!(s.burn_days_30d, 7);
    // 41234.56 / 399.42 = 103.23…
    assert_eq!(s.runway_days, Some(103));
    assert_eq!(s.runs_out_on, Some(d("2026-02-20")));
    assert_eq!(s.grace, None);
    assert_eq!(s.commitment, None);
}

#[test]
fn runway_uses_the_exact_sum_not_the_rounded_rate() {
    // 7 days summing to 100: the rate shows 14.2857, the runway is floor(1000 * 7 / 100).
    let mut daily = days("2025-11-09", 7, "14");
    daily.insert(d("2025-11-08"), dec("16"));
    let s = snapshot(&inputs(&daily, "1000"));
    assert_eq!(s.burn_rate_7d, Some(Exact(dec("14.2857"))));
    assert_eq!(s.runway_days, Some(70));
}

#[test]
fn no_consumption_means_no_runway_and_an_empty_balance_none_left() {
    let none = BTreeMap::new();
    assert_eq!(snapshot(&inputs(&none, "500")).runway_days, None);
    assert_eq!(snapshot(&inputs(&none, "0")).runway_days, Some(0));
}

#[test]
fn a_negative_balance_starts_the_grace_countdown_where_the_balance_crossed_zero() {
    let daily = days("2025-11-09", 7, "100");
    let s = snapshot(&inputs(&daily, "-250"));
    let g = s.grace.unwrap();
    // -250 today, -150 at the start of the 8th, -50 on the 7th, +50 on the 6th.
    assert_eq!(g.first_negative_on, d("2025-11-07"));
    assert_eq!(g.suspension_after, d("2026-02-05"));
    assert_eq!(g.days_left, 88);
    assert_eq!(g.basis, "daily_points");
    assert_eq!(s.runway_days, Some(0));
}

#[test]
fn a_stored_negative_snapshot_carries_the_first_negative_day() {
    let daily = days("2025-11-09", 7, "100");
    let mut earlier = snapshot(&inputs(&daily, "-250"));
    earlier.grace.as_mut().unwrap().first_negative_on = d("2025-10-01");
    let mut later = inputs(&daily, "-350");
    later.as_of = d("2025-11-10");
    later.previous = Some(&earlier);
    let g = snapshot(&later).grace.unwrap();
    assert_eq!(g.first_negative_on, d("2025-10-01"));
    assert_eq!(g.suspension_after, d("2025-12-30"));
    assert_eq!(g.basis, "snapshots");
}

#[test]
fn a_postpaid_commitment_is_projected_to_the_program_year_end() {
    // Stored 100 a day from the program start (2025-01-10) to 2025-02-28: 50 days.
    let daily: BTreeMap<NaiveDate, Decimal> = d("2025-01-10")
        .iter_days()
        .take_while(|x| *x < d("2025-03-01"))
        .map(|x| (x, dec("100")))
        .collect();
    let mut i = inputs(&daily, "0");
    i.program_type = ProgramType::Postpaid;
    i.balance = None;
    i.as_of = d("2025-03-01");
    i.program_start = Some(d("2025-01-10"));
    i.commitment = Some(dec("50000"));
    let s = snapshot(&i);
    let c = s.commitment.unwrap();
    assert_eq!(
        (c.year_start, c.year_end),
        (d("2025-01-10"), d("2026-01-09"))
    );
    assert_eq!((c.used, c.days_stored), (Exact(dec("5000")), 50));
    // 315 days left (2025-03-01 ..= 2026-01-09) at 100 a day.
    assert_eq!(c.projected_year_end, Exact(dec("36500.00")));
    assert_eq!(c.shortfall, Exact(dec("13500.00")));
    assert_eq!(
        (s.runway_days, s.grace, s.rollover_estimate),
        (None, None, None)
    );
}

#[test]
fn program_years_run_from_anniversary_to_anniversary() {
    let start = d("2025-01-10");
    assert_eq!(
        program_year(start, d("2026-01-09")),
        (d("2025-01-10"), d("2026-01-09"))
    );
    assert_eq!(
        program_year(start, d("2026-01-10")),
        (d("2026-01-10"), d("2027-01-09"))
    );
    assert_eq!(term_months(start, d("2028-01-09")), Some(36));
    assert_eq!(term_months(start, d("2026-01-09")), Some(12));
    assert_eq!(term_months(start, d("2025-07-09")), None);
}

#[test]
fn a_twelve_month_rollover_carries_late_top_ups_whole_and_the_rest_by_half() {
    // Program year 2025-01-10 .. 2026-01-09; day 180 is 2025-07-09.
    let daily = days("2025-11-09", 7, "100");
    let mut before = inputs(&daily, "1000");
    before.as_of = d("2025-11-08");
    before.program_start = Some(d("2025-01-10"));
    before.program_end = Some(d("2026-01-09"));
    let earlier = snapshot(&before);
    assert_eq!(earlier.rollover_estimate.as_ref().unwrap().top_ups, vec![]);
    // A day later: 1000 - 100 consumed + a 10,000 top-up.
    let mut now = before.clone();
    now.as_of = d("2025-11-09");
    now.balance = Some(dec("10900"));
    now.previous = Some(&earlier);
    let r = snapshot(&now).rollover_estimate.unwrap();
    assert_eq!(r.term_months, 12);
    assert_eq!(r.anniversary, d("2026-01-10"));
    assert_eq!(
        r.top_ups,
        vec![TopUp {
            seen_on: d("2025-11-09"),
            points: Exact(dec("10000"))
        }]
    );
    // 62 days to the anniversary at 100: 10900 - 6200 = 4700 unused, all of it from the
    // late top-up, so all of it carries over.
    assert_eq!(r.projected_unused, Exact(dec("4700.00")));
    assert_eq!(r.estimated_carry_over, Exact(dec("4700.00")));
    assert_eq!(r.estimated_forfeit, Exact(dec("0.00")));
    assert!(r.assumptions.contains("Estimated"));
}

#[test]
fn without_late_top_ups_a_twelve_month_program_keeps_half() {
    let daily = days("2025-11-09", 7, "100");
    let mut i = inputs(&daily, "10000");
    i.program_start = Some(d("2025-01-10"));
    i.program_end = Some(d("2026-01-09"));
    let r = snapshot(&i).rollover_estimate.unwrap();
    assert_eq!(r.projected_unused, Exact(dec("3800.00")));
    assert_eq!(r.estimated_carry_over, Exact(dec("1900.00")));
    assert_eq!(r.estimated_forfeit, Exact(dec("1900.00")));
}

#[test]
fn a_snapshot_reads_back_as_written() {
    let daily = days("2025-11-09", 7, "399.42");
    let s = snapshot(&inputs(&daily, "41234.56"));
    let text = serde_json::to_string(&s).unwrap();
    assert!(text.contains(r#""balance":41234.56"#), "{text}");
    assert!(text.contains(r#""program_type":"prepaid""#), "{text}");
    let back: Snapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(back, s);
}
