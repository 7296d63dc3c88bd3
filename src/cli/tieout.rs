//! `fortiflex-report tieout`: a month's days against what Fortinet deducted from the prepaid
//! balance, from the archive alone, written under tieout/ and shown one line per day.

use std::fmt::Write as _;
use std::io::Write;

use chrono::{DateTime, Days, Utc};

use super::consumption::destination;
use super::{TieoutArgs, print};
use crate::adapters::storage::Sink;
use crate::config::Settings;
use crate::contract::keys;
use crate::domain::money::points_text;
use crate::domain::statement::Month;
use crate::domain::tieout::Status;
use crate::domain::tieout::balance::{Day, Event};
use crate::domain::window;
use crate::error::{Error, Result};
use crate::pipeline::tieout::{self, TieoutFile};

pub(super) async fn run(
    args: TieoutArgs,
    settings: Settings,
    now: DateTime<Utc>,
    out: &mut (impl Write + Send),
) -> Result<()> {
    let yesterday = window::today(now, settings.timezone) - Days::new(1);
    let month = args.month.unwrap_or(Month::of(yesterday));
    if month.first() > yesterday {
        return Err(Error::InvalidRequest(format!(
            "{month} has no complete Pacific day yet"
        )));
    }
    let sink = destination(&args.out).await?;
    let program = args.program.to_string();
    let file = tieout::month(&sink, &program, month, yesterday, None).await?;
    if file.balance.days.iter().all(|d| d.drop.is_none()) {
        return Err(Error::InvalidRequest(format!(
            "no two consecutive balance snapshots of {program} in {month} under {}: the tie-out \
             needs the daily run's balance (a prepaid program, `balance` or the scheduled job)",
            args.out.display()
        )));
    }
    tieout::write(&sink, &file).await?;
    let at = sink.location(&keys::tieout_key(&program, month));
    print(out, &table(&file, &at))
}

/// One line per day (consumed, the balance's drop, the difference, the status and why), then
/// the month's totals.
fn table(f: &TieoutFile, at: &str) -> String {
    let b = &f.balance;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "TIE-OUT {} {} through {}\n",
        f.program_serial, f.month, f.through
    );
    let _ = writeln!(
        o,
        "{:<12} {:>14} {:>14} {:>12} {:<8} Note",
        "Day", "Consumed", "Balance drop", "Difference", "Status"
    );
    let opt = |x: Option<rust_decimal::Decimal>| x.map_or_else(|| "-".into(), points_text);
    for d in &b.days {
        let _ = writeln!(
            o,
            "{:<12} {:>14} {:>14} {:>12} {:<8} {}",
            d.day,
            opt(d.consumed.map(|x| x.0)),
            opt(d.drop.map(|x| x.0)),
            opt(d.difference.map(|x| x.0)),
            status(d.status),
            note(d)
        );
    }
    let t = &b.totals;
    let _ = writeln!(o, "{}", "=".repeat(72));
    let _ = writeln!(
        o,
        "{:<12} {:>14} {:>14} {:>12}",
        "CHECKED",
        points_text(t.consumed.0),
        points_text(t.drop.0),
        points_text(t.difference.0)
    );
    let _ = writeln!(
        o,
        "\nDays that tie: {}, differ: {}, unknown: {} (tolerance {} point; top-ups {})",
        t.ties,
        t.differs,
        t.unknown,
        points_text(b.tolerance.0),
        points_text(t.top_ups.0)
    );
    if t.differs > 0 {
        let _ = writeln!(
            o,
            "A day that differs: run it again with --force; if it persists, open a case with \
             Fortinet with the file attached."
        );
    }
    let _ = writeln!(o, "Written: {at}");
    o
}

fn status(s: Status) -> &'static str {
    match s {
        Status::Ties => "ties",
        Status::Differs => "DIFFERS",
        Status::Unknown => "unknown",
    }
}

fn note(d: &Day) -> String {
    match (&d.event, &d.note) {
        (Some(Event::TopUp { points }), _) => format!("top-up of {}", points_text(points.0)),
        (Some(Event::Rollover { points }), _) => {
            format!("roll-over: {} more than consumed", points_text(points.0))
        }
        (None, Some(n)) => n.clone(),
        (None, None) => String::new(),
    }
}
