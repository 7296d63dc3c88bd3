//! The `fortiflex-report` command line: argument definitions and the commands they run.
//! The binary only parses, sets up logging and calls [`run`].

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};

use crate::config::Settings;
use crate::console;
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::fortiflex::{Endpoints, FortiFlexApi, HttpFortiFlex, Pacer, http_client};
use crate::job::Reporter;
use crate::listing;
use crate::report::{Report, ReportKind};
use crate::sim::{self, Dataset, SimOptions};
use crate::sink::{self, Destination, LocalDir, S3Sink, Sink};
use crate::window::{self, DayRange, EndDateMode, parse_date};

const EXIT_CODES: &str = "\
Exit codes:
  0  success, including a range with no consumption
  1  usage, configuration, credentials or storage error
  2  FortiFlex, authentication or network error";

#[derive(Debug, Parser)]
#[command(name = "fortiflex-report", version, about = "FortiFlex point consumption reports, exact to the cent", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Consumption of a range of Pacific days, printed and written as CSV/JSON/manifest.
    Consumption(ConsumptionArgs),
    /// Every program the API user sees: serial, account id, dates, prepaid or postpaid, balance.
    Programs(ProgramsArgs),
    /// The program's configurations, with how many entitlements each has per status.
    Configs(CredentialsArg),
    /// The program's entitlements (never their licence tokens).
    Entitlements(EntitlementsArgs),
    /// Asks FortiFlex for [D, D], [D+1, D+1] and [D, D+1] and says whether this tenant reads
    /// endDate as inclusive or exclusive (which FORTIFLEX_END_DATE to set)
    ProbeEndDate(ProbeArgs),
    /// Runs yesterday's daily report and a 7-day report against the built-in simulator.
    Demo(DemoArgs),
    /// Serves the FortiFlex simulator on loopback until Ctrl-C.
    Sim(SimArgs),
}

#[derive(Debug, Args)]
pub struct ConsumptionArgs {
    /// The N complete Pacific days before today [default: 1]
    #[arg(long, value_name = "N", conflicts_with_all = ["date", "start", "end"])]
    pub days: Option<u32>,
    /// One Pacific day, YYYY-MM-DD
    #[arg(long, value_name = "D", conflicts_with_all = ["start", "end"])]
    pub date: Option<String>,
    /// First day of a range, YYYY-MM-DD (with --end)
    #[arg(long, value_name = "D", requires = "end")]
    pub start: Option<String>,
    /// Last day of a range, included, YYYY-MM-DD (with --start)
    #[arg(long, value_name = "D", requires = "start")]
    pub end: Option<String>,
    /// Only this entitlement's serial number
    #[arg(long, value_name = "SN")]
    pub serial: Option<String>,
    /// Only the entitlements of this configuration (FortiFlex's configId scope)
    #[arg(long, value_name = "N")]
    pub config_id: Option<u64>,
    /// Also write one daily report per day under daily/ (whole program only)
    #[arg(long, conflicts_with_all = ["serial", "config_id"])]
    pub daily: bool,
    /// Annual point commitment: show the share used and the run-rate against it
    #[arg(long, value_name = "POINTS")]
    pub commitment: Option<rust_decimal::Decimal>,
    /// What to print: the table with rates and projections, or the report's JSON or CSV
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Credentials JSON (partner toolkit format); else FORTIFLEX_USERNAME, FORTIFLEX_PASSWORD,
    /// FORTIFLEX_PROGRAM_SERIAL and FORTIFLEX_ACCOUNT_ID
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// Output folder laid out like the bucket, or s3://bucket/prefix (AWS credentials and
    /// region from the standard chain; S3_FORCE_PATH_STYLE=true for local S3 servers)
    #[arg(long, value_name = "DIR|S3URL", default_value = "reports")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct CredentialsArg {
    /// Credentials JSON (partner toolkit format); else the FORTIFLEX_* variables
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ProgramsArgs {
    #[command(flatten)]
    pub credentials: CredentialsArg,
    /// Write a credentials file (mode 0600) with the program and its account filled in
    #[arg(long, value_name = "FILE")]
    pub write_credentials: Option<PathBuf>,
    /// The program to write, when the API user sees several
    #[arg(long, value_name = "SERIAL", requires = "write_credentials")]
    pub program: Option<String>,
}

#[derive(Debug, Args)]
pub struct EntitlementsArgs {
    #[command(flatten)]
    pub credentials: CredentialsArg,
    /// Only this status (ACTIVE, PENDING, STOPPED, EXPIRED)
    #[arg(long, value_name = "S")]
    pub status: Option<String>,
    /// Only this configuration
    #[arg(long, value_name = "N")]
    pub config_id: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub credentials: CredentialsArg,
    /// A Pacific day with consumption whose next day is complete too, YYYY-MM-DD
    #[arg(long, value_name = "D")]
    pub date: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// How a report is shown on the console.
#[derive(Debug, Clone, Copy)]
struct View {
    format: Format,
    commitment: Option<rust_decimal::Decimal>,
}

impl View {
    const TABLE: View = View {
        format: Format::Table,
        commitment: None,
    };
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output folder
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// The simulator's Pacific today, YYYY-MM-DD [default: the real date]
    #[arg(long, value_name = "D")]
    pub today: Option<String>,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Loopback port (0: any free port)
    #[arg(long, default_value_t = 8089)]
    pub port: u16,
    /// The simulator's Pacific today, YYYY-MM-DD [default: the real date]
    #[arg(long, value_name = "D")]
    pub today: Option<String>,
    /// How the simulated tenant reads endDate: inclusive or exclusive
    #[arg(long, value_name = "MODE", default_value = "inclusive")]
    pub end_date: String,
    /// Faults to inject, comma-separated KIND[:ARG][*TIMES][@AFTER]: http:503*2, status:-10,
    /// delay:500ms, drop, malformed, expire-token@5, shape:vms, shape:array (TIMES: a count or inf)
    #[arg(long, value_name = "SPECS", default_value = "")]
    pub faults: String,
}

/// The exit code for a failure, as documented in `--help`.
pub fn exit_code(e: &Error) -> u8 {
    match e.root() {
        Error::FortiFlex(_) | Error::Authentication(_) => 2,
        _ => 1,
    }
}

/// Runs one command, writing what people read to `out`.
pub async fn run(cli: Cli, out: &mut (impl Write + Send)) -> Result<()> {
    match cli.command {
        Command::Consumption(args) => {
            consumption(args, Settings::from_env()?, Utc::now(), out).await
        }
        Command::Programs(args) => programs(args, Settings::from_env()?, out).await,
        Command::Configs(args) => configs(args, Settings::from_env()?, out).await,
        Command::Entitlements(args) => entitlements(args, Settings::from_env()?, out).await,
        Command::ProbeEndDate(args) => {
            probe_end_date(args, Settings::from_env()?, Utc::now(), out).await
        }
        Command::Demo(args) => demo(args, Settings::from_env()?, out).await,
        Command::Sim(args) => serve_sim(args, out).await,
    }
}

/// The range a `consumption` invocation asks for.
fn requested_range(
    args: &ConsumptionArgs,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<(DayRange, String)> {
    let range = match (&args.date, &args.start, &args.end) {
        (Some(d), _, _) => DayRange::day(parse_date(d)?),
        (None, Some(s), Some(e)) => DayRange::new(parse_date(s)?, parse_date(e)?)?,
        _ => {
            let n = args.days.unwrap_or(1);
            let r = DayRange::last_days(now, settings.timezone, n)?;
            return Ok((r, format!("LAST {n} DAY{}", if n == 1 { "" } else { "S" })));
        }
    };
    range.ensure_complete(now, settings.timezone)?;
    let label = if range.is_single_day() {
        range.start().to_string()
    } else {
        format!("{} TO {}", range.start(), range.end())
    };
    Ok((range, label))
}

fn load_credentials(path: Option<&PathBuf>) -> Result<Credentials> {
    load(path, true)
}

/// The FortiFlex client for `credentials`, paced and retried as `settings` say.
fn client(
    settings: &Settings,
    endpoints: Endpoints,
    credentials: &Credentials,
) -> Result<HttpFortiFlex> {
    Ok(HttpFortiFlex::new(
        http_client(settings.request_timeout)?,
        endpoints,
        credentials,
        Arc::new(Pacer::new(settings.limits)),
        settings.retry,
    ))
}

fn print(out: &mut impl Write, text: &str) -> Result<()> {
    write!(out, "{text}").map_err(|e| Error::Storage(format!("cannot print: {e}")))
}

async fn programs(
    args: ProgramsArgs,
    settings: Settings,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let credentials = load(args.credentials.credentials.as_ref(), false)?;
    let api = client(&settings, settings.endpoints.clone(), &credentials)?;
    let mut lines = Vec::new();
    for program in api.programs().await? {
        let declared = program.program_type.as_deref().map(str::to_ascii_lowercase);
        let (kind, balance) = match api.program_balance(&program.serial_number).await {
            Ok(b) => (
                declared.unwrap_or_else(|| "prepaid".into()),
                b.or(program.point_balance),
            ),
            Err(Error::FortiFlex(e)) if e.message.to_ascii_lowercase().contains("prepaid") => {
                (declared.unwrap_or_else(|| "postpaid".into()), None)
            }
            Err(e) => {
                tracing::warn!(program = %program.serial_number, error = %e, "no balance");
                (
                    declared.unwrap_or_else(|| "unknown".into()),
                    program.point_balance,
                )
            }
        };
        lines.push(listing::ProgramLine {
            program,
            kind,
            balance,
        });
    }
    print(out, &listing::programs(&credentials.username, &lines))?;
    let Some(path) = args.write_credentials else {
        return Ok(());
    };
    let chosen = match &args.program {
        Some(serial) => lines
            .iter()
            .find(|l| l.program.serial_number.eq_ignore_ascii_case(serial))
            .ok_or_else(|| {
                Error::InvalidRequest(format!("program {serial} is not among the programs above"))
            })?,
        None if lines.len() == 1 => &lines[0],
        None => {
            return Err(Error::InvalidRequest(
                "this API user sees several programs: choose one with --program SERIAL".into(),
            ));
        }
    };
    let doc = serde_json::json!({"fortiflex": {
        "api_username": credentials.username,
        "api_password": credentials.password.expose(),
        "program_serial_number": chosen.program.serial_number,
        "account_id": chosen.program.account_id,
    }});
    write_private(&path, &format!("{doc:#}\n"))?;
    print(
        out,
        &format!(
            "\n[SUCCESS] Credentials for program {} written to {} (mode 0600)\n",
            chosen.program.serial_number,
            path.display()
        ),
    )
}

/// Creates `path` readable by its owner only; never replaces an existing file.
fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::Storage(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::Storage(format!("cannot write {}: {e}", path.display())))
}

/// The program, its account and its configs, for `configs` and `entitlements`.
async fn program_context(
    args: &CredentialsArg,
    settings: &Settings,
) -> Result<(HttpFortiFlex, String, u64, Vec<crate::fortiflex::Config>)> {
    let credentials = load_credentials(args.credentials.as_ref())?;
    let api = client(settings, settings.endpoints.clone(), &credentials)?;
    let program = crate::job::serial(&credentials.program_serial, "program_serial_number")?;
    let account = crate::job::resolve_account(&api, &credentials).await?;
    let configs = api.configs(&program, Some(account)).await?;
    Ok((api, program, account, configs))
}

async fn configs(
    args: CredentialsArg,
    settings: Settings,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let (api, program, account, configs) = program_context(&args, &settings).await?;
    let ents = api
        .entitlements(&crate::fortiflex::EntitlementQuery {
            account_id: Some(account),
            program_serial_number: Some(program),
            ..Default::default()
        })
        .await?;
    print(out, &listing::configs(&configs, &ents))
}

async fn entitlements(
    args: EntitlementsArgs,
    settings: Settings,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let (api, program, account, configs) = program_context(&args.credentials, &settings).await?;
    let query = crate::fortiflex::EntitlementQuery {
        account_id: Some(account),
        program_serial_number: Some(program),
        config_id: args.config_id,
        status: args.status.map(|s| s.trim().to_ascii_uppercase()),
        ..Default::default()
    };
    let ents = api.entitlements(&query).await?;
    print(out, &listing::entitlements(&ents, &configs))
}

async fn probe_end_date(
    args: ProbeArgs,
    settings: Settings,
    now: DateTime<Utc>,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let day = parse_date(&args.date)?;
    let next = day
        .succ_opt()
        .ok_or_else(|| Error::InvalidRequest("no day after that one".into()))?;
    DayRange::new(day, next)?.ensure_complete(now, settings.timezone)?;
    let (api, program, account, _) = program_context(&args.credentials, &settings).await?;
    let mut totals = Vec::new();
    for (start, end) in [(day, day), (next, next), (day, next)] {
        let rows = api
            .points(&crate::fortiflex::PointsQuery {
                start_date: start,
                end_date: end,
                account_id: Some(account),
                program_serial_number: Some(program.clone()),
                config_id: None,
                serial_number: None,
            })
            .await?;
        let total: rust_decimal::Decimal = rows.iter().map(|r| r.points).sum();
        totals.push(total);
        print(
            out,
            &format!(
                "startDate {start}  endDate {end}  ->  {} entitlement(s), {} points\n",
                rows.len(),
                crate::report::points_text(total)
            ),
        )?;
    }
    let verdict = match window::judge_end_date(totals[0], totals[1], totals[2]) {
        Some(EndDateMode::Inclusive) => {
            "endDate is INCLUSIVE for this tenant: keep FORTIFLEX_END_DATE=inclusive (the default).".to_string()
        }
        Some(EndDateMode::Exclusive) => {
            "endDate is EXCLUSIVE for this tenant: set FORTIFLEX_END_DATE=exclusive.".to_string()
        }
        None if totals[2].is_zero() => format!(
            "Cannot tell: no consumption on {day} or {next}. Probe a day on which devices consumed points."
        ),
        None => "Cannot tell: the totals fit neither reading (FortiCloud may still be settling these days; try older ones).".to_string(),
    };
    print(out, &format!("\n{verdict}\n"))
}

fn load(path: Option<&PathBuf>, need_program: bool) -> Result<Credentials> {
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                Error::Credentials(format!(
                    "cannot read credentials file {}: {}",
                    p.display(),
                    e.kind()
                ))
            })?;
            if need_program {
                Credentials::from_json(&text, &p.display().to_string())
            } else {
                Credentials::login_from_json(&text, &p.display().to_string())
            }
        }
        None => {
            let env = |k: &str| std::env::var(k).ok();
            if need_program {
                Credentials::from_env(env)
            } else {
                Credentials::login_from_env(env)
            }
        }
        .map_err(|e| match e {
            Error::Credentials(m) => {
                Error::Credentials(format!("{m} (and no --credentials FILE was given)"))
            }
            other => other,
        }),
    }
}

async fn consumption(
    args: ConsumptionArgs,
    settings: Settings,
    now: DateTime<Utc>,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let (range, label) = requested_range(&args, &settings, now)?;
    let credentials = load_credentials(args.credentials.as_ref())?;
    let api = client(&settings, settings.endpoints.clone(), &credentials)?;
    let sink = destination(&args.out).await?;
    let reporter = Reporter::connect(
        &api,
        &sink,
        &credentials,
        settings.timezone,
        settings.end_date,
    )
    .await?;
    let run_id = uuid::Uuid::new_v4().to_string();
    if args.daily {
        for day in range.days() {
            let report = reporter
                .report(ReportKind::Daily, DayRange::day(day), None)
                .await?;
            let p = reporter.publish(&report, &run_id, Utc::now()).await?;
            let _ = writeln!(
                out,
                "daily {day}: {} points, {} ({})",
                crate::report::points_text(report.total),
                status(&p),
                sink.location(&p.keys.manifest)
            );
        }
    }
    let report = reporter
        .report_scoped(
            ReportKind::Range,
            range,
            args.serial.as_deref(),
            args.config_id,
        )
        .await?;
    let view = View {
        format: args.format,
        commitment: args.commitment,
    };
    publish_and_print(&reporter, &report, &label, view, &run_id, out).await
}

/// `--out`: a local folder, or an S3 prefix through the Lambda's S3 sink.
async fn destination(out: &std::path::Path) -> Result<Destination> {
    let text = out.to_string_lossy();
    let Some((bucket, prefix)) = sink::s3_url(&text) else {
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
    let path_style = crate::config::flag(&|k: &str| std::env::var(k).ok(), "S3_FORCE_PATH_STYLE")?;
    Ok(Destination::S3(S3Sink::from_sdk(
        &aws, bucket, prefix, path_style,
    )?))
}

/// Publishes a report and prints it: the console summary with rates and where it went, or
/// the report's JSON or CSV as written.
async fn publish_and_print<A: crate::fortiflex::FortiFlexApi, S: Sink>(
    reporter: &Reporter<'_, A, S>,
    report: &Report,
    label: &str,
    view: View,
    run_id: &str,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let p = reporter.publish(report, run_id, Utc::now()).await?;
    let location = reporter.sink().location(&p.keys.csv);
    let text = match view.format {
        Format::Table => {
            let mut t = console::summary(report, label, Some((&p, location)));
            if !report.rows.is_empty() {
                t.push_str(&console::rates(report, view.commitment));
            }
            t
        }
        Format::Json => String::from_utf8_lossy(&crate::render::json(report)).into_owned(),
        Format::Csv => String::from_utf8_lossy(&crate::render::csv(report)).into_owned(),
    };
    write!(out, "{text}").map_err(|e| Error::Storage(format!("cannot print the report: {e}")))
}

/// Midday of `day` in `tz`: an instant safely inside that day, DST or not.
fn noon(day: chrono::NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    let local = day.and_hms_opt(12, 0, 0).expect("noon exists");
    local
        .and_local_timezone(tz)
        .earliest()
        .map_or_else(Utc::now, |t| t.to_utc())
}

fn status(p: &crate::publish::Published) -> String {
    if p.written().is_empty() {
        format!("unchanged r{}", p.revision)
    } else {
        format!("written r{}", p.revision)
    }
}

async fn demo(args: DemoArgs, settings: Settings, out: &mut (impl Write + Send)) -> Result<()> {
    let today = args.today.as_deref().map(parse_date).transpose()?;
    let opts = SimOptions {
        today,
        ..SimOptions::default()
    };
    let sim = sim::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        Dataset::walkthrough(),
        opts,
    )
    .await
    .map_err(|e| Error::Configuration(format!("cannot start the simulator on loopback: {e}")))?;
    let credentials = sim.credentials();
    let endpoints = Endpoints::new(&sim.api_url(), &sim.auth_url())?;
    let api = client(&settings, endpoints, &credentials)?;
    let sink = LocalDir::new(&args.out);
    let reporter = Reporter::connect(
        &api,
        &sink,
        &credentials,
        settings.timezone,
        EndDateMode::Inclusive,
    )
    .await?;
    // The simulator's clock decides which days are complete.
    let now = today.map_or_else(Utc::now, |d| noon(d, settings.timezone));
    let run_id = uuid::Uuid::new_v4().to_string();
    let _ = writeln!(
        out,
        "FortiFlex simulator on {} (no Fortinet account needed)\n",
        sim.addr()
    );
    let yesterday = DayRange::day(window::last_complete_day(now, settings.timezone));
    let week = DayRange::last_days(now, settings.timezone, 7)?;
    for (kind, range, label) in [
        (ReportKind::Daily, yesterday, yesterday.start().to_string()),
        (ReportKind::Range, week, "LAST 7 DAYS".to_string()),
    ] {
        let report = reporter.report(kind, range, None).await?;
        publish_and_print(&reporter, &report, &label, View::TABLE, &run_id, out).await?;
    }
    let _ = writeln!(
        out,
        "Reports are under {}/ (daily/ and ranges/), laid out as in S3.",
        args.out.display()
    );
    sim.stop().await;
    Ok(())
}

async fn serve_sim(args: SimArgs, out: &mut (impl Write + Send)) -> Result<()> {
    let today = args.today.as_deref().map(parse_date).transpose()?;
    let end_date: EndDateMode = args.end_date.parse()?;
    let mut opts = SimOptions {
        today,
        end_date,
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
    let sim = sim::start(
        SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)),
        Dataset::walkthrough(),
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
         Ctrl-C stops it.",
        sim.addr(),
        end_date.as_str(),
        today.map_or("the real Pacific date".into(), |d| d.to_string()),
        faults,
        sim.api_url(),
        sim.auth_url(),
        c.username,
        c.password.expose(),
        c.program_serial,
    );
    let _ = out.flush();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = sim.wait() => {}
    }
    Ok(())
}
