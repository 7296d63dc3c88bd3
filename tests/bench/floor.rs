//! `make bench`'s floor under the CLI's 7-day report: what any client pays before it does the
//! job. It receives the two big FortiFlex replies (the entitlement list and the range's
//! points) and reads them as JSON without keeping anything (`IgnoredAny`), then writes and
//! hashes as many bytes as the report's CSV and JSON through the same staging writer. No
//! typed rows, no join, no sort, no formatting: the report cannot cost less than this.

use std::io::Write;
use std::process::ExitCode;

use fortiflex_reporter::adapters::credentials::ExposeSecret;
use fortiflex_reporter::adapters::fortiflex::http_client;
use fortiflex_reporter::adapters::storage::Staged;
use fortiflex_reporter::config::{Settings, credentials_from_env};
use serde::de::IgnoredAny;
use serde_json::{Value, json};

type Failure = Box<dyn std::error::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    fortiflex_reporter::adapters::allocator::return_freed_memory();
    let (Some(account), Some(bytes)) = (std::env::args().nth(1), std::env::args().nth(2)) else {
        eprintln!("usage: bench-floor ACCOUNT_ID BYTES_TO_WRITE");
        return ExitCode::from(1);
    };
    match floor(&account, &bytes).await {
        Ok(read) => {
            println!("{read} bytes read, {bytes} written");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn floor(account: &str, bytes: &str) -> Result<usize, Failure> {
    let settings = Settings::from_env()?;
    let credentials = credentials_from_env()?;
    let http = http_client(settings.request_timeout)?;
    let login = json!({
        "username": credentials.username,
        "password": credentials.password.expose_secret(),
        "client_id": "flexvm",
        "grant_type": "password",
    });
    let token: Value = http
        .post(settings.endpoints.token_url().clone())
        .json(&login)
        .send()
        .await?
        .json()
        .await?;
    let token = token["access_token"].as_str().ok_or("no access_token")?;
    let program = credentials.program_serial.ok_or("no program serial")?;
    let account: u64 = account.parse()?;
    let today = chrono::Utc::now().date_naive();
    let (start, end) = (today - chrono::Days::new(8), today - chrono::Days::new(1));
    let calls = [
        (
            "entitlements/list",
            json!({"programSerialNumber": program, "accountId": account}),
        ),
        (
            "entitlements/points",
            json!({"programSerialNumber": program, "accountId": account,
                   "startDate": start.to_string(), "endDate": end.to_string()}),
        ),
    ];
    let mut read = 0;
    for (call, body) in calls {
        let url = settings.endpoints.api_base().join(call)?;
        let reply = http.post(url).bearer_auth(token).json(&body).send().await?;
        let bytes = reply.bytes().await?;
        serde_json::from_slice::<IgnoredAny>(&bytes)?;
        read += bytes.len();
    }
    let mut left: usize = bytes.parse()?;
    let chunk = vec![b'x'; 64 * 1024];
    Staged::render(|w| {
        while left > 0 {
            let n = left.min(chunk.len());
            w.write_all(&chunk[..n])
                .map_err(|e| fortiflex_reporter::error::Error::Storage(e.to_string()))?;
            left -= n;
        }
        Ok(())
    })?;
    Ok(read)
}
