//! A FortiFlex stand-in over real HTTP: the OAuth token endpoint and the five v2 calls, with
//! the reply shapes and error replies of the API notes. It lets anyone run the reporter with
//! no Fortinet account, and lets tests exercise the real client end to end.

mod api;
mod dataset;
mod demo;
mod faults;
mod ledger;
mod mssp;
mod organizations;
mod scale;
mod schedule;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{NaiveDate, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub use dataset::{Dataset, PARTNER, Schedule, SimConfig, SimEntitlement, SimProgram};
pub use faults::{Fault, FaultKind, RowShape, Spec as FaultSpec, parse_specs as parse_faults};
pub use mssp::{CUSTOMER_A, CUSTOMER_B, POSTPAID_PROGRAM};
pub use organizations::SimOrganization;

use crate::adapters::credentials::{Credentials, Secret};
use crate::domain::money::points_text;
use crate::domain::window::{self, EndDateMode, PACIFIC};

pub const TOKEN_PATH: &str = "/api/v1/oauth/token/";
pub const API_PATH: &str = "/ES/api/fortiflex/v2/";

/// How the simulated tenant behaves.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The simulator's Pacific "today" (days before it are tallied); `None`: the real date.
    pub today: Option<NaiveDate>,
    /// How this tenant reads `endDate`.
    pub end_date: EndDateMode,
    /// `expires_in` of issued tokens.
    pub token_ttl: Duration,
    /// Faults injected into API calls from the start ([`RunningSim::inject`] adds more).
    pub faults: Vec<Fault>,
    /// How list replies carry their rows.
    pub shape: RowShape,
    /// Days of history kept, as FortiFlex's 90: older days answer empty. `None`: all.
    pub retention_days: Option<u32>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            today: None,
            end_date: EndDateMode::Inclusive,
            token_ttl: Duration::from_secs(3660),
            faults: Vec::new(),
            shape: RowShape::Documented,
            retention_days: Some(90),
        }
    }
}

struct Simulator {
    data: Dataset,
    opts: SimOptions,
    /// A "today" set while serving ([`RunningSim::set_today`]): the clock moving past
    /// midnight mid-job.
    moved_today: Mutex<Option<NaiveDate>>,
    /// Token -> (expiry, the `client_id` it was issued to).
    tokens: Mutex<HashMap<String, (Instant, String)>>,
    plan: Mutex<faults::Plan>,
    shape: Mutex<RowShape>,
    calls: AtomicU64,
    logins: AtomicU64,
    log: Mutex<std::collections::VecDeque<SimCall>>,
}

/// One API call the simulator received: when, which call, and its JSON body.
#[derive(Debug, Clone)]
pub struct SimCall {
    pub at: Instant,
    pub call: String,
    pub body: Value,
}

/// Calls kept in the log: enough for any test, bounded for a long-running `sim`.
const LOG_CALLS: usize = 100_000;

impl Simulator {
    fn today(&self) -> NaiveDate {
        let moved = *self.moved_today.lock().unwrap();
        moved
            .or(self.opts.today)
            .unwrap_or_else(|| window::today(Utc::now(), PACIFIC))
    }

    /// Whether the request carries a live token issued to `client`.
    fn token_valid(&self, headers: &HeaderMap, client: &str) -> bool {
        let Some(token) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            return false;
        };
        self.tokens
            .lock()
            .unwrap()
            .get(token)
            .is_some_and(|(exp, issued)| Instant::now() < *exp && issued == client)
    }
}

/// A simulator serving on a loopback port until [`RunningSim::stop`] or drop.
pub struct RunningSim {
    addr: SocketAddr,
    data: Dataset,
    state: Arc<Simulator>,
    shutdown: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningSim {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `FORTIFLEX_API_URL` for this simulator.
    pub fn api_url(&self) -> String {
        format!("http://{}{API_PATH}", self.addr)
    }

    /// `FORTIFLEX_AUTH_URL` for this simulator.
    pub fn auth_url(&self) -> String {
        format!("http://{}{TOKEN_PATH}", self.addr)
    }

    /// The simulated API user's credentials, for its first program.
    pub fn credentials(&self) -> Credentials {
        let p = &self.data.programs[0];
        Credentials {
            username: self.data.username.into(),
            password: Secret::from(self.data.password),
            program_serial: Some(p.serial.into()),
            account_id: Some(p.account_id.into()),
        }
    }

    /// Adds a fault to the plan; it applies to the calls that come after.
    pub fn inject(&self, fault: Fault) {
        self.state.plan.lock().unwrap().push(fault);
    }

    /// Moves the simulator's Pacific "today" (its retention and tallies follow).
    pub fn set_today(&self, today: NaiveDate) {
        *self.state.moved_today.lock().unwrap() = Some(today);
    }

    pub fn set_shape(&self, shape: RowShape) {
        *self.state.shape.lock().unwrap() = shape;
    }

    /// API calls received so far (logins not counted).
    pub fn calls(&self) -> u64 {
        self.state.calls.load(Ordering::SeqCst)
    }

    /// The API calls received so far (the last 100,000), oldest first.
    pub fn call_log(&self) -> Vec<SimCall> {
        self.state.log.lock().unwrap().iter().cloned().collect()
    }

    /// Login requests received so far.
    pub fn logins(&self) -> u64 {
        self.state.logins.load(Ordering::SeqCst)
    }

    /// Serves until Ctrl-C or the task ends.
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts a simulator on `addr` (port 0 picks a free one).
pub async fn start(
    addr: SocketAddr,
    data: Dataset,
    opts: SimOptions,
) -> std::io::Result<RunningSim> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let mut plan = faults::Plan::default();
    for f in &opts.faults {
        plan.push(f.clone());
    }
    let sim = Arc::new(Simulator {
        data: data.clone(),
        shape: Mutex::new(opts.shape),
        moved_today: Mutex::new(None),
        opts,
        tokens: Mutex::new(HashMap::new()),
        plan: Mutex::new(plan),
        calls: AtomicU64::new(0),
        logins: AtomicU64::new(0),
        log: Mutex::new(std::collections::VecDeque::new()),
    });
    let app = Router::new()
        .route(TOKEN_PATH, post(login))
        .route(TOKEN_PATH.trim_end_matches('/'), post(login))
        .route(&format!("{API_PATH}{{*call}}"), post(api))
        .route(
            &format!("{}{{*call}}", organizations::SERVICES[0].0),
            post(|s, p, h, b| organizations::call(s, p, h, b, organizations::SERVICES[0].1)),
        )
        .route(
            &format!("{}{{*call}}", organizations::SERVICES[1].0),
            post(|s, p, h, b| organizations::call(s, p, h, b, organizations::SERVICES[1].1)),
        )
        .fallback(|| async { reply(StatusCode::NOT_FOUND, error_body(404, "Not found.")) })
        .with_state(Arc::clone(&sim));
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(RunningSim {
        addr,
        data,
        state: sim,
        shutdown: Some(tx),
        task,
    })
}

fn reply(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn error_body(status: i64, message: &str) -> String {
    json!({"status": status, "message": message, "error": null}).to_string()
}

fn bad_request(message: &str) -> Response {
    reply(StatusCode::BAD_REQUEST, error_body(1, message))
}

fn ok_list(sim: &Simulator, key: &str, rows: &impl Serialize) -> Response {
    let rows = serde_json::to_string(rows).expect("simulator rows serialise");
    // The odd shapes FortiFlex has shown concern entitlement rows only.
    let shape = match key {
        "entitlements" => *sim.shape.lock().unwrap(),
        _ => RowShape::Documented,
    };
    let body = match shape {
        RowShape::Documented => format!(
            r#"{{"status":0,"message":"Request processed successfully.","error":null,"{key}":{rows}}}"#
        ),
        RowShape::Vms => format!(
            r#"{{"status":0,"message":"Request processed successfully.","error":null,"vms":{rows}}}"#
        ),
        RowShape::BareArray => rows,
    };
    reply(StatusCode::OK, body)
}

/// A 200 whose body breaks off: the connection dies mid-reply.
fn dropped() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated drop",
        ))
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}

/// Applies the fault this call meets; `Some` is the reply that replaces the real one.
async fn fault_reply(sim: &Simulator) -> Option<Response> {
    let fault = sim.plan.lock().unwrap().next()?;
    match fault {
        FaultKind::Http(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let text = status.canonical_reason().unwrap_or("Error").to_string();
            Some((status, [(header::CONTENT_TYPE, "text/plain")], text).into_response())
        }
        FaultKind::Status(code) => Some(reply(
            StatusCode::BAD_REQUEST,
            error_body(code, "Too many requests, please slow down."),
        )),
        FaultKind::Delay(d) => {
            tokio::time::sleep(d).await;
            None
        }
        FaultKind::Drop => Some(dropped()),
        FaultKind::Malformed => Some(reply(
            StatusCode::OK,
            r#"{"status":0,"message":"Request processed successfully.","entitlements":[{"serialNumber":"FGV"#
                .to_string(),
        )),
        FaultKind::ExpireToken => {
            sim.tokens.lock().unwrap().clear();
            None
        }
        FaultKind::Oversize => {
            let chunk = Bytes::from(vec![b' '; 1 << 20]);
            let stream = futures_util::stream::iter(
                (0..33).map(move |_| Ok::<Bytes, std::io::Error>(chunk.clone())),
            );
            Some(
                (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    axum::body::Body::from_stream(stream),
                )
                    .into_response(),
            )
        }
    }
}

fn number(d: rust_decimal::Decimal) -> Box<RawValue> {
    RawValue::from_string(points_text(d)).expect("decimal text is a JSON number")
}

async fn login(State(sim): State<Arc<Simulator>>, body: Bytes) -> Response {
    sim.logins.fetch_add(1, Ordering::SeqCst);
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    if !organizations::SERVICES
        .iter()
        .any(|s| s.1 == field("client_id"))
        && field("client_id") != "flexvm"
        || field("grant_type") != "password"
    {
        let body = json!({"error": "invalid_client", "error_description": "Invalid client_id or grant_type."});
        return reply(StatusCode::BAD_REQUEST, body.to_string());
    }
    if field("username") != sim.data.username || field("password") != sim.data.password {
        let body =
            json!({"error": "invalid_grant", "error_description": "Invalid credentials given."});
        return reply(StatusCode::UNAUTHORIZED, body.to_string());
    }
    if !organizations::permitted(sim.data.organization.as_ref(), field("client_id")) {
        let body = json!({"error": "invalid_client", "error_description": "The API user has no permission for this client."});
        return reply(StatusCode::UNAUTHORIZED, body.to_string());
    }
    // Recognisable, so tests can search every output for a leaked token.
    let token = format!("simtok-{}", uuid::Uuid::new_v4().simple());
    sim.tokens.lock().unwrap().insert(
        token.clone(),
        (
            Instant::now() + sim.opts.token_ttl,
            field("client_id").to_string(),
        ),
    );
    let body = json!({
        "access_token": token,
        "expires_in": sim.opts.token_ttl.as_secs(),
        "token_type": "Bearer",
        "scope": "read write",
        "refresh_token": uuid::Uuid::new_v4().simple().to_string(),
        "message": "successfully authenticated",
        "status": "success",
    });
    reply(StatusCode::OK, body.to_string())
}

async fn api(
    State(sim): State<Arc<Simulator>>,
    Path(call): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sim.calls.fetch_add(1, Ordering::SeqCst);
    {
        let mut log = sim.log.lock().unwrap();
        if log.len() == LOG_CALLS {
            log.pop_front();
        }
        log.push_back(SimCall {
            at: Instant::now(),
            call: call.clone(),
            body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        });
    }
    if let Some(faulted) = fault_reply(&sim).await {
        return faulted;
    }
    if !sim.token_valid(&headers, "flexvm") {
        return reply(
            StatusCode::UNAUTHORIZED,
            error_body(-1, "Invalid security token."),
        );
    }
    let req = match serde_json::from_slice::<Value>(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return bad_request("Request body must be a JSON object."),
    };
    let handler = match call.trim_end_matches('/') {
        "programs/list" => api::programs_list,
        "programs/points" => api::programs_points,
        "configs/list" => api::configs_list,
        "entitlements/list" => api::entitlements_list,
        "entitlements/points" => api::entitlements_points,
        "tools/calc" => api::tools_calc,
        "tools/metadata" => api::tools_metadata,
        _ => return reply(StatusCode::NOT_FOUND, error_body(404, "Not found.")),
    };
    handler(&sim, &req).unwrap_or_else(|message| bad_request(&message))
}
