//! Portable message queues: the [`QueueDriver`] trait drivers implement, and the [`Queue`]
//! type applications use.
//!
//! Semantics are at-least-once everywhere. A received message is invisible for its
//! visibility timeout; [`Queue::ack`] removes it, [`Queue::nack`] makes it visible again
//! (optionally after a delay), and if neither happens it comes back when the timeout
//! expires with a higher [`ReceivedMessage::receive_count`]. What differs between backends
//! (batch sizes, message size, ordering, delay) is in [`QueueCapabilities`].

use crate::error::{Error, ErrorKind, Result};
use crate::storage::BackendInfo;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A message to send.
///
/// ```
/// use gureum_core::Message;
/// use std::time::Duration;
/// let m = Message::new(&b"reindex c-1041"[..])
///     .attribute("type", "reindex")
///     .delay(Duration::from_secs(5));
/// assert_eq!(m.attributes["type"], "reindex");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    /// Body bytes (binary safe).
    pub body: Bytes,
    /// String attributes.
    pub attributes: BTreeMap<String, String>,
    /// Deliver no earlier than this after sending.
    pub delay: Option<Duration>,
    /// Ordering group (FIFO queues).
    pub group_id: Option<String>,
    /// Deduplication id (FIFO queues).
    pub dedup_id: Option<String>,
}

impl Message {
    /// A message with `body`.
    ///
    /// ```
    /// use gureum_core::Message;
    /// let m = Message::new("ocr c-1041");
    /// assert_eq!(&m.body[..], b"ocr c-1041");
    /// assert!(m.attributes.is_empty() && m.delay.is_none());
    /// ```
    pub fn new(body: impl Into<Bytes>) -> Self {
        Message {
            body: body.into(),
            ..Default::default()
        }
    }
    /// Add an attribute.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = gureum_core::Message::new(&b"reindex c-1041"[..]).attribute("type", "reindex");
    /// assert_eq!(m.attributes["type"], "reindex");
    /// ```
    pub fn attribute(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.attributes.insert(k.into(), v.into());
        self
    }
    /// Delay delivery.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::Message;
    /// use std::time::Duration;
    /// let queue = gureum_local::queue::MemQueue::open("doc-delay")?;
    /// queue.send(Message::new(&b"later"[..]).delay(Duration::from_secs(3600))).await?;
    /// // Not deliverable before the delay has passed.
    /// assert!(queue.receive(10).await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = Some(d);
        self
    }
    /// Set the ordering group.
    ///
    /// # Examples
    ///
    /// ```
    /// let m = gureum_core::Message::new(&b"step 1"[..]).group("c-1041");
    /// assert_eq!(m.group_id.as_deref(), Some("c-1041"));
    /// ```
    pub fn group(mut self, g: impl Into<String>) -> Self {
        self.group_id = Some(g.into());
        self
    }
}

/// A received message; ack or nack it with its receipt.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::Message;
/// let queue = gureum_local::queue::MemQueue::open("doc-received")?;
/// queue.send(Message::new("scan 7").attribute("type", "ocr")).await?;
/// let m = &queue.receive(1).await?[0];
/// assert_eq!(&m.body[..], b"scan 7");
/// assert_eq!(m.attributes["type"], "ocr");
/// assert_eq!(m.receive_count, 1); // first delivery
/// queue.ack(m).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// Stable message id.
    pub id: String,
    /// Body bytes.
    pub body: Bytes,
    /// Attributes as sent.
    pub attributes: BTreeMap<String, String>,
    /// Handle for ack/nack/extend of this delivery.
    pub receipt: String,
    /// How many times this message has been delivered, this one included (≥ 1).
    pub receive_count: u32,
    /// When it was first sent, if known.
    pub sent_at: Option<DateTime<Utc>>,
}

/// Receive options.
///
/// # Examples
///
/// ```
/// use gureum_core::ReceiveOptions;
/// use std::time::Duration;
/// let d = ReceiveOptions::default();
/// assert_eq!((d.max_messages, d.visibility, d.wait), (10, Duration::from_secs(30), Duration::ZERO));
/// let long_poll = ReceiveOptions { wait: Duration::from_secs(20), ..d };
/// assert_eq!(long_poll.max_messages, 10);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveOptions {
    /// Most messages to return (clamped to the backend's batch limit).
    pub max_messages: usize,
    /// How long received messages stay invisible.
    pub visibility: Duration,
    /// Long-poll: wait up to this long for a first message.
    pub wait: Duration,
}

impl Default for ReceiveOptions {
    fn default() -> Self {
        ReceiveOptions {
            max_messages: 10,
            visibility: Duration::from_secs(30),
            wait: Duration::from_secs(0),
        }
    }
}

/// What a queue backend can do.
///
/// ```
/// use gureum_core::QueueCapabilities;
/// let caps = QueueCapabilities::default();
/// assert_eq!(caps.max_batch_send, 10);
/// assert!(!caps.ordering); // FIFO only where a driver says so
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueueCapabilities {
    /// Most messages per send batch.
    pub max_batch_send: usize,
    /// Most messages per receive.
    pub max_batch_receive: usize,
    /// Largest body in bytes.
    pub max_message_bytes: usize,
    /// Longest visibility timeout.
    pub max_visibility: Duration,
    /// Longest long-poll wait.
    pub max_wait: Duration,
    /// Per-message delivery delay.
    pub delay: bool,
    /// Nack with a redelivery delay.
    pub nack_delay: bool,
    /// Visibility extension.
    pub extend_visibility: bool,
    /// Dead-letter queue after a max receive count.
    pub dead_letter: bool,
    /// String attributes round trip.
    pub attributes: bool,
    /// FIFO ordering (within a group).
    pub ordering: bool,
    /// Purge all messages.
    pub purge: bool,
    /// Approximate depth.
    pub depth: bool,
    /// Queue admin (create/delete/list).
    pub admin: bool,
}

impl Default for QueueCapabilities {
    fn default() -> Self {
        QueueCapabilities {
            max_batch_send: 10,
            max_batch_receive: 10,
            max_message_bytes: 256 * 1024,
            max_visibility: Duration::from_secs(12 * 3600),
            max_wait: Duration::from_secs(20),
            delay: true,
            nack_delay: true,
            extend_visibility: true,
            dead_letter: true,
            attributes: true,
            ordering: false,
            purge: true,
            depth: true,
            admin: true,
        }
    }
}

/// Queue settings at create time.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{DeadLetter, Message, QueueConfig};
/// use gureum_local::queue::MemQueueAdmin;
/// let admin = MemQueueAdmin;
/// let config = QueueConfig {
///     dead_letter: Some(DeadLetter { queue: "ocr-dead".into(), max_receive_count: 2 }),
///     ..QueueConfig::default()
/// };
/// let queue = admin.open_with("ocr", Some(config), true)?;
/// queue.send(Message::new(&b"unreadable scan"[..])).await?;
/// for _ in 0..2 {
///     let m = queue.receive(1).await?;
///     queue.nack(&m[0], std::time::Duration::ZERO).await?; // the handler failed
/// }
/// // After two failed deliveries the message is in the dead-letter queue.
/// assert!(queue.receive(1).await?.is_empty());
/// assert_eq!(admin.open_with("ocr-dead", None, false)?.depth().await?, 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueConfig {
    /// Move messages to this queue after `max_receive_count` deliveries.
    pub dead_letter: Option<DeadLetter>,
    /// FIFO ordering (where the backend supports it).
    pub fifo: bool,
    /// Default visibility timeout.
    pub default_visibility: Option<Duration>,
}

/// Dead-letter settings.
///
/// ```
/// use gureum_core::{DeadLetter, QueueConfig};
/// let config = QueueConfig {
///     dead_letter: Some(DeadLetter { queue: "jobs-dead".into(), max_receive_count: 5 }),
///     ..QueueConfig::default()
/// };
/// assert_eq!(config.dead_letter.unwrap().max_receive_count, 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Name of the dead-letter queue (same backend).
    pub queue: String,
    /// Deliveries after which a message moves there.
    pub max_receive_count: u32,
}

/// The driver trait a queue backend implements. Applications use [`Queue`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::Message;
/// // Applications use `Queue`; the driver underneath is reachable for layers and tests.
/// let queue = gureum_local::queue::MemQueue::open("doc-driver-trait")?;
/// let driver = queue.driver();
/// assert_eq!(driver.name(), "doc-driver-trait");
/// driver.send_batch(vec![Message::new("x")]).await?;
/// assert_eq!(driver.depth().await?, 1);
/// # Ok(()) }
/// ```
#[async_trait]
pub trait QueueDriver: Any + Send + Sync + fmt::Debug {
    /// Queue name.
    fn name(&self) -> &str;
    /// Capability flags.
    fn capabilities(&self) -> QueueCapabilities;
    /// Send up to `max_batch_send` messages; returns their ids in order.
    async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<String>>;
    /// Receive up to `opts.max_messages` messages.
    async fn receive(&self, opts: ReceiveOptions) -> Result<Vec<ReceivedMessage>>;
    /// Delete delivered messages by receipt. A stale receipt (the message was redelivered
    /// since) gives [`ErrorKind::PreconditionFailed`] or is ignored, per backend.
    async fn ack(&self, receipts: &[String]) -> Result<()>;
    /// Make a delivered message visible again after `delay`.
    async fn nack(&self, receipt: &str, delay: Duration) -> Result<()>;
    /// Keep a delivered message invisible for `visibility` from now.
    async fn extend_visibility(&self, receipt: &str, visibility: Duration) -> Result<()>;
    /// Approximate number of messages (visible + in flight).
    async fn depth(&self) -> Result<u64>;
    /// Remove all messages.
    async fn purge(&self) -> Result<()>;
    /// The driver as `Any`. No longer needed: [`Queue::native`] reaches the driver through
    /// trait upcasting (`QueueDriver: Any`), the same attached-native mechanism as `Bucket::native`.
    #[deprecated(
        since = "0.1.0",
        note = "Queue::native upcasts the driver; implementations can drop this method"
    )]
    fn as_any(&self) -> &dyn Any
    where
        Self: Sized,
    {
        self
    }
}

/// Create, delete and list queues of one account/namespace.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{QueueAdmin, QueueConfig};
/// use gureum_local::queue::MemQueueAdmin;
/// let admin = MemQueueAdmin;
/// admin.create_queue("doc-admin-jobs", &QueueConfig::default()).await?;
/// assert!(admin.list_queues().await?.contains(&"doc-admin-jobs".to_string()));
/// let queue = admin.open("doc-admin-jobs").await?;
/// assert_eq!(queue.name(), "doc-admin-jobs");
/// admin.delete_queue("doc-admin-jobs").await?;
/// # Ok(()) }
/// ```
#[async_trait]
pub trait QueueAdmin: Send + Sync + fmt::Debug {
    /// Create a queue; an existing one with the same settings is not an error.
    async fn create_queue(&self, name: &str, config: &QueueConfig) -> Result<()>;
    /// Delete a queue; a missing one gives [`ErrorKind::NotFound`].
    async fn delete_queue(&self, name: &str) -> Result<()>;
    /// List queue names.
    async fn list_queues(&self) -> Result<Vec<String>>;
    /// Open a queue of this account by name.
    async fn open(&self, name: &str) -> Result<Queue>;
}

/// A portable queue.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::Message;
/// let queue = gureum_local::queue::MemQueue::open("doc-queue")?; // or gureum::open_queue(url)
/// assert_eq!(queue.name(), "doc-queue");
/// queue.send(Message::new(&b"ocr c-1041"[..])).await?;
/// for m in queue.receive(10).await? {
///     // ... handle m.body ...
///     queue.ack(&m).await?;
/// }
/// assert_eq!(queue.depth().await?, 0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Queue {
    driver: Arc<dyn QueueDriver>,
    native: Arc<dyn Any + Send + Sync>,
    admin: Option<Arc<dyn QueueAdmin>>,
    defaults: ReceiveOptions,
    layers: Vec<String>,
    encrypted: bool,
    info: BackendInfo,
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("driver", &self.driver)
            .field("layers", &self.layers)
            .finish()
    }
}

/// Options of [`Queue::process`].
///
/// # Examples
///
/// ```
/// use gureum_core::ProcessOptions;
/// use std::time::Duration;
/// let opts = ProcessOptions {
///     concurrency: 8,                        // handlers at once
///     visibility: Duration::from_secs(120),  // extended while a handler runs
///     retry_delay: Duration::from_secs(10),  // a failed message comes back after this
///     ..ProcessOptions::default()
/// };
/// assert_eq!(opts.max_messages, None); // until shutdown
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ProcessOptions {
    /// Handlers running at once.
    pub concurrency: usize,
    /// Visibility for each received message.
    pub visibility: Duration,
    /// Long-poll wait per receive.
    pub wait: Duration,
    /// Redelivery delay after a handler error.
    pub retry_delay: Duration,
    /// Stop after this many messages were handled (`None`: until shutdown).
    pub max_messages: Option<u64>,
}

impl Default for ProcessOptions {
    fn default() -> Self {
        ProcessOptions {
            concurrency: 4,
            visibility: Duration::from_secs(30),
            wait: Duration::from_secs(1),
            retry_delay: Duration::from_secs(0),
            max_messages: None,
        }
    }
}

/// Counters of a finished [`Queue::process`] run.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{Message, ProcessOptions};
/// let queue = gureum_local::queue::MemQueue::open("doc-process-stats")?;
/// queue.send_batch(vec![Message::new("ok"), Message::new("ok")]).await?;
/// let opts = ProcessOptions { max_messages: Some(2), ..ProcessOptions::default() };
/// let stats = queue.process(opts, std::future::pending(), |_m| async { Ok(()) }).await?;
/// assert_eq!((stats.acked, stats.failed), (2, 0));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProcessStats {
    /// Handled and acked.
    pub acked: u64,
    /// Handler failed; nacked for redelivery.
    pub failed: u64,
}

impl Queue {
    /// Wrap a driver.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::Queue;
    /// let mem = gureum_local::queue::MemQueue::open("doc-queue-new")?;
    /// // Wrap any driver (here the in-memory one) in a fresh `Queue`.
    /// let queue = Queue::new(mem.driver().clone());
    /// assert_eq!(queue.name(), "doc-queue-new");
    /// assert!(queue.admin().is_err()); // no admin driver attached
    /// # Ok(()) }
    /// ```
    pub fn new(driver: Arc<dyn QueueDriver>) -> Self {
        Queue {
            native: driver.clone(),
            driver,
            admin: None,
            defaults: ReceiveOptions::default(),
            layers: Vec::new(),
            encrypted: false,
            info: BackendInfo::default(),
        }
    }
    /// Set backend information (scheme, provider, zone), for the placement policy and reports.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{storage::BackendInfo, Zone};
    /// let info = BackendInfo { scheme: "mem".into(), provider: "local".into(), zone: Zone::OnPrem };
    /// let queue = gureum_local::queue::MemQueue::open("doc-with-info")?.with_info(info);
    /// assert_eq!(queue.info().provider, "local");
    /// # Ok(()) }
    /// ```
    pub fn with_info(mut self, info: BackendInfo) -> Self {
        self.info = info;
        self
    }
    /// Backend information (the registry fills scheme and zone when it opens a URL).
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::Zone;
    /// let queue = gureum_local::queue::MemQueue::open("doc-info")?;
    /// assert_eq!(queue.info().zone, Zone::OnPrem);
    /// # Ok(()) }
    /// ```
    pub fn info(&self) -> &BackendInfo {
        &self.info
    }
    /// Record that a layer named `name` was stacked over this queue's driver (outermost so
    /// far); `encrypts` marks a client-side encryption layer ([`Queue::is_encrypted`]).
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let queue = gureum_local::queue::MemQueue::open("doc-record-layer")?
    ///     .record_layer("retry", false)
    ///     .record_layer("encrypt", true);
    /// assert_eq!(queue.layers(), ["retry", "encrypt"]);
    /// assert!(queue.is_encrypted());
    /// # Ok(()) }
    /// ```
    pub fn record_layer(mut self, name: impl Into<String>, encrypts: bool) -> Self {
        self.layers.push(name.into());
        self.encrypted |= encrypts;
        self
    }
    /// Names of the layers stacked over the driver, innermost first.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let queue = gureum_local::queue::MemQueue::open("doc-layers")?;
    /// assert!(queue.layers().is_empty()); // a bare driver
    /// # Ok(()) }
    /// ```
    pub fn layers(&self) -> &[String] {
        &self.layers
    }
    /// Whether a client-side encryption layer is stacked.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let queue = gureum_local::queue::MemQueue::open("doc-is-encrypted")?;
    /// assert!(!queue.is_encrypted());
    /// assert!(queue.record_layer("encrypt", true).is_encrypted());
    /// # Ok(()) }
    /// ```
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }
    /// Attach an admin driver.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::Queue;
    /// use gureum_local::queue::{MemQueue, MemQueueAdmin};
    /// use std::sync::Arc;
    /// let queue = Queue::new(MemQueue::open("doc-with-admin")?.driver().clone())
    ///     .with_admin(Arc::new(MemQueueAdmin));
    /// assert!(queue.admin().is_ok());
    /// # Ok(()) }
    /// ```
    pub fn with_admin(mut self, admin: Arc<dyn QueueAdmin>) -> Self {
        self.admin = Some(admin);
        self
    }
    /// The same queue over another driver, typically one that wraps [`Queue::driver`] (a layer
    /// of `gureum-layers`): the admin driver, default receive options and [`Queue::native`]
    /// (still the driver underneath) are kept.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let queue = gureum_local::queue::MemQueue::open("doc-with-driver")?;
    /// // A layer would wrap `queue.driver()`; here the same driver is put back.
    /// let same = queue.clone().with_driver(queue.driver().clone());
    /// assert_eq!(same.name(), "doc-with-driver");
    /// assert!(same.admin().is_ok()); // the admin driver is kept
    /// # Ok(()) }
    /// ```
    pub fn with_driver(mut self, driver: Arc<dyn QueueDriver>) -> Self {
        self.driver = driver;
        self
    }
    /// Set default receive options.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{Message, ReceiveOptions};
    /// use std::time::Duration;
    /// let queue = gureum_local::queue::MemQueue::open("doc-defaults")?
    ///     .with_defaults(ReceiveOptions { visibility: Duration::from_secs(300), ..ReceiveOptions::default() });
    /// queue.send(Message::new("x")).await?;
    /// assert_eq!(queue.receive(1).await?.len(), 1); // received with the 300 s visibility
    /// assert!(queue.receive(1).await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn with_defaults(mut self, defaults: ReceiveOptions) -> Self {
        self.defaults = defaults;
        self
    }
    /// Queue name.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// assert_eq!(gureum_local::queue::MemQueue::open("doc-name")?.name(), "doc-name");
    /// # Ok(()) }
    /// ```
    pub fn name(&self) -> &str {
        self.driver.name()
    }
    /// Capability flags.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let queue = gureum_local::queue::MemQueue::open("doc-caps")?;
    /// let caps = queue.capabilities();
    /// assert!(caps.dead_letter && caps.nack_delay);
    /// assert!(caps.max_batch_send >= 1);
    /// # Ok(()) }
    /// ```
    pub fn capabilities(&self) -> QueueCapabilities {
        self.driver.capabilities()
    }
    /// The driver.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let queue = gureum_local::queue::MemQueue::open("doc-driver")?;
    /// assert_eq!(queue.driver().depth().await?, 0);
    /// # Ok(()) }
    /// ```
    pub fn driver(&self) -> &Arc<dyn QueueDriver> {
        &self.driver
    }
    /// The admin driver.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let queue = gureum_local::queue::MemQueue::open("doc-admin")?;
    /// let names = queue.admin()?.list_queues().await?;
    /// assert!(names.contains(&"doc-admin".to_string()));
    /// # Ok(()) }
    /// ```
    pub fn admin(&self) -> Result<&Arc<dyn QueueAdmin>> {
        self.admin
            .as_ref()
            .ok_or_else(|| Error::unsupported("queue admin is not available for this backend"))
    }
    /// Replace what [`Queue::native`] hands out (by default the driver itself). The same
    /// escape hatch as `Bucket::with_native` and `Compute::with_native`.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use std::sync::Arc;
    /// let queue = gureum_local::queue::MemQueue::open("doc-with-native")?
    ///     .with_native(Arc::new(42u32));
    /// assert_eq!(queue.native::<u32>(), Some(&42));
    /// # Ok(()) }
    /// ```
    pub fn with_native(mut self, native: Arc<dyn Any + Send + Sync>) -> Self {
        self.native = native;
        self
    }
    /// The vendor object, if it is a `T` (Go CDK's `As`): by default the driver
    /// (`SqsQueue`, `SqliteQueue`, ...), or what a provider attached with [`Queue::with_native`].
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let queue = gureum_local::queue::MemQueue::open("doc-native")?;
    /// assert!(queue.native::<String>().is_none()); // not that type: None, no panic
    /// # Ok(()) }
    /// ```
    pub fn native<T: Any>(&self) -> Option<&T> {
        self.native.downcast_ref::<T>()
    }

    fn check(&self, m: &Message, caps: &QueueCapabilities) -> Result<()> {
        if m.body.len() > caps.max_message_bytes {
            return Err(Error::invalid(format!(
                "message body of {} bytes exceeds the {}-byte limit of this queue",
                m.body.len(),
                caps.max_message_bytes
            )));
        }
        if m.delay.is_some_and(|d| !d.is_zero()) && !caps.delay {
            return Err(Error::unsupported("per-message delay"));
        }
        if !m.attributes.is_empty() && !caps.attributes {
            return Err(Error::unsupported("message attributes"));
        }
        Ok(())
    }

    /// Send one message; returns its id.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::Message;
    /// let queue = gureum_local::queue::MemQueue::open("doc-send")?;
    /// let id = queue.send(Message::new(&b"ocr c-1041"[..]).attribute("type", "ocr")).await?;
    /// let got = queue.receive(1).await?;
    /// assert_eq!(got[0].id, id);
    /// assert_eq!(got[0].attributes["type"], "ocr");
    /// queue.ack(&got[0]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send(&self, m: Message) -> Result<String> {
        let mut ids = self.send_batch(vec![m]).await?;
        ids.pop()
            .ok_or_else(|| Error::other("driver returned no id for a sent message"))
    }

    /// Send many messages, split into batches the backend accepts. Nothing is sent if any
    /// message is invalid.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::Message;
    /// let queue = gureum_local::queue::MemQueue::open("doc-send-batch")?;
    /// let ids = queue
    ///     .send_batch((1..=25).map(|i| Message::new(format!("job {i}"))).collect())
    ///     .await?;
    /// assert_eq!(ids.len(), 25);
    /// assert_eq!(queue.depth().await?, 25);
    /// # Ok(()) }
    /// ```
    pub async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<String>> {
        let caps = self.capabilities();
        for m in &messages {
            self.check(m, &caps)?;
        }
        let mut ids = Vec::with_capacity(messages.len());
        let mut it = messages.into_iter().peekable();
        while it.peek().is_some() {
            let chunk: Vec<Message> = it.by_ref().take(caps.max_batch_send.max(1)).collect();
            ids.extend(self.driver.send_batch(chunk).await?);
        }
        Ok(ids)
    }

    /// Receive with the default options.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::Message;
    /// let queue = gureum_local::queue::MemQueue::open("doc-receive")?;
    /// queue.send_batch(vec![Message::new(&b"a"[..]), Message::new(&b"b"[..])]).await?;
    /// let got = queue.receive(10).await?;
    /// assert_eq!(got.len(), 2);
    /// assert!(got.iter().all(|m| m.receive_count == 1));
    /// // Received messages are invisible until acked, nacked or their visibility runs out.
    /// assert!(queue.receive(10).await?.is_empty());
    /// queue.ack_all(&got).await?;
    /// # Ok(()) }
    /// ```
    pub async fn receive(&self, max: usize) -> Result<Vec<ReceivedMessage>> {
        self.receive_with(ReceiveOptions {
            max_messages: max,
            ..self.defaults
        })
        .await
    }

    /// Receive with explicit options (validated against the capabilities).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{ErrorKind, Message, ReceiveOptions};
    /// use std::time::Duration;
    /// let queue = gureum_local::queue::MemQueue::open("doc-receive-with")?;
    /// queue.send(Message::new(&b"scan c-1041"[..])).await?;
    /// let opts = ReceiveOptions {
    ///     max_messages: 5,
    ///     visibility: Duration::from_secs(120), // time to handle it before it is redelivered
    ///     wait: Duration::from_millis(100),     // long-poll
    /// };
    /// assert_eq!(queue.receive_with(opts).await?.len(), 1);
    /// let bad = ReceiveOptions { max_messages: 0, ..ReceiveOptions::default() };
    /// assert_eq!(queue.receive_with(bad).await.unwrap_err().kind(), ErrorKind::InvalidArgument);
    /// # Ok(()) }
    /// ```
    pub async fn receive_with(&self, opts: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        let caps = self.capabilities();
        if opts.max_messages == 0 {
            return Err(Error::invalid("max_messages must be at least 1"));
        }
        if opts.visibility > caps.max_visibility {
            return Err(Error::invalid(format!(
                "visibility {:?} exceeds the backend maximum {:?}",
                opts.visibility, caps.max_visibility
            )));
        }
        let opts = ReceiveOptions {
            max_messages: opts.max_messages.min(caps.max_batch_receive.max(1)),
            wait: opts.wait.min(caps.max_wait),
            ..opts
        };
        self.driver.receive(opts).await
    }

    /// Acknowledge (delete) one delivered message.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::Message;
    /// let queue = gureum_local::queue::MemQueue::open("doc-ack")?;
    /// queue.send(Message::new("done soon")).await?;
    /// let m = queue.receive(1).await?.remove(0);
    /// queue.ack(&m).await?;
    /// assert_eq!(queue.depth().await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn ack(&self, m: &ReceivedMessage) -> Result<()> {
        self.driver.ack(std::slice::from_ref(&m.receipt)).await
    }

    /// Acknowledge many delivered messages.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::Message;
    /// let queue = gureum_local::queue::MemQueue::open("doc-ack-all")?;
    /// queue.send_batch((0..3).map(|i| Message::new(format!("{i}"))).collect()).await?;
    /// let got = queue.receive(10).await?;
    /// queue.ack_all(&got).await?;
    /// assert_eq!(queue.depth().await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn ack_all(&self, ms: &[ReceivedMessage]) -> Result<()> {
        let caps = self.capabilities();
        let receipts: Vec<String> = ms.iter().map(|m| m.receipt.clone()).collect();
        for c in receipts.chunks(caps.max_batch_send.max(1)) {
            self.driver.ack(c).await?;
        }
        Ok(())
    }

    /// Return a message for redelivery after `delay`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::Message;
    /// use std::time::Duration;
    /// let queue = gureum_local::queue::MemQueue::open("doc-nack")?;
    /// queue.send(Message::new(&b"retry me"[..])).await?;
    /// let first = queue.receive(1).await?;
    /// queue.nack(&first[0], Duration::ZERO).await?; // give it back at once
    /// let again = queue.receive(1).await?;
    /// assert_eq!(again[0].body, first[0].body);
    /// assert_eq!(again[0].receive_count, 2);
    /// # Ok(()) }
    /// ```
    pub async fn nack(&self, m: &ReceivedMessage, delay: Duration) -> Result<()> {
        if !delay.is_zero() && !self.capabilities().nack_delay {
            return Err(Error::unsupported("nack with delay"));
        }
        self.driver.nack(&m.receipt, delay).await
    }

    /// Keep a message invisible for `visibility` from now.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::Message;
    /// use std::time::Duration;
    /// let queue = gureum_local::queue::MemQueue::open("doc-extend")?;
    /// queue.send(Message::new(&b"long OCR job"[..])).await?;
    /// let got = queue.receive(1).await?;
    /// queue.extend_visibility(&got[0], Duration::from_secs(600)).await?; // still working on it
    /// assert!(queue.receive(1).await?.is_empty());
    /// queue.ack(&got[0]).await?;
    /// // A receipt whose message was acked is stale.
    /// assert!(queue.extend_visibility(&got[0], Duration::from_secs(60)).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn extend_visibility(&self, m: &ReceivedMessage, visibility: Duration) -> Result<()> {
        if !self.capabilities().extend_visibility {
            return Err(Error::unsupported("visibility extension"));
        }
        self.driver.extend_visibility(&m.receipt, visibility).await
    }

    /// Approximate depth.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let queue = gureum_local::queue::MemQueue::open("doc-depth")?;
    /// assert_eq!(queue.depth().await?, 0);
    /// queue.send(gureum_core::Message::new(&b"x"[..])).await?;
    /// assert_eq!(queue.depth().await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn depth(&self) -> Result<u64> {
        self.driver.depth().await
    }

    /// Remove all messages.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::Message;
    /// let queue = gureum_local::queue::MemQueue::open("doc-purge")?;
    /// queue.send_batch((0..5).map(|i| Message::new(format!("{i}"))).collect()).await?;
    /// queue.purge().await?;
    /// assert_eq!(queue.depth().await?, 0);
    /// assert!(queue.receive(10).await?.is_empty());
    /// # Ok(()) }
    /// ```
    pub async fn purge(&self) -> Result<()> {
        self.driver.purge().await
    }

    /// Run `handler` on messages with bounded concurrency until `shutdown` completes (or
    /// `max_messages` were handled). A handler `Ok` acks, an `Err` nacks with
    /// `retry_delay`.
    ///
    /// * In-flight handlers always finish before this returns (graceful shutdown), also when
    ///   it returns an error because a receive failed with a non-retryable error.
    /// * While a handler runs, its message's visibility is extended by
    ///   [`ProcessOptions::visibility`] every half visibility period (a heartbeat), where the
    ///   backend can extend visibility, so a long handler does not see its message
    ///   redelivered to another consumer.
    /// * A retryable receive error is retried with capped exponential backoff (0.2 s … 5 s);
    ///   the wait ends early when `shutdown` completes.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{Message, ProcessOptions};
    /// let queue = gureum_local::queue::MemQueue::open("doc-process")?;
    /// queue.send_batch(vec![Message::new(&b"c-1041"[..]), Message::new(&b"c-1042"[..])]).await?;
    /// let opts = ProcessOptions { concurrency: 2, max_messages: Some(2), ..ProcessOptions::default() };
    /// let stats = queue
    ///     .process(opts, std::future::pending::<()>(), |m| async move {
    ///         // ... handle the complaint; an Err nacks it for a retry
    ///         assert!(m.body.starts_with(b"c-"));
    ///         Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    ///     })
    ///     .await?;
    /// assert_eq!((stats.acked, stats.failed), (2, 0));
    /// assert_eq!(queue.depth().await?, 0);
    /// # Ok(()) }
    /// ```
    pub async fn process<H, Fut, S>(
        &self,
        opts: ProcessOptions,
        shutdown: S,
        handler: H,
    ) -> Result<ProcessStats>
    where
        H: Fn(ReceivedMessage) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>>
            + Send
            + 'static,
        S: Future<Output = ()> + Send,
    {
        let concurrency = opts.concurrency.max(1);
        let sem = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let handler = Arc::new(handler);
        let acked = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let started = Arc::new(AtomicU64::new(0));
        let heartbeat = if self.capabilities().extend_visibility && !opts.visibility.is_zero() {
            Some(heartbeat_period(opts.visibility))
        } else {
            None
        };
        let mut tasks = tokio::task::JoinSet::new();
        let mut outcome: Result<()> = Ok(());
        let mut backoff = RECEIVE_RETRY_MIN;
        tokio::pin!(shutdown);
        loop {
            if let Some(max) = opts.max_messages {
                if started.load(Ordering::SeqCst) >= max {
                    break;
                }
            }
            let permits = tokio::select! {
                _ = &mut shutdown => break,
                p = sem.clone().acquire_many_owned(1) => match p {
                    Ok(p) => p,
                    Err(_) => { outcome = Err(Error::other("semaphore closed")); break; }
                },
            };
            drop(permits);
            let free = sem.available_permits().max(1);
            let want = match opts.max_messages {
                Some(max) => free.min((max - started.load(Ordering::SeqCst)) as usize),
                None => free,
            };
            let msgs = tokio::select! {
                _ = &mut shutdown => break,
                r = self.receive_with(ReceiveOptions { max_messages: want.max(1), visibility: opts.visibility, wait: opts.wait }) => r,
            };
            let msgs = match msgs {
                Ok(m) => {
                    backoff = RECEIVE_RETRY_MIN;
                    m
                }
                Err(e) if e.is_retryable() => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "receive failed; retrying");
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(RECEIVE_RETRY_MAX);
                    continue;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "receive failed; letting in-flight handlers finish");
                    outcome = Err(e);
                    break;
                }
            };
            for m in msgs {
                // Receiving asked for at most the free permits, so this does not wait long;
                // a message received is always handed to a handler (never dropped here).
                let Ok(permit) = sem.clone().acquire_owned().await else {
                    outcome = Err(Error::other("semaphore closed"));
                    break;
                };
                started.fetch_add(1, Ordering::SeqCst);
                let (q, h, a, f) = (self.clone(), handler.clone(), acked.clone(), failed.clone());
                let delay = opts.retry_delay;
                let visibility = opts.visibility;
                tasks.spawn(async move {
                    let _permit = permit;
                    let copy = m.clone();
                    let mut run = std::pin::pin!(h(m));
                    let result = match heartbeat {
                        None => run.await,
                        Some(period) => {
                            // Extends until the handler ends; stops (and lets the handler
                            // finish) when an extension fails for good, e.g. a stale receipt.
                            let beat = async {
                                loop {
                                    tokio::time::sleep(period).await;
                                    match q.driver.extend_visibility(&copy.receipt, visibility).await {
                                        Ok(()) => tracing::trace!(id = %copy.id, "visibility extended"),
                                        Err(e) if e.is_retryable() => {
                                            tracing::warn!(error = %e, id = %copy.id, "visibility heartbeat failed; retrying")
                                        }
                                        Err(e) => {
                                            tracing::warn!(error = %e, id = %copy.id, "visibility heartbeat stopped");
                                            break;
                                        }
                                    }
                                }
                            };
                            tokio::select! {
                                r = &mut run => r,
                                () = beat => run.await,
                            }
                        }
                    };
                    match result {
                        Ok(()) => match q.ack(&copy).await {
                            Ok(()) => {
                                a.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(e) => tracing::warn!(error = %e, id = %copy.id, "ack failed"),
                        },
                        Err(e) => {
                            f.fetch_add(1, Ordering::SeqCst);
                            tracing::warn!(error = %e, id = %copy.id, "handler failed; nacking");
                            if let Err(e) = q.driver.nack(&copy.receipt, delay).await {
                                tracing::warn!(error = %e, "nack failed");
                            }
                        }
                    }
                });
            }
            if outcome.is_err() {
                break;
            }
            while let Some(r) = tasks.try_join_next() {
                if let Err(e) = r {
                    tracing::warn!(error = %e, "handler task panicked");
                }
            }
        }
        while let Some(r) = tasks.join_next().await {
            if let Err(e) = r {
                tracing::warn!(error = %e, "handler task panicked");
            }
        }
        outcome?;
        Ok(ProcessStats {
            acked: acked.load(Ordering::SeqCst),
            failed: failed.load(Ordering::SeqCst),
        })
    }
}

/// First wait after a retryable receive error in [`Queue::process`].
const RECEIVE_RETRY_MIN: Duration = Duration::from_millis(200);
/// Longest wait between receive retries in [`Queue::process`].
const RECEIVE_RETRY_MAX: Duration = Duration::from_secs(5);

/// How often [`Queue::process`] extends a running handler's visibility: half the visibility
/// period (so one lost extension still leaves time for the next), at least 10 ms.
fn heartbeat_period(visibility: Duration) -> Duration {
    (visibility / 2).max(Duration::from_millis(10))
}

/// Map a "receipt no longer valid" condition uniformly.
///
/// ```
/// use gureum_core::{queue::stale_receipt, ErrorKind};
/// assert_eq!(stale_receipt().kind(), ErrorKind::PreconditionFailed);
/// ```
pub fn stale_receipt() -> Error {
    Error::new(
        ErrorKind::PreconditionFailed,
        "receipt is no longer valid (the message was redelivered or deleted)",
    )
}
