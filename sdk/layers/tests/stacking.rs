//! Two observing layers stacked over a real in-memory store and a real in-memory queue driver:
//! the order of stacking is the order calls pass through, the handle keeps capabilities, info,
//! admin and escape hatch, and the store underneath holds exactly what a bare bucket would.

use async_trait::async_trait;
use futures::stream::BoxStream;
use futures::StreamExt;
use gureum_core::object_store::memory::InMemory;
use gureum_core::object_store::path::Path;
use gureum_core::object_store::{
    self, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};
use gureum_core::{
    BackendInfo, Bucket, Message, Queue, QueueCapabilities, QueueDriver, ReceiveOptions,
    ReceivedMessage, Result, StorageCapabilities, Zone,
};
use gureum_layers::{BucketLayerExt, Layer, Layers, QueueLayerExt};
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Log = Arc<Mutex<Vec<String>>>;

fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

/// A layer that writes "NAME:operation" to a shared log, then forwards.
#[derive(Debug, Clone)]
struct Observe {
    name: &'static str,
    log: Log,
}

impl Layer for Observe {
    fn name(&self) -> &str {
        self.name
    }
    fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        Arc::new(ObservedStore {
            layer: self.clone(),
            inner,
        })
    }
    fn wrap_queue(&self, inner: Arc<dyn QueueDriver>) -> Arc<dyn QueueDriver> {
        Arc::new(ObservedQueue {
            layer: self.clone(),
            inner,
        })
    }
}

impl Observe {
    fn note(&self, op: &str) {
        self.log.lock().unwrap().push(format!("{}:{op}", self.name));
    }
}

#[derive(Debug)]
struct ObservedStore {
    layer: Observe,
    inner: Arc<dyn ObjectStore>,
}

impl fmt::Display for ObservedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Observed({}, {})", self.layer.name, self.inner)
    }
}

#[async_trait]
impl ObjectStore for ObservedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.layer.note("put");
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.layer.note("put_multipart");
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.layer.note(if options.head { "head" } else { "get" });
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.layer.note("delete");
        self.inner.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.layer.note("list");
        self.inner.list(prefix)
    }
    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.layer.note("list");
        self.inner.list_with_offset(prefix, offset)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.layer.note("list");
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.layer.note("copy");
        self.inner.copy_opts(from, to, options).await
    }
    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        self.layer.note("rename");
        self.inner.rename_opts(from, to, options).await
    }
}

#[derive(Debug)]
struct ObservedQueue {
    layer: Observe,
    inner: Arc<dyn QueueDriver>,
}

#[async_trait]
impl QueueDriver for ObservedQueue {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn capabilities(&self) -> QueueCapabilities {
        self.inner.capabilities()
    }
    async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<String>> {
        self.layer.note("send");
        self.inner.send_batch(messages).await
    }
    async fn receive(&self, opts: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        self.layer.note("receive");
        self.inner.receive(opts).await
    }
    async fn ack(&self, receipts: &[String]) -> Result<()> {
        self.layer.note("ack");
        self.inner.ack(receipts).await
    }
    async fn nack(&self, receipt: &str, delay: Duration) -> Result<()> {
        self.layer.note("nack");
        self.inner.nack(receipt, delay).await
    }
    async fn extend_visibility(&self, receipt: &str, visibility: Duration) -> Result<()> {
        self.layer.note("extend");
        self.inner.extend_visibility(receipt, visibility).await
    }
    async fn depth(&self) -> Result<u64> {
        self.layer.note("depth");
        self.inner.depth().await
    }
    async fn purge(&self) -> Result<()> {
        self.layer.note("purge");
        self.inner.purge().await
    }
}

/// The raw queue underneath: a plain FIFO, no layers of its own.
#[derive(Debug, Default)]
struct FifoDriver {
    items: Mutex<VecDeque<(String, Vec<u8>)>>,
    next: Mutex<u64>,
}

#[async_trait]
impl QueueDriver for FifoDriver {
    fn name(&self) -> &str {
        "fifo"
    }
    fn capabilities(&self) -> QueueCapabilities {
        QueueCapabilities::default()
    }
    async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for m in messages {
            let mut n = self.next.lock().unwrap();
            *n += 1;
            let id = format!("m{n}");
            self.items
                .lock()
                .unwrap()
                .push_back((id.clone(), m.body.to_vec()));
            ids.push(id);
        }
        Ok(ids)
    }
    async fn receive(&self, opts: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        let mut out = Vec::new();
        let mut items = self.items.lock().unwrap();
        while out.len() < opts.max_messages {
            let Some((id, body)) = items.pop_front() else {
                break;
            };
            out.push(ReceivedMessage {
                receipt: id.clone(),
                id,
                body: body.into(),
                attributes: Default::default(),
                receive_count: 1,
                sent_at: None,
            });
        }
        Ok(out)
    }
    async fn ack(&self, _receipts: &[String]) -> Result<()> {
        Ok(())
    }
    async fn nack(&self, _receipt: &str, _delay: Duration) -> Result<()> {
        Ok(())
    }
    async fn extend_visibility(&self, _receipt: &str, _visibility: Duration) -> Result<()> {
        Ok(())
    }
    async fn depth(&self) -> Result<u64> {
        Ok(self.items.lock().unwrap().len() as u64)
    }
    async fn purge(&self) -> Result<()> {
        self.items.lock().unwrap().clear();
        Ok(())
    }
}

fn bare_bucket(raw: Arc<InMemory>) -> Bucket {
    Bucket::new("city", raw.clone())
        .with_capabilities(StorageCapabilities {
            multipart: true,
            ..Default::default()
        })
        .with_info(BackendInfo {
            scheme: "mem".into(),
            provider: "test".into(),
            zone: Zone::DomesticCsap,
        })
        .with_native(raw)
}

#[tokio::test]
async fn layers_run_outermost_first_and_keep_the_bucket() {
    let log: Log = Arc::default();
    let raw = Arc::new(InMemory::new());
    let inner = Observe {
        name: "inner",
        log: log.clone(),
    };
    let outer = Observe {
        name: "outer",
        log: log.clone(),
    };
    let b = bare_bucket(raw.clone()).layer(inner).layer(outer);

    b.put("2026/c-1.json", &b"{\"n\":1}"[..]).await.unwrap();
    assert_eq!(take(&log), ["outer:put", "inner:put"]);
    assert_eq!(&b.get("2026/c-1.json").await.unwrap()[..], b"{\"n\":1}");
    assert_eq!(take(&log), ["outer:get", "inner:get"]);
    b.delete("2026/c-1.json").await.unwrap();
    assert_eq!(take(&log), ["outer:delete", "inner:delete"]);

    // The handle is the same bucket: name, capabilities, info and escape hatch survive.
    assert_eq!(b.name(), "city");
    assert!(b.capabilities().multipart);
    assert_eq!(b.info().zone, Zone::DomesticCsap);
    assert!(std::ptr::eq(b.native::<InMemory>().unwrap(), &*raw));
    // `object_store()` hands out the layered store, so DataFusion & co. go through the layers.
    let s = b.object_store();
    assert_eq!(
        s.to_string(),
        format!("Observed(outer, Observed(inner, {raw}))")
    );
}

#[tokio::test]
async fn the_store_underneath_holds_what_a_bare_bucket_would() {
    let log: Log = Arc::default();
    let (raw_a, raw_b) = (Arc::new(InMemory::new()), Arc::new(InMemory::new()));
    let bare = bare_bucket(raw_a.clone());
    let layered = Layers::new()
        .push(Observe {
            name: "a",
            log: log.clone(),
        })
        .push(Observe {
            name: "b",
            log: log.clone(),
        });
    assert_eq!(layered.names(), ["a", "b"]);
    let layered = layered.apply_bucket(bare_bucket(raw_b.clone()));
    for (k, v) in [("x/1", "one"), ("x/2", "two"), ("y", "three")] {
        bare.put(k, v.as_bytes().to_vec()).await.unwrap();
        layered.put(k, v.as_bytes().to_vec()).await.unwrap();
    }
    assert_eq!(take(&log).len(), 6, "two layers saw three puts");
    let list = |s: Arc<InMemory>| async move {
        let mut v: Vec<(String, u64)> = s
            .list(None)
            .map(|m| m.map(|m| (m.location.to_string(), m.size)))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<object_store::Result<_>>()
            .unwrap();
        v.sort();
        v
    };
    let (a, b) = (list(raw_a).await, list(raw_b.clone()).await);
    assert_eq!(a, b, "the layers changed nothing underneath");
    assert_eq!(b.len(), 3);
    // Going to the raw store directly bypasses the layers.
    let _ = raw_b.list(None).collect::<Vec<_>>().await;
    assert!(take(&log).is_empty());
}

#[tokio::test]
async fn queue_layers_stack_in_the_same_order() {
    let log: Log = Arc::default();
    let raw = Arc::new(FifoDriver::default());
    let q = Queue::new(raw.clone())
        .layer(Observe {
            name: "inner",
            log: log.clone(),
        })
        .layer(Observe {
            name: "outer",
            log: log.clone(),
        });
    q.send(Message::new(&b"reindex c-1041"[..])).await.unwrap();
    assert_eq!(take(&log), ["outer:send", "inner:send"]);
    let got = q.receive(10).await.unwrap();
    assert_eq!(&got[0].body[..], b"reindex c-1041");
    assert_eq!(take(&log), ["outer:receive", "inner:receive"]);
    assert_eq!(q.depth().await.unwrap(), 0);
    assert_eq!(raw.depth().await.unwrap(), 0);
    // The escape hatch still reaches the driver underneath every layer.
    assert!(std::ptr::eq(q.native::<FifoDriver>().unwrap(), &*raw));
    assert_eq!(q.name(), "fifo");
}
