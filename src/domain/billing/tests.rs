use std::str::FromStr;

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use serde_json::json;

use super::charges as charges_of;
use super::ledger::{Decision, Ledger, Operation, State, decide, idempotency_key};
use super::period::BillIn;
use super::plan::entry;
use super::*;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn billing(cw: serde_json::Value, stripe: serde_json::Value, webhook: bool) -> Billing {
    Billing::parse(
        Some(cw),
        Some(stripe),
        Some(webhook),
        BillIn::NextPeriod,
        "customers[0]",
    )
    .unwrap()
}

fn totals(price: Option<&str>, products: &[(Option<&str>, &str, &str)]) -> StatementTotals {
    let products: BTreeMap<Priced, Sum> = products
        .iter()
        .map(|(t, p, a)| {
            let key = Priced {
                product_type: t.map(str::to_string),
                rule: None,
            };
            let mut sum = Sum::new(None);
            sum.add(dec(p), price.map(|_| dec(a)), None);
            (key, sum)
        })
        .collect();
    let points = products.values().map(|p| p.points).sum();
    let amount = price.map(|_| products.values().filter_map(|p| p.amount).sum());
    StatementTotals {
        month: Month::parse("2025-11").unwrap(),
        status: Status::Final,
        currency: Some("USD".into()),
        customers: vec![CustomerTotals {
            id: "acme".into(),
            name: "Acme".into(),
            price_per_point: price.map(dec),
            points,
            amount,
            products,
        }],
    }
}

#[test]
fn connectwise_gets_one_charge_per_product_summed_as_the_statement_lines() {
    let b = billing(
        json!({"agreement_id": 9, "product_id": 1, "products": {"FortiGate Hardware": 2, "FortiGate-VM": 2}}),
        json!(null),
        false,
    );
    let s = totals(
        Some("0.55"),
        &[
            (Some("FortiGate Hardware"), "10.25", "5.64"),
            (Some("FortiGate-VM"), "1.10", "0.61"),
            (Some("FortiAnalyzer-VM"), "3.00", "1.65"),
            (None, "0.50", "0.28"),
        ],
    );
    let (charges, refused) = charges_of(&s, |_| Some(&b), &[]);
    assert!(refused.is_empty());
    type Got<'a> = (&'a str, Option<(u64, u64)>, Decimal, Option<Decimal>);
    let got: Vec<Got> = charges
        .iter()
        .map(|c| (c.item.as_str(), c.agreement, c.value, c.amount))
        .collect();
    assert_eq!(
        got,
        [
            (
                "acme_product-1",
                Some((9, 1)),
                dec("3.50"),
                Some(dec("1.93"))
            ),
            (
                "acme_product-2",
                Some((9, 2)),
                dec("11.35"),
                Some(dec("6.25"))
            ),
        ]
    );
    assert!(charges.iter().all(|c| c.unit_price == Some(dec("0.55"))));
}

#[test]
fn what_a_target_cannot_take_exactly_is_refused() {
    let stripe_points = billing(
        json!(null),
        json!({"customer": "cus_1", "unit": "points"}),
        false,
    );
    let s = totals(Some("0.50"), &[(Some("FortiGate-VM"), "10.25", "5.13")]);
    let (charges, refused) = charges_of(&s, |_| Some(&stripe_points), &[]);
    assert!(charges.is_empty());
    assert_eq!(refused[0].target, Target::Stripe);
    assert!(
        refused[0].message.contains("whole numbers: 10.25"),
        "{}",
        refused[0].message
    );
    // Cents are always whole; without a price there is neither an amount nor a unit price.
    let cents = billing(
        json!({"agreement_id": 9, "product_id": 1}),
        json!({"customer": "cus_1"}),
        true,
    );
    let (charges, _) = charges_of(&s, |_| Some(&cents), &[Target::Stripe]);
    assert_eq!(charges.len(), 1, "only the target asked for");
    assert_eq!(charges[0].value, dec("513"));
    let unpriced = totals(None, &[(Some("FortiGate-VM"), "10.25", "0")]);
    let (charges, refused) = charges_of(&unpriced, |_| Some(&cents), &[]);
    assert_eq!(charges.len(), 1, "the webhook takes points alone");
    assert_eq!(charges[0].target, Target::Webhook);
    assert_eq!(refused.len(), 2, "{refused:?}");
}

#[test]
fn a_bad_billing_setting_names_the_field() {
    for (cw, stripe, expected) in [
        (
            json!({"agreement_id": 9}),
            json!(null),
            "customers[0].connectwise: missing field `product_id`",
        ),
        (
            json!({"agreement_id": 0, "product_id": 1}),
            json!(null),
            "ids must be positive",
        ),
        (
            json!(null),
            json!({"customer": "acme"}),
            "customers[0].stripe.customer \"acme\"",
        ),
        (
            json!(null),
            json!({"customer": "cus_1", "unit": "dollars"}),
            "customers[0].stripe",
        ),
    ] {
        let err = Billing::parse(
            Some(cw),
            Some(stripe),
            None,
            BillIn::NextPeriod,
            "customers[0]",
        )
        .unwrap_err();
        assert!(err.contains(expected), "{err}");
    }
}

#[test]
fn the_ledger_says_what_is_left_to_send() {
    let b = billing(
        json!({"agreement_id": 9, "product_id": 1}),
        json!(null),
        false,
    );
    let s = totals(Some("0.50"), &[(Some("FortiGate-VM"), "10.00", "5.00")]);
    let charge = charges_of(&s, |_| Some(&b), &[]).0.remove(0);
    let now = Utc.with_ymd_and_hms(2025, 12, 5, 14, 0, 0).unwrap();
    assert_eq!(
        decide(&charge, None),
        Decision::Send {
            operation: Operation::Create,
            held: None
        }
    );
    let mut ledger = Ledger::new("ELAV", "2025-11", &charge);
    let key = idempotency_key("ELAV", "2025-11", &charge, 1);
    assert!(
        key.len() <= 100 && key.starts_with("ffr-2025-11-1-"),
        "{key}"
    );
    assert_eq!(key, idempotency_key("ELAV", "2025-11", &charge, 1));
    assert_ne!(key, idempotency_key("ELAV", "2025-11", &charge, 2));
    let step = super::plan::plan(&charge, None, Month::parse("2025-11").unwrap(), now).unwrap();
    assert_eq!(step.operation, Operation::Create);
    assert_eq!(
        step.period,
        Month::parse("2025-12").unwrap(),
        "billed in the next period"
    );
    let mut e = entry(&charge, 1, &step, key, (1, "abc"), now);
    ledger.entries.push(e.clone());
    assert_eq!(
        decide(&charge, Some(&ledger)),
        Decision::Resolve,
        "pending first"
    );
    e.state = State::Rejected;
    ledger.entries[0] = e.clone();
    assert!(matches!(
        decide(&charge, Some(&ledger)),
        Decision::Send {
            operation: Operation::Create,
            ..
        }
    ));
    e.state = State::Accepted;
    ledger.entries[0] = e;
    assert_eq!(decide(&charge, Some(&ledger)), Decision::Nothing);
    let mut restated = charge.clone();
    restated.value = dec("12.00");
    assert_eq!(
        decide(&restated, Some(&ledger)),
        Decision::Send {
            operation: Operation::Correct,
            held: Some(dec("10.00"))
        }
    );
    let mut repriced = charge.clone();
    repriced.unit_price = Some(dec("0.60"));
    assert!(matches!(
        decide(&repriced, Some(&ledger)),
        Decision::Send {
            operation: Operation::Correct,
            ..
        }
    ));
    // Nothing billed and nothing to bill: no zero push.
    let mut zero = charge;
    zero.value = Decimal::ZERO;
    assert_eq!(decide(&zero, None), Decision::Nothing);
}

#[test]
fn with_a_price_book_connectwise_gets_one_addition_per_product_and_rule_with_its_cost() {
    let b = billing(
        json!({"agreement_id": 9, "product_id": 1, "products": {"FortiGate-VM": 2}}),
        json!(null),
        false,
    );
    let line = |t: Option<&str>, rule: &str, price: Option<&str>, p: &str, a: &str, cost: &str| {
        let key = Priced {
            product_type: t.map(str::to_string),
            rule: Some(rule.to_string()),
        };
        let mut sum = Sum::new(price.map(dec));
        sum.add(dec(p), Some(dec(a)), Some(dec(cost)));
        (key, sum)
    };
    let mut s = totals(None, &[]);
    s.customers[0].products = [
        line(
            Some("FortiGate-VM"),
            "fgvm",
            Some("0.70"),
            "140",
            "98.00",
            "56.00",
        ),
        line(
            Some("FortiGate-VM"),
            "fgvm-nov15",
            Some("0.75"),
            "160",
            "120.00",
            "67.20",
        ),
        line(
            Some("FortiAnalyzer-VM"),
            "list",
            Some("0.60"),
            "3",
            "1.80",
            "1.27",
        ),
        line(None, MINIMUM_RULE, None, "0", "32.00", "0"),
    ]
    .into_iter()
    .collect();
    let (charges, refused) = charges_of(&s, |_| Some(&b), &[]);
    assert!(refused.is_empty(), "{refused:?}");
    type Got<'a> = (
        &'a str,
        u64,
        Decimal,
        Option<Decimal>,
        Option<Decimal>,
        Option<Decimal>,
    );
    let got: Vec<Got> = charges
        .iter()
        .map(|c| {
            (
                c.item.as_str(),
                c.agreement.unwrap().1,
                c.value,
                c.unit_price,
                c.unit_cost,
                c.amount,
            )
        })
        .collect();
    let some = |s: &str| Some(dec(s));
    assert_eq!(
        got,
        [
            (
                "acme_product-1_list",
                1,
                dec("3"),
                some("0.60"),
                some("0.423333"),
                some("1.80")
            ),
            // The minimum: one unit at what it adds.
            (
                "acme_product-1_minimum_monthly_charge",
                1,
                dec("1"),
                some("32.00"),
                some("0"),
                some("32.00")
            ),
            (
                "acme_product-2_fgvm",
                2,
                dec("140"),
                some("0.70"),
                some("0.4"),
                some("98.00")
            ),
            (
                "acme_product-2_fgvm-nov15",
                2,
                dec("160"),
                some("0.75"),
                some("0.42"),
                some("120.00")
            ),
        ]
    );
    // A rule's lines without a price cannot be an addition: refused, nothing sent.
    s.customers[0]
        .products
        .insert(line(None, "broken", None, "1", "0", "0").0, Sum::new(None));
    let (charges, refused) = charges_of(&s, |_| Some(&b), &[]);
    assert!(charges.is_empty());
    assert!(
        refused[0].message.contains(r#"rule "broken" have none"#),
        "{refused:?}"
    );
}

#[test]
fn stripe_in_points_refuses_a_month_lifted_to_its_minimum() {
    let b = billing(
        json!(null),
        json!({"customer": "cus_Acme", "unit": "points"}),
        false,
    );
    let mut s = totals(Some("0.50"), &[(Some("FortiGate-VM"), "40", "20.00")]);
    let mut minimum = Sum::new(None);
    minimum.add(Decimal::ZERO, Some(dec("30.00")), None);
    s.customers[0].products.insert(
        Priced {
            product_type: None,
            rule: Some(MINIMUM_RULE.to_string()),
        },
        minimum,
    );
    let (charges, refused) = charges_of(&s, |_| Some(&b), &[]);
    assert!(charges.is_empty());
    assert!(
        refused[0]
            .message
            .contains("minimum monthly charge of 30.00"),
        "{refused:?}"
    );
}
