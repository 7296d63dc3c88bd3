//! The customers file: claims, old prices, errors; the price book in `book_tests`.

use super::*;

/// The contract's example file.
pub(crate) const EXAMPLE: &str = r#"{
  "currency": "USD",
  "price_per_point": "0.50",
  "issuer": "Example MSSP Ltd",
  "customers": [
    {"id": "acme", "name": "Acme Corp", "accounts": [3300001], "price_per_point": "0.55"},
    {"id": "globex", "name": "Globex, \"Intl\"", "accounts": [3300002]},
    {"id": "lab", "name": "Partner lab", "serials": ["FZVMMLTM00000689"], "configs": [4105]}
  ]
}"#;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

#[test]
fn rows_go_to_the_serial_then_the_config_then_the_account() {
    let c = Customers::parse(EXAMPLE, "customers.json").unwrap();
    assert_eq!(c.currency.as_deref(), Some("USD"));
    let acme = c.billed("FGVMMLTM00000993", Some(4102), AccountId(3300001));
    assert_eq!((acme.id, acme.price_per_point), ("acme", Some(dec("0.55"))));
    let globex = c.billed("FCTEMS0000000001", Some(4104), AccountId(3300002));
    assert_eq!(
        (globex.id, globex.price_per_point),
        ("globex", Some(dec("0.50")))
    );
    // The serial wins over the account it sits in.
    assert_eq!(
        c.billed("FZVMMLTM00000689", None, AccountId(3300001)).id,
        "lab"
    );
    assert_eq!(
        c.billed("FAZVMLTM0000001", Some(4105), AccountId(2321234))
            .id,
        "lab"
    );
    let nobody = c.billed("FMVMMLTM00000582", Some(4101), AccountId(2321234));
    assert_eq!(
        (nobody.id, nobody.price_per_point),
        (UNASSIGNED, Some(dec("0.50")))
    );
}

#[test]
fn without_a_file_each_account_is_a_customer_without_a_price() {
    let c = Customers::per_account(&[AccountId(2321234), AccountId(3300001)]);
    let b = c.billed("X", Some(1), AccountId(3300001));
    assert_eq!(
        (b.id, b.name, b.price_per_point),
        ("3300001", "3300001", None)
    );
    assert_eq!(c.billed("X", None, AccountId(9)).id, UNASSIGNED);
}

#[test]
fn a_bad_file_names_the_field() {
    let cases = [
        (
            r#"{"customers": [{"id": "Acme", "name": "A"}]}"#,
            "customers[0].id",
        ),
        (
            r#"{"customers": [{"id": "a", "name": "A"}, {"id": "a", "name": "B"}]}"#,
            "given twice",
        ),
        (
            r#"{"customers": [{"id": "a", "name": "A", "price_per_point": "0,55"}]}"#,
            "customers[0].price_per_point \"0,55\"",
        ),
        (
            r#"{"price_per_point": "-1", "customers": []}"#,
            "price_per_point \"-1\"",
        ),
        (
            r#"{"customers": [{"id": "a", "name": "A", "accounts": [7]}, {"id": "b", "name": "B", "accounts": [7]}]}"#,
            "account 7 is claimed by both \"a\" and \"b\"",
        ),
        (
            r#"{"customers": [{"id": "a", "name": "A", "configs": [4]}, {"id": "b", "name": "B", "configs": [4]}]}"#,
            "config 4 is claimed by both",
        ),
        (
            r#"{"customers": [{"id": "a", "name": "A", "serials": ["../x"]}]}"#,
            "customers[0].serials",
        ),
        (r#"{"currency": "usd", "customers": []}"#, "currency"),
        (
            r#"{"customers": [{"id": "unassigned", "name": "U"}]}"#,
            "customers[0].id",
        ),
        (
            r#"{"customers": [{"id": "a", "name": "A", "acounts": [1]}]}"#,
            "unknown field `acounts`",
        ),
        (
            r#"{"customers": [{"id": "a", "name": " "}]}"#,
            "customers[0].name is empty",
        ),
        ("not json", "customers.json"),
    ];
    for (text, expected) in cases {
        let err = Customers::parse(text, "customers.json").unwrap_err();
        assert_eq!(err.kind(), "Customers", "{text}");
        assert!(err.to_string().contains(expected), "{text}: {err}");
    }
}
