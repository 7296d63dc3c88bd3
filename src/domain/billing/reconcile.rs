//! What a target will invoice against what the statement says: each pushed item read back
//! ([`Holds`]) and compared with its charge, so a difference is found at month end, not
//! when a customer disputes the bill.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::domain::money::points_text;

/// What a target holds of one item, read back: the sum of its records carrying the item's
/// keys (ConnectWise's additions) or of the customer's meter over the item's periods
/// (Stripe), in the charge's unit, and anything that would make it bill otherwise.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Holds {
    pub value: Decimal,
    /// How many records (additions, event summaries) were summed.
    pub records: usize,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The target holds exactly the statement's quantity, billed in one period.
    Matches,
    /// It holds another quantity, or dates that bill it otherwise.
    Differs,
    /// It holds nothing of a month the statement bills.
    Missing,
    /// It cannot be read back (the webhook), or was not read (no credentials).
    Unverifiable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Matches => "matches",
            Status::Differs => "differs",
            Status::Missing => "missing",
            Status::Unverifiable => "unverifiable",
        }
    }

    /// Whether it needs someone to look (exit 1, `Billing`, the alarm).
    pub fn is_problem(self) -> bool {
        matches!(self, Status::Differs | Status::Missing)
    }
}

/// One item compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub status: Status,
    /// What the target holds (`None`: not read).
    pub target: Option<Decimal>,
    /// Target minus statement.
    pub difference: Option<Decimal>,
    pub message: Option<String>,
}

/// `holds` (`None`: unreadable) against the statement's `expected`; `why_not` says why a
/// target was not read.
pub(crate) fn compare(expected: Decimal, holds: Option<&Holds>, why_not: &str) -> Check {
    let Some(h) = holds else {
        return Check {
            status: Status::Unverifiable,
            target: None,
            difference: None,
            message: Some(why_not.to_string()),
        };
    };
    let difference = h.value - expected;
    let (status, message) = if (h.records == 0 || h.value.is_zero()) && !expected.is_zero() {
        (
            Status::Missing,
            Some(format!(
                "the target holds nothing of {} owed",
                points_text(expected)
            )),
        )
    } else if !difference.is_zero() || !h.problems.is_empty() {
        let mut parts = Vec::new();
        if !difference.is_zero() {
            parts.push(format!(
                "the target holds {} where the statement says {} ({}{})",
                points_text(h.value),
                points_text(expected),
                if difference.is_sign_positive() {
                    "+"
                } else {
                    ""
                },
                points_text(difference)
            ));
        }
        parts.extend(h.problems.iter().cloned());
        (Status::Differs, Some(parts.join("; ")))
    } else {
        (Status::Matches, None)
    };
    Check {
        status,
        target: Some(h.value),
        difference: Some(difference),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::dec;

    fn holds(value: &str, records: usize) -> Holds {
        Holds {
            value: dec(value),
            records,
            problems: vec![],
        }
    }

    #[test]
    fn each_status_says_what_the_target_will_invoice() {
        let m = compare(dec("4548.60"), Some(&holds("4548.6", 1)), "");
        assert_eq!((m.status, m.difference), (Status::Matches, Some(dec("0"))));
        let d = compare(dec("4548.60"), Some(&holds("4558.60", 1)), "");
        assert_eq!(d.status, Status::Differs);
        assert_eq!(d.difference, Some(dec("10.00")));
        assert!(
            d.message
                .unwrap()
                .contains("4558.60 where the statement says 4548.60 (+10.00)")
        );
        let missing = compare(dec("1.00"), Some(&holds("0", 0)), "");
        assert_eq!(missing.status, Status::Missing);
        assert!(missing.status.is_problem());
        let nothing_owed = compare(dec("0"), Some(&holds("0", 0)), "");
        assert_eq!(nothing_owed.status, Status::Matches);
        let mut open_ended = holds("1.00", 1);
        open_ended
            .problems
            .push("addition 7 has no cancelled date".into());
        assert_eq!(
            compare(dec("1.00"), Some(&open_ended), "").status,
            Status::Differs
        );
        let webhook = compare(dec("1.00"), None, "a webhook cannot be read back");
        assert_eq!(webhook.status, Status::Unverifiable);
        assert!(!webhook.status.is_problem());
    }
}
