//! `programs`, `configs`, `entitlements` and `probe-end-date`.

use super::*;

#[tokio::test]
async fn discovery_lists_programs_configs_and_entitlements() {
    let sim = simulator_at(Dataset::walkthrough(), "2025-11-09").await;
    let dir = tempfile::tempdir().unwrap();
    // Discovery needs only the API user: no program serial, no account id yet.
    let login = write_credentials(
        dir.path(),
        r#"{"fortiflex": {"api_username": "demo-api-user", "api_password": "demo-api-password"}}"#,
    );
    let written = dir.path().join("found.json");
    let out = run(
        Some(&sim),
        dir.path(),
        &[
            "programs",
            "--credentials",
            &login,
            "--write-credentials",
            written.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = stdout
        .lines()
        .find(|l| l.starts_with("ELAVMS0000123456"))
        .unwrap();
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        &cells[..5],
        [
            "ELAVMS0000123456",
            "2321234",
            "2025-01-10",
            "2028-01-09",
            "prepaid"
        ]
    );
    // 500,000 prepaid, less 302 days at 399.42 and the ramp-up before all 13 consumed.
    assert!(cells[5].parse::<f64>().unwrap() < 500_000.0, "{line}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&written).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&written).unwrap()).unwrap();
    assert_eq!(doc["fortiflex"]["account_id"], serde_json::json!(2321234));
    assert_eq!(
        doc["fortiflex"]["program_serial_number"],
        serde_json::json!("ELAVMS0000123456")
    );

    // The written file is a working credentials file.
    let creds = written.to_str().unwrap();
    let out = run(
        Some(&sim),
        dir.path(),
        &["configs", "--credentials", creds],
        &[],
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let fgt = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("2321234      4102"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let cells: Vec<&str> = fgt.split_whitespace().collect();
    assert_eq!(cells[cells.len() - 5..], ["7", "1", "1", "0", "0"], "{fgt}");
    assert!(stdout.contains("8 configuration(s)"), "{stdout}");

    let out = run(
        Some(&sim),
        dir.path(),
        &[
            "entitlements",
            "--credentials",
            creds,
            "--status",
            "pending",
        ],
        &[],
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("FGVMMLTM00001001") && stdout.contains("1 entitlement(s)"),
        "{stdout}"
    );
    let out = run(
        Some(&sim),
        dir.path(),
        &["entitlements", "--credentials", creds],
        &[],
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("15 entitlement(s)"), "{stdout}");
    for e in &Dataset::walkthrough().programs[0].entitlements {
        assert!(
            !stdout.contains(&e.token),
            "licence token {} printed",
            e.token
        );
    }
}

#[tokio::test]
async fn probe_end_date_tells_the_two_tenants_apart() {
    let dir = tempfile::tempdir().unwrap();
    let creds = write_credentials(dir.path(), CREDENTIALS);
    for (mode, want) in [
        (EndDateMode::Inclusive, "endDate is INCLUSIVE"),
        (EndDateMode::Exclusive, "endDate is EXCLUSIVE"),
    ] {
        let opts = SimOptions {
            today: Some(NaiveDate::from_ymd_opt(2025, 11, 9).unwrap()),
            end_date: mode,
            ..SimOptions::default()
        };
        let sim = start_sim(Dataset::walkthrough(), opts).await;
        let args = [
            "probe-end-date",
            "--date",
            "2025-11-06",
            "--credentials",
            &creds,
        ];
        let out = run(Some(&sim), dir.path(), &args, &[]).await;
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(stdout.contains(want), "{mode:?}: {stdout}");
    }
    // A day with no consumption cannot tell.
    let sim = simulator_at(Dataset::walkthrough(), "2025-11-09").await;
    let args = [
        "probe-end-date",
        "--date",
        "2024-12-01",
        "--credentials",
        &creds,
    ];
    let out = run(Some(&sim), dir.path(), &args, &[]).await;
    assert!(text(&out.stdout).contains("Cannot tell: no consumption"));
}
