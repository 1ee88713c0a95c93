//! [`HttpClient`]: authorised, retried, deadline-bounded requests with portable errors.

use super::config::HttpConfig;
use super::errors::{DefaultErrors, ProviderErrors};
use super::retry::{backoff, parse_retry_after};
use crate::error::{Error, ErrorKind, Result};
use bytes::{Bytes, BytesMut};
use http::{HeaderMap, Method, StatusCode};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Error bodies are read up to this many bytes (they only feed [`ProviderErrors::parse`]).
pub const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Signs or authorises each attempt of a request: the auth hook of an [`HttpClient`].
///
/// [`authorize`](Self::authorize) runs before *every* attempt, retries included, so
/// signatures that carry a timestamp (SigV4, Azure Shared Key, NCP signature v2) are fresh
/// and bearer tokens are the current ones.
///
/// ```
/// use gureum_core::http::Authorizer;
///
/// #[derive(Debug)]
/// struct Bearer(String);
/// #[gureum_core::async_trait]
/// impl Authorizer for Bearer {
///     async fn authorize(&self, req: &mut reqwest::Request) -> gureum_core::Result<()> {
///         let v = format!("Bearer {}", self.0).parse().map_err(|_| {
///             gureum_core::Error::invalid("token is not a valid header value")
///         })?;
///         req.headers_mut().insert(http::header::AUTHORIZATION, v);
///         Ok(())
///     }
/// }
/// ```
#[async_trait::async_trait]
pub trait Authorizer: Send + Sync + fmt::Debug {
    /// Add the credentials of one attempt to `req` (headers, query or both). The body, when
    /// buffered, is `req.body().and_then(|b| b.as_bytes())`.
    async fn authorize(&self, req: &mut reqwest::Request) -> Result<()>;

    /// Called once per request after a 401 with the headers that were sent. Return `true`
    /// when fresh credentials were obtained (e.g. an expired token dropped) and the request
    /// should be repeated once.
    async fn refresh(&self, sent: &HeaderMap) -> Result<bool> {
        let _ = sent;
        Ok(false)
    }
}

/// Per-request options of [`HttpClient::send`].
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    operation: String,
    idempotent: bool,
    accept: Vec<u16>,
    raw: bool,
}

impl RequestOptions {
    /// Options for `operation`, a short secret-free name used in messages and logs
    /// (`"GET container c1"`). Not idempotent: call [`idempotent`](Self::idempotent) for
    /// requests that are safe to repeat.
    pub fn new(operation: impl Into<String>) -> Self {
        RequestOptions {
            operation: operation.into(),
            idempotent: false,
            accept: Vec::new(),
            raw: false,
        }
    }
    /// Mark the request safe to repeat (GET/HEAD/PUT/DELETE by nature, or a create made
    /// idempotent by a client token). Only such requests are retried after a response or
    /// a failure mid-request; a connection that was never made is retried either way.
    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }
    /// Hand responses with this non-2xx status back as `Ok` instead of an error (e.g. 404
    /// for an existence check, 409 for a create that tolerates "already there").
    pub fn accept(mut self, status: u16) -> Self {
        self.accept.push(status);
        self
    }
    /// Hand the final response back as `Ok` whatever its status, unread (for callers that
    /// branch on statuses and turn the rest into errors with [`HttpClient::error_from`]).
    /// Retry decisions then use the status alone (429, 5xx, the provider's
    /// [`ProviderErrors::status_kind`]), since no error body is read before the last attempt.
    pub fn raw_status(mut self, yes: bool) -> Self {
        self.raw = yes;
        self
    }
    /// The operation name.
    pub fn operation(&self) -> &str {
        &self.operation
    }
}

/// Failures of the HTTP layer itself (the source of the portable [`Error`]; downcast to
/// tell them apart).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The response body is larger than the configured bound.
    #[error("response body exceeds {limit} bytes")]
    BodyTooLarge {
        /// The bound ([`HttpConfig::max_response_bytes`]).
        limit: u64,
    },
    /// The call's total deadline passed.
    #[error("deadline of {deadline:?} exceeded after {attempts} attempt(s)")]
    DeadlineExceeded {
        /// The deadline ([`HttpConfig::deadline`]).
        deadline: Duration,
        /// Attempts made.
        attempts: u32,
    },
}

/// A fully read response.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body (at most [`HttpConfig::max_response_bytes`]).
    pub body: Bytes,
}

impl HttpResponse {
    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The body as text (lossy UTF-8, byte-order mark dropped).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .trim_start_matches('\u{feff}')
            .to_string()
    }
    /// The body as JSON; `what` names the call for the error message.
    pub fn json<T: serde::de::DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::other(format!("{what}: malformed JSON response: {e}")))
    }
}

/// A shared HTTP client for a provider's hand-written REST calls: one `reqwest` connection
/// pool, the provider's [`Authorizer`] and [`ProviderErrors`] hooks, and the
/// [`HttpConfig`] policy (timeouts, deadline, retry with full-jitter back-off honouring
/// `Retry-After`, bounded bodies). Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> gureum_core::Result<()> {
/// use gureum_core::http::{HttpClient, HttpConfig, RequestOptions};
/// let client = HttpClient::builder("demo").config(HttpConfig::default().retries(2)).build()?;
/// let req = client
///     .http()
///     .get("https://api.example.com/v1/things")
///     .build()
///     .map_err(|e| gureum_core::Error::invalid(format!("request: {e}")))?;
/// let resp = client.send_bytes(req, &RequestOptions::new("GET things").idempotent(true)).await?;
/// println!("{}", resp.text());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    service: String,
    http: reqwest::Client,
    config: HttpConfig,
    auth: Option<Arc<dyn Authorizer>>,
    errors: Arc<dyn ProviderErrors>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("service", &self.inner.service)
            .field("config", &self.inner.config)
            .field("auth", &self.inner.auth.is_some())
            .finish()
    }
}

/// Builds an [`HttpClient`].
#[derive(Debug)]
pub struct HttpClientBuilder {
    service: String,
    config: HttpConfig,
    client: Option<reqwest::Client>,
    auth: Option<Arc<dyn Authorizer>>,
    errors: Arc<dyn ProviderErrors>,
}

impl HttpClientBuilder {
    /// Set the policy.
    pub fn config(mut self, config: HttpConfig) -> Self {
        self.config = config;
        self
    }
    /// Use this `reqwest` client (e.g. with custom TLS roots, built from
    /// [`HttpConfig::client_builder`]) instead of building one from the config.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }
    /// Set the auth hook.
    pub fn auth(mut self, auth: Arc<dyn Authorizer>) -> Self {
        self.auth = Some(auth);
        self
    }
    /// Set the error hook (default: [`DefaultErrors`]).
    pub fn errors(mut self, errors: Arc<dyn ProviderErrors>) -> Self {
        self.errors = errors;
        self
    }
    /// Build the client.
    pub fn build(self) -> Result<HttpClient> {
        let http = match self.client {
            Some(c) => c,
            None => self.config.client_builder()?.build().map_err(|e| {
                Error::other(format!("{}: building the HTTP client", self.service)).with_source(e)
            })?,
        };
        Ok(HttpClient {
            inner: Arc::new(Inner {
                service: self.service,
                http,
                config: self.config,
                auth: self.auth,
                errors: self.errors,
            }),
        })
    }
}

fn transport_kind(e: &reqwest::Error) -> ErrorKind {
    if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_builder() {
        ErrorKind::InvalidArgument
    } else {
        ErrorKind::Unavailable
    }
}

/// `e` and its sources, joined (TLS failures are only visible deep in the chain).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    let mut n = 0;
    while let Some(c) = cur {
        let t = c.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        n += 1;
        if n > 16 {
            break;
        }
        cur = c.source();
    }
    out
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .or_else(|| headers.get("x-ms-retry-after-ms"))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some(Duration::from_millis(ms));
    }
    headers
        .get(http::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

impl HttpClient {
    /// A builder for a client of `service` (a short name for messages: `"azure-storage"`,
    /// `"ec2"`, `"nova"`).
    pub fn builder(service: impl Into<String>) -> HttpClientBuilder {
        HttpClientBuilder {
            service: service.into(),
            config: HttpConfig::default(),
            client: None,
            auth: None,
            errors: Arc::new(DefaultErrors),
        }
    }

    /// The underlying `reqwest` client, to build requests.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }
    /// The policy.
    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }
    /// The service name.
    pub fn service(&self) -> &str {
        &self.inner.service
    }
    /// The error hook.
    pub fn errors(&self) -> &dyn ProviderErrors {
        self.inner.errors.as_ref()
    }
    /// A request builder on the underlying client.
    pub fn request(&self, method: Method, url: url::Url) -> reqwest::RequestBuilder {
        self.inner.http.request(method, url)
    }

    /// Send `req`: authorise each attempt, retry what may be retried, and turn a non-2xx
    /// response (outside [`RequestOptions::accept`]) into a portable [`Error`] through the
    /// provider's [`ProviderErrors`] hook. The returned response's body is not read yet:
    /// stream it, or read it bounded with [`bytes`](Self::bytes).
    ///
    /// Retried (at most [`RetryConfig::max_retries`](super::RetryConfig) times, within the
    /// deadline): connection failures always; timeouts, other transport failures and
    /// responses whose kind [`is_retryable`](ErrorKind::is_retryable) (429, 5xx,
    /// throttling codes) only for [idempotent](RequestOptions::idempotent) requests with a
    /// buffered body. The sleep is the full-jitter back-off or the server's `Retry-After`,
    /// whichever is longer. A 401 is repeated once when the [`Authorizer::refresh`]
    /// hook says so.
    pub async fn send(
        &self,
        req: reqwest::Request,
        opts: &RequestOptions,
    ) -> Result<reqwest::Response> {
        self.send_inner(req, opts, self.inner.auth.as_deref()).await
    }

    /// [`send`](Self::send) with `auth` instead of the client's own auth hook, for
    /// credentials that live with the caller (e.g. a token session shared by several
    /// services, which itself owns the client).
    pub async fn send_with_auth(
        &self,
        req: reqwest::Request,
        opts: &RequestOptions,
        auth: &dyn Authorizer,
    ) -> Result<reqwest::Response> {
        self.send_inner(req, opts, Some(auth)).await
    }

    async fn send_inner(
        &self,
        req: reqwest::Request,
        opts: &RequestOptions,
        auth: Option<&dyn Authorizer>,
    ) -> Result<reqwest::Response> {
        let inner = &*self.inner;
        let cfg = &inner.config;
        let op = opts.operation.as_str();
        let service = inner.service.as_str();
        let shown_url = crate::url::redact_url(req.url());
        let cloneable = req.try_clone().is_some();
        let mut template = Some(req);
        let start = Instant::now();
        let deadline = start + cfg.deadline;
        let mut attempts = 0u32;
        let mut retries = 0u32;
        let mut refreshed = false;
        loop {
            attempts += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(deadline_error(
                    service,
                    op,
                    cfg.deadline,
                    attempts - 1,
                    None,
                ));
            }
            let mut r = if cloneable {
                template
                    .as_ref()
                    .and_then(|t| t.try_clone())
                    .ok_or_else(|| {
                        Error::other(format!("{service} {op}: request not repeatable"))
                    })?
            } else {
                template.take().ok_or_else(|| {
                    Error::other(format!("{service} {op}: request not repeatable"))
                })?
            };
            *r.timeout_mut() = Some(cfg.request_timeout.min(remaining));
            if let Some(a) = auth {
                a.authorize(&mut r).await?;
            }
            let sent_headers = if auth.is_some() {
                Some(r.headers().clone())
            } else {
                None
            };
            let may_retry = cloneable && retries < cfg.retry.max_retries;
            let (err, wait) = match inner.http.execute(r).await {
                Err(e) => {
                    let retry = may_retry && (opts.idempotent || e.is_connect()) && !e.is_builder();
                    let e = e.without_url();
                    let tls_failed = crate::tls::is_tls_failure(&e);
                    let retry = retry && !tls_failed;
                    let err = if tls_failed {
                        Error::new(
                            ErrorKind::Tls,
                            crate::tls::tls_failure_message(
                                &format!("{service} {op}"),
                                &shown_url,
                                &error_chain(&e),
                            ),
                        )
                    } else {
                        Error::new(
                            transport_kind(&e),
                            format!("{service} {op}: request to {shown_url} failed: {e}"),
                        )
                    }
                    .with_source(e);
                    if !retry {
                        return Err(err);
                    }
                    (err, None)
                }
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() || opts.accept.contains(&status.as_u16()) {
                        return Ok(resp);
                    }
                    if status == StatusCode::UNAUTHORIZED && cloneable && !refreshed {
                        if let (Some(a), Some(h)) = (auth, &sent_headers) {
                            if a.refresh(h).await? {
                                refreshed = true;
                                tracing::debug!(
                                    service,
                                    op,
                                    "401: credentials refreshed, repeating once"
                                );
                                attempts -= 1;
                                continue;
                            }
                        }
                    }
                    let wait = retry_after(resp.headers());
                    if opts.raw {
                        let kind =
                            super::errors::classify(inner.errors.as_ref(), status.as_u16(), None);
                        if !(may_retry && opts.idempotent && kind.is_retryable()) {
                            return Ok(resp);
                        }
                    }
                    let err = self.error_from(resp, op).await;
                    if !(may_retry && opts.idempotent && err.is_retryable()) {
                        return Err(err);
                    }
                    (err, wait)
                }
            };
            retries += 1;
            let jitter = backoff(&cfg.retry, retries);
            let sleep = wait.map_or(jitter, |w| w.max(jitter));
            let remaining = deadline.saturating_duration_since(Instant::now());
            if sleep >= remaining {
                if wait.is_some() {
                    // the server asked for longer than the deadline allows: give up now
                    return Err(err);
                }
                return Err(deadline_error(
                    service,
                    op,
                    cfg.deadline,
                    attempts,
                    Some(err),
                ));
            }
            tracing::debug!(
                service,
                op,
                attempt = attempts,
                kind = %err.kind(),
                sleep_ms = sleep.as_millis() as u64,
                "retrying"
            );
            tokio::time::sleep(sleep).await;
        }
    }

    /// [`send`](Self::send) and read the body with [`bytes`](Self::bytes).
    pub async fn send_bytes(
        &self,
        req: reqwest::Request,
        opts: &RequestOptions,
    ) -> Result<HttpResponse> {
        let resp = self.send(req, opts).await?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = self.bytes(resp, &opts.operation).await?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    /// Read a response body, refusing more than [`HttpConfig::max_response_bytes`]
    /// (an `Error` whose source is [`HttpError::BodyTooLarge`]).
    pub async fn bytes(&self, resp: reqwest::Response, operation: &str) -> Result<Bytes> {
        let limit = self.inner.config.max_response_bytes;
        self.read_limited(resp, operation, limit).await
    }

    /// The portable error for a non-success response (reads its body, bounded). For
    /// responses handed back through [`RequestOptions::accept`].
    pub async fn error_from(&self, resp: reqwest::Response, operation: &str) -> Error {
        error_from_response(self.inner.errors.as_ref(), resp, operation).await
    }

    async fn read_limited(
        &self,
        mut resp: reqwest::Response,
        operation: &str,
        limit: u64,
    ) -> Result<Bytes> {
        let service = self.inner.service.as_str();
        let too_large = || {
            // The answer is not one the caller can use (an endless or oversized body):
            // `Unavailable`, like any answer that cannot be read.
            Error::new(
                crate::ErrorKind::Unavailable,
                format!("{service} {operation}: response body exceeds {limit} bytes"),
            )
            .with_source(HttpError::BodyTooLarge { limit })
        };
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(too_large());
        }
        let mut buf = BytesMut::new();
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if buf.len() as u64 + c.len() as u64 > limit {
                        return Err(too_large());
                    }
                    buf.extend_from_slice(&c);
                }
                Ok(None) => break,
                Err(e) => {
                    let e = e.without_url();
                    return Err(Error::new(
                        transport_kind(&e),
                        format!("{service} {operation}: reading the response failed: {e}"),
                    )
                    .with_source(e));
                }
            }
        }
        Ok(buf.freeze())
    }
}

/// The portable error for a non-success response, read (at most [`ERROR_BODY_LIMIT`]
/// bytes) and classified by `errors` — what [`HttpClient::error_from`] does, for code that
/// holds a response but no client.
pub async fn error_from_response(
    errors: &dyn ProviderErrors,
    mut resp: reqwest::Response,
    operation: &str,
) -> Error {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let mut body = BytesMut::new();
    while body.len() < ERROR_BODY_LIMIT {
        match resp.chunk().await {
            Ok(Some(c)) => {
                let room = ERROR_BODY_LIMIT - body.len();
                body.extend_from_slice(&c[..room.min(c.len())]);
            }
            _ => break,
        }
    }
    let details = errors.parse(status, &headers, &body);
    errors.build(operation, status, &details)
}

fn deadline_error(
    service: &str,
    op: &str,
    deadline: Duration,
    attempts: u32,
    last: Option<Error>,
) -> Error {
    let mut msg =
        format!("{service} {op}: deadline of {deadline:?} exceeded after {attempts} attempt(s)");
    let (mut code, mut rid) = (None, None);
    if let Some(l) = &last {
        msg.push_str(&format!("; last error: {}", l.message()));
        code = l.provider_code().map(str::to_string);
        rid = l.request_id().map(str::to_string);
    }
    let mut e = Error::new(ErrorKind::Timeout, msg)
        .with_source(HttpError::DeadlineExceeded { deadline, attempts });
    if let Some(c) = code {
        e = e.with_provider_code(c);
    }
    if let Some(r) = rid {
        e = e.with_request_id(r);
    }
    e
}
