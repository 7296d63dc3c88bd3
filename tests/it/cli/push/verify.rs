//! `push --verify` (and every `--apply`): what each target holds of the month read back and
//! compared with the statement, written as the month's reconciliation; a difference names
//! the customer and fails the run.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;

use super::super::*;
use super::{PROGRAM, final_month, push, pushed_json, standins, statement};

fn reconciliation(dir: &Path) -> Value {
    pushed_json(dir, &format!("reconciliation_{PROGRAM}_2025-11.json"))
}

#[tokio::test]
async fn verify_reports_every_line_and_names_a_difference() {
    let dir = final_month().await;
    let standins = standins().await;
    let owed = statement(dir.path());
    let out = push(dir.path(), &standins, &["--apply"]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("[RECONCILED] 4 match, 0 differ, 0 missing, 2 unverifiable"),
        "an applied push reads every target back: {stdout}"
    );

    // Later, on its own: reads only.
    let writes = standins.books().writes.len();
    let out = push(dir.path(), &standins, &["--verify"]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("verify: nothing is sent"), "{stdout}");
    assert!(
        stdout.contains("[RECONCILED] 4 match, 0 differ, 0 missing, 2 unverifiable"),
        "{stdout}"
    );
    assert_eq!(
        standins.books().writes.len(),
        writes,
        "a verify sends nothing"
    );
    let r = reconciliation(dir.path());
    assert_eq!(
        (r["matches"].as_u64(), r["differs"].as_u64()),
        (Some(4), Some(0))
    );
    let lines = r["lines"].as_array().unwrap();
    let line = |target: &str, item: &str| {
        lines
            .iter()
            .find(|l| l["target"] == target && l["item"] == item)
            .unwrap_or_else(|| panic!("{target} {item}: {r}"))
            .clone()
    };
    let globex = line("connectwise", "globex_product-456");
    assert_eq!(globex["status"], "matches");
    assert_eq!(globex["billing_period"], "2025-12");
    let dec = |v: &Value| Decimal::from_str(&v.to_string()).unwrap();
    assert_eq!(dec(&globex["statement_quantity"]), owed["globex"].0);
    assert_eq!(dec(&globex["target_quantity"]), owed["globex"].0);
    let stripe = line("stripe", "acme");
    assert_eq!(stripe["unit"], "cents");
    assert_eq!(
        dec(&stripe["target_quantity"]),
        owed["acme"].1 * Decimal::ONE_HUNDRED
    );
    assert_eq!(line("webhook", "acme")["status"], "unverifiable");

    // Someone edits Globex's addition in ConnectWise.
    {
        let mut b = standins.books();
        let a = b.additions.iter_mut().find(|a| a.agreement == 902).unwrap();
        a.quantity += Decimal::from(10);
    }
    let out = push(dir.path(), &standins, &["--verify"]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("[DIFFERS] 3 match, 1 differ, 0 missing, 2 unverifiable"),
        "{stdout}"
    );
    assert!(
        stderr.contains("connectwise for globex: globex_product-456 differs")
            && stderr.contains("(+10.00)"),
        "{stderr}"
    );
    let r = reconciliation(dir.path());
    let globex = r["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["item"] == "globex_product-456")
        .unwrap()
        .clone();
    assert_eq!(globex["status"], "differs");
    assert_eq!(dec(&globex["difference"]), Decimal::from(10));
    assert_eq!(standins.books().writes.len(), writes, "still nothing sent");
}

#[tokio::test]
async fn verify_finds_a_month_the_target_lost_and_an_addition_that_never_ends() {
    let dir = final_month().await;
    let standins = standins().await;
    let out = push(
        dir.path(),
        &standins,
        &["--apply", "--target", "connectwise"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stdout));
    {
        let mut b = standins.books();
        // Globex's addition deleted at ConnectWise; Acme's hardware addition left open-ended.
        b.additions.retain(|a| a.agreement != 902);
        let hw = b.additions.iter_mut().find(|a| a.product == 457).unwrap();
        hw.cancelled_date = None;
    }
    let out = push(
        dir.path(),
        &standins,
        &["--verify", "--target", "connectwise"],
    )
    .await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("1 match, 1 differ, 1 missing"), "{stdout}");
    assert!(stderr.contains("globex_product-456 missing"), "{stderr}");
    assert!(
        stderr.contains("acme_product-457 differs") && stderr.contains("has no cancelled date"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_push_stripe_has_not_summed_yet_is_unverifiable_not_a_difference() {
    let dir = final_month().await;
    let standins = standins().await;
    standins.books().summaries_lag = true;
    let out = push(dir.path(), &standins, &["--apply", "--target", "stripe"]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("[RECONCILED] 0 match, 0 differ, 0 missing, 1 unverifiable")
            && stdout.contains("has not summed the events just sent"),
        "{stdout}"
    );
    // Minutes later, Stripe has summed it.
    standins.books().summaries_lag = false;
    let out = push(dir.path(), &standins, &["--verify", "--target", "stripe"]).await;
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("[RECONCILED] 1 match"),
        "{}",
        text(&out.stdout)
    );
}

#[tokio::test]
async fn verify_needs_the_credentials() {
    let dir = final_month().await;
    let standins = standins().await;
    let env = standins.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args: Vec<&str> = super::PUSH[..9]
        .iter()
        .copied()
        .chain(["--verify"])
        .collect();
    let out = run(None, dir.path(), &args, &env).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--verify needs the billing systems' credentials"),
        "{}",
        text(&out.stderr)
    );
}
