//! # gureum-crypto
//!
//! Client-side envelope encryption for gureum buckets and queues, as a layer
//! ([`gureum_layers::Layer`]): the cloud stores only ciphertext, and the keys that can open it
//! stay in the city's key manager.
//!
//! * **Objects**: each object is encrypted with AES-256-GCM in 64 KiB segments (the STREAM
//!   construction, [`format`]); its data key is wrapped by a key-encryption key (KEK) held by a
//!   [`KeyProvider`]. Range reads fetch and decrypt only the segments they touch; writes and
//!   reads stream with bounded memory. Truncation, reordering, tampering and an object moved
//!   to another key or bucket fail with `ErrorKind::Integrity`; a KEK the provider does not
//!   hold fails with `ErrorKind::PermissionDenied`. Listings and `head` report plaintext sizes;
//!   conditional writes, metadata and content types work as without the layer.
//! * **Queue messages**: bodies are sealed one by one ([`queue`]); attributes stay readable.
//! * **Key providers**: a local [key file](keyfile), OpenBao/Vault [transit](openbao) and
//!   [AWS KMS](awskms), behind one trait, with a [data-key cache](cache) in front.
//!
//! What the cloud still sees: object key names, sizes (the plaintext size to the byte: it
//! is a function of the stored size), metadata names and values, content types, message
//! attributes, and the timing of every request. See docs/security.md.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use gureum_core::{Bucket, object_store::memory::InMemory};
//! use gureum_crypto::{EncryptionLayer, keyfile::KeyFile};
//! use gureum_layers::BucketLayerExt;
//! use std::sync::Arc;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let kek = KeyFile::create(dir.path().join("city.key"), "seoul-records").unwrap();
//! let raw = Arc::new(InMemory::new());
//! let bucket = Bucket::new("records", raw.clone()).layer(EncryptionLayer::new(kek));
//! bucket.put("민원/c-1041.json", b"{\"name\":\"Kim\"}".to_vec()).await.unwrap();
//! assert_eq!(&bucket.get("민원/c-1041.json").await.unwrap()[..], b"{\"name\":\"Kim\"}");
//! // The store underneath holds ciphertext only.
//! let stored = Bucket::new("records", raw).get("민원/c-1041.json").await.unwrap();
//! assert!(!stored.windows(3).any(|w| w == b"Kim"));
//! # });
//! ```
#![deny(missing_docs)]

pub mod cache;
pub mod format;
pub mod keyfile;
pub mod keys;
pub mod queue;
pub mod store;
pub mod url;

#[cfg(feature = "awskms")]
pub mod awskms;
#[cfg(feature = "openbao")]
pub mod openbao;

pub use cache::{CacheLimits, CacheStats, KeyCache};
pub use keys::{DataKey, KekInfo, KeyProvider, WrappedKey};
pub use queue::EncryptedQueue;
pub use store::EncryptedStore;

use async_trait::async_trait;
use gureum_core::object_store::ObjectStore;
use gureum_core::{
    Bucket, BucketAdmin, LayerOpener, LayerParams, LayerSlot, OpenTarget, Queue, QueueAdmin,
    QueueConfig, QueueDriver, Registry, Result,
};
use gureum_layers::{BucketLayerExt, Layer, QueueLayerExt};
use std::fmt;
use std::sync::Arc;

/// The layer parameter (URL query or profile key) that turns encryption on:
/// `encrypt=<key provider URL>`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_crypto::{keyfile::KeyFile, PARAMETER};
/// let tmp = tempfile::tempdir()?;
/// let key = tmp.path().join("city.key");
/// KeyFile::create(&key, "city")?;
/// let url = format!("mem://encrypt-param-doc?{PARAMETER}=keyfile://{}", key.display());
/// let bucket = gureum::open_bucket(&url).await?;
/// assert!(bucket.is_encrypted());
/// # Ok(()) }
/// ```
pub const PARAMETER: &str = "encrypt";

/// A key provider and the data-key cache in front of it, shared by every store and queue a
/// layer wraps.
///
/// ```
/// # fn main() -> gureum_core::Result<()> {
/// use gureum_crypto::{keyfile::KeyFile, EncryptionLayer};
/// let tmp = tempfile::tempdir()?;
/// let layer = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?);
/// let keys = layer.keys(); // shared by every store and queue the layer wraps
/// assert_eq!(keys.provider.kind(), "keyfile");
/// assert_eq!(keys.cache.stats().wraps, 0);
/// # Ok(()) }
/// ```
pub struct Keys {
    /// The key manager.
    pub provider: Arc<dyn KeyProvider>,
    /// The data-key cache.
    pub cache: KeyCache,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("provider", &self.provider)
            .field("cache", &self.cache)
            .finish()
    }
}

/// Client-side encryption as a layer over buckets and queues.
///
/// Over a bucket ([`gureum_layers::BucketLayerExt::layer`]) each object is bound to the
/// bucket's name and its key (an object copied elsewhere by the cloud does not decrypt);
/// [`EncryptionLayer::binding`] overrides the name (e.g. for a bucket renamed by a raw copy).
/// The layer drops the bucket's presigner (a presigned URL would hand out ciphertext) and
/// wraps its admin driver, so buckets and queues opened through the admin are encrypted too.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_crypto::{keyfile::KeyFile, EncryptionLayer};
/// use gureum_layers::QueueLayerExt;
/// let tmp = tempfile::tempdir()?;
/// let layer = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?);
/// let queue = gureum::open_queue("mem://encrypted-queue-doc").await?.layer(layer);
/// queue.send(gureum_core::Message::new("주민번호 900101-1")).await?;
/// let m = queue.receive(1).await?.remove(0);
/// assert_eq!(&m.body[..], "주민번호 900101-1".as_bytes()); // decrypted for the reader
/// assert!(queue.is_encrypted());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct EncryptionLayer {
    keys: Arc<Keys>,
    binding: Option<String>,
}

impl EncryptionLayer {
    /// Encrypt with `provider` and the default cache limits.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_crypto::{keyfile::KeyFile, CacheLimits, EncryptionLayer};
    /// let tmp = tempfile::tempdir()?;
    /// let layer = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?);
    /// assert_eq!(layer.keys().cache.limits(), CacheLimits::default());
    /// # Ok(()) }
    /// ```
    pub fn new(provider: impl KeyProvider + 'static) -> Self {
        Self::with_provider(Arc::new(provider), CacheLimits::default())
    }

    /// Encrypt with a shared provider and explicit cache limits.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_crypto::{keyfile::KeyFile, CacheLimits, EncryptionLayer};
    /// use std::sync::Arc;
    /// let tmp = tempfile::tempdir()?;
    /// let kek = Arc::new(KeyFile::create(tmp.path().join("k"), "city")?);
    /// // A fresh data key for every object (no cache), one provider shared by two layers.
    /// let a = EncryptionLayer::with_provider(kek.clone(), CacheLimits::none());
    /// let b = EncryptionLayer::with_provider(kek, CacheLimits::none());
    /// assert_eq!(a.keys().cache.limits().max_uses, 1);
    /// assert_eq!(b.keys().provider.kind(), "keyfile");
    /// # Ok(()) }
    /// ```
    pub fn with_provider(provider: Arc<dyn KeyProvider>, limits: CacheLimits) -> Self {
        EncryptionLayer {
            keys: Arc::new(Keys {
                provider,
                cache: KeyCache::new(limits),
            }),
            binding: None,
        }
    }

    /// The layer a key provider URL describes (`keyfile:///path`, `openbao://host:port/mount/key`,
    /// `awskms://key-id?region=..`); see [`url`].
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use gureum_core::{object_store::memory::InMemory, Bucket};
    /// use gureum_crypto::{keyfile::KeyFile, EncryptionLayer};
    /// use gureum_layers::BucketLayerExt;
    /// use std::sync::Arc;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("records.key");
    /// KeyFile::create(&path, "seoul-records").unwrap();
    /// let layer = EncryptionLayer::open(&format!("keyfile://{}", path.display())).await.unwrap();
    /// let bucket = Bucket::new("records", Arc::new(InMemory::new())).layer(layer);
    /// bucket.put("c-1041.json", b"{}".to_vec()).await.unwrap();
    /// assert!(bucket.is_encrypted());
    /// assert_eq!(&bucket.get("c-1041.json").await.unwrap()[..], b"{}");
    /// # });
    /// ```
    pub async fn open(url: &str) -> Result<Self> {
        let (provider, limits) = url::open_provider(url).await?;
        Ok(Self::with_provider(provider, limits))
    }

    /// Bind objects to `name` instead of the bucket's name.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{object_store::memory::InMemory, Bucket};
    /// use gureum_crypto::{keyfile::KeyFile, EncryptionLayer};
    /// use gureum_layers::BucketLayerExt;
    /// use std::sync::Arc;
    /// let tmp = tempfile::tempdir()?;
    /// let path = tmp.path().join("k");
    /// KeyFile::create(&path, "city")?;
    /// let raw = Arc::new(InMemory::new());
    /// Bucket::new("old-name", raw.clone()).layer(EncryptionLayer::new(KeyFile::open(&path)?)).put("a", "secret").await?;
    /// // The same stored objects under another bucket name: bind to the name they were written under.
    /// let layer = EncryptionLayer::new(KeyFile::open(&path)?).binding("old-name");
    /// let renamed = Bucket::new("new-name", raw).layer(layer);
    /// assert_eq!(&renamed.get("a").await?[..], b"secret");
    /// # Ok(()) }
    /// ```
    pub fn binding(mut self, name: impl Into<String>) -> Self {
        self.binding = Some(name.into());
        self
    }

    /// The key provider and cache.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{object_store::memory::InMemory, Bucket};
    /// use gureum_crypto::{keyfile::KeyFile, EncryptionLayer};
    /// use gureum_layers::BucketLayerExt;
    /// use std::sync::Arc;
    /// let tmp = tempfile::tempdir()?;
    /// let layer = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?);
    /// let bucket = Bucket::new("b", Arc::new(InMemory::new())).layer(layer.clone());
    /// for i in 0..3 {
    ///     bucket.put(&format!("o{i}"), "x").await?;
    /// }
    /// assert_eq!(layer.keys().cache.stats().wraps, 1); // one data key for the three objects
    /// # Ok(()) }
    /// ```
    pub fn keys(&self) -> &Arc<Keys> {
        &self.keys
    }

    /// The encrypted store over `inner` for the bucket `bucket` (the binding, unless
    /// [`EncryptionLayer::binding`] set one).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::key::encode_key; // user keys: the verbatim key space
    /// use gureum_core::object_store::{memory::InMemory, ObjectStore, ObjectStoreExt};
    /// use gureum_crypto::{keyfile::KeyFile, EncryptionLayer};
    /// use std::sync::Arc;
    /// let tmp = tempfile::tempdir()?;
    /// let layer = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?);
    /// let raw = Arc::new(InMemory::new());
    /// let store = layer.store(raw.clone(), "records");
    /// let key = encode_key("a")?;
    /// store.put(&key, "hello".into()).await?;
    /// assert_eq!(&store.get(&key).await?.bytes().await?[..], b"hello");
    /// assert!(raw.get(&key).await?.bytes().await?.starts_with(b"GRMCRYPT"));
    /// # Ok(()) }
    /// ```
    pub fn store(&self, inner: Arc<dyn ObjectStore>, bucket: &str) -> EncryptedStore {
        let b = self.binding.clone().unwrap_or_else(|| bucket.to_string());
        EncryptedStore::new(inner, self.keys.clone(), b)
    }
}

impl Layer for EncryptionLayer {
    fn name(&self) -> &str {
        "encrypt"
    }

    fn encrypts(&self) -> bool {
        true
    }

    /// Over a bare store (no bucket name known), objects are bound to the
    /// [`EncryptionLayer::binding`] name, or to the empty name.
    fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        Arc::new(self.store(inner, ""))
    }

    fn wrap_queue(&self, inner: Arc<dyn QueueDriver>) -> Arc<dyn QueueDriver> {
        Arc::new(EncryptedQueue::new(inner, self.keys.clone()))
    }

    fn layer_bucket(&self, bucket: Bucket) -> Bucket {
        let inner = bucket.object_store();
        // Large unconditional puts stream (seal while writing) through file://'s multipart
        // upload, which commits like a put (staging file, rename under the store's lock);
        // only when that store is directly underneath (no other layer in between).
        let streamed =
            bucket.info().scheme == "file" && inner.to_string().starts_with("FileStore(");
        let store: Arc<dyn ObjectStore> = Arc::new(
            self.store(inner, bucket.name())
                .with_streamed_puts(streamed),
        );
        let mut caps = bucket.capabilities().clone();
        // No presigned URLs: they would hand out ciphertext.
        caps.presign = false;
        if let Some(max) = caps.max_object_size {
            // The largest plaintext whose stored form fits.
            let mut p = max;
            while p > 0 && format::stored_size(p) > max {
                p = p.saturating_sub(format::stored_size(p) - max);
            }
            caps.max_object_size = Some(p);
        }
        let admin = bucket.admin().ok().cloned();
        let mut b = bucket
            .with_store(store)
            .without_presigner()
            .with_capabilities(caps);
        if let Some(a) = admin {
            b = b.with_admin(Arc::new(EncryptedBucketAdmin {
                inner: a,
                layer: self.clone(),
            }));
        }
        b
    }

    fn layer_queue(&self, queue: Queue) -> Queue {
        let admin = queue.admin().ok().cloned();
        let driver = self.wrap_queue(queue.driver().clone());
        let mut q = queue.with_driver(driver);
        if let Some(a) = admin {
            q = q.with_admin(Arc::new(EncryptedQueueAdmin {
                inner: a,
                layer: self.clone(),
            }));
        }
        q
    }
}

/// A bucket admin whose [`BucketAdmin::open`] stacks the encryption layer.
#[derive(Debug)]
struct EncryptedBucketAdmin {
    inner: Arc<dyn BucketAdmin>,
    layer: EncryptionLayer,
}

#[async_trait]
impl BucketAdmin for EncryptedBucketAdmin {
    async fn create_bucket(&self, name: &str) -> Result<()> {
        self.inner.create_bucket(name).await
    }
    async fn delete_bucket(&self, name: &str) -> Result<()> {
        self.inner.delete_bucket(name).await
    }
    async fn list_buckets(&self) -> Result<Vec<String>> {
        self.inner.list_buckets().await
    }
    async fn open(&self, name: &str) -> Result<Bucket> {
        let b = self.inner.open(name).await?;
        Ok(self.layer.layer_bucket(b))
    }
}

/// A queue admin whose [`QueueAdmin::open`] stacks the encryption layer.
#[derive(Debug)]
struct EncryptedQueueAdmin {
    inner: Arc<dyn QueueAdmin>,
    layer: EncryptionLayer,
}

#[async_trait]
impl QueueAdmin for EncryptedQueueAdmin {
    async fn create_queue(&self, name: &str, config: &QueueConfig) -> Result<()> {
        self.inner.create_queue(name, config).await
    }
    async fn delete_queue(&self, name: &str) -> Result<()> {
        self.inner.delete_queue(name).await
    }
    async fn list_queues(&self) -> Result<Vec<String>> {
        self.inner.list_queues().await
    }
    async fn open(&self, name: &str) -> Result<Queue> {
        let q = self.inner.open(name).await?;
        Ok(self.layer.layer_queue(q))
    }
}

/// Register the encryption layer's URL / profile parameter (`encrypt=<key provider URL>`)
/// with `registry`: `open_bucket("s3://b?encrypt=keyfile%3A%2F%2F%2Fetc%2Fgureum%2Fcity.key")`
/// then stacks [`EncryptionLayer`] (innermost, right over the backend) and the provider never
/// sees the parameter. The facade's `gureum::registry()` calls this with its `encrypt`
/// feature.
///
/// # Examples
///
/// ```
/// let mut registry = gureum_core::Registry::new();
/// gureum_crypto::register(&mut registry);
/// assert!(registry.layer_params().contains(&"encrypt"));
/// ```
pub fn register(registry: &mut Registry) {
    registry.register_layer(Arc::new(EncryptOpener));
}

/// The [`LayerOpener`] of `encrypt=`.
///
/// ```
/// let mut registry = gureum_core::Registry::new();
/// registry.register_layer(std::sync::Arc::new(gureum_crypto::EncryptOpener));
/// assert!(registry.layer_params().contains(&"encrypt"));
/// assert!(registry.layers()[0].encrypts());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct EncryptOpener;

#[async_trait]
impl LayerOpener for EncryptOpener {
    fn name(&self) -> &'static str {
        "encrypt"
    }
    fn params(&self) -> &'static [&'static str] {
        &[PARAMETER]
    }
    fn slot(&self) -> LayerSlot {
        LayerSlot::Encryption
    }
    fn encrypts(&self) -> bool {
        true
    }
    async fn check_open(&self, _target: &OpenTarget, params: &LayerParams) -> Result<()> {
        // A malformed key provider URL fails before any byte moves.
        let u = params.get(PARAMETER).unwrap_or_default();
        url::ProviderUrl::parse(u)?.cache_limits()?;
        Ok(())
    }
    async fn stack_bucket(
        &self,
        bucket: Bucket,
        _target: &OpenTarget,
        params: &LayerParams,
    ) -> Result<Bucket> {
        let layer = EncryptionLayer::open(params.get(PARAMETER).unwrap_or_default()).await?;
        Ok(BucketLayerExt::layer(bucket, layer))
    }
    async fn stack_queue(
        &self,
        queue: Queue,
        _target: &OpenTarget,
        params: &LayerParams,
    ) -> Result<Queue> {
        let layer = EncryptionLayer::open(params.get(PARAMETER).unwrap_or_default()).await?;
        Ok(QueueLayerExt::layer(queue, layer))
    }
}
