//! Nova compute (with Glance for images) as a gureum [`ComputeDriver`].
//!
//! * Microversion: every request carries `OpenStack-API-Version: compute <v>` (and the legacy
//!   `X-OpenStack-Nova-API-Version`); default `2.3`, the lowest that returns
//!   `OS-EXT-SRV-ATTR:user_data`.
//! * Idempotent create: Nova has no client token, so the token is stored in the server's
//!   metadata (`gureum-idempotency-token`) and looked up (by name, then metadata) before a
//!   create, and again after a create whose response was lost.
//! * States: `BUILD`→Pending, `ACTIVE`→Running, `SHUTOFF`/`STOPPED`/`SUSPENDED`/`PAUSED`/
//!   `SHELVED*`→Stopped, `REBOOT`/`HARD_REBOOT`/`REBUILD`/`RESIZE`/`MIGRATING`/…→Pending,
//!   `ERROR`→Error, `DELETED`/`SOFT_DELETED`→Terminated; the task state refines these
//!   (`powering-off`→Stopping, `deleting`→Terminating, `powering-on`→Pending).

use crate::auth::Session;
use crate::client::{check, http_error, read_json, send};
use crate::error::OsError;
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

/// A malformed Nova (or Glance) answer: `Unavailable`, like every answer that cannot be
/// understood.
fn malformed(op: &str, message: &str) -> Error {
    OsError::Decode {
        service: "nova",
        op: op.to_string(),
        message: message.to_string(),
    }
    .into()
}
use std::fmt;
use std::sync::Arc;
use url::Url;

/// The metadata key that carries the idempotency token.
///
/// Example: see [`NovaDriver`].
pub const TOKEN_KEY: &str = "gureum-idempotency-token";

/// Map Nova `status` + `OS-EXT-STS:task_state` to the portable state.
///
/// Example: see [`NovaDriver`].
pub fn map_state(status: &str, task_state: Option<&str>) -> InstanceState {
    match task_state {
        Some("deleting") | Some("soft-deleting") => return InstanceState::Terminating,
        Some("powering-off") | Some("shelving") | Some("suspending") | Some("pausing") => {
            return InstanceState::Stopping
        }
        Some("powering-on")
        | Some("spawning")
        | Some("scheduling")
        | Some("block_device_mapping")
        | Some("networking") => return InstanceState::Pending,
        _ => {}
    }
    match status.to_ascii_uppercase().as_str() {
        "ACTIVE" => InstanceState::Running,
        "BUILD" | "REBOOT" | "HARD_REBOOT" | "REBUILD" | "RESIZE" | "VERIFY_RESIZE"
        | "REVERT_RESIZE" | "MIGRATING" | "PASSWORD" | "RESCUE" => InstanceState::Pending,
        "SHUTOFF" | "STOPPED" | "SUSPENDED" | "PAUSED" | "SHELVED" | "SHELVED_OFFLOADED" => {
            InstanceState::Stopped
        }
        "DELETED" | "SOFT_DELETED" => InstanceState::Terminated,
        "ERROR" => InstanceState::Error,
        _ => InstanceState::Pending, // UNKNOWN and future states: not stable
    }
}

/// Guess a portable alias (`ubuntu-22.04`) from Glance properties or the image name.
///
/// Example: see [`NovaDriver`].
pub fn image_alias(
    name: &str,
    os_distro: Option<&str>,
    os_version: Option<&str>,
) -> Option<String> {
    if let (Some(d), Some(v)) = (os_distro, os_version) {
        return Some(format!(
            "{}-{}",
            d.to_ascii_lowercase(),
            v.to_ascii_lowercase()
        ));
    }
    let n = name.to_ascii_lowercase();
    for distro in [
        "ubuntu",
        "debian",
        "rocky",
        "centos",
        "almalinux",
        "rhel",
        "fedora",
    ] {
        if n.contains(distro) {
            let ver: String = n
                .split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .find(|t| !t.is_empty() && t.chars().next().is_some_and(|c| c.is_ascii_digit()))
                .unwrap_or("")
                .trim_end_matches('.')
                .to_string();
            if !ver.is_empty() {
                return Some(format!("{distro}-{ver}"));
            }
        }
    }
    None
}

/// A Nova compute service of one project and region.
///
/// # Examples
///
/// Against the in-process Keystone v3 + Nova simulator of `gureum-testkit`:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{Compute, InstanceSpec, InstanceState, ResourceUrl, Size};
/// use gureum_openstack::auth::{AuthOptions, Credential, Session};
/// use gureum_openstack::nova::{image_alias, map_state, NovaDriver, TOKEN_KEY};
/// use gureum_testkit::sim::openstack::{SimConfig, Simulator};
/// use std::sync::Arc;
/// let sim = Simulator::start(SimConfig::default()).await.unwrap();
/// let cred = Credential::V3ApplicationCredential {
///     id: Some("ac-id-1".into()), name: None, user_id: None, username: None, user_domain_name: None,
///     secret: "ac-secret-1".to_string().into(),
/// };
/// let session = Arc::new(Session::new(AuthOptions::new(url::Url::parse(&sim.v3_auth_url()).unwrap(), cred))?);
/// let driver = NovaDriver::new(session.clone())
///     .with_microversion("2.79") // >= 2.3: user data can be read back
///     .with_networks(vec![])      // the project's default network
///     .with_key_name("ops-key");
/// assert!(Arc::ptr_eq(driver.session(), &session));
/// let c = Compute::new(Arc::new(driver));
/// let spec = InstanceSpec::new("ocr-worker").size(Size::vcpus(2).memory_gib(4)).image("ubuntu-22.04").idempotency_token("t1");
/// let vm = c.create(spec).await?;
/// assert_eq!((vm.state, vm.size.as_deref()), (InstanceState::Pending, Some("3"))); // BUILD; m1.medium
/// assert!(!vm.tags.contains_key(TOKEN_KEY)); // the idempotency token stays internal
/// assert_eq!(map_state("ACTIVE", Some("powering-off")), InstanceState::Stopping);
/// assert_eq!(image_alias("Ubuntu 24.04 LTS", None, None).as_deref(), Some("ubuntu-24.04"));
/// assert_eq!(image_alias("x", Some("Rocky"), Some("9")).as_deref(), Some("rocky-9"));
/// // From a URL (`open_nova`; `NovaComputeOpener` serves nova:// in the registry):
/// let url = format!("nova://?auth_url={}&application_credential_id=ac-id-1&application_credential_secret=ac-secret-1", sim.v3_auth_url());
/// let c = gureum_openstack::open_nova(&ResourceUrl::parse(&url)?).await?;
/// assert_eq!(c.get(&vm.id).await?.id, vm.id);
/// # Ok(()) }
/// ```
pub struct NovaDriver {
    session: Arc<Session>,
    microversion: String,
    networks: Vec<String>,
    key_name: Option<String>,
}

impl fmt::Debug for NovaDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NovaDriver")
            .field("session", &self.session)
            .field("microversion", &self.microversion)
            .finish()
    }
}

impl NovaDriver {
    /// A driver using `session` (compute endpoint from its catalog).
    ///
    /// Example: see [`NovaDriver`].
    pub fn new(session: Arc<Session>) -> Self {
        NovaDriver {
            session,
            microversion: "2.3".into(),
            networks: vec![],
            key_name: None,
        }
    }
    /// Request another compute microversion (`2.x`; must be ≥ 2.3 for user data read-back).
    ///
    /// Example: see [`NovaDriver`].
    pub fn with_microversion(mut self, v: impl Into<String>) -> Self {
        self.microversion = v.into();
        self
    }
    /// Attach new servers to these network ids.
    ///
    /// Example: see [`NovaDriver`].
    pub fn with_networks(mut self, nets: Vec<String>) -> Self {
        self.networks = nets;
        self
    }
    /// Inject this keypair into new servers.
    ///
    /// Example: see [`NovaDriver`].
    pub fn with_key_name(mut self, k: impl Into<String>) -> Self {
        self.key_name = Some(k.into());
        self
    }
    /// The session.
    ///
    /// Example: see [`NovaDriver`].
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    async fn url(&self, path: &str) -> Result<Url> {
        let base = self.session.endpoint("compute").await?;
        let s = format!(
            "{}/{}",
            base.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        Url::parse(&s).map_err(|e| Error::invalid(format!("compute URL: {e}")))
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        retry: bool,
        op: &str,
    ) -> Result<reqwest::Response> {
        let u = self.url(path).await?;
        let mv = self.microversion.clone();
        let body = body.map(|b| serde_json::to_vec(&b).unwrap_or_default());
        send(&self.session, "nova", op, retry, |c| {
            let mut rb = c
                .request(method.clone(), u.clone())
                .header("accept", "application/json")
                .header("openstack-api-version", format!("compute {mv}"))
                .header("x-openstack-nova-api-version", mv.clone());
            if let Some(b) = &body {
                rb = rb
                    .header("content-type", "application/json")
                    .body(b.clone());
            }
            rb
        })
        .await
    }

    async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        op: &str,
    ) -> Result<Value> {
        let retry = method == reqwest::Method::GET;
        let r = self.call(method, path, body, retry, op).await?;
        let r = check(r, "nova", op).await?;
        read_json(&self.session, r, "nova", op).await
    }

    fn parse_server(v: &Value) -> Option<Instance> {
        let id = v["id"].as_str()?.to_string();
        let status = v["status"].as_str().unwrap_or("UNKNOWN");
        let task = v["OS-EXT-STS:task_state"].as_str();
        let mut tags: BTreeMap<String, String> = v["metadata"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, x)| x.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        tags.remove(TOKEN_KEY);
        let mut addresses = Vec::new();
        if let Some(nets) = v["addresses"].as_object() {
            for list in nets.values() {
                for a in list.as_array().into_iter().flatten() {
                    if let Some(ip) = a["addr"].as_str() {
                        addresses.push(ip.to_string());
                    }
                }
            }
        }
        let provider_state = match task {
            Some(t) => format!("{status}/{t}"),
            None => status.to_string(),
        };
        Some(Instance {
            id,
            name: v["name"].as_str().unwrap_or("").to_string(),
            state: map_state(status, task),
            provider_state,
            size: v["flavor"]["id"]
                .as_str()
                .or(v["flavor"]["original_name"].as_str())
                .map(str::to_string),
            image: v["image"]["id"].as_str().map(str::to_string),
            tags,
            addresses,
            created_at: v["created"]
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&Utc)),
        })
    }

    async fn servers(&self, query: &str) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..1000 {
            let mut q = format!("servers/detail?limit=1000{query}");
            if let Some(m) = &marker {
                q.push_str(&format!("&marker={m}"));
            }
            let v = self
                .json(reqwest::Method::GET, &q, None, "GET servers/detail")
                .await?;
            // A page that is not a list of servers with ids is a malformed answer, never
            // an empty (or shortened) list.
            let Some(page) = v["servers"].as_array().cloned() else {
                return Err(malformed("GET servers/detail", "no servers list"));
            };
            if page.iter().any(|s| !s["id"].is_string()) {
                return Err(malformed("GET servers/detail", "a server without id"));
            }
            let n = page.len();
            marker = page
                .last()
                .and_then(|s| s["id"].as_str())
                .map(str::to_string);
            out.extend(page);
            let has_next = v["servers_links"]
                .as_array()
                .is_some_and(|l| l.iter().any(|x| x["rel"] == "next"));
            if n == 0 || !has_next {
                break;
            }
        }
        Ok(out)
    }

    async fn find_by_token(&self, name: &str, token: &str) -> Result<Option<Instance>> {
        let re = regex_escape(name);
        let q = format!(
            "&name={}",
            percent_encoding::utf8_percent_encode(
                &format!("^{re}$"),
                percent_encoding::NON_ALPHANUMERIC
            )
        );
        let list = self.servers(&q).await?;
        Ok(list
            .iter()
            .find(|s| s["metadata"][TOKEN_KEY].as_str() == Some(token))
            .and_then(Self::parse_server))
    }

    async fn action(&self, id: &str, body: Value, want: InstanceState, name: &str) -> Result<()> {
        let op = format!("POST servers/{{id}}/action {name}");
        let r = self
            .call(
                reqwest::Method::POST,
                &format!("servers/{id}/action"),
                Some(body),
                false,
                &op,
            )
            .await?;
        let s = r.status().as_u16();
        if s == 409 {
            // Conflicting state: fine if the server is already where the caller wants it.
            let cur = self.get(id).await?;
            if cur.state == want {
                return Ok(());
            }
            let e = http_error(r, "nova", &op).await;
            return Err(
                Error::new(ErrorKind::PreconditionFailed, e.message().to_string())
                    .with_provider_code("409"),
            );
        }
        check(r, "nova", &op).await.map(|_| ())
    }

    async fn image_url(&self) -> Option<Url> {
        self.session.endpoint("image").await.ok()
    }
}

fn regex_escape(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

#[async_trait]
impl ComputeDriver for NovaDriver {
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
        if let Some(t) = &spec.idempotency_token {
            if let Some(i) = self.find_by_token(&spec.name, t).await? {
                tracing::debug!(id = %i.id, "idempotent create: found existing server");
                return Ok(i);
            }
        }
        let mut sizes = self.sizes().await?;
        let size_spec = match &spec.size {
            SizeSpec::Native(n) => {
                // Accept a flavor name as well as its id.
                let by_name = self.flavor_id_by_name(n).await?;
                SizeSpec::Native(by_name.unwrap_or_else(|| n.clone()))
            }
            p => p.clone(),
        };
        sizes.sort_by(|a, b| a.id.cmp(&b.id));
        let flavor = resolve_size(&size_spec, &sizes)?;
        let image = resolve_image(&spec.image, &self.images().await?)?;
        let mut meta = serde_json::Map::new();
        for (k, v) in &spec.tags {
            if k.len() > 255 || v.len() > 255 {
                return Err(Error::invalid(format!(
                    "tag {k:?}: Nova metadata keys and values are at most 255 characters"
                )));
            }
            meta.insert(k.clone(), json!(v));
        }
        if let Some(t) = &spec.idempotency_token {
            meta.insert(TOKEN_KEY.into(), json!(t));
        }
        let mut server = json!({
            "name": spec.name,
            "flavorRef": flavor.id,
            "imageRef": image.id,
            "metadata": meta,
        });
        if let Some(ud) = &spec.user_data {
            server["user_data"] = json!(base64::engine::general_purpose::STANDARD.encode(ud));
        }
        if !self.networks.is_empty() {
            server["networks"] = json!(self
                .networks
                .iter()
                .map(|n| json!({"uuid": n}))
                .collect::<Vec<_>>());
        }
        if let Some(k) = &self.key_name {
            server["key_name"] = json!(k);
        }
        let op = "POST servers";
        let r = match self
            .call(
                reqwest::Method::POST,
                "servers",
                Some(json!({ "server": server })),
                false,
                op,
            )
            .await
        {
            Ok(r) => r,
            Err(e) if e.is_retryable() => {
                // The request may have reached Nova: look for our token before failing.
                if let Some(t) = &spec.idempotency_token {
                    if let Some(i) = self.find_by_token(&spec.name, t).await? {
                        return Ok(i);
                    }
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let r = check(r, "nova", op).await?;
        let v: Value = read_json(&self.session, r, "nova", op).await?;
        let id = v["server"]["id"].as_str().ok_or_else(|| {
            Error::from(OsError::Decode {
                service: "nova",
                op: op.into(),
                message: "no server.id".into(),
            })
        })?;
        self.get(id).await
    }

    async fn get(&self, id: &str) -> Result<Instance> {
        if id.is_empty() || id.contains('/') {
            return Err(Error::invalid(format!("bad server id {id:?}")));
        }
        let v = self
            .json(
                reqwest::Method::GET,
                &format!("servers/{id}"),
                None,
                "GET servers/{id}",
            )
            .await?;
        Self::parse_server(&v["server"]).ok_or_else(|| {
            Error::from(OsError::Decode {
                service: "nova",
                op: "GET servers/{id}".into(),
                message: "no server".into(),
            })
        })
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<Instance>> {
        let all = self.servers("").await?;
        Ok(all
            .iter()
            .filter_map(Self::parse_server)
            .filter(|i| filter.include_terminated || i.state != InstanceState::Terminated)
            .filter(|i| filter.tags.iter().all(|(k, v)| i.tags.get(k) == Some(v)))
            .collect())
    }

    async fn start(&self, id: &str) -> Result<()> {
        self.action(
            id,
            json!({"os-start": null}),
            InstanceState::Running,
            "os-start",
        )
        .await
    }

    async fn stop(&self, id: &str) -> Result<()> {
        self.action(
            id,
            json!({"os-stop": null}),
            InstanceState::Stopped,
            "os-stop",
        )
        .await
    }

    async fn reboot(&self, id: &str) -> Result<()> {
        let op = "POST servers/{id}/action reboot";
        let r = self
            .call(
                reqwest::Method::POST,
                &format!("servers/{id}/action"),
                Some(json!({"reboot": {"type": "SOFT"}})),
                false,
                op,
            )
            .await?;
        if r.status().as_u16() == 409 {
            let e = http_error(r, "nova", op).await;
            return Err(
                Error::new(ErrorKind::PreconditionFailed, e.message().to_string())
                    .with_provider_code("409"),
            );
        }
        check(r, "nova", op).await.map(|_| ())
    }

    async fn terminate(&self, id: &str) -> Result<()> {
        let op = "DELETE servers/{id}";
        let r = self
            .call(
                reqwest::Method::DELETE,
                &format!("servers/{id}"),
                None,
                true,
                op,
            )
            .await?;
        check(r, "nova", op).await.map(|_| ())
    }

    async fn sizes(&self) -> Result<Vec<SizeInfo>> {
        let v = self
            .json(
                reqwest::Method::GET,
                "flavors/detail",
                None,
                "GET flavors/detail",
            )
            .await?;
        let Some(flavors) = v["flavors"].as_array() else {
            return Err(malformed("GET flavors/detail", "no flavors list"));
        };
        flavors
            .iter()
            .map(|f| {
                (|| {
                    Some(SizeInfo {
                        id: f["id"].as_str()?.to_string(),
                        vcpus: u32::try_from(f["vcpus"].as_u64()?).ok()?,
                        memory_mib: f["ram"].as_u64()?,
                    })
                })()
                .ok_or_else(|| malformed("GET flavors/detail", "a flavor without id, vcpus or ram"))
            })
            .collect()
    }

    async fn images(&self) -> Result<Vec<ImageInfo>> {
        // A list of images, each with its id: anything else is a malformed answer, never
        // a shorter list.
        let parse = |arr: &Value| -> Result<Vec<ImageInfo>> {
            let Some(list) = arr.as_array() else {
                return Err(malformed("GET images", "no images list"));
            };
            if list.iter().any(|i| !i["id"].is_string()) {
                return Err(malformed("GET images", "an image without id"));
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
                    let alias = image_alias(
                        &name,
                        i["os_distro"]
                            .as_str()
                            .or(i["metadata"]["os_distro"].as_str()),
                        i["os_version"]
                            .as_str()
                            .or(i["metadata"]["os_version"].as_str()),
                    );
                    Some(ImageInfo {
                        id: i["id"].as_str()?.to_string(),
                        name,
                        alias,
                    })
                })
                .collect())
        };
        if let Some(base) = self.image_url().await {
            // Glance v2, paginated through `next`.
            let root = base
                .as_str()
                .trim_end_matches('/')
                .trim_end_matches("/v2")
                .to_string();
            let mut next = Some("/v2/images?limit=500".to_string());
            let mut out = Vec::new();
            for _ in 0..100 {
                let Some(n) = next.take() else { break };
                let u = Url::parse(&format!("{root}{n}"))
                    .map_err(|e| Error::invalid(format!("image URL: {e}")))?;
                let r = send(&self.session, "glance", "GET v2/images", true, |c| {
                    c.get(u.clone()).header("accept", "application/json")
                })
                .await?;
                let r = check(r, "glance", "GET v2/images").await?;
                let v: Value = read_json(&self.session, r, "glance", "GET v2/images").await?;
                out.extend(parse(&v["images"])?);
                next = v["next"].as_str().map(str::to_string);
            }
            return Ok(out);
        }
        // No image service in the catalog: Nova's image proxy (deprecated after 2.35).
        let v = self
            .json(
                reqwest::Method::GET,
                "images/detail",
                None,
                "GET images/detail",
            )
            .await?;
        parse(&v["images"])
    }

    async fn user_data(&self, id: &str) -> Result<Option<Bytes>> {
        let v = self
            .json(
                reqwest::Method::GET,
                &format!("servers/{id}"),
                None,
                "GET servers/{id}",
            )
            .await?;
        let s = &v["server"];
        match s.get("OS-EXT-SRV-ATTR:user_data") {
            Some(Value::Null) => Ok(None),
            Some(Value::String(b)) => base64::engine::general_purpose::STANDARD
                .decode(b)
                .map(|d| Some(Bytes::from(d)))
                .map_err(|e| Error::other(format!("user_data is not base64: {e}"))),
            _ => Err(Error::unsupported(
                "Nova did not return OS-EXT-SRV-ATTR:user_data (needs microversion >= 2.3 and the extended server attributes policy)",
            )),
        }
    }
}

impl NovaDriver {
    async fn flavor_id_by_name(&self, name: &str) -> Result<Option<String>> {
        let v = self
            .json(
                reqwest::Method::GET,
                "flavors/detail",
                None,
                "GET flavors/detail",
            )
            .await?;
        Ok(v["flavors"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["name"].as_str() == Some(name) && f["id"].as_str() != Some(name))
            .and_then(|f| f["id"].as_str().map(str::to_string)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        assert_eq!(map_state("BUILD", Some("spawning")), InstanceState::Pending);
        assert_eq!(map_state("ACTIVE", None), InstanceState::Running);
        assert_eq!(
            map_state("ACTIVE", Some("powering-off")),
            InstanceState::Stopping
        );
        assert_eq!(map_state("SHUTOFF", None), InstanceState::Stopped);
        assert_eq!(
            map_state("SHUTOFF", Some("powering-on")),
            InstanceState::Pending
        );
        assert_eq!(map_state("REBOOT", None), InstanceState::Pending);
        assert_eq!(map_state("HARD_REBOOT", None), InstanceState::Pending);
        assert_eq!(map_state("ERROR", None), InstanceState::Error);
        assert_eq!(map_state("DELETED", None), InstanceState::Terminated);
        assert_eq!(map_state("SOFT_DELETED", None), InstanceState::Terminated);
        assert_eq!(
            map_state("ACTIVE", Some("deleting")),
            InstanceState::Terminating
        );
        assert_eq!(map_state("SHELVED_OFFLOADED", None), InstanceState::Stopped);
    }

    #[test]
    fn aliases() {
        assert_eq!(
            image_alias("Ubuntu Server 22.04 LTS (2026.11)", None, None).as_deref(),
            Some("ubuntu-22.04")
        );
        assert_eq!(
            image_alias("x", Some("Rocky"), Some("9")).as_deref(),
            Some("rocky-9")
        );
        assert_eq!(image_alias("my-golden-image", None, None), None);
        assert_eq!(regex_escape("a.b(c)"), "a\\.b\\(c\\)");
    }
}
