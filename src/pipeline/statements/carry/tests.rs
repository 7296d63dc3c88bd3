use chrono::Utc;

use super::super::{StatementJob, build, render_files};
use super::*;
use crate::adapters::storage::MemorySink;
use crate::contract::keys::{StatementKeys, daily_keys, rollup_keys};
use crate::domain::customers::Customers;
use crate::domain::ids::{AccountId, Serial};
use crate::domain::statement::Statement;
use crate::domain::window::PACIFIC;
use crate::pipeline::publish::{Options, publish};
use crate::testutil::{catalog, request, rows, spec, store_walkthrough};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Every file of the statement, rendered: what a carried fold must give byte for byte.
fn files(
    s: &Statement,
    focus: Option<super::super::FocusFiles>,
    job: &StatementJob<'_>,
) -> Vec<(String, Vec<u8>)> {
    let keys = StatementKeys::new(job.program, job.month);
    render_files(s, focus, &keys, job)
        .unwrap()
        .into_iter()
        .filter(|f| f.format != "xlsx")
        .map(|f| (f.key.clone(), f.body.read().unwrap()))
        .collect()
}

async fn statement(sink: &MemorySink, job: &StatementJob<'_>) -> Vec<(String, Vec<u8>)> {
    let (s, focus) = build(sink, job).await.unwrap().unwrap();
    files(&s, focus, job)
}

fn carried_through(sink: &MemorySink, program: &str, month: Month) -> Option<String> {
    let bytes = sink.object(&keys::carry_key(program, month))?.0;
    let t = Table::parse(&bytes, Kind::Carry).unwrap();
    let h: serde_json::Value = serde_json::from_slice(t.header).unwrap();
    h["through"].as_str().map(str::to_string)
}

/// 2 November's report with other points and one entitlement fewer: days differ.
async fn vary(sink: &MemorySink, d: &str, rates: &[(&str, &str)]) {
    let s = spec(d);
    let q = request(&s);
    let r = crate::domain::report::build(s, q, vec![AccountId(2321234)], rows(rates), &catalog())
        .unwrap();
    publish(sink, &r, "run", Utc::now(), Options { force: true })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_carried_statement_equals_the_month_folded_whole() {
    let sink = MemorySink::new();
    let stored: Vec<String> = (1..=20)
        .filter(|d| *d != 5)
        .map(|d| format!("2025-11-{d:02}"))
        .collect();
    let stored: Vec<&str> = stored.iter().map(String::as_str).collect();
    store_walkthrough(&sink, &stored).await;
    let walk = crate::testutil::WALKTHROUGH_DAY;
    vary(
        &sink,
        "2025-11-03",
        &[("FMVMMLTM00000582", "7.5"), walk[3], walk[9]],
    )
    .await;
    vary(
        &sink,
        "2025-11-14",
        &[("FGVMMLTM00000993", "99.99"), walk[12]],
    )
    .await;
    let program = Serial::parse("ELAVMS0000123456", "program").unwrap();
    let month = Month::parse("2025-11").unwrap();
    let priced = Customers::parse(
        r#"{"currency": "USD", "price_per_point": "0.37", "customers": [
            {"id": "lab", "name": "Lab", "serials": ["FGT71FTK22000471"], "price_per_point": "0.5"}
        ]}"#,
        "c.json",
    )
    .unwrap();
    let unpriced = Customers::parse(
        r#"{"customers": [{"id": "lab", "name": "Lab", "configs": [4101]}]}"#,
        "c.json",
    )
    .unwrap();
    for customers in [None, Some(&unpriced), Some(&priced)] {
        sink.delete(&keys::carry_key(&program, month))
            .await
            .unwrap();
        let job = |today: &str| StatementJob {
            program: &program,
            month,
            customers,
            today: day(today),
            timezone: PACIFIC,
            restate_days: 2,
            run_id: "run",
            now: Utc::now(),
        };
        // The first run folds the month whole and keeps the days before the re-pulled ones.
        let first = statement(&sink, &job("2025-11-15")).await;
        assert_eq!(
            carried_through(&sink, &program, month).as_deref(),
            Some("2025-11-11")
        );
        // The next run starts from them: a stored day they hold is not read again (its
        // report and rollup taken away, the manifest left), and the files are the same as
        // when the month is folded whole.
        let hidden = day("2025-11-02");
        let (dk, rk) = (daily_keys(&program, hidden), rollup_keys(&program, hidden));
        let kept: Vec<_> = [&dk.json, &rk.rows, &rk.summary]
            .into_iter()
            .map(|k| (k.clone(), sink.object(k).unwrap()))
            .collect();
        for (k, _) in &kept {
            sink.delete(k).await.unwrap();
        }
        let next = job("2025-11-16");
        let carried = if customers == Some(&priced) {
            // FOCUS lists every day's rows: the month's days are read again.
            assert!(build(&sink, &next).await.is_err());
            None
        } else {
            Some(statement(&sink, &next).await)
        };
        for (k, (bytes, content_type)) in kept {
            sink.put(&k, bytes, content_type).await.unwrap();
        }
        let carried = match carried {
            Some(c) => c,
            None => statement(&sink, &next).await,
        };
        assert_eq!(
            carried_through(&sink, &program, month).as_deref(),
            Some("2025-11-12")
        );
        sink.delete(&keys::carry_key(&program, month))
            .await
            .unwrap();
        let whole = statement(&sink, &next).await;
        assert_eq!(carried.len(), whole.len());
        for ((key, a), (_, b)) in carried.iter().zip(&whole) {
            assert!(
                a == b,
                "{key} differs between the carried and the whole fold"
            );
        }
        assert_ne!(first, whole, "a day more");
        let names: Vec<&str> = whole.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names.iter().any(|k| k.contains("focus")),
            customers == Some(&priced)
        );
    }
}

#[tokio::test]
async fn a_carried_day_restated_or_added_later_folds_the_month_again() {
    let sink = MemorySink::new();
    store_walkthrough(&sink, &["2025-11-01", "2025-11-02", "2025-11-04"]).await;
    let program = Serial::parse("ELAVMS0000123456", "program").unwrap();
    let month = Month::parse("2025-11").unwrap();
    let job = StatementJob {
        program: &program,
        month,
        customers: None,
        today: day("2025-11-10"),
        timezone: PACIFIC,
        restate_days: 2,
        run_id: "run",
        now: Utc::now(),
    };
    let points = |s: &Statement| s.points.to_string();
    let (s, _) = build(&sink, &job).await.unwrap().unwrap();
    assert_eq!(points(&s), "1198.26");
    assert_eq!(
        carried_through(&sink, &program, month).as_deref(),
        Some("2025-11-06")
    );
    // FortiCloud corrects 2 November; a backfill stores the missing 3 November.
    let walk = crate::testutil::WALKTHROUGH_DAY;
    vary(&sink, "2025-11-02", &walk[..1]).await;
    let (s, _) = build(&sink, &job).await.unwrap().unwrap();
    assert_eq!(points(&s), "906.04", "399.42 × 2 + 107.20");
    store_walkthrough(&sink, &["2025-11-03"]).await;
    let (s, _) = build(&sink, &job).await.unwrap().unwrap();
    assert_eq!(points(&s), "1305.46");
    assert_eq!(s.sources.len(), 4);
    // Another customers mapping does not start from lines billed by the old one.
    let c = Customers::parse(
        r#"{"customers": [{"id": "all", "name": "All", "accounts": [2321234]}]}"#,
        "c.json",
    )
    .unwrap();
    let (s, _) = build(
        &sink,
        &StatementJob {
            customers: Some(&c),
            ..job
        },
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(
        s.customers
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        ["all"]
    );
    assert_eq!(points(&s), "1305.46");
}

#[tokio::test]
async fn a_settled_month_is_folded_whole_once_and_then_read_from_its_carried_lines() {
    let sink = MemorySink::new();
    let stored: Vec<String> = (1..=30).map(|d| format!("2025-11-{d:02}")).collect();
    let stored: Vec<&str> = stored.iter().map(String::as_str).collect();
    store_walkthrough(&sink, &stored).await;
    let program = Serial::parse("ELAVMS0000123456", "program").unwrap();
    let month = Month::parse("2025-11").unwrap();
    let job = |today: &str| StatementJob {
        program: &program,
        month,
        customers: None,
        today: day(today),
        timezone: PACIFIC,
        restate_days: 2,
        run_id: "run",
        now: Utc::now(),
    };
    // 2 December: still provisional, carried through the 28th.
    build(&sink, &job("2025-12-02")).await.unwrap();
    assert_eq!(
        carried_through(&sink, &program, month).as_deref(),
        Some("2025-11-28")
    );
    // 3 December: final, folded whole (the carry through the 28th is not used), and kept.
    let hidden = daily_keys(&program, day("2025-11-03"));
    let json = sink.object(&hidden.json).unwrap();
    let rk = rollup_keys(&program, day("2025-11-03"));
    let rows = (
        sink.object(&rk.rows).unwrap(),
        sink.object(&rk.summary).unwrap(),
    );
    sink.delete(&hidden.json).await.unwrap();
    sink.delete(&rk.rows).await.unwrap();
    sink.delete(&rk.summary).await.unwrap();
    assert!(
        build(&sink, &job("2025-12-03")).await.is_err(),
        "the whole month is read"
    );
    sink.put(&hidden.json, json.0.clone(), json.1)
        .await
        .unwrap();
    let whole = statement(&sink, &job("2025-12-03")).await;
    assert_eq!(
        carried_through(&sink, &program, month).as_deref(),
        Some("2025-11-30")
    );
    // 4 December: no day of November is read again, and the statement is the same.
    for k in [&hidden.json, &rk.rows, &rk.summary] {
        sink.delete(k).await.unwrap();
    }
    let (s, _) = build(&sink, &job("2025-12-04")).await.unwrap().unwrap();
    assert_eq!(s.status.as_str(), "final");
    assert_eq!(files(&s, None, &job("2025-12-04")), whole);
    sink.put(&hidden.json, json.0, json.1).await.unwrap();
    sink.put(&rk.rows, rows.0.0, rows.0.1).await.unwrap();
    sink.put(&rk.summary, rows.1.0, rows.1.1).await.unwrap();
}
