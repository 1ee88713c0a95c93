//! In-process simulator of the NCP Server (VPC) API (`/vserver/v2`), for tests.
//!
//! Written from the API reference (Server (VPC) overview, the server / init script actions and
//! the ServerInstance, ServerSpec, ServerImage, InitScript data types), not from observed
//! traffic. What it does:
//!
//! * verifies the API Gateway signature (`x-ncp-apigw-signature-v2` over
//!   `"{METHOD} {path?query}\n{timestamp}\n{accessKey}"`) and the 5-minute timestamp window,
//!   answering the gateway's documented `401` body
//!   `{"error":{"errorCode":"200","message":"Authentication Failed",...}}`; unknown actions get
//!   the gateway's `404` / `300` "Not Found Exception";
//! * accepts GET with query parameters and POST with a form body;
//! * answers `{"<action>Response": {"requestId","returnCode":"0","returnMessage":"success","totalRows",...}}`
//!   for `responseFormatType=json` (and a minimal XML envelope otherwise, XML being the
//!   documented default);
//! * refuses invalid requests with HTTP 400 and `{"responseError":{"returnCode","returnMessage"}}`.
//!   The reference does not list the Server API's own return codes, so the codes used here
//!   ([`codes`]) are the simulator's own;
//! * walks servers through the documented codes with a configurable step:
//!   create `INIT` → `CREAT` → `RUN`; stop `RUN/SHTDN` → `NSTOP`; start `NSTOP/START` → `RUN`;
//!   reboot `RUN/RESTA` → `RUN`; terminate (only from `NSTOP`, as documented)
//!   `NSTOP/TERMT` → `TERMT` (a failed `FSTOP` server can be terminated too), after which the
//!   server disappears from listings.
//!
//! Spec codes and image numbers in the catalog are illustrative, not NCP's current catalog.

mod wire;

use base64::Engine as _;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wire::{CommonCode, InitScript, ServerImage, ServerInstance, ServerSpec};

/// Header carrying the request time (ms since the epoch).
const HEADER_TIMESTAMP: &str = "x-ncp-apigw-timestamp";
/// Header carrying the access key id.
const HEADER_ACCESS_KEY: &str = "x-ncp-iam-access-key";
/// Header carrying the signature.
const HEADER_SIGNATURE: &str = "x-ncp-apigw-signature-v2";
/// The gateway refuses timestamps this far (or farther) from its clock.
const TIMESTAMP_WINDOW_MS: i64 = 5 * 60 * 1000;

/// The API Gateway v2 signature as the reference defines it:
/// `Base64(HMAC-SHA256(secret, "{METHOD} {path?query}\n{timestamp}\n{accessKey}"))`.
/// Written here from the reference, independently of the driver's signer.
fn sign(
    method: &str,
    request_uri: &str,
    timestamp_ms: u64,
    access_key: &str,
    secret: &[u8],
) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(format!("{method} {request_uri}\n{timestamp_ms}\n{access_key}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Constant-time comparison of two signatures.
fn signatures_equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Milliseconds since the epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64
}

/// The simulator's own `returnCode` values (the reference does not list NCP's).
pub mod codes {
    /// A required parameter is missing or malformed.
    pub const INVALID_PARAMETER: &str = "10001";
    /// The server instance / image / spec / script does not exist.
    pub const NOT_FOUND: &str = "10002";
    /// The server's status does not allow the operation.
    pub const INVALID_STATUS: &str = "10003";
    /// Unknown region.
    pub const INVALID_REGION: &str = "10004";
    /// The resource is in use.
    pub const IN_USE: &str = "10005";
}

/// Simulator options.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The one access key the simulator accepts.
    pub access_key: String,
    /// Its secret.
    pub secret_key: String,
    /// Duration of each state transition step.
    pub step: Duration,
    /// Accepted `regionCode` values (the first is the default).
    pub regions: Vec<String>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            access_key: "SIMACCESSKEY0000001".into(),
            secret_key: "sim-secret-key-not-a-real-secret".into(),
            step: Duration::from_millis(150),
            regions: vec!["KR".into()],
        }
    }
}

struct SimServer {
    rec: ServerInstance,
    due: VecDeque<(Instant, &'static str, &'static str, &'static str)>,
    gone_at: Option<Instant>,
}

struct State {
    servers: BTreeMap<u64, SimServer>,
    scripts: BTreeMap<u64, InitScript>,
    next_no: u64,
    requests: u64,
    auth_failures: u64,
    fail_next_create: bool,
}

/// Counters, for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Requests received.
    pub requests: u64,
    /// Requests refused with 401.
    pub auth_failures: u64,
    /// Servers not (yet) terminated.
    pub servers: usize,
    /// Init scripts stored.
    pub init_scripts: usize,
}

/// VPC number the simulator knows.
pub const SIM_VPC_NO: &str = "10001";
/// Subnet number the simulator knows (in [`SIM_VPC_NO`]).
pub const SIM_SUBNET_NO: &str = "20001";

fn catalog_specs() -> Vec<ServerSpec> {
    let g = 1024u64 * 1024 * 1024;
    [
        ("c2-g3", 2, 4, "vCPU 2EA, Memory 4GB (High CPU)"),
        ("s2-g3", 2, 8, "vCPU 2EA, Memory 8GB (Standard)"),
        ("c4-g3", 4, 8, "vCPU 4EA, Memory 8GB (High CPU)"),
        ("s4-g3", 4, 16, "vCPU 4EA, Memory 16GB (Standard)"),
        ("m2-g3", 2, 16, "vCPU 2EA, Memory 16GB (High Memory)"),
        ("s8-g3", 8, 32, "vCPU 8EA, Memory 32GB (Standard)"),
    ]
    .into_iter()
    .map(|(code, cpu, mem, d)| ServerSpec {
        server_spec_code: code.into(),
        hypervisor_type: Some(CommonCode::new("KVM", "KVM")),
        cpu_architecture_type: Some(CommonCode::new("X86_64", "x86 64bit")),
        generation_code: Some("G3".into()),
        cpu_count: cpu,
        memory_size: mem * g,
        gpu_count: Some(0),
        server_spec_description: Some(d.into()),
        server_product_code: None,
    })
    .collect()
}

fn catalog_images() -> Vec<ServerImage> {
    [
        ("23214590", "ubuntu-22.04-base", "UBUNTU"),
        ("25495367", "ubuntu-24.04-base", "UBUNTU"),
        ("23221307", "rocky-8.10-base", "ROCKY"),
    ]
    .into_iter()
    .map(|(no, name, os)| ServerImage {
        server_image_no: no.into(),
        server_image_name: name.into(),
        server_image_description: Some(format!("{name} (simulated)")),
        server_image_type: Some(CommonCode::new("NCP", "NCP Server Image")),
        hypervisor_type: Some(CommonCode::new("KVM", "KVM")),
        os_category_type: Some(CommonCode::new("LINUX", "LINUX")),
        os_type: Some(CommonCode::new(os, os)),
        server_image_product_code: None,
    })
    .collect()
}

/// A running simulator. Dropping it stops the server.
pub struct ServerSimulator {
    addr: SocketAddr,
    opts: SimOptions,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ServerSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSimulator")
            .field("addr", &self.addr)
            .finish()
    }
}

impl Drop for ServerSimulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ServerSimulator {
    /// Start on `127.0.0.1:0`.
    pub async fn start(opts: SimOptions) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            servers: BTreeMap::new(),
            scripts: BTreeMap::new(),
            next_no: 3_000_001,
            requests: 0,
            auth_failures: 0,
            fail_next_create: false,
        }));
        let (st, op) = (state.clone(), opts.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (st, op) = (st.clone(), op.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let (st, op) = (st.clone(), op.clone());
                        async move { Ok::<_, std::convert::Infallible>(handle(st, op, req).await) }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    if let Err(e) = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await
                    {
                        tracing::debug!(error = %e, "ncloud sim connection ended");
                    }
                });
            }
        });
        Ok(ServerSimulator {
            addr,
            opts,
            state,
            task,
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:43210`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// The options it runs with.
    pub fn options(&self) -> &SimOptions {
        &self.opts
    }
    /// A `ncloud-server://` URL for this simulator. The key pair is not in it: layer
    /// [`SimOptions::access_key`] / [`SimOptions::secret_key`] as profile parameters
    /// (`access_key`, `secret_key`) or set them in the environment.
    pub fn compute_url(&self) -> String {
        let poll = (self.opts.step.as_millis() / 3).max(10);
        format!(
            "ncloud-server://?region={}&endpoint={}&vpc_no={SIM_VPC_NO}&subnet_no={SIM_SUBNET_NO}&poll_ms={poll}&timeout_s=60",
            self.opts.regions.first().map(String::as_str).unwrap_or("KR"),
            self.endpoint()
        )
    }
    /// Make the next created server fail (`CREAT` → `FSTOP`).
    pub fn fail_next_create(&self) {
        lock(&self.state).fail_next_create = true;
    }
    /// Counters.
    pub fn stats(&self) -> SimStats {
        let mut s = lock(&self.state);
        advance(&mut s, Instant::now(), self.opts.step);
        SimStats {
            requests: s.requests,
            auth_failures: s.auth_failures,
            servers: s
                .servers
                .values()
                .filter(|v| v.rec.status() != "TERMT")
                .count(),
            init_scripts: s.scripts.len(),
        }
    }
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn json_response(status: StatusCode, v: &Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(v.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    r
}

fn gateway_error(
    status: StatusCode,
    code: &str,
    message: &str,
    details: &str,
) -> Response<Full<Bytes>> {
    json_response(
        status,
        &json!({"error": {"errorCode": code, "message": message, "details": details}}),
    )
}

struct Fail(&'static str, String);

fn fail(code: &'static str, msg: impl Into<String>) -> Fail {
    Fail(code, msg.into())
}

fn response_error(f: Fail) -> Response<Full<Bytes>> {
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"responseError": {"returnCode": f.0, "returnMessage": f.1}}),
    )
}

async fn handle(
    state: Arc<Mutex<State>>,
    opts: SimOptions,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    lock(&state).requests += 1;
    let method = req.method().clone();
    let uri = req.uri().clone();
    let path = uri.path().to_string();
    let request_uri = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| path.clone());
    let Some(action) = path.strip_prefix("/vserver/v2/").map(str::to_string) else {
        return gateway_error(
            StatusCode::NOT_FOUND,
            "300",
            "Not Found Exception",
            "unknown API path",
        );
    };
    if method != hyper::Method::GET && method != hyper::Method::POST {
        return gateway_error(
            StatusCode::BAD_REQUEST,
            "100",
            "Bad Request Exception",
            "method not allowed",
        );
    }
    let hdr = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (ts, ak, sig) = (
        hdr(HEADER_TIMESTAMP),
        hdr(HEADER_ACCESS_KEY),
        hdr(HEADER_SIGNATURE),
    );
    let is_form = hdr("content-type")
        .map(|c| c.starts_with("application/x-www-form-urlencoded"))
        .unwrap_or(false);
    // Authenticate before reading the body.
    let auth = (|| {
        let (Some(ts), Some(ak), Some(sig)) = (ts, ak, sig) else {
            return Err("Authentication information is missing.");
        };
        let ts: i64 = ts.parse().map_err(|_| "Invalid timestamp.")?;
        let now = now_ms();
        if (now - ts).abs() >= TIMESTAMP_WINDOW_MS {
            return Err("The timestamp is outside the 5 minute window.");
        }
        if ak != opts.access_key {
            return Err("Invalid access key.");
        }
        let want = sign(
            method.as_str(),
            &request_uri,
            ts as u64,
            &ak,
            opts.secret_key.as_bytes(),
        );
        if !signatures_equal(&want, &sig) {
            return Err("Signature mismatch.");
        }
        Ok(())
    })();
    if let Err(details) = auth {
        lock(&state).auth_failures += 1;
        return gateway_error(
            StatusCode::UNAUTHORIZED,
            "200",
            "Authentication Failed",
            details,
        );
    }
    let body = match Limited::new(req.into_body(), 2 * 1024 * 1024)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return gateway_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "430",
                "Request Entity Too Large",
                "",
            )
        }
    };
    let mut params: Vec<(String, String)> =
        url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    if method == hyper::Method::POST && is_form {
        params.extend(url::form_urlencoded::parse(&body).into_owned());
    }
    let p: BTreeMap<String, String> = params.iter().cloned().collect();
    let format = p
        .get("responseFormatType")
        .map(String::as_str)
        .unwrap_or("xml");
    if let Some(r) = p.get("regionCode") {
        if !opts.regions.iter().any(|x| x == r) {
            return response_error(fail(
                codes::INVALID_REGION,
                format!("Invalid regionCode: {r}"),
            ));
        }
    }
    let now = Instant::now();
    let result = {
        let mut st = lock(&state);
        advance(&mut st, now, opts.step);
        dispatch(&mut st, &opts, &action, &p, now)
    };
    match result {
        Ok(None) => gateway_error(
            StatusCode::NOT_FOUND,
            "300",
            "Not Found Exception",
            "unknown action",
        ),
        Ok(Some(mut inner)) => {
            if format != "json" {
                let body = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><{action}Response><returnCode>0</returnCode>\
                     <returnMessage>success</returnMessage><totalRows>{}</totalRows></{action}Response>",
                    inner.get("totalRows").cloned().unwrap_or(json!(0))
                );
                let mut r = Response::new(Full::new(Bytes::from(body)));
                r.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static("application/xml;charset=UTF-8"),
                );
                return r;
            }
            if let Some(o) = inner.as_object_mut() {
                o.insert("requestId".into(), json!(uuid::Uuid::new_v4().to_string()));
                o.insert("returnCode".into(), json!("0"));
                o.insert("returnMessage".into(), json!("success"));
            }
            json_response(
                StatusCode::OK,
                &json!({ format!("{action}Response"): inner }),
            )
        }
        Err(f) => response_error(f),
    }
}

fn advance(st: &mut State, now: Instant, step: Duration) {
    let mut gone = vec![];
    for (no, s) in st.servers.iter_mut() {
        while let Some((at, status, op, name)) = s.due.front().copied() {
            if at > now {
                break;
            }
            s.due.pop_front();
            set_status(&mut s.rec, status, op, name);
            if status == "TERMT" {
                s.gone_at = Some(at + step);
            }
        }
        if s.gone_at.is_some_and(|g| g <= now) {
            gone.push(*no);
        }
    }
    for no in gone {
        st.servers.remove(&no);
    }
}

fn status_name(code: &str) -> &'static str {
    match code {
        "INIT" => "Server init state",
        "CREAT" => "Server create state",
        "RUN" => "Server run state",
        "NSTOP" => "Server normal stopped state",
        "FSTOP" => "Server failure stopped state",
        "TERMT" => "Server terminate state",
        _ => "Server state",
    }
}

fn op_name(code: &str) -> &'static str {
    match code {
        "START" => "Server START OP",
        "SHTDN" => "Server SHUTDOWN OP",
        "RESTA" => "Server RESTART OP",
        "TERMT" => "Server TERMINATE OP",
        "CREAT" => "Server CREATE OP",
        _ => "Server NULL OP",
    }
}

fn set_status(rec: &mut ServerInstance, status: &str, op: &str, name: &str) {
    rec.server_instance_status = Some(CommonCode::new(status, status_name(status)));
    rec.server_instance_operation = Some(CommonCode::new(op, op_name(op)));
    rec.server_instance_status_name = Some(name.to_string());
}

fn list_param(p: &BTreeMap<String, String>, name: &str) -> Vec<String> {
    let prefix = format!("{name}.");
    let mut v: Vec<(u32, String)> = p
        .iter()
        .filter_map(|(k, val)| {
            k.strip_prefix(&prefix)
                .and_then(|n| n.parse::<u32>().ok())
                .map(|n| (n, val.clone()))
        })
        .collect();
    v.sort();
    v.into_iter().map(|(_, x)| x).collect()
}

fn required<'a>(p: &'a BTreeMap<String, String>, name: &str) -> Result<&'a str, Fail> {
    p.get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| fail(codes::INVALID_PARAMETER, format!("{name} is required.")))
}

fn valid_server_name(n: &str) -> bool {
    (3..=30).contains(&n.len())
        && n.starts_with(|c: char| c.is_ascii_lowercase())
        && n.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn kst_now() -> String {
    let now = chrono::Utc::now();
    match chrono::FixedOffset::east_opt(9 * 3600) {
        Some(tz) => now
            .with_timezone(&tz)
            .format("%Y-%m-%dT%H:%M:%S%z")
            .to_string(),
        None => now.format("%Y-%m-%dT%H:%M:%S+0000").to_string(),
    }
}

fn servers_json(list: Vec<ServerInstance>) -> Value {
    json!({"totalRows": list.len(), "serverInstanceList": list})
}

/// Look up servers by `serverInstanceNoList.N`, all-or-nothing.
fn targets(st: &State, p: &BTreeMap<String, String>) -> Result<Vec<u64>, Fail> {
    let ids = list_param(p, "serverInstanceNoList");
    if ids.is_empty() {
        return Err(fail(
            codes::INVALID_PARAMETER,
            "serverInstanceNoList is required.",
        ));
    }
    ids.iter()
        .map(|id| {
            id.parse::<u64>()
                .ok()
                .filter(|n| st.servers.contains_key(n))
                .ok_or_else(|| {
                    fail(
                        codes::NOT_FOUND,
                        format!("Server instance ({id}) does not exist."),
                    )
                })
        })
        .collect()
}

type Transition = (&'static str, &'static str, &'static str);

#[allow(clippy::too_many_arguments)]
fn transition(
    st: &mut State,
    p: &BTreeMap<String, String>,
    now: Instant,
    step: Duration,
    from: &[(&str, &str)],
    what: &str,
    first: Transition,
    then: Transition,
) -> Result<Option<Value>, Fail> {
    let ids = targets(st, p)?;
    for id in &ids {
        let s = &st.servers[id];
        if !from.contains(&(s.rec.status(), s.rec.operation())) || !s.due.is_empty() {
            return Err(fail(
                codes::INVALID_STATUS,
                format!(
                    "Server instance ({id}) cannot be {what} in its current status ({}/{}); it must be {}.",
                    s.rec.status(),
                    s.rec.operation(),
                    from.iter().map(|f| f.0).collect::<Vec<_>>().join(" or ")
                ),
            ));
        }
    }
    let mut out = vec![];
    for id in ids {
        if let Some(s) = st.servers.get_mut(&id) {
            set_status(&mut s.rec, first.0, first.1, first.2);
            s.due.push_back((now + step, then.0, then.1, then.2));
            out.push(s.rec.clone());
        }
    }
    Ok(Some(servers_json(out)))
}

fn dispatch(
    st: &mut State,
    opts: &SimOptions,
    action: &str,
    p: &BTreeMap<String, String>,
    now: Instant,
) -> Result<Option<Value>, Fail> {
    let step = opts.step;
    let region = p
        .get("regionCode")
        .cloned()
        .unwrap_or_else(|| opts.regions.first().cloned().unwrap_or_else(|| "KR".into()));
    match action {
        "getServerSpecList" => {
            let want = list_param(p, "serverSpecCodeList");
            if let Some(img) = p.get("serverImageNo") {
                if !catalog_images().iter().any(|i| &i.server_image_no == img) {
                    return Err(fail(
                        codes::NOT_FOUND,
                        format!("Server image ({img}) does not exist."),
                    ));
                }
            }
            let list: Vec<ServerSpec> = catalog_specs()
                .into_iter()
                .filter(|s| want.is_empty() || want.contains(&s.server_spec_code))
                .collect();
            Ok(Some(
                json!({"totalRows": list.len(), "serverSpecList": list}),
            ))
        }
        "getServerImageList" => {
            let want = list_param(p, "serverImageNoList");
            let name = p.get("serverImageName");
            let list: Vec<ServerImage> = catalog_images()
                .into_iter()
                .filter(|i| want.is_empty() || want.contains(&i.server_image_no))
                .filter(|i| name.is_none_or(|n| i.server_image_name.contains(n.as_str())))
                .collect();
            Ok(Some(
                json!({"totalRows": list.len(), "serverImageList": list}),
            ))
        }
        "createInitScript" => {
            let content = required(p, "initScriptContent")?;
            if !content.is_ascii() {
                return Err(fail(
                    codes::INVALID_PARAMETER,
                    "initScriptContent allows English characters only.",
                ));
            }
            if content.len() > 1024 * 1024 {
                return Err(fail(
                    codes::INVALID_PARAMETER,
                    "initScriptContent is limited to 1024 KB.",
                ));
            }
            let os = p.get("osTypeCode").map(String::as_str).unwrap_or("LNX");
            if os != "LNX" && os != "WND" {
                return Err(fail(
                    codes::INVALID_PARAMETER,
                    "osTypeCode must be LNX or WND.",
                ));
            }
            st.next_no += 1;
            let no = st.next_no;
            let name = match p.get("initScriptName") {
                Some(n) => {
                    if !(3..=30).contains(&n.len())
                        || !n.starts_with(|c: char| c.is_ascii_alphabetic())
                        || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    {
                        return Err(fail(codes::INVALID_PARAMETER, "initScriptName is invalid."));
                    }
                    n.clone()
                }
                None => format!("init{no}"),
            };
            let script = InitScript {
                init_script_no: no.to_string(),
                init_script_name: name,
                create_date: Some(kst_now()),
                init_script_description: p.get("initScriptDescription").cloned(),
                init_script_content: Some(content.to_string()),
                os_type: Some(CommonCode::new(
                    os,
                    if os == "LNX" { "LINUX" } else { "WINDOWS" },
                )),
            };
            let mut shown = script.clone();
            shown.init_script_content = None;
            st.scripts.insert(no, script);
            Ok(Some(json!({"totalRows": 1, "initScriptList": [shown]})))
        }
        "getInitScriptDetail" => {
            let no = required(p, "initScriptNo")?;
            let s = no
                .parse::<u64>()
                .ok()
                .and_then(|n| st.scripts.get(&n))
                .ok_or_else(|| {
                    fail(
                        codes::NOT_FOUND,
                        format!("Init script ({no}) does not exist."),
                    )
                })?;
            Ok(Some(json!({"totalRows": 1, "initScriptList": [s]})))
        }
        "getInitScriptList" => {
            let list: Vec<InitScript> = st
                .scripts
                .values()
                .cloned()
                .map(|mut s| {
                    s.init_script_content = None;
                    s
                })
                .collect();
            Ok(Some(
                json!({"totalRows": list.len(), "initScriptList": list}),
            ))
        }
        "deleteInitScripts" => {
            let ids = list_param(p, "initScriptNoList");
            if ids.is_empty() {
                return Err(fail(
                    codes::INVALID_PARAMETER,
                    "initScriptNoList is required.",
                ));
            }
            let mut nos = vec![];
            for id in &ids {
                let n = id
                    .parse::<u64>()
                    .ok()
                    .filter(|n| st.scripts.contains_key(n))
                    .ok_or_else(|| {
                        fail(
                            codes::NOT_FOUND,
                            format!("Init script ({id}) does not exist."),
                        )
                    })?;
                let in_use = st.servers.values().any(|s| {
                    s.rec.init_script_no.as_deref() == Some(id.as_str())
                        && s.rec.status() != "TERMT"
                        && s.rec.operation() != "TERMT"
                });
                if in_use {
                    return Err(fail(
                        codes::IN_USE,
                        format!("Init script ({id}) is in use by a server."),
                    ));
                }
                nos.push(n);
            }
            for n in nos {
                st.scripts.remove(&n);
            }
            Ok(Some(json!({"totalRows": 0})))
        }
        "createServerInstances" => {
            let vpc = required(p, "vpcNo")?;
            let subnet = required(p, "subnetNo")?;
            if vpc != SIM_VPC_NO {
                return Err(fail(
                    codes::NOT_FOUND,
                    format!("VPC ({vpc}) does not exist."),
                ));
            }
            if subnet != SIM_SUBNET_NO {
                return Err(fail(
                    codes::NOT_FOUND,
                    format!("Subnet ({subnet}) does not exist in VPC ({vpc})."),
                ));
            }
            let image_no = p.get("serverImageNo").cloned();
            if image_no.is_none()
                && p.get("memberServerImageInstanceNo").is_none()
                && p.get("serverImageProductCode").is_none()
            {
                return Err(fail(
                    codes::INVALID_PARAMETER,
                    "One of memberServerImageInstanceNo, serverImageNo or serverImageProductCode is required.",
                ));
            }
            let image_no = image_no.ok_or_else(|| {
                fail(
                    codes::INVALID_PARAMETER,
                    "The simulator supports serverImageNo only.",
                )
            })?;
            if !catalog_images()
                .iter()
                .any(|i| i.server_image_no == image_no)
            {
                return Err(fail(
                    codes::NOT_FOUND,
                    format!("Server image ({image_no}) does not exist."),
                ));
            }
            let specs = catalog_specs();
            let spec = match p.get("serverSpecCode") {
                Some(code) => specs
                    .iter()
                    .find(|s| &s.server_spec_code == code)
                    .ok_or_else(|| {
                        fail(
                            codes::NOT_FOUND,
                            format!("Server spec ({code}) does not exist."),
                        )
                    })?,
                None => specs
                    .iter()
                    .min_by_key(|s| (s.memory_size, s.cpu_count))
                    .ok_or_else(|| fail(codes::NOT_FOUND, "no server spec"))?,
            }
            .clone();
            if let Some(n) = p.get("serverName") {
                if !valid_server_name(n) {
                    return Err(fail(
                        codes::INVALID_PARAMETER,
                        "serverName must be 3-30 lowercase letters, digits or '-', start with a letter and end with a letter or digit.",
                    ));
                }
            }
            if let Some(d) = p.get("serverDescription") {
                if d.chars().count() > 1000 {
                    return Err(fail(
                        codes::INVALID_PARAMETER,
                        "serverDescription is limited to 1000 characters.",
                    ));
                }
            }
            if let Some(no) = p.get("initScriptNo") {
                if !no
                    .parse::<u64>()
                    .ok()
                    .is_some_and(|n| st.scripts.contains_key(&n))
                {
                    return Err(fail(
                        codes::NOT_FOUND,
                        format!("Init script ({no}) does not exist."),
                    ));
                }
            }
            let count: u32 = p
                .get("serverCreateCount")
                .map(|c| {
                    c.parse().map_err(|_| {
                        fail(codes::INVALID_PARAMETER, "serverCreateCount is invalid.")
                    })
                })
                .transpose()?
                .unwrap_or(1);
            if !(1..=20).contains(&count) {
                return Err(fail(
                    codes::INVALID_PARAMETER,
                    "serverCreateCount must be 1 to 20.",
                ));
            }
            let failing = std::mem::take(&mut st.fail_next_create);
            let mut out = vec![];
            for i in 0..count {
                st.next_no += 1;
                let no = st.next_no;
                let base = p
                    .get("serverName")
                    .cloned()
                    .unwrap_or_else(|| format!("s{no:x}"));
                let name = if count > 1 {
                    format!("{base}-{:03}", i + 1)
                } else {
                    base
                };
                let mut rec = ServerInstance {
                    server_instance_no: no.to_string(),
                    server_name: name,
                    server_description: p.get("serverDescription").cloned(),
                    cpu_count: Some(spec.cpu_count),
                    memory_size: Some(spec.memory_size),
                    platform_type: Some(CommonCode::new("LNX64", "Linux 64 Bit")),
                    login_key_name: p.get("loginKeyName").cloned(),
                    public_ip: None,
                    create_date: Some(kst_now()),
                    zone_code: Some(format!("{region}-1")),
                    region_code: Some(region.clone()),
                    vpc_no: Some(vpc.to_string()),
                    subnet_no: Some(subnet.to_string()),
                    init_script_no: p.get("initScriptNo").cloned(),
                    hypervisor_type: Some(CommonCode::new("KVM", "KVM")),
                    server_image_no: Some(image_no.clone()),
                    server_spec_code: Some(spec.server_spec_code.clone()),
                    ..Default::default()
                };
                set_status(&mut rec, "INIT", "NULL", "init");
                let mut due = VecDeque::new();
                due.push_back((now + step, "CREAT", "NULL", "creating"));
                if failing {
                    due.push_back((now + step * 2, "FSTOP", "NULL", "failure stopped"));
                } else {
                    due.push_back((now + step * 2, "RUN", "NULL", "running"));
                }
                out.push(rec.clone());
                st.servers.insert(
                    no,
                    SimServer {
                        rec,
                        due,
                        gone_at: None,
                    },
                );
            }
            Ok(Some(servers_json(out)))
        }
        "getServerInstanceList" => {
            let ids = list_param(p, "serverInstanceNoList");
            let name = p.get("serverName");
            let vpc = p.get("vpcNo");
            let status = p.get("serverInstanceStatusCode");
            let all: Vec<ServerInstance> = st
                .servers
                .values()
                .map(|s| &s.rec)
                .filter(|r| ids.is_empty() || ids.contains(&r.server_instance_no))
                .filter(|r| name.is_none_or(|n| &r.server_name == n))
                .filter(|r| vpc.is_none_or(|v| r.vpc_no.as_ref() == Some(v)))
                .filter(|r| status.is_none_or(|s| r.status() == s))
                .cloned()
                .collect();
            let total = all.len();
            let page_no: usize = p
                .get("pageNo")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1)
                .max(1);
            let page = match p.get("pageSize").and_then(|v| v.parse::<usize>().ok()) {
                Some(size) if size > 0 => all
                    .into_iter()
                    .skip((page_no - 1) * size)
                    .take(size)
                    .collect(),
                _ => all,
            };
            Ok(Some(
                json!({"totalRows": total, "serverInstanceList": page}),
            ))
        }
        "getServerInstanceDetail" => {
            let id = required(p, "serverInstanceNo")?;
            let s = id
                .parse::<u64>()
                .ok()
                .and_then(|n| st.servers.get(&n))
                .ok_or_else(|| {
                    fail(
                        codes::NOT_FOUND,
                        format!("Server instance ({id}) does not exist."),
                    )
                })?;
            Ok(Some(servers_json(vec![s.rec.clone()])))
        }
        "stopServerInstances" => transition(
            st,
            p,
            now,
            step,
            &[("RUN", "NULL")],
            "stopped",
            ("RUN", "SHTDN", "shutting down"),
            ("NSTOP", "NULL", "stopped"),
        ),
        "startServerInstances" => transition(
            st,
            p,
            now,
            step,
            &[("NSTOP", "NULL")],
            "started",
            ("NSTOP", "START", "booting"),
            ("RUN", "NULL", "running"),
        ),
        "rebootServerInstances" => transition(
            st,
            p,
            now,
            step,
            &[("RUN", "NULL")],
            "rebooted",
            ("RUN", "RESTA", "rebooting"),
            ("RUN", "NULL", "running"),
        ),
        "terminateServerInstances" => transition(
            st,
            p,
            now,
            step,
            &[("NSTOP", "NULL"), ("FSTOP", "NULL")],
            "terminated",
            ("NSTOP", "TERMT", "terminating"),
            ("TERMT", "NULL", "terminated"),
        ),
        _ => Ok(None),
    }
}
