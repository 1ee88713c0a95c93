//! **Spec-simulated** Kakao Cloud: IAM (Keystone v3 application credential) and the Beyond
//! Compute Service (BCS) instance API, on one loopback server. No real Kakao Cloud was run to
//! compare against.
//!
//! What comes from Kakao's published documents (docs.kakaocloud.com: "Getting started with
//! OpenAPI", "API authentication token", the BCS instance lifecycle pages):
//! * `POST /identity/v3/auth/tokens` with `{"auth": {"identity": {"methods":
//!   ["application_credential"], "application_credential": {"id", "secret"}}}}`; the token
//!   comes back in `X-Subject-Token`; `Content-Type: application/json` is mandatory (this
//!   simulator answers 415 without it).
//! * Instances under `/api/v1/instances/`, every call with `X-Auth-Token`.
//! * The lifecycle: Active, Stopped, Shelved_offloaded, Error; Start → Active, Stop → Stopped,
//!   Restart (soft) / Force restart (hard) → Active, Delete removes the instance.
//!
//! What this simulator invents (the drivers' docs call these **unconfirmed**): the JSON field
//! names (`flavor_id`, `image_id`, `tags`, `user_data`, `status`, `task_state`), the flavor and
//! image listings (`GET /api/v1/flavors`, `/api/v1/images`), the action paths
//! (`POST /api/v1/instances/{id}/start|stop|reboot`), offset pagination, and the error body
//! (`{"error": {"code", "message"}}`).
//!
//! Timing: `building` → `active` after `build_time`; stop goes through task `powering-off`,
//! start through `powering-on`, reboot through status `rebooting`/`hard_rebooting`, delete
//! through task `deleting` and then 404. Actions in the wrong state answer 409. Image
//! `fault-image` makes the build end in `error`. [`KakaoSim::throttle_next`] makes the next
//! BCS calls answer 429 with `Retry-After: 0`.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct KakaoSimConfig {
    /// IAM access keys (application credentials): (id, secret, project id).
    pub access_keys: Vec<(String, String, String)>,
    /// Token lifetime (Kakao: 12 h).
    pub token_ttl: Duration,
    /// Time in `building`.
    pub build_time: Duration,
    /// Time of a stop / start.
    pub power_time: Duration,
    /// Time of a reboot.
    pub reboot_time: Duration,
    /// Time of a delete.
    pub delete_time: Duration,
}

impl Default for KakaoSimConfig {
    fn default() -> Self {
        KakaoSimConfig {
            access_keys: vec![(
                "kakao-ak-1".into(),
                "kakao-sk-1".into(),
                "0f3c1e2d4b5a69788796a5b4c3d2e1f0".into(),
            )],
            token_ttl: Duration::from_secs(12 * 3600),
            build_time: Duration::from_millis(500),
            power_time: Duration::from_millis(300),
            reboot_time: Duration::from_millis(300),
            delete_time: Duration::from_millis(200),
        }
    }
}

#[derive(Debug, Clone)]
struct Inst {
    id: String,
    name: String,
    project: String,
    flavor: String,
    image: String,
    tags: Map<String, Value>,
    user_data: Option<String>,
    status: &'static str,
    task: Option<&'static str>,
    created: DateTime<Utc>,
    /// (when, next status, deleted afterwards)
    pending: Option<(Instant, &'static str, bool)>,
    ip: String,
}

#[derive(Default)]
struct State {
    tokens: HashMap<String, (String, DateTime<Utc>)>,
    instances: BTreeMap<String, Inst>,
    auth_requests: u64,
    create_requests: u64,
    throttle: u32,
    seq: u64,
}

struct Shared {
    cfg: KakaoSimConfig,
    addr: SocketAddr,
    st: Mutex<State>,
}

/// A running simulator; dropping it stops the server.
pub struct KakaoSim {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for KakaoSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// (id, name, vCPUs, memory MiB): Kakao's instance-type naming (`t1i`, `m2a`, `c2a`).
const FLAVORS: &[(&str, &str, u64, u64)] = &[
    ("6d1f2a1e-0001", "t1i.micro", 1, 1024),
    ("6d1f2a1e-0002", "t1i.small", 1, 2048),
    ("6d1f2a1e-0003", "m2a.large", 2, 8192),
    ("6d1f2a1e-0004", "m2a.xlarge", 4, 16384),
    ("6d1f2a1e-0005", "c2a.2xlarge", 8, 16384),
];
/// (id, name, os_distro/os_version)
type Img = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);
const IMAGES: &[Img] = &[
    (
        "b1e3-ubuntu-2204",
        "Ubuntu 22.04",
        Some(("ubuntu", "22.04")),
    ),
    ("b1e3-ubuntu-2404", "Ubuntu 24.04", None),
    ("b1e3-rocky-9", "Rocky Linux 9.4", Some(("rocky", "9"))),
    ("b1e3-fault", "fault-image", None),
];

impl KakaoSim {
    /// Start on 127.0.0.1 with an ephemeral port.
    pub async fn start(cfg: KakaoSimConfig) -> std::io::Result<Self> {
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
        Ok(KakaoSim { shared, task })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }
    /// The IAM (Keystone v3) URL.
    pub fn auth_url(&self) -> String {
        format!("{}/identity/v3", self.base_url())
    }
    /// The BCS base (`…/api/v1`).
    pub fn bcs_url(&self) -> String {
        format!("{}/api/v1", self.base_url())
    }
    /// The first access key: (id, secret).
    pub fn access_key(&self) -> (String, String) {
        let k = &self.shared.cfg.access_keys[0];
        (k.0.clone(), k.1.clone())
    }
    /// A `kakao-compute://` URL for this simulator (plain http is allowed on loopback).
    pub fn url(&self, region: &str) -> String {
        let (id, secret) = self.access_key();
        format!(
            "kakao-compute://?region={region}&auth_url={}&bcs_url={}&application_credential_id={id}&application_credential_secret={secret}",
            self.auth_url(),
            self.bcs_url()
        )
    }
    /// Token requests so far.
    pub fn auth_requests(&self) -> u64 {
        self.shared.st.lock().map(|s| s.auth_requests).unwrap_or(0)
    }
    /// `POST /instances` so far.
    pub fn create_requests(&self) -> u64 {
        self.shared
            .st
            .lock()
            .map(|s| s.create_requests)
            .unwrap_or(0)
    }
    /// The next `n` BCS calls answer 429 (`Retry-After: 0`).
    pub fn throttle_next(&self, n: u32) {
        if let Ok(mut s) = self.shared.st.lock() {
            s.throttle = n;
        }
    }
    /// Expire every token now (a 401 on the next call).
    pub fn expire_all_tokens(&self) {
        if let Ok(mut s) = self.shared.st.lock() {
            for t in s.tokens.values_mut() {
                t.1 = Utc::now() - chrono::Duration::seconds(1);
            }
        }
    }
}

fn resp(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(&format!("req-{}", uuid::Uuid::new_v4())) {
        r.headers_mut().insert("x-openstack-request-id", v);
    }
    r
}

fn err(status: StatusCode, msg: &str) -> Response<Full<Bytes>> {
    resp(
        status,
        json!({"error": {"code": status.as_u16(), "message": msg}}),
    )
}

async fn handle(sh: &Arc<Shared>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let headers = req.headers().clone();
    let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else {
        return err(StatusCode::BAD_REQUEST, "unreadable body");
    };
    let seg: Vec<&str> = path.trim_matches('/').split('/').collect();
    if let ("POST", ["identity", "v3", "auth", "tokens"]) = (method.as_str(), seg.as_slice()) {
        return iam(sh, &headers, &body);
    }
    let ["api", "v1", rest @ ..] = seg.as_slice() else {
        return err(StatusCode::NOT_FOUND, "no such API");
    };
    let Some(project) = authorize(sh, &headers) else {
        return err(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        );
    };
    {
        let Ok(mut st) = sh.st.lock() else {
            return err(StatusCode::INTERNAL_SERVER_ERROR, "lock");
        };
        if st.throttle > 0 {
            st.throttle -= 1;
            let mut r = err(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
            r.headers_mut()
                .insert("retry-after", hyper::header::HeaderValue::from_static("0"));
            return r;
        }
    }
    match (method.as_str(), rest) {
        ("GET", ["flavors"]) => resp(
            StatusCode::OK,
            json!({"flavors": FLAVORS.iter().map(|f| json!({"id": f.0, "name": f.1, "vcpus": f.2, "memory_mb": f.3})).collect::<Vec<_>>()}),
        ),
        ("GET", ["images"]) => resp(
            StatusCode::OK,
            json!({"images": IMAGES.iter().map(|i| {
                let mut v = json!({"id": i.0, "name": i.1, "status": "active"});
                if let Some((d, ver)) = i.2 { v["os_distro"] = json!(d); v["os_version"] = json!(ver); }
                v
            }).collect::<Vec<_>>()}),
        ),
        ("GET", ["instances"]) => list(sh, &project, &query),
        ("POST", ["instances"]) => create(sh, &project, &headers, &body),
        ("GET", ["instances", id]) => with_instance(sh, &project, id, |i| {
            resp(StatusCode::OK, json!({"instance": view(i)}))
        }),
        ("DELETE", ["instances", id]) => with_instance(sh, &project, id, |i| {
            if i.task != Some("deleting") {
                i.task = Some("deleting");
                i.pending = Some((Instant::now() + sh.cfg.delete_time, "deleted", true));
            }
            resp(StatusCode::ACCEPTED, json!({}))
        }),
        ("POST", ["instances", id, action]) => {
            let v: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
            let action = action.to_string();
            with_instance(sh, &project, id, |i| act(sh, i, &action, &v))
        }
        _ => err(StatusCode::NOT_FOUND, "no such API"),
    }
}

fn iam(sh: &Shared, h: &hyper::header::HeaderMap, body: &[u8]) -> Response<Full<Bytes>> {
    if let Ok(mut st) = sh.st.lock() {
        st.auth_requests += 1;
    }
    let ct = h
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct.starts_with("application/json") {
        return err(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type: application/json is required",
        );
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return err(StatusCode::BAD_REQUEST, "Malformed JSON");
    };
    let id = &v["auth"]["identity"];
    if id["methods"] != json!(["application_credential"]) {
        return err(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        );
    }
    if !v["auth"]["scope"].is_null() {
        return err(
            StatusCode::UNAUTHORIZED,
            "Application credentials cannot request a scope.",
        );
    }
    let ac = &id["application_credential"];
    let Some(key) = sh.cfg.access_keys.iter().find(|k| {
        Some(k.0.as_str()) == ac["id"].as_str() && Some(k.1.as_str()) == ac["secret"].as_str()
    }) else {
        return err(
            StatusCode::UNAUTHORIZED,
            "The request you have made requires authentication.",
        );
    };
    let tok = format!("gAAAAAk{}", uuid::Uuid::new_v4().simple());
    let exp = Utc::now() + chrono::Duration::milliseconds(sh.cfg.token_ttl.as_millis() as i64);
    if let Ok(mut st) = sh.st.lock() {
        st.tokens.insert(tok.clone(), (key.2.clone(), exp));
    }
    let mut r = resp(
        StatusCode::CREATED,
        json!({"token": {
            "methods": ["application_credential"],
            "expires_at": exp.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "issued_at": Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            "project": {"id": key.2, "name": "kakao-project", "domain": {"id": "kakao-domain"}},
            "application_credential": {"id": key.0, "restricted": true},
            "catalog": [],
        }}),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(&tok) {
        r.headers_mut().insert("x-subject-token", v);
    }
    r
}

fn authorize(sh: &Shared, h: &hyper::header::HeaderMap) -> Option<String> {
    let t = h.get("x-auth-token")?.to_str().ok()?;
    let st = sh.st.lock().ok()?;
    let (project, exp) = st.tokens.get(t)?;
    (*exp > Utc::now()).then(|| project.clone())
}

fn advance(st: &mut State) {
    let now = Instant::now();
    let mut gone = Vec::new();
    for i in st.instances.values_mut() {
        if let Some((at, next, delete)) = i.pending {
            if now >= at {
                if delete {
                    gone.push(i.id.clone());
                    continue;
                }
                i.status = next;
                i.task = None;
                i.pending = None;
            }
        }
    }
    for g in gone {
        st.instances.remove(&g);
    }
}

fn view(i: &Inst) -> Value {
    json!({
        "id": i.id,
        "name": i.name,
        "status": i.status,
        "task_state": i.task,
        "flavor": {"id": i.flavor, "name": FLAVORS.iter().find(|f| f.0 == i.flavor).map(|f| f.1)},
        "image": {"id": i.image},
        "tags": i.tags,
        "user_data": i.user_data,
        "addresses": [{"ip": i.ip, "type": "private"}],
        "created_at": i.created.to_rfc3339(),
        "project_id": i.project,
    })
}

fn with_instance(
    sh: &Shared,
    project: &str,
    id: &str,
    f: impl FnOnce(&mut Inst) -> Response<Full<Bytes>>,
) -> Response<Full<Bytes>> {
    let Ok(mut st) = sh.st.lock() else {
        return err(StatusCode::INTERNAL_SERVER_ERROR, "lock");
    };
    advance(&mut st);
    match st.instances.get_mut(id) {
        Some(i) if i.project == project => f(i),
        _ => err(
            StatusCode::NOT_FOUND,
            &format!("Instance {id} could not be found."),
        ),
    }
}

fn list(sh: &Shared, project: &str, q: &HashMap<String, String>) -> Response<Full<Bytes>> {
    let Ok(mut st) = sh.st.lock() else {
        return err(StatusCode::INTERNAL_SERVER_ERROR, "lock");
    };
    advance(&mut st);
    let limit = q
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    let offset = q
        .get("offset")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(0);
    let all: Vec<Value> = st
        .instances
        .values()
        .filter(|i| i.project == project)
        .filter(|i| q.get("name").is_none_or(|n| &i.name == n))
        .map(view)
        .collect();
    let page: Vec<Value> = all.iter().skip(offset).take(limit).cloned().collect();
    resp(
        StatusCode::OK,
        json!({"instances": page, "total": all.len()}),
    )
}

fn create(
    sh: &Shared,
    project: &str,
    h: &hyper::header::HeaderMap,
    body: &[u8],
) -> Response<Full<Bytes>> {
    if !h
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/json"))
    {
        return err(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type: application/json is required",
        );
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return err(StatusCode::BAD_REQUEST, "Malformed JSON");
    };
    let i = &v["instance"];
    let name = i["name"].as_str().unwrap_or("");
    if name.is_empty() || name.len() > 63 {
        return err(StatusCode::BAD_REQUEST, "name: 1 to 63 characters");
    }
    let Some(flavor) = i["flavor_id"]
        .as_str()
        .filter(|f| FLAVORS.iter().any(|x| x.0 == *f))
    else {
        return err(StatusCode::BAD_REQUEST, "flavor_id: no such instance type");
    };
    let Some(image) = i["image_id"]
        .as_str()
        .filter(|f| IMAGES.iter().any(|x| x.0 == *f))
    else {
        return err(StatusCode::BAD_REQUEST, "image_id: no such image");
    };
    let user_data = match &i["user_data"] {
        Value::Null => None,
        Value::String(s) => {
            use base64::Engine;
            if base64::engine::general_purpose::STANDARD.decode(s).is_err() {
                return err(StatusCode::BAD_REQUEST, "user_data must be base64");
            }
            Some(s.clone())
        }
        _ => return err(StatusCode::BAD_REQUEST, "user_data must be a string"),
    };
    let tags = i["tags"].as_object().cloned().unwrap_or_default();
    let Ok(mut st) = sh.st.lock() else {
        return err(StatusCode::INTERNAL_SERVER_ERROR, "lock");
    };
    st.create_requests += 1;
    st.seq += 1;
    let seq = st.seq;
    let fail = image == "b1e3-fault";
    let inst = Inst {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_string(),
        project: project.to_string(),
        flavor: flavor.to_string(),
        image: image.to_string(),
        tags,
        user_data,
        status: "building",
        task: Some("spawning"),
        created: Utc::now(),
        pending: Some((
            Instant::now() + sh.cfg.build_time,
            if fail { "error" } else { "active" },
            false,
        )),
        ip: format!("10.0.{}.{}", (seq / 250) % 250, seq % 250 + 2),
    };
    let out = view(&inst);
    st.instances.insert(inst.id.clone(), inst);
    resp(StatusCode::ACCEPTED, json!({ "instance": out }))
}

fn act(sh: &Shared, i: &mut Inst, action: &str, v: &Value) -> Response<Full<Bytes>> {
    let conflict = |what: &str, i: &Inst| {
        err(
            StatusCode::CONFLICT,
            &format!(
                "Cannot '{what}' instance {} while it is in status {}{}",
                i.id,
                i.status,
                i.task.map(|t| format!(" (task {t})")).unwrap_or_default()
            ),
        )
    };
    if i.task.is_some() && i.status != "error" {
        return conflict(action, i);
    }
    match action {
        "start" if i.status == "stopped" || i.status == "shelved_offloaded" => {
            i.task = Some("powering-on");
            i.pending = Some((Instant::now() + sh.cfg.power_time, "active", false));
        }
        "stop" if i.status == "active" => {
            i.task = Some("powering-off");
            i.pending = Some((Instant::now() + sh.cfg.power_time, "stopped", false));
        }
        "reboot" if i.status == "active" => {
            let hard = v["type"].as_str() == Some("hard");
            i.status = if hard { "hard_rebooting" } else { "rebooting" };
            i.pending = Some((Instant::now() + sh.cfg.reboot_time, "active", false));
        }
        "start" | "stop" | "reboot" => return conflict(action, i),
        _ => return err(StatusCode::NOT_FOUND, "no such action"),
    }
    resp(StatusCode::ACCEPTED, json!({}))
}
