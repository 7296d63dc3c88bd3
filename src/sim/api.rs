//! The simulated v2 calls: programs, configs, entitlements and points, scoped the way
//! FortiFlex scopes them (a program, an account of it, or a config), with its retention.

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use axum::response::Response;

use super::dataset::{SimEntitlement, SimProgram};
use super::ledger::points_of;
use super::{Simulator, number, ok_list};
use crate::domain::window::EndDateMode;

pub(super) type Handled = Result<Response, String>;

fn text<'a>(req: &'a Value, key: &str) -> Option<&'a str> {
    req.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn id(req: &Value, key: &str) -> Result<Option<u64>, String> {
    match req.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("{key} must be a positive integer.")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{key} must be a positive integer.")),
        Some(_) => Err(format!("{key} must be a positive integer.")),
    }
}

/// The program named by `programSerialNumber`.
fn program<'a>(sim: &'a Simulator, req: &Value) -> Result<&'a SimProgram, String> {
    let serial = text(req, "programSerialNumber").ok_or("programSerialNumber is required.")?;
    sim.data
        .program(serial)
        .ok_or_else(|| format!("Program {serial} is not found."))
}

/// The `accountId` of the request, which must be one of the program's accounts.
fn account(p: &SimProgram, req: &Value, required: bool) -> Result<Option<u64>, String> {
    match id(req, "accountId")? {
        None if required => Err("accountId is required.".into()),
        Some(a) if !p.accounts().contains(&a) => Err(format!(
            "Account {a} does not belong to program {}.",
            p.serial
        )),
        other => Ok(other),
    }
}

/// The entitlements a request scopes: a config's, or one account's of a program.
fn scoped<'a>(
    sim: &'a Simulator,
    req: &Value,
    what: &str,
) -> Result<(&'a SimProgram, Vec<&'a SimEntitlement>), String> {
    if let Some(c) = id(req, "configId")? {
        let (p, _) = sim
            .data
            .config(c)
            .ok_or_else(|| format!("Config {c} is not found."))?;
        return Ok((
            p,
            p.entitlements.iter().filter(|e| e.config_id == c).collect(),
        ));
    }
    let p = program(sim, req).map_err(|e| format!("{what} {e}"))?;
    let a = account(p, req, true)?.expect("required");
    let by_config = p.accounts_by_config();
    let account_of = |e: &SimEntitlement| by_config.get(&e.config_id).copied();
    Ok((
        p,
        p.entitlements
            .iter()
            .filter(|e| account_of(e).unwrap_or(p.account_id) == a)
            .collect(),
    ))
}

fn date(req: &Value, key: &str) -> Result<NaiveDate, String> {
    text(req, key)
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .ok_or_else(|| format!("{key} is required in YYYY-MM-DD format."))
}

pub(super) fn programs_list(sim: &Simulator, _req: &Value) -> Handled {
    let rows: Vec<Value> = sim
        .data
        .programs
        .iter()
        .map(|p| {
            json!({
                "serialNumber": p.serial,
                "accountId": p.account_id,
                "startDate": format!("{} 00:00:00", p.start),
                "endDate": format!("{} 00:00:00", p.end),
                "hasSupportCoverage": true,
            })
        })
        .collect();
    Ok(ok_list(sim, "programs", &rows))
}

pub(super) fn programs_points(sim: &Simulator, req: &Value) -> Handled {
    let p = program(sim, req)?;
    if p.postpaid {
        return Err(format!(
            "Program {} is a postpaid program: point balance is only valid for prepaid programs.",
            p.serial
        ));
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Balance {
        serial_number: &'static str,
        point_balance: Box<RawValue>,
    }
    let balance = p.balance_on(sim.today());
    Ok(ok_list(
        sim,
        "programs",
        &[Balance {
            serial_number: p.serial,
            point_balance: number(balance),
        }],
    ))
}

pub(super) fn configs_list(sim: &Simulator, req: &Value) -> Handled {
    let p = program(sim, req)?;
    let only = account(p, req, false)?;
    let rows: Vec<Value> = p
        .configs
        .iter()
        .filter(|c| only.is_none_or(|a| c.account_id == a))
        .map(|c| {
            json!({
                "id": c.id, "name": c.name, "accountId": c.account_id, "programSerialNumber": p.serial,
                "status": c.status, "productType": {"id": c.product_id, "name": c.product_name},
                "parameters": c.parameters.iter().map(|(id, value)| json!({"id": id, "value": value})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(ok_list(sim, "configs", &rows))
}

pub(super) fn entitlements_list(sim: &Simulator, req: &Value) -> Handled {
    let (p, ents) = scoped(
        sim,
        req,
        "configId, or accountId and programSerialNumber, are required:",
    )?;
    let (status, serial, desc) = (
        text(req, "status"),
        text(req, "serialNumber"),
        text(req, "description"),
    );
    let by_config = p.accounts_by_config();
    let rows: Vec<Value> = ents
        .into_iter()
        .filter(|e| status.is_none_or(|s| e.status.eq_ignore_ascii_case(s)))
        .filter(|e| serial.is_none_or(|s| e.serial_number.eq_ignore_ascii_case(s)))
        .filter(|e| desc.is_none_or(|s| e.description.contains(s)))
        .map(|e| {
            json!({
                "serialNumber": e.serial_number,
                "accountId": by_config.get(&e.config_id).copied().unwrap_or(p.account_id), "configId": e.config_id,
                "description": e.description, "status": e.status,
                "startDate": format!("{}T00:00:00", e.start), "endDate": format!("{}T00:00:00", p.end),
                "token": e.token, "tokenStatus": if e.status == "PENDING" || e.token_unused { "NOTUSED" } else { "USED" },
            })
        })
        .collect();
    Ok(ok_list(sim, "entitlements", &rows))
}

pub(super) fn entitlements_points(sim: &Simulator, req: &Value) -> Handled {
    let start = date(req, "startDate")?;
    let end = date(req, "endDate")?;
    if end < start {
        return Err("endDate must not be before startDate.".into());
    }
    let (p, ents) = scoped(sim, req, "")?;
    let last = match sim.opts.end_date {
        EndDateMode::Inclusive => Some(end),
        EndDateMode::Exclusive => end.pred_opt().filter(|l| *l >= start),
    };
    let serial = text(req, "serialNumber");
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Row<'a> {
        serial_number: &'a str,
        account_id: u64,
        points: Box<RawValue>,
    }
    let by_config = p.accounts_by_config();
    let rows: Vec<Row> = last
        .map(|last| points_of(p, ents, start, last, sim.today(), sim.opts.retention_days))
        .unwrap_or_default()
        .into_iter()
        .filter(|(e, _)| serial.is_none_or(|s| e.serial_number.eq_ignore_ascii_case(s)))
        .map(|(e, points)| Row {
            serial_number: &e.serial_number,
            account_id: by_config.get(&e.config_id).copied().unwrap_or(p.account_id),
            points: number(points),
        })
        .collect();
    Ok(ok_list(sim, "entitlements", &rows))
}

/// `tools/calc`: the daily points of `count` units of a product type with these
/// parameters, priced like the program's configuration that has exactly them, in the
/// wrapper of the toolkit's November 2025 note: `points {current, latest,
/// latestEffectiveDate}`.
pub(super) fn tools_calc(sim: &Simulator, req: &Value) -> Handled {
    let p = program(sim, req)?;
    let product = id(req, "productTypeId")?.ok_or("productTypeId is required.")?;
    let count = id(req, "count")?.unwrap_or(1);
    let mut asked: Vec<(u64, String)> = match req.get("parameters") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                let pid = id(i, "id")?.ok_or("Each parameter needs an id.")?;
                let value = match i.get("value") {
                    Some(Value::String(v)) => v.clone(),
                    Some(v @ Value::Number(_)) => v.to_string(),
                    _ => return Err("Each parameter needs a value.".to_string()),
                };
                Ok((pid, value))
            })
            .collect::<Result<_, String>>()?,
        Some(_) => return Err("parameters must be a list.".into()),
    };
    asked.sort();
    let config = p
        .configs
        .iter()
        .filter(|c| c.product_id == product && c.rate.is_some())
        .find(|c| {
            let mut own: Vec<(u64, String)> = c
                .parameters
                .iter()
                .map(|(i, v)| (*i, v.to_string()))
                .collect();
            own.sort();
            own == asked
        })
        .ok_or_else(|| format!("No price for product type {product} with these parameters."))?;
    let count = rust_decimal::Decimal::from(count);
    let rate = config.rate.unwrap_or_default() * count;
    // An announced change: `latest` from its day; once in force it is the current rate.
    let (current, latest, latest_effective_date) = match config.announced {
        Some((on, new)) if sim.today() < on => (rate, new * count, Some(on.to_string())),
        Some((_, new)) => (new * count, new * count, None),
        None => (rate, rate, None),
    };
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Points {
        current: Box<RawValue>,
        latest: Box<RawValue>,
        latest_effective_date: Option<String>,
    }
    #[derive(Serialize)]
    struct Reply {
        status: i32,
        message: &'static str,
        points: Points,
    }
    let body = Reply {
        status: 0,
        message: "Request processed successfully.",
        points: Points {
            current: number(current),
            latest: number(latest),
            latest_effective_date,
        },
    };
    let body = serde_json::to_string(&body).map_err(|e| e.to_string())?;
    Ok(super::reply(axum::http::StatusCode::OK, body))
}

/// `tools/metadata`: every product type of the simulated programs, named, with the
/// parameters its configurations use.
pub(super) fn tools_metadata(sim: &Simulator, _req: &Value) -> Handled {
    let mut products: std::collections::BTreeMap<u64, (&str, std::collections::BTreeSet<u64>)> =
        Default::default();
    for c in sim.data.programs.iter().flat_map(|p| &p.configs) {
        let entry = products
            .entry(c.product_id)
            .or_insert((c.product_name, Default::default()));
        entry.1.extend(c.parameters.iter().map(|(i, _)| *i));
    }
    let rows: Vec<Value> = products
        .into_iter()
        .map(|(id, (name, parameters))| {
            json!({
                "productTypeId": id, "name": name,
                "formFactor": if id >= 100 { "Hardware" } else { "VM" },
                "parameters": parameters.into_iter().map(|p| json!({"id": p, "name": parameter_name(p)})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(ok_list(sim, "productTypes", &rows))
}

/// Parameter names as Fortinet's Ansible collection lists them.
fn parameter_name(id: u64) -> &'static str {
    match id {
        1 | 4 | 6 | 25 => "CPU",
        2 | 5 | 16 | 23 | 26 | 28 => "Service package",
        3 | 24 | 30 => "Managed devices",
        9 | 22 => "ADOMs",
        10 | 11 => "VDOMs",
        13 => "ZTNA/VPN endpoints",
        14 => "EPP/ATP endpoints",
        15 => "Chromebooks",
        21 => "Daily storage (GB)",
        27 => "Device model",
        29 | 36 => "Add-ons",
        _ => "Parameter",
    }
}
