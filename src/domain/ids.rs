//! Identifiers that reach requests and object keys, checked where they enter.

use std::fmt;
use std::ops::Deref;

use crate::error::{Error, Result};

/// A checked serial number (a program's or an entitlement's): 6 to 32 upper-case letters
/// and digits. Only [`Serial::parse`] makes one, so an object key built from it is safe.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(String);

impl Serial {
    /// `value`, trimmed and upper-cased, or an `InvalidRequest` naming `what` it was.
    pub fn parse(value: &str, what: &str) -> Result<Self> {
        serial(value, what).map(Serial)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Serial {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Serial {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Serial {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl serde::Serialize for Serial {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A FortiCloud account id: the partner's own, or a customer's. A type of its own so that it
/// cannot be mixed up with the config and product ids that are numbers too.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct AccountId(pub u64);

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl From<u64> for AccountId {
    fn from(id: u64) -> Self {
        AccountId(id)
    }
}

impl std::str::FromStr for AccountId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        s.trim().parse().map(AccountId)
    }
}

/// A serial number as it may appear in a request and an object key: 6 to 32 letters and
/// digits. Lower case is accepted and upper-cased, as FortiCloud shows serials.
fn serial(value: &str, what: &str) -> Result<String> {
    let s = value.trim().to_ascii_uppercase();
    if (6..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(s)
    } else {
        Err(Error::InvalidRequest(format!(
            "{what} must be 6 to 32 letters and digits, not {value:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_checked_before_reaching_a_key_or_request() {
        assert_eq!(
            Serial::parse(" fgt71ftk22000471 ", "serial").unwrap(),
            "FGT71FTK22000471"
        );
        for bad in [
            "",
            "FGT",
            "../../etc",
            "FGT71F TK2",
            "A".repeat(33).as_str(),
            "FGT71FTK2x'--",
        ] {
            assert_eq!(
                Serial::parse(bad, "serial").unwrap_err().kind(),
                "InvalidRequest",
                "{bad:?}"
            );
        }
    }
}
