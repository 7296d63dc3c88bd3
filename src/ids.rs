//! Identifiers that reach requests and object keys, checked where they enter.

use crate::error::{Error, Result};

/// A serial number as it may appear in a request and an object key: 6 to 32 letters and
/// digits. Lower case is accepted and upper-cased, as FortiCloud shows serials.
pub fn serial(value: &str, what: &str) -> Result<String> {
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
            serial(" fgt71ftk22000471 ", "serial").unwrap(),
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
                serial(bad, "serial").unwrap_err().kind(),
                "InvalidRequest",
                "{bad:?}"
            );
        }
    }
}
