//! The access record: a tamper-evident log of every data operation through the SDK.
//!
//! Stacked with `audit=SINK` on a URL or profile (or [`AuditLayer`] through the API), the
//! layer writes one JSON line per operation — principal (configured identity, OS user and
//! host), operation, resource URL (secrets redacted) and key, time, outcome, bytes, count and
//! the provider's request id when it gave one — never object contents, message bodies or
//! credentials. Each entry carries the SHA-256 of the previous one (`prev`) and its own
//! (`hash`); every `audit_checkpoint` entries (default 64) a `checkpoint` entry signs the
//! chain head with HMAC-SHA256 under the city's key (`audit_key`), and a signed head
//! (last sequence number and hash) is kept beside the record so truncation shows.
//! [`verify`] (CLI `gureum audit verify`) names the first edited, deleted, reordered or
//! truncated entry; [`Query`] (CLI `gureum audit query`) filters by principal, key or
//! resource prefix, operation and time.
//!
//! Sinks (`audit=`):
//! * `file:///var/log/gureum/audit.jsonl` — appended JSON lines, head in `audit.jsonl.head`;
//! * `sqlite:///var/lib/gureum/audit.db` — rows of table `audit_entries`, head in `audit_head`;
//! * `bucket+URL#PREFIX` — create-only segment objects in any bucket gureum opens
//!   (`bucket+s3://city-audit#app1`; percent-encode it inside another URL's query, or put it
//!   in the profile's `params`).
//!
//! Parameters: `audit` (sink), `audit_key` (`file:///etc/gureum/audit.key` or `env:NAME`;
//! the key's bytes), `audit_principal` (the configured identity; else `GUREUM_PRINCIPAL`),
//! `audit_checkpoint` (entries between checkpoints).
//!
//! One process writes one record: handles opened on the same sink in a process share one
//! chain; separate processes should use separate sinks (a file per host or service).
//! A failure to write the record fails the operation with that error (the operation itself
//! may have happened): an unrecorded access is not silently allowed.

pub mod chain;
pub mod sink;

pub use chain::{
    check_key, parse_time, public_key, verify, Entry, Head, Principal, Problem, Query,
    Verification, ED25519_PUBLIC_PREFIX, ED25519_SECRET_PREFIX,
};
pub use sink::{BucketSink, FileSink, Sink, SqliteSink};

use crate::{BucketLayerExt, Layer, QueueLayerExt};
use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use gureum_core::object_store::path::Path;
use gureum_core::object_store::{
    self, CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions,
};
use gureum_core::{
    Bucket, Error, ErrorKind, LayerOpener, LayerParams, LayerSlot, Message, OpenTarget, Queue,
    QueueCapabilities, QueueDriver, ReceiveOptions, ReceivedMessage, Registry, Result,
};
use secrecy::{ExposeSecret, SecretSlice};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// URL / profile parameter: the sink.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_layers::audit::{query_spec, Query, PARAM_AUDIT};
/// let tmp = tempfile::tempdir()?;
/// let record = format!("file://{}/audit.jsonl", tmp.path().display());
/// let bucket = gureum::open_bucket(&format!("mem://audit-param-doc?{PARAM_AUDIT}={record}")).await?;
/// bucket.put("민원/c-1.json", "{}").await?;
/// let puts = query_spec(&record, &Query { op: Some("put".into()), ..Query::default() }, &gureum::registry()).await?;
/// assert_eq!(puts[0].key.as_deref(), Some("민원/c-1.json"));
/// # Ok(()) }
/// ```
pub const PARAM_AUDIT: &str = "audit";
/// URL / profile parameter: the checkpoint key (`file:///path` or `env:NAME`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_layers::audit::{load_key, verify_spec, PARAM_KEY};
/// let tmp = tempfile::tempdir()?;
/// std::env::set_var("AUDIT_KEY_DOC", "0123456789abcdef0123456789abcdef");
/// let record = format!("file://{}/a.jsonl", tmp.path().display());
/// let url = format!("mem://audit-key-doc?audit={record}&{PARAM_KEY}=env:AUDIT_KEY_DOC&audit_checkpoint=1");
/// gureum::open_bucket(&url).await?.put("a", "1").await?;
/// // Checkpoints are signed: verification with the key checks the signatures.
/// let key = load_key("env:AUDIT_KEY_DOC")?;
/// let v = verify_spec(&record, Some(&key), &gureum::registry()).await?;
/// assert!(v.ok() && v.checkpoints >= 1);
/// # Ok(()) }
/// ```
pub const PARAM_KEY: &str = "audit_key";
/// URL / profile parameter: the configured identity.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_layers::audit::{query_spec, Query, PARAM_PRINCIPAL};
/// let tmp = tempfile::tempdir()?;
/// let record = format!("file://{}/a.jsonl", tmp.path().display());
/// let url = format!("mem://audit-principal-doc?audit={record}&{PARAM_PRINCIPAL}=ocr-worker");
/// gureum::open_bucket(&url).await?.put("a", "1").await?;
/// let mine = Query { principal: Some("ocr-worker".into()), ..Query::default() };
/// assert_eq!(query_spec(&record, &mine, &gureum::registry()).await?.len(), 1);
/// # Ok(()) }
/// ```
pub const PARAM_PRINCIPAL: &str = "audit_principal";
/// URL / profile parameter: entries between checkpoints.
///
/// ```
/// use gureum_layers::audit::{DEFAULT_CHECKPOINT, PARAM_CHECKPOINT};
/// assert_eq!((PARAM_CHECKPOINT, DEFAULT_CHECKPOINT), ("audit_checkpoint", 64));
/// ```
pub const PARAM_CHECKPOINT: &str = "audit_checkpoint";
/// Environment variable: the configured identity when `audit_principal` is not given.
///
/// ```
/// use gureum_layers::audit::{Principal, ENV_PRINCIPAL};
/// std::env::set_var(ENV_PRINCIPAL, "traffic-batch");
/// let id = std::env::var(ENV_PRINCIPAL).ok();
/// assert_eq!(Principal::current(id).id.as_deref(), Some("traffic-batch"));
/// ```
pub const ENV_PRINCIPAL: &str = "GUREUM_PRINCIPAL";
/// Default entries between checkpoints.
///
/// ```
/// use gureum_layers::audit::DEFAULT_CHECKPOINT;
/// assert!(DEFAULT_CHECKPOINT > 1); // a checkpoint every 64 entries unless audit_checkpoint= says otherwise
/// ```
pub const DEFAULT_CHECKPOINT: u64 = 64;

/// Read a checkpoint key: `file:///path` (its bytes, a trailing newline dropped) or
/// `env:NAME` (the variable's value).
///
/// ```
/// # fn main() -> gureum_core::Result<()> {
/// use gureum_core::secrecy::ExposeSecret;
/// use gureum_layers::audit::load_key;
/// let tmp = tempfile::tempdir()?;
/// let path = tmp.path().join("audit.key");
/// std::fs::write(&path, "a-key-of-at-least-16-bytes\n")?;
/// let key = load_key(&format!("file://{}", path.display()))?;
/// assert_eq!(key.expose_secret(), b"a-key-of-at-least-16-bytes"); // newline dropped
/// assert!(load_key("hunter2").is_err()); // never the key itself
/// # Ok(()) }
/// ```
pub fn load_key(spec: &str) -> Result<SecretSlice<u8>> {
    let bytes = if let Some(name) = spec.strip_prefix("env:") {
        std::env::var(name)
            .map_err(|_| {
                Error::invalid(format!("audit_key: environment variable {name} is not set"))
            })?
            .into_bytes()
    } else if let Some(path) = spec.strip_prefix("file://") {
        let mut b = std::fs::read(path)
            .map_err(|e| Error::from(e).context_message(format!("audit_key: reading {path}")))?;
        while b.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
            b.pop();
        }
        b
    } else {
        return Err(Error::invalid(
            "audit_key: use file:///path/to/key or env:NAME (the key itself never goes in a URL)",
        ));
    };
    if bytes.len() < 16 {
        return Err(Error::invalid(
            "audit_key: the key is shorter than 16 bytes",
        ));
    }
    Ok(SecretSlice::from(bytes))
}

struct State {
    seq: u64,
    prev: String,
    since_checkpoint: u64,
}

struct LogInner {
    sink: Arc<dyn Sink>,
    key: Option<SecretSlice<u8>>,
    checkpoint_every: u64,
    state: Mutex<State>,
}

impl fmt::Debug for LogInner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLog")
            .field("sink", &self.sink.describe())
            .field("signed", &self.key.is_some())
            .field("checkpoint_every", &self.checkpoint_every)
            .finish()
    }
}

impl Drop for LogInner {
    fn drop(&mut self) {
        // Close with a checkpoint so the head covers every entry (local sinks write it now;
        // a bucket sink needs an explicit `flush().await` before the handle goes).
        let st = self.state.get_mut().expect("log lock");
        if st.since_checkpoint > 0 {
            if let Err(e) = Self::checkpoint(&self.sink, self.key.as_ref(), st) {
                tracing::error!(error = %e, "access record: final checkpoint failed");
            }
        }
    }
}

impl LogInner {
    fn checkpoint(
        sink: &Arc<dyn Sink>,
        key: Option<&SecretSlice<u8>>,
        st: &mut State,
    ) -> Result<()> {
        let seq = st.seq + 1;
        let e = Entry {
            seq,
            time: chain::now(),
            kind: "checkpoint".into(),
            sig: key
                .map(|k| chain::sign(k.expose_secret(), seq - 1, &st.prev))
                .transpose()?,
            prev: st.prev.clone(),
            ..Default::default()
        };
        let (e, line) = e.seal();
        sink.append(&[line])?;
        st.seq = seq;
        st.prev = e.hash.clone();
        st.since_checkpoint = 0;
        sink.set_head(&Head {
            seq,
            sig: key
                .map(|k| chain::sign(k.expose_secret(), seq, &e.hash))
                .transpose()?,
            hash: e.hash,
        })
    }
}

/// An open access record: appends chained entries to a [`Sink`] and signs checkpoints.
/// Cheap to clone; clones share the chain.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_layers::audit::{AuditLog, Entry, FileSink, Sink};
/// use std::sync::Arc;
/// let tmp = tempfile::tempdir()?;
/// let sink = Arc::new(FileSink::new(tmp.path().join("a.jsonl")));
/// let log = AuditLog::open(sink.clone(), None, 64).await?;
/// log.record(Entry { op: Some("export".into()), key: Some("stats.csv".into()), ..Entry::default() })?;
/// log.flush().await?; // writes a checkpoint and the head
/// assert_eq!(sink.read_lines().await?.len(), 2); // the entry and the checkpoint
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AuditLog {
    inner: Arc<LogInner>,
}

fn shared_logs() -> &'static Mutex<HashMap<String, Weak<LogInner>>> {
    static LOGS: std::sync::OnceLock<Mutex<HashMap<String, Weak<LogInner>>>> =
        std::sync::OnceLock::new();
    LOGS.get_or_init(Default::default)
}

impl AuditLog {
    /// Open a record on `sink`, continuing its chain. `key` signs checkpoints;
    /// `checkpoint_every` entries (at least 1) separate them.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_layers::audit::{AuditLog, Entry, FileSink};
    /// use std::sync::Arc;
    /// let tmp = tempfile::tempdir()?;
    /// let path = tmp.path().join("a.jsonl");
    /// let log = AuditLog::open(Arc::new(FileSink::new(&path)), None, 64).await?;
    /// log.record(Entry { op: Some("put".into()), ..Entry::default() })?;
    /// drop(log);
    /// // Opening again continues the chain after the last entry.
    /// let log = AuditLog::open(Arc::new(FileSink::new(&path)), None, 64).await?;
    /// log.record(Entry { op: Some("get".into()), ..Entry::default() })?;
    /// let lines = std::fs::read_to_string(&path)?;
    /// let v = gureum_layers::audit::verify(lines.lines(), None, None);
    /// assert!(v.ok());
    /// # Ok(()) }
    /// ```
    pub async fn open(
        sink: Arc<dyn Sink>,
        key: Option<SecretSlice<u8>>,
        checkpoint_every: u64,
    ) -> Result<Self> {
        if let Some(k) = &key {
            chain::check_key(k.expose_secret(), true)?;
        }
        let (seq, prev) = match sink.last_line().await? {
            Some(l) => {
                let e: Entry = serde_json::from_str(&l).map_err(|e| {
                    Error::new(
                        ErrorKind::Integrity,
                        format!(
                            "access record {}: the last entry does not parse ({e}); run `gureum \
                             audit verify` and start a new record",
                            sink.describe()
                        ),
                    )
                })?;
                (e.seq, e.hash)
            }
            None => (0, chain::GENESIS.to_string()),
        };
        Ok(AuditLog {
            inner: Arc::new(LogInner {
                sink,
                key,
                checkpoint_every: checkpoint_every.max(1),
                state: Mutex::new(State {
                    seq,
                    prev,
                    since_checkpoint: 0,
                }),
            }),
        })
    }

    /// Open the record `spec` names (`file://`, `sqlite://`, `bucket+URL#PREFIX`), shared
    /// with other handles of this process on the same spec. `registry` opens bucket sinks.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_layers::audit::AuditLog;
    /// let tmp = tempfile::tempdir()?;
    /// let spec = format!("sqlite://{}/audit.db", tmp.path().display());
    /// let a = AuditLog::open_spec(&spec, None, 64, &gureum::registry()).await?;
    /// let b = AuditLog::open_spec(&spec, None, 64, &gureum::registry()).await?;
    /// // Handles on one spec in one process share one chain.
    /// assert!(std::sync::Arc::ptr_eq(a.sink(), b.sink()));
    /// # Ok(()) }
    /// ```
    pub async fn open_spec(
        spec: &str,
        key: Option<SecretSlice<u8>>,
        checkpoint_every: u64,
        registry: &Registry,
    ) -> Result<Self> {
        if let Some(inner) = shared_logs()
            .lock()
            .expect("logs lock")
            .get(spec)
            .and_then(Weak::upgrade)
        {
            return Ok(AuditLog { inner });
        }
        let sink = open_sink(spec, registry).await?;
        let log = Self::open(sink, key, checkpoint_every).await?;
        let mut logs = shared_logs().lock().expect("logs lock");
        logs.retain(|_, w| w.strong_count() > 0);
        if let Some(inner) = logs.get(spec).and_then(Weak::upgrade) {
            // Another task opened it meanwhile: use that one.
            return Ok(AuditLog { inner });
        }
        logs.insert(spec.to_string(), Arc::downgrade(&log.inner));
        Ok(log)
    }

    /// The sink.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_layers::audit::{AuditLog, FileSink};
    /// let tmp = tempfile::tempdir()?;
    /// let log = AuditLog::open(std::sync::Arc::new(FileSink::new(tmp.path().join("a.jsonl"))), None, 8).await?;
    /// assert!(log.sink().describe().ends_with("a.jsonl"));
    /// # Ok(()) }
    /// ```
    pub fn sink(&self) -> &Arc<dyn Sink> {
        &self.inner.sink
    }

    /// Append one operation entry (sequence, time, chain and hash are filled in).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_layers::audit::{AuditLog, Entry, FileSink, Sink};
    /// use std::sync::Arc;
    /// let tmp = tempfile::tempdir()?;
    /// let sink = Arc::new(FileSink::new(tmp.path().join("a.jsonl")));
    /// let log = AuditLog::open(sink.clone(), None, 2).await?; // a checkpoint every 2 entries
    /// for op in ["put", "get"] {
    ///     log.record(Entry { op: Some(op.into()), ..Entry::default() })?;
    /// }
    /// let lines = sink.read_lines().await?;
    /// assert_eq!(lines.len(), 3); // put, get, checkpoint
    /// assert!(lines[2].contains("\"kind\":\"checkpoint\""));
    /// # Ok(()) }
    /// ```
    pub fn record(&self, entry: Entry) -> Result<()> {
        let mut st = self.inner.state.lock().expect("log lock");
        let seq = st.seq + 1;
        let e = Entry {
            seq,
            time: chain::now(),
            kind: "op".into(),
            prev: std::mem::take(&mut st.prev),
            ..entry
        };
        let prev_backup = e.prev.clone();
        let (e, line) = e.seal();
        if let Err(err) = self.inner.sink.append(&[line]) {
            st.prev = prev_backup;
            return Err(err);
        }
        st.seq = seq;
        st.prev = e.hash;
        st.since_checkpoint += 1;
        if st.since_checkpoint >= self.inner.checkpoint_every {
            LogInner::checkpoint(&self.inner.sink, self.inner.key.as_ref(), &mut st)?;
        }
        Ok(())
    }

    /// Write a checkpoint now (if entries were added since the last one) and send what a
    /// remote sink buffered.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_layers::audit::{AuditLog, Entry, FileSink, Sink};
    /// use std::sync::Arc;
    /// let tmp = tempfile::tempdir()?;
    /// let sink = Arc::new(FileSink::new(tmp.path().join("a.jsonl")));
    /// let log = AuditLog::open(sink.clone(), None, 64).await?;
    /// log.record(Entry { op: Some("delete".into()), ..Entry::default() })?;
    /// assert!(sink.head().await?.is_none());
    /// log.flush().await?;
    /// assert_eq!(sink.head().await?.unwrap().seq, 2); // the head covers the checkpoint
    /// # Ok(()) }
    /// ```
    pub async fn flush(&self) -> Result<()> {
        {
            let mut st = self.inner.state.lock().expect("log lock");
            if st.since_checkpoint > 0 {
                LogInner::checkpoint(&self.inner.sink, self.inner.key.as_ref(), &mut st)?;
            }
        }
        self.inner.sink.flush().await
    }

    async fn flush_if_needed(&self) -> Result<()> {
        if self.inner.sink.needs_flush() {
            self.inner.sink.flush().await
        } else {
            Ok(())
        }
    }
}

/// Open a sink by spec (see the module documentation).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_layers::audit::open_sink;
/// let tmp = tempfile::tempdir()?;
/// let registry = gureum::registry();
/// let file = open_sink(&format!("file://{}/a.jsonl", tmp.path().display()), &registry).await?;
/// assert!(file.describe().starts_with("file://"));
/// let bucket = open_sink("bucket+mem://audit-sink-doc#app1", &registry).await?;
/// assert!(bucket.read_lines().await?.is_empty());
/// assert!(open_sink("ftp://host/a", &registry).await.is_err());
/// # Ok(()) }
/// ```
pub async fn open_sink(spec: &str, registry: &Registry) -> Result<Arc<dyn Sink>> {
    if let Some(rest) = spec.strip_prefix("bucket+") {
        let (url, prefix) = match rest.split_once('#') {
            Some((u, p)) => (u, p),
            None => (rest, ""),
        };
        let b = registry.open_bucket(Some(url)).await?;
        return Ok(Arc::new(BucketSink::new(b, prefix)));
    }
    let u = gureum_core::ResourceUrl::parse(spec)?;
    match u.scheme() {
        "file" => Ok(Arc::new(FileSink::new(local_path(&u)?))),
        "sqlite" => Ok(Arc::new(SqliteSink::open(local_path(&u)?)?)),
        other => Err(Error::invalid(format!(
            "audit={spec}: unknown sink {other:?}; use file:///path, sqlite:///path or \
             bucket+URL#PREFIX"
        ))),
    }
}

fn local_path(u: &gureum_core::ResourceUrl) -> Result<String> {
    let p = format!("{}{}", u.host(), u.path());
    if p.is_empty() || p.ends_with('/') {
        return Err(Error::invalid(format!("audit={u}: name a file")));
    }
    Ok(p)
}

/// The access-record layer over a bucket or queue.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{object_store::memory::InMemory, Bucket};
/// use gureum_layers::audit::{verify, AuditLayer, AuditLog, FileSink, Principal};
/// use gureum_layers::BucketLayerExt;
/// use std::sync::Arc;
/// let tmp = tempfile::tempdir()?;
/// let path = tmp.path().join("access.jsonl");
/// let log = AuditLog::open(Arc::new(FileSink::new(&path)), None, 64).await?;
/// let layer = AuditLayer::new(log.clone(), Principal::current(Some("clerk-7".into())), "mem://complaints");
/// let bucket = Bucket::new("complaints", Arc::new(InMemory::new())).layer(layer);
/// bucket.put("민원/c-1041.json", "전화 010-1234").await?;
/// bucket.get("민원/c-1041.json").await?;
/// log.flush().await?;
/// let text = std::fs::read_to_string(&path)?;
/// assert!(verify(text.lines(), None, None).ok());
/// assert!(text.contains("\"op\":\"put\"") && text.contains("\"op\":\"get\""));
/// assert!(!text.contains("010-1234")); // never the object's contents
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct AuditLayer {
    log: AuditLog,
    principal: Principal,
    resource: String,
}

impl AuditLayer {
    /// Record the operations on `resource` (the URL shown in entries) by `principal`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_layers::audit::{AuditLayer, AuditLog, FileSink, Principal};
    /// let tmp = tempfile::tempdir()?;
    /// let log = AuditLog::open(std::sync::Arc::new(FileSink::new(tmp.path().join("a.jsonl"))), None, 64).await?;
    /// let layer = AuditLayer::new(log, Principal::current(None), "s3://archive");
    /// assert_eq!(gureum_layers::Layer::name(&layer), "audit");
    /// # Ok(()) }
    /// ```
    pub fn new(log: AuditLog, principal: Principal, resource: impl Into<String>) -> Self {
        AuditLayer {
            log,
            principal,
            resource: resource.into(),
        }
    }
}

impl Layer for AuditLayer {
    fn name(&self) -> &str {
        "audit"
    }
    fn wrap_store(&self, inner: Arc<dyn ObjectStore>) -> Arc<dyn ObjectStore> {
        Arc::new(AuditStore {
            layer: self.clone(),
            inner,
        })
    }
    fn wrap_queue(&self, inner: Arc<dyn QueueDriver>) -> Arc<dyn QueueDriver> {
        Arc::new(AuditQueue {
            layer: self.clone(),
            inner,
        })
    }
    fn layer_queue(&self, queue: Queue) -> Queue {
        let driver = self.wrap_queue(queue.driver().clone());
        let queue = queue.with_driver(driver);
        // Queues opened through the admin driver are recorded too.
        match queue.admin().ok().cloned() {
            Some(inner) => queue.with_admin(Arc::new(AuditAdmin {
                layer: self.clone(),
                inner,
            })),
            None => queue,
        }
    }
}

#[derive(Debug)]
struct AuditAdmin {
    layer: AuditLayer,
    inner: Arc<dyn gureum_core::QueueAdmin>,
}

#[async_trait]
impl gureum_core::QueueAdmin for AuditAdmin {
    async fn create_queue(&self, name: &str, config: &gureum_core::QueueConfig) -> Result<()> {
        let e = self.layer.entry("create_queue", Some(name));
        let r = self.inner.create_queue(name, config).await;
        self.layer.note(e, &r).await?;
        r
    }
    async fn delete_queue(&self, name: &str) -> Result<()> {
        let e = self.layer.entry("delete_queue", Some(name));
        let r = self.inner.delete_queue(name).await;
        self.layer.note(e, &r).await?;
        r
    }
    async fn list_queues(&self) -> Result<Vec<String>> {
        self.inner.list_queues().await
    }
    async fn open(&self, name: &str) -> Result<Queue> {
        let q = self.inner.open(name).await?;
        let layer = AuditLayer {
            resource: format!("{} queue={name}", self.layer.resource),
            ..self.layer.clone()
        };
        Ok(q.layer(layer))
    }
}

fn outcome_of<T>(r: &std::result::Result<T, object_store::Error>) -> (String, Option<String>) {
    match r {
        Ok(_) => ("ok".into(), None),
        Err(e) => outcome_of_error(&request_error(e)),
    }
}

fn request_error(e: &object_store::Error) -> Error {
    // Classify without consuming: the kind from the mapping, the request id if a driver
    // carried one in a gureum error.
    let kind = match e {
        object_store::Error::NotFound { .. } => ErrorKind::NotFound,
        object_store::Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
        object_store::Error::Precondition { .. } | object_store::Error::NotModified { .. } => {
            ErrorKind::PreconditionFailed
        }
        object_store::Error::PermissionDenied { .. } => ErrorKind::PermissionDenied,
        object_store::Error::Unauthenticated { .. } => ErrorKind::Unauthenticated,
        object_store::Error::NotSupported { .. } | object_store::Error::NotImplemented { .. } => {
            ErrorKind::Unsupported
        }
        object_store::Error::InvalidPath { .. } => ErrorKind::InvalidArgument,
        object_store::Error::Generic { source, .. } => match source.downcast_ref::<Error>() {
            Some(g) => {
                let mut out = Error::new(g.kind(), "");
                if let Some(id) = g.request_id() {
                    out = out.with_request_id(id);
                }
                return out;
            }
            None => ErrorKind::Other,
        },
        _ => ErrorKind::Other,
    };
    Error::new(kind, "")
}

fn outcome_of_error(e: &Error) -> (String, Option<String>) {
    (
        e.kind().as_str().to_string(),
        e.request_id().map(str::to_string),
    )
}

impl AuditLayer {
    fn entry(&self, op: &str, key: Option<&str>) -> Entry {
        Entry {
            principal: Some(self.principal.clone()),
            op: Some(op.to_string()),
            resource: Some(self.resource.clone()),
            key: key.map(str::to_string),
            ..Default::default()
        }
    }
    fn note_os<T>(
        &self,
        mut e: Entry,
        r: &std::result::Result<T, object_store::Error>,
    ) -> object_store::Result<()> {
        let (outcome, rid) = outcome_of(r);
        e.outcome = Some(outcome);
        e.request_id = rid;
        self.log
            .record(e)
            .map_err(|err| err.into_object_store("audit", ""))
    }
    async fn flush_os(&self) -> object_store::Result<()> {
        self.log
            .flush_if_needed()
            .await
            .map_err(|err| err.into_object_store("audit", ""))
    }
}

#[derive(Debug)]
struct AuditStore {
    layer: AuditLayer,
    inner: Arc<dyn ObjectStore>,
}

impl fmt::Display for AuditStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Audit({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for AuditStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        let mut e = self.layer.entry("put", Some(location.as_ref()));
        e.bytes = Some(payload.content_length() as u64);
        let r = self.inner.put_opts(location, payload, opts).await;
        self.layer.note_os(e, &r)?;
        self.layer.flush_os().await?;
        r
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        let r = self.inner.put_multipart_opts(location, opts).await;
        match r {
            Ok(upload) => Ok(Box::new(AuditUpload {
                layer: self.layer.clone(),
                key: location.to_string(),
                bytes: 0,
                inner: upload,
            })),
            Err(err) => {
                let res: object_store::Result<()> = Err(err);
                self.layer
                    .note_os(self.layer.entry("put", Some(location.as_ref())), &res)?;
                res.map(|_| unreachable!("an error above"))
            }
        }
    }
    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        let head = options.head;
        let mut e = self
            .layer
            .entry(if head { "head" } else { "get" }, Some(location.as_ref()));
        let r = self.inner.get_opts(location, options).await;
        if let Ok(g) = &r {
            if !head {
                e.bytes = Some(g.range.end - g.range.start);
            }
        }
        self.layer.note_os(e, &r)?;
        self.layer.flush_os().await?;
        r
    }
    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[std::ops::Range<u64>],
    ) -> object_store::Result<Vec<bytes::Bytes>> {
        let mut e = self.layer.entry("get", Some(location.as_ref()));
        let r = self.inner.get_ranges(location, ranges).await;
        if let Ok(v) = &r {
            e.bytes = Some(v.iter().map(|b| b.len() as u64).sum());
            e.count = Some(v.len() as u64);
        }
        self.layer.note_os(e, &r)?;
        r
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        // The paths are only known as the inner store reports each one deleted (or not).
        let layer = self.layer.clone();
        self.inner
            .delete_stream(locations)
            .map(move |r| {
                let key = match &r {
                    Ok(p) => Some(p.to_string()),
                    Err(object_store::Error::NotFound { path, .. }) => Some(path.clone()),
                    Err(_) => None,
                };
                let e = layer.entry("delete", key.as_deref());
                layer.note_os(e, &r)?;
                r
            })
            .boxed()
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let layer = self.layer.clone();
        let e = layer.entry("list", prefix.map(|p| p.as_ref()));
        counted_list(layer, e, self.inner.list(prefix))
    }
    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        let layer = self.layer.clone();
        let e = layer.entry("list", prefix.map(|p| p.as_ref()));
        counted_list(layer, e, self.inner.list_with_offset(prefix, offset))
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        let mut e = self.layer.entry("list", prefix.map(|p| p.as_ref()));
        let r = self.inner.list_with_delimiter(prefix).await;
        if let Ok(l) = &r {
            e.count = Some((l.objects.len() + l.common_prefixes.len()) as u64);
        }
        self.layer.note_os(e, &r)?;
        r
    }
    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        let mut e = self.layer.entry("copy", Some(from.as_ref()));
        e.to = Some(to.to_string());
        let r = self.inner.copy_opts(from, to, options).await;
        self.layer.note_os(e, &r)?;
        self.layer.flush_os().await?;
        r
    }
    async fn rename_opts(
        &self,
        from: &Path,
        to: &Path,
        options: RenameOptions,
    ) -> object_store::Result<()> {
        let mut e = self.layer.entry("rename", Some(from.as_ref()));
        e.to = Some(to.to_string());
        let r = self.inner.rename_opts(from, to, options).await;
        self.layer.note_os(e, &r)?;
        self.layer.flush_os().await?;
        r
    }
}

/// A listing is recorded once, when it ends (or is dropped): how many entries it returned.
fn counted_list(
    layer: AuditLayer,
    entry: Entry,
    inner: BoxStream<'static, object_store::Result<ObjectMeta>>,
) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
    struct Counting {
        layer: AuditLayer,
        entry: Option<Entry>,
        count: u64,
        failed: Option<(String, Option<String>)>,
        inner: BoxStream<'static, object_store::Result<ObjectMeta>>,
    }
    impl Counting {
        fn finish(&mut self) -> Result<()> {
            if let Some(mut e) = self.entry.take() {
                e.count = Some(self.count);
                let (o, rid) = self.failed.take().unwrap_or(("ok".into(), None));
                e.outcome = Some(o);
                e.request_id = rid;
                return self.layer.log.record(e);
            }
            Ok(())
        }
    }
    impl Drop for Counting {
        fn drop(&mut self) {
            if let Err(e) = self.finish() {
                tracing::error!(error = %e, "access record: recording a listing failed");
            }
        }
    }
    impl futures::Stream for Counting {
        type Item = object_store::Result<ObjectMeta>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            let p = self.inner.poll_next_unpin(cx);
            match &p {
                std::task::Poll::Ready(Some(Ok(_))) => self.count += 1,
                std::task::Poll::Ready(Some(Err(e))) => {
                    self.failed = Some(outcome_of_error(&request_error(e)))
                }
                std::task::Poll::Ready(None) => {
                    if let Err(e) = self.finish() {
                        return std::task::Poll::Ready(Some(Err(e.into_object_store("audit", ""))));
                    }
                }
                std::task::Poll::Pending => {}
            }
            p
        }
    }
    Counting {
        layer,
        entry: Some(entry),
        count: 0,
        failed: None,
        inner,
    }
    .boxed()
}

#[derive(Debug)]
struct AuditUpload {
    layer: AuditLayer,
    key: String,
    bytes: u64,
    inner: Box<dyn MultipartUpload>,
}

#[async_trait]
impl MultipartUpload for AuditUpload {
    fn put_part(&mut self, data: PutPayload) -> object_store::UploadPart {
        self.bytes += data.content_length() as u64;
        self.inner.put_part(data)
    }
    async fn complete(&mut self) -> object_store::Result<PutResult> {
        let mut e = self.layer.entry("put", Some(&self.key));
        e.bytes = Some(self.bytes);
        let r = self.inner.complete().await;
        self.layer.note_os(e, &r)?;
        self.layer.flush_os().await?;
        r
    }
    async fn abort(&mut self) -> object_store::Result<()> {
        let mut e = self.layer.entry("abort", Some(&self.key));
        e.bytes = Some(self.bytes);
        let r = self.inner.abort().await;
        self.layer.note_os(e, &r)?;
        r
    }
}

#[derive(Debug)]
struct AuditQueue {
    layer: AuditLayer,
    inner: Arc<dyn QueueDriver>,
}

impl AuditQueue {
    async fn note<T>(&self, e: Entry, r: &Result<T>) -> Result<()> {
        self.layer.note(e, r).await
    }
}

impl AuditLayer {
    async fn note<T>(&self, mut e: Entry, r: &Result<T>) -> Result<()> {
        let (o, rid) = match r {
            Ok(_) => ("ok".to_string(), None),
            Err(err) => outcome_of_error(err),
        };
        e.outcome = Some(o);
        e.request_id = rid;
        self.log.record(e)?;
        self.log.flush_if_needed().await
    }
}

#[async_trait]
impl QueueDriver for AuditQueue {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn capabilities(&self) -> QueueCapabilities {
        self.inner.capabilities()
    }
    async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<String>> {
        let mut e = self.layer.entry("send", None);
        e.count = Some(messages.len() as u64);
        e.bytes = Some(messages.iter().map(|m| m.body.len() as u64).sum());
        let r = self.inner.send_batch(messages).await;
        self.note(e, &r).await?;
        r
    }
    async fn receive(&self, opts: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        let mut e = self.layer.entry("receive", None);
        let r = self.inner.receive(opts).await;
        if let Ok(v) = &r {
            e.count = Some(v.len() as u64);
            e.bytes = Some(v.iter().map(|m| m.body.len() as u64).sum());
        }
        self.note(e, &r).await?;
        r
    }
    async fn ack(&self, receipts: &[String]) -> Result<()> {
        let mut e = self.layer.entry("ack", None);
        e.count = Some(receipts.len() as u64);
        let r = self.inner.ack(receipts).await;
        self.note(e, &r).await?;
        r
    }
    async fn nack(&self, receipt: &str, delay: Duration) -> Result<()> {
        let e = self.layer.entry("nack", None);
        let r = self.inner.nack(receipt, delay).await;
        self.note(e, &r).await?;
        r
    }
    async fn extend_visibility(&self, receipt: &str, visibility: Duration) -> Result<()> {
        let e = self.layer.entry("extend", None);
        let r = self.inner.extend_visibility(receipt, visibility).await;
        self.note(e, &r).await?;
        r
    }
    async fn depth(&self) -> Result<u64> {
        self.inner.depth().await
    }
    async fn purge(&self) -> Result<()> {
        let e = self.layer.entry("purge", None);
        let r = self.inner.purge().await;
        self.note(e, &r).await?;
        r
    }
}

/// The registry hook: `audit=` (with `audit_key`, `audit_principal`, `audit_checkpoint`)
/// stacks the access record between the policy and encryption.
///
/// ```
/// let mut registry = gureum_core::Registry::new();
/// let opener = gureum_layers::audit::AuditOpener::new(registry.clone());
/// registry.register_layer(std::sync::Arc::new(opener));
/// assert!(registry.layer_params().contains(&"audit_key"));
/// ```
#[derive(Debug)]
pub struct AuditOpener {
    registry: Registry,
}

impl AuditOpener {
    /// An opener that opens bucket sinks (`bucket+URL`) with `registry`.
    ///
    /// ```
    /// use gureum_core::LayerOpener;
    /// let opener = gureum_layers::audit::AuditOpener::new(gureum_core::Registry::new());
    /// assert_eq!(opener.params(), ["audit", "audit_key", "audit_principal", "audit_checkpoint"]);
    /// ```
    pub fn new(registry: Registry) -> Self {
        AuditOpener { registry }
    }

    async fn layer(&self, target: &OpenTarget, params: &LayerParams) -> Result<AuditLayer> {
        let spec = params
            .get(PARAM_AUDIT)
            .ok_or_else(|| Error::invalid("audit_* parameters without audit=SINK"))?;
        let key = params.get(PARAM_KEY).map(load_key).transpose()?;
        let every = match params.get(PARAM_CHECKPOINT) {
            None => DEFAULT_CHECKPOINT,
            Some(v) => v.trim().parse().map_err(|_| {
                Error::invalid(format!(
                    "parameter {PARAM_CHECKPOINT}={v:?} is not a number"
                ))
            })?,
        };
        let log = AuditLog::open_spec(spec, key, every, &self.registry).await?;
        let id = params
            .get(PARAM_PRINCIPAL)
            .map(str::to_string)
            .or_else(|| std::env::var(ENV_PRINCIPAL).ok().filter(|s| !s.is_empty()));
        Ok(AuditLayer::new(
            log,
            Principal::current(id),
            target.url.clone(),
        ))
    }
}

#[async_trait]
impl LayerOpener for AuditOpener {
    fn name(&self) -> &'static str {
        "audit"
    }
    fn params(&self) -> &'static [&'static str] {
        &[PARAM_AUDIT, PARAM_KEY, PARAM_PRINCIPAL, PARAM_CHECKPOINT]
    }
    fn slot(&self) -> LayerSlot {
        LayerSlot::Audit
    }
    async fn stack_bucket(
        &self,
        bucket: Bucket,
        target: &OpenTarget,
        params: &LayerParams,
    ) -> Result<Bucket> {
        Ok(bucket.layer(self.layer(target, params).await?))
    }
    async fn stack_queue(
        &self,
        queue: Queue,
        target: &OpenTarget,
        params: &LayerParams,
    ) -> Result<Queue> {
        Ok(queue.layer(self.layer(target, params).await?))
    }
}

/// Read a record and its head from a sink spec and verify it ([`verify`]).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_layers::audit::verify_spec;
/// let tmp = tempfile::tempdir()?;
/// let path = tmp.path().join("a.jsonl");
/// let record = format!("file://{}", path.display());
/// gureum::open_bucket(&format!("mem://verify-doc?audit={record}")).await?.put("a", "1").await?;
/// let registry = gureum::registry();
/// assert!(verify_spec(&record, None, &registry).await?.ok());
/// // Editing a line breaks the chain at that line.
/// let edited = std::fs::read_to_string(&path)?.replacen("\"put\"", "\"get\"", 1);
/// std::fs::write(&path, edited)?;
/// let v = verify_spec(&record, None, &registry).await?;
/// assert_eq!(v.problem.unwrap().line, 1);
/// # Ok(()) }
/// ```
pub async fn verify_spec(
    spec: &str,
    key: Option<&SecretSlice<u8>>,
    registry: &Registry,
) -> Result<Verification> {
    if let Some(k) = key {
        chain::check_key(k.expose_secret(), false)?;
    }
    let sink = open_sink(spec, registry).await?;
    let lines = sink.read_lines().await?;
    let head = sink.head().await?;
    Ok(verify(
        lines.iter().map(String::as_str),
        key.map(|k| k.expose_secret()),
        head.as_ref(),
    ))
}

/// Read a record from a sink spec and return the entries `q` matches.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_layers::audit::{query_spec, Query};
/// let tmp = tempfile::tempdir()?;
/// let record = format!("sqlite://{}/a.db", tmp.path().display());
/// let bucket = gureum::open_bucket(&format!("mem://query-doc?audit={record}")).await?;
/// bucket.put("민원/2026/c-1.json", "{}").await?;
/// bucket.put("stats/2026.csv", "a").await?;
/// let q = Query { prefix: Some("민원/".into()), ..Query::default() };
/// let hits = query_spec(&record, &q, &gureum::registry()).await?;
/// assert_eq!(hits.len(), 1);
/// # Ok(()) }
/// ```
pub async fn query_spec(spec: &str, q: &Query, registry: &Registry) -> Result<Vec<Entry>> {
    let sink = open_sink(spec, registry).await?;
    let mut out = Vec::new();
    for (i, l) in sink.read_lines().await?.iter().enumerate() {
        let e: Entry = serde_json::from_str(l).map_err(|e| {
            Error::new(
                ErrorKind::Integrity,
                format!(
                    "line {}: not a record entry ({e}); run `gureum audit verify`",
                    i + 1
                ),
            )
        })?;
        if q.matches(&e) {
            out.push(e);
        }
    }
    Ok(out)
}
