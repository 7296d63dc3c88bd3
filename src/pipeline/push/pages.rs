//! The statement pages of a pushed month gain their billing section: each customer's
//! targets, the period billed and what the read-back found ([`crate::contract::site::billing`]).
//! Only pages the site already has are filled; a month without pages (a CLI archive without
//! a site) is left as it is.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::adapters::storage::Sink;
use crate::contract::keys::site_statement_page;
use crate::contract::site::billing::{PushRow, with_billing};
use crate::domain::statement::Month;
use crate::error::Result;
use crate::pipeline::outcome::{PushItem, quantity_text as quantity};

const HTML: &str = "text/html; charset=utf-8";

/// Fills the billing section of each customer's page of `month` with its `items`.
pub(super) async fn mark(
    sink: &impl Sink,
    month: Month,
    revision: u64,
    items: &[PushItem],
    now: DateTime<Utc>,
) -> Result<()> {
    let checked_at = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut customers: Vec<&str> = items.iter().map(|i| i.customer_id.as_str()).collect();
    customers.sort_unstable();
    customers.dedup();
    for customer in customers {
        let key = site_statement_page(month, customer);
        let Some(page) = sink.get(&key).await? else {
            continue;
        };
        let rows: Vec<PushRow> = items
            .iter()
            .filter(|i| i.customer_id == customer)
            .map(|i| {
                let r = i.reconciliation.as_ref();
                PushRow {
                    target: i.target,
                    item: &i.item,
                    period: i.period.as_deref(),
                    statement: quantity(i.value, i.unit),
                    target_holds: quantity(r.and_then(|r| r.target_value), i.unit),
                    status: match (&i.error, r) {
                        (Some(_), _) => "not pushed",
                        (None, Some(r)) => r.status,
                        (None, None) => "pushed",
                    },
                    message: i
                        .error
                        .as_deref()
                        .or_else(|| r.and_then(|r| r.message.as_deref())),
                }
            })
            .collect();
        let page = String::from_utf8_lossy(&page);
        if let Some(filled) = with_billing(&page, &month.to_string(), revision, &checked_at, &rows)
        {
            sink.put(&key, filled.into_bytes(), HTML).await?;
        }
    }
    Ok(())
}
