//! Every parser of outside input fed arbitrary bytes and arbitrary JSON: Lambda payloads,
//! credentials documents, FortiFlex replies and manifests read back from storage. Each must
//! answer a value or a typed error, never panic (a release Lambda aborts on panic).

use chrono::{DateTime, Utc};
use fortiflex_reporter::adapters::credentials::Credentials;
use fortiflex_reporter::adapters::fortiflex::{
    PointsRow, Program, ReplyReader, parse_error_reply, parse_list,
};
use fortiflex_reporter::adapters::storage::{MemorySink, Sink};
use fortiflex_reporter::contract::keys::Keys;
use fortiflex_reporter::domain::window::PACIFIC;
use fortiflex_reporter::lambda::payload::{Payload, to_request};
use fortiflex_reporter::pipeline::archive;
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Arbitrary JSON, biased towards the keys and shapes the parsers look for.
fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("entitlements".to_string()),
        Just("vms".to_string()),
        Just("status".to_string()),
        Just("points".to_string()),
        Just("serialNumber".to_string()),
        Just("accountId".to_string()),
        Just("date".to_string()),
        Just("days".to_string()),
        Just("start_date".to_string()),
        Just("end_date".to_string()),
        Just("time".to_string()),
        Just("fortiflex".to_string()),
        Just("api_username".to_string()),
        Just("api_password".to_string()),
        Just("program_serial_number".to_string()),
        Just("account_id".to_string()),
        Just("revision".to_string()),
        Just("totals".to_string()),
        Just("files".to_string()),
        "[a-z_]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[0-9.\\-eE]{0,12}".prop_map(Value::String),
        "2025-[0-9]{2}-[0-9]{2}".prop_map(Value::String),
        ".{0,16}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-11-09T20:00:00Z")
        .unwrap()
        .to_utc()
}

fn keys() -> Keys {
    Keys {
        csv: "daily/csv/dt=2025-11-08/x.csv".into(),
        json: "daily/json/dt=2025-11-08/x.json".into(),
        manifest: "daily/manifests/dt=2025-11-08/x.manifest.json".into(),
    }
}

/// Stores `manifest` and `report` and reads them back as a run would.
fn read_back(manifest: Vec<u8>, report: Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let sink = MemorySink::new();
        let k = keys();
        sink.put(&k.manifest, manifest, "application/json")
            .await
            .unwrap();
        sink.put(&k.json, report, "application/json").await.unwrap();
        if let Ok(Some(stored)) = archive::stored(&sink, &k).await {
            let _ = archive::listed_rows(&sink, &k, &stored).await;
        }
        let _ = archive::stored_rows(&sink, &k).await;
    });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn lambda_payloads_are_planned_or_refused(v in json()) {
        if let Ok(p) = Payload::from_value(v) {
            let _ = to_request(&p, now(), PACIFIC, 2, 90);
        }
    }

    #[test]
    fn credentials_documents_are_read_or_refused(v in json(), text in ".{0,64}") {
        let _ = Credentials::from_json(&v.to_string(), "fuzz");
        let _ = Credentials::from_json(&text, "fuzz");
    }

    #[test]
    fn fortiflex_replies_are_rows_or_errors(v in json(), bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let body = v.to_string();
        for b in [body.as_bytes(), &bytes[..]] {
            let _ = parse_list::<PointsRow>("entitlements/points", 200, b, &["entitlements", "vms"]);
            let _ = parse_list::<Program>("programs/list", 200, b, &["programs"]);
            let e = parse_error_reply("entitlements/points", 400, b);
            prop_assert_eq!(e.http_status, Some(400));
        }
    }

    /// A reply read as its chunks arrive answers what a reading of the whole JSON value
    /// answers: the rows of the first list key present (or of a bare array), or an error,
    /// with FortiFlex's code when its `status` is not 0.
    #[test]
    fn fortiflex_replies_read_in_pieces_answer_as_the_whole_value(
        v in json(),
        rows in prop::collection::vec((0u32..1000, "[0-9]{1,4}\\.[0-9]{2}"), 0..8),
        status in prop_oneof![Just(None), Just(Some(0)), Just(Some(-10))],
        piece in 1usize..40,
    ) {
        let mut v = v;
        if let (Value::Object(m), false) = (&mut v, rows.is_empty()) {
            let list = rows.iter().map(|(s, p)| serde_json::json!({
                "serialNumber": format!("FGVM{s:04}"), "points": p.parse::<f64>().unwrap(),
            }));
            m.insert("entitlements".into(), Value::Array(list.collect()));
            if let Some(code) = status {
                m.insert("status".into(), Value::from(code));
            }
        }
        let body = v.to_string();
        let keys = &["entitlements", "vms"];
        let whole = parse_list::<PointsRow>("entitlements/points", 200, body.as_bytes(), keys);
        let mut reader = ReplyReader::<PointsRow>::new("entitlements/points", 200, keys);
        let pieces = body
            .as_bytes()
            .chunks(piece)
            .try_for_each(|c| reader.feed(c))
            .and_then(|()| reader.finish());
        prop_assert_eq!(&pieces, &whole);
        prop_assert_eq!(whole.map_err(|e| e.code), reference(&v, keys).map_err(|e| e.0));
    }

    #[test]
    fn stored_manifests_and_reports_are_read_or_refused(
        m in json(),
        r in json(),
        bytes in prop::collection::vec(any::<u8>(), 0..128),
    ) {
        read_back(m.to_string().into_bytes(), r.to_string().into_bytes());
        read_back(bytes.clone(), bytes);
    }
}

/// The reply's meaning, read from the whole value: rows, or an error and its code.
#[derive(Debug, PartialEq)]
struct Refused(Option<i64>);

fn reference(v: &Value, keys: &[&str]) -> Result<Vec<PointsRow>, Refused> {
    let rows = |list: &Vec<Value>| {
        list.iter()
            .map(|r| serde_json::from_str(&r.to_string()).map_err(|_| Refused(None)))
            .collect()
    };
    match v {
        Value::Array(list) => rows(list),
        Value::Object(m) => {
            if let Some(code) = m.get("status").and_then(Value::as_i64).filter(|c| *c != 0) {
                return Err(Refused(Some(code)));
            }
            match keys.iter().find_map(|k| m.get(*k)) {
                Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(list)) => rows(list),
                _ => Err(Refused(None)),
            }
        }
        _ => Err(Refused(None)),
    }
}
