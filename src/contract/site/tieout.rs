//! The tie-out panel: the last days' balance drop against what the reports consumed (what
//! Fortinet deducted against what we bill), the days that differ marked, and the month's
//! rate audit with the device-days that do not tie. The numbers are the tie-out's own
//! (`domain::tieout`); this only draws them.

use maud::{Markup, html};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::chart::{BOTTOM, LEFT, WIDTH, date_axis, frame};
use crate::domain::money::{Exact, display2, points_text};
use crate::domain::tieout::balance::{BalanceTieout, Day, Event};
use crate::domain::tieout::rates::RateTieout;
use crate::domain::tieout::{Status, TieoutFile};

const HEIGHT: f64 = 200.0;
/// The device-days listed on the page; the rest are in the tie-out's CSV.
const DEVICE_ROWS: usize = 20;

/// The balance's drop net of a top-up: what FortiFlex deducted for the day's consumption.
fn deducted(d: &Day) -> Option<Decimal> {
    let top_up = match &d.event {
        Some(Event::TopUp { points }) => points.0,
        _ => Decimal::ZERO,
    };
    d.drop.map(|drop| drop.0 + top_up)
}

/// The panel: `balance` (the last days, a prepaid program) and `month` (the newest month's
/// tie-out, for its rate audit); `names` turns a customer id into its name.
pub(crate) fn panel(
    balance: Option<&BalanceTieout>,
    month: Option<&TieoutFile>,
    names: &dyn Fn(&str) -> String,
) -> Markup {
    html! {
        @match balance {
            Some(b) => {
                h3 { "What Fortinet deducted, day by day" }
                p.meta {
                    "Each day's drop of the prepaid balance against the day's reports; "
                    (b.totals.ties) " days tie, " (b.totals.differs) " differ, "
                    (b.totals.unknown) " unknown (tolerance " (points_text(b.tolerance.0)) " point). "
                    "Rule: " (b.rule) "."
                }
                (balance_chart(b))
                (balance_table(b))
            }
            None => p { "No balance to tie out: a postpaid program, or fewer than two daily balance snapshots." }
        }
        @if let Some(f) = month {
            h3 { "Each device against its configuration's rate, " (f.month) " through " (f.through) }
            (rates(&f.rates, names))
        }
        p.meta {
            "A day or device that differs: re-run the day with force; if it persists, open a case \
             with Fortinet with the month's tie-out file (tieout/month=…) attached."
        }
    }
}

/// Consumption as bars, the balance's drop as a mark across each: a mark off its bar is a
/// day that differs.
fn balance_chart(b: &BalanceTieout) -> Markup {
    let plot = HEIGHT - BOTTOM;
    let step = (WIDTH - LEFT) / b.days.len().max(1) as f64;
    let bar = (step * 0.7).max(1.0);
    let max = b
        .days
        .iter()
        .flat_map(|d| [d.consumed.map(|c| c.0), deducted(d)])
        .flatten()
        .max()
        .unwrap_or(Decimal::ZERO);
    let scale = max.to_f64().unwrap_or(0.0).max(f64::MIN_POSITIVE);
    let y_of = |p: Decimal| plot - p.to_f64().unwrap_or(0.0).max(0.0) / scale * (plot - 12.0);
    let days: Vec<_> = b.days.iter().map(|d| d.day).collect();
    let title = format!("Balance drop against consumption, {} days", b.days.len());
    let drawn = html! {
        @for (i, d) in b.days.iter().enumerate() {
            @let x = LEFT + i as f64 * step + (step - bar) / 2.0;
            g.tieout-day data-day=(d.day.to_string()) data-status=(d.status.as_str()) {
                @if let Some(c) = d.consumed {
                    @let top = y_of(c.0);
                    rect.consumed x=(format!("{x:.2}")) y=(format!("{top:.2}"))
                        width=(format!("{bar:.2}")) height=(format!("{:.2}", plot - top)) {
                        title { (d.day) ": consumed " (display2(c.0)) }
                    }
                }
                @if let Some(p) = deducted(d) {
                    @let y = format!("{:.2}", y_of(p));
                    line class=(format!("drop {}", d.status.as_str()))
                        x1=(format!("{:.2}", x - 2.0)) y1=(y) x2=(format!("{:.2}", x + bar + 2.0)) y2=(y) {
                        title { (d.day) ": the balance fell " (display2(p)) " (" (d.status.as_str()) ")" }
                    }
                }
                @if let Some(Event::TopUp { points }) = &d.event {
                    text.event x=(format!("{:.2}", x + bar / 2.0)) y=(20) text-anchor="middle" {
                        "+" (display2(points.0))
                    }
                }
            }
        }
        (date_axis(&days, &|i| LEFT + (i as f64 + 0.5) * step, plot))
    };
    html! {
        figure.chart.tieout-chart {
            (frame("tieout-title", &title, HEIGHT, (&display2(max), "0"), drawn))
        }
    }
}

fn balance_table(b: &BalanceTieout) -> Markup {
    let opt = |x: Option<Exact>| x.map_or_else(|| "–".to_string(), |x| display2(x.0));
    html! {
        details.tieout-days open[b.totals.differs > 0] {
            summary { "The days" }
            table.tieout {
                thead { tr {
                    th scope="col" { "Day" } th.num scope="col" { "Consumed" }
                    th.num scope="col" { "Balance drop" } th.num scope="col" { "Difference" }
                    th scope="col" { "Status" } th scope="col" { "Note" }
                } }
                tbody {
                    @for d in b.days.iter().rev() {
                        tr class=(format!("day {}", d.status.as_str())) data-day=(d.day.to_string()) {
                            td { (d.day) } td.num { (opt(d.consumed)) } td.num { (opt(d.drop)) }
                            td.num { (opt(d.difference)) } td { (d.status.as_str()) } td { (d.why()) }
                        }
                    }
                }
                tfoot { tr {
                    th scope="row" { "Checked" } td.num { (display2(b.totals.consumed.0)) }
                    td.num { (display2(b.totals.drop.0)) } td.num { (display2(b.totals.difference.0)) }
                    td {} td { "top-ups " (display2(b.totals.top_ups.0)) }
                } }
            }
        }
    }
}

fn rates(r: &RateTieout, names: &dyn Fn(&str) -> String) -> Markup {
    let t = &r.totals;
    if t.device_days == 0 {
        return html! { p { "No rate snapshot covers the month yet: the daily run takes one." } };
    }
    let unexplained = t.differs - t.explained;
    let opt = |x: Option<Exact>| x.map_or_else(|| "–".to_string(), |x| points_text(x.0));
    html! {
        p.rates-summary data-differs=(unexplained) {
            (t.device_days) " device-days: " (t.ties) " tie, " (t.differs) " differ ("
            (t.explained) " with a known reason), " (t.unknown) " unknown; charged "
            (points_text(t.charged.0)) " points against " (points_text(t.at_rate.0)) " at the rates."
        }
        @for s in r.product_types.iter().filter(|s| s.discount_percent.is_some()) {
            p.discount { (s.key) " is charged " (s.discount_percent.map(|d| d.0).unwrap_or_default())
                " % below the rate on every device-day: a consumption offer's discount, not an error." }
        }
        @if !r.devices.is_empty() {
            table.devices {
                thead { tr {
                    th scope="col" { "Day" } th scope="col" { "Serial" } th scope="col" { "Customer" }
                    th scope="col" { "Configuration" } th.num scope="col" { "Points" }
                    th.num scope="col" { "Rate" } th.num scope="col" { "Difference" }
                    th scope="col" { "Status" } th scope="col" { "Why" }
                } }
                tbody {
                    @for d in r.devices.iter().rev().take(DEVICE_ROWS) {
                        tr class=(format!("device {}", d.status.as_str())) data-serial=(d.serial) {
                            td { (d.day) } td { (d.serial) } td { (names(&d.customer)) }
                            td { (d.configuration()) }
                            td.num { (points_text(d.points.0)) } td.num { (opt(d.rate)) }
                            td.num { (opt(d.difference)) } td { (d.status.as_str()) } td { (d.why()) }
                        }
                    }
                }
            }
            @if r.devices.len() > DEVICE_ROWS || r.devices_left_out > 0 {
                p.meta {
                    "The newest " (DEVICE_ROWS.min(r.devices.len())) " of "
                    (r.devices.len() as u64 + r.devices_left_out) " device-days that differ; the tie-out's CSV lists the "
                    (r.devices.len()) " largest differences."
                }
            }
        }
        @for u in &r.unchecked {
            p.unchecked {
                "Not checked: " (u.device_days) " device-days of configuration "
                (u.config_id.map(|c| c.to_string()).unwrap_or_else(|| "-".into())) " (" (u.product_type) ") from "
                (u.first_day) " to " (u.last_day) ": " (u.note) "."
            }
        }
        @if r.devices.iter().all(|d| d.status != Status::Differs) && unexplained == 0 {
            p { "Every device-day checked ties or has a known reason." }
        }
    }
}
