//! One HTTP exchange with a billing target: 429, 5xx and network failures retried with
//! backoff (honouring `Retry-After`), a 4xx returned at once as the target's refusal.
//!
//! A request is retried blind only when repeating it cannot charge twice ([`Repeat::Safe`]:
//! a read, a `PATCH` that replaces a value, a create carrying a key the target dedupes on).
//! A create without one ([`Repeat::Never`]) is retried only when it surely never reached
//! the target (no connection, or a 429, which the target refused unprocessed); any other
//! failure (a timeout, a dropped connection, a 5xx, a broken reply) is
//! [`PushError::Unanswered`], for the adapter to look the create up before trying again.

use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode};

use super::PushError;

/// Tries per call, and the first backoff (doubling, at most [`MAX_WAIT`]).
const ATTEMPTS: u32 = 5;
const BASE: Duration = Duration::from_millis(500);
const MAX_WAIT: Duration = Duration::from_secs(30);
/// The most of a target's reply kept (its error message).
const MAX_BODY: usize = 1024 * 1024;

/// Whether a request may be sent again without asking the target first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Repeat {
    /// Repeating it leaves the target as one send would.
    Safe,
    /// A create the target keeps twice if it arrives twice: never repeated blind.
    Never,
}

/// The pause before the next try after `attempt` (1-based) failed: doubling from [`BASE`].
pub(super) fn backoff(attempt: u32) -> Duration {
    (BASE * 2u32.saturating_pow(attempt.saturating_sub(1))).min(MAX_WAIT)
}

/// A 2xx reply's body, or why there is none. `request` builds the request anew for each try.
pub(super) async fn exchange(
    target: &'static str,
    what: &str,
    repeat: Repeat,
    request: impl Fn() -> RequestBuilder,
) -> Result<(StatusCode, String), PushError> {
    let mut wait = BASE;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        // Whether this failure may have left something at the target.
        let mut maybe_arrived = true;
        match request().send().await {
            Ok(reply) => {
                let status = reply.status();
                let retry_after = reply
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                let body = reply
                    .bytes()
                    .await
                    .map(|b| String::from_utf8_lossy(&b[..b.len().min(MAX_BODY)]).into_owned());
                match body {
                    Ok(body) if status.is_success() => return Ok((status, body)),
                    Ok(body)
                        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() =>
                    {
                        maybe_arrived = status != StatusCode::TOO_MANY_REQUESTS;
                        last = format!("HTTP {}: {}", status.as_u16(), excerpt(&body));
                        if let Some(after) = retry_after {
                            wait = after.min(MAX_WAIT);
                        }
                    }
                    Ok(body) => {
                        return Err(PushError::Rejected {
                            target,
                            status: status.as_u16(),
                            message: excerpt(&body),
                        });
                    }
                    Err(e) => last = format!("the reply broke off: {e}"),
                }
            }
            Err(e) => {
                // A refused connection sent nothing.
                maybe_arrived = !e.is_connect();
                last = without_url(&e);
            }
        }
        if repeat == Repeat::Never && maybe_arrived {
            tracing::warn!(target_system = target, what, attempt, error = %last, "billing create unanswered; not repeated blind");
            return Err(PushError::Unanswered {
                target,
                message: format!("{what}: {last}"),
            });
        }
        tracing::warn!(target_system = target, what, attempt, error = %last, "billing call failed; retrying");
        if attempt < ATTEMPTS {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(MAX_WAIT);
        }
    }
    Err(PushError::Unsettled {
        target,
        message: format!("{what}: {last} (after {ATTEMPTS} tries)"),
    })
}

/// The target's message from a reply body (ConnectWise's `message`, Stripe's
/// `error.message`, else the body), short enough for an error message, on one line.
fn excerpt(body: &str) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let message = parsed.as_ref().and_then(|v| {
        v.get("message")
            .or_else(|| v.get("error").and_then(|e| e.get("message")))
            .and_then(|m| m.as_str())
    });
    let body = message.unwrap_or(body);
    let one_line: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(500)
        .collect();
    one_line.trim().to_string()
}

/// A transport error without its URL (a webhook URL can carry a token in its query): what
/// went wrong and the innermost cause.
fn without_url(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    let mut cause = String::new();
    let mut source = e.source();
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    format!("{kind}: {cause}")
}
