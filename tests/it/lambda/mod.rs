//! The Lambda: the handler in-process as wired in AWS, on an MSSP program, and the binary
//! under the real runtime API.

mod accounts;
mod failures;
mod handler;
mod push;
mod runtime;

use crate::support::{
    Aws, CREDENTIALS, daily_keys, golden, lambda_env, moto, rollup_keys, simulator,
};
use chrono::{DateTime, Utc};
use fortiflex_reporter::adapters::secrets::SecretsManager;
use fortiflex_reporter::adapters::storage::S3Sink;
use fortiflex_reporter::config::LambdaSettings;
use fortiflex_reporter::lambda::handler::Handler;
use fortiflex_reporter::pipeline::outcome::{RunOutcome, Status};
use fortiflex_reporter::sim::{Dataset, RunningSim};
use rust_decimal::Decimal;
use serde_json::{Value, json};

const PREFIX: &str = "fortiflex";
const DAY: &str = "2025-11-08";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn handler(aws: &Aws, sim: &RunningSim, extra: &[(&str, &str)]) -> Handler<SecretsManager, S3Sink> {
    let mut env = lambda_env(moto(), aws, sim);
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let settings =
        LambdaSettings::from_lookup(|k| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    Handler::for_aws(settings, &aws.config).unwrap()
}

async fn setup(data: Dataset) -> (Aws, RunningSim) {
    let aws = Aws::new(true).await;
    aws.put_secret(CREDENTIALS).await;
    (aws, simulator(data).await)
}

fn statuses(summary: &RunOutcome) -> Vec<(String, Status)> {
    summary.programs[0]
        .days
        .iter()
        .map(|d| {
            let v = serde_json::to_value(d).unwrap();
            (v["date"].as_str().unwrap().to_string(), d.status)
        })
        .collect()
}

const SCHEDULED: &str = r#"{
    "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
    "source": "aws.events", "account": "123456789012", "time": "2025-11-09T14:00:00Z",
    "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/daily"], "detail": {}
}"#;
