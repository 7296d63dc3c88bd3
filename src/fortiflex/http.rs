//! The real FortiFlex client: OAuth password grant, a token reused until shortly before it
//! expires, one fresh login when FortiFlex refuses a token mid-run.

use std::time::{Duration, Instant};

use reqwest::{StatusCode, Url};
use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::{
    Config, Entitlement, EntitlementQuery, FortiFlexApi, PointsQuery, PointsRow, Program, parse,
};
use crate::credentials::{Credentials, Secret};
use crate::error::{ApiError, Error, Result};

pub const DEFAULT_API_URL: &str = "https://support.fortinet.com/ES/api/fortiflex/v2/";
pub const DEFAULT_AUTH_URL: &str = "https://customerapiauth.fortinet.com/api/v1/oauth/token/";

/// Renew this long before `expires_in` runs out, so a token never dies mid-call.
const TOKEN_MARGIN: Duration = Duration::from_secs(120);

/// Where FortiFlex lives: the v2 API base and the OAuth token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    api_base: Url,
    token_url: Url,
}

impl Endpoints {
    /// `api` is the v2 base (`.../fortiflex/v2/`); `auth` the token endpoint, or its
    /// `.../oauth/` folder, to which `token/` is added (the trailing slash matters).
    pub fn new(api: &str, auth: &str) -> Result<Self> {
        let parse = |name: &str, value: &str| {
            Url::parse(value.trim())
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .ok_or_else(|| {
                    Error::Configuration(format!("{name} '{value}' is not an http(s) URL"))
                })
        };
        let mut api_base = parse("FORTIFLEX_API_URL", api)?;
        if !api_base.path().ends_with('/') {
            api_base.set_path(&format!("{}/", api_base.path()));
        }
        let mut token_url = parse("FORTIFLEX_AUTH_URL", auth)?;
        let path = token_url.path().trim_end_matches('/').to_string();
        let path = if path.ends_with("/token") {
            format!("{path}/")
        } else {
            format!("{path}/token/")
        };
        token_url.set_path(&path);
        Ok(Endpoints {
            api_base,
            token_url,
        })
    }

    pub fn api_base(&self) -> &Url {
        &self.api_base
    }

    pub fn token_url(&self) -> &Url {
        &self.token_url
    }
}

/// The HTTP client every FortiFlex call shares: rustls, bounded connect and total time.
pub fn http_client(request_timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(request_timeout)
        .user_agent(concat!("fortiflex-reporter/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Configuration(format!("cannot build the HTTP client: {e}")))
}

struct Token {
    access: Secret,
    renew_at: Instant,
}

/// FortiFlex over HTTPS for one API user.
pub struct HttpFortiFlex {
    http: reqwest::Client,
    endpoints: Endpoints,
    username: String,
    password: Secret,
    token: Mutex<Option<Token>>,
}

impl HttpFortiFlex {
    pub fn new(http: reqwest::Client, endpoints: Endpoints, credentials: &Credentials) -> Self {
        HttpFortiFlex {
            http,
            endpoints,
            username: credentials.username.clone(),
            password: credentials.password.clone(),
            token: Mutex::new(None),
        }
    }

    /// The current token, logging in when there is none or it is about to expire.
    async fn access_token(&self) -> Result<Secret> {
        let mut slot = self.token.lock().await;
        if let Some(t) = slot.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(t.access.clone());
        }
        let token = self.login().await?;
        let access = token.access.clone();
        *slot = Some(token);
        Ok(access)
    }

    async fn login(&self) -> Result<Token> {
        let body = json!({
            "username": self.username,
            "password": self.password.expose(),
            "client_id": "flexvm",
            "grant_type": "password",
        });
        let reply = self
            .http
            .post(self.endpoints.token_url.clone())
            .json(&body)
            .send()
            .await
            .map_err(|e| transport_error("login", &e))?;
        let status = reply.status();
        let bytes = reply
            .bytes()
            .await
            .map_err(|e| transport_error("login", &e))?;
        if !status.is_success() {
            let e = parse::parse_error_reply("login", status.as_u16(), &bytes);
            return Err(Error::Authentication(format!(
                "FortiCloud refused API user '{}' (HTTP {}): {}",
                self.username,
                status.as_u16(),
                e.message
            )));
        }
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|_| Error::Authentication("FortiCloud's token reply is not JSON".into()))?;
        if let Some(s) = v
            .get("status")
            .and_then(Value::as_str)
            .filter(|s| *s != "success")
        {
            let msg = v.get("message").and_then(Value::as_str).unwrap_or(s);
            return Err(Error::Authentication(format!(
                "FortiCloud refused API user '{}': {msg}",
                self.username
            )));
        }
        let access = v
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::Authentication("FortiCloud's token reply has no access_token".into())
            })?;
        let expires_in = v
            .get("expires_in")
            .and_then(|e| {
                e.as_u64()
                    .or_else(|| e.as_str().and_then(|s| s.trim().parse().ok()))
            })
            .unwrap_or(3600);
        let lifetime = Duration::from_secs(expires_in)
            .saturating_sub(TOKEN_MARGIN)
            .max(Duration::from_secs(1));
        tracing::debug!(expires_in, "logged in to FortiCloud");
        Ok(Token {
            access: Secret::new(access),
            renew_at: Instant::now() + lifetime,
        })
    }

    /// One POST; a refused token earns one fresh login and one more try.
    async fn call<T: DeserializeOwned>(
        &self,
        call: &str,
        body: &impl Serialize,
        keys: &[&str],
    ) -> Result<Vec<T>> {
        let url =
            self.endpoints.api_base.join(call).map_err(|e| {
                Error::Configuration(format!("cannot build the URL of {call}: {e}"))
            })?;
        for attempt in 0..2 {
            let token = self.access_token().await?;
            let reply = self
                .http
                .post(url.clone())
                .bearer_auth(token.expose())
                .json(body)
                .send()
                .await
                .map_err(|e| transport_error(call, &e))?;
            let status = reply.status();
            let bytes = reply.bytes().await.map_err(|e| transport_error(call, &e))?;
            if status.is_success() {
                match parse::parse_list(call, status.as_u16(), &bytes, keys) {
                    Err(e) if e.code == Some(-1) => {} // token refused inside a 200
                    other => return Ok(other?),
                }
            } else {
                let e = parse::parse_error_reply(call, status.as_u16(), &bytes);
                if !(status == StatusCode::UNAUTHORIZED || e.code == Some(-1)) {
                    return Err(e.into());
                }
            }
            tracing::warn!(
                call,
                attempt,
                "FortiFlex refused the token; logging in again"
            );
            *self.token.lock().await = None;
        }
        Err(Error::Authentication(format!(
            "FortiFlex refused a fresh token for {call}: Invalid security token."
        )))
    }
}

fn transport_error(call: &str, e: &reqwest::Error) -> Error {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "transport error"
    };
    // The host, not the whole URL (it is in the configuration), and the root cause, which
    // says what happened ("Connection refused") where reqwest's own text does not.
    let host = e
        .url()
        .and_then(|u| {
            u.host_str().map(|h| {
                u.port()
                    .map_or_else(|| h.to_string(), |p| format!("{h}:{p}"))
            })
        })
        .map(|h| format!(" to {h}"))
        .unwrap_or_default();
    let mut root: &dyn std::error::Error = e;
    while let Some(next) = root.source() {
        root = next;
    }
    ApiError::new(call, None, None, format!("{what}{host}: {root}")).into()
}

const ROWS: &[&str] = &["entitlements", "vms"];

impl FortiFlexApi for HttpFortiFlex {
    async fn programs(&self) -> Result<Vec<Program>> {
        self.call("programs/list", &json!({}), &["programs"]).await
    }

    async fn program_balance(&self, program_serial: &str) -> Result<Option<Decimal>> {
        let rows: Vec<Program> = self
            .call(
                "programs/points",
                &json!({"programSerialNumber": program_serial}),
                &["programs"],
            )
            .await?;
        Ok(rows.into_iter().next().and_then(|p| p.point_balance))
    }

    async fn configs(&self, program_serial: &str, account_id: Option<u64>) -> Result<Vec<Config>> {
        let mut body = json!({"programSerialNumber": program_serial});
        if let Some(a) = account_id {
            body["accountId"] = json!(a);
        }
        self.call("configs/list", &body, &["configs"]).await
    }

    async fn entitlements(&self, query: &EntitlementQuery) -> Result<Vec<Entitlement>> {
        self.call("entitlements/list", query, ROWS).await
    }

    async fn points(&self, query: &PointsQuery) -> Result<Vec<PointsRow>> {
        self.call("entitlements/points", query, ROWS).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_normalise_slashes() {
        let e = Endpoints::new(
            "http://127.0.0.1:9/ES/api/fortiflex/v2",
            "http://127.0.0.1:9/api/v1/oauth",
        )
        .unwrap();
        assert_eq!(
            e.api_base().join("entitlements/points").unwrap().path(),
            "/ES/api/fortiflex/v2/entitlements/points"
        );
        assert_eq!(e.token_url().path(), "/api/v1/oauth/token/");
        let e = Endpoints::new(DEFAULT_API_URL, "https://h.example/api/v1/oauth/token").unwrap();
        assert_eq!(e.token_url().path(), "/api/v1/oauth/token/");
        let e = Endpoints::new(DEFAULT_API_URL, DEFAULT_AUTH_URL).unwrap();
        assert_eq!(e.token_url().as_str(), DEFAULT_AUTH_URL);
        let err = Endpoints::new("support.fortinet.com", DEFAULT_AUTH_URL).unwrap_err();
        assert_eq!(err.kind(), "Configuration");
        assert!(err.to_string().contains("FORTIFLEX_API_URL"));
    }
}
