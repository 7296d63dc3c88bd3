//! The customers file: which customer each row is billed to, and at what price. A row goes to
//! the customer naming its serial, else its config, else its account; a row nobody claims goes
//! to `unassigned`, never dropped. Validated whole before anything is built, with errors that
//! name the field (`customers[1].price_per_point`) or the rule and its line, so a typo never
//! reaches an invoice. Prices are a [`PriceBook`]: an old file's `price_per_point` fields,
//! and the rules and costs of its `prices` and `cost_per_point`.

use std::collections::HashMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::domain::ids::{AccountId, Serial};
use crate::domain::targets::{Billing, parse_bill_in};
use crate::error::{Error, Result};

mod book;
mod book_checks;
mod directory;
pub(crate) mod prices;

pub use directory::CustomerFrom;
pub(crate) use directory::customer_of;
pub(crate) use directory::{Directory, Listed, Unit};
pub(crate) use prices::PriceBook;

/// The customer of rows nobody claims.
pub(crate) const UNASSIGNED: &str = "unassigned";

/// A validated customers file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Customers {
    pub currency: Option<String>,
    pub issuer: Option<String>,
    pub customers: Vec<Customer>,
    by_serial: HashMap<String, usize>,
    by_config: HashMap<u64, usize>,
    by_account: HashMap<AccountId, usize>,
    /// The price of `unassigned` rows: the file's own price.
    default_price: Option<Decimal>,
    /// Every price and cost, old fields included.
    pub prices: PriceBook,
    /// The file uses the price book (`prices`, `cost_per_point` or a minimum charge):
    /// statements name each line's rule and show cost and margin. An old file's statements
    /// stay exactly as they were.
    pub book: bool,
    /// `"organizations": true`: accounts the file does not claim are named from FortiCloud's
    /// organization (`customer_from`).
    pub organizations: Option<CustomerFrom>,
    /// Where the file came from (a path or an object key), for errors found later.
    origin: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Customer {
    /// 1 to 64 of `[a-z0-9_-]`: it becomes part of object keys.
    pub id: String,
    pub name: String,
    pub accounts: Vec<AccountId>,
    pub configs: Vec<u64>,
    pub serials: Vec<String>,
    /// The customer's own price, else the file's; `None`: no amounts.
    pub price_per_point: Option<Decimal>,
    /// Where a final month is pushed (ConnectWise, Stripe, the webhook).
    pub billing: Billing,
    /// The least the customer's month is billed: a line lifts a smaller amount to it.
    pub minimum_monthly_charge: Option<Decimal>,
}

/// Who a row is billed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Billed<'a> {
    /// The customer's index in the file; `None`: `unassigned`.
    pub index: Option<usize>,
    pub id: &'a str,
    pub name: &'a str,
    pub price_per_point: Option<Decimal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile<'a> {
    currency: Option<String>,
    price_per_point: Option<Value>,
    issuer: Option<String>,
    bill_in: Option<Value>,
    customers: Vec<RawCustomer>,
    /// Kept as their text, so an error names the rule's line.
    #[serde(borrow, default)]
    prices: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default)]
    cost_per_point: Option<&'a RawValue>,
    organizations: Option<bool>,
    customer_from: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustomer {
    id: String,
    name: String,
    #[serde(default)]
    accounts: Vec<u64>,
    #[serde(default)]
    configs: Vec<u64>,
    #[serde(default)]
    serials: Vec<String>,
    price_per_point: Option<Value>,
    connectwise: Option<Value>,
    stripe: Option<Value>,
    webhook: Option<bool>,
    bill_in: Option<Value>,
    minimum_monthly_charge: Option<Value>,
}

impl Customers {
    /// Parses and validates a customers file; `origin` (a path or an object key) names it.
    pub(crate) fn parse(text: &str, origin: &str) -> Result<Self> {
        let bad = |msg: String| Error::Customers(format!("{origin}: {msg}"));
        let raw: RawFile = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let currency = match raw.currency {
            Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) => Some(c),
            Some(c) => {
                return Err(bad(format!(
                    "currency {c:?} is not a three-letter code like USD"
                )));
            }
            None => None,
        };
        let default_price = price(raw.price_per_point.as_ref(), "price_per_point").map_err(bad)?;
        let bill_in = parse_bill_in(raw.bill_in, "bill_in")
            .map_err(bad)?
            .unwrap_or_default();
        let mut file = Customers {
            currency,
            issuer: raw.issuer.filter(|i| !i.trim().is_empty()),
            customers: Vec::with_capacity(raw.customers.len()),
            by_serial: HashMap::new(),
            by_config: HashMap::new(),
            by_account: HashMap::new(),
            default_price,
            prices: PriceBook::default(),
            book: false,
            organizations: None,
            origin: origin.to_string(),
        };
        let from = match raw.customer_from.as_deref() {
            None => CustomerFrom::default(),
            Some(text) => CustomerFrom::parse(text).ok_or_else(|| {
                bad(format!(
                    "customer_from {text:?} is not \"company\" or \"unit\""
                ))
            })?,
        };
        file.organizations = raw.organizations.unwrap_or(false).then_some(from);
        let mut legacy = Vec::new();
        for (i, c) in raw.customers.into_iter().enumerate() {
            let field = |f: &str| format!("customers[{i}].{f}");
            if !valid_id(&c.id) || c.id == UNASSIGNED {
                return Err(bad(format!(
                    "{} {:?} must be 1 to 64 of a-z, 0-9, _ and - (and not {UNASSIGNED:?})",
                    field("id"),
                    c.id
                )));
            }
            if let Some(other) = file.customers.iter().find(|o| o.id == c.id) {
                return Err(bad(format!(
                    "{} {:?} is given twice",
                    field("id"),
                    other.id
                )));
            }
            if c.name.trim().is_empty() {
                return Err(bad(format!("{} is empty", field("name"))));
            }
            let own_price =
                price(c.price_per_point.as_ref(), &field("price_per_point")).map_err(bad)?;
            let serials = c
                .serials
                .iter()
                .map(|s| Serial::parse(s, &field("serials")).map(|s| s.to_string()))
                .collect::<Result<Vec<_>>>()
                .map_err(|e| bad(e.to_string()))?;
            let billing = Billing::parse(
                c.connectwise,
                c.stripe,
                c.webhook,
                parse_bill_in(c.bill_in, &field("bill_in"))
                    .map_err(bad)?
                    .unwrap_or(bill_in),
                &format!("customers[{i}]"),
            )
            .map_err(bad)?;
            let minimum = price(
                c.minimum_monthly_charge.as_ref(),
                &field("minimum_monthly_charge"),
            )
            .map_err(bad)?;
            let accounts: Vec<AccountId> = c.accounts.into_iter().map(AccountId).collect();
            let index = file.customers.len();
            if let Some(p) = own_price {
                legacy.push(book::legacy(Some(index), &c.id, p));
            }
            let claim = |what: &str, taken: Option<&usize>| match taken {
                Some(&o) => Err(bad(format!(
                    "{what} is claimed by both {:?} and {:?}",
                    file.customers[o].id, c.id
                ))),
                None => Ok(()),
            };
            for s in &serials {
                claim(&format!("serial {s}"), file.by_serial.get(s))?;
            }
            for k in &c.configs {
                claim(&format!("config {k}"), file.by_config.get(k))?;
            }
            for a in &accounts {
                claim(&format!("account {a}"), file.by_account.get(a))?;
            }
            file.by_serial
                .extend(serials.iter().map(|s| (s.clone(), index)));
            file.by_config.extend(c.configs.iter().map(|k| (*k, index)));
            file.by_account.extend(accounts.iter().map(|a| (*a, index)));
            file.customers.push(Customer {
                id: c.id,
                name: c.name,
                accounts,
                configs: c.configs,
                serials,
                price_per_point: own_price.or(default_price),
                billing,
                minimum_monthly_charge: minimum,
            });
        }
        if let Some(p) = default_price {
            legacy.push(book::legacy(None, "", p));
        }
        let ids: Vec<&str> = file.customers.iter().map(|c| c.id.as_str()).collect();
        let (rules, costs) =
            book::parse(text, raw.prices, raw.cost_per_point, &ids).map_err(bad)?;
        file.book = !rules.is_empty()
            || !costs.is_empty()
            || file
                .customers
                .iter()
                .any(|c| c.minimum_monthly_charge.is_some());
        let listed = !rules.is_empty();
        legacy.extend(rules);
        file.prices = PriceBook::new(legacy, costs);
        if listed {
            book_checks::check(&file.prices, &ids).map_err(bad)?;
        } else {
            book_checks::overlaps(&file.prices).map_err(bad)?;
        }
        Ok(file)
    }

    /// Without a file: one customer per account, named and identified by the account id,
    /// with no price.
    pub(crate) fn per_account(accounts: &[AccountId]) -> Self {
        let customers: Vec<Customer> = accounts
            .iter()
            .map(|a| Customer {
                id: a.to_string(),
                name: a.to_string(),
                accounts: vec![*a],
                configs: vec![],
                serials: vec![],
                price_per_point: None,
                billing: Billing::default(),
                minimum_monthly_charge: None,
            })
            .collect();
        Customers {
            currency: None,
            issuer: None,
            by_serial: HashMap::new(),
            by_config: HashMap::new(),
            by_account: accounts.iter().enumerate().map(|(i, a)| (*a, i)).collect(),
            customers,
            default_price: None,
            prices: PriceBook::default(),
            book: false,
            organizations: None,
            origin: String::new(),
        }
    }

    /// The customer a row is billed to: by serial, else config, else account, else
    /// `unassigned` (at the file's price).
    pub(crate) fn billed(
        &self,
        serial: &str,
        config: Option<u64>,
        account: AccountId,
    ) -> Billed<'_> {
        let index = self
            .by_serial
            .get(serial)
            .or_else(|| config.and_then(|c| self.by_config.get(&c)))
            .or_else(|| self.by_account.get(&account));
        match index.map(|&i| (i, &self.customers[i])) {
            Some((i, c)) => Billed {
                index: Some(i),
                id: &c.id,
                name: &c.name,
                price_per_point: c.price_per_point,
            },
            None => Billed {
                index: None,
                id: UNASSIGNED,
                name: "Unassigned",
                price_per_point: self.default_price,
            },
        }
    }
}

impl Customers {
    /// Which customer each serial, config and account goes to, as one SHA-256: what a
    /// day's per-customer totals and a carried statement fold depend on (names, prices and
    /// billing targets do not change them).
    pub(crate) fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut claims: Vec<String> = Vec::new();
        let id = |i: &usize| self.customers[*i].id.as_str();
        claims.extend(
            self.by_serial
                .iter()
                .map(|(s, i)| format!("serial\t{s}\t{}", id(i))),
        );
        claims.extend(
            self.by_config
                .iter()
                .map(|(c, i)| format!("config\t{c}\t{}", id(i))),
        );
        claims.extend(
            self.by_account
                .iter()
                .map(|(a, i)| format!("account\t{a}\t{}", id(i))),
        );
        claims.sort_unstable();
        let mut h = Sha256::new();
        for c in &claims {
            h.update(c.as_bytes());
            h.update(b"\n");
        }
        format!("{:x}", h.finalize())
    }

    /// Whether any row can have a price (the file's, or a customer's own).
    pub(crate) fn priced(&self) -> bool {
        !self.prices.rules.is_empty()
    }

    /// Refuses a price book whose rules name a configuration not in `configs` or a product
    /// type no configuration has (`product_types`) and FortiFlex does not know, naming the
    /// rule and its line: what a run checks once it knows the programs' configurations.
    pub(crate) fn check_catalog(
        &self,
        configs: &std::collections::BTreeSet<u64>,
        product_types: &std::collections::BTreeSet<&str>,
    ) -> Result<()> {
        book_checks::catalog(&self.prices, configs, product_types)
            .map_err(|msg| Error::Customers(format!("{}: {msg}", self.origin)))
    }

    /// Whether a customer the file does not name has a price: the file's own, or a rule of
    /// its price book for every customer.
    pub(crate) fn default_priced(&self) -> bool {
        self.default_price.is_some() || self.prices.rules.iter().any(|r| r.customer.is_none())
    }

    /// Whether the file names a customer for `account` (the organization's do not count).
    pub(crate) fn claims_account(&self, account: AccountId) -> bool {
        self.by_account.contains_key(&account)
    }

    /// The billing settings of customer `id` (none for `unassigned` or an unknown id).
    pub(crate) fn billing(&self, id: &str) -> Option<&Billing> {
        self.customers
            .iter()
            .find(|c| c.id == id)
            .map(|c| &c.billing)
    }
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A price: a decimal string (or number) of zero or more, exact.
pub(super) fn price(
    v: Option<&Value>,
    field: &str,
) -> std::result::Result<Option<Decimal>, String> {
    let text = match v {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => return Err(format!("{field} must be a decimal string, not {other}")),
    };
    match Decimal::from_str_exact(&text).or_else(|_| Decimal::from_str(&text)) {
        Ok(d) if !d.is_sign_negative() => Ok(Some(d)),
        _ => Err(format!(
            "{field} {text:?} is not a price (a decimal of zero or more)"
        )),
    }
}

#[cfg(test)]
pub(crate) mod book_tests;
#[cfg(test)]
mod tests;
