//! FortiCloud's organization and IAM calls as the simulated API user sees them: units under
//! the organization and accounts with company names, each service behind its own token
//! (`client_id` `organization` or `iam`). A tenant without an organization (the dataset's
//! `organization` is `None`) is an API user without the permission: FortiCloud refuses
//! those clients at login.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::{LOG_CALLS, SimCall, Simulator, bad_request, error_body, fault_reply, reply};

/// An organization: its units and its accounts (id, company, parent unit or the org).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOrganization {
    pub org_id: u64,
    pub units: Vec<(u64, &'static str)>,
    pub accounts: Vec<(u64, &'static str, u64)>,
    /// Accounts that join the organization on a day: listed only from then.
    pub joins: Vec<(u64, chrono::NaiveDate)>,
}

/// The services besides FortiFlex, by path and `client_id`.
pub(super) const SERVICES: [(&str, &str); 2] = [
    ("/ES/api/organization/v1/", "organization"),
    ("/ES/api/iam/v1/", "iam"),
];

/// Whether the tenant (with `org`, or none) lets its API user log in to `client_id`.
pub(super) fn permitted(org: Option<&SimOrganization>, client_id: &str) -> bool {
    client_id == "flexvm" || (org.is_some() && SERVICES.iter().any(|s| s.1 == client_id))
}

/// `units/list` (client `organization`) and `accounts/list` (client `iam`).
pub(super) fn answer(
    sim: &Simulator,
    client: &str,
    call: &str,
    req: &Value,
) -> Result<Value, String> {
    let org = sim
        .data
        .organization
        .as_ref()
        .ok_or("The API user has no organization.")?;
    match (client, call) {
        ("organization", "units/list") => Ok(json!({
            "status": 0,
            "message": "Request processed successfully.",
            "organizationUnits": {
                "orgId": org.org_id,
                "orgUnits": org.units.iter().map(|(id, name)| json!({"id": id, "name": name, "parentId": org.org_id})).collect::<Vec<_>>(),
            },
        })),
        ("iam", "accounts/list") => {
            let parent = req
                .get("parentId")
                .and_then(Value::as_u64)
                .ok_or("parentId is required.")?;
            let today = sim.today();
            let joined = |id: &u64| {
                org.joins
                    .iter()
                    .find(|(j, _)| j == id)
                    .is_none_or(|(_, on)| *on <= today)
            };
            let accounts: Vec<Value> = org
                .accounts
                .iter()
                .filter(|(id, _, p)| *p == parent && joined(id))
                .map(|(id, company, p)| {
                    json!({"id": id, "company": company, "email": format!("billing+{id}@example.com"), "parentId": p})
                })
                .collect();
            Ok(
                json!({"status": 0, "message": "Request processed successfully.", "accounts": accounts}),
            )
        }
        _ => Err(format!("Unknown call {call}.")),
    }
}

/// A FortiCloud organization or IAM call: counted and logged as FortiFlex's are (they are
/// assumed to share its budget), with its own token.
pub(super) async fn call(
    State(sim): State<Arc<Simulator>>,
    Path(call): Path<String>,
    headers: HeaderMap,
    body: Bytes,
    client: &'static str,
) -> Response {
    sim.calls.fetch_add(1, Ordering::SeqCst);
    let req = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    {
        let mut log = sim.log.lock().unwrap();
        if log.len() == LOG_CALLS {
            log.pop_front();
        }
        log.push_back(SimCall {
            at: Instant::now(),
            call: format!("{client}/{call}"),
            body: req.clone(),
        });
    }
    if let Some(faulted) = fault_reply(&sim).await {
        return faulted;
    }
    if !sim.token_valid(&headers, client) {
        return reply(
            StatusCode::UNAUTHORIZED,
            error_body(-1, "Invalid security token."),
        );
    }
    match answer(&sim, client, call.trim_end_matches('/'), &req) {
        Ok(v) => reply(StatusCode::OK, v.to_string()),
        Err(message) => bad_request(&message),
    }
}
