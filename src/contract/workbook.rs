//! The statement as an Excel workbook, for people who bill from a spreadsheet: a `Summary`
//! sheet (one row per customer, then the total) and a `Lines` sheet (the statement CSV's
//! lines). Values are the statement's exact numbers, written as numbers; totals are our
//! sums, not formulas, so the workbook says what the CSV and JSON say. Text is written as
//! text, never as a formula.

use chrono::Datelike;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook, Worksheet, XlsxError};

use super::statement::{BOOK_COLUMNS, COLUMNS, COST_COLUMNS, line_price};
use crate::domain::statement::Statement;
use crate::error::{Error, Result};

const SUMMARY: [&str; 7] = [
    "customer_id",
    "customer_name",
    "accounts",
    "entitlements",
    "points",
    "price_per_point",
    "amount",
];

/// Widths of the `Lines` columns (`COLUMNS`, then the price book's), in characters.
const LINE_WIDTHS: [f64; 19] = [
    8.0, 16.0, 24.0, 11.0, 19.0, 9.0, 22.0, 20.0, 28.0, 11.0, 12.0, 15.0, 9.0, 12.0, 11.0, 11.0,
    18.0, 12.0, 12.0,
];

fn failed(e: XlsxError) -> Error {
    Error::Storage(format!("cannot render the workbook: {e}"))
}

/// A decimal as a spreadsheet number (display only: every sum was made exactly before).
fn number(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

pub(crate) fn xlsx(program: &str, s: &Statement) -> Result<Vec<u8>> {
    let mut book = Workbook::new();
    // A fixed creation time (the month's first day): the same statement, the same bytes, so
    // an unchanged month writes nothing.
    let first = s.month.first();
    let created =
        ExcelDateTime::from_ymd(first.year() as u16, first.month() as u8, first.day() as u8)
            .map_err(failed)?;
    book.set_properties(
        &DocProperties::new()
            .set_creation_datetime(&created)
            .set_title(format!("Statement {program} {}", s.month)),
    );
    let bold = Format::new().set_bold();
    let points = Format::new().set_num_format("#,##0.00##");
    let money = Format::new().set_num_format("#,##0.00");
    let currency = s.currency.as_deref().unwrap_or("");

    let sheet = book.add_worksheet().set_name("Summary").map_err(failed)?;
    let title = format!("Statement {program} {} ({})", s.month, s.status.as_str());
    sheet
        .write_string_with_format(0, 0, &title, &bold)
        .map_err(failed)?;
    let mut summary = SUMMARY.to_vec();
    if s.book {
        summary.extend(COST_COLUMNS);
    }
    header(sheet, 2, &summary, &bold)?;
    let mut row = 3;
    for c in &s.customers {
        let accounts: Vec<String> = c.accounts.iter().map(|a| a.to_string()).collect();
        sheet.write_string(row, 0, &c.id).map_err(failed)?;
        sheet.write_string(row, 1, &c.name).map_err(failed)?;
        sheet
            .write_string(row, 2, accounts.join(", "))
            .map_err(failed)?;
        sheet
            .write_number(row, 3, c.entitlements as f64)
            .map_err(failed)?;
        sheet
            .write_number_with_format(row, 4, number(c.points), &points)
            .map_err(failed)?;
        if let Some(p) = c.price_per_point {
            sheet.write_number(row, 5, number(p)).map_err(failed)?;
        }
        if let Some(a) = c.amount {
            sheet
                .write_number_with_format(row, 6, number(a), &money)
                .map_err(failed)?;
        }
        if s.book {
            cost_and_margin(sheet, row, 7, c.cost, c.margin(), &money)?;
        }
        row += 1;
    }
    sheet
        .write_string_with_format(row, 0, "TOTAL", &bold)
        .map_err(failed)?;
    sheet
        .write_number_with_format(row, 4, number(s.points), &points)
        .map_err(failed)?;
    if let Some(a) = s.amount {
        sheet
            .write_number_with_format(row, 6, number(a), &money)
            .map_err(failed)?;
        sheet.write_string(row, 5, currency).map_err(failed)?;
    }
    if s.book {
        cost_and_margin(sheet, row, 7, s.cost, s.margin(), &money)?;
    }
    if !s.missing_days.is_empty() {
        let days: Vec<String> = s.missing_days.iter().map(|d| d.to_string()).collect();
        let note = format!("Missing days: {}", days.join(", "));
        sheet.write_string(row + 2, 0, &note).map_err(failed)?;
    }
    sheet.autofit();

    // A line per customer and entitlement: 100,000 of them at scale. In constant-memory mode
    // each row goes to a temporary file as it is finished instead of staying in memory, so
    // column widths are set, not fitted.
    let sheet = book
        .add_worksheet_with_constant_memory()
        .map_err(failed)?
        .set_name("Lines")
        .map_err(failed)?;
    let mut columns = COLUMNS.to_vec();
    if s.book {
        columns.extend(BOOK_COLUMNS);
        columns.extend(COST_COLUMNS);
    }
    for (col, width) in LINE_WIDTHS.iter().take(columns.len()).enumerate() {
        sheet.set_column_width(col as u16, *width).map_err(failed)?;
    }
    header(sheet, 0, &columns, &bold)?;
    let month = s.month.to_string();
    let mut row = 1;
    for c in &s.customers {
        for l in &c.lines {
            let text = [
                (0, month.as_str()),
                (1, c.id.as_str()),
                (2, c.name.as_str()),
                (4, &*l.serial_number),
                (6, l.config_name.as_deref().unwrap_or("")),
                (7, l.product_type.as_deref().unwrap_or("")),
                (8, l.description.as_deref().unwrap_or("")),
            ];
            for (col, value) in text {
                sheet.write_string(row, col, value).map_err(failed)?;
            }
            sheet
                .write_number(row, 3, l.account_id.0 as f64)
                .map_err(failed)?;
            if let Some(id) = l.config_id {
                sheet.write_number(row, 5, id as f64).map_err(failed)?;
            }
            sheet
                .write_number(row, 9, f64::from(l.days_billed))
                .map_err(failed)?;
            sheet
                .write_number_with_format(row, 10, number(l.points), &points)
                .map_err(failed)?;
            if let Some(p) = line_price(s, c, l) {
                sheet.write_number(row, 11, number(p)).map_err(failed)?;
                sheet.write_string(row, 12, currency).map_err(failed)?;
            }
            if let Some(a) = l.amount {
                sheet
                    .write_number_with_format(row, 13, number(a), &money)
                    .map_err(failed)?;
            }
            if s.book {
                if let Some((first, last)) = s.line_days(l) {
                    sheet
                        .write_string(row, 14, first.to_string())
                        .map_err(failed)?;
                    sheet
                        .write_string(row, 15, last.to_string())
                        .map_err(failed)?;
                }
                if let Some(r) = s.rule(l) {
                    sheet.write_string(row, 16, &r.id).map_err(failed)?;
                }
                cost_and_margin(sheet, row, 17, l.cost, l.margin(), &money)?;
            }
            row += 1;
        }
    }
    book.save_to_buffer().map_err(failed)
}

/// Cost and margin at `col` and the column after it, when known.
fn cost_and_margin(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    cost: Option<Decimal>,
    margin: Option<Decimal>,
    money: &Format,
) -> Result<()> {
    for (col, value) in [(col, cost), (col + 1, margin)] {
        if let Some(v) = value {
            sheet
                .write_number_with_format(row, col, number(v), money)
                .map_err(failed)?;
        }
    }
    Ok(())
}

fn header(sheet: &mut Worksheet, row: u32, names: &[&str], bold: &Format) -> Result<()> {
    for (col, name) in names.iter().enumerate() {
        sheet
            .write_string_with_format(row, col as u16, *name, bold)
            .map_err(failed)?;
    }
    Ok(())
}
