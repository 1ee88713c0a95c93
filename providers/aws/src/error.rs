//! AWS error codes → portable [`ErrorKind`]s, keeping the code and the request id.
//!
//! One table ([`kind_for_code`]) serves S3, SQS and EC2, layered over the shared table of
//! [`gureum_core::http`] (well-known codes, then the HTTP status for codes neither knows and
//! bodiless responses such as HEAD 404).

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;
use gureum_core::http::{classify, request_id_from_headers, ErrorDetails, ProviderErrors};
use gureum_core::{Error, ErrorKind};

/// The mapping table: provider error code → portable kind. `None` for unknown codes.
///
/// SQS codes are accepted with or without the `AWS.SimpleQueueService.` prefix and with
/// the JSON protocol's `com.amazonaws.sqs#` namespace.
///
/// ```
/// use gureum_aws::error::kind_for_code;
/// use gureum_core::ErrorKind;
/// assert_eq!(kind_for_code("NoSuchKey"), Some(ErrorKind::NotFound));
/// assert_eq!(kind_for_code("AWS.SimpleQueueService.NonExistentQueue"), Some(ErrorKind::NotFound));
/// assert_eq!(kind_for_code("SomethingNew"), None);
/// ```
pub fn kind_for_code(code: &str) -> Option<ErrorKind> {
    let c = code
        .rsplit('#')
        .next()
        .unwrap_or(code)
        .trim_start_matches("AWS.SimpleQueueService.");
    use ErrorKind as K;
    Some(match c {
        // not found
        "NoSuchKey"
        | "NoSuchBucket"
        | "NoSuchUpload"
        | "NoSuchVersion"
        | "NotFound"
        | "NoSuchTagSet"
        | "NoSuchTagSetError"
        | "NonExistentQueue"
        | "QueueDoesNotExist"
        | "InvalidInstanceID.NotFound"
        | "InvalidAMIID.NotFound"
        | "InvalidKeyPair.NotFound"
        | "InvalidGroup.NotFound"
        | "InvalidSubnetID.NotFound"
        | "InvalidVpcID.NotFound"
        | "ResourceNotFoundException" => K::NotFound,
        // account limits (EC2 quotas): retrying does not help
        "InstanceLimitExceeded"
        | "VcpuLimitExceeded"
        | "MaxSpotInstanceCountExceeded"
        | "VolumeLimitExceeded"
        | "AddressLimitExceeded"
        | "SecurityGroupLimitExceeded"
        | "TooManyBuckets" => K::QuotaExceeded,
        // already exists
        "BucketAlreadyOwnedByYou"
        | "BucketAlreadyExists"
        | "QueueAlreadyExists"
        | "QueueNameExists"
        | "InvalidGroup.Duplicate"
        | "InvalidKeyPair.Duplicate" => K::AlreadyExists,
        // preconditions and state
        "PreconditionFailed"
        | "ConditionalRequestConflict"
        | "ReceiptHandleIsInvalid"
        | "InvalidReceiptHandle"
        | "MessageNotInflight"
        | "BucketNotEmpty"
        | "IncorrectInstanceState"
        | "IncorrectState"
        | "InvalidObjectState" => K::PreconditionFailed,
        // permission
        "AccessDenied"
        | "AccessDeniedException"
        | "AllAccessDisabled"
        | "AccountProblem"
        | "UnauthorizedOperation"
        | "AuthorizationError"
        | "OptInRequired"
        | "KMS.AccessDeniedException"
        | "InvalidObjectState.AccessDenied" => K::PermissionDenied,
        // authentication
        "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken"
        | "ExpiredTokenException"
        | "InvalidToken"
        | "AuthFailure"
        | "InvalidClientTokenId"
        | "MissingAuthenticationToken"
        | "UnrecognizedClientException"
        | "IncompleteSignature"
        | "InvalidSecurity"
        | "RequestExpired"
        | "TokenRefreshRequired" => K::Unauthenticated,
        // throttling
        "SlowDown"
        | "Throttling"
        | "ThrottlingException"
        | "ThrottledException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "RequestThrottled"
        | "RequestThrottledException"
        | "ProvisionedThroughputExceededException"
        | "PurgeQueueInProgress"
        | "OverLimit"
        | "KMS.ThrottlingException" => K::RateLimited,
        // unavailable
        "InternalError"
        | "InternalFailure"
        | "ServiceUnavailable"
        | "ServiceUnavailableException"
        | "Unavailable"
        | "InsufficientInstanceCapacity"
        | "QueueDeletedRecently"
        | "OperationAborted"
        | "Server.InternalError" => K::Unavailable,
        // timeout
        "RequestTimeout" | "RequestTimeoutException" => K::Timeout,
        // unsupported
        "NotImplemented"
        | "UnsupportedOperation"
        | "UnsupportedOperationException"
        | "MethodNotAllowed"
        | "XAmzContentSHA256Mismatch.NotImplemented" => K::Unsupported,
        // bad input
        "InvalidArgument"
        | "InvalidRange"
        | "InvalidRequest"
        | "InvalidParameterValue"
        | "InvalidParameterCombination"
        | "InvalidParameter"
        | "MissingParameter"
        | "InvalidBucketName"
        | "KeyTooLongError"
        | "EntityTooLarge"
        | "EntityTooSmall"
        | "MalformedXML"
        | "InvalidPart"
        | "InvalidPartOrder"
        | "ValidationError"
        | "ValidationException"
        | "InvalidAttributeName"
        | "InvalidAttributeValue"
        | "InvalidMessageContents"
        | "BatchRequestTooLong"
        | "TooManyEntriesInBatchRequest"
        | "EmptyBatchRequest"
        | "BatchEntryIdsNotDistinct"
        | "InvalidBatchEntryId"
        | "InvalidIdFormat"
        | "InvalidAMIID.Malformed"
        | "InvalidInstanceID.Malformed"
        | "InvalidInstanceType"
        | "InvalidUserData.Malformed"
        | "IdempotentParameterMismatch"
        | "IllegalLocationConstraintException"
        | "InvalidLocationConstraint"
        | "InvalidBucketState"
        | "InvalidTag"
        | "BadDigest"
        | "InvalidDigest"
        | "InvalidStorageClass"
        | "InvalidEncryptionAlgorithmError" => K::InvalidArgument,
        _ => return None,
    })
}

/// The AWS error hook of the shared HTTP layer ([`gureum_core::http`]): reads the Query API
/// (`<Response><Errors><Error><Code>..`) and REST-XML (`<Error><Code>..`) error bodies and the
/// request id (body, then `x-amzn-requestid` / `x-amz-request-id`), and classifies with
/// [`kind_for_code`] over the shared status table.
///
/// ```
/// use gureum_aws::error::AwsErrors;
/// use gureum_core::http::ProviderErrors;
/// let body = br#"<Error><Code>NoSuchBucket</Code><Message>The bucket does not exist</Message><RequestId>R1</RequestId></Error>"#;
/// let d = AwsErrors.parse(404, &http::HeaderMap::new(), body);
/// assert_eq!((d.code.as_deref(), d.request_id.as_deref()), (Some("NoSuchBucket"), Some("R1")));
/// let e = AwsErrors.build("GET b", 404, &d);
/// assert_eq!(e.kind(), gureum_core::ErrorKind::NotFound);
/// ```
#[derive(Debug, Default, Clone, Copy)]
pub struct AwsErrors;

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XBody {
    #[serde(default)]
    errors: Option<XErrors>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default, rename = "RequestID", alias = "RequestId")]
    request_id: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XErrors {
    #[serde(default)]
    error: Vec<XError>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct XError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl ProviderErrors for AwsErrors {
    fn parse(&self, _status: u16, headers: &http::HeaderMap, body: &[u8]) -> ErrorDetails {
        let text = String::from_utf8_lossy(body);
        let b: XBody = quick_xml::de::from_str(&text).unwrap_or_default();
        let first = b.errors.and_then(|e| e.error.into_iter().next());
        let (code, message) = match first {
            Some(e) => (e.code, e.message),
            None => (b.code, b.message),
        };
        ErrorDetails {
            code: code.filter(|c| !c.is_empty()),
            message,
            request_id: b
                .request_id
                .filter(|r| !r.is_empty())
                .or_else(|| request_id_from_headers(headers)),
        }
    }

    fn code_kind(&self, code: &str) -> Option<ErrorKind> {
        kind_for_code(code)
    }
}

/// Build an error from a code / status / message / request id.
pub(crate) fn build(
    op: &str,
    resource: &str,
    code: Option<&str>,
    status: Option<u16>,
    message: Option<&str>,
    request_id: Option<&str>,
) -> Error {
    let kind = match status {
        Some(s) => classify(&AwsErrors, s, code),
        None => code.and_then(kind_for_code).unwrap_or(ErrorKind::Other),
    };
    let mut msg = format!("{op} {resource}");
    if let Some(m) = message.filter(|m| !m.is_empty()) {
        msg.push_str(": ");
        msg.push_str(m);
    } else if let Some(s) = status {
        msg.push_str(&format!(": HTTP {s}"));
    }
    let mut e = Error::new(kind, msg);
    if let Some(c) = code.filter(|c| !c.is_empty()) {
        e = e.with_provider_code(c);
    }
    if let Some(r) = request_id.filter(|r| !r.is_empty()) {
        e = e.with_request_id(r);
    }
    e
}

/// The innermost TLS message of `e`'s chain (e.g. `invalid peer certificate: UnknownIssuer`).
fn tls_detail(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e.to_string();
    let mut cur = e.source();
    let mut n = 0;
    while let Some(c) = cur {
        let t = c.to_string();
        if gureum_core::tls::is_tls_failure_text(&t) {
            last = t;
        }
        n += 1;
        if n > 16 {
            break;
        }
        cur = c.source();
    }
    last
}

/// Map an AWS SDK error (S3 or SQS; the smithy types are shared).
pub(crate) fn from_sdk<E>(op: &str, resource: &str, e: SdkError<E, HttpResponse>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let request_id = e.request_id().map(str::to_string);
    match &e {
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let err = se.err();
            let code = err.code().map(str::to_string);
            let message = err.message().map(str::to_string);
            if status < 400 && code.is_none() {
                // A success status the SDK could not deserialize (garbled XML/JSON, wrong
                // types, missing fields, cut off): not an answer. Retryable, never a success.
                let mut e = Error::new(
                    ErrorKind::Unavailable,
                    format!("{op} {resource}: unreadable response (HTTP {status})"),
                );
                if let Some(r) = request_id.as_deref().filter(|r| !r.is_empty()) {
                    e = e.with_request_id(r);
                }
                return e;
            }
            build(
                op,
                resource,
                code.as_deref(),
                Some(status),
                message.as_deref(),
                request_id.as_deref(),
            )
        }
        SdkError::TimeoutError(_) => {
            Error::new(ErrorKind::Timeout, format!("{op} {resource}: timed out"))
        }
        SdkError::DispatchFailure(d) => {
            if let Some(ce) = d
                .as_connector_error()
                .filter(|c| gureum_core::tls::is_tls_failure(*c))
            {
                let detail = tls_detail(ce);
                return Error::new(
                    ErrorKind::Tls,
                    gureum_core::tls::tls_failure_message(
                        &format!("{op} {resource}"),
                        "the endpoint",
                        &detail,
                    ),
                );
            }
            let kind = if d.is_timeout() {
                ErrorKind::Timeout
            } else {
                ErrorKind::Unavailable
            };
            Error::new(kind, format!("{op} {resource}: request could not be sent")).with_source(e)
        }
        SdkError::ConstructionFailure(_) => {
            Error::invalid(format!("{op} {resource}: invalid request")).with_source(e)
        }
        SdkError::ResponseError(r) => {
            let status = r.raw().status().as_u16();
            if status < 400 {
                // A success status whose answer could not be read or parsed (cut off,
                // garbled, too large, wrong types): the service (or something between) did
                // not answer properly. Retryable, never a success.
                let mut err = Error::new(
                    ErrorKind::Unavailable,
                    format!("{op} {resource}: unreadable response (HTTP {status})"),
                )
                .with_source(e);
                if let Some(r) = request_id.as_deref().filter(|r| !r.is_empty()) {
                    err = err.with_request_id(r);
                }
                return err;
            }
            build(
                op,
                resource,
                None,
                Some(status),
                Some("unreadable response"),
                request_id.as_deref(),
            )
        }
        _ => Error::other(format!("{op} {resource}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_table() {
        let cases: &[(&str, ErrorKind)] = &[
            ("NoSuchKey", ErrorKind::NotFound),
            ("NoSuchBucket", ErrorKind::NotFound),
            ("BucketAlreadyOwnedByYou", ErrorKind::AlreadyExists),
            ("BucketAlreadyExists", ErrorKind::AlreadyExists),
            ("PreconditionFailed", ErrorKind::PreconditionFailed),
            ("AccessDenied", ErrorKind::PermissionDenied),
            ("SlowDown", ErrorKind::RateLimited),
            ("Throttling", ErrorKind::RateLimited),
            ("RequestLimitExceeded", ErrorKind::RateLimited),
            ("InvalidInstanceID.NotFound", ErrorKind::NotFound),
            ("InvalidInstanceID.Malformed", ErrorKind::InvalidArgument),
            (
                "AWS.SimpleQueueService.NonExistentQueue",
                ErrorKind::NotFound,
            ),
            ("com.amazonaws.sqs#QueueDoesNotExist", ErrorKind::NotFound),
            ("ReceiptHandleIsInvalid", ErrorKind::PreconditionFailed),
            (
                "AWS.SimpleQueueService.PurgeQueueInProgress",
                ErrorKind::RateLimited,
            ),
            ("QueueAlreadyExists", ErrorKind::AlreadyExists),
            ("SignatureDoesNotMatch", ErrorKind::Unauthenticated),
            ("InvalidAccessKeyId", ErrorKind::Unauthenticated),
            ("AuthFailure", ErrorKind::Unauthenticated),
            ("UnauthorizedOperation", ErrorKind::PermissionDenied),
            ("InternalError", ErrorKind::Unavailable),
            ("ServiceUnavailable", ErrorKind::Unavailable),
            ("NotImplemented", ErrorKind::Unsupported),
            ("InvalidRange", ErrorKind::InvalidArgument),
            ("IncorrectInstanceState", ErrorKind::PreconditionFailed),
            ("BucketNotEmpty", ErrorKind::PreconditionFailed),
            ("RequestTimeout", ErrorKind::Timeout),
            ("InstanceLimitExceeded", ErrorKind::QuotaExceeded),
            ("VcpuLimitExceeded", ErrorKind::QuotaExceeded),
            ("TooManyBuckets", ErrorKind::QuotaExceeded),
        ];
        for (code, kind) in cases {
            assert_eq!(kind_for_code(code), Some(*kind), "{code}");
        }
        assert_eq!(kind_for_code("SomethingNew"), None);
    }

    #[test]
    fn status_fallback_and_ids_kept() {
        let k = |s, c| classify(&AwsErrors, s, c);
        assert_eq!(k(404, None), ErrorKind::NotFound);
        assert_eq!(k(503, None), ErrorKind::Unavailable);
        assert_eq!(k(429, None), ErrorKind::RateLimited);
        // 409 means the same here as everywhere (it was `Other` in this crate alone)
        assert_eq!(k(409, None), ErrorKind::AlreadyExists);
        assert_eq!(k(409, Some("OperationAborted")), ErrorKind::Unavailable);
        assert_eq!(k(400, Some("RequestLimitExceeded")), ErrorKind::RateLimited);
        assert_eq!(k(400, Some("Throttling")), ErrorKind::RateLimited);
        let d = AwsErrors.parse(
            400,
            &http::HeaderMap::new(),
            b"<Error><Code>SlowDown</Code><Message>m</Message><RequestId>r1</RequestId></Error>",
        );
        assert_eq!(d.code.as_deref(), Some("SlowDown"));
        assert_eq!(d.request_id.as_deref(), Some("r1"));
        let e = build(
            "GetObject",
            "b/k",
            Some("Weird"),
            Some(403),
            Some("no"),
            Some("RID1"),
        );
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert_eq!(e.provider_code(), Some("Weird"));
        assert_eq!(e.request_id(), Some("RID1"));
        let e = build("HeadObject", "b/k", None, Some(404), None, None);
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.retryable_hint_is_consistent());
    }

    trait Hint {
        fn retryable_hint_is_consistent(&self) -> bool;
    }
    impl Hint for Error {
        fn retryable_hint_is_consistent(&self) -> bool {
            self.is_retryable() == self.kind().is_retryable()
        }
    }
}
