//! [`Fold::finish`]: the folded lines become the month's statement: per customer, priced by
//! their rules, costed, sorted, lifted to a minimum charge, totalled.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;

use super::super::{
    CustomerStatement, Line, MINIMUM_RULE, RuleNote, Statement, Status, group, money,
};
use super::Fold;
use crate::domain::customers::Customers;
use crate::domain::ids::AccountId;

impl Fold {
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

        let book = &customers.prices;
        let costed = !book.costs.is_empty();
        let mut rules: Vec<RuleNote> = book
            .rules
            .iter()
            .map(|r| RuleNote {
                id: r.id.clone(),
                price_per_point: Some(r.price_per_point),
            })
            .collect();
        let empty = |id: &str, name: &str, price_per_point: Option<Decimal>| CustomerStatement {
            id: id.to_string(),
            name: name.to_string(),
            accounts: Vec::new(),
            // With a book a customer's price is its lines' (one price, else none).
            price_per_point: price_per_point.filter(|_| !customers.book),
            points: Decimal::ZERO,
            amount: (price_per_point.is_some() || customers.book).then_some(Decimal::ZERO),
            cost: costed.then_some(Decimal::ZERO),
            entitlements: 0,
            lines: Vec::new(),
        };
        let mut by_customer: BTreeMap<String, CustomerStatement> = customers
            .customers
            .iter()
            .map(|c| (c.id.clone(), empty(&c.id, &c.name, c.price_per_point)))
            .collect();
        let mut customer_ids = vec![String::new(); self.customer_index.len()];
        for (id, i) in self.customer_index {
            customer_ids[i as usize] = id;
        }
        for (customer, mut group) in group::by_owner(self.lines, self.owners) {
            let id = &customer_ids[customer as usize];
            let c = by_customer.entry(id.clone()).or_insert_with(|| {
                let first = &group[0];
                let who = customers.billed(&first.serial_number, first.config_id, first.account_id);
                empty(id, who.name, who.price_per_point)
            });
            for line in &mut group {
                let price = line.rule.map(|r| book.rules[r as usize].price_per_point);
                line.amount = price.map(|p| money(line.points * p));
                line.cost = line.cost.map(money);
                c.points += line.points;
                if let Some(a) = line.amount {
                    c.amount = Some(c.amount.unwrap_or_default() + a);
                }
                c.cost = c.cost.zip(line.cost).map(|(a, b)| a + b);
                if !c.accounts.contains(&line.account_id) {
                    c.accounts.push(line.account_id);
                }
            }
            c.lines = group;
        }
        let mut statement_customers: Vec<CustomerStatement> = by_customer.into_values().collect();
        let minimums: BTreeMap<&str, Decimal> = customers
            .customers
            .iter()
            .filter_map(|c| Some((c.id.as_str(), c.minimum_monthly_charge?)))
            .collect();
        for c in &mut statement_customers {
            c.accounts.sort_unstable();
            // A customer's lines are unique by serial and rule, so the order is total: no
            // stable sort's buffer.
            c.lines.sort_unstable_by(|a, b| {
                b.points
                    .cmp(&a.points)
                    .then_with(|| a.serial_number.cmp(&b.serial_number))
                    .then_with(|| a.days.cmp(&b.days))
                    .then_with(|| a.rule.cmp(&b.rule))
            });
            c.entitlements = match customers.book {
                false => c.lines.len(),
                true => {
                    let mut serials: Vec<&str> =
                        c.lines.iter().map(|l| &*l.serial_number).collect();
                    serials.sort_unstable();
                    serials.dedup();
                    serials.len()
                }
            };
            if customers.book {
                let mut prices = c
                    .lines
                    .iter()
                    .map(|l| l.rule.map(|r| rules[r as usize].price_per_point));
                c.price_per_point = match prices.next() {
                    Some(Some(first)) if prices.all(|p| p == Some(first)) => first,
                    _ => None,
                };
            }
            let minimum = minimums.get(c.id.as_str()).copied();
            if let Some((minimum, amount)) = minimum.zip(c.amount)
                && amount < minimum
            {
                if rules.last().is_none_or(|r| r.id != MINIMUM_RULE) {
                    rules.push(RuleNote {
                        id: MINIMUM_RULE.to_string(),
                        price_per_point: None,
                    });
                }
                let own = customers
                    .customers
                    .iter()
                    .find(|f| f.id == c.id)
                    .map_or(&[][..], |f| f.accounts.as_slice());
                c.lines.push(minimum_line(
                    c,
                    own,
                    minimum - amount,
                    rules.len() as u32 - 1,
                    costed,
                ));
                c.amount = Some(minimum);
            }
        }
        let points = statement_customers.iter().map(|c| c.points).sum();
        let priced: Vec<Decimal> = statement_customers
            .iter()
            .filter_map(|c| c.amount)
            .collect();
        let cost = statement_customers
            .iter()
            .try_fold(Decimal::ZERO, |sum, c| Some(sum + c.cost?))
            .filter(|_| costed);
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
            cost,
            customers: statement_customers,
            rules,
            book: customers.book,
        }
    }
}

/// The line that lifts customer `c` to its minimum monthly charge: `top_up` more, no points.
fn minimum_line(
    c: &CustomerStatement,
    own: &[AccountId],
    top_up: Decimal,
    rule: u32,
    costed: bool,
) -> Line {
    Line {
        // The customer's first account (its file's, when it consumed nothing).
        account_id: c
            .accounts
            .first()
            .or(own.first())
            .copied()
            .unwrap_or(AccountId(0)),
        serial_number: Box::default(),
        config_id: None,
        config_name: None,
        product_type: None,
        description: Some("Minimum monthly charge".into()),
        days_billed: 0,
        points: Decimal::ZERO,
        amount: Some(top_up),
        rule: Some(rule),
        cost: costed.then_some(Decimal::ZERO),
        days: (0, 0),
    }
}
