//! `consumption` on an MSSP program: per-account reports, a resumed backfill, top-fifty tables.

use super::*;

#[tokio::test]
async fn an_mssp_program_is_reported_per_account_and_resumes_a_backfill() {
    let sim = simulator_at(Dataset::mssp(0), "2025-11-09").await;
    let dir = tempfile::tempdir().unwrap();
    let creds = write_credentials(dir.path(), CREDENTIALS);
    let week = ["--start", "2025-11-02", "--end", "2025-11-08"];
    let consumption = |extra: &[&str]| {
        let mut args = vec!["consumption", "--credentials", creds.as_str()];
        args.extend_from_slice(&week);
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let args = consumption(&[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(Some(&sim), dir.path(), &args, &[]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("[SUCCESS] Retrieved consumption data for 13 entitlement(s)"));
    let total = stdout
        .lines()
        .find(|l| l.starts_with("GRAND TOTAL"))
        .unwrap();
    assert!(total.ends_with(" 2795.94"), "{total}");
    let account = |id: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap_or_else(|| panic!("no line for account {id}:\n{stdout}"))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        account("2321234 (program)")[2..],
        ["3", "1478.75", "211.25"]
    );
    assert_eq!(account("3300001")[1..], ["8", "1196.37", "170.91"]);
    assert_eq!(account("3300002")[1..], ["2", "120.82", "17.26"]);

    // One customer's range report, under its own key.
    let args = consumption(&["--account", "3300001", "--format", "json"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(Some(&sim), dir.path(), &args, &[]).await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["account_filter"].clone(), v["totals"]["points"].clone()),
        (serde_json::json!(3300001), serde_json::json!(1196.37))
    );
    assert!(
        dir.path()
            .join("reports/ranges/consumption_ELAVMS0000123456_2025-11-02_2025-11-08_account-3300001.csv")
            .exists()
    );

    // configs lists every account's configurations with the account.
    let out = run(
        Some(&sim),
        dir.path(),
        &["configs", "--credentials", &creds],
        &[],
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("8 configuration(s) in 3 account(s)"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("3300002      4104")),
        "{stdout}"
    );

    // A daily backfill long enough for progress lines on a non-terminal stderr...
    let backfill = [
        "consumption",
        "--credentials",
        &creds,
        "--daily",
        "--start",
        "2025-10-25",
        "--end",
        "2025-11-08",
    ];
    let out = run(Some(&sim), dir.path(), &backfill, &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("progress: 62 FortiFlex calls planned"),
        "{stderr}"
    );
    assert_eq!(
        text(&out.stdout)
            .lines()
            .filter(|l| l.contains(": 399.42 points, written r1"))
            .count(),
        15
    );
    // ...and, run again, it picks up where the archive stops: stored days are not fetched.
    let calls = sim.calls();
    let out = run(Some(&sim), dir.path(), &backfill, &[]).await;
    let stdout = text(&out.stdout);
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.contains("points, kept r1: kept: stored already"))
            .count(),
        15,
        "{stdout}"
    );
    assert_eq!(
        sim.calls() - calls,
        1 + 3 + 3 + 2,
        "configs, the catalog, the range report and the balance (programs/list and programs/points) only"
    );

    // A run longer than a year is refused before any call, as the Lambda refuses it.
    let calls = sim.calls();
    let out = run(
        Some(&sim),
        dir.path(),
        &["consumption", "--credentials", &creds, "--days", "100000"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("at most 366 days, not 100000"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(sim.calls(), calls);

    // A range past FortiFlex's retention is refused before any call.
    let calls = sim.calls();
    let out = run(
        Some(&sim),
        dir.path(),
        &[
            "consumption",
            "--credentials",
            &creds,
            "--start",
            "2025-01-10",
            "--end",
            "2025-01-12",
        ],
        &[("FORTIFLEX_RETENTION_DAYS", "90")],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("2025-01-10 is past FortiFlex's 90-day retention"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(sim.calls(), calls);
}

#[tokio::test]
async fn tables_show_the_top_fifty_unless_all_is_asked() {
    // The walkthrough's 13 plus 40 synthetic accounts' devices: 53 consumers.
    let sim = simulator_at(Dataset::mssp(40), "2025-11-09").await;
    let dir = tempfile::tempdir().unwrap();
    let creds = write_credentials(dir.path(), CREDENTIALS);
    let args = [
        "consumption",
        "--credentials",
        &creds,
        "--date",
        "2025-11-08",
    ];
    let out = run(Some(&sim), dir.path(), &args, &[]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        stdout
            .matches("... and 3 more (see the CSV, or --all)")
            .count(),
        2,
        "the table and the rates: {stdout}"
    );
    let total = stdout
        .lines()
        .find(|l| l.starts_with("GRAND TOTAL"))
        .unwrap();
    assert!(
        total.ends_with(" 799.42"),
        "totals count every row: {total}"
    );
    let csv = std::fs::read_to_string(
        dir.path()
            .join("reports/ranges/consumption_ELAVMS0000123456_2025-11-08_2025-11-08.csv"),
    )
    .unwrap();
    assert_eq!(csv.lines().count(), 1 + 53, "the CSV holds every row");

    let mut all = args.to_vec();
    all.push("--all");
    let out = run(Some(&sim), dir.path(), &all, &[]).await;
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("more (see the CSV"), "{stdout}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("FGVMSYNT")).count(),
        2 * 40
    );
}
