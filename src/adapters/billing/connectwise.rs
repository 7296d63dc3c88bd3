//! ConnectWise PSA: a month's points become an agreement addition per customer × product
//! (`POST finance/agreements/{id}/additions`), effective and cancelled inside one billing
//! period (ConnectWise bills every active addition on every agreement invoice, so an
//! addition without a cancelled date would bill the month again each period). A correction
//! replaces the quantity (`PATCH`) or adds a line ([`crate::domain::billing::plan`]).
//!
//! The addition's invoice description carries the push's key. ConnectWise takes no
//! idempotency key, so a create that went out unanswered (a timeout, a dropped connection,
//! a 5xx) is looked up by that key before it is tried again, never repeated blind; a
//! `PATCH` (a replace) and a `GET` are safe to repeat.

use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::credentials::ConnectWiseKeys;
use super::http::{Repeat, backoff, exchange};
use super::{Holds, Push, PushError, describe};
use crate::adapters::credentials::ExposeSecret;
use crate::domain::billing::ledger::Ledger;
use crate::domain::billing::period::connectwise_dates;
use crate::domain::money::{parse_decimal, points_text};

const TARGET: &str = "ConnectWise";
/// Additions asked for per page while looking for one (ConnectWise's most), and the most
/// pages read (a million additions on one agreement and product).
const PAGE_SIZE: usize = 1000;
const MAX_PAGES: usize = 1000;
/// Creates tried, each after looking the previous one up.
const CREATE_TRIES: u32 = 3;
/// The least wait between an unanswered create and the lookup for it.
const LOOKUP_PAUSE: std::time::Duration = std::time::Duration::from_secs(2);

pub(crate) struct ConnectWise {
    http: reqwest::Client,
    base: Url,
    keys: ConnectWiseKeys,
}

/// A new addition as ConnectWise takes it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewAddition<'a> {
    product: ProductRef,
    quantity: &'a RawValue,
    unit_price: Option<&'a RawValue>,
    /// With a price book: what a unit costs the partner, for ConnectWise's margin.
    #[serde(skip_serializing_if = "Option::is_none")]
    unit_cost: Option<&'a RawValue>,
    bill_customer: &'a str,
    effective_date: &'a str,
    cancelled_date: &'a str,
    invoice_description: &'a str,
}

#[derive(Serialize)]
struct ProductRef {
    id: u64,
}

/// One JSON Patch operation.
#[derive(Serialize)]
struct Replace<'a> {
    op: &'a str,
    path: &'a str,
    value: &'a RawValue,
}

/// A request body, serialized once for every try (raw decimals kept as their text).
fn body(v: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(v).expect("a ConnectWise body serializes")
}

#[derive(Deserialize)]
struct Addition<'a> {
    id: u64,
    #[serde(rename = "invoiceDescription", default)]
    invoice_description: Option<String>,
    #[serde(default, borrow)]
    quantity: Option<&'a RawValue>,
    #[serde(rename = "effectiveDate", default)]
    effective_date: Option<String>,
    #[serde(rename = "cancelledDate", default)]
    cancelled_date: Option<String>,
}

impl Addition<'_> {
    fn carries(&self, key: &str) -> bool {
        self.invoice_description
            .as_deref()
            .is_some_and(|d| d.contains(&format!("[{key}]")))
    }
}

fn unreadable(what: &str, e: impl std::fmt::Display) -> PushError {
    PushError::Unsettled {
        target: TARGET,
        message: format!("{what} is unreadable ({e})"),
    }
}

impl ConnectWise {
    pub(crate) fn new(http: reqwest::Client, base: Url, keys: ConnectWiseKeys) -> Self {
        ConnectWise { http, base, keys }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = self.base.join(path).unwrap_or_else(|_| self.base.clone());
        self.http
            .request(method, url)
            .basic_auth(
                format!("{}+{}", self.keys.company_id, self.keys.public_key),
                Some(self.keys.private_key.expose_secret()),
            )
            .header("clientId", &self.keys.client_id)
            .header(reqwest::header::ACCEPT, "application/json")
    }

    fn json(&self, method: Method, path: &str, body: &[u8]) -> reqwest::RequestBuilder {
        self.request(method, path)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec())
    }

    /// The addition's invoice description: what it is, its billing period, and the push's
    /// key in brackets.
    fn marker(push: &Push<'_>) -> String {
        let period = push.entry.period_or(push.month);
        let what = match push.entry.operation {
            crate::domain::billing::ledger::Operation::Create => String::new(),
            _ => " correction".to_string(),
        };
        format!(
            "{}{what}, billed {period} [{}]",
            describe(push),
            push.entry.idempotency_key
        )
    }

    pub(crate) async fn send(&self, push: &Push<'_>) -> Result<String, PushError> {
        let (agreement, product) = push.charge.agreement.unwrap_or_default();
        // Decimals go out as JSON numbers with their exact text (`4548.60`): serialized
        // straight from the raw text, never through a `serde_json::Value` (a float).
        let number = |d| RawValue::from_string(points_text(d)).expect("decimal text is JSON");
        let quantity = number(push.entry.sent.0);
        let price = push.charge.unit_price.map(number);
        let cost = push.charge.unit_cost.map(number);
        if let Some(id) = &push.entry.updates {
            let mut ops = vec![Replace {
                op: "replace",
                path: "quantity",
                value: &quantity,
            }];
            if let Some(price) = &price {
                ops.push(Replace {
                    op: "replace",
                    path: "unitPrice",
                    value: price,
                });
            }
            if let Some(cost) = &cost {
                ops.push(Replace {
                    op: "replace",
                    path: "unitCost",
                    value: cost,
                });
            }
            let body = body(&ops);
            let path = format!("finance/agreements/{agreement}/additions/{id}");
            // A replace leaves the addition as one call would: safe to repeat.
            exchange(TARGET, "update an addition", Repeat::Safe, || {
                self.json(Method::PATCH, &path, &body)
            })
            .await?;
            return Ok(id.clone());
        }
        let (effective, cancelled) = connectwise_dates(push.entry.period_or(push.month));
        let body = body(&NewAddition {
            product: ProductRef { id: product },
            quantity: &quantity,
            unit_price: price.as_deref(),
            unit_cost: cost.as_deref(),
            bill_customer: "Billable",
            effective_date: &effective,
            cancelled_date: &cancelled,
            invoice_description: &Self::marker(push),
        });
        let path = format!("finance/agreements/{agreement}/additions");
        let mut unanswered = String::new();
        for attempt in 1..=CREATE_TRIES {
            let sent = exchange(TARGET, "add an addition", Repeat::Never, || {
                self.json(Method::POST, &path, &body)
            })
            .await;
            match sent {
                Ok((_, reply)) => match serde_json::from_str::<Addition>(&reply) {
                    Ok(added) => return Ok(added.id.to_string()),
                    Err(e) => unanswered = format!("its reply has no addition id ({e})"),
                },
                Err(PushError::Unanswered { message, .. }) => unanswered = message,
                Err(e) => return Err(e),
            }
            // It may be stored (or still being stored): give ConnectWise a moment, then look
            // for it by its key before anything is sent again.
            tokio::time::sleep(backoff(attempt).max(LOOKUP_PAUSE)).await;
            match self.find(push).await {
                Ok(Some(id)) => {
                    tracing::warn!(addition = %id, attempt, "an unanswered addition was stored; found by its key");
                    return Ok(id);
                }
                Ok(None) => {
                    tracing::warn!(attempt, error = %unanswered, "an unanswered addition is not stored; adding it again")
                }
                Err(e) => {
                    return Err(PushError::Unsettled {
                        target: TARGET,
                        message: format!(
                            "add an addition went unanswered ({unanswered}) and looking it up by its key failed ({e}): it may be stored"
                        ),
                    });
                }
            }
        }
        Err(PushError::Unsettled {
            target: TARGET,
            message: format!(
                "add an addition went unanswered {CREATE_TRIES} times ({unanswered}) and is not stored"
            ),
        })
    }

    /// Every addition of the charge's agreement and product, page by page, handed to `each`
    /// until it returns `true`. Pages are read until an empty one (a server may cap the page
    /// size below [`PAGE_SIZE`]), or one that repeats the page before (a server that ignores
    /// `page`).
    async fn additions(
        &self,
        (agreement, product): (u64, u64),
        mut each: impl FnMut(&Addition<'_>) -> Result<bool, PushError>,
    ) -> Result<(), PushError> {
        let mut previous_first: Option<u64> = None;
        for page in 1..=MAX_PAGES {
            let path = format!(
                "finance/agreements/{agreement}/additions?conditions=product/id={product}&pageSize={PAGE_SIZE}&page={page}"
            );
            let (_, reply) = exchange(TARGET, "list additions", Repeat::Safe, || {
                self.request(Method::GET, &path)
            })
            .await?;
            let additions: Vec<Addition> =
                serde_json::from_str(&reply).map_err(|e| unreadable("its list of additions", e))?;
            let first = additions.first().map(|a| a.id);
            if first.is_none() || first == previous_first {
                break;
            }
            previous_first = first;
            for a in &additions {
                if each(a)? {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// The addition a pending create made, found by the key in its invoice description;
    /// `None` for a pending update (a `PATCH` of the same quantity is harmless to repeat).
    pub(crate) async fn find(&self, push: &Push<'_>) -> Result<Option<String>, PushError> {
        if push.entry.updates.is_some() {
            return Ok(None);
        }
        let mut found = None;
        let key = &push.entry.idempotency_key;
        self.additions(push.charge.agreement.unwrap_or_default(), |a| {
            if a.carries(key) {
                found = Some(a.id.to_string());
            }
            Ok(found.is_some())
        })
        .await?;
        Ok(found)
    }

    /// What the agreement holds of the item: the quantities of every addition carrying one
    /// of its keys (a duplicate counts twice), and any addition whose dates would bill it
    /// in more than one period.
    pub(crate) async fn read(
        &self,
        agreement: (u64, u64),
        ledger: &Ledger,
    ) -> Result<Holds, PushError> {
        let keys: Vec<&str> = ledger.keys().collect();
        let mut held = Holds::default();
        self.additions(agreement, |a| {
            if !keys.iter().any(|k| a.carries(k)) {
                return Ok(false);
            }
            let quantity = a
                .quantity
                .and_then(|q| parse_decimal(q.get()))
                .ok_or_else(|| unreadable(&format!("addition {}'s quantity", a.id), "not a number"))?;
            held.value += quantity;
            held.records += 1;
            let month = |d: &Option<String>| d.as_deref().and_then(|d| d.get(..7)).map(str::to_string);
            match (month(&a.effective_date), month(&a.cancelled_date)) {
                (Some(e), Some(c)) if e == c => {}
                (_, None) => held.problems.push(format!(
                    "addition {} has no cancelled date: ConnectWise bills it on every invoice from {}",
                    a.id,
                    a.effective_date.as_deref().unwrap_or("its start")
                )),
                (e, Some(c)) => held.problems.push(format!(
                    "addition {} spans {} to {c}: ConnectWise bills it in more than one period",
                    a.id,
                    e.unwrap_or_default()
                )),
            }
            Ok(false)
        })
        .await?;
        Ok(held)
    }
}
