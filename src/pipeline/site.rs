//! The site from the archive: the last 90 stored days summed per customer (a day at a time,
//! so a 100,000-entitlement day is dropped once added), the top consumers of the last 7,
//! then the pages ([`crate::contract::site`]) written statement pages first and `site/index.html` last.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Days, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::adapters::storage::{Sink, Staged};
use crate::contract::keys;
use crate::contract::site::{self, DayPoints, Site, TopEntitlement};
use crate::domain::alerts::DayAlerts;
use crate::domain::balance::Snapshot;
use crate::domain::customers::Customers;
use crate::domain::statement::Statement;
use crate::domain::tieout::TieoutFile;
use crate::domain::tieout::balance::{self, BalanceTieout};
use crate::error::{Error, Result};
use crate::pipeline::archive::rollup;
use crate::pipeline::tieout::{self, Readings};

const HTML: &str = "text/html; charset=utf-8";
/// Days of history the chart shows: FortiFlex's own window, which the archive outlives.
pub(crate) const CHART_DAYS: u64 = 90;
const TOP_DAYS: u64 = 7;
/// Days the tie-out panel shows: a month of balance drops.
const TIEOUT_DAYS: u64 = 30;
const TOP_ROWS: usize = 10;

/// What the site shows besides the stored days.
pub(crate) struct Extras<'a> {
    pub snapshot: Option<&'a Snapshot>,
    pub alerts: &'a [DayAlerts],
    /// The month-to-date statement, whose customers get a page each.
    pub month: Option<&'a Statement>,
    pub restate_days: u32,
    pub now: DateTime<Utc>,
    /// The tie-outs the run wrote, oldest month first.
    pub tieouts: &'a [TieoutFile],
}

/// The chart's days and the top consumers, from the stored days before `today`: each
/// day's points per customer from its rollup's summary, the rows of only the last
/// [`TOP_DAYS`] (the top consumers), so the 90 days cost 90 small reads.
pub(crate) async fn history(
    sink: &impl Sink,
    program: &str,
    today: NaiveDate,
    customers: Option<&Customers>,
) -> Result<History> {
    let mut days = Vec::new();
    let mut recent: HashMap<String, TopEntitlement> = HashMap::new();
    let top_from = today - Days::new(TOP_DAYS);
    let fingerprint = rollup::fingerprint(customers);
    for n in (1..=CHART_DAYS).rev() {
        let date = today - Days::new(n);
        if date < top_from {
            if let Some(by_customer) =
                rollup::customer_points(sink, program, date, customers).await?
            {
                days.push(DayPoints { date, by_customer });
            }
            continue;
        }
        let Some(day) = rollup::day_rows(sink, program, date).await? else {
            continue;
        };
        let mut by_customer: HashMap<String, Decimal> = HashMap::new();
        day.rows(sink, |r| {
            let customer = rollup::customer_of(customers, &r);
            match by_customer.get_mut(&customer) {
                Some(p) => *p += r.points,
                None => {
                    by_customer.insert(customer.clone(), r.points);
                }
            }
            let t = match recent.get_mut(r.serial_number) {
                Some(t) => t,
                None => recent
                    .entry(r.serial_number.to_string())
                    .or_insert_with(|| TopEntitlement {
                        serial_number: r.serial_number.to_string(),
                        account_id: r.account_id,
                        customer: String::new(),
                        config_name: None,
                        points: Decimal::ZERO,
                    }),
            };
            t.points += r.points;
            t.account_id = r.account_id;
            t.customer = customer;
            if let Some(name) = r.config_name
                && t.config_name.as_deref() != Some(name)
            {
                t.config_name = Some(name.to_string());
            }
        })?;
        let mut by_customer: Vec<(String, Decimal)> = by_customer.into_iter().collect();
        by_customer.sort();
        if day.customer_totals(&fingerprint).is_none() {
            day.remember(sink, &fingerprint, &by_customer).await?;
        }
        days.push(DayPoints { date, by_customer });
    }
    let mut top: Vec<TopEntitlement> = recent.into_values().collect();
    top.sort_by(|a, b| {
        b.points
            .cmp(&a.points)
            .then_with(|| a.serial_number.cmp(&b.serial_number))
    });
    top.truncate(TOP_ROWS);
    let readings = tieout::readings(sink, program, today - Days::new(CHART_DAYS), today).await?;
    Ok(History {
        days,
        top,
        readings,
    })
}

/// The site's days, top consumers and balance readings, as [`history`] reads them.
pub(crate) struct History {
    pub days: Vec<DayPoints>,
    pub top: Vec<TopEntitlement>,
    pub readings: Readings,
}

impl History {
    /// The balance tie-out of the last [`TIEOUT_DAYS`] complete days from the first
    /// snapshot on, from the days' totals already read; `None` with fewer than two snapshots
    /// (a postpaid program has none).
    fn tieout_days(&self, today: NaiveDate) -> Option<BalanceTieout> {
        let balances = &self.readings.balances;
        let (first_read, _) = balances.first_key_value()?;
        let first = (*first_read).max(today - Days::new(TIEOUT_DAYS));
        let last = today - Days::new(1);
        if balances.len() < 2 || first > last {
            return None;
        }
        let daily: BTreeMap<NaiveDate, Decimal> =
            self.days.iter().map(|d| (d.date, d.total())).collect();
        Some(balance::tie_out(
            first,
            last,
            &daily,
            balances,
            self.readings.anniversary,
        ))
    }
}

/// Writes the site of `program` as of the Pacific day `today` from `history` (read before
/// the month's statement is built, so a stored day and the statement are never in memory
/// together); returns the keys written.
pub(crate) async fn publish_site(
    sink: &impl Sink,
    program: &str,
    today: NaiveDate,
    history: &History,
    extras: &Extras<'_>,
) -> Result<Vec<String>> {
    let (days, top) = (&history.days, &history.top);
    let mut written = Vec::new();
    if let Some(m) = extras.month {
        written = statement_pages(sink, program, m).await?;
    }
    let provisional_from = (extras.restate_days > 0)
        .then(|| today.checked_sub_days(Days::new(u64::from(extras.restate_days))))
        .flatten();
    let tieout_days = history.tieout_days(today);
    let index = site::index(&Site {
        program_serial: program,
        refreshed_at: extras.now,
        days,
        provisional_from,
        top,
        balance: extras.snapshot,
        balances: &history.readings.balances,
        tieout_days: tieout_days.as_ref(),
        tieout: extras.tieouts.last(),
        month: extras.month,
        alerts: extras.alerts,
    });
    sink.put(keys::SITE_INDEX, index.into_bytes(), HTML).await?;
    written.push(keys::SITE_INDEX.to_string());
    Ok(written)
}

/// Writes one statement page per customer of `m` (an empty billing section, which the
/// month's push fills); returns the keys written.
pub(crate) async fn statement_pages(
    sink: &impl Sink,
    program: &str,
    m: &Statement,
) -> Result<Vec<String>> {
    let mut written = Vec::with_capacity(m.customers.len());
    for c in &m.customers {
        let key = keys::site_statement_page(m.month, &c.id);
        let page = Staged::render(|w| {
            site::write_statement_page(program, m, c, w)
                .map_err(|e| Error::Storage(format!("cannot stage {key}: {e}")))
        })?;
        sink.put_staged(&key, page, HTML).await?;
        written.push(key);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::storage::MemorySink;
    use crate::domain::customers::Customers;
    use crate::testutil::store_walkthrough;

    #[tokio::test]
    async fn the_site_sums_stored_days_per_customer_and_writes_the_index_last() {
        let sink = MemorySink::new();
        store_walkthrough(&sink, &["2025-11-01", "2025-11-02", "2025-11-03"]).await;
        let today: NaiveDate = "2025-11-04".parse().unwrap();
        let history = history(&sink, "ELAVMS0000123456", today, None)
            .await
            .unwrap();
        let (days, top) = (&history.days, &history.top);
        assert_eq!(days.len(), 3);
        assert_eq!(days[0].date, "2025-11-01".parse::<NaiveDate>().unwrap());
        // Without a customers file each account is a customer; the day's total is the report's.
        assert_eq!(days[0].total().to_string(), "399.42");
        assert_eq!(top.len(), 10);
        assert_eq!(top[0].serial_number, "FMVMMLTM00000582");
        assert_eq!(top[0].points.to_string(), "321.60", "3 × 107.20");

        let extras = Extras {
            snapshot: None,
            alerts: &[],
            month: None,
            restate_days: 2,
            now: Utc::now(),
            tieouts: &[],
        };
        let written = publish_site(&sink, "ELAVMS0000123456", today, &history, &extras)
            .await
            .unwrap();
        assert_eq!(written, [keys::SITE_INDEX]);
        let (html, content_type) = sink.object(keys::SITE_INDEX).unwrap();
        let html = String::from_utf8(html).unwrap();
        assert_eq!(content_type, HTML);
        let bars = html.matches("<rect class=\"bar\"").count();
        let expected: usize = history.days.iter().map(|d| d.by_customer.len()).sum();
        assert_eq!(bars, expected);
        assert!(html.contains("Days from 2025-11-02 on are provisional"));
        assert_eq!(
            sink.puts().last().map(String::as_str),
            Some(keys::SITE_INDEX)
        );
    }

    #[tokio::test]
    async fn the_history_is_the_same_from_rollups_from_rebuilt_ones_and_for_any_customers() {
        let sink = MemorySink::new();
        let days: Vec<String> = (1..=12).map(|d| format!("2025-11-{d:02}")).collect();
        let days: Vec<&str> = days.iter().map(String::as_str).collect();
        store_walkthrough(&sink, &days).await;
        let today: NaiveDate = "2025-11-13".parse().unwrap();
        let program = "ELAVMS0000123456";
        let customers = Customers::parse(
            r#"{"customers": [{"id": "lab", "name": "Lab", "serials": ["FZVMMLTM00000689"]},
                {"id": "fmg", "name": "FMG", "configs": [4101]}]}"#,
            "c.json",
        )
        .unwrap();
        for c in [None, Some(&customers)] {
            let read = history(&sink, program, today, c).await.unwrap();
            let again = history(&sink, program, today, c).await.unwrap();
            assert_eq!((&again.days, &again.top), (&read.days, &read.top));
            // An archive without rollups gives the same history.
            for d in &days {
                let k = keys::rollup_keys(program, d.parse().unwrap());
                sink.delete(&k.rows).await.unwrap();
                sink.delete(&k.summary).await.unwrap();
            }
            let rebuilt = history(&sink, program, today, c).await.unwrap();
            assert_eq!((&rebuilt.days, &rebuilt.top), (&read.days, &read.top));
            assert_eq!(read.days.len(), 12);
            let ids: Vec<&str> = read.days[0]
                .by_customer
                .iter()
                .map(|(id, _)| id.as_str())
                .collect();
            match c {
                None => assert_eq!(ids, ["2321234"]),
                Some(_) => assert_eq!(ids, ["fmg", "lab", "unassigned"]),
            }
            assert_eq!(read.days[0].total().to_string(), "399.42");
        }
    }
}
