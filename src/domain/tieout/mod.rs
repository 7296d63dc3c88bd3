//! The tie-out: each final day checked against what Fortinet deducted (`balance`: the prepaid
//! balance's day-over-day drop against the day's report total) and against what each
//! device's configuration costs (`rates`: its points against `tools/calc`'s rate). Pure: the caller reads the
//! stored days and balance snapshots. Fortinet publishes no invoice a partner can reconcile
//! against, so these checks, through the API alone, are what a finance team can trust.

mod alerts;
pub(crate) mod balance;
pub(crate) mod invoice;
pub(crate) mod rates;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use balance::BalanceTieout;
use invoice::InvoiceTieout;
use rates::RateTieout;

/// How a day compares: within the stated tolerance, beyond it, or not checkable (a snapshot
/// or the day's report is missing, or an event whose size FortiFlex does not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Ties,
    Differs,
    Unknown,
}

impl Status {
    /// As the JSON spells it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Ties => "ties",
            Status::Differs => "differs",
            Status::Unknown => "unknown",
        }
    }
}

/// `tieout/month=YYYY-MM/tieout_<PROGRAM>_YYYY-MM.{json,csv}`: a program's month so far.
#[derive(Debug, Serialize)]
pub(crate) struct TieoutFile {
    pub program_serial: String,
    pub month: String,
    /// The last day checked: the day before the newest snapshot.
    pub through: NaiveDate,
    /// The balance part; `None` for a postpaid program (it has no balance).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<BalanceTieout>,
    pub rates: RateTieout,
    /// Fortinet's invoice figure for the month, when the partner entered one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice: Option<InvoiceTieout>,
}

#[cfg(test)]
mod tests;
