//! Settings shared by the CLI and the Lambda, read from the environment once at start-up.
//! This is the only module that knows variable names: lower modules take typed values and
//! their errors are prefixed here with the variable that held the bad value.

use std::time::Duration;

use chrono_tz::Tz;

use crate::adapters::credentials::{Credentials, Secret};
use crate::adapters::fortiflex::{
    DEFAULT_API_URL, DEFAULT_AUTH_URL, Endpoints, Limits, RetryPolicy,
};
use crate::adapters::storage::s3::{check_bucket, check_prefix};
use crate::domain::customers::CustomerFrom;
use crate::domain::ids::AccountId;
use crate::domain::window::{EndDateMode, PACIFIC, parse_timezone};
use crate::error::{Error, Result};
use crate::pipeline::{Context, Watch};
pub use logging::LambdaLogging;

mod billing;
mod logging;
pub use billing::BillingSettings;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub endpoints: Endpoints,
    /// The zone report days are dates in (`REPORT_TIMEZONE`, default America/Los_Angeles).
    pub timezone: Tz,
    /// How `endDate` is read (`FORTIFLEX_END_DATE`, default inclusive).
    pub end_date: EndDateMode,
    /// Upper bound on one FortiFlex request (`FORTIFLEX_TIMEOUT_SECS`, default 60).
    pub request_timeout: Duration,
    /// Client-side pacing (`FORTIFLEX_CALLS_PER_MINUTE`, `FORTIFLEX_CALLS_PER_HOUR`;
    /// default 90 and 950, under the reported 100 and 1,000). `FORTIFLEX_BUDGET_HOUR_SECS`
    /// (default 3600) shortens the hour window, and the minute with it, for trials and
    /// tests on the simulator only: FortiFlex's own limits are per real hour.
    pub limits: Limits,
    /// Retries of transient failures (`FORTIFLEX_RETRIES` tries in all, default 5;
    /// `FORTIFLEX_RETRY_BASE_MS`, default 1000; `FORTIFLEX_RETRY_BUDGET_SECS`, default 120).
    pub retry: RetryPolicy,
    /// `RESTATE_DAYS`, default 2: days before the last complete one that FortiCloud may
    /// still correct; a scheduled run checks them, a backfill re-pulls stored days only there.
    pub restate_days: u32,
    /// `FORTIFLEX_RETENTION_DAYS`, default 90: days FortiFlex keeps. Older days are never
    /// fetched: FortiFlex answers them empty.
    pub retention_days: u32,
    /// `FORTIFLEX_STAGING_EXPIRY_SECS`, default 14 days: the template's `expire-job-staging`
    /// rule. Shorter only for tests, as the budget's hour.
    pub staging_expiry: Duration,
    /// `RATE_NOTICE_DAYS`, default 14: customers are told of a rate change Fortinet announced
    /// this many days before it takes effect (alert `rate_change`).
    pub rate_notice_days: u32,
    /// `ORGANIZATIONS` (`company` or `unit`; unset: off): name customers from FortiCloud's
    /// organization even without `"organizations": true` in the customers file.
    pub organizations: Option<CustomerFrom>,
    /// Balance and alerts: `LOW_RUNWAY_DAYS` (default 30) and a postpaid program's annual
    /// `COMMITMENT_POINTS` (default none).
    pub watch: Watch,
    /// Where final months are pushed ([`BillingSettings`]).
    pub billing: BillingSettings,
    /// `FORTIFLEX_NOW` (RFC 3339): the instant the CLI takes as now, for trials on the
    /// simulator's calendar and tests (which day is complete, which month is final, which
    /// billing period is open); the clock when unset. The Lambda always runs on its event's
    /// time.
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

/// The most days a scheduled run re-pulls.
pub const MAX_RESTATE_DAYS: u32 = 31;

/// `e`, a lower module's complaint about a value, as a configuration error naming the
/// variable the value came from.
fn named(name: &str, e: Error) -> Error {
    match e {
        Error::Configuration(m) | Error::InvalidRequest(m) => {
            Error::Configuration(format!("{name}: {m}"))
        }
        other => other,
    }
}

/// A variable through `lookup`, trimmed; unset and empty are the same.
fn var(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A whole number in `range`, `default` when unset, else a `Configuration` error naming it.
fn number(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64> {
    match var(lookup, name) {
        None => Ok(default),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                Error::Configuration(format!(
                    "{name} '{v}' must be a whole number in {}..={}",
                    range.start(),
                    range.end()
                ))
            }),
    }
}

/// A true/false switch, false when unset (`S3_FORCE_PATH_STYLE`, read by the Lambda and the CLI).
pub fn flag(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Result<bool> {
    match var(lookup, name).map(|v| v.to_ascii_lowercase()).as_deref() {
        None | Some("false" | "0" | "no") => Ok(false),
        Some("true" | "1" | "yes") => Ok(true),
        Some(_) => Err(Error::Configuration(format!(
            "{name} '{}' must be true or false",
            var(lookup, name).unwrap_or_default()
        ))),
    }
}

/// A positive number of points (`COMMITMENT_POINTS`, `--commitment`).
pub fn parse_points(text: &str) -> Result<rust_decimal::Decimal> {
    crate::domain::money::parse_decimal(text)
        .filter(|d| *d > rust_decimal::Decimal::ZERO)
        .ok_or_else(|| Error::Configuration(format!("{text:?} is not a positive number of points")))
}

impl Settings {
    /// The run context these settings give at `now`: the pipeline never reads settings.
    pub fn context(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        run_id: impl Into<String>,
    ) -> Context {
        Context {
            now,
            run_id: run_id.into(),
            timezone: self.timezone,
            end_date: self.end_date,
            restate_days: self.restate_days,
            retention_days: self.retention_days,
            limits: self.limits,
            calls_this_hour: 0,
            time_left: None,
            staging_expiry: self.staging_expiry,
            rate_notice_days: self.rate_notice_days,
            organizations: self.organizations,
        }
    }
}

impl Settings {
    /// Reads settings through `lookup` (the process environment in binaries); unset or empty
    /// variables take their defaults, malformed ones are a `Configuration` error naming them.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| var(&lookup, name);
        let number = |name: &str, default, range| number(&lookup, name, default, range);
        let endpoints = Endpoints::named(
            (
                "FORTIFLEX_API_URL",
                &var("FORTIFLEX_API_URL").unwrap_or_else(|| DEFAULT_API_URL.into()),
            ),
            (
                "FORTIFLEX_AUTH_URL",
                &var("FORTIFLEX_AUTH_URL").unwrap_or_else(|| DEFAULT_AUTH_URL.into()),
            ),
        )?;
        let timezone = var("REPORT_TIMEZONE")
            .map_or(Ok(PACIFIC), |v| parse_timezone(&v))
            .map_err(|e| named("REPORT_TIMEZONE", e))?;
        let end_date = var("FORTIFLEX_END_DATE")
            .map_or(Ok(EndDateMode::Inclusive), |v| v.parse())
            .map_err(|e| named("FORTIFLEX_END_DATE", e))?;
        let request_timeout = Duration::from_secs(number("FORTIFLEX_TIMEOUT_SECS", 60, 1..=900)?);
        let limits = Limits {
            per_minute: number("FORTIFLEX_CALLS_PER_MINUTE", 90, 1..=100)? as u32,
            per_hour: number("FORTIFLEX_CALLS_PER_HOUR", 950, 1..=1000)? as u32,
            hour: Duration::from_secs(number("FORTIFLEX_BUDGET_HOUR_SECS", 3600, 1..=3600)?),
        };
        let retry = RetryPolicy {
            attempts: number("FORTIFLEX_RETRIES", 5, 1..=20)? as u32,
            base: Duration::from_millis(number("FORTIFLEX_RETRY_BASE_MS", 1000, 1..=60_000)?),
            budget: Duration::from_secs(number("FORTIFLEX_RETRY_BUDGET_SECS", 120, 0..=840)?),
            ..RetryPolicy::default()
        };
        let restate_days = number("RESTATE_DAYS", 2, 0..=u64::from(MAX_RESTATE_DAYS))? as u32;
        let retention_days = number("FORTIFLEX_RETENTION_DAYS", 90, 1..=3660)? as u32;
        let watch = Watch {
            low_runway_days: number("LOW_RUNWAY_DAYS", 30, 0..=3660)? as i64,
            commitment: var("COMMITMENT_POINTS")
                .map(|v| parse_points(&v).map_err(|e| named("COMMITMENT_POINTS", e)))
                .transpose()?,
        };
        Ok(Settings {
            endpoints,
            timezone,
            end_date,
            request_timeout,
            limits,
            retry,
            restate_days,
            retention_days,
            staging_expiry: Duration::from_secs(number(
                "FORTIFLEX_STAGING_EXPIRY_SECS",
                crate::pipeline::job::STAGING_EXPIRY.as_secs(),
                1..=31 * 86_400,
            )?),
            rate_notice_days: number(
                "RATE_NOTICE_DAYS",
                u64::from(crate::domain::rates::NOTICE_DAYS),
                1..=366,
            )? as u32,
            organizations: match var("ORGANIZATIONS").as_deref().map(str::trim) {
                None | Some("" | "off") => None,
                Some(v) => Some(CustomerFrom::parse(v).ok_or_else(|| {
                    Error::Configuration(format!(
                        "ORGANIZATIONS {v:?} is not \"company\", \"unit\" or \"off\""
                    ))
                })?),
            },
            watch,
            billing: BillingSettings::from_lookup(&lookup)?,
            now: var("FORTIFLEX_NOW")
                .map(|v| {
                    chrono::DateTime::parse_from_rfc3339(&v)
                        .map(|t| t.to_utc())
                        .map_err(|e| {
                            Error::Configuration(format!(
                                "FORTIFLEX_NOW {v:?} is not an RFC 3339 instant ({e})"
                            ))
                        })
                })
                .transpose()?,
        })
    }

    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}

/// Everything the Lambda reads from its environment, on top of [`Settings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaSettings {
    pub settings: Settings,
    /// `REPORT_BUCKET` (required).
    pub bucket: String,
    /// `REPORT_PREFIX`, default `fortiflex`.
    pub prefix: String,
    /// `FORTIFLEX_SECRET_ID`, an ARN or a name (required).
    pub secret_id: String,
    /// `S3_FORCE_PATH_STYLE`, for local S3 servers; never needed against AWS.
    pub force_path_style: bool,
    /// `BILLING_SECRET_ID`: the billing systems' credentials (required with `PUSH_ON_FINAL`).
    pub billing_secret_id: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_NAME` (Lambda sets it): the metrics' `Function` dimension.
    pub function_name: String,
}

impl LambdaSettings {
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| var(&lookup, name);
        let required = |name: &str| {
            var(name).ok_or_else(|| Error::Configuration(format!("{name} is not set")))
        };
        let force_path_style = flag(&lookup, "S3_FORCE_PATH_STYLE")?;
        let bucket = required("REPORT_BUCKET")?;
        let prefix = var("REPORT_PREFIX").unwrap_or_else(|| "fortiflex".into());
        check_bucket(&bucket).map_err(|e| named("REPORT_BUCKET", e))?;
        check_prefix(&prefix).map_err(|e| named("REPORT_PREFIX", e))?;
        let settings = Settings::from_lookup(&lookup)?;
        let billing_secret_id = var("BILLING_SECRET_ID");
        if settings.billing.push_on_final && billing_secret_id.is_none() {
            return Err(Error::Configuration(
                "PUSH_ON_FINAL=true needs BILLING_SECRET_ID (the billing systems' credentials)"
                    .into(),
            ));
        }
        Ok(LambdaSettings {
            settings,
            bucket,
            prefix,
            secret_id: required("FORTIFLEX_SECRET_ID")?,
            force_path_style,
            billing_secret_id,
            function_name: var("AWS_LAMBDA_FUNCTION_NAME")
                .unwrap_or_else(|| "fortiflex-reporter".into()),
        })
    }

    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}

/// Reads `FORTIFLEX_USERNAME`, `FORTIFLEX_PASSWORD` and the optional
/// `FORTIFLEX_PROGRAM_SERIAL` and `FORTIFLEX_ACCOUNT_ID` through `lookup` (the process
/// environment in binaries).
pub fn credentials(lookup: impl Fn(&str) -> Option<String>) -> Result<Credentials> {
    let get = |name: &str| -> Result<String> {
        lookup(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::Credentials(format!("environment variable {name} is not set")))
    };
    let account_id = match lookup("FORTIFLEX_ACCOUNT_ID").map(|v| v.trim().to_string()) {
        None => None,
        Some(v) if v.is_empty() => None,
        Some(v) => Some(
            v.parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .map(AccountId)
                .ok_or_else(|| {
                    Error::Credentials(
                        "environment variable FORTIFLEX_ACCOUNT_ID must be a positive integer"
                            .into(),
                    )
                })?,
        ),
    };
    Ok(Credentials {
        username: get("FORTIFLEX_USERNAME")?,
        password: Secret::from(get("FORTIFLEX_PASSWORD")?),
        program_serial: get("FORTIFLEX_PROGRAM_SERIAL").ok(),
        account_id,
    })
}

/// The CLI's credentials from the process environment.
pub fn credentials_from_env() -> Result<Credentials> {
    credentials(|k| std::env::var(k).ok())
}

/// `S3_FORCE_PATH_STYLE` from the process environment, for the CLI's `--out s3://...`.
pub fn force_path_style_from_env() -> Result<bool> {
    flag(&|k: &str| std::env::var(k).ok(), "S3_FORCE_PATH_STYLE")
}

#[cfg(test)]
mod tests;
