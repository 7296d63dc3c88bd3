//! How the Lambda logs, as Lambda's own log settings say: `AWS_LAMBDA_LOG_FORMAT` (`JSON`
//! for the stack's structured logs, else text) and `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`,
//! as a plain level; `INFO` by default), the same reading as lambda_runtime's default
//! subscriber. A plain level and not an `EnvFilter`: its directive syntax pulls a regex
//! engine (about 300 KB) into the artefact for what Lambda only ever sets as a level.

use std::str::FromStr;

use tracing_subscriber::filter::LevelFilter;

/// The Lambda's log format and level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LambdaLogging {
    pub json: bool,
    pub level: LevelFilter,
}

impl LambdaLogging {
    pub fn from_env() -> Self {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub(crate) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let level = lookup("AWS_LAMBDA_LOG_LEVEL")
            .or_else(|| lookup("RUST_LOG"))
            .and_then(|l| LevelFilter::from_str(l.trim()).ok())
            .unwrap_or(LevelFilter::INFO);
        let json = lookup("AWS_LAMBDA_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
        LambdaLogging { json, level }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambdas_log_settings_are_read_as_lambda_runtime_reads_them() {
        let at = |vars: &'static [(&'static str, &'static str)]| {
            LambdaLogging::from_lookup(|k| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            })
        };
        assert_eq!(
            at(&[]),
            LambdaLogging {
                json: false,
                level: LevelFilter::INFO
            }
        );
        let stack = at(&[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON"),
            ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
        ]);
        assert_eq!(
            stack,
            LambdaLogging {
                json: true,
                level: LevelFilter::WARN
            }
        );
        assert_eq!(at(&[("RUST_LOG", "debug")]).level, LevelFilter::DEBUG);
        // Lambda's level wins over RUST_LOG; a directive that is no level falls back to INFO.
        assert_eq!(
            at(&[("AWS_LAMBDA_LOG_LEVEL", "ERROR"), ("RUST_LOG", "debug")]).level,
            LevelFilter::ERROR
        );
        assert_eq!(
            at(&[("RUST_LOG", "fortiflex=debug")]).level,
            LevelFilter::INFO
        );
    }
}
