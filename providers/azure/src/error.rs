//! Mapping of Azure Storage and Azure Resource Manager errors to portable [`ErrorKind`]s.
//!
//! Azure reports an error code in the `x-ms-error-code` header and in the body
//! (`<Error><Code>..</Code><Message>..</Message></Error>` for Storage,
//! `{"error":{"code":"..","message":".."}}` for ARM), and a request id in `x-ms-request-id`.
//! [`azure_error`] keeps both on the portable [`Error`].

use gureum_core::{Error, ErrorKind};

/// The portable kind of an Azure error code (Storage or ARM), falling back to the HTTP
/// status when the code is unknown.
pub fn kind_for(status: u16, code: &str) -> ErrorKind {
    match code {
        // Storage: not found
        "BlobNotFound"
        | "ContainerNotFound"
        | "QueueNotFound"
        | "MessageNotFound"
        | "ResourceNotFound"
        | "ResourceGroupNotFound"
        | "NotFound"
        | "SubscriptionNotFound"
        | "ParentResourceNotFound" => ErrorKind::NotFound,
        // already exists
        "ContainerAlreadyExists"
        | "QueueAlreadyExists"
        | "BlobAlreadyExists"
        | "ContainerBeingDeleted"
        | "QueueBeingDeleted"
        | "Conflict" => ErrorKind::AlreadyExists,
        // preconditions / stale handles
        "ConditionNotMet"
        | "PopReceiptMismatch"
        | "TargetConditionNotMet"
        | "SourceConditionNotMet"
        | "LeaseIdMismatchWithBlobOperation"
        | "ContainerNotEmpty" => ErrorKind::PreconditionFailed,
        // authentication
        "AuthenticationFailed"
        | "InvalidAuthenticationInfo"
        | "NoAuthenticationInformation"
        | "InvalidAuthenticationToken"
        | "AuthenticationFailedMissingToken"
        | "ExpiredAuthenticationToken"
        | "InvalidAuthenticationTokenTenant" => ErrorKind::Unauthenticated,
        // authorization
        "AuthorizationFailure"
        | "AuthorizationPermissionMismatch"
        | "AuthorizationResourceTypeMismatch"
        | "AuthorizationFailed"
        | "InsufficientAccountPermissions"
        | "AccountIsDisabled"
        | "LinkedAuthorizationFailed" => ErrorKind::PermissionDenied,
        // throttling
        "ServerBusy"
        | "TooManyRequests"
        | "OperationThrottled"
        | "SubscriptionRequestsThrottled" => ErrorKind::RateLimited,
        "OperationTimedOut" => ErrorKind::Timeout,
        "InternalError" | "ServiceUnavailable" | "InternalServerError" => ErrorKind::Unavailable,
        // bad input
        "InvalidQueryParameterValue"
        | "InvalidHeaderValue"
        | "InvalidInput"
        | "InvalidXmlDocument"
        | "InvalidResourceName"
        | "OutOfRangeInput"
        | "OutOfRangeQueryParameterValue"
        | "RequestBodyTooLarge"
        | "MessageTooLarge"
        | "InvalidUri"
        | "MissingRequiredHeader"
        | "MissingRequiredQueryParameter"
        | "InvalidParameter"
        | "InvalidRequestContent"
        | "BadRequest"
        | "InvalidApiVersionParameter"
        | "MissingApiVersionParameter"
        | "InvalidRange"
        | "InvalidTemplateDeployment"
        | "SkuNotAvailable"
        | "InvalidResourceReference"
        | "PropertyChangeNotAllowed" => ErrorKind::InvalidArgument,
        // operation not allowed in the current state (e.g. start a VM that is being deleted)
        "OperationNotAllowed"
        | "OperationNotSupported"
        | "FeatureNotSupportedForAccount"
        | "UnsupportedHeader"
        | "UnsupportedQueryParameter"
        | "UnsupportedHttpVerb" => ErrorKind::Unsupported,
        _ => kind_for_status(status),
    }
}

/// The portable kind of a bare HTTP status.
pub fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        400 | 413 | 414 | 416 => ErrorKind::InvalidArgument,
        401 => ErrorKind::Unauthenticated,
        403 => ErrorKind::PermissionDenied,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::AlreadyExists,
        412 => ErrorKind::PreconditionFailed,
        429 => ErrorKind::RateLimited,
        408 | 504 => ErrorKind::Timeout,
        500..=599 => ErrorKind::Unavailable,
        _ => ErrorKind::Other,
    }
}

/// Build a portable error from an Azure error response. `what` names the operation and
/// resource (never a secret).
pub fn azure_error(
    what: &str,
    status: u16,
    code: Option<&str>,
    message: Option<&str>,
    request_id: Option<&str>,
) -> Error {
    let kind = kind_for(status, code.unwrap_or(""));
    let mut text = format!("{what}: HTTP {status}");
    if let Some(m) = message {
        let first = m.lines().next().unwrap_or("").trim();
        if !first.is_empty() {
            text.push_str(": ");
            text.push_str(first);
        }
    }
    let mut e = Error::new(kind, text);
    if let Some(c) = code.filter(|c| !c.is_empty()) {
        e = e.with_provider_code(c);
    }
    if let Some(r) = request_id.filter(|r| !r.is_empty()) {
        e = e.with_request_id(r);
    }
    e
}

/// Extract `Code` and `Message` from a Storage XML error body.
pub fn parse_storage_error_body(body: &str) -> (Option<String>, Option<String>) {
    (xml_text(body, "Code"), xml_text(body, "Message"))
}

/// Extract `error.code` / `error.message` from an ARM JSON error body.
pub fn parse_arm_error_body(body: &str) -> (Option<String>, Option<String>) {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(v) => {
            let e = v.get("error").unwrap_or(&v);
            (
                e.get("code").and_then(|c| c.as_str()).map(str::to_string),
                e.get("message")
                    .and_then(|c| c.as_str())
                    .map(str::to_string),
            )
        }
        Err(_) => (None, None),
    }
}

/// The text of the first `<tag>..</tag>` element (tiny, dependency-free XML helper for error
/// bodies and simple responses; entity-decodes the five XML entities).
pub(crate) fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&close)? + start;
    Some(xml_unescape(&body[start..end]))
}

/// Every `<tag>..</tag>` text in document order.
pub(crate) fn xml_all(body: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find(&open) {
        let s = &rest[i + open.len()..];
        match s.find(&close) {
            Some(j) => {
                out.push(xml_unescape(&s[..j]));
                rest = &s[j + close.len()..];
            }
            None => break,
        }
    }
    out
}

pub(crate) fn xml_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_table() {
        let table: &[(u16, &str, ErrorKind)] = &[
            (404, "BlobNotFound", ErrorKind::NotFound),
            (404, "ContainerNotFound", ErrorKind::NotFound),
            (409, "ContainerAlreadyExists", ErrorKind::AlreadyExists),
            (412, "ConditionNotMet", ErrorKind::PreconditionFailed),
            (403, "AuthenticationFailed", ErrorKind::Unauthenticated),
            (
                403,
                "AuthorizationPermissionMismatch",
                ErrorKind::PermissionDenied,
            ),
            (503, "ServerBusy", ErrorKind::RateLimited),
            (500, "OperationTimedOut", ErrorKind::Timeout),
            (404, "QueueNotFound", ErrorKind::NotFound),
            (409, "QueueAlreadyExists", ErrorKind::AlreadyExists),
            (404, "MessageNotFound", ErrorKind::NotFound),
            (400, "PopReceiptMismatch", ErrorKind::PreconditionFailed),
            (400, "RequestBodyTooLarge", ErrorKind::InvalidArgument),
            (404, "ResourceNotFound", ErrorKind::NotFound),
            (404, "ResourceGroupNotFound", ErrorKind::NotFound),
            (409, "OperationNotAllowed", ErrorKind::Unsupported),
            (
                401,
                "InvalidAuthenticationToken",
                ErrorKind::Unauthenticated,
            ),
            (403, "AuthorizationFailed", ErrorKind::PermissionDenied),
            (429, "SubscriptionRequestsThrottled", ErrorKind::RateLimited),
            (400, "InvalidParameter", ErrorKind::InvalidArgument),
            (400, "SkuNotAvailable", ErrorKind::InvalidArgument),
            (500, "InternalError", ErrorKind::Unavailable),
            // unknown codes fall back to the status
            (404, "SomethingNew", ErrorKind::NotFound),
            (409, "", ErrorKind::AlreadyExists),
            (412, "", ErrorKind::PreconditionFailed),
            (502, "", ErrorKind::Unavailable),
            (418, "", ErrorKind::Other),
        ];
        for (status, code, kind) in table {
            assert_eq!(kind_for(*status, code), *kind, "{status} {code}");
        }
    }

    #[test]
    fn error_keeps_code_and_request_id() {
        let body = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>QueueNotFound</Code><Message>The specified queue does not exist.\nRequestId:abc\nTime:2026</Message></Error>";
        let (code, msg) = parse_storage_error_body(body);
        let e = azure_error(
            "get messages of queue q1",
            404,
            code.as_deref(),
            msg.as_deref(),
            Some("req-1"),
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.provider_code(), Some("QueueNotFound"));
        assert_eq!(e.request_id(), Some("req-1"));
        assert!(e.message().contains("The specified queue does not exist."));
        assert!(!e.message().contains("RequestId:"));

        let (code, msg) = parse_arm_error_body(
            r#"{"error":{"code":"ResourceNotFound","message":"The Resource 'Microsoft.Compute/virtualMachines/x' was not found."}}"#,
        );
        let e = azure_error("get vm x", 404, code.as_deref(), msg.as_deref(), None);
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.provider_code(), Some("ResourceNotFound"));
    }

    #[test]
    fn xml_helpers() {
        let b = "<A><Name>a&amp;b</Name><Name>c</Name></A>";
        assert_eq!(xml_all(b, "Name"), vec!["a&b".to_string(), "c".to_string()]);
        assert_eq!(xml_text(b, "Missing"), None);
        assert_eq!(xml_escape("<&>"), "&lt;&amp;&gt;");
    }
}
