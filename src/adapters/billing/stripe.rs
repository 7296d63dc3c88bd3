//! Stripe Billing meters: a month's value is one meter event per customer
//! (`POST v1/billing/meter_events`, form-encoded) dated inside its billing period
//! ([`crate::domain::billing::period`]); a correction cancels the events Stripe received in
//! the last 23 hours (`POST v1/billing/meter_event_adjustments`) and sends the month again,
//! or sends the difference ([`crate::domain::billing::plan`]). What Stripe holds is read
//! back from the meter's event summaries over those periods.
//!
//! Repeats are safe, and the code relies on it: an event's `identifier` (the push's key) is
//! unique at Stripe for at least 24 hours, so a resend of an event that arrived is refused
//! as a duplicate (that answer means Stripe holds it), and every POST carries the key as its
//! `Idempotency-Key`, so a repeated cancel answers as the first did. A pending event older
//! than [`IDENTIFIER_WINDOW`] is never sent again (`BillingPort::resend_window`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::Url;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::http::{Repeat, exchange};
use super::{Holds, Push, PushError};
use crate::adapters::credentials::{ExposeSecret, Secret};
use crate::domain::billing::StripeBilling;
use crate::domain::billing::period::next;
use crate::domain::money::parse_decimal;
use crate::domain::statement::Month;

const TARGET: &str = "Stripe";

/// How long Stripe keeps an identifier unique ("a rolling period of at least 24 hours"),
/// with an hour kept back: a pending event older than this is not sent again.
pub(super) const IDENTIFIER_WINDOW: Duration = Duration::from_secs(23 * 3600);

pub(crate) struct Stripe {
    http: reqwest::Client,
    base: Url,
    key: Secret,
}

#[derive(Deserialize)]
struct List<T> {
    data: Vec<T>,
    #[serde(default)]
    has_more: bool,
}

#[derive(Deserialize)]
struct Meter {
    id: String,
    event_name: String,
}

#[derive(Deserialize)]
struct Summary<'a> {
    #[serde(borrow)]
    aggregated_value: &'a RawValue,
}

fn unreadable(what: &str, e: impl std::fmt::Display) -> PushError {
    PushError::Unsettled {
        target: TARGET,
        message: format!("{what} is unreadable ({e})"),
    }
}

impl Stripe {
    pub(crate) fn new(http: reqwest::Client, base: Url, key: Secret) -> Self {
        Stripe { http, base, key }
    }

    fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    /// A form POST carrying `idempotency_key`.
    async fn post(
        &self,
        what: &str,
        path: &str,
        form: String,
        idempotency_key: &str,
    ) -> Result<String, PushError> {
        let url = self.url(path);
        let (_, reply) = exchange(TARGET, what, Repeat::Safe, || {
            self.http
                .post(url.clone())
                .bearer_auth(self.key.expose_secret())
                .header("Idempotency-Key", idempotency_key)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(form.clone())
        })
        .await?;
        Ok(reply)
    }

    async fn get(&self, what: &str, path_and_query: &str) -> Result<String, PushError> {
        let url = self.url(path_and_query);
        let (_, reply) = exchange(TARGET, what, Repeat::Safe, || {
            self.http
                .get(url.clone())
                .bearer_auth(self.key.expose_secret())
        })
        .await?;
        Ok(reply)
    }

    pub(crate) async fn send(&self, push: &Push<'_>) -> Result<String, PushError> {
        let Some(stripe) = push.charge.stripe.as_ref() else {
            return Err(PushError::Rejected {
                target: TARGET,
                status: 0,
                message: "the customer has no Stripe settings".into(),
            });
        };
        let key = &push.entry.idempotency_key;
        if !push.entry.cancels.is_empty() {
            for (i, identifier) in push.entry.cancels.iter().enumerate() {
                let form = form_urlencoded::Serializer::new(String::new())
                    .append_pair("event_name", &stripe.event_name)
                    .append_pair("type", "cancel")
                    .append_pair("cancel[identifier]", identifier)
                    .finish();
                self.post(
                    "cancel a meter event",
                    "v1/billing/meter_event_adjustments",
                    form,
                    &format!("{key}-cancel-{i}"),
                )
                .await?;
            }
            return Ok(key.clone());
        }
        let value = push.entry.sent.0.normalize().to_string();
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("event_name", &stripe.event_name)
            .append_pair("payload[stripe_customer_id]", &stripe.customer)
            .append_pair("payload[value]", &value)
            .append_pair("identifier", key)
            .append_pair(
                "timestamp",
                &push.entry.event_time().timestamp().to_string(),
            )
            .finish();
        match self
            .post("create a meter event", "v1/billing/meter_events", form, key)
            .await
        {
            Ok(_) => Ok(key.clone()),
            // Stripe holds an event with this identifier: the earlier send arrived.
            Err(PushError::Rejected {
                status: 400,
                message,
                ..
            }) if message.contains("already exists with identifier") => Ok(key.clone()),
            Err(e) => Err(e),
        }
    }

    /// The meter's id: the customer's `meter`, else the active meter of its event name.
    async fn meter(&self, stripe: &StripeBilling) -> Result<Option<String>, PushError> {
        if let Some(m) = &stripe.meter {
            return Ok(Some(m.clone()));
        }
        let mut after: Option<String> = None;
        loop {
            let mut path = "v1/billing/meters?status=active&limit=100".to_string();
            if let Some(a) = &after {
                path.push_str(&format!("&starting_after={a}"));
            }
            let reply = self.get("list meters", &path).await?;
            let page: List<Meter> =
                serde_json::from_str(&reply).map_err(|e| unreadable("its list of meters", e))?;
            if let Some(m) = page.data.iter().find(|m| m.event_name == stripe.event_name) {
                return Ok(Some(m.id.clone()));
            }
            match (page.has_more, page.data.last()) {
                (true, Some(last)) => after = Some(last.id.clone()),
                _ => return Ok(None),
            }
        }
    }

    /// What the meter bills the customer in `periods`: each period's summed events, a
    /// negative total counted as the 0 Stripe bills. `None`: no meter has the event name.
    pub(crate) async fn read(
        &self,
        stripe: &StripeBilling,
        periods: &[Month],
    ) -> Result<Option<Holds>, PushError> {
        let Some(meter) = self.meter(stripe).await? else {
            return Ok(None);
        };
        let mut held = Holds::default();
        for period in periods {
            let at = |m: Month| -> DateTime<Utc> {
                m.first().and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
            };
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("customer", &stripe.customer)
                .append_pair("start_time", &at(*period).timestamp().to_string())
                .append_pair("end_time", &at(next(*period)).timestamp().to_string())
                .finish();
            let reply = self
                .get(
                    "read the meter's event summaries",
                    &format!("v1/billing/meters/{meter}/event_summaries?{query}"),
                )
                .await?;
            let page: List<Summary> =
                serde_json::from_str(&reply).map_err(|e| unreadable("its event summaries", e))?;
            let mut total = Decimal::ZERO;
            for s in &page.data {
                total += parse_decimal(s.aggregated_value.get())
                    .ok_or_else(|| unreadable("an event summary's value", "not a number"))?;
            }
            if total.is_sign_negative() {
                held.problems.push(format!(
                    "the period {period} sums to {total}, which Stripe bills as 0"
                ));
                total = Decimal::ZERO;
            }
            held.value += total;
            held.records += page.data.len();
        }
        Ok(Some(held))
    }
}
