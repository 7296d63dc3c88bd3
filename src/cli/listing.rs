//! What the discovery commands print (`programs`, `configs`, `entitlements`): plain tables
//! over the API's lists. Pure text; licence tokens are never read, so never shown.

use std::collections::BTreeMap;
use std::fmt::Write;

use rust_decimal::Decimal;

use crate::adapters::fortiflex::{Entitlement, Program};
use crate::domain::money::display2;
use crate::pipeline::discovery::Scope;

/// A program with what `programs/points` told about it.
#[derive(Debug, Clone)]
pub(crate) struct ProgramLine {
    pub program: Program,
    /// `prepaid`, `postpaid` or `unknown`.
    pub kind: String,
    pub balance: Option<Decimal>,
}

fn day(d: Option<chrono::NaiveDate>) -> String {
    d.map_or_else(|| "-".into(), |d| d.to_string())
}

fn date_part(s: &Option<String>) -> String {
    s.as_deref()
        .map(|d| d.split([' ', 'T']).next().unwrap_or(d).to_string())
        .unwrap_or_else(|| "-".into())
}

pub(crate) fn programs(username: &str, lines: &[ProgramLine]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "PROGRAMS VISIBLE TO API USER {username}\n");
    if lines.is_empty() {
        let _ = writeln!(
            o,
            "[INFO] This API user sees no FortiFlex program. Check its permissions in FortiCloud IAM."
        );
        return o;
    }
    let _ = writeln!(
        o,
        "{:<18}  {:>10}  {:<10}  {:<10}  {:<8}  {:>16}",
        "Program Serial", "Account ID", "Start", "End", "Type", "Point Balance"
    );
    for l in lines {
        let p = &l.program;
        let _ = writeln!(
            o,
            "{:<18}  {:>10}  {:<10}  {:<10}  {:<8}  {:>16}",
            p.serial_number,
            p.account_id.map_or("-".into(), |a| a.to_string()),
            date_part(&p.start_date),
            date_part(&p.end_date),
            l.kind,
            l.balance.map_or("-".into(), display2)
        );
    }
    let _ = writeln!(
        o,
        "\nPut the program serial and account id in your credentials file (or use --write-credentials FILE)."
    );
    o
}

const STATUSES: [&str; 5] = ["ACTIVE", "PENDING", "STOPPED", "EXPIRED", "OTHER"];

fn status_key(e: &Entitlement) -> &'static str {
    let s = e.status.as_deref().unwrap_or("").to_ascii_uppercase();
    STATUSES
        .iter()
        .find(|k| **k == s)
        .copied()
        .unwrap_or("OTHER")
}

/// The configurations of every account of the program, with the account each belongs to.
pub(crate) fn configs(scope: &Scope, entitlements: &[Entitlement]) -> String {
    let configs = &scope.configs;
    let mut counts: BTreeMap<u64, BTreeMap<&str, usize>> = BTreeMap::new();
    for e in entitlements {
        if let Some(c) = e.config_id {
            *counts
                .entry(c)
                .or_default()
                .entry(status_key(e))
                .or_default() += 1;
        }
    }
    let mut o = String::new();
    let _ = writeln!(
        o,
        "PROGRAM {} - {} ACCOUNT(S)\n",
        scope.serial,
        scope.accounts.len()
    );
    let _ = writeln!(
        o,
        "{:>10}  {:>8}  {:<28}  {:<22}  {:<8}  {:>6} {:>7} {:>7} {:>7} {:>5}",
        "Account",
        "ID",
        "Name",
        "Product",
        "Status",
        "ACTIVE",
        "PENDING",
        "STOPPED",
        "EXPIRED",
        "OTHER"
    );
    let mut sorted: Vec<_> = configs.iter().collect();
    sorted.sort_by_key(|c| (c.account_id.unwrap_or(scope.account_id), c.id));
    for c in sorted {
        let n = |k: &str| {
            counts
                .get(&c.id)
                .and_then(|m| m.get(k))
                .copied()
                .unwrap_or(0)
        };
        let _ = writeln!(
            o,
            "{:>10}  {:>8}  {:<28}  {:<22}  {:<8}  {:>6} {:>7} {:>7} {:>7} {:>5}",
            c.account_id.unwrap_or(scope.account_id),
            c.id,
            c.name.as_deref().unwrap_or("-"),
            c.product_type.label().unwrap_or_else(|| "-".into()),
            c.status.as_deref().unwrap_or("-"),
            n("ACTIVE"),
            n("PENDING"),
            n("STOPPED"),
            n("EXPIRED"),
            n("OTHER")
        );
    }
    let _ = writeln!(
        o,
        "\n{} configuration(s) in {} account(s)\n",
        configs.len(),
        scope.accounts.len()
    );
    o
}

/// The entitlements of every account of the program, with the account each belongs to.
pub(crate) fn entitlements(scope: &Scope, entitlements: &[Entitlement]) -> String {
    let configs = &scope.configs;
    let name = |id: Option<u64>| {
        id.map(|i| {
            let n = configs
                .iter()
                .find(|c| c.id == i)
                .and_then(|c| c.name.clone());
            n.map_or(i.to_string(), |n| format!("{n} ({i})"))
        })
        .unwrap_or_else(|| "-".into())
    };
    let mut o = String::new();
    let _ = writeln!(o, "PROGRAM {}\n", scope.serial);
    let _ = writeln!(
        o,
        "{:<18}  {:>10}  {:<28}  {:<30}  {:<8}  {:<10}  {:<10}",
        "Serial Number", "Account", "Config", "Description", "Status", "Start", "End"
    );
    for e in entitlements {
        let desc: String = e
            .description
            .as_deref()
            .unwrap_or("-")
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(30)
            .collect();
        let account = e
            .account_id
            .or_else(|| e.config_id.and_then(|c| scope.config_account(c)))
            .map_or("-".into(), |a| a.to_string());
        let _ = writeln!(
            o,
            "{:<18}  {:>10}  {:<28}  {:<30}  {:<8}  {:<10}  {:<10}",
            e.serial_number,
            account,
            name(e.config_id),
            desc,
            e.status.as_deref().unwrap_or("-"),
            day(e.start_date),
            day(e.end_date)
        );
    }
    let _ = writeln!(o, "\n{} entitlement(s)\n", entitlements.len());
    o
}
