//! A small signed REST client for the Storage calls `object_store` does not make
//! (containers, queues).

use crate::auth::Credential;
use crate::error::{azure_error, parse_storage_error_body};
use bytes::Bytes;
use gureum_core::{Error, ErrorKind, Result};
use http::{HeaderMap, HeaderValue, Method};
use std::time::Duration;

/// A signed Storage REST client for one account.
#[derive(Debug, Clone)]
pub struct StorageRest {
    http: reqwest::Client,
    account: String,
    credential: Credential,
}

/// A successful response.
#[derive(Debug)]
pub struct RestResponse {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl RestResponse {
    /// A header as a string.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .trim_start_matches('\u{feff}')
            .to_string()
    }
}

pub(crate) fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .pool_idle_timeout(Duration::from_secs(4)) // below Node's 5 s keep-alive (Azurite)
        .build()
        .map_err(|e| Error::other("building the HTTP client").with_source(e))
}

impl StorageRest {
    /// A client for `account` authorizing with `credential`.
    pub fn new(account: impl Into<String>, credential: Credential) -> Result<Self> {
        Ok(StorageRest {
            http: http_client()?,
            account: account.into(),
            credential,
        })
    }

    /// The credential.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// Send a signed request; non-2xx responses become portable errors (`what` names the
    /// operation and resource for the message).
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
        // A pooled keep-alive connection the server closed meanwhile fails before any
        // response; retry such a send once on a fresh connection (re-signed).
        let mut attempt = 0;
        let resp = loop {
            attempt += 1;
            let (mut u, mut h) = (url.clone(), headers.clone());
            self.credential
                .authorize(&self.account, &method, &mut u, &mut h)
                .await?;
            match self
                .http
                .request(method.clone(), u)
                .headers(h)
                .body(body.clone())
                .send()
                .await
            {
                Ok(r) => break r,
                Err(e) if attempt < 2 && !e.is_timeout() && (e.is_request() || e.is_connect()) => {
                    tracing::debug!(what, "request failed before a response; retrying once");
                    continue;
                }
                Err(e) => return Err(transport_error(what, e)),
            }
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| transport_error(what, e))?;
        if (200..300).contains(&status) {
            return Ok(RestResponse {
                status,
                headers,
                body,
            });
        }
        let text = String::from_utf8_lossy(&body);
        let (mut code, message) = parse_storage_error_body(&text);
        if let Some(h) = headers.get("x-ms-error-code").and_then(|v| v.to_str().ok()) {
            code = Some(h.to_string());
        }
        let rid = headers.get("x-ms-request-id").and_then(|v| v.to_str().ok());
        Err(azure_error(
            what,
            status,
            code.as_deref(),
            message.as_deref(),
            rid,
        ))
    }
}

pub(crate) fn transport_error(what: &str, e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Unavailable
    };
    // reqwest's Display includes the URL, which can carry a SAS signature: strip it.
    let e = e.without_url();
    Error::new(kind, format!("{what}: {e}")).with_source(e)
}
