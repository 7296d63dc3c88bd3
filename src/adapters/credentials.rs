//! The FortiFlex API user's credentials, read from the partner toolkit's `credentials.json`
//! shape (flat, or nested under `"fortiflex"`) or from environment variables. Values are
//! never echoed: errors name the field and where it was looked for, nothing more.

use serde_json::Value;

use crate::domain::ids::AccountId;
use crate::error::{Error, Result};

/// A string that must not reach a log, an error or a report: `secrecy` redacts its `Debug`,
/// has no `Display`, and zeroes the memory when dropped.
pub use secrecy::{ExposeSecret, SecretString as Secret};

/// What the reporter needs to call FortiFlex for one program.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
    /// The program to report; `None`: every program the API user sees.
    pub program_serial: Option<String>,
    /// The program's own account; looked up with `programs/list` when absent.
    pub account_id: Option<AccountId>,
}

const USERNAME: &str = "api_username";
const PASSWORD: &str = "api_password";
const PROGRAM: &str = "program_serial_number";
const ACCOUNT: &str = "account_id";

/// A credential document as JSON, untyped: serde's typed errors quote offending values, and
/// a secret's never may. `origin` names it; the error says where, never what.
pub(crate) fn document(text: &str, origin: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        Error::Credentials(format!(
            "{origin} is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })
}

impl Credentials {
    /// Parses a credential document. `origin` names it in errors (a path or a secret id).
    /// Without `program_serial_number`, the reporter covers every program the user sees.
    pub fn from_json(text: &str, origin: &str) -> Result<Self> {
        let doc = document(text, origin)?;
        let section = match doc.get("fortiflex") {
            Some(nested @ Value::Object(_)) => nested,
            Some(_) => {
                return Err(Error::Credentials(format!(
                    "{origin}: field 'fortiflex' must be an object"
                )));
            }
            None if doc.is_object() => &doc,
            None => {
                return Err(Error::Credentials(format!(
                    "{origin} must hold a JSON object"
                )));
            }
        };
        let text_field = |name: &str| -> Result<String> {
            match section.get(name) {
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
                Some(Value::String(_)) | Some(Value::Null) | None => Err(Error::Credentials(
                    format!("missing required field '{name}' in {origin}"),
                )),
                Some(_) => Err(Error::Credentials(format!(
                    "field '{name}' in {origin} must be a string"
                ))),
            }
        };
        let account_id = match section.get(ACCOUNT) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(v) => Some(parse_account(v).ok_or_else(|| {
                Error::Credentials(format!(
                    "field '{ACCOUNT}' in {origin} must be a positive integer"
                ))
            })?),
        };
        Ok(Credentials {
            username: text_field(USERNAME)?,
            password: Secret::from(text_field(PASSWORD)?),
            program_serial: match section.get(PROGRAM) {
                None | Some(Value::Null) => None,
                Some(_) => Some(text_field(PROGRAM)?),
            },
            account_id,
        })
    }
}

fn parse_account(v: &Value) -> Option<AccountId> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|n| *n > 0)
    .map(AccountId)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NESTED: &str = r#"{"fortiflex": {"api_username": "api-user", "api_password": "hunter2-pass",
        "program_serial_number": "ELAVMS0000123456", "account_id": 2321234}}"#;

    #[test]
    fn reads_nested_and_flat_documents() {
        let c = Credentials::from_json(NESTED, "credentials.json").unwrap();
        assert_eq!(c.username, "api-user");
        assert_eq!(c.password.expose_secret(), "hunter2-pass");
        assert_eq!(c.program_serial.as_deref(), Some("ELAVMS0000123456"));
        assert_eq!(c.account_id, Some(AccountId(2321234)));
        let flat = r#"{"api_username": "u", "api_password": "p", "program_serial_number": "ELAVMS0000123456",
            "account_id": "2321234"}"#;
        assert_eq!(
            Credentials::from_json(flat, "x").unwrap().account_id,
            Some(AccountId(2321234))
        );
    }

    #[test]
    fn account_id_is_optional() {
        let doc = r#"{"fortiflex": {"api_username": "u", "api_password": "p", "program_serial_number": "S"}}"#;
        assert_eq!(Credentials::from_json(doc, "x").unwrap().account_id, None);
    }

    #[test]
    fn without_a_program_every_program_is_reported() {
        let doc = r#"{"fortiflex": {"api_username": "api-user", "api_password": "hunter2-pass"}}"#;
        assert_eq!(
            Credentials::from_json(doc, "x").unwrap().program_serial,
            None
        );
    }

    #[test]
    fn a_missing_field_is_named_and_no_value_is_shown() {
        let doc =
            r#"{"fortiflex": {"api_password": "hunter2-pass", "program_serial_number": "S"}}"#;
        let err = Credentials::from_json(doc, "creds.json").unwrap_err();
        assert_eq!(err.kind(), "Credentials");
        assert_eq!(
            err.to_string(),
            "credentials: missing required field 'api_username' in creds.json"
        );
        let doc =
            r#"{"api_username": "api-user", "api_password": 12345, "program_serial_number": "S"}"#;
        let err = Credentials::from_json(doc, "creds.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'api_password'") && !err.contains("12345"),
            "{err}"
        );
        let doc = r#"{"api_username": "u", "api_password": "p", "program_serial_number": "S", "account_id": "hunter2"}"#;
        let err = Credentials::from_json(doc, "creds.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'account_id'") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn malformed_json_gives_position_not_content() {
        let err =
            Credentials::from_json(r#"{"api_password": "hunter2-pass""#, "creds.json").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("creds.json is not valid JSON"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn secrets_redact_in_debug() {
        let c = Credentials::from_json(NESTED, "x").unwrap();
        let shown = format!("{c:?} {:?}", c.password);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("REDACTED"), "{shown}");
    }
}
