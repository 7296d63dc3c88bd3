//! What a final month puts into a partner's billing system, pure: each customer's billing
//! settings (from the customers file), the quantities each target takes from a statement
//! ([`charges`]), and what the push ledger says is still to send ([`ledger::decide`]).
//! Quantities stay exact decimals; a value a target cannot take exactly is refused, never
//! rounded.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::domain::statement::{MINIMUM_RULE, Month, Status};
pub use crate::domain::targets::Target;
pub(crate) use crate::domain::targets::{Billing, StripeBilling, StripeUnit};

pub(crate) mod ledger;
pub(crate) mod period;
pub(crate) mod plan;
pub mod reconcile;
#[cfg(test)]
mod tests;

/// A stored statement as a push reads it back: totals per customer and product type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatementTotals {
    pub month: Month,
    pub status: Status,
    pub currency: Option<String>,
    pub customers: Vec<CustomerTotals>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CustomerTotals {
    pub id: String,
    pub name: String,
    pub price_per_point: Option<Decimal>,
    pub points: Decimal,
    pub amount: Option<Decimal>,
    /// Points, amounts and costs per product type (`None`: FortiFlex did not know the
    /// serial) and price rule, each the sum of the statement's lines of that type and rule.
    pub products: BTreeMap<Priced, Sum>,
}

/// A product type priced by one rule of the price book (`rule` is `None` without a book).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Priced {
    pub product_type: Option<String>,
    pub rule: Option<String>,
}

/// The sum of some statement lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sum {
    pub points: Decimal,
    /// `None` when a line has none.
    pub amount: Option<Decimal>,
    pub cost: Option<Decimal>,
    /// The rule's price per point (`None` without a book, or for the minimum charge).
    pub price_per_point: Option<Decimal>,
}

impl Sum {
    pub(crate) fn new(price_per_point: Option<Decimal>) -> Self {
        Sum {
            points: Decimal::ZERO,
            amount: Some(Decimal::ZERO),
            cost: Some(Decimal::ZERO),
            price_per_point,
        }
    }

    pub(crate) fn add(&mut self, points: Decimal, amount: Option<Decimal>, cost: Option<Decimal>) {
        self.points += points;
        self.amount = self.amount.zip(amount).map(|(a, b)| a + b);
        self.cost = self.cost.zip(cost).map(|(a, b)| a + b);
    }
}

/// What one target should hold for one customer (and product) for the month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Charge {
    pub target: Target,
    pub customer_id: String,
    pub customer_name: String,
    /// The ledger's name for it: the customer id, `_product-<ID>` after it for ConnectWise.
    pub item: String,
    /// ConnectWise's agreement and product.
    pub agreement: Option<(u64, u64)>,
    /// Points, exact: the sum of the statement lines it covers.
    pub points: Decimal,
    pub unit_price: Option<Decimal>,
    /// What a unit costs the partner (ConnectWise's `unitCost`): the lines' cost over
    /// their points, to six places; `None` without a cost.
    pub unit_cost: Option<Decimal>,
    /// The sum of the statement lines' amounts it covers.
    pub amount: Option<Decimal>,
    /// The number the target receives: ConnectWise's quantity (points), Stripe's value
    /// (cents or whole points), the webhook's quantity (points).
    pub value: Decimal,
    pub stripe: Option<StripeBilling>,
    /// The billing period a first push bills in (the customer's `bill_in`).
    pub period: Month,
}

/// A customer and target the month cannot be pushed to, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub target: Target,
    pub customer_id: String,
    pub message: String,
}

/// The charges of `statement` for the customers whose billing names a target in `only`
/// (all targets when empty); `billing(id)` is a customer's settings. What a target cannot
/// take exactly is a [`Refusal`] for that customer and target, never a rounded charge.
pub(crate) fn charges<'a>(
    statement: &StatementTotals,
    billing: impl Fn(&str) -> Option<&'a Billing>,
    only: &[Target],
) -> (Vec<Charge>, Vec<Refusal>) {
    let mut charges = Vec::new();
    let mut refused = Vec::new();
    for c in &statement.customers {
        let Some(b) = billing(&c.id) else { continue };
        for target in b.targets().filter(|t| only.is_empty() || only.contains(t)) {
            let refuse = |message: String| Refusal {
                target,
                customer_id: c.id.clone(),
                message,
            };
            let base = Charge {
                target,
                customer_id: c.id.clone(),
                customer_name: c.name.clone(),
                item: c.id.clone(),
                agreement: None,
                points: c.points,
                unit_price: c.price_per_point,
                unit_cost: None,
                amount: c.amount,
                value: c.points,
                stripe: None,
                period: period::billing_period(b.bill_in, statement.month),
            };
            match target {
                Target::ConnectWise => {
                    let Some(cw) = b.connectwise.as_ref() else {
                        continue;
                    };
                    let book = c.products.keys().any(|p| p.rule.is_some());
                    if c.price_per_point.is_none() && !book {
                        refused.push(refuse(
                            "ConnectWise needs a unit price: the customer has no price_per_point"
                                .into(),
                        ));
                        continue;
                    }
                    // One addition per product (and, with a price book, per rule: one unit
                    // price each): product types mapped to the same product add up.
                    let mut per_product: BTreeMap<(u64, Option<&str>), Sum> = BTreeMap::new();
                    for (key, sum) in &c.products {
                        let product = key
                            .product_type
                            .as_ref()
                            .and_then(|t| cw.products.get(t))
                            .copied()
                            .unwrap_or(cw.product_id);
                        per_product
                            .entry((product, key.rule.as_deref()))
                            .or_insert_with(|| Sum::new(sum.price_per_point))
                            .add(sum.points, sum.amount, sum.cost);
                    }
                    if per_product.is_empty() {
                        per_product.insert((cw.product_id, None), Sum::new(None));
                    }
                    let mut priced = Vec::new();
                    for ((product, rule), sum) in per_product {
                        let item = match rule {
                            None => format!("{}_product-{product}", c.id),
                            // Rule ids are key-safe; an old price's (`acme.price_per_point`)
                            // has a dot.
                            Some(rule) => {
                                format!("{}_product-{product}_{}", c.id, rule.replace('.', "-"))
                            }
                        };
                        let unit_cost = sum
                            .cost
                            .filter(|_| !sum.points.is_zero())
                            .map(|cost| (cost / sum.points).round_dp(6).normalize());
                        let charge = Charge {
                            item,
                            agreement: Some((cw.agreement_id, product)),
                            points: sum.points,
                            amount: sum.amount,
                            value: sum.points,
                            unit_cost,
                            ..base.clone()
                        };
                        priced.push(match (rule, sum.price_per_point) {
                            (None, _) => Ok(charge),
                            (Some(_), Some(p)) => Ok(Charge {
                                unit_price: Some(p),
                                ..charge
                            }),
                            // The minimum charge's line: one unit at the amount it adds.
                            (Some(MINIMUM_RULE), None) => Ok(Charge {
                                unit_price: sum.amount,
                                value: Decimal::ONE,
                                unit_cost: Some(Decimal::ZERO),
                                ..charge
                            }),
                            (Some(rule), None) => Err(format!(
                                "ConnectWise needs a unit price: the lines of rule {rule:?} have none"
                            )),
                        });
                    }
                    match priced.into_iter().collect::<Result<Vec<_>, _>>() {
                        Ok(all) => charges.extend(all),
                        Err(why) => refused.push(refuse(why)),
                    }
                }
                Target::Stripe => {
                    let Some(s) = b.stripe.as_ref() else { continue };
                    let value = match s.unit {
                        StripeUnit::Cents => {
                            match c.amount {
                                Some(a) => (a * Decimal::ONE_HUNDRED).normalize(),
                                None => {
                                    refused.push(refuse("Stripe's unit is cents: the customer has no price_per_point".into()));
                                    continue;
                                }
                            }
                        }
                        StripeUnit::Points => {
                            // Points carry no minimum charge: Stripe would bill the points alone.
                            let minimum = c
                                .products
                                .iter()
                                .find(|(k, _)| k.rule.as_deref() == Some(MINIMUM_RULE));
                            if let Some((_, m)) = minimum {
                                refused.push(refuse(format!(
                                    "Stripe's unit is points, which cannot carry the minimum monthly charge of {}: use \"unit\": \"cents\"",
                                    m.amount.map(crate::domain::money::display2).unwrap_or_default()
                                )));
                                continue;
                            }
                            c.points.normalize()
                        }
                    };
                    if !value.fract().is_zero() {
                        refused.push(refuse(format!(
                            "Stripe meter values are whole numbers: {} {} cannot be sent exactly (use \"unit\": \"cents\")",
                            crate::domain::money::points_text(value),
                            "points"
                        )));
                        continue;
                    }
                    charges.push(Charge {
                        value,
                        stripe: Some(s.clone()),
                        ..base
                    });
                }
                Target::Webhook => charges.push(base),
            }
        }
    }
    (charges, refused)
}
