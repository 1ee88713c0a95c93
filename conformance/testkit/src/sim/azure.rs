//! An in-process Azure Resource Manager simulator for Virtual Machines, written from the
//! ARM / Compute / Network REST API reference. It is a test tool: it binds 127.0.0.1:0.
//!
//! What it checks and does, like ARM:
//! * serves the Entra ID v2 token endpoint (`POST /{tenant}/oauth2/v2.0/token`,
//!   client-credentials grant, `AADSTS` errors) and requires a valid, unexpired bearer token
//!   on every ARM call (`AuthenticationFailed`, `InvalidAuthenticationToken`,
//!   `ExpiredAuthenticationToken`);
//! * requires a known `api-version` per resource provider (`MissingApiVersionParameter`,
//!   `InvalidApiVersionParameter`), the subscription and the resource group
//!   (`SubscriptionNotFound`, `ResourceGroupNotFound`);
//! * VMs: PUT returns 201 + `Azure-AsyncOperation`, `provisioningState` walks
//!   `Creating → Succeeded` and the power state `starting → running`; start / powerOff /
//!   deallocate / restart return 202 and walk `starting`, `stopping → stopped`,
//!   `deallocating → deallocated`; DELETE walks `Deleting` then removes the VM and (with
//!   `deleteOption: Delete`) its NIC; conflicting operations give 409 `OperationNotAllowed`;
//!   `$expand=instanceView|userData`; list with `nextLink` paging;
//! * validates size (`InvalidParameter`), image, OS profile credentials, NIC reference
//!   (`InvalidResourceReference`), user data (base64);
//! * image sku `fail-provisioning` makes the create operation fail with
//!   `OSProvisioningTimedOut` (provisioningState `Failed`);
//! * errors have ARM's body `{"error":{"code","message"}}` and `x-ms-request-id`.

use base64::prelude::{Engine, BASE64_STANDARD};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Simulator settings.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Subscription id.
    pub subscription: String,
    /// Resource groups that exist.
    pub resource_groups: Vec<String>,
    /// Location (region).
    pub location: String,
    /// Entra ID tenant.
    pub tenant: String,
    /// Client (application) id.
    pub client_id: String,
    /// Client secret.
    pub client_secret: String,
    /// How long each long-running operation takes.
    pub op_duration: Duration,
    /// Lifetime of issued tokens.
    pub token_ttl: Duration,
    /// Page size of VM lists.
    pub page_size: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            subscription: "00000000-0000-0000-0000-00000000c0de".into(),
            resource_groups: vec!["gureum-rg".into()],
            location: "koreacentral".into(),
            tenant: "11111111-2222-3333-4444-555555555555".into(),
            client_id: "gureum-sim-client".into(),
            client_secret: "sim-secret-value".into(),
            op_duration: Duration::from_millis(150),
            token_ttl: Duration::from_secs(3600),
            page_size: 2,
        }
    }
}

const COMPUTE_VERSIONS: &[&str] = &[
    "2021-03-01",
    "2022-08-01",
    "2023-03-01",
    "2024-03-01",
    "2024-07-01",
];
const NETWORK_VERSIONS: &[&str] = &["2023-04-01", "2023-09-01", "2024-01-01", "2024-05-01"];

/// (name, cores, memory MiB)
const SIZES: &[(&str, u64, u64)] = &[
    ("Standard_B1s", 1, 1024),
    ("Standard_B1ms", 1, 2048),
    ("Standard_B2s", 2, 4096),
    ("Standard_B2ms", 2, 8192),
    ("Standard_B4ms", 4, 16384),
    ("Standard_D2s_v5", 2, 8192),
    ("Standard_D4s_v5", 4, 16384),
    ("Standard_D8s_v5", 8, 32768),
    ("Standard_F2s_v2", 2, 4096),
    ("Standard_E2s_v5", 2, 16384),
];

#[derive(Debug)]
struct Transition {
    done_at: Instant,
    prov: &'static str,
    power: &'static str,
    delete: bool,
}

#[derive(Debug)]
struct Vm {
    name: String,
    tags: Value,
    properties: Value,
    user_data: Option<String>,
    prov: &'static str,
    power: &'static str,
    pending: Option<Transition>,
    created: String,
    vm_id: String,
}

#[derive(Debug)]
struct Op {
    started: String,
    done_at: Instant,
    error: Option<(String, String)>,
}

#[derive(Debug, Default)]
struct State {
    vms: BTreeMap<String, Vm>,
    nics: BTreeMap<String, Value>,
    ops: HashMap<String, Op>,
    tokens: HashMap<String, Instant>,
    next_ip: u32,
    tokens_issued: u64,
    requests: u64,
}

/// A running simulator; stops when dropped.
#[derive(Debug)]
pub struct ArmSimulator {
    addr: SocketAddr,
    config: SimConfig,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ArmSimulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ArmSimulator {
    /// Start on 127.0.0.1 with an ephemeral port.
    pub async fn start(config: SimConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            next_ip: 4,
            ..Default::default()
        }));
        let base = format!("http://{addr}");
        let (st, cfg) = (state.clone(), config.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (st, cfg, base) = (st.clone(), cfg.clone(), base.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: Request<Incoming>| {
                        let (st, cfg, base) = (st.clone(), cfg.clone(), base.clone());
                        async move { Ok::<_, Infallible>(handle(&st, &cfg, &base, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Ok(ArmSimulator {
            addr,
            config,
            state,
            task,
        })
    }

    /// `http://127.0.0.1:PORT` (ARM endpoint and authority host).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The settings.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// An `azvm://` URL for the first resource group with the simulator's credentials.
    pub fn compute_url(&self) -> String {
        let c = &self.config;
        format!(
            "azvm://{}/{}?location={}&endpoint={}&authority_host={}&tenant_id={}&client_id={}&client_secret={}&poll_ms=20&ssh_public_key=ssh-ed25519%20AAAAC3NzaSim%20sim",
            c.subscription,
            c.resource_groups[0],
            c.location,
            self.endpoint(),
            self.endpoint(),
            c.tenant,
            c.client_id,
            c.client_secret
        )
    }

    /// Number of tokens issued so far.
    pub fn tokens_issued(&self) -> u64 {
        self.state.lock().map(|s| s.tokens_issued).unwrap_or(0)
    }

    /// Number of requests served so far.
    pub fn requests(&self) -> u64 {
        self.state.lock().map(|s| s.requests).unwrap_or(0)
    }

    /// Number of network interfaces that exist.
    pub fn nic_count(&self) -> usize {
        self.state.lock().map(|s| s.nics.len()).unwrap_or(0)
    }

    /// Expire every issued token (to test re-authentication).
    pub fn expire_tokens(&self) {
        if let Ok(mut s) = self.state.lock() {
            for v in s.tokens.values_mut() {
                *v = Instant::now();
            }
        }
    }
}

type Resp = Response<Full<Bytes>>;

fn reply(status: u16, body: Option<Value>, headers: &[(&str, String)]) -> Resp {
    let mut b = Response::builder()
        .status(status)
        .header("x-ms-request-id", uuid::Uuid::new_v4().to_string())
        .header(
            "x-ms-correlation-request-id",
            uuid::Uuid::new_v4().to_string(),
        );
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    let bytes = match body {
        Some(v) => {
            b = b.header("content-type", "application/json; charset=utf-8");
            Bytes::from(v.to_string())
        }
        None => Bytes::new(),
    };
    b.body(Full::new(bytes))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn arm_error(status: u16, code: &str, message: &str) -> Resp {
    reply(
        status,
        Some(json!({"error": {"code": code, "message": message}})),
        &[],
    )
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn advance(vm: &mut Vm) -> bool {
    if let Some(t) = &vm.pending {
        if t.done_at <= Instant::now() {
            let delete = t.delete;
            vm.prov = t.prov;
            vm.power = t.power;
            vm.pending = None;
            return delete;
        }
    }
    false
}

fn advance_all(s: &mut State) {
    let mut gone = Vec::new();
    for (k, vm) in s.vms.iter_mut() {
        if advance(vm) {
            gone.push(k.clone());
        }
    }
    for k in gone {
        if let Some(vm) = s.vms.remove(&k) {
            if let Some(nics) = vm.properties["networkProfile"]["networkInterfaces"].as_array() {
                for n in nics {
                    if n["properties"]["deleteOption"].as_str() == Some("Delete") {
                        if let Some(id) = n["id"].as_str() {
                            s.nics.remove(&id.to_ascii_lowercase());
                        }
                    }
                }
            }
        }
    }
}

fn vm_json(vm: &Vm, base_path: &str, location: &str, expand: Option<&str>) -> Value {
    let mut props = vm.properties.clone();
    props["provisioningState"] = json!(vm.prov);
    props["vmId"] = json!(vm.vm_id);
    props["timeCreated"] = json!(vm.created);
    if let Some(os) = props.get_mut("osProfile").and_then(|o| o.as_object_mut()) {
        os.remove("adminPassword");
    }
    if let Some(p) = props.as_object_mut() {
        p.remove("userData");
    }
    match expand {
        Some("instanceView") => {
            props["instanceView"] = json!({
                "computerName": props["osProfile"]["computerName"],
                "statuses": [
                    {"code": format!("ProvisioningState/{}", vm.prov.to_ascii_lowercase()), "level": "Info",
                     "displayStatus": format!("Provisioning {}", vm.prov.to_ascii_lowercase())},
                    {"code": format!("PowerState/{}", vm.power), "level": "Info",
                     "displayStatus": format!("VM {}", vm.power)}
                ]
            });
        }
        Some("userData") => {
            props["userData"] = json!(vm.user_data.clone().unwrap_or_default());
        }
        _ => {}
    }
    json!({
        "name": vm.name,
        "id": format!("{base_path}/{}", vm.name),
        "type": "Microsoft.Compute/virtualMachines",
        "location": location,
        "tags": vm.tags,
        "properties": props,
    })
}

async fn handle(
    st: &Arc<Mutex<State>>,
    cfg: &SimConfig,
    base: &str,
    req: Request<Incoming>,
) -> Resp {
    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return arm_error(
                400,
                "InvalidRequestContent",
                "could not read the request body",
            )
        }
    };
    let Ok(mut s) = st.lock() else {
        return arm_error(500, "InternalServerError", "simulator state poisoned");
    };
    s.requests += 1;
    advance_all(&mut s);
    let path = parts.uri.path().to_string();
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();

    // Entra ID token endpoint
    if parts.method == hyper::Method::POST
        && segs.len() == 4
        && segs[1] == "oauth2"
        && segs[2] == "v2.0"
        && segs[3] == "token"
    {
        return token(&mut s, cfg, segs[0], &body);
    }

    // Bearer auth
    let auth = parts
        .headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(tok) = auth.strip_prefix("Bearer ") else {
        return arm_error(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        );
    };
    match s.tokens.get(tok) {
        None => {
            return arm_error(
                401,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
            )
        }
        Some(exp) if *exp <= Instant::now() => {
            return arm_error(
                401,
                "ExpiredAuthenticationToken",
                "The access token expiry UTC time is earlier than current UTC time.",
            )
        }
        _ => {}
    }

    // /subscriptions/{sub}/...
    if segs.len() < 2 || !segs[0].eq_ignore_ascii_case("subscriptions") {
        return arm_error(
            404,
            "InvalidResourceType",
            "The resource type could not be found.",
        );
    }
    if segs[1] != cfg.subscription {
        return arm_error(
            404,
            "SubscriptionNotFound",
            &format!("The subscription '{}' could not be found.", segs[1]),
        );
    }
    let provider = segs
        .iter()
        .position(|p| p.eq_ignore_ascii_case("providers"))
        .and_then(|i| segs.get(i + 1))
        .map(|p| p.to_ascii_lowercase())
        .unwrap_or_default();
    let versions = match provider.as_str() {
        "microsoft.compute" => COMPUTE_VERSIONS,
        "microsoft.network" => NETWORK_VERSIONS,
        _ => {
            return arm_error(
                400,
                "InvalidResourceNamespace",
                "The resource namespace is invalid.",
            )
        }
    };
    match query.get("api-version") {
        None => {
            return arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        }
        Some(v) if !versions.contains(&v.as_str()) => {
            return arm_error(
                400,
                "InvalidApiVersionParameter",
                &format!(
                    "The api-version '{v}' is invalid. The supported versions are '{}'.",
                    versions.join(",")
                ),
            )
        }
        _ => {}
    }
    let api = query.get("api-version").cloned().unwrap_or_default();

    // Subscription-level: locations/{loc}/vmSizes | operations/{id}
    if segs.len() >= 7
        && segs[2].eq_ignore_ascii_case("providers")
        && segs[4].eq_ignore_ascii_case("locations")
    {
        if segs[6].eq_ignore_ascii_case("vmSizes") && parts.method == hyper::Method::GET {
            let v: Vec<Value> = SIZES
                .iter()
                .map(|(n, c, m)| json!({"name": n, "numberOfCores": c, "memoryInMB": m, "maxDataDiskCount": 4, "osDiskSizeInMB": 1047552, "resourceDiskSizeInMB": 0}))
                .collect();
            return reply(200, Some(json!({"value": v})), &[]);
        }
        if segs[6].eq_ignore_ascii_case("operations")
            && segs.len() == 8
            && parts.method == hyper::Method::GET
        {
            let Some(op) = s.ops.get(segs[7]) else {
                return arm_error(404, "NotFound", "The operation was not found.");
            };
            let done = op.done_at <= Instant::now();
            let mut v = json!({"name": segs[7], "startTime": op.started,
                               "status": if done { if op.error.is_some() { "Failed" } else { "Succeeded" } } else { "InProgress" }});
            if done {
                v["endTime"] = json!(now_rfc3339());
                if let Some((c, m)) = &op.error {
                    v["error"] = json!({"code": c, "message": m});
                }
            }
            return reply(200, Some(v), &[]);
        }
        return arm_error(
            404,
            "NotFound",
            "No HTTP resource was found that matches the request URI.",
        );
    }

    // Resource-group level
    if segs.len() < 6
        || !segs[2].eq_ignore_ascii_case("resourceGroups")
        || !segs[4].eq_ignore_ascii_case("providers")
    {
        return arm_error(
            404,
            "NotFound",
            "No HTTP resource was found that matches the request URI.",
        );
    }
    let rg = segs[3];
    if !cfg
        .resource_groups
        .iter()
        .any(|g| g.eq_ignore_ascii_case(rg))
    {
        return arm_error(
            404,
            "ResourceGroupNotFound",
            &format!("Resource group '{rg}' could not be found."),
        );
    }
    let rtype = segs
        .get(6)
        .map(|t| t.to_ascii_lowercase())
        .unwrap_or_default();
    let base_path = format!(
        "/subscriptions/{}/resourceGroups/{rg}/providers/{}/{}",
        cfg.subscription, segs[5], segs[6]
    );
    let op_url = |id: &str| {
        format!(
            "{base}/subscriptions/{}/providers/{}/locations/{}/operations/{id}?api-version={api}",
            cfg.subscription, segs[5], cfg.location
        )
    };
    match (provider.as_str(), rtype.as_str()) {
        ("microsoft.network", "networkinterfaces") if segs.len() == 8 => nic(
            &mut s,
            cfg,
            &parts.method,
            &base_path,
            segs[7],
            &body,
            &op_url,
        ),
        ("microsoft.compute", "virtualmachines") => vm_route(
            &mut s,
            cfg,
            &parts.method,
            &base_path,
            &segs[7..],
            &query,
            &body,
            &op_url,
            base,
        ),
        _ => arm_error(
            404,
            "InvalidResourceType",
            "The resource type could not be found in the namespace.",
        ),
    }
}

fn token(s: &mut State, cfg: &SimConfig, tenant: &str, body: &[u8]) -> Resp {
    let f: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let err = |status: u16, code: &str, desc: &str| {
        reply(
            status,
            Some(json!({"error": code, "error_description": desc, "error_codes": [0]})),
            &[],
        )
    };
    if tenant != cfg.tenant {
        return err(
            400,
            "invalid_request",
            &format!("AADSTS90002: Tenant '{tenant}' not found."),
        );
    }
    if f.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return err(
            400,
            "unsupported_grant_type",
            "AADSTS70003: The app requested an unsupported grant type.",
        );
    }
    if !f.get("scope").is_some_and(|sc| sc.ends_with("/.default")) {
        return err(
            400,
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid.",
        );
    }
    if f.get("client_id") != Some(&cfg.client_id) {
        return err(
            400,
            "unauthorized_client",
            "AADSTS700016: Application was not found in the directory.",
        );
    }
    if f.get("client_secret") != Some(&cfg.client_secret) {
        return err(
            401,
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided.",
        );
    }
    let t = format!("sim.{}", uuid::Uuid::new_v4().simple());
    s.tokens.insert(t.clone(), Instant::now() + cfg.token_ttl);
    s.tokens_issued += 1;
    let ttl = cfg.token_ttl.as_secs();
    reply(
        200,
        Some(
            json!({"token_type": "Bearer", "expires_in": ttl, "ext_expires_in": ttl, "access_token": t}),
        ),
        &[],
    )
}

fn new_op(s: &mut State, after: Duration, error: Option<(String, String)>) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    s.ops.insert(
        id.clone(),
        Op {
            started: now_rfc3339(),
            done_at: Instant::now() + after,
            error,
        },
    );
    id
}

fn nic(
    s: &mut State,
    cfg: &SimConfig,
    method: &hyper::Method,
    base_path: &str,
    name: &str,
    body: &[u8],
    op_url: &dyn Fn(&str) -> String,
) -> Resp {
    let id = format!("{base_path}/{name}");
    let key = id.to_ascii_lowercase();
    match *method {
        hyper::Method::GET => match s.nics.get(&key) {
            Some(v) => reply(200, Some(v.clone()), &[]),
            None => arm_error(404, "ResourceNotFound", &format!("The Resource 'Microsoft.Network/networkInterfaces/{name}' under resource group was not found.")),
        },
        hyper::Method::PUT => {
            let Ok(req) = serde_json::from_slice::<Value>(body) else {
                return arm_error(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.");
            };
            let subnet = req["properties"]["ipConfigurations"][0]["properties"]["subnet"]["id"].as_str().unwrap_or("");
            let sp: Vec<&str> = subnet.trim_matches('/').split('/').collect();
            if sp.len() != 10 || sp[1] != cfg.subscription || !sp[6].eq_ignore_ascii_case("virtualNetworks") || !sp[8].eq_ignore_ascii_case("subnets") {
                return arm_error(400, "InvalidResourceReference", &format!("Resource {subnet} referenced by resource {id} was not found."));
            }
            if req["location"].as_str() != Some(cfg.location.as_str()) {
                return arm_error(400, "LocationRequired", "The location property is required for this definition.");
            }
            let created = !s.nics.contains_key(&key);
            let ip = match s.nics.get(&key) {
                Some(v) => v["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"].as_str().unwrap_or("").to_string(),
                None => {
                    s.next_ip += 1;
                    format!("10.0.{}.{}", s.next_ip / 250, s.next_ip % 250)
                }
            };
            let v = json!({
                "name": name, "id": id, "type": "Microsoft.Network/networkInterfaces",
                "location": cfg.location, "tags": req["tags"],
                "properties": {"provisioningState": "Succeeded", "ipConfigurations": [{
                    "name": "ipconfig1", "id": format!("{id}/ipConfigurations/ipconfig1"),
                    "properties": {"provisioningState": "Succeeded", "privateIPAddress": ip,
                                   "privateIPAllocationMethod": "Dynamic", "subnet": {"id": subnet}, "primary": true}
                }]}
            });
            s.nics.insert(key, v.clone());
            let op = new_op(s, Duration::ZERO, None);
            reply(if created { 201 } else { 200 }, Some(v), &[("Azure-AsyncOperation", op_url(&op))])
        }
        hyper::Method::DELETE => {
            let in_use = s.vms.values().any(|vm| {
                vm.properties["networkProfile"]["networkInterfaces"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|n| n["id"].as_str().map(|i| i.to_ascii_lowercase()) == Some(key.clone())))
            });
            if in_use {
                return arm_error(400, "NicInUse", &format!("Network Interface {id} is used by existing resource. In order to delete the network interface, it must be dissociated from the resource."));
            }
            if s.nics.remove(&key).is_none() {
                return reply(204, None, &[]);
            }
            let op = new_op(s, Duration::ZERO, None);
            reply(202, None, &[("Azure-AsyncOperation", op_url(&op))])
        }
        _ => arm_error(405, "MethodNotAllowed", "The requested HTTP method is not supported."),
    }
}

#[allow(clippy::too_many_arguments)]
fn vm_route(
    s: &mut State,
    cfg: &SimConfig,
    method: &hyper::Method,
    base_path: &str,
    rest: &[&str],
    query: &HashMap<String, String>,
    body: &[u8],
    op_url: &dyn Fn(&str) -> String,
    base: &str,
) -> Resp {
    let expand = query.get("$expand").map(String::as_str);
    if let Some(e) = expand {
        if e != "instanceView" && e != "userData" {
            return arm_error(
                400,
                "InvalidParameter",
                &format!("The value '{e}' of parameter '$expand' is invalid."),
            );
        }
    }
    match (method.clone(), rest) {
        (hyper::Method::GET, []) => {
            let skip: usize = query
                .get("$skiptoken")
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let all: Vec<Value> = s
                .vms
                .values()
                .map(|vm| vm_json(vm, base_path, &cfg.location, None))
                .collect();
            let page: Vec<Value> = all
                .iter()
                .skip(skip)
                .take(cfg.page_size.max(1))
                .cloned()
                .collect();
            let mut v = json!({"value": page});
            if skip + cfg.page_size.max(1) < all.len() {
                v["nextLink"] = json!(format!(
                    "{base}{base_path}?api-version={}&$skiptoken={}",
                    query.get("api-version").cloned().unwrap_or_default(),
                    skip + cfg.page_size.max(1)
                ));
            }
            reply(200, Some(v), &[])
        }
        (hyper::Method::GET, [name]) => match s.vms.get(*name) {
            Some(vm) => reply(
                200,
                Some(vm_json(vm, base_path, &cfg.location, expand)),
                &[],
            ),
            None => not_found(name),
        },
        (hyper::Method::PUT, [name]) => create_vm(s, cfg, base_path, name, body, op_url),
        (hyper::Method::DELETE, [name]) => {
            let Some(vm) = s.vms.get_mut(*name) else {
                return reply(204, None, &[]);
            };
            if vm.prov == "Deleting" {
                let op = new_op(s, cfg.op_duration, None);
                return reply(
                    202,
                    None,
                    &[
                        ("Azure-AsyncOperation", op_url(&op)),
                        ("Location", op_url(&op)),
                    ],
                );
            }
            vm.prov = "Deleting";
            vm.pending = Some(Transition {
                done_at: Instant::now() + cfg.op_duration,
                prov: "Deleting",
                power: vm.power,
                delete: true,
            });
            let op = new_op(s, cfg.op_duration, None);
            reply(
                202,
                None,
                &[
                    ("Azure-AsyncOperation", op_url(&op)),
                    ("Location", op_url(&op)),
                ],
            )
        }
        (hyper::Method::POST, [name, action]) => {
            let Some(vm) = s.vms.get_mut(*name) else {
                return not_found(name);
            };
            if vm.pending.is_some() || vm.prov == "Deleting" {
                return arm_error(
                    409,
                    "OperationNotAllowed",
                    &format!("Operation '{action}' is not allowed on VM '{name}' since the VM is marked for deletion or another operation is in progress."),
                );
            }
            if vm.prov == "Failed" && *action != "deallocate" {
                return arm_error(409, "OperationNotAllowed", &format!("Operation '{action}' is not allowed on VM '{name}' since its provisioning state is Failed."));
            }
            let d = cfg.op_duration;
            let t = |power_now: &'static str, power_end: &'static str| (power_now, power_end);
            let (now, end) = match (*action, vm.power) {
                ("start", "running") => t("running", "running"),
                ("start", _) => t("starting", "running"),
                ("powerOff", "running" | "starting") => t("stopping", "stopped"),
                ("powerOff", p) => (p, p),
                ("deallocate", "deallocated") => t("deallocated", "deallocated"),
                ("deallocate", _) => t("deallocating", "deallocated"),
                ("restart", "running") => t("starting", "running"),
                ("restart", _) => {
                    return arm_error(
                        409,
                        "OperationNotAllowed",
                        &format!(
                            "Cannot restart the virtual machine '{name}' since it is not running."
                        ),
                    )
                }
                _ => {
                    return arm_error(
                        404,
                        "NotFound",
                        &format!("Action '{action}' is not supported on virtual machines."),
                    )
                }
            };
            if now != end {
                vm.power = now;
                vm.prov = "Updating";
                vm.pending = Some(Transition {
                    done_at: Instant::now() + d,
                    prov: "Succeeded",
                    power: end,
                    delete: false,
                });
            }
            let op = new_op(s, if now != end { d } else { Duration::ZERO }, None);
            reply(
                202,
                None,
                &[
                    ("Azure-AsyncOperation", op_url(&op)),
                    ("Location", op_url(&op)),
                ],
            )
        }
        _ => arm_error(
            405,
            "MethodNotAllowed",
            "The requested HTTP method is not supported.",
        ),
    }
}

fn not_found(name: &str) -> Resp {
    arm_error(
        404,
        "ResourceNotFound",
        &format!("The Resource 'Microsoft.Compute/virtualMachines/{name}' under resource group was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"),
    )
}

fn create_vm(
    s: &mut State,
    cfg: &SimConfig,
    base_path: &str,
    name: &str,
    body: &[u8],
    op_url: &dyn Fn(&str) -> String,
) -> Resp {
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return arm_error(
            400,
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized.",
        );
    };
    if let Some(vm) = s.vms.get_mut(name) {
        // PUT on an existing VM updates it (tags here).
        if req["tags"].is_object() {
            vm.tags = req["tags"].clone();
        }
        let op = new_op(s, Duration::ZERO, None);
        let vm = &s.vms[name];
        return reply(
            200,
            Some(vm_json(vm, base_path, &cfg.location, None)),
            &[("Azure-AsyncOperation", op_url(&op))],
        );
    }
    if req["location"].as_str() != Some(cfg.location.as_str()) {
        return arm_error(400, "InvalidParameter", &format!("The location '{}' is not available for resource type 'Microsoft.Compute/virtualMachines'.", req["location"].as_str().unwrap_or("")));
    }
    let p = &req["properties"];
    let size = p["hardwareProfile"]["vmSize"].as_str().unwrap_or("");
    if !SIZES.iter().any(|(n, ..)| *n == size) {
        return arm_error(
            400,
            "InvalidParameter",
            &format!("The requested VM size '{size}' is not available in the current region."),
        );
    }
    let img = &p["storageProfile"]["imageReference"];
    let img_ok = img["id"].as_str().is_some()
        || ["publisher", "offer", "sku", "version"]
            .iter()
            .all(|k| img[*k].as_str().is_some_and(|v| !v.is_empty()));
    if !img_ok {
        return arm_error(
            400,
            "InvalidParameter",
            "Required parameter 'imageReference' is missing or incomplete.",
        );
    }
    let os = &p["osProfile"];
    if os["adminUsername"].as_str().is_none_or(|u| u.is_empty()) {
        return arm_error(
            400,
            "InvalidParameter",
            "Required parameter 'adminUsername' is missing (null).",
        );
    }
    let has_key = os["linuxConfiguration"]["ssh"]["publicKeys"]
        .as_array()
        .is_some_and(|a| !a.is_empty());
    if !has_key && os["adminPassword"].as_str().is_none() {
        return arm_error(
            400,
            "InvalidParameter",
            "Required parameter 'adminPassword' is missing (null).",
        );
    }
    let nic_id = p["networkProfile"]["networkInterfaces"][0]["id"]
        .as_str()
        .unwrap_or("");
    if !s.nics.contains_key(&nic_id.to_ascii_lowercase()) {
        return arm_error(
            400,
            "InvalidResourceReference",
            &format!("Resource {nic_id} referenced by resource {base_path}/{name} was not found."),
        );
    }
    let user_data = p["userData"].as_str().map(str::to_string);
    if let Some(u) = &user_data {
        if BASE64_STANDARD.decode(u).is_err() {
            return arm_error(
                400,
                "InvalidParameter",
                "The value of parameter userData is invalid: it must be base64 encoded.",
            );
        }
        if u.len() > 87_380 {
            return arm_error(
                400,
                "InvalidParameter",
                "The userData exceeds the maximum size of 64 KB.",
            );
        }
    }
    let fail = img["sku"].as_str() == Some("fail-provisioning");
    let mut props = p.clone();
    if let Some(o) = props.as_object_mut() {
        o.remove("userData");
    }
    let vm = Vm {
        name: name.to_string(),
        tags: if req["tags"].is_object() {
            req["tags"].clone()
        } else {
            Value::Object(Map::new())
        },
        properties: props,
        user_data,
        prov: "Creating",
        power: "starting",
        pending: Some(Transition {
            done_at: Instant::now() + cfg.op_duration,
            prov: if fail { "Failed" } else { "Succeeded" },
            power: if fail { "stopped" } else { "running" },
            delete: false,
        }),
        created: now_rfc3339(),
        vm_id: uuid::Uuid::new_v4().to_string(),
    };
    let v = vm_json(&vm, base_path, &cfg.location, None);
    s.vms.insert(name.to_string(), vm);
    let err = fail.then(|| {
        (
            "OSProvisioningTimedOut".to_string(),
            "OS Provisioning for VM did not finish in the allotted time.".to_string(),
        )
    });
    let op = new_op(s, cfg.op_duration, err);
    reply(
        201,
        Some(v),
        &[
            ("Azure-AsyncOperation", op_url(&op)),
            ("Retry-After", "0".into()),
        ],
    )
}
