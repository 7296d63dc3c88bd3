//! The FortiFlex client as a run sees it: every call counted and reported to [`Progress`],
//! so the budget can be checked against what was really spent and people see the run move.

use std::sync::atomic::{AtomicU64, Ordering};

use rust_decimal::Decimal;

use crate::adapters::fortiflex::{
    Config, Entitlement, EntitlementQuery, FortiFlexApi, PointsQuery, PointsRow, ProductMeta,
    Program, Rate, RateQuery,
};
use crate::domain::ids::AccountId;
use crate::error::Result;
use crate::pipeline::progress::Progress;

pub(crate) struct Metered<'a, A> {
    api: &'a A,
    progress: &'a dyn Progress,
    calls: AtomicU64,
}

impl<'a, A: FortiFlexApi> Metered<'a, A> {
    pub(crate) fn new(api: &'a A, progress: &'a dyn Progress) -> Self {
        Metered {
            api,
            progress,
            calls: AtomicU64::new(0),
        }
    }

    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    fn done(&self, what: String) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.progress.call(&what);
    }
}

fn scope(account: Option<AccountId>, config: Option<u64>) -> String {
    match (account, config) {
        (_, Some(c)) => format!("config {c}"),
        (Some(a), None) => format!("account {a}"),
        (None, None) => "program".into(),
    }
}

impl<A: FortiFlexApi> FortiFlexApi for Metered<'_, A> {
    async fn programs(&self) -> Result<Vec<Program>> {
        let r = self.api.programs().await;
        self.done("programs/list".into());
        r
    }

    async fn program_balance(&self, program_serial: &str) -> Result<Option<Decimal>> {
        let r = self.api.program_balance(program_serial).await;
        self.done(format!("programs/points {program_serial}"));
        r
    }

    async fn configs(
        &self,
        program_serial: &str,
        account_id: Option<AccountId>,
    ) -> Result<Vec<Config>> {
        let r = self.api.configs(program_serial, account_id).await;
        self.done(format!("configs/list {program_serial}"));
        r
    }

    async fn entitlements(&self, query: &EntitlementQuery) -> Result<Vec<Entitlement>> {
        let r = self.api.entitlements(query).await;
        self.done(format!(
            "entitlements/list {}",
            scope(query.account_id, query.config_id)
        ));
        r
    }

    async fn points(&self, query: &PointsQuery) -> Result<Vec<PointsRow>> {
        let r = self.api.points(query).await;
        self.done(format!(
            "entitlements/points {} {}..{}",
            scope(query.account_id, query.config_id),
            query.start_date,
            query.end_date
        ));
        r
    }

    async fn rate(&self, query: &RateQuery) -> Result<Rate> {
        let r = self.api.rate(query).await;
        self.done(format!("tools/calc product type {}", query.product_type_id));
        r
    }

    async fn product_types(&self) -> Result<Vec<ProductMeta>> {
        let r = self.api.product_types().await;
        self.done("tools/metadata".into());
        r
    }

    async fn organization_units(&self) -> Result<crate::adapters::fortiflex::OrgUnits> {
        let r = self.api.organization_units().await;
        self.done("organization units/list".into());
        r
    }

    async fn organization_accounts(
        &self,
        parent: u64,
    ) -> Result<Vec<crate::adapters::fortiflex::IamAccount>> {
        let r = self.api.organization_accounts(parent).await;
        self.done(format!("iam accounts/list under {parent}"));
        r
    }
}
