//! FortiFlex's tools: what a configuration costs a day (`tools/calc`) and what each product
//! type and parameter is called (`tools/metadata`). Both shapes are unconfirmed by Fortinet
//! (`fortiflex-api.md`): read leniently.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Parameter, lenient};

/// The body of `tools/calc`: `count` units of a product type with these parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RateQuery {
    pub program_serial_number: String,
    pub product_type_id: u64,
    pub count: u32,
    pub parameters: Vec<Parameter>,
}

/// A configuration's daily points: `current`, and a change FortiFlex announces (`latest`
/// from `latest_effective`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub current: Decimal,
    pub latest: Option<Decimal>,
    pub latest_effective: Option<NaiveDate>,
}

/// One product type of `tools/metadata`: its id, name, form factor and parameters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductMeta {
    #[serde(
        default,
        alias = "id",
        deserialize_with = "lenient::lenient_u64"
    )]
    pub product_type_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient::lenient_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::lenient_text")]
    pub form_factor: Option<String>,
    #[serde(default)]
    pub parameters: Vec<ParameterMeta>,
}

/// One parameter of a product type: its id and what it means (`name`, or `displayName`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ParameterMeta {
    #[serde(
        default,
        alias = "parameterId",
        deserialize_with = "lenient::lenient_u64"
    )]
    pub id: Option<u64>,
    #[serde(
        default,
        alias = "displayName",
        deserialize_with = "lenient::lenient_text"
    )]
    pub name: Option<String>,
}
