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
    caps_map, case, ensure, ensure_eq, expect_kind, fail, run_cases, skip, CaseDef, CaseError,
    Context, Gated, Outcome, Scope,
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

mod admin;
mod args;
mod basic;
mod batch;
mod body;
mod concurrency;
mod delivery;
mod long_poll;
mod process;
mod purge;
mod visibility;

impl Gated for Ctx {
    type Caps = gureum_core::QueueCapabilities;
}

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
    // `admin` counts as advertised only when the queue really has a QueueAdmin.
    let mut advertised = caps.clone();
    advertised.admin = caps.admin && admin.is_some();
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
    let results = run_cases(ctx.clone(), &cases(), &advertised, opts, timeout, after).await;
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
        target: opts.target,
    });
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.export_if_requested();
    report
}

/// Remove everything a queue run with `opts.run_id` may have created: with admin, every
/// queue named `gcf-<run-id>-*`; without, the dedicated queue is drained. Used by the runner
/// after an interrupted run; returns how many queues (or messages) were removed.
pub async fn cleanup(queue: &Queue, opts: &Options) -> gureum_core::Result<usize> {
    let id: String = opts
        .run_id
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let stem = format!("gcf-{id}-");
    match queue.admin() {
        Ok(admin) => {
            let mut n = 0;
            for name in admin.list_queues().await? {
                if name.starts_with(&stem) && admin.delete_queue(&name).await.is_ok() {
                    n += 1;
                }
            }
            Ok(n)
        }
        Err(_) => drain(queue, opts.scaled(opts.visibility)).await,
    }
}

/// Names of the queue cases, in run order.
pub fn case_names() -> Vec<&'static str> {
    cases().iter().map(|c| c.name).collect()
}

/// Every case (but the final cleanup), area by area in run order.
fn cases() -> Vec<CaseDef<Ctx>> {
    [
        basic::cases(),
        batch::cases(),
        body::cases(),
        visibility::cases(),
        long_poll::cases(),
        concurrency::cases(),
        purge::cases(),
        process::cases(),
        args::cases(),
        admin::cases(),
        delivery::cases(),
    ]
    .into_iter()
    .flatten()
    .collect()
}
