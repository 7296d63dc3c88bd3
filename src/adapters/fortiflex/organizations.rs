//! FortiCloud's organization and IAM calls, made by the FortiFlex client with the same API
//! user (its own token per service, the same pacer and retries): the organization's units,
//! and the accounts under the organization or a unit, with their company names.

use std::collections::HashMap;

use serde_json::json;
use serde_json::value::RawValue;

use super::answer::Whole;
use super::http::HttpFortiFlex;
use super::parse;
use super::service::Service;
use crate::domain::records::{IamAccount, OrgUnits};
use crate::error::{ApiError, Result};

const UNITS: &str = "units/list";
const ACCOUNTS: &str = "accounts/list";

impl HttpFortiFlex {
    pub(super) async fn units(&self) -> Result<OrgUnits> {
        self.answer_at(Service::Organization, UNITS, &json!({}), |status| Whole {
            bytes: Vec::new(),
            read: move |bytes: &[u8]| parse_units(status, bytes),
        })
        .await
    }

    pub(super) async fn accounts_under(&self, parent: u64) -> Result<Vec<IamAccount>> {
        self.call_at(
            Service::Iam,
            ACCOUNTS,
            &json!({"parentId": parent}),
            &["accounts"],
        )
        .await
    }
}

/// `{"status": 0, "organizationUnits": {"orgId", "orgUnits": [...]}}`.
pub(super) fn parse_units(
    http_status: u16,
    body: &[u8],
) -> std::result::Result<OrgUnits, ApiError> {
    let fail = |msg: String| ApiError::new(UNITS, Some(http_status), None, msg);
    let fields: HashMap<String, Box<RawValue>> =
        serde_json::from_slice(body).map_err(|_| fail("reply is not a JSON object".into()))?;
    parse::refused(UNITS, http_status, &fields)?;
    let raw = fields
        .get("organizationUnits")
        .ok_or_else(|| fail("reply has no 'organizationUnits'".into()))?;
    serde_json::from_str(raw.get())
        .map_err(|e| fail(format!("'organizationUnits' is unreadable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_in_the_scripts_shape_and_a_refusal_is_an_error() {
        let body = br#"{"status": 0, "message": "ok", "organizationUnits": {"orgId": 1000,
            "orgUnits": [{"id": 1001, "name": "West", "parentId": 1000}, {"id": "1002", "name": "East"}]}}"#;
        let units = parse_units(200, body).unwrap();
        assert_eq!(units.org_id, Some(1000));
        let ids: Vec<(u64, Option<u64>)> = units
            .org_units
            .iter()
            .map(|u| (u.id, u.parent_id))
            .collect();
        assert_eq!(ids, [(1001, Some(1000)), (1002, None)]);
        let err =
            parse_units(200, br#"{"status": -1, "message": "Permission denied"}"#).unwrap_err();
        assert!(err.to_string().contains("Permission denied"), "{err}");
        assert!(parse_units(200, br#"{"status": 0}"#).is_err());
    }
}
