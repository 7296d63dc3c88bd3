//! The price book: which price per point each row pays on each Pacific day, and what a
//! point costs the partner. Rules are scoped to a customer (or all) and to a serial, a
//! configuration, a product type or every point; the most specific rule in force wins: a
//! customer's own rules before the all-customers ones, and within each a serial, then a
//! configuration, then a product type, then the point. Two rules of one scope are never in
//! force on the same day ([`super::book_checks`] refuses the file), so there are no ties.
//!
//! An old customers file's `price_per_point` (the file's and each customer's) are rules
//! too, undated, below every rule of `prices`: they price what no rule prices (an old file
//! alone: the same row, the same price, the same line as before).

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::domain::statement::RowRef;

/// What a rule prices.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Item {
    Serial(String),
    Config(u64),
    ProductType(String),
    Point,
}

impl Item {
    /// How the item reads in a message: `serial FGVM…`, `configuration 4102`, …
    pub(crate) fn describe(&self) -> String {
        match self {
            Item::Serial(s) => format!("serial {s}"),
            Item::Config(c) => format!("configuration {c}"),
            Item::ProductType(p) => format!("product type {p:?}"),
            Item::Point => "every point".to_string(),
        }
    }
}

/// The days a rule or a cost is in force: from `effective` (absent: always) through
/// `until` (absent: from then on), both Pacific days, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Span {
    pub effective: Option<NaiveDate>,
    pub until: Option<NaiveDate>,
}

impl Span {
    pub(crate) fn holds(&self, day: NaiveDate) -> bool {
        self.effective.is_none_or(|e| day >= e) && self.until.is_none_or(|u| day <= u)
    }

    /// Whether the two spans share a day.
    pub(crate) fn meets(&self, other: &Span) -> bool {
        let starts = self.effective.max(other.effective);
        let ends = match (self.until, other.until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match (starts, ends) {
            (Some(s), Some(e)) => s <= e,
            _ => true,
        }
    }
}

/// One pricing rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    /// What statement lines name it by: the rule's `id`, or `price_per_point` /
    /// `<customer>.price_per_point` for an old file's prices.
    pub id: String,
    /// The customer index it is limited to; `None`: every customer (and `unassigned`).
    pub customer: Option<usize>,
    pub item: Item,
    pub price_per_point: Decimal,
    pub span: Span,
    /// The file's line it starts on (0: an old file's price, which has no rule of its own).
    pub line: usize,
    /// From the file's `prices`: the list price of a customer's own rule is what the
    /// all-customers rules of `prices` give.
    pub listed: bool,
}

impl Rule {
    /// How the rule reads in a message: `rule "acme-fgvm" (line 14)`.
    pub(crate) fn named(&self) -> String {
        match self.line {
            0 => format!("{:?}", self.id),
            n => format!("rule {:?} (line {n})", self.id),
        }
    }
}

/// The partner's cost per point over some days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cost {
    pub per_point: Decimal,
    pub span: Span,
    pub line: usize,
}

/// The rule that prices a row on a day, by its index in [`PriceBook::rules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Priced {
    pub rule: u32,
    pub price_per_point: Decimal,
}

/// The rules and costs of a customers file, indexed by what they price.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PriceBook {
    pub rules: Vec<Rule>,
    pub costs: Vec<Cost>,
    serials: HashMap<String, Vec<u32>>,
    configs: HashMap<u64, Vec<u32>>,
    products: HashMap<String, Vec<u32>>,
    points: Vec<u32>,
}

impl PriceBook {
    pub(crate) fn new(rules: Vec<Rule>, costs: Vec<Cost>) -> Self {
        let mut book = PriceBook {
            rules,
            costs,
            ..PriceBook::default()
        };
        for (i, r) in book.rules.iter().enumerate() {
            let i = i as u32;
            match &r.item {
                Item::Serial(s) => book.serials.entry(s.clone()).or_default().push(i),
                Item::Config(c) => book.configs.entry(*c).or_default().push(i),
                Item::ProductType(p) => book.products.entry(p.clone()).or_default().push(i),
                Item::Point => book.points.push(i),
            }
        }
        book
    }

    /// The rule in force for a row of `customer` (`None`: `unassigned`) on `day`.
    pub(crate) fn price(
        &self,
        customer: Option<usize>,
        r: &RowRef<'_>,
        day: NaiveDate,
    ) -> Option<Priced> {
        let empty: &[u32] = &[];
        let lists = [
            self.serials
                .get(r.serial_number)
                .map_or(empty, Vec::as_slice),
            r.config_id
                .and_then(|c| self.configs.get(&c))
                .map_or(empty, Vec::as_slice),
            r.product_type
                .and_then(|p| self.products.get(p))
                .map_or(empty, Vec::as_slice),
            &self.points,
        ];
        // The book's rules, then an old file's prices (what no rule prices); each the
        // customer's own before every customer's.
        let both = [customer, None];
        let whose = if customer.is_some() {
            &both[..]
        } else {
            &both[1..]
        };
        let passes = [true, false]
            .into_iter()
            .flat_map(|listed| whose.iter().map(move |&who| (listed, who)));
        passes.into_iter().find_map(|(listed, who)| {
            lists.iter().find_map(|list| {
                list.iter()
                    .map(|&i| (i, &self.rules[i as usize]))
                    .find(|(_, rule)| {
                        rule.listed == listed && rule.customer == who && rule.span.holds(day)
                    })
                    .map(|(i, rule)| Priced {
                        rule: i,
                        price_per_point: rule.price_per_point,
                    })
            })
        })
    }

    /// The list price of a row priced by a customer's own rule of `prices`: what the
    /// all-customers rules of `prices` give it that day (`None`: the rule is no discount
    /// from a list).
    pub(crate) fn list_price(
        &self,
        priced: Priced,
        r: &RowRef<'_>,
        day: NaiveDate,
    ) -> Option<Decimal> {
        let rule = &self.rules[priced.rule as usize];
        if !rule.listed || rule.customer.is_none() {
            return None;
        }
        self.price(None, r, day)
            .filter(|p| self.rules[p.rule as usize].listed)
            .map(|p| p.price_per_point)
    }

    /// The partner's cost per point on `day`; `None` without one.
    pub(crate) fn cost(&self, day: NaiveDate) -> Option<Decimal> {
        self.costs
            .iter()
            .find(|c| c.span.holds(day))
            .map(|c| c.per_point)
    }

    /// The rules and costs as one SHA-256: what a carried statement fold was priced by.
    pub(crate) fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for r in &self.rules {
            let customer = r.customer.map_or(-1, |c| c as i64);
            h.update(
                format!(
                    "{}\t{customer}\t{:?}\t{}\t{:?}\n",
                    r.id, r.item, r.price_per_point, r.span
                )
                .as_bytes(),
            );
        }
        for c in &self.costs {
            h.update(format!("cost\t{}\t{:?}\n", c.per_point, c.span).as_bytes());
        }
        format!("{:x}", h.finalize())
    }

    /// The index of the rule named `id`.
    pub(crate) fn rule_index(&self, id: &str) -> Option<u32> {
        self.rules.iter().position(|r| r.id == id).map(|i| i as u32)
    }
}
