//! The Stripe meters stand-in (Bearer key, form-encoded, whole values, a repeated
//! `identifier` refused as Stripe refuses it, `timestamp` at most 35 days back and 5 minutes
//! ahead, cancellation within 24 hours of receipt, per-period event summaries, a repeated
//! `Idempotency-Key` answered as the first time) and the webhook receiver (HMAC-SHA256
//! signature checked, one delivery per `Idempotency-Key`).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::Sha256;

use super::{
    Books, Books_, Delivery, MeterEvent, STRIPE_KEY, WEBHOOK_SECRET, answer, faults, read_fault,
    status,
};

fn error(code: u16, message: String) -> Response {
    status(
        code,
        json!({"error": {"type": "invalid_request_error", "message": message}}),
    )
}

#[allow(clippy::result_large_err)]
fn authorized(headers: &HeaderMap) -> Result<(), Response> {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    match auth == Some(format!("Bearer {STRIPE_KEY}").as_str()) {
        true => Ok(()),
        false => Err(error(401, "Invalid API Key provided".into())),
    }
}

fn stripe_now(books: &Books) -> i64 {
    books
        .stripe_now
        .unwrap_or_else(|| chrono::Utc::now().timestamp())
}

/// The reply an earlier request with this `Idempotency-Key` got, replayed.
fn replayed(books: &Arc<Mutex<Books>>, headers: &HeaderMap) -> Option<Response> {
    let key = headers.get("idempotency-key")?.to_str().ok()?;
    let (code, body) = books.lock().unwrap().stripe_replies.get(key).cloned()?;
    Some(status(code, body))
}

fn remember(books: &Arc<Mutex<Books>>, headers: &HeaderMap, code: u16, body: &Value) {
    if let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        books
            .lock()
            .unwrap()
            .stripe_replies
            .insert(key.to_string(), (code, body.clone()));
    }
}

/// A write's form fields, each read as text (empty when absent), once its key is checked
/// and it is not a replay (`Err`: the answer).
#[allow(clippy::result_large_err)]
fn write_fields(
    books: &Arc<Mutex<Books>>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<impl Fn(&str) -> String, Response> {
    authorized(headers)?;
    if let Some(r) = replayed(books, headers) {
        return Err(r);
    }
    let form: HashMap<String, String> = form_urlencoded::parse(body).into_owned().collect();
    Ok(move |k: &str| form.get(k).cloned().unwrap_or_default())
}

pub(super) async fn stripe_event(
    State(books): Books_,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let field = match write_fields(&books, &headers, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
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
    let now = stripe_now(&books.lock().unwrap());
    if timestamp < now - 35 * 86_400 {
        return error(
            400,
            "Timestamp must be within the past 35 calendar days.".into(),
        );
    }
    if timestamp > now + 300 {
        return error(
            400,
            "Timestamp must not be more than 5 minutes in the future.".into(),
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
    let how = match faults(&books, "stripe", "POST") {
        Ok(h) => h,
        Err(r) => return r,
    };
    let event = MeterEvent {
        identifier: identifier.clone(),
        event_name: event_name.clone(),
        customer: customer.clone(),
        value,
        timestamp,
        received: now,
        cancelled: false,
    };
    books.lock().unwrap().events.push(event);
    let body = json!({"object": "billing.meter_event", "event_name": event_name, "identifier": identifier,
        "payload": {"stripe_customer_id": customer, "value": value.to_string()}, "timestamp": timestamp, "livemode": false});
    remember(&books, &headers, 200, &body);
    answer(how, status(200, body)).await
}

/// `POST /v1/billing/meter_event_adjustments`: `type=cancel`, `cancel[identifier]`, only
/// within 24 hours of Stripe receiving the event.
pub(super) async fn stripe_cancel(
    State(books): Books_,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let field = match write_fields(&books, &headers, &body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let (event_name, identifier) = (field("event_name"), field("cancel[identifier]"));
    if field("type") != "cancel" || identifier.is_empty() {
        return error(400, "type must be cancel, with cancel[identifier].".into());
    }
    let how = match faults(&books, "stripe", "CANCEL") {
        Ok(h) => h,
        Err(r) => return r,
    };
    let reply = {
        let mut b = books.lock().unwrap();
        let now = stripe_now(&b);
        let Some(e) = b
            .events
            .iter_mut()
            .find(|e| e.identifier == identifier && e.event_name == event_name)
        else {
            return error(400, format!("No meter event with identifier {identifier}."));
        };
        if now - e.received > 24 * 3600 {
            return error(
                400,
                "You can only cancel events within 24 hours of Stripe receiving them.".into(),
            );
        }
        e.cancelled = true;
        b.adjustments.push(identifier.clone());
        json!({"object": "billing.meter_event_adjustment", "event_name": event_name,
            "status": "pending", "type": "cancel", "cancel": {"identifier": identifier}})
    };
    remember(&books, &headers, 200, &reply);
    answer(how, status(200, reply)).await
}

/// `GET /v1/billing/meters`: the meters, one page.
pub(super) async fn stripe_meters(State(books): Books_, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&headers) {
        return r;
    }
    let b = books.lock().unwrap();
    let data: Vec<Value> = b
        .meters
        .iter()
        .map(|(id, name)| json!({"object": "billing.meter", "id": id, "event_name": name, "status": "active"}))
        .collect();
    status(
        200,
        json!({"object": "list", "data": data, "has_more": false}),
    )
}

/// `GET /v1/billing/meters/{id}/event_summaries`: one summary of the customer's live events
/// with `start_time <= timestamp < end_time` (both on minute boundaries).
pub(super) async fn stripe_summaries(
    State(books): Books_,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Err(r) = authorized(&headers) {
        return r;
    }
    if let Some(r) = read_fault(&books, "stripe") {
        return r;
    }
    let query: HashMap<String, String> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let time = |k: &str| query.get(k).and_then(|v| v.parse::<i64>().ok());
    let (Some(customer), Some(start), Some(end)) =
        (query.get("customer"), time("start_time"), time("end_time"))
    else {
        return error(
            400,
            "customer, start_time and end_time are required.".into(),
        );
    };
    if start % 60 != 0 || end % 60 != 0 {
        return error(
            400,
            "start_time and end_time must be aligned with minute boundaries.".into(),
        );
    }
    let b = books.lock().unwrap();
    let Some((_, event_name)) = b.meters.iter().find(|(m, _)| *m == id) else {
        return error(404, format!("No such billing meter: '{id}'"));
    };
    let now = stripe_now(&b);
    let sum: Decimal = b
        .events
        .iter()
        .filter(|e| !e.cancelled && e.customer == *customer && e.event_name == *event_name)
        .filter(|e| e.timestamp >= start && e.timestamp < end)
        .filter(|e| !(b.summaries_lag && e.received >= now))
        .map(|e| e.value)
        .sum();
    let value: Value = serde_json::from_str(&sum.normalize().to_string()).unwrap();
    status(
        200,
        json!({"object": "list", "has_more": false, "data": [{"object": "billing.meter_event_summary",
            "id": "mtrusg_1", "meter": id, "aggregated_value": value, "start_time": start, "end_time": end, "livemode": false}]}),
    )
}

pub(super) async fn webhook(State(books): Books_, headers: HeaderMap, body: Bytes) -> Response {
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
    let how = match faults(&books, "webhook", "POST") {
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
    answer(how, status(202, json!({"received": key}))).await
}
