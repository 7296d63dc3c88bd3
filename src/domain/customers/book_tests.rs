//! The price book: which rule prices a row on a day, and the files it refuses.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::Customers;
use crate::domain::ids::AccountId;
use crate::domain::statement::RowRef;

/// An MSSP's price book: a list price per point and per product type (FortiGate-VM up
/// on the 15th), Acme's own FortiGate-VM price, a lab serial free, Globex's minimum, and
/// the partner's cost rising on the 15th. Line numbers matter: the errors name them.
pub(crate) const BOOK: &str = r#"{
  "currency": "USD",
  "issuer": "Example MSSP Ltd",
  "cost_per_point": [
    {"cost_per_point": "0.40", "until": "2025-11-14"},
    {"cost_per_point": "0.42", "effective": "2025-11-15"}
  ],
  "prices": [
    {"id": "list", "price_per_point": "0.60"},
    {"id": "list-fgvm", "product_type": "FortiGate-VM", "price_per_point": "0.70", "until": "2025-11-14"},
    {"id": "list-fgvm-nov15", "product_type": "FortiGate-VM", "price_per_point": "0.75", "effective": "2025-11-15"},
    {"id": "list-fmg", "product_type": "FortiManager-VM", "price_per_point": "0.50"},
    {"id": "acme-fgvm", "customer": "acme", "product_type": "FortiGate-VM", "price_per_point": "0.65"},
    {"id": "acme-4105", "customer": "acme", "config": 4105, "price_per_point": "0.55"},
    {"id": "lab-free", "serial": "FZVMMLTM00000689", "price_per_point": "0"}
  ],
  "customers": [
    {"id": "acme", "name": "Acme Corp", "accounts": [3300001]},
    {"id": "globex", "name": "Globex", "accounts": [3300002], "minimum_monthly_charge": "250.00"}
  ]
}"#;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn row<'a>(serial: &'a str, account: u64, config: u64, product: &'a str) -> RowRef<'a> {
    RowRef {
        serial_number: serial,
        account_id: AccountId(account),
        config_id: Some(config),
        config_name: None,
        product_type: Some(product),
        description: None,
        points: Decimal::ONE,
    }
}

/// The rule and price of `r` on `on`.
fn priced(c: &Customers, r: &RowRef<'_>, on: &str) -> Option<(String, String)> {
    let who = c.billed(r.serial_number, r.config_id, r.account_id);
    c.prices.price(who.index, r, day(on)).map(|p| {
        (
            c.prices.rules[p.rule as usize].id.clone(),
            p.price_per_point.to_string(),
        )
    })
}

#[test]
fn the_most_specific_rule_in_force_prices_a_row() {
    let c = Customers::parse(BOOK, "customers.json").unwrap();
    assert!(c.book && c.priced());
    let fgvm = row("FGVMMLTM00000993", 3300002, 4102, "FortiGate-VM");
    let cases = [
        // Globex pays the list: the product type's rule before and after the 15th.
        (fgvm, "2025-11-14", "list-fgvm", "0.70"),
        (fgvm, "2025-11-15", "list-fgvm-nov15", "0.75"),
        // A product type without a rule of its own: the list price per point.
        (
            row("FAZVMLTM0000001", 3300002, 4106, "FortiAnalyzer-VM"),
            "2025-11-20",
            "list",
            "0.60",
        ),
        // Acme's own rule wins over the list, whatever the day.
        (
            row("FGVMMLTM00000001", 3300001, 4102, "FortiGate-VM"),
            "2025-11-20",
            "acme-fgvm",
            "0.65",
        ),
        // Acme's configuration before Acme's product type.
        (
            row("FGVMMLTM00000002", 3300001, 4105, "FortiGate-VM"),
            "2025-11-20",
            "acme-4105",
            "0.55",
        ),
        // Acme's rules before the all-customers serial rule: the lab serial under Acme's
        // account is priced by Acme's configuration rule...
        (
            row("FZVMMLTM00000689", 3300001, 4105, "FortiGate-VM"),
            "2025-11-20",
            "acme-4105",
            "0.55",
        ),
        // ...and, anywhere else, by its own serial rule.
        (
            row("FZVMMLTM00000689", 2321234, 4101, "FortiManager-VM"),
            "2025-11-20",
            "lab-free",
            "0",
        ),
    ];
    for (r, on, rule, price) in cases {
        assert_eq!(
            priced(&c, &r, on),
            Some((rule.to_string(), price.to_string())),
            "{} on {on}",
            r.serial_number
        );
    }
    assert_eq!(
        c.prices.cost(day("2025-11-14")),
        Some("0.40".parse().unwrap())
    );
    assert_eq!(
        c.prices.cost(day("2025-11-15")),
        Some("0.42".parse().unwrap())
    );
    assert_eq!(
        c.customers[1].minimum_monthly_charge,
        Some("250.00".parse().unwrap())
    );
}

#[test]
fn a_customers_own_rule_has_the_list_price_beside_it() {
    let c = Customers::parse(BOOK, "customers.json").unwrap();
    let acme = row("FGVMMLTM00000001", 3300001, 4102, "FortiGate-VM");
    let who = c.billed(acme.serial_number, acme.config_id, acme.account_id);
    let p = c.prices.price(who.index, &acme, day("2025-11-20")).unwrap();
    assert_eq!(
        c.prices.list_price(p, &acme, day("2025-11-20")),
        Some("0.75".parse().unwrap())
    );
    let globex = row("FGVMMLTM00000993", 3300002, 4102, "FortiGate-VM");
    let who = c.billed(globex.serial_number, globex.config_id, globex.account_id);
    let p = c
        .prices
        .price(who.index, &globex, day("2025-11-20"))
        .unwrap();
    assert_eq!(c.prices.list_price(p, &globex, day("2025-11-20")), None);
}

#[test]
fn an_old_files_prices_are_undated_rules_outside_the_book() {
    let c = Customers::parse(super::tests::EXAMPLE, "customers.json").unwrap();
    assert!(!c.book, "an old file keeps its old statements");
    let ids: Vec<&str> = c.prices.rules.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["acme.price_per_point", "price_per_point"]);
    assert!(c.prices.costs.is_empty());
}

/// `BOOK` with `old` replaced by `new` (which must be there).
fn edited(old: &str, new: &str) -> String {
    assert!(BOOK.contains(old), "{old}");
    BOOK.replacen(old, new, 1)
}

#[test]
fn a_bad_book_is_refused_naming_the_rule_and_its_line() {
    let cases = [
        // Overlapping rules of one scope: the new FortiGate-VM price starts a day early.
        (
            edited(
                r#""0.75", "effective": "2025-11-15"}"#,
                r#""0.75", "effective": "2025-11-14"}"#,
            ),
            r#"rule "list-fgvm-nov15" (line 11) overlaps rule "list-fgvm" (line 10): both price product type "FortiGate-VM" for every customer on 2025-11-14"#,
        ),
        // A customer without a price from a day on: the list per point ends.
        (
            edited(
                r#"{"id": "list", "price_per_point": "0.60"}"#,
                r#"{"id": "list", "price_per_point": "0.60", "until": "2026-01-31"}"#,
            ),
            r#"customer "acme" has no price from 2026-02-01: its rules for every point are rule "list" (line 9)"#,
        ),
        (
            edited(
                r#""customer": "acme", "config""#,
                r#""customer": "acne", "config""#,
            ),
            r#"prices[5] "acme-4105" (line 14): customer "acne" is not in the file's customers"#,
        ),
        (
            edited(
                r#""config": 4105,"#,
                r#""config": 4105, "product_type": "FortiGate-VM","#,
            ),
            r#"prices[5] "acme-4105" (line 14): a rule prices one of serial, config or product_type"#,
        ),
        (
            edited(
                r#""0.70", "until": "2025-11-14"}"#,
                r#""0.70", "until": "2025-11-31"}"#,
            ),
            r#"prices[1] "list-fgvm" (line 10): until "2025-11-31" is not a date"#,
        ),
        (
            edited(r#""id": "lab-free""#, r#""id": "list""#),
            r#"prices[6] "list" (line 15): the id is also rule "list" (line 9)'s"#,
        ),
        (
            edited(
                r#""price_per_point": "0.55""#,
                r#""price_per_point": "-0.55""#,
            ),
            r#"prices[5] "acme-4105" (line 14): price_per_point "-0.55" is not a price"#,
        ),
        (
            edited(r#""price_per_point": "0.55""#, r#""price": "0.55""#),
            "prices[5] (line 14): unknown field `price`",
        ),
        (
            edited(r#""until": "2025-11-14"}"#, r#""until": "2025-11-15"}"#),
            "cost_per_point (line 6) overlaps cost_per_point (line 5) on 2025-11-15",
        ),
        (
            edited(
                r#""minimum_monthly_charge": "250.00""#,
                r#""minimum_monthly_charge": "lots""#,
            ),
            "customers[1].minimum_monthly_charge \"lots\" is not a price",
        ),
    ];
    for (text, expected) in cases {
        let err = Customers::parse(&text, "customers.json").unwrap_err();
        assert_eq!(err.kind(), "Customers");
        assert!(
            err.to_string().contains(expected),
            "{expected}\n  got: {err}"
        );
    }
}

#[test]
fn a_customer_with_no_price_for_every_point_is_refused() {
    // Product types alone leave a new product type unpriced: refused.
    let text = r#"{"prices": [
        {"id": "fgvm", "product_type": "FortiGate-VM", "price_per_point": "0.70"}
      ],
      "customers": [{"id": "acme", "name": "Acme", "accounts": [1]}]}"#;
    let err = Customers::parse(text, "c.json").unwrap_err().to_string();
    assert!(
        err.contains(r#"customer "acme" has no price before its first rule: there is no rule for every point"#),
        "{err}"
    );
    // A book that starts on a day: days before it are priced as the file priced them.
    let text = r#"{"price_per_point": "0.50", "prices": [
        {"id": "from-dec", "price_per_point": "0.70", "effective": "2025-12-01"}
      ],
      "customers": [{"id": "acme", "name": "Acme", "accounts": [1]}]}"#;
    let c = Customers::parse(text, "c.json").unwrap();
    let r = row("S1", 1, 1, "FortiGate-VM");
    assert_eq!(priced(&c, &r, "2025-11-30").unwrap().0, "price_per_point");
    assert_eq!(priced(&c, &r, "2025-12-01").unwrap().0, "from-dec");
    // A customer's own rule in a dated book: before the book, no price.
    let text = r#"{"prices": [
        {"id": "from-dec", "price_per_point": "0.70", "effective": "2025-12-01"},
        {"id": "acme-dec", "customer": "acme", "price_per_point": "0.60", "effective": "2025-12-01"}
      ],
      "customers": [{"id": "acme", "name": "Acme", "accounts": [1]}]}"#;
    let c = Customers::parse(text, "c.json").unwrap();
    assert_eq!(priced(&c, &r, "2025-12-01").unwrap().0, "acme-dec");
    assert_eq!(
        priced(&c, &r, "2025-11-30"),
        None,
        "before the book: no price"
    );
}

#[test]
fn a_rule_naming_a_configuration_or_product_type_the_programs_lack_is_refused() {
    let c = Customers::parse(BOOK, "customers.json").unwrap();
    let configs: std::collections::BTreeSet<u64> = [4101, 4102, 4105].into();
    let products: std::collections::BTreeSet<&str> = ["FortiGate-VM", "FortiManager-VM"].into();
    c.check_catalog(&configs, &products).unwrap();
    // A product type FortiFlex's table knows is fine without a configuration of it.
    let fewer: std::collections::BTreeSet<&str> = ["FortiGate-VM"].into();
    c.check_catalog(&configs, &fewer).unwrap();
    let err = c
        .check_catalog(&[4101, 4102].into(), &products)
        .unwrap_err();
    assert_eq!(err.kind(), "Customers");
    assert!(
        err.to_string().contains(
            r#"customers.json: rule "acme-4105" (line 14) names configuration 4105, which no program of this API user has"#
        ),
        "{err}"
    );
    let typo = edited(
        r#""product_type": "FortiManager-VM""#,
        r#""product_type": "FortiManger-VM""#,
    );
    let c = Customers::parse(&typo, "customers.json").unwrap();
    let err = c
        .check_catalog(&configs, &products)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(r#"rule "list-fmg" (line 12) names product type "FortiManger-VM", which no configuration has"#),
        "{err}"
    );
}
