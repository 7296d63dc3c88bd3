//! How a long run tells people where it is. A first backfill costs accounts × days calls at
//! about 1,000 an hour, so it can take hours; the CLI draws a bar (or prints lines), the
//! Lambda logs. The run only calls this trait.

use std::time::Duration;

use crate::pipeline::outcome::ReportOutcome;

pub trait Progress: Send + Sync {
    /// The FortiFlex calls the run expects to make from now on, and how long they take paced.
    fn planned(&self, _calls: u64, _estimate: Duration) {}
    /// One FortiFlex call made; `what` names it (`entitlements/points 3300001 2025-11-08`).
    fn call(&self, _what: &str) {}
    /// One report done.
    fn report(&self, _program: &str, _outcome: &ReportOutcome) {}
}

/// No progress shown (tests, dry library use).
pub struct Silent;

impl Progress for Silent {}

/// Structured log lines: the Lambda's progress per account and per day.
pub struct Logged;

impl Progress for Logged {
    fn planned(&self, calls: u64, estimate: Duration) {
        tracing::info!(calls, estimate_s = estimate.as_secs(), "run planned");
    }

    fn call(&self, what: &str) {
        tracing::info!(call = what, "fortiflex call");
    }

    fn report(&self, program: &str, o: &ReportOutcome) {
        tracing::info!(
            program,
            period = %o.period.label(),
            rows = o.entitlements,
            points = %crate::domain::money::points_text(o.points),
            status = o.status.as_str(),
            revision = o.revision,
            note = o.note.as_deref(),
            "report done"
        );
    }
}
