//! # gureum-openstack
//!
//! The OpenStack family for gureum: identity (Keystone v3, Keystone v2.0, Swift tempauth v1),
//! Swift object storage as an [`object_store::ObjectStore`] ([`swift::SwiftStore`]), Nova
//! compute ([`nova::NovaDriver`]), and presets for NHN Cloud, KT Cloud, Kakao Cloud and a
//! city's own OpenStack data center ([`presets`]).
//!
//! URLs:
//! * `swift://CONTAINER?cloud=NAME` (clouds.yaml / `OS_*` variables, like the OpenStack CLI),
//!   `swift://CONTAINER?auth_url=http://host:8080/auth/v1.0&user=test:tester&key=testing`
//!   (tempauth), `swift://CONTAINER?preset=nhn&region=KR1&username=..&password=..&tenant_id=..`
//! * `nova://?cloud=NAME` (or the same parameters)
//! * `kakao-compute://?region=kr-central-2` (Kakao Cloud's Beyond Compute Service, Keystone v3
//!   application credential: `application_credential_id` / `_secret` as parameters, in
//!   clouds.yaml or as `OS_APPLICATION_CREDENTIAL_ID` / `_SECRET`)
//!
//! ```no_run
//! # async fn demo() -> gureum_core::Result<()> {
//! let mut reg = gureum_core::Registry::new();
//! gureum_openstack::register(&mut reg);
//! let bucket = reg.open_bucket(Some("swift://complaints?cloud=sdc")).await?;
//! bucket.put("2026/11/25/c-1041.json", b"{}".to_vec()).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod auth;
pub mod client;
pub mod config;
pub mod error;
pub mod kakao;
pub mod nova;
pub mod presets;
#[cfg(feature = "s3")]
pub mod s3;
pub mod swift;

use gureum_core::url::{ComputeOpener, ResourceUrl, StorageOpener};
use gureum_core::{async_trait, Bucket, Compute, Error, Result, SchemeInfo, Service, Zone};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};

pub use auth::{AuthOptions, Credential, Interface, Scope, Session};
pub use config::CloudConfig;
pub use nova::NovaDriver;
pub use swift::{SwiftInfo, SwiftStore};

/// Sessions shared between opens of the same cloud and identity, so that opening many
/// buckets (or a bucket and a compute service) reuses one cached token.
fn session_for(cfg: &CloudConfig) -> Result<Arc<Session>> {
    use sha2::Digest;
    static CACHE: OnceLock<Mutex<HashMap<String, Weak<Session>>>> = OnceLock::new();
    let o = &cfg.auth;
    // The key holds only a hash of the credential's Debug-free material.
    let material = credential_fingerprint(&o.credential);
    let key = format!(
        "{}|{:?}|{:?}|{:?}|{}|{}|{:?}|{:?}",
        o.auth_url,
        o.scope,
        o.region,
        o.interface,
        o.allow_http,
        hex::encode(sha2::Sha256::digest(material.as_bytes())),
        o.endpoint_override,
        o.cacert
    );
    let cache = CACHE.get_or_init(Default::default);
    let mut g = cache
        .lock()
        .map_err(|_| Error::other("session cache poisoned"))?;
    if let Some(s) = g.get(&key).and_then(|w| w.upgrade()) {
        return Ok(s);
    }
    g.retain(|_, w| w.strong_count() > 0);
    let s = Arc::new(Session::new(o.clone())?);
    g.insert(key, Arc::downgrade(&s));
    Ok(s)
}

fn credential_fingerprint(c: &Credential) -> String {
    use secrecy::ExposeSecret;
    match c {
        Credential::TempAuth { user, key } => format!("v1\0{user}\0{}", key.expose_secret()),
        Credential::V2Password {
            username,
            password,
            tenant_id,
            tenant_name,
        } => {
            format!(
                "v2\0{username}\0{}\0{tenant_id:?}\0{tenant_name:?}",
                password.expose_secret()
            )
        }
        Credential::V3Password {
            user_id,
            username,
            user_domain_id,
            user_domain_name,
            password,
        } => format!(
            "v3p\0{user_id:?}\0{username:?}\0{user_domain_id:?}\0{user_domain_name:?}\0{}",
            password.expose_secret()
        ),
        Credential::V3ApplicationCredential {
            id,
            name,
            user_id,
            username,
            user_domain_name,
            secret,
        } => format!(
            "v3a\0{id:?}\0{name:?}\0{user_id:?}\0{username:?}\0{user_domain_name:?}\0{}",
            secret.expose_secret()
        ),
        Credential::V3Token { token } => format!("v3t\0{}", token.expose_secret()),
    }
}

/// Opens `swift://` buckets.
///
/// Example: see [`swift::SwiftStore`].
#[derive(Debug, Default)]
pub struct SwiftStorageOpener;

#[async_trait]
impl StorageOpener for SwiftStorageOpener {
    async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        open_swift(url).await
    }
}

/// Opens `nova://` compute services.
///
/// Example: see [`nova::NovaDriver`].
#[derive(Debug, Default)]
pub struct NovaComputeOpener;

#[async_trait]
impl ComputeOpener for NovaComputeOpener {
    async fn open_compute(&self, url: &ResourceUrl) -> Result<Compute> {
        open_nova(url).await
    }
}

/// Opens `kakao-compute://` compute services (Kakao Cloud BCS).
///
/// Example: see [`kakao::KakaoCompute`].
#[derive(Debug, Default)]
pub struct KakaoComputeOpener;

#[async_trait]
impl ComputeOpener for KakaoComputeOpener {
    async fn open_compute(&self, url: &ResourceUrl) -> Result<Compute> {
        open_kakao_compute(url).await
    }
}

/// Open Kakao Cloud compute from a URL (`kakao-compute://?region=kr-central-2`): Beyond
/// Compute Service with a Keystone v3 application credential, through the same identity
/// session as Swift and Nova. `bcs_url=` overrides the BCS endpoint.
///
/// Example: see [`kakao::KakaoCompute`].
pub async fn open_kakao_compute(url: &ResourceUrl) -> Result<Compute> {
    if !url.host().is_empty() {
        return Err(Error::invalid(format!(
            "{url}: kakao-compute takes no host: kakao-compute://?region=kr-central-2"
        )));
    }
    let cfg = CloudConfig::from_url_with_preset(url, Some("kakao"))?;
    if !matches!(
        cfg.auth.credential,
        Credential::V3ApplicationCredential { .. }
    ) {
        return Err(Error::invalid(
            "kakao-compute authenticates with a Kakao IAM access key (Keystone v3 application credential): give application_credential_id and application_credential_secret",
        ));
    }
    let region = cfg
        .auth
        .region
        .clone()
        .ok_or_else(|| Error::invalid("kakao-compute needs region="))?;
    let base = match cfg.extra.get("bcs_url") {
        Some(u) => u.clone(),
        None => presets::fill(
            if cfg.gov {
                kakao::BCS_GOV
            } else {
                kakao::BCS_PUBLIC
            },
            &region,
            "",
        ),
    };
    let base = url::Url::parse(&base).map_err(|e| Error::invalid(format!("bcs_url: {e}")))?;
    let session = session_for(&cfg)?;
    Ok(Compute::new(Arc::new(kakao::KakaoCompute::new(
        session, base, region,
    )?)))
}

/// Open a Swift bucket from a URL (`swift://CONTAINER?...`).
///
/// Example: see [`swift::SwiftStore`].
pub async fn open_swift(url: &ResourceUrl) -> Result<Bucket> {
    let container = url.host().to_string();
    if container.is_empty() {
        return Err(Error::invalid(format!(
            "{url}: the container name goes in the host part: swift://CONTAINER?..."
        )));
    }
    let cfg = CloudConfig::from_url(url)?;
    if cfg.preset.swift.public.is_none()
        && cfg.preset.swift.gov.is_none()
        && cfg.preset.name != "openstack"
    {
        tracing::warn!(
            preset = cfg.preset.name,
            "this preset has no confirmed Swift endpoint; relying on the catalog"
        );
    }
    let session = session_for(&cfg)?;
    let mut store = SwiftStore::connect(session, container).await?;
    if let Some(sc) = cfg.extra.get("segment_container") {
        store = store.with_segment_container(sc.clone());
    }
    if let Some(k) = cfg.extra.get("temp_url_key") {
        store.use_temp_url_key(secrecy::SecretString::from(k.clone()));
    } else if store.info().tempurl {
        // Reading the account key needs an account owner; without it, no presign.
        if let Err(e) = store.load_temp_url_key().await {
            tracing::debug!(error = %e, "no TempURL key readable: presign disabled");
        }
    }
    let provider = cfg.preset.name;
    Ok(swift::bucket_from_store(
        store,
        swift::backend_info("swift", provider, cfg.zone),
    ))
}

/// Open a Nova compute service from a URL (`nova://?cloud=NAME`).
///
/// Example: see [`nova::NovaDriver`].
pub async fn open_nova(url: &ResourceUrl) -> Result<Compute> {
    let cfg = CloudConfig::from_url(url)?;
    if !cfg.preset.nova_compute {
        return Err(Error::unsupported(format!(
            "{}: compute is not Nova on this cloud (see docs/openstack.md)",
            cfg.preset.display
        )));
    }
    let session = session_for(&cfg)?;
    let mut d = NovaDriver::new(session);
    if let Some(m) = cfg.extra.get("microversion") {
        d = d.with_microversion(m.clone());
    }
    if let Some(n) = cfg.extra.get("network").or(cfg.extra.get("networks")) {
        d = d.with_networks(
            n.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        );
    }
    if let Some(k) = cfg.extra.get("key_name") {
        d = d.with_key_name(k.clone());
    }
    Ok(Compute::new(Arc::new(d)))
}

/// The schemes this crate serves (feature `openstack` of the `gureum` crate); `nhn-s3` and
/// `kakao-s3` only with this crate's default `s3` feature.
///
/// ```
/// let s: Vec<_> = gureum_openstack::SCHEMES.iter().map(|s| s.scheme).collect();
/// assert!(s.contains(&"swift") && s.contains(&"nova") && s.contains(&"kakao-compute"));
/// ```
#[cfg(feature = "s3")]
pub const SCHEMES: &[SchemeInfo] = &[
    SchemeInfo {
        scheme: "swift",
        service: Service::Storage,
        feature: "openstack",
        zone: Zone::OnPrem,
        description: "OpenStack Swift containers (city data centers; NHN, KT, Kakao presets)",
    },
    SchemeInfo {
        scheme: "nova",
        service: Service::Compute,
        feature: "openstack",
        zone: Zone::OnPrem,
        description: "OpenStack Nova servers (city data centers; NHN, KT, Kakao presets)",
    },
    SchemeInfo {
        scheme: "nhn-s3",
        service: Service::Storage,
        feature: "openstack",
        zone: Zone::DomesticCsap,
        description: "NHN Cloud Object Storage through its S3 API",
    },
    SchemeInfo {
        scheme: "kakao-s3",
        service: Service::Storage,
        feature: "openstack",
        zone: Zone::DomesticCsap,
        description: "Kakao Cloud Object Storage through its S3 API",
    },
    SchemeInfo {
        scheme: "kakao-compute",
        service: Service::Compute,
        feature: "openstack",
        zone: Zone::DomesticCsap,
        description:
            "Kakao Cloud Beyond Compute Service instances (kr-central-2, gov kr-gov-central-1)",
    },
];
/// The schemes this crate serves (feature `openstack` of the `gureum` crate).
///
/// ```
/// let s: Vec<_> = gureum_openstack::SCHEMES.iter().map(|s| s.scheme).collect();
/// assert!(s.contains(&"swift") && s.contains(&"nova"));
/// ```
#[cfg(not(feature = "s3"))]
pub const SCHEMES: &[SchemeInfo] = &[
    SchemeInfo {
        scheme: "swift",
        service: Service::Storage,
        feature: "openstack",
        zone: Zone::OnPrem,
        description: "OpenStack Swift containers (city data centers; NHN, KT, Kakao presets)",
    },
    SchemeInfo {
        scheme: "nova",
        service: Service::Compute,
        feature: "openstack",
        zone: Zone::OnPrem,
        description: "OpenStack Nova servers (city data centers; NHN, KT, Kakao presets)",
    },
    SchemeInfo {
        scheme: "kakao-compute",
        service: Service::Compute,
        feature: "openstack",
        zone: Zone::DomesticCsap,
        description:
            "Kakao Cloud Beyond Compute Service instances (kr-central-2, gov kr-gov-central-1)",
    },
];

/// Register this provider's URL openers: `swift` (storage), `nova` and `kakao-compute`
/// (compute) and, with the
/// default `s3` feature, `nhn-s3` and `kakao-s3` (storage). See [`SCHEMES`].
///
/// ```
/// let mut registry = gureum_core::Registry::new();
/// gureum_openstack::register(&mut registry);
/// assert!(registry.schemes(gureum_core::Service::Storage).contains(&"swift".to_string()));
/// assert_eq!(registry.schemes(gureum_core::Service::Compute), ["kakao-compute", "nova"]);
/// ```
pub fn register(registry: &mut gureum_core::Registry) {
    registry.register_storage("swift", Arc::new(SwiftStorageOpener));
    registry.register_compute("nova", Arc::new(NovaComputeOpener));
    registry.register_compute("kakao-compute", Arc::new(KakaoComputeOpener));
    #[cfg(feature = "s3")]
    {
        registry.register_storage("nhn-s3", Arc::new(s3::PresetS3StorageOpener::nhn()));
        registry.register_storage("kakao-s3", Arc::new(s3::PresetS3StorageOpener::kakao()));
    }
}
