//! The queue suite against a small in-test queue (correct), and against broken variants of
//! it, to prove the cases can fail.

use gureum_conformance::{queue, Options, Status};
use gureum_core::{
    async_trait, Bytes, Error, Message, Queue, QueueAdmin, QueueCapabilities, QueueConfig,
    QueueDriver, ReceiveOptions, ReceivedMessage, Result,
};
use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the double misbehaves.
#[derive(Debug, Clone, Copy, Default)]
struct Faults {
    /// Ignore the visibility timeout: a received message is visible again at once.
    redeliver_early: bool,
    /// Silently drop every n-th sent message.
    lose_every: Option<usize>,
    /// Do not count receives (receive_count stays 1).
    no_receive_count: bool,
    /// An ack with any receipt ever issued for a message deletes it (a stale receipt
    /// deletes the redelivered message).
    stale_ack_deletes: bool,
}

#[derive(Debug, Clone)]
struct Stored {
    id: String,
    body: Bytes,
    attributes: BTreeMap<String, String>,
    visible_at: Instant,
    receive_count: u32,
    receipt: Option<String>,
    sent_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Default)]
struct QState {
    msgs: Vec<Stored>,
    sent: usize,
    next: u64,
    dlq: Option<(String, u32)>,
    /// receipt → message id, for every receipt issued.
    issued: HashMap<String, String>,
}

#[derive(Debug, Default)]
struct Broker {
    queues: Mutex<HashMap<String, Arc<Mutex<QState>>>>,
    faults: Faults,
}

#[derive(Debug)]
struct FakeQueue {
    name: String,
    broker: Arc<Broker>,
    state: Arc<Mutex<QState>>,
}

fn caps() -> QueueCapabilities {
    QueueCapabilities {
        max_batch_send: 10,
        max_batch_receive: 10,
        max_message_bytes: 64 * 1024,
        max_visibility: Duration::from_secs(3600),
        max_wait: Duration::from_secs(20),
        ordering: false,
        ..Default::default()
    }
}

impl FakeQueue {
    fn find_receipt<'a>(st: &'a mut QState, receipt: &str) -> Result<&'a mut Stored> {
        st.msgs
            .iter_mut()
            .find(|m| m.receipt.as_deref() == Some(receipt))
            .ok_or_else(gureum_core::queue::stale_receipt)
    }
}

#[async_trait]
impl QueueDriver for FakeQueue {
    fn name(&self) -> &str {
        &self.name
    }
    fn capabilities(&self) -> QueueCapabilities {
        caps()
    }
    async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<String>> {
        let c = caps();
        if messages.len() > c.max_batch_send {
            return Err(Error::invalid("batch too large"));
        }
        if messages.iter().any(|m| m.body.len() > c.max_message_bytes) {
            return Err(Error::invalid("message too large"));
        }
        let mut st = self.state.lock().unwrap();
        let mut ids = Vec::new();
        for m in messages {
            st.next += 1;
            st.sent += 1;
            let id = format!("{}-{}", self.name, st.next);
            ids.push(id.clone());
            if let Some(n) = self.broker.faults.lose_every {
                if st.sent.is_multiple_of(n) {
                    continue;
                }
            }
            st.msgs.push(Stored {
                id,
                body: m.body,
                attributes: m.attributes,
                visible_at: Instant::now() + m.delay.unwrap_or_default(),
                receive_count: 0,
                receipt: None,
                sent_at: chrono::Utc::now(),
            });
        }
        Ok(ids)
    }
    async fn receive(&self, opts: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        let deadline = Instant::now() + opts.wait;
        loop {
            let mut out = Vec::new();
            let mut to_dlq = Vec::new();
            {
                let mut st = self.state.lock().unwrap();
                let now = Instant::now();
                let dlq = st.dlq.clone();
                let mut next = st.next;
                let mut issued = Vec::new();
                for m in st.msgs.iter_mut() {
                    if out.len() >= opts.max_messages {
                        break;
                    }
                    if m.visible_at > now {
                        continue;
                    }
                    if let Some((_, max)) = &dlq {
                        if m.receive_count >= *max {
                            to_dlq.push(m.id.clone());
                            continue;
                        }
                    }
                    next += 1;
                    if !self.broker.faults.no_receive_count {
                        m.receive_count += 1;
                    } else {
                        m.receive_count = 1;
                    }
                    m.receipt = Some(format!("r{next}"));
                    issued.push((format!("r{next}"), m.id.clone()));
                    m.visible_at = if self.broker.faults.redeliver_early {
                        now
                    } else {
                        now + opts.visibility
                    };
                    out.push(ReceivedMessage {
                        id: m.id.clone(),
                        body: m.body.clone(),
                        attributes: m.attributes.clone(),
                        receipt: format!("r{next}"),
                        receive_count: m.receive_count,
                        sent_at: Some(m.sent_at),
                    });
                }
                st.next = next;
                st.issued.extend(issued);
                if let Some((dlq_name, _)) = dlq {
                    let moved: Vec<Stored> = st
                        .msgs
                        .iter()
                        .filter(|m| to_dlq.contains(&m.id))
                        .cloned()
                        .collect();
                    st.msgs.retain(|m| !to_dlq.contains(&m.id));
                    drop(st);
                    if let Some(d) = self.broker.queues.lock().unwrap().get(&dlq_name) {
                        let mut d = d.lock().unwrap();
                        for mut m in moved {
                            m.receive_count = 0;
                            m.receipt = None;
                            m.visible_at = Instant::now();
                            d.msgs.push(m);
                        }
                    }
                }
            }
            if !out.is_empty() || Instant::now() >= deadline {
                return Ok(out);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    async fn ack(&self, receipts: &[String]) -> Result<()> {
        let mut st = self.state.lock().unwrap();
        if self.broker.faults.stale_ack_deletes {
            let ids: Vec<String> = receipts
                .iter()
                .filter_map(|r| st.issued.get(r).cloned())
                .collect();
            st.msgs.retain(|m| !ids.contains(&m.id));
            return Ok(());
        }
        st.msgs
            .retain(|m| !m.receipt.as_ref().is_some_and(|r| receipts.contains(r)));
        Ok(())
    }
    async fn nack(&self, receipt: &str, delay: Duration) -> Result<()> {
        let mut st = self.state.lock().unwrap();
        let m = Self::find_receipt(&mut st, receipt)?;
        m.visible_at = Instant::now() + delay;
        m.receipt = None;
        Ok(())
    }
    async fn extend_visibility(&self, receipt: &str, visibility: Duration) -> Result<()> {
        let mut st = self.state.lock().unwrap();
        let m = Self::find_receipt(&mut st, receipt)?;
        m.visible_at = Instant::now() + visibility;
        Ok(())
    }
    async fn depth(&self) -> Result<u64> {
        Ok(self.state.lock().unwrap().msgs.len() as u64)
    }
    async fn purge(&self) -> Result<()> {
        self.state.lock().unwrap().msgs.clear();
        Ok(())
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[derive(Debug)]
struct FakeAdmin(Arc<Broker>);

#[async_trait]
impl QueueAdmin for FakeAdmin {
    async fn create_queue(&self, name: &str, config: &QueueConfig) -> Result<()> {
        let mut qs = self.0.queues.lock().unwrap();
        let st = qs.entry(name.to_string()).or_default();
        if let Some(d) = &config.dead_letter {
            st.lock().unwrap().dlq = Some((d.queue.clone(), d.max_receive_count));
        }
        Ok(())
    }
    async fn delete_queue(&self, name: &str) -> Result<()> {
        self.0
            .queues
            .lock()
            .unwrap()
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| Error::not_found(format!("queue {name}")))
    }
    async fn list_queues(&self) -> Result<Vec<String>> {
        Ok(self.0.queues.lock().unwrap().keys().cloned().collect())
    }
    async fn open(&self, name: &str) -> Result<Queue> {
        let st = self
            .0
            .queues
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("queue {name}")))?;
        Ok(Queue::new(Arc::new(FakeQueue {
            name: name.to_string(),
            broker: self.0.clone(),
            state: st,
        }))
        .with_admin(Arc::new(FakeAdmin(self.0.clone()))))
    }
}

async fn fake(faults: Faults, with_admin: bool) -> Queue {
    let broker = Arc::new(Broker {
        faults,
        ..Default::default()
    });
    let admin = FakeAdmin(broker.clone());
    admin
        .create_queue("main", &QueueConfig::default())
        .await
        .unwrap();
    let q = admin.open("main").await.unwrap();
    if with_admin {
        q
    } else {
        Queue::new(q.driver().clone())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn correct_double_passes_everything() {
    let q = fake(Faults::default(), true).await;
    let report = queue::run(&q, &Options::default().backend("in-test queue")).await;
    println!("{}", report.to_text());
    assert_eq!(report.failed(), 0, "failures: {:?}", report.failures());
    assert!(report.cases().count() >= 40);
    // Ordering is not advertised; the case is still attempted.
    let s = report.status("queue.fifo_ordering").unwrap();
    assert!(
        matches!(s, Status::Unsupported | Status::UnexpectedlyWorks),
        "{s:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_queue_without_admin_still_runs() {
    let q = fake(Faults::default(), false).await;
    let opts =
        Options::default().only("send_receive_ack,binary_body,dead_letter,admin_lifecycle,purge");
    let report = queue::run(&q, &opts).await;
    println!("{}", report.to_text());
    assert_eq!(
        report.status("queue.send_receive_ack"),
        Some(Status::Passed)
    );
    assert_eq!(
        report.status("queue.binary_body_all_bytes"),
        Some(Status::Passed)
    );
    // The capability struct says admin, but the Queue has none: reported, not failed.
    assert_eq!(
        report.status("queue.admin_lifecycle"),
        Some(Status::Unsupported)
    );
    assert_eq!(
        report.status("queue.dead_letter_after_max_receives"),
        Some(Status::Unsupported)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_redelivery_is_caught() {
    let q = fake(
        Faults {
            redeliver_early: true,
            ..Default::default()
        },
        true,
    )
    .await;
    let opts =
        Options::default().only("invisible_while_in_flight,not_redelivered_before_visibility");
    let report = queue::run(&q, &opts).await;
    println!("{}", report.to_text());
    for c in [
        "queue.invisible_while_in_flight",
        "queue.not_redelivered_before_visibility",
    ] {
        assert_eq!(report.status(c), Some(Status::Failed), "{c}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_messages_are_caught() {
    let q = fake(
        Faults {
            lose_every: Some(7),
            ..Default::default()
        },
        true,
    )
    .await;
    let opts = Options::default()
        .time_scale(0.3)
        .only("concurrent_consumers,many_messages_no_loss,send_batch_larger_is_split");
    let report = queue::run(&q, &opts).await;
    println!("{}", report.to_text());
    for c in [
        "queue.concurrent_consumers_at_least_once",
        "queue.many_messages_no_loss",
        "queue.send_batch_larger_is_split",
    ] {
        assert_eq!(report.status(c), Some(Status::Failed), "{c}");
    }
    let m = report
        .case("queue.concurrent_consumers_at_least_once")
        .unwrap();
    assert!(m.message.as_deref().unwrap_or("").contains("lost"), "{m:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_receive_count_is_caught() {
    let q = fake(
        Faults {
            no_receive_count: true,
            ..Default::default()
        },
        true,
    )
    .await;
    let report = queue::run(&q, &Options::default().only("visibility_expiry_redelivers")).await;
    assert_eq!(
        report.status("queue.visibility_expiry_redelivers"),
        Some(Status::Failed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_ack_deleting_the_redelivery_is_caught() {
    let q = fake(
        Faults {
            stale_ack_deletes: true,
            ..Default::default()
        },
        true,
    )
    .await;
    let report = queue::run(
        &q,
        &Options::default().time_scale(0.3).only("stale_receipt_ack"),
    )
    .await;
    let c = report.case("queue.stale_receipt_ack").unwrap();
    assert_eq!(c.status, Status::Failed, "{c:?}");
    assert!(
        c.message.as_deref().unwrap_or("").contains("deleted"),
        "{c:?}"
    );
}
