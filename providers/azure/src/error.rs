//! Mapping of Azure Storage and Azure Resource Manager errors to portable [`ErrorKind`]s.
//!
//! Azure reports an error code in the `x-ms-error-code` header and in the body
//! (`<Error><Code>..</Code><Message>..</Message></Error>` for Storage,
//! `{"error":{"code":"..","message":".."}}` for ARM), and a request id in `x-ms-request-id`.
//! [`azure_error`] keeps both on the portable [`Error`].

use gureum_core::http::{classify, ErrorDetails, ProviderErrors};
use gureum_core::{Error, ErrorKind};

/// The portable kind of an Azure error code (Storage or ARM), falling back to the shared
/// HTTP status table ([`gureum_core::http::kind_for_status`]) when the code is unknown.
///
/// ```
/// use gureum_azure::error::kind_for;
/// use gureum_core::ErrorKind;
/// assert_eq!(kind_for(404, "ContainerNotFound"), ErrorKind::NotFound);
/// assert_eq!(kind_for(503, "SomethingNew"), ErrorKind::Unavailable); // the status decides
/// ```
pub fn kind_for(status: u16, code: &str) -> ErrorKind {
    classify(&AzureErrors, status, Some(code))
}

/// The Azure error hook of the shared HTTP layer: reads `x-ms-error-code`, the Storage XML
/// (`<Error><Code>..</Code><Message>..</Message></Error>`) or ARM JSON
/// (`{"error":{"code":..,"message":..}}`) body and `x-ms-request-id`, and classifies with
/// [`code_kind`] over the shared table.
///
/// ```
/// use gureum_azure::error::AzureErrors;
/// use gureum_core::http::ProviderErrors;
/// let mut h = http::HeaderMap::new();
/// h.insert("x-ms-request-id", http::HeaderValue::from_static("rid-1"));
/// let body = "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>QueueNotFound</Code><Message>The specified queue does not exist.</Message></Error>";
/// let d = AzureErrors.parse(404, &h, body.as_bytes());
/// assert_eq!((d.code.as_deref(), d.request_id.as_deref()), (Some("QueueNotFound"), Some("rid-1")));
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct AzureErrors;

impl ProviderErrors for AzureErrors {
    fn parse(&self, _status: u16, headers: &http::HeaderMap, body: &[u8]) -> ErrorDetails {
        let text = String::from_utf8_lossy(body);
        let text = text.trim_start_matches('\u{feff}').trim_start();
        let (mut code, message) = if text.starts_with('{') {
            parse_arm_error_body(text)
        } else {
            parse_storage_error_body(text)
        };
        if let Some(h) = headers.get("x-ms-error-code").and_then(|v| v.to_str().ok()) {
            code = Some(h.to_string());
        }
        let request_id = headers
            .get("x-ms-request-id")
            .or_else(|| headers.get("x-ms-correlation-request-id"))
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        ErrorDetails {
            code,
            message,
            request_id,
        }
    }

    fn code_kind(&self, code: &str) -> Option<ErrorKind> {
        code_kind(code)
    }

    fn build(&self, operation: &str, status: u16, details: &ErrorDetails) -> Error {
        let e = gureum_core::http::build_error(self, operation, status, details);
        // ARM refuses a VM over the regional or family vCPU quota with `OperationNotAllowed`
        // ("… results in exceeding approved Total Regional Cores quota …").
        let quota = details.code.as_deref() == Some("OperationNotAllowed")
            && details
                .message
                .as_deref()
                .is_some_and(|m| m.to_ascii_lowercase().contains("quota"));
        if !quota {
            return e;
        }
        let mut q = Error::new(ErrorKind::QuotaExceeded, e.message().to_string());
        if let Some(c) = e.provider_code() {
            q = q.with_provider_code(c.to_string());
        }
        if let Some(r) = e.request_id() {
            q = q.with_request_id(r.to_string());
        }
        q
    }
}

/// Azure's own codes (Storage and ARM) → portable kinds; `None` for codes left to the
/// shared table ([`gureum_core::http::WELL_KNOWN_CODES`]) and the status.
///
/// ```
/// use gureum_azure::error::code_kind;
/// use gureum_core::ErrorKind;
/// assert_eq!(code_kind("BlobNotFound"), Some(ErrorKind::NotFound));
/// assert_eq!(code_kind("NotAnAzureCode"), None);
/// ```
pub fn code_kind(code: &str) -> Option<ErrorKind> {
    Some(match code {
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
        // account limits
        "QuotaExceeded" | "ResourceQuotaExceeded" | "SubscriptionQuotaExceeded" => {
            ErrorKind::QuotaExceeded
        }
        // operation not allowed in the current state (e.g. start a VM that is being deleted)
        "OperationNotAllowed"
        | "OperationNotSupported"
        | "FeatureNotSupportedForAccount"
        | "UnsupportedHeader"
        | "UnsupportedQueryParameter"
        | "UnsupportedHttpVerb" => ErrorKind::Unsupported,
        _ => return None,
    })
}

/// Build a portable error from an Azure error response. `what` names the operation and
/// resource (never a secret).
///
/// ```
/// use gureum_azure::error::azure_error;
/// use gureum_core::ErrorKind;
/// let e = azure_error("GET container c1", 404, Some("ContainerNotFound"), Some("The specified container does not exist."), Some("rid-2"));
/// assert_eq!(e.kind(), ErrorKind::NotFound);
/// assert_eq!((e.provider_code(), e.request_id()), (Some("ContainerNotFound"), Some("rid-2")));
/// ```
pub fn azure_error(
    what: &str,
    status: u16,
    code: Option<&str>,
    message: Option<&str>,
    request_id: Option<&str>,
) -> Error {
    let details = ErrorDetails {
        code: code.map(str::to_string),
        message: message.map(str::to_string),
        request_id: request_id.map(str::to_string),
    };
    AzureErrors.build(what, status, &details)
}

/// Extract `Code` and `Message` from a Storage XML error body (quick-xml; `(None, None)`
/// when the body is not such a document).
///
/// ```
/// use gureum_azure::error::parse_storage_error_body;
/// let (code, msg) = parse_storage_error_body("<Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate.</Message></Error>");
/// assert_eq!(code.as_deref(), Some("AuthenticationFailed"));
/// assert!(msg.unwrap().starts_with("Server failed"));
/// assert_eq!(parse_storage_error_body("not xml"), (None, None));
/// ```
pub fn parse_storage_error_body(body: &str) -> (Option<String>, Option<String>) {
    match crate::xml::from_str::<crate::xml::StorageError>("error body", body) {
        Ok(e) => (e.code, e.message),
        Err(_) => (None, None),
    }
}

/// Extract `error.code` / `error.message` from an ARM JSON error body.
///
/// ```
/// use gureum_azure::error::parse_arm_error_body;
/// let (code, _) = parse_arm_error_body(r#"{"error":{"code":"ResourceGroupNotFound","message":"no rg"}}"#);
/// assert_eq!(code.as_deref(), Some("ResourceGroupNotFound"));
/// ```
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_core_quota_refusal_is_quota_exceeded() {
        let h = http::HeaderMap::new();
        let body = br#"{"error": {"code": "OperationNotAllowed", "message": "Operation could not be completed as it results in exceeding approved Total Regional Cores quota. Location: koreacentral, Current Limit: 10, Current Usage: 10, Additional Required: 1"}}"#;
        let d = AzureErrors.parse(409, &h, body);
        let e = AzureErrors.build("create VM web", 409, &d);
        assert_eq!(e.kind(), ErrorKind::QuotaExceeded);
        assert_eq!(e.provider_code(), Some("OperationNotAllowed"));
        assert!(!e.is_retryable());
        let body = br#"{"error": {"code": "OperationNotAllowed", "message": "Operation 'start' is not allowed since the VM is marked for deletion."}}"#;
        let d = AzureErrors.parse(409, &h, body);
        assert_eq!(
            AzureErrors.build("start VM web", 409, &d).kind(),
            ErrorKind::Unsupported
        );
    }

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
            (409, "QuotaExceeded", ErrorKind::QuotaExceeded),
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
    fn hook_reads_headers_and_both_body_shapes() {
        let mut h = http::HeaderMap::new();
        h.insert("x-ms-request-id", "rid".parse().unwrap());
        let d = AzureErrors.parse(
            503,
            &h,
            b"<?xml version=\"1.0\"?><Error><Code>ServerBusy</Code><Message>busy &amp; hot</Message></Error>",
        );
        assert_eq!(d.code.as_deref(), Some("ServerBusy"));
        assert_eq!(d.message.as_deref(), Some("busy & hot"));
        assert_eq!(d.request_id.as_deref(), Some("rid"));
        let d = AzureErrors.parse(
            429,
            &h,
            br#"{"error":{"code":"TooManyRequests","message":"m"}}"#,
        );
        assert_eq!(d.code.as_deref(), Some("TooManyRequests"));
        h.insert("x-ms-error-code", "QueueNotFound".parse().unwrap());
        let d = AzureErrors.parse(404, &h, b"<html>not xml");
        assert_eq!(d.code.as_deref(), Some("QueueNotFound"));
        assert_eq!(d.message, None);
    }
}
