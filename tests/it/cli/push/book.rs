//! A price book's month into ConnectWise: one addition per customer × product × rule at
//! the rule's price with the partner's unit cost, the minimum charge as one unit, once.

use super::*;

/// `CUSTOMERS`' targets with a price book: FortiGate-VM's price and the cost change on the
/// 15th, Acme's hardware FortiGate at its own price, Globex's minimum.
const BOOK: &str = r#"{"currency": "USD", "issuer": "Example MSSP Ltd",
 "cost_per_point": [
   {"cost_per_point": "0.40", "until": "2025-11-14"},
   {"cost_per_point": "0.42", "effective": "2025-11-15"}],
 "prices": [
   {"id": "list", "price_per_point": "0.50"},
   {"id": "fgvm", "product_type": "FortiGate-VM bundle", "price_per_point": "0.60", "until": "2025-11-14"},
   {"id": "fgvm-nov15", "product_type": "FortiGate-VM bundle", "price_per_point": "0.65", "effective": "2025-11-15"},
   {"id": "acme-hw", "customer": "acme", "config": 4103, "price_per_point": "0.55"}],
 "customers": [
  {"id": "acme", "name": "Acme Corp", "accounts": [3300001],
   "connectwise": {"agreement_id": 901, "product_id": 456, "products": {"FortiGate Hardware": 457}}},
  {"id": "globex", "name": "Globex", "accounts": [3300002], "minimum_monthly_charge": "2000.00",
   "connectwise": {"agreement_id": 902, "product_id": 456}}]}"#;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[tokio::test]
async fn a_price_books_month_lands_as_one_addition_per_product_and_rule_with_its_cost() {
    let dir = final_month().await;
    std::fs::write(dir.path().join("customers.json"), BOOK).unwrap();
    let out = build_statement(dir.path()).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(
        &std::fs::read(
            dir.path()
                .join("out/statements/month=2025-11/statement_ELAVMS0000123456_2025-11.json"),
        )
        .unwrap(),
    )
    .unwrap();
    // What the statement's lines say, per customer and rule: points, amount, cost.
    let mut owed: BTreeMap<(String, String), (Decimal, Decimal, Decimal)> = BTreeMap::new();
    for c in json["customers"].as_array().unwrap() {
        for l in c["lines"].as_array().unwrap() {
            let e = owed
                .entry((
                    c["id"].as_str().unwrap().into(),
                    l["rule"].as_str().unwrap().into(),
                ))
                .or_default();
            e.0 += dec(&l["points"].to_string());
            e.1 += dec(&l["amount"].to_string());
            e.2 += dec(&l["cost"].to_string());
        }
    }

    let standins = standins().await;
    let out = push(dir.path(), &standins, &["--apply"]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("[SUCCESS] 5 pushed, 0 already held, 0 failed"),
        "{stdout}"
    );
    let additions = standins.books().additions.clone();
    type Got = (u64, u64, Decimal, Option<Decimal>, Option<Decimal>);
    let mut got: Vec<Got> = additions
        .iter()
        .map(|a| {
            (
                a.agreement,
                a.product,
                a.quantity,
                a.unit_price,
                a.unit_cost,
            )
        })
        .collect();
    got.sort();
    let of = |c: &str, r: &str| owed[&(c.to_string(), r.to_string())];
    let unit_cost = |(points, _, cost): (Decimal, Decimal, Decimal)| {
        Some((cost / points).round_dp(6).normalize())
    };
    let (hw, fgvm, fgvm15) = (
        of("acme", "acme-hw"),
        of("acme", "fgvm"),
        of("acme", "fgvm-nov15"),
    );
    let (ems, minimum) = (of("globex", "list"), of("globex", "minimum_monthly_charge"));
    let mut expected: Vec<Got> = vec![
        (901, 456, fgvm.0, Some(dec("0.60")), unit_cost(fgvm)),
        (901, 456, fgvm15.0, Some(dec("0.65")), unit_cost(fgvm15)),
        (901, 457, hw.0, Some(dec("0.55")), unit_cost(hw)),
        (902, 456, ems.0, Some(dec("0.50")), unit_cost(ems)),
        // Globex's lines fall short of its 2,000.00: one unit of the difference.
        (902, 456, Decimal::ONE, Some(minimum.1), Some(Decimal::ZERO)),
    ];
    expected.sort();
    assert_eq!(got, expected);
    // Each addition bills what its statement lines say, to the cent.
    for (points, amount, _) in [fgvm, fgvm15, hw, ems] {
        let price = amount / points;
        assert!((points * price - amount).abs() < dec("0.01"));
    }
    assert_eq!(ems.1 + minimum.1, dec("2000.00"));

    // Once: a second run sends nothing; verify finds every addition as the statement says.
    let again = push(dir.path(), &standins, &["--apply"]).await;
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains("0 pushed, 5 already held"),
        "{}",
        text(&again.stdout)
    );
    assert_eq!(standins.books().additions.len(), 5);
    let verify = push(dir.path(), &standins, &["--verify"]).await;
    assert!(verify.status.success(), "{}", text(&verify.stdout));
    assert!(
        text(&verify.stdout).contains("5 match"),
        "{}",
        text(&verify.stdout)
    );
}
