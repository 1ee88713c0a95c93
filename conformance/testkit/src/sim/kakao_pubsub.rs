//! **Spec-simulated** Kakao Cloud Pub/Sub (REST API): topics, pull subscriptions, publish,
//! pull, acknowledge and modify-ack-deadline on one loopback server. No real Kakao Cloud was
//! run to compare against.
//!
//! What comes from Kakao's published documents (docs.kakaocloud.com "Pub/Sub API", "API
//! overview", "Create subscription", "Receive message", and the Kakao tutorial code in
//! github.com/kakaocloud-edu/tutorial):
//! * paths under `/v1/domains/{domain-id}/projects/{project-id}/`: `PUT|GET|DELETE
//!   topics/{name}`, `GET topics`, `POST topics/{name}/publish`, `PUT|GET|DELETE
//!   subscriptions/{name}`, `GET subscriptions`, `POST subscriptions/{name}/pull`,
//!   `POST subscriptions/{name}/acknowledge`;
//! * every call carries `Credential-ID` and `Credential-Secret` (the IAM access key); a
//!   wrong or missing key answers 403 with code 7 (`PERMISSION_DENIED`, "the certification
//!   is invalid");
//! * errors are `{"error": {"code": int, "message": string}}` with the documented pairs
//!   3/400, 9/400, 7/403, 5/404, 13/500, 14/503;
//! * publish takes `{"messages": [{"data": base64, "attributes": {..}}]}`; pull takes
//!   `{"maxMessages", "waitTime": "Ns"}` (at most 100 messages and 30 s per the tutorial) and
//!   answers `{"receivedMessages": [{"ackId", "message": {"data", "attributes", "messageId",
//!   "publishTime"}}]}`; acknowledge takes `{"ackIds": [..]}` and answers
//!   `{"failure": [{"ackID", "error": {"code", "message"}}]}` for ack ids it refused (code 3,
//!   "you have passed an invalid ack ID to the service");
//! * a subscription has `ackDeadlineSeconds` 10–600 and `maxDeliveryAttempt` 1–100 (absent:
//!   unlimited); an unacknowledged message comes back after its deadline.
//!
//! What this simulator invents (the driver's docs call these **unconfirmed**): the publish
//! answer `{"messageIds": [..]}`; `deliveryAttempt` on received messages; the path and body
//! of modify-ack-deadline (`POST subscriptions/{name}/modifyAckDeadline` with `{"ackIds",
//! "ackDeadlineSeconds": 0–600}`, answered like acknowledge); the list answers
//! (`{"topics": [{"name"}]}`, `{"subscriptions": [{"name", "topic", "ackDeadlineSeconds"}]}`);
//! a duplicate create answering 409 with code 6 (`ALREADY_EXISTS`, message "duplicate ...");
//! that a message past `maxDeliveryAttempt` deliveries is dropped; that an ack id stays
//! valid until the message is delivered again (a redelivered message's older ack ids are
//! refused with code 3).
//!
//! [`KakaoPubSubSim::unavailable_next`] makes the next calls answer 503 with code 14.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct KakaoPubSubSimConfig {
    /// Access keys: (credential id, credential secret, domain id, project id).
    pub access_keys: Vec<(String, String, String, String)>,
}

impl Default for KakaoPubSubSimConfig {
    fn default() -> Self {
        KakaoPubSubSimConfig {
            access_keys: vec![(
                "kakao-ps-ak-1".into(),
                "kakao-ps-sk-1".into(),
                "d0c1a2b3c4d5e6f708192a3b4c5d6e7f".into(),
                "p0f1e2d3c4b5a69788796a5b4c3d2e1f".into(),
            )],
        }
    }
}

/// One stored message of one subscription.
#[derive(Debug, Clone)]
struct Msg {
    id: String,
    data: String,
    attributes: BTreeMap<String, String>,
    publish_time: String,
    attempts: u32,
    visible_at: Instant,
    ack_id: Option<String>,
}

#[derive(Debug)]
struct Sub {
    topic: String,
    ack_deadline: u64,
    max_attempts: Option<u32>,
    messages: Vec<Msg>,
}

#[derive(Default)]
struct State {
    /// (project, topic) → created.
    topics: HashMap<(String, String), ()>,
    /// (project, subscription) → subscription.
    subs: HashMap<(String, String), Sub>,
    next_id: u64,
    unavailable: u32,
    requests: u64,
}

struct Shared {
    cfg: KakaoPubSubSimConfig,
    st: Mutex<State>,
}

/// A running simulator (stops when dropped).
pub struct KakaoPubSubSim {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for KakaoPubSubSim {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for KakaoPubSubSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KakaoPubSubSim")
            .field("addr", &self.addr)
            .finish()
    }
}

type Resp = Response<Full<Bytes>>;

fn reply(status: StatusCode, v: Value) -> Resp {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(v.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn err(code: i64, message: &str) -> Resp {
    let status = match code {
        3 | 9 => StatusCode::BAD_REQUEST,
        5 => StatusCode::NOT_FOUND,
        6 => StatusCode::CONFLICT,
        7 => StatusCode::FORBIDDEN,
        14 => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    reply(status, json!({"error": {"code": code, "message": message}}))
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 255
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// `"3s"` / `"1.5s"` → duration.
fn parse_wait(v: &Value) -> Option<Duration> {
    let s = v.as_str()?.strip_suffix('s')?;
    let secs: f64 = s.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

impl KakaoPubSubSim {
    /// Start on `127.0.0.1:0`.
    pub async fn start(cfg: KakaoPubSubSimConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            cfg,
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
        Ok(KakaoPubSubSim { addr, shared, task })
    }

    /// The endpoint (`http://127.0.0.1:PORT`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// The first access key: (credential id, credential secret, domain id, project id).
    pub fn access_key(&self) -> (String, String, String, String) {
        self.shared.cfg.access_keys[0].clone()
    }
    /// Requests served so far.
    pub fn requests(&self) -> u64 {
        self.shared.st.lock().map(|s| s.requests).unwrap_or(0)
    }
    /// Make the next `n` calls answer 503 with code 14 (`UNAVAILABLE`).
    pub fn unavailable_next(&self, n: u32) {
        if let Ok(mut s) = self.shared.st.lock() {
            s.unavailable = n;
        }
    }
    /// Messages held by subscription `sub` of the first project (delivered or not).
    pub fn backlog(&self, sub: &str) -> usize {
        let project = self.shared.cfg.access_keys[0].3.clone();
        self.shared
            .st
            .lock()
            .ok()
            .and_then(|s| {
                s.subs
                    .get(&(project, sub.to_string()))
                    .map(|x| x.messages.len())
            })
            .unwrap_or(0)
    }
}

async fn handle(sh: &Arc<Shared>, req: Request<Incoming>) -> Resp {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (id, secret) = (header("credential-id"), header("credential-secret"));
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return err(3, "unreadable request body"),
    };
    {
        let Ok(mut st) = sh.st.lock() else {
            return err(13, "state poisoned");
        };
        st.requests += 1;
        if st.unavailable > 0 {
            st.unavailable -= 1;
            return err(14, "the service is temporarily unavailable");
        }
    }
    // /v1/domains/{d}/projects/{p}/{kind}[/{name}[/{action}]]
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    if segs.len() < 5 || segs[0] != "v1" || segs[1] != "domains" || segs[3] != "projects" {
        return err(5, "not a Pub/Sub REST path");
    }
    let (domain, project) = (segs[2], segs[4]);
    let authorized = sh.cfg.access_keys.iter().any(|(i, s, d, p)| {
        Some(i.as_str()) == id.as_deref()
            && Some(s.as_str()) == secret.as_deref()
            && d == domain
            && p == project
    });
    if !authorized {
        return err(7, "the certification is invalid");
    }
    let json: Value = if body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return err(3, "the request body is not JSON"),
        }
    };
    let project = project.to_string();
    let rest = &segs[5..];
    let mut wait_until = None;
    loop {
        let r = {
            let Ok(mut st) = sh.st.lock() else {
                return err(13, "state poisoned");
            };
            route(&mut st, &method, &project, rest, &json, &mut wait_until)
        };
        match r {
            Some(resp) => return resp,
            // An empty long-poll: look again shortly (bounded by the request's waitTime).
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// One attempt at a request; `None` means "pull found nothing yet, wait and try again".
fn route(
    st: &mut State,
    method: &Method,
    project: &str,
    rest: &[&str],
    body: &Value,
    wait_until: &mut Option<Instant>,
) -> Option<Resp> {
    let key = |n: &str| (project.to_string(), n.to_string());
    Some(match (method, rest) {
        (&Method::GET, ["topics"]) => {
            let mut names: Vec<&String> = st
                .topics
                .keys()
                .filter(|(p, _)| p == project)
                .map(|(_, n)| n)
                .collect();
            names.sort();
            reply(
                StatusCode::OK,
                json!({"topics": names.iter().map(|n| json!({"name": n})).collect::<Vec<_>>()}),
            )
        }
        (&Method::PUT, ["topics", name]) => {
            if !valid_name(name) {
                return Some(err(3, "invalid topic name"));
            }
            if st.topics.contains_key(&key(name)) {
                return Some(err(6, "duplicate topic name"));
            }
            st.topics.insert(key(name), ());
            reply(StatusCode::OK, json!({"name": name}))
        }
        (&Method::GET, ["topics", name]) => {
            if !st.topics.contains_key(&key(name)) {
                return Some(err(5, "topic not found"));
            }
            reply(StatusCode::OK, json!({"name": name}))
        }
        (&Method::DELETE, ["topics", name]) => {
            if st.topics.remove(&key(name)).is_none() {
                return Some(err(5, "topic not found"));
            }
            reply(StatusCode::OK, json!({}))
        }
        (&Method::POST, ["topics", name, "publish"]) => {
            if !st.topics.contains_key(&key(name)) {
                return Some(err(5, "topic not found"));
            }
            let Some(msgs) = body.get("messages").and_then(|m| m.as_array()) else {
                return Some(err(3, "messages is required"));
            };
            if msgs.is_empty() {
                return Some(err(3, "messages must not be empty"));
            }
            use base64::Engine;
            let mut parsed = Vec::new();
            for m in msgs {
                let data = m.get("data").and_then(|d| d.as_str()).unwrap_or("");
                if base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .is_err()
                {
                    return Some(err(3, "data is not valid base64"));
                }
                let mut attributes = BTreeMap::new();
                if let Some(a) = m.get("attributes").and_then(|a| a.as_object()) {
                    for (k, v) in a {
                        let Some(v) = v.as_str() else {
                            return Some(err(3, "attribute values must be strings"));
                        };
                        attributes.insert(k.clone(), v.to_string());
                    }
                }
                parsed.push((data.to_string(), attributes));
            }
            let now = Instant::now();
            let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let mut ids = Vec::new();
            for (data, attributes) in parsed {
                st.next_id += 1;
                let id = format!("{}", 1_000_000 + st.next_id);
                for ((p, _), s) in st.subs.iter_mut() {
                    if p != project || s.topic != *name {
                        continue;
                    }
                    s.messages.push(Msg {
                        id: id.clone(),
                        data: data.clone(),
                        attributes: attributes.clone(),
                        publish_time: time.clone(),
                        attempts: 0,
                        visible_at: now,
                        ack_id: None,
                    });
                }
                ids.push(id);
            }
            reply(StatusCode::OK, json!({"messageIds": ids}))
        }
        (&Method::GET, ["subscriptions"]) => {
            let mut v: Vec<(&String, &Sub)> = st
                .subs
                .iter()
                .filter(|((p, _), _)| p == project)
                .map(|((_, n), s)| (n, s))
                .collect();
            v.sort_by(|a, b| a.0.cmp(b.0));
            reply(
                StatusCode::OK,
                json!({"subscriptions": v.iter().map(|(n, s)| json!({
                    "name": n, "topic": s.topic, "ackDeadlineSeconds": s.ack_deadline
                })).collect::<Vec<_>>()}),
            )
        }
        (&Method::PUT, ["subscriptions", name]) => {
            let Some(spec) = body.get("subscription") else {
                return Some(err(3, "subscription is required"));
            };
            if !valid_name(name) {
                return Some(err(3, "invalid subscription name"));
            }
            let topic = spec.get("topic").and_then(|t| t.as_str()).unwrap_or("");
            if !st.topics.contains_key(&key(topic)) {
                return Some(err(5, "topic not found"));
            }
            let deadline = spec
                .get("ackDeadlineSeconds")
                .and_then(|d| d.as_u64())
                .unwrap_or(10);
            if !(10..=600).contains(&deadline) {
                return Some(err(3, "ackDeadlineSeconds must be between 10 and 600"));
            }
            let max_attempts = match spec.get("maxDeliveryAttempt").and_then(|d| d.as_u64()) {
                None => None,
                Some(n) if (1..=100).contains(&n) => Some(n as u32),
                Some(_) => return Some(err(3, "maxDeliveryAttempt must be between 1 and 100")),
            };
            if st.subs.contains_key(&key(name)) {
                return Some(err(6, "duplicate subscription name"));
            }
            st.subs.insert(
                key(name),
                Sub {
                    topic: topic.to_string(),
                    ack_deadline: deadline,
                    max_attempts,
                    messages: Vec::new(),
                },
            );
            reply(
                StatusCode::OK,
                json!({"name": name, "topic": topic, "ackDeadlineSeconds": deadline}),
            )
        }
        (&Method::GET, ["subscriptions", name]) => match st.subs.get(&key(name)) {
            None => err(5, "subscription not found"),
            Some(s) => reply(
                StatusCode::OK,
                json!({"name": name, "topic": s.topic, "ackDeadlineSeconds": s.ack_deadline}),
            ),
        },
        (&Method::DELETE, ["subscriptions", name]) => {
            if st.subs.remove(&key(name)).is_none() {
                return Some(err(5, "subscription not found"));
            }
            reply(StatusCode::OK, json!({}))
        }
        (&Method::POST, ["subscriptions", name, "pull"]) => {
            let max = match body.get("maxMessages").and_then(|m| m.as_u64()) {
                Some(n) if (1..=100).contains(&n) => n as usize,
                _ => return Some(err(3, "maxMessages must be between 1 and 100")),
            };
            let wait = match body.get("waitTime") {
                None => Duration::ZERO,
                Some(w) => match parse_wait(w) {
                    Some(d) if d <= Duration::from_secs(30) => d,
                    _ => return Some(err(3, "waitTime must be like \"3s\", at most 30s")),
                },
            };
            let until = *wait_until.get_or_insert_with(|| Instant::now() + wait);
            let n = st.next_id;
            let Some(sub) = st.subs.get_mut(&key(name)) else {
                return Some(err(5, "subscription not found"));
            };
            let now = Instant::now();
            // Messages whose deadline passed after their last delivery attempt are dropped.
            if let Some(max_attempts) = sub.max_attempts {
                sub.messages
                    .retain(|m| !(m.attempts >= max_attempts && m.visible_at <= now));
            }
            let mut out = Vec::new();
            for (i, m) in sub.messages.iter_mut().enumerate() {
                if out.len() >= max {
                    break;
                }
                if m.visible_at > now {
                    continue;
                }
                m.attempts += 1;
                m.visible_at = now + Duration::from_secs(sub.ack_deadline);
                let ack = format!("ack-{}-{}-{}-{}", name, m.id, m.attempts, n + i as u64);
                m.ack_id = Some(ack.clone());
                out.push(json!({
                    "ackId": ack,
                    "message": {
                        "data": m.data,
                        "attributes": m.attributes,
                        "messageId": m.id,
                        "publishTime": m.publish_time,
                    },
                    "deliveryAttempt": m.attempts,
                }));
            }
            st.next_id += out.len() as u64;
            if out.is_empty() && Instant::now() < until {
                return None;
            }
            reply(StatusCode::OK, json!({"receivedMessages": out}))
        }
        (
            &Method::POST,
            ["subscriptions", name, action @ ("acknowledge" | "modifyAckDeadline")],
        ) => {
            let Some(ids) = body.get("ackIds").and_then(|a| a.as_array()) else {
                return Some(err(3, "ackIds is required"));
            };
            let deadline = if *action == "modifyAckDeadline" {
                match body.get("ackDeadlineSeconds").and_then(|d| d.as_u64()) {
                    Some(d) if d <= 600 => Some(d),
                    _ => return Some(err(3, "ackDeadlineSeconds must be between 0 and 600")),
                }
            } else {
                None
            };
            let Some(sub) = st.subs.get_mut(&key(name)) else {
                return Some(err(5, "subscription not found"));
            };
            let now = Instant::now();
            let mut failure = Vec::new();
            for id in ids {
                let id = id.as_str().unwrap_or("");
                let pos = sub
                    .messages
                    .iter()
                    .position(|m| m.ack_id.as_deref() == Some(id));
                match (pos, deadline) {
                    (Some(i), None) => {
                        sub.messages.remove(i);
                    }
                    (Some(i), Some(d)) => {
                        sub.messages[i].visible_at = now + Duration::from_secs(d);
                    }
                    (None, _) => failure.push(json!({
                        "ackID": id,
                        "error": {"code": 3, "message": format!("you have passed an invalid ack ID to the service (ack_id={id})")}
                    })),
                }
            }
            reply(StatusCode::OK, json!({"failure": failure}))
        }
        _ => err(5, "not a Pub/Sub REST path"),
    })
}
