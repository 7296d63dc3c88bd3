//! `make bench`'s Lambda run in one process: the deployed handler's code path (payload →
//! plan → fetch → build → publish) for a scheduled event, with the simulator's credentials
//! from the `FORTIFLEX_*` variables and a local folder standing in for the bucket. The
//! driver (`tests/bench/run.py`) reads this process's CPU time and peak memory.

use std::process::ExitCode;

use chrono::Utc;
use fortiflex_reporter::adapters::fortiflex::http_client;
use fortiflex_reporter::adapters::storage::LocalDir;
use fortiflex_reporter::config::{Settings, credentials_from_env};
use fortiflex_reporter::lambda::handler::Handler;
use serde_json::json;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    fortiflex_reporter::adapters::allocator::return_freed_memory();
    let Some(out) = std::env::args().nth(1) else {
        eprintln!("usage: bench-lambda OUT_DIR");
        return ExitCode::from(1);
    };
    // `RUST_LOG=info` shows each step with its time; silent by default.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "off".into()),
        )
        .init();
    let outcome = async {
        let settings = Settings::from_env()?;
        let http = http_client(settings.request_timeout)?;
        let handler = Handler::new(http, settings, credentials_from_env()?, LocalDir::new(out));
        let now = Utc::now();
        let event = json!({ "scheduled_time": now.to_rfc3339() });
        handler.handle(event, now, "bench").await
    }
    .await;
    match outcome {
        Ok(o) => {
            let days: usize = o.programs.iter().map(|p| p.days.len()).sum();
            println!("{days} daily reports, {} FortiFlex calls", o.calls);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
