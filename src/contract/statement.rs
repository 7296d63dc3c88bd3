//! A statement's bytes, as the contract's "Monthly statements" defines them: the statement
//! CSV and JSON, one CSV per customer (what a partner attaches to an invoice) and
//! the manifest, written last. Pure functions.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde::Serialize;

use super::{
    FileEntry, PreviousFile, SCHEMA_VERSION, rendering, safe_text, to_json, to_json_writer, ymd,
};
use crate::domain::ids::AccountId;
use crate::domain::money::Exact;
use crate::domain::money::display2;
use std::collections::BTreeMap;

use crate::domain::billing::{CustomerTotals, Priced, StatementTotals, Sum};
use crate::domain::statement::{CustomerStatement, Line, Month, Statement, Status};
use crate::error::Result;

/// The statement CSV's header, in contract order.
pub(crate) const COLUMNS: [&str; 14] = [
    "month",
    "customer_id",
    "customer_name",
    "account_id",
    "serial_number",
    "config_id",
    "config_name",
    "product_type",
    "description",
    "days_billed",
    "points",
    "price_per_point",
    "currency",
    "amount",
];

/// With a price book, after [`COLUMNS`]: each line's days and rule, in every CSV.
pub(crate) const BOOK_COLUMNS: [&str; 3] = ["first_day", "last_day", "rule"];
/// With a price book, last: the partner's cost and margin, in the statement CSV only (a
/// customer's own CSV goes out with its invoice).
pub(crate) const COST_COLUMNS: [&str; 2] = ["cost", "margin"];

/// A line's price: its rule's with a price book, else its customer's.
pub(crate) fn line_price(s: &Statement, c: &CustomerStatement, l: &Line) -> Option<Decimal> {
    match s.book {
        true => s.rule(l).and_then(|r| r.price_per_point),
        false => c.price_per_point,
    }
}

fn lines_csv<'a>(
    s: &Statement,
    customers: impl Iterator<Item = &'a CustomerStatement>,
    costs: bool,
    out: &mut impl Write,
) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out);
    let mut header = COLUMNS.to_vec();
    if s.book {
        header.extend(BOOK_COLUMNS);
        if costs {
            header.extend(COST_COLUMNS);
        }
    }
    w.write_record(&header).map_err(|e| rendering("CSV", e))?;
    let month = s.month.to_string();
    let currency = s.currency.as_deref().unwrap_or("");
    let text = |o: Option<&str>| o.map(safe_text).unwrap_or_default().into_owned();
    let cents = |d: Option<Decimal>| d.map(display2).unwrap_or_default();
    let mut record: Vec<String> = Vec::with_capacity(header.len());
    for c in customers {
        for l in &c.lines {
            let price = line_price(s, c, l);
            record.clear();
            record.extend([
                month.clone(),
                c.id.clone(),
                safe_text(&c.name).into_owned(),
                l.account_id.to_string(),
                safe_text(&l.serial_number).into_owned(),
                l.config_id.map(|c| c.to_string()).unwrap_or_default(),
                text(l.config_name.as_deref()),
                text(l.product_type.as_deref()),
                text(l.description.as_deref()),
                l.days_billed.to_string(),
                crate::domain::money::points_text(l.points),
                price.map(|p| p.to_string()).unwrap_or_default(),
                match (s.book, price.is_some() || l.amount.is_some()) {
                    (false, _) if c.price_per_point.is_some() => currency.to_string(),
                    (true, true) => currency.to_string(),
                    _ => String::new(),
                },
                cents(l.amount),
            ]);
            if s.book {
                let (first, last) = s.line_days(l).map(|(a, b)| (ymd(a), ymd(b))).unzip();
                record.extend([
                    first.unwrap_or_default(),
                    last.unwrap_or_default(),
                    text(s.rule(l).map(|r| r.id.as_str())),
                ]);
                if costs {
                    record.extend([cents(l.cost), cents(l.margin())]);
                }
            }
            w.write_record(&record).map_err(|e| rendering("CSV", e))?;
        }
    }
    w.flush().map_err(|e| rendering("CSV", e))
}

/// Every customer's lines, by customer id, then points descending, then serial.
pub(crate) fn csv(s: &Statement, out: &mut impl Write) -> Result<()> {
    lines_csv(s, s.customers.iter(), true, out)
}

/// One customer's lines, same columns.
pub(crate) fn customer_csv(
    s: &Statement,
    c: &CustomerStatement,
    out: &mut impl Write,
) -> Result<()> {
    lines_csv(s, std::iter::once(c), false, out)
}

#[derive(Serialize)]
struct Source<'a> {
    date: String,
    revision: u64,
    manifest_sha256: &'a str,
}

#[derive(Serialize)]
struct Totals {
    points: Exact,
    amount: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Booked<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    margin: Booked<Money>,
}

/// A price book's field: absent without a book (an old file's statement is unchanged),
/// `null` when unknown.
type Booked<T> = Option<Option<T>>;

fn booked<T>(s: &Statement, value: Option<T>) -> Booked<T> {
    s.book.then_some(value)
}

/// An amount written as a JSON number with two places.
struct Money(Decimal);

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_json::value::RawValue::from_string(display2(self.0))
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

#[derive(Serialize)]
struct JsonLine<'a> {
    account_id: AccountId,
    serial_number: &'a str,
    config_id: Option<u64>,
    config_name: Option<&'a str>,
    product_type: Option<&'a str>,
    description: Option<&'a str>,
    days_billed: u32,
    points: Exact,
    amount: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_day: Booked<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_day: Booked<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule: Booked<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    price_per_point: Booked<Exact>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Booked<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    margin: Booked<Money>,
}

#[derive(Serialize)]
struct JsonCustomer<'a> {
    id: &'a str,
    name: &'a str,
    accounts: &'a [AccountId],
    entitlements: usize,
    points: Exact,
    price_per_point: Option<Exact>,
    amount: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Booked<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    margin: Booked<Money>,
    lines: JsonLines<'a>,
}

/// A customer's lines, serialized as they are read: no second copy of 100,000 lines.
struct JsonLines<'a>(&'a Statement, &'a [Line]);

impl Serialize for JsonLines<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.1.iter().map(|l| line(self.0, l)))
    }
}

#[derive(Serialize)]
struct JsonStatement<'a> {
    schema_version: u32,
    program_serial: &'a str,
    month: String,
    timezone: &'a str,
    status: &'static str,
    days_in_month: usize,
    days_present: usize,
    missing_days: Vec<String>,
    currency: Option<&'a str>,
    issuer: Option<&'a str>,
    sources: Vec<Source<'a>>,
    totals: Totals,
    customers: Vec<JsonCustomer<'a>>,
}

fn line<'a>(s: &'a Statement, l: &'a Line) -> JsonLine<'a> {
    JsonLine {
        account_id: l.account_id,
        serial_number: &l.serial_number,
        config_id: l.config_id,
        config_name: l.config_name.as_deref(),
        product_type: l.product_type.as_deref(),
        description: l.description.as_deref(),
        days_billed: l.days_billed,
        points: Exact(l.points),
        amount: l.amount.map(Money),
        first_day: booked(s, s.line_days(l).map(|(first, _)| ymd(first))),
        last_day: booked(s, s.line_days(l).map(|(_, last)| ymd(last))),
        rule: booked(s, s.rule(l).map(|r| r.id.as_str())),
        price_per_point: booked(s, s.rule(l).and_then(|r| r.price_per_point).map(Exact)),
        cost: booked(s, l.cost.map(Money)),
        margin: booked(s, l.margin().map(Money)),
    }
}

pub(crate) fn json(program: &str, timezone: Tz, s: &Statement, out: &mut impl Write) -> Result<()> {
    let days_in_month = s.month.days().count();
    to_json_writer(
        out,
        &JsonStatement {
            schema_version: SCHEMA_VERSION,
            program_serial: program,
            month: s.month.to_string(),
            timezone: timezone.name(),
            status: s.status.as_str(),
            days_in_month,
            days_present: days_in_month - s.missing_days.len(),
            missing_days: s.missing_days.iter().map(|d| ymd(*d)).collect(),
            currency: s.currency.as_deref(),
            issuer: s.issuer.as_deref(),
            sources: s
                .sources
                .iter()
                .map(|(date, revision, sha)| Source {
                    date: ymd(*date),
                    revision: *revision,
                    manifest_sha256: sha,
                })
                .collect(),
            totals: Totals {
                points: Exact(s.points),
                amount: s.amount.map(Money),
                cost: booked(s, s.cost.map(Money)),
                margin: booked(s, s.margin().map(Money)),
            },
            customers: s
                .customers
                .iter()
                .map(|c| JsonCustomer {
                    id: &c.id,
                    name: &c.name,
                    accounts: &c.accounts,
                    entitlements: c.entitlements,
                    points: Exact(c.points),
                    price_per_point: c.price_per_point.map(Exact),
                    amount: c.amount.map(Money),
                    cost: booked(s, c.cost.map(Money)),
                    margin: booked(s, c.margin().map(Money)),
                    lines: JsonLines(s, &c.lines),
                })
                .collect(),
        },
    )
}

#[derive(Serialize)]
struct Manifest<'a> {
    schema_version: u32,
    report: &'static str,
    program_serial: &'a str,
    month: String,
    status: &'static str,
    run_id: &'a str,
    generated_at: String,
    revision: u64,
    tool_version: &'static str,
    files: &'a [FileEntry],
    #[serde(skip_serializing_if = "Option::is_none")]
    previous: Option<PreviousStatement<'a>>,
}

#[derive(Serialize)]
struct PreviousStatement<'a> {
    revision: u64,
    files: &'a [PreviousFile],
}

/// The statement's manifest: its files with SHA-256, and the revision it replaces.
pub(crate) fn manifest(
    program: &str,
    s: &Statement,
    files: &[FileEntry],
    run_id: &str,
    now: DateTime<Utc>,
    revision: u64,
    previous: Option<(u64, &[PreviousFile])>,
) -> Result<Vec<u8>> {
    to_json(&Manifest {
        schema_version: SCHEMA_VERSION,
        report: "statement",
        program_serial: program,
        month: s.month.to_string(),
        status: s.status.as_str(),
        run_id,
        generated_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        revision,
        tool_version: env!("CARGO_PKG_VERSION"),
        files,
        previous: previous.map(|(revision, files)| PreviousStatement { revision, files }),
    })
}

/// A stored statement JSON read back for a push: each customer's totals and its points and
/// amounts per product type, exact. `origin` names it in errors.
pub(crate) fn read_totals(bytes: &[u8], origin: &str) -> Result<StatementTotals> {
    #[derive(serde::Deserialize)]
    struct Back {
        month: String,
        status: String,
        currency: Option<String>,
        customers: Vec<BackCustomer>,
    }
    #[derive(serde::Deserialize)]
    struct BackCustomer {
        id: String,
        name: String,
        price_per_point: Option<Exact>,
        points: Exact,
        amount: Option<Exact>,
        lines: Vec<BackLine>,
    }
    #[derive(serde::Deserialize)]
    struct BackLine {
        product_type: Option<String>,
        points: Exact,
        amount: Option<Exact>,
        /// With a price book: the line's rule, price and cost.
        #[serde(default)]
        rule: Option<String>,
        #[serde(default)]
        price_per_point: Option<Exact>,
        #[serde(default)]
        cost: Option<Exact>,
    }
    let bad = |why: String| crate::error::Error::Storage(format!("{origin} is unreadable: {why}"));
    let back: Back = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
    let status = match back.status.as_str() {
        "final" => Status::Final,
        "provisional" => Status::Provisional,
        other => return Err(bad(format!("status {other:?}"))),
    };
    let month = Month::parse(&back.month).map_err(|e| bad(e.to_string()))?;
    let customers = back
        .customers
        .into_iter()
        .map(|c| {
            let mut products: BTreeMap<Priced, Sum> = BTreeMap::new();
            for l in c.lines {
                let key = Priced {
                    product_type: l.product_type,
                    rule: l.rule,
                };
                products
                    .entry(key)
                    .or_insert_with(|| Sum::new(l.price_per_point.map(|p| p.0)))
                    .add(l.points.0, l.amount.map(|a| a.0), l.cost.map(|c| c.0));
            }
            CustomerTotals {
                id: c.id,
                name: c.name,
                price_per_point: c.price_per_point.map(|p| p.0),
                points: c.points.0,
                amount: c.amount.map(|a| a.0),
                products,
            }
        })
        .collect();
    Ok(StatementTotals {
        month,
        status,
        currency: back.currency,
        customers,
    })
}
