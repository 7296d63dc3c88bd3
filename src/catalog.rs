//! The catalog a report joins its points with: each entitlement's account, config,
//! description and status, each config's name and product label. Built once per run from
//! `entitlements/list` and `configs/list` and shared by every day of a backfill; its text is
//! shared with the rows, never copied into them.

use std::collections::HashMap;

use crate::fortiflex::{Config, Entitlement, Text};
use crate::ids::AccountId;

/// Entitlements and configs of a program, indexed for the join. Fetched once per run and
/// shared by every day of a backfill.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    entitlements: HashMap<String, Listed>,
    configs: HashMap<u64, Described>,
}

/// What a report row takes from `entitlements/list`.
#[derive(Debug, Clone)]
pub struct Listed {
    pub account_id: Option<AccountId>,
    pub config_id: Option<u64>,
    pub description: Option<Text>,
    pub status: Option<Text>,
    /// Its licence token was never used (an `idle_charged` alert when it is charged).
    pub token_unused: bool,
}

/// What a report row takes from `configs/list`: its name and product label.
#[derive(Debug, Clone)]
pub struct Described {
    pub name: Option<Text>,
    pub product_type: Option<Text>,
}

impl Catalog {
    pub fn new(entitlements: Vec<Entitlement>, configs: Vec<Config>) -> Self {
        Catalog {
            entitlements: entitlements
                .into_iter()
                .map(|e| {
                    let listed = Listed {
                        account_id: e.account_id,
                        config_id: e.config_id,
                        description: e.description,
                        status: e.status,
                        token_unused: e.token_unused,
                    };
                    (e.serial_number, listed)
                })
                .collect(),
            configs: configs
                .into_iter()
                .map(|c| {
                    let described = Described {
                        product_type: c.product_type.label().map(Text::from),
                        name: c.name.map(Text::from),
                    };
                    (c.id, described)
                })
                .collect(),
        }
    }

    pub fn entitlement(&self, serial: &str) -> Option<&Listed> {
        self.entitlements.get(serial)
    }

    /// Serials ACTIVE with a licence token never used: charged, they are `idle_charged`.
    pub fn idle(&self) -> impl Iterator<Item = &str> {
        self.entitlements
            .iter()
            .filter(|(_, e)| {
                e.token_unused
                    && e.status
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case("ACTIVE"))
            })
            .map(|(serial, _)| serial.as_str())
    }

    pub fn config(&self, id: u64) -> Option<&Described> {
        self.configs.get(&id)
    }
}
