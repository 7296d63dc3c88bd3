//! One error type for the whole reporter. Each variant is a failure *class* with a stable
//! name ([`Error::kind`]) that the Lambda reports as its `errorType` and the CLI maps to an
//! exit code, so operators can alarm on the class without parsing messages.

use std::fmt;

/// Every failure the reporter can end with. Messages name the problem and never carry a
/// secret (passwords and tokens are held in [`crate::adapters::credentials::Secret`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller asked for something impossible: a bad date, a range backwards, a day that is
    /// not complete yet. Nothing was fetched or written.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A setting (environment variable or flag) is missing or malformed.
    #[error("configuration: {0}")]
    Configuration(String),
    /// The credential document is missing, unreadable or lacks a field.
    #[error("credentials: {0}")]
    Credentials(String),
    /// FortiCloud refused the API user or its token.
    #[error("authentication failed: {0}")]
    Authentication(String),
    /// FortiFlex answered with an error, an unexpected shape, or could not be reached.
    #[error(transparent)]
    FortiFlex(#[from] ApiError),
    /// The run would not fit FortiFlex's call limits within the time it has (a Lambda
    /// invocation): refused before any per-account call.
    #[error("call budget: {0}")]
    Budget(String),
    /// FortiFlex refused a call for its minute or hour limit (`-10`, `-11`): another client of
    /// the same API user spent the window. The window counts as spent from then; a job's
    /// chunk stops and hands the wait to the state machine. Its kind is `Budget`.
    #[error("call budget: {0}")]
    WindowSpent(String),
    /// Another run holds the output root's run lock (a job step, a direct invocation, a CLI
    /// run on the same bucket): nothing was started. The message names the holder and when its
    /// lease ends at the latest.
    #[error("busy: {0}")]
    Busy(String),
    /// The customers file (who is billed for what, at which price) is malformed: the message
    /// names the field. Nothing was written.
    #[error("customers file: {0}")]
    Customers(String),
    /// The output folder or bucket could not be read or written.
    #[error("storage: {0}")]
    Storage(String),
    /// Step Functions could not be told a job step's result (`SendTaskSuccess` or
    /// `SendTaskFailure`), or the step's message is not one the state machine sends.
    #[error("step functions: {0}")]
    StepFunctions(String),
    /// A billing system refused a push, or could not be reached: the message names each
    /// customer and target, and the target's own words. The other customers were pushed.
    #[error("billing: {0}")]
    Billing(String),
    /// Another error, with what was being done when it happened (which day of a backfill,
    /// say). Keeps the inner error's kind.
    #[error("{context}: {source}")]
    During {
        context: String,
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// The stable class name (`InvalidRequest`, `Configuration`, ...): the Lambda `errorType`.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidRequest(_) => "InvalidRequest",
            Error::Configuration(_) => "Configuration",
            Error::Credentials(_) => "Credentials",
            Error::Authentication(_) => "Authentication",
            Error::FortiFlex(_) => "FortiFlex",
            Error::Budget(_) | Error::WindowSpent(_) => "Budget",
            Error::Busy(_) => "Busy",
            Error::Customers(_) => "Customers",
            Error::Storage(_) => "Storage",
            Error::StepFunctions(_) => "StepFunctions",
            Error::Billing(_) => "Billing",
            Error::During { source, .. } => source.kind(),
        }
    }

    /// This error, prefixed with what was being done.
    pub fn during(self, context: impl Into<String>) -> Self {
        Error::During {
            context: context.into(),
            source: Box::new(self),
        }
    }

    /// The error without any [`Error::During`] context around it.
    pub fn root(&self) -> &Error {
        match self {
            Error::During { source, .. } => source.root(),
            other => other,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A failed FortiFlex call: which call, and what FortiFlex said (HTTP status, its integer
/// `status` code, its `message`), or why no answer came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub call: String,
    pub http_status: Option<u16>,
    pub code: Option<i64>,
    pub message: String,
}

impl ApiError {
    pub fn new(
        call: &str,
        http_status: Option<u16>,
        code: Option<i64>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            call: call.to_string(),
            http_status,
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FortiFlex {}", self.call)?;
        match (self.http_status, self.code) {
            (Some(h), Some(c)) => write!(f, " answered HTTP {h} (status {c})")?,
            (Some(h), None) => write!(f, " answered HTTP {h}")?,
            (None, Some(c)) => write!(f, " answered status {c}")?,
            (None, None) => write!(f, " failed")?,
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_names_call_status_and_message() {
        let e = Error::from(ApiError::new(
            "entitlements/points",
            Some(400),
            Some(1),
            "accountId is required.",
        ));
        assert_eq!(e.kind(), "FortiFlex");
        assert_eq!(
            e.to_string(),
            "FortiFlex entitlements/points answered HTTP 400 (status 1): accountId is required."
        );
        let e = e.during("daily report 2025-11-03");
        assert_eq!(e.kind(), "FortiFlex");
        let d = lambda_runtime::Diagnostic::from(e);
        assert_eq!(d.error_type, "FortiFlex");
        assert!(
            d.error_message
                .starts_with("daily report 2025-11-03: FortiFlex entitlements/points"),
            "{}",
            d.error_message
        );
    }
}
