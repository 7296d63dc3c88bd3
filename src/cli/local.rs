//! What runs with no Fortinet account: `demo` (the pipeline against the in-process
//! simulator) and `sim` (the simulator alone, for the CLI and the local Lambda loop).

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::consumption::show;
use super::{DemoArgs, Format, SimArgs, client, print};
use crate::adapters::credentials::ExposeSecret;
use crate::adapters::fortiflex::Endpoints;
use crate::adapters::fortiflex::Limits;
use crate::adapters::storage::LocalDir;
use crate::adapters::storage::Sink;
use crate::cli::console;
use crate::config::Settings;
use crate::contract::keys::CUSTOMERS as CUSTOMERS_KEY;
use crate::domain::money::display2;
use crate::domain::statement::Month;
use crate::domain::window::{self, DayRange, EndDateMode};
use crate::error::{Error, Result};
use crate::pipeline::outcome::{Period, Status};
use crate::pipeline::progress::Silent;
use crate::pipeline::{Request, statements, tieout};
use crate::sim::{self, Dataset, SimOptions};

/// The demo's customers file (written to `<out>/config/customers.json` when none is there):
/// the walkthrough's configurations billed to three customers, each with a price.
const SAMPLE_CUSTOMERS: &str = include_str!("../../infra/customers.sample.json");
/// A month of history: enough for a statement, the chart and a 30-day burn rate.
const BACKFILL_DAYS: u64 = 30;
/// The scheduled job's daily runs before today's that the demo replays: each reads the
/// balance and the rates, and the tie-out needs a snapshot a day.
const DAILY_RUNS: u64 = 13;

/// Midday of `day` in `tz`: an instant safely inside that day, DST or not.
fn noon(day: NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    day.and_hms_opt(12, 0, 0)
        .and_then(|local| local.and_local_timezone(tz).earliest())
        .map_or_else(Utc::now, |t| t.to_utc())
}

/// The demo: a month backfilled as of 13 days ago, then the scheduled job's run of each day
/// since (the day before and the days FortiCloud may still restate, the balance, rates,
/// tie-out, statements and site), the simulator's clock moving a day each time; today's
/// run is shown.
pub(super) async fn demo(
    args: DemoArgs,
    settings: Settings,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let tz = settings.timezone;
    let today = args.today.unwrap_or_else(|| window::today(Utc::now(), tz));
    let first_run = today - Days::new(DAILY_RUNS);
    let opts = SimOptions {
        today: Some(first_run),
        ..SimOptions::default()
    };
    let sim = sim::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        Dataset::demo(today),
        opts,
    )
    .await
    .map_err(|e| Error::Configuration(format!("cannot start the simulator on loopback: {e}")))?;
    let credentials = sim.credentials();
    let endpoints = Endpoints::new(&sim.api_url(), &sim.auth_url())?;
    // Our own simulator: no pacing to wait for.
    let settings = Settings {
        end_date: EndDateMode::Inclusive,
        limits: Limits::new(100_000, 1_000_000),
        // The simulated organization names the accounts the sample file does not claim.
        organizations: settings
            .organizations
            .or(Some(crate::domain::customers::CustomerFrom::Company)),
        ..settings
    };
    let api = client(&settings, endpoints, &credentials)?;
    let sink = LocalDir::new(&args.out);
    if sink.get(CUSTOMERS_KEY).await?.is_none() {
        sink.put(
            CUSTOMERS_KEY,
            SAMPLE_CUSTOMERS.as_bytes().to_vec(),
            "application/json",
        )
        .await?;
    }
    let _ = writeln!(
        out,
        "FortiFlex simulator on {} (no Fortinet account needed)\n",
        sim.addr()
    );
    let restate = u64::from(settings.restate_days);
    let mut written = 0;
    let mut outcome = None;
    for run_day in first_run.iter_days().take_while(|d| *d <= today) {
        sim.set_today(run_day);
        let now = noon(run_day, tz);
        let yesterday = window::last_complete_day(now, tz);
        let last = run_day == today;
        let (days, restate_from) = if run_day == first_run {
            (BACKFILL_DAYS - DAILY_RUNS, None)
        } else {
            // The scheduled run: yesterday and the days FortiCloud may still restate.
            (restate + 1, yesterday.checked_sub_days(Days::new(restate)))
        };
        let request = Request {
            daily: (0..days)
                .filter_map(|n| yesterday.checked_sub_days(Days::new(n)))
                .collect(),
            restate_from,
            range: last.then(|| DayRange::last_days(now, tz, 7)).transpose()?,
            keep_daily_reports: last,
            statements: true,
            watch: Some(settings.watch),
            site: true,
            ..Request::default()
        };
        let ctx = settings.context(now, uuid::Uuid::new_v4().to_string());
        let run = crate::pipeline::run(&api, &sink, &credentials, &request, &ctx, &Silent).await?;
        written += run
            .programs
            .iter()
            .flat_map(|p| &p.days)
            .filter(|d| {
                d.status == Status::Written
                    && !matches!(d.period, Period::Day { date } if last && date == yesterday)
            })
            .count();
        outcome = Some(run);
    }
    let yesterday = today - Days::new(1);
    for program in outcome.iter().flat_map(|o| &o.programs) {
        for day in &program.days {
            if !matches!(day.period, Period::Day { date } if date == yesterday) {
                continue;
            }
            match day.report {
                Some(_) => show(day, &yesterday.to_string(), Format::Table, None, false, out)?,
                // Stored by an earlier demo and unchanged: not rebuilt, so just say so.
                None => print(out, &format!("{}\n\n", console::report_line(day)))?,
            }
        }
        if let Some(r) = &program.range {
            show(r, "LAST 7 DAYS", Format::Table, None, false, out)?;
        }
        print(
            out,
            &format!(
                "Backfilled {} days on {first_run}, then the scheduled job ran once a day through \
                 {today} ({DAILY_RUNS} more runs, each re-checking the {restate} days before its \
                 last): {written} earlier daily reports written, the rest unchanged.\n",
                BACKFILL_DAYS - DAILY_RUNS,
            ),
        )?;
        for s in &program.statements {
            let amount = s
                .amount
                .map(|a| format!(", amount {}", display2(a)))
                .unwrap_or_default();
            print(
                out,
                &format!(
                    "Statement {} ({}, revision {}): {} points{amount}\n",
                    s.month,
                    s.status,
                    s.revision,
                    display2(s.points)
                ),
            )?;
        }
        // Today's alerts: the earlier days' are in alerts/.
        if let Some(b) = &program.balance {
            let newest = &program.alerts[..program.alerts.len().min(1)];
            print(out, &console::watch::balance(b))?;
            print(out, &console::watch::alerts(newest))?;
        }
        // The tie-out of each month the daily runs covered, as the archive now holds them.
        let customers = statements::customers(&sink, settings.organizations).await?;
        let mut month = Month::of(first_run);
        while month.first() <= yesterday {
            let asked = tieout::Asked {
                program: &program.program_serial_number,
                month,
                through: yesterday,
                program_start: None,
                prepaid: program
                    .balance
                    .as_ref()
                    .is_some_and(|b| b.balance.is_some()),
                customers: customers.as_ref(),
            };
            let file = tieout::month(&sink, &asked).await?;
            print(out, &super::tieout::summary(&file))?;
            month = Month::of(month.last() + Days::new(1));
        }
    }
    let _ = writeln!(
        out,
        "Reports are under {}/ (daily/, ranges/, statements/, balances/, rates/, tieout/, alerts/), \
         laid out as in S3, billed per {}/{CUSTOMERS_KEY}.\nThe site: {}",
        args.out.display(),
        args.out.display(),
        args.out.join(crate::contract::keys::SITE_INDEX).display()
    );
    sim.stop().await;
    Ok(())
}

pub(super) async fn serve_sim(args: SimArgs, out: &mut (impl Write + Send)) -> Result<()> {
    let today = args.today;
    let end_date = args.end_date;
    let mut opts = SimOptions {
        today,
        end_date,
        retention_days: (args.retention_days > 0).then_some(args.retention_days),
        ..SimOptions::default()
    };
    for spec in sim::parse_faults(&args.faults)? {
        match spec {
            sim::FaultSpec::Fault(f) => opts.faults.push(f),
            sim::FaultSpec::Shape(s) => opts.shape = s,
        }
    }
    let faults = if args.faults.trim().is_empty() {
        "none".to_string()
    } else {
        args.faults.clone()
    };
    let data = if let Some(n) = args.scale {
        Dataset::scale(n)
    } else if args.mssp {
        Dataset::mssp(args.extra_accounts)
    } else {
        Dataset::walkthrough()
    };
    let sim = sim::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)),
        data,
        opts,
    )
    .await
    .map_err(|e| Error::Configuration(format!("cannot listen on 127.0.0.1:{}: {e}", args.port)))?;
    let c = sim.credentials();
    let _ = writeln!(
        out,
        "FortiFlex simulator on http://{} (endDate {}, today {}, faults {}). Use it with:\n\
         export FORTIFLEX_API_URL={}\nexport FORTIFLEX_AUTH_URL={}\n\
         export FORTIFLEX_USERNAME={} FORTIFLEX_PASSWORD={} FORTIFLEX_PROGRAM_SERIAL={}\n\
         (leave FORTIFLEX_PROGRAM_SERIAL unset to report every program)\n\
         Ctrl-C stops it.",
        sim.addr(),
        end_date.as_str(),
        today.map_or("the real Pacific date".into(), |d| d.to_string()),
        faults,
        sim.api_url(),
        sim.auth_url(),
        c.username,
        c.password.expose_secret(),
        c.program_serial.as_deref().unwrap_or(""),
    );
    let _ = out.flush();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = sim.wait() => {}
    }
    Ok(())
}
