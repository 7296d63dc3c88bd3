//! The invoice part of the tie-out, for a postpaid program (which has no balance to check):
//! the points on Fortinet's invoice for a month, as the partner enters them, against the
//! month's stored daily totals.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::Status;
use crate::domain::money::Exact;
use crate::domain::statement::Month;

/// An invoice figure is a sum of daily charges each read to two places: it ties within a
/// point, as the balance does.
pub(crate) const TOLERANCE: Decimal = Decimal::ONE;

/// `tieout/month=M/invoice_<PROGRAM>_M.json`: the figure as entered, kept in the archive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct InvoiceRecord {
    pub program_serial: String,
    pub month: String,
    pub invoice_points: Exact,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct InvoiceTieout {
    pub invoice_points: Exact,
    /// The month's stored daily totals summed.
    pub reported: Exact,
    pub days_stored: u32,
    pub days_in_month: u32,
    /// `invoice − reported`, once every day of the month is stored.
    pub difference: Option<Exact>,
    pub status: Status,
    pub note: Option<String>,
}

/// `invoice_points` against `daily`, the stored totals of `month`'s days.
pub(crate) fn compare(
    invoice_points: Decimal,
    month: Month,
    daily: &BTreeMap<NaiveDate, Decimal>,
) -> InvoiceTieout {
    let days: Vec<NaiveDate> = month
        .first()
        .iter_days()
        .take_while(|d| *d <= month.last())
        .collect();
    let stored: Vec<Decimal> = days.iter().filter_map(|d| daily.get(d).copied()).collect();
    let reported: Decimal = stored.iter().sum();
    let mut out = InvoiceTieout {
        invoice_points: Exact(invoice_points),
        reported: Exact(reported),
        days_stored: stored.len() as u32,
        days_in_month: days.len() as u32,
        difference: None,
        status: Status::Unknown,
        note: None,
    };
    if stored.len() < days.len() {
        out.note = Some(format!(
            "{} of the month's {} days are stored: the invoice is compared once all are",
            stored.len(),
            days.len()
        ));
        return out;
    }
    let difference = invoice_points - reported;
    out.difference = Some(Exact(difference));
    out.status = if difference.abs() < TOLERANCE {
        Status::Ties
    } else {
        Status::Differs
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily(days: u32, points: &str) -> BTreeMap<NaiveDate, Decimal> {
        (1..=days)
            .map(|d| {
                (
                    NaiveDate::from_ymd_opt(2025, 11, d).unwrap(),
                    points.parse().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn an_invoice_ties_within_a_point_once_every_day_is_stored() {
        let month = Month::parse("2025-11").unwrap();
        let whole = daily(30, "8.50");
        let ties = compare("255.40".parse().unwrap(), month, &whole);
        assert_eq!(
            (ties.status, ties.difference),
            (Status::Ties, Some(Exact("0.40".parse().unwrap())))
        );
        let differs = compare("263.50".parse().unwrap(), month, &whole);
        assert_eq!(differs.status, Status::Differs);
        let partial = compare("255.00".parse().unwrap(), month, &daily(29, "8.50"));
        assert_eq!((partial.status, partial.days_stored), (Status::Unknown, 29));
        assert!(partial.note.unwrap().contains("29 of the month's 30 days"));
    }
}
