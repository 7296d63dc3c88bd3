//! A ConnectWise create carries no idempotency key, so an answer that never came is looked
//! up, never repeated blind: a connection cut after ConnectWise stored the addition, an
//! answer later than `BILLING_TIMEOUT_SECS` and a 5xx sent after the store each end with one
//! addition per customer × product, found by its key; when the lookup cannot answer, the
//! entry stays pending and the run fails naming it, and the next run settles it.

use std::collections::BTreeMap;

use super::super::*;
use super::{PUSH_NOW, final_month, ledger, push, push_at, standins};
use crate::support::billing::AfterStore;

/// One addition per agreement × product, each named by a ledger that holds it accepted.
fn one_addition_per_item(dir: &Path, standins: &crate::support::billing::BillingStandIns) {
    let b = standins.books();
    let mut count: BTreeMap<(u64, u64), usize> = BTreeMap::new();
    for a in &b.additions {
        *count.entry((a.agreement, a.product)).or_default() += 1;
    }
    assert_eq!(
        count.into_iter().collect::<Vec<_>>(),
        [((901, 456), 1), ((901, 457), 1), ((902, 456), 1)],
        "{:?}",
        b.additions
    );
    for (item, product) in [
        ("acme_product-456", 456),
        ("acme_product-457", 457),
        ("globex_product-456", 456),
    ] {
        let l = ledger(dir, "connectwise", item);
        let last = l["entries"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["state"], "accepted", "{item}: {l}");
        let id: u64 = last["target_id"].as_str().unwrap().parse().unwrap();
        assert!(
            b.additions
                .iter()
                .any(|a| a.id == id && a.product == product),
            "{item}: {id}"
        );
    }
}

#[tokio::test]
async fn an_addition_stored_without_an_answer_is_found_by_its_key_not_added_again() {
    for (fault, settings) in [
        (AfterStore::CutOff, vec![]),
        (AfterStore::Status(503), vec![]),
        // ConnectWise answers after the client stopped waiting.
        (AfterStore::Late(2500), vec![("BILLING_TIMEOUT_SECS", "1")]),
    ] {
        let dir = final_month().await;
        let standins = standins().await;
        standins.books().after_store = Some(("connectwise", fault));
        let out = push_at(dir.path(), &standins, &["--apply"], PUSH_NOW, &settings).await;
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{fault:?}: {stdout}{stderr}");
        assert!(
            stdout.contains("[SUCCESS] 6 pushed, 0 already held, 0 failed"),
            "{fault:?}: {stdout}"
        );
        assert!(
            stderr.contains("found by its key"),
            "{fault:?}: the lookup is what settled it: {stderr}"
        );
        one_addition_per_item(dir.path(), &standins);
        // The POST went out once per item: nothing was repeated.
        let posts = standins
            .books()
            .writes
            .iter()
            .filter(|w| **w == ("connectwise", "POST"))
            .count();
        assert_eq!(posts, 3, "{fault:?}");
    }
}

#[tokio::test]
async fn an_unanswered_create_that_cannot_be_looked_up_stays_pending_and_fails_the_run() {
    let dir = final_month().await;
    let standins = standins().await;
    // The first addition is stored but its answer cut off, and ConnectWise then refuses to
    // list additions: nobody can tell whether it is there.
    {
        let mut b = standins.books();
        b.after_store = Some(("connectwise", AfterStore::CutOff));
        b.fail_reads = Some(("connectwise", 403, 1));
    }
    let out = push(dir.path(), &standins, &["--apply"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(!stdout.contains("[SUCCESS]"), "{stdout}");
    assert!(stdout.contains("[FAILED] 5 pushed"), "{stdout}");
    assert!(
        stderr.contains("billing:")
            && stderr.contains("connectwise for acme")
            && stderr.contains("looking it up by its key failed")
            && stderr.contains("stays pending"),
        "{stderr}"
    );
    let pending = ledger(dir.path(), "connectwise", "acme_product-456");
    assert_eq!(pending["entries"][0]["state"], "pending", "{pending}");
    assert_eq!(
        standins.books().additions.len(),
        3,
        "stored once, not again"
    );

    // The next run finds it by its key: still one addition each, all accepted.
    let out = push(dir.path(), &standins, &["--apply"]).await;
    assert!(out.status.success(), "{}", text(&out.stdout));
    one_addition_per_item(dir.path(), &standins);
    let settled = ledger(dir.path(), "connectwise", "acme_product-456");
    assert_eq!(settled["entries"].as_array().unwrap().len(), 1, "{settled}");
}
