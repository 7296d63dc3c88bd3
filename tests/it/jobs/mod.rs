//! Jobs on Step Functions, for real and offline: the state machine definition `template.yaml`
//! deploys, executed by moto's interpreter, every step done by the real function (its handler
//! wired as in AWS, fed the job queue's messages), against the simulator's multi-account
//! tenant, under a budget scaled down so an "hour" lasts seconds.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use fortiflex_reporter::sim::{Dataset, Fault, FaultKind, RunningSim, SimCall};
use serde_json::{Value, json};

use crate::support::step_functions::{Ended, StateMachine, budget_env, handler};
use crate::support::{Aws, CREDENTIALS, lambda_env, moto, simulator};

const TODAY: &str = "2025-11-21";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-11-21T14:00:00Z")
        .unwrap()
        .to_utc()
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A bucket with the credentials, and the simulator serving `data`.
async fn setup(data: Dataset) -> (Aws, RunningSim) {
    let aws = Aws::new(true).await;
    aws.put_secret(CREDENTIALS).await;
    (aws, simulator(data).await)
}

fn env(
    aws: &Aws,
    sim: &RunningSim,
    budget: Vec<(&'static str, String)>,
) -> Vec<(&'static str, String)> {
    let mut env = lambda_env(moto(), aws, sim);
    env.extend(budget);
    env
}

/// The most of `starts` (ms since the epoch, sorted) within any `window`. The record is kept
/// to the millisecond (a start may read up to 1 ms early or late), and the pacer starts a call
/// the instant the oldest one leaves a window, so windows are measured 2 ms short.
fn busiest(starts: &[i64], window: Duration) -> usize {
    let window = window.as_millis() as i64 - 2;
    (0..starts.len())
        .map(|i| {
            starts[i..]
                .iter()
                .take_while(|t| **t < starts[i] + window)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// The budget held in every window: the pacers recorded every call the simulator received
/// (logins included, as they are paced too), and never more than the limits in any window.
fn assert_within_budget(
    ended: &Ended,
    sim: &RunningSim,
    per_minute: u32,
    per_hour: u32,
    hour: u32,
) {
    let starts = &ended.call_starts;
    assert_eq!(
        starts.len() as u64,
        sim.calls() + sim.logins(),
        "every call the simulator saw is in the pacers' record"
    );
    let hour = Duration::from_secs(hour.into());
    assert!(
        busiest(starts, hour) <= per_hour as usize,
        "{} in an hour",
        busiest(starts, hour)
    );
    let minute = hour / 60;
    assert!(
        busiest(starts, minute) <= per_minute as usize,
        "{} in a minute",
        busiest(starts, minute)
    );
}

/// `entitlements/points` calls of single days, by (account, day).
fn day_fetches(log: &[SimCall]) -> BTreeMap<(u64, String), usize> {
    let mut out = BTreeMap::new();
    for c in log.iter().filter(|c| c.call == "entitlements/points") {
        let (start, end) = (&c.body["startDate"], &c.body["endDate"]);
        if start == end {
            let account = c.body["accountId"].as_u64().unwrap();
            *out.entry((account, start.as_str().unwrap().to_string()))
                .or_default() += 1;
        }
    }
    out
}

/// Every stored day's manifest: its revision and totals.
async fn manifests(aws: &Aws) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for key in aws.keys().await {
        if key.starts_with("fortiflex/daily/manifests/") {
            let m: Value = serde_json::from_slice(&aws.object(&key).await.0).unwrap();
            out.insert(m["start_date"].as_str().unwrap_or(&key).to_string(), m);
        }
    }
    out
}

/// What a job left under `staging/` besides the shared call budget (nothing, once done).
fn staging(keys: &[String]) -> Vec<&String> {
    keys.iter()
        .filter(|k| k.starts_with("fortiflex/staging/") && *k != BUDGET)
        .collect()
}

const BUDGET: &str = "fortiflex/staging/budget.json";

fn assert_succeeded(ended: &Ended) {
    assert_eq!(
        ended.status, "SUCCEEDED",
        "{:?} ({:?}) {:?} {:?}",
        ended.error, ended.cause, ended.steps, ended.output
    );
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_400_account_daily_run_publishes_whole_days_in_chunks_within_the_budget() {
    let (aws, sim) = setup(Dataset::mssp(397)).await;
    // An "hour" of 30 s: the record of calls is the budget object, which keeps one window,
    // so each step must end within a window of its first call. The finish step (statements
    // and site of 400 accounts) takes up to 14 s in a debug build after its balance call.
    let (per_minute, per_hour, hour) = (100, 400, 30);
    let h = handler(
        &aws.config,
        env(&aws, &sim, budget_env(per_minute, per_hour, hour)),
    );
    let machine = StateMachine::create(&aws).await;
    let run = machine
        .start(
            "daily-400",
            json!({"scheduled_time": "2025-11-21T14:00:00Z"}),
        )
        .await;
    let ended = machine.work(&h, &run, now(), None).await;
    assert_succeeded(&ended);
    let chunks = ended.steps.iter().filter(|(s, _)| s == "chunk").count();
    assert!(
        chunks >= 3,
        "1,600 calls at 400 an hour take several chunks: {chunks}"
    );
    assert!(
        ended
            .replies
            .iter()
            .any(|r| r["wait_seconds"].as_u64() > Some(0)),
        "a chunk waited for the budget: {:?}",
        ended.replies
    );

    // No chunk started on a window with room for less than a tenth of the hour's budget:
    // every step that made calls made at least that many, but the last.
    let made: Vec<u64> = ended
        .replies
        .iter()
        .filter_map(|r| r["calls"].as_u64())
        .collect();
    assert!(
        made[..made.len() - 1]
            .iter()
            .all(|c| *c == 0 || *c >= u64::from(per_hour / 10)),
        "{made:?}"
    );
    // Never more than the scaled budget in any window.
    assert_within_budget(&ended, &sim, per_minute, per_hour, hour);
    let log = sim.call_log();

    // Each day written once, whole: every account's rows, the program's total.
    let data = Dataset::mssp(397);
    let program = &data.programs[0];
    let manifests = manifests(&aws).await;
    for d in ["2025-11-18", "2025-11-19", "2025-11-20"] {
        let m = &manifests[d];
        assert_eq!(m["revision"], 1, "{d} written once");
        let consumed = program.points(day(d), day(d), day(TODAY));
        let expected: rust_decimal::Decimal = consumed.iter().map(|(_, p)| *p).sum();
        let accounts: BTreeSet<u64> = consumed
            .iter()
            .map(|(e, _)| program.account_of(e))
            .collect();
        assert_eq!(accounts.len(), 400);
        let json_key = format!("fortiflex/daily/json/dt={d}/consumption_ELAVMS0000123456_{d}.json");
        let report: Value = serde_json::from_slice(&aws.object(&json_key).await.0).unwrap();
        assert_eq!(report["totals"]["points"].to_string(), expected.to_string());
        let reported: BTreeSet<u64> = report["totals"]["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["entitlements"].as_u64() > Some(0))
            .map(|a| a["account_id"].as_u64().unwrap())
            .collect();
        assert_eq!(reported, accounts, "{d}: every account's rows");
    }
    let fetched = day_fetches(&log);
    assert_eq!(fetched.len(), 3 * 400);
    assert!(
        fetched.values().all(|n| *n == 1),
        "no account-day fetched twice"
    );
    let keys = aws.keys().await;
    assert!(
        staging(&keys).is_empty(),
        "staging removed: {:?}",
        staging(&keys)
    );
    assert!(keys.iter().any(|k| k.starts_with("fortiflex/statements/")));
    assert!(keys.iter().any(|k| k == "fortiflex/site/index.html"));
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_small_programs_scheduled_job_costs_and_writes_what_a_direct_run_does() {
    let (aws, sim) = setup(Dataset::walkthrough()).await;
    let h = handler(&aws.config, env(&aws, &sim, budget_env(90, 950, 3600)));
    let machine = StateMachine::create(&aws).await;
    let event = json!({"scheduled_time": "2025-11-21T14:00:00Z"});
    let run = machine.start("daily-13", event.clone()).await;
    let ended = machine.work(&h, &run, now(), None).await;
    assert_succeeded(&ended);
    let steps: Vec<&str> = ended.steps.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        steps,
        ["plan", "finish"],
        "a program that fits one chunk runs with its plan"
    );
    let job_calls = sim.calls();

    // The same event invoked directly, into another bucket.
    let (direct, direct_sim) = setup(Dataset::walkthrough()).await;
    let d = handler(
        &direct.config,
        env(&direct, &direct_sim, budget_env(90, 950, 3600)),
    );
    let out = d.handle(event, now(), "direct").await.unwrap();
    assert_eq!(job_calls, out.calls, "same calls as a direct run");
    assert_eq!(job_calls, direct_sim.calls());
    let (mut keys, direct_keys) = (aws.keys().await, direct.keys().await);
    assert!(
        keys.contains(&BUDGET.to_string()),
        "the call budget is kept for the next job"
    );
    keys.retain(|k| k != BUDGET);
    assert_eq!(keys, direct_keys, "the same objects, no staging left");
    for key in keys.iter().filter(|k| k.ends_with(".csv")) {
        assert_eq!(aws.object(key).await.0, direct.object(key).await.0, "{key}");
    }
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_30_day_backfill_of_30_accounts_completes_in_one_execution() {
    let (aws, sim) = setup(Dataset::mssp(27)).await;
    let (per_minute, per_hour, hour) = (100, 250, 3);
    let h = handler(
        &aws.config,
        env(&aws, &sim, budget_env(per_minute, per_hour, hour)),
    );
    let machine = StateMachine::create(&aws).await;
    let input = json!({"start_date": "2025-10-17", "end_date": "2025-11-15"});
    let run = machine.start("backfill-30", input).await;
    let ended = machine.work(&h, &run, now(), None).await;
    assert_succeeded(&ended);
    let manifests = manifests(&aws).await;
    assert_eq!(manifests.len(), 30);
    assert!(manifests.values().all(|m| m["revision"] == 1));
    assert_within_budget(&ended, &sim, per_minute, per_hour, hour);
    let fetched = day_fetches(&sim.call_log());
    assert_eq!(fetched.len(), 30 * 30);
    assert!(fetched.values().all(|n| *n == 1));
    assert_eq!(ended.output.as_ref().unwrap()["programs"][0]["written"], 30);
    assert!(staging(&aws.keys().await).is_empty());
}

#[tokio::test]
#[ignore = "needs moto: make test"]
async fn a_job_checks_stored_days_and_writes_a_restated_one_as_a_direct_run_does() {
    use rust_decimal::Decimal;
    use std::str::FromStr;
    let stored = json!({"start_date": "2025-11-18", "end_date": "2025-11-19"});
    let scheduled = json!({"scheduled_time": "2025-11-21T14:00:00Z"});
    let mut corrected = Dataset::mssp(2);
    corrected.programs[0].entitlements[0].daily = Decimal::from_str("108.00").unwrap();
    let budget = || budget_env(100, 1000, 3600);

    // As a job: two days stored, then the scheduled run after FortiCloud corrected them.
    let (aws, sim) = setup(Dataset::mssp(2)).await;
    let machine = StateMachine::create(&aws).await;
    let h = handler(&aws.config, env(&aws, &sim, budget()));
    let first = machine.start("stored", stored.clone()).await;
    assert_succeeded(&machine.work(&h, &first, now(), None).await);
    let restating = simulator(corrected.clone()).await;
    let h = handler(&aws.config, env(&aws, &restating, budget()));
    let daily = machine.start("daily", scheduled.clone()).await;
    let ended = machine.work(&h, &daily, now(), None).await;
    assert_succeeded(&ended);

    // The same, invoked directly into another bucket.
    let (other, direct_sim) = setup(Dataset::mssp(2)).await;
    let d = handler(&other.config, env(&other, &direct_sim, budget()));
    d.handle(stored, now(), "direct-1").await.unwrap();
    let direct_restating = simulator(corrected).await;
    let d = handler(&other.config, env(&other, &direct_restating, budget()));
    d.handle(scheduled, now(), "direct-2").await.unwrap();

    assert_eq!(
        restating.calls(),
        direct_restating.calls(),
        "the check costs what it costs directly"
    );
    let repulled = day_fetches(&restating.call_log());
    assert_eq!(
        repulled.len(),
        5 + 2,
        "yesterday for every account, the restated days for one"
    );
    let (job, direct) = (manifests(&aws).await, manifests(&other).await);
    for d in ["2025-11-18", "2025-11-19"] {
        assert_eq!(job[d]["revision"], 2, "{d} restated");
        assert_eq!(job[d]["totals"], direct[d]["totals"]);
    }
    assert_eq!(job["2025-11-20"]["revision"], 1);
    for key in aws
        .keys()
        .await
        .iter()
        .filter(|k| k.starts_with("fortiflex/daily/csv/"))
    {
        assert_eq!(aws.object(key).await.0, other.object(key).await.0, "{key}");
    }
}

mod continuation;
mod failures;
mod heartbeats;
mod refusals;
mod retention;
mod single_file;
mod stack;
mod staging;
