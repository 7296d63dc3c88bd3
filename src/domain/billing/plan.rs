//! The next call for a charge the ledger says to send ([`super::ledger::decide`]): what it
//! does at the target (a new record, a record changed in place, Stripe events cancelled),
//! what it carries, and the billing period and dates it bills in ([`super::period`]).
//!
//! A first push bills in the period `bill_in` names. A correction keeps to the original's
//! period while that period's invoice can still take it:
//! - ConnectWise: the addition's quantity is replaced in place (one line, the right total
//!   on the period's invoice); once its period is over, its invoice has billed it, so the
//!   difference becomes a new addition in the current period (a credit when negative).
//! - Stripe: events received within the last 23 hours are cancelled and the month sent
//!   again as one event (Stripe cancels an event only within 24 hours of receiving it);
//!   otherwise the difference is sent dated like the original, so a downward correction
//!   nets against the original inside one period and is billed in full. Once that period's
//!   invoice is finalized, the difference goes into the current period, with a warning
//!   when it is negative: Stripe bills a period's negative total as 0.

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use super::ledger::{Entry, Ledger, Operation, State};
use super::period::{connectwise_open, stripe_open, stripe_timestamp};
use super::{Charge, Target};
use crate::domain::money::Exact;
use crate::domain::money::points_text;
use crate::domain::statement::Month;

/// How long after Stripe received an event it is still cancelled (Stripe: 24 hours), with
/// an hour kept back.
pub(crate) const STRIPE_CANCEL_WINDOW: Duration = Duration::hours(23);

/// One call to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    pub operation: Operation,
    /// What the call puts into its record: the addition's quantity, the event's value (a
    /// difference for a correcting event), the webhook's points.
    pub sent: Decimal,
    /// What the target holds for the item once it is accepted.
    pub value: Decimal,
    /// The billing period it bills in.
    pub period: Month,
    /// Stripe's `timestamp`.
    pub event_time: Option<DateTime<Utc>>,
    /// ConnectWise: the addition changed in place.
    pub updates: Option<String>,
    /// Stripe: the events cancelled.
    pub cancels: Vec<String>,
    pub warning: Option<String>,
}

/// The next step for `charge`, which `ledger` holds `held` of (`decide` said to send);
/// `usage` is the statement's month. `Err`: why it cannot be sent without billing the wrong
/// period (nothing is sent, the customer's item fails naming it).
pub(crate) fn plan(
    charge: &Charge,
    ledger: Option<&Ledger>,
    usage: Month,
    now: DateTime<Utc>,
) -> Result<Step, String> {
    let held = ledger
        .and_then(Ledger::held)
        .filter(|h| h.operation != Operation::Cancel);
    let fresh = Step {
        operation: match ledger.and_then(Ledger::held) {
            Some(_) => Operation::Correct,
            None => Operation::Create,
        },
        sent: charge.value,
        value: charge.value,
        period: charge.period,
        event_time: None,
        updates: None,
        cancels: Vec::new(),
        warning: None,
    };
    let Some(held) = held else {
        return match (charge.target, &charge.stripe) {
            (Target::Stripe, Some(s)) => Ok(Step {
                event_time: Some(stripe_timestamp(charge.period, s.grace_hours, now)?),
                ..fresh
            }),
            _ => Ok(fresh),
        };
    };
    let difference = charge.value - held.value.0;
    let current = Month::of(now.date_naive());
    match (charge.target, &charge.stripe) {
        (Target::ConnectWise, _) => {
            let period = held.period_or(usage);
            match &held.target_id {
                Some(id) if connectwise_open(period, now) => Ok(Step {
                    sent: held.sent.0 + difference,
                    period,
                    updates: Some(id.clone()),
                    ..fresh
                }),
                _ if difference.is_zero() => Err(format!(
                    "the price changed after the billing period {period} ended, so ConnectWise has invoiced the old price: credit or charge the difference by hand"
                )),
                _ => Ok(Step {
                    sent: difference,
                    period: current,
                    ..fresh
                }),
            }
        }
        (Target::Stripe, Some(s)) => {
            let live = ledger.map(Ledger::live).unwrap_or_default();
            let original = live.first().copied().unwrap_or(held);
            let period = original.period_or(usage);
            let open = stripe_open(period, s.grace_hours, now);
            let received = |e: &&Entry| e.finished_at.unwrap_or(e.started_at);
            if open
                && !live.is_empty()
                && live
                    .iter()
                    .all(|e| received(e) > now - STRIPE_CANCEL_WINDOW)
            {
                return Ok(Step {
                    operation: Operation::Cancel,
                    sent: Decimal::ZERO,
                    value: Decimal::ZERO,
                    period,
                    cancels: live.iter().filter_map(|e| e.target_id.clone()).collect(),
                    ..fresh
                });
            }
            if open {
                return Ok(Step {
                    sent: difference,
                    period,
                    event_time: Some(original.event_time()),
                    ..fresh
                });
            }
            let warning = difference.is_sign_negative().then(|| {
                format!(
                    "the billing period {period} is invoiced, so the correction of {} goes into {current}: Stripe bills a period's negative total as 0, so if {current} holds less than {} of this customer's other usage on the meter, part of the credit is lost; check the reconciliation",
                    points_text(difference),
                    points_text(-difference)
                )
            });
            Ok(Step {
                sent: difference,
                period: current,
                event_time: Some(stripe_timestamp(current, s.grace_hours, now)?),
                warning,
                ..fresh
            })
        }
        _ => Ok(fresh),
    }
}

/// The entry for sending `step` of `charge` now (pending until the target answers).
pub(crate) fn entry(
    charge: &Charge,
    seq: u32,
    step: &Step,
    key: String,
    statement: (u64, &str),
    now: DateTime<Utc>,
) -> Entry {
    Entry {
        seq,
        state: State::Pending,
        operation: step.operation,
        statement_revision: statement.0,
        statement_sha256: statement.1.to_string(),
        points: Exact(charge.points),
        unit_price: charge.unit_price.map(Exact),
        amount: charge.amount.map(Exact),
        value: Exact(step.value),
        sent: Exact(step.sent),
        idempotency_key: key,
        target_id: None,
        message: None,
        started_at: now,
        finished_at: None,
        period: Some(step.period.to_string()),
        event_time: step.event_time,
        updates: step.updates.clone(),
        cancels: step.cancels.clone(),
        warning: step.warning.clone(),
    }
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::domain::billing::ledger::{Ledger, State};
    use crate::domain::billing::{StripeBilling, StripeUnit};
    use crate::testutil::{at, dec, month};

    fn charge(target: Target, value: &str) -> Charge {
        Charge {
            target,
            customer_id: "acme".into(),
            customer_name: "Acme".into(),
            item: "acme".into(),
            agreement: (target == Target::ConnectWise).then_some((9, 1)),
            points: dec(value),
            unit_price: Some(dec("0.50")),
            unit_cost: None,
            amount: None,
            value: dec(value),
            stripe: (target == Target::Stripe).then(|| StripeBilling {
                customer: "cus_1".into(),
                unit: StripeUnit::Cents,
                event_name: "fortiflex_cents".into(),
                grace_hours: 1,
                meter: None,
            }),
            period: month("2025-12"),
        }
    }

    /// A ledger holding `charge` pushed (and accepted) at `when`.
    fn pushed(charge: &Charge, when: &str) -> Ledger {
        let usage = month("2025-11");
        let step = plan(charge, None, usage, at(when)).unwrap();
        let mut e = entry(charge, 1, &step, "k1".into(), (1, "sha"), at(when));
        e.state = State::Accepted;
        e.target_id = Some("7001".into());
        e.finished_at = Some(at(when));
        let mut l = Ledger::new("ELAV", "2025-11", charge);
        l.entries.push(e);
        l
    }

    #[test]
    fn a_first_push_bills_in_the_charges_period() {
        let usage = month("2025-11");
        let now = at("2025-12-04T14:00:00Z");
        let cw = plan(&charge(Target::ConnectWise, "10.00"), None, usage, now).unwrap();
        assert_eq!(
            (cw.operation, cw.period, cw.sent),
            (Operation::Create, month("2025-12"), dec("10.00"))
        );
        assert_eq!((cw.updates.as_deref(), cw.event_time), (None, None));
        let st = plan(&charge(Target::Stripe, "500"), None, usage, now).unwrap();
        assert_eq!(st.event_time, Some(at("2025-12-04T13:59:00Z")));
        let mut late = charge(Target::Stripe, "500");
        late.period = usage;
        let refused = plan(&late, None, usage, now).unwrap_err();
        assert!(refused.contains("billing period 2025-11"), "{refused}");
    }

    #[test]
    fn a_connectwise_correction_replaces_in_its_period_and_adds_a_line_after_it() {
        let usage = month("2025-11");
        let first = charge(Target::ConnectWise, "10.00");
        let ledger = pushed(&first, "2025-12-04T14:00:00Z");
        let lower = charge(Target::ConnectWise, "7.50");
        let in_period = plan(&lower, Some(&ledger), usage, at("2025-12-20T00:00:00Z")).unwrap();
        assert_eq!(in_period.operation, Operation::Correct);
        assert_eq!(in_period.updates.as_deref(), Some("7001"));
        assert_eq!(
            (in_period.sent, in_period.value),
            (dec("7.50"), dec("7.50"))
        );
        assert_eq!(in_period.period, month("2025-12"));
        let after = plan(&lower, Some(&ledger), usage, at("2026-01-05T00:00:00Z")).unwrap();
        assert_eq!(after.updates, None, "a new addition");
        assert_eq!((after.sent, after.period), (dec("-2.50"), month("2026-01")));
        let mut repriced = first.clone();
        repriced.unit_price = Some(dec("0.60"));
        let refused =
            plan(&repriced, Some(&ledger), usage, at("2026-01-05T00:00:00Z")).unwrap_err();
        assert!(refused.contains("by hand"), "{refused}");
    }

    #[test]
    fn a_stripe_correction_cancels_within_a_day_else_sends_the_difference_dated_as_the_original() {
        let usage = month("2025-11");
        let first = charge(Target::Stripe, "1000");
        let ledger = pushed(&first, "2025-12-04T14:00:00Z");
        let lower = charge(Target::Stripe, "250");
        let soon = plan(&lower, Some(&ledger), usage, at("2025-12-05T12:00:00Z")).unwrap();
        assert_eq!(soon.operation, Operation::Cancel);
        assert_eq!(
            (soon.cancels.clone(), soon.value),
            (vec!["7001".to_string()], Decimal::ZERO)
        );
        let later = plan(&lower, Some(&ledger), usage, at("2025-12-06T14:00:00Z")).unwrap();
        assert_eq!(later.operation, Operation::Correct);
        assert_eq!(later.sent, dec("-750"));
        assert_eq!(
            later.event_time,
            Some(at("2025-12-04T13:59:00Z")),
            "the original's instant"
        );
        assert_eq!(later.warning, None);
        // December invoiced: into January, warned.
        let closed = plan(&lower, Some(&ledger), usage, at("2026-01-05T14:00:00Z")).unwrap();
        assert_eq!(
            (closed.period, closed.sent),
            (month("2026-01"), dec("-750"))
        );
        assert!(closed.warning.unwrap().contains("negative total as 0"));
        // After a cancel, the month goes out again whole.
        let mut cancelled = ledger.clone();
        let mut c = entry(
            &lower,
            2,
            &soon,
            "k2".into(),
            (2, "sha"),
            at("2025-12-05T12:00:00Z"),
        );
        c.state = State::Accepted;
        c.target_id = Some("k2".into());
        cancelled.entries.push(c);
        assert!(cancelled.live().is_empty());
        let again = plan(&lower, Some(&cancelled), usage, at("2025-12-05T12:00:00Z")).unwrap();
        assert_eq!(
            (again.operation, again.sent),
            (Operation::Correct, dec("250"))
        );
        assert_eq!(again.cancels, Vec::<String>::new());
    }

    #[test]
    fn an_old_pending_connectwise_correction_is_read_as_the_update_it_was() {
        let first = charge(Target::ConnectWise, "10.00");
        let mut ledger = pushed(&first, "2025-12-04T14:00:00Z");
        ledger.entries[0].period = None;
        let mut old = ledger.entries[0].clone();
        old.seq = 2;
        old.operation = Operation::Correct;
        old.state = State::Pending;
        old.target_id = None;
        ledger.entries.push(old);
        ledger.upgrade();
        assert_eq!(ledger.entries[1].updates.as_deref(), Some("7001"));
        assert_eq!(
            ledger.entries[0].period_or(month("2025-11")),
            month("2025-11")
        );
    }
}
