//! One Lambda invocation: payload → request → credentials → [`crate::pipeline::run`] → outcome.
//! Everything the payload can get wrong is refused before the first call.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::adapters::fortiflex::{HttpFortiFlex, Pacer, http_client};
use crate::adapters::secrets::{CredentialSource, SecretsManager};
use crate::adapters::storage::{S3Sink, Sink};
use crate::config::{LambdaSettings, Settings};
use crate::error::{Error, Result};
use crate::lambda::payload::{Payload, to_request};
use crate::pipeline::outcome::RunOutcome;
use crate::pipeline::progress::Logged;
use crate::pipeline::run;

/// The invocation's fixed parts, built once per container.
pub struct Handler<C, S> {
    http: reqwest::Client,
    /// Shared by every invocation of a warm container, so back-to-back runs are paced together.
    pacer: Arc<Pacer>,
    settings: Settings,
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
        Ok(Handler::new(http, settings.settings, secrets, sink))
    }
}

impl<C: CredentialSource, S: Sink> Handler<C, S> {
    pub fn new(http: reqwest::Client, settings: Settings, credentials: C, sink: S) -> Self {
        Handler {
            http,
            pacer: Arc::new(Pacer::new(settings.limits)),
            settings,
            credentials,
            sink,
        }
    }

    /// Runs the reports `event` asks for, as of `now`, with no deadline.
    pub async fn handle(
        &self,
        event: Value,
        now: DateTime<Utc>,
        run_id: &str,
    ) -> Result<RunOutcome> {
        self.handle_within(event, now, run_id, None).await
    }

    /// [`Handler::handle`] within `time_left` (the invocation's remaining time): a run that
    /// cannot fit is refused before its first per-account call. `run_id` goes into every
    /// manifest.
    pub async fn handle_within(
        &self,
        event: Value,
        now: DateTime<Utc>,
        run_id: &str,
        time_left: Option<Duration>,
    ) -> Result<RunOutcome> {
        let s = &self.settings;
        let mut request = to_request(
            &Payload::from_value(event)?,
            now,
            s.timezone,
            s.restate_days,
        )?;
        // The scheduled run keeps watch: balance snapshot and alerts after its reports.
        if request.statements {
            request.watch = Some(s.watch);
        }
        let credentials = self.credentials.credentials().await?;
        let api = HttpFortiFlex::new(
            self.http.clone(),
            s.endpoints.clone(),
            &credentials,
            Arc::clone(&self.pacer),
            s.retry,
        );
        let mut ctx = s.context(now, run_id);
        ctx.calls_this_hour = self.pacer.calls_this_hour().await;
        ctx.time_left = time_left;
        run(&api, &self.sink, &credentials, &request, &ctx, &Logged).await
    }
}
