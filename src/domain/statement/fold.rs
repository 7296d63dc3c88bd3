//! [`Fold`]: a month's statement built one stored day at a time, and carried from one run
//! to the next.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use chrono::{Datelike, NaiveDate};
use hashbrown::HashTable;
use rust_decimal::Decimal;

#[cfg(test)]
use super::StoredDay;
use super::{DayMeta, Line, Month, RowRef};
use crate::domain::customers::Customers;
use crate::domain::ids::AccountId;
use crate::domain::records::Text;

/// A statement built one stored day at a time, so a month of 100,000-entitlement days is
/// never in memory at once: each day folds into one line per customer × serial (× price
/// rule, when a price changes inside the month) and is dropped. Days must come in date order (later days' names win). A fold can be carried
/// from one run to the next ([`Fold::each_line`], [`Fold::add_carried`]): the lines of the
/// days that can no longer change, then only the newer days added.
pub(crate) struct Fold {
    month: Month,
    sources: Vec<(NaiveDate, u64, String)>,
    /// Customer ids and the index lines are keyed by (not a string per line).
    customer_index: HashMap<String, u32>,
    /// Without a customers file, each account's customer index (no id text per row).
    account_customer: HashMap<AccountId, u32>,
    /// Each serial's first line, an index into `lines` found by the line's own serial: the
    /// text is kept once, in the line (a map keyed by a copy of it was 5 MB of the run's peak
    /// at 100,000 lines).
    by_serial: HashTable<u32>,
    hasher: RandomState,
    /// The serial's other lines: billed to a second customer within the month (it moved),
    /// or priced by a second rule (the price changed).
    moved: HashMap<(u32, Option<u32>, String), u32>,
    lines: Vec<Line>,
    /// The customer index of each line.
    owners: Vec<u32>,
    /// Config names and product types, one allocation each for all the lines.
    names: HashMap<String, Text>,
}

/// Sets `field` to `text`, shared through `names`.
fn intern(names: &mut HashMap<String, Text>, field: &mut Option<Text>, text: &str) {
    if field.as_deref() == Some(text) {
        return;
    }
    let shared = match names.get(text) {
        Some(t) => t.clone(),
        None => {
            let t = Text::from(text);
            names.insert(text.to_string(), t.clone());
            t
        }
    };
    *field = Some(shared);
}

impl Fold {
    pub(crate) fn new(month: Month) -> Self {
        Fold {
            month,
            sources: Vec::new(),
            customer_index: HashMap::new(),
            account_customer: HashMap::new(),
            by_serial: HashTable::new(),
            hasher: RandomState::new(),
            moved: HashMap::new(),
            lines: Vec::new(),
            owners: Vec::new(),
            names: HashMap::new(),
        }
    }

    /// Adds a stored day (ignored unless in the month). `customers`: the customers file,
    /// else each account is its own customer (as [`Customers::per_account`] bills).
    #[cfg(test)]
    pub(crate) fn add(&mut self, day: StoredDay, customers: Option<&Customers>) {
        if Month::of(day.date) != self.month {
            return;
        }
        for r in &day.rows {
            self.add_row(r.borrowed(), day.date, customers);
        }
        self.add_source(DayMeta {
            date: day.date,
            revision: day.revision,
            manifest_sha256: day.manifest_sha256,
        });
    }

    /// The index of the line of `serial` billed to `customer` by `rule` (`None`: no rule),
    /// added (empty) when new.
    fn line(
        &mut self,
        customer: u32,
        rule: Option<u32>,
        serial: &str,
        account_id: AccountId,
    ) -> usize {
        let next = self.lines.len() as u32;
        let hash = self.hasher.hash_one(serial);
        let lines = &self.lines;
        let first = self
            .by_serial
            .find(hash, |&at| &*lines[at as usize].serial_number == serial)
            .copied();
        let at = match first {
            Some(at) if self.owners[at as usize] == customer && lines[at as usize].rule == rule => {
                at
            }
            Some(_) => *self
                .moved
                .entry((customer, rule, serial.to_string()))
                .or_insert(next),
            None => next,
        };
        if at == next {
            self.owners.push(customer);
            self.lines.push(Line {
                account_id,
                serial_number: serial.into(),
                config_id: None,
                config_name: None,
                product_type: None,
                description: None,
                days_billed: 0,
                points: Decimal::ZERO,
                amount: None,
                rule,
                cost: None,
                days: (0, 0),
            });
            if first.is_none() {
                let (hasher, lines) = (&self.hasher, &self.lines);
                self.by_serial.insert_unique(hash, next, |&at| {
                    hasher.hash_one(&*lines[at as usize].serial_number)
                });
            }
        }
        at as usize
    }

    /// Adds one row of a stored day of the month as the day is read, so the day's rows are
    /// never held together; [`Fold::add_source`] then records the day.
    /// `day` is the row's Pacific day: it picks the price rule and the cost in force.
    pub(crate) fn add_row(&mut self, r: RowRef<'_>, day: NaiveDate, customers: Option<&Customers>) {
        let (customer, rule, rate) = match customers {
            Some(c) => {
                let who = c.billed(r.serial_number, r.config_id, r.account_id);
                let rule = c.prices.price(who.index, &r, day).map(|p| p.rule);
                let rate = (!c.prices.costs.is_empty()).then(|| c.prices.cost(day));
                (self.customer(who.id), rule, rate)
            }
            None => match self.account_customer.get(&r.account_id) {
                Some(&i) => (i, None, None),
                None => {
                    let i = self.customer(&r.account_id.to_string());
                    self.account_customer.insert(r.account_id, i);
                    (i, None, None)
                }
            },
        };
        let at = self.line(customer, rule, r.serial_number, r.account_id);
        let (line, names) = (&mut self.lines[at], &mut self.names);
        let new = line.days.0 == 0;
        let dom = day.day() as u8;
        line.days = match new {
            true => (dom, dom),
            false => (line.days.0.min(dom), line.days.1.max(dom)),
        };
        // The cost is known while every day with points had a cost in force.
        let so_far = if new { Some(Decimal::ZERO) } else { line.cost };
        line.cost = match (so_far, rate) {
            (Some(cost), Some(Some(rate))) => Some(cost + r.points * rate),
            (Some(cost), Some(None)) if r.points.is_zero() => Some(cost),
            _ => None,
        };
        line.account_id = r.account_id;
        line.config_id = r.config_id.or(line.config_id);
        if let Some(name) = r.config_name {
            intern(names, &mut line.config_name, name);
        }
        if let Some(product) = r.product_type {
            intern(names, &mut line.product_type, product);
        }
        if let Some(d) = r.description
            && line.description.as_deref() != Some(d)
        {
            line.description = Some(d.into());
        }
        line.points += r.points;
        if r.points > Decimal::ZERO {
            line.days_billed += 1;
        }
    }

    /// Adds a line carried from an earlier fold of the same month, customers mapping and
    /// prices (what [`Fold::each_line`] gave), before any newer day is added.
    pub(crate) fn add_carried(&mut self, l: Carried<'_>) {
        let (r, days_billed) = (l.row, l.days_billed);
        let customer = self.customer(l.customer);
        let at = self.line(customer, l.rule, r.serial_number, r.account_id);
        let (line, names) = (&mut self.lines[at], &mut self.names);
        line.config_id = r.config_id;
        if let Some(name) = r.config_name {
            intern(names, &mut line.config_name, name);
        }
        if let Some(product) = r.product_type {
            intern(names, &mut line.product_type, product);
        }
        line.description = r.description.map(Box::from);
        line.points = r.points;
        line.days_billed = days_billed;
        line.cost = l.cost;
        line.days = l.days;
    }

    /// Every line so far with its customer id, for carrying the fold to a later run.
    pub(crate) fn each_line<'s>(&'s self, mut each: impl FnMut(Carried<'s>)) {
        let mut ids = vec![""; self.customer_index.len()];
        for (id, &i) in &self.customer_index {
            ids[i as usize] = id;
        }
        for (l, &customer) in self.lines.iter().zip(&self.owners) {
            let row = RowRef {
                serial_number: &l.serial_number,
                account_id: l.account_id,
                config_id: l.config_id,
                config_name: l.config_name.as_deref(),
                product_type: l.product_type.as_deref(),
                description: l.description.as_deref(),
                points: l.points,
            };
            each(Carried {
                customer: ids[customer as usize],
                rule: l.rule,
                row,
                days_billed: l.days_billed,
                cost: l.cost,
                days: l.days,
            });
        }
    }

    /// Lines so far.
    pub(crate) fn lines_len(&self) -> usize {
        self.lines.len()
    }

    /// The days folded in so far: date, revision, manifest SHA-256.
    pub(crate) fn sources(&self) -> &[(NaiveDate, u64, String)] {
        &self.sources
    }

    /// Records a day whose rows were added: the statement names its sources.
    pub(crate) fn add_source(&mut self, day: DayMeta) {
        self.sources
            .push((day.date, day.revision, day.manifest_sha256));
    }

    /// The index of customer `id`, added when new.
    fn customer(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.customer_index.get(id) {
            return i;
        }
        let i = self.customer_index.len() as u32;
        self.customer_index.insert(id.to_string(), i);
        i
    }

    /// The accounts seen, sorted: what [`Customers::per_account`] needs without a file.
    pub(crate) fn accounts(&self) -> Vec<AccountId> {
        let mut accounts: Vec<AccountId> = self.lines.iter().map(|l| l.account_id).collect();
        accounts.sort_unstable();
        accounts.dedup();
        accounts
    }
}

mod finish;

/// A line as it is carried from one run to the next ([`Fold::each_line`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Carried<'a> {
    pub customer: &'a str,
    /// An index into the customers file's [`crate::domain::customers::PriceBook::rules`].
    pub rule: Option<u32>,
    pub row: RowRef<'a>,
    pub days_billed: u32,
    /// Exact, not rounded.
    pub cost: Option<Decimal>,
    pub days: (u8, u8),
}
