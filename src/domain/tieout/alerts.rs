//! The `tieout` alert: a final day (past the restatement window, so FortiCloud's corrections
//! are in) that differs from what Fortinet deducted, or whose devices are charged other than
//! their configurations cost with no known reason.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{Status, TieoutFile};
use crate::domain::alerts::{Alert, Kind};
use crate::domain::money::{Exact, display2};

/// How many devices an alert names; the tie-out file lists them all.
const NAMED: usize = 5;

impl TieoutFile {
    /// The alerts of final day `day`: one for the balance, one for the devices.
    pub(crate) fn alerts(&self, day: NaiveDate) -> Vec<Alert> {
        let alert = |points: Decimal, message: String| Alert {
            kind: Kind::Tieout,
            serial_number: None,
            account_id: None,
            customer_id: None,
            points: Some(Exact(points)),
            baseline: None,
            message,
        };
        let mut out = Vec::new();
        let balance = self.balance.iter().flat_map(|b| &b.days);
        for d in balance.filter(|d| d.day == day && d.status == Status::Differs) {
            let (Some(consumed), Some(drop), Some(difference)) = (d.consumed, d.drop, d.difference)
            else {
                continue;
            };
            out.push(alert(
                difference.0,
                format!(
                    "Program {}: on {day} the balance fell by {} points but the day's reports total \
                     {} (a difference of {}). Re-run the day with force; if it persists, open a \
                     case with Fortinet with tieout/month={} attached.",
                    self.program_serial,
                    display2(drop.0),
                    display2(consumed.0),
                    display2(difference.0),
                    self.month
                ),
            ));
        }
        let devices: Vec<_> = self
            .rates
            .devices
            .iter()
            .filter(|d| d.day == day && d.status == Status::Differs && d.reason.is_none())
            .collect();
        if !devices.is_empty() {
            let difference: Decimal = devices
                .iter()
                .filter_map(|d| d.difference)
                .map(|d| d.0)
                .sum();
            let mut named: Vec<&str> = devices
                .iter()
                .take(NAMED)
                .map(|d| d.serial.as_str())
                .collect();
            if devices.len() > NAMED {
                named.push("…");
            }
            out.push(alert(
                difference,
                format!(
                    "Program {}: on {day} {} device(s) were charged {} points other than their \
                     configurations' rates with no known reason ({}). The tie-out under \
                     tieout/month={} lists each; open a case with Fortinet if it is not a \
                     discount you hold.",
                    self.program_serial,
                    devices.len(),
                    display2(difference),
                    named.join(", "),
                    self.month
                ),
            ));
        }
        out
    }
}
