//! The billing push's settings: where ConnectWise, Stripe and the webhook live, how long a
//! call may take, and whether the scheduled run pushes a month once it turns final.

use std::time::Duration;

use super::{flag, number, var};
use crate::adapters::billing::{BillingEndpoints, DEFAULT_CONNECTWISE_URL, DEFAULT_STRIPE_URL};
use crate::error::Result;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingSettings {
    /// `CONNECTWISE_API_URL` (default the North America cloud's
    /// `https://api-na.myconnectwise.net/v4_6_release/apis/3.0/`; a partner on another
    /// region or on premises sets its own), `STRIPE_API_URL` (default
    /// `https://api.stripe.com/`), `BILLING_WEBHOOK_URL` (no default: the webhook is off
    /// without it).
    pub endpoints: BillingEndpoints,
    /// `BILLING_TIMEOUT_SECS`, default 30: one call to a billing system.
    pub timeout: Duration,
    /// `PUSH_ON_FINAL=true`: the scheduled run pushes each month once it turns final.
    pub push_on_final: bool,
}

impl BillingSettings {
    pub(super) fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self> {
        let connectwise = var(lookup, "CONNECTWISE_API_URL");
        let stripe = var(lookup, "STRIPE_API_URL");
        let webhook = var(lookup, "BILLING_WEBHOOK_URL");
        Ok(BillingSettings {
            endpoints: BillingEndpoints::named(
                (
                    "CONNECTWISE_API_URL",
                    connectwise.as_deref().unwrap_or(DEFAULT_CONNECTWISE_URL),
                ),
                (
                    "STRIPE_API_URL",
                    stripe.as_deref().unwrap_or(DEFAULT_STRIPE_URL),
                ),
                webhook.as_deref().map(|w| ("BILLING_WEBHOOK_URL", w)),
            )?,
            timeout: Duration::from_secs(number(lookup, "BILLING_TIMEOUT_SECS", 30, 1..=300)?),
            push_on_final: flag(lookup, "PUSH_ON_FINAL")?,
        })
    }
}
