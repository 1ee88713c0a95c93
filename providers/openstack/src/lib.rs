//! # gureum-openstack
//!
//! The OpenStack family for gureum: identity (Keystone v3, Keystone v2.0, Swift tempauth v1),
//! Swift object storage as an [`object_store::ObjectStore`] ([`swift::SwiftStore`]), Nova
//! compute, and presets for NHN Cloud, KT Cloud, Kakao Cloud and a city's own OpenStack data
//! center.
//!
//! URLs:
//! * `swift://CONTAINER?cloud=NAME` (clouds.yaml / `OS_*` variables),
//!   `swift://CONTAINER?auth_url=http://host:8080/auth/v1.0&user=test:tester&key=testing` (tempauth),
//!   `swift://CONTAINER?preset=nhn&region=KR1&...`
//! * `nova://?cloud=NAME`
#![warn(missing_docs)]

pub mod auth;
pub mod client;
pub mod error;
pub mod swift;

use gureum_core::url::{ResourceUrl, StorageOpener};
use gureum_core::{async_trait, Bucket, Error, Result, Zone};
use std::sync::Arc;

pub use auth::{AuthOptions, Credential, Interface, Scope, Session};
pub use swift::{SwiftInfo, SwiftStore};

/// Opens `swift://` buckets.
#[derive(Debug, Default)]
pub struct SwiftOpener;

#[async_trait]
impl StorageOpener for SwiftOpener {
    async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        open_swift(url).await
    }
}

/// Open a Swift bucket from a URL.
pub async fn open_swift(url: &ResourceUrl) -> Result<Bucket> {
    let container = url.host().to_string();
    if container.is_empty() {
        return Err(Error::invalid(format!(
            "{url}: the container name goes in the host part: swift://CONTAINER?..."
        )));
    }
    let auth_url = url.require("auth_url")?;
    let auth_url =
        url::Url::parse(auth_url).map_err(|e| Error::invalid(format!("auth_url: {e}")))?;
    let cred = Credential::TempAuth {
        user: url.require("user")?.to_string(),
        key: secrecy::SecretString::from(url.require("key")?.to_string()),
    };
    let mut opts = AuthOptions::new(auth_url, cred);
    opts.allow_http = url.bool_param("allow_http")?.unwrap_or(false);
    let session = Arc::new(Session::new(opts)?);
    let store = SwiftStore::connect(session, container).await?;
    if let Some(k) = url.param("temp_url_key") {
        store.use_temp_url_key(secrecy::SecretString::from(k.to_string()));
    } else if store.info().tempurl {
        let _ = store.load_temp_url_key().await;
    }
    Ok(swift::bucket_from_store(
        store,
        swift::backend_info("swift", "openstack", Zone::OnPrem),
    ))
}

/// Register this provider's URL openers.
pub fn register(registry: &mut gureum_core::Registry) {
    registry.register_storage("swift", Arc::new(SwiftOpener));
}
