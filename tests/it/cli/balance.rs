//! `consumption --daily` and `balance`: the balance snapshot and alerts on the console.

use super::*;

#[tokio::test]
async fn daily_reports_and_the_balance_command_print_the_balance_and_alerts() {
    let sim = simulator_at(Dataset::walkthrough(), "2025-11-09").await;
    let dir = tempfile::tempdir().unwrap();
    let creds = write_credentials(dir.path(), CREDENTIALS);
    let args = [
        "consumption",
        "--credentials",
        &creds,
        "--daily",
        "--start",
        "2025-11-06",
        "--end",
        "2025-11-08",
    ];
    let out = run(Some(&sim), dir.path(), &args, &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // The binary's clock is the real one: the balance is read today, and the stored days
    // (in 2025) are too old for a burn rate.
    assert!(
        stdout.contains("BALANCE of ELAVMS0000123456 (prepaid) on "),
        "{stdout}"
    );
    assert!(
        stdout.contains("Burn rate 7 days:  no stored days"),
        "{stdout}"
    );
    for day in ["2025-11-06", "2025-11-07", "2025-11-08"] {
        assert!(
            stdout.contains(&format!("[OK] No alerts for ELAVMS0000123456 on {day}")),
            "{stdout}"
        );
        let alerts = dir.path().join(format!(
            "reports/alerts/dt={day}/alerts_ELAVMS0000123456_{day}.json"
        ));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&alerts).unwrap()).unwrap();
        assert_eq!(v["alerts"], serde_json::json!([]));
    }
    let balances = |dir: &Path| {
        walk(&dir.join("reports"))
            .into_iter()
            .filter(|p| p.to_string_lossy().contains("/balances/dt="))
            .count()
    };
    assert_eq!(balances(dir.path()), 1);

    // `balance` alone: the balance and rate snapshots, the product names and the month's
    // tie-out (JSON and CSV), no report and no alerts file.
    let other = tempfile::tempdir().unwrap();
    let out = run(
        Some(&sim),
        other.path(),
        &["balance", "--credentials", &creds],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Balance:           "),
        "{}",
        text(&out.stdout)
    );
    let written = walk(&other.path().join("reports"));
    assert_eq!(written.len(), 5, "{written:?}");
    assert!(
        written
            .iter()
            .any(|p| p.to_string_lossy().contains("/tieout/month=")),
        "{written:?}"
    );
    assert_eq!(balances(other.path()), 1);
}
