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

use super::ledger::{Entry, Ledger, Operation};
use super::period::{connectwise_open, stripe_open, stripe_timestamp};
use super::{Charge, Target};
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
