//! The Kakao Pub/Sub queue driver and admin.
//!
//! Requests (all under `{endpoint}/v1/domains/{domain-id}/projects/{project-id}/`, JSON, with
//! the `Credential-ID` and `Credential-Secret` headers):
//!
//! | operation | request | source |
//! |---|---|---|
//! | create topic | `PUT topics/{name}` `{"topic": {"description", "messageRetentionDuration"}}` | Kakao Pub/Sub API reference |
//! | list topics / subscriptions | `GET topics`, `GET subscriptions` | reference (path); response field names **unconfirmed** (`topics[].name`, `subscriptions[].name`) |
//! | delete | `DELETE topics/{name}`, `DELETE subscriptions/{name}` | reference (operation listed); path by analogy with create |
//! | create subscription | `PUT subscriptions/{name}` `{"subscription": {"topic", "ackDeadlineSeconds", "messageRetentionDuration", "maxDeliveryAttempt"}}` | Kakao tutorial code (kakaocloud-edu) |
//! | publish | `POST topics/{name}/publish` `{"messages": [{"data": base64, "attributes": {..}}]}` | tutorial code; response `{"messageIds": [..]}` **unconfirmed** |
//! | pull | `POST subscriptions/{name}/pull` `{"maxMessages", "waitTime": "3s"}` → `{"receivedMessages": [{"ackId", "message": {"data", "attributes", "messageId", "publishTime"}, "deliveryAttempt"}]}` | tutorial code; `deliveryAttempt` **unconfirmed** |
//! | acknowledge | `POST subscriptions/{name}/acknowledge` `{"ackIds": [..]}` → `{"failure": [{"ackID", "error": {"code", "message"}}]}` | tutorial code |
//! | modify ack deadline | `POST subscriptions/{name}/modifyAckDeadline` `{"ackIds": [..], "ackDeadlineSeconds": n}` | the operation is documented ("modify the acknowledgement deadline", action skip); path and fields **unconfirmed** |
//!
//! Errors are `{"error": {"code": int, "message": string}}` with gRPC codes, mapped by
//! [`KakaoPubSubErrors`]: 3 → `InvalidArgument`, 5 → `NotFound`, 6 → `AlreadyExists`,
//! 7 → `PermissionDenied`, 8 → `RateLimited`, 9 → `PreconditionFailed`, 4 → `Timeout`,
//! 13 / 14 → `Unavailable` (retried), 16 → `Unauthenticated`, 12 → `Unsupported`.
//!
//! Queue semantics: a receive pulls, then sets the received messages' deadline to the
//! requested visibility (one `modifyAckDeadline`) unless it equals the subscription's
//! deadline; `nack(delay)` sets the deadline to `delay` (0 s = redeliver now), so nack delay
//! and visibility are bounded by 600 s. An ack id whose acknowledgement the service refuses
//! with code 3 (invalid ack id: the message was redelivered since) gives `PreconditionFailed`.
//! No per-message delay, depth, purge or dead-letter topic is documented: those are
//! unsupported (the subscription's `maxDeliveryAttempt` drops a message after N deliveries,
//! it does not move it).

use crate::config::{check_name, KakaoPubSubConfig, MAX_ACK_DEADLINE};
use async_trait::async_trait;
use base64::Engine;
use bytes::Bytes;
use gureum_core::http::{
    excerpt, request_id_from_headers, Authorizer, ErrorDetails, HttpClient, ProviderErrors,
    RequestOptions,
};
use gureum_core::{
    queue::stale_receipt, Error, ErrorKind, Message, Queue, QueueAdmin, QueueCapabilities,
    QueueConfig, QueueDriver, ReceiveOptions, ReceivedMessage, Result,
};
use http::{HeaderMap, HeaderValue, Method};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Most messages per publish sent by this driver (the service limit is not published).
///
/// Example: see [`KakaoPubSubQueue`].
pub const MAX_PUBLISH_BATCH: usize = 100;
/// Most messages per pull (the Kakao tutorial's stated maximum).
///
/// Example: see [`KakaoPubSubQueue`].
pub const MAX_PULL: usize = 100;
/// Longest pull wait (the Kakao tutorial's stated maximum `waitTime`).
///
/// Example: see [`KakaoPubSubQueue`].
pub const MAX_WAIT: Duration = Duration::from_secs(30);
/// Largest message body this driver sends: 1 MiB, a conservative bound (Kakao's limit is
/// not published).
///
/// Example: see [`KakaoPubSubQueue`].
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// The gRPC status name of a code (`3` → `INVALID_ARGUMENT`).
///
/// Kakao's error bodies carry gRPC codes; they decide the portable kind:
///
/// ```
/// use gureum_core::{http::ProviderErrors, ErrorKind};
/// use gureum_kakao_pubsub::queue::{grpc_kind, grpc_name, KakaoPubSubErrors};
/// assert_eq!(grpc_name(7), "PERMISSION_DENIED");
/// assert_eq!(grpc_kind("RESOURCE_EXHAUSTED"), Some(ErrorKind::RateLimited));
/// let body = br#"{"error": {"code": 5, "message": "subscription not found"}}"#;
/// let d = KakaoPubSubErrors.parse(404, &http::HeaderMap::new(), body);
/// assert_eq!(d.code.as_deref(), Some("NOT_FOUND"));
/// assert_eq!(KakaoPubSubErrors.build("pull ocr-jobs", 404, &d).kind(), ErrorKind::NotFound);
/// ```
pub fn grpc_name(code: i64) -> &'static str {
    match code {
        0 => "OK",
        1 => "CANCELLED",
        2 => "UNKNOWN",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        6 => "ALREADY_EXISTS",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        10 => "ABORTED",
        11 => "OUT_OF_RANGE",
        12 => "UNIMPLEMENTED",
        13 => "INTERNAL",
        14 => "UNAVAILABLE",
        15 => "DATA_LOSS",
        16 => "UNAUTHENTICATED",
        _ => "UNKNOWN",
    }
}

/// The portable kind of a gRPC status name.
///
/// Example: see [`grpc_name`].
pub fn grpc_kind(name: &str) -> Option<ErrorKind> {
    Some(match name {
        "INVALID_ARGUMENT" | "OUT_OF_RANGE" => ErrorKind::InvalidArgument,
        "DEADLINE_EXCEEDED" => ErrorKind::Timeout,
        "NOT_FOUND" => ErrorKind::NotFound,
        "ALREADY_EXISTS" => ErrorKind::AlreadyExists,
        "PERMISSION_DENIED" => ErrorKind::PermissionDenied,
        "RESOURCE_EXHAUSTED" => ErrorKind::RateLimited,
        "FAILED_PRECONDITION" => ErrorKind::PreconditionFailed,
        "ABORTED" | "INTERNAL" | "UNAVAILABLE" => ErrorKind::Unavailable,
        "UNIMPLEMENTED" => ErrorKind::Unsupported,
        "UNAUTHENTICATED" => ErrorKind::Unauthenticated,
        "DATA_LOSS" => ErrorKind::Integrity,
        _ => return None,
    })
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorInner,
}
#[derive(Deserialize)]
struct ErrorInner {
    code: i64,
    #[serde(default)]
    message: String,
}

/// Reads Kakao's `{"error": {"code", "message"}}` bodies; the gRPC code decides the kind.
///
/// Example: see [`grpc_name`].
#[derive(Debug, Default, Clone, Copy)]
pub struct KakaoPubSubErrors;

impl ProviderErrors for KakaoPubSubErrors {
    fn parse(&self, _status: u16, headers: &HeaderMap, body: &[u8]) -> ErrorDetails {
        match serde_json::from_slice::<ErrorBody>(body) {
            Ok(b) => ErrorDetails {
                code: Some(grpc_name(b.error.code).to_string()),
                message: Some(b.error.message).filter(|m| !m.is_empty()),
                request_id: request_id_from_headers(headers),
            },
            Err(_) => ErrorDetails {
                code: None,
                message: excerpt(body),
                request_id: request_id_from_headers(headers),
            },
        }
    }
    fn code_kind(&self, code: &str) -> Option<ErrorKind> {
        grpc_kind(code)
    }
}

/// Adds `Credential-ID` / `Credential-Secret` (marked sensitive) to every attempt.
struct CredentialHeaders {
    id: HeaderValue,
    secret: HeaderValue,
}

impl fmt::Debug for CredentialHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialHeaders(<redacted>)")
    }
}

#[async_trait]
impl Authorizer for CredentialHeaders {
    async fn authorize(&self, req: &mut reqwest::Request) -> Result<()> {
        req.headers_mut().insert("credential-id", self.id.clone());
        req.headers_mut()
            .insert("credential-secret", self.secret.clone());
        Ok(())
    }
}

/// One account's HTTP client (shared by the queues and the admin of that account).
#[derive(Clone)]
struct Api {
    cfg: KakaoPubSubConfig,
    http: HttpClient,
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.cfg.fmt(f)
    }
}

impl Api {
    fn new(cfg: KakaoPubSubConfig) -> Result<Self> {
        let mut id = HeaderValue::from_str(&cfg.credential_id)
            .map_err(|_| Error::invalid("the access key id is not a valid header value"))?;
        id.set_sensitive(true);
        let mut secret = HeaderValue::from_str(cfg.credential_secret.expose_secret())
            .map_err(|_| Error::invalid("the secret access key is not a valid header value"))?;
        secret.set_sensitive(true);
        let http = HttpClient::builder("kakao-pubsub")
            .config(cfg.http.clone())
            .auth(Arc::new(CredentialHeaders { id, secret }))
            .errors(Arc::new(KakaoPubSubErrors))
            .build()?;
        Ok(Api { cfg, http })
    }

    fn with_queue(&self, name: &str) -> Result<Api> {
        Ok(Api {
            cfg: self.cfg.for_queue(name)?,
            http: self.http.clone(),
        })
    }

    async fn call<B: Serialize>(
        &self,
        method: Method,
        rest: &str,
        body: Option<&B>,
        opts: RequestOptions,
    ) -> Result<(u16, Bytes)> {
        let mut rb = self
            .http
            .request(method, self.cfg.url(rest)?)
            .header("accept", "application/json");
        if let Some(b) = body {
            let v = serde_json::to_vec(b)
                .map_err(|e| Error::other(format!("encoding {}: {e}", opts.operation())))?;
            rb = rb.header("content-type", "application/json").body(v);
        }
        let req = rb
            .build()
            .map_err(|e| Error::invalid(format!("{}: {e}", opts.operation())))?;
        let r = self.http.send_bytes(req, &opts).await?;
        Ok((r.status, r.body))
    }
}

#[derive(Serialize)]
struct PublishReq<'a> {
    messages: Vec<OutMessage<'a>>,
}
#[derive(Serialize)]
struct OutMessage<'a> {
    data: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: &'a BTreeMap<String, String>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublishResp {
    #[serde(default)]
    message_ids: Vec<String>,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PullReq {
    max_messages: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    wait_time: Option<String>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PullResp {
    #[serde(default)]
    received_messages: Vec<InReceived>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InReceived {
    ack_id: String,
    message: InMessage,
    #[serde(default)]
    delivery_attempt: Option<u32>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InMessage {
    #[serde(default)]
    data: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    message_id: String,
    #[serde(default)]
    publish_time: Option<String>,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AckReq<'a> {
    ack_ids: &'a [String],
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ModifyReq<'a> {
    ack_ids: &'a [String],
    ack_deadline_seconds: u64,
}
#[derive(Deserialize, Default)]
struct AckResp {
    #[serde(default)]
    failure: Vec<AckFailure>,
}
#[derive(Deserialize)]
struct AckFailure {
    #[serde(rename = "ackID", alias = "ackId", default)]
    ack_id: String,
    error: ErrorInner,
}

/// An answer that is not what the API returns (not JSON, wrong shape, missing ids):
/// `Unavailable`, never a value made up from it.
fn malformed(message: &str) -> Error {
    Error::new(
        ErrorKind::Unavailable,
        format!("malformed Kakao Pub/Sub answer: {message}"),
    )
}

/// Whole seconds of a visibility / nack delay, rounded up, at most 600.
fn deadline_secs(d: Duration) -> Result<u64> {
    if d > MAX_ACK_DEADLINE {
        return Err(Error::invalid(format!(
            "{d:?} exceeds Kakao Pub/Sub's 600 s acknowledgement deadline"
        )));
    }
    Ok(d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

/// A Kakao Pub/Sub queue: a topic and a pull subscription of it.
///
/// # Examples
///
/// Against the in-process Kakao Pub/Sub simulator of `gureum-testkit`:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{ErrorKind, Message};
/// use gureum_kakao_pubsub::config::KakaoPubSubConfig;
/// use gureum_kakao_pubsub::queue::{open_kakao_pubsub, KakaoPubSubAdmin, KakaoPubSubQueue, MAX_MESSAGE_BYTES, MAX_PUBLISH_BATCH, MAX_PULL, MAX_WAIT};
/// use gureum_testkit::sim::kakao_pubsub::{KakaoPubSubSim, KakaoPubSubSimConfig};
/// use std::time::Duration;
/// let sim = KakaoPubSubSim::start(KakaoPubSubSimConfig::default()).await.unwrap();
/// let (id, secret, domain, project) = sim.access_key();
/// let config = KakaoPubSubConfig::new(&sim.endpoint(), &domain, &project, "ocr-jobs", &id, secret.into())?;
/// let admin = KakaoPubSubAdmin::new(config.clone())?;
/// admin.create_pair("ocr-jobs", "ocr-jobs", Duration::from_secs(60)).await?; // topic + pull subscription
/// let queue = open_kakao_pubsub(config).await?;
/// queue.send(Message::new("scan-0001").attribute("district", "마포구")).await?;
/// let got = queue.receive(10).await?;
/// assert_eq!((&got[0].body[..], got[0].attributes["district"].as_str()), (&b"scan-0001"[..], "마포구"));
/// queue.ack(&got[0]).await?;
/// let caps = queue.capabilities();
/// assert_eq!((caps.max_batch_send, caps.max_batch_receive), (MAX_PUBLISH_BATCH, MAX_PULL));
/// assert_eq!((caps.max_message_bytes, caps.max_wait), (MAX_MESSAGE_BYTES, MAX_WAIT));
/// let driver = queue.native::<KakaoPubSubQueue>().unwrap();
/// assert_eq!(driver.config().subscription, "ocr-jobs");
/// let e = driver.modify_ack_deadline(&["any".into()], 601).await.unwrap_err(); // refused before sending
/// assert_eq!(e.kind(), ErrorKind::InvalidArgument);
/// // The registry (`KakaoPubSubOpener` serves kakao-pubsub://) opens the same queue from a URL.
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct KakaoPubSubQueue {
    api: Api,
}

impl KakaoPubSubQueue {
    /// The configuration.
    ///
    /// Example: see [`KakaoPubSubQueue`].
    pub fn config(&self) -> &KakaoPubSubConfig {
        &self.api.cfg
    }

    /// Set the acknowledgement deadline of delivered messages (`modifyAckDeadline`),
    /// whole seconds 0–600. Failures of single ack ids are returned as errors.
    ///
    /// Example: see [`KakaoPubSubQueue`].
    pub async fn modify_ack_deadline(&self, ack_ids: &[String], seconds: u64) -> Result<()> {
        if seconds > MAX_ACK_DEADLINE.as_secs() {
            return Err(Error::invalid(format!(
                "ackDeadlineSeconds {seconds} is above 600"
            )));
        }
        if ack_ids.is_empty() {
            return Ok(());
        }
        let sub = &self.api.cfg.subscription;
        let (_, body) = self
            .api
            .call(
                Method::POST,
                &format!("subscriptions/{sub}/modifyAckDeadline"),
                Some(&ModifyReq {
                    ack_ids,
                    ack_deadline_seconds: seconds,
                }),
                RequestOptions::new(format!("modifyAckDeadline {sub}")).idempotent(true),
            )
            .await?;
        ack_failures(&body, "modifyAckDeadline")
    }
}

/// Turn the `failure` list of an acknowledge / modifyAckDeadline answer into an error: an
/// invalid ack id (code 3, the message was redelivered or acknowledged since) is a stale
/// receipt.
fn ack_failures(body: &[u8], op: &str) -> Result<()> {
    let resp: AckResp = if body.iter().all(|b| b.is_ascii_whitespace()) {
        AckResp::default()
    } else {
        serde_json::from_slice(body).map_err(|e| malformed(&format!("{op}: {e}")))?
    };
    let Some(f) = resp.failure.first() else {
        return Ok(());
    };
    let name = grpc_name(f.error.code);
    if name == "INVALID_ARGUMENT" {
        tracing::debug!(op, failed = resp.failure.len(), "stale ack id");
        return Err(stale_receipt().with_provider_code(name));
    }
    // A failure without a portable kind (`UNKNOWN`, or a code that is no failure at all):
    // the acknowledgement did not happen, and retrying it is safe.
    let kind = grpc_kind(name).unwrap_or(ErrorKind::Unavailable);
    Err(Error::new(
        kind,
        format!(
            "{op}: {} of the ack ids failed (first {}: {name}: {})",
            resp.failure.len(),
            excerpt(f.ack_id.as_bytes()).unwrap_or_default(),
            f.error.message
        ),
    )
    .with_provider_code(name))
}

#[async_trait]
impl QueueDriver for KakaoPubSubQueue {
    fn name(&self) -> &str {
        &self.api.cfg.name
    }

    fn capabilities(&self) -> QueueCapabilities {
        QueueCapabilities {
            max_batch_send: MAX_PUBLISH_BATCH,
            max_batch_receive: MAX_PULL,
            max_message_bytes: MAX_MESSAGE_BYTES,
            max_visibility: MAX_ACK_DEADLINE,
            max_wait: MAX_WAIT,
            delay: false,
            nack_delay: true,
            extend_visibility: true,
            dead_letter: false,
            attributes: true,
            ordering: false,
            purge: false,
            depth: false,
            admin: true,
        }
    }

    async fn send_batch(&self, messages: Vec<Message>) -> Result<Vec<String>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        if messages.len() > MAX_PUBLISH_BATCH {
            return Err(Error::invalid(format!(
                "{} messages in one publish; at most {MAX_PUBLISH_BATCH}",
                messages.len()
            )));
        }
        for m in &messages {
            if m.body.len() > MAX_MESSAGE_BYTES {
                return Err(Error::invalid(format!(
                    "message body of {} bytes exceeds the {MAX_MESSAGE_BYTES}-byte limit",
                    m.body.len()
                )));
            }
            if m.delay.is_some_and(|d| !d.is_zero()) {
                return Err(Error::unsupported("per-message delay on Kakao Pub/Sub"));
            }
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        let out: Vec<OutMessage<'_>> = messages
            .iter()
            .map(|m| OutMessage {
                data: b64.encode(&m.body),
                attributes: &m.attributes,
            })
            .collect();
        let topic = &self.api.cfg.topic;
        let (_, body) = self
            .api
            .call(
                Method::POST,
                &format!("topics/{topic}/publish"),
                Some(&PublishReq { messages: out }),
                RequestOptions::new(format!("publish {topic}")),
            )
            .await?;
        // A malformed answer is `Unavailable`: the messages may have been published (a
        // retry may publish them again: at-least-once).
        let resp: PublishResp = serde_json::from_slice(&body)
            .map_err(|e| malformed(&format!("publish {topic}: {e}")))?;
        if resp.message_ids.len() != messages.len() || resp.message_ids.iter().any(String::is_empty)
        {
            return Err(malformed(&format!(
                "publish {topic}: {} message ids for {} messages",
                resp.message_ids.iter().filter(|i| !i.is_empty()).count(),
                messages.len()
            )));
        }
        Ok(resp.message_ids)
    }

    async fn receive(&self, opts: ReceiveOptions) -> Result<Vec<ReceivedMessage>> {
        let visibility = deadline_secs(opts.visibility)?;
        let sub = &self.api.cfg.subscription;
        let wait = opts.wait.min(MAX_WAIT);
        let req = PullReq {
            max_messages: opts.max_messages.clamp(1, MAX_PULL),
            wait_time: (!wait.is_zero()).then(|| format!("{}s", deadline_secs(wait).unwrap_or(1))),
        };
        let (_, body) = self
            .api
            .call(
                Method::POST,
                &format!("subscriptions/{sub}/pull"),
                Some(&req),
                // A repeated pull leaves what the lost answer delivered invisible until its
                // deadline; it is then redelivered (at-least-once holds).
                RequestOptions::new(format!("pull {sub}")).idempotent(true),
            )
            .await?;
        let resp: PullResp =
            serde_json::from_slice(&body).map_err(|e| malformed(&format!("pull {sub}: {e}")))?;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut out = Vec::with_capacity(resp.received_messages.len());
        for r in resp.received_messages {
            // A delivery without ack id or message id cannot be acknowledged or told
            // apart: a malformed answer, never a message.
            if r.ack_id.is_empty() || r.message.message_id.is_empty() {
                return Err(malformed(&format!(
                    "pull {sub}: a received message without ackId or messageId"
                )));
            }
            let body = b64.decode(r.message.data.as_bytes()).map_err(|e| {
                Error::new(
                    ErrorKind::Integrity,
                    format!(
                        "pull {sub}: message {} data is not base64: {e}",
                        r.message.message_id
                    ),
                )
            })?;
            out.push(ReceivedMessage {
                id: r.message.message_id,
                body: Bytes::from(body),
                attributes: r.message.attributes,
                receipt: r.ack_id,
                receive_count: r.delivery_attempt.unwrap_or(1).max(1),
                sent_at: r
                    .message
                    .publish_time
                    .as_deref()
                    .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                    .map(|t| t.with_timezone(&chrono::Utc)),
            });
        }
        if !out.is_empty() && visibility != self.api.cfg.ack_deadline.as_secs() {
            let ids: Vec<String> = out.iter().map(|m| m.receipt.clone()).collect();
            if let Err(e) = self.modify_ack_deadline(&ids, visibility).await {
                // The messages stay delivered under the subscription's own deadline; hand
                // them out rather than lose track of them, and say so.
                tracing::warn!(error = %e, sub = %sub, "setting the visibility of pulled messages failed");
            }
        }
        Ok(out)
    }

    async fn ack(&self, receipts: &[String]) -> Result<()> {
        if receipts.is_empty() {
            return Ok(());
        }
        let sub = &self.api.cfg.subscription;
        let (_, body) = self
            .api
            .call(
                Method::POST,
                &format!("subscriptions/{sub}/acknowledge"),
                Some(&AckReq { ack_ids: receipts }),
                RequestOptions::new(format!("acknowledge {sub}")).idempotent(true),
            )
            .await?;
        ack_failures(&body, "acknowledge")
    }

    async fn nack(&self, receipt: &str, delay: Duration) -> Result<()> {
        self.modify_ack_deadline(&[receipt.to_string()], deadline_secs(delay)?)
            .await
    }

    async fn extend_visibility(&self, receipt: &str, visibility: Duration) -> Result<()> {
        self.modify_ack_deadline(&[receipt.to_string()], deadline_secs(visibility)?)
            .await
    }

    async fn depth(&self) -> Result<u64> {
        Err(Error::unsupported(
            "queue depth (Kakao Pub/Sub publishes no backlog API)",
        ))
    }

    async fn purge(&self) -> Result<()> {
        Err(Error::unsupported(
            "purge (Kakao Pub/Sub publishes no seek/purge API)",
        ))
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TopicBody {
    topic: TopicSpec,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TopicSpec {
    description: String,
    message_retention_duration: String,
}
#[derive(Serialize)]
struct SubscriptionBody {
    subscription: SubscriptionSpec,
}
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SubscriptionSpec {
    topic: String,
    ack_deadline_seconds: u64,
    message_retention_duration: String,
}
#[derive(Deserialize)]
struct Named {
    name: String,
}
#[derive(Deserialize)]
struct SubscriptionList {
    #[serde(default)]
    subscriptions: Vec<Named>,
}

/// Topic and subscription admin of one project: a gureum queue `NAME` is topic `NAME` plus
/// pull subscription `NAME`. (Kakao documents the create/delete APIs for `kr-central-2`
/// only.)
///
/// Example: see [`KakaoPubSubQueue`].
#[derive(Debug, Clone)]
pub struct KakaoPubSubAdmin {
    api: Api,
}

impl KakaoPubSubAdmin {
    /// An admin for the account (endpoint, project, key) of `cfg`.
    ///
    /// Example: see [`KakaoPubSubQueue`].
    pub fn new(cfg: KakaoPubSubConfig) -> Result<Self> {
        Ok(KakaoPubSubAdmin {
            api: Api::new(cfg)?,
        })
    }

    /// Create topic `topic` and pull subscription `subscription` of it with `ack_deadline`;
    /// existing ones are kept.
    ///
    /// Example: see [`KakaoPubSubQueue`].
    pub async fn create_pair(
        &self,
        topic: &str,
        subscription: &str,
        ack_deadline: Duration,
    ) -> Result<()> {
        check_name("topic", topic)?;
        check_name("subscription", subscription)?;
        let body = TopicBody {
            topic: TopicSpec {
                description: "gureum queue".into(),
                message_retention_duration: "604800s".into(),
            },
        };
        tolerate_exists(
            self.api
                .call(
                    Method::PUT,
                    &format!("topics/{topic}"),
                    Some(&body),
                    RequestOptions::new(format!("create topic {topic}")).idempotent(true),
                )
                .await,
        )?;
        let body = SubscriptionBody {
            subscription: SubscriptionSpec {
                topic: topic.into(),
                ack_deadline_seconds: ack_deadline.as_secs(),
                message_retention_duration: "604800s".into(),
            },
        };
        tolerate_exists(
            self.api
                .call(
                    Method::PUT,
                    &format!("subscriptions/{subscription}"),
                    Some(&body),
                    RequestOptions::new(format!("create subscription {subscription}"))
                        .idempotent(true),
                )
                .await,
        )
    }
}

/// A create that found the resource there is fine: Kakao answers a duplicate name with an
/// error whose code is not documented (`ALREADY_EXISTS`, or a message saying "duplicate").
fn tolerate_exists(r: Result<(u16, Bytes)>) -> Result<()> {
    match r {
        Ok(_) => Ok(()),
        Err(e)
            if e.kind() == ErrorKind::AlreadyExists
                || e.to_string().to_ascii_lowercase().contains("duplicate")
                || e.to_string()
                    .to_ascii_lowercase()
                    .contains("already exists") =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[async_trait]
impl QueueAdmin for KakaoPubSubAdmin {
    async fn create_queue(&self, name: &str, config: &QueueConfig) -> Result<()> {
        if config.dead_letter.is_some() {
            return Err(Error::unsupported(
                "dead-letter queues (Kakao Pub/Sub documents no dead-letter topic)",
            ));
        }
        if config.fifo {
            return Err(Error::unsupported("FIFO ordering on Kakao Pub/Sub"));
        }
        let deadline = config
            .default_visibility
            .map(|d| Duration::from_secs(deadline_secs(d).unwrap_or(600)))
            .unwrap_or(self.api.cfg.ack_deadline)
            .clamp(crate::config::MIN_ACK_DEADLINE, MAX_ACK_DEADLINE);
        self.create_pair(name, name, deadline).await
    }

    async fn delete_queue(&self, name: &str) -> Result<()> {
        check_name("queue", name)?;
        let sub = self
            .api
            .call::<()>(
                Method::DELETE,
                &format!("subscriptions/{name}"),
                None,
                RequestOptions::new(format!("delete subscription {name}")).idempotent(true),
            )
            .await;
        let topic = self
            .api
            .call::<()>(
                Method::DELETE,
                &format!("topics/{name}"),
                None,
                RequestOptions::new(format!("delete topic {name}")).idempotent(true),
            )
            .await;
        match (sub, topic) {
            (Err(a), Err(b))
                if a.kind() == ErrorKind::NotFound && b.kind() == ErrorKind::NotFound =>
            {
                Err(Error::new(
                    ErrorKind::NotFound,
                    format!("queue {name} does not exist"),
                ))
            }
            (Err(e), _) if e.kind() != ErrorKind::NotFound => Err(e),
            (_, Err(e)) if e.kind() != ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    async fn list_queues(&self) -> Result<Vec<String>> {
        let (_, body) = self
            .api
            .call::<()>(
                Method::GET,
                "subscriptions",
                None,
                RequestOptions::new("list subscriptions").idempotent(true),
            )
            .await?;
        let l: SubscriptionList = serde_json::from_slice(&body)
            .map_err(|e| malformed(&format!("list subscriptions: {e}")))?;
        let mut v: Vec<String> = l
            .subscriptions
            .into_iter()
            .map(|s| s.name.rsplit('/').next().unwrap_or_default().to_string())
            .collect();
        v.sort();
        Ok(v)
    }

    async fn open(&self, name: &str) -> Result<Queue> {
        Ok(wrap(self.api.with_queue(name)?, self.clone()))
    }
}

fn wrap(api: Api, admin: KakaoPubSubAdmin) -> Queue {
    Queue::new(Arc::new(KakaoPubSubQueue { api })).with_admin(Arc::new(admin))
}

/// Open the queue `cfg` names (creating its topic and subscription when `cfg.create`).
///
/// Example: see [`KakaoPubSubQueue`].
pub async fn open_kakao_pubsub(cfg: KakaoPubSubConfig) -> Result<Queue> {
    let api = Api::new(cfg)?;
    let admin = KakaoPubSubAdmin { api: api.clone() };
    if api.cfg.create {
        admin
            .create_pair(&api.cfg.topic, &api.cfg.subscription, api.cfg.ack_deadline)
            .await?;
    }
    Ok(wrap(api, admin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_map_to_portable_kinds() {
        let e = KakaoPubSubErrors;
        for (code, status, kind) in [
            (3, 400, ErrorKind::InvalidArgument),
            (9, 400, ErrorKind::PreconditionFailed),
            (7, 403, ErrorKind::PermissionDenied),
            (5, 404, ErrorKind::NotFound),
            (13, 500, ErrorKind::Unavailable),
            (14, 503, ErrorKind::Unavailable),
            (8, 429, ErrorKind::RateLimited),
            (16, 401, ErrorKind::Unauthenticated),
            (6, 409, ErrorKind::AlreadyExists),
        ] {
            let body = format!(r#"{{"error":{{"code":{code},"message":"m{code}"}}}}"#);
            let d = e.parse(status, &HeaderMap::new(), body.as_bytes());
            let err = e.build("op", status, &d);
            assert_eq!(err.kind(), kind, "code {code}");
            assert_eq!(err.provider_code(), Some(grpc_name(code)));
            assert!(err.to_string().contains(&format!("m{code}")));
        }
        // Not JSON: the HTTP status decides.
        let d = e.parse(503, &HeaderMap::new(), b"<html>bad gateway</html>");
        assert_eq!(e.build("op", 503, &d).kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn ack_failure_lists() {
        assert!(ack_failures(b"{}", "ack").is_ok());
        assert!(ack_failures(b"", "ack").is_ok());
        assert!(ack_failures(br#"{"failure":[]}"#, "ack").is_ok());
        let e = ack_failures(
            br#"{"failure":[{"ackID":"x","error":{"code":3,"message":"invalid ack ID"}}]}"#,
            "ack",
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
        let e = ack_failures(
            br#"{"failure":[{"ackID":"x","error":{"code":14,"message":"try later"}}]}"#,
            "ack",
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(ack_failures(b"not json", "ack").is_err());
    }

    #[test]
    fn deadlines_round_up_and_stop_at_600() {
        assert_eq!(deadline_secs(Duration::ZERO).unwrap(), 0);
        assert_eq!(deadline_secs(Duration::from_millis(1500)).unwrap(), 2);
        assert_eq!(deadline_secs(Duration::from_secs(600)).unwrap(), 600);
        assert_eq!(
            deadline_secs(Duration::from_secs(601)).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
}
