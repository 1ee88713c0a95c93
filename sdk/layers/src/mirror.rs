//! The mirror bucket of a dual run: every write goes to two buckets, reads come from the
//! primary.
//!
//! `mirror://?primary=URL&secondary=URL&mode=sync|async` (inner URLs percent-encoded), or from
//! code with [`mirror_bucket`]. During a migration the old cloud is the primary (it stays the
//! truth) and the new cloud the secondary; at cutover the two are swapped, then the old one is
//! dropped.
//!
//! ## Writes (put, multipart upload, copy, delete)
//!
//! * **`mode=sync`**: the secondary is written first, then the primary. The call succeeds only
//!   when both did. When the secondary fails, the primary is not touched. When the primary
//!   fails (unavailable, or its create-only / if-match precondition refused the write), the
//!   secondary is *restored from the primary* (the primary's current object copied back, or
//!   the secondary's object deleted when the primary has none) before the error is returned.
//!   Guarantee: a reader through the mirror (primary reachable) never sees an object that was
//!   not written to both sides — the primary, which it reads, is written last. Not
//!   guaranteed: a reader of the *secondary alone* may see a new object for the moment between
//!   the two writes, and until the restore when the primary write fails; if the restore itself
//!   fails, the error says so, the key is queued for repair when a repair queue is configured
//!   (`queue=`), and `gureum mirror verify` lists it. Concurrent writers to the *same key* can
//!   leave the two sides with different winners (each side orders the writes itself): use
//!   conditional writes, or async mode, when several writers race on a key.
//! * **`mode=async`**: the key is first recorded in a durable repair queue (by default the
//!   embedded sqlite queue under the state directory, or any queue URL in `queue=`), then the
//!   primary is written, then the call returns. A background task drains the queue while the
//!   bucket is open (and [`MirrorStore::drain`] / `gureum mirror drain` drain it on demand,
//!   e.g. after a restart): for each key it copies the primary's *current* object (bytes,
//!   content type, metadata) to the secondary, or deletes the secondary's when the primary has
//!   none, re-reads the primary's etag to detect a write that raced the copy (and copies again),
//!   and only then acknowledges the queue message. A process killed at any point loses
//!   nothing: the key was queued before the write was acknowledged, and an unacknowledged
//!   message comes back after its visibility timeout (`visibility=`, seconds, default 60).
//!   One process at a time should write through a given repair queue: the drainer skips keys
//!   this process is still writing, but cannot see another process's writes in flight.
//!
//! ## Reads and listings
//!
//! From the primary. `fallback=unavailable` (default): when the primary is unreachable
//! (`Unavailable` / `Timeout`), the read or listing is served by the secondary instead, which
//! may lag behind in async mode. A `NotFound` from the primary is the answer (the primary is
//! the truth; falling back on it would show objects half-written in sync mode or deleted
//! ones in async mode). `fallback=missing` also falls back on `NotFound` (for a primary that is
//! still being filled from the secondary); `fallback=off` never falls back. Conditional reads
//! (if-match, if-none-match, version) never fall back: etags differ between clouds.
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures::stream::{BoxStream, StreamExt};
use gureum_core::object_store::path::Path;
use gureum_core::object_store::{
    self, CopyMode, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, ObjectStoreExt, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult,
    UploadPart,
};
use gureum_core::queue::{Message, ReceiveOptions};
use gureum_core::registry::StorageOpener;
use gureum_core::{
    BackendInfo, Bucket, Error, ErrorKind, Queue, Registry, ResourceUrl, Result, SchemeInfo,
    Service, StorageCapabilities, Zone,
};
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

const STORE: &str = "Mirror";
/// Objects up to this size are repaired in one request; larger ones stream through a
/// multipart upload.
const REPAIR_BUFFERED_MAX: u64 = 16 * 1024 * 1024;
/// Part size of a streamed repair (above S3's 5 MiB minimum).
const REPAIR_PART: usize = 8 * 1024 * 1024;
/// Times a repair re-copies when the primary changed during the copy.
const REPAIR_TRIES: usize = 3;
/// Messages received per drain round.
const DRAIN_BATCH: usize = 10;

/// The `mirror://` scheme, described for `gureum schemes` and error hints.
///
/// ```
/// use gureum_core::Service;
/// let m = &gureum_layers::mirror::SCHEMES[0];
/// assert_eq!((m.scheme, m.service), ("mirror", Service::Storage));
/// ```
pub const SCHEMES: &[SchemeInfo] = &[SchemeInfo {
    scheme: "mirror",
    service: Service::Storage,
    feature: "layers",
    zone: Zone::Foreign,
    description:
        "dual-run mirror of two buckets: mirror://?primary=URL&secondary=URL&mode=sync|async",
}];

/// How writes reach the secondary.
///
/// ```
/// use gureum_layers::mirror::MirrorMode;
/// assert_eq!(MirrorMode::default(), MirrorMode::Sync);
/// assert_eq!(MirrorMode::Async.as_str(), "async");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MirrorMode {
    /// Both sides are written before the call returns (secondary first, then primary).
    #[default]
    Sync,
    /// The primary is written; the secondary is fed from a durable repair queue.
    Async,
}

impl MirrorMode {
    /// Parse `sync` or `async`.
    ///
    /// ```
    /// use gureum_layers::mirror::MirrorMode;
    /// assert_eq!(MirrorMode::parse("async").unwrap(), MirrorMode::Async);
    /// assert!(MirrorMode::parse("eventually").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "sync" => Ok(MirrorMode::Sync),
            "async" => Ok(MirrorMode::Async),
            _ => Err(Error::invalid(format!(
                "mirror mode {s:?}: expected sync or async"
            ))),
        }
    }
    /// `sync` or `async`.
    ///
    /// ```
    /// use gureum_layers::mirror::MirrorMode;
    /// assert_eq!(MirrorMode::parse(MirrorMode::Sync.as_str()).unwrap(), MirrorMode::Sync);
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            MirrorMode::Sync => "sync",
            MirrorMode::Async => "async",
        }
    }
}

/// When a read falls back from the primary to the secondary.
///
/// ```
/// use gureum_layers::mirror::ReadFallback;
/// assert_eq!(ReadFallback::default(), ReadFallback::Unavailable);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadFallback {
    /// When the primary is unreachable (`Unavailable`, `Timeout`).
    #[default]
    Unavailable,
    /// Also when the primary has no such object (`NotFound`).
    Missing,
    /// Never.
    Off,
}

impl ReadFallback {
    /// Parse `unavailable`, `missing` or `off`.
    ///
    /// ```
    /// use gureum_layers::mirror::ReadFallback;
    /// assert_eq!(ReadFallback::parse("missing").unwrap(), ReadFallback::Missing);
    /// assert_eq!(ReadFallback::parse("none").unwrap(), ReadFallback::Off);
    /// assert!(ReadFallback::parse("always").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "unavailable" => Ok(ReadFallback::Unavailable),
            "missing" => Ok(ReadFallback::Missing),
            "off" | "none" => Ok(ReadFallback::Off),
            _ => Err(Error::invalid(format!(
                "mirror fallback {s:?}: expected unavailable, missing or off"
            ))),
        }
    }
    fn allows(self, kind: ErrorKind) -> bool {
        match self {
            ReadFallback::Off => false,
            ReadFallback::Unavailable => {
                matches!(kind, ErrorKind::Unavailable | ErrorKind::Timeout)
            }
            ReadFallback::Missing => matches!(
                kind,
                ErrorKind::Unavailable | ErrorKind::Timeout | ErrorKind::NotFound
            ),
        }
    }
}

/// Options of a mirror.
///
/// ```
/// use gureum_layers::mirror::{MirrorMode, MirrorOptions};
/// let o = MirrorOptions::default();
/// assert_eq!(o.mode, MirrorMode::Sync);
/// assert!(o.repair_queue.is_none() && o.background);
/// assert_eq!(o.visibility.as_secs(), 60);
/// ```
#[derive(Debug, Clone)]
pub struct MirrorOptions {
    /// Sync or async writes.
    pub mode: MirrorMode,
    /// When reads fall back to the secondary.
    pub fallback: ReadFallback,
    /// The durable repair queue: required in async mode; in sync mode optional (keys whose
    /// restore failed are queued there).
    pub repair_queue: Option<Queue>,
    /// Drain the repair queue in a background task while the store is alive (default true).
    pub background: bool,
    /// Visibility timeout of a received repair (a repair not acknowledged within it is
    /// retried, e.g. after the process died).
    pub visibility: Duration,
}

impl Default for MirrorOptions {
    fn default() -> Self {
        MirrorOptions {
            mode: MirrorMode::Sync,
            fallback: ReadFallback::Unavailable,
            repair_queue: None,
            background: true,
            visibility: Duration::from_secs(60),
        }
    }
}

/// What a drain did.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{object_store::memory::InMemory, Bucket};
/// use gureum_layers::mirror::{mirror_bucket_with_store, MirrorMode, MirrorOptions};
/// use std::{sync::Arc, time::Duration};
/// let (old, new) = (Bucket::new("old", Arc::new(InMemory::new())), Bucket::new("new", Arc::new(InMemory::new())));
/// let opts = MirrorOptions {
///     mode: MirrorMode::Async,
///     repair_queue: Some(gureum::open_queue("mem://drain-report-doc").await?),
///     background: false, // drain on demand only
///     ..MirrorOptions::default()
/// };
/// let (both, store) = mirror_bucket_with_store(old, new.clone(), opts)?;
/// both.put("a.csv", "1").await?;
/// assert!(!new.exists("a.csv").await?); // not copied yet
/// let report = store.drain(Duration::from_secs(10)).await?;
/// assert_eq!((report.repaired, report.failed, report.remaining), (1, 0, 0));
/// assert!(new.exists("a.csv").await?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DrainReport {
    /// Keys made equal on the secondary (copied or deleted).
    pub repaired: u64,
    /// Repairs that failed this time (they stay queued and are retried).
    pub failed: u64,
    /// Messages still in the queue when the drain stopped (0 when it emptied the queue).
    pub remaining: u64,
}

/// Two buckets written together (see the module documentation).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{object_store::memory::InMemory, Bucket};
/// use gureum_layers::mirror::{MirrorOptions, MirrorStore};
/// use std::sync::Arc;
/// let (p, s) = (Bucket::new("p", Arc::new(InMemory::new())), Bucket::new("s", Arc::new(InMemory::new())));
/// let store = MirrorStore::new(p, s, MirrorOptions::default())?;
/// assert_eq!(store.primary().name(), "p");
/// assert_eq!(store.pending().await?, 0); // sync mode without a repair queue
/// # Ok(()) }
/// ```
pub struct MirrorStore {
    primary: Bucket,
    secondary: Bucket,
    p: Arc<dyn ObjectStore>,
    s: Arc<dyn ObjectStore>,
    opts: MirrorOptions,
    /// Keys this process is writing (the drainer leaves them for later).
    inflight: Mutex<HashMap<Path, usize>>,
    notify: Notify,
}

impl fmt::Debug for MirrorStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MirrorStore")
            .field("primary", &self.primary.name())
            .field("secondary", &self.secondary.name())
            .field("mode", &self.opts.mode)
            .field("fallback", &self.opts.fallback)
            .finish()
    }
}

impl fmt::Display for MirrorStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Mirror({} -> {}, {})",
            self.p,
            self.s,
            self.opts.mode.as_str()
        )
    }
}

fn os_err(e: Error, path: &str) -> object_store::Error {
    e.into_object_store(STORE, path)
}

/// Marks a key in flight for as long as it lives.
struct InFlight {
    store: Weak<MirrorStore>,
    path: Path,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if let Some(s) = self.store.upgrade() {
            let mut m = s.inflight.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = m.get_mut(&self.path) {
                *n -= 1;
                if *n == 0 {
                    m.remove(&self.path);
                }
            }
            drop(m);
            s.notify.notify_one();
        }
    }
}

impl MirrorStore {
    /// A mirror of two buckets. Async mode needs [`MirrorOptions::repair_queue`]. With
    /// [`MirrorOptions::background`] the returned store drains its queue in a task of the
    /// current tokio runtime for as long as it is alive (it first drains what an earlier
    /// process left).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{object_store::memory::InMemory, Bucket, ErrorKind};
    /// use gureum_layers::mirror::{MirrorMode, MirrorOptions, MirrorStore};
    /// use std::sync::Arc;
    /// let (p, s) = (Bucket::new("p", Arc::new(InMemory::new())), Bucket::new("s", Arc::new(InMemory::new())));
    /// // Async mode needs a durable repair queue.
    /// let opts = MirrorOptions { mode: MirrorMode::Async, ..MirrorOptions::default() };
    /// assert_eq!(MirrorStore::new(p, s, opts).unwrap_err().kind(), ErrorKind::InvalidArgument);
    /// # Ok(()) }
    /// ```
    pub fn new(primary: Bucket, secondary: Bucket, opts: MirrorOptions) -> Result<Arc<Self>> {
        if opts.mode == MirrorMode::Async && opts.repair_queue.is_none() {
            return Err(Error::invalid(
                "an async mirror needs a durable repair queue (queue=URL)",
            ));
        }
        if opts.visibility.is_zero() {
            return Err(Error::invalid("the repair visibility must be at least 1 s"));
        }
        let store = Arc::new(MirrorStore {
            p: primary.object_store(),
            s: secondary.object_store(),
            primary,
            secondary,
            opts,
            inflight: Mutex::new(HashMap::new()),
            notify: Notify::new(),
        });
        if store.opts.background && store.opts.repair_queue.is_some() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(background(Arc::downgrade(&store)));
            }
        }
        Ok(store)
    }

    /// The primary bucket.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{object_store::memory::InMemory, Bucket};
    /// use gureum_layers::mirror::{mirror_bucket_with_store, MirrorOptions};
    /// use std::sync::Arc;
    /// let (p, s) = (Bucket::new("old-cloud", Arc::new(InMemory::new())), Bucket::new("new-cloud", Arc::new(InMemory::new())));
    /// let (_, store) = mirror_bucket_with_store(p, s, MirrorOptions::default())?;
    /// assert_eq!(store.primary().name(), "old-cloud"); // reads come from here
    /// # Ok(()) }
    /// ```
    pub fn primary(&self) -> &Bucket {
        &self.primary
    }
    /// The secondary bucket.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{object_store::memory::InMemory, Bucket};
    /// use gureum_layers::mirror::{mirror_bucket_with_store, MirrorOptions};
    /// use std::sync::Arc;
    /// let (p, s) = (Bucket::new("old-cloud", Arc::new(InMemory::new())), Bucket::new("new-cloud", Arc::new(InMemory::new())));
    /// let (both, store) = mirror_bucket_with_store(p, s, MirrorOptions::default())?;
    /// both.put("a", "1").await?;
    /// assert!(store.secondary().exists("a").await?);
    /// # Ok(()) }
    /// ```
    pub fn secondary(&self) -> &Bucket {
        &self.secondary
    }
    /// The options.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{object_store::memory::InMemory, Bucket};
    /// use gureum_layers::mirror::{mirror_bucket_with_store, MirrorOptions, ReadFallback};
    /// use std::sync::Arc;
    /// let (p, s) = (Bucket::new("p", Arc::new(InMemory::new())), Bucket::new("s", Arc::new(InMemory::new())));
    /// let opts = MirrorOptions { fallback: ReadFallback::Off, ..MirrorOptions::default() };
    /// let (_, store) = mirror_bucket_with_store(p, s, opts)?;
    /// assert_eq!(store.options().fallback, ReadFallback::Off);
    /// # Ok(()) }
    /// ```
    pub fn options(&self) -> &MirrorOptions {
        &self.opts
    }

    /// Repairs waiting in the queue (0 without a queue).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{object_store::memory::InMemory, Bucket};
    /// use gureum_layers::mirror::{mirror_bucket_with_store, MirrorMode, MirrorOptions};
    /// use std::sync::Arc;
    /// let (p, s) = (Bucket::new("p", Arc::new(InMemory::new())), Bucket::new("s", Arc::new(InMemory::new())));
    /// let queue = gureum::open_queue("mem://pending-doc").await?;
    /// let opts = MirrorOptions { mode: MirrorMode::Async, repair_queue: Some(queue), background: false, ..MirrorOptions::default() };
    /// let (both, store) = mirror_bucket_with_store(p, s, opts)?;
    /// both.put("a", "1").await?;
    /// both.put("b", "2").await?;
    /// assert_eq!(store.pending().await?, 2);
    /// # Ok(()) }
    /// ```
    pub async fn pending(&self) -> Result<u64> {
        match &self.opts.repair_queue {
            Some(q) => q.depth().await,
            None => Ok(0),
        }
    }

    fn begin(self: &Arc<Self>, path: &Path) -> InFlight {
        *self
            .inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(path.clone())
            .or_insert(0) += 1;
        InFlight {
            store: Arc::downgrade(self),
            path: path.clone(),
        }
    }

    fn is_inflight(&self, path: &Path) -> bool {
        self.inflight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(path)
    }

    /// Record `path` in the repair queue (durably, before the caller's write is acknowledged).
    async fn enqueue(&self, path: &Path) -> Result<()> {
        let q = self
            .opts
            .repair_queue
            .as_ref()
            .ok_or_else(|| Error::invalid("this mirror has no repair queue"))?;
        q.send(Message::new(Bytes::copy_from_slice(
            path.as_ref().as_bytes(),
        )))
        .await
        .map_err(|e| e.context_message("mirror: recording the key in the repair queue"))?;
        Ok(())
    }

    /// Make the secondary's object at `path` equal to the primary's: copy it (bytes, content
    /// type, metadata), or delete the secondary's when the primary has none. Re-reads the
    /// primary's etag afterwards and copies again when it changed meanwhile.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{key::encode_key, object_store::memory::InMemory, Bucket};
    /// use gureum_layers::mirror::{MirrorOptions, MirrorStore};
    /// use std::sync::Arc;
    /// let (p, s) = (Bucket::new("p", Arc::new(InMemory::new())), Bucket::new("s", Arc::new(InMemory::new())));
    /// p.put("only-on-primary.csv", "1").await?; // e.g. written before the mirror existed
    /// s.put("deleted-on-primary.csv", "x").await?;
    /// let store = MirrorStore::new(p, s.clone(), MirrorOptions::default())?;
    /// store.repair(&encode_key("only-on-primary.csv")?).await?;
    /// store.repair(&encode_key("deleted-on-primary.csv")?).await?;
    /// assert!(s.exists("only-on-primary.csv").await?);
    /// assert!(!s.exists("deleted-on-primary.csv").await?);
    /// # Ok(()) }
    /// ```
    pub async fn repair(&self, path: &Path) -> Result<()> {
        for _ in 0..REPAIR_TRIES {
            let before = self.copy_to_secondary(path).await?;
            let after = match self.p.head(path).await {
                Ok(m) => Some(m.e_tag),
                Err(object_store::Error::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            if before == after {
                return Ok(());
            }
            tracing::debug!(key = %path, "mirror: the primary changed during a repair; again");
        }
        Err(Error::new(
            ErrorKind::Unavailable,
            format!("mirror: {path} kept changing on the primary during repair"),
        ))
    }

    /// One copy primary → secondary; returns the primary's etag that was copied (`None`:
    /// the primary had no object, the secondary's was deleted).
    async fn copy_to_secondary(&self, path: &Path) -> Result<Option<Option<String>>> {
        let got = match self.p.get_opts(path, GetOptions::default()).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => {
                match self.s.delete(path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        let etag = got.meta.e_tag.clone();
        let attributes = got.attributes.clone();
        if got.meta.size <= REPAIR_BUFFERED_MAX {
            let data = got.bytes().await?;
            self.s
                .put_opts(
                    path,
                    PutPayload::from_bytes(data),
                    PutOptions {
                        attributes,
                        ..Default::default()
                    },
                )
                .await?;
        } else {
            let mut up = self
                .s
                .put_multipart_opts(
                    path,
                    PutMultipartOptions {
                        attributes,
                        ..Default::default()
                    },
                )
                .await?;
            let mut stream = got.into_stream();
            let mut buf = BytesMut::new();
            let r: Result<()> = async {
                while let Some(chunk) = stream.next().await {
                    buf.extend_from_slice(&chunk?);
                    while buf.len() >= REPAIR_PART {
                        let part = buf.split_to(REPAIR_PART).freeze();
                        up.put_part(PutPayload::from_bytes(part)).await?;
                    }
                }
                if !buf.is_empty() {
                    up.put_part(PutPayload::from_bytes(buf.split().freeze()))
                        .await?;
                }
                up.complete().await?;
                Ok(())
            }
            .await;
            if let Err(e) = r {
                let _ = up.abort().await;
                return Err(e);
            }
        }
        Ok(Some(etag))
    }

    /// After a failed primary write in sync mode: put the secondary back to the primary's
    /// state; queue the key when that fails too. Returns the error to give the caller.
    async fn restore(&self, path: &Path, cause: object_store::Error) -> object_store::Error {
        match self.repair(path).await {
            Ok(()) => cause,
            Err(re) => {
                let queued = match &self.opts.repair_queue {
                    Some(_) => self.enqueue(path).await.is_ok(),
                    None => false,
                };
                tracing::warn!(key = %path, error = %re, queued, "mirror: restoring the secondary after a failed primary write failed");
                let cause = Error::from(cause);
                let kind = cause.kind();
                os_err(
                    Error::new(
                        kind,
                        format!(
                            "{}; the secondary may hold the new object: restoring it from the primary failed ({}){}",
                            cause.message(),
                            re.message(),
                            if queued {
                                "; queued for repair"
                            } else {
                                "; run `gureum mirror verify`"
                            }
                        ),
                    ),
                    path.as_ref(),
                )
            }
        }
    }

    /// Drain the repair queue: repair every queued key, acknowledge it, until the queue is
    /// empty or `limit` has passed. Messages received by a process that died are retried
    /// once their visibility timeout has passed, so a drain after a crash waits up to
    /// [`MirrorOptions::visibility`] for them (within `limit`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{object_store::memory::InMemory, Bucket};
    /// use gureum_layers::mirror::{MirrorOptions, MirrorStore};
    /// use std::{sync::Arc, time::Duration};
    /// let (p, s) = (Bucket::new("p", Arc::new(InMemory::new())), Bucket::new("s", Arc::new(InMemory::new())));
    /// let store = MirrorStore::new(p, s, MirrorOptions::default())?;
    /// // Without a repair queue there is nothing to drain.
    /// assert_eq!(store.drain(Duration::from_secs(1)).await?.repaired, 0);
    /// # Ok(()) }
    /// ```
    pub async fn drain(&self, limit: Duration) -> Result<DrainReport> {
        let started = Instant::now();
        let mut rep = DrainReport::default();
        let Some(q) = self.opts.repair_queue.clone() else {
            return Ok(rep);
        };
        loop {
            let (repaired, failed, got) = self.drain_round(&q).await?;
            rep.repaired += repaired;
            rep.failed += failed;
            if got == 0 {
                let depth = q.depth().await?;
                if depth == 0 || started.elapsed() >= limit {
                    rep.remaining = depth;
                    return Ok(rep);
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            } else if started.elapsed() >= limit {
                rep.remaining = q.depth().await?;
                return Ok(rep);
            }
        }
    }

    /// Receive one batch of repairs and handle it: (repaired, failed, received).
    async fn drain_round(&self, q: &Queue) -> Result<(u64, u64, usize)> {
        let msgs = q
            .receive_with(ReceiveOptions {
                max_messages: DRAIN_BATCH,
                visibility: self.opts.visibility,
                wait: Duration::ZERO,
            })
            .await?;
        let got = msgs.len();
        let (mut repaired, mut failed) = (0, 0);
        // Several messages for one key in a batch: repair it once, ack them all.
        let mut by_key: Vec<(Path, Vec<gureum_core::queue::ReceivedMessage>)> = Vec::new();
        for m in msgs {
            let path = match std::str::from_utf8(&m.body).map(Path::parse) {
                Ok(Ok(p)) => p,
                _ => {
                    tracing::warn!("mirror: a repair message that is not a key; dropped");
                    q.ack(&m).await?;
                    continue;
                }
            };
            match by_key.iter_mut().find(|(p, _)| *p == path) {
                Some((_, v)) => v.push(m),
                None => by_key.push((path, vec![m])),
            }
        }
        for (path, ms) in by_key {
            if self.is_inflight(&path) {
                for m in &ms {
                    q.nack(m, Duration::from_millis(200)).await?;
                }
                continue;
            }
            match self.repair(&path).await {
                Ok(()) => {
                    q.ack_all(&ms).await?;
                    repaired += 1;
                }
                Err(e) => {
                    tracing::warn!(key = %path, error = %e, "mirror: repair failed; retried later");
                    for m in &ms {
                        q.nack(m, Duration::from_secs(1)).await?;
                    }
                    failed += 1;
                }
            }
        }
        Ok((repaired, failed, got))
    }

    /// The error of a primary read, or the secondary's answer when the fallback allows it.
    fn fallback_allowed(&self, e: &Error, conditional: bool) -> bool {
        !conditional && self.opts.fallback.allows(e.kind())
    }
}

/// The background drainer: runs while the store lives (it holds only a weak reference).
async fn background(store: Weak<MirrorStore>) {
    loop {
        let Some(s) = store.upgrade() else { return };
        let Some(q) = s.opts.repair_queue.clone() else {
            return;
        };
        let idle = match s.drain_round(&q).await {
            Ok((_, failed, got)) => got == 0 || failed > 0,
            Err(e) => {
                tracing::warn!(error = %e, "mirror: the repair queue could not be read");
                true
            }
        };
        if idle {
            let s2 = Arc::clone(&s);
            drop(s);
            let _ = tokio::time::timeout(Duration::from_millis(500), s2.notify.notified()).await;
            drop(s2);
        }
    }
}

fn conditional(o: &GetOptions) -> bool {
    o.if_match.is_some()
        || o.if_none_match.is_some()
        || o.if_modified_since.is_some()
        || o.if_unmodified_since.is_some()
        || o.version.is_some()
}

/// An `Arc<MirrorStore>` as an object store (the methods need the `Arc` for in-flight marks).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::object_store::{memory::InMemory, ObjectStore, ObjectStoreExt};
/// use gureum_core::{key::encode_key, Bucket};
/// use gureum_layers::mirror::{MirrorObjectStore, MirrorOptions, MirrorStore};
/// use std::sync::Arc;
/// let (p, s) = (Bucket::new("p", Arc::new(InMemory::new())), Bucket::new("s", Arc::new(InMemory::new())));
/// let store: Arc<dyn ObjectStore> = Arc::new(MirrorObjectStore(MirrorStore::new(p.clone(), s.clone(), MirrorOptions::default())?));
/// store.put(&encode_key("x")?, "1".into()).await?; // raw object_store API, both sides written
/// assert!(p.exists("x").await? && s.exists("x").await?);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct MirrorObjectStore(pub Arc<MirrorStore>);

impl fmt::Display for MirrorObjectStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[async_trait]
impl ObjectStore for MirrorObjectStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let m = &self.0;
        match m.opts.mode {
            MirrorMode::Sync => {
                let _f = m.begin(location);
                let sopts = PutOptions {
                    mode: PutMode::Overwrite,
                    attributes: opts.attributes.clone(),
                    tags: opts.tags.clone(),
                    ..Default::default()
                };
                m.s.put_opts(location, payload.clone(), sopts).await?;
                match m.p.put_opts(location, payload, opts).await {
                    Ok(r) => Ok(r),
                    Err(e) => Err(m.restore(location, e).await),
                }
            }
            MirrorMode::Async => {
                let _f = m.begin(location);
                m.enqueue(location)
                    .await
                    .map_err(|e| os_err(e, location.as_ref()))?;
                let r = m.p.put_opts(location, payload, opts).await;
                m.notify.notify_one();
                r
            }
        }
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let m = &self.0;
        let flight = m.begin(location);
        let secondary = match m.opts.mode {
            MirrorMode::Sync => Some(
                m.s.put_multipart_opts(
                    location,
                    PutMultipartOptions {
                        attributes: opts.attributes.clone(),
                        tags: opts.tags.clone(),
                        ..Default::default()
                    },
                )
                .await?,
            ),
            MirrorMode::Async => {
                m.enqueue(location)
                    .await
                    .map_err(|e| os_err(e, location.as_ref()))?;
                None
            }
        };
        let primary = match m.p.put_multipart_opts(location, opts).await {
            Ok(p) => p,
            Err(e) => {
                if let Some(mut s) = secondary {
                    let _ = s.abort().await;
                }
                return Err(e);
            }
        };
        Ok(Box::new(MirrorUpload {
            store: Arc::clone(m),
            path: location.clone(),
            primary,
            secondary,
            _flight: flight,
        }))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let m = &self.0;
        let cond = conditional(&options);
        match m.p.get_opts(location, options.clone()).await {
            Ok(r) => Ok(r),
            Err(e) => {
                let e = Error::from(e);
                if m.fallback_allowed(&e, cond) {
                    tracing::debug!(key = %location, error = %e, "mirror: read from the secondary");
                    m.s.get_opts(location, options).await
                } else {
                    Err(os_err(e, location.as_ref()))
                }
            }
        }
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let m = Arc::clone(&self.0);
        locations
            .then(move |r| {
                let m = Arc::clone(&m);
                async move {
                    let path = r?;
                    let _f = m.begin(&path);
                    match m.opts.mode {
                        MirrorMode::Sync => {
                            match m.s.delete(&path).await {
                                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                                Err(e) => return Err(e),
                            }
                            match m.p.delete(&path).await {
                                Ok(()) => Ok(path),
                                Err(e @ object_store::Error::NotFound { .. }) => Err(e),
                                Err(e) => Err(m.restore(&path, e).await),
                            }
                        }
                        MirrorMode::Async => {
                            m.enqueue(&path)
                                .await
                                .map_err(|e| os_err(e, path.as_ref()))?;
                            let r = m.p.delete(&path).await.map(|()| path);
                            m.notify.notify_one();
                            r
                        }
                    }
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let m = Arc::clone(&self.0);
        let prefix = prefix.cloned();
        list_with_fallback(m, move |s: &Arc<dyn ObjectStore>| s.list(prefix.as_ref()))
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let m = Arc::clone(&self.0);
        let (prefix, offset) = (prefix.cloned(), offset.clone());
        list_with_fallback(m, move |s: &Arc<dyn ObjectStore>| {
            s.list_with_offset(prefix.as_ref(), &offset)
        })
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let m = &self.0;
        match m.p.list_with_delimiter(prefix).await {
            Ok(r) => Ok(r),
            Err(e) => {
                let e = Error::from(e);
                if m.fallback_allowed(&e, false) && e.kind() != ErrorKind::NotFound {
                    m.s.list_with_delimiter(prefix).await
                } else {
                    Err(os_err(e, prefix.map(|p| p.as_ref()).unwrap_or("")))
                }
            }
        }
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        let m = &self.0;
        let _f = m.begin(to);
        match m.opts.mode {
            MirrorMode::Sync => {
                m.s.copy_opts(
                    from,
                    to,
                    CopyOptions {
                        mode: CopyMode::Overwrite,
                        ..Default::default()
                    },
                )
                .await?;
                match m.p.copy_opts(from, to, options).await {
                    Ok(()) => Ok(()),
                    Err(e) => Err(m.restore(to, e).await),
                }
            }
            MirrorMode::Async => {
                m.enqueue(to).await.map_err(|e| os_err(e, to.as_ref()))?;
                let r = m.p.copy_opts(from, to, options).await;
                m.notify.notify_one();
                r
            }
        }
    }
}

/// A listing of the primary that switches to the secondary when the primary fails before
/// its first entry and the fallback allows it (a failure later in the listing is returned).
fn list_with_fallback<F>(
    m: Arc<MirrorStore>,
    list: F,
) -> BoxStream<'static, object_store::Result<ObjectMeta>>
where
    F: Fn(&Arc<dyn ObjectStore>) -> BoxStream<'static, object_store::Result<ObjectMeta>>
        + Send
        + 'static,
{
    futures::stream::once(async move {
        let mut primary = list(&m.p);
        match primary.next().await {
            None => futures::stream::empty().boxed(),
            Some(Ok(first)) => futures::stream::once(async move { Ok(first) })
                .chain(primary)
                .boxed(),
            Some(Err(e)) => {
                let e = Error::from(e);
                if m.opts.fallback.allows(e.kind()) && e.kind() != ErrorKind::NotFound {
                    tracing::debug!(error = %e, "mirror: listing the secondary");
                    list(&m.s)
                } else {
                    futures::stream::once(async move { Err(os_err(e, "")) }).boxed()
                }
            }
        }
    })
    .flatten()
    .boxed()
}

/// A multipart upload through the mirror.
struct MirrorUpload {
    store: Arc<MirrorStore>,
    path: Path,
    primary: Box<dyn MultipartUpload>,
    secondary: Option<Box<dyn MultipartUpload>>,
    _flight: InFlight,
}

impl fmt::Debug for MirrorUpload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MirrorUpload")
            .field("path", &self.path)
            .field("mode", &self.store.opts.mode)
            .finish()
    }
}

#[async_trait]
impl MultipartUpload for MirrorUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        let p = self.primary.put_part(data.clone());
        match &mut self.secondary {
            None => p,
            Some(s) => {
                let s = s.put_part(data);
                Box::pin(async move {
                    let (a, b) = futures::future::join(s, p).await;
                    a?;
                    b
                })
            }
        }
    }

    async fn complete(&mut self) -> object_store::Result<PutResult> {
        if let Some(s) = &mut self.secondary {
            if let Err(e) = s.complete().await {
                let _ = self.primary.abort().await;
                return Err(e);
            }
        }
        let r = self.primary.complete().await;
        match r {
            Ok(r) => {
                self.store.notify.notify_one();
                Ok(r)
            }
            Err(e) if self.secondary.is_some() => Err(self.store.restore(&self.path, e).await),
            Err(e) => Err(e),
        }
    }

    async fn abort(&mut self) -> object_store::Result<()> {
        let a = self.primary.abort().await;
        if let Some(s) = &mut self.secondary {
            s.abort().await?;
        }
        a
    }
}

/// Capabilities of the mirror: what both sides can do (conditional writes are decided by the
/// primary; the smaller object size limit).
fn capabilities(p: &StorageCapabilities, s: &StorageCapabilities) -> StorageCapabilities {
    StorageCapabilities {
        presign: false,
        bucket_admin: false,
        conditional_create: p.conditional_create,
        conditional_update: p.conditional_update,
        user_metadata: p.user_metadata && s.user_metadata,
        content_type: p.content_type && s.content_type,
        multipart: p.multipart && s.multipart,
        copy: p.copy && s.copy,
        copy_if_not_exists: p.copy_if_not_exists && s.copy,
        sorted_listing: p.sorted_listing,
        max_object_size: match (p.max_object_size, s.max_object_size) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        },
        max_parts: match (p.max_parts, s.max_parts) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        },
    }
}

/// The less sovereign of two zones (what a policy must assume of data kept on both).
fn wider_zone(a: Zone, b: Zone) -> Zone {
    let rank = |z: Zone| match z {
        Zone::OnPrem => 0,
        Zone::DomesticCsap => 1,
        Zone::Foreign => 2,
    };
    if rank(a) >= rank(b) {
        a
    } else {
        b
    }
}

/// A bucket that mirrors `primary` to `secondary` (see the module documentation). The
/// bucket's zone is the less sovereign of the two, its capabilities what both can do.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{object_store::memory::InMemory, Bucket};
/// use gureum_layers::mirror::{mirror_bucket, MirrorOptions};
/// use std::sync::Arc;
/// let old = Bucket::new("old", Arc::new(InMemory::new()));
/// let new = Bucket::new("new", Arc::new(InMemory::new()));
/// let both = mirror_bucket(old.clone(), new.clone(), MirrorOptions::default())?;
/// both.put("민원/c-1041.json", "{}").await?;
/// assert_eq!(&new.get("민원/c-1041.json").await?[..], b"{}");
/// # Ok(()) }
/// ```
pub fn mirror_bucket(primary: Bucket, secondary: Bucket, opts: MirrorOptions) -> Result<Bucket> {
    let (b, _) = mirror_bucket_with_store(primary, secondary, opts)?;
    Ok(b)
}

/// [`mirror_bucket`], also returning the [`MirrorStore`] (to drain or inspect it).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{object_store::memory::InMemory, Bucket};
/// use gureum_layers::mirror::{mirror_bucket_with_store, MirrorOptions, MirrorStore};
/// use std::sync::Arc;
/// let (p, s) = (Bucket::new("p", Arc::new(InMemory::new())), Bucket::new("s", Arc::new(InMemory::new())));
/// let (bucket, store) = mirror_bucket_with_store(p, s, MirrorOptions::default())?;
/// assert_eq!(bucket.info().scheme, "mirror");
/// // The store is also the bucket's native handle.
/// assert!(std::ptr::eq(bucket.native::<MirrorStore>().unwrap(), &*store));
/// # Ok(()) }
/// ```
pub fn mirror_bucket_with_store(
    primary: Bucket,
    secondary: Bucket,
    opts: MirrorOptions,
) -> Result<(Bucket, Arc<MirrorStore>)> {
    let caps = capabilities(primary.capabilities(), secondary.capabilities());
    let info = BackendInfo {
        scheme: "mirror".into(),
        provider: format!("{}+{}", primary.info().provider, secondary.info().provider),
        zone: wider_zone(primary.info().zone, secondary.info().zone),
    };
    let name = primary.name().to_string();
    let store = MirrorStore::new(primary, secondary, opts)?;
    let b = Bucket::new(name, Arc::new(MirrorObjectStore(Arc::clone(&store))))
        .with_capabilities(caps)
        .with_info(info)
        .with_native(Arc::clone(&store) as Arc<dyn std::any::Any + Send + Sync>)
        .record_layer("mirror", false);
    Ok((b, store))
}

/// The parsed parameters of a `mirror://` URL.
///
/// ```
/// use gureum_core::ResourceUrl;
/// use gureum_layers::mirror::{MirrorMode, MirrorUrl};
/// let u = ResourceUrl::parse("mirror://?primary=file%3A%2F%2F%2Fsrv%2Fold&secondary=mem%3A%2F%2Fnew&mode=async").unwrap();
/// let m = MirrorUrl::parse(&u).unwrap();
/// assert_eq!((m.primary.as_str(), m.secondary.as_str()), ("file:///srv/old", "mem://new"));
/// assert_eq!(m.mode, MirrorMode::Async);
/// assert_eq!(m.visibility, 60);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorUrl {
    /// The primary bucket URL.
    pub primary: String,
    /// The secondary bucket URL.
    pub secondary: String,
    /// Sync or async.
    pub mode: MirrorMode,
    /// Read fallback.
    pub fallback: ReadFallback,
    /// The repair queue URL (async default: sqlite under the state directory).
    pub queue: Option<String>,
    /// Background drain (`drain=background`, default) or only on demand (`drain=manual`).
    pub background: bool,
    /// Visibility timeout of repairs, in seconds.
    pub visibility: u64,
}

impl MirrorUrl {
    /// Parse a `mirror://` URL (parameters `primary`, `secondary`, `mode`, `fallback`, `queue`,
    /// `drain`, `visibility`).
    ///
    /// ```
    /// use gureum_core::{ErrorKind, ResourceUrl};
    /// use gureum_layers::mirror::MirrorUrl;
    /// let same = ResourceUrl::parse("mirror://?primary=mem%3A%2F%2Fa&secondary=mem%3A%2F%2Fa").unwrap();
    /// assert_eq!(MirrorUrl::parse(&same).unwrap_err().kind(), ErrorKind::InvalidArgument);
    /// let no_secondary = ResourceUrl::parse("mirror://?primary=mem%3A%2F%2Fa").unwrap();
    /// assert!(MirrorUrl::parse(&no_secondary).is_err());
    /// ```
    pub fn parse(url: &ResourceUrl) -> Result<Self> {
        if url.scheme() != "mirror" {
            return Err(Error::invalid(format!(
                "not a mirror URL: {}",
                url.redacted()
            )));
        }
        let primary = url.require("primary")?.to_string();
        let secondary = url.require("secondary")?.to_string();
        let mode = MirrorMode::parse(url.param("mode").unwrap_or("sync"))?;
        let fallback = ReadFallback::parse(url.param("fallback").unwrap_or("unavailable"))?;
        let background = match url.param("drain").unwrap_or("background") {
            "background" => true,
            "manual" => false,
            d => {
                return Err(Error::invalid(format!(
                    "mirror drain {d:?}: expected background or manual"
                )))
            }
        };
        let visibility = url.u64_param("visibility")?.unwrap_or(60);
        if visibility == 0 {
            return Err(Error::invalid("mirror visibility must be at least 1 s"));
        }
        for (name, inner) in [("primary", &primary), ("secondary", &secondary)] {
            let u = ResourceUrl::parse(inner)
                .map_err(|e| e.context_message(format!("mirror {name} URL")))?;
            if u.scheme() == "mirror" {
                return Err(Error::invalid(format!(
                    "mirror {name}: a mirror of mirrors is not supported"
                )));
            }
        }
        if primary == secondary {
            return Err(Error::invalid(
                "mirror: primary and secondary are the same URL",
            ));
        }
        Ok(MirrorUrl {
            primary,
            secondary,
            mode,
            fallback,
            queue: url.param("queue").map(str::to_string),
            background,
            visibility,
        })
    }

    /// The repair queue URL: `queue=`, else (async mode) a sqlite queue under the state
    /// directory named after the pair, else none.
    ///
    /// ```
    /// use gureum_core::ResourceUrl;
    /// use gureum_layers::mirror::MirrorUrl;
    /// let sync = MirrorUrl::parse(&ResourceUrl::parse("mirror://?primary=mem%3A%2F%2Fa&secondary=mem%3A%2F%2Fb").unwrap()).unwrap();
    /// assert_eq!(sync.queue_url(), None); // sync mode: no repair queue unless queue= is given
    /// std::env::set_var("GUREUM_STATE_DIR", "/var/lib/civic/state");
    /// let a = MirrorUrl::parse(&ResourceUrl::parse("mirror://?primary=mem%3A%2F%2Fa&secondary=mem%3A%2F%2Fb&mode=async").unwrap()).unwrap();
    /// assert!(a.queue_url().unwrap().starts_with("sqlite:///var/lib/civic/state/mirror/"));
    /// ```
    pub fn queue_url(&self) -> Option<String> {
        if let Some(q) = &self.queue {
            return Some(q.clone());
        }
        if self.mode == MirrorMode::Sync {
            return None;
        }
        let dir = state_dir().join("mirror");
        let id = pair_id(&self.primary, &self.secondary);
        Some(format!(
            "sqlite://{}?queue=repair",
            dir.join(format!("{id}.sqlite")).display()
        ))
    }
}

/// `$GUREUM_STATE_DIR`, `$XDG_STATE_HOME/gureum`, `~/.local/state/gureum`.
fn state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("GUREUM_STATE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME") {
        return PathBuf::from(d).join("gureum");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/state/gureum"),
        None => std::env::temp_dir().join("gureum-state"),
    }
}

/// A stable short id of a (primary, secondary) pair.
fn pair_id(a: &str, b: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(a.as_bytes());
    h.update([0]);
    h.update(b.as_bytes());
    hex::encode(&h.finalize()[..8])
}

/// Opens `mirror://` URLs with the providers (and layers) of the registry it was built from.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// // gureum::registry() registers the opener: a dual run is one URL.
/// let url = "mirror://?primary=mem%3A%2F%2Fopener-old&secondary=mem%3A%2F%2Fopener-new";
/// let both = gureum::open_bucket(url).await?;
/// both.put("a.json", "{}").await?;
/// assert!(gureum::open_bucket("mem://opener-new").await?.exists("a.json").await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MirrorOpener {
    registry: Registry,
}

impl fmt::Debug for MirrorOpener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MirrorOpener")
    }
}

impl MirrorOpener {
    /// An opener that opens the inner URLs with `registry`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::ResourceUrl;
    /// use gureum_layers::mirror::{MirrorOpener, MirrorUrl};
    /// let opener = MirrorOpener::new(gureum::registry());
    /// let m = MirrorUrl::parse(&ResourceUrl::parse("mirror://?primary=mem%3A%2F%2Fmo-a&secondary=mem%3A%2F%2Fmo-b").unwrap())?;
    /// let (bucket, store) = opener.open(&m).await?;
    /// assert_eq!(bucket.name(), store.primary().name());
    /// # Ok(()) }
    /// ```
    pub fn new(registry: Registry) -> Self {
        MirrorOpener { registry }
    }

    /// Open a mirror from parsed parameters; also returns the store.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::ResourceUrl;
    /// use gureum_layers::mirror::{MirrorOpener, MirrorUrl};
    /// let tmp = tempfile::tempdir()?;
    /// let q = format!("sqlite://{}/repair.db?queue=repair", tmp.path().display());
    /// let url = format!("mirror://?primary=mem%3A%2F%2Fmo2-a&secondary=mem%3A%2F%2Fmo2-b&mode=async&drain=manual&queue={}",
    ///     q.replace(':', "%3A").replace('/', "%2F").replace('?', "%3F").replace('=', "%3D"));
    /// let m = MirrorUrl::parse(&ResourceUrl::parse(&url).unwrap())?;
    /// let (bucket, store) = MirrorOpener::new(gureum::registry()).open(&m).await?;
    /// bucket.put("a", "1").await?;
    /// assert_eq!(store.pending().await?, 1); // queued in the sqlite repair queue
    /// # Ok(()) }
    /// ```
    pub async fn open(&self, m: &MirrorUrl) -> Result<(Bucket, Arc<MirrorStore>)> {
        let primary = self
            .registry
            .open_bucket(Some(&m.primary))
            .await
            .map_err(|e| e.context_message("mirror primary"))?;
        let secondary = self
            .registry
            .open_bucket(Some(&m.secondary))
            .await
            .map_err(|e| e.context_message("mirror secondary"))?;
        let repair_queue = match m.queue_url() {
            Some(q) => {
                if let Some(path) = q
                    .strip_prefix("sqlite://")
                    .and_then(|p| p.split('?').next())
                {
                    if let Some(parent) = std::path::Path::new(path).parent() {
                        std::fs::create_dir_all(parent)?;
                    }
                }
                Some(
                    self.registry
                        .open_queue(Some(&q))
                        .await
                        .map_err(|e| e.context_message("mirror repair queue"))?,
                )
            }
            None => None,
        };
        mirror_bucket_with_store(
            primary,
            secondary,
            MirrorOptions {
                mode: m.mode,
                fallback: m.fallback,
                repair_queue,
                background: m.background,
                visibility: Duration::from_secs(m.visibility),
            },
        )
    }
}

#[async_trait]
impl StorageOpener for MirrorOpener {
    async fn open_bucket(&self, url: &ResourceUrl) -> Result<Bucket> {
        let m = MirrorUrl::parse(url)?;
        Ok(self.open(&m).await?.0)
    }
}

/// Register `mirror://` with `registry`: the inner URLs are opened with the providers and
/// layers registered so far (call it last).
///
/// ```
/// let mut registry = gureum_core::Registry::new();
/// gureum_layers::mirror::register(&mut registry); // call it after the providers
/// assert!(registry.scheme_info(gureum_core::Service::Storage, "mirror").is_some());
/// ```
pub fn register(registry: &mut Registry) {
    let opener = MirrorOpener::new(registry.clone());
    registry.register_storage("mirror", Arc::new(opener));
    registry.describe(SCHEMES);
}

#[cfg(test)]
mod tests {
    use super::*;
    use gureum_core::object_store::memory::InMemory;

    fn mem(name: &str) -> Bucket {
        Bucket::new(name, Arc::new(InMemory::new()))
    }

    #[tokio::test]
    async fn sync_writes_both_and_restores_the_secondary_when_the_primary_refuses() {
        let (p, s) = (mem("p"), mem("s"));
        let b = mirror_bucket(p.clone(), s.clone(), MirrorOptions::default()).unwrap();
        b.put("a", "1").await.unwrap();
        assert_eq!(&s.get("a").await.unwrap()[..], b"1");
        // Create-only refused by the primary: the secondary keeps the primary's bytes.
        let e = b
            .put_with(
                "a",
                "2",
                &gureum_core::PutOptions::default().mode(gureum_core::WriteMode::CreateOnly),
            )
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert_eq!(&s.get("a").await.unwrap()[..], b"1");
        assert_eq!(&p.get("a").await.unwrap()[..], b"1");
        // A create-only write of a new key that the primary refuses... (none here): a delete.
        b.delete("a").await.unwrap();
        assert!(!s.exists("a").await.unwrap() && !p.exists("a").await.unwrap());
    }

    #[test]
    fn url_parameters() {
        let u = ResourceUrl::parse(
            "mirror://?primary=file%3A%2F%2F%2Fa&secondary=s3%3A%2F%2Fb%3Fregion%3Dkr&mode=async",
        )
        .unwrap();
        let m = MirrorUrl::parse(&u).unwrap();
        assert_eq!(m.primary, "file:///a");
        assert_eq!(m.secondary, "s3://b?region=kr");
        assert_eq!(m.mode, MirrorMode::Async);
        assert!(m.queue_url().unwrap().starts_with("sqlite://"));
        for bad in [
            "mirror://?primary=file%3A%2F%2F%2Fa",
            "mirror://?primary=file%3A%2F%2F%2Fa&secondary=file%3A%2F%2F%2Fa",
            "mirror://?primary=file%3A%2F%2F%2Fa&secondary=mem%3A%2F%2Fb&mode=both",
            "mirror://?primary=file%3A%2F%2F%2Fa&secondary=mem%3A%2F%2Fb&fallback=x",
        ] {
            let u = ResourceUrl::parse(bad).unwrap();
            assert_eq!(
                MirrorUrl::parse(&u).unwrap_err().kind(),
                ErrorKind::InvalidArgument,
                "{bad}"
            );
        }
    }
}
