//! The `tieout` alert: a final day (past the restatement window, so FortiCloud's corrections
//! are in) that differs from what Fortinet deducted, or whose devices are charged other than
//! their configurations cost with no known reason.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{Status, TieoutFile};
use crate::domain::alerts::{Alert, Kind};
use crate::domain::money::{Exact, display2};

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
        for d in self.rates.differing_days.iter().filter(|d| d.day == day) {
            let mut named = d.serials.join(", ");
            if d.device_days > d.serials.len() as u64 {
                named.push_str(", …");
            }
            out.push(alert(
                d.difference.0,
                format!(
                    "Program {}: on {day} {} device(s) were charged {} points other than their \
                     configurations' rates with no known reason ({named}). The tie-out under \
                     tieout/month={} lists them; open a case with Fortinet if it is not a \
                     discount you hold.",
                    self.program_serial,
                    d.device_days,
                    display2(d.difference.0),
                    self.month
                ),
            ));
        }
        out
    }
}
