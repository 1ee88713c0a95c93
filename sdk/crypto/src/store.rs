//! [`EncryptedStore`]: an `ObjectStore` that encrypts every object on its way to the store
//! underneath and decrypts it on the way back (see [`crate::format`] for the stored format).

use crate::format::{
    integrity, plain_size, segment_count, Header, SegmentKeys, HEADER_LEN, SEGMENT_LEN,
    STORED_SEGMENT_LEN, TAG_LEN,
};
use crate::keys::WrappedKey;
use crate::Keys;
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::stream::{BoxStream, StreamExt};
use gureum_core::object_store::path::Path;
use gureum_core::object_store::{
    self, Attribute, AttributeValue, Attributes, CopyMode, CopyOptions, GetOptions, GetRange,
    GetResult, GetResultPayload, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMode,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, UploadPart,
};
use gureum_core::{Error, ErrorKind, Result};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// Metadata name of the KEK (`kind:id`) that wrapped an object's data key.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{object_store::memory::InMemory, Bucket};
/// use gureum_crypto::{keyfile::KeyFile, store::{META_KEK, META_KEK_VERSION}, EncryptionLayer};
/// use gureum_layers::BucketLayerExt;
/// use std::sync::Arc;
/// let tmp = tempfile::tempdir()?;
/// let raw = Arc::new(InMemory::new());
/// let bucket = Bucket::new("b", raw.clone()).layer(EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?));
/// bucket.put("a", "x").await?;
/// // The stored object names its KEK in metadata (to find objects to rotate).
/// let stored = Bucket::new("b", raw).head("a").await?;
/// assert_eq!(stored.metadata[META_KEK], "keyfile:city");
/// assert_eq!(stored.metadata[META_KEK_VERSION], "1");
/// # Ok(()) }
/// ```
pub const META_KEK: &str = "gureum-kek";
/// Metadata name of the KEK version.
///
/// ```
/// assert_eq!(gureum_crypto::store::META_KEK_VERSION, "gureum-kek-version");
/// ```
pub const META_KEK_VERSION: &str = "gureum-kek-version";
/// Largest user metadata (names and values) kept on a backend (S3's limit).
const METADATA_BUDGET: usize = gureum_core::storage::MAX_METADATA_BYTES;
/// Objects up to this size are copied in one request; larger ones stream through a multipart
/// upload.
const COPY_BUFFERED_MAX: u64 = 32 * 1024 * 1024;
/// Smallest part the store underneath receives (except the last): S3's 5 MiB minimum.
const MIN_PART: usize = 5 * 1024 * 1024;

const STORE: &str = "Encrypted";

pub(crate) fn os_err(e: Error, path: &str) -> object_store::Error {
    e.into_object_store(STORE, path)
}

/// An object store that keeps only ciphertext in the store it wraps.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::key::encode_key; // user keys: the verbatim key space
/// use gureum_core::object_store::{memory::InMemory, ObjectStore, ObjectStoreExt};
/// use gureum_crypto::{keyfile::KeyFile, EncryptedStore, EncryptionLayer};
/// use std::sync::Arc;
/// let tmp = tempfile::tempdir()?;
/// let layer = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?);
/// let store = EncryptedStore::new(Arc::new(InMemory::new()), layer.keys().clone(), "records");
/// let key = encode_key("big.bin")?;
/// store.put(&key, vec![7u8; 200_000].into()).await?;
/// // A range read fetches and decrypts only the segments it touches.
/// let part = store.get_range(&key, 100_000..100_010).await?;
/// assert_eq!(&part[..], &[7u8; 10]);
/// assert_eq!(store.head(&key).await?.size, 200_000); // plaintext size
/// # Ok(()) }
/// ```
pub struct EncryptedStore {
    inner: Arc<dyn ObjectStore>,
    keys: Arc<Keys>,
    binding: String,
    streamed_puts: bool,
}

impl fmt::Debug for EncryptedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedStore")
            .field("inner", &self.inner.to_string())
            .field("binding", &self.binding)
            .field("provider", &self.keys.provider)
            .field("streamed_puts", &self.streamed_puts)
            .finish()
    }
}

impl fmt::Display for EncryptedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Encrypted({})", self.inner)
    }
}

/// Metadata the layer adds (KEK id and version), unless the user's metadata leaves no room.
fn add_kek_metadata(attrs: &mut Attributes, w: &WrappedKey) {
    let kek = format!("{}:{}", w.kind, w.kek_id);
    let version = w.version.to_string();
    let used: usize = attrs
        .iter()
        .filter_map(|(k, v)| match k {
            Attribute::Metadata(n) => Some(n.len() + v.len()),
            _ => None,
        })
        .sum();
    let mine = META_KEK.len() + kek.len() + META_KEK_VERSION.len() + version.len();
    if used + mine <= METADATA_BUDGET {
        attrs.insert(Attribute::Metadata(META_KEK.into()), kek.into());
        attrs.insert(
            Attribute::Metadata(META_KEK_VERSION.into()),
            AttributeValue::from(version),
        );
    } else {
        tracing::debug!("user metadata leaves no room for the KEK metadata; the header has it");
    }
}

/// The attributes the user wrote (the layer's own metadata removed).
fn user_attributes(attrs: Attributes) -> Attributes {
    attrs
        .iter()
        .filter(|(k, _)| {
            !matches!(k, Attribute::Metadata(n) if n.as_ref() == META_KEK || n.as_ref() == META_KEK_VERSION)
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `ObjectMeta` with the plaintext size (or the stored size when it is not one of ours).
fn plain_meta(mut m: ObjectMeta) -> ObjectMeta {
    match plain_size(m.size) {
        Some(p) => m.size = p,
        None => {
            tracing::debug!(path = %m.location, size = m.size, "not an encrypted object's size")
        }
    }
    m
}

/// Segments sealed per block of a put (about 1 MiB stored): the unit of the parallel seal
/// and of the streamed write.
const PUT_BLOCK_SEGMENTS: u64 = 16;
/// Objects from this size on take the streamed put when it is on
/// ([`EncryptedStore::with_streamed_puts`]).
const STREAMED_PUT_MIN: usize = 4 * 1024 * 1024;
/// Sealed blocks a streamed put has being written at once.
const STREAMED_WRITES_AHEAD: usize = 2;
/// Block buffers a streamed put keeps for reuse.
const POOL_MAX: usize = 8;

/// The blocks of an object of `n` segments.
fn put_blocks(n: u64) -> Vec<Range<u64>> {
    (0..n)
        .step_by(PUT_BLOCK_SEGMENTS as usize)
        .map(|a| a..(a + PUT_BLOCK_SEGMENTS).min(n))
        .collect()
}

/// Seal segments `segs` of `plain` (an object of `n` segments) into `out`, preceded by the
/// sealed `header` when the block starts the object. `out` is cleared and receives exactly
/// the block's stored bytes (capacity reserved once, no reallocation).
fn seal_block(
    header: &[u8],
    keys: &SegmentKeys,
    plain: &[u8],
    n: u64,
    segs: Range<u64>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let p0 = (segs.start as usize * SEGMENT_LEN).min(plain.len());
    let p1 = (segs.end as usize * SEGMENT_LEN).min(plain.len());
    let head = if segs.start == 0 { header } else { &[][..] };
    let len = head.len() + (p1 - p0) + (segs.end - segs.start) as usize * TAG_LEN;
    out.clear();
    out.reserve_exact(len);
    out.extend_from_slice(head);
    for i in segs {
        let s = (i as usize * SEGMENT_LEN).min(plain.len());
        let e = (s + SEGMENT_LEN).min(plain.len());
        let at = out.len();
        out.extend_from_slice(&plain[s..e]);
        out.extend_from_slice(&[0u8; TAG_LEN]);
        keys.seal_segment_at(i, i + 1 == n, &mut out[at..], e - s)?;
    }
    debug_assert_eq!(out.len(), len);
    Ok(())
}

/// Encrypt `plain` (one whole object) into its stored bytes, one chunk per block of
/// [`PUT_BLOCK_SEGMENTS`] segments (no single buffer of the object's size). Large objects are
/// sealed on up to four threads (segments are independent).
pub(crate) fn encrypt_all(header: &[u8], keys: &SegmentKeys, plain: &[u8]) -> Result<PutPayload> {
    let n = segment_count(plain.len() as u64);
    let blocks = put_blocks(n);
    let seal = |b: &Range<u64>| -> Result<Bytes> {
        let mut out = Vec::new();
        seal_block(header, keys, plain, n, b.clone(), &mut out)?;
        Ok(Bytes::from(out))
    };
    let threads = if plain.len() >= 4 * 1024 * 1024 {
        std::thread::available_parallelism()
            .map(|p| p.get())
            .unwrap_or(1)
            .clamp(1, 4)
    } else {
        1
    };
    let chunks: Vec<Bytes> = if threads == 1 || blocks.len() == 1 {
        blocks.iter().map(seal).collect::<Result<_>>()?
    } else {
        let per = blocks.len().div_ceil(threads);
        std::thread::scope(|sc| -> Result<Vec<Bytes>> {
            let seal = &seal;
            let handles: Vec<_> = blocks
                .chunks(per)
                .map(|part| sc.spawn(move || part.iter().map(seal).collect::<Result<Vec<_>>>()))
                .collect();
            let mut out = Vec::with_capacity(blocks.len());
            for h in handles {
                out.extend(
                    h.join()
                        .map_err(|_| Error::other("encryption thread panicked"))??,
                );
            }
            Ok(out)
        })?
    };
    Ok(chunks.into_iter().collect())
}

/// Buffers of sealed blocks, handed back when the store underneath has written (dropped)
/// them, so a streamed put touches fresh memory for its first few blocks only.
#[derive(Default)]
struct BlockPool(std::sync::Mutex<Vec<Vec<u8>>>);

impl BlockPool {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut p| p.pop().unwrap_or_default())
            .unwrap_or_default()
    }
}

/// A sealed block lent to the store underneath (as `Bytes`); its buffer returns to the pool
/// when the last reference is dropped.
struct PooledBlock {
    buf: Vec<u8>,
    pool: Arc<BlockPool>,
}

impl AsRef<[u8]> for PooledBlock {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for PooledBlock {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        if let Ok(mut p) = self.pool.0.lock() {
            if p.len() < POOL_MAX {
                p.push(buf);
            }
        }
    }
}

fn join_err(e: tokio::task::JoinError) -> Error {
    Error::other(format!("encryption task failed: {e}"))
}

/// Seal `plain` block by block on blocking threads and hand each sealed block to `up` as one
/// part, in order, while the next blocks are sealed: sealing overlaps the writes. Memory: a
/// few blocks. Outstanding writes are awaited before an error is returned.
async fn stream_parts(
    up: &mut dyn MultipartUpload,
    plain: Bytes,
    header: Vec<u8>,
    keys: SegmentKeys,
) -> Result<()> {
    use std::collections::VecDeque;
    let n = segment_count(plain.len() as u64);
    let keys = Arc::new(keys);
    let header: Arc<[u8]> = header.into();
    let pool = Arc::new(BlockPool::default());
    let seal_ahead = std::thread::available_parallelism()
        .map(|p| p.get())
        .unwrap_or(1)
        .clamp(2, 4);
    let mut blocks = put_blocks(n).into_iter();
    let mut sealing = VecDeque::new();
    let mut writing: VecDeque<tokio::task::JoinHandle<object_store::Result<()>>> = VecDeque::new();
    let res: Result<()> = async {
        loop {
            while sealing.len() < seal_ahead {
                let Some(b) = blocks.next() else { break };
                let (plain, keys, header, pool) =
                    (plain.clone(), keys.clone(), header.clone(), pool.clone());
                sealing.push_back(tokio::task::spawn_blocking(move || -> Result<Bytes> {
                    let mut buf = pool.take();
                    seal_block(&header, &keys, &plain, n, b, &mut buf)?;
                    Ok(Bytes::from_owner(PooledBlock { buf, pool }))
                }));
            }
            let Some(next) = sealing.pop_front() else {
                break;
            };
            let block = next.await.map_err(join_err)??;
            writing.push_back(tokio::spawn(up.put_part(PutPayload::from_bytes(block))));
            while writing.len() > STREAMED_WRITES_AHEAD {
                if let Some(w) = writing.pop_front() {
                    w.await.map_err(join_err)??;
                }
            }
        }
        Ok(())
    }
    .await;
    // Every write settles before the upload is completed or aborted.
    let mut res = res;
    for w in writing {
        let r = w
            .await
            .map_err(join_err)
            .and_then(|r| r.map_err(Error::from));
        if res.is_ok() {
            res = r;
        }
    }
    res
}

impl EncryptedStore {
    /// Encrypt the objects of `inner` with `keys`, binding each object to `binding` (the bucket
    /// name) and its path.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{key::encode_key, object_store::{memory::InMemory, ObjectStoreExt}, ErrorKind};
    /// use gureum_crypto::{keyfile::KeyFile, EncryptedStore, EncryptionLayer};
    /// use std::sync::Arc;
    /// let tmp = tempfile::tempdir()?;
    /// let keys = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?).keys().clone();
    /// let raw = Arc::new(InMemory::new());
    /// EncryptedStore::new(raw.clone(), keys.clone(), "bucket-a").put(&encode_key("x")?, "1".into()).await?;
    /// // Bound to bucket-a: the same bytes read as another bucket fail authentication.
    /// let e = EncryptedStore::new(raw, keys, "bucket-b").get(&encode_key("x")?).await.unwrap_err();
    /// assert_eq!(gureum_core::Error::from(e).kind(), ErrorKind::Integrity);
    /// # Ok(()) }
    /// ```
    pub fn new(inner: Arc<dyn ObjectStore>, keys: Arc<Keys>, binding: impl Into<String>) -> Self {
        EncryptedStore {
            inner,
            keys,
            binding: binding.into(),
            streamed_puts: false,
        }
    }

    /// Write large unconditional puts (from 4 MiB) through the store's multipart upload:
    /// blocks of about 1 MiB are sealed on blocking threads while the blocks before them are
    /// written, instead of sealing the whole object before the write starts. The stored bytes
    /// are the same. Only for stores whose multipart upload commits like an unconditional
    /// put (atomically, one object, same etag and attributes): [`EncryptionLayer`] turns it
    /// on for `file://` (staging file, then rename under the store's lock). Create-only and
    /// if-match puts always take one conditional `put`.
    ///
    /// [`EncryptionLayer`]: crate::EncryptionLayer
    ///
    /// ```
    /// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::key::encode_key;
    /// use gureum_core::object_store::{ObjectStore, ObjectStoreExt};
    /// use gureum_crypto::{keyfile::KeyFile, EncryptedStore, EncryptionLayer};
    /// let tmp = tempfile::tempdir()?;
    /// let keys = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?).keys().clone();
    /// let url = format!("file://{}", tmp.path().join("b").display());
    /// let raw = gureum::open_bucket(&url).await?.object_store();
    /// let store = EncryptedStore::new(raw, keys, "b").with_streamed_puts(true);
    /// let key = encode_key("big.bin")?;
    /// store.put(&key, vec![7u8; 5 << 20].into()).await?;
    /// assert_eq!(store.get(&key).await?.bytes().await?.len(), 5 << 20);
    /// assert!(store.is_streaming_puts());
    /// # Ok(()) }
    /// ```
    pub fn with_streamed_puts(mut self, on: bool) -> Self {
        self.streamed_puts = on;
        self
    }

    /// Whether large unconditional puts stream ([`Self::with_streamed_puts`]).
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::object_store::memory::InMemory;
    /// use gureum_crypto::{keyfile::KeyFile, EncryptedStore, EncryptionLayer};
    /// use std::sync::Arc;
    /// let tmp = tempfile::tempdir()?;
    /// let keys = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?).keys().clone();
    /// assert!(!EncryptedStore::new(Arc::new(InMemory::new()), keys, "b").is_streaming_puts());
    /// # Ok(()) }
    /// ```
    pub fn is_streaming_puts(&self) -> bool {
        self.streamed_puts
    }

    /// The store underneath (holds ciphertext).
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::object_store::memory::InMemory;
    /// use gureum_crypto::{keyfile::KeyFile, EncryptedStore, EncryptionLayer};
    /// use std::sync::Arc;
    /// let tmp = tempfile::tempdir()?;
    /// let keys = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?).keys().clone();
    /// let store = EncryptedStore::new(Arc::new(InMemory::new()), keys, "b");
    /// assert_eq!(store.inner().to_string(), "InMemory");
    /// # Ok(()) }
    /// ```
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    /// A sealed header and the segment keys for a new object at `path`.
    async fn new_object(&self, path: &Path) -> Result<(Vec<u8>, SegmentKeys, WrappedKey)> {
        let (dek, wrapped) = self
            .keys
            .cache
            .for_encrypt(self.keys.provider.as_ref())
            .await?;
        let mut header = Header::new(wrapped.clone())?;
        let keys = SegmentKeys::derive(&dek, &header, &self.binding, path.as_ref())?;
        let bytes = header.seal(&keys)?;
        Ok((bytes, keys, wrapped))
    }

    /// Parse and authenticate the header of the object at `path`.
    async fn open_header(&self, path: &Path, bytes: &[u8]) -> Result<(Header, SegmentKeys)> {
        self.open_header_with(&self.keys, path, bytes).await
    }

    /// [`Self::open_header`] with the data key unwrapped by `keys`.
    async fn open_header_with(
        &self,
        keys: &Keys,
        path: &Path,
        bytes: &[u8],
    ) -> Result<(Header, SegmentKeys)> {
        let header = Header::parse(bytes)?;
        let dek = keys
            .cache
            .for_decrypt(keys.provider.as_ref(), &header.key)
            .await?;
        let seg = SegmentKeys::derive(&dek, &header, &self.binding, path.as_ref())?;
        header.verify(&seg, bytes)?;
        Ok((header, seg))
    }

    /// Read the stored header of `path` (for `gureum encrypt rotate` and tests).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::key::encode_key;
    /// use gureum_core::object_store::{memory::InMemory, ObjectStoreExt};
    /// use gureum_crypto::{keyfile::KeyFile, EncryptedStore, EncryptionLayer};
    /// use std::sync::Arc;
    /// let tmp = tempfile::tempdir()?;
    /// let keys = EncryptionLayer::new(KeyFile::create(tmp.path().join("k"), "city")?).keys().clone();
    /// let store = EncryptedStore::new(Arc::new(InMemory::new()), keys, "b");
    /// store.put(&encode_key("a")?, "x".into()).await?;
    /// let h = store.read_header(&encode_key("a")?).await?;
    /// assert_eq!((h.key.kind.as_str(), h.key.kek_id.as_str(), h.key.version), ("keyfile", "city", 1));
    /// # Ok(()) }
    /// ```
    pub async fn read_header(&self, path: &Path) -> Result<Header> {
        let r = self
            .inner
            .get_opts(
                path,
                GetOptions {
                    range: Some(GetRange::Bounded(0..HEADER_LEN as u64)),
                    ..Default::default()
                },
            )
            .await?;
        let b = r.bytes().await?;
        Header::parse(&b)
    }

    /// Rewrap the data key of the object at `path` with the provider's current KEK, without
    /// re-encrypting its data: the stored segments are written back unchanged behind a new
    /// header. The write is conditional on the object's etag (a concurrent change makes it
    /// `PreconditionFailed`). Returns the old and new wrapped keys, or `None` when the object
    /// is already on the current KEK.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::key::encode_key;
    /// use gureum_core::object_store::{memory::InMemory, ObjectStoreExt};
    /// use gureum_crypto::{keyfile::KeyFile, EncryptedStore, EncryptionLayer};
    /// use std::sync::Arc;
    /// let tmp = tempfile::tempdir()?;
    /// let key = tmp.path().join("k");
    /// KeyFile::create(&key, "city")?;
    /// let raw = Arc::new(InMemory::new());
    /// let v1 = EncryptionLayer::new(KeyFile::open(&key)?).keys().clone();
    /// EncryptedStore::new(raw.clone(), v1, "b").put(&encode_key("a")?, "x".into()).await?;
    /// KeyFile::open(&key)?.add_version()?; // rotate the KEK
    /// let store = EncryptedStore::new(raw, EncryptionLayer::new(KeyFile::open(&key)?).keys().clone(), "b");
    /// let (old, new) = store.rewrap(&encode_key("a")?).await?.expect("was on version 1");
    /// assert_eq!((old.version, new.version), (1, 2));
    /// assert!(store.rewrap(&encode_key("a")?).await?.is_none()); // already current
    /// assert_eq!(&store.get(&encode_key("a")?).await?.bytes().await?[..], b"x");
    /// # Ok(()) }
    /// ```
    pub async fn rewrap(&self, path: &Path) -> Result<Option<(WrappedKey, WrappedKey)>> {
        self.rewrap_from(path, None).await
    }

    /// [`Self::rewrap`], unwrapping the old data key with `old` (the key manager or KEK being
    /// retired, e.g. another KMS key) instead of this store's own provider.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::key::encode_key;
    /// use gureum_core::object_store::{memory::InMemory, ObjectStoreExt};
    /// use gureum_crypto::{keyfile::KeyFile, EncryptedStore, EncryptionLayer};
    /// use std::sync::Arc;
    /// let tmp = tempfile::tempdir()?;
    /// let raw = Arc::new(InMemory::new());
    /// // Objects written under the retiring KEK ...
    /// let old = EncryptionLayer::new(KeyFile::create(tmp.path().join("old.key"), "old")?).keys().clone();
    /// EncryptedStore::new(raw.clone(), old.clone(), "b").put(&encode_key("a")?, "x".into()).await?;
    /// // ... are rewrapped under a new KEK of another key file.
    /// let new = EncryptionLayer::new(KeyFile::create(tmp.path().join("new.key"), "new")?).keys().clone();
    /// let store = EncryptedStore::new(raw, new, "b");
    /// let (_, w) = store.rewrap_from(&encode_key("a")?, Some(&old)).await?.unwrap();
    /// assert_eq!(w.kek_id, "new");
    /// assert_eq!(&store.get(&encode_key("a")?).await?.bytes().await?[..], b"x");
    /// # Ok(()) }
    /// ```
    pub async fn rewrap_from(
        &self,
        path: &Path,
        old: Option<&Keys>,
    ) -> Result<Option<(WrappedKey, WrappedKey)>> {
        let old_keys = old.unwrap_or(&self.keys);
        let current = self.keys.provider.current().await?;
        let r = self.inner.get_opts(path, GetOptions::default()).await?;
        let meta = r.meta.clone();
        let attrs = r.attributes.clone();
        let stored = r.bytes().await?;
        if stored.len() < HEADER_LEN {
            return Err(integrity("encrypted data: shorter than its header"));
        }
        let (mut header, keys) = self
            .open_header_with(old_keys, path, &stored[..HEADER_LEN])
            .await?;
        if !current.is_stale(&header.key) {
            return Ok(None);
        }
        let dek = old_keys
            .cache
            .for_decrypt(old_keys.provider.as_ref(), &header.key)
            .await?;
        let new = self.keys.provider.wrap(&dek).await?;
        let old = std::mem::replace(&mut header.key, new.clone());
        let hb = header.seal(&keys)?;
        let mut out = BytesMut::with_capacity(stored.len());
        out.extend_from_slice(&hb);
        out.extend_from_slice(&stored[HEADER_LEN..]);
        let mut attrs = user_attributes(attrs);
        add_kek_metadata(&mut attrs, &new);
        let mode = match (&meta.e_tag, &meta.version) {
            (None, None) => PutMode::Overwrite,
            (e, v) => PutMode::Update(object_store::UpdateVersion {
                e_tag: e.clone(),
                version: v.clone(),
            }),
        };
        self.inner
            .put_opts(
                path,
                PutPayload::from_bytes(out.freeze()),
                PutOptions {
                    mode,
                    attributes: attrs,
                    ..Default::default()
                },
            )
            .await?;
        Ok(Some((old, new)))
    }

    async fn get_decrypted(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let want = options.range.clone();
        // Whole object: one request, decrypted as it streams.
        let Some(want) = want else {
            let r = self.inner.get_opts(location, options).await?;
            let stored = r.meta.size;
            let plain = plain_size(stored).ok_or_else(|| {
                integrity("encrypted data: its size fits no encrypted object (truncated or not encrypted)")
            })?;
            let GetResult {
                payload,
                meta,
                attributes,
                extensions,
                range,
            } = r;
            let stream = match payload {
                #[cfg(unix)]
                GetResultPayload::File(file, _) => {
                    // A local file: read and decrypt blocks of segments on blocking threads.
                    let file = Arc::new(file);
                    let head = read_file_at(file.clone(), 0, HEADER_LEN).await?;
                    let (_, keys) = self.open_header(location, &head).await?;
                    file_decrypt_stream(
                        file,
                        keys,
                        stored,
                        0..segment_count(plain),
                        0..plain,
                        location.to_string(),
                    )
                }
                payload => {
                    let r = GetResult {
                        payload,
                        meta: meta.clone(),
                        attributes: attributes.clone(),
                        extensions: extensions.clone(),
                        range,
                    };
                    let mut s = r.payload_stream();
                    let mut buf = BytesMut::new();
                    while buf.len() < HEADER_LEN {
                        match s.next().await {
                            Some(b) => buf.extend_from_slice(&b?),
                            None => return Err(integrity("encrypted data: truncated header")),
                        }
                    }
                    let (_, keys) = self.open_header(location, &buf[..HEADER_LEN]).await?;
                    let rest = buf.split_off(HEADER_LEN);
                    decrypt_stream(s.inner, rest, keys, 0, segment_count(plain), 0, plain)
                }
            };
            return Ok(GetResult {
                payload: GetResultPayload::Stream(stream),
                meta: plain_meta(meta),
                range: 0..plain,
                attributes: user_attributes(attributes),
                extensions,
            });
        };
        want.is_valid()
            .map_err(|e| Error::invalid(format!("invalid range: {e}")))?;
        // Ranges: the header first when the range does not start in segment 0 (one request
        // otherwise), then only the segments the range touches, pinned to the same object by
        // its etag.
        let first_seg_only = match &want {
            GetRange::Bounded(r) => r.start < SEGMENT_LEN as u64,
            _ => false,
        };
        let head_end = if first_seg_only {
            let GetRange::Bounded(r) = &want else {
                unreachable!()
            };
            HEADER_LEN as u64
                + (r.end.saturating_sub(1) / SEGMENT_LEN as u64 + 1) * STORED_SEGMENT_LEN as u64
        } else {
            HEADER_LEN as u64
        };
        let first = self
            .inner
            .get_opts(
                location,
                GetOptions {
                    range: Some(GetRange::Bounded(0..head_end)),
                    ..options.clone()
                },
            )
            .await?;
        let meta = first.meta.clone();
        let attributes = user_attributes(first.attributes.clone());
        let extensions = first.extensions.clone();
        let plain = plain_size(meta.size).ok_or_else(|| {
            integrity(
                "encrypted data: its size fits no encrypted object (truncated or not encrypted)",
            )
        })?;
        let range = want
            .as_range(plain)
            .map_err(|e| Error::invalid(format!("invalid range: {e}")))?;
        #[cfg(unix)]
        let first = match first.payload {
            GetResultPayload::File(file, _) => {
                // A local file: the open handle is the object, so header and segments come
                // from it (no second request, no chance of reading another version).
                let file = Arc::new(file);
                let head = read_file_at(file.clone(), 0, HEADER_LEN).await?;
                let (_, keys) = self.open_header(location, &head).await?;
                let payload = if range.is_empty() {
                    futures::stream::empty().boxed()
                } else {
                    let s0 = range.start / SEGMENT_LEN as u64;
                    let s1 = (range.end - 1) / SEGMENT_LEN as u64;
                    file_decrypt_stream(
                        file,
                        keys,
                        meta.size,
                        s0..s1 + 1,
                        range.clone(),
                        location.to_string(),
                    )
                };
                return Ok(GetResult {
                    payload: GetResultPayload::Stream(payload),
                    meta: plain_meta(meta),
                    range,
                    attributes,
                    extensions,
                });
            }
            payload => GetResult { payload, ..first },
        };
        let head = first.bytes().await?;
        if head.len() < HEADER_LEN {
            return Err(integrity("encrypted data: truncated header"));
        }
        let (_, keys) = self.open_header(location, &head[..HEADER_LEN]).await?;
        let nseg = segment_count(plain);
        if range.is_empty() {
            return Ok(GetResult {
                payload: GetResultPayload::Stream(futures::stream::empty().boxed()),
                meta: plain_meta(meta),
                range,
                attributes,
                extensions,
            });
        }
        let s0 = range.start / SEGMENT_LEN as u64;
        let s1 = (range.end - 1) / SEGMENT_LEN as u64;
        let skip = range.start - s0 * SEGMENT_LEN as u64;
        let take = range.end - range.start;
        let cstart = HEADER_LEN as u64 + s0 * STORED_SEGMENT_LEN as u64;
        let cend = (HEADER_LEN as u64 + (s1 + 1) * STORED_SEGMENT_LEN as u64).min(meta.size);
        let stream = if first_seg_only && cend <= head.len() as u64 {
            let body = head.slice(cstart as usize..cend as usize);
            decrypt_stream(
                futures::stream::empty().boxed(),
                BytesMut::from(&body[..]),
                keys,
                s0,
                nseg,
                skip,
                take,
            )
        } else {
            let r = self
                .inner
                .get_opts(
                    location,
                    GetOptions {
                        range: Some(GetRange::Bounded(cstart..cend)),
                        if_match: meta.e_tag.clone(),
                        version: meta.version.clone().or(options.version.clone()),
                        ..Default::default()
                    },
                )
                .await?;
            if r.meta.size != meta.size {
                return Err(Error::new(
                    ErrorKind::PreconditionFailed,
                    "the object changed while it was read",
                ));
            }
            let s = r.into_stream().map(|r| r.map_err(Error::from)).boxed();
            decrypt_stream(s, BytesMut::new(), keys, s0, nseg, skip, take)
        };
        Ok(GetResult {
            payload: GetResultPayload::Stream(stream),
            meta: plain_meta(meta),
            range,
            attributes,
            extensions,
        })
    }

    /// Copy by decrypting and re-encrypting (each object's key is bound to its path, so the
    /// stored bytes cannot simply be copied).
    async fn copy_reencrypt(&self, from: &Path, to: &Path, mode: CopyMode) -> Result<()> {
        let r = self.get_decrypted(from, GetOptions::default()).await?;
        let attrs = r.attributes.clone();
        let size = r.meta.size;
        if size <= COPY_BUFFERED_MAX || mode == CopyMode::Create {
            // Create-only copies are one conditional write, so they stay atomic.
            let data = r.bytes().await?;
            let put_mode = match mode {
                CopyMode::Create => PutMode::Create,
                _ => PutMode::Overwrite,
            };
            self.put_encrypted(
                to,
                PutPayload::from_bytes(data),
                PutOptions {
                    mode: put_mode,
                    attributes: attrs,
                    ..Default::default()
                },
            )
            .await?;
            return Ok(());
        }
        let mut up = self
            .put_multipart_opts(
                to,
                PutMultipartOptions {
                    attributes: attrs,
                    ..Default::default()
                },
            )
            .await?;
        let mut s = r.into_stream();
        let mut pending = BytesMut::new();
        let res: Result<()> = async {
            while let Some(b) = s.next().await {
                pending.extend_from_slice(&b?);
                if pending.len() >= 8 * 1024 * 1024 {
                    up.put_part(PutPayload::from_bytes(pending.split().freeze()))
                        .await?;
                }
            }
            if !pending.is_empty() {
                up.put_part(PutPayload::from_bytes(pending.split().freeze()))
                    .await?;
            }
            up.complete().await?;
            Ok(())
        }
        .await;
        if res.is_err() {
            let _ = up.abort().await;
        }
        res
    }

    async fn put_encrypted(
        &self,
        location: &Path,
        payload: PutPayload,
        mut opts: PutOptions,
    ) -> Result<PutResult> {
        let (header, keys, wrapped) = self.new_object(location).await?;
        let plain: Bytes = payload.into();
        add_kek_metadata(&mut opts.attributes, &wrapped);
        if self.streamed_puts
            && plain.len() >= STREAMED_PUT_MIN
            && opts.mode == PutMode::Overwrite
            && tokio::runtime::Handle::try_current().is_ok()
        {
            return self.put_streamed(location, plain, header, keys, opts).await;
        }
        let stored = if plain.len() > 4 * SEGMENT_LEN {
            tokio::task::spawn_blocking(move || encrypt_all(&header, &keys, &plain))
                .await
                .map_err(join_err)??
        } else {
            encrypt_all(&header, &keys, &plain)?
        };
        Ok(self.inner.put_opts(location, stored, opts).await?)
    }

    /// An unconditional put through the store's multipart upload, sealing while writing
    /// ([`Self::with_streamed_puts`]).
    async fn put_streamed(
        &self,
        location: &Path,
        plain: Bytes,
        header: Vec<u8>,
        keys: SegmentKeys,
        opts: PutOptions,
    ) -> Result<PutResult> {
        let mut up = self
            .inner
            .put_multipart_opts(
                location,
                PutMultipartOptions {
                    tags: opts.tags,
                    attributes: opts.attributes,
                    extensions: opts.extensions,
                },
            )
            .await?;
        let res = match stream_parts(up.as_mut(), plain, header, keys).await {
            Ok(()) => up.complete().await.map_err(Error::from),
            Err(e) => Err(e),
        };
        if res.is_err() {
            let _ = up.abort().await;
        }
        res
    }
}

/// A helper: the payload of a `GetResult` as a stream of gureum results.
struct PayloadStream {
    inner: BoxStream<'static, Result<Bytes>>,
}
impl PayloadStream {
    async fn next(&mut self) -> Option<Result<Bytes>> {
        self.inner.next().await
    }
}
trait IntoPayloadStream {
    fn payload_stream(self) -> PayloadStream;
}
impl IntoPayloadStream for GetResult {
    fn payload_stream(self) -> PayloadStream {
        PayloadStream {
            inner: self.into_stream().map(|r| r.map_err(Error::from)).boxed(),
        }
    }
}

/// Segments read and decrypted per blocking task from a local file (about 1 MiB stored).
const FILE_BLOCK_SEGMENTS: u64 = 16;

/// Run `f` on tokio's blocking pool (on this thread outside a runtime).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    match tokio::runtime::Handle::try_current() {
        Ok(h) => h
            .spawn_blocking(f)
            .await
            .map_err(|e| Error::other(format!("decryption task failed: {e}")))?,
        Err(_) => f(),
    }
}

/// Exactly `len` bytes at `offset` of `file`; fewer is a truncated object.
#[cfg(unix)]
fn read_exact_at(file: &std::fs::File, offset: u64, len: usize) -> Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; len];
    let mut done = 0;
    while done < len {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => return Err(integrity("encrypted data: truncated segment")),
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::from(e)),
        }
    }
    Ok(buf)
}

#[cfg(unix)]
async fn read_file_at(file: Arc<std::fs::File>, offset: u64, len: usize) -> Result<Vec<u8>> {
    blocking(move || read_exact_at(&file, offset, len)).await
}

/// Read segments `segs` (stored bytes from a file of `stored` bytes) and decrypt them; the
/// plaintext of `plain` (absolute plaintext offsets) they hold, as slices of one buffer.
#[cfg(unix)]
fn decrypt_file_block(
    file: &std::fs::File,
    keys: &SegmentKeys,
    stored: u64,
    nseg: u64,
    segs: Range<u64>,
    plain: Range<u64>,
) -> Result<Vec<Bytes>> {
    let off = HEADER_LEN as u64 + segs.start * STORED_SEGMENT_LEN as u64;
    let end = (HEADER_LEN as u64 + segs.end * STORED_SEGMENT_LEN as u64).min(stored);
    if end <= off {
        return Err(integrity("encrypted data: truncated segment"));
    }
    let mut buf = read_exact_at(file, off, (end - off) as usize)?;
    let mut opened = Vec::with_capacity((segs.end - segs.start) as usize);
    for (k, i) in segs.clone().enumerate() {
        let last = i + 1 == nseg;
        let so = k * STORED_SEGMENT_LEN;
        let se = (so + STORED_SEGMENT_LEN).min(buf.len());
        if se < so + TAG_LEN || (!last && se - so != STORED_SEGMENT_LEN) {
            return Err(integrity("encrypted data: truncated segment"));
        }
        let n = keys.open_segment(i, last, &mut buf[so..se])?;
        opened.push((i, so, n as u64));
    }
    let buf = Bytes::from(buf);
    let mut out = Vec::with_capacity(opened.len());
    for (i, so, n) in opened {
        let base = i * SEGMENT_LEN as u64;
        let lo = plain.start.saturating_sub(base).min(n);
        let hi = plain.end.saturating_sub(base).min(n);
        if hi > lo {
            out.push(buf.slice(so + lo as usize..so + hi as usize));
        }
    }
    Ok(out)
}

/// Decrypt segments `segs` of a local file of `stored` bytes (header already verified),
/// yielding the plaintext range `plain`: blocks of [`FILE_BLOCK_SEGMENTS`] segments are read
/// and decrypted on blocking threads, a few blocks ahead of the reader (memory: that many
/// blocks), instead of object_store's stream of 8 KiB reads.
#[cfg(unix)]
fn file_decrypt_stream(
    file: Arc<std::fs::File>,
    keys: SegmentKeys,
    stored: u64,
    segs: Range<u64>,
    plain: Range<u64>,
    path: String,
) -> BoxStream<'static, object_store::Result<Bytes>> {
    use futures::TryStreamExt;
    let nseg = plain_size(stored).map(segment_count).unwrap_or(0);
    let keys = Arc::new(keys);
    let ahead = std::thread::available_parallelism()
        .map(|p| p.get())
        .unwrap_or(1)
        .clamp(2, 4);
    let blocks: Vec<Range<u64>> = (segs.start..segs.end)
        .step_by(FILE_BLOCK_SEGMENTS as usize)
        .map(|a| a..(a + FILE_BLOCK_SEGMENTS).min(segs.end))
        .collect();
    futures::stream::iter(blocks)
        .map(move |b| {
            let (file, keys, plain, path) =
                (file.clone(), keys.clone(), plain.clone(), path.clone());
            async move {
                blocking(move || decrypt_file_block(&file, &keys, stored, nseg, b, plain))
                    .await
                    .map_err(|e| os_err(e, &path))
            }
        })
        .buffered(ahead)
        .map_ok(|v| futures::stream::iter(v.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
}

struct DecryptState {
    inner: BoxStream<'static, Result<Bytes>>,
    buf: BytesMut,
    keys: SegmentKeys,
    seg: u64,
    nseg: u64,
    skip: u64,
    left: u64,
    done: bool,
    /// An empty object: its one (empty) segment is still authenticated, so an object cut
    /// down to its header and one tag is not taken for an empty one.
    check_empty: bool,
}

/// Decrypt segments `first..` of an object with `nseg` segments from `inner` (stored bytes
/// starting at segment `first`, some already in `buf`), dropping the first `skip` plaintext
/// bytes and ending after `take` bytes. Memory: one segment plus one chunk of `inner`.
fn decrypt_stream(
    inner: BoxStream<'static, Result<Bytes>>,
    buf: BytesMut,
    keys: SegmentKeys,
    first: u64,
    nseg: u64,
    skip: u64,
    take: u64,
) -> BoxStream<'static, object_store::Result<Bytes>> {
    let st = DecryptState {
        inner,
        buf,
        keys,
        seg: first,
        nseg,
        skip,
        left: take,
        done: false,
        check_empty: take == 0 && first == 0 && nseg == 1,
    };
    futures::stream::try_unfold(st, |mut st| async move {
        loop {
            if st.done || (st.left == 0 && !st.check_empty) {
                return Ok(None);
            }
            st.check_empty = false;
            let last = st.seg + 1 == st.nseg;
            // A full segment, or the last one (whatever is left when the input ends).
            while st.buf.len() < STORED_SEGMENT_LEN {
                match st.inner.next().await {
                    Some(b) => st.buf.extend_from_slice(&b.map_err(|e| os_err(e, ""))?),
                    None => break,
                }
            }
            let n = if last {
                st.buf.len()
            } else {
                STORED_SEGMENT_LEN
            };
            if st.buf.len() < n || n < TAG_LEN || (last && n > STORED_SEGMENT_LEN) {
                return Err(os_err(integrity("encrypted data: truncated segment"), ""));
            }
            let mut seg = st.buf.split_to(n);
            let len = st
                .keys
                .open_segment(st.seg, last, &mut seg[..])
                .map_err(|e| os_err(e, ""))?;
            seg.truncate(len);
            st.seg += 1;
            if st.seg >= st.nseg {
                st.done = true;
            }
            let mut plain = seg.freeze();
            if st.skip > 0 {
                let s = (st.skip as usize).min(plain.len());
                plain = plain.slice(s..);
                st.skip -= s as u64;
            }
            if plain.len() as u64 > st.left {
                plain = plain.slice(..st.left as usize);
            }
            st.left -= plain.len() as u64;
            if !plain.is_empty() {
                return Ok(Some((plain, st)));
            }
        }
    })
    .boxed()
}

#[async_trait]
impl ObjectStore for EncryptedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.put_encrypted(location, payload, opts)
            .await
            .map_err(|e| os_err(e, location.as_ref()))
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        mut opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let (header, keys, wrapped) = self
            .new_object(location)
            .await
            .map_err(|e| os_err(e, location.as_ref()))?;
        add_kek_metadata(&mut opts.attributes, &wrapped);
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(EncryptingUpload {
            inner,
            keys: Arc::new(keys),
            out: BytesMut::from(&header[..]),
            plain: BytesMut::new(),
            seg: 0,
            path: location.to_string(),
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        if options.head {
            let r = self.inner.get_opts(location, options).await?;
            if plain_size(r.meta.size).is_none() {
                return Err(os_err(
                    integrity("encrypted data: its size fits no encrypted object (truncated or not encrypted)"),
                    location.as_ref(),
                ));
            }
            let meta = plain_meta(r.meta);
            return Ok(GetResult {
                payload: GetResultPayload::Stream(futures::stream::empty().boxed()),
                range: 0..meta.size,
                meta,
                attributes: user_attributes(r.attributes),
                extensions: r.extensions,
            });
        }
        // A range read retries (a few times) when the object changed between its requests.
        let mut tries = 0;
        loop {
            match self.get_decrypted(location, options.clone()).await {
                Err(e)
                    if e.kind() == ErrorKind::PreconditionFailed
                        && options.range.is_some()
                        && options.if_match.is_none()
                        && tries < 3 =>
                {
                    tries += 1;
                }
                r => return r.map_err(|e| os_err(e, location.as_ref())),
            }
        }
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix).map(|r| r.map(plain_meta)).boxed()
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner
            .list_with_offset(prefix, offset)
            .map(|r| r.map(plain_meta))
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let mut r = self.inner.list_with_delimiter(prefix).await?;
        r.objects = r.objects.into_iter().map(plain_meta).collect();
        Ok(r)
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.copy_reencrypt(from, to, options.mode)
            .await
            .map_err(|e| os_err(e, to.as_ref()))
    }
}

/// A multipart upload that encrypts as it goes: plaintext is cut into segments, the last
/// segment is held back until `complete` (it is sealed as the last one), and the store
/// underneath receives parts of at least 5 MiB (except the last).
struct EncryptingUpload {
    inner: Box<dyn MultipartUpload>,
    keys: Arc<SegmentKeys>,
    /// Stored bytes not yet sent as a part.
    out: BytesMut,
    /// Plaintext not yet sealed (at most one segment after each call).
    plain: BytesMut,
    seg: u64,
    path: String,
}

impl fmt::Debug for EncryptingUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptingUpload")
            .field("path", &self.path)
            .field("segments", &self.seg)
            .finish()
    }
}

impl EncryptingUpload {
    /// Seal every full segment that is certainly not the last (more data follows it).
    fn seal_ready(&mut self) -> Result<()> {
        while self.plain.len() > SEGMENT_LEN {
            let mut seg = Vec::with_capacity(STORED_SEGMENT_LEN);
            seg.extend_from_slice(&self.plain.split_to(SEGMENT_LEN));
            self.keys.seal_segment(self.seg, false, &mut seg)?;
            self.seg += 1;
            self.out.extend_from_slice(&seg);
        }
        Ok(())
    }
}

#[async_trait]
impl MultipartUpload for EncryptingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        for chunk in data.iter() {
            self.plain.extend_from_slice(chunk);
        }
        if let Err(e) = self.seal_ready() {
            let e = os_err(e, &self.path);
            return Box::pin(async move { Err(e) });
        }
        if self.out.len() >= MIN_PART {
            let part = self.out.split().freeze();
            return self.inner.put_part(PutPayload::from_bytes(part));
        }
        Box::pin(async { Ok(()) })
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let mut seg = self.plain.split().to_vec();
        self.keys
            .seal_segment(self.seg, true, &mut seg)
            .map_err(|e| os_err(e, &self.path))?;
        self.seg += 1;
        self.out.extend_from_slice(&seg);
        let part = self.out.split().freeze();
        self.inner.put_part(PutPayload::from_bytes(part)).await?;
        self.inner.complete().await
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        self.plain.clear();
        self.out.clear();
        self.inner.abort().await
    }
}

/// The stored range of plaintext `range` (for tests and tools).
///
/// ```
/// use gureum_crypto::{format::{HEADER_LEN, STORED_SEGMENT_LEN}, store::stored_range};
/// // A read inside the first segment fetches the header's end to the first segment's end.
/// assert_eq!(stored_range(10..20), HEADER_LEN as u64..(HEADER_LEN + STORED_SEGMENT_LEN) as u64);
/// ```
pub fn stored_range(range: Range<u64>) -> Range<u64> {
    let s0 = range.start / SEGMENT_LEN as u64;
    let s1 = range.end.saturating_sub(1) / SEGMENT_LEN as u64;
    HEADER_LEN as u64 + s0 * STORED_SEGMENT_LEN as u64
        ..HEADER_LEN as u64 + (s1 + 1) * STORED_SEGMENT_LEN as u64
}
