//! Building a report from FortiFlex answers: pure, no I/O. Points rows are joined with the
//! entitlement list (config, description, status) and the config list (name, product type),
//! sorted as the contract says, and totalled exactly.

use std::collections::HashSet;
use std::fmt::Write as _;

use chrono_tz::Tz;
use rust_decimal::{Decimal, RoundingStrategy};

pub use crate::catalog::Catalog;
use crate::error::{ApiError, Result};
use crate::fortiflex::{PointsQuery, PointsRow};
use crate::ids::{AccountId, Serial};
use crate::window::DayRange;

/// A daily report lands in the `dt=` partitions; a range report under `ranges/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    Daily,
    Range,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Daily => "daily",
            ReportKind::Range => "range",
        }
    }
}

/// What a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSpec {
    pub kind: ReportKind,
    pub program_serial: Serial,
    pub account_id: AccountId,
    pub range: DayRange,
    pub timezone: Tz,
    pub serial_filter: Option<Serial>,
    /// FortiFlex's `configId` scope, for range reports of one configuration.
    pub config_filter: Option<u64>,
    /// One account of the program, for range reports of one customer.
    pub account_filter: Option<AccountId>,
}

pub use crate::fortiflex::Text;

/// One entitlement's consumption over the report's range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub serial_number: String,
    pub account_id: AccountId,
    pub config_id: Option<u64>,
    pub config_name: Option<Text>,
    pub product_type: Option<Text>,
    pub description: Option<Text>,
    pub status: Option<Text>,
    pub points: Decimal,
}

/// A built report: rows in contract order, the exact total, and the request behind them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub spec: ReportSpec,
    /// What was asked of `entitlements/points`, less the account (sent once per account).
    pub request: PointsQuery,
    /// The accounts the report covers, ascending: each was asked and answered.
    pub accounts: Vec<AccountId>,
    pub rows: Vec<Row>,
    pub total: Decimal,
}

/// One account's share of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountTotal {
    pub account_id: AccountId,
    pub entitlements: usize,
    pub points: Decimal,
}

impl Report {
    /// Total points per day of the range, exact (rounding is for display only).
    pub fn per_day(&self) -> Decimal {
        self.total / Decimal::from(self.spec.range.len_days())
    }

    /// Every covered account's entitlements and points, accounts without consumption
    /// included, sorted by points descending, then account id (the contract's order).
    pub fn account_totals(&self) -> Vec<AccountTotal> {
        let mut by_account: std::collections::BTreeMap<AccountId, AccountTotal> = self
            .accounts
            .iter()
            .map(|&a| {
                let t = AccountTotal {
                    account_id: a,
                    entitlements: 0,
                    points: Decimal::ZERO,
                };
                (a, t)
            })
            .collect();
        for r in &self.rows {
            let t = by_account.entry(r.account_id).or_insert(AccountTotal {
                account_id: r.account_id,
                entitlements: 0,
                points: Decimal::ZERO,
            });
            t.entitlements += 1;
            t.points += r.points;
        }
        let mut totals: Vec<AccountTotal> = by_account.into_values().collect();
        totals.sort_by(|a, b| {
            b.points
                .cmp(&a.points)
                .then_with(|| a.account_id.cmp(&b.account_id))
        });
        totals
    }
}

/// Joins `points` (every covered account's rows) with `catalog`. A serial listed twice is
/// an error, not a sum: FortiFlex promises one total per entitlement, so a repeat means the
/// reply is not what we think. A row without an account gets its entitlement's, else the
/// program's.
pub fn build(
    spec: ReportSpec,
    request: PointsQuery,
    accounts: Vec<AccountId>,
    points: Vec<PointsRow>,
    catalog: &Catalog,
) -> Result<Report> {
    // Borrowed serials, dropped before the rows are built: no copy of 100,000 strings.
    let mut seen = HashSet::with_capacity(points.len());
    if let Some(twice) = points
        .iter()
        .find(|p| !seen.insert(p.serial_number.as_str()))
    {
        return Err(ApiError::new(
            "entitlements/points",
            None,
            None,
            format!("reply lists serial {} twice", twice.serial_number),
        )
        .into());
    }
    drop(seen);
    let mut rows = Vec::with_capacity(points.len());
    for p in points {
        let ent = catalog.entitlement(&p.serial_number);
        let config_id = ent.and_then(|e| e.config_id);
        let config = config_id.and_then(|id| catalog.config(id));
        rows.push(Row {
            account_id: p
                .account_id
                .or(ent.and_then(|e| e.account_id))
                .unwrap_or(spec.account_id),
            config_id,
            config_name: config.and_then(|c| c.name.clone()),
            product_type: config.and_then(|c| c.product_type.clone()),
            description: ent.and_then(|e| e.description.clone()),
            status: ent.and_then(|e| e.status.clone()),
            points: p.points,
            serial_number: p.serial_number,
        });
    }
    // Serials are unique by now, so the order is total and an unstable sort (no buffer of
    // half the rows) gives the same rows as a stable one.
    rows.sort_unstable_by(|a, b| {
        b.points
            .cmp(&a.points)
            .then_with(|| a.serial_number.cmp(&b.serial_number))
    });
    let total = rows.iter().map(|r| r.points).sum();
    let mut accounts = accounts;
    accounts.sort_unstable();
    accounts.dedup();
    Ok(Report {
        spec,
        request,
        accounts,
        rows,
        total,
    })
}

/// Decimal text as the contract writes it: at least two places, never an exponent, no
/// negative zero, otherwise exactly the digits FortiFlex sent.
pub fn points_text(d: Decimal) -> String {
    let mut s = String::new();
    write_points(&mut s, d);
    s
}

/// [`points_text`] appended to `out`, for renderers that reuse one buffer per cell.
pub fn write_points(out: &mut String, d: Decimal) {
    let mut d = d;
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    if d.scale() < 2 {
        d.rescale(2);
    }
    let _ = write!(out, "{d}");
}

/// A value rounded to two places for people to read (half away from zero).
pub fn display2(d: Decimal) -> String {
    points_text(d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::str::FromStr;

    use super::*;
    use crate::fortiflex::{Config, Entitlement, ProductType};
    use crate::window::{PACIFIC, parse_date};

    pub fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// The walkthrough's 13 daily rates.
    pub const WALKTHROUGH_DAY: [(&str, &str); 13] = [
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

    pub fn spec(day: &str) -> ReportSpec {
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

    pub fn request(spec: &ReportSpec) -> PointsQuery {
        PointsQuery {
            start_date: spec.range.start(),
            end_date: spec.range.end(),
            account_id: None,
            program_serial_number: Some(spec.program_serial.to_string()),
            config_id: None,
            serial_number: None,
        }
    }

    pub fn rows(rates: &[(&str, &str)]) -> Vec<PointsRow> {
        rates
            .iter()
            .map(|(s, p)| PointsRow {
                serial_number: s.to_string(),
                account_id: Some(AccountId(2321234)),
                points: dec(p),
            })
            .collect()
    }

    pub fn catalog() -> Catalog {
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
                },
            ],
        )
    }

    pub fn walkthrough_day(day: &str) -> Report {
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

    #[test]
    fn thirteen_rows_sum_exactly() {
        let r = walkthrough_day("2025-11-08");
        assert_eq!(r.total, dec("399.42"));
        assert_eq!(points_text(r.total), "399.42");
        assert_eq!(r.rows.len(), 13);
        // A float sum of the same values is not exact; ours must be.
        let float: f64 = WALKTHROUGH_DAY
            .iter()
            .map(|(_, p)| p.parse::<f64>().unwrap())
            .sum();
        assert_ne!(format!("{float}"), "399.42");
    }

    #[test]
    fn rows_sort_by_points_then_serial_and_join_the_catalog() {
        let r = walkthrough_day("2025-11-08");
        assert_eq!(r.rows[0].serial_number, "FMVMMLTM00000582");
        assert_eq!(r.rows[0].config_name.as_deref(), Some("MSSP FMG"));
        assert_eq!(r.rows[0].product_type.as_deref(), Some("FortiManager-VM"));
        let fgvm: Vec<&str> = r.rows[2..9]
            .iter()
            .map(|r| r.serial_number.as_str())
            .collect();
        let mut sorted = fgvm.clone();
        sorted.sort();
        assert_eq!(fgvm, sorted);
        let hw = r
            .rows
            .iter()
            .find(|r| r.serial_number == "FGT71FTK22000471")
            .unwrap();
        assert_eq!(
            (hw.config_id, hw.product_type.as_deref()),
            (Some(4103), Some("FortiGate Hardware"))
        );
        // A serial FortiFlex does not list leaves the joined columns empty.
        let unknown = r
            .rows
            .iter()
            .find(|r| r.serial_number == "FEMSPO8800000320")
            .unwrap();
        assert_eq!(
            (unknown.config_id, unknown.description.as_deref()),
            (None, None)
        );
    }

    #[test]
    fn a_serial_listed_twice_is_an_error() {
        let s = spec("2025-11-08");
        let q = request(&s);
        let err = build(
            s,
            q,
            vec![AccountId(2321234)],
            rows(&[("A1", "1.00"), ("A1", "2.00")]),
            &catalog(),
        )
        .unwrap_err();
        assert_eq!(err.kind(), "FortiFlex");
        assert!(err.to_string().contains("serial A1 twice"), "{err}");
    }

    #[test]
    fn rows_keep_their_own_account_and_accounts_total_in_contract_order() {
        let s = spec("2025-11-08");
        let q = request(&s);
        let mut points = rows(&WALKTHROUGH_DAY);
        for p in points.iter_mut() {
            p.account_id = match &p.serial_number[..4] {
                "FGVM" | "FGT7" => Some(AccountId(3300001)),
                "FEMS" => Some(AccountId(3300002)),
                _ => None, // the entitlement's (2321234 in the catalog) or the program's
            };
        }
        let r = build(
            s,
            q,
            vec![
                AccountId(3300003),
                AccountId(2321234),
                AccountId(3300001),
                AccountId(3300002),
            ],
            points,
            &catalog(),
        )
        .unwrap();
        let totals: Vec<(u64, usize, String)> = r
            .account_totals()
            .iter()
            .map(|t| (t.account_id.0, t.entitlements, points_text(t.points)))
            .collect();
        assert_eq!(
            totals,
            vec![
                (2321234, 3, "211.25".into()),
                (3300001, 8, "170.91".into()),
                (3300002, 2, "17.26".into()),
                (3300003, 0, "0.00".into()),
            ]
        );
        assert_eq!(
            r.accounts,
            [2321234, 3300001, 3300002, 3300003].map(AccountId)
        );
    }

    #[test]
    fn number_text_is_exact_with_two_places_at_least() {
        assert_eq!(points_text(dec("750.4")), "750.40");
        assert_eq!(points_text(dec("750.40")), "750.40");
        assert_eq!(points_text(dec("12")), "12.00");
        assert_eq!(points_text(dec("0.125")), "0.125");
        assert_eq!(points_text(dec("-0")), "0.00");
        assert_eq!(
            points_text(Decimal::from_scientific("1.5e-9").unwrap()),
            "0.0000000015"
        );
        assert_eq!(display2(dec("2795.94") / dec("7")), "399.42");
        assert_eq!(display2(dec("135.03") / dec("7")), "19.29");
        assert_eq!(display2(dec("0.005")), "0.01");
    }
}
