//! `push`'s exactly-once guarantees: a run killed between the call and its ledger sends no
//! duplicate, a restated month sends only the corrections, a refused customer leaves the
//! others pushed (and fails the run with `Billing`), a provisional month is refused.

use std::process::{Command, Stdio};
use std::time::Duration;

use rust_decimal::Decimal;

use super::super::*;
use super::{
    PUSH, PUSH_NOW, build_statement, final_month, ledger, push, restate, standins, statement,
};
use crate::support::billing::BillingStandIns;

/// `push --apply` started as a process (to be killed mid-call).
fn spawn_push(dir: &Path, standins: &BillingStandIns) -> std::process::Child {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .args(PUSH)
        .args(["billing.json", "--apply"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("FORTIFLEX_NOW", PUSH_NOW)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in standins.env() {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

#[tokio::test]
async fn a_run_killed_between_the_call_and_its_ledger_sends_no_duplicate() {
    let dir = final_month().await;
    let standins = standins().await;
    // Each target in turn takes the push, then the run dies before it hears back.
    for target in ["connectwise", "stripe", "webhook"] {
        standins.books().hang = Some(target);
        let writes = standins
            .books()
            .writes
            .iter()
            .filter(|w| w.0 == target)
            .count();
        let mut child = spawn_push(dir.path(), &standins);
        let waited = std::time::Instant::now();
        while standins
            .books()
            .writes
            .iter()
            .filter(|w| w.0 == target)
            .count()
            == writes
        {
            assert!(
                waited.elapsed() < Duration::from_secs(30),
                "{target} never called"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        child.kill().unwrap();
        child.wait().unwrap();
        // Stripe keeps an identifier unique at least as long as an Idempotency-Key: with
        // the key's reply forgotten, a resend meets the identifier and is refused as a
        // duplicate, which settles it.
        standins.books().stripe_replies.clear();
    }
    let pending = ledger(dir.path(), "webhook", "acme");
    assert_eq!(
        pending["entries"][0]["state"], "pending",
        "killed before the answer"
    );
    let out = push(dir.path(), &standins, &["--apply"]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    let b = standins.books();
    // One addition per item: the pending one was found by its key, not added again.
    assert_eq!(b.additions.len(), 3, "{:?}", b.additions);
    let mut products: Vec<(u64, u64)> = b
        .additions
        .iter()
        .map(|a| (a.agreement, a.product))
        .collect();
    products.sort();
    assert_eq!(products, [(901, 456), (901, 457), (902, 456)]);
    // Stripe refused the resent identifier as a duplicate, which settles it: one event.
    assert_eq!(b.events.len(), 1);
    assert!(b.refused.contains(&(400, "stripe")));
    // The webhook got the same key twice and kept one delivery per customer.
    assert_eq!(b.deliveries.len(), 2);
    assert!(b.writes.iter().filter(|w| w.0 == "webhook").count() >= 3);
    drop(b);
    for (target, item) in [
        ("connectwise", "acme_product-456"),
        ("stripe", "acme"),
        ("webhook", "acme"),
    ] {
        let l = ledger(dir.path(), target, item);
        let entries = l["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{target}: settled, not pushed again: {l}");
        assert_eq!(entries[0]["state"], "accepted", "{target}");
    }
    let cw = ledger(dir.path(), "connectwise", "acme_product-456");
    let id: u64 = cw["entries"][0]["target_id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        standins
            .books()
            .additions
            .iter()
            .any(|a| a.id == id && a.product == 456)
    );
}

#[tokio::test]
async fn a_restated_final_month_sends_only_the_corrections() {
    let dir = final_month().await;
    let standins = standins().await;
    let out = push(dir.path(), &standins, &["--apply"]).await;
    assert!(out.status.success(), "{}", text(&out.stdout));
    let before = statement(dir.path());

    // FortiCloud corrects 15 November for one of Acme's FortiGates.
    let out = restate(dir.path(), Decimal::from(7)).await;
    assert!(
        text(&out.stdout).contains("written (revision 2)"),
        "{}",
        text(&out.stdout)
    );
    let after = statement(dir.path());
    assert!(after["acme"].0 > before["acme"].0);
    assert_eq!(after["globex"], before["globex"]);

    let writes = standins.books().writes.len();
    let out = push(dir.path(), &standins, &["--apply"]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("statement revision 2"), "{stdout}");
    let b = standins.books();
    // Only Acme's corrections: a PATCH of the one addition whose product changed; Stripe's
    // event, received within the day, cancelled and the month sent again as one event; one
    // new webhook revision.
    assert_eq!(
        b.writes[writes..],
        [
            ("connectwise", "PATCH"),
            ("stripe", "CANCEL"),
            ("stripe", "POST"),
            ("webhook", "POST")
        ]
    );
    let vm = b
        .additions
        .iter()
        .find(|a| a.agreement == 901 && a.product == 456)
        .unwrap();
    let hardware = after["acme"].2["FortiGate Hardware"].0;
    assert_eq!(vm.quantity, after["acme"].0 - hardware);
    assert_eq!(b.additions.len(), 3);
    let cents: Vec<(Decimal, bool)> = b.events.iter().map(|e| (e.value, e.cancelled)).collect();
    assert_eq!(
        cents,
        [
            (before["acme"].1 * Decimal::ONE_HUNDRED, true),
            (after["acme"].1 * Decimal::ONE_HUNDRED, false)
        ]
    );
    assert_eq!(
        b.stripe_billed("cus_Acme123", "fortiflex_cents", "2025-12"),
        after["acme"].1 * Decimal::ONE_HUNDRED,
        "December's invoice bills the restated month once"
    );
    let last = b.deliveries.last().unwrap();
    assert_eq!(
        (
            last.body["customer"]["id"].as_str(),
            last.body["revision"].as_u64(),
            last.body["statement_revision"].as_u64()
        ),
        (Some("acme"), Some(2), Some(2))
    );
    assert_eq!(last.body["operation"], "correct");
    assert_eq!(
        last.body["previous"]["points"].as_str().unwrap(),
        format!("{:.2}", before["acme"].0)
    );
    assert_eq!(b.deliveries.len(), 3);
}

#[tokio::test]
async fn a_refused_customer_leaves_the_others_pushed_and_fails_the_run_with_billing() {
    let dir = final_month().await;
    let standins = standins().await;
    standins
        .books()
        .refuse_agreement
        .insert(902, "Agreement 902 is cancelled".into());
    let out = push(dir.path(), &standins, &["--apply"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stderr.contains("billing:")
            && stderr.contains(
                "connectwise for globex: ConnectWise answered HTTP 400: Agreement 902 is cancelled"
            ),
        "{stderr}"
    );
    assert!(
        stdout.contains("[FAILED] 5 pushed, 0 already held, 1 failed"),
        "{stdout}"
    );
    assert_eq!(
        standins.books().additions.len(),
        2,
        "Acme's additions went in"
    );
    assert_eq!(
        standins.books().deliveries.len(),
        2,
        "Globex's webhook went in"
    );
    let refused = ledger(dir.path(), "connectwise", "globex_product-456");
    assert_eq!(refused["entries"][0]["state"], "rejected");
    assert!(
        refused["entries"][0]["target_id"].is_null(),
        "nothing claims a push that did not happen"
    );

    // Mended at ConnectWise: the next run pushes Globex alone.
    standins.books().refuse_agreement.clear();
    let writes = standins.books().writes.len();
    let out = push(dir.path(), &standins, &["--apply"]).await;
    assert!(out.status.success(), "{}", text(&out.stdout));
    assert_eq!(standins.books().writes[writes..], [("connectwise", "POST")]);
    let l = ledger(dir.path(), "connectwise", "globex_product-456");
    assert_eq!(l["entries"][1]["state"], "accepted");
}

#[tokio::test]
async fn a_provisional_month_is_refused_by_apply() {
    let dir = final_month().await;
    let standins = standins().await;
    // 30 November goes missing: the month is provisional again.
    std::fs::remove_dir_all(dir.path().join("out/daily/manifests/dt=2025-11-30")).unwrap();
    let out = build_statement(dir.path()).await;
    assert!(
        text(&out.stdout).contains("STATEMENT 2025-11 (provisional)"),
        "{}",
        text(&out.stdout)
    );
    let dry = push(dir.path(), &standins, &[]).await;
    assert!(dry.status.success());
    assert!(
        text(&dry.stdout).contains("(provisional, statement revision 2) - dry run"),
        "{}",
        text(&dry.stdout)
    );
    let out = push(dir.path(), &standins, &["--apply"]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("2025-11 is provisional (revision 2): only a final month is pushed"),
        "{stderr}"
    );
    assert!(standins.books().writes.is_empty());
    assert!(!dir.path().join("out/pushes").exists());
}
