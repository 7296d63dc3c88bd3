//! `consumption`: a range of Pacific days for every account of the program(s), printed and
//! written as CSV, JSON and manifest; with `--daily`, one daily report per day as well.

use std::io::Write;

use chrono::{DateTime, Utc};

use super::progress::CliProgress;
use super::{BalanceArgs, ConsumptionArgs, Format, client, load_credentials, print};
use crate::adapters::storage::{self, Destination, LocalDir, S3Sink};
use crate::cli::console;
use crate::config::Settings;
use crate::domain::window::DayRange;
use crate::error::{Error, Result};
use crate::pipeline::Request;
use crate::pipeline::outcome::{ProgramOutcome, ReportOutcome, RunOutcome};

/// The range a `consumption` invocation asks for, and its banner label.
fn requested_range(
    args: &ConsumptionArgs,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<(DayRange, String)> {
    let range = match (args.date, args.start, args.end) {
        (Some(d), _, _) => DayRange::day(d),
        (None, Some(s), Some(e)) => DayRange::new(s, e)?,
        _ => {
            let n = args.days.unwrap_or(1);
            let r = DayRange::last_days(now, settings.timezone, n)?;
            return Ok((r, format!("LAST {n} DAY{}", if n == 1 { "" } else { "S" })));
        }
    };
    let label = if range.is_single_day() {
        range.start().to_string()
    } else {
        format!("{} TO {}", range.start(), range.end())
    };
    Ok((range, label))
}

pub(super) async fn run(
    args: ConsumptionArgs,
    settings: Settings,
    now: DateTime<Utc>,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let (range, label) = requested_range(&args, &settings, now)?;
    let request = Request {
        daily: if args.daily {
            range.days().collect()
        } else {
            vec![]
        },
        range: Some(range),
        serial_filter: args.serial.clone(),
        config_filter: args.config_id,
        account_filter: args.account,
        force: args.force,
        // Daily reports keep watch, as the scheduled run does: balance and alerts.
        watch: args
            .daily
            .then(|| settings.watch.with_commitment(args.commitment)),
        ..Request::default()
    };
    let outcome = execute(&settings, &args.credentials, &args.out, &request, now).await?;
    for program in outcome.programs {
        for day in &program.days {
            print(out, &format!("{}\n", console::report_line(day)))?;
        }
        if let Some(r) = &program.range {
            show(r, &label, args.format, args.commitment, args.all, out)?;
        }
        watched(&program, out)?;
    }
    Ok(())
}

/// The balance snapshot and alerts of a run that kept watch.
pub(super) fn watched(program: &ProgramOutcome, out: &mut impl Write) -> Result<()> {
    if let Some(b) = &program.balance {
        print(out, &console::watch::balance(b))?;
        print(out, &console::watch::alerts(&program.alerts))?;
    }
    Ok(())
}

/// `balance`: every program's balance snapshot and its alerts, written under `balances/`.
pub(super) async fn balance(
    args: BalanceArgs,
    settings: Settings,
    now: DateTime<Utc>,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let request = Request {
        watch: Some(settings.watch.with_commitment(args.commitment)),
        ..Request::default()
    };
    let credentials = &args.credentials.credentials;
    let outcome = execute(&settings, credentials, &args.out, &request, now).await?;
    for program in outcome.programs {
        watched(&program, out)?;
    }
    Ok(())
}

/// Runs `request` with the credentials (file, else environment) into `--out`, with the
/// progress bar.
async fn execute(
    settings: &Settings,
    credentials: &Option<std::path::PathBuf>,
    out: &std::path::Path,
    request: &Request,
    now: DateTime<Utc>,
) -> Result<RunOutcome> {
    let credentials = load_credentials(credentials.as_ref())?;
    let api = client(settings, settings.endpoints.clone(), &credentials)?;
    let sink = destination(out).await?;
    let ctx = settings.context(now, uuid::Uuid::new_v4().to_string());
    let progress = CliProgress::new();
    let outcome = crate::pipeline::run(&api, &sink, &credentials, request, &ctx, &progress).await;
    progress.finish();
    outcome
}

/// A range report as the table with rates and projections, or its JSON or CSV as written.
pub(super) fn show(
    o: &ReportOutcome,
    label: &str,
    format: Format,
    commitment: Option<rust_decimal::Decimal>,
    all: bool,
    out: &mut impl Write,
) -> Result<()> {
    let limit = (!all).then_some(console::TOP_ROWS);
    let report = o
        .report
        .as_ref()
        .ok_or_else(|| Error::Storage("the run kept no report to print".into()))?;
    let text = match format {
        Format::Table => {
            let mut t = console::summary(report, label, Some(o), limit);
            if !report.rows.is_empty() {
                t.push_str(&console::rates(report, commitment, limit));
            }
            t
        }
        Format::Json => String::from_utf8_lossy(&crate::contract::json(report)?).into_owned(),
        Format::Csv => String::from_utf8_lossy(&crate::contract::csv(report)?).into_owned(),
    };
    print(out, &text)
}

/// `--out`: a local folder, or an S3 prefix through the Lambda's S3 sink.
pub(super) async fn destination(out: &std::path::Path) -> Result<Destination> {
    let text = out.to_string_lossy();
    let Some((bucket, prefix)) = storage::s3_url(&text) else {
        return Ok(Destination::Local(LocalDir::new(out)));
    };
    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    if aws.region().is_none() {
        return Err(Error::Configuration(
            "--out s3://... needs an AWS region: set AWS_REGION".into(),
        ));
    }
    let path_style = crate::config::force_path_style_from_env()?;
    let named = |e: Error| match e {
        Error::Configuration(m) => Error::Configuration(format!("--out {text}: {m}")),
        other => other,
    };
    Ok(Destination::S3(
        S3Sink::from_sdk(&aws, bucket, prefix, path_style).map_err(named)?,
    ))
}
