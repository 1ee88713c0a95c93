//! EC2 compute over the EC2 Query API (`Action=...&Version=2016-11-15`), signed with
//! SigV4 (aws-sigv4) and sent with reqwest; responses parsed with quick-xml.
//!
//! Why not aws-sdk-ec2: it is one of the largest generated crates (88 MB of source); on
//! the project's 2-core machines it would be compiled three times (debug, clippy check,
//! release bench) at several minutes each, while gureum needs nine EC2 actions. See
//! docs/aws.md.
//!
//! URL: `ec2://REGION?endpoint=&profile=&allow_http=&image.ALIAS=ami-...&subnet=&security_group=&key_name=`.

use crate::config::{parse_endpoint, AwsCredentials};
use crate::error::AwsErrors;
use crate::s3::load_sdk_config;
use async_trait::async_trait;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use base64::Engine;
use bytes::Bytes;
use gureum_core::compute::{
    resolve_image, resolve_size, Compute, ComputeCapabilities, ComputeDriver, ImageInfo, Instance,
    InstanceSpec, InstanceState, ListFilter, SizeInfo,
};
use gureum_core::http::{Authorizer, HttpClient, HttpConfig, RequestOptions};
use gureum_core::url::{ComputeOpener, ResourceUrl};
use gureum_core::{Error, ErrorKind, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// EC2 API version used for every request.
///
/// Example: see [`Ec2Driver`].
pub const API_VERSION: &str = "2016-11-15";
/// Tag that carries the idempotency token (a fallback for endpoints that ignore `ClientToken`).
///
/// Example: see [`Ec2Driver`].
pub const TOKEN_TAG: &str = "gureum:idempotency-token";

/// The default portable size table: (instance type, vCPU, MiB).
///
/// Example: see [`Ec2Driver`].
pub const DEFAULT_SIZES: &[(&str, u32, u64)] = &[
    ("t2.nano", 1, 512),
    ("t2.micro", 1, 1024),
    ("t2.small", 1, 2048),
    ("t2.medium", 2, 4096),
    ("t3.large", 2, 8192),
    ("t3.xlarge", 4, 16384),
    ("t3.2xlarge", 8, 32768),
    ("c5.large", 2, 4096),
    ("c5.xlarge", 4, 8192),
    ("c5.2xlarge", 8, 16384),
    ("c5.4xlarge", 16, 32768),
    ("m5.large", 2, 8192),
    ("m5.xlarge", 4, 16384),
    ("m5.2xlarge", 8, 32768),
    ("m5.4xlarge", 16, 65536),
    ("r5.large", 2, 16384),
    ("r5.xlarge", 4, 32768),
    ("r5.2xlarge", 8, 65536),
];

/// Well-known image aliases resolved with `DescribeImages` when not in the table:
/// (alias, owner account, name pattern).
///
/// Example: see [`Ec2Driver`].
pub const IMAGE_QUERIES: &[(&str, &str, &str)] = &[
    (
        "ubuntu-22.04",
        "099720109477",
        "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-amd64-server-*",
    ),
    (
        "ubuntu-24.04",
        "099720109477",
        "ubuntu/images/hvm-ssd*/ubuntu-noble-24.04-amd64-server-*",
    ),
    (
        "amazon-linux-2023",
        "137112412989",
        "al2023-ami-2023.*-x86_64",
    ),
    ("debian-12", "136693071363", "debian-12-amd64-*"),
];

/// Settings of an EC2 connection.
///
/// # Examples
///
/// ```
/// use gureum_aws::Ec2Config;
/// use gureum_core::ResourceUrl;
/// let c = Ec2Config::from_url(&ResourceUrl::parse("ec2://ap-northeast-2?subnet=subnet-1&security_group=sg-1,sg-2&image.ocr=ami-0abc").unwrap()).unwrap();
/// assert_eq!(c.region.as_deref(), Some("ap-northeast-2"));
/// assert_eq!(c.security_group_ids, ["sg-1", "sg-2"]);
/// assert_eq!(c.images["ocr"], "ami-0abc");
/// let b = Ec2Config::new("ap-northeast-2").endpoint("http://127.0.0.1:5000").image("ocr", "ami-0abc");
/// assert_eq!((b.endpoint.as_deref(), b.images["ocr"].as_str()), (Some("http://127.0.0.1:5000"), "ami-0abc"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Ec2Config {
    /// Region (`ec2://REGION`); `None`: from the AWS chain, else `us-east-1`.
    pub region: Option<String>,
    /// Custom endpoint; `None`: `https://ec2.REGION.amazonaws.com` (or `AWS_ENDPOINT_URL_EC2` /
    /// `AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
    /// Shared-config profile.
    pub profile: Option<String>,
    /// Allow plain http to a non-loopback endpoint.
    pub allow_http: bool,
    /// Credentials source.
    pub credentials: AwsCredentials,
    /// Timeouts, deadline and retries of the Query API calls (`retries`, `timeout`,
    /// `connect_timeout`, `deadline` URL/profile parameters).
    pub http: HttpConfig,
    /// Portable size table (instance type, vCPUs, MiB).
    pub sizes: Vec<SizeInfo>,
    /// Image alias → AMI id table (checked before `DescribeImages` lookups).
    pub images: BTreeMap<String, String>,
    /// Subnet for new instances.
    pub subnet_id: Option<String>,
    /// Security groups for new instances.
    pub security_group_ids: Vec<String>,
    /// Key pair for new instances.
    pub key_name: Option<String>,
}

impl Default for Ec2Config {
    fn default() -> Self {
        Ec2Config {
            region: None,
            endpoint: None,
            profile: None,
            allow_http: false,
            credentials: AwsCredentials::DefaultChain,
            http: HttpConfig::default(),
            sizes: DEFAULT_SIZES
                .iter()
                .map(|(id, v, m)| SizeInfo {
                    id: id.to_string(),
                    vcpus: *v,
                    memory_mib: *m,
                })
                .collect(),
            images: BTreeMap::new(),
            subnet_id: None,
            security_group_ids: vec![],
            key_name: None,
        }
    }
}

impl Ec2Config {
    /// Defaults for `region`.
    ///
    /// Example: see [`Ec2Config`].
    pub fn new(region: impl Into<String>) -> Self {
        Ec2Config {
            region: Some(region.into()),
            ..Default::default()
        }
    }
    /// Set a custom endpoint.
    ///
    /// Example: see [`Ec2Config`].
    pub fn endpoint(mut self, e: impl Into<String>) -> Self {
        self.endpoint = Some(e.into());
        self
    }
    /// Set the credentials source.
    ///
    /// Example: see [`Ec2Driver`].
    pub fn credentials(mut self, c: AwsCredentials) -> Self {
        self.credentials = c;
        self
    }
    /// Map an image alias to an AMI id.
    ///
    /// Example: see [`Ec2Config`].
    pub fn image(mut self, alias: impl Into<String>, ami: impl Into<String>) -> Self {
        self.images.insert(alias.into(), ami.into());
        self
    }

    /// Parse `ec2://REGION?...`.
    ///
    /// Example: see [`Ec2Config`].
    pub fn from_url(url: &ResourceUrl) -> Result<Self> {
        let mut c = Ec2Config::default();
        if !url.host().is_empty() {
            c.region = Some(url.host().to_string());
        }
        c.endpoint = url.param("endpoint").map(str::to_string);
        c.profile = url.param("profile").map(str::to_string);
        c.allow_http = url.bool_param("allow_http")?.unwrap_or(false);
        c.http = HttpConfig::from_params(&url.pick(gureum_core::http::PARAMS))?;
        c.subnet_id = url.param("subnet").map(str::to_string);
        c.key_name = url.param("key_name").map(str::to_string);
        if let Some(g) = url.param("security_group") {
            c.security_group_ids = g.split(',').map(str::to_string).collect();
        }
        for (k, v) in url.params_with_prefix("image.") {
            if let Some(alias) = k.strip_prefix("image.") {
                c.images.insert(alias.to_string(), v);
            }
        }
        if let (Some(a), Some(s)) = (url.param("access_key_env"), url.param("secret_key_env")) {
            c.credentials = AwsCredentials::from_env_vars(a, s);
        }
        Ok(c)
    }
}

/// Open a [`Compute`] on EC2.
///
/// Example: see [`Ec2Driver`].
pub async fn open_ec2(config: Ec2Config) -> Result<Compute> {
    Ok(Compute::new(Arc::new(Ec2Driver::new(config).await?)))
}

/// Opener for `ec2://`.
///
/// Example: see [`Ec2Driver`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Ec2ComputeOpener;

#[async_trait]
impl ComputeOpener for Ec2ComputeOpener {
    async fn open_compute(&self, url: &ResourceUrl) -> Result<Compute> {
        open_ec2(Ec2Config::from_url(url)?).await
    }
}

/// The EC2 driver (also the escape hatch: `compute.native::<Ec2Driver>()` gives
/// [`Ec2Driver::call`] for any other Query API action).
///
/// # Examples
///
/// The Query API through a scripted loopback server (every answer is the same XML here):
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_aws::ec2::{image_for, is_idempotent_action, map_state, size_for, API_VERSION, DEFAULT_SIZES, IMAGE_QUERIES, TOKEN_TAG};
/// use gureum_aws::{open_ec2, AwsCredentials, Ec2Config, Ec2Driver};
/// use gureum_core::{InstanceState, Size};
/// let (base, seen) = gureum_testkit::scripted::serve(|_, _| (200, String::new(),
///     "<DescribeRegionsResponse><regionInfo><item><regionName>ap-northeast-2</regionName></item></regionInfo></DescribeRegionsResponse>".into())).await;
/// let config = Ec2Config::new("ap-northeast-2")
///     .endpoint(base.clone())
///     .credentials(AwsCredentials::static_keys("AKIDEXAMPLE", "example-secret"))
///     .image("ubuntu-22.04", "ami-0123456789abcdef0");
/// let driver = Ec2Driver::new(config.clone()).await?; // no request yet
/// assert_eq!(driver.region(), "ap-northeast-2");
/// let xml = driver.call("DescribeRegions", &[], "regions").await?;
/// assert!(xml.contains("<regionName>ap-northeast-2</regionName>"));
/// let head = seen.lock().unwrap()[0].clone();
/// // Signed by `SigV4Signer` for the region and service:
/// assert!(head.contains("/ap-northeast-2/ec2/aws4_request"));
/// assert!(is_idempotent_action("DescribeRegions", &[])); // a read: retried on throttling
/// assert!(!is_idempotent_action("RunInstances", &[]));
/// assert!(is_idempotent_action("RunInstances", &[("ClientToken".into(), "t1".into())]));
/// // Sizes and images resolve from the configured tables, without a call:
/// let size = size_for(&config, &Size::vcpus(2).memory_gib(4).into())?;
/// assert!(size.vcpus >= 2 && size.memory_mib >= 4096);
/// assert!(DEFAULT_SIZES.iter().any(|(id, ..)| *id == size.id)); // from the default table
/// assert_eq!(image_for(&config, "ubuntu-22.04")?.id, "ami-0123456789abcdef0");
/// assert!(IMAGE_QUERIES.iter().any(|(alias, ..)| *alias == "debian-12")); // looked up with DescribeImages
/// assert_eq!(map_state("shutting-down"), InstanceState::Terminating);
/// assert!(!TOKEN_TAG.starts_with("aws:")); // tag keys starting with aws: are reserved
/// assert_eq!(API_VERSION, "2016-11-15");
/// // The portable `Compute` (`open_ec2`; `Ec2ComputeOpener` serves ec2:// in the registry):
/// let compute = open_ec2(config).await?;
/// assert_eq!(compute.native::<Ec2Driver>().unwrap().region(), "ap-northeast-2");
/// # Ok(()) }
/// ```
pub struct Ec2Driver {
    config: Ec2Config,
    region: String,
    endpoint: url::Url,
    http: HttpClient,
    image_cache: tokio::sync::Mutex<BTreeMap<String, Option<String>>>,
}

impl fmt::Debug for Ec2Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ec2Driver")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint.as_str())
            .finish()
    }
}

// ---- response shapes -------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct Set<T> {
    #[serde(default, rename = "item")]
    item: Vec<T>,
}

impl<T> Default for Set<T> {
    fn default() -> Self {
        Set { item: vec![] }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct XInstance {
    instance_id: String,
    #[serde(default)]
    image_id: Option<String>,
    /// Always sent by EC2: an instance without a state is a malformed answer.
    instance_state: XState,
    #[serde(default)]
    instance_type: Option<String>,
    #[serde(default)]
    launch_time: Option<String>,
    #[serde(default)]
    private_ip_address: Option<String>,
    #[serde(default)]
    ip_address: Option<String>,
    #[serde(default)]
    tag_set: Option<Set<XTag>>,
}

#[derive(Debug, Deserialize)]
struct XState {
    name: String,
}

#[derive(Debug, Deserialize)]
struct XTag {
    key: String,
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct XReservation {
    #[serde(default)]
    instances_set: Set<XInstance>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct XDescribeInstances {
    #[serde(default)]
    reservation_set: Set<XReservation>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct XRunInstances {
    #[serde(default)]
    instances_set: Set<XInstance>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct XAttr {
    #[serde(default)]
    user_data: Option<XValue>,
}

#[derive(Debug, Deserialize)]
struct XValue {
    #[serde(default)]
    value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct XImage {
    image_id: String,
    #[serde(default)]
    creation_date: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct XDescribeImages {
    #[serde(default)]
    images_set: Set<XImage>,
}

/// The portable state of an EC2 state name.
///
/// Example: see [`Ec2Driver`].
pub fn map_state(s: &str) -> InstanceState {
    match s {
        "pending" => InstanceState::Pending,
        "running" => InstanceState::Running,
        "stopping" => InstanceState::Stopping,
        "stopped" => InstanceState::Stopped,
        "shutting-down" => InstanceState::Terminating,
        "terminated" => InstanceState::Terminated,
        _ => InstanceState::Error,
    }
}

fn to_instance(x: XInstance) -> Instance {
    let tags: BTreeMap<String, String> = x
        .tag_set
        .unwrap_or_default()
        .item
        .into_iter()
        .map(|t| (t.key, t.value.unwrap_or_default()))
        .collect();
    let provider_state = x.instance_state.name;
    Instance {
        name: tags.get("Name").cloned().unwrap_or_default(),
        id: x.instance_id,
        state: map_state(&provider_state),
        provider_state,
        size: x.instance_type,
        image: x.image_id,
        addresses: x
            .private_ip_address
            .into_iter()
            .chain(x.ip_address)
            .collect(),
        created_at: x
            .launch_time
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&chrono::Utc)),
        tags: tags.into_iter().filter(|(k, _)| k != TOKEN_TAG).collect(),
    }
}

/// Check that `body` is one complete, well-formed XML document whose root element is
/// `{action}Response`; anything else is a malformed answer (`Unavailable`).
fn expect_document(action: &str, body: &str) -> Result<()> {
    use quick_xml::events::Event;
    let bad = |why: String| {
        Error::new(
            ErrorKind::Unavailable,
            format!("EC2 {action}: malformed response: {why}"),
        )
    };
    let want = format!("{action}Response");
    let mut r = quick_xml::Reader::from_str(body);
    let mut depth = 0usize;
    let mut root_seen = false;
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) => {
                if depth == 0 {
                    if root_seen || e.local_name().as_ref() != want.as_bytes() {
                        return Err(bad(format!("not a {want} document")));
                    }
                    root_seen = true;
                }
                depth += 1;
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Empty(e)) if depth == 0 => {
                if root_seen || e.local_name().as_ref() != want.as_bytes() {
                    return Err(bad(format!("not a {want} document")));
                }
                root_seen = true;
            }
            Ok(Event::Text(t)) if depth == 0 && !t.iter().all(u8::is_ascii_whitespace) => {
                return Err(bad("text outside the document".into()));
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => return Err(bad(e.to_string())),
        }
    }
    if !root_seen || depth != 0 {
        return Err(bad(format!("no complete {want} document")));
    }
    Ok(())
}

/// Parse an EC2 answer; one that does not parse (garbled, cut off, an HTML page, fields of
/// the wrong type or missing) is a malformed answer: `Unavailable`, as in every driver.
fn parse<T: serde::de::DeserializeOwned>(action: &str, body: &str) -> Result<T> {
    quick_xml::de::from_str(body).map_err(|e| {
        Error::new(
            ErrorKind::Unavailable,
            format!("EC2 {action}: unreadable response: {e}"),
        )
    })
}

/// Parse an EC2 error body into a portable error (what the HTTP layer does with
/// [`AwsErrors`], for unit tests of bodies).
#[cfg(test)]
pub(crate) fn parse_error(
    action: &str,
    resource: &str,
    status: u16,
    body: &str,
    header_rid: Option<&str>,
) -> Error {
    use crate::error::build;
    use gureum_core::http::ProviderErrors;
    let mut h = http::HeaderMap::new();
    if let Some(v) = header_rid.and_then(|r| http::HeaderValue::from_str(r).ok()) {
        h.insert("x-amzn-requestid", v);
    }
    let d = AwsErrors.parse(status, &h, body.as_bytes());
    build(
        action,
        resource,
        d.code.as_deref(),
        Some(status),
        d.message.as_deref(),
        d.request_id.as_deref(),
    )
}

impl Ec2Driver {
    /// Connect (no request is made until the first call).
    ///
    /// Example: see [`Ec2Driver`].
    pub async fn new(config: Ec2Config) -> Result<Self> {
        let ep_cfg = config
            .endpoint
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL_EC2").ok())
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .filter(|s| !s.is_empty());
        let creds = config.credentials.resolve()?;
        let sdk = load_sdk_config(
            config.region.as_deref(),
            None,
            config.profile.as_deref(),
            &creds,
            &config.http.tls,
        )
        .await?;
        let region = sdk
            .region()
            .map(|r| r.as_ref().to_string())
            .unwrap_or_else(|| "us-east-1".into());
        crate::config::validate_region(&region, false)?;
        let endpoint = match ep_cfg {
            Some(e) => parse_endpoint(&e, config.allow_http)?,
            None => parse_endpoint(&format!("https://ec2.{region}.amazonaws.com/"), false)?,
        };
        let provider = match creds {
            AwsCredentials::Anonymous => None,
            _ => Some(sdk.credentials_provider().ok_or_else(|| {
                Error::new(ErrorKind::Unauthenticated, "no AWS credentials provider")
            })?),
        };
        let signer = SigV4Signer {
            region: region.clone(),
            service: "ec2",
            creds: provider,
            cache: tokio::sync::Mutex::new(None),
        };
        let http = HttpClient::builder("ec2")
            .config(config.http.clone())
            .auth(Arc::new(signer))
            .errors(Arc::new(AwsErrors))
            .build()?;
        Ok(Ec2Driver {
            config,
            region,
            endpoint,
            http,
            image_cache: tokio::sync::Mutex::new(BTreeMap::new()),
        })
    }

    /// The region requests are signed for.
    ///
    /// Example: see [`Ec2Driver`].
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Call any EC2 Query API action with `params`; returns the XML body. Sent through the
    /// shared HTTP layer: signed afresh for each attempt, and retried on throttling
    /// (`RequestLimitExceeded`, `Throttling`, 429/503 with `Retry-After`) and 5xx when the
    /// action is [idempotent](is_idempotent_action) (reads, state changes, tags, or a
    /// `ClientToken` in `params`).
    ///
    /// Example: see [`Ec2Driver`].
    pub async fn call(
        &self,
        action: &str,
        params: &[(String, String)],
        resource: &str,
    ) -> Result<String> {
        let mut body = form_urlencoded(&[("Action", action), ("Version", API_VERSION)]);
        for (k, v) in params {
            body.push('&');
            body.push_str(&form_urlencoded(&[(k.as_str(), v.as_str())]));
        }
        let opts = RequestOptions::new(format!("EC2 {action} {resource}"))
            .idempotent(is_idempotent_action(action, params));
        let req = self
            .http
            .request(http::Method::POST, self.endpoint.clone())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(body)
            .build()
            .map_err(|e| Error::invalid(format!("EC2 {action}: {}", e.without_url())))?;
        Ok(self.http.send_bytes(req, &opts).await?.text())
    }

    async fn describe(
        &self,
        params: Vec<(String, String)>,
        resource: &str,
    ) -> Result<Vec<Instance>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..1000 {
            let mut p = params.clone();
            if let Some(t) = &token {
                p.push(("NextToken".into(), t.clone()));
            }
            let body = self.call("DescribeInstances", &p, resource).await?;
            let r: XDescribeInstances = parse("DescribeInstances", &body)?;
            for res in r.reservation_set.item {
                out.extend(res.instances_set.item.into_iter().map(to_instance));
            }
            token = r.next_token.filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }

    async fn simple(&self, action: &str, id: &str) -> Result<()> {
        let body = self
            .call(action, &[("InstanceId.1".into(), id.into())], id)
            .await?;
        // The answer is not used, but it must be the action's: an HTML page or another
        // document with a 200 (a proxy, a captive portal) does not say the action was done.
        expect_document(action, &body)
    }

    async fn resolve_image_id(&self, image: &str) -> Result<String> {
        if image.starts_with("ami-") {
            return Ok(image.to_string());
        }
        if let Some(id) = self.config.images.get(image) {
            return Ok(id.clone());
        }
        if let Some(id) = self.lookup_alias(image).await? {
            return Ok(id);
        }
        Err(Error::invalid(format!(
            "unknown image {image:?}: use an AMI id or configure image.{image}=ami-..."
        )))
    }

    async fn lookup_alias(&self, alias: &str) -> Result<Option<String>> {
        let Some((_, owner, pattern)) = IMAGE_QUERIES.iter().find(|(a, _, _)| *a == alias) else {
            return Ok(None);
        };
        if let Some(hit) = self.image_cache.lock().await.get(alias) {
            return Ok(hit.clone());
        }
        let p = vec![
            ("Owner.1".to_string(), owner.to_string()),
            ("Filter.1.Name".to_string(), "name".to_string()),
            ("Filter.1.Value.1".to_string(), pattern.to_string()),
            ("Filter.2.Name".to_string(), "state".to_string()),
            ("Filter.2.Value.1".to_string(), "available".to_string()),
        ];
        let body = self.call("DescribeImages", &p, alias).await?;
        let r: XDescribeImages = parse("DescribeImages", &body)?;
        let newest = r
            .images_set
            .item
            .into_iter()
            .max_by(|a, b| a.creation_date.cmp(&b.creation_date))
            .map(|i| i.image_id);
        self.image_cache
            .lock()
            .await
            .insert(alias.to_string(), newest.clone());
        Ok(newest)
    }
}

/// Whether an EC2 action may be repeated safely: reads (`Describe*`/`Get*`/`List*`), state
/// changes and tag edits, or any action carrying a `ClientToken`.
///
/// Example: see [`Ec2Driver`].
pub fn is_idempotent_action(action: &str, params: &[(String, String)]) -> bool {
    action.starts_with("Describe")
        || action.starts_with("Get")
        || action.starts_with("List")
        || matches!(
            action,
            "StartInstances"
                | "StopInstances"
                | "RebootInstances"
                | "TerminateInstances"
                | "CreateTags"
                | "DeleteTags"
                | "ModifyInstanceAttribute"
        )
        || params.iter().any(|(k, _)| k == "ClientToken")
}

type CredCache =
    tokio::sync::Mutex<Option<(aws_credential_types::Credentials, Option<SystemTime>)>>;

/// The SigV4 auth hook of the shared HTTP layer: signs method, URL, `content-type`, `host`
/// and the buffered body of each attempt with the current credentials (cached until five
/// minutes before they expire). Anonymous when no provider is set.
///
/// Example: see [`Ec2Driver`].
pub struct SigV4Signer {
    region: String,
    service: &'static str,
    creds: Option<SharedCredentialsProvider>,
    cache: CredCache,
}

impl fmt::Debug for SigV4Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigV4Signer")
            .field("region", &self.region)
            .field("service", &self.service)
            .field("anonymous", &self.creds.is_none())
            .finish()
    }
}

impl SigV4Signer {
    async fn credentials(&self) -> Result<Option<aws_credential_types::Credentials>> {
        let Some(p) = &self.creds else {
            return Ok(None);
        };
        let mut g = self.cache.lock().await;
        if let Some((c, exp)) = &*g {
            if exp.is_none_or(|e| e > SystemTime::now() + Duration::from_secs(300)) {
                return Ok(Some(c.clone()));
            }
        }
        let c = p.provide_credentials().await.map_err(|e| {
            Error::new(ErrorKind::Unauthenticated, "EC2: no usable AWS credentials").with_source(e)
        })?;
        *g = Some((c.clone(), c.expiry()));
        Ok(Some(c))
    }
}

#[async_trait]
impl Authorizer for SigV4Signer {
    async fn authorize(&self, req: &mut reqwest::Request) -> Result<()> {
        let Some(c) = self.credentials().await? else {
            return Ok(());
        };
        let identity = c.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| Error::other(format!("SigV4 parameters: {e}")))?
            .into();
        let url = req.url().clone();
        let host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let content_type = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = req.body().and_then(|b| b.as_bytes()).unwrap_or(&[]);
        let signed_headers = [
            ("content-type", content_type.as_str()),
            ("host", host.as_str()),
        ];
        let signable = SignableRequest::new(
            req.method().as_str(),
            url.as_str(),
            signed_headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| Error::other(format!("SigV4: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| Error::other(format!("SigV4: {e}")))?
            .into_parts();
        let mut add = Vec::new();
        for (k, v) in instructions.headers() {
            let name = http::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| Error::other("SigV4: bad header name"))?;
            let mut value = http::HeaderValue::from_str(v)
                .map_err(|_| Error::other("SigV4: bad header value"))?;
            value.set_sensitive(true);
            add.push((name, value));
        }
        for (k, v) in add {
            req.headers_mut().insert(k, v);
        }
        Ok(())
    }
}

/// `application/x-www-form-urlencoded` pairs (RFC 3986 unreserved kept, everything else %XX).
fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encoding::utf8_percent_encode(k, SET),
                percent_encoding::utf8_percent_encode(v, SET)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[async_trait]
impl ComputeDriver for Ec2Driver {
    fn capabilities(&self) -> ComputeCapabilities {
        ComputeCapabilities::default()
    }

    async fn create(&self, spec: &InstanceSpec) -> Result<Instance> {
        // Idempotency: ClientToken (AWS) plus a token tag looked up first (endpoints such as
        // moto ignore ClientToken).
        if let Some(t) = &spec.idempotency_token {
            if t.is_empty() || t.len() > 64 || !t.is_ascii() {
                return Err(Error::invalid(
                    "idempotency token must be 1..=64 ASCII characters",
                ));
            }
            let found = self
                .describe(
                    vec![
                        ("Filter.1.Name".into(), format!("tag:{TOKEN_TAG}")),
                        ("Filter.1.Value.1".into(), t.clone()),
                    ],
                    &spec.name,
                )
                .await?;
            if let Some(i) = found.into_iter().next() {
                return Ok(i);
            }
        }
        let size = resolve_size(&spec.size, &self.config.sizes)?;
        let image = self.resolve_image_id(&spec.image).await?;
        let mut p: Vec<(String, String)> = vec![
            ("ImageId".into(), image),
            ("InstanceType".into(), size.id.clone()),
            ("MinCount".into(), "1".into()),
            ("MaxCount".into(), "1".into()),
        ];
        if let Some(t) = &spec.idempotency_token {
            p.push(("ClientToken".into(), t.clone()));
        }
        if let Some(ud) = &spec.user_data {
            if ud.len() > 16 * 1024 {
                return Err(Error::invalid("EC2 user data is limited to 16 KiB"));
            }
            p.push((
                "UserData".into(),
                base64::engine::general_purpose::STANDARD.encode(ud),
            ));
        }
        if let Some(s) = &self.config.subnet_id {
            p.push(("SubnetId".into(), s.clone()));
        }
        for (i, g) in self.config.security_group_ids.iter().enumerate() {
            p.push((format!("SecurityGroupId.{}", i + 1), g.clone()));
        }
        if let Some(k) = &self.config.key_name {
            p.push(("KeyName".into(), k.clone()));
        }
        let mut tags: Vec<(String, String)> = vec![("Name".into(), spec.name.clone())];
        tags.extend(
            spec.tags
                .iter()
                .filter(|(k, _)| k.as_str() != "Name")
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        if let Some(t) = &spec.idempotency_token {
            tags.push((TOKEN_TAG.into(), t.clone()));
        }
        if tags.len() > 50 {
            return Err(Error::invalid("EC2 allows 50 tags per instance"));
        }
        p.push(("TagSpecification.1.ResourceType".into(), "instance".into()));
        for (i, (k, v)) in tags.iter().enumerate() {
            p.push((format!("TagSpecification.1.Tag.{}.Key", i + 1), k.clone()));
            p.push((format!("TagSpecification.1.Tag.{}.Value", i + 1), v.clone()));
        }
        let body = self.call("RunInstances", &p, &spec.name).await?;
        let r: XRunInstances = parse("RunInstances", &body)?;
        let x = r.instances_set.item.into_iter().next().ok_or_else(|| {
            Error::new(
                ErrorKind::Unavailable,
                "EC2 RunInstances: malformed response: no instance",
            )
        })?;
        tracing::debug!(id = %x.instance_id, name = %spec.name, "EC2 instance created");
        let mut inst = to_instance(x);
        if inst.tags.is_empty() {
            // Some endpoints do not echo the tags in RunInstances.
            inst.tags = tags.into_iter().filter(|(k, _)| k != TOKEN_TAG).collect();
            inst.name = spec.name.clone();
        }
        Ok(inst)
    }

    async fn get(&self, id: &str) -> Result<Instance> {
        let v = self
            .describe(vec![("InstanceId.1".into(), id.into())], id)
            .await?;
        v.into_iter().find(|i| i.id == id).ok_or_else(|| {
            Error::not_found(format!("instance {id}"))
                .with_provider_code("InvalidInstanceID.NotFound")
        })
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<Instance>> {
        let mut p: Vec<(String, String)> = Vec::new();
        let mut n = 0;
        for (k, v) in &filter.tags {
            n += 1;
            p.push((format!("Filter.{n}.Name"), format!("tag:{k}")));
            p.push((format!("Filter.{n}.Value.1"), v.clone()));
        }
        if !filter.include_terminated {
            n += 1;
            p.push((format!("Filter.{n}.Name"), "instance-state-name".into()));
            for (i, s) in ["pending", "running", "stopping", "stopped", "shutting-down"]
                .iter()
                .enumerate()
            {
                p.push((format!("Filter.{n}.Value.{}", i + 1), s.to_string()));
            }
        }
        let v = self.describe(p, "instances").await?;
        // Filter again locally: the contract is "every tag matches".
        Ok(v.into_iter()
            .filter(|i| {
                filter
                    .tags
                    .iter()
                    .all(|(k, val)| i.tags.get(k) == Some(val))
            })
            .filter(|i| filter.include_terminated || i.state != InstanceState::Terminated)
            .collect())
    }

    async fn start(&self, id: &str) -> Result<()> {
        self.simple("StartInstances", id).await
    }

    async fn stop(&self, id: &str) -> Result<()> {
        self.simple("StopInstances", id).await
    }

    async fn reboot(&self, id: &str) -> Result<()> {
        self.simple("RebootInstances", id).await
    }

    async fn terminate(&self, id: &str) -> Result<()> {
        self.simple("TerminateInstances", id).await
    }

    async fn sizes(&self) -> Result<Vec<SizeInfo>> {
        Ok(self.config.sizes.clone())
    }

    async fn images(&self) -> Result<Vec<ImageInfo>> {
        let mut out: Vec<ImageInfo> = self
            .config
            .images
            .iter()
            .map(|(alias, id)| ImageInfo {
                id: id.clone(),
                name: alias.clone(),
                alias: Some(alias.clone()),
            })
            .collect();
        for (alias, _, _) in IMAGE_QUERIES {
            if self.config.images.contains_key(*alias) {
                continue;
            }
            if let Ok(Some(id)) = self.lookup_alias(alias).await {
                out.push(ImageInfo {
                    id,
                    name: alias.to_string(),
                    alias: Some(alias.to_string()),
                });
            }
        }
        Ok(out)
    }

    async fn user_data(&self, id: &str) -> Result<Option<Bytes>> {
        let body = self
            .call(
                "DescribeInstanceAttribute",
                &[
                    ("InstanceId".into(), id.into()),
                    ("Attribute".into(), "userData".into()),
                ],
                id,
            )
            .await?;
        let r: XAttr = parse("DescribeInstanceAttribute", &body)?;
        match r.user_data.and_then(|u| u.value).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .map(|b| Some(Bytes::from(b)))
                .map_err(|_| Error::new(ErrorKind::Integrity, "EC2 user data is not valid base64")),
        }
    }
}

/// Resolve a portable size against the configured table (exposed for presets and tests).
///
/// Example: see [`Ec2Driver`].
pub fn size_for(config: &Ec2Config, spec: &gureum_core::SizeSpec) -> Result<SizeInfo> {
    resolve_size(spec, &config.sizes)
}

/// Resolve an image alias against the configured table only (no API call).
///
/// Example: see [`Ec2Driver`].
pub fn image_for(config: &Ec2Config, image: &str) -> Result<ImageInfo> {
    let infos: Vec<ImageInfo> = config
        .images
        .iter()
        .map(|(a, id)| ImageInfo {
            id: id.clone(),
            name: a.clone(),
            alias: Some(a.clone()),
        })
        .collect();
    resolve_image(image, &infos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gureum_core::Size;

    #[test]
    fn states() {
        assert_eq!(map_state("pending"), InstanceState::Pending);
        assert_eq!(map_state("running"), InstanceState::Running);
        assert_eq!(map_state("stopping"), InstanceState::Stopping);
        assert_eq!(map_state("stopped"), InstanceState::Stopped);
        assert_eq!(map_state("shutting-down"), InstanceState::Terminating);
        assert_eq!(map_state("terminated"), InstanceState::Terminated);
        assert_eq!(map_state("weird"), InstanceState::Error);
    }

    #[test]
    fn sizes_and_images() {
        let c = Ec2Config::new("us-east-1").image("ubuntu-22.04", "ami-12c6146b");
        assert_eq!(size_for(&c, &Size::vcpus(1).into()).unwrap().id, "t2.micro");
        assert_eq!(
            size_for(&c, &Size::vcpus(2).memory_gib(8).into())
                .unwrap()
                .id,
            "m5.large"
        );
        assert_eq!(
            size_for(&c, &Size::vcpus(4).memory_gib(8).into())
                .unwrap()
                .id,
            "c5.xlarge"
        );
        assert!(size_for(&c, &Size::vcpus(512).into()).is_err());
        assert_eq!(image_for(&c, "ubuntu-22.04").unwrap().id, "ami-12c6146b");
        let u =
            ResourceUrl::parse("ec2://ap-northeast-2?image.rocky-9=ami-1&security_group=sg-1,sg-2")
                .unwrap();
        let c = Ec2Config::from_url(&u).unwrap();
        assert_eq!(c.region.as_deref(), Some("ap-northeast-2"));
        assert_eq!(c.images["rocky-9"], "ami-1");
        assert_eq!(c.security_group_ids.len(), 2);
    }

    #[test]
    fn parses_instances_and_errors() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r1</requestId>
<reservationSet><item><reservationId>r-1</reservationId><groupSet/><instancesSet><item>
<instanceId>i-1</instanceId><imageId>ami-1</imageId><instanceState><code>16</code><name>running</name></instanceState>
<groupSet/><instanceType>t2.micro</instanceType><launchTime>2026-11-25T18:14:03.000Z</launchTime>
<networkInterfaceSet><item><privateIpAddress>10.0.0.9</privateIpAddress></item></networkInterfaceSet>
<privateIpAddress>10.0.0.1</privateIpAddress><tagSet><item><key>Name</key><value>web</value></item>
<item><key>gureum:idempotency-token</key><value>t</value></item></tagSet></item></instancesSet></item></reservationSet>
</DescribeInstancesResponse>"#;
        let r: XDescribeInstances = parse("DescribeInstances", xml).unwrap();
        let i = to_instance(
            r.reservation_set
                .item
                .into_iter()
                .next()
                .unwrap()
                .instances_set
                .item
                .into_iter()
                .next()
                .unwrap(),
        );
        assert_eq!(i.id, "i-1");
        assert_eq!(i.name, "web");
        assert_eq!(i.state, InstanceState::Running);
        assert_eq!(i.addresses, vec!["10.0.0.1".to_string()]);
        assert!(!i.tags.contains_key(TOKEN_TAG));
        assert!(i.created_at.is_some());

        let err = r#"<?xml version="1.0"?><Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID 'i-0' does not exist</Message></Error></Errors><RequestID>req-9</RequestID></Response>"#;
        let e = parse_error("DescribeInstances", "i-0", 400, err, None);
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.provider_code(), Some("InvalidInstanceID.NotFound"));
        assert_eq!(e.request_id(), Some("req-9"));
        let e = parse_error("RunInstances", "x", 503, "<html>", Some("h1"));
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert_eq!(e.request_id(), Some("h1"));
    }

    #[test]
    fn form_encoding() {
        assert_eq!(
            form_urlencoded(&[("Filter.1.Name", "tag:a b/c")]),
            "Filter.1.Name=tag%3Aa%20b%2Fc"
        );
    }
}
