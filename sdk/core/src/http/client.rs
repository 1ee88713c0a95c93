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
///
/// ```
/// use gureum_core::http::ERROR_BODY_LIMIT;
/// assert_eq!(ERROR_BODY_LIMIT, 64 * 1024);
/// ```
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
///
/// ```
/// use gureum_core::http::RequestOptions;
/// let opts = RequestOptions::new("HEAD object a.json").idempotent(true).accept(404);
/// assert_eq!(opts.operation(), "HEAD object a.json");
/// ```
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    operation: String,
    idempotent: bool,
    accept: Vec<u16>,
    raw: bool,
    streaming: bool,
}

impl RequestOptions {
    /// Options for `operation`, a short secret-free name used in messages and logs
    /// (`"GET container c1"`). Not idempotent: call [`idempotent`](Self::idempotent) for
    /// requests that are safe to repeat.
    ///
    /// ```
    /// use gureum_core::http::RequestOptions;
    /// assert_eq!(RequestOptions::new("GET container c1").operation(), "GET container c1");
    /// ```
    pub fn new(operation: impl Into<String>) -> Self {
        RequestOptions {
            operation: operation.into(),
            idempotent: false,
            accept: Vec::new(),
            raw: false,
            streaming: false,
        }
    }
    /// Mark the request safe to repeat (GET/HEAD/PUT/DELETE by nature, or a create made
    /// idempotent by a client token). Only such requests are retried after a response or
    /// a failure mid-request; a connection that was never made is retried either way.
    ///
    /// ```
    /// # fn serve(reply: &'static str) -> String {
    /// #     use std::io::{Read, Write};
    /// #     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// #     let addr = l.local_addr().unwrap();
    /// #     std::thread::spawn(move || {
    /// #         let (mut s, _) = l.accept().unwrap();
    /// #         let mut buf = [0u8; 8192];
    /// #         let _ = s.read(&mut buf);
    /// #         s.write_all(reply.as_bytes()).unwrap();
    /// #     });
    /// #     format!("http://{addr}/")
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let url = serve("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nx-request-id: r-1\r\nConnection: close\r\n\r\nhello");
    /// use gureum_core::http::{HttpClient, RequestOptions};
    /// let client = HttpClient::builder("demo").build()?;
    /// let req = client.http().get(&url).build().unwrap();
    /// // A GET is safe to repeat: idempotent requests are retried on 429/5xx and timeouts.
    /// let resp = client.send_bytes(req, &RequestOptions::new("GET /").idempotent(true)).await?;
    /// assert_eq!(resp.status, 200);
    /// # Ok(()) }
    /// ```
    pub fn idempotent(mut self, yes: bool) -> Self {
        self.idempotent = yes;
        self
    }
    /// Hand responses with this non-2xx status back as `Ok` instead of an error (e.g. 404
    /// for an existence check, 409 for a create that tolerates "already there").
    ///
    /// ```
    /// # fn serve(reply: &'static str) -> String {
    /// #     use std::io::{Read, Write};
    /// #     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// #     let addr = l.local_addr().unwrap();
    /// #     std::thread::spawn(move || {
    /// #         let (mut s, _) = l.accept().unwrap();
    /// #         let mut buf = [0u8; 8192];
    /// #         let _ = s.read(&mut buf);
    /// #         s.write_all(reply.as_bytes()).unwrap();
    /// #     });
    /// #     format!("http://{addr}/")
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let url = serve("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nx-amz-request-id: R404\r\nConnection: close\r\n\r\nno bucket");
    /// use gureum_core::http::{HttpClient, RequestOptions};
    /// let client = HttpClient::builder("demo").build()?;
    /// let req = client.http().get(&url).build().unwrap();
    /// // An existence check: 404 comes back as a response, not an error.
    /// let resp = client.send(req, &RequestOptions::new("HEAD thing").accept(404)).await?;
    /// assert_eq!(resp.status().as_u16(), 404);
    /// # Ok(()) }
    /// ```
    pub fn accept(mut self, status: u16) -> Self {
        self.accept.push(status);
        self
    }
    /// Hand the final response back as `Ok` whatever its status, unread (for callers that
    /// branch on statuses and turn the rest into errors with [`HttpClient::error_from`]).
    /// Retry decisions then use the status alone (429, 5xx, the provider's
    /// [`ProviderErrors::status_kind`]), since no error body is read before the last attempt.
    ///
    /// ```
    /// # fn serve(reply: &'static str) -> String {
    /// #     use std::io::{Read, Write};
    /// #     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// #     let addr = l.local_addr().unwrap();
    /// #     std::thread::spawn(move || {
    /// #         let (mut s, _) = l.accept().unwrap();
    /// #         let mut buf = [0u8; 8192];
    /// #         let _ = s.read(&mut buf);
    /// #         s.write_all(reply.as_bytes()).unwrap();
    /// #     });
    /// #     format!("http://{addr}/")
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let url = serve("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nx-amz-request-id: R404\r\nConnection: close\r\n\r\nno bucket");
    /// use gureum_core::http::{HttpClient, RequestOptions};
    /// let client = HttpClient::builder("demo").build()?;
    /// let req = client.http().get(&url).build().unwrap();
    /// let resp = client.send(req, &RequestOptions::new("GET thing").raw_status(true)).await?;
    /// assert_eq!(resp.status().as_u16(), 404); // any status comes back unread
    /// let e = client.error_from(resp, "GET thing").await;
    /// assert_eq!(e.kind(), gureum_core::ErrorKind::NotFound);
    /// # Ok(()) }
    /// ```
    pub fn raw_status(mut self, yes: bool) -> Self {
        self.raw = yes;
        self
    }
    /// The response body will be streamed by the caller (an object download): the attempt's
    /// `timeout` then bounds the wait for the response headers only, and the body is bounded
    /// by the client's idle read timeout (no byte for `timeout`), so a large download that
    /// keeps moving is never cut off by a total time limit.
    ///
    /// ```
    /// use gureum_core::http::RequestOptions;
    /// let opts = RequestOptions::new("GET object big.iso").idempotent(true).streaming(true);
    /// assert!(opts.is_streaming());
    /// ```
    pub fn streaming(mut self, yes: bool) -> Self {
        self.streaming = yes;
        self
    }
    /// Whether [`streaming`](Self::streaming) was set.
    ///
    /// ```
    /// assert!(!gureum_core::http::RequestOptions::new("GET x").is_streaming());
    /// ```
    pub fn is_streaming(&self) -> bool {
        self.streaming
    }
    /// The operation name.
    ///
    /// ```
    /// use gureum_core::http::RequestOptions;
    /// assert_eq!(RequestOptions::new("DELETE queue q").operation(), "DELETE queue q");
    /// ```
    pub fn operation(&self) -> &str {
        &self.operation
    }
}

/// Failures of the HTTP layer itself (the source of the portable [`Error`]; downcast to
/// tell them apart).
///
/// ```
/// use gureum_core::http::HttpError;
/// let e = HttpError::BodyTooLarge { limit: 1024 };
/// assert_eq!(e.to_string(), "response body exceeds 1024 bytes");
/// ```
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
///
/// ```
/// # fn serve(reply: &'static str) -> String {
/// #     use std::io::{Read, Write};
/// #     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// #     let addr = l.local_addr().unwrap();
/// #     std::thread::spawn(move || {
/// #         let (mut s, _) = l.accept().unwrap();
/// #         let mut buf = [0u8; 8192];
/// #         let _ = s.read(&mut buf);
/// #         s.write_all(reply.as_bytes()).unwrap();
/// #     });
/// #     format!("http://{addr}/")
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// let url = serve("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nx-request-id: r-1\r\nConnection: close\r\n\r\nhello");
/// use gureum_core::http::{HttpClient, HttpResponse, RequestOptions};
/// let client = HttpClient::builder("demo").build()?;
/// let req = client.http().get(&url).build().unwrap();
/// let resp: HttpResponse = client.send_bytes(req, &RequestOptions::new("GET /")).await?;
/// assert_eq!((resp.status, &resp.body[..]), (200, &b"hello"[..]));
/// # Ok(()) }
/// ```
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
    ///
    /// ```
    /// # fn serve(reply: &'static str) -> String {
    /// #     use std::io::{Read, Write};
    /// #     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// #     let addr = l.local_addr().unwrap();
    /// #     std::thread::spawn(move || {
    /// #         let (mut s, _) = l.accept().unwrap();
    /// #         let mut buf = [0u8; 8192];
    /// #         let _ = s.read(&mut buf);
    /// #         s.write_all(reply.as_bytes()).unwrap();
    /// #     });
    /// #     format!("http://{addr}/")
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let url = serve("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nx-request-id: r-1\r\nConnection: close\r\n\r\nhello");
    /// use gureum_core::http::{HttpClient, RequestOptions};
    /// let client = HttpClient::builder("demo").build()?;
    /// let req = client.http().get(&url).build().unwrap();
    /// let resp = client.send_bytes(req, &RequestOptions::new("GET /")).await?;
    /// assert_eq!(resp.header("x-request-id"), Some("r-1"));
    /// assert_eq!(resp.header("x-missing"), None);
    /// # Ok(()) }
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The body as text (lossy UTF-8, byte-order mark dropped).
    ///
    /// ```
    /// # fn serve(reply: &'static str) -> String {
    /// #     use std::io::{Read, Write};
    /// #     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// #     let addr = l.local_addr().unwrap();
    /// #     std::thread::spawn(move || {
    /// #         let (mut s, _) = l.accept().unwrap();
    /// #         let mut buf = [0u8; 8192];
    /// #         let _ = s.read(&mut buf);
    /// #         s.write_all(reply.as_bytes()).unwrap();
    /// #     });
    /// #     format!("http://{addr}/")
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let url = serve("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nx-request-id: r-1\r\nConnection: close\r\n\r\nhello");
    /// use gureum_core::http::{HttpClient, RequestOptions};
    /// let client = HttpClient::builder("demo").build()?;
    /// let req = client.http().get(&url).build().unwrap();
    /// assert_eq!(client.send_bytes(req, &RequestOptions::new("GET /")).await?.text(), "hello");
    /// # Ok(()) }
    /// ```
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .trim_start_matches('\u{feff}')
            .to_string()
    }
    /// The body as JSON; `what` names the call for the error message.
    ///
    /// ```
    /// # fn serve(reply: &'static str) -> String {
    /// #     use std::io::{Read, Write};
    /// #     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// #     let addr = l.local_addr().unwrap();
    /// #     std::thread::spawn(move || {
    /// #         let (mut s, _) = l.accept().unwrap();
    /// #         let mut buf = [0u8; 8192];
    /// #         let _ = s.read(&mut buf);
    /// #         s.write_all(reply.as_bytes()).unwrap();
    /// #     });
    /// #     format!("http://{addr}/")
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let url = serve("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"count\": 3}");
    /// use gureum_core::http::{HttpClient, RequestOptions};
    /// let client = HttpClient::builder("demo").build()?;
    /// let req = client.http().get(&url).build().unwrap();
    /// let resp = client.send_bytes(req, &RequestOptions::new("GET stats")).await?;
    /// let v: serde_json::Value = resp.json("GET stats")?;
    /// assert_eq!(v["count"], 3);
    /// # Ok(()) }
    /// ```
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
///
/// ```
/// # fn main() -> gureum_core::Result<()> {
/// use gureum_core::http::{DefaultErrors, HttpClient, HttpConfig};
/// use std::sync::Arc;
/// let client = HttpClient::builder("ec2")
///     .config(HttpConfig::default().retries(5))
///     .errors(Arc::new(DefaultErrors))
///     .build()?;
/// assert_eq!(client.config().retry.max_retries, 5);
/// # Ok(()) }
/// ```
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
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::http::{HttpClient, HttpConfig};
    /// use std::time::Duration;
    /// let client = HttpClient::builder("nova").config(HttpConfig::default().deadline(Duration::from_secs(30))).build()?;
    /// assert_eq!(client.config().deadline, Duration::from_secs(30));
    /// # Ok(()) }
    /// ```
    pub fn config(mut self, config: HttpConfig) -> Self {
        self.config = config;
        self
    }
    /// Use this `reqwest` client (e.g. with custom TLS roots, built from
    /// [`HttpConfig::client_builder`]) instead of building one from the config.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::http::{HttpClient, HttpConfig};
    /// let config = HttpConfig::default();
    /// let reqwest_client = config.client_builder()?.user_agent("city-app/1.0").build().unwrap();
    /// let client = HttpClient::builder("azure-storage").config(config).client(reqwest_client).build()?;
    /// assert_eq!(client.service(), "azure-storage");
    /// # Ok(()) }
    /// ```
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }
    /// Set the auth hook.
    ///
    /// ```
    /// # fn serve(reply: &'static str) -> String {
    /// #     use std::io::{Read, Write};
    /// #     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// #     let addr = l.local_addr().unwrap();
    /// #     std::thread::spawn(move || {
    /// #         let (mut s, _) = l.accept().unwrap();
    /// #         let mut buf = [0u8; 8192];
    /// #         let _ = s.read(&mut buf);
    /// #         s.write_all(reply.as_bytes()).unwrap();
    /// #     });
    /// #     format!("http://{addr}/")
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let url = serve("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nx-request-id: r-1\r\nConnection: close\r\n\r\nhello");
    /// use gureum_core::http::{Authorizer, HttpClient, RequestOptions};
    /// use std::sync::Arc;
    /// #[derive(Debug)]
    /// struct ApiKey;
    /// #[gureum_core::async_trait]
    /// impl Authorizer for ApiKey {
    ///     async fn authorize(&self, req: &mut reqwest::Request) -> gureum_core::Result<()> {
    ///         req.headers_mut().insert("x-api-key", http::HeaderValue::from_static("k-1"));
    ///         Ok(())
    ///     }
    /// }
    /// let client = HttpClient::builder("demo").auth(Arc::new(ApiKey)).build()?;
    /// let req = client.http().get(&url).build().unwrap();
    /// assert_eq!(client.send_bytes(req, &RequestOptions::new("GET /")).await?.status, 200);
    /// # Ok(()) }
    /// ```
    pub fn auth(mut self, auth: Arc<dyn Authorizer>) -> Self {
        self.auth = Some(auth);
        self
    }
    /// Set the error hook (default: [`DefaultErrors`]).
    ///
    /// ```
    /// # fn serve(reply: &'static str) -> String {
    /// #     use std::io::{Read, Write};
    /// #     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// #     let addr = l.local_addr().unwrap();
    /// #     std::thread::spawn(move || {
    /// #         let (mut s, _) = l.accept().unwrap();
    /// #         let mut buf = [0u8; 8192];
    /// #         let _ = s.read(&mut buf);
    /// #         s.write_all(reply.as_bytes()).unwrap();
    /// #     });
    /// #     format!("http://{addr}/")
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let url = serve("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nx-amz-request-id: R404\r\nConnection: close\r\n\r\nno bucket");
    /// use gureum_core::http::{ErrorDetails, HttpClient, ProviderErrors, RequestOptions};
    /// use gureum_core::ErrorKind;
    /// use std::sync::Arc;
    /// /// A cloud whose 404 means "bucket gone for good".
    /// #[derive(Debug)]
    /// struct Gone;
    /// impl ProviderErrors for Gone {
    ///     fn parse(&self, _: u16, _: &http::HeaderMap, _: &[u8]) -> ErrorDetails {
    ///         ErrorDetails { code: Some("BucketGone".into()), ..ErrorDetails::default() }
    ///     }
    /// }
    /// let client = HttpClient::builder("demo").errors(Arc::new(Gone)).build()?;
    /// let req = client.http().get(&url).build().unwrap();
    /// let e = client.send(req, &RequestOptions::new("GET bucket")).await.unwrap_err();
    /// assert_eq!((e.kind(), e.provider_code()), (ErrorKind::NotFound, Some("BucketGone")));
    /// # Ok(()) }
    /// ```
    pub fn errors(mut self, errors: Arc<dyn ProviderErrors>) -> Self {
        self.errors = errors;
        self
    }
    /// Build the client.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::{http::{HttpClient, HttpConfig}, tls::TlsConfig, ErrorKind};
    /// assert!(HttpClient::builder("demo").build().is_ok());
    /// // An unreadable CA bundle fails at build time, before any traffic.
    /// let tls = TlsConfig::default().with_ca_file("/nonexistent/ca.pem");
    /// let e = HttpClient::builder("demo").config(HttpConfig::default().tls(tls)).build().unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    /// # Ok(()) }
    /// ```
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
    if e.is_timeout() || chain_timed_out(e) {
        ErrorKind::Timeout
    } else if e.is_builder() {
        ErrorKind::InvalidArgument
    } else {
        ErrorKind::Unavailable
    }
}

/// Whether a source of `e` is a timeout (the idle read timeout surfaces inside hyper's error,
/// where `reqwest::Error::is_timeout` does not always look).
fn chain_timed_out(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = e.source();
    let mut n = 0;
    while let Some(c) = cur {
        if c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
            || c.to_string().contains("timed out")
        {
            return true;
        }
        n += 1;
        if n > 16 {
            return false;
        }
        cur = c.source();
    }
    false
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
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let client = gureum_core::http::HttpClient::builder("ec2").build()?;
    /// assert_eq!(client.service(), "ec2");
    /// assert_eq!(client.config().retry.max_retries, 3); // the default policy
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// let client = gureum_core::http::HttpClient::builder("demo").build()?;
    /// let req = client.http().get("https://api.example.com/v1/things").build().unwrap();
    /// assert_eq!(req.url().path(), "/v1/things");
    /// # Ok(()) }
    /// ```
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }
    /// The policy.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::http::{HttpClient, HttpConfig};
    /// let client = HttpClient::builder("demo").config(HttpConfig::default().max_response_bytes(1 << 20)).build()?;
    /// assert_eq!(client.config().max_response_bytes, 1 << 20);
    /// # Ok(()) }
    /// ```
    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }
    /// The service name.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// assert_eq!(gureum_core::http::HttpClient::builder("swift").build()?.service(), "swift");
    /// # Ok(()) }
    /// ```
    pub fn service(&self) -> &str {
        &self.inner.service
    }
    /// The error hook.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::http::{classify, HttpClient};
    /// let client = HttpClient::builder("demo").build()?;
    /// assert_eq!(classify(client.errors(), 429, None), gureum_core::ErrorKind::RateLimited);
    /// # Ok(()) }
    /// ```
    pub fn errors(&self) -> &dyn ProviderErrors {
        self.inner.errors.as_ref()
    }
    /// A request builder on the underlying client.
    ///
    /// ```
    /// # fn main() -> gureum_core::Result<()> {
    /// use gureum_core::http::HttpClient;
    /// let client = HttpClient::builder("demo").build()?;
    /// let url = url::Url::parse("https://api.example.com/v1/things/7").unwrap();
    /// let req = client.request(http::Method::DELETE, url).build().unwrap();
    /// assert_eq!(req.method(), http::Method::DELETE);
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// # fn serve(reply: &'static str) -> String {
    /// #     use std::io::{Read, Write};
    /// #     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// #     let addr = l.local_addr().unwrap();
    /// #     std::thread::spawn(move || {
    /// #         let (mut s, _) = l.accept().unwrap();
    /// #         let mut buf = [0u8; 8192];
    /// #         let _ = s.read(&mut buf);
    /// #         s.write_all(reply.as_bytes()).unwrap();
    /// #     });
    /// #     format!("http://{addr}/")
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let url = serve("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nx-request-id: r-1\r\nConnection: close\r\n\r\nhello");
    /// use gureum_core::http::{HttpClient, RequestOptions};
    /// let client = HttpClient::builder("demo").build()?;
    /// let req = client.http().get(&url).build().unwrap();
    /// let resp = client.send(req, &RequestOptions::new("GET /").idempotent(true)).await?;
    /// // The body is not read yet: stream it or read it bounded.
    /// assert_eq!(&client.bytes(resp, "GET /").await?[..], b"hello");
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// # fn serve(reply: &'static str) -> String {
    /// #     use std::io::{Read, Write};
    /// #     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// #     let addr = l.local_addr().unwrap();
    /// #     std::thread::spawn(move || {
    /// #         let (mut s, _) = l.accept().unwrap();
    /// #         let mut buf = [0u8; 8192];
    /// #         let _ = s.read(&mut buf);
    /// #         s.write_all(reply.as_bytes()).unwrap();
    /// #     });
    /// #     format!("http://{addr}/")
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let url = serve("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nx-request-id: r-1\r\nConnection: close\r\n\r\nhello");
    /// use gureum_core::http::{Authorizer, HttpClient, RequestOptions};
    /// #[derive(Debug)]
    /// struct Session;
    /// #[gureum_core::async_trait]
    /// impl Authorizer for Session {
    ///     async fn authorize(&self, req: &mut reqwest::Request) -> gureum_core::Result<()> {
    ///         req.headers_mut().insert("x-auth-token", http::HeaderValue::from_static("t-1"));
    ///         Ok(())
    ///     }
    /// }
    /// // The client has no auth hook of its own; the caller's session signs this request.
    /// let client = HttpClient::builder("swift").build()?;
    /// let req = client.http().get(&url).build().unwrap();
    /// let resp = client.send_with_auth(req, &RequestOptions::new("GET /"), &Session).await?;
    /// assert_eq!(resp.status().as_u16(), 200);
    /// # Ok(()) }
    /// ```
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
            let attempt_timeout = cfg.request_timeout.min(remaining);
            // A streamed body is bounded by the client's idle read timeout, not by a total.
            *r.timeout_mut() = if opts.streaming {
                None
            } else {
                Some(attempt_timeout)
            };
            if let Some(a) = auth {
                a.authorize(&mut r).await?;
            }
            let sent_headers = if auth.is_some() {
                Some(r.headers().clone())
            } else {
                None
            };
            let may_retry = cloneable && retries < cfg.retry.max_retries;
            let sent = if opts.streaming {
                match tokio::time::timeout(attempt_timeout, inner.http.execute(r)).await {
                    Ok(r) => r.map_err(Sent::Transport),
                    Err(_) => Err(Sent::HeadersTimeout),
                }
            } else {
                inner.http.execute(r).await.map_err(Sent::Transport)
            };
            let (err, wait) = match sent {
                Err(Sent::HeadersTimeout) => {
                    let err = Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "{service} {op}: no response headers from {shown_url} within {attempt_timeout:?}"
                        ),
                    );
                    if !(may_retry && opts.idempotent) {
                        return Err(err);
                    }
                    (err, None)
                }
                Err(Sent::Transport(e)) => {
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
    ///
    /// ```
    /// # fn serve(reply: &'static str) -> String {
    /// #     use std::io::{Read, Write};
    /// #     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// #     let addr = l.local_addr().unwrap();
    /// #     std::thread::spawn(move || {
    /// #         let (mut s, _) = l.accept().unwrap();
    /// #         let mut buf = [0u8; 8192];
    /// #         let _ = s.read(&mut buf);
    /// #         s.write_all(reply.as_bytes()).unwrap();
    /// #     });
    /// #     format!("http://{addr}/")
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let url = serve("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nx-request-id: r-1\r\nConnection: close\r\n\r\nhello");
    /// use gureum_core::http::{HttpClient, RequestOptions};
    /// let client = HttpClient::builder("demo").build()?;
    /// let req = client.http().get(&url).build().unwrap();
    /// let resp = client.send_bytes(req, &RequestOptions::new("GET /").idempotent(true)).await?;
    /// assert_eq!(resp.text(), "hello");
    /// # Ok(()) }
    /// ```
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
    ///
    /// ```
    /// # fn serve(reply: &'static str) -> String {
    /// #     use std::io::{Read, Write};
    /// #     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// #     let addr = l.local_addr().unwrap();
    /// #     std::thread::spawn(move || {
    /// #         let (mut s, _) = l.accept().unwrap();
    /// #         let mut buf = [0u8; 8192];
    /// #         let _ = s.read(&mut buf);
    /// #         s.write_all(reply.as_bytes()).unwrap();
    /// #     });
    /// #     format!("http://{addr}/")
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let url = serve("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nx-request-id: r-1\r\nConnection: close\r\n\r\nhello");
    /// use gureum_core::http::{HttpClient, HttpConfig, RequestOptions};
    /// use gureum_core::ErrorKind;
    /// // A 5-byte body against a 4-byte bound.
    /// let client = HttpClient::builder("demo").config(HttpConfig::default().max_response_bytes(4)).build()?;
    /// let req = client.http().get(&url).build().unwrap();
    /// let resp = client.send(req, &RequestOptions::new("GET /")).await?;
    /// let e = client.bytes(resp, "GET /").await.unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::Unavailable);
    /// # Ok(()) }
    /// ```
    pub async fn bytes(&self, resp: reqwest::Response, operation: &str) -> Result<Bytes> {
        let limit = self.inner.config.max_response_bytes;
        self.read_limited(resp, operation, limit).await
    }

    /// The portable error for a non-success response (reads its body, bounded). For
    /// responses handed back through [`RequestOptions::accept`].
    ///
    /// ```
    /// # fn serve(reply: &'static str) -> String {
    /// #     use std::io::{Read, Write};
    /// #     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// #     let addr = l.local_addr().unwrap();
    /// #     std::thread::spawn(move || {
    /// #         let (mut s, _) = l.accept().unwrap();
    /// #         let mut buf = [0u8; 8192];
    /// #         let _ = s.read(&mut buf);
    /// #         s.write_all(reply.as_bytes()).unwrap();
    /// #     });
    /// #     format!("http://{addr}/")
    /// # }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
    /// let url = serve("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nx-amz-request-id: R404\r\nConnection: close\r\n\r\nno bucket");
    /// use gureum_core::http::{HttpClient, RequestOptions};
    /// let client = HttpClient::builder("demo").build()?;
    /// let req = client.http().get(&url).build().unwrap();
    /// let resp = client.send(req, &RequestOptions::new("GET b").accept(404)).await?;
    /// let e = client.error_from(resp, "GET b").await;
    /// assert_eq!(e.kind(), gureum_core::ErrorKind::NotFound);
    /// assert_eq!(e.request_id(), Some("R404"));
    /// assert_eq!(e.message(), "GET b: HTTP 404: no bucket");
    /// # Ok(()) }
    /// ```
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
///
/// ```
/// # fn serve(reply: &'static str) -> String {
/// #     use std::io::{Read, Write};
/// #     let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
/// #     let addr = l.local_addr().unwrap();
/// #     std::thread::spawn(move || {
/// #         let (mut s, _) = l.accept().unwrap();
/// #         let mut buf = [0u8; 8192];
/// #         let _ = s.read(&mut buf);
/// #         s.write_all(reply.as_bytes()).unwrap();
/// #     });
/// #     format!("http://{addr}/")
/// # }
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// let url = serve("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nx-amz-request-id: R404\r\nConnection: close\r\n\r\nno bucket");
/// use gureum_core::http::{error_from_response, DefaultErrors};
/// let resp = reqwest::get(&url).await.unwrap(); // a response from any reqwest call
/// let e = error_from_response(&DefaultErrors, resp, "GET b").await;
/// assert_eq!(e.kind(), gureum_core::ErrorKind::NotFound);
/// # Ok(()) }
/// ```
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

/// Why an attempt produced no response.
enum Sent {
    /// The transport failed.
    Transport(reqwest::Error),
    /// A streamed request's headers did not arrive within the attempt's timeout.
    HeadersTimeout,
}
