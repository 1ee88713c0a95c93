//! Naver Cloud Object Storage: `ncloud://bucket?region=kr|us|sg|jp|de|gov|gov2|fin`.
//!
//! An S3-compatible preset over the S3 driver of `gureum-aws` ([`gureum_aws::open_s3`]); this
//! module only chooses endpoints and quirks. From the API reference
//! (api.ncloud-docs.com/docs/storage-objectstorage, api-gov.ncloud-docs.com):
//!
//! | `region=` | endpoint | SigV4 region |
//! | --- | --- | --- |
//! | `kr` (default) | `https://kr.object.ncloudstorage.com` | `kr-standard` |
//! | `us` | `https://us.object.ncloudstorage.com` | `us-standard` |
//! | `sg` | `https://sg.object.ncloudstorage.com` | `sg-standard` |
//! | `jp` | `https://jp.object.ncpstorage.com` (note the domain) | `jp-standard` |
//! | `de` | `https://de.object.ncloudstorage.com` | `de-standard` |
//! | `gov` (capital area) | `https://kr.object.gov-ncloudstorage.com` | `gov-standard` |
//! | `gov2` (southern region) | `https://krs.object.gov-ncloudstorage.com` | `gov2-standard` |
//! | `fin` | `https://kr.object.fin-ncloudstorage.com` | `fin-standard` |
//!
//! The `*-standard` names are accepted for `region=` as well.
//!
//! Quirks: **no ListObjectsV2**, so listing uses ListObjects V1 with marker pagination
//! (1000 keys a page); path-style addressing; SigV4; request checksums only when an operation
//! requires them (conservative: the service predates the 2025 AWS SDK default checksums);
//! multipart parts of 5 MB to 5 GB and at most 10,000 parts; incomplete multipart uploads are
//! billed until aborted ([`abort_incomplete_uploads`]). Conditional writes, copy-if-not-exists,
//! object tagging and presigned URLs are not documented for the service and are off
//! (`presign=true` turns presigning on at your own risk).
//!
//! Other parameters: `endpoint` (private endpoint or test server), `signing_region`,
//! `allow_http`, `presign`, `path_style`, and the credential parameters of
//! [`crate::credentials`] (default `NCLOUD_ACCESS_KEY` / `NCLOUD_SECRET_KEY`).

use gureum_aws::{open_s3, AwsCredentials, S3Config, S3Quirks};
use gureum_core::url::StorageOpener;
use gureum_core::{Bucket, Error, ResourceUrl, Result, Zone};
use std::time::Duration;

/// Smallest multipart part (except the last): 5 MB.
///
/// ```
/// use gureum_ncloud::storage::{MAX_PART_SIZE, MIN_PART_SIZE};
/// assert!(MIN_PART_SIZE < MAX_PART_SIZE);
/// ```
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;
/// Largest multipart part: 5 GB.
///
/// ```
/// assert_eq!(gureum_ncloud::storage::MAX_PART_SIZE, 5 << 30);
/// ```
pub const MAX_PART_SIZE: u64 = 5 * 1024 * 1024 * 1024;
/// Most parts of one upload.
///
/// ```
/// use gureum_ncloud::storage::{MAX_PARTS, MAX_PART_SIZE};
/// assert_eq!(MAX_PARTS, 10_000);
/// assert!(MAX_PARTS as u64 * MAX_PART_SIZE > 1 << 40);
/// ```
pub const MAX_PARTS: u32 = 10_000;
/// Keys per ListObjects page.
///
/// ```
/// assert_eq!(gureum_ncloud::storage::LIST_PAGE, 1000);
/// ```
pub const LIST_PAGE: usize = 1000;

/// A Naver Cloud Object Storage region.
///
/// ```
/// let r = gureum_ncloud::storage::region("gov").unwrap();
/// assert_eq!((r.endpoint, r.signing_region), ("https://kr.object.gov-ncloudstorage.com", "gov-standard"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Short name (`kr`, `gov`, ...).
    pub name: &'static str,
    /// Endpoint URL.
    pub endpoint: &'static str,
    /// SigV4 signing region.
    pub signing_region: &'static str,
}

/// All documented regions.
///
/// ```
/// assert!(gureum_ncloud::storage::REGIONS.iter().any(|r| r.name == "kr"));
/// ```
pub const REGIONS: &[Region] = &[
    Region {
        name: "kr",
        endpoint: "https://kr.object.ncloudstorage.com",
        signing_region: "kr-standard",
    },
    Region {
        name: "us",
        endpoint: "https://us.object.ncloudstorage.com",
        signing_region: "us-standard",
    },
    Region {
        name: "sg",
        endpoint: "https://sg.object.ncloudstorage.com",
        signing_region: "sg-standard",
    },
    Region {
        name: "jp",
        endpoint: "https://jp.object.ncpstorage.com",
        signing_region: "jp-standard",
    },
    Region {
        name: "de",
        endpoint: "https://de.object.ncloudstorage.com",
        signing_region: "de-standard",
    },
    Region {
        name: "gov",
        endpoint: "https://kr.object.gov-ncloudstorage.com",
        signing_region: "gov-standard",
    },
    Region {
        name: "gov2",
        endpoint: "https://krs.object.gov-ncloudstorage.com",
        signing_region: "gov2-standard",
    },
    Region {
        name: "fin",
        endpoint: "https://kr.object.fin-ncloudstorage.com",
        signing_region: "fin-standard",
    },
];

/// Look up a region by short name or signing name (case-insensitive).
///
/// ```
/// use gureum_ncloud::storage::region;
/// assert_eq!(region("KR").unwrap().signing_region, "kr-standard");
/// assert_eq!(region("kr-standard").unwrap().name, "kr");
/// assert!(region("mars").is_err());
/// ```
pub fn region(name: &str) -> Result<Region> {
    let n = name.to_ascii_lowercase();
    REGIONS
        .iter()
        .find(|r| r.name == n || r.signing_region == n)
        .copied()
        .ok_or_else(|| {
            Error::invalid(format!(
                "unknown ncloud object storage region {name:?}; known: {}",
                REGIONS
                    .iter()
                    .map(|r| r.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// The quirks of Naver Cloud Object Storage.
///
/// ```
/// let q = gureum_ncloud::storage::quirks();
/// assert!(q.list_objects_v1 && !q.conditional_put); // no ListObjectsV2, no conditional PUT
/// ```
pub fn quirks() -> S3Quirks {
    S3Quirks::default()
        .list_objects_v1(true)
        .checksum_when_required(true)
        .conditional_put(false)
        .copy_if_not_exists(false)
        .tagging(false)
        .presign(false)
        .location_constraint(true)
        .multipart(true)
}

/// The S3 configuration for a bucket in `region` with `credentials`.
///
/// ```
/// use gureum_aws::AwsCredentials;
/// use gureum_ncloud::storage::{config, region};
/// let cfg = config("archive", region("kr").unwrap(), AwsCredentials::from_env_vars("NCLOUD_ACCESS_KEY", "NCLOUD_SECRET_KEY"));
/// assert_eq!(cfg.endpoint.as_deref(), Some("https://kr.object.ncloudstorage.com"));
/// assert_eq!(cfg.zone, gureum_core::Zone::DomesticCsap);
/// ```
pub fn config(bucket: &str, region: Region, credentials: AwsCredentials) -> S3Config {
    S3Config::new(bucket)
        .endpoint(region.endpoint)
        .region(region.signing_region)
        .path_style(true)
        .quirks(quirks())
        .credentials(credentials)
        .provider("ncloud", "ncloud")
        .zone(Zone::DomesticCsap)
}

/// Build the S3 configuration of an `ncloud://bucket?...` URL.
///
/// ```
/// use gureum_core::ResourceUrl;
/// use gureum_ncloud::storage::config_from_url;
/// std::env::set_var("NCLOUD_ACCESS_KEY", "ak");
/// std::env::set_var("NCLOUD_SECRET_KEY", "sk");
/// // Building the configuration does not contact the service.
/// let cfg = config_from_url(&ResourceUrl::parse("ncloud://archive?region=gov").unwrap()).unwrap();
/// assert_eq!(cfg.region.as_deref(), Some("gov-standard"));
/// assert!(config_from_url(&ResourceUrl::parse("ncloud://archive/sub?region=kr").unwrap()).is_err());
/// ```
pub fn config_from_url(url: &ResourceUrl) -> Result<S3Config> {
    let bucket = url.host();
    if bucket.is_empty() {
        return Err(Error::invalid(format!(
            "{url}: missing bucket name (ncloud://BUCKET?region=kr)"
        )));
    }
    let path = url.path();
    if !(path.is_empty() || path == "/") {
        return Err(Error::invalid(format!(
            "{url}: unexpected path {path:?}; use ncloud://BUCKET?region=..."
        )));
    }
    let r = region(url.param("region").unwrap_or("kr"))?;
    let creds = crate::credentials::resolve(url)?;
    let mut cfg = config(
        bucket,
        r,
        AwsCredentials::static_keys(
            creds.access_key(),
            secrecy::ExposeSecret::expose_secret(creds.secret_key()),
        ),
    );
    if let Some(e) = url.param("endpoint") {
        cfg = cfg.endpoint(e);
    }
    if let Some(s) = url.param("signing_region") {
        cfg = cfg.region(s);
    }
    cfg = cfg.allow_http(url.bool_param("allow_http")?.unwrap_or(false));
    cfg.tls = gureum_core::tls::TlsConfig::from_params(url.params())?;
    if let Some(p) = url.bool_param("path_style")? {
        cfg = cfg.path_style(p);
    }
    if let Some(p) = url.bool_param("presign")? {
        cfg.quirks = cfg.quirks.clone().presign(p);
    }
    Ok(cfg)
}

/// Open a bucket (it must exist; create it with `bucket.admin()`).
///
/// ```no_run
/// // no_run: opens a real Naver Cloud bucket (keys in NCLOUD_ACCESS_KEY / NCLOUD_SECRET_KEY).
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// let bucket = gureum_ncloud::storage::open(&gureum_core::ResourceUrl::parse("ncloud://archive?region=kr")?).await?;
/// assert_eq!(bucket.info().scheme, "ncloud");
/// # Ok(()) }
/// ```
pub async fn open(url: &ResourceUrl) -> Result<Bucket> {
    open_s3(config_from_url(url)?).await
}

/// Opener of `ncloud://`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use gureum_core::{ResourceUrl, StorageOpener};
/// // A URL without a bucket is refused before any request.
/// let e = gureum_ncloud::storage::NcloudStorageOpener.open_bucket(&ResourceUrl::parse("ncloud://?region=kr").unwrap()).await.unwrap_err();
/// assert_eq!(e.kind(), gureum_core::ErrorKind::InvalidArgument);
/// # }
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct NcloudStorageOpener;

#[gureum_core::async_trait]
impl StorageOpener for NcloudStorageOpener {
    async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        open(url).await
    }
}

/// Abort the bucket's incomplete multipart uploads started more than `older_than` ago (they
/// are billed until aborted); `Duration::ZERO` aborts all of them. The same as
/// [`gureum_aws::abort_incomplete_uploads`], which works on every S3-family bucket.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use gureum_core::{object_store::memory::InMemory, Bucket, ErrorKind};
/// let mem = Bucket::new("mem", std::sync::Arc::new(InMemory::new()));
/// let e = gureum_ncloud::storage::abort_incomplete_uploads(&mem, std::time::Duration::ZERO).await.unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::Unsupported); // only S3-family buckets (ncloud://, s3://, ...)
/// # }
/// ```
pub async fn abort_incomplete_uploads(bucket: &Bucket, older_than: Duration) -> Result<usize> {
    gureum_aws::abort_incomplete_uploads(bucket, older_than).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> ResourceUrl {
        let mut d = std::collections::BTreeMap::new();
        d.insert("access_key".to_string(), "AK".to_string());
        d.insert("secret_key".to_string(), "SK".to_string());
        ResourceUrl::parse(s).unwrap().with_defaults(&d)
    }

    #[test]
    fn regions_and_endpoints() {
        let c = config_from_url(&url("ncloud://b")).unwrap();
        assert_eq!(
            c.endpoint.as_deref(),
            Some("https://kr.object.ncloudstorage.com")
        );
        assert_eq!(c.region.as_deref(), Some("kr-standard"));
        assert!(c.quirks.list_objects_v1 && c.quirks.checksum_when_required);
        assert_eq!(c.path_style, Some(true));
        assert_eq!(c.zone, Zone::DomesticCsap);
        assert_eq!(
            (c.provider.as_str(), c.scheme.as_str()),
            ("ncloud", "ncloud")
        );
        let c = config_from_url(&url("ncloud://b?region=gov")).unwrap();
        assert_eq!(
            c.endpoint.as_deref(),
            Some("https://kr.object.gov-ncloudstorage.com")
        );
        assert_eq!(c.region.as_deref(), Some("gov-standard"));
        let c = config_from_url(&url("ncloud://b?region=gov2")).unwrap();
        assert_eq!(
            c.endpoint.as_deref(),
            Some("https://krs.object.gov-ncloudstorage.com")
        );
        let c = config_from_url(&url("ncloud://b?region=jp-standard")).unwrap();
        assert_eq!(
            c.endpoint.as_deref(),
            Some("https://jp.object.ncpstorage.com")
        );
        let c = config_from_url(&url(
            "ncloud://b?region=kr&endpoint=http://127.0.0.1:9&signing_region=us-east-1",
        ))
        .unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(c.region.as_deref(), Some("us-east-1"));
        assert!(config_from_url(&url("ncloud://b?region=mars")).is_err());
        assert!(config_from_url(&url("ncloud://?region=kr")).is_err());
        assert!(config_from_url(&url("ncloud://b/prefix")).is_err());
        assert!(!format!("{:?}", config_from_url(&url("ncloud://b")).unwrap()).contains("SK\""));
    }
}
