//! S3 storage: object operations through object_store's `AmazonS3`, bucket admin, presigning
//! and tagging through aws-sdk-s3 / object_store's signer.

use crate::config::{
    parse_endpoint, validate_region, AwsCredentials, S3Config, ServerSideEncryption,
};
use crate::error::from_sdk;
use crate::list_v1::{Conditional, ListApi, S3Store};
use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use gureum_core::key::encode_key;
use gureum_core::storage::{
    BackendInfo, Bucket, BucketAdmin, PresignMethod, Presigner, StorageCapabilities,
};
use gureum_core::url::{ResourceUrl, StorageOpener};
use gureum_core::{Error, ErrorKind, Result};
use object_store::aws::{
    AmazonS3, AmazonS3Builder, AmazonS3ConfigKey, AwsCredential, S3ConditionalPut,
    S3CopyIfNotExists,
};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::ObjectStore;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Load an `aws-config` [`SdkConfig`] for the given settings (credentials chain, region,
/// endpoint, profile). Shared by S3, SQS and EC2.
pub(crate) async fn load_sdk_config(
    region: Option<&str>,
    endpoint: Option<&str>,
    profile: Option<&str>,
    creds: &AwsCredentials,
    tls: &gureum_core::tls::TlsConfig,
) -> Result<SdkConfig> {
    let mut l = aws_config::defaults(BehaviorVersion::latest());
    if let Some(c) = crate::tls::sdk_http_client(tls)? {
        l = l.http_client(c);
    }
    if let Some(p) = profile {
        l = l.profile_name(p);
    }
    if let Some(r) = region {
        l = l.region(Region::new(r.to_string()));
    }
    if let Some(e) = endpoint {
        l = l.endpoint_url(e);
    }
    match creds.static_parts() {
        Some((ak, sk, tok)) => {
            l = l.credentials_provider(aws_credential_types::Credentials::new(
                ak,
                sk,
                tok,
                None,
                "gureum-static",
            ));
        }
        None => {
            if matches!(creds, AwsCredentials::Anonymous) {
                l = l.no_credentials();
            }
        }
    }
    Ok(l.load().await)
}

/// Everything resolved once per account/endpoint: shared by all buckets opened from it.
pub(crate) struct S3Context {
    pub(crate) config: S3Config,
    pub(crate) region: String,
    pub(crate) endpoint: Option<url::Url>,
    pub(crate) path_style: bool,
    pub(crate) creds: AwsCredentials,
    pub(crate) sdk: SdkConfig,
    pub(crate) client: aws_sdk_s3::Client,
}

impl fmt::Debug for S3Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Context")
            .field("provider", &self.config.provider)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint.as_ref().map(|u| u.as_str()))
            .field("path_style", &self.path_style)
            .finish()
    }
}

impl S3Context {
    pub(crate) async fn new(config: S3Config) -> Result<Arc<Self>> {
        if config.bucket.is_empty() {
            return Err(Error::invalid("S3 bucket name is empty"));
        }
        let endpoint = match config.effective_endpoint() {
            Some(e) => Some(parse_endpoint(&e, config.allow_http)?),
            None => None,
        };
        if let Some(r) = &config.region {
            validate_region(r, config.quirks.uppercase_region)?;
        }
        let creds = config.credentials.resolve()?;
        let sdk = load_sdk_config(
            config.region.as_deref(),
            endpoint.as_ref().map(|u| u.as_str().trim_end_matches('/')),
            config.profile.as_deref(),
            &creds,
            &config.tls,
        )
        .await?;
        let region = sdk
            .region()
            .map(|r| r.as_ref().to_string())
            .unwrap_or_else(|| "us-east-1".to_string());
        validate_region(&region, config.quirks.uppercase_region)?;
        let path_style = config.path_style.unwrap_or(endpoint.is_some());
        let mut b = aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(path_style)
            .region(Region::new(region.clone()));
        if config.quirks.checksum_when_required {
            b = b
                .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
                .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        }
        let client = aws_sdk_s3::Client::from_conf(b.build());
        Ok(Arc::new(S3Context {
            config,
            region,
            endpoint,
            path_style,
            creds,
            sdk,
            client,
        }))
    }

    /// object_store's AmazonS3 for `bucket`.
    pub(crate) fn amazon_s3(&self, bucket: &str) -> Result<AmazonS3> {
        let cfg = &self.config;
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(&self.region)
            .with_virtual_hosted_style_request(!self.path_style)
            .with_unsigned_payload(!cfg.effective_sign_payload())
            .with_disable_tagging(!cfg.quirks.tagging)
            // The answers object_store buffers whole (multi-delete, completion, errors) are
            // bounded; a body that never ends fails instead of growing memory.
            .with_http_connector(gureum_core::http::CappedConnector::default())
            .with_conditional_put(if cfg.quirks.conditional_put {
                S3ConditionalPut::ETagMatch
            } else {
                S3ConditionalPut::Disabled
            });
        if cfg.quirks.copy_if_not_exists {
            b = b.with_copy_if_not_exists(S3CopyIfNotExists::Multipart);
        }
        if cfg.tls.is_custom() {
            b = b.with_http_connector(crate::tls::ObjectStoreConnector::new(cfg.tls.clone(), "S3"));
        }
        if let Some(ep) = &self.endpoint {
            b = b.with_allow_http(ep.scheme() == "http");
            let ep_str = if self.path_style {
                ep.as_str().trim_end_matches('/').to_string()
            } else {
                // object_store wants the bucket in the host for virtual-host style.
                let mut u = ep.clone();
                let host = u.host_str().unwrap_or_default().to_string();
                u.set_host(Some(&format!("{bucket}.{host}"))).map_err(|e| {
                    Error::invalid(format!("virtual-host endpoint for {bucket}: {e}"))
                })?;
                u.as_str().trim_end_matches('/').to_string()
            };
            b = b.with_endpoint(ep_str);
        }
        match &self.creds {
            AwsCredentials::Anonymous => b = b.with_skip_signature(true),
            c => match c.static_parts() {
                Some((ak, sk, tok)) => {
                    b = b.with_access_key_id(ak).with_secret_access_key(sk);
                    if let Some(t) = tok {
                        b = b.with_token(t);
                    }
                }
                None => {
                    let provider = self.sdk.credentials_provider().ok_or_else(|| {
                        Error::new(ErrorKind::Unauthenticated, "no AWS credentials provider")
                    })?;
                    b = b.with_credentials(Arc::new(ChainCredentials {
                        provider,
                        cache: tokio::sync::Mutex::new(None),
                    }));
                }
            },
        }
        match &cfg.sse {
            None => {}
            Some(ServerSideEncryption::S3) => {
                b = b.with_config(sse_key()?, "AES256");
            }
            Some(ServerSideEncryption::Kms { key_id, bucket_key }) => {
                b = match key_id {
                    Some(k) => b.with_sse_kms_encryption(k),
                    None => b.with_config(sse_key()?, "aws:kms"),
                };
                b = b.with_bucket_key(*bucket_key);
            }
            Some(ServerSideEncryption::DsseKms { key_id }) => {
                b = b.with_dsse_kms_encryption(key_id)
            }
            Some(ServerSideEncryption::CustomerKey(k)) => {
                use secrecy::ExposeSecret;
                b = b.with_ssec_encryption(k.expose_secret())
            }
        }
        b.build().map_err(Error::from)
    }

    fn capabilities(&self) -> StorageCapabilities {
        let q = &self.config.quirks;
        StorageCapabilities {
            presign: false,
            bucket_admin: false,
            conditional_create: q.conditional_put,
            conditional_update: q.conditional_put,
            user_metadata: true,
            content_type: true,
            multipart: q.multipart,
            copy: true,
            copy_if_not_exists: q.copy_if_not_exists,
            sorted_listing: true,
            max_object_size: self.config.max_object_size,
            max_parts: Some(10_000),
        }
    }

    /// Open a [`Bucket`] on `bucket` with this context: on a custom endpoint whose
    /// conditional writes are not configured, probe once (per endpoint) whether the service
    /// enforces them ([`S3Store::probe_conditional`]); where it ignores them, the bucket's
    /// capabilities say so and conditional writes fail with `Unsupported`.
    pub(crate) async fn open_bucket(self: &Arc<Self>, bucket: &str) -> Result<Bucket> {
        let b = self.open_bucket_unprobed(bucket)?;
        let Some(store) = b.native::<S3Native>().map(|n| n.s3_store().clone()) else {
            return Ok(b);
        };
        if store.probe_conditional().await == Conditional::Ignored {
            let mut caps = b.capabilities().clone();
            caps.conditional_create = false;
            caps.conditional_update = false;
            caps.copy_if_not_exists = false;
            return Ok(b.with_capabilities(caps));
        }
        Ok(b)
    }

    fn open_bucket_unprobed(self: &Arc<Self>, bucket: &str) -> Result<Bucket> {
        let s3 = Arc::new(self.amazon_s3(bucket)?);
        let q = &self.config.quirks;
        let conditional = if !q.conditional_put {
            Conditional::Off
        } else if !q.probe_conditional || self.endpoint.as_ref().is_none_or(is_aws_endpoint) {
            Conditional::Trusted
        } else {
            Conditional::Unknown
        };
        let endpoint = self
            .endpoint
            .as_ref()
            .map(|u| u.as_str().to_string())
            .unwrap_or_default();
        let listing = S3Store::new(s3.clone(), self.client.clone(), bucket.to_string())
            .with_conditional(conditional, &endpoint)
            .with_list_api(if q.list_objects_v1 {
                ListApi::V1
            } else {
                ListApi::V2
            })
            .with_metadata_underscore(q.metadata_underscore, q.metadata_underscore_multipart)
            .with_max_metadata_value(q.max_metadata_value_bytes);
        let store: Arc<dyn ObjectStore> = Arc::new(listing.clone());
        let pager = Arc::new(listing.clone());
        let native = Arc::new(S3Native {
            client: self.client.clone(),
            bucket: bucket.to_string(),
            store: s3.clone(),
            listing,
            tagging: self.config.quirks.tagging,
        });
        let mut b = Bucket::new(bucket, store)
            .with_capabilities(self.capabilities())
            .with_admin(Arc::new(S3Admin { ctx: self.clone() }))
            .with_info(BackendInfo {
                scheme: self.config.scheme.clone(),
                provider: self.config.provider.clone(),
                zone: self.config.zone,
            })
            .with_native(native)
            .with_level_pager(pager);
        if self.config.quirks.presign && !matches!(self.creds, AwsCredentials::Anonymous) {
            b = b.with_presigner(Arc::new(S3Presigner { store: s3 }));
        }
        // SSE-C objects need the source key on every copy: no cross-bucket copier then.
        if !matches!(self.config.sse, Some(ServerSideEncryption::CustomerKey(_))) {
            b = b.with_bucket_copier(Arc::new(S3Copier {
                client: self.client.clone(),
                bucket: bucket.to_string(),
                domain: self.copy_domain(),
            }));
        }
        Ok(b)
    }

    /// The identity of this account and endpoint for cross-bucket copies: a hash of the
    /// provider, endpoint, region and credential identifiers (no secret goes in).
    fn copy_domain(&self) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::hash::DefaultHasher::new();
        self.config.provider.hash(&mut h);
        self.endpoint.as_ref().map(|u| u.as_str()).hash(&mut h);
        self.region.hash(&mut h);
        match &self.creds {
            AwsCredentials::Static { access_key_id, .. } => ("static", access_key_id).hash(&mut h),
            AwsCredentials::Anonymous => "anonymous".hash(&mut h),
            other => (
                "chain",
                self.config.profile.as_deref(),
                std::mem::discriminant(other),
            )
                .hash(&mut h),
        }
        format!("s3:{:016x}", h.finish())
    }
}

/// `CopyObject` from another bucket of the same account and endpoint.
struct S3Copier {
    client: aws_sdk_s3::Client,
    bucket: String,
    domain: String,
}

impl fmt::Debug for S3Copier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Copier")
            .field("bucket", &self.bucket)
            .finish()
    }
}

/// `x-amz-copy-source` is `bucket/key`, URL-encoded except for the `/` separators.
const COPY_SOURCE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

#[async_trait]
impl gureum_core::storage::BucketCopier for S3Copier {
    fn domain(&self) -> &str {
        &self.domain
    }
    fn max_object_size(&self) -> Option<u64> {
        // A single CopyObject copies at most 5 GiB (larger needs UploadPartCopy).
        Some(5 * 1024 * 1024 * 1024)
    }
    async fn copy_from(&self, src_bucket: &str, from: &str, to: &str) -> Result<()> {
        let source = format!(
            "{}/{}",
            src_bucket,
            percent_encoding::utf8_percent_encode(from, COPY_SOURCE)
        );
        self.client
            .copy_object()
            .bucket(&self.bucket)
            .key(to)
            .copy_source(source)
            .metadata_directive(aws_sdk_s3::types::MetadataDirective::Copy)
            .send()
            .await
            .map_err(|e| from_sdk("CopyObject", &format!("{src_bucket}/{from}"), e))?;
        Ok(())
    }
}

/// Whether `endpoint` is AWS's own S3 (`*.amazonaws.com`, `*.amazonaws.com.cn`,
/// `*.api.aws`): AWS enforces conditional writes, so it is never probed.
pub(crate) fn is_aws_endpoint(endpoint: &url::Url) -> bool {
    let host = endpoint
        .host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    ["amazonaws.com", "amazonaws.com.cn", "api.aws"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

fn sse_key() -> Result<AmazonS3ConfigKey> {
    "aws_server_side_encryption"
        .parse::<AmazonS3ConfigKey>()
        .map_err(Error::from)
}

/// Open a [`Bucket`] on S3 or an S3-compatible service. Other crates' presets call this.
///
/// The bucket must exist (create it with [`Bucket::admin`] first). Opening makes no request
/// to the bucket itself; credentials from the AWS chain are resolved lazily.
///
/// Example: see [`S3Native`].
pub async fn open_s3(config: S3Config) -> Result<Bucket> {
    let bucket = config.bucket.clone();
    let ctx = S3Context::new(config).await?;
    tracing::debug!(bucket = %bucket, provider = %ctx.config.provider, "opened S3 bucket");
    ctx.open_bucket(&bucket).await
}

/// Opener for `s3://bucket?region=&endpoint=&profile=&allow_http=&path_style=&sse=`.
///
/// Example: see [`S3Native`].
#[derive(Debug, Default, Clone, Copy)]
pub struct S3StorageOpener;

#[async_trait]
impl StorageOpener for S3StorageOpener {
    async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        open_s3(S3Config::from_url(url)?).await
    }
}

/// Bridges the `aws-config` credential chain to object_store, caching until near expiry.
struct ChainCredentials {
    provider: SharedCredentialsProvider,
    cache: tokio::sync::Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

impl fmt::Debug for ChainCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChainCredentials")
    }
}

#[async_trait]
impl object_store::CredentialProvider for ChainCredentials {
    type Credential = AwsCredential;
    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        let mut g = self.cache.lock().await;
        if let Some((c, exp)) = &*g {
            let fresh = exp.is_none_or(|e| e > SystemTime::now() + Duration::from_secs(300));
            if fresh {
                return Ok(c.clone());
            }
        }
        let creds = self.provider.provide_credentials().await.map_err(|e| {
            object_store::Error::Unauthenticated {
                path: String::new(),
                source: Box::new(e),
            }
        })?;
        let c = Arc::new(AwsCredential {
            key_id: creds.access_key_id().to_string(),
            secret_key: creds.secret_access_key().to_string(),
            token: creds.session_token().map(str::to_string),
        });
        *g = Some((c.clone(), creds.expiry()));
        Ok(c)
    }
}

/// Bucket admin over aws-sdk-s3 (create with the region as location constraint).
///
/// Example: see [`S3Native`].
#[derive(Debug)]
pub struct S3Admin {
    ctx: Arc<S3Context>,
}

#[async_trait]
impl BucketAdmin for S3Admin {
    async fn create_bucket(&self, name: &str) -> Result<()> {
        let c = &self.ctx.client;
        // us-east-1 answers 200 to a re-create by the owner: check first.
        match c.head_bucket().bucket(name).send().await {
            Ok(_) => {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("bucket {name:?} already exists"),
                )
                .with_provider_code("BucketAlreadyOwnedByYou"))
            }
            Err(e) => {
                let e = from_sdk("HeadBucket", name, e);
                match e.kind() {
                    ErrorKind::NotFound => {}
                    ErrorKind::PermissionDenied => {
                        return Err(Error::new(
                            ErrorKind::AlreadyExists,
                            format!("bucket {name:?} exists and belongs to another account"),
                        )
                        .with_provider_code("BucketAlreadyExists"))
                    }
                    _ => return Err(e),
                }
            }
        }
        let mut req = c.create_bucket().bucket(name);
        if self.ctx.config.quirks.location_constraint && self.ctx.region != "us-east-1" {
            req = req.create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                        self.ctx.region.as_str(),
                    ))
                    .build(),
            );
        }
        req.send()
            .await
            .map_err(|e| from_sdk("CreateBucket", name, e))?;
        Ok(())
    }

    async fn delete_bucket(&self, name: &str) -> Result<()> {
        self.ctx
            .client
            .delete_bucket()
            .bucket(name)
            .send()
            .await
            .map_err(|e| from_sdk("DeleteBucket", name, e))?;
        Ok(())
    }

    async fn list_buckets(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..1000 {
            let r = self
                .ctx
                .client
                .list_buckets()
                .set_continuation_token(token.clone())
                .send()
                .await
                .map_err(|e| from_sdk("ListBuckets", "", e))?;
            out.extend(
                r.buckets()
                    .iter()
                    .filter_map(|b| b.name().map(str::to_string)),
            );
            token = r
                .continuation_token()
                .map(str::to_string)
                .filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }

    async fn open(&self, name: &str) -> Result<Bucket> {
        self.ctx.open_bucket(name).await
    }
}

/// Presigned URLs from object_store's SigV4 signer (same addressing as the data path).
#[derive(Debug)]
struct S3Presigner {
    store: Arc<AmazonS3>,
}

#[async_trait]
impl Presigner for S3Presigner {
    async fn presign(
        &self,
        method: PresignMethod,
        path: &Path,
        expires: Duration,
    ) -> Result<url::Url> {
        let m = match method {
            PresignMethod::Get => http::Method::GET,
            PresignMethod::Put => http::Method::PUT,
        };
        Ok(self.store.signed_url(m, path, expires).await?)
    }
}

/// The S3 escape hatch: `bucket.native::<S3Native>()`.
///
/// Gives the aws-sdk-s3 client, object_store's `AmazonS3`, and object tagging.
///
/// # Examples
///
/// Object tags through a scripted loopback S3 endpoint (every answer is the same tag set):
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_aws::{abort_incomplete_uploads, open_s3, S3Config, S3Native};
/// use gureum_core::{ErrorKind, ResourceUrl};
/// use std::{collections::BTreeMap, time::Duration};
/// let (base, seen) = gureum_testkit::scripted::serve(|_, _| (200, String::new(),
///     "<Tagging><TagSet><Tag><Key>district</Key><Value>마포구</Value></Tag></TagSet></Tagging>".into())).await;
/// std::env::set_var("DOC_S3_AK", "AKIDEXAMPLE");
/// std::env::set_var("DOC_S3_SK", "example-secret");
/// let url = format!("s3://open-data?region=ap-northeast-2&endpoint={base}&path_style=true&conditional_put=false\
///                    &access_key_env=DOC_S3_AK&secret_key_env=DOC_S3_SK");
/// let bucket = open_s3(S3Config::from_url(&ResourceUrl::parse(&url)?)?).await?; // no request
/// let native = bucket.native::<S3Native>().unwrap();
/// assert_eq!(native.bucket_name(), "open-data");
/// assert!(native.supports_tagging());
/// let tags = BTreeMap::from([("district".to_string(), "마포구".to_string())]);
/// native.put_tags("교통/2026-11.csv", &tags).await?; // the portable key, stored verbatim
/// assert_eq!(native.get_tags("교통/2026-11.csv").await?, tags);
/// assert!(seen.lock().unwrap()[0].starts_with("PUT /open-data/%EA%B5%90%ED%86%B5/2026-11.csv?tagging"));
/// let _sdk: &aws_sdk_s3::Client = native.client(); // any other S3 call
/// let _os = native.amazon_s3(); // object_store's AmazonS3
/// let _store = native.s3_store(); // what `bucket.object_store()` uses
/// assert!(bucket.admin().is_ok()); // an `S3Admin` (create/delete buckets)
/// // Only S3-family buckets have multipart uploads to abort:
/// let mem = gureum_core::Bucket::new("mem", std::sync::Arc::new(gureum_core::object_store::memory::InMemory::new()));
/// let e = abort_incomplete_uploads(&mem, Duration::ZERO).await.unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::Unsupported);
/// // The same bucket from the registry (`S3StorageOpener` serves s3://):
/// let mut r = gureum_core::Registry::new();
/// gureum_aws::register(&mut r);
/// assert_eq!(r.open_bucket(Some(&url)).await?.name(), "open-data");
/// # Ok(()) }
/// ```
pub struct S3Native {
    client: aws_sdk_s3::Client,
    bucket: String,
    store: Arc<AmazonS3>,
    listing: S3Store,
    tagging: bool,
}

impl fmt::Debug for S3Native {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Native")
            .field("bucket", &self.bucket)
            .finish()
    }
}

impl S3Native {
    /// The aws-sdk-s3 client (configured with the same endpoint, region and credentials).
    ///
    /// Example: see [`S3Native`].
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }
    /// The bucket name.
    ///
    /// Example: see [`S3Native`].
    pub fn bucket_name(&self) -> &str {
        &self.bucket
    }
    /// object_store's `AmazonS3` for this bucket.
    ///
    /// Example: see [`S3Native`].
    pub fn amazon_s3(&self) -> &Arc<AmazonS3> {
        &self.store
    }
    /// The `ObjectStore` the bucket uses (`AmazonS3` with tolerant listing and metadata
    /// encoding); the same store as `Bucket::object_store()`.
    ///
    /// Example: see [`S3Native`].
    pub fn s3_store(&self) -> &S3Store {
        &self.listing
    }
    /// Whether object tagging is advertised for this service.
    ///
    /// Example: see [`S3Native`].
    pub fn supports_tagging(&self) -> bool {
        self.tagging
    }
    fn check_tagging(&self) -> Result<()> {
        if self.tagging {
            Ok(())
        } else {
            Err(Error::unsupported(
                "object tagging is not supported by this service",
            ))
        }
    }
    /// Replace the tags of the object at portable `key`.
    ///
    /// Example: see [`S3Native`].
    pub async fn put_tags(&self, key: &str, tags: &BTreeMap<String, String>) -> Result<()> {
        self.check_tagging()?;
        let k = encode_key(key)?.to_string();
        let mut set = Vec::with_capacity(tags.len());
        for (tk, tv) in tags {
            set.push(
                aws_sdk_s3::types::Tag::builder()
                    .key(tk)
                    .value(tv)
                    .build()
                    .map_err(|e| Error::invalid(format!("tag {tk:?}: {e}")))?,
            );
        }
        let tagging = aws_sdk_s3::types::Tagging::builder()
            .set_tag_set(Some(set))
            .build()
            .map_err(|e| Error::invalid(format!("tags: {e}")))?;
        self.client
            .put_object_tagging()
            .bucket(&self.bucket)
            .key(&k)
            .tagging(tagging)
            .send()
            .await
            .map_err(|e| from_sdk("PutObjectTagging", &k, e))?;
        Ok(())
    }
    /// The tags of the object at portable `key`.
    ///
    /// Example: see [`S3Native`].
    pub async fn get_tags(&self, key: &str) -> Result<BTreeMap<String, String>> {
        self.check_tagging()?;
        let k = encode_key(key)?.to_string();
        let r = self
            .client
            .get_object_tagging()
            .bucket(&self.bucket)
            .key(&k)
            .send()
            .await
            .map_err(|e| from_sdk("GetObjectTagging", &k, e))?;
        Ok(r.tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect())
    }
}

/// Abort the bucket's incomplete multipart uploads started more than `older_than` ago (they
/// are billed until aborted); `Duration::ZERO` aborts all of them, including uploads another
/// writer may still be using. Returns how many were aborted. Works on every bucket opened
/// through `gureum-aws`: `s3://` (AWS or any S3-compatible endpoint), `ncloud://`, `nhn-s3://`,
/// `kakao-s3://`.
///
/// Example: see [`S3Native`].
pub async fn abort_incomplete_uploads(bucket: &Bucket, older_than: Duration) -> Result<usize> {
    let native = bucket
        .native::<S3Native>()
        .ok_or_else(|| Error::unsupported("abort_incomplete_uploads needs an S3-family bucket"))?;
    let client = native.client();
    let name = native.bucket_name().to_string();
    let cutoff = chrono::Utc::now().timestamp() - older_than.as_secs() as i64;
    let sdk_err = |op: &str, status: Option<u16>| {
        let kind = status
            .map(gureum_core::http::kind_for_status)
            .unwrap_or(ErrorKind::Unavailable);
        Error::new(
            kind,
            format!(
                "{op} on bucket {name}: failed{}",
                status.map(|s| format!(" (HTTP {s})")).unwrap_or_default()
            ),
        )
    };
    let (mut key_marker, mut id_marker): (Option<String>, Option<String>) = (None, None);
    let mut aborted = 0usize;
    for _ in 0..10_000 {
        let page = client
            .list_multipart_uploads()
            .bucket(&name)
            .set_key_marker(key_marker.clone())
            .set_upload_id_marker(id_marker.clone())
            .send()
            .await
            .map_err(|e| {
                sdk_err(
                    "ListMultipartUploads",
                    e.raw_response().map(|r| r.status().as_u16()),
                )
            })?;
        for u in page.uploads() {
            let (Some(key), Some(id)) = (u.key(), u.upload_id()) else {
                continue;
            };
            let started = u.initiated().map(|d| d.secs()).unwrap_or(i64::MIN);
            // `Duration::ZERO` aborts everything (server clocks round `Initiated` up).
            if !older_than.is_zero() && started > cutoff {
                continue;
            }
            match client
                .abort_multipart_upload()
                .bucket(&name)
                .key(key)
                .upload_id(id)
                .send()
                .await
            {
                Ok(_) => aborted += 1,
                Err(e) => {
                    let status = e.raw_response().map(|r| r.status().as_u16());
                    if status != Some(404) {
                        return Err(sdk_err("AbortMultipartUpload", status));
                    }
                }
            }
        }
        if !page.is_truncated().unwrap_or(false) {
            break;
        }
        key_marker = page.next_key_marker().map(str::to_string);
        id_marker = page.next_upload_id_marker().map(str::to_string);
        if key_marker.is_none() && id_marker.is_none() {
            break;
        }
    }
    tracing::debug!(bucket = %native.bucket_name(), aborted, "aborted incomplete multipart uploads");
    Ok(aborted)
}

#[cfg(test)]
mod tests {
    use super::is_aws_endpoint;

    #[test]
    fn aws_endpoints_are_never_probed() {
        for e in [
            "https://s3.amazonaws.com",
            "https://s3.ap-northeast-2.amazonaws.com",
            "https://bucket.s3.dualstack.us-east-1.amazonaws.com/",
            "https://s3.cn-north-1.amazonaws.com.cn",
            "https://s3.us-east-1.api.aws",
            "https://S3.AMAZONAWS.COM.",
        ] {
            assert!(is_aws_endpoint(&url::Url::parse(e).unwrap()), "{e}");
        }
        for e in [
            "http://127.0.0.1:5000",
            "https://kr.object.ncloudstorage.com",
            "https://amazonaws.com.evil.example",
            "https://notamazonaws.com",
            "https://minio.local:9000",
        ] {
            assert!(!is_aws_endpoint(&url::Url::parse(e).unwrap()), "{e}");
        }
    }
}
