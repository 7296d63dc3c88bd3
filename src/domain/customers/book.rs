//! The price book's part of the customers file read: `prices` (one rule each) and
//! `cost_per_point` (one price, or a list of dated ones). Each entry is kept as its text
//! while the file is read, so an error names the rule and the line it starts on.

use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::prices::{Cost, Item, Rule, Span};
use super::{price, valid_id};
use crate::domain::ids::Serial;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    customer: Option<String>,
    serial: Option<String>,
    config: Option<u64>,
    product_type: Option<String>,
    price_per_point: Option<Value>,
    effective: Option<String>,
    until: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCost {
    cost_per_point: Option<Value>,
    effective: Option<String>,
    until: Option<String>,
}

/// An old file's `price_per_point` as an undated rule for every point: the file's (for
/// every customer) or customer `index`'s own.
pub(super) fn legacy(
    index: Option<usize>,
    id: &str,
    price_per_point: rust_decimal::Decimal,
) -> Rule {
    Rule {
        id: match index {
            Some(_) => format!("{id}.price_per_point"),
            None => "price_per_point".to_string(),
        },
        customer: index,
        item: Item::Point,
        price_per_point,
        span: Span::default(),
        line: 0,
        listed: false,
    }
}

/// The 1-based line of `text` that `part` (a slice of it) starts on.
fn line_of(text: &str, part: &str) -> usize {
    let at = (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    text.get(..at).map_or(0, |t| t.matches('\n').count()) + 1
}

fn day(text: Option<&str>, field: &str) -> Result<Option<NaiveDate>, String> {
    text.map(|t| {
        NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d")
            .ok()
            .filter(|_| t.trim().len() == 10)
            .ok_or_else(|| format!("{field} {t:?} is not a date like 2026-12-01"))
    })
    .transpose()
}

fn span(effective: Option<&str>, until: Option<&str>) -> Result<Span, String> {
    let span = Span {
        effective: day(effective, "effective")?,
        until: day(until, "until")?,
    };
    match (span.effective, span.until) {
        (Some(e), Some(u)) if u < e => Err(format!("until {u} is before effective {e}")),
        _ => Ok(span),
    }
}

/// The rules of `prices` and the costs of `cost_per_point`, each checked alone; `customers`
/// are the file's customer ids, in order.
pub(super) fn parse(
    text: &str,
    prices: Option<Vec<&RawValue>>,
    cost: Option<&RawValue>,
    customers: &[&str],
) -> Result<(Vec<Rule>, Vec<Cost>), String> {
    let mut rules = Vec::new();
    for (i, raw) in prices.unwrap_or_default().into_iter().enumerate() {
        let line = line_of(text, raw.get());
        let at = |why: String| format!("prices[{i}] (line {line}): {why}");
        let r: RawRule = serde_json::from_str(raw.get()).map_err(|e| at(e.to_string()))?;
        let at = |why: String| format!("prices[{i}] {:?} (line {line}): {why}", r.id);
        if !valid_id(&r.id) {
            return Err(at("the id must be 1 to 64 of a-z, 0-9, _ and -".into()));
        }
        if let Some(other) = rules.iter().find(|o: &&Rule| o.id == r.id) {
            return Err(at(format!("the id is also {}'s", other.named())));
        }
        let customer =
            match r.customer.as_deref() {
                None => None,
                Some(id) => Some(customers.iter().position(|c| *c == id).ok_or_else(|| {
                    at(format!("customer {id:?} is not in the file's customers"))
                })?),
            };
        let item = match (r.serial, r.config, r.product_type) {
            (None, None, None) => Item::Point,
            (Some(s), None, None) => Item::Serial(
                Serial::parse(&s, "serial")
                    .map_err(|e| at(e.to_string()))?
                    .to_string(),
            ),
            (None, Some(c), None) => Item::Config(c),
            (None, None, Some(p)) if !p.trim().is_empty() => Item::ProductType(p),
            (None, None, Some(_)) => return Err(at("product_type is empty".into())),
            _ => {
                return Err(at(
                    "a rule prices one of serial, config or product_type (or, with none, every point)"
                        .into(),
                ));
            }
        };
        let price_per_point = price(r.price_per_point.as_ref(), "price_per_point")
            .map_err(at)?
            .ok_or_else(|| at("price_per_point is missing".into()))?;
        let span = span(r.effective.as_deref(), r.until.as_deref()).map_err(at)?;
        rules.push(Rule {
            id: r.id,
            customer,
            item,
            price_per_point,
            span,
            line,
            listed: true,
        });
    }
    let costs = match cost {
        None => Vec::new(),
        Some(raw) => costs(text, raw)?,
    };
    Ok((rules, costs))
}

fn costs(text: &str, raw: &RawValue) -> Result<Vec<Cost>, String> {
    let line = line_of(text, raw.get());
    let entries: Vec<&RawValue> = match raw.get().trim_start().starts_with('[') {
        true => serde_json::from_str(raw.get())
            .map_err(|e| format!("cost_per_point (line {line}): {e}"))?,
        false => {
            let value: Value = serde_json::from_str(raw.get())
                .map_err(|e| format!("cost_per_point (line {line}): {e}"))?;
            let per_point = price(Some(&value), "cost_per_point")?
                .ok_or_else(|| format!("cost_per_point (line {line}) is null"))?;
            return Ok(vec![Cost {
                per_point,
                span: Span::default(),
                line,
            }]);
        }
    };
    let mut costs = Vec::with_capacity(entries.len());
    for (i, raw) in entries.into_iter().enumerate() {
        let line = line_of(text, raw.get());
        let at = |why: String| format!("cost_per_point[{i}] (line {line}): {why}");
        let c: RawCost = serde_json::from_str(raw.get()).map_err(|e| at(e.to_string()))?;
        let per_point = price(c.cost_per_point.as_ref(), "cost_per_point")
            .map_err(at)?
            .ok_or_else(|| at("cost_per_point is missing".into()))?;
        costs.push(Cost {
            per_point,
            span: span(c.effective.as_deref(), c.until.as_deref()).map_err(at)?,
            line,
        });
    }
    Ok(costs)
}
