//! The migration engine against the embedded backends (mem://, file://) and wrapper stores
//! that corrupt data or stall listings.

use futures::stream::BoxStream;
use futures::StreamExt;
use gureum_core::object_store::memory::InMemory;
use gureum_core::object_store::path::Path;
use gureum_core::object_store::{
    self, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions as OsPutOptions, PutPayload, PutResult,
};
use gureum_core::storage::{Bucket, PutOptions};
use gureum_core::ErrorKind;
use gureum_local::storage::{mem_capabilities, open_file, open_mem};
use gureum_sync::{
    check, sync, Compare, Endpoint, Filter, Hooks, Readback, SyncOptions, UploadJanitor,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

fn uniq(p: &str) -> String {
    format!("{p}-{}", std::process::id())
        + &format!(
            "-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        )
}

const KEYS: &[&str] = &[
    "민원/2026/c-1041.json",
    "a b/c+d%20e#f.txt",
    "emoji/🙂.bin",
    "nfc/é.txt",
    "nfd/e\u{301}.txt",
    "plain.txt",
    "z/deep/deeper/x",
];

async fn fill(b: &Bucket, prefix: &str) {
    for (i, k) in KEYS.iter().enumerate() {
        let opts = PutOptions::default()
            .content_type(format!("application/x-test-{i}"))
            .metadata("origin", format!("부서 {i}"))
            .metadata("n", i.to_string());
        b.put_with(
            &format!("{prefix}{k}"),
            format!("body of {k}").into_bytes(),
            &opts,
        )
        .await
        .unwrap();
    }
}

fn opts() -> SyncOptions {
    SyncOptions {
        transfers: 4,
        part_size: 1024 * 1024,
        multipart_threshold: 1024 * 1024,
        ..Default::default()
    }
}

#[tokio::test]
async fn copies_names_metadata_and_content_type_exactly_then_skips() {
    let src = open_mem(&uniq("src"));
    let dir = tempfile::tempdir().unwrap();
    let dst = open_file(dir.path().join("dst")).unwrap();
    fill(&src, "in/").await;
    src.put("outside.txt", "not under the prefix")
        .await
        .unwrap();
    let (s, d) = (
        Endpoint::new(src.clone(), "in"),
        Endpoint::new(dst.clone(), "out/"),
    );
    let r = sync(&s, &d, &opts(), &Hooks::default()).await.unwrap();
    assert_eq!(
        (r.copied, r.failed_count, r.skipped),
        (KEYS.len() as u64, 0, 0),
        "{r:?}"
    );
    for (i, k) in KEYS.iter().enumerate() {
        let (info, body) = dst.get_with_info(&format!("out/{k}")).await.unwrap();
        assert_eq!(&body[..], format!("body of {k}").as_bytes());
        assert_eq!(
            info.content_type.as_deref(),
            Some(format!("application/x-test-{i}").as_str())
        );
        let want: BTreeMap<String, String> = [
            ("origin".to_string(), format!("부서 {i}")),
            ("n".to_string(), i.to_string()),
        ]
        .into();
        assert_eq!(info.metadata, want, "{k}");
    }
    let keys: Vec<String> = dst
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert_eq!(keys.len(), KEYS.len(), "{keys:?}");
    // Nothing changed: everything skipped, nothing copied.
    let r = sync(&s, &d, &opts(), &Hooks::default()).await.unwrap();
    assert_eq!((r.copied, r.skipped), (0, KEYS.len() as u64));
    // A changed source object (new size) is copied again.
    src.put("in/plain.txt", "changed, longer").await.unwrap();
    let r = sync(&s, &d, &opts(), &Hooks::default()).await.unwrap();
    assert_eq!((r.copied, r.skipped), (1, KEYS.len() as u64 - 1));
    assert_eq!(
        &dst.get("out/plain.txt").await.unwrap()[..],
        b"changed, longer"
    );
    // Back to mem, and `check` agrees the three trees are the same.
    let back = open_mem(&uniq("back"));
    let b = Endpoint::new(back.clone(), "");
    let r = sync(&d, &b, &opts(), &Hooks::default()).await.unwrap();
    assert_eq!(r.copied, KEYS.len() as u64);
    let c = check(&s, &b, &opts(), &Hooks::default()).await.unwrap();
    assert_eq!(
        (c.matched, c.differences_count, c.failed_count),
        (KEYS.len() as u64, 0, 0)
    );
    let info = back.head("emoji/🙂.bin").await.unwrap();
    assert_eq!(
        info.metadata.get("origin").map(String::as_str),
        Some("부서 2")
    );
}

#[tokio::test]
async fn compare_modes_delete_dry_run_and_filters() {
    let src = open_mem(&uniq("cmp-src"));
    let dst = open_mem(&uniq("cmp-dst"));
    for k in ["a.txt", "b.jpg", "keep/c.tmp", "d.txt"] {
        src.put(k, format!("v1 {k}")).await.unwrap();
    }
    let (s, d) = (
        Endpoint::new(src.clone(), ""),
        Endpoint::new(dst.clone(), ""),
    );
    // Filters: only *.txt and *.jpg, never *.tmp.
    let filtered = SyncOptions {
        filter: Filter::new(&["*.txt".into(), "*.jpg".into()], &["b.*".into()]).unwrap(),
        ..opts()
    };
    let r = sync(&s, &d, &filtered, &Hooks::default()).await.unwrap();
    assert_eq!(r.copied, 2, "{r:?}");
    assert!(!dst.exists("b.jpg").await.unwrap() && !dst.exists("keep/c.tmp").await.unwrap());
    sync(&s, &d, &opts(), &Hooks::default()).await.unwrap();

    // Same size, newer destination, different content: size+mtime and size-only skip it,
    // --checksum copies it, --ignore-existing never touches it.
    dst.put("a.txt", "v2 a.txt").await.unwrap();
    for (cmp, ign, copied) in [
        (Compare::SizeMtime, false, 0),
        (Compare::SizeOnly, false, 0),
        (Compare::Checksum, true, 0),
        (Compare::Checksum, false, 1),
    ] {
        let o = SyncOptions {
            compare: cmp,
            ignore_existing: ign,
            ..opts()
        };
        let r = sync(&s, &d, &o, &Hooks::default()).await.unwrap();
        assert_eq!(r.copied, copied, "{cmp:?} ignore_existing={ign}");
    }
    assert_eq!(&dst.get("a.txt").await.unwrap()[..], b"v1 a.txt");

    // Extra destination objects: dry run lists them, --delete removes them, excluded keys stay.
    dst.put("extra.txt", "x").await.unwrap();
    dst.put("extra.keep", "x").await.unwrap();
    let del = |dry| SyncOptions {
        delete: true,
        dry_run: dry,
        filter: Filter::new(&[], &["*.keep".into()]).unwrap(),
        ..opts()
    };
    let r = sync(&s, &d, &del(true), &Hooks::default()).await.unwrap();
    assert_eq!(r.deleted, 1);
    assert!(dst.exists("extra.txt").await.unwrap());
    let r = sync(&s, &d, &del(false), &Hooks::default()).await.unwrap();
    assert_eq!((r.deleted, r.failed_count), (1, 0));
    assert!(!dst.exists("extra.txt").await.unwrap());
    assert!(dst.exists("extra.keep").await.unwrap());

    // check: content, size, missing and extra keys are all reported.
    src.put("d.txt", "v9 d.txt").await.unwrap();
    src.put("new.txt", "n").await.unwrap();
    dst.put("a.txt", "other size").await.unwrap();
    let c = check(&s, &d, &opts(), &Hooks::default()).await.unwrap();
    let mut got: Vec<(String, String)> = c
        .differences
        .iter()
        .map(|x| (x.key.clone(), x.reason.clone()))
        .collect();
    got.sort();
    let want: Vec<(String, String)> = [
        ("a.txt", "size"),
        ("d.txt", "content"),
        ("extra.keep", "only-on-destination"),
        ("new.txt", "missing-on-destination"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn large_objects_go_multipart_and_same_store_copies_server_side() {
    let src = open_mem(&uniq("mp-src"));
    let dir = tempfile::tempdir().unwrap();
    let dst = open_file(dir.path().join("mp")).unwrap();
    let big: Vec<u8> = (0..(3 * 1024 * 1024 + 12345))
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    let o = PutOptions::default()
        .content_type("video/mp4")
        .metadata("shot-in", "서울 중구");
    src.put_with("v/big.mp4", big.clone(), &o).await.unwrap();
    let r = sync(
        &Endpoint::new(src.clone(), ""),
        &Endpoint::new(dst.clone(), ""),
        &opts(),
        &Hooks::default(),
    )
    .await
    .unwrap();
    assert_eq!((r.copied, r.bytes), (1, big.len() as u64));
    let (info, body) = dst.get_with_info("v/big.mp4").await.unwrap();
    assert!(body[..] == big[..]);
    assert_eq!(info.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(
        info.metadata.get("shot-in").map(String::as_str),
        Some("서울 중구")
    );

    // Same bucket, other prefix: server-side copy.
    let r = sync(
        &Endpoint::new(dst.clone(), "v"),
        &Endpoint::new(dst.clone(), "copy"),
        &opts(),
        &Hooks::default(),
    )
    .await
    .unwrap();
    assert_eq!((r.copied, r.server_side), (1, 1));
    assert!(dst.get("copy/big.mp4").await.unwrap()[..] == big[..]);
    // Overlapping prefixes of one store are refused.
    let e = sync(
        &Endpoint::new(dst.clone(), "v"),
        &Endpoint::new(dst.clone(), "v/sub"),
        &opts(),
        &Hooks::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

/// A store that flips one byte of every object written to keys containing "bad".
#[derive(Debug)]
struct Corrupting(Arc<InMemory>);

impl std::fmt::Display for Corrupting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Corrupting")
    }
}

#[gureum_core::async_trait]
impl ObjectStore for Corrupting {
    async fn put_opts(
        &self,
        p: &Path,
        payload: PutPayload,
        o: OsPutOptions,
    ) -> object_store::Result<PutResult> {
        let mut v: Vec<u8> = bytes_of(&payload);
        if p.as_ref().contains("bad") && !v.is_empty() {
            v[0] ^= 0xff;
        }
        self.0.put_opts(p, PutPayload::from(v), o).await
    }
    async fn put_multipart_opts(
        &self,
        p: &Path,
        o: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.0.put_multipart_opts(p, o).await
    }
    async fn get_opts(&self, p: &Path, o: GetOptions) -> object_store::Result<GetResult> {
        self.0.get_opts(p, o).await
    }
    fn delete_stream(
        &self,
        l: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.0.delete_stream(l)
    }
    fn list(&self, p: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.0.list(p)
    }
    async fn list_with_delimiter(&self, p: Option<&Path>) -> object_store::Result<ListResult> {
        self.0.list_with_delimiter(p).await
    }
    async fn copy_opts(
        &self,
        f: &Path,
        t: &Path,
        o: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.0.copy_opts(f, t, o).await
    }
}

fn bytes_of(p: &PutPayload) -> Vec<u8> {
    p.iter().flat_map(|b| b.iter().copied()).collect()
}

#[tokio::test]
async fn corruption_is_retried_then_an_integrity_failure_and_the_rest_goes_on() {
    let src = open_mem(&uniq("bad-src"));
    for k in ["good/1", "bad/2", "good/3"] {
        src.put(k, format!("content {k}")).await.unwrap();
    }
    let dst = Bucket::new("corrupt", Arc::new(Corrupting(Arc::new(InMemory::new()))))
        .with_capabilities(mem_capabilities());
    let o = SyncOptions {
        retries: 1,
        delete: true,
        ..opts()
    };
    dst.put("stale", "x").await.unwrap();
    let r = sync(
        &Endpoint::new(src, ""),
        &Endpoint::new(dst.clone(), ""),
        &o,
        &Hooks::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.copied, r.failed_count, r.integrity_failures),
        (2, 1, 1),
        "{r:?}"
    );
    assert_eq!(r.failed[0].key, "bad/2");
    assert_eq!(r.failed[0].kind, "integrity");
    // A failure blocks --delete.
    assert!(r.deletions_skipped && dst.exists("stale").await.unwrap());
}

/// A store whose listing stops after `pause_after` objects until `gate` has an object:
/// the run can only finish if transfers start before the listing ends.
#[derive(Debug)]
struct StallingList {
    inner: Arc<InMemory>,
    gate: Arc<InMemory>,
    pause_after: usize,
}

impl std::fmt::Display for StallingList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StallingList")
    }
}

#[gureum_core::async_trait]
impl ObjectStore for StallingList {
    async fn put_opts(
        &self,
        p: &Path,
        payload: PutPayload,
        o: OsPutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(p, payload, o).await
    }
    async fn put_multipart_opts(
        &self,
        p: &Path,
        o: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(p, o).await
    }
    async fn get_opts(&self, p: &Path, o: GetOptions) -> object_store::Result<GetResult> {
        self.inner.get_opts(p, o).await
    }
    fn delete_stream(
        &self,
        l: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(l)
    }
    fn list(&self, p: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let gate = self.gate.clone();
        let n = self.pause_after;
        let count = Arc::new(AtomicUsize::new(0));
        self.inner
            .list(p)
            .then(move |m| {
                let gate = gate.clone();
                let count = count.clone();
                async move {
                    if count.fetch_add(1, Ordering::SeqCst) == n {
                        // Bounded wait: 20 s at most.
                        for _ in 0..2000 {
                            if gate.list(None).next().await.is_some() {
                                break;
                            }
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        }
                    }
                    m
                }
            })
            .boxed()
    }
    async fn list_with_delimiter(&self, p: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(p).await
    }
    async fn copy_opts(
        &self,
        f: &Path,
        t: &Path,
        o: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(f, t, o).await
    }
}

#[tokio::test]
async fn transfers_start_while_the_listing_is_still_running() {
    let inner = Arc::new(InMemory::new());
    let gate = Arc::new(InMemory::new());
    let src = Bucket::new(
        "stall",
        Arc::new(StallingList {
            inner: inner.clone(),
            gate: gate.clone(),
            pause_after: 4000,
        }),
    )
    .with_capabilities(mem_capabilities());
    for i in 0..4100 {
        src.put(&format!("k/{i:05}"), "x").await.unwrap();
    }
    let dst = Bucket::new("gate", gate.clone()).with_capabilities(mem_capabilities());
    let t0 = std::time::Instant::now();
    let r = sync(
        &Endpoint::new(src, ""),
        &Endpoint::new(dst.clone(), ""),
        &opts(),
        &Hooks::default(),
    )
    .await
    .unwrap();
    assert_eq!(r.copied, 4100);
    // Had the engine listed everything first, the listing would have waited the full 20 s.
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        t0.elapsed()
    );
}

#[derive(Debug, Default)]
struct CountingJanitor(AtomicUsize);

#[gureum_core::async_trait]
impl UploadJanitor for CountingJanitor {
    async fn abort_incomplete(&self, _b: &Bucket, key: &str) -> gureum_core::Result<usize> {
        assert_eq!(key, "dst/big");
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(1)
    }
}

#[tokio::test]
async fn checkpoint_hands_unfinished_uploads_to_the_janitor_and_is_removed_after_success() {
    let dir = tempfile::tempdir().unwrap();
    let cp_path = dir.path().join("cp.sqlite");
    let src = open_mem(&uniq("cp-src"));
    let dst = open_mem(&uniq("cp-dst"));
    src.put("big", "b").await.unwrap();
    let (s, d) = (Endpoint::new(src, ""), Endpoint::new(dst, "dst"));
    {
        let cp = gureum_sync::checkpoint::Checkpoint::open(&cp_path, &s.label, &d.label).unwrap();
        cp.begin_upload("dst/big").unwrap();
    }
    let j = Arc::new(CountingJanitor::default());
    let hooks = Hooks {
        janitor: Some(j.clone()),
        ..Default::default()
    };
    let o = SyncOptions {
        checkpoint: Some(cp_path.clone()),
        ..opts()
    };
    let r = sync(&s, &d, &o, &hooks).await.unwrap();
    assert_eq!((r.aborted_uploads, r.copied), (1, 1));
    assert_eq!(j.0.load(Ordering::SeqCst), 1);
    assert!(!cp_path.exists(), "a successful run removes its checkpoint");
}

/// An S3-like source: every object's etag is the MD5 of its stored content (as S3's are for
/// single uploads), but the bytes served for keys containing "bad" arrive with one bit
/// flipped, as if corrupted between the store and this machine.
#[derive(Debug)]
struct TamperedInTransit(Arc<InMemory>);

impl std::fmt::Display for TamperedInTransit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TamperedInTransit")
    }
}

#[gureum_core::async_trait]
impl ObjectStore for TamperedInTransit {
    async fn put_opts(
        &self,
        p: &Path,
        payload: PutPayload,
        o: OsPutOptions,
    ) -> object_store::Result<PutResult> {
        self.0.put_opts(p, payload, o).await
    }
    async fn put_multipart_opts(
        &self,
        p: &Path,
        o: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.0.put_multipart_opts(p, o).await
    }
    async fn get_opts(&self, p: &Path, mut o: GetOptions) -> object_store::Result<GetResult> {
        use gureum_core::object_store::{GetResultPayload, ObjectStoreExt};
        use md5::Digest;
        // The etags handed out are MD5s, not the inner store's: check If-Match here.
        let if_match = o.if_match.take();
        let whole = self.0.get(p).await?.bytes().await?;
        let etag = format!("\"{}\"", hex::encode(md5::Md5::digest(&whole)));
        if let Some(m) = if_match {
            if m != etag {
                return Err(object_store::Error::Precondition {
                    path: p.to_string(),
                    source: "etag changed".into(),
                });
            }
        }
        let r = self.0.get_opts(p, o).await?;
        let (mut meta, range, attributes) = (r.meta.clone(), r.range.clone(), r.attributes.clone());
        let mut data = r.bytes().await?.to_vec();
        if p.as_ref().contains("bad") && range.start == 0 && !data.is_empty() {
            data[0] ^= 0x01;
        }
        meta.e_tag = Some(etag);
        let body = futures::stream::once(async move { Ok(bytes::Bytes::from(data)) }).boxed();
        Ok(GetResult {
            payload: GetResultPayload::Stream(body),
            meta,
            range,
            attributes,
            extensions: Default::default(),
        })
    }
    fn delete_stream(
        &self,
        l: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.0.delete_stream(l)
    }
    fn list(&self, p: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.0.list(p)
    }
    async fn list_with_delimiter(&self, p: Option<&Path>) -> object_store::Result<ListResult> {
        self.0.list_with_delimiter(p).await
    }
    async fn copy_opts(
        &self,
        f: &Path,
        t: &Path,
        o: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.0.copy_opts(f, t, o).await
    }
}

/// S3 → local directory: the default no longer reads each written file back, so the bytes
/// corrupted on the way must still be caught by the MD5 computed in flight against the
/// source's MD5 etag — for single objects and for objects copied in parts — retried, then
/// reported as integrity failures, with nothing corrupted left at the destination.
#[tokio::test]
async fn s3_to_file_corruption_in_transit_is_an_integrity_failure() {
    let src = Bucket::new(
        "s3-like",
        Arc::new(TamperedInTransit(Arc::new(InMemory::new()))),
    )
    .with_capabilities(mem_capabilities());
    let big: Vec<u8> = (0..(2 * 1024 * 1024 + 777))
        .map(|i| (i * 7 % 253) as u8)
        .collect();
    src.put("good/1", "content one").await.unwrap();
    src.put("bad/2", "content two").await.unwrap();
    src.put("good/big", big.clone()).await.unwrap();
    src.put("bad/big", big.clone()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dst = open_file(dir.path().join("dl")).unwrap();
    let src_ep = Endpoint::new(src, "").with_md5_etags(true);
    let r = sync(
        &src_ep,
        &Endpoint::new(dst.clone(), ""),
        &SyncOptions {
            retries: 1,
            ..opts()
        },
        &Hooks::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        (r.copied, r.failed_count, r.integrity_failures),
        (2, 2, 2),
        "{r:?}"
    );
    let mut failed: Vec<_> = r
        .failed
        .iter()
        .map(|f| (f.key.as_str(), f.kind.as_str()))
        .collect();
    failed.sort();
    assert_eq!(failed, [("bad/2", "integrity"), ("bad/big", "integrity")]);
    assert!(
        r.failed.iter().all(|f| f.message.contains("source's etag")),
        "{r:?}"
    );
    // Nothing corrupted was published; what was copied is exact.
    assert!(!dst.exists("bad/2").await.unwrap());
    assert!(!dst.exists("bad/big").await.unwrap());
    assert_eq!(&dst.get("good/1").await.unwrap()[..], b"content one");
    assert!(dst.get("good/big").await.unwrap()[..] == big[..]);
}

/// A file:// bucket whose writes go wrong after the engine hashed the bytes: keys containing
/// "flip" are stored with one bit flipped, keys containing "short" lose their last byte.
#[derive(Debug)]
struct BadDisk(Arc<dyn ObjectStore>);

impl std::fmt::Display for BadDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BadDisk")
    }
}

#[gureum_core::async_trait]
impl ObjectStore for BadDisk {
    async fn put_opts(
        &self,
        p: &Path,
        payload: PutPayload,
        o: OsPutOptions,
    ) -> object_store::Result<PutResult> {
        let mut v: Vec<u8> = bytes_of(&payload);
        if p.as_ref().contains("flip") {
            v[0] ^= 0x01;
        }
        if p.as_ref().contains("short") {
            v.pop();
        }
        self.0.put_opts(p, PutPayload::from(v), o).await
    }
    async fn put_multipart_opts(
        &self,
        p: &Path,
        o: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.0.put_multipart_opts(p, o).await
    }
    async fn get_opts(&self, p: &Path, o: GetOptions) -> object_store::Result<GetResult> {
        self.0.get_opts(p, o).await
    }
    fn delete_stream(
        &self,
        l: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.0.delete_stream(l)
    }
    fn list(&self, p: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.0.list(p)
    }
    async fn list_with_delimiter(&self, p: Option<&Path>) -> object_store::Result<ListResult> {
        self.0.list_with_delimiter(p).await
    }
    async fn copy_opts(
        &self,
        f: &Path,
        t: &Path,
        o: object_store::CopyOptions,
    ) -> object_store::Result<()> {
        self.0.copy_opts(f, t, o).await
    }
}

/// On a local directory the default checks the stored file's size (a short write fails) and
/// `Readback::All` (`--readback`) reads every file back, which also catches a flipped bit.
#[tokio::test]
async fn local_files_are_size_checked_by_default_and_read_back_on_request() {
    let src = open_mem(&uniq("disk-src"));
    for k in ["ok", "flip", "short"] {
        src.put(k, format!("content of {k}")).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let file = open_file(dir.path().join("disk")).unwrap();
    let dst = file
        .clone()
        .with_store(Arc::new(BadDisk(file.object_store())));
    assert_eq!(dst.info().scheme, "file");
    let run = |readback| {
        let (src, dst) = (src.clone(), dst.clone());
        async move {
            sync(
                &Endpoint::new(src, ""),
                &Endpoint::new(dst, ""),
                &SyncOptions {
                    retries: 0,
                    readback,
                    ..opts()
                },
                &Hooks::default(),
            )
            .await
            .unwrap()
        }
    };
    let r = run(Readback::Remote).await;
    assert_eq!((r.copied, r.integrity_failures), (2, 1), "{r:?}");
    assert_eq!(r.failed[0].key, "short");
    assert!(r.failed[0].message.contains("stored"), "{r:?}");
    file.delete("flip").await.unwrap();
    file.delete("short").await.unwrap();
    let r = run(Readback::All).await;
    assert_eq!((r.copied, r.integrity_failures), (0, 2), "{r:?}");
    let mut failed: Vec<_> = r.failed.iter().map(|f| f.key.as_str()).collect();
    failed.sort();
    assert_eq!(failed, ["flip", "short"]);
    assert!(
        r.failed.iter().all(|f| f.message.contains("read back")),
        "{r:?}"
    );
}
