//! Azure Virtual Machines through Azure Resource Manager (ARM) REST:
//! `azvm://SUBSCRIPTION/RESOURCE-GROUP?location=koreacentral`.
//!
//! * Auth: Entra ID client-credentials token (`POST {authority}/{tenant}/oauth2/v2.0/token`,
//!   scope `{endpoint}/.default`) from a configurable authority host, cached until shortly
//!   before it expires; or a static bearer token (`AZURE_ACCESS_TOKEN`).
//! * Create: a network interface (`Microsoft.Network/networkInterfaces/{name}-nic` in the
//!   configured subnet), then the VM (`PUT .../virtualMachines/{name}`) with tags, userData
//!   and NIC/OS-disk `deleteOption: Delete`.
//! * Long-running operations (201/202 + `Azure-AsyncOperation`) are polled until
//!   `Succeeded`/`Failed`/`Canceled` (`?wait=false` returns right after acceptance).
//! * States: `provisioningState` + `PowerState/*` from the instance view map to
//!   [`InstanceState`] ([`map_state`]).
//! * The instance id is the VM name (unique in the resource group).

use crate::error::AzureErrors;
use async_trait::async_trait;
use base64::prelude::{Engine, BASE64_STANDARD};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use gureum_core::compute::{resolve_image, resolve_size};
use gureum_core::http::{Authorizer, HttpClient, HttpConfig, RequestOptions};
use gureum_core::url::{ComputeOpener, ResourceUrl};
use gureum_core::{
    Compute, ComputeCapabilities, ComputeDriver, Error, ErrorKind, ImageInfo, Instance,
    InstanceSpec, InstanceState, ListFilter, Result, SizeInfo,
};
use http::Method;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// `Microsoft.Compute` API version (supports `userData` and `$expand=userData`).
///
/// Example: see [`AzureCompute`].
pub const COMPUTE_API_VERSION: &str = "2024-07-01";
/// `Microsoft.Network` API version.
///
/// Example: see [`AzureCompute`].
pub const NETWORK_API_VERSION: &str = "2024-05-01";
/// Tag holding the idempotency token of a create.
///
/// Example: see [`AzureCompute`].
pub const TOKEN_TAG: &str = "gureum-idempotency-token";

/// Portable image aliases → marketplace image references (publisher, offer, sku).
///
/// Example: see [`AzureCompute`].
pub const IMAGE_ALIASES: &[(&str, &str, &str, &str)] = &[
    (
        "ubuntu-22.04",
        "Canonical",
        "0001-com-ubuntu-server-jammy",
        "22_04-lts-gen2",
    ),
    ("ubuntu-24.04", "Canonical", "ubuntu-24_04-lts", "server"),
    (
        "ubuntu-20.04",
        "Canonical",
        "0001-com-ubuntu-server-focal",
        "20_04-lts-gen2",
    ),
    ("debian-12", "Debian", "debian-12", "12-gen2"),
    ("debian-11", "Debian", "debian-11", "11-gen2"),
    ("rhel-9", "RedHat", "RHEL", "9-lvm-gen2"),
    ("almalinux-9", "almalinux", "almalinux-x86_64", "9-gen2"),
];

/// Map ARM `provisioningState` and the instance view's `PowerState/...` code to the portable
/// state machine.
///
/// Example: see [`AzureCompute`].
pub fn map_state(provisioning: &str, power: Option<&str>) -> InstanceState {
    match provisioning.to_ascii_lowercase().as_str() {
        "deleting" => return InstanceState::Terminating,
        "failed" => return InstanceState::Error,
        "deleted" => return InstanceState::Terminated,
        _ => {}
    }
    match power.map(|p| p.to_ascii_lowercase()) {
        Some(p) => match p.as_str() {
            "starting" => InstanceState::Pending,
            "running" => InstanceState::Running,
            "stopping" | "deallocating" => InstanceState::Stopping,
            "stopped" | "deallocated" => InstanceState::Stopped,
            _ => InstanceState::Pending,
        },
        None => InstanceState::Pending,
    }
}

/// How ARM requests are authorized.
enum ArmAuth {
    ClientSecret {
        authority: url::Url,
        tenant: String,
        client_id: String,
        secret: SecretString,
        scope: String,
    },
    Static(SecretString),
}

impl fmt::Debug for ArmAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArmAuth::ClientSecret {
                authority,
                tenant,
                client_id,
                ..
            } => write!(
                f,
                "ClientSecret {{ authority: {authority}, tenant: {tenant}, client_id: {client_id}, secret: *** }}"
            ),
            ArmAuth::Static(_) => f.write_str("Static(***)"),
        }
    }
}

struct CachedToken {
    token: SecretString,
    expires: Instant,
}

/// The ARM auth hook: a bearer token (cached client-credentials token or a static one) and a
/// fresh `x-ms-client-request-id` on every attempt; a 401 drops the cached token once.
struct ArmToken {
    http: reqwest::Client,
    auth: ArmAuth,
    token: Mutex<Option<CachedToken>>,
}

impl fmt::Debug for ArmToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.auth.fmt(f)
    }
}

impl ArmToken {
    async fn bearer(&self) -> Result<String> {
        match &self.auth {
            ArmAuth::Static(t) => Ok(t.expose_secret().to_string()),
            ArmAuth::ClientSecret {
                authority,
                tenant,
                client_id,
                secret,
                scope,
            } => {
                let mut cached = self.token.lock().await;
                if let Some(c) = cached.as_ref() {
                    if c.expires > Instant::now() + Duration::from_secs(60) {
                        return Ok(c.token.expose_secret().to_string());
                    }
                }
                let mut u = authority.clone();
                u.path_segments_mut()
                    .map_err(|_| Error::invalid("authority host is not a base URL"))?
                    .pop_if_empty()
                    .extend([tenant.as_str(), "oauth2", "v2.0", "token"]);
                let resp = self
                    .http
                    .post(u)
                    .form(&[
                        ("grant_type", "client_credentials"),
                        ("client_id", client_id.as_str()),
                        ("client_secret", secret.expose_secret()),
                        ("scope", scope.as_str()),
                    ])
                    .send()
                    .await
                    .map_err(|e| {
                        let e = e.without_url();
                        let kind = if e.is_timeout() {
                            ErrorKind::Timeout
                        } else {
                            ErrorKind::Unavailable
                        };
                        Error::new(kind, format!("Entra ID token request: {e}")).with_source(e)
                    })?;
                let status = resp.status().as_u16();
                let body = read_token_body(resp).await?;
                if status != 200 {
                    let code = body["error"].as_str().unwrap_or("token_error").to_string();
                    let desc = body["error_description"].as_str().unwrap_or("");
                    let first = desc.lines().next().unwrap_or("");
                    return Err(Error::new(
                        ErrorKind::Unauthenticated,
                        format!("Entra ID token request: HTTP {status}: {first}"),
                    )
                    .with_provider_code(code));
                }
                let token = body["access_token"]
                    .as_str()
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::Unauthenticated,
                            "token response has no access_token",
                        )
                    })?
                    .to_string();
                let ttl = body["expires_in"]
                    .as_u64()
                    .or_else(|| body["expires_in"].as_str().and_then(|s| s.parse().ok()))
                    .unwrap_or(3600)
                    // A lifetime beyond a day is not a real token's: hold it to one day
                    // (an absurd `expires_in` must not overflow the clock).
                    .min(86_400);
                *cached = Some(CachedToken {
                    token: SecretString::from(token.clone()),
                    expires: Instant::now() + Duration::from_secs(ttl),
                });
                Ok(token)
            }
        }
    }
}

#[async_trait]
impl Authorizer for ArmToken {
    async fn authorize(&self, req: &mut reqwest::Request) -> Result<()> {
        let token = self.bearer().await?;
        let mut v: http::HeaderValue = format!("Bearer {token}")
            .parse()
            .map_err(|_| Error::new(ErrorKind::Unauthenticated, "malformed token"))?;
        v.set_sensitive(true);
        let h = req.headers_mut();
        h.insert(http::header::AUTHORIZATION, v);
        h.insert(
            "x-ms-client-request-id",
            http::HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                .expect("a UUID is a header value"),
        );
        Ok(())
    }

    async fn refresh(&self, _sent: &http::HeaderMap) -> Result<bool> {
        match self.auth {
            ArmAuth::Static(_) => Ok(false),
            ArmAuth::ClientSecret { .. } => {
                *self.token.lock().await = None;
                Ok(true)
            }
        }
    }
}

/// An ARM REST client scoped to one subscription and resource group, on the shared HTTP
/// layer ([`gureum_core::http`]).
///
/// Example: see [`AzureCompute`].
pub struct ArmClient {
    http: HttpClient,
    endpoint: url::Url,
    subscription: String,
    resource_group: String,
    auth: Arc<ArmToken>,
    poll: Duration,
    op_timeout: Duration,
}

impl fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArmClient")
            .field("endpoint", &self.endpoint.as_str())
            .field("subscription", &self.subscription)
            .field("resource_group", &self.resource_group)
            .field("auth", &self.auth)
            .finish()
    }
}

/// An ARM response.
struct ArmResponse {
    status: u16,
    headers: http::HeaderMap,
    body: Value,
}

impl ArmClient {
    fn rg_path(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}",
            self.subscription, self.resource_group
        )
    }

    fn vm_path(&self, name: &str) -> String {
        format!(
            "{}/providers/Microsoft.Compute/virtualMachines/{name}",
            self.rg_path()
        )
    }

    fn nic_path(&self, name: &str) -> String {
        format!(
            "{}/providers/Microsoft.Network/networkInterfaces/{name}",
            self.rg_path()
        )
    }

    async fn call(
        &self,
        what: &str,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<ArmResponse> {
        let mut u = self.endpoint.clone();
        u.set_path(path);
        {
            let mut q = u.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        self.call_url(what, method, u, body).await
    }

    /// Send one ARM call. Every ARM call gureum makes is idempotent (GET, PUT of a named
    /// resource, DELETE, and the start/powerOff/deallocate/restart actions), so all are
    /// retried by the shared layer on throttling (429, `Retry-After`) and 5xx.
    async fn call_url(
        &self,
        what: &str,
        method: Method,
        u: url::Url,
        body: Option<Value>,
    ) -> Result<ArmResponse> {
        let mut req = self.http.request(method.clone(), u);
        if let Some(b) = &body {
            req = req.json(b);
        } else if method == Method::POST || method == Method::PUT {
            req = req.header(http::header::CONTENT_LENGTH, "0");
        }
        let req = req
            .build()
            .map_err(|e| Error::invalid(format!("{what}: invalid request: {}", e.without_url())))?;
        let r = self
            .http
            .send_bytes(req, &RequestOptions::new(what).idempotent(true))
            .await?;
        let body = if r.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&r.body)
                .map_err(|e| malformed(what, &format!("not JSON: {e}")))?
        };
        Ok(ArmResponse {
            status: r.status,
            headers: r.headers,
            body,
        })
    }

    /// Poll an `Azure-AsyncOperation` (or, for a 202 without it, `Location`) URL until the
    /// operation ends, at most `operation_timeout`.
    ///
    /// * The URL must be on the endpoint: same scheme, host and port (a relative URL is
    ///   resolved against it). Anything else is refused before a request carries the token
    ///   there (another host, another port, `http` for an `https` endpoint).
    /// * `Azure-AsyncOperation`: each answer must be a JSON object with a string `status`;
    ///   `Succeeded` ends the wait, `Failed`/`Canceled` is the operation's error, any other
    ///   status is still running. A missing or non-string `status` is a malformed answer
    ///   (`Unavailable`), never taken as done.
    /// * `Location`: 202 is still running, any other success is done.
    /// * `Retry-After` (seconds) sets the next poll, held between 10 ms and ten poll
    ///   intervals; an unreadable one is ignored.
    async fn wait_operation(&self, what: &str, r: &ArmResponse) -> Result<()> {
        let header = |name: &str| r.headers.get(name).map(|v| v.to_str().ok());
        let (op, status_monitor) = match (header("azure-asyncoperation"), header("location")) {
            (Some(v), _) => (v, true),
            (None, Some(v)) if r.status == 202 => (v, false),
            _ => return Ok(()),
        };
        let op = op
            .and_then(|v| self.endpoint.join(v.trim()).ok())
            .ok_or_else(|| malformed(what, "the operation URL is not a URL"))?;
        if op.scheme() != self.endpoint.scheme()
            || op.host_str() != self.endpoint.host_str()
            || op.port_or_known_default() != self.endpoint.port_or_known_default()
        {
            return Err(malformed(
                what,
                "the operation URL is not on the ARM endpoint (scheme, host and port); refusing \
                 to send the token there",
            ));
        }
        // No deadline for a timeout too large to add (it is then no bound at all).
        let deadline = Instant::now().checked_add(self.op_timeout);
        let max_wait = self.poll.max(Duration::from_millis(10)).saturating_mul(10);
        loop {
            let s = self.call_url(what, Method::GET, op.clone(), None).await?;
            if status_monitor {
                let status = s
                    .body
                    .get("status")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        malformed(what, "the operation status has no string `status`")
                    })?;
                match status {
                    "Succeeded" => return Ok(()),
                    "Failed" | "Canceled" => return Err(operation_error(what, status, &s)),
                    _ => {}
                }
            } else if s.status != 202 {
                return Ok(());
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "{what}: operation did not finish within {:?}",
                        self.op_timeout
                    ),
                ));
            }
            let after = s
                .headers
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
                .unwrap_or(self.poll)
                .clamp(Duration::from_millis(10), max_wait);
            tokio::time::sleep(left.map_or(after, |l| after.min(l))).await;
        }
    }
}

/// The `azvm` compute driver.
///
/// # Examples
///
/// A VM from a portable size and image, against the in-process ARM simulator of
/// `gureum-testkit` (Entra ID token endpoint and ARM on loopback; the simulator accepts only
/// the API versions ARM knows):
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_azure::compute::{self, map_state, COMPUTE_API_VERSION, IMAGE_ALIASES, NETWORK_API_VERSION, TOKEN_TAG};
/// use gureum_core::{InstanceSpec, InstanceState, ResourceUrl, Size};
/// use gureum_testkit::sim::azure::{ArmSimulator, SimConfig};
/// let sim = ArmSimulator::start(SimConfig::default()).await.unwrap();
/// let url = sim.compute_url(); // azvm://SUBSCRIPTION/gureum-rg?location=koreacentral&endpoint=...
/// let driver = compute::open(&ResourceUrl::parse(&url)?)?; // an `AzureCompute`; no request yet
/// assert!(!format!("{:?}", driver.arm()).contains(&sim.config().client_secret)); // ArmClient hides it
/// let mut r = gureum_core::Registry::new();
/// gureum_azure::register(&mut r); // `AzvmComputeOpener` for azvm://
/// let c = r.open_compute(Some(&url)).await?;
/// let vm = c
///     .create(InstanceSpec::new("ocr-worker").size(Size::vcpus(2).memory_gib(4)).image("ubuntu-22.04").idempotency_token("t1"))
///     .await?;
/// assert_eq!((vm.state, vm.size.as_deref()), (InstanceState::Running, Some("Standard_B2s")));
/// let (_, publisher, offer, _) = IMAGE_ALIASES.iter().find(|a| a.0 == "ubuntu-22.04").unwrap();
/// assert!(vm.image.as_deref().unwrap().starts_with(&format!("{publisher}:{offer}:")));
/// assert!(!vm.tags.contains_key(TOKEN_TAG)); // the idempotency tag stays internal
/// assert_eq!(map_state("Succeeded", Some("deallocated")), InstanceState::Stopped);
/// assert_eq!(map_state("Deleting", Some("running")), InstanceState::Terminating);
/// // The versions sent (the simulator refused unknown ones above):
/// assert_eq!((COMPUTE_API_VERSION, NETWORK_API_VERSION), ("2024-07-01", "2024-05-01"));
/// c.terminate("ocr-worker").await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AzureCompute {
    arm: ArmClient,
    location: String,
    subnet_id: String,
    admin_username: String,
    ssh_public_key: Option<String>,
    wait: bool,
    stop_mode_deallocate: bool,
    sizes: tokio::sync::OnceCell<Vec<SizeInfo>>,
}

fn vm_power(v: &Value) -> Option<String> {
    v["properties"]["instanceView"]["statuses"]
        .as_array()?
        .iter()
        .filter_map(|s| s["code"].as_str())
        .find_map(|c| c.strip_prefix("PowerState/").map(str::to_string))
}

/// Most bytes of an Entra ID token answer gureum reads (real ones are a few KiB).
const TOKEN_BODY_LIMIT: usize = 1 << 20;

/// Read an Entra ID token answer, bounded by [`TOKEN_BODY_LIMIT`]: an oversized or endless
/// answer is `Unavailable`, never read to the end. A body that is not JSON reads as `null`
/// (the status and the missing `access_token` then say what went wrong).
async fn read_token_body(mut resp: reqwest::Response) -> Result<Value> {
    let mut buf = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(c)) => {
                if buf.len() + c.len() > TOKEN_BODY_LIMIT {
                    return Err(Error::new(
                        ErrorKind::Unavailable,
                        format!(
                            "Entra ID token request: answer larger than {TOKEN_BODY_LIMIT} bytes"
                        ),
                    ));
                }
                buf.extend_from_slice(&c);
            }
            Ok(None) => break,
            Err(e) => {
                let e = e.without_url();
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    format!("Entra ID token request: reading the answer: {e}"),
                )
                .with_source(e));
            }
        }
    }
    Ok(serde_json::from_slice(&buf).unwrap_or(Value::Null))
}

/// A success answer of ARM that is not what the call returns: `Unavailable`, never a
/// value made up from it.
/// The error of an operation that ended `Failed` or `Canceled`: its `error.code` decides the
/// kind (`QuotaExceeded`, `AuthorizationFailed`, ...); an unknown or missing code is
/// `Unavailable` — the poll itself succeeded, so no HTTP status applies (a 409 used to be
/// assumed, which made every unknown failure, `AllocationFailed` say, read `AlreadyExists`).
fn operation_error(what: &str, status: &str, s: &ArmResponse) -> Error {
    let e = &s.body["error"];
    let code = e["code"].as_str().filter(|c| !c.is_empty());
    let kind = code
        .and_then(|c| {
            crate::error::code_kind(c).or_else(|| gureum_core::http::kind_for_well_known_code(c))
        })
        .unwrap_or(ErrorKind::Unavailable);
    let mut text = format!("{what}: the operation ended {status}");
    if let Some(m) = e["message"].as_str() {
        let first = m.lines().next().unwrap_or("").trim();
        if !first.is_empty() {
            text.push_str(": ");
            text.push_str(&first.chars().take(500).collect::<String>());
        }
    }
    let mut err = Error::new(kind, text).with_provider_code(code.unwrap_or("OperationFailed"));
    if let Some(id) = s
        .headers
        .get("x-ms-request-id")
        .and_then(|v| v.to_str().ok())
    {
        err = err.with_request_id(id);
    }
    err
}

fn malformed(what: &str, message: &str) -> Error {
    Error::new(
        ErrorKind::Unavailable,
        format!("{what}: malformed ARM answer: {message}"),
    )
}

fn random_password() -> String {
    // 40 characters from two UUIDs plus fixed classes to satisfy Azure's complexity rule.
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
    format!("{}{}!9aA", &a[..18], &b[..18])
}

impl AzureCompute {
    /// The ARM client.
    ///
    /// Example: see [`AzureCompute`].
    pub fn arm(&self) -> &ArmClient {
        &self.arm
    }

    fn image_reference(&self, image: &str) -> Result<(Value, String)> {
        if image.starts_with("/subscriptions/") {
            return Ok((json!({ "id": image }), image.to_string()));
        }
        if let Some((_, p, o, s)) = IMAGE_ALIASES.iter().find(|(a, ..)| *a == image) {
            let urn = format!("{p}:{o}:{s}:latest");
            return Ok((
                json!({"publisher": p, "offer": o, "sku": s, "version": "latest"}),
                urn,
            ));
        }
        let parts: Vec<&str> = image.split(':').collect();
        if parts.len() == 4 && parts.iter().all(|p| !p.is_empty()) {
            return Ok((
                json!({"publisher": parts[0], "offer": parts[1], "sku": parts[2], "version": parts[3]}),
                image.to_string(),
            ));
        }
        // Let resolve_image give the portable error text.
        let imgs = alias_images();
        resolve_image(image, &imgs).map(|i| {
            let parts: Vec<&str> = i.id.split(':').collect();
            (
                json!({"publisher": parts[0], "offer": parts[1], "sku": parts[2], "version": parts[3]}),
                i.id,
            )
        })
    }

    /// An instance from a VM resource: one without a name, or whose `properties` is not an
    /// object, is a malformed answer (never an instance with an empty id).
    fn to_instance(&self, v: &Value, nic_ip: Option<String>) -> Result<Instance> {
        let Some(name) = v["name"].as_str().filter(|n| !n.is_empty()) else {
            return Err(malformed("VM", "a VM without name"));
        };
        if !v["properties"].is_object() {
            return Err(malformed("VM", &format!("VM {name} without properties")));
        }
        let props = &v["properties"];
        let prov = props["provisioningState"].as_str().unwrap_or("Creating");
        let power = vm_power(v);
        let state = map_state(prov, power.as_deref());
        let tags: BTreeMap<String, String> = v["tags"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.as_str() != TOKEN_TAG)
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let img = &props["storageProfile"]["imageReference"];
        let image = img["id"].as_str().map(str::to_string).or_else(|| {
            Some(format!(
                "{}:{}:{}:{}",
                img["publisher"].as_str()?,
                img["offer"].as_str()?,
                img["sku"].as_str()?,
                img["version"].as_str().unwrap_or("latest")
            ))
        });
        Ok(Instance {
            id: name.to_string(),
            name: name.to_string(),
            state,
            provider_state: match &power {
                Some(p) => format!("{prov}/{p}"),
                None => prov.to_string(),
            },
            size: props["hardwareProfile"]["vmSize"]
                .as_str()
                .map(str::to_string),
            image,
            tags,
            addresses: nic_ip.into_iter().collect(),
            created_at: props["timeCreated"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
        })
    }

    async fn get_raw(&self, name: &str, expand: &str) -> Result<Value> {
        validate_vm_name(name)?;
        Ok(self
            .arm
            .call(
                &format!("get VM {name}"),
                Method::GET,
                &self.arm.vm_path(name),
                &[("api-version", COMPUTE_API_VERSION), ("$expand", expand)],
                None,
            )
            .await?
            .body)
    }

    async fn nic_ip(&self, vm: &Value) -> Option<String> {
        let id = vm["properties"]["networkProfile"]["networkInterfaces"][0]["id"].as_str()?;
        let r = self
            .arm
            .call(
                "get network interface",
                Method::GET,
                id,
                &[("api-version", NETWORK_API_VERSION)],
                None,
            )
            .await
            .ok()?;
        r.body["properties"]["ipConfigurations"][0]["properties"]["privateIPAddress"]
            .as_str()
            .map(str::to_string)
    }

    async fn action(&self, name: &str, action: &str) -> Result<()> {
        validate_vm_name(name)?;
        let what = format!("{action} VM {name}");
        let r = self
            .arm
            .call(
                &what,
                Method::POST,
                &format!("{}/{action}", self.arm.vm_path(name)),
                &[("api-version", COMPUTE_API_VERSION)],
                None,
            )
            .await?;
        if self.wait {
            self.arm.wait_operation(&what, &r).await?;
        }
        Ok(())
    }
}

fn validate_vm_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.ends_with('.')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "VM name {name:?}: use 1-64 letters, digits, '-', '_' or '.', not ending in '.' or '-'"
        )))
    }
}

fn alias_images() -> Vec<ImageInfo> {
    IMAGE_ALIASES
        .iter()
        .map(|(a, p, o, s)| ImageInfo {
            id: format!("{p}:{o}:{s}:latest"),
            name: format!("{p} {o} {s}"),
            alias: Some(a.to_string()),
        })
        .collect()
}

#[async_trait]
impl ComputeDriver for AzureCompute {
    fn capabilities(&self) -> ComputeCapabilities {
        ComputeCapabilities {
            stop_start: true,
            reboot: true,
            user_data: true,
            tags: true,
            idempotent_create: true,
        }
    }

    async fn create(&self, spec: &InstanceSpec) -> Result<Instance> {
        validate_vm_name(&spec.name)?;
        if spec.name.len() > 60 {
            return Err(Error::invalid(
                "VM name: at most 60 characters (the NIC adds \"-nic\")",
            ));
        }
        // Idempotency: Azure names are unique in the resource group.
        match self.get_raw(&spec.name, "instanceView").await {
            Ok(v) => {
                let tok = v["tags"][TOKEN_TAG].as_str();
                if tok.is_some() && tok == spec.idempotency_token.as_deref() {
                    let ip = self.nic_ip(&v).await;
                    return self.to_instance(&v, ip);
                }
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!(
                        "a VM named {} already exists in the resource group",
                        spec.name
                    ),
                ));
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let sizes = self.sizes().await?;
        let size = resolve_size(&spec.size, &sizes)?;
        let (image_ref, _) = self.image_reference(&spec.image)?;
        let mut tags = serde_json::Map::new();
        for (k, v) in &spec.tags {
            tags.insert(k.clone(), Value::String(v.clone()));
        }
        if let Some(t) = &spec.idempotency_token {
            tags.insert(TOKEN_TAG.into(), Value::String(t.clone()));
        }
        // 1. network interface
        let nic_name = format!("{}-nic", spec.name);
        let nic_path = self.arm.nic_path(&nic_name);
        let nic_body = json!({
            "location": self.location,
            "tags": tags,
            "properties": {"ipConfigurations": [{
                "name": "ipconfig1",
                "properties": {"subnet": {"id": self.subnet_id}, "privateIPAllocationMethod": "Dynamic"}
            }]}
        });
        let what = format!("create network interface {nic_name}");
        let r = self
            .arm
            .call(
                &what,
                Method::PUT,
                &nic_path,
                &[("api-version", NETWORK_API_VERSION)],
                Some(nic_body),
            )
            .await?;
        self.arm.wait_operation(&what, &r).await?;
        // 2. VM
        let mut os_profile = json!({
            "computerName": spec.name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(15).collect::<String>(),
            "adminUsername": self.admin_username,
        });
        match &self.ssh_public_key {
            Some(k) => {
                os_profile["linuxConfiguration"] = json!({
                    "disablePasswordAuthentication": true,
                    "ssh": {"publicKeys": [{
                        "path": format!("/home/{}/.ssh/authorized_keys", self.admin_username),
                        "keyData": k
                    }]}
                });
            }
            None => {
                // Azure needs a credential; an unknown random password leaves only
                // out-of-band access (run command, serial console, user data).
                os_profile["adminPassword"] = Value::String(random_password());
            }
        }
        let mut props = json!({
            "hardwareProfile": {"vmSize": size.id},
            "storageProfile": {
                "imageReference": image_ref,
                "osDisk": {"createOption": "FromImage", "deleteOption": "Delete",
                           "managedDisk": {"storageAccountType": "StandardSSD_LRS"}}
            },
            "osProfile": os_profile,
            "networkProfile": {"networkInterfaces": [{
                "id": nic_path,
                "properties": {"primary": true, "deleteOption": "Delete"}
            }]}
        });
        if let Some(ud) = &spec.user_data {
            props["userData"] = Value::String(BASE64_STANDARD.encode(ud));
        }
        let body = json!({"location": self.location, "tags": tags, "properties": props});
        let what = format!("create VM {}", spec.name);
        let r = self
            .arm
            .call(
                &what,
                Method::PUT,
                &self.arm.vm_path(&spec.name),
                &[("api-version", COMPUTE_API_VERSION)],
                Some(body),
            )
            .await?;
        if self.wait {
            self.arm.wait_operation(&what, &r).await?;
            return self.get(&spec.name).await;
        }
        self.to_instance(&r.body, None)
    }

    async fn get(&self, id: &str) -> Result<Instance> {
        let v = self.get_raw(id, "instanceView").await?;
        let ip = self.nic_ip(&v).await;
        self.to_instance(&v, ip)
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<Instance>> {
        let mut names = Vec::new();
        let mut next: Option<url::Url> = None;
        for _ in 0..1000 {
            let r = match &next {
                None => {
                    self.arm
                        .call(
                            "list VMs",
                            Method::GET,
                            &format!(
                                "{}/providers/Microsoft.Compute/virtualMachines",
                                self.arm.rg_path()
                            ),
                            &[("api-version", COMPUTE_API_VERSION)],
                            None,
                        )
                        .await?
                }
                Some(u) => {
                    self.arm
                        .call_url("list VMs", Method::GET, u.clone(), None)
                        .await?
                }
            };
            // A page that is not a list of named VMs is a malformed answer, never an empty
            // or shortened list.
            let Some(page) = r.body["value"].as_array() else {
                return Err(malformed("list VMs", "no value list"));
            };
            if page.iter().any(|v| !v["name"].is_string()) {
                return Err(malformed("list VMs", "a VM without name"));
            }
            for v in page {
                let tags_ok = filter
                    .tags
                    .iter()
                    .all(|(k, want)| v["tags"][k].as_str() == Some(want.as_str()));
                if tags_ok {
                    if let Some(n) = v["name"].as_str() {
                        names.push(n.to_string());
                    }
                }
            }
            next = r.body["nextLink"]
                .as_str()
                .and_then(|s| url::Url::parse(s).ok())
                .filter(|u| u.host_str() == self.arm.endpoint.host_str());
            if next.is_none() {
                break;
            }
        }
        // The list has no instance view: read each VM (bounded concurrency).
        use futures::stream::{StreamExt, TryStreamExt};
        let out: Vec<Option<Instance>> = futures::stream::iter(names)
            .map(|n| async move {
                match self.get(&n).await {
                    Ok(i) => Ok(Some(i)),
                    Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            })
            .buffered(8)
            .try_collect()
            .await?;
        Ok(out
            .into_iter()
            .flatten()
            .filter(|i| filter.include_terminated || i.state != InstanceState::Terminated)
            .collect())
    }

    async fn start(&self, id: &str) -> Result<()> {
        self.action(id, "start").await
    }

    async fn stop(&self, id: &str) -> Result<()> {
        if self.stop_mode_deallocate {
            self.action(id, "deallocate").await
        } else {
            self.action(id, "powerOff").await
        }
    }

    async fn reboot(&self, id: &str) -> Result<()> {
        self.action(id, "restart").await
    }

    async fn terminate(&self, id: &str) -> Result<()> {
        validate_vm_name(id)?;
        let what = format!("delete VM {id}");
        let r = match self
            .arm
            .call(
                &what,
                Method::DELETE,
                &self.arm.vm_path(id),
                &[("api-version", COMPUTE_API_VERSION)],
                None,
            )
            .await
        {
            Ok(r) => r,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if r.status == 204 {
            return Ok(());
        }
        if self.wait {
            self.arm.wait_operation(&what, &r).await?;
        }
        Ok(())
    }

    async fn sizes(&self) -> Result<Vec<SizeInfo>> {
        let v = self
            .sizes
            .get_or_try_init(|| async {
                let r = self
                    .arm
                    .call(
                        "list VM sizes",
                        Method::GET,
                        &format!(
                            "/subscriptions/{}/providers/Microsoft.Compute/locations/{}/vmSizes",
                            self.arm.subscription, self.location
                        ),
                        &[("api-version", COMPUTE_API_VERSION)],
                        None,
                    )
                    .await?;
                let Some(list) = r.body["value"].as_array() else {
                    return Err(malformed("list VM sizes", "no value list"));
                };
                list.iter()
                    .map(|s| {
                        (|| {
                            Some(SizeInfo {
                                id: s["name"].as_str()?.to_string(),
                                vcpus: u32::try_from(s["numberOfCores"].as_u64()?).ok()?,
                                memory_mib: s["memoryInMB"].as_u64()?,
                            })
                        })()
                        .ok_or_else(|| {
                            malformed(
                                "list VM sizes",
                                "a size without name, numberOfCores or memoryInMB",
                            )
                        })
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .await?;
        Ok(v.clone())
    }

    async fn images(&self) -> Result<Vec<ImageInfo>> {
        Ok(alias_images())
    }

    async fn user_data(&self, id: &str) -> Result<Option<Bytes>> {
        let v = self.get_raw(id, "userData").await?;
        match v["properties"]["userData"].as_str() {
            Some(s) if !s.is_empty() => BASE64_STANDARD
                .decode(s)
                .map(|b| Some(Bytes::from(b)))
                .map_err(|_| malformed("get VM user data", "userData is not valid base64")),
            _ => Ok(None),
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Open an Azure compute driver from a URL (see [`AzvmComputeOpener`]).
///
/// Example: see [`AzureCompute`].
pub fn open(url: &ResourceUrl) -> Result<AzureCompute> {
    let subscription = url.host().to_string();
    let rg = url.path().trim_matches('/').to_string();
    if subscription.is_empty() || rg.is_empty() || rg.contains('/') {
        return Err(Error::invalid(format!(
            "{url}: expected azvm://SUBSCRIPTION-ID/RESOURCE-GROUP?location=REGION"
        )));
    }
    let location = url
        .param("location")
        .map(str::to_string)
        .or_else(|| env("AZURE_LOCATION"))
        .unwrap_or_else(|| "koreacentral".into());
    let endpoint = url
        .param("endpoint")
        .map(str::to_string)
        .or_else(|| env("AZURE_RESOURCE_MANAGER_ENDPOINT"))
        .unwrap_or_else(|| "https://management.azure.com".into());
    let endpoint = url::Url::parse(&endpoint)
        .map_err(|e| Error::invalid(format!("ARM endpoint {endpoint:?}: {e}")))?;
    let allow_http = url.bool_param("allow_http")?.unwrap_or(false);
    gureum_core::transport::check_endpoint(&endpoint, allow_http)?;
    let authority = url
        .param("authority_host")
        .map(str::to_string)
        .or_else(|| env("AZURE_AUTHORITY_HOST"))
        .unwrap_or_else(|| "https://login.microsoftonline.com".into());
    let authority = url::Url::parse(&authority)
        .map_err(|e| Error::invalid(format!("authority host {authority:?}: {e}")))?;
    gureum_core::transport::check_endpoint(&authority, allow_http)?;
    let auth =
        if let Some(t) = url
            .param("access_token")
            .map(str::to_string)
            .or_else(|| env("AZURE_ACCESS_TOKEN"))
        {
            ArmAuth::Static(SecretString::from(t))
        } else {
            let tenant = url
                .param("tenant_id")
                .map(str::to_string)
                .or_else(|| env("AZURE_TENANT_ID"));
            let client = url
                .param("client_id")
                .map(str::to_string)
                .or_else(|| env("AZURE_CLIENT_ID"));
            let secret = url
                .param("client_secret")
                .map(str::to_string)
                .or_else(|| env("AZURE_CLIENT_SECRET"));
            match (tenant, client, secret) {
                (Some(tenant), Some(client_id), Some(secret)) => ArmAuth::ClientSecret {
                    authority,
                    tenant,
                    client_id,
                    secret: SecretString::from(secret),
                    scope: format!("{}/.default", endpoint.as_str().trim_end_matches('/')),
                },
                _ => return Err(Error::new(
                    ErrorKind::Unauthenticated,
                    "Azure compute needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET \
                     (or AZURE_ACCESS_TOKEN)",
                )),
            }
        };
    let subnet_id = match url.param("subnet") {
        Some(s) if s.starts_with("/subscriptions/") => s.to_string(),
        other => {
            let vnet = url.param("vnet").unwrap_or("gureum-vnet");
            format!(
                "/subscriptions/{subscription}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{vnet}/subnets/{}",
                other.unwrap_or("default")
            )
        }
    };
    let poll = Duration::from_millis(url.u64_param("poll_ms")?.unwrap_or(2000));
    let op_timeout = Duration::from_secs(url.u64_param("operation_timeout")?.unwrap_or(1800));
    let http_config = HttpConfig::from_params(&url.pick(gureum_core::http::PARAMS))?;
    let reqwest_client = http_config
        .client_builder()?
        .timeout(http_config.request_timeout)
        .build()
        .map_err(|e| Error::other("building the HTTP client").with_source(e))?;
    let auth = Arc::new(ArmToken {
        http: reqwest_client.clone(),
        auth,
        token: Mutex::new(None),
    });
    let http = HttpClient::builder("azure-arm")
        .config(http_config)
        .client(reqwest_client)
        .auth(auth.clone())
        .errors(Arc::new(AzureErrors))
        .build()?;
    Ok(AzureCompute {
        arm: ArmClient {
            http,
            endpoint,
            subscription,
            resource_group: rg,
            auth,
            poll,
            op_timeout,
        },
        location,
        subnet_id,
        admin_username: url
            .param("admin_username")
            .unwrap_or("azureuser")
            .to_string(),
        ssh_public_key: url
            .param("ssh_public_key")
            .map(str::to_string)
            .or_else(|| env("AZURE_VM_SSH_PUBLIC_KEY")),
        wait: url.bool_param("wait")?.unwrap_or(true),
        stop_mode_deallocate: url.param("stop_mode") != Some("poweroff"),
        sizes: tokio::sync::OnceCell::new(),
    })
}

/// Opens `azvm://SUBSCRIPTION/RESOURCE-GROUP?location=REGION[&subnet=ID|&vnet=NAME]
/// [&endpoint=URL&authority_host=URL&tenant_id=&client_id=&client_secret=]
/// [&admin_username=&ssh_public_key=&stop_mode=deallocate|poweroff&wait=true|false]`.
///
/// Example: see [`AzureCompute`].
#[derive(Debug, Default)]
pub struct AzvmComputeOpener;

#[async_trait]
impl ComputeOpener for AzvmComputeOpener {
    async fn open_compute(&self, url: &ResourceUrl) -> Result<Compute> {
        let d = open(url)?;
        let poll = d.arm.poll.min(Duration::from_secs(2));
        Ok(Compute::new(std::sync::Arc::new(d)).with_poll_interval(poll))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_map() {
        use InstanceState::*;
        let t: &[(&str, Option<&str>, InstanceState)] = &[
            ("Creating", None, Pending),
            ("Creating", Some("starting"), Pending),
            ("Succeeded", Some("running"), Running),
            ("Updating", Some("deallocating"), Stopping),
            ("Succeeded", Some("deallocated"), Stopped),
            ("Succeeded", Some("stopped"), Stopped),
            ("Updating", Some("stopping"), Stopping),
            ("Deleting", Some("running"), Terminating),
            ("Failed", Some("running"), Error),
            ("Succeeded", Some("unknown"), Pending),
        ];
        for (p, pw, s) in t {
            assert_eq!(map_state(p, *pw), *s, "{p} {pw:?}");
        }
    }

    #[test]
    fn urls_and_names() {
        let u = ResourceUrl::parse("azvm://sub/rg?location=koreacentral&access_token=x").unwrap();
        let d = open(&u).unwrap();
        assert_eq!(d.location, "koreacentral");
        assert!(d
            .subnet_id
            .ends_with("/virtualNetworks/gureum-vnet/subnets/default"));
        assert!(!format!("{d:?}").contains("access_token=x"));
        assert!(open(&ResourceUrl::parse("azvm://sub?access_token=x").unwrap()).is_err());
        assert!(validate_vm_name("ocr-worker-1").is_ok());
        assert!(validate_vm_name("bad/name").is_err());
        let (r, urn) = d.image_reference("ubuntu-22.04").unwrap();
        assert_eq!(r["publisher"], "Canonical");
        assert!(urn.ends_with(":latest"));
        assert!(d.image_reference("Canonical:x:y:1.0").is_ok());
        assert!(d.image_reference("nope").is_err());
    }
}
