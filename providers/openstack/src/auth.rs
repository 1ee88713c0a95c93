//! Identity: Keystone v3 (password, application credential, token), Keystone v2.0
//! (tenant + password, as NHN Cloud uses it) and Swift tempauth v1; service-catalog endpoint
//! selection; token caching with refresh before expiry.
//!
//! Secrets live in [`SecretString`] and only leave it to build the one request body or header
//! that needs them; headers carrying tokens are marked sensitive, and nothing here logs them.

use crate::client::OpenStackErrors;
use crate::error::{excerpt, request_id, OsError};
use chrono::{DateTime, Utc};
use gureum_core::http::{HttpClient, HttpConfig, RequestOptions};
use gureum_core::{Error, ErrorKind, Result};
use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Which endpoint of a service to use (`interface` in clouds.yaml).
///
/// Example: see [`Session`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Interface {
    /// The public endpoint (default).
    #[default]
    Public,
    /// The internal endpoint (inside the cloud's network).
    Internal,
    /// The admin endpoint.
    Admin,
}

impl Interface {
    /// Parse `public`, `publicURL`, `internal`, `internalURL`, `admin`, `adminURL`.
    ///
    /// Example: see [`Session`].
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().trim_end_matches("url") {
            "public" => Ok(Interface::Public),
            "internal" => Ok(Interface::Internal),
            "admin" => Ok(Interface::Admin),
            _ => Err(Error::invalid(format!("unknown endpoint interface {s:?}"))),
        }
    }
    /// Keystone v3 name.
    ///
    /// Example: see [`Session`].
    pub fn as_str(self) -> &'static str {
        match self {
            Interface::Public => "public",
            Interface::Internal => "internal",
            Interface::Admin => "admin",
        }
    }
}

/// A credential. `Debug` never shows secrets.
///
/// Example: see [`Session`].
#[derive(Debug, Clone)]
pub enum Credential {
    /// Swift tempauth / v1 auth (`X-Auth-User` + `X-Auth-Key`), e.g. `test:tester`.
    TempAuth {
        /// `account:user`.
        user: String,
        /// The key.
        key: SecretString,
    },
    /// Keystone v2.0 password credentials with a tenant (NHN Cloud: tenantId + API password).
    V2Password {
        /// User name (NHN: the NHN ID e-mail or IAM member id).
        username: String,
        /// Password (NHN: the separate "API password").
        password: SecretString,
        /// Tenant id.
        tenant_id: Option<String>,
        /// Tenant name (if no id).
        tenant_name: Option<String>,
    },
    /// Keystone v3 password method.
    V3Password {
        /// User id (alternative to name + domain).
        user_id: Option<String>,
        /// User name.
        username: Option<String>,
        /// The user's domain id.
        user_domain_id: Option<String>,
        /// The user's domain name (default `Default` when only a name is given).
        user_domain_name: Option<String>,
        /// Password.
        password: SecretString,
    },
    /// Keystone v3 application credential (already scoped; no scope is sent).
    V3ApplicationCredential {
        /// Application credential id.
        id: Option<String>,
        /// Application credential name (needs the user).
        name: Option<String>,
        /// Owning user id (with `name`).
        user_id: Option<String>,
        /// Owning user name (with `name`).
        username: Option<String>,
        /// Owning user's domain name.
        user_domain_name: Option<String>,
        /// Secret.
        secret: SecretString,
    },
    /// Keystone v3 token method (re-scope an existing token).
    V3Token {
        /// The existing token.
        token: SecretString,
    },
}

/// Project / domain scope for Keystone v3 and v2.0.
///
/// Example: see [`Session`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Project id.
    pub project_id: Option<String>,
    /// Project name.
    pub project_name: Option<String>,
    /// Project's domain id.
    pub project_domain_id: Option<String>,
    /// Project's domain name.
    pub project_domain_name: Option<String>,
    /// Domain id (domain scope, when no project is given).
    pub domain_id: Option<String>,
    /// Domain name (domain scope).
    pub domain_name: Option<String>,
}

/// Everything needed to authenticate and pick endpoints.
///
/// Example: see [`Session`].
#[derive(Debug, Clone)]
pub struct AuthOptions {
    /// Identity endpoint (`https://keystone:5000/v3`, `.../v2.0`, or the tempauth `/auth/v1.0`).
    pub auth_url: Url,
    /// The credential.
    pub credential: Credential,
    /// Scope.
    pub scope: Scope,
    /// Region for catalog lookup (`RegionOne`, `KR1`, ...). None: first match.
    pub region: Option<String>,
    /// Endpoint interface.
    pub interface: Interface,
    /// Explicit endpoints by service type (`object-store`, `compute`, `image`) that bypass the
    /// catalog, e.g. for clouds whose catalog lists internal names.
    pub endpoint_override: BTreeMap<String, Url>,
    /// Endpoint templates by service type, used when the catalog has no such service
    /// (presets; see [`crate::presets::fill`]).
    pub endpoint_fallback: BTreeMap<String, String>,
    /// Allow plain http to hosts other than loopback.
    pub allow_http: bool,
    /// A PEM CA bundle to trust in addition to the system roots (private clouds).
    pub cacert: Option<std::path::PathBuf>,
    /// Timeouts, deadline and retries of every call (`retries`, `timeout`,
    /// `connect_timeout`, `deadline` parameters; default per-attempt timeout 60 s).
    pub http: HttpConfig,
}

impl AuthOptions {
    /// Options with defaults: public interface, no region, 60 s timeout.
    ///
    /// Example: see [`Session`].
    pub fn new(auth_url: Url, credential: Credential) -> Self {
        AuthOptions {
            auth_url,
            credential,
            scope: Scope::default(),
            region: None,
            interface: Interface::Public,
            endpoint_override: BTreeMap::new(),
            endpoint_fallback: BTreeMap::new(),
            allow_http: false,
            cacert: None,
            http: HttpConfig::default().request_timeout(Duration::from_secs(60)),
        }
    }
}

/// One catalog endpoint.
///
/// Example: see [`Session`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEndpoint {
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// Region name / id.
    pub region: Option<String>,
    /// URL.
    pub url: String,
}

/// One catalog service.
///
/// Example: see [`Session`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogService {
    /// Service type (`object-store`, `compute`, `image`, ...).
    pub service_type: String,
    /// Service name (`swift`, `nova`, ...).
    pub name: Option<String>,
    /// Endpoints.
    pub endpoints: Vec<CatalogEndpoint>,
}

/// How long a token whose expiry cannot be read is used before it is renewed: no
/// `expires_at`/`expires`/`x-auth-token-expires`, not a time, or not after the token's issue
/// time. Such a token is short-lived, never cached for good.
///
/// ```
/// assert_eq!(gureum_openstack::auth::UNREADABLE_EXPIRY_TTL.as_secs(), 300);
/// ```
pub const UNREADABLE_EXPIRY_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// The longest lifetime a token is believed to have: a later expiry (year 9999, say) is held
/// to a day after issue.
///
/// ```
/// assert_eq!(gureum_openstack::auth::MAX_TOKEN_LIFETIME.as_secs(), 86_400);
/// ```
pub const MAX_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(86_400);

/// When a token issued `now` (our clock) expires, on our clock: the service's lifetime
/// (`expires` − `issued`, both as the service wrote them; without `issued`, `expires` −
/// `now`) held to [`MAX_TOKEN_LIFETIME`], or [`UNREADABLE_EXPIRY_TTL`] when it cannot be
/// read or is not positive; and no later than `expires` itself while that is still ahead of
/// our clock (clocks in step: the service's own expiry; a service clock far behind ours,
/// whose `expires` is already past here: the lifetime from `now`, not a renewal per call).
fn token_expiry(
    now: DateTime<Utc>,
    expires: Option<DateTime<Utc>>,
    issued: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    let short = chrono::Duration::from_std(UNREADABLE_EXPIRY_TTL).unwrap_or_default();
    let max = chrono::Duration::from_std(MAX_TOKEN_LIFETIME).unwrap_or_default();
    let life = match expires {
        Some(e) => e.signed_duration_since(issued.unwrap_or(now)),
        None => short,
    };
    let life = if life <= chrono::Duration::zero() {
        tracing::warn!("token expiry is not after its issue time: renewing it in 5 minutes");
        short
    } else {
        life.min(max)
    };
    let relative = now.checked_add_signed(life).unwrap_or(now);
    match expires {
        Some(e) if e > now => relative.min(e),
        _ => relative,
    }
}

/// An issued token with its catalog. `Debug` hides the token.
///
/// Example: see [`Session`].
pub struct Token {
    secret: SecretString,
    /// When the token is taken to expire, on our clock (see [`UNREADABLE_EXPIRY_TTL`] and
    /// [`MAX_TOKEN_LIFETIME`]; the tokens gureum issues always have one). `None` (a token
    /// built by hand) is renewed [`UNREADABLE_EXPIRY_TTL`] after `issued_at`.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was issued (our clock).
    pub issued_at: DateTime<Utc>,
    /// Service catalog.
    pub catalog: Vec<CatalogService>,
    /// Project (tenant) id the token is scoped to.
    pub project_id: Option<String>,
    /// Domain id of a domain-scoped Keystone v3 token (no project then).
    pub domain_id: Option<String>,
    /// Storage URL returned by tempauth.
    pub storage_url: Option<Url>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("token", &"***")
            .field("expires_at", &self.expires_at)
            .field("project_id", &self.project_id)
            .field("domain_id", &self.domain_id)
            .field("services", &self.catalog.len())
            .finish()
    }
}

impl Token {
    /// The `X-Auth-Token` header value, marked sensitive.
    ///
    /// Example: see [`Session`].
    pub fn header_value(&self) -> Result<HeaderValue> {
        let mut v = HeaderValue::from_str(self.secret.expose_secret()).map_err(|_| {
            Error::new(
                ErrorKind::Unauthenticated,
                "token is not a valid header value",
            )
        })?;
        v.set_sensitive(true);
        Ok(v)
    }
    /// The token text, for signing code that needs it (never log it).
    ///
    /// Example: see [`Session`].
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }
    /// Whether the token should be renewed now (inside the refresh margin before expiry:
    /// a fifth of its lifetime, at most 5 minutes).
    ///
    /// Example: see [`Session`].
    pub fn needs_refresh(&self, now: DateTime<Utc>) -> bool {
        let short = chrono::Duration::from_std(UNREADABLE_EXPIRY_TTL).unwrap_or_default();
        match self
            .expires_at
            .or_else(|| self.issued_at.checked_add_signed(short))
        {
            None => true,
            Some(exp) => {
                let life = (exp - self.issued_at).num_milliseconds().max(0);
                let margin = (life / 5).min(300_000);
                now + chrono::Duration::milliseconds(margin) >= exp
            }
        }
    }

    /// Whether the catalog lists a service of this type.
    ///
    /// Example: see [`Session`].
    pub fn has_service(&self, service_type: &str) -> bool {
        self.catalog.iter().any(|s| s.service_type == service_type)
    }

    /// Pick an endpoint from the catalog by service type, region and interface.
    ///
    /// Example: see [`Session`].
    pub fn endpoint(
        &self,
        service_type: &str,
        region: Option<&str>,
        iface: Interface,
    ) -> Result<Url> {
        if service_type == "object-store" {
            if let Some(u) = &self.storage_url {
                return Ok(u.clone());
            }
        }
        let svc = self
            .catalog
            .iter()
            .find(|s| s.service_type == service_type)
            .ok_or_else(|| {
                Error::not_found(format!(
                    "service type {service_type:?} is not in the catalog (have: {})",
                    self.catalog
                        .iter()
                        .map(|s| s.service_type.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        let ep = svc
            .endpoints
            .iter()
            .filter(|e| e.interface.eq_ignore_ascii_case(iface.as_str()))
            .find(|e| match region {
                None => true,
                Some(r) => e
                    .region
                    .as_deref()
                    .is_some_and(|er| er.eq_ignore_ascii_case(r)),
            })
            .ok_or_else(|| {
                let regions: Vec<String> = svc
                    .endpoints
                    .iter()
                    .map(|e| format!("{}/{}", e.region.as_deref().unwrap_or("-"), e.interface))
                    .collect();
                Error::not_found(format!(
                    "no {} endpoint of {service_type:?} in region {:?} (have: {})",
                    iface.as_str(),
                    region.unwrap_or("any"),
                    regions.join(", ")
                ))
            })?;
        Url::parse(&ep.url)
            .map_err(|e| Error::invalid(format!("catalog URL of {service_type}: {e}")))
    }
}

/// A token source shared by the Swift and Nova clients of one cloud: authenticates lazily,
/// caches the token, renews it before expiry and after a 401.
///
/// # Examples
///
/// Against the in-process Keystone v3 + Nova simulator of `gureum-testkit`:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_openstack::auth::{AuthOptions, Credential, Interface, Scope, Session};
/// use gureum_testkit::sim::openstack::{SimConfig, Simulator};
/// let sim = Simulator::start(SimConfig::default()).await.unwrap();
/// let mut opts = AuthOptions::new(
///     url::Url::parse(&sim.v3_auth_url()).unwrap(),
///     Credential::V3Password {
///         user_id: None,
///         username: Some("ocr".into()),
///         user_domain_id: None,
///         user_domain_name: Some("Default".into()),
///         password: "ocr-pass".to_string().into(),
///     },
/// );
/// opts.scope = Scope { project_name: Some("civic".into()), project_domain_name: Some("Default".into()), ..Scope::default() };
/// opts.region = Some("RegionOne".into());
/// opts.interface = Interface::parse("publicURL")?; // clouds.yaml spelling
/// assert_eq!(opts.interface.as_str(), "public");
/// assert!(!format!("{opts:?}").contains("ocr-pass")); // Debug never shows the password
/// let session = Session::new(opts.clone())?; // no request yet
/// assert_eq!((session.auth_count(), session.options().region.as_deref()), (0, Some("RegionOne")));
/// let token: std::sync::Arc<gureum_openstack::auth::Token> = session.token().await?;
/// assert!(token.has_service("compute") && !token.needs_refresh(chrono::Utc::now()));
/// let nova = token.endpoint("compute", Some("RegionOne"), Interface::Public)?;
/// assert_eq!(session.endpoint("compute").await?, nova);
/// let svc: &gureum_openstack::auth::CatalogService = token.catalog.iter().find(|s| s.service_type == "compute").unwrap();
/// let ep: &gureum_openstack::auth::CatalogEndpoint = &svc.endpoints[0];
/// assert_eq!(ep.region.as_deref(), Some("RegionOne"));
/// assert!(token.header_value()?.is_sensitive());
/// use secrecy::ExposeSecret;
/// assert!(!token.secret().expose_secret().is_empty());
/// assert!(!format!("{token:?}").contains(token.secret().expose_secret()));
/// session.token().await?; // cached
/// assert_eq!(session.auth_count(), 1);
/// session.invalidate(&token).await; // e.g. after a 401
/// session.token().await?;
/// assert_eq!((session.auth_count(), session.auth_attempts()), (2, 2));
/// // Same account, same identity (decides server-side copies); the HTTP clients are shared.
/// assert_eq!(Session::new(opts)?.account_identity(), session.account_identity());
/// let _raw: &reqwest::Client = session.http();
/// let _shared: &gureum_core::http::HttpClient = session.client();
/// # Ok(()) }
/// ```
pub struct Session {
    http: reqwest::Client,
    client: HttpClient,
    opts: AuthOptions,
    cache: tokio::sync::Mutex<Option<Arc<Token>>>,
    auth_count: std::sync::atomic::AtomicU64,
    auth_attempts: std::sync::atomic::AtomicU64,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("auth_url", &self.opts.auth_url.as_str())
            .field("region", &self.opts.region)
            .finish()
    }
}

/// Build the HTTP client used for every OpenStack call.
///
/// ```
/// use gureum_openstack::auth::{http_client, AuthOptions, Credential};
/// let opts = AuthOptions::new(
///     url::Url::parse("http://127.0.0.1:8080/auth/v1.0").unwrap(),
///     Credential::TempAuth { user: "test:tester".into(), key: "testing".to_string().into() },
/// );
/// assert!(http_client(&opts).is_ok()); // no request is made
/// ```
pub fn http_client(opts: &AuthOptions) -> Result<reqwest::Client> {
    let mut http = opts.http.clone();
    if let Some(p) = &opts.cacert {
        // `cacert` (clouds.yaml / AuthOptions) is the same as `ca_file`.
        http.tls.ca_file = Some(p.clone());
    }
    // No client-wide total timeout: the shared HTTP client bounds each attempt (headers and
    // buffered bodies), and object downloads are streamed under the idle read timeout of
    // `client_builder`, so a large GET is not cut off after `timeout`.
    let b = http.client_builder()?.pool_max_idle_per_host(32);
    b.build()
        .map_err(|e| Error::other(format!("building HTTP client: {e}")))
}

impl Session {
    /// A session for these options (no network traffic until the first call).
    ///
    /// Example: see [`Session`].
    pub fn new(opts: AuthOptions) -> Result<Self> {
        gureum_core::transport::check_endpoint(&opts.auth_url, opts.allow_http)?;
        for u in opts.endpoint_override.values() {
            gureum_core::transport::check_endpoint(u, opts.allow_http)?;
        }
        let http = http_client(&opts)?;
        let client = HttpClient::builder("openstack")
            .config(opts.http.clone())
            .client(http.clone())
            .errors(Arc::new(OpenStackErrors))
            .build()?;
        Ok(Session {
            http,
            client,
            opts,
            cache: tokio::sync::Mutex::new(None),
            auth_count: std::sync::atomic::AtomicU64::new(0),
            auth_attempts: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The HTTP client.
    ///
    /// Example: see [`Session`].
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
    /// The shared-layer client (retries, deadline, error hook) of every Swift/Nova call.
    ///
    /// Example: see [`Session`].
    pub fn client(&self) -> &HttpClient {
        &self.client
    }
    /// The options.
    ///
    /// Example: see [`Session`].
    pub fn options(&self) -> &AuthOptions {
        &self.opts
    }
    /// How many times this session authenticated (for tests of caching and refresh).
    ///
    /// Example: see [`Session`].
    pub fn auth_count(&self) -> u64 {
        self.auth_count.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many times this session tried to authenticate, successful or not (tests of the
    /// bounded re-authentication after a 401).
    ///
    /// Example: see [`Session`].
    pub fn auth_attempts(&self) -> u64 {
        self.auth_attempts
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A valid token: the cached one, or a new one if none is cached or it is about to expire.
    ///
    /// Example: see [`Session`].
    pub async fn token(&self) -> Result<Arc<Token>> {
        let mut g = self.cache.lock().await;
        if let Some(t) = g.as_ref() {
            if !t.needs_refresh(Utc::now()) {
                return Ok(t.clone());
            }
            tracing::debug!(auth_url = %self.opts.auth_url, "token near expiry: renewing");
        }
        self.auth_attempts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let t = Arc::new(self.authenticate().await?);
        self.auth_count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *g = Some(t.clone());
        Ok(t)
    }

    /// Drop the cached token if it is `old` (after a 401), so the next call re-authenticates.
    ///
    /// Example: see [`Session`].
    pub async fn invalidate(&self, old: &Arc<Token>) {
        let mut g = self.cache.lock().await;
        if g.as_ref().is_some_and(|t| Arc::ptr_eq(t, old)) {
            *g = None;
        }
    }

    /// A hash identifying the account this session reaches: auth URL, credential identifiers
    /// (never the secrets: their `Debug` is redacted), scope, region and endpoint overrides.
    /// Sessions with equal identities reach the same account (used to decide whether two
    /// Swift containers can copy server-side).
    ///
    /// Example: see [`Session`].
    pub fn account_identity(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let o = &self.opts;
        let mut h = std::hash::DefaultHasher::new();
        o.auth_url.as_str().hash(&mut h);
        format!("{:?}|{:?}|{:?}", o.credential, o.scope, o.region).hash(&mut h);
        for (k, v) in &o.endpoint_override {
            (k, v.as_str()).hash(&mut h);
        }
        h.finish()
    }

    /// The endpoint of a service type: the override, else the catalog, else the preset's
    /// template ([`AuthOptions::endpoint_fallback`]) when the catalog has no such service.
    ///
    /// Example: see [`Session`].
    pub async fn endpoint(&self, service_type: &str) -> Result<Url> {
        if let Some(u) = self.opts.endpoint_override.get(service_type) {
            return Ok(u.clone());
        }
        let t = self.token().await?;
        let u = match t.endpoint(
            service_type,
            self.opts.region.as_deref(),
            self.opts.interface,
        ) {
            Ok(u) => u,
            Err(e) if e.kind() == ErrorKind::NotFound && !t.has_service(service_type) => {
                let Some(tpl) = self.opts.endpoint_fallback.get(service_type) else {
                    return Err(e);
                };
                let filled = fill_endpoint(
                    tpl,
                    &self.opts.auth_url,
                    self.opts.region.as_deref().unwrap_or(""),
                    t.project_id.as_deref().unwrap_or(""),
                );
                tracing::debug!(service_type, url = %filled, "catalog has no such service: preset endpoint");
                Url::parse(&filled).map_err(|e| {
                    Error::invalid(format!("preset endpoint of {service_type}: {e}"))
                })?
            }
            Err(e) => return Err(e),
        };
        gureum_core::transport::check_endpoint(&u, self.opts.allow_http)?;
        Ok(u)
    }

    async fn authenticate(&self) -> Result<Token> {
        match &self.opts.credential {
            Credential::TempAuth { user, key } => self.auth_tempauth(user, key).await,
            Credential::V2Password {
                username,
                password,
                tenant_id,
                tenant_name,
            } => {
                self.auth_v2(
                    username,
                    password,
                    tenant_id
                        .as_deref()
                        .or(self.opts.scope.project_id.as_deref()),
                    tenant_name
                        .as_deref()
                        .or(self.opts.scope.project_name.as_deref()),
                )
                .await
            }
            _ => self.auth_v3().await,
        }
    }

    async fn auth_tempauth(&self, user: &str, key: &SecretString) -> Result<Token> {
        let op = "tempauth".to_string();
        let mut kv = HeaderValue::from_str(key.expose_secret())
            .map_err(|_| Error::invalid("tempauth key is not a valid header value"))?;
        kv.set_sensitive(true);
        let mut h = HeaderMap::new();
        h.insert(
            "x-auth-user",
            HeaderValue::from_str(user).map_err(|_| Error::invalid("bad user"))?,
        );
        h.insert("x-auth-key", kv.clone());
        // Older v1 services (e.g. KT's legacy ucloud storage) read the X-Storage-* names.
        h.insert(
            "x-storage-user",
            HeaderValue::from_str(user).map_err(|_| Error::invalid("bad user"))?,
        );
        h.insert("x-storage-pass", kv);
        let r = self
            .send_identity(&op, self.http.get(self.opts.auth_url.clone()).headers(h))
            .await?;
        let status = r.status().as_u16();
        if !(200..300).contains(&status) {
            let rid = request_id(r.headers());
            return Err(OsError::Http {
                service: "identity",
                op,
                status,
                detail: None,
                request_id: rid,
            }
            .into());
        }
        let hv = |n: &str| {
            r.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let token = hv("x-auth-token")
            .or_else(|| hv("x-storage-token"))
            .ok_or_else(|| {
                Error::from(OsError::Decode {
                    service: "identity",
                    op: op.clone(),
                    message: "no X-Auth-Token".into(),
                })
            })?;
        let storage = hv("x-storage-url").ok_or_else(|| {
            Error::from(OsError::Decode {
                service: "identity",
                op: op.clone(),
                message: "no X-Storage-Url".into(),
            })
        })?;
        let storage_url = Url::parse(&storage).map_err(|e| {
            Error::from(OsError::Decode {
                service: "identity",
                op: op.clone(),
                message: format!("X-Storage-Url: {e}"),
            })
        })?;
        let now = Utc::now();
        // Seconds of lifetime left. A value that is not a finite number of seconds within a
        // year (negative, NaN, 1e300) is ignored: it used to overflow the clock (a panic).
        let expires = hv("x-auth-token-expires")
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && (0.0..=31_536_000.0).contains(s))
            .and_then(|s| {
                now.checked_add_signed(chrono::Duration::milliseconds((s * 1000.0) as i64))
            });
        let expires_at = Some(token_expiry(now, expires, None));
        Ok(Token {
            secret: SecretString::from(token),
            expires_at,
            issued_at: now,
            catalog: vec![],
            project_id: storage_url
                .path_segments()
                .and_then(|mut s| s.nth(1))
                .map(str::to_string),
            domain_id: None,
            storage_url: Some(storage_url),
        })
    }

    async fn auth_v2(
        &self,
        username: &str,
        password: &SecretString,
        tenant_id: Option<&str>,
        tenant_name: Option<&str>,
    ) -> Result<Token> {
        let url = v2_tokens_url(&self.opts.auth_url);
        let mut auth = json!({
            "passwordCredentials": {"username": username, "password": password.expose_secret()}
        });
        if let Some(t) = tenant_id {
            auth["tenantId"] = json!(t);
        } else if let Some(t) = tenant_name {
            auth["tenantName"] = json!(t);
        }
        let body = json!({ "auth": auth });
        let (_, v) = self.post_identity(url, body, "POST v2.0/tokens").await?;
        parse_v2(&v)
    }

    async fn auth_v3(&self) -> Result<Token> {
        let body = v3_body(&self.opts.credential, &self.opts.scope)?;
        let url = v3_tokens_url(&self.opts.auth_url);
        let (h, v) = self.post_identity(url, body, "POST v3/auth/tokens").await?;
        let tok = h
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Error::from(OsError::Decode {
                    service: "identity",
                    op: "POST v3/auth/tokens".into(),
                    message: "no X-Subject-Token header".into(),
                })
            })?
            .to_string();
        parse_v3(&v, SecretString::from(tok))
    }

    /// Send an identity request through the shared layer: issuing a token is safe to
    /// repeat, so 429/5xx and transport failures are retried; the response comes back
    /// whatever its status.
    async fn send_identity(
        &self,
        op: &str,
        rb: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let req = rb.build().map_err(|e| {
            Error::invalid(format!(
                "identity {op}: invalid request: {}",
                e.without_url()
            ))
        })?;
        let opts = RequestOptions::new(format!("identity {op}"))
            .idempotent(true)
            .raw_status(true);
        self.client.send(req, &opts).await
    }

    async fn post_identity(&self, url: Url, body: Value, op: &str) -> Result<(HeaderMap, Value)> {
        // The body holds the secret: build it into bytes here, never format it.
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| Error::other(format!("encoding auth body: {e}")))?;
        drop(body);
        let r = self
            .send_identity(
                op,
                self.http
                    .post(url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json")
                    .body(bytes),
            )
            .await?;
        let status = r.status().as_u16();
        let h = r.headers().clone();
        // Bounded: an endless or oversized answer is `Unavailable`, never read to the end.
        let body = self.client.bytes(r, &format!("identity {op}")).await?;
        let text = String::from_utf8_lossy(&body);
        if !(200..300).contains(&status) {
            let detail = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .or_else(|| excerpt(&text));
            return Err(OsError::Http {
                service: "identity",
                op: op.to_string(),
                status,
                detail,
                request_id: request_id(&h),
            }
            .into());
        }
        let v: Value = serde_json::from_str(&text).map_err(|e| {
            Error::from(OsError::Decode {
                service: "identity",
                op: op.to_string(),
                message: e.to_string(),
            })
        })?;
        Ok((h, v))
    }
}

/// Fill a preset endpoint template: `{auth_origin}` is the scheme, host and port of the
/// identity URL (clouds whose services share the identity host, like KT Cloud D1), then
/// [`crate::presets::fill`] (`{region}`, `{REGION}`, `{project_id}`).
///
/// The three URL helpers of the identity and preset code:
///
/// ```
/// use gureum_openstack::auth::{fill_endpoint, v2_tokens_url, v3_tokens_url};
/// let auth = url::Url::parse("https://api.ucloudbiz.olleh.com/d1/identity/").unwrap();
/// assert_eq!(fill_endpoint("{auth_origin}/d1/server", &auth, "KR1", ""), "https://api.ucloudbiz.olleh.com/d1/server");
/// assert_eq!(fill_endpoint("https://{region}-api.example/v1/AUTH_{project_id}", &auth, "KR1", "p1"), "https://kr1-api.example/v1/AUTH_p1");
/// let v3 = url::Url::parse("https://keystone.example:5000/v3").unwrap();
/// assert_eq!(v3_tokens_url(&v3).as_str(), "https://keystone.example:5000/v3/auth/tokens");
/// let v2 = url::Url::parse("https://keystone.example/v2.0").unwrap();
/// assert_eq!(v2_tokens_url(&v2).as_str(), "https://keystone.example/v2.0/tokens");
/// ```
pub fn fill_endpoint(template: &str, auth_url: &Url, region: &str, project_id: &str) -> String {
    let origin = auth_url.origin().ascii_serialization();
    crate::presets::fill(
        &template.replace("{auth_origin}", &origin),
        region,
        project_id,
    )
}

/// `…/v3` → `…/v3/auth/tokens`; `…/auth/tokens` unchanged; no version → `…/v3/auth/tokens`.
///
/// Example: see [`fill_endpoint`].
pub fn v3_tokens_url(base: &Url) -> Url {
    let p = base.path().trim_end_matches('/').to_string();
    let mut u = base.clone();
    if p.ends_with("/auth/tokens") {
        return u;
    }
    if p.ends_with("/v3") || p.ends_with("/identity") {
        u.set_path(&format!("{p}/auth/tokens"));
    } else {
        u.set_path(&format!("{p}/v3/auth/tokens"));
    }
    u
}

/// `…/v2.0` → `…/v2.0/tokens`; `…/tokens` unchanged; no version → `…/v2.0/tokens`.
///
/// Example: see [`fill_endpoint`].
pub fn v2_tokens_url(base: &Url) -> Url {
    let p = base.path().trim_end_matches('/').to_string();
    let mut u = base.clone();
    if p.ends_with("/tokens") {
        return u;
    }
    if p.ends_with("/v2.0") {
        u.set_path(&format!("{p}/tokens"));
    } else {
        u.set_path(&format!("{p}/v2.0/tokens"));
    }
    u
}

fn domain(id: &Option<String>, name: &Option<String>) -> Option<Value> {
    match (id, name) {
        (Some(i), _) => Some(json!({"id": i})),
        (None, Some(n)) => Some(json!({"name": n})),
        _ => None,
    }
}

fn v3_body(c: &Credential, scope: &Scope) -> Result<Value> {
    let (identity, scoped) = match c {
        Credential::V3Password {
            user_id,
            username,
            user_domain_id,
            user_domain_name,
            password,
        } => {
            let mut user = json!({"password": password.expose_secret()});
            if let Some(id) = user_id {
                user["id"] = json!(id);
            } else if let Some(n) = username {
                user["name"] = json!(n);
                user["domain"] =
                    domain(user_domain_id, user_domain_name).unwrap_or(json!({"id": "default"}));
            } else {
                return Err(Error::invalid(
                    "Keystone v3 password auth needs a user id or user name",
                ));
            }
            (
                json!({"methods": ["password"], "password": {"user": user}}),
                true,
            )
        }
        Credential::V3ApplicationCredential {
            id,
            name,
            user_id,
            username,
            user_domain_name,
            secret,
        } => {
            let mut ac = json!({"secret": secret.expose_secret()});
            if let Some(id) = id {
                ac["id"] = json!(id);
            } else if let Some(n) = name {
                ac["name"] = json!(n);
                let mut user = json!({});
                if let Some(u) = user_id {
                    user["id"] = json!(u);
                } else if let Some(u) = username {
                    user["name"] = json!(u);
                    user["domain"] =
                        domain(&None, user_domain_name).unwrap_or(json!({"id": "default"}));
                } else {
                    return Err(Error::invalid(
                        "application credential by name needs the user",
                    ));
                }
                ac["user"] = user;
            } else {
                return Err(Error::invalid(
                    "application credential needs an id or a name",
                ));
            }
            // An application credential carries its own scope; sending one is an error.
            (
                json!({"methods": ["application_credential"], "application_credential": ac}),
                false,
            )
        }
        Credential::V3Token { token } => (
            json!({"methods": ["token"], "token": {"id": token.expose_secret()}}),
            true,
        ),
        _ => return Err(Error::invalid("not a Keystone v3 credential")),
    };
    let mut auth = json!({"identity": identity});
    if scoped {
        if let Some(id) = &scope.project_id {
            auth["scope"] = json!({"project": {"id": id}});
        } else if let Some(n) = &scope.project_name {
            let d = domain(&scope.project_domain_id, &scope.project_domain_name)
                .unwrap_or(json!({"id": "default"}));
            auth["scope"] = json!({"project": {"name": n, "domain": d}});
        } else if let Some(d) = domain(&scope.domain_id, &scope.domain_name) {
            auth["scope"] = json!({"domain": d});
        }
    }
    Ok(json!({"auth": auth}))
}

fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    let s = s?;
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // Keystone sometimes omits the zone ("2026-11-25T18:00:00.000000").
    chrono::NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

fn decode_err(msg: &str) -> Error {
    OsError::Decode {
        service: "identity",
        op: "token response".into(),
        message: msg.into(),
    }
    .into()
}

fn parse_v3(v: &Value, secret: SecretString) -> Result<Token> {
    let t = &v["token"];
    if !t.is_object() {
        return Err(decode_err("no token object"));
    }
    let mut catalog = Vec::new();
    for s in t["catalog"].as_array().into_iter().flatten() {
        let endpoints = s["endpoints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| {
                Some(CatalogEndpoint {
                    interface: e["interface"].as_str()?.to_string(),
                    region: e["region_id"]
                        .as_str()
                        .or(e["region"].as_str())
                        .map(str::to_string),
                    url: e["url"].as_str()?.to_string(),
                })
            })
            .collect();
        if let Some(ty) = s["type"].as_str() {
            catalog.push(CatalogService {
                service_type: ty.to_string(),
                name: s["name"].as_str().map(str::to_string),
                endpoints,
            });
        }
    }
    let now = Utc::now();
    Ok(Token {
        secret,
        expires_at: Some(token_expiry(
            now,
            parse_time(t["expires_at"].as_str()),
            parse_time(t["issued_at"].as_str()),
        )),
        issued_at: now,
        catalog,
        project_id: t["project"]["id"].as_str().map(str::to_string),
        domain_id: t["domain"]["id"].as_str().map(str::to_string),
        storage_url: None,
    })
}

fn parse_v2(v: &Value) -> Result<Token> {
    let a = &v["access"];
    let id = a["token"]["id"]
        .as_str()
        .ok_or_else(|| decode_err("no access.token.id"))?;
    let mut catalog = Vec::new();
    for s in a["serviceCatalog"].as_array().into_iter().flatten() {
        let mut endpoints = Vec::new();
        for e in s["endpoints"].as_array().into_iter().flatten() {
            let region = e["region"].as_str().map(str::to_string);
            for (iface, key) in [
                ("public", "publicURL"),
                ("internal", "internalURL"),
                ("admin", "adminURL"),
            ] {
                if let Some(u) = e[key].as_str() {
                    endpoints.push(CatalogEndpoint {
                        interface: iface.into(),
                        region: region.clone(),
                        url: u.into(),
                    });
                }
            }
        }
        if let Some(ty) = s["type"].as_str() {
            catalog.push(CatalogService {
                service_type: ty.to_string(),
                name: s["name"].as_str().map(str::to_string),
                endpoints,
            });
        }
    }
    let now = Utc::now();
    Ok(Token {
        secret: SecretString::from(id.to_string()),
        expires_at: Some(token_expiry(
            now,
            parse_time(a["token"]["expires"].as_str()),
            parse_time(a["token"]["issued_at"].as_str()),
        )),
        issued_at: now,
        catalog,
        project_id: a["token"]["tenant"]["id"].as_str().map(str::to_string),
        domain_id: None,
        storage_url: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_urls() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert_eq!(
            v3_tokens_url(&u("https://k:5000/v3")).as_str(),
            "https://k:5000/v3/auth/tokens"
        );
        assert_eq!(
            v3_tokens_url(&u("https://k:5000/")).as_str(),
            "https://k:5000/v3/auth/tokens"
        );
        assert_eq!(
            v3_tokens_url(&u("https://iam.kakaocloud.com/identity/v3")).as_str(),
            "https://iam.kakaocloud.com/identity/v3/auth/tokens"
        );
        assert_eq!(
            v3_tokens_url(&u("https://api.ucloudbiz.olleh.com/d1/identity/")).as_str(),
            "https://api.ucloudbiz.olleh.com/d1/identity/auth/tokens"
        );
        assert_eq!(
            v2_tokens_url(&u("https://x/v2.0")).as_str(),
            "https://x/v2.0/tokens"
        );
        assert_eq!(
            v2_tokens_url(&u("https://x")).as_str(),
            "https://x/v2.0/tokens"
        );
    }

    #[test]
    fn v3_bodies_have_no_scope_for_app_creds() {
        let c = Credential::V3ApplicationCredential {
            id: Some("ak".into()),
            name: None,
            user_id: None,
            username: None,
            user_domain_name: None,
            secret: SecretString::from("s3cr3t"),
        };
        let s = Scope {
            project_name: Some("p".into()),
            ..Default::default()
        };
        let b = v3_body(&c, &s).unwrap();
        assert!(b["auth"].get("scope").is_none());
        assert_eq!(b["auth"]["identity"]["application_credential"]["id"], "ak");
        let c = Credential::V3Password {
            user_id: None,
            username: Some("u".into()),
            user_domain_id: None,
            user_domain_name: Some("Default".into()),
            password: SecretString::from("pw"),
        };
        let b = v3_body(&c, &s).unwrap();
        assert_eq!(b["auth"]["scope"]["project"]["name"], "p");
        assert_eq!(
            b["auth"]["identity"]["password"]["user"]["domain"]["name"],
            "Default"
        );
        assert!(!format!("{c:?}").contains("pw\""));
    }

    #[test]
    fn token_expiry_is_bounded_and_never_forever() {
        let now = Utc::now();
        let short = chrono::Duration::from_std(UNREADABLE_EXPIRY_TTL).unwrap();
        let day = chrono::Duration::from_std(MAX_TOKEN_LIFETIME).unwrap();
        let t = |s: &str| parse_time(Some(s));
        assert_eq!(token_expiry(now, None, None), now + short);
        assert_eq!(
            token_expiry(now, t("1970-01-01T00:00:00Z"), None),
            now + short
        );
        assert_eq!(
            token_expiry(now, t("9999-12-31T23:59:59Z"), None),
            now + day
        );
        assert_eq!(
            token_expiry(now, t("2000-01-01T02:00:00Z"), t("2000-01-01T00:00:00Z")),
            now + chrono::Duration::hours(2)
        );
        assert_eq!(
            token_expiry(now, t("2000-01-01T00:00:00Z"), t("2000-01-01T02:00:00Z")),
            now + short
        );
        assert_eq!(t("soon"), None);
        // A token built by hand without an expiry is renewed after the short lifetime.
        let hand = Token {
            secret: SecretString::from("x".to_string()),
            expires_at: None,
            issued_at: now,
            catalog: vec![],
            project_id: None,
            domain_id: None,
            storage_url: None,
        };
        assert!(!hand.needs_refresh(now));
        assert!(hand.needs_refresh(now + short));
    }

    #[test]
    fn refresh_margin() {
        let now = Utc::now();
        let t = Token {
            secret: SecretString::from("x"),
            expires_at: Some(now + chrono::Duration::seconds(10)),
            issued_at: now,
            catalog: vec![],
            project_id: None,
            domain_id: None,
            storage_url: None,
        };
        assert!(!t.needs_refresh(now));
        assert!(t.needs_refresh(now + chrono::Duration::seconds(9)));
        assert!(!format!("{t:?}").contains("\"x\""));
    }
}
