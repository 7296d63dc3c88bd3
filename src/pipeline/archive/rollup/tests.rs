use super::*;
use crate::adapters::storage::MemorySink;
use crate::domain::ids::AccountId;
use crate::domain::report::build;
use crate::domain::statement::StoredRow;
use crate::pipeline::archive::read_stored_day;
use crate::pipeline::publish::{Options, publish};
use crate::testutil::{catalog, dec, request, rows, spec, walkthrough_day};

const PROGRAM: &str = "ELAVMS0000123456";

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// A day whose rows hold every kind of value a reader must get back exactly: points the
/// JSON rewrites (`1.5` → `1.50`, `-0` → `0.00`), text with quotes and line breaks, rows
/// without a config, accounts beside the program's.
fn awkward_day(day: &str) -> Report {
    let s = spec(day);
    let mut points = rows(&[
        ("FMVMMLTM00000582", "107.2"),
        ("FGT71FTK22000471", "1.5"),
        ("FGVMMLTM00000993", "-0"),
        ("FZVMMLTM00000689", "0.123456"),
    ]);
    points[3].account_id = Some(AccountId(3300001));
    build(
        s.clone(),
        request(&s),
        vec![AccountId(2321234), AccountId(3300001)],
        points,
        &catalog(),
    )
    .unwrap()
}

async fn store(sink: &MemorySink, report: &Report) {
    publish(sink, report, "run", chrono::Utc::now(), Options::default())
        .await
        .unwrap();
}

async fn json_rows(sink: &MemorySink, day: NaiveDate) -> Vec<StoredRow> {
    let mut rows = Vec::new();
    read_stored_day(sink, PROGRAM, day, |r| rows.push(r))
        .await
        .unwrap()
        .unwrap();
    rows.sort_by(|a, b| a.serial_number.cmp(&b.serial_number));
    rows
}

async fn rollup_rows(sink: &MemorySink, day: NaiveDate) -> (DayRows, Vec<StoredRow>) {
    let d = day_rows(sink, PROGRAM, day).await.unwrap().unwrap();
    let mut rows = Vec::new();
    d.rows(sink, |r| {
        rows.push(StoredRow {
            serial_number: r.serial_number.to_string(),
            account_id: r.account_id,
            config_id: r.config_id,
            config_name: r.config_name.map(str::to_string),
            product_type: r.product_type.map(str::to_string),
            description: r.description.map(str::to_string),
            points: r.points,
        })
    })
    .unwrap();
    (d, rows)
}

#[tokio::test]
async fn a_rollup_equals_its_day_row_by_row() {
    let sink = MemorySink::new();
    for r in [walkthrough_day("2025-11-08"), awkward_day("2025-11-09")] {
        store(&sink, &r).await;
        let day = r.spec.range.start();
        let from_json = json_rows(&sink, day).await;
        let (d, from_rollup) = rollup_rows(&sink, day).await;
        assert_eq!(from_rollup.len(), r.rows.len());
        // Every field the consumers read, with its exact decimal scale.
        assert_eq!(from_rollup, from_json);
        let scales: Vec<String> = from_rollup.iter().map(|r| r.points.to_string()).collect();
        let json_scales: Vec<String> = from_json.iter().map(|r| r.points.to_string()).collect();
        assert_eq!(scales, json_scales);
        // The summary names the manifest the day now has, and its totals are the day's.
        let manifest = sink
            .object(&keys::daily_keys(PROGRAM, day).manifest)
            .unwrap()
            .0;
        assert_eq!(d.meta.manifest_sha256, sha256_hex(&manifest));
        assert_eq!(d.summary.source.manifest_sha256, sha256_hex(&manifest));
        assert_eq!(d.summary.points.0, r.total);
    }
    let (_, awkward) = rollup_rows(&sink, date("2025-11-09")).await;
    let points: Vec<String> = awkward.iter().map(|r| r.points.to_string()).collect();
    assert_eq!(points, ["1.50", "0.00", "107.20", "0.123456"]);
    assert_eq!(
        awkward[0].description.as_deref(),
        Some("=HYPERLINK(\"x\")\nbranch")
    );
    assert_eq!(awkward[1].config_id, None);
    let per_account = customer_points(&sink, PROGRAM, date("2025-11-09"), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        per_account,
        [
            ("2321234".to_string(), dec("108.70")),
            ("3300001".to_string(), dec("0.123456"))
        ]
    );
}

#[tokio::test]
async fn a_restated_day_gets_a_new_rollup_with_its_revision() {
    let sink = MemorySink::new();
    let day = date("2025-11-08");
    store(&sink, &walkthrough_day("2025-11-08")).await;
    let (first, _) = rollup_rows(&sink, day).await;
    assert_eq!(first.meta.revision, 1);
    store(&sink, &awkward_day("2025-11-08")).await;
    let puts = sink.puts().len();
    let (second, rows) = rollup_rows(&sink, day).await;
    assert_eq!(
        sink.puts().len(),
        puts,
        "written with the revision, not rebuilt on read"
    );
    assert_eq!(
        (second.meta.revision, second.summary.source.revision),
        (2, 2)
    );
    assert_ne!(second.meta.manifest_sha256, first.meta.manifest_sha256);
    assert_eq!(rows, json_rows(&sink, day).await);
    assert_eq!(rows.len(), 4);
}

#[tokio::test]
async fn a_day_without_a_current_rollup_gets_one_built_from_it_once() {
    let sink = MemorySink::new();
    let day = date("2025-11-09");
    store(&sink, &awkward_day("2025-11-09")).await;
    let rk = keys::rollup_keys(PROGRAM, day);
    let (written, _) = rollup_rows(&sink, day).await;
    let bytes = sink.object(&rk.rows).unwrap().0;
    // An archive from before rollups: none stored.
    sink.delete(&rk.rows).await.unwrap();
    sink.delete(&rk.summary).await.unwrap();
    let (rebuilt, rows) = rollup_rows(&sink, day).await;
    assert_eq!(rows, json_rows(&sink, day).await);
    assert_eq!(rebuilt.summary, written.summary);
    assert_eq!(
        sink.object(&rk.rows).unwrap().0,
        bytes,
        "the same bytes as at publish"
    );
    let puts = sink.puts().len();
    rollup_rows(&sink, day).await;
    assert_eq!(sink.puts().len(), puts, "built once");

    // A stale summary (another manifest) or rows that no longer match it: rebuilt.
    let mut stale = written.summary.clone();
    stale.source.manifest_sha256 = "0".repeat(64);
    sink.put(&rk.summary, to_json(&stale).unwrap(), JSON_CONTENT_TYPE)
        .await
        .unwrap();
    let (again, rows2) = rollup_rows(&sink, day).await;
    assert_eq!(
        (again.summary.clone(), rows2),
        (written.summary.clone(), rows.clone())
    );
    sink.put(&rk.rows, b"FFROLLUP".to_vec(), BINARY)
        .await
        .unwrap();
    let (_, rows3) = rollup_rows(&sink, day).await;
    assert_eq!(rows3, rows);
    assert_eq!(sink.object(&rk.rows).unwrap().0, bytes);

    // Publishing the unchanged day again writes nothing, not even its rollup.
    let before = sink.puts().len();
    store(&sink, &awkward_day("2025-11-09")).await;
    assert_eq!(sink.puts().len(), before);
    assert!(
        day_rows(&sink, PROGRAM, date("2025-11-10"))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn per_customer_totals_are_kept_for_the_mapping_they_were_summed_by() {
    let sink = MemorySink::new();
    let day = date("2025-11-09");
    store(&sink, &awkward_day("2025-11-09")).await;
    let customers = Customers::parse(
        r#"{"customers": [
            {"id": "acme", "name": "Acme", "accounts": [3300001]},
            {"id": "lab", "name": "Lab", "serials": ["FGT71FTK22000471"]}
        ]}"#,
        "c.json",
    )
    .unwrap();
    let totals = customer_points(&sink, PROGRAM, day, Some(&customers))
        .await
        .unwrap()
        .unwrap();
    let expected = [
        ("acme".to_string(), dec("0.123456")),
        ("lab".to_string(), dec("1.50")),
        ("unassigned".to_string(), dec("107.20")),
    ];
    assert_eq!(totals, expected);
    let summary: DaySummary = serde_json::from_slice(
        &sink
            .object(&keys::rollup_keys(PROGRAM, day).summary)
            .unwrap()
            .0,
    )
    .unwrap();
    assert_eq!(
        summary.customers.as_ref().map(|c| c.fingerprint.clone()),
        Some(customers.fingerprint())
    );
    // Read from the summary now: no rows, no write.
    let puts = sink.puts().len();
    let again = customer_points(&sink, PROGRAM, day, Some(&customers))
        .await
        .unwrap();
    assert_eq!(again.as_deref(), Some(&expected[..]));
    assert_eq!(sink.puts().len(), puts);
    // Another mapping is summed again.
    let other = Customers::parse(
        r#"{"customers": [{"id": "acme", "name": "Acme", "accounts": [2321234]}]}"#,
        "c.json",
    )
    .unwrap();
    assert_ne!(other.fingerprint(), customers.fingerprint());
    let totals = customer_points(&sink, PROGRAM, day, Some(&other))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        totals,
        [
            ("acme".to_string(), dec("108.70")),
            ("unassigned".to_string(), dec("0.123456"))
        ]
    );
}
