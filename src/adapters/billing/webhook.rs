//! The signed webhook, for every other billing system (HaloPSA, Autotask, an in-house ERP):
//! one JSON POST per customer and month (`contract::push::webhook_body`), a restatement a
//! new revision of it. `X-FortiFlex-Signature: sha256=<hex>` is HMAC-SHA256 of the exact
//! body under the shared secret; `Idempotency-Key` is the push's key, the same on a resend.

use hmac::{Hmac, Mac};
use reqwest::Url;
use sha2::Sha256;

use super::http::{Repeat, exchange};
use super::{Push, PushError};
use crate::adapters::credentials::{ExposeSecret, Secret};
use crate::contract::push::webhook_body;

const TARGET: &str = "webhook";
pub(crate) const SIGNATURE_HEADER: &str = "X-FortiFlex-Signature";

pub(crate) struct Webhook {
    http: reqwest::Client,
    url: Url,
    secret: Secret,
}

/// `sha256=<hex>` of `body` under `secret`.
pub(crate) fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

impl Webhook {
    pub(crate) fn new(http: reqwest::Client, url: Url, secret: Secret) -> Self {
        Webhook { http, url, secret }
    }

    pub(crate) async fn send(&self, push: &Push<'_>) -> Result<String, PushError> {
        let body = webhook_body(
            push.program,
            &push.month.to_string(),
            push.currency,
            push.charge,
            push.entry,
            push.held,
        )
        .map_err(|e| PushError::Rejected {
            target: TARGET,
            status: 0,
            message: e.to_string(),
        })?;
        let signed = signature(self.secret.expose_secret().as_bytes(), &body);
        let key = &push.entry.idempotency_key;
        // The receiver keeps one delivery per Idempotency-Key (the contract asks it to), so a
        // repeat of an unanswered delivery is safe.
        exchange(TARGET, "deliver", Repeat::Safe, || {
            self.http
                .post(self.url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header("Idempotency-Key", key)
                .header(SIGNATURE_HEADER, &signed)
                .body(body.clone())
        })
        .await?;
        Ok(key.clone())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_is_hmac_sha256_of_the_body() {
        // RFC 4231, test case 2.
        assert_eq!(
            super::signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
