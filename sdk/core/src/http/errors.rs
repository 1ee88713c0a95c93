//! The one HTTP status / provider code → [`ErrorKind`] table, and the hook a provider
//! implements to read its error bodies ([`ProviderErrors`]).

use crate::error::{Error, ErrorKind};
use http::HeaderMap;

/// The portable kind of an HTTP status: the one status table of gureum.
///
/// | status | kind |
/// |---|---|
/// | 400, 411, 413, 414, 416, 422 | `InvalidArgument` |
/// | 401 | `Unauthenticated` |
/// | 403 | `PermissionDenied` |
/// | 404, 410 | `NotFound` |
/// | 405, 501 | `Unsupported` |
/// | 408, 504 | `Timeout` |
/// | 409 | `AlreadyExists` |
/// | 412 | `PreconditionFailed` |
/// | 429 | `RateLimited` |
/// | 500, 502, 503, other 5xx | `Unavailable` |
/// | anything else | `Other` |
///
/// A provider whose status means something else overrides it with
/// [`ProviderErrors::status_kind`].
///
/// ```
/// use gureum_core::{http::kind_for_status, ErrorKind};
/// assert_eq!(kind_for_status(404), ErrorKind::NotFound);
/// assert_eq!(kind_for_status(503), ErrorKind::Unavailable);
/// assert_eq!(kind_for_status(418), ErrorKind::Other);
/// ```
pub fn kind_for_status(status: u16) -> ErrorKind {
    use ErrorKind as K;
    match status {
        400 | 411 | 413 | 414 | 416 | 422 => K::InvalidArgument,
        401 => K::Unauthenticated,
        403 => K::PermissionDenied,
        404 | 410 => K::NotFound,
        405 | 501 => K::Unsupported,
        408 | 504 => K::Timeout,
        409 => K::AlreadyExists,
        412 => K::PreconditionFailed,
        429 => K::RateLimited,
        500..=599 => K::Unavailable,
        _ => K::Other,
    }
}

/// Provider error codes whose meaning is the same at every provider that uses them
/// (throttling above all: they decide retries). Provider tables add to and override these.
///
/// ```
/// use gureum_core::{http::WELL_KNOWN_CODES, ErrorKind};
/// assert!(WELL_KNOWN_CODES.contains(&("SlowDown", ErrorKind::RateLimited)));
/// ```
pub const WELL_KNOWN_CODES: &[(&str, ErrorKind)] = &[
    // throttling
    ("SlowDown", ErrorKind::RateLimited),
    ("Throttling", ErrorKind::RateLimited),
    ("ThrottlingException", ErrorKind::RateLimited),
    ("ThrottledException", ErrorKind::RateLimited),
    ("RequestLimitExceeded", ErrorKind::RateLimited),
    ("RequestThrottled", ErrorKind::RateLimited),
    ("RequestThrottledException", ErrorKind::RateLimited),
    ("TooManyRequests", ErrorKind::RateLimited),
    ("TooManyRequestsException", ErrorKind::RateLimited),
    ("ServerBusy", ErrorKind::RateLimited),
    ("OperationThrottled", ErrorKind::RateLimited),
    // unavailable
    ("InternalError", ErrorKind::Unavailable),
    ("InternalFailure", ErrorKind::Unavailable),
    ("InternalServerError", ErrorKind::Unavailable),
    ("ServiceUnavailable", ErrorKind::Unavailable),
    ("ServiceUnavailableException", ErrorKind::Unavailable),
    // timeouts
    ("RequestTimeout", ErrorKind::Timeout),
    ("RequestTimeoutException", ErrorKind::Timeout),
    ("OperationTimedOut", ErrorKind::Timeout),
    // authentication / authorization
    ("AccessDenied", ErrorKind::PermissionDenied),
    ("AuthenticationFailed", ErrorKind::Unauthenticated),
    ("ExpiredToken", ErrorKind::Unauthenticated),
    ("InvalidAccessKeyId", ErrorKind::Unauthenticated),
    ("SignatureDoesNotMatch", ErrorKind::Unauthenticated),
    // not found
    ("NotFound", ErrorKind::NotFound),
    ("ResourceNotFound", ErrorKind::NotFound),
    ("ResourceNotFoundException", ErrorKind::NotFound),
    // other
    ("PreconditionFailed", ErrorKind::PreconditionFailed),
    ("NotImplemented", ErrorKind::Unsupported),
    ("InvalidParameter", ErrorKind::InvalidArgument),
    ("InvalidParameterValue", ErrorKind::InvalidArgument),
];

/// The kind of a well-known provider code ([`WELL_KNOWN_CODES`]), `None` if unknown.
///
/// ```
/// use gureum_core::{http::kind_for_well_known_code, ErrorKind};
/// assert_eq!(kind_for_well_known_code("ExpiredToken"), Some(ErrorKind::Unauthenticated));
/// assert_eq!(kind_for_well_known_code("NoSuchThing"), None);
/// ```
pub fn kind_for_well_known_code(code: &str) -> Option<ErrorKind> {
    WELL_KNOWN_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, k)| *k)
}

/// What a provider's error response said, read once from its headers and body.
///
/// ```
/// use gureum_core::http::{DefaultErrors, ProviderErrors};
/// let mut h = http::HeaderMap::new();
/// h.insert("x-ms-request-id", http::HeaderValue::from_static("ms-1"));
/// let d = DefaultErrors.parse(500, &h, b"Server busy\nretry later");
/// assert_eq!(d.request_id.as_deref(), Some("ms-1"));
/// assert_eq!(d.message.as_deref(), Some("Server busy retry later"));
/// assert_eq!(d.code, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorDetails {
    /// The provider's own error code (`NoSuchKey`, `QueueNotFound`, ...).
    pub code: Option<String>,
    /// The provider's message (first line only ends up in [`Error`] messages).
    pub message: Option<String>,
    /// The provider's request id.
    pub request_id: Option<String>,
}

/// Request-id headers the default [`ProviderErrors::parse`] looks at, in order.
///
/// ```
/// use gureum_core::http::REQUEST_ID_HEADERS;
/// assert_eq!(REQUEST_ID_HEADERS[0], "x-amz-request-id");
/// ```
pub const REQUEST_ID_HEADERS: &[&str] = &[
    "x-amz-request-id",
    "x-amzn-requestid",
    "x-ms-request-id",
    "x-openstack-request-id",
    "x-compute-request-id",
    "x-trans-id",
    "x-ncp-trace-id",
    "x-request-id",
];

/// The first request id among [`REQUEST_ID_HEADERS`].
///
/// ```
/// use gureum_core::http::request_id_from_headers;
/// let mut h = http::HeaderMap::new();
/// h.insert("x-openstack-request-id", http::HeaderValue::from_static("req-5"));
/// assert_eq!(request_id_from_headers(&h).as_deref(), Some("req-5"));
/// assert_eq!(request_id_from_headers(&http::HeaderMap::new()), None);
/// ```
pub fn request_id_from_headers(headers: &HeaderMap) -> Option<String> {
    REQUEST_ID_HEADERS.iter().find_map(|n| {
        headers
            .get(*n)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    })
}

/// A short, single-line excerpt of a body (control characters dropped, at most 240 chars).
///
/// ```
/// use gureum_core::http::excerpt;
/// assert_eq!(excerpt(b"\xef\xbb\xbf<Error>\r\n  <Code>X</Code>").as_deref(), Some("<Error>    <Code>X</Code>"));
/// assert_eq!(excerpt(b"   "), None);
/// assert_eq!(excerpt(&[b'a'; 1000]).unwrap().len(), 240);
/// ```
pub fn excerpt(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let t: String = text
        .trim_start_matches('\u{feff}')
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(240)
        .collect();
    let t = t.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// How a provider reads and classifies its error responses: the error hook of an
/// [`HttpClient`](super::HttpClient). Every method has a default, so a provider overrides
/// only what differs.
///
/// ```
/// use gureum_core::http::{classify, ErrorDetails, ProviderErrors};
/// use gureum_core::ErrorKind;
///
/// #[derive(Debug)]
/// struct MyCloud;
/// impl ProviderErrors for MyCloud {
///     fn parse(&self, _status: u16, headers: &http::HeaderMap, body: &[u8]) -> ErrorDetails {
///         let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
///         ErrorDetails {
///             code: v["code"].as_str().map(str::to_string),
///             message: v["message"].as_str().map(str::to_string),
///             request_id: gureum_core::http::request_id_from_headers(headers),
///         }
///     }
///     fn code_kind(&self, code: &str) -> Option<ErrorKind> {
///         (code == "BucketGone").then_some(ErrorKind::NotFound)
///     }
///     fn status_kind(&self, status: u16) -> Option<ErrorKind> {
///         // here 409 means "busy, try again", not "already exists"
///         (status == 409).then_some(ErrorKind::Unavailable)
///     }
/// }
/// assert_eq!(classify(&MyCloud, 400, Some("BucketGone")), ErrorKind::NotFound);
/// assert_eq!(classify(&MyCloud, 400, Some("SlowDown")), ErrorKind::RateLimited);
/// assert_eq!(classify(&MyCloud, 409, None), ErrorKind::Unavailable);
/// assert_eq!(classify(&gureum_core::http::DefaultErrors, 409, None), ErrorKind::AlreadyExists);
/// ```
pub trait ProviderErrors: Send + Sync + std::fmt::Debug {
    /// Read code, message and request id from an error response. The default takes the
    /// request id from [`REQUEST_ID_HEADERS`] and an [`excerpt`] of the body as message.
    fn parse(&self, status: u16, headers: &HeaderMap, body: &[u8]) -> ErrorDetails {
        let _ = status;
        ErrorDetails {
            code: None,
            message: excerpt(body),
            request_id: request_id_from_headers(headers),
        }
    }

    /// This provider's kind for `code`, overriding [`WELL_KNOWN_CODES`]; `None` to fall
    /// through to them and then to the status.
    fn code_kind(&self, code: &str) -> Option<ErrorKind> {
        let _ = code;
        None
    }

    /// This provider's kind for `status` where it differs from [`kind_for_status`].
    fn status_kind(&self, status: u16) -> Option<ErrorKind> {
        let _ = status;
        None
    }

    /// The portable error for a response. The default message is
    /// `"{operation}: HTTP {status}: {first line of the provider message}"`, with the code
    /// and request id attached.
    fn build(&self, operation: &str, status: u16, details: &ErrorDetails) -> Error {
        build_error(self, operation, status, details)
    }
}

/// The [`ProviderErrors`] of a provider without its own: the default parsing and tables.
///
/// ```
/// use gureum_core::http::{DefaultErrors, ErrorDetails, ProviderErrors};
/// let d = ErrorDetails { code: Some("SlowDown".into()), ..ErrorDetails::default() };
/// let e = DefaultErrors.build("PUT a.json", 503, &d);
/// assert_eq!(e.kind(), gureum_core::ErrorKind::RateLimited); // the code wins over the status
/// assert_eq!(e.message(), "PUT a.json: HTTP 503");
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct DefaultErrors;

impl ProviderErrors for DefaultErrors {}

/// Classify with a provider's overrides: its codes, then [`WELL_KNOWN_CODES`], then its
/// statuses, then [`kind_for_status`].
///
/// ```
/// use gureum_core::{http::{classify, DefaultErrors}, ErrorKind};
/// assert_eq!(classify(&DefaultErrors, 400, Some("AccessDenied")), ErrorKind::PermissionDenied);
/// assert_eq!(classify(&DefaultErrors, 400, Some("")), ErrorKind::InvalidArgument); // empty code: status
/// ```
pub fn classify<P: ProviderErrors + ?Sized>(p: &P, status: u16, code: Option<&str>) -> ErrorKind {
    let code = code.filter(|c| !c.is_empty());
    code.and_then(|c| p.code_kind(c).or_else(|| kind_for_well_known_code(c)))
        .or_else(|| p.status_kind(status))
        .unwrap_or_else(|| kind_for_status(status))
}

/// The standard portable error (see [`ProviderErrors::build`]).
///
/// ```
/// use gureum_core::http::{build_error, DefaultErrors, ErrorDetails};
/// let d = ErrorDetails { code: Some("NoSuchKey".into()), message: Some("The key does not exist.\nmore".into()), request_id: Some("R1".into()) };
/// let e = build_error(&DefaultErrors, "GET a.json", 404, &d);
/// assert_eq!(e.message(), "GET a.json: HTTP 404: The key does not exist.");
/// assert_eq!((e.provider_code(), e.request_id()), (Some("NoSuchKey"), Some("R1")));
/// ```
pub fn build_error<P: ProviderErrors + ?Sized>(
    p: &P,
    operation: &str,
    status: u16,
    details: &ErrorDetails,
) -> Error {
    let kind = classify(p, status, details.code.as_deref());
    let mut text = format!("{operation}: HTTP {status}");
    if let Some(m) = &details.message {
        let first = m.lines().next().unwrap_or("").trim();
        if !first.is_empty() {
            text.push_str(": ");
            text.push_str(first);
        }
    }
    let mut e = Error::new(kind, text);
    if let Some(c) = details.code.as_deref().filter(|c| !c.is_empty()) {
        e = e.with_provider_code(c);
    }
    if let Some(r) = details.request_id.as_deref().filter(|r| !r.is_empty()) {
        e = e.with_request_id(r);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Override;
    impl ProviderErrors for Override {
        fn code_kind(&self, code: &str) -> Option<ErrorKind> {
            // a provider that uses a well-known name for something else
            (code == "NotFound").then_some(ErrorKind::PreconditionFailed)
        }
        fn status_kind(&self, status: u16) -> Option<ErrorKind> {
            (status == 409).then_some(ErrorKind::PreconditionFailed)
        }
    }

    #[test]
    fn status_table() {
        let cases: &[(u16, ErrorKind)] = &[
            (400, ErrorKind::InvalidArgument),
            (401, ErrorKind::Unauthenticated),
            (403, ErrorKind::PermissionDenied),
            (404, ErrorKind::NotFound),
            (405, ErrorKind::Unsupported),
            (408, ErrorKind::Timeout),
            (409, ErrorKind::AlreadyExists),
            (410, ErrorKind::NotFound),
            (412, ErrorKind::PreconditionFailed),
            (416, ErrorKind::InvalidArgument),
            (429, ErrorKind::RateLimited),
            (500, ErrorKind::Unavailable),
            (501, ErrorKind::Unsupported),
            (503, ErrorKind::Unavailable),
            (504, ErrorKind::Timeout),
            (507, ErrorKind::Unavailable),
            (302, ErrorKind::Other),
            (418, ErrorKind::Other),
        ];
        for (s, k) in cases {
            assert_eq!(kind_for_status(*s), *k, "{s}");
            assert_eq!(classify(&DefaultErrors, *s, None), *k, "{s}");
        }
    }

    #[test]
    fn codes_then_overrides() {
        // throttling codes win over the status they come with
        for c in [
            "SlowDown",
            "Throttling",
            "RequestLimitExceeded",
            "ServerBusy",
        ] {
            assert_eq!(
                classify(&DefaultErrors, 400, Some(c)),
                ErrorKind::RateLimited
            );
            assert!(classify(&DefaultErrors, 503, Some(c)).is_retryable());
        }
        assert_eq!(
            classify(&DefaultErrors, 404, Some("NotFound")),
            ErrorKind::NotFound
        );
        assert_eq!(
            classify(&Override, 404, Some("NotFound")),
            ErrorKind::PreconditionFailed
        );
        // unknown and empty codes fall through to the status (and its override)
        assert_eq!(
            classify(&Override, 409, Some("Brand.New")),
            ErrorKind::PreconditionFailed
        );
        assert_eq!(
            classify(&DefaultErrors, 409, Some("")),
            ErrorKind::AlreadyExists
        );
        assert_eq!(classify(&Override, 404, None), ErrorKind::NotFound);
    }

    #[test]
    fn build_keeps_code_and_request_id() {
        let d = ErrorDetails {
            code: Some("SlowDown".into()),
            message: Some("Please reduce your request rate.\nmore".into()),
            request_id: Some("R1".into()),
        };
        let e = DefaultErrors.build("PUT object a", 503, &d);
        assert_eq!(e.kind(), ErrorKind::RateLimited);
        assert_eq!(e.provider_code(), Some("SlowDown"));
        assert_eq!(e.request_id(), Some("R1"));
        assert_eq!(
            e.message(),
            "PUT object a: HTTP 503: Please reduce your request rate."
        );
    }

    #[test]
    fn default_parse_reads_headers_and_excerpt() {
        let mut h = HeaderMap::new();
        h.insert("x-trans-id", "tx1".parse().unwrap());
        let d = DefaultErrors.parse(500, &h, b"\xef\xbb\xbf<html>\n boom </html>");
        assert_eq!(d.request_id.as_deref(), Some("tx1"));
        assert_eq!(d.message.as_deref(), Some("<html>  boom </html>"));
        assert_eq!(excerpt(b"  \n "), None);
        assert_eq!(excerpt(&[b'a'; 1000]).unwrap().len(), 240);
    }
}
