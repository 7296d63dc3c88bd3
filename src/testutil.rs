//! Fixtures shared by the crate's unit tests: the walkthrough day, its catalog, a sink
//! holding stored days.

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::domain::ids::{AccountId, Serial};
use crate::domain::records::{Config, Entitlement, ProductType};
use crate::domain::records::{PointsQuery, PointsRow};
use crate::domain::report::{Catalog, Report, ReportKind, ReportSpec, build};
use crate::domain::window::{DayRange, PACIFIC, parse_date};

/// An RFC 3339 instant.
pub(crate) fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

/// A `YYYY-MM` month.
pub(crate) fn month(s: &str) -> crate::domain::statement::Month {
    crate::domain::statement::Month::parse(s).unwrap()
}

pub(crate) fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// The walkthrough's 13 daily rates.
pub(crate) const WALKTHROUGH_DAY: [(&str, &str); 13] = [
    ("FMVMMLTM00000582", "107.20"),
    ("FMVMMLTM00000663", "91.20"),
    ("FGVMMLTM00000993", "21.66"),
    ("FGVMMLTM00000994", "21.66"),
    ("FGVMMLTM00000995", "21.66"),
    ("FGVMMLTM00000996", "21.66"),
    ("FGVMMLTM00000997", "21.66"),
    ("FGVMMLTM00000998", "21.66"),
    ("FGVMMLTM00000999", "21.66"),
    ("FGT71FTK22000471", "19.29"),
    ("FEMSPO8800000387", "14.01"),
    ("FZVMMLTM00000689", "12.85"),
    ("FEMSPO8800000320", "3.25"),
];

pub(crate) fn spec(day: &str) -> ReportSpec {
    ReportSpec {
        kind: ReportKind::Daily,
        program_serial: Serial::parse("ELAVMS0000123456", "program").unwrap(),
        account_id: AccountId(2321234),
        range: DayRange::day(parse_date(day).unwrap()),
        timezone: PACIFIC,
        serial_filter: None,
        config_filter: None,
        account_filter: None,
    }
}

pub(crate) fn request(spec: &ReportSpec) -> PointsQuery {
    PointsQuery {
        start_date: spec.range.start(),
        end_date: spec.range.end(),
        account_id: None,
        program_serial_number: Some(spec.program_serial.to_string()),
        config_id: None,
        serial_number: None,
    }
}

pub(crate) fn rows(rates: &[(&str, &str)]) -> Vec<PointsRow> {
    rates
        .iter()
        .map(|(s, p)| PointsRow {
            serial_number: s.to_string(),
            account_id: Some(AccountId(2321234)),
            points: dec(p),
        })
        .collect()
}

pub(crate) fn catalog() -> Catalog {
    let ent = |s: &str, config: u64, desc: &str| Entitlement {
        serial_number: s.into(),
        account_id: Some(AccountId(2321234)),
        config_id: Some(config),
        description: Some(desc.into()),
        status: Some("ACTIVE".into()),
        start_date: None,
        end_date: None,
        token_unused: false,
    };
    Catalog::new(
        vec![
            ent("FMVMMLTM00000582", 4101, "SOC manager"),
            ent("FGT71FTK22000471", 4103, "=HYPERLINK(\"x\")\nbranch"),
        ],
        vec![
            Config {
                id: 4101,
                name: Some("MSSP FMG".into()),
                status: Some("ACTIVE".into()),
                account_id: Some(AccountId(2321234)),
                product_type: ProductType {
                    id: Some(2),
                    name: Some("FortiManager-VM".into()),
                },
                parameters: vec![],
            },
            Config {
                id: 4103,
                name: Some("FGT 71F".into()),
                status: None,
                account_id: None,
                product_type: ProductType {
                    id: Some(101),
                    name: None,
                },
                parameters: vec![],
            },
        ],
    )
}

/// The walkthrough's day published for each of `days`, as a run would have stored them.
pub(crate) async fn store_walkthrough(sink: &crate::adapters::storage::MemorySink, days: &[&str]) {
    for d in days {
        crate::pipeline::publish::publish(
            sink,
            &walkthrough_day(d),
            "run",
            chrono::Utc::now(),
            crate::pipeline::publish::Options::default(),
        )
        .await
        .unwrap();
    }
}

pub(crate) fn walkthrough_day(day: &str) -> Report {
    let s = spec(day);
    let q = request(&s);
    build(
        s,
        q,
        vec![AccountId(2321234)],
        rows(&WALKTHROUGH_DAY),
        &catalog(),
    )
    .unwrap()
}
