//! The in-process `mem://NAME` queue.
//!
//! Queues live in a process-wide table keyed by name: every `mem://jobs` opened in one
//! process is the same queue. Nothing survives the process. Semantics match the sqlite
//! queue: visibility timeout, ack by receipt (stale receipt → `PreconditionFailed`), nack with
//! delay, visibility extension, per-message delay, attributes, dead-letter queue after a max
//! receive count, depth and purge.

use super::{
    capabilities, check_batch, check_config, check_name, config_from_url, format_receipt,
    long_poll, new_id, parse_receipt, MAX_BATCH, MAX_VISIBILITY,
};
use chrono::{DateTime, Utc};
use gureum_core::queue::stale_receipt;
use gureum_core::{
    async_trait, Bytes, Error, ErrorKind, Message, Queue, QueueAdmin, QueueCapabilities,
    QueueConfig, QueueDriver, ReceiveOptions, ReceivedMessage, ResourceUrl, Result,
};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Interval at which a long-poll re-checks for messages whose delay or visibility ran out.
const POLL: Duration = Duration::from_millis(10);

struct MemMsg {
    id: String,
    body: Bytes,
    attributes: BTreeMap<String, String>,
    sent_at: DateTime<Utc>,
    visible_at: Instant,
    receive_count: u32,
    receipt: Option<i64>,
}

struct Inner {
    messages: BTreeMap<i64, MemMsg>,
    config: QueueConfig,
    deleted: bool,
}

struct State {
    name: String,
    inner: Mutex<Inner>,
    notify: Notify,
}

impl State {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Inner>> {
        let g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if g.deleted {
            return Err(Error::not_found(format!(
                "queue {:?} does not exist",
                self.name
            )));
        }
        Ok(g)
    }
}

static QUEUES: LazyLock<Mutex<HashMap<String, Arc<State>>>> = LazyLock::new(Default::default);
static SEQ: AtomicI64 = AtomicI64::new(1);
static TOKEN: AtomicI64 = AtomicI64::new(1);

fn table() -> std::sync::MutexGuard<'static, HashMap<String, Arc<State>>> {
    QUEUES.lock().unwrap_or_else(|p| p.into_inner())
}

fn new_state(name: &str, config: QueueConfig) -> Arc<State> {
    Arc::new(State {
        name: name.to_string(),
        inner: Mutex::new(Inner {
            messages: BTreeMap::new(),
            config,
            deleted: false,
        }),
        notify: Notify::new(),
    })
}

/// Create-or-check queue `name` in the process table.
fn ensure(name: &str, config: Option<&QueueConfig>, create: bool) -> Result<Arc<State>> {
    let mut t = table();
    if let Some(s) = t.get(name) {
        if let Some(c) = config {
            let existing = s.lock()?.config.clone();
            if existing != *c {
                return Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("queue {name:?} already exists with different settings"),
                ));
            }
        }
        return Ok(s.clone());
    }
    if !create {
        return Err(Error::not_found(format!(
            "queue {name:?} does not exist (create=false)"
        )));
    }
    let cfg = config.cloned().unwrap_or_default();
    if let Some(dl) = &cfg.dead_letter {
        t.entry(dl.queue.clone())
            .or_insert_with(|| new_state(&dl.queue, QueueConfig::default()));
    }
    let s = new_state(name, cfg);
    t.insert(name.to_string(), s.clone());
    Ok(s)
}

/// Dead-letter target: the live state of `name`, created when missing.
fn dlq_state(name: &str) -> Arc<State> {
    let mut t = table();
    t.entry(name.to_string())
        .or_insert_with(|| new_state(name, QueueConfig::default()))
        .clone()
}

/// A queue in this process's memory. Use it through [`gureum_core::Queue`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::Message;
/// use gureum_local::queue::MemQueue;
/// let a = MemQueue::open("mem-struct-doc")?;
/// a.send(Message::new("x")).await?;
/// // The same name in this process is the same queue.
/// assert_eq!(MemQueue::open("mem-struct-doc")?.depth().await?, 1);
/// # Ok(()) }
/// ```
pub struct MemQueue {
    state: Arc<State>,
}

impl fmt::Debug for MemQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemQueue")
            .field("name", &self.state.name)
            .finish()
    }
}

impl MemQueue {
    /// Open (creating when missing) the in-process queue `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::Message;
    /// let producer = gureum_local::queue::MemQueue::open("mem-doc")?;
    /// let consumer = gureum_local::queue::MemQueue::open("mem-doc")?; // the same queue
    /// producer.send(Message::new(&b"job"[..])).await?;
    /// assert_eq!(consumer.receive(1).await?.len(), 1);
    /// # Ok(()) }
    /// ```
    pub fn open(name: &str) -> Result<Queue> {
        MemQueueAdmin.open_with(name, None, true)
    }

    fn receive_once(&self, max: usize, visibility: Duration) -> Result<Vec<ReceivedMessage>> {
        let now = Instant::now();
        let mut out = Vec::new();
        let mut to_dlq: Vec<MemMsg> = Vec::new();
        let dlq_name;
        {
            let mut g = self.state.lock()?;
            let dead_letter = g.config.dead_letter.clone();
            dlq_name = dead_letter.as_ref().map(|d| d.queue.clone());
            let mut after = i64::MIN;
            'rounds: while out.len() < max {
                let need = max - out.len();
                let due: Vec<i64> = g
                    .messages
                    .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
                    .filter(|(_, m)| m.visible_at <= now)
                    .map(|(s, _)| *s)
                    .take(need)
                    .collect();
                if due.is_empty() {
                    break 'rounds;
                }
                for seq in due {
                    after = seq;
                    if let Some(dl) = &dead_letter {
                        let rc = g.messages.get(&seq).map(|m| m.receive_count).unwrap_or(0);
                        if rc >= dl.max_receive_count {
                            if let Some(m) = g.messages.remove(&seq) {
                                to_dlq.push(m);
                            }
                            continue;
                        }
                    }
                    let Some(m) = g.messages.get_mut(&seq) else {
                        continue;
                    };
                    let token = TOKEN.fetch_add(1, Ordering::Relaxed);
                    m.receive_count += 1;
                    m.visible_at = now + visibility;
                    m.receipt = Some(token);
                    out.push(ReceivedMessage {
                        id: m.id.clone(),
                        body: m.body.clone(),
                        attributes: m.attributes.clone(),
                        receipt: format_receipt(seq, token),
                        receive_count: m.receive_count,
                        sent_at: Some(m.sent_at),
                    });
                }
            }
        }
        if !to_dlq.is_empty() {
            if let Some(d) = dlq_name {
                let target = dlq_state(&d);
                {
                    let mut g = target.inner.lock().unwrap_or_else(|p| p.into_inner());
                    for mut m in to_dlq {
                        tracing::debug!(queue = %self.state.name, dlq = %d, id = %m.id, "moved message to dead-letter queue");
                        m.receive_count = 0;
                        m.receipt = None;
                        m.visible_at = now;
                        g.messages.insert(SEQ.fetch_add(1, Ordering::Relaxed), m);
                    }
                }
                target.notify.notify_waiters();
            }
        }
        Ok(out)
    }

    /// Apply `f` to the message of a live delivery; stale receipts give `PreconditionFailed`.
    fn with_delivery(&self, receipt: &str, f: impl FnOnce(&mut Inner, i64)) -> Result<()> {
        let (seq, token) = parse_receipt(receipt)?;
        let mut g = self.state.lock()?;
        match g.messages.get(&seq) {
            Some(m) if m.receipt == Some(token) => {
                f(&mut g, seq);
                Ok(())
            }
            _ => Err(stale_receipt()),
        }
    }
}

fn check_duration(what: &str, d: Duration) -> Result<()> {
    if d > MAX_VISIBILITY {
        return Err(Error::invalid(format!(
            "{what} {d:?} exceeds the maximum {MAX_VISIBILITY:?}"
        )));
    }
    Ok(())
}

#[async_trait]
impl QueueDriver for MemQueue {
    fn name(&self) -> &str {
        &self.state.name
    }

    fn capabilities(&self) -> QueueCapabilities {
        capabilities()
    }

    async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<String>> {
        check_batch(&messages)?;
        let now = Instant::now();
        let sent_at = Utc::now();
        let mut ids = Vec::with_capacity(messages.len());
        {
            let mut g = self.state.lock()?;
            for m in messages {
                let id = new_id();
                g.messages.insert(
                    SEQ.fetch_add(1, Ordering::Relaxed),
                    MemMsg {
                        id: id.clone(),
                        body: m.body,
                        attributes: m.attributes,
                        sent_at,
                        visible_at: now + m.delay.unwrap_or_default(),
                        receive_count: 0,
                        receipt: None,
                    },
                );
                ids.push(id);
            }
        }
        self.state.notify.notify_waiters();
        Ok(ids)
    }

    async fn receive(&self, opts: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        check_duration("visibility", opts.visibility)?;
        let max = opts.max_messages.clamp(1, MAX_BATCH);
        let wait = opts.wait.min(super::MAX_WAIT);
        long_poll(wait, POLL, &self.state.notify, || async {
            self.receive_once(max, opts.visibility)
        })
        .await
    }

    async fn ack(&self, receipts: &[String]) -> Result<()> {
        let parsed = receipts
            .iter()
            .map(|r| parse_receipt(r))
            .collect::<Result<Vec<_>>>()?;
        let mut stale = 0;
        {
            let mut g = self.state.lock()?;
            for (seq, token) in parsed {
                match g.messages.get(&seq) {
                    Some(m) if m.receipt == Some(token) => {
                        g.messages.remove(&seq);
                    }
                    _ => stale += 1,
                }
            }
        }
        if stale > 0 {
            let e = stale_receipt();
            return Err(Error::new(
                e.kind(),
                format!("{stale} of {} receipts: {}", receipts.len(), e.message()),
            ));
        }
        Ok(())
    }

    async fn nack(&self, receipt: &str, delay: Duration) -> Result<()> {
        check_duration("nack delay", delay)?;
        self.with_delivery(receipt, |g, seq| {
            if let Some(m) = g.messages.get_mut(&seq) {
                m.visible_at = Instant::now() + delay;
                m.receipt = None;
            }
        })?;
        if delay.is_zero() {
            self.state.notify.notify_waiters();
        }
        Ok(())
    }

    async fn extend_visibility(&self, receipt: &str, visibility: Duration) -> Result<()> {
        check_duration("visibility", visibility)?;
        self.with_delivery(receipt, |g, seq| {
            if let Some(m) = g.messages.get_mut(&seq) {
                m.visible_at = Instant::now() + visibility;
            }
        })
    }

    async fn depth(&self) -> Result<u64> {
        Ok(self.state.lock()?.messages.len() as u64)
    }

    async fn purge(&self) -> Result<()> {
        self.state.lock()?.messages.clear();
        Ok(())
    }
}

/// Admin of the process-wide table of `mem://` queues.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{QueueAdmin, QueueConfig};
/// use gureum_local::queue::MemQueueAdmin;
/// MemQueueAdmin.create_queue("mem-admin-doc", &QueueConfig::default()).await?;
/// assert!(MemQueueAdmin.list_queues().await?.contains(&"mem-admin-doc".to_string()));
/// MemQueueAdmin.delete_queue("mem-admin-doc").await?;
/// assert!(MemQueueAdmin.delete_queue("mem-admin-doc").await.is_err()); // NotFound
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MemQueueAdmin;

impl MemQueueAdmin {
    /// Open queue `name`: create it when missing and `create` (with `config`, else default
    /// settings); when `config` is given and the queue exists with other settings, fail with
    /// `AlreadyExists`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{ErrorKind, QueueConfig};
    /// use gureum_local::queue::MemQueueAdmin;
    /// use std::time::Duration;
    /// let config = QueueConfig { default_visibility: Some(Duration::from_secs(90)), ..QueueConfig::default() };
    /// MemQueueAdmin.open_with("mem-open-with", Some(config), true)?;
    /// // create = false: a missing queue is NotFound instead of being created.
    /// let e = MemQueueAdmin.open_with("mem-never-created", None, false).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::NotFound);
    /// # Ok(()) }
    /// ```
    pub fn open_with(
        &self,
        name: &str,
        config: Option<QueueConfig>,
        create: bool,
    ) -> Result<Queue> {
        match &config {
            Some(c) => check_config(name, c)?,
            None => check_name(name)?,
        }
        let state = ensure(name, config.as_ref(), create)?;
        let visibility = state.lock()?.config.default_visibility;
        let mut q = Queue::new(Arc::new(MemQueue { state })).with_admin(Arc::new(MemQueueAdmin));
        if let Some(v) = visibility {
            q = q.with_defaults(ReceiveOptions {
                visibility: v,
                ..ReceiveOptions::default()
            });
        }
        Ok(q)
    }
}

#[async_trait]
impl QueueAdmin for MemQueueAdmin {
    async fn create_queue(&self, name: &str, config: &QueueConfig) -> Result<()> {
        check_config(name, config)?;
        ensure(name, Some(config), true).map(|_| ())
    }

    async fn delete_queue(&self, name: &str) -> Result<()> {
        let s = table()
            .remove(name)
            .ok_or_else(|| Error::not_found(format!("queue {name:?} does not exist")))?;
        let mut g = s.inner.lock().unwrap_or_else(|p| p.into_inner());
        g.deleted = true;
        g.messages.clear();
        drop(g);
        s.notify.notify_waiters();
        Ok(())
    }

    async fn list_queues(&self) -> Result<Vec<String>> {
        let mut v: Vec<String> = table().keys().cloned().collect();
        v.sort();
        Ok(v)
    }

    async fn open(&self, name: &str) -> Result<Queue> {
        self.open_with(name, None, false)
    }
}

/// Opener of `mem://NAME` URLs.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{QueueOpener, ResourceUrl};
/// use gureum_local::queue::MemQueueOpener;
/// let q = MemQueueOpener.open_queue(&ResourceUrl::parse("mem://opener-doc")?).await?;
/// assert_eq!(q.name(), "opener-doc");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MemQueueOpener;

#[async_trait]
impl gureum_core::url::QueueOpener for MemQueueOpener {
    async fn open_queue(&self, url: &ResourceUrl) -> Result<Queue> {
        let host = super::sqlite::percent_decode(url.host());
        let path = url.path();
        let name = format!("{host}{path}");
        let name = name.trim_end_matches('/');
        if name.is_empty() {
            return Err(Error::invalid(format!(
                "{url}: missing queue name; use mem://NAME"
            )));
        }
        let create = url.bool_param("create")?.unwrap_or(true);
        let config = config_from_url(url)?;
        MemQueueAdmin.open_with(name, config, create)
    }
}
