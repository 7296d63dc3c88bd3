//! The balance snapshot and the alerts as the CLI prints them.

use std::fmt::Write;

use crate::domain::alerts::DayAlerts;
use crate::domain::balance::{ProgramType, Snapshot};
use crate::domain::money::display2;

/// A few lines: balance, burn rates, runway or grace, commitment, roll-over.
pub(crate) fn balance(s: &Snapshot) -> String {
    let mut o = String::new();
    let kind = match s.program_type {
        ProgramType::Prepaid => "prepaid",
        ProgramType::Postpaid => "postpaid",
    };
    let _ = writeln!(
        o,
        "\nBALANCE of {} ({kind}) on {}",
        s.program_serial, s.as_of
    );
    if let Some(b) = s.balance {
        let _ = writeln!(o, "Balance:           {} points", display2(b.0));
    }
    let rate = |r: Option<crate::domain::money::Exact>, days| match r {
        Some(r) => format!("{} points/day over {days} stored day(s)", display2(r.0)),
        None => "no stored days".into(),
    };
    let _ = writeln!(
        o,
        "Burn rate 7 days:  {}",
        rate(s.burn_rate_7d, s.burn_days_7d)
    );
    let _ = writeln!(
        o,
        "Burn rate 30 days: {}",
        rate(s.burn_rate_30d, s.burn_days_30d)
    );
    if let (Some(days), Some(on)) = (s.runway_days, s.runs_out_on) {
        let _ = writeln!(o, "Runway:            {days} days (points run out on {on})");
    }
    if let Some(g) = &s.grace {
        let _ = writeln!(
            o,
            "Grace period:      negative since {}; suspension possible after {} ({} days left)",
            g.first_negative_on, g.suspension_after, g.days_left
        );
    }
    if let Some(c) = &s.commitment {
        let _ = writeln!(
            o,
            "Commitment:        {} of {} points used in {} .. {}; projected {}, short {}",
            display2(c.used.0),
            display2(c.annual_points.0),
            c.year_start,
            c.year_end,
            display2(c.projected_year_end.0),
            display2(c.shortfall.0)
        );
    }
    if let Some(r) = &s.rollover_estimate {
        let _ = writeln!(
            o,
            "Roll-over (est.):  {} of {} unused points carry over on {} ({}-month program)",
            display2(r.estimated_carry_over.0),
            display2(r.projected_unused.0),
            r.anniversary,
            r.term_months
        );
    }
    o
}

/// One line per alert, or a line saying there are none.
pub(crate) fn alerts(days: &[DayAlerts]) -> String {
    let mut o = String::new();
    for d in days {
        if d.alerts.is_empty() {
            let _ = writeln!(o, "[OK] No alerts for {} on {}", d.program_serial, d.date);
        }
        for a in &d.alerts {
            let _ = writeln!(o, "[ALERT {}] {}", a.kind.as_str(), a.message);
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alerts::{Alert, Kind};

    #[test]
    fn alerts_print_their_kind_and_message_or_say_none() {
        let day = |alerts| DayAlerts {
            program_serial: "ELAVMS0000123456".into(),
            date: "2025-11-08".parse().unwrap(),
            alerts,
        };
        assert_eq!(
            alerts(&[day(vec![])]),
            "[OK] No alerts for ELAVMS0000123456 on 2025-11-08\n"
        );
        let spike = Alert {
            kind: Kind::Spike,
            serial_number: Some("FGVM01".into()),
            account_id: None,
            customer_id: None,
            points: None,
            baseline: None,
            message: "FGVM01 spiked".into(),
        };
        assert_eq!(alerts(&[day(vec![spike])]), "[ALERT spike] FGVM01 spiked\n");
    }
}
