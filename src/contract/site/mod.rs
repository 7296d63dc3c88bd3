//! The static site: `site/index.html` (trends, top consumers, runway, month to date, open
//! alerts) and one printable statement page per customer and month. Pure: plain data in, HTML
//! out. maud escapes every interpolated value, so a config or customer name from FortiFlex or
//! the customers file shows as text; nothing here ever sees a licence token or a secret.
//! Self-contained: inline CSS and SVG, no script, nothing fetched from elsewhere.

pub(crate) mod billing;
pub(crate) mod chart;
mod tieout;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use rust_decimal::Decimal;

use crate::domain::alerts::DayAlerts;
use crate::domain::balance::Snapshot;
use crate::domain::ids::AccountId;
use crate::domain::money::display2;
use crate::domain::statement::{CustomerStatement, Statement};
use crate::domain::tieout::TieoutFile;
use crate::domain::tieout::balance::BalanceTieout;
pub(crate) use chart::DayPoints;

/// One of the top consumers of the last 7 stored days.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TopEntitlement {
    pub serial_number: String,
    pub account_id: AccountId,
    pub customer: String,
    pub config_name: Option<String>,
    pub points: Decimal,
}

/// What the index page shows.
pub(crate) struct Site<'a> {
    pub program_serial: &'a str,
    pub refreshed_at: DateTime<Utc>,
    /// The last stored days, oldest first (up to 90).
    pub days: &'a [DayPoints],
    /// Days from this one on may still be restated by FortiCloud.
    pub provisional_from: Option<NaiveDate>,
    pub top: &'a [TopEntitlement],
    pub balance: Option<&'a Snapshot>,
    /// The balance each snapshot read, by its Pacific date (the last 90 days).
    pub balances: &'a BTreeMap<NaiveDate, Decimal>,
    /// The last days' balance drops against consumption (a prepaid program).
    pub tieout_days: Option<&'a BalanceTieout>,
    /// The newest month's tie-out (its rate audit).
    pub tieout: Option<&'a TieoutFile>,
    /// The month to date.
    pub month: Option<&'a Statement>,
    pub alerts: &'a [DayAlerts],
}

const CSS: &str = include_str!("site.css");

fn page(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body { (body) }
        }
    }
    .into_string()
}

fn customer_name<'a>(month: Option<&'a Statement>) -> impl Fn(&str) -> String + 'a {
    move |id: &str| {
        month
            .and_then(|m| m.customers.iter().find(|c| c.id == id))
            .map(|c| c.name.clone())
            .unwrap_or_else(|| id.to_string())
    }
}

/// `site/index.html`.
pub(crate) fn index(site: &Site) -> String {
    let names = customer_name(site.month);
    let title = format!("FortiFlex consumption: program {}", site.program_serial);
    let open: Vec<_> = site
        .alerts
        .iter()
        .flat_map(|d| d.alerts.iter().map(move |a| (d.date, a)))
        .collect();
    page(
        &title,
        html! {
            header {
                h1 { (title) }
                p.meta {
                    "Refreshed " (site.refreshed_at.format("%Y-%m-%d %H:%M UTC")) ". "
                    @if let Some(from) = site.provisional_from {
                        "Days from " (from) " on are provisional: FortiCloud may still correct them."
                    }
                }
            }
            section #balance {
                h2 { "Balance and runway" }
                (balance(site.balance))
                @if !site.balances.is_empty() {
                    (chart::balance_over_time(site.balances))
                }
            }
            section #daily {
                h2 { "Daily points by customer" }
                @if site.days.is_empty() {
                    p { "No stored days yet." }
                } @else {
                    (chart::daily_points(site.days, &names))
                }
            }
            @if site.tieout_days.is_some() || site.tieout.is_some() {
                section #tieout {
                    h2 { "Tie-out to Fortinet" }
                    (tieout::panel(site.tieout_days, site.tieout, &names))
                }
            }
            section #top {
                h2 { "Top entitlements, last 7 days" }
                table.top {
                    thead { tr {
                        th.num scope="col" { "#" } th scope="col" { "Serial" } th scope="col" { "Account" }
                        th scope="col" { "Customer" } th scope="col" { "Configuration" }
                        th.num scope="col" { "Points" }
                    } }
                    tbody {
                        @for (i, t) in site.top.iter().enumerate() {
                            tr.consumer {
                                td.num { (i + 1) } td { (t.serial_number) } td { (t.account_id) }
                                td { (names(&t.customer)) } td { (t.config_name.as_deref().unwrap_or("")) }
                                td.num { (display2(t.points)) }
                            }
                        }
                    }
                }
            }
            @if let Some(m) = site.month {
                section #month {
                    h2 { "Month to date, " (m.month) " (" (m.status.as_str()) ")" }
                    (month_table(m))
                }
            }
            section #alerts {
                h2 { "Open alerts" }
                @if open.is_empty() {
                    p { "None." }
                } @else {
                    ul.alerts {
                        @for (date, a) in &open {
                            li.alert data-kind=(a.kind.as_str()) {
                                strong { (date) " " (a.kind.as_str()) } ": " (a.message)
                            }
                        }
                    }
                }
            }
        },
    )
}

fn balance(s: Option<&Snapshot>) -> Markup {
    let Some(s) = s else {
        return html! { p { "No balance read yet." } };
    };
    html! {
        dl.balance {
            dt { "As of" } dd { (s.as_of) }
            @if let Some(b) = &s.balance { dt { "Balance" } dd { (display2(b.0)) " points" } }
            @if let Some(r) = &s.burn_rate_7d { dt { "Burn rate, 7 days" } dd { (display2(r.0)) " points a day" } }
            @if let Some(d) = s.runway_days { dt { "Runway" } dd { (d) " days" } }
            @if let Some(d) = s.runs_out_on { dt { "Projected run-out" } dd { (d) } }
            @if let Some(g) = &s.grace {
                dt { "Negative since" } dd { (g.first_negative_on) ", suspension after " (g.suspension_after) }
            }
            @if let Some(c) = &s.commitment {
                dt { "Commitment" } dd { (display2(c.annual_points.0)) " points a year, used " (display2(c.used.0)) }
                dt { "Projected year end" } dd { (display2(c.projected_year_end.0)) ", shortfall " (display2(c.shortfall.0)) }
            }
        }
    }
}

fn money(amount: Option<Decimal>, currency: Option<&str>) -> String {
    amount
        .map(|a| {
            format!("{} {}", display2(a), currency.unwrap_or(""))
                .trim_end()
                .to_string()
        })
        .unwrap_or_default()
}

fn month_table(m: &Statement) -> Markup {
    let currency = m.currency.as_deref();
    html! {
        table.month {
            thead { tr {
                th scope="col" { "Customer" } th.num scope="col" { "Entitlements" }
                th.num scope="col" { "Points" } th.num scope="col" { "Amount" }
            } }
            tbody {
                @for c in &m.customers {
                    tr {
                        td { a href=(super::keys::site_statement_link(m.month, &c.id)) { (c.name) } }
                        td.num { (c.entitlements) } td.num { (display2(c.points)) }
                        td.num { (money(c.amount, currency)) }
                    }
                }
            }
            tfoot { tr {
                th scope="row" { "Total" } td {} td.num { (display2(m.points)) }
                td.num { (money(m.amount, currency)) }
            } }
        }
    }
}

/// Marks where a statement page's lines go: an HTML comment, which no escaped value can
/// contain, so splitting the rendered frame at it is exact.
const LINES_HERE: &str = "<!--lines-->";

/// `site/month=YYYY-MM/<customer>.html` in memory, for tests; runs stream it with
/// [`write_statement_page`].
#[cfg(test)]
pub(crate) fn statement_page(program: &str, m: &Statement, c: &CustomerStatement) -> String {
    let mut out = Vec::new();
    write_statement_page(program, m, c, &mut out).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("maud writes UTF-8")
}

/// `site/month=YYYY-MM/<customer>.html`: the customer's statement, line for line as its CSV,
/// written to `out` a line at a time: a customer with 100,000 serials has a 25 MB page, which is never held whole (the frame around the lines is rendered once, each
/// line on its own).
pub(crate) fn write_statement_page(
    program: &str,
    m: &Statement,
    c: &CustomerStatement,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let currency = m.currency.as_deref();
    let frame = statement_frame(program, m, c);
    let (head, tail) = frame
        .split_once(LINES_HERE)
        .expect("the statement frame has a place for its lines");
    out.write_all(head.as_bytes())?;
    for l in &c.lines {
        let line = html! {
            tr.line {
                td { (l.account_id) } td { (l.serial_number) }
                td { (l.config_name.as_deref().unwrap_or("")) }
                td { (l.product_type.as_deref().unwrap_or("")) }
                td.num { (l.days_billed) } td.num { (crate::domain::money::points_text(l.points)) }
                @if m.book {
                    td.period { @if let Some((first, last)) = m.line_days(l) { (first.format("%d")) "–" (last.format("%d")) } }
                    td.rule { (m.rule(l).map_or("", |r| r.id.as_str())) }
                    td.num { (m.rule(l).and_then(|r| r.price_per_point).map(|p| p.to_string()).unwrap_or_default()) }
                }
                td.num { (money(l.amount, currency)) }
                @if m.book {
                    td.num.cost { (money(l.cost, currency)) } td.num.margin { (money(l.margin(), currency)) }
                }
            }
        };
        out.write_all(line.into_string().as_bytes())?;
    }
    out.write_all(tail.as_bytes())
}

/// The statement page without its lines: [`LINES_HERE`] stands where they go.
fn statement_frame(program: &str, m: &Statement, c: &CustomerStatement) -> String {
    let currency = m.currency.as_deref();
    let title = format!("Statement {} {}: {}", program, m.month, c.name);
    page(
        &title,
        html! {
            article.statement {
                h1 { (title) }
                p.meta {
                    (m.status.as_str()) " · accounts "
                    (c.accounts.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
                    @if let Some(p) = c.price_per_point { " · " (p) " " (currency.unwrap_or("")) " a point" }
                    @if let Some(issuer) = &m.issuer { " · issued by " (issuer) }
                }
                table.lines {
                    thead { tr {
                        th scope="col" { "Account" } th scope="col" { "Serial" } th scope="col" { "Configuration" }
                        th scope="col" { "Product" } th.num scope="col" { "Days" } th.num scope="col" { "Points" }
                        @if m.book { th scope="col" { "Days of month" } th scope="col" { "Rule" } th.num scope="col" { "Price a point" } }
                        th.num scope="col" { "Amount" }
                        @if m.book { th.num scope="col" { "Cost" } th.num scope="col" { "Margin" } }
                    } }
                    tbody { (PreEscaped(LINES_HERE)) }
                    tfoot { tr {
                        th scope="row" colspan="5" { "Total" } td.num { (display2(c.points)) }
                        @if m.book { td {} td {} td {} }
                        td.num { (money(c.amount, currency)) }
                        @if m.book {
                            td.num.cost { (money(c.cost, currency)) } td.num.margin { (money(c.margin(), currency)) }
                        }
                    } }
                }
                // Filled by the month's push: what each billing system holds of it.
                (PreEscaped(billing::START)) (PreEscaped(billing::END))
            }
        },
    )
}

#[cfg(test)]
mod tests;
