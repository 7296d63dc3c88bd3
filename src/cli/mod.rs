//! The `fortiflex-report` command line. Each command turns its flags into one library call
//! and prints the outcome; the binary only parses, sets up logging and calls [`run`].

mod args;
pub(crate) mod console;
mod consumption;
mod discovery;
pub(crate) mod listing;
#[cfg(feature = "sim")]
mod local;
mod progress;
mod push;
mod statement;
mod tieout;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;

pub use args::Cli;
pub(crate) use args::{
    BalanceArgs, Command, ConsumptionArgs, CredentialsArg, EntitlementsArgs, Format, ProbeArgs,
    ProgramsArgs, PushArgs, StatementArgs, TieoutArgs,
};
#[cfg(feature = "sim")]
pub(crate) use args::{DemoArgs, SimArgs};

use crate::adapters::credentials::Credentials;
use crate::adapters::fortiflex::{Endpoints, HttpFortiFlex, Pacer, http_client};
use crate::config::Settings;
use crate::error::{Error, Result};

const EXIT_CODES: &str = "\
Exit codes:
  0  success, including a range with no consumption
  1  usage, configuration, credentials, budget, busy or storage error
  2  FortiFlex, authentication or network error";

/// The exit code for a failure, as documented in `--help`.
pub fn exit_code(e: &Error) -> u8 {
    match e.root() {
        Error::FortiFlex(_) | Error::Authentication(_) => 2,
        _ => 1,
    }
}

/// Runs one command, writing what people read to `out`. Each command's future is boxed: nested
/// whole (CLI → pipeline → job → adapters) it passes rustc's layout depth limit on a clean
/// build, and the process's own future stays a pointer.
pub async fn run(cli: Cli, out: &mut (impl Write + Send)) -> Result<()> {
    let settings = || {
        let settings = Settings::from_env()?;
        let now = settings.now.unwrap_or_else(Utc::now);
        Ok::<_, Error>((settings, now))
    };
    match cli.command {
        Command::Consumption(args) => {
            let (settings, now) = settings()?;
            Box::pin(consumption::run(args, settings, now, out)).await
        }
        Command::Balance(args) => {
            let (settings, now) = settings()?;
            Box::pin(consumption::balance(args, settings, now, out)).await
        }
        Command::Statement(args) => {
            let (settings, now) = settings()?;
            Box::pin(statement::run(args, settings, now, out)).await
        }
        Command::Tieout(args) => {
            let (settings, now) = settings()?;
            Box::pin(tieout::run(args, settings, now, out)).await
        }
        Command::Push(args) => {
            let (settings, now) = settings()?;
            Box::pin(push::run(args, settings, now, out)).await
        }
        Command::Programs(args) => {
            Box::pin(discovery::programs(args, Settings::from_env()?, out)).await
        }
        Command::Configs(args) => {
            Box::pin(discovery::configs(args, Settings::from_env()?, out)).await
        }
        Command::Entitlements(args) => {
            Box::pin(discovery::entitlements(args, Settings::from_env()?, out)).await
        }
        Command::ProbeEndDate(args) => {
            let (settings, now) = settings()?;
            Box::pin(discovery::probe_end_date(args, settings, now, out)).await
        }
        #[cfg(feature = "sim")]
        Command::Demo(args) => Box::pin(local::demo(args, Settings::from_env()?, out)).await,
        #[cfg(feature = "sim")]
        Command::Sim(args) => Box::pin(local::serve_sim(args, out)).await,
    }
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

/// The customers file at `path`, validated.
fn load_customers(path: &std::path::Path) -> Result<crate::domain::customers::Customers> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Customers(format!("cannot read {}: {}", path.display(), e.kind())))?;
    crate::domain::customers::Customers::parse(&text, &path.display().to_string())
}

/// Credentials from `--credentials FILE`, else the `FORTIFLEX_*` variables.
fn load_credentials(path: Option<&PathBuf>) -> Result<Credentials> {
    match path {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| {
                Error::Credentials(format!(
                    "cannot read credentials file {}: {}",
                    p.display(),
                    e.kind()
                ))
            })?;
            Credentials::from_json(&text, &p.display().to_string())
        }
        None => crate::config::credentials_from_env().map_err(|e| match e {
            Error::Credentials(m) => {
                Error::Credentials(format!("{m} (and no --credentials FILE was given)"))
            }
            other => other,
        }),
    }
}
