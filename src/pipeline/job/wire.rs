//! FortiFlex's records as a job stages them between invocations: written in FortiFlex's own
//! reply shapes, so they are read back by the same lenient parsers as a live reply and a
//! staged row can never mean something a fetched one would not. No licence token is kept
//! (the records never read it).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::domain::money::Exact;
use crate::domain::records::{Config, Entitlement, Parameter, PointsRow, Program};
use crate::error::{Error, Result};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireProductType<'a> {
    id: Option<u64>,
    name: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireConfig<'a> {
    id: u64,
    name: Option<&'a str>,
    status: Option<&'a str>,
    account_id: Option<u64>,
    product_type: WireProductType<'a>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    parameters: &'a [Parameter],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireEntitlement<'a> {
    serial_number: &'a str,
    account_id: Option<u64>,
    config_id: Option<u64>,
    description: Option<&'a str>,
    status: Option<&'a str>,
    start_date: Option<String>,
    end_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_status: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireRow<'a> {
    serial_number: &'a str,
    account_id: Option<u64>,
    points: Exact,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireProgram<'a> {
    serial_number: &'a str,
    account_id: Option<u64>,
    start_date: Option<&'a str>,
    end_date: Option<&'a str>,
    has_support_coverage: Option<bool>,
    program_type: Option<&'a str>,
    point_balance: Option<Exact>,
}

/// A record's JSON text, kept as text: a decimal keeps its exact digits (`107.20`).
pub(super) type Raw = Box<RawValue>;

fn value(v: impl Serialize) -> Raw {
    // Plain structs of strings and numbers: serialising cannot fail.
    serde_json::value::to_raw_value(&v).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

pub(super) fn config(c: &Config) -> Raw {
    value(WireConfig {
        id: c.id,
        name: c.name.as_deref(),
        status: c.status.as_deref(),
        account_id: c.account_id.map(|a| a.0),
        product_type: WireProductType {
            id: c.product_type.id,
            name: c.product_type.name.as_deref(),
        },
        parameters: &c.parameters,
    })
}

pub(super) fn entitlement(e: &Entitlement) -> Raw {
    value(WireEntitlement {
        serial_number: &e.serial_number,
        account_id: e.account_id.map(|a| a.0),
        config_id: e.config_id,
        description: e.description.as_deref(),
        status: e.status.as_deref(),
        start_date: e.start_date.map(|d| d.to_string()),
        end_date: e.end_date.map(|d| d.to_string()),
        token_status: e.token_unused.then_some("NOTUSED"),
    })
}

pub(super) fn row(r: &PointsRow) -> Raw {
    value(WireRow {
        serial_number: &r.serial_number,
        account_id: r.account_id.map(|a| a.0),
        points: Exact(r.points),
    })
}

pub(super) fn program(p: &Program) -> Raw {
    value(WireProgram {
        serial_number: &p.serial_number,
        account_id: p.account_id.map(|a| a.0),
        start_date: p.start_date.as_deref(),
        end_date: p.end_date.as_deref(),
        has_support_coverage: p.has_support_coverage,
        program_type: p.program_type.as_deref(),
        point_balance: p.point_balance.map(Exact),
    })
}

/// A staged record read back; a staged object that does not parse is a storage fault.
pub(super) fn read<T: for<'de> Deserialize<'de>>(v: &RawValue, what: &str) -> Result<T> {
    serde_json::from_str(v.get())
        .map_err(|e| Error::Storage(format!("a staged {what} is unreadable: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::AccountId;
    use crate::domain::records::ProductType;
    use crate::domain::window::parse_date;

    #[test]
    fn records_read_back_as_they_were() {
        let c = Config {
            id: 4102,
            name: Some("Branch \"FGT\"".into()),
            status: Some("ACTIVE".into()),
            account_id: Some(AccountId(3300001)),
            product_type: ProductType {
                id: Some(1),
                name: None,
            },
            parameters: vec![Parameter {
                id: 1,
                value: "4".into(),
            }],
        };
        assert_eq!(read::<Config>(&config(&c), "config").unwrap(), c);
        let e = Entitlement {
            serial_number: "FGVMMLTM00000001".into(),
            account_id: Some(AccountId(7)),
            config_id: Some(4102),
            description: Some("Edge, ü".into()),
            status: Some("ACTIVE".into()),
            start_date: Some(parse_date("2025-01-10").unwrap()),
            end_date: None,
            token_unused: true,
        };
        assert_eq!(
            read::<Entitlement>(&entitlement(&e), "entitlement").unwrap(),
            e
        );
        let r = PointsRow {
            serial_number: "FGVMMLTM00000001".into(),
            account_id: Some(AccountId(7)),
            points: "107.20".parse().unwrap(),
        };
        let back: PointsRow = read(&row(&r), "row").unwrap();
        assert_eq!(back.points.to_string(), "107.20", "the exact text survives");
        assert_eq!(back, r);
        let p = Program {
            serial_number: "ELAVMS0000123456".into(),
            account_id: Some(AccountId(1)),
            start_date: Some("2025-01-10 00:00:00".into()),
            end_date: None,
            has_support_coverage: Some(true),
            program_type: Some("Prepaid".into()),
            point_balance: Some("12.50".parse().unwrap()),
        };
        assert_eq!(read::<Program>(&program(&p), "program").unwrap(), p);
        let bad = serde_json::value::to_raw_value(&serde_json::json!({"points": "x"})).unwrap();
        let err = read::<PointsRow>(&bad, "row").unwrap_err();
        assert_eq!(err.kind(), "Storage");
    }
}
