//! The month as FinOps FOCUS cost and usage files, for FinOps tools: one row per entitlement
//! and Pacific day, written only when a price is set, as FOCUS 1.2 and, in the same pass,
//! FOCUS 1.3. The partner is the provider and invoice issuer (it sells the service to its
//! customer), Fortinet the publisher and service provider (1.3's reseller case: the licences
//! are Fortinet's, not white-labelled); a customer's account is the sub account. Costs are the
//! exact points × price of each day; the statement rounds per line per month, so the two
//! agree to within half a cent per line. `InvoiceId` names the customer's statement of the
//! month.

use std::io::Write;

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::{rendering, safe_text};
use crate::domain::customers::Customers;
use crate::domain::statement::{Month, RowRef};
use crate::error::Result;

/// The FOCUS columns written, in order.
pub(crate) const COLUMNS: [&str; 45] = [
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingAccountType",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "ContractedUnitPrice",
    "EffectiveCost",
    "InvoiceId",
    "InvoiceIssuerName",
    "ListCost",
    "ListUnitPrice",
    "PricingCategory",
    "PricingCurrency",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "RegionName",
    "ResourceId",
    "ResourceName",
    "ResourceType",
    "ServiceCategory",
    "ServiceName",
    "ServiceProviderName",
    "ServiceSubcategory",
    "SkuId",
    "SkuMeter",
    "SkuPriceDetails",
    "SkuPriceId",
    "SubAccountId",
    "SubAccountName",
    "SubAccountType",
    "Tags",
];

/// FOCUS 1.3's columns: 1.2's (ProviderName and PublisherName stay, deprecated but still
/// mandatory) and `HostProviderName`, in the same alphabetical order. 1.3's conditional
/// columns (`ContractApplied`, the allocation columns) are left out: they apply only where
/// the provider supports contract commitments or split cost allocation.
pub(crate) const COLUMNS_1_3: [&str; 46] = {
    let mut out = [""; 46];
    let mut i = 0;
    while i < 46 {
        out[i] = if i < HOST_AT {
            COLUMNS[i]
        } else if i == HOST_AT {
            "HostProviderName"
        } else {
            COLUMNS[i - 1]
        };
        i += 1;
    }
    out
};

/// Where `HostProviderName` goes: after `EffectiveCost`.
const HOST_AT: usize = 18;

/// A software licence runs on no provider's infrastructure that FOCUS could name.
const HOST_PROVIDER: &str = "Not Applicable";

/// A Pacific midnight as FOCUS wants it: UTC, ISO 8601 with `Z`.
fn utc_midnight(day: NaiveDate, tz: Tz) -> String {
    let local = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| t.naive_utc())
        .unwrap_or(local)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The FOCUS files (1.2, 1.3) written one stored day at a time into `W` (staged files in a
/// run), so a month of days is never held at once.
pub(crate) struct Focus<'a, W: Write> {
    program: &'a str,
    month: Month,
    timezone: Tz,
    customers: &'a Customers,
    currency: &'a str,
    issuer: String,
    period: (String, String),
    priced: bool,
    rows: usize,
    /// The day being written and its UTC bounds.
    day: Option<(NaiveDate, String, String)>,
    out: csv::Writer<W>,
    out_1_3: csv::Writer<W>,
}

impl<'a, W: Write> Focus<'a, W> {
    pub(crate) fn new(
        program: &'a str,
        month: Month,
        timezone: Tz,
        customers: &'a Customers,
        out: W,
        out_1_3: W,
    ) -> Result<Self> {
        let issuer = customers
            .issuer
            .clone()
            .unwrap_or_else(|| format!("FortiFlex partner of program {program}"));
        let issuer = safe_text(&issuer).into_owned();
        let next_month = month.last().succ_opt().unwrap_or(month.last());
        let period = (
            utc_midnight(month.first(), timezone),
            utc_midnight(next_month, timezone),
        );
        let writer = |w: W, columns: &[&str]| {
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .quote_style(csv::QuoteStyle::Necessary)
                .from_writer(w);
            w.write_record(columns)
                .map_err(|e| rendering("FOCUS", e))
                .map(|()| w)
        };
        let out = writer(out, &COLUMNS)?;
        let out_1_3 = writer(out_1_3, &COLUMNS_1_3)?;
        Ok(Focus {
            program,
            month,
            timezone,
            customers,
            currency: customers.currency.as_deref().unwrap_or("USD"),
            issuer,
            period,
            priced: false,
            rows: 0,
            day: None,
            out,
            out_1_3,
        })
    }

    /// One row of a stored day. Rows come by date, and within a day by serial (as a
    /// day's rollup holds them); other months' are ignored.
    pub(crate) fn row(&mut self, date: NaiveDate, r: RowRef<'_>) -> Result<()> {
        if Month::of(date) != self.month {
            return Ok(());
        }
        if self.day.as_ref().is_none_or(|d| d.0 != date) {
            let start = utc_midnight(date, self.timezone);
            let end = utc_midnight(date.succ_opt().unwrap_or(date), self.timezone);
            self.day = Some((date, start, end));
        }
        let (program, month, currency, customers) =
            (self.program, self.month, self.currency, self.customers);
        let (period_start, period_end) = (&self.period.0, &self.period.1);
        let (_, start, end) = self.day.as_ref().expect("set above");
        let issuer = &self.issuer;
        let who = customers.billed(r.serial_number, r.config_id, r.account_id);
        // The day's price, as the statement's line has it; a customer's own rule of the
        // price book is contracted, the all-customers rules' price its list price.
        let Some(priced) = customers.prices.price(who.index, &r, date) else {
            return Ok(());
        };
        let price = priced.price_per_point;
        let list = customers
            .prices
            .list_price(priced, &r, date)
            .unwrap_or(price);
        self.priced = true;
        self.rows += 1;
        let amount = |price: Decimal| {
            let cost = (r.points * price).normalize();
            if cost.is_zero() { Decimal::ZERO } else { cost }.to_string()
        };
        let (cost, list_cost) = (amount(price), amount(list));
        let (price, list, points) = (price.to_string(), list.to_string(), r.points.to_string());
        let product = r.product_type.unwrap_or("FortiFlex entitlement");
        // The statement is the customer's (provisional) invoice: one id per customer and month.
        let invoice = format!("{program}-{month}-{}", who.id);
        let description = format!("FortiFlex points, {}", r.config_name.unwrap_or(product));
        let sku = r
            .config_id
            .map(|c| format!("config-{c}"))
            .unwrap_or_else(|| "points".into());
        let account = r.account_id.to_string();
        let row: [&str; 45] = [
            cost.as_str(),
            program,
            issuer,
            "Partner program",
            currency,
            period_end.as_str(),
            period_start.as_str(),
            "Usage",
            "",
            &safe_text(&description),
            "Usage-Based",
            end,
            start,
            &points,
            "Points",
            &cost,
            &price,
            &cost,
            &invoice,
            issuer,
            &list_cost,
            &list,
            "Standard",
            currency,
            &points,
            "Points",
            issuer,
            "Fortinet",
            "",
            "",
            r.serial_number,
            &safe_text(r.description.unwrap_or(r.serial_number)),
            &safe_text(product),
            "Security",
            "FortiFlex",
            "Fortinet",
            "Network Security",
            &sku,
            "Points",
            "",
            &sku,
            &account,
            &safe_text(who.name),
            "Customer account",
            "",
        ];
        self.out
            .write_record(row)
            .map_err(|e| rendering("FOCUS", e))?;
        let (before, after) = row.split_at(HOST_AT);
        self.out_1_3
            .write_record(before.iter().chain([&HOST_PROVIDER]).chain(after))
            .map_err(|e| rendering("FOCUS", e))?;
        Ok(())
    }

    /// The 1.2 and 1.3 files and their data rows, or `None` when no row had a price.
    pub(crate) fn finish(self) -> Result<Option<(W, W, usize)>> {
        if !self.priced {
            return Ok(None);
        }
        let inner = |w: csv::Writer<W>| w.into_inner().map_err(|e| rendering("FOCUS", e));
        Ok(Some((inner(self.out)?, inner(self.out_1_3)?, self.rows)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::window::PACIFIC;

    /// FOCUS 1.3's mandatory columns (feature level "Mandatory" in the specification's column
    /// pages, `specification/datasets/cost_and_usage/columns/*.md` of FOCUS_Spec): 1.2's, with
    /// `ServiceProviderName` and `HostProviderName` added and the deprecated `ProviderName` and
    /// `PublisherName` still required. focus-validator 2.2.1 has no 1.3 rules offline.
    const MANDATORY_1_3: [&str; 23] = [
        "BilledCost",
        "BillingAccountId",
        "BillingAccountName",
        "BillingCurrency",
        "BillingPeriodEnd",
        "BillingPeriodStart",
        "ChargeCategory",
        "ChargeClass",
        "ChargeDescription",
        "ChargePeriodEnd",
        "ChargePeriodStart",
        "ContractedCost",
        "EffectiveCost",
        "HostProviderName",
        "InvoiceIssuerName",
        "ListCost",
        "PricingQuantity",
        "PricingUnit",
        "ProviderName",
        "PublisherName",
        "ServiceCategory",
        "ServiceName",
        "ServiceProviderName",
    ];

    #[test]
    fn the_1_3_file_has_every_mandatory_column_and_1_2_s_in_order() {
        for c in MANDATORY_1_3 {
            assert!(COLUMNS_1_3.contains(&c), "{c}");
        }
        let mut sorted = COLUMNS_1_3;
        sorted.sort_unstable();
        assert_eq!(sorted, COLUMNS_1_3, "alphabetical, as 1.2's");
        let without: Vec<&str> = COLUMNS_1_3
            .iter()
            .copied()
            .filter(|c| *c != "HostProviderName")
            .collect();
        assert_eq!(without, COLUMNS);
    }

    #[test]
    fn pacific_days_are_utc_periods_across_daylight_saving() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            utc_midnight(d("2025-11-01"), PACIFIC),
            "2025-11-01T07:00:00Z"
        );
        // 2 November 2025: clocks go back; the day after starts at 08:00 UTC.
        assert_eq!(
            utc_midnight(d("2025-11-03"), PACIFIC),
            "2025-11-03T08:00:00Z"
        );
    }
}
