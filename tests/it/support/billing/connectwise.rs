//! The ConnectWise PSA stand-in: agreement additions (POST, PATCH with JSON Patch, GET with
//! `conditions`), Basic `company+public:private` and the `clientId` header checked. Like
//! ConnectWise, it takes no idempotency key: every POST that arrives adds an addition.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use rust_decimal::Decimal;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{
    Addition, Books_, CW_CLIENT, CW_COMPANY, CW_PRIVATE, CW_PUBLIC, answer, faults, read_fault,
    status,
};

/// The header reqwest (any HTTP client) sends for Basic `user:password`.
fn basic(user: &str, password: &str) -> String {
    let req = reqwest::Client::new()
        .get("http://127.0.0.1/")
        .basic_auth(user, Some(password))
        .build()
        .unwrap();
    req.headers()["authorization"].to_str().unwrap().to_string()
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

pub(super) async fn cw_add(
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
        #[serde(borrow, default)]
        unit_cost: Option<&'a RawValue>,
        bill_customer: String,
        effective_date: Option<String>,
        cancelled_date: Option<String>,
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
    let Some(effective_date) = new.effective_date.filter(|d| valid_date(d)) else {
        return status(
            400,
            json!({"code": "InvalidObject", "message": "effectiveDate is required"}),
        );
    };
    if new
        .cancelled_date
        .as_deref()
        .is_some_and(|c| !valid_date(c) || c < effective_date.as_str())
    {
        return status(
            400,
            json!({"code": "InvalidObject", "message": "cancelledDate must be on or after effectiveDate"}),
        );
    }
    let how = match faults(&books, "connectwise", "POST") {
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
            quantity_text: new
                .quantity
                .map(|q| q.get().to_string())
                .unwrap_or_default(),
            unit_price: number(new.unit_price),
            unit_cost: number(new.unit_cost),
            effective_date,
            cancelled_date: new.cancelled_date,
            invoice_description: new.invoice_description.unwrap_or_default(),
        };
        b.additions.push(addition.clone());
        status(201, addition_json(&addition))
    };
    answer(how, reply).await
}

/// ConnectWise's date-times: `YYYY-MM-DDTHH:MM:SSZ`.
fn valid_date(d: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(d).is_ok()
}

fn addition_json(a: &Addition) -> Value {
    json!({
        "id": a.id, "agreementId": a.agreement, "product": {"id": a.product},
        "quantity": a.quantity.to_string().parse::<f64>().unwrap(),
        "billCustomer": "Billable", "effectiveDate": a.effective_date,
        "cancelledDate": a.cancelled_date,
        "invoiceDescription": a.invoice_description,
    })
}

pub(super) async fn cw_list(
    State(books): Books_,
    Path(agreement): Path<u64>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(r) = cw_authorized(&headers) {
        return r;
    }
    if let Some(r) = read_fault(&books, "connectwise") {
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

pub(super) async fn cw_patch(
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
    let how = match faults(&books, "connectwise", "PATCH") {
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
                ("replace", "quantity", Some(v)) => {
                    a.quantity = v;
                    a.quantity_text = op.value.get().to_string();
                }
                ("replace", "unitPrice", Some(v)) => a.unit_price = Some(v),
                ("replace", "unitCost", Some(v)) => a.unit_cost = Some(v),
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
    answer(how, reply).await
}
