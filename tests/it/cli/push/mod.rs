//! `push`: a final month into ConnectWise, Stripe and the webhook (stand-ins over real HTTP on
//! loopback), exactly once: a re-run sends nothing, a run killed between call and ledger sends
//! no duplicate, a restated month sends only the corrections, a refused customer leaves the
//! others pushed and fails the run with `Billing`.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::Value;
use tokio::sync::OnceCell;

mod book;
mod exactly_once;
mod lost_answers;
mod periods;
mod verify;

use super::*;
use crate::support::billing::{BillingStandIns, credentials_json};

pub(super) const PROGRAM: &str = "ELAVMS0000123456";

/// When the pushes run: 4 December 2025, November final, December (November's billing
/// period under the default `bill_in`) open. The CLI takes it as now (`FORTIFLEX_NOW`) and
/// the Stripe stand-in as its clock.
pub(super) const PUSH_NOW: &str = "2025-12-04T14:00:00Z";

/// The stand-ins on the push's clock.
pub(super) async fn standins() -> BillingStandIns {
    let standins = BillingStandIns::start().await;
    standins.set_stripe_clock(PUSH_NOW);
    standins
}

/// Acme (3300001: FortiGate-VM bundle and FortiGate Hardware) on ConnectWise with a product
/// per type, Stripe in cents and the webhook; Globex (3300002) on ConnectWise and the webhook.
const CUSTOMERS: &str = r#"{"currency": "USD", "price_per_point": "0.50", "issuer": "Example MSSP Ltd", "customers": [
  {"id": "acme", "name": "Acme Corp", "accounts": [3300001], "price_per_point": "0.55",
   "connectwise": {"agreement_id": 901, "product_id": 456, "products": {"FortiGate Hardware": 457}},
   "stripe": {"customer": "cus_Acme123"}, "webhook": true},
  {"id": "globex", "name": "Globex", "accounts": [3300002],
   "connectwise": {"agreement_id": 902, "product_id": 456}, "webhook": true}]}"#;

/// November 2025 stored day by day (the MSSP tenant), built once and copied per test.
static MONTH: OnceCell<tempfile::TempDir> = OnceCell::const_new();

async fn stored_month() -> &'static tempfile::TempDir {
    MONTH
        .get_or_init(|| async {
            let sim = simulator_at(Dataset::mssp(0), "2025-12-05").await;
            let dir = tempfile::tempdir().unwrap();
            let creds = write_credentials(dir.path(), CREDENTIALS);
            let args = [
                "consumption",
                "--credentials",
                &creds,
                "--start",
                "2025-11-01",
                "--end",
                "2025-11-30",
                "--daily",
                "--out",
                "out",
            ];
            let out = run(
                Some(&sim),
                dir.path(),
                &args,
                &[("FORTIFLEX_CALLS_PER_MINUTE", "100")],
            )
            .await;
            assert!(out.status.success(), "{}", text(&out.stderr));
            dir
        })
        .await
}

/// A fresh folder with the stored month, the customers file, the statement built (final:
/// the real clock is past November 2025's restatement window) and the credentials file.
pub(super) async fn final_month() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &stored_month().await.path().join("out"),
        &dir.path().join("out"),
    );
    std::fs::write(dir.path().join("customers.json"), CUSTOMERS).unwrap();
    std::fs::write(dir.path().join("billing.json"), credentials_json()).unwrap();
    let out = build_statement(dir.path()).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("STATEMENT 2025-11 (final)"),
        "{}",
        text(&out.stdout)
    );
    dir
}

/// `statement` for November 2025 with `customers.json`, from and into `out/`.
pub(super) async fn build_statement(dir: &Path) -> Output {
    run(None, dir, &super::statement::STATEMENT, &[]).await
}

/// FortiCloud restates 15 November: Acme's FortiGate (config 4102) used `extra` points more
/// than the stored day says (less when negative); the day is re-pulled and the statement
/// rebuilt. The statement's output.
pub(super) async fn restate(dir: &Path, extra: Decimal) -> Output {
    let mut corrected = Dataset::mssp(0);
    let day = NaiveDate::from_ymd_opt(2025, 11, 15).unwrap();
    let e = corrected.programs[0]
        .entitlements
        .iter_mut()
        .find(|e| e.config_id == 4102)
        .unwrap();
    e.spikes.push((day, e.daily + extra));
    let sim = start_sim(
        corrected,
        SimOptions {
            today: NaiveDate::from_ymd_opt(2025, 12, 5),
            ..Default::default()
        },
    )
    .await;
    let creds = write_credentials(dir, CREDENTIALS);
    let repull = [
        "consumption",
        "--credentials",
        &creds,
        "--date",
        "2025-11-15",
        "--daily",
        "--force",
        "--out",
        "out",
    ];
    let out = run(Some(&sim), dir, &repull, &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    build_statement(dir).await
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

pub(super) const PUSH: [&str; 10] = [
    "push",
    "--month",
    "2025-11",
    "--program",
    PROGRAM,
    "--customers",
    "customers.json",
    "--out",
    "out",
    "--billing-credentials",
];

pub(super) async fn push(dir: &Path, standins: &BillingStandIns, extra: &[&str]) -> Output {
    push_at(dir, standins, extra, PUSH_NOW, &[]).await
}

/// `push` at `now`, with more settings.
pub(super) async fn push_at(
    dir: &Path,
    standins: &BillingStandIns,
    extra: &[&str],
    now: &str,
    settings: &[(&str, &str)],
) -> Output {
    let args: Vec<&str> = PUSH
        .iter()
        .copied()
        .chain(["billing.json"])
        .chain(extra.iter().copied())
        .collect();
    let mut env = standins.env();
    env.push(("FORTIFLEX_NOW", now.to_string()));
    env.extend(settings.iter().map(|(k, v)| (*k, v.to_string())));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    run(None, dir, &args, &env).await
}

/// A customer's points, amount, and both per product type.
pub(super) type Owed = (Decimal, Decimal, BTreeMap<String, (Decimal, Decimal)>);

/// What the statement says each customer owes: points and amount per product type.
pub(super) fn statement(dir: &Path) -> BTreeMap<String, Owed> {
    let json: Value = serde_json::from_slice(
        &std::fs::read(
            dir.join("out/statements/month=2025-11/statement_ELAVMS0000123456_2025-11.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let dec = |v: &Value| Decimal::from_str(&v.to_string()).unwrap();
    json["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let mut products: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
            for l in c["lines"].as_array().unwrap() {
                let e = products
                    .entry(l["product_type"].as_str().unwrap_or("").to_string())
                    .or_default();
                e.0 += dec(&l["points"]);
                e.1 += dec(&l["amount"]);
            }
            let amount = if c["amount"].is_null() {
                Decimal::ZERO
            } else {
                dec(&c["amount"])
            };
            (
                c["id"].as_str().unwrap().to_string(),
                (dec(&c["points"]), amount, products),
            )
        })
        .collect()
}

pub(super) fn ledger(dir: &Path, target: &str, item: &str) -> Value {
    pushed_json(dir, &format!("{target}/{item}_{PROGRAM}_2025-11.json"))
}

/// A JSON file under November's `pushes/`.
pub(super) fn pushed_json(dir: &Path, name: &str) -> Value {
    let path = dir.join(format!("out/pushes/month=2025-11/{name}"));
    serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

#[tokio::test]
async fn a_final_month_lands_once_in_each_billing_system() {
    let dir = final_month().await;
    let standins = standins().await;
    let owed = statement(dir.path());

    // The default is a dry run: it says what would go, sends nothing, records nothing.
    let dry = push(dir.path(), &standins, &[]).await;
    let stdout = text(&dry.stdout);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    assert!(
        stdout.contains("PUSH 2025-11 (final, statement revision 1) - dry run"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[DRY RUN] 6 to send, 0 already held, 0 refused"),
        "{stdout}"
    );
    assert!(standins.books().writes.is_empty());
    assert!(
        !dir.path().join("out/pushes").exists(),
        "a dry run writes no ledger"
    );

    // A 503 from Stripe and a 429 from the webhook are retried.
    standins
        .books()
        .fail_once
        .extend([("stripe", 503), ("webhook", 429)]);
    let out = push(dir.path(), &standins, &["--apply"]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("[SUCCESS] 6 pushed, 0 already held, 0 failed"),
        "{stdout}"
    );
    {
        let b = standins.books();
        assert_eq!(b.refused, [(503, "stripe"), (429, "webhook")]);
        // ConnectWise: one addition per customer × product, quantities and prices as the
        // statement's lines add up.
        let acme = &owed["acme"];
        let hardware = acme.2["FortiGate Hardware"];
        let mut by_item: Vec<(u64, u64, Decimal, Option<Decimal>)> = b
            .additions
            .iter()
            .map(|a| (a.agreement, a.product, a.quantity, a.unit_price))
            .collect();
        by_item.sort();
        let price = |s: &str| Some(Decimal::from_str(s).unwrap());
        assert_eq!(
            by_item,
            [
                (901, 456, acme.0 - hardware.0, price("0.55")),
                (901, 457, hardware.0, price("0.55")),
                (902, 456, owed["globex"].0, price("0.50")),
            ]
        );
        // November bills in December (the default bill_in): one period, nothing after it.
        assert!(b.additions.iter().all(|a| {
            a.effective_date == "2025-12-01T00:00:00Z"
                && a.cancelled_date.as_deref() == Some("2025-12-31T00:00:00Z")
        }));
        // Quantities go out as the contract's exact decimal text.
        assert!(
            b.additions
                .iter()
                .all(|a| a.quantity_text == format!("{:.2}", a.quantity)),
            "{:?}",
            b.additions
        );
        assert!(
            b.additions[0]
                .invoice_description
                .contains("FortiFlex points ELAVMS0000123456 2025-11")
        );
        // Stripe: one meter event for Acme, its amount in cents.
        assert_eq!(b.events.len(), 1);
        assert_eq!(b.events[0].customer, "cus_Acme123");
        assert_eq!(b.events[0].event_name, "fortiflex_cents");
        assert_eq!(b.events[0].value, acme.1 * Decimal::ONE_HUNDRED);
        // The webhook: one signed delivery per customer, decimals as strings.
        let mut hooks: Vec<(String, String, String)> = b
            .deliveries
            .iter()
            .map(|d| {
                (
                    d.body["customer"]["id"].as_str().unwrap().into(),
                    d.body["points"].as_str().unwrap().into(),
                    d.body["amount"].as_str().unwrap().into(),
                )
            })
            .collect();
        hooks.sort();
        let text2 = |d: Decimal| format!("{:.2}", d);
        assert_eq!(
            hooks,
            [
                ("acme".into(), text2(acme.0), text2(acme.1)),
                (
                    "globex".into(),
                    text2(owed["globex"].0),
                    text2(owed["globex"].1)
                ),
            ]
        );
        assert!(
            b.deliveries
                .iter()
                .all(|d| d.body["revision"] == 1 && d.body["statement_revision"] == 1)
        );
    }
    // The ledger names what was sent, to whom, the target's id and the statement revision.
    let l = ledger(dir.path(), "connectwise", "acme_product-457");
    let e = &l["entries"][0];
    assert_eq!(
        (
            e["state"].as_str(),
            e["operation"].as_str(),
            e["statement_revision"].as_u64()
        ),
        (Some("accepted"), Some("create"), Some(1))
    );
    let id = e["target_id"].as_str().unwrap().to_string();
    assert!(
        standins
            .books()
            .additions
            .iter()
            .any(|a| a.id.to_string() == id && a.product == 457)
    );
    for secret in [
        crate::support::billing::CW_PRIVATE,
        crate::support::billing::STRIPE_KEY,
        crate::support::billing::WEBHOOK_SECRET,
    ] {
        assert!(!stdout.contains(secret) && !text(&out.stderr).contains(secret));
        for f in walk(&dir.path().join("out/pushes")) {
            assert!(
                !std::fs::read_to_string(&f).unwrap().contains(secret),
                "{}",
                f.display()
            );
        }
    }

    // Again: everything is held, nothing is sent.
    let writes = standins.books().writes.len();
    let again = push(dir.path(), &standins, &["--apply"]).await;
    let stdout = text(&again.stdout);
    assert!(again.status.success(), "{stdout}");
    assert!(
        stdout.contains("[SUCCESS] 0 pushed, 6 already held, 0 failed"),
        "{stdout}"
    );
    assert_eq!(
        standins.books().writes.len(),
        writes,
        "a re-run sends nothing"
    );
    assert_eq!(standins.books().additions.len(), 3);
}
