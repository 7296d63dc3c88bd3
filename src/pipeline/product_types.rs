//! Product names from `tools/metadata`, cached in the bucket for a week: a configuration
//! FortiFlex lists with a product type id but no name (new product types: FortiManager
//! Cloud, FortiDeceptor Cloud, FortiEDR-MSSP, …) is named from it. The fixed id table is the
//! fallback only when the call fails and no cache is kept, and an id neither knows is named
//! in a warning (its reports show the bare id).

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::adapters::fortiflex::{FortiFlexApi, ProductMeta};
use crate::adapters::storage::Sink;
use crate::contract::keys;
use crate::domain::records::product_name;
use crate::error::Result;
use crate::pipeline::archive::record;
use crate::pipeline::discovery::Scope;

/// Fortinet's catalogue changes with its releases, not daily: asked again after a week.
const REFRESH_DAYS: i64 = 7;

/// `metadata/product_types.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Cached {
    /// The Pacific day `tools/metadata` was asked.
    pub fetched: NaiveDate,
    pub product_types: Vec<Named>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Named {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub form_factor: Option<String>,
    #[serde(default)]
    pub parameters: BTreeMap<u64, String>,
}

/// Names every configuration of `scopes` listed without a product name, from the cache.
/// Only when one is unnamed and the cache is missing or a week old is `tools/metadata`
/// asked here: the reports about to be built need the name, and a run whose configurations
/// are all named spends no call on it. `ask` false (a dry run): neither the cache nor
/// FortiFlex is read.
pub(crate) async fn name<A: FortiFlexApi, S: Sink>(
    api: &A,
    sink: &S,
    scopes: &mut [Scope],
    today: NaiveDate,
    ask: bool,
) -> Result<()> {
    let unnamed: BTreeSet<u64> = scopes
        .iter()
        .flat_map(|s| &s.configs)
        .filter(|c| c.product_type.name.as_deref().is_none_or(str::is_empty))
        .filter_map(|c| c.product_type.id)
        .collect();
    if unnamed.is_empty() {
        return Ok(());
    }
    // A dry run reads nothing stored: the fixed table names what it can.
    let known = if ask {
        refresh(api, sink, today).await?
    } else {
        None
    };
    let names: BTreeMap<u64, &str> = known
        .iter()
        .flat_map(|k| &k.product_types)
        .map(|p| (p.id, p.name.as_str()))
        .collect();
    for c in scopes.iter_mut().flat_map(|s| &mut s.configs) {
        if c.product_type.name.as_deref().is_none_or(str::is_empty)
            && let Some(name) = c.product_type.id.and_then(|id| names.get(&id))
        {
            c.product_type.name = Some((*name).to_string());
        }
    }
    let nameless: Vec<String> = unnamed
        .iter()
        .filter(|id| !names.contains_key(id) && product_name(**id).is_none())
        .map(u64::to_string)
        .collect();
    if !nameless.is_empty() {
        tracing::warn!(
            ids = nameless.join(", "),
            "product type ids with no name in tools/metadata or the fixed table: reports show the id"
        );
    }
    Ok(())
}

/// The cached list, renewed by one `tools/metadata` call when it is missing or a week old
/// (the daily run keeps it fresh). When the call fails the old list (or none: the fixed id
/// table then names what it can) is used, and the failure told.
pub(crate) async fn refresh<A: FortiFlexApi, S: Sink>(
    api: &A,
    sink: &S,
    today: NaiveDate,
) -> Result<Option<Cached>> {
    let cached = read(sink).await;
    if !stale(cached.as_ref(), today) {
        return Ok(cached);
    }
    match api.product_types().await {
        Ok(list) => {
            let fresh = Cached {
                fetched: today,
                product_types: named(list),
            };
            write(sink, &fresh).await?;
            Ok(Some(fresh))
        }
        Err(e) => {
            let from = if cached.is_some() {
                "the cached list"
            } else {
                "the fixed id table"
            };
            tracing::warn!(error = %e, "tools/metadata failed: product names from {from}");
            Ok(cached)
        }
    }
}

fn stale(cached: Option<&Cached>, today: NaiveDate) -> bool {
    cached.is_none_or(|c| (today - c.fetched).num_days() >= REFRESH_DAYS)
}

/// `tools/metadata`'s list, kept where it has an id and a name.
fn named(list: Vec<ProductMeta>) -> Vec<Named> {
    let mut out: Vec<Named> = list
        .into_iter()
        .filter_map(|p| {
            Some(Named {
                id: p.product_type_id?,
                name: p.name.filter(|n| !n.trim().is_empty())?,
                form_factor: p.form_factor,
                parameters: p
                    .parameters
                    .into_iter()
                    .filter_map(|x| Some((x.id?, x.name?)))
                    .collect(),
            })
        })
        .collect();
    out.sort_by_key(|n| n.id);
    out.dedup_by_key(|n| n.id);
    out
}

/// The cached list; one that cannot be read is as good as none (it is asked again).
async fn read(sink: &impl Sink) -> Option<Cached> {
    let bytes = match sink.get(keys::PRODUCT_TYPES).await {
        Ok(b) => b?,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the cached product types");
            return None;
        }
    };
    serde_json::from_slice(&bytes)
        .inspect_err(
            |e| tracing::warn!(error = %e, "the cached product types are unreadable; asking again"),
        )
        .ok()
}

async fn write(sink: &impl Sink, cached: &Cached) -> Result<()> {
    record::put(sink, keys::PRODUCT_TYPES, cached).await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use rust_decimal::Decimal;

    use super::*;
    use crate::adapters::fortiflex::{
        Config, Entitlement, EntitlementQuery, ParameterMeta, PointsQuery, PointsRow, ProductType,
        Program, Rate, RateQuery,
    };
    use crate::adapters::storage::MemorySink;
    use crate::domain::ids::{AccountId, Serial};
    use crate::error::{ApiError, Error};

    /// `tools/metadata` only: answers `list`, or fails when it is `None`; counts the asks.
    struct Metadata {
        list: Option<Vec<ProductMeta>>,
        asked: AtomicU32,
    }

    fn unused<T>() -> Result<T> {
        Err(Error::Configuration("not asked in this test".into()))
    }

    impl FortiFlexApi for Metadata {
        async fn programs(&self) -> Result<Vec<Program>> {
            unused()
        }
        async fn program_balance(&self, _: &str) -> Result<Option<Decimal>> {
            unused()
        }
        async fn configs(&self, _: &str, _: Option<AccountId>) -> Result<Vec<Config>> {
            unused()
        }
        async fn entitlements(&self, _: &EntitlementQuery) -> Result<Vec<Entitlement>> {
            unused()
        }
        async fn points(&self, _: &PointsQuery) -> Result<Vec<PointsRow>> {
            unused()
        }
        async fn rate(&self, _: &RateQuery) -> Result<Rate> {
            unused()
        }
        async fn product_types(&self) -> Result<Vec<ProductMeta>> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            self.list.clone().ok_or_else(|| {
                ApiError::new("tools/metadata", Some(403), None, "Permission denied.").into()
            })
        }
    }

    fn scope(products: &[(u64, Option<&str>)]) -> Vec<Scope> {
        let configs = products
            .iter()
            .enumerate()
            .map(|(i, (id, name))| Config {
                id: i as u64 + 1,
                name: None,
                status: None,
                account_id: None,
                product_type: ProductType {
                    id: Some(*id),
                    name: name.map(str::to_string),
                },
                parameters: vec![],
            })
            .collect();
        vec![Scope {
            serial: Serial::parse("ELAVMS0000123456", "test").unwrap(),
            account_id: AccountId(1),
            accounts: vec![AccountId(1)],
            configs,
            listed: None,
        }]
    }

    fn meta(id: u64, name: &str) -> ProductMeta {
        ProductMeta {
            product_type_id: Some(id),
            name: Some(name.into()),
            form_factor: None,
            parameters: vec![ParameterMeta {
                id: Some(30),
                name: Some("Managed devices".into()),
            }],
        }
    }

    fn names(scopes: &[Scope]) -> Vec<Option<String>> {
        scopes[0]
            .configs
            .iter()
            .map(|c| c.product_type.label())
            .collect()
    }

    #[tokio::test]
    async fn a_product_listed_without_a_name_is_named_from_the_cached_metadata() {
        let sink = MemorySink::new();
        let today = crate::domain::window::parse_date("2026-12-05").unwrap();
        let api = Metadata {
            list: Some(vec![
                meta(2, "FortiManager-VM"),
                meta(213, "FortiDeceptor Cloud"),
            ]),
            asked: AtomicU32::new(0),
        };
        // Every configuration named by FortiFlex: no call.
        let mut named = scope(&[(2, Some("FortiManager-VM"))]);
        name(&api, &sink, &mut named, today, true).await.unwrap();
        assert_eq!(api.asked.load(Ordering::SeqCst), 0);
        let mut scopes = scope(&[(213, None), (2, Some("FMG as listed"))]);
        name(&api, &sink, &mut scopes, today, true).await.unwrap();
        assert_eq!(
            names(&scopes),
            [
                Some("FortiDeceptor Cloud".into()),
                Some("FMG as listed".into())
            ]
        );
        // Cached for a week: the next days ask nothing; a week later it is asked again.
        for (days, asked) in [(6, 1), (7, 2)] {
            let mut again = scope(&[(213, None)]);
            let later = today + chrono::Days::new(days);
            name(&api, &sink, &mut again, later, true).await.unwrap();
            assert_eq!(api.asked.load(Ordering::SeqCst), asked, "{days} days later");
            assert_eq!(names(&again), [Some("FortiDeceptor Cloud".into())]);
        }
        let cached: Cached =
            serde_json::from_slice(&sink.get(keys::PRODUCT_TYPES).await.unwrap().unwrap()).unwrap();
        assert_eq!(cached.product_types[0].parameters[&30], "Managed devices");
    }

    #[tokio::test]
    async fn without_metadata_the_fixed_table_names_what_it_knows_and_the_rest_keep_their_id() {
        let sink = MemorySink::new();
        let today = crate::domain::window::parse_date("2026-12-05").unwrap();
        let api = Metadata {
            list: None,
            asked: AtomicU32::new(0),
        };
        let mut scopes = scope(&[(7, None), (213, None)]);
        name(&api, &sink, &mut scopes, today, true).await.unwrap();
        assert_eq!(
            names(&scopes),
            [Some("FortiAnalyzer-VM".into()), Some("213".into())]
        );
        assert_eq!(api.asked.load(Ordering::SeqCst), 1);
        assert!(sink.get(keys::PRODUCT_TYPES).await.unwrap().is_none());
    }
}
