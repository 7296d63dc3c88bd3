//! `PUSH_ON_FINAL`: the scheduled run pushes a month to the billing systems (stand-ins over
//! loopback HTTP) on the first run after it turns final, with the credentials from Secrets
//! Manager and the ledger in S3; a refused customer fails the run with `Billing` after the
//! reports and the other customers; the next run pushes only what is left.

use fortiflex_reporter::adapters::fortiflex::Limits;

use super::*;
use crate::support::billing::{BillingStandIns, credentials_json};
use crate::support::simulator_at;

const CUSTOMERS: &str = r#"{"currency": "USD", "price_per_point": "0.50", "customers": [
  {"id": "acme", "name": "Acme Corp", "accounts": [3300001], "price_per_point": "0.55",
   "connectwise": {"agreement_id": 901, "product_id": 456}, "stripe": {"customer": "cus_Acme123"}, "webhook": true},
  {"id": "globex", "name": "Globex", "accounts": [3300002],
   "connectwise": {"agreement_id": 902, "product_id": 456}}]}"#;

fn scheduled(day: &str) -> Value {
    json!({"version": "0", "id": "e", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": format!("{day}T14:00:00Z"), "region": "us-east-1",
        "resources": [], "detail": {}})
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn the_scheduled_run_pushes_a_month_once_it_turns_final() {
    let aws = Aws::new(true).await;
    aws.put_secret(CREDENTIALS).await;
    let billing_secret = format!("{}-billing", aws.secret_id);
    aws.secrets
        .create_secret()
        .name(&billing_secret)
        .secret_string(credentials_json())
        .send()
        .await
        .unwrap();
    aws.put(&format!("{PREFIX}/config/customers.json"), CUSTOMERS)
        .await;
    let sim = simulator_at(Dataset::mssp(0), "2025-12-05").await;
    let standins = BillingStandIns::start().await;
    standins.books().stripe_now = Some(at("2025-12-04T14:00:00Z").timestamp());
    let mut env = lambda_env(moto(), &aws, &sim);
    env.extend(standins.env());
    env.extend([
        ("PUSH_ON_FINAL", "true".to_string()),
        ("BILLING_SECRET_ID", billing_secret.clone()),
    ]);
    let mut settings =
        LambdaSettings::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    settings.settings.limits = Limits::new(100_000, 100_000);
    let h = Handler::for_aws(settings, &aws.config).unwrap();

    // November stored by a backfill (no statements): nothing is pushed.
    let backfill = json!({"start_date": "2025-11-01", "end_date": "2025-11-30"});
    h.handle(backfill, at("2025-12-02T18:00:00Z"), "backfill")
        .await
        .unwrap();
    assert!(standins.books().writes.is_empty());
    // 1 December's run reports 30 November: the site writes November's statement pages.
    h.handle(scheduled("2025-12-01"), at("2025-12-01T14:00:00Z"), "run-0")
        .await
        .unwrap();
    let page = format!("{PREFIX}/site/month=2025-11/acme.html");
    let (before, _) = aws.object(&page).await;
    assert!(!String::from_utf8_lossy(&before).contains("<h2>Billing</h2>"));
    assert!(standins.books().writes.is_empty());

    // 2 December's run: November is still within its restatement window (provisional).
    let run = h
        .handle(scheduled("2025-12-02"), at("2025-12-02T14:00:00Z"), "run-1")
        .await
        .unwrap();
    let statuses: Vec<(&str, &str)> = run.programs[0]
        .statements
        .iter()
        .map(|s| (s.month.as_str(), s.status))
        .collect();
    assert_eq!(
        statuses,
        [("2025-11", "provisional"), ("2025-12", "provisional")]
    );
    assert!(run.programs[0].pushes.is_empty());
    assert!(standins.books().writes.is_empty());

    // 3 December: November turns final and is pushed; Globex's agreement is refused.
    standins
        .books()
        .refuse_agreement
        .insert(902, "Agreement 902 is cancelled".into());
    let err = h
        .handle(scheduled("2025-12-03"), at("2025-12-03T14:00:00Z"), "run-2")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "Billing");
    let message = err.to_string();
    assert!(
        message.contains(
            "connectwise for globex: ConnectWise answered HTTP 400: Agreement 902 is cancelled"
        ),
        "{message}"
    );
    assert!(!message.contains(crate::support::billing::STRIPE_KEY));
    let keys = aws.keys().await;
    assert!(
        keys.iter()
            .any(|k| k.ends_with("consumption_ELAVMS0000123456_2025-12-02.manifest.json")),
        "the day's report is written before the push"
    );
    let ledgers: Vec<&String> = keys
        .iter()
        .filter(|k| k.contains("/pushes/") && !k.contains("reconciliation_"))
        .collect();
    assert_eq!(ledgers.len(), 4, "{ledgers:?}");
    // The month is read back after the push: Globex's addition is missing at ConnectWise.
    let (body, _) = aws
        .object(&format!(
            "{PREFIX}/pushes/month=2025-11/reconciliation_ELAVMS0000123456_2025-11.json"
        ))
        .await;
    let reconciliation: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (
            reconciliation["matches"].as_u64(),
            reconciliation["missing"].as_u64(),
            reconciliation["unverifiable"].as_u64()
        ),
        (Some(2), Some(1), Some(1)),
        "{reconciliation}"
    );
    {
        let b = standins.books();
        assert_eq!(b.additions.len(), 1, "Acme's addition went in");
        assert_eq!(b.events.len(), 1);
        assert_eq!(b.deliveries.len(), 1);
    }

    // Mended: the next run pushes Globex alone, then a run after that sends nothing.
    standins.books().refuse_agreement.clear();
    let writes = standins.books().writes.len();
    let run = h
        .handle(scheduled("2025-12-04"), at("2025-12-04T14:00:00Z"), "run-3")
        .await
        .unwrap();
    assert_eq!(standins.books().writes[writes..], [("connectwise", "POST")]);
    let pushed = &run.programs[0].pushes;
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].month, "2025-11");
    assert!(pushed[0].items.iter().all(|i| i.done && i.error.is_none()));
    assert!(pushed[0].verified);
    let statuses: Vec<&str> = pushed[0]
        .items
        .iter()
        .map(|i| i.reconciliation.as_ref().unwrap().status)
        .collect();
    assert_eq!(
        statuses,
        ["matches", "matches", "matches", "unverifiable"],
        "ConnectWise × 2, Stripe, the webhook"
    );
    let reply = serde_json::to_value(&run).unwrap();
    assert_eq!(reply["programs"][0]["pushes"][0]["status"], "final");
    // Acme's November page shows where its month went and what each target holds.
    let (after, _) = aws.object(&page).await;
    let after = String::from_utf8_lossy(&after);
    assert!(after.contains("<h2>Billing</h2>"), "{after}");
    // Rewritten when November turned final (no longer the month to date).
    assert!(after.contains("final · accounts"), "{after}");
    assert_eq!(after.matches("<section class=\"billing\">").count(), 1);
    for expected in [
        "<td>connectwise</td><td>acme_product-456</td><td>2025-12</td>",
        "<td>stripe</td><td>acme</td><td>2025-12</td>",
        ">matches</td>",
        "unverifiable: a webhook cannot be read back",
    ] {
        assert!(after.contains(expected), "{expected}: {after}");
    }
    let writes = standins.books().writes.len();
    // The same run again (November is still one of its months): nothing is sent.
    h.handle(scheduled("2025-12-04"), at("2025-12-04T15:00:00Z"), "run-4")
        .await
        .unwrap();
    assert_eq!(
        standins.books().writes.len(),
        writes,
        "nothing left to send"
    );
    assert_eq!(standins.books().additions.len(), 2);
}
