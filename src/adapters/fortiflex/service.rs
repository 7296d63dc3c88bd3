//! Which FortiCloud service a call goes to: FortiFlex, or the organization and IAM services
//! the same API user reaches with their own `client_id`.

use reqwest::Url;

use super::endpoints::Endpoints;
use crate::error::{Error, Result};

/// The FortiCloud service a call goes to, with the same API user: each takes its own token
/// (the login's `client_id`) and lives beside FortiFlex under `/ES/api/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Service {
    FortiFlex,
    Organization,
    Iam,
}

impl Service {
    pub(super) fn client_id(self) -> &'static str {
        match self {
            Service::FortiFlex => "flexvm",
            Service::Organization => "organization",
            Service::Iam => "iam",
        }
    }

    pub(super) fn slot(self) -> usize {
        self as usize
    }

    pub(super) fn url(self, endpoints: &Endpoints, call: &str) -> Result<Url> {
        let built = match self {
            Service::FortiFlex => endpoints.api_base().join(call),
            Service::Organization => endpoints
                .api_base()
                .join(&format!("../../organization/v1/{call}")),
            Service::Iam => endpoints.api_base().join(&format!("../../iam/v1/{call}")),
        };
        built.map_err(|e| Error::Configuration(format!("cannot build the URL of {call}: {e}")))
    }
}
