//! A month's statement per customer, in money, from the stored daily reports: pure, no I/O.
//! Built from what was stored, never from the API, so it reaches back past FortiFlex's 90
//! days and always equals the sum of the daily reports. Each line's amount is rounded half
//! away from zero to cents; every total is a sum of line amounts, so an invoice adds up.

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Deserialize;

#[cfg(test)]
use crate::domain::customers::Customers;
use crate::domain::ids::AccountId;
use crate::domain::records::Text;
use crate::error::{Error, Result};

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

/// One stored daily report, as read back from the archive (tests fold whole days).
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredDay {
    pub date: NaiveDate,
    pub revision: u64,
    pub manifest_sha256: String,
    pub rows: Vec<StoredRow>,
}

/// A stored day besides its rows: its date and its manifest's revision and SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayMeta {
    pub date: NaiveDate,
    pub revision: u64,
    pub manifest_sha256: String,
}

/// A daily report row with what a statement line shows, parsed straight from the stored JSON.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredRow {
    pub serial_number: String,
    pub account_id: AccountId,
    pub config_id: Option<u64>,
    pub config_name: Option<String>,
    pub product_type: Option<String>,
    pub description: Option<String>,
    #[serde(deserialize_with = "stored_points")]
    pub points: Decimal,
}

impl StoredRow {
    /// The row's fields borrowed, as every reader of stored days takes them.
    pub fn borrowed(&self) -> RowRef<'_> {
        RowRef {
            serial_number: &self.serial_number,
            account_id: self.account_id,
            config_id: self.config_id,
            config_name: self.config_name.as_deref(),
            product_type: self.product_type.as_deref(),
            description: self.description.as_deref(),
            points: self.points,
        }
    }
}

/// A stored day's row borrowed from where it was read (a rollup's bytes, a [`StoredRow`]):
/// what statements, FOCUS, the site and alerts read of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowRef<'a> {
    pub serial_number: &'a str,
    pub account_id: AccountId,
    pub config_id: Option<u64>,
    pub config_name: Option<&'a str>,
    pub product_type: Option<&'a str>,
    pub description: Option<&'a str>,
    pub points: Decimal,
}

/// A stored row's `points`: the number's exact digits, never routed through a float. Stored
/// days are read as a stream, from which a number's text cannot be borrowed: it is boxed.
fn stored_points<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Decimal, D::Error> {
    let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
    crate::domain::money::parse_decimal(raw.get())
        .ok_or_else(|| serde::de::Error::custom("points is not a decimal number"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Every day stored and the month past restatement.
    Final,
    Provisional,
}

impl Status {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Final => "final",
            Status::Provisional => "provisional",
        }
    }
}

/// One customer × serial: what one invoice line says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub account_id: AccountId,
    pub serial_number: Box<str>,
    pub config_id: Option<u64>,
    /// Shared by every line of the configuration (a few hundred names, 100,000 lines).
    pub config_name: Option<Text>,
    pub product_type: Option<Text>,
    pub description: Option<Box<str>>,
    /// Days with points above zero.
    pub days_billed: u32,
    pub points: Decimal,
    pub amount: Option<Decimal>,
    /// The rule that priced it, an index into [`Statement::rules`]: a price change inside
    /// the month gives a serial one line per rule.
    pub rule: Option<u32>,
    /// What the points cost the partner, exact while folding, in cents once finished;
    /// `None` without a cost (or for a day without one).
    pub cost: Option<Decimal>,
    /// The first and last day of the month its rows came from (1 to 31; 0: none).
    pub days: (u8, u8),
}

// 100,000 lines are held at once (a month of a big program): every byte here is 100 KB of
// the run's peak.
const _: () = assert!(std::mem::size_of::<Line>() <= 160);

impl Line {
    /// Amount less cost, when both are known.
    pub(crate) fn margin(&self) -> Option<Decimal> {
        self.amount.zip(self.cost).map(|(a, c)| a - c)
    }
}

/// A rule as a statement names it: its id and price (none for the minimum charge's line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleNote {
    pub id: String,
    pub price_per_point: Option<Decimal>,
}

/// What a line that lifts a customer to its minimum monthly charge names as its rule.
pub(crate) const MINIMUM_RULE: &str = "minimum_monthly_charge";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CustomerStatement {
    pub id: String,
    pub name: String,
    pub accounts: Vec<AccountId>,
    pub price_per_point: Option<Decimal>,
    pub points: Decimal,
    /// The sum of the lines' amounts; `None` without a price.
    pub amount: Option<Decimal>,
    /// The sum of the lines' costs; `None` unless every line's is known.
    pub cost: Option<Decimal>,
    /// Its serials: a line each without a price book; with one, a serial priced by two
    /// rules in the month has two lines, and the minimum charge's line none.
    pub entitlements: usize,
    pub lines: Vec<Line>,
}

impl CustomerStatement {
    pub(crate) fn margin(&self) -> Option<Decimal> {
        self.amount.zip(self.cost).map(|(a, c)| a - c)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Statement {
    pub month: Month,
    pub status: Status,
    pub missing_days: Vec<NaiveDate>,
    /// The stored days it was built from: date, revision and manifest SHA-256.
    pub sources: Vec<(NaiveDate, u64, String)>,
    pub currency: Option<String>,
    pub issuer: Option<String>,
    pub points: Decimal,
    pub amount: Option<Decimal>,
    pub cost: Option<Decimal>,
    pub customers: Vec<CustomerStatement>,
    /// The rules lines name ([`Line::rule`]).
    pub rules: Vec<RuleNote>,
    /// Priced by a price book: each line shows its days, rule, cost and margin.
    pub book: bool,
}

impl Statement {
    pub(crate) fn margin(&self) -> Option<Decimal> {
        self.amount.zip(self.cost).map(|(a, c)| a - c)
    }

    /// A line's rule and price.
    pub(crate) fn rule(&self, line: &Line) -> Option<&RuleNote> {
        line.rule.and_then(|r| self.rules.get(r as usize))
    }

    /// A line's first and last day.
    pub(crate) fn line_days(&self, line: &Line) -> Option<(NaiveDate, NaiveDate)> {
        let at = |d: u8| self.month.first().with_day(u32::from(d));
        at(line.days.0).zip(at(line.days.1))
    }
}

/// The statement of `month` from its stored `days` (other months' days are ignored), as of
/// the Pacific day `today`: `final` once every day is stored and the month ended more than
/// `restate_days` days ago. The runs fold one day at a time ([`Fold`]); this is its whole-month
/// form for tests.
#[cfg(test)]
pub(crate) fn build(
    month: Month,
    days: &[StoredDay],
    customers: &Customers,
    today: NaiveDate,
    restate_days: u32,
) -> Statement {
    let mut ordered: Vec<&StoredDay> = days.iter().collect();
    ordered.sort_by_key(|d| d.date);
    let mut fold = Fold::new(month);
    for day in ordered {
        fold.add(day.clone(), Some(customers));
    }
    fold.finish(customers, today, restate_days)
}

/// An amount in cents: half away from zero, as invoices round.
pub(crate) fn money(d: Decimal) -> Decimal {
    d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

mod fold;
mod group;

pub(crate) use fold::{Carried, Fold};
#[cfg(test)]
mod book_tests;
#[cfg(test)]
mod tests;
