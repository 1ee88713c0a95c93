//! Authenticated request sending shared by the Swift and Nova clients, on the shared HTTP
//! layer ([`gureum_core::http`]): the session's Keystone token is the auth hook (a 401
//! drops it and repeats once), and the layer retries 429 (`Retry-After` honoured), Swift's
//! 498 and 5xx for requests the caller marks safe to repeat.

use crate::auth::{Session, Token};
use gureum_core::http::{
    build_error, classify, excerpt, request_id_from_headers, Authorizer, ErrorDetails,
    ProviderErrors, RequestOptions,
};
use gureum_core::{Error, ErrorKind, Result};
use std::sync::{Arc, Mutex};

/// The OpenStack error hook: message from Nova (`{"itemNotFound": {"message": ..}}`) and
/// Keystone (`{"error": {"message": ..}}`) JSON or a body excerpt, request id from
/// `X-Openstack-Request-Id` / `X-Compute-Request-Id` / `X-Trans-Id`. OpenStack has no error
/// codes: the status is kept as the provider code. Swift's rate limiter answers 498, which
/// is `RateLimited` here.
///
/// # Examples
///
/// Every call of the Swift and Nova clients goes through [`send`]; here against a scripted
/// loopback server that plays Swift tempauth, then answers each request in turn:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{http::ProviderErrors, ErrorKind};
/// use gureum_openstack::auth::{AuthOptions, Credential, Session};
/// use gureum_openstack::client::{check, decode_json, http_error, kind_for_status, read_json, send, send_streaming, OpenStackErrors};
/// let (base, seen) = gureum_testkit::scripted::serve(|n, base| match n {
///     0 => (200, format!("x-storage-url: {base}/v1/AUTH_test\r\nx-auth-token: AUTH_tk1\r\n"), String::new()),
///     1 => (200, "content-type: application/json\r\n".into(), r#"{"count": 2}"#.into()),
///     _ => (404, "x-openstack-request-id: req-9\r\n".into(),
///           r#"{"itemNotFound": {"message": "Instance x could not be found.", "code": 404}}"#.into()),
/// })
/// .await;
/// let auth = url::Url::parse(&format!("{base}/auth/v1.0")).unwrap();
/// let key = "testing".to_string().into();
/// let session = Session::new(AuthOptions::new(auth, Credential::TempAuth { user: "test:tester".into(), key }))?;
/// let u = url::Url::parse(&format!("{base}/v1/AUTH_test?format=json")).unwrap();
/// // (a download: the body is read after the attempt timeout, bounded by the idle timeout)
/// let r = send_streaming(&session, "swift", "GET account", |c| c.get(u.clone())).await?;
/// let r = check(r, "swift", "GET account").await?;
/// let v: serde_json::Value = read_json(&session, r, "swift", "GET account").await?;
/// assert_eq!(v["count"], 2);
/// assert!(seen.lock().unwrap()[1].contains("x-auth-token: AUTH_tk1")); // the session's token
/// let r = send(&session, "nova", "GET server x", true, |c| c.get(u.clone())).await?;
/// assert_eq!(r.status(), 404); // `send` hands back any status
/// let e = http_error(r, "nova", "GET server x").await;
/// assert_eq!((e.kind(), e.provider_code(), e.request_id()), (ErrorKind::NotFound, Some("404"), Some("req-9")));
/// assert!(e.to_string().contains("could not be found"));
/// let e = decode_json::<serde_json::Value>(b"<html>", "nova", "GET servers").unwrap_err();
/// assert_eq!(e.kind(), ErrorKind::Unavailable); // a malformed answer
/// assert_eq!(kind_for_status(498), ErrorKind::RateLimited); // Swift's rate limiter
/// let body = br#"{"forbidden": {"message": "Quota exceeded for instances: Requested 1, but already used 10"}}"#;
/// let d = OpenStackErrors.parse(403, &http::HeaderMap::new(), body);
/// assert_eq!(OpenStackErrors.build("nova POST server", 403, &d).kind(), ErrorKind::QuotaExceeded);
/// # Ok(()) }
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct OpenStackErrors;

/// The code this crate gives Nova's quota refusals (OpenStack itself sends none).
const QUOTA_CODE: &str = "QuotaExceeded";

impl ProviderErrors for OpenStackErrors {
    fn parse(&self, status: u16, headers: &http::HeaderMap, body: &[u8]) -> ErrorDetails {
        let message = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| {
                v.as_object().and_then(|o| {
                    o.values()
                        .find_map(|x| x["message"].as_str().map(str::to_string))
                })
            })
            .or_else(|| excerpt(body));
        // Nova answers an exhausted quota with 403 (413 before microversion 2.1):
        // "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances".
        let quota = matches!(status, 403 | 413)
            && message
                .as_deref()
                .is_some_and(|m| m.to_ascii_lowercase().contains("quota exceeded"));
        ErrorDetails {
            code: quota.then(|| QUOTA_CODE.to_string()),
            message,
            request_id: request_id_from_headers(headers),
        }
    }

    fn code_kind(&self, code: &str) -> Option<ErrorKind> {
        (code == QUOTA_CODE).then_some(ErrorKind::QuotaExceeded)
    }

    fn status_kind(&self, status: u16) -> Option<ErrorKind> {
        (status == 498).then_some(ErrorKind::RateLimited)
    }

    fn build(&self, operation: &str, status: u16, details: &ErrorDetails) -> Error {
        build_error(self, operation, status, details).with_provider_code(status.to_string())
    }
}

/// The portable kind of an OpenStack HTTP status (the shared table plus 498).
///
/// Example: see [`OpenStackErrors`].
pub fn kind_for_status(status: u16) -> ErrorKind {
    classify(&OpenStackErrors, status, None)
}

/// The Keystone token hook for one request: the session's current token on every attempt;
/// after a 401 the token that was used is dropped so the repeat re-authenticates.
#[derive(Debug)]
struct TokenAuth<'a> {
    session: &'a Session,
    used: Mutex<Option<Arc<Token>>>,
}

#[async_trait::async_trait]
impl Authorizer for TokenAuth<'_> {
    async fn authorize(&self, req: &mut reqwest::Request) -> Result<()> {
        let token = self.session.token().await?;
        let mut v = token.header_value()?;
        v.set_sensitive(true);
        req.headers_mut().insert("x-auth-token", v);
        *self.used.lock().expect("token slot") = Some(token);
        Ok(())
    }

    async fn refresh(&self, _sent: &http::HeaderMap) -> Result<bool> {
        let used = self.used.lock().expect("token slot").take();
        match used {
            Some(t) => {
                tracing::debug!("401: re-authenticating once");
                self.session.invalidate(&t).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// Send a request built by `build` with the session's token. The response comes back
/// whatever its status (check it with [`check`] / [`http_error`]).
///
/// `retry_transient` must be false for requests that are not safe to repeat.
///
/// Example: see [`OpenStackErrors`].
pub async fn send<F>(
    session: &Session,
    service: &'static str,
    op: &str,
    retry_transient: bool,
    build: F,
) -> Result<reqwest::Response>
where
    F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
{
    send_opts(session, service, op, retry_transient, false, build).await
}

/// [`send`] for a response whose body the caller streams (an object download): the attempt
/// timeout bounds the headers, the body only the idle read timeout
/// ([`RequestOptions::streaming`]).
///
/// Example: see [`OpenStackErrors`].
pub async fn send_streaming<F>(
    session: &Session,
    service: &'static str,
    op: &str,
    build: F,
) -> Result<reqwest::Response>
where
    F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
{
    send_opts(session, service, op, true, true, build).await
}

async fn send_opts<F>(
    session: &Session,
    service: &'static str,
    op: &str,
    retry_transient: bool,
    streaming: bool,
    build: F,
) -> Result<reqwest::Response>
where
    F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
{
    let client = session.client();
    let req = build(client.http()).build().map_err(|e| {
        Error::invalid(format!(
            "{service} {op}: invalid request: {}",
            e.without_url()
        ))
    })?;
    let opts = RequestOptions::new(format!("{service} {op}"))
        .idempotent(retry_transient)
        .raw_status(true)
        .streaming(streaming);
    let auth = TokenAuth {
        session,
        used: Mutex::new(None),
    };
    client.send_with_auth(req, &opts, &auth).await
}

/// Turn a non-success response into an error (consuming it), or pass it through.
///
/// Example: see [`OpenStackErrors`].
pub async fn check(
    r: reqwest::Response,
    service: &'static str,
    op: &str,
) -> Result<reqwest::Response> {
    let status = r.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(r);
    }
    Err(http_error(r, service, op).await)
}

/// Read a success body as JSON, bounded by the session's `max_response_bytes` (an endless
/// or oversized body is `Unavailable`, not read to the end); a body that is not the expected
/// JSON is a malformed answer (`Unavailable`, [`OsError::Decode`](crate::error::OsError)).
///
/// Example: see [`OpenStackErrors`].
pub async fn read_json<T: serde::de::DeserializeOwned>(
    session: &Session,
    r: reqwest::Response,
    service: &'static str,
    op: &str,
) -> Result<T> {
    let operation = format!("{service} {op}");
    let body = session.client().bytes(r, &operation).await?;
    decode_json(&body, service, op)
}

/// Parse `body` as JSON of type `T`; failure is a malformed answer (`Unavailable`).
///
/// Example: see [`OpenStackErrors`].
pub fn decode_json<T: serde::de::DeserializeOwned>(
    body: &[u8],
    service: &'static str,
    op: &str,
) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        crate::error::OsError::Decode {
            service,
            op: op.to_string(),
            message: e.to_string(),
        }
        .into()
    })
}

/// The error for a non-success response (its body read once, bounded).
///
/// Example: see [`OpenStackErrors`].
pub async fn http_error(r: reqwest::Response, service: &'static str, op: &str) -> Error {
    let operation = format!("{service} {op}");
    gureum_core::http::error_from_response(&OpenStackErrors, r, &operation).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table_is_the_shared_one_plus_498() {
        assert_eq!(kind_for_status(409), ErrorKind::AlreadyExists);
        assert_eq!(kind_for_status(429), ErrorKind::RateLimited);
        assert_eq!(kind_for_status(498), ErrorKind::RateLimited);
        assert_eq!(kind_for_status(404), ErrorKind::NotFound);
        assert_eq!(kind_for_status(503), ErrorKind::Unavailable);
        let mut h = http::HeaderMap::new();
        h.insert("x-openstack-request-id", "req-1".parse().unwrap());
        let d = OpenStackErrors.parse(
            404,
            &h,
            br#"{"itemNotFound": {"message": "Instance x could not be found.", "code": 404}}"#,
        );
        let e = OpenStackErrors.build("nova GET server x", 404, &d);
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.provider_code(), Some("404"));
        assert_eq!(e.request_id(), Some("req-1"));
        assert_eq!(
            e.message(),
            "nova GET server x: HTTP 404: Instance x could not be found."
        );
    }

    #[test]
    fn nova_quota_refusal_is_quota_exceeded_other_403_is_denied() {
        let h = http::HeaderMap::new();
        let body = br#"{"forbidden": {"code": 403, "message": "Quota exceeded for instances: Requested 1, but already used 10 of 10 instances"}}"#;
        for status in [403, 413] {
            let d = OpenStackErrors.parse(status, &h, body);
            let e = OpenStackErrors.build("nova POST servers", status, &d);
            assert_eq!(e.kind(), ErrorKind::QuotaExceeded, "{status}");
            assert!(!e.is_retryable());
            assert_eq!(e.provider_code(), Some(status.to_string().as_str()));
        }
        let d = OpenStackErrors.parse(
            403,
            &h,
            br#"{"forbidden": {"code": 403, "message": "Policy doesn't allow os_compute_api:servers:create to be performed."}}"#,
        );
        let e = OpenStackErrors.build("nova POST servers", 403, &d);
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    }
}
