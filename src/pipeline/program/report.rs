//! A program's report once built: published as the request allows, and what each day's
//! outcome says (published, kept as stored, lost to retention) and where its files are.

use chrono::NaiveDate;
use chrono_tz::Tz;
use rust_decimal::Decimal;

use crate::adapters::fortiflex::{PointsQuery, PointsRow};
use crate::adapters::storage::Sink;
use crate::contract::keys;
use crate::domain::ids::Serial;
use crate::domain::report::{Catalog, Report, ReportKind, ReportSpec, build};
use crate::error::Result;
use crate::pipeline::archive;
use crate::pipeline::discovery::Scope;
use crate::pipeline::outcome::{Period, PreviousOutcome, ReportOutcome, Status};
use crate::pipeline::program_plan::daily_spec;
use crate::pipeline::publish::{self, Outcome, Published};
use crate::pipeline::request::{Context, Request};

/// The report `spec` describes, built from `rows` of `scope`'s accounts and `catalog`.
pub(in crate::pipeline) fn build_report(
    scope: &Scope,
    ctx: &Context,
    catalog: &Catalog,
    spec: ReportSpec,
    rows: Vec<PointsRow>,
) -> Result<Report> {
    let (start_date, end_date) = ctx.end_date.request_dates(spec.range);
    let request = PointsQuery {
        start_date,
        end_date,
        account_id: None,
        program_serial_number: Some(spec.program_serial.to_string()),
        config_id: spec.config_filter,
        serial_number: spec.serial_filter.as_ref().map(Serial::to_string),
    };
    // What the report covers: the one account, the config's account, or all of them.
    let accounts = match (spec.account_filter, spec.config_filter) {
        (Some(a), _) => vec![a],
        (None, Some(c)) => scope.config_account(c).into_iter().collect(),
        (None, None) => scope.accounts.clone(),
    };
    build(spec, request, accounts, rows, catalog)
}

/// Publishes `report` as the request allows (nothing in a dry run) and says what happened.
pub(in crate::pipeline) async fn publish_report(
    sink: &impl Sink,
    request: &Request,
    ctx: &Context,
    report: Report,
    keep: bool,
) -> Result<ReportOutcome> {
    let keys = keys::report_keys(&report.spec);
    let locations = locations(sink, &keys);
    let (status, revision, note, previous) = if request.dry_run {
        (Status::DryRun, None, None, None)
    } else {
        let options = publish::Options {
            force: request.force,
        };
        let Published {
            outcome,
            revision,
            previous,
            ..
        } = publish::publish(sink, &report, &ctx.run_id, ctx.now, options).await?;
        let previous = previous.map(|p| PreviousOutcome {
            revision: p.revision,
            entitlements: p.entitlements,
            points: p.points,
        });
        match outcome {
            Outcome::Written => (Status::Written, Some(revision), None, previous),
            Outcome::Unchanged => (Status::Unchanged, Some(revision), None, None),
            Outcome::Kept(why) => {
                tracing::warn!(
                    program = %report.spec.program_serial,
                    day = %report.spec.range.start(),
                    reason = %why,
                    "re-pull refused, stored report kept"
                );
                (Status::Refused, Some(revision), Some(why), previous)
            }
        }
    };
    Ok(ReportOutcome {
        period: period(&report.spec),
        entitlements: report.rows.len(),
        points: report.total,
        revision,
        status,
        note,
        previous,
        keys: locations,
        report: keep.then_some(report),
    })
}

fn period(spec: &ReportSpec) -> Period {
    match spec.kind {
        ReportKind::Daily => Period::Day {
            date: spec.range.start(),
        },
        ReportKind::Range => Period::Range {
            start_date: spec.range.start(),
            end_date: spec.range.end(),
            serial_number: spec.serial_filter.as_ref().map(Serial::to_string),
            config_id: spec.config_filter,
            account_id: spec.account_filter,
        },
    }
}

pub(super) fn period_day(o: &ReportOutcome) -> NaiveDate {
    match o.period {
        Period::Day { date } => date,
        Period::Range { start_date, .. } => start_date,
    }
}

/// A day not published because it left FortiFlex's retention mid-run.
pub(super) fn lost(day: NaiveDate, why: String) -> ReportOutcome {
    ReportOutcome {
        period: Period::Day { date: day },
        entitlements: 0,
        points: Decimal::ZERO,
        revision: None,
        status: Status::Lost,
        note: Some(why),
        previous: None,
        keys: Vec::new(),
        report: None,
    }
}

/// The outcome of a day left as stored (kept unfetched, or checked and unchanged): the
/// stored report's totals, untouched.
pub(in crate::pipeline) fn as_stored(
    stored: Option<&archive::Stored>,
    day: NaiveDate,
    (status, note): (Status, Option<String>),
    sink: &impl Sink,
    scope: &Scope,
    tz: Tz,
) -> ReportOutcome {
    let keys = keys::report_keys(&daily_spec(&scope.serial, scope.account_id, day, tz));
    ReportOutcome {
        period: Period::Day { date: day },
        entitlements: stored.map_or(0, |s| s.entitlements),
        points: stored.map_or(Decimal::ZERO, |s| s.points),
        revision: stored.map(|s| s.revision),
        status,
        note,
        previous: None,
        keys: locations(sink, &keys),
        report: None,
    }
}

/// Where a report's CSV, JSON and manifest live, for the outcome.
pub(in crate::pipeline) fn locations(sink: &impl Sink, keys: &keys::Keys) -> Vec<String> {
    [&keys.csv, &keys.json, &keys.manifest]
        .iter()
        .map(|k| sink.location(k))
        .collect()
}
