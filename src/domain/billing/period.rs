//! Which invoice carries a month: the partner's `bill_in` choice turned into each target's
//! dates. Billing periods are calendar months (agreements and subscriptions billed on the
//! 1st), so a month's line lives in exactly one of them:
//!
//! - ConnectWise: an addition bills on every agreement invoice while it is active, so a
//!   month's addition is effective on the period's first day and cancelled on its last;
//!   nothing of it bills in the periods after.
//! - Stripe: a meter event bills in the subscription period holding its `timestamp`. Stripe
//!   takes a timestamp at most 35 days back and 5 minutes ahead, and an event dated in a
//!   period whose invoice is finalized (1 hour after the period by default, at most 72 with
//!   a grace period) is never billed. So the timestamp is an instant inside the period (noon
//!   UTC, inside the same calendar day in the Americas and Europe), the latest one not after
//!   now, and a push that cannot date an event inside an open period is refused, naming
//!   the window, rather than sent into the wrong one.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use crate::domain::statement::Month;
pub(crate) use crate::domain::targets::BillIn;

/// The billing period a usage month is billed in, as `bill_in` says.
pub(crate) fn billing_period(bill_in: BillIn, usage: Month) -> Month {
    match bill_in {
        BillIn::NextPeriod => next(usage),
        BillIn::UsagePeriod => usage,
    }
}

/// The month after `m`.
pub(crate) fn next(m: Month) -> Month {
    Month::of(m.last() + Duration::days(1))
}

/// How far back Stripe takes a meter event's timestamp, and how far ahead.
pub(crate) const STRIPE_BACK: Duration = Duration::days(35);
pub(crate) const STRIPE_AHEAD: Duration = Duration::minutes(5);

fn noon(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default())
        .and_utc()
}

fn start(m: Month) -> DateTime<Utc> {
    m.first().and_time(NaiveTime::MIN).and_utc()
}

/// Whether Stripe still bills an event dated in `period` at `now`: the period's invoice
/// is finalized `grace_hours` after it ends.
pub(crate) fn stripe_open(period: Month, grace_hours: u32, now: DateTime<Utc>) -> bool {
    now < start(next(period)) + Duration::hours(i64::from(grace_hours))
}

/// The meter event timestamp that bills in `period`, sent at `now`; `Err`: why no instant
/// can (the period's invoice is finalized, or Stripe's 35-day window has passed it).
pub(crate) fn stripe_timestamp(
    period: Month,
    grace_hours: u32,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    let (first, last) = (noon(period.first()), noon(period.last()));
    if now + STRIPE_AHEAD < first {
        return Err(format!(
            "Stripe takes a meter event dated at most 5 minutes ahead; the billing period {period} starts {}",
            first.format("%Y-%m-%d")
        ));
    }
    if !stripe_open(period, grace_hours, now) {
        let closed = start(next(period)) + Duration::hours(i64::from(grace_hours));
        return Err(format!(
            "Stripe bills an event dated in the billing period {period} only until that period's invoice is finalized, {grace_hours} hour(s) after it ends (stripe.grace_hours): {} UTC; an event sent now would never be billed",
            closed.format("%Y-%m-%d %H:%M")
        ));
    }
    let at = (now - Duration::minutes(1)).clamp(first, last);
    if at < now - STRIPE_BACK {
        return Err(format!(
            "Stripe takes a meter event dated at most 35 days back; the billing period {period} ends {} and that is more than 35 days before now",
            last.format("%Y-%m-%d")
        ));
    }
    Ok(at)
}

/// A ConnectWise addition's `effectiveDate` and `cancelledDate`: the period's first and
/// last day.
pub(crate) fn connectwise_dates(period: Month) -> (String, String) {
    let date = |d: NaiveDate| format!("{d}T00:00:00Z");
    (date(period.first()), date(period.last()))
}

/// Whether a ConnectWise addition dated in `period` may still be changed in place at `now`:
/// until the period's last day is over, its invoice has not billed it.
pub(crate) fn connectwise_open(period: Month, now: DateTime<Utc>) -> bool {
    now < start(next(period))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{at, month};

    #[test]
    fn a_month_bills_in_the_next_period_unless_the_partner_says_otherwise() {
        assert_eq!(BillIn::default(), BillIn::NextPeriod);
        assert_eq!(
            billing_period(BillIn::NextPeriod, month("2025-11")),
            month("2025-12")
        );
        assert_eq!(
            billing_period(BillIn::NextPeriod, month("2025-12")),
            month("2026-01")
        );
        assert_eq!(
            billing_period(BillIn::UsagePeriod, month("2025-11")),
            month("2025-11")
        );
        assert_eq!(
            connectwise_dates(month("2026-02")),
            ("2026-02-01T00:00:00Z".into(), "2026-02-28T00:00:00Z".into())
        );
    }

    #[test]
    fn a_stripe_timestamp_lies_inside_its_period_and_stripes_window() {
        let dec = month("2025-12");
        // Pushed on 4 December: a minute ago, inside December.
        assert_eq!(
            stripe_timestamp(dec, 1, at("2025-12-04T14:00:00Z")),
            Ok(at("2025-12-04T13:59:00Z"))
        );
        // A push before the period's first noon is dated at it (within 5 minutes ahead).
        assert_eq!(
            stripe_timestamp(dec, 1, at("2025-12-01T11:58:00Z")),
            Ok(at("2025-12-01T12:00:00Z"))
        );
        assert!(stripe_timestamp(dec, 1, at("2025-11-30T12:00:00Z")).is_err());
        // November's own invoice: its last noon, while the grace period lasts.
        let nov = month("2025-11");
        assert_eq!(
            stripe_timestamp(nov, 72, at("2025-12-03T14:00:00Z")),
            Ok(at("2025-11-30T12:00:00Z"))
        );
        let closed = stripe_timestamp(nov, 1, at("2025-12-03T14:00:00Z")).unwrap_err();
        assert!(
            closed.contains("2025-12-01 01:00 UTC") && closed.contains("never be billed"),
            "{closed}"
        );
        // Past the 35 days (a 72-hour grace cannot reach that far, so the window is checked
        // against a long period's first noon).
        let far = stripe_timestamp(nov, 72, at("2026-01-06T00:00:00Z")).unwrap_err();
        assert!(far.contains("2025-12-04 00:00 UTC"), "{far}");
        assert!(stripe_open(dec, 1, at("2026-01-01T00:59:00Z")));
        assert!(!stripe_open(dec, 1, at("2026-01-01T01:00:00Z")));
    }

    #[test]
    fn a_connectwise_addition_is_open_until_its_period_ends() {
        let dec = month("2025-12");
        assert!(connectwise_open(dec, at("2025-12-31T23:59:59Z")));
        assert!(!connectwise_open(dec, at("2026-01-01T00:00:00Z")));
    }
}
