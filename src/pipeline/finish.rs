//! A run's last step, after its daily reports: the balance snapshot and the alerts of the
//! days written, the statements of the months they touch, and the site. Shared by the one-
//! invocation run and a Step Functions job's finish.

use std::collections::BTreeSet;

use super::balance_alerts::{self as watch, Watched};
use super::discovery::Scope;
use super::outcome::ProgramOutcome;
use super::request::{Context, Request};
use super::{organizations, site, statements};
use crate::adapters::fortiflex::FortiFlexApi;
use crate::adapters::storage::Sink;
use crate::domain::customers::Customers;
use crate::domain::window;
use crate::error::Result;

/// Balance, alerts, statements and site for `programs` (each with what its reports wrote,
/// and its scope), as `request` asks.
pub(super) async fn finish<A: FortiFlexApi, S: Sink>(
    api: &A,
    sink: &S,
    programs: Vec<(ProgramOutcome, Watched)>,
    scopes: &[&Scope],
    request: &Request,
    ctx: &Context,
) -> Result<Vec<ProgramOutcome>> {
    // Balance, alerts and statements last: none of them may cost the day's reports. A bad
    // customers file fails the run after the balance and alerts are written (their customer
    // ids then fall back to account ids).
    let file = if request.dry_run || !(request.statements || request.watch.is_some()) {
        Ok(None)
    } else {
        statements::customers_file(sink)
            .await
            .and_then(|f| checked(f, scopes))
    };
    // Customers named from FortiCloud's organization, listed now when asked.
    let (customers, newcomers, listing) = match file {
        Ok(file) if !request.dry_run => {
            let named = organizations::for_run(api, sink, file, ctx).await?;
            (Ok(named.customers), named.newcomers, named.said)
        }
        file => (file, Vec::new(), None),
    };
    let mut programs: Vec<_> = match request.watch.filter(|_| !request.dry_run) {
        Some(settings) => {
            let mut done = Vec::with_capacity(programs.len());
            for (i, ((mut program, mut watched), scope)) in
                programs.into_iter().zip(scopes).enumerate()
            {
                let known = customers.as_ref().ok().and_then(Option::as_ref);
                // A new account is told once: with the first program that spans it (the
                // first program when none does yet).
                watched.told = newcomers
                    .iter()
                    .filter(|a| {
                        let first = scopes
                            .iter()
                            .position(|s| a.account_id.is_some_and(|x| s.accounts.contains(&x)));
                        first.unwrap_or(0) == i
                    })
                    .cloned()
                    .collect();
                let judged = watch::watch(api, sink, scope, watched, known, &settings, ctx).await?;
                program.balance = Some(judged.snapshot);
                program.alerts = judged.alerts;
                program.tieouts = judged.tieouts;
                done.push(program);
            }
            done
        }
        None => programs.into_iter().map(|(p, _)| p).collect(),
    };
    for p in &mut programs {
        p.organization.clone_from(&listing);
    }
    if request.statements && !request.dry_run && !request.daily.is_empty() {
        let customers = customers?;
        let today = window::today(ctx.now, ctx.timezone);
        for program in &mut programs {
            let serial = &program.program_serial_number;
            // Read before the statement is built: a stored day and the month's statement are
            // then never in memory together.
            let history = if request.site {
                Some(site::history(sink, serial, today, customers.as_ref()).await?)
            } else {
                None
            };
            let (outcomes, month) = statements::publish_months(
                sink,
                program,
                &request.daily,
                customers.as_ref(),
                ctx,
                request.site,
            )
            .await?;
            program.statements = outcomes;
            if let Some(history) = history {
                let extras = site::Extras {
                    snapshot: program.balance.as_ref(),
                    alerts: &program.alerts,
                    month: month.as_ref(),
                    restate_days: ctx.restate_days,
                    now: ctx.now,
                    tieouts: &program.tieouts,
                };
                let serial = &program.program_serial_number;
                site::publish_site(sink, serial, today, &history, &extras).await?;
            }
        }
    }
    Ok(programs)
}

/// `file` once its price book names only configurations and product types the programs
/// have (their configurations, as discovery listed them).
fn checked(file: Option<Customers>, scopes: &[&Scope]) -> Result<Option<Customers>> {
    let mut configs = BTreeSet::new();
    let mut products = BTreeSet::new();
    for c in scopes.iter().flat_map(|s| &s.configs) {
        configs.insert(c.id);
        products.extend(c.product_type.name.as_deref());
    }
    match &file {
        Some(f) if !configs.is_empty() => f.check_catalog(&configs, &products)?,
        _ => {}
    }
    Ok(file)
}
