//! The mirror bucket (`mirror://`): the storage conformance suite on file:// + file:// (sync
//! and async) and file:// + S3 (moto); the sync-mode guarantee when either side fails; the
//! async repair queue (manual drain, restart); read fallback.

use gureum::object_store::memory::InMemory;
use gureum::object_store::path::Path;
use gureum::object_store::{
    GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use gureum::{Bucket, ErrorKind};
use gureum_conformance::{storage, Options};
use gureum_layers::mirror::{mirror_bucket, MirrorOptions, MirrorStore, ReadFallback};
use gureum_testkit::env;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn enc(s: &str) -> String {
    url_encode(s)
}

/// Percent-encode a whole inner URL for a query value.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

struct Dirs {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
}

fn dirs() -> Dirs {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    for d in ["p", "s"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    Dirs { _tmp: tmp, root }
}

impl Dirs {
    fn file(&self, d: &str) -> String {
        format!("file://{}", self.root.join(d).display())
    }
    fn queue(&self) -> String {
        format!("sqlite://{}/repair.db?queue=repair", self.root.display())
    }
    fn mirror(&self, extra: &str) -> String {
        format!(
            "mirror://?primary={}&secondary={}&queue={}{extra}",
            enc(&self.file("p")),
            enc(&self.file("s")),
            enc(&self.queue())
        )
    }
}

async fn store_of(b: &Bucket) -> &MirrorStore {
    b.native::<MirrorStore>().expect("a mirror bucket")
}

/// Every object of `a` is in `b` with the same bytes, and nothing more.
async fn assert_same(a: &Bucket, b: &Bucket) -> usize {
    let mut ka: Vec<String> = a
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    let mut kb: Vec<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    ka.sort();
    kb.sort();
    assert_eq!(ka, kb, "the key sets differ");
    for k in &ka {
        assert_eq!(a.get(k).await.unwrap(), b.get(k).await.unwrap(), "{k}");
    }
    ka.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_file_and_file_sync_and_async() {
    for mode in ["sync", "async"] {
        let d = dirs();
        let url = d.mirror(&format!("&mode={mode}"));
        let b = gureum::open_bucket(&url).await.unwrap();
        assert_eq!(b.info().scheme, "mirror");
        assert!(b.layers().iter().any(|l| l == "mirror"));
        let label = format!("mirror {mode} (file + file)");
        let report = storage::run(&b, &Options::default().backend(&label)).await;
        println!("{}", report.to_text());
        assert_eq!(report.failed(), 0, "{label}: {:?}", report.failures());
        assert!(report.cases().count() >= 100, "{label}");
        // Put something the suite did not delete, then compare the two sides.
        for i in 0..20 {
            b.put(&format!("민원/{i:03}.json"), format!("{{\"n\":{i}}}"))
                .await
                .unwrap();
        }
        let m = store_of(&b).await;
        let rep = m.drain(Duration::from_secs(60)).await.unwrap();
        assert_eq!(rep.remaining, 0, "{label}: {rep:?}");
        let p = gureum::open_bucket(&d.file("p")).await.unwrap();
        let s = gureum::open_bucket(&d.file("s")).await.unwrap();
        assert_eq!(assert_same(&p, &s).await, 20, "{label}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_file_and_s3_moto() {
    let Some(moto) = env::moto() else { return };
    let d = dirs();
    let name = env::unique("gmirror");
    let s3 = format!(
        "s3://{name}?region=us-east-1&endpoint={}&allow_http=true",
        moto.endpoint
    );
    gureum::open_bucket(&s3)
        .await
        .unwrap()
        .admin()
        .unwrap()
        .create_bucket(&name)
        .await
        .unwrap();
    let url = format!(
        "mirror://?primary={}&secondary={}&mode=sync",
        enc(&d.file("p")),
        enc(&s3)
    );
    let b = gureum::open_bucket(&url).await.unwrap();
    let report = storage::run(
        &b,
        &Options::default().backend("mirror sync (file + s3 moto)"),
    )
    .await;
    println!("{}", report.to_text());
    assert_eq!(report.failed(), 0, "{:?}", report.failures());
    assert!(report.cases().count() >= 100);
    b.put("a/b.txt", "dual run").await.unwrap();
    let s = gureum::open_bucket(&s3).await.unwrap();
    assert_eq!(&s.get("a/b.txt").await.unwrap()[..], b"dual run");
    b.delete("a/b.txt").await.unwrap();
    assert!(!s.exists("a/b.txt").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_mode_fails_whole_when_either_side_fails() {
    let (fp, fs) = (flaky(), flaky());
    let p = Bucket::new("p", fp.clone());
    let s = Bucket::new("s", fs.clone());
    let b = mirror_bucket(p.clone(), s.clone(), MirrorOptions::default()).unwrap();
    b.put("x/old.txt", "old").await.unwrap();

    // The secondary refuses: the write fails and the primary is untouched.
    fs.writes_down.store(true, Ordering::SeqCst);
    assert_eq!(
        b.put("a", "new").await.unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    assert_eq!(
        b.put("x/old.txt", "new").await.unwrap_err().kind(),
        ErrorKind::Unavailable
    );
    fs.writes_down.store(false, Ordering::SeqCst);
    assert!(!p.exists("a").await.unwrap());
    assert_eq!(&p.get("x/old.txt").await.unwrap()[..], b"old");

    // The primary refuses its write: the secondary, written first, is restored from the
    // primary (a new key removed again, an existing one put back), so no reader sees it.
    fp.writes_down.store(true, Ordering::SeqCst);
    assert!(b.put("a", "new").await.is_err());
    assert!(b.put("x/old.txt", "new").await.is_err());
    assert!(b.copy("x/old.txt", "x/c.txt").await.is_err());
    fp.writes_down.store(false, Ordering::SeqCst);
    assert!(!s.exists("a").await.unwrap(), "secondary restored");
    assert!(!s.exists("x/c.txt").await.unwrap(), "secondary restored");
    assert_eq!(&s.get("x/old.txt").await.unwrap()[..], b"old");

    // A create-only write the primary refuses: the secondary keeps the primary's bytes.
    let e = b
        .put_with(
            "x/old.txt",
            "clobber",
            &gureum::PutOptions::default().mode(gureum::WriteMode::CreateOnly),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(&s.get("x/old.txt").await.unwrap()[..], b"old");

    // Multipart through the writer reaches both sides; content type and metadata too.
    let big = vec![42u8; 12 * 1024 * 1024 + 3];
    let mut w = b
        .writer(
            "big.bin",
            &gureum::PutOptions::default()
                .content_type("application/octet-stream")
                .metadata("source", "dual-run"),
        )
        .await
        .unwrap();
    w.write(&big).await.unwrap();
    w.finish().await.unwrap();
    let (info, got) = s.get_with_info("big.bin").await.unwrap();
    assert_eq!(got.len(), big.len());
    assert_eq!(
        info.metadata.get("source").map(String::as_str),
        Some("dual-run")
    );
    // Copy, rename and delete are mirrored.
    b.copy("x/old.txt", "x/copy.txt").await.unwrap();
    b.rename("x/copy.txt", "x/moved.txt").await.unwrap();
    assert_eq!(&s.get("x/moved.txt").await.unwrap()[..], b"old");
    assert!(!s.exists("x/copy.txt").await.unwrap());
    b.delete("x/moved.txt").await.unwrap();
    assert!(!s.exists("x/moved.txt").await.unwrap());
    assert_same(&p, &s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_mode_queues_repairs_and_a_reopened_mirror_drains_them() {
    let d = dirs();
    let url = d.mirror("&mode=async&drain=manual&visibility=1");
    let p = gureum::open_bucket(&d.file("p")).await.unwrap();
    let s = gureum::open_bucket(&d.file("s")).await.unwrap();
    {
        let b = gureum::open_bucket(&url).await.unwrap();
        for i in 0..30 {
            b.put(&format!("k/{i:02}"), vec![i as u8; 100 + i])
                .await
                .unwrap();
        }
        b.delete("k/00").await.unwrap();
        b.put("k/01", "rewritten").await.unwrap();
        assert!(
            s.list_all(None).await.unwrap().is_empty(),
            "manual: nothing drained yet"
        );
        assert_eq!(store_of(&b).await.pending().await.unwrap(), 32);
        // Dropped without draining (a restart).
    }
    let b = gureum::open_bucket(&url).await.unwrap();
    let rep = store_of(&b)
        .await
        .drain(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(rep.remaining, 0);
    assert_eq!(rep.failed, 0);
    assert_eq!(assert_same(&p, &s).await, 29);
    assert_eq!(&s.get("k/01").await.unwrap()[..], b"rewritten");

    // With the background drainer (the default) the secondary catches up by itself.
    let bg = gureum::open_bucket(&d.mirror("&mode=async")).await.unwrap();
    bg.put("bg/one", "1").await.unwrap();
    let mut ok = false;
    for _ in 0..100 {
        if s.exists("bg/one").await.unwrap() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the background drainer copied bg/one");
}

/// A store that can be switched "down" (every call fails with Unavailable), over memory.
#[derive(Debug)]
struct Flaky {
    inner: InMemory,
    /// Reads and listings fail.
    down: AtomicBool,
    /// Writes (put, multipart, copy) fail.
    writes_down: AtomicBool,
}

fn flaky() -> Arc<Flaky> {
    Arc::new(Flaky {
        inner: InMemory::new(),
        down: AtomicBool::new(false),
        writes_down: AtomicBool::new(false),
    })
}

impl std::fmt::Display for Flaky {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Flaky")
    }
}

impl Flaky {
    fn check_write(&self) -> gureum::object_store::Result<()> {
        if self.writes_down.load(Ordering::SeqCst) {
            return Err(
                gureum::Error::new(ErrorKind::Unavailable, "down").into_object_store("Flaky", "")
            );
        }
        self.check()
    }
    fn check(&self) -> gureum::object_store::Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(
                gureum::Error::new(ErrorKind::Unavailable, "down").into_object_store("Flaky", "")
            );
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl ObjectStore for Flaky {
    async fn put_opts(
        &self,
        l: &Path,
        p: PutPayload,
        o: PutOptions,
    ) -> gureum::object_store::Result<PutResult> {
        self.check_write()?;
        self.inner.put_opts(l, p, o).await
    }
    async fn put_multipart_opts(
        &self,
        l: &Path,
        o: PutMultipartOptions,
    ) -> gureum::object_store::Result<Box<dyn MultipartUpload>> {
        self.check_write()?;
        self.inner.put_multipart_opts(l, o).await
    }
    async fn get_opts(&self, l: &Path, o: GetOptions) -> gureum::object_store::Result<GetResult> {
        self.check()?;
        self.inner.get_opts(l, o).await
    }
    fn delete_stream(
        &self,
        l: futures::stream::BoxStream<'static, gureum::object_store::Result<Path>>,
    ) -> futures::stream::BoxStream<'static, gureum::object_store::Result<Path>> {
        self.inner.delete_stream(l)
    }
    fn list(
        &self,
        p: Option<&Path>,
    ) -> futures::stream::BoxStream<'static, gureum::object_store::Result<ObjectMeta>> {
        if let Err(e) = self.check() {
            return Box::pin(futures::stream::once(async move { Err(e) }));
        }
        self.inner.list(p)
    }
    async fn list_with_delimiter(
        &self,
        p: Option<&Path>,
    ) -> gureum::object_store::Result<ListResult> {
        self.check()?;
        self.inner.list_with_delimiter(p).await
    }
    async fn copy_opts(
        &self,
        f: &Path,
        t: &Path,
        o: gureum::object_store::CopyOptions,
    ) -> gureum::object_store::Result<()> {
        self.check_write()?;
        self.inner.copy_opts(f, t, o).await
    }
}

#[tokio::test]
async fn reads_fall_back_to_the_secondary_only_as_configured() {
    let flaky = flaky();
    let p = Bucket::new("p", flaky.clone());
    let s = Bucket::new("s", Arc::new(InMemory::new()));
    let b = mirror_bucket(p.clone(), s.clone(), MirrorOptions::default()).unwrap();
    b.put("a", "both").await.unwrap();
    s.put("only-secondary", "s").await.unwrap();
    // Default: NotFound on the primary is the answer.
    assert_eq!(
        b.get("only-secondary").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // Primary down: reads and listings come from the secondary; writes fail.
    flaky.down.store(true, Ordering::SeqCst);
    assert_eq!(&b.get("a").await.unwrap()[..], b"both");
    assert_eq!(b.list_all(None).await.unwrap().len(), 2);
    let e = b.put("c", "x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    // The secondary was written first and could not be restored from a primary that is
    // down: the error says so (documented), and a repair fixes it once the primary is back.
    assert!(
        e.message().contains("secondary may hold the new object"),
        "{e}"
    );
    flaky.down.store(false, Ordering::SeqCst);
    let m = b.native::<MirrorStore>().unwrap();
    m.repair(&Path::from("c")).await.unwrap();
    assert!(!s.exists("c").await.unwrap());

    let missing = mirror_bucket(
        p.clone(),
        s.clone(),
        MirrorOptions {
            fallback: ReadFallback::Missing,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(&missing.get("only-secondary").await.unwrap()[..], b"s");
    let off = mirror_bucket(
        p,
        s,
        MirrorOptions {
            fallback: ReadFallback::Off,
            ..Default::default()
        },
    )
    .unwrap();
    flaky.down.store(true, Ordering::SeqCst);
    assert_eq!(
        off.get("a").await.unwrap_err().kind(),
        ErrorKind::Unavailable
    );
}
