//! Kakao Cloud compute: the Beyond Compute Service (BCS) REST API as a gureum
//! [`ComputeDriver`] (`kakao-compute://?region=kr-central-2|kr-gov-central-1`).
//!
//! * **Identity**: Keystone v3 application credential (Kakao's "IAM access key": id + secret)
//!   at `https://iam.kakaocloud.com/identity/v3`, through the same [`Session`] (token cache,
//!   refresh, one re-authentication after a 401) as Swift and Nova. The gov IAM endpoint is
//!   not confirmed: give `auth_url=` for `kr-gov-central-1`.
//! * **Endpoint**: `https://bcs.{region}.kakaocloud.com/api/v1` (documented for kr-central-2);
//!   for the gov region `https://bcs.{region}.kakaocloud-kr-gov.com/api/v1` (host pattern of the
//!   gov object storage; **unconfirmed**). `bcs_url=` overrides it.
//! * **Requests** (the paths under `/api/v1/instances/` are documented; the field names,
//!   flavor/image listings and action paths are written from the documented console commands
//!   and are **unconfirmed** against the vendor reference — see docs/openstack.md):
//!   `GET|POST /instances`, `GET|DELETE /instances/{id}`, `POST /instances/{id}/start|stop|reboot`,
//!   `GET /flavors`, `GET /images`. JSON with `Content-Type: application/json` everywhere.
//! * **States** (Kakao's documented lifecycle): `building`→Pending, `active`→Running,
//!   `stopped`/`shelved`/`shelved_offloaded`→Stopped, `rebooting`/`hard_rebooting`→Pending,
//!   `deleting`→Terminating, `deleted`→Terminated, `error`→Error; the task state refines them
//!   (`powering-off`→Stopping, `powering-on`→Pending, `deleting`→Terminating).
//! * **Idempotent create**: the token is stored in the instance tags
//!   (`gureum-idempotency-token`) and looked up by name before a create and after a create
//!   whose response was lost.
//! * **Errors**: by HTTP status through the shared table ([`crate::client::OpenStackErrors`]),
//!   message from `{"error": {"message": ..}}`; 409 on an action → `PreconditionFailed` unless
//!   the instance is already where the caller wants it.

use crate::auth::Session;
use crate::client::{check, http_error, read_json, send};
use crate::error::OsError;
use crate::nova::image_alias;
use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use gureum_core::compute::{resolve_image, resolve_size};
use gureum_core::{
    async_trait, ComputeCapabilities, ComputeDriver, Error, ErrorKind, ImageInfo, Instance,
    InstanceSpec, InstanceState, ListFilter, Result, SizeInfo, SizeSpec,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use url::Url;

/// The tag that carries the idempotency token.
///
/// Example: see [`KakaoCompute`].
pub const TOKEN_KEY: &str = "gureum-idempotency-token";

/// Public BCS endpoint template.
///
/// Example: see [`KakaoCompute`].
pub const BCS_PUBLIC: &str = "https://bcs.{region}.kakaocloud.com/api/v1";
/// Gov BCS endpoint template (unconfirmed).
///
/// Example: see [`KakaoCompute`].
pub const BCS_GOV: &str = "https://bcs.{region}.kakaocloud-kr-gov.com/api/v1";

/// Map a BCS `status` + `task_state` to the portable state.
///
/// Example: see [`KakaoCompute`].
pub fn map_state(status: &str, task_state: Option<&str>) -> InstanceState {
    match task_state.map(|t| t.to_ascii_lowercase()).as_deref() {
        Some("deleting") => return InstanceState::Terminating,
        Some("powering-off") | Some("shelving") => return InstanceState::Stopping,
        Some("powering-on") | Some("spawning") | Some("scheduling") | Some("rebooting") => {
            return InstanceState::Pending
        }
        _ => {}
    }
    match status.to_ascii_lowercase().as_str() {
        "active" => InstanceState::Running,
        "building" | "build" | "rebooting" | "hard_rebooting" | "reboot" | "hard_reboot"
        | "resizing" | "rebuilding" => InstanceState::Pending,
        "stopped" | "shutoff" | "shelved" | "shelved_offloaded" => InstanceState::Stopped,
        "deleting" => InstanceState::Terminating,
        "deleted" => InstanceState::Terminated,
        "error" => InstanceState::Error,
        _ => InstanceState::Pending,
    }
}

/// A BCS compute service of one project and region.
///
/// # Examples
///
/// Against the in-process Kakao IAM + BCS simulator of `gureum-testkit`:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{InstanceSpec, InstanceState, ResourceUrl, Size};
/// use gureum_openstack::auth::{AuthOptions, Credential, Session};
/// use gureum_openstack::kakao::{map_state, KakaoCompute, BCS_GOV, BCS_PUBLIC, TOKEN_KEY};
/// use gureum_testkit::sim::kakao_compute::{KakaoSim, KakaoSimConfig};
/// use std::sync::Arc;
/// let sim = KakaoSim::start(KakaoSimConfig::default()).await.unwrap();
/// // From a URL (`open_kakao_compute`; `KakaoComputeOpener` serves kakao-compute:// in the registry):
/// let c = gureum_openstack::open_kakao_compute(&ResourceUrl::parse(&sim.url("kr-central-2"))?).await?;
/// let spec = InstanceSpec::new("kc-one").size(Size::vcpus(2).memory_gib(4)).image("ubuntu-22.04").idempotency_token("t1");
/// let vm = c.create(spec).await?;
/// assert_eq!(vm.size.as_deref(), Some("6d1f2a1e-0003")); // m2a.large, the smallest that fits
/// assert!(!vm.tags.contains_key(TOKEN_KEY));
/// assert_eq!(map_state("active", None), InstanceState::Running);
/// assert_eq!(map_state("active", Some("powering-off")), InstanceState::Stopping);
/// // The driver itself, on the simulator's BCS URL instead of the preset's:
/// let preset_url = gureum_openstack::presets::fill(BCS_PUBLIC, "kr-central-2", "");
/// assert_eq!(preset_url, "https://bcs.kr-central-2.kakaocloud.com/api/v1");
/// assert!(BCS_GOV.contains("kakaocloud-kr-gov.com"));
/// let (id, secret) = sim.access_key();
/// let cred = Credential::V3ApplicationCredential {
///     id: Some(id), name: None, user_id: None, username: None, user_domain_name: None, secret: secret.into(),
/// };
/// let session = Arc::new(Session::new(AuthOptions::new(url::Url::parse(&sim.auth_url()).unwrap(), cred))?);
/// let bcs = url::Url::parse(&sim.bcs_url()).unwrap();
/// let k = KakaoCompute::new(session.clone(), bcs.clone(), "kr-central-2")?;
/// assert_eq!((k.base_url(), k.region()), (&bcs, "kr-central-2"));
/// assert!(Arc::ptr_eq(k.session(), &session));
/// # Ok(()) }
/// ```
pub struct KakaoCompute {
    session: Arc<Session>,
    base: Url,
    region: String,
}

impl fmt::Debug for KakaoCompute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KakaoCompute")
            .field("base", &self.base.as_str())
            .field("region", &self.region)
            .finish()
    }
}

fn decode(op: &str, message: impl Into<String>) -> Error {
    OsError::Decode {
        service: "bcs",
        op: op.into(),
        message: message.into(),
    }
    .into()
}

impl KakaoCompute {
    /// A driver on `base` (`…/api/v1`) authenticating through `session`.
    ///
    /// Example: see [`KakaoCompute`].
    pub fn new(session: Arc<Session>, base: Url, region: impl Into<String>) -> Result<Self> {
        gureum_core::transport::check_endpoint(&base, session.options().allow_http)?;
        Ok(KakaoCompute {
            session,
            base,
            region: region.into(),
        })
    }
    /// The BCS base URL.
    ///
    /// Example: see [`KakaoCompute`].
    pub fn base_url(&self) -> &Url {
        &self.base
    }
    /// The region.
    ///
    /// Example: see [`KakaoCompute`].
    pub fn region(&self) -> &str {
        &self.region
    }
    /// The identity session.
    ///
    /// Example: see [`KakaoCompute`].
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    fn url(&self, path: &str) -> Result<Url> {
        Url::parse(&format!(
            "{}/{}",
            self.base.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        ))
        .map_err(|e| Error::invalid(format!("BCS URL: {e}")))
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        retry: bool,
        op: &str,
    ) -> Result<reqwest::Response> {
        let u = self.url(path)?;
        let body = match body {
            Some(b) => Some(
                serde_json::to_vec(b).map_err(|e| Error::other(format!("encoding {op}: {e}")))?,
            ),
            None => None,
        };
        send(&self.session, "bcs", op, retry, |c| {
            let mut rb = c
                .request(method.clone(), u.clone())
                .header("accept", "application/json");
            if let Some(b) = &body {
                rb = rb
                    .header("content-type", "application/json")
                    .body(b.clone());
            }
            rb
        })
        .await
    }

    async fn json(&self, method: reqwest::Method, path: &str, op: &str) -> Result<Value> {
        let retry = method == reqwest::Method::GET;
        let r = self.call(method, path, None, retry, op).await?;
        let r = check(r, "bcs", op).await?;
        // Bounded by the session's `max_response_bytes`; not JSON: `Unavailable`.
        read_json(&self.session, r, "bcs", op).await
    }

    fn parse_instance(v: &Value) -> Option<Instance> {
        let id = v["id"].as_str()?.to_string();
        let status = v["status"].as_str().unwrap_or("unknown");
        let task = v["task_state"].as_str();
        let mut tags: BTreeMap<String, String> = v["tags"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, x)| x.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        tags.remove(TOKEN_KEY);
        let addresses = v["addresses"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().or(a["ip"].as_str()).map(str::to_string))
            .collect();
        Some(Instance {
            id,
            name: v["name"].as_str().unwrap_or("").to_string(),
            state: map_state(status, task),
            provider_state: match task {
                Some(t) => format!("{status}/{t}"),
                None => status.to_string(),
            },
            size: v["flavor"]["id"]
                .as_str()
                .or(v["flavor_id"].as_str())
                .map(str::to_string),
            image: v["image"]["id"]
                .as_str()
                .or(v["image_id"].as_str())
                .map(str::to_string),
            tags,
            addresses,
            created_at: v["created_at"]
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&Utc)),
        })
    }

    /// Every instance (raw), following `offset` pages; `query` is appended (`&name=..`).
    async fn instances(&self, query: &str) -> Result<Vec<Value>> {
        const PAGE: usize = 100;
        let mut out = Vec::new();
        for page in 0..1000 {
            let path = format!("instances?limit={PAGE}&offset={}{query}", page * PAGE);
            let v = self
                .json(reqwest::Method::GET, &path, "GET instances")
                .await?;
            // A page that is not a list of instances with ids is a malformed answer, never
            // an empty (or shortened) list.
            let Some(items) = v["instances"].as_array().cloned() else {
                return Err(decode("GET instances", "no instances list"));
            };
            if items.iter().any(|i| !i["id"].is_string()) {
                return Err(decode("GET instances", "an instance without id"));
            }
            let n = items.len();
            out.extend(items);
            let total = v["total"].as_u64().map(|t| t as usize);
            if n < PAGE || total.is_some_and(|t| out.len() >= t) {
                break;
            }
        }
        Ok(out)
    }

    async fn find_by_token(&self, name: &str, token: &str) -> Result<Option<Instance>> {
        let q = format!(
            "&name={}",
            percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
        );
        Ok(self
            .instances(&q)
            .await?
            .iter()
            .filter(|i| i["name"].as_str() == Some(name))
            .find(|i| i["tags"][TOKEN_KEY].as_str() == Some(token))
            .and_then(Self::parse_instance)
            .filter(|i| i.state != InstanceState::Terminated))
    }

    fn check_id(id: &str) -> Result<()> {
        if id.is_empty() || id.contains(['/', '?', '#']) {
            return Err(Error::invalid(format!("bad instance id {id:?}")));
        }
        Ok(())
    }

    async fn action(&self, id: &str, action: &str, body: Value, want: InstanceState) -> Result<()> {
        Self::check_id(id)?;
        let op = format!("POST instances/{{id}}/{action}");
        let r = self
            .call(
                reqwest::Method::POST,
                &format!("instances/{id}/{action}"),
                Some(&body),
                false,
                &op,
            )
            .await?;
        if r.status().as_u16() == 409 {
            // Conflicting state: fine if the instance is already where the caller wants it.
            let e = http_error(r, "bcs", &op).await;
            if want != InstanceState::Pending && self.get(id).await?.state == want {
                return Ok(());
            }
            return Err(
                Error::new(ErrorKind::PreconditionFailed, e.message().to_string())
                    .with_provider_code("409"),
            );
        }
        check(r, "bcs", &op).await.map(|_| ())
    }

    async fn flavors_raw(&self) -> Result<Vec<Value>> {
        let v = self
            .json(reqwest::Method::GET, "flavors", "GET flavors")
            .await?;
        v["flavors"]
            .as_array()
            .cloned()
            .ok_or_else(|| decode("GET flavors", "no flavors list"))
    }
}

#[async_trait]
impl ComputeDriver for KakaoCompute {
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
        if spec.name.is_empty() || spec.name.len() > 63 {
            return Err(Error::invalid(format!(
                "instance name {:?}: 1 to 63 characters",
                spec.name
            )));
        }
        if let Some(t) = &spec.idempotency_token {
            if let Some(i) = self.find_by_token(&spec.name, t).await? {
                tracing::debug!(id = %i.id, "idempotent create: found existing instance");
                return Ok(i);
            }
        }
        let flavors = self.flavors_raw().await?;
        let size_spec = match &spec.size {
            // Accept a flavor name (`t1i.small`) as well as its id.
            SizeSpec::Native(n) => SizeSpec::Native(
                flavors
                    .iter()
                    .find(|f| f["name"].as_str() == Some(n.as_str()))
                    .and_then(|f| f["id"].as_str())
                    .unwrap_or(n)
                    .to_string(),
            ),
            p => p.clone(),
        };
        let mut sizes = parse_flavors(&flavors)?;
        sizes.sort_by(|a, b| a.id.cmp(&b.id));
        let flavor = resolve_size(&size_spec, &sizes)?;
        let image = resolve_image(&spec.image, &self.images().await?)?;
        let mut tags = serde_json::Map::new();
        for (k, v) in &spec.tags {
            if k.is_empty() || k.len() > 128 || v.len() > 256 {
                return Err(Error::invalid(format!(
                    "tag {k:?}: keys are 1 to 128 characters, values at most 256"
                )));
            }
            tags.insert(k.clone(), json!(v));
        }
        if let Some(t) = &spec.idempotency_token {
            tags.insert(TOKEN_KEY.into(), json!(t));
        }
        let mut body = json!({
            "name": spec.name,
            "flavor_id": flavor.id,
            "image_id": image.id,
            "tags": tags,
        });
        if let Some(ud) = &spec.user_data {
            body["user_data"] = json!(base64::engine::general_purpose::STANDARD.encode(ud));
        }
        let body = json!({ "instance": body });
        let op = "POST instances";
        let r = match self
            .call(reqwest::Method::POST, "instances", Some(&body), false, op)
            .await
        {
            Ok(r) => r,
            Err(e) if e.is_retryable() => {
                // The request may have reached BCS: look for our token before failing.
                if let Some(t) = &spec.idempotency_token {
                    if let Some(i) = self.find_by_token(&spec.name, t).await? {
                        return Ok(i);
                    }
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let r = check(r, "bcs", op).await?;
        let v: Value = read_json(&self.session, r, "bcs", op).await?;
        Self::parse_instance(&v["instance"]).ok_or_else(|| decode(op, "no instance.id"))
    }

    async fn get(&self, id: &str) -> Result<Instance> {
        Self::check_id(id)?;
        let v = self
            .json(
                reqwest::Method::GET,
                &format!("instances/{id}"),
                "GET instances/{id}",
            )
            .await?;
        Self::parse_instance(&v["instance"])
            .ok_or_else(|| decode("GET instances/{id}", "no instance"))
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<Instance>> {
        Ok(self
            .instances("")
            .await?
            .iter()
            .filter_map(Self::parse_instance)
            .filter(|i| filter.include_terminated || i.state != InstanceState::Terminated)
            .filter(|i| filter.tags.iter().all(|(k, v)| i.tags.get(k) == Some(v)))
            .collect())
    }

    async fn start(&self, id: &str) -> Result<()> {
        self.action(id, "start", json!({}), InstanceState::Running)
            .await
    }

    async fn stop(&self, id: &str) -> Result<()> {
        self.action(id, "stop", json!({}), InstanceState::Stopped)
            .await
    }

    async fn reboot(&self, id: &str) -> Result<()> {
        self.action(
            id,
            "reboot",
            json!({"type": "soft"}),
            InstanceState::Pending,
        )
        .await
    }

    async fn terminate(&self, id: &str) -> Result<()> {
        Self::check_id(id)?;
        let op = "DELETE instances/{id}";
        let r = self
            .call(
                reqwest::Method::DELETE,
                &format!("instances/{id}"),
                None,
                true,
                op,
            )
            .await?;
        // Terminating a missing (already deleted) instance succeeds.
        if r.status().as_u16() == 404 {
            return Ok(());
        }
        check(r, "bcs", op).await.map(|_| ())
    }

    async fn sizes(&self) -> Result<Vec<SizeInfo>> {
        parse_flavors(&self.flavors_raw().await?)
    }

    async fn images(&self) -> Result<Vec<ImageInfo>> {
        let v = self
            .json(reqwest::Method::GET, "images", "GET images")
            .await?;
        // A list of images, each with its id: anything else is a malformed answer, never a
        // shorter list.
        let Some(list) = v["images"].as_array() else {
            return Err(decode("GET images", "no images list"));
        };
        if list.iter().any(|i| !i["id"].is_string()) {
            return Err(decode("GET images", "an image without id"));
        }
        Ok(list
            .iter()
            .filter(|i| {
                i["status"]
                    .as_str()
                    .map(|s| s.eq_ignore_ascii_case("active"))
                    .unwrap_or(true)
            })
            .filter_map(|i| {
                let name = i["name"].as_str().unwrap_or("").to_string();
                let alias = image_alias(&name, i["os_distro"].as_str(), i["os_version"].as_str());
                Some(ImageInfo {
                    id: i["id"].as_str()?.to_string(),
                    name,
                    alias,
                })
            })
            .collect())
    }

    async fn user_data(&self, id: &str) -> Result<Option<Bytes>> {
        Self::check_id(id)?;
        let v = self
            .json(
                reqwest::Method::GET,
                &format!("instances/{id}"),
                "GET instances/{id}",
            )
            .await?;
        match v["instance"].get("user_data") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(b)) => base64::engine::general_purpose::STANDARD
                .decode(b)
                .map(|d| Some(Bytes::from(d)))
                .map_err(|e| decode("GET instances/{id}", format!("user_data: {e}"))),
            Some(_) => Err(decode("GET instances/{id}", "user_data is not a string")),
        }
    }
}

/// Sizes from a flavor list: a flavor without id, vcpus or memory is a malformed answer
/// (`Unavailable`), never left out of the list.
fn parse_flavors(flavors: &[Value]) -> Result<Vec<SizeInfo>> {
    flavors
        .iter()
        .map(|f| {
            (|| {
                Some(SizeInfo {
                    id: f["id"].as_str()?.to_string(),
                    vcpus: u32::try_from(f["vcpus"].as_u64()?).ok()?,
                    memory_mib: f["memory_mb"].as_u64().or(f["ram"].as_u64())?,
                })
            })()
            .ok_or_else(|| decode("GET flavors", "a flavor without id, vcpus or memory_mb"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        assert_eq!(map_state("building", None), InstanceState::Pending);
        assert_eq!(map_state("ACTIVE", None), InstanceState::Running);
        assert_eq!(
            map_state("active", Some("powering-off")),
            InstanceState::Stopping
        );
        assert_eq!(map_state("stopped", None), InstanceState::Stopped);
        assert_eq!(map_state("Shelved_offloaded", None), InstanceState::Stopped);
        assert_eq!(
            map_state("stopped", Some("powering-on")),
            InstanceState::Pending
        );
        assert_eq!(map_state("hard_rebooting", None), InstanceState::Pending);
        assert_eq!(
            map_state("active", Some("deleting")),
            InstanceState::Terminating
        );
        assert_eq!(map_state("deleted", None), InstanceState::Terminated);
        assert_eq!(map_state("error", None), InstanceState::Error);
        assert_eq!(map_state("something-new", None), InstanceState::Pending);
    }

    #[test]
    fn flavors_need_cpu_and_memory() {
        let good = json!({"id": "a", "name": "t1i.small", "vcpus": 1, "memory_mb": 2048});
        let s = parse_flavors(std::slice::from_ref(&good)).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].memory_mib, 2048);
        // A broken flavor fails the list (it used to be left out silently).
        let f = vec![good, json!({"id": "b", "name": "broken"})];
        let e = parse_flavors(&f).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    }
}
