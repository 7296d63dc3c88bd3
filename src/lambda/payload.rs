//! The Lambda's input and what it asks for. One serde type reads every accepted payload
//! (`{}`, an EventBridge "Scheduled Event", EventBridge Scheduler input, a day, a backfill)
//! and rejects unknown fields; [`to_request`] turns it into report days, validating everything
//! before anything is fetched or written.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::domain::ids::Serial;
use crate::domain::window::{DayRange, last_complete_day, parse_date};
use crate::error::{Error, Result};
use crate::pipeline::request::{MAX_DAYS, Request};

/// Every field any accepted payload may carry.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    // The EventBridge "Scheduled Event" envelope; only `time` is used.
    pub version: Option<String>,
    pub id: Option<String>,
    #[serde(rename = "detail-type")]
    pub detail_type: Option<String>,
    pub source: Option<String>,
    pub account: Option<String>,
    pub time: Option<String>,
    pub region: Option<String>,
    pub resources: Option<Vec<String>>,
    pub detail: Option<serde_json::Value>,
    /// EventBridge Scheduler's `<aws.scheduler.scheduled-time>`.
    pub scheduled_time: Option<String>,
    pub date: Option<String>,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    pub days: Option<u32>,
    /// Every complete day FortiFlex still holds: the onboarding backfill.
    pub retained: Option<bool>,
    /// Also write the range report under `ranges/`.
    pub range: Option<bool>,
    pub serial_number: Option<String>,
    /// Fetch and render, write nothing.
    pub dry_run: Option<bool>,
    /// Re-pull stored days, and let an emptier re-pull replace a stored report.
    pub force: Option<bool>,
}

impl Payload {
    /// Reads a payload; a malformed one is an `InvalidRequest` naming what is wrong.
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        serde_json::from_value(value).map_err(|e| Error::InvalidRequest(format!("payload: {e}")))
    }
}

fn instant(field: &str, value: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value.trim())
        .map(|t| t.to_utc())
        .map_err(|_| Error::InvalidRequest(format!("{field} '{value}' is not an RFC 3339 instant")))
}

/// The days `payload` asks for, as of `now` in `tz`. A scheduled run reports the last complete
/// day before the *event's* instant (a retry hours later reports the same day) and re-pulls
/// the `restate_days` days before it, which FortiCloud may still correct.
pub fn to_request(
    payload: &Payload,
    now: DateTime<Utc>,
    tz: Tz,
    restate_days: u32,
    retention_days: u32,
) -> Result<Request> {
    let invalid = |m: &str| Err(Error::InvalidRequest(m.to_string()));
    let retained = payload.retained.unwrap_or(false);
    let explicit = payload.date.is_some()
        || payload.start_date.is_some()
        || payload.end_date.is_some()
        || payload.days.is_some()
        || retained;
    let scheduled_at = match (&payload.time, &payload.scheduled_time) {
        (Some(_), Some(_)) => {
            return invalid("give either an EventBridge event's time or scheduled_time, not both");
        }
        (Some(t), None) => Some(instant("time", t)?),
        (None, Some(t)) => Some(instant("scheduled_time", t)?),
        (None, None) => None,
    };
    if scheduled_at.is_some() && explicit {
        return invalid("a scheduled event cannot also name dates or days");
    }
    let selectors = [
        payload.date.is_some(),
        payload.start_date.is_some() || payload.end_date.is_some(),
        payload.days.is_some(),
        retained,
    ];
    if selectors.iter().filter(|s| **s).count() > 1 {
        return invalid("give one of date, start_date + end_date, days, or retained");
    }
    let serial_filter = payload
        .serial_number
        .as_deref()
        .map(|s| Serial::parse(s, "serial_number"))
        .transpose()?;
    let want_range = payload.range.unwrap_or(false);
    let dry_run = payload.dry_run.unwrap_or(false);
    // Daily partitions always hold whole-program reports: a serial filter only shapes a
    // range report or a dry run.
    if serial_filter.is_some() && !want_range && !dry_run {
        return invalid(
            "serial_number needs \"range\": true (or a dry run): daily reports always cover the whole program",
        );
    }

    let requested = match (
        &payload.date,
        &payload.start_date,
        &payload.end_date,
        payload.days,
    ) {
        (Some(d), _, _, _) => Some(DayRange::day(parse_date(d)?)),
        (None, Some(s), Some(e), _) => Some(DayRange::new(parse_date(s)?, parse_date(e)?)?),
        (None, Some(_), None, _) | (None, None, Some(_), _) => {
            return invalid("start_date and end_date go together");
        }
        (None, None, None, Some(n)) => {
            if n > MAX_DAYS {
                return invalid(&format!("days must be 1..={MAX_DAYS}, not {n}"));
            }
            Some(DayRange::last_days(now, tz, n)?)
        }
        (None, None, None, None) if retained => {
            let oldest = crate::pipeline::oldest_available(now, tz, retention_days);
            Some(DayRange::new(oldest, last_complete_day(now, tz))?)
        }
        (None, None, None, None) => None,
    };
    let scheduled = requested.is_none();
    let (main, restated): (DayRange, Option<DayRange>) = match requested {
        Some(r) => (r, None),
        None => {
            let day = last_complete_day(scheduled_at.unwrap_or(now), tz);
            let first = day.checked_sub_days(chrono::Days::new(u64::from(restate_days)));
            let first = first.ok_or_else(|| {
                Error::InvalidRequest("restated days reach before the calendar".into())
            })?;
            (DayRange::day(day), Some(DayRange::new(first, day)?))
        }
    };
    if main.len_days() > MAX_DAYS {
        return invalid(&format!(
            "a backfill covers at most {MAX_DAYS} days, not {}",
            main.len_days()
        ));
    }
    main.ensure_complete(now, tz)?;
    let mut daily: Vec<NaiveDate> = main.days().collect();
    if let Some(window) = restated {
        daily.extend(
            window
                .days()
                .filter(|d| *d != main.start())
                .collect::<Vec<_>>()
                .into_iter()
                .rev(),
        );
    }
    if serial_filter.is_some() {
        daily.clear();
    }
    Ok(Request {
        restate_from: restated.map(|w| w.start()),
        daily,
        range: want_range.then_some(main),
        serial_filter,
        dry_run,
        force: payload.force.unwrap_or(false),
        statements: scheduled,
        site: scheduled,
        ..Request::default()
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::window::PACIFIC;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn plan_of(v: serde_json::Value, now: &str) -> Result<Request> {
        to_request(&Payload::from_value(v)?, at(now), PACIFIC, 2, 90)
    }

    #[test]
    fn retained_asks_every_day_fortiflex_still_holds() {
        let p = plan_of(json!({"retained": true}), "2025-11-09T14:00:00Z").unwrap();
        assert_eq!(p.daily.len(), 90);
        assert_eq!(
            (p.daily[0], p.daily[89]),
            (d("2025-08-11"), d("2025-11-08"))
        );
        assert!(!p.statements, "a backfill, not the scheduled run");
        let err = plan_of(json!({"retained": true, "days": 3}), "2025-11-09T14:00:00Z");
        assert!(err.unwrap_err().to_string().contains("or retained"));
    }

    #[test]
    fn an_empty_payload_reports_yesterday_and_restates_two_days() {
        let p = plan_of(json!({}), "2025-11-09T14:00:00Z").unwrap();
        assert_eq!(
            p.daily,
            vec![d("2025-11-08"), d("2025-11-07"), d("2025-11-06")]
        );
        assert_eq!((p.range, p.dry_run), (None, false));
    }

    #[test]
    fn a_scheduled_event_uses_its_own_instant_not_the_clock() {
        let event = json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "time": "2025-11-09T14:00:00Z",
            "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/daily"], "detail": {}
        });
        // Retried a day and a half later, it still reports the 8th.
        let p = plan_of(event, "2025-11-11T02:00:00Z").unwrap();
        assert_eq!(p.daily[0], d("2025-11-08"));
        // 06:00 PST on the 9th is 14:00Z; 05:59 PDT in summer is 12:59Z.
        let p = plan_of(
            json!({"scheduled_time": "2025-07-02T12:59:00Z"}),
            "2025-07-02T13:00:00Z",
        )
        .unwrap();
        assert_eq!(p.daily[0], d("2025-07-01"));
        let p = plan_of(
            json!({"scheduled_time": "2025-07-02T06:59:00Z"}),
            "2025-07-02T13:00:00Z",
        )
        .unwrap();
        assert_eq!(
            p.daily[0],
            d("2025-06-30"),
            "06:59Z is still July 1st in California"
        );
    }

    #[test]
    fn dates_ranges_and_backfills() {
        let now = "2025-11-09T20:00:00Z";
        assert_eq!(
            plan_of(json!({"date": "2025-11-08"}), now).unwrap().daily,
            vec![d("2025-11-08")]
        );
        let p = plan_of(
            json!({"start_date": "2025-10-30", "end_date": "2025-11-02", "range": true}),
            now,
        )
        .unwrap();
        assert_eq!(p.daily.len(), 4);
        assert_eq!(
            p.range,
            Some(DayRange::new(d("2025-10-30"), d("2025-11-02")).unwrap())
        );
        let p = plan_of(json!({"days": 366}), now).unwrap();
        assert_eq!(
            (p.daily.len(), p.daily[0], p.daily[365]),
            (366, d("2024-11-08"), d("2025-11-08"))
        );
        let p = plan_of(
            json!({"days": 7, "range": true, "serial_number": "FGT71FTK22000471"}),
            now,
        )
        .unwrap();
        assert!(
            p.daily.is_empty(),
            "a serial filter never reaches the daily partitions"
        );
        assert_eq!(p.serial_filter.as_deref(), Some("FGT71FTK22000471"));
    }

    #[test]
    fn bad_payloads_are_invalid_requests() {
        let now = "2025-11-09T20:00:00Z";
        let cases = [
            (json!({"date": "2025-11-31"}), "is not a date"),
            (
                json!({"start_date": "2025-11-05", "end_date": "2025-11-01"}),
                "before start date",
            ),
            (json!({"date": "2025-11-09"}), "not a complete day"),
            (json!({"days": 367}), "days must be 1..=366"),
            (
                json!({"start_date": "2024-01-01", "end_date": "2025-11-01"}),
                "at most 366 days",
            ),
            (json!({"start_date": "2025-11-01"}), "go together"),
            (json!({"date": "2025-11-01", "days": 3}), "give one of"),
            (json!({"dates": "2025-11-01"}), "unknown field `dates`"),
            (json!({"time": "yesterday"}), "not an RFC 3339 instant"),
            (
                json!({"scheduled_time": "2025-11-09T14:00:00Z", "date": "2025-11-01"}),
                "cannot also name",
            ),
            (
                json!({"date": "2025-11-01", "serial_number": "FGT71FTK22000471"}),
                "needs \"range\": true",
            ),
            (
                json!({"days": 1, "range": true, "serial_number": "../x"}),
                "serial_number must be",
            ),
            (json!([1, 2]), "payload:"),
        ];
        for (payload, want) in cases {
            let err = plan_of(payload.clone(), now).unwrap_err();
            assert_eq!(err.kind(), "InvalidRequest", "{payload}");
            assert!(err.to_string().contains(want), "{payload}: {err}");
        }
    }
}
