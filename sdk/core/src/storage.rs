//! Portable object storage: [`Bucket`] over any `object_store::ObjectStore`.
//!
//! ```
//! # tokio_test_block_on(async {
//! use gureum_core::storage::{Bucket, PutOptions};
//! use std::sync::Arc;
//! let bucket = Bucket::new("demo", Arc::new(object_store::memory::InMemory::new()));
//! bucket.put("민원/c-1041.json", b"{}".to_vec()).await.unwrap();
//! assert_eq!(&bucket.get("민원/c-1041.json").await.unwrap()[..], b"{}");
//! let keys: Vec<String> = bucket.list_all(Some("민원/")).await.unwrap()
//!     .into_iter().map(|o| o.key).collect();
//! assert_eq!(keys, vec!["민원/c-1041.json".to_string()]);
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
//! # }
//! ```

use crate::error::{Error, ErrorKind, Result};
use crate::key::{
    check_key, counting_foreign, decode_key, encode_key, report_foreign_name, split_prefix,
};
use crate::Zone;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::path::Path;
use object_store::{
    Attribute, AttributeValue, Attributes, GetOptions, GetRange, ObjectMeta, ObjectStore,
    ObjectStoreExt, PutMode, PutPayload, UpdateVersion,
};
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// What a storage backend can do. Conformance cases for a capability that is `false` are
/// reported "unsupported" instead of failing.
///
/// # Examples
///
/// ```
/// use gureum_core::{object_store::memory::InMemory, Bucket};
/// use std::sync::Arc;
/// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
/// let caps = bucket.capabilities();
/// assert!(caps.conditional_create && caps.multipart);
/// assert!(!caps.presign); // check before relying on a feature; a call without it is Unsupported
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StorageCapabilities {
    /// Presigned GET/PUT URLs usable by a plain HTTP client.
    pub presign: bool,
    /// Create/delete/list buckets through [`BucketAdmin`].
    pub bucket_admin: bool,
    /// Create-only writes (`PutMode::Create`).
    pub conditional_create: bool,
    /// If-match writes (`PutMode::Update` with an etag).
    pub conditional_update: bool,
    /// User metadata round trips.
    pub user_metadata: bool,
    /// Content-Type round trips.
    pub content_type: bool,
    /// Multipart uploads.
    pub multipart: bool,
    /// Server-side copy.
    pub copy: bool,
    /// Copy that fails if the destination exists.
    pub copy_if_not_exists: bool,
    /// Listing returns keys in ascending stored order.
    pub sorted_listing: bool,
    /// Largest object the backend accepts, if bounded.
    pub max_object_size: Option<u64>,
    /// Most parts one multipart upload may have, if bounded (S3: 10,000; Swift: the SLO
    /// `max_manifest_segments` of `/info`, 1,000 by default; Azure: 50,000 blocks).
    /// [`BucketWriter`] grows its part size before reaching it.
    pub max_parts: Option<usize>,
}

impl Default for StorageCapabilities {
    fn default() -> Self {
        StorageCapabilities {
            presign: false,
            bucket_admin: false,
            conditional_create: true,
            conditional_update: true,
            user_metadata: true,
            content_type: true,
            multipart: true,
            copy: true,
            copy_if_not_exists: true,
            sorted_listing: false,
            max_object_size: None,
            max_parts: None,
        }
    }
}

/// Create, delete and list buckets (containers) of one account.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// let tmp = tempfile::tempdir()?;
/// // A file:// bucket's admin manages its sibling directories.
/// let bucket = gureum_local::storage::open_file(tmp.path().join("civic"))?;
/// let admin = bucket.admin()?;
/// admin.create_bucket("open-data").await?;
/// let mut names = admin.list_buckets().await?;
/// names.sort();
/// assert_eq!(names, ["civic", "open-data"]);
/// let open_data = admin.open("open-data").await?;
/// open_data.put("readme.txt", b"hi".to_vec()).await?;
/// assert_eq!(open_data.name(), "open-data");
/// # Ok(()) }
/// ```
#[async_trait]
pub trait BucketAdmin: Send + Sync + fmt::Debug {
    /// Create a bucket. An existing bucket gives [`ErrorKind::AlreadyExists`].
    async fn create_bucket(&self, name: &str) -> Result<()>;
    /// Delete an empty bucket. A missing bucket gives [`ErrorKind::NotFound`].
    async fn delete_bucket(&self, name: &str) -> Result<()>;
    /// List bucket names.
    async fn list_buckets(&self) -> Result<Vec<String>>;
    /// Open a [`Bucket`] on another bucket of the same account.
    async fn open(&self, name: &str) -> Result<Bucket>;
}

/// HTTP method of a presigned URL.
///
/// ```
/// use gureum_core::PresignMethod;
/// assert_ne!(PresignMethod::Get, PresignMethod::Put);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresignMethod {
    /// Download.
    Get,
    /// Upload (single request).
    Put,
}

/// Makes presigned URLs (S3 SigV4, Azure SAS, Swift TempURL, ...).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{async_trait, object_store::{memory::InMemory, path::Path}, Bucket, PresignMethod, Presigner};
/// use std::{sync::Arc, time::Duration};
/// /// A toy presigner: a real one signs the URL (SigV4, SAS, TempURL).
/// #[derive(Debug)]
/// struct Files;
/// #[async_trait]
/// impl Presigner for Files {
///     async fn presign(&self, _m: PresignMethod, path: &Path, expires: Duration) -> gureum_core::Result<url::Url> {
///         Ok(url::Url::parse(&format!("https://files.example/{path}?expires={}", expires.as_secs())).unwrap())
///     }
/// }
/// let bucket = Bucket::new("b", Arc::new(InMemory::new())).with_presigner(Arc::new(Files));
/// assert!(bucket.capabilities().presign);
/// let url = bucket.presign(PresignMethod::Get, "stats/2026.csv", Duration::from_secs(600)).await?;
/// assert_eq!(url.as_str(), "https://files.example/stats/2026.csv?expires=600");
/// # Ok(()) }
/// ```
#[async_trait]
pub trait Presigner: Send + Sync + fmt::Debug {
    /// A URL that allows `method` on the stored `path` for `expires`.
    async fn presign(
        &self,
        method: PresignMethod,
        path: &Path,
        expires: Duration,
    ) -> Result<url::Url>;
}

/// Where a backend lives, for the placement policy and for reports.
///
/// ```
/// use gureum_core::{BackendInfo, Zone};
/// let info = BackendInfo { scheme: "s3".into(), provider: "aws".into(), zone: Zone::Foreign };
/// assert_eq!(BackendInfo::default().zone, Zone::OnPrem);
/// assert_eq!(info.zone.as_str(), "foreign");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct BackendInfo {
    /// URL scheme that opened it (`s3`, `file`, ...).
    pub scheme: String,
    /// Provider name (`aws`, `local`, `nhn`, ...).
    pub provider: String,
    /// Placement zone.
    pub zone: Zone,
}

/// How a write treats an existing object.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
/// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
/// use gureum_core::{ErrorKind, PutOptions, WriteMode};
/// let create_only = PutOptions::default().mode(WriteMode::CreateOnly);
/// let first = bucket.put_with("lock", b"worker-1".to_vec(), &create_only).await?;
/// let e = bucket.put_with("lock", b"worker-2".to_vec(), &create_only).await.unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::AlreadyExists);
/// // Replace only what we read: a stale etag is refused.
/// let etag = first.etag.expect("the in-memory store reports etags");
/// let update = PutOptions::default().mode(WriteMode::IfMatch(etag.clone()));
/// bucket.put_with("lock", b"worker-1 again".to_vec(), &update).await?;
/// let stale = bucket.put_with("lock", b"late".to_vec(), &update).await.unwrap_err();
/// assert_eq!(stale.kind(), ErrorKind::PreconditionFailed);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WriteMode {
    /// Replace whatever is there.
    #[default]
    Overwrite,
    /// Fail with [`ErrorKind::AlreadyExists`] if the key exists.
    CreateOnly,
    /// Replace only if the current etag matches, else [`ErrorKind::PreconditionFailed`].
    IfMatch(String),
}

/// Options of a write.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
/// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
/// use gureum_core::PutOptions;
/// let opts = PutOptions::default()
///     .content_type("application/json")
///     .metadata("department", "roads");
/// bucket.put_with("c-1041.json", b"{}".to_vec(), &opts).await?;
/// let info = bucket.head("c-1041.json").await?;
/// assert_eq!(info.content_type.as_deref(), Some("application/json"));
/// assert_eq!(info.metadata["department"], "roads");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// Content-Type to store.
    pub content_type: Option<String>,
    /// User metadata; see [`validate_metadata`] for the rules.
    pub metadata: BTreeMap<String, String>,
    /// Conditional behaviour.
    pub mode: WriteMode,
}

impl PutOptions {
    /// Set the content type.
    ///
    /// ```
    /// use gureum_core::PutOptions;
    /// assert_eq!(PutOptions::default().content_type("text/csv").content_type.as_deref(), Some("text/csv"));
    /// ```
    pub fn content_type(mut self, ct: impl Into<String>) -> Self {
        self.content_type = Some(ct.into());
        self
    }
    /// Add one metadata entry.
    ///
    /// ```
    /// use gureum_core::PutOptions;
    /// let opts = PutOptions::default().metadata("source", "sensors").metadata("district", "마포구");
    /// assert_eq!(opts.metadata["district"], "마포구");
    /// ```
    pub fn metadata(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.metadata.insert(k.into(), v.into());
        self
    }
    /// Set the write mode.
    ///
    /// ```
    /// use gureum_core::{PutOptions, WriteMode};
    /// assert_eq!(PutOptions::default().mode, WriteMode::Overwrite);
    /// assert_eq!(PutOptions::default().mode(WriteMode::CreateOnly).mode, WriteMode::CreateOnly);
    /// ```
    pub fn mode(mut self, mode: WriteMode) -> Self {
        self.mode = mode;
        self
    }

    fn attributes(&self) -> Result<Attributes> {
        if self.content_type.is_none() && self.metadata.is_empty() {
            return Ok(Attributes::new());
        }
        let mut a = Attributes::with_capacity(1 + self.metadata.len());
        if let Some(ct) = &self.content_type {
            a.insert(Attribute::ContentType, AttributeValue::from(ct.clone()));
        }
        validate_metadata(&self.metadata)?;
        for (k, v) in &self.metadata {
            a.insert(
                Attribute::Metadata(k.clone().into()),
                AttributeValue::from(v.clone()),
            );
        }
        Ok(a)
    }
}

/// Largest total size of user metadata (names and values, in bytes of UTF-8): S3's limit.
///
/// ```
/// use gureum_core::storage::{validate_metadata, MAX_METADATA_BYTES};
/// use std::collections::BTreeMap;
/// let big = BTreeMap::from([("k".to_string(), "v".repeat(MAX_METADATA_BYTES))]);
/// assert!(validate_metadata(&big).is_err());
/// ```
pub const MAX_METADATA_BYTES: usize = 2048;

/// Check user metadata against the portable rules, which every backend holds exactly (names
/// and values come back byte for byte as written):
///
/// * a **name** is 1 or more of `a-z`, `0-9`, `-` and `_` (HTTP header names are
///   case-insensitive, so clouds fold case; upper-case names are refused rather than
///   silently lowercased);
/// * a **value** is any UTF-8 text without ASCII control characters and without leading or
///   trailing white space (HTTP trims it); non-ASCII values are allowed (each backend
///   encodes them the way its native clients do);
/// * names and values together are at most [`MAX_METADATA_BYTES`] bytes.
///
/// A violation is [`ErrorKind::InvalidArgument`] naming the rule.
///
/// ```
/// use gureum_core::{storage::validate_metadata, ErrorKind};
/// use std::collections::BTreeMap;
/// let ok = BTreeMap::from([("complaint-id".to_string(), "c-1041".to_string())]);
/// assert!(validate_metadata(&ok).is_ok());
/// let upper = BTreeMap::from([("Complaint-Id".to_string(), "c-1041".to_string())]);
/// assert_eq!(validate_metadata(&upper).unwrap_err().kind(), ErrorKind::InvalidArgument);
/// let padded = BTreeMap::from([("note".to_string(), " x ".to_string())]);
/// assert!(validate_metadata(&padded).is_err());
/// ```
pub fn validate_metadata(metadata: &BTreeMap<String, String>) -> Result<()> {
    let mut total = 0usize;
    for (k, v) in metadata {
        if k.is_empty()
            || !k
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(Error::invalid(format!(
                "metadata name {k:?}: a name is lower-case ASCII letters, digits, '-' and '_'"
            )));
        }
        if v.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(Error::invalid(format!(
                "metadata {k:?}: a value must not contain ASCII control characters"
            )));
        }
        if v.trim() != v {
            return Err(Error::invalid(format!(
                "metadata {k:?}: a value must not start or end with white space"
            )));
        }
        total += k.len() + v.len();
    }
    if total > MAX_METADATA_BYTES {
        return Err(Error::invalid(format!(
            "user metadata is {total} bytes; names and values together are at most {MAX_METADATA_BYTES}"
        )));
    }
    Ok(())
}

/// Result of a successful write.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
/// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
/// let written = bucket.put("a.txt", b"hello".to_vec()).await?;
/// assert_eq!(written.etag, bucket.head("a.txt").await?.etag);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteResult {
    /// The new object's etag, if the backend reports one.
    pub etag: Option<String>,
    /// The new object's version, if versioned.
    pub version: Option<String>,
}

/// Metadata of a stored object.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
/// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
/// bucket.put("민원/c-1041.json", b"{}".to_vec()).await?;
/// let info = bucket.head("민원/c-1041.json").await?;
/// assert_eq!((info.key.as_str(), info.size), ("민원/c-1041.json", 2));
/// assert!(info.etag.is_some());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectInfo {
    /// Portable key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time.
    pub last_modified: DateTime<Utc>,
    /// Entity tag.
    pub etag: Option<String>,
    /// Version id.
    pub version: Option<String>,
    /// Content type, when read with [`Bucket::head`] and stored.
    pub content_type: Option<String>,
    /// User metadata, when read with [`Bucket::head`].
    pub metadata: BTreeMap<String, String>,
}

impl ObjectInfo {
    fn from_meta(m: ObjectMeta) -> Self {
        ObjectInfo {
            key: decode_key(&m.location),
            size: m.size,
            last_modified: m.last_modified,
            etag: m.e_tag,
            version: m.version,
            content_type: None,
            metadata: BTreeMap::new(),
        }
    }
    /// The listed object, or `None` (with a warning and a count) if its stored name is
    /// outside the portable key space.
    fn listed(m: ObjectMeta) -> Option<Self> {
        match check_key(m.location.as_ref()) {
            Ok(()) => Some(Self::from_meta(m)),
            Err(rule) => {
                report_foreign_name(m.location.as_ref(), rule);
                None
            }
        }
    }
    fn with_attributes(mut self, attrs: &Attributes) -> Self {
        for (k, v) in attrs {
            match k {
                Attribute::ContentType => self.content_type = Some(v.to_string()),
                Attribute::Metadata(name) => {
                    self.metadata.insert(name.to_string(), v.to_string());
                }
                _ => {}
            }
        }
        self
    }
}

/// A byte range to read.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
/// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
/// use gureum_core::ByteRange;
/// bucket.put("traffic.csv", b"segment,vehicles\n1,42\n".to_vec()).await?;
/// assert_eq!(&bucket.get_range("traffic.csv", 0..7).await?[..], b"segment");
/// assert_eq!(&bucket.get_range("traffic.csv", ByteRange::From(17)).await?[..], b"1,42\n");
/// assert_eq!(&bucket.get_range("traffic.csv", ByteRange::Suffix(3)).await?[..], b"42\n");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByteRange {
    /// `start..end` (end exclusive).
    Bounded(Range<u64>),
    /// From an offset to the end.
    From(u64),
    /// The last `n` bytes.
    Suffix(u64),
}

impl From<Range<u64>> for ByteRange {
    fn from(r: Range<u64>) -> Self {
        ByteRange::Bounded(r)
    }
}

/// Options of one listing page.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
/// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
/// use gureum_core::ListOptions;
/// for k in ["2026/11/a.json", "2026/11/b.json", "2026/12/c.json", "readme.txt"] {
///     bucket.put(k, b"x".to_vec()).await?;
/// }
/// // One level, grouped at `/`.
/// let level = bucket.list_page(&ListOptions { prefix: Some("2026/".into()), delimiter: true, ..Default::default() }).await?;
/// assert_eq!(level.common_prefixes, ["2026/11/", "2026/12/"]);
/// // Pages of two keys.
/// let mut opts = ListOptions { page_size: Some(2), ..Default::default() };
/// let mut keys = vec![];
/// loop {
///     let page = bucket.list_page(&opts).await?;
///     keys.extend(page.objects.into_iter().map(|o| o.key));
///     match page.next_token {
///         Some(t) => opts.page_token = Some(t),
///         None => break,
///     }
/// }
/// assert_eq!(keys.len(), 4);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Character prefix (S3 semantics).
    pub prefix: Option<String>,
    /// Group keys at `/` into common prefixes.
    pub delimiter: bool,
    /// Page size (default 1000).
    pub page_size: Option<usize>,
    /// Continue after this token (from [`ListPage::next_token`]).
    pub page_token: Option<String>,
}

/// One listing page.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
/// use gureum_core::ListOptions;
/// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
/// for k in ["2026/01/a.csv", "2026/02/b.csv", "readme.txt"] {
///     bucket.put(k, b"x".to_vec()).await?;
/// }
/// let page = bucket.list_page(&ListOptions { delimiter: true, ..ListOptions::default() }).await?;
/// assert_eq!(page.common_prefixes, ["2026/"]);
/// assert_eq!(page.objects[0].key, "readme.txt");
/// assert_eq!((page.next_token, page.skipped), (None, 0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ListPage {
    /// Objects in ascending stored order.
    pub objects: Vec<ObjectInfo>,
    /// Common prefixes (each ends in `/`) when listing with a delimiter.
    pub common_prefixes: Vec<String>,
    /// Token for the next page, `None` at the end.
    pub next_token: Option<String>,
    /// Stored names that this page skipped because they are outside the portable key space
    /// (`a//b`, `dir/` folder markers, `./x`, control characters; see
    /// [`crate::key::is_portable`]). Each was logged with a `tracing` warning.
    pub skipped: u64,
}

/// A backend's server-side copy between buckets (containers) of one account and endpoint,
/// attached with [`Bucket::with_bucket_copier`] and used through [`Bucket::copy_from`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{async_trait, object_store::memory::InMemory, Bucket, BucketCopier};
/// use std::sync::Arc;
/// /// A toy copier; a real one issues the provider's server-side copy request.
/// #[derive(Debug)]
/// struct SameAccount;
/// #[async_trait]
/// impl BucketCopier for SameAccount {
///     fn domain(&self) -> &str { "example-account" }
///     async fn copy_from(&self, _src: &str, _from: &str, _to: &str) -> gureum_core::Result<()> { Ok(()) }
/// }
/// let a = Bucket::new("a", Arc::new(InMemory::new())).with_bucket_copier(Arc::new(SameAccount));
/// let b = Bucket::new("b", Arc::new(InMemory::new())).with_bucket_copier(Arc::new(SameAccount));
/// assert!(b.can_copy_from(&a));
/// b.copy_from(&a, "x.csv", "y.csv").await?;
/// # Ok(()) }
/// ```
#[async_trait]
pub trait BucketCopier: Send + Sync + fmt::Debug {
    /// Buckets whose copiers report the same domain can copy between each other server-side:
    /// an identity of the provider, endpoint and account (never a secret; a hash of
    /// credential identifiers is fine).
    fn domain(&self) -> &str;
    /// The largest object one copy request handles, if limited.
    fn max_object_size(&self) -> Option<u64> {
        None
    }
    /// Copy `from` in the bucket named `src_bucket` to `to` in this copier's bucket, with its
    /// content type and user metadata. Keys are in the portable key space.
    async fn copy_from(&self, src_bucket: &str, from: &str, to: &str) -> Result<()>;
}

/// A portable bucket: convenience operations over an `object_store::ObjectStore`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// // Applications open buckets by URL (`gureum::open_bucket("mem://b")`); here the embedded
/// // in-memory backend directly.
/// let bucket = gureum_local::storage::open_mem("doc-bucket");
/// bucket.put("민원/c-1041.json", r#"{"status":"접수"}"#).await?;
/// assert_eq!(bucket.list_all(Some("민원/")).await?.len(), 1);
/// assert_eq!(bucket.info().scheme, "mem");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Bucket {
    name: String,
    store: Arc<dyn ObjectStore>,
    admin: Option<Arc<dyn BucketAdmin>>,
    presigner: Option<Arc<dyn Presigner>>,
    caps: StorageCapabilities,
    info: BackendInfo,
    native: Option<Arc<dyn Any + Send + Sync>>,
    pager: Option<Arc<dyn PaginatedListStore>>,
    /// The pager's page tokens are opaque markers (Azure's `NextMarker`), carried in the
    /// core page token, instead of positions to start after.
    pager_markers: bool,
    copier: Option<Arc<dyn BucketCopier>>,
    layers: Vec<String>,
    encrypted: bool,
}

impl fmt::Debug for Bucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bucket")
            .field("name", &self.name)
            .field("store", &self.store.to_string())
            .field("info", &self.info)
            .field("layers", &self.layers)
            .finish()
    }
}

/// Most native listing requests of one [`Bucket::list_page`] call with a level pager.
const MAX_LEVEL_ROUNDS: usize = 10_000;

/// Default multipart chunk size for [`Bucket::writer`].
///
/// ```
/// use gureum_core::storage::DEFAULT_PART_SIZE;
/// assert_eq!(DEFAULT_PART_SIZE, 8 << 20); // 8 MiB, above S3's 5 MiB minimum
/// ```
pub const DEFAULT_PART_SIZE: usize = 8 * 1024 * 1024;

impl Bucket {
    /// Wrap a store. Capabilities default to [`StorageCapabilities::default`].
    ///
    /// Any `object_store::ObjectStore` is a bucket; providers add their admin, presigner,
    /// capabilities and backend info with the `with_*` methods.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{object_store::memory::InMemory, Bucket};
    /// use std::sync::Arc;
    /// let bucket = Bucket::new("scratch", Arc::new(InMemory::new()));
    /// bucket.put("민원/c-1041.json", r#"{"status":"접수"}"#.as_bytes().to_vec()).await?;
    /// assert_eq!(bucket.get("민원/c-1041.json").await?.len(), 19);
    /// assert!(bucket.exists("민원/c-1041.json").await?);
    /// bucket.delete("민원/c-1041.json").await?;
    /// let e = bucket.get("민원/c-1041.json").await.unwrap_err();
    /// assert_eq!(e.kind(), gureum_core::ErrorKind::NotFound);
    /// # Ok(()) }
    /// ```
    pub fn new(name: impl Into<String>, store: Arc<dyn ObjectStore>) -> Self {
        Bucket {
            name: name.into(),
            store,
            admin: None,
            presigner: None,
            caps: StorageCapabilities::default(),
            info: BackendInfo::default(),
            native: None,
            pager: None,
            pager_markers: false,
            copier: None,
            layers: Vec::new(),
            encrypted: false,
        }
    }
    /// Attach a bucket admin driver (sets the `bucket_admin` capability).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{object_store::memory::InMemory, Bucket};
    /// use std::sync::Arc;
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
    /// assert!(bucket.admin().is_err());
    /// let bucket = bucket.with_admin(Arc::new(gureum_local::storage::MemAdmin));
    /// assert!(bucket.capabilities().bucket_admin);
    /// assert!(bucket.admin()?.list_buckets().await.is_ok());
    /// # Ok(()) }
    /// ```
    pub fn with_admin(mut self, admin: Arc<dyn BucketAdmin>) -> Self {
        self.admin = Some(admin);
        self.caps.bucket_admin = true;
        self
    }
    /// Attach a presigner (sets the `presign` capability).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{async_trait, object_store::{memory::InMemory, path::Path}, Bucket, PresignMethod, Presigner};
    /// use std::{sync::Arc, time::Duration};
    /// #[derive(Debug)]
    /// struct Fixed;
    /// #[async_trait]
    /// impl Presigner for Fixed {
    ///     async fn presign(&self, _: PresignMethod, p: &Path, _: Duration) -> gureum_core::Result<url::Url> {
    ///         Ok(url::Url::parse(&format!("https://cdn.example/{p}")).unwrap())
    ///     }
    /// }
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new())).with_presigner(Arc::new(Fixed));
    /// let url = bucket.presign(PresignMethod::Get, "a.csv", Duration::from_secs(60)).await?;
    /// assert_eq!(url.path(), "/a.csv");
    /// # Ok(()) }
    /// ```
    pub fn with_presigner(mut self, p: Arc<dyn Presigner>) -> Self {
        self.presigner = Some(p);
        self.caps.presign = true;
        self
    }
    /// Replace the capability flags (keeps `presign`/`bucket_admin` if drivers are attached).
    ///
    /// ```
    /// use gureum_core::{object_store::memory::InMemory, Bucket, StorageCapabilities};
    /// use std::sync::Arc;
    /// let caps = StorageCapabilities { multipart: false, max_object_size: Some(5 << 30), ..Default::default() };
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new())).with_capabilities(caps);
    /// assert!(!bucket.capabilities().multipart);
    /// assert_eq!(bucket.capabilities().max_object_size, Some(5 << 30));
    /// ```
    pub fn with_capabilities(mut self, caps: StorageCapabilities) -> Self {
        let (p, a) = (self.presigner.is_some(), self.admin.is_some());
        self.caps = caps;
        self.caps.presign |= p;
        self.caps.bucket_admin |= a;
        self
    }
    /// Set backend information (scheme, provider, zone).
    ///
    /// ```
    /// use gureum_core::{object_store::memory::InMemory, BackendInfo, Bucket, Zone};
    /// use std::sync::Arc;
    /// let info = BackendInfo { scheme: "mem".into(), provider: "local".into(), zone: Zone::OnPrem };
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new())).with_info(info.clone());
    /// assert_eq!(bucket.info(), &info);
    /// ```
    pub fn with_info(mut self, info: BackendInfo) -> Self {
        self.info = info;
        self
    }
    /// The same bucket over another store, typically one that wraps [`Bucket::object_store`]
    /// (a layer of `gureum-layers`): name, capabilities, backend info, admin, presigner and
    /// the native client are kept. A level pager ([`Bucket::with_level_pager`]) is dropped, so
    /// every listing goes through the new store, and so is a cross-bucket copier
    /// ([`Bucket::with_bucket_copier`]), so no copy bypasses the new store.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::object_store::memory::InMemory;
    /// use std::sync::Arc;
    /// let bucket = gureum_local::storage::open_mem("doc-with-store");
    /// // A layer wraps `bucket.object_store()`; here the store is swapped for a fresh one.
    /// let fresh = bucket.clone().with_store(Arc::new(InMemory::new()));
    /// bucket.put("a", b"1".to_vec()).await?;
    /// assert!(!fresh.exists("a").await?);
    /// assert_eq!(fresh.name(), "doc-with-store"); // name, info and admin are kept
    /// # Ok(()) }
    /// ```
    pub fn with_store(mut self, store: Arc<dyn ObjectStore>) -> Self {
        self.store = store;
        self.pager = None;
        self.copier = None;
        self
    }
    /// Attach the backend's server-side copy between buckets of one account and endpoint
    /// (used by [`Bucket::copy_from`]).
    ///
    /// ```
    /// use gureum_core::{async_trait, object_store::memory::InMemory, Bucket, BucketCopier};
    /// use std::sync::Arc;
    /// #[derive(Debug)]
    /// struct Acct(&'static str);
    /// #[async_trait]
    /// impl BucketCopier for Acct {
    ///     fn domain(&self) -> &str { self.0 }
    ///     async fn copy_from(&self, _: &str, _: &str, _: &str) -> gureum_core::Result<()> { Ok(()) }
    /// }
    /// let a = Bucket::new("a", Arc::new(InMemory::new())).with_bucket_copier(Arc::new(Acct("acct-1")));
    /// let b = Bucket::new("b", Arc::new(InMemory::new())).with_bucket_copier(Arc::new(Acct("acct-2")));
    /// assert!(!b.can_copy_from(&a)); // another account: no server-side copy
    /// ```
    pub fn with_bucket_copier(mut self, copier: Arc<dyn BucketCopier>) -> Self {
        self.copier = Some(copier);
        self
    }
    /// Whether [`Bucket::copy_from`] can copy from `src` server-side: both buckets are on the
    /// same account and endpoint of a backend that copies between buckets, and neither has a
    /// layer stacked (a layer's store must see every byte).
    ///
    /// ```
    /// let a = gureum_local::storage::open_mem("doc-can-copy-a");
    /// let b = gureum_local::storage::open_mem("doc-can-copy-b");
    /// // The in-memory backend attaches no copier; copy through this process instead.
    /// assert!(!b.can_copy_from(&a));
    /// ```
    pub fn can_copy_from(&self, src: &Bucket) -> bool {
        match (&self.copier, &src.copier) {
            (Some(d), Some(s)) => {
                d.domain() == s.domain() && self.layers.is_empty() && src.layers.is_empty()
            }
            _ => false,
        }
    }
    /// The largest object [`Bucket::copy_from`] copies in one server-side request, if the
    /// backend has a limit (S3 `CopyObject`: 5 GiB).
    ///
    /// ```
    /// use gureum_core::{object_store::memory::InMemory, Bucket};
    /// use std::sync::Arc;
    /// assert_eq!(Bucket::new("b", Arc::new(InMemory::new())).max_copy_from_size(), None);
    /// ```
    pub fn max_copy_from_size(&self) -> Option<u64> {
        self.copier.as_ref().and_then(|c| c.max_object_size())
    }
    /// Copy `from` in bucket `src` to `to` in this bucket without the bytes passing through
    /// this process (S3 `CopyObject` with another source bucket, Swift `X-Copy-From` another
    /// container). Content type and user metadata are copied with the object.
    /// [`ErrorKind::Unsupported`] when the two buckets are not on the same account and
    /// endpoint ([`Bucket::can_copy_from`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{object_store::memory::InMemory, Bucket, ErrorKind};
    /// use std::sync::Arc;
    /// let a = Bucket::new("a", Arc::new(InMemory::new()));
    /// let b = Bucket::new("b", Arc::new(InMemory::new()));
    /// a.put("x", b"1".to_vec()).await?;
    /// // Two unrelated in-memory stores cannot copy server-side.
    /// assert!(!b.can_copy_from(&a));
    /// assert_eq!(b.copy_from(&a, "x", "x").await.unwrap_err().kind(), ErrorKind::Unsupported);
    /// # Ok(()) }
    /// ```
    pub async fn copy_from(&self, src: &Bucket, from: &str, to: &str) -> Result<()> {
        encode_key(from)?;
        encode_key(to)?;
        match &self.copier {
            Some(c) if self.can_copy_from(src) => c.copy_from(src.name(), from, to).await,
            _ => Err(Error::unsupported(format!(
                "server-side copy from bucket {:?} to {:?}: not the same account and endpoint \
                 of a backend that copies between buckets, or a layer is stacked",
                src.name(),
                self.name
            ))),
        }
    }
    /// Attach the backend's native paginated listing (object_store's [`PaginatedListStore`],
    /// over the same bucket as the store), used by [`Bucket::list_page`] with a delimiter: each
    /// page is then one or a few native requests that start after the page token (S3
    /// `start-after`, Swift `marker`), instead of a read of the whole level per page. The
    /// pager must list the same names as the store, with `/` as delimiter and the `offset`
    /// option honoured (entries after it, in ascending order).
    ///
    /// ```
    /// use gureum_core::object_store::aws::AmazonS3Builder;
    /// use gureum_core::Bucket;
    /// use std::sync::Arc;
    /// // Building the client does not contact the endpoint.
    /// let s3 = Arc::new(AmazonS3Builder::new()
    ///     .with_bucket_name("stats")
    ///     .with_region("us-east-1")
    ///     .with_endpoint("http://127.0.0.1:5000")
    ///     .with_allow_http(true)
    ///     .build()
    ///     .unwrap());
    /// let bucket = Bucket::new("stats", s3.clone()).with_level_pager(s3);
    /// assert_eq!(bucket.name(), "stats");
    /// ```
    pub fn with_level_pager(mut self, pager: Arc<dyn PaginatedListStore>) -> Self {
        self.pager = Some(pager);
        self.pager_markers = false;
        self
    }

    /// Like [`Bucket::with_level_pager`], for a service whose continuation is an opaque
    /// marker and that cannot start after a given name (Azure List Blobs: `NextMarker`;
    /// `startFrom` is not known to every server). A page of [`Bucket::list_page`] with a
    /// delimiter then asks the service for at most the page size and, when the page ends at
    /// a native page boundary, its [`ListPage::next_token`] carries the service's marker
    /// (versioned, validated on the way back in): the next page is one request from there,
    /// never a reread of the level. A page that cannot end at a boundary falls back to the
    /// start-after cursor.
    ///
    /// ```
    /// use gureum_core::{object_store::memory::InMemory, Bucket};
    /// use object_store::aws::AmazonS3Builder;
    /// use std::sync::Arc;
    /// // Any PaginatedListStore; a real marker pager is gureum-azure's container store.
    /// let s3 = Arc::new(AmazonS3Builder::new()
    ///     .with_bucket_name("stats")
    ///     .with_region("us-east-1")
    ///     .with_endpoint("http://127.0.0.1:5000")
    ///     .with_allow_http(true)
    ///     .build()
    ///     .unwrap());
    /// let bucket = Bucket::new("stats", Arc::new(InMemory::new())).with_marker_pager(s3);
    /// assert_eq!(bucket.name(), "stats");
    /// ```
    pub fn with_marker_pager(mut self, pager: Arc<dyn PaginatedListStore>) -> Self {
        self.pager = Some(pager);
        self.pager_markers = true;
        self
    }
    /// Record that a layer named `name` was stacked over this bucket's store (outermost so
    /// far); `encrypts` marks a client-side encryption layer ([`Bucket::is_encrypted`]).
    /// `gureum-layers` calls this when it stacks a layer.
    ///
    /// ```
    /// let bucket = gureum_local::storage::open_mem("doc-record-layer")
    ///     .record_layer("retry", false)
    ///     .record_layer("encrypt", true);
    /// assert_eq!(bucket.layers(), ["retry", "encrypt"]);
    /// assert!(bucket.is_encrypted());
    /// ```
    pub fn record_layer(mut self, name: impl Into<String>, encrypts: bool) -> Self {
        self.layers.push(name.into());
        self.encrypted |= encrypts;
        self
    }
    /// Names of the layers stacked over the backend, innermost first.
    ///
    /// ```
    /// assert!(gureum_local::storage::open_mem("doc-layers").layers().is_empty());
    /// ```
    pub fn layers(&self) -> &[String] {
        &self.layers
    }
    /// Whether a client-side encryption layer is stacked (the backend stores only
    /// ciphertext). The placement policy may require it for a class in a zone.
    ///
    /// ```
    /// let bucket = gureum_local::storage::open_mem("doc-is-encrypted");
    /// assert!(!bucket.is_encrypted());
    /// assert!(bucket.record_layer("encrypt", true).is_encrypted());
    /// ```
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }
    /// The same bucket without its presigner (clears the `presign` capability): for a layer
    /// whose stored bytes are not what a reader should get, such as client-side encryption,
    /// where a presigned URL would hand out ciphertext.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{ErrorKind, PresignMethod};
    /// use std::time::Duration;
    /// let bucket = gureum_local::storage::open_mem("doc-without-presigner").without_presigner();
    /// assert!(!bucket.capabilities().presign);
    /// let e = bucket.presign(PresignMethod::Get, "a", Duration::from_secs(60)).await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Unsupported);
    /// # Ok(()) }
    /// ```
    pub fn without_presigner(mut self) -> Self {
        self.presigner = None;
        self.caps.presign = false;
        self
    }
    /// Attach the vendor client for [`Bucket::native`] (the escape hatch).
    ///
    /// ```
    /// use std::sync::Arc;
    /// let bucket = gureum_local::storage::open_mem("doc-with-native").with_native(Arc::new(7u8));
    /// assert_eq!(bucket.native::<u8>(), Some(&7));
    /// ```
    pub fn with_native(mut self, native: Arc<dyn Any + Send + Sync>) -> Self {
        self.native = Some(native);
        self
    }

    /// Bucket (container) name.
    ///
    /// ```
    /// assert_eq!(gureum_local::storage::open_mem("doc-name").name(), "doc-name");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Capability flags.
    ///
    /// ```
    /// let caps = gureum_local::storage::open_mem("doc-caps").capabilities().clone();
    /// assert!(caps.conditional_create && caps.multipart);
    /// ```
    pub fn capabilities(&self) -> &StorageCapabilities {
        &self.caps
    }
    /// Backend information.
    ///
    /// ```
    /// assert_eq!(gureum_local::storage::open_mem("doc-info").info().provider, "local");
    /// ```
    pub fn info(&self) -> &BackendInfo {
        &self.info
    }
    /// The raw store, to hand to DataFusion, Polars, delta-rs or any object_store user.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{key::encode_key, object_store::ObjectStoreExt};
    /// let bucket = gureum_local::storage::open_mem("doc-object-store");
    /// bucket.put("a.csv", b"1,2\n".to_vec()).await?;
    /// // The same bytes through the raw object_store API (for DataFusion, Polars, ...).
    /// // Keys go through the verbatim key space (`Path::from` would percent-encode Hangul).
    /// let raw = bucket.object_store().get(&encode_key("a.csv")?).await?.bytes().await?;
    /// assert_eq!(&raw[..], b"1,2\n");
    /// # Ok(()) }
    /// ```
    pub fn object_store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }
    /// The bucket admin driver, if the backend has one.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let bucket = gureum_local::storage::open_mem("doc-admin");
    /// assert!(bucket.admin()?.list_buckets().await?.contains(&"doc-admin".to_string()));
    /// # Ok(()) }
    /// ```
    pub fn admin(&self) -> Result<&Arc<dyn BucketAdmin>> {
        self.admin
            .as_ref()
            .ok_or_else(|| Error::unsupported(format!("{}: bucket admin", self.info.scheme)))
    }
    /// The vendor client, if it is a `T` (Go CDK's `As`): what the provider attached with
    /// [`Bucket::with_native`] (`S3Native`, `SwiftStore`, the object_store client, ...). The same
    /// escape hatch as `Queue::native` and `Compute::native`.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let tmp = tempfile::tempdir()?;
    /// let bucket = gureum_local::storage::open_file(tmp.path().join("b"))?;
    /// // file:// attaches its FileStore; other types give None.
    /// let fs = bucket.native::<gureum_local::storage::FileStore>().expect("a file store");
    /// assert_eq!(fs.root(), tmp.path().join("b"));
    /// assert!(bucket.native::<String>().is_none());
    /// # Ok(()) }
    /// ```
    pub fn native<T: Any>(&self) -> Option<&T> {
        self.native.as_ref().and_then(|n| n.downcast_ref::<T>())
    }

    /// Write `data` to `key`, replacing any object there.
    ///
    /// (Written as a plain `fn` returning the write future, which is the same to callers as an
    /// `async fn`: it saves one future layer and the options translation on the hottest call,
    /// part of keeping `Bucket` within 3 % of raw object_store.)
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let bucket = gureum_local::storage::open_mem("doc-put");
    /// bucket.put("a.txt", b"v1".to_vec()).await?;
    /// bucket.put("a.txt", "v2").await?; // replaces
    /// assert_eq!(&bucket.get("a.txt").await?[..], b"v2");
    /// # Ok(()) }
    /// ```
    pub fn put<'a>(
        &'a self,
        key: &'a str,
        data: impl Into<Bytes>,
    ) -> impl std::future::Future<Output = Result<WriteResult>> + Send + 'a {
        self.write(key, data.into(), object_store::PutOptions::default())
    }

    /// Write with content type, metadata and a conditional mode.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
    /// use gureum_core::PutOptions;
    /// let opts = PutOptions::default().content_type("text/csv").metadata("source", "traffic-sensors");
    /// let written = bucket.put_with("traffic/2026-11-26.csv", b"segment,vehicles\n".to_vec(), &opts).await?;
    /// assert!(written.etag.is_some());
    /// let (info, body) = bucket.get_with_info("traffic/2026-11-26.csv").await?;
    /// assert_eq!((info.size, body.len()), (17, 17));
    /// assert_eq!(info.metadata["source"], "traffic-sensors");
    /// # Ok(()) }
    /// ```
    pub async fn put_with(
        &self,
        key: &str,
        data: impl Into<Bytes>,
        opts: &PutOptions,
    ) -> Result<WriteResult> {
        // A precondition the backend would ignore is an overwrite the caller did not ask for:
        // refuse it instead.
        match &opts.mode {
            WriteMode::CreateOnly if !self.caps.conditional_create => {
                return Err(Error::unsupported(format!(
                    "{}: create-only writes (the backend does not enforce If-None-Match)",
                    self.info.scheme
                )))
            }
            WriteMode::IfMatch(_) if !self.caps.conditional_update => {
                return Err(Error::unsupported(format!(
                    "{}: if-match writes (the backend does not enforce If-Match)",
                    self.info.scheme
                )))
            }
            _ => {}
        }
        let mode = match &opts.mode {
            WriteMode::Overwrite => PutMode::Overwrite,
            WriteMode::CreateOnly => PutMode::Create,
            WriteMode::IfMatch(etag) => PutMode::Update(UpdateVersion {
                e_tag: Some(etag.clone()),
                version: None,
            }),
        };
        let mut o = object_store::PutOptions {
            mode,
            ..Default::default()
        };
        if opts.content_type.is_some() || !opts.metadata.is_empty() {
            o.attributes = opts.attributes()?;
        }
        self.write(key, data.into(), o).await
    }

    /// The one write path of `put` and `put_with` (not generic, so it is compiled once).
    async fn write(
        &self,
        key: &str,
        data: Bytes,
        o: object_store::PutOptions,
    ) -> Result<WriteResult> {
        let path = encode_key(key)?;
        if let Some(max) = self.caps.max_object_size {
            if data.len() as u64 > max {
                return Err(Error::invalid(format!(
                    "object of {} bytes exceeds the backend limit of {max}",
                    data.len()
                )));
            }
        }
        tracing::trace!(key, bytes = data.len(), "put");
        let r = self
            .store
            .put_opts(&path, PutPayload::from_bytes(data), o)
            .await
            .map_err(|e| map_put_err(e, key))?;
        Ok(WriteResult {
            etag: r.e_tag,
            version: r.version,
        })
    }

    /// Read a whole object.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::ErrorKind;
    /// let bucket = gureum_local::storage::open_mem("doc-get");
    /// bucket.put("a.txt", "hello").await?;
    /// assert_eq!(&bucket.get("a.txt").await?[..], b"hello");
    /// assert_eq!(bucket.get("b.txt").await.unwrap_err().kind(), ErrorKind::NotFound);
    /// # Ok(()) }
    /// ```
    pub async fn get(&self, key: &str) -> Result<Bytes> {
        let path = encode_key(key)?;
        let r = self.store.get_opts(&path, GetOptions::default()).await?;
        Ok(r.bytes().await?)
    }

    /// Read a whole object with its metadata.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
    /// use gureum_core::PutOptions;
    /// bucket.put_with("a.txt", b"hello".to_vec(), &PutOptions::default().content_type("text/plain")).await?;
    /// let (info, bytes) = bucket.get_with_info("a.txt").await?;
    /// assert_eq!(&bytes[..], b"hello");
    /// assert_eq!(info.content_type.as_deref(), Some("text/plain"));
    /// # Ok(()) }
    /// ```
    pub async fn get_with_info(&self, key: &str) -> Result<(ObjectInfo, Bytes)> {
        let path = encode_key(key)?;
        let r = self.store.get_opts(&path, GetOptions::default()).await?;
        let info = ObjectInfo::from_meta(r.meta.clone()).with_attributes(&r.attributes);
        Ok((info, r.bytes().await?))
    }

    /// Read a byte range. A range that starts past the end gives
    /// [`ErrorKind::InvalidArgument`]; an end past the end is clamped.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::ErrorKind;
    /// let bucket = gureum_local::storage::open_mem("doc-get-range");
    /// bucket.put("a.txt", "hello world").await?;
    /// assert_eq!(&bucket.get_range("a.txt", 6..100).await?[..], b"world"); // end clamped
    /// assert_eq!(bucket.get_range("a.txt", 50..60).await.unwrap_err().kind(), ErrorKind::InvalidArgument);
    /// # Ok(()) }
    /// ```
    pub async fn get_range(&self, key: &str, range: impl Into<ByteRange>) -> Result<Bytes> {
        let path = encode_key(key)?;
        let range = match range.into() {
            ByteRange::Bounded(r) => {
                if r.start >= r.end {
                    return Err(Error::invalid(format!(
                        "empty or inverted range {}..{}",
                        r.start, r.end
                    )));
                }
                GetRange::Bounded(r)
            }
            ByteRange::From(o) => GetRange::Offset(o),
            ByteRange::Suffix(n) => {
                if n == 0 {
                    return Err(Error::invalid("suffix range of 0 bytes"));
                }
                GetRange::Suffix(n)
            }
        };
        let r = self
            .store
            .get_opts(
                &path,
                GetOptions {
                    range: Some(range),
                    ..Default::default()
                },
            )
            .await
            .map_err(map_range_err)?;
        r.bytes().await.map_err(map_range_err)
    }

    /// Stream an object's bytes without holding it in memory.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
    /// use futures::TryStreamExt;
    /// bucket.put("big.bin", vec![7u8; 100_000]).await?;
    /// let chunks: Vec<_> = bucket.get_stream("big.bin").await?.try_collect().await?;
    /// assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), 100_000);
    /// # Ok(()) }
    /// ```
    pub async fn get_stream(&self, key: &str) -> Result<BoxStream<'static, Result<Bytes>>> {
        let path = encode_key(key)?;
        let r = self.store.get_opts(&path, GetOptions::default()).await?;
        Ok(r.into_stream().map_err(Error::from).boxed())
    }

    /// An `AsyncRead` over an object, for `tokio::io::copy` and friends.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
    /// use tokio::io::AsyncReadExt;
    /// bucket.put("notice.txt", "공지".as_bytes().to_vec()).await?;
    /// let mut s = String::new();
    /// bucket.reader("notice.txt").await?.read_to_string(&mut s).await?;
    /// assert_eq!(s, "공지");
    /// # Ok(()) }
    /// ```
    pub async fn reader(&self, key: &str) -> Result<impl tokio::io::AsyncRead + Send + Unpin> {
        let s = self.get_stream(key).await?;
        Ok(StreamReader::new(s))
    }

    /// Metadata, content type and user metadata of an object.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
    /// use gureum_core::ErrorKind;
    /// bucket.put("c-1041.json", b"{}".to_vec()).await?;
    /// assert_eq!(bucket.head("c-1041.json").await?.size, 2);
    /// assert_eq!(bucket.head("missing").await.unwrap_err().kind(), ErrorKind::NotFound);
    /// # Ok(()) }
    /// ```
    pub async fn head(&self, key: &str) -> Result<ObjectInfo> {
        let path = encode_key(key)?;
        let r = self
            .store
            .get_opts(
                &path,
                GetOptions {
                    head: true,
                    ..Default::default()
                },
            )
            .await?;
        Ok(ObjectInfo::from_meta(r.meta).with_attributes(&r.attributes))
    }

    /// Whether `key` exists.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let bucket = gureum_local::storage::open_mem("doc-exists");
    /// assert!(!bucket.exists("a.txt").await?);
    /// bucket.put("a.txt", "x").await?;
    /// assert!(bucket.exists("a.txt").await?);
    /// # Ok(()) }
    /// ```
    pub async fn exists(&self, key: &str) -> Result<bool> {
        match self.head(key).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Delete `key`. Deleting a missing key succeeds (idempotent, S3 semantics).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let bucket = gureum_local::storage::open_mem("doc-delete");
    /// bucket.put("a.txt", "x").await?;
    /// bucket.delete("a.txt").await?;
    /// bucket.delete("a.txt").await?; // deleting again succeeds
    /// assert!(!bucket.exists("a.txt").await?);
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self, key: &str) -> Result<()> {
        let path = encode_key(key)?;
        match self.store.delete(&path).await {
            Ok(()) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Delete many keys; one result per key, in order. A key given more than once is deleted
    /// once and reported with the same result at each place (a missing key is a success, as
    /// for [`Bucket::delete`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
    /// for k in ["a", "b"] {
    ///     bucket.put(k, b"x".to_vec()).await?;
    /// }
    /// let keys = vec!["a".to_string(), "b".to_string(), "never-written".to_string()];
    /// let results = bucket.delete_many(&keys).await?;
    /// assert!(results.iter().all(|r| r.is_ok())); // a missing key is a success
    /// assert!(bucket.list_all(None).await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn delete_many(&self, keys: &[String]) -> Result<Vec<Result<()>>> {
        let mut paths = Vec::with_capacity(keys.len());
        for k in keys {
            paths.push(encode_key(k)?);
        }
        let mut unique: Vec<Path> = Vec::with_capacity(paths.len());
        let mut seen = std::collections::BTreeSet::new();
        for p in &paths {
            if seen.insert(p.as_ref().to_string()) {
                unique.push(p.clone());
            }
        }
        let input = futures::stream::iter(unique.into_iter().map(Ok)).boxed();
        let mut confirmed = std::collections::BTreeSet::new();
        let mut s = self.store.delete_stream(input);
        let mut failures = Vec::new();
        while let Some(r) = s.next().await {
            match r {
                Ok(p) => {
                    confirmed.insert(p.to_string());
                }
                Err(object_store::Error::NotFound { path, .. }) => {
                    confirmed.insert(path);
                }
                Err(e) => failures.push(Error::from(e)),
            }
        }
        let mut failures = failures.into_iter();
        // A failed path's error, repeated (kind and message) for each further occurrence.
        let mut failed: BTreeMap<String, (ErrorKind, String)> = BTreeMap::new();
        Ok(paths
            .iter()
            .map(|p| {
                if confirmed.contains(p.as_ref()) {
                    return Ok(());
                }
                if let Some((kind, msg)) = failed.get(p.as_ref()) {
                    return Err(Error::new(*kind, msg.clone()));
                }
                let e = failures
                    .next()
                    .unwrap_or_else(|| Error::other(format!("delete of {p} not confirmed")));
                failed.insert(p.to_string(), (e.kind(), e.message().to_string()));
                Err(e)
            })
            .collect())
    }

    /// Server-side copy, replacing the destination.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
    /// bucket.put("inbox/c-1041.pdf", b"%PDF".to_vec()).await?;
    /// bucket.copy("inbox/c-1041.pdf", "archive/2026/c-1041.pdf").await?;
    /// assert_eq!(bucket.get("archive/2026/c-1041.pdf").await?.as_ref(), b"%PDF");
    /// # Ok(()) }
    /// ```
    pub async fn copy(&self, from: &str, to: &str) -> Result<()> {
        let (f, t) = (encode_key(from)?, encode_key(to)?);
        Ok(self.store.copy(&f, &t).await?)
    }

    /// Copy that fails with [`ErrorKind::AlreadyExists`] if `to` exists.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
    /// use gureum_core::ErrorKind;
    /// bucket.put("draft", b"v1".to_vec()).await?;
    /// bucket.copy_if_not_exists("draft", "published").await?;
    /// let e = bucket.copy_if_not_exists("draft", "published").await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    /// # Ok(()) }
    /// ```
    pub async fn copy_if_not_exists(&self, from: &str, to: &str) -> Result<()> {
        let (f, t) = (encode_key(from)?, encode_key(to)?);
        if !self.caps.copy_if_not_exists {
            return Err(Error::unsupported(format!(
                "{}: copy if not exists",
                self.info.scheme
            )));
        }
        Ok(self.store.copy_if_not_exists(&f, &t).await?)
    }

    /// Move an object (copy then delete where the backend has no rename).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
    /// bucket.put("inbox/c-1041.json", b"{}".to_vec()).await?;
    /// bucket.rename("inbox/c-1041.json", "done/c-1041.json").await?;
    /// assert!(!bucket.exists("inbox/c-1041.json").await?);
    /// assert!(bucket.exists("done/c-1041.json").await?);
    /// # Ok(()) }
    /// ```
    pub async fn rename(&self, from: &str, to: &str) -> Result<()> {
        let (f, t) = (encode_key(from)?, encode_key(to)?);
        Ok(self.store.rename(&f, &t).await?)
    }

    /// Recursive listing as a stream (unordered on some backends; see `sorted_listing`).
    ///
    /// Stored names outside the portable key space are skipped with a `tracing` warning
    /// (use [`Bucket::list_all_counted`] or [`Bucket::list_page`] for their count).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
    /// use futures::TryStreamExt;
    /// for i in 0..3 {
    ///     bucket.put(&format!("logs/{i}"), b"x".to_vec()).await?;
    /// }
    /// let n = bucket.list_stream(Some("logs/")).try_fold(0, |n, _| async move { Ok(n + 1) }).await?;
    /// assert_eq!(n, 3);
    /// # Ok(()) }
    /// ```
    pub fn list_stream(&self, prefix: Option<&str>) -> BoxStream<'static, Result<ObjectInfo>> {
        self.list_stream_counting(prefix, Arc::new(AtomicU64::new(0)))
    }

    fn list_stream_counting(
        &self,
        prefix: Option<&str>,
        counter: Arc<AtomicU64>,
    ) -> BoxStream<'static, Result<ObjectInfo>> {
        let full = prefix.unwrap_or("").to_string();
        let dir = match split_prefix(&full) {
            Ok(x) => x.0,
            Err(e) => return futures::stream::once(async move { Err(e) }).boxed(),
        };
        let inner = self
            .store
            .list(dir.as_ref())
            .filter_map(move |r| {
                futures::future::ready(match r {
                    Ok(m) => ObjectInfo::listed(m)
                        .filter(|o| o.key.starts_with(&full))
                        .map(Ok),
                    Err(e) => Some(Err(Error::from(e))),
                })
            })
            .boxed();
        // The whole stream (the store's and the filter) is polled with the counter set.
        CountForeign { inner, counter }.boxed()
    }

    /// Every object under `prefix`, sorted by key (byte order of the UTF-8 key).
    ///
    /// The prefix is a character prefix (S3 semantics): `2026/1` matches `2026/11/a`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
    /// for k in ["2026/11/b.json", "2026/11/a.json", "2026/1.txt", "2025/x"] {
    ///     bucket.put(k, b"x".to_vec()).await?;
    /// }
    /// let keys: Vec<String> = bucket.list_all(Some("2026/1")).await?.into_iter().map(|o| o.key).collect();
    /// assert_eq!(keys, ["2026/1.txt", "2026/11/a.json", "2026/11/b.json"]);
    /// # Ok(()) }
    /// ```
    pub async fn list_all(&self, prefix: Option<&str>) -> Result<Vec<ObjectInfo>> {
        Ok(self.list_all_counted(prefix).await?.0)
    }

    /// Every object under `prefix`, sorted by key, and the number of stored names that were
    /// skipped because they are outside the portable key space (each logged with a warning).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
    /// bucket.put("ok/a", b"x".to_vec()).await?;
    /// let (objects, skipped) = bucket.list_all_counted(Some("ok/")).await?;
    /// assert_eq!((objects.len(), skipped), (1, 0));
    /// # Ok(()) }
    /// ```
    pub async fn list_all_counted(&self, prefix: Option<&str>) -> Result<(Vec<ObjectInfo>, u64)> {
        let counter = Arc::new(AtomicU64::new(0));
        let mut v: Vec<ObjectInfo> = self
            .list_stream_counting(prefix, counter.clone())
            .try_collect()
            .await?;
        v.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        Ok((v, counter.load(Ordering::Relaxed)))
    }

    /// One page of a listing, in ascending stored order, optionally grouped by `/`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::ListOptions;
    /// let bucket = gureum_local::storage::open_mem("doc-list-page");
    /// for i in 0..5 {
    ///     bucket.put(&format!("log/{i}.txt"), "x").await?;
    /// }
    /// let mut opts = ListOptions { prefix: Some("log/".into()), page_size: Some(2), ..Default::default() };
    /// let mut pages = 0;
    /// loop {
    ///     let page = bucket.list_page(&opts).await?;
    ///     pages += 1;
    ///     match page.next_token {
    ///         Some(t) => opts.page_token = Some(t),
    ///         None => break,
    ///     }
    /// }
    /// assert_eq!(pages, 3); // 2 + 2 + 1
    /// # Ok(()) }
    /// ```
    pub async fn list_page(&self, opts: &ListOptions) -> Result<ListPage> {
        let page_size = opts.page_size.unwrap_or(1000).clamp(1, 10_000);
        let prefix = opts.prefix.clone().unwrap_or_default();
        let (dir, _) = split_prefix(&prefix)?;
        // A native marker token (`//gm1/...`) carries the key it was issued after: the
        // start-after cursor of every path that cannot use the marker.
        let (token, marker) = match opts.page_token.as_deref().map(PageToken::parse) {
            None => (None, None),
            Some(Err(e)) => return Err(e),
            Some(Ok(PageToken::After(k))) => (Some(k), None),
            Some(Ok(PageToken::Marker { marker, after })) => (Some(after), Some(marker)),
        };
        let counter = Arc::new(AtomicU64::new(0));
        let mut next_marker: Option<String> = None;
        // entries: (sort key, entry). The sort key of a common prefix ends in `/`, so an
        // object `a` and a prefix `a/` never share one (a page boundary between them keeps
        // both).
        let mut entries: Vec<(String, Entry)> = Vec::new();
        if opts.delimiter {
            let levels = match &self.pager {
                Some(pager) if self.pager_markers => {
                    let (levels, next) = self
                        .marker_pages(
                            pager.as_ref(),
                            dir.as_ref(),
                            &prefix,
                            token.as_deref(),
                            marker.clone(),
                            page_size,
                        )
                        .await?;
                    next_marker = next;
                    levels
                }
                Some(pager) => {
                    // Counted like the whole-level read: a pager that skips foreign names
                    // (file://) reports them while it is polled.
                    CountForeign {
                        inner: Box::pin(self.level_pages(
                            pager.as_ref(),
                            dir.as_ref(),
                            &prefix,
                            token.as_deref(),
                            page_size,
                        )),
                        counter: counter.clone(),
                    }
                    .await?
                }
                None => {
                    // No native paging: one read of the whole level (the in-memory store's
                    // map scan; file:// pages through its own level pager).
                    vec![
                        CountForeign {
                            inner: self.store.list_with_delimiter(dir.as_ref()),
                            counter: counter.clone(),
                        }
                        .await?,
                    ]
                }
            };
            counting_foreign(&counter, || {
                for r in levels {
                    for p in r.common_prefixes {
                        let k = decode_key(&p);
                        if let Err(rule) = check_key(&k) {
                            report_foreign_name(&format!("{k}/"), rule);
                            continue;
                        }
                        let k = format!("{k}/");
                        if k.starts_with(&prefix) {
                            entries.push((k.clone(), Entry::Prefix(k)));
                        }
                    }
                    for m in r.objects {
                        if let Some(o) = ObjectInfo::listed(m) {
                            if o.key.starts_with(&prefix) {
                                entries.push((o.key.clone(), Entry::Object(o)));
                            }
                        }
                    }
                }
            });
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            entries.dedup_by(|a, b| a.0 == b.0);
        } else {
            let stream = match &token {
                Some(t) => {
                    let offset =
                        Path::parse(t).map_err(|_| Error::invalid("malformed list page token"))?;
                    self.store.list_with_offset(dir.as_ref(), &offset)
                }
                None => self.store.list(dir.as_ref()),
            };
            let mut s = CountForeign {
                inner: stream,
                counter: counter.clone(),
            };
            let sorted = self.caps.sorted_listing;
            while let Some(m) = s.next().await {
                let m = m?;
                let raw = m.location.to_string();
                let Some(o) = counting_foreign(&counter, || ObjectInfo::listed(m)) else {
                    continue;
                };
                if !o.key.starts_with(&prefix) {
                    continue;
                }
                if let Some(t) = &token {
                    if raw.as_str() <= t.as_str() {
                        continue;
                    }
                }
                entries.push((raw, Entry::Object(o)));
                if sorted && entries.len() > page_size {
                    break;
                }
            }
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        // After a native marker the service already started after the previous page (in its
        // own order, which the byte order of the keys need not match everywhere).
        if let (Some(t), None) = (&token, &marker) {
            entries.retain(|(k, _)| k.as_str() > t.as_str());
        }
        let more = entries.len() > page_size;
        entries.truncate(page_size);
        let next_token = if more {
            // More than a page came back (a service that ignored the size): the
            // start-after cursor, never a marker that would skip the cut entries.
            entries.last().map(|(k, _)| k.clone())
        } else if let Some(m) = next_marker {
            let after = entries
                .last()
                .map(|(k, _)| k.clone())
                .or(token)
                .unwrap_or_default();
            Some(PageToken::Marker { marker: m, after }.encode())
        } else {
            None
        };
        let mut page = ListPage {
            next_token,
            skipped: counter.load(Ordering::Relaxed),
            ..Default::default()
        };
        for (_, e) in entries {
            match e {
                Entry::Object(o) => page.objects.push(o),
                Entry::Prefix(p) => page.common_prefixes.push(p),
            }
        }
        Ok(page)
    }

    /// Native pages of one level from `marker` (or, without one, from the start-after
    /// cursor `token`) until `page_size` entries under `prefix` were read or the level ends,
    /// asking the service for no more than the page still needs. Returns the pages and the
    /// service's marker after the last one (None: the level ended).
    async fn marker_pages(
        &self,
        pager: &dyn PaginatedListStore,
        dir: Option<&Path>,
        prefix: &str,
        token: Option<&str>,
        marker: Option<String>,
        page_size: usize,
    ) -> Result<(Vec<object_store::ListResult>, Option<String>)> {
        let native_prefix = dir
            .filter(|d| !d.as_ref().is_empty())
            .map(|d| format!("{}/", d.as_ref()));
        // Without a marker: start after the cursor (the service may ignore the offset; the
        // entries ≤ cursor are then dropped here and by the caller).
        let offset = match (&marker, token) {
            (None, Some(t)) => Some(native_offset(t)),
            _ => None,
        };
        let after_cursor = marker.is_none();
        let mut native = marker;
        let mut out = Vec::new();
        let mut seen = 0usize;
        let mut rounds = 0usize;
        loop {
            let want = page_size.saturating_sub(seen).clamp(1, 5000);
            let r = pager
                .list_paginated(
                    native_prefix.as_deref(),
                    PaginatedListOptions {
                        offset: if native.is_none() {
                            offset.clone()
                        } else {
                            None
                        },
                        delimiter: Some("/".into()),
                        max_keys: Some(want),
                        page_token: native.clone(),
                        ..Default::default()
                    },
                )
                .await?;
            seen += page_count(&r.result, token.filter(|_| after_cursor), prefix);
            out.push(r.result);
            rounds += 1;
            match r.page_token {
                // A marker that does not move ends the level rather than looping.
                Some(t) if Some(&t) == native.as_ref() => return Ok((out, None)),
                Some(t) if seen < page_size && rounds < MAX_LEVEL_ROUNDS => native = Some(t),
                next => return Ok((out, next)),
            }
        }
    }

    /// Native pages of one level after `token` until more than `page_size` entries (objects
    /// and common prefixes under `prefix`, after the token) were read or the level ends.
    async fn level_pages(
        &self,
        pager: &dyn PaginatedListStore,
        dir: Option<&Path>,
        prefix: &str,
        token: Option<&str>,
        page_size: usize,
    ) -> Result<Vec<object_store::ListResult>> {
        // The native prefix is the directory with its trailing `/` (PaginatedListStore adds
        // none); the character prefix is filtered afterwards like the other listings.
        let native_prefix = dir
            .filter(|d| !d.as_ref().is_empty())
            .map(|d| format!("{}/", d.as_ref()));
        // A token that is a common prefix `p/` continues after every key under it: S3 and
        // Swift return `p/` again for a start after `p/`, which the caller drops (≤ token).
        let offset = token.map(native_offset);
        let mut out = Vec::new();
        let mut seen = 0usize;
        let mut native_token: Option<String> = None;
        let mut last_cursor = offset.clone();
        let mut rounds = 0usize;
        // Bounded: each round moves the cursor or ends the level, at most MAX_LEVEL_ROUNDS.
        loop {
            let r = pager
                .list_paginated(
                    native_prefix.as_deref(),
                    PaginatedListOptions {
                        offset: offset.clone(),
                        delimiter: Some("/".into()),
                        max_keys: Some((page_size + 1).min(1000)),
                        page_token: native_token.take(),
                        ..Default::default()
                    },
                )
                .await?;
            seen += page_count(&r.result, token, prefix);
            let read = r.result.common_prefixes.len() + r.result.objects.len();
            out.push(r.result);
            rounds += 1;
            match r.page_token {
                // A cursor that does not move (a server repeating the token's own common
                // prefix) ends the level rather than looping.
                Some(t)
                    if seen <= page_size
                        && read > 0
                        && rounds < MAX_LEVEL_ROUNDS
                        && Some(&t) != last_cursor.as_ref() =>
                {
                    last_cursor = Some(t.clone());
                    native_token = Some(t);
                }
                _ => break,
            }
        }
        Ok(out)
    }

    /// A presigned URL for `key`, valid for `expires`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
    /// use gureum_core::{ErrorKind, PresignMethod};
    /// use std::time::Duration;
    /// // An in-memory bucket has no HTTP endpoint to presign for.
    /// let e = bucket.presign(PresignMethod::Get, "a", Duration::from_secs(60)).await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Unsupported);
    /// # Ok(()) }
    /// ```
    pub async fn presign(
        &self,
        method: PresignMethod,
        key: &str,
        expires: Duration,
    ) -> Result<url::Url> {
        let p = self
            .presigner
            .as_ref()
            .ok_or_else(|| Error::unsupported(format!("{}: presigned URLs", self.info.scheme)))?;
        if expires.is_zero() || expires > Duration::from_secs(7 * 24 * 3600) {
            return Err(Error::invalid(
                "presign expiry must be between 1 s and 7 days",
            ));
        }
        p.presign(method, &encode_key(key)?, expires).await
    }

    /// A streaming writer with bounded memory (about `part_size × (max_concurrency + 1)`
    /// bytes). Up to one part ([`DEFAULT_PART_SIZE`]) is buffered: a write that ends there
    /// (an empty or small object) is one plain PUT at [`BucketWriter::finish`]; a larger one
    /// becomes a multipart upload. A writer dropped without `finish` aborts its multipart
    /// upload (in the background, on the current tokio runtime), so no parts are left
    /// pending.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// # use gureum_core::{object_store::memory::InMemory, Bucket}; use std::sync::Arc;
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
    /// use gureum_core::PutOptions;
    /// let mut w = bucket.writer("export/traffic.csv", &PutOptions::default()).await?;
    /// for day in 1..=30 {
    ///     w.write(format!("2026-11-{day:02},{:04}\n", day * 100).as_bytes()).await?;
    /// }
    /// assert!(!w.is_multipart()); // small: one plain PUT at finish
    /// w.finish().await?;
    /// assert_eq!(bucket.get("export/traffic.csv").await?.len(), 30 * 16);
    /// # Ok(()) }
    /// ```
    pub async fn writer(&self, key: &str, opts: &PutOptions) -> Result<BucketWriter> {
        if opts.mode != WriteMode::Overwrite {
            return Err(Error::unsupported(
                "conditional modes are not available for multipart writes",
            ));
        }
        let path = encode_key(key)?;
        Ok(BucketWriter {
            store: self.store.clone(),
            path,
            attributes: opts.attributes()?,
            max_object_size: self.caps.max_object_size,
            part_size: DEFAULT_PART_SIZE,
            max_parts: self.caps.max_parts,
            buf: bytes::BytesMut::new(),
            inner: None,
            done: false,
            max_concurrency: 4,
            written: 0,
        })
    }
}

enum Entry {
    Object(ObjectInfo),
    Prefix(String),
}

/// A [`ListPage::next_token`]: a key to start after (any portable key, as before), or a
/// service's own continuation marker with the key it was issued after, written
/// `//gm1/HEX(marker)/HEX(after)`. A portable key never starts with `/`, so the two never
/// meet; a token starting with `//` that is not a well-formed `gm1` token is
/// `InvalidArgument`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PageToken {
    After(String),
    Marker { marker: String, after: String },
}

impl PageToken {
    const PREFIX: &'static str = "//gm1/";

    fn parse(t: &str) -> Result<PageToken> {
        if !t.starts_with("//") {
            return Ok(PageToken::After(t.to_string()));
        }
        let bad = || Error::invalid("malformed list page token");
        let rest = t.strip_prefix(Self::PREFIX).ok_or_else(bad)?;
        let (m, a) = rest.split_once('/').ok_or_else(bad)?;
        let marker = unhex(m).ok_or_else(bad)?;
        let after = unhex(a).ok_or_else(bad)?;
        if marker.is_empty() || marker.len() > 4096 || after.len() > 4096 {
            return Err(bad());
        }
        Ok(PageToken::Marker { marker, after })
    }

    fn encode(&self) -> String {
        match self {
            PageToken::After(k) => k.clone(),
            PageToken::Marker { marker, after } => {
                format!("{}{}/{}", Self::PREFIX, hex(marker), hex(after))
            }
        }
    }
}

fn hex(s: &str) -> String {
    use std::fmt::Write;
    s.bytes()
        .fold(String::with_capacity(s.len() * 2), |mut o, b| {
            let _ = write!(o, "{b:02x}");
            o
        })
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

/// A listing stream or future polled with `counter` as the task's foreign-name counter, so
/// stores that skip names outside the portable key space
/// ([`crate::key::report_foreign_name`]) count them for this listing.
struct CountForeign<S> {
    inner: S,
    counter: Arc<AtomicU64>,
}

impl<S: futures::Stream + Unpin> futures::Stream for CountForeign<S> {
    type Item = S::Item;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<S::Item>> {
        let this = &mut *self;
        counting_foreign(&this.counter, || this.inner.poll_next_unpin(cx))
    }
}

impl<F: std::future::Future + Unpin> std::future::Future for CountForeign<F> {
    type Output = F::Output;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        counting_foreign(&this.counter, || {
            std::pin::Pin::new(&mut this.inner).poll(cx)
        })
    }
}

fn map_put_err(e: object_store::Error, key: &str) -> Error {
    match e {
        object_store::Error::AlreadyExists { .. } => Error::new(
            ErrorKind::AlreadyExists,
            format!("object {key:?} already exists"),
        )
        .with_source(e),
        object_store::Error::Precondition { .. } => Error::new(
            ErrorKind::PreconditionFailed,
            format!("object {key:?}: etag did not match"),
        )
        .with_source(e),
        other => other.into(),
    }
}

fn map_range_err(e: object_store::Error) -> Error {
    let err: Error = e.into();
    if err.kind() == ErrorKind::Other || err.kind() == ErrorKind::InvalidArgument {
        let m = err.message().to_ascii_lowercase();
        if m.contains("range") {
            return Error::new(
                ErrorKind::InvalidArgument,
                format!("invalid range: {}", err.message()),
            );
        }
    }
    err
}

/// A streaming writer returned by [`Bucket::writer`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::PutOptions;
/// let bucket = gureum_local::storage::open_mem("doc-writer");
/// let mut w = bucket.writer("export.csv", &PutOptions::default()).await?;
/// w.write(b"segment,vehicles\n").await?;
/// w.write(b"1,42\n").await?;
/// w.finish().await?;
/// assert_eq!(bucket.get("export.csv").await?.len(), 22);
/// # Ok(()) }
/// ```
pub struct BucketWriter {
    store: Arc<dyn ObjectStore>,
    path: Path,
    attributes: Attributes,
    max_object_size: Option<u64>,
    part_size: usize,
    /// The backend's part-count limit ([`StorageCapabilities::max_parts`]).
    max_parts: Option<usize>,
    /// Bytes not yet handed to a multipart upload (all of them while `inner` is `None`).
    buf: bytes::BytesMut,
    inner: Option<Parts>,
    done: bool,
    max_concurrency: usize,
    written: u64,
}

/// The parts of a running multipart upload: part uploads in flight and how many were started.
struct Parts {
    upload: Box<dyn object_store::MultipartUpload>,
    tasks: tokio::task::JoinSet<object_store::Result<()>>,
    started: usize,
}

/// Part size for uploading an object of known `size` in parts of at least `base` bytes to a
/// backend with at most `max_parts` parts: `base`, or the smallest whole number of MiB that
/// fits the object into `max_parts` parts when `base` would need more.
///
/// ```
/// use gureum_core::storage::part_size_for;
/// let mib = 1 << 20;
/// assert_eq!(part_size_for(8 * mib, 2 << 30, Some(10_000)), 8 * mib);
/// // 100 GiB in 8 MiB parts would be 12,800 parts: S3 allows 10,000.
/// let ps = part_size_for(8 * mib, 100 << 30, Some(10_000));
/// assert_eq!(ps, 11 * mib);
/// assert!((100u64 << 30).div_ceil(ps as u64) <= 10_000);
/// // Swift's default 1,000 segments: a 20 GiB object needs 21 MiB segments.
/// assert_eq!(part_size_for(8 * mib, 20 << 30, Some(1000)), 21 * mib);
/// assert_eq!(part_size_for(8 * mib, 100 << 30, None), 8 * mib);
/// ```
pub fn part_size_for(base: usize, size: u64, max_parts: Option<usize>) -> usize {
    const MIB: u64 = 1 << 20;
    let Some(m) = max_parts.filter(|m| *m > 0) else {
        return base;
    };
    let need = size.div_ceil(m as u64).div_ceil(MIB) * MIB;
    usize::try_from(need).map_or(usize::MAX, |n| n.max(base))
}

/// The native start-after offset for a page token: the key in the verbatim key space, and a
/// common prefix `p/` as `p/` (S3 and Swift return `p/` again for a start after `p/`, which
/// the caller drops as ≤ token).
fn native_offset(t: &str) -> String {
    let enc = |k: &str| {
        encode_key(k)
            .map(|p| p.to_string())
            .unwrap_or_else(|_| k.to_string())
    };
    match t.strip_suffix('/') {
        Some(p) => format!("{}/", enc(p)),
        None => enc(t),
    }
}

/// Entries of one native page that count toward a portable page: after `after` (if any) and
/// under the character prefix `prefix` (common prefixes compare as `p/`).
fn page_count(r: &object_store::ListResult, after: Option<&str>, prefix: &str) -> usize {
    let count = |k: &str| after.is_none_or(|t| k > t) && k.starts_with(prefix);
    r.common_prefixes
        .iter()
        .filter(|p| count(&format!("{}/", decode_key(p))))
        .count()
        + r.objects
            .iter()
            .filter(|m| count(&decode_key(&m.location)))
            .count()
}

/// Largest part any backend accepts (Azure: 4,000 MiB per block; S3 and Swift: 5 GiB).
const MAX_PART_BYTES: usize = 4000 * 1024 * 1024;

/// Size of part number `n` (0-based) of a streamed upload with parts of `base` bytes on a
/// backend with at most `max_parts` parts: `base` for the first half of the allowed parts,
/// then doubled every 1/32 of them (capped at 4,000 MiB), so an upload of unknown size never
/// runs out of part numbers before the backend's object limit (8 MiB base parts: about
/// 11 TiB on S3, 1 TiB in Swift's default 1,000 segments) while ordinary objects keep
/// `base` and bounded memory. Memory grows with the part size: about 5 parts are held.
///
/// ```
/// use gureum_core::storage::streamed_part_size;
/// let mib = 1 << 20;
/// assert_eq!(streamed_part_size(8 * mib, 0, None), 8 * mib);
/// assert_eq!(streamed_part_size(8 * mib, 499, Some(1000)), 8 * mib);
/// assert_eq!(streamed_part_size(8 * mib, 500, Some(1000)), 16 * mib);
/// assert_eq!(streamed_part_size(8 * mib, 531, Some(1000)), 32 * mib);
/// assert_eq!(streamed_part_size(8 * mib, 999, Some(1000)), 4000 * mib);
/// // About 1 TiB within Swift's default 1,000 segments, 11 TiB within S3's 10,000 parts.
/// let total = |m: usize| -> u64 { (0..m).map(|n| streamed_part_size(8 * mib, n, Some(m)) as u64).sum() };
/// assert!(total(1000) > 1 << 40);
/// assert!(total(10_000) > 10 << 40);
/// ```
pub fn streamed_part_size(base: usize, n: usize, max_parts: Option<usize>) -> usize {
    let Some(m) = max_parts else {
        return base;
    };
    let half = m / 2;
    if n < half {
        return base;
    }
    let step = (m / 32).max(1);
    let doublings = ((n - half) / step + 1).min(24) as u32;
    base.saturating_mul(1usize << doublings)
        .min(MAX_PART_BYTES.max(base))
}

impl fmt::Debug for BucketWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BucketWriter")
            .field("path", &self.path.as_ref())
            .field("written", &self.written)
            .field("multipart", &self.inner.is_some())
            .finish()
    }
}

impl BucketWriter {
    /// Append bytes; waits when too many parts are in flight (bounded memory). The first
    /// write past one part starts the multipart upload.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::PutOptions;
    /// let bucket = gureum_local::storage::open_mem("doc-writer-write");
    /// let mut w = bucket.writer("a.bin", &PutOptions::default()).await?;
    /// for _ in 0..4 {
    ///     w.write(&[0u8; 1024]).await?;
    /// }
    /// assert_eq!(w.bytes_written(), 4096);
    /// w.finish().await?;
    /// # Ok(()) }
    /// ```
    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        if self.done {
            return Err(Error::invalid("writer already finished"));
        }
        if let Some(max) = self.max_object_size {
            if self.written + data.len() as u64 > max {
                return Err(Error::invalid(format!(
                    "object of more than {max} bytes exceeds the backend limit"
                )));
            }
        }
        self.buf.extend_from_slice(data);
        self.written += data.len() as u64;
        loop {
            let started = self.inner.as_ref().map_or(0, |p| p.started);
            let size = streamed_part_size(self.part_size, started, self.max_parts);
            // Before the upload exists, one part's worth stays a single PUT (see `finish`).
            let ready = match self.inner {
                None => self.buf.len() > size,
                Some(_) => self.buf.len() >= size,
            };
            if !ready {
                return Ok(());
            }
            if self.inner.is_none() {
                let o = object_store::PutMultipartOptions {
                    attributes: self.attributes.clone(),
                    ..Default::default()
                };
                let upload = self.store.put_multipart_opts(&self.path, o).await?;
                self.inner = Some(Parts {
                    upload,
                    tasks: tokio::task::JoinSet::new(),
                    started: 0,
                });
            }
            let part = self.buf.split_to(size).freeze();
            self.put_part(part).await?;
        }
    }

    /// Start one part upload, first waiting while `max_concurrency` are in flight.
    async fn put_part(&mut self, part: Bytes) -> Result<()> {
        let max_concurrency = self.max_concurrency.max(1);
        let max_parts = self.max_parts;
        let Some(p) = self.inner.as_mut() else {
            return Err(Error::invalid("no multipart upload to add a part to"));
        };
        if let Some(m) = max_parts {
            if p.started >= m {
                return Err(Error::invalid(format!(
                    "object needs more than the backend's {m} multipart parts"
                )));
            }
        }
        while p.tasks.len() >= max_concurrency {
            if let Some(r) = p.tasks.join_next().await {
                r.map_err(|e| Error::other(format!("part upload task failed: {e}")))??;
            }
        }
        let fut = p.upload.put_part(PutPayload::from_bytes(part));
        p.tasks.spawn(fut);
        p.started += 1;
        Ok(())
    }
    /// Use parts of `bytes` instead of [`DEFAULT_PART_SIZE`] (before the first write; S3
    /// needs at least 5 MiB for every part but the last).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::PutOptions;
    /// let bucket = gureum_local::storage::open_mem("doc-part-size");
    /// let mut w = bucket.writer("big.bin", &PutOptions::default()).await?.with_part_size(1024)?;
    /// w.write(&[1u8; 3000]).await?; // more than one part: a multipart upload
    /// assert!(w.is_multipart());
    /// w.finish().await?;
    /// assert_eq!(bucket.head("big.bin").await?.size, 3000);
    /// # Ok(()) }
    /// ```
    pub fn with_part_size(mut self, bytes: usize) -> Result<Self> {
        if bytes == 0 {
            return Err(Error::invalid("part size must be at least 1 byte"));
        }
        if self.written > 0 || self.done {
            return Err(Error::invalid(
                "part size must be set before the first write",
            ));
        }
        self.part_size = bytes;
        Ok(self)
    }
    /// Bytes written so far.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::PutOptions;
    /// let bucket = gureum_local::storage::open_mem("doc-bytes-written");
    /// let mut w = bucket.writer("a", &PutOptions::default()).await?;
    /// w.write(b"hello").await?;
    /// assert_eq!(w.bytes_written(), 5);
    /// w.finish().await?;
    /// # Ok(()) }
    /// ```
    pub fn bytes_written(&self) -> u64 {
        self.written
    }
    /// Whether the write became a multipart upload (more than one part was written).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::PutOptions;
    /// let bucket = gureum_local::storage::open_mem("doc-is-multipart");
    /// let mut w = bucket.writer("small", &PutOptions::default()).await?;
    /// w.write(b"fits in one part").await?;
    /// assert!(!w.is_multipart()); // finished with a single PUT
    /// w.finish().await?;
    /// # Ok(()) }
    /// ```
    pub fn is_multipart(&self) -> bool {
        self.inner.is_some()
    }
    /// Complete the write: one PUT for an object of at most one part (also an empty one),
    /// else the completion of the multipart upload.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::PutOptions;
    /// let bucket = gureum_local::storage::open_mem("doc-finish");
    /// let w = bucket.writer("empty", &PutOptions::default()).await?;
    /// let written = w.finish().await?; // an empty object is one PUT
    /// assert_eq!(written.etag, bucket.head("empty").await?.etag);
    /// assert_eq!(bucket.head("empty").await?.size, 0);
    /// # Ok(()) }
    /// ```
    pub async fn finish(mut self) -> Result<WriteResult> {
        if self.done {
            return Err(Error::invalid("writer already finished"));
        }
        self.done = true;
        let r = match self.inner.is_some() {
            true => {
                if !self.buf.is_empty() {
                    let last = std::mem::take(&mut self.buf).freeze();
                    self.put_part(last).await?;
                }
                let p = self.inner.as_mut().expect("checked above");
                while let Some(r) = p.tasks.join_next().await {
                    r.map_err(|e| Error::other(format!("part upload task failed: {e}")))??;
                }
                // Completed or not, the upload is no longer ours to abort on drop once
                // `complete` was sent: a failed completion is aborted right here.
                let mut p = self.inner.take().expect("checked above");
                match p.upload.complete().await {
                    Ok(r) => r,
                    Err(e) => {
                        if let Err(a) = p.upload.abort().await {
                            tracing::warn!(path = %self.path, error = %a, "aborting after a failed completion failed");
                        }
                        return Err(e.into());
                    }
                }
            }
            false => {
                let data = std::mem::take(&mut self.buf).freeze();
                let o = object_store::PutOptions {
                    attributes: std::mem::take(&mut self.attributes),
                    ..Default::default()
                };
                self.store
                    .put_opts(&self.path, PutPayload::from_bytes(data), o)
                    .await?
            }
        };
        Ok(WriteResult {
            etag: r.e_tag,
            version: r.version,
        })
    }
    /// Abort the write, removing uploaded parts.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::PutOptions;
    /// let bucket = gureum_local::storage::open_mem("doc-abort");
    /// let mut w = bucket.writer("partial", &PutOptions::default()).await?.with_part_size(16)?;
    /// w.write(&[0u8; 64]).await?;
    /// w.abort().await?;
    /// assert!(!bucket.exists("partial").await?);
    /// # Ok(()) }
    /// ```
    pub async fn abort(mut self) -> Result<()> {
        self.done = true;
        self.buf = bytes::BytesMut::new();
        if let Some(mut p) = self.inner.take() {
            p.tasks.shutdown().await;
            p.upload.abort().await?;
        }
        Ok(())
    }
}

impl Drop for BucketWriter {
    fn drop(&mut self) {
        let Some(w) = self.inner.take() else {
            return;
        };
        let path = self.path.to_string();
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                tracing::debug!(%path, "writer dropped without finish; aborting its multipart upload");
                h.spawn(async move {
                    let mut w = w;
                    w.tasks.shutdown().await;
                    if let Err(e) = w.upload.abort().await {
                        tracing::warn!(%path, error = %e, "aborting the multipart upload of a dropped writer failed");
                    }
                });
            }
            Err(_) => tracing::warn!(
                %path,
                "writer dropped without finish outside a tokio runtime; its multipart upload is left pending"
            ),
        }
    }
}

/// Minimal `AsyncRead` over a stream of `Bytes` (avoids a tokio-util dependency in core).
struct StreamReader {
    s: BoxStream<'static, Result<Bytes>>,
    cur: Bytes,
}

impl StreamReader {
    fn new(s: BoxStream<'static, Result<Bytes>>) -> Self {
        StreamReader {
            s,
            cur: Bytes::new(),
        }
    }
}

impl tokio::io::AsyncRead for StreamReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::task::Poll;
        loop {
            if !self.cur.is_empty() {
                let n = self.cur.len().min(buf.remaining());
                let chunk = self.cur.split_to(n);
                buf.put_slice(&chunk);
                return Poll::Ready(Ok(()));
            }
            match self.s.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(b))) => self.cur = b,
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Err(std::io::Error::other(e.to_string())))
                }
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod page_token_tests {
    use super::*;

    #[test]
    fn marker_tokens_round_trip_and_bad_ones_are_invalid_argument() {
        let t = PageToken::Marker {
            marker: "2!84!MDAwMDQ1IWQvMDAwMDEy!".into(),
            after: "민원/d/".into(),
        };
        assert_eq!(PageToken::parse(&t.encode()).unwrap(), t);
        // A portable key is a start-after cursor, as before.
        assert_eq!(
            PageToken::parse("a/b.json").unwrap(),
            PageToken::After("a/b.json".into())
        );
        for bad in [
            "//",
            "//gm1/",
            "//gm2/61/62",
            "//gm1/6/62",
            "//gm1/zz/62",
            "//gm1/61",
            "//gm1//62",
            "//gm1/ff/62",
        ] {
            let e = PageToken::parse(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
    }
}
