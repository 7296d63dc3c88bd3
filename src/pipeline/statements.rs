//! Monthly statements from the archive, no FortiFlex call: read the month's stored daily
//! reports, build the statement ([`crate::domain::statement`]), and publish its files with the
//! manifest last. Idempotent like reports: the same stored days give the same bytes and
//! nothing is written; a restated day gives a new revision.

use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use crate::adapters::storage::{Sink, Staged, StagedWriter, Staging};
use crate::contract::focus::Focus;
use crate::contract::keys::StatementKeys;
use crate::contract::statement as bytes;
use crate::contract::{FileEntry, JSON_CONTENT_TYPE, PreviousFile};
use crate::domain::customers::Customers;
use crate::domain::ids::Serial;
use crate::domain::statement::{Fold, Month, Statement};
use crate::error::{Error, Result};
use crate::pipeline::archive::{read_stored_day, stored_day};

const CSV: &str = crate::contract::CSV_CONTENT_TYPE;

/// What one statement run did.
#[derive(Debug)]
pub struct Published {
    pub keys: StatementKeys,
    pub statement: Statement,
    pub revision: u64,
    /// False when the stored statement already had these exact bytes.
    pub written: bool,
}

#[derive(Deserialize)]
struct StoredManifest {
    revision: u64,
    files: Vec<PreviousFile>,
}

/// Builds and publishes `program`'s statement of `month` from what `sink` holds, as of the
/// Pacific day `today`. `customers`: the customers file, else one customer per account.
#[allow(clippy::too_many_arguments)]
pub async fn publish_statement(
    sink: &impl Sink,
    program: &Serial,
    month: Month,
    customers: Option<&Customers>,
    timezone: Tz,
    today: NaiveDate,
    restate_days: u32,
    run_id: &str,
    now: DateTime<Utc>,
) -> Result<Published> {
    if month.first() >= today {
        return Err(Error::InvalidRequest(format!(
            "{month} has no complete day yet (today is {today} in {timezone})"
        )));
    }
    // One stored day at a time: folded into the statement's lines and, with a customers
    // file, written out as FOCUS rows, then dropped (a month of 100,000-entitlement days is
    // gigabytes of rows).
    let mut fold = Fold::new(month);
    let mut focus = match customers {
        Some(c) => Some(Focus::new(program, month, timezone, c, Staging::new()?)?),
        None => None,
    };
    for day in month.days().take_while(|d| *d < today) {
        match focus.as_mut() {
            // FOCUS orders a day's rows by serial, so it takes the day whole.
            Some(f) => {
                if let Some(d) = stored_day(sink, program, day).await? {
                    f.day(&d)?;
                    fold.add(d, customers);
                }
            }
            None => {
                let read = read_stored_day(sink, program, day, |r| fold.add_row(r, customers));
                if let Some(meta) = read.await? {
                    fold.add_source(meta);
                }
            }
        }
    }
    let focus = match focus {
        Some(f) => match f.finish()? {
            Some((staging, rows)) => Some((staging.finish()?, rows)),
            None => None,
        },
        None => None,
    };
    let per_account;
    let customers = match customers {
        Some(c) => c,
        None => {
            per_account = Customers::per_account(&fold.accounts());
            &per_account
        }
    };
    let statement = fold.finish(customers, today, restate_days);
    let keys = StatementKeys::new(program, month);

    // Each file goes to a staged temporary file as it is rendered, so none is held in memory
    // (at 100,000 entitlements each is tens of megabytes).
    let n = lines(&statement);
    let mut bodies = vec![
        (
            keys.csv.clone(),
            "csv",
            n,
            render(|w| bytes::csv(&statement, w))?,
            CSV,
        ),
        (
            keys.json.clone(),
            "json",
            n,
            render(|w| bytes::json(program, timezone, &statement, w))?,
            JSON_CONTENT_TYPE,
        ),
        (
            keys.xlsx.clone(),
            "xlsx",
            n,
            stage(crate::contract::workbook::xlsx(program, &statement)?)?,
            crate::contract::XLSX_CONTENT_TYPE,
        ),
    ];
    if let Some((focus, rows)) = focus {
        bodies.push((keys.focus.clone(), "focus", rows, focus, CSV));
    }
    for c in &statement.customers {
        bodies.push((
            keys.customer(&c.id),
            "csv",
            c.lines.len(),
            render(|w| bytes::customer_csv(&statement, c, w))?,
            CSV,
        ));
    }
    let files: Vec<FileEntry> = bodies
        .iter()
        .map(|(key, format, rows, body, _)| body.entry(key, format, *rows))
        .collect();

    let stored: Option<StoredManifest> = match sink.get(&keys.manifest).await? {
        None => None,
        Some(b) => Some(serde_json::from_slice(&b).map_err(|e| {
            Error::Storage(format!(
                "the stored {} is unreadable ({e}); move it aside to rewrite the statement",
                sink.location(&keys.manifest)
            ))
        })?),
    };
    if let Some(s) = stored
        .as_ref()
        .filter(|s| crate::contract::same_files(&s.files, &files))
    {
        return Ok(Published {
            keys,
            statement,
            revision: s.revision,
            written: false,
        });
    }
    let revision = stored.as_ref().map_or(1, |s| s.revision + 1);
    let manifest = bytes::manifest(
        program,
        &statement,
        &files,
        run_id,
        now,
        revision,
        stored.as_ref().map(|s| (s.revision, s.files.as_slice())),
    )?;
    for (key, _, _, body, content_type) in bodies {
        sink.put_staged(&key, body, content_type).await?;
    }
    sink.put(&keys.manifest, manifest, JSON_CONTENT_TYPE)
        .await?;
    Ok(Published {
        keys,
        statement,
        revision,
        written: true,
    })
}

/// `body` moved to a staged file (hashed on the way), its memory freed.
fn stage(body: Vec<u8>) -> Result<Staged> {
    render(|w| {
        w.write_all(&body)
            .map_err(|e| Error::Storage(format!("cannot stage a statement file: {e}")))
    })
}

/// A statement file rendered straight into a staged file.
fn render(write: impl FnOnce(&mut StagedWriter) -> Result<()>) -> Result<Staged> {
    Staged::render(write)
}

fn lines(s: &Statement) -> usize {
    s.customers.iter().map(|c| c.lines.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::storage::MemorySink;
    use crate::domain::ids::AccountId;
    use crate::domain::window::PACIFIC;
    use crate::pipeline::publish::{Options, publish};
    use crate::testutil::store_walkthrough;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[tokio::test]
    async fn a_statement_is_written_once_and_revised_when_a_day_is_added() {
        let sink = MemorySink::new();
        store_walkthrough(&sink, &["2025-11-01", "2025-11-02"]).await;
        let program = Serial::parse("ELAVMS0000123456", "program").unwrap();
        let month = Month::parse("2025-11").unwrap();
        let customers = Customers::parse(
            r#"{"currency": "EUR", "price_per_point": "0.10", "customers": []}"#,
            "c.json",
        )
        .unwrap();
        let run = |today: &str| {
            let (sink, program, customers) = (&sink, &program, &customers);
            let today = day(today);
            async move {
                publish_statement(
                    sink,
                    program,
                    month,
                    Some(customers),
                    PACIFIC,
                    today,
                    2,
                    "run",
                    Utc::now(),
                )
                .await
                .unwrap()
            }
        };
        let first = run("2025-11-03").await;
        assert!(first.written);
        assert_eq!(first.revision, 1);
        // Two walkthrough days at 399.42 a day, every line unassigned at the file's 0.10.
        assert_eq!(first.statement.points.to_string(), "798.84");
        let missing = first.statement.missing_days.len();
        assert_eq!(missing, 28);
        let json: serde_json::Value =
            serde_json::from_slice(&sink.object(&first.keys.json).unwrap().0).unwrap();
        assert_eq!(json["status"], "provisional");
        assert_eq!(json["days_present"], 2);
        assert_eq!(json["currency"], "EUR");
        let csv = String::from_utf8(sink.object(&first.keys.csv).unwrap().0).unwrap();
        assert!(csv.starts_with("month,customer_id,customer_name,account_id,serial_number"));
        assert_eq!(csv.lines().count(), 1 + 13);
        assert!(sink.object(&first.keys.customer("unassigned")).is_some());
        let amount: rust_decimal::Decimal = first.statement.customers[0]
            .lines
            .iter()
            .filter_map(|l| l.amount)
            .sum();
        assert_eq!(first.statement.amount, Some(amount));

        let again = run("2025-11-03").await;
        assert!(!again.written, "the same stored days write nothing");
        store_walkthrough(&sink, &["2025-11-03"]).await;
        let third = run("2025-11-04").await;
        assert!(third.written);
        assert_eq!(third.revision, 2);
        let manifest: serde_json::Value =
            serde_json::from_slice(&sink.object(&third.keys.manifest).unwrap().0).unwrap();
        assert_eq!(manifest["previous"]["revision"], 1);
        assert_eq!(
            sink.puts().last(),
            Some(&third.keys.manifest),
            "manifest last"
        );
    }

    #[tokio::test]
    async fn a_restated_day_gives_a_new_revision_built_from_its_new_revision() {
        use crate::testutil::{catalog, request, rows, spec};
        let sink = MemorySink::new();
        store_walkthrough(&sink, &["2025-11-01", "2025-11-02"]).await;
        let program = Serial::parse("ELAVMS0000123456", "program").unwrap();
        let month = Month::parse("2025-11").unwrap();
        let statement = |sink| {
            let program = &program;
            async move {
                publish_statement(
                    sink,
                    program,
                    month,
                    None,
                    PACIFIC,
                    day("2025-11-20"),
                    2,
                    "run",
                    Utc::now(),
                )
                .await
                .unwrap()
            }
        };
        let first = statement(&sink).await;
        assert_eq!(
            (first.revision, first.statement.points.to_string()),
            (1, "798.84".into())
        );
        // FortiCloud corrects 2 November: one entitlement's 21.66 becomes 22.00.
        let mut corrected: Vec<(&str, &str)> = crate::testutil::WALKTHROUGH_DAY.to_vec();
        for r in &mut corrected {
            if r.0 == "FGVMMLTM00000993" {
                r.1 = "22.00";
            }
        }
        let s = spec("2025-11-02");
        let q = request(&s);
        let report = crate::domain::report::build(
            s,
            q,
            vec![AccountId(2321234)],
            rows(&corrected),
            &catalog(),
        )
        .unwrap();
        publish(&sink, &report, "run-2", Utc::now(), Options::default())
            .await
            .unwrap();
        let second = statement(&sink).await;
        assert!(second.written);
        assert_eq!(second.revision, 2);
        assert_eq!(second.statement.points.to_string(), "799.18");
        let source = second
            .statement
            .sources
            .iter()
            .find(|s| s.0 == day("2025-11-02"));
        assert_eq!(
            source.map(|s| s.1),
            Some(2),
            "built from the day's revision 2"
        );
    }

    #[tokio::test]
    async fn a_month_not_begun_is_refused() {
        let sink = MemorySink::new();
        let program = Serial::parse("ELAVMS0000123456", "program").unwrap();
        let err = publish_statement(
            &sink,
            &program,
            Month::parse("2025-12").unwrap(),
            None,
            PACIFIC,
            day("2025-12-01"),
            2,
            "run",
            Utc::now(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "InvalidRequest");
        assert!(sink.puts().is_empty());
    }
}
