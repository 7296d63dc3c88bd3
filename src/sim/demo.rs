//! `make demo`'s tenant: the walkthrough's program living the month a real one does, so the
//! first picture a newcomer sees shows what the tool catches. Every change is placed
//! relative to the demo's Pacific today, so the demo tells the same story on any date.

use chrono::{Days, NaiveDate};

use super::dataset::{Dataset, PARTNER, Schedule, SimEntitlement, dec};
use super::organizations::SimOrganization;

/// The program was registered this many days before the demo's today (no anniversary, whose
/// roll-over the tie-out cannot check, falls in the demo's month).
const PROGRAM_AGE_DAYS: u64 = 300;

impl Dataset {
    /// The walkthrough's program as of `today`, with (days before `today`):
    /// - a top-up of 10,000 points 11 days ago;
    /// - a second FortiGate 71F for Wayne Enterprises, added 9 days ago;
    /// - the decommissioned FortiGate-VM, stopped 16 days ago (it ran until then);
    /// - Hooli's lab, stopped over every weekend;
    /// - Globex's FortiGate-VM charged 25.99 instead of its configuration's 21.66 on the
    ///   three days 5 to 3 days ago (the overcharge the tie-out finds; the last of them
    ///   becomes final, and is alerted, on today's run);
    /// - the FortiAnalyzer charged 20 % below `tools/calc`'s rate (a consumption offer);
    /// - EMS 100 endpoints' rate rising from 14.01 to 14.71 in 14 days (announced today);
    /// - an organization naming the partner's account, which Initech joins today.
    pub fn demo(today: NaiveDate) -> Self {
        let ago = |n: u64| today - Days::new(n);
        let mut d = Dataset::walkthrough();
        let p = &mut d.programs[0];
        p.start = ago(PROGRAM_AGE_DAYS);
        p.end = p.start + Days::new(3 * 365);
        p.top_ups = vec![(ago(11), dec("10000"))];
        for e in &mut p.entitlements {
            e.start = p.start;
            match e.serial_number.as_str() {
                "FGVMMLTM00001002" => {
                    e.daily = dec("21.66");
                    e.schedule = Schedule::Until(ago(16));
                }
                "FGVMMLTM00000998" => e.schedule = Schedule::Weekdays,
                "FGVMMLTM00000995" => {
                    e.spikes = (3..=5).map(|n| (ago(n), dec("25.99"))).collect();
                }
                "FZVMMLTM00000689" => e.daily = dec("10.28"),
                _ => {}
            }
        }
        for c in &mut p.configs {
            if c.id == 4104 {
                c.announced = Some((today + Days::new(14), dec("14.71")));
            }
        }
        let added = SimEntitlement {
            serial_number: "FGT71FTK22000502".into(),
            config_id: 4103,
            description: "Wayne Enterprises second branch".into(),
            status: "ACTIVE",
            start: ago(9),
            daily: dec("19.29"),
            token: "C63748596A7B8C9E".into(),
            spikes: vec![],
            token_unused: false,
            schedule: Schedule::Always,
        };
        p.entitlements.push(added);
        // An organization naming the partner's account; Initech joins it today.
        d.organization = Some(SimOrganization {
            org_id: 1000,
            units: vec![(1001, "Customers")],
            accounts: vec![
                (PARTNER, "Example MSSP Ltd", 1000),
                (3300005, "Initech", 1001),
            ],
            joins: vec![(3300005, today)],
        });
        d
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::sim::dataset::date;

    fn day_total(d: &Dataset, day: NaiveDate, today: NaiveDate) -> Decimal {
        d.programs[0]
            .points(day, day, today)
            .iter()
            .map(|(_, p)| *p)
            .sum()
    }

    #[test]
    fn the_demo_month_varies_as_a_real_program_does() {
        // 2025-11-09 is a Sunday.
        let today = date("2025-11-09");
        let d = Dataset::demo(today);
        let p = &d.programs[0];
        // A weekday before the stop: the walkthrough's day, the FAZ's discount, and the
        // decommissioned VM still running.
        let tue = date("2025-10-21");
        assert_eq!(
            day_total(&d, tue, today),
            dec("399.42") - dec("2.57") + dec("21.66")
        );
        // A Saturday after the stop: the lab off, the decommissioned VM gone, the new
        // FortiGate (from 2025-10-31) running.
        let sat = date("2025-11-01");
        assert_eq!(
            day_total(&d, sat, today),
            dec("399.42") - dec("2.57") - dec("21.66") + dec("19.29")
        );
        // The overcharged days, the added FortiGate from 9 days ago.
        let wed = date("2025-11-05");
        assert_eq!(
            day_total(&d, wed, today),
            dec("399.42") - dec("2.57") + dec("4.33") + dec("19.29")
        );
        // The balance rises by the top-up on its day.
        let topped = date("2025-10-29");
        assert_eq!(
            p.balance_on(topped) - p.balance_on(topped - Days::new(1)),
            dec("10000") - day_total(&d, topped - Days::new(1), today)
        );
    }
}
