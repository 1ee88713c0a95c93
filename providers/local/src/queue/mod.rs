//! Embedded queues: the durable `sqlite://` queue ([`sqlite`]) and the in-process `mem://`
//! queue ([`mem`]).
//!
//! Both give the portable at-least-once semantics of [`gureum_core::Queue`]: a received
//! message is invisible for its visibility timeout, [`ack`](gureum_core::Queue::ack) deletes
//! it, [`nack`](gureum_core::Queue::nack) makes it visible again after a delay, an unacked
//! message comes back when the timeout expires with a higher `receive_count`, and a queue
//! created with a [`DeadLetter`](gureum_core::DeadLetter) setting moves a message to its
//! dead-letter queue once it was delivered `max_receive_count` times and is due again.
//!
//! URLs:
//!
//! | URL | meaning |
//! |-----|---------|
//! | `sqlite:///abs/path/q.db?queue=jobs` | absolute path `/abs/path/q.db` |
//! | `sqlite://rel/q.db?queue=jobs` | relative path `rel/q.db` (from the current directory) |
//! | `sqlite://./q.db?queue=jobs` | relative path `./q.db` |
//! | `mem://jobs` | in-process queue `jobs`, shared by name within the process |
//!
//! Query parameters (both schemes unless noted): `queue=NAME` (sqlite only, default
//! `default`), `create=false` (fail with `NotFound` instead of creating a missing queue),
//! `dlq=NAME` and `max_receives=N` (dead-letter settings used when the queue is created),
//! `visibility=SECONDS` (default visibility timeout used when the queue is created),
//! `busy_timeout_ms=N` (sqlite, default 5000), `sync=normal|full|off` (sqlite
//! `PRAGMA synchronous`, default `normal`), `poll_ms=N` (long-poll interval for messages sent
//! by other processes, sqlite, default 50).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
//! # let tmp = tempfile::tempdir()?; let dir = tmp.path().display();
//! use gureum_core::{Message, Registry};
//! use std::time::Duration;
//! let mut registry = Registry::new();
//! gureum_local::queue::register(&mut registry);
//! for url in [format!("sqlite://{dir}/q.db?queue=ocr"), "mem://ocr".to_string()] {
//!     let q = registry.open_queue(Some(&url)).await?;
//!     q.send(Message::new(&b"c-1041"[..])).await?;
//!     let m = q.receive(1).await?.remove(0);
//!     q.nack(&m, Duration::ZERO).await?; // visible again at once, delivered a second time
//!     let again = q.receive(1).await?.remove(0);
//!     assert_eq!(again.receive_count, 2);
//!     q.ack(&again).await?;
//!     assert_eq!(q.depth().await?, 0);
//! }
//! // create=false: a missing queue is NotFound instead of being created.
//! let e = registry.open_queue(Some(&format!("sqlite://{dir}/q.db?queue=nope&create=false"))).await.unwrap_err();
//! assert_eq!(e.kind(), gureum_core::ErrorKind::NotFound);
//! # Ok(()) }
//! ```

pub mod mem;
pub mod sqlite;

use gureum_core::{DeadLetter, Error, QueueConfig, ResourceUrl, Result};
use std::sync::Arc;
use std::time::Duration;

pub use mem::{MemQueue, MemQueueAdmin, MemQueueOpener};
pub use sqlite::{SqliteOptions, SqliteQueue, SqliteQueueAdmin, SqliteQueueOpener, SqliteSync};

/// Register the queue openers of this module: `sqlite` and `mem`.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// let mut registry = gureum_core::Registry::new();
/// gureum_local::queue::register(&mut registry);
/// let tmp = tempfile::tempdir()?;
/// let q = registry.open_queue(Some(&format!("sqlite://{}/q.db?queue=jobs", tmp.path().display()))).await?;
/// assert_eq!(q.name(), "jobs");
/// assert!(registry.open_bucket(Some("mem://b")).await.is_err()); // storage not registered
/// # Ok(()) }
/// ```
pub fn register(registry: &mut gureum_core::Registry) {
    registry.register_queue("sqlite", Arc::new(SqliteQueueOpener));
    registry.register_queue("mem", Arc::new(MemQueueOpener));
}

/// Check a queue name: 1..=256 characters, no control characters.
pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid("queue name must not be empty"));
    }
    if name.len() > 256 {
        return Err(Error::invalid("queue name is longer than 256 bytes"));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(format!(
            "queue name {name:?} contains control characters"
        )));
    }
    Ok(())
}

/// Validate a queue config for the embedded backends.
pub(crate) fn check_config(name: &str, config: &QueueConfig) -> Result<()> {
    check_name(name)?;
    if config.fifo {
        return Err(Error::unsupported(
            "FIFO queues: the embedded queues give best-effort ordering only",
        ));
    }
    if let Some(dl) = &config.dead_letter {
        check_name(&dl.queue)?;
        if dl.queue == name {
            return Err(Error::invalid(format!(
                "queue {name:?} cannot be its own dead-letter queue"
            )));
        }
        if dl.max_receive_count == 0 {
            return Err(Error::invalid("max_receive_count must be at least 1"));
        }
    }
    if let Some(v) = config.default_visibility {
        if v > MAX_VISIBILITY {
            return Err(Error::invalid(format!(
                "default visibility {v:?} exceeds the maximum {MAX_VISIBILITY:?}"
            )));
        }
    }
    Ok(())
}

/// Longest visibility timeout of the embedded queues.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_local::queue::{MemQueue, MAX_VISIBILITY};
/// assert_eq!(MemQueue::open("max-vis-doc")?.capabilities().max_visibility, MAX_VISIBILITY);
/// # Ok(()) }
/// ```
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);
/// Longest long-poll wait of the embedded queues.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_local::queue::{MemQueue, MAX_WAIT};
/// assert_eq!(MemQueue::open("max-wait-doc")?.capabilities().max_wait, MAX_WAIT);
/// # Ok(()) }
/// ```
pub const MAX_WAIT: Duration = Duration::from_secs(20);
/// Largest message body of the embedded queues.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{ErrorKind, Message};
/// use gureum_local::queue::{MemQueue, MAX_MESSAGE_BYTES};
/// let q = MemQueue::open("max-bytes-doc")?;
/// let e = q.send(Message::new(vec![0u8; MAX_MESSAGE_BYTES + 1])).await.unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::InvalidArgument);
/// # Ok(()) }
/// ```
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Most messages per send batch / receive of the embedded queues.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_local::queue::{MemQueue, MAX_BATCH};
/// assert_eq!(MemQueue::open("max-batch-doc")?.capabilities().max_batch_send, MAX_BATCH);
/// # Ok(()) }
/// ```
pub const MAX_BATCH: usize = 100;

/// The create-time settings given in a URL (`dlq`, `max_receives`, `visibility`).
pub(crate) fn config_from_url(url: &ResourceUrl) -> Result<Option<QueueConfig>> {
    let dlq = url.param("dlq").map(str::to_string);
    let max = url.u64_param("max_receives")?;
    let vis = url.u64_param("visibility")?;
    if dlq.is_none() && max.is_none() && vis.is_none() {
        return Ok(None);
    }
    let dead_letter = match (dlq, max) {
        (Some(queue), Some(n)) => Some(DeadLetter {
            queue,
            max_receive_count: u32::try_from(n)
                .map_err(|_| Error::invalid("max_receives is too large"))?,
        }),
        (None, None) => None,
        _ => {
            return Err(Error::invalid(
                "URL parameters dlq and max_receives must be given together",
            ))
        }
    };
    Ok(Some(QueueConfig {
        dead_letter,
        fifo: false,
        default_visibility: vis.map(Duration::from_secs),
    }))
}

/// The capabilities shared by both embedded queues.
pub(crate) fn capabilities() -> gureum_core::QueueCapabilities {
    gureum_core::QueueCapabilities {
        max_batch_send: MAX_BATCH,
        max_batch_receive: MAX_BATCH,
        max_message_bytes: MAX_MESSAGE_BYTES,
        max_visibility: MAX_VISIBILITY,
        max_wait: MAX_WAIT,
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

/// Validate a batch handed to a driver directly (the [`gureum_core::Queue`] wrapper checks
/// the same limits, but drivers may be called on their own).
pub(crate) fn check_batch(messages: &[gureum_core::Message]) -> Result<()> {
    if messages.len() > MAX_BATCH {
        return Err(Error::invalid(format!(
            "batch of {} messages exceeds the limit of {MAX_BATCH}",
            messages.len()
        )));
    }
    for m in messages {
        if m.body.len() > MAX_MESSAGE_BYTES {
            return Err(Error::invalid(format!(
                "message body of {} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit",
                m.body.len()
            )));
        }
        if m.delay.is_some_and(|d| d > MAX_VISIBILITY) {
            return Err(Error::invalid(format!(
                "message delay exceeds the maximum {MAX_VISIBILITY:?}"
            )));
        }
    }
    Ok(())
}

/// Parse a receipt `SEQ:TOKEN` (decimal sequence number, hex delivery token).
pub(crate) fn parse_receipt(receipt: &str) -> Result<(i64, i64)> {
    let bad = || Error::invalid(format!("malformed receipt {receipt:?}"));
    let (a, b) = receipt.split_once(':').ok_or_else(bad)?;
    let seq: i64 = a.parse().map_err(|_| bad())?;
    let token = u64::from_str_radix(b, 16).map_err(|_| bad())? as i64;
    Ok((seq, token))
}

/// Format a receipt.
pub(crate) fn format_receipt(seq: i64, token: i64) -> String {
    format!("{seq}:{:016x}", token as u64)
}

/// A random non-zero delivery token.
pub(crate) fn new_token() -> i64 {
    let v = uuid::Uuid::new_v4().as_u64_pair().0 as i64;
    if v == 0 {
        1
    } else {
        v
    }
}

/// A new message id.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Clamp a duration to whole milliseconds as i64.
pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// Wait loop shared by both backends: call `attempt` until it returns messages or `wait`
/// passed, sleeping at most `poll` between attempts and waking early on `notify`.
pub(crate) async fn long_poll<F, Fut, T>(
    wait: Duration,
    poll: Duration,
    notify: &tokio::sync::Notify,
    mut attempt: F,
) -> Result<Vec<T>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>>>,
{
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let got = attempt().await?;
        let now = tokio::time::Instant::now();
        if !got.is_empty() || now >= deadline {
            return Ok(got);
        }
        let nap = poll.min(deadline - now);
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep(nap) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_round_trip() {
        for (s, t) in [(1i64, 5i64), (i64::MAX, -1), (42, i64::MIN)] {
            let r = format_receipt(s, t);
            assert_eq!(parse_receipt(&r).unwrap(), (s, t));
        }
        assert!(parse_receipt("x").is_err());
        assert!(parse_receipt("1:zz").is_err());
        assert!(parse_receipt(":1").is_err());
    }

    #[test]
    fn configs_are_checked() {
        assert!(check_name("").is_err());
        assert!(check_name("a\nb").is_err());
        let c = QueueConfig {
            dead_letter: Some(DeadLetter {
                queue: "q".into(),
                max_receive_count: 1,
            }),
            ..Default::default()
        };
        assert!(check_config("q", &c).is_err());
        assert!(check_config("p", &c).is_ok());
        let f = QueueConfig {
            fifo: true,
            ..Default::default()
        };
        assert_eq!(
            check_config("p", &f).unwrap_err().kind(),
            gureum_core::ErrorKind::Unsupported
        );
    }
}
