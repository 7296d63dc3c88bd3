//! Which invoice carries a month: `bill_in` (`next_period` by default, `usage_period` per
//! customer) dates every ConnectWise addition and Stripe event inside one billing period, the
//! stand-ins' invoices bill the month once in that period and nothing after, a push that
//! cannot date an event inside an open Stripe period is refused naming the window, and a
//! downward restatement is billed in full.

use rust_decimal::Decimal;

use super::super::*;
use super::{final_month, ledger, push, push_at, restate, standins, statement};

/// Acme bills in the next period (the file's default), Globex in its usage month; Acme's
/// Stripe account keeps invoices open 72 hours.
const BILL_IN: &str = r#"{"currency": "USD", "price_per_point": "0.50", "customers": [
  {"id": "acme", "name": "Acme Corp", "accounts": [3300001], "price_per_point": "0.55",
   "connectwise": {"agreement_id": 901, "product_id": 456},
   "stripe": {"customer": "cus_Acme123", "grace_hours": 72}},
  {"id": "globex", "name": "Globex", "accounts": [3300002], "bill_in": "usage_period",
   "connectwise": {"agreement_id": 902, "product_id": 456},
   "stripe": {"customer": "cus_Globex1", "grace_hours": 72}}]}"#;

#[tokio::test]
async fn each_month_bills_once_in_the_period_the_partner_chose() {
    let dir = final_month().await;
    std::fs::write(dir.path().join("customers.json"), BILL_IN).unwrap();
    let standins = standins().await;
    let owed = statement(dir.path());
    // 3 December: November's own invoices are still open (72-hour grace at Stripe).
    let now = "2025-12-03T14:00:00Z";
    standins.set_stripe_clock(now);
    let out = push_at(dir.path(), &standins, &["--apply"], now, &[]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let b = standins.books();
    // Every addition starts and ends inside one period: Acme's in December, Globex's in
    // November.
    let mut dates: Vec<(u64, &str, Option<&str>)> = b
        .additions
        .iter()
        .map(|a| {
            (
                a.agreement,
                a.effective_date.as_str(),
                a.cancelled_date.as_deref(),
            )
        })
        .collect();
    dates.sort();
    assert_eq!(
        dates,
        [
            (901, "2025-12-01T00:00:00Z", Some("2025-12-31T00:00:00Z")),
            (902, "2025-11-01T00:00:00Z", Some("2025-11-30T00:00:00Z")),
        ]
    );
    // A monthly agreement invoice bills the month once, in its period, nothing after.
    let (acme, globex) = (owed["acme"].0, owed["globex"].0);
    for (period, acme_billed, globex_billed) in [
        ("2025-10", Decimal::ZERO, Decimal::ZERO),
        ("2025-11", Decimal::ZERO, globex),
        ("2025-12", acme, Decimal::ZERO),
        ("2026-01", Decimal::ZERO, Decimal::ZERO),
        ("2026-02", Decimal::ZERO, Decimal::ZERO),
    ] {
        assert_eq!(b.cw_billed(901, 456, period), acme_billed, "Acme {period}");
        assert_eq!(
            b.cw_billed(902, 456, period),
            globex_billed,
            "Globex {period}"
        );
    }
    // Stripe bills each event in the period of its timestamp.
    let cents = |d: Decimal| d * Decimal::ONE_HUNDRED;
    for (period, acme_billed, globex_billed) in [
        ("2025-11", Decimal::ZERO, cents(owed["globex"].1)),
        ("2025-12", cents(owed["acme"].1), Decimal::ZERO),
        ("2026-01", Decimal::ZERO, Decimal::ZERO),
    ] {
        assert_eq!(
            b.stripe_billed("cus_Acme123", "fortiflex_cents", period),
            acme_billed,
            "Acme {period}"
        );
        assert_eq!(
            b.stripe_billed("cus_Globex1", "fortiflex_cents", period),
            globex_billed,
            "Globex {period}"
        );
    }
    assert!(
        stdout.contains("2025-12") && stdout.contains("2025-11"),
        "the table names each period: {stdout}"
    );
}

#[tokio::test]
async fn a_push_that_would_date_an_event_in_a_closed_stripe_period_is_refused() {
    let dir = final_month().await;
    std::fs::write(dir.path().join("customers.json"), BILL_IN).unwrap();
    let standins = standins().await;
    // 4 January 2026: December's invoice is finalized (72 hours after it ended), and so is
    // November's.
    let now = "2026-01-04T14:00:00Z";
    standins.set_stripe_clock(now);
    let out = push_at(
        dir.path(),
        &standins,
        &["--apply", "--target", "stripe"],
        now,
        &[],
    )
    .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    for (customer, period) in [("acme", "2025-12"), ("globex", "2025-11")] {
        assert!(
            stderr.contains(&format!("stripe for {customer}: Stripe bills an event dated in the billing period {period} only until"))
                && stderr.contains("would never be billed"),
            "{stderr}"
        );
    }
    assert!(
        stderr.contains("2026-01-04 00:00 UTC"),
        "the window's end is named: {stderr}"
    );
    assert!(standins.books().writes.is_empty(), "nothing sent");
    assert!(
        !dir.path().join("out/pushes/month=2025-11/stripe").exists(),
        "nothing recorded"
    );
}

#[tokio::test]
async fn a_downward_restatement_is_billed_in_full_in_the_originals_period() {
    let dir = final_month().await;
    let standins = standins().await;
    // Stored with 3,000 extra points on 15 November, pushed on 4 December.
    let out = restate(dir.path(), Decimal::from(3000)).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let high = statement(dir.path());
    let out = push(dir.path(), &standins, &["--apply"]).await;
    assert!(out.status.success(), "{}", text(&out.stdout));

    // FortiCloud takes them back; the correction goes out two days later (past Stripe's
    // 24-hour cancel window), while December is still open.
    let out = restate(dir.path(), Decimal::ZERO).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let low = statement(dir.path());
    let drop_cents = (high["acme"].1 - low["acme"].1) * Decimal::ONE_HUNDRED;
    assert!(
        drop_cents > Decimal::from(100_000),
        "a large drop: {drop_cents}"
    );
    let later = "2025-12-06T14:00:00Z";
    standins.set_stripe_clock(later);
    let out = push_at(dir.path(), &standins, &["--apply"], later, &[]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let b = standins.books();
    // Stripe: the negative difference dated as the original, so December nets to the
    // restated month, though December holds nothing else of Acme's.
    let acme: Vec<(Decimal, i64)> = b
        .events
        .iter()
        .filter(|e| e.customer == "cus_Acme123")
        .map(|e| (e.value, e.timestamp))
        .collect();
    assert_eq!(acme.len(), 2, "{acme:?}");
    assert_eq!(acme[1], (-drop_cents, acme[0].1));
    assert_eq!(
        b.stripe_billed("cus_Acme123", "fortiflex_cents", "2025-12"),
        low["acme"].1 * Decimal::ONE_HUNDRED
    );
    // ConnectWise: the quantity replaced; December's invoice bills the lower month.
    let vm = low["acme"].0 - low["acme"].2["FortiGate Hardware"].0;
    assert_eq!(b.cw_billed(901, 456, "2025-12"), vm);
    assert_eq!(b.additions.len(), 3);
    drop(b);
    let l = ledger(dir.path(), "stripe", "acme");
    assert_eq!(l["entries"][1]["operation"], "correct");
    assert!(stdout.contains("[RECONCILED]"), "{stdout}");
}

#[tokio::test]
async fn a_correction_after_the_period_closed_goes_into_the_current_one_with_a_warning() {
    let dir = final_month().await;
    let standins = standins().await;
    let out = restate(dir.path(), Decimal::from(3000)).await;
    assert!(out.status.success());
    let high = statement(dir.path());
    let out = push(dir.path(), &standins, &["--apply"]).await;
    assert!(out.status.success(), "{}", text(&out.stdout));
    let out = restate(dir.path(), Decimal::ZERO).await;
    assert!(out.status.success());
    let low = statement(dir.path());
    // 5 January: December's invoices have run.
    let now = "2026-01-05T14:00:00Z";
    standins.set_stripe_clock(now);
    let out = push_at(dir.path(), &standins, &["--apply"], now, &[]).await;
    let stdout = text(&out.stdout);
    // ConnectWise: a credit line in January, so the partner's next invoice refunds it.
    let b = standins.books();
    let credit = b.additions.last().unwrap();
    assert_eq!(credit.effective_date, "2026-01-01T00:00:00Z");
    assert_eq!(
        credit.cancelled_date.as_deref(),
        Some("2026-01-31T00:00:00Z")
    );
    assert_eq!(credit.quantity, low["acme"].0 - high["acme"].0);
    assert!(
        credit.invoice_description.contains("correction"),
        "{credit:?}"
    );
    assert_eq!(
        b.cw_billed(901, 456, "2025-12") + b.cw_billed(901, 456, "2026-01"),
        low["acme"].0 - low["acme"].2["FortiGate Hardware"].0
    );
    // Stripe: the negative difference can only go into January, which holds nothing else
    // of Acme's: Stripe floors it at 0, the push warns, and the reconciliation says so.
    assert!(
        stdout.contains("WARNING: the billing period 2025-12 is invoiced"),
        "{stdout}"
    );
    assert_eq!(
        b.stripe_billed("cus_Acme123", "fortiflex_cents", "2026-01"),
        Decimal::ZERO
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("DIFFERS") && stdout.contains("which Stripe bills as 0"),
        "{stdout}"
    );
}
