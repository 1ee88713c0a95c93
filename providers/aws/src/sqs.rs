//! SQS queues through aws-sdk-sqs: `sqs://queue-name?region=&endpoint=&profile=&create=`
//! or a queue URL (`sqs://sqs.us-east-1.amazonaws.com/123456789012/jobs`).
//!
//! Bodies are binary safe: a body that is not text SQS accepts (valid UTF-8 without the
//! characters SQS rejects) travels in the `Binary` message attribute [`BODY_ATTRIBUTE`]
//! (the SQS body is then a one-byte placeholder); an empty body, which SQS refuses, is
//! marked with [`ENCODING_ATTRIBUTE`] = `empty`. [`MAX_MESSAGE_BYTES`] leaves room for that
//! envelope inside the 256 KiB SQS limit.
//!
//! Stale receipts: SQS applies `ChangeMessageVisibility` / `DeleteMessage` with an older
//! receipt handle of a message that was redelivered since. The driver remembers the newest
//! receipt per message it received (bounded, in-process): a nack or visibility change with
//! a stale one gives [`ErrorKind::PreconditionFailed`] and an ack of a stale one is ignored,
//! both without calling SQS.

use crate::config::{parse_endpoint, AwsCredentials};
use crate::error::{build, from_sdk};
use crate::s3::load_sdk_config;
use async_trait::async_trait;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use gureum_core::queue::{
    DeadLetter, Message, Queue, QueueAdmin, QueueCapabilities, QueueConfig, QueueDriver,
    ReceiveOptions, ReceivedMessage,
};
use gureum_core::url::{QueueOpener, ResourceUrl};
use gureum_core::{Error, ErrorKind, Result};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Message attribute that marks a special body (`empty`).
///
/// Example: see [`SqsQueue`].
pub const ENCODING_ATTRIBUTE: &str = "gureum.body-encoding";
/// `Binary` message attribute that carries a body SQS would not accept as text.
///
/// Example: see [`SqsQueue`].
pub const BODY_ATTRIBUTE: &str = "gureum.body";
/// SQS limit on one message (body + attributes) and on one batch.
///
/// Example: see [`SqsQueue`].
pub const MAX_BYTES: usize = 256 * 1024;
/// Largest body gureum accepts (256 KiB minus room for the binary-body envelope).
///
/// Example: see [`SqsQueue`].
pub const MAX_MESSAGE_BYTES: usize = MAX_BYTES - 64;
/// Receipts remembered for the stale-receipt guard.
const TRACKED_RECEIPTS: usize = 10_000;
/// SQS batch entry limit.
///
/// Example: see [`SqsQueue`].
pub const MAX_BATCH: usize = 10;
/// Longest per-message delay.
///
/// Example: see [`SqsQueue`].
pub const MAX_DELAY: Duration = Duration::from_secs(900);
/// Longest visibility timeout (12 h).
///
/// Example: see [`SqsQueue`].
pub const MAX_VISIBILITY: Duration = Duration::from_secs(43_200);

/// Settings of an SQS connection.
///
/// # Examples
///
/// ```
/// use gureum_aws::SqsConfig;
/// use gureum_core::ResourceUrl;
/// let c = SqsConfig::from_url(&ResourceUrl::parse("sqs://127.0.0.1:4566/000000000000/ocr-jobs?region=ap-northeast-2").unwrap()).unwrap();
/// assert_eq!(c.queue, "ocr-jobs");
/// assert_eq!(c.queue_url.as_deref(), Some("http://127.0.0.1:4566/000000000000/ocr-jobs"));
/// assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:4566"));
/// let b = SqsConfig::new("jobs.fifo").region("ap-northeast-2").endpoint("http://127.0.0.1:9324").create(true);
/// assert!(b.create && b.create_config.fifo); // a .fifo name makes a FIFO queue
/// assert_eq!(b.region.as_deref(), Some("ap-northeast-2"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SqsConfig {
    /// Queue name.
    pub queue: String,
    /// Full queue URL, if known (skips `GetQueueUrl`).
    pub queue_url: Option<String>,
    /// Region; `None`: from the AWS chain, else `us-east-1`.
    pub region: Option<String>,
    /// Custom endpoint; `None`: AWS (or `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL`).
    pub endpoint: Option<String>,
    /// Shared-config profile.
    pub profile: Option<String>,
    /// Allow plain http to a non-loopback endpoint.
    pub allow_http: bool,
    /// Credentials source.
    pub credentials: AwsCredentials,
    /// Create the queue (with `create_config`) when opening it if it does not exist.
    pub create: bool,
    /// Settings used when `create` makes the queue.
    pub create_config: QueueConfig,
    /// Custom CA bundle / client certificate (`ca_file=`, `client_cert=`, `client_key=`).
    pub tls: gureum_core::tls::TlsConfig,
}

impl SqsConfig {
    /// Defaults for queue `name`.
    ///
    /// Example: see [`SqsConfig`].
    pub fn new(name: impl Into<String>) -> Self {
        let queue: String = name.into();
        SqsConfig {
            create_config: QueueConfig {
                fifo: queue.ends_with(".fifo"),
                ..Default::default()
            },
            queue,
            queue_url: None,
            region: None,
            endpoint: None,
            profile: None,
            allow_http: false,
            credentials: AwsCredentials::DefaultChain,
            create: false,
            tls: gureum_core::tls::TlsConfig::default(),
        }
    }
    /// Set the region.
    ///
    /// Example: see [`SqsConfig`].
    pub fn region(mut self, r: impl Into<String>) -> Self {
        self.region = Some(r.into());
        self
    }
    /// Set a custom endpoint.
    ///
    /// Example: see [`SqsConfig`].
    pub fn endpoint(mut self, e: impl Into<String>) -> Self {
        self.endpoint = Some(e.into());
        self
    }
    /// Set the credentials source.
    ///
    /// Example: see [`SqsQueue`].
    pub fn credentials(mut self, c: AwsCredentials) -> Self {
        self.credentials = c;
        self
    }
    /// Create the queue on open if missing.
    ///
    /// Example: see [`SqsConfig`].
    pub fn create(mut self, v: bool) -> Self {
        self.create = v;
        self
    }

    /// Parse `sqs://name?...` or `sqs://host[:port]/account/name?...`.
    ///
    /// Example: see [`SqsConfig`].
    pub fn from_url(url: &ResourceUrl) -> Result<Self> {
        let path = url.path();
        let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut c = if segs.is_empty() {
            let name = url.host();
            if name.is_empty() {
                return Err(Error::invalid(format!(
                    "{url}: missing queue name (sqs://NAME)"
                )));
            }
            SqsConfig::new(name)
        } else {
            let host = url.host();
            let hostport = match url.url().port() {
                Some(p) => format!("{host}:{p}"),
                None => host.to_string(),
            };
            let scheme = if gureum_core::transport::is_loopback_host(host) {
                "http"
            } else {
                "https"
            };
            let name = segs[segs.len() - 1];
            let mut c = SqsConfig::new(name);
            c.queue_url = Some(format!("{scheme}://{hostport}{path}"));
            if !host.ends_with("amazonaws.com") {
                c.endpoint = Some(format!("{scheme}://{hostport}"));
            }
            c
        };
        if let Some(u) = url.param("queue_url") {
            c.queue_url = Some(u.to_string());
        }
        if let Some(e) = url.param("endpoint") {
            c.endpoint = Some(e.to_string());
        }
        c.region = url.param("region").map(str::to_string);
        c.profile = url.param("profile").map(str::to_string);
        c.allow_http = url.bool_param("allow_http")?.unwrap_or(false);
        c.tls = gureum_core::tls::TlsConfig::from_params(url.params())?;
        c.create = url.bool_param("create")?.unwrap_or(false);
        if let Some(f) = url.bool_param("fifo")? {
            c.create_config.fifo = f;
        }
        if let Some(v) = url.u64_param("visibility")? {
            c.create_config.default_visibility = Some(Duration::from_secs(v));
        }
        if let (Some(a), Some(s)) = (url.param("access_key_env"), url.param("secret_key_env")) {
            c.credentials = AwsCredentials::from_env_vars(a, s);
        }
        Ok(c)
    }

    fn effective_endpoint(&self) -> Option<String> {
        self.endpoint
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL_SQS").ok())
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .filter(|s| !s.is_empty())
    }
}

/// Build the SQS client for a config.
async fn client_for(c: &SqsConfig) -> Result<aws_sdk_sqs::Client> {
    let endpoint = match c.effective_endpoint() {
        Some(e) => Some(parse_endpoint(&e, c.allow_http)?),
        None => None,
    };
    if let Some(u) = &c.queue_url {
        parse_endpoint(u, c.allow_http)?;
    }
    let creds = c.credentials.resolve()?;
    let region = c.region.clone().or_else(|| {
        // A queue URL names its region: sqs.<region>.amazonaws.com
        c.queue_url.as_ref().and_then(|u| {
            let host = url::Url::parse(u).ok()?.host_str()?.to_string();
            let mut parts = host.split('.');
            (parts.next()? == "sqs").then(|| parts.next().map(str::to_string))?
        })
    });
    let sdk = load_sdk_config(
        region.as_deref(),
        endpoint.as_ref().map(|u| u.as_str().trim_end_matches('/')),
        c.profile.as_deref(),
        &creds,
        &c.tls,
    )
    .await?;
    let mut b = aws_sdk_sqs::config::Builder::from(&sdk);
    if sdk.region().is_none() {
        b = b.region(aws_config::Region::new("us-east-1"));
    }
    // Every SQS answer is buffered whole: bound it.
    b = b.interceptor(crate::body_cap::BodyCap {
        limit: crate::body_cap::MAX_SQS_RESPONSE_BYTES,
    });
    Ok(aws_sdk_sqs::Client::from_conf(b.build()))
}

/// Open a [`Queue`] on SQS (creating it first when `config.create`).
///
/// Example: see [`SqsQueue`].
pub async fn open_sqs(config: SqsConfig) -> Result<Queue> {
    let client = client_for(&config).await?;
    let admin = Arc::new(SqsAdmin {
        client: client.clone(),
    });
    let url = match &config.queue_url {
        Some(u) => u.clone(),
        None => match admin.queue_url(&config.queue).await {
            Ok(u) => u,
            Err(e) if e.kind() == ErrorKind::NotFound && config.create => {
                admin
                    .create_queue(&config.queue, &config.create_config)
                    .await?;
                admin.queue_url(&config.queue).await?
            }
            Err(e) => return Err(e),
        },
    };
    let driver = SqsQueue::new(client, config.queue.clone(), url);
    Ok(Queue::new(Arc::new(driver)).with_admin(admin))
}

/// Opener for `sqs://`.
///
/// Example: see [`SqsQueue`].
#[derive(Debug, Default, Clone, Copy)]
pub struct SqsQueueOpener;

#[async_trait]
impl QueueOpener for SqsQueueOpener {
    async fn open_queue(&self, url: &ResourceUrl) -> Result<Queue> {
        open_sqs(SqsConfig::from_url(url)?).await
    }
}

/// Newest receipt per message seen by this driver (the stale-receipt guard).
#[derive(Default)]
struct Receipts {
    /// receipt → message id
    by_receipt: std::collections::HashMap<String, String>,
    /// message id → newest receipt
    latest: std::collections::HashMap<String, String>,
    /// insertion order of receipts, for the bound
    order: std::collections::VecDeque<String>,
}

impl Receipts {
    fn record(&mut self, id: &str, receipt: &str) {
        self.by_receipt.insert(receipt.to_string(), id.to_string());
        self.latest.insert(id.to_string(), receipt.to_string());
        self.order.push_back(receipt.to_string());
        while self.order.len() > TRACKED_RECEIPTS {
            if let Some(old) = self.order.pop_front() {
                if let Some(mid) = self.by_receipt.remove(&old) {
                    if self.latest.get(&mid) == Some(&old) {
                        self.latest.remove(&mid);
                    }
                }
            }
        }
    }
    fn is_stale(&self, receipt: &str) -> bool {
        match self.by_receipt.get(receipt) {
            Some(mid) => self.latest.get(mid).is_some_and(|r| r != receipt),
            None => false,
        }
    }
    fn forget(&mut self, receipt: &str) {
        if let Some(mid) = self.by_receipt.remove(receipt) {
            if self.latest.get(&mid).is_some_and(|r| r == receipt) {
                self.latest.remove(&mid);
            }
        }
    }
}

/// The SQS queue driver (also the escape hatch: `queue.native::<SqsQueue>()`).
///
/// # Examples
///
/// Through a scripted loopback server that answers `GetQueueUrl` (SQS's JSON protocol):
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_aws::sqs::{BODY_ATTRIBUTE, ENCODING_ATTRIBUTE, MAX_BATCH, MAX_BYTES, MAX_DELAY, MAX_MESSAGE_BYTES, MAX_VISIBILITY};
/// use gureum_aws::{open_sqs, AwsCredentials, SqsAdmin, SqsConfig, SqsQueue};
/// use gureum_core::{ErrorKind, Message};
/// let (base, seen) = gureum_testkit::scripted::serve(|_, base| (200, "content-type: application/x-amz-json-1.0\r\n".into(),
///     format!(r#"{{"QueueUrl": "{base}/000000000000/ocr-jobs"}}"#))).await;
/// let config = SqsConfig::new("ocr-jobs")
///     .region("ap-northeast-2")
///     .endpoint(base.clone())
///     .credentials(AwsCredentials::static_keys("AKIDEXAMPLE", "example-secret"))
///     .create(false);
/// let queue = open_sqs(config).await?; // GetQueueUrl
/// assert!(seen.lock().unwrap()[0].contains("x-amz-target: AmazonSQS.GetQueueUrl"));
/// let driver = queue.native::<SqsQueue>().unwrap();
/// assert_eq!(driver.queue_url(), format!("{base}/000000000000/ocr-jobs"));
/// let admin = SqsAdmin::new(driver.client().clone());
/// assert_eq!(admin.queue_url("ocr-jobs").await?, driver.queue_url());
/// let same = SqsQueue::new(driver.client().clone(), "ocr-jobs".into(), driver.queue_url().into());
/// assert_eq!(same.queue_url(), driver.queue_url());
/// let caps = queue.capabilities();
/// assert_eq!((caps.max_batch_send, caps.max_message_bytes, caps.max_visibility), (MAX_BATCH, MAX_MESSAGE_BYTES, MAX_VISIBILITY));
/// assert!(MAX_MESSAGE_BYTES < MAX_BYTES); // room for the binary-body envelope
/// // Refused before any request:
/// let e = queue.send(Message::new(vec![0u8; MAX_MESSAGE_BYTES + 1])).await.unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::InvalidArgument);
/// let late = Message::new("x").delay(MAX_DELAY + std::time::Duration::from_secs(1));
/// assert_eq!(queue.send(late).await.unwrap_err().kind(), ErrorKind::InvalidArgument);
/// assert_eq!(seen.lock().unwrap().len(), 2);
/// // gureum's own attributes stay out of the prefixes SQS reserves (AWS., Amazon.):
/// assert!(ENCODING_ATTRIBUTE.starts_with("gureum.") && BODY_ATTRIBUTE.starts_with("gureum."));
/// // From a queue URL (`SqsQueueOpener` serves sqs:// in the registry; no GetQueueUrl then):
/// let mut r = gureum_core::Registry::new();
/// gureum_aws::register(&mut r);
/// let url = format!("sqs://{}/000000000000/ocr-jobs?region=ap-northeast-2", base.trim_start_matches("http://"));
/// let q = r.open_queue(Some(&url)).await?;
/// assert_eq!(q.native::<SqsQueue>().unwrap().queue_url(), driver.queue_url());
/// assert_eq!(seen.lock().unwrap().len(), 2);
/// # Ok(()) }
/// ```
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    name: String,
    url: String,
    fifo: bool,
    receipts: std::sync::Mutex<Receipts>,
}

impl fmt::Debug for SqsQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqsQueue")
            .field("name", &self.name)
            .field("url", &self.url)
            .finish()
    }
}

/// Whether SQS accepts `s` as a body: #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
fn sqs_text_ok(s: &str) -> bool {
    s.chars().all(|c| {
        matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
    })
}

/// How a body travels.
#[derive(Debug, PartialEq, Eq)]
enum Wire {
    /// As the SQS body.
    Text(String),
    /// In the binary attribute.
    Binary,
    /// Empty (marked).
    Empty,
}

fn encode_body(body: &Bytes) -> Wire {
    if body.is_empty() {
        return Wire::Empty;
    }
    match std::str::from_utf8(body) {
        Ok(s) if sqs_text_ok(s) => Wire::Text(s.to_string()),
        _ => Wire::Binary,
    }
}

fn secs_ceil(d: Duration) -> i32 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    s.min(i32::MAX as u64) as i32
}

fn check_attribute_name(n: &str) -> Result<()> {
    let lower = n.to_ascii_lowercase();
    let ok = !n.is_empty()
        && n.len() <= 256
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
        && !n.starts_with('.')
        && !n.ends_with('.')
        && !n.contains("..")
        && !lower.starts_with("aws.")
        && !lower.starts_with("amazon.")
        && n != ENCODING_ATTRIBUTE
        && n != BODY_ATTRIBUTE;
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "SQS attribute name {n:?}: use letters, digits, '_', '-', '.' (not starting with AWS. or Amazon.)"
        )))
    }
}

impl SqsQueue {
    /// A driver on an existing queue URL.
    ///
    /// Example: see [`SqsQueue`].
    pub fn new(client: aws_sdk_sqs::Client, name: String, url: String) -> Self {
        let fifo = name.ends_with(".fifo");
        SqsQueue {
            client,
            name,
            url,
            fifo,
            receipts: std::sync::Mutex::new(Receipts::default()),
        }
    }
    /// The aws-sdk-sqs client.
    ///
    /// Example: see [`SqsQueue`].
    pub fn client(&self) -> &aws_sdk_sqs::Client {
        &self.client
    }
    /// The queue URL.
    ///
    /// Example: see [`SqsQueue`].
    pub fn queue_url(&self) -> &str {
        &self.url
    }

    fn entry(&self, i: usize, m: &Message) -> Result<(SendMessageBatchRequestEntry, usize)> {
        if m.body.len() > MAX_MESSAGE_BYTES {
            return Err(Error::invalid(format!(
                "message body of {} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit of SQS queues",
                m.body.len()
            )));
        }
        let wire = encode_body(&m.body);
        let special = !matches!(wire, Wire::Text(_));
        let (body, mut size) = match &wire {
            Wire::Text(t) => (t.clone(), t.len()),
            Wire::Binary => ("=".to_string(), 1 + BODY_ATTRIBUTE.len() + 6 + m.body.len()),
            Wire::Empty => ("=".to_string(), 1 + ENCODING_ATTRIBUTE.len() + 6 + 5),
        };
        let mut e = SendMessageBatchRequestEntry::builder()
            .id(i.to_string())
            .message_body(body);
        match &wire {
            Wire::Text(_) => {}
            Wire::Binary => {
                e = e.message_attributes(
                    BODY_ATTRIBUTE,
                    MessageAttributeValue::builder()
                        .data_type("Binary")
                        .binary_value(aws_smithy_types::Blob::new(m.body.to_vec()))
                        .build()
                        .map_err(|e| Error::invalid(e.to_string()))?,
                );
            }
            Wire::Empty => {
                e = e.message_attributes(
                    ENCODING_ATTRIBUTE,
                    MessageAttributeValue::builder()
                        .data_type("String")
                        .string_value("empty")
                        .build()
                        .map_err(|e| Error::invalid(e.to_string()))?,
                );
            }
        }
        let max_user_attrs = if special { 9 } else { 10 };
        if m.attributes.len() > max_user_attrs {
            return Err(Error::invalid(format!(
                "SQS allows {max_user_attrs} message attributes here, got {}",
                m.attributes.len()
            )));
        }
        for (k, v) in &m.attributes {
            check_attribute_name(k)?;
            size += k.len() + v.len() + 6;
            e = e.message_attributes(
                k,
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(if v.is_empty() { " " } else { v })
                    .build()
                    .map_err(|e| Error::invalid(e.to_string()))?,
            );
        }
        if size > MAX_BYTES {
            return Err(Error::invalid(format!(
                "message of {size} bytes with its attributes exceeds the SQS limit of {MAX_BYTES}"
            )));
        }
        if let Some(d) = m.delay.filter(|d| !d.is_zero()) {
            if self.fifo {
                return Err(Error::unsupported("per-message delay on a FIFO queue"));
            }
            if d > MAX_DELAY {
                return Err(Error::invalid(format!(
                    "delay {d:?} exceeds the SQS maximum of 900 s"
                )));
            }
            e = e.delay_seconds(secs_ceil(d));
        }
        if self.fifo {
            e = e
                .message_group_id(m.group_id.clone().unwrap_or_else(|| "default".into()))
                .message_deduplication_id(
                    m.dedup_id
                        .clone()
                        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
                );
        }
        let e = e.build().map_err(|e| Error::invalid(e.to_string()))?;
        Ok((e, size))
    }

    async fn send_chunk(
        &self,
        entries: Vec<SendMessageBatchRequestEntry>,
    ) -> Result<BTreeMap<usize, String>> {
        let r = self
            .client
            .send_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| from_sdk("SendMessageBatch", &self.name, e))?;
        if let Some(f) = r.failed().first() {
            return Err(build(
                "SendMessageBatch",
                &self.name,
                Some(f.code()),
                None,
                f.message(),
                None,
            ));
        }
        let mut out = BTreeMap::new();
        for s in r.successful() {
            if let Ok(i) = s.id().parse::<usize>() {
                out.insert(i, s.message_id().to_string());
            }
        }
        Ok(out)
    }

    fn check_fresh(&self, receipt: &str) -> Result<()> {
        let stale = self
            .receipts
            .lock()
            .map(|r| r.is_stale(receipt))
            .unwrap_or(false);
        if stale {
            Err(gureum_core::queue::stale_receipt())
        } else {
            Ok(())
        }
    }

    async fn change_visibility(&self, op: &str, receipt: &str, d: Duration) -> Result<()> {
        self.check_fresh(receipt)?;
        if d > MAX_VISIBILITY {
            return Err(Error::invalid(format!(
                "visibility {d:?} exceeds the SQS maximum of 12 h"
            )));
        }
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(secs_ceil(d))
            .send()
            .await
            .map_err(|e| from_sdk(op, &self.name, e))?;
        Ok(())
    }
}

#[async_trait]
impl QueueDriver for SqsQueue {
    fn name(&self) -> &str {
        &self.name
    }

    fn capabilities(&self) -> QueueCapabilities {
        QueueCapabilities {
            max_batch_send: MAX_BATCH,
            max_batch_receive: MAX_BATCH,
            max_message_bytes: MAX_MESSAGE_BYTES,
            max_visibility: MAX_VISIBILITY,
            max_wait: Duration::from_secs(20),
            delay: !self.fifo,
            nack_delay: true,
            extend_visibility: true,
            dead_letter: true,
            attributes: true,
            ordering: self.fifo,
            purge: true,
            depth: true,
            admin: true,
        }
    }

    async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<String>> {
        let n = messages.len();
        // Build every entry first: nothing is sent if one is invalid.
        let mut entries = Vec::with_capacity(n);
        for (i, m) in messages.iter().enumerate() {
            entries.push(self.entry(i, m)?);
        }
        let mut ids: BTreeMap<usize, String> = BTreeMap::new();
        let mut chunk: Vec<SendMessageBatchRequestEntry> = Vec::new();
        let mut chunk_bytes = 0usize;
        for (e, size) in entries {
            if !chunk.is_empty() && (chunk.len() == MAX_BATCH || chunk_bytes + size > MAX_BYTES) {
                ids.extend(self.send_chunk(std::mem::take(&mut chunk)).await?);
                chunk_bytes = 0;
            }
            chunk_bytes += size;
            chunk.push(e);
        }
        if !chunk.is_empty() {
            ids.extend(self.send_chunk(chunk).await?);
        }
        (0..n)
            .map(|i| {
                ids.remove(&i).ok_or_else(|| {
                    Error::other(format!("SQS did not confirm message {i} of the batch"))
                })
            })
            .collect()
    }

    async fn receive(&self, opts: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        if opts.visibility > MAX_VISIBILITY {
            return Err(Error::invalid("visibility exceeds the SQS maximum of 12 h"));
        }
        let r = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(opts.max_messages.clamp(1, MAX_BATCH) as i32)
            .visibility_timeout(secs_ceil(opts.visibility))
            .wait_time_seconds(secs_ceil(opts.wait).min(20))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .message_attribute_names("All")
            .send()
            .await
            .map_err(|e| from_sdk("ReceiveMessage", &self.name, e))?;
        let mut out = Vec::new();
        for m in r.messages() {
            let mut attributes = BTreeMap::new();
            let mut enc: Option<String> = None;
            let mut binary: Option<Bytes> = None;
            if let Some(a) = m.message_attributes() {
                for (k, v) in a {
                    if k == ENCODING_ATTRIBUTE {
                        enc = v.string_value().map(str::to_string);
                        continue;
                    }
                    if k == BODY_ATTRIBUTE {
                        binary = v.binary_value().map(|b| Bytes::from(b.as_ref().to_vec()));
                        continue;
                    }
                    let v = v.string_value().unwrap_or_default();
                    attributes.insert(
                        k.clone(),
                        if v == " " {
                            String::new()
                        } else {
                            v.to_string()
                        },
                    );
                }
            }
            let raw = m.body().unwrap_or_default();
            let body = if let Some(b) = binary {
                b
            } else if enc.as_deref() == Some("empty") {
                Bytes::new()
            } else {
                Bytes::from(raw.to_string())
            };
            let sys = m.attributes();
            let receive_count = sys
                .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let sent_at = sys
                .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                .and_then(|v| v.parse::<i64>().ok())
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single());
            if let (Some(id), Some(rh)) = (m.message_id(), m.receipt_handle()) {
                if let Ok(mut r) = self.receipts.lock() {
                    r.record(id, rh);
                }
            }
            out.push(ReceivedMessage {
                id: m.message_id().unwrap_or_default().to_string(),
                body,
                attributes,
                receipt: m.receipt_handle().unwrap_or_default().to_string(),
                receive_count,
                sent_at,
            });
        }
        Ok(out)
    }

    async fn ack(&self, receipts: &[String]) -> Result<()> {
        let (fresh, stale): (Vec<String>, Vec<String>) = {
            let g = self
                .receipts
                .lock()
                .map_err(|_| Error::other("receipt guard poisoned"))?;
            receipts.iter().cloned().partition(|r| !g.is_stale(r))
        };
        for chunk in fresh.chunks(MAX_BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(r)
                        .build()
                        .map_err(|e| Error::invalid(e.to_string()))
                })
                .collect::<Result<Vec<_>>>()?;
            let r = self
                .client
                .delete_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| from_sdk("DeleteMessageBatch", &self.name, e))?;
            if let Ok(mut g) = self.receipts.lock() {
                for rh in chunk {
                    g.forget(rh);
                }
            }
            if let Some(f) = r.failed().first() {
                return Err(build(
                    "DeleteMessageBatch",
                    &self.name,
                    Some(f.code()),
                    None,
                    f.message(),
                    None,
                ));
            }
        }
        if !stale.is_empty() {
            // The message was redelivered since: its newer delivery owns it. Deleting with
            // the old handle would delete it under the new holder, so skip (the contract
            // allows ignoring stale receipts on ack).
            tracing::debug!(queue = %self.name, n = stale.len(), "ignored ack of stale receipts");
        }
        Ok(())
    }

    async fn nack(&self, receipt: &str, delay: Duration) -> Result<()> {
        self.change_visibility("ChangeMessageVisibility(nack)", receipt, delay)
            .await
    }

    async fn extend_visibility(&self, receipt: &str, visibility: Duration) -> Result<()> {
        self.change_visibility("ChangeMessageVisibility", receipt, visibility)
            .await
    }

    async fn depth(&self) -> Result<u64> {
        let r = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| from_sdk("GetQueueAttributes", &self.name, e))?;
        let a = r.attributes();
        let get = |k: QueueAttributeName| -> u64 {
            a.and_then(|a| a.get(&k))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok(get(QueueAttributeName::ApproximateNumberOfMessages)
            + get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
    }

    async fn purge(&self) -> Result<()> {
        self.client
            .purge_queue()
            .queue_url(&self.url)
            .send()
            .await
            .map_err(|e| from_sdk("PurgeQueue", &self.name, e))?;
        Ok(())
    }
}

/// SQS queue admin: create (DLQ via redrive policy, FIFO), delete, list.
///
/// Example: see [`SqsQueue`].
#[derive(Clone)]
pub struct SqsAdmin {
    client: aws_sdk_sqs::Client,
}

impl fmt::Debug for SqsAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SqsAdmin")
    }
}

impl SqsAdmin {
    /// An admin over a client.
    ///
    /// Example: see [`SqsQueue`].
    pub fn new(client: aws_sdk_sqs::Client) -> Self {
        SqsAdmin { client }
    }

    /// The URL of queue `name` (or of `name.fifo`, the name SQS gives a FIFO queue created
    /// under a plain name).
    ///
    /// Example: see [`SqsQueue`].
    pub async fn queue_url(&self, name: &str) -> Result<String> {
        match self.queue_url_exact(name).await {
            Err(e) if e.kind() == ErrorKind::NotFound && !name.ends_with(".fifo") => self
                .queue_url_exact(&format!("{name}.fifo"))
                .await
                .map_err(|_| e),
            r => r,
        }
    }

    async fn queue_url_exact(&self, name: &str) -> Result<String> {
        let r = self
            .client
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| from_sdk("GetQueueUrl", name, e))?;
        r.queue_url()
            .map(str::to_string)
            .ok_or_else(|| Error::not_found(format!("queue {name:?}")))
    }

    async fn queue_arn(&self, url: &str, name: &str) -> Result<String> {
        let r = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| from_sdk("GetQueueAttributes", name, e))?;
        r.attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| Error::other(format!("queue {name:?} has no QueueArn")))
    }
}

/// SQS requires FIFO queue names to end in `.fifo`: append it to a plain name.
fn sqs_name(name: &str, fifo: bool) -> String {
    if fifo && !name.ends_with(".fifo") {
        format!("{name}.fifo")
    } else {
        name.to_string()
    }
}

fn redrive_policy(arn: &str, dl: &DeadLetter) -> String {
    serde_json::json!({
        "deadLetterTargetArn": arn,
        "maxReceiveCount": dl.max_receive_count.to_string(),
    })
    .to_string()
}

#[async_trait]
impl QueueAdmin for SqsAdmin {
    async fn create_queue(&self, name: &str, config: &QueueConfig) -> Result<()> {
        let fifo = config.fifo || name.ends_with(".fifo");
        let real = sqs_name(name, fifo);
        let name = real.as_str();
        let mut req = self.client.create_queue().queue_name(name);
        if fifo {
            req = req.attributes(QueueAttributeName::FifoQueue, "true");
        }
        if let Some(v) = config.default_visibility {
            if v > MAX_VISIBILITY {
                return Err(Error::invalid(
                    "default visibility exceeds the SQS maximum of 12 h",
                ));
            }
            req = req.attributes(
                QueueAttributeName::VisibilityTimeout,
                secs_ceil(v).to_string(),
            );
        }
        if let Some(dl) = &config.dead_letter {
            if dl.max_receive_count == 0 || dl.max_receive_count > 1000 {
                return Err(Error::invalid("max_receive_count must be 1..=1000 on SQS"));
            }
            let url = self.queue_url(&dl.queue).await.map_err(|e| {
                e.context_message(format!("dead-letter queue {:?} of {name:?}", dl.queue))
            })?;
            let arn = self.queue_arn(&url, &dl.queue).await?;
            req = req.attributes(QueueAttributeName::RedrivePolicy, redrive_policy(&arn, dl));
        }
        req.send()
            .await
            .map_err(|e| from_sdk("CreateQueue", name, e))?;
        Ok(())
    }

    async fn delete_queue(&self, name: &str) -> Result<()> {
        let url = self.queue_url(name).await?;
        self.client
            .delete_queue()
            .queue_url(url)
            .send()
            .await
            .map_err(|e| from_sdk("DeleteQueue", name, e))?;
        Ok(())
    }

    async fn list_queues(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..1000 {
            let r = self
                .client
                .list_queues()
                .max_results(1000)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| from_sdk("ListQueues", "", e))?;
            out.extend(
                r.queue_urls()
                    .iter()
                    .filter_map(|u| u.rsplit('/').next().map(str::to_string)),
            );
            token = r.next_token().map(str::to_string).filter(|t| !t.is_empty());
            if token.is_none() {
                break;
            }
        }
        Ok(out)
    }

    async fn open(&self, name: &str) -> Result<Queue> {
        let url = self.queue_url(name).await?;
        let real = url.rsplit('/').next().unwrap_or(name).to_string();
        let driver = SqsQueue::new(self.client.clone(), real, url);
        Ok(Queue::new(Arc::new(driver)).with_admin(Arc::new(self.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_encoding() {
        assert_eq!(
            encode_body(&Bytes::from_static(b"hello")),
            Wire::Text("hello".into())
        );
        assert_eq!(
            encode_body(&Bytes::from_static(&[0, 159, 146, 150])),
            Wire::Binary
        );
        assert_eq!(encode_body(&Bytes::from_static(b"a\x01b")), Wire::Binary);
        assert_eq!(
            encode_body(&Bytes::new()),
            Wire::Empty,
            "SQS refuses empty bodies"
        );
        assert!(matches!(
            encode_body(&Bytes::from("민원 접수\n".to_string())),
            Wire::Text(_)
        ));
        assert_eq!(sqs_name("q", true), "q.fifo");
        assert_eq!(sqs_name("q.fifo", true), "q.fifo");
        assert_eq!(sqs_name("q", false), "q");
    }

    #[test]
    fn stale_receipts() {
        let mut r = Receipts::default();
        r.record("m1", "r1");
        assert!(!r.is_stale("r1"));
        r.record("m1", "r2");
        assert!(r.is_stale("r1"));
        assert!(!r.is_stale("r2"));
        assert!(!r.is_stale("unknown"));
        r.forget("r2");
        assert!(!r.is_stale("r1"));
        for i in 0..(TRACKED_RECEIPTS + 10) {
            r.record(&format!("m{i}"), &format!("x{i}"));
        }
        assert!(r.by_receipt.len() <= TRACKED_RECEIPTS);
    }

    #[test]
    fn url_forms() {
        let c =
            SqsConfig::from_url(&ResourceUrl::parse("sqs://jobs?region=ap-northeast-2").unwrap())
                .unwrap();
        assert_eq!(c.queue, "jobs");
        assert!(c.queue_url.is_none());
        let c = SqsConfig::from_url(
            &ResourceUrl::parse("sqs://sqs.ap-northeast-2.amazonaws.com/123456789012/jobs.fifo")
                .unwrap(),
        )
        .unwrap();
        assert_eq!(c.queue, "jobs.fifo");
        assert!(c.create_config.fifo);
        assert_eq!(
            c.queue_url.as_deref(),
            Some("https://sqs.ap-northeast-2.amazonaws.com/123456789012/jobs.fifo")
        );
        assert!(c.endpoint.is_none());
        let c = SqsConfig::from_url(
            &ResourceUrl::parse("sqs://127.0.0.1:5000/123456789012/q1").unwrap(),
        )
        .unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:5000"));
    }

    #[test]
    fn attribute_names() {
        assert!(check_attribute_name("trace-id").is_ok());
        assert!(check_attribute_name("AWS.x").is_err());
        assert!(check_attribute_name("a..b").is_err());
        assert!(check_attribute_name(ENCODING_ATTRIBUTE).is_err());
        assert_eq!(secs_ceil(Duration::from_millis(1500)), 2);
        assert_eq!(secs_ceil(Duration::ZERO), 0);
    }
}
