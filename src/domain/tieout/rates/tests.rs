use super::*;
use crate::domain::rates::{PricedSet, RateSnapshot};
use crate::domain::records::Parameter;
use crate::domain::window::parse_date;

fn d(s: &str) -> NaiveDate {
    parse_date(s).unwrap()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn set(product: u64, configs: &[u64], cpu: &str, current: &str) -> PricedSet {
    PricedSet {
        product_type_id: product,
        product_type: None,
        parameters: vec![Parameter {
            id: 1,
            value: cpu.into(),
        }],
        parameter_names: Default::default(),
        configs: configs.to_vec(),
        current: Some(Exact(dec(current))),
        latest: None,
        latest_effective_date: None,
        error: None,
    }
}

fn snapshots(days: &[(&str, Vec<PricedSet>)]) -> Snapshots {
    days.iter()
        .map(|(day, rates)| {
            (
                d(day),
                RateSnapshot {
                    program_serial: "P".into(),
                    date: d(day),
                    rates: rates.clone(),
                },
            )
        })
        .collect()
}

fn charged<'a>(
    serial: &'a str,
    customer: &'a str,
    config: u64,
    product: &'a str,
    points: &str,
) -> Charged<'a> {
    Charged {
        serial,
        customer,
        price_per_point: Some(dec("0.50")),
        config_id: Some(config),
        config_name: None,
        product_type: product,
        points: dec(points),
    }
}

#[test]
fn devices_at_their_rate_tie_and_the_rest_are_listed_with_what_is_known() {
    let s = snapshots(&[
        (
            "2025-12-01",
            vec![set(1, &[1], "2", "21.66"), set(2, &[2], "x", "107.20")],
        ),
        // Config 2 edited on the 2nd: priced with other parameters from the 3rd's snapshot.
        (
            "2025-12-03",
            vec![set(1, &[1], "2", "21.66"), set(2, &[2], "y", "150.00")],
        ),
    ]);
    let mut audit = Audit::default();
    audit.day(
        d("2025-12-01"),
        &s,
        [
            charged("A", "acme", 1, "FGT", "21.66"),
            charged("B", "acme", 1, "FGT", "0"),
            charged("C", "globex", 2, "FMG", "120.00"),
            Charged {
                config_id: None,
                config_name: None,
                ..charged("D", "globex", 0, "FMG", "5.00")
            },
        ],
    );
    let t = audit.finish();
    assert_eq!(
        (
            t.totals.device_days,
            t.totals.ties,
            t.totals.differs,
            t.totals.unknown
        ),
        (4, 2, 1, 1)
    );
    // The stopped device ties; the device charged 12.80 over its rate is listed, unexplained.
    let listed: Vec<(&str, Status, Option<&Reason>)> = t
        .devices
        .iter()
        .map(|x| (x.serial.as_str(), x.status, x.reason.as_ref()))
        .collect();
    assert_eq!(listed, [("C", Status::Differs, None)]);
    assert_eq!(t.devices[0].difference, Some(Exact(dec("12.80"))));
    // The device with no configuration could not be checked: told per configuration.
    assert_eq!(t.unchecked.len(), 1);
    assert_eq!(
        (t.unchecked[0].config_id, t.unchecked[0].device_days),
        (None, 1)
    );
    assert_eq!(t.unchecked[0].note, "the device has no configuration id");
    assert_eq!(t.differing_days.len(), 1);
    assert_eq!(
        (
            t.differing_days[0].device_days,
            t.differing_days[0].difference.0
        ),
        (1, dec("12.80"))
    );
    let globex = t.customers.iter().find(|c| c.key == "globex").unwrap();
    assert_eq!(
        (globex.difference.0, globex.amount),
        (dec("12.80"), Some(Exact(dec("6.40"))))
    );
    assert_eq!(t.totals.explained, 0);
}

#[test]
fn an_edit_day_is_charged_the_larger_rate() {
    let s = snapshots(&[
        ("2025-12-02", vec![set(2, &[2], "x", "107.20")]),
        ("2025-12-03", vec![set(2, &[2], "y", "150.00")]),
    ]);
    let mut audit = Audit::default();
    audit.day(
        d("2025-12-02"),
        &s,
        [charged("C", "globex", 2, "FMG", "150.00")],
    );
    audit.day(
        d("2025-12-03"),
        &s,
        [charged("C", "globex", 2, "FMG", "150.00")],
    );
    let t = audit.finish();
    assert_eq!((t.totals.ties, t.totals.differs), (2, 0), "{:?}", t.devices);
}

#[test]
fn a_constant_discount_across_a_product_type_is_named_once() {
    let s = snapshots(&[(
        "2025-12-01",
        vec![set(1, &[1], "2", "20.00"), set(1, &[3], "4", "40.00")],
    )]);
    let mut audit = Audit::default();
    for day in ["2025-12-01", "2025-12-02"] {
        audit.day(
            d(day),
            &s,
            [
                charged("A", "acme", 1, "FGT", "17.00"),
                charged("B", "acme", 3, "FGT", "34.00"),
            ],
        );
    }
    let t = audit.finish();
    let fgt = &t.product_types[0];
    assert_eq!(fgt.discount_percent, Some(Exact(dec("15.0"))));
    assert_eq!((fgt.differs, fgt.explained), (4, 4));
    assert!(t.devices.is_empty(), "{:?}", t.devices);
    assert_eq!(fgt.difference.0, dec("-18.00"));
}

#[test]
fn two_different_shortfalls_are_no_discount() {
    let s = snapshots(&[("2025-12-01", vec![set(1, &[1], "2", "20.00")])]);
    let mut audit = Audit::default();
    audit.day(
        d("2025-12-01"),
        &s,
        [
            charged("A", "acme", 1, "FGT", "17.00"),
            charged("B", "acme", 1, "FGT", "20.00"),
        ],
    );
    let t = audit.finish();
    assert_eq!(t.product_types[0].discount_percent, None);
    assert_eq!(t.devices.len(), 1);
    assert_eq!(t.totals.explained, 0);
}

#[test]
fn a_month_of_a_big_program_lists_a_bounded_number_of_device_days() {
    use super::listing::LISTED;
    // 30 days of 200 FortiGates charged above their rate (by 0.01 × their number), 200 EMS
    // seats at a 10 % discount, and 200 FortiAPs no snapshot prices.
    let s = snapshots(&[(
        "2025-12-01",
        vec![set(1, &[1], "2", "20.00"), set(2, &[2], "x", "10.00")],
    )]);
    let serials: Vec<String> = (0..200).map(|i| format!("S{i:04}")).collect();
    let points: Vec<String> = (0..200)
        .map(|i| (dec("20.00") + Decimal::new(i + 1, 2)).to_string())
        .collect();
    let mut audit = Audit::default();
    for n in 1..=30 {
        let day = d(&format!("2025-12-{n:02}"));
        let mut rows = Vec::new();
        for (i, serial) in serials.iter().enumerate() {
            rows.push(charged(serial, "acme", 1, "FGT", &points[i]));
            rows.push(charged(serial, "globex", 2, "EMS", "9.00"));
            rows.push(charged(serial, "globex", 9, "FAP", "1.00"));
        }
        audit.day(day, &s, rows);
    }
    let t = audit.finish();
    assert_eq!(t.totals.device_days, 18_000);
    assert_eq!((t.totals.differs, t.totals.explained), (12_000, 6_000));
    // The largest differences are listed (the top 500: the 16 most overcharged devices on
    // every day and the 17th, S0183, on its first 20 days), by day and serial; the rest counted.
    assert_eq!(t.devices.len(), LISTED);
    assert_eq!(t.devices_left_out, 6_000 - LISTED as u64);
    assert!(t.devices.iter().all(|d| d.product_type == "FGT"));
    assert_eq!(t.devices[0].serial, "S0183");
    assert_eq!(t.devices[0].difference, Some(Exact(dec("1.84"))));
    assert!(
        t.devices
            .windows(2)
            .all(|w| (w[0].day, &w[0].serial) <= (w[1].day, &w[1].serial))
    );
    // Each day's unexplained differences, summed exactly: 0.01 + … + 2.00 = 201.00.
    assert_eq!(t.differing_days.len(), 30);
    assert_eq!(t.differing_days[0].device_days, 200);
    assert_eq!(t.differing_days[0].difference.0, dec("201.00"));
    assert_eq!(
        t.differing_days[0].serials,
        ["S0000", "S0001", "S0002", "S0003", "S0004"]
    );
    // The discount explains its product type's, for its customer too; the FortiAPs are one
    // line, not 6,000.
    let globex = t.customers.iter().find(|c| c.key == "globex").unwrap();
    assert_eq!(
        (globex.differs, globex.explained, globex.unknown),
        (6_000, 6_000, 6_000)
    );
    assert_eq!(t.unchecked.len(), 1);
    assert_eq!(
        (t.unchecked[0].config_id, t.unchecked[0].device_days),
        (Some(9), 6_000)
    );
    assert_eq!(
        (t.unchecked[0].first_day, t.unchecked[0].last_day),
        (d("2025-12-01"), d("2025-12-30"))
    );
}
