//! Mapping of OpenStack HTTP failures to [`gureum_core::Error`] kinds, and of those to
//! `object_store::Error` for the [`ObjectStore`](object_store::ObjectStore) implementation.

use gureum_core::{Error, ErrorKind};

/// A typed OpenStack API failure, before it becomes a portable [`Error`].
///
/// # Examples
///
/// ```
/// use gureum_core::{Error, ErrorKind};
/// use gureum_openstack::error::{excerpt, request_id, OsError};
/// let detail = excerpt("<html>\n<h1>Not Found</h1>\n</html>");
/// assert_eq!(detail.as_deref(), Some("<html><h1>Not Found</h1></html>")); // one line
/// assert_eq!(excerpt(" \n "), None);
/// let mut h = reqwest::header::HeaderMap::new();
/// h.insert("x-trans-id", "tx42".parse().unwrap());
/// let e: Error = OsError::Http { service: "swift", op: "GET object a".into(), status: 404, detail, request_id: request_id(&h) }.into();
/// assert_eq!((e.kind(), e.provider_code(), e.request_id()), (ErrorKind::NotFound, Some("404"), Some("tx42")));
/// let d: Error = OsError::Decode { service: "nova", op: "GET servers".into(), message: "expected JSON".into() }.into();
/// assert_eq!(d.kind(), ErrorKind::Unavailable);
/// ```
#[derive(Debug, thiserror::Error)]
pub enum OsError {
    /// The service answered with a non-success HTTP status.
    #[error("{service} {op}: HTTP {status}{}", detail_suffix(.detail))]
    Http {
        /// Service name (`swift`, `nova`, `keystone`, ...).
        service: &'static str,
        /// Operation (`GET object a/b`).
        op: String,
        /// HTTP status code.
        status: u16,
        /// A short, secret-free excerpt of the error body.
        detail: Option<String>,
        /// The provider request id (`X-Openstack-Request-Id`, `X-Trans-Id`).
        request_id: Option<String>,
    },
    /// The request did not reach the service or the response was cut off.
    #[error("{service} {op}: transport error: {source}")]
    Transport {
        /// Service name.
        service: &'static str,
        /// Operation.
        op: String,
        /// The HTTP client error (its Display carries no headers, hence no tokens).
        #[source]
        source: reqwest::Error,
    },
    /// The response could not be decoded (kind `Unavailable`).
    #[error("{service} {op}: malformed response: {message}")]
    Decode {
        /// Service name.
        service: &'static str,
        /// Operation.
        op: String,
        /// What was wrong.
        message: String,
    },
}

fn detail_suffix(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}

pub use crate::client::kind_for_status;

impl From<OsError> for Error {
    fn from(e: OsError) -> Self {
        let message = e.to_string();
        match e {
            OsError::Http {
                status, request_id, ..
            } => {
                let mut err = Error::new(kind_for_status(status), message)
                    .with_provider_code(status.to_string());
                if let Some(r) = request_id {
                    err = err.with_request_id(r);
                }
                err
            }
            OsError::Transport { source, .. } => {
                let kind = if source.is_timeout() {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Unavailable
                };
                Error::new(kind, message).with_source(source)
            }
            // An answer that cannot be understood (garbled, cut off, wrong types, missing
            // fields) is `Unavailable`, as in the other drivers: the call may work later or
            // through another proxy, and nothing was taken from it.
            OsError::Decode { .. } => Error::new(ErrorKind::Unavailable, message),
        }
    }
}

/// Keep a short, single-line excerpt of an error body (OpenStack error bodies carry no secrets,
/// but they can be long HTML pages).
///
/// Example: see [`OsError`].
pub fn excerpt(body: &str) -> Option<String> {
    let t: String = body.chars().filter(|c| !c.is_control()).take(240).collect();
    let t = t.trim().to_string();
    if t.is_empty() {
        None
    } else {
        Some(t)
    }
}

/// The request id of a response, if the service sent one.
///
/// Example: see [`OsError`].
pub fn request_id(h: &reqwest::header::HeaderMap) -> Option<String> {
    for n in [
        "x-openstack-request-id",
        "x-compute-request-id",
        "x-trans-id",
    ] {
        if let Some(v) = h.get(n).and_then(|v| v.to_str().ok()) {
            return Some(v.to_string());
        }
    }
    None
}
