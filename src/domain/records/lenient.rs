//! Reading the fields of FortiFlex rows tolerantly where the API is known to vary (ids as
//! numbers or strings, text as strings, numbers or named objects, both config spellings)
//! and strictly where a guess could misreport money (points keep their exact text).

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{Config, Parameter, ProductType};
use crate::domain::ids::AccountId;
use crate::domain::money::parse_decimal;

pub(super) fn lenient_decimal<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Decimal>, D::Error> {
    let raw = Option::<&'de RawValue>::deserialize(d)?;
    Ok(raw.and_then(|r| parse_decimal(r.get())))
}

/// An entitlement's `status`: one of a few words, so every row that has a known one shares
/// a single allocation instead of holding its own (100,000 of them at scale).
pub(super) fn lenient_status<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<super::Text>, D::Error> {
    static KNOWN: std::sync::LazyLock<[super::Text; 4]> = std::sync::LazyLock::new(|| {
        ["ACTIVE", "STOPPED", "PENDING", "EXPIRED"].map(super::Text::from)
    });
    Ok(d.deserialize_any(Lenient)?.map(|v| match v {
        Scalar::Borrowed(s) => KNOWN
            .iter()
            .find(|k| ***k == *s)
            .cloned()
            .unwrap_or_else(|| super::Text::from(s)),
        other => shared(other),
    }))
}

/// An id (a plain number or an [`AccountId`](crate::domain::ids::AccountId)) that may come as a
/// number or a numeric string; anything else is no id.
pub(super) fn lenient_u64<'de, D: Deserializer<'de>, T: From<u64>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    Ok(d.deserialize_any(Lenient)?.and_then(|v| match v {
        Scalar::Unsigned(n) => Some(T::from(n)),
        Scalar::Borrowed(s) => s.trim().parse().ok().map(T::from),
        Scalar::Text(s) => s.trim().parse().ok().map(T::from),
        _ => None,
    }))
}

/// Text that may come as a string, a number, or an object with a `name`.
/// A required id, as a number or its text.
pub(super) fn required_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = Value::deserialize(d)?;
    value_u64(&v).ok_or_else(|| serde::de::Error::custom(format!("{v} is not an id")))
}

pub(super) fn lenient_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(d.deserialize_any(Lenient)?.map(|v| match v {
        Scalar::Unsigned(n) => n.to_string(),
        Scalar::Borrowed(s) => s.to_owned(),
        Scalar::Text(s) | Scalar::Other(s) => s,
    }))
}

/// [`lenient_text`] as shared text: a report row then refers to it instead of copying it.
pub(super) fn lenient_shared<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<super::Text>, D::Error> {
    Ok(d.deserialize_any(Lenient)?.map(shared))
}

fn shared(v: Scalar<'_>) -> super::Text {
    match v {
        // Straight from the reply into the shared allocation: one copy, not two.
        Scalar::Borrowed(s) => super::Text::from(s),
        Scalar::Unsigned(n) => super::Text::from(n.to_string()),
        Scalar::Text(s) | Scalar::Other(s) => super::Text::from(s),
    }
}

/// `tokenStatus`: whether it says `NOTUSED` (any case); anything else, or nothing, is used.
pub(super) fn not_used<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match d.deserialize_any(Lenient)? {
        Some(Scalar::Borrowed(s)) => s.trim().eq_ignore_ascii_case("NOTUSED"),
        Some(Scalar::Text(s)) => s.trim().eq_ignore_ascii_case("NOTUSED"),
        _ => false,
    })
}

/// A date sent as `2025-01-10`, `2025-01-10T00:00:00` or `2025-01-10 00:00:00`; anything
/// else is no date (it is only ever shown, never computed with).
pub(super) fn lenient_day<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    let day = |t: &str| {
        let day = t.trim().split([' ', 'T']).next().unwrap_or_default();
        digits_day(day).or_else(|| day.parse::<NaiveDate>().ok())
    };
    Ok(d.deserialize_any(Lenient)?.and_then(|v| match v {
        Scalar::Borrowed(s) => day(s),
        Scalar::Text(s) | Scalar::Other(s) => day(&s),
        Scalar::Unsigned(_) => None,
    }))
}

/// `YYYY-MM-DD` read straight from its digits: chrono's general parser was a tenth of the
/// entitlement list's parse time. Anything else (or an impossible date) is left to chrono.
fn digits_day(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    NaiveDate::from_ymd_opt(
        i32::try_from(number(&b[..4])?).ok()?,
        number(&b[5..7])?,
        number(&b[8..])?,
    )
}

/// What a lenient field held, read without building a `Value` tree for every row.
enum Scalar<'de> {
    Unsigned(u64),
    /// Text without escapes, borrowed from the reply: most fields, read without a copy.
    Borrowed(&'de str),
    Text(String),
    /// A negative or fractional number, a boolean, or an object's `name`: text only.
    Other(String),
}

struct Lenient;

impl<'de> serde::de::Visitor<'de> for Lenient {
    type Value = Option<Scalar<'de>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string, a number or an object with a name")
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Scalar::Unsigned(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(match u64::try_from(v) {
            Ok(n) => Scalar::Unsigned(n),
            Err(_) => Scalar::Other(v.to_string()),
        }))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(Scalar::Other(Value::from(v).to_string())))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Scalar::Other(v.to_string())))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Scalar::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Scalar::Text(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Scalar::Text(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(Lenient)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        // Rare (a productType object): the general path is fine here.
        let v = Value::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
        Ok(value_text(&v).map(Scalar::Other))
    }
}

pub(super) fn value_u64(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(m) => m.get("name").and_then(value_text),
        _ => None,
    }
}

/// Both spellings of a config, as they occur in the wild.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RawConfig {
    #[serde(default, deserialize_with = "lenient_u64")]
    id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_u64")]
    config_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    config_name: Option<String>,
    #[serde(default, deserialize_with = "lenient_text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient_u64")]
    account_id: Option<AccountId>,
    #[serde(default)]
    product_type: Option<Value>,
    #[serde(default)]
    parameters: Option<Value>,
}

/// `parameters [{id, value}]`, ids as numbers or strings, values as text or numbers; an
/// entry without an id is left out.
fn parameters(v: Option<&Value>) -> Vec<Parameter> {
    let Some(Value::Array(items)) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|p| {
            Some(Parameter {
                id: p.get("id").and_then(value_u64)?,
                value: p.get("value").and_then(value_text).unwrap_or_default(),
            })
        })
        .collect()
}

impl From<RawConfig> for Config {
    fn from(r: RawConfig) -> Self {
        let product_type = match &r.product_type {
            Some(Value::Object(m)) => ProductType {
                id: m.get("id").and_then(value_u64),
                name: m.get("name").and_then(value_text),
            },
            Some(v @ Value::Number(_)) => ProductType {
                id: value_u64(v),
                name: None,
            },
            Some(Value::String(s)) => ProductType {
                id: None,
                name: Some(s.clone()),
            },
            _ => ProductType::default(),
        };
        Config {
            id: r.id.or(r.config_id).unwrap_or(0),
            name: r.name.or(r.config_name),
            status: r.status,
            account_id: r.account_id,
            product_type,
            parameters: parameters(r.parameters.as_ref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_read_the_day_chrono_reads() {
        let mut texts: Vec<String> = ["2024-02-29", "2025-02-29", "2025-13-01", "2025-00-10"]
            .into_iter()
            .chain([
                "0000-01-01",
                "9999-12-31",
                "2025-1-05",
                "+2025-01-0",
                "2025-01-0a",
            ])
            .map(String::from)
            .collect();
        let first = NaiveDate::from_ymd_opt(2023, 12, 25).unwrap();
        texts.extend(first.iter_days().take(800).map(|d| d.to_string()));
        for t in &texts {
            let chrono = t.parse::<NaiveDate>().ok();
            match digits_day(t) {
                Some(d) => assert_eq!(Some(d), chrono, "{t}"),
                None => assert!(t.len() != 10 || chrono.is_none(), "{t} left to chrono"),
            }
        }
        assert_eq!(
            digits_day("2025-11-08"),
            NaiveDate::from_ymd_opt(2025, 11, 8)
        );
    }
}
