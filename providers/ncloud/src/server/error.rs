//! Mapping of Server API and API Gateway failures to [`gureum_core::Error`].
//!
//! Two error bodies exist (docs: "Server (VPC) overview" and "Ncloud API response status codes"):
//!
//! * the Server API's own: `{"responseError": {"returnCode": "...", "returnMessage": "..."}}`,
//!   also a `{"<action>Response": {"returnCode": "<non-zero>", ...}}` envelope;
//! * the API Gateway's: `{"error": {"errorCode": "200", "message": "Authentication Failed", "details": "..."}}`
//!   with HTTP 401 (codes 200 authentication failed, 210 permission denied), 404 (300),
//!   429 (400 quota, 410 throttle, 420 rate), 413 (430), 503 (500), 504 (510), 500 (900).
//!
//! The gateway codes are documented; the Server API's own `returnCode` values are not listed in
//! the reference we had, so those are classified by HTTP status and message.

use gureum_core::{Error, ErrorKind};
use serde_json::Value;

/// A provider failure decoded from a response body.
///
/// # Examples
///
/// ```
/// use gureum_core::ErrorKind;
/// use gureum_ncloud::server::error::{decode, kind_of, to_error};
/// let gw = decode(401, br#"{"error":{"errorCode":"200","message":"Authentication Failed","details":"Invalid authentication information."}}"#);
/// assert!(gw.gateway && gw.code.as_deref() == Some("200"));
/// assert_eq!(kind_of(&gw), ErrorKind::Unauthenticated);
/// let html = decode(502, b"<html><body>Bad Gateway</body></html>");
/// assert_eq!(html.code, None); // not JSON: a short excerpt is kept
/// let e = to_error("getServerInstanceList", &html);
/// assert_eq!(e.kind(), ErrorKind::Unavailable);
/// assert!(e.to_string().contains("getServerInstanceList"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderError {
    /// HTTP status.
    pub status: u16,
    /// `returnCode` or gateway `errorCode`.
    pub code: Option<String>,
    /// `returnMessage` or gateway `message` (+ `details`).
    pub message: String,
    /// `requestId`, when the body has one.
    pub request_id: Option<String>,
    /// Whether the body was the API Gateway's `error` object.
    pub gateway: bool,
}

fn s(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Decode an error body. Non-JSON bodies keep a short, printable excerpt.
///
/// Example: see [`ProviderError`].
pub fn decode(status: u16, body: &[u8]) -> ProviderError {
    let mut pe = ProviderError {
        status,
        ..Default::default()
    };
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
            pe.message = if text.is_empty() {
                format!("HTTP {status}")
            } else {
                text
            };
            return pe;
        }
    };
    if let Some(e) = v.get("responseError") {
        pe.code = e.get("returnCode").and_then(s);
        pe.message = e.get("returnMessage").and_then(s).unwrap_or_default();
        pe.request_id = e.get("requestId").and_then(s);
    } else if let Some(e) = v.get("error") {
        pe.gateway = true;
        pe.code = e.get("errorCode").and_then(s);
        pe.message = e.get("message").and_then(s).unwrap_or_default();
        if let Some(d) = e.get("details").and_then(s) {
            if !d.is_empty() {
                pe.message = format!("{}: {d}", pe.message);
            }
        }
    } else if let Some(obj) = v.as_object() {
        if let Some((_, inner)) = obj.iter().find(|(k, _)| k.ends_with("Response")) {
            pe.code = inner.get("returnCode").and_then(s);
            pe.message = inner.get("returnMessage").and_then(s).unwrap_or_default();
            pe.request_id = inner.get("requestId").and_then(s);
        }
    }
    if pe.message.is_empty() {
        pe.message = format!("HTTP {status}");
    }
    pe
}

/// Classify a decoded failure.
///
/// Example: see [`ProviderError`].
pub fn kind_of(pe: &ProviderError) -> ErrorKind {
    let code = pe.code.as_deref().unwrap_or("");
    if pe.gateway {
        match code {
            "200" => return ErrorKind::Unauthenticated,
            "210" | "230" => return ErrorKind::PermissionDenied,
            "300" => return ErrorKind::NotFound,
            "400" | "410" | "420" => return ErrorKind::RateLimited,
            "430" | "100" => return ErrorKind::InvalidArgument,
            "500" => return ErrorKind::Unavailable,
            "510" => return ErrorKind::Timeout,
            "900" => return ErrorKind::Unavailable,
            _ => {}
        }
    }
    // The shared status table, except where NCP reuses a status for many meanings: 400 and
    // 409 (and error envelopes in 2xx) are classified by code and message below.
    if !matches!(pe.status, 200..=299 | 400 | 409) {
        let k = gureum_core::http::kind_for_status(pe.status);
        if k != ErrorKind::Other {
            return k;
        }
    }
    let m = pe.message.to_ascii_lowercase();
    let has = |xs: &[&str]| xs.iter().any(|x| m.contains(x) || pe.message.contains(x));
    if has(&[
        "not found",
        "does not exist",
        "not exist",
        "no such",
        "존재하지",
        "없습니다",
    ]) {
        ErrorKind::NotFound
    } else if has(&["already exist", "duplicate", "중복", "이미 존재"]) {
        ErrorKind::AlreadyExists
    } else if has(&["permission", "not authorized", "권한"]) {
        ErrorKind::PermissionDenied
    } else if has(&["status", "state", "상태", "in progress", "operation"]) {
        // e.g. "terminate requires a stopped server", "server is being created"
        ErrorKind::PreconditionFailed
    } else if has(&["quota", "할당량", "한도"]) {
        // The gateway's API-call quota (code 400) is classified above as RateLimited; a
        // Server API message naming a quota is an account limit (servers, public IPs).
        ErrorKind::QuotaExceeded
    } else if has(&["limit exceeded", "too many"]) {
        ErrorKind::RateLimited
    } else if pe.status == 400 || !code.is_empty() {
        ErrorKind::InvalidArgument
    } else if (200..300).contains(&pe.status) {
        // A success status with a body that is not the action's answer nor an error
        // envelope (an HTML page from a proxy, another document): a malformed answer.
        ErrorKind::Unavailable
    } else {
        ErrorKind::Other
    }
}

/// Build the portable error for a failed `action`.
///
/// Example: see [`ProviderError`].
pub fn to_error(action: &str, pe: &ProviderError) -> Error {
    let kind = kind_of(pe);
    let mut e = Error::new(kind, format!("ncloud {action}: {}", pe.message));
    if let Some(c) = &pe.code {
        e = e.with_provider_code(c.clone());
    }
    if let Some(r) = &pe.request_id {
        e = e.with_request_id(r.clone());
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_auth_failure() {
        let pe = decode(
            401,
            br#"{"error":{"errorCode":"200","message":"Authentication Failed","details":"Invalid authentication information."}}"#,
        );
        assert!(pe.gateway);
        assert_eq!(kind_of(&pe), ErrorKind::Unauthenticated);
        let e = to_error("getServerInstanceList", &pe);
        assert_eq!(e.provider_code(), Some("200"));
    }

    #[test]
    fn gateway_permission_and_rate() {
        let pe = decode(
            401,
            br#"{"error":{"errorCode":"210","message":"Permission Denied"}}"#,
        );
        assert_eq!(kind_of(&pe), ErrorKind::PermissionDenied);
        let pe = decode(
            429,
            br#"{"error":{"errorCode":"410","message":"Throttle Limited"}}"#,
        );
        assert_eq!(kind_of(&pe), ErrorKind::RateLimited);
        assert!(to_error("x", &pe).is_retryable());
    }

    #[test]
    fn server_response_error() {
        let pe = decode(
            400,
            br#"{"responseError":{"returnCode":"25001","returnMessage":"Server instance does not exist."}}"#,
        );
        assert_eq!(pe.code.as_deref(), Some("25001"));
        assert_eq!(kind_of(&pe), ErrorKind::NotFound);
        let pe = decode(
            400,
            br#"{"responseError":{"returnCode":"25010","returnMessage":"Only stopped servers can be terminated (current status: RUN)."}}"#,
        );
        assert_eq!(kind_of(&pe), ErrorKind::PreconditionFailed);
        let pe = decode(
            400,
            br#"{"responseError":{"returnCode":"1","returnMessage":"vpcNo is required"}}"#,
        );
        assert_eq!(kind_of(&pe), ErrorKind::InvalidArgument);
        // An account limit named in the message (wording not documented: matched on "quota").
        let pe = decode(
            400,
            br#"{"responseError":{"returnCode":"1","returnMessage":"Exceeded the server quota of this account."}}"#,
        );
        assert_eq!(kind_of(&pe), ErrorKind::QuotaExceeded);
        assert!(!to_error("createServerInstances", &pe).is_retryable());
    }

    #[test]
    fn envelope_and_garbage() {
        let pe = decode(
            200,
            br#"{"stopServerInstancesResponse":{"requestId":"r1","returnCode":"9","returnMessage":"bad"}}"#,
        );
        assert_eq!(pe.request_id.as_deref(), Some("r1"));
        assert_eq!(pe.code.as_deref(), Some("9"));
        let pe = decode(502, b"<html>\x07bad gateway</html>");
        assert_eq!(kind_of(&pe), ErrorKind::Unavailable);
        assert!(!pe.message.contains('\x07'));
    }
}
