//! FortiFlex's tools: what a configuration costs a day (`tools/calc`) and what each product
//! type and parameter is called (`tools/metadata`). Both shapes are unconfirmed by Fortinet
//! (`fortiflex-api.md`): read leniently, but a rate only from an exact number.

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
    #[serde(default, alias = "id", deserialize_with = "lenient::lenient_u64")]
    pub product_type_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient::lenient_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::lenient_text")]
    pub form_factor: Option<String>,
    #[serde(default, deserialize_with = "parameter_list")]
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

/// A product type's `parameters`: a list of objects; anything else (null, a count, a map
/// FortiFlex may send one day) reads as none rather than failing the product's name.
fn parameter_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ParameterMeta>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    let serde_json::Value::Array(items) = v else {
        return Ok(Vec::new());
    };
    Ok(items
        .into_iter()
        .filter_map(|p| ParameterMeta::deserialize(p).ok())
        .collect())
}
