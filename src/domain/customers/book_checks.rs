//! What makes a price book unusable, found before anything is built: two rules of one
//! scope in force on the same day (which price would win is then a guess), two costs on
//! one day, and a day on which a customer has no price for every point (a new product
//! type or a lapsed rule would reach the invoice unpriced). Each error names the rules and
//! their lines.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};

use super::prices::{Item, PriceBook, Span};
use crate::domain::records::product_name;

/// Every check, for a file with `prices`; `customers` are its customer ids, in order.
pub(super) fn check(book: &PriceBook, customers: &[&str]) -> Result<(), String> {
    overlaps(book)?;
    gaps(book, customers)
}

/// Two rules of the same customer and item, or two costs, sharing a day.
pub(super) fn overlaps(book: &PriceBook) -> Result<(), String> {
    for (i, a) in book.rules.iter().enumerate() {
        if let Some(b) = book.rules[..i].iter().find(|b| {
            b.listed == a.listed
                && b.customer == a.customer
                && b.item == a.item
                && b.span.meets(&a.span)
        }) {
            return Err(format!(
                "{} overlaps {}: both price {} for {} on {}",
                a.named(),
                b.named(),
                a.item.describe(),
                match a.customer {
                    Some(_) => "the same customer",
                    None => "every customer",
                },
                first_shared(&a.span, &b.span)
            ));
        }
    }
    for (i, a) in book.costs.iter().enumerate() {
        if let Some(b) = book.costs[..i].iter().find(|b| b.span.meets(&a.span)) {
            return Err(format!(
                "cost_per_point (line {}) overlaps cost_per_point (line {}) on {}",
                a.line,
                b.line,
                first_shared(&a.span, &b.span)
            ));
        }
    }
    Ok(())
}

/// Rules naming a configuration none of the programs has, or a product type neither a
/// configuration nor FortiFlex's product table names: a typo that would price nothing.
pub(super) fn catalog(
    book: &PriceBook,
    configs: &BTreeSet<u64>,
    product_types: &BTreeSet<&str>,
) -> Result<(), String> {
    for r in book.rules.iter().filter(|r| r.listed) {
        match &r.item {
            Item::Config(c) if !configs.contains(c) => {
                return Err(format!(
                    "{} names configuration {c}, which no program of this API user has",
                    r.named()
                ));
            }
            Item::ProductType(p)
                if !product_types.contains(p.as_str())
                    && !(1..=1000).any(|id| product_name(id) == Some(p.as_str())) =>
            {
                return Err(format!(
                    "{} names product type {p:?}, which no configuration has and FortiFlex does not list (the names reports show: {})",
                    r.named(),
                    product_types.iter().copied().collect::<Vec<_>>().join(", ")
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn first_shared(a: &Span, b: &Span) -> String {
    match a.effective.max(b.effective) {
        Some(d) => d.to_string(),
        None => "every day".to_string(),
    }
}

/// Each customer's prices for every point, from the book's first day on: its own rules and
/// the all-customers ones together leave no day unpriced.
fn gaps(book: &PriceBook, customers: &[&str]) -> Result<(), String> {
    let listed = book.rules.iter().filter(|r| r.listed);
    // The book starts on its first rule's day (always, with an undated rule): days before
    // are priced as the file priced them before it had a book.
    let start = match listed.clone().any(|r| r.span.effective.is_none()) {
        true => None,
        false => listed.filter_map(|r| r.span.effective).min(),
    };
    for (index, id) in customers.iter().enumerate() {
        let mut spans: Vec<&Span> = Vec::new();
        let mut names = Vec::new();
        for r in &book.rules {
            if r.item == Item::Point && r.customer.is_none_or(|c| c == index) {
                spans.push(&r.span);
                names.push(r.named());
            }
        }
        if let Some(day) = uncovered(start, &spans) {
            let from = match day {
                Some(d) => format!("from {d}"),
                None => "before its first rule".to_string(),
            };
            let rules = match names.is_empty() {
                true => "there is no rule for every point for it or for every customer".to_string(),
                false => format!("its rules for every point are {}", names.join(", ")),
            };
            return Err(format!(
                "customer {id:?} has no price {from}: {rules}; add a rule without product_type, config or serial for those days"
            ));
        }
    }
    Ok(())
}

/// The first day from `start` (`None`: the beginning of time) that no span holds:
/// `Some(None)` when the days before the earliest span are uncovered.
fn uncovered(start: Option<NaiveDate>, spans: &[&Span]) -> Option<Option<NaiveDate>> {
    let number = |d: NaiveDate| i64::from(d.num_days_from_ce());
    let mut ranges: Vec<(i64, i64)> = spans
        .iter()
        .map(|s| {
            (
                s.effective.map_or(i64::MIN, number),
                s.until.map_or(i64::MAX, number),
            )
        })
        .collect();
    ranges.sort_unstable();
    // The first day not covered yet.
    let mut next = start.map_or(i64::MIN, number);
    for (from, through) in ranges {
        if through < next {
            continue;
        }
        if from > next {
            break;
        }
        if through == i64::MAX {
            return None;
        }
        next = through + 1;
    }
    Some(
        (next != i64::MIN)
            .then(|| {
                i32::try_from(next)
                    .ok()
                    .and_then(NaiveDate::from_num_days_from_ce_opt)
            })
            .flatten(),
    )
}
