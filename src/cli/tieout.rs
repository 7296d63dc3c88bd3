//! `fortiflex-report tieout`: a month's days against what Fortinet deducted from the prepaid
//! balance and each device against its configuration's rate, from the archive alone,
//! written under tieout/ and shown: a line per day, per product type and customer, and every
//! device-day that does not tie.

use std::fmt::Write as _;
use std::io::Write;

use chrono::{DateTime, Days, Utc};

use super::consumption::destination;
use super::{TieoutArgs, print};
use crate::adapters::storage::Sink;
use crate::config::Settings;
use crate::contract::keys;
use crate::domain::money::{Exact, display2, points_text};
use crate::domain::statement::Month;
use crate::domain::tieout::Status;
use crate::domain::tieout::balance::BalanceTieout;
use crate::domain::tieout::invoice::InvoiceTieout;
use crate::domain::tieout::rates::{RateTieout, Summary};
use crate::domain::window;
use crate::error::{Error, Result};
use crate::pipeline::{statements, tieout};

pub(super) async fn run(
    args: TieoutArgs,
    settings: Settings,
    now: DateTime<Utc>,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let yesterday = window::today(now, settings.timezone) - Days::new(1);
    let month = args.month.unwrap_or(Month::of(yesterday));
    if month.first() > yesterday {
        return Err(Error::InvalidRequest(format!(
            "{month} has no complete Pacific day yet"
        )));
    }
    let sink = destination(&args.out).await?;
    let program = args.program.to_string();
    let customers = statements::customers(&sink, settings.organizations).await?;
    if let Some(points) = args.invoice_points {
        tieout::keep_invoice(&sink, &program, month, points).await?;
    }
    let mut file = tieout::month(
        &sink,
        &tieout::Asked {
            program: &program,
            month,
            through: yesterday,
            program_start: None,
            // Offline the program's type is unknown: a postpaid one has no balance snapshots.
            prepaid: true,
            customers: customers.as_ref(),
        },
    )
    .await?;
    if file
        .balance
        .as_ref()
        .is_some_and(|b| b.days.iter().all(|d| d.drop.is_none()))
    {
        file.balance = None;
    }
    if file.balance.is_none() && file.rates.totals.device_days == 0 && file.invoice.is_none() {
        return Err(Error::InvalidRequest(format!(
            "nothing to tie out for {program} in {month} under {}: the tie-out needs two \
             consecutive balance snapshots (a prepaid program) or a rate snapshot and a stored \
             day, which the daily run (`consumption --daily` or the scheduled job) writes",
            args.out.display()
        )));
    }
    tieout::write(&sink, &file).await?;
    let at = format!(
        "{} (and its .csv)",
        sink.location(&keys::tieout_key(&program, month))
    );
    let currency = customers.as_ref().and_then(|c| c.currency.clone());
    let mut text = String::new();
    let _ = writeln!(
        text,
        "TIE-OUT {} {} through {}\n",
        file.program_serial, file.month, file.through
    );
    if let Some(b) = &file.balance {
        text.push_str(&balance_table(b));
    }
    text.push_str(&rates_table(&file.rates, currency.as_deref()));
    if let Some(i) = &file.invoice {
        text.push_str(&invoice_lines(i));
    }
    let _ = writeln!(text, "Written: {at}");
    print(out, &text)
}

/// A few lines for the demo: the balance's days, the rate audit, and each device-day that
/// differs without a known reason.
#[cfg(feature = "sim")]
pub(super) fn summary(file: &crate::domain::tieout::TieoutFile) -> String {
    use crate::domain::tieout::balance::Event;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "TIE-OUT {} {} through {} (fortiflex-report tieout shows every day)",
        file.program_serial, file.month, file.through
    );
    if let Some(b) = &file.balance {
        let t = &b.totals;
        let top_ups: Vec<String> = b
            .days
            .iter()
            .filter(|d| matches!(d.event, Some(Event::TopUp { .. })))
            .map(|d| format!("{} on {}", d.why(), d.day))
            .collect();
        let mut why_unknown: Vec<&str> = b
            .days
            .iter()
            .filter(|d| d.status == Status::Unknown)
            .filter_map(|d| d.note.as_deref())
            .collect();
        why_unknown.dedup();
        let _ = writeln!(
            o,
            "  Balance: {} days tie with what Fortinet deducted, {} differ, {} unknown{}{}",
            t.ties,
            t.differs,
            t.unknown,
            match why_unknown.as_slice() {
                [why] => format!(" ({why})"),
                _ => String::new(),
            },
            if top_ups.is_empty() {
                String::new()
            } else {
                format!(" ({})", top_ups.join(", "))
            }
        );
    }
    let t = &file.rates.totals;
    let _ = writeln!(
        o,
        "  Rates: {} device-days, {} tie, {} differ ({} with a known reason), {} unknown",
        t.device_days, t.ties, t.differs, t.explained, t.unknown
    );
    for s in &file.rates.product_types {
        if let Some(d) = s.discount_percent {
            let _ = writeln!(
                o,
                "    {} charged {} % below its rate (a discount)",
                s.key, d.0
            );
        }
    }
    for d in file
        .rates
        .devices
        .iter()
        .filter(|d| d.status == Status::Differs && d.reason.is_none())
    {
        let _ = writeln!(
            o,
            "    DIFFERS {} {} ({}, configuration {}): charged {}, rate {}, difference {}",
            d.day,
            d.serial,
            d.customer,
            d.configuration(),
            points_text(d.points.0),
            d.rate.map_or_else(|| "-".into(), |r| points_text(r.0)),
            d.difference
                .map_or_else(|| "-".into(), |r| points_text(r.0)),
        );
    }
    o.push('\n');
    o
}

/// One line per day (consumed, the balance's drop, the difference, the status and why), then
/// the month's totals.
fn balance_table(b: &BalanceTieout) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "BALANCE (what Fortinet deducted)");
    let _ = writeln!(
        o,
        "{:<12} {:>14} {:>14} {:>12} {:<8} Note",
        "Day", "Consumed", "Balance drop", "Difference", "Status"
    );
    let opt = |x: Option<rust_decimal::Decimal>| x.map_or_else(|| "-".into(), points_text);
    for d in &b.days {
        let _ = writeln!(
            o,
            "{:<12} {:>14} {:>14} {:>12} {:<8} {}",
            d.day,
            opt(d.consumed.map(|x| x.0)),
            opt(d.drop.map(|x| x.0)),
            opt(d.difference.map(|x| x.0)),
            status(d.status),
            d.why()
        );
    }
    let t = &b.totals;
    let _ = writeln!(o, "{}", "=".repeat(72));
    let _ = writeln!(
        o,
        "{:<12} {:>14} {:>14} {:>12}",
        "CHECKED",
        points_text(t.consumed.0),
        points_text(t.drop.0),
        points_text(t.difference.0)
    );
    let _ = writeln!(
        o,
        "\nDays that tie: {}, differ: {}, unknown: {} (tolerance {} point; top-ups {})",
        t.ties,
        t.differs,
        t.unknown,
        points_text(b.tolerance.0),
        points_text(t.top_ups.0)
    );
    if t.differs > 0 {
        let _ = writeln!(
            o,
            "A day that differs: run it again with --force; if it persists, open a case with \
             Fortinet with the file attached."
        );
    }
    o.push('\n');
    o
}

/// The rate audit: totals, one line per product type and customer, then every device-day
/// that differs or could not be checked.
fn rates_table(r: &RateTieout, currency: Option<&str>) -> String {
    let mut o = String::new();
    let t = &r.totals;
    let _ = writeln!(o, "RATES (each device against its configuration's rate)");
    if t.device_days == 0 {
        let _ = writeln!(
            o,
            "No rate snapshot covers the month yet: the daily run takes one.\n"
        );
        return o;
    }
    let money = |a: &Option<Exact>| {
        a.map_or_else(
            || "-".into(),
            |a| {
                let text = display2(a.0);
                currency.map_or(text.clone(), |c| format!("{text} {c}"))
            },
        )
    };
    let line = |o: &mut String, s: &Summary| {
        let _ = writeln!(
            o,
            "{:<28} {:>7} {:>7} {:>7} {:>13} {:>13} {:>11} {:>14}{}",
            s.key,
            s.device_days,
            s.ties,
            s.differs,
            points_text(s.charged.0),
            points_text(s.at_rate.0),
            points_text(s.difference.0),
            money(&s.amount),
            s.discount_percent
                .map(|d| format!("  discount {} %", d.0))
                .unwrap_or_default()
        );
    };
    let head = |o: &mut String, what: &str| {
        let _ = writeln!(
            o,
            "{:<28} {:>7} {:>7} {:>7} {:>13} {:>13} {:>11} {:>14}",
            what, "Days", "Tie", "Differ", "Charged", "At rate", "Difference", "Amount"
        );
    };
    head(&mut o, "Product type");
    r.product_types.iter().for_each(|s| line(&mut o, s));
    o.push('\n');
    head(&mut o, "Customer");
    r.customers.iter().for_each(|s| line(&mut o, s));
    let _ = writeln!(o, "{}", "=".repeat(72));
    line(&mut o, t);
    let _ = writeln!(
        o,
        "\nDevice-days that tie: {}, differ: {} ({} with a known reason), unknown: {} (tolerance {} point)",
        t.ties,
        t.differs,
        t.explained,
        t.unknown,
        points_text(r.tolerance.0)
    );
    if !r.devices.is_empty() {
        let _ = writeln!(
            o,
            "\n{:<12} {:<18} {:<14} {:>8} {:>10} {:>10} {:>11} {:<8} Reason",
            "Day", "Serial", "Customer", "Config", "Points", "Rate", "Difference", "Status"
        );
        let opt = |x: Option<Exact>| x.map_or_else(|| "-".into(), |x| points_text(x.0));
        for d in &r.devices {
            let _ = writeln!(
                o,
                "{:<12} {:<18} {:<14} {:>8} {:>10} {:>10} {:>11} {:<8} {}",
                d.day,
                d.serial,
                d.customer,
                d.config_id.map_or_else(|| "-".into(), |c| c.to_string()),
                points_text(d.points.0),
                opt(d.rate),
                opt(d.difference),
                status(d.status),
                d.why()
            );
        }
    }
    if r.devices_left_out > 0 {
        let _ = writeln!(
            o,
            "… and {} more device-days that differ: the largest {} differences are listed; the \
             summaries count every one.",
            r.devices_left_out,
            r.devices.len()
        );
    }
    for u in &r.unchecked {
        let _ = writeln!(
            o,
            "NOT CHECKED: {} device-days of configuration {} ({}) from {} to {}: {}",
            u.device_days,
            u.config_id.map_or_else(|| "-".into(), |c| c.to_string()),
            u.product_type,
            u.first_day,
            u.last_day,
            u.note
        );
    }
    o.push('\n');
    o
}

/// Fortinet's invoice figure against the month's reports.
fn invoice_lines(i: &InvoiceTieout) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "INVOICE (as entered)");
    let _ = writeln!(
        o,
        "Invoice {} points, reports {} points over {} of {} days: {}{}\n",
        points_text(i.invoice_points.0),
        points_text(i.reported.0),
        i.days_stored,
        i.days_in_month,
        match i.difference {
            Some(d) => format!("difference {}, ", points_text(d.0)),
            None => String::new(),
        },
        match (i.status, &i.note) {
            (_, Some(note)) => format!("unknown ({note})"),
            (s, None) => status(s).to_string(),
        }
    );
    o
}

/// A difference stands out on the console.
fn status(s: Status) -> &'static str {
    match s {
        Status::Differs => "DIFFERS",
        s => s.as_str(),
    }
}
