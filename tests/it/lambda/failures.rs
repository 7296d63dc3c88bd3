//! The handler's failures as AWS would see them: a missing bucket or secret, a secret
//! without its password, a wrong password, a bad payload. Each is a typed error naming the
//! problem, no secret in it, and nothing written.

use super::*;

/// Runs `event` and returns the error, checking nothing was written.
async fn failure(aws: &Aws, sim: &RunningSim, event: Value) -> fortiflex_reporter::Error {
    let err = handler(aws, sim, &[])
        .handle(event, at("2025-11-20T12:00:00Z"), "fail")
        .await
        .unwrap_err();
    assert!(
        aws.keys()
            .await
            .iter()
            .all(|k| !k.ends_with(".manifest.json")),
        "a failed run wrote a manifest: {:?}",
        aws.keys().await
    );
    err
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_missing_bucket_is_a_storage_error() {
    let aws = Aws::new(false).await;
    aws.put_secret(CREDENTIALS).await;
    let sim = simulator(Dataset::walkthrough()).await;
    let err = failure(&aws, &sim, json!({"date": DAY})).await;
    assert_eq!(err.kind(), "Storage");
    let msg = err.to_string();
    assert!(msg.contains("NoSuchBucket"), "{msg}");
    assert!(msg.contains(&format!("s3://{}/", aws.bucket)), "{msg}");
    // The first thing a run does on a bucket is take its run lock.
    assert!(msg.contains("taking the run lock"), "{msg}");
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_missing_secret_is_a_credentials_error_naming_it() {
    let aws = Aws::new(true).await;
    let sim = simulator(Dataset::walkthrough()).await;
    let err = failure(&aws, &sim, json!({"date": DAY})).await;
    assert_eq!(err.kind(), "Credentials");
    assert!(err.to_string().contains(&aws.secret_id), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_secret_without_the_password_names_the_field_and_no_value() {
    let aws = Aws::new(true).await;
    aws.put_secret(
        r#"{"api_username": "demo-api-user", "program_serial_number": "ELAVMS0000123456"}"#,
    )
    .await;
    let sim = simulator(Dataset::walkthrough()).await;
    let err = failure(&aws, &sim, json!({"date": DAY})).await;
    assert_eq!(err.kind(), "Credentials");
    let msg = err.to_string();
    assert!(
        msg.contains("'api_password'") && msg.contains(&aws.secret_id),
        "{msg}"
    );
    assert!(!msg.contains("demo-api-user"), "{msg}");

    let aws = Aws::new(true).await;
    aws.put_secret("api_password=demo-api-password").await;
    let err = failure(&aws, &sim, json!({"date": DAY})).await;
    assert_eq!(err.kind(), "Credentials");
    assert!(err.to_string().contains("not valid JSON"), "{err}");
    assert!(!err.to_string().contains("demo-api-password"), "{err}");
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn the_templates_placeholder_secret_is_a_credentials_error() {
    let aws = Aws::new(true).await;
    aws.put_secret(
        r#"{"fortiflex": {"api_username": "REPLACE_WITH_API_USERNAME", "api_password": "REPLACE_WITH_API_PASSWORD",
        "program_serial_number": "REPLACE_WITH_PROGRAM_SERIAL", "account_id": null}}"#,
    )
    .await;
    let sim = simulator(Dataset::walkthrough()).await;
    let err = failure(&aws, &sim, json!({"date": DAY})).await;
    assert_eq!(err.kind(), "Credentials");
    assert!(err.to_string().contains("program_serial_number"), "{err}");
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_wrong_password_is_an_authentication_error_without_the_password() {
    let aws = Aws::new(true).await;
    let wrong = "Wr0ng-Passw0rd-zz9";
    aws.put_secret(&CREDENTIALS.replace("demo-api-password", wrong))
        .await;
    let sim = simulator(Dataset::walkthrough()).await;
    let err = failure(&aws, &sim, json!({"date": DAY})).await;
    assert_eq!(err.kind(), "Authentication");
    let diagnostic = lambda_runtime::Diagnostic::from(err);
    assert_eq!(diagnostic.error_type, "Authentication");
    assert!(!format!("{diagnostic:?}").contains(wrong));
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_bad_payload_is_refused_before_any_call() {
    // No secret: reading credentials would fail with `Credentials`, so an `InvalidRequest`
    // proves the payload was judged before anything was fetched.
    let aws = Aws::new(true).await;
    let sim = simulator(Dataset::walkthrough()).await;
    for event in [
        json!({"date": "2025-11-31"}),
        json!({"start_date": "2025-11-08", "end_date": "2025-11-01"}),
        json!({"date": "2025-11-20"}),
        json!({"days": 400}),
        json!({"day": "2025-11-08"}),
    ] {
        let err = failure(&aws, &sim, event.clone()).await;
        assert_eq!(err.kind(), "InvalidRequest", "{event}");
    }
    assert!(aws.keys().await.is_empty());
}
