//! The site's charts: daily points (bars stacked by customer) and the balance over time (a
//! line through the snapshots), each one inline SVG with a date axis, readable without
//! script and by screen readers (a title, and the same numbers in a table after it).
//! Geometry is display only: positions come from `f64`, every number printed is the exact
//! decimal.

use std::collections::BTreeMap;

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

pub(crate) const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 260.0;
pub(crate) const LEFT: f64 = 64.0;
pub(crate) const BOTTOM: f64 = 24.0;
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

/// What every chart's SVG shares: its title for screen readers (`id`), the x axis line at
/// the plot's foot and the y axis's labels `top` and `bottom`; `body` draws in it.
pub(crate) fn frame(
    id: &str,
    title: &str,
    height: f64,
    (top, bottom): (&str, &str),
    body: Markup,
) -> Markup {
    let plot = height - BOTTOM;
    html! {
        svg role="img" aria-labelledby=(id) viewBox=(format!("0 0 {WIDTH} {height}"))
            width="100%" preserveAspectRatio="xMinYMin meet" {
            title id=(id) { (title) }
            line.axis x1=(LEFT) y1=(plot) x2=(WIDTH) y2=(plot) {}
            text.tick x=(LEFT - 6.0) y=(12) text-anchor="end" { (top) }
            text.tick x=(LEFT - 6.0) y=(plot) text-anchor="end" { (bottom) }
            (body)
        }
    }
}

/// How many days apart the date axis labels `n` days: about ten labels at most, a week
/// apart over a month.
fn label_every(n: usize) -> usize {
    match n {
        0..=10 => 1,
        11..=20 => 2,
        21..=70 => 7,
        _ => 14,
    }
}

/// The date axis under a chart of `days` (oldest first): a tick and a label every
/// [`label_every`] days counted back from the newest, so the newest day is always labelled.
pub(crate) fn date_axis(days: &[NaiveDate], x_of: &dyn Fn(usize) -> f64, y: f64) -> Markup {
    let every = label_every(days.len());
    let n = days.len();
    html! {
        g.dates {
            @for (i, day) in days.iter().enumerate() {
                @if (n - 1 - i).is_multiple_of(every) {
                    @let x = format!("{:.2}", x_of(i));
                    line.axis x1=(x) y1=(y) x2=(x) y2=(y + 4.0) {}
                    text.tick.date x=(x) y=(y + 16.0) text-anchor="middle" data-day=(day.to_string()) {
                        (day.format("%b %-d"))
                    }
                }
            }
        }
    }
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
    let dates: Vec<NaiveDate> = days.iter().map(|d| d.date).collect();
    let title = format!(
        "Daily points, {} stored days{}",
        days.len(),
        days.first()
            .zip(days.last())
            .map(|(a, b)| format!(" from {} to {}", a.date, b.date))
            .unwrap_or_default()
    );
    let top = display2(days.iter().map(DayPoints::total).max().unwrap_or_default());
    let bars = html! {
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
        (date_axis(&dates, &|i| LEFT + (i as f64 + 0.5) * step, plot))
    };
    html! {
        figure.chart {
            (frame("chart-title", &title, HEIGHT, (&top, "0"), bars))
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

/// The balance over time: a line through each snapshot's balance (`balances`, by the Pacific
/// date it was read), oldest first; a top-up shows as a rise, a missing day as a gap in the
/// dates (the x axis counts days, not readings).
pub(crate) fn balance_over_time(balances: &BTreeMap<NaiveDate, Decimal>) -> Markup {
    let (Some((&first, _)), Some((&last, _))) =
        (balances.first_key_value(), balances.last_key_value())
    else {
        return html! { p { "No balance snapshots yet." } };
    };
    // The readings' own range, not from zero: a day's consumption is a sliver of the balance.
    let low = balances.values().min().copied().unwrap_or_default();
    let high = balances.values().max().copied().unwrap_or_default();
    let span = (high - low).to_f64().unwrap_or(0.0).max(1.0);
    let plot = HEIGHT - BOTTOM;
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
    let step = (WIDTH - LEFT) / days.len() as f64;
    let x_of = |i: usize| LEFT + (i as f64 + 0.5) * step;
    let y_of = |b: Decimal| 8.0 + (high - b).to_f64().unwrap_or(0.0) / span * (plot - 16.0);
    let points: Vec<(f64, f64, NaiveDate, Decimal)> = balances
        .iter()
        .map(|(day, b)| (x_of((*day - first).num_days() as usize), y_of(*b), *day, *b))
        .collect();
    let line = points
        .iter()
        .map(|(x, y, _, _)| format!("{x:.2},{y:.2}"))
        .collect::<Vec<_>>()
        .join(" ");
    let title = format!(
        "Balance, {} readings from {first} to {last}",
        balances.len()
    );
    let drawn = html! {
        polyline.balance points=(line) {}
        @for (x, y, day, b) in &points {
            circle.reading cx=(format!("{x:.2}")) cy=(format!("{y:.2}")) r="2.5"
                data-day=(day.to_string()) data-balance=(b.to_string()) {
                title { (day) ": " (display2(*b)) " points" }
            }
        }
        (date_axis(&days, &x_of, plot))
    };
    let labels = (display2(high), display2(low));
    html! {
        figure.chart.balance-chart {
            (frame("balance-title", &title, HEIGHT, (&labels.0, &labels.1), drawn))
            figcaption {
                details {
                    summary { "The chart's numbers" }
                    table.numbers {
                        caption { (title) }
                        thead { tr { th scope="col" { "Read on" } th.num scope="col" { "Balance" } } }
                        tbody {
                            @for (day, b) in balances {
                                tr { td { (day) } td.num { (display2(*b)) } }
                            }
                        }
                    }
                }
            }
        }
    }
}
