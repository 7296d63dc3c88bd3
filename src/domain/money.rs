//! Exact decimals as FortiFlex sends them and the contract writes them: parsed from their
//! text without a float, written with at least two places, rounded only for people.

use std::fmt::Write as _;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// Exact decimal text to [`Decimal`], keeping its scale (`750.40` stays `750.40`).
/// Accepts JSON numbers, numeric strings and exponent notation; rejects everything else.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let t = text.trim();
    let t = t
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(t)
        .trim();
    if t.is_empty() {
        return None;
    }
    if t.contains(['e', 'E']) {
        Decimal::from_scientific(t).ok()
    } else {
        Decimal::from_str_exact(t).ok()
    }
}

/// `points`: the exact text FortiFlex sent, never routed through a float. Borrowed from the
/// reply (replies are parsed from a byte slice), so a row costs no copy of its number.
pub fn exact_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let raw = <&'de RawValue>::deserialize(d)?;
    parse_decimal(raw.get()).ok_or_else(|| D::Error::custom("points is not a decimal number"))
}

/// A decimal written into JSON with its exact text (`107.20`, not `107.2`), and read back
/// from it without a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exact(pub Decimal);

impl<'de> serde::Deserialize<'de> for Exact {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        exact_decimal(d).map(Exact)
    }
}

impl Serialize for Exact {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RawValue::from_string(points_text(self.0))
            .map_err(serde::ser::Error::custom)?
            .serialize(s)
    }
}

/// Decimal text as the contract writes it: at least two places, never an exponent, no
/// negative zero, otherwise exactly the digits FortiFlex sent.
pub fn points_text(d: Decimal) -> String {
    let mut s = String::new();
    write_points(&mut s, d);
    s
}

/// [`points_text`] appended to `out`, for renderers that reuse one buffer per cell.
pub fn write_points(out: &mut String, d: Decimal) {
    let _ = write!(out, "{}", contract_points(d));
}

/// `d` as the contract writes it and a reader of the JSON gets it back: at least two
/// places, zero without a sign. What a day's rollup stores, so it equals the day's JSON.
pub fn contract_points(mut d: Decimal) -> Decimal {
    if d.is_zero() {
        d.set_sign_positive(true);
    }
    if d.scale() < 2 {
        d.rescale(2);
    }
    d
}

/// A value rounded to two places for people to read (half away from zero).
pub fn display2(d: Decimal) -> String {
    points_text(d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::dec;

    #[test]
    fn number_text_is_exact_with_two_places_at_least() {
        assert_eq!(points_text(dec("750.4")), "750.40");
        assert_eq!(points_text(dec("750.40")), "750.40");
        assert_eq!(points_text(dec("12")), "12.00");
        assert_eq!(points_text(dec("0.125")), "0.125");
        assert_eq!(points_text(dec("-0")), "0.00");
        assert_eq!(
            points_text(Decimal::from_scientific("1.5e-9").unwrap()),
            "0.0000000015"
        );
        assert_eq!(display2(dec("2795.94") / dec("7")), "399.42");
        assert_eq!(display2(dec("135.03") / dec("7")), "19.29");
        assert_eq!(display2(dec("0.005")), "0.01");
    }
}
