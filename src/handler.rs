//! One Lambda invocation: payload → plan → credentials → reports → summary. Everything is
//! validated before the first call; a backfill that fails on day k keeps days 1..k-1 and
//! names day k.

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use aws_config::SdkConfig;

use crate::config::{LambdaSettings, Settings};
use crate::error::{Error, Result};
use crate::fortiflex::{HttpFortiFlex, Pacer, http_client};
use crate::job::Reporter;
use crate::payload::{Payload, plan};
use crate::publish::Outcome;
use crate::report::{ReportKind, points_text};
use crate::secrets::{CredentialSource, SecretsManager};
use crate::sink::{S3Sink, Sink};
use crate::window::DayRange;

/// What an invocation answers: one entry per daily report, and the range report if asked.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub run_id: String,
    pub program_serial_number: String,
    pub account_id: u64,
    pub dry_run: bool,
    pub days: Vec<ReportOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<ReportOutcome>,
}

#[derive(Debug, Serialize)]
pub struct ReportOutcome {
    #[serde(flatten)]
    pub period: Period,
    /// Entitlements that consumed (rows).
    pub entitlements: usize,
    /// Exact decimal, as in the report's `totals.points`.
    pub points: Box<RawValue>,
    /// The revision now current; absent in a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    pub status: Status,
    /// Where the report's CSV, JSON and manifest live (written now or before).
    pub keys: Vec<String>,
}

#[derive(Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Period {
    Day {
        date: String,
    },
    Range {
        start_date: String,
        end_date: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        serial_number: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Data files and then the manifest were written.
    Written,
    /// Byte-identical to the stored report: nothing written.
    Unchanged,
    /// Fetched and built, nothing read from or written to storage.
    DryRun,
}

/// The invocation's fixed parts, built once per container.
pub struct Handler<C, S> {
    http: reqwest::Client,
    /// Shared by every invocation of a warm container, so back-to-back runs are paced together.
    pacer: Arc<Pacer>,
    settings: Settings,
    restate_days: u32,
    credentials: C,
    sink: S,
}

impl Handler<SecretsManager, S3Sink> {
    /// The deployed wiring: credentials from Secrets Manager, reports to S3, both through
    /// `aws` (region, credentials and `AWS_ENDPOINT_URL` from the standard chain).
    pub fn for_aws(settings: LambdaSettings, aws: &SdkConfig) -> Result<Self> {
        if aws.region().is_none() {
            return Err(Error::Configuration(
                "no AWS region: set AWS_REGION (Lambda sets it)".into(),
            ));
        }
        let sink = S3Sink::from_sdk(
            aws,
            &settings.bucket,
            &settings.prefix,
            settings.force_path_style,
        )?;
        let secrets = SecretsManager::new(
            aws_sdk_secretsmanager::Client::new(aws),
            &settings.secret_id,
        );
        let http = http_client(settings.settings.request_timeout)?;
        Ok(Handler::new(
            http,
            settings.settings,
            settings.restate_days,
            secrets,
            sink,
        ))
    }
}

impl<C: CredentialSource, S: Sink> Handler<C, S> {
    pub fn new(
        http: reqwest::Client,
        settings: Settings,
        restate_days: u32,
        credentials: C,
        sink: S,
    ) -> Self {
        Handler {
            http,
            pacer: Arc::new(Pacer::new(settings.limits)),
            settings,
            restate_days,
            credentials,
            sink,
        }
    }

    /// Runs the reports `event` asks for, as of `now`; `run_id` goes into every manifest.
    pub async fn handle(&self, event: Value, now: DateTime<Utc>, run_id: &str) -> Result<Summary> {
        let s = &self.settings;
        let plan = plan(
            &Payload::from_value(event)?,
            now,
            s.timezone,
            self.restate_days,
        )?;
        let credentials = self.credentials.credentials().await?;
        let api = HttpFortiFlex::new(
            self.http.clone(),
            s.endpoints.clone(),
            &credentials,
            Arc::clone(&self.pacer),
            s.retry,
        );
        let reporter =
            Reporter::connect(&api, &self.sink, &credentials, s.timezone, s.end_date).await?;
        let mut summary = Summary {
            run_id: run_id.to_string(),
            program_serial_number: reporter.program_serial().to_string(),
            account_id: reporter.account_id(),
            dry_run: plan.dry_run,
            days: Vec::with_capacity(plan.daily.len()),
            range: None,
        };
        for (i, day) in plan.daily.iter().enumerate() {
            let outcome = self
                .one(
                    &reporter,
                    ReportKind::Daily,
                    DayRange::day(*day),
                    None,
                    &plan,
                    run_id,
                )
                .await
                .map_err(|e| {
                    let kept = match (summary.days.first(), summary.days.last()) {
                        (Some(first), Some(last)) => format!(
                            "the {i} report(s) before it were kept ({} .. {})",
                            first.period.label(),
                            last.period.label()
                        ),
                        _ => "nothing was written".to_string(),
                    };
                    e.during(format!("daily report {day} failed; {kept}"))
                })?;
            summary.days.push(outcome);
        }
        if let Some(range) = plan.range {
            let serial = plan.serial_filter.as_deref();
            let outcome = self
                .one(&reporter, ReportKind::Range, range, serial, &plan, run_id)
                .await
                .map_err(|e| {
                    e.during(format!("range report {} to {}", range.start(), range.end()))
                })?;
            summary.range = Some(outcome);
        }
        Ok(summary)
    }

    async fn one<A: crate::fortiflex::FortiFlexApi>(
        &self,
        reporter: &Reporter<'_, A, S>,
        kind: ReportKind,
        range: DayRange,
        serial: Option<&str>,
        plan: &crate::payload::Plan,
        run_id: &str,
    ) -> Result<ReportOutcome> {
        let started = Instant::now();
        let report = reporter.report(kind, range, serial).await?;
        let keys = crate::render::keys(&report.spec);
        let (status, revision) = if plan.dry_run {
            (Status::DryRun, None)
        } else {
            let p = reporter.publish(&report, run_id, Utc::now()).await?;
            let status = match p.outcome {
                Outcome::Written => Status::Written,
                Outcome::Unchanged => Status::Unchanged,
            };
            (status, Some(p.revision))
        };
        let period = match kind {
            ReportKind::Daily => Period::Day {
                date: range.start().to_string(),
            },
            ReportKind::Range => Period::Range {
                start_date: range.start().to_string(),
                end_date: range.end().to_string(),
                serial_number: report.spec.serial_filter.clone(),
            },
        };
        let points = points_text(report.total);
        tracing::info!(
            report = kind.as_str(),
            period = %period.label(),
            program = %report.spec.program_serial,
            rows = report.rows.len(),
            points = %points,
            status = status.as_str(),
            revision,
            duration_ms = started.elapsed().as_millis() as u64,
            "report done"
        );
        Ok(ReportOutcome {
            period,
            entitlements: report.rows.len(),
            points: RawValue::from_string(points)
                .map_err(|e| Error::Storage(format!("points total is not a JSON number: {e}")))?,
            revision,
            status,
            keys: [keys.csv, keys.json, keys.manifest]
                .iter()
                .map(|k| self.sink.location(k))
                .collect(),
        })
    }
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Written => "written",
            Status::Unchanged => "unchanged",
            Status::DryRun => "dry_run",
        }
    }
}

impl Period {
    fn label(&self) -> String {
        match self {
            Period::Day { date } => date.clone(),
            Period::Range {
                start_date,
                end_date,
                ..
            } => format!("{start_date}..{end_date}"),
        }
    }
}
