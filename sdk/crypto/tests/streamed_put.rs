//! The streamed put of large objects on file:// (blocks sealed while earlier blocks are
//! written through the store's multipart upload): round trips at every size boundary, the
//! same stored format as the buffered put, only ciphertext in the files, conditional puts
//! keep their exact semantics (they never stream), a failed streamed put leaves nothing
//! behind, and tampering with a streamed object is detected.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use gureum::layers::BucketLayerExt;
use gureum::object_store::path::Path;
use gureum::object_store::{
    self, memory::InMemory, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload,
    PutResult, UpdateVersion, UploadPart,
};
use gureum::{Bucket, ByteRange, ErrorKind};
use gureum_crypto::format::{stored_size, HEADER_LEN, SEGMENT_LEN};
use gureum_crypto::keyfile::KeyFile;
use gureum_crypto::{EncryptedStore, EncryptionLayer, Keys};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const MIB: usize = 1024 * 1024;
/// Segments per sealed block of a put (the store's `PUT_BLOCK_SEGMENTS`).
const BLOCK: usize = 16 * SEGMENT_LEN;
/// Smallest object that streams (the store's `STREAMED_PUT_MIN`).
const STREAM_MIN: usize = 4 * MIB;

fn pattern(n: usize, seed: u8) -> Bytes {
    (0..n)
        .map(|i| (i as u32).wrapping_mul(2654435761).to_be_bytes()[1] ^ seed)
        .collect::<Vec<u8>>()
        .into()
}

struct Fixture {
    dir: tempfile::TempDir,
    layer: EncryptionLayer,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("city.key");
    KeyFile::create(&key, "seoul-records").unwrap();
    let layer = EncryptionLayer::new(KeyFile::open(&key).unwrap());
    Fixture { dir, layer }
}

impl Fixture {
    fn bucket_dir(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join("storage").join(name)
    }
    async fn raw(&self, name: &str) -> Bucket {
        let d = self.bucket_dir(name);
        std::fs::create_dir_all(&d).unwrap();
        gureum::open_bucket(&format!("file://{}", d.display()))
            .await
            .unwrap()
    }
    fn keys(&self) -> Arc<Keys> {
        self.layer.keys().clone()
    }
}

/// Counts the writes that reach the store underneath and can fail the n-th part (from 0) of
/// every multipart upload.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn ObjectStore>,
    puts: AtomicUsize,
    multiparts: AtomicUsize,
    fail_part: Option<usize>,
}

impl Counting {
    fn new(inner: Arc<dyn ObjectStore>, fail_part: Option<usize>) -> Arc<Self> {
        Arc::new(Counting {
            inner,
            puts: AtomicUsize::new(0),
            multiparts: AtomicUsize::new(0),
            fail_part,
        })
    }
    fn counts(&self) -> (usize, usize) {
        (
            self.puts.load(Ordering::SeqCst),
            self.multiparts.load(Ordering::SeqCst),
        )
    }
}

impl std::fmt::Display for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[derive(Debug)]
struct CountingUpload {
    inner: Box<dyn MultipartUpload>,
    parts: usize,
    fail_part: Option<usize>,
}

#[async_trait]
impl MultipartUpload for CountingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let n = self.parts;
        self.parts += 1;
        if Some(n) == self.fail_part {
            return Box::pin(async {
                Err(object_store::Error::Generic {
                    store: "Counting",
                    source: "injected part failure".into(),
                })
            });
        }
        self.inner.put_part(data)
    }
    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.inner.complete().await
    }
    async fn abort(&mut self) -> object_store::Result<()> {
        self.inner.abort().await
    }
}

#[async_trait]
impl ObjectStore for Counting {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.puts.fetch_add(1, Ordering::SeqCst);
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.multiparts.fetch_add(1, Ordering::SeqCst);
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(CountingUpload {
            inner,
            parts: 0,
            fail_part: self.fail_part,
        }))
    }
    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

fn key(k: &str) -> Path {
    gureum::key::encode_key(k).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_layer_streams_puts_on_file_only() {
    let f = fixture();
    let file = f.raw("on").await.layer(f.layer.clone());
    assert!(format!("{:?}", file.object_store()).contains("streamed_puts: true"));
    let mem = gureum::open_bucket(&format!("mem://streamed-{}", uuid::Uuid::new_v4().simple()))
        .await
        .unwrap()
        .layer(f.layer.clone());
    assert!(format!("{:?}", mem.object_store()).contains("streamed_puts: false"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sizes_round_trip_and_files_hold_only_ciphertext() {
    let f = fixture();
    let b = f.raw("sizes").await.layer(f.layer.clone());
    let sizes = [
        0,
        1,
        SEGMENT_LEN - 1,
        SEGMENT_LEN,
        SEGMENT_LEN + 1,
        BLOCK - 1,
        BLOCK,
        BLOCK + 1,
        STREAM_MIN - 1,
        STREAM_MIN,
        STREAM_MIN + 1,
        STREAM_MIN + BLOCK,
        9 * MIB + 3,
    ];
    for (i, &n) in sizes.iter().enumerate() {
        let name = format!("obj-{n}");
        let data = pattern(n, i as u8);
        b.put(&name, data.clone()).await.unwrap();
        let got = b.get(&name).await.unwrap();
        assert_eq!(got.len(), n, "size {n}");
        assert!(got == data, "size {n}: round trip");
        assert_eq!(b.head(&name).await.unwrap().size, n as u64, "size {n}");
        // What a plain file reader sees: the stored format, not the plaintext.
        let raw = std::fs::read(f.bucket_dir("sizes").join(&name)).unwrap();
        assert_eq!(raw.len() as u64, stored_size(n as u64), "size {n}");
        assert!(raw.starts_with(b"GRMCRYPT"), "size {n}");
        for off in [0usize, SEGMENT_LEN + 7, BLOCK + 100, STREAM_MIN + 9] {
            if off + 64 <= n {
                let probe = &data[off..off + 64];
                assert!(
                    !raw.windows(64).any(|w| w == probe),
                    "size {n}: plaintext at {off} found in the file"
                );
            }
        }
        if n > 2 * BLOCK {
            // A range across a block boundary.
            let r = b
                .get_range(
                    &name,
                    ByteRange::Bounded(BLOCK as u64 - 10..BLOCK as u64 + 10),
                )
                .await
                .unwrap();
            assert_eq!(&r[..], &data[BLOCK - 10..BLOCK + 10]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_objects_read_through_the_generic_path_and_tamper_is_detected() {
    let f = fixture();
    let raw = f.raw("generic").await;
    let counting = Counting::new(raw.object_store(), None);
    let store = EncryptedStore::new(counting.clone(), f.keys(), "generic").with_streamed_puts(true);
    let data = pattern(5 * MIB + 17, 9);
    store.put(&key("o"), data.clone().into()).await.unwrap();
    assert_eq!(counting.counts(), (0, 1), "one multipart upload, no put");
    // The stored bytes, moved to a memory store, decrypt through the stream path (the same
    // format whichever path wrote them).
    let stored = raw.get("o").await.unwrap();
    let mem = Arc::new(InMemory::new());
    mem.put(&key("o"), stored.clone().into()).await.unwrap();
    let generic = EncryptedStore::new(mem.clone(), f.keys(), "generic");
    let back = generic.get(&key("o")).await.unwrap().bytes().await.unwrap();
    assert!(back == data);
    // A flipped byte in the middle, and a truncated object: Integrity, never garbage.
    let mut bad = stored.to_vec();
    bad[HEADER_LEN + 3 * BLOCK + 5] ^= 1;
    raw.put("o", bad).await.unwrap();
    let r = store.get(&key("o")).await.unwrap().bytes().await;
    assert_eq!(
        gureum::Error::from(r.unwrap_err()).kind(),
        ErrorKind::Integrity
    );
    raw.put("o", stored.slice(..stored.len() - BLOCK))
        .await
        .unwrap();
    let r = match store.get(&key("o")).await {
        Ok(r) => r.bytes().await.map(|_| ()),
        Err(e) => Err(e),
    };
    assert_eq!(
        gureum::Error::from(r.unwrap_err()).kind(),
        ErrorKind::Integrity
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_puts_never_stream_and_keep_their_semantics() {
    let f = fixture();
    let raw = f.raw("cond").await;
    let counting = Counting::new(raw.object_store(), None);
    let store = EncryptedStore::new(counting.clone(), f.keys(), "cond").with_streamed_puts(true);
    let big = pattern(STREAM_MIN + 5, 1);
    let create = PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    };
    // Create-only of a new key: one conditional put.
    let first = store
        .put_opts(&key("c"), big.clone().into(), create.clone())
        .await
        .unwrap();
    assert_eq!(counting.counts(), (1, 0));
    // Create-only over an existing object: AlreadyExists, object unchanged.
    let other = pattern(STREAM_MIN + 5, 2);
    let e = store
        .put_opts(&key("c"), other.clone().into(), create)
        .await
        .unwrap_err();
    assert!(
        matches!(e, object_store::Error::AlreadyExists { .. }),
        "{e:?}"
    );
    assert!(store.get(&key("c")).await.unwrap().bytes().await.unwrap() == big);
    // If-match with a stale etag: Precondition, object unchanged.
    let stale = PutOptions {
        mode: PutMode::Update(UpdateVersion {
            e_tag: Some("1-2-3".into()),
            version: None,
        }),
        ..Default::default()
    };
    let e = store
        .put_opts(&key("c"), other.clone().into(), stale)
        .await
        .unwrap_err();
    assert!(
        matches!(e, object_store::Error::Precondition { .. }),
        "{e:?}"
    );
    assert!(store.get(&key("c")).await.unwrap().bytes().await.unwrap() == big);
    // If-match with the current etag: written.
    let current = PutOptions {
        mode: PutMode::Update(UpdateVersion {
            e_tag: first.e_tag.clone(),
            version: None,
        }),
        ..Default::default()
    };
    let second = store
        .put_opts(&key("c"), other.clone().into(), current.clone())
        .await
        .unwrap();
    assert!(store.get(&key("c")).await.unwrap().bytes().await.unwrap() == other);
    // The etag moved on: the same if-match now fails.
    assert_ne!(second.e_tag, first.e_tag);
    assert!(store
        .put_opts(&key("c"), big.clone().into(), current)
        .await
        .is_err());
    assert_eq!(counting.counts(), (5, 0), "conditional puts never stream");
    // An unconditional large put streams; its etag is the one head reports; small puts don't.
    let r = store.put(&key("c"), big.clone().into()).await.unwrap();
    assert_eq!(counting.counts(), (5, 1));
    assert_eq!(store.head(&key("c")).await.unwrap().e_tag, r.e_tag);
    store
        .put(&key("s"), pattern(STREAM_MIN - 1, 3).into())
        .await
        .unwrap();
    assert_eq!(counting.counts(), (6, 1));
    // Attributes written by a streamed put read back (minus the layer's own metadata).
    let opts = PutOptions {
        attributes: [(
            object_store::Attribute::ContentType,
            object_store::AttributeValue::from("application/x-test"),
        )]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    store
        .put_opts(&key("t"), big.clone().into(), opts)
        .await
        .unwrap();
    assert_eq!(counting.counts(), (6, 2));
    let got = store.get(&key("t")).await.unwrap();
    assert_eq!(
        got.attributes
            .get(&object_store::Attribute::ContentType)
            .map(|v| v.as_ref()),
        Some("application/x-test")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_streamed_put_leaves_the_old_object_and_no_staging() {
    let f = fixture();
    let raw = f.raw("fail").await;
    let old = pattern(STREAM_MIN + 1, 4);
    let plain_store = EncryptedStore::new(raw.object_store(), f.keys(), "fail");
    plain_store
        .put(&key("o"), old.clone().into())
        .await
        .unwrap();
    // The third part fails: the upload is aborted.
    let counting = Counting::new(raw.object_store(), Some(2));
    let store = EncryptedStore::new(counting.clone(), f.keys(), "fail").with_streamed_puts(true);
    let e = store
        .put(&key("o"), pattern(8 * MIB, 5).into())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("injected part failure"), "{e}");
    assert_eq!(counting.counts(), (0, 1));
    assert!(store.get(&key("o")).await.unwrap().bytes().await.unwrap() == old);
    let e = store
        .put(&key("new"), pattern(8 * MIB, 6).into())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("injected part failure"), "{e}");
    assert_eq!(counting.counts(), (0, 2));
    assert!(matches!(
        store.head(&key("new")).await.unwrap_err(),
        object_store::Error::NotFound { .. }
    ));
    let names: Vec<String> = raw
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(names, ["o"]);
    // No staging file is left behind in the store's hidden directory.
    let staging = f.bucket_dir("fail").join(".gureum-meta").join("staging");
    let left = std::fs::read_dir(&staging).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "staging files left in {}", staging.display());
}
