use super::*;
use crate::adapters::storage::MemorySink;
use crate::domain::ids::AccountId;
use crate::domain::window::PACIFIC;
use crate::pipeline::publish::{Options, publish};
use crate::testutil::store_walkthrough;

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[tokio::test]
async fn a_statement_is_written_once_and_revised_when_a_day_is_added() {
    let sink = MemorySink::new();
    store_walkthrough(&sink, &["2025-11-01", "2025-11-02"]).await;
    let program = Serial::parse("ELAVMS0000123456", "program").unwrap();
    let month = Month::parse("2025-11").unwrap();
    let customers = Customers::parse(
        r#"{"currency": "EUR", "price_per_point": "0.10", "customers": []}"#,
        "c.json",
    )
    .unwrap();
    let run = |today: &str| {
        let (sink, program, customers) = (&sink, &program, &customers);
        let today = day(today);
        async move {
            publish_statement(
                sink,
                &StatementJob {
                    program,
                    month,
                    customers: Some(customers),
                    timezone: PACIFIC,
                    today,
                    restate_days: 2,
                    run_id: "run",
                    now: Utc::now(),
                },
            )
            .await
            .unwrap()
            .unwrap()
        }
    };
    let first = run("2025-11-03").await;
    assert!(first.written);
    assert_eq!(first.revision, 1);
    // Two walkthrough days at 399.42 a day, every line unassigned at the file's 0.10.
    assert_eq!(first.statement.points.to_string(), "798.84");
    let missing = first.statement.missing_days.len();
    assert_eq!(missing, 28);
    let json: serde_json::Value =
        serde_json::from_slice(&sink.object(&first.keys.json).unwrap().0).unwrap();
    assert_eq!(json["status"], "provisional");
    assert_eq!(json["days_present"], 2);
    assert_eq!(json["currency"], "EUR");
    let csv = String::from_utf8(sink.object(&first.keys.csv).unwrap().0).unwrap();
    assert!(csv.starts_with("month,customer_id,customer_name,account_id,serial_number"));
    assert_eq!(csv.lines().count(), 1 + 13);
    assert!(sink.object(&first.keys.customer("unassigned")).is_some());
    let amount: rust_decimal::Decimal = first.statement.customers[0]
        .lines
        .iter()
        .filter_map(|l| l.amount)
        .sum();
    assert_eq!(first.statement.amount, Some(amount));

    let again = run("2025-11-03").await;
    assert!(!again.written, "the same stored days write nothing");
    store_walkthrough(&sink, &["2025-11-03"]).await;
    let third = run("2025-11-04").await;
    assert!(third.written);
    assert_eq!(third.revision, 2);
    let manifest: serde_json::Value =
        serde_json::from_slice(&sink.object(&third.keys.manifest).unwrap().0).unwrap();
    assert_eq!(manifest["previous"]["revision"], 1);
    assert_eq!(
        sink.puts().last(),
        Some(&third.keys.manifest),
        "manifest last"
    );
}

#[tokio::test]
async fn a_restated_day_gives_a_new_revision_built_from_its_new_revision() {
    use crate::testutil::{catalog, request, rows, spec};
    let sink = MemorySink::new();
    store_walkthrough(&sink, &["2025-11-01", "2025-11-02"]).await;
    let program = Serial::parse("ELAVMS0000123456", "program").unwrap();
    let month = Month::parse("2025-11").unwrap();
    let statement = |sink| {
        let program = &program;
        async move {
            publish_statement(
                sink,
                &StatementJob {
                    program,
                    month,
                    customers: None,
                    timezone: PACIFIC,
                    today: day("2025-11-20"),
                    restate_days: 2,
                    run_id: "run",
                    now: Utc::now(),
                },
            )
            .await
            .unwrap()
            .unwrap()
        }
    };
    let first = statement(&sink).await;
    assert_eq!(
        (first.revision, first.statement.points.to_string()),
        (1, "798.84".into())
    );
    // FortiCloud corrects 2 November: one entitlement's 21.66 becomes 22.00.
    let mut corrected: Vec<(&str, &str)> = crate::testutil::WALKTHROUGH_DAY.to_vec();
    for r in &mut corrected {
        if r.0 == "FGVMMLTM00000993" {
            r.1 = "22.00";
        }
    }
    let s = spec("2025-11-02");
    let q = request(&s);
    let report =
        crate::domain::report::build(s, q, vec![AccountId(2321234)], rows(&corrected), &catalog())
            .unwrap();
    publish(&sink, &report, "run-2", Utc::now(), Options::default())
        .await
        .unwrap();
    let second = statement(&sink).await;
    assert!(second.written);
    assert_eq!(second.revision, 2);
    assert_eq!(second.statement.points.to_string(), "799.18");
    let source = second
        .statement
        .sources
        .iter()
        .find(|s| s.0 == day("2025-11-02"));
    assert_eq!(
        source.map(|s| s.1),
        Some(2),
        "built from the day's revision 2"
    );
}

#[tokio::test]
async fn a_month_not_begun_is_refused() {
    let sink = MemorySink::new();
    let program = Serial::parse("ELAVMS0000123456", "program").unwrap();
    let err = publish_statement(
        &sink,
        &StatementJob {
            program: &program,
            month: Month::parse("2025-12").unwrap(),
            customers: None,
            timezone: PACIFIC,
            today: day("2025-12-01"),
            restate_days: 2,
            run_id: "run",
            now: Utc::now(),
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "InvalidRequest");
    assert!(sink.puts().is_empty());
}

#[tokio::test]
async fn a_month_with_no_stored_day_has_no_statement() {
    let sink = MemorySink::new();
    store_walkthrough(&sink, &["2025-11-01"]).await;
    let puts = sink.puts().len();
    let program = Serial::parse("ELAVMS0000123456", "program").unwrap();
    let job = StatementJob {
        program: &program,
        month: Month::parse("2025-10").unwrap(),
        customers: None,
        timezone: PACIFIC,
        today: day("2025-11-20"),
        restate_days: 2,
        run_id: "run",
        now: Utc::now(),
    };
    assert!(publish_statement(&sink, &job).await.unwrap().is_none());
    assert_eq!(sink.puts().len(), puts, "nothing written");
    let november = StatementJob {
        month: Month::parse("2025-11").unwrap(),
        ..job
    };
    assert!(publish_statement(&sink, &november).await.unwrap().is_some());
}
