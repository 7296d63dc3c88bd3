//! The tie-out's CSV, for a finance team's spreadsheet: one table, a `kind` per row — each
//! day of the balance part, the rate part's totals, each product type and customer, and every
//! device-day that does not tie — with the same columns throughout: what was charged, what it
//! was checked against, the difference, the status and the reason.

use std::io::Write;

use super::{rendering, safe_text};
use crate::domain::money::{Exact, display2, points_text};
use crate::domain::tieout::TieoutFile;
use crate::domain::tieout::balance::Event;
use crate::domain::tieout::rates::Summary;
use crate::error::Result;

const COLUMNS: [&str; 15] = [
    "month",
    "kind",
    "day",
    "key",
    "customer",
    "config_id",
    "config_name",
    "product_type",
    "charged",
    "expected",
    "difference",
    "amount",
    "status",
    "reason",
    "note",
];

/// `kind`: `balance` (a day: consumed against the balance's drop), `invoice` (the month's
/// reports against Fortinet's invoice, as entered), `rates_total`,
/// `product_type`, `customer` (charged against the calculator's rates), `device` (a device-day
/// that differs: points against its rate), `unchecked` (device-days of a configuration that
/// could not be checked, from `day`).
pub(crate) fn csv(f: &TieoutFile, out: &mut impl Write) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(out);
    let fail = |e: csv::Error| rendering("tie-out CSV", e);
    w.write_record(COLUMNS).map_err(fail)?;
    let points = |x: Option<Exact>| x.map(|x| points_text(x.0)).unwrap_or_default();
    let month = f.month.as_str();
    for d in f.balance.iter().flat_map(|b| &b.days) {
        let reason = match &d.event {
            Some(Event::TopUp { points }) => format!("top-up {}", points_text(points.0)),
            Some(Event::Rollover { points }) => format!("roll-over {}", points_text(points.0)),
            None => String::new(),
        };
        w.write_record([
            month,
            "balance",
            &d.day.to_string(),
            "",
            "",
            "",
            "",
            "",
            &points(d.consumed),
            &points(d.drop),
            &points(d.difference),
            "",
            d.status.as_str(),
            &reason,
            d.note.as_deref().unwrap_or(""),
        ])
        .map_err(fail)?;
    }
    if let Some(i) = &f.invoice {
        w.write_record([
            month,
            "invoice",
            "",
            "",
            "",
            "",
            "",
            "",
            &points_text(i.reported.0),
            &points_text(i.invoice_points.0),
            &points(i.difference),
            "",
            i.status.as_str(),
            "",
            i.note.as_deref().unwrap_or(""),
        ])
        .map_err(fail)?;
    }
    let r = &f.rates;
    let summaries = std::iter::once(("rates_total", &r.totals))
        .chain(r.product_types.iter().map(|s| ("product_type", s)))
        .chain(r.customers.iter().map(|s| ("customer", s)));
    for (kind, s) in summaries {
        let mut row = summary(month, kind, s);
        if kind == "rates_total" && r.devices_left_out > 0 {
            row[14].push_str(&format!(
                "; {} more device-days differ than the {} listed",
                r.devices_left_out,
                r.devices.len()
            ));
        }
        w.write_record(row).map_err(fail)?;
    }
    for d in &r.devices {
        w.write_record([
            month,
            "device",
            &d.day.to_string(),
            &safe_text(&d.serial),
            &safe_text(&d.customer),
            &d.config_id.map(|c| c.to_string()).unwrap_or_default(),
            &safe_text(d.config_name.as_deref().unwrap_or("")),
            &safe_text(&d.product_type),
            &points_text(d.points.0),
            &points(d.rate),
            &points(d.difference),
            "",
            d.status.as_str(),
            &d.reason
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            d.note.as_deref().unwrap_or(""),
        ])
        .map_err(fail)?;
    }
    for u in &r.unchecked {
        let config = u.config_id.map(|c| c.to_string()).unwrap_or_default();
        w.write_record([
            month,
            "unchecked",
            &u.first_day.to_string(),
            &config,
            "",
            &config,
            "",
            &safe_text(&u.product_type),
            "",
            "",
            "",
            "",
            "unknown",
            "",
            &safe_text(&format!(
                "{} device-days through {}: {}",
                u.device_days, u.last_day, u.note
            )),
        ])
        .map_err(fail)?;
    }
    w.flush().map_err(|e| rendering("tie-out CSV", e))
}

fn summary(month: &str, kind: &str, s: &Summary) -> [String; 15] {
    let key = safe_text(&s.key).into_owned();
    let (customer, product_type) = match kind {
        "customer" => (key.clone(), String::new()),
        "product_type" => (String::new(), key.clone()),
        _ => (String::new(), String::new()),
    };
    let unexplained = s.differs - s.explained;
    [
        month.to_string(),
        kind.to_string(),
        String::new(),
        key,
        customer,
        String::new(),
        String::new(),
        product_type,
        points_text(s.charged.0),
        points_text(s.at_rate.0),
        points_text(s.difference.0),
        s.amount.map(|a| display2(a.0)).unwrap_or_default(),
        if unexplained > 0 { "differs" } else { "ties" }.to_string(),
        s.discount_percent
            .map(|p| format!("discount {} %", p.0))
            .unwrap_or_default(),
        format!(
            "{} device-days: {} tie, {} differ ({} explained), {} unknown",
            s.device_days, s.ties, s.differs, s.explained, s.unknown
        ),
    ]
}
