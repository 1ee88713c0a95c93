//! A small signed REST client for the Storage calls `object_store` does not make
//! (containers, queues), on the shared [`gureum_core::http`] layer: the layer retries,
//! times out and bounds; this module plugs in the Storage authorization
//! ([`StorageAuth`]) and error reading ([`AzureErrors`](crate::error::AzureErrors)).

use crate::auth::Credential;
use crate::error::AzureErrors;
use bytes::Bytes;
use gureum_core::http::{Authorizer, HttpClient, HttpConfig, RequestOptions};
use gureum_core::{Error, Result};
use http::{HeaderMap, HeaderValue, Method};
use std::sync::Arc;

pub use gureum_core::http::HttpResponse as RestResponse;

/// The Storage auth hook: Shared Key signature, SAS query, Entra ID bearer token or
/// nothing, computed afresh for every attempt (Shared Key signs `x-ms-date`).
///
/// Example: see [`StorageRest`].
#[derive(Debug, Clone)]
pub struct StorageAuth {
    account: String,
    credential: Credential,
}

#[async_trait::async_trait]
impl Authorizer for StorageAuth {
    async fn authorize(&self, req: &mut reqwest::Request) -> Result<()> {
        let method = req.method().clone();
        let mut url = req.url().clone();
        let mut headers = std::mem::take(req.headers_mut());
        let r = self
            .credential
            .authorize(&self.account, &method, &mut url, &mut headers)
            .await;
        *req.headers_mut() = headers;
        *req.url_mut() = url;
        r
    }
}

/// A signed Storage REST client for one account.
///
/// # Examples
///
/// Against a scripted loopback server: a failed `GET` is retried, the request is signed
/// (through [`StorageAuth`]) and an error answer becomes a portable error:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_azure::{auth::{AccountKey, Credential}, rest::StorageRest};
/// use gureum_core::ErrorKind;
/// let (base, seen) = gureum_testkit::scripted::serve(|n, _| match n {
///     0 => (503, "retry-after: 0\r\n".into(), String::new()),
///     1 => (200, "x-ms-request-id: r1\r\n".into(), "ok".into()),
///     _ => (404, String::new(), "<Error><Code>ContainerNotFound</Code><Message>no</Message></Error>".into()),
/// })
/// .await;
/// let rest = StorageRest::new("acct", Credential::SharedKey(AccountKey::from_base64("c2VjcmV0")?))?;
/// assert_eq!(rest.credential().kind(), "shared-key");
/// let _http: &gureum_core::http::HttpClient = rest.client();
/// let url = url::Url::parse(&format!("{base}/acct/c?restype=container")).unwrap();
/// let r = rest.send("get container c", http::Method::GET, url.clone(), http::HeaderMap::new(), None).await?;
/// assert_eq!((r.status, r.header("x-ms-request-id")), (200, Some("r1")));
/// assert_eq!(seen.lock().unwrap().len(), 2); // the 503 was retried
/// assert!(seen.lock().unwrap()[1].contains("authorization: SharedKey acct:")); // by StorageAuth
/// let e = rest.send("get container c", http::Method::GET, url, http::HeaderMap::new(), None).await.unwrap_err();
/// assert_eq!((e.kind(), e.provider_code()), (ErrorKind::NotFound, Some("ContainerNotFound")));
/// // An explicit HTTP policy:
/// use gureum_core::http::HttpConfig;
/// let cfg = HttpConfig { request_timeout: std::time::Duration::from_secs(5), ..HttpConfig::default() };
/// let anonymous = StorageRest::with_config("acct", Credential::Anonymous, cfg)?;
/// assert_eq!(anonymous.credential().kind(), "anonymous");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct StorageRest {
    http: HttpClient,
    credential: Credential,
}

/// Whether a Storage request may be repeated: everything but `POST` (Put Message).
fn idempotent(method: &Method) -> bool {
    method != Method::POST
}

impl StorageRest {
    /// A client for `account` authorizing with `credential`, default [`HttpConfig`].
    ///
    /// Example: see [`StorageRest`].
    pub fn new(account: impl Into<String>, credential: Credential) -> Result<Self> {
        Self::with_config(account, credential, HttpConfig::default())
    }

    /// A client with an explicit HTTP policy (timeouts, deadline, retries).
    ///
    /// Example: see [`StorageRest`].
    pub fn with_config(
        account: impl Into<String>,
        credential: Credential,
        config: HttpConfig,
    ) -> Result<Self> {
        let auth = StorageAuth {
            account: account.into(),
            credential: credential.clone(),
        };
        let http = HttpClient::builder("azure-storage")
            .config(config)
            .auth(Arc::new(auth))
            .errors(Arc::new(AzureErrors))
            .build()?;
        Ok(StorageRest { http, credential })
    }

    /// The credential.
    ///
    /// Example: see [`StorageRest`].
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// The shared HTTP client.
    ///
    /// Example: see [`StorageRest`].
    pub fn client(&self) -> &HttpClient {
        &self.http
    }

    /// Send a signed request; non-2xx responses become portable errors (`what` names the
    /// operation and resource for the message). `POST` is sent once; other methods are
    /// retried on throttling (429, 503 `ServerBusy`), 5xx and transport failures.
    ///
    /// Example: see [`StorageRest`].
    pub async fn send(
        &self,
        what: &str,
        method: Method,
        url: url::Url,
        mut headers: HeaderMap,
        body: Option<Bytes>,
    ) -> Result<RestResponse> {
        let body = body.unwrap_or_default();
        headers.insert(
            http::header::CONTENT_LENGTH,
            HeaderValue::from(body.len() as u64),
        );
        if !body.is_empty() && !headers.contains_key(http::header::CONTENT_TYPE) {
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/xml"),
            );
        }
        let opts = RequestOptions::new(what).idempotent(idempotent(&method));
        let req = self
            .http
            .request(method, url)
            .headers(headers)
            .body(body)
            .build()
            .map_err(|e| Error::invalid(format!("{what}: invalid request: {}", e.without_url())))?;
        self.http.send_bytes(req, &opts).await
    }
}
