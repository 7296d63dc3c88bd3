//! The command line's arguments: what each command accepts, nothing of what it does.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use super::EXIT_CODES;
use crate::domain::billing::Target;
use crate::domain::ids::{AccountId, Serial};
use crate::domain::statement::Month;
#[cfg(feature = "sim")]
use crate::domain::window::EndDateMode;
use crate::domain::window::parse_date;
use crate::error::Error;

/// What a value parser says: the problem alone, since clap names the flag.
fn problem(e: Error) -> String {
    match e.root() {
        Error::InvalidRequest(m) | Error::Configuration(m) => m.clone(),
        other => other.to_string(),
    }
}

/// A `YYYY-MM-DD` day on the command line.
fn day(s: &str) -> Result<NaiveDate, String> {
    parse_date(s).map_err(problem)
}

/// An entitlement's serial number.
fn serial(s: &str) -> Result<Serial, String> {
    Serial::parse(s, "a serial number").map_err(problem)
}

/// A calendar month, `YYYY-MM`.
fn month(s: &str) -> Result<Month, String> {
    Month::parse(s).map_err(problem)
}

/// `inclusive` or `exclusive` (the simulator's `--end-date`).
#[cfg(feature = "sim")]
fn end_date_mode(s: &str) -> Result<EndDateMode, String> {
    s.parse().map_err(problem)
}

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
    /// The program's configurations, every account's, with entitlement counts per status.
    Configs(CredentialsArg),
    /// The program's entitlements, every account's (never their licence tokens).
    Entitlements(EntitlementsArgs),
    /// Asks FortiFlex for [D, D], [D+1, D+1] and [D, D+1] and says whether this tenant reads
    /// endDate as inclusive or exclusive (which FORTIFLEX_END_DATE to set)
    ProbeEndDate(ProbeArgs),
    /// Each program's balance: burn rates, runway, grace, commitment and roll-over estimate,
    /// from FortiFlex's balance and the stored daily reports under --out; written under
    /// balances/
    Balance(BalanceArgs),
    /// A month's statement per customer, in money, from the stored daily reports under --out
    /// (no FortiFlex call)
    Statement(StatementArgs),
    /// A month's days checked against what Fortinet deducted from the prepaid balance, from
    /// the stored daily reports and balance snapshots under --out (no FortiFlex call); written
    /// under tieout/
    Tieout(TieoutArgs),
    /// A final month's quantities into the billing systems the customers file names
    /// (ConnectWise PSA, Stripe, a signed webhook), exactly once: a dry run unless --apply
    Push(PushArgs),
    /// Runs yesterday's daily report and a 7-day report against the built-in simulator.
    #[cfg(feature = "sim")]
    Demo(DemoArgs),
    /// Serves the FortiFlex simulator on loopback until Ctrl-C.
    #[cfg(feature = "sim")]
    Sim(SimArgs),
}

#[derive(Debug, Args)]
pub struct ConsumptionArgs {
    /// The N complete Pacific days before today [default: 1]
    #[arg(long, value_name = "N", conflicts_with_all = ["date", "start", "end"])]
    pub days: Option<u32>,
    /// One Pacific day, YYYY-MM-DD
    #[arg(long, value_name = "D", conflicts_with_all = ["start", "end"])]
    #[arg(value_parser = day)]
    pub date: Option<NaiveDate>,
    /// First day of a range, YYYY-MM-DD (with --end)
    #[arg(long, value_name = "D", requires = "end")]
    #[arg(value_parser = day)]
    pub start: Option<NaiveDate>,
    /// Last day of a range, included, YYYY-MM-DD (with --start)
    #[arg(long, value_name = "D", requires = "start")]
    #[arg(value_parser = day)]
    pub end: Option<NaiveDate>,
    /// Only this entitlement's serial number
    #[arg(long, value_name = "SN", value_parser = serial)]
    pub serial: Option<Serial>,
    /// Only the entitlements of this configuration (FortiFlex's configId scope)
    #[arg(long, value_name = "N")]
    pub config_id: Option<u64>,
    /// Only this account of the program (a customer's), key suffix _account-ID
    #[arg(long, value_name = "ID")]
    pub account: Option<AccountId>,
    /// Also write one daily report per day under daily/ (whole program only)
    #[arg(long, conflicts_with_all = ["serial", "config_id", "account"])]
    pub daily: bool,
    /// Re-pull days already stored, and let a re-pull replace a stored report even when
    /// FortiFlex now answers fewer accounts or nothing
    #[arg(long)]
    pub force: bool,
    /// Annual point commitment: show the share used and the run-rate against it
    #[arg(long, value_name = "POINTS")]
    pub commitment: Option<rust_decimal::Decimal>,
    /// Print every entitlement in the tables, not only the 50 biggest consumers
    #[arg(long)]
    pub all: bool,
    /// What to print: the table with rates and projections, or the report's JSON or CSV
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Credentials JSON (partner toolkit format); else FORTIFLEX_USERNAME, FORTIFLEX_PASSWORD,
    /// FORTIFLEX_PROGRAM_SERIAL and FORTIFLEX_ACCOUNT_ID. Without a program serial, every
    /// program the API user sees is reported
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
    #[arg(value_parser = day)]
    pub date: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct StatementArgs {
    /// The month, YYYY-MM
    #[arg(long, value_name = "YYYY-MM", value_parser = month)]
    pub month: Month,
    /// The program whose daily reports to read
    #[arg(long, value_name = "SERIAL", env = "FORTIFLEX_PROGRAM_SERIAL", value_parser = serial)]
    pub program: Serial,
    /// The customers file (accounts, configs and serials to customers, prices); without it,
    /// one customer per account and no amounts
    #[arg(long, value_name = "FILE")]
    pub customers: Option<PathBuf>,
    /// Where the daily reports are and the statement goes: a folder or s3://bucket/prefix
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct TieoutArgs {
    /// The month, YYYY-MM [default: the month of yesterday, Pacific]
    #[arg(long, value_name = "YYYY-MM", value_parser = month)]
    pub month: Option<Month>,
    /// The program whose reports and snapshots to read
    #[arg(long, value_name = "SERIAL", env = "FORTIFLEX_PROGRAM_SERIAL", value_parser = serial)]
    pub program: Serial,
    /// Where the daily reports and balance snapshots are and the tie-out goes: a folder or
    /// s3://bucket/prefix
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// The points on Fortinet's invoice for the month (a postpaid program's check): kept in
    /// the archive and compared with the month's reports from then on
    #[arg(long, value_name = "POINTS", value_parser = points)]
    pub invoice_points: Option<rust_decimal::Decimal>,
}

/// Exact decimal points, as an invoice prints them.
fn points(s: &str) -> Result<rust_decimal::Decimal, String> {
    crate::domain::money::parse_decimal(s).ok_or_else(|| format!("'{s}' is not a number of points"))
}

/// `connectwise`, `stripe` or `webhook`.
fn target(s: &str) -> Result<Target, String> {
    s.parse()
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The month, YYYY-MM: its stored statement must be final to --apply
    #[arg(long, value_name = "YYYY-MM", value_parser = month)]
    pub month: Month,
    /// The program whose statement to push
    #[arg(long, value_name = "SERIAL", env = "FORTIFLEX_PROGRAM_SERIAL", value_parser = serial)]
    pub program: Serial,
    /// The customers file, with each customer's connectwise, stripe and webhook settings
    #[arg(long, value_name = "FILE")]
    pub customers: PathBuf,
    /// Only this target: connectwise, stripe or webhook [default: every target]
    #[arg(long, value_name = "TARGET", value_parser = target)]
    pub target: Vec<Target>,
    /// Send, and record each push in the ledger under pushes/; without it, only print what
    /// would be sent and what the ledger already holds
    #[arg(long)]
    pub apply: bool,
    /// Read back what each target holds of the month, compare it with the statement and
    /// write the reconciliation under pushes/ (sends nothing; --apply always verifies)
    #[arg(long)]
    pub verify: bool,
    /// The billing systems' credentials JSON (needed with --apply and --verify)
    #[arg(long, value_name = "FILE", env = "BILLING_CREDENTIALS_FILE")]
    pub billing_credentials: Option<PathBuf>,
    /// Where the statement is and the ledger goes: a folder or s3://bucket/prefix
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct BalanceArgs {
    #[command(flatten)]
    pub credentials: CredentialsArg,
    /// A postpaid program's annual commitment in points [env: COMMITMENT_POINTS]
    #[arg(long, value_name = "POINTS")]
    pub commitment: Option<rust_decimal::Decimal>,
    /// Where the daily reports are and the snapshot goes: a folder or s3://bucket/prefix
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
}

#[cfg(feature = "sim")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output folder
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out: PathBuf,
    /// The simulator's Pacific today, YYYY-MM-DD [default: the real date]
    #[arg(long, value_name = "D")]
    #[arg(value_parser = day)]
    pub today: Option<NaiveDate>,
}

#[cfg(feature = "sim")]
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Loopback port (0: any free port)
    #[arg(long, default_value_t = 8089)]
    pub port: u16,
    /// The simulator's Pacific today, YYYY-MM-DD [default: the real date]
    #[arg(long, value_name = "D")]
    #[arg(value_parser = day)]
    pub today: Option<NaiveDate>,
    /// How the simulated tenant reads endDate: inclusive or exclusive
    #[arg(long, value_name = "MODE", default_value = "inclusive", value_parser = end_date_mode)]
    pub end_date: EndDateMode,
    /// Faults to inject, comma-separated KIND[:ARG][*TIMES][@AFTER]: http:503*2, status:-10,
    /// delay:500ms, drop, malformed, expire-token@5, shape:vms, shape:array (TIMES: a count or inf)
    #[arg(long, value_name = "SPECS", default_value = "")]
    pub faults: String,
    /// An MSSP tenant: the walkthrough's program spread over the partner's and two customer
    /// accounts, plus a second (postpaid) program
    #[arg(long)]
    pub mssp: bool,
    /// With --mssp: this many more synthetic customer accounts (call-budget trials)
    #[arg(long, value_name = "N", default_value_t = 0, requires = "mssp")]
    pub extra_accounts: u32,
    /// The walkthrough plus N synthetic entitlements (`make bench` uses 100000)
    #[arg(long, value_name = "N", conflicts_with = "mssp")]
    pub scale: Option<u32>,
    /// Days of history the simulated FortiFlex keeps (0: all of it)
    #[arg(long, value_name = "N", default_value_t = 90)]
    pub retention_days: u32,
}
