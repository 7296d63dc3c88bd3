//! The daily points chart: one inline SVG, bars stacked by customer, readable without script
//! and by screen readers (a title, and the same numbers in a table after it). Geometry is
//! display only: heights come from `f64`, every number printed is the exact decimal.

use chrono::NaiveDate;
use maud::{Markup, html};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::domain::money::display2;

/// One stored day's points per customer id (customers without points that day left out).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DayPoints {
    pub date: NaiveDate,
    pub by_customer: Vec<(String, Decimal)>,
}

impl DayPoints {
    pub(crate) fn total(&self) -> Decimal {
        self.by_customer.iter().map(|(_, p)| *p).sum()
    }
}

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 64.0;
const BOTTOM: f64 = 24.0;
/// Colour-blind-safe categorical colours (Okabe–Ito), cycled by customer.
const COLOURS: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999",
];

/// Each customer's colour, in the order `customers` lists them.
pub(crate) fn colour(customers: &[String], id: &str) -> &'static str {
    let i = customers.iter().position(|c| c == id).unwrap_or(0);
    COLOURS[i % COLOURS.len()]
}

/// The customers in `days`, ordered by their total points, largest first (ties by id).
pub(crate) fn customers_of(days: &[DayPoints]) -> Vec<String> {
    let mut totals: Vec<(String, Decimal)> = Vec::new();
    for d in days {
        for (id, p) in &d.by_customer {
            match totals.iter_mut().find(|(c, _)| c == id) {
                Some((_, t)) => *t += *p,
                None => totals.push((id.clone(), *p)),
            }
        }
    }
    totals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    totals.into_iter().map(|(id, _)| id).collect()
}

/// The stacked bar chart of `days` (oldest first), with its legend and data table.
pub(crate) fn daily_points(days: &[DayPoints], names: &dyn Fn(&str) -> String) -> Markup {
    let customers = customers_of(days);
    let max = days
        .iter()
        .map(DayPoints::total)
        .max()
        .unwrap_or(Decimal::ZERO)
        .to_f64()
        .unwrap_or(0.0)
        .max(f64::MIN_POSITIVE);
    let plot = HEIGHT - BOTTOM;
    let step = (WIDTH - LEFT) / days.len().max(1) as f64;
    let bar = (step * 0.8).max(1.0);
    let title = format!(
        "Daily points, {} stored days{}",
        days.len(),
        days.first()
            .zip(days.last())
            .map(|(a, b)| format!(" from {} to {}", a.date, b.date))
            .unwrap_or_default()
    );
    html! {
        figure.chart {
            svg role="img" aria-labelledby="chart-title" viewBox=(format!("0 0 {WIDTH} {HEIGHT}"))
                width="100%" preserveAspectRatio="xMinYMin meet" {
                title #chart-title { (title) }
                line.axis x1=(LEFT) y1=(plot) x2=(WIDTH) y2=(plot) {}
                text.tick x=(LEFT - 6.0) y=(12) text-anchor="end" {
                    (display2(days.iter().map(DayPoints::total).max().unwrap_or_default()))
                }
                text.tick x=(LEFT - 6.0) y=(plot) text-anchor="end" { "0" }
                @for (i, d) in days.iter().enumerate() {
                    @let x = LEFT + i as f64 * step + (step - bar) / 2.0;
                    @let mut y = plot;
                    g.day data-day=(d.date.to_string()) {
                        @for id in &customers {
                            @if let Some((_, p)) = d.by_customer.iter().find(|(c, _)| c == id) {
                                @let h = p.to_f64().unwrap_or(0.0) / max * (plot - 8.0);
                                @let top = { y -= h; y };
                                rect.bar x=(format!("{x:.2}")) y=(format!("{top:.2}"))
                                    width=(format!("{bar:.2}")) height=(format!("{h:.2}"))
                                    fill=(colour(&customers, id))
                                    data-day=(d.date.to_string()) data-customer=(id)
                                    data-points=(p.to_string()) {
                                    title { (d.date) " · " (names(id)) ": " (display2(*p)) " points" }
                                }
                            }
                        }
                    }
                }
            }
            figcaption {
                ul.legend {
                    @for id in &customers {
                        li {
                            span.swatch style=(format!("background:{}", colour(&customers, id))) {}
                            (names(id))
                        }
                    }
                }
                details {
                    summary { "The chart's numbers" }
                    table.numbers {
                        caption { (title) }
                        thead { tr { th scope="col" { "Day" } th scope="col" { "Customer" } th scope="col" { "Points" } } }
                        tbody {
                            @for d in days {
                                @for (id, p) in &d.by_customer {
                                    tr { td { (d.date) } td { (names(id)) } td.num { (display2(*p)) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
