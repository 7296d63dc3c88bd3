//! The CLI's progress: a bar with an ETA on a terminal, plain lines on stderr otherwise
//! (only for runs long enough to need them). stdout stays the report.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::pipeline::outcome::ReportOutcome;
use crate::pipeline::progress::Progress;

/// Runs planned at fewer calls than this take seconds: no progress lines.
const PLAIN_FROM: u64 = 50;

pub(super) struct CliProgress {
    bar: Option<ProgressBar>,
    planned: AtomicU64,
    done: AtomicU64,
}

impl CliProgress {
    pub(super) fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} FortiFlex calls, ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        });
        CliProgress {
            bar,
            planned: AtomicU64::new(0),
            done: AtomicU64::new(0),
        }
    }

    pub(super) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for CliProgress {
    fn planned(&self, calls: u64, estimate: Duration) {
        self.planned.fetch_add(calls, Ordering::SeqCst);
        match &self.bar {
            Some(bar) => bar.set_length(calls),
            None if calls >= PLAIN_FROM => eprintln!(
                "progress: {calls} FortiFlex calls planned, {} waiting for the pacer",
                match estimate.as_secs() {
                    0 => "no".to_string(),
                    s => format!("about {} min", s.div_ceil(60)),
                }
            ),
            None => {}
        }
    }

    fn call(&self, what: &str) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        let planned = self.planned.load(Ordering::SeqCst);
        match &self.bar {
            Some(bar) => {
                bar.set_position(done.min(planned));
                bar.set_message(what.to_string());
            }
            None if planned >= PLAIN_FROM && done.is_multiple_of(50) => {
                eprintln!("progress: {done}/{planned} calls ({what})");
            }
            None => {}
        }
    }

    fn report(&self, program: &str, o: &ReportOutcome) {
        let line = format!("{program} {}", crate::cli::console::report_line(o));
        match &self.bar {
            Some(bar) => bar.println(line),
            None if self.planned.load(Ordering::SeqCst) >= PLAIN_FROM => eprintln!("{line}"),
            None => {}
        }
    }
}
