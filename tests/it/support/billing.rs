//! Stand-ins for the billing systems, over real HTTP on loopback, written from their
//! documented shapes (not from our client): ConnectWise PSA's agreement additions (Basic
//! `company+public:private` and a `clientId` header; POST, PATCH with JSON Patch, GET with
//! `conditions`), Stripe's `POST /v1/billing/meter_events` (Bearer key, form-encoded, whole
//! values, a repeated `identifier` refused as Stripe refuses it, `timestamp` within 35 days)
//! and a webhook receiver that checks the HMAC-SHA256 signature and keeps one delivery per
//! `Idempotency-Key`. Faults: a refused agreement, one 503 or 429, and a request recorded
//! but never answered (so a test can kill the client between the call and its ledger).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sha2::Sha256;

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

type Books_ = State<Arc<Mutex<Books>>>;

fn status(code: u16, body: Value) -> Response {
    (StatusCode::from_u16(code).unwrap(), axum::Json(body)).into_response()
}

/// The header reqwest (any HTTP client) sends for Basic `user:password`.
fn basic(user: &str, password: &str) -> String {
    let req = reqwest::Client::new()
        .get("http://127.0.0.1/")
        .basic_auth(user, Some(password))
        .build()
        .unwrap();
    req.headers()["authorization"].to_str().unwrap().to_string()
}

/// Fault injection shared by every write: `Err(response)` ends the request here; `Ok(true)`:
/// process it, then never answer.
#[allow(clippy::result_large_err)]
fn faults(
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
async fn hang_if(hang: bool, reply: Response) -> Response {
    if hang {
        std::future::pending::<()>().await;
    }
    reply
}

fn cw_authorized(headers: &HeaderMap) -> Option<Response> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    let expected = basic(&format!("{CW_COMPANY}+{CW_PUBLIC}"), CW_PRIVATE);
    let client = headers.get("clientId").and_then(|v| v.to_str().ok());
    if auth != Some(expected.as_str()) || client != Some(CW_CLIENT) {
        return Some(status(
            401,
            json!({"code": "Unauthorized", "message": "Authentication failed"}),
        ));
    }
    None
}

fn number(raw: Option<&RawValue>) -> Option<Decimal> {
    raw.and_then(|r| Decimal::from_str_exact(r.get()).ok())
}

async fn cw_add(
    State(books): Books_,
    Path(agreement): Path<u64>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = cw_authorized(&headers) {
        return r;
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct New<'a> {
        product: Value,
        #[serde(borrow)]
        quantity: Option<&'a RawValue>,
        #[serde(borrow)]
        unit_price: Option<&'a RawValue>,
        bill_customer: String,
        effective_date: Option<String>,
        invoice_description: Option<String>,
    }
    let Ok(new) = serde_json::from_slice::<New>(&body) else {
        return status(
            400,
            json!({"code": "InvalidObject", "message": "addition object is invalid"}),
        );
    };
    let (Some(product), Some(quantity)) = (new.product["id"].as_u64(), number(new.quantity)) else {
        return status(
            400,
            json!({"code": "InvalidObject", "message": "product.id and quantity are required"}),
        );
    };
    if !["Billable", "DoNotBill", "NoCharge"].contains(&new.bill_customer.as_str()) {
        return status(
            400,
            json!({"code": "InvalidObject", "message": "billCustomer is invalid"}),
        );
    }
    let refused = books
        .lock()
        .unwrap()
        .refuse_agreement
        .get(&agreement)
        .cloned();
    if let Some(message) = refused {
        books.lock().unwrap().refused.push((400, "connectwise"));
        return status(
            400,
            json!({"code": "InvalidObject", "message": message, "errors": []}),
        );
    }
    let hang = match faults(&books, "connectwise", "POST") {
        Ok(h) => h,
        Err(r) => return r,
    };
    let reply = {
        let mut b = books.lock().unwrap();
        let addition = Addition {
            id: 7000 + b.additions.len() as u64 + 1,
            agreement,
            product,
            quantity,
            unit_price: number(new.unit_price),
            effective_date: new.effective_date.unwrap_or_default(),
            invoice_description: new.invoice_description.unwrap_or_default(),
        };
        b.additions.push(addition.clone());
        status(201, addition_json(&addition))
    };
    hang_if(hang, reply).await
}

fn addition_json(a: &Addition) -> Value {
    json!({
        "id": a.id, "agreementId": a.agreement, "product": {"id": a.product},
        "quantity": a.quantity.to_string().parse::<f64>().unwrap(),
        "billCustomer": "Billable", "effectiveDate": a.effective_date,
        "invoiceDescription": a.invoice_description,
    })
}

async fn cw_list(
    State(books): Books_,
    Path(agreement): Path<u64>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(r) = cw_authorized(&headers) {
        return r;
    }
    let query = query.unwrap_or_default();
    let pairs: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let product = pairs
        .get("conditions")
        .and_then(|c| c.strip_prefix("product/id="))
        .and_then(|p| p.trim().parse::<u64>().ok());
    let size: usize = pairs
        .get("pageSize")
        .and_then(|p| p.parse().ok())
        .unwrap_or(25);
    let page: usize = pairs.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let b = books.lock().unwrap();
    let found: Vec<Value> = b
        .additions
        .iter()
        .filter(|a| a.agreement == agreement && product.is_none_or(|p| a.product == p))
        .skip((page - 1) * size)
        .take(size)
        .map(addition_json)
        .collect();
    status(200, Value::Array(found))
}

async fn cw_patch(
    State(books): Books_,
    Path((agreement, id)): Path<(u64, u64)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = cw_authorized(&headers) {
        return r;
    }
    #[derive(serde::Deserialize)]
    struct Op<'a> {
        op: String,
        path: String,
        #[serde(borrow)]
        value: &'a RawValue,
    }
    let Ok(ops) = serde_json::from_slice::<Vec<Op>>(&body) else {
        return status(
            400,
            json!({"code": "InvalidObject", "message": "a JSON Patch array is expected"}),
        );
    };
    let hang = match faults(&books, "connectwise", "PATCH") {
        Ok(h) => h,
        Err(r) => return r,
    };
    let reply = {
        let mut b = books.lock().unwrap();
        let Some(a) = b
            .additions
            .iter_mut()
            .find(|a| a.id == id && a.agreement == agreement)
        else {
            return status(
                404,
                json!({"code": "NotFound", "message": "Addition not found"}),
            );
        };
        for op in ops {
            let value = number(Some(op.value));
            match (op.op.as_str(), op.path.as_str(), value) {
                ("replace", "quantity", Some(v)) => a.quantity = v,
                ("replace", "unitPrice", Some(v)) => a.unit_price = Some(v),
                _ => {
                    return status(
                        400,
                        json!({"code": "InvalidObject", "message": "unsupported operation"}),
                    );
                }
            }
        }
        let a = a.clone();
        status(200, addition_json(&a))
    };
    hang_if(hang, reply).await
}

async fn stripe_event(State(books): Books_, headers: HeaderMap, body: Bytes) -> Response {
    let error = |code: u16, message: String| {
        status(
            code,
            json!({"error": {"type": "invalid_request_error", "message": message}}),
        )
    };
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(format!("Bearer {STRIPE_KEY}").as_str()) {
        return error(401, "Invalid API Key provided".into());
    }
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let (identifier, event_name, customer) = (
        field("identifier"),
        field("event_name"),
        field("payload[stripe_customer_id]"),
    );
    let value = Decimal::from_str(&field("payload[value]")).ok();
    let Some(value) = value.filter(|v| v.fract().is_zero()) else {
        return error(400, "The payload value must be a whole number.".into());
    };
    if event_name.is_empty() || !customer.starts_with("cus_") {
        return error(
            400,
            "Missing required param: event_name or payload[stripe_customer_id].".into(),
        );
    }
    let timestamp: i64 = field("timestamp").parse().unwrap_or(0);
    let now = books
        .lock()
        .unwrap()
        .stripe_now
        .unwrap_or_else(|| chrono::Utc::now().timestamp());
    if timestamp < now - 35 * 86_400 || timestamp > now + 300 {
        return error(
            400,
            "Timestamp must be within the past 35 calendar days.".into(),
        );
    }
    let repeated = books
        .lock()
        .unwrap()
        .events
        .iter()
        .any(|e| e.identifier == identifier);
    if repeated {
        books.lock().unwrap().refused.push((400, "stripe"));
        return error(
            400,
            format!("An event already exists with identifier {identifier}."),
        );
    }
    let hang = match faults(&books, "stripe", "POST") {
        Ok(h) => h,
        Err(r) => return r,
    };
    let event = MeterEvent {
        identifier: identifier.clone(),
        event_name: event_name.clone(),
        customer: customer.clone(),
        value,
        timestamp,
    };
    books.lock().unwrap().events.push(event);
    let reply = status(
        200,
        json!({"object": "billing.meter_event", "event_name": event_name, "identifier": identifier,
        "payload": {"stripe_customer_id": customer, "value": value.to_string()}, "timestamp": timestamp, "livemode": false}),
    );
    hang_if(hang, reply).await
}

async fn webhook(State(books): Books_, headers: HeaderMap, body: Bytes) -> Response {
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(&body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let signed = headers
        .get("x-fortiflex-signature")
        .and_then(|v| v.to_str().ok());
    if signed != Some(format!("sha256={hex}").as_str()) {
        return status(401, json!({"message": "bad signature"}));
    }
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
    else {
        return status(400, json!({"message": "Idempotency-Key is required"}));
    };
    let Ok(parsed) = serde_json::from_slice::<Value>(&body) else {
        return status(400, json!({"message": "not JSON"}));
    };
    let hang = match faults(&books, "webhook", "POST") {
        Ok(h) => h,
        Err(r) => return r,
    };
    {
        let mut b = books.lock().unwrap();
        if !b.deliveries.iter().any(|d| d.key == key) {
            b.deliveries.push(Delivery {
                key: key.clone(),
                body: parsed,
            });
        }
    }
    hang_if(hang, status(202, json!({"received": key}))).await
}
