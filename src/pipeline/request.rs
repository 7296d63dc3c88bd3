//! What a run is asked to do and the clock, settings and limits it runs under: the one
//! typed request both front ends build.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::adapters::fortiflex::Limits;
use crate::domain::ids::{AccountId, Serial};
use crate::domain::window::{DayRange, EndDateMode};

/// The most days one request covers (a year and a leap day).
pub(crate) const MAX_DAYS: u32 = 366;

/// What to report. Daily reports always cover whole programs; filters shape the range report.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Days for daily reports, in the order they are reported.
    pub daily: Vec<NaiveDate>,
    /// The range report to write under `ranges/`.
    pub range: Option<DayRange>,
    pub serial_filter: Option<Serial>,
    pub config_filter: Option<u64>,
    pub account_filter: Option<AccountId>,
    /// Stored days from this one on are checked for restatements even when older than the
    /// window counted from the clock (a scheduled event's own window, replayed later).
    pub restate_from: Option<NaiveDate>,
    /// Fetch and build, read and write nothing.
    pub dry_run: bool,
    /// Re-pull stored days and let a re-pull replace a report even with fewer accounts.
    pub force: bool,
    /// Keep every built daily report in the outcome (the demo prints them).
    pub keep_daily_reports: bool,
    /// After the daily reports, rewrite the statements of the months they touch (and of the
    /// month before, so a closed month turns `final`): the scheduled run's job.
    pub statements: bool,
    /// After the daily reports, snapshot the balance and judge the alerts of the days written.
    pub watch: Option<Watch>,
    /// After the statements, rewrite the site (`site/index.html` and the statement pages).
    pub site: bool,
}

/// The settings of balance and alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watch {
    /// `low_runway` below this many days.
    pub low_runway_days: i64,
    /// A postpaid program's annual commitment in points.
    pub commitment: Option<rust_decimal::Decimal>,
}

impl Watch {
    /// These settings with `commitment` (a command-line flag) in place of the configured one.
    pub fn with_commitment(self, commitment: Option<rust_decimal::Decimal>) -> Self {
        Watch {
            commitment: commitment.or(self.commitment),
            ..self
        }
    }
}

impl Default for Watch {
    fn default() -> Self {
        Watch {
            low_runway_days: 30,
            commitment: None,
        }
    }
}

/// The run's clock, settings and limits.
#[derive(Debug, Clone)]
pub struct Context {
    pub now: DateTime<Utc>,
    pub run_id: String,
    pub timezone: Tz,
    pub end_date: EndDateMode,
    pub restate_days: u32,
    pub retention_days: u32,
    pub limits: Limits,
    /// FortiFlex calls already started this hour by this process (a warm Lambda's earlier runs).
    pub calls_this_hour: u64,
    /// How long the run may take (a Lambda's remaining time); `None`: as long as it needs.
    pub time_left: Option<Duration>,
    /// How long the bucket keeps a staged object (its `staging/` expiry): a job rewrites the
    /// parts it still needs every half of it, so no job outlives its staging.
    pub staging_expiry: Duration,
    /// Days ahead an announced rate change is told to customers.
    pub rate_notice_days: u32,
    /// Customers named from FortiCloud's organization by setting (the customers file may
    /// also ask).
    pub organizations: Option<crate::domain::customers::CustomerFrom>,
}
