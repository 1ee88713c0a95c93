//! The Kafka queue driver ([`KafkaQueue`]) and admin ([`KafkaAdmin`]).
//!
//! How the portable semantics map onto Kafka (details on docs/kafka.md):
//!
//! * **send** produces with `acks=all` (idempotent producer) and returns after every message
//!   was acknowledged; the message id travels in the header `gureum-id`.
//! * **receive** consumes in the consumer group (`subscribe`), never auto-commits.
//! * **ack** marks the offset done; the group's committed offset of a partition moves only up
//!   to the lowest offset still unacknowledged, so after a crash or rebalance everything not
//!   acknowledged is read again (and acknowledged messages after a gap may be read again too:
//!   at-least-once).
//! * **visibility timeout / nack**: Kafka has no per-message redelivery. This client keeps a
//!   delivered message and offers it again (receive count + 1) when its visibility runs out or
//!   it is nacked (after the delay); the offset stays uncommitted meanwhile, so nothing is lost
//!   if the process dies.
//! * **dead letters**: a message that would be delivered more than `max_receives` times is
//!   produced to the dead-letter topic (`acks=all`) and then counted as done.

use crate::config::{check_topic, KafkaConfig, Security};
use crate::error::{drain_main_queue, map, TlsWatch};
use crate::oauth::TokenContext;
use async_trait::async_trait;
use bytes::Bytes;
use gureum_core::{
    DeadLetter, Error, ErrorKind, Message, Queue, QueueAdmin, QueueCapabilities, QueueConfig,
    QueueDriver, ReceiveOptions, ReceivedMessage, Result,
};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer};
use rdkafka::message::{Header, Headers, Message as _, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// Header with the portable message id.
///
/// Example: see [`KafkaAdmin`].
pub const ID_HEADER: &str = "gureum-id";
/// Header with the send time (ms since the epoch).
///
/// Example: see [`KafkaAdmin`].
pub const SENT_HEADER: &str = "gureum-sent-ms";
/// Header with the receive count of a message moved to the dead-letter topic.
///
/// Example: see [`KafkaAdmin`].
pub const RECEIVES_HEADER: &str = "gureum-receives";
const MAX_BATCH_SEND: usize = 100;
const IO_TIMEOUT: Duration = Duration::from_secs(15);
/// One metadata request's share of [`IO_TIMEOUT`] (see `KafkaAdmin::metadata`).
const METADATA_SLICE: Duration = Duration::from_secs(2);

/// One consumed record held by this client.
#[derive(Clone)]
struct Held {
    partition: i32,
    offset: i64,
    id: String,
    body: Bytes,
    attributes: BTreeMap<String, String>,
    sent_at: Option<chrono::DateTime<chrono::Utc>>,
    receive_count: u32,
}

struct InFlight {
    held: Held,
    deadline: Instant,
}

#[derive(Default)]
struct State {
    /// Handed out, not settled.
    inflight: HashMap<String, InFlight>,
    /// The visibility deadlines of `inflight`, earliest first (one entry per handed-out
    /// record, kept in step with `inflight`): a receive offers expired ones again. No task or
    /// timer per message.
    deadlines: BTreeSet<(Instant, String)>,
    /// To be offered again (visibility expired or nacked), each with its earliest time.
    again: VecDeque<(Instant, Held)>,
    /// Per partition: offsets consumed and not settled.
    open: HashMap<i32, BTreeSet<i64>>,
    /// Per partition: highest offset consumed.
    seen: HashMap<i32, i64>,
    /// Per partition: offset last committed.
    committed: HashMap<i32, i64>,
    /// Partitions revoked since: their held records are void (another member reads them).
    epoch: u64,
}

/// Shared between the driver, its timers and the consumer context.
struct Shared {
    handle: String,
    state: Mutex<State>,
}

/// Consumer context: forgets what it holds of revoked partitions, and fetches OAuth tokens.
struct GroupContext {
    shared: Weak<Shared>,
    token: Option<TokenContext>,
    tls: Arc<TlsWatch>,
}

impl rdkafka::ClientContext for GroupContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        self.tls.observe(error.rdkafka_error_code(), reason);
        tracing::warn!(%error, reason, "librdkafka error event");
    }
    fn generate_oauth_token(
        &self,
        cfg: Option<&str>,
    ) -> std::result::Result<rdkafka::client::OAuthToken, Box<dyn std::error::Error>> {
        match &self.token {
            Some(t) => t.generate(cfg),
            None => Err("no OAUTHBEARER configured".into()),
        }
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, _c: &rdkafka::consumer::BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let Some(sh) = self.shared.upgrade() else {
                return;
            };
            let revoked: BTreeSet<i32> = tpl.elements().iter().map(|e| e.partition()).collect();
            let mut st = sh.state.lock().unwrap();
            st.inflight
                .retain(|_, f| !revoked.contains(&f.held.partition));
            let State {
                inflight,
                deadlines,
                ..
            } = &mut *st;
            deadlines.retain(|(_, r)| inflight.contains_key(r));
            st.again.retain(|(_, h)| !revoked.contains(&h.partition));
            for p in &revoked {
                st.open.remove(p);
                st.seen.remove(p);
                st.committed.remove(p);
            }
            st.epoch += 1;
            tracing::info!(partitions = ?revoked, "Kafka partitions revoked; their deliveries are stale");
        }
    }
}

/// The Kafka queue driver (also the escape hatch: `queue.native::<KafkaQueue>()`).
///
/// # Examples
///
/// Needs a broker (scripts/emulators.sh starts tansu on 127.0.0.1:9092), so compiled only:
///
/// ```no_run
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{Message, ResourceUrl};
/// use gureum_kafka::{open_kafka, KafkaConfig, KafkaQueue};
/// let url = ResourceUrl::parse("kafka://127.0.0.1:9092/ocr-jobs?group=ocr-workers&create=true")?;
/// let queue = open_kafka(KafkaConfig::from_url(&url)?).await?; // creates the topic
/// queue.send(Message::new("scan-0001")).await?;
/// let got = queue.receive(1).await?;
/// assert_eq!(&got[0].body[..], b"scan-0001");
/// queue.ack(&got[0]).await?;
/// let driver = queue.native::<KafkaQueue>().unwrap();
/// assert_eq!(driver.config().topic, "ocr-jobs");
/// let _producer = driver.producer(); // rdkafka's FutureProducer, for anything else
/// # Ok(()) }
/// ```
pub struct KafkaQueue {
    config: KafkaConfig,
    producer: FutureProducer<TokenContext>,
    consumer: tokio::sync::OnceCell<Arc<StreamConsumer<GroupContext>>>,
    shared: Arc<Shared>,
    /// TLS failures seen by the producer and the consumer.
    tls: Arc<TlsWatch>,
}

impl fmt::Debug for KafkaQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaQueue")
            .field("bootstrap", &self.config.bootstrap)
            .field("topic", &self.config.topic)
            .field("group", &self.config.group)
            .finish()
    }
}

fn client_config(settings: &BTreeMap<String, String>) -> ClientConfig {
    let mut c = ClientConfig::new();
    for (k, v) in settings {
        c.set(k, v);
    }
    c
}

/// The OAUTHBEARER token source the clients of `config` use: client-credentials tokens for
/// the `nhn-easyqueue` preset (and any config with [`Security::OAuthBearer`]), none otherwise.
///
/// Example: see [`KafkaAdmin`].
pub fn token_context(config: &KafkaConfig) -> Result<TokenContext> {
    match &config.security {
        Security::OAuthBearer {
            token_endpoint,
            client_id,
            client_secret,
            scope,
            ..
        } => TokenContext::client_credentials(token_endpoint, client_id, client_secret, scope),
        _ => Ok(TokenContext::none()),
    }
}

fn producer_for(config: &KafkaConfig, tls: &Arc<TlsWatch>) -> Result<FutureProducer<TokenContext>> {
    client_config(&config.producer_settings())
        .create_with_context(token_context(config)?.watching(tls.clone()))
        .map_err(|e| map("create producer", e))
}

impl KafkaQueue {
    fn new(config: KafkaConfig) -> Result<Self> {
        let tls = Arc::new(TlsWatch::default());
        let producer = producer_for(&config, &tls)?;
        Ok(KafkaQueue {
            config,
            producer,
            tls,
            consumer: tokio::sync::OnceCell::new(),
            shared: Arc::new(Shared {
                handle: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
                state: Mutex::new(State::default()),
            }),
        })
    }

    /// The configuration.
    ///
    /// Example: see [`KafkaQueue`].
    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    /// The producer (native rdkafka use).
    ///
    /// Example: see [`KafkaQueue`].
    pub fn producer(&self) -> &FutureProducer<TokenContext> {
        &self.producer
    }

    async fn consumer(&self) -> Result<Arc<StreamConsumer<GroupContext>>> {
        self.consumer
            .get_or_try_init(|| async {
                let ctx = GroupContext {
                    shared: Arc::downgrade(&self.shared),
                    token: match &self.config.security {
                        Security::OAuthBearer { .. } => Some(token_context(&self.config)?),
                        _ => None,
                    },
                    tls: self.tls.clone(),
                };
                let c: StreamConsumer<GroupContext> =
                    client_config(&self.config.consumer_settings())
                        .create_with_context(ctx)
                        .map_err(|e| map("create consumer", e))?;
                c.subscribe(&[&self.config.topic])
                    .map_err(|e| map("subscribe", e))?;
                Ok::<_, Error>(Arc::new(c))
            })
            .await
            .cloned()
    }

    async fn produce(&self, topic: &str, items: Vec<(String, Message, u32)>) -> Result<()> {
        let mut futs = Vec::with_capacity(items.len());
        for (id, m, receives) in &items {
            let mut headers =
                OwnedHeaders::new_with_capacity(m.attributes.len() + 3).insert(Header {
                    key: ID_HEADER,
                    value: Some(id.as_bytes()),
                });
            let now = chrono::Utc::now().timestamp_millis().to_string();
            headers = headers.insert(Header {
                key: SENT_HEADER,
                value: Some(now.as_bytes()),
            });
            if *receives > 0 {
                let r = receives.to_string();
                headers = headers.insert(Header {
                    key: RECEIVES_HEADER,
                    value: Some(r.as_bytes()),
                });
            }
            for (k, v) in &m.attributes {
                headers = headers.insert(Header {
                    key: k.as_str(),
                    value: Some(v.as_bytes()),
                });
            }
            let mut rec = FutureRecord::<str, [u8]>::to(topic)
                .payload(m.body.as_ref())
                .headers(headers);
            if let Some(g) = &m.group_id {
                rec = rec.key(g.as_str());
            }
            // Enqueue all, then wait: the batch travels together.
            let f = self
                .producer
                .send_result(rec)
                .map_err(|(e, _)| map(&format!("produce to {topic}"), e))?;
            futs.push(f);
        }
        for f in futs {
            f.await
                .map_err(|_| Error::new(ErrorKind::Unavailable, "Kafka producer went away"))?
                .map_err(|(e, _)| self.tls.classify(map(&format!("produce to {topic}"), e)))?;
        }
        Ok(())
    }

    fn receipt(&self, h: &Held, epoch: u64) -> String {
        format!(
            "{}.{epoch}.{}.{}.{}",
            self.shared.handle, h.partition, h.offset, h.receive_count
        )
    }

    fn hand_out(&self, st: &mut State, h: Held, vis: Duration) -> ReceivedMessage {
        let receipt = self.receipt(&h, st.epoch);
        let deadline = Instant::now() + vis;
        st.deadlines.insert((deadline, receipt.clone()));
        st.inflight.insert(
            receipt.clone(),
            InFlight {
                held: h.clone(),
                deadline,
            },
        );
        ReceivedMessage {
            id: h.id,
            body: h.body,
            attributes: h.attributes,
            receipt,
            receive_count: h.receive_count,
            sent_at: h.sent_at,
        }
    }

    /// Records due again whose delivery limit is reached go to the dead-letter topic.
    async fn dead_letter(&self, due: Vec<Held>) -> Result<()> {
        let Some(dl) = &self.config.dead_letter else {
            return Ok(());
        };
        for h in due {
            let m = Message {
                body: h.body.clone(),
                attributes: h.attributes.clone(),
                ..Default::default()
            };
            self.produce(&dl.queue, vec![(h.id.clone(), m, h.receive_count)])
                .await?;
            tracing::info!(id = %h.id, receives = h.receive_count, dlq = %dl.queue, "moved to the dead-letter topic");
            self.settle(h.partition, h.offset).await?;
        }
        Ok(())
    }

    /// The offset is done: commit up to the lowest open offset of its partition.
    async fn settle(&self, partition: i32, offset: i64) -> Result<()> {
        self.settle_many(&[(partition, offset)]).await
    }

    /// These offsets are done: for every partition they touch, commit up to its lowest open
    /// offset, all in one synchronous commit.
    async fn settle_many(&self, done: &[(i32, i64)]) -> Result<()> {
        let mut tpl = TopicPartitionList::new();
        {
            let mut st = self.shared.state.lock().unwrap();
            let mut touched = std::collections::BTreeSet::new();
            for (partition, offset) in done {
                let Some(open) = st.open.get_mut(partition) else {
                    continue; // revoked meanwhile
                };
                open.remove(offset);
                touched.insert((*partition, *offset));
            }
            let mut next_of: BTreeMap<i32, i64> = BTreeMap::new();
            for (partition, offset) in touched {
                let next = match st.open.get(&partition).and_then(|o| o.iter().next()) {
                    Some(lowest) => *lowest,
                    None => st.seen.get(&partition).map(|s| s + 1).unwrap_or(offset + 1),
                };
                let e = next_of.entry(partition).or_insert(next);
                *e = (*e).max(next);
            }
            for (partition, next) in next_of {
                if st.committed.get(&partition).is_some_and(|c| *c >= next) {
                    continue;
                }
                st.committed.insert(partition, next);
                tpl.add_partition_offset(&self.config.topic, partition, Offset::Offset(next))
                    .map_err(|e| map("commit", e))?;
            }
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        let consumer = self.consumer().await?;
        tokio::task::spawn_blocking(move || consumer.commit(&tpl, CommitMode::Sync))
            .await
            .map_err(|e| Error::other(format!("commit task: {e}")))?
            .map_err(|e| self.tls.classify(map("commit offsets", e)))
    }

    fn take(&self, receipt: &str) -> Result<Held> {
        let mut st = self.shared.state.lock().unwrap();
        let f = st
            .inflight
            .remove(receipt)
            .ok_or_else(gureum_core::queue::stale_receipt)?;
        st.deadlines.remove(&(f.deadline, receipt.to_string()));
        Ok(f.held)
    }
}

impl State {
    /// Records whose visibility ran out by `now` leave `inflight` for `again` (offered at
    /// once, receive count + 1 when handed out).
    fn expire(&mut self, now: Instant) {
        while let Some((at, _)) = self.deadlines.first() {
            if *at > now {
                break;
            }
            let Some((_, receipt)) = self.deadlines.pop_first() else {
                break;
            };
            if let Some(f) = self.inflight.remove(&receipt) {
                self.again.push_back((now, f.held));
            }
        }
    }
}

#[async_trait]
impl QueueDriver for KafkaQueue {
    fn name(&self) -> &str {
        self.config
            .topic
            .strip_prefix(&self.config.prefix)
            .unwrap_or(&self.config.topic)
    }

    fn capabilities(&self) -> QueueCapabilities {
        QueueCapabilities {
            max_batch_send: MAX_BATCH_SEND,
            max_batch_receive: self.config.batch,
            max_message_bytes: self.config.max_message_bytes,
            max_visibility: Duration::from_secs(12 * 3600),
            max_wait: Duration::from_secs(20),
            delay: false,
            nack_delay: true,
            extend_visibility: true,
            dead_letter: true,
            attributes: true,
            ordering: false,
            purge: false,
            depth: false,
            admin: true,
        }
    }

    async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<String>> {
        if messages.len() > MAX_BATCH_SEND {
            return Err(Error::invalid(format!(
                "at most {MAX_BATCH_SEND} messages per batch"
            )));
        }
        let mut items = Vec::with_capacity(messages.len());
        for m in messages {
            if m.body.len() > self.config.max_message_bytes {
                return Err(Error::invalid(format!(
                    "message body of {} bytes exceeds the {}-byte limit of this queue",
                    m.body.len(),
                    self.config.max_message_bytes
                )));
            }
            if m.delay.is_some_and(|d| !d.is_zero()) {
                return Err(Error::unsupported("per-message delay on Kafka"));
            }
            for k in m.attributes.keys() {
                if k.starts_with("gureum-") || k.is_empty() {
                    return Err(Error::invalid(format!(
                        "attribute name {k:?} is reserved (gureum- headers)"
                    )));
                }
            }
            items.push((uuid::Uuid::new_v4().to_string(), m, 0));
        }
        let ids = items.iter().map(|(id, _, _)| id.clone()).collect();
        self.produce(&self.config.topic, items).await?;
        Ok(ids)
    }

    async fn receive(&self, opts: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        let max = opts.max_messages.clamp(1, self.config.batch);
        let consumer = self.consumer().await?;
        let deadline = Instant::now() + opts.wait;
        let mut out = Vec::new();
        let limit = self
            .config
            .dead_letter
            .as_ref()
            .map(|d| d.max_receive_count);
        loop {
            // 1. Records offered again (visibility expired, nacked) whose time has come.
            let mut dead = Vec::new();
            {
                let mut st = self.shared.state.lock().unwrap();
                let now = Instant::now();
                st.expire(now);
                let mut keep = VecDeque::new();
                while let Some((at, mut h)) = st.again.pop_front() {
                    if at > now || out.len() >= max {
                        keep.push_back((at, h));
                        continue;
                    }
                    if limit.is_some_and(|l| h.receive_count >= l) {
                        dead.push(h);
                        continue;
                    }
                    h.receive_count += 1;
                    let m = self.hand_out(&mut st, h, opts.visibility);
                    out.push(m);
                }
                st.again = keep;
            }
            self.dead_letter(dead).await?;
            if out.len() >= max {
                break;
            }
            // 2. New records from the group's partitions.
            let left = deadline.saturating_duration_since(Instant::now());
            let step = if out.is_empty() {
                left.min(Duration::from_millis(200))
                    .max(Duration::from_millis(10))
            } else {
                Duration::from_millis(5)
            };
            match tokio::time::timeout(step, consumer.recv()).await {
                Ok(Ok(msg)) => {
                    // One pass over the headers: the id, the send time, the attributes.
                    let mut attributes = BTreeMap::new();
                    let (mut id, mut sent) = (None, None);
                    if let Some(h) = msg.headers() {
                        for x in h.iter() {
                            let Some(v) = x.value.and_then(|v| std::str::from_utf8(v).ok()) else {
                                continue;
                            };
                            match x.key {
                                ID_HEADER => id = Some(v.to_string()),
                                SENT_HEADER => sent = v.parse::<i64>().ok(),
                                k if k.starts_with("gureum-") => {}
                                k => {
                                    attributes.insert(k.to_string(), v.to_string());
                                }
                            }
                        }
                    }
                    let (partition, offset) = (msg.partition(), msg.offset());
                    let id = id.unwrap_or_else(|| format!("{}-{partition}-{offset}", msg.topic()));
                    let sent_at = sent
                        .and_then(chrono::DateTime::from_timestamp_millis)
                        .or_else(|| {
                            msg.timestamp()
                                .to_millis()
                                .and_then(chrono::DateTime::from_timestamp_millis)
                        });
                    let h = Held {
                        partition,
                        offset,
                        id,
                        body: Bytes::copy_from_slice(msg.payload().unwrap_or_default()),
                        attributes,
                        sent_at,
                        receive_count: 1,
                    };
                    drop(msg);
                    let mut st = self.shared.state.lock().unwrap();
                    st.open.entry(partition).or_default().insert(offset);
                    let s = st.seen.entry(partition).or_insert(offset);
                    *s = (*s).max(offset);
                    let m = self.hand_out(&mut st, h, opts.visibility);
                    out.push(m);
                }
                Ok(Err(e)) => {
                    let err = self.tls.classify(map("consume", e));
                    if !err.is_retryable() {
                        return Err(err);
                    }
                    tracing::warn!(error = %err, "Kafka consume error; retrying");
                }
                Err(_) => {
                    if !out.is_empty() || Instant::now() >= deadline {
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    async fn ack(&self, receipts: &[String]) -> Result<()> {
        // One commit for the whole call (per partition: up to its lowest open offset).
        let mut first_err = None;
        let mut done = Vec::with_capacity(receipts.len());
        for r in receipts {
            match self.take(r) {
                Ok(h) => done.push((h.partition, h.offset)),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if let Err(e) = self.settle_many(&done).await {
            first_err.get_or_insert(e);
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    async fn nack(&self, receipt: &str, delay: Duration) -> Result<()> {
        let h = self.take(receipt)?;
        self.shared
            .state
            .lock()
            .unwrap()
            .again
            .push_back((Instant::now() + delay, h));
        Ok(())
    }

    async fn extend_visibility(&self, receipt: &str, visibility: Duration) -> Result<()> {
        let mut st = self.shared.state.lock().unwrap();
        let deadline = Instant::now() + visibility;
        let old = match st.inflight.get_mut(receipt) {
            Some(f) => std::mem::replace(&mut f.deadline, deadline),
            None => return Err(gureum_core::queue::stale_receipt()),
        };
        st.deadlines.remove(&(old, receipt.to_string()));
        st.deadlines.insert((deadline, receipt.to_string()));
        Ok(())
    }

    async fn depth(&self) -> Result<u64> {
        // High watermark minus the group's committed offset would be the answer, but against
        // tansu 0.6 it came out wrong (1 of 7), and no real Kafka was available to verify it:
        // not offered until it is.
        Err(Error::unsupported(
            "depth on Kafka (consumer lag per partition is not verified yet)",
        ))
    }

    async fn purge(&self) -> Result<()> {
        Err(Error::unsupported(
            "purge on Kafka (records leave a topic by retention; delete and re-create the topic)",
        ))
    }
}

/// Open a Kafka queue: the topic must exist (or is created with `create`).
///
/// Example: see [`KafkaQueue`].
pub async fn open_kafka(config: KafkaConfig) -> Result<Queue> {
    let admin = Arc::new(KafkaAdmin::new(config.clone())?);
    if config.create {
        admin
            .create_queue(
                config
                    .topic
                    .strip_prefix(&config.prefix)
                    .unwrap_or(&config.topic),
                &QueueConfig::default(),
            )
            .await?;
    } else if !admin.exists(&config.topic).await? {
        return Err(Error::not_found(format!(
            "Kafka topic {:?} does not exist (open with create=true to create it)",
            config.topic
        )));
    }
    let driver = KafkaQueue::new(config)?;
    Ok(Queue::new(Arc::new(driver)).with_admin(admin))
}

/// Topic admin: create (partitions, replication), delete, list (names without the preset
/// prefix), open. Dead-letter settings of queues it created are remembered by this admin (Kafka
/// topics cannot carry them).
///
/// # Examples
///
/// Creating the clients makes no connection:
///
/// ```
/// use gureum_core::ResourceUrl;
/// use gureum_kafka::queue::{token_context, ID_HEADER, RECEIVES_HEADER, SENT_HEADER};
/// use gureum_kafka::{KafkaAdmin, KafkaConfig};
/// let config = KafkaConfig::from_url(&ResourceUrl::parse("kafka://127.0.0.1:9092/ocr-jobs?group=ocr").unwrap()).unwrap();
/// assert_eq!(format!("{:?}", token_context(&config).unwrap()), "TokenContext(none)"); // no OAUTHBEARER
/// let admin = KafkaAdmin::new(config).unwrap();
/// assert!(format!("{admin:?}").contains("127.0.0.1:9092"));
/// // The record headers gureum writes stay in its own namespace:
/// assert!([ID_HEADER, SENT_HEADER, RECEIVES_HEADER].iter().all(|h| h.starts_with("gureum-")));
/// ```
pub struct KafkaAdmin {
    config: KafkaConfig,
    client: AdminClient<TokenContext>,
    dead_letters: Mutex<HashMap<String, DeadLetter>>,
    /// TLS failures of the admin client (its error events, drained after a failed call).
    tls: Arc<TlsWatch>,
}

impl fmt::Debug for KafkaAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaAdmin")
            .field("bootstrap", &self.config.bootstrap)
            .finish()
    }
}

impl KafkaAdmin {
    /// Admin for the cluster of `config`.
    ///
    /// Example: see [`KafkaAdmin`].
    pub fn new(config: KafkaConfig) -> Result<Self> {
        let tls = Arc::new(TlsWatch::default());
        let client = client_config(&config.common_settings())
            .create_with_context(token_context(&config)?.watching(tls.clone()))
            .map_err(|e| map("create admin client", e))?;
        Ok(KafkaAdmin {
            config,
            client,
            dead_letters: Mutex::new(HashMap::new()),
            tls,
        })
    }

    fn full(&self, name: &str) -> Result<String> {
        let bare = name.strip_prefix(&self.config.prefix).unwrap_or(name);
        let t = format!("{}{bare}", self.config.prefix);
        check_topic(&t)?;
        Ok(t)
    }

    /// Cluster metadata (of one topic, or of all), within [`IO_TIMEOUT`], asked in slices of
    /// [`METADATA_SLICE`]: after a slice fails, the admin client's error events are read, and a
    /// failed TLS handshake ends the wait at once as [`ErrorKind::Tls`] (librdkafka itself
    /// would keep retrying the handshake until the timeout and then report only a timeout).
    fn metadata(&self, topic: Option<&str>) -> Result<rdkafka::metadata::Metadata> {
        let deadline = std::time::Instant::now() + IO_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self
                .client
                .inner()
                .fetch_metadata(topic, left.min(METADATA_SLICE))
            {
                Ok(md) => return Ok(md),
                Err(e) => {
                    let err = map("metadata", e);
                    drain_main_queue(self.client.inner(), &self.tls);
                    let err = self.tls.classify(err);
                    if err.kind() == ErrorKind::Tls
                        || !err.is_retryable()
                        || std::time::Instant::now() >= deadline
                    {
                        return Err(err);
                    }
                }
            }
        }
    }

    async fn topics(&self) -> Result<Vec<String>> {
        let md = self.metadata(None)?;
        Ok(md.topics().iter().map(|t| t.name().to_string()).collect())
    }

    async fn exists(&self, topic: &str) -> Result<bool> {
        // Metadata of this one topic (a full listing is only fetched by `list_queues`).
        let md = self.metadata(Some(topic))?;
        Ok(md
            .topics()
            .iter()
            .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty()))
    }
}

#[async_trait]
impl QueueAdmin for KafkaAdmin {
    async fn create_queue(&self, name: &str, config: &QueueConfig) -> Result<()> {
        if config.fifo {
            return Err(Error::unsupported("FIFO message groups on Kafka"));
        }
        if config.default_visibility.is_some() {
            return Err(Error::unsupported(
                "a default visibility timeout stored on a Kafka topic (pass it per receive)",
            ));
        }
        let topic = self.full(name)?;
        if let Some(d) = &config.dead_letter {
            if d.max_receive_count == 0 {
                return Err(Error::invalid("max_receive_count must be at least 1"));
            }
            let mut d = d.clone();
            d.queue = self.full(&d.queue)?;
            self.dead_letters.lock().unwrap().insert(topic.clone(), d);
        }
        if self.exists(&topic).await? {
            return Ok(());
        }
        let nt = NewTopic::new(
            &topic,
            self.config.partitions,
            TopicReplication::Fixed(self.config.replication),
        );
        let opts = AdminOptions::new().operation_timeout(Some(IO_TIMEOUT));
        let r = self.client.create_topics([&nt], &opts).await.map_err(|e| {
            drain_main_queue(self.client.inner(), &self.tls);
            self.tls.classify(map("create topic", e))
        })?;
        for x in r {
            match x {
                Ok(_) => {}
                Err((_, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((t, code)) => {
                    return Err(crate::error::map_code(&format!("create topic {t}"), code))
                }
            }
        }
        // Metadata reaches the brokers asynchronously: wait until the topic is visible.
        for _ in 0..50 {
            if self.exists(&topic).await? {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    async fn delete_queue(&self, name: &str) -> Result<()> {
        let topic = self.full(name)?;
        if !self.exists(&topic).await? {
            return Err(Error::not_found(format!(
                "Kafka topic {topic:?} does not exist"
            )));
        }
        let opts = AdminOptions::new().operation_timeout(Some(IO_TIMEOUT));
        let r = self
            .client
            .delete_topics(&[&topic], &opts)
            .await
            .map_err(|e| {
                drain_main_queue(self.client.inner(), &self.tls);
                self.tls.classify(map("delete topic", e))
            })?;
        for x in r {
            match x {
                Ok(_) => {}
                Err((_, rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition)) => {
                    return Err(Error::not_found(format!(
                        "Kafka topic {topic:?} does not exist"
                    )))
                }
                Err((t, code)) => {
                    return Err(crate::error::map_code(&format!("delete topic {t}"), code))
                }
            }
        }
        self.dead_letters.lock().unwrap().remove(&topic);
        for _ in 0..50 {
            if !self.exists(&topic).await? {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    async fn list_queues(&self) -> Result<Vec<String>> {
        let p = &self.config.prefix;
        Ok(self
            .topics()
            .await?
            .into_iter()
            .filter(|t| !t.starts_with("__"))
            .filter_map(|t| t.strip_prefix(p.as_str()).map(str::to_string))
            .collect())
    }

    async fn open(&self, name: &str) -> Result<Queue> {
        let mut c = self.config.for_topic(name)?;
        if let Some(d) = self.dead_letters.lock().unwrap().get(&c.topic) {
            c.dead_letter = Some(d.clone());
        }
        if !self.exists(&c.topic).await? {
            return Err(Error::not_found(format!(
                "Kafka topic {:?} does not exist",
                c.topic
            )));
        }
        let admin = Arc::new(KafkaAdmin::new(self.config.clone())?);
        *admin.dead_letters.lock().unwrap() = self.dead_letters.lock().unwrap().clone();
        Ok(Queue::new(Arc::new(KafkaQueue::new(c)?)).with_admin(admin))
    }
}
