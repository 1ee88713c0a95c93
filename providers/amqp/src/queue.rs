//! The AMQP 0-9-1 queue driver ([`AmqpQueue`]) and admin ([`AmqpAdmin`]).
//!
//! How the portable semantics map onto AMQP (details on docs/amqp.md):
//!
//! * **send** publishes persistent messages on a channel in confirm mode (`mandatory`, so an
//!   unroutable message is an error) and returns only after the broker confirmed every one.
//! * **receive** consumes with manual acknowledgements and `basic.qos` prefetch = the largest
//!   receive batch. The consumer starts on the first receive (a send-only handle reserves
//!   nothing).
//! * **visibility timeout**: AMQP has none (a delivery stays unacknowledged until the channel
//!   closes). The driver keeps it in the client: a delivery not acknowledged within its
//!   visibility is returned with `basic.nack(requeue)`; `extend_visibility` moves that point.
//!   If the process dies or the connection drops, the broker returns the deliveries at once.
//! * **nack(delay)** and **send with delay** go through a wait queue per delay
//!   (`<queue>.gureum-wait.<ms>`, `x-message-ttl`) dead-lettered back into the queue (the
//!   delayed-message plugin is not part of RabbitMQ).
//! * **dead letters**: queues are declared as quorum queues; `x-delivery-limit` plus a
//!   dead-letter exchange move a message after `max_receive_count` deliveries.
//! * **reconnect**: a lost connection is re-established with exponential back-off and jitter;
//!   receipts of the old connection are stale (`PreconditionFailed`) and their messages come
//!   back from the broker.

use crate::config::{check_queue_name, AmqpConfig};
use crate::error::{is_connection_loss, map};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use gureum_core::secrecy::ExposeSecret;
use gureum_core::{
    Error, ErrorKind, Message, Queue, QueueAdmin, QueueCapabilities, QueueConfig, QueueDriver,
    ReceiveOptions, ReceivedMessage, Result,
};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions,
    BasicQosOptions, ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
    QueuePurgeOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::Acker;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Header carrying the deliveries a message had before it was re-published (delayed nack).
///
/// ```
/// assert_eq!(gureum_amqp::queue::RECEIVES_HEADER, "gureum-receives");
/// ```
pub const RECEIVES_HEADER: &str = "gureum-receives";
/// Header RabbitMQ quorum queues set on redelivery: earlier delivery attempts.
const DELIVERY_COUNT_HEADER: &str = "x-delivery-count";
/// Most messages per send batch.
const MAX_BATCH_SEND: usize = 100;
/// How long a receive that has some deliveries waits for the next one of the same burst.
const BATCH_LINGER: Duration = Duration::from_millis(2);

/// One connection with its two channels.
struct Session {
    gen: u64,
    conn: Connection,
    publish: Channel,
    consume: Channel,
    consuming: tokio::sync::Mutex<bool>,
    dead: Arc<AtomicBool>,
}

impl Session {
    fn alive(&self) -> bool {
        !self.dead.load(Ordering::SeqCst)
            && self.conn.status().connected()
            && self.publish.status().connected()
            && self.consume.status().connected()
    }
}

/// A delivery handed to the application and not yet settled.
struct InFlight {
    gen: u64,
    /// Delivered by the consumer (counts against its prefetch), not by `basic.get`.
    from_consumer: bool,
    acker: Acker,
    deadline: Instant,
    body: Bytes,
    properties: BasicProperties,
    receive_count: u32,
}

/// State shared with the background tasks (consumer pump, visibility timers).
struct Shared {
    /// Random id of this handle: receipts of another handle are never mistaken for ours.
    handle: String,
    buffer: Mutex<VecDeque<(u64, lapin::message::Delivery)>>,
    notify: Notify,
    inflight: Mutex<HashMap<String, InFlight>>,
}

/// The AMQP queue driver (also the escape hatch: `queue.native::<AmqpQueue>()`).
///
/// ```no_run
/// // no_run: needs a RabbitMQ broker (CI starts one on 127.0.0.1:5672).
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_amqp::{open_amqp, AmqpConfig, AmqpQueue};
/// let queue = open_amqp(AmqpConfig::new("amqp://guest:guest@127.0.0.1:5672/%2f", "ocr")?.create(true)).await?;
/// let driver = queue.native::<AmqpQueue>().expect("an AMQP queue");
/// assert_eq!(driver.config().queue, "ocr");
/// # Ok(()) }
/// ```
pub struct AmqpQueue {
    config: AmqpConfig,
    shared: Arc<Shared>,
    session: tokio::sync::Mutex<Option<Arc<Session>>>,
    gen: AtomicU64,
}

impl fmt::Debug for AmqpQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpQueue")
            .field("broker", &self.config.redacted_uri())
            .field("queue", &self.config.queue)
            .field("prefetch", &self.config.prefetch)
            .finish()
    }
}

/// Connect (plain or TLS with the configured CA).
async fn connect(config: &AmqpConfig) -> Result<Connection> {
    let props = ConnectionProperties::default();
    let tls = gureum_core::tls::TlsConfig {
        ca_file: config.ca_file.clone(),
        client_cert: config.client_cert.clone(),
        client_key: config.client_key.clone(),
    };
    let r = if tls.is_custom() {
        let cert_chain = match tls.ca_pem()? {
            Some(pem) => Some(
                String::from_utf8(pem)
                    .map_err(|_| Error::invalid("ca_file: the CA bundle is not UTF-8 PEM text"))?,
            ),
            None => None,
        };
        let identity = tls.identity()?.map(|id| lapin::tcp::OwnedIdentity::PKCS8 {
            pem: id.cert_pem.clone(),
            key: id.key_pem.expose_secret().clone(),
        });
        let tls = lapin::tcp::OwnedTLSConfig {
            identity,
            cert_chain,
        };
        let rt = lapin::runtime::default_runtime().map_err(|e| map("runtime", e))?;
        Connection::connect_with_config(config.uri.expose_secret(), props, tls, rt).await
    } else {
        Connection::connect(config.uri.expose_secret(), props).await
    };
    r.map_err(|e| {
        if gureum_core::tls::is_tls_failure(&e) {
            return Error::new(
                ErrorKind::Tls,
                gureum_core::tls::tls_failure_message("AMQP connect", &config.host, &e.to_string()),
            );
        }
        let mut err = map(&format!("connect to {}", config.host), e);
        if err.kind() == ErrorKind::PermissionDenied {
            // ACCESS_REFUSED during the handshake: wrong user or password.
            err = Error::new(ErrorKind::Unauthenticated, err.message().to_string());
        }
        err
    })
}

fn jitter(d: Duration) -> Duration {
    // Full jitter from the clock's nanoseconds: no RNG dependency for a back-off.
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    d.mul_f64(0.5 + (n % 1000) as f64 / 2000.0)
}

/// Quorum-queue arguments for a queue with `config`.
fn queue_args(config: &QueueConfig) -> Result<FieldTable> {
    if config.fifo {
        return Err(Error::unsupported(
            "FIFO message groups on AMQP (a quorum queue is ordered, but has no groups)",
        ));
    }
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    if let Some(d) = &config.dead_letter {
        check_queue_name(&d.queue)?;
        if d.max_receive_count == 0 {
            return Err(Error::invalid("max_receive_count must be at least 1"));
        }
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString("".into()),
        );
        args.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(d.queue.as_str().into()),
        );
        // Delivered `limit + 1` times, then dead-lettered.
        args.insert(
            "x-delivery-limit".into(),
            AMQPValue::LongLongInt(i64::from(d.max_receive_count) - 1),
        );
        args.insert(
            "x-dead-letter-strategy".into(),
            AMQPValue::LongString("at-least-once".into()),
        );
        args.insert(
            "x-overflow".into(),
            AMQPValue::LongString("reject-publish".into()),
        );
    }
    Ok(args)
}

fn wait_queue_name(queue: &str, delay: Duration) -> String {
    format!("{queue}.gureum-wait.{}", delay.as_millis())
}

fn header_u32(h: Option<&FieldTable>, name: &str) -> Option<u32> {
    let v = h?.inner().get(name)?;
    let n: i64 = match v {
        AMQPValue::LongLongInt(n) => *n,
        AMQPValue::LongInt(n) => i64::from(*n),
        AMQPValue::LongUInt(n) => i64::from(*n),
        AMQPValue::ShortInt(n) => i64::from(*n),
        AMQPValue::ShortUInt(n) => i64::from(*n),
        AMQPValue::ShortShortInt(n) => i64::from(*n),
        AMQPValue::ShortShortUInt(n) => i64::from(*n),
        AMQPValue::LongString(s) => std::str::from_utf8(s.as_bytes()).ok()?.parse().ok()?,
        _ => return None,
    };
    u32::try_from(n.max(0)).ok()
}

/// Attribute names: not our header, not a broker (`x-`) header.
fn check_attribute(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 255 {
        return Err(Error::invalid(
            "attribute names must be 1-255 bytes on AMQP",
        ));
    }
    if name.starts_with("x-") || name == RECEIVES_HEADER {
        return Err(Error::invalid(format!(
            "attribute name {name:?} is reserved on AMQP (x- headers belong to the broker)"
        )));
    }
    Ok(())
}

impl AmqpQueue {
    fn new(config: AmqpConfig) -> Self {
        AmqpQueue {
            config,
            shared: Arc::new(Shared {
                handle: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
                buffer: Mutex::new(VecDeque::new()),
                notify: Notify::new(),
                inflight: Mutex::new(HashMap::new()),
            }),
            session: tokio::sync::Mutex::new(None),
            gen: AtomicU64::new(0),
        }
    }

    /// The configuration.
    ///
    /// ```no_run
    /// // no_run: needs a RabbitMQ broker (CI starts one on 127.0.0.1:5672).
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_amqp::{open_amqp, AmqpConfig, AmqpQueue};
    /// let queue = open_amqp(AmqpConfig::new("amqp://guest:guest@127.0.0.1:5672/%2f", "ocr")?.create(true)).await?;
    /// assert_eq!(queue.native::<AmqpQueue>().unwrap().config().prefetch, 10);
    /// # Ok(()) }
    /// ```
    pub fn config(&self) -> &AmqpConfig {
        &self.config
    }

    /// A new lapin channel on the current connection (connecting first if needed), for
    /// native use (exchanges, bindings, anything gureum does not cover).
    ///
    /// ```no_run
    /// // no_run: needs a RabbitMQ broker (CI starts one on 127.0.0.1:5672).
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_amqp::{open_amqp, AmqpConfig, AmqpQueue};
    /// let queue = open_amqp(AmqpConfig::new("amqp://guest:guest@127.0.0.1:5672/%2f", "ocr")?.create(true)).await?;
    /// // The native escape hatch: a lapin channel for exchanges and bindings.
    /// let _channel = queue.native::<AmqpQueue>().unwrap().channel().await?;
    /// assert_eq!(queue.name(), "ocr");
    /// # Ok(()) }
    /// ```
    pub async fn channel(&self) -> Result<Channel> {
        let s = self.session().await?;
        s.conn
            .create_channel()
            .await
            .map_err(|e| map("open channel", e))
    }

    /// Close the connection. Unacknowledged deliveries go back to the queue; a later call
    /// connects again.
    ///
    /// ```no_run
    /// // no_run: needs a RabbitMQ broker (CI starts one on 127.0.0.1:5672).
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_amqp::{open_amqp, AmqpConfig, AmqpQueue};
    /// let queue = open_amqp(AmqpConfig::new("amqp://guest:guest@127.0.0.1:5672/%2f", "ocr")?.create(true)).await?;
    /// queue.native::<AmqpQueue>().unwrap().close().await; // a later call connects again
    /// assert_eq!(queue.depth().await?, queue.depth().await?);
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) {
        if let Some(s) = self.session.lock().await.take() {
            s.dead.store(true, Ordering::SeqCst);
            s.conn.close(200, "closed by gureum".into()).await.ok();
        }
        self.forget_all();
    }

    fn forget_all(&self) {
        self.shared.buffer.lock().unwrap().clear();
        self.shared.inflight.lock().unwrap().clear();
    }

    /// A live session: the current one, or a new connection after back-off.
    async fn session(&self) -> Result<Arc<Session>> {
        let mut guard = self.session.lock().await;
        if let Some(s) = guard.as_ref() {
            if s.alive() {
                return Ok(s.clone());
            }
            tracing::warn!(queue = %self.config.queue, gen = s.gen, "AMQP connection lost; reconnecting");
            s.conn.close(320, "gureum reconnect".into()).await.ok();
            *guard = None;
            // Deliveries of the old connection are back on the broker: their receipts are stale.
            self.forget_all();
        }
        let first = self.gen.load(Ordering::SeqCst) == 0;
        let deadline = Instant::now() + self.config.reconnect_deadline;
        let mut delay = Duration::from_millis(100);
        loop {
            match self.open_session().await {
                Ok(s) => {
                    let s = Arc::new(s);
                    *guard = Some(s.clone());
                    return Ok(s);
                }
                Err(e) => {
                    let give_up = (first && !e.is_retryable())
                        || matches!(
                            e.kind(),
                            ErrorKind::Unauthenticated
                                | ErrorKind::PermissionDenied
                                | ErrorKind::InvalidArgument
                                | ErrorKind::NotFound
                        )
                        || Instant::now() + delay > deadline;
                    if give_up {
                        return Err(e);
                    }
                    tracing::warn!(error = %e, ?delay, "AMQP connect failed; retrying");
                    tokio::time::sleep(jitter(delay)).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn open_session(&self) -> Result<Session> {
        let conn = connect(&self.config).await?;
        let publish = conn
            .create_channel()
            .await
            .map_err(|e| map("open channel", e))?;
        publish
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| map("confirm.select", e))?;
        let consume = conn
            .create_channel()
            .await
            .map_err(|e| map("open channel", e))?;
        let gen = self.gen.fetch_add(1, Ordering::SeqCst) + 1;
        Ok(Session {
            gen,
            conn,
            publish,
            consume,
            consuming: tokio::sync::Mutex::new(false),
            dead: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Run `f` on a live session; after a connection loss reconnect (with back-off) and run
    /// it once more. Only for operations that are safe to repeat.
    async fn with_retry<T, F, Fut>(&self, op: &str, f: F) -> Result<T>
    where
        F: Fn(Arc<Session>) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, lapin::Error>>,
    {
        let s = self.session().await?;
        match f(s.clone()).await {
            Ok(v) => Ok(v),
            Err(e) if is_connection_loss(&e) => {
                tracing::warn!(error = %e, op, "AMQP operation hit a lost connection; retrying once");
                s.dead.store(true, Ordering::SeqCst);
                let s = self.session().await?;
                f(s).await.map_err(|e| map(op, e))
            }
            Err(e) => Err(map(op, e)),
        }
    }

    /// Check the queue exists (or declare it when `create`).
    async fn declare(&self, config: &QueueConfig) -> Result<()> {
        let name = self.config.queue.clone();
        let create = self.config.create;
        let args = queue_args(config)?;
        // A failed declare closes the channel: use a channel of its own.
        self.with_retry("queue.declare", |s| {
            let (name, args) = (name.clone(), args.clone());
            async move {
                let ch = s.conn.create_channel().await?;
                let opts = if create {
                    QueueDeclareOptions {
                        durable: true,
                        ..Default::default()
                    }
                } else {
                    QueueDeclareOptions {
                        passive: true,
                        ..Default::default()
                    }
                };
                let r = ch.queue_declare(name.as_str().into(), opts, args).await;
                ch.close(200, "ok".into()).await.ok();
                r.map(|_| ())
            }
        })
        .await
        .map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                Error::not_found(format!(
                    "AMQP queue {:?} does not exist (open with create=true to declare it)",
                    self.config.queue
                ))
            } else {
                e
            }
        })
    }

    async fn ensure_consumer(&self, s: &Arc<Session>) -> Result<()> {
        let mut started = s.consuming.lock().await;
        if *started {
            return Ok(());
        }
        s.consume
            .basic_qos(self.config.prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| map("basic.qos", e))?;
        let tag = format!("gureum-{}-{}", self.shared.handle, s.gen);
        let mut consumer = s
            .consume
            .basic_consume(
                self.config.queue.as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| map("basic.consume", e))?;
        *started = true;
        let weak: Weak<Shared> = Arc::downgrade(&self.shared);
        let (gen, dead) = (s.gen, s.dead.clone());
        tokio::spawn(async move {
            while let Some(r) = consumer.next().await {
                let Some(sh) = weak.upgrade() else { return };
                match r {
                    Ok(d) => {
                        sh.buffer.lock().unwrap().push_back((gen, d));
                        sh.notify.notify_waiters();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "AMQP consumer stopped");
                        break;
                    }
                }
            }
            dead.store(true, Ordering::SeqCst);
            if let Some(sh) = weak.upgrade() {
                sh.notify.notify_waiters();
            }
        });
        Ok(())
    }

    fn properties_for(&self, m: &Message, id: &str, receives: u32) -> Result<BasicProperties> {
        let mut headers = FieldTable::default();
        for (k, v) in &m.attributes {
            check_attribute(k)?;
            headers.insert(k.as_str().into(), AMQPValue::LongString(v.as_str().into()));
        }
        if receives > 0 {
            headers.insert(
                RECEIVES_HEADER.into(),
                AMQPValue::LongLongInt(i64::from(receives)),
            );
        }
        Ok(BasicProperties::default()
            .with_message_id(id.into())
            .with_delivery_mode(2)
            .with_timestamp(chrono::Utc::now().timestamp().max(0) as u64)
            .with_headers(headers))
    }

    /// Declare the wait queue for `delay` (idempotent; it expires a minute after its last use).
    async fn wait_queue(
        &self,
        s: &Session,
        delay: Duration,
    ) -> std::result::Result<String, lapin::Error> {
        let name = wait_queue_name(&self.config.queue, delay);
        let ms = delay.as_millis().min(i64::MAX as u128) as i64;
        let mut args = FieldTable::default();
        args.insert("x-message-ttl".into(), AMQPValue::LongLongInt(ms));
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString("".into()),
        );
        args.insert(
            "x-dead-letter-routing-key".into(),
            AMQPValue::LongString(self.config.queue.as_str().into()),
        );
        args.insert("x-expires".into(), AMQPValue::LongLongInt(ms + 60_000));
        s.publish
            .queue_declare(
                name.as_str().into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                args,
            )
            .await?;
        Ok(name)
    }

    /// Publish and wait for the broker's confirms. `routes[i]` is the delay of message `i`.
    async fn publish_confirmed(
        &self,
        s: &Session,
        items: &[(Bytes, BasicProperties, Duration)],
    ) -> std::result::Result<(), PublishError> {
        let mut pending = Vec::with_capacity(items.len());
        let mut waits: BTreeMap<Duration, String> = BTreeMap::new();
        for (body, props, delay) in items {
            let key = if delay.is_zero() {
                self.config.queue.clone()
            } else {
                match waits.get(delay) {
                    Some(n) => n.clone(),
                    None => {
                        let n = self
                            .wait_queue(s, *delay)
                            .await
                            .map_err(PublishError::Lapin)?;
                        waits.insert(*delay, n.clone());
                        n
                    }
                }
            };
            let c = s
                .publish
                .basic_publish(
                    "".into(),
                    key.as_str().into(),
                    BasicPublishOptions {
                        mandatory: true,
                        ..Default::default()
                    },
                    body,
                    props.clone(),
                )
                .await
                .map_err(PublishError::Lapin)?;
            pending.push(c);
        }
        for c in pending {
            match c.await.map_err(PublishError::Lapin)? {
                Confirmation::Ack(None) => {}
                Confirmation::Ack(Some(_)) => return Err(PublishError::Unroutable),
                Confirmation::Nack(_) => return Err(PublishError::Nacked),
                Confirmation::NotRequested => return Err(PublishError::Nacked),
            }
        }
        Ok(())
    }

    fn receipt(&self, gen: u64, tag: u64) -> String {
        format!("{}.{gen}.{tag}", self.shared.handle)
    }

    fn to_message(
        &self,
        gen: u64,
        d: lapin::message::Delivery,
        vis: Duration,
        from_consumer: bool,
    ) -> ReceivedMessage {
        let props = d.properties.clone();
        let headers = props.headers().as_ref();
        let base = header_u32(headers, RECEIVES_HEADER).unwrap_or(0);
        let earlier = match header_u32(headers, DELIVERY_COUNT_HEADER) {
            Some(n) => n,
            None => u32::from(d.redelivered),
        };
        let receive_count = base.saturating_add(earlier).saturating_add(1);
        let mut attributes = BTreeMap::new();
        if let Some(h) = headers {
            for (k, v) in h.inner() {
                let k = k.as_str();
                if k.starts_with("x-") || k == RECEIVES_HEADER {
                    continue;
                }
                let s = match v {
                    AMQPValue::LongString(s) => String::from_utf8(s.as_bytes().to_vec()).ok(),
                    AMQPValue::ShortString(s) => Some(s.as_str().to_string()),
                    _ => None,
                };
                if let Some(s) = s {
                    attributes.insert(k.to_string(), s);
                }
            }
        }
        let id = match props.message_id() {
            Some(id) => id.as_str().to_string(),
            // A message published by another tool without an id: stable for this delivery only.
            None => format!("amqp-{}-{gen}-{}", self.shared.handle, d.delivery_tag),
        };
        let sent_at = props
            .timestamp()
            .and_then(|t| chrono::DateTime::from_timestamp(i64::try_from(t).ok()?, 0));
        let body = Bytes::from(d.data);
        let receipt = self.receipt(gen, d.delivery_tag);
        self.shared.inflight.lock().unwrap().insert(
            receipt.clone(),
            InFlight {
                gen,
                from_consumer,
                acker: d.acker,
                deadline: Instant::now() + vis,
                body: body.clone(),
                properties: props,
                receive_count,
            },
        );
        spawn_visibility_timer(Arc::downgrade(&self.shared), receipt.clone());
        ReceivedMessage {
            id,
            body,
            attributes,
            receipt,
            receive_count,
            sent_at,
        }
    }

    /// Take an in-flight delivery of the current connection by receipt.
    async fn take(&self, receipt: &str) -> Result<InFlight> {
        let current = self.gen.load(Ordering::SeqCst);
        let f = self
            .shared
            .inflight
            .lock()
            .unwrap()
            .remove(receipt)
            .ok_or_else(gureum_core::queue::stale_receipt)?;
        if f.gen != current || !self.session_alive(f.gen).await {
            return Err(gureum_core::queue::stale_receipt());
        }
        Ok(f)
    }

    async fn session_alive(&self, gen: u64) -> bool {
        match self.session.lock().await.as_ref() {
            Some(s) => s.gen == gen && s.alive(),
            None => false,
        }
    }

    /// Deliveries of the consumer not yet settled: when they reach the prefetch, the broker
    /// sends no more, and a receive falls back to `basic.get`.
    fn consumer_held(&self, gen: u64) -> usize {
        let buffered = self.shared.buffer.lock().unwrap().len();
        let inflight = self
            .shared
            .inflight
            .lock()
            .unwrap()
            .values()
            .filter(|f| f.from_consumer && f.gen == gen)
            .count();
        buffered + inflight
    }
}

enum PublishError {
    Lapin(lapin::Error),
    Unroutable,
    Nacked,
}

/// Return the delivery to the queue when its visibility runs out.
fn spawn_visibility_timer(weak: Weak<Shared>, receipt: String) {
    tokio::spawn(async move {
        loop {
            let deadline = {
                let Some(sh) = weak.upgrade() else { return };
                let m = sh.inflight.lock().unwrap();
                match m.get(&receipt) {
                    Some(f) => f.deadline,
                    None => return,
                }
            };
            tokio::time::sleep_until(deadline).await;
            let Some(sh) = weak.upgrade() else { return };
            let expired = {
                let mut m = sh.inflight.lock().unwrap();
                match m.get(&receipt) {
                    None => return,
                    Some(f) if f.deadline > Instant::now() => None,
                    Some(_) => m.remove(&receipt),
                }
            };
            if let Some(f) = expired {
                let r = f
                    .acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        multiple: false,
                    })
                    .await;
                if let Err(e) = r {
                    tracing::debug!(error = %e, "visibility expiry: nack failed (the connection is gone, the broker returns it)");
                }
                return;
            }
        }
    });
}

#[async_trait]
impl QueueDriver for AmqpQueue {
    fn name(&self) -> &str {
        &self.config.queue
    }

    fn capabilities(&self) -> QueueCapabilities {
        QueueCapabilities {
            max_batch_send: MAX_BATCH_SEND,
            max_batch_receive: usize::from(self.config.prefetch),
            max_message_bytes: self.config.max_message_bytes,
            max_visibility: self.config.max_visibility,
            max_wait: Duration::from_secs(20),
            delay: true,
            nack_delay: true,
            extend_visibility: true,
            dead_letter: true,
            attributes: true,
            ordering: false,
            purge: true,
            depth: true,
            // Create/delete/open work; listing needs the management API (not AMQP 0-9-1).
            admin: false,
        }
    }

    async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<String>> {
        if messages.len() > MAX_BATCH_SEND {
            return Err(Error::invalid(format!(
                "at most {MAX_BATCH_SEND} messages per batch"
            )));
        }
        let mut items = Vec::with_capacity(messages.len());
        let mut ids = Vec::with_capacity(messages.len());
        for m in &messages {
            if m.body.len() > self.config.max_message_bytes {
                return Err(Error::invalid(format!(
                    "message body of {} bytes exceeds the {}-byte limit of this queue",
                    m.body.len(),
                    self.config.max_message_bytes
                )));
            }
            if m.group_id.is_some() || m.dedup_id.is_some() {
                return Err(Error::unsupported(
                    "message groups and deduplication ids on AMQP",
                ));
            }
            let id = uuid::Uuid::new_v4().to_string();
            let props = self.properties_for(m, &id, 0)?;
            items.push((m.body.clone(), props, m.delay.unwrap_or_default()));
            ids.push(id);
        }
        // Publishing again after a lost connection may duplicate a message the broker had
        // already stored (at-least-once); the ids stay the same, so consumers can tell.
        let mut tries = 0;
        loop {
            let s = self.session().await?;
            match self.publish_confirmed(&s, &items).await {
                Ok(()) => return Ok(ids),
                Err(PublishError::Unroutable) => {
                    return Err(Error::not_found(format!(
                        "AMQP queue {:?} does not exist (the message was returned unroutable)",
                        self.config.queue
                    )))
                }
                Err(PublishError::Nacked) => {
                    return Err(Error::new(
                        ErrorKind::Unavailable,
                        "the broker refused to confirm the message (basic.nack)",
                    ))
                }
                Err(PublishError::Lapin(e)) if is_connection_loss(&e) && tries == 0 => {
                    tries += 1;
                    tracing::warn!(error = %e, "publish hit a lost connection; reconnecting");
                    s.dead.store(true, Ordering::SeqCst);
                }
                Err(PublishError::Lapin(e)) => return Err(map("basic.publish", e)),
            }
        }
    }

    async fn receive(&self, opts: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        let max = opts
            .max_messages
            .clamp(1, usize::from(self.config.prefetch));
        if opts.visibility > self.config.max_visibility {
            return Err(Error::invalid(format!(
                "visibility {:?} exceeds the maximum {:?}",
                opts.visibility, self.config.max_visibility
            )));
        }
        // Deliveries arrive asynchronously after a consumer starts: even a zero wait looks briefly.
        let deadline = Instant::now() + opts.wait.max(Duration::from_millis(50));
        let mut s = self.session().await?;
        self.ensure_consumer(&s).await?;
        let mut out = Vec::new();
        loop {
            let notified = self.shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let taken: Vec<(u64, lapin::message::Delivery)> = {
                let mut b = self.shared.buffer.lock().unwrap();
                b.retain(|(g, _)| *g == s.gen);
                let n = (max - out.len()).min(b.len());
                b.drain(..n).collect()
            };
            for (g, d) in taken {
                out.push(self.to_message(g, d, opts.visibility, true));
            }
            if out.len() >= max {
                break;
            }
            if !out.is_empty() {
                // The rest of a batch is usually on the wire (the broker pushes up to the
                // prefetch back to back): keep taking deliveries while each follows the last
                // within BATCH_LINGER, unless the prefetch is used up (no more will come).
                // Returning the first few alone costs a partial batch and one more
                // acknowledging round trip per receive.
                if self.consumer_held(s.gen) >= usize::from(self.config.prefetch) {
                    break;
                }
                let left = deadline.saturating_duration_since(Instant::now());
                let linger = left.min(BATCH_LINGER);
                if linger.is_zero() || tokio::time::timeout(linger, notified).await.is_err() {
                    break;
                }
                continue;
            }
            if !s.alive() {
                s = self.session().await?;
                self.ensure_consumer(&s).await?;
                continue;
            }
            // The application holds a full prefetch unacknowledged: the consumer is paused by
            // the broker, so fetch one by one (basic.get is not limited by the prefetch).
            let saturated = self.consumer_held(s.gen) >= usize::from(self.config.prefetch);
            if saturated {
                while out.len() < max {
                    match s
                        .consume
                        .basic_get(
                            self.config.queue.as_str().into(),
                            BasicGetOptions { no_ack: false },
                        )
                        .await
                    {
                        Ok(Some(m)) => {
                            out.push(self.to_message(s.gen, m.delivery, opts.visibility, false))
                        }
                        Ok(None) => break,
                        Err(e) if is_connection_loss(&e) => {
                            s.dead.store(true, Ordering::SeqCst);
                            break;
                        }
                        Err(e) => return Err(map("basic.get", e)),
                    }
                }
                if !out.is_empty() {
                    break;
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let nap = if saturated {
                left.min(Duration::from_millis(100))
            } else {
                left
            };
            let _ = tokio::time::timeout(nap, notified).await;
        }
        Ok(out)
    }

    async fn ack(&self, receipts: &[String]) -> Result<()> {
        let mut first_err = None;
        let mut acked = 0;
        for r in receipts {
            let res = match self.take(r).await {
                Ok(f) => match f.acker.ack(BasicAckOptions::default()).await {
                    Ok(_) => {
                        acked += 1;
                        Ok(())
                    }
                    // The connection went away: the broker returns the message.
                    Err(e) if is_connection_loss(&e) => Err(gureum_core::queue::stale_receipt()),
                    Err(e) => Err(map("basic.ack", e)),
                },
                Err(e) => Err(e),
            };
            if let Err(e) = res {
                first_err.get_or_insert(e);
            }
        }
        // basic.ack has no reply: a synchronous call on the same channel afterwards returns
        // only once the broker processed the acks, so an ack that returned is never undone
        // by a crash right after it.
        if acked > 0 {
            let s = self.session.lock().await.clone();
            if let Some(s) = s {
                if let Err(e) = s
                    .consume
                    .basic_qos(self.config.prefetch, BasicQosOptions::default())
                    .await
                {
                    first_err.get_or_insert(if is_connection_loss(&e) {
                        Error::new(
                            ErrorKind::PreconditionFailed,
                            "the connection was lost before the broker confirmed the ack; \
                             the message may be delivered again",
                        )
                    } else {
                        map("basic.ack (confirming round trip)", e)
                    });
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn nack(&self, receipt: &str, delay: Duration) -> Result<()> {
        let f = self.take(receipt).await?;
        if delay.is_zero() {
            return f
                .acker
                .nack(BasicNackOptions {
                    requeue: true,
                    multiple: false,
                })
                .await
                .map(|_| ())
                .map_err(|e| map("basic.nack", e));
        }
        // Re-publish into the wait queue (confirmed), then settle the original delivery.
        let mut headers = f.properties.headers().clone().unwrap_or_default();
        headers.insert(
            RECEIVES_HEADER.into(),
            AMQPValue::LongLongInt(i64::from(f.receive_count)),
        );
        let props = f.properties.clone().with_headers(headers);
        let s = self.session().await?;
        let r = self
            .publish_confirmed(&s, &[(f.body.clone(), props, delay)])
            .await;
        match r {
            Ok(()) => f
                .acker
                .ack(BasicAckOptions::default())
                .await
                .map(|_| ())
                .map_err(|e| map("basic.ack", e)),
            Err(e) => {
                // Could not park it: return it now rather than lose it.
                f.acker
                    .nack(BasicNackOptions {
                        requeue: true,
                        multiple: false,
                    })
                    .await
                    .ok();
                Err(match e {
                    PublishError::Lapin(e) => map("publish to the wait queue", e),
                    _ => Error::new(
                        ErrorKind::Unavailable,
                        "the broker refused the delayed copy; the message was returned at once",
                    ),
                })
            }
        }
    }

    async fn extend_visibility(&self, receipt: &str, visibility: Duration) -> Result<()> {
        if visibility > self.config.max_visibility {
            return Err(Error::invalid(format!(
                "visibility {visibility:?} exceeds the maximum {:?}",
                self.config.max_visibility
            )));
        }
        let current = self.gen.load(Ordering::SeqCst);
        let mut m = self.shared.inflight.lock().unwrap();
        match m.get_mut(receipt) {
            Some(f) if f.gen == current => {
                f.deadline = Instant::now() + visibility;
                Ok(())
            }
            _ => Err(gureum_core::queue::stale_receipt()),
        }
    }

    async fn depth(&self) -> Result<u64> {
        let name = self.config.queue.clone();
        let ready = self
            .with_retry("queue.declare (passive)", |s| {
                let name = name.clone();
                async move {
                    let ch = s.conn.create_channel().await?;
                    let r = ch
                        .queue_declare(
                            name.as_str().into(),
                            QueueDeclareOptions {
                                passive: true,
                                ..Default::default()
                            },
                            FieldTable::default(),
                        )
                        .await;
                    ch.close(200, "ok".into()).await.ok();
                    r.map(|q| u64::from(q.message_count()))
                }
            })
            .await?;
        // The broker counts only ready messages: add what this handle holds unacknowledged.
        let held =
            self.shared.buffer.lock().unwrap().len() + self.shared.inflight.lock().unwrap().len();
        Ok(ready + held as u64)
    }

    async fn purge(&self) -> Result<()> {
        let name = self.config.queue.clone();
        self.with_retry("queue.purge", |s| {
            let name = name.clone();
            async move {
                s.publish
                    .queue_purge(name.as_str().into(), QueuePurgeOptions::default())
                    .await
                    .map(|_| ())
            }
        })
        .await?;
        // Held deliveries are part of the queue too: settle them.
        let held: Vec<lapin::message::Delivery> = self
            .shared
            .buffer
            .lock()
            .unwrap()
            .drain(..)
            .map(|(_, d)| d)
            .collect();
        for d in held {
            d.acker.ack(BasicAckOptions::default()).await.ok();
        }
        let inflight: Vec<InFlight> = self
            .shared
            .inflight
            .lock()
            .unwrap()
            .drain()
            .map(|(_, f)| f)
            .collect();
        for f in inflight {
            f.acker.ack(BasicAckOptions::default()).await.ok();
        }
        Ok(())
    }
}

impl Drop for AmqpQueue {
    fn drop(&mut self) {
        if let Some(s) = self.session.get_mut().take() {
            s.dead.store(true, Ordering::SeqCst);
            if let Ok(h) = tokio::runtime::Handle::try_current() {
                h.spawn(async move {
                    s.conn.close(200, "gureum queue dropped".into()).await.ok();
                });
            }
        }
    }
}

/// Open an AMQP queue: connect, then check the queue exists (or declare it with `create`).
///
/// The [`Queue`] has no `QueueAdmin` attached: AMQP 0-9-1 cannot list queues, so the
/// portable admin contract (create/delete/list) is not met. [`AmqpAdmin`] creates, deletes
/// and opens queues for code that needs it (`queue.native::<AmqpQueue>()` reaches the driver).
///
/// ```no_run
/// // no_run: needs a RabbitMQ broker (CI starts one on 127.0.0.1:5672).
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_amqp::{open_amqp, AmqpConfig};
/// let queue = open_amqp(AmqpConfig::new("amqp://guest:guest@127.0.0.1:5672/%2f", "ocr")?.create(true)).await?;
/// queue.send(gureum_core::Message::new("c-1041")).await?;
/// assert!(queue.admin().is_err()); // AMQP 0-9-1 cannot list queues: no portable admin
/// # Ok(()) }
/// ```
pub async fn open_amqp(config: AmqpConfig) -> Result<Queue> {
    let qc = QueueConfig {
        dead_letter: config.dead_letter.clone(),
        ..Default::default()
    };
    let driver = AmqpQueue::new(config);
    driver.declare(&qc).await?;
    Ok(Queue::new(Arc::new(driver)))
}

/// Queue admin over AMQP: declare (quorum queues), delete, open. Listing is not part of
/// AMQP 0-9-1 and gives `Unsupported`.
///
/// ```no_run
/// // no_run: needs a RabbitMQ broker (CI starts one on 127.0.0.1:5672).
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_amqp::{AmqpAdmin, AmqpConfig};
/// use gureum_core::{ErrorKind, QueueAdmin, QueueConfig};
/// let admin = AmqpAdmin::new(AmqpConfig::new("amqp://guest:guest@127.0.0.1:5672/%2f", "ocr")?);
/// admin.create_queue("ocr-admin-doc", &QueueConfig::default()).await?;
/// assert_eq!(admin.list_queues().await.unwrap_err().kind(), ErrorKind::Unsupported);
/// admin.delete_queue("ocr-admin-doc").await?;
/// # Ok(()) }
/// ```
pub struct AmqpAdmin {
    config: AmqpConfig,
    conn: tokio::sync::Mutex<Option<Connection>>,
}

impl fmt::Debug for AmqpAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpAdmin")
            .field("broker", &self.config.redacted_uri())
            .finish()
    }
}

impl AmqpAdmin {
    /// Admin for the broker of `config`.
    ///
    /// ```
    /// use gureum_amqp::{AmqpAdmin, AmqpConfig};
    /// // Creating the admin does not connect.
    /// let admin = AmqpAdmin::new(AmqpConfig::new("amqp://civic:s3cret@127.0.0.1:5672/%2f", "q").unwrap());
    /// assert!(!format!("{admin:?}").contains("s3cret"));
    /// ```
    pub fn new(config: AmqpConfig) -> Self {
        AmqpAdmin {
            config,
            conn: tokio::sync::Mutex::new(None),
        }
    }

    /// A fresh channel (a failed declare or delete closes the channel it ran on).
    async fn channel(&self) -> Result<Channel> {
        let mut g = self.conn.lock().await;
        if let Some(c) = g.as_ref() {
            if c.status().connected() {
                if let Ok(ch) = c.create_channel().await {
                    return Ok(ch);
                }
            }
        }
        let c = connect(&self.config).await?;
        let ch = c
            .create_channel()
            .await
            .map_err(|e| map("open channel", e))?;
        *g = Some(c);
        Ok(ch)
    }

    async fn exists(&self, name: &str) -> Result<bool> {
        let ch = self.channel().await?;
        let r = ch
            .queue_declare(
                ShortString::from(name),
                QueueDeclareOptions {
                    passive: true,
                    ..Default::default()
                },
                FieldTable::default(),
            )
            .await;
        match r {
            Ok(_) => {
                ch.close(200, "ok".into()).await.ok();
                Ok(true)
            }
            Err(e) if crate::error::kind_of(&e) == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(map("queue.declare (passive)", e)),
        }
    }
}

#[async_trait]
impl QueueAdmin for AmqpAdmin {
    async fn create_queue(&self, name: &str, config: &QueueConfig) -> Result<()> {
        check_queue_name(name)?;
        if config.default_visibility.is_some() {
            return Err(Error::unsupported(
                "a default visibility timeout stored on an AMQP queue (pass it per receive)",
            ));
        }
        let args = queue_args(config)?;
        let ch = self.channel().await?;
        let r = ch
            .queue_declare(
                name.into(),
                QueueDeclareOptions {
                    durable: true,
                    ..Default::default()
                },
                args,
            )
            .await;
        match r {
            Ok(_) => {
                ch.close(200, "ok".into()).await.ok();
                Ok(())
            }
            Err(e) if crate::error::kind_of(&e) == ErrorKind::PreconditionFailed => {
                Err(Error::new(
                    ErrorKind::AlreadyExists,
                    format!("AMQP queue {name:?} exists with other settings: {e}"),
                ))
            }
            Err(e) => Err(map("queue.declare", e)),
        }
    }

    async fn delete_queue(&self, name: &str) -> Result<()> {
        if !self.exists(name).await? {
            return Err(Error::not_found(format!(
                "AMQP queue {name:?} does not exist"
            )));
        }
        let ch = self.channel().await?;
        let r = ch
            .queue_delete(name.into(), QueueDeleteOptions::default())
            .await;
        ch.close(200, "ok".into()).await.ok();
        r.map(|_| ()).map_err(|e| map("queue.delete", e))
    }

    async fn list_queues(&self) -> Result<Vec<String>> {
        Err(Error::unsupported(
            "listing queues: AMQP 0-9-1 has no such method (RabbitMQ's management API does)",
        ))
    }

    async fn open(&self, name: &str) -> Result<Queue> {
        open_amqp(self.config.for_queue(name)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letter_arguments() {
        let a = queue_args(&QueueConfig {
            dead_letter: Some(gureum_core::DeadLetter {
                queue: "jobs-dlq".into(),
                max_receive_count: 3,
            }),
            ..Default::default()
        })
        .unwrap();
        let m = a.inner();
        assert_eq!(
            m.get("x-delivery-limit").and_then(|v| v.as_long_long_int()),
            Some(2)
        );
        assert!(m.contains_key("x-dead-letter-routing-key"));
        assert!(queue_args(&QueueConfig {
            fifo: true,
            ..Default::default()
        })
        .is_err());
    }

    #[test]
    fn headers_and_names() {
        let mut h = FieldTable::default();
        h.insert(DELIVERY_COUNT_HEADER.into(), AMQPValue::LongLongInt(2));
        h.insert(RECEIVES_HEADER.into(), AMQPValue::LongString("3".into()));
        assert_eq!(header_u32(Some(&h), DELIVERY_COUNT_HEADER), Some(2));
        assert_eq!(header_u32(Some(&h), RECEIVES_HEADER), Some(3));
        assert_eq!(
            wait_queue_name("q", Duration::from_millis(1500)),
            "q.gureum-wait.1500"
        );
        assert!(check_attribute("x-death").is_err());
        assert!(check_attribute("kind").is_ok());
    }
}
