//! Regression tests of issue 19's defects on the embedded backends: `Queue::process`
//! (in-flight handlers, visibility heartbeat, shutdown-aware retry), `delete_many` with a
//! repeated key, `BucketWriter` (single PUT for small writes, abort on drop), `file://`
//! durable writes and symlink containment, unknown URL parameters, and the `local://`
//! compute pid guard and `wait_until` backoff. Each failed before its fix.

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use gureum_core::compute::{Compute, ComputeDriver, InstanceSpec, InstanceState};
use gureum_core::{
    Bucket, Error, ErrorKind, Message, ProcessOptions, PutOptions, Queue, QueueCapabilities,
    QueueDriver, ReceiveOptions, ReceivedMessage, Registry, Result,
};
use object_store::path::Path;
use object_store::{
    GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions as OsPutOptions, PutPayload, PutResult, UploadPart,
};
use std::os::unix::process::CommandExt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn registry() -> Registry {
    let mut r = Registry::new();
    gureum_local::register(&mut r);
    r
}

fn unique(p: &str) -> String {
    format!("{p}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

// ------------------------------------------------------------------ Queue::process

/// A real queue whose `receive` fails on chosen calls (the rest passes through).
#[derive(Debug)]
struct FailingReceive {
    inner: Arc<dyn QueueDriver>,
    calls: AtomicUsize,
    /// Calls (0-based) from which receive fails, and with which kind.
    fail_from: usize,
    kind: ErrorKind,
}

#[async_trait]
impl QueueDriver for FailingReceive {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn capabilities(&self) -> QueueCapabilities {
        self.inner.capabilities()
    }
    async fn send_batch(&self, m: Vec<Message>) -> Result<Vec<String>> {
        self.inner.send_batch(m).await
    }
    async fn receive(&self, o: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.fail_from {
            return Err(Error::new(self.kind, "injected receive failure"));
        }
        self.inner.receive(o).await
    }
    async fn ack(&self, r: &[String]) -> Result<()> {
        self.inner.ack(r).await
    }
    async fn nack(&self, r: &str, d: Duration) -> Result<()> {
        self.inner.nack(r, d).await
    }
    async fn extend_visibility(&self, r: &str, v: Duration) -> Result<()> {
        self.inner.extend_visibility(r, v).await
    }
    async fn depth(&self) -> Result<u64> {
        self.inner.depth().await
    }
    async fn purge(&self) -> Result<()> {
        self.inner.purge().await
    }
}

async fn queue_urls() -> Vec<(String, tempfile::TempDir)> {
    let d = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    vec![
        (format!("mem://{}", unique("proc")), d),
        (
            format!(
                "sqlite://{}/q.db?queue={}",
                d2.path().display(),
                unique("proc")
            ),
            d2,
        ),
    ]
}

/// A non-retryable receive error used to return at once and drop (abort) the running
/// handlers; they must finish (and ack) before `process` returns its error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_lets_in_flight_handlers_finish_on_a_receive_error() {
    for (url, _dir) in queue_urls().await {
        let q = registry().open_queue(Some(&url)).await.unwrap();
        for i in 0..3 {
            q.send(Message::new(format!("m{i}"))).await.unwrap();
        }
        let failing = Queue::new(Arc::new(FailingReceive {
            inner: q.driver().clone(),
            calls: AtomicUsize::new(0),
            fail_from: 1,
            kind: ErrorKind::PermissionDenied,
        }));
        let finished = Arc::new(AtomicUsize::new(0));
        let f = finished.clone();
        let opts = ProcessOptions {
            concurrency: 4,
            visibility: Duration::from_secs(30),
            wait: Duration::from_millis(200),
            ..Default::default()
        };
        let r = failing
            .process(opts, std::future::pending(), move |_m| {
                let f = f.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    f.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            })
            .await;
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{url}: {e}");
        assert_eq!(
            finished.load(Ordering::SeqCst),
            3,
            "{url}: handlers were aborted"
        );
        // Their acks went through: nothing is left to redeliver.
        assert_eq!(q.depth().await.unwrap(), 0, "{url}");
    }
}

/// A handler that runs longer than the visibility timeout keeps its message hidden (the
/// heartbeat extends it): it is handled once, not redelivered to a second handler.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_heartbeat_keeps_long_handlers_messages_hidden() {
    for (url, _dir) in queue_urls().await {
        let q = registry().open_queue(Some(&url)).await.unwrap();
        q.send(Message::new("slow")).await.unwrap();
        let runs = Arc::new(AtomicUsize::new(0));
        let r2 = runs.clone();
        let opts = ProcessOptions {
            concurrency: 2,
            visibility: Duration::from_millis(400),
            wait: Duration::from_millis(100),
            max_messages: None,
            ..Default::default()
        };
        let stop = tokio::time::sleep(Duration::from_millis(2_500));
        let stats = q
            .process(opts, stop, move |_m| {
                let r = r2.clone();
                async move {
                    r.fetch_add(1, Ordering::SeqCst);
                    // 3.5 visibility periods.
                    tokio::time::sleep(Duration::from_millis(1_400)).await;
                    Ok(())
                }
            })
            .await
            .unwrap();
        assert_eq!(
            runs.load(Ordering::SeqCst),
            1,
            "{url}: redelivered while handled"
        );
        assert_eq!(stats.acked, 1, "{url}: {stats:?}");
        assert_eq!(q.depth().await.unwrap(), 0, "{url}");
    }
}

/// The retry sleep after a retryable receive error ends when shutdown completes (with the
/// backoff it reaches seconds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_retry_sleep_observes_shutdown() {
    let q = registry()
        .open_queue(Some(&format!("mem://{}", unique("retry"))))
        .await
        .unwrap();
    let failing = Queue::new(Arc::new(FailingReceive {
        inner: q.driver().clone(),
        calls: AtomicUsize::new(0),
        fail_from: 0,
        kind: ErrorKind::Unavailable,
    }));
    let start = std::time::Instant::now();
    let stats = failing
        .process(
            ProcessOptions::default(),
            tokio::time::sleep(Duration::from_millis(3_300)),
            |_m| async { Ok(()) },
        )
        .await
        .unwrap();
    let took = start.elapsed();
    assert_eq!(stats.acked, 0);
    // Receives fail at 0, 0.2, 0.6, 1.4 and 3.0 s; the backoff sleep from 3.0 s lasts 3.2 s
    // and shutdown at 3.3 s must cut it short (a sleep that ignores shutdown ends at 6.2 s).
    assert!(
        took < Duration::from_millis(5_000),
        "returned after {took:?}"
    );
}

// ------------------------------------------------------------------ storage

#[tokio::test]
async fn delete_many_with_a_repeated_key_succeeds_for_each() {
    let d = tempfile::tempdir().unwrap();
    for url in [
        format!("mem://{}", unique("dm")),
        format!("file://{}/b", d.path().display()),
    ] {
        let b = registry().open_bucket(Some(&url)).await.unwrap();
        b.put("a", "1").await.unwrap();
        b.put("c", "1").await.unwrap();
        let keys: Vec<String> = ["a", "a", "b", "c", "a"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let r = b.delete_many(&keys).await.unwrap();
        assert_eq!(r.len(), 5);
        for (k, x) in keys.iter().zip(&r) {
            assert!(x.is_ok(), "{url}: {k}: {x:?}");
        }
        assert!(!b.exists("a").await.unwrap());
        assert!(!b.exists("c").await.unwrap());
    }
}

/// Counts multipart starts, aborts and plain PUTs of a real store.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn ObjectStore>,
    puts: AtomicU64,
    multipart: AtomicU64,
    aborted: Arc<AtomicU64>,
}

impl std::fmt::Display for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[derive(Debug)]
struct CountingUpload {
    inner: Box<dyn MultipartUpload>,
    aborted: Arc<AtomicU64>,
}

#[async_trait]
impl MultipartUpload for CountingUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        self.inner.put_part(data)
    }
    async fn complete(&mut self) -> object_store::Result<PutResult> {
        self.inner.complete().await
    }
    async fn abort(&mut self) -> object_store::Result<()> {
        self.aborted.fetch_add(1, Ordering::SeqCst);
        self.inner.abort().await
    }
}

#[async_trait]
impl ObjectStore for Counting {
    async fn put_opts(
        &self,
        l: &Path,
        p: PutPayload,
        o: OsPutOptions,
    ) -> object_store::Result<PutResult> {
        self.puts.fetch_add(1, Ordering::SeqCst);
        self.inner.put_opts(l, p, o).await
    }
    async fn put_multipart_opts(
        &self,
        l: &Path,
        o: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.multipart.fetch_add(1, Ordering::SeqCst);
        Ok(Box::new(CountingUpload {
            inner: self.inner.put_multipart_opts(l, o).await?,
            aborted: self.aborted.clone(),
        }))
    }
    async fn get_opts(&self, l: &Path, o: GetOptions) -> object_store::Result<GetResult> {
        self.inner.get_opts(l, o).await
    }
    fn delete_stream(
        &self,
        l: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(l)
    }
    fn list(&self, p: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(p)
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

fn counting(b: &Bucket) -> (Bucket, Arc<Counting>) {
    let c = Arc::new(Counting {
        inner: b.object_store(),
        puts: AtomicU64::new(0),
        multipart: AtomicU64::new(0),
        aborted: Arc::new(AtomicU64::new(0)),
    });
    (b.clone().with_store(c.clone()), c)
}

#[tokio::test]
async fn small_and_empty_writers_are_one_put() {
    let d = tempfile::tempdir().unwrap();
    for url in [
        format!("mem://{}", unique("w")),
        format!("file://{}/b", d.path().display()),
    ] {
        let (b, c) = counting(&registry().open_bucket(Some(&url)).await.unwrap());
        let w = b.writer("empty", &PutOptions::default()).await.unwrap();
        w.finish().await.unwrap();
        let mut w = b.writer("small", &PutOptions::default()).await.unwrap();
        w.write(b"hello ").await.unwrap();
        w.write(b"world").await.unwrap();
        assert!(!w.is_multipart());
        w.finish().await.unwrap();
        assert_eq!(c.multipart.load(Ordering::SeqCst), 0, "{url}");
        assert_eq!(c.puts.load(Ordering::SeqCst), 2, "{url}");
        assert_eq!(b.get("empty").await.unwrap().len(), 0);
        assert_eq!(&b.get("small").await.unwrap()[..], b"hello world");
        // Past one part it is a multipart upload, and the bytes are intact.
        let mut w = b
            .writer("big", &PutOptions::default())
            .await
            .unwrap()
            .with_part_size(1024)
            .unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(700) {
            w.write(chunk).await.unwrap();
        }
        assert!(w.is_multipart());
        w.finish().await.unwrap();
        assert_eq!(c.multipart.load(Ordering::SeqCst), 1, "{url}");
        assert_eq!(&b.get("big").await.unwrap()[..], &data[..]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_writer_aborts_its_multipart_upload() {
    let (b, c) = counting(
        &registry()
            .open_bucket(Some(&format!("mem://{}", unique("drop"))))
            .await
            .unwrap(),
    );
    {
        let mut w = b
            .writer("dropped", &PutOptions::default())
            .await
            .unwrap()
            .with_part_size(16)
            .unwrap();
        w.write(&[7u8; 100]).await.unwrap();
        assert!(w.is_multipart());
        // dropped here without finish
    }
    for _ in 0..100 {
        if c.aborted.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        c.aborted.load(Ordering::SeqCst),
        1,
        "the upload was left pending"
    );
    assert!(!b.exists("dropped").await.unwrap());
}

#[tokio::test]
async fn durable_file_writes_round_trip_and_unknown_parameters_are_refused() {
    let d = tempfile::tempdir().unwrap();
    let b = registry()
        .open_bucket(Some(&format!(
            "file://{}/d?durable=true",
            d.path().display()
        )))
        .await
        .unwrap();
    let fs = b.native::<gureum_local::storage::FileStore>();
    assert!(fs.is_some_and(|s| s.is_durable()));
    b.put("x/y", "durable").await.unwrap();
    b.put_with(
        "x/z",
        "with metadata",
        &PutOptions::default().metadata("k", "v"),
    )
    .await
    .unwrap();
    assert_eq!(&b.get("x/y").await.unwrap()[..], b"durable");
    assert_eq!(b.head("x/z").await.unwrap().metadata["k"], "v");
    b.delete("x/y").await.unwrap();
    assert!(!b.exists("x/y").await.unwrap());

    // A misspelt parameter is an error that lists the valid ones.
    for (url, bad, valid) in [
        (
            format!("file://{}/d?durabel=true", d.path().display()),
            "durabel",
            "durable",
        ),
        (format!("mem://{}?regoin=kr", unique("p")), "regoin", ""),
    ] {
        let e = registry().open_bucket(Some(&url)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        assert!(e.message().contains(bad), "{e}");
        assert!(e.message().contains(valid), "{e}");
    }
    let e = registry()
        .open_queue(Some(&format!(
            "sqlite://{}/q.db?queue=a&visiblity=3",
            d.path().display()
        )))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.message().contains("\"visiblity\""), "{e}");
    assert!(e.message().contains("visibility"), "{e}");
}

#[cfg(unix)]
#[tokio::test]
async fn file_refuses_symlinks_that_leave_the_bucket() {
    let d = tempfile::tempdir().unwrap();
    let outside = d.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "not yours").unwrap();
    let root = d.path().join("bucket");
    std::fs::create_dir_all(root.join("inner")).unwrap();
    std::fs::write(root.join("inner/ok.txt"), "inside").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(root.join("inner"), root.join("alias")).unwrap();
    let b = registry()
        .open_bucket(Some(&format!("file://{}", root.display())))
        .await
        .unwrap();
    for key in ["escape/secret.txt", "leak.txt"] {
        let e = b.get(key).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{key}: {e}");
    }
    let e = b.put("escape/new.txt", "x").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(
        !outside.join("new.txt").exists(),
        "wrote outside the bucket"
    );
    let e = b.delete("escape/secret.txt").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(outside.join("secret.txt").exists());
    // A link that stays inside the root still works.
    assert_eq!(&b.get("alias/ok.txt").await.unwrap()[..], b"inside");
    let keys: Vec<String> = b
        .list_all(None)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.key)
        .collect();
    assert!(
        keys.iter()
            .all(|k| !k.starts_with("escape") && k != "leak.txt"),
        "{keys:?}"
    );
    assert!(keys.contains(&"inner/ok.txt".to_string()), "{keys:?}");
}

// ------------------------------------------------------------------ compute

/// Counts `get` calls of the real local driver.
#[derive(Debug)]
struct CountGets {
    inner: Arc<dyn ComputeDriver>,
    gets: AtomicUsize,
    done: AtomicBool,
}

#[async_trait]
impl ComputeDriver for CountGets {
    fn capabilities(&self) -> gureum_core::compute::ComputeCapabilities {
        self.inner.capabilities()
    }
    async fn create(&self, s: &InstanceSpec) -> Result<gureum_core::compute::Instance> {
        self.inner.create(s).await
    }
    async fn get(&self, id: &str) -> Result<gureum_core::compute::Instance> {
        if !self.done.load(Ordering::SeqCst) {
            self.gets.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.get(id).await
    }
    async fn list(
        &self,
        f: &gureum_core::compute::ListFilter,
    ) -> Result<Vec<gureum_core::compute::Instance>> {
        self.inner.list(f).await
    }
    async fn start(&self, id: &str) -> Result<()> {
        self.inner.start(id).await
    }
    async fn stop(&self, id: &str) -> Result<()> {
        self.inner.stop(id).await
    }
    async fn reboot(&self, id: &str) -> Result<()> {
        self.inner.reboot(id).await
    }
    async fn terminate(&self, id: &str) -> Result<()> {
        self.inner.terminate(id).await
    }
    async fn sizes(&self) -> Result<Vec<gureum_core::compute::SizeInfo>> {
        self.inner.sizes().await
    }
    async fn images(&self) -> Result<Vec<gureum_core::compute::ImageInfo>> {
        self.inner.images().await
    }
    async fn user_data(&self, id: &str) -> Result<Option<Bytes>> {
        self.inner.user_data(id).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_until_backs_off_and_takes_any_timeout() {
    let d = tempfile::tempdir().unwrap();
    let local = registry()
        .open_compute(Some(&format!(
            "local://{}?grace_ms=500",
            d.path().display()
        )))
        .await
        .unwrap();
    let counted = Arc::new(CountGets {
        inner: local.driver().clone(),
        gets: AtomicUsize::new(0),
        done: AtomicBool::new(false),
    });
    let c = Compute::new(counted.clone()).with_poll_interval(Duration::from_millis(20));
    let vm = c.create(InstanceSpec::new("idle")).await.unwrap();
    c.wait_until(&vm.id, InstanceState::Running, Duration::MAX)
        .await
        .unwrap();
    // Waiting 1.2 s for a state that never comes: a fixed 20 ms poll makes ~60 calls,
    // the backoff (20 ms × 1.5ⁿ) about 10.
    counted.gets.store(0, Ordering::SeqCst);
    let e = c
        .wait_until(&vm.id, InstanceState::Stopped, Duration::from_millis(1_200))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    let n = counted.gets.load(Ordering::SeqCst);
    counted.done.store(true, Ordering::SeqCst);
    assert!((3..=16).contains(&n), "{n} polls in 1.2 s");
    c.terminate(&vm.id).await.unwrap();
    c.wait_until(&vm.id, InstanceState::Terminated, Duration::MAX)
        .await
        .unwrap();
}

/// The state file is the driver's, but a pid in it is never trusted blindly: pid 1 (or ≤ 1)
/// and a live process the driver did not start are not signalled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_compute_never_signals_a_process_it_did_not_start() {
    let d = tempfile::tempdir().unwrap();
    let c = registry()
        .open_compute(Some(&format!(
            "local://{}?grace_ms=300",
            d.path().display()
        )))
        .await
        .unwrap()
        .with_poll_interval(Duration::from_millis(20));
    let record = |id: &str| d.path().join("instances").join(format!("{id}.json"));
    let rewrite = |id: &str, pid: i64, ticks: Option<u64>| {
        let p = record(id);
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        v["proc_id"]["pid"] = serde_json::json!(pid);
        v["proc_id"]["start_ticks"] = serde_json::json!(ticks);
        std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    };

    // A bystander process this test starts itself (not through the driver).
    let mut bystander = std::process::Command::new("sleep")
        .arg("30")
        .process_group(0)
        .spawn()
        .unwrap();
    let bpid = bystander.id() as i32;
    let ticks = std::fs::read_to_string(format!("/proc/{bpid}/stat"))
        .ok()
        .and_then(|s| {
            let rest = s[s.rfind(')')? + 1..].to_string();
            rest.split_whitespace().nth(19)?.parse::<u64>().ok()
        });

    let vm = c.create(InstanceSpec::new("victim")).await.unwrap();
    c.wait_until(&vm.id, InstanceState::Running, Duration::from_secs(10))
        .await
        .unwrap();
    let real = {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(record(&vm.id)).unwrap()).unwrap();
        v["proc_id"].clone()
    };
    // The state file now points at the bystander (pid and start time match it).
    rewrite(&vm.id, bpid as i64, ticks);
    let e = c.stop(&vm.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(
        bystander.try_wait().unwrap().is_none(),
        "the bystander was signalled"
    );
    // pid ≤ 1: refused before anything is sent (kill(-1) would signal every process).
    use gureum_local::compute::process::{terminate, ProcId};
    for pid in [1, 0, -1] {
        let e = terminate(
            &ProcId {
                pid,
                start_ticks: None,
            },
            Duration::from_millis(10),
            "GUREUM_INSTANCE_ID=x",
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{pid}: {e}");
    }
    assert!(bystander.try_wait().unwrap().is_none());
    // Restore the record: the driver stops its own process normally.
    rewrite(
        &vm.id,
        real["pid"].as_i64().unwrap(),
        real["start_ticks"].as_u64(),
    );
    c.terminate(&vm.id).await.unwrap();
    c.wait_until(&vm.id, InstanceState::Terminated, Duration::from_secs(10))
        .await
        .unwrap();
    let real_pid = real["pid"].as_i64().unwrap() as i32;
    assert!(
        !std::path::Path::new(&format!("/proc/{real_pid}/stat")).exists()
            || std::fs::read_to_string(format!("/proc/{real_pid}/stat"))
                .is_ok_and(|s| s.contains(") Z")),
        "the instance's own process survived terminate"
    );
    let _ = bystander.kill();
    let _ = bystander.wait();
}
