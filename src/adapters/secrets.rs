//! Where the Lambda's FortiFlex credentials come from: a Secrets Manager secret holding the
//! partner toolkit's `credentials.json` document. Read on every invocation, so a rotated
//! password is picked up without a redeploy. Errors name the secret and the field, never a value.

use std::future::Future;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

use crate::adapters::credentials::Credentials;
use crate::error::{Error, Result};

pub trait CredentialSource: Send + Sync {
    /// The credentials to call FortiFlex with, read now.
    fn credentials(&self) -> impl Future<Output = Result<Credentials>> + Send;
}

/// Credentials already in hand (a benchmark, a test): the same answer every time.
impl CredentialSource for Credentials {
    async fn credentials(&self) -> Result<Credentials> {
        Ok(self.clone())
    }
}

/// The real source: `GetSecretValue` on one secret (an ARN or a name).
#[derive(Debug, Clone)]
pub struct SecretsManager {
    client: Client,
    secret_id: String,
}

impl SecretsManager {
    pub fn new(client: Client, secret_id: impl Into<String>) -> Self {
        SecretsManager {
            client,
            secret_id: secret_id.into(),
        }
    }
}

impl SecretsManager {
    /// The secret's text, read now (a rotated value is picked up without a redeploy).
    pub(crate) async fn secret_string(&self) -> Result<String> {
        let id = &self.secret_id;
        let reply = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| {
                let e = e.into_service_error();
                let why = match &e {
                    GetSecretValueError::ResourceNotFoundException(_) => {
                        "it does not exist (or this role may not see it)".to_string()
                    }
                    other => match other.code() {
                        Some(code) => format!("{code}: {}", other.message().unwrap_or("")),
                        None => DisplayErrorContext(other).to_string(),
                    },
                };
                Error::Credentials(format!("cannot read secret {id}: {why}"))
            })?;
        reply.secret_string().map(str::to_string).ok_or_else(|| {
            Error::Credentials(format!(
                "secret {id} has no SecretString (a binary secret cannot hold the credential JSON)"
            ))
        })
    }

    /// The billing systems' credentials in this secret.
    pub(crate) async fn billing_credentials(
        &self,
    ) -> Result<crate::adapters::billing::BillingCredentials> {
        let text = self.secret_string().await?;
        crate::adapters::billing::BillingCredentials::from_json(
            &text,
            &format!("secret {}", self.secret_id),
        )
    }
}

impl CredentialSource for SecretsManager {
    async fn credentials(&self) -> Result<Credentials> {
        let text = self.secret_string().await?;
        Credentials::from_json(&text, &format!("secret {}", self.secret_id))
    }
}
