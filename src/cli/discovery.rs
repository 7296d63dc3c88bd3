//! The discovery commands: `programs`, `configs`, `entitlements` and `probe-end-date`.
//! Each covers every account of the program(s), as the reports do.

use std::io::Write;

use chrono::{DateTime, Utc};

use super::{
    CredentialsArg, EntitlementsArgs, ProbeArgs, ProgramsArgs, client, load_credentials, print,
};
use crate::adapters::credentials::ExposeSecret;
use crate::adapters::fortiflex::{
    BalanceReading, Entitlement, EntitlementQuery, FortiFlexApi, HttpFortiFlex, PointsQuery,
    read_balance,
};
use crate::cli::listing;
use crate::config::Settings;
use crate::domain::window::{self, DayRange, EndDateMode};
use crate::error::{Error, Result};
use crate::pipeline::discovery::{Scope, discover};

pub(super) async fn programs(
    args: ProgramsArgs,
    settings: Settings,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let credentials = load_credentials(args.credentials.credentials.as_ref())?;
    let api = client(&settings, settings.endpoints.clone(), &credentials)?;
    let mut lines = Vec::new();
    for program in api.programs().await? {
        let declared = program.program_type.as_deref().map(str::to_ascii_lowercase);
        let (kind, balance) = match read_balance(&api, &program.serial_number).await {
            Ok(BalanceReading::Prepaid(b)) => (
                declared.unwrap_or_else(|| "prepaid".into()),
                b.or(program.point_balance),
            ),
            Ok(BalanceReading::Postpaid) => (declared.unwrap_or_else(|| "postpaid".into()), None),
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
        "api_password": credentials.password.expose_secret(),
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

/// The program(s) with every account and config, for `configs`, `entitlements` and the probe.
async fn program_context(
    args: &CredentialsArg,
    settings: &Settings,
) -> Result<(HttpFortiFlex, Vec<Scope>)> {
    let credentials = load_credentials(args.credentials.as_ref())?;
    let api = client(settings, settings.endpoints.clone(), &credentials)?;
    let scopes = discover(&api, &credentials).await?;
    Ok((api, scopes))
}

/// Every account's entitlements of `scope`, narrowed as `query` says.
async fn all_entitlements(
    api: &HttpFortiFlex,
    scope: &Scope,
    query: EntitlementQuery,
) -> Result<Vec<Entitlement>> {
    let mut all = Vec::new();
    for &account in &scope.accounts {
        all.extend(
            api.entitlements(&EntitlementQuery {
                account_id: Some(account),
                program_serial_number: Some(scope.serial.to_string()),
                ..query.clone()
            })
            .await?,
        );
    }
    Ok(all)
}

pub(super) async fn configs(
    args: CredentialsArg,
    settings: Settings,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let (api, scopes) = program_context(&args, &settings).await?;
    for scope in &scopes {
        let ents = all_entitlements(&api, scope, EntitlementQuery::default()).await?;
        print(out, &listing::configs(scope, &ents))?;
    }
    Ok(())
}

pub(super) async fn entitlements(
    args: EntitlementsArgs,
    settings: Settings,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let (api, scopes) = program_context(&args.credentials, &settings).await?;
    for scope in &scopes {
        let query = EntitlementQuery {
            config_id: args.config_id,
            status: args.status.as_ref().map(|s| s.trim().to_ascii_uppercase()),
            ..Default::default()
        };
        let ents = match args.config_id {
            // A config belongs to one account: ask for it alone.
            Some(c) => {
                api.entitlements(&EntitlementQuery {
                    config_id: Some(c),
                    ..query
                })
                .await?
            }
            None => all_entitlements(&api, scope, query).await?,
        };
        print(out, &listing::entitlements(scope, &ents))?;
    }
    Ok(())
}

pub(super) async fn probe_end_date(
    args: ProbeArgs,
    settings: Settings,
    now: DateTime<Utc>,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let day = args.date;
    let next = day
        .succ_opt()
        .ok_or_else(|| Error::InvalidRequest("no day after that one".into()))?;
    DayRange::new(day, next)?.ensure_complete(now, settings.timezone)?;
    let (api, scopes) = program_context(&args.credentials, &settings).await?;
    let scope = scopes
        .first()
        .ok_or_else(|| Error::Credentials("the API user sees no program".into()))?;
    let mut totals = Vec::new();
    for (start, end) in [(day, day), (next, next), (day, next)] {
        let mut rows = Vec::new();
        for &account in &scope.accounts {
            rows.extend(
                api.points(&PointsQuery {
                    start_date: start,
                    end_date: end,
                    account_id: Some(account),
                    program_serial_number: Some(scope.serial.to_string()),
                    config_id: None,
                    serial_number: None,
                })
                .await?,
            );
        }
        let total: rust_decimal::Decimal = rows.iter().map(|r| r.points).sum();
        totals.push(total);
        print(
            out,
            &format!(
                "startDate {start}  endDate {end}  ->  {} entitlement(s), {} points\n",
                rows.len(),
                crate::domain::money::points_text(total)
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
