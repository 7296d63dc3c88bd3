//! The catalog a report joins its points with: each entitlement's account, config,
//! description and status, each config's name and product label. Built once per run from
//! `entitlements/list` and `configs/list` and shared by every day of a backfill; its text is
//! shared with the rows, never copied into them.

use std::collections::HashMap;

use crate::domain::records::{Config, Entitlement, Text};

/// Entitlements and configs of a program, indexed for the join. Fetched once per run and
/// shared by every day of a backfill.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Sorted by serial, for a join in one forward walk ([`Catalog::in_serial_order`]): the
    /// list as it arrived, sorted in place, instead of a hash table beside it (12.7 MB more
    /// at 100,000 entitlements).
    entitlements: Vec<Entitlement>,
    configs: HashMap<u64, Described>,
}

/// What a report row takes from `configs/list`: its name and product label.
#[derive(Debug, Clone)]
pub struct Described {
    pub name: Option<Text>,
    pub product_type: Option<Text>,
}

/// See [`Catalog::in_serial_order`].
pub struct Cursor<'a> {
    /// The entitlements not passed yet.
    rest: &'a [Entitlement],
}

impl<'a> Cursor<'a> {
    /// The listing of `serial`, which must not be below any serial sought before.
    pub fn seek(&mut self, serial: &str) -> Option<&'a Entitlement> {
        let passed = self
            .rest
            .iter()
            .take_while(|e| e.serial_number.as_str() < serial)
            .count();
        self.rest = &self.rest[passed..];
        self.rest.first().filter(|e| e.serial_number == serial)
    }
}

impl Catalog {
    /// A serial listed twice keeps its last listing.
    pub fn new(mut entitlements: Vec<Entitlement>, configs: Vec<Config>) -> Self {
        // Reversed, then stably sorted: of equal serials, the last listed comes first and
        // is the one `dedup` keeps.
        entitlements.reverse();
        entitlements.sort_by(|a, b| a.serial_number.cmp(&b.serial_number));
        entitlements.dedup_by(|later, first| later.serial_number == first.serial_number);
        entitlements.shrink_to_fit();
        Catalog {
            entitlements,
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

    /// A walk through the entitlements for serials asked in ascending order: a join in one
    /// pass where a report's rows are sorted by serial.
    pub fn in_serial_order(&self) -> Cursor<'_> {
        Cursor {
            rest: &self.entitlements,
        }
    }

    /// Serials ACTIVE with a licence token never used: charged, they are `idle_charged`.
    pub fn idle(&self) -> impl Iterator<Item = &str> {
        self.entitlements
            .iter()
            .filter(|e| {
                e.token_unused
                    && e.status
                        .as_deref()
                        .is_some_and(|s| s.eq_ignore_ascii_case("ACTIVE"))
            })
            .map(|e| e.serial_number.as_str())
    }

    pub fn config(&self, id: u64) -> Option<&Described> {
        self.configs.get(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(serial: &str, description: &str, unused: bool) -> Entitlement {
        Entitlement {
            serial_number: serial.into(),
            account_id: None,
            config_id: None,
            description: Some(description.into()),
            status: Some("ACTIVE".into()),
            start_date: None,
            end_date: None,
            token_unused: unused,
        }
    }

    #[test]
    fn finds_every_serial_and_a_serial_listed_twice_keeps_its_last_listing() {
        let mut list: Vec<Entitlement> = (0..500)
            .rev()
            .map(|i| listed(&format!("FGVM{i:08}"), &format!("n{i}"), i % 7 == 0))
            .collect();
        list.insert(100, listed("FGVM00000042", "first", false));
        list.push(listed("FGVM00000042", "last", false));
        let catalog = Catalog::new(list, Vec::new());
        let mut walk = catalog.in_serial_order();
        assert!(walk.seek("").is_none(), "before the first");
        for i in 0..500 {
            let e = walk.seek(&format!("FGVM{i:08}")).unwrap();
            let want = if i == 42 {
                "last".into()
            } else {
                format!("n{i}")
            };
            assert_eq!(e.description.as_deref(), Some(want.as_str()));
            assert!(e.serial_number.ends_with(&format!("{i:08}")));
        }
        assert!(walk.seek("FGVM00000500").is_none(), "past the last");
        assert_eq!(
            catalog.idle().count(),
            500usize.div_ceil(7) - 1,
            "42 is listed used last"
        );
        let mut walk = catalog.in_serial_order();
        assert!(walk.seek("FGVM").is_none(), "before the first");
        for i in (3..500).step_by(50) {
            let e = walk.seek(&format!("FGVM{i:08}")).unwrap();
            assert_eq!(e.description.as_deref(), Some(format!("n{i}").as_str()));
            assert!(
                walk.seek(&format!("FGVM{i:08}x")).is_none(),
                "between two serials"
            );
        }
        assert!(walk.seek("FGVM00000499").is_some());
        assert!(walk.seek("ZZ").is_none(), "past the last");
    }
}
