//! FortiFlex's records as the reporter knows them: programs, configurations, entitlements
//! and points rows, read leniently (FortiFlex's field types drift between releases), and the
//! queries it is sent.

mod lenient;
mod organizations;
mod tools;
pub(crate) use lenient::value_text;
pub use organizations::{IamAccount, OrgUnits};
pub use tools::{ParameterMeta, ProductMeta, Rate, RateQuery};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::domain::ids::AccountId;

/// A program from `programs/list`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Program {
    pub serial_number: String,
    #[serde(default, deserialize_with = "lenient::lenient_u64")]
    pub account_id: Option<AccountId>,
    #[serde(default, deserialize_with = "lenient::lenient_text")]
    pub start_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::lenient_text")]
    pub end_date: Option<String>,
    #[serde(default)]
    pub has_support_coverage: Option<bool>,
    #[serde(default, deserialize_with = "lenient::lenient_text")]
    pub program_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::lenient_decimal")]
    pub point_balance: Option<Decimal>,
}

/// A configuration from `configs/list`. Older payloads say `configId`/`configName`; both
/// spellings are read and the current one wins.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", from = "lenient::RawConfig")]
pub struct Config {
    pub id: u64,
    pub name: Option<String>,
    pub status: Option<String>,
    /// The account the configuration (and so its entitlements) belongs to.
    pub account_id: Option<AccountId>,
    pub product_type: ProductType,
    /// `parameters [{id, value}]`: CPU size, service package, add-ons; what `tools/calc`
    /// prices. Empty when FortiFlex sends none.
    pub parameters: Vec<Parameter>,
}

/// One parameter of a configuration; the value is kept as FortiFlex's text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Parameter {
    pub id: u64,
    pub value: String,
}

/// `productType {id, name}`; unknown ids are kept as numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductType {
    pub id: Option<u64>,
    pub name: Option<String>,
}

impl ProductType {
    /// FortiFlex's name, else the documented name of the id, else the id itself.
    pub fn label(&self) -> Option<String> {
        if let Some(name) = self.name.as_deref().filter(|n| !n.is_empty()) {
            return Some(name.to_string());
        }
        self.id
            .map(|id| product_name(id).map_or_else(|| id.to_string(), str::to_string))
    }
}

/// Product type names by id, as listed in Fortinet's Ansible collection and Terraform provider.
pub(crate) fn product_name(id: u64) -> Option<&'static str> {
    Some(match id {
        1 => "FortiGate-VM bundle",
        2 => "FortiManager-VM",
        3 => "FortiWeb-VM",
        4 => "FortiGate-VM A La Carte",
        5 => "FortiClient EMS On-Prem",
        7 => "FortiAnalyzer-VM",
        8 => "FortiPortal-VM",
        9 => "FortiADC-VM",
        10 => "FortiSOAR-VM",
        11 => "FortiMail-VM",
        12 => "FortiNAC-VM",
        101 => "FortiGate Hardware",
        102 => "FortiAP Hardware",
        103 => "FortiSwitch Hardware",
        202 => "FortiWeb Cloud - Private",
        203 => "FortiWeb Cloud - Public",
        204 => "FortiClient EMS Cloud",
        205 => "FortiSASE",
        206 => "FortiEDR",
        207 => "FortiNDR Cloud",
        208 => "FortiRecon",
        209 => "FortiSIEM Cloud",
        211 => "FortiAppSec",
        212 => "FortiDLP",
        _ => return None,
    })
}

/// Text from FortiFlex that report rows share instead of copying (100,000 rows would
/// otherwise be 400,000 small allocations).
pub type Text = std::sync::Arc<str>;

/// An entitlement from `entitlements/list`. Its licence `token` is deliberately not read.
/// Kept small: a big program lists 100,000 of them in one reply.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entitlement {
    pub serial_number: String,
    #[serde(default, deserialize_with = "lenient::lenient_u64")]
    pub account_id: Option<AccountId>,
    #[serde(default, deserialize_with = "lenient::lenient_u64")]
    pub config_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient::lenient_shared")]
    pub description: Option<Text>,
    #[serde(default, deserialize_with = "lenient::lenient_status")]
    pub status: Option<Text>,
    #[serde(default, deserialize_with = "lenient::lenient_day")]
    pub start_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "lenient::lenient_day")]
    pub end_date: Option<NaiveDate>,
    /// `tokenStatus` is `NOTUSED`: the licence was never applied to a device. The token
    /// itself is never read.
    #[serde(
        default,
        rename = "tokenStatus",
        deserialize_with = "lenient::not_used"
    )]
    pub token_unused: bool,
}

/// One row of `entitlements/points`: an entitlement's total for the whole requested range.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PointsRow {
    pub serial_number: String,
    #[serde(default, deserialize_with = "lenient::lenient_u64")]
    pub account_id: Option<AccountId>,
    #[serde(deserialize_with = "crate::domain::money::exact_decimal")]
    pub points: Decimal,
}

/// The body of `entitlements/points`. Dates are what FortiFlex is sent, already mapped
/// through [`crate::domain::window::EndDateMode`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PointsQuery {
    #[serde(with = "iso_date")]
    pub start_date: NaiveDate,
    #[serde(with = "iso_date")]
    pub end_date: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program_serial_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
}

/// The body of `entitlements/list`: a `configId`, or an account and program.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntitlementQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<AccountId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program_serial_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
}

mod iso_date {
    use chrono::NaiveDate;
    use serde::Serializer;

    pub(super) fn serialize<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&d.format("%Y-%m-%d"))
    }
}
