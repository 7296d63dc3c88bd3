//! A failed run as the Lambda runtime reports it: the error's stable kind as `errorType`.

use crate::error::Error;

/// What the Lambda runtime reports: `errorType` is the stable kind, `errorMessage` the
/// message (which never holds a secret).
impl From<&Error> for lambda_runtime::Diagnostic {
    fn from(e: &Error) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.kind().to_string(),
            error_message: e.to_string(),
        }
    }
}

impl From<Error> for lambda_runtime::Diagnostic {
    fn from(e: Error) -> Self {
        (&e).into()
    }
}
