//! Real local stand-ins for the Lambda tests: a moto server (S3 + Secrets Manager) on
//! 127.0.0.1, one per test binary, and AWS clients pointed at it. `make test` installs moto
//! into `.venv` and runs the tests that need it (`#[ignore = "needs moto: make test"]`, so a
//! plain `cargo test` passes with the Rust toolchain alone); `MOTO_PYTHON` points elsewhere.

#![allow(dead_code)]

pub mod billing;
pub mod step_functions;

use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use chrono::{DateTime, Utc};
use fortiflex_reporter::adapters::credentials::Credentials as ApiCredentials;
use fortiflex_reporter::adapters::fortiflex::{
    Endpoints, HttpFortiFlex, Limits, Pacer, RetryPolicy, http_client,
};
use fortiflex_reporter::domain::window::{EndDateMode, PACIFIC};
use fortiflex_reporter::pipeline::Context;
use fortiflex_reporter::sim::{self, Dataset, RunningSim, SimOptions};

pub const REGION: &str = "us-east-1";

/// A path inside the repository's virtualenv (`make venv`), or an override from the env.
pub fn venv_tool(env_var: &str, name: &str) -> PathBuf {
    if let Ok(p) = std::env::var(env_var) {
        return PathBuf::from(p);
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".venv/bin")
        .join(name);
    assert!(
        p.exists(),
        "{} is missing: run `make test` (it installs moto and cargo-lambda into .venv) or set {env_var}",
        p.display()
    );
    p
}

pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts connections on `port`, or panics after `within`.
pub fn wait_for_port(port: u16, within: Duration, what: &str, log: impl Fn() -> String) {
    let deadline = Instant::now() + within;
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on 127.0.0.1:{port} within {within:?}:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process that dies with the test binary: it runs under `sh`, which kills it when
/// its stdin (held by us) closes, i.e. when this process exits, however it exits.
pub struct Guarded {
    child: Child,
    _stdin: ChildStdin,
    pub log: PathBuf,
}

impl Guarded {
    pub fn spawn(cmd: Command, log: PathBuf) -> Self {
        let program = cmd.get_program().to_string_lossy().into_owned();
        let args: Vec<String> = cmd
            .get_args()
            .map(|a| shell_quote(&a.to_string_lossy()))
            .collect();
        let script = format!(
            "{} {} >{} 2>&1 </dev/null & pid=$!; read _; exec 2>/dev/null; kill $pid; wait $pid",
            shell_quote(&program),
            args.join(" "),
            shell_quote(&log.display().to_string())
        );
        let mut sh = Command::new("sh");
        sh.arg("-c").arg(script).stdin(Stdio::piped());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
        }
        if let Some(dir) = cmd.get_current_dir() {
            sh.current_dir(dir);
        }
        let mut child = sh.spawn().unwrap();
        let stdin = child.stdin.take().unwrap();
        Guarded {
            child,
            _stdin: stdin,
            log,
        }
    }

    pub fn log_text(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

pub struct Moto {
    pub endpoint: String,
    _process: Mutex<Guarded>,
}

/// The moto server of this test binary, started on first use.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let python = venv_tool("MOTO_PYTHON", "python");
        let port = free_port();
        let log = std::env::temp_dir().join(format!("fortiflex-moto-{port}.log"));
        let mut cmd = Command::new(python);
        // Its Step Functions interpreter calls back into the server on this port.
        cmd.env("MOTO_PORT", port.to_string());
        cmd.args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ]);
        let process = Guarded::spawn(cmd, log);
        wait_for_port(port, Duration::from_secs(60), "moto server", || {
            process.log_text()
        });
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            _process: Mutex::new(process),
        }
    })
}

/// The variables that point an AWS SDK (ours or the Lambda's) at moto.
pub fn aws_env(moto: &Moto) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_REGION", REGION.into()),
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("S3_FORCE_PATH_STYLE", "true".into()),
    ]
}

pub async fn sdk_config(moto: &Moto) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .load()
        .await
}

/// A test's own bucket and secret on the shared moto server.
pub struct Aws {
    pub s3: aws_sdk_s3::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub config: SdkConfig,
    pub bucket: String,
    pub secret_id: String,
}

impl Aws {
    /// A fresh bucket (created unless `create_bucket` is false) and a secret name.
    pub async fn new(create_bucket: bool) -> Self {
        let moto = moto();
        let config = sdk_config(moto).await;
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        );
        let secrets = aws_sdk_secretsmanager::Client::new(&config);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let bucket = format!("reports-{}", &id[..12]);
        if create_bucket {
            s3.create_bucket().bucket(&bucket).send().await.unwrap();
        }
        Aws {
            s3,
            secrets,
            config,
            bucket,
            secret_id: format!("fortiflex/api-{}", &id[..12]),
        }
    }

    pub async fn put_secret(&self, value: &str) {
        self.secrets
            .create_secret()
            .name(&self.secret_id)
            .secret_string(value)
            .send()
            .await
            .unwrap();
    }

    /// Every key in the bucket, sorted (empty when the bucket does not exist).
    pub async fn keys(&self) -> Vec<String> {
        let Ok(reply) = self.s3.list_objects_v2().bucket(&self.bucket).send().await else {
            return vec![];
        };
        let mut keys: Vec<String> = reply
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect();
        keys.sort();
        keys
    }

    /// Puts `body` at `key` (a file the Lambda reads, like the customers file).
    pub async fn put(&self, key: &str, body: &str) {
        self.s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }

    /// An object's bytes and content type.
    pub async fn object(&self, key: &str) -> (Vec<u8>, String) {
        let reply = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{key}: {e:?}"));
        let content_type = reply.content_type().unwrap_or_default().to_string();
        let body = reply.body.collect().await.unwrap().into_bytes().to_vec();
        (body, content_type)
    }
}

pub const CREDENTIALS: &str = r#"{"fortiflex": {"api_username": "demo-api-user", "api_password": "demo-api-password", "program_serial_number": "ELAVMS0000123456"}}"#;

/// The simulator on a free loopback port: the one way the tests start it.
pub async fn start_sim(data: Dataset, opts: SimOptions) -> RunningSim {
    sim::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), data, opts)
        .await
        .unwrap()
}

/// The simulator serving `data` with its clock at `today` (`YYYY-MM-DD`) and FortiFlex's 90
/// days of history.
pub async fn simulator_at(data: Dataset, today: &str) -> RunningSim {
    let opts = SimOptions {
        today: Some(chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap()),
        ..SimOptions::default()
    };
    start_sim(data, opts).await
}

/// The simulator with its clock at 2025-11-21 (the tests' runs happen around it).
pub async fn simulator(data: Dataset) -> RunningSim {
    simulator_at(data, "2025-11-21").await
}

/// The Lambda's environment for `aws`'s bucket and secret and `sim`.
pub fn lambda_env(moto: &Moto, aws: &Aws, sim: &RunningSim) -> Vec<(&'static str, String)> {
    let mut env = aws_env(moto);
    env.extend([
        ("REPORT_BUCKET", aws.bucket.clone()),
        ("FORTIFLEX_SECRET_ID", aws.secret_id.clone()),
        ("FORTIFLEX_API_URL", sim.api_url()),
        ("FORTIFLEX_AUTH_URL", sim.auth_url()),
    ]);
    env
}

/// A golden file of `tests/golden/`.
pub fn golden(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/golden/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The S3 keys of the walkthrough program's daily report for `day`: CSV, JSON, manifest.
pub fn daily_keys(day: &str) -> [String; 3] {
    let name = format!("consumption_ELAVMS0000123456_{day}");
    [
        format!("fortiflex/daily/csv/dt={day}/{name}.csv"),
        format!("fortiflex/daily/json/dt={day}/{name}.json"),
        format!("fortiflex/daily/manifests/dt={day}/{name}.manifest.json"),
    ]
}

/// The rollup of the walkthrough program's `day` in the test bucket: rows, summary.
pub fn rollup_keys(day: &str) -> [String; 2] {
    let stem = format!("fortiflex/rollups/dt={day}/consumption_ELAVMS0000123456_{day}.rollup");
    [format!("{stem}.bin"), format!("{stem}.json")]
}

/// A run's context at `now` as the library's defaults set it: Pacific days, `endDate`
/// inclusive, 2 restated days, 90 days of FortiFlex retention.
pub fn run_context(now: DateTime<Utc>) -> Context {
    Context {
        now,
        run_id: "run-1".into(),
        timezone: PACIFIC,
        end_date: EndDateMode::Inclusive,
        restate_days: 2,
        retention_days: 90,
        limits: Limits::default(),
        calls_this_hour: 0,
        time_left: None,
        staging_expiry: fortiflex_reporter::pipeline::job::STAGING_EXPIRY,
        rate_notice_days: 14,
        organizations: None,
    }
}

/// The real HTTP client, pointed at `sim`.
pub fn sim_api(sim: &RunningSim, creds: &ApiCredentials) -> HttpFortiFlex {
    sim_api_with(sim, creds, RetryPolicy::default())
}

/// [`sim_api`] with its own retry policy.
pub fn sim_api_with(sim: &RunningSim, creds: &ApiCredentials, retry: RetryPolicy) -> HttpFortiFlex {
    HttpFortiFlex::new(
        http_client(Duration::from_secs(10)).unwrap(),
        Endpoints::new(&sim.api_url(), &sim.auth_url()).unwrap(),
        creds,
        Arc::new(Pacer::new(Limits::default())),
        retry,
    )
}

/// Fails with the process's stderr unless it exited 0.
pub fn assert_succeeded(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
