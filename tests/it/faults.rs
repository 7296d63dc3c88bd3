//! The fault matrix: the Lambda handler against a simulator injecting FortiFlex's failures and
//! a moto S3. Each case checks the outcome *and* exactly what the bucket holds afterwards.

use crate::support;
use std::io::Write;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use crate::support::{
    Aws, CREDENTIALS, daily_keys, golden, lambda_env, moto, rollup_keys, simulator,
};
use chrono::{DateTime, Utc};
use fortiflex_reporter::adapters::secrets::SecretsManager;
use fortiflex_reporter::adapters::storage::{S3Sink, Sink, Tagged};
use fortiflex_reporter::config::LambdaSettings;
use fortiflex_reporter::lambda::handler::Handler;
use fortiflex_reporter::pipeline::outcome::{RunOutcome as Summary, Status};
use fortiflex_reporter::sim::{Dataset, Fault, FaultKind, RowShape, RunningSim};
use rust_decimal::Decimal;
use serde_json::{Value, json};

const DAY: &str = "2025-11-08";
const PASSWORD: &str = "demo-api-password";

/// Noon in California on the 9th: the 8th is the last complete day, inside the window.
fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-11-09T20:00:00Z")
        .unwrap()
        .to_utc()
}

/// The Lambda's settings for this bucket and simulator, with retry waits in milliseconds and
/// FortiFlex's windows a minute and a second long.
fn settings(aws: &Aws, sim: &RunningSim) -> LambdaSettings {
    let mut env = lambda_env(moto(), aws, sim);
    env.extend([
        ("FORTIFLEX_RETRIES", "4".to_string()),
        ("FORTIFLEX_RETRY_BASE_MS", "5".to_string()),
        ("FORTIFLEX_RETRY_BUDGET_SECS", "5".to_string()),
        ("FORTIFLEX_BUDGET_HOUR_SECS", "60".to_string()),
        ("RESTATE_DAYS", "0".to_string()),
    ]);
    LambdaSettings::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
        .unwrap()
}

fn handler(aws: &Aws, sim: &RunningSim) -> Handler<SecretsManager, S3Sink> {
    Handler::for_aws(settings(aws, sim), &aws.config).unwrap()
}

async fn setup(data: Dataset) -> (Aws, RunningSim) {
    let aws = Aws::new(true).await;
    aws.put_secret(CREDENTIALS).await;
    (aws, simulator(data).await)
}

async fn run_day(aws: &Aws, sim: &RunningSim) -> fortiflex_reporter::Result<Summary> {
    handler(aws, sim)
        .handle(json!({"date": DAY}), now(), "faults")
        .await
}

fn day_keys() -> [String; 3] {
    daily_keys(DAY)
}

/// The day was written whole and right: the contract's bytes and the day's rollup, nothing
/// else in the bucket.
async fn assert_complete(aws: &Aws, summary: &Summary) {
    assert_eq!(summary.programs[0].days[0].status, Status::Written);
    assert_eq!(summary.programs[0].days[0].points.to_string(), "399.42");
    let mut want = [&day_keys()[..], &rollup_keys(DAY)[..]].concat();
    want.sort();
    assert_eq!(aws.keys().await, want);
    assert_eq!(
        aws.object(&day_keys()[0]).await.0,
        golden("walkthrough_daily.csv")
    );
    assert_eq!(
        aws.object(&day_keys()[1]).await.0,
        golden("walkthrough_daily.json")
    );
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn transient_faults_are_ridden_out() {
    for fault in [
        FaultKind::Http(503),
        FaultKind::Http(429),
        FaultKind::Http(500),
        FaultKind::Status(-10),
        FaultKind::Status(-12),
        FaultKind::Drop,
    ] {
        for after in [0, 3] {
            // The calls: programs/list (the account), entitlements/list, configs/list, then
            // entitlements/points. after 0 hits the first, after 3 the points call.
            let (aws, sim) = setup(Dataset::walkthrough()).await;
            sim.inject(Fault::once(fault.clone()).after(after));
            let summary = run_day(&aws, &sim)
                .await
                .unwrap_or_else(|e| panic!("{fault:?} after {after}: {e}"));
            assert_complete(&aws, &summary).await;
            assert_eq!(sim.calls(), 5, "{fault:?}: four calls and one retry");
        }
    }
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn an_hour_limit_refusal_is_one_call_and_a_budget_error_naming_the_wait() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    sim.inject(Fault::once(FaultKind::Status(-11)).after(3));
    let err = run_day(&aws, &sim).await.unwrap_err();
    assert_eq!(err.kind(), "Budget", "{err}");
    let message = err.to_string();
    assert!(
        message.contains("for its hour limit") && message.contains("the next call fits in"),
        "{message}"
    );
    assert_eq!(sim.calls(), 4, "no quick retry of a spent hour");
    assert_eq!(
        aws.keys().await,
        Vec::<String>::new(),
        "nothing half-written"
    );
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_token_expired_mid_run_earns_one_fresh_login() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    sim.inject(Fault::once(FaultKind::ExpireToken).after(2));
    let summary = run_day(&aws, &sim).await.unwrap();
    assert_complete(&aws, &summary).await;
    assert_eq!(sim.logins(), 2);
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_token_refused_twice_is_an_authentication_error() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    sim.inject(Fault::always(FaultKind::ExpireToken).after(2));
    let err = run_day(&aws, &sim).await.unwrap_err();
    assert_eq!(err.kind(), "Authentication");
    assert!(err.to_string().contains("Invalid security token"), "{err}");
    assert_eq!(aws.keys().await, Vec::<String>::new());
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_fortiflex_that_stays_down_fails_after_bounded_retries_and_writes_nothing() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    sim.inject(Fault::always(FaultKind::Http(503)).after(3));
    let err = run_day(&aws, &sim).await.unwrap_err();
    assert_eq!(err.kind(), "FortiFlex");
    let msg = err.to_string();
    assert!(
        msg.contains("entitlements/points failed 4 time(s)"),
        "{msg}"
    );
    assert!(msg.contains("HTTP 503"), "{msg}");
    assert!(msg.contains(&format!("daily report {DAY} failed")), "{msg}");
    assert_eq!(
        sim.calls(),
        3 + 4,
        "three lists, then four tries of the points call"
    );
    assert_eq!(aws.keys().await, Vec::<String>::new());
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_validation_error_is_never_retried() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    sim.inject(Fault::once(FaultKind::Http(400)).after(3));
    let err = run_day(&aws, &sim).await.unwrap_err();
    assert_eq!(err.kind(), "FortiFlex");
    assert_eq!(sim.calls(), 4, "no retry of a 400");
    assert_eq!(aws.keys().await, Vec::<String>::new());
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn malformed_json_is_an_error_not_an_empty_day() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    sim.inject(Fault::once(FaultKind::Malformed).after(3));
    let err = run_day(&aws, &sim).await.unwrap_err();
    assert_eq!(err.kind(), "FortiFlex");
    assert!(err.to_string().contains("entitlements/points"), "{err}");
    assert!(err.to_string().contains("malformed JSON"), "{err}");
    assert!(
        !err.to_string().contains("FGV"),
        "no excerpt of a list reply: {err}"
    );
    assert_eq!(aws.keys().await, Vec::<String>::new());
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn an_oversized_reply_is_refused() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    sim.inject(Fault::once(FaultKind::Oversize).after(3));
    let err = run_day(&aws, &sim).await.unwrap_err();
    assert_eq!(err.kind(), "FortiFlex");
    assert!(err.to_string().contains("larger than 32 MiB"), "{err}");
    assert_eq!(sim.calls(), 4, "not retried");
    assert_eq!(aws.keys().await, Vec::<String>::new());
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn rows_under_vms_or_as_a_bare_array_give_the_same_report() {
    for shape in [RowShape::Vms, RowShape::BareArray] {
        let (aws, sim) = setup(Dataset::walkthrough()).await;
        sim.set_shape(shape);
        let summary = run_day(&aws, &sim).await.unwrap();
        assert_complete(&aws, &summary).await;
    }
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_day_with_no_consumption_is_reported_empty() {
    // A program whose devices all start on the 8th: the 5th consumed nothing.
    let mut data = Dataset::walkthrough();
    for e in &mut data.programs[0].entitlements {
        e.start = chrono::NaiveDate::from_ymd_opt(2025, 11, 8).unwrap();
    }
    let (aws, sim) = setup(data).await;
    let summary = handler(&aws, &sim)
        .handle(json!({"date": "2025-11-05"}), now(), "empty")
        .await
        .unwrap();
    let day = &summary.programs[0].days[0];
    assert_eq!(
        (
            day.entitlements,
            fortiflex_reporter::domain::money::points_text(day.points)
        ),
        (0, "0.00".into())
    );
    assert_eq!(
        aws.keys().await.len(),
        3 + 2,
        "an empty day is still a report (and its rollup)"
    );
}

/// Everything tracing writes while `f` runs, at debug level.
async fn captured<T>(f: impl std::future::Future<Output = T>) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let out = f.await;
    let text = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
    (out, text)
}

#[tokio::test(flavor = "current_thread")]
#[ignore = "needs moto: make test"]
async fn secrets_reach_no_log_error_or_report() {
    let data = Dataset::walkthrough();
    let licence_tokens: Vec<&str> = data.programs[0]
        .entitlements
        .iter()
        .map(|e| e.token.as_str())
        .collect();
    // A wrong password: refused, and the password appears nowhere.
    let wrong = "Wr0ng-Passw0rd-zz9";
    let aws = Aws::new(true).await;
    aws.put_secret(&CREDENTIALS.replace(PASSWORD, wrong)).await;
    let sim = simulator(Dataset::walkthrough()).await;
    let (result, logs) = captured(run_day(&aws, &sim)).await;
    let err = result.unwrap_err();
    assert_eq!(err.kind(), "Authentication");
    assert_eq!(sim.logins(), 1, "a refused login is never retried");
    let message = format!("{err} {err:?}");
    assert!(
        !message.contains(wrong) && !logs.contains(wrong),
        "{message}\n{logs}"
    );
    assert!(aws.keys().await.is_empty());

    // A good run through an expired token and retries: tokens and the password stay out.
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    sim.inject(Fault::once(FaultKind::ExpireToken).after(2));
    sim.inject(Fault::once(FaultKind::Http(503)));
    let (result, logs) = captured(run_day(&aws, &sim)).await;
    let summary = result.unwrap();
    assert!(
        logs.contains("logging in again"),
        "the test saw the relogin:\n{logs}"
    );
    let mut everything = logs;
    everything.push_str(&serde_json::to_string(&summary).unwrap());
    for key in aws.keys().await {
        everything.push_str(&String::from_utf8_lossy(&aws.object(&key).await.0));
    }
    for secret in licence_tokens.iter().copied().chain([PASSWORD, "simtok-"]) {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
}

/// Data files go to the real bucket; manifests to `manifests` (a bucket that may not exist).
struct ManifestElsewhere {
    data: S3Sink,
    manifests: S3Sink,
}

impl Sink for ManifestElsewhere {
    async fn get(&self, key: &str) -> fortiflex_reporter::Result<Option<Vec<u8>>> {
        self.data.get(key).await
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
    ) -> fortiflex_reporter::Result<()> {
        if key.ends_with(".manifest.json") {
            self.manifests.put(key, body, content_type).await
        } else {
            self.data.put(key, body, content_type).await
        }
    }

    async fn get_tagged(&self, key: &str) -> fortiflex_reporter::Result<Option<Tagged>> {
        self.data.get_tagged(key).await
    }

    async fn put_if(
        &self,
        key: &str,
        body: Vec<u8>,
        content_type: &'static str,
        expected: Option<&str>,
    ) -> fortiflex_reporter::Result<bool> {
        self.data.put_if(key, body, content_type, expected).await
    }

    fn shared(&self) -> bool {
        true
    }

    async fn delete(&self, key: &str) -> fortiflex_reporter::Result<()> {
        self.data.delete(key).await
    }

    fn location(&self, key: &str) -> String {
        self.data.location(key)
    }
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_failed_manifest_write_keeps_the_previous_manifest_and_the_next_run_completes() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    run_day(&aws, &sim).await.unwrap();
    let manifest_key = &day_keys()[2];
    let first_manifest = aws.object(manifest_key).await.0;

    // FortiCloud corrects the day, and the manifest write then fails (its bucket is gone).
    let mut corrected = Dataset::walkthrough();
    corrected.programs[0].entitlements[0].daily = Decimal::from_str("108.00").unwrap();
    let sim = simulator(corrected).await;
    let s3 = |bucket: &str| S3Sink::from_sdk(&aws.config, bucket, "fortiflex", true).unwrap();
    let settings = settings(&aws, &sim);
    let broken = Handler::new(
        fortiflex_reporter::adapters::fortiflex::http_client(settings.settings.request_timeout)
            .unwrap(),
        settings.settings.clone(),
        SecretsManager::new(aws.secrets.clone(), &aws.secret_id),
        ManifestElsewhere {
            data: s3(&aws.bucket),
            manifests: s3("no-such-bucket-for-manifests"),
        },
    );
    let err = broken
        .handle(json!({"date": DAY}), now(), "broken")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "Storage");
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");
    assert_eq!(
        aws.object(manifest_key).await.0,
        first_manifest,
        "manifest intact"
    );

    // The next run completes the day: revision 2, listing the corrected files.
    let summary = run_day(&aws, &sim).await.unwrap();
    assert_eq!(
        (
            summary.programs[0].days[0].status,
            summary.programs[0].days[0].revision
        ),
        (Status::Written, Some(2))
    );
    let m: Value = serde_json::from_slice(&aws.object(manifest_key).await.0).unwrap();
    let csv = aws.object(&day_keys()[0]).await.0;
    assert_eq!(
        m["files"][0]["sha256"],
        json!(fortiflex_reporter::contract::sha256_hex(&csv))
    );
    assert_eq!(m["totals"]["points"], json!(400.22));
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_backfill_failing_on_day_k_keeps_the_days_before_and_names_day_k() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    // programs/list, entitlements/list, configs/list, then one points call per day: the 4th
    // day fails.
    sim.inject(Fault::once(FaultKind::Http(400)).after(3 + 3));
    let err = handler(&aws, &sim)
        .handle(
            json!({"start_date": "2025-11-01", "end_date": "2025-11-07"}),
            now(),
            "backfill",
        )
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.kind(), "FortiFlex");
    assert!(
        msg.starts_with("daily report 2025-11-04 failed; the 3 report(s) before it were kept (2025-11-01 .. 2025-11-03)"),
        "{msg}"
    );
    let manifests: Vec<String> = aws
        .keys()
        .await
        .into_iter()
        .filter(|k| k.ends_with(".manifest.json"))
        .collect();
    assert_eq!(manifests.len(), 3);
    assert!(manifests.iter().all(|k| !k.contains("2025-11-04")));
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn hostile_text_is_escaped_and_reads_back_in_python() {
    let text = "=cmd|' /C calc'!A0, \"quoted\", comma\nsecond line";
    let mut data = Dataset::walkthrough();
    data.programs[0].entitlements[0].description =
        "=cmd|' /C calc'!A0, \"quoted\", comma\nsecond line".into();
    let (aws, sim) = setup(data).await;
    run_day(&aws, &sim).await.unwrap();
    let csv = aws.object(&day_keys()[0]).await.0;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("day.csv");
    std::fs::write(&path, &csv).unwrap();
    let python = support::venv_tool("MOTO_PYTHON", "python");
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(
            "import csv, json, sys\n\
             rows = list(csv.DictReader(open(sys.argv[1], newline='', encoding='utf-8')))\n\
             print(json.dumps([r['description'] for r in rows]))",
        )
        .arg(&path)
        .output()
        .unwrap();
    support::assert_succeeded(&out);
    let read: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        read.len(),
        13,
        "one row per entitlement: the newline split nothing"
    );
    // Defused for spreadsheets (leading '), the line break flattened, everything else intact.
    assert_eq!(read[0], format!("'{}", text.replace('\n', " ")));
    // The JSON keeps the exact text.
    let doc: Value = serde_json::from_slice(&aws.object(&day_keys()[1]).await.0).unwrap();
    assert_eq!(
        doc["consumption"]["entitlements"][0]["description"],
        json!(text)
    );
}
