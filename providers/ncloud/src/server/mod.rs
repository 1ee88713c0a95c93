//! Naver Cloud Server (VPC) API compute driver: `ncloud-server://?region=KR`.
//!
//! Talks to the `/vserver/v2` actions of the NCP API Gateway, signing every request with the
//! [`crate::signer`] HMAC signature and asking for `responseFormatType=json`.
//!
//! | URL parameter | meaning |
//! | --- | --- |
//! | `region` | `KR` (default), `SGN`, `JPN`, `USWN`, `DEN` (public site); `gov` / `gov-KR` and `gov2` / `gov-KRS` (government site); `fin` (financial site) |
//! | `site` | `public`, `gov` or `fin`, to pair with a bare region code (`site=gov&region=KRS`) |
//! | `endpoint` | API base URL override, e.g. a private endpoint or the test simulator (env `NCLOUD_API_GW` also works, as in the official SDK) |
//! | `vpc_no`, `subnet_no` | where servers are created (required by `createServerInstances`) |
//! | `login_key` | login key name (NCP default: the most recent key) |
//! | `acg_no` | access control group of the first network interface (default: the VPC default ACG) |
//! | `access_key_env`, `secret_key_env`, ... | see [`crate::credentials`] |
//! | `poll_ms`, `timeout_s` | polling interval and bound of the stop-before-terminate wait |
//! | `allow_http` | allow plaintext to a non-loopback endpoint |
//!
//! Mappings:
//! * State: status × operation codes → [`InstanceState`] (see [`map_state`]).
//! * Sizes: `getServerSpecList` (KVM / g3 spec codes; vCPU and memory in bytes).
//! * Images: `getServerImageList` (image numbers; aliases like `ubuntu-22.04` from the name).
//! * Tags, the portable name and the idempotency token: NCP servers carry no tags in this API,
//!   so gureum keeps them as JSON in `serverDescription` (`gureum:{"n":..,"t":{..},"k":..}`,
//!   at most 1000 characters) and looks the token up by `serverName` before creating.
//! * User data: created as an init script (`createInitScript`, ASCII text only, as the API
//!   accepts) whose number is passed as `initScriptNo`; read back through the server's
//!   `initScriptNo` and `getInitScriptDetail`.
//! * Terminate: NCP terminates only stopped servers, so the driver stops a running server first
//!   and waits until it is `NSTOP`.

pub mod error;
pub mod model;

use crate::signer::{now_ms, Credentials};
use async_trait::async_trait;
use bytes::Bytes;
use gureum_core::compute::{resolve_image, resolve_size};
use gureum_core::http::{Authorizer, HttpClient, HttpConfig, RequestOptions};
use gureum_core::url::ComputeOpener;
use gureum_core::{
    Compute, ComputeCapabilities, ComputeDriver, Error, ErrorKind, ImageInfo, Instance,
    InstanceSpec, InstanceState, ListFilter, ResourceUrl, Result, SizeInfo, SizeSpec,
};
use model::{ActionResponse, ServerInstance, ServerSpec};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Public site API Gateway.
///
/// Example: see [`Site`].
pub const PUBLIC_ENDPOINT: &str = "https://ncloud.apigw.ntruss.com";
/// Government site API Gateway.
///
/// Example: see [`Site`].
pub const GOV_ENDPOINT: &str = "https://ncloud.apigw.gov-ntruss.com";
/// Financial site API Gateway (VPC only).
///
/// Example: see [`Site`].
pub const FIN_ENDPOINT: &str = "https://fin-ncloud.apigw.fin-ntruss.com";
/// Path prefix of the VPC Server API.
///
/// Example: see [`Site`].
pub const API_PATH: &str = "/vserver/v2";
/// Prefix of gureum metadata in `serverDescription`.
///
/// Example: see [`NcloudServer`].
pub const META_PREFIX: &str = "gureum:";
/// Longest `serverDescription` the API accepts.
///
/// Example: see [`Site`].
pub const MAX_DESCRIPTION: usize = 1000;

/// Which NCP site (separate clouds with separate accounts and endpoints).
///
/// # Examples
///
/// ```
/// use gureum_ncloud::server::{parse_region, query_string, ServerConfig, Site, API_PATH, FIN_ENDPOINT, GOV_ENDPOINT, MAX_DESCRIPTION, PUBLIC_ENDPOINT};
/// use gureum_ncloud::signer::Credentials;
/// assert_eq!(parse_region(Some("kr"), None).unwrap(), (Site::Public, "KR".to_string()));
/// assert_eq!(parse_region(Some("gov2"), None).unwrap(), (Site::Gov, "KRS".to_string()));
/// assert!(parse_region(Some("gov"), Some("fin")).is_err()); // a gov region on the fin site
/// assert_eq!(Site::Public.endpoint(), PUBLIC_ENDPOINT);
/// assert_eq!((Site::Gov.endpoint(), Site::Fin.endpoint()), (GOV_ENDPOINT, FIN_ENDPOINT));
/// let c = ServerConfig::new(Site::Gov, "KR", Credentials::new("AK", "SK")).unwrap();
/// assert_eq!(c.endpoint.as_str(), "https://ncloud.apigw.gov-ntruss.com/");
/// assert_eq!(API_PATH, "/vserver/v2"); // appended to the endpoint
/// let q = query_string(&[("serverName".into(), "민원 1".into()), ("regionCode".into(), "KR".into())]);
/// assert_eq!(q, "serverName=%EB%AF%BC%EC%9B%90%201&regionCode=KR"); // RFC 3986: what is signed is sent
/// assert!(MAX_DESCRIPTION >= 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// ncloud.com.
    Public,
    /// The government cloud (공공기관용).
    Gov,
    /// The financial cloud.
    Fin,
}

impl Site {
    /// Default API Gateway base URL.
    ///
    /// Example: see [`Site`].
    pub fn endpoint(self) -> &'static str {
        match self {
            Site::Public => PUBLIC_ENDPOINT,
            Site::Gov => GOV_ENDPOINT,
            Site::Fin => FIN_ENDPOINT,
        }
    }
}

/// Parse the `region` / `site` URL parameters into a site and a `regionCode`.
///
/// Example: see [`Site`].
pub fn parse_region(region: Option<&str>, site: Option<&str>) -> Result<(Site, String)> {
    let site = match site.map(|s| s.to_ascii_lowercase()) {
        None => None,
        Some(s) if s == "public" || s == "pub" => Some(Site::Public),
        Some(s) if s == "gov" => Some(Site::Gov),
        Some(s) if s == "fin" => Some(Site::Fin),
        Some(s) => {
            return Err(Error::invalid(format!(
                "unknown ncloud site {s:?} (public, gov, fin)"
            )))
        }
    };
    let r = region.unwrap_or("KR").trim();
    let lower = r.to_ascii_lowercase();
    let (s, code) = match lower.as_str() {
        "gov" | "gov-kr" | "gov-standard" => (Site::Gov, "KR".to_string()),
        "gov2" | "gov-krs" | "gov2-standard" => (Site::Gov, "KRS".to_string()),
        "fin" | "fin-kr" | "fin-standard" => (Site::Fin, "FKR".to_string()),
        _ => {
            if r.is_empty() || !r.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(Error::invalid(format!("ncloud region {r:?} is malformed")));
            }
            (site.unwrap_or(Site::Public), r.to_ascii_uppercase())
        }
    };
    if let Some(explicit) = site {
        if explicit != s {
            return Err(Error::invalid(format!(
                "region {r:?} belongs to another site than site={explicit:?}"
            )));
        }
    }
    Ok((s, code))
}

/// Map NCP status and operation codes to the portable state.
///
/// | status | operation | state |
/// | --- | --- | --- |
/// | `INIT`, `CREAT` | any | Pending |
/// | `RUN` | `NULL` | Running |
/// | `RUN` | `RESTA`, `HREST` (rebooting) | Pending |
/// | `RUN` | `SHTDN`, `HSHTD` | Stopping |
/// | `RUN` | `TERMT` | Terminating |
/// | `NSTOP` | `NULL` | Stopped |
/// | `NSTOP` | `START`, `RESTA`, `HREST` | Pending |
/// | `NSTOP` | `TERMT` | Terminating |
/// | `TERMT` | any | Terminated |
/// | `FSTOP`, `SD_FL`, `RS_FL`, `ST_FL`, `*_FL` | any | Error |
/// | anything else | any | Pending (transitional codes such as `SETUP`, `COPY`, `MIGRA`, `CHNG`) |
///
/// Example: see [`NcloudServer`].
pub fn map_state(status: &str, op: &str) -> InstanceState {
    match (status, op) {
        ("TERMT", _) => InstanceState::Terminated,
        ("FSTOP", _) => InstanceState::Error,
        (s, _) if s.ends_with("_FL") => InstanceState::Error,
        ("INIT", _) | ("CREAT", _) => InstanceState::Pending,
        (_, "TERMT") => InstanceState::Terminating,
        ("RUN", "SHTDN") | ("RUN", "HSHTD") => InstanceState::Stopping,
        ("RUN", "NULL") | ("RUN", "") => InstanceState::Running,
        ("NSTOP", "NULL") | ("NSTOP", "") => InstanceState::Stopped,
        ("NSTOP", _) => InstanceState::Pending,
        _ => InstanceState::Pending,
    }
}

/// gureum's metadata kept in `serverDescription`.
///
/// Example: see [`NcloudServer`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Meta {
    /// Portable instance name (NCP server names are restricted).
    #[serde(rename = "n", default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Tags.
    #[serde(rename = "t", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Idempotency token.
    #[serde(rename = "k", default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Meta {
    /// Encode as `gureum:{json}`.
    ///
    /// Example: see [`NcloudServer`].
    pub fn encode(&self) -> String {
        format!(
            "{META_PREFIX}{}",
            serde_json::to_string(self).unwrap_or_default()
        )
    }
    /// Decode a description; `None` if it is not gureum's.
    ///
    /// Example: see [`NcloudServer`].
    pub fn decode(desc: &str) -> Option<Meta> {
        desc.strip_prefix(META_PREFIX)
            .and_then(|j| serde_json::from_str(j).ok())
    }
}

/// An NCP-acceptable server name for a portable name: lowercase letters, digits and `-`,
/// starting with a letter, ending with a letter or digit, 3 to 30 characters. Names that
/// already qualify are kept.
///
/// Example: see [`NcloudServer`].
pub fn server_name_for(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "g-");
    }
    out.truncate(30);
    while out.ends_with('-') {
        out.pop();
    }
    while out.len() < 3 {
        out.push('0');
    }
    out
}

fn image_alias(name: &str) -> Option<String> {
    // e.g. "ubuntu-22.04-base" -> "ubuntu-22.04", "rocky-8.10-base" -> "rocky-8.10"
    let lower = name.to_ascii_lowercase();
    let mut parts = lower.split(['-', ' ', '_']);
    let family = parts.next()?;
    let version = parts.next()?;
    if family.is_empty() || !family.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    if version.is_empty() || !version.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    Some(format!("{family}-{version}"))
}

fn parse_ncp_date(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z")
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
}

/// RFC 3986 encoding of a query component (everything but unreserved characters escaped), so
/// the signed string equals the string sent.
fn enc(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

/// Build a query string from ordered pairs.
///
/// Example: see [`Site`].
pub fn query_string(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Configuration of a [`ServerClient`].
///
/// Example: see [`Site`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// API Gateway base URL (scheme, host, optional port; `/vserver/v2` is appended unless the
    /// path already ends with it).
    pub endpoint: url::Url,
    /// Which site the endpoint belongs to.
    pub site: Site,
    /// `regionCode` sent with every action.
    pub region_code: String,
    /// Access key pair.
    pub credentials: Credentials,
    /// VPC of new servers.
    pub vpc_no: Option<String>,
    /// Subnet of new servers.
    pub subnet_no: Option<String>,
    /// Login key of new servers.
    pub login_key_name: Option<String>,
    /// ACG of the first network interface of new servers.
    pub acg_no: Option<String>,
    /// Polling interval of internal waits.
    pub poll_interval: Duration,
    /// Bound of internal waits (stop before terminate).
    pub op_timeout: Duration,
    /// Timeouts, deadline and retries of the API calls (`retries`, `timeout`,
    /// `connect_timeout`, `deadline` URL/profile parameters; 60 s per attempt by default).
    pub http: HttpConfig,
}

impl ServerConfig {
    /// A config for `site`/`region_code` with the site's default endpoint.
    ///
    /// Example: see [`Site`].
    pub fn new(
        site: Site,
        region_code: impl Into<String>,
        credentials: Credentials,
    ) -> Result<Self> {
        let endpoint = url::Url::parse(site.endpoint())
            .map_err(|e| Error::invalid(format!("endpoint: {e}")))?;
        Ok(ServerConfig {
            endpoint,
            site,
            region_code: region_code.into(),
            credentials,
            vpc_no: None,
            subnet_no: None,
            login_key_name: None,
            acg_no: None,
            poll_interval: Duration::from_secs(5),
            op_timeout: Duration::from_secs(600),
            http: HttpConfig::default().request_timeout(Duration::from_secs(60)),
        })
    }

    /// Build from a `ncloud-server://` URL (credentials per [`crate::credentials`]).
    ///
    /// Example: see [`NcloudServer`].
    pub fn from_url(url: &ResourceUrl) -> Result<Self> {
        let (site, region) = parse_region(url.param("region"), url.param("site"))?;
        let creds = crate::credentials::resolve(url)?;
        let mut cfg = ServerConfig::new(site, region, creds)?;
        let endpoint = url.param("endpoint").map(str::to_string).or_else(|| {
            std::env::var("NCLOUD_API_GW")
                .ok()
                .filter(|s| !s.is_empty())
        });
        if let Some(ep) = endpoint {
            cfg.endpoint = url::Url::parse(&ep)
                .map_err(|e| Error::invalid(format!("endpoint {ep:?}: {e}")))?;
        }
        let allow_http = url.bool_param("allow_http")?.unwrap_or(false);
        gureum_core::transport::check_endpoint(&cfg.endpoint, allow_http)?;
        cfg.vpc_no = url.param("vpc_no").map(str::to_string);
        cfg.subnet_no = url.param("subnet_no").map(str::to_string);
        cfg.login_key_name = url.param("login_key").map(str::to_string);
        cfg.acg_no = url.param("acg_no").map(str::to_string);
        if let Some(ms) = url.u64_param("poll_ms")? {
            cfg.poll_interval = Duration::from_millis(ms.max(1));
        }
        cfg.http = cfg
            .http
            .clone()
            .with_params(&url.pick(gureum_core::http::PARAMS))?;
        if let Some(s) = url.u64_param("timeout_s")? {
            cfg.op_timeout = Duration::from_secs(s.max(1));
        }
        Ok(cfg)
    }

    fn base(&self) -> String {
        let s = self.endpoint.as_str().trim_end_matches('/');
        if s.ends_with(API_PATH) {
            s.to_string()
        } else {
            format!("{s}{API_PATH}")
        }
    }
}

/// A signed client of the Server (VPC) API.
///
/// Example: see [`NcloudServer`].
#[derive(Clone)]
pub struct ServerClient {
    cfg: ServerConfig,
    http: HttpClient,
}

/// The NCP signature v2 hook of one request: `x-ncp-apigw-timestamp`,
/// `x-ncp-iam-access-key` and `x-ncp-apigw-signature-v2` over method, request URI and a
/// fresh timestamp on every attempt (the gateway refuses signatures older than 5 minutes).
struct NcpSign<'a> {
    credentials: &'a Credentials,
    request_uri: &'a str,
}

impl fmt::Debug for NcpSign<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NcpSign")
            .field("request_uri", &self.request_uri)
            .finish()
    }
}

#[async_trait]
impl Authorizer for NcpSign<'_> {
    async fn authorize(&self, req: &mut reqwest::Request) -> Result<()> {
        let method = req.method().as_str().to_string();
        for (k, v) in self
            .credentials
            .headers(&method, self.request_uri, now_ms())
        {
            let mut v = http::HeaderValue::from_str(&v)
                .map_err(|_| Error::invalid("NCP credentials are not valid header values"))?;
            v.set_sensitive(true);
            req.headers_mut().insert(k, v);
        }
        Ok(())
    }
}

impl fmt::Debug for ServerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerClient")
            .field("endpoint", &self.cfg.endpoint.as_str())
            .field("region", &self.cfg.region_code)
            .field("credentials", &self.cfg.credentials)
            .finish()
    }
}

fn is_read_action(action: &str) -> bool {
    action.starts_with("get")
}

impl ServerClient {
    /// A client.
    ///
    /// Example: see [`NcloudServer`].
    pub fn new(cfg: ServerConfig) -> Result<Self> {
        let http = HttpClient::builder("ncloud-server")
            .config(cfg.http.clone())
            .build()?;
        Ok(ServerClient { cfg, http })
    }

    /// The configuration.
    ///
    /// Example: see [`NcloudServer`].
    pub fn config(&self) -> &ServerConfig {
        &self.cfg
    }

    /// Call `action` with `params` (plus `regionCode` and `responseFormatType=json`) using the
    /// documented GET form, and return the `<action>Response` object. Read actions are
    /// retried on throttling and 5xx (at most 3 attempts).
    ///
    /// Example: see [`NcloudServer`].
    pub async fn call(&self, action: &str, params: &[(String, String)]) -> Result<ActionResponse> {
        self.call_with(reqwest::Method::GET, action, params).await
    }

    /// Like [`ServerClient::call`], with the parameters in a form-encoded POST body (used for
    /// large values such as init script content; the signature then covers the path only).
    ///
    /// Example: see [`NcloudServer`].
    pub async fn call_post(
        &self,
        action: &str,
        params: &[(String, String)],
    ) -> Result<ActionResponse> {
        self.call_with(reqwest::Method::POST, action, params).await
    }

    /// One call through the shared HTTP layer: signed per attempt; read actions (`get*`)
    /// are retried on 429 (`Retry-After` honoured) and 5xx, others are sent once.
    async fn call_with(
        &self,
        method: reqwest::Method,
        action: &str,
        params: &[(String, String)],
    ) -> Result<ActionResponse> {
        let mut all: Vec<(String, String)> = vec![
            ("regionCode".into(), self.cfg.region_code.clone()),
            ("responseFormatType".into(), "json".into()),
        ];
        all.extend(params.iter().cloned());
        let qs = query_string(&all);
        let base = self.cfg.base();
        let base_url =
            url::Url::parse(&base).map_err(|e| Error::invalid(format!("endpoint: {e}")))?;
        let path = format!("{}/{action}", base_url.path().trim_end_matches('/'));
        let (request_uri, full_url, body) = if method == reqwest::Method::GET {
            (
                format!("{path}?{qs}"),
                format!("{base}/{action}?{qs}"),
                None,
            )
        } else {
            (path.clone(), format!("{base}/{action}"), Some(qs))
        };
        let full_url = url::Url::parse(&full_url)
            .map_err(|e| Error::invalid(format!("ncloud {action}: request URL: {e}")))?;
        let mut req = self.http.request(method.clone(), full_url);
        if let Some(b) = body {
            req = req
                .header(
                    http::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(b);
        }
        tracing::debug!(action, method = %method, "ncloud server api call");
        let req = req
            .build()
            .map_err(|e| Error::invalid(format!("ncloud {action}: {}", e.without_url())))?;
        let opts = RequestOptions::new(format!("ncloud {action}"))
            .idempotent(is_read_action(action))
            .raw_status(true);
        let sign = NcpSign {
            credentials: &self.cfg.credentials,
            request_uri: &request_uri,
        };
        let resp = self.http.send_with_auth(req, &opts, &sign).await?;
        let status = resp.status().as_u16();
        let bytes = self.http.bytes(resp, opts.operation()).await?;
        if !(200..300).contains(&status) {
            return Err(error::to_error(action, &error::decode(status, &bytes)));
        }
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| malformed(format!("ncloud {action}: response is not JSON: {e}")))?;
        let key = format!("{action}Response");
        let inner = match v.get(&key) {
            Some(i) => i.clone(),
            None => return Err(error::to_error(action, &error::decode(status, &bytes))),
        };
        let ok = match inner.get("returnCode") {
            Some(Value::String(s)) => s == "0",
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            _ => true,
        };
        if !ok {
            return Err(error::to_error(action, &error::decode(status, &bytes)));
        }
        serde_json::from_value(inner)
            .map_err(|e| malformed(format!("ncloud {action}: unexpected response shape: {e}")))
    }
}

/// An answer that cannot be understood (not JSON, wrong shape, an expected item missing):
/// `Unavailable`, as in every driver.
fn malformed(message: String) -> Error {
    Error::new(ErrorKind::Unavailable, message)
}

/// The `ncloud-server://` compute driver.
///
/// # Examples
///
/// Against the in-process NCP Server (VPC) API simulator of `gureum-testkit` (it checks the
/// API Gateway signature):
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{Compute, InstanceSpec, InstanceState, ResourceUrl, Size};
/// use gureum_ncloud::server::model::{ActionResponse, CommonCode, InitScript, ServerImage, ServerInstance, ServerSpec};
/// use gureum_ncloud::server::{map_state, server_name_for, Meta, NcloudServer, ServerClient, ServerConfig, META_PREFIX};
/// use gureum_testkit::sim::ncloud::{ServerSimulator, SimOptions};
/// use std::{collections::BTreeMap, sync::Arc};
/// let sim = ServerSimulator::start(SimOptions::default()).await.unwrap();
/// // The key pair as profile parameters, not in the URL:
/// let keys = BTreeMap::from([
///     ("access_key".to_string(), sim.options().access_key.clone()),
///     ("secret_key".to_string(), sim.options().secret_key.clone()),
/// ]);
/// let url = ResourceUrl::parse(&sim.compute_url())?.with_defaults(&keys);
/// let client = ServerClient::new(ServerConfig::from_url(&url)?)?;
/// assert_eq!(client.config().region_code, "KR");
/// let r: ActionResponse = client.call("getServerSpecList", &[]).await?; // signed GET
/// let spec: &ServerSpec = &r.server_spec_list[0];
/// assert!(spec.cpu_count > 0 && !spec.server_spec_code.is_empty());
/// let images: Vec<ServerImage> = client.call("getServerImageList", &[]).await?.server_image_list;
/// assert!(!images.is_empty());
/// let form = [("initScriptName".to_string(), "doc-init".to_string()), ("initScriptContent".to_string(), "#!/bin/sh\n".to_string())];
/// let created: Vec<InitScript> = client.call_post("createInitScript", &form).await?.init_script_list; // form body
/// assert_eq!(created[0].init_script_name, "doc-init");
/// // The portable driver (`NcloudServer::from_url` / `NcloudServerComputeOpener` do the same from the URL):
/// let driver = Arc::new(NcloudServer::new(client));
/// let compute = Compute::new(driver.clone());
/// let vm = compute
///     .create(InstanceSpec::new("OCR worker #1").size(Size::vcpus(2).memory_gib(8)).image("ubuntu-22.04").tag("app", "ocr"))
///     .await?;
/// let raw: ServerInstance = driver.raw(&vm.id).await?;
/// assert_eq!(raw.server_name, server_name_for("OCR worker #1")); // "ocr-worker--1": NCP's name rules
/// let desc = raw.server_description.clone().unwrap();
/// assert!(desc.starts_with(META_PREFIX)); // the portable name and tags live in the description
/// let meta = Meta::decode(&desc).unwrap();
/// assert_eq!((meta.name.as_str(), meta.tags["app"].as_str()), ("OCR worker #1", "ocr"));
/// assert_eq!(Meta::decode(&meta.encode()), Some(meta));
/// assert_eq!(map_state(raw.status(), raw.operation()), vm.state);
/// assert_eq!(map_state("NSTOP", "NULL"), InstanceState::Stopped);
/// assert_eq!(CommonCode::new("RUN", "Server run state").code, "RUN");
/// let _same: &ServerClient = driver.client();
/// assert!(NcloudServer::from_url(&url).is_ok()); // no request
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct NcloudServer {
    client: ServerClient,
}

fn id_param(id: &str) -> Result<Vec<(String, String)>> {
    if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
        return Err(Error::not_found(format!(
            "ncloud server instance {id:?} (ids are numbers)"
        )));
    }
    Ok(vec![("serverInstanceNoList.1".into(), id.to_string())])
}

impl NcloudServer {
    /// A driver over a client.
    ///
    /// Example: see [`NcloudServer`].
    pub fn new(client: ServerClient) -> Self {
        NcloudServer { client }
    }
    /// Open from a URL.
    ///
    /// Example: see [`NcloudServer`].
    pub fn from_url(url: &ResourceUrl) -> Result<Self> {
        Ok(Self::new(ServerClient::new(ServerConfig::from_url(url)?)?))
    }
    /// The signed API client (escape hatch).
    ///
    /// Example: see [`NcloudServer`].
    pub fn client(&self) -> &ServerClient {
        &self.client
    }

    fn to_instance(s: &ServerInstance) -> Instance {
        let meta = s
            .server_description
            .as_deref()
            .and_then(Meta::decode)
            .unwrap_or_default();
        let status = s.status();
        let op = s.operation();
        let name = if meta.name.is_empty() {
            s.server_name.clone()
        } else {
            meta.name.clone()
        };
        let mut provider_state = format!("{status}/{op}");
        if let Some(n) = &s.server_instance_status_name {
            provider_state.push_str(&format!(" ({n})"));
        }
        Instance {
            id: s.server_instance_no.clone(),
            name,
            state: map_state(status, op),
            provider_state,
            size: s
                .server_spec_code
                .clone()
                .or_else(|| s.server_product_code.clone()),
            image: s
                .server_image_no
                .clone()
                .or_else(|| s.server_image_product_code.clone()),
            tags: meta.tags,
            addresses: s
                .public_ip
                .iter()
                .filter(|ip| !ip.is_empty())
                .cloned()
                .collect(),
            created_at: s.create_date.as_deref().and_then(parse_ncp_date),
        }
    }

    /// Raw server record, `NotFound` if absent.
    ///
    /// Example: see [`NcloudServer`].
    pub async fn raw(&self, id: &str) -> Result<ServerInstance> {
        let r = self
            .client
            .call("getServerInstanceList", &id_param(id)?)
            .await?;
        r.server_instance_list
            .into_iter()
            .find(|s| s.server_instance_no == id)
            .ok_or_else(|| Error::not_found(format!("ncloud server instance {id}")))
    }

    async fn list_raw(&self, extra: &[(String, String)]) -> Result<Vec<ServerInstance>> {
        let mut out = Vec::new();
        let page_size = 100u64;
        for page in 1..=1000u64 {
            let mut p = extra.to_vec();
            p.push(("pageNo".into(), page.to_string()));
            p.push(("pageSize".into(), page_size.to_string()));
            let r = self.client.call("getServerInstanceList", &p).await?;
            let n = r.server_instance_list.len() as u64;
            out.extend(r.server_instance_list);
            let total = r.total_rows.unwrap_or(out.len() as u64);
            if n == 0 || n < page_size || out.len() as u64 >= total {
                break;
            }
        }
        Ok(out)
    }

    async fn specs(&self, image_no: Option<&str>) -> Result<Vec<ServerSpec>> {
        let mut p = vec![];
        if let Some(i) = image_no {
            p.push(("serverImageNo".to_string(), i.to_string()));
        }
        Ok(self
            .client
            .call("getServerSpecList", &p)
            .await?
            .server_spec_list)
    }

    fn size_info(s: &ServerSpec) -> SizeInfo {
        SizeInfo {
            id: s.server_spec_code.clone(),
            vcpus: s.cpu_count,
            memory_mib: s.memory_size / (1024 * 1024),
        }
    }

    /// Poll until `pred(status, op)` holds, the server is gone (`Ok(None)`), or the bound runs out.
    async fn wait_raw(
        &self,
        id: &str,
        what: &str,
        pred: impl Fn(&str, &str) -> bool,
    ) -> Result<Option<ServerInstance>> {
        let deadline = Instant::now() + self.client.cfg.op_timeout;
        loop {
            match self.raw(id).await {
                Ok(s) if pred(s.status(), s.operation()) => return Ok(Some(s)),
                Ok(s) => {
                    if map_state(s.status(), s.operation()) == InstanceState::Error {
                        return Err(Error::other(format!(
                            "ncloud server {id} failed ({}/{}) while waiting for {what}",
                            s.status(),
                            s.operation()
                        ))
                        .with_provider_code(s.status().to_string()));
                    }
                }
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
                Err(e) if e.is_retryable() => {}
                Err(e) => return Err(e),
            }
            if Instant::now() >= deadline {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "ncloud server {id} did not reach {what} in {:?}",
                        self.client.cfg.op_timeout
                    ),
                ));
            }
            tokio::time::sleep(self.client.cfg.poll_interval).await;
        }
    }

    async fn simple_action(&self, action: &str, id: &str) -> Result<()> {
        self.client.call(action, &id_param(id)?).await?;
        Ok(())
    }

    async fn create_init_script(&self, data: &Bytes) -> Result<String> {
        let text = std::str::from_utf8(data)
            .ok()
            .filter(|t| t.is_ascii())
            .ok_or_else(|| {
                Error::invalid(
                    "ncloud user data becomes an init script, which must be ASCII text \
                     (encode binary payloads, e.g. base64 inside a shell script)",
                )
            })?;
        if text.len() > 1024 * 1024 {
            return Err(Error::invalid("ncloud init scripts are limited to 1024 KB"));
        }
        let name = format!(
            "gureum-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let r = self
            .client
            .call_post(
                "createInitScript",
                &[
                    ("initScriptName".into(), name),
                    ("initScriptContent".into(), text.to_string()),
                    ("osTypeCode".into(), "LNX".into()),
                    (
                        "initScriptDescription".into(),
                        "created by gureum for server user data".into(),
                    ),
                ],
            )
            .await?;
        r.init_script_list
            .into_iter()
            .next()
            .map(|s| s.init_script_no)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| malformed("ncloud createInitScript returned no script".into()))
    }
}

#[async_trait]
impl ComputeDriver for NcloudServer {
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
        let cfg = &self.client.cfg;
        let vpc = cfg.vpc_no.clone().ok_or_else(|| {
            Error::invalid("ncloud-server: creating servers needs vpc_no=... (and subnet_no=...)")
        })?;
        let subnet = cfg
            .subnet_no
            .clone()
            .ok_or_else(|| Error::invalid("ncloud-server: creating servers needs subnet_no=..."))?;
        let server_name = server_name_for(&spec.name);
        let meta = Meta {
            name: spec.name.clone(),
            tags: spec.tags.clone(),
            token: spec.idempotency_token.clone(),
        };
        let description = meta.encode();
        if description.chars().count() > MAX_DESCRIPTION {
            return Err(Error::invalid(format!(
                "ncloud keeps name, tags and token in serverDescription (max {MAX_DESCRIPTION} characters); \
                 these need {}",
                description.chars().count()
            )));
        }
        if let Some(token) = &spec.idempotency_token {
            let existing = self
                .list_raw(&[("serverName".into(), server_name.clone())])
                .await?;
            if let Some(s) = existing.iter().find(|s| {
                s.status() != "TERMT"
                    && s.server_description
                        .as_deref()
                        .and_then(Meta::decode)
                        .and_then(|m| m.token)
                        .as_deref()
                        == Some(token.as_str())
            }) {
                tracing::debug!(id = %s.server_instance_no, "ncloud create: idempotency token matched");
                return Ok(Self::to_instance(s));
            }
        }
        let images = self.images().await?;
        let image = resolve_image(&spec.image, &images)?;
        let specs = self.specs(Some(&image.id)).await?;
        let sizes: Vec<SizeInfo> = specs.iter().map(Self::size_info).collect();
        let size = match &spec.size {
            SizeSpec::Native(code) => resolve_size(&SizeSpec::Native(code.clone()), &sizes)?,
            s => resolve_size(s, &sizes)?,
        };
        let mut params: Vec<(String, String)> = vec![
            ("serverImageNo".into(), image.id.clone()),
            ("serverSpecCode".into(), size.id.clone()),
            ("vpcNo".into(), vpc),
            ("subnetNo".into(), subnet),
            ("serverName".into(), server_name),
            ("serverDescription".into(), description),
            (
                "networkInterfaceList.1.networkInterfaceOrder".into(),
                "0".into(),
            ),
        ];
        if let Some(acg) = &cfg.acg_no {
            params.push((
                "networkInterfaceList.1.accessControlGroupNoList.1".into(),
                acg.clone(),
            ));
        }
        if let Some(k) = &cfg.login_key_name {
            params.push(("loginKeyName".into(), k.clone()));
        }
        if let Some(data) = &spec.user_data {
            let no = self.create_init_script(data).await?;
            params.push(("initScriptNo".into(), no));
        }
        let r = self.client.call("createServerInstances", &params).await?;
        let s = r
            .server_instance_list
            .first()
            .ok_or_else(|| malformed("ncloud createServerInstances returned no server".into()))?;
        Ok(Self::to_instance(s))
    }

    async fn get(&self, id: &str) -> Result<Instance> {
        Ok(Self::to_instance(&self.raw(id).await?))
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<Instance>> {
        let mut extra = vec![];
        if let Some(v) = &self.client.cfg.vpc_no {
            extra.push(("vpcNo".to_string(), v.clone()));
        }
        let all = self.list_raw(&extra).await?;
        Ok(all
            .iter()
            .map(Self::to_instance)
            .filter(|i| filter.include_terminated || i.state != InstanceState::Terminated)
            .filter(|i| filter.tags.iter().all(|(k, v)| i.tags.get(k) == Some(v)))
            .collect())
    }

    async fn start(&self, id: &str) -> Result<()> {
        self.simple_action("startServerInstances", id).await
    }

    async fn stop(&self, id: &str) -> Result<()> {
        self.simple_action("stopServerInstances", id).await
    }

    async fn reboot(&self, id: &str) -> Result<()> {
        self.simple_action("rebootServerInstances", id).await
    }

    async fn terminate(&self, id: &str) -> Result<()> {
        let s = match self.raw(id).await {
            Ok(s) => s,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let init_script = s.init_script_no.clone();
        let mut state = map_state(s.status(), s.operation());
        if matches!(
            state,
            InstanceState::Terminated | InstanceState::Terminating
        ) {
            return Ok(());
        }
        // NCP terminates only stopped servers: let transitions finish, stop, wait.
        if state == InstanceState::Pending {
            match self
                .wait_raw(id, "a stable state", |st, op| {
                    !matches!(map_state(st, op), InstanceState::Pending)
                })
                .await?
            {
                None => return Ok(()),
                Some(s) => state = map_state(s.status(), s.operation()),
            }
        }
        if state == InstanceState::Running {
            tracing::debug!(id, "ncloud terminate: stopping first");
            self.simple_action("stopServerInstances", id).await?;
            state = InstanceState::Stopping;
        }
        if state == InstanceState::Stopping
            && self
                .wait_raw(id, "NSTOP", |st, op| {
                    st == "NSTOP" && (op == "NULL" || op.is_empty())
                })
                .await?
                .is_none()
        {
            return Ok(());
        }
        match self.simple_action("terminateServerInstances", id).await {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
        if let Some(no) = init_script.filter(|n| !n.is_empty()) {
            // Best effort: gureum made one init script per server. A script still attached to
            // a terminating server may be refused; it is small and not billed.
            if let Err(e) = self
                .client
                .call(
                    "deleteInitScripts",
                    &[("initScriptNoList.1".into(), no.clone())],
                )
                .await
            {
                tracing::debug!(id, init_script = %no, error = %e, "ncloud: init script not deleted");
            }
        }
        Ok(())
    }

    async fn sizes(&self) -> Result<Vec<SizeInfo>> {
        Ok(self
            .specs(None)
            .await?
            .iter()
            .map(Self::size_info)
            .collect())
    }

    async fn images(&self) -> Result<Vec<ImageInfo>> {
        let r = self.client.call("getServerImageList", &[]).await?;
        Ok(r.server_image_list
            .iter()
            .map(|i| ImageInfo {
                id: i.server_image_no.clone(),
                name: i.server_image_name.clone(),
                alias: image_alias(&i.server_image_name),
            })
            .collect())
    }

    async fn user_data(&self, id: &str) -> Result<Option<Bytes>> {
        let s = self.raw(id).await?;
        let Some(no) = s.init_script_no.filter(|n| !n.is_empty()) else {
            return Ok(None);
        };
        let r = self
            .client
            .call("getInitScriptDetail", &[("initScriptNo".into(), no)])
            .await?;
        Ok(r.init_script_list
            .into_iter()
            .next()
            .and_then(|s| s.init_script_content)
            .map(Bytes::from))
    }
}

/// Opener of `ncloud-server://`.
///
/// Example: see [`NcloudServer`].
#[derive(Debug, Default)]
pub struct NcloudServerComputeOpener;

#[async_trait]
impl ComputeOpener for NcloudServerComputeOpener {
    async fn open_compute(&self, url: &ResourceUrl) -> Result<Compute> {
        let d = NcloudServer::from_url(url)?;
        let poll = d.client.cfg.poll_interval;
        Ok(Compute::new(Arc::new(d)).with_poll_interval(poll.min(Duration::from_secs(2))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        assert_eq!(
            parse_region(None, None).unwrap(),
            (Site::Public, "KR".into())
        );
        assert_eq!(
            parse_region(Some("gov"), None).unwrap(),
            (Site::Gov, "KR".into())
        );
        assert_eq!(
            parse_region(Some("gov2"), None).unwrap(),
            (Site::Gov, "KRS".into())
        );
        assert_eq!(
            parse_region(Some("KRS"), Some("gov")).unwrap(),
            (Site::Gov, "KRS".into())
        );
        assert_eq!(
            parse_region(Some("sgn"), None).unwrap(),
            (Site::Public, "SGN".into())
        );
        assert!(parse_region(Some("gov"), Some("public")).is_err());
        assert!(parse_region(Some("k r"), None).is_err());
        assert!(parse_region(None, Some("mars")).is_err());
    }

    #[test]
    fn states() {
        use InstanceState::*;
        assert_eq!(map_state("INIT", "NULL"), Pending);
        assert_eq!(map_state("CREAT", "NULL"), Pending);
        assert_eq!(map_state("RUN", "NULL"), Running);
        assert_eq!(map_state("RUN", "SHTDN"), Stopping);
        assert_eq!(map_state("RUN", "RESTA"), Pending);
        assert_eq!(map_state("NSTOP", "NULL"), Stopped);
        assert_eq!(map_state("NSTOP", "START"), Pending);
        assert_eq!(map_state("NSTOP", "TERMT"), Terminating);
        assert_eq!(map_state("TERMT", "NULL"), Terminated);
        assert_eq!(map_state("FSTOP", "NULL"), Error);
        assert_eq!(map_state("SD_FL", "NULL"), Error);
        assert_eq!(map_state("RS_FL", "NULL"), Error);
        assert_eq!(map_state("ST_FL", "NULL"), Error);
        assert_eq!(map_state("RUN", "SETUP"), Pending);
    }

    #[test]
    fn names_and_meta() {
        assert_eq!(server_name_for("web-1"), "web-1");
        assert_eq!(server_name_for("OCR_Worker 2"), "ocr-worker-2");
        assert_eq!(server_name_for("1st"), "g-1st");
        assert_eq!(server_name_for("a"), "a00");
        assert_eq!(server_name_for(&"x".repeat(50)).len(), 30);
        assert_eq!(server_name_for("민원"), "g00");
        let m = Meta {
            name: "민원 worker".into(),
            tags: [("env".to_string(), "test".to_string())].into(),
            token: Some("t1".into()),
        };
        assert_eq!(Meta::decode(&m.encode()), Some(m));
        assert_eq!(Meta::decode("hand-written description"), None);
    }

    #[test]
    fn aliases_and_encoding() {
        assert_eq!(
            image_alias("ubuntu-22.04-base").as_deref(),
            Some("ubuntu-22.04")
        );
        assert_eq!(
            image_alias("rocky-8.10-base").as_deref(),
            Some("rocky-8.10")
        );
        assert_eq!(image_alias("win-2019-64-en").as_deref(), Some("win-2019"));
        assert_eq!(image_alias("mssql(2019std)-win"), None);
        assert_eq!(
            query_string(&[("a b".into(), "x/y:z~".into())]),
            "a%20b=x%2Fy%3Az~"
        );
        assert!(parse_ncp_date("2018-09-13T17:33:26+0900").is_some());
    }
}
