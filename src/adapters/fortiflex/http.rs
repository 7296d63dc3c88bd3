//! The real FortiFlex client: OAuth password grant, a token reused until shortly before it
//! expires, one fresh login when FortiFlex refuses a token mid-run, calls paced under the
//! rate limits and retried with backoff when the failure is transient.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{StatusCode, Url};
use rust_decimal::Decimal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::answer::{Answer, Body, Reply, Whole};
use super::endpoints::Endpoints;
use super::pace::Pacer;
use super::pace::Window;
use super::retry::{self, Failure, Next, Retries, RetryPolicy};
use super::service::Service;
use super::{
    Config, Entitlement, EntitlementQuery, FortiFlexApi, PointsQuery, PointsRow, ProductMeta,
    Program, Rate, RateQuery, parse,
};
use crate::adapters::credentials::{Credentials, ExposeSecret, Secret};
use crate::domain::ids::AccountId;
use crate::error::{ApiError, Error, Result};

/// Renew this long before `expires_in` runs out, so a token never dies mid-call.
const TOKEN_MARGIN: Duration = Duration::from_secs(120);

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

/// The most a FortiFlex reply may hold; a bigger one is refused rather than buffered.
pub const MAX_REPLY_BYTES: usize = 32 * 1024 * 1024;

/// FortiFlex over HTTPS for one API user: paced, retried, one token at a time.
pub struct HttpFortiFlex {
    http: reqwest::Client,
    endpoints: Endpoints,
    username: String,
    password: Secret,
    /// One token per [`Service`].
    tokens: Mutex<[Option<Token>; 3]>,
    pacer: Arc<Pacer>,
    retry: RetryPolicy,
}

impl HttpFortiFlex {
    /// `pacer` may be shared with earlier clients of the same API user (a warm Lambda
    /// container), so back-to-back runs stay under the limits together.
    pub fn new(
        http: reqwest::Client,
        endpoints: Endpoints,
        credentials: &Credentials,
        pacer: Arc<Pacer>,
        retry: RetryPolicy,
    ) -> Self {
        HttpFortiFlex {
            http,
            endpoints,
            username: credentials.username.clone(),
            password: credentials.password.clone(),
            tokens: Mutex::new([None, None, None]),
            pacer,
            retry,
        }
    }

    /// The current token of `service`, logging in when there is none or it is about to
    /// expire.
    async fn access_token(&self, service: Service) -> Result<Secret> {
        let mut tokens = self.tokens.lock().await;
        let slot = &mut tokens[service.slot()];
        if let Some(t) = slot.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(t.access.clone());
        }
        let mut retries = Retries::new("login", &self.retry);
        let token = loop {
            match self.login(service).await {
                Ok(t) => break t,
                Err(f) => retries.after(f).await?,
            };
        };
        let access = token.access.clone();
        *slot = Some(token);
        Ok(access)
    }

    /// One paced POST: the status, the whole body (size-capped) and any `Retry-After`.
    async fn post(
        &self,
        call: &str,
        url: &Url,
        token: Option<&Secret>,
        body: &impl Serialize,
    ) -> std::result::Result<(StatusCode, Vec<u8>, Option<Duration>), Failure> {
        let (status, retry_after, bytes) = self
            .exchange(call, url, token, body, |_, expected| {
                // Sized once: growing a 30 MB reply by doubling copies it twice.
                Vec::with_capacity(expected.min(MAX_REPLY_BYTES))
            })
            .await?;
        Ok((status, bytes, retry_after))
    }

    /// One paced POST whose body goes, chunk by chunk as it arrives, to the [`Body`] that
    /// `open` makes once the status and the announced length are known. The turn is held
    /// until the body is in: FortiFlex counts a call until it has answered.
    async fn exchange<B: Body>(
        &self,
        call: &str,
        url: &Url,
        token: Option<&Secret>,
        body: &impl Serialize,
        open: impl FnOnce(StatusCode, usize) -> B,
    ) -> std::result::Result<(StatusCode, Option<Duration>, B), Failure> {
        let _turn = self.pacer.turn().await;
        let mut request = self.http.post(url.clone()).json(body);
        if let Some(t) = token {
            request = request.bearer_auth(t.expose_secret());
        }
        let transient = |e: reqwest::Error| Failure::Transient(transport_error(call, &e), None);
        let mut reply = request.send().await.map_err(transient)?;
        let status = reply.status();
        let retry_after = reply
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(300)));
        let too_big = || {
            Failure::Fatal(
                ApiError::new(
                    call,
                    Some(status.as_u16()),
                    None,
                    format!("reply larger than {} MiB, refused", MAX_REPLY_BYTES >> 20),
                )
                .into(),
            )
        };
        let expected = reply.content_length().unwrap_or(0);
        if expected > MAX_REPLY_BYTES as u64 {
            return Err(too_big());
        }
        let mut into = open(status, expected as usize);
        let mut seen = 0;
        while let Some(chunk) = reply.chunk().await.map_err(transient)? {
            seen += chunk.len();
            if seen > MAX_REPLY_BYTES {
                return Err(too_big());
            }
            into.feed(&chunk)
                .map_err(|e| judge(status, e, retry_after))?;
        }
        Ok((status, retry_after, into))
    }

    async fn login(&self, service: Service) -> std::result::Result<Token, Failure> {
        let body = json!({
            "username": self.username,
            "password": self.password.expose_secret(),
            "client_id": service.client_id(),
            "grant_type": "password",
        });
        let (status, bytes, retry_after) = self
            .post("login", self.endpoints.token_url(), None, &body)
            .await?;
        let refused = |msg: String| Failure::Fatal(Error::Authentication(msg));
        if !status.is_success() {
            let e = parse::parse_error_reply("login", status.as_u16(), &bytes);
            if retry::transient(Some(status.as_u16()), e.code) {
                return Err(Failure::Transient(e.into(), retry_after));
            }
            return Err(refused(format!(
                "FortiCloud refused API user '{}' for {} (HTTP {}): {}",
                self.username,
                service.client_id(),
                status.as_u16(),
                e.message
            )));
        }
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|_| refused("FortiCloud's token reply is not JSON".into()))?;
        if let Some(s) = v
            .get("status")
            .and_then(Value::as_str)
            .filter(|s| *s != "success")
        {
            let msg = v.get("message").and_then(Value::as_str).unwrap_or(s);
            return Err(refused(format!(
                "FortiCloud refused API user '{}': {msg}",
                self.username
            )));
        }
        let access = v
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| refused("FortiCloud's token reply has no access_token".into()))?;
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
            access: Secret::from(access),
            renew_at: Instant::now() + lifetime,
        })
    }

    /// A list call: the rows under the first of `keys`, parsed as they arrive.
    async fn call<T: DeserializeOwned>(
        &self,
        call: &str,
        body: &impl Serialize,
        keys: &[&str],
    ) -> Result<Vec<T>> {
        self.call_at(Service::FortiFlex, call, body, keys).await
    }

    /// [`HttpFortiFlex::call`] to another FortiCloud service.
    pub(super) async fn call_at<T: DeserializeOwned>(
        &self,
        service: Service,
        call: &str,
        body: &impl Serialize,
        keys: &[&str],
    ) -> Result<Vec<T>> {
        self.answer_at(service, call, body, |status| {
            parse::ReplyReader::new(call, status, keys)
        })
        .await
    }

    /// One API call whose successful reply `open` reads: paced, retried when the failure
    /// is transient, re-logged-in once when the token is refused.
    async fn answer<A: Answer>(
        &self,
        call: &str,
        body: &impl Serialize,
        open: impl Fn(u16) -> A,
    ) -> Result<A::Out> {
        self.answer_at(Service::FortiFlex, call, body, open).await
    }

    /// [`HttpFortiFlex::answer`] from `service`: the same pacer (whether FortiCloud counts
    /// these calls in FortiFlex's budget is unknown, so they are assumed to), retries and
    /// one fresh login when its token is refused.
    pub(super) async fn answer_at<A: Answer>(
        &self,
        service: Service,
        call: &str,
        body: &impl Serialize,
        open: impl Fn(u16) -> A,
    ) -> Result<A::Out> {
        let url = service.url(&self.endpoints, call)?;
        let mut retries = Retries::new(call, &self.retry);
        loop {
            match self.try_call(service, call, &url, body, &open).await {
                Ok(rows) => return Ok(rows),
                Err(Failure::WindowSpent(e, window)) => {
                    // One refused call per window: it is counted spent, and the next call
                    // waits it out, here when that fits the retry budget, else by the caller.
                    self.pacer.spend(window).await;
                    let wait = self.pacer.wait_for(1).await;
                    if wait > self.retry.budget {
                        return Err(Error::WindowSpent(format!(
                            "FortiFlex refused {call} for its {} limit ({e}): another client of this API user spent it; the next call fits in {} s",
                            match window {
                                Window::Minute => "minute",
                                Window::Hour => "hour",
                            },
                            wait.as_secs()
                        )));
                    }
                    tracing::warn!(call, wait_ms = wait.as_millis() as u64, error = %e, "FortiFlex's window is spent; waiting it out");
                }
                Err(f) => {
                    if retries.after(f).await? == Next::Relogin {
                        self.tokens.lock().await[service.slot()] = None;
                    }
                }
            }
        }
    }

    /// One try of a call. A successful reply goes to `open`'s reader as its chunks arrive;
    /// an error reply is read whole (it is small) for its status and message.
    async fn try_call<A: Answer>(
        &self,
        service: Service,
        call: &str,
        url: &Url,
        body: &impl Serialize,
        open: &impl Fn(u16) -> A,
    ) -> std::result::Result<A::Out, Failure> {
        let token = self.access_token(service).await.map_err(Failure::Fatal)?;
        let start = |status: StatusCode, _| {
            if status.is_success() {
                Reply::Ok(Box::new(open(status.as_u16())))
            } else {
                Reply::Error(Vec::new())
            }
        };
        let (status, retry_after, reply) =
            self.exchange(call, url, Some(&token), body, start).await?;
        let e = match reply {
            Reply::Ok(reader) => match reader.finish() {
                Ok(out) => return Ok(out),
                Err(e) => e,
            },
            Reply::Error(bytes) => parse::parse_error_reply(call, status.as_u16(), &bytes),
        };
        Err(judge(status, e, retry_after))
    }
}

/// What a FortiFlex error means for the call: log in again, try again later, or give up.
fn judge(status: StatusCode, e: ApiError, retry_after: Option<Duration>) -> Failure {
    if status == StatusCode::UNAUTHORIZED || e.code == Some(-1) {
        Failure::TokenRefused
    } else if let Some(window) = retry::spent_window(e.code) {
        Failure::WindowSpent(e.into(), window)
    } else if retry::transient(e.http_status, e.code) {
        Failure::Transient(e.into(), retry_after)
    } else {
        Failure::Fatal(e.into())
    }
}

fn transport_error(call: &str, e: &reqwest::Error) -> Error {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the reply broke off"
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

    async fn configs(
        &self,
        program_serial: &str,
        account_id: Option<AccountId>,
    ) -> Result<Vec<Config>> {
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

    async fn rate(&self, query: &RateQuery) -> Result<Rate> {
        let call = "tools/calc";
        self.answer(call, query, |status| Whole {
            bytes: Vec::new(),
            read: move |bytes: &[u8]| parse::parse_rate(call, status, bytes),
        })
        .await
    }

    async fn product_types(&self) -> Result<Vec<ProductMeta>> {
        self.call("tools/metadata", &json!({}), &["productTypes", "products"])
            .await
    }

    async fn organization_units(&self) -> Result<super::OrgUnits> {
        self.units().await
    }

    async fn organization_accounts(&self, parent: u64) -> Result<Vec<super::IamAccount>> {
        self.accounts_under(parent).await
    }
}
