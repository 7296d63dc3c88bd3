//! ConnectWise PSA: a month's points become an agreement addition per customer × product
//! (`POST finance/agreements/{id}/additions`), a restatement a `PATCH` of its quantity. The
//! addition's invoice description carries the push's key, so a run that ended between the
//! call and the ledger finds the addition it made instead of adding a second one.

use reqwest::{Method, Url};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::credentials::ConnectWiseKeys;
use super::http::exchange;
use super::{Push, PushError, describe};
use crate::adapters::credentials::ExposeSecret;
use crate::domain::billing::ledger::Operation;
use crate::domain::money::points_text;

const TARGET: &str = "ConnectWise";
/// Additions read per page while looking for one.
const PAGE_SIZE: usize = 1000;

pub(crate) struct ConnectWise {
    http: reqwest::Client,
    base: Url,
    keys: ConnectWiseKeys,
}

#[derive(Deserialize)]
struct Addition {
    id: u64,
    #[serde(rename = "invoiceDescription", default)]
    invoice_description: Option<String>,
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

    /// The addition's invoice description: what it is, and the push's key in brackets.
    fn marker(push: &Push<'_>) -> String {
        format!("{} [{}]", describe(push), push.entry.idempotency_key)
    }

    pub(crate) async fn send(&self, push: &Push<'_>) -> Result<String, PushError> {
        let (agreement, product) = push.charge.agreement.unwrap_or_default();
        // Decimals go out as JSON numbers with their exact text, never through a float.
        let number = |d| RawValue::from_string(points_text(d)).expect("decimal text is JSON");
        let quantity = number(push.entry.value.0);
        match (
            push.entry.operation,
            push.held.and_then(|h| h.target_id.as_deref()),
        ) {
            (Operation::Correct, Some(id)) => {
                let mut ops = vec![
                    serde_json::json!({"op": "replace", "path": "quantity", "value": quantity}),
                ];
                if let Some(price) = push.charge.unit_price {
                    ops.push(serde_json::json!({"op": "replace", "path": "unitPrice", "value": number(price)}));
                }
                let path = format!("finance/agreements/{agreement}/additions/{id}");
                exchange(TARGET, "update an addition", || {
                    self.request(Method::PATCH, &path).json(&ops)
                })
                .await?;
                Ok(id.to_string())
            }
            _ => {
                let body = serde_json::json!({
                    "product": {"id": product},
                    "quantity": quantity,
                    "unitPrice": push.charge.unit_price.map(number),
                    "billCustomer": "Billable",
                    "effectiveDate": format!("{}T00:00:00Z", push.month.first()),
                    "invoiceDescription": Self::marker(push),
                });
                let path = format!("finance/agreements/{agreement}/additions");
                let (_, reply) = exchange(TARGET, "add an addition", || {
                    self.request(Method::POST, &path).json(&body)
                })
                .await?;
                let added: Addition =
                    serde_json::from_str(&reply).map_err(|e| PushError::Unsettled {
                        target: TARGET,
                        message: format!("its reply to the new addition has no id ({e})"),
                    })?;
                Ok(added.id.to_string())
            }
        }
    }

    /// The addition a pending create made, found by the key in its invoice description;
    /// `None` for a pending update (a `PATCH` of the same quantity is harmless to repeat).
    pub(crate) async fn find(&self, push: &Push<'_>) -> Result<Option<String>, PushError> {
        if push.entry.operation == Operation::Correct {
            return Ok(None);
        }
        let (agreement, product) = push.charge.agreement.unwrap_or_default();
        let needle = format!("[{}]", push.entry.idempotency_key);
        for page in 1.. {
            let path = format!(
                "finance/agreements/{agreement}/additions?conditions=product/id={product}&pageSize={PAGE_SIZE}&page={page}"
            );
            let (_, reply) = exchange(TARGET, "list additions", || {
                self.request(Method::GET, &path)
            })
            .await?;
            let additions: Vec<Addition> =
                serde_json::from_str(&reply).map_err(|e| PushError::Unsettled {
                    target: TARGET,
                    message: format!("its list of additions is unreadable ({e})"),
                })?;
            if let Some(a) = additions.iter().find(|a| {
                a.invoice_description
                    .as_deref()
                    .is_some_and(|d| d.contains(&needle))
            }) {
                return Ok(Some(a.id.to_string()));
            }
            if additions.len() < PAGE_SIZE {
                break;
            }
        }
        Ok(None)
    }
}
