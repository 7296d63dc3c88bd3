//! Stripe Billing meters: a month's value is one meter event per customer
//! (`POST v1/billing/meter_events`, form-encoded), a restatement one correcting event with
//! the difference (Stripe sums a meter's events; cancelling is possible only within 24 hours
//! of the event). The push's key is the event's `identifier` and the request's
//! `Idempotency-Key`, so a resend is refused by Stripe as a duplicate: that answer means it
//! holds the event.

use std::time::Duration;

use reqwest::Url;

use super::http::exchange;
use super::{Push, PushError};
use crate::adapters::credentials::{ExposeSecret, Secret};

const TARGET: &str = "Stripe";

/// How long Stripe keeps an identifier unique ("a rolling period of at least 24 hours"),
/// with an hour kept back: a pending event older than this is not sent again.
pub(super) const IDENTIFIER_WINDOW: Duration = Duration::from_secs(23 * 3600);

pub(crate) struct Stripe {
    http: reqwest::Client,
    base: Url,
    key: Secret,
}

impl Stripe {
    pub(crate) fn new(http: reqwest::Client, base: Url, key: Secret) -> Self {
        Stripe { http, base, key }
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
        let value = push.entry.sent.0.normalize().to_string();
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("event_name", &stripe.event_name)
            .append_pair("payload[stripe_customer_id]", &stripe.customer)
            .append_pair("payload[value]", &value)
            .append_pair("identifier", key)
            .append_pair("timestamp", &push.entry.started_at.timestamp().to_string())
            .finish();
        let url = self
            .base
            .join("v1/billing/meter_events")
            .unwrap_or_else(|_| self.base.clone());
        let sent = exchange(TARGET, "create a meter event", || {
            self.http
                .post(url.clone())
                .bearer_auth(self.key.expose_secret())
                .header("Idempotency-Key", key)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body.clone())
        })
        .await;
        match sent {
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
}
