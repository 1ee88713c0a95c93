//! The one portable error type of gureum.
//!
//! Every driver maps its provider's errors to an [`ErrorKind`], keeping the provider's own
//! code and request id for support tickets. Messages never carry secrets: drivers must build
//! messages from operation names, resource names and provider codes only.

use std::fmt;

/// The portable classification of an error. Match on this, not on messages.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> gureum_core::Result<()> {
/// use gureum_core::{object_store::memory::InMemory, Bucket, ErrorKind};
/// use std::sync::Arc;
/// let bucket = Bucket::new("b", Arc::new(InMemory::new()));
/// match bucket.get("missing.json").await {
///     Err(e) if e.kind() == ErrorKind::NotFound => {} // the same kind on every backend
///     other => panic!("expected NotFound, got {other:?}"),
/// }
/// assert!(ErrorKind::RateLimited.is_retryable());
/// assert!(!ErrorKind::InvalidArgument.is_retryable());
/// assert_eq!(ErrorKind::PreconditionFailed.as_str(), "precondition_failed");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The object, queue, message or instance does not exist.
    NotFound,
    /// A create-only operation found the resource already there.
    AlreadyExists,
    /// A conditional operation's precondition (etag, create-only) did not hold.
    PreconditionFailed,
    /// The credentials are valid but not allowed to do this.
    PermissionDenied,
    /// No credentials, or credentials the service rejected.
    Unauthenticated,
    /// The caller passed something malformed (bad key, bad URL, bad size).
    InvalidArgument,
    /// The backend cannot do this; see the capability flags.
    Unsupported,
    /// The service asked us to slow down.
    RateLimited,
    /// The service is temporarily unavailable (5xx, connection refused, ...).
    Unavailable,
    /// The operation did not finish in time.
    Timeout,
    /// The data-classification placement policy forbids this operation.
    PolicyViolation,
    /// Data failed an integrity check (checksum, authentication tag, hash chain).
    Integrity,
    /// A TLS handshake failed: the server's certificate is not trusted (unknown CA — give the
    /// city CA with `ca_file=`), does not name the host or has expired, or the server refused
    /// our client certificate (mutual TLS: `client_cert=` / `client_key=`). Not retryable.
    Tls,
    /// An account limit (quota) was reached: more instances, cores, addresses or volumes
    /// than the account may have (EC2 `InstanceLimitExceeded`, Nova 403 "Quota exceeded",
    /// Azure `OperationNotAllowed` … quota). Not retryable: free capacity or raise the limit.
    QuotaExceeded,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// Whether an operation that failed with this kind may succeed if retried unchanged.
    ///
    /// ```
    /// use gureum_core::ErrorKind;
    /// assert!(ErrorKind::Timeout.is_retryable());
    /// assert!(!ErrorKind::NotFound.is_retryable());
    /// ```
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout
        )
    }

    /// A stable snake_case name, used in CLI output and reports.
    ///
    /// ```
    /// use gureum_core::ErrorKind;
    /// assert_eq!(ErrorKind::NotFound.as_str(), "not_found");
    /// assert_eq!(ErrorKind::NotFound.to_string(), "not_found");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::PreconditionFailed => "precondition_failed",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::PolicyViolation => "policy_violation",
            ErrorKind::Integrity => "integrity",
            ErrorKind::Tls => "tls",
            ErrorKind::QuotaExceeded => "quota_exceeded",
            ErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A gureum error: a portable [`ErrorKind`], a human message, and where known the
/// provider's own error code and request id.
///
/// # Examples
///
/// ```
/// use gureum_core::{Error, ErrorKind};
/// let e = Error::new(ErrorKind::NotFound, "object c-1041.json")
///     .with_provider_code("NoSuchKey")
///     .with_request_id("4442587FB7D0A2F9");
/// assert_eq!(e.kind(), ErrorKind::NotFound);
/// assert_eq!(e.provider_code(), Some("NoSuchKey"));
/// assert_eq!(e.to_string(), "not_found: object c-1041.json (code NoSuchKey) [request id 4442587FB7D0A2F9]");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("{kind}: {message}{}{}", fmt_code(.provider_code), fmt_req(.request_id))]
pub struct Error {
    kind: ErrorKind,
    message: String,
    provider_code: Option<String>,
    request_id: Option<String>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

fn fmt_code(c: &Option<String>) -> String {
    c.as_ref()
        .map(|c| format!(" (code {c})"))
        .unwrap_or_default()
}
fn fmt_req(c: &Option<String>) -> String {
    c.as_ref()
        .map(|c| format!(" [request id {c}]"))
        .unwrap_or_default()
}

/// The result type used throughout gureum.
///
/// ```
/// fn parse_port(s: &str) -> gureum_core::Result<u16> {
///     s.parse().map_err(|_| gureum_core::Error::invalid(format!("port {s:?}")))
/// }
/// assert_eq!(parse_port("443").unwrap(), 443);
/// assert!(parse_port("https").is_err());
/// ```
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error of `kind` with a message. The message must not contain secrets.
    ///
    /// ```
    /// use gureum_core::{Error, ErrorKind};
    /// let e = Error::new(ErrorKind::RateLimited, "put c-1.json");
    /// assert!(e.is_retryable());
    /// assert_eq!(e.to_string(), "rate_limited: put c-1.json");
    /// ```
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            provider_code: None,
            request_id: None,
            source: None,
        }
    }

    /// Shorthand for [`ErrorKind::NotFound`].
    ///
    /// ```
    /// use gureum_core::{Error, ErrorKind};
    /// assert_eq!(Error::not_found("queue jobs").kind(), ErrorKind::NotFound);
    /// ```
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    /// Shorthand for [`ErrorKind::InvalidArgument`].
    ///
    /// ```
    /// use gureum_core::{Error, ErrorKind};
    /// assert_eq!(Error::invalid("empty key").kind(), ErrorKind::InvalidArgument);
    /// ```
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }
    /// Shorthand for [`ErrorKind::Unsupported`].
    ///
    /// ```
    /// use gureum_core::{Error, ErrorKind};
    /// assert_eq!(Error::unsupported("presigned URLs").kind(), ErrorKind::Unsupported);
    /// ```
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }
    /// Shorthand for [`ErrorKind::Other`].
    ///
    /// ```
    /// use gureum_core::{Error, ErrorKind};
    /// assert_eq!(Error::other("unexpected reply").kind(), ErrorKind::Other);
    /// ```
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Other, message)
    }

    /// Attach the provider's own error code (e.g. `NoSuchKey`).
    ///
    /// ```
    /// use gureum_core::Error;
    /// let e = Error::not_found("object a.json").with_provider_code("NoSuchKey");
    /// assert_eq!(e.provider_code(), Some("NoSuchKey"));
    /// ```
    pub fn with_provider_code(mut self, code: impl Into<String>) -> Self {
        self.provider_code = Some(code.into());
        self
    }
    /// Attach the provider's request id.
    ///
    /// ```
    /// use gureum_core::Error;
    /// let e = Error::not_found("object a.json").with_request_id("req-7");
    /// assert_eq!(e.request_id(), Some("req-7"));
    /// assert!(e.to_string().ends_with("[request id req-7]"));
    /// ```
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
    /// Attach an underlying cause. The cause's Display must not contain secrets either.
    ///
    /// ```
    /// use gureum_core::Error;
    /// use std::error::Error as _;
    /// let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
    /// let e = Error::other("connect").with_source(io);
    /// assert_eq!(e.source().unwrap().to_string(), "refused");
    /// ```
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
    /// Attach an already boxed cause.
    ///
    /// ```
    /// use gureum_core::Error;
    /// use std::error::Error as _;
    /// let cause: Box<dyn std::error::Error + Send + Sync> = "bad frame".into();
    /// let e = Error::other("decode").with_boxed_source(cause);
    /// assert_eq!(e.source().unwrap().to_string(), "bad frame");
    /// ```
    pub fn with_boxed_source(mut self, source: Box<dyn std::error::Error + Send + Sync>) -> Self {
        self.source = Some(source);
        self
    }

    /// The portable kind.
    ///
    /// ```
    /// use gureum_core::{Error, ErrorKind};
    /// assert_eq!(Error::invalid("x").kind(), ErrorKind::InvalidArgument);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The human message.
    ///
    /// ```
    /// use gureum_core::Error;
    /// assert_eq!(Error::invalid("empty key").message(), "empty key");
    /// ```
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The provider's own error code, if known.
    ///
    /// ```
    /// use gureum_core::Error;
    /// assert_eq!(Error::other("x").provider_code(), None);
    /// ```
    pub fn provider_code(&self) -> Option<&str> {
        self.provider_code.as_deref()
    }
    /// The provider's request id, if known.
    ///
    /// ```
    /// use gureum_core::Error;
    /// assert_eq!(Error::other("x").with_request_id("r1").request_id(), Some("r1"));
    /// ```
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }
    /// Whether retrying the same operation may succeed.
    ///
    /// ```
    /// use gureum_core::{Error, ErrorKind};
    /// assert!(Error::new(ErrorKind::Unavailable, "503").is_retryable());
    /// assert!(!Error::invalid("bad key").is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

impl Error {
    /// Prefix the message with context.
    ///
    /// ```
    /// use gureum_core::Error;
    /// let e = Error::not_found("object a.json").with_provider_code("NoSuchKey");
    /// let e = e.context_message("copying to archive");
    /// assert_eq!(e.message(), "copying to archive: object a.json");
    /// assert_eq!(e.provider_code(), Some("NoSuchKey"));
    /// ```
    pub fn context_message(self, ctx: impl std::fmt::Display) -> Self {
        let mut e = Error::new(self.kind(), format!("{ctx}: {}", self.message()));
        if let Some(c) = self.provider_code() {
            e = e.with_provider_code(c.to_string());
        }
        if let Some(r) = self.request_id() {
            e = e.with_request_id(r.to_string());
        }
        e
    }
}

impl Error {
    /// Turn this error into the `object_store` error of the same meaning, for drivers that
    /// implement `object_store::ObjectStore` on top of gureum calls. `store` names the driver
    /// in `Generic` errors; `path` is the object or bucket concerned. The gureum error stays
    /// the source, so converting back (`Error::from`) keeps its kind.
    ///
    /// ```
    /// use gureum_core::{Error, ErrorKind};
    /// let os = Error::new(ErrorKind::NotFound, "no such key").into_object_store("Demo", "a/b");
    /// assert!(matches!(os, gureum_core::object_store::Error::NotFound { .. }));
    /// let back = Error::from(Error::new(ErrorKind::RateLimited, "slow down").into_object_store("Demo", "a"));
    /// assert_eq!(back.kind(), ErrorKind::RateLimited);
    /// ```
    pub fn into_object_store(self, store: &'static str, path: &str) -> object_store::Error {
        use object_store::Error as E;
        let path = path.to_string();
        let source = Box::new(self);
        match source.kind() {
            ErrorKind::NotFound => E::NotFound { path, source },
            ErrorKind::AlreadyExists => E::AlreadyExists { path, source },
            ErrorKind::PreconditionFailed => E::Precondition { path, source },
            ErrorKind::PermissionDenied => E::PermissionDenied { path, source },
            ErrorKind::Unauthenticated => E::Unauthenticated { path, source },
            ErrorKind::Unsupported => E::NotSupported { source },
            _ => E::Generic { store, source },
        }
    }
}

impl From<object_store::Error> for Error {
    fn from(e: object_store::Error) -> Self {
        use object_store::Error as E;
        let kind = match &e {
            E::NotFound { .. } => ErrorKind::NotFound,
            E::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            E::Precondition { .. } => ErrorKind::PreconditionFailed,
            E::NotModified { .. } => ErrorKind::PreconditionFailed,
            E::InvalidPath { .. } => ErrorKind::InvalidArgument,
            E::NotSupported { .. } | E::NotImplemented { .. } => ErrorKind::Unsupported,
            E::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            E::Unauthenticated { .. } => ErrorKind::Unauthenticated,
            E::UnknownConfigurationKey { .. } => ErrorKind::InvalidArgument,
            // A driver that wraps a store reports its own typed error through `Generic`.
            E::Generic { source, .. } => match source.downcast_ref::<Error>() {
                Some(inner) => inner.kind(),
                None => classify_generic(source.as_ref()),
            },
            _ => ErrorKind::Other,
        };
        let message = e.to_string();
        Error::new(kind, message).with_source(e)
    }
}

/// Best-effort classification of object_store's `Generic` errors, which carry HTTP
/// failures from the cloud stores (range errors, throttling, 5xx).
fn classify_generic(source: &(dyn std::error::Error + Send + Sync + 'static)) -> ErrorKind {
    let mut text = source.to_string();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = source.source();
    while let Some(c) = cur {
        text.push_str(" | ");
        text.push_str(&c.to_string());
        cur = c.source();
    }
    let t = text.to_ascii_lowercase();
    if crate::tls::is_tls_failure(source) || crate::tls::is_tls_failure_text(&t) {
        return ErrorKind::Tls;
    }
    if t.contains("range")
        && (t.contains("not satisfiable")
            || t.contains("416")
            || t.contains("out of bounds")
            || t.contains("invalid range")
            || t.contains("range started at"))
    {
        ErrorKind::InvalidArgument
    } else if t.contains("429")
        || t.contains("slowdown")
        || t.contains("slow down")
        || t.contains("throttl")
        || t.contains("serverbusy")
    {
        ErrorKind::RateLimited
    } else if t.contains("timed out") || t.contains("timeout") {
        ErrorKind::Timeout
    } else if t.contains("503")
        || t.contains("502")
        || t.contains("500 internal")
        || t.contains("connection refused")
        || t.contains("error sending request")
    {
        ErrorKind::Unavailable
    } else if t.contains("403") || t.contains("accessdenied") || t.contains("access denied") {
        ErrorKind::PermissionDenied
    } else if t.contains("401") || t.contains("authenticationfailed") {
        ErrorKind::Unauthenticated
    } else {
        ErrorKind::Other
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        let kind = match e.kind() {
            K::NotFound => ErrorKind::NotFound,
            K::AlreadyExists => ErrorKind::AlreadyExists,
            K::PermissionDenied => ErrorKind::PermissionDenied,
            K::InvalidInput | K::InvalidData => ErrorKind::InvalidArgument,
            K::TimedOut => ErrorKind::Timeout,
            K::ConnectionRefused | K::ConnectionReset | K::ConnectionAborted => {
                ErrorKind::Unavailable
            }
            K::Unsupported => ErrorKind::Unsupported,
            _ => ErrorKind::Other,
        };
        Error::new(kind, format!("i/o error: {e}")).with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_code_and_request_id() {
        let e = Error::not_found("object a/b")
            .with_provider_code("NoSuchKey")
            .with_request_id("R1");
        assert_eq!(
            e.to_string(),
            "not_found: object a/b (code NoSuchKey) [request id R1]"
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(!e.is_retryable());
        assert!(Error::new(ErrorKind::RateLimited, "x").is_retryable());
    }

    #[test]
    fn object_store_errors_map() {
        let e: Error = object_store::Error::NotFound {
            path: "a".into(),
            source: "gone".into(),
        }
        .into();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e: Error = object_store::Error::Precondition {
            path: "a".into(),
            source: "etag".into(),
        }
        .into();
        assert_eq!(e.kind(), ErrorKind::PreconditionFailed);
        let e: Error = object_store::Error::AlreadyExists {
            path: "a".into(),
            source: "x".into(),
        }
        .into();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        // a wrapped gureum error keeps its kind
        let e: Error = object_store::Error::Generic {
            store: "S3",
            source: Box::new(Error::invalid("metadata name")),
        }
        .into();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
}
