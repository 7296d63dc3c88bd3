//! Stand-ins for the billing systems, over real HTTP on loopback, written from their
//! documented behaviour (not from our client):
//! - ConnectWise PSA's agreement additions (Basic `company+public:private` and a `clientId`
//!   header; POST, PATCH with JSON Patch, GET with `conditions`), and its agreement invoice:
//!   a period bills every addition active in it ([`Books::cw_billed`]). It takes no
//!   idempotency key: a POST that arrives twice is stored twice.
//! - Stripe's meters: `POST /v1/billing/meter_events` (Bearer key, form-encoded, whole
//!   values, a repeated `identifier` refused, `timestamp` at most 35 days back and 5 minutes
//!   ahead), `meter_event_adjustments` (cancel, within 24 hours of receipt), the meter list
//!   and its per-period event summaries, `Idempotency-Key` replayed; a period's invoice
//!   sums its events and bills a negative total as 0 ([`Books::stripe_billed`]).
//! - A webhook receiver that checks the HMAC-SHA256 signature and keeps one delivery per
//!   `Idempotency-Key`.
//!
//! Faults: a refused agreement, one 503 or 429, a write stored and then answered with a
//! 5xx, answered late, cut off mid-answer, or never answered (so a test can kill the client
//! between the call and its ledger).

mod connectwise;
mod stripe;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use connectwise::{cw_add, cw_list, cw_patch};
use stripe::{stripe_cancel, stripe_event, stripe_meters, stripe_summaries, webhook};

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
    /// The quantity exactly as it arrived in the JSON body.
    pub quantity_text: String,
    pub unit_price: Option<Decimal>,
    pub unit_cost: Option<Decimal>,
    pub effective_date: String,
    pub cancelled_date: Option<String>,
    pub invoice_description: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterEvent {
    pub identifier: String,
    pub event_name: String,
    pub customer: String,
    pub value: Decimal,
    pub timestamp: i64,
    /// Stripe's clock when it arrived (cancellable for 24 hours after).
    pub received: i64,
    pub cancelled: bool,
}

/// A write the stand-in stores and then answers badly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterStore {
    /// Answer with this 5xx.
    Status(u16),
    /// Answer after this many milliseconds (longer than the client waits).
    Late(u64),
    /// Send the status line, then cut the connection mid-body.
    CutOff,
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
    /// Store the next write to this target, then answer it badly (once).
    pub after_store: Option<(&'static str, AfterStore)>,
    /// Answer the next reads of this target with this status, this many times.
    pub fail_reads: Option<(&'static str, u16, u32)>,
    /// Stripe's clock (Unix seconds) for the 35-day window; the real one when `None`.
    pub stripe_now: Option<i64>,
    /// Stripe's meters: (id, event name).
    pub meters: Vec<(String, String)>,
    /// Stripe's summaries leave out events received at its current clock (aggregation lag).
    pub summaries_lag: bool,
    /// Stripe's cancellations, by identifier.
    pub adjustments: Vec<String>,
    /// Stripe's replies by Idempotency-Key (a repeated key gets the first reply).
    pub stripe_replies: HashMap<String, (u16, Value)>,
}

impl Books {
    /// The quantity ConnectWise's agreement invoice for `period` (`YYYY-MM`) bills of
    /// `agreement` × `product`: every addition active in the period (effective on or before
    /// its last day, not cancelled before its first).
    pub fn cw_billed(&self, agreement: u64, product: u64, period: &str) -> Decimal {
        let first = format!("{period}-01");
        let last = format!("{period}-31");
        self.additions
            .iter()
            .filter(|a| a.agreement == agreement && a.product == product)
            .filter(|a| a.effective_date[..10] <= *last.as_str())
            .filter(|a| {
                a.cancelled_date
                    .as_deref()
                    .is_none_or(|c| c[..10] >= *first.as_str())
            })
            .map(|a| a.quantity)
            .sum()
    }

    /// The sum of `customer`'s live events on `event_name` dated in `period` (`YYYY-MM`),
    /// as Stripe's summary reports it.
    pub fn stripe_sum(&self, customer: &str, event_name: &str, period: &str) -> Decimal {
        let (start, end) = month_bounds(period);
        self.events
            .iter()
            .filter(|e| !e.cancelled && e.customer == customer && e.event_name == event_name)
            .filter(|e| e.timestamp >= start && e.timestamp < end)
            .map(|e| e.value)
            .sum()
    }

    /// What the invoice of `period` bills: the period's sum, a negative total as 0.
    pub fn stripe_billed(&self, customer: &str, event_name: &str, period: &str) -> Decimal {
        self.stripe_sum(customer, event_name, period)
            .max(Decimal::ZERO)
    }
}

/// A calendar month's first instant and the next one's, in Unix seconds (UTC).
pub fn month_bounds(period: &str) -> (i64, i64) {
    let first = chrono::NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").unwrap();
    let next = first.checked_add_months(chrono::Months::new(1)).unwrap();
    let at = |d: chrono::NaiveDate| d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp();
    (at(first), at(next))
}

pub struct BillingStandIns {
    pub books: Arc<Mutex<Books>>,
    pub addr: std::net::SocketAddr,
}

impl BillingStandIns {
    pub async fn start() -> Self {
        let books = Arc::new(Mutex::new(Books {
            meters: vec![
                ("mtr_cents".into(), "fortiflex_cents".into()),
                ("mtr_points".into(), "fortiflex_points".into()),
            ],
            ..Books::default()
        }));
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
            .route("/v1/billing/meter_event_adjustments", post(stripe_cancel))
            .route("/v1/billing/meters", get(stripe_meters))
            .route(
                "/v1/billing/meters/{id}/event_summaries",
                get(stripe_summaries),
            )
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

    /// Sets Stripe's clock to an RFC 3339 instant.
    pub fn set_stripe_clock(&self, now: &str) {
        let at: chrono::DateTime<chrono::Utc> = now.parse().unwrap();
        self.books().stripe_now = Some(at.timestamp());
    }
}

pub(super) type Books_ = State<Arc<Mutex<Books>>>;

pub(super) fn status(code: u16, body: Value) -> Response {
    (StatusCode::from_u16(code).unwrap(), axum::Json(body)).into_response()
}

/// How a stored write is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    Normal,
    /// Never: the caller is killed waiting for it.
    Hang,
    Bad(AfterStore),
}

/// Fault injection shared by every write: `Err(response)` ends the request here (nothing
/// stored); `Ok(answer)`: process it, then answer so.
#[allow(clippy::result_large_err)]
pub(super) fn faults(
    books: &Arc<Mutex<Books>>,
    target: &'static str,
    method: &'static str,
) -> Result<Answer, Response> {
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
    if b.hang.take_if(|t| *t == target).is_some() {
        return Ok(Answer::Hang);
    }
    Ok(match b.after_store.take_if(|(t, _)| *t == target) {
        Some((_, bad)) => Answer::Bad(bad),
        None => Answer::Normal,
    })
}

/// A read fault: `Some(response)` once when the test asked this target's next read to fail.
pub(super) fn read_fault(books: &Arc<Mutex<Books>>, target: &'static str) -> Option<Response> {
    let mut b = books.lock().unwrap();
    let (t, code, times) = b.fail_reads.as_mut().filter(|(t, _, _)| *t == target)?;
    let (_, code) = (*t, *code);
    *times -= 1;
    if *times == 0 {
        b.fail_reads = None;
    }
    Some(status(code, json!({"message": "service unavailable"})))
}

/// The stored write's answer, as the fault says.
pub(super) async fn answer(how: Answer, reply: Response) -> Response {
    match how {
        Answer::Normal => reply,
        Answer::Hang => {
            std::future::pending::<()>().await;
            reply
        }
        Answer::Bad(AfterStore::Status(code)) => status(code, json!({"message": "internal error"})),
        Answer::Bad(AfterStore::Late(ms)) => {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            reply
        }
        Answer::Bad(AfterStore::CutOff) => {
            let broken = futures_util::stream::once(async {
                Err::<axum::body::Bytes, std::io::Error>(std::io::Error::other("connection reset"))
            });
            let mut r = axum::body::Body::from_stream(broken).into_response();
            *r.status_mut() = reply.status();
            r
        }
    }
}
