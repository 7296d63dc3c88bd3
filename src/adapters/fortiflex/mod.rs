//! FortiFlex v2: the calls the reporter needs, behind [`FortiFlexApi`] so the report
//! pipeline can run against the real service ([`HttpFortiFlex`]) or a canned one in tests.

mod answer;
mod endpoints;
mod http;
mod organizations;
mod pace;
mod parse;
mod retry;
mod service;

use std::future::Future;

use rust_decimal::Decimal;

pub use endpoints::{DEFAULT_API_URL, DEFAULT_AUTH_URL, Endpoints};
pub use http::{HttpFortiFlex, MAX_REPLY_BYTES, http_client};
pub use pace::{Limits, Pacer};
pub use parse::{ReplyReader, parse_error_reply, parse_list, parse_rate};
pub use retry::RetryPolicy;

pub use crate::domain::records::{
    Config, Entitlement, EntitlementQuery, IamAccount, OrgUnits, ParameterMeta, PointsQuery,
    PointsRow, ProductMeta, ProductType, Program, Rate, RateQuery, Text,
};

use crate::domain::ids::AccountId;
use crate::error::Result;

/// The FortiFlex calls the reporter makes. Every call is a POST with a JSON body.
pub trait FortiFlexApi: Send + Sync {
    fn programs(&self) -> impl Future<Output = Result<Vec<Program>>> + Send;
    /// A prepaid program's point balance (`programs/points`).
    fn program_balance(
        &self,
        program_serial: &str,
    ) -> impl Future<Output = Result<Option<Decimal>>> + Send;
    fn configs(
        &self,
        program_serial: &str,
        account_id: Option<AccountId>,
    ) -> impl Future<Output = Result<Vec<Config>>> + Send;
    fn entitlements(
        &self,
        query: &EntitlementQuery,
    ) -> impl Future<Output = Result<Vec<Entitlement>>> + Send;
    fn points(&self, query: &PointsQuery) -> impl Future<Output = Result<Vec<PointsRow>>> + Send;
    /// What a configuration costs a day (`tools/calc`): today's rate and any announced change.
    fn rate(&self, query: &RateQuery) -> impl Future<Output = Result<Rate>> + Send;
    /// Every product type's name and parameters (`tools/metadata`).
    fn product_types(&self) -> impl Future<Output = Result<Vec<ProductMeta>>> + Send;
    /// FortiCloud's organization units (`organization/v1/units/list`, same API user). A
    /// client without them (a test's canned API) answers that it has none.
    fn organization_units(&self) -> impl Future<Output = Result<OrgUnits>> + Send {
        async { Err(no_organizations()) }
    }
    /// The accounts under the organization or unit `parent` (`iam/v1/accounts/list`).
    fn organization_accounts(
        &self,
        parent: u64,
    ) -> impl Future<Output = Result<Vec<IamAccount>>> + Send {
        let _ = parent;
        async { Err(no_organizations()) }
    }
}

fn no_organizations() -> crate::error::Error {
    crate::error::ApiError::new(
        "units/list",
        None,
        None,
        "this client has no FortiCloud organization",
    )
    .into()
}

/// What `programs/points` says about a program: prepaid with its balance, or postpaid (it
/// answers an error whose message says the balance is only valid for prepaid programs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceReading {
    Prepaid(Option<Decimal>),
    Postpaid,
}

/// Reads `program`'s balance, telling a postpaid program's refusal from a real failure.
pub async fn read_balance(api: &impl FortiFlexApi, program: &str) -> Result<BalanceReading> {
    match api.program_balance(program).await {
        Ok(b) => Ok(BalanceReading::Prepaid(b)),
        Err(crate::error::Error::FortiFlex(e))
            if e.message.to_ascii_lowercase().contains("prepaid") =>
        {
            Ok(BalanceReading::Postpaid)
        }
        Err(e) => Err(e),
    }
}
