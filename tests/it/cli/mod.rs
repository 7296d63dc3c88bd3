//! The `fortiflex-report` binary run as a process against the simulator on loopback, a
//! module per command.

mod balance;
mod consumption;
mod demo;
mod discovery;
mod mssp;
mod price_book;
mod push;
mod rollups;
mod statement;
mod tieout;

use std::path::Path;
use std::process::{Command, Output};

use chrono::NaiveDate;
use fortiflex_reporter::domain::window::EndDateMode;
use fortiflex_reporter::sim::{Dataset, RunningSim, SimOptions};

use crate::support::{simulator_at, start_sim};

const BIN: &str = env!("CARGO_BIN_EXE_fortiflex-report");

/// Runs the binary with only the variables a test sets (no FORTIFLEX_* leaking in).
async fn run(sim: Option<&RunningSim>, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    if let Some(sim) = sim {
        // The simulator's clock is fixed in 2025 while the binary's is the real one: the
        // reporter keeps ten years of retention so those days are still fetchable, and the
        // simulator applies FortiFlex's 90 days to its own clock.
        cmd.env("FORTIFLEX_API_URL", sim.api_url())
            .env("FORTIFLEX_AUTH_URL", sim.auth_url())
            .env("FORTIFLEX_RETENTION_DAYS", "3650");
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn write_credentials(dir: &Path, body: &str) -> String {
    let path = dir.join("credentials.json");
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

const CREDENTIALS: &str = r#"{"fortiflex": {"api_username": "demo-api-user", "api_password": "demo-api-password",
    "program_serial_number": "ELAVMS0000123456", "account_id": 2321234}}"#;

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path))
        } else {
            files.push(path)
        }
    }
    files
}
