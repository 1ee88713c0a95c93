//! An in-process OpenStack simulator: Keystone v3 and v2.0 identity, Nova compute and the
//! Glance image list, written from the published API references
//! (docs.openstack.org/api-ref/identity/v3, .../identity/v2 (archived), .../compute,
//! .../image/v2). It is "spec-simulated": no real OpenStack was run to compare against.
//!
//! * Tokens are issued with a service catalog and an expiry; bad credentials give 401 with
//!   Keystone's error body; expired or unknown tokens give 401 from Nova.
//! * Servers walk Nova's states with timing: `BUILD` (spawning) → `ACTIVE`; `os-stop`
//!   (task `powering-off`) → `SHUTOFF`; `os-start` (`powering-on`) → `ACTIVE`; `reboot` →
//!   `REBOOT`/`HARD_REBOOT` → `ACTIVE`; `DELETE` (`deleting`) → gone (404). Actions in the
//!   wrong state give 409 `conflictingRequest`. Image `fault-image` makes the build fail to
//!   `ERROR` with a `fault` ("No valid host was found").
//! * `OpenStack-API-Version: compute 2.x` is honoured: `OS-EXT-SRV-ATTR:user_data` only
//!   appears at 2.3 and later; versions above 2.96 give 406.
//!
//! * [`Layout::KtD1`] serves the same APIs on KT Cloud D1's path layout (from 3rd-party code,
//!   cloud-barista's ktcloudvpc driver; **unconfirmed** against KT documents): Keystone v3 at
//!   `/d1/identity/auth/tokens` (and `/d1/identity/v3/auth/tokens`), Nova at `/d1/server/...`
//!   without a project id in the path, Glance at `/d1/image/v2/images`, tokens without a
//!   service catalog. The standard paths then answer 404.
//!
//! Bound to 127.0.0.1:0; dropped with the [`Simulator`] handle.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which URL layout the simulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// `/identity/v3`, `/identity/v2.0`, `/compute/v2.1/{project}`, `/image/v2`, with a catalog.
    #[default]
    Standard,
    /// KT Cloud D1: `/d1/identity`, `/d1/server` (no project id), `/d1/image`, no catalog.
    KtD1,
}

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// URL layout.
    pub layout: Layout,
    /// Token lifetime.
    pub token_ttl: Duration,
    /// Catalog region name.
    pub region: String,
    /// Keystone v3 users: (user name, domain name, password, project name).
    pub users: Vec<(String, String, String, String)>,
    /// Application credentials: (id, secret, project name).
    pub app_credentials: Vec<(String, String, String)>,
    /// Keystone v2.0 tenants: (tenant id, user name, password).
    pub v2_tenants: Vec<(String, String, String)>,
    /// Time in BUILD.
    pub build_time: Duration,
    /// Time of a power-off / power-on.
    pub power_time: Duration,
    /// Time of a reboot.
    pub reboot_time: Duration,
    /// Time of a delete.
    pub delete_time: Duration,
    /// The project's instance quota (`None`: unlimited). Creating one more answers 403
    /// "Quota exceeded for instances" as Nova does.
    pub instance_quota: Option<usize>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            layout: Layout::Standard,
            token_ttl: Duration::from_secs(3600),
            region: "RegionOne".into(),
            users: vec![(
                "ocr".into(),
                "Default".into(),
                "ocr-pass".into(),
                "civic".into(),
            )],
            app_credentials: vec![("ac-id-1".into(), "ac-secret-1".into(), "civic".into())],
            v2_tenants: vec![(
                "0123456789abcdef0123456789abcdef".into(),
                "api-user@city.example".into(),
                "api-pass".into(),
            )],
            build_time: Duration::from_millis(600),
            power_time: Duration::from_millis(300),
            reboot_time: Duration::from_millis(400),
            delete_time: Duration::from_millis(250),
            instance_quota: None,
        }
    }
}

#[derive(Debug, Clone)]
struct TokenInfo {
    project_id: String,
    expires: DateTime<Utc>,
}

#[derive(Debug, Clone)]
struct Server {
    id: String,
    name: String,
    project_id: String,
    flavor: String,
    image: String,
    metadata: BTreeMap<String, String>,
    user_data: Option<String>,
    status: String,
    task: Option<String>,
    created: DateTime<Utc>,
    pending: Option<(Instant, &'static str, bool)>, // (when, next status, delete)
    fault: Option<Value>,
    ip: String,
}

#[derive(Default)]
struct State {
    tokens: HashMap<String, TokenInfo>,
    servers: BTreeMap<String, Server>,
    auth_requests: u64,
    create_requests: u64,
    seq: u64,
}

struct Shared {
    cfg: SimConfig,
    addr: SocketAddr,
    st: Mutex<State>,
}

/// A running simulator. Dropping it stops the server.
pub struct Simulator {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn project_id_of(name: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(name.as_bytes())[..16])
}

const FLAVORS: &[(&str, &str, u64, u64)] = &[
    ("1", "m1.tiny", 1, 512),
    ("2", "m1.small", 1, 2048),
    ("3", "m1.medium", 2, 4096),
    ("4", "m1.large", 4, 8192),
    ("5", "m1.xlarge", 8, 16384),
];
/// (id, name, (os_distro, os_version)).
type Img = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);
const IMAGES: &[Img] = &[
    (
        "8a3c3b2e-0001-4b7a-9c1e-ubuntu2204",
        "Ubuntu 22.04 LTS",
        Some(("ubuntu", "22.04")),
    ),
    (
        "8a3c3b2e-0002-4b7a-9c1e-ubuntu2404",
        "Ubuntu Server 24.04 LTS",
        None,
    ),
    (
        "8a3c3b2e-0003-4b7a-9c1e-rocky9",
        "Rocky Linux 9",
        Some(("rocky", "9")),
    ),
    ("8a3c3b2e-0004-4b7a-9c1e-faultimage", "fault-image", None),
];

impl Simulator {
    /// Start on 127.0.0.1 with an ephemeral port.
    pub async fn start(cfg: SimConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            cfg,
            addr,
            st: Mutex::new(State::default()),
        });
        let s2 = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let s3 = s2.clone();
                tokio::spawn(async move {
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let svc = hyper::service::service_fn(move |req| {
                        let s4 = s3.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(&s4, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(io, svc)
                        .await;
                });
            }
        });
        Ok(Simulator { shared, task })
    }

    /// Base URL (`http://127.0.0.1:PORT`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }
    /// Keystone v3 auth URL (`…/d1/identity/` in the KT D1 layout).
    pub fn v3_auth_url(&self) -> String {
        match self.shared.cfg.layout {
            Layout::Standard => format!("{}/identity/v3", self.base_url()),
            Layout::KtD1 => format!("{}/d1/identity/", self.base_url()),
        }
    }
    /// Keystone v2.0 auth URL.
    pub fn v2_auth_url(&self) -> String {
        format!("{}/identity/v2.0", self.base_url())
    }
    /// How many token requests succeeded or failed so far.
    pub fn auth_requests(&self) -> u64 {
        self.shared.st.lock().map(|s| s.auth_requests).unwrap_or(0)
    }
    /// How many `POST /servers` were received.
    pub fn create_requests(&self) -> u64 {
        self.shared
            .st
            .lock()
            .map(|s| s.create_requests)
            .unwrap_or(0)
    }
    /// Expire every issued token now (to test refresh after 401).
    pub fn expire_all_tokens(&self) {
        if let Ok(mut s) = self.shared.st.lock() {
            for t in s.tokens.values_mut() {
                t.expires = Utc::now() - chrono::Duration::seconds(1);
            }
        }
    }
}

fn resp(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        "application/json"
            .parse()
            .unwrap_or_else(|_| hyper::header::HeaderValue::from_static("application/json")),
    );
    r.headers_mut().insert(
        "x-openstack-request-id",
        hyper::header::HeaderValue::from_str(&format!("req-{}", uuid::Uuid::new_v4()))
            .unwrap_or(hyper::header::HeaderValue::from_static("req-0")),
    );
    r
}

fn empty(status: StatusCode) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = status;
    r
}

fn nova_err(status: StatusCode, kind: &str, msg: &str) -> Response<Full<Bytes>> {
    resp(
        status,
        json!({ kind: {"code": status.as_u16(), "message": msg} }),
    )
}

async fn handle(sh: &Arc<Shared>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let headers = req.headers().clone();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return empty(StatusCode::BAD_REQUEST),
    };
    let path = match sh.cfg.layout {
        Layout::Standard => path,
        Layout::KtD1 => match d1_path(sh, &headers, &path) {
            Some(p) => p,
            None => {
                return nova_err(
                    StatusCode::NOT_FOUND,
                    "itemNotFound",
                    "The resource could not be found.",
                )
            }
        },
    };
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), seg.as_slice()) {
        ("POST", ["identity", "v3", "auth", "tokens"]) => keystone_v3(sh, &body),
        ("POST", ["identity", "v2.0", "tokens"]) => keystone_v2(sh, &body),
        (_, ["compute", ver, project, rest @ ..]) if *ver == "v2.1" || *ver == "v2" => {
            let Some(project_id) = authorize(sh, &headers) else {
                return resp(
                    StatusCode::UNAUTHORIZED,
                    json!({"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}),
                );
            };
            if *project != project_id {
                return nova_err(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "Token is not scoped to this project",
                );
            }
            let mv = match microversion(&headers) {
                Ok(v) => v,
                Err(r) => return r,
            };
            let mut r = nova(sh, method.as_str(), rest, &query, &body, &project_id, mv);
            if let Ok(v) = hyper::header::HeaderValue::from_str(&format!("compute 2.{mv}")) {
                r.headers_mut().insert("openstack-api-version", v);
            }
            r
        }
        ("GET", ["image", "v2", "images"]) => {
            if authorize(sh, &headers).is_none() {
                return resp(
                    StatusCode::UNAUTHORIZED,
                    json!({"error": {"code": 401, "message": "unauthorized"}}),
                );
            }
            let imgs: Vec<Value> = IMAGES.iter().map(glance_image).collect();
            resp(
                StatusCode::OK,
                json!({"images": imgs, "first": "/v2/images", "schema": "/v2/schemas/images"}),
            )
        }
        _ => nova_err(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            "The resource could not be found.",
        ),
    }
}

/// A KT D1 path in the standard layout, or `None` (404) for anything else.
fn d1_path(sh: &Shared, h: &hyper::header::HeaderMap, path: &str) -> Option<String> {
    let rest = path.strip_prefix("/d1/")?;
    if let Some(r) = rest.strip_prefix("identity/") {
        let r = r.strip_prefix("v3/").unwrap_or(r);
        return (r.trim_end_matches('/') == "auth/tokens")
            .then(|| "/identity/v3/auth/tokens".into());
    }
    if let Some(r) = rest.strip_prefix("server/") {
        // No project id in D1 compute paths: the token's project is the one.
        let project = authorize(sh, h).unwrap_or_else(|| "-".into());
        return Some(format!("/compute/v2.1/{project}/{r}"));
    }
    rest.strip_prefix("image/").map(|r| format!("/image/{r}"))
}

fn glance_image(i: &Img) -> Value {
    let mut v = json!({"id": i.0, "name": i.1, "status": "active", "visibility": "public", "disk_format": "qcow2"});
    if let Some((d, ver)) = i.2 {
        v["os_distro"] = json!(d);
        v["os_version"] = json!(ver);
    }
    v
}

#[allow(clippy::result_large_err)]
fn microversion(h: &hyper::header::HeaderMap) -> Result<u32, Response<Full<Bytes>>> {
    let raw = h
        .get("openstack-api-version")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().strip_prefix("compute ").map(str::to_string))
        .or_else(|| {
            h.get("x-openstack-nova-api-version")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
    let Some(raw) = raw else { return Ok(1) };
    if raw == "latest" {
        return Ok(96);
    }
    let minor = raw.strip_prefix("2.").and_then(|m| m.parse::<u32>().ok());
    match minor {
        Some(m) if (1..=96).contains(&m) => Ok(m),
        _ => Err(nova_err(
            StatusCode::NOT_ACCEPTABLE,
            "computeFault",
            &format!(
                "Version {raw} is not supported by the API. Minimum is 2.1 and maximum is 2.96."
            ),
        )),
    }
}

fn authorize(sh: &Shared, h: &hyper::header::HeaderMap) -> Option<String> {
    let t = h.get("x-auth-token")?.to_str().ok()?;
    let st = sh.st.lock().ok()?;
    let info = st.tokens.get(t)?;
    if info.expires <= Utc::now() {
        return None;
    }
    Some(info.project_id.clone())
}

fn catalog_v3(sh: &Shared, project_id: &str) -> Value {
    if sh.cfg.layout == Layout::KtD1 {
        return json!([]);
    }
    let b = format!("http://{}", sh.addr);
    let r = &sh.cfg.region;
    let ep = |url: String| {
        json!([
            {"id": uuid::Uuid::new_v4().to_string(), "interface": "public", "region": r, "region_id": r, "url": url},
            {"id": uuid::Uuid::new_v4().to_string(), "interface": "internal", "region": r, "region_id": r, "url": url},
        ])
    };
    json!([
        {"type": "identity", "name": "keystone", "id": "k", "endpoints": ep(format!("{b}/identity/v3"))},
        {"type": "compute", "name": "nova", "id": "n", "endpoints": ep(format!("{b}/compute/v2.1/{project_id}"))},
        {"type": "image", "name": "glance", "id": "g", "endpoints": ep(format!("{b}/image"))},
    ])
}

fn unauthorized() -> Response<Full<Bytes>> {
    resp(
        StatusCode::UNAUTHORIZED,
        json!({"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}),
    )
}

fn issue(sh: &Shared, project_id: &str) -> (String, DateTime<Utc>) {
    let tok = format!("gAAAAA{}", uuid::Uuid::new_v4().simple());
    let exp = Utc::now() + chrono::Duration::milliseconds(sh.cfg.token_ttl.as_millis() as i64);
    if let Ok(mut st) = sh.st.lock() {
        st.tokens.insert(
            tok.clone(),
            TokenInfo {
                project_id: project_id.to_string(),
                expires: exp,
            },
        );
    }
    (tok, exp)
}

fn keystone_v3(sh: &Arc<Shared>, body: &[u8]) -> Response<Full<Bytes>> {
    if let Ok(mut st) = sh.st.lock() {
        st.auth_requests += 1;
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return resp(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": 400, "title": "Bad Request", "message": "Malformed JSON"}}),
        );
    };
    let id = &v["auth"]["identity"];
    let methods: Vec<&str> = id["methods"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m.as_str()).collect())
        .unwrap_or_default();
    let scope_project = v["auth"]["scope"]["project"]["name"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            let pid = v["auth"]["scope"]["project"]["id"].as_str()?;
            sh.cfg
                .users
                .iter()
                .map(|u| u.3.clone())
                .chain(sh.cfg.app_credentials.iter().map(|a| a.2.clone()))
                .find(|p| project_id_of(p) == pid)
        });
    let (user, project) = match methods.first().copied() {
        Some("password") => {
            let u = &id["password"]["user"];
            let name = u["name"].as_str().unwrap_or("");
            let domain = u["domain"]["name"]
                .as_str()
                .or(u["domain"]["id"].as_str())
                .unwrap_or("");
            let pw = u["password"].as_str().unwrap_or("");
            let Some(found) = sh.cfg.users.iter().find(|x| {
                x.0 == name
                    && x.2 == pw
                    && (x.1.eq_ignore_ascii_case(domain)
                        || (domain == "default" && x.1 == "Default"))
            }) else {
                return unauthorized();
            };
            match scope_project {
                Some(p) if p == found.3 => (found.0.clone(), p),
                Some(_) => return unauthorized(),
                None => {
                    return resp(
                        StatusCode::BAD_REQUEST,
                        json!({"error": {"code": 400, "message": "this simulator issues project-scoped tokens only"}}),
                    )
                }
            }
        }
        Some("application_credential") => {
            let ac = &id["application_credential"];
            if !v["auth"]["scope"].is_null() {
                return resp(
                    StatusCode::UNAUTHORIZED,
                    json!({"error": {"code": 401, "title": "Unauthorized", "message": "Application credentials cannot request a scope."}}),
                );
            }
            let Some(found) = sh.cfg.app_credentials.iter().find(|x| {
                Some(x.0.as_str()) == ac["id"].as_str()
                    && Some(x.1.as_str()) == ac["secret"].as_str()
            }) else {
                return unauthorized();
            };
            (format!("app-{}", found.0), found.2.clone())
        }
        _ => return unauthorized(),
    };
    let pid = project_id_of(&project);
    let (tok, exp) = issue(sh, &pid);
    let now = Utc::now();
    let mut r = resp(
        StatusCode::CREATED,
        json!({"token": {
            "methods": methods,
            "expires_at": exp.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "issued_at": now.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "user": {"id": project_id_of(&user), "name": user, "domain": {"id": "default", "name": "Default"}},
            "project": {"id": pid, "name": project, "domain": {"id": "default", "name": "Default"}},
            "roles": [{"id": "r1", "name": "member"}],
            "catalog": catalog_v3(sh, &pid),
        }}),
    );
    if let Ok(h) = hyper::header::HeaderValue::from_str(&tok) {
        r.headers_mut().insert("x-subject-token", h);
    }
    r
}

fn keystone_v2(sh: &Arc<Shared>, body: &[u8]) -> Response<Full<Bytes>> {
    if let Ok(mut st) = sh.st.lock() {
        st.auth_requests += 1;
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return resp(
            StatusCode::BAD_REQUEST,
            json!({"error": {"code": 400, "title": "Bad Request", "message": "Malformed JSON"}}),
        );
    };
    let a = &v["auth"];
    let tenant = a["tenantId"].as_str().unwrap_or("");
    let user = a["passwordCredentials"]["username"].as_str().unwrap_or("");
    let pw = a["passwordCredentials"]["password"].as_str().unwrap_or("");
    if !sh
        .cfg
        .v2_tenants
        .iter()
        .any(|t| t.0 == tenant && t.1 == user && t.2 == pw)
    {
        return resp(
            StatusCode::UNAUTHORIZED,
            json!({"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}),
        );
    }
    let (tok, exp) = issue(sh, tenant);
    let b = format!("http://{}", sh.addr);
    let r = &sh.cfg.region;
    let ep = |u: String| json!([{"region": r, "publicURL": u, "internalURL": u, "adminURL": u}]);
    resp(
        StatusCode::OK,
        json!({"access": {
            "token": {"id": tok, "expires": exp.format("%Y-%m-%dT%H:%M:%SZ").to_string(), "tenant": {"id": tenant, "name": tenant, "enabled": true}},
            "serviceCatalog": [
                {"type": "compute", "name": "nova", "endpoints": ep(format!("{b}/compute/v2/{tenant}"))},
                {"type": "image", "name": "glance", "endpoints": ep(format!("{b}/image"))},
            ],
            "user": {"id": "u-v2", "name": user, "roles": [{"name": "_member_"}]},
        }}),
    )
}

fn advance(sh: &Shared, st: &mut State) {
    let now = Instant::now();
    let mut gone = Vec::new();
    for s in st.servers.values_mut() {
        if let Some((at, next, delete)) = s.pending {
            if now >= at {
                if delete {
                    gone.push(s.id.clone());
                    continue;
                }
                s.status = next.to_string();
                s.task = None;
                s.pending = None;
                if next == "ERROR" {
                    s.fault = Some(
                        json!({"code": 500, "message": "No valid host was found. There are not enough hosts available.", "created": Utc::now().to_rfc3339()}),
                    );
                }
            }
        }
    }
    let _ = sh;
    for g in gone {
        st.servers.remove(&g);
    }
}

fn server_json(s: &Server, mv: u32) -> Value {
    let mut v = json!({
        "id": s.id, "name": s.name, "status": s.status, "tenant_id": s.project_id,
        "OS-EXT-STS:task_state": s.task, "OS-EXT-STS:vm_state": s.status.to_ascii_lowercase(),
        "OS-EXT-STS:power_state": if s.status == "ACTIVE" { 1 } else { 4 },
        "flavor": {"id": s.flavor, "links": []},
        "image": {"id": s.image, "links": []},
        "metadata": s.metadata,
        "addresses": if s.status == "BUILD" { json!({}) } else { json!({"private": [{"addr": s.ip, "version": 4, "OS-EXT-IPS:type": "fixed"}]}) },
        "created": s.created.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "updated": Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "links": [],
    });
    if mv >= 3 {
        v["OS-EXT-SRV-ATTR:user_data"] = json!(s.user_data);
        v["OS-EXT-SRV-ATTR:hostname"] = json!(s.name);
    }
    if let Some(f) = &s.fault {
        v["fault"] = f.clone();
    }
    v
}

fn nova(
    sh: &Arc<Shared>,
    method: &str,
    rest: &[&str],
    query: &str,
    body: &[u8],
    project: &str,
    mv: u32,
) -> Response<Full<Bytes>> {
    let Ok(mut st) = sh.st.lock() else {
        return empty(StatusCode::INTERNAL_SERVER_ERROR);
    };
    advance(sh, &mut st);
    let q: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    match (method, rest) {
        ("GET", ["flavors", "detail"]) | ("GET", ["flavors"]) => {
            let f: Vec<Value> = FLAVORS.iter().map(|f| json!({"id": f.0, "name": f.1, "vcpus": f.2, "ram": f.3, "disk": 20, "links": []})).collect();
            resp(StatusCode::OK, json!({"flavors": f}))
        }
        ("GET", ["images", "detail"]) | ("GET", ["images"]) => {
            let imgs: Vec<Value> = IMAGES
                .iter()
                .map(|i| json!({"id": i.0, "name": i.1, "status": "ACTIVE", "metadata": {}}))
                .collect();
            resp(StatusCode::OK, json!({"images": imgs}))
        }
        ("GET", ["servers", "detail"]) | ("GET", ["servers"]) => {
            let name_re = q.get("name").cloned();
            let limit: usize = q
                .get("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(1000)
                .min(1000);
            let marker = q.get("marker").cloned();
            let mut all: Vec<&Server> = st
                .servers
                .values()
                .filter(|s| s.project_id == project)
                .collect();
            all.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
            if let Some(n) = &name_re {
                // Nova treats `name` as a regular expression; this supports ^literal$ and substrings.
                let lit = n
                    .trim_start_matches('^')
                    .trim_end_matches('$')
                    .replace('\\', "");
                let exact = n.starts_with('^') && n.ends_with('$');
                all.retain(|s| {
                    if exact {
                        s.name == lit
                    } else {
                        s.name.contains(&lit)
                    }
                });
            }
            if let Some(m) = &marker {
                match all.iter().position(|s| &s.id == m) {
                    Some(i) => all.drain(..=i).for_each(drop),
                    None => {
                        return nova_err(
                            StatusCode::BAD_REQUEST,
                            "badRequest",
                            &format!("marker [{m}] not found"),
                        )
                    }
                }
            }
            let more = all.len() > limit;
            all.truncate(limit);
            let list: Vec<Value> = all.iter().map(|s| server_json(s, mv)).collect();
            let mut v = json!({"servers": list});
            if more {
                if let Some(last) = all.last() {
                    v["servers_links"] = json!([{"rel": "next", "href": format!("servers/detail?limit={limit}&marker={}", last.id)}]);
                }
            }
            resp(StatusCode::OK, v)
        }
        ("POST", ["servers"]) => {
            st.create_requests += 1;
            let Ok(v) = serde_json::from_slice::<Value>(body) else {
                return nova_err(
                    StatusCode::BAD_REQUEST,
                    "badRequest",
                    "Malformed request body",
                );
            };
            let s = &v["server"];
            let Some(name) = s["name"]
                .as_str()
                .filter(|n| !n.is_empty() && n.len() <= 255)
            else {
                return nova_err(
                    StatusCode::BAD_REQUEST,
                    "badRequest",
                    "Invalid input for field/attribute name.",
                );
            };
            let flavor = s["flavorRef"].as_str().unwrap_or("");
            if !FLAVORS.iter().any(|f| f.0 == flavor) {
                return nova_err(
                    StatusCode::BAD_REQUEST,
                    "badRequest",
                    "Invalid flavorRef provided.",
                );
            }
            let image = s["imageRef"].as_str().unwrap_or("");
            let Some(img) = IMAGES.iter().find(|i| i.0 == image) else {
                return nova_err(
                    StatusCode::BAD_REQUEST,
                    "badRequest",
                    &format!("Image {image} could not be found."),
                );
            };
            let mut metadata = BTreeMap::new();
            if let Some(m) = s["metadata"].as_object() {
                for (k, v) in m {
                    let Some(v) = v.as_str() else {
                        return nova_err(
                            StatusCode::BAD_REQUEST,
                            "badRequest",
                            "Invalid input for field/attribute metadata.",
                        );
                    };
                    metadata.insert(k.clone(), v.to_string());
                }
            }
            let user_data = s["user_data"].as_str().map(str::to_string);
            if let Some(u) = &user_data {
                use base64::Engine;
                if base64::engine::general_purpose::STANDARD.decode(u).is_err() {
                    return nova_err(
                        StatusCode::BAD_REQUEST,
                        "badRequest",
                        "User data needs to be valid base 64.",
                    );
                }
            }
            if let Some(q) = sh.cfg.instance_quota {
                // Servers being deleted no longer count (Nova frees the quota on delete).
                let used = st
                    .servers
                    .values()
                    .filter(|s| s.project_id == project)
                    .filter(|s| !matches!(s.pending, Some((_, "DELETED", _))))
                    .count();
                if used >= q {
                    // Nova's quota error (compute API, since microversion 2.1: 403).
                    return nova_err(
                        StatusCode::FORBIDDEN,
                        "forbidden",
                        &format!(
                            "Quota exceeded for instances: Requested 1, but already used {used} of {q} instances"
                        ),
                    );
                }
            }
            st.seq += 1;
            let id = uuid::Uuid::new_v4().to_string();
            let fail = img.1 == "fault-image";
            let server = Server {
                id: id.clone(),
                name: name.to_string(),
                project_id: project.to_string(),
                flavor: flavor.to_string(),
                image: image.to_string(),
                metadata,
                user_data,
                status: "BUILD".into(),
                task: Some("spawning".into()),
                created: Utc::now(),
                pending: Some((
                    Instant::now() + sh.cfg.build_time,
                    if fail { "ERROR" } else { "ACTIVE" },
                    false,
                )),
                fault: None,
                ip: format!("10.0.{}.{}", (st.seq / 250) % 250, st.seq % 250 + 2),
            };
            st.servers.insert(id.clone(), server);
            resp(
                StatusCode::ACCEPTED,
                json!({"server": {"id": id, "links": [], "adminPass": "simulated", "OS-DCF:diskConfig": "MANUAL", "security_groups": [{"name": "default"}]}}),
            )
        }
        ("GET", ["servers", id]) => match st.servers.get(*id).filter(|s| s.project_id == project) {
            Some(s) => resp(StatusCode::OK, json!({"server": server_json(s, mv)})),
            None => nova_err(
                StatusCode::NOT_FOUND,
                "itemNotFound",
                &format!("Instance {id} could not be found."),
            ),
        },
        ("DELETE", ["servers", id]) => {
            let dt = sh.cfg.delete_time;
            match st.servers.get_mut(*id).filter(|s| s.project_id == project) {
                Some(s) => {
                    s.task = Some("deleting".into());
                    s.pending = Some((Instant::now() + dt, "DELETED", true));
                    empty(StatusCode::NO_CONTENT)
                }
                None => nova_err(
                    StatusCode::NOT_FOUND,
                    "itemNotFound",
                    &format!("Instance {id} could not be found."),
                ),
            }
        }
        ("POST", ["servers", id, "action"]) => {
            let Ok(v) = serde_json::from_slice::<Value>(body) else {
                return nova_err(
                    StatusCode::BAD_REQUEST,
                    "badRequest",
                    "Malformed request body",
                );
            };
            let cfg = sh.cfg.clone();
            let Some(s) = st.servers.get_mut(*id).filter(|s| s.project_id == project) else {
                return nova_err(
                    StatusCode::NOT_FOUND,
                    "itemNotFound",
                    &format!("Instance {id} could not be found."),
                );
            };
            let conflict = |s: &Server, action: &str| {
                nova_err(
                    StatusCode::CONFLICT,
                    "conflictingRequest",
                    &format!(
                        "Cannot '{action}' instance {} while it is in vm_state {}",
                        s.id,
                        s.status.to_ascii_lowercase()
                    ),
                )
            };
            let busy = s.task.is_some() || s.pending.is_some();
            let now = Instant::now();
            if v.get("os-stop").is_some() {
                if busy || s.status != "ACTIVE" {
                    return conflict(s, "stop");
                }
                s.task = Some("powering-off".into());
                s.pending = Some((now + cfg.power_time, "SHUTOFF", false));
            } else if v.get("os-start").is_some() {
                if busy || s.status != "SHUTOFF" {
                    return conflict(s, "start");
                }
                s.task = Some("powering-on".into());
                s.pending = Some((now + cfg.power_time, "ACTIVE", false));
            } else if let Some(r) = v.get("reboot") {
                let hard = r["type"].as_str() == Some("HARD");
                if busy || (s.status != "ACTIVE" && !(hard && s.status == "SHUTOFF")) {
                    return conflict(s, "reboot");
                }
                s.status = if hard {
                    "HARD_REBOOT".into()
                } else {
                    "REBOOT".into()
                };
                s.task = Some(if hard {
                    "reboot_started_hard".into()
                } else {
                    "reboot_started".into()
                });
                s.pending = Some((now + cfg.reboot_time, "ACTIVE", false));
            } else {
                return nova_err(
                    StatusCode::BAD_REQUEST,
                    "badRequest",
                    "There is no such action",
                );
            }
            empty(StatusCode::ACCEPTED)
        }
        _ => nova_err(
            StatusCode::NOT_FOUND,
            "itemNotFound",
            "The resource could not be found.",
        ),
    }
}
