//! The Stripe meter-event stand-in (Bearer key, form-encoded, whole values, a repeated
//! `identifier` refused as Stripe refuses it, `timestamp` within 35 days) and the webhook
//! receiver (HMAC-SHA256 signature checked, one delivery per `Idempotency-Key`).

use std::collections::HashMap;
use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::Sha256;

use super::{Books_, Delivery, MeterEvent, STRIPE_KEY, WEBHOOK_SECRET, faults, hang_if, status};

pub(super) async fn stripe_event(
    State(books): Books_,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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
