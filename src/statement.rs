//! A month's statement per customer, in money, from the stored daily reports: pure, no I/O.
//! Built from what was stored, never from the API, so it reaches back past FortiFlex's 90
//! days and always equals the sum of the daily reports. Each line's amount is rounded half
//! away from zero to cents; every total is a sum of line amounts, so an invoice adds up.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::customers::Customers;
use crate::error::{Error, Result};
use crate::ids::AccountId;

/// A calendar month, `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month(NaiveDate);

impl Month {
    pub fn parse(text: &str) -> Result<Self> {
        NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d")
            .ok()
            .filter(|_| text.trim().len() == 7)
            .map(Month)
            .ok_or_else(|| Error::InvalidRequest(format!("month must be YYYY-MM, not {text:?}")))
    }

    pub fn of(day: NaiveDate) -> Self {
        Month(day.with_day(1).unwrap_or(day))
    }

    pub fn first(self) -> NaiveDate {
        self.0
    }

    pub fn last(self) -> NaiveDate {
        self.0
            .checked_add_months(chrono::Months::new(1))
            .and_then(|d| d.pred_opt())
            .unwrap_or(self.0)
    }

    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        self.0.iter_days().take_while(move |d| *d <= self.last())
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m"))
    }
}

/// One stored daily report, as read back from the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDay {
    pub date: NaiveDate,
    pub revision: u64,
    pub manifest_sha256: String,
    pub rows: Vec<StoredRow>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    pub serial_number: String,
    pub account_id: AccountId,
    pub config_id: Option<u64>,
    pub config_name: Option<String>,
    pub product_type: Option<String>,
    pub description: Option<String>,
    pub points: Decimal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every day stored and the month past restatement.
    Final,
    Provisional,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Final => "final",
            Status::Provisional => "provisional",
        }
    }
}

/// One customer × serial: what one invoice line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub account_id: AccountId,
    pub serial_number: String,
    pub config_id: Option<u64>,
    pub config_name: Option<String>,
    pub product_type: Option<String>,
    pub description: Option<String>,
    /// Days with points above zero.
    pub days_billed: u32,
    pub points: Decimal,
    pub amount: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerStatement {
    pub id: String,
    pub name: String,
    pub accounts: Vec<AccountId>,
    pub price_per_point: Option<Decimal>,
    pub points: Decimal,
    /// The sum of the lines' amounts; `None` without a price.
    pub amount: Option<Decimal>,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub month: Month,
    pub status: Status,
    pub missing_days: Vec<NaiveDate>,
    /// The stored days it was built from: date, revision and manifest SHA-256.
    pub sources: Vec<(NaiveDate, u64, String)>,
    pub currency: Option<String>,
    pub issuer: Option<String>,
    pub points: Decimal,
    pub amount: Option<Decimal>,
    pub customers: Vec<CustomerStatement>,
}

/// The statement of `month` from its stored `days` (other months' days are ignored), as of
/// the Pacific day `today`: `final` once every day is stored and the month ended more than
/// `restate_days` days ago.
pub fn build(
    month: Month,
    days: &[StoredDay],
    customers: &Customers,
    today: NaiveDate,
    restate_days: u32,
) -> Statement {
    let days: Vec<&StoredDay> = days.iter().filter(|d| Month::of(d.date) == month).collect();
    let present: BTreeSet<NaiveDate> = days.iter().map(|d| d.date).collect();
    let missing_days: Vec<NaiveDate> = month.days().filter(|d| !present.contains(d)).collect();
    let settled = month
        .last()
        .checked_add_days(Days::new(u64::from(restate_days)))
        .is_some_and(|d| today > d);
    let status = if missing_days.is_empty() && settled {
        Status::Final
    } else {
        Status::Provisional
    };

    // (customer index or unassigned, serial) -> line; later days' names win.
    let mut ordered: Vec<&StoredDay> = days.clone();
    ordered.sort_by_key(|d| d.date);
    let mut lines: BTreeMap<(String, String), Line> = BTreeMap::new();
    for day in &ordered {
        for r in &day.rows {
            let who = customers.billed(&r.serial_number, r.config_id, r.account_id);
            let line = lines
                .entry((who.id.to_string(), r.serial_number.clone()))
                .or_insert_with(|| Line {
                    account_id: r.account_id,
                    serial_number: r.serial_number.clone(),
                    config_id: None,
                    config_name: None,
                    product_type: None,
                    description: None,
                    days_billed: 0,
                    points: Decimal::ZERO,
                    amount: None,
                });
            line.account_id = r.account_id;
            line.config_id = r.config_id.or(line.config_id);
            line.config_name = r.config_name.clone().or(line.config_name.take());
            line.product_type = r.product_type.clone().or(line.product_type.take());
            line.description = r.description.clone().or(line.description.take());
            line.points += r.points;
            if r.points > Decimal::ZERO {
                line.days_billed += 1;
            }
        }
    }

    let mut by_customer: BTreeMap<String, CustomerStatement> = customers
        .customers
        .iter()
        .map(|c| {
            let s = CustomerStatement {
                id: c.id.clone(),
                name: c.name.clone(),
                accounts: Vec::new(),
                price_per_point: c.price_per_point,
                points: Decimal::ZERO,
                amount: c.price_per_point.map(|_| Decimal::ZERO),
                lines: Vec::new(),
            };
            (c.id.clone(), s)
        })
        .collect();
    for ((customer, _), mut line) in lines {
        let who = customers.billed(&line.serial_number, line.config_id, line.account_id);
        let c = by_customer
            .entry(customer.clone())
            .or_insert_with(|| CustomerStatement {
                id: customer,
                name: who.name.to_string(),
                accounts: Vec::new(),
                price_per_point: who.price_per_point,
                points: Decimal::ZERO,
                amount: who.price_per_point.map(|_| Decimal::ZERO),
                lines: Vec::new(),
            });
        line.amount = c.price_per_point.map(|p| money(line.points * p));
        c.points += line.points;
        c.amount = c.amount.zip(line.amount).map(|(a, b)| a + b);
        if !c.accounts.contains(&line.account_id) {
            c.accounts.push(line.account_id);
        }
        c.lines.push(line);
    }
    let mut statement_customers: Vec<CustomerStatement> = by_customer.into_values().collect();
    for c in &mut statement_customers {
        c.accounts.sort_unstable();
        c.lines.sort_by(|a, b| {
            b.points
                .cmp(&a.points)
                .then_with(|| a.serial_number.cmp(&b.serial_number))
        });
    }
    let points = statement_customers.iter().map(|c| c.points).sum();
    let priced: Vec<Decimal> = statement_customers
        .iter()
        .filter_map(|c| c.amount)
        .collect();
    Statement {
        month,
        status,
        missing_days,
        sources: ordered
            .iter()
            .map(|d| (d.date, d.revision, d.manifest_sha256.clone()))
            .collect(),
        currency: customers.currency.clone(),
        issuer: customers.issuer.clone(),
        points,
        amount: (!priced.is_empty()).then(|| priced.iter().sum()),
        customers: statement_customers,
    }
}

/// An amount in cents: half away from zero, as invoices round.
pub fn money(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn row(serial: &str, account: u64, config: u64, points: &str) -> StoredRow {
        StoredRow {
            serial_number: serial.into(),
            account_id: AccountId(account),
            config_id: Some(config),
            config_name: Some(format!("config {config}")),
            product_type: Some("FortiGate-VM bundle".into()),
            description: None,
            points: dec(points),
        }
    }

    /// November 2025, every day stored: the walkthrough's customer devices, one of them
    /// idle on the 10th.
    fn november(skip: Option<&str>) -> Vec<StoredDay> {
        Month::parse("2025-11")
            .unwrap()
            .days()
            .filter(|d| Some(*d) != skip.map(day))
            .map(|date| StoredDay {
                date,
                revision: 1,
                manifest_sha256: format!("sha-{date}"),
                rows: vec![
                    row("FGVMMLTM00000993", 3300001, 4102, "21.66"),
                    row(
                        "FGVMMLTM00000994",
                        3300001,
                        4102,
                        if date == day("2025-11-10") {
                            "0"
                        } else {
                            "21.66"
                        },
                    ),
                    row("FCTEMS0000000001", 3300002, 4104, "1.333"),
                    row("FMVMMLTM00000582", 2321234, 4101, "107.20"),
                ],
            })
            .collect()
    }

    const FILE: &str = r#"{"currency": "USD", "price_per_point": "0.50", "customers": [
        {"id": "acme", "name": "Acme", "accounts": [3300001], "price_per_point": "0.55"},
        {"id": "globex", "name": "Globex", "accounts": [3300002]},
        {"id": "quiet", "name": "Quiet Ltd", "accounts": [3300009]}]}"#;

    #[test]
    fn a_month_in_money_adds_up_line_by_line() {
        let customers = Customers::parse(FILE, "c.json").unwrap();
        let s = build(
            Month::parse("2025-11").unwrap(),
            &november(None),
            &customers,
            day("2025-12-05"),
            2,
        );
        assert_eq!(
            (s.status, s.missing_days.len(), s.sources.len()),
            (Status::Final, 0, 30)
        );
        let ids: Vec<&str> = s.customers.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["acme", "globex", "quiet", "unassigned"]);
        let acme = &s.customers[0];
        // 30 x 21.66 and 29 x 21.66, at 0.55: 357.39 and 345.477 -> 345.48.
        let lines: Vec<(&str, u32, Decimal, Option<Decimal>)> = acme
            .lines
            .iter()
            .map(|l| (l.serial_number.as_str(), l.days_billed, l.points, l.amount))
            .collect();
        assert_eq!(
            lines,
            [
                ("FGVMMLTM00000993", 30, dec("649.80"), Some(dec("357.39"))),
                ("FGVMMLTM00000994", 29, dec("628.14"), Some(dec("345.48"))),
            ]
        );
        assert_eq!(acme.amount, Some(dec("702.87")));
        // 30 x 1.333 = 39.990 points at the file's 0.50: 19.995 -> 20.00 (half away from zero).
        assert_eq!(s.customers[1].lines[0].amount, Some(dec("20.00")));
        // A customer with no consumption is still on the statement, at zero.
        assert_eq!(
            (s.customers[2].points, s.customers[2].amount),
            (dec("0"), Some(dec("0")))
        );
        // The partner's own device is nobody's: unassigned, at the file's price.
        let u = &s.customers[3];
        assert_eq!((u.points, u.amount), (dec("3216.00"), Some(dec("1608.00"))));
        assert_eq!(s.points, dec("4533.930"));
        assert_eq!(
            s.amount,
            Some(dec("702.87") + dec("20.00") + dec("1608.00"))
        );
    }

    #[test]
    fn a_missing_or_recent_day_makes_it_provisional() {
        let customers = Customers::per_account(&[AccountId(3300001)]);
        let month = Month::parse("2025-11").unwrap();
        let gap = build(
            month,
            &november(Some("2025-11-17")),
            &customers,
            day("2026-01-01"),
            2,
        );
        assert_eq!(
            (gap.status, gap.missing_days.clone()),
            (Status::Provisional, vec![day("2025-11-17")])
        );
        let recent = build(month, &november(None), &customers, day("2025-12-02"), 2);
        assert_eq!(recent.status, Status::Provisional);
        assert_eq!(
            build(month, &november(None), &customers, day("2025-12-03"), 2).status,
            Status::Final
        );
        // Without prices there are no amounts anywhere.
        assert_eq!(recent.amount, None);
        assert!(recent.customers.iter().all(|c| c.amount.is_none()));
    }

    #[test]
    fn months_parse_strictly() {
        let m = Month::parse("2024-02").unwrap();
        assert_eq!(
            (m.first(), m.last(), m.days().count()),
            (day("2024-02-01"), day("2024-02-29"), 29)
        );
        assert_eq!(m.to_string(), "2024-02");
        for bad in ["2024-13", "2024-2", "24-02", "2024-02-01", ""] {
            assert_eq!(
                Month::parse(bad).unwrap_err().kind(),
                "InvalidRequest",
                "{bad}"
            );
        }
    }
}
