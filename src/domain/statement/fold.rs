//! [`Fold`]: a month's statement built one stored day at a time, and carried from one run
//! to the next.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

#[cfg(test)]
use super::StoredDay;
use super::{CustomerStatement, DayMeta, Line, Month, RowRef, Statement, Status, group, money};
use crate::domain::customers::Customers;
use crate::domain::ids::AccountId;
use crate::domain::records::Text;

/// A statement built one stored day at a time, so a month of 100,000-entitlement days is
/// never in memory at once: each day folds into one line per customer × serial and is
/// dropped. Days must come in date order (later days' names win). A fold can be carried
/// from one run to the next ([`Fold::each_line`], [`Fold::add_carried`]): the lines of the
/// days that can no longer change, then only the newer days added.
pub(crate) struct Fold {
    month: Month,
    sources: Vec<(NaiveDate, u64, String)>,
    /// Customer ids and the index lines are keyed by (not a string per line).
    customer_index: HashMap<String, u32>,
    /// Without a customers file, each account's customer index (no id text per row).
    account_customer: HashMap<AccountId, u32>,
    /// serial -> (customer index, index in `lines`) of the serial's first line, whose own
    /// serials `finish` fills in: a small table entry per line, looked up by the row's text.
    by_serial: HashMap<String, (u32, u32)>,
    /// The lines of a serial billed to a second customer within the month (it moved).
    moved: HashMap<(u32, String), u32>,
    lines: Vec<Line>,
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
            by_serial: HashMap::new(),
            moved: HashMap::new(),
            lines: Vec::new(),
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
            self.add_row(r.borrowed(), customers);
        }
        self.add_source(DayMeta {
            date: day.date,
            revision: day.revision,
            manifest_sha256: day.manifest_sha256,
        });
    }

    /// The index of the line of `serial` billed to `customer`, added (empty) when new.
    fn line(&mut self, customer: u32, serial: &str, account_id: AccountId) -> usize {
        let next = self.lines.len() as u32;
        let at = match self.by_serial.get(serial) {
            Some(&(c, at)) if c == customer => at,
            Some(_) => *self
                .moved
                .entry((customer, serial.to_string()))
                .or_insert(next),
            None => {
                self.by_serial.insert(serial.to_string(), (customer, next));
                next
            }
        };
        if at == next {
            self.lines.push(Line {
                account_id,
                serial_number: String::new(),
                config_id: None,
                config_name: None,
                product_type: None,
                description: None,
                days_billed: 0,
                points: Decimal::ZERO,
                amount: None,
            });
        }
        at as usize
    }

    /// Adds one row of a stored day of the month as the day is read, so the day's rows are
    /// never held together; [`Fold::add_source`] then records the day.
    pub(crate) fn add_row(&mut self, r: RowRef<'_>, customers: Option<&Customers>) {
        let customer = match customers {
            Some(c) => self.customer(c.billed(r.serial_number, r.config_id, r.account_id).id),
            None => match self.account_customer.get(&r.account_id) {
                Some(&i) => i,
                None => {
                    let i = self.customer(&r.account_id.to_string());
                    self.account_customer.insert(r.account_id, i);
                    i
                }
            },
        };
        let at = self.line(customer, r.serial_number, r.account_id);
        let (line, names) = (&mut self.lines[at], &mut self.names);
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
            line.description = Some(d.to_string());
        }
        line.points += r.points;
        if r.points > Decimal::ZERO {
            line.days_billed += 1;
        }
    }

    /// Adds a line carried from an earlier fold of the same month and customers mapping
    /// (what [`Fold::each_line`] gave), before any newer day is added.
    pub(crate) fn add_carried(&mut self, customer: &str, r: RowRef<'_>, days_billed: u32) {
        let customer = self.customer(customer);
        let at = self.line(customer, r.serial_number, r.account_id);
        let (line, names) = (&mut self.lines[at], &mut self.names);
        line.config_id = r.config_id;
        if let Some(name) = r.config_name {
            intern(names, &mut line.config_name, name);
        }
        if let Some(product) = r.product_type {
            intern(names, &mut line.product_type, product);
        }
        line.description = r.description.map(str::to_string);
        line.points = r.points;
        line.days_billed = days_billed;
    }

    /// Every line so far with its customer id, for carrying the fold to a later run.
    pub(crate) fn each_line<'s>(&'s self, mut each: impl FnMut(&'s str, RowRef<'s>, u32)) {
        let mut ids = vec![""; self.customer_index.len()];
        for (id, &i) in &self.customer_index {
            ids[i as usize] = id;
        }
        let firsts = self.by_serial.iter().map(|(s, &(c, at))| (c, s, at));
        let moved = self.moved.iter().map(|((c, s), &at)| (*c, s, at));
        for (customer, serial, at) in firsts.chain(moved) {
            let l = &self.lines[at as usize];
            let row = RowRef {
                serial_number: serial,
                account_id: l.account_id,
                config_id: l.config_id,
                config_name: l.config_name.as_deref(),
                product_type: l.product_type.as_deref(),
                description: l.description.as_deref(),
                points: l.points,
            };
            each(ids[customer as usize], row, l.days_billed);
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

    /// The statement as of the Pacific day `today`, billed per `customers`.
    pub(crate) fn finish(
        self,
        customers: &Customers,
        today: NaiveDate,
        restate_days: u32,
    ) -> Statement {
        let month = self.month;
        let present: BTreeSet<NaiveDate> = self.sources.iter().map(|s| s.0).collect();
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
        let mut customer_ids = vec![String::new(); self.customer_index.len()];
        for (id, i) in self.customer_index {
            customer_ids[i as usize] = id;
        }
        let mut lines = self.lines;
        let mut owner = vec![0u32; lines.len()];
        let firsts = self.by_serial.into_iter().map(|(s, (c, at))| (c, s, at));
        let moved = self.moved.into_iter().map(|((c, s), at)| (c, s, at));
        for (customer, serial, at) in firsts.chain(moved) {
            lines[at as usize].serial_number = serial;
            owner[at as usize] = customer;
        }
        for (customer, mut group) in group::by_owner(lines, owner) {
            let id = &customer_ids[customer as usize];
            let c = by_customer.entry(id.clone()).or_insert_with(|| {
                let first = &group[0];
                let who = customers.billed(&first.serial_number, first.config_id, first.account_id);
                CustomerStatement {
                    id: id.clone(),
                    name: who.name.to_string(),
                    accounts: Vec::new(),
                    price_per_point: who.price_per_point,
                    points: Decimal::ZERO,
                    amount: who.price_per_point.map(|_| Decimal::ZERO),
                    lines: Vec::new(),
                }
            });
            for line in &mut group {
                line.amount = c.price_per_point.map(|p| money(line.points * p));
                c.points += line.points;
                c.amount = c.amount.zip(line.amount).map(|(a, b)| a + b);
                if !c.accounts.contains(&line.account_id) {
                    c.accounts.push(line.account_id);
                }
            }
            c.lines = group;
        }
        let mut statement_customers: Vec<CustomerStatement> = by_customer.into_values().collect();
        for c in &mut statement_customers {
            c.accounts.sort_unstable();
            // A customer's serials are unique, so the order is total: no stable sort's buffer.
            c.lines.sort_unstable_by(|a, b| {
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
        let mut sources = self.sources;
        sources.sort_by_key(|s| s.0);
        Statement {
            month,
            status,
            missing_days,
            sources,
            currency: customers.currency.clone(),
            issuer: customers.issuer.clone(),
            points,
            amount: (!priced.is_empty()).then(|| priced.iter().sum()),
            customers: statement_customers,
        }
    }
}
