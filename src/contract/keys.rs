//! Every object key the reporter reads or writes, relative to the output root (an S3 prefix
//! or a local folder), in the order of `docs/output-contract.md`, "Keys". Nothing else in
//! the crate spells a key: a layout change is made here, once.

use chrono::NaiveDate;

use super::ymd;
use crate::domain::report::{ReportKind, ReportSpec};
use crate::domain::statement::Month;

/// Keys of one report's three objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub csv: String,
    pub json: String,
    pub manifest: String,
}

/// `daily/{csv,json,manifests}/dt=YYYY-MM-DD/consumption_<PROGRAM>_YYYY-MM-DD.*`: the
/// daily report of `program` and `day`, what statements, the site and alerts read back.
pub fn daily_keys(program: &str, day: NaiveDate) -> Keys {
    let day = ymd(day);
    let name = format!("consumption_{program}_{day}");
    Keys {
        csv: format!("daily/csv/dt={day}/{name}.csv"),
        json: format!("daily/json/dt={day}/{name}.json"),
        manifest: format!("daily/manifests/dt={day}/{name}.manifest.json"),
    }
}

/// The keys of the report `spec` describes: a daily report's, or
/// `ranges/consumption_<PROGRAM>_<START>_<END>[_<SERIAL>][_config-<ID>][_account-<ID>].*`.
pub fn report_keys(spec: &ReportSpec) -> Keys {
    let program = &spec.program_serial;
    match spec.kind {
        ReportKind::Daily => daily_keys(program, spec.range.start()),
        ReportKind::Range => {
            let mut serial = spec
                .serial_filter
                .as_deref()
                .map(|s| format!("_{s}"))
                .unwrap_or_default();
            if let Some(c) = spec.config_filter {
                serial.push_str(&format!("_config-{c}"));
            }
            if let Some(a) = spec.account_filter {
                serial.push_str(&format!("_account-{a}"));
            }
            let stem = format!(
                "ranges/consumption_{program}_{}_{}{serial}",
                ymd(spec.range.start()),
                ymd(spec.range.end())
            );
            Keys {
                csv: format!("{stem}.csv"),
                json: format!("{stem}.json"),
                manifest: format!("{stem}.manifest.json"),
            }
        }
    }
}

/// Keys of one stored day's rollup: its rows and its summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupKeys {
    pub rows: String,
    pub summary: String,
}

/// `rollups/dt=YYYY-MM-DD/consumption_<PROGRAM>_YYYY-MM-DD.rollup.{bin,json}`: the compact
/// form of a stored day that statements, the site and alerts read. Internal to the
/// archive, outside every report's folder.
pub fn rollup_keys(program: &str, day: NaiveDate) -> RollupKeys {
    let day = ymd(day);
    let stem = format!("rollups/dt={day}/consumption_{program}_{day}.rollup");
    RollupKeys {
        rows: format!("{stem}.bin"),
        summary: format!("{stem}.json"),
    }
}

/// `rollups/month=YYYY-MM/statement_<PROGRAM>_YYYY-MM.carry.bin`: a month's statement
/// lines folded through its last day past restatement, carried to the next run.
pub fn carry_key(program: &str, month: Month) -> String {
    format!("rollups/month={month}/statement_{program}_{month}.carry.bin")
}

/// Keys of one month's statement, under `statements/month=YYYY-MM/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementKeys {
    pub csv: String,
    pub json: String,
    pub xlsx: String,
    /// FOCUS 1.2, written only when a price is set.
    pub focus: String,
    /// FOCUS 1.3 (`focus-1.3_<PROGRAM>_YYYY-MM.csv`), beside the 1.2 file.
    pub focus_1_3: String,
    pub manifest: String,
    folder: String,
    stem: String,
}

impl StatementKeys {
    pub fn new(program: &str, month: Month) -> Self {
        let folder = format!("statements/month={month}");
        let stem = format!("{program}_{month}");
        StatementKeys {
            csv: format!("{folder}/statement_{stem}.csv"),
            json: format!("{folder}/statement_{stem}.json"),
            xlsx: format!("{folder}/statement_{stem}.xlsx"),
            focus: format!("{folder}/focus_{stem}.csv"),
            focus_1_3: format!("{folder}/focus-1.3_{stem}.csv"),
            manifest: format!("{folder}/statement_{stem}.manifest.json"),
            folder,
            stem,
        }
    }

    /// The customer's own CSV. Customer ids are `[a-z0-9_-]`, safe in a key.
    pub fn customer(&self, id: &str) -> String {
        format!("{}/customers/{id}_{}.csv", self.folder, self.stem)
    }
}

/// `pushes/month=YYYY-MM/<TARGET>/<ITEM>_<PROGRAM>_YYYY-MM.json`: the push ledger of one
/// target and customer (`<customer>_product-<ID>` for ConnectWise) for the month. Customer ids
/// are `[a-z0-9_-]`, safe in a key.
pub fn push_ledger_key(program: &str, month: Month, target: &str, item: &str) -> String {
    format!("pushes/month={month}/{target}/{item}_{program}_{month}.json")
}

/// `pushes/month=YYYY-MM/reconciliation_<PROGRAM>_YYYY-MM.json`: what each billing target
/// holds of the month against its statement, read back after a push or by `push --verify`.
pub fn reconciliation_key(program: &str, month: Month) -> String {
    format!("pushes/month={month}/reconciliation_{program}_{month}.json")
}

/// `balances/dt=YYYY-MM-DD/balance_<PROGRAM>_YYYY-MM-DD.json`: the day's balance snapshot.
pub fn balance_key(program: &str, day: NaiveDate) -> String {
    format!("balances/dt={day}/balance_{program}_{day}.json")
}

/// `tieout/month=YYYY-MM/tieout_<PROGRAM>_YYYY-MM.json`: the month's days checked against
/// what Fortinet deducted, rewritten by each run of the month.
pub fn tieout_key(program: &str, month: Month) -> String {
    format!("tieout/month={month}/tieout_{program}_{month}.json")
}

/// `tieout/month=YYYY-MM/invoice_<PROGRAM>_YYYY-MM.json`: the points of Fortinet's invoice
/// for the month, as the partner entered them (`tieout --invoice-points`).
pub fn tieout_invoice_key(program: &str, month: Month) -> String {
    format!("tieout/month={month}/invoice_{program}_{month}.json")
}

/// The same tie-out as one CSV table for a spreadsheet, beside the JSON.
pub fn tieout_csv_key(program: &str, month: Month) -> String {
    format!("tieout/month={month}/tieout_{program}_{month}.csv")
}

/// `rates/dt=YYYY-MM-DD/rates_<PROGRAM>_YYYY-MM-DD.json`: what `tools/calc` priced each of
/// the program's configurations at on that Pacific day (FortiFlex keeps no rate history).
pub fn rates_key(program: &str, day: NaiveDate) -> String {
    format!("rates/dt={day}/rates_{program}_{day}.json")
}

/// `metadata/product_types.json`: `tools/metadata`'s product and parameter names, cached
/// for a week (they change with Fortinet's catalogue, not with a program).
pub const PRODUCT_TYPES: &str = "metadata/product_types.json";

/// `organizations/accounts.json`: FortiCloud's organization units and accounts (company
/// names) as the last run that listed them saw them; what names customers the customers
/// file does not.
pub const ORGANIZATION: &str = "organizations/accounts.json";

/// `alerts/dt=YYYY-MM-DD/alerts_<PROGRAM>_YYYY-MM-DD.json`: the day's alerts.
pub fn alerts_key(program: &str, day: NaiveDate) -> String {
    format!("alerts/dt={day}/alerts_{program}_{day}.json")
}

/// The site's front page.
pub const SITE_INDEX: &str = "site/index.html";

/// `site/month=YYYY-MM/<customer>.html`: a customer's statement page.
pub fn site_statement_page(month: Month, customer: &str) -> String {
    format!("site/{}", site_statement_link(month, customer))
}

/// A statement page's address relative to the front page.
pub fn site_statement_link(month: Month, customer: &str) -> String {
    format!("month={month}/{customer}.html")
}

/// The customers file the scheduled run reads.
pub const CUSTOMERS: &str = "config/customers.json";

/// `staging/`: a Step Functions job's working objects, never a report. A lifecycle rule
/// expires whatever a job leaves behind.
pub const STAGING: &str = "staging/";

/// `staging/budget.json`: the FortiFlex calls of the budget's hour window, which every job
/// step inherits.
pub const BUDGET: &str = "staging/budget.json";

/// `staging/lock.json`: the run lock, one writer at a time on the output root
/// (`crate::pipeline::lock`).
pub const RUN_LOCK: &str = "staging/lock.json";

/// `staging/job=<JOB>/job.json`: a job's plan and progress. `job` is a hex digest.
pub fn job_state_key(job: &str) -> String {
    format!("{STAGING}job={job}/job.json")
}

/// `staging/job=<JOB>/<GEN>/<PROGRAM>/catalog/part-<N>.json`: entitlements a chunk listed.
pub fn staged_catalog_key(job: &str, generation: &str, program: &str, part: u64) -> String {
    format!("{STAGING}job={job}/{generation}/{program}/catalog/part-{part}.json")
}

/// `staging/job=<JOB>/<GEN>/<PROGRAM>/dt=YYYY-MM-DD/part-<N>.json`: rows a chunk fetched
/// for one day (some of the program's accounts), until the day is published whole.
pub fn staged_day_key(
    job: &str,
    generation: &str,
    program: &str,
    day: NaiveDate,
    part: u64,
) -> String {
    format!("{STAGING}job={job}/{generation}/{program}/dt={day}/part-{part}.json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::spec;

    #[test]
    fn keys_follow_the_contract() {
        let s = spec("2025-11-08");
        assert_eq!(
            report_keys(&s),
            Keys {
                csv: "daily/csv/dt=2025-11-08/consumption_ELAVMS0000123456_2025-11-08.csv".into(),
                json: "daily/json/dt=2025-11-08/consumption_ELAVMS0000123456_2025-11-08.json".into(),
                manifest: "daily/manifests/dt=2025-11-08/consumption_ELAVMS0000123456_2025-11-08.manifest.json".into(),
            }
        );
        let mut r = s.clone();
        r.kind = ReportKind::Range;
        r.range = crate::domain::window::DayRange::new(
            crate::domain::window::parse_date("2025-11-02").unwrap(),
            crate::domain::window::parse_date("2025-11-08").unwrap(),
        )
        .unwrap();
        assert_eq!(
            report_keys(&r).csv,
            "ranges/consumption_ELAVMS0000123456_2025-11-02_2025-11-08.csv"
        );
        r.serial_filter =
            Some(crate::domain::ids::Serial::parse("FGT71FTK22000471", "serial").unwrap());
        assert_eq!(
            report_keys(&r).manifest,
            "ranges/consumption_ELAVMS0000123456_2025-11-02_2025-11-08_FGT71FTK22000471.manifest.json"
        );
    }
}
