//! Queue cases, run against a [`Queue`].
//!
//! When the queue has a [`QueueAdmin`](gureum_core::QueueAdmin), every case works on its own
//! queue `gcf-<run-id>-<n>` created for it and deleted afterwards. Without admin the cases
//! share the queue given, which **must be dedicated to conformance**: the suite drains it
//! (receives and acknowledges every message) before each case, and cases that need a new
//! queue (dead-letter, FIFO) are skipped.
//!
//! Waiting periods are based on [`Options::visibility`] (default 1 s) and scaled by
//! [`Options::time_scale`].

use crate::harness::{
    caps_map, case, ensure, ensure_eq, expect_kind, fail, flag, run_cases, skip, CaseDef,
    CaseError, Context, Outcome, Scope,
};
use crate::report::{Report, Section};
use crate::Options;
use bytes::Bytes;
use futures::future::BoxFuture;
use gureum_core::{
    DeadLetter, ErrorKind, Message, ProcessOptions, Queue, QueueAdmin, QueueConfig, ReceiveOptions,
    ReceivedMessage,
};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// State shared by the queue cases of one run.
pub(crate) struct Ctx {
    queue: Queue,
    admin: Option<Arc<dyn QueueAdmin>>,
    opts: Options,
    counter: AtomicUsize,
    created: Mutex<Vec<String>>,
}

type R<T> = std::result::Result<T, CaseError>;

impl Ctx {
    fn vis(&self) -> Duration {
        self.opts
            .scaled(self.opts.visibility.max(Duration::from_secs(1)))
    }
    /// A generous bound for "the message should be back by now".
    fn patience(&self) -> Duration {
        self.opts.scaled(Duration::from_secs(10)) + self.vis() * 3
    }
    fn queue_name(&self, suffix: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let id: String = self
            .opts
            .run_id
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let mut name = format!("gcf-{id}-{n}{suffix}");
        name.truncate(63);
        name
    }
}

impl Scope<Ctx> {
    /// A fresh, empty queue for this case.
    async fn fresh(&self) -> R<Queue> {
        self.fresh_with(&QueueConfig::default(), "").await
    }

    async fn fresh_with(&self, config: &QueueConfig, suffix: &str) -> R<Queue> {
        match &self.admin {
            Some(admin) => {
                let name = self.queue_name(suffix);
                self.created.lock().unwrap().push(name.clone());
                admin
                    .create_queue(&name, config)
                    .await
                    .ctx(&format!("create queue {name}"))?;
                admin.open(&name).await.ctx(&format!("open queue {name}"))
            }
            None => {
                if config.dead_letter.is_some() || config.fifo {
                    return skip("needs a new queue, and the queue has no QueueAdmin");
                }
                drain(&self.queue, self.vis())
                    .await
                    .ctx("drain the shared queue")?;
                Ok(self.queue.clone())
            }
        }
    }

    fn ro(&self, max: usize) -> ReceiveOptions {
        ReceiveOptions {
            max_messages: max,
            visibility: self.vis(),
            wait: self.opts.scaled(Duration::from_secs(1)),
        }
    }

    /// Receive until `want` messages whose id is in `ids` arrived (or `patience` passed).
    /// Messages with other ids are acknowledged and dropped (leftovers of earlier cases).
    async fn collect(
        &self,
        q: &Queue,
        ids: &BTreeSet<String>,
        want: usize,
        vis: Duration,
    ) -> R<Vec<ReceivedMessage>> {
        // Slow backends (moto) return few messages per receive: allow time per message.
        let per_message = self.opts.scaled(Duration::from_millis(100)) * want as u32;
        let deadline = Instant::now() + self.patience() + per_message;
        let mut out = Vec::new();
        while out.len() < want && Instant::now() < deadline {
            let max = q.capabilities().max_batch_receive.max(1);
            let got = q
                .receive_with(ReceiveOptions {
                    max_messages: max,
                    visibility: vis,
                    wait: self.opts.scaled(Duration::from_secs(1)),
                })
                .await
                .ctx("receive")?;
            for m in got {
                if ids.contains(&m.id) {
                    out.push(m);
                } else {
                    q.ack(&m).await.ok();
                }
            }
        }
        Ok(out)
    }

    /// Send one message and return its id.
    async fn send1(&self, q: &Queue, m: Message) -> R<String> {
        q.send(m).await.ctx("send")
    }

    /// Receive the one message with `id`.
    async fn one(&self, q: &Queue, id: &str, vis: Duration) -> R<ReceivedMessage> {
        let ids: BTreeSet<String> = [id.to_string()].into();
        let mut got = self.collect(q, &ids, 1, vis).await?;
        match got.pop() {
            Some(m) => Ok(m),
            None => fail(format!(
                "message {id} was not received within {:?}",
                self.patience()
            )),
        }
    }

    /// Nothing with `id` arrives within `d`.
    async fn absent_for(&self, q: &Queue, id: &str, d: Duration) -> Outcome {
        let deadline = Instant::now() + d;
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            let got = q
                .receive_with(ReceiveOptions {
                    max_messages: q.capabilities().max_batch_receive.max(1),
                    visibility: self.vis(),
                    wait: left.min(Duration::from_secs(1)),
                })
                .await
                .ctx("receive")?;
            for m in got {
                ensure!(
                    m.id != id,
                    "message {id} was delivered again (receive count {}) while it should not be",
                    m.receive_count
                );
                q.ack(&m).await.ok();
            }
            if left < Duration::from_millis(50) {
                break;
            }
        }
        Ok(())
    }
}

/// Receive and acknowledge everything visible.
async fn drain(q: &Queue, vis: Duration) -> gureum_core::Result<usize> {
    let mut n = 0;
    let mut empty = 0;
    for _ in 0..1000 {
        let got = q
            .receive_with(ReceiveOptions {
                max_messages: q.capabilities().max_batch_receive.max(1),
                visibility: vis,
                wait: Duration::ZERO,
            })
            .await?;
        if got.is_empty() {
            empty += 1;
            if empty >= 2 {
                break;
            }
            continue;
        }
        n += got.len();
        q.ack_all(&got).await?;
    }
    Ok(n)
}

fn ids_of(v: &[String]) -> BTreeSet<String> {
    v.iter().cloned().collect()
}

/// Run the queue cases against `queue`.
pub async fn run(queue: &Queue, opts: &Options) -> Report {
    let started = Instant::now();
    let mut report = Report::new(opts.run_id.clone());
    let caps = queue.capabilities();
    let admin = queue.admin().ok().cloned();
    let mut map = caps_map(&caps);
    for k in ["max_visibility", "max_wait"] {
        if let Some(v) = map.get_mut(k) {
            let secs = v.get("secs").and_then(|s| s.as_u64()).unwrap_or(0);
            *v = serde_json::Value::String(format!("{secs} s"));
        }
    }
    map.insert(
        "admin".into(),
        serde_json::Value::Bool(caps.admin && admin.is_some()),
    );
    let adv_map = map.clone();
    let ctx = Arc::new(Ctx {
        queue: queue.clone(),
        admin: admin.clone(),
        opts: opts.clone(),
        counter: AtomicUsize::new(0),
        created: Mutex::new(Vec::new()),
    });
    let timeout = opts.scaled(opts.case_timeout);
    let after = |c: Arc<Ctx>, _name: &'static str| -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let names: Vec<String> = std::mem::take(&mut *c.created.lock().unwrap());
            match &c.admin {
                Some(a) => {
                    for n in names {
                        a.delete_queue(&n).await.ok();
                    }
                }
                None => {
                    drain(&c.queue, c.vis()).await.ok();
                }
            }
        })
    };
    let results = run_cases(
        ctx.clone(),
        &cases(),
        |f| flag(&adv_map, f),
        opts,
        timeout,
        after,
    )
    .await;
    let mut notes = vec![if admin.is_some() {
        format!("each case used its own queue gcf-{}-<n>, created through QueueAdmin and deleted afterwards", opts.run_id.to_ascii_lowercase())
    } else {
        format!(
            "no QueueAdmin: the cases shared queue {:?} and drained it",
            queue.name()
        )
    }];
    notes.push(format!("visibility timeout used: {:?}", ctx.vis()));
    report.sections.push(Section {
        area: "queue".into(),
        backend: opts
            .backend
            .clone()
            .unwrap_or_else(|| queue.name().to_string()),
        capabilities: map,
        cases: results,
        notes,
    });
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.export_if_requested();
    report
}

/// Names of the queue cases, in run order.
pub fn case_names() -> Vec<&'static str> {
    cases().iter().map(|c| c.name).collect()
}

#[allow(clippy::vec_init_then_push)]
fn cases() -> Vec<CaseDef<Ctx>> {
    let mut v: Vec<CaseDef<Ctx>> = Vec::new();

    // ---- basics ------------------------------------------------------------------------
    v.push(case!("queue.send_receive_ack", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("hello")).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        ensure_eq!(m.body, Bytes::from_static(b"hello"), "body");
        q.ack(&m).await.ctx("ack")?;
        Ok(())
    }));
    v.push(case!("queue.send_returns_ids", [], |s| {
        let q = s.fresh().await?;
        let ids = q
            .send_batch((0..5).map(|i| Message::new(format!("m{i}"))).collect())
            .await
            .ctx("send_batch")?;
        ensure_eq!(ids.len(), 5, "ids returned");
        ensure!(ids.iter().all(|i| !i.is_empty()), "an id is empty");
        ensure_eq!(ids_of(&ids).len(), 5, "distinct ids");
        let got = s.collect(&q, &ids_of(&ids), 5, s.vis()).await?;
        for m in &got {
            let i = ids.iter().position(|x| *x == m.id).unwrap_or(usize::MAX);
            ensure_eq!(
                m.body,
                Bytes::from(format!("m{i}")),
                "body of the message with id {}",
                m.id
            );
        }
        q.ack_all(&got).await.ctx("ack_all")?;
        ensure_eq!(got.len(), 5, "received");
        Ok(())
    }));
    v.push(case!("queue.receive_empty_queue", [], |s| {
        let q = s.fresh().await?;
        let got = q
            .receive_with(ReceiveOptions {
                max_messages: 10,
                visibility: s.vis(),
                wait: Duration::ZERO,
            })
            .await
            .ctx("receive")?;
        ensure!(
            got.is_empty(),
            "an empty queue returned {} messages",
            got.len()
        );
        Ok(())
    }));
    v.push(case!("queue.receive_count_starts_at_one", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("x")).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        ensure_eq!(m.receive_count, 1, "receive count of a first delivery");
        Ok(())
    }));
    v.push(case!("queue.ack_deletes", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("x")).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        s.absent_for(&q, &id, s.vis() * 2 + Duration::from_millis(500))
            .await
    }));
    v.push(case!("queue.invisible_while_in_flight", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("x")).await?;
        let long = (s.vis() * 10).min(q.capabilities().max_visibility);
        let m = s.one(&q, &id, long).await?;
        let r = s.absent_for(&q, &id, s.vis() * 2).await;
        q.ack(&m).await.ctx("ack")?;
        r
    }));
    v.push(case!("queue.message_ids_unique", [], |s| {
        let q = s.fresh().await?;
        let ids = q
            .send_batch((0..50).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send_batch")?;
        let got = s.collect(&q, &ids_of(&ids), 50, s.vis() * 5).await?;
        q.ack_all(&got).await.ctx("ack_all")?;
        ensure_eq!(ids_of(&ids).len(), 50, "distinct ids of 50 sends");
        ensure_eq!(got.len(), 50, "received");
        Ok(())
    }));
    v.push(case!("queue.sent_at_plausible", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("t")).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        let Some(t) = m.sent_at else {
            return skip("the backend does not report sent_at");
        };
        let now = chrono::Utc::now();
        ensure!(
            t > now - chrono::Duration::minutes(10) && t < now + chrono::Duration::minutes(10),
            "sent_at {t} is not near now ({now})"
        );
        Ok(())
    }));

    // ---- batches -------------------------------------------------------------------------
    v.push(case!("queue.send_batch_exactly_max", [], |s| {
        let q = s.fresh().await?;
        let max = q.capabilities().max_batch_send.max(1);
        let msgs: Vec<Message> = (0..max).map(|i| Message::new(format!("b{i}"))).collect();
        let ids = q
            .driver()
            .send_batch(msgs)
            .await
            .ctx("driver send_batch of exactly max_batch_send")?;
        ensure_eq!(ids.len(), max, "ids");
        let got = s.collect(&q, &ids_of(&ids), max, s.vis() * 5).await?;
        q.ack_all(&got).await.ctx("ack_all")?;
        ensure_eq!(got.len(), max, "received");
        Ok(())
    }));
    v.push(case!("queue.send_batch_larger_is_split", [], |s| {
        let q = s.fresh().await?;
        let n = q.capabilities().max_batch_send.max(1) * 2 + 1;
        let ids = q
            .send_batch((0..n).map(|i| Message::new(format!("s{i}"))).collect())
            .await
            .ctx("send_batch over the limit")?;
        ensure_eq!(ids.len(), n, "ids");
        let got = s.collect(&q, &ids_of(&ids), n, s.vis() * 5).await?;
        q.ack_all(&got).await.ctx("ack_all")?;
        ensure_eq!(got.len(), n, "received");
        Ok(())
    }));
    v.push(case!("queue.receive_respects_max", [], |s| {
        let q = s.fresh().await?;
        let ids = q
            .send_batch((0..5).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let got = q
            .receive_with(ReceiveOptions {
                max_messages: 2,
                ..s.ro(2)
            })
            .await
            .ctx("receive")?;
        let n = got.len();
        q.ack_all(&got).await.ctx("ack")?;
        let rest = s.collect(&q, &ids_of(&ids), 5 - n, s.vis()).await?;
        q.ack_all(&rest).await.ctx("ack")?;
        ensure!(n <= 2, "receive(max 2) returned {n}");
        Ok(())
    }));
    v.push(case!("queue.receive_up_to_max_batch", [], |s| {
        let q = s.fresh().await?;
        let max = q.capabilities().max_batch_receive.max(1);
        let ids = q
            .send_batch((0..max + 3).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let mut biggest = 0;
        let mut all = Vec::new();
        let deadline = Instant::now() + s.patience();
        while all.len() < max + 3 && Instant::now() < deadline {
            let got = q
                .receive_with(ReceiveOptions {
                    max_messages: max + 3,
                    visibility: s.vis() * 5,
                    wait: s.opts.scaled(Duration::from_secs(1)),
                })
                .await
                .ctx("receive")?;
            biggest = biggest.max(got.len());
            all.extend(got);
        }
        q.ack_all(&all).await.ctx("ack")?;
        ensure!(
            biggest <= max,
            "one receive returned {biggest} messages, more than max_batch_receive {max}"
        );
        ensure_eq!(
            all.iter().filter(|m| ids.contains(&m.id)).count(),
            max + 3,
            "received"
        );
        Ok(())
    }));
    v.push(case!("queue.ack_all_batch", [], |s| {
        let q = s.fresh().await?;
        let n = q.capabilities().max_batch_send.max(1) + 2;
        let ids = q
            .send_batch((0..n).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let got = s.collect(&q, &ids_of(&ids), n, s.vis() * 5).await?;
        q.ack_all(&got).await.ctx("ack_all")?;
        ensure_eq!(got.len(), n, "received");
        s.absent_for(&q, &ids[0], s.vis() * 5 + Duration::from_millis(500))
            .await
    }));

    // ---- bodies and attributes ------------------------------------------------------------
    v.push(case!("queue.message_max_size_accepted", [], |s| {
        let q = s.fresh().await?;
        let max = q.capabilities().max_message_bytes;
        let body = crate::storage::pattern(max, 1);
        let id = s.send1(&q, Message::new(body.clone())).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        ensure!(
            m.body == body,
            "a max-size body ({max} bytes) came back as {} different bytes",
            m.body.len()
        );
        Ok(())
    }));
    v.push(case!("queue.message_over_max_size_rejected", [], |s| {
        let q = s.fresh().await?;
        let max = q.capabilities().max_message_bytes;
        let r = q.send(Message::new(vec![b'x'; max + 1])).await;
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "send of max_message_bytes + 1",
        )
    }));
    v.push(case!("queue.driver_rejects_oversized_message", [], |s| {
        // The driver itself (not only Queue) must refuse an oversized body.
        let q = s.fresh().await?;
        let max = q.capabilities().max_message_bytes;
        let r = q
            .driver()
            .send_batch(vec![Message::new(vec![b'x'; max + 1])])
            .await;
        if r.is_ok() {
            drain(&q, s.vis()).await.ok();
        }
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "driver send_batch of max_message_bytes + 1",
        )
    }));
    v.push(case!("queue.empty_body", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new(Bytes::new())).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        ensure_eq!(m.body.len(), 0, "empty body length");
        Ok(())
    }));
    v.push(case!("queue.binary_body_all_bytes", [], |s| {
        let q = s.fresh().await?;
        let body: Vec<u8> = (0..=255u8).chain((0..=255u8).rev()).collect();
        let id = s.send1(&q, Message::new(body.clone())).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        ensure_eq!(m.body, Bytes::from(body), "binary body");
        Ok(())
    }));
    v.push(case!("queue.utf8_body_hangul", [], |s| {
        let q = s.fresh().await?;
        let body = "민원 접수: 도로 파손 🚧";
        let id = s.send1(&q, Message::new(body)).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        ensure_eq!(m.body, Bytes::from(body), "utf-8 body");
        Ok(())
    }));
    v.push(case!("queue.attributes_round_trip", ["attributes"], |s| {
        let q = s.fresh().await?;
        let id = s
            .send1(
                &q,
                Message::new("a")
                    .attribute("kind", "complaint")
                    .attribute("priority", "3"),
            )
            .await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        ensure_eq!(
            m.attributes.get("kind").map(String::as_str),
            Some("complaint"),
            "attribute kind"
        );
        ensure_eq!(
            m.attributes.get("priority").map(String::as_str),
            Some("3"),
            "attribute priority"
        );
        Ok(())
    }));
    v.push(case!(
        "queue.attributes_unicode_values",
        ["attributes"],
        |s| {
            let q = s.fresh().await?;
            let id = s
                .send1(
                    &q,
                    Message::new("a").attribute("district", "종로구 & <중구>"),
                )
                .await?;
            let m = s.one(&q, &id, s.vis()).await?;
            q.ack(&m).await.ctx("ack")?;
            ensure_eq!(
                m.attributes.get("district").map(String::as_str),
                Some("종로구 & <중구>"),
                "attribute value"
            );
            Ok(())
        }
    ));
    v.push(case!("queue.no_attributes_means_none", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("plain")).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        ensure!(
            m.attributes.is_empty(),
            "attributes appeared on a message sent without any: {:?}",
            m.attributes
        );
        Ok(())
    }));

    // ---- visibility, redelivery, nack -------------------------------------------------------
    v.push(case!("queue.visibility_expiry_redelivers", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("again")).await?;
        let m1 = s.one(&q, &id, s.vis()).await?;
        let m2 = s.one(&q, &id, s.vis()).await?;
        q.ack(&m2).await.ctx("ack")?;
        ensure!(
            m2.receive_count > m1.receive_count,
            "receive count did not grow on redelivery: {} then {}",
            m1.receive_count,
            m2.receive_count
        );
        ensure_eq!(m2.body, m1.body, "body on redelivery");
        Ok(())
    }));
    v.push(case!("queue.not_redelivered_before_visibility", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("x")).await?;
        let vis = s.vis() * 3;
        let t0 = Instant::now();
        let _m1 = s.one(&q, &id, vis).await?;
        let m2 = s.one(&q, &id, s.vis()).await?;
        let waited = t0.elapsed();
        q.ack(&m2).await.ctx("ack")?;
        ensure!(
            waited + Duration::from_millis(250) >= vis,
            "redelivered after {waited:?}, before the visibility timeout {vis:?}"
        );
        Ok(())
    }));
    v.push(case!("queue.nack_redelivers_now", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("n")).await?;
        let long = (s.vis() * 30).min(q.capabilities().max_visibility);
        let m1 = s.one(&q, &id, long).await?;
        q.nack(&m1, Duration::ZERO).await.ctx("nack")?;
        let t0 = Instant::now();
        let m2 = s.one(&q, &id, s.vis()).await?;
        q.ack(&m2).await.ctx("ack")?;
        ensure!(
            t0.elapsed() < long,
            "nacked message only came back after the visibility timeout"
        );
        ensure!(
            m2.receive_count > m1.receive_count,
            "receive count did not grow after nack"
        );
        Ok(())
    }));
    v.push(case!("queue.nack_with_delay", ["nack_delay"], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("d")).await?;
        let long = (s.vis() * 30).min(q.capabilities().max_visibility);
        let m1 = s.one(&q, &id, long).await?;
        let delay = s.vis() * 2;
        let t0 = Instant::now();
        q.nack(&m1, delay).await.ctx("nack with delay")?;
        let m2 = s.one(&q, &id, s.vis()).await?;
        let waited = t0.elapsed();
        q.ack(&m2).await.ctx("ack")?;
        ensure!(
            waited + Duration::from_millis(250) >= delay,
            "redelivered after {waited:?}, before the nack delay {delay:?}"
        );
        ensure!(
            waited < long,
            "redelivered only after the original visibility timeout"
        );
        Ok(())
    }));
    v.push(case!(
        "queue.extend_visibility",
        ["extend_visibility"],
        |s| {
            let q = s.fresh().await?;
            let id = s.send1(&q, Message::new("e")).await?;
            let m = s.one(&q, &id, s.vis()).await?;
            q.extend_visibility(&m, (s.vis() * 8).min(q.capabilities().max_visibility))
                .await
                .ctx("extend_visibility")?;
            let r = s
                .absent_for(&q, &id, s.vis() * 2 + Duration::from_millis(300))
                .await;
            let ack = q.ack(&m).await;
            r?;
            ack.ctx("ack with the extended receipt")?;
            Ok(())
        }
    ));
    v.push(case!("queue.stale_receipt_ack", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("s")).await?;
        let old = s.one(&q, &id, s.vis()).await?;
        let new = s.one(&q, &id, s.vis() * 5).await?;
        let r = q.ack(&old).await;
        match &r {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::PreconditionFailed => {}
            Err(e) => {
                return fail(format!(
                "ack with a stale receipt: expected Ok or precondition_failed, got {} error: {e}",
                e.kind()
            ))
            }
        }
        match q.ack(&new).await {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::PreconditionFailed | ErrorKind::NotFound
                ) => {}
            Err(e) => {
                return fail(format!(
                    "ack with the current receipt after a stale ack: {} error: {e}",
                    e.kind()
                ))
            }
        }
        s.absent_for(&q, &id, s.vis() * 5 + Duration::from_millis(500))
            .await
    }));
    v.push(case!(
        "queue.stale_receipt_nack_keeps_message_hidden",
        [],
        |s| {
            let q = s.fresh().await?;
            let id = s.send1(&q, Message::new("s")).await?;
            let old = s.one(&q, &id, s.vis()).await?;
            let long = (s.vis() * 10).min(q.capabilities().max_visibility);
            let new = s.one(&q, &id, long).await?;
            match q.nack(&old, Duration::ZERO).await {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::PreconditionFailed => {}
                Err(e) => {
                    return fail(format!(
                        "nack with a stale receipt: {} error: {e}",
                        e.kind()
                    ))
                }
            }
            // A stale nack must not make the current delivery visible again.
            let r = s.absent_for(&q, &id, s.vis() * 2).await;
            q.ack(&new).await.ctx("ack")?;
            r
        }
    ));
    v.push(case!("queue.ack_twice", [], |s| {
        let q = s.fresh().await?;
        let id = s.send1(&q, Message::new("x")).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("first ack")?;
        match q.ack(&m).await {
            Ok(()) => Ok(()),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::PreconditionFailed | ErrorKind::NotFound
                ) =>
            {
                Ok(())
            }
            Err(e) => fail(format!(
                "second ack: expected Ok, precondition_failed or not_found, got {} error: {e}",
                e.kind()
            )),
        }
    }));
    v.push(case!("queue.delay_message", ["delay"], |s| {
        let q = s.fresh().await?;
        let delay = s.vis() * 2;
        let t0 = Instant::now();
        let id = s.send1(&q, Message::new("later").delay(delay)).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        let waited = t0.elapsed();
        q.ack(&m).await.ctx("ack")?;
        ensure!(
            waited + Duration::from_millis(250) >= delay,
            "delayed message arrived after {waited:?}, before its delay {delay:?}"
        );
        Ok(())
    }));
    v.push(case!(
        "queue.dead_letter_after_max_receives",
        ["dead_letter", "admin"],
        |s| {
            let Some(admin) = s.admin.clone() else {
                return fail("no QueueAdmin");
            };
            let dlq_name = s.queue_name("-dlq");
            s.created.lock().unwrap().push(dlq_name.clone());
            admin
                .create_queue(&dlq_name, &QueueConfig::default())
                .await
                .ctx("create DLQ")?;
            let cfg = QueueConfig {
                dead_letter: Some(DeadLetter {
                    queue: dlq_name.clone(),
                    max_receive_count: 2,
                }),
                ..Default::default()
            };
            let q = s.fresh_with(&cfg, "").await?;
            let dlq = admin.open(&dlq_name).await.ctx("open DLQ")?;
            let id = s.send1(&q, Message::new("poison")).await?;
            let m1 = s.one(&q, &id, s.vis()).await?;
            let m2 = s.one(&q, &id, s.vis()).await?;
            ensure!(
                m2.receive_count >= 2 && m1.receive_count == 1,
                "receive counts {} and {}",
                m1.receive_count,
                m2.receive_count
            );
            // The third receive attempt must not deliver it from the main queue.
            s.absent_for(&q, &id, s.vis() * 2 + Duration::from_millis(500))
                .await?;
            let deadline = Instant::now() + s.patience();
            let mut found = None;
            while found.is_none() && Instant::now() < deadline {
                for m in dlq.receive_with(s.ro(10)).await.ctx("receive from DLQ")? {
                    if m.body == Bytes::from_static(b"poison") {
                        found = Some(m);
                    } else {
                        dlq.ack(&m).await.ok();
                    }
                }
            }
            let Some(m) = found else {
                return fail("message did not arrive in the dead-letter queue");
            };
            dlq.ack(&m).await.ctx("ack in DLQ")?;
            Ok(())
        }
    ));

    // ---- long poll ---------------------------------------------------------------------------
    v.push(case!("queue.long_poll_returns_early", [], |s| {
        let q = s.fresh().await?;
        let wait = q
            .capabilities()
            .max_wait
            .min(s.opts.scaled(Duration::from_secs(10)));
        if wait < Duration::from_secs(2) {
            return skip(format!(
                "max_wait {wait:?} is too short for a long-poll test"
            ));
        }
        let q2 = q.clone();
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(500)).await;
            q2.send(Message::new("arrived")).await
        });
        let t0 = Instant::now();
        let got = q
            .receive_with(ReceiveOptions {
                max_messages: 1,
                visibility: s.vis(),
                wait,
            })
            .await
            .ctx("long-poll receive")?;
        let took = t0.elapsed();
        let _ = sender.await;
        let n = got.len();
        q.ack_all(&got).await.ok();
        drain(&q, s.vis()).await.ok();
        ensure_eq!(n, 1, "messages returned by the long poll");
        ensure!(
            took < wait,
            "long poll returned after {took:?}, not early (wait {wait:?})"
        );
        Ok(())
    }));
    v.push(case!("queue.long_poll_times_out_empty", [], |s| {
        let q = s.fresh().await?;
        let wait = q.capabilities().max_wait.min(Duration::from_secs(1));
        let t0 = Instant::now();
        let got = q
            .receive_with(ReceiveOptions {
                max_messages: 1,
                visibility: s.vis(),
                wait,
            })
            .await
            .ctx("receive")?;
        let took = t0.elapsed();
        ensure!(got.is_empty(), "empty queue returned messages");
        ensure!(
            took < wait + s.opts.scaled(Duration::from_secs(5)),
            "long poll of {wait:?} took {took:?}"
        );
        Ok(())
    }));

    // ---- concurrency --------------------------------------------------------------------------
    v.push(case!("queue.concurrent_consumers_at_least_once", [], |s| {
        let q = s.fresh().await?;
        let n = 200;
        let ids = q
            .send_batch((0..n).map(|i| Message::new(format!("c{i}"))).collect())
            .await
            .ctx("send")?;
        let want = ids_of(&ids);
        let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let deadline = Instant::now()
            + s.patience() * 2
            + s.opts.scaled(Duration::from_millis(100)) * n as u32;
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (q, seen, want) = (q.clone(), seen.clone(), want.clone());
            let vis = s.vis() * 5;
            tasks.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    if seen.lock().unwrap().len() >= want.len() {
                        break;
                    }
                    let max = q.capabilities().max_batch_receive;
                    let got = q
                        .receive_with(ReceiveOptions {
                            max_messages: max,
                            visibility: vis,
                            wait: Duration::from_millis(500),
                        })
                        .await?;
                    for m in &got {
                        if want.contains(&m.id) {
                            *seen.lock().unwrap().entry(m.id.clone()).or_default() += 1;
                        }
                    }
                    q.ack_all(&got).await?;
                }
                gureum_core::Result::Ok(())
            }));
        }
        for t in tasks {
            match t.await {
                Ok(r) => r.ctx("consumer")?,
                Err(e) => return fail(format!("consumer task: {e}")),
            }
        }
        let seen = seen.lock().unwrap().clone();
        let dups: usize = seen.values().map(|c| c - 1).sum();
        ensure!(
            seen.len() == n,
            "{} of {n} messages lost under 4 concurrent consumers ({dups} duplicate deliveries)",
            n - seen.len()
        );
        // At-least-once allows duplicates; they are reported, not failed.
        s.note(format!(
            "{n} messages, 4 consumers: none lost, {dups} duplicate deliveries"
        ));
        Ok(())
    }));
    v.push(case!("queue.many_messages_no_loss", [], |s| {
        let q = s.fresh().await?;
        let n = 300;
        let ids = q
            .send_batch((0..n).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let got = s
            .collect(
                &q,
                &ids_of(&ids),
                n,
                (s.vis() * 60).min(q.capabilities().max_visibility),
            )
            .await?;
        q.ack_all(&got).await.ctx("ack_all")?;
        let distinct: BTreeSet<&String> = got.iter().map(|m| &m.id).collect();
        ensure_eq!(distinct.len(), n, "distinct messages received of {n} sent");
        Ok(())
    }));
    v.push(case!("queue.fifo_ordering", ["ordering"], |s| {
        let cfg = QueueConfig {
            fifo: true,
            ..Default::default()
        };
        // SQS wants FIFO queue names to end in ".fifo"; other backends may refuse dots.
        let q = match s.fresh_with(&cfg, ".fifo").await {
            Ok(q) => q,
            Err(_) => s.fresh_with(&cfg, "").await?,
        };
        let n = 20;
        let mut ids = Vec::new();
        for i in 0..n {
            let mut m = Message::new(format!("{i}")).group("g1");
            m.dedup_id = Some(format!("{}-{i}", s.opts.run_id));
            ids.push(q.send(m).await.ctx("send")?);
        }
        let mut order = Vec::new();
        let deadline = Instant::now() + s.patience();
        while order.len() < n && Instant::now() < deadline {
            for m in q.receive_with(s.ro(1)).await.ctx("receive")? {
                order.push(m.id.clone());
                q.ack(&m).await.ctx("ack")?;
            }
        }
        ensure_eq!(order, ids, "delivery order within one group");
        Ok(())
    }));

    // ---- purge and depth --------------------------------------------------------------------
    v.push(case!("queue.purge", ["purge"], |s| {
        let q = s.fresh().await?;
        q.send_batch((0..5).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        q.purge().await.ctx("purge")?;
        let got = q
            .receive_with(ReceiveOptions {
                max_messages: 10,
                visibility: s.vis(),
                wait: s.opts.scaled(Duration::from_secs(1)),
            })
            .await
            .ctx("receive")?;
        ensure!(got.is_empty(), "{} messages survived a purge", got.len());
        Ok(())
    }));
    v.push(case!("queue.depth", ["depth"], |s| {
        let q = s.fresh().await?;
        ensure_eq!(q.depth().await.ctx("depth")?, 0, "depth of a new queue");
        q.send_batch((0..7).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let deadline = Instant::now() + s.patience();
        let mut d = 0;
        while Instant::now() < deadline {
            d = q.depth().await.ctx("depth")?;
            if d == 7 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        drain(&q, s.vis()).await.ctx("drain")?;
        ensure_eq!(d, 7, "depth after sending 7 (approximate, polled)");
        Ok(())
    }));
    v.push(case!("queue.depth_counts_in_flight", ["depth"], |s| {
        let q = s.fresh().await?;
        let ids = q
            .send_batch((0..3).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let got = s.collect(&q, &ids_of(&ids), 3, s.vis() * 10).await?;
        let d = q.depth().await.ctx("depth")?;
        q.ack_all(&got).await.ctx("ack")?;
        ensure_eq!(d, 3, "depth with 3 messages in flight");
        let deadline = Instant::now() + s.patience();
        let mut after = u64::MAX;
        while Instant::now() < deadline {
            after = q.depth().await.ctx("depth")?;
            if after == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        ensure_eq!(after, 0, "depth after acking everything");
        Ok(())
    }));

    // ---- process loop -------------------------------------------------------------------------
    v.push(case!("queue.process_handles_all", [], |s| {
        let q = s.fresh().await?;
        let n = 30u64;
        q.send_batch((0..n).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let seen: Arc<Mutex<BTreeSet<Bytes>>> = Arc::default();
        let seen2 = seen.clone();
        let opts = ProcessOptions {
            concurrency: 4,
            visibility: s.vis() * 5,
            wait: Duration::from_millis(500),
            retry_delay: Duration::ZERO,
            max_messages: Some(n),
        };
        let stats = tokio::time::timeout(
            s.patience() * 2,
            q.process(opts, std::future::pending(), move |m| {
                let seen = seen2.clone();
                async move {
                    seen.lock().unwrap().insert(m.body.clone());
                    Ok(())
                }
            }),
        )
        .await
        .map_err(|_| CaseError::Fail("process did not finish".into()))?
        .ctx("process")?;
        ensure_eq!(stats.acked, n, "acked");
        ensure_eq!(
            seen.lock().unwrap().len() as u64,
            n,
            "distinct messages handled"
        );
        s.absent_for(&q, "-", s.vis()).await
    }));
    v.push(case!("queue.process_graceful_shutdown", [], |s| {
        let q = s.fresh().await?;
        q.send_batch((0..4).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let started = Arc::new(AtomicUsize::new(0));
        let finished = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let tx = Arc::new(Mutex::new(Some(tx)));
        let (st, fi) = (started.clone(), finished.clone());
        let opts = ProcessOptions {
            concurrency: 4,
            visibility: s.vis() * 10,
            wait: Duration::from_millis(500),
            retry_delay: Duration::ZERO,
            max_messages: None,
        };
        let shutdown = async move {
            let _ = rx.await;
        };
        let stats = tokio::time::timeout(
            s.patience() * 2,
            q.process(opts, shutdown, move |_m| {
                let (st, fi, tx) = (st.clone(), fi.clone(), tx.clone());
                async move {
                    st.fetch_add(1, Ordering::SeqCst);
                    if let Some(tx) = tx.lock().unwrap().take() {
                        let _ = tx.send(());
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    fi.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }
            }),
        )
        .await
        .map_err(|_| CaseError::Fail("process did not return after shutdown".into()))?
        .ctx("process")?;
        let (st, fi) = (
            started.load(Ordering::SeqCst),
            finished.load(Ordering::SeqCst),
        );
        drain(&q, s.vis()).await.ok();
        ensure!(st >= 1, "no handler ran");
        ensure_eq!(fi, st, "handlers finished before process returned");
        ensure_eq!(stats.acked as usize, fi, "acked handlers");
        Ok(())
    }));
    v.push(case!("queue.process_handler_error_redelivers", [], |s| {
        let q = s.fresh().await?;
        q.send(Message::new("flaky")).await.ctx("send")?;
        let attempts = Arc::new(AtomicUsize::new(0));
        let a = attempts.clone();
        let opts = ProcessOptions {
            concurrency: 1,
            visibility: s.vis() * 5,
            wait: Duration::from_millis(500),
            retry_delay: Duration::ZERO,
            max_messages: Some(2),
        };
        let stats = tokio::time::timeout(
            s.patience() * 2,
            q.process(opts, std::future::pending(), move |_m| {
                let a = a.clone();
                async move {
                    if a.fetch_add(1, Ordering::SeqCst) == 0 {
                        Err("first attempt fails".into())
                    } else {
                        Ok(())
                    }
                }
            }),
        )
        .await
        .map_err(|_| {
            CaseError::Fail("process did not finish: the failed message was not redelivered".into())
        })?
        .ctx("process")?;
        ensure_eq!(stats.failed, 1, "failed handler runs");
        ensure_eq!(stats.acked, 1, "acked after the retry");
        Ok(())
    }));
    v.push(case!("queue.process_max_messages", [], |s| {
        let q = s.fresh().await?;
        q.send_batch((0..10).map(|i| Message::new(format!("{i}"))).collect())
            .await
            .ctx("send")?;
        let opts = ProcessOptions {
            concurrency: 1,
            visibility: s.vis() * 5,
            wait: Duration::from_millis(500),
            retry_delay: Duration::ZERO,
            max_messages: Some(3),
        };
        let stats = tokio::time::timeout(
            s.patience() * 2,
            q.process(opts, std::future::pending(), |_m| async { Ok(()) }),
        )
        .await
        .map_err(|_| CaseError::Fail("process did not stop at max_messages".into()))?
        .ctx("process")?;
        drain(&q, s.vis()).await.ok();
        ensure_eq!(stats.acked, 3, "acked with max_messages 3");
        Ok(())
    }));

    // ---- argument checks --------------------------------------------------------------------
    v.push(case!("queue.visibility_over_max_rejected", [], |s| {
        let q = s.fresh().await?;
        let max = q.capabilities().max_visibility;
        let r = q
            .receive_with(ReceiveOptions {
                max_messages: 1,
                visibility: max + Duration::from_secs(1),
                wait: Duration::ZERO,
            })
            .await;
        expect_kind(
            r,
            ErrorKind::InvalidArgument,
            "receive with visibility over max_visibility",
        )
    }));
    v.push(case!("queue.receive_zero_rejected", [], |s| {
        let q = s.fresh().await?;
        let r = q
            .receive_with(ReceiveOptions {
                max_messages: 0,
                visibility: s.vis(),
                wait: Duration::ZERO,
            })
            .await;
        expect_kind(r, ErrorKind::InvalidArgument, "receive of 0 messages")
    }));
    v.push(case!("queue.delay_unsupported_is_refused", [], |s| {
        let q = s.fresh().await?;
        if q.capabilities().delay {
            return skip("the backend supports per-message delay");
        }
        let r = q
            .send(Message::new("x").delay(Duration::from_secs(1)))
            .await;
        expect_kind(
            r,
            ErrorKind::Unsupported,
            "delayed send on a backend without delay",
        )
    }));
    v.push(case!("queue.capabilities_sane", [], |s| {
        let c = s.queue.capabilities();
        ensure!(c.max_batch_send >= 1, "max_batch_send is 0");
        ensure!(c.max_batch_receive >= 1, "max_batch_receive is 0");
        ensure!(
            c.max_message_bytes >= 1024,
            "max_message_bytes {} is below 1 KiB",
            c.max_message_bytes
        );
        ensure!(
            c.max_visibility >= Duration::from_secs(30),
            "max_visibility {:?} is below 30 s",
            c.max_visibility
        );
        ensure_eq!(c.admin, s.admin.is_some(), "admin flag vs Queue::admin()");
        Ok(())
    }));

    // ---- admin ---------------------------------------------------------------------------------
    v.push(case!("queue.admin_lifecycle", ["admin"], |s| {
        let Some(admin) = s.admin.clone() else {
            return fail("no QueueAdmin");
        };
        let name = s.queue_name("-adm");
        s.created.lock().unwrap().push(name.clone());
        admin
            .create_queue(&name, &QueueConfig::default())
            .await
            .ctx("create_queue")?;
        let listed = admin.list_queues().await.ctx("list_queues")?;
        ensure!(listed.contains(&name), "new queue {name} not listed");
        let q = admin.open(&name).await.ctx("open")?;
        let id = s.send1(&q, Message::new("in new queue")).await?;
        let m = s.one(&q, &id, s.vis()).await?;
        q.ack(&m).await.ctx("ack")?;
        admin.delete_queue(&name).await.ctx("delete_queue")?;
        let listed = admin.list_queues().await.ctx("list_queues")?;
        ensure!(!listed.contains(&name), "deleted queue {name} still listed");
        Ok(())
    }));
    v.push(case!("queue.admin_delete_missing", ["admin"], |s| {
        let Some(admin) = s.admin.clone() else {
            return fail("no QueueAdmin");
        };
        let name = s.queue_name("-none");
        expect_kind(
            admin.delete_queue(&name).await,
            ErrorKind::NotFound,
            "delete of a missing queue",
        )
    }));
    v.push(case!("queue.admin_create_existing_is_ok", ["admin"], |s| {
        let Some(admin) = s.admin.clone() else {
            return fail("no QueueAdmin");
        };
        let name = s.queue_name("-twice");
        s.created.lock().unwrap().push(name.clone());
        admin
            .create_queue(&name, &QueueConfig::default())
            .await
            .ctx("create_queue")?;
        admin
            .create_queue(&name, &QueueConfig::default())
            .await
            .ctx("create_queue again with the same settings")?;
        Ok(())
    }));
    v.push(case!("queue.admin_queues_are_isolated", ["admin"], |s| {
        let a = s.fresh().await?;
        let b = s.fresh().await?;
        let id = s.send1(&a, Message::new("only in a")).await?;
        let got = b
            .receive_with(ReceiveOptions {
                max_messages: 10,
                visibility: s.vis(),
                wait: s.opts.scaled(Duration::from_secs(1)),
            })
            .await
            .ctx("receive b")?;
        ensure!(
            got.is_empty(),
            "a message sent to one queue arrived in another"
        );
        let m = s.one(&a, &id, s.vis()).await?;
        a.ack(&m).await.ctx("ack")?;
        Ok(())
    }));
    v
}
