//! Azure Blob Storage: `azblob://container?account=NAME[&endpoint=...]`.
//!
//! Object operations go through `object_store`'s `MicrosoftAzure` (block blobs; streaming
//! uploads via Put Block / Put Block List with bounded memory; metadata; If-Match /
//! If-None-Match conditional writes). Containers (create/delete/list) and SAS presigned URLs
//! are signed REST calls made by this crate.

use crate::auth::{blob_service_sas, Credential};
use crate::config::AccountConfig;
use crate::rest::StorageRest;
use crate::xml::{from_str, Enumeration};
use async_trait::async_trait;
use chrono::Utc;
use gureum_core::object_store::path::Path;
use gureum_core::object_store::signer::Signer;
use gureum_core::url::{ResourceUrl, StorageOpener};
use gureum_core::{
    BackendInfo, Bucket, BucketAdmin, Error, ErrorKind, PresignMethod, Presigner, Result,
    StorageCapabilities, Zone,
};
use http::{HeaderMap, Method};
use object_store::azure::MicrosoftAzure;
use std::sync::Arc;
use std::time::Duration;

/// Validate an Azure container name: 3-63 characters, lowercase letters, digits and single
/// hyphens, starting and ending with a letter or digit (`$root`, `$web`, `$logs` allowed).
///
/// Example: see [`BlobAccount`].
pub fn validate_container_name(name: &str) -> Result<()> {
    if matches!(name, "$root" | "$web" | "$logs") {
        return Ok(());
    }
    let ok = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "container name {name:?}: use 3-63 lowercase letters, digits and single hyphens"
        )))
    }
}

/// Container administration and bucket opening for one storage account.
///
/// # Examples
///
/// Opening a bucket and presigning with the account key need no request:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_azure::{blob::{validate_container_name, BlobAccount}, config::AccountConfig};
/// use gureum_core::{ErrorKind, PresignMethod, ResourceUrl};
/// use std::time::Duration;
/// let account = BlobAccount::new(AccountConfig::from_url(&ResourceUrl::parse("azblob://x?emulator=true")?)?)?;
/// assert!(account.config().path_style);
/// let bucket = account.bucket("open-data")?; // not created, nothing sent
/// assert!(bucket.capabilities().conditional_create);
/// // `BlobPresigner`: a service SAS signed locally; the key is stored verbatim (Hangul kept).
/// let url = bucket.presign(PresignMethod::Get, "교통/2026-11.csv", Duration::from_secs(600)).await?;
/// assert_eq!(url.path(), "/devstoreaccount1/open-data/%EA%B5%90%ED%86%B5/2026-11.csv");
/// assert!(url.query().unwrap().contains("sp=r"));
/// assert_eq!(account.bucket("Open_Data").unwrap_err().kind(), ErrorKind::InvalidArgument);
/// assert!(validate_container_name("$web").is_ok() && validate_container_name("ab").is_err());
/// // The same through the registry (`AzblobStorageOpener`):
/// let mut r = gureum_core::Registry::new();
/// gureum_azure::register(&mut r);
/// assert_eq!(r.open_bucket(Some("azblob://open-data?emulator=true")).await?.name(), "open-data");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct BlobAccount {
    config: AccountConfig,
    rest: StorageRest,
}

impl BlobAccount {
    /// Connect to the account described by `config`.
    ///
    /// Example: see [`BlobAccount`].
    pub fn new(config: AccountConfig) -> Result<Self> {
        config.check_blob_endpoint()?;
        let rest = StorageRest::with_config(
            config.account.clone(),
            config.credential()?,
            config.http.clone(),
        )?;
        Ok(BlobAccount { config, rest })
    }

    /// The account configuration.
    ///
    /// Example: see [`BlobAccount`].
    pub fn config(&self) -> &AccountConfig {
        &self.config
    }

    fn container_url(&self, name: &str) -> url::Url {
        let mut u = self.config.blob_endpoint.clone();
        u.path_segments_mut()
            .expect("http(s) URL has a path")
            .pop_if_empty()
            .push(name);
        u.set_query(Some("restype=container"));
        u
    }

    /// Open a [`Bucket`] on `container` (the container is not created).
    ///
    /// Example: see [`BlobAccount`].
    pub fn bucket(&self, container: &str) -> Result<Bucket> {
        validate_container_name(container)?;
        let store: MicrosoftAzure = self
            .config
            .object_store_builder(container)?
            .build()
            .map_err(Error::from)?;
        let store = Arc::new(store);
        let presigner = BlobPresigner {
            config: self.config.clone(),
            container: container.to_string(),
            credential: self.rest.credential().clone(),
            store: store.clone(),
        };
        let caps = StorageCapabilities {
            presign: false,
            bucket_admin: false,
            conditional_create: true,
            conditional_update: true,
            user_metadata: true,
            content_type: true,
            multipart: true,
            copy: true,
            copy_if_not_exists: true,
            sorted_listing: true,
            // 50,000 blocks × 4000 MiB
            max_object_size: Some(50_000 * 4000 * 1024 * 1024),
            max_parts: Some(50_000),
        };
        // Listing goes through our own List Blobs calls: they skip blob names outside the
        // portable key space (written by other tools) instead of failing the listing.
        let mut container_url = self.container_url(container);
        container_url.set_query(None);
        let listing = Arc::new(crate::store::AzureStore::with_listing(
            store.clone(),
            self.rest.clone(),
            container_url,
        ));
        let wrapped: Arc<dyn object_store::ObjectStore> = listing.clone();
        // A delimiter page is one List Blobs call per page, continued by its NextMarker.
        let mut b = Bucket::new(container, wrapped)
            .with_marker_pager(listing)
            .with_capabilities(caps)
            .with_info(BackendInfo {
                scheme: "azblob".into(),
                provider: "azure".into(),
                zone: Zone::Foreign,
            })
            .with_admin(Arc::new(self.clone()))
            .with_native(store);
        if presigner.can_presign() {
            b = b.with_presigner(Arc::new(presigner));
        }
        b = b.with_bucket_copier(Arc::new(AzureCopier {
            rest: self.rest.clone(),
            endpoint: self.config.blob_endpoint.clone(),
            container: container.to_string(),
            domain: self.copy_domain(),
        }));
        Ok(b)
    }

    /// The identity of this account and endpoint for cross-container copies (no secret).
    fn copy_domain(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        self.config.blob_endpoint.as_str().hash(&mut h);
        self.config.account.hash(&mut h);
        format!("azblob:{:016x}", h.finish())
    }
}

/// The URL of blob `key` in `container` (each `/`-separated part one path segment).
fn blob_url(endpoint: &url::Url, container: &str, key: &str) -> url::Url {
    let mut u = endpoint.clone();
    u.set_query(None);
    {
        let mut segs = u.path_segments_mut().expect("http(s) URL has a path");
        segs.pop_if_empty().push(container);
        for part in key.split('/') {
            segs.push(part);
        }
    }
    u
}

/// `Copy Blob` from another container of the same storage account: the service copies
/// content, content type and metadata; a copy that is still `pending` is polled (bounded).
#[derive(Clone)]
struct AzureCopier {
    rest: StorageRest,
    endpoint: url::Url,
    container: String,
    domain: String,
}

impl std::fmt::Debug for AzureCopier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureCopier")
            .field("container", &self.container)
            .finish()
    }
}

/// How long a pending server-side copy is waited for before giving up.
const COPY_WAIT: Duration = Duration::from_secs(600);

#[async_trait]
impl gureum_core::storage::BucketCopier for AzureCopier {
    fn domain(&self) -> &str {
        &self.domain
    }

    async fn copy_from(&self, src_bucket: &str, from: &str, to: &str) -> Result<()> {
        validate_container_name(src_bucket)?;
        let what = format!("copy blob {src_bucket}/{from} to {}/{to}", self.container);
        let dst = blob_url(&self.endpoint, &self.container, to);
        let src = blob_url(&self.endpoint, src_bucket, from);
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-ms-copy-source",
            http::HeaderValue::from_str(src.as_str())
                .map_err(|_| Error::invalid(format!("{what}: source URL is not a header value")))?,
        );
        let r = self
            .rest
            .send(&what, Method::PUT, dst.clone(), headers, None)
            .await?;
        let mut status = r
            .header("x-ms-copy-status")
            .unwrap_or("success")
            .to_string();
        let started = std::time::Instant::now();
        let mut wait = Duration::from_millis(100);
        while status == "pending" {
            if started.elapsed() > COPY_WAIT {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!("{what}: still pending after {} s", COPY_WAIT.as_secs()),
                ));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(2));
            let h = self
                .rest
                .send(&what, Method::HEAD, dst.clone(), HeaderMap::new(), None)
                .await?;
            status = h
                .header("x-ms-copy-status")
                .unwrap_or("success")
                .to_string();
        }
        if status != "success" {
            return Err(Error::new(
                ErrorKind::Other,
                format!("{what}: the service reports copy status {status:?}"),
            )
            .with_provider_code(status));
        }
        Ok(())
    }
}

#[async_trait]
impl BucketAdmin for BlobAccount {
    async fn create_bucket(&self, name: &str) -> Result<()> {
        validate_container_name(name)?;
        self.rest
            .send(
                &format!("create container {name}"),
                Method::PUT,
                self.container_url(name),
                HeaderMap::new(),
                None,
            )
            .await?;
        Ok(())
    }

    async fn delete_bucket(&self, name: &str) -> Result<()> {
        validate_container_name(name)?;
        // Azure deletes non-empty containers; the portable contract is "delete an empty
        // bucket", so look first.
        let mut list = self.container_url(name);
        list.set_query(Some("restype=container&comp=list&maxresults=1"));
        let r = self
            .rest
            .send(
                &format!("list container {name}"),
                Method::GET,
                list,
                HeaderMap::new(),
                None,
            )
            .await?;
        let listed: Enumeration = from_str("list container", &r.text())?;
        if !listed.blobs.items.is_empty() {
            return Err(Error::new(
                ErrorKind::PreconditionFailed,
                format!("container {name} is not empty"),
            )
            .with_provider_code("ContainerNotEmpty"));
        }
        self.rest
            .send(
                &format!("delete container {name}"),
                Method::DELETE,
                self.container_url(name),
                HeaderMap::new(),
                None,
            )
            .await?;
        Ok(())
    }

    async fn list_buckets(&self) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..10_000 {
            let mut u = self.config.blob_endpoint.clone();
            if !u.path().ends_with('/') {
                let p = format!("{}/", u.path());
                u.set_path(&p);
            }
            {
                let mut q = u.query_pairs_mut();
                q.append_pair("comp", "list");
                if let Some(m) = &marker {
                    q.append_pair("marker", m);
                }
            }
            let r = self
                .rest
                .send("list containers", Method::GET, u, HeaderMap::new(), None)
                .await?;
            let e: Enumeration = from_str("list containers", &r.text())?;
            names.extend(e.containers.items.iter().map(|c| c.name.clone()));
            marker = e.next_marker();
            if marker.is_none() {
                break;
            }
        }
        Ok(names)
    }

    async fn open(&self, name: &str) -> Result<Bucket> {
        self.bucket(name)
    }
}

/// SAS presigned blob URLs: a service SAS signed with the account key, or (Entra ID) a
/// user delegation SAS made by `object_store`.
///
/// Example: see [`BlobAccount`].
#[derive(Debug, Clone)]
pub struct BlobPresigner {
    config: AccountConfig,
    container: String,
    credential: Credential,
    store: Arc<MicrosoftAzure>,
}

impl BlobPresigner {
    fn can_presign(&self) -> bool {
        matches!(
            self.credential,
            Credential::SharedKey(_) | Credential::Entra(_)
        )
    }
}

#[async_trait]
impl Presigner for BlobPresigner {
    async fn presign(
        &self,
        method: PresignMethod,
        path: &Path,
        expires: Duration,
    ) -> Result<url::Url> {
        match &self.credential {
            Credential::SharedKey(key) => {
                let mut u = self.config.blob_endpoint.clone();
                {
                    let mut segs = u.path_segments_mut().expect("http(s) URL");
                    segs.pop_if_empty().push(&self.container);
                    for part in path.parts() {
                        segs.push(part.as_ref());
                    }
                }
                let perms = match method {
                    PresignMethod::Get => "r",
                    PresignMethod::Put => "cw",
                };
                // Start a little in the past to tolerate clock skew.
                let start = Utc::now() - chrono::Duration::minutes(5);
                let expiry = Utc::now()
                    + chrono::Duration::from_std(expires)
                        .map_err(|_| Error::invalid("presign expiry out of range"))?;
                let q = blob_service_sas(
                    &self.config.account,
                    key,
                    &u,
                    self.config.path_style,
                    perms,
                    start,
                    expiry,
                );
                u.set_query(Some(&q));
                Ok(u)
            }
            Credential::Entra(_) => {
                let m = match method {
                    PresignMethod::Get => Method::GET,
                    PresignMethod::Put => Method::PUT,
                };
                Ok(self.store.signed_url(m, path, expires).await?)
            }
            _ => Err(Error::unsupported(
                "presigned URLs need an account key or an Entra ID credential",
            )),
        }
    }
}

/// Opens `azblob://container?account=NAME[&endpoint=...]`.
///
/// Example: see [`BlobAccount`] (`register`, then `open_bucket`).
#[derive(Debug, Default)]
pub struct AzblobStorageOpener;

#[async_trait]
impl StorageOpener for AzblobStorageOpener {
    async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        let container = url.host();
        if container.is_empty() {
            return Err(Error::invalid(format!(
                "{url}: the container is missing: azblob://CONTAINER?account=NAME"
            )));
        }
        let cfg = AccountConfig::from_url(url)?;
        let account = BlobAccount::new(cfg)?;
        let b = account.bucket(container)?;
        if url.bool_param("create")?.unwrap_or(false) {
            match account.create_bucket(container).await {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names() {
        for ok in ["abc", "a-b-c", "0123", "$root"] {
            assert!(validate_container_name(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "ABC", "a--b", "-ab", "ab-", "a_b", &"a".repeat(64)] {
            assert!(validate_container_name(bad).is_err(), "{bad}");
        }
    }
}
