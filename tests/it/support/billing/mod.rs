//! Stand-ins for the billing systems, over real HTTP on loopback, written from their
//! documented shapes (not from our client): ConnectWise PSA's agreement additions (Basic
//! `company+public:private` and a `clientId` header; POST, PATCH with JSON Patch, GET with
//! `conditions`), Stripe's `POST /v1/billing/meter_events` (Bearer key, form-encoded, whole
//! values, a repeated `identifier` refused as Stripe refuses it, `timestamp` within 35 days)
//! and a webhook receiver that checks the HMAC-SHA256 signature and keeps one delivery per
//! `Idempotency-Key`. Faults: a refused agreement, one 503 or 429, and a request recorded
//! but never answered (so a test can kill the client between the call and its ledger).

mod connectwise;
mod stripe;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use connectwise::{cw_add, cw_list, cw_patch};
use stripe::{stripe_event, webhook};

pub const CW_COMPANY: &str = "acmemsp";
pub const CW_PUBLIC: &str = "pubkey123";
pub const CW_PRIVATE: &str = "privkey-secret-456";
pub const CW_CLIENT: &str = "client-id-789";
pub const STRIPE_KEY: &str = "sk_test_standin_secret";
pub const WEBHOOK_SECRET: &str = "whsec_standin_secret";

/// The credentials file for the stand-ins.
pub fn credentials_json() -> String {
    json!({
        "connectwise": {"company_id": CW_COMPANY, "public_key": CW_PUBLIC, "private_key": CW_PRIVATE, "client_id": CW_CLIENT},
        "stripe": {"secret_key": STRIPE_KEY},
        "webhook": {"secret": WEBHOOK_SECRET}
    })
    .to_string()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addition {
    pub id: u64,
    pub agreement: u64,
    pub product: u64,
    pub quantity: Decimal,
    pub unit_price: Option<Decimal>,
    pub effective_date: String,
    pub invoice_description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterEvent {
    pub identifier: String,
    pub event_name: String,
    pub customer: String,
    pub value: Decimal,
    pub timestamp: i64,
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub key: String,
    pub body: Value,
}

#[derive(Default)]
pub struct Books {
    pub additions: Vec<Addition>,
    /// Every write request that reached a target: (target, method).
    pub writes: Vec<(&'static str, &'static str)>,
    pub events: Vec<MeterEvent>,
    pub deliveries: Vec<Delivery>,
    /// Requests refused (status, target).
    pub refused: Vec<(u16, &'static str)>,
    /// Agreements ConnectWise refuses, with its message.
    pub refuse_agreement: HashMap<u64, String>,
    /// Answer the next write to this target with this status once.
    pub fail_once: HashMap<&'static str, u16>,
    /// Record the next write to this target, then never answer.
    pub hang: Option<&'static str>,
    /// Stripe's clock (Unix seconds) for the 35-day window; the real one when `None`.
    pub stripe_now: Option<i64>,
}

pub struct BillingStandIns {
    pub books: Arc<Mutex<Books>>,
    pub addr: std::net::SocketAddr,
}

impl BillingStandIns {
    pub async fn start() -> Self {
        let books = Arc::new(Mutex::new(Books::default()));
        let app = Router::new()
            .route(
                "/v4_6_release/apis/3.0/finance/agreements/{agreement}/additions",
                post(cw_add).get(cw_list),
            )
            .route(
                "/v4_6_release/apis/3.0/finance/agreements/{agreement}/additions/{id}",
                patch(cw_patch),
            )
            .route("/v1/billing/meter_events", post(stripe_event))
            .route("/hooks/billing", post(webhook))
            .with_state(Arc::clone(&books));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        BillingStandIns { books, addr }
    }

    /// `CONNECTWISE_API_URL`, `STRIPE_API_URL`, `BILLING_WEBHOOK_URL` for the stand-ins.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "CONNECTWISE_API_URL",
                format!("http://{}/v4_6_release/apis/3.0/", self.addr),
            ),
            ("STRIPE_API_URL", format!("http://{}/", self.addr)),
            (
                "BILLING_WEBHOOK_URL",
                format!("http://{}/hooks/billing", self.addr),
            ),
        ]
    }

    pub fn books(&self) -> std::sync::MutexGuard<'_, Books> {
        self.books.lock().unwrap()
    }
}

pub(super) type Books_ = State<Arc<Mutex<Books>>>;

pub(super) fn status(code: u16, body: Value) -> Response {
    (StatusCode::from_u16(code).unwrap(), axum::Json(body)).into_response()
}

/// Fault injection shared by every write: `Err(response)` ends the request here; `Ok(true)`:
/// process it, then never answer.
#[allow(clippy::result_large_err)]
pub(super) fn faults(
    books: &Arc<Mutex<Books>>,
    target: &'static str,
    method: &'static str,
) -> Result<bool, Response> {
    let mut b = books.lock().unwrap();
    b.writes.push((target, method));
    if let Some(code) = b.fail_once.remove(target) {
        b.refused.push((code, target));
        let mut r = status(code, json!({"message": "try again later"}));
        if code == 429 {
            r.headers_mut().insert("retry-after", "1".parse().unwrap());
        }
        return Err(r);
    }
    Ok(b.hang.take_if(|t| *t == target).is_some())
}

/// Processed, but the answer never leaves: the caller is killed waiting for it.
pub(super) async fn hang_if(hang: bool, reply: Response) -> Response {
    if hang {
        std::future::pending::<()>().await;
    }
    reply
}
