//! Azure Queue Storage: `azqueue://queue?account=NAME`.
//!
//! The Queue REST API is implemented here directly ([`QueueRest`]), signed with Shared Key,
//! a SAS token or an Entra ID bearer token (see docs/azure.md for why not
//! `azure_storage_queue`). Message bodies are base64 in `<MessageText>`, as the Azure SDKs
//! and Azure Functions expect, so a raw body can be at most 48 KiB (64 KiB encoded).
//!
//! Dead-lettering is emulated the Azure Functions way: a message whose dequeue count passes
//! `max_receive_count` is moved to the poison queue (`<name>-poison` unless configured) on
//! the next receive. The setting lives in the queue's metadata (written by
//! [`QueueAdmin::create_queue`]) or in the URL (`?max_receive_count=5&dead_letter=name`).

use crate::config::AccountConfig;
use crate::rest::{RestResponse, StorageRest};
use crate::xml::{from_str, Enumeration, QueueMessagesList};
use async_trait::async_trait;
use base64::prelude::{Engine, BASE64_STANDARD};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use gureum_core::queue::stale_receipt;
use gureum_core::url::{QueueOpener, ResourceUrl};
use gureum_core::{
    Error, ErrorKind, Message, Queue, QueueAdmin, QueueCapabilities, QueueConfig, QueueDriver,
    ReceiveOptions, ReceivedMessage, Result,
};
use http::{HeaderMap, HeaderValue, Method};
use quick_xml::escape::escape as xml_escape;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Largest encoded message text Azure accepts (64 KiB).
///
/// Example: see [`QueueAccount`].
pub const MAX_ENCODED_BYTES: usize = 64 * 1024;
/// Largest raw body that fits once base64-encoded.
///
/// Example: see [`QueueAccount`].
pub const MAX_BODY_BYTES: usize = MAX_ENCODED_BYTES / 4 * 3;
/// Most messages per Get Messages / Peek Messages call.
///
/// Example: see [`QueueAccount`].
pub const MAX_BATCH: usize = 32;
/// Longest visibility timeout (7 days).
///
/// Example: see [`QueueAccount`].
pub const MAX_VISIBILITY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Validate a queue name: 3-63 lowercase letters, digits and single hyphens.
///
/// Example: see [`QueueAccount`].
pub fn validate_queue_name(name: &str) -> Result<()> {
    let ok = (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--");
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "queue name {name:?}: use 3-63 lowercase letters, digits and single hyphens"
        )))
    }
}

/// The default poison queue of `name` (Azure Functions convention).
///
/// Example: see [`AzureQueue`].
pub fn poison_queue_name(name: &str) -> String {
    format!("{name}-poison")
}

/// A message as Get Messages / Peek Messages return it.
///
/// Example: see [`QueueRest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMessage {
    /// Message id.
    pub id: String,
    /// Pop receipt (absent for peeked messages).
    pub pop_receipt: Option<String>,
    /// Dequeue count.
    pub dequeue_count: u32,
    /// Insertion time.
    pub inserted: Option<DateTime<Utc>>,
    /// The message text as stored (base64 for messages sent by gureum).
    pub text: String,
}

/// The raw Queue REST client of one account (the "vendor SDK" of this crate; also the
/// baseline of the benchmark).
///
/// # Examples
///
/// The wire protocol against a scripted loopback server (each request gets the next answer
/// of the script; the requests are checked afterwards):
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_azure::{config::AccountConfig, queue::QueueRest};
/// use gureum_core::ResourceUrl;
/// use std::{collections::BTreeMap, time::Duration};
/// let (base, seen) = gureum_testkit::scripted::serve(|n, _| {
///     let msg = |pop: &str| format!("<QueueMessagesList><QueueMessage><MessageId>m1</MessageId>\
///         <PopReceipt>{pop}</PopReceipt><DequeueCount>1</DequeueCount>\
///         <InsertionTime>Fri, 27 Nov 2026 09:00:00 GMT</InsertionTime>\
///         <MessageText>aGVsbG8=</MessageText></QueueMessage></QueueMessagesList>");
///     match n {
///         0 => (201, String::new(), String::new()),   // create
///         1 => (201, String::new(), msg("p0")),        // put
///         2 => (200, String::new(), msg("p1")),        // get
///         3 => (204, "x-ms-popreceipt: p2\r\n".into(), String::new()), // update
///         4 => (200, String::new(), msg("")),          // peek
///         5 => (200, "x-ms-approximate-messages-count: 1\r\nx-ms-meta-app: civic\r\n".into(), String::new()),
///         6 => (200, String::new(), "<EnumerationResults><Queues><Queue><Name>jobs</Name></Queue>\
///                </Queues><NextMarker /></EnumerationResults>".into()),
///         _ => (204, String::new(), String::new()),  // delete message, clear, delete queue
///     }
/// })
/// .await;
/// let url = format!("azqueue://jobs?account=devstoreaccount1&access_key=c2VjcmV0\
///                    &endpoint={base}/devstoreaccount1&queue_endpoint={base}/devstoreaccount1");
/// let rest = QueueRest::new(&AccountConfig::from_url(&ResourceUrl::parse(&url)?)?)?;
/// let meta = BTreeMap::from([("app".to_string(), "civic".to_string())]);
/// assert!(rest.create_queue("jobs", &meta).await?); // 201: created
/// assert_eq!(rest.put_message("jobs", "aGVsbG8=", Duration::ZERO, Some(3600)).await?, "m1");
/// let got: Vec<gureum_azure::queue::RawMessage> = rest.get_messages("jobs", 1, Duration::from_secs(30)).await?;
/// assert_eq!((got[0].pop_receipt.as_deref(), got[0].dequeue_count), (Some("p1"), 1));
/// assert_eq!(got[0].text, "aGVsbG8=");
/// let pop = rest.update_message("jobs", "m1", "p1", Duration::from_secs(60), None).await?;
/// assert_eq!(pop, "p2");
/// assert_eq!(rest.peek_messages("jobs", 5).await?.len(), 1);
/// let (count, meta) = rest.metadata("jobs").await?;
/// assert_eq!((count, meta["app"].as_str()), (1, "civic"));
/// assert_eq!(rest.list_queues(Some("jo")).await?, ["jobs"]);
/// rest.delete_message("jobs", "m1", &pop).await?;
/// rest.clear("jobs").await?;
/// rest.delete_queue("jobs").await?;
/// let seen = seen.lock().unwrap();
/// assert!(seen[1].starts_with("POST /devstoreaccount1/jobs/messages?messagettl=3600 "));
/// assert!(seen[7].starts_with("DELETE /devstoreaccount1/jobs/messages/m1?popreceipt=p2 "));
/// assert!(seen.iter().all(|h| h.contains("authorization: SharedKey devstoreaccount1:")));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct QueueRest {
    rest: StorageRest,
    endpoint: url::Url,
}

fn secs(d: Duration) -> u64 {
    // Azure takes whole seconds; round up so "at least" holds.
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn parse_time(s: Option<String>) -> Option<DateTime<Utc>> {
    s.and_then(|t| DateTime::parse_from_rfc2822(&t).ok().map(|d| d.to_utc()))
}

fn parse_messages(what: &str, text: &str) -> Result<Vec<RawMessage>> {
    let list: QueueMessagesList = from_str(what, text)?;
    list.messages
        .into_iter()
        .map(|m| {
            // The dequeue count decides dead-lettering: one that does not parse is a garbled
            // answer, not a first delivery.
            let dequeue_count = match m.dequeue_count {
                None => 0,
                Some(c) => c.trim().parse().map_err(|_| {
                    crate::xml::unreadable(format!(
                        "{what}: unreadable XML response: DequeueCount {c:?}"
                    ))
                })?,
            };
            Ok(RawMessage {
                id: m.message_id,
                pop_receipt: m.pop_receipt,
                dequeue_count,
                inserted: parse_time(m.insertion_time),
                text: m.message_text.unwrap_or_default(),
            })
        })
        .collect()
}

impl QueueRest {
    /// A client for the account's queue service.
    ///
    /// Example: see [`QueueRest`].
    pub fn new(config: &AccountConfig) -> Result<Self> {
        config.check_queue_endpoint()?;
        Ok(QueueRest {
            rest: StorageRest::with_config(
                config.account.clone(),
                config.credential()?,
                config.http.clone(),
            )?,
            endpoint: config.queue_endpoint.clone(),
        })
    }

    fn url(&self, segments: &[&str], query: &[(&str, String)]) -> url::Url {
        let mut u = self.endpoint.clone();
        {
            let mut s = u.path_segments_mut().expect("http(s) URL");
            s.pop_if_empty();
            for seg in segments {
                s.push(seg);
            }
        }
        if segments.is_empty() && !u.path().ends_with('/') {
            let p = format!("{}/", u.path());
            u.set_path(&p);
        }
        if !query.is_empty() {
            let mut q = u.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        u
    }

    async fn call(
        &self,
        what: String,
        method: Method,
        url: url::Url,
        headers: HeaderMap,
        body: Option<Bytes>,
    ) -> Result<RestResponse> {
        self.rest.send(&what, method, url, headers, body).await
    }

    /// Create Queue with metadata; `Ok(true)` if created, `Ok(false)` if it already existed
    /// with the same metadata.
    ///
    /// Example: see [`QueueRest`].
    pub async fn create_queue(
        &self,
        name: &str,
        metadata: &BTreeMap<String, String>,
    ) -> Result<bool> {
        let mut h = HeaderMap::new();
        for (k, v) in metadata {
            h.insert(
                http::HeaderName::from_bytes(format!("x-ms-meta-{k}").as_bytes())
                    .map_err(|_| Error::invalid(format!("metadata name {k:?}")))?,
                HeaderValue::from_str(v).map_err(|_| Error::invalid("metadata value"))?,
            );
        }
        let r = self
            .call(
                format!("create queue {name}"),
                Method::PUT,
                self.url(&[name], &[]),
                h,
                None,
            )
            .await?;
        Ok(r.status == 201)
    }

    /// Delete Queue.
    ///
    /// Example: see [`QueueRest`].
    pub async fn delete_queue(&self, name: &str) -> Result<()> {
        self.call(
            format!("delete queue {name}"),
            Method::DELETE,
            self.url(&[name], &[]),
            HeaderMap::new(),
            None,
        )
        .await?;
        Ok(())
    }

    /// List Queues (all pages).
    ///
    /// Example: see [`QueueRest`].
    pub async fn list_queues(&self, prefix: Option<&str>) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..10_000 {
            let mut q = vec![("comp", "list".to_string())];
            if let Some(p) = prefix {
                q.push(("prefix", p.to_string()));
            }
            if let Some(m) = &marker {
                q.push(("marker", m.clone()));
            }
            let r = self
                .call(
                    "list queues".into(),
                    Method::GET,
                    self.url(&[], &q),
                    HeaderMap::new(),
                    None,
                )
                .await?;
            let e: Enumeration = from_str("list queues", &r.text())?;
            out.extend(e.queues.items.iter().map(|q| q.name.clone()));
            marker = e.next_marker();
            if marker.is_none() {
                break;
            }
        }
        Ok(out)
    }

    /// Get Queue Metadata: the approximate message count and the user metadata.
    ///
    /// Example: see [`QueueRest`].
    pub async fn metadata(&self, name: &str) -> Result<(u64, BTreeMap<String, String>)> {
        let r = self
            .call(
                format!("get metadata of queue {name}"),
                Method::GET,
                self.url(&[name], &[("comp", "metadata".into())]),
                HeaderMap::new(),
                None,
            )
            .await?;
        let count = r
            .header("x-ms-approximate-messages-count")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let mut meta = BTreeMap::new();
        for (k, v) in r.headers.iter() {
            if let Some(n) = k.as_str().strip_prefix("x-ms-meta-") {
                meta.insert(n.to_string(), v.to_str().unwrap_or("").to_string());
            }
        }
        Ok((count, meta))
    }

    /// Put Message with `text` as is; returns the message id.
    ///
    /// Example: see [`QueueRest`].
    pub async fn put_message(
        &self,
        name: &str,
        text: &str,
        visibility: Duration,
        ttl: Option<i64>,
    ) -> Result<String> {
        if text.len() > MAX_ENCODED_BYTES {
            return Err(Error::invalid(format!(
                "queue message of {} encoded bytes exceeds Azure's 64 KiB limit",
                text.len()
            )));
        }
        let mut q = Vec::new();
        if !visibility.is_zero() {
            q.push(("visibilitytimeout", secs(visibility).to_string()));
        }
        if let Some(t) = ttl {
            q.push(("messagettl", t.to_string()));
        }
        let body = format!(
            "<QueueMessage><MessageText>{}</MessageText></QueueMessage>",
            xml_escape(text)
        );
        let r = self
            .call(
                format!("put message to queue {name}"),
                Method::POST,
                self.url(&[name, "messages"], &q),
                HeaderMap::new(),
                Some(Bytes::from(body)),
            )
            .await?;
        parse_messages("put message", &r.text())?
            .into_iter()
            .next()
            .map(|m| m.id)
            .ok_or_else(|| {
                crate::xml::unreadable(format!(
                    "put message to queue {name}: no message id in the response"
                ))
            })
    }

    /// Get Messages (1..=32) with a visibility timeout.
    ///
    /// Example: see [`QueueRest`].
    pub async fn get_messages(
        &self,
        name: &str,
        n: usize,
        visibility: Duration,
    ) -> Result<Vec<RawMessage>> {
        let q = vec![
            ("numofmessages", n.clamp(1, MAX_BATCH).to_string()),
            ("visibilitytimeout", secs(visibility).max(1).to_string()),
        ];
        let r = self
            .call(
                format!("get messages of queue {name}"),
                Method::GET,
                self.url(&[name, "messages"], &q),
                HeaderMap::new(),
                None,
            )
            .await?;
        let v = parse_messages("messages", &r.text())?;
        // A received message without id or pop receipt cannot be acked: the answer is
        // incomplete (cut off or garbled), not a delivery.
        if let Some(m) = v
            .iter()
            .find(|m| m.id.is_empty() || m.pop_receipt.as_deref().is_none_or(str::is_empty))
        {
            return Err(crate::xml::unreadable(format!(
                "get messages of queue {name}: a message without id or pop receipt ({:?})",
                m.id
            )));
        }
        Ok(v)
    }

    /// Peek Messages (1..=32) without changing visibility.
    ///
    /// Example: see [`QueueRest`].
    pub async fn peek_messages(&self, name: &str, n: usize) -> Result<Vec<RawMessage>> {
        let q = vec![
            ("peekonly", "true".to_string()),
            ("numofmessages", n.clamp(1, MAX_BATCH).to_string()),
        ];
        let r = self
            .call(
                format!("peek messages of queue {name}"),
                Method::GET,
                self.url(&[name, "messages"], &q),
                HeaderMap::new(),
                None,
            )
            .await?;
        parse_messages("messages", &r.text())
    }

    /// Delete Message by id and pop receipt.
    ///
    /// Example: see [`QueueRest`].
    pub async fn delete_message(&self, name: &str, id: &str, pop: &str) -> Result<()> {
        self.call(
            format!("delete message {id} of queue {name}"),
            Method::DELETE,
            self.url(&[name, "messages", id], &[("popreceipt", pop.to_string())]),
            HeaderMap::new(),
            None,
        )
        .await?;
        Ok(())
    }

    /// Update Message visibility (and optionally text); returns the new pop receipt.
    ///
    /// Example: see [`QueueRest`].
    pub async fn update_message(
        &self,
        name: &str,
        id: &str,
        pop: &str,
        visibility: Duration,
        text: Option<&str>,
    ) -> Result<String> {
        let body = text.map(|t| {
            Bytes::from(format!(
                "<QueueMessage><MessageText>{}</MessageText></QueueMessage>",
                xml_escape(t)
            ))
        });
        let r = self
            .call(
                format!("update message {id} of queue {name}"),
                Method::PUT,
                self.url(
                    &[name, "messages", id],
                    &[
                        ("popreceipt", pop.to_string()),
                        ("visibilitytimeout", secs(visibility).to_string()),
                    ],
                ),
                HeaderMap::new(),
                body,
            )
            .await?;
        r.header("x-ms-popreceipt")
            .map(str::to_string)
            .ok_or_else(|| {
                crate::xml::unreadable(format!(
                    "update message {id}: no pop receipt in the response"
                ))
            })
    }

    /// Clear Messages.
    ///
    /// Example: see [`QueueRest`].
    pub async fn clear(&self, name: &str) -> Result<()> {
        self.call(
            format!("clear queue {name}"),
            Method::DELETE,
            self.url(&[name, "messages"], &[]),
            HeaderMap::new(),
            None,
        )
        .await?;
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DlqSettings {
    queue: String,
    max_receive_count: u32,
}

/// Maps the receipt handed to the application to the current pop receipt (Update Message
/// issues a new pop receipt on every visibility change). Bounded.
#[derive(Debug, Default)]
struct Receipts {
    map: HashMap<String, String>,
    order: VecDeque<String>,
}

const RECEIPT_CAP: usize = 65_536;

impl Receipts {
    fn current(&self, receipt: &str) -> Option<String> {
        self.map.get(receipt).cloned()
    }
    fn set(&mut self, receipt: &str, pop: String) {
        if self.map.insert(receipt.to_string(), pop).is_none() {
            self.order.push_back(receipt.to_string());
            while self.order.len() > RECEIPT_CAP {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }
    fn remove(&mut self, receipt: &str) {
        self.map.remove(receipt);
    }
}

/// The `azqueue` driver.
///
/// # Examples
///
/// Peeking through the driver decodes the base64 text gureum stores (scripted loopback
/// server answering one Peek Messages call):
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_azure::{config::AccountConfig, queue::{poison_queue_name, AzureQueue, QueueRest}};
/// use gureum_core::{ErrorKind, ResourceUrl};
/// let (base, seen) = gureum_testkit::scripted::serve(|_, _| (200, String::new(),
///     "<QueueMessagesList><QueueMessage><MessageId>m1</MessageId><DequeueCount>2</DequeueCount>\
///      <MessageText>7ZWc6riA</MessageText></QueueMessage></QueueMessagesList>".into())).await;
/// let url = format!("azqueue://ocr-jobs?account=devstoreaccount1&access_key=c2VjcmV0\
///                    &queue_endpoint={base}/devstoreaccount1&endpoint={base}/devstoreaccount1");
/// let rest = QueueRest::new(&AccountConfig::from_url(&ResourceUrl::parse(&url)?)?)?;
/// let q = AzureQueue::new("ocr-jobs", rest)?
///     .with_ttl(-1)                       // messages never expire
///     .with_dead_letter(None, 5)?;        // after 5 deliveries into ocr-jobs-poison
/// assert_eq!(poison_queue_name("ocr-jobs"), "ocr-jobs-poison");
/// let peeked = q.peek(10).await?;
/// assert_eq!((&peeked[0].body[..], peeked[0].receive_count), ("한글".as_bytes(), 2));
/// assert!(seen.lock().unwrap()[0].starts_with("GET /devstoreaccount1/ocr-jobs/messages?peekonly=true&numofmessages=10 "));
/// let bad = AzureQueue::new("OCR_jobs", q.rest().clone()).unwrap_err(); // same account
/// assert_eq!(bad.kind(), ErrorKind::InvalidArgument);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AzureQueue {
    name: String,
    rest: QueueRest,
    url_dlq: Option<DlqSettings>,
    dlq: tokio::sync::OnceCell<Option<DlqSettings>>,
    receipts: Mutex<Receipts>,
    ttl: Option<i64>,
}

fn split_receipt(receipt: &str) -> Result<(&str, &str)> {
    receipt
        .split_once('/')
        .filter(|(id, pop)| !id.is_empty() && !pop.is_empty())
        .ok_or_else(|| Error::invalid("malformed Azure queue receipt"))
}

fn map_stale(e: Error) -> Error {
    match e.provider_code() {
        Some("PopReceiptMismatch") | Some("MessageNotFound") => {
            let mut s = stale_receipt()
                .with_provider_code(e.provider_code().unwrap_or_default().to_string());
            if let Some(r) = e.request_id() {
                s = s.with_request_id(r.to_string());
            }
            s
        }
        _ => e,
    }
}

impl AzureQueue {
    /// A driver for queue `name` of the account.
    ///
    /// Example: see [`AzureQueue`].
    pub fn new(name: &str, rest: QueueRest) -> Result<Self> {
        validate_queue_name(name)?;
        Ok(AzureQueue {
            name: name.to_string(),
            rest,
            url_dlq: None,
            dlq: tokio::sync::OnceCell::new(),
            receipts: Mutex::new(Receipts::default()),
            ttl: None,
        })
    }

    /// Dead-letter after `max_receive_count` deliveries into `queue` (default `<name>-poison`),
    /// overriding the queue's metadata.
    ///
    /// Example: see [`AzureQueue`].
    pub fn with_dead_letter(
        mut self,
        queue: Option<String>,
        max_receive_count: u32,
    ) -> Result<Self> {
        let q = queue.unwrap_or_else(|| poison_queue_name(&self.name));
        validate_queue_name(&q)?;
        self.url_dlq = Some(DlqSettings {
            queue: q,
            max_receive_count: max_receive_count.max(1),
        });
        Ok(self)
    }

    /// Message time-to-live in seconds (`-1`: never expires; Azure's default is 7 days).
    ///
    /// Example: see [`AzureQueue`].
    pub fn with_ttl(mut self, ttl_secs: i64) -> Self {
        self.ttl = Some(ttl_secs);
        self
    }

    /// The raw REST client.
    ///
    /// Example: see [`AzureQueue`].
    pub fn rest(&self) -> &QueueRest {
        &self.rest
    }

    /// Peek at up to 32 visible messages without receiving them.
    ///
    /// Example: see [`AzureQueue`].
    pub async fn peek(&self, max: usize) -> Result<Vec<ReceivedMessage>> {
        let ms = self.rest.peek_messages(&self.name, max).await?;
        Ok(ms
            .into_iter()
            .map(|m| ReceivedMessage {
                body: decode_body(&m.text),
                id: m.id,
                attributes: BTreeMap::new(),
                receipt: String::new(),
                receive_count: m.dequeue_count,
                sent_at: m.inserted,
            })
            .collect())
    }

    async fn dlq(&self) -> Result<Option<DlqSettings>> {
        if let Some(d) = &self.url_dlq {
            return Ok(Some(d.clone()));
        }
        let v = self
            .dlq
            .get_or_try_init(|| async {
                let (_, meta) = self.rest.metadata(&self.name).await?;
                let max = meta
                    .get("gureummaxreceivecount")
                    .and_then(|v| v.parse::<u32>().ok());
                Ok::<_, Error>(max.map(|m| {
                    DlqSettings {
                        queue: meta
                            .get("gureumdeadletter")
                            .cloned()
                            .unwrap_or_else(|| poison_queue_name(&self.name)),
                        max_receive_count: m.max(1),
                    }
                }))
            })
            .await?;
        Ok(v.clone())
    }

    async fn move_to_poison(&self, d: &DlqSettings, m: &RawMessage) -> Result<()> {
        let pop = m.pop_receipt.as_deref().unwrap_or("");
        match self
            .rest
            .put_message(&d.queue, &m.text, Duration::ZERO, self.ttl)
            .await
        {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let _ = self.rest.create_queue(&d.queue, &BTreeMap::new()).await;
                self.rest
                    .put_message(&d.queue, &m.text, Duration::ZERO, self.ttl)
                    .await?;
            }
            Err(e) => return Err(e),
        }
        tracing::info!(queue = %self.name, poison = %d.queue, id = %m.id, dequeue_count = m.dequeue_count, "moved message to the poison queue");
        match self.rest.delete_message(&self.name, &m.id, pop).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn pop_for(&self, receipt: &str) -> Result<(String, String)> {
        let (id, pop) = split_receipt(receipt)?;
        let cur = self
            .receipts
            .lock()
            .map_err(|_| Error::other("receipt map poisoned"))?
            .current(receipt)
            .unwrap_or_else(|| pop.to_string());
        Ok((id.to_string(), cur))
    }

    fn remember(&self, receipt: &str, pop: String) {
        if let Ok(mut r) = self.receipts.lock() {
            r.set(receipt, pop);
        }
    }

    fn forget(&self, receipt: &str) {
        if let Ok(mut r) = self.receipts.lock() {
            r.remove(receipt);
        }
    }
}

fn decode_body(text: &str) -> Bytes {
    // Messages from other Azure clients may be plain text; keep them as is.
    match BASE64_STANDARD.decode(text.trim()) {
        Ok(b) => Bytes::from(b),
        Err(_) => Bytes::from(text.to_string()),
    }
}

#[async_trait]
impl QueueDriver for AzureQueue {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> QueueCapabilities {
        QueueCapabilities {
            max_batch_send: MAX_BATCH,
            max_batch_receive: MAX_BATCH,
            max_message_bytes: MAX_BODY_BYTES,
            max_visibility: MAX_VISIBILITY,
            max_wait: Duration::from_secs(20),
            delay: true,
            nack_delay: true,
            extend_visibility: true,
            dead_letter: true,
            attributes: false,
            ordering: false,
            purge: true,
            depth: true,
            admin: true,
        }
    }

    async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<String>> {
        for m in &messages {
            if m.body.len() > MAX_BODY_BYTES {
                return Err(Error::invalid(format!(
                    "message body of {} bytes exceeds the Azure Queue limit of {MAX_BODY_BYTES} bytes \
                     (64 KiB after base64); store large payloads in a blob and send its key",
                    m.body.len()
                )));
            }
            if !m.attributes.is_empty() {
                return Err(Error::unsupported(
                    "Azure Queue Storage has no message attributes",
                ));
            }
            if m.delay.is_some_and(|d| d > MAX_VISIBILITY) {
                return Err(Error::invalid("delay exceeds 7 days"));
            }
        }
        let futs = messages.iter().map(|m| {
            let text = BASE64_STANDARD.encode(&m.body);
            let delay = m.delay.unwrap_or_default();
            async move {
                self.rest
                    .put_message(&self.name, &text, delay, self.ttl)
                    .await
            }
        });
        futures::future::try_join_all(futs).await
    }

    async fn receive(&self, opts: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        let dlq = self.dlq().await?;
        let deadline = Instant::now() + opts.wait;
        let mut poll = Duration::from_millis(50);
        loop {
            let raw = self
                .rest
                .get_messages(&self.name, opts.max_messages, opts.visibility)
                .await?;
            let mut out = Vec::with_capacity(raw.len());
            for m in raw {
                if let Some(d) = &dlq {
                    if m.dequeue_count > d.max_receive_count {
                        self.move_to_poison(d, &m).await?;
                        continue;
                    }
                }
                let pop = m.pop_receipt.clone().unwrap_or_default();
                out.push(ReceivedMessage {
                    body: decode_body(&m.text),
                    receipt: format!("{}/{}", m.id, pop),
                    id: m.id,
                    attributes: BTreeMap::new(),
                    receive_count: m.dequeue_count.max(1),
                    sent_at: m.inserted,
                });
            }
            let now = Instant::now();
            if !out.is_empty() || now >= deadline {
                return Ok(out);
            }
            // Azure has no long polling: poll with a short, growing interval until `wait`.
            tokio::time::sleep(poll.min(deadline - now)).await;
            poll = (poll * 2).min(Duration::from_millis(500));
        }
    }

    async fn ack(&self, receipts: &[String]) -> Result<()> {
        let futs = receipts.iter().map(|r| async move {
            let (id, pop) = self.pop_for(r)?;
            let res = self
                .rest
                .delete_message(&self.name, &id, &pop)
                .await
                .map_err(map_stale);
            self.forget(r);
            res
        });
        futures::future::try_join_all(futs).await?;
        Ok(())
    }

    async fn nack(&self, receipt: &str, delay: Duration) -> Result<()> {
        if delay > MAX_VISIBILITY {
            return Err(Error::invalid("nack delay exceeds 7 days"));
        }
        let (id, pop) = self.pop_for(receipt)?;
        let new = self
            .rest
            .update_message(&self.name, &id, &pop, delay, None)
            .await
            .map_err(map_stale)?;
        // The message is visible again (or soon): a later ack with this receipt must not
        // delete the next delivery, so keep the new receipt only while it is invisible.
        if delay.is_zero() {
            self.forget(receipt);
        } else {
            self.remember(receipt, new);
        }
        Ok(())
    }

    async fn extend_visibility(&self, receipt: &str, visibility: Duration) -> Result<()> {
        if visibility > MAX_VISIBILITY {
            return Err(Error::invalid("visibility exceeds 7 days"));
        }
        let (id, pop) = self.pop_for(receipt)?;
        let new = self
            .rest
            .update_message(&self.name, &id, &pop, visibility, None)
            .await
            .map_err(map_stale)?;
        self.remember(receipt, new);
        Ok(())
    }

    async fn depth(&self) -> Result<u64> {
        Ok(self.rest.metadata(&self.name).await?.0)
    }

    async fn purge(&self) -> Result<()> {
        self.rest.clear(&self.name).await
    }
}

/// Queue administration for one account.
///
/// # Examples
///
/// Opening needs no request; the limits are checked before anything is sent:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_azure::config::AccountConfig;
/// use gureum_azure::queue::{validate_queue_name, QueueAccount, MAX_BATCH, MAX_BODY_BYTES, MAX_ENCODED_BYTES, MAX_VISIBILITY};
/// use gureum_core::{ErrorKind, Message, ResourceUrl};
/// let account = QueueAccount::new(AccountConfig::from_url(&ResourceUrl::parse("azqueue://jobs?emulator=true")?)?)?;
/// assert_eq!(account.config().account, "devstoreaccount1");
/// let _raw = account.rest(); // the Queue REST client of the account
/// let q = account.queue("jobs")?;
/// let caps = q.capabilities();
/// assert_eq!((caps.max_message_bytes, caps.max_batch_send), (MAX_BODY_BYTES, MAX_BATCH));
/// assert_eq!(caps.max_visibility, MAX_VISIBILITY);
/// assert_eq!(MAX_BODY_BYTES / 3 * 4, MAX_ENCODED_BYTES); // base64 of the largest body fits
/// let e = q.send(Message::new(vec![0u8; MAX_BODY_BYTES + 1])).await.unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::InvalidArgument); // refused before any request
/// assert!(validate_queue_name("ocr-jobs").is_ok() && validate_queue_name("a--b").is_err());
/// // The same through the registry (`AzqueueQueueOpener`):
/// let mut r = gureum_core::Registry::new();
/// gureum_azure::register(&mut r);
/// let q = r.open_queue(Some("azqueue://jobs?emulator=true")).await?;
/// assert_eq!(q.info().scheme, "azqueue");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct QueueAccount {
    config: AccountConfig,
    rest: QueueRest,
}

impl QueueAccount {
    /// Connect to the account's queue service.
    ///
    /// Example: see [`QueueAccount`].
    pub fn new(config: AccountConfig) -> Result<Self> {
        let rest = QueueRest::new(&config)?;
        Ok(QueueAccount { config, rest })
    }

    /// The raw REST client.
    ///
    /// Example: see [`QueueAccount`].
    pub fn rest(&self) -> &QueueRest {
        &self.rest
    }

    /// The account configuration.
    ///
    /// Example: see [`QueueAccount`].
    pub fn config(&self) -> &AccountConfig {
        &self.config
    }

    /// A portable [`Queue`] on `name` (not created).
    ///
    /// Example: see [`QueueAccount`].
    pub fn queue(&self, name: &str) -> Result<Queue> {
        let d = AzureQueue::new(name, self.rest.clone())?;
        Ok(Queue::new(Arc::new(d)).with_admin(Arc::new(self.clone())))
    }
}

#[async_trait]
impl QueueAdmin for QueueAccount {
    async fn create_queue(&self, name: &str, config: &QueueConfig) -> Result<()> {
        validate_queue_name(name)?;
        if config.fifo {
            return Err(Error::unsupported("Azure Queue Storage has no FIFO queues"));
        }
        let mut meta = BTreeMap::new();
        if let Some(d) = &config.dead_letter {
            validate_queue_name(&d.queue)?;
            meta.insert("gureumdeadletter".to_string(), d.queue.clone());
            meta.insert(
                "gureummaxreceivecount".to_string(),
                d.max_receive_count.max(1).to_string(),
            );
            match self.rest.create_queue(&d.queue, &BTreeMap::new()).await {
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        // 201 created, 204 same metadata exists; 409 QueueAlreadyExists: different settings.
        match self.rest.create_queue(name, &meta).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                // Re-apply the settings (an existing queue with other settings is updated).
                let mut h = HeaderMap::new();
                for (k, v) in &meta {
                    h.insert(
                        http::HeaderName::from_bytes(format!("x-ms-meta-{k}").as_bytes())
                            .map_err(|_| Error::invalid("metadata name"))?,
                        HeaderValue::from_str(v).map_err(|_| Error::invalid("metadata value"))?,
                    );
                }
                self.rest
                    .call(
                        format!("set metadata of queue {name}"),
                        Method::PUT,
                        self.rest.url(&[name], &[("comp", "metadata".into())]),
                        h,
                        None,
                    )
                    .await?;
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn delete_queue(&self, name: &str) -> Result<()> {
        validate_queue_name(name)?;
        self.rest.delete_queue(name).await
    }

    async fn list_queues(&self) -> Result<Vec<String>> {
        self.rest.list_queues(None).await
    }

    async fn open(&self, name: &str) -> Result<Queue> {
        self.queue(name)
    }
}

/// Opens `azqueue://queue?account=NAME[&max_receive_count=N&dead_letter=NAME&ttl=SECS&create=true]`.
///
/// Example: see [`QueueAccount`] (`register`, then `open_queue`).
#[derive(Debug, Default)]
pub struct AzqueueQueueOpener;

#[async_trait]
impl QueueOpener for AzqueueQueueOpener {
    async fn open_queue(&self, url: &ResourceUrl) -> Result<Queue> {
        let name = url.host();
        if name.is_empty() {
            return Err(Error::invalid(format!(
                "{url}: the queue name is missing: azqueue://QUEUE?account=NAME"
            )));
        }
        let cfg = AccountConfig::from_url(url)?;
        let account = QueueAccount::new(cfg)?;
        let mut d = AzureQueue::new(name, account.rest.clone())?;
        if let Some(max) = url.u64_param("max_receive_count")? {
            d = d.with_dead_letter(
                url.param("dead_letter").map(str::to_string),
                max.min(u32::MAX as u64) as u32,
            )?;
        }
        if let Some(ttl) = url.param("ttl") {
            let t: i64 = ttl
                .parse()
                .map_err(|_| Error::invalid(format!("ttl={ttl:?} is not a number")))?;
            d = d.with_ttl(t);
        }
        if url.bool_param("create")?.unwrap_or(false) {
            account.create_queue(name, &QueueConfig::default()).await?;
        }
        Ok(Queue::new(Arc::new(d)).with_admin(Arc::new(account)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_get_messages() {
        let x = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessagesList><QueueMessage><MessageId>id-1</MessageId><InsertionTime>Wed, 25 Nov 2026 18:00:00 GMT</InsertionTime><ExpirationTime>Wed, 02 Dec 2026 18:00:00 GMT</ExpirationTime><PopReceipt>AgAA/+x==</PopReceipt><TimeNextVisible>Wed, 25 Nov 2026 18:00:30 GMT</TimeNextVisible><DequeueCount>2</DequeueCount><MessageText>aGk=</MessageText></QueueMessage></QueueMessagesList>";
        let m = parse_messages("get", x).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].id, "id-1");
        assert_eq!(m[0].pop_receipt.as_deref(), Some("AgAA/+x=="));
        assert_eq!(m[0].dequeue_count, 2);
        assert!(m[0].inserted.is_some());
        assert_eq!(&decode_body(&m[0].text)[..], b"hi");
        let r = format!("{}/{}", m[0].id, m[0].pop_receipt.as_deref().unwrap());
        assert_eq!(split_receipt(&r).unwrap(), ("id-1", "AgAA/+x=="));
    }

    #[test]
    fn names_and_limits() {
        assert!(validate_queue_name("jobs-1").is_ok());
        assert!(validate_queue_name("Jobs").is_err());
        assert_eq!(poison_queue_name("jobs"), "jobs-poison");
        assert_eq!(MAX_BODY_BYTES, 49152);
        assert_eq!(
            BASE64_STANDARD.encode(vec![0u8; MAX_BODY_BYTES]).len(),
            MAX_ENCODED_BYTES
        );
        assert_eq!(secs(Duration::from_millis(1500)), 2);
    }
}
