//! Report days. FortiCloud charges points per America/Los_Angeles calendar day, so every
//! report day here is a date in that zone (overridable), never a UTC or machine-local date.

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::error::{Error, Result};

/// The zone FortiCloud computes points in.
pub const PACIFIC: Tz = chrono_tz::America::Los_Angeles;

/// The calendar date of `now` in `tz`: the day FortiCloud is still tallying.
pub fn today(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    now.with_timezone(&tz).date_naive()
}

/// The last day whose points are final in principle: the day before `today`.
pub fn last_complete_day(now: DateTime<Utc>, tz: Tz) -> NaiveDate {
    let today = today(now, tz);
    // Only chrono's first representable day has no day before it.
    today.pred_opt().unwrap_or(today)
}

/// An inclusive range of report days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DayRange {
    start: NaiveDate,
    end: NaiveDate,
}

impl DayRange {
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Self> {
        if end < start {
            return Err(Error::InvalidRequest(format!(
                "end date {end} is before start date {start}"
            )));
        }
        Ok(DayRange { start, end })
    }

    pub fn day(day: NaiveDate) -> Self {
        DayRange {
            start: day,
            end: day,
        }
    }

    /// The `n` complete days before today in `tz` (`n` = 1: yesterday).
    pub fn last_days(now: DateTime<Utc>, tz: Tz, n: u32) -> Result<Self> {
        if n == 0 {
            return Err(Error::InvalidRequest(
                "the number of days must be at least 1".into(),
            ));
        }
        let end = last_complete_day(now, tz);
        let start = end
            .checked_sub_days(Days::new(u64::from(n) - 1))
            .ok_or_else(|| Error::InvalidRequest(format!("{n} days reach before the calendar")))?;
        Ok(DayRange { start, end })
    }

    pub fn start(&self) -> NaiveDate {
        self.start
    }

    pub fn end(&self) -> NaiveDate {
        self.end
    }

    pub fn is_single_day(&self) -> bool {
        self.start == self.end
    }

    /// Number of days in the range (both ends counted).
    pub fn len_days(&self) -> u32 {
        (self.end - self.start).num_days() as u32 + 1
    }

    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let end = self.end;
        self.start.iter_days().take_while(move |d| *d <= end)
    }

    /// Fails unless every day of the range is over in `tz` at `now`: the current day is
    /// still being tallied and would be reported short.
    pub fn ensure_complete(&self, now: DateTime<Utc>, tz: Tz) -> Result<()> {
        let today = today(now, tz);
        if self.end >= today {
            return Err(Error::InvalidRequest(format!(
                "{} is not a complete day yet in {tz} (today there is {today})",
                self.end
            )));
        }
        Ok(())
    }
}

/// How FortiFlex's `endDate` is read. It is undocumented; the partner toolkit's numbers fit
/// `Inclusive`, which is the default. `probe-end-date` checks a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndDateMode {
    #[default]
    Inclusive,
    Exclusive,
}

impl EndDateMode {
    /// The `startDate`/`endDate` to send so that FortiFlex totals exactly `range`.
    pub fn request_dates(self, range: DayRange) -> (NaiveDate, NaiveDate) {
        match self {
            EndDateMode::Inclusive => (range.start, range.end),
            // Only chrono's last representable day has no day after it.
            EndDateMode::Exclusive => (range.start, range.end.succ_opt().unwrap_or(range.end)),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EndDateMode::Inclusive => "inclusive",
            EndDateMode::Exclusive => "exclusive",
        }
    }
}

/// What three FortiFlex totals say about `endDate`: `day` = `[D, D]`, `next` = `[D+1, D+1]`,
/// `both` = `[D, D+1]`, each as sent. Inclusive: the two-day total is the two one-day totals.
/// Exclusive: a one-day query `[D, D]` is empty and the two-day one holds day D alone.
/// `None` when the days had no consumption or the totals fit neither reading.
pub fn judge_end_date(
    day: rust_decimal::Decimal,
    next: rust_decimal::Decimal,
    both: rust_decimal::Decimal,
) -> Option<EndDateMode> {
    if both.is_zero() {
        None
    } else if day.is_zero() && next.is_zero() {
        Some(EndDateMode::Exclusive)
    } else if day + next == both {
        Some(EndDateMode::Inclusive)
    } else {
        None
    }
}

impl std::str::FromStr for EndDateMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "inclusive" => Ok(EndDateMode::Inclusive),
            "exclusive" => Ok(EndDateMode::Exclusive),
            other => Err(Error::Configuration(format!(
                "'{other}' is neither 'inclusive' nor 'exclusive'"
            ))),
        }
    }
}

/// A `YYYY-MM-DD` date, or an `InvalidRequest` naming what was given.
pub fn parse_date(s: &str) -> Result<NaiveDate> {
    let s = s.trim();
    if s.len() != 10 {
        return Err(Error::InvalidRequest(format!(
            "'{s}' is not a date of the form YYYY-MM-DD"
        )));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| Error::InvalidRequest(format!("'{s}' is not a date of the form YYYY-MM-DD")))
}

/// An IANA zone name such as `America/Los_Angeles`.
pub fn parse_timezone(s: &str) -> Result<Tz> {
    s.trim()
        .parse::<Tz>()
        .map_err(|_| Error::Configuration(format!("'{s}' is not an IANA time zone name")))
}

#[cfg(test)]
mod end_date_tests {
    use std::str::FromStr;

    use rust_decimal::Decimal;

    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn three_totals_tell_inclusive_from_exclusive() {
        let j = |a, b, c| judge_end_date(d(a), d(b), d(c));
        assert_eq!(
            j("399.42", "399.42", "798.84"),
            Some(EndDateMode::Inclusive)
        );
        assert_eq!(j("0", "12.50", "12.50"), Some(EndDateMode::Inclusive));
        assert_eq!(j("0", "0", "399.42"), Some(EndDateMode::Exclusive));
        assert_eq!(j("0", "0", "0"), None, "no consumption: cannot tell");
        assert_eq!(j("399.42", "399.42", "399.42"), None, "fits neither");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn pacific_day_differs_from_utc_day_near_midnight() {
        // 2025-11-09 07:59 UTC is 23:59 PST on the 8th.
        assert_eq!(today(at("2025-11-09T07:59:59Z"), PACIFIC), d("2025-11-08"));
        assert_eq!(today(at("2025-11-09T08:00:00Z"), PACIFIC), d("2025-11-09"));
        // Summer: PDT is UTC-7.
        assert_eq!(today(at("2025-07-01T06:59:59Z"), PACIFIC), d("2025-06-30"));
        assert_eq!(today(at("2025-07-01T07:00:00Z"), PACIFIC), d("2025-07-01"));
        // Just after UTC midnight it is still the previous afternoon in California.
        assert_eq!(
            last_complete_day(at("2025-11-09T00:30:00Z"), PACIFIC),
            d("2025-11-07")
        );
    }

    #[test]
    fn spring_forward_day_is_23_hours() {
        // 2025-03-09: 02:00 PST jumps to 03:00 PDT. The day starts 08:00Z and ends 07:00Z.
        assert_eq!(today(at("2025-03-09T07:59:59Z"), PACIFIC), d("2025-03-08"));
        assert_eq!(today(at("2025-03-09T08:00:00Z"), PACIFIC), d("2025-03-09"));
        assert_eq!(today(at("2025-03-10T06:59:59Z"), PACIFIC), d("2025-03-09"));
        assert_eq!(today(at("2025-03-10T07:00:00Z"), PACIFIC), d("2025-03-10"));
        let start = at("2025-03-09T08:00:00Z");
        let end = at("2025-03-10T07:00:00Z");
        assert_eq!((end - start).num_hours(), 23);
    }

    #[test]
    fn fall_back_day_is_25_hours() {
        // 2025-11-02: 02:00 PDT falls back to 01:00 PST. The day starts 07:00Z, ends 08:00Z.
        assert_eq!(today(at("2025-11-02T06:59:59Z"), PACIFIC), d("2025-11-01"));
        assert_eq!(today(at("2025-11-02T07:00:00Z"), PACIFIC), d("2025-11-02"));
        // Both 01:30s of that morning belong to the 2nd.
        assert_eq!(today(at("2025-11-02T08:30:00Z"), PACIFIC), d("2025-11-02"));
        assert_eq!(today(at("2025-11-02T09:30:00Z"), PACIFIC), d("2025-11-02"));
        assert_eq!(today(at("2025-11-03T07:59:59Z"), PACIFIC), d("2025-11-02"));
        assert_eq!(today(at("2025-11-03T08:00:00Z"), PACIFIC), d("2025-11-03"));
    }

    #[test]
    fn last_days_ends_yesterday_and_counts_both_ends() {
        let r = DayRange::last_days(at("2025-11-09T14:06:00-08:00"), PACIFIC, 7).unwrap();
        assert_eq!((r.start(), r.end()), (d("2025-11-02"), d("2025-11-08")));
        assert_eq!(r.len_days(), 7);
        assert_eq!(r.days().count(), 7);
        // Across the fall-back day the count is still in calendar days.
        let r = DayRange::last_days(at("2025-11-03T12:00:00Z"), PACIFIC, 2).unwrap();
        assert_eq!(
            r.days().collect::<Vec<_>>(),
            vec![d("2025-11-01"), d("2025-11-02")]
        );
        assert!(DayRange::last_days(at("2025-11-03T12:00:00Z"), PACIFIC, 0).is_err());
    }

    #[test]
    fn ranges_reject_backwards_and_incomplete_days() {
        assert_eq!(
            DayRange::new(d("2025-11-02"), d("2025-11-01"))
                .unwrap_err()
                .kind(),
            "InvalidRequest"
        );
        let now = at("2025-11-09T20:00:00Z"); // 12:00 PST on the 9th
        assert!(
            DayRange::day(d("2025-11-08"))
                .ensure_complete(now, PACIFIC)
                .is_ok()
        );
        let err = DayRange::day(d("2025-11-09"))
            .ensure_complete(now, PACIFIC)
            .unwrap_err();
        assert!(
            err.to_string().contains("2025-11-09 is not a complete day"),
            "{err}"
        );
    }

    #[test]
    fn end_date_mode_maps_ranges_to_requests() {
        let r = DayRange::new(d("2025-11-02"), d("2025-11-08")).unwrap();
        assert_eq!(
            EndDateMode::Inclusive.request_dates(r),
            (d("2025-11-02"), d("2025-11-08"))
        );
        assert_eq!(
            EndDateMode::Exclusive.request_dates(r),
            (d("2025-11-02"), d("2025-11-09"))
        );
        assert_eq!(
            "EXCLUSIVE".parse::<EndDateMode>().unwrap(),
            EndDateMode::Exclusive
        );
        assert_eq!(
            "sometimes".parse::<EndDateMode>().unwrap_err().kind(),
            "Configuration"
        );
    }

    #[test]
    fn dates_and_zones_are_validated() {
        assert_eq!(
            parse_date("2025-02-29").unwrap_err().kind(),
            "InvalidRequest"
        );
        assert_eq!(
            parse_date("2025-1-01").unwrap_err().kind(),
            "InvalidRequest"
        );
        assert_eq!(
            parse_date("2024-02-29").unwrap(),
            NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()
        );
        assert_eq!(
            parse_timezone("Europe/Paris").unwrap(),
            chrono_tz::Europe::Paris
        );
        assert_eq!(
            parse_timezone("Pacific Time").unwrap_err().kind(),
            "Configuration"
        );
    }
}
