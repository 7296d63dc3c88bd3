//! `tieout`: the month's days against the balance's drops, from the archive alone.

use super::*;

#[tokio::test]
async fn tieout_shows_each_day_against_the_balances_drop_from_the_archive() {
    let dir = tempfile::tempdir().unwrap();
    let creds = write_credentials(dir.path(), CREDENTIALS);
    // The daily runs of 9 and 10 November (06:00 Pacific), each reading the balance.
    for (today, now) in [
        ("2025-11-09", "2025-11-09T14:00:00Z"),
        ("2025-11-10", "2025-11-10T14:00:00Z"),
    ] {
        let sim = simulator_at(Dataset::walkthrough(), today).await;
        let args = [
            "consumption",
            "--credentials",
            &creds,
            "--daily",
            "--days",
            "3",
        ];
        let out = run(Some(&sim), dir.path(), &args, &[("FORTIFLEX_NOW", now)]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    // Offline: no simulator, no credentials.
    let args = [
        "tieout",
        "--program",
        "ELAVMS0000123456",
        "--month",
        "2025-11",
    ];
    let now = [("FORTIFLEX_NOW", "2025-11-10T20:00:00Z")];
    let out = run(None, dir.path(), &args, &now).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("2025-11-09"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        &cells[..5],
        ["2025-11-09", "399.42", "399.42", "0.00", "ties"],
        "{line}"
    );
    assert!(
        stdout.contains("Days that tie: 1, differ: 0, unknown: 8"),
        "{stdout}"
    );
    let file = dir
        .path()
        .join("reports/tieout/month=2025-11/tieout_ELAVMS0000123456_2025-11.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(v["through"], serde_json::json!("2025-11-09"));

    // A folder with no snapshots: named, and nothing written.
    let empty = tempfile::tempdir().unwrap();
    let out = run(None, empty.path(), &args, &now).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no two consecutive balance snapshots"),
        "{stderr}"
    );
}
