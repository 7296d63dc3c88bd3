//! The billing systems a final month is pushed to, behind one port ([`BillingPort`]):
//! ConnectWise PSA agreement additions, Stripe meter events and a signed webhook, each over
//! HTTPS with 429 and 5xx retried ([`http`]). Their base URLs are settings, so a partner's
//! sandbox tenant (or the tests' stand-ins) can take their place; their credentials are
//! [`BillingCredentials`], never logged.

use std::future::Future;
use std::time::Duration;

use reqwest::Url;

use crate::domain::billing::Charge;
use crate::domain::billing::Target;
use crate::domain::billing::ledger::{Entry, Ledger};
pub(crate) use crate::domain::billing::reconcile::Holds;
use crate::domain::statement::Month;
use crate::error::{Error, Result};

mod connectwise;
mod credentials;
mod http;
mod stripe;
mod webhook;

pub(crate) use connectwise::ConnectWise;
pub(crate) use credentials::BillingCredentials;
pub(crate) use stripe::Stripe;
pub(crate) use webhook::Webhook;

/// One push about to be sent: the charge, its pending ledger entry (key, value, what is
/// sent) and the accepted entry it corrects.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Push<'a> {
    pub program: &'a str,
    pub month: Month,
    pub currency: Option<&'a str>,
    pub charge: &'a Charge,
    pub entry: &'a Entry,
    pub held: Option<&'a Entry>,
}

/// Why a push did not go through.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PushError {
    /// The target refused it (a 4xx): it holds nothing of it; the message is the target's.
    #[error("{target} answered HTTP {status}: {message}")]
    Rejected {
        target: &'static str,
        status: u16,
        message: String,
    },
    /// No answer that settles it (network, 429 or 5xx after the retries): it may or may
    /// not have arrived, so its ledger entry stays pending for the next run to resolve.
    #[error("{target} could not be reached: {message}")]
    Unsettled {
        target: &'static str,
        message: String,
    },
    /// A create without an idempotency key went out and no answer came back (a timeout, a
    /// dropped connection, a 5xx): it may be stored, so it is looked up, never sent blind.
    #[error("{target} did not answer: {message}")]
    Unanswered {
        target: &'static str,
        message: String,
    },
}

/// The billing systems, one call per push.
pub(crate) trait BillingPort: Send + Sync {
    /// Whether `target` is set up (credentials and, for the webhook, its URL).
    fn has(&self, target: Target) -> bool;

    /// Sends `push`; the target's id for what it now holds.
    fn send(&self, push: &Push<'_>) -> impl Future<Output = Result<String, PushError>> + Send;

    /// Whether a pending `push` (sent by a run that ended before its answer was recorded)
    /// reached the target: its id when the target can tell, `None` to send it again (a
    /// resend carries the same idempotency key, so the target keeps one).
    fn find(
        &self,
        push: &Push<'_>,
    ) -> impl Future<Output = Result<Option<String>, PushError>> + Send;

    /// How long after its first send a pending push may still be sent again safely
    /// (Stripe forgets an identifier after 24 hours); `None`: always.
    fn resend_window(&self, target: Target) -> Option<Duration>;

    /// What the target holds of `charge`'s item, whose pushes `ledger` records; `None`:
    /// the target cannot be read back (the webhook).
    fn read(
        &self,
        charge: &Charge,
        ledger: &Ledger,
        month: Month,
    ) -> impl Future<Output = Result<Option<Holds>, PushError>> + Send;
}

/// Where the targets live: settings (`CONNECTWISE_API_URL`, `STRIPE_API_URL`,
/// `BILLING_WEBHOOK_URL`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillingEndpoints {
    pub connectwise: Url,
    pub stripe: Url,
    pub webhook: Option<Url>,
}

pub const DEFAULT_CONNECTWISE_URL: &str = "https://api-na.myconnectwise.net/v4_6_release/apis/3.0/";
pub const DEFAULT_STRIPE_URL: &str = "https://api.stripe.com/";

impl BillingEndpoints {
    /// Each URL with the name of the setting it came from.
    pub fn named(
        connectwise: (&str, &str),
        stripe: (&str, &str),
        webhook: Option<(&str, &str)>,
    ) -> Result<Self> {
        let base = |(name, value): (&str, &str)| {
            let mut url = crate::adapters::endpoint::checked_url(name, value)?;
            if !url.path().ends_with('/') {
                url.set_path(&format!("{}/", url.path()));
            }
            Ok::<_, Error>(url)
        };
        Ok(BillingEndpoints {
            connectwise: base(connectwise)?,
            stripe: base(stripe)?,
            webhook: webhook
                .map(|(n, v)| crate::adapters::endpoint::checked_url(n, v))
                .transpose()?,
        })
    }
}

/// The real targets: those with credentials (and a URL) set.
pub(crate) struct BillingTargets {
    connectwise: Option<ConnectWise>,
    stripe: Option<Stripe>,
    webhook: Option<Webhook>,
}

impl BillingTargets {
    pub(crate) fn new(
        endpoints: &BillingEndpoints,
        credentials: BillingCredentials,
        timeout: Duration,
    ) -> Result<Self> {
        let client = crate::adapters::fortiflex::http_client(timeout)?;
        Ok(BillingTargets {
            connectwise: credentials
                .connectwise
                .map(|c| ConnectWise::new(client.clone(), endpoints.connectwise.clone(), c)),
            stripe: credentials
                .stripe
                .map(|key| Stripe::new(client.clone(), endpoints.stripe.clone(), key)),
            webhook: match (credentials.webhook, &endpoints.webhook) {
                (Some(secret), Some(url)) => Some(Webhook::new(client, url.clone(), secret)),
                _ => None,
            },
        })
    }
}

fn unset(target: Target) -> PushError {
    PushError::Unsettled {
        target: target.as_str(),
        message: "not set up".into(),
    }
}

impl BillingPort for BillingTargets {
    fn has(&self, target: Target) -> bool {
        match target {
            Target::ConnectWise => self.connectwise.is_some(),
            Target::Stripe => self.stripe.is_some(),
            Target::Webhook => self.webhook.is_some(),
        }
    }

    async fn send(&self, push: &Push<'_>) -> Result<String, PushError> {
        let target = push.charge.target;
        match target {
            Target::ConnectWise => match &self.connectwise {
                Some(t) => t.send(push).await,
                None => Err(unset(target)),
            },
            Target::Stripe => match &self.stripe {
                Some(t) => t.send(push).await,
                None => Err(unset(target)),
            },
            Target::Webhook => match &self.webhook {
                Some(t) => t.send(push).await,
                None => Err(unset(target)),
            },
        }
    }

    async fn find(&self, push: &Push<'_>) -> Result<Option<String>, PushError> {
        match (push.charge.target, &self.connectwise) {
            (Target::ConnectWise, Some(t)) => t.find(push).await,
            (Target::ConnectWise, None) => Err(unset(Target::ConnectWise)),
            // A resend with the same identifier or idempotency key is harmless.
            _ => Ok(None),
        }
    }

    fn resend_window(&self, target: Target) -> Option<Duration> {
        (target == Target::Stripe).then_some(stripe::IDENTIFIER_WINDOW)
    }

    async fn read(
        &self,
        charge: &Charge,
        ledger: &Ledger,
        month: Month,
    ) -> Result<Option<Holds>, PushError> {
        match (
            charge.target,
            &self.connectwise,
            &self.stripe,
            &charge.stripe,
        ) {
            (Target::ConnectWise, Some(t), _, _) => t
                .read(charge.agreement.unwrap_or_default(), ledger)
                .await
                .map(Some),
            (Target::Stripe, _, Some(t), Some(settings)) => {
                let mut periods: Vec<Month> =
                    ledger.live().iter().map(|e| e.period_or(month)).collect();
                periods.sort();
                periods.dedup();
                if periods.is_empty() {
                    periods.push(charge.period);
                }
                t.read(settings, &periods).await
            }
            (Target::Webhook, ..) => Ok(None),
            (target, ..) => Err(unset(target)),
        }
    }
}

/// The text a marker, an invoice description or a log shows for a push.
pub(crate) fn describe(push: &Push<'_>) -> String {
    format!(
        "FortiFlex points {} {} ({})",
        push.program, push.month, push.charge.customer_name
    )
}
