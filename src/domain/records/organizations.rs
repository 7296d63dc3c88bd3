//! FortiCloud's organization and IAM records: where customer names come from. Shapes from
//! a public FortiCloud script, not Fortinet's docs, so read as leniently as FortiFlex's.

use serde::{Deserialize, Serialize};

use super::lenient;
use crate::domain::ids::AccountId;

/// `units/list`'s `organizationUnits`: the organization and its units.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgUnits {
    #[serde(default, deserialize_with = "lenient::lenient_u64")]
    pub org_id: Option<u64>,
    #[serde(default)]
    pub org_units: Vec<OrgUnit>,
}

/// One organization unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgUnit {
    #[serde(deserialize_with = "lenient::required_u64")]
    pub id: u64,
    #[serde(default, deserialize_with = "lenient::lenient_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::lenient_u64")]
    pub parent_id: Option<u64>,
}

/// One account of `accounts/list`. Its e-mail address is not read: only the company
/// names a customer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IamAccount {
    #[serde(deserialize_with = "lenient::required_u64")]
    pub id: u64,
    #[serde(default, deserialize_with = "lenient::lenient_text")]
    pub company: Option<String>,
    #[serde(default, deserialize_with = "lenient::lenient_u64")]
    pub parent_id: Option<u64>,
}

impl IamAccount {
    pub fn account(&self) -> AccountId {
        AccountId(self.id)
    }
}
