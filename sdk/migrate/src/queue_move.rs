//! Moving and draining queues, at least once.
//!
//! One loop serves both: receive a batch from the source with a visibility timeout, hand it
//! to a [`Sink`] (another queue, or a writer of JSON lines), and acknowledge the batch on the
//! source only after the sink accepted all of it. If the sink fails, the batch is released
//! on the source (`nack` without delay, so it is visible again at once) and the move stops
//! with the sink's error and the counts so far; if the process dies, the messages reappear
//! after their visibility timeout. Nothing is lost; a message may arrive twice.
//!
//! The move ends when the source answered `empty_polls` receives in a row with nothing
//! (each long-polls for `wait`), or after `max_messages`.
//!
//! What is preserved: body bytes and attributes, exactly; the FIFO group id cannot be read
//! back from a received message on every backend, so ordering groups are not carried over.
//! What cannot be: message ids, receive counts and sent times (the destination assigns new
//! ones).

use gureum_core::{Error, ErrorKind, Message, Queue, ReceiveOptions, ReceivedMessage, Result};
use std::io::Write;
use std::time::{Duration, Instant};

/// How a move or drain runs.
///
/// ```
/// use gureum_migrate::queue_move::MoveOptions;
/// let o = MoveOptions { max_messages: Some(1000), ..MoveOptions::default() };
/// assert_eq!((o.batch, o.empty_polls), (10, 2));
/// assert_eq!(o.visibility.as_secs(), 60);
/// ```
#[derive(Debug, Clone)]
pub struct MoveOptions {
    /// Messages per receive (capped by the source's `max_batch_receive`). Default 10.
    pub batch: usize,
    /// Visibility timeout of received messages on the source: longer than it takes the
    /// sink to accept a batch. Default 60 s.
    pub visibility: Duration,
    /// Long-poll time of each receive (capped by the source's `max_wait`). Default 1 s.
    pub wait: Duration,
    /// Consecutive empty receives that mean "the source is drained". Default 2.
    pub empty_polls: u32,
    /// Stop after this many messages. Default: no limit.
    pub max_messages: Option<u64>,
}

impl Default for MoveOptions {
    fn default() -> Self {
        MoveOptions {
            batch: 10,
            visibility: Duration::from_secs(60),
            wait: Duration::from_secs(1),
            empty_polls: 2,
            max_messages: None,
        }
    }
}

/// Counts of a move or drain, also handed to the progress callback after every batch.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::Message;
/// use gureum_migrate::queue_move::{move_messages, MoveOptions};
/// let src = gureum::open_queue("mem://move-report-src").await?;
/// let dst = gureum::open_queue("mem://move-report-dst").await?;
/// src.send_batch(vec![Message::new("abc"), Message::new("de")]).await?;
/// let mut batches_seen = 0;
/// let r = move_messages(&src, &dst, &MoveOptions::default(), |_| batches_seen += 1).await?;
/// assert_eq!((r.moved, r.bytes, r.ack_failures), (2, 5, 0));
/// assert!(batches_seen >= 1);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MoveReport {
    /// Messages the sink accepted and the source acknowledged.
    pub moved: u64,
    /// Body bytes of those messages.
    pub bytes: u64,
    /// Messages the sink accepted whose acknowledgement on the source failed: they will be
    /// delivered again (at least once), so the destination may hold them twice.
    pub ack_failures: u64,
    /// Batches received.
    pub batches: u64,
    /// Wall time in milliseconds.
    pub elapsed_ms: u64,
}

/// Where received messages go.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{Message, ReceivedMessage};
/// use gureum_migrate::queue_move::{drain, MoveOptions, Sink};
/// /// Keeps bodies in memory (a real sink writes somewhere durable).
/// struct Collect(Vec<String>);
/// impl Sink for Collect {
///     async fn accept(&mut self, batch: &[ReceivedMessage]) -> gureum_core::Result<()> {
///         self.0.extend(batch.iter().map(|m| String::from_utf8_lossy(&m.body).into_owned()));
///         Ok(())
///     }
/// }
/// let src = gureum::open_queue("mem://sink-doc").await?;
/// src.send(Message::new("접수 1041")).await?;
/// let mut sink = Collect(Vec::new());
/// drain(&src, &mut sink, &MoveOptions::default(), |_| {}).await?;
/// assert_eq!(sink.0, ["접수 1041"]);
/// assert_eq!(src.depth().await?, 0); // acknowledged once the sink accepted it
/// # Ok(()) }
/// ```
#[allow(async_fn_in_trait)]
pub trait Sink {
    /// Check, before a batch is accepted, that nothing in it would be lost on the way
    /// (e.g. attributes the destination cannot hold). Default: accept everything.
    fn check(&self, _batch: &[ReceivedMessage]) -> Result<()> {
        Ok(())
    }
    /// Take the whole batch durably, or fail (then none of it is acknowledged).
    async fn accept(&mut self, batch: &[ReceivedMessage]) -> Result<()>;
}

/// A sink that sends every message to another queue (in batches the destination allows).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::Message;
/// use gureum_migrate::queue_move::{drain, MoveOptions, QueueSink};
/// let src = gureum::open_queue("mem://queue-sink-src").await?;
/// let dst = gureum::open_queue("mem://queue-sink-dst").await?;
/// src.send(Message::new("x")).await?;
/// drain(&src, &mut QueueSink::new(&dst), &MoveOptions::default(), |_| {}).await?;
/// assert_eq!(dst.depth().await?, 1);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct QueueSink<'a> {
    dst: &'a Queue,
}

impl<'a> QueueSink<'a> {
    /// Send to `dst`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// use gureum_migrate::queue_move::{QueueSink, Sink};
    /// let dst = gureum::open_queue("mem://queue-sink-new").await?;
    /// let sink = QueueSink::new(&dst);
    /// assert!(sink.check(&[]).is_ok());
    /// # Ok(()) }
    /// ```
    pub fn new(dst: &'a Queue) -> Self {
        QueueSink { dst }
    }
}

impl Sink for QueueSink<'_> {
    fn check(&self, batch: &[ReceivedMessage]) -> Result<()> {
        let caps = self.dst.capabilities();
        for m in batch {
            if !m.attributes.is_empty() && !caps.attributes {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "message {} has attributes and queue {} cannot hold attributes; nothing was moved from this batch",
                        m.id,
                        self.dst.name()
                    ),
                ));
            }
            if caps.max_message_bytes > 0 && m.body.len() > caps.max_message_bytes {
                return Err(Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "message {} has {} bytes; queue {} takes at most {}",
                        m.id,
                        m.body.len(),
                        self.dst.name(),
                        caps.max_message_bytes
                    ),
                ));
            }
        }
        Ok(())
    }

    async fn accept(&mut self, batch: &[ReceivedMessage]) -> Result<()> {
        let per = self.dst.capabilities().max_batch_send.max(1);
        for chunk in batch.chunks(per) {
            let msgs: Vec<Message> = chunk
                .iter()
                .map(|m| {
                    let mut out = Message::new(m.body.clone());
                    out.attributes = m.attributes.clone();
                    out
                })
                .collect();
            if msgs.len() == 1 {
                let m = msgs.into_iter().next().expect("one message");
                self.dst.send(m).await?;
            } else {
                self.dst.send_batch(msgs).await?;
            }
        }
        Ok(())
    }
}

/// A sink that writes each message as one JSON line (`id`, `attributes`, `receive_count`,
/// `sent_at`, and `body` as UTF-8 or `body_base64`) and flushes before the batch counts as
/// accepted.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::Message;
/// use gureum_migrate::queue_move::{drain, JsonLinesSink, MoveOptions};
/// let src = gureum::open_queue("mem://jsonl-doc").await?;
/// src.send(Message::new("민원 1041").attribute("ward", "종로구")).await?;
/// let mut sink = JsonLinesSink::new(Vec::new());
/// drain(&src, &mut sink, &MoveOptions::default(), |_| {}).await?;
/// let out = String::from_utf8(sink.into_inner()).unwrap();
/// let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
/// assert_eq!((v["body"].as_str(), v["attributes"]["ward"].as_str()), (Some("민원 1041"), Some("종로구")));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct JsonLinesSink<W: Write> {
    out: W,
}

impl<W: Write> JsonLinesSink<W> {
    /// Write to `out`.
    ///
    /// ```
    /// let sink = gureum_migrate::queue_move::JsonLinesSink::new(std::io::sink());
    /// # let _ = sink.into_inner();
    /// let file_sink = gureum_migrate::queue_move::JsonLinesSink::new(Vec::<u8>::new());
    /// assert!(file_sink.into_inner().is_empty()); // nothing written yet
    /// ```
    pub fn new(out: W) -> Self {
        JsonLinesSink { out }
    }
    /// The writer back.
    ///
    /// ```
    /// let sink = gureum_migrate::queue_move::JsonLinesSink::new(vec![b'#']);
    /// assert_eq!(sink.into_inner(), b"#");
    /// ```
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// One received message as a JSON value (the drain format).
///
/// ```
/// use gureum_core::ReceivedMessage;
/// use gureum_migrate::queue_move::message_json;
/// let m = ReceivedMessage { id: "m-1".into(), body: vec![0xff, 0x00].into(), attributes: Default::default(), receipt: "r".into(), receive_count: 1, sent_at: None };
/// let v = message_json(&m);
/// assert_eq!(v["id"], "m-1");
/// assert_eq!(v["body_base64"], "/wA="); // not UTF-8: base64
/// ```
pub fn message_json(m: &ReceivedMessage) -> serde_json::Value {
    use base64::Engine;
    let mut v = serde_json::json!({
        "id": m.id,
        "attributes": m.attributes,
        "receive_count": m.receive_count,
        "sent_at": m.sent_at,
    });
    if let Some(o) = v.as_object_mut() {
        match std::str::from_utf8(&m.body) {
            Ok(s) => {
                o.insert("body".into(), s.into());
            }
            Err(_) => {
                o.insert(
                    "body_base64".into(),
                    base64::engine::general_purpose::STANDARD
                        .encode(&m.body)
                        .into(),
                );
            }
        }
    }
    v
}

impl<W: Write> Sink for JsonLinesSink<W> {
    async fn accept(&mut self, batch: &[ReceivedMessage]) -> Result<()> {
        for m in batch {
            let line = serde_json::to_string(&message_json(m))
                .map_err(|e| Error::new(ErrorKind::Other, format!("encoding message: {e}")))?;
            writeln!(self.out, "{line}")?;
        }
        self.out.flush()?;
        Ok(())
    }
}

/// Move every message from `src` to `dst` (see the module docs). `progress` sees the counts
/// after every batch.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::ErrorKind;
/// use gureum_migrate::queue_move::{move_messages, MoveOptions};
/// let q = gureum::open_queue("mem://move-self-doc").await?;
/// // Moving a queue into itself would loop forever: refused.
/// let e = move_messages(&q, &q, &MoveOptions::default(), |_| {}).await.unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::InvalidArgument);
/// # Ok(()) }
/// ```
pub async fn move_messages(
    src: &Queue,
    dst: &Queue,
    opts: &MoveOptions,
    progress: impl FnMut(&MoveReport),
) -> Result<MoveReport> {
    if std::sync::Arc::ptr_eq(src.driver(), dst.driver()) {
        return Err(Error::invalid(
            "source and destination are the same queue: a move would loop forever",
        ));
    }
    run(src, &mut QueueSink::new(dst), opts, progress).await
}

/// Drain `src` into `sink` (e.g. a [`JsonLinesSink`] over stdout or a file).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::Message;
/// use gureum_migrate::queue_move::{drain, JsonLinesSink, MoveOptions};
/// let tmp = tempfile::tempdir()?;
/// let src = gureum::open_queue(&format!("sqlite://{}/q.db?queue=old", tmp.path().display())).await?;
/// for i in 0..3 {
///     src.send(Message::new(format!("m{i}"))).await?;
/// }
/// let file = std::fs::File::create(tmp.path().join("old.jsonl"))?;
/// let r = drain(&src, &mut JsonLinesSink::new(file), &MoveOptions { max_messages: Some(2), ..MoveOptions::default() }, |_| {}).await?;
/// assert_eq!(r.moved, 2);
/// assert_eq!(src.depth().await?, 1);
/// # Ok(()) }
/// ```
pub async fn drain<S: Sink>(
    src: &Queue,
    sink: &mut S,
    opts: &MoveOptions,
    progress: impl FnMut(&MoveReport),
) -> Result<MoveReport> {
    run(src, sink, opts, progress).await
}

async fn run<S: Sink>(
    src: &Queue,
    sink: &mut S,
    opts: &MoveOptions,
    mut progress: impl FnMut(&MoveReport),
) -> Result<MoveReport> {
    if opts.batch == 0 {
        return Err(Error::invalid("batch must be at least 1"));
    }
    if opts.empty_polls == 0 {
        return Err(Error::invalid("empty_polls must be at least 1"));
    }
    let caps = src.capabilities();
    let batch = opts.batch.min(caps.max_batch_receive.max(1));
    let wait = if caps.max_wait > Duration::ZERO {
        opts.wait.min(caps.max_wait)
    } else {
        Duration::ZERO
    };
    let visibility = if caps.max_visibility > Duration::ZERO {
        opts.visibility.min(caps.max_visibility)
    } else {
        opts.visibility
    };
    let started = Instant::now();
    let mut report = MoveReport::default();
    let mut empty = 0u32;
    loop {
        let want = match opts.max_messages {
            Some(max) if report.moved + report.ack_failures >= max => break,
            Some(max) => batch.min((max - report.moved - report.ack_failures) as usize),
            None => batch,
        };
        let msgs = src
            .receive_with(ReceiveOptions {
                max_messages: want,
                visibility,
                wait,
            })
            .await?;
        if msgs.is_empty() {
            empty += 1;
            if empty >= opts.empty_polls {
                break;
            }
            continue;
        }
        empty = 0;
        report.batches += 1;
        let accepted = match sink.check(&msgs) {
            Ok(()) => sink.accept(&msgs).await,
            Err(e) => Err(e),
        };
        if let Err(e) = accepted {
            release(src, &msgs).await;
            report.elapsed_ms = started.elapsed().as_millis() as u64;
            progress(&report);
            return Err(e.context_message(format!(
                "stopped after {} messages moved (the failed batch of {} was released on the source)",
                report.moved,
                msgs.len()
            )));
        }
        // One ack per message, so a failure is counted against exactly that message.
        for m in &msgs {
            match src.ack(m).await {
                Ok(()) => {
                    report.moved += 1;
                    report.bytes += m.body.len() as u64;
                }
                Err(e) => {
                    tracing::warn!(id = %m.id, error = %e, "ack on the source failed; the message will be delivered again");
                    report.ack_failures += 1;
                }
            }
        }
        report.elapsed_ms = started.elapsed().as_millis() as u64;
        progress(&report);
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// Make a batch visible again on the source at once (best effort: if this fails too, the
/// visibility timeout brings the messages back later).
async fn release(src: &Queue, msgs: &[ReceivedMessage]) {
    for m in msgs {
        if let Err(e) = src.nack(m, Duration::ZERO).await {
            tracing::warn!(id = %m.id, error = %e, "releasing a message failed; it returns after its visibility timeout");
        }
    }
}
