//! A program and every account it spans. An MSSP's program covers its own FortiCloud
//! account and one per customer; `configs/list` with only the program serial lists the
//! configurations of all of them, each with its `accountId`, which is how the accounts are
//! found. Asking only the partner's own account would silently drop every customer.

use crate::adapters::credentials::Credentials;
use crate::adapters::fortiflex::{Config, FortiFlexApi, Program};
use crate::domain::ids::{AccountId, Serial};
use crate::error::{Error, Result};

/// One program to report: its serial, its own account, every account it spans and its
/// configurations (all accounts).
#[derive(Debug, Clone, PartialEq)]
pub struct Scope {
    pub serial: Serial,
    /// The program's (partner's) own account: the reports' top-level `account_id`.
    pub account_id: AccountId,
    /// The own account and every customer account, ascending.
    pub accounts: Vec<AccountId>,
    pub configs: Vec<Config>,
    /// The program as `programs/list` gave it (dates, type), when discovery asked for it.
    pub listed: Option<Program>,
}

impl Scope {
    /// The account a configuration belongs to, as `configs/list` said.
    pub fn config_account(&self, config_id: u64) -> Option<AccountId> {
        self.configs
            .iter()
            .find(|c| c.id == config_id)
            .and_then(|c| c.account_id)
    }
}

/// The program(s) `credentials` name, with their accounts: the one program of
/// `program_serial_number`, or every program the API user sees. Costs one `configs/list`
/// per program, plus one `programs/list` unless the program and its account are given.
pub async fn discover(api: &impl FortiFlexApi, credentials: &Credentials) -> Result<Vec<Scope>> {
    let wanted = program_serial(credentials)?;
    let programs: Vec<(Serial, AccountId, Option<Program>)> = match (
        &wanted,
        credentials.account_id,
    ) {
        (Some(p), Some(account)) => vec![(p.clone(), account, None)],
        (Some(p), None) => {
            let listed = api.programs().await?;
            let found = listed
                .iter()
                .find(|l| l.serial_number.eq_ignore_ascii_case(p.as_str()));
            match found.and_then(|l| l.account_id) {
                Some(account) => vec![(p.clone(), account, found.cloned())],
                None => {
                    return Err(Error::Credentials(format!(
                        "program {p} is not among the programs this API user sees ({}), or has no account id; set account_id",
                        seen(&listed)
                    )));
                }
            }
        }
        (None, _) => {
            let listed = api.programs().await?;
            if listed.is_empty() {
                return Err(Error::Credentials(
                    "this API user sees no FortiFlex program; check its permissions in FortiCloud IAM".into(),
                ));
            }
            listed
                .iter()
                .map(|l| {
                    let s = Serial::parse(&l.serial_number, "a program serial from programs/list")?;
                    let account = l.account_id.ok_or_else(|| {
                        Error::Credentials(format!(
                            "programs/list gives program {s} no account id; name the program and its account_id in the credentials"
                        ))
                    })?;
                    Ok((s, account, Some(l.clone())))
                })
                .collect::<Result<_>>()?
        }
    };
    let mut scopes = Vec::with_capacity(programs.len());
    for (program, account_id, listed) in programs {
        let configs = api.configs(&program, None).await?;
        let mut accounts: Vec<AccountId> = configs.iter().filter_map(|c| c.account_id).collect();
        accounts.push(account_id);
        accounts.sort_unstable();
        accounts.dedup();
        scopes.push(Scope {
            serial: program,
            account_id,
            accounts,
            configs,
            listed,
        });
    }
    Ok(scopes)
}

/// The checked program serial of `credentials`, if they name one. A bad one is a
/// credentials error: it is a placeholder left in the secret or a typo in the file.
pub fn program_serial(credentials: &Credentials) -> Result<Option<Serial>> {
    credentials
        .program_serial
        .as_deref()
        .map(|p| {
            Serial::parse(p, "program_serial_number").map_err(|e| match e {
                Error::InvalidRequest(m) => Error::Credentials(m),
                other => other,
            })
        })
        .transpose()
}

fn seen(programs: &[Program]) -> String {
    if programs.is_empty() {
        return "none".into();
    }
    programs
        .iter()
        .map(|p| p.serial_number.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
