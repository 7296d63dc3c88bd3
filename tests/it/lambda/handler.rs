//! The Lambda handler in-process, wired exactly as in AWS (`Handler::for_aws`), against the
//! FortiFlex simulator over HTTP and a moto server standing in for S3 and Secrets Manager.

use std::str::FromStr;

use super::*;

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn the_scheduled_event_writes_yesterday_and_restates_two_days_then_nothing() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    let h = handler(&aws, &sim, &[]);
    let event: Value = serde_json::from_str(SCHEDULED).unwrap();
    // Run a day and a half after the event: it is the event's day that counts.
    let first = h
        .handle(event.clone(), at("2025-11-11T02:00:00Z"), "run-1")
        .await
        .unwrap();
    assert_eq!(
        statuses(&first),
        [
            ("2025-11-08".to_string(), Status::Written),
            ("2025-11-07".to_string(), Status::Written),
            ("2025-11-06".to_string(), Status::Written),
        ]
    );
    let mut want: Vec<String> = ["2025-11-06", "2025-11-07", "2025-11-08"]
        .iter()
        .flat_map(|d| [&daily_keys(d)[..], &rollup_keys(d)[..]].concat())
        .collect();
    // November's lines through the 6th, carried to the next run.
    want.push(
        "fortiflex/rollups/month=2025-11/statement_ELAVMS0000123456_2025-11.carry.bin".into(),
    );
    // And November's month-to-date statement; without a customers file the account is the
    // customer.
    let month = "fortiflex/statements/month=2025-11";
    want.extend(
        [
            "customers/2321234_ELAVMS0000123456_2025-11.csv",
            "statement_ELAVMS0000123456_2025-11.csv",
            "statement_ELAVMS0000123456_2025-11.json",
            "statement_ELAVMS0000123456_2025-11.manifest.json",
            "statement_ELAVMS0000123456_2025-11.xlsx",
        ]
        .map(|k| format!("{month}/{k}")),
    );
    // The balance snapshot of the run's Pacific day, and each written day's alerts.
    want.push("fortiflex/balances/dt=2025-11-10/balance_ELAVMS0000123456_2025-11-10.json".into());
    // The day's rates, the product names (cached for a week) and the month's tie-out
    // (through the 9th).
    want.push("fortiflex/rates/dt=2025-11-10/rates_ELAVMS0000123456_2025-11-10.json".into());
    want.push("fortiflex/metadata/product_types.json".into());
    want.push("fortiflex/tieout/month=2025-11/tieout_ELAVMS0000123456_2025-11.json".into());
    want.push("fortiflex/tieout/month=2025-11/tieout_ELAVMS0000123456_2025-11.csv".into());
    for day in ["2025-11-06", "2025-11-07", "2025-11-08"] {
        want.push(format!(
            "fortiflex/alerts/dt={day}/alerts_ELAVMS0000123456_{day}.json"
        ));
    }
    // The site: its index and the month's statement page of the one customer.
    want.push("fortiflex/site/index.html".into());
    want.push("fortiflex/site/month=2025-11/2321234.html".into());
    want.sort();
    assert_eq!(aws.keys().await, want);
    let statement = &first.programs[0].statements[0];
    assert_eq!(
        (
            statement.month.as_str(),
            statement.status,
            statement.revision
        ),
        ("2025-11", "provisional", 1)
    );

    // The bytes billing reads are the contract's, with its content types.
    let [csv, json, manifest] = daily_keys(DAY);
    let (body, ct) = aws.object(&csv).await;
    assert_eq!(
        (body, ct.as_str()),
        (golden("walkthrough_daily.csv"), "text/csv; charset=utf-8")
    );
    let (body, ct) = aws.object(&json).await;
    assert_eq!(
        (body, ct.as_str()),
        (golden("walkthrough_daily.json"), "application/json")
    );
    let (body, ct) = aws.object(&manifest).await;
    assert_eq!(ct, "application/json");
    let m: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (m["revision"].clone(), m["run_id"].clone()),
        (json!(1), json!("run-1"))
    );
    assert_eq!(
        m["files"][0]["key"],
        json!(format!(
            "daily/csv/dt={DAY}/consumption_ELAVMS0000123456_{DAY}.csv"
        ))
    );
    assert_eq!(
        m["files"][0]["sha256"].as_str().unwrap(),
        fortiflex_reporter::contract::sha256_hex(&golden("walkthrough_daily.csv"))
    );
    let day = serde_json::to_value(&first.programs[0].days[0]).unwrap();
    assert_eq!(day["points"], json!(399.42));
    assert_eq!(day["entitlements"], json!(13));
    assert_eq!(
        day["keys"][2],
        json!(format!("s3://{}/{manifest}", aws.bucket))
    );

    // The same event again: every day unchanged, no object rewritten.
    let manifest_before = aws.object(&manifest).await.0;
    let again = h
        .handle(event, at("2025-11-11T09:00:00Z"), "run-2")
        .await
        .unwrap();
    assert!(
        again.programs[0]
            .days
            .iter()
            .all(|d| d.status == Status::Unchanged)
    );
    assert!(again.programs[0].days.iter().all(|d| d.revision == Some(1)));
    assert_eq!(aws.object(&manifest).await.0, manifest_before);
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_day_forticloud_corrects_gets_revision_two() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    let one_day = json!({"date": DAY});
    // 04:00 PST on the 10th: the 8th is still inside the restatement window.
    let now = at("2025-11-10T12:00:00Z");
    let first = handler(&aws, &sim, &[])
        .handle(one_day.clone(), now, "run-1")
        .await
        .unwrap();
    assert_eq!(first.programs[0].days[0].revision, Some(1));

    // FortiCloud restates the day: one VM consumed more.
    let mut data = Dataset::walkthrough();
    data.programs[0].entitlements[0].daily = Decimal::from_str("108.00").unwrap();
    let corrected = simulator(data).await;
    let second = handler(&aws, &corrected, &[])
        .handle(one_day.clone(), now, "run-2")
        .await
        .unwrap();
    assert_eq!(
        (
            second.programs[0].days[0].status,
            second.programs[0].days[0].revision
        ),
        (Status::Written, Some(2))
    );
    // The reply shows old -> new; the manifest carries what revision 1 held.
    let reply = serde_json::to_value(&second).unwrap();
    assert_eq!(
        reply["programs"][0]["days"][0]["previous"],
        json!({"revision": 1, "entitlements": 13, "points": 399.42})
    );
    let m: Value = serde_json::from_slice(&aws.object(&daily_keys(DAY)[2]).await.0).unwrap();
    assert_eq!(
        (m["revision"].clone(), m["totals"]["points"].clone()),
        (json!(2), json!(400.22))
    );
    assert_eq!(
        (
            m["previous"]["revision"].clone(),
            m["previous"]["totals"]["points"].clone()
        ),
        (json!(1), json!(399.42))
    );
    let csv = String::from_utf8(aws.object(&daily_keys(DAY)[0]).await.0).unwrap();
    assert!(csv.contains(",108.00\n"), "{csv}");
    // One check found the difference; the single day's answer was the re-pull.
    assert_eq!(
        corrected.calls(),
        4,
        "programs/list (no account_id in the secret), configs/list, entitlements/list, one range check"
    );

    // Ten days later the day is outside the window: a re-run keeps it, unfetched.
    let later = at("2025-11-20T12:00:00Z");
    let calls = corrected.calls();
    let third = handler(&aws, &corrected, &[])
        .handle(one_day.clone(), later, "run-3")
        .await
        .unwrap();
    let day = &third.programs[0].days[0];
    assert_eq!((day.status, day.revision), (Status::Kept, Some(2)));
    assert_eq!(
        corrected.calls() - calls,
        2,
        "programs/list and configs/list only"
    );
    // Forced, it is fetched again (identical, so nothing is written).
    let forced = handler(&aws, &corrected, &[])
        .handle(json!({"date": DAY, "force": true}), later, "run-4")
        .await
        .unwrap();
    assert_eq!(forced.programs[0].days[0].status, Status::Unchanged);
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_seven_day_backfill_writes_seven_daily_reports_totalling_the_walkthrough() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    let summary = handler(&aws, &sim, &[])
        .handle(
            json!({"start_date": "2025-11-02", "end_date": "2025-11-08", "range": true}),
            at("2025-11-20T12:00:00Z"),
            "backfill",
        )
        .await
        .unwrap();
    assert_eq!(summary.programs[0].days.len(), 7);
    let mut total = Decimal::ZERO;
    for day in 2..=8 {
        let key = &daily_keys(&format!("2025-11-{day:02}"))[1];
        let report: Value = serde_json::from_slice(&aws.object(key).await.0).unwrap();
        total += Decimal::from_str(&report["totals"]["points"].to_string()).unwrap();
    }
    assert_eq!(total.to_string(), "2795.94");
    let range = serde_json::to_value(summary.programs[0].range.as_ref().unwrap()).unwrap();
    assert_eq!(
        (
            range["start_date"].clone(),
            range["end_date"].clone(),
            range["points"].clone()
        ),
        (json!("2025-11-02"), json!("2025-11-08"), json!(2795.94))
    );
    let range_key =
        format!("{PREFIX}/ranges/consumption_ELAVMS0000123456_2025-11-02_2025-11-08.manifest.json");
    assert!(aws.keys().await.contains(&range_key));
    assert_eq!(
        aws.keys().await.len(),
        7 * (3 + 2) + 3,
        "reports, rollups, the range"
    );
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_dry_run_fetches_but_writes_nothing() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    let summary = handler(&aws, &sim, &[])
        .handle(
            json!({"days": 3, "range": true, "dry_run": true}),
            at("2025-11-09T20:00:00Z"),
            "dry",
        )
        .await
        .unwrap();
    assert_eq!(summary.programs[0].days.len(), 3);
    assert!(
        summary.programs[0]
            .days
            .iter()
            .all(|d| d.status == Status::DryRun && d.revision.is_none())
    );
    let range = serde_json::to_value(summary.programs[0].range.as_ref().unwrap()).unwrap();
    assert_eq!(range["points"], json!(1198.26));
    assert_eq!(aws.keys().await, Vec::<String>::new());
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_retry_after_pacific_midnight_still_reports_the_events_day() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    let h = handler(&aws, &sim, &[("RESTATE_DAYS", "0")]);
    let day_of = |summary: RunOutcome| {
        serde_json::to_value(&summary.programs[0].days[0]).unwrap()["date"].clone()
    };
    // 07:30Z on the 10th is 23:30 PST on the 9th: the last complete day is the 8th.
    let before = json!({"scheduled_time": "2025-11-10T07:30:00Z"});
    // 08:30Z is 00:30 PST on the 10th: the 9th is complete.
    let after = json!({"scheduled_time": "2025-11-10T08:30:00Z"});
    let s = h
        .handle(before.clone(), at("2025-11-10T07:30:05Z"), "a")
        .await
        .unwrap();
    assert_eq!(day_of(s), json!("2025-11-08"));
    let s = h
        .handle(after, at("2025-11-10T08:30:05Z"), "b")
        .await
        .unwrap();
    assert_eq!(day_of(s), json!("2025-11-09"));
    // The first event replayed two hours later, past midnight: still the 8th.
    let s = h
        .handle(before, at("2025-11-10T09:30:00Z"), "c")
        .await
        .unwrap();
    assert_eq!(day_of(s), json!("2025-11-08"));
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn the_scheduled_run_bills_customers_from_the_customers_file_in_the_bucket() {
    let (aws, sim) = setup(Dataset::mssp(0)).await;
    aws.put(
        &format!("{PREFIX}/config/customers.json"),
        r#"{"currency": "USD", "price_per_point": "0.50", "customers": [
            {"id": "acme", "name": "Acme Corp", "accounts": [3300001], "price_per_point": "0.55"},
            {"id": "globex", "name": "Globex", "accounts": [3300002]}]}"#,
    )
    .await;
    let h = handler(&aws, &sim, &[]);
    let event: Value = serde_json::from_str(SCHEDULED).unwrap();
    let out = h
        .handle(event, at("2025-11-09T14:05:00Z"), "run-1")
        .await
        .unwrap();
    let s = &out.programs[0].statements[0];
    assert_eq!(
        (s.month.as_str(), s.status, s.written),
        ("2025-11", "provisional", true)
    );
    // Three days of the MSSP tenant: 3 x (170.91 + 17.26 + 211.25) points.
    assert_eq!(s.points, Decimal::from_str("1198.26").unwrap());
    let key = format!("{PREFIX}/{}", s.key);
    let json: Value = serde_json::from_slice(&aws.object(&key).await.0).unwrap();
    let customers: Vec<(&str, f64)> = json["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["points"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        customers,
        [("acme", 512.73), ("globex", 51.78), ("unassigned", 633.75)]
    );
    assert_eq!(json["currency"], "USD");
    assert_eq!(json["missing_days"].as_array().unwrap().len(), 30 - 3);
    let reply = serde_json::to_value(&out).unwrap();
    assert_eq!(reply["programs"][0]["statements"][0]["month"], "2025-11");
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_bad_customers_file_fails_the_run_after_the_days_are_stored() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    aws.put(
        &format!("{PREFIX}/config/customers.json"),
        r#"{"customers": [{"id": "Acme Corp", "name": "Acme"}]}"#,
    )
    .await;
    let h = handler(&aws, &sim, &[]);
    let event: Value = serde_json::from_str(SCHEDULED).unwrap();
    let err = h
        .handle(event, at("2025-11-09T14:05:00Z"), "run-1")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "Customers");
    assert!(err.to_string().contains("customers[0].id"), "{err}");
    let keys = aws.keys().await;
    assert!(
        keys.iter()
            .any(|k| k.contains("daily/manifests/dt=2025-11-08"))
    );
    assert!(!keys.iter().any(|k| k.contains("statements/")), "{keys:?}");
}
