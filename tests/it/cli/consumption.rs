//! `consumption`: the walkthrough's report, daily files, filters, formats, failures and exit
//! codes, and the report written to S3.

use super::*;
use crate::support;

#[tokio::test]
async fn consumption_prints_the_walkthrough_and_writes_the_contract_files() {
    let sim = start_sim(Dataset::walkthrough(), SimOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let creds = write_credentials(dir.path(), CREDENTIALS);
    let out = run(
        Some(&sim),
        dir.path(),
        &["consumption", "--days", "7", "--credentials", &creds],
        &[],
    )
    .await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("CONSUMPTION REPORT - ALL ENTITLEMENTS - LAST 7 DAYS"),
        "{stdout}"
    );
    let total = stdout
        .lines()
        .find(|l| l.starts_with("GRAND TOTAL"))
        .unwrap();
    assert!(total.trim_end().ends_with(" 2795.94"), "{total}");
    let avg = stdout
        .lines()
        .find(|l| l.starts_with("Average per day"))
        .unwrap();
    assert!(avg.trim_end().ends_with(" 399.42"), "{avg}");
    // The walkthrough's projections: 399.42 a day, 11,982.60 per 30 days, 145,788.30 a year.
    let program = stdout.lines().find(|l| l.starts_with("PROGRAM")).unwrap();
    let cells: Vec<&str> = program.split_whitespace().collect();
    assert_eq!(cells, ["PROGRAM", "399.42", "11982.60", "145788.30"]);

    let ranges: Vec<String> = std::fs::read_dir(dir.path().join("reports/ranges"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(ranges.len(), 3, "{ranges:?}");
    let csv_name = ranges.iter().find(|n| n.ends_with(".csv")).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("reports/ranges").join(csv_name)).unwrap();
    assert_eq!(csv.lines().count(), 14);
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .ends_with(",FMVMMLTM00000582,4101,MSSP FMG,FortiManager-VM,SOC manager,ACTIVE,750.40")
    );
}

#[tokio::test]
async fn consumption_from_env_credentials_with_daily_files_and_a_serial() {
    let sim = simulator_at(Dataset::walkthrough(), "2025-11-09").await;
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("FORTIFLEX_USERNAME", "demo-api-user"),
        ("FORTIFLEX_PASSWORD", "demo-api-password"),
        ("FORTIFLEX_PROGRAM_SERIAL", "ELAVMS0000123456"),
    ];
    let args = [
        "consumption",
        "--start",
        "2025-11-06",
        "--end",
        "2025-11-08",
        "--daily",
        "--out",
        "out",
    ];
    let out = run(Some(&sim), dir.path(), &args, &env).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    for day in ["2025-11-06", "2025-11-07", "2025-11-08"] {
        let m = dir.path().join(format!(
            "out/daily/manifests/dt={day}/consumption_ELAVMS0000123456_{day}.manifest.json"
        ));
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
        assert_eq!(
            (v["report"].as_str(), v["revision"].as_u64()),
            (Some("daily"), Some(1))
        );
    }
    assert!(
        dir.path()
            .join("out/ranges/consumption_ELAVMS0000123456_2025-11-06_2025-11-08.json")
            .exists()
    );

    let args = [
        "consumption",
        "--start",
        "2025-11-02",
        "--end",
        "2025-11-08",
        "--serial",
        "FGT71FTK22000471",
        "--out",
        "out",
    ];
    let out = run(Some(&sim), dir.path(), &args, &env).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("Serial Number Filter: FGT71FTK22000471"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("GRAND TOTAL") && l.trim_end().ends_with(" 135.03")),
        "{stdout}"
    );
    assert!(
        dir.path()
            .join(
                "out/ranges/consumption_ELAVMS0000123456_2025-11-02_2025-11-08_FGT71FTK22000471.csv"
            )
            .exists()
    );
}

#[tokio::test]
async fn no_consumption_and_unknown_serials_are_successes_with_a_clear_line() {
    let sim = simulator_at(Dataset::walkthrough(), "2025-11-09").await;
    let dir = tempfile::tempdir().unwrap();
    let creds = write_credentials(dir.path(), CREDENTIALS);
    let out = run(
        Some(&sim),
        dir.path(),
        &[
            "consumption",
            "--date",
            "2025-01-05",
            "--credentials",
            &creds,
        ],
        &[],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("[INFO] No consumption for 2025-01-05 to 2025-01-05"),
        "{}",
        text(&out.stdout)
    );
    let args = [
        "consumption",
        "--date",
        "2025-11-08",
        "--serial",
        "FGT71FTK2XXXXX",
        "--credentials",
        &creds,
    ];
    let out = run(Some(&sim), dir.path(), &args, &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .contains("[INFO] No consumption data found for serial number: FGT71FTK2XXXXX")
    );
}

#[tokio::test]
async fn failures_exit_non_zero_with_a_one_line_cause() {
    let sim = simulator_at(Dataset::walkthrough(), "2025-11-09").await;
    let dir = tempfile::tempdir().unwrap();

    // No credentials anywhere: usage/configuration class, exit 1, the variable named.
    let out = run(Some(&sim), dir.path(), &["consumption", "--days", "1"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("FORTIFLEX_USERNAME is not set"),
        "{}",
        text(&out.stderr)
    );

    // A credentials file that is not there: where it was looked for.
    let out = run(
        Some(&sim),
        dir.path(),
        &["consumption", "--credentials", "config/credentials.json"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot read credentials file config/credentials.json"),
        "{}",
        text(&out.stderr)
    );

    // A missing field in the file is named.
    let creds = write_credentials(
        dir.path(),
        r#"{"fortiflex": {"api_username": "u", "program_serial_number": "ELAVMS0000123456"}}"#,
    );
    let out = run(
        Some(&sim),
        dir.path(),
        &["consumption", "--credentials", &creds],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("missing required field 'api_password'"));

    // FortiFlex's 400 is shown, never reported as "no data": exit 2.
    let wrong = CREDENTIALS.replace("2321234", "999");
    let creds = write_credentials(dir.path(), &wrong);
    let out = run(
        Some(&sim),
        dir.path(),
        &[
            "consumption",
            "--date",
            "2025-11-08",
            "--credentials",
            &creds,
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("HTTP 400")
            && stderr.contains("Account 999 does not belong to program ELAVMS0000123456."),
        "{stderr}"
    );
    assert!(!text(&out.stdout).contains("No consumption"));

    // A wrong password: exit 2, the password nowhere in the output.
    let creds = write_credentials(
        dir.path(),
        &CREDENTIALS.replace("demo-api-password", "s3cr3t-wr0ng"),
    );
    let out = run(
        Some(&sim),
        dir.path(),
        &[
            "consumption",
            "--date",
            "2025-11-08",
            "--credentials",
            &creds,
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(!format!("{}{}", text(&out.stdout), text(&out.stderr)).contains("s3cr3t-wr0ng"));

    // Bad arguments and impossible ranges: exit 1, nothing written.
    let out = run(
        Some(&sim),
        dir.path(),
        &["consumption", "--date", "2025-13-01"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("'2025-13-01' is not a date"));
    assert!(
        text(&out.stderr).contains("for '--date <D>'"),
        "{}",
        text(&out.stderr)
    );

    // A bad flag value names the flag, not the environment variable of the same setting.
    let out = run(None, dir.path(), &["sim", "--end-date", "sometimes"], &[]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("'--end-date <MODE>'") && !stderr.contains("FORTIFLEX_END_DATE"),
        "{stderr}"
    );
    // ...and a bad variable names the variable.
    let out = run(
        None,
        dir.path(),
        &["consumption"],
        &[("FORTIFLEX_END_DATE", "sometimes")],
    )
    .await;
    assert!(
        text(&out.stderr).contains("FORTIFLEX_END_DATE: 'sometimes' is neither"),
        "{}",
        text(&out.stderr)
    );
    let out = run(
        Some(&sim),
        dir.path(),
        &["consumption", "--days", "2", "--date", "2025-11-01"],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(!dir.path().join("reports").exists());
}

#[tokio::test]
async fn commitment_config_scope_and_formats() {
    let sim = start_sim(Dataset::walkthrough(), SimOptions::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let creds = write_credentials(dir.path(), CREDENTIALS);
    let week = ["consumption", "--days", "7", "--credentials", &creds];

    let args = [&week[..], &["--commitment", "50000"]].concat();
    let out = run(Some(&sim), dir.path(), &args, &[]).await;
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout.contains("50000.00 points/year = 4166.67 points/month"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2795.94 points = 5.59% of the annual commitment"),
        "{stdout}"
    );
    assert!(
        stdout.contains("145788.30 points/year = 291.58% of the commitment"),
        "{stdout}"
    );

    // FortiFlex's configId scope: the seven FortiGate-VMs of config 4102.
    let args = [&week[..], &["--config-id", "4102", "--format", "csv"]].concat();
    let out = run(Some(&sim), dir.path(), &args, &[]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = text(&out.stdout);
    assert_eq!(csv.lines().count(), 8, "{csv}");
    assert!(
        csv.lines()
            .skip(1)
            .all(|l| l.contains(",4102,FGT-VM 2 vCPU UTP,")),
        "{csv}"
    );
    let scoped = std::fs::read_dir(dir.path().join("reports/ranges"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with("_config-4102.manifest.json")
        })
        .count();
    assert_eq!(scoped, 1, "the scoped report has its own keys");

    let args = [&week[..], &["--format", "json"]].concat();
    let out = run(Some(&sim), dir.path(), &args, &[]).await;
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["totals"]["points"].to_string(), "2795.94");
    assert_eq!(
        doc["consumption"]["entitlements"].as_array().unwrap().len(),
        13
    );

    let args = [&week[..], &["--config-id", "4102", "--daily"]].concat();
    let out = run(Some(&sim), dir.path(), &args, &[]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "daily partitions are whole-program"
    );
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn consumption_writes_to_s3_through_the_lambdas_sink() {
    let sim = simulator_at(Dataset::walkthrough(), "2025-11-09").await;
    let aws = support::Aws::new(true).await;
    let dir = tempfile::tempdir().unwrap();
    let creds = write_credentials(dir.path(), CREDENTIALS);
    let out_url = format!("s3://{}/partner-a/fortiflex", aws.bucket);
    let env = support::aws_env(support::moto());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let args = [
        "consumption",
        "--date",
        "2025-11-08",
        "--daily",
        "--credentials",
        &creds,
        "--out",
        &out_url,
    ];
    let out = run(Some(&sim), dir.path(), &args, &env).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("{out_url}/daily/")),
        "{}",
        text(&out.stdout)
    );
    let keys = aws.keys().await;
    // The daily report and its rollup, the range report, the day's alerts, today's
    // balance and rate snapshots, the product names and its month's tie-out (JSON, CSV).
    assert_eq!(keys.len(), 3 + 2 + 3 + 1 + 2 + 1 + 2, "{keys:?}");
    assert!(keys.contains(
        &"partner-a/fortiflex/alerts/dt=2025-11-08/alerts_ELAVMS0000123456_2025-11-08.json".into()
    ));
    assert!(
        keys.iter()
            .any(|k| k.starts_with("partner-a/fortiflex/balances/dt="))
    );
    let csv_key =
        "partner-a/fortiflex/daily/csv/dt=2025-11-08/consumption_ELAVMS0000123456_2025-11-08.csv";
    let (body, content_type) = aws.object(csv_key).await;
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert_eq!(body, support::golden("walkthrough_daily.csv"));
}
