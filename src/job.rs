//! One program's reports, end to end: resolve the account, load the catalog once, then for
//! each requested range fetch the points, build the report and publish it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::fortiflex::{EntitlementQuery, FortiFlexApi, PointsQuery};
use crate::publish::{Published, publish};
use crate::report::{Catalog, Report, ReportKind, ReportSpec, build};
use crate::sink::Sink;
use crate::window::{DayRange, EndDateMode};

/// A serial number as it may appear in a request and an object key: 6 to 32 letters and
/// digits. Lower case is accepted and upper-cased, as FortiCloud shows serials.
pub fn serial(value: &str, what: &str) -> Result<String> {
    let s = value.trim().to_ascii_uppercase();
    if (6..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(s)
    } else {
        Err(Error::InvalidRequest(format!(
            "{what} must be 6 to 32 letters and digits, not {value:?}"
        )))
    }
}

/// The account of `program`, from the credentials or else from `programs/list`.
pub async fn resolve_account(api: &impl FortiFlexApi, credentials: &Credentials) -> Result<u64> {
    if let Some(id) = credentials.account_id {
        return Ok(id);
    }
    let programs = api.programs().await?;
    let found = programs.iter().find(|p| {
        p.serial_number
            .eq_ignore_ascii_case(&credentials.program_serial)
    });
    match found.and_then(|p| p.account_id) {
        Some(id) => Ok(id),
        None => {
            let seen: Vec<&str> = programs.iter().map(|p| p.serial_number.as_str()).collect();
            Err(Error::Credentials(format!(
                "program {} is not among the programs this API user sees ({}), or has no account id; set account_id",
                credentials.program_serial,
                if seen.is_empty() {
                    "none".to_string()
                } else {
                    seen.join(", ")
                }
            )))
        }
    }
}

/// Reports for one program and account, against one FortiFlex and one sink.
pub struct Reporter<'a, A, S> {
    api: &'a A,
    sink: &'a S,
    program_serial: String,
    account_id: u64,
    timezone: Tz,
    end_date: EndDateMode,
    catalog: Catalog,
}

impl<'a, A: FortiFlexApi, S: Sink> Reporter<'a, A, S> {
    /// Resolves the account and loads the entitlement and config lists (once per run).
    pub async fn connect(
        api: &'a A,
        sink: &'a S,
        credentials: &Credentials,
        timezone: Tz,
        end_date: EndDateMode,
    ) -> Result<Self> {
        // A bad program serial comes from the credentials (a placeholder left in the secret).
        let program_serial =
            serial(&credentials.program_serial, "program_serial_number").map_err(|e| match e {
                Error::InvalidRequest(m) => Error::Credentials(m),
                other => other,
            })?;
        let account_id = resolve_account(api, credentials).await?;
        let entitlements = api
            .entitlements(&EntitlementQuery {
                account_id: Some(account_id),
                program_serial_number: Some(program_serial.clone()),
                ..Default::default()
            })
            .await?;
        let configs = api.configs(&program_serial, Some(account_id)).await?;
        Ok(Reporter {
            api,
            sink,
            program_serial,
            account_id,
            timezone,
            end_date,
            catalog: Catalog::new(entitlements, configs),
        })
    }

    pub fn program_serial(&self) -> &str {
        &self.program_serial
    }

    pub fn account_id(&self) -> u64 {
        self.account_id
    }

    pub fn sink(&self) -> &S {
        self.sink
    }

    /// Fetches and builds one report. A daily report must cover exactly one day.
    pub async fn report(
        &self,
        kind: ReportKind,
        range: DayRange,
        serial_filter: Option<&str>,
    ) -> Result<Report> {
        self.report_scoped(kind, range, serial_filter, None).await
    }

    /// [`Reporter::report`], optionally scoped to one configuration (FortiFlex's `configId`).
    /// Daily partitions always hold whole-program reports, so a scope needs a range report.
    pub async fn report_scoped(
        &self,
        kind: ReportKind,
        range: DayRange,
        serial_filter: Option<&str>,
        config_filter: Option<u64>,
    ) -> Result<Report> {
        if kind == ReportKind::Daily && !range.is_single_day() {
            return Err(Error::InvalidRequest(
                "a daily report covers exactly one day".into(),
            ));
        }
        if kind == ReportKind::Daily && (serial_filter.is_some() || config_filter.is_some()) {
            return Err(Error::InvalidRequest(
                "daily reports cover the whole program; filter a range report instead".into(),
            ));
        }
        let serial_filter = serial_filter
            .map(|s| serial(s, "serial number"))
            .transpose()?;
        let (start_date, end_date) = self.end_date.request_dates(range);
        let request = PointsQuery {
            start_date,
            end_date,
            account_id: Some(self.account_id),
            program_serial_number: Some(self.program_serial.clone()),
            config_id: config_filter,
            serial_number: serial_filter.clone(),
        };
        let started = std::time::Instant::now();
        let points = self.api.points(&request).await?;
        let spec = ReportSpec {
            kind,
            program_serial: self.program_serial.clone(),
            account_id: self.account_id,
            range,
            timezone: self.timezone,
            serial_filter,
            config_filter,
        };
        let report = build(spec, request, points, &self.catalog)?;
        tracing::debug!(
            report = kind.as_str(),
            start = %range.start(),
            end = %range.end(),
            program = %self.program_serial,
            rows = report.rows.len(),
            points = %report.total,
            fetch_ms = started.elapsed().as_millis() as u64,
            "fetched report"
        );
        Ok(report)
    }

    /// Writes `report` unless the stored one is identical.
    pub async fn publish(
        &self,
        report: &Report,
        run_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Published> {
        let published = publish(self.sink, report, run_id, now).await?;
        tracing::debug!(
            manifest = %published.keys.manifest,
            revision = published.revision,
            unchanged = published.written().is_empty(),
            "published report"
        );
        Ok(published)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_checked_before_reaching_a_key_or_request() {
        assert_eq!(
            serial(" fgt71ftk22000471 ", "serial").unwrap(),
            "FGT71FTK22000471"
        );
        for bad in [
            "",
            "FGT",
            "../../etc",
            "FGT71F TK2",
            "A".repeat(33).as_str(),
            "FGT71FTK2x'--",
        ] {
            assert_eq!(
                serial(bad, "serial").unwrap_err().kind(),
                "InvalidRequest",
                "{bad:?}"
            );
        }
    }
}
