//! Where a customer's month is billed, as the customers file says: the targets
//! (ConnectWise PSA, Stripe, the webhook) and each one's settings for the customer. Kept
//! apart from [`crate::domain::billing`] (what is pushed), which reads statements.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// Which invoice carries a month's usage (the periods themselves are
/// `domain::billing::period`'s).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum BillIn {
    /// The next invoice: the month after the usage month (usage billed in arrears).
    #[default]
    NextPeriod,
    /// The usage month's own invoice.
    UsagePeriod,
}

/// Stripe's default invoice finalization grace period in hours, and its most.
pub(crate) const STRIPE_GRACE_DEFAULT: u32 = 1;
pub(crate) const STRIPE_GRACE_MAX: u32 = 72;

/// A billing system a month can be pushed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// ConnectWise PSA: an agreement addition per customer × product and month.
    ConnectWise,
    /// Stripe Billing: one meter event per customer and month (a correcting one per change).
    Stripe,
    /// A signed JSON POST per customer and month, for everything else.
    Webhook,
}

impl Target {
    pub const ALL: [Target; 3] = [Target::ConnectWise, Target::Stripe, Target::Webhook];

    pub fn as_str(self) -> &'static str {
        match self {
            Target::ConnectWise => "connectwise",
            Target::Stripe => "stripe",
            Target::Webhook => "webhook",
        }
    }
}

impl std::str::FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Target::ALL
            .into_iter()
            .find(|t| t.as_str() == s.trim())
            .ok_or_else(|| format!("{s:?} is not a target: connectwise, stripe or webhook"))
    }
}

/// `"connectwise": {"agreement_id": 123, "product_id": 456, "products": {"FortiGate-VM": 457}}`:
/// the customer's agreement and the product its points are billed as (per product type
/// where `products` names one).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConnectWiseBilling {
    pub agreement_id: u64,
    pub product_id: u64,
    #[serde(default)]
    pub products: BTreeMap<String, u64>,
}

/// What a Stripe meter event's value counts. Stripe takes whole numbers only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum StripeUnit {
    /// The month's amount in the currency's cents: always whole (a meter priced at 0.01).
    Cents,
    /// The month's points: refused unless whole.
    Points,
}

/// `"stripe": {"customer": "cus_…", "unit": "cents", "event_name": "fortiflex_cents",
/// "grace_hours": 1, "meter": "mtr_…"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StripeBilling {
    pub customer: String,
    pub unit: StripeUnit,
    pub event_name: String,
    /// The account's invoice finalization grace period (Stripe's default 1 hour, at most
    /// 72): how long after a period ends an event may still be dated in it.
    pub grace_hours: u32,
    /// The meter's id, for reading its summaries back; looked up by `event_name` if absent.
    pub meter: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStripe {
    customer: String,
    unit: Option<StripeUnit>,
    event_name: Option<String>,
    grace_hours: Option<u32>,
    meter: Option<String>,
}

/// A customer's billing targets; all `None`/`false`: the customer is not pushed anywhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Billing {
    pub connectwise: Option<ConnectWiseBilling>,
    pub stripe: Option<StripeBilling>,
    pub webhook: bool,
    /// Which invoice carries a month (the customer's, else the file's `bill_in`).
    pub bill_in: BillIn,
}

/// A `bill_in` field: `"next_period"` or `"usage_period"`.
pub(crate) fn parse_bill_in(v: Option<Value>, field: &str) -> Result<Option<BillIn>, String> {
    v.filter(|v| !v.is_null())
        .map(|v| {
            serde_json::from_value::<BillIn>(v.clone()).map_err(|_| {
                format!("{field} {v} is not \"next_period\" (the default) or \"usage_period\"")
            })
        })
        .transpose()
}

impl Billing {
    /// The customers file's `connectwise`, `stripe` and `webhook` fields of one customer;
    /// `field` names the customer (`customers[2]`) in errors.
    pub(crate) fn parse(
        connectwise: Option<Value>,
        stripe: Option<Value>,
        webhook: Option<bool>,
        bill_in: BillIn,
        field: &str,
    ) -> Result<Self, String> {
        let connectwise = connectwise
            .filter(|v| !v.is_null())
            .map(|v| {
                serde_json::from_value::<ConnectWiseBilling>(v)
                    .map_err(|e| format!("{field}.connectwise: {e}"))
            })
            .transpose()?;
        if let Some(cw) = &connectwise
            && (cw.agreement_id == 0 || cw.product_id == 0 || cw.products.values().any(|p| *p == 0))
        {
            return Err(format!("{field}.connectwise: ids must be positive"));
        }
        let stripe = stripe
            .filter(|v| !v.is_null())
            .map(|v| {
                let raw: RawStripe =
                    serde_json::from_value(v).map_err(|e| format!("{field}.stripe: {e}"))?;
                let customer = raw.customer.trim().to_string();
                if !customer.starts_with("cus_") || customer.len() > 255 {
                    return Err(format!(
                        "{field}.stripe.customer {customer:?} is not a Stripe customer id (cus_…)"
                    ));
                }
                let unit = raw.unit.unwrap_or(StripeUnit::Cents);
                let event_name =
                    raw.event_name
                        .map(|e| e.trim().to_string())
                        .unwrap_or_else(|| {
                            match unit {
                                StripeUnit::Cents => "fortiflex_cents",
                                StripeUnit::Points => "fortiflex_points",
                            }
                            .to_string()
                        });
                if event_name.is_empty() || event_name.len() > 100 {
                    return Err(format!(
                        "{field}.stripe.event_name must be 1 to 100 characters"
                    ));
                }
                let grace_hours = raw.grace_hours.unwrap_or(STRIPE_GRACE_DEFAULT);
                if grace_hours > STRIPE_GRACE_MAX {
                    return Err(format!(
                        "{field}.stripe.grace_hours {grace_hours} is more than Stripe allows ({STRIPE_GRACE_MAX})"
                    ));
                }
                let meter = raw.meter.map(|m| m.trim().to_string());
                if let Some(m) = meter.as_ref().filter(|m| !m.starts_with("mtr_")) {
                    return Err(format!(
                        "{field}.stripe.meter {m:?} is not a Stripe meter id (mtr_…)"
                    ));
                }
                Ok(StripeBilling {
                    customer,
                    unit,
                    event_name,
                    grace_hours,
                    meter,
                })
            })
            .transpose()?;
        Ok(Billing {
            connectwise,
            stripe,
            webhook: webhook.unwrap_or(false),
            bill_in,
        })
    }

    pub(crate) fn targets(&self) -> impl Iterator<Item = Target> + '_ {
        [
            self.connectwise.as_ref().map(|_| Target::ConnectWise),
            self.stripe.as_ref().map(|_| Target::Stripe),
            self.webhook.then_some(Target::Webhook),
        ]
        .into_iter()
        .flatten()
    }
}
