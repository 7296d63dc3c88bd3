//! Customers from FortiCloud's organization: each account listed under the organization or
//! one of its units, with its company name, becomes a customer unless the customers file
//! already claims it (the file's entries override and extend the organization). Pure: the
//! pipeline lists the organization and keeps the listing (`organizations/accounts.json`).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{Customer, Customers};
use crate::domain::ids::AccountId;
use crate::domain::targets::Billing;

/// What an account's customer is named after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerFrom {
    /// One customer per account, named by its company; id: the account id.
    #[default]
    Company,
    /// One customer per organization unit (every account under it), named by the unit; id
    /// `ou-<unit id>`. An account directly under the organization is its own customer.
    Unit,
}

impl CustomerFrom {
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "company" => Some(CustomerFrom::Company),
            "unit" => Some(CustomerFrom::Unit),
            _ => None,
        }
    }
}

/// One account as the organization lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Listed {
    pub(crate) account: AccountId,
    pub(crate) company: Option<String>,
    /// The unit it sits in; `None`: directly under the organization.
    pub(crate) unit: Option<u64>,
}

/// An organization unit: its id and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Unit {
    pub(crate) id: u64,
    pub(crate) name: Option<String>,
}

/// The organization's units and accounts, as one run listed them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Directory {
    pub(crate) org_id: Option<u64>,
    pub(crate) units: Vec<Unit>,
    /// Sorted by account, each once.
    pub(crate) accounts: Vec<Listed>,
}

impl Directory {
    /// The accounts listed here that `before` did not list.
    pub(crate) fn new_since(&self, before: Option<&Directory>) -> Vec<&Listed> {
        let known: BTreeSet<AccountId> = before
            .map(|b| b.accounts.iter().map(|a| a.account).collect())
            .unwrap_or_default();
        self.accounts
            .iter()
            .filter(|a| !known.contains(&a.account))
            .collect()
    }

    fn unit_name(&self, id: u64) -> String {
        self.units
            .iter()
            .find(|u| u.id == id)
            .and_then(|u| u.name.clone())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("unit {id}"))
    }
}

/// The customer id and name `listed` is billed to when the file does not claim it.
pub(crate) fn customer_of(
    dir: &Directory,
    listed: &Listed,
    from: CustomerFrom,
) -> (String, String) {
    match (from, listed.unit) {
        (CustomerFrom::Unit, Some(unit)) => (format!("ou-{unit}"), dir.unit_name(unit)),
        _ => (
            listed.account.to_string(),
            listed
                .company
                .clone()
                .filter(|c| !c.trim().is_empty())
                .unwrap_or_else(|| listed.account.to_string()),
        ),
    }
}

impl Customers {
    /// The file's customers (`file`; `None`: none) and, for every account of `dir` the file
    /// does not claim, a customer named from the organization, at the file's default price.
    pub(crate) fn with_directory(
        file: Option<Customers>,
        dir: &Directory,
        from: CustomerFrom,
    ) -> Self {
        let mut c = file.unwrap_or_else(|| Customers::per_account(&[]));
        let mut added: BTreeMap<String, Customer> = BTreeMap::new();
        for listed in &dir.accounts {
            if c.by_account.contains_key(&listed.account) {
                continue;
            }
            let (id, name) = customer_of(dir, listed, from);
            if c.customers.iter().any(|o| o.id == id) {
                // A file customer with that id already: the organization does not rename it.
                continue;
            }
            let customer = added.entry(id.clone()).or_insert_with(|| Customer {
                id,
                name,
                accounts: Vec::new(),
                configs: Vec::new(),
                serials: Vec::new(),
                price_per_point: c.default_price,
                billing: Billing::default(),
                minimum_monthly_charge: None,
            });
            customer.accounts.push(listed.account);
        }
        for customer in added.into_values() {
            let index = c.customers.len();
            c.by_account
                .extend(customer.accounts.iter().map(|a| (*a, index)));
            c.customers.push(customer);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> Directory {
        let listed = |account, company: &str, unit| Listed {
            account: AccountId(account),
            company: Some(company.to_string()),
            unit,
        };
        Directory {
            org_id: Some(1000),
            units: vec![
                Unit {
                    id: 1001,
                    name: Some("Customers West".into()),
                },
                Unit {
                    id: 1002,
                    name: None,
                },
            ],
            accounts: vec![
                listed(2321234, "Example MSSP Ltd", None),
                listed(3300001, "Acme Corp", Some(1001)),
                listed(3300005, "Initech", Some(1001)),
                listed(3300002, "", Some(1002)),
            ],
        }
    }

    fn named(c: &Customers, account: u64) -> (&str, &str) {
        let b = c.billed("S", None, AccountId(account));
        (b.id, b.name)
    }

    #[test]
    fn per_company_each_account_is_a_customer_and_the_file_wins() {
        let file = Customers::parse(
            r#"{"price_per_point": "0.50", "customers": [{"id": "acme", "name": "ACME", "accounts": [3300001]}]}"#,
            "c.json",
        )
        .unwrap();
        let c = Customers::with_directory(Some(file), &directory(), CustomerFrom::Company);
        assert_eq!(named(&c, 3300001), ("acme", "ACME"));
        assert_eq!(named(&c, 3300005), ("3300005", "Initech"));
        // No company name: the account id names it.
        assert_eq!(named(&c, 3300002), ("3300002", "3300002"));
        assert_eq!(named(&c, 9), ("unassigned", "Unassigned"));
        // The organization's customers pay the file's price.
        assert_eq!(
            c.billed("S", None, AccountId(3300005)).price_per_point,
            Some("0.50".parse().unwrap())
        );
    }

    #[test]
    fn per_unit_a_units_accounts_are_one_customer() {
        let c = Customers::with_directory(None, &directory(), CustomerFrom::Unit);
        assert_eq!(named(&c, 3300001), ("ou-1001", "Customers West"));
        assert_eq!(named(&c, 3300005), ("ou-1001", "Customers West"));
        assert_eq!(named(&c, 3300002), ("ou-1002", "unit 1002"));
        // Directly under the organization: its own customer, by company.
        assert_eq!(named(&c, 2321234), ("2321234", "Example MSSP Ltd"));
        let west = c.customers.iter().find(|x| x.id == "ou-1001").unwrap();
        assert_eq!(west.accounts, [AccountId(3300001), AccountId(3300005)]);
    }

    #[test]
    fn new_accounts_are_the_ones_the_last_listing_did_not_have() {
        let now = directory();
        let mut before = directory();
        before.accounts.retain(|a| a.account != AccountId(3300005));
        let new: Vec<AccountId> = now
            .new_since(Some(&before))
            .iter()
            .map(|a| a.account)
            .collect();
        assert_eq!(new, [AccountId(3300005)]);
        assert_eq!(now.new_since(None).len(), 4);
        assert_eq!(CustomerFrom::parse("unit"), Some(CustomerFrom::Unit));
        assert_eq!(CustomerFrom::parse("ou"), None);
    }
}
