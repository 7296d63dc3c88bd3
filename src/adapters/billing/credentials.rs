//! The billing targets' credentials, from one JSON document (a file for the CLI, a Secrets
//! Manager secret for the Lambda):
//! `{"connectwise": {"company_id", "public_key", "private_key", "client_id"},
//!   "stripe": {"secret_key"}, "webhook": {"secret"}}`, each section optional. Errors name
//! the field and the document, never a value.

use serde_json::Value;

use crate::adapters::credentials::Secret;
use crate::error::{Error, Result};

/// ConnectWise's API member keys: Basic `company+public:private`, plus the `clientId` header.
#[derive(Debug, Clone)]
pub(crate) struct ConnectWiseKeys {
    pub company_id: String,
    pub public_key: String,
    pub private_key: Secret,
    pub client_id: String,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct BillingCredentials {
    pub connectwise: Option<ConnectWiseKeys>,
    /// Stripe's secret (or restricted) key.
    pub stripe: Option<Secret>,
    /// The webhook's HMAC key.
    pub webhook: Option<Secret>,
}

impl BillingCredentials {
    /// Parses the document; `origin` (a path or a secret id) names it in errors.
    pub(crate) fn from_json(text: &str, origin: &str) -> Result<Self> {
        let doc = crate::adapters::credentials::document(text, origin)?;
        if !doc.is_object() {
            return Err(Error::Credentials(format!(
                "{origin} must hold a JSON object"
            )));
        }
        let section = |name: &str| match doc.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v)),
            Some(_) => Err(Error::Credentials(format!(
                "{origin}: field '{name}' must be an object"
            ))),
        };
        let field = |section: &Value, path: &str, name: &str| -> Result<String> {
            match section.get(name) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                _ => Err(Error::Credentials(format!(
                    "missing required field '{path}.{name}' (a non-empty string) in {origin}"
                ))),
            }
        };
        let connectwise = section("connectwise")?
            .map(|s| {
                Ok::<_, Error>(ConnectWiseKeys {
                    company_id: field(s, "connectwise", "company_id")?,
                    public_key: field(s, "connectwise", "public_key")?,
                    private_key: Secret::from(field(s, "connectwise", "private_key")?),
                    client_id: field(s, "connectwise", "client_id")?,
                })
            })
            .transpose()?;
        let stripe = section("stripe")?
            .map(|s| field(s, "stripe", "secret_key").map(Secret::from))
            .transpose()?;
        let webhook = section("webhook")?
            .map(|s| field(s, "webhook", "secret").map(Secret::from))
            .transpose()?;
        Ok(BillingCredentials {
            connectwise,
            stripe,
            webhook,
        })
    }

    /// The document in a file.
    pub(crate) fn from_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Credentials(format!("cannot read {}: {}", path.display(), e.kind()))
        })?;
        Self::from_json(&text, &path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::credentials::ExposeSecret;

    #[test]
    fn sections_are_optional_and_errors_never_show_a_value() {
        let c = BillingCredentials::from_json(
            r#"{"stripe": {"secret_key": "sk_test_123"}, "webhook": {"secret": "whsec"}}"#,
            "billing.json",
        )
        .unwrap();
        assert!(c.connectwise.is_none());
        assert_eq!(c.stripe.unwrap().expose_secret(), "sk_test_123");
        let err = BillingCredentials::from_json(
            r#"{"connectwise": {"company_id": "acme", "public_key": "pub", "private_key": "", "client_id": "c"}}"#,
            "billing.json",
        )
        .unwrap_err();
        assert_eq!(err.kind(), "Credentials");
        assert!(err.to_string().contains("connectwise.private_key"), "{err}");
        assert!(!err.to_string().contains("pub"), "{err}");
        let err =
            BillingCredentials::from_json(r#"{"stripe": "sk_live_secret"}"#, "b.json").unwrap_err();
        assert!(!err.to_string().contains("sk_live"), "{err}");
    }
}
