//! FortiCloud's organization, listed once a run when customers are named from it: its
//! units (`organization/v1/units/list`), then the accounts under the organization and under
//! each unit (`iam/v1/accounts/list`), kept as `organizations/accounts.json`. Paced with
//! FortiFlex's calls and planned in the same budget (whether FortiCloud counts them there
//! is unknown: assumed). A listing that fails (no permission, an outage) never fails the
//! run: the last listing kept stands, else the customers file alone, and the log says so;
//! a customer's lines never move to `unassigned` because one listing failed.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::adapters::fortiflex::FortiFlexApi;
use crate::adapters::storage::Sink;
use crate::contract::keys;
use crate::domain::alerts::{Alert, Kind};
use crate::domain::customers::{CustomerFrom, Customers, Directory, Listed, Unit, customer_of};
use crate::domain::ids::AccountId;
use crate::error::Result;
use crate::pipeline::archive::record;
use crate::pipeline::request::{Context, Request};

/// `organizations/accounts.json`: the listing and the Pacific day it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stored {
    pub listed_on: NaiveDate,
    pub org_id: Option<u64>,
    pub units: Vec<Unit>,
    pub accounts: Vec<Listed>,
}

/// The calls a listing makes: the units, the organization's accounts and each unit's
/// (as many units as the last listing had).
pub(crate) fn calls(last: Option<&Directory>) -> u64 {
    2 + last.map_or(0, |d| d.units.len() as u64)
}

/// The calls a run of `request` plans for listing the organization: none unless the
/// customers file (read leniently here: the finish reports a bad one) or the setting asks.
pub(crate) async fn planned(sink: &impl Sink, request: &Request, ctx: &Context) -> u64 {
    if request.dry_run || !(request.statements || request.watch.is_some()) {
        return 0;
    }
    let file = crate::pipeline::statements::customers_file(sink)
        .await
        .ok()
        .flatten();
    if asked(file.as_ref(), ctx.organizations).is_none() {
        return 0;
    }
    calls(stored(sink).await.ok().flatten().as_ref())
}

/// The listing kept by the last run that listed the organization.
pub(crate) async fn stored(sink: &impl Sink) -> Result<Option<Directory>> {
    let kept: Option<Stored> = record::get(sink, keys::ORGANIZATION, record::MOVE_ASIDE).await?;
    Ok(kept.map(|s| Directory {
        org_id: s.org_id,
        units: s.units,
        accounts: s.accounts,
    }))
}

/// The organization as FortiCloud lists it now.
pub(crate) async fn list(api: &impl FortiFlexApi) -> Result<Directory> {
    let units = api.organization_units().await?;
    let mut parents: Vec<u64> = units.org_id.into_iter().collect();
    parents.extend(units.org_units.iter().map(|u| u.id));
    let unit_ids: Vec<u64> = units.org_units.iter().map(|u| u.id).collect();
    let mut accounts: BTreeMap<AccountId, Listed> = BTreeMap::new();
    for parent in parents {
        for a in api.organization_accounts(parent).await? {
            let unit = a.parent_id.unwrap_or(parent);
            accounts.entry(a.account()).or_insert(Listed {
                account: a.account(),
                company: a.company.filter(|c| !c.trim().is_empty()),
                unit: unit_ids.contains(&unit).then_some(unit),
            });
        }
    }
    Ok(Directory {
        org_id: units.org_id,
        units: units
            .org_units
            .into_iter()
            .map(|u| Unit {
                id: u.id,
                name: u.name,
            })
            .collect(),
        accounts: accounts.into_values().collect(),
    })
}

/// What [`refresh`] found: the listing in force and the accounts listed for the first time.
#[derive(Debug, Default)]
struct Refreshed {
    /// The new listing, else the last one kept.
    directory: Option<Directory>,
    new: Vec<Listed>,
    /// Why the organization could not be listed, when it could not.
    unavailable: Option<String>,
}

impl Refreshed {
    /// What the run says of the listing.
    fn said(&self) -> String {
        let accounts = self.directory.as_ref().map_or(0, |d| d.accounts.len());
        match &self.unavailable {
            None => format!("listed: {accounts} account(s), {} new", self.new.len()),
            Some(why) => format!(
                "unavailable ({why}): customers named by the customers file and the last listing kept ({accounts} account(s))"
            ),
        }
    }
}

/// Lists the organization and keeps the listing (on `today`), telling which accounts are
/// new since the last one. A failure is reported, never raised.
async fn refresh(api: &impl FortiFlexApi, sink: &impl Sink, today: NaiveDate) -> Result<Refreshed> {
    let last = stored(sink).await?;
    let listed = match list(api).await {
        Ok(d) => d,
        Err(e) => {
            let why = e.to_string();
            tracing::warn!(error = %why, kept = last.is_some(), "FortiCloud's organization could not be listed: customers are named by the customers file and the last listing kept");
            return Ok(Refreshed {
                directory: last,
                new: Vec::new(),
                unavailable: Some(why),
            });
        }
    };
    let new: Vec<Listed> = listed
        .new_since(last.as_ref())
        .into_iter()
        .cloned()
        .collect();
    tracing::info!(
        accounts = listed.accounts.len(),
        units = listed.units.len(),
        new = new.len(),
        "organization listed"
    );
    if last.as_ref() != Some(&listed) {
        let kept = Stored {
            listed_on: today,
            org_id: listed.org_id,
            units: listed.units.clone(),
            accounts: listed.accounts.clone(),
        };
        record::put(sink, keys::ORGANIZATION, &kept).await?;
    }
    Ok(Refreshed {
        directory: Some(listed),
        new,
        unavailable: None,
    })
}

/// The customers a run bills by, the `new_customer` alerts of its listing and what it says
/// of the listing (`None`: not asked).
pub(crate) struct Named {
    pub customers: Option<Customers>,
    pub newcomers: Vec<Alert>,
    pub said: Option<String>,
}

/// The customers file `file` for a run: when it (or the setting) asks, the organization is
/// listed now (a failed listing leaves the last one kept) and applied, and its new accounts
/// told.
pub(crate) async fn for_run(
    api: &impl FortiFlexApi,
    sink: &impl Sink,
    file: Option<Customers>,
    ctx: &Context,
) -> Result<Named> {
    let Some(from) = asked(file.as_ref(), ctx.organizations) else {
        return Ok(Named {
            customers: file,
            newcomers: Vec::new(),
            said: None,
        });
    };
    let found = refresh(
        api,
        sink,
        crate::domain::window::today(ctx.now, ctx.timezone),
    )
    .await?;
    let newcomers = match &found.directory {
        Some(dir) => alerts(&found.new, dir, file.as_ref(), from),
        None => Vec::new(),
    };
    Ok(Named {
        customers: apply(file, found.directory.as_ref(), ctx.organizations),
        newcomers,
        said: Some(found.said()),
    })
}

/// The customers file `file` with the kept listing applied when the file (or `setting`)
/// names customers from the organization.
pub(crate) async fn named(
    sink: &impl Sink,
    file: Option<Customers>,
    setting: Option<CustomerFrom>,
) -> Result<Option<Customers>> {
    if asked(file.as_ref(), setting).is_none() {
        return Ok(file);
    }
    let dir = stored(sink).await?;
    Ok(apply(file, dir.as_ref(), setting))
}

/// How customers are named from the organization, when the file or the setting asks.
fn asked(file: Option<&Customers>, setting: Option<CustomerFrom>) -> Option<CustomerFrom> {
    file.and_then(|f| f.organizations).or(setting)
}

/// [`named`] with the listing in hand.
fn apply(
    file: Option<Customers>,
    dir: Option<&Directory>,
    setting: Option<CustomerFrom>,
) -> Option<Customers> {
    match (asked(file.as_ref(), setting), dir) {
        (Some(from), Some(dir)) => Some(Customers::with_directory(file, dir, from)),
        _ => file,
    }
}

/// A `new_customer` alert for each new account the customers file does not claim: it will
/// be billed as the organization names it, at the default price.
fn alerts(
    new: &[Listed],
    dir: &Directory,
    file: Option<&Customers>,
    from: CustomerFrom,
) -> Vec<Alert> {
    new.iter()
        .filter(|l| file.is_none_or(|f| !f.claims_account(l.account)))
        .map(|l| {
            let (id, name) = customer_of(dir, l, from);
            let company = l.company.as_deref().unwrap_or("no company name");
            let price = match file.is_some_and(Customers::default_priced) {
                true => "at the default price",
                false => "with no price",
            };
            let whom = match id == l.account.to_string() {
                true => "as its own customer".to_string(),
                false => format!("to {name:?} ({id})"),
            };
            Alert {
                kind: Kind::NewCustomer,
                serial_number: None,
                account_id: Some(l.account),
                customer_id: Some(id),
                points: None,
                baseline: None,
                message: format!(
                    "{} '{company}' will be billed {whom} {price}: add it to the customers file to bill it otherwise",
                    l.account
                ),
            }
        })
        .collect()
}
