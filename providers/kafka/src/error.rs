//! rdkafka errors → portable [`gureum_core::Error`] kinds.

use gureum_core::{Error, ErrorKind};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode as C;

/// The portable kind of a librdkafka error code.
///
/// ```
/// use gureum_core::ErrorKind;
/// use gureum_kafka::error::{code_kind, map, map_code};
/// use rdkafka::error::KafkaError;
/// use rdkafka::types::RDKafkaErrorCode as C;
/// assert_eq!(code_kind(C::TopicAlreadyExists), ErrorKind::AlreadyExists);
/// assert_eq!(code_kind(C::AllBrokersDown), ErrorKind::Unavailable);
/// let e = map_code("create topic jobs", C::TopicAuthorizationFailed);
/// assert_eq!((e.kind(), e.provider_code()), (ErrorKind::PermissionDenied, Some("TopicAuthorizationFailed")));
/// let e = map("send to jobs", KafkaError::MessageProduction(C::MessageSizeTooLarge));
/// assert_eq!(e.kind(), ErrorKind::InvalidArgument);
/// assert!(e.to_string().contains("Kafka send to jobs: "));
/// ```
pub fn code_kind(code: C) -> ErrorKind {
    match code {
        C::UnknownTopicOrPartition | C::UnknownTopic | C::UnknownPartition | C::GroupIdNotFound => {
            ErrorKind::NotFound
        }
        C::TopicAlreadyExists => ErrorKind::AlreadyExists,
        C::TopicAuthorizationFailed
        | C::GroupAuthorizationFailed
        | C::ClusterAuthorizationFailed
        | C::TransactionalIdAuthorizationFailed => ErrorKind::PermissionDenied,
        C::SaslAuthenticationFailed | C::Authentication => ErrorKind::Unauthenticated,
        C::MessageSizeTooLarge
        | C::InvalidMessageSize
        | C::InvalidTopic
        | C::InvalidConfig
        | C::InvalidArgument
        | C::InvalidPartitions
        | C::InvalidReplicationFactor => ErrorKind::InvalidArgument,
        C::ThrottlingQuotaExceeded => ErrorKind::RateLimited,
        C::RequestTimedOut | C::OperationTimedOut | C::MessageTimedOut => ErrorKind::Timeout,
        C::BrokerTransportFailure
        | C::AllBrokersDown
        | C::LeaderNotAvailable
        | C::NotLeaderForPartition
        | C::NotEnoughReplicas
        | C::NotEnoughReplicasAfterAppend
        | C::NetworkException
        | C::CoordinatorNotAvailable
        | C::NotCoordinator
        | C::CoordinatorLoadInProgress
        | C::RebalanceInProgress
        | C::QueueFull
        | C::BrokerNotAvailable => ErrorKind::Unavailable,
        C::UnsupportedVersion | C::UnsupportedFeature => ErrorKind::Unsupported,
        _ => ErrorKind::Other,
    }
}

/// Map an rdkafka error of operation `op` (no credentials ever appear: the config is not part
/// of librdkafka's messages).
///
/// Example: see [`code_kind`].
pub fn map(op: &str, e: KafkaError) -> Error {
    let kind = match e.rdkafka_error_code() {
        Some(c) => code_kind(c),
        None => match &e {
            KafkaError::ClientCreation(_) | KafkaError::ClientConfig(..) => {
                ErrorKind::InvalidArgument
            }
            KafkaError::Canceled => ErrorKind::Unavailable,
            _ => ErrorKind::Other,
        },
    };
    let mut err = Error::new(kind, format!("Kafka {op}: {e}"));
    if let Some(c) = e.rdkafka_error_code() {
        err = err.with_provider_code(format!("{c:?}"));
    }
    err
}

/// Map a per-topic admin result code.
///
/// Example: see [`code_kind`].
pub fn map_code(op: &str, code: C) -> Error {
    Error::new(code_kind(code), format!("Kafka {op}: {code}"))
        .with_provider_code(format!("{code:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(code_kind(C::UnknownTopicOrPartition), ErrorKind::NotFound);
        assert_eq!(
            code_kind(C::SaslAuthenticationFailed),
            ErrorKind::Unauthenticated
        );
        assert!(map("x", KafkaError::MessageProduction(C::AllBrokersDown)).is_retryable());
        let e = map_code("create topic t", C::TopicAlreadyExists);
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert_eq!(e.provider_code(), Some("TopicAlreadyExists"));
    }
}
