//! lapin errors → portable [`gureum_core::Error`] kinds.

use gureum_core::{Error, ErrorKind};
use lapin::protocol::{AMQPErrorKind, AMQPHardError, AMQPSoftError};

/// The portable kind of a lapin error.
///
/// ```
/// use gureum_amqp::error::{is_connection_loss, kind_of, map};
/// use gureum_core::ErrorKind;
/// let io = lapin::Error::from(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
/// assert_eq!(kind_of(&io), ErrorKind::Unavailable);
/// assert!(is_connection_loss(&io)); // reconnect and retry
/// let e = map("declare queue jobs", io);
/// assert!(e.to_string().contains("AMQP declare queue jobs"));
/// let limit = lapin::Error::from(lapin::ErrorKind::ChannelsLimitReached);
/// assert!(!is_connection_loss(&limit) && kind_of(&limit) == ErrorKind::Unavailable);
/// ```
pub fn kind_of(e: &lapin::Error) -> ErrorKind {
    use lapin::ErrorKind as L;
    match e.kind() {
        L::ProtocolError(p) => match p.kind() {
            AMQPErrorKind::Soft(s) => match s {
                AMQPSoftError::NOTFOUND => ErrorKind::NotFound,
                AMQPSoftError::ACCESSREFUSED => ErrorKind::PermissionDenied,
                AMQPSoftError::PRECONDITIONFAILED => ErrorKind::PreconditionFailed,
                AMQPSoftError::CONTENTTOOLARGE => ErrorKind::InvalidArgument,
                AMQPSoftError::NOROUTE => ErrorKind::NotFound,
                AMQPSoftError::RESOURCELOCKED | AMQPSoftError::NOCONSUMERS => {
                    ErrorKind::Unavailable
                }
            },
            AMQPErrorKind::Hard(h) => match h {
                AMQPHardError::NOTALLOWED => ErrorKind::PermissionDenied,
                AMQPHardError::NOTIMPLEMENTED => ErrorKind::Unsupported,
                AMQPHardError::CONNECTIONFORCED
                | AMQPHardError::RESOURCEERROR
                | AMQPHardError::INTERNALERROR => ErrorKind::Unavailable,
                AMQPHardError::INVALIDPATH => ErrorKind::InvalidArgument,
                _ => ErrorKind::Other,
            },
        },
        L::IOError(_)
        | L::RuntimeShutdownError(_)
        | L::InvalidConnectionState(_)
        | L::InvalidChannelState(..)
        | L::InvalidChannel(_)
        | L::MissingHeartbeatError
        | L::ChannelsLimitReached => ErrorKind::Unavailable,
        L::AuthProviderError(_) => ErrorKind::Unauthenticated,
        _ => ErrorKind::Other,
    }
}

/// Map a lapin error of operation `op` (names only, never a URI).
///
/// Example: see [`kind_of`].
pub fn map(op: &str, e: lapin::Error) -> Error {
    let kind = kind_of(&e);
    let code = match e.kind() {
        lapin::ErrorKind::ProtocolError(p) => Some(p.kind().get_id().to_string()),
        _ => None,
    };
    let mut err = Error::new(kind, format!("AMQP {op}: {e}"));
    if let Some(c) = code {
        err = err.with_provider_code(c);
    }
    err
}

/// Whether the error means the connection or channel is gone (reconnect and retry).
///
/// Example: see [`kind_of`].
pub fn is_connection_loss(e: &lapin::Error) -> bool {
    use lapin::ErrorKind as L;
    match e.kind() {
        L::IOError(_)
        | L::InvalidConnectionState(_)
        | L::InvalidChannelState(..)
        | L::InvalidChannel(_)
        | L::MissingHeartbeatError => true,
        L::ProtocolError(p) => matches!(p.kind(), AMQPErrorKind::Hard(_)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lapin::protocol::AMQPError;

    #[test]
    fn kinds() {
        let e: lapin::Error = lapin::ErrorKind::ProtocolError(AMQPError::new(
            AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND),
            "NOT_FOUND - no queue 'x'".into(),
        ))
        .into();
        assert_eq!(kind_of(&e), ErrorKind::NotFound);
        let m = map("declare", e);
        assert_eq!(m.provider_code(), Some("404"));
        let io: lapin::Error = lapin::ErrorKind::IOError(std::sync::Arc::new(
            std::io::Error::from(std::io::ErrorKind::ConnectionReset),
        ))
        .into();
        assert!(is_connection_loss(&io));
        assert!(map("x", io).is_retryable());
    }
}
