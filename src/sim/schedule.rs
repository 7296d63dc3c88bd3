//! Which days a simulated entitlement runs: a stopped device is charged nothing that day.

use chrono::NaiveDate;

/// The days an entitlement runs, and so consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Schedule {
    /// Every day from its start.
    #[default]
    Always,
    /// Stopped from this day on (it consumed until the day before).
    Until(NaiveDate),
    /// Monday to Friday: stopped over each weekend (a lab).
    Weekdays,
}

impl Schedule {
    /// How many days of `from..=to` it runs; 0 for an empty range.
    pub fn days(self, from: NaiveDate, to: NaiveDate) -> i64 {
        use chrono::Datelike;
        let to = match self {
            Schedule::Until(stop) => to.min(stop - chrono::Days::new(1)),
            _ => to,
        };
        if to < from {
            return 0;
        }
        match self {
            Schedule::Weekdays => from
                .iter_days()
                .take_while(|d| *d <= to)
                .filter(|d| d.weekday().number_from_monday() <= 5)
                .count() as i64,
            _ => (to - from).num_days() + 1,
        }
    }

    /// Whether it runs on `day`.
    pub fn runs(self, day: NaiveDate) -> bool {
        self.days(day, day) == 1
    }
}
