//! End to end through the real Lambda runtime API: `cargo lambda watch` serves it, the
//! `fortiflex-lambda` binary polls it as it would in AWS, `cargo lambda invoke` sends the
//! sample events of `infra/events/`, and the reports land in a moto bucket.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::support::{
    Aws, CREDENTIALS, Guarded, free_port, lambda_env, moto, simulator, venv_tool, wait_for_port,
};
use fortiflex_reporter::sim::Dataset;
use serde_json::{Value, json};

/// `cargo lambda watch` serving only the runtime API, with our binary attached to it.
struct Runtime {
    port: u16,
    watch: Guarded,
    function: Guarded,
}

impl Runtime {
    fn start(env: &[(&'static str, String)]) -> Self {
        let cargo_lambda = venv_tool("CARGO_LAMBDA", "cargo-lambda");
        let port = free_port();
        let logs = std::env::temp_dir();
        let mut watch = Command::new(&cargo_lambda);
        watch.args([
            "lambda",
            "watch",
            "--only-lambda-apis",
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ]);
        let watch = Guarded::spawn(watch, logs.join(format!("fortiflex-watch-{port}.log")));
        wait_for_port(port, Duration::from_secs(60), "cargo lambda watch", || {
            watch.log_text()
        });
        let mut function = Command::new(env!("CARGO_BIN_EXE_fortiflex-lambda"));
        function
            .env_clear()
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt"),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        for (k, v) in env {
            function.env(k, v);
        }
        let function = Guarded::spawn(function, logs.join(format!("fortiflex-fn-{port}.log")));
        Runtime {
            port,
            watch,
            function,
        }
    }

    /// `cargo lambda invoke` with one of the sample events: the reply, or the error text.
    fn invoke(&mut self, event: &str) -> Result<Value, String> {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("infra/events")
            .join(event);
        let out = Command::new(venv_tool("CARGO_LAMBDA", "cargo-lambda"))
            .args([
                "lambda",
                "invoke",
                "_",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
            ])
            .arg(self.port.to_string())
            .arg("--data-file")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            self.function.is_running(),
            "the function exited:\n{}",
            self.function.log_text()
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(serde_json::from_str(&stdout)
                .unwrap_or_else(|e| panic!("{event}: not JSON ({e}): {stdout}")))
        } else {
            Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
        }
    }
}

fn statuses(summary: &Value) -> Vec<(String, String)> {
    summary["programs"][0]["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["date"].as_str().unwrap().to_string(),
                d["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto and cargo-lambda: make test"]
async fn sample_events_through_the_runtime_api_land_reports_in_s3() {
    let aws = Aws::new(true).await;
    aws.put_secret(CREDENTIALS).await;
    let sim = simulator(Dataset::walkthrough()).await;
    let mut env = lambda_env(moto(), &aws, &sim);
    // The sample events are dated 2025 while the function's clock is the real one: keep ten
    // years of retention so their days are still fetchable (the simulator applies its own).
    env.push(("FORTIFLEX_RETENTION_DAYS", "3650".into()));
    let mut rt = tokio::task::spawn_blocking(move || Runtime::start(&env))
        .await
        .unwrap();
    let mut invoke = |event: &'static str| {
        // The runtime is driven by blocking processes; the simulator keeps serving meanwhile.
        tokio::task::block_in_place(|| rt.invoke(event))
    };

    let scheduled = invoke("scheduled.json").unwrap();
    assert_eq!(
        statuses(&scheduled),
        pairs(&[
            ("2025-11-08", "written"),
            ("2025-11-07", "written"),
            ("2025-11-06", "written")
        ])
    );
    assert_eq!(scheduled["programs"][0]["days"][0]["points"], json!(399.42));
    // Three days of CSV, JSON and manifest and their rollups, November's statement (CSV,
    // JSON, workbook, the account's CSV and the manifest) and its lines (by the function's
    // real clock the month is long settled: folded whole once, all its lines kept), today's
    // balance and rate snapshots, the product names and the month's tie-out, each day's
    // alerts and the site (its index and the account's statement page).
    let keys = aws.keys().await;
    assert_eq!(
        keys.len(),
        9 + 6 + 5 + 1 + 1 + 1 + 1 + 2 + 3 + 2,
        "{keys:#?}"
    );
    assert!(keys.contains(&"fortiflex/site/index.html".to_string()));
    for day in ["2025-11-06", "2025-11-07", "2025-11-08"] {
        let key = format!("fortiflex/alerts/dt={day}/alerts_ELAVMS0000123456_{day}.json");
        assert!(keys.contains(&key), "{key} in {keys:#?}");
    }
    assert_eq!(
        keys.iter()
            .filter(|k| k.starts_with("fortiflex/balances/dt="))
            .count(),
        1
    );
    assert_eq!(
        scheduled["programs"][0]["balance"]["program_type"],
        json!("prepaid")
    );
    assert_eq!(
        scheduled["programs"][0]["alerts"].as_array().unwrap().len(),
        3
    );
    assert_eq!(
        scheduled["programs"][0]["statements"][0]["month"],
        json!("2025-11")
    );

    // EventBridge Scheduler's input for the same instant: the same days, already current.
    let scheduler = invoke("scheduler.json").unwrap();
    assert_eq!(
        statuses(&scheduler),
        pairs(&[
            ("2025-11-08", "unchanged"),
            ("2025-11-07", "unchanged"),
            ("2025-11-06", "unchanged")
        ])
    );

    let one = invoke("one-day.json").unwrap();
    assert_eq!(statuses(&one), pairs(&[("2025-11-05", "written")]));

    let backfill = invoke("backfill.json").unwrap();
    let days = statuses(&backfill);
    assert_eq!(days.len(), 7);
    // The 5th, 6th and 7th were stored already, outside today's restatement window: a
    // backfill picks up where the archive stops instead of fetching them again.
    assert_eq!(
        days,
        pairs(&[
            ("2025-11-01", "written"),
            ("2025-11-02", "written"),
            ("2025-11-03", "written"),
            ("2025-11-04", "written"),
            ("2025-11-05", "kept"),
            ("2025-11-06", "kept"),
            ("2025-11-07", "kept"),
        ])
    );
    assert_eq!(backfill["programs"][0]["range"]["points"], json!(2795.94));
    let keys = aws.keys().await;
    // Eight daily reports and their rollups, the range report, and the statement (and its
    // lines), balance, rates, product names, tie-out, alerts and site of the scheduled run.
    assert_eq!(
        keys.len(),
        8 * (3 + 2) + 3 + 5 + 1 + 1 + 1 + 1 + 2 + 3 + 2,
        "{keys:#?}"
    );
    let (csv, content_type) = aws
        .object("fortiflex/daily/csv/dt=2025-11-01/consumption_ELAVMS0000123456_2025-11-01.csv")
        .await;
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert_eq!(String::from_utf8(csv).unwrap().lines().count(), 14);

    let dry = invoke("dry-run.json").unwrap();
    assert_eq!(dry["dry_run"], json!(true));
    assert_eq!(dry["programs"][0]["days"].as_array().unwrap().len(), 31);
    assert_eq!(aws.keys().await, keys, "a dry run writes nothing");

    let bad = invoke("bad-payload.json").unwrap_err();
    assert!(bad.contains("InvalidRequest"), "{bad}");
    assert!(bad.contains("unknown field `dates`"), "{bad}");
    assert_eq!(aws.keys().await, keys);

    // The function logged JSON lines with the day, program, rows, points and duration.
    let log = rt.function.log_text();
    let done: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["fields"]["message"] == json!("report done"))
        .collect();
    assert!(!done.is_empty(), "no JSON report lines in:\n{log}");
    let first = &done[0]["fields"];
    assert_eq!(
        (
            first["period"].clone(),
            first["program"].clone(),
            first["rows"].clone(),
            first["points"].clone()
        ),
        (
            json!("2025-11-08"),
            json!("ELAVMS0000123456"),
            json!(13),
            json!("399.42")
        )
    );
    assert_eq!(first["status"], json!("written"));
    // And the CloudWatch metrics (EMF) the heartbeat alarm watches, one line per run.
    let beats = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["SuccessfulRuns"] == json!(1) && l["_aws"]["CloudWatchMetrics"].is_array())
        .count();
    assert_eq!(
        beats, 4,
        "scheduled, scheduler, one day, backfill; not the dry run:\n{log}"
    );
    // The scheduled runs' balance and alert metrics.
    let emf = |metric: &str| {
        log.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|l| l[metric].is_number() && l["_aws"]["CloudWatchMetrics"].is_array())
            .count()
    };
    assert_eq!(
        (emf("BalancePoints"), emf("Alerts")),
        (2, 2),
        "scheduled and scheduler:\n{log}"
    );
    assert!(
        !log.contains("demo-api-password"),
        "the password reached a log"
    );
    assert!(rt.watch.is_running());
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs moto and cargo-lambda: make test"]
async fn a_missing_setting_fails_each_invocation_as_configuration() {
    let aws = Aws::new(true).await;
    let sim = simulator(Dataset::walkthrough()).await;
    let env: Vec<_> = lambda_env(moto(), &aws, &sim)
        .into_iter()
        .filter(|(k, _)| *k != "REPORT_BUCKET")
        .collect();
    let mut rt = tokio::task::spawn_blocking(move || Runtime::start(&env))
        .await
        .unwrap();
    for _ in 0..2 {
        let err = tokio::task::block_in_place(|| rt.invoke("scheduled.json")).unwrap_err();
        assert!(err.contains("Configuration"), "{err}");
        assert!(err.contains("REPORT_BUCKET is not set"), "{err}");
    }
    assert!(aws.keys().await.is_empty());
}
