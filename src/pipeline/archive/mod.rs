//! What the archive already holds for a report: the current manifest (revision, totals,
//! files) and the points rows of the stored JSON. The archive outlives FortiFlex's 90 days,
//! so these reads decide what a run may fetch, skip, check or refuse to replace.

use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::adapters::fortiflex::PointsRow;
use crate::adapters::storage::Sink;
use crate::contract::PreviousFile;
use crate::contract::keys::{self, Keys};
use crate::domain::statement::{DayMeta, StoredRow};
use crate::error::{Error, Result};

pub(crate) mod record;
pub(crate) mod revision;
pub(crate) mod rollup;
mod stream;

use revision::{Listed, read_manifest_hashed};

/// A stored report's manifest, as far as a run needs it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub revision: u64,
    pub entitlements: usize,
    pub points: Decimal,
    /// `totals` exactly as stored, carried into the next revision's `previous`.
    pub totals: Box<RawValue>,
    pub files: Vec<PreviousFile>,
    /// The SHA-256 of the manifest's bytes.
    pub manifest_sha256: String,
}

#[derive(Deserialize)]
struct Manifest {
    revision: u64,
    totals: Box<RawValue>,
    files: Vec<PreviousFile>,
}

#[derive(Deserialize)]
struct Totals<'a> {
    entitlements: usize,
    #[serde(borrow)]
    points: &'a RawValue,
}

fn unreadable(sink: &impl Sink, key: &str, why: impl std::fmt::Display) -> Error {
    revision::unreadable(sink, key, "report", why)
}

impl Listed for Stored {
    fn revision(&self) -> u64 {
        self.revision
    }
    fn files(&self) -> &[PreviousFile] {
        &self.files
    }
}

/// The current manifest of the report at `keys`, or `None` when nothing is stored.
pub async fn stored(sink: &impl Sink, keys: &Keys) -> Result<Option<Stored>> {
    let Some((m, manifest_sha256)) =
        read_manifest_hashed::<Manifest>(sink, &keys.manifest, "report").await?
    else {
        return Ok(None);
    };
    let t: Totals =
        serde_json::from_str(m.totals.get()).map_err(|e| unreadable(sink, &keys.manifest, e))?;
    let points = Decimal::from_str(t.points.get())
        .map_err(|e| unreadable(sink, &keys.manifest, format!("totals.points: {e}")))?;
    Ok(Some(Stored {
        revision: m.revision,
        entitlements: t.entitlements,
        points,
        totals: m.totals,
        files: m.files,
        manifest_sha256,
    }))
}

/// The serial, account and exact points of every row of the stored JSON report.
pub async fn stored_rows(sink: &impl Sink, keys: &Keys) -> Result<Vec<PointsRow>> {
    let file = sink
        .get_file(&keys.json)
        .await?
        .ok_or_else(|| unreadable(sink, &keys.json, "its manifest lists it, but it is missing"))?;
    let mut rows = Vec::new();
    stream::rows(file, |r| rows.push(points_row(r)))
        .map_err(|e| unreadable(sink, &keys.json, e))?;
    Ok(rows)
}

/// The rows of the stored JSON when it is the file `stored` lists (same SHA-256); `None`
/// when it is not: a write broke off after the data files and before the manifest, so the
/// day must be fetched whole again.
pub async fn listed_rows(
    sink: &impl Sink,
    keys: &Keys,
    stored: &Stored,
) -> Result<Option<Vec<PointsRow>>> {
    let mut rows = Vec::new();
    let read = read_listed(sink, &keys.json, &stored.files, |r| {
        rows.push(points_row(r))
    });
    Ok(matches!(read.await?, Checked::Read).then_some(rows))
}

fn points_row(r: StoredRow) -> PointsRow {
    PointsRow {
        serial_number: r.serial_number,
        account_id: Some(r.account_id),
        points: r.points,
    }
}

/// What [`read_listed`] found.
enum Checked {
    Missing,
    /// A file that is not the one the manifest lists: no row was read.
    Differs,
    Read,
}

/// Streams the rows of the JSON at `key` to `each` when it is the file `files` lists (same
/// SHA-256). The file is hashed before any row is read, and never held whole in memory.
async fn read_listed(
    sink: &impl Sink,
    key: &str,
    files: &[PreviousFile],
    each: impl FnMut(StoredRow),
) -> Result<Checked> {
    use std::io::{Seek, copy};
    let Some(mut file) = sink.get_file(key).await? else {
        return Ok(Checked::Missing);
    };
    let mut hasher = Sha256::new();
    copy(&mut file, &mut hasher).map_err(|e| unreadable(sink, key, e))?;
    let sha = format!("{:x}", hasher.finalize());
    if !files.iter().any(|f| f.key == key && f.sha256 == sha) {
        return Ok(Checked::Differs);
    }
    file.rewind().map_err(|e| unreadable(sink, key, e))?;
    stream::rows(file, each).map_err(|e| unreadable(sink, key, e))?;
    Ok(Checked::Read)
}

/// `program`'s stored daily report of `day`, its rows given to `each` one at a time as the
/// file is read (see [`stream`]); `None` when the day is not stored. The file is checked
/// against its manifest before any row is read: a report that no longer matches is an error
/// naming it, never a silently short month.
pub async fn read_stored_day(
    sink: &impl Sink,
    program: &str,
    day: NaiveDate,
    each: impl FnMut(StoredRow),
) -> Result<Option<DayMeta>> {
    let keys = keys::daily_keys(program, day);
    let Some(manifest) = sink.get(&keys.manifest).await? else {
        return Ok(None);
    };
    let m: Manifest =
        serde_json::from_slice(&manifest).map_err(|e| unreadable(sink, &keys.manifest, e))?;
    match read_listed(sink, &keys.json, &m.files, each).await? {
        Checked::Read => {}
        Checked::Missing => {
            let why = "its manifest lists it, but it is missing";
            return Err(unreadable(sink, &keys.json, why));
        }
        Checked::Differs => {
            let why = "it does not match its manifest; run that day again";
            return Err(unreadable(sink, &keys.json, why));
        }
    }
    Ok(Some(DayMeta {
        date: day,
        revision: m.revision,
        manifest_sha256: crate::contract::sha256_hex(&manifest),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::storage::MemorySink;
    use crate::contract;
    use crate::domain::ids::AccountId;
    use crate::domain::statement::StoredDay;
    use crate::pipeline::publish::{Options, publish};
    use crate::testutil::{dec, walkthrough_day};

    #[tokio::test]
    async fn reads_back_what_publish_wrote() {
        let sink = MemorySink::new();
        let r = walkthrough_day("2025-11-08");
        let keys = keys::report_keys(&r.spec);
        assert!(stored(&sink, &keys).await.unwrap().is_none());
        publish(&sink, &r, "run-1", chrono::Utc::now(), Options::default())
            .await
            .unwrap();
        let s = stored(&sink, &keys).await.unwrap().unwrap();
        assert_eq!(
            (s.revision, s.entitlements, s.points),
            (1, 13, dec("399.42"))
        );
        assert_eq!(s.files.len(), 2);
        let rows = stored_rows(&sink, &keys).await.unwrap();
        assert_eq!(rows.len(), 13);
        assert_eq!(rows[0].points.to_string(), "107.20");
        assert_eq!(rows[0].account_id, Some(AccountId(2321234)));
        assert_eq!(
            listed_rows(&sink, &keys, &s)
                .await
                .unwrap()
                .map(|r| r.len()),
            Some(13)
        );
        // Data rewritten without its manifest (a write that broke off): not the listed file.
        sink.put(&keys.json, b"{}".to_vec(), "application/json")
            .await
            .unwrap();
        assert!(listed_rows(&sink, &keys, &s).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_statement_reads_a_stored_day_whole_or_not_at_all() {
        let sink = MemorySink::new();
        let r = walkthrough_day("2025-11-08");
        let program = r.spec.program_serial.to_string();
        let day = r.spec.range.start();
        let stored_day = |sink, program, day| async move {
            let mut rows = Vec::new();
            let meta = read_stored_day(sink, program, day, |r| rows.push(r)).await?;
            Ok::<_, Error>(meta.map(|m| StoredDay {
                date: m.date,
                revision: m.revision,
                manifest_sha256: m.manifest_sha256,
                rows,
            }))
        };
        assert_eq!(stored_day(&sink, &program, day).await.unwrap(), None);
        publish(&sink, &r, "run-1", chrono::Utc::now(), Options::default())
            .await
            .unwrap();
        let d = stored_day(&sink, &program, day).await.unwrap().unwrap();
        assert_eq!((d.date, d.revision, d.rows.len()), (day, 1, 13));
        let keys = keys::report_keys(&r.spec);
        let manifest = sink.object(&keys.manifest).unwrap().0;
        assert_eq!(d.manifest_sha256, contract::sha256_hex(&manifest));
        let total: Decimal = d.rows.iter().map(|r| r.points).sum();
        assert_eq!(total, dec("399.42"));
        let top = &d.rows[0];
        assert_eq!(
            (
                top.serial_number.as_str(),
                top.config_id,
                top.points.to_string()
            ),
            ("FMVMMLTM00000582", Some(4101), "107.20".to_string())
        );
        assert!(top.config_name.is_some() && top.product_type.is_some());
        // A data file that no longer matches its manifest is an error, not a short month.
        sink.put(&keys.json, b"{}".to_vec(), "application/json")
            .await
            .unwrap();
        let err = stored_day(&sink, &program, day).await.unwrap_err();
        assert_eq!(err.kind(), "Storage");
        assert!(
            err.to_string().contains("does not match its manifest"),
            "{err}"
        );
    }
}
