//! Settings shared by the CLI and the Lambda, read from the environment once at start-up.

use std::time::Duration;

use chrono_tz::Tz;

use crate::error::{Error, Result};
use crate::fortiflex::{DEFAULT_API_URL, DEFAULT_AUTH_URL, Endpoints};
use crate::window::{EndDateMode, PACIFIC, parse_timezone};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub endpoints: Endpoints,
    /// The zone report days are dates in (`REPORT_TIMEZONE`, default America/Los_Angeles).
    pub timezone: Tz,
    /// How `endDate` is read (`FORTIFLEX_END_DATE`, default inclusive).
    pub end_date: EndDateMode,
    /// Upper bound on one FortiFlex request (`FORTIFLEX_TIMEOUT_SECS`, default 60).
    pub request_timeout: Duration,
}

impl Settings {
    /// Reads settings through `lookup` (the process environment in binaries); unset or empty
    /// variables take their defaults, malformed ones are a `Configuration` error naming them.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let endpoints = Endpoints::new(
            &var("FORTIFLEX_API_URL").unwrap_or_else(|| DEFAULT_API_URL.into()),
            &var("FORTIFLEX_AUTH_URL").unwrap_or_else(|| DEFAULT_AUTH_URL.into()),
        )?;
        let timezone = var("REPORT_TIMEZONE").map_or(Ok(PACIFIC), |v| parse_timezone(&v))?;
        let end_date =
            var("FORTIFLEX_END_DATE").map_or(Ok(EndDateMode::Inclusive), |v| v.parse())?;
        let request_timeout = match var("FORTIFLEX_TIMEOUT_SECS") {
            None => Duration::from_secs(60),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|s| (1..=900).contains(s))
                .map(Duration::from_secs)
                .ok_or_else(|| {
                    Error::Configuration(format!(
                        "FORTIFLEX_TIMEOUT_SECS '{v}' must be 1..=900 seconds"
                    ))
                })?,
        };
        Ok(Settings {
            endpoints,
            timezone,
            end_date,
            request_timeout,
        })
    }

    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_real_service_in_pacific_time() {
        let s = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(s.endpoints.api_base().as_str(), DEFAULT_API_URL);
        assert_eq!((s.timezone, s.end_date), (PACIFIC, EndDateMode::Inclusive));
    }

    #[test]
    fn bad_settings_are_named() {
        let one = |name: &'static str, value: &'static str| {
            Settings::from_lookup(move |k| (k == name).then(|| value.to_string()))
                .unwrap_err()
                .to_string()
        };
        assert!(one("REPORT_TIMEZONE", "PST8").contains("REPORT_TIMEZONE"));
        assert!(one("FORTIFLEX_END_DATE", "maybe").contains("FORTIFLEX_END_DATE"));
        assert!(one("FORTIFLEX_API_URL", "ftp://x").contains("FORTIFLEX_API_URL"));
        assert!(one("FORTIFLEX_TIMEOUT_SECS", "0").contains("FORTIFLEX_TIMEOUT_SECS"));
    }
}
